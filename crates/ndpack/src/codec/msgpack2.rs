//! The `msgpack2` codec: arrays of Python values as MessagePack, as numcodecs' `MsgPack()`.
//!
//! Format: the msgpack of the list `[*items, dtype_str, shape]`, where `items` is NumPy's
//! `array.tolist()` (nested lists for arrays of more than one dimension), packed as
//! msgpack-python's `packb` packs it: integers in their smallest form, floats as float 64 (float
//! 32 with `use_single_float`), strings as str (no str8 without `use_bin_type`), byte strings as
//! bin with `use_bin_type` or else as str. Decoding follows `unpackb(raw=...)`: str becomes text
//! (bytes with `raw`), bin becomes bytes. Extension types are `Unsupported`.
//!
//! Config (numcodecs' keys and defaults): `{"id": "msgpack2", "use_single_float": false,
//! "use_bin_type": true, "raw": false}`.
//!
//! Typed API: [`MsgPack2::encode_array`] / [`MsgPack2::decode_array`] with [`ObjectArray`] items.
//! The byte-level [`Codec`] methods handle bool, integer and float arrays of at least one
//! dimension (as numcodecs encodes a numeric NumPy array); decoding gives the bytes when the
//! stored dtype is one of those, `Unsupported` otherwise.
//!
//! ```
//! use ndpack::codec::msgpack2::MsgPack2;
//! use ndpack::codec::object::{ObjectArray, ObjectValue};
//! let a = ObjectArray::from_flat(vec![ObjectValue::Str("foo".into())], "|O", &[1]).unwrap();
//! let enc = MsgPack2::default().encode_array(&a).unwrap();
//! assert_eq!(enc, b"\x93\xa3foo\xa2|O\x91\x01");
//! assert_eq!(MsgPack2::default().decode_array(&enc).unwrap(), a);
//! ```

use rmp::encode as enc;
use rmp::Marker;
use serde_json::{json, Map, Value};

use super::object::{encode_numeric, split_trailer, ObjectArray, ObjectValue, MAX_DEPTH};
use super::{ArrayRef, Codec, ConfigReader, NDBuffer};
use crate::error::{Error, ErrorKind, Result};

/// The numcodecs `msgpack2` codec.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MsgPack2 {
    use_single_float: bool,
    use_bin_type: bool,
    raw: bool,
}

impl Default for MsgPack2 {
    fn default() -> Self {
        MsgPack2 {
            use_single_float: false,
            use_bin_type: true,
            raw: false,
        }
    }
}

fn write_err<E: std::fmt::Display>(e: E) -> Error {
    Error::invalid_argument(format!("msgpack2: {e}"))
}

impl MsgPack2 {
    /// A codec with msgpack-python's `packb`/`unpackb` options.
    pub fn new(use_single_float: bool, use_bin_type: bool, raw: bool) -> Self {
        MsgPack2 {
            use_single_float,
            use_bin_type,
            raw,
        }
    }

    /// Builds the codec from its numcodecs config.
    pub fn from_config(config: &Map<String, Value>) -> Result<Self> {
        let mut r = ConfigReader::new("msgpack2", config)?;
        let d = MsgPack2::default();
        let c = MsgPack2 {
            use_single_float: r.bool("use_single_float")?.unwrap_or(d.use_single_float),
            use_bin_type: r.bool("use_bin_type")?.unwrap_or(d.use_bin_type),
            raw: r.bool("raw")?.unwrap_or(d.raw),
        };
        r.finish()?;
        Ok(c)
    }

    /// Encodes an array: `[*items, dtype, shape]` as msgpack.
    pub fn encode_array(&self, array: &ObjectArray) -> Result<Vec<u8>> {
        let mut out = Vec::new();
        let n = array.items.len() + 2;
        enc::write_array_len(&mut out, len32(n)?).map_err(write_err)?;
        for item in &array.items {
            self.pack(&mut out, item, 0)?;
        }
        self.pack_str(&mut out, array.dtype.as_bytes())?;
        enc::write_array_len(&mut out, len32(array.shape.len())?).map_err(write_err)?;
        for &d in &array.shape {
            enc::write_uint(&mut out, d as u64).map_err(write_err)?;
        }
        Ok(out)
    }

    /// Packs any value as msgpack-python's `packb` would with this codec's settings.
    pub fn pack_value(&self, value: &ObjectValue) -> Result<Vec<u8>> {
        let mut out = Vec::new();
        self.pack(&mut out, value, 0)?;
        Ok(out)
    }

    fn pack_str(&self, out: &mut Vec<u8>, s: &[u8]) -> Result<()> {
        let len = len32(s.len())?;
        if self.use_bin_type || !(32..256).contains(&len) {
            enc::write_str_len(out, len).map_err(write_err)?;
        } else {
            // Without use_bin_type, msgpack-python writes no str8 (old spec): str16.
            out.push(0xda);
            out.extend_from_slice(&(len as u16).to_be_bytes());
        }
        out.extend_from_slice(s);
        Ok(())
    }

    fn pack(&self, out: &mut Vec<u8>, v: &ObjectValue, depth: usize) -> Result<()> {
        if depth > MAX_DEPTH {
            return Err(Error::invalid_argument("msgpack2: values nest too deeply"));
        }
        match v {
            ObjectValue::Null => enc::write_nil(out).map_err(write_err)?,
            ObjectValue::Bool(b) => enc::write_bool(out, *b).map_err(write_err)?,
            ObjectValue::Int(i) => {
                enc::write_sint(out, *i).map_err(write_err)?;
            }
            ObjectValue::UInt(u) => {
                enc::write_uint(out, *u).map_err(write_err)?;
            }
            ObjectValue::Float(f) if self.use_single_float => {
                let single = *f as f32;
                if single.is_infinite() && f.is_finite() {
                    // msgpack-python raises OverflowError here
                    return Err(Error::invalid_argument(format!(
                        "msgpack2: float {f} is too large to pack as float 32"
                    )));
                }
                enc::write_f32(out, single).map_err(write_err)?
            }
            ObjectValue::Float(f) => enc::write_f64(out, *f).map_err(write_err)?,
            ObjectValue::Str(s) => self.pack_str(out, s.as_bytes())?,
            ObjectValue::Bytes(b) if self.use_bin_type => {
                enc::write_bin(out, b).map_err(write_err)?
            }
            ObjectValue::Bytes(b) => self.pack_str(out, b)?,
            ObjectValue::List(items) => {
                enc::write_array_len(out, len32(items.len())?).map_err(write_err)?;
                for item in items {
                    self.pack(out, item, depth + 1)?;
                }
            }
            ObjectValue::Map(entries) => {
                enc::write_map_len(out, len32(entries.len())?).map_err(write_err)?;
                for (k, v) in entries {
                    self.pack(out, k, depth + 1)?;
                    self.pack(out, v, depth + 1)?;
                }
            }
        }
        Ok(())
    }

    /// Decodes to an [`ObjectArray`].
    pub fn decode_array(&self, data: &[u8]) -> Result<ObjectArray> {
        match self.unpack_value(data)? {
            ObjectValue::List(all) => split_trailer(all, data.len(), "msgpack2"),
            other => Err(Error::corrupt(format!(
                "msgpack2: expected a list, got {other:?}"
            ))),
        }
    }

    /// Unpacks one msgpack value that fills `data`, as msgpack-python's `unpackb` would.
    pub fn unpack_value(&self, data: &[u8]) -> Result<ObjectValue> {
        let mut r = Reader {
            s: data,
            pos: 0,
            raw: self.raw,
        };
        let v = r.value(0)?;
        if r.pos != data.len() {
            return Err(Error::corrupt(format!(
                "msgpack2: {} bytes of extra data after the value",
                data.len() - r.pos
            )));
        }
        Ok(v)
    }
}

fn len32(n: usize) -> Result<u32> {
    u32::try_from(n)
        .map_err(|_| Error::invalid_argument(format!("msgpack2: length {n} exceeds 2^32 - 1")))
}

struct Reader<'a> {
    s: &'a [u8],
    pos: usize,
    raw: bool,
}

impl<'a> Reader<'a> {
    fn take(&mut self, n: usize) -> Result<&'a [u8]> {
        if n > self.s.len() - self.pos {
            return Err(Error::truncated(format!(
                "msgpack2: needs {n} bytes at offset {}, {} remain",
                self.pos,
                self.s.len() - self.pos
            )));
        }
        let out = &self.s[self.pos..self.pos + n];
        self.pos += n;
        Ok(out)
    }

    fn be(&mut self, n: usize) -> Result<u64> {
        Ok(self
            .take(n)?
            .iter()
            .fold(0u64, |acc, &b| (acc << 8) | u64::from(b)))
    }

    /// A container length, checked against the remaining input (every element needs at least
    /// one byte) before anything is allocated.
    fn count(&mut self, n: usize, per_item: usize) -> Result<usize> {
        let len = self.be(n)? as usize;
        if len.saturating_mul(per_item) > self.s.len() - self.pos {
            return Err(Error::truncated(format!(
                "msgpack2: container declares {len} elements, {} bytes remain",
                self.s.len() - self.pos
            )));
        }
        Ok(len)
    }

    fn text(&mut self, len: usize) -> Result<ObjectValue> {
        let b = self.take(len)?;
        if self.raw {
            return Ok(ObjectValue::Bytes(b.to_vec()));
        }
        std::str::from_utf8(b)
            .map(|s| ObjectValue::Str(s.to_owned()))
            .map_err(|e| Error::corrupt(format!("msgpack2: str is not UTF-8: {e}")))
    }

    fn list(&mut self, len: usize, depth: usize) -> Result<ObjectValue> {
        let mut items = Vec::with_capacity(len);
        for _ in 0..len {
            items.push(self.value(depth + 1)?);
        }
        Ok(ObjectValue::List(items))
    }

    fn map(&mut self, len: usize, depth: usize) -> Result<ObjectValue> {
        let mut entries = Vec::with_capacity(len);
        for _ in 0..len {
            let k = self.value(depth + 1)?;
            let v = self.value(depth + 1)?;
            entries.push((k, v));
        }
        Ok(ObjectValue::Map(entries))
    }

    fn value(&mut self, depth: usize) -> Result<ObjectValue> {
        if depth > MAX_DEPTH {
            return Err(Error::corrupt("msgpack2: values nest too deeply"));
        }
        let b = self.take(1)?[0];
        Ok(match Marker::from_u8(b) {
            Marker::FixPos(v) => ObjectValue::Int(i64::from(v)),
            Marker::FixNeg(v) => ObjectValue::Int(i64::from(v)),
            Marker::Null => ObjectValue::Null,
            Marker::True => ObjectValue::Bool(true),
            Marker::False => ObjectValue::Bool(false),
            Marker::U8 => ObjectValue::Int(self.be(1)? as i64),
            Marker::U16 => ObjectValue::Int(self.be(2)? as i64),
            Marker::U32 => ObjectValue::Int(self.be(4)? as i64),
            Marker::U64 => ObjectValue::uint(self.be(8)?),
            Marker::I8 => ObjectValue::Int(i64::from(self.be(1)? as u8 as i8)),
            Marker::I16 => ObjectValue::Int(i64::from(self.be(2)? as u16 as i16)),
            Marker::I32 => ObjectValue::Int(i64::from(self.be(4)? as u32 as i32)),
            Marker::I64 => ObjectValue::Int(self.be(8)? as i64),
            Marker::F32 => ObjectValue::Float(f64::from(f32::from_bits(self.be(4)? as u32))),
            Marker::F64 => ObjectValue::Float(f64::from_bits(self.be(8)?)),
            Marker::FixStr(n) => self.text(usize::from(n))?,
            Marker::Str8 => {
                let n = self.be(1)? as usize;
                self.text(n)?
            }
            Marker::Str16 => {
                let n = self.be(2)? as usize;
                self.text(n)?
            }
            Marker::Str32 => {
                let n = self.be(4)? as usize;
                self.text(n)?
            }
            Marker::Bin8 | Marker::Bin16 | Marker::Bin32 => {
                let w = match b {
                    0xc4 => 1,
                    0xc5 => 2,
                    _ => 4,
                };
                let n = self.be(w)? as usize;
                ObjectValue::Bytes(self.take(n)?.to_vec())
            }
            Marker::FixArray(n) => self.list(usize::from(n), depth)?,
            Marker::Array16 => {
                let n = self.count(2, 1)?;
                self.list(n, depth)?
            }
            Marker::Array32 => {
                let n = self.count(4, 1)?;
                self.list(n, depth)?
            }
            Marker::FixMap(n) => self.map(usize::from(n), depth)?,
            Marker::Map16 => {
                let n = self.count(2, 2)?;
                self.map(n, depth)?
            }
            Marker::Map32 => {
                let n = self.count(4, 2)?;
                self.map(n, depth)?
            }
            Marker::FixExt1
            | Marker::FixExt2
            | Marker::FixExt4
            | Marker::FixExt8
            | Marker::FixExt16
            | Marker::Ext8
            | Marker::Ext16
            | Marker::Ext32 => {
                return Err(Error::new(
                    ErrorKind::Unsupported,
                    format!(
                        "msgpack2: extension types are not supported (offset {})",
                        self.pos - 1
                    ),
                ))
            }
            Marker::Reserved => {
                return Err(Error::corrupt(format!(
                    "msgpack2: reserved byte 0xc1 at offset {}",
                    self.pos - 1
                )))
            }
        })
    }
}

impl Codec for MsgPack2 {
    fn id(&self) -> &'static str {
        "msgpack2"
    }

    fn config(&self) -> Value {
        json!({
            "id": "msgpack2",
            "use_single_float": self.use_single_float,
            "use_bin_type": self.use_bin_type,
            "raw": self.raw,
        })
    }

    /// Encodes a bool, integer or float array (at least 1-d, as numcodecs requires).
    fn encode(&self, input: ArrayRef<'_>) -> Result<NDBuffer> {
        if input.shape.is_empty() {
            return Err(Error::invalid_argument(
                "msgpack2: 0-d arrays cannot be encoded (numcodecs cannot either)",
            ));
        }
        encode_numeric(&input, |array| self.encode_array(array))
    }

    /// Decodes to the bytes of the stored array when its dtype is bool, integer or float.
    fn decode(&self, input: ArrayRef<'_>) -> Result<NDBuffer> {
        self.decode_array(input.data)?.to_numeric()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::codec::object::test_util::s;
    use crate::codec::test_util::unhex as hex;
    use crate::region::Order;

    fn golden_items() -> ObjectArray {
        let items = vec![
            s("foo"),
            s(&"x".repeat(40)),
            ObjectValue::Bytes(b"\x00\xff".to_vec()),
            ObjectValue::Float(f64::NAN),
            ObjectValue::Null,
            ObjectValue::Int(200),
            ObjectValue::Int(-100),
            ObjectValue::Int(-(1 << 40)),
            ObjectValue::UInt(u64::MAX),
            ObjectValue::Float(0.1),
            ObjectValue::Map(vec![
                (s("b"), ObjectValue::Int(1)),
                (s("a"), ObjectValue::List(vec![ObjectValue::Bool(true)])),
            ]),
        ];
        ObjectArray::from_flat(items, "|O", &[11]).unwrap()
    }

    /// numcodecs.MsgPack().encode(np.array(['foo', 'x' * 40, b'\x00\xff', nan, None, 200, -100,
    /// -2**40, 2**64 - 1, 0.1, {'b': 1, 'a': [True]}], dtype=object)).hex()
    const GOLDEN_DEFAULT: &str = "9da3666f6fd92878787878787878787878787878787878787878787878787878787878787878787878787878787878c40200ffcb7ff8000000000000c0ccc8d09cd3ffffff0000000000cfffffffffffffffffcb3fb999999999999a82a16201a16191c3a27c4f910b";
    /// The same with MsgPack(use_single_float=True, use_bin_type=False).
    const GOLDEN_OLD: &str = "9da3666f6fda002878787878787878787878787878787878787878787878787878787878787878787878787878787878a200ffca7fc00000c0ccc8d09cd3ffffff0000000000cfffffffffffffffffca3dcccccd82a16201a16191c3a27c4f910b";

    #[test]
    fn golden_vectors_both_ways() {
        let a = golden_items();
        let c = MsgPack2::default();
        let enc = c.encode_array(&a).unwrap();
        assert_eq!(enc, hex(GOLDEN_DEFAULT));
        let back = c.decode_array(&enc).unwrap();
        assert_eq!(back.items[..3], a.items[..3]);
        assert!(matches!(back.items[3], ObjectValue::Float(f) if f.is_nan()));
        assert_eq!(back.items[4..], a.items[4..]);
        assert_eq!(back.shape, [11]);

        let old = MsgPack2::new(true, false, false);
        assert_eq!(old.encode_array(&a).unwrap(), hex(GOLDEN_OLD));
        // raw=True reads every str as bytes
        let raw = MsgPack2::new(false, true, true);
        let r = raw.decode_array(&enc).unwrap();
        assert_eq!(r.dtype, "|O");
        assert_eq!(r.items[0], ObjectValue::Bytes(b"foo".to_vec()));
        assert_eq!(
            raw.unpack_value(&hex("a3666f6f")).unwrap(),
            ObjectValue::Bytes(b"foo".to_vec())
        );
    }

    #[test]
    fn numeric_arrays_through_the_trait() {
        // numcodecs.MsgPack().encode(np.array([[0, 200], [-3, 4]], dtype='>i2')).hex()
        let data: Vec<u8> = [0i16, 200, -3, 4]
            .iter()
            .flat_map(|v| v.to_be_bytes())
            .collect();
        let input = ArrayRef::new(&data, ">i2".parse().unwrap(), vec![2, 2], Order::C).unwrap();
        let c = MsgPack2::default();
        let enc = c.encode(input).unwrap();
        assert_eq!(enc.bytes(), hex("949200ccc892fd04a33e6932920202"));
        let dec = c.decode(ArrayRef::bytes(enc.bytes())).unwrap();
        assert_eq!(dec.bytes(), &data[..]);
    }

    #[test]
    fn hostile_input() {
        let c = MsgPack2::default();
        for bad in [
            &b""[..],
            b"\xdd\xff\xff\xff\xff",
            b"\xdf\xff\xff\xff\xff\x01",
            b"\xdb\xff\xff\xff\xff",
            b"\xc6\xff\xff\xff\xff",
            b"\x93\x01",
            b"\xc1",
            b"\x92\xa2|O\x91\x05",
            b"\x91\x01\x01",
            b"\xa1\xff",
        ] {
            let e = c.decode_array(bad).unwrap_err();
            assert!(
                matches!(e.kind(), ErrorKind::Corrupt | ErrorKind::Truncated),
                "{bad:?}: {e}"
            );
        }
        let deep = vec![0x91u8; 100_000];
        assert!(c.decode_array(&deep).is_err());
        assert_eq!(
            c.unpack_value(b"\xd4\x01\x00").unwrap_err().kind(),
            ErrorKind::Unsupported
        );
    }
}
