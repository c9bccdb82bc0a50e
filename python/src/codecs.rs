//! Python binding of the Rust codec registry: `_ndpack.Codec(config_json)` builds any registered
//! codec from its numcodecs configuration and runs it on bytes plus dtype, shape and order, with
//! the GIL released. `ndpack.codecs` (Python) builds numcodecs' classes on top of it.
//!
//! Inputs are taken without copying: `_ndpack.Buffer`/`NDBuffer` share their memory, other objects
//! are read through the buffer protocol (contiguous memory required; the Python layer makes
//! non-contiguous arrays contiguous first, as numcodecs does).

use ndpack::codec::{self, ArrayMut, ArrayRef, Codec};
use ndpack::{Buffer, DataType, Order};
use numpy::PyArray1;
use pyo3::exceptions::PyValueError;
use pyo3::prelude::*;
use pyo3::types::{PyBytes, PyList, PyTuple};

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
fn output<'py>(py: Python<'py>, out: codec::Array, result: &str) -> PyResult<Bound<'py, PyTuple>> {
    let data: Bound<'py, PyAny> = match result {
        "bytes" => PyBytes::new(py, &out.buffer).into_any(),
        "array" => PyArray1::<u8>::from_slice(py, &out.buffer).into_any(),
        "buffer" => Bound::new(py, PyBuf::new_inner(out.buffer.clone()))?.into_any(),
        other => {
            return Err(PyValueError::new_err(format!(
                "result must be 'bytes', 'array' or 'buffer', got {other:?}"
            )))
        }
    };
    let shape = PyTuple::new(py, &out.shape)?;
    let order = match out.order {
        Order::C => "C",
        Order::F => "F",
    };
    PyTuple::new(
        py,
        [
            data,
            out.dtype.to_string().into_pyobject(py)?.into_any(),
            shape.into_any(),
            order.into_pyobject(py)?.into_any(),
        ],
    )
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
        let out = py
            .detach(|| {
                let aref =
                    ArrayRef::new(&inp.buffer, inp.dtype.clone(), inp.shape.clone(), inp.order)?;
                codec.encode(aref)
            })
            .map_err(to_py)?;
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
        let out = py
            .detach(|| {
                let aref =
                    ArrayRef::new(&inp.buffer, inp.dtype.clone(), inp.shape.clone(), inp.order)?;
                codec.decode(aref)
            })
            .map_err(to_py)?;
        output(py, out, result)
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

/// Adds `Codec` and `codec_ids` to the extension module.
pub fn register(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add_class::<PyCodec>()?;
    m.add_function(wrap_pyfunction!(codec_ids, m)?)?;
    Ok(())
}
