//! The `categorize` codec: stores strings as the (1-based) index of their label, 0 for strings
//! that are not labels, as numcodecs' `Categorize(labels, dtype, astype="|u1")`.
//!
//! Config: `{"id": "categorize", "labels": ["female", "male"], "dtype": "<U6", "astype": "|u1"}`.
//! `dtype` is a fixed-width unicode type (`<U6`, `>U3`) or `|O` (object). Items are compared by
//! value, as NumPy does (trailing NULs do not count; a label longer than the items never
//! matches); when a label appears twice the last index wins.
//!
//! From Rust the input is a `U<n>` array (for a `U` `dtype`: exactly `dtype`, or its plain
//! bytes); for an `|O` `dtype` any `U<n>` array, or an `S<n>` array whose items are compared as
//! UTF-8 with the labels. [`Categorize::encode_strs`] encodes a slice of `&str` directly.
//! Decoding gives `dtype` items (labels cut to the item width, as NumPy's assignment does); for
//! an `|O` `dtype` it gives `<U<n>` items, `n` the longest label (at least 1), and
//! [`Categorize::decode_strings`] gives `String`s.

use std::collections::HashMap;

use serde_json::{json, Map, Value};

use super::filter::{self, with_num};
use super::{ArrayMut, ArrayRef, Codec, ConfigReader, NDBuffer};
use crate::dtype::scalar::{get, put, NumericType, Scalar, ScalarValue};
use crate::dtype::{ByteOrder, DataType, TypeKind};
use crate::error::{Error, ErrorKind, Result};

const ID: &str = "categorize";

/// The numcodecs `categorize` codec.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Categorize {
    labels: Vec<String>,
    dtype: DataType,
    astype: DataType,
    a: NumericType,
}

/// How items are stored: UCS-4 in a byte order, or bytes (UTF-8).
#[derive(Clone, Copy)]
enum Text {
    Ucs4 { big: bool },
    Bytes,
}

/// `label` as an item of `width` bytes in `text`, or `None` if it does not fit (after dropping
/// trailing NULs, which NumPy ignores). With `cut`, a long label is cut to fit instead.
fn item_bytes(label: &str, text: Text, width: usize, cut: bool) -> Option<Vec<u8>> {
    let mut out: Vec<u8> = match text {
        Text::Ucs4 { big } => label
            .chars()
            .flat_map(|c| {
                let u = c as u32;
                if big {
                    u.to_be_bytes()
                } else {
                    u.to_le_bytes()
                }
            })
            .collect(),
        Text::Bytes => label.as_bytes().to_vec(),
    };
    let unit = match text {
        Text::Ucs4 { .. } => 4,
        Text::Bytes => 1,
    };
    while out.len() >= unit && out[out.len() - unit..].iter().all(|&b| b == 0) {
        out.truncate(out.len() - unit);
    }
    if out.len() > width {
        if !cut {
            return None;
        }
        out.truncate(width);
    }
    out.resize(width, 0);
    Some(out)
}

impl Categorize {
    /// A codec for `labels` on `dtype` items (`U<n>` or `|O`), stored as `astype` integers
    /// (numcodecs' default `|u1`).
    pub fn new(labels: Vec<String>, dtype: DataType, astype: DataType) -> Result<Self> {
        let ok = match dtype.kind() {
            TypeKind::Unicode => dtype.itemsize() > 0,
            TypeKind::Object => true,
            _ => false,
        };
        if !ok {
            return Err(Error::invalid_config(format!(
                "codec {ID}: key \"dtype\" must be a unicode ('U<n>') or object ('|O') type, got {dtype}"
            )));
        }
        let a = NumericType::require(&astype, ID, "astype")?;
        Ok(Categorize {
            labels,
            dtype,
            astype,
            a,
        })
    }

    /// Builds the codec from its numcodecs config.
    pub fn from_config(config: &Map<String, Value>) -> Result<Self> {
        let mut r = ConfigReader::new(ID, config)?;
        let labels = match r.value("labels") {
            None => return Err(filter::missing(ID, "labels")),
            Some(Value::Array(items)) => items
                .iter()
                .map(|v| v.as_str().map(str::to_string))
                .collect::<Option<Vec<_>>>()
                .ok_or_else(|| r.out_of_range("labels", "a list of strings"))?,
            Some(_) => return Err(r.out_of_range("labels", "a list of strings")),
        };
        let dtype = r.dtype("dtype")?;
        let astype = r.dtype("astype")?;
        r.finish()?;
        let dtype = dtype.ok_or_else(|| filter::missing(ID, "dtype"))?;
        let astype = astype.unwrap_or_else(DataType::u8);
        Self::new(labels, dtype, astype).map_err(|e| Error::invalid_config(e.message()))
    }

    /// The labels.
    pub fn labels(&self) -> &[String] {
        &self.labels
    }

    /// The dtype of decoded items: `dtype`, or `<U<n>` for `|O` (`n` the longest label, ≥ 1).
    pub fn decoded_dtype(&self) -> DataType {
        if self.dtype.kind() == TypeKind::Unicode {
            return self.dtype.clone();
        }
        let n = self
            .labels
            .iter()
            .map(|l| l.chars().count())
            .max()
            .unwrap_or(0);
        DataType::new(TypeKind::Unicode, 4 * n.max(1), ByteOrder::Little).expect("valid")
    }

    /// Checks that every label index fits `astype` (NumPy raises `OverflowError` otherwise).
    fn check_astype(&self) -> Result<()> {
        let n = self.labels.len() as i64;
        let fits =
            with_num!(self.a.num, A => A::from_value(ScalarValue::Int(n)).to_val_i() == Some(n));
        if !fits {
            return Err(Error::invalid_argument(format!(
                "codec {ID}: {n} labels do not fit astype {}",
                self.astype
            )));
        }
        Ok(())
    }

    fn encode_items(&self, data: &[u8], width: usize, text: Text) -> Result<NDBuffer> {
        self.check_astype()?;
        let mut map: HashMap<Vec<u8>, i64> = HashMap::new();
        for (i, label) in self.labels.iter().enumerate() {
            if let Some(key) = item_bytes(label, text, width, false) {
                map.insert(key, i as i64 + 1);
            }
        }
        let n = data.len().checked_div(width).unwrap_or(0);
        let codes = data
            .chunks_exact(width.max(1))
            .map(|item| map.get(item).copied().unwrap_or(0));
        self.codes_array(n, codes)
    }

    /// Encodes string items given as `&str`.
    pub fn encode_strs(&self, items: &[&str]) -> Result<NDBuffer> {
        self.check_astype()?;
        let mut map: HashMap<&str, i64> = HashMap::new();
        for (i, label) in self.labels.iter().enumerate() {
            map.insert(label.trim_end_matches('\0'), i as i64 + 1);
        }
        let codes = items
            .iter()
            .map(|item| map.get(item.trim_end_matches('\0')).copied().unwrap_or(0));
        self.codes_array(items.len(), codes)
    }

    /// The 1-d `astype` array of the `n` label codes `codes` (1-based, 0 for no label).
    fn codes_array(&self, n: usize, codes: impl Iterator<Item = i64>) -> Result<NDBuffer> {
        let a = self.a;
        let mut block = filter::alloc(n * self.astype.itemsize());
        with_num!(a.num, A => {
            let out = block.as_mut_slice().chunks_exact_mut(A::SIZE);
            for (code, o) in codes.zip(out) {
                put(A::from_value(ScalarValue::Int(code)), o, a.swapped);
            }
        });
        filter::output(block, self.astype.clone(), vec![n], Default::default())
    }

    /// The label index (0-based) of each encoded item, `None` for 0 or any other value.
    fn indices(&self, input: &[u8]) -> Result<Vec<Option<usize>>> {
        let n = filter::items_in(ID, input.len(), &self.astype, true)?;
        let len = self.labels.len();
        let a = self.a;
        let mut out = Vec::with_capacity(n);
        with_num!(a.num, A => {
            for c in input.chunks_exact(A::SIZE) {
                let v: A = get(c, a.swapped);
                let k = label_index(v.to_value(), len);
                out.push(k);
            }
        });
        Ok(out)
    }

    fn decode_bytes(&self, input: &[u8], out: &mut [u8]) -> Result<()> {
        let dt = self.decoded_dtype();
        let width = dt.itemsize();
        let text = Text::Ucs4 {
            big: dt.byte_order() == ByteOrder::Big,
        };
        let labels: Vec<Vec<u8>> = self
            .labels
            .iter()
            .map(|l| item_bytes(l, text, width, true).expect("cut to fit"))
            .collect();
        let n = filter::items_in(ID, input.len(), &self.astype, true)?;
        super::check_out_len(out.len(), n * width)?;
        let a = self.a;
        let len = labels.len();
        with_num!(a.num, A => {
            for (c, o) in input.chunks_exact(A::SIZE).zip(out.chunks_exact_mut(width)) {
                let v: A = get(c, a.swapped);
                let k = label_index(v.to_value(), len);
                match k {
                    Some(k) => o.copy_from_slice(&labels[k]),
                    None => o.fill(0),
                }
            }
        });
        Ok(())
    }

    /// Decodes to `String`s: the label of each item, or `""`.
    pub fn decode_strings(&self, input: ArrayRef<'_>) -> Result<Vec<String>> {
        Ok(self
            .indices(input.data)?
            .into_iter()
            .map(|k| k.map(|k| self.labels[k].clone()).unwrap_or_default())
            .collect())
    }
}

/// An exact integer value, for range checks.
trait ToValI {
    fn to_val_i(self) -> Option<i64>;
}

impl<T: Scalar> ToValI for T {
    fn to_val_i(self) -> Option<i64> {
        match self.to_value() {
            ScalarValue::Int(i) => Some(i),
            ScalarValue::UInt(u) => i64::try_from(u).ok(),
            ScalarValue::Float(f) if f.fract() == 0.0 && f.abs() < 9e15 => Some(f as i64),
            ScalarValue::Float(_) => None,
        }
    }
}

/// The label (0-based) that an encoded value `v` stands for among `len` labels: `v` is its
/// 1-based index; 0 and any other value stand for none.
#[inline(always)]
fn label_index(v: ScalarValue, len: usize) -> Option<usize> {
    match v {
        ScalarValue::Int(i) if i >= 1 && (i as u64) <= len as u64 => Some(i as usize - 1),
        ScalarValue::UInt(u) if u >= 1 && u <= len as u64 => Some(u as usize - 1),
        ScalarValue::Float(f) if f >= 1.0 && f <= len as f64 && f.fract() == 0.0 => {
            Some(f as usize - 1)
        }
        _ => None,
    }
}

impl Codec for Categorize {
    fn id(&self) -> &'static str {
        ID
    }

    fn config(&self) -> Value {
        json!({
            "id": ID,
            "labels": self.labels,
            "dtype": self.dtype.to_string(),
            "astype": self.astype.to_string(),
        })
    }

    fn encode(&self, input: ArrayRef<'_>) -> Result<NDBuffer> {
        if self.dtype.kind() == TypeKind::Unicode {
            filter::check_input(ID, &input, &self.dtype, "dtype")?;
            let big = self.dtype.byte_order() == ByteOrder::Big;
            return self.encode_items(input.data, self.dtype.itemsize(), Text::Ucs4 { big });
        }
        let dt = &input.dtype;
        let text = match dt.kind() {
            TypeKind::Unicode => Text::Ucs4 {
                big: dt.byte_order() == ByteOrder::Big,
            },
            TypeKind::Bytes => Text::Bytes,
            _ => {
                return Err(Error::new(
                    ErrorKind::UnsupportedDtype,
                    format!("codec {ID}: object dtype takes U<n> or S<n> input, got {dt}"),
                ))
            }
        };
        let width = dt.itemsize();
        if width == 0 && !input.data.is_empty()
            || width != 0 && !input.data.len().is_multiple_of(width)
        {
            return Err(Error::invalid_argument(format!(
                "codec {ID}: {} bytes are not a whole number of {dt} items",
                input.data.len()
            )));
        }
        if width == 0 {
            // Zero-width items are all "": encode the item count given by the shape.
            let n: usize = input.shape.iter().product();
            let items = vec![""; n];
            return self.encode_strs(&items);
        }
        self.encode_items(input.data, width, text)
    }

    fn decode(&self, input: ArrayRef<'_>) -> Result<NDBuffer> {
        let n = filter::items_in(ID, input.data.len(), &self.astype, true)?;
        let dt = self.decoded_dtype();
        let mut block = filter::try_alloc(n * dt.itemsize())?;
        self.decode_bytes(input.data, block.as_mut_slice())?;
        filter::output(block, dt, vec![n], Default::default())
    }

    fn decode_into(&self, input: &[u8], out: ArrayMut<'_>) -> Result<()> {
        self.decode_bytes(input, out.data)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::codec::get_codec;

    #[test]
    fn golden_vectors_from_numcodecs() {
        filter::golden::check_all(include_str!("../../tests/data/filters/categorize.json"));
    }

    #[test]
    fn typed_api_and_bytes_items() {
        let c = get_codec(&json!({"id": ID, "labels": ["female", "male"], "dtype": "|O"})).unwrap();
        let c2 = Categorize::new(
            vec!["female".into(), "male".into()],
            "|O".parse().unwrap(),
            DataType::u8(),
        )
        .unwrap();
        assert_eq!(c.config(), c2.config());
        // numcodecs' docstring example.
        let enc = c2
            .encode_strs(&["male", "female", "female", "male", "unexpected"])
            .unwrap();
        assert_eq!(enc.bytes(), &[2, 1, 1, 2, 0]);
        let s = b"male\0\0female\0\0\0\0\0\0";
        let a = ArrayRef::new(s, "|S6".parse().unwrap(), vec![3], Default::default()).unwrap();
        assert_eq!(c.encode(a).unwrap().bytes(), &[2, 1, 0]);
        let dec = c2.decode_strings(enc.as_array_ref()).unwrap();
        assert_eq!(dec, ["male", "female", "female", "male", ""]);
        let dec = c.decode(enc.as_array_ref()).unwrap();
        assert_eq!(dec.dtype().to_string(), "<U6");
    }

    #[test]
    fn errors() {
        let labels: Vec<String> = (0..300).map(|i| i.to_string()).collect();
        let c = Categorize::new(labels, "<U3".parse().unwrap(), DataType::u8()).unwrap();
        let e = c.encode_strs(&["1"]).unwrap_err();
        assert_eq!(e.kind(), ErrorKind::InvalidArgument);
        let c = Categorize::new(
            vec!["a".into()],
            "<U1".parse().unwrap(),
            "<i2".parse().unwrap(),
        );
        let c = c.unwrap();
        assert_eq!(
            c.decode(ArrayRef::bytes(&[1, 0, 1])).unwrap_err().kind(),
            ErrorKind::Corrupt
        );
        let mut out = [0u8; 3];
        assert!(c.decode_into(&[1, 0], ArrayMut::bytes(&mut out)).is_err());
        let wrong = ArrayRef::new(&[0; 8], "<U2".parse().unwrap(), vec![1], Default::default());
        assert!(c.encode(wrong.unwrap()).is_err());
        for (cfg, key) in [
            (json!({"id": ID, "dtype": "<U3"}), "labels"),
            (json!({"id": ID, "labels": "ab", "dtype": "<U3"}), "labels"),
            (json!({"id": ID, "labels": [1], "dtype": "<U3"}), "labels"),
            (json!({"id": ID, "labels": ["a"]}), "dtype"),
            (json!({"id": ID, "labels": ["a"], "dtype": "<i4"}), "dtype"),
            (
                json!({"id": ID, "labels": ["a"], "dtype": "<U3", "astype": "|O"}),
                "astype",
            ),
            (
                json!({"id": ID, "labels": ["a"], "dtype": "<U3", "x": 0}),
                "\"x\"",
            ),
        ] {
            let e = get_codec(&cfg).unwrap_err();
            assert_eq!(e.kind(), ErrorKind::InvalidConfig, "{cfg}");
            assert!(e.message().contains(key), "{e}");
        }
    }
}
