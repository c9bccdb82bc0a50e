//! NPY headers: the magic string, versions 1.0/2.0/3.0, the Python-literal header dict, record
//! (structured) type descriptions, and the header bytes NumPy writes.

use std::fmt::Write as _;

use crate::dtype::{DataType, TypeKind};
use crate::error::{Error, ErrorKind, Result};
use crate::region::{checked_num_items, Order};

/// The six bytes every NPY file starts with.
pub const MAGIC: &[u8; 6] = b"\x93NUMPY";

/// The largest header ndpack parses (NumPy's own default limit is 10 000 bytes).
pub const MAX_HEADER_LEN: usize = 1 << 20;

/// The deepest nesting of lists, tuples and records accepted in a header.
const MAX_DEPTH: usize = 32;

/// NumPy leaves room for this many digits of the growth axis (`GROWTH_AXIS_MAX_DIGITS`).
const GROWTH_AXIS_MAX_DIGITS: usize = 21;

/// NumPy pads headers so that the data starts at a multiple of this (`ARRAY_ALIGN`).
const ARRAY_ALIGN: usize = 64;

/// The data type of an NPY array: a plain NumPy type or a record (structured) type.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Descr {
    /// A plain type, written in the header as a string such as `'<f8'`.
    Scalar(DataType),
    /// A structured type, written in the header as a list of fields.
    Record(RecordType),
}

/// One field of a [`RecordType`]: name (empty for padding), optional title, type and sub-shape.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Field {
    /// The field name; NumPy writes padding between fields as fields named `''` of type `|V<n>`.
    pub name: String,
    /// The field title, when the header gives the name as `('title', 'name')`.
    pub title: Option<String>,
    /// The type of one element of the field.
    pub descr: Descr,
    /// The sub-array shape of the field (empty for a plain field).
    pub shape: Vec<usize>,
}

/// A structured type: fields packed one after the other, as in NumPy's `dtype.descr`.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct RecordType {
    fields: Vec<Field>,
    itemsize: usize,
}

impl RecordType {
    /// A record of `fields` laid out one after the other; fails if the size overflows.
    pub fn new(fields: Vec<Field>) -> Result<Self> {
        let mut itemsize = 0usize;
        for f in &fields {
            let n = checked_num_items(&f.shape)?;
            itemsize = n
                .checked_mul(f.descr.itemsize())
                .and_then(|s| s.checked_add(itemsize))
                .ok_or_else(|| Error::too_large("record type is too large"))?;
        }
        Ok(RecordType { fields, itemsize })
    }

    /// The fields, padding included, in memory order.
    pub fn fields(&self) -> &[Field] {
        &self.fields
    }

    /// Bytes per record.
    pub fn itemsize(&self) -> usize {
        self.itemsize
    }
}

impl Descr {
    /// Bytes per item.
    pub fn itemsize(&self) -> usize {
        match self {
            Descr::Scalar(dt) => dt.itemsize(),
            Descr::Record(r) => r.itemsize(),
        }
    }

    /// Whether the type holds Python objects anywhere (such arrays need pickle; ndpack refuses them).
    pub fn has_object(&self) -> bool {
        match self {
            Descr::Scalar(dt) => dt.kind() == TypeKind::Object,
            Descr::Record(r) => r.fields.iter().any(|f| f.descr.has_object()),
        }
    }

    /// The type as a flat [`DataType`]: the plain type itself, or `|V<itemsize>` for records.
    pub fn to_data_type(&self) -> DataType {
        match self {
            Descr::Scalar(dt) => dt.clone(),
            Descr::Record(r) => DataType::new(
                TypeKind::Void,
                r.itemsize(),
                crate::dtype::ByteOrder::NotApplicable,
            )
            .expect("void types of any size exist"),
        }
    }

    /// The Python literal NumPy writes for this type in a header (`'<f8'` or `[('a', '<i4')]`).
    pub fn to_literal(&self) -> String {
        let mut out = String::new();
        self.write_literal(&mut out);
        out
    }

    fn write_literal(&self, out: &mut String) {
        match self {
            Descr::Scalar(dt) => write_py_str(out, &dt.to_numpy_str()),
            Descr::Record(r) => {
                out.push('[');
                for (i, f) in r.fields.iter().enumerate() {
                    if i > 0 {
                        out.push_str(", ");
                    }
                    out.push('(');
                    match &f.title {
                        Some(t) => {
                            out.push('(');
                            write_py_str(out, t);
                            out.push_str(", ");
                            write_py_str(out, &f.name);
                            out.push(')');
                        }
                        None => write_py_str(out, &f.name),
                    }
                    out.push_str(", ");
                    f.descr.write_literal(out);
                    if !f.shape.is_empty() {
                        out.push_str(", ");
                        write_py_tuple(out, &f.shape);
                    }
                    out.push(')');
                }
                out.push(']');
            }
        }
    }
}

impl From<DataType> for Descr {
    fn from(dt: DataType) -> Self {
        Descr::Scalar(dt)
    }
}

/// Writes `s` as Python's `repr(str)` does.
fn write_py_str(out: &mut String, s: &str) {
    let quote = if s.contains('\'') && !s.contains('"') {
        '"'
    } else {
        '\''
    };
    out.push(quote);
    for c in s.chars() {
        match c {
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            c if c == quote => {
                out.push('\\');
                out.push(c);
            }
            c if (c as u32) < 0x20 || c as u32 == 0x7f => {
                let _ = write!(out, "\\x{:02x}", c as u32);
            }
            c => out.push(c),
        }
    }
    out.push(quote);
}

/// Writes `shape` as Python's `repr(tuple)` does: `()`, `(3,)`, `(2, 3)`.
fn write_py_tuple(out: &mut String, shape: &[usize]) {
    out.push('(');
    for (i, d) in shape.iter().enumerate() {
        if i > 0 {
            out.push_str(", ");
        }
        let _ = write!(out, "{d}");
    }
    if shape.len() == 1 {
        out.push(',');
    }
    out.push(')');
}

/// A parsed NPY header.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Header {
    /// The format version, `(1, 0)`, `(2, 0)` or `(3, 0)`.
    pub version: (u8, u8),
    /// The data type.
    pub descr: Descr,
    /// The memory order (`fortran_order` in the header).
    pub order: Order,
    /// The shape.
    pub shape: Vec<usize>,
    /// Where the data starts: the length of magic, version, length field and header.
    pub data_offset: usize,
}

impl Header {
    /// The number of data bytes the header announces (items × itemsize), checked for overflow.
    pub fn data_len(&self) -> Result<usize> {
        checked_num_items(&self.shape)?
            .checked_mul(self.descr.itemsize())
            .ok_or_else(|| Error::too_large(format!("shape {:?} is too large", self.shape)))
    }
}

/// Parses the NPY header at the start of `bytes` (the data may follow or not).
pub fn parse_header(bytes: &[u8]) -> Result<Header> {
    if bytes.len() < MAGIC.len() || &bytes[..MAGIC.len()] != MAGIC {
        return Err(Error::corrupt(
            "not an NPY file: the magic string \\x93NUMPY is missing",
        ));
    }
    if bytes.len() < 8 {
        return Err(Error::truncated("NPY file ends inside its version number"));
    }
    let version = (bytes[6], bytes[7]);
    let (len_size, utf8) = match version {
        (1, 0) => (2, false),
        (2, 0) => (4, false),
        (3, 0) => (4, true),
        (major, minor) => {
            return Err(Error::new(
                ErrorKind::Unsupported,
                format!("NPY format version {major}.{minor} is not supported (only 1.0, 2.0, 3.0)"),
            ))
        }
    };
    let start = 8 + len_size;
    if bytes.len() < start {
        return Err(Error::truncated("NPY file ends inside its header length"));
    }
    let header_len = if len_size == 2 {
        u16::from_le_bytes([bytes[8], bytes[9]]) as usize
    } else {
        u32::from_le_bytes([bytes[8], bytes[9], bytes[10], bytes[11]]) as usize
    };
    if header_len > MAX_HEADER_LEN {
        return Err(Error::too_large(format!(
            "NPY header of {header_len} bytes is over the limit of {MAX_HEADER_LEN}"
        )));
    }
    let end = start + header_len;
    if bytes.len() < end {
        return Err(Error::truncated(format!(
            "NPY header announces {header_len} bytes but only {} follow",
            bytes.len() - start
        )));
    }
    let raw = &bytes[start..end];
    let text: String = if utf8 {
        std::str::from_utf8(raw)
            .map_err(|_| Error::corrupt("NPY 3.0 header is not valid UTF-8"))?
            .to_owned()
    } else {
        raw.iter().map(|&b| b as char).collect()
    };
    let (descr, order, shape) = parse_dict(&text)?;
    Ok(Header {
        version,
        descr,
        order,
        shape,
        data_offset: end,
    })
}

/// A Python literal as `ast.literal_eval` gives it, restricted to what headers use.
#[derive(Debug, Clone, PartialEq)]
enum Lit {
    Str(String),
    Int(i128),
    Bool(bool),
    None,
    Tuple(Vec<Lit>),
    List(Vec<Lit>),
    Dict(Vec<(Lit, Lit)>),
}

impl Lit {
    fn kind(&self) -> &'static str {
        match self {
            Lit::Str(_) => "a string",
            Lit::Int(_) => "an integer",
            Lit::Bool(_) => "a boolean",
            Lit::None => "None",
            Lit::Tuple(_) => "a tuple",
            Lit::List(_) => "a list",
            Lit::Dict(_) => "a dict",
        }
    }
}

struct Parser<'a> {
    s: &'a [u8],
    text: &'a str,
    pos: usize,
}

fn bad(msg: impl Into<String>) -> Error {
    Error::corrupt(format!("NPY header is not a valid literal: {}", msg.into()))
}

impl<'a> Parser<'a> {
    fn skip_ws(&mut self) {
        while self.pos < self.s.len() && matches!(self.s[self.pos], b' ' | b'\t' | b'\n' | b'\r') {
            self.pos += 1;
        }
    }

    fn peek(&self) -> Option<u8> {
        self.s.get(self.pos).copied()
    }

    fn expect(&mut self, c: u8) -> Result<()> {
        self.skip_ws();
        if self.peek() == Some(c) {
            self.pos += 1;
            Ok(())
        } else {
            Err(bad(format!(
                "expected '{}' at offset {}",
                c as char, self.pos
            )))
        }
    }

    fn value(&mut self, depth: usize) -> Result<Lit> {
        if depth > MAX_DEPTH {
            return Err(bad("nested too deeply"));
        }
        self.skip_ws();
        match self.peek() {
            None => Err(bad("ends early")),
            Some(b'{') => {
                self.pos += 1;
                let items = self.sequence(b'}', depth, true)?;
                let mut pairs = Vec::with_capacity(items.len() / 2);
                let mut it = items.into_iter();
                while let (Some(k), Some(v)) = (it.next(), it.next()) {
                    pairs.push((k, v));
                }
                Ok(Lit::Dict(pairs))
            }
            Some(b'[') => {
                self.pos += 1;
                Ok(Lit::List(self.sequence(b']', depth, false)?))
            }
            Some(b'(') => {
                self.pos += 1;
                let start = self.pos;
                let items = self.sequence(b')', depth, false)?;
                // `(x)` is x itself; `(x,)` is a tuple.
                if items.len() == 1 {
                    let inner = &self.s[start..self.pos - 1];
                    let trailing_comma = inner
                        .iter()
                        .rposition(|c| !matches!(c, b' ' | b'\t' | b'\n' | b'\r'))
                        .map(|i| inner[i] == b',')
                        .unwrap_or(false);
                    if !trailing_comma {
                        return Ok(items.into_iter().next().expect("one item"));
                    }
                }
                Ok(Lit::Tuple(items))
            }
            Some(b'\'' | b'"') => self.string(),
            Some(b'u' | b'U') if matches!(self.s.get(self.pos + 1), Some(b'\'' | b'"')) => {
                self.pos += 1;
                self.string()
            }
            Some(b'-' | b'+' | b'0'..=b'9') => self.int(),
            Some(c) if c.is_ascii_alphabetic() => {
                let start = self.pos;
                while self
                    .peek()
                    .is_some_and(|c| c.is_ascii_alphanumeric() || c == b'_')
                {
                    self.pos += 1;
                }
                match &self.text[start..self.pos] {
                    "True" => Ok(Lit::Bool(true)),
                    "False" => Ok(Lit::Bool(false)),
                    "None" => Ok(Lit::None),
                    name => Err(bad(format!("'{name}' is not a literal"))),
                }
            }
            Some(_) => Err(bad(format!("unexpected character at offset {}", self.pos))),
        }
    }

    /// Items up to `close`, separated by commas (a trailing comma allowed); dicts alternate
    /// key and value separated by ':'.
    fn sequence(&mut self, close: u8, depth: usize, dict: bool) -> Result<Vec<Lit>> {
        let mut items = Vec::new();
        loop {
            self.skip_ws();
            if self.peek() == Some(close) {
                self.pos += 1;
                return Ok(items);
            }
            items.push(self.value(depth + 1)?);
            if dict {
                self.expect(b':')?;
                items.push(self.value(depth + 1)?);
            }
            self.skip_ws();
            match self.peek() {
                Some(b',') => self.pos += 1,
                Some(c) if c == close => {}
                _ => {
                    return Err(bad(format!(
                        "expected ',' or '{}' at offset {}",
                        close as char, self.pos
                    )))
                }
            }
        }
    }

    fn int(&mut self) -> Result<Lit> {
        let negative = match self.peek() {
            Some(b'-') => {
                self.pos += 1;
                true
            }
            Some(b'+') => {
                self.pos += 1;
                false
            }
            _ => false,
        };
        self.skip_ws();
        let start = self.pos;
        let mut v: i128 = 0;
        while let Some(c @ b'0'..=b'9') = self.peek() {
            v = v
                .checked_mul(10)
                .and_then(|v| v.checked_add(i128::from(c - b'0')))
                .ok_or_else(|| Error::too_large("integer in NPY header is too large"))?;
            self.pos += 1;
        }
        if self.pos == start {
            return Err(bad(format!("expected digits at offset {start}")));
        }
        // Python 2 wrote long integers with an 'L' suffix; NumPy still reads them.
        if self.peek() == Some(b'L') {
            self.pos += 1;
        }
        if self
            .peek()
            .is_some_and(|c| c.is_ascii_alphanumeric() || c == b'.' || c == b'_')
        {
            return Err(bad(format!("unsupported number at offset {start}")));
        }
        Ok(Lit::Int(if negative { -v } else { v }))
    }

    fn string(&mut self) -> Result<Lit> {
        let quote = self.s[self.pos];
        self.pos += 1;
        let mut out = String::new();
        loop {
            let rest = &self.text[self.pos..];
            let Some(i) = rest.find([quote as char, '\\', '\n']) else {
                return Err(bad("unterminated string"));
            };
            out.push_str(&rest[..i]);
            self.pos += i;
            match self.s[self.pos] {
                b'\n' => return Err(bad("newline inside a string")),
                b'\\' => {
                    self.pos += 1;
                    let Some(c) = self.text[self.pos..].chars().next() else {
                        return Err(bad("unterminated string"));
                    };
                    self.pos += c.len_utf8();
                    match c {
                        '\\' | '\'' | '"' => out.push(c),
                        'n' => out.push('\n'),
                        't' => out.push('\t'),
                        'r' => out.push('\r'),
                        '0' => out.push('\0'),
                        'x' => out.push(self.hex(2)?),
                        'u' => out.push(self.hex(4)?),
                        'U' => out.push(self.hex(8)?),
                        '\n' => {}
                        other => {
                            out.push('\\');
                            out.push(other);
                        }
                    }
                }
                _ => {
                    self.pos += 1;
                    return Ok(Lit::Str(out));
                }
            }
        }
    }

    fn hex(&mut self, n: usize) -> Result<char> {
        let digits = self
            .text
            .get(self.pos..self.pos + n)
            .ok_or_else(|| bad("truncated escape"))?;
        let v = u32::from_str_radix(digits, 16).map_err(|_| bad("bad escape"))?;
        self.pos += n;
        char::from_u32(v).ok_or_else(|| bad("bad escape"))
    }
}

/// Parses a Python literal (what `ast.literal_eval` accepts for headers).
fn parse_literal(text: &str) -> Result<Lit> {
    let mut p = Parser {
        s: text.as_bytes(),
        text,
        pos: 0,
    };
    let v = p.value(0)?;
    p.skip_ws();
    if p.pos != p.s.len() {
        return Err(bad(format!("unexpected text at offset {}", p.pos)));
    }
    Ok(v)
}

fn parse_dict(text: &str) -> Result<(Descr, Order, Vec<usize>)> {
    let Lit::Dict(pairs) = parse_literal(text)? else {
        return Err(Error::corrupt("NPY header is not a dict"));
    };
    let (mut descr, mut fortran, mut shape) = (None, None, None);
    for (k, v) in pairs {
        let Lit::Str(key) = k else {
            return Err(Error::corrupt("NPY header has a key that is not a string"));
        };
        let slot = match key.as_str() {
            "descr" => &mut descr,
            "fortran_order" => &mut fortran,
            "shape" => &mut shape,
            other => {
                return Err(Error::corrupt(format!(
                "NPY header has an unexpected key {other:?} (expected descr, fortran_order, shape)"
            )))
            }
        };
        // Python dict literals keep the last value of a repeated key.
        *slot = Some(v);
    }
    let (Some(descr), Some(fortran), Some(shape)) = (descr, fortran, shape) else {
        return Err(Error::corrupt(
            "NPY header lacks one of the keys descr, fortran_order, shape",
        ));
    };
    let order = match fortran {
        Lit::Bool(false) => Order::C,
        Lit::Bool(true) => Order::F,
        other => {
            return Err(Error::corrupt(format!(
                "NPY header 'fortran_order' is {}, not a boolean",
                other.kind()
            )))
        }
    };
    let Lit::Tuple(dims) = shape else {
        return Err(Error::corrupt(format!(
            "NPY header 'shape' is {}, not a tuple",
            shape.kind()
        )));
    };
    let shape = dims.iter().map(dimension).collect::<Result<Vec<usize>>>()?;
    let descr = descr_from_lit(&descr, 0)?;
    Ok((descr, order, shape))
}

fn dimension(l: &Lit) -> Result<usize> {
    match l {
        Lit::Int(v) if *v >= 0 => usize::try_from(*v)
            .map_err(|_| Error::too_large(format!("dimension {v} in NPY header is too large"))),
        Lit::Int(v) => Err(Error::corrupt(format!(
            "negative dimension {v} in NPY header"
        ))),
        other => Err(Error::corrupt(format!(
            "NPY header shape holds {}, not an integer",
            other.kind()
        ))),
    }
}

fn descr_from_lit(l: &Lit, depth: usize) -> Result<Descr> {
    if depth > MAX_DEPTH {
        return Err(Error::corrupt("NPY record type is nested too deeply"));
    }
    match l {
        Lit::Str(s) => Ok(Descr::Scalar(s.parse()?)),
        Lit::List(items) => {
            let mut fields = Vec::with_capacity(items.len());
            for item in items {
                let parts = match item {
                    Lit::Tuple(p) | Lit::List(p) if p.len() == 2 || p.len() == 3 => p,
                    _ => {
                        return Err(Error::corrupt(
                            "NPY record field is not a (name, type[, shape]) tuple",
                        ))
                    }
                };
                let (name, title) = match &parts[0] {
                    Lit::Str(n) => (n.clone(), None),
                    Lit::Tuple(t) if t.len() == 2 => match (&t[0], &t[1]) {
                        (Lit::Str(title), Lit::Str(n)) => (n.clone(), Some(title.clone())),
                        _ => return Err(Error::corrupt("NPY record field title is not a string")),
                    },
                    other => {
                        return Err(Error::corrupt(format!(
                            "NPY record field name is {}, not a string",
                            other.kind()
                        )))
                    }
                };
                let descr = descr_from_lit(&parts[1], depth + 1)?;
                let shape = match parts.get(2) {
                    None => Vec::new(),
                    Some(Lit::Tuple(d)) => d.iter().map(dimension).collect::<Result<_>>()?,
                    Some(n @ Lit::Int(_)) => vec![dimension(n)?],
                    Some(other) => {
                        return Err(Error::corrupt(format!(
                            "NPY record field shape is {}, not a tuple",
                            other.kind()
                        )))
                    }
                };
                fields.push(Field {
                    name,
                    title,
                    descr,
                    shape,
                });
            }
            for (i, f) in fields.iter().enumerate() {
                if !f.name.is_empty() && fields[..i].iter().any(|g| g.name == f.name) {
                    return Err(Error::corrupt(format!(
                        "NPY record type has the field {:?} twice",
                        f.name
                    )));
                }
            }
            Ok(Descr::Record(RecordType::new(fields)?))
        }
        other => Err(Error::new(
            ErrorKind::UnsupportedDtype,
            format!(
                "NPY header 'descr' is {}, not a type string or a field list",
                other.kind()
            ),
        )),
    }
}

/// The header NumPy's `np.save` writes for `descr`, `shape` and `order`, byte for byte: the
/// dict with sorted keys, room for the growth axis, padding to 64 bytes, and the oldest version
/// (1.0, then 2.0 for long headers, 3.0 for non-Latin-1 field names) that can hold it.
pub fn write_header(descr: &Descr, shape: &[usize], order: Order) -> Vec<u8> {
    // NumPy writes `fortran_order: True` only for arrays that are F- and not C-contiguous.
    let fortran =
        order == Order::F && !shape.contains(&0) && shape.iter().filter(|&&d| d > 1).count() > 1;
    let mut text = String::with_capacity(128);
    text.push_str("{'descr': ");
    descr.write_literal(&mut text);
    text.push_str(", 'fortran_order': ");
    text.push_str(if fortran { "True" } else { "False" });
    text.push_str(", 'shape': ");
    write_py_tuple(&mut text, shape);
    text.push_str(", }");
    if !shape.is_empty() {
        let growth = if fortran {
            shape[shape.len() - 1]
        } else {
            shape[0]
        };
        let digits = growth.to_string().len();
        text.extend(std::iter::repeat_n(
            ' ',
            GROWTH_AXIS_MAX_DIGITS.saturating_sub(digits),
        ));
    }
    let latin1 = text.chars().all(|c| (c as u32) < 256);
    let encoded: Vec<u8> = if latin1 {
        text.chars().map(|c| c as u8).collect()
    } else {
        text.into_bytes()
    };
    let hlen = encoded.len() + 1;
    let pad = |prefix: usize| ARRAY_ALIGN - (prefix + hlen) % ARRAY_ALIGN;
    let (version, len_size) = if latin1 && hlen + pad(10) <= u16::MAX as usize {
        (1u8, 2)
    } else if latin1 {
        (2, 4)
    } else {
        (3, 4)
    };
    let padlen = pad(8 + len_size);
    let mut out = Vec::with_capacity(8 + len_size + hlen + padlen);
    out.extend_from_slice(MAGIC);
    out.extend_from_slice(&[version, 0]);
    let total = hlen + padlen;
    if len_size == 2 {
        out.extend_from_slice(&(total as u16).to_le_bytes());
    } else {
        out.extend_from_slice(&(total as u32).to_le_bytes());
    }
    out.extend_from_slice(&encoded);
    out.extend(std::iter::repeat_n(b' ', padlen));
    out.push(b'\n');
    out
}

/// Parses a type as written in a header's `descr` (`'<f8'` or `[('a', '<i4'), ...]`), e.g. the
/// `repr` of NumPy's `dtype_to_descr`. A bare type string without quotes is accepted too.
pub fn parse_descr(text: &str) -> Result<Descr> {
    let t = text.trim();
    if !t.starts_with(['[', '\'', '"']) {
        return Ok(Descr::Scalar(t.parse()?));
    }
    descr_from_lit(&parse_literal(t)?, 0)
}
