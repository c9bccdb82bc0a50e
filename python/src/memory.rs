//! The one way the bindings read and write Python memory. Nothing else in the extension touches
//! a `Py_buffer`, the bytes of a `bytes` object or the data pointer of a NumPy array.
//!
//! - [`PyMemory`]: the bytes of a Python object, read in place without a copy: `bytes`, a NumPy
//!   array, our `Buffer`/`NDBuffer`, anything with the buffer protocol (`bytearray`,
//!   `memoryview`, `mmap`, ...). The object stays alive (and, for a buffer export, unresizable)
//!   while the value lives; [`PyMemory::into_buffer`] turns it into an [`ndpack::Buffer`] that
//!   owns it, still without a copy.
//! - [`PyMemoryMut`]: the writable memory of a Python object (the `out=` of a call).
//! - [`bytes_with`]: a new `bytes` object that Rust fills in place with the GIL released
//!   ([`bytes_from_slice`] copies a Rust slice into one).
//! - [`NumpyBase`] and [`RustBuffer`]: memory that NumPy arrays view without a copy, and the
//!   object that keeps it alive as their `base`: a Rust [`Buffer`] held by a `_ndpack._RustBuffer`,
//!   or the Python object a [`PyMemory`] came from. [`NumpyBase::array`] makes the array.
//!
//! # The pattern every binding follows
//!
//! ```ignore
//! #[pyfunction]
//! fn decode<'py>(py: Python<'py>, data: &Bound<'py, PyAny>) -> PyResult<Bound<'py, PyBytes>> {
//!     // 1. Borrow the input (a `ValueError` with this message when it is not C-contiguous).
//!     let src = PyMemory::c_contiguous(data, "buffer must be C-contiguous")?;
//!     let input = src.as_slice();
//!     // 2. Size the output from the input, then fill a new `bytes` without the GIL.
//!     let n = decoded_size(input).map_err(to_py)?;
//!     bytes_with(py, n, |out| decode_into_uninit(input, out))
//! }
//! ```
//!
//! - Into a caller's buffer: `let mut dst = PyMemoryMut::c_contiguous(out, ..)?;` then
//!   `py.detach(|| work(src.as_slice(), dst.as_mut_slice()))`.
//! - Keeping the input beyond the call (an archive, a lazily read array):
//!   [`PyMemory::into_buffer`], then Rust code holds a [`Buffer`].
//! - A NumPy array over a Rust result: `RustBuffer::base_mut(py, buffer)?.array(py, &dtype,
//!   &shape, order, false)`; over (part of) the input: [`PyMemory::into_numpy_base`] then
//!   [`NumpyBase::part`].
//!
//! Borrowed memory stays valid and in place while the GIL is released: a buffer export forbids
//! the exporter to free or resize it until it is released, `bytes` never change, a NumPy array
//! cannot be resized while we hold a reference to it, and our buffers are immutable. Work on
//! more than a few microseconds of data runs inside `py.detach`.

use std::mem::MaybeUninit;
use std::ops::Range;
use std::os::raw::{c_int, c_void};
use std::ptr::NonNull;

use ndpack::{Buffer, Order};
use numpy::npyffi::{self, npy_intp, NpyTypes, PY_ARRAY_API};
use numpy::{PyArrayDescr, PyArrayDescrMethods, PyUntypedArray, PyUntypedArrayMethods};
use pyo3::buffer::PyUntypedBuffer;
use pyo3::exceptions::{PyMemoryError, PyTypeError, PyValueError};
use pyo3::ffi;
use pyo3::prelude::*;
use pyo3::types::PyBytes;

use crate::buffer::{PyBuf, PyNDBuf};
use crate::errors::to_py;

/// Copies of at least this many bytes run with the GIL released.
const DETACH_BYTES: usize = 1 << 16;

/// The bytes of a Python object, read in place: shared from our `Buffer`/`NDBuffer`, read
/// straight from a `bytes` object or a NumPy array, or exported through the buffer protocol.
/// The object stays alive (and, for an export, unresizable) while this value or a [`Buffer`]
/// made from it lives.
pub struct PyMemory {
    source: Source,
}

enum Source {
    /// The Rust buffer of a `Buffer`/`NDBuffer` of ours, shared.
    Rust { buffer: Buffer, c_contiguous: bool },
    /// A `bytes` object, immutable, so read without a buffer export.
    Bytes(HeldBy),
    /// A NumPy array without Python objects in its items, read at its data pointer.
    Array {
        held: HeldBy,
        writable: bool,
        c_contiguous: bool,
        f_contiguous: bool,
    },
    /// A buffer-protocol export, released (letting the exporter free or resize its memory) when
    /// dropped.
    View(ViewOwner),
}

/// Bytes that a Python object (`bytes`, a NumPy array) holds in place for as long as it lives.
struct HeldBy {
    ptr: *const u8,
    len: usize,
    obj: Py<PyAny>,
}

// SAFETY: the bytes belong to `obj`, which keeps them alive and in place: a `bytes` object never
// changes, a NumPy array cannot be resized while a reference to it is held, and a `_RustBuffer`
// owns a `Buffer`, which never moves its bytes. They are only read through this value.
unsafe impl Send for HeldBy {}
// SAFETY: as above; shared access only reads.
unsafe impl Sync for HeldBy {}

impl AsRef<[u8]> for HeldBy {
    fn as_ref(&self) -> &[u8] {
        if self.len == 0 {
            return &[];
        }
        // SAFETY: `ptr` is valid for `len` bytes while `obj` lives (see above).
        unsafe { std::slice::from_raw_parts(self.ptr, self.len) }
    }
}

/// A buffer export of contiguous memory.
struct ViewOwner(PyUntypedBuffer);

impl AsRef<[u8]> for ViewOwner {
    fn as_ref(&self) -> &[u8] {
        let len = self.0.len_bytes();
        if len == 0 {
            return &[];
        }
        // SAFETY: a `ViewOwner` is only made of a contiguous view (checked by the `PyMemory`
        // constructors) whose `len_bytes` bytes start at `buf_ptr`. The exporter keeps that
        // memory valid (and does not move or resize it) until the view is released, which
        // happens when this owner is dropped.
        unsafe { std::slice::from_raw_parts(self.0.buf_ptr() as *const u8, len) }
    }
}

fn type_name(obj: &Bound<'_, PyAny>) -> String {
    obj.get_type()
        .name()
        .map(|n| n.to_string())
        .unwrap_or_default()
}

/// The memory of a NumPy array whose items hold no Python objects; `None` for other objects.
fn numpy_source(obj: &Bound<'_, PyAny>) -> Option<Source> {
    let array = obj.cast::<PyUntypedArray>().ok()?;
    let dtype = array.dtype();
    if dtype.has_object() {
        return None;
    }
    let len = array
        .shape()
        .iter()
        .try_fold(dtype.itemsize(), |n, &d| n.checked_mul(d))?;
    // SAFETY: `array` is a live NumPy array; its fields are read with the GIL held.
    let (data, flags) = unsafe {
        let fields = npyffi::objects::_PyArray_GET_ITEM_DATA(array.as_array_ptr());
        ((*fields).data, (*fields).flags)
    };
    Some(Source::Array {
        held: HeldBy {
            ptr: data.cast::<u8>().cast_const(),
            len,
            obj: obj.clone().unbind(),
        },
        writable: flags & npyffi::NPY_ARRAY_WRITEABLE != 0,
        c_contiguous: array.is_c_contiguous(),
        f_contiguous: array.is_fortran_contiguous(),
    })
}

impl PyMemory {
    /// Contiguous memory in C or Fortran order (read in memory order). An object without the
    /// buffer protocol is a `TypeError`, memory that is not contiguous a `ValueError`.
    pub fn contiguous(obj: &Bound<'_, PyAny>) -> PyResult<Self> {
        let mem = Self::borrow(obj).map_err(|e| {
            PyTypeError::new_err(format!(
                "expected an object with the buffer protocol, got {}: {e}",
                type_name(obj)
            ))
        })?;
        if !mem.is_contiguous(true) {
            return Err(PyValueError::new_err(
                "an object with contiguous memory is required",
            ));
        }
        Ok(mem)
    }

    /// C-contiguous memory; otherwise a `ValueError` saying `not_contiguous` (an object without
    /// the buffer protocol raises what the buffer protocol raises).
    pub fn c_contiguous(obj: &Bound<'_, PyAny>, not_contiguous: &'static str) -> PyResult<Self> {
        let mem = Self::borrow(obj)?;
        if !mem.is_contiguous(false) {
            return Err(PyValueError::new_err(not_contiguous));
        }
        Ok(mem)
    }

    fn borrow(obj: &Bound<'_, PyAny>) -> PyResult<Self> {
        let source = if let Ok(b) = obj.cast::<PyBuf>() {
            Source::Rust {
                buffer: b.get().inner.clone(),
                c_contiguous: true,
            }
        } else if let Ok(nd) = obj.cast::<PyNDBuf>() {
            let nd = &nd.get().inner;
            Source::Rust {
                buffer: nd.buffer().clone(),
                // C order, or at most one axis longer than 1 (where both orders agree).
                c_contiguous: nd.order() == Order::C
                    || nd.shape().iter().filter(|&&d| d > 1).count() <= 1,
            }
        } else if let Ok(b) = obj.cast::<PyBytes>() {
            let s = b.as_bytes();
            Source::Bytes(HeldBy {
                ptr: s.as_ptr(),
                len: s.len(),
                obj: b.clone().into_any().unbind(),
            })
        } else if let Some(array) = numpy_source(obj) {
            array
        } else {
            Source::View(ViewOwner(PyUntypedBuffer::get(obj)?))
        };
        Ok(PyMemory { source })
    }

    /// Whether the memory is C-contiguous, or (with `fortran`) Fortran-contiguous.
    fn is_contiguous(&self, fortran: bool) -> bool {
        match &self.source {
            Source::Rust { c_contiguous, .. } => fortran || *c_contiguous,
            Source::Bytes(_) => true,
            Source::Array {
                c_contiguous,
                f_contiguous,
                ..
            } => *c_contiguous || fortran && *f_contiguous,
            Source::View(v) => v.0.is_c_contiguous() || fortran && v.0.is_fortran_contiguous(),
        }
    }

    /// The bytes.
    pub fn as_slice(&self) -> &[u8] {
        match &self.source {
            Source::Rust { buffer, .. } => buffer,
            Source::Bytes(b) | Source::Array { held: b, .. } => b.as_ref(),
            Source::View(v) => v.as_ref(),
        }
    }

    /// Whether the memory may not be written (ours and `bytes` never are).
    pub fn readonly(&self) -> bool {
        match &self.source {
            Source::View(v) => v.0.readonly(),
            Source::Array { writable, .. } => !writable,
            Source::Rust { .. } | Source::Bytes(_) => true,
        }
    }

    /// The bytes as a [`Buffer`], without a copy: it keeps the object alive (an empty export
    /// is let go at once).
    pub fn into_buffer(self) -> Buffer {
        match self.source {
            Source::Rust { buffer, .. } => buffer,
            Source::Bytes(b) | Source::Array { held: b, .. } if b.len == 0 => Buffer::empty(),
            Source::View(v) if v.0.len_bytes() == 0 => Buffer::empty(),
            Source::Bytes(b) | Source::Array { held: b, .. } => Buffer::from_owner(b),
            Source::View(v) => Buffer::from_owner(v),
        }
    }

    /// The memory as the base of NumPy arrays over it, writable where the memory is: the
    /// `bytes` object or NumPy array itself, else a [`RustBuffer`] holding the bytes.
    pub fn into_numpy_base(self, py: Python<'_>) -> PyResult<NumpyBase> {
        self.into_buffer_and_base(py).map(|(_, base)| base)
    }

    /// The memory both as a [`Buffer`] (for Rust code that keeps it) and as the base of NumPy
    /// arrays over it (see [`PyMemory::into_numpy_base`]); both lie at the same address.
    pub fn into_buffer_and_base(self, py: Python<'_>) -> PyResult<(Buffer, NumpyBase)> {
        let writable = !self.readonly();
        let (held, buffer) = match self.source {
            Source::Bytes(b) | Source::Array { held: b, .. } => {
                let held = HeldBy {
                    ptr: b.ptr,
                    len: b.len,
                    obj: b.obj.clone_ref(py),
                };
                (held, Buffer::from_owner(b))
            }
            Source::Rust { buffer, .. } => {
                return Ok((buffer.clone(), RustBuffer::base(py, buffer)?))
            }
            Source::View(v) => {
                let buffer = Buffer::from_owner(v);
                let base = RustBuffer::hold(py, buffer.clone())?;
                let held = HeldBy {
                    ptr: buffer.as_ptr(),
                    len: buffer.len(),
                    obj: base.unbind(),
                };
                (held, buffer)
            }
        };
        Ok((buffer, NumpyBase { held, writable }))
    }
}

/// The bytes of a Python object, as a [`Buffer`] without a copy: see [`PyMemory::contiguous`].
pub fn buffer_from_py(obj: &Bound<'_, PyAny>) -> PyResult<Buffer> {
    PyMemory::contiguous(obj).map(PyMemory::into_buffer)
}

/// The writable, contiguous memory of a Python object (the `out` of a call), exported through
/// the buffer protocol until this value is dropped.
pub struct PyMemoryMut {
    view: PyUntypedBuffer,
}

impl PyMemoryMut {
    /// Writable memory, C- or Fortran-contiguous; otherwise a `ValueError`.
    pub fn contiguous(obj: &Bound<'_, PyAny>) -> PyResult<Self> {
        Self::get(
            obj,
            true,
            "the output buffer is read-only",
            "an output buffer with contiguous memory is required",
        )
    }

    /// Writable, C-contiguous memory; otherwise a `ValueError` saying `read_only` or
    /// `not_contiguous`.
    pub fn c_contiguous(
        obj: &Bound<'_, PyAny>,
        read_only: &'static str,
        not_contiguous: &'static str,
    ) -> PyResult<Self> {
        Self::get(obj, false, read_only, not_contiguous)
    }

    fn get(
        obj: &Bound<'_, PyAny>,
        fortran: bool,
        read_only: &'static str,
        not_contiguous: &'static str,
    ) -> PyResult<Self> {
        let view = PyUntypedBuffer::get(obj)?;
        if view.readonly() {
            return Err(PyValueError::new_err(read_only));
        }
        if !(view.is_c_contiguous() || fortran && view.is_fortran_contiguous()) {
            return Err(PyValueError::new_err(not_contiguous));
        }
        Ok(PyMemoryMut { view })
    }

    /// The memory, writable.
    pub fn as_mut_slice(&mut self) -> &mut [u8] {
        let len = self.view.len_bytes();
        if len == 0 {
            return &mut [];
        }
        // SAFETY: the view is writable and contiguous (checked in `get`), valid for `len` bytes
        // until it is released when `self` drops; `&mut self` makes this the only Rust reference.
        unsafe { std::slice::from_raw_parts_mut(self.view.buf_ptr() as *mut u8, len) }
    }
}

extern "C" {
    /// CPython's `_PyBytes_Resize` (not exported by `pyo3-ffi`): resizes a `bytes` object that
    /// nothing else references; on failure (`-1`) it frees the object, sets `*bytes` to null and
    /// sets a Python exception.
    fn _PyBytes_Resize(bytes: *mut *mut ffi::PyObject, newsize: ffi::Py_ssize_t) -> c_int;
}

/// A new `bytes` object under construction: `len` bytes, not yet initialised, that only the
/// owner of this value sees (it is exposed to Python by [`NewBytes::finish`] alone).
///
/// Every allocation is checked: memory that cannot be had is a Python `MemoryError`, never a
/// panic or an abort.
pub struct NewBytes {
    /// A `bytes` object with one reference, ours; never null.
    obj: NonNull<ffi::PyObject>,
    len: usize,
}

// SAFETY: the object is used by one thread at a time (the one filling it with the GIL
// released, or the caller once `detach` returns); nothing else references it, and every call
// that needs the GIL (allocation, resizing, freeing) takes it.
unsafe impl Send for NewBytes {}

impl NewBytes {
    /// A `bytes` object of `len` bytes, or the `MemoryError` Python raised.
    pub fn new(py: Python<'_>, len: usize) -> PyResult<Self> {
        let size = ffi::Py_ssize_t::try_from(len)
            .map_err(|_| PyMemoryError::new_err(format!("cannot allocate {len} bytes")))?;
        // SAFETY: plain C API call with the GIL held; a null data pointer asks for an
        // uninitialised object, which only we write before exposing it.
        let obj = unsafe { ffi::PyBytes_FromStringAndSize(std::ptr::null(), size) };
        match NonNull::new(obj) {
            Some(obj) => Ok(NewBytes { obj, len }),
            None => Err(PyErr::fetch(py)),
        }
    }

    /// The object's bytes.
    fn data(&self) -> *mut u8 {
        // SAFETY: `obj` is a live `bytes` object; the memory of one under construction (only we
        // reference it) may be written, as the C API allows for new objects.
        unsafe { ffi::PyBytes_AS_STRING(self.obj.as_ptr()) }
            .cast_mut()
            .cast::<u8>()
    }

    /// The memory, writable, `len` bytes.
    pub fn as_mut_slice(&mut self) -> &mut [u8] {
        if self.len == 0 {
            return &mut [];
        }
        // SAFETY: the object holds `len` bytes at `data()` until it is resized or finished, and
        // `&mut self` makes this the only reference. Like the `out` buffers callers pass
        // ([`PyMemoryMut`]), this is memory of a foreign allocator handed over FFI; it is not
        // zeroed first (that pass cost a third of LZ4's decoding time), and writers only write
        // into it.
        unsafe { std::slice::from_raw_parts_mut(self.data(), self.len) }
    }

    /// Replaces the object by one of `len` bytes (at least the current length) that starts
    /// with the current bytes; keeps the object as it is when the memory cannot be had.
    pub fn grow_to(&mut self, py: Python<'_>, len: usize) -> PyResult<()> {
        if len <= self.len {
            return Ok(());
        }
        let bigger = NewBytes::new(py, len)?;
        // SAFETY: both objects are live, hold `self.len` and `len >= self.len` bytes, and are
        // distinct allocations.
        unsafe { std::ptr::copy_nonoverlapping(self.data(), bigger.data(), self.len) };
        *self = bigger; // drops (frees) the old object
        Ok(())
    }

    /// The object, shrunk to its first `n` bytes (`n` at most its length), as Python sees it.
    pub fn finish(self, py: Python<'_>, n: usize) -> PyResult<Bound<'_, PyBytes>> {
        let len = self.len;
        if n > len {
            return Err(PyValueError::new_err(format!(
                "codec wrote {n} bytes into {len}"
            )));
        }
        let mut obj = std::mem::ManuallyDrop::new(self).obj.as_ptr();
        if n != len {
            // SAFETY: the GIL is held and `obj` is a `bytes` object whose only reference is
            // ours; on failure `_PyBytes_Resize` frees it and sets an exception (checked `< 0`,
            // its documented failure value).
            if unsafe { _PyBytes_Resize(&mut obj, n as ffi::Py_ssize_t) } < 0 {
                return Err(PyErr::fetch(py));
            }
        }
        // SAFETY: `obj` is a new reference to a bytes object, whose `n` bytes were written.
        Ok(unsafe { Bound::from_owned_ptr(py, obj).cast_into_unchecked() })
    }
}

impl Drop for NewBytes {
    fn drop(&mut self) {
        // SAFETY: our one reference to the object, released with the GIL held.
        Python::attach(|_| unsafe { ffi::Py_DECREF(self.obj.as_ptr()) });
    }
}

/// A raw output pointer carried into `py.detach`.
struct OutPtr(*mut MaybeUninit<u8>, usize);
// SAFETY: the memory it points to is owned by a Python object that the calling thread keeps
// alive (and that nothing else can see) until `detach` returns.
unsafe impl Send for OutPtr {}

/// A new `bytes` object of at most `capacity` bytes, filled by `fill` with the GIL released:
/// `fill` gets the memory (not initialised) and returns how many bytes it wrote, the size of
/// the object returned. Writers write straight into the Python object, without a copy.
pub fn bytes_with<'py>(
    py: Python<'py>,
    capacity: usize,
    fill: impl FnOnce(&mut [MaybeUninit<u8>]) -> ndpack::Result<usize> + Send,
) -> PyResult<Bound<'py, PyBytes>> {
    let out = NewBytes::new(py, capacity)?;
    let ptr = OutPtr(out.data().cast(), capacity);
    let written = py.detach(move || {
        let out = ptr;
        if out.1 == 0 {
            return fill(&mut []);
        }
        // SAFETY: `out` points to the `capacity` bytes of the new object, which only this
        // thread uses until `detach` returns; `MaybeUninit` needs no initialisation.
        let slice = unsafe { std::slice::from_raw_parts_mut(out.0, out.1) };
        fill(slice)
    });
    let n = written.map_err(to_py)?;
    out.finish(py, n)
}

/// `out` as bytes, for writers that take `&mut [u8]` and only write (the codecs).
pub fn write_only(out: &mut [MaybeUninit<u8>]) -> &mut [u8] {
    // SAFETY: `u8` and `MaybeUninit<u8>` have one layout. The bytes may be uninitialised, as the
    // memory of [`NewBytes::as_mut_slice`] is: the writers these slices go to only write them.
    unsafe { &mut *(out as *mut [MaybeUninit<u8>] as *mut [u8]) }
}

/// Writes the concatenation of `parts` into `out` (exactly their total length) and returns its
/// length: a [`bytes_with`] filler for outputs assembled from pieces.
pub fn write_parts(out: &mut [MaybeUninit<u8>], parts: &[&[u8]]) -> ndpack::Result<usize> {
    let mut pos = 0;
    for part in parts {
        let Some(dst) = out.get_mut(pos..pos + part.len()) else {
            return Err(ndpack::Error::invalid_argument(
                "the parts do not fit the output",
            ));
        };
        // SAFETY: `u8` and `MaybeUninit<u8>` have one layout, and `part` is initialised.
        let part = unsafe { &*(*part as *const [u8] as *const [MaybeUninit<u8>]) };
        dst.copy_from_slice(part);
        pos += part.len();
    }
    Ok(pos)
}

/// A new `bytes` object holding a copy of `data` (copied with the GIL released when large): a
/// `MemoryError` when the memory cannot be had.
pub fn bytes_from_slice<'py>(py: Python<'py>, data: &[u8]) -> PyResult<Bound<'py, PyBytes>> {
    let mut out = NewBytes::new(py, data.len())?;
    let dst = out.as_mut_slice();
    if data.len() >= DETACH_BYTES {
        py.detach(|| dst.copy_from_slice(data));
    } else {
        dst.copy_from_slice(data);
    }
    out.finish(py, data.len())
}

/// Owns bytes held by a Rust [`Buffer`]: the base object of NumPy arrays over them. It exposes
/// nothing to Python, so an array over a buffer that nothing else holds is its sole user.
#[pyclass(name = "_RustBuffer", module = "ndpack._ndpack", frozen)]
pub struct RustBuffer {
    _buffer: Buffer,
}

impl RustBuffer {
    /// A Python object owning `buffer`.
    fn hold(py: Python<'_>, buffer: Buffer) -> PyResult<Bound<'_, PyAny>> {
        Ok(Bound::new(py, RustBuffer { _buffer: buffer })?.into_any())
    }

    /// `buffer`'s bytes as the read-only base of NumPy arrays.
    pub fn base(py: Python<'_>, buffer: Buffer) -> PyResult<NumpyBase> {
        let (ptr, len) = (buffer.as_ptr(), buffer.len());
        let obj = Self::hold(py, buffer)?.unbind();
        Ok(NumpyBase {
            held: HeldBy { ptr, len, obj },
            writable: false,
        })
    }

    /// `buffer`'s bytes as the writable base of NumPy arrays: the block itself, without a copy,
    /// when `buffer` is the only handle to memory Rust allocated (a fresh result), else a copy.
    pub fn base_mut(py: Python<'_>, mut buffer: Buffer) -> PyResult<NumpyBase> {
        if buffer.unique_mut().is_none() {
            let copy = || Buffer::copy_from_slice(&buffer);
            buffer = if buffer.len() >= DETACH_BYTES {
                py.detach(copy)
            } else {
                copy()
            };
        }
        let Some(bytes) = buffer.unique_mut() else {
            return Err(PyMemoryError::new_err("cannot own the result's memory"));
        };
        let (ptr, len) = (bytes.as_mut_ptr().cast_const(), bytes.len());
        let obj = Self::hold(py, buffer)?.unbind();
        // The block stays alive as long as the arrays (their base owns the only handle to it)
        // and nothing else reads or writes it: `RustBuffer` exposes nothing, so the arrays are
        // the block's only users and may write to it.
        Ok(NumpyBase {
            held: HeldBy { ptr, len, obj },
            writable: true,
        })
    }
}

/// Memory that NumPy arrays may view without a copy: where it lies, whether they may write it,
/// and the Python object that keeps it alive (their `base`). Made by [`RustBuffer::base`],
/// [`RustBuffer::base_mut`] and [`PyMemory::into_numpy_base`].
pub struct NumpyBase {
    held: HeldBy,
    writable: bool,
}

impl NumpyBase {
    /// The bytes `range` of this memory, with the same base and writability; a `ValueError`
    /// when `range` lies outside.
    pub fn part(&self, py: Python<'_>, range: Range<usize>) -> PyResult<NumpyBase> {
        if range.start > range.end || range.end > self.held.len {
            return Err(PyValueError::new_err(format!(
                "bytes {range:?} lie outside the {} bytes of the memory",
                self.held.len
            )));
        }
        Ok(NumpyBase {
            held: HeldBy {
                ptr: self.held.ptr.wrapping_add(range.start),
                len: range.len(),
                obj: self.held.obj.clone_ref(py),
            },
            writable: self.writable,
        })
    }

    /// Where `data` lies in this memory (a slice of it, compared by address), if it does.
    pub fn range_of(&self, data: &[u8]) -> Option<Range<usize>> {
        let start = (data.as_ptr() as usize).checked_sub(self.held.ptr as usize)?;
        let end = start.checked_add(data.len())?;
        (end <= self.held.len).then_some(start..end)
    }

    /// A NumPy array of `dtype` in `shape` and `order` over the first bytes of this memory
    /// (writable when the memory is), or, with `copy`, a new array owning a copy of them.
    /// Dtypes holding Python objects are refused: raw bytes are not objects.
    pub fn array<'py>(
        &self,
        py: Python<'py>,
        dtype: &Bound<'py, PyArrayDescr>,
        shape: &[usize],
        order: Order,
        copy: bool,
    ) -> PyResult<Bound<'py, PyAny>> {
        if dtype.has_object() {
            return Err(PyTypeError::new_err(
                "an array of Python objects cannot view raw bytes",
            ));
        }
        let itemsize = dtype.itemsize();
        let nbytes = shape
            .iter()
            .try_fold(itemsize, |n, &d| n.checked_mul(d))
            .filter(|&n| n <= self.held.len)
            .ok_or_else(|| {
                PyValueError::new_err(format!(
                    "{} bytes do not hold an array of shape {shape:?} and itemsize {itemsize}",
                    self.held.len
                ))
            })?;
        let mut dims: Vec<npy_intp> = shape.iter().map(|&d| d as npy_intp).collect();
        if copy || nbytes == 0 {
            // SAFETY: the GIL is held; null strides and data make NumPy allocate the array's
            // memory.
            let arr = unsafe {
                new_array(
                    py,
                    dtype,
                    &mut dims,
                    std::ptr::null_mut(),
                    std::ptr::null_mut(),
                    (order == Order::F) as c_int,
                )?
            };
            if nbytes == 0 {
                if !copy && !self.writable {
                    arr.getattr("flags")?.setattr("writeable", false)?;
                }
                return Ok(arr);
            }
            // SAFETY: the new array owns `nbytes` bytes (its shape times its itemsize), which
            // nothing else sees yet; `held` keeps the source valid for at least `nbytes`.
            let dst = unsafe {
                let fields = npyffi::objects::_PyArray_GET_ITEM_DATA(arr.as_ptr().cast());
                (*fields).data as usize
            };
            let src = self.held.ptr as usize;
            let copy = move || {
                // SAFETY: see above; the two blocks are distinct allocations.
                unsafe { std::ptr::copy_nonoverlapping(src as *const u8, dst as *mut u8, nbytes) }
            };
            if nbytes >= DETACH_BYTES {
                py.detach(copy);
            } else {
                copy();
            }
            return Ok(arr);
        }
        let mut strides: Vec<npy_intp> = ndpack::region::strides(shape, itemsize, order)
            .into_iter()
            .map(|s| s as npy_intp)
            .collect();
        let flags = if self.writable {
            npyffi::NPY_ARRAY_WRITEABLE
        } else {
            0
        };
        // SAFETY: the GIL is held; `strides` has one entry a dimension, describing `nbytes`
        // bytes, which `held.ptr` holds (checked) while `held.obj` lives, and `held.obj` becomes
        // the array's base (`PyArray_SetBaseObject` steals the new reference given to it). The
        // array is writable only over memory that may be written (`writable`).
        unsafe {
            let arr = new_array(
                py,
                dtype,
                &mut dims,
                strides.as_mut_ptr(),
                self.held.ptr.cast_mut().cast::<c_void>(),
                flags,
            )?;
            let base = self.held.obj.clone_ref(py).into_ptr();
            if PY_ARRAY_API.PyArray_SetBaseObject(py, arr.as_ptr().cast(), base) < 0 {
                return Err(PyErr::fetch(py));
            }
            Ok(arr)
        }
    }
}

/// A new NumPy array of `dtype` in `dims` (`PyArray_NewFromDescr`): over `data` with `strides`
/// and `flags`, or, where both pointers are null, over memory NumPy allocates (`flags` then
/// nonzero for Fortran order).
///
/// # Safety
/// The GIL is held; `strides`, where not null, has `dims.len()` entries describing memory that
/// `data` points to.
pub(crate) unsafe fn new_array<'py>(
    py: Python<'py>,
    dtype: &Bound<'py, PyArrayDescr>,
    dims: &mut [npy_intp],
    strides: *mut npy_intp,
    data: *mut c_void,
    flags: c_int,
) -> PyResult<Bound<'py, PyAny>> {
    // SAFETY: NumPy's C API, called with the GIL held (the caller's promise);
    // `PyArray_NewFromDescr` steals a reference to the descriptor, so it gets a new one; `dims`
    // and `strides` are as the caller promises.
    unsafe {
        let subtype = npyffi::get_type_object(py, NpyTypes::PyArray_Type);
        let arr = PY_ARRAY_API.PyArray_NewFromDescr(
            py,
            subtype,
            dtype.clone().into_dtype_ptr(),
            dims.len() as c_int,
            dims.as_mut_ptr(),
            strides,
            data,
            flags,
            std::ptr::null_mut(),
        );
        Bound::from_owned_ptr_or_err(py, arr)
    }
}

/// A new C-order NumPy array of `dtype` and `shape` whose items are not initialised (as
/// `np.empty`), with the address of its memory. Dtypes holding Python objects are refused.
pub(crate) fn empty_array<'py>(
    py: Python<'py>,
    dtype: &Bound<'py, PyArrayDescr>,
    shape: &[usize],
) -> PyResult<(Bound<'py, PyAny>, *mut u8)> {
    if dtype.has_object() {
        return Err(PyTypeError::new_err(
            "an array of Python objects cannot hold raw bytes",
        ));
    }
    let mut dims: Vec<npy_intp> = shape.iter().map(|&d| d as npy_intp).collect();
    // SAFETY: the GIL is held; null strides and data make NumPy allocate the array's memory.
    let arr = unsafe {
        new_array(
            py,
            dtype,
            &mut dims,
            std::ptr::null_mut(),
            std::ptr::null_mut(),
            0,
        )?
    };
    // SAFETY: `arr` is the NumPy array just made; its `data` field is its memory.
    let data = unsafe {
        (*arr.as_ptr().cast::<npyffi::PyArrayObject>())
            .fields
            .data
            .cast::<u8>()
    };
    Ok((arr, data))
}

/// Adds `_RustBuffer` to the extension module.
pub fn register(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add_class::<RustBuffer>()
}
