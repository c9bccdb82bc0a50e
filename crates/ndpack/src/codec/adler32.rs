//! The `adler32` codec: zlib's Adler-32 of the data stored as 4 little-endian bytes beside it, as
//! numcodecs' `Adler32(location="start")`.
//!
//! Config: `{"id": "adler32"}` or with `"location": "start" | "end"` (kept only when given).

use super::checksum32::{checksum32_codec, Location};

fn adler32(data: &[u8]) -> u32 {
    adler2::adler32_slice(data)
}

checksum32_codec!(
    /// The numcodecs `adler32` codec: Adler-32 of the data, by default in the 4 bytes before it.
    Adler32,
    "adler32",
    Location::Start,
    adler32
);

#[cfg(test)]
mod tests {
    use super::*;
    use crate::codec::checksum32::test_util::round_trips_and_flips;
    use crate::codec::{get_codec, ArrayRef, Codec};
    use crate::error::ErrorKind;
    use serde_json::json;

    #[test]
    fn matches_numcodecs_bytes() {
        // numcodecs.Adler32().encode(b"abc") and Adler32(location="end").encode(b"")
        let c = Adler32::default();
        assert_eq!(
            c.encode(ArrayRef::bytes(b"abc")).unwrap().bytes(),
            &[0x27, 0x01, 0x4d, 0x02, b'a', b'b', b'c'][..]
        );
        let c = Adler32::new(Some(Location::End));
        assert_eq!(
            c.encode(ArrayRef::bytes(b"")).unwrap().bytes(),
            &[1, 0, 0, 0]
        );
    }

    #[test]
    fn round_trip_and_mismatch() {
        round_trips_and_flips(
            Adler32::new,
            &[None, Some(Location::End)],
            &[0, 1, 5553, 2 << 20],
            |n| (0..n).map(|i| (i % 253) as u8).collect(),
            |len| len / 2,
            0x80,
        );
        assert_eq!(
            Adler32::default()
                .decode(ArrayRef::bytes(b"ab"))
                .unwrap_err()
                .kind(),
            ErrorKind::Truncated
        );
        let c = get_codec(&json!({"id": "adler32", "location": "end"})).unwrap();
        assert_eq!(c.config(), json!({"id": "adler32", "location": "end"}));
        assert!(get_codec(&json!({"id": "adler32", "location": 3})).is_err());
    }
}
