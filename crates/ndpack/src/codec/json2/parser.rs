//! The JSON parser of the `json2` codec: text read as Python's `json.loads` reads it (including
//! `NaN`/`Infinity`, and raw control characters in strings when `strict` is false).

use std::collections::HashMap;

use crate::codec::object::{ObjectValue, MAX_DEPTH};
use crate::error::{Error, ErrorKind, Result};

/// A parser over JSON text, at byte `pos`.
pub(super) struct Parser<'a> {
    pub(super) s: &'a [u8],
    pub(super) pos: usize,
    pub(super) strict: bool,
}

impl Parser<'_> {
    /// An error about the text at the current position: `Truncated` at its end, else `Corrupt`.
    pub(super) fn err(&self, what: &str) -> Error {
        if self.pos >= self.s.len() {
            Error::truncated(format!("json2: {what} at the end of the input"))
        } else {
            Error::corrupt(format!("json2: {what} at byte {}", self.pos))
        }
    }

    /// Skips JSON whitespace.
    pub(super) fn ws(&mut self) {
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

    /// Parses one value, nested `depth` deep.
    pub(super) fn value(&mut self, depth: usize) -> Result<ObjectValue> {
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
