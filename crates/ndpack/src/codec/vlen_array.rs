//! The `vlen-array` codec: variable-length 1-d arrays of one dtype, as numcodecs'
//! `VLenArray(dtype)`.
//!
//! Format (numcodecs `vlen.pyx`): a 4-byte little-endian item count, then per item a 4-byte
//! little-endian byte length and the item's bytes in the dtype's own byte order.
//! Config: `{"id": "vlen-array", "dtype": "<i4"}` (`dtype` required, written as NumPy's `dtype.str`).
//!
//! Object arrays have no fixed-width byte form, so the work is done by the typed API
//! ([`VLenArray::encode_arrays`], [`VLenArray::encode_items`], [`VLenArray::decode_arrays`],
//! [`VLenArray::decode_buffer`]); the byte-level [`Codec`] methods return
//! [`ErrorKind::Unsupported`].
//!
//! ```
//! use ndpack::codec::vlen_array::VLenArray;
//! let codec = VLenArray::new("<i2".parse().unwrap()).unwrap();
//! let one: Vec<u8> = [1i16, -2].iter().flat_map(|v| v.to_le_bytes()).collect();
//! let enc = codec.encode_items(&[&one[..], &[]]).unwrap();
//! let arrays = codec.decode_arrays(&enc).unwrap();
//! assert_eq!(arrays[0].shape(), &[2]);
//! assert_eq!(&arrays[0].buffer()[..], &one[..]);
//! assert_eq!(arrays[1].shape(), &[0]);
//! ```

use serde_json::{json, Map, Value};

use super::object::{object_only_methods, vlen_encode, vlen_spans};
use super::{Codec, ConfigReader};
use crate::buffer::{Buffer, NDBuffer};
use crate::dtype::{DataType, TypeKind};
use crate::error::{Error, ErrorKind, Result};
use crate::region::Order;

/// The numcodecs `vlen-array` codec.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VLenArray {
    dtype: DataType,
}

impl VLenArray {
    /// A codec for 1-d arrays of `dtype` (any fixed-width, non-object dtype).
    pub fn new(dtype: DataType) -> Result<Self> {
        if dtype.kind() == TypeKind::Object || dtype.itemsize() == 0 {
            return Err(Error::new(
                ErrorKind::UnsupportedDtype,
                format!("vlen-array: items of dtype {dtype} have no fixed-width bytes"),
            ));
        }
        Ok(VLenArray { dtype })
    }

    /// Builds the codec from its numcodecs config (`dtype` is required).
    pub fn from_config(config: &Map<String, Value>) -> Result<Self> {
        let mut r = ConfigReader::new("vlen-array", config)?;
        let dtype = r
            .dtype("dtype")?
            .ok_or_else(|| Error::invalid_config("codec vlen-array: key \"dtype\" is required"))?;
        r.finish()?;
        Self::new(dtype).map_err(|e| Error::invalid_config(e.message().to_string()))
    }

    /// The item dtype.
    pub fn dtype(&self) -> &DataType {
        &self.dtype
    }

    /// Encodes 1-d arrays, which must have this codec's dtype.
    pub fn encode_arrays(&self, items: &[NDBuffer]) -> Result<Vec<u8>> {
        for (i, a) in items.iter().enumerate() {
            if a.dtype() != &self.dtype {
                return Err(Error::invalid_argument(format!(
                    "vlen-array: item {i} has dtype {}, the codec's is {}",
                    a.dtype(),
                    self.dtype
                )));
            }
            if a.shape().len() != 1 {
                return Err(Error::invalid_argument(format!(
                    "vlen-array: only 1-dimensional arrays are supported, item {i} has shape {:?}",
                    a.shape()
                )));
            }
        }
        vlen_encode(items.iter().map(|a| &a.buffer()[..]))
    }

    /// Encodes items given as their raw bytes (in the dtype's byte order); each length must be a
    /// multiple of the itemsize.
    pub fn encode_items<B: AsRef<[u8]>>(&self, items: &[B]) -> Result<Vec<u8>> {
        let size = self.dtype.itemsize();
        for (i, b) in items.iter().enumerate() {
            if b.as_ref().len() % size != 0 {
                return Err(Error::invalid_argument(format!(
                    "vlen-array: item {i} has {} bytes, not a multiple of {size} ({})",
                    b.as_ref().len(),
                    self.dtype
                )));
            }
        }
        vlen_encode(items.iter().map(AsRef::as_ref))
    }

    /// The byte range of each item in `data`, checking that each is a whole number of items
    /// (`Corrupt` otherwise, as NumPy's `frombuffer` refuses it).
    pub fn decode_spans(&self, data: &[u8]) -> Result<Vec<std::ops::Range<usize>>> {
        let spans = vlen_spans(data)?;
        let size = self.dtype.itemsize();
        for (i, r) in spans.iter().enumerate() {
            if r.len() % size != 0 {
                return Err(Error::corrupt(format!(
                    "vlen-array: item {i} has {} bytes, not a multiple of {size} ({})",
                    r.len(),
                    self.dtype
                )));
            }
        }
        Ok(spans)
    }

    /// Decodes to 1-d arrays (one copy of `data`, then zero-copy slices of it).
    pub fn decode_arrays(&self, data: &[u8]) -> Result<Vec<NDBuffer>> {
        self.decode_spans(data)?;
        self.decode_buffer(&Buffer::copy_from_slice(data))
    }

    /// Decodes to 1-d arrays that are zero-copy slices of `data`.
    pub fn decode_buffer(&self, data: &Buffer) -> Result<Vec<NDBuffer>> {
        let size = self.dtype.itemsize();
        self.decode_spans(data)?
            .into_iter()
            .map(|r| {
                let n = r.len() / size;
                NDBuffer::new(data.slice(r), self.dtype.clone(), vec![n], Order::C)
            })
            .collect()
    }
}

impl Codec for VLenArray {
    fn id(&self) -> &'static str {
        "vlen-array"
    }

    fn config(&self) -> Value {
        json!({"id": "vlen-array", "dtype": self.dtype.to_numpy_str()})
    }

    object_only_methods!(
        "vlen-array",
        encode: "encodes object arrays of arrays, which have no fixed-width byte form",
        "VLenArray::encode_arrays",
        decode: "decodes to arrays of varying length, which have no fixed-width byte form",
        "VLenArray::decode_arrays"
    );
}

#[cfg(test)]
mod tests {
    use super::*;

    /// `numcodecs.VLenArray('<i2').encode(np.array([np.array([1, -2, 300], '<i2'), None, [7]],
    /// dtype=object))`.
    const GOLDEN_I2: &[u8] = &[
        3, 0, 0, 0, 6, 0, 0, 0, 1, 0, 254, 255, 44, 1, 0, 0, 0, 0, 2, 0, 0, 0, 7, 0,
    ];
    /// `numcodecs.VLenArray('>f8').encode(np.array([np.array([1.5, -2]), []], dtype=object))`.
    const GOLDEN_F8_BE: &[u8] = &[
        2, 0, 0, 0, 16, 0, 0, 0, 63, 248, 0, 0, 0, 0, 0, 0, 192, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
    ];

    fn le_i16(v: &[i16]) -> Vec<u8> {
        v.iter().flat_map(|x| x.to_le_bytes()).collect()
    }

    #[test]
    fn golden_vectors_both_ways() {
        let c = VLenArray::new("<i2".parse().unwrap()).unwrap();
        let items = [le_i16(&[1, -2, 300]), vec![], le_i16(&[7])];
        assert_eq!(c.encode_items(&items).unwrap(), GOLDEN_I2);
        let arrays = c.decode_arrays(GOLDEN_I2).unwrap();
        let got: Vec<Vec<u8>> = arrays.iter().map(|a| a.buffer().to_vec()).collect();
        assert_eq!(got, items);
        assert_eq!(c.encode_arrays(&arrays).unwrap(), GOLDEN_I2);

        let c = VLenArray::from_config(
            json!({"id": "vlen-array", "dtype": ">f8"})
                .as_object()
                .unwrap(),
        )
        .unwrap();
        let arrays = c.decode_arrays(GOLDEN_F8_BE).unwrap();
        let first: Vec<f64> = arrays[0]
            .buffer()
            .chunks_exact(8)
            .map(|b| f64::from_be_bytes(b.try_into().unwrap()))
            .collect();
        assert_eq!(first, [1.5, -2.0]);
        assert_eq!(arrays[1].shape(), &[0]);
        assert_eq!(c.config(), json!({"id": "vlen-array", "dtype": ">f8"}));
    }

    #[test]
    fn bad_input_and_arguments() {
        let c = VLenArray::new("<i2".parse().unwrap()).unwrap();
        // odd item length for 2-byte items
        let odd = [1, 0, 0, 0, 3, 0, 0, 0, 1, 2, 3];
        assert_eq!(
            c.decode_arrays(&odd).unwrap_err().kind(),
            ErrorKind::Corrupt
        );
        assert_eq!(
            c.decode_arrays(&GOLDEN_I2[..10]).unwrap_err().kind(),
            ErrorKind::Truncated
        );
        assert!(c.encode_items(&[[1u8, 2, 3]]).is_err());
        let wrong = NDBuffer::empty(&[2], "<i4".parse().unwrap(), Order::C).unwrap();
        assert!(c.encode_arrays(&[wrong]).is_err());
        let twod = NDBuffer::empty(&[2, 2], "<i2".parse().unwrap(), Order::C).unwrap();
        assert!(c.encode_arrays(&[twod]).is_err());
        assert!(VLenArray::from_config(json!({"id": "vlen-array"}).as_object().unwrap()).is_err());
        assert!(VLenArray::from_config(
            json!({"id": "vlen-array", "dtype": "|O"})
                .as_object()
                .unwrap()
        )
        .is_err());
    }
}
