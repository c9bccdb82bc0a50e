//! NPY and NPZ, NumPy's own file formats: header parsing and writing ([`header`]), zero-copy
//! views of the data ([`NpyRef`], [`NpyArray`]), NPZ reading and writing ([`zip`]),
//! NPZ members decoded ahead of reads ([`ahead`]).
//!
//! Reading never copies the array data: a view is the parsed header plus the byte range of the
//! data inside the input. Every version (1.0, 2.0, 3.0), both byte orders, C and Fortran order,
//! and structured (record) types are supported. Arrays of Python objects are refused: NumPy
//! stores them with pickle.
//!
//! ```
//! use ndpack::npy::{self, Descr};
//! use ndpack::Order;
//! let data: Vec<u8> = (0..6u16).flat_map(|v| v.to_le_bytes()).collect();
//! let descr = Descr::Scalar("<u2".parse().unwrap());
//! let bytes = npy::write_npy_to_vec(&descr, &[2, 3], Order::F, &data).unwrap();
//! let view = npy::read_npy(&bytes).unwrap();
//! assert_eq!(view.shape(), &[2, 3]);
//! assert_eq!(view.order(), Order::F);
//! assert_eq!(view.byte_strides(), vec![2, 4]);
//! assert_eq!(view.data(), &data[..]);
//! ```

pub mod ahead;
pub mod header;
pub mod zip;

use std::ops::Range;

pub use ahead::NpzReadAhead;
pub use header::{parse_header, write_header, Descr, Field, Header, RecordType, MAGIC};
pub use zip::{Member, NpzEntry, NpzOptions, NpzReader, NpzWriter};

use crate::buffer::{Buffer, NDBuffer};
use crate::error::{Error, ErrorKind, Result};
use crate::region::Order;

/// Checks that `header` may be loaded and that `available` bytes follow it; returns the range of
/// the data in the whole input.
fn data_range(header: &Header, total: usize) -> Result<Range<usize>> {
    if header.descr.has_object() {
        return Err(Error::new(
            ErrorKind::Unsupported,
            "object arrays are stored with pickle, which ndpack does not load \
             (numpy.load needs allow_pickle=True for them)",
        ));
    }
    let items = crate::region::checked_num_items(&header.shape)?;
    if items > isize::MAX as usize {
        return Err(Error::too_large(format!(
            "shape {:?} is too large",
            header.shape
        )));
    }
    let len = header.data_len()?;
    if len > isize::MAX as usize {
        return Err(Error::too_large(format!(
            "NPY data of shape {:?} would need {len} bytes",
            header.shape
        )));
    }
    let available = total - header.data_offset;
    if available < len {
        return Err(Error::truncated(format!(
            "NPY data of shape {:?} and itemsize {} needs {len} bytes but {available} follow the header",
            header.shape,
            header.descr.itemsize()
        )));
    }
    if available > len {
        return Err(Error::corrupt(format!(
            "NPY data of shape {:?} and itemsize {} is {len} bytes but {available} follow the header",
            header.shape,
            header.descr.itemsize()
        )));
    }
    Ok(header.data_offset..header.data_offset + len)
}

/// Byte strides of `shape` with items of `itemsize` in `order`.
fn strides(shape: &[usize], itemsize: usize, order: Order) -> Vec<usize> {
    crate::region::strides(shape, itemsize, order)
}

/// The accessors [`NpyRef`] and [`NpyArray`] share: both hold a parsed `header`.
macro_rules! header_accessors {
    () => {
        /// The parsed header.
        pub fn header(&self) -> &Header {
            &self.header
        }
        /// The data type (plain or record).
        pub fn descr(&self) -> &Descr {
            &self.header.descr
        }
        /// The shape.
        pub fn shape(&self) -> &[usize] {
            &self.header.shape
        }
        /// The memory order of the data.
        pub fn order(&self) -> Order {
            self.header.order
        }
        /// Byte strides of each dimension (Fortran strides for Fortran-ordered files).
        pub fn byte_strides(&self) -> Vec<usize> {
            strides(
                &self.header.shape,
                self.header.descr.itemsize(),
                self.header.order,
            )
        }
    };
}

/// A parsed NPY file borrowing its input: the header and the data bytes, not copied.
#[derive(Debug, Clone)]
pub struct NpyRef<'a> {
    header: Header,
    data: &'a [u8],
}

/// Parses a whole NPY file held in `bytes` without copying its data.
///
/// Errors: `Corrupt` for a missing magic string, a header that is not a literal dict or data
/// longer than the shape says; `Truncated` for short input; `Unsupported` for object arrays.
pub fn read_npy(bytes: &[u8]) -> Result<NpyRef<'_>> {
    let header = parse_header(bytes)?;
    let range = data_range(&header, bytes.len())?;
    Ok(NpyRef {
        header,
        data: &bytes[range],
    })
}

impl<'a> NpyRef<'a> {
    header_accessors!();
    /// The data bytes, inside the input.
    pub fn data(&self) -> &'a [u8] {
        self.data
    }
    /// Where the data lies in the input.
    pub fn data_range(&self) -> Range<usize> {
        self.header.data_offset..self.header.data_offset + self.data.len()
    }
}

/// A parsed NPY file sharing a [`Buffer`]: the header and a zero-copy slice of the data.
#[derive(Debug, Clone)]
pub struct NpyArray {
    header: Header,
    data: Buffer,
}

impl NpyArray {
    /// Parses the NPY file in `buffer`; the data stays in `buffer` (sliced, not copied).
    pub fn from_buffer(buffer: Buffer) -> Result<Self> {
        let header = parse_header(&buffer)?;
        let range = data_range(&header, buffer.len())?;
        Ok(NpyArray {
            data: buffer.slice(range),
            header,
        })
    }
    header_accessors!();
    /// The data bytes.
    pub fn data(&self) -> &Buffer {
        &self.data
    }
    /// The array as an [`NDBuffer`] sharing the data; records become `|V<itemsize>` items.
    pub fn into_ndbuffer(self) -> Result<NDBuffer> {
        let dtype = self.header.descr.to_data_type();
        NDBuffer::new(self.data, dtype, self.header.shape, self.header.order)
    }
}

/// Checks that `data` holds `shape` items of `descr`.
fn check_data(descr: &Descr, shape: &[usize], data: &[u8]) -> Result<()> {
    if descr.has_object() {
        return Err(Error::new(
            ErrorKind::Unsupported,
            "object arrays cannot be written without pickle",
        ));
    }
    let want = crate::region::checked_num_items(shape)?
        .checked_mul(descr.itemsize())
        .ok_or_else(|| Error::too_large(format!("shape {shape:?} is too large")))?;
    if data.len() != want {
        return Err(Error::invalid_argument(format!(
            "{} data bytes for shape {shape:?} of itemsize {} ({want} bytes)",
            data.len(),
            descr.itemsize()
        )));
    }
    Ok(())
}

/// Writes an NPY file: NumPy's header for `descr`, `shape` and `order`, then `data` (the items in
/// that order).
pub fn write_npy(
    w: &mut impl std::io::Write,
    descr: &Descr,
    shape: &[usize],
    order: Order,
    data: &[u8],
) -> Result<()> {
    check_data(descr, shape, data)?;
    w.write_all(&write_header(descr, shape, order))?;
    w.write_all(data)?;
    Ok(())
}

/// The bytes of an NPY file, as `np.save` writes them.
pub fn write_npy_to_vec(
    descr: &Descr,
    shape: &[usize],
    order: Order,
    data: &[u8],
) -> Result<Vec<u8>> {
    check_data(descr, shape, data)?;
    let header = write_header(descr, shape, order);
    let mut out = Vec::with_capacity(header.len() + data.len());
    out.extend_from_slice(&header);
    out.extend_from_slice(data);
    Ok(out)
}
