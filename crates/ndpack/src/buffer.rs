//! Memory blocks: [`Buffer`] (ref-counted, sliceable, 64-byte aligned when ndpack allocates it,
//! able to own foreign memory without copying), [`NDBuffer`] (a buffer with dtype, shape and
//! memory order: the owned array type, which codecs return) and the borrowed views
//! [`ArrayRef`] and [`ArrayMut`] (the input and the `out` memory of codecs).

use std::alloc::{self, Layout};
use std::any::Any;
use std::fmt;
use std::ops::{Deref, Range};
use std::sync::Arc;

use crate::dtype::DataType;
use crate::error::{Error, Result};
use crate::region::Layout as ArrayLayout;
use crate::region::{checked_num_items, copy_region, Order, Region};

/// The alignment of every block ndpack allocates.
pub const ALIGNMENT: usize = 64;

/// Blocks of at least this many bytes are anonymous memory maps: the kernel hands them out
/// zeroed (no `memset`, pages touched only when written) and, advised so, in 2 MiB pages (as
/// NumPy does for its large arrays), which cuts page faults 512-fold.
const MAP_MIN_BYTES: usize = 16 << 20;

/// A zero-initialised block of `len` bytes aligned to [`ALIGNMENT`].
pub struct AlignedBytes {
    ptr: std::ptr::NonNull<u8>,
    len: usize,
    /// The mapping that owns the memory of a large block (`None`: the global allocator's).
    map: Option<memmap2::MmapMut>,
}

// SAFETY: AlignedBytes uniquely owns its allocation, like a Vec<u8>.
unsafe impl Send for AlignedBytes {}
// SAFETY: shared access only hands out `&[u8]`.
unsafe impl Sync for AlignedBytes {}

impl AlignedBytes {
    /// Allocates `len` zeroed bytes aligned to [`ALIGNMENT`]; aborts when the memory cannot be
    /// had, as `Vec` does. Sizes that come from input or from a caller go through
    /// [`AlignedBytes::try_zeroed`].
    pub fn zeroed(len: usize) -> Self {
        Self::try_zeroed(len).unwrap_or_else(|_| abort_alloc(len))
    }

    /// Allocates `len` zeroed bytes aligned to [`ALIGNMENT`], or an
    /// [`ErrorKind::OutOfMemory`](crate::ErrorKind::OutOfMemory) error when the memory cannot be
    /// had.
    pub fn try_zeroed(len: usize) -> Result<Self> {
        if len == 0 {
            return Ok(Self::empty());
        }
        if len >= MAP_MIN_BYTES {
            if let Some(map) = fresh_map(len) {
                return Ok(Self::from_map(map, len));
            }
        }
        Self::heap_zeroed(len)
    }

    /// Allocates `len` bytes aligned to [`ALIGNMENT`] whose contents the caller overwrites
    /// completely: the bytes are initialised but unspecified (zeros, or what an earlier block of
    /// this process held).
    ///
    /// Large blocks come from [`recycled`](self) maps of recently dropped blocks when one fits,
    /// so a loop that decodes into fresh arrays reuses memory whose pages are already mapped
    /// (no page faults, no zeroing by the kernel) instead of faulting in new pages on each call.
    /// In debug builds every block is filled with `0xA5` first, so that code which relies on
    /// zeros fails its tests. Aborts when the memory cannot be had, as `Vec` does; sizes that
    /// come from input or from a caller go through [`AlignedBytes::try_for_overwrite`].
    pub fn for_overwrite(len: usize) -> Self {
        Self::try_for_overwrite(len).unwrap_or_else(|_| abort_alloc(len))
    }

    /// As [`AlignedBytes::for_overwrite`], or an
    /// [`ErrorKind::OutOfMemory`](crate::ErrorKind::OutOfMemory) error when the memory cannot be
    /// had.
    pub fn try_for_overwrite(len: usize) -> Result<Self> {
        if len == 0 {
            return Ok(Self::empty());
        }
        let mut block = if len >= MAP_MIN_BYTES {
            match recycled::take(len).or_else(|| fresh_map(len)) {
                Some(map) => Self::from_map(map, len),
                None => Self::heap_zeroed(len)?,
            }
        } else {
            Self::heap_zeroed(len)?
        };
        if cfg!(debug_assertions) {
            block.as_mut_slice().fill(0xA5);
        }
        Ok(block)
    }

    fn empty() -> Self {
        AlignedBytes {
            ptr: std::ptr::NonNull::<[u8; ALIGNMENT]>::dangling().cast(),
            len: 0,
            map: None,
        }
    }

    fn from_map(mut map: memmap2::MmapMut, len: usize) -> Self {
        debug_assert!(map.len() >= len);
        // Page-aligned, so ALIGNMENT-aligned.
        let ptr = std::ptr::NonNull::new(map.as_mut_ptr()).expect("mapping is not null");
        AlignedBytes {
            ptr,
            len,
            map: Some(map),
        }
    }

    /// `len` (non-zero) zeroed bytes from the global allocator; an error when it has none.
    fn heap_zeroed(len: usize) -> Result<Self> {
        let layout = Layout::from_size_align(len, ALIGNMENT)
            .map_err(|_| Error::alloc_failed("memory block", len))?;
        // SAFETY: layout has non-zero size.
        let raw = unsafe { alloc::alloc_zeroed(layout) };
        let ptr =
            std::ptr::NonNull::new(raw).ok_or_else(|| Error::alloc_failed("memory block", len))?;
        Ok(AlignedBytes {
            ptr,
            len,
            map: None,
        })
    }

    /// The bytes, writable.
    pub fn as_mut_slice(&mut self) -> &mut [u8] {
        // SAFETY: ptr is valid for len initialised bytes, uniquely owned by self.
        unsafe { std::slice::from_raw_parts_mut(self.ptr.as_ptr(), self.len) }
    }
}

/// Reports a failed allocation of `len` bytes the way the standard library does (an abort).
fn abort_alloc(len: usize) -> ! {
    match Layout::from_size_align(len, ALIGNMENT) {
        Ok(layout) => alloc::handle_alloc_error(layout),
        Err(_) => panic!("capacity overflow: {len} bytes"),
    }
}

/// A new anonymous map of at least `len` bytes (rounded up to whole 2 MiB pages, so that blocks
/// of nearby sizes can reuse it), advised into huge pages.
fn fresh_map(len: usize) -> Option<memmap2::MmapMut> {
    let rounded = len.checked_next_multiple_of(recycled::HUGE_PAGE)?;
    let map = memmap2::MmapMut::map_anon(rounded).ok()?;
    // Only advice: without huge pages the block is still zeroed and valid.
    #[cfg(target_os = "linux")]
    let _ = map.advise(memmap2::Advice::HugePage);
    Some(map)
}

impl AsRef<[u8]> for AlignedBytes {
    fn as_ref(&self) -> &[u8] {
        // SAFETY: ptr is valid for len initialised bytes for the lifetime of self.
        unsafe { std::slice::from_raw_parts(self.ptr.as_ptr(), self.len) }
    }
}

impl Drop for AlignedBytes {
    fn drop(&mut self) {
        if let Some(map) = self.map.take() {
            recycled::give(map);
        } else if self.len != 0 {
            let layout = Layout::from_size_align(self.len, ALIGNMENT).expect("checked at alloc");
            // SAFETY: allocated in `heap_zeroed` with this layout.
            unsafe { alloc::dealloc(self.ptr.as_ptr(), layout) };
        }
    }
}

/// Releases the large blocks ndpack keeps mapped for reuse (see [`AlignedBytes::for_overwrite`]):
/// at most 4 blocks and 256 MiB in all are ever kept.
pub fn release_cached_blocks() {
    recycled::clear();
}

/// The maps of recently dropped large blocks, kept for [`AlignedBytes::for_overwrite`], as
/// `malloc` keeps freed memory for the next allocation: a bounded list (newest last).
mod recycled {
    use std::sync::{Mutex, MutexGuard};

    use memmap2::MmapMut;

    use crate::threads::{take_unlocked, PerProcess};

    /// Map lengths are multiples of this.
    pub(super) const HUGE_PAGE: usize = 2 << 20;

    /// A bounded list of maps kept for reuse.
    pub(super) struct Recycler {
        maps: Mutex<Vec<MmapMut>>,
        max_blocks: usize,
        max_bytes: usize,
    }

    /// The process-wide list: at most 4 maps and 256 MiB. A child made by `fork` takes its
    /// parent's maps (its private copies) unless a thread held the lock at the fork.
    static RECYCLER: PerProcess<Recycler> = PerProcess::new(|parent| Recycler {
        maps: Mutex::new(take_unlocked(parent.map(|p| &p.maps))),
        ..Recycler::new(4, 256 << 20)
    });

    impl Recycler {
        pub(super) const fn new(max_blocks: usize, max_bytes: usize) -> Self {
            Recycler {
                maps: Mutex::new(Vec::new()),
                max_blocks,
                max_bytes,
            }
        }

        fn maps(&self) -> MutexGuard<'_, Vec<MmapMut>> {
            self.maps.lock().unwrap_or_else(|e| e.into_inner())
        }

        /// The smallest kept map that holds `len` bytes without wasting more than a quarter
        /// of it (or one huge page).
        pub(super) fn take(&self, len: usize) -> Option<MmapMut> {
            let mut maps = self.maps();
            let fits = |m: &MmapMut| m.len() >= len && m.len() - len <= (len / 4).max(HUGE_PAGE);
            let best = (0..maps.len())
                .filter(|&i| fits(&maps[i]))
                .min_by_key(|&i| maps[i].len())?;
            Some(maps.remove(best))
        }

        /// Keeps `map` for reuse, dropping the oldest maps beyond the bounds.
        pub(super) fn give(&self, map: MmapMut) {
            if map.len() > self.max_bytes || self.max_blocks == 0 {
                return;
            }
            let evicted: Vec<MmapMut> = {
                let mut maps = self.maps();
                maps.push(map);
                let mut total: usize = maps.iter().map(|m| m.len()).sum();
                let mut n = 0;
                while maps.len() - n > self.max_blocks || total > self.max_bytes {
                    total -= maps[n].len();
                    n += 1;
                }
                maps.drain(..n).collect()
            };
            drop(evicted); // unmapped outside the lock
        }

        pub(super) fn clear(&self) {
            let all = std::mem::take(&mut *self.maps());
            drop(all);
        }

        #[cfg(test)]
        pub(super) fn kept(&self) -> Vec<(usize, usize)> {
            self.maps()
                .iter()
                .map(|m| (m.as_ptr() as usize, m.len()))
                .collect()
        }
    }

    pub(super) fn take(len: usize) -> Option<MmapMut> {
        RECYCLER.get().take(len)
    }

    pub(super) fn give(map: MmapMut) {
        RECYCLER.get().give(map)
    }

    pub(super) fn clear() {
        RECYCLER.get().clear()
    }
}

/// An owner of bytes that a [`Buffer`] can keep alive: a `Vec<u8>`, an mmap, a Python object.
pub trait Owner: AsRef<[u8]> + Any + Send + Sync + 'static {}
impl<T: AsRef<[u8]> + Send + Sync + 'static> Owner for T {}

/// An immutable, ref-counted, sliceable block of bytes.
///
/// Cloning and slicing never copy. A buffer may own memory allocated elsewhere
/// ([`Buffer::from_owner`]): a `Vec<u8>`, a memory map, or an object of a foreign runtime.
///
/// ```
/// use ndpack::Buffer;
/// let b = Buffer::from_vec(vec![1u8, 2, 3, 4]);
/// let tail = b.slice(2..4);
/// assert_eq!(&tail[..], &[3, 4]);
/// ```
#[derive(Clone)]
pub struct Buffer {
    owner: Arc<dyn Owner>,
    offset: usize,
    len: usize,
}

impl Buffer {
    /// An empty buffer.
    pub fn empty() -> Self {
        Self::from_vec(Vec::new())
    }

    /// Takes a `Vec<u8>` without copying.
    pub fn from_vec(v: Vec<u8>) -> Self {
        Self::from_owner(v)
    }

    /// Copies `data` into a new 64-byte aligned block.
    pub fn copy_from_slice(data: &[u8]) -> Self {
        let mut block = AlignedBytes::zeroed(data.len());
        block.as_mut_slice().copy_from_slice(data);
        Self::from_owner(block)
    }

    /// A new 64-byte aligned block of `len` zero bytes.
    pub fn zeroed(len: usize) -> Self {
        Self::from_owner(AlignedBytes::zeroed(len))
    }

    /// A new 64-byte aligned block of `len` zero bytes, or an
    /// [`ErrorKind::OutOfMemory`](crate::ErrorKind::OutOfMemory) error when the memory cannot be
    /// had.
    pub fn try_zeroed(len: usize) -> Result<Self> {
        Ok(Self::from_owner(AlignedBytes::try_zeroed(len)?))
    }

    /// Wraps memory owned by `owner` without copying; `owner` is dropped with the last clone.
    pub fn from_owner(owner: impl Owner) -> Self {
        let len = owner.as_ref().len();
        Buffer {
            owner: Arc::new(owner),
            offset: 0,
            len,
        }
    }

    /// The bytes.
    pub fn as_slice(&self) -> &[u8] {
        &self.owner.as_ref().as_ref()[self.offset..self.offset + self.len]
    }

    /// Number of bytes.
    pub fn len(&self) -> usize {
        self.len
    }

    /// Whether there are no bytes.
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// A view of `range` of this buffer, sharing its memory. Panics if out of range, like slicing.
    pub fn slice(&self, range: Range<usize>) -> Self {
        assert!(
            range.start <= range.end && range.end <= self.len,
            "slice {range:?} out of range for buffer of {} bytes",
            self.len
        );
        Buffer {
            owner: Arc::clone(&self.owner),
            offset: self.offset + range.start,
            len: range.end - range.start,
        }
    }

    /// Whether the first byte is aligned to `align` bytes.
    pub fn is_aligned(&self, align: usize) -> bool {
        (self.as_slice().as_ptr() as usize).is_multiple_of(align)
    }

    /// The bytes, writable, when this handle is the only one to a block allocated in Rust
    /// ([`AlignedBytes`] or `Vec<u8>`: [`Buffer::zeroed`], [`Buffer::copy_from_slice`],
    /// [`Buffer::from_vec`]); `None` when the block is shared with another handle or owned by a
    /// foreign owner (a memory map, a Python object), which must not be written through.
    ///
    /// Front ends use it to hand a fresh codec result to another runtime as writable memory
    /// without copying.
    ///
    /// ```
    /// use ndpack::Buffer;
    /// let mut b = Buffer::from_vec(vec![1u8, 2, 3]);
    /// b.unique_mut().unwrap()[0] = 9;
    /// assert_eq!(&b[..], &[9, 2, 3]);
    /// let shared = b.clone();
    /// assert!(b.unique_mut().is_none());
    /// drop(shared);
    /// assert!(b.unique_mut().is_some());
    /// ```
    pub fn unique_mut(&mut self) -> Option<&mut [u8]> {
        let range = self.offset..self.offset + self.len;
        let owner: &mut dyn Any = Arc::get_mut(&mut self.owner)?;
        if owner.is::<AlignedBytes>() {
            let block = owner.downcast_mut::<AlignedBytes>()?;
            return Some(&mut block.as_mut_slice()[range]);
        }
        owner
            .downcast_mut::<Vec<u8>>()
            .map(|v| &mut v.as_mut_slice()[range])
    }

    /// Copies the bytes into a `Vec<u8>`.
    pub fn to_vec(&self) -> Vec<u8> {
        self.as_slice().to_vec()
    }
}

impl Deref for Buffer {
    type Target = [u8];
    fn deref(&self) -> &[u8] {
        self.as_slice()
    }
}

impl AsRef<[u8]> for Buffer {
    fn as_ref(&self) -> &[u8] {
        self.as_slice()
    }
}

impl PartialEq for Buffer {
    fn eq(&self, other: &Self) -> bool {
        self.as_slice() == other.as_slice()
    }
}
impl Eq for Buffer {}

impl fmt::Debug for Buffer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Buffer({} bytes)", self.len)
    }
}

impl From<Vec<u8>> for Buffer {
    fn from(v: Vec<u8>) -> Self {
        Buffer::from_vec(v)
    }
}

impl From<&[u8]> for Buffer {
    fn from(v: &[u8]) -> Self {
        Buffer::copy_from_slice(v)
    }
}

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
            return Err(Error::invalid(format!(
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
        return Err(Error::invalid(format!(
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
            return Err(Error::invalid(format!(
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

/// Makes room in `v` for `total` items in all (reserving exactly what is missing), or gives an
/// [`ErrorKind::OutOfMemory`](crate::ErrorKind::OutOfMemory) error saying that `what` could not
/// have `total` bytes.
pub(crate) fn try_reserve_total<T>(v: &mut Vec<T>, total: usize, what: &str) -> Result<()> {
    match total.checked_sub(v.len()) {
        Some(more) if more > 0 => v
            .try_reserve_exact(more)
            .map_err(|_| Error::alloc_failed(what, total)),
        _ => Ok(()),
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
    fn recycler_reuses_fitting_maps_and_keeps_its_bounds() {
        use recycled::{Recycler, HUGE_PAGE};
        let r = Recycler::new(2, 10 * HUGE_PAGE);
        let map = |pages: usize| memmap2::MmapMut::map_anon(pages * HUGE_PAGE).unwrap();
        r.give(map(4));
        let kept = r.kept();
        assert_eq!(kept.len(), 1);
        // Too big for the request's slack, too small for another: not taken.
        assert!(r.take(HUGE_PAGE).is_none());
        assert!(r.take(4 * HUGE_PAGE + 1).is_none());
        let m = r.take(4 * HUGE_PAGE - 100).expect("fits");
        assert_eq!((m.as_ptr() as usize, m.len()), kept[0]);
        assert!(r.kept().is_empty());
        // The oldest maps go first, by count and by bytes.
        r.give(m);
        r.give(map(3));
        r.give(map(2));
        assert_eq!(
            r.kept().iter().map(|k| k.1 / HUGE_PAGE).collect::<Vec<_>>(),
            [3, 2]
        );
        r.give(map(6));
        assert_eq!(
            r.kept().iter().map(|k| k.1 / HUGE_PAGE).collect::<Vec<_>>(),
            [2, 6]
        );
        r.give(map(11)); // larger than the whole budget: not kept
        assert_eq!(r.kept().len(), 2);
        // The smallest fitting map is taken.
        r.give(map(5));
        assert_eq!(r.take(5 * HUGE_PAGE).unwrap().len(), 5 * HUGE_PAGE);
        r.clear();
        assert!(r.kept().is_empty());
    }

    #[test]
    fn blocks_for_overwrite_are_writable_and_poisoned_in_debug() {
        for len in [1, 100, MAP_MIN_BYTES + 5] {
            let mut b = AlignedBytes::for_overwrite(len);
            assert_eq!(b.as_ref().len(), len);
            assert_eq!(b.as_ref().as_ptr() as usize % ALIGNMENT, 0);
            assert_eq!(b.map.is_some(), len >= MAP_MIN_BYTES);
            if cfg!(debug_assertions) {
                assert!(b.as_ref().iter().all(|&v| v == 0xA5));
            }
            b.as_mut_slice()[len - 1] = 7;
            assert_eq!(b.as_ref()[len - 1], 7);
        }
        // zeroed() never hands out a recycled block's old bytes.
        drop(AlignedBytes::for_overwrite(MAP_MIN_BYTES + 5));
        let z = AlignedBytes::zeroed(MAP_MIN_BYTES + 5);
        assert!(z.as_ref().iter().step_by(4093).all(|&v| v == 0));
        release_cached_blocks();
    }

    #[test]
    fn large_blocks_are_zeroed_aligned_and_writable() {
        for len in [MAP_MIN_BYTES - 1, MAP_MIN_BYTES + 3] {
            let mut b = AlignedBytes::zeroed(len);
            assert_eq!(b.map.is_some(), len >= MAP_MIN_BYTES);
            assert_eq!(b.as_ref().len(), len);
            assert_eq!(b.as_ref().as_ptr() as usize % ALIGNMENT, 0);
            assert!(b.as_ref().iter().step_by(4093).all(|&v| v == 0));
            assert_eq!(b.as_ref()[len - 1], 0);
            let s = b.as_mut_slice();
            s[0] = 1;
            s[len - 1] = 2;
            assert_eq!((b.as_ref()[0], b.as_ref()[len - 1]), (1, 2));
        }
    }

    #[test]
    fn aligned_and_sliceable() {
        let b = Buffer::copy_from_slice(&[1, 2, 3, 4, 5]);
        assert!(b.is_aligned(ALIGNMENT));
        let s = b.slice(1..4);
        assert_eq!(&s[..], &[2, 3, 4]);
        assert_eq!(&s.slice(1..2)[..], &[3]);
        assert!(Buffer::zeroed(0).is_empty());
    }

    #[test]
    fn foreign_owner_is_not_copied() {
        let v = vec![7u8; 100];
        let ptr = v.as_ptr();
        let b = Buffer::from_vec(v);
        assert_eq!(b.as_ptr(), ptr);
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

    #[test]
    fn allocations_past_the_address_space_are_errors() {
        use crate::error::ErrorKind;
        // 2^56 bytes: more than any process can map, whatever the overcommit policy.
        let huge = 1usize << 56;
        for e in [
            AlignedBytes::try_zeroed(huge).err(),
            AlignedBytes::try_for_overwrite(huge).err(),
            AlignedBytes::try_zeroed(usize::MAX).err(),
            Buffer::try_zeroed(huge).err(),
        ] {
            assert_eq!(e.expect("no memory").kind(), ErrorKind::OutOfMemory);
        }
        let f8: DataType = "<f8".parse().unwrap();
        let e = NDBuffer::create(&[1 << 53], f8.clone(), Order::C, &[0; 8]).unwrap_err();
        assert_eq!(e.kind(), ErrorKind::OutOfMemory, "{e}");
        assert!(NDBuffer::empty(&[1 << 50, 8], f8.clone(), Order::F).is_err());
        // Small and empty blocks still come back zeroed.
        assert!(AlignedBytes::try_zeroed(0).unwrap().as_ref().is_empty());
        let b = AlignedBytes::try_zeroed(MAP_MIN_BYTES + 1).unwrap();
        assert!(b.as_ref().iter().all(|&x| x == 0));
        assert_eq!(
            AlignedBytes::try_for_overwrite(100).unwrap().as_ref().len(),
            100
        );
        let nd = NDBuffer::create(&[3], f8, Order::C, &1.5f64.to_le_bytes()).unwrap();
        assert_eq!(&nd.buffer()[8..16], &1.5f64.to_le_bytes());
    }
}
