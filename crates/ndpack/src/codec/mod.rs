//! The numcodecs-compatible codecs: the [`Codec`] trait, codec configurations (numcodecs' JSON
//! objects with an `"id"`), the registry ([`get_codec`], [`register_codec`]) and [`Pipeline`]s
//! (filters then a compressor, as in a zarr v2 `.zarray`).
//!
//! Each codec id lives in its own module and is byte-compatible with numcodecs: the same config
//! keys, the same defaults, the same bytes.
//!
//! ```
//! use ndpack::codec::{get_codec, ArrayRef};
//! let codec = get_codec(&serde_json::json!({"id": "zlib", "level": 1})).unwrap();
//! let data = vec![0u8; 1000];
//! let encoded = codec.encode(ArrayRef::bytes(&data)).unwrap();
//! let decoded = codec.decode(ArrayRef::bytes(encoded.bytes())).unwrap();
//! assert_eq!(decoded.bytes(), &data[..]);
//! ```

use std::collections::{BTreeMap, HashMap};
use std::fmt;
use std::sync::{Arc, RwLock};

use serde_json::{Map, Value};

use crate::buffer::Buffer;
use crate::dtype::DataType;
use crate::error::{Error, ErrorKind, Result};

pub(crate) use crate::backend::check_out_len;
pub use crate::backend::GrowBuf;

pub mod adler32;
pub mod astype;
pub mod bitround;
pub mod blosc;
#[cfg(feature = "bz2")]
pub mod bz2;
pub mod categorize;
pub mod checksum32;
pub mod crc32;
pub mod crc32c;
pub mod delta;
pub(crate) mod filter;
pub mod fixedscaleoffset;
pub mod fletcher32;
pub mod gzip;
pub mod jenkins_lookup3;
pub mod json2;
#[cfg(feature = "lz4")]
pub mod lz4;
#[cfg(feature = "lzma")]
pub mod lzma;
pub mod msgpack2;
pub mod object;
pub mod packbits;
#[cfg(feature = "pcodec")]
pub mod pcodec;
pub mod quantize;
pub mod shuffle;
pub mod vlen_array;
pub mod vlen_bytes;
pub mod vlen_utf8;
pub mod zarr3;
#[cfg(feature = "zfp")]
pub mod zfpy;
pub mod zlib;
#[cfg(feature = "zstd")]
pub mod zstd;

pub use crate::buffer::{ArrayMut, ArrayRef, NDBuffer};
pub use crate::error::MAX_DECODED_SIZE;

/// A numcodecs-compatible codec.
///
/// Object safe, `Send + Sync`: codecs are built from configs at run time and shared across threads.
/// Two codecs are equal when their configs are equal.
pub trait Codec: Send + Sync + fmt::Debug {
    /// The numcodecs codec id, e.g. `"zlib"`.
    fn id(&self) -> &'static str;

    /// The numcodecs configuration: a JSON object with `"id"` and every parameter, defaults included,
    /// exactly as numcodecs' `get_config()` gives it.
    fn config(&self) -> Value;

    /// Encodes an array (compressors and checksums read its bytes; filters its items).
    fn encode(&self, input: ArrayRef<'_>) -> Result<NDBuffer>;

    /// Decodes what `encode` produced. Input is untrusted: bad input is an error, never a panic.
    fn decode(&self, input: ArrayRef<'_>) -> Result<NDBuffer>;

    /// Decodes into the caller's memory, which must have exactly the decoded size.
    ///
    /// The default decodes into a new buffer and copies; codecs override it to decode in place.
    fn decode_into(&self, input: &[u8], out: ArrayMut<'_>) -> Result<()> {
        let decoded = self.decode(ArrayRef::bytes(input))?;
        copy_decoded(decoded.bytes(), out.data)
    }

    /// The exact size in bytes of what `decode` gives for `encoded`, when the codec can tell
    /// cheaply (from a size header); `None`, the default, when it cannot.
    ///
    /// Front ends use it to allocate the output of [`Codec::decode_into`] once, in their own
    /// memory. It reads untrusted input: a size it returns is within [`MAX_DECODED_SIZE`] and
    /// what the input can hold, and `decode_into` still checks everything.
    fn decoded_len(&self, encoded: &[u8]) -> Option<usize> {
        let _ = encoded;
        None
    }

    /// An upper bound on the size of `encode(input)`'s bytes when the codec encodes straight into
    /// caller memory with [`Codec::encode_into`]; `None`, the default, when it does not.
    fn max_encoded_len(&self, input: &ArrayRef<'_>) -> Option<usize> {
        let _ = input;
        None
    }

    /// Encodes into `out` and returns the number of bytes written: the bytes `encode` gives.
    /// `out` must hold at least [`Codec::max_encoded_len`] bytes.
    ///
    /// The default encodes into a new buffer and copies; codecs that give a
    /// `max_encoded_len` override it to write in place.
    fn encode_into(&self, input: ArrayRef<'_>, out: &mut [u8]) -> Result<usize> {
        let encoded = self.encode(input)?;
        let n = encoded.bytes().len();
        if out.len() < n {
            return Err(Error::invalid_argument(format!(
                "output buffer has {} bytes, encoded data has {n}",
                out.len()
            )));
        }
        out[..n].copy_from_slice(encoded.bytes());
        Ok(n)
    }

    /// Decodes `encoded` into `out`, growing it as needed, and returns the decoded length (the
    /// first bytes of `out`), for codecs that cannot tell the decoded size up front (zlib, gzip):
    /// the front end's own memory receives the result, instead of a buffer that is copied
    /// afterwards. `None`, the default, for codecs that do not do this (callers use `decode`).
    fn decode_grow(&self, encoded: &[u8], out: &mut dyn GrowBuf) -> Option<Result<usize>> {
        let _ = (encoded, out);
        None
    }

    /// For codecs whose decoded data is a contiguous part of the encoded bytes (the checksum
    /// codecs): checks `encoded` as `decode` does and returns where that part lies, so that a
    /// caller can view it instead of copying. `None`, the default, for other codecs.
    fn decoded_range(&self, encoded: &[u8]) -> Option<Result<std::ops::Range<usize>>> {
        let _ = encoded;
        None
    }
}

/// Copies decoded bytes into an `out` buffer, checking that sizes match (numcodecs' rule).
pub fn copy_decoded(decoded: &[u8], out: &mut [u8]) -> Result<()> {
    check_out_len(out.len(), decoded.len())?;
    out.copy_from_slice(decoded);
    Ok(())
}

/// Checks a compression `level` of codec `id` against `lo..=hi`: a config error naming the
/// key `level` otherwise.
pub(crate) fn check_level(id: &str, level: i64, lo: i64, hi: i64) -> Result<()> {
    if !(lo..=hi).contains(&level) {
        return Err(Error::invalid_config(format!(
            "codec {id}: key \"level\" must be between {lo} and {hi}, got {level}"
        )));
    }
    Ok(())
}

/// The compression level of a config whose only key is an optional `level` (default 1),
/// checked against `lo..=hi` (zlib, gzip, bz2).
pub(crate) fn read_level(
    id: &'static str,
    config: &Map<String, Value>,
    lo: i64,
    hi: i64,
) -> Result<i64> {
    let mut r = ConfigReader::new(id, config)?;
    let level = r.int("level")?.unwrap_or(1);
    r.finish()?;
    check_level(id, level, lo, hi)?;
    Ok(level)
}

impl PartialEq for dyn Codec {
    fn eq(&self, other: &Self) -> bool {
        self.config() == other.config()
    }
}

/// A function that builds a codec from its configuration (the JSON object, `"id"` included).
pub type CodecFactory = Arc<dyn Fn(&Map<String, Value>) -> Result<Box<dyn Codec>> + Send + Sync>;

/// Reads a codec configuration, rejecting unknown keys and bad values with errors that name them.
///
/// ```
/// use ndpack::codec::ConfigReader;
/// let cfg = serde_json::json!({"id": "zlib", "level": 5});
/// let mut r = ConfigReader::new("zlib", cfg.as_object().unwrap()).unwrap();
/// assert_eq!(r.int("level").unwrap(), Some(5));
/// r.finish().unwrap();
/// ```
pub struct ConfigReader<'a> {
    id: &'static str,
    map: &'a Map<String, Value>,
    used: Vec<&'a str>,
}

impl<'a> ConfigReader<'a> {
    /// Starts reading `map`, whose `"id"` (if present) must be `id`.
    pub fn new(id: &'static str, map: &'a Map<String, Value>) -> Result<Self> {
        if let Some(v) = map.get("id") {
            if v.as_str() != Some(id) {
                return Err(Error::invalid_config(format!(
                    "codec {id}: config has id {v}, expected \"{id}\""
                )));
            }
        }
        Ok(ConfigReader {
            id,
            map,
            used: vec!["id"],
        })
    }

    fn take(&mut self, key: &'a str) -> Option<&'a Value> {
        self.used.push(key);
        self.map.get(key).filter(|v| !v.is_null())
    }

    fn bad(&self, key: &str, want: &str, v: &Value) -> Error {
        Error::invalid_config(format!(
            "codec {}: key {key:?} must be {want}, got {v}",
            self.id
        ))
    }

    /// The raw value of `key`, if present and not null.
    pub fn value(&mut self, key: &'a str) -> Option<&'a Value> {
        self.take(key)
    }

    /// An integer value (floats with an integral value are accepted, as Python does).
    pub fn int(&mut self, key: &'a str) -> Result<Option<i64>> {
        match self.take(key) {
            None => Ok(None),
            Some(v) => v
                .as_i64()
                .or_else(|| v.as_f64().filter(|f| f.fract() == 0.0).map(|f| f as i64))
                .or_else(|| v.as_bool().map(i64::from))
                .map(Some)
                .ok_or_else(|| self.bad(key, "an integer", v)),
        }
    }

    /// A floating-point value.
    pub fn float(&mut self, key: &'a str) -> Result<Option<f64>> {
        match self.take(key) {
            None => Ok(None),
            Some(v) => v
                .as_f64()
                .map(Some)
                .ok_or_else(|| self.bad(key, "a number", v)),
        }
    }

    /// A boolean value (0/1 accepted).
    pub fn bool(&mut self, key: &'a str) -> Result<Option<bool>> {
        match self.take(key) {
            None => Ok(None),
            Some(v) => v
                .as_bool()
                .or_else(|| v.as_i64().filter(|i| *i == 0 || *i == 1).map(|i| i == 1))
                .map(Some)
                .ok_or_else(|| self.bad(key, "a boolean", v)),
        }
    }

    /// A string value.
    pub fn str(&mut self, key: &'a str) -> Result<Option<&'a str>> {
        match self.take(key) {
            None => Ok(None),
            Some(v) => v
                .as_str()
                .map(Some)
                .ok_or_else(|| self.bad(key, "a string", v)),
        }
    }

    /// A NumPy dtype string.
    pub fn dtype(&mut self, key: &'a str) -> Result<Option<DataType>> {
        match self.str(key)? {
            None => Ok(None),
            Some(s) => s.parse().map(Some).map_err(|e: Error| {
                Error::invalid_config(format!("codec {}: key {key:?}: {}", self.id, e.message()))
            }),
        }
    }

    /// An error for `key` whose value is out of range, e.g. `"between 0 and 9"`.
    pub fn out_of_range(&self, key: &str, want: &str) -> Error {
        let v = self.map.get(key).cloned().unwrap_or(Value::Null);
        self.bad(key, want, &v)
    }

    /// Fails if the config has a key that was not read.
    pub fn finish(self) -> Result<()> {
        for key in self.map.keys() {
            if !self.used.contains(&key.as_str()) {
                return Err(Error::invalid_config(format!(
                    "codec {}: unknown config key {key:?}",
                    self.id
                )));
            }
        }
        Ok(())
    }
}

/// Builds the factory for a codec type with a `from_config` constructor.
macro_rules! factory {
    ($t:ty) => {
        (|m: &Map<String, Value>| -> Result<Box<dyn Codec>> { Ok(Box::new(<$t>::from_config(m)?)) })
            as FactoryFn
    };
}

/// A plain function that builds a codec from its config.
type FactoryFn = fn(&Map<String, Value>) -> Result<Box<dyn Codec>>;

/// The codecs built into ndpack: `(id, factory)`. One line per codec id.
fn builtin_codecs() -> Vec<(&'static str, FactoryFn)> {
    vec![
        ("zlib", factory!(zlib::Zlib)),
        // compressors
        ("gzip", factory!(gzip::Gzip)),
        #[cfg(feature = "bz2")]
        ("bz2", factory!(bz2::Bz2)),
        #[cfg(feature = "lzma")]
        ("lzma", factory!(lzma::Lzma)),
        #[cfg(feature = "zstd")]
        ("zstd", factory!(zstd::Zstd)),
        #[cfg(feature = "lz4")]
        ("lz4", factory!(lz4::Lz4)),
        // checksums
        ("crc32", factory!(crc32::Crc32)),
        ("adler32", factory!(adler32::Adler32)),
        ("crc32c", factory!(crc32c::Crc32c)),
        ("fletcher32", factory!(fletcher32::Fletcher32)),
        // filters
        ("astype", factory!(astype::AsType)),
        ("bitround", factory!(bitround::BitRound)),
        ("categorize", factory!(categorize::Categorize)),
        ("delta", factory!(delta::Delta)),
        (
            "fixedscaleoffset",
            factory!(fixedscaleoffset::FixedScaleOffset),
        ),
        ("packbits", factory!(packbits::PackBits)),
        ("quantize", factory!(quantize::Quantize)),
        ("shuffle", factory!(shuffle::Shuffle)),
        // object codecs
        ("vlen-utf8", factory!(vlen_utf8::VLenUtf8)),
        ("vlen-bytes", factory!(vlen_bytes::VLenBytes)),
        ("vlen-array", factory!(vlen_array::VLenArray)),
        ("json2", factory!(json2::Json2)),
        ("msgpack2", factory!(msgpack2::MsgPack2)),
        // blosc
        ("blosc", factory!(blosc::Blosc)),
        // zfpy
        #[cfg(feature = "zfp")]
        ("zfpy", factory!(zfpy::Zfpy)),
        ("jenkins_lookup3", factory!(jenkins_lookup3::JenkinsLookup3)),
        #[cfg(feature = "pcodec")]
        ("pcodec", factory!(pcodec::Pcodec)),
    ]
}

/// The codec ids whose back end this build leaves out, with the cargo feature that has it:
/// [`get_codec`] names the feature when asked for one.
const COMPILED_OUT: &[(&str, &str)] = &[
    #[cfg(not(feature = "bz2"))]
    ("bz2", "bz2"),
    #[cfg(not(feature = "lzma"))]
    ("lzma", "lzma"),
    #[cfg(not(feature = "zstd"))]
    ("zstd", "zstd"),
    #[cfg(not(feature = "lz4"))]
    ("lz4", "lz4"),
    #[cfg(not(feature = "zfp"))]
    ("zfpy", "zfp"),
    #[cfg(not(feature = "pcodec"))]
    ("pcodec", "pcodec"),
];

/// The registry of this process. A child made by `fork` copies its parent's, or starts from the
/// built-in codecs when a thread was registering a codec at the fork.
fn registry() -> &'static RwLock<HashMap<String, CodecFactory>> {
    static REGISTRY: crate::threads::PerProcess<RwLock<HashMap<String, CodecFactory>>> =
        crate::threads::PerProcess::new(|parent| {
            let inherited = parent.and_then(|p| match p.try_read() {
                Ok(map) => Some(map.clone()),
                Err(std::sync::TryLockError::Poisoned(e)) => Some(e.into_inner().clone()),
                Err(std::sync::TryLockError::WouldBlock) => None,
            });
            RwLock::new(inherited.unwrap_or_else(|| {
                builtin_codecs()
                    .into_iter()
                    .map(|(id, f)| (id.to_string(), Arc::new(f) as CodecFactory))
                    .collect()
            }))
        });
    REGISTRY.get()
}

/// Builds a codec from its numcodecs configuration, e.g. `{"id": "zstd", "level": 1}`.
///
/// An unknown id is [`ErrorKind::UnknownCodec`], and so is the id of a codec whose cargo
/// feature this build left out (the message names the feature); an unknown key or a bad value
/// is [`ErrorKind::InvalidConfig`] naming it.
pub fn get_codec(config: &Value) -> Result<Box<dyn Codec>> {
    let map = config.as_object().ok_or_else(|| {
        Error::invalid_config(format!("codec config must be a JSON object, got {config}"))
    })?;
    let id = map.get("id").and_then(Value::as_str).ok_or_else(|| {
        Error::invalid_config(format!("codec config has no string \"id\": {config}"))
    })?;
    let factory = registry()
        .read()
        .unwrap_or_else(|e| e.into_inner())
        .get(id)
        .cloned()
        .ok_or_else(|| match COMPILED_OUT.iter().find(|(out, _)| *out == id) {
            Some((_, feature)) => Error::new(
                ErrorKind::UnknownCodec,
                format!(
                    "codec not available: {id:?} (ndpack was built without the cargo feature \
                     {feature:?})"
                ),
            ),
            None => Error::new(
                ErrorKind::UnknownCodec,
                format!("codec not available: {id:?}"),
            ),
        })?;
    factory(map)
}

/// Registers (or replaces) the factory for `id`.
pub fn register_codec(id: &str, factory: CodecFactory) {
    registry()
        .write()
        .unwrap_or_else(|e| e.into_inner())
        .insert(id.to_string(), factory);
}

/// The registered codec ids, sorted.
pub fn codec_ids() -> Vec<String> {
    let mut ids: Vec<String> = registry()
        .read()
        .unwrap_or_else(|e| e.into_inner())
        .keys()
        .cloned()
        .collect();
    ids.sort();
    ids
}

/// Every registered id with its default configuration (the config of the codec built from
/// `{"id": id}`), for ids that have defaults for every parameter.
pub fn default_configs() -> BTreeMap<String, Value> {
    codec_ids()
        .into_iter()
        .filter_map(|id| {
            let c = get_codec(&serde_json::json!({ "id": id })).ok()?;
            Some((id, c.config()))
        })
        .collect()
}

/// Filters then an optional compressor, as in a zarr v2 `.zarray`: encoding runs the filters in
/// order then the compressor; decoding runs them backwards.
#[derive(Debug, Default)]
pub struct Pipeline {
    /// Filters applied in order when encoding.
    pub filters: Vec<Box<dyn Codec>>,
    /// The compressor applied last when encoding.
    pub compressor: Option<Box<dyn Codec>>,
}

impl Pipeline {
    /// A pipeline from configs: `filters` (a JSON array or null) and `compressor` (object or null).
    pub fn from_configs(filters: &Value, compressor: &Value) -> Result<Self> {
        let filters = match filters {
            Value::Null => Vec::new(),
            Value::Array(items) => items.iter().map(get_codec).collect::<Result<_>>()?,
            other => {
                return Err(Error::invalid_config(format!(
                    "filters must be a list, got {other}"
                )))
            }
        };
        let compressor = match compressor {
            Value::Null => None,
            c => Some(get_codec(c)?),
        };
        Ok(Pipeline {
            filters,
            compressor,
        })
    }

    fn codecs(&self) -> impl DoubleEndedIterator<Item = &dyn Codec> {
        self.filters
            .iter()
            .map(|c| c.as_ref())
            .chain(self.compressor.as_deref())
    }

    /// Encodes `input` through every filter, then the compressor.
    pub fn encode(&self, input: ArrayRef<'_>) -> Result<NDBuffer> {
        let mut current: Option<NDBuffer> = None;
        for codec in self.codecs() {
            let next = match &current {
                None => codec.encode(input.clone())?,
                Some(a) => codec.encode(a.as_array_ref())?,
            };
            current = Some(next);
        }
        match current {
            Some(a) => Ok(a),
            None => NDBuffer::new(
                Buffer::copy_from_slice(input.data),
                input.dtype,
                input.shape,
                input.order,
            ),
        }
    }

    /// Decodes `data` through the compressor, then every filter backwards.
    pub fn decode(&self, data: &[u8]) -> Result<NDBuffer> {
        let mut current = NDBuffer::from_bytes(Buffer::copy_from_slice(data));
        for codec in self.codecs().rev() {
            current = codec.decode(current.as_array_ref())?;
        }
        Ok(current)
    }
}

/// Helpers shared by the codecs' unit tests.
#[cfg(test)]
pub(crate) mod test_util {
    use super::{ArrayMut, ArrayRef, Codec};
    use crate::error::ErrorKind;

    /// Encodes `data` with `c` and checks that `decode` and `decode_into` (into a buffer of the
    /// decoded size, filled with other bytes first) give it back; returns the encoded bytes.
    /// `case` names the case in failures.
    pub(crate) fn round_trip(c: &dyn Codec, data: &[u8], case: &str) -> Vec<u8> {
        let enc = c.encode(ArrayRef::bytes(data)).unwrap().bytes().to_vec();
        assert!(
            c.decode(ArrayRef::bytes(&enc)).unwrap().bytes() == data,
            "decode, {case}"
        );
        let mut out = vec![0xAAu8; data.len()];
        c.decode_into(&enc, ArrayMut::bytes(&mut out)).unwrap();
        assert!(out == data, "decode_into, {case}");
        enc
    }

    /// Hex to bytes.
    pub(crate) fn unhex(s: &str) -> Vec<u8> {
        (0..s.len())
            .step_by(2)
            .map(|i| u8::from_str_radix(&s[i..i + 2], 16).unwrap())
            .collect()
    }

    /// Checks that `decode` fails on the cuts `enc[..cut]` for `cut` in `first` and at half and
    /// all-but-one byte of `enc`, each error's kind passing `expected`.
    #[cfg_attr(
        not(any(feature = "lz4", feature = "lzma", feature = "zstd")),
        allow(dead_code)
    )]
    pub(crate) fn assert_cuts_fail(
        c: &dyn Codec,
        enc: &[u8],
        first: [usize; 2],
        expected: impl Fn(ErrorKind) -> bool,
    ) {
        for cut in [first[0], first[1], enc.len() / 2, enc.len() - 1] {
            let e = c.decode(ArrayRef::bytes(&enc[..cut])).unwrap_err();
            assert!(expected(e.kind()), "cut {cut}: {e}");
        }
    }

    /// Checks that `decode_into` refuses output buffers one byte shorter and one byte longer
    /// than the `n` bytes that `enc` decodes to, with [`ErrorKind::InvalidArgument`].
    pub(crate) fn assert_out_size_checked(c: &dyn Codec, enc: &[u8], n: usize) {
        for len in [n - 1, n + 1] {
            let mut out = vec![0u8; len];
            let e = c.decode_into(enc, ArrayMut::bytes(&mut out)).unwrap_err();
            assert_eq!(e.kind(), ErrorKind::InvalidArgument, "{len} bytes: {e}");
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn unknown_id_and_key_are_named() {
        let e = get_codec(&json!({"id": "nope"})).unwrap_err();
        assert_eq!(e.kind(), ErrorKind::UnknownCodec);
        assert!(e.message().contains("nope"));
        let e = get_codec(&json!({"id": "zlib", "lvl": 1})).unwrap_err();
        assert_eq!(e.kind(), ErrorKind::InvalidConfig);
        assert!(e.message().contains("lvl"));
        let e = get_codec(&json!({"id": "zlib", "level": "x"})).unwrap_err();
        assert!(e.message().contains("level"), "{e}");
    }

    #[test]
    fn configs_round_trip_for_every_builtin() {
        for (id, config) in default_configs() {
            let again = get_codec(&config).unwrap();
            assert_eq!(again.config(), config, "{id}");
            assert_eq!(again.id(), id);
        }
    }

    #[test]
    fn pipeline_round_trip() {
        let p = Pipeline::from_configs(&Value::Null, &json!({"id": "zlib", "level": 9})).unwrap();
        let data: Vec<u8> = (0..10_000u32)
            .flat_map(|i| (i % 251).to_le_bytes())
            .collect();
        let enc = p.encode(ArrayRef::bytes(&data)).unwrap();
        assert!(enc.bytes().len() < data.len());
        assert_eq!(p.decode(enc.bytes()).unwrap().bytes(), &data[..]);
    }
}
