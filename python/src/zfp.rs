//! Python bindings: zfpy-compatible ZFP (`ndpack.zfpy` is the Python front).
//!
//! The functions take and fill byte buffers (C-contiguous `uint8` views made by `ndpack.zfpy`),
//! and release the GIL while compressing or decompressing.

use ndpack::zfp::{self, ZfpMode, ZfpType};
use pyo3::buffer::PyBuffer;
use pyo3::exceptions::PyValueError;
use pyo3::prelude::*;
use pyo3::types::PyBytes;

use crate::errors::to_py;

/// Adds this area's classes and functions to the extension module.
pub fn register(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add_function(wrap_pyfunction!(zfp_compress, m)?)?;
    m.add_function(wrap_pyfunction!(zfp_header, m)?)?;
    m.add_function(wrap_pyfunction!(zfp_headerless_size, m)?)?;
    m.add_function(wrap_pyfunction!(zfp_decompress_into, m)?)?;
    m.add_function(wrap_pyfunction!(zfp_decompress_headerless_into, m)?)?;
    Ok(())
}

/// The bytes of a C-contiguous buffer.
fn bytes_of(buf: &PyBuffer<u8>) -> PyResult<&[u8]> {
    if !buf.is_c_contiguous() {
        return Err(PyValueError::new_err("zfp: buffer must be C-contiguous"));
    }
    // SAFETY: the buffer is C-contiguous, holds `len_bytes()` bytes at `buf_ptr()`, and stays
    // alive (exported) while `buf` lives, which outlives the returned slice.
    Ok(unsafe { std::slice::from_raw_parts(buf.buf_ptr() as *const u8, buf.len_bytes()) })
}

/// The bytes of a writable C-contiguous buffer.
fn bytes_of_mut(buf: &mut PyBuffer<u8>) -> PyResult<&mut [u8]> {
    if buf.readonly() {
        return Err(PyValueError::new_err("zfp: output buffer is read-only"));
    }
    if !buf.is_c_contiguous() {
        return Err(PyValueError::new_err(
            "zfp: output buffer must be C-contiguous",
        ));
    }
    // SAFETY: as in `bytes_of`; the buffer is writable, and this is the only slice of it we make.
    Ok(unsafe { std::slice::from_raw_parts_mut(buf.buf_ptr() as *mut u8, buf.len_bytes()) })
}

/// Compresses the values in `data` (type `ztype`, NumPy `shape`, optional NumPy strides in
/// elements with `data` starting at the lowest address) as zfpy's `compress_numpy`.
#[pyfunction]
#[pyo3(signature = (data, ztype, shape, strides, tolerance, rate, precision, write_header))]
#[allow(clippy::too_many_arguments)]
fn zfp_compress<'py>(
    py: Python<'py>,
    data: PyBuffer<u8>,
    ztype: i64,
    shape: Vec<usize>,
    strides: Option<Vec<isize>>,
    tolerance: f64,
    rate: f64,
    precision: i64,
    write_header: bool,
) -> PyResult<Bound<'py, PyBytes>> {
    let ztype = ZfpType::from_code(ztype).map_err(to_py)?;
    let mode = ZfpMode::from_zfpy(tolerance, rate, precision).map_err(to_py)?;
    let bytes = bytes_of(&data)?;
    let stream = py
        .detach(|| {
            zfp::compress_strided(bytes, ztype, &shape, strides.as_deref(), mode, write_header)
        })
        .map_err(to_py)?;
    Ok(PyBytes::new(py, &stream))
}

/// The type number and NumPy shape in a zfpy stream's header, after checking that the stream
/// can hold an array of that shape (`zfp::check_stream`): a caller may allocate it.
#[pyfunction]
fn zfp_header(data: PyBuffer<u8>) -> PyResult<(i32, Vec<usize>)> {
    let h = zfp::check_stream(bytes_of(&data)?).map_err(to_py)?;
    Ok((h.ztype.code(), h.shape))
}

/// The decoded size in bytes of a headerless stream (zfpy's `_decompress`) of type `ztype`,
/// NumPy `shape` and mode, after checking that the stream can hold it
/// (`zfp::check_headerless`): a caller may allocate it.
#[pyfunction]
#[pyo3(signature = (data, ztype, shape, tolerance, rate, precision))]
fn zfp_headerless_size(
    data: PyBuffer<u8>,
    ztype: i64,
    shape: Vec<usize>,
    tolerance: f64,
    rate: f64,
    precision: i64,
) -> PyResult<usize> {
    let ztype = ZfpType::from_code(ztype).map_err(to_py)?;
    let mode = ZfpMode::from_zfpy(tolerance, rate, precision).map_err(to_py)?;
    zfp::check_headerless(bytes_of(&data)?, ztype, &shape, mode).map_err(to_py)
}

/// Decompresses a zfpy stream with a header into `out` (bytes of the decoded size).
#[pyfunction]
fn zfp_decompress_into(py: Python<'_>, data: PyBuffer<u8>, mut out: PyBuffer<u8>) -> PyResult<()> {
    let input = bytes_of(&data)?;
    let output = bytes_of_mut(&mut out)?;
    py.detach(|| zfp::decompress_into(input, output))
        .map(|_| ())
        .map_err(to_py)
}

/// Decompresses a headerless stream (zfpy's `_decompress`) into `out`.
#[pyfunction]
#[pyo3(signature = (data, ztype, shape, out, tolerance, rate, precision))]
#[allow(clippy::too_many_arguments)]
fn zfp_decompress_headerless_into(
    py: Python<'_>,
    data: PyBuffer<u8>,
    ztype: i64,
    shape: Vec<usize>,
    mut out: PyBuffer<u8>,
    tolerance: f64,
    rate: f64,
    precision: i64,
) -> PyResult<()> {
    let ztype = ZfpType::from_code(ztype).map_err(to_py)?;
    let mode = ZfpMode::from_zfpy(tolerance, rate, precision).map_err(to_py)?;
    let input = bytes_of(&data)?;
    let output = bytes_of_mut(&mut out)?;
    py.detach(|| zfp::decompress_headerless(input, ztype, &shape, mode, Some(output)))
        .map(|_| ())
        .map_err(to_py)
}
