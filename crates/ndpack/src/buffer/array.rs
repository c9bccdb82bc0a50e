//! Arrays: [`NDBuffer`] (an owned [`Buffer`] with dtype, shape and memory order: the array type
//! codecs return) and the borrowed views [`ArrayRef`] and [`ArrayMut`] (the input and the `out`
//! memory of codecs), with the one size check they share.

use std::fmt;

use super::{AlignedBytes, Buffer};
use crate::dtype::DataType;
use crate::error::{Error, Result};
use crate::region::Layout as ArrayLayout;
use crate::region::{checked_num_items, copy_region, Order, Region};

/// An N-d block of memory: a [`Buffer`] with a data type, a shape and a memory order.
#[derive(Clone, PartialEq, Eq)]
pub struct NDBuffer {
    buffer: Buffer,
    dtype: DataType,
    shape: Vec<usize>,
    order: Order,
}

impl NDBuffer {
    /// Wraps `buffer`, checking that its size is `shape` × itemsize.
    pub fn new(buffer: Buffer, dtype: DataType, shape: Vec<usize>, order: Order) -> Result<Self> {
        check_size(buffer.len(), &dtype, &shape)?;
        Ok(NDBuffer {
            buffer,
            dtype,
            shape,
            order,
        })
    }

    /// Plain bytes: dtype `|u1`, shape `[len]`, as compressors return.
    ///
    /// ```
    /// use ndpack::NDBuffer;
    /// let a = NDBuffer::from_bytes(vec![1u8, 2, 3]);
    /// assert_eq!((a.shape(), a.bytes()), (&[3][..], &[1, 2, 3][..]));
    /// ```
    pub fn from_bytes(bytes: impl Into<Buffer>) -> Self {
        let buffer = bytes.into();
        NDBuffer {
            shape: vec![buffer.len()],
            buffer,
            dtype: DataType::u8(),
            order: Order::C,
        }
    }

    /// A new array whose every item is the bytes `fill` (one item, in the dtype's byte order).
    pub fn create(shape: &[usize], dtype: DataType, order: Order, fill: &[u8]) -> Result<Self> {
        if fill.len() != dtype.itemsize() {
            return Err(Error::invalid_argument(format!(
                "fill value of {} bytes for {dtype} items of {} bytes",
                fill.len(),
                dtype.itemsize()
            )));
        }
        let total = byte_size(shape, &dtype)?;
        let mut block = AlignedBytes::try_zeroed(total)?;
        if fill.iter().any(|&b| b != 0) {
            for item in block.as_mut_slice().chunks_exact_mut(fill.len()) {
                item.copy_from_slice(fill);
            }
        }
        Self::new(Buffer::from_owner(block), dtype, shape.to_vec(), order)
    }

    /// A new array of zero bytes (NumPy's `empty` gives unspecified values; ndpack's are zero).
    pub fn empty(shape: &[usize], dtype: DataType, order: Order) -> Result<Self> {
        let fill = vec![0u8; dtype.itemsize()];
        Self::create(shape, dtype, order, &fill)
    }

    /// The bytes, as a [`Buffer`].
    pub fn buffer(&self) -> &Buffer {
        &self.buffer
    }
    /// The bytes.
    pub fn bytes(&self) -> &[u8] {
        &self.buffer
    }
    /// Takes the bytes.
    pub fn into_buffer(self) -> Buffer {
        self.buffer
    }
    /// Takes the parts: bytes, data type, shape and memory order.
    pub fn into_parts(self) -> (Buffer, DataType, Vec<usize>, Order) {
        (self.buffer, self.dtype, self.shape, self.order)
    }
    /// Borrows this array as an [`ArrayRef`].
    pub fn as_array_ref(&self) -> ArrayRef<'_> {
        ArrayRef {
            data: &self.buffer,
            dtype: self.dtype.clone(),
            shape: self.shape.clone(),
            order: self.order,
        }
    }
    /// The data type.
    pub fn dtype(&self) -> &DataType {
        &self.dtype
    }
    /// The shape.
    pub fn shape(&self) -> &[usize] {
        &self.shape
    }
    /// The memory order.
    pub fn order(&self) -> Order {
        self.order
    }
    /// Number of items.
    pub fn num_items(&self) -> usize {
        self.shape.iter().product()
    }
    /// Byte strides of each dimension for this order.
    pub fn byte_strides(&self) -> Vec<usize> {
        crate::region::strides(&self.shape, self.dtype.itemsize(), self.order)
    }
    /// The same bytes with another shape of the same number of items.
    pub fn reshape(&self, shape: Vec<usize>) -> Result<Self> {
        Self::new(self.buffer.clone(), self.dtype.clone(), shape, self.order)
    }
    /// Whether every item has the same bytes as `item`.
    pub fn all_equal(&self, item: &[u8]) -> bool {
        item.len() == self.dtype.itemsize()
            && (item.is_empty() || self.buffer.chunks_exact(item.len()).all(|c| c == item))
    }
    /// The items of `region` as a new array: see [`ArrayRef::read_region`].
    pub fn read_region(&self, region: &Region) -> Result<NDBuffer> {
        self.as_array_ref().read_region(region)
    }
}

impl fmt::Debug for NDBuffer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "NDBuffer(shape={:?}, dtype={}, order={:?})",
            self.shape, self.dtype, self.order
        )
    }
}

/// The size in bytes of `shape` items of `dtype`, or a `TooLarge` error if it overflows `usize`.
fn byte_size(shape: &[usize], dtype: &DataType) -> Result<usize> {
    checked_num_items(shape)?
        .checked_mul(dtype.itemsize())
        .ok_or_else(|| Error::too_large(format!("shape {shape:?} of {dtype} is too large")))
}

/// Checks that `len` bytes hold exactly `shape` items of `dtype`: the one size check of
/// [`NDBuffer`] and [`ArrayRef`].
fn check_size(len: usize, dtype: &DataType, shape: &[usize]) -> Result<()> {
    let want = byte_size(shape, dtype)?;
    if want != len {
        return Err(Error::invalid_argument(format!(
            "{len} bytes do not hold shape {shape:?} of {dtype} ({want} bytes)"
        )));
    }
    Ok(())
}

/// Borrowed, contiguous array data: bytes plus dtype, shape and memory order.
///
/// Byte codecs (compressors, checksums) look at the bytes alone; filters use the dtype and shape,
/// exactly as numcodecs does with the NumPy array it is given.
#[derive(Debug, Clone)]
pub struct ArrayRef<'a> {
    /// The items, contiguous in `order`.
    pub data: &'a [u8],
    /// The item type.
    pub dtype: DataType,
    /// The shape (empty for 0-d).
    pub shape: Vec<usize>,
    /// The memory order of `data`.
    pub order: Order,
}

impl<'a> ArrayRef<'a> {
    /// Plain bytes: dtype `|u1`, shape `[data.len()]`.
    pub fn bytes(data: &'a [u8]) -> Self {
        ArrayRef {
            data,
            dtype: DataType::u8(),
            shape: vec![data.len()],
            order: Order::C,
        }
    }

    /// An array view, checking that `data` holds exactly `shape` items of `dtype`.
    pub fn new(data: &'a [u8], dtype: DataType, shape: Vec<usize>, order: Order) -> Result<Self> {
        check_size(data.len(), &dtype, &shape)?;
        Ok(ArrayRef {
            data,
            dtype,
            shape,
            order,
        })
    }

    /// Number of items: `data.len() / itemsize`.
    pub fn num_items(&self) -> usize {
        match self.dtype.itemsize() {
            0 => 0,
            n => self.data.len() / n,
        }
    }

    /// The items of `region` (any steps) as a new contiguous array of the region's shape, in
    /// this array's order: NumPy's `a[region]`, copied. Large regions are copied in parallel.
    ///
    /// ```
    /// use ndpack::region::{Order, Region, Slice};
    /// use ndpack::buffer::ArrayRef;
    /// use ndpack::DataType;
    /// let data: Vec<u8> = (0..12).collect();
    /// let a = ArrayRef::new(&data, DataType::u8(), vec![3, 4], Order::C)?;
    /// let region = Region::new(vec![Slice::range(1, 3)?, Slice::new(3, -1, -2)?]);
    /// let part = a.read_region(&region)?;
    /// assert_eq!((part.shape(), part.bytes()), (&[2, 2][..], &[7, 5, 11, 9][..]));
    /// # Ok::<(), ndpack::Error>(())
    /// ```
    pub fn read_region(&self, region: &Region) -> Result<NDBuffer> {
        let shape = region.shape();
        let itemsize = self.dtype.itemsize();
        let out_layout = ArrayLayout::new(&shape, itemsize, self.order);
        let mut block = AlignedBytes::try_for_overwrite(out_layout.num_bytes()?)?;
        copy_region(
            self.data,
            ArrayLayout::new(&self.shape, itemsize, self.order),
            region,
            block.as_mut_slice(),
            out_layout,
            &Region::full(&shape)?,
        )?;
        NDBuffer::new(
            Buffer::from_owner(block),
            self.dtype.clone(),
            shape,
            self.order,
        )
    }
}

impl<'a> From<&'a NDBuffer> for ArrayRef<'a> {
    fn from(a: &'a NDBuffer) -> Self {
        a.as_array_ref()
    }
}

/// Borrowed, writable, contiguous array memory: the `out` of a decode.
#[derive(Debug)]
pub struct ArrayMut<'a> {
    /// The items to be written, contiguous in `order`.
    pub data: &'a mut [u8],
    /// The item type the caller expects.
    pub dtype: DataType,
    /// The shape the caller expects.
    pub shape: Vec<usize>,
    /// The memory order of `data`.
    pub order: Order,
}

impl<'a> ArrayMut<'a> {
    /// Plain writable bytes: dtype `|u1`, shape `[data.len()]`.
    pub fn bytes(data: &'a mut [u8]) -> Self {
        let len = data.len();
        ArrayMut {
            data,
            dtype: DataType::u8(),
            shape: vec![len],
            order: Order::C,
        }
    }

    /// Copies `src_region` of `src` into `region` of this array, pairing items in C order of
    /// the regions (NumPy's `self[region] = src[src_region]`); items outside `region` keep
    /// their bytes. Errors if the data types differ, an array's bytes do not match its shape,
    /// a region does not lie inside its array, or the regions' shapes differ.
    ///
    /// ```
    /// use ndpack::region::{Order, Region, Slice};
    /// use ndpack::buffer::{ArrayMut, ArrayRef};
    /// use ndpack::DataType;
    /// let src = ArrayRef::new(&[1, 2, 3], DataType::u8(), vec![3], Order::C)?;
    /// let mut out = [0u8; 6];
    /// let mut dst = ArrayMut::bytes(&mut out);
    /// let every_other = Region::new(vec![Slice::new(4, -1, -2)?]);
    /// dst.copy_region_from(&every_other, &src, &Region::full(&[3])?)?;
    /// assert_eq!(out, [3, 0, 2, 0, 1, 0]);
    /// # Ok::<(), ndpack::Error>(())
    /// ```
    pub fn copy_region_from(
        &mut self,
        region: &Region,
        src: &ArrayRef<'_>,
        src_region: &Region,
    ) -> Result<()> {
        if src.dtype != self.dtype {
            return Err(Error::invalid_argument(format!(
                "cannot copy {} items into {} items",
                src.dtype, self.dtype
            )));
        }
        let itemsize = self.dtype.itemsize();
        copy_region(
            src.data,
            ArrayLayout::new(&src.shape, itemsize, src.order),
            src_region,
            self.data,
            ArrayLayout::new(&self.shape, itemsize, self.order),
            region,
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn regions_of_arrays_keep_order_and_dtype() {
        use crate::region::Slice;
        // A (2, 3) array in F order: a00 a10 a01 a11 a02 a12 in memory.
        let data = [0u8, 10, 1, 11, 2, 12];
        let a = ArrayRef::new(&data, DataType::u8(), vec![2, 3], Order::F).unwrap();
        // a[1:2, ::-2]
        let r = Region::new(vec![
            Slice::range(1, 2).unwrap(),
            Slice::new(2, -1, -2).unwrap(),
        ]);
        let part = a.read_region(&r).unwrap();
        assert_eq!((part.shape(), part.order()), (&[1, 2][..], Order::F));
        assert_eq!(part.bytes(), [12, 10]);
        let nd = NDBuffer::new(
            Buffer::from(&data[..]),
            DataType::u8(),
            vec![2, 3],
            Order::F,
        );
        assert_eq!(nd.unwrap().read_region(&r).unwrap(), part);
        assert!(a.read_region(&Region::full(&[3, 3]).unwrap()).is_err());
        // Into a C-order (3, 2) array's column 1, reversed.
        let mut out = [0u8; 6];
        let mut dst = ArrayMut {
            data: &mut out,
            dtype: DataType::u8(),
            shape: vec![3, 2],
            order: Order::C,
        };
        let col = Region::new(vec![
            Slice::new(2, -1, -1).unwrap(),
            Slice::range(1, 2).unwrap(),
        ]);
        let row = Region::new(vec![
            Slice::range(0, 1).unwrap(),
            Slice::range(0, 3).unwrap(),
        ]);
        assert!(dst.copy_region_from(&col, &a, &row).is_err()); // shapes (3, 1) and (1, 3)
        let col_t = Region::new(vec![Slice::range(0, 3).unwrap()]);
        let a_flat = ArrayRef::new(&[5, 6, 7], DataType::u8(), vec![3], Order::C).unwrap();
        let col_flat = Region::new(vec![Slice::new(2, -1, -1).unwrap()]);
        let mut flat = ArrayMut::bytes(&mut out[..3]);
        flat.copy_region_from(&col_flat, &a_flat, &col_t).unwrap();
        assert_eq!(out[..3], [7, 6, 5]);
        let wide: DataType = "<u2".parse().unwrap();
        let b = ArrayRef::new(&[0; 6], wide, vec![3], Order::C).unwrap();
        let mut dst = ArrayMut::bytes(&mut out);
        let err = dst.copy_region_from(&col_t, &b, &col_t).unwrap_err();
        assert_eq!(err.message(), "cannot copy <u2 items into |u1 items");
    }

    #[test]
    fn ndbuffer_create_fill_and_checks() {
        let dt: DataType = "<i4".parse().unwrap();
        let a = NDBuffer::create(&[2, 3], dt.clone(), Order::C, &7i32.to_le_bytes()).unwrap();
        assert!(a.all_equal(&7i32.to_le_bytes()));
        assert_eq!(a.byte_strides(), vec![12, 4]);
        assert!(NDBuffer::new(Buffer::zeroed(5), dt.clone(), vec![2], Order::C).is_err());
        assert!(NDBuffer::create(&[usize::MAX, 2], dt, Order::C, &[0; 4]).is_err());
        let e = NDBuffer::empty(&[0, 5], "<f8".parse().unwrap(), Order::F).unwrap();
        assert_eq!(e.buffer().len(), 0);
    }

    #[test]
    fn views_and_owned_arrays_share_one_size_check() {
        use crate::error::ErrorKind;
        let i2: DataType = "<i2".parse().unwrap();
        let data = [1u8, 0, 2, 0, 3, 0];
        let v = ArrayRef::new(&data, i2.clone(), vec![3], Order::F).unwrap();
        assert_eq!((v.num_items(), v.order), (3, Order::F));
        for e in [
            ArrayRef::new(&data, i2.clone(), vec![2], Order::C).unwrap_err(),
            NDBuffer::new(Buffer::from(&data[..]), i2.clone(), vec![4], Order::C).unwrap_err(),
        ] {
            assert_eq!(e.kind(), ErrorKind::InvalidArgument);
            assert!(e.message().contains("bytes do not hold shape"), "{e}");
        }
        let e = ArrayRef::new(&data, i2.clone(), vec![usize::MAX, 2], Order::C).unwrap_err();
        assert_eq!(e.kind(), ErrorKind::TooLarge, "{e}");
        let b = ArrayRef::bytes(&data);
        assert_eq!((b.dtype.itemsize(), b.shape.as_slice()), (1, &[6][..]));

        let a = NDBuffer::from_bytes(data.to_vec());
        assert_eq!(
            (a.dtype(), a.shape(), a.bytes()),
            (&DataType::u8(), &[6][..], &data[..])
        );
        let r = NDBuffer::new(a.buffer().clone(), i2.clone(), vec![3], Order::F).unwrap();
        let view = ArrayRef::from(&r);
        assert_eq!(
            (view.data, &view.dtype, view.order),
            (&data[..], &i2, Order::F)
        );
        assert_eq!(view.shape, [3]);
        let (buffer, dtype, shape, order) = r.into_parts();
        assert_eq!(
            (&buffer[..], dtype, shape, order),
            (&data[..], i2, vec![3], Order::F)
        );
        let mut out = [0u8; 4];
        let m = ArrayMut::bytes(&mut out);
        assert_eq!((m.data.len(), m.shape.as_slice()), (4, &[4][..]));
    }
}
