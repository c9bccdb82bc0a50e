//! Python bindings: zfpy-compatible ZFP (`ndpack.zfpy` is the Python front).
//!
//! The functions take and fill byte buffers (C-contiguous `uint8` views made by `ndpack.zfpy`),
//! and release the GIL while compressing or decompressing.

use ndpack::zfp::{self, ZfpMode, ZfpType};
use pyo3::prelude::*;
use pyo3::types::PyBytes;

use crate::errors::to_py;
use crate::memory::{bytes_from_slice, PyMemory, PyMemoryMut};

/// Adds this area's classes and functions to the extension module.
pub fn register(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add_function(wrap_pyfunction!(zfp_compress, m)?)?;
    m.add_function(wrap_pyfunction!(zfp_header, m)?)?;
    m.add_function(wrap_pyfunction!(zfp_headerless_size, m)?)?;
    m.add_function(wrap_pyfunction!(zfp_decompress_into, m)?)?;
    m.add_function(wrap_pyfunction!(zfp_decompress_headerless_into, m)?)?;
    Ok(())
}

/// A borrowed, C-contiguous input buffer.
fn input(obj: &Bound<'_, PyAny>) -> PyResult<PyMemory> {
    PyMemory::c_contiguous(obj, "zfp: buffer must be C-contiguous")
}

/// A writable, C-contiguous output buffer.
fn output(obj: &Bound<'_, PyAny>) -> PyResult<PyMemoryMut> {
    PyMemoryMut::c_contiguous(
        obj,
        "zfp: output buffer is read-only",
        "zfp: output buffer must be C-contiguous",
    )
}

/// Compresses the values in `data` (type `ztype`, NumPy `shape`, optional NumPy strides in
/// elements with `data` starting at the lowest address) as zfpy's `compress_numpy`.
#[pyfunction]
#[pyo3(signature = (data, ztype, shape, strides, tolerance, rate, precision, write_header))]
#[allow(clippy::too_many_arguments)]
fn zfp_compress<'py>(
    py: Python<'py>,
    data: &Bound<'_, PyAny>,
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
    let data = input(data)?;
    let bytes = data.as_slice();
    let stream = py
        .detach(|| {
            zfp::compress_strided(bytes, ztype, &shape, strides.as_deref(), mode, write_header)
        })
        .map_err(to_py)?;
    bytes_from_slice(py, &stream)
}

/// The type number and NumPy shape in a zfpy stream's header, after checking that the stream
/// can hold an array of that shape (`zfp::check_stream`): a caller may allocate it.
#[pyfunction]
fn zfp_header(data: &Bound<'_, PyAny>) -> PyResult<(i32, Vec<usize>)> {
    let h = zfp::check_stream(input(data)?.as_slice()).map_err(to_py)?;
    Ok((h.ztype.code(), h.shape))
}

/// The decoded size in bytes of a headerless stream (zfpy's `_decompress`) of type `ztype`,
/// NumPy `shape` and mode, after checking that the stream can hold it
/// (`zfp::check_headerless`): a caller may allocate it.
#[pyfunction]
#[pyo3(signature = (data, ztype, shape, tolerance, rate, precision))]
fn zfp_headerless_size(
    data: &Bound<'_, PyAny>,
    ztype: i64,
    shape: Vec<usize>,
    tolerance: f64,
    rate: f64,
    precision: i64,
) -> PyResult<usize> {
    let ztype = ZfpType::from_code(ztype).map_err(to_py)?;
    let mode = ZfpMode::from_zfpy(tolerance, rate, precision).map_err(to_py)?;
    zfp::check_headerless(input(data)?.as_slice(), ztype, &shape, mode).map_err(to_py)
}

/// Decompresses a zfpy stream with a header into `out` (bytes of the decoded size).
#[pyfunction]
fn zfp_decompress_into(
    py: Python<'_>,
    data: &Bound<'_, PyAny>,
    out: &Bound<'_, PyAny>,
) -> PyResult<()> {
    let data = input(data)?;
    let mut out = output(out)?;
    let (input, output) = (data.as_slice(), out.as_mut_slice());
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
    data: &Bound<'_, PyAny>,
    ztype: i64,
    shape: Vec<usize>,
    out: &Bound<'_, PyAny>,
    tolerance: f64,
    rate: f64,
    precision: i64,
) -> PyResult<()> {
    let ztype = ZfpType::from_code(ztype).map_err(to_py)?;
    let mode = ZfpMode::from_zfpy(tolerance, rate, precision).map_err(to_py)?;
    let data = input(data)?;
    let mut out = output(out)?;
    let (input, output) = (data.as_slice(), out.as_mut_slice());
    py.detach(|| zfp::decompress_headerless(input, ztype, &shape, mode, Some(output)))
        .map(|_| ())
        .map_err(to_py)
}
