//! Python bindings of [`ndpack::Buffer`] and [`ndpack::NDBuffer`]: the classes `_ndpack.Buffer`
//! and `_ndpack.NDBuffer` (subclassed in Python as `ndpack.Buffer` / `ndpack.NDBuffer`, which add
//! zarr's method names), and the parsing of the dtype and order arguments the bindings share.
//!
//! Both classes export their memory read-only through the buffer protocol, `__array_interface__`
//! and DLPack (`__dlpack__`, `__dlpack_device__`), so NumPy sees them without a copy. Made from a
//! Python object (bytes, a NumPy array, anything with the buffer protocol), they keep that object
//! alive and copy nothing ([`crate::memory`]).
//!
//! [`export`] holds the classes and their buffer-protocol and array-interface export, [`dlpack`]
//! the DLPack capsules.

mod dlpack;
mod export;

use ndpack::{DataType, Order};
use pyo3::exceptions::PyValueError;
use pyo3::prelude::*;

pub use export::{PyBuf, PyNDBuf};

use crate::errors::to_py;

/// Parses `"C"`/`"F"`.
pub fn parse_order(order: &str) -> PyResult<Order> {
    match order {
        "C" | "c" => Ok(Order::C),
        "F" | "f" => Ok(Order::F),
        other => Err(PyValueError::new_err(format!(
            "order must be 'C' or 'F', got {other:?}"
        ))),
    }
}

/// Parses a NumPy dtype string.
pub fn parse_dtype(dtype: &str) -> PyResult<DataType> {
    dtype.parse().map_err(to_py)
}

/// Adds `Buffer` and `NDBuffer` to the extension module.
pub fn register(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add_class::<PyBuf>()?;
    m.add_class::<PyNDBuf>()?;
    Ok(())
}
