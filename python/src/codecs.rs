//! Python binding of the Rust codec registry: `_ndpack.Codec(config_json)` builds any registered
//! codec from its numcodecs configuration and runs it on bytes plus dtype, shape and order, with
//! the GIL released. `ndpack.codecs` (Python) builds numcodecs' classes on top of it.
//!
//! Inputs are taken without copying: `_ndpack.Buffer`/`NDBuffer` share their memory, other objects
//! are read through the buffer protocol (contiguous memory required; the Python layer makes
//! non-contiguous arrays contiguous first, as numcodecs does).

use ndpack::codec::{self, ArrayMut, ArrayRef, Codec, GrowBuf};
use ndpack::{Buffer, DataType, NDBuffer, Order};
use pyo3::exceptions::PyValueError;
use pyo3::prelude::*;
use pyo3::types::{PyList, PyTuple};

use crate::buffer::{parse_dtype, parse_order, PyBuf, PyNDBuf};
use crate::errors::to_py;
use crate::memory::{
    buffer_from_py, bytes_from_slice, bytes_with, write_only, NewBytes, PyMemoryMut, RustBuffer,
};

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
        "bytes" => bytes_from_slice(py, &buffer)?.into_any(),
        "array" => numpy_from_buffer(py, buffer)?,
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

/// A writable 1-d `uint8` NumPy array of `buffer`'s bytes: the block itself, without copying,
/// when `buffer` is the only handle to memory Rust allocated (a fresh codec result), else a copy.
fn numpy_from_buffer(py: Python<'_>, buffer: Buffer) -> PyResult<Bound<'_, PyAny>> {
    let len = buffer.len();
    RustBuffer::base_mut(py, buffer)?.array(py, &numpy::dtype::<u8>(py), &[len], Order::C, false)
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
        Some(Ok(n)) => Ok(Some((out.0.finish(py, n)?.into_any(), n))),
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
                let bytes = bytes_with(py, bound, |out| codec.encode_into(aref, write_only(out)))?;
                let n = bytes.as_bytes().len();
                return result_tuple(py, bytes.into_any(), &DataType::u8(), &[n], Order::C);
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
                let bytes = bytes_with(py, n, |out| {
                    codec
                        .decode_into(src, ArrayMut::bytes(write_only(out)))
                        .map(|()| n)
                })?;
                return result_tuple(py, bytes.into_any(), &DataType::u8(), &[n], Order::C);
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
        let mut view = PyMemoryMut::contiguous(out)?;
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
        let mut view = PyMemoryMut::contiguous(out)?;
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
    m.add_function(wrap_pyfunction!(codec_ids, m)?)?;
    m.add_function(wrap_pyfunction!(crc32c, m)?)?;
    m.add_function(wrap_pyfunction!(zstd_levels, m)?)?;
    Ok(())
}
