//! Python bindings of `ndpack::npy`: `load_npy`, `_NpzArchive` (behind `ndpack.NpzFile`),
//! `_save_npy` and `_save_npz`.
//!
//! Loaded arrays share memory with their input ([`crate::memory`]): the NumPy array's `base` is
//! the input `bytes` or NumPy array, an object holding a buffer export of the input (which keeps
//! it alive and, for a `bytearray`, unresizable), or an object owning the inflated bytes of a
//! deflated NPZ member.

use std::collections::HashMap;
use std::sync::{Mutex, MutexGuard, TryLockError};

use ndpack::npy::{self, Descr, NpzEntry, NpzOptions, NpzReadAhead, NpzReader, NpzWriter};
use ndpack::Order;
use numpy::{PyArrayDescr, PyArrayDescrMethods, PyUntypedArray, PyUntypedArrayMethods};
use pyo3::exceptions::{PyKeyError, PyValueError};
use pyo3::prelude::*;
use pyo3::sync::PyOnceLock;
use pyo3::types::{PyBytes, PyList, PyString, PyTuple};

use crate::errors::to_py;
use crate::memory::{bytes_from_slice, bytes_with, write_parts, NumpyBase, PyMemory, RustBuffer};

/// Members at least this large are read with the GIL released.
const DETACH_BYTES: usize = 1 << 16;

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

/// A NumPy array of `descr`, `shape` and `order` over the start of `base`, or a copy of the
/// data when `copy` is set.
fn make_array<'py>(
    py: Python<'py>,
    base: &NumpyBase,
    descr: &Descr,
    shape: &[usize],
    order: Order,
    copy: bool,
) -> PyResult<Bound<'py, PyAny>> {
    base.array(py, &numpy_dtype(py, descr)?, shape, order, copy)
}

/// Loads an NPY file held in memory (`bytes`, `bytearray`, `memoryview`, `mmap`, a 1-D uint8
/// array) without copying: the array shares memory with `data` and keeps it alive (read-only
/// over read-only data). With `copy=True` the array owns a copy.
#[pyfunction]
#[pyo3(signature = (data, *, copy = false))]
fn load_npy<'py>(data: &Bound<'py, PyAny>, copy: bool) -> PyResult<Bound<'py, PyAny>> {
    let py = data.py();
    let src = PyMemory::c_contiguous(data, "data must be a contiguous buffer of bytes")?;
    let view = npy::read_npy(src.as_slice()).map_err(to_py)?;
    let (range, header) = (view.data_range(), view.header().clone());
    let base = src.into_numpy_base(py)?.part(py, range)?;
    make_array(py, &base, &header.descr, &header.shape, header.order, copy)
}

/// A parsed NPZ archive over a Python buffer (the engine of `ndpack.NpzFile`).
#[pyclass(frozen, module = "ndpack._ndpack", name = "_NpzArchive")]
struct NpzArchive {
    reader: NpzReadAhead,
    /// The archive's memory, the base of arrays over stored members.
    base: NumpyBase,
}

/// The Python form of member `i`: an array over the archive's memory for a stored member
/// (writable when that memory is), over memory of its own for a deflated one (writable).
fn entry_to_py<'py>(
    py: Python<'py>,
    reader: &NpzReader,
    i: usize,
    entry: NpzEntry,
    archive: &NumpyBase,
    copy: bool,
) -> PyResult<Bound<'py, PyAny>> {
    match entry {
        NpzEntry::Array(a) => {
            let stored = match reader.members()[i].method {
                0 => archive.range_of(a.data()),
                _ => None,
            };
            let base = match stored {
                Some(range) => archive.part(py, range)?,
                None => {
                    let data = a.data().clone();
                    let (descr, shape, order) = (a.descr().clone(), a.shape().to_vec(), a.order());
                    drop(a); // leaves `data` the only handle to the inflated bytes
                    let base = RustBuffer::base_mut(py, data)?;
                    return make_array(py, &base, &descr, &shape, order, copy);
                }
            };
            make_array(py, &base, a.descr(), a.shape(), a.order(), copy)
        }
        NpzEntry::Bytes(b) => Ok(bytes_from_slice(py, &b)?.into_any()),
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
        let src = PyMemory::c_contiguous(data, "data must be a contiguous buffer of bytes")?;
        let (buffer, base) = src.into_buffer_and_base(data.py())?;
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
            base,
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
        entry_to_py(py, ahead.reader(), i, entry, &self.base, copy)
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
            .map(|(i, (k, e))| Ok((k, entry_to_py(py, reader, i, e, &self.base, copy)?)))
            .collect()
    }

    fn __len__(&self) -> usize {
        self.reader.reader().members().len()
    }
}

/// The NPY header and data of a NumPy array.
struct ArrayParts {
    descr: Descr,
    shape: Vec<usize>,
    order: Order,
    data: PyMemory,
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
    if array.dtype().itemsize() != descr.itemsize() {
        return Err(PyValueError::new_err(format!(
            "descr {descr:?} does not match the array's itemsize {}",
            array.dtype().itemsize()
        )));
    }
    let data = PyMemory::contiguous(array.as_any())?;
    if data.as_slice().len() != len {
        return Err(PyValueError::new_err(format!(
            "the array holds {} bytes, not the {len} of its shape",
            data.as_slice().len()
        )));
    }
    Ok(ArrayParts {
        descr,
        shape,
        order,
        data,
    })
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
    let data = p.data.as_slice();
    bytes_with(py, header.len() + data.len(), |out| {
        write_parts(out, &[&header, data])
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
        writer.add_array(name, &p.descr, &p.shape, p.order, p.data.as_slice());
    }
    let out = py.detach(|| writer.finish()).map_err(to_py)?;
    bytes_from_slice(py, &out)
}

/// Adds this area's classes and functions to the extension module.
pub fn register(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add_class::<NpzArchive>()?;
    m.add_function(wrap_pyfunction!(load_npy, m)?)?;
    m.add_function(wrap_pyfunction!(_save_npy, m)?)?;
    m.add_function(wrap_pyfunction!(_save_npz, m)?)?;
    Ok(())
}
