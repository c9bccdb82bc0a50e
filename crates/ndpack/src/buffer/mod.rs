//! Memory blocks: [`Buffer`] (ref-counted, sliceable, 64-byte aligned when ndpack allocates it,
//! able to own foreign memory without copying), [`NDBuffer`] (a buffer with dtype, shape and
//! memory order: the owned array type, which codecs return) and the borrowed views
//! [`ArrayRef`] and [`ArrayMut`] (the input and the `out` memory of codecs).

mod aligned;
mod array;

use std::any::Any;
use std::fmt;
use std::ops::{Deref, Range};
use std::sync::Arc;

pub use aligned::{release_cached_blocks, AlignedBytes, ALIGNMENT};
pub use array::{ArrayMut, ArrayRef, NDBuffer};

use crate::error::{Error, Result};

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
}
