//! The JSON writer of the `json2` codec: text exactly as Python's `json.JSONEncoder` writes it
//! with the codec's settings, and Python's `float.__repr__`.

use std::fmt::Write as _;

use super::{kind_name, Json2};
use crate::codec::object::{ObjectValue, MAX_DEPTH};
use crate::error::{Error, Result};

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

/// Writes values with the settings of a [`Json2`] codec.
pub(super) struct Writer<'a> {
    pub(super) c: &'a Json2,
    pub(super) indent: Option<String>,
}

impl Writer<'_> {
    /// Writes `v`, nested `level` deep, to `out`.
    pub(super) fn write(&self, out: &mut String, v: &ObjectValue, level: usize) -> Result<()> {
        if level > MAX_DEPTH {
            return Err(Error::invalid_argument("json2: values nest too deeply"));
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
                return Err(Error::invalid_argument(
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
                            return Err(Error::invalid_argument(format!(
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
                return Err(Error::invalid_argument(format!(
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
    Err(Error::invalid_argument(
        "json2: cannot sort keys of mixed types (sort_keys=True)",
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

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
}
