//! The `vlen-utf8` codec: variable-length UTF-8 strings, as numcodecs' `VLenUTF8()`.
//!
//! Format (numcodecs `vlen.pyx`): a 4-byte little-endian item count, then per item a 4-byte
//! little-endian byte length and the UTF-8 bytes. Config: `{"id": "vlen-utf8"}` (no parameters).
//!
//! Object arrays have no fixed-width byte form, so the work is done by the typed API
//! ([`VLenUtf8::encode_strs`], [`VLenUtf8::decode_strings`], [`VLenUtf8::decode_strs`]); the
//! byte-level [`Codec`] methods return [`ErrorKind::Unsupported`](crate::ErrorKind::Unsupported).
//!
//! ```
//! use ndpack::codec::vlen_utf8::VLenUtf8;
//! let enc = VLenUtf8::encode_strs(&["foo", "", "¡Hola!"]).unwrap();
//! assert_eq!(&enc[..8], &[3, 0, 0, 0, 3, 0, 0, 0]);
//! assert_eq!(VLenUtf8::decode_strings(&enc).unwrap(), ["foo", "", "¡Hola!"]);
//! ```

use serde_json::{json, Map, Value};

use super::object::{object_only_methods, vlen_encode, vlen_spans};
use super::{Codec, ConfigReader};
use crate::error::{Error, Result};

/// The numcodecs `vlen-utf8` codec.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct VLenUtf8;

impl VLenUtf8 {
    /// Builds the codec from its numcodecs config (no keys besides `"id"`).
    pub fn from_config(config: &Map<String, Value>) -> Result<Self> {
        ConfigReader::new("vlen-utf8", config)?.finish()?;
        Ok(VLenUtf8)
    }

    /// Encodes strings.
    pub fn encode_strs<S: AsRef<str>>(items: &[S]) -> Result<Vec<u8>> {
        vlen_encode(items.iter().map(|s| s.as_ref().as_bytes()))
    }

    /// Encodes optional strings; `None` is written as the empty string, as numcodecs does with
    /// `None` (and `0`) items.
    pub fn encode_opt(items: &[Option<&str>]) -> Result<Vec<u8>> {
        vlen_encode(items.iter().map(|s| s.unwrap_or("").as_bytes()))
    }

    /// Decodes to owned strings. Invalid UTF-8 is `Corrupt`.
    pub fn decode_strings(data: &[u8]) -> Result<Vec<String>> {
        Ok(Self::decode_strs(data)?
            .into_iter()
            .map(str::to_owned)
            .collect())
    }

    /// Decodes to strings borrowed from `data`. Invalid UTF-8 is `Corrupt`.
    pub fn decode_strs(data: &[u8]) -> Result<Vec<&str>> {
        vlen_spans(data)?
            .into_iter()
            .enumerate()
            .map(|(i, r)| {
                std::str::from_utf8(&data[r])
                    .map_err(|e| Error::corrupt(format!("vlen-utf8 item {i} is not UTF-8: {e}")))
            })
            .collect()
    }
}

impl Codec for VLenUtf8 {
    fn id(&self) -> &'static str {
        "vlen-utf8"
    }

    fn config(&self) -> Value {
        json!({"id": "vlen-utf8"})
    }

    object_only_methods!(
        "vlen-utf8",
        encode: "encodes object arrays of strings, which have no fixed-width byte form",
        "VLenUtf8::encode_strs",
        decode: "decodes to strings, which have no fixed-width byte form",
        "VLenUtf8::decode_strings"
    );
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::codec::ArrayRef;
    use crate::error::ErrorKind;

    /// `numcodecs.VLenUTF8().encode(np.array(['foo', '', '¡Hola!', '😀', None], dtype=object))`.
    const GOLDEN: &[u8] = &[
        5, 0, 0, 0, 3, 0, 0, 0, 102, 111, 111, 0, 0, 0, 0, 7, 0, 0, 0, 194, 161, 72, 111, 108, 97,
        33, 4, 0, 0, 0, 240, 159, 152, 128, 0, 0, 0, 0,
    ];

    #[test]
    fn golden_vector_both_ways() {
        let enc = VLenUtf8::encode_opt(&[Some("foo"), Some(""), Some("¡Hola!"), Some("😀"), None])
            .unwrap();
        assert_eq!(enc, GOLDEN);
        assert_eq!(
            VLenUtf8::decode_strings(GOLDEN).unwrap(),
            ["foo", "", "¡Hola!", "😀", ""]
        );
    }

    #[test]
    fn empty_and_bad_input() {
        let enc = VLenUtf8::encode_strs::<&str>(&[]).unwrap();
        assert_eq!(enc, [0, 0, 0, 0]);
        assert!(VLenUtf8::decode_strs(&enc).unwrap().is_empty());
        let e = VLenUtf8::decode_strs(&[1, 0, 0, 0, 1, 0, 0, 0, 0xff]).unwrap_err();
        assert_eq!(e.kind(), ErrorKind::Corrupt);
        let e = VLenUtf8::decode_strs(&GOLDEN[..GOLDEN.len() - 5]).unwrap_err();
        assert_eq!(e.kind(), ErrorKind::Truncated);
        let e = VLenUtf8.decode(ArrayRef::bytes(GOLDEN)).unwrap_err();
        assert_eq!(e.kind(), ErrorKind::Unsupported);
        assert!(
            VLenUtf8::from_config(json!({"id": "vlen-utf8", "x": 1}).as_object().unwrap()).is_err()
        );
    }
}
