//! The `b2nd` metalayer (python-blosc2, c-blosc2 ≥ 2.7.1) and the `caterva` metalayer
//! (python-caterva 0.7.3): shape, chunk shape, block shape and (b2nd only) the NumPy dtype,
//! parsed and built byte for byte as the C libraries do, every value checked.
//!
//! Both are msgpack arrays, but the C deserializers skip one marker byte per value and read
//! fixed widths, so the writer always uses the fixed-width forms (`d3` int64 for the shape,
//! `d2` int32 for chunk and block shapes, `db` str32 for the dtype) and the reader insists on
//! them. The array markers are `0x90 + ndim` as C writes them, even for 16 dimensions, where
//! that byte is `0xa0`.
//!
//! ```
//! use ndpack::array::b2nd::{ArrayMeta, Dtype};
//! let meta = ArrayMeta::new(vec![30, 40], vec![16, 16], vec![8, 8], "<i4".parse::<Dtype>()?)?;
//! let bytes = meta.to_b2nd();
//! assert_eq!(&bytes[..4], [0x97, 0x00, 0x02, 0x92]);
//! assert_eq!(ArrayMeta::from_b2nd(&bytes, 4)?, meta);
//! # Ok::<(), ndpack::Error>(())
//! ```

use std::fmt;
use std::str::FromStr;

use crate::blosc::v2::MAX_BUFFERSIZE;
use crate::dtype::{ByteOrder, DataType, TypeKind};
use crate::error::{Error, ErrorKind, Result};
use crate::npy::header::parse_descr;
use crate::npy::Descr;

/// The most dimensions of a b2nd array (`B2ND_MAX_DIM` of c-blosc2 ≥ 2.21.3).
pub const B2ND_MAX_DIM: usize = 16;
/// The most dimensions python-caterva 0.7.3 handles (`CATERVA_MAX_DIM`).
pub const CATERVA_MAX_DIM: usize = 8;
/// The version written in both metalayers.
pub const META_VERSION: u8 = 0;
/// The b2nd dtype format of NumPy dtype strings (`B2ND_DEFAULT_DTYPE_FORMAT`).
pub const DTYPE_FORMAT_NUMPY: u8 = 0;
/// The largest stored chunk (chunk padded to whole blocks), in bytes: what one Blosc2 chunk holds.
pub const MAX_CHUNK_BYTES: usize = MAX_BUFFERSIZE;
/// The longest dtype string read from a metalayer.
const MAX_DTYPE_LEN: usize = 1 << 16;

/// The data type of a b2nd array: a NumPy type (plain or structured) and the string stored for
/// it in the `b2nd` metalayer.
///
/// The string is NumPy's `dtype.str` for plain types (`"<f8"`, `"|S5"`, `"<M8[ns]"`) and
/// `str(dtype)` for structured ones (`"[('a', '<i4'), ('b', '<f8')]"`), as python-blosc2 writes
/// them. A structured type NumPy prints as a dict (fields with explicit offsets or alignment)
/// is kept as its string and seen as raw records (`|V<itemsize>`).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Dtype {
    descr: Descr,
    text: String,
}

impl Dtype {
    /// The type of `descr`, stored as python-blosc2 stores it.
    pub fn new(descr: Descr) -> Dtype {
        let text = match &descr {
            Descr::Scalar(dt) => dt.to_numpy_str(),
            Descr::Record(_) => descr.to_literal(),
        };
        Dtype { descr, text }
    }

    /// Raw items of `itemsize` bytes (`|V<itemsize>`).
    pub fn void(itemsize: usize) -> Result<Dtype> {
        Ok(Dtype::new(Descr::Scalar(DataType::new(
            TypeKind::Void,
            itemsize,
            ByteOrder::NotApplicable,
        )?)))
    }

    /// The type as NumPy describes it.
    pub fn descr(&self) -> &Descr {
        &self.descr
    }

    /// The string stored in the metalayer.
    pub fn as_str(&self) -> &str {
        &self.text
    }

    /// Bytes per item.
    pub fn itemsize(&self) -> usize {
        self.descr.itemsize()
    }

    /// The type as a flat [`DataType`]: the plain type, or `|V<itemsize>` for records.
    pub fn data_type(&self) -> DataType {
        self.descr.to_data_type()
    }
}

impl From<DataType> for Dtype {
    fn from(dt: DataType) -> Dtype {
        Dtype::new(Descr::Scalar(dt))
    }
}

impl From<Descr> for Dtype {
    fn from(d: Descr) -> Dtype {
        Dtype::new(d)
    }
}

impl FromStr for Dtype {
    type Err = Error;

    /// Parses a dtype string as python-blosc2 reads it: `np.dtype(s)`, else the Python literal
    /// of a field list. A dict literal (`{'names': ..., 'itemsize': n, ...}`) becomes raw records
    /// of its `itemsize`, the string kept as it is.
    fn from_str(s: &str) -> Result<Dtype> {
        let t = s.trim();
        if t.starts_with('{') {
            let n = dict_itemsize(t).ok_or_else(|| {
                Error::new(
                    ErrorKind::UnsupportedDtype,
                    format!("dtype dict {s:?} has no 'itemsize'"),
                )
            })?;
            let mut d = Dtype::void(n)?;
            d.text = s.to_string();
            return Ok(d);
        }
        let descr = parse_descr(t).map_err(|e| {
            Error::new(
                ErrorKind::UnsupportedDtype,
                format!("invalid dtype string {s:?}: {}", e.message()),
            )
        })?;
        if descr.has_object() {
            return Err(Error::new(
                ErrorKind::UnsupportedDtype,
                format!("dtype {s:?} holds Python objects, which b2nd arrays cannot store"),
            ));
        }
        let mut d = Dtype::new(descr);
        if matches!(d.descr, Descr::Record(_)) {
            // Keep python-blosc2's spelling of the record.
            d.text = s.to_string();
        }
        Ok(d)
    }
}

impl fmt::Display for Dtype {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.text)
    }
}

/// The value of `'itemsize': <n>` in a dtype dict literal.
fn dict_itemsize(t: &str) -> Option<usize> {
    let key = t.find("'itemsize'")?;
    let rest = t[key + "'itemsize'".len()..]
        .trim_start()
        .strip_prefix(':')?;
    let rest = rest.trim_start();
    let end = rest
        .find(|c: char| !c.is_ascii_digit())
        .unwrap_or(rest.len());
    rest[..end].parse().ok()
}

/// What the `b2nd` (or `caterva`) metalayer says: shape, chunk shape, block shape and dtype,
/// checked against each other (see [`ArrayMeta::new`]).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct ArrayMeta {
    shape: Vec<usize>,
    chunks: Vec<usize>,
    blocks: Vec<usize>,
    dtype: Dtype,
}

impl ArrayMeta {
    /// Checks and holds an array's shapes and type. Errors (never panics) unless:
    /// - the three shapes have the same number of dimensions, at most [`B2ND_MAX_DIM`];
    /// - every chunk and block dimension is > 0, except where the array's dimension is 0
    ///   (python-blosc2 then writes 0), and no block dimension exceeds its chunk's;
    /// - the item size is > 0, the array's bytes (`∏shape × itemsize`) and its shape padded to
    ///   whole chunks fit an `i64` and an `isize`, shapes fit the metalayer's `i64`/`i32`, and
    ///   one stored chunk (padded to whole blocks) is at most [`MAX_CHUNK_BYTES`].
    pub fn new(
        shape: Vec<usize>,
        chunks: Vec<usize>,
        blocks: Vec<usize>,
        dtype: Dtype,
    ) -> Result<ArrayMeta> {
        let meta = ArrayMeta {
            shape,
            chunks,
            blocks,
            dtype,
        };
        meta.check().map_err(|e| {
            Error::new(
                e.kind(),
                format!(
                    "b2nd array of shape {:?}, chunks {:?}, blocks {:?}, dtype {}: {}",
                    meta.shape,
                    meta.chunks,
                    meta.blocks,
                    meta.dtype,
                    e.message()
                ),
            )
        })?;
        Ok(meta)
    }

    fn check(&self) -> Result<()> {
        let nd = self.shape.len();
        if nd > B2ND_MAX_DIM {
            return Err(Error::invalid_argument(format!(
                "{nd} dimensions; b2nd arrays have at most {B2ND_MAX_DIM}"
            )));
        }
        if self.chunks.len() != nd || self.blocks.len() != nd {
            return Err(Error::invalid_argument(
                "shape, chunks and blocks have different numbers of dimensions",
            ));
        }
        let itemsize = self.dtype.itemsize();
        if itemsize == 0 {
            return Err(Error::new(
                ErrorKind::UnsupportedDtype,
                "items of 0 bytes cannot be stored",
            ));
        }
        let too_large = |what: &str| Error::too_large(format!("{what} is too large"));
        let limit = isize::MAX as u128;
        let (mut bytes, mut ext_bytes, mut chunk_bytes) =
            (itemsize as u128, itemsize as u128, itemsize as u128);
        for axis in 0..nd {
            let (n, c, b) = (self.shape[axis], self.chunks[axis], self.blocks[axis]);
            if n as u128 > i64::MAX as u128 {
                return Err(too_large("shape"));
            }
            if c > i32::MAX as usize || b > i32::MAX as usize {
                return Err(too_large("chunk or block shape"));
            }
            if n > 0 && (c == 0 || b == 0) {
                return Err(Error::invalid_argument(format!(
                    "chunk and block shapes must be > 0 where the array's dimension is not 0 \
                     (axis {axis})"
                )));
            }
            if b > c {
                return Err(Error::invalid_argument(format!(
                    "block dimension {b} exceeds chunk dimension {c} (axis {axis})"
                )));
            }
            bytes = bytes.saturating_mul(n as u128).min(limit + 1);
            let ext = if c == 0 {
                0
            } else {
                n.div_ceil(c) as u128 * c as u128
            };
            ext_bytes = ext_bytes.saturating_mul(ext).min(limit + 1);
            let ext_chunk = if b == 0 {
                0
            } else {
                c.div_ceil(b) as u128 * b as u128
            };
            chunk_bytes = chunk_bytes.saturating_mul(ext_chunk).min(limit + 1);
        }
        if bytes > limit || ext_bytes > limit {
            return Err(too_large("array"));
        }
        if chunk_bytes > MAX_CHUNK_BYTES as u128 {
            return Err(Error::too_large(format!(
                "one chunk padded to whole blocks holds {chunk_bytes} bytes; a Blosc2 chunk \
                 holds at most {MAX_CHUNK_BYTES}"
            )));
        }
        Ok(())
    }

    /// The array's shape (empty for 0-d).
    pub fn shape(&self) -> &[usize] {
        &self.shape
    }

    /// The chunk shape.
    pub fn chunks(&self) -> &[usize] {
        &self.chunks
    }

    /// The block shape.
    pub fn blocks(&self) -> &[usize] {
        &self.blocks
    }

    /// The data type.
    pub fn dtype(&self) -> &Dtype {
        &self.dtype
    }

    /// The number of dimensions.
    pub fn ndim(&self) -> usize {
        self.shape.len()
    }

    /// The same array with another shape (checked as in [`ArrayMeta::new`]).
    pub fn with_shape(&self, shape: Vec<usize>) -> Result<ArrayMeta> {
        if shape.len() != self.ndim() {
            return Err(Error::invalid_argument(format!(
                "new shape {shape:?} has {} dimensions, the array {}",
                shape.len(),
                self.ndim()
            )));
        }
        ArrayMeta::new(
            shape,
            self.chunks.clone(),
            self.blocks.clone(),
            self.dtype.clone(),
        )
    }

    /// The `b2nd` metalayer bytes, exactly as c-blosc2's `b2nd_serialize_meta` writes them.
    pub fn to_b2nd(&self) -> Vec<u8> {
        let mut out = self.shapes_msgpack(7);
        out.push(DTYPE_FORMAT_NUMPY);
        out.push(0xdb);
        let text = self.dtype.as_str().as_bytes();
        // The dtype strings ndpack writes are short; `from_b2nd` refuses long ones.
        out.extend_from_slice(&(text.len() as u32).to_be_bytes());
        out.extend_from_slice(text);
        out
    }

    /// The `caterva` metalayer bytes, as python-caterva 0.7.3 writes them. Errors if the array
    /// has more than [`CATERVA_MAX_DIM`] dimensions.
    pub fn to_caterva(&self) -> Result<Vec<u8>> {
        if self.ndim() > CATERVA_MAX_DIM {
            return Err(Error::invalid_argument(format!(
                "caterva reads arrays of at most {CATERVA_MAX_DIM} dimensions, this one has {}",
                self.ndim()
            )));
        }
        Ok(self.shapes_msgpack(5))
    }

    /// The common start of both metalayers: an array of `items` values, the version, ndim and
    /// the three shapes.
    fn shapes_msgpack(&self, items: u8) -> Vec<u8> {
        let nd = self.ndim();
        let mut out = Vec::with_capacity(3 + 3 * (1 + 9 * nd) + 8);
        out.extend_from_slice(&[0x90 + items, META_VERSION, nd as u8]);
        let marker = 0x90u8.wrapping_add(nd as u8);
        out.push(marker);
        for &n in &self.shape {
            out.push(0xd3);
            out.extend_from_slice(&(n as i64).to_be_bytes());
        }
        for dims in [&self.chunks, &self.blocks] {
            out.push(marker);
            for &n in dims.iter() {
                out.push(0xd2);
                out.extend_from_slice(&(n as i32).to_be_bytes());
            }
        }
        out
    }

    /// Parses a `b2nd` metalayer. `itemsize` is the frame's typesize: a metalayer without a
    /// dtype (the C reader allows it) means byte strings of that size (`|S<itemsize>`, as
    /// python-blosc2 reads it), and a dtype whose itemsize differs is an error.
    pub fn from_b2nd(bytes: &[u8], itemsize: usize) -> Result<ArrayMeta> {
        parse(bytes, "b2nd", B2ND_MAX_DIM, itemsize)
    }

    /// Parses a `caterva` metalayer, which names no dtype: the items are byte strings of the
    /// frame's `itemsize` (`|S<itemsize>`), the dtype caterva 0.7.3's `__getitem__` returns.
    pub fn from_caterva(bytes: &[u8], itemsize: usize) -> Result<ArrayMeta> {
        parse(bytes, "caterva", CATERVA_MAX_DIM, itemsize)
    }
}

/// Reads one metalayer (see [`ArrayMeta::from_b2nd`]).
fn parse(bytes: &[u8], name: &str, max_dim: usize, itemsize: usize) -> Result<ArrayMeta> {
    parse_fields(bytes, name == "b2nd", max_dim, itemsize).map_err(|e| {
        let kind = match e.kind() {
            ErrorKind::InvalidArgument => ErrorKind::Corrupt,
            k => k,
        };
        Error::new(kind, format!("{name} metalayer: {}", e.message()))
    })
}

fn parse_fields(bytes: &[u8], b2nd: bool, max_dim: usize, itemsize: usize) -> Result<ArrayMeta> {
    let mut r = Reader { bytes, pos: 0 };
    let head = r.byte("array marker")?;
    let items = if b2nd { 0x95..=0x97 } else { 0x95..=0x95 };
    if !items.contains(&head) {
        return Err(Error::corrupt(format!(
            "starts with 0x{head:02x}, not a msgpack array of {} items",
            if b2nd { "5 to 7" } else { "5" }
        )));
    }
    let version = r.byte("version")?;
    if version != META_VERSION {
        return Err(Error::new(
            ErrorKind::Unsupported,
            format!("version {version} (ndpack reads version {META_VERSION})"),
        ));
    }
    let nd = r.byte("ndim")? as usize;
    if nd > max_dim {
        return Err(Error::corrupt(format!(
            "{nd} dimensions (at most {max_dim})"
        )));
    }
    let mut shapes = [Vec::new(), Vec::new(), Vec::new()];
    for (k, v) in shapes.iter_mut().enumerate() {
        let what = ["shape", "chunk shape", "block shape"][k];
        let marker = r.byte(what)?;
        if marker != 0x90u8.wrapping_add(nd as u8) {
            return Err(Error::corrupt(format!(
                "{what} marker 0x{marker:02x} is not an array of {nd} values"
            )));
        }
        for _ in 0..nd {
            let n = if k == 0 {
                r.fixed(0xd3, 8, what)?
            } else {
                r.fixed(0xd2, 4, what)?
            };
            let n = usize::try_from(n)
                .map_err(|_| Error::corrupt(format!("{what} {n} is negative or too large")))?;
            v.push(n);
        }
    }
    let mut dtype = None;
    if b2nd && r.pos < bytes.len() {
        let format = r.byte("dtype format")?;
        if r.pos < bytes.len() {
            if format != DTYPE_FORMAT_NUMPY {
                return Err(Error::new(
                    ErrorKind::UnsupportedDtype,
                    format!("dtype format {format} (only NumPy dtypes, format 0, are supported)"),
                ));
            }
            let marker = r.byte("dtype")?;
            let len = match marker {
                0xa0..=0xbf => (marker & 0x1f) as u64,
                0xd9 => r.fixed_tail(1, "dtype length")?,
                0xda => r.fixed_tail(2, "dtype length")?,
                0xdb => r.fixed_tail(4, "dtype length")?,
                _ => {
                    return Err(Error::corrupt(format!(
                        "dtype marker 0x{marker:02x} is not a string"
                    )))
                }
            };
            if len > MAX_DTYPE_LEN as u64 {
                return Err(Error::too_large(format!("dtype string of {len} bytes")));
            }
            let text = r.take(len as usize, "dtype")?;
            let text = std::str::from_utf8(text)
                .map_err(|_| Error::corrupt("dtype string is not UTF-8"))?;
            dtype = Some(text.parse::<Dtype>()?);
        }
    }
    let dtype = match dtype {
        Some(d) if d.itemsize() != itemsize => {
            return Err(Error::corrupt(format!(
                "dtype {d} has {}-byte items, the frame's typesize is {itemsize}",
                d.itemsize()
            )))
        }
        Some(d) => d,
        // python-blosc2 reads a b2nd metalayer without a dtype as byte strings, and caterva
        // 0.7.3 (whose metalayer has no dtype) returns its items as byte strings.
        None => Dtype::new(Descr::Scalar(DataType::new(
            TypeKind::Bytes,
            itemsize,
            ByteOrder::NotApplicable,
        )?)),
    };
    let [shape, chunks, blocks] = shapes;
    ArrayMeta::new(shape, chunks, blocks, dtype)
}

/// A cursor over metalayer bytes; running past the end is a truncation error.
struct Reader<'a> {
    bytes: &'a [u8],
    pos: usize,
}

impl<'a> Reader<'a> {
    fn take(&mut self, n: usize, what: &str) -> Result<&'a [u8]> {
        let end = self
            .pos
            .checked_add(n)
            .filter(|&e| e <= self.bytes.len())
            .ok_or_else(|| {
                Error::truncated(format!(
                    "its {} bytes end inside the {what}",
                    self.bytes.len()
                ))
            })?;
        let out = &self.bytes[self.pos..end];
        self.pos = end;
        Ok(out)
    }

    fn byte(&mut self, what: &str) -> Result<u8> {
        Ok(self.take(1, what)?[0])
    }

    /// A big-endian signed integer of `width` bytes (4 or 8) after the marker `marker`.
    fn fixed(&mut self, marker: u8, width: usize, what: &str) -> Result<i64> {
        let m = self.byte(what)?;
        if m != marker {
            return Err(Error::corrupt(format!(
                "{what} value marker 0x{m:02x} is not the fixed-width 0x{marker:02x} the C reader \
                 needs"
            )));
        }
        let v = self.fixed_tail(width, what)?;
        Ok(if width == 4 {
            v as u32 as i32 as i64
        } else {
            v as i64
        })
    }

    /// `width` big-endian bytes as an unsigned integer.
    fn fixed_tail(&mut self, width: usize, what: &str) -> Result<u64> {
        Ok(self
            .take(width, what)?
            .iter()
            .fold(0u64, |acc, &b| (acc << 8) | b as u64))
    }
}

#[cfg(test)]
mod tests;
