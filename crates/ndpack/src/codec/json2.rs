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

use std::collections::HashMap;
use std::fmt::Write as _;

use serde_json::{json, Map, Value};

use super::object::{split_trailer, ObjectArray, ObjectValue, MAX_DEPTH};
use super::{ArrayRef, Codec, ConfigReader, NDBuffer};
use crate::error::{Error, ErrorKind, Result};

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

/// Python's `float.__repr__`: the shortest digits that round-trip, in fixed notation when the
/// decimal exponent is in -4..16, else `d.ddde+XX`.
pub fn python_float_repr(f: f64) -> String {
    if f.is_nan() {
        return "nan".into();
    }
    if f.is_infinite() {
        return if f > 0.0 { "inf".into() } else { "-inf".into() };
    }
    if f == 0.0 {
        return if f.is_sign_negative() {
            "-0.0".into()
        } else {
            "0.0".into()
        };
    }
    // Rust's `{:e}` gives the shortest round-trip digits: "-1.2345e-7". When two strings of
    // that length round-trip equally close to `f` (an exact tie), it may take the upper one;
    // Python takes the correctly rounded one (ties to even), which `{:.N e}` gives: use that
    // whenever it round-trips too.
    let mut e = format!("{f:e}");
    let ndigits = e
        .split_once('e')
        .map_or(e.as_str(), |(m, _)| m)
        .bytes()
        .filter(u8::is_ascii_digit)
        .count();
    let rounded = format!("{f:.*e}", ndigits.saturating_sub(1));
    if rounded != e && rounded.parse::<f64>() == Ok(f) {
        e = rounded;
    }
    let (mantissa, exp) = e.split_once('e').unwrap_or((&e, "0"));
    let exp: i32 = exp.parse().unwrap_or(0);
    let (neg, mantissa) = match mantissa.strip_prefix('-') {
        Some(m) => (true, m),
        None => (false, mantissa),
    };
    let digits: String = mantissa.chars().filter(|c| *c != '.').collect();
    let ndigits = digits.len() as i32;
    let decpt = exp + 1;
    let mut out = String::with_capacity(24);
    if neg {
        out.push('-');
    }
    if (-4 < decpt) && (decpt <= 16) {
        if decpt <= 0 {
            out.push_str("0.");
            out.extend(std::iter::repeat_n('0', (-decpt) as usize));
            out.push_str(&digits);
        } else if decpt >= ndigits {
            out.push_str(&digits);
            out.extend(std::iter::repeat_n('0', (decpt - ndigits) as usize));
            out.push_str(".0");
        } else {
            out.push_str(&digits[..decpt as usize]);
            out.push('.');
            out.push_str(&digits[decpt as usize..]);
        }
    } else {
        out.push_str(&digits[..1]);
        if ndigits > 1 {
            out.push('.');
            out.push_str(&digits[1..]);
        }
        let _ = write!(out, "e{}{:02}", if exp < 0 { '-' } else { '+' }, exp.abs());
    }
    out
}

struct Writer<'a> {
    c: &'a Json2,
    indent: Option<String>,
}

impl Writer<'_> {
    fn write(&self, out: &mut String, v: &ObjectValue, level: usize) -> Result<()> {
        if level > MAX_DEPTH {
            return Err(Error::invalid("json2: values nest too deeply"));
        }
        match v {
            ObjectValue::Null => out.push_str("null"),
            ObjectValue::Bool(true) => out.push_str("true"),
            ObjectValue::Bool(false) => out.push_str("false"),
            ObjectValue::Int(i) => {
                let _ = write!(out, "{i}");
            }
            ObjectValue::UInt(u) => {
                let _ = write!(out, "{u}");
            }
            ObjectValue::Float(f) => self.float(out, *f)?,
            ObjectValue::Str(s) => self.string(out, s),
            ObjectValue::Bytes(_) => {
                return Err(Error::invalid(
                    "json2: object of type bytes is not JSON serializable",
                ))
            }
            ObjectValue::List(items) => {
                if items.is_empty() {
                    out.push_str("[]");
                    return Ok(());
                }
                out.push('[');
                let nl = self.newline(out, level + 1);
                for (i, item) in items.iter().enumerate() {
                    if i > 0 {
                        out.push_str(&self.c.separators.0);
                        if let Some(nl) = &nl {
                            out.push_str(nl);
                        }
                    }
                    self.write(out, item, level + 1)?;
                }
                self.newline(out, level);
                out.push(']');
            }
            ObjectValue::Map(entries) => {
                let mut keyed: Vec<(String, &ObjectValue, &ObjectValue)> =
                    Vec::with_capacity(entries.len());
                for (k, v) in entries {
                    let key = match k {
                        ObjectValue::Str(s) => s.clone(),
                        ObjectValue::Int(i) => i.to_string(),
                        ObjectValue::UInt(u) => u.to_string(),
                        ObjectValue::Float(f) => self.float_text(*f)?,
                        ObjectValue::Bool(b) => b.to_string(),
                        ObjectValue::Null => "null".into(),
                        _ if self.c.skipkeys => continue,
                        other => {
                            return Err(Error::invalid(format!(
                                "json2: keys must be str, int, float, bool or None, not {}",
                                kind_name(other)
                            )))
                        }
                    };
                    keyed.push((key, k, v));
                }
                if self.c.sort_keys {
                    sort_keys(&mut keyed)?;
                }
                if keyed.is_empty() {
                    out.push_str("{}");
                    return Ok(());
                }
                out.push('{');
                let nl = self.newline(out, level + 1);
                for (i, (key, _, value)) in keyed.iter().enumerate() {
                    if i > 0 {
                        out.push_str(&self.c.separators.0);
                        if let Some(nl) = &nl {
                            out.push_str(nl);
                        }
                    }
                    self.string(out, key);
                    out.push_str(&self.c.separators.1);
                    self.write(out, value, level + 1)?;
                }
                self.newline(out, level);
                out.push('}');
            }
        }
        Ok(())
    }

    /// Writes `"\n" + indent * level` when indenting; returns it.
    fn newline(&self, out: &mut String, level: usize) -> Option<String> {
        let indent = self.indent.as_ref()?;
        let mut nl = String::with_capacity(1 + indent.len() * level);
        nl.push('\n');
        for _ in 0..level {
            nl.push_str(indent);
        }
        out.push_str(&nl);
        Some(nl)
    }

    fn float_text(&self, f: f64) -> Result<String> {
        if !f.is_finite() {
            if !self.c.allow_nan {
                return Err(Error::invalid(format!(
                    "json2: out of range float values are not JSON compliant: {}",
                    python_float_repr(f)
                )));
            }
            return Ok(if f.is_nan() {
                "NaN"
            } else if f > 0.0 {
                "Infinity"
            } else {
                "-Infinity"
            }
            .into());
        }
        Ok(python_float_repr(f))
    }

    fn float(&self, out: &mut String, f: f64) -> Result<()> {
        out.push_str(&self.float_text(f)?);
        Ok(())
    }

    fn string(&self, out: &mut String, s: &str) {
        out.reserve(s.len() + 2);
        out.push('"');
        let ascii = self.c.ensure_ascii;
        let mut start = 0;
        for (i, ch) in s.char_indices() {
            let plain = if ascii {
                (' '..='~').contains(&ch) && ch != '"' && ch != '\\'
            } else {
                ch >= ' ' && ch != '"' && ch != '\\'
            };
            if plain {
                continue;
            }
            out.push_str(&s[start..i]);
            start = i + ch.len_utf8();
            match ch {
                '"' => out.push_str("\\\""),
                '\\' => out.push_str("\\\\"),
                '\n' => out.push_str("\\n"),
                '\r' => out.push_str("\\r"),
                '\t' => out.push_str("\\t"),
                '\u{8}' => out.push_str("\\b"),
                '\u{c}' => out.push_str("\\f"),
                _ => {
                    let mut units = [0u16; 2];
                    for u in ch.encode_utf16(&mut units) {
                        let _ = write!(out, "\\u{u:04x}");
                    }
                }
            }
        }
        out.push_str(&s[start..]);
        out.push('"');
    }
}

/// Sorts map entries as Python's `sorted(dict.items())` does: by key, all keys strings or all
/// numbers (mixing them is an error in Python too).
fn sort_keys(keyed: &mut [(String, &ObjectValue, &ObjectValue)]) -> Result<()> {
    if keyed
        .iter()
        .all(|(_, k, _)| matches!(k, ObjectValue::Str(_)))
    {
        keyed.sort_by(|a, b| a.0.cmp(&b.0));
        return Ok(());
    }
    let num = |v: &ObjectValue| -> Option<f64> {
        match v {
            ObjectValue::Int(i) => Some(*i as f64),
            ObjectValue::UInt(u) => Some(*u as f64),
            ObjectValue::Float(f) => Some(*f),
            ObjectValue::Bool(b) => Some(f64::from(u8::from(*b))),
            _ => None,
        }
    };
    if keyed.iter().all(|(_, k, _)| num(k).is_some()) {
        keyed.sort_by(|a, b| {
            num(a.1)
                .unwrap_or(0.0)
                .partial_cmp(&num(b.1).unwrap_or(0.0))
                .unwrap_or(std::cmp::Ordering::Equal)
        });
        return Ok(());
    }
    Err(Error::invalid(
        "json2: cannot sort keys of mixed types (sort_keys=True)",
    ))
}

struct Parser<'a> {
    s: &'a [u8],
    pos: usize,
    strict: bool,
}

impl Parser<'_> {
    fn err(&self, what: &str) -> Error {
        if self.pos >= self.s.len() {
            Error::truncated(format!("json2: {what} at the end of the input"))
        } else {
            Error::corrupt(format!("json2: {what} at byte {}", self.pos))
        }
    }

    fn ws(&mut self) {
        while let Some(b' ' | b'\t' | b'\n' | b'\r') = self.s.get(self.pos) {
            self.pos += 1;
        }
    }

    fn eat(&mut self, lit: &[u8]) -> bool {
        if self.s[self.pos..].starts_with(lit) {
            self.pos += lit.len();
            true
        } else {
            false
        }
    }

    fn value(&mut self, depth: usize) -> Result<ObjectValue> {
        if depth > MAX_DEPTH {
            return Err(Error::corrupt("json2: values nest too deeply"));
        }
        match self.s.get(self.pos) {
            None => Err(self.err("expecting a value")),
            Some(b'"') => Ok(ObjectValue::Str(self.string()?)),
            Some(b'[') => {
                self.pos += 1;
                let mut items = Vec::new();
                self.ws();
                if self.eat(b"]") {
                    return Ok(ObjectValue::List(items));
                }
                loop {
                    self.ws();
                    items.push(self.value(depth + 1)?);
                    self.ws();
                    if self.eat(b",") {
                        continue;
                    }
                    if self.eat(b"]") {
                        return Ok(ObjectValue::List(items));
                    }
                    return Err(self.err("expecting ',' or ']'"));
                }
            }
            Some(b'{') => {
                self.pos += 1;
                let mut entries: Vec<(ObjectValue, ObjectValue)> = Vec::new();
                let mut index: HashMap<String, usize> = HashMap::new();
                self.ws();
                if self.eat(b"}") {
                    return Ok(ObjectValue::Map(entries));
                }
                loop {
                    self.ws();
                    if self.s.get(self.pos) != Some(&b'"') {
                        return Err(self.err("expecting a property name in double quotes"));
                    }
                    let key = self.string()?;
                    self.ws();
                    if !self.eat(b":") {
                        return Err(self.err("expecting ':'"));
                    }
                    self.ws();
                    let v = self.value(depth + 1)?;
                    // Python's dict: a repeated key keeps its first place and its last value.
                    match index.get(&key) {
                        Some(&i) => entries[i].1 = v,
                        None => {
                            index.insert(key.clone(), entries.len());
                            entries.push((ObjectValue::Str(key), v));
                        }
                    }
                    self.ws();
                    if self.eat(b",") {
                        continue;
                    }
                    if self.eat(b"}") {
                        return Ok(ObjectValue::Map(entries));
                    }
                    return Err(self.err("expecting ',' or '}'"));
                }
            }
            Some(b'n') if self.eat(b"null") => Ok(ObjectValue::Null),
            Some(b't') if self.eat(b"true") => Ok(ObjectValue::Bool(true)),
            Some(b'f') if self.eat(b"false") => Ok(ObjectValue::Bool(false)),
            Some(b'N') if self.eat(b"NaN") => Ok(ObjectValue::Float(f64::NAN)),
            Some(b'I') if self.eat(b"Infinity") => Ok(ObjectValue::Float(f64::INFINITY)),
            Some(b'-') if self.eat(b"-Infinity") => Ok(ObjectValue::Float(f64::NEG_INFINITY)),
            Some(b'-' | b'0'..=b'9') => self.number(),
            Some(_) => Err(self.err("expecting a value")),
        }
    }

    fn digits(&mut self) -> usize {
        let start = self.pos;
        while let Some(b'0'..=b'9') = self.s.get(self.pos) {
            self.pos += 1;
        }
        self.pos - start
    }

    fn number(&mut self) -> Result<ObjectValue> {
        let start = self.pos;
        if self.s[self.pos] == b'-' {
            self.pos += 1;
        }
        match self.s.get(self.pos) {
            Some(b'0') => self.pos += 1,
            Some(b'1'..=b'9') => {
                self.digits();
            }
            _ => return Err(self.err("expecting a value")),
        }
        let mut float = false;
        // Python's regex: the fraction and exponent parts are only taken when complete.
        if self.s.get(self.pos) == Some(&b'.')
            && matches!(self.s.get(self.pos + 1), Some(b'0'..=b'9'))
        {
            self.pos += 1;
            self.digits();
            float = true;
        }
        if let Some(b'e' | b'E') = self.s.get(self.pos) {
            let save = self.pos;
            self.pos += 1;
            if let Some(b'+' | b'-') = self.s.get(self.pos) {
                self.pos += 1;
            }
            if self.digits() == 0 {
                self.pos = save;
            } else {
                float = true;
            }
        }
        // Only ASCII digits, signs, '.', 'e' were consumed.
        let text = std::str::from_utf8(&self.s[start..self.pos]).unwrap_or("0");
        if float {
            let f: f64 = text
                .parse()
                .map_err(|_| Error::corrupt(format!("json2: bad number {text:?}")))?;
            return Ok(ObjectValue::Float(f));
        }
        if let Ok(i) = text.parse::<i64>() {
            return Ok(ObjectValue::Int(i));
        }
        if let Ok(u) = text.parse::<u64>() {
            return Ok(ObjectValue::UInt(u));
        }
        Err(Error::new(
            ErrorKind::Unsupported,
            format!("json2: integer {text} does not fit in 64 bits"),
        ))
    }

    fn hex4(&mut self) -> Result<u32> {
        let Some(h) = self.s.get(self.pos..self.pos + 4) else {
            self.pos = self.s.len();
            return Err(self.err("incomplete \\u escape"));
        };
        let text = std::str::from_utf8(h).map_err(|_| self.err("invalid \\uXXXX escape"))?;
        let v = u32::from_str_radix(text, 16).map_err(|_| self.err("invalid \\uXXXX escape"))?;
        if !h.iter().all(u8::is_ascii_hexdigit) {
            return Err(self.err("invalid \\uXXXX escape"));
        }
        self.pos += 4;
        Ok(v)
    }

    fn string(&mut self) -> Result<String> {
        self.pos += 1; // opening quote
        let mut out = String::new();
        loop {
            let start = self.pos;
            while let Some(&b) = self.s.get(self.pos) {
                if b == b'"' || b == b'\\' || (b < 0x20 && self.strict) {
                    break;
                }
                self.pos += 1;
            }
            // The input is a &str and we stop only at ASCII bytes, so this is on a boundary.
            out.push_str(std::str::from_utf8(&self.s[start..self.pos]).unwrap_or_default());
            match self.s.get(self.pos) {
                None => return Err(self.err("unterminated string")),
                Some(b'"') => {
                    self.pos += 1;
                    return Ok(out);
                }
                Some(b'\\') => {
                    self.pos += 1;
                    let Some(&e) = self.s.get(self.pos) else {
                        return Err(self.err("unterminated string"));
                    };
                    self.pos += 1;
                    match e {
                        b'"' => out.push('"'),
                        b'\\' => out.push('\\'),
                        b'/' => out.push('/'),
                        b'b' => out.push('\u{8}'),
                        b'f' => out.push('\u{c}'),
                        b'n' => out.push('\n'),
                        b'r' => out.push('\r'),
                        b't' => out.push('\t'),
                        b'u' => {
                            let mut c = self.hex4()?;
                            if (0xd800..0xdc00).contains(&c)
                                && self.s.get(self.pos..self.pos + 2) == Some(b"\\u")
                            {
                                let save = self.pos;
                                self.pos += 2;
                                let low = self.hex4()?;
                                if (0xdc00..0xe000).contains(&low) {
                                    c = 0x10000 + ((c - 0xd800) << 10) + (low - 0xdc00);
                                } else {
                                    self.pos = save;
                                }
                            }
                            match char::from_u32(c) {
                                Some(ch) => out.push(ch),
                                None => {
                                    return Err(Error::new(
                                        ErrorKind::Unsupported,
                                        "json2: lone surrogate escapes are not supported",
                                    ))
                                }
                            }
                        }
                        _ => {
                            self.pos -= 2;
                            return Err(self.err("invalid \\escape"));
                        }
                    }
                }
                Some(_) => return Err(self.err("invalid control character in string")),
            }
        }
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
        let array = ObjectArray::from_numeric(&input)?;
        let mut array = array;
        if array.shape.is_empty() {
            array.items.truncate(1);
        }
        Ok(NDBuffer::from_bytes(self.encode_array(&array)?))
    }

    /// Decodes to the bytes of the stored array when its dtype is bool, integer or float.
    fn decode(&self, input: ArrayRef<'_>) -> Result<NDBuffer> {
        self.decode_array(input.data)?.to_numeric()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::region::Order;

    fn s(x: &str) -> ObjectValue {
        ObjectValue::Str(x.into())
    }

    #[test]
    fn float_repr_matches_python() {
        // repr() of each value in CPython.
        let cases: &[(f64, &str)] = &[
            (1.0, "1.0"),
            (1e16, "1e+16"),
            (1e15, "1000000000000000.0"),
            (1e-5, "1e-05"),
            (0.0001, "0.0001"),
            (-0.0, "-0.0"),
            (1e22, "1e+22"),
            (123456789.123, "123456789.123"),
            (0.1, "0.1"),
            (1.5e-7, "1.5e-07"),
            (f64::MAX, "1.7976931348623157e+308"),
            // A tie between two shortest strings: Python rounds to even.
            (562949953421312.2, "562949953421312.2"),
            (5e-324, "5e-324"),
            (0.1f32 as f64, "0.10000000149011612"),
            (1234567890123456.7, "1234567890123456.8"),
            (12345678901234567.0, "1.2345678901234568e+16"),
        ];
        for &(f, want) in cases {
            assert_eq!(python_float_repr(f), want, "{f}");
        }
    }

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
