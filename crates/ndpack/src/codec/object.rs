//! Shared pieces of the object codecs (`vlen-utf8`, `vlen-bytes`, `vlen-array`, `json2`,
//! `msgpack2`): numcodecs' variable-length framing, the [`ObjectValue`] item type of JSON and
//! msgpack, and [`ObjectArray`] (items plus the NumPy dtype string and shape that `json2` and
//! `msgpack2` store after them).
//!
//! The variable-length ("parquet-style") framing of numcodecs' `vlen.pyx`: a 4-byte little-endian
//! item count, then for each item a 4-byte little-endian byte length and the bytes.

use std::ops::Range;

use serde_json::Value;

use crate::buffer::Buffer;
use crate::dtype::scalar::ScalarValue;
use crate::dtype::{ByteOrder, DataType, TypeKind};
use crate::error::{Error, ErrorKind, Result};

/// The most nested lists/maps the JSON and msgpack decoders accept (deeper input is `Corrupt`).
pub const MAX_DEPTH: usize = 512;

/// Writes numcodecs' variable-length framing of `items`.
///
/// Fails with `InvalidArgument` if there are more than `u32::MAX` items or an item is longer
/// than `u32::MAX` bytes (numcodecs cannot store them either).
pub fn vlen_encode<I, T>(items: I) -> Result<Vec<u8>>
where
    I: IntoIterator<Item = T>,
    I::IntoIter: Clone,
    T: AsRef<[u8]>,
{
    let iter = items.into_iter();
    let mut total = 4usize;
    let mut count = 0usize;
    for item in iter.clone() {
        let len = item.as_ref().len();
        if u32::try_from(len).is_err() {
            return Err(Error::invalid_argument(format!(
                "item of {len} bytes is too long for the vlen format (at most 4 GiB - 1)"
            )));
        }
        total = total
            .checked_add(4 + len)
            .ok_or_else(|| Error::too_large("vlen output size overflows"))?;
        count += 1;
    }
    let count = u32::try_from(count).map_err(|_| {
        Error::invalid_argument(format!(
            "{count} items are too many for the vlen format (at most 2^32 - 1)"
        ))
    })?;
    let mut out = Vec::with_capacity(total);
    out.extend_from_slice(&count.to_le_bytes());
    for item in iter {
        let item = item.as_ref();
        out.extend_from_slice(&(item.len() as u32).to_le_bytes());
        out.extend_from_slice(item);
    }
    Ok(out)
}

/// Reads numcodecs' variable-length framing: the byte range of every item in `data`.
///
/// Untrusted input is safe: a count that cannot fit in the input (each item needs at least its
/// 4-byte length) is `Truncated` before anything is allocated, as is an item running past the end.
/// Bytes after the last item are ignored, as numcodecs ignores them.
pub fn vlen_spans(data: &[u8]) -> Result<Vec<Range<usize>>> {
    let count = vlen_count(data)?;
    let mut spans = Vec::with_capacity(count);
    let mut pos = 4usize;
    for i in 0..count {
        let Some(len_bytes) = data.get(pos..pos + 4) else {
            return Err(Error::truncated(format!(
                "vlen data ends in the length of item {i} of {count}"
            )));
        };
        let len =
            u32::from_le_bytes([len_bytes[0], len_bytes[1], len_bytes[2], len_bytes[3]]) as usize;
        pos += 4;
        if len > data.len() - pos {
            return Err(Error::truncated(format!(
                "vlen item {i} of {count} declares {len} bytes, {} remain",
                data.len() - pos
            )));
        }
        spans.push(pos..pos + len);
        pos += len;
    }
    Ok(spans)
}

/// The item count of vlen-framed `data`, checked against the input size (every item needs at
/// least 4 bytes).
pub fn vlen_count(data: &[u8]) -> Result<usize> {
    let Some(header) = data.get(..4) else {
        return Err(Error::truncated(format!(
            "vlen data of {} bytes has no 4-byte item count",
            data.len()
        )));
    };
    let count = u32::from_le_bytes([header[0], header[1], header[2], header[3]]) as usize;
    if count > (data.len() - 4) / 4 {
        return Err(Error::truncated(format!(
            "vlen data declares {count} items but has only {} bytes",
            data.len()
        )));
    }
    Ok(count)
}

/// One item of a `json2` or `msgpack2` array: the Python values those formats carry.
///
/// Maps keep their order (JSON objects are written sorted or in this order, as the codec's
/// `sort_keys` says); msgpack map keys may be any value.
#[derive(Debug, Clone, PartialEq)]
pub enum ObjectValue {
    /// `None` / `null` / msgpack nil.
    Null,
    /// A boolean.
    Bool(bool),
    /// A signed integer.
    Int(i64),
    /// An unsigned integer above `i64::MAX`.
    UInt(u64),
    /// A float (NaN and infinities included).
    Float(f64),
    /// A text string.
    Str(String),
    /// A byte string (msgpack bin, or raw str with `raw=True`); JSON cannot hold it.
    Bytes(Vec<u8>),
    /// A list (Python list or tuple).
    List(Vec<ObjectValue>),
    /// A map (Python dict), in its own order.
    Map(Vec<(ObjectValue, ObjectValue)>),
}

impl ObjectValue {
    /// An integer from a signed value.
    pub fn int(v: i64) -> Self {
        ObjectValue::Int(v)
    }

    /// An integer from an unsigned value (stored as `Int` when it fits).
    pub fn uint(v: u64) -> Self {
        match i64::try_from(v) {
            Ok(i) => ObjectValue::Int(i),
            Err(_) => ObjectValue::UInt(v),
        }
    }

    /// The string, if this is a `Str`.
    pub fn as_str(&self) -> Option<&str> {
        match self {
            ObjectValue::Str(s) => Some(s),
            _ => None,
        }
    }

    /// The value as a non-negative integer (for shapes), if it is one.
    pub fn as_usize(&self) -> Option<usize> {
        match self {
            ObjectValue::Int(i) => usize::try_from(*i).ok(),
            ObjectValue::UInt(u) => usize::try_from(*u).ok(),
            _ => None,
        }
    }
}

impl From<Value> for ObjectValue {
    fn from(v: Value) -> Self {
        match v {
            Value::Null => ObjectValue::Null,
            Value::Bool(b) => ObjectValue::Bool(b),
            Value::Number(n) => match ScalarValue::from(&n) {
                ScalarValue::Int(i) => ObjectValue::Int(i),
                ScalarValue::UInt(u) => ObjectValue::UInt(u),
                ScalarValue::Float(f) => ObjectValue::Float(f),
            },
            Value::String(s) => ObjectValue::Str(s),
            Value::Array(a) => ObjectValue::List(a.into_iter().map(Into::into).collect()),
            Value::Object(m) => ObjectValue::Map(
                m.into_iter()
                    .map(|(k, v)| (ObjectValue::Str(k), v.into()))
                    .collect(),
            ),
        }
    }
}

impl TryFrom<ObjectValue> for Value {
    type Error = Error;

    /// Fails for NaN/infinite floats, byte strings and non-string map keys, which
    /// `serde_json::Value` cannot hold.
    fn try_from(v: ObjectValue) -> Result<Value> {
        Ok(match v {
            ObjectValue::Null => Value::Null,
            ObjectValue::Bool(b) => Value::Bool(b),
            ObjectValue::Int(i) => Value::from(i),
            ObjectValue::UInt(u) => Value::from(u),
            ObjectValue::Float(f) => serde_json::Number::from_f64(f)
                .map(Value::Number)
                .ok_or_else(|| {
                    Error::invalid_argument(format!("{f} has no serde_json representation"))
                })?,
            ObjectValue::Str(s) => Value::String(s),
            ObjectValue::Bytes(_) => {
                return Err(Error::invalid_argument(
                    "byte strings have no serde_json representation",
                ))
            }
            ObjectValue::List(a) => {
                Value::Array(a.into_iter().map(Value::try_from).collect::<Result<_>>()?)
            }
            ObjectValue::Map(m) => {
                let mut map = serde_json::Map::new();
                for (k, v) in m {
                    let ObjectValue::Str(k) = k else {
                        return Err(Error::invalid_argument(
                            "non-string map keys have no serde_json representation",
                        ));
                    };
                    map.insert(k, Value::try_from(v)?);
                }
                Value::Object(map)
            }
        })
    }
}

/// A decoded `json2` or `msgpack2` array: the items as NumPy's `tolist()` gives them (nested
/// lists for arrays of more than one dimension), the dtype string (`"|O"`, `"<i4"`, ...) and the
/// shape.
#[derive(Debug, Clone, PartialEq)]
pub struct ObjectArray {
    /// The top-level items: `shape[0]` of them, each nested `shape.len() - 1` deep; for a 0-d
    /// array (json2 only) the single item.
    pub items: Vec<ObjectValue>,
    /// The NumPy dtype string as stored, e.g. `"|O"` or `"<f8"`.
    pub dtype: String,
    /// The shape.
    pub shape: Vec<usize>,
}

impl ObjectArray {
    /// An array from flat items in C order, nesting them as `tolist()` would for `shape`.
    pub fn from_flat(items: Vec<ObjectValue>, dtype: &str, shape: &[usize]) -> Result<Self> {
        let n = crate::region::checked_num_items(shape)?;
        if n != items.len() {
            return Err(Error::invalid_argument(format!(
                "{} items do not fill shape {shape:?}",
                items.len()
            )));
        }
        let items = if shape.len() <= 1 {
            items
        } else {
            nest(items, shape)
        };
        Ok(ObjectArray {
            items,
            dtype: dtype.to_string(),
            shape: shape.to_vec(),
        })
    }

    /// The items flattened in C order, checking that the nesting matches the shape (`Corrupt`
    /// otherwise).
    pub fn into_flat(self) -> Result<Vec<ObjectValue>> {
        if self.shape.is_empty() {
            if self.items.len() != 1 {
                return Err(Error::corrupt(format!(
                    "0-d array with {} items",
                    self.items.len()
                )));
            }
            return Ok(self.items);
        }
        let n = crate::region::checked_num_items(&self.shape)
            .map_err(|e| Error::new(ErrorKind::Corrupt, e.message().to_string()))?;
        let mut out = Vec::with_capacity(n.min(self.items.len().saturating_mul(64)));
        flatten_into(self.items, &self.shape, &mut out)?;
        Ok(out)
    }
}

impl ObjectArray {
    /// The items of a numeric array (bool, int, uint, float of any byte order; F order is read
    /// in C order as NumPy's `tolist()` does), as numcodecs' `json2`/`msgpack2` see them.
    pub fn from_numeric(input: &super::ArrayRef<'_>) -> Result<Self> {
        let dtype = &input.dtype;
        let size = dtype.itemsize();
        let kind = numeric_kind(dtype, || {
            format!("only bool, integer and float arrays have a byte form here, not {dtype}")
        })?;
        let n = crate::region::checked_num_items(&input.shape)?;
        if n.checked_mul(size) != Some(input.data.len()) {
            return Err(Error::invalid_argument(format!(
                "{} bytes do not hold shape {:?} of {dtype}",
                input.data.len(),
                input.shape
            )));
        }
        let big = dtype.byte_order() == ByteOrder::Big;
        let mut flat = Vec::with_capacity(n);
        let strides = crate::region::strides(&input.shape, size, input.order);
        let mut index = vec![0usize; input.shape.len()];
        for _ in 0..n {
            let off: usize = index.iter().zip(&strides).map(|(i, s)| i * s).sum();
            flat.push(scalar_value(&input.data[off..off + size], kind, big));
            for d in (0..index.len()).rev() {
                index[d] += 1;
                if index[d] < input.shape[d] {
                    break;
                }
                index[d] = 0;
            }
        }
        let shape = input.shape.clone();
        Self::from_flat(flat, &dtype.to_numpy_str(), &shape)
    }

    /// The bytes of a decoded array whose dtype is bool, int, uint or float (C order), values
    /// cast as NumPy's assignment casts them; other dtypes are `Unsupported`.
    pub fn to_numeric(self) -> Result<super::NDBuffer> {
        let dtype: DataType = self
            .dtype
            .parse()
            .map_err(|e: Error| Error::new(ErrorKind::Unsupported, e.message().to_string()))?;
        let kind = numeric_kind(&dtype, || {
            format!("items of dtype {dtype} have no fixed-width byte form here")
        })?;
        let shape = self.shape.clone();
        let flat = self.into_flat()?;
        let size = dtype.itemsize();
        let big = dtype.byte_order() == ByteOrder::Big;
        let mut out = Vec::with_capacity(flat.len() * size);
        for v in &flat {
            write_scalar(&mut out, v, kind, size, big)?;
        }
        super::NDBuffer::new(Buffer::from_vec(out), dtype, shape, crate::region::Order::C)
    }
}

/// The kind of `dtype` when it is bool, integer or float; else an [`ErrorKind::Unsupported`]
/// error saying `msg()`.
fn numeric_kind(dtype: &DataType, msg: impl FnOnce() -> String) -> Result<TypeKind> {
    let kind = dtype.kind();
    if matches!(
        kind,
        TypeKind::Bool | TypeKind::Int | TypeKind::UInt | TypeKind::Float
    ) {
        Ok(kind)
    } else {
        Err(Error::new(ErrorKind::Unsupported, msg()))
    }
}

fn scalar_value(b: &[u8], kind: TypeKind, big: bool) -> ObjectValue {
    let mut buf = [0u8; 8];
    let n = b.len();
    if big {
        for (i, x) in b.iter().rev().enumerate() {
            buf[i] = *x;
        }
    } else {
        buf[..n].copy_from_slice(b);
    }
    let raw = u64::from_le_bytes(buf);
    match kind {
        TypeKind::Bool => ObjectValue::Bool(raw != 0),
        TypeKind::UInt => ObjectValue::uint(raw),
        TypeKind::Int => {
            let shift = 64 - 8 * n as u32;
            ObjectValue::Int(((raw << shift) as i64) >> shift)
        }
        _ => ObjectValue::Float(match n {
            2 => half::f16::from_bits(raw as u16).to_f64(),
            4 => f32::from_bits(raw as u32) as f64,
            _ => f64::from_bits(raw),
        }),
    }
}

fn write_scalar(
    out: &mut Vec<u8>,
    v: &ObjectValue,
    kind: TypeKind,
    size: usize,
    big: bool,
) -> Result<()> {
    let (i, f): (i128, f64) = match v {
        ObjectValue::Bool(b) => (*b as i128, *b as u8 as f64),
        ObjectValue::Int(i) => (*i as i128, *i as f64),
        ObjectValue::UInt(u) => (*u as i128, *u as f64),
        ObjectValue::Float(f) => (*f as i128, *f),
        other => {
            return Err(Error::corrupt(format!(
                "item {other:?} cannot be stored in a numeric array"
            )))
        }
    };
    if matches!(v, ObjectValue::Int(_) | ObjectValue::UInt(_))
        && matches!(kind, TypeKind::Int | TypeKind::UInt)
    {
        let bits = 8 * size as u32;
        let (lo, hi) = if kind == TypeKind::Int {
            (-(1i128 << (bits - 1)), (1i128 << (bits - 1)) - 1)
        } else {
            (0, (1i128 << bits) - 1)
        };
        if i < lo || i > hi {
            return Err(Error::corrupt(format!(
                "integer {i} is out of bounds for {} of {size} bytes",
                if kind == TypeKind::Int { "int" } else { "uint" }
            )));
        }
    }
    let raw: u64 = match kind {
        TypeKind::Bool => u64::from(f != 0.0),
        TypeKind::Int | TypeKind::UInt => i as u64,
        _ => match size {
            2 => u64::from(half::f16::from_f64(f).to_bits()),
            4 => u64::from((f as f32).to_bits()),
            _ => f.to_bits(),
        },
    };
    let le = raw.to_le_bytes();
    if big {
        out.extend(le[..size].iter().rev());
    } else {
        out.extend_from_slice(&le[..size]);
    }
    Ok(())
}

fn nest(items: Vec<ObjectValue>, shape: &[usize]) -> Vec<ObjectValue> {
    if shape.len() <= 1 {
        return items;
    }
    let inner: usize = shape[1..].iter().product();
    let mut out = Vec::with_capacity(shape[0]);
    let mut it = items.into_iter();
    for _ in 0..shape[0] {
        let chunk: Vec<ObjectValue> = it.by_ref().take(inner).collect();
        out.push(ObjectValue::List(nest(chunk, &shape[1..])));
    }
    out
}

fn flatten_into(
    items: Vec<ObjectValue>,
    shape: &[usize],
    out: &mut Vec<ObjectValue>,
) -> Result<()> {
    if items.len() != shape[0] {
        return Err(Error::corrupt(format!(
            "{} items where the shape says {}",
            items.len(),
            shape[0]
        )));
    }
    if shape.len() == 1 {
        out.extend(items);
        return Ok(());
    }
    for item in items {
        match item {
            ObjectValue::List(inner) => flatten_into(inner, &shape[1..], out)?,
            _ => {
                return Err(Error::corrupt(
                    "item is not a list where the shape says it nests",
                ))
            }
        }
    }
    Ok(())
}

/// How many bytes an array of a fixed-width dtype decoded from `json2`/`msgpack2` data may take
/// per byte of that data: its declared items times the dtype's size must stay within
/// [`declared_size_limit`].
pub const MAX_BYTES_PER_INPUT_BYTE: usize = 256;

/// Arrays of a fixed-width dtype of up to this many bytes (64 MiB) are accepted from any
/// `json2`/`msgpack2` data, however short.
pub const MIN_DECLARED_SIZE_LIMIT: usize = 64 << 20;

/// The most bytes an array of a fixed-width dtype decoded from `input_len` bytes of `json2` or
/// `msgpack2` data may take: [`MAX_BYTES_PER_INPUT_BYTE`] per input byte, at least
/// [`MIN_DECLARED_SIZE_LIMIT`], at most [`MAX_DECODED_SIZE`](super::MAX_DECODED_SIZE).
/// A stream that declares more (`[0, "S2000000000", [1]]`: 2 GB from 21 bytes) is refused with
/// [`ErrorKind::TooLarge`] before anything is allocated.
pub fn declared_size_limit(input_len: usize) -> usize {
    input_len
        .saturating_mul(MAX_BYTES_PER_INPUT_BYTE)
        .clamp(MIN_DECLARED_SIZE_LIMIT, super::MAX_DECODED_SIZE)
}

/// Refuses `n` items of `dtype` (a NumPy dtype string) when they take more bytes than
/// [`declared_size_limit`] allows for `input_len` bytes of input. Object and other dtypes that
/// do not parse have no fixed size here and pass.
fn check_declared_size(dtype: &str, n: usize, input_len: usize, id: &str) -> Result<()> {
    let Ok(dt) = dtype.parse::<DataType>() else {
        return Ok(());
    };
    let limit = declared_size_limit(input_len);
    match n.checked_mul(dt.itemsize()) {
        Some(total) if total <= limit => Ok(()),
        _ => Err(Error::too_large(format!(
            "{id}: {n} items of {dtype} take more than the {limit} bytes that {input_len} bytes \
             of input allow"
        ))),
    }
}

/// Splits the items list of a `json2`/`msgpack2` stream (`[items..., dtype, shape]`) into an
/// [`ObjectArray`], checking its shape.
pub(crate) fn split_trailer(
    mut all: Vec<ObjectValue>,
    input_len: usize,
    id: &str,
) -> Result<ObjectArray> {
    if all.len() < 2 {
        return Err(Error::corrupt(format!(
            "{id}: stream holds {} values, needs at least the dtype and shape",
            all.len()
        )));
    }
    let shape = all.pop().unwrap_or(ObjectValue::Null);
    let dtype = all.pop().unwrap_or(ObjectValue::Null);
    let dtype = match dtype {
        ObjectValue::Str(s) => s,
        // msgpack with raw=True reads the dtype string as bytes
        ObjectValue::Bytes(b) => String::from_utf8(b)
            .map_err(|_| Error::corrupt(format!("{id}: dtype is not a string")))?,
        other => {
            return Err(Error::corrupt(format!(
                "{id}: dtype is not a string: {other:?}"
            )))
        }
    };
    let ObjectValue::List(dims) = shape else {
        return Err(Error::corrupt(format!(
            "{id}: shape is not a list: {shape:?}"
        )));
    };
    let shape = dims
        .iter()
        .map(|d| {
            d.as_usize()
                .ok_or_else(|| Error::corrupt(format!("{id}: bad dimension {d:?} in shape")))
        })
        .collect::<Result<Vec<_>>>()?;
    let n = crate::region::checked_num_items(&shape)
        .map_err(|e| Error::corrupt(format!("{id}: {}", e.message())))?;
    // Every item takes at least one byte of input: a larger shape is a lie, and would make a
    // caller allocate far more than the input justifies.
    if n > input_len {
        return Err(Error::corrupt(format!(
            "{id}: shape {shape:?} holds more items than {input_len} bytes of input can"
        )));
    }
    check_declared_size(&dtype, n, input_len, id)?;
    let want = if shape.is_empty() { 1 } else { shape[0] };
    if all.len() != want {
        return Err(Error::corrupt(format!(
            "{id}: {} items for shape {shape:?}",
            all.len()
        )));
    }
    Ok(ObjectArray {
        items: all,
        dtype,
        shape,
    })
}

/// The byte-level `Codec::encode` of the codecs that store an [`ObjectArray`] with its dtype
/// and shape (json2, msgpack2): `encode_array` of the items of a bool, integer or float array,
/// as numcodecs encodes the NumPy array.
pub(crate) fn encode_numeric(
    input: &super::ArrayRef<'_>,
    encode_array: impl FnOnce(&ObjectArray) -> Result<Vec<u8>>,
) -> Result<super::NDBuffer> {
    let array = ObjectArray::from_numeric(input)?;
    Ok(super::NDBuffer::from_bytes(encode_array(&array)?))
}

/// The `Unsupported` error of the object codecs' byte-level `Codec` methods.
pub(crate) fn unsupported(id: &str, what: &str, api: &str) -> Error {
    Error::new(
        ErrorKind::Unsupported,
        format!("{id}: {what}; use the typed API ({api})"),
    )
}

/// The byte-level `encode` and `decode` of an object codec, inside its `impl Codec` block:
/// both [`unsupported`], naming what the codec encodes and decodes and the typed API that does
/// it.
macro_rules! object_only_methods {
    ($id:literal, encode: $enc_what:literal, $enc_api:literal, decode: $dec_what:literal, $dec_api:literal) => {
        /// Unsupported: object arrays have no fixed-width byte form.
        fn encode(
            &self,
            _input: $crate::codec::ArrayRef<'_>,
        ) -> $crate::error::Result<$crate::codec::NDBuffer> {
            Err($crate::codec::object::unsupported($id, $enc_what, $enc_api))
        }

        /// Unsupported: object arrays have no fixed-width byte form.
        fn decode(
            &self,
            _input: $crate::codec::ArrayRef<'_>,
        ) -> $crate::error::Result<$crate::codec::NDBuffer> {
            Err($crate::codec::object::unsupported($id, $dec_what, $dec_api))
        }
    };
}
pub(crate) use object_only_methods;

#[cfg(test)]
pub(crate) mod test_util {
    //! Helpers shared by the tests of the object codecs.

    use super::ObjectValue;

    /// A string value.
    pub(crate) fn s(x: &str) -> ObjectValue {
        ObjectValue::Str(x.into())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn vlen_round_trip_and_layout() {
        let enc = vlen_encode([&b"ab"[..], b"", b"xyz"]).unwrap();
        assert_eq!(
            enc,
            [3, 0, 0, 0, 2, 0, 0, 0, b'a', b'b', 0, 0, 0, 0, 3, 0, 0, 0, b'x', b'y', b'z']
        );
        let spans = vlen_spans(&enc).unwrap();
        let items: Vec<&[u8]> = spans.into_iter().map(|r| &enc[r]).collect();
        assert_eq!(items, [&b"ab"[..], b"", b"xyz"]);
    }

    #[test]
    fn vlen_hostile_counts_are_truncated() {
        let e = vlen_spans(&[0xff, 0xff, 0xff, 0xff]).unwrap_err();
        assert_eq!(e.kind(), ErrorKind::Truncated);
        let e = vlen_spans(&[1, 0, 0, 0, 0xff, 0xff, 0xff, 0xff]).unwrap_err();
        assert_eq!(e.kind(), ErrorKind::Truncated);
        assert_eq!(
            vlen_spans(&[1, 0]).unwrap_err().kind(),
            ErrorKind::Truncated
        );
        // trailing bytes are ignored, as numcodecs does
        assert!(vlen_spans(&[0, 0, 0, 0, 9, 9]).unwrap().is_empty());
    }

    #[test]
    fn nesting_round_trips() {
        let flat: Vec<ObjectValue> = (0..6).map(ObjectValue::Int).collect();
        let a = ObjectArray::from_flat(flat.clone(), "|O", &[2, 3]).unwrap();
        assert_eq!(a.items.len(), 2);
        assert_eq!(
            a.items[1],
            ObjectValue::List(vec![
                ObjectValue::Int(3),
                ObjectValue::Int(4),
                ObjectValue::Int(5)
            ])
        );
        assert_eq!(a.into_flat().unwrap(), flat);
        let bad = ObjectArray {
            items: vec![ObjectValue::Int(1), ObjectValue::Int(2)],
            dtype: "|O".into(),
            shape: vec![2, 1],
        };
        assert_eq!(bad.into_flat().unwrap_err().kind(), ErrorKind::Corrupt);
    }

    #[test]
    fn serde_json_conversions() {
        let v = serde_json::json!({"a": [1, 2.5, null, true, "x"], "b": u64::MAX});
        let o = ObjectValue::from(v.clone());
        assert_eq!(Value::try_from(o).unwrap(), v);
        assert!(Value::try_from(ObjectValue::Float(f64::NAN)).is_err());
    }

    #[test]
    fn fixed_width_items_must_be_justified_by_the_input() {
        use crate::codec::json2::Json2;
        use crate::codec::msgpack2::MsgPack2;
        assert_eq!(declared_size_limit(0), MIN_DECLARED_SIZE_LIMIT);
        assert_eq!(declared_size_limit(1 << 20), 256 << 20);
        assert_eq!(
            declared_size_limit(usize::MAX),
            super::super::MAX_DECODED_SIZE
        );
        // 2 GB of one item from 21 bytes.
        let json = Json2::default();
        let e = json.decode_array(b"[0,\"S2000000000\",[1]]").unwrap_err();
        assert_eq!(e.kind(), ErrorKind::TooLarge, "{e}");
        let e = json.decode_array(b"[0,0,\"<U600000000\",[2]]").unwrap_err();
        assert_eq!(e.kind(), ErrorKind::TooLarge, "{e}");
        let mp = MsgPack2::default();
        let e = mp
            .decode_array(b"\x93\x00\xd9\x0bS2000000000\x91\x01")
            .unwrap_err();
        assert_eq!(e.kind(), ErrorKind::TooLarge, "{e}");
        // Up to the limit, and object items (no fixed size here), are fine.
        let a = json.decode_array(b"[0,\"S67108864\",[1]]").unwrap();
        assert_eq!(a.dtype, "S67108864");
        assert!(json.decode_array(b"[0,\"S67108865\",[1]]").is_err());
        assert!(json.decode_array(b"[\"x\",\"|O\",[1]]").is_ok());
        let a = mp.decode_array(b"\x93\x00\xa3<f8\x91\x01").unwrap();
        assert_eq!(a.to_numeric().unwrap().bytes(), &0f64.to_le_bytes());
    }
}
