//! The `quantize` codec: lossy rounding of floats to a number of decimal digits, as numcodecs'
//! `Quantize(digits, dtype, astype=None)`.
//!
//! Config: `{"id": "quantize", "digits": 3, "dtype": "<f8", "astype": "<f8"}`. With numcodecs'
//! arithmetic: `precision = 10 ** -digits`, `exp = floor/ceil(log10(precision))`,
//! `bits = ceil(log2(10 ** -exp))`, `scale = 2 ** bits`, and each item becomes
//! `np.around(scale * x) / scale` computed in `dtype` (rounding half to even), cast to
//! `astype`. Decoding only casts back to `dtype`. `dtype` and `astype` are float types.

use serde_json::{json, Map, Value};

use super::filter::{
    self, cast_bytes, item_filter_methods, with_float, ItemFilter, ItemMap, ItemTypes,
};
use super::{Codec, ConfigReader};
use crate::dtype::scalar::{cast, Float, Scalar, ScalarValue};
use crate::dtype::DataType;
use crate::error::{Error, Result};

const ID: &str = "quantize";

/// The numcodecs `quantize` codec.
#[derive(Debug, Clone, PartialEq)]
pub struct Quantize {
    digits: i64,
    types: ItemTypes,
}

/// numcodecs' scale for `digits`: a power of two, in `f64` (infinite when too large).
pub(crate) fn scale_for(digits: i64) -> f64 {
    let precision = 10f64.powf(-(digits as f64));
    let mut exp = precision.log10();
    exp = if exp < 0.0 { exp.floor() } else { exp.ceil() };
    let bits = 10f64.powf(-exp).log2().ceil();
    2f64.powf(bits)
}

impl Quantize {
    /// A codec keeping `digits` decimal digits of `dtype` floats, stored as `astype`
    /// (`None`: `dtype`).
    pub fn new(digits: i64, dtype: DataType, astype: Option<DataType>) -> Result<Self> {
        let types = ItemTypes::new(ID, dtype, astype)?;
        if !types.d.num.is_float() || !types.a.num.is_float() {
            let ItemTypes { dtype, astype, .. } = &types;
            return Err(Error::invalid_config(format!(
                "codec {ID}: only floating point data types are supported (dtype {dtype}, astype {astype})"
            )));
        }
        let scale = scale_for(digits);
        if !scale.is_finite() || scale == 0.0 {
            return Err(Error::invalid_config(format!(
                "codec {ID}: key \"digits\" is out of range, got {digits}"
            )));
        }
        Ok(Quantize { digits, types })
    }

    /// Builds the codec from its numcodecs config.
    pub fn from_config(config: &Map<String, Value>) -> Result<Self> {
        let mut r = ConfigReader::new(ID, config)?;
        let digits = r.int("digits")?;
        let (dtype, astype) = ItemTypes::read(&mut r)?;
        r.finish()?;
        let digits = digits.ok_or_else(|| filter::missing(ID, "digits"))?;
        let dtype = dtype.ok_or_else(|| filter::missing(ID, "dtype"))?;
        Self::new(digits, dtype, astype).map_err(|e| Error::invalid_config(e.message()))
    }
}

impl ItemFilter for Quantize {
    /// Outputs keep the input's shape, as numcodecs' (`.view(dtype)` of it).
    fn items(&self) -> ItemMap<'_> {
        self.types.items(ID, true)
    }

    /// Rounds the items of `src` (`dtype`) into `dst` (`astype`, as many items).
    fn encode_items(&self, src: &[u8], dst: &mut [u8]) -> Result<()> {
        let (d, a) = (self.types.d, self.types.a);
        let scale = scale_for(self.digits);
        with_float!(d.num, D => with_float!(a.num, A => {
            let s = D::from_value(ScalarValue::Float(scale));
            filter::map::<D, A>(src, d.swapped, dst, a.swapped, |x| {
                cast::<D, A>(s.mul(x).round_even().div(s))
            });
        }));
        Ok(())
    }

    /// Casts the items of `src` (`astype`) back to `dtype` into `dst`.
    fn decode_items(&self, src: &[u8], dst: &mut [u8]) {
        cast_bytes(src, self.types.a, dst, self.types.d)
    }
}

impl Codec for Quantize {
    fn id(&self) -> &'static str {
        ID
    }

    fn config(&self) -> Value {
        self.types.config(json!({"id": ID, "digits": self.digits}))
    }

    item_filter_methods!();
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::codec::{get_codec, ArrayRef};
    use crate::error::ErrorKind;

    #[test]
    fn golden_vectors_from_numcodecs() {
        filter::golden::check_all(include_str!("../../tests/data/filters/quantize.json"));
    }

    #[test]
    fn scale_matches_numcodecs() {
        // numcodecs' scale for digits 1, 2, 3 (from its docstring: 1/8, 1/128, 1/1024 steps).
        assert_eq!(scale_for(1), 16.0);
        assert_eq!(scale_for(2), 128.0);
        assert_eq!(scale_for(3), 1024.0);
        assert_eq!(scale_for(0), 1.0);
        assert_eq!(scale_for(-2), 1.0 / 64.0);
    }

    #[test]
    fn errors() {
        for (cfg, key) in [
            (json!({"id": ID, "dtype": "<f8"}), "digits"),
            (json!({"id": ID, "digits": 2}), "dtype"),
            (json!({"id": ID, "digits": 2, "dtype": "<i4"}), "floating"),
            (
                json!({"id": ID, "digits": 2, "dtype": "<f4", "astype": "<i4"}),
                "floating",
            ),
            (json!({"id": ID, "digits": 400, "dtype": "<f4"}), "digits"),
            (json!({"id": ID, "digits": 1.5, "dtype": "<f4"}), "digits"),
            (
                json!({"id": ID, "digits": 1, "dtype": "<f4", "bits": 2}),
                "bits",
            ),
        ] {
            let e = get_codec(&cfg).unwrap_err();
            assert_eq!(e.kind(), ErrorKind::InvalidConfig, "{cfg}");
            assert!(e.message().contains(key), "{e}");
        }
        let c = Quantize::new(2, "<f8".parse().unwrap(), None).unwrap();
        assert_eq!(
            c.decode(ArrayRef::bytes(&[0; 7])).unwrap_err().kind(),
            ErrorKind::Corrupt
        );
    }
}
