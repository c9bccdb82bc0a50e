//! The `json2` codec: arrays of Python values as JSON text, as numcodecs' `JSON()`.
//!
//! Format: the JSON of the list `[*items, dtype_str, shape]`, where `items` is NumPy's
//! `np.atleast_1d(array).tolist()` (nested lists for arrays of more than one dimension), written
//! exactly as Python's `json.JSONEncoder` writes it with the codec's settings: floats as
//! `repr()` (shortest round trip, `1e-05`, `1e+16`), `NaN`/`Infinity`/`-Infinity` when
//! `allow_nan`, `\uXXXX` escapes (surrogate pairs) when `ensure_ascii`, the same `indent` and
//! `separators` rules, keys sorted when `sort_keys`. Decoding follows Python's `json.loads`
//! (including `NaN`/`Infinity`, and raw control characters in strings when `strict` is false).
//!
//! Config (numcodecs' keys and defaults): `{"id": "json2", "encoding": "utf-8",
//! "skipkeys": false, "ensure_ascii": true, "check_circular": true, "allow_nan": true,
//! "sort_keys": true, "indent": null, "separators": [",", ":"], "strict": true}`. Only the
//! UTF-8 text encoding is supported in Rust (others are `Unsupported` when used); `indent` is
//! null, an integer (or boolean, as Python counts it) or a string.
//!
//! Typed API: [`Json2::encode_array`] / [`Json2::decode_array`] with [`ObjectArray`] items.
//! The byte-level [`Codec`] methods handle bool, integer and float arrays (dtype and shape from
//! the [`ArrayRef`], as numcodecs encodes a numeric NumPy array); decoding gives the bytes when
//! the stored dtype is one of those, `Unsupported` otherwise.
//!
//! ```
//! use ndpack::codec::json2::Json2;
//! use ndpack::codec::object::{ObjectArray, ObjectValue};
//! let a = ObjectArray::from_flat(
//!     vec![ObjectValue::Str("foo".into()), ObjectValue::Float(f64::NAN), ObjectValue::Null],
//!     "|O",
//!     &[3],
//! )
//! .unwrap();
//! let enc = Json2::default().encode_array(&a).unwrap();
//! assert_eq!(enc, br#"["foo",NaN,null,"|O",[3]]"#);
//! ```

use serde_json::{json, Map, Value};

mod parser;
mod writer;

pub use writer::python_float_repr;

use super::object::{encode_numeric, split_trailer, ObjectArray, ObjectValue};
use super::{ArrayRef, Codec, ConfigReader, NDBuffer};
use crate::error::{Error, ErrorKind, Result};
use parser::Parser;
use writer::Writer;

/// The numcodecs `json2` codec.
#[derive(Debug, Clone, PartialEq)]
pub struct Json2 {
    encoding: String,
    skipkeys: bool,
    ensure_ascii: bool,
    check_circular: bool,
    allow_nan: bool,
    sort_keys: bool,
    /// As configured: null, an integer/boolean, or a string.
    indent: Value,
    separators: (String, String),
    strict: bool,
}

impl Default for Json2 {
    fn default() -> Self {
        Json2 {
            encoding: "utf-8".into(),
            skipkeys: false,
            ensure_ascii: true,
            check_circular: true,
            allow_nan: true,
            sort_keys: true,
            indent: Value::Null,
            separators: (",".into(), ":".into()),
            strict: true,
        }
    }
}

impl Json2 {
    /// Builds the codec from its numcodecs config; missing keys take numcodecs' defaults
    /// (`separators` defaults to `[",", ":"]`, or `[", ", ": "]` when `indent` is set).
    pub fn from_config(config: &Map<String, Value>) -> Result<Self> {
        let mut r = ConfigReader::new("json2", config)?;
        let d = Json2::default();
        let encoding = r.str("encoding")?.unwrap_or("utf-8").to_string();
        let skipkeys = r.bool("skipkeys")?.unwrap_or(d.skipkeys);
        let ensure_ascii = r.bool("ensure_ascii")?.unwrap_or(d.ensure_ascii);
        let check_circular = r.bool("check_circular")?.unwrap_or(d.check_circular);
        let allow_nan = r.bool("allow_nan")?.unwrap_or(d.allow_nan);
        let sort_keys = r.bool("sort_keys")?.unwrap_or(d.sort_keys);
        let strict = r.bool("strict")?.unwrap_or(d.strict);
        let indent = r.value("indent").cloned().unwrap_or(Value::Null);
        match &indent {
            Value::Null | Value::Bool(_) | Value::String(_) => {}
            Value::Number(n) if n.is_i64() => {}
            _ => return Err(r.out_of_range("indent", "null, an integer or a string")),
        }
        let separators = match r.value("separators") {
            None if indent.is_null() => (",".to_string(), ":".to_string()),
            None => (", ".to_string(), ": ".to_string()),
            Some(Value::Array(a)) if a.len() == 2 && a.iter().all(Value::is_string) => (
                a[0].as_str().unwrap_or_default().to_string(),
                a[1].as_str().unwrap_or_default().to_string(),
            ),
            Some(_) => return Err(r.out_of_range("separators", "a list of two strings")),
        };
        r.finish()?;
        Ok(Json2 {
            encoding,
            skipkeys,
            ensure_ascii,
            check_circular,
            allow_nan,
            sort_keys,
            indent,
            separators,
            strict,
        })
    }

    fn check_encoding(&self) -> Result<()> {
        let e = self.encoding.to_ascii_lowercase().replace(['-', '_'], "");
        if matches!(e.as_str(), "utf8" | "u8" | "utf" | "cp65001") {
            Ok(())
        } else {
            Err(Error::new(
                ErrorKind::Unsupported,
                format!(
                    "json2: text encoding {:?} is not supported (only utf-8)",
                    self.encoding
                ),
            ))
        }
    }

    fn indent_str(&self) -> Option<String> {
        match &self.indent {
            Value::Null => None,
            Value::Bool(b) => Some(" ".repeat(usize::from(*b))),
            Value::Number(n) => Some(" ".repeat(n.as_i64().unwrap_or(0).max(0) as usize)),
            Value::String(s) => Some(s.clone()),
            _ => None,
        }
    }

    /// Encodes an array: `[*items, dtype, shape]` as JSON, UTF-8.
    pub fn encode_array(&self, array: &ObjectArray) -> Result<Vec<u8>> {
        Ok(self.encode_text(array)?.into_bytes())
    }

    /// Encodes an array to JSON text (before the text encoding is applied).
    pub fn encode_text(&self, array: &ObjectArray) -> Result<String> {
        self.check_encoding()?;
        let mut trailer = array.items.clone();
        trailer.push(ObjectValue::Str(array.dtype.clone()));
        trailer.push(ObjectValue::List(
            array
                .shape
                .iter()
                .map(|&d| ObjectValue::uint(d as u64))
                .collect(),
        ));
        self.dumps(&ObjectValue::List(trailer))
    }

    /// Writes any value as Python's `json.dumps` would with this codec's settings.
    pub fn dumps(&self, value: &ObjectValue) -> Result<String> {
        let w = Writer {
            c: self,
            indent: self.indent_str(),
        };
        let mut out = String::new();
        w.write(&mut out, value, 0)?;
        Ok(out)
    }

    /// Decodes to an [`ObjectArray`].
    pub fn decode_array(&self, data: &[u8]) -> Result<ObjectArray> {
        self.check_encoding()?;
        let text = std::str::from_utf8(data)
            .map_err(|e| Error::corrupt(format!("json2: input is not UTF-8: {e}")))?;
        match self.loads(text)? {
            ObjectValue::List(all) => split_trailer(all, text.len(), "json2"),
            other => Err(Error::corrupt(format!(
                "json2: expected a JSON list, got {}",
                kind_name(&other)
            ))),
        }
    }

    /// Parses JSON text as Python's `json.loads` would with this codec's `strict` setting.
    /// Integers beyond 64 bits and lone surrogate escapes are `Unsupported`.
    pub fn loads(&self, text: &str) -> Result<ObjectValue> {
        let mut p = Parser {
            s: text.as_bytes(),
            pos: 0,
            strict: self.strict,
        };
        p.ws();
        let v = p.value(0)?;
        p.ws();
        if p.pos != p.s.len() {
            return Err(p.err("extra data after the JSON value"));
        }
        Ok(v)
    }
}

/// What a value is, in words, for errors.
fn kind_name(v: &ObjectValue) -> &'static str {
    match v {
        ObjectValue::Null => "null",
        ObjectValue::Bool(_) => "a boolean",
        ObjectValue::Int(_) | ObjectValue::UInt(_) => "an integer",
        ObjectValue::Float(_) => "a float",
        ObjectValue::Str(_) => "a string",
        ObjectValue::Bytes(_) => "bytes",
        ObjectValue::List(_) => "a list",
        ObjectValue::Map(_) => "an object",
    }
}

impl Codec for Json2 {
    fn id(&self) -> &'static str {
        "json2"
    }

    fn config(&self) -> Value {
        json!({
            "id": "json2",
            "encoding": self.encoding,
            "skipkeys": self.skipkeys,
            "ensure_ascii": self.ensure_ascii,
            "check_circular": self.check_circular,
            "allow_nan": self.allow_nan,
            "indent": self.indent,
            "separators": [self.separators.0, self.separators.1],
            "sort_keys": self.sort_keys,
            "strict": self.strict,
        })
    }

    /// Encodes a bool, integer or float array as numcodecs encodes the NumPy array.
    fn encode(&self, input: ArrayRef<'_>) -> Result<NDBuffer> {
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
    use crate::region::Order;

    /// numcodecs.JSON().encode(np.array(['foo', 'é😀"\\\n\x01', nan, None, 2, -1.5e-7,
    /// {'b': 1, 'a': [True]}, [], {}], dtype=object))
    const GOLDEN_DEFAULT: &str = "[\"foo\",\"\\u00e9\\ud83d\\ude00\\\"\\\\\\n\\u0001\",NaN,null,2,-1.5e-07,{\"a\":[true],\"b\":1},[],{},\"|O\",[9]]";
    /// The same with JSON(indent=2, ensure_ascii=False, sort_keys=False).
    const GOLDEN_INDENT: &str = "[\n  \"foo\", \n  \"é😀\\\"\\\\\\n\\u0001\", \n  NaN, \n  null, \n  2, \n  -1.5e-07, \n  {\n    \"b\": 1, \n    \"a\": [\n      true\n    ]\n  }, \n  [], \n  {}, \n  \"|O\", \n  [\n    9\n  ]\n]";

    fn golden_items() -> ObjectArray {
        let items = vec![
            s("foo"),
            s("é😀\"\\\n\u{1}"),
            ObjectValue::Float(f64::NAN),
            ObjectValue::Null,
            ObjectValue::Int(2),
            ObjectValue::Float(-1.5e-7),
            ObjectValue::Map(vec![
                (s("b"), ObjectValue::Int(1)),
                (s("a"), ObjectValue::List(vec![ObjectValue::Bool(true)])),
            ]),
            ObjectValue::List(vec![]),
            ObjectValue::Map(vec![]),
        ];
        ObjectArray::from_flat(items, "|O", &[9]).unwrap()
    }

    #[test]
    fn golden_vectors_both_ways() {
        let a = golden_items();
        let c = Json2::default();
        assert_eq!(c.encode_text(&a).unwrap(), GOLDEN_DEFAULT);
        let c2 = Json2::from_config(
            json!({"id": "json2", "indent": 2, "ensure_ascii": false, "sort_keys": false})
                .as_object()
                .unwrap(),
        )
        .unwrap();
        assert_eq!(c2.encode_text(&a).unwrap(), GOLDEN_INDENT);
        for (codec, text) in [(&c, GOLDEN_DEFAULT), (&c2, GOLDEN_INDENT)] {
            let back = codec.decode_array(text.as_bytes()).unwrap();
            assert_eq!(back.shape, [9]);
            assert_eq!(back.dtype, "|O");
            assert!(matches!(back.items[2], ObjectValue::Float(f) if f.is_nan()));
            assert_eq!(back.items[1], a.items[1]);
            assert_eq!(back.items[5], a.items[5]);
        }
    }

    #[test]
    fn numeric_arrays_through_the_trait() {
        // numcodecs.JSON().encode(np.array([[0, 1], [2, 3]], dtype='<i4'))
        let data: Vec<u8> = [0i32, 1, 2, 3]
            .iter()
            .flat_map(|v| v.to_le_bytes())
            .collect();
        let input = ArrayRef::new(&data, "<i4".parse().unwrap(), vec![2, 2], Order::C).unwrap();
        let enc = Json2::default().encode(input).unwrap();
        assert_eq!(enc.bytes(), b"[[0,1],[2,3],\"<i4\",[2,2]]");
        let dec = Json2::default()
            .decode(ArrayRef::bytes(enc.bytes()))
            .unwrap();
        assert_eq!(dec.bytes(), &data[..]);
        assert_eq!(dec.shape(), [2, 2]);
        // 0-d float: numcodecs.JSON().encode(np.float64(0.5)) == b'[0.5,"<f8",[]]'
        let x = 0.5f64.to_le_bytes();
        let input = ArrayRef::new(&x, "<f8".parse().unwrap(), vec![], Order::C).unwrap();
        let enc = Json2::default().encode(input).unwrap();
        assert_eq!(enc.bytes(), b"[0.5,\"<f8\",[]]");
        assert_eq!(
            Json2::default()
                .decode(ArrayRef::bytes(enc.bytes()))
                .unwrap()
                .bytes(),
            &x
        );
        // object dtype has no byte form
        let e = Json2::default()
            .decode(ArrayRef::bytes(GOLDEN_DEFAULT.as_bytes()))
            .unwrap_err();
        assert_eq!(e.kind(), ErrorKind::Unsupported);
    }

    #[test]
    fn config_defaults_and_errors() {
        let c = Json2::from_config(json!({"id": "json2"}).as_object().unwrap()).unwrap();
        assert_eq!(c, Json2::default());
        assert_eq!(
            c.config(),
            json!({"id": "json2", "encoding": "utf-8", "skipkeys": false, "ensure_ascii": true,
                   "check_circular": true, "allow_nan": true, "indent": null,
                   "separators": [",", ":"], "sort_keys": true, "strict": true})
        );
        let c = Json2::from_config(json!({"id": "json2", "indent": true}).as_object().unwrap())
            .unwrap();
        assert_eq!(c.config()["separators"], json!([", ", ": "]));
        assert!(Json2::from_config(
            json!({"id": "json2", "separators": [","]})
                .as_object()
                .unwrap()
        )
        .is_err());
        assert!(
            Json2::from_config(json!({"id": "json2", "bogus": 1}).as_object().unwrap()).is_err()
        );
        let c = Json2::from_config(
            json!({"id": "json2", "allow_nan": false})
                .as_object()
                .unwrap(),
        )
        .unwrap();
        let a =
            ObjectArray::from_flat(vec![ObjectValue::Float(f64::INFINITY)], "|O", &[1]).unwrap();
        assert!(c.encode_array(&a).is_err());
    }

    #[test]
    fn hostile_and_malformed_input() {
        let c = Json2::default();
        for bad in [
            &b""[..],
            b"[",
            b"[1,",
            b"[\"abc",
            b"{\"a\" 1}",
            b"[1] x",
            b"[\"\x01\"]",
            b"[\"\\x\"]",
            b"\xff",
            b"[1,\"|O\"]",
            b"[1,\"|O\",[2]]",
            b"[1,2,[1]]",
            b"{}",
            b"[1,\"|O\",[-1]]",
            b"[1,\"|O\",[99999999999,99999999999]]",
        ] {
            let e = c.decode_array(bad).unwrap_err();
            assert!(
                matches!(e.kind(), ErrorKind::Corrupt | ErrorKind::Truncated),
                "{bad:?}: {e}"
            );
        }
        let deep = "[".repeat(100_000);
        assert_eq!(
            c.decode_array(deep.as_bytes()).unwrap_err().kind(),
            ErrorKind::Corrupt
        );
        // strict=False accepts raw control characters, as Python does
        let lax = Json2::from_config(json!({"id": "json2", "strict": false}).as_object().unwrap())
            .unwrap();
        let a = lax.decode_array(b"[\"a\x01\",\"|O\",[1]]").unwrap();
        assert_eq!(a.items, [s("a\u{1}")]);
    }
}
