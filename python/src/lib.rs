//! The extension module `ndpack._ndpack`: thin bindings from Python to the ndpack crate.
//!
//! Each area has its own file with a `register` function; they convert and dispatch, and release
//! the GIL around work. Python memory is read and written only through [`memory`] (its module
//! doc gives the pattern every binding follows). Errors map to Python exceptions in [`errors`].

use pyo3::prelude::*;

mod blosc;
mod buffer;
mod codecs;
mod errors;
mod locked;
mod memory;
mod ndarray;
mod npy;
mod object_codecs;
mod parallel;
mod schunk;
mod zarr3;
mod zfp;

/// The extension module.
#[pymodule]
fn _ndpack(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add("__version__", env!("CARGO_PKG_VERSION"))?;
    m.add_function(wrap_pyfunction!(set_nthreads, m)?)?;
    m.add_function(wrap_pyfunction!(get_nthreads, m)?)?;
    errors::register(m)?;
    memory::register(m)?;
    buffer::register(m)?;
    codecs::register(m)?;
    object_codecs::register(m)?;
    npy::register(m)?;
    zfp::register(m)?;
    blosc::register(m)?;
    schunk::register(m)?;
    ndarray::register(m)?;
    zarr3::register(m)?;
    parallel::register(m)?;
    Ok(())
}

/// Sets the number of threads of ndpack's pool (0: all cores); returns the previous number.
#[pyfunction]
fn set_nthreads(nthreads: usize) -> PyResult<usize> {
    ndpack::set_num_threads(nthreads).map_err(errors::to_py)
}

/// The number of threads of ndpack's pool.
#[pyfunction]
fn get_nthreads() -> usize {
    ndpack::get_num_threads()
}
