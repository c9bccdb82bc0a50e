//! The `crc32` codec: a CRC-32 (zlib's, polynomial 0x04C11DB7) of the data stored as 4
//! little-endian bytes beside it, as numcodecs' `CRC32(location="start")`.
//!
//! Config: `{"id": "crc32"}` or `{"id": "crc32", "location": "start" | "end"}`. As in numcodecs,
//! `location` appears in the config only when it was given.

use super::checksum32::checksum32_codec;
pub use super::checksum32::Location;

checksum32_codec!(
    /// The numcodecs `crc32` codec: CRC-32 of the data, by default in the 4 bytes before it.
    Crc32,
    "crc32",
    Location::Start,
    crc32fast::hash
);

#[cfg(test)]
mod tests {
    use super::*;
    use crate::codec::checksum32::test_util::{flip_and_decode, short_input_and_small_output};
    use crate::codec::test_util::round_trip;
    use crate::codec::{get_codec, ArrayRef, Codec};
    use crate::error::ErrorKind;
    use serde_json::json;

    fn data(n: usize) -> Vec<u8> {
        (0..n).map(|i| (i * 7 + i / 251) as u8).collect()
    }

    #[test]
    fn matches_numcodecs_bytes() {
        // numcodecs.CRC32().encode(b"abc"), CRC32(location="end").encode(b"abc")
        let c = Crc32::default();
        assert_eq!(
            c.encode(ArrayRef::bytes(b"abc")).unwrap().bytes(),
            &[0xc2, 0x41, 0x24, 0x35, b'a', b'b', b'c']
        );
        let c = Crc32::new(Some(Location::End));
        assert_eq!(
            c.encode(ArrayRef::bytes(b"abc")).unwrap().bytes(),
            &[b'a', b'b', b'c', 0xc2, 0x41, 0x24, 0x35]
        );
        // numcodecs.CRC32().encode(b"") is the crc of nothing, 0.
        assert_eq!(
            c.encode(ArrayRef::bytes(b"")).unwrap().bytes(),
            &[0, 0, 0, 0]
        );
    }

    #[test]
    fn round_trip_sizes_and_locations() {
        for loc in [None, Some(Location::Start), Some(Location::End)] {
            let c = Crc32::new(loc);
            for n in [0, 1, 3, 1001, 3 << 20] {
                let d = data(n);
                let enc = round_trip(&c, &d, &format!("{loc:?}, {n} bytes"));
                assert_eq!(enc.len(), n + 4);
            }
        }
    }

    #[test]
    fn corruption_is_a_mismatch_naming_both_values() {
        let c = Crc32::default();
        let (enc, e) = flip_and_decode(&c, b"abcdef", 5);
        let stored = u32::from_le_bytes(enc[..4].try_into().unwrap());
        let computed = crc32fast::hash(&enc[4..]);
        assert!(e.message().contains(&stored.to_string()), "{e}");
        assert!(e.message().contains(&computed.to_string()), "{e}");
        short_input_and_small_output(&c);
    }

    #[test]
    fn config_keys() {
        assert_eq!(
            get_codec(&json!({"id": "crc32"})).unwrap().config(),
            json!({"id": "crc32"})
        );
        let c = get_codec(&json!({"id": "crc32", "location": "end"})).unwrap();
        assert_eq!(c.config(), json!({"id": "crc32", "location": "end"}));
        let e = get_codec(&json!({"id": "crc32", "location": "middle"})).unwrap_err();
        assert_eq!(e.kind(), ErrorKind::InvalidConfig);
        assert!(e.message().contains("location"));
        let e = get_codec(&json!({"id": "crc32", "where": "end"})).unwrap_err();
        assert!(e.message().contains("where"));
    }
}
