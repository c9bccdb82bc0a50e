//! Binding of the zarr v3 codec chain (`ndpack::codec::zarr3`) and the batched chunk work of
//! `ndpack::array::zarr`: `_ndpack.ZarrCodecChain(codecs_json, itemsize)` decodes and encodes
//! many chunks per call, in parallel, with the GIL released; `read_into` reads the chunks of a
//! selection (from memory or from files) straight into the output array; `ZarrBytesChain` runs
//! bytes-to-bytes codecs alone (the Rust side of a codec that runs in Python). `ndpack.zarr` builds
//! zarr-python's codec pipeline and codec classes on it.

use std::path::PathBuf;

use ndpack::array::zarr::{
    decode_bytes_chunks, decode_chunks, encode_bytes_chunks, encode_chunks, read_chunks_into,
    read_files, write_chunk_files, write_chunks, ChunkRead, ChunkSource, ChunkWrite,
};
use ndpack::buffer::{ArrayMut, ArrayRef};
use ndpack::codec::zarr3::{BytesChain, CodecChain, EncodeOptions};
use ndpack::region::{AxisPick, Pick, Region, Slice};
use ndpack::{Buffer, DataType, Order};
use numpy::{PyArrayDescr, PyReadonlyArray1, PyReadonlyArray2};
use pyo3::exceptions::PyValueError;
use pyo3::prelude::*;
use pyo3::types::{PyList, PyString, PyTuple};

use crate::buffer::{parse_dtype, parse_order};
use crate::errors::to_py;
use crate::memory::{buffer_from_py, bytes_from_slice, PyMemoryMut, RustBuffer};

/// A zarr v3 codec chain built from the JSON list of a `zarr.json`'s `"codecs"`.
#[pyclass(name = "ZarrCodecChain", module = "ndpack._ndpack", frozen)]
pub struct PyZarrChain {
    chain: CodecChain,
    codecs: String,
    itemsize: usize,
}

/// A chunk source: `None` (missing), a `str` path read by Rust, or bytes-like memory.
enum Source {
    Missing,
    Path(PathBuf),
    Memory(Buffer),
}

fn sources(chunks: &Bound<'_, PyList>) -> PyResult<Vec<Source>> {
    chunks
        .iter()
        .map(|c| {
            if c.is_none() {
                Ok(Source::Missing)
            } else if let Ok(s) = c.cast::<PyString>() {
                Ok(Source::Path(PathBuf::from(s.to_str()?)))
            } else {
                Ok(Source::Memory(buffer_from_py(&c)?))
            }
        })
        .collect()
}

/// Resolves paths to their bytes (read in parallel); memory stays as it is.
fn load(sources: Vec<Source>) -> ndpack::Result<Vec<Option<Buffer>>> {
    let paths: Vec<PathBuf> = sources
        .iter()
        .filter_map(|s| match s {
            Source::Path(p) => Some(p.clone()),
            _ => None,
        })
        .collect();
    let mut files = read_files(&paths)?.into_iter();
    Ok(sources
        .into_iter()
        .map(|s| match s {
            Source::Missing => None,
            Source::Memory(b) => Some(b),
            Source::Path(_) => files.next().flatten().map(Buffer::from_vec),
        })
        .collect())
}

/// Indices of a selection from Python's integers (never negative).
fn indices<'a>(values: impl Iterator<Item = &'a i64>) -> PyResult<Vec<usize>> {
    values
        .map(|&i| {
            usize::try_from(i)
                .map_err(|_| PyValueError::new_err(format!("negative index {i} in a selection")))
        })
        .collect()
}

/// A selection from Python: a list with, per axis, a `(start, stop, step)` tuple (as
/// `slice.indices` gives it) or a 1-d `int64` array of indices (a region when every axis is a
/// tuple, an orthogonal selection otherwise); or a 2-d `int64` array of shape `(ndim, n)`: the
/// coordinates of `n` points.
fn pick(obj: &Bound<'_, PyAny>) -> PyResult<Pick> {
    if let Ok(list) = obj.cast::<PyList>() {
        let mut axes = Vec::with_capacity(list.len());
        let mut region = true;
        for a in list.iter() {
            if let Ok((x, y, z)) = a.extract::<(isize, isize, isize)>() {
                axes.push(AxisPick::Slice(Slice::new(x, y, z).map_err(to_py)?));
            } else {
                let arr = a.extract::<PyReadonlyArray1<'_, i64>>().map_err(|_| {
                    PyValueError::new_err(
                        "a selection axis must be a (start, stop, step) tuple or an int64 array",
                    )
                })?;
                region = false;
                axes.push(AxisPick::List(indices(arr.as_array().iter())?));
            }
        }
        if region {
            let slices = axes
                .into_iter()
                .map(|a| match a {
                    AxisPick::Slice(s) => s,
                    AxisPick::List(_) => unreachable!("only slices"),
                })
                .collect();
            return Ok(Pick::Region(Region::new(slices)));
        }
        return Ok(Pick::Orthogonal(axes));
    }
    let arr = obj.extract::<PyReadonlyArray2<'_, i64>>().map_err(|_| {
        PyValueError::new_err("a selection must be a list of axes or a 2-d int64 array of points")
    })?;
    let view = arr.as_array();
    Ok(Pick::Points(
        view.outer_iter()
            .map(|row| indices(row.iter()))
            .collect::<PyResult<_>>()?,
    ))
}

/// The selections of a list (see [`pick`]).
fn picks(list: &Bound<'_, PyList>) -> PyResult<Vec<Pick>> {
    list.iter().map(|p| pick(&p)).collect()
}

fn numpy_dtype<'py>(py: Python<'py>, dtype: &DataType) -> PyResult<Bound<'py, PyArrayDescr>> {
    PyArrayDescr::new(py, dtype.to_numpy_str())
}

#[pymethods]
impl PyZarrChain {
    #[new]
    fn py_new(codecs: &str, itemsize: usize) -> PyResult<Self> {
        let value: serde_json::Value = serde_json::from_str(codecs)
            .map_err(|e| PyValueError::new_err(format!("zarr codecs are not JSON: {e}")))?;
        Ok(PyZarrChain {
            chain: CodecChain::from_json(&value, itemsize).map_err(to_py)?,
            codecs: codecs.to_string(),
            itemsize,
        })
    }

    /// The zarr v3 names of the codecs, in encoding order.
    #[getter]
    fn names(&self) -> Vec<String> {
        self.chain.names()
    }

    /// The encoded size of a chunk of `byte_length` bytes and `shape` for fixed-size chains,
    /// else `None`.
    fn encoded_size(&self, byte_length: usize, shape: Vec<usize>) -> Option<usize> {
        self.chain.encoded_size(byte_length, &shape)
    }

    fn __reduce__<'py>(slf: &Bound<'py, Self>) -> PyResult<Bound<'py, PyTuple>> {
        let py = slf.py();
        let me = slf.get();
        let args = (me.codecs.clone(), me.itemsize).into_pyobject(py)?;
        PyTuple::new(py, [slf.get_type().into_any(), args.into_any()])
    }

    /// Decodes whole chunks (each `None`, a path or bytes-like) of `shape` items of `dtype` in
    /// parallel; returns a list of C-order NumPy arrays (`None` for missing chunks).
    fn decode<'py>(
        &self,
        py: Python<'py>,
        chunks: &Bound<'py, PyList>,
        dtype: &str,
        shape: Vec<usize>,
        fill: &[u8],
    ) -> PyResult<Bound<'py, PyList>> {
        let dt = parse_dtype(dtype)?;
        let srcs = sources(chunks)?;
        let chain = &self.chain;
        let decoded = py
            .detach(|| {
                let loaded = load(srcs)?;
                let views: Vec<Option<&[u8]>> = loaded.iter().map(|b| b.as_deref()).collect();
                decode_chunks(chain, &views, &dt, &shape, fill)
            })
            .map_err(to_py)?;
        let descr = numpy_dtype(py, &dt)?;
        let list = PyList::empty(py);
        for d in decoded {
            match d {
                None => list.append(py.None())?,
                Some(v) => list.append(RustBuffer::base_mut(py, Buffer::from_vec(v))?.array(
                    py,
                    &descr,
                    &shape,
                    Order::C,
                    false,
                )?)?,
            }
        }
        Ok(list)
    }

    /// Encodes whole chunks (contiguous memory of `shape` items of `dtype` in `order`) in
    /// parallel; returns a list of `bytes` (`None` for chunks not to be stored).
    #[pyo3(signature = (arrays, dtype, shape, order, fill, write_empty_chunks))]
    #[allow(clippy::too_many_arguments)]
    fn encode<'py>(
        &self,
        py: Python<'py>,
        arrays: &Bound<'py, PyList>,
        dtype: &str,
        shape: Vec<usize>,
        order: &str,
        fill: &[u8],
        write_empty_chunks: bool,
    ) -> PyResult<Bound<'py, PyList>> {
        let dt = parse_dtype(dtype)?;
        let order = parse_order(order)?;
        let buffers: Vec<Buffer> = arrays
            .iter()
            .map(|a| buffer_from_py(&a))
            .collect::<PyResult<_>>()?;
        let opts = EncodeOptions {
            fill: fill.to_vec(),
            write_empty_chunks,
        };
        let chain = &self.chain;
        let encoded = py
            .detach(|| {
                let refs = buffers
                    .iter()
                    .map(|b| ArrayRef::new(b, dt.clone(), shape.clone(), order))
                    .collect::<ndpack::Result<Vec<_>>>()?;
                encode_chunks(chain, &refs, &opts)
            })
            .map_err(to_py)?;
        let list = PyList::empty(py);
        for e in encoded {
            match e {
                None => list.append(py.None())?,
                Some(v) => list.append(bytes_from_slice(py, &v)?)?,
            }
        }
        Ok(list)
    }

    /// Reads chunks into `out` (writable, C- or F-contiguous, `out_shape` items of `dtype`):
    /// chunk `i` (`None`, a path or bytes-like, of `chunk_shapes[i]`) is decoded and its
    /// `chunk_sels[i]` items copied to the `out_sels[i]` items of `out` (paired in C order);
    /// missing chunks put `fill` there. A selection is a list with per axis a
    /// `(start, stop, step)` tuple or a 1-d `int64` array of indices (orthogonal), or a 2-d
    /// `int64` array `(ndim, n)` of point coordinates.
    #[pyo3(signature = (chunks, out, dtype, out_shape, out_order, chunk_shapes, chunk_sels, out_sels, fill))]
    #[allow(clippy::too_many_arguments)]
    fn read_into(
        &self,
        py: Python<'_>,
        chunks: &Bound<'_, PyList>,
        out: &Bound<'_, PyAny>,
        dtype: &str,
        out_shape: Vec<usize>,
        out_order: &str,
        chunk_shapes: Vec<Vec<usize>>,
        chunk_sels: &Bound<'_, PyList>,
        out_sels: &Bound<'_, PyList>,
        fill: &[u8],
    ) -> PyResult<()> {
        let n = chunks.len();
        if chunk_shapes.len() != n || chunk_sels.len() != n || out_sels.len() != n {
            return Err(PyValueError::new_err(
                "read_into: chunks, chunk_shapes, chunk_sels and out_sels differ in length",
            ));
        }
        let dt = parse_dtype(dtype)?;
        let order = parse_order(out_order)?;
        let srcs = sources(chunks)?;
        let chunk_regions = picks(chunk_sels)?;
        let out_regions = picks(out_sels)?;
        let mut view = PyMemoryMut::contiguous(out)?;
        let chain = &self.chain;
        py.detach(|| {
            // Files are read inside the parallel decode (parts of shards: only what they need).
            let items: Vec<ChunkRead<'_>> = srcs
                .iter()
                .zip(chunk_shapes)
                .zip(chunk_regions.into_iter().zip(out_regions))
                .map(|((src, chunk_shape), (chunk_sel, out_sel))| ChunkRead {
                    source: match src {
                        Source::Missing => ChunkSource::Missing,
                        Source::Path(p) => ChunkSource::File(p),
                        Source::Memory(b) => ChunkSource::Bytes(b),
                    },
                    chunk_shape,
                    chunk_sel,
                    out_sel,
                })
                .collect();
            read_chunks_into(
                chain,
                &items,
                ArrayMut {
                    data: view.as_mut_slice(),
                    dtype: dt,
                    shape: out_shape,
                    order,
                },
                fill,
            )
        })
        .map_err(to_py)
    }

    /// Writes a selection of `value` (C- or F-contiguous, `value_shape` items of `dtype`; a 0-d
    /// value is one item put in every selected place): the `value_sels[i]` items of it go to
    /// the `chunk_sels[i]` items of chunk `i` (of `chunk_shapes[i]`; selections as in
    /// `read_into`),
    /// whose other items come from `existing[i]` (`None`, a path or bytes-like; `None` is the
    /// fill value). Chunks are encoded in parallel. Without `paths`, returns each chunk's bytes
    /// as a 1-d `uint8` array (`None`: not to be stored); with `paths`, writes chunk `i` to the file `paths[i]` (or
    /// removes it) and returns `None`.
    #[pyo3(signature = (existing, value, dtype, value_shape, value_order, chunk_shapes, chunk_sels, value_sels, fill, write_empty_chunks, paths=None))]
    #[allow(clippy::too_many_arguments)]
    fn write<'py>(
        &self,
        py: Python<'py>,
        existing: &Bound<'py, PyList>,
        value: &Bound<'py, PyAny>,
        dtype: &str,
        value_shape: Vec<usize>,
        value_order: &str,
        chunk_shapes: Vec<Vec<usize>>,
        chunk_sels: &Bound<'py, PyList>,
        value_sels: &Bound<'py, PyList>,
        fill: &[u8],
        write_empty_chunks: bool,
        paths: Option<Vec<PathBuf>>,
    ) -> PyResult<Option<Bound<'py, PyList>>> {
        let n = existing.len();
        if chunk_shapes.len() != n
            || chunk_sels.len() != n
            || value_sels.len() != n
            || paths.as_ref().is_some_and(|p| p.len() != n)
        {
            return Err(PyValueError::new_err(
                "write: existing, chunk_shapes, chunk_sels, value_sels and paths differ in length",
            ));
        }
        let dt = parse_dtype(dtype)?;
        let order = parse_order(value_order)?;
        let srcs = sources(existing)?;
        let chunk_regions = picks(chunk_sels)?;
        let value_regions = picks(value_sels)?;
        let value = buffer_from_py(value)?;
        let opts = EncodeOptions {
            fill: fill.to_vec(),
            write_empty_chunks,
        };
        let chain = &self.chain;
        let encoded = py
            .detach(|| {
                let loaded = load(srcs)?;
                let items: Vec<ChunkWrite<'_>> = loaded
                    .iter()
                    .zip(chunk_shapes)
                    .zip(chunk_regions.into_iter().zip(value_regions))
                    .map(|((data, chunk_shape), (chunk_sel, value_sel))| ChunkWrite {
                        existing: data.as_deref(),
                        chunk_shape,
                        chunk_sel,
                        value_sel,
                    })
                    .collect();
                let value = ArrayRef::new(&value, dt.clone(), value_shape, order)?;
                match &paths {
                    Some(p) => write_chunk_files(chain, &items, value, &opts, p).map(|()| None),
                    None => write_chunks(chain, &items, value, &opts).map(Some),
                }
            })
            .map_err(to_py)?;
        let Some(encoded) = encoded else {
            return Ok(None);
        };
        // Each chunk's bytes handed over without a copy (a 1-d uint8 array over them).
        let descr = numpy::dtype::<u8>(py);
        let list = PyList::empty(py);
        for e in encoded {
            match e {
                None => list.append(py.None())?,
                Some(v) => {
                    let n = v.len();
                    list.append(RustBuffer::base_mut(py, Buffer::from_vec(v))?.array(
                        py,
                        &descr,
                        &[n],
                        Order::C,
                        false,
                    )?)?
                }
            }
        }
        Ok(Some(list))
    }

    fn __repr__(&self) -> String {
        format!("ZarrCodecChain({})", self.codecs)
    }
}

/// A chain of zarr v3 bytes-to-bytes codecs alone, built from a JSON list: the Rust part of a
/// codec chain on either side of a codec that runs in Python.
#[pyclass(name = "ZarrBytesChain", module = "ndpack._ndpack", frozen)]
pub struct PyZarrBytesChain {
    chain: BytesChain,
    codecs: String,
    itemsize: usize,
}

/// `None` or the memory of each item of `items`.
fn optional_buffers(items: &Bound<'_, PyList>) -> PyResult<Vec<Option<Buffer>>> {
    items
        .iter()
        .map(|c| {
            if c.is_none() {
                Ok(None)
            } else {
                buffer_from_py(&c).map(Some)
            }
        })
        .collect()
}

#[pymethods]
impl PyZarrBytesChain {
    #[new]
    fn py_new(codecs: &str, itemsize: usize) -> PyResult<Self> {
        let value: serde_json::Value = serde_json::from_str(codecs)
            .map_err(|e| PyValueError::new_err(format!("zarr codecs are not JSON: {e}")))?;
        Ok(PyZarrBytesChain {
            chain: BytesChain::from_json(&value, itemsize).map_err(to_py)?,
            codecs: codecs.to_string(),
            itemsize,
        })
    }

    /// The zarr v3 names of the codecs, in encoding order.
    #[getter]
    fn names(&self) -> Vec<String> {
        self.chain.names()
    }

    fn __reduce__<'py>(slf: &Bound<'py, Self>) -> PyResult<Bound<'py, PyTuple>> {
        let py = slf.py();
        let me = slf.get();
        let args = (me.codecs.clone(), me.itemsize).into_pyobject(py)?;
        PyTuple::new(py, [slf.get_type().into_any(), args.into_any()])
    }

    /// Decodes each item (`None`, a `str` path read by Rust or bytes-like) in parallel;
    /// returns a list of 1-d `uint8` NumPy arrays (`None` for `None` and missing files).
    fn decode<'py>(
        &self,
        py: Python<'py>,
        chunks: &Bound<'py, PyList>,
    ) -> PyResult<Bound<'py, PyList>> {
        let srcs = sources(chunks)?;
        let chain = &self.chain;
        let decoded = py
            .detach(|| {
                let buffers = load(srcs)?;
                let views: Vec<Option<&[u8]>> = buffers.iter().map(|b| b.as_deref()).collect();
                decode_bytes_chunks(chain, &views)
            })
            .map_err(to_py)?;
        let descr = numpy::dtype::<u8>(py);
        let list = PyList::empty(py);
        for d in decoded {
            match d {
                None => list.append(py.None())?,
                Some(v) => {
                    let n = v.len();
                    list.append(RustBuffer::base_mut(py, Buffer::from_vec(v))?.array(
                        py,
                        &descr,
                        &[n],
                        Order::C,
                        false,
                    )?)?
                }
            }
        }
        Ok(list)
    }

    /// Encodes each item (`None` or bytes-like) in parallel; returns a list of `bytes` (`None`
    /// stays `None`).
    fn encode<'py>(
        &self,
        py: Python<'py>,
        chunks: &Bound<'py, PyList>,
    ) -> PyResult<Bound<'py, PyList>> {
        let buffers = optional_buffers(chunks)?;
        let chain = &self.chain;
        let encoded = py
            .detach(|| {
                let views: Vec<Option<&[u8]>> = buffers.iter().map(|b| b.as_deref()).collect();
                encode_bytes_chunks(chain, &views)
            })
            .map_err(to_py)?;
        let list = PyList::empty(py);
        for e in encoded {
            match e {
                None => list.append(py.None())?,
                Some(v) => list.append(bytes_from_slice(py, &v)?)?,
            }
        }
        Ok(list)
    }

    fn __repr__(&self) -> String {
        format!("ZarrBytesChain({})", self.codecs)
    }
}

/// A new writable 1-d `uint8` NumPy array of `nbytes` zero bytes in ndpack's 64-byte aligned
/// memory (large blocks are fresh memory maps: their pages cost nothing until written).
#[pyfunction]
fn aligned_zeros(py: Python<'_>, nbytes: usize) -> PyResult<Bound<'_, PyAny>> {
    let buffer = py.detach(|| Buffer::try_zeroed(nbytes)).map_err(to_py)?;
    RustBuffer::base_mut(py, buffer)?.array(py, &numpy::dtype::<u8>(py), &[nbytes], Order::C, false)
}

/// Adds `ZarrCodecChain`, `ZarrBytesChain` and `aligned_zeros` to the extension module.
pub fn register(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add_class::<PyZarrChain>()?;
    m.add_class::<PyZarrBytesChain>()?;
    m.add_function(wrap_pyfunction!(aligned_zeros, m)?)?;
    Ok(())
}
