//! Python bindings of `ndpack::npy`: `load_npy`, `_NpzArchive` (behind `ndpack.NpzFile`),
//! `_save_npy` and `_save_npz`.
//!
//! Loaded arrays share memory with their input: the NumPy array's `base` is the input `bytes`, an
//! object holding a buffer export of the input (which keeps it alive and, for a `bytearray`,
//! unresizable), or an object owning the inflated bytes of a deflated NPZ member.

use std::collections::HashMap;
use std::os::raw::c_void;
use std::sync::{Mutex, MutexGuard, TryLockError};

use ndpack::npy::{
    self, Descr, NpyArray, NpzEntry, NpzOptions, NpzReadAhead, NpzReader, NpzWriter,
};
use ndpack::{Buffer, Order};
use numpy::npyffi::{self, npy_intp, NpyTypes, PY_ARRAY_API};
use numpy::{PyArrayDescr, PyArrayDescrMethods, PyUntypedArray, PyUntypedArrayMethods};
use pyo3::buffer::PyUntypedBuffer;
use pyo3::exceptions::{PyKeyError, PyValueError};
use pyo3::prelude::*;
use pyo3::sync::PyOnceLock;
use pyo3::types::{PyBytes, PyList, PyString, PyTuple};

use crate::errors::to_py;

/// Members at least this large are read with the GIL released.
const DETACH_BYTES: usize = 1 << 16;

/// Keeps a buffer export of a Python object alive (the base of zero-copy arrays).
#[pyclass(frozen, module = "ndpack._ndpack", name = "_BufferOwner")]
struct BufferOwner {
    _buf: PyUntypedBuffer,
}

/// Owns bytes held by a Rust [`Buffer`] (the base of arrays over inflated NPZ members).
#[pyclass(frozen, module = "ndpack._ndpack", name = "_RustBuffer")]
struct RustBuffer {
    _buf: Buffer,
}

/// Memory of a Python object seen as a [`Buffer`] owner.
struct PyMemory {
    ptr: *const u8,
    len: usize,
    _owner: Py<PyAny>,
}

// SAFETY: the memory is kept alive and in place by `_owner` (the bytes object, or a
// `_BufferOwner` holding a buffer export, which also forbids resizing); it is only read.
unsafe impl Send for PyMemory {}
// SAFETY: as above; shared access only reads.
unsafe impl Sync for PyMemory {}

impl AsRef<[u8]> for PyMemory {
    fn as_ref(&self) -> &[u8] {
        // SAFETY: ptr is valid for len bytes while `_owner` lives (see above).
        unsafe { std::slice::from_raw_parts(self.ptr, self.len) }
    }
}

/// The memory of `data`: pointer, length, whether writable, and the object to keep alive.
struct Source<'py> {
    ptr: *mut u8,
    len: usize,
    writable: bool,
    base: Bound<'py, PyAny>,
}

fn source<'py>(data: &Bound<'py, PyAny>) -> PyResult<Source<'py>> {
    if let Ok(b) = data.cast::<PyBytes>() {
        let s = b.as_bytes();
        return Ok(Source {
            ptr: s.as_ptr() as *mut u8,
            len: s.len(),
            writable: false,
            base: data.clone(),
        });
    }
    let buf = PyUntypedBuffer::get(data)?;
    if !buf.is_c_contiguous() {
        return Err(PyValueError::new_err(
            "data must be a contiguous buffer of bytes",
        ));
    }
    let (ptr, len, writable) = (buf.buf_ptr() as *mut u8, buf.len_bytes(), !buf.readonly());
    let base = Bound::new(data.py(), BufferOwner { _buf: buf })?.into_any();
    Ok(Source {
        ptr,
        len,
        writable,
        base,
    })
}

impl Source<'_> {
    fn bytes(&self) -> &[u8] {
        // SAFETY: the buffer export (or bytes object) in `base` keeps ptr valid for len bytes.
        unsafe { std::slice::from_raw_parts(self.ptr, self.len) }
    }

    fn into_buffer(self) -> Buffer {
        Buffer::from_owner(PyMemory {
            ptr: self.ptr,
            len: self.len,
            _owner: self.base.unbind(),
        })
    }
}

type DtypeCache = Mutex<HashMap<Descr, Py<PyArrayDescr>>>;

/// The cache of dtypes, or `None` while another thread holds it. Never waiting for it keeps a
/// child made by `fork` from blocking on a lock that a thread of the parent held at the fork.
fn dtype_cache() -> Option<MutexGuard<'static, HashMap<Descr, Py<PyArrayDescr>>>> {
    static CACHE: std::sync::OnceLock<DtypeCache> = std::sync::OnceLock::new();
    match CACHE.get_or_init(|| Mutex::new(HashMap::new())).try_lock() {
        Ok(guard) => Some(guard),
        Err(TryLockError::Poisoned(e)) => Some(e.into_inner()),
        Err(TryLockError::WouldBlock) => None,
    }
}

/// The NumPy dtype of `descr` (cached): `np.dtype(str)` for plain types, NumPy's own
/// `descr_to_dtype` for records (which handles padding fields, titles and sub-arrays).
fn numpy_dtype<'py>(py: Python<'py>, descr: &Descr) -> PyResult<Bound<'py, PyArrayDescr>> {
    if let Some(d) = dtype_cache().and_then(|c| c.get(descr).map(|d| d.bind(py).clone())) {
        return Ok(d);
    }
    let dtype = match descr {
        Descr::Scalar(dt) => PyArrayDescr::new(py, dt.to_numpy_str())?,
        Descr::Record(_) => {
            static DESCR_TO_DTYPE: PyOnceLock<Py<PyAny>> = PyOnceLock::new();
            let f = DESCR_TO_DTYPE.get_or_try_init(py, || {
                py.import("numpy.lib.format")
                    .and_then(|m| m.getattr("descr_to_dtype"))
                    .map(Bound::unbind)
            })?;
            f.bind(py)
                .call1((descr_to_py(py, descr)?,))?
                .cast_into::<PyArrayDescr>()?
        }
    };
    if let Some(mut cache) = dtype_cache() {
        if cache.len() >= 1024 {
            cache.clear();
        }
        cache.insert(descr.clone(), dtype.clone().unbind());
    }
    Ok(dtype)
}

/// `descr` as the Python object NumPy's header holds (a str, or a list of field tuples).
fn descr_to_py<'py>(py: Python<'py>, descr: &Descr) -> PyResult<Bound<'py, PyAny>> {
    match descr {
        Descr::Scalar(dt) => Ok(PyString::new(py, &dt.to_numpy_str()).into_any()),
        Descr::Record(r) => {
            let list = PyList::empty(py);
            for f in r.fields() {
                let name = match &f.title {
                    Some(t) => PyTuple::new(py, [t.as_str(), f.name.as_str()])?.into_any(),
                    None => PyString::new(py, &f.name).into_any(),
                };
                let d = descr_to_py(py, &f.descr)?;
                let item = if f.shape.is_empty() {
                    PyTuple::new(py, [name, d])?
                } else {
                    let shape = PyTuple::new(py, &f.shape)?.into_any();
                    PyTuple::new(py, [name, d, shape])?
                };
                list.append(item)?;
            }
            Ok(list.into_any())
        }
    }
}

/// A NumPy array of `descr`, `shape` and `order` over `data` (kept alive by `base`), or a copy of
/// the data when `copy` is set.
#[allow(clippy::too_many_arguments)]
fn make_array<'py>(
    py: Python<'py>,
    descr: &Descr,
    shape: &[usize],
    order: Order,
    data: *const u8,
    len: usize,
    writable: bool,
    base: Bound<'py, PyAny>,
    copy: bool,
) -> PyResult<Bound<'py, PyAny>> {
    let dtype = numpy_dtype(py, descr)?;
    let mut dims: Vec<npy_intp> = shape.iter().map(|&d| d as npy_intp).collect();
    let mut strides: Vec<npy_intp> = ndpack::region::strides(shape, descr.itemsize(), order)
        .into_iter()
        .map(|s| s as npy_intp)
        .collect();
    let nd = dims.len() as std::os::raw::c_int;
    // SAFETY: PyArray_NewFromDescr steals a reference to the descriptor, so we give it a new
    // one; dims/strides have nd entries; `data` is valid for `len` bytes (the shape × itemsize,
    // checked by the parser) while `base` lives, and `base` becomes the array's base object.
    unsafe {
        let subtype = npyffi::get_type_object(py, NpyTypes::PyArray_Type);
        let descr_ptr = dtype.into_ptr() as *mut npyffi::PyArray_Descr;
        if copy {
            let arr = PY_ARRAY_API.PyArray_NewFromDescr(
                py,
                subtype,
                descr_ptr,
                nd,
                dims.as_mut_ptr(),
                std::ptr::null_mut(),
                std::ptr::null_mut(),
                (order == Order::F) as std::os::raw::c_int,
                std::ptr::null_mut(),
            );
            let arr = Bound::from_owned_ptr_or_err(py, arr)?;
            let dst = (*(arr.as_ptr() as *mut npyffi::PyArrayObject)).fields.data as usize;
            let src = data as usize;
            let copy = move || {
                std::ptr::copy_nonoverlapping(src as *const u8, dst as *mut u8, len);
            };
            if len >= DETACH_BYTES {
                py.detach(copy);
            } else {
                copy();
            }
            drop(base);
            return Ok(arr);
        }
        let flags = if writable {
            npyffi::NPY_ARRAY_WRITEABLE
        } else {
            0
        };
        let arr = PY_ARRAY_API.PyArray_NewFromDescr(
            py,
            subtype,
            descr_ptr,
            nd,
            dims.as_mut_ptr(),
            strides.as_mut_ptr(),
            data as *mut c_void,
            flags,
            std::ptr::null_mut(),
        );
        let arr = Bound::from_owned_ptr_or_err(py, arr)?;
        if PY_ARRAY_API.PyArray_SetBaseObject(
            py,
            arr.as_ptr() as *mut npyffi::PyArrayObject,
            base.into_ptr(),
        ) < 0
        {
            return Err(PyErr::fetch(py));
        }
        Ok(arr)
    }
}

/// A NumPy array over an [`NpyArray`] whose data a Rust [`Buffer`] holds.
fn array_from_npy<'py>(
    py: Python<'py>,
    a: NpyArray,
    writable: bool,
    copy: bool,
) -> PyResult<Bound<'py, PyAny>> {
    let data = a.data().clone();
    let (ptr, len) = (data.as_ptr(), data.len());
    let base = Bound::new(py, RustBuffer { _buf: data })?.into_any();
    make_array(
        py,
        a.descr(),
        a.shape(),
        a.order(),
        ptr,
        len,
        writable,
        base,
        copy,
    )
}

/// Loads an NPY file held in memory (`bytes`, `bytearray`, `memoryview`, `mmap`, a 1-D uint8
/// array) without copying: the array shares memory with `data` and keeps it alive (read-only
/// over read-only data). With `copy=True` the array owns a copy.
#[pyfunction]
#[pyo3(signature = (data, *, copy = false))]
fn load_npy<'py>(data: &Bound<'py, PyAny>, copy: bool) -> PyResult<Bound<'py, PyAny>> {
    let py = data.py();
    let src = source(data)?;
    let view = npy::read_npy(src.bytes()).map_err(to_py)?;
    let (ptr, len) = (view.data().as_ptr(), view.data().len());
    let header = view.header().clone();
    make_array(
        py,
        &header.descr,
        &header.shape,
        header.order,
        ptr,
        len,
        src.writable,
        src.base,
        copy,
    )
}

/// A parsed NPZ archive over a Python buffer (the engine of `ndpack.NpzFile`).
#[pyclass(frozen, module = "ndpack._ndpack", name = "_NpzArchive")]
struct NpzArchive {
    reader: NpzReadAhead,
    writable: bool,
}

fn entry_to_py<'py>(
    py: Python<'py>,
    reader: &NpzReader,
    i: usize,
    entry: NpzEntry,
    writable: bool,
    copy: bool,
) -> PyResult<Bound<'py, PyAny>> {
    match entry {
        NpzEntry::Array(a) => {
            // Stored members share the archive's memory; deflated ones own theirs.
            let w = if reader.members()[i].method == 0 {
                writable
            } else {
                true
            };
            array_from_npy(py, a, w, copy)
        }
        NpzEntry::Bytes(b) => Ok(PyBytes::new(py, &b).into_any()),
    }
}

#[pymethods]
impl NpzArchive {
    #[new]
    #[pyo3(signature = (data, *, max_uncompressed_bytes = None, verify_crc = true))]
    fn new(
        data: &Bound<'_, PyAny>,
        max_uncompressed_bytes: Option<u64>,
        verify_crc: bool,
    ) -> PyResult<Self> {
        let src = source(data)?;
        let writable = src.writable;
        let buffer = src.into_buffer();
        let options = NpzOptions {
            max_uncompressed_bytes,
            verify_crc,
        };
        let reader = if buffer.len() >= DETACH_BYTES * 16 {
            data.py().detach(|| NpzReader::open_with(buffer, &options))
        } else {
            NpzReader::open_with(buffer, &options)
        }
        .map_err(to_py)?;
        Ok(NpzArchive {
            reader: NpzReadAhead::new(reader),
            writable,
        })
    }

    /// The member names in the archive (with their `.npy` suffix).
    fn names(&self) -> Vec<String> {
        self.reader
            .reader()
            .members()
            .iter()
            .map(|m| m.name.clone())
            .collect()
    }

    /// The keys: member names without the `.npy` suffix.
    fn files(&self) -> Vec<String> {
        self.reader
            .reader()
            .files()
            .into_iter()
            .map(str::to_owned)
            .collect()
    }

    /// Whether `key` names a member (with or without `.npy`).
    fn contains(&self, key: &str) -> bool {
        self.reader.reader().find(key).is_some()
    }

    /// Reads the member `key` (with or without `.npy`); raises `KeyError` if there is none.
    /// Members that follow it are decoded ahead, in parallel and without the GIL, within the
    /// bounds of [`NpzReadAhead`].
    #[pyo3(signature = (key, copy = false))]
    fn get<'py>(&self, py: Python<'py>, key: &str, copy: bool) -> PyResult<Bound<'py, PyAny>> {
        let ahead = &self.reader;
        let i = ahead
            .reader()
            .find(key)
            .ok_or_else(|| PyKeyError::new_err(format!("{key} is not a file in the archive")))?;
        let entry = match ahead.take_held(i) {
            Some(entry) => entry,
            None => {
                let batch = ahead.plan(i).map_err(to_py)?;
                if batch.bytes() >= DETACH_BYTES as u64 {
                    py.detach(|| ahead.run(batch))
                } else {
                    ahead.run(batch)
                }
                .map_err(to_py)?
            }
        };
        entry_to_py(py, ahead.reader(), i, entry, self.writable, copy)
    }

    /// Drops the members decoded ahead of reads.
    fn release(&self) {
        self.reader.release();
    }

    /// Reads every member in parallel without the GIL; returns a list of `(key, array)`.
    #[pyo3(signature = (copy = false))]
    fn load_all<'py>(
        &self,
        py: Python<'py>,
        copy: bool,
    ) -> PyResult<Vec<(String, Bound<'py, PyAny>)>> {
        let reader = self.reader.reader();
        let entries = py.detach(|| reader.read_all()).map_err(to_py)?;
        entries
            .into_iter()
            .enumerate()
            .map(|(i, (k, e))| Ok((k, entry_to_py(py, reader, i, e, self.writable, copy)?)))
            .collect()
    }

    fn __len__(&self) -> usize {
        self.reader.reader().members().len()
    }
}

/// The NPY header and data of a NumPy array: `(descr, shape, order, data pointer, nbytes)`.
struct ArrayParts {
    descr: Descr,
    shape: Vec<usize>,
    order: Order,
    ptr: usize,
    len: usize,
}

fn array_parts(array: &Bound<'_, PyUntypedArray>, descr: &str) -> PyResult<ArrayParts> {
    let descr: Descr = npy::header::parse_descr(descr).map_err(to_py)?;
    let shape = array.shape().to_vec();
    let order = if array.is_c_contiguous() {
        Order::C
    } else if array.is_fortran_contiguous() {
        Order::F
    } else {
        return Err(PyValueError::new_err("the array must be contiguous"));
    };
    let len = ndpack::region::checked_num_items(&shape)
        .ok()
        .and_then(|n| n.checked_mul(descr.itemsize()))
        .ok_or_else(|| PyValueError::new_err("array too large"))?;
    // SAFETY: `array` is a live NumPy array; its data pointer is valid for its nbytes.
    let ptr = unsafe { (*array.as_array_ptr()).fields.data } as usize;
    if array.dtype().itemsize() != descr.itemsize() {
        return Err(PyValueError::new_err(format!(
            "descr {descr:?} does not match the array's itemsize {}",
            array.dtype().itemsize()
        )));
    }
    Ok(ArrayParts {
        descr,
        shape,
        order,
        ptr,
        len,
    })
}

impl ArrayParts {
    /// The data bytes.
    ///
    /// # Safety
    /// The array they come from must stay alive and unresized while the slice is used.
    unsafe fn data<'a>(&self) -> &'a [u8] {
        if self.len == 0 {
            return &[];
        }
        // SAFETY: guaranteed by the caller (see above).
        unsafe { std::slice::from_raw_parts(self.ptr as *const u8, self.len) }
    }
}

/// The bytes of an NPY file of `array` (contiguous, C or F) with the header for `descr` (the
/// literal of `numpy.lib.format.dtype_to_descr(array.dtype)`).
#[pyfunction]
fn _save_npy<'py>(
    array: &Bound<'py, PyUntypedArray>,
    descr: &str,
) -> PyResult<Bound<'py, PyBytes>> {
    let py = array.py();
    let p = array_parts(array, descr)?;
    let header = npy::write_header(&p.descr, &p.shape, p.order);
    // SAFETY: `array` is borrowed for the whole call.
    let data = unsafe { p.data() };
    PyBytes::new_with(py, header.len() + data.len(), |out| {
        out[..header.len()].copy_from_slice(&header);
        let dst = &mut out[header.len()..];
        if data.len() >= DETACH_BYTES * 16 {
            py.detach(|| dst.copy_from_slice(data));
        } else {
            dst.copy_from_slice(data);
        }
        Ok(())
    })
}

/// The bytes of an NPZ archive of `(name, array, descr)` items, stored or deflated (members are
/// compressed in parallel without the GIL).
#[pyfunction]
#[pyo3(signature = (items, compressed = false))]
fn _save_npz<'py>(
    py: Python<'py>,
    items: Vec<(String, Bound<'py, PyUntypedArray>, String)>,
    compressed: bool,
) -> PyResult<Bound<'py, PyBytes>> {
    let parts = items
        .iter()
        .map(|(_, a, d)| array_parts(a, d))
        .collect::<PyResult<Vec<_>>>()?;
    let mut writer = NpzWriter::new(compressed);
    for ((name, _, _), p) in items.iter().zip(&parts) {
        // SAFETY: the arrays in `items` are alive for the whole call.
        let data = unsafe { p.data() };
        writer.add_array(name, &p.descr, &p.shape, p.order, data);
    }
    let out = py.detach(|| writer.finish()).map_err(to_py)?;
    Ok(PyBytes::new(py, &out))
}

/// Adds this area's classes and functions to the extension module.
pub fn register(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add_class::<BufferOwner>()?;
    m.add_class::<RustBuffer>()?;
    m.add_class::<NpzArchive>()?;
    m.add_function(wrap_pyfunction!(load_npy, m)?)?;
    m.add_function(wrap_pyfunction!(_save_npy, m)?)?;
    m.add_function(wrap_pyfunction!(_save_npz, m)?)?;
    Ok(())
}
