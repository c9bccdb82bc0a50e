//! The `crc32` codec: a CRC-32 (zlib's, polynomial 0x04C11DB7) of the data stored as 4
//! little-endian bytes beside it, as numcodecs' `CRC32(location="start")`.
//!
//! Config: `{"id": "crc32"}` or `{"id": "crc32", "location": "start" | "end"}`. As in numcodecs,
//! `location` appears in the config only when it was given. This module also holds the layout
//! shared by every numcodecs `Checksum32` codec (`crc32`, `adler32`, `crc32c`).

use serde_json::{Map, Value};

use super::{ArrayMut, ConfigReader, NDBuffer};
use crate::buffer::Buffer;
use crate::error::{Error, ErrorKind, Result};

/// Where a 32-bit checksum sits in the encoded bytes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Location {
    /// The 4 checksum bytes come before the data.
    Start,
    /// The 4 checksum bytes come after the data.
    End,
}

impl Location {
    fn as_str(self) -> &'static str {
        match self {
            Location::Start => "start",
            Location::End => "end",
        }
    }
}

/// Reads the optional `location` key of a `Checksum32` codec's config.
pub(crate) fn read_location(
    id: &'static str,
    config: &Map<String, Value>,
) -> Result<Option<Location>> {
    let mut r = ConfigReader::new(id, config)?;
    let location = match r.str("location")? {
        None => None,
        Some("start") => Some(Location::Start),
        Some("end") => Some(Location::End),
        Some(_) => return Err(r.out_of_range("location", "\"start\" or \"end\"")),
    };
    r.finish()?;
    Ok(location)
}

/// The config of a `Checksum32` codec: `location` only when it was given, as numcodecs does.
pub(crate) fn location_config(id: &str, location: Option<Location>) -> Value {
    let mut m = Map::new();
    m.insert("id".into(), Value::from(id));
    if let Some(l) = location {
        m.insert("location".into(), Value::from(l.as_str()));
    }
    Value::Object(m)
}

/// Encodes `data` with its 32-bit checksum at `location` (little-endian).
pub(crate) fn checksum_encode(data: &[u8], location: Location, sum: u32) -> NDBuffer {
    // Filled in place, without zeroing first: one pass over the data.
    let mut out = Vec::with_capacity(data.len() + 4);
    match location {
        Location::Start => {
            out.extend_from_slice(&sum.to_le_bytes());
            out.extend_from_slice(data);
        }
        Location::End => {
            out.extend_from_slice(data);
            out.extend_from_slice(&sum.to_le_bytes());
        }
    }
    NDBuffer::from_bytes(Buffer::from_vec(out))
}

/// Splits encoded bytes into (payload, stored checksum), checking there is room for a checksum.
pub(crate) fn checksum_split<'a>(
    id: &str,
    input: &'a [u8],
    location: Location,
) -> Result<(&'a [u8], u32)> {
    if input.len() < 4 {
        return Err(Error::truncated(format!(
            "{id}: input of {} bytes is too short to contain a 32-bit checksum",
            input.len()
        )));
    }
    let (payload, stored) = match location {
        Location::Start => {
            let (s, p) = input.split_at(4);
            (p, s)
        }
        Location::End => input.split_at(input.len() - 4),
    };
    let stored = u32::from_le_bytes(stored.try_into().expect("4 bytes"));
    Ok((payload, stored))
}

/// The error for a stored checksum that does not match the data, naming both values.
pub(crate) fn mismatch(id: &str, stored: u32, computed: u32) -> Error {
    Error::new(
        ErrorKind::ChecksumMismatch,
        format!(
            "stored and computed {id} checksum do not match: stored {stored} (0x{stored:08x}), computed {computed} (0x{computed:08x})"
        ),
    )
}

/// Decodes a `Checksum32` layout: checks the checksum, returns the payload.
pub(crate) fn checksum_decode<'a>(
    id: &str,
    input: &'a [u8],
    location: Location,
    sum: impl Fn(&[u8]) -> u32,
) -> Result<&'a [u8]> {
    let (payload, stored) = checksum_split(id, input, location)?;
    let computed = sum(payload);
    if stored != computed {
        return Err(mismatch(id, stored, computed));
    }
    Ok(payload)
}

/// Where the payload of a checked `Checksum32` layout lies in `input`.
pub(crate) fn checksum_range(
    id: &str,
    input: &[u8],
    location: Location,
    sum: impl Fn(&[u8]) -> u32,
) -> Result<std::ops::Range<usize>> {
    let payload = checksum_decode(id, input, location, sum)?;
    let start = match location {
        Location::Start => 4,
        Location::End => 0,
    };
    Ok(start..start + payload.len())
}

/// Copies a checked payload into the caller's buffer, which must have its exact size.
pub(crate) fn payload_into(payload: &[u8], out: ArrayMut<'_>) -> Result<()> {
    super::copy_decoded(payload, out.data)
}

/// Declares a numcodecs `Checksum32` codec type: `location` key, default location, sum function.
macro_rules! checksum32_codec {
    ($(#[$doc:meta])* $name:ident, $id:literal, $default:expr, $sum:expr) => {
        $(#[$doc])*
        #[derive(Debug, Clone, PartialEq, Eq, Default)]
        pub struct $name {
            location: Option<$crate::codec::crc32::Location>,
        }

        impl $name {
            /// A codec with the checksum at `location` (`None`: numcodecs' default for this id).
            pub fn new(location: Option<$crate::codec::crc32::Location>) -> Self {
                $name { location }
            }

            /// Builds the codec from its numcodecs config.
            pub fn from_config(config: &serde_json::Map<String, serde_json::Value>) -> $crate::error::Result<Self> {
                Ok($name { location: $crate::codec::crc32::read_location($id, config)? })
            }

            /// Where the checksum goes.
            pub fn location(&self) -> $crate::codec::crc32::Location {
                self.location.unwrap_or($default)
            }

            /// The checksum of `data`.
            pub fn checksum(data: &[u8]) -> u32 {
                ($sum)(data)
            }
        }

        impl $crate::codec::Codec for $name {
            fn id(&self) -> &'static str {
                $id
            }

            fn config(&self) -> serde_json::Value {
                $crate::codec::crc32::location_config($id, self.location)
            }

            fn encode(&self, input: $crate::codec::ArrayRef<'_>) -> $crate::error::Result<$crate::codec::NDBuffer> {
                Ok($crate::codec::crc32::checksum_encode(input.data, self.location(), Self::checksum(input.data)))
            }

            fn decode(&self, input: $crate::codec::ArrayRef<'_>) -> $crate::error::Result<$crate::codec::NDBuffer> {
                let payload = $crate::codec::crc32::checksum_decode($id, input.data, self.location(), Self::checksum)?;
                Ok($crate::codec::NDBuffer::from_bytes($crate::buffer::Buffer::copy_from_slice(payload)))
            }

            fn decode_into(&self, input: &[u8], out: $crate::codec::ArrayMut<'_>) -> $crate::error::Result<()> {
                let payload = $crate::codec::crc32::checksum_decode($id, input, self.location(), Self::checksum)?;
                $crate::codec::crc32::payload_into(payload, out)
            }

            fn decoded_range(&self, encoded: &[u8]) -> Option<$crate::error::Result<std::ops::Range<usize>>> {
                Some($crate::codec::crc32::checksum_range($id, encoded, self.location(), Self::checksum))
            }
        }
    };
}
pub(crate) use checksum32_codec;

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
    use crate::codec::test_util::round_trip;
    use crate::codec::{get_codec, ArrayRef, Codec};
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
        let mut enc = c
            .encode(ArrayRef::bytes(b"abcdef"))
            .unwrap()
            .bytes()
            .to_vec();
        enc[5] ^= 1;
        let e = c.decode(ArrayRef::bytes(&enc)).unwrap_err();
        assert_eq!(e.kind(), ErrorKind::ChecksumMismatch);
        let stored = u32::from_le_bytes(enc[..4].try_into().unwrap());
        let computed = crc32fast::hash(&enc[4..]);
        assert!(e.message().contains(&stored.to_string()), "{e}");
        assert!(e.message().contains(&computed.to_string()), "{e}");
        let e = c.decode(ArrayRef::bytes(&[1, 2, 3])).unwrap_err();
        assert_eq!(e.kind(), ErrorKind::Truncated);
        let mut small = [0u8; 2];
        let good = c.encode(ArrayRef::bytes(b"abc")).unwrap();
        let e = c
            .decode_into(good.bytes(), ArrayMut::bytes(&mut small))
            .unwrap_err();
        assert_eq!(e.kind(), ErrorKind::InvalidArgument);
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
