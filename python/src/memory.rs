//! How the bindings read and write Python memory, in one place:
//!
//! - [`PyMemory`]: the bytes of a Python object (`bytes`, `bytearray`, `memoryview`, a NumPy
//!   array, our `Buffer`/`NDBuffer`, anything with the buffer protocol) read in place, without a
//!   copy, the object kept alive; [`PyMemory::into_buffer`] makes it an [`ndpack::Buffer`] without
//!   copying.
//! - [`PyMemoryMut`]: the writable memory of a Python object (the `out=` of a call).
//! - [`bytes_with`]: a new `bytes` object that Rust fills in place with the GIL released.
//! - [`RustBuffer`] (`_ndpack._RustBuffer`): the base object of a NumPy array over bytes that a
//!   Rust [`Buffer`] holds.
//!
//! Borrowed memory stays valid and in place while the GIL is released: a buffer export forbids
//! the exporter to free or resize it until it is released, and `bytes` never change.

use std::mem::MaybeUninit;
use std::ptr::NonNull;

use ndpack::{Buffer, Order};
use pyo3::buffer::PyUntypedBuffer;
use pyo3::exceptions::{PyMemoryError, PyTypeError, PyValueError};
use pyo3::ffi;
use pyo3::prelude::*;
use pyo3::types::PyBytes;

use crate::buffer::{PyBuf, PyNDBuf};
use crate::errors::to_py;

/// The bytes of a Python object, read in place: shared from our `Buffer`/`NDBuffer`, read
/// straight from a `bytes` object, or exported through the buffer protocol. The object stays
/// alive (and, for an export, unresizable) while this value or a [`Buffer`] made from it lives.
pub struct PyMemory {
    source: Source,
}

enum Source {
    /// The Rust buffer of a `Buffer`/`NDBuffer` of ours, shared.
    Rust { buffer: Buffer, c_contiguous: bool },
    /// A `bytes` object, immutable, so read without a buffer export.
    Bytes(BytesOwner),
    /// A buffer-protocol export, released (letting the exporter free or resize its memory) when
    /// dropped.
    View(ViewOwner),
}

/// A `bytes` object and where its bytes lie.
struct BytesOwner {
    ptr: NonNull<u8>,
    len: usize,
    _obj: Py<PyBytes>,
}

// SAFETY: a `bytes` object never changes or moves its bytes, and `_obj` keeps them alive; they
// are only read.
unsafe impl Send for BytesOwner {}
// SAFETY: as above; shared access only reads.
unsafe impl Sync for BytesOwner {}

impl AsRef<[u8]> for BytesOwner {
    fn as_ref(&self) -> &[u8] {
        // SAFETY: `ptr` is valid for `len` bytes while `_obj` lives (see above).
        unsafe { std::slice::from_raw_parts(self.ptr.as_ptr(), self.len) }
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
            Source::Bytes(BytesOwner {
                ptr: NonNull::from(s).cast(),
                len: s.len(),
                _obj: b.clone().unbind(),
            })
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
            Source::View(v) => v.0.is_c_contiguous() || fortran && v.0.is_fortran_contiguous(),
        }
    }

    /// The bytes.
    pub fn as_slice(&self) -> &[u8] {
        match &self.source {
            Source::Rust { buffer, .. } => buffer,
            Source::Bytes(b) => b.as_ref(),
            Source::View(v) => v.as_ref(),
        }
    }

    /// Whether the memory may not be written (ours and `bytes` never are).
    pub fn readonly(&self) -> bool {
        match &self.source {
            Source::View(v) => v.0.readonly(),
            Source::Rust { .. } | Source::Bytes(_) => true,
        }
    }

    /// The bytes as a [`Buffer`], without a copy: it keeps the object alive (an empty export
    /// is let go at once).
    pub fn into_buffer(self) -> Buffer {
        match self.source {
            Source::Rust { buffer, .. } => buffer,
            Source::Bytes(b) if b.len == 0 => Buffer::empty(),
            Source::View(v) if v.0.len_bytes() == 0 => Buffer::empty(),
            Source::Bytes(b) => Buffer::from_owner(b),
            Source::View(v) => Buffer::from_owner(v),
        }
    }

    /// The Python object to use as the base of a NumPy array over these bytes: the `bytes`
    /// object itself, else a [`RustBuffer`] holding them.
    pub fn into_numpy_base(self, py: Python<'_>) -> PyResult<Bound<'_, PyAny>> {
        let buffer = match self.source {
            Source::Bytes(b) => return Ok(b._obj.into_bound(py).into_any()),
            Source::Rust { buffer, .. } => buffer,
            Source::View(v) => Buffer::from_owner(v),
        };
        RustBuffer::base(py, buffer)
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
    fn _PyBytes_Resize(bytes: *mut *mut ffi::PyObject, newsize: ffi::Py_ssize_t)
        -> std::ffi::c_int;
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

/// A new `bytes` object holding a copy of `data`: a `MemoryError` when the memory cannot be had.
pub fn bytes_from_slice<'py>(py: Python<'py>, data: &[u8]) -> PyResult<Bound<'py, PyBytes>> {
    let mut out = NewBytes::new(py, data.len())?;
    out.as_mut_slice().copy_from_slice(data);
    out.finish(py, data.len())
}

/// Owns bytes held by a Rust [`Buffer`]: the base object of NumPy arrays over them. It exposes
/// nothing to Python, so an array over a buffer that nothing else holds is its sole user.
#[pyclass(name = "_RustBuffer", module = "ndpack._ndpack", frozen)]
pub struct RustBuffer {
    _buffer: Buffer,
}

impl RustBuffer {
    /// A Python object owning `buffer`, to be the base of NumPy arrays over its bytes.
    pub fn base(py: Python<'_>, buffer: Buffer) -> PyResult<Bound<'_, PyAny>> {
        Ok(Bound::new(py, RustBuffer { _buffer: buffer })?.into_any())
    }
}

/// Adds `_RustBuffer` to the extension module.
pub fn register(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add_class::<RustBuffer>()
}
