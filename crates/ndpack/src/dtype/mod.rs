//! [`DataType`]: NumPy dtype strings (`"<f4"`, `"|u1"`, `">i8"`, `"S4"`, `"<U3"`, `"<M8[ns]"`),
//! item sizes and byte orders. `scalar`: the numeric scalar kinds, NumPy's casts and type
//! promotion.

use std::fmt;
use std::str::FromStr;

use crate::error::{Error, ErrorKind, Result};

pub(crate) mod scalar;

/// Byte order of a data type's items.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ByteOrder {
    /// Little endian (`<`).
    Little,
    /// Big endian (`>`).
    Big,
    /// Not applicable: one-byte items, bytes and records (`|`).
    NotApplicable,
}

impl ByteOrder {
    /// The byte order of this machine.
    pub const NATIVE: ByteOrder = if cfg!(target_endian = "little") {
        ByteOrder::Little
    } else {
        ByteOrder::Big
    };

    /// The NumPy prefix character: `<`, `>` or `|`.
    pub fn as_char(self) -> char {
        match self {
            ByteOrder::Little => '<',
            ByteOrder::Big => '>',
            ByteOrder::NotApplicable => '|',
        }
    }
}

/// The kind of a data type's items (NumPy's `dtype.kind`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum TypeKind {
    /// `b`: booleans, one byte each.
    Bool,
    /// `i`: signed integers.
    Int,
    /// `u`: unsigned integers.
    UInt,
    /// `f`: IEEE floats (2, 4, 8 bytes).
    Float,
    /// `c`: complex numbers (8, 16 bytes).
    Complex,
    /// `S`: fixed-size byte strings.
    Bytes,
    /// `U`: fixed-size UCS-4 strings (itemsize is 4 × characters).
    Unicode,
    /// `V`: raw records of a fixed size (structured dtypes are described elsewhere).
    Void,
    /// `M`: datetime64 with a unit.
    DateTime,
    /// `m`: timedelta64 with a unit.
    TimeDelta,
    /// `O`: Python objects (pointers; never stored as bytes by ndpack).
    Object,
}

impl TypeKind {
    /// NumPy's one-character kind code.
    pub fn as_char(self) -> char {
        match self {
            TypeKind::Bool => 'b',
            TypeKind::Int => 'i',
            TypeKind::UInt => 'u',
            TypeKind::Float => 'f',
            TypeKind::Complex => 'c',
            TypeKind::Bytes => 'S',
            TypeKind::Unicode => 'U',
            TypeKind::Void => 'V',
            TypeKind::DateTime => 'M',
            TypeKind::TimeDelta => 'm',
            TypeKind::Object => 'O',
        }
    }
}

/// A NumPy data type: kind, item size in bytes, byte order, and a unit for datetimes.
///
/// Parses and prints NumPy's dtype strings (`dtype.str`):
/// ```
/// use ndpack::DataType;
/// let dt: DataType = "<M8[ns]".parse().unwrap();
/// assert_eq!(dt.itemsize(), 8);
/// assert_eq!(dt.to_string(), "<M8[ns]");
/// assert_eq!("float32".parse::<DataType>().unwrap().to_string(), "<f4");
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct DataType {
    kind: TypeKind,
    itemsize: usize,
    order: ByteOrder,
    /// Datetime/timedelta unit with its multiplier, e.g. `"ns"`, `"10us"`; empty for generic.
    unit: Option<String>,
}

const DATETIME_UNITS: &[&str] = &[
    "Y", "M", "W", "D", "h", "m", "s", "ms", "us", "μs", "ns", "ps", "fs", "as",
];

impl DataType {
    /// A data type from its parts; checks that the combination exists in NumPy.
    pub fn new(kind: TypeKind, itemsize: usize, order: ByteOrder) -> Result<Self> {
        let ok = match kind {
            TypeKind::Bool => itemsize == 1,
            TypeKind::Int | TypeKind::UInt => matches!(itemsize, 1 | 2 | 4 | 8),
            TypeKind::Float => matches!(itemsize, 2 | 4 | 8),
            TypeKind::Complex => matches!(itemsize, 8 | 16),
            TypeKind::Bytes | TypeKind::Void => true,
            TypeKind::Unicode => itemsize.is_multiple_of(4),
            TypeKind::DateTime | TypeKind::TimeDelta => itemsize == 8,
            TypeKind::Object => itemsize == 8,
        };
        if !ok {
            return Err(Error::new(
                ErrorKind::UnsupportedDtype,
                format!(
                    "no data type of kind '{}' with itemsize {itemsize}",
                    kind.as_char()
                ),
            ));
        }
        let order = if itemsize <= 1 && kind != TypeKind::Unicode
            || matches!(
                kind,
                TypeKind::Bytes | TypeKind::Void | TypeKind::Bool | TypeKind::Object
            ) {
            ByteOrder::NotApplicable
        } else if order == ByteOrder::NotApplicable {
            ByteOrder::NATIVE
        } else {
            order
        };
        let unit = matches!(kind, TypeKind::DateTime | TypeKind::TimeDelta).then(String::new);
        Ok(DataType {
            kind,
            itemsize,
            order,
            unit,
        })
    }

    /// `bool` (`|b1`).
    pub fn bool() -> Self {
        Self::new(TypeKind::Bool, 1, ByteOrder::NotApplicable).expect("valid")
    }
    /// `uint8` (`|u1`), the dtype of raw bytes.
    pub fn u8() -> Self {
        Self::new(TypeKind::UInt, 1, ByteOrder::NotApplicable).expect("valid")
    }
    /// A native-order integer type of `itemsize` bytes, signed or not.
    pub fn int(signed: bool, itemsize: usize) -> Result<Self> {
        let kind = if signed {
            TypeKind::Int
        } else {
            TypeKind::UInt
        };
        Self::new(kind, itemsize, ByteOrder::NATIVE)
    }
    /// A native-order float type of `itemsize` bytes.
    pub fn float(itemsize: usize) -> Result<Self> {
        Self::new(TypeKind::Float, itemsize, ByteOrder::NATIVE)
    }

    /// The kind of items.
    pub fn kind(&self) -> TypeKind {
        self.kind
    }
    /// Bytes per item.
    pub fn itemsize(&self) -> usize {
        self.itemsize
    }
    /// Byte order of items.
    pub fn byte_order(&self) -> ByteOrder {
        self.order
    }
    /// The datetime unit (`"ns"`, `"10s"`, or `""` for generic), for `M` and `m` kinds.
    pub fn unit(&self) -> Option<&str> {
        self.unit.as_deref()
    }
    /// Whether items must be byte-swapped to be read on this machine.
    pub fn is_swapped(&self) -> bool {
        self.order != ByteOrder::NotApplicable && self.order != ByteOrder::NATIVE
    }
    /// Whether the items are plain numbers (bool, ints, floats, complex, datetimes).
    pub fn is_numeric(&self) -> bool {
        !matches!(
            self.kind,
            TypeKind::Bytes | TypeKind::Unicode | TypeKind::Void | TypeKind::Object
        )
    }
    /// The size of one byte-swappable unit: the itemsize for numbers, half of it for complex,
    /// 4 for unicode, 1 for bytes and records.
    pub fn swap_unit(&self) -> usize {
        match self.kind {
            TypeKind::Complex => self.itemsize / 2,
            TypeKind::Unicode => 4,
            TypeKind::Bytes | TypeKind::Void | TypeKind::Bool => 1,
            _ => self.itemsize,
        }
    }
    /// The same type in another byte order (unchanged for one-byte and byte-string types).
    pub fn with_byte_order(&self, order: ByteOrder) -> Self {
        let mut dt = self.clone();
        if dt.order != ByteOrder::NotApplicable && order != ByteOrder::NotApplicable {
            dt.order = order;
        }
        dt
    }
    /// NumPy's `dtype.str`, e.g. `"<f4"`, `"|S4"`, `"<M8[ns]"`.
    pub fn to_numpy_str(&self) -> String {
        self.to_string()
    }
}

impl fmt::Display for DataType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let size = match self.kind {
            TypeKind::Unicode => self.itemsize / 4,
            TypeKind::Object => return f.write_str("|O"),
            _ => self.itemsize,
        };
        write!(f, "{}{}{}", self.order.as_char(), self.kind.as_char(), size)?;
        if let Some(unit) = &self.unit {
            if !unit.is_empty() {
                write!(f, "[{unit}]")?;
            }
        }
        Ok(())
    }
}

fn unsupported(s: &str) -> Error {
    Error::new(
        ErrorKind::UnsupportedDtype,
        format!("unsupported or invalid dtype string {s:?}"),
    )
}

/// NumPy names (`"float32"`, `"int8"`, ...) and one-character codes to a canonical string.
fn alias(s: &str) -> Option<&'static str> {
    Some(match s {
        "bool" | "?" | "bool_" => "|b1",
        "int8" | "b" | "i1" => "|i1",
        "uint8" | "B" | "u1" => "|u1",
        "int16" | "h" => "=i2",
        "uint16" | "H" => "=u2",
        "int32" | "i" => "=i4",
        "uint32" | "I" => "=u4",
        "int64" | "q" | "l" | "int" => "=i8",
        "uint64" | "Q" | "L" => "=u8",
        "float16" | "e" | "half" => "=f2",
        "float32" | "f" | "single" => "=f4",
        "float64" | "d" | "double" | "float" => "=f8",
        "complex64" | "F" => "=c8",
        "complex128" | "D" | "complex" => "=c16",
        "object" | "O" => "|O",
        _ => return None,
    })
}

impl FromStr for DataType {
    type Err = Error;

    fn from_str(s: &str) -> Result<Self> {
        let text = alias(s).unwrap_or(s);
        let (order, rest) = match text.chars().next() {
            Some('<') => (ByteOrder::Little, &text[1..]),
            Some('>') => (ByteOrder::Big, &text[1..]),
            Some('|') => (ByteOrder::NotApplicable, &text[1..]),
            Some('=') => (ByteOrder::NATIVE, &text[1..]),
            Some(_) => (ByteOrder::NATIVE, text),
            None => return Err(unsupported(s)),
        };
        let mut chars = rest.chars();
        let code = chars.next().ok_or_else(|| unsupported(s))?;
        let rest = chars.as_str();
        let (digits, unit) = match rest.find('[') {
            Some(i) => {
                let unit = rest[i + 1..]
                    .strip_suffix(']')
                    .ok_or_else(|| unsupported(s))?;
                (&rest[..i], Some(unit))
            }
            None => (rest, None),
        };
        let kind = match code {
            'b' | '?' => TypeKind::Bool,
            'i' => TypeKind::Int,
            'u' => TypeKind::UInt,
            'f' => TypeKind::Float,
            'c' => TypeKind::Complex,
            'S' | 'a' => TypeKind::Bytes,
            'U' => TypeKind::Unicode,
            'V' => TypeKind::Void,
            'M' => TypeKind::DateTime,
            'm' => TypeKind::TimeDelta,
            'O' => TypeKind::Object,
            _ => return Err(unsupported(s)),
        };
        let count: usize = if digits.is_empty() {
            match kind {
                TypeKind::Bool => 1,
                TypeKind::DateTime | TypeKind::TimeDelta | TypeKind::Object => 8,
                // "S"/"U" without a size mean size 0 in NumPy (flexible); "V" likewise.
                TypeKind::Bytes | TypeKind::Unicode | TypeKind::Void => 0,
                _ => return Err(unsupported(s)),
            }
        } else {
            digits.parse().map_err(|_| unsupported(s))?
        };
        let itemsize = if kind == TypeKind::Unicode {
            count.checked_mul(4).ok_or_else(|| unsupported(s))?
        } else {
            count
        };
        let mut dt = DataType::new(kind, itemsize, order).map_err(|_| unsupported(s))?;
        match (kind, unit) {
            (TypeKind::DateTime | TypeKind::TimeDelta, Some(u)) => {
                let base = u.trim_start_matches(|c: char| c.is_ascii_digit());
                if !DATETIME_UNITS.contains(&base) || base.len() == u.len() && u.is_empty() {
                    return Err(unsupported(s));
                }
                dt.unit = Some(if base == "μs" {
                    u.replace("μs", "us")
                } else {
                    u.to_string()
                });
            }
            (TypeKind::DateTime | TypeKind::TimeDelta, None) => {}
            (_, Some(_)) => return Err(unsupported(s)),
            _ => {}
        }
        Ok(dt)
    }
}

impl TryFrom<&str> for DataType {
    type Error = Error;
    fn try_from(s: &str) -> Result<Self> {
        s.parse()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_and_prints_numpy_strings() {
        for s in [
            "|b1", "|i1", "|u1", "<i2", ">i2", "<u4", ">u8", "<f2", "<f4", ">f8", "<c8", ">c16",
            "|S4", "|S0", "<U3", ">U1", "|V56", "<M8[ns]", ">m8[10s]", "<M8", "|O",
        ] {
            let dt: DataType = s.parse().unwrap();
            assert_eq!(dt.to_string(), s, "round trip of {s}");
        }
    }

    #[test]
    fn itemsizes_and_orders() {
        let u: DataType = "<U3".parse().unwrap();
        assert_eq!(u.itemsize(), 12);
        assert_eq!(u.swap_unit(), 4);
        let c: DataType = ">c16".parse().unwrap();
        assert_eq!(c.swap_unit(), 8);
        assert!(c.is_swapped() == cfg!(target_endian = "little"));
        let n: DataType = "=i4".parse().unwrap();
        assert_eq!(n.byte_order(), ByteOrder::NATIVE);
        let one: DataType = "<u1".parse().unwrap();
        assert_eq!(one.to_string(), "|u1");
        assert_eq!(
            "float64".parse::<DataType>().unwrap(),
            "<f8".parse().unwrap()
        );
        assert_eq!("i8".parse::<DataType>().unwrap().to_string(), "<i8");
    }

    #[test]
    fn rejects_bad_strings_naming_them() {
        for s in [
            "",
            "<",
            "<f3",
            "<i16",
            "<x4",
            "<M8[parsec]",
            "<f4[ns]",
            "<i",
            "<Mx",
        ] {
            let err = s.parse::<DataType>().unwrap_err();
            assert_eq!(err.kind(), ErrorKind::UnsupportedDtype, "{s}");
            assert!(err.message().contains(&format!("{s:?}")), "{err}");
        }
    }
}
