//! Reading the CLI's inputs (raw files or .npy arrays) and writing its outputs.

use std::path::Path;

use ndpack::{DataType, Error, NDBuffer, Order, Result};

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
        return Err(Error::invalid_argument(format!(
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

fn read_npy(data: &[u8]) -> Result<InputArray> {
    let view = ndpack::npy::read_npy(data)?;
    Ok(InputArray {
        data: view.data().to_vec(),
        dtype: view.descr().to_data_type(),
        shape: view.shape().to_vec(),
        order: view.order(),
    })
}

/// Parses a shape such as "100,200".
pub fn parse_shape(text: &str) -> Result<Vec<usize>> {
    text.split(',')
        .filter(|s| !s.trim().is_empty())
        .map(|s| {
            s.trim()
                .parse()
                .map_err(|_| Error::invalid_argument(format!("bad shape {text:?}")))
        })
        .collect()
}

/// Writes decoded data: raw bytes, or a .npy file when the path ends in .npy.
pub fn write_output(
    path: &Path,
    decoded: &NDBuffer,
    dtype: Option<&str>,
    shape: Option<&str>,
) -> Result<()> {
    if !is_npy(path) {
        std::fs::write(path, decoded.bytes())?;
        return Ok(());
    }
    let dtype: DataType = match dtype {
        Some(d) => d.parse()?,
        None => decoded.dtype().clone(),
    };
    let shape = match shape {
        Some(s) => parse_shape(s)?,
        None => vec![decoded.bytes().len() / dtype.itemsize().max(1)],
    };
    let descr = ndpack::npy::Descr::Scalar(dtype);
    let npy = ndpack::npy::write_npy_to_vec(&descr, &shape, decoded.order(), decoded.bytes())?;
    std::fs::write(path, npy)?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn npy_round_trip_through_files() {
        let dir = std::env::temp_dir().join(format!("ndpack-cli-io-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let values: Vec<u8> = (0..12i32).flat_map(|v| v.to_le_bytes()).collect();
        let decoded = NDBuffer::new(
            ndpack::Buffer::from_vec(values.clone()),
            "<i4".parse().unwrap(),
            vec![12],
            Order::C,
        )
        .unwrap();
        let path = dir.join("a.npy");
        write_output(&path, &decoded, Some("<i4"), Some("3,4")).unwrap();
        let back = read_array(&path, None, None).unwrap();
        assert_eq!(back.data, values);
        assert_eq!(back.shape, vec![3, 4]);
        assert_eq!(back.dtype.to_string(), "<i4");
        // A shape that does not match the data is an error, not a bad file.
        assert!(write_output(&dir.join("b.npy"), &decoded, Some("<i4"), Some("5,5")).is_err());
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
