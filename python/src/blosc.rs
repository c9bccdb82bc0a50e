//! Python bindings: Blosc1 (numcodecs' `blosc` module) and Blosc2 (python-blosc2's
//! `compress2` / `decompress2` / `getitem`) chunks. `ndpack/blosc.py` is the Python front.
//!
//! Inputs are any C-contiguous buffer; outputs are `bytes` written in place. The GIL is released
//! around every compression and decompression.

use std::mem::MaybeUninit;

use ndpack::blosc::v1::{self, Options, Shuffle};
use ndpack::blosc::v2::{self, CParams, Filter, SplitMode};
use ndpack::blosc::Compressor;
use ndpack::Error;
use pyo3::buffer::PyUntypedBuffer;
use pyo3::exceptions::PyValueError;
use pyo3::ffi;
use pyo3::prelude::*;
use pyo3::types::PyBytes;

use crate::errors::to_py;

/// A borrowed, C-contiguous Python buffer.
struct Bytes {
    buf: PyUntypedBuffer,
}

impl Bytes {
    fn get(obj: &Bound<'_, PyAny>, writable: bool) -> PyResult<Self> {
        let buf = PyUntypedBuffer::get(obj)?;
        if !buf.is_c_contiguous() {
            return Err(PyValueError::new_err("buffer must be C-contiguous"));
        }
        if writable && buf.readonly() {
            return Err(PyValueError::new_err("destination buffer is read-only"));
        }
        Ok(Bytes { buf })
    }

    fn as_slice(&self) -> &[u8] {
        let len = self.buf.len_bytes();
        if len == 0 {
            return &[];
        }
        // SAFETY: the buffer is C-contiguous (checked in `get`) and `len_bytes` long, and `self.buf`
        // holds the Python buffer (keeping its memory alive) for as long as the slice is borrowed.
        unsafe { std::slice::from_raw_parts(self.buf.buf_ptr() as *const u8, len) }
    }

    #[allow(clippy::mut_from_ref)]
    fn as_mut_slice(&self) -> &mut [u8] {
        let len = self.buf.len_bytes();
        if len == 0 {
            return &mut [];
        }
        // SAFETY: as in `as_slice`, and the buffer was checked writable in `get`; the callers
        // borrow it once, for one call.
        unsafe { std::slice::from_raw_parts_mut(self.buf.buf_ptr() as *mut u8, len) }
    }
}

/// A new `bytes` of up to `cap` bytes, written by `f` without the GIL into uninitialised memory
/// (no up-front zeroing, no copy) and cut to the size `f` returns.
fn bytes_with<'py>(
    py: Python<'py>,
    cap: usize,
    f: impl FnOnce(&mut [MaybeUninit<u8>]) -> Result<usize, Error> + Send,
) -> PyResult<Bound<'py, PyBytes>> {
    let size = ffi::Py_ssize_t::try_from(cap)
        .map_err(|_| PyValueError::new_err("output too large for a bytes object"))?;
    // SAFETY: the GIL is held; a null result means a Python error is set.
    let writer = unsafe { ffi::compat::PyBytesWriter_Create(size) };
    if writer.is_null() {
        return Err(PyErr::fetch(py));
    }
    // SAFETY: `writer` is live; its buffer holds `cap` bytes until it is finished or discarded.
    let data = unsafe { ffi::compat::PyBytesWriter_GetData(writer) }.cast::<MaybeUninit<u8>>();
    let buf: &mut [MaybeUninit<u8>] = if cap == 0 {
        &mut []
    } else {
        // SAFETY: `data` points to `cap` writable bytes owned by `writer`, which nothing else
        // touches until `f` returns; `MaybeUninit` needs no initialisation.
        unsafe { std::slice::from_raw_parts_mut(data, cap) }
    };
    let result = py.detach(move || f(buf));
    match result {
        Ok(n) if n <= cap => {
            // SAFETY: `f` initialised the first `n <= cap` bytes; finishing consumes `writer`.
            let obj =
                unsafe { ffi::compat::PyBytesWriter_FinishWithSize(writer, n as ffi::Py_ssize_t) };
            // SAFETY: a new reference to a `bytes` object, or null with a Python error set.
            let any = unsafe { Bound::from_owned_ptr_or_err(py, obj) }?;
            Ok(any.cast_into::<PyBytes>()?)
        }
        other => {
            // SAFETY: `writer` is live and discarded exactly once.
            unsafe { ffi::compat::PyBytesWriter_Discard(writer) };
            Err(match other {
                Err(e) => to_py(e),
                Ok(_) => PyValueError::new_err("Blosc wrote more than it reserved"),
            })
        }
    }
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
    let src = Bytes::get(data, false)?;
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
    let src = Bytes::get(chunk, false)?;
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
    let src = Bytes::get(chunk, false)?;
    let dst = Bytes::get(out, true)?;
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
    let src = Bytes::get(chunk, false)?;
    let chunk = src.as_slice();
    let out = py
        .detach(|| v1::decode_partial(chunk, start, nitems))
        .map_err(to_py)?;
    Ok(PyBytes::new(py, &out))
}

/// `(nbytes, cbytes, blocksize)`.
#[pyfunction]
fn blosc_cbuffer_sizes(chunk: &Bound<'_, PyAny>) -> PyResult<(usize, usize, usize)> {
    let src = Bytes::get(chunk, false)?;
    v1::cbuffer_sizes(src.as_slice()).map_err(to_py)
}

/// The compression library name.
#[pyfunction]
fn blosc_cbuffer_complib(chunk: &Bound<'_, PyAny>) -> PyResult<&'static str> {
    let src = Bytes::get(chunk, false)?;
    v1::cbuffer_complib(src.as_slice()).map_err(to_py)
}

/// `(typesize, shuffle, memcpyed)`.
#[pyfunction]
fn blosc_cbuffer_metainfo(chunk: &Bound<'_, PyAny>) -> PyResult<(usize, i32, bool)> {
    let src = Bytes::get(chunk, false)?;
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
    if filters.len() > 6 || filters_meta.len() > filters.len().max(6) {
        return Err(PyValueError::new_err("at most 6 filters are supported"));
    }
    if !(0..=9).contains(&clevel) {
        return Err(PyValueError::new_err("clevel must be between 0 and 9"));
    }
    let mut params = CParams {
        codec: Compressor::from_code(codec).map_err(to_py)?,
        clevel: clevel as u8,
        typesize,
        blocksize,
        splitmode: SplitMode::from_value(splitmode).map_err(to_py)?,
        filters: [Filter::NoFilter; 6],
        filters_meta: [0; 6],
    };
    for (slot, &f) in filters.iter().enumerate() {
        params.filters[slot] = Filter::from_code(f).map_err(to_py)?;
    }
    for (slot, &m) in filters_meta.iter().enumerate().take(6) {
        if !(-128..=255).contains(&m) {
            return Err(PyValueError::new_err(format!(
                "filters_meta values must fit in a byte, got {m}"
            )));
        }
        params.filters_meta[slot] = m as u8;
    }
    let src = Bytes::get(data, false)?;
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
    let src = Bytes::get(chunk, false)?;
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
