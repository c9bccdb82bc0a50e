//! The `quantize` codec: lossy rounding of floats to a number of decimal digits, as numcodecs'
//! `Quantize(digits, dtype, astype=None)`.
//!
//! Config: `{"id": "quantize", "digits": 3, "dtype": "<f8", "astype": "<f8"}`. With numcodecs'
//! arithmetic: `precision = 10 ** -digits`, `exp = floor/ceil(log10(precision))`,
//! `bits = ceil(log2(10 ** -exp))`, `scale = 2 ** bits`, and each item becomes
//! `np.around(scale * x) / scale` computed in `dtype` (rounding half to even), cast to
//! `astype`. Decoding only casts back to `dtype`. `dtype` and `astype` are float types.

use serde_json::{json, Map, Value};

use super::typed::{self, cast, cast_bytes, with_float, Float, ItemMap, NumType, Scalar, Val};
use super::{ArrayMut, ArrayRef, Codec, ConfigReader, NDBuffer};
use crate::dtype::DataType;
use crate::error::{Error, Result};

const ID: &str = "quantize";

/// The numcodecs `quantize` codec.
#[derive(Debug, Clone, PartialEq)]
pub struct Quantize {
    digits: i64,
    dtype: DataType,
    astype: DataType,
    d: NumType,
    a: NumType,
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
        let astype = astype.unwrap_or_else(|| dtype.clone());
        let d = NumType::require(&dtype, ID, "dtype")?;
        let a = NumType::require(&astype, ID, "astype")?;
        if !d.num.is_float() || !a.num.is_float() {
            return Err(Error::config(format!(
                "codec {ID}: only floating point data types are supported (dtype {dtype}, astype {astype})"
            )));
        }
        let scale = scale_for(digits);
        if !scale.is_finite() || scale == 0.0 {
            return Err(Error::config(format!(
                "codec {ID}: key \"digits\" is out of range, got {digits}"
            )));
        }
        Ok(Quantize {
            digits,
            dtype,
            astype,
            d,
            a,
        })
    }

    /// Builds the codec from its numcodecs config.
    pub fn from_config(config: &Map<String, Value>) -> Result<Self> {
        let mut r = ConfigReader::new(ID, config)?;
        let digits = r.int("digits")?;
        let dtype = r.dtype("dtype")?;
        let astype = r.dtype("astype")?;
        r.finish()?;
        let digits = digits.ok_or_else(|| typed::missing(ID, "digits"))?;
        let dtype = dtype.ok_or_else(|| typed::missing(ID, "dtype"))?;
        Self::new(digits, dtype, astype).map_err(|e| Error::config(e.message()))
    }
}

impl Quantize {
    /// Outputs keep the input's shape, as numcodecs' (`.view(dtype)` of it).
    fn items(&self) -> ItemMap<'_> {
        ItemMap::of_dtype(ID, &self.dtype, &self.astype, true)
    }

    /// Rounds the items of `src` (`dtype`) into `dst` (`astype`, as many items).
    fn encode_bytes(&self, src: &[u8], dst: &mut [u8]) {
        let (d, a) = (self.d, self.a);
        let scale = scale_for(self.digits);
        with_float!(d.num, D => with_float!(a.num, A => {
            let s = D::from_val(Val::F(scale));
            typed::map::<D, A>(src, d.swapped, dst, a.swapped, |x| {
                cast::<D, A>(s.mul(x).round_even().div(s))
            });
        }));
    }
}

impl Codec for Quantize {
    fn id(&self) -> &'static str {
        ID
    }

    fn config(&self) -> Value {
        json!({
            "id": ID,
            "digits": self.digits,
            "dtype": self.dtype.to_string(),
            "astype": self.astype.to_string(),
        })
    }

    fn encode(&self, input: ArrayRef<'_>) -> Result<NDBuffer> {
        self.items().encode(&input, |src, dst| {
            self.encode_bytes(src, dst);
            Ok(())
        })
    }

    fn max_encoded_len(&self, input: &ArrayRef<'_>) -> Option<usize> {
        self.items().max_encoded_len(input)
    }

    fn encode_into(&self, input: ArrayRef<'_>, out: &mut [u8]) -> Result<usize> {
        self.items().encode_into(&input, out, |src, dst| {
            self.encode_bytes(src, dst);
            Ok(())
        })
    }

    fn decode(&self, input: ArrayRef<'_>) -> Result<NDBuffer> {
        self.items()
            .decode(&input, |src, dst| cast_bytes(src, self.a, dst, self.d))
    }

    fn decode_into(&self, input: &[u8], out: ArrayMut<'_>) -> Result<()> {
        self.items().decode_into(input, out.data, |src, dst| {
            cast_bytes(src, self.a, dst, self.d)
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::codec::get_codec;
    use crate::error::ErrorKind;

    #[test]
    fn golden_vectors_from_numcodecs() {
        typed::golden::check_all(include_str!("../../tests/data/filters/quantize.json"));
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
