//! Python bindings: Blosc1 (numcodecs' `blosc` module) and Blosc2 (python-blosc2's
//! `compress2` / `decompress2` / `getitem`) chunks. The Python fronts are `ndpack/blosc.py`
//! (numcodecs' names) and `ndpack/blosc2.py` (python-blosc2's names).
//!
//! Inputs are any C-contiguous buffer; outputs are `bytes` written in place. The GIL is released
//! around every compression and decompression.

use ndpack::blosc::v1::{self, Options, Shuffle};
use ndpack::blosc::v2;
use ndpack::blosc::Compressor;
use pyo3::exceptions::PyValueError;
use pyo3::prelude::*;
use pyo3::types::PyBytes;

use crate::errors::to_py;
use crate::memory::{bytes_from_slice, bytes_with, PyMemory, PyMemoryMut};

/// A borrowed, C-contiguous Python buffer.
fn c_bytes(obj: &Bound<'_, PyAny>) -> PyResult<PyMemory> {
    PyMemory::c_contiguous(obj, "buffer must be C-contiguous")
}

fn nbytes_of(chunk: &[u8]) -> PyResult<usize> {
    // The whole layout is checked before anything is allocated.
    v1::decoded_size(chunk).map_err(to_py)
}

/// numcodecs' `blosc.compress`: a Blosc1 chunk.
#[pyfunction]
#[pyo3(signature = (data, cname, clevel, shuffle, blocksize, typesize))]
fn blosc_compress<'py>(
    py: Python<'py>,
    data: &Bound<'py, PyAny>,
    cname: &str,
    clevel: i64,
    shuffle: i64,
    blocksize: i64,
    typesize: usize,
) -> PyResult<Bound<'py, PyBytes>> {
    let compressor: Compressor = cname.parse().map_err(to_py)?;
    if !(0..=9).contains(&clevel) {
        return Err(PyValueError::new_err(
            "`clevel` parameter must be between 0 and 9!",
        ));
    }
    let opts = Options {
        compressor,
        clevel: clevel as u8,
        shuffle: Shuffle::from_value(shuffle).map_err(to_py)?,
        typesize,
        blocksize: usize::try_from(blocksize)
            .map_err(|_| PyValueError::new_err("blocksize must be >= 0"))?,
    };
    let src = c_bytes(data)?;
    let slice = src.as_slice();
    bytes_with(py, slice.len().saturating_add(v1::MAX_OVERHEAD), |dst| {
        v1::compress_into_uninit(slice, &opts, dst)
    })
}

/// Decompresses a Blosc1 or Blosc2 chunk into new bytes.
#[pyfunction]
fn blosc_decompress<'py>(
    py: Python<'py>,
    chunk: &Bound<'py, PyAny>,
) -> PyResult<Bound<'py, PyBytes>> {
    let src = c_bytes(chunk)?;
    let chunk = src.as_slice();
    let n = nbytes_of(chunk)?;
    bytes_with(py, n, |out| v1::decompress_into_uninit(chunk, out))
}

/// Decompresses a chunk into a writable buffer of at least its size; returns the bytes written.
#[pyfunction]
fn blosc_decompress_into(
    py: Python<'_>,
    chunk: &Bound<'_, PyAny>,
    out: &Bound<'_, PyAny>,
) -> PyResult<usize> {
    let src = c_bytes(chunk)?;
    let mut dst = PyMemoryMut::c_contiguous(
        out,
        "destination buffer is read-only",
        "buffer must be C-contiguous",
    )?;
    let chunk = src.as_slice();
    let out = dst.as_mut_slice();
    py.detach(|| v1::decompress_into(chunk, out)).map_err(to_py)
}

/// `nitems` items from item `start`, decoding only the blocks that hold them.
#[pyfunction]
fn blosc_getitem<'py>(
    py: Python<'py>,
    chunk: &Bound<'py, PyAny>,
    start: usize,
    nitems: usize,
) -> PyResult<Bound<'py, PyBytes>> {
    let src = c_bytes(chunk)?;
    let chunk = src.as_slice();
    let out = py
        .detach(|| v1::getitem(chunk, start, nitems))
        .map_err(to_py)?;
    bytes_from_slice(py, &out)
}

/// `(nbytes, cbytes, blocksize)`.
#[pyfunction]
fn blosc_cbuffer_sizes(chunk: &Bound<'_, PyAny>) -> PyResult<(usize, usize, usize)> {
    let src = c_bytes(chunk)?;
    v1::cbuffer_sizes(src.as_slice()).map_err(to_py)
}

/// The compression library name.
#[pyfunction]
fn blosc_cbuffer_complib(chunk: &Bound<'_, PyAny>) -> PyResult<&'static str> {
    let src = c_bytes(chunk)?;
    v1::cbuffer_complib(src.as_slice()).map_err(to_py)
}

/// `(typesize, shuffle, memcpyed)`.
#[pyfunction]
fn blosc_cbuffer_metainfo(chunk: &Bound<'_, PyAny>) -> PyResult<(usize, i32, bool)> {
    let src = c_bytes(chunk)?;
    let (ts, shuffle, memcpyed) = v1::cbuffer_metainfo(src.as_slice()).map_err(to_py)?;
    Ok((ts, shuffle.value(), memcpyed))
}

/// The compressors ndpack writes.
#[pyfunction]
fn blosc_list_compressors() -> Vec<&'static str> {
    v1::list_compressors()
}

/// python-blosc2's `compress2`: a Blosc2 chunk. Codec, filters and split mode are integer codes.
#[pyfunction]
#[allow(clippy::too_many_arguments)]
#[pyo3(signature = (data, codec, clevel, typesize, blocksize, splitmode, filters, filters_meta))]
fn blosc2_compress<'py>(
    py: Python<'py>,
    data: &Bound<'py, PyAny>,
    codec: u8,
    clevel: i64,
    typesize: usize,
    blocksize: usize,
    splitmode: i64,
    filters: Vec<i64>,
    filters_meta: Vec<i64>,
) -> PyResult<Bound<'py, PyBytes>> {
    let params = crate::schunk::cparams_from(
        codec,
        clevel,
        typesize,
        blocksize,
        splitmode,
        &filters,
        &filters_meta,
    )?;
    let src = c_bytes(data)?;
    let slice = src.as_slice();
    bytes_with(py, slice.len().saturating_add(v2::MAX_OVERHEAD), |dst| {
        v2::compress_into_uninit(slice, &params, dst)
    })
}

/// The header of a chunk as a tuple: `(version, nbytes, cbytes, blocksize, typesize, codec code
/// or None, filters, filters_meta, memcpyed, special)`.
#[pyfunction]
#[allow(clippy::type_complexity)]
fn blosc2_chunk_info(
    chunk: &Bound<'_, PyAny>,
) -> PyResult<(
    u8,
    usize,
    usize,
    usize,
    usize,
    Option<u8>,
    Vec<u8>,
    Vec<u8>,
    bool,
    u8,
)> {
    let src = c_bytes(chunk)?;
    let i = v2::chunk_info(src.as_slice()).map_err(to_py)?;
    Ok((
        i.version,
        i.nbytes,
        i.cbytes,
        i.blocksize,
        i.typesize,
        i.codec.map(Compressor::code),
        i.filters.to_vec(),
        i.filters_meta.to_vec(),
        i.memcpyed,
        i.special,
    ))
}

/// Adds this area's classes and functions to the extension module.
pub fn register(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add_function(wrap_pyfunction!(blosc_compress, m)?)?;
    m.add_function(wrap_pyfunction!(blosc_decompress, m)?)?;
    m.add_function(wrap_pyfunction!(blosc_decompress_into, m)?)?;
    m.add_function(wrap_pyfunction!(blosc_getitem, m)?)?;
    m.add_function(wrap_pyfunction!(blosc_cbuffer_sizes, m)?)?;
    m.add_function(wrap_pyfunction!(blosc_cbuffer_complib, m)?)?;
    m.add_function(wrap_pyfunction!(blosc_cbuffer_metainfo, m)?)?;
    m.add_function(wrap_pyfunction!(blosc_list_compressors, m)?)?;
    m.add_function(wrap_pyfunction!(blosc2_compress, m)?)?;
    m.add_function(wrap_pyfunction!(blosc2_chunk_info, m)?)?;
    Ok(())
}
