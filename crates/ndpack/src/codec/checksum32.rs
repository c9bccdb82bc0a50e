//! The layout shared by numcodecs' 32-bit checksum codecs (its `checksum32` module): the data
//! with a 32-bit checksum stored as 4 little-endian bytes before or after it. `crc32`, `adler32`
//! and `crc32c` choose the location in their config (`location`, kept only when given);
//! `fletcher32` and `jenkins_lookup3` always store it after the data.
//!
//! A codec implements `Checksum32` (its id, checksum name, location and sum); the functions
//! here encode, check and decode the layout for it, and `checksum32_decode_methods!` writes
//! its `Codec` decode methods.

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

/// A codec storing a 32-bit checksum beside the data.
pub(crate) trait Checksum32 {
    /// The codec id, named in errors about input too short to hold a checksum.
    const ID: &'static str;
    /// The checksum's name in mismatch errors (numcodecs' wording).
    const NAME: &'static str = Self::ID;
    /// Where the checksum goes.
    fn location(&self) -> Location;
    /// The checksum this codec stores for `data`.
    fn sum(&self, data: &[u8]) -> u32;
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

/// Encodes `data` with its checksum at the codec's location (little-endian).
pub(crate) fn encode<C: Checksum32>(codec: &C, data: &[u8]) -> NDBuffer {
    let sum = codec.sum(data);
    // Filled in place, without zeroing first: one pass over the data.
    let mut out = Vec::with_capacity(data.len() + 4);
    match codec.location() {
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

/// Encodes `data` followed by its checksum into the start of `out`: `copy_and_sum(body)` copies
/// `data` into `body` (as long as `data`) and returns the checksum. Returns the encoded length.
pub(crate) fn encode_after_into(
    data: &[u8],
    out: &mut [u8],
    copy_and_sum: impl FnOnce(&mut [u8]) -> u32,
) -> Result<usize> {
    let n = data.len();
    let out = super::filter::out_prefix(out, n + 4)?;
    let (body, sum) = out.split_at_mut(n);
    sum.copy_from_slice(&copy_and_sum(body).to_le_bytes());
    Ok(n + 4)
}

/// Splits encoded bytes into (payload, stored checksum), checking there is room for a checksum.
fn split<'a>(id: &str, input: &'a [u8], location: Location) -> Result<(&'a [u8], u32)> {
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
fn mismatch(name: &str, stored: u32, computed: u32) -> Error {
    Error::new(
        ErrorKind::ChecksumMismatch,
        format!(
            "stored and computed {name} checksum do not match: stored {stored} (0x{stored:08x}), computed {computed} (0x{computed:08x})"
        ),
    )
}

/// Checks the checksum of encoded bytes and returns the payload.
pub(crate) fn payload<'a, C: Checksum32>(codec: &C, input: &'a [u8]) -> Result<&'a [u8]> {
    let (payload, stored) = split(C::ID, input, codec.location())?;
    let computed = codec.sum(payload);
    if stored != computed {
        return Err(mismatch(C::NAME, stored, computed));
    }
    Ok(payload)
}

/// `Codec::decode`: the checked payload, copied.
pub(crate) fn decode<C: Checksum32>(codec: &C, input: &[u8]) -> Result<NDBuffer> {
    let payload = payload(codec, input)?;
    Ok(NDBuffer::from_bytes(Buffer::copy_from_slice(payload)))
}

/// `Codec::decode_into`: copies the checked payload into the caller's buffer, which must have
/// its exact size.
pub(crate) fn decode_into<C: Checksum32>(codec: &C, input: &[u8], out: ArrayMut<'_>) -> Result<()> {
    super::copy_decoded(payload(codec, input)?, out.data)
}

/// `Codec::decoded_range`: where the checked payload lies in `input`.
pub(crate) fn decoded_range<C: Checksum32>(
    codec: &C,
    input: &[u8],
) -> Result<std::ops::Range<usize>> {
    let payload = payload(codec, input)?;
    let start = match codec.location() {
        Location::Start => 4,
        Location::End => 0,
    };
    Ok(start..start + payload.len())
}

/// The `decode`, `decode_into` and `decoded_range` methods of `Codec` for a [`Checksum32`]
/// codec, inside its `impl Codec` block.
macro_rules! checksum32_decode_methods {
    () => {
        fn decode(
            &self,
            input: $crate::codec::ArrayRef<'_>,
        ) -> $crate::error::Result<$crate::codec::NDBuffer> {
            $crate::codec::checksum32::decode(self, input.data)
        }

        fn decode_into(
            &self,
            input: &[u8],
            out: $crate::codec::ArrayMut<'_>,
        ) -> $crate::error::Result<()> {
            $crate::codec::checksum32::decode_into(self, input, out)
        }

        fn decoded_range(
            &self,
            encoded: &[u8],
        ) -> Option<$crate::error::Result<std::ops::Range<usize>>> {
            Some($crate::codec::checksum32::decoded_range(self, encoded))
        }
    };
}
pub(crate) use checksum32_decode_methods;

/// Declares a numcodecs `Checksum32` codec type with a `location` key: the type, its default
/// location and its sum function.
macro_rules! checksum32_codec {
    ($(#[$doc:meta])* $name:ident, $id:literal, $default:expr, $sum:expr) => {
        $(#[$doc])*
        #[derive(Debug, Clone, PartialEq, Eq, Default)]
        pub struct $name {
            location: Option<$crate::codec::checksum32::Location>,
        }

        impl $name {
            /// A codec with the checksum at `location` (`None`: numcodecs' default for this id).
            pub fn new(location: Option<$crate::codec::checksum32::Location>) -> Self {
                $name { location }
            }

            /// Builds the codec from its numcodecs config.
            pub fn from_config(config: &serde_json::Map<String, serde_json::Value>) -> $crate::error::Result<Self> {
                Ok($name { location: $crate::codec::checksum32::read_location($id, config)? })
            }

            /// Where the checksum goes.
            pub fn location(&self) -> $crate::codec::checksum32::Location {
                self.location.unwrap_or($default)
            }

            /// The checksum of `data`.
            pub fn checksum(data: &[u8]) -> u32 {
                ($sum)(data)
            }
        }

        impl $crate::codec::checksum32::Checksum32 for $name {
            const ID: &'static str = $id;

            fn location(&self) -> $crate::codec::checksum32::Location {
                $name::location(self)
            }

            fn sum(&self, data: &[u8]) -> u32 {
                Self::checksum(data)
            }
        }

        impl $crate::codec::Codec for $name {
            fn id(&self) -> &'static str {
                $id
            }

            fn config(&self) -> serde_json::Value {
                $crate::codec::checksum32::location_config($id, self.location)
            }

            fn encode(&self, input: $crate::codec::ArrayRef<'_>) -> $crate::error::Result<$crate::codec::NDBuffer> {
                Ok($crate::codec::checksum32::encode(self, input.data))
            }

            $crate::codec::checksum32::checksum32_decode_methods!();
        }
    };
}
pub(crate) use checksum32_codec;

#[cfg(test)]
pub(crate) mod test_util {
    //! Checks shared by the tests of the checksum codecs.

    use super::Location;
    use crate::codec::test_util::round_trip;
    use crate::codec::{ArrayMut, ArrayRef, Codec};
    use crate::error::{Error, ErrorKind};

    /// Encodes `data`, flips the lowest bit of byte `at` of the encoded bytes and checks that
    /// decoding them is a checksum mismatch; returns the damaged bytes and the error.
    pub(crate) fn flip_and_decode(c: &dyn Codec, data: &[u8], at: usize) -> (Vec<u8>, Error) {
        let enc = c.encode(ArrayRef::bytes(data)).unwrap().bytes().to_vec();
        flip(c, enc, at, 1)
    }

    /// Flips the bits `mask` of byte `at` of `enc` and checks that decoding it is a checksum
    /// mismatch; returns the damaged bytes and the error.
    pub(crate) fn flip(c: &dyn Codec, mut enc: Vec<u8>, at: usize, mask: u8) -> (Vec<u8>, Error) {
        enc[at] ^= mask;
        let e = c.decode(ArrayRef::bytes(&enc)).unwrap_err();
        assert_eq!(e.kind(), ErrorKind::ChecksumMismatch);
        (enc, e)
    }

    /// For each location and size: `data(n)` round trips through the codec that `codec` builds
    /// for the location (see [`round_trip`]), and flipping the bits `mask` of the byte that
    /// `at` picks from the encoded length is a checksum mismatch.
    pub(crate) fn round_trips_and_flips<C: Codec>(
        codec: impl Fn(Option<Location>) -> C,
        locations: &[Option<Location>],
        sizes: &[usize],
        data: impl Fn(usize) -> Vec<u8>,
        at: impl Fn(usize) -> usize,
        mask: u8,
    ) {
        for &loc in locations {
            let c = codec(loc);
            for &n in sizes {
                let enc = round_trip(&c, &data(n), &format!("{loc:?}, {n} bytes"));
                let i = at(enc.len());
                flip(&c, enc, i, mask);
            }
        }
    }

    /// Checks that 3 bytes of input are `Truncated` and that a `decode_into` buffer smaller
    /// than the payload is an `InvalidArgument`.
    pub(crate) fn short_input_and_small_output(c: &dyn Codec) {
        let e = c.decode(ArrayRef::bytes(&[1, 2, 3])).unwrap_err();
        assert_eq!(e.kind(), ErrorKind::Truncated);
        let mut small = [0u8; 2];
        let good = c.encode(ArrayRef::bytes(b"abc")).unwrap();
        let e = c
            .decode_into(good.bytes(), ArrayMut::bytes(&mut small))
            .unwrap_err();
        assert_eq!(e.kind(), ErrorKind::InvalidArgument);
    }
}
