//! Python bindings of [`ndpack::Buffer`] and [`ndpack::NDBuffer`]: the classes `_ndpack.Buffer`
//! and `_ndpack.NDBuffer` (subclassed in Python as `ndpack.Buffer` / `ndpack.NDBuffer`, which add
//! zarr's method names), and the zero-copy conversions from Python objects that the codec
//! bindings use.
//!
//! Both classes export their memory read-only through the buffer protocol, `__array_interface__`
//! and DLPack (`__dlpack__`, `__dlpack_device__`), so NumPy sees them without a copy. Made from a
//! Python object (bytes, a NumPy array, anything with the buffer protocol), they keep that object
//! alive and copy nothing.

use std::ffi::{c_char, c_int, c_void, CStr, CString};
use std::ptr;

use ndpack::{Buffer, ByteOrder, DataType, NDBuffer, Order, TypeKind};
use pyo3::buffer::PyUntypedBuffer;
use pyo3::exceptions::{PyBufferError, PyTypeError, PyValueError};
use pyo3::ffi;
use pyo3::prelude::*;
use pyo3::types::{PyBytes, PyDict, PyTuple};

use crate::errors::to_py;

/// Memory exported by a Python object through the buffer protocol, kept alive (with the object)
/// for as long as a [`Buffer`] refers to it.
struct PyOwner {
    /// The exported view; releasing it (on drop) lets the exporter free or resize its memory.
    view: PyUntypedBuffer,
    /// The exporting object, kept for its identity (the view holds a reference too).
    _obj: Py<PyAny>,
}

impl AsRef<[u8]> for PyOwner {
    fn as_ref(&self) -> &[u8] {
        let len = self.view.len_bytes();
        if len == 0 {
            return &[];
        }
        // SAFETY: `from_py_object` only builds a PyOwner from a contiguous view, whose `len_bytes`
        // bytes start at `buf_ptr`. The exporter keeps that memory valid (and does not move or
        // resize it) until the view is released, which happens when this owner is dropped.
        unsafe { std::slice::from_raw_parts(self.view.buf_ptr() as *const u8, len) }
    }
}

/// The bytes of a Python object: a `Buffer`/`NDBuffer` of ours (shared), or any object with the
/// buffer protocol whose memory is contiguous (borrowed without a copy, the object kept alive).
pub fn buffer_from_py(obj: &Bound<'_, PyAny>) -> PyResult<Buffer> {
    if let Ok(b) = obj.cast::<PyBuf>() {
        return Ok(b.get().inner.clone());
    }
    if let Ok(b) = obj.cast::<PyNDBuf>() {
        return Ok(b.get().inner.buffer().clone());
    }
    let view = PyUntypedBuffer::get(obj).map_err(|e| {
        PyTypeError::new_err(format!(
            "expected an object with the buffer protocol, got {}: {e}",
            obj.get_type()
                .name()
                .map(|n| n.to_string())
                .unwrap_or_default()
        ))
    })?;
    if !(view.is_c_contiguous() || view.is_fortran_contiguous()) {
        return Err(PyValueError::new_err(
            "an object with contiguous memory is required",
        ));
    }
    if view.len_bytes() == 0 {
        return Ok(Buffer::empty());
    }
    Ok(Buffer::from_owner(PyOwner {
        view,
        _obj: obj.clone().unbind(),
    }))
}

/// A writable, contiguous view of a Python object's memory (the `out` of a decode).
pub struct WritableView {
    view: PyUntypedBuffer,
}

impl WritableView {
    /// Exports `obj`'s memory, failing if it is read-only or not contiguous.
    pub fn new(obj: &Bound<'_, PyAny>) -> PyResult<Self> {
        let view = PyUntypedBuffer::get(obj)?;
        if view.readonly() {
            return Err(PyValueError::new_err("the output buffer is read-only"));
        }
        if !(view.is_c_contiguous() || view.is_fortran_contiguous()) {
            return Err(PyValueError::new_err(
                "an output buffer with contiguous memory is required",
            ));
        }
        Ok(WritableView { view })
    }

    /// The memory, writable.
    pub fn as_mut_slice(&mut self) -> &mut [u8] {
        let len = self.view.len_bytes();
        if len == 0 {
            return &mut [];
        }
        // SAFETY: the view is writable and contiguous (checked in `new`), valid for `len` bytes
        // until it is released when `self` drops; `&mut self` makes this the only Rust reference.
        unsafe { std::slice::from_raw_parts_mut(self.view.buf_ptr() as *mut u8, len) }
    }
}

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
    fn to_bytes<'py>(&self, py: Python<'py>) -> Bound<'py, PyBytes> {
        PyBytes::new(py, &self.inner)
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
        PyBytes::new_with(py, a.len() + other.len(), |out| {
            out[..a.len()].copy_from_slice(a);
            out[a.len()..].copy_from_slice(&other);
            Ok(())
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

/// Parses `"C"`/`"F"`.
pub fn parse_order(order: &str) -> PyResult<Order> {
    match order {
        "C" | "c" => Ok(Order::C),
        "F" | "f" => Ok(Order::F),
        other => Err(PyValueError::new_err(format!(
            "order must be 'C' or 'F', got {other:?}"
        ))),
    }
}

/// Parses a NumPy dtype string.
pub fn parse_dtype(dtype: &str) -> PyResult<DataType> {
    dtype.parse().map_err(to_py)
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

/// The DLPack export: `DLManagedTensor` (0.x) and `DLManagedTensorVersioned` (1.x) capsules.
mod dlpack {
    use super::*;

    /// `kDLCPU`.
    pub const KDL_CPU: i32 = 1;
    const FLAG_READ_ONLY: u64 = 1;

    #[repr(C)]
    #[derive(Clone, Copy)]
    struct DLDevice {
        device_type: i32,
        device_id: i32,
    }

    #[repr(C)]
    #[derive(Clone, Copy)]
    struct DLDataType {
        code: u8,
        bits: u8,
        lanes: u16,
    }

    #[repr(C)]
    struct DLTensor {
        data: *mut c_void,
        device: DLDevice,
        ndim: i32,
        dtype: DLDataType,
        shape: *mut i64,
        strides: *mut i64,
        byte_offset: u64,
    }

    #[repr(C)]
    struct DLManagedTensor {
        dl_tensor: DLTensor,
        manager_ctx: *mut c_void,
        deleter: Option<unsafe extern "C" fn(*mut DLManagedTensor)>,
    }

    #[repr(C)]
    struct DLPackVersion {
        major: u32,
        minor: u32,
    }

    #[repr(C)]
    struct DLManagedTensorVersioned {
        version: DLPackVersion,
        manager_ctx: *mut c_void,
        deleter: Option<unsafe extern "C" fn(*mut DLManagedTensorVersioned)>,
        flags: u64,
        dl_tensor: DLTensor,
    }

    /// What a tensor keeps alive: the bytes and the shape/strides arrays it points into.
    struct Context {
        _owner: Buffer,
        shape: Vec<i64>,
        strides: Vec<i64>,
    }

    fn dl_dtype(dt: &DataType) -> PyResult<DLDataType> {
        if dt.is_swapped() {
            return Err(PyBufferError::new_err(format!(
                "DLPack holds native byte order only, not {dt}"
            )));
        }
        let code = match dt.kind() {
            TypeKind::Int => 0,
            TypeKind::UInt => 1,
            TypeKind::Float => 2,
            TypeKind::Complex => 5,
            TypeKind::Bool => 6,
            _ => {
                return Err(PyBufferError::new_err(format!(
                    "DLPack has no data type for {dt}"
                )))
            }
        };
        Ok(DLDataType {
            code,
            bits: (dt.itemsize() * 8) as u8,
            lanes: 1,
        })
    }

    unsafe extern "C" fn delete_legacy(t: *mut DLManagedTensor) {
        if t.is_null() {
            return;
        }
        // SAFETY: `t` and its context were leaked from boxes by `export`; DLPack calls the
        // deleter once.
        unsafe {
            drop(Box::from_raw((*t).manager_ctx as *mut Context));
            drop(Box::from_raw(t));
        }
    }

    unsafe extern "C" fn delete_versioned(t: *mut DLManagedTensorVersioned) {
        if t.is_null() {
            return;
        }
        // SAFETY: as in `delete_legacy`.
        unsafe {
            drop(Box::from_raw((*t).manager_ctx as *mut Context));
            drop(Box::from_raw(t));
        }
    }

    const NAME_LEGACY: &CStr = c"dltensor";
    const NAME_VERSIONED: &CStr = c"dltensor_versioned";

    unsafe extern "C" fn capsule_legacy(capsule: *mut ffi::PyObject) {
        // SAFETY: called by CPython with a live capsule; a consumer that took the tensor renamed
        // the capsule, so a still-valid name means we own the tensor and must delete it.
        unsafe {
            if ffi::PyCapsule_IsValid(capsule, NAME_LEGACY.as_ptr()) == 1 {
                let t = ffi::PyCapsule_GetPointer(capsule, NAME_LEGACY.as_ptr());
                delete_legacy(t as *mut DLManagedTensor);
            }
        }
    }

    unsafe extern "C" fn capsule_versioned(capsule: *mut ffi::PyObject) {
        // SAFETY: as in `capsule_legacy`.
        unsafe {
            if ffi::PyCapsule_IsValid(capsule, NAME_VERSIONED.as_ptr()) == 1 {
                let t = ffi::PyCapsule_GetPointer(capsule, NAME_VERSIONED.as_ptr());
                delete_versioned(t as *mut DLManagedTensorVersioned);
            }
        }
    }

    /// A DLPack capsule for `buffer` viewed as `shape` items of `dtype` with byte `strides`
    /// (C-contiguous when `None`).
    #[allow(clippy::too_many_arguments)]
    pub fn export<'py>(
        py: Python<'py>,
        buffer: Buffer,
        dtype: &DataType,
        shape: &[usize],
        strides: Option<&[usize]>,
        max_version: Option<(u32, u32)>,
        dl_device: Option<(i32, i32)>,
        copy: Option<bool>,
    ) -> PyResult<Bound<'py, PyAny>> {
        if let Some(dev) = dl_device {
            if dev.0 != KDL_CPU {
                return Err(PyBufferError::new_err(format!(
                    "ndpack buffers live on the CPU, not on DLPack device {dev:?}"
                )));
            }
        }
        if copy == Some(true) {
            return Err(PyBufferError::new_err(
                "ndpack buffers export without copying (copy=True is not supported)",
            ));
        }
        let dl = dl_dtype(dtype)?;
        let itemsize = dtype.itemsize().max(1);
        let mut ctx = Box::new(Context {
            shape: shape.iter().map(|&d| d as i64).collect(),
            strides: match strides {
                Some(s) => s.iter().map(|&s| (s / itemsize) as i64).collect(),
                None => {
                    let mut st = vec![1i64; shape.len()];
                    for i in (0..shape.len().saturating_sub(1)).rev() {
                        st[i] = st[i + 1] * shape[i + 1] as i64;
                    }
                    st
                }
            },
            _owner: buffer.clone(),
        });
        let tensor = DLTensor {
            data: buffer.as_ptr() as *mut c_void,
            device: DLDevice {
                device_type: KDL_CPU,
                device_id: 0,
            },
            ndim: shape.len() as i32,
            dtype: dl,
            shape: ctx.shape.as_mut_ptr(),
            strides: ctx.strides.as_mut_ptr(),
            byte_offset: 0,
        };
        let ctx = Box::into_raw(ctx) as *mut c_void;
        let versioned = matches!(max_version, Some((major, _)) if major >= 1);
        let capsule = if versioned {
            let t = Box::into_raw(Box::new(DLManagedTensorVersioned {
                version: DLPackVersion { major: 1, minor: 0 },
                manager_ctx: ctx,
                deleter: Some(delete_versioned),
                flags: FLAG_READ_ONLY,
                dl_tensor: tensor,
            }));
            // SAFETY: `t` is a valid tensor; the capsule's destructor frees it unless a consumer
            // took it (and renamed the capsule).
            let cap = unsafe {
                ffi::PyCapsule_New(
                    t as *mut c_void,
                    NAME_VERSIONED.as_ptr(),
                    Some(capsule_versioned),
                )
            };
            if cap.is_null() {
                // SAFETY: the capsule was not made, so we still own `t`.
                unsafe { delete_versioned(t) };
            }
            cap
        } else {
            let t = Box::into_raw(Box::new(DLManagedTensor {
                dl_tensor: tensor,
                manager_ctx: ctx,
                deleter: Some(delete_legacy),
            }));
            // SAFETY: as above.
            let cap = unsafe {
                ffi::PyCapsule_New(t as *mut c_void, NAME_LEGACY.as_ptr(), Some(capsule_legacy))
            };
            if cap.is_null() {
                // SAFETY: the capsule was not made, so we still own `t`.
                unsafe { delete_legacy(t) };
            }
            cap
        };
        // SAFETY: `capsule` is a new reference or null with an exception set.
        unsafe { Bound::from_owned_ptr_or_err(py, capsule) }
    }
}

/// Adds `Buffer` and `NDBuffer` to the extension module.
pub fn register(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add_class::<PyBuf>()?;
    m.add_class::<PyNDBuf>()?;
    Ok(())
}
