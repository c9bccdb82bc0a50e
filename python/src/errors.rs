//! Maps ndpack's `Error` kinds to Python exceptions, keeping the message.
//!
//! Four kinds get exception classes of their own, each deriving from the exception numcodecs
//! raises in that case and from the one our design names, so that code written for either catches
//! them: `UnknownCodecError(ValueError, KeyError)`, `CodecConfigError(ValueError, TypeError)`,
//! `ChecksumError(ValueError, RuntimeError)` and, for corrupt or truncated input or sizes it
//! cannot hold, `CorruptInputError(ValueError, RuntimeError)`. They are exported by `ndpack._ndpack`.

use ndpack::{Error, ErrorKind};
use pyo3::exceptions::{PyMemoryError, PyOSError, PyTypeError, PyValueError};
use pyo3::prelude::*;
use pyo3::sync::PyOnceLock;
use pyo3::types::{PyDict, PyTuple, PyType};
use pyo3::PyErr;

static UNKNOWN_CODEC: PyOnceLock<Py<PyType>> = PyOnceLock::new();
static CONFIG: PyOnceLock<Py<PyType>> = PyOnceLock::new();
static CHECKSUM: PyOnceLock<Py<PyType>> = PyOnceLock::new();
static CORRUPT: PyOnceLock<Py<PyType>> = PyOnceLock::new();

/// Makes `class name(*bases)` in module `ndpack`, printing its message like a plain exception.
fn make_type(py: Python<'_>, name: &str, bases: &[&str], doc: &str) -> PyResult<Py<PyType>> {
    let builtins = py.import("builtins")?;
    let bases = bases
        .iter()
        .map(|b| builtins.getattr(*b))
        .collect::<PyResult<Vec<_>>>()?;
    let ns = PyDict::new(py);
    ns.set_item("__module__", "ndpack")?;
    ns.set_item("__doc__", doc)?;
    // KeyError prints its argument's repr; keep the plain message instead.
    ns.set_item(
        "__str__",
        builtins.getattr("BaseException")?.getattr("__str__")?,
    )?;
    let t = builtins
        .getattr("type")?
        .call1((name, PyTuple::new(py, bases)?, ns))?;
    Ok(t.cast_into::<PyType>()?.unbind())
}

fn get_type<'a>(
    py: Python<'_>,
    cell: &'a PyOnceLock<Py<PyType>>,
    name: &str,
    bases: &[&str],
    doc: &str,
) -> PyResult<&'a Py<PyType>> {
    cell.get_or_try_init(py, || make_type(py, name, bases, doc))
}

/// `UnknownCodecError(ValueError, KeyError)`: no codec has this id.
pub fn unknown_codec_type(py: Python<'_>) -> PyResult<&Py<PyType>> {
    get_type(
        py,
        &UNKNOWN_CODEC,
        "UnknownCodecError",
        &["ValueError", "KeyError"],
        "No codec is registered under this id.",
    )
}

/// `CodecConfigError(ValueError, TypeError)`: a codec configuration with an unknown key or a
/// bad value.
pub fn config_type(py: Python<'_>) -> PyResult<&Py<PyType>> {
    get_type(
        py,
        &CONFIG,
        "CodecConfigError",
        &["ValueError", "TypeError"],
        "A codec configuration with an unknown key or a bad value.",
    )
}

/// `ChecksumError(ValueError, RuntimeError)`: stored and computed checksums differ.
pub fn checksum_type(py: Python<'_>) -> PyResult<&Py<PyType>> {
    get_type(
        py,
        &CHECKSUM,
        "ChecksumError",
        &["ValueError", "RuntimeError"],
        "A stored checksum does not match the data.",
    )
}

/// `CorruptInputError(ValueError, RuntimeError)`: input that is not valid encoded data, that ends
/// early, or that declares a size over what it can hold or over ndpack's limit (numcodecs raises
/// `RuntimeError` there).
pub fn corrupt_type(py: Python<'_>) -> PyResult<&Py<PyType>> {
    get_type(
        py,
        &CORRUPT,
        "CorruptInputError",
        &["ValueError", "RuntimeError"],
        "Input that is not valid encoded data, ends early, or declares a size it cannot hold.",
    )
}

fn typed(kind: fn(Python<'_>) -> PyResult<&Py<PyType>>, msg: String) -> PyErr {
    Python::attach(|py| match kind(py) {
        Ok(t) => PyErr::from_type(t.bind(py).clone(), msg),
        Err(e) => e,
    })
}

/// The Python exception for an ndpack error: `UnknownCodecError` (a `ValueError` and `KeyError`)
/// for unknown codec ids, `CodecConfigError` (a `ValueError` and `TypeError`) for bad configs,
/// `ChecksumError` (a `ValueError` and `RuntimeError`) for checksum mismatches,
/// `CorruptInputError` (a `ValueError` and `RuntimeError`) for corrupt, truncated or too large
/// input, `TypeError` for unsupported dtypes, `OSError` for I/O (with the system's errno, so that
/// Python picks its subclass such as `FileNotFoundError`), `MemoryError` for memory that
/// cannot be allocated, `ValueError` for everything else.
pub fn to_py(e: Error) -> PyErr {
    let msg = e.to_string();
    match e.kind() {
        ErrorKind::UnknownCodec => typed(unknown_codec_type, msg),
        ErrorKind::InvalidConfig => typed(config_type, msg),
        ErrorKind::ChecksumMismatch => typed(checksum_type, msg),
        ErrorKind::Corrupt | ErrorKind::Truncated | ErrorKind::TooLarge => typed(corrupt_type, msg),
        ErrorKind::UnsupportedDtype => PyTypeError::new_err(msg),
        ErrorKind::Io => os_error(&e, msg),
        ErrorKind::OutOfMemory => PyMemoryError::new_err(msg),
        _ => PyValueError::new_err(msg),
    }
}

/// An `OSError` carrying the errno of the system error behind `e`, when there is one, so that
/// Python raises its subclass (`FileNotFoundError`, `PermissionError`, ...) with ndpack's message.
fn os_error(e: &Error, msg: String) -> PyErr {
    let errno = std::error::Error::source(e)
        .and_then(|s| s.downcast_ref::<std::io::Error>())
        .and_then(std::io::Error::raw_os_error);
    match errno {
        Some(errno) => PyOSError::new_err((errno, msg)),
        None => PyOSError::new_err(msg),
    }
}

/// Adds the exception classes to the extension module.
pub fn register(m: &Bound<'_, PyModule>) -> PyResult<()> {
    let py = m.py();
    m.add("UnknownCodecError", unknown_codec_type(py)?.bind(py))?;
    m.add("CodecConfigError", config_type(py)?.bind(py))?;
    m.add("ChecksumError", checksum_type(py)?.bind(py))?;
    m.add("CorruptInputError", corrupt_type(py)?.bind(py))?;
    Ok(())
}
