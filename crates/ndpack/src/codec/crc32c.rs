//! The `crc32c` codec: CRC-32C (Castagnoli) of the data stored as 4 little-endian bytes after it,
//! as numcodecs' `CRC32C(location="end")` (also zarr v3's `crc32c` codec layout).
//!
//! Config: `{"id": "crc32c"}` or with `"location": "start" | "end"` (kept only when given).

use super::checksum32::{checksum32_codec, Location};

checksum32_codec!(
    /// The numcodecs `crc32c` codec: CRC-32C of the data, by default in the 4 bytes after it.
    Crc32c,
    "crc32c",
    Location::End,
    crc32c::crc32c
);

/// The CRC-32C of `data` continuing from `crc`, the CRC-32C of the bytes before `data` (0 when
/// there are none), as numcodecs' `CRC32C.checksum(data, value)`: `crc32c_append(0, a + b) ==
/// crc32c_append(crc32c_append(0, a), b)`.
pub fn crc32c_append(crc: u32, data: &[u8]) -> u32 {
    crc32c::crc32c_append(crc, data)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::codec::checksum32::test_util::round_trips_and_flips;
    use crate::codec::{get_codec, ArrayRef, Codec};
    use crate::error::ErrorKind;
    use serde_json::json;

    #[test]
    fn matches_numcodecs_bytes() {
        // numcodecs.CRC32C().encode(b"abc"), CRC32C(location="start").encode(b"abc")
        let c = Crc32c::default();
        assert_eq!(
            c.encode(ArrayRef::bytes(b"abc")).unwrap().bytes(),
            &[b'a', b'b', b'c', 0xb7, 0x3f, 0x4b, 0x36][..]
        );
        let c = Crc32c::new(Some(Location::Start));
        assert_eq!(
            c.encode(ArrayRef::bytes(b"abc")).unwrap().bytes(),
            &[0xb7, 0x3f, 0x4b, 0x36, b'a', b'b', b'c'][..]
        );
    }

    #[test]
    fn round_trip_and_mismatch() {
        round_trips_and_flips(
            Crc32c::new,
            &[None, Some(Location::Start)],
            &[0, 1, 4099, 2 << 20],
            |n| (0..n).map(|i| (i % 249) as u8).collect(),
            |_| 0,
            1,
        );
        let c = get_codec(&json!({"id": "crc32c"})).unwrap();
        assert_eq!(c.config(), json!({"id": "crc32c"}));
        assert_eq!(
            c.decode(ArrayRef::bytes(b"")).unwrap_err().kind(),
            ErrorKind::Truncated
        );
    }

    #[test]
    fn append_continues_a_checksum() {
        let data: Vec<u8> = (0..1000u32).map(|i| (i % 251) as u8).collect();
        let whole = Crc32c::checksum(&data);
        assert_eq!(crc32c_append(0, &data), whole);
        for cut in [0, 1, 5, 999, 1000] {
            let first = crc32c_append(0, &data[..cut]);
            assert_eq!(crc32c_append(first, &data[cut..]), whole, "cut at {cut}");
        }
        // numcodecs: CRC32C.checksum(b"hello world") (google_crc32c)
        assert_eq!(crc32c_append(0, b"hello world"), 0xc994_65aa);
    }
}
