//! The `vlen-bytes` codec: variable-length byte strings, as numcodecs' `VLenBytes()`.
//!
//! Format (numcodecs `vlen.pyx`): a 4-byte little-endian item count, then per item a 4-byte
//! little-endian byte length and the bytes. Config: `{"id": "vlen-bytes"}` (no parameters).
//!
//! Object arrays have no fixed-width byte form, so the work is done by the typed API
//! ([`VLenBytes::encode_items`], [`VLenBytes::decode_items`], [`VLenBytes::decode_slices`],
//! [`VLenBytes::decode_buffers`]); the byte-level [`Codec`] methods return
//! [`ErrorKind::Unsupported`](crate::ErrorKind::Unsupported).
//!
//! ```
//! use ndpack::codec::vlen_bytes::VLenBytes;
//! let enc = VLenBytes::encode_items(&[&b"ab"[..], b""]).unwrap();
//! assert_eq!(enc, [2, 0, 0, 0, 2, 0, 0, 0, b'a', b'b', 0, 0, 0, 0]);
//! assert_eq!(VLenBytes::decode_items(&enc).unwrap(), [b"ab".to_vec(), vec![]]);
//! ```

use serde_json::{json, Map, Value};

use super::object::{object_only_methods, vlen_encode, vlen_spans};
use super::{Codec, ConfigReader};
use crate::buffer::Buffer;
use crate::error::Result;

/// The numcodecs `vlen-bytes` codec.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct VLenBytes;

impl VLenBytes {
    /// Builds the codec from its numcodecs config (no keys besides `"id"`).
    pub fn from_config(config: &Map<String, Value>) -> Result<Self> {
        ConfigReader::new("vlen-bytes", config)?.finish()?;
        Ok(VLenBytes)
    }

    /// Encodes byte strings.
    pub fn encode_items<B: AsRef<[u8]>>(items: &[B]) -> Result<Vec<u8>> {
        vlen_encode(items.iter().map(AsRef::as_ref))
    }

    /// Encodes optional byte strings; `None` is written as the empty string, as numcodecs does
    /// with `None` (and `0`) items.
    pub fn encode_opt(items: &[Option<&[u8]>]) -> Result<Vec<u8>> {
        vlen_encode(items.iter().map(|b| b.unwrap_or(b"")))
    }

    /// Decodes to owned byte strings.
    pub fn decode_items(data: &[u8]) -> Result<Vec<Vec<u8>>> {
        Ok(Self::decode_slices(data)?
            .into_iter()
            .map(<[u8]>::to_vec)
            .collect())
    }

    /// Decodes to byte strings borrowed from `data`.
    pub fn decode_slices(data: &[u8]) -> Result<Vec<&[u8]>> {
        Ok(vlen_spans(data)?.into_iter().map(|r| &data[r]).collect())
    }

    /// Decodes to zero-copy slices of `data`.
    pub fn decode_buffers(data: &Buffer) -> Result<Vec<Buffer>> {
        Ok(vlen_spans(data)?
            .into_iter()
            .map(|r| data.slice(r))
            .collect())
    }
}

impl Codec for VLenBytes {
    fn id(&self) -> &'static str {
        "vlen-bytes"
    }

    fn config(&self) -> Value {
        json!({"id": "vlen-bytes"})
    }

    object_only_methods!(
        "vlen-bytes",
        encode: "encodes object arrays of byte strings, which have no fixed-width byte form",
        "VLenBytes::encode_items",
        decode: "decodes to byte strings, which have no fixed-width byte form",
        "VLenBytes::decode_items"
    );
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::codec::ArrayRef;
    use crate::error::ErrorKind;

    /// `numcodecs.VLenBytes().encode(np.array([b'foo', b'', b'\x00\xff', None], dtype=object))`.
    const GOLDEN: &[u8] = &[
        4, 0, 0, 0, 3, 0, 0, 0, 102, 111, 111, 0, 0, 0, 0, 2, 0, 0, 0, 0, 255, 0, 0, 0, 0,
    ];

    #[test]
    fn golden_vector_both_ways() {
        let items: [Option<&[u8]>; 4] = [Some(b"foo"), Some(b""), Some(b"\x00\xff"), None];
        assert_eq!(VLenBytes::encode_opt(&items).unwrap(), GOLDEN);
        assert_eq!(
            VLenBytes::decode_items(GOLDEN).unwrap(),
            [b"foo".to_vec(), vec![], vec![0, 255], vec![]]
        );
        let buf = Buffer::copy_from_slice(GOLDEN);
        let parts = VLenBytes::decode_buffers(&buf).unwrap();
        assert_eq!(&parts[2][..], b"\x00\xff");
    }

    #[test]
    fn bad_input() {
        for cut in 0..GOLDEN.len() - 4 {
            let e = VLenBytes::decode_slices(&GOLDEN[..cut]).unwrap_err();
            assert_eq!(e.kind(), ErrorKind::Truncated, "cut at {cut}");
        }
        assert_eq!(
            VLenBytes.encode(ArrayRef::bytes(b"x")).unwrap_err().kind(),
            ErrorKind::Unsupported
        );
    }
}
