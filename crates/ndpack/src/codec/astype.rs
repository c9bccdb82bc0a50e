//! The `astype` codec: converts items between numeric types with NumPy's casting rules, as
//! numcodecs' `AsType(encode_dtype, decode_dtype)`.
//!
//! Config: `{"id": "astype", "encode_dtype": "<f4", "decode_dtype": "<f8"}` (both required).
//! Encoding casts `decode_dtype` items to `encode_dtype`; decoding casts back. Supported types:
//! bool, every integer width, `f2`/`f4`/`f8`, in either byte order. Float to integer truncates
//! toward zero and wraps as NumPy does on x86-64 (see `crate::dtype::scalar`).

use serde_json::{json, Map, Value};

use super::filter::{self, item_filter_methods, ItemFilter, ItemMap};
use super::{Codec, ConfigReader};
use crate::dtype::scalar::NumericType;
use crate::dtype::DataType;
use crate::error::Result;

const ID: &str = "astype";

/// The numcodecs `astype` codec.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AsType {
    encode_dtype: DataType,
    decode_dtype: DataType,
    enc: NumericType,
    dec: NumericType,
}

impl AsType {
    /// A codec storing `decode_dtype` items as `encode_dtype` items.
    pub fn new(encode_dtype: DataType, decode_dtype: DataType) -> Result<Self> {
        let enc = NumericType::require(&encode_dtype, ID, "encode_dtype")?;
        let dec = NumericType::require(&decode_dtype, ID, "decode_dtype")?;
        Ok(AsType {
            encode_dtype,
            decode_dtype,
            enc,
            dec,
        })
    }

    /// Builds the codec from its numcodecs config.
    pub fn from_config(config: &Map<String, Value>) -> Result<Self> {
        let mut r = ConfigReader::new(ID, config)?;
        let enc = r.dtype("encode_dtype")?;
        let dec = r.dtype("decode_dtype")?;
        r.finish()?;
        let enc = enc.ok_or_else(|| filter::missing(ID, "encode_dtype"))?;
        let dec = dec.ok_or_else(|| filter::missing(ID, "decode_dtype"))?;
        Self::new(enc, dec).map_err(|e| crate::error::Error::invalid_config(e.message()))
    }

    /// The type of encoded items.
    pub fn encode_dtype(&self) -> &DataType {
        &self.encode_dtype
    }

    /// The type of decoded items.
    pub fn decode_dtype(&self) -> &DataType {
        &self.decode_dtype
    }
}

impl ItemFilter for AsType {
    /// Outputs keep the input's shape, as numcodecs' (`.astype` of it).
    fn items(&self) -> ItemMap<'_> {
        ItemMap {
            id: ID,
            key: "decode_dtype",
            dtype: &self.decode_dtype,
            astype: &self.encode_dtype,
            keep_shape: true,
        }
    }

    fn encode_items(&self, src: &[u8], dst: &mut [u8]) -> Result<()> {
        filter::cast_bytes(src, self.dec, dst, self.enc);
        Ok(())
    }

    fn decode_items(&self, src: &[u8], dst: &mut [u8]) {
        filter::cast_bytes(src, self.enc, dst, self.dec)
    }
}

impl Codec for AsType {
    fn id(&self) -> &'static str {
        ID
    }

    fn config(&self) -> Value {
        json!({
            "id": ID,
            "encode_dtype": self.encode_dtype.to_string(),
            "decode_dtype": self.decode_dtype.to_string(),
        })
    }

    item_filter_methods!();
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::codec::{get_codec, ArrayMut, ArrayRef};
    use crate::error::ErrorKind;

    #[test]
    fn golden_vectors_from_numcodecs() {
        filter::golden::check_all(include_str!("../../tests/data/filters/astype.json"));
    }

    #[test]
    fn keeps_shape_and_checks_input() {
        let c = AsType::new("<i2".parse().unwrap(), "<f8".parse().unwrap()).unwrap();
        let data: Vec<u8> = [1.9f64, -2.9, 3.0, 4.5, 5.0, 6.0]
            .iter()
            .flat_map(|v| v.to_le_bytes())
            .collect();
        let a = ArrayRef::new(
            &data,
            "<f8".parse().unwrap(),
            vec![2, 3],
            crate::region::Order::C,
        )
        .unwrap();
        let enc = c.encode(a).unwrap();
        assert_eq!(enc.shape(), vec![2, 3]);
        assert_eq!(enc.bytes(), &[1, 0, 254, 255, 3, 0, 4, 0, 5, 0, 6, 0]);
        let wrong = ArrayRef::new(&data, "<i8".parse().unwrap(), vec![6], Default::default());
        let e = c.encode(wrong.unwrap()).unwrap_err();
        assert_eq!(e.kind(), ErrorKind::InvalidArgument);
        let e = c.decode(ArrayRef::bytes(&data[..3])).unwrap_err();
        assert_eq!(e.kind(), ErrorKind::Corrupt);
        let mut small = [0u8; 4];
        assert!(c
            .decode_into(&data[..4], ArrayMut::bytes(&mut small))
            .is_err());
    }

    #[test]
    fn bad_configs_name_the_key() {
        for (cfg, key) in [
            (
                json!({"id": "astype", "encode_dtype": "<f4"}),
                "decode_dtype",
            ),
            (
                json!({"id": "astype", "decode_dtype": "<f4"}),
                "encode_dtype",
            ),
            (
                json!({"id": "astype", "encode_dtype": "<x4", "decode_dtype": "<f4"}),
                "encode_dtype",
            ),
            (
                json!({"id": "astype", "encode_dtype": "|S4", "decode_dtype": "<f4"}),
                "encode_dtype",
            ),
            (
                json!({"id": "astype", "encode_dtype": "<f4", "decode_dtype": "<f4", "x": 1}),
                "\"x\"",
            ),
        ] {
            let e = get_codec(&cfg).unwrap_err();
            assert_eq!(e.kind(), ErrorKind::InvalidConfig, "{cfg}");
            assert!(e.message().contains(key), "{e} for {cfg}");
        }
    }
}
