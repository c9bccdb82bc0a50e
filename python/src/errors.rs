//! Maps ndpack's `Error` kinds to Python exceptions, keeping the message.

use ndpack::{Error, ErrorKind};
use pyo3::exceptions::{PyKeyError, PyOSError, PyTypeError, PyValueError};
use pyo3::PyErr;

/// The Python exception for an ndpack error: `KeyError` for unknown codec ids, `TypeError` for
/// unsupported dtypes, `OSError` for I/O, `ValueError` for everything else.
pub fn to_py(e: Error) -> PyErr {
    let msg = e.to_string();
    match e.kind() {
        ErrorKind::UnknownCodec => PyKeyError::new_err(msg),
        ErrorKind::UnsupportedDtype => PyTypeError::new_err(msg),
        ErrorKind::Io => PyOSError::new_err(msg),
        _ => PyValueError::new_err(msg),
    }
}
