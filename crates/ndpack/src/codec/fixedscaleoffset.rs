//! The `fixedscaleoffset` codec: `round((x - offset) * scale)` stored as `astype`, as numcodecs'
//! `FixedScaleOffset(offset, scale, dtype, astype=None)`.
//!
//! Config: `{"id": "fixedscaleoffset", "scale": 10, "offset": 1000, "dtype": "<f8",
//! "astype": "<u2"}`. `offset` and `scale` keep their JSON type (integer or float), because
//! NumPy's arithmetic depends on it (NEP 50): with a float `dtype` both are cast to `dtype` and
//! the arithmetic runs in `dtype`; with an integer `dtype` an integer operand keeps the
//! arithmetic in `dtype` (wrapping; an operand outside `dtype`'s range is an error, as NumPy's
//! `OverflowError`), a float operand moves it to `f8`. Rounding is `np.around`: half to even.
//! Decoding is `enc / scale + offset` (in `astype` for a float `astype`, else in `f8`), cast to
//! `dtype`.

use serde_json::{json, Map, Number, Value};

use super::filter::{
    self, item_filter_methods, with_float, with_num, ItemFilter, ItemMap, ItemTypes,
};
use super::{Codec, ConfigReader};
use crate::dtype::scalar::{cast, Float, Scalar, ScalarKind, ScalarValue};
use crate::dtype::DataType;
use crate::error::{Error, Result};

const ID: &str = "fixedscaleoffset";

/// The numcodecs `fixedscaleoffset` codec.
#[derive(Debug, Clone, PartialEq)]
pub struct FixedScaleOffset {
    offset: Number,
    scale: Number,
    types: ItemTypes,
}

/// `v` as an item of `T` if it is an integer within `T`'s range (NumPy 2 raises otherwise).
fn int_in<T: Scalar>(v: ScalarValue, what: &str, dtype: &DataType) -> Result<Option<T>> {
    let wide = |v: ScalarValue| match v {
        ScalarValue::Int(i) => Some(i as i128),
        ScalarValue::UInt(u) => Some(u as i128),
        ScalarValue::Float(_) => None,
    };
    let Some(x) = wide(v) else {
        return Ok(None);
    };
    let t = T::from_value(v);
    if wide(t.to_value()) != Some(x) {
        return Err(Error::invalid_argument(format!(
            "codec {ID}: {what} {x} is out of bounds for {dtype}"
        )));
    }
    Ok(Some(t))
}

impl FixedScaleOffset {
    /// A codec computing `(x - offset) * scale` on `dtype` items, stored as `astype`
    /// (`None`: `dtype`).
    pub fn new(
        offset: Number,
        scale: Number,
        dtype: DataType,
        astype: Option<DataType>,
    ) -> Result<Self> {
        let types = ItemTypes::new(ID, dtype, astype)?;
        for (t, key) in [(types.d, "dtype"), (types.a, "astype")] {
            if t.num == ScalarKind::Bool {
                return Err(Error::invalid_config(format!(
                    "codec {ID}: key {key:?} must be an integer or float type, got |b1"
                )));
            }
        }
        Ok(FixedScaleOffset {
            offset,
            scale,
            types,
        })
    }

    /// Builds the codec from its numcodecs config.
    pub fn from_config(config: &Map<String, Value>) -> Result<Self> {
        let mut r = ConfigReader::new(ID, config)?;
        let number = |r: &mut ConfigReader<'_>, key: &'static str| -> Result<Number> {
            match r.value(key) {
                None => Err(filter::missing(ID, key)),
                Some(Value::Number(n)) => Ok(n.clone()),
                Some(v) => Err(Error::invalid_config(format!(
                    "codec {ID}: key {key:?} must be a number, got {v}"
                ))),
            }
        };
        let offset = number(&mut r, "offset")?;
        let scale = number(&mut r, "scale")?;
        let (dtype, astype) = ItemTypes::read(&mut r)?;
        r.finish()?;
        let dtype = dtype.ok_or_else(|| filter::missing(ID, "dtype"))?;
        Self::new(offset, scale, dtype, astype).map_err(|e| Error::invalid_config(e.message()))
    }
}

impl FixedScaleOffset {
    /// `offset` and `scale` as NumPy operands.
    fn operands(&self) -> (ScalarValue, ScalarValue) {
        (
            ScalarValue::from(&self.offset),
            ScalarValue::from(&self.scale),
        )
    }
}

impl ItemFilter for FixedScaleOffset {
    /// Outputs are 1-d, as numcodecs' (it flattens the input).
    fn items(&self) -> ItemMap<'_> {
        self.types.items(ID, false)
    }

    fn encode_items(&self, src: &[u8], dst: &mut [u8]) -> Result<()> {
        let (d, a) = (self.types.d, self.types.a);
        let (off, sc) = self.operands();
        if d.num.is_float() {
            with_float!(d.num, D => with_num!(a.num, A => {
                let (o, s) = (D::from_value(off), D::from_value(sc));
                filter::map::<D, A>(src, d.swapped, dst, a.swapped, |x| {
                    cast::<D, A>(x.sub(o).mul(s).round_even())
                });
            }));
            return Ok(());
        }
        with_num!(d.num, D => with_num!(a.num, A => {
            match int_in::<D>(off, "offset", &self.types.dtype)? {
                Some(o) => match int_in::<D>(sc, "scale", &self.types.dtype)? {
                    // All in dtype, wrapping.
                    Some(s) => filter::map::<D, A>(src, d.swapped, dst, a.swapped, |x| {
                        cast::<D, A>(x.sub(o).mul(s))
                    }),
                    // (x - offset) in dtype, then * scale in f8.
                    None => {
                        let s = sc.to_f64();
                        filter::map::<D, A>(src, d.swapped, dst, a.swapped, |x| {
                            let y: f64 = cast::<D, f64>(x.sub(o)) * s;
                            A::from_value(ScalarValue::Float(y.round_ev()))
                        })
                    }
                },
                None => {
                    let (o, s) = (off.to_f64(), sc.to_f64());
                    filter::map::<D, A>(src, d.swapped, dst, a.swapped, |x| {
                        let y = (cast::<D, f64>(x) - o) * s;
                        A::from_value(ScalarValue::Float(y.round_ev()))
                    })
                }
            }
        }));
        Ok(())
    }

    fn decode_items(&self, src: &[u8], dst: &mut [u8]) {
        let (d, a) = (self.types.d, self.types.a);
        let (off, sc) = self.operands();
        if a.num.is_float() {
            with_float!(a.num, A => with_num!(d.num, D => {
                let (o, s) = (A::from_value(off), A::from_value(sc));
                filter::map::<A, D>(src, a.swapped, dst, d.swapped, |x| cast::<A, D>(x.div(s).add(o)));
            }));
        } else {
            let (o, s) = (off.to_f64(), sc.to_f64());
            with_num!(a.num, A => with_num!(d.num, D => {
                filter::map::<A, D>(src, a.swapped, dst, d.swapped, |x| {
                    D::from_value(ScalarValue::Float(cast::<A, f64>(x) / s + o))
                });
            }));
        }
    }
}

/// Round half to even on `f64`, by name so that closures read well.
trait RoundEv {
    fn round_ev(self) -> Self;
}

impl RoundEv for f64 {
    #[inline(always)]
    fn round_ev(self) -> Self {
        self.round_ties_even()
    }
}

impl Codec for FixedScaleOffset {
    fn id(&self) -> &'static str {
        ID
    }

    fn config(&self) -> Value {
        self.types
            .config(json!({"id": ID, "scale": self.scale, "offset": self.offset}))
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
        filter::golden::check_all(include_str!(
            "../../tests/data/filters/fixedscaleoffset.json"
        ));
    }

    #[test]
    fn rounds_half_to_even() {
        let c =
            get_codec(&json!({"id": ID, "offset": 0, "scale": 1, "dtype": "<f8", "astype": "<i2"}))
                .unwrap();
        let x: Vec<u8> = [0.5f64, 1.5, 2.5, -0.5, -1.5, -2.5, 2.5000001]
            .iter()
            .flat_map(|v| v.to_le_bytes())
            .collect();
        let enc = c.encode(ArrayRef::bytes(&x)).unwrap();
        let got: Vec<i16> = enc
            .bytes()
            .chunks_exact(2)
            .map(|b| i16::from_le_bytes([b[0], b[1]]))
            .collect();
        assert_eq!(got, [0, 2, 2, 0, -2, -2, 3]);
    }

    #[test]
    fn errors() {
        let c = get_codec(&json!({"id": ID, "offset": 1000, "scale": 1, "dtype": "|u1"})).unwrap();
        let e = c.encode(ArrayRef::bytes(&[1, 2])).unwrap_err();
        assert_eq!(e.kind(), ErrorKind::InvalidArgument);
        assert!(e.message().contains("1000"), "{e}");
        let c = get_codec(&json!({"id": ID, "offset": 1, "scale": 2, "dtype": "<f4"})).unwrap();
        assert_eq!(
            c.decode(ArrayRef::bytes(&[0; 5])).unwrap_err().kind(),
            ErrorKind::Corrupt
        );
        for (cfg, key) in [
            (json!({"id": ID, "scale": 1, "dtype": "<f8"}), "offset"),
            (json!({"id": ID, "offset": 1, "dtype": "<f8"}), "scale"),
            (json!({"id": ID, "offset": 1, "scale": 1}), "dtype"),
            (
                json!({"id": ID, "offset": "1", "scale": 1, "dtype": "<f8"}),
                "offset",
            ),
            (
                json!({"id": ID, "offset": 1, "scale": 1, "dtype": "|S3"}),
                "dtype",
            ),
            (
                json!({"id": ID, "offset": 1, "scale": 1, "dtype": "<f8", "astype": "|b1"}),
                "astype",
            ),
            (
                json!({"id": ID, "offset": 1, "scale": 1, "dtype": "<f8", "mode": 1}),
                "mode",
            ),
        ] {
            let e = get_codec(&cfg).unwrap_err();
            assert_eq!(e.kind(), ErrorKind::InvalidConfig, "{cfg}");
            assert!(e.message().contains(key), "{e}");
        }
    }
}
