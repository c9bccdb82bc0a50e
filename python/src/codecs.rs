//! Python binding of the Rust codec registry: `_ndpack.Codec(config_json)` builds any registered
//! codec from its numcodecs configuration and runs it on bytes plus dtype, shape and order, with
//! the GIL released. `ndpack.codecs` (Python) builds numcodecs' classes on top of it.
//!
//! Inputs are taken without copying: `_ndpack.Buffer`/`NDBuffer` share their memory, other objects
//! are read through the buffer protocol (contiguous memory required; the Python layer makes
//! non-contiguous arrays contiguous first, as numcodecs does).

use ndpack::codec::{self, ArrayMut, ArrayRef, Codec, GrowBuf};
use ndpack::{Buffer, DataType, NDBuffer, Order};
use numpy::ndarray::ArrayViewMut1;
use numpy::PyArray1;
use pyo3::exceptions::{PyMemoryError, PyValueError};
use pyo3::ffi;
use pyo3::prelude::*;
use pyo3::types::{PyList, PyTuple};

use crate::buffer::{buffer_from_py, parse_dtype, parse_order, PyBuf, PyNDBuf, WritableView};
use crate::errors::to_py;

/// A codec of the Rust registry, built from its numcodecs configuration (a JSON string).
#[pyclass(name = "Codec", module = "ndpack._ndpack", frozen)]
pub struct PyCodec {
    codec: Box<dyn Codec>,
}

/// Bytes plus how to read them, taken from the Python arguments.
struct Input {
    buffer: Buffer,
    dtype: DataType,
    shape: Vec<usize>,
    order: Order,
}

impl Input {
    /// The input as the codecs take it.
    fn array_ref(&self) -> ndpack::Result<ArrayRef<'_>> {
        ArrayRef::new(
            &self.buffer,
            self.dtype.clone(),
            self.shape.clone(),
            self.order,
        )
    }
}

fn input(
    data: &Bound<'_, PyAny>,
    dtype: Option<&str>,
    shape: Option<Vec<usize>>,
    order: Option<&str>,
) -> PyResult<Input> {
    if let Ok(nd) = data.cast::<PyNDBuf>() {
        if dtype.is_none() && shape.is_none() {
            let nd = &nd.get().inner;
            return Ok(Input {
                buffer: nd.buffer().clone(),
                dtype: nd.dtype().clone(),
                shape: nd.shape().to_vec(),
                order: nd.order(),
            });
        }
    }
    let buffer = buffer_from_py(data)?;
    let dtype = match dtype {
        Some(d) => parse_dtype(d)?,
        None => DataType::u8(),
    };
    let shape = match shape {
        Some(s) => s,
        None => {
            let size = dtype.itemsize();
            if size == 0 || buffer.len() % size != 0 {
                return Err(PyValueError::new_err(format!(
                    "{} bytes do not hold whole items of {dtype}",
                    buffer.len()
                )));
            }
            vec![buffer.len() / size]
        }
    };
    let order = match order {
        Some(o) => parse_order(o)?,
        None => Order::C,
    };
    Ok(Input {
        buffer,
        dtype,
        shape,
        order,
    })
}

/// The Python form of a codec result: `(data, dtype_str, shape, order)` where `data` is `bytes`
/// (`result="bytes"`), a writable 1-d `uint8` NumPy array (`"array"`) or a `_ndpack.Buffer`
/// sharing the Rust memory (`"buffer"`).
fn output<'py>(py: Python<'py>, out: NDBuffer, result: &str) -> PyResult<Bound<'py, PyTuple>> {
    let (buffer, dtype, shape, order) = out.into_parts();
    let data: Bound<'py, PyAny> = match result {
        "bytes" => bytes_from_slice(py, &buffer)?,
        "array" => numpy_from_buffer(py, buffer)?.into_any(),
        "buffer" => Bound::new(py, PyBuf::new_inner(buffer))?.into_any(),
        other => {
            return Err(PyValueError::new_err(format!(
                "result must be 'bytes', 'array' or 'buffer', got {other:?}"
            )))
        }
    };
    result_tuple(py, data, &dtype, &shape, order)
}

/// `(data, dtype_str, shape, order)`.
fn result_tuple<'py>(
    py: Python<'py>,
    data: Bound<'py, PyAny>,
    dtype: &DataType,
    shape: &[usize],
    order: Order,
) -> PyResult<Bound<'py, PyTuple>> {
    let shape = PyTuple::new(py, shape)?;
    let order = match order {
        Order::C => "C",
        Order::F => "F",
    };
    PyTuple::new(
        py,
        [
            data,
            dtype.to_string().into_pyobject(py)?.into_any(),
            shape.into_any(),
            order.into_pyobject(py)?.into_any(),
        ],
    )
}

/// Keeps a codec's result block alive under the NumPy array that views it.
#[pyclass(name = "_RustBlock", module = "ndpack._ndpack", frozen)]
struct RustBlock {
    _buffer: Buffer,
}

/// A writable 1-d `uint8` NumPy array of `buffer`'s bytes: the block itself, without copying,
/// when `buffer` is the only handle to memory Rust allocated (a fresh codec result), else a copy.
fn numpy_from_buffer(py: Python<'_>, mut buffer: Buffer) -> PyResult<Bound<'_, PyArray1<u8>>> {
    let view = match buffer.unique_mut() {
        Some(bytes) if !bytes.is_empty() => {
            // SAFETY: `bytes` is valid for `len` bytes and exclusively ours (`unique_mut`).
            unsafe { ArrayViewMut1::from_shape_ptr(bytes.len(), bytes.as_mut_ptr()) }
        }
        _ => return Ok(PyArray1::<u8>::from_slice(py, &buffer)),
    };
    let holder = Bound::new(py, RustBlock { _buffer: buffer })?;
    // SAFETY: the block stays alive as long as the array (its base is `holder`, which owns the
    // only handle to it) and nothing else reads or writes it: `holder` exposes nothing, so the
    // array is the block's sole user and may write to it.
    Ok(unsafe { PyArray1::borrow_from_array(&view, holder.into_any()) })
}

/// A raw output pointer carried into `py.detach`.
struct OutPtr(*mut u8, usize);
// SAFETY: the memory it points to is owned by a Python object that the calling thread keeps
// alive (and that nothing else can see) until `detach` returns.
unsafe impl Send for OutPtr {}

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
/// Every allocation is checked: memory that cannot be had is a Python `MemoryError` (or an
/// [`ndpack::ErrorKind::OutOfMemory`] error from [`GrowBuf::grow`]), never a panic or an abort.
struct NewBytes {
    /// A `bytes` object with one reference, ours; never null.
    obj: std::ptr::NonNull<ffi::PyObject>,
    len: usize,
}

// SAFETY: the object is used by one thread at a time (the one running a codec with the GIL
// released, or the caller once `detach` returns); nothing else references it, and every call
// that needs the GIL (allocation, resizing, freeing) takes it.
unsafe impl Send for NewBytes {}

impl NewBytes {
    /// A `bytes` object of `len` bytes, or the `MemoryError` Python raised.
    fn new(py: Python<'_>, len: usize) -> PyResult<Self> {
        let size = ffi::Py_ssize_t::try_from(len)
            .map_err(|_| PyMemoryError::new_err(format!("cannot allocate {len} bytes")))?;
        // SAFETY: plain C API call with the GIL held; a null data pointer asks for an
        // uninitialised object, which only we write before exposing it.
        let obj = unsafe { ffi::PyBytes_FromStringAndSize(std::ptr::null(), size) };
        match std::ptr::NonNull::new(obj) {
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
    fn as_mut_slice(&mut self) -> &mut [u8] {
        if self.len == 0 {
            return &mut [];
        }
        // SAFETY: the object holds `len` bytes at `data()` until it is resized or finished, and
        // `&mut self` makes this the only reference. Like the `out` buffers callers pass
        // (`WritableView`), this is memory of a foreign allocator handed over FFI; it is not
        // zeroed first (that pass cost a third of LZ4's decoding time), and codecs only write
        // into it.
        unsafe { std::slice::from_raw_parts_mut(self.data(), self.len) }
    }

    /// Replaces the object by one of `len` bytes (at least the current length) that starts
    /// with the current bytes; keeps the object as it is when the memory cannot be had.
    fn grow_to(&mut self, py: Python<'_>, len: usize) -> PyResult<()> {
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
    fn finish(self, py: Python<'_>, n: usize) -> PyResult<Bound<'_, PyAny>> {
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
        Ok(unsafe { Bound::from_owned_ptr(py, obj) })
    }
}

impl Drop for NewBytes {
    fn drop(&mut self) {
        // SAFETY: our one reference to the object, released with the GIL held.
        Python::attach(|_| unsafe { ffi::Py_DECREF(self.obj.as_ptr()) });
    }
}

/// A new `bytes` object holding a copy of `data`: a `MemoryError` when the memory cannot be had.
pub(crate) fn bytes_from_slice<'py>(py: Python<'py>, data: &[u8]) -> PyResult<Bound<'py, PyAny>> {
    let mut out = NewBytes::new(py, data.len())?;
    out.as_mut_slice().copy_from_slice(data);
    out.finish(py, data.len())
}

/// A new `bytes` object of at most `capacity` bytes, filled by `fill` with the GIL released:
/// `fill` gets the memory and returns how many bytes it wrote, which the object is
/// shrunk to (and returned with it). Codecs write their output straight into the Python object, without a copy.
fn bytes_with<'py>(
    py: Python<'py>,
    capacity: usize,
    fill: impl FnOnce(&mut [u8]) -> ndpack::Result<usize> + Send,
) -> PyResult<(Bound<'py, PyAny>, usize)> {
    let out = NewBytes::new(py, capacity)?;
    let base = out.data();
    let ptr = OutPtr(base, capacity);
    let written = py.detach(move || {
        let out = ptr;
        if out.1 == 0 {
            return fill(&mut []);
        }
        // SAFETY: `out` points to the `capacity` bytes of the new object, which only this
        // thread uses until `detach` returns; as in `NewBytes::as_mut_slice`, codecs only write
        // into this foreign, not zeroed memory.
        let slice = unsafe { std::slice::from_raw_parts_mut(out.0, out.1) };
        fill(slice)
    });
    let n = written.map_err(to_py)?;
    Ok((out.finish(py, n)?, n))
}

/// A `bytes` object under construction that a decoder fills and grows ([`GrowBuf`]).
struct WriterBuf(NewBytes);

impl GrowBuf for WriterBuf {
    fn buf(&mut self) -> &mut [u8] {
        self.0.as_mut_slice()
    }

    fn grow(&mut self, len: usize) -> ndpack::Result<()> {
        Python::attach(|py| {
            self.0.grow_to(py, len).map_err(|e| {
                ndpack::Error::out_of_memory(format!("cannot grow the output to {len} bytes: {e}"))
            })
        })
    }
}

/// Decodes with [`Codec::decode_grow`] straight into a new `bytes` object; `None` when the codec
/// does not decode that way.
fn decode_grow_bytes<'py>(
    py: Python<'py>,
    codec: &dyn Codec,
    src: &[u8],
) -> PyResult<Option<(Bound<'py, PyAny>, usize)>> {
    let mut out = WriterBuf(NewBytes::new(py, 0)?);
    match py.detach(|| codec.decode_grow(src, &mut out)) {
        Some(Ok(n)) => Ok(Some((out.0.finish(py, n)?, n))),
        Some(Err(e)) => Err(to_py(e)),
        None => Ok(None),
    }
}

#[pymethods]
impl PyCodec {
    #[new]
    fn py_new(config: &str) -> PyResult<Self> {
        let value: serde_json::Value = serde_json::from_str(config)
            .map_err(|e| PyValueError::new_err(format!("codec config is not JSON: {e}")))?;
        Ok(PyCodec {
            codec: codec::get_codec(&value).map_err(to_py)?,
        })
    }

    /// The numcodecs codec id.
    #[getter]
    fn codec_id(&self) -> &'static str {
        self.codec.id()
    }

    /// The numcodecs configuration as a JSON string (defaults included).
    fn config(&self) -> String {
        self.codec.config().to_string()
    }

    /// Encodes `data` (bytes, or items of `dtype` in `shape`); returns `(data, dtype, shape, order)`.
    #[pyo3(signature = (data, dtype=None, shape=None, order=None, result="bytes"))]
    fn encode<'py>(
        &self,
        py: Python<'py>,
        data: &Bound<'py, PyAny>,
        dtype: Option<&str>,
        shape: Option<Vec<usize>>,
        order: Option<&str>,
        result: &str,
    ) -> PyResult<Bound<'py, PyTuple>> {
        let inp = input(data, dtype, shape, order)?;
        let codec = &self.codec;
        let aref = inp.array_ref().map_err(to_py)?;
        if result == "bytes" {
            if let Some(bound) = codec.max_encoded_len(&aref) {
                // Straight into the `bytes` object: no second buffer, no copy.
                let (bytes, n) = bytes_with(py, bound, |out| codec.encode_into(aref, out))?;
                return result_tuple(py, bytes, &DataType::u8(), &[n], Order::C);
            }
        }
        let out = py.detach(|| codec.encode(aref)).map_err(to_py)?;
        output(py, out, result)
    }

    /// Decodes `data`; returns `(data, dtype, shape, order)` like `encode`.
    #[pyo3(signature = (data, dtype=None, shape=None, order=None, result="bytes"))]
    fn decode<'py>(
        &self,
        py: Python<'py>,
        data: &Bound<'py, PyAny>,
        dtype: Option<&str>,
        shape: Option<Vec<usize>>,
        order: Option<&str>,
        result: &str,
    ) -> PyResult<Bound<'py, PyTuple>> {
        let inp = input(data, dtype, shape, order)?;
        let codec = &self.codec;
        if result == "bytes" {
            if let Some(n) = codec.decoded_len(&inp.buffer) {
                // Straight into a `bytes` object of the declared size.
                let src: &[u8] = &inp.buffer;
                let (bytes, _) = bytes_with(py, n, |out| {
                    codec.decode_into(src, ArrayMut::bytes(out)).map(|()| n)
                })?;
                return result_tuple(py, bytes, &DataType::u8(), &[n], Order::C);
            }
            if let Some((bytes, n)) = decode_grow_bytes(py, codec.as_ref(), &inp.buffer)? {
                return result_tuple(py, bytes, &DataType::u8(), &[n], Order::C);
            }
        }
        let out = py
            .detach(|| codec.decode(inp.array_ref()?))
            .map_err(to_py)?;
        output(py, out, result)
    }

    /// Encodes `data` straight into `out` (writable, contiguous, at least the encoded size:
    /// exactly it for filters) and returns the number of bytes written.
    #[pyo3(signature = (data, out, dtype=None, shape=None, order=None))]
    fn encode_into(
        &self,
        py: Python<'_>,
        data: &Bound<'_, PyAny>,
        out: &Bound<'_, PyAny>,
        dtype: Option<&str>,
        shape: Option<Vec<usize>>,
        order: Option<&str>,
    ) -> PyResult<usize> {
        let inp = input(data, dtype, shape, order)?;
        let mut view = WritableView::new(out)?;
        let codec = &self.codec;
        py.detach(|| codec.encode_into(inp.array_ref()?, view.as_mut_slice()))
            .map_err(to_py)
    }

    /// For codecs whose decoded data is a part of the encoded bytes (checksums): checks `data`
    /// and returns `(start, stop)` of that part, or `None` for other codecs.
    fn decode_range(
        &self,
        py: Python<'_>,
        data: &Bound<'_, PyAny>,
    ) -> PyResult<Option<(usize, usize)>> {
        let src = buffer_from_py(data)?;
        let codec = &self.codec;
        match py.detach(|| codec.decoded_range(&src)) {
            None => Ok(None),
            Some(r) => r.map(|r| Some((r.start, r.end))).map_err(to_py),
        }
    }

    /// Decodes `data` straight into `out` (writable, contiguous, exactly the decoded size),
    /// whose items are `dtype` in `shape` and `order`.
    #[pyo3(signature = (data, out, dtype=None, shape=None, order=None))]
    fn decode_into(
        &self,
        py: Python<'_>,
        data: &Bound<'_, PyAny>,
        out: &Bound<'_, PyAny>,
        dtype: Option<&str>,
        shape: Option<Vec<usize>>,
        order: Option<&str>,
    ) -> PyResult<()> {
        let src = buffer_from_py(data)?;
        let mut view = WritableView::new(out)?;
        let dtype = match dtype {
            Some(d) => parse_dtype(d)?,
            None => DataType::u8(),
        };
        let order = match order {
            Some(o) => parse_order(o)?,
            None => Order::C,
        };
        let codec = &self.codec;
        py.detach(|| {
            let data = view.as_mut_slice();
            let shape = shape.unwrap_or_else(|| vec![data.len() / dtype.itemsize().max(1)]);
            codec.decode_into(
                &src,
                ArrayMut {
                    data,
                    dtype,
                    shape,
                    order,
                },
            )
        })
        .map_err(to_py)
    }

    fn __repr__(&self) -> String {
        format!("_ndpack.Codec('{}')", self.codec.config())
    }
}

/// The ids of the codecs registered in the Rust registry, sorted.
#[pyfunction]
fn codec_ids<'py>(py: Python<'py>) -> PyResult<Bound<'py, PyList>> {
    PyList::new(py, codec::codec_ids())
}

/// The CRC-32C of `data` (any bytes-like object) continuing from `value`, the CRC-32C of the
/// bytes before it (0: none).
#[pyfunction]
#[pyo3(signature = (data, value = 0))]
fn crc32c(py: Python<'_>, data: &Bound<'_, PyAny>, value: u32) -> PyResult<u32> {
    let buffer = buffer_from_py(data)?;
    Ok(py.detach(|| codec::crc32c::crc32c_append(value, &buffer)))
}

/// libzstd's `(default, min, max)` compression levels.
#[pyfunction]
fn zstd_levels() -> (i32, i32, i32) {
    use codec::zstd::Zstd;
    (Zstd::default_level(), Zstd::min_level(), Zstd::max_level())
}

/// Adds `Codec`, `codec_ids`, `crc32c` and `zstd_levels` to the extension module.
pub fn register(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add_class::<PyCodec>()?;
    m.add_class::<RustBlock>()?;
    m.add_function(wrap_pyfunction!(codec_ids, m)?)?;
    m.add_function(wrap_pyfunction!(crc32c, m)?)?;
    m.add_function(wrap_pyfunction!(zstd_levels, m)?)?;
    Ok(())
}
