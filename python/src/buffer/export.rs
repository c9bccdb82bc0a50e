//! The classes `_ndpack.Buffer` and `_ndpack.NDBuffer` and their read-only export through the
//! buffer protocol and `__array_interface__` (DLPack is in [`super::dlpack`]).

use std::ffi::{c_char, c_int, c_void, CString};
use std::ptr;

use ndpack::{Buffer, ByteOrder, DataType, NDBuffer, Order, TypeKind};
use pyo3::exceptions::{PyBufferError, PyTypeError, PyValueError};
use pyo3::ffi;
use pyo3::prelude::*;
use pyo3::types::{PyBytes, PyDict, PyTuple};

use super::dlpack;
use super::{parse_dtype, parse_order};
use crate::errors::to_py;
use crate::memory::{buffer_from_py, bytes_from_slice, bytes_with, write_parts};

/// The `struct`-module format of a dtype for the buffer protocol, or `None` where PEP 3118 has
/// no code for it (datetimes, records, objects).
fn struct_format(dt: &DataType) -> Option<String> {
    let n = dt.itemsize();
    let code = match (dt.kind(), n) {
        (TypeKind::Bool, 1) => "?".to_string(),
        (TypeKind::Int, 1) => "b".to_string(),
        (TypeKind::UInt, 1) => "B".to_string(),
        (TypeKind::Int, 2) => "h".to_string(),
        (TypeKind::UInt, 2) => "H".to_string(),
        (TypeKind::Int, 4) => "i".to_string(),
        (TypeKind::UInt, 4) => "I".to_string(),
        (TypeKind::Int, 8) => "q".to_string(),
        (TypeKind::UInt, 8) => "Q".to_string(),
        (TypeKind::Float, 2) => "e".to_string(),
        (TypeKind::Float, 4) => "f".to_string(),
        (TypeKind::Float, 8) => "d".to_string(),
        (TypeKind::Complex, 8) => "Zf".to_string(),
        (TypeKind::Complex, 16) => "Zd".to_string(),
        (TypeKind::Bytes, n) => format!("{n}s"),
        (TypeKind::Unicode, n) => format!("{}w", n / 4),
        _ => return None,
    };
    let prefix = match dt.byte_order() {
        ByteOrder::Little => "<",
        ByteOrder::Big => ">",
        ByteOrder::NotApplicable => "",
    };
    Some(format!("{prefix}{code}"))
}

/// What a buffer-protocol export allocates: shape, strides and format, freed on release.
struct ViewParts {
    shape: Vec<ffi::Py_ssize_t>,
    strides: Vec<ffi::Py_ssize_t>,
    format: CString,
}

/// Fills `view` with read-only memory `data` described by `format`, `shape` and `strides`.
///
/// # Safety
/// `view` must be the pointer CPython passes to `__getbuffer__`; `data` must stay valid while
/// `owner` is alive (it is owned by `owner`'s Rust value).
unsafe fn fill_view(
    view: *mut ffi::Py_buffer,
    flags: c_int,
    data: &[u8],
    itemsize: usize,
    parts: ViewParts,
    owner: Bound<'_, PyAny>,
) -> PyResult<()> {
    if view.is_null() {
        return Err(PyBufferError::new_err("view is null"));
    }
    if flags & ffi::PyBUF_WRITABLE == ffi::PyBUF_WRITABLE {
        return Err(PyBufferError::new_err("ndpack buffers are read-only"));
    }
    let c_contiguous = parts.shape.len() <= 1
        || parts.strides.last().copied() == Some(itemsize as ffi::Py_ssize_t)
            && is_c_strides(&parts.shape, &parts.strides, itemsize);
    if flags & ffi::PyBUF_STRIDES != ffi::PyBUF_STRIDES
        && (flags & ffi::PyBUF_ND == ffi::PyBUF_ND)
        && !c_contiguous
    {
        return Err(PyBufferError::new_err(
            "a Fortran-ordered buffer needs a strided request",
        ));
    }
    let parts = Box::new(parts);
    // SAFETY: `view` is non-null and points to a Py_buffer for us to fill (caller's contract).
    // The shape/strides/format pointers point into `parts`, which is leaked into `internal` and
    // freed in `release_view`.
    unsafe {
        (*view).obj = owner.into_ptr();
        (*view).buf = data.as_ptr() as *mut c_void;
        (*view).len = data.len() as ffi::Py_ssize_t;
        (*view).readonly = 1;
        (*view).itemsize = itemsize as ffi::Py_ssize_t;
        (*view).ndim = parts.shape.len() as c_int;
        (*view).format = if flags & ffi::PyBUF_FORMAT == ffi::PyBUF_FORMAT {
            parts.format.as_ptr() as *mut c_char
        } else {
            ptr::null_mut()
        };
        (*view).shape = if flags & ffi::PyBUF_ND == ffi::PyBUF_ND {
            parts.shape.as_ptr() as *mut ffi::Py_ssize_t
        } else {
            ptr::null_mut()
        };
        (*view).strides = if flags & ffi::PyBUF_STRIDES == ffi::PyBUF_STRIDES {
            parts.strides.as_ptr() as *mut ffi::Py_ssize_t
        } else {
            ptr::null_mut()
        };
        (*view).suboffsets = ptr::null_mut();
        (*view).internal = Box::into_raw(parts) as *mut c_void;
    }
    Ok(())
}

fn is_c_strides(shape: &[ffi::Py_ssize_t], strides: &[ffi::Py_ssize_t], itemsize: usize) -> bool {
    let mut expect = itemsize as ffi::Py_ssize_t;
    for (d, s) in shape.iter().zip(strides).rev() {
        if *d > 1 && *s != expect {
            return false;
        }
        expect *= *d;
    }
    true
}

/// Frees what `fill_view` allocated.
///
/// # Safety
/// `view` must have been filled by `fill_view`.
unsafe fn release_view(view: *mut ffi::Py_buffer) {
    // SAFETY: `internal` is the `Box<ViewParts>` leaked by `fill_view` (or null).
    unsafe {
        let internal = (*view).internal as *mut ViewParts;
        if !internal.is_null() {
            drop(Box::from_raw(internal));
            (*view).internal = ptr::null_mut();
        }
    }
}

/// An immutable block of bytes shared with Rust without copying (`ndpack::Buffer`).
///
/// `_ndpack.Buffer(obj=None)` wraps any object with the buffer protocol without copying it,
/// keeping it alive. It exports its bytes (read-only, `|u1`) through the buffer protocol,
/// `__array_interface__` and DLPack.
#[pyclass(name = "Buffer", module = "ndpack._ndpack", subclass, frozen)]
pub struct PyBuf {
    /// The bytes.
    pub inner: Buffer,
}

impl PyBuf {
    /// Wraps a Rust buffer.
    pub fn new_inner(inner: Buffer) -> Self {
        PyBuf { inner }
    }
}

#[pymethods]
impl PyBuf {
    #[new]
    #[pyo3(signature = (obj=None))]
    fn py_new(obj: Option<&Bound<'_, PyAny>>) -> PyResult<Self> {
        Ok(PyBuf {
            inner: match obj {
                None => Buffer::empty(),
                Some(o) => buffer_from_py(o)?,
            },
        })
    }

    fn __len__(&self) -> usize {
        self.inner.len()
    }

    /// The number of bytes.
    #[getter]
    fn nbytes(&self) -> usize {
        self.inner.len()
    }

    /// A copy of the bytes as `bytes`.
    fn to_bytes<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyBytes>> {
        bytes_from_slice(py, &self.inner)
    }

    /// A view of bytes `start..stop` (no copy).
    fn _slice(&self, start: usize, stop: usize) -> PyResult<Self> {
        if start > stop || stop > self.inner.len() {
            return Err(PyValueError::new_err(format!(
                "slice {start}..{stop} out of range for {} bytes",
                self.inner.len()
            )));
        }
        Ok(PyBuf {
            inner: self.inner.slice(start..stop),
        })
    }

    /// `bytes` holding this buffer's bytes followed by `other`'s.
    fn _concat<'py>(
        &self,
        py: Python<'py>,
        other: &Bound<'py, PyAny>,
    ) -> PyResult<Bound<'py, PyBytes>> {
        let other = buffer_from_py(other)?;
        let a = &self.inner;
        bytes_with(py, a.len() + other.len(), |out| {
            write_parts(out, &[a, &other])
        })
    }

    /// Whether this buffer and `other` have the same bytes.
    fn _bytes_equal(&self, other: &Bound<'_, PyAny>) -> PyResult<bool> {
        Ok(self.inner == buffer_from_py(other)?)
    }

    unsafe fn __getbuffer__(
        slf: Bound<'_, Self>,
        view: *mut ffi::Py_buffer,
        flags: c_int,
    ) -> PyResult<()> {
        let this = slf.get();
        let len = this.inner.len() as ffi::Py_ssize_t;
        let parts = ViewParts {
            shape: vec![len],
            strides: vec![1],
            format: CString::from(c"B"),
        };
        let data: &[u8] = &this.inner;
        // SAFETY: `data` is owned by `slf`'s Rust value, which the view keeps alive.
        unsafe { fill_view(view, flags, data, 1, parts, slf.clone().into_any()) }
    }

    unsafe fn __releasebuffer__(&self, view: *mut ffi::Py_buffer) {
        // SAFETY: `view` was filled by our `__getbuffer__`.
        unsafe { release_view(view) }
    }

    /// NumPy's array interface (version 3): `|u1`, 1-d, read-only.
    #[getter]
    fn __array_interface__<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyDict>> {
        array_interface(py, &self.inner, "|u1", &[self.inner.len()], None)
    }

    /// DLPack export: a capsule with a CPU tensor of `uint8`.
    #[pyo3(signature = (*, stream=None, max_version=None, dl_device=None, copy=None))]
    fn __dlpack__<'py>(
        &self,
        py: Python<'py>,
        stream: Option<&Bound<'py, PyAny>>,
        max_version: Option<(u32, u32)>,
        dl_device: Option<(i32, i32)>,
        copy: Option<bool>,
    ) -> PyResult<Bound<'py, PyAny>> {
        let _ = stream;
        let u8dt = DataType::u8();
        dlpack::export(
            py,
            self.inner.clone(),
            &u8dt,
            &[self.inner.len()],
            None,
            max_version,
            dl_device,
            copy,
        )
    }

    /// DLPack device: `(1, 0)`, the CPU.
    fn __dlpack_device__(&self) -> (i32, i32) {
        (dlpack::KDL_CPU, 0)
    }

    fn __repr__(&self) -> String {
        format!("Buffer({} bytes)", self.inner.len())
    }
}

/// An N-d block of memory: dtype, shape, C/F order over an immutable `ndpack::Buffer`.
///
/// `_ndpack.NDBuffer(obj, dtype, shape, order="C")` wraps the bytes of `obj` (buffer protocol,
/// no copy) as items of `dtype` (a NumPy dtype string such as `"<f4"`).
#[pyclass(name = "NDBuffer", module = "ndpack._ndpack", subclass, frozen)]
pub struct PyNDBuf {
    /// The array.
    pub inner: NDBuffer,
}

#[pymethods]
impl PyNDBuf {
    #[new]
    #[pyo3(signature = (obj, dtype, shape, order="C"))]
    fn py_new(
        obj: &Bound<'_, PyAny>,
        dtype: &str,
        shape: Vec<usize>,
        order: &str,
    ) -> PyResult<Self> {
        let buffer = buffer_from_py(obj)?;
        let inner = NDBuffer::new(buffer, parse_dtype(dtype)?, shape, parse_order(order)?)
            .map_err(to_py)?;
        Ok(PyNDBuf { inner })
    }

    /// A new array of `shape` whose every item is the bytes `fill` (zeros when `None`).
    #[staticmethod]
    #[pyo3(signature = (shape, dtype, order="C", fill=None))]
    fn _create(
        py: Python<'_>,
        shape: Vec<usize>,
        dtype: &str,
        order: &str,
        fill: Option<Vec<u8>>,
    ) -> PyResult<Self> {
        let dtype = parse_dtype(dtype)?;
        let order = parse_order(order)?;
        let fill = fill.unwrap_or_else(|| vec![0; dtype.itemsize()]);
        let inner = py
            .detach(|| NDBuffer::create(&shape, dtype, order, &fill))
            .map_err(to_py)?;
        Ok(PyNDBuf { inner })
    }

    /// The NumPy dtype string, e.g. `"<f4"`.
    #[getter]
    fn _dtype_str(&self) -> String {
        self.inner.dtype().to_string()
    }

    /// The shape.
    #[getter]
    fn shape<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyTuple>> {
        PyTuple::new(py, self.inner.shape())
    }

    /// The memory order, `"C"` or `"F"`.
    #[getter]
    fn order(&self) -> &'static str {
        match self.inner.order() {
            Order::C => "C",
            Order::F => "F",
        }
    }

    /// The number of bytes.
    #[getter]
    fn nbytes(&self) -> usize {
        self.inner.buffer().len()
    }

    /// The bytes, as a `Buffer` (no copy).
    fn _buffer(&self) -> PyBuf {
        PyBuf::new_inner(self.inner.buffer().clone())
    }

    /// The same bytes with another shape (no copy).
    fn _reshape(&self, shape: Vec<usize>) -> PyResult<Self> {
        Ok(PyNDBuf {
            inner: self.inner.reshape(shape).map_err(to_py)?,
        })
    }

    /// Whether every item has the bytes `item`.
    fn _all_bytes_equal(&self, py: Python<'_>, item: Vec<u8>) -> bool {
        let inner = &self.inner;
        py.detach(|| inner.all_equal(&item))
    }

    fn __len__(&self) -> PyResult<usize> {
        self.inner
            .shape()
            .first()
            .copied()
            .ok_or_else(|| PyTypeError::new_err("len() of unsized object"))
    }

    unsafe fn __getbuffer__(
        slf: Bound<'_, Self>,
        view: *mut ffi::Py_buffer,
        flags: c_int,
    ) -> PyResult<()> {
        let this = slf.get();
        let dt = this.inner.dtype();
        let format = struct_format(dt).ok_or_else(|| {
            PyBufferError::new_err(format!(
                "dtype {dt} has no buffer-protocol format (use __array_interface__ or DLPack)"
            ))
        })?;
        let parts = ViewParts {
            shape: this
                .inner
                .shape()
                .iter()
                .map(|&d| d as ffi::Py_ssize_t)
                .collect(),
            strides: this
                .inner
                .byte_strides()
                .iter()
                .map(|&s| s as ffi::Py_ssize_t)
                .collect(),
            format: CString::new(format).expect("no NUL in a format"),
        };
        let data: &[u8] = this.inner.buffer();
        // SAFETY: `data` is owned by `slf`'s Rust value, which the view keeps alive.
        unsafe {
            fill_view(
                view,
                flags,
                data,
                dt.itemsize(),
                parts,
                slf.clone().into_any(),
            )
        }
    }

    unsafe fn __releasebuffer__(&self, view: *mut ffi::Py_buffer) {
        // SAFETY: `view` was filled by our `__getbuffer__`.
        unsafe { release_view(view) }
    }

    /// NumPy's array interface (version 3), read-only; strides for Fortran order.
    #[getter]
    fn __array_interface__<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyDict>> {
        let strides = (self.inner.order() == Order::F).then(|| self.inner.byte_strides());
        array_interface(
            py,
            self.inner.buffer(),
            &self.inner.dtype().to_string(),
            self.inner.shape(),
            strides.as_deref(),
        )
    }

    /// DLPack export (CPU, read-only when the consumer asks for DLPack 1.x).
    #[pyo3(signature = (*, stream=None, max_version=None, dl_device=None, copy=None))]
    fn __dlpack__<'py>(
        &self,
        py: Python<'py>,
        stream: Option<&Bound<'py, PyAny>>,
        max_version: Option<(u32, u32)>,
        dl_device: Option<(i32, i32)>,
        copy: Option<bool>,
    ) -> PyResult<Bound<'py, PyAny>> {
        let _ = stream;
        let strides = self.inner.byte_strides();
        dlpack::export(
            py,
            self.inner.buffer().clone(),
            self.inner.dtype(),
            self.inner.shape(),
            Some(&strides),
            max_version,
            dl_device,
            copy,
        )
    }

    /// DLPack device: `(1, 0)`, the CPU.
    fn __dlpack_device__(&self) -> (i32, i32) {
        (dlpack::KDL_CPU, 0)
    }

    fn __repr__(&self) -> String {
        format!(
            "NDBuffer(shape={:?}, dtype='{}', order='{}')",
            self.inner.shape(),
            self.inner.dtype(),
            self.order()
        )
    }
}

fn array_interface<'py>(
    py: Python<'py>,
    data: &Buffer,
    typestr: &str,
    shape: &[usize],
    strides: Option<&[usize]>,
) -> PyResult<Bound<'py, PyDict>> {
    let d = PyDict::new(py);
    d.set_item("version", 3)?;
    d.set_item("shape", PyTuple::new(py, shape)?)?;
    d.set_item("typestr", typestr)?;
    d.set_item("data", (data.as_ptr() as usize, true))?;
    match strides {
        Some(s) => d.set_item("strides", PyTuple::new(py, s)?)?,
        None => d.set_item("strides", py.None())?,
    }
    Ok(d)
}
