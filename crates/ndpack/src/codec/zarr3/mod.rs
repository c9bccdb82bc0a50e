//! zarr v3 codec chains: the codec names and configurations of a zarr v3 `zarr.json`
//! (`bytes`, `transpose`, `zstd`, `blosc`, `gzip`, `crc32c`, `sharding_indexed` and the
//! bytes-to-bytes `numcodecs.*` codecs) and the [`CodecChain`] that encodes and decodes whole
//! chunks with them: array-to-array codecs, one array-to-bytes codec, then bytes-to-bytes codecs,
//! as zarr-python's codec pipeline runs them.
//!
//! The compressors and checksums are the numcodecs codecs of [`crate::codec`]; this module only
//! maps zarr v3 configurations onto them and runs the chain.
//!
//! ```
//! use ndpack::codec::zarr3::{CodecChain, EncodeOptions};
//! use ndpack::codec::{ArrayMut, ArrayRef};
//! use ndpack::{DataType, Order};
//! let codecs = serde_json::json!([
//!     {"name": "bytes", "configuration": {"endian": "little"}},
//!     {"name": "zstd", "configuration": {"level": 0, "checksum": false}},
//! ]);
//! let dtype: DataType = "<u2".parse()?;
//! let chain = CodecChain::from_json(&codecs, dtype.itemsize())?;
//! let data: Vec<u8> = (0..64u16).flat_map(|v| v.to_le_bytes()).collect();
//! let chunk = ArrayRef::new(&data, dtype.clone(), vec![8, 8], Order::C)?;
//! let opts = EncodeOptions { fill: vec![0, 0], write_empty_chunks: true };
//! let encoded = chain.encode(chunk, &opts)?.expect("not empty");
//! let mut out = vec![0u8; data.len()];
//! let view = ArrayMut { data: &mut out, dtype, shape: vec![8, 8], order: Order::C };
//! chain.decode_into(&encoded, view, &opts.fill)?;
//! assert_eq!(out, data);
//! # Ok::<(), ndpack::Error>(())
//! ```

use std::borrow::Cow;

use serde_json::{json, Map, Value};

use super::{get_codec, ArrayMut, ArrayRef, Codec};
use crate::dtype::{ByteOrder, DataType};
use crate::error::{Error, Result};
use crate::region::{copy_region, Layout, Order, Region};

mod layout;
pub mod sharding;

use layout::{check_permutation, inverse, permute, swap_units};
pub use sharding::{coalesce, RangeRead, Sharding};

/// How a chain encodes a chunk: the fill value and whether chunks (and inner chunks of a shard)
/// whose every item is the fill value are still written.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EncodeOptions {
    /// One item: the array's fill value in the byte order of the chunk data.
    pub fill: Vec<u8>,
    /// zarr's `array.write_empty_chunks`: `false` drops chunks that are all fill value.
    pub write_empty_chunks: bool,
}

/// An array-to-array codec.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ArrayToArray {
    /// `transpose`: the chunk's axes permuted by `order`.
    Transpose {
        /// The permutation: axis `i` of the encoded array is axis `order[i]` of the chunk.
        order: Vec<usize>,
    },
}

/// The array-to-bytes codec of a chain.
#[derive(Debug)]
pub enum ArrayToBytes {
    /// `bytes`: the items in C order, in `endian` byte order (`None` for one-byte items).
    Bytes {
        /// The stored byte order.
        endian: Option<ByteOrder>,
    },
    /// `sharding_indexed`: inner chunks with their own chain and an index.
    Sharding(Box<Sharding>),
}

/// A bytes-to-bytes codec: a numcodecs codec under its zarr v3 name.
#[derive(Debug)]
struct BytesToBytes {
    /// The zarr v3 codec name, e.g. `"zstd"`.
    name: String,
    /// The zarr v3 configuration, as given (evolved).
    configuration: Value,
    codec: Box<dyn Codec>,
}

/// A zarr v3 codec chain.
#[derive(Debug)]
pub struct CodecChain {
    array_array: Vec<ArrayToArray>,
    array_bytes: ArrayToBytes,
    bytes_bytes: Vec<BytesToBytes>,
}

/// Splits a codec's JSON (`{"name": ..., "configuration": {...}}` or a bare name) into its
/// name and configuration object.
fn name_and_config(codec: &Value) -> Result<(&str, Map<String, Value>)> {
    match codec {
        Value::String(name) => Ok((name, Map::new())),
        Value::Object(map) => {
            let name = map.get("name").and_then(Value::as_str).ok_or_else(|| {
                Error::invalid_config(format!("zarr codec has no string \"name\": {codec}"))
            })?;
            for key in map.keys() {
                if key != "name" && key != "configuration" && key != "must_understand" {
                    return Err(Error::invalid_config(format!(
                        "zarr codec {name}: unknown key {key:?}"
                    )));
                }
            }
            let config = match map.get("configuration") {
                None | Some(Value::Null) => Map::new(),
                Some(Value::Object(c)) => c.clone(),
                Some(other) => {
                    return Err(Error::invalid_config(format!(
                        "zarr codec {name}: configuration must be an object, got {other}"
                    )))
                }
            };
            Ok((name, config))
        }
        other => Err(Error::invalid_config(format!(
            "zarr codec must be an object or a name, got {other}"
        ))),
    }
}

/// Checks that `config` has only `allowed` keys.
fn only_keys(name: &str, config: &Map<String, Value>, allowed: &[&str]) -> Result<()> {
    match config.keys().find(|k| !allowed.contains(&k.as_str())) {
        Some(k) => Err(Error::invalid_config(format!(
            "zarr codec {name}: unknown configuration key {k:?}"
        ))),
        None => Ok(()),
    }
}

/// The numcodecs form of a zarr v3 `blosc` configuration, with zarr-python's rules for a
/// missing `typesize` (the item size) and `shuffle` (bitshuffle for one-byte items, else shuffle).
fn blosc_config(config: &Map<String, Value>, itemsize: usize) -> Result<Value> {
    only_keys(
        "blosc",
        config,
        &["cname", "clevel", "shuffle", "typesize", "blocksize"],
    )?;
    let shuffle = match config.get("shuffle") {
        None | Some(Value::Null) => {
            if itemsize == 1 {
                2
            } else {
                1
            }
        }
        Some(v) => match v.as_str() {
            Some("noshuffle") => 0,
            Some("shuffle") => 1,
            Some("bitshuffle") => 2,
            _ => {
                return Err(Error::invalid_config(format!(
                    "zarr codec blosc: \"shuffle\" must be \"noshuffle\", \"shuffle\" or \
                     \"bitshuffle\", got {v}"
                )))
            }
        },
    };
    let typesize = match config.get("typesize") {
        None | Some(Value::Null) => itemsize.max(1) as u64,
        Some(v) => v.as_u64().filter(|&t| t > 0).ok_or_else(|| {
            Error::invalid_config(format!(
                "zarr codec blosc: \"typesize\" must be a positive integer, got {v}"
            ))
        })?,
    };
    Ok(json!({
        "id": "blosc",
        "cname": config.get("cname").cloned().unwrap_or(json!("zstd")),
        "clevel": config.get("clevel").cloned().unwrap_or(json!(5)),
        "shuffle": shuffle,
        "blocksize": config.get("blocksize").cloned().unwrap_or(json!(0)),
        "typesize": typesize,
    }))
}

/// The numcodecs configuration of a zarr v3 bytes-to-bytes codec, or `None` for a name that is
/// not one.
fn bytes_bytes_config(
    name: &str,
    config: &Map<String, Value>,
    itemsize: usize,
) -> Result<Option<Value>> {
    let with_id = |id: &str, allowed: &[&str]| -> Result<Option<Value>> {
        only_keys(name, config, allowed)?;
        let mut m = config.clone();
        m.insert("id".into(), json!(id));
        Ok(Some(Value::Object(m)))
    };
    match name {
        "zstd" => with_id("zstd", &["level", "checksum"]),
        "gzip" => with_id("gzip", &["level"]),
        "crc32c" => with_id("crc32c", &[]),
        "blosc" => blosc_config(config, itemsize).map(Some),
        _ => match name.strip_prefix("numcodecs.") {
            Some(id) if NUMCODECS_BYTES_BYTES.contains(&id) => {
                let mut m = config.clone();
                m.insert("id".into(), json!(id));
                Ok(Some(Value::Object(m)))
            }
            _ => Ok(None),
        },
    }
}

/// The `numcodecs.*` ids that zarr-python runs as bytes-to-bytes codecs and ndpack implements.
const NUMCODECS_BYTES_BYTES: &[&str] = &[
    "blosc",
    "bz2",
    "crc32",
    "crc32c",
    "adler32",
    "fletcher32",
    "jenkins_lookup3",
    "gzip",
    "lz4",
    "lzma",
    "zlib",
    "zstd",
];

impl CodecChain {
    /// Builds a chain from the JSON list of a `zarr.json`'s `"codecs"`, for items of `itemsize`
    /// bytes (used where zarr-python fills in a missing blosc `typesize` or `shuffle`).
    ///
    /// A name ndpack does not implement is an [`crate::ErrorKind::UnknownCodec`] error naming
    /// it; a bad configuration or order is [`crate::ErrorKind::InvalidConfig`].
    pub fn from_json(codecs: &Value, itemsize: usize) -> Result<CodecChain> {
        // Without "endian", `bytes` stores items as they are (one-byte items, strings, records).
        let list = codecs.as_array().ok_or_else(|| {
            Error::invalid_config(format!("zarr codecs must be a list, got {codecs}"))
        })?;
        let mut array_array = Vec::new();
        let mut array_bytes = None;
        let mut bytes_bytes = Vec::new();
        for codec in list {
            let (name, config) = name_and_config(codec)?;
            let stage = if array_bytes.is_some() {
                "after"
            } else {
                "before"
            };
            match name {
                "transpose" => {
                    only_keys(name, &config, &["order"])?;
                    let order = config
                        .get("order")
                        .and_then(Value::as_array)
                        .and_then(|a| {
                            a.iter()
                                .map(|v| v.as_u64().map(|u| u as usize))
                                .collect::<Option<Vec<usize>>>()
                        })
                        .ok_or_else(|| {
                            Error::invalid_config(format!(
                                "zarr codec transpose: \"order\" must be a list of axes, got {}",
                                config.get("order").unwrap_or(&Value::Null)
                            ))
                        })?;
                    check_permutation(&order, order.len())
                        .map_err(|e| Error::invalid_config(e.message()))?;
                    if array_bytes.is_some() {
                        return Err(order_error(name, stage));
                    }
                    array_array.push(ArrayToArray::Transpose { order });
                }
                "bytes" | "endian" => {
                    if array_bytes.is_some() {
                        return Err(order_error(name, "twice"));
                    }
                    only_keys(name, &config, &["endian"])?;
                    let endian = match config.get("endian") {
                        None | Some(Value::Null) => None,
                        Some(v) => Some(match v.as_str() {
                            Some("little") => ByteOrder::Little,
                            Some("big") => ByteOrder::Big,
                            _ => {
                                return Err(Error::invalid_config(format!(
                                    "zarr codec bytes: \"endian\" must be \"little\" or \
                                     \"big\", got {v}"
                                )))
                            }
                        }),
                    };
                    array_bytes = Some(ArrayToBytes::Bytes { endian });
                }
                "sharding_indexed" => {
                    if array_bytes.is_some() {
                        return Err(order_error(name, "twice"));
                    }
                    array_bytes = Some(ArrayToBytes::Sharding(Box::new(Sharding::from_config(
                        &config, itemsize,
                    )?)));
                }
                _ => {
                    let codec = bytes_to_bytes(name, config, itemsize)?;
                    if array_bytes.is_none() {
                        return Err(order_error(name, stage));
                    }
                    bytes_bytes.push(codec);
                }
            }
        }
        let array_bytes = array_bytes.ok_or_else(|| {
            Error::invalid_config("zarr codecs have no array-to-bytes codec (bytes, sharding)")
        })?;
        Ok(CodecChain {
            array_array,
            array_bytes,
            bytes_bytes,
        })
    }

    /// The zarr v3 names of the chain's codecs, in encoding order.
    pub fn names(&self) -> Vec<String> {
        let mut names: Vec<String> = self
            .array_array
            .iter()
            .map(|_| "transpose".to_string())
            .collect();
        names.push(match &self.array_bytes {
            ArrayToBytes::Bytes { .. } => "bytes".into(),
            ArrayToBytes::Sharding(_) => "sharding_indexed".into(),
        });
        names.extend(self.bytes_bytes.iter().map(|b| b.name.clone()));
        names
    }

    /// The bytes-to-bytes codecs' configurations (as given), in encoding order.
    pub fn bytes_bytes_configs(&self) -> Vec<Value> {
        self.bytes_bytes
            .iter()
            .map(|b| json!({"name": b.name, "configuration": b.configuration}))
            .collect()
    }

    /// The array-to-bytes codec.
    pub fn array_bytes(&self) -> &ArrayToBytes {
        &self.array_bytes
    }

    /// The sharding codec when the chain is that codec alone, whose shards can be read in part
    /// ([`Sharding::decode_region`]); `None` otherwise.
    pub fn sharding_alone(&self) -> Option<&Sharding> {
        match &self.array_bytes {
            ArrayToBytes::Sharding(s)
                if self.array_array.is_empty() && self.bytes_bytes.is_empty() =>
            {
                Some(s)
            }
            _ => None,
        }
    }

    /// Whether the chain is `bytes` alone: a stored chunk is its items in C order (in the
    /// `bytes` codec's byte order), so any item can be read at its own byte range.
    pub fn is_plain_bytes(&self) -> bool {
        matches!(self.array_bytes, ArrayToBytes::Bytes { .. })
            && self.array_array.is_empty()
            && self.bytes_bytes.is_empty()
    }

    /// Whether items stored by this chain's `bytes` codec are in another byte order than
    /// `dtype`'s.
    pub fn needs_swap(&self, dtype: &DataType) -> bool {
        matches!(&self.array_bytes, ArrayToBytes::Bytes { endian } if needs_swap(dtype, *endian))
    }

    /// Puts items read straight from a chunk of a [plain bytes](CodecChain::is_plain_bytes)
    /// chain into `dtype`'s byte order (a swap when the codec's `endian` differs).
    pub fn fix_byte_order(&self, data: &mut [u8], dtype: &DataType) {
        if let ArrayToBytes::Bytes { endian } = &self.array_bytes {
            swap_for(data, dtype, *endian);
        }
    }

    /// The decoded chunk as a view of `encoded` (C order, items of `dtype`) when decoding only
    /// strips bytes: `bytes` without a byte swap and checksums. `None` when decoding computes
    /// (then use [`CodecChain::decode`]).
    pub fn decode_view<'a>(
        &self,
        encoded: &'a [u8],
        dtype: &DataType,
        shape: &[usize],
    ) -> Result<Option<&'a [u8]>> {
        let ArrayToBytes::Bytes { endian } = &self.array_bytes else {
            return Ok(None);
        };
        if !self.array_array.is_empty() || needs_swap(dtype, *endian) {
            return Ok(None);
        }
        let mut data = encoded;
        for b in self.bytes_bytes.iter().rev() {
            match b.codec.decoded_range(data) {
                Some(range) => data = &data[range?],
                None => return Ok(None),
            }
        }
        let want = crate::region::checked_num_items(shape)?
            .checked_mul(dtype.itemsize())
            .ok_or_else(|| Error::too_large(format!("chunk shape {shape:?} is too large")))?;
        if data.len() != want {
            return Err(Error::corrupt(format!(
                "zarr chunk has {} bytes, shape {shape:?} of {dtype} needs {want}",
                data.len()
            )));
        }
        Ok(Some(data))
    }

    /// The encoded size of a chunk of `byte_length` bytes (holding `num_items` items) when every
    /// codec has a fixed size (`bytes`, `transpose`, `crc32c` and shards of them), else `None`.
    pub fn encoded_size(&self, byte_length: usize, shape: &[usize]) -> Option<usize> {
        let mut n = match &self.array_bytes {
            ArrayToBytes::Bytes { .. } => byte_length,
            ArrayToBytes::Sharding(s) => s.encoded_size(byte_length, shape)?,
        };
        for b in &self.bytes_bytes {
            n = match b.name.as_str() {
                "crc32c" => n.checked_add(4)?,
                _ => return None,
            };
        }
        Some(n)
    }

    /// The shape of the array that the array-to-bytes codec sees for a chunk of `shape`.
    fn inner_shapes(&self, shape: &[usize]) -> Result<Vec<Vec<usize>>> {
        let mut shapes = vec![shape.to_vec()];
        for aa in &self.array_array {
            let ArrayToArray::Transpose { order } = aa;
            let last = shapes.last().expect("one shape at least");
            check_permutation(order, last.len())?;
            let next = order.iter().map(|&p| last[p]).collect();
            shapes.push(next);
        }
        Ok(shapes)
    }

    /// Runs the bytes-to-bytes codecs backwards over `encoded`.
    fn decode_bytes<'a>(&self, encoded: &'a [u8], skip_first: bool) -> Result<Cow<'a, [u8]>> {
        let first = usize::from(skip_first);
        decode_through(&self.bytes_bytes[first..], encoded)
    }

    /// Decodes a whole chunk into `out` (any memory order; `out.dtype` is the item type the
    /// caller wants, of either byte order). `fill` (one item in `out`'s byte order) fills the
    /// empty inner chunks of a shard. Bad input is an error, never a panic.
    pub fn decode_into(&self, encoded: &[u8], out: ArrayMut<'_>, fill: &[u8]) -> Result<()> {
        let itemsize = out.dtype.itemsize();
        let want = out.shape.iter().product::<usize>() * itemsize;
        if out.data.len() != want {
            return Err(Error::invalid_argument(format!(
                "output of {} bytes for shape {:?} of {}",
                out.data.len(),
                out.shape,
                out.dtype
            )));
        }
        if self.array_array.is_empty() {
            // Straight into `out` when the last codec can write the final bytes there.
            if let ArrayToBytes::Bytes { endian } = &self.array_bytes {
                let contiguous_c =
                    out.order == Order::C || out.shape.iter().filter(|&&d| d > 1).count() <= 1;
                if contiguous_c && !self.bytes_bytes.is_empty() {
                    let data = self.decode_bytes(encoded, true)?;
                    self.bytes_bytes[0]
                        .codec
                        .decode_into(&data, ArrayMut::bytes(out.data))
                        .map_err(|e| size_error(e, want))?;
                    swap_for(out.data, &out.dtype, *endian);
                    return Ok(());
                }
            }
            let data = self.decode_bytes(encoded, false)?;
            return self.decode_array_bytes(&data, out, fill);
        }
        let shapes = self.inner_shapes(&out.shape)?;
        let data = self.decode_bytes(encoded, false)?;
        let last_shape = shapes.last().expect("shapes").clone();
        let mut cur = vec![0u8; want];
        self.decode_array_bytes(
            &data,
            ArrayMut {
                data: &mut cur,
                dtype: out.dtype.clone(),
                shape: last_shape,
                order: Order::C,
            },
            fill,
        )?;
        for (i, aa) in self.array_array.iter().enumerate().rev() {
            let ArrayToArray::Transpose { order } = aa;
            cur = permute(&cur, &shapes[i + 1], itemsize, Order::C, &inverse(order))?;
        }
        store_c(&cur, out)
    }

    /// The array-to-bytes step of decoding: `data` into `out`.
    fn decode_array_bytes(&self, data: &[u8], out: ArrayMut<'_>, fill: &[u8]) -> Result<()> {
        match &self.array_bytes {
            ArrayToBytes::Bytes { endian } => {
                let want = out.data.len();
                if data.len() != want {
                    return Err(Error::corrupt(format!(
                        "zarr chunk has {} bytes, shape {:?} of {} needs {want}",
                        data.len(),
                        out.shape,
                        out.dtype
                    )));
                }
                if needs_swap(&out.dtype, *endian) {
                    let mut v = data.to_vec();
                    swap_units(&mut v, out.dtype.swap_unit());
                    store_c(&v, out)
                } else {
                    store_c(data, out)
                }
            }
            ArrayToBytes::Sharding(s) => s.decode_into(data, out, fill),
        }
    }

    /// Decodes a whole chunk into a new C-order buffer of `shape` items of `dtype`.
    pub fn decode(
        &self,
        encoded: &[u8],
        dtype: &DataType,
        shape: &[usize],
        fill: &[u8],
    ) -> Result<Vec<u8>> {
        let n = crate::region::checked_num_items(shape)?
            .checked_mul(dtype.itemsize())
            .ok_or_else(|| Error::too_large(format!("chunk shape {shape:?} is too large")))?;
        let mut out = vec![0u8; n];
        self.decode_into(
            encoded,
            ArrayMut {
                data: &mut out,
                dtype: dtype.clone(),
                shape: shape.to_vec(),
                order: Order::C,
            },
            fill,
        )?;
        Ok(out)
    }

    /// Encodes a whole chunk (any memory order). `None` when the chunk is not to be stored:
    /// every item is the fill value and `write_empty_chunks` is off, or a shard with no inner
    /// chunk left.
    pub fn encode(&self, input: ArrayRef<'_>, opts: &EncodeOptions) -> Result<Option<Vec<u8>>> {
        let itemsize = input.dtype.itemsize();
        if input.data.len() != input.shape.iter().product::<usize>() * itemsize {
            return Err(Error::invalid_argument(format!(
                "{} bytes do not hold shape {:?} of {}",
                input.data.len(),
                input.shape,
                input.dtype
            )));
        }
        if !opts.write_empty_chunks && layout::all_fill(input.data, &input.dtype, &opts.fill) {
            return Ok(None);
        }
        let shapes = self.inner_shapes(&input.shape)?;
        let mut transposed: Option<Vec<u8>> = None;
        for (i, aa) in self.array_array.iter().enumerate() {
            let ArrayToArray::Transpose { order } = aa;
            let (src, src_order) = match &transposed {
                Some(t) => (&t[..], Order::C),
                None => (input.data, input.order),
            };
            transposed = Some(permute(src, &shapes[i], itemsize, src_order, order)?);
        }
        let (arr_data, arr_order) = match &transposed {
            Some(t) => (&t[..], Order::C),
            None => (input.data, input.order),
        };
        let arr = ArrayRef {
            data: arr_data,
            dtype: input.dtype.clone(),
            shape: shapes.last().expect("shapes").clone(),
            order: arr_order,
        };
        let mut data: Cow<'_, [u8]> = match &self.array_bytes {
            ArrayToBytes::Bytes { endian } => {
                let c_contiguous =
                    arr.order == Order::C || arr.shape.iter().filter(|&&d| d > 1).count() <= 1;
                let mut bytes = if c_contiguous {
                    Cow::Borrowed(arr.data)
                } else {
                    Cow::Owned(permute(
                        arr.data,
                        &arr.shape,
                        itemsize,
                        arr.order,
                        &(0..arr.shape.len()).collect::<Vec<_>>(),
                    )?)
                };
                if needs_swap(&arr.dtype, *endian) {
                    swap_units(bytes.to_mut(), arr.dtype.swap_unit());
                }
                bytes
            }
            ArrayToBytes::Sharding(s) => match s.encode(arr, opts)? {
                Some(v) => Cow::Owned(v),
                None => return Ok(None),
            },
        };
        for b in &self.bytes_bytes {
            data = Cow::Owned(b.codec.encode(ArrayRef::bytes(&data))?.bytes().to_vec());
        }
        Ok(Some(data.into_owned()))
    }
}

/// Runs bytes-to-bytes codecs backwards over `encoded` (borrowing where a codec only strips
/// bytes, such as a checksum).
fn decode_through<'a>(codecs: &[BytesToBytes], encoded: &'a [u8]) -> Result<Cow<'a, [u8]>> {
    let mut data = Cow::Borrowed(encoded);
    for b in codecs.iter().rev() {
        data = match b.codec.decoded_range(&data) {
            Some(range) => {
                let range = range?;
                match data {
                    Cow::Borrowed(d) => Cow::Borrowed(&d[range]),
                    Cow::Owned(mut v) => {
                        v.truncate(range.end);
                        v.drain(..range.start);
                        Cow::Owned(v)
                    }
                }
            }
            None => Cow::Owned(b.codec.decode(ArrayRef::bytes(&data))?.bytes().to_vec()),
        };
    }
    Ok(data)
}

/// A chain of zarr v3 bytes-to-bytes codecs alone (`zstd`, `blosc`, `gzip`, `crc32c` and the
/// bytes-to-bytes `numcodecs.*` codecs): the part of a codec chain on either side of a codec
/// that ndpack does not implement, which the caller runs itself.
#[derive(Debug)]
pub struct BytesChain {
    codecs: Vec<BytesToBytes>,
}

impl BytesChain {
    /// Builds the chain from a JSON list of bytes-to-bytes codecs, for items of `itemsize`
    /// bytes (blosc's `typesize` and `shuffle` rules). Any other codec is an error:
    /// [`crate::ErrorKind::UnknownCodec`] for a name ndpack does not implement,
    /// [`crate::ErrorKind::InvalidConfig`] for an array-to-array or array-to-bytes codec.
    pub fn from_json(codecs: &Value, itemsize: usize) -> Result<BytesChain> {
        let list = codecs.as_array().ok_or_else(|| {
            Error::invalid_config(format!("zarr codecs must be a list, got {codecs}"))
        })?;
        let mut out = Vec::with_capacity(list.len());
        for codec in list {
            let (name, config) = name_and_config(codec)?;
            if matches!(name, "transpose" | "bytes" | "endian" | "sharding_indexed") {
                return Err(Error::invalid_config(format!(
                    "zarr codec {name} is not a bytes-to-bytes codec"
                )));
            }
            out.push(bytes_to_bytes(name, config, itemsize)?);
        }
        Ok(BytesChain { codecs: out })
    }

    /// The zarr v3 names of the codecs, in encoding order.
    pub fn names(&self) -> Vec<String> {
        self.codecs.iter().map(|b| b.name.clone()).collect()
    }

    /// Encodes `data` with each codec in turn.
    pub fn encode(&self, data: &[u8]) -> Result<Vec<u8>> {
        let mut cur: Cow<'_, [u8]> = Cow::Borrowed(data);
        for b in &self.codecs {
            cur = Cow::Owned(b.codec.encode(ArrayRef::bytes(&cur))?.bytes().to_vec());
        }
        Ok(cur.into_owned())
    }

    /// Decodes `encoded` with each codec in reverse order.
    pub fn decode(&self, encoded: &[u8]) -> Result<Vec<u8>> {
        Ok(decode_through(&self.codecs, encoded)?.into_owned())
    }
}

/// Builds one bytes-to-bytes codec; a name that is not one ndpack implements is
/// [`crate::ErrorKind::UnknownCodec`].
fn bytes_to_bytes(name: &str, config: Map<String, Value>, itemsize: usize) -> Result<BytesToBytes> {
    match bytes_bytes_config(name, &config, itemsize)? {
        Some(numcodecs) => {
            let codec = get_codec(&numcodecs)
                .map_err(|e| Error::new(e.kind(), format!("zarr codec {name}: {}", e.message())))?;
            Ok(BytesToBytes {
                name: name.to_string(),
                configuration: Value::Object(config),
                codec,
            })
        }
        None => Err(Error::new(
            crate::ErrorKind::UnknownCodec,
            format!("zarr codec not available in ndpack: {name:?}"),
        )),
    }
}

/// A codec-order error.
fn order_error(name: &str, stage: &str) -> Error {
    let what = match stage {
        "twice" => "a second array-to-bytes codec",
        "before" => "a bytes-to-bytes codec before the array-to-bytes codec",
        _ => "an array-to-array codec after the array-to-bytes codec",
    };
    Error::invalid_config(format!("zarr codecs: {name} is {what}"))
}

/// A decoded size that differs from the chunk's is corrupt data, not a caller error.
fn size_error(e: Error, want: usize) -> Error {
    if e.kind() == crate::ErrorKind::InvalidArgument {
        Error::corrupt(format!(
            "zarr chunk does not decode to the chunk's {want} bytes: {}",
            e.message()
        ))
    } else {
        e
    }
}

/// Whether items stored in `endian` order must be swapped to be `dtype` items.
fn needs_swap(dtype: &DataType, endian: Option<ByteOrder>) -> bool {
    let unit = dtype.swap_unit();
    match (endian, dtype.byte_order()) {
        (Some(e), ByteOrder::Little | ByteOrder::Big) => unit > 1 && e != dtype.byte_order(),
        _ => false,
    }
}

/// Swaps `data` in place when stored `endian` differs from `dtype`'s byte order.
fn swap_for(data: &mut [u8], dtype: &DataType, endian: Option<ByteOrder>) {
    if needs_swap(dtype, endian) {
        swap_units(data, dtype.swap_unit());
    }
}

/// Copies C-order items `src` into `out`, in `out`'s memory order.
fn store_c(src: &[u8], out: ArrayMut<'_>) -> Result<()> {
    if out.order == Order::C || out.shape.iter().filter(|&&d| d > 1).count() <= 1 {
        out.data.copy_from_slice(src);
        return Ok(());
    }
    let itemsize = out.dtype.itemsize();
    let full = Region::full(&out.shape)?;
    copy_region(
        src,
        Layout::c(&out.shape, itemsize),
        &full,
        out.data,
        Layout::new(&out.shape, itemsize, out.order),
        &full,
    )
}

#[cfg(test)]
mod tests;
