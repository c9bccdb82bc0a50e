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

use super::typed::{self, cast, with_float, with_num, Float, ItemMap, Num, NumType, Scalar, Val};
use super::{ArrayMut, ArrayRef, Codec, ConfigReader, NDBuffer};
use crate::dtype::DataType;
use crate::error::{Error, Result};

const ID: &str = "fixedscaleoffset";

/// The numcodecs `fixedscaleoffset` codec.
#[derive(Debug, Clone, PartialEq)]
pub struct FixedScaleOffset {
    offset: Number,
    scale: Number,
    dtype: DataType,
    astype: DataType,
    d: NumType,
    a: NumType,
}

/// A JSON number as a NumPy operand: an exact integer or a float.
fn val(n: &Number) -> Val {
    if let Some(i) = n.as_i64() {
        Val::I(i)
    } else if let Some(u) = n.as_u64() {
        Val::U(u)
    } else {
        Val::F(n.as_f64().unwrap_or(f64::NAN))
    }
}

fn as_f64(v: Val) -> f64 {
    match v {
        Val::I(i) => i as f64,
        Val::U(u) => u as f64,
        Val::F(f) => f,
    }
}

/// `v` as an item of `T` if it is an integer within `T`'s range (NumPy 2 raises otherwise).
fn int_in<T: Scalar>(v: Val, what: &str, dtype: &DataType) -> Result<Option<T>> {
    let wide = |v: Val| match v {
        Val::I(i) => Some(i as i128),
        Val::U(u) => Some(u as i128),
        Val::F(_) => None,
    };
    let Some(x) = wide(v) else {
        return Ok(None);
    };
    let t = T::from_val(v);
    if wide(t.to_val()) != Some(x) {
        return Err(Error::invalid(format!(
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
        let astype = astype.unwrap_or_else(|| dtype.clone());
        let d = NumType::require(&dtype, ID, "dtype")?;
        let a = NumType::require(&astype, ID, "astype")?;
        for (t, key) in [(d, "dtype"), (a, "astype")] {
            if t.num == Num::Bool {
                return Err(Error::config(format!(
                    "codec {ID}: key {key:?} must be an integer or float type, got |b1"
                )));
            }
        }
        Ok(FixedScaleOffset {
            offset,
            scale,
            dtype,
            astype,
            d,
            a,
        })
    }

    /// Builds the codec from its numcodecs config.
    pub fn from_config(config: &Map<String, Value>) -> Result<Self> {
        let mut r = ConfigReader::new(ID, config)?;
        let number = |r: &mut ConfigReader<'_>, key: &'static str| -> Result<Number> {
            match r.value(key) {
                None => Err(typed::missing(ID, key)),
                Some(Value::Number(n)) => Ok(n.clone()),
                Some(v) => Err(Error::config(format!(
                    "codec {ID}: key {key:?} must be a number, got {v}"
                ))),
            }
        };
        let offset = number(&mut r, "offset")?;
        let scale = number(&mut r, "scale")?;
        let dtype = r.dtype("dtype")?;
        let astype = r.dtype("astype")?;
        r.finish()?;
        let dtype = dtype.ok_or_else(|| typed::missing(ID, "dtype"))?;
        Self::new(offset, scale, dtype, astype).map_err(|e| Error::config(e.message()))
    }

    /// Outputs are 1-d, as numcodecs' (it flattens the input).
    fn items(&self) -> ItemMap<'_> {
        ItemMap::of_dtype(ID, &self.dtype, &self.astype, false)
    }

    fn encode_bytes(&self, src: &[u8], dst: &mut [u8]) -> Result<()> {
        let (d, a) = (self.d, self.a);
        let (off, sc) = (val(&self.offset), val(&self.scale));
        if d.num.is_float() {
            with_float!(d.num, D => with_num!(a.num, A => {
                let (o, s) = (D::from_val(off), D::from_val(sc));
                typed::map::<D, A>(src, d.swapped, dst, a.swapped, |x| {
                    cast::<D, A>(x.sub(o).mul(s).round_even())
                });
            }));
            return Ok(());
        }
        with_num!(d.num, D => with_num!(a.num, A => {
            match int_in::<D>(off, "offset", &self.dtype)? {
                Some(o) => match int_in::<D>(sc, "scale", &self.dtype)? {
                    // All in dtype, wrapping.
                    Some(s) => typed::map::<D, A>(src, d.swapped, dst, a.swapped, |x| {
                        cast::<D, A>(x.sub(o).mul(s))
                    }),
                    // (x - offset) in dtype, then * scale in f8.
                    None => {
                        let s = as_f64(sc);
                        typed::map::<D, A>(src, d.swapped, dst, a.swapped, |x| {
                            let y: f64 = cast::<D, f64>(x.sub(o)) * s;
                            A::from_val(Val::F(y.round_ev()))
                        })
                    }
                },
                None => {
                    let (o, s) = (as_f64(off), as_f64(sc));
                    typed::map::<D, A>(src, d.swapped, dst, a.swapped, |x| {
                        let y = (cast::<D, f64>(x) - o) * s;
                        A::from_val(Val::F(y.round_ev()))
                    })
                }
            }
        }));
        Ok(())
    }

    fn decode_bytes(&self, src: &[u8], dst: &mut [u8]) {
        let (d, a) = (self.d, self.a);
        let (off, sc) = (val(&self.offset), val(&self.scale));
        if a.num.is_float() {
            with_float!(a.num, A => with_num!(d.num, D => {
                let (o, s) = (A::from_val(off), A::from_val(sc));
                typed::map::<A, D>(src, a.swapped, dst, d.swapped, |x| cast::<A, D>(x.div(s).add(o)));
            }));
        } else {
            let (o, s) = (as_f64(off), as_f64(sc));
            with_num!(a.num, A => with_num!(d.num, D => {
                typed::map::<A, D>(src, a.swapped, dst, d.swapped, |x| {
                    D::from_val(Val::F(cast::<A, f64>(x) / s + o))
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
        json!({
            "id": ID,
            "scale": self.scale,
            "offset": self.offset,
            "dtype": self.dtype.to_string(),
            "astype": self.astype.to_string(),
        })
    }

    fn encode(&self, input: ArrayRef<'_>) -> Result<NDBuffer> {
        self.items()
            .encode(&input, |src, dst| self.encode_bytes(src, dst))
    }

    fn max_encoded_len(&self, input: &ArrayRef<'_>) -> Option<usize> {
        self.items().max_encoded_len(input)
    }

    fn encode_into(&self, input: ArrayRef<'_>, out: &mut [u8]) -> Result<usize> {
        self.items()
            .encode_into(&input, out, |src, dst| self.encode_bytes(src, dst))
    }

    fn decode(&self, input: ArrayRef<'_>) -> Result<NDBuffer> {
        self.items()
            .decode(&input, |src, dst| self.decode_bytes(src, dst))
    }

    fn decode_into(&self, input: &[u8], out: ArrayMut<'_>) -> Result<()> {
        self.items()
            .decode_into(input, out.data, |src, dst| self.decode_bytes(src, dst))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::codec::get_codec;
    use crate::error::ErrorKind;

    #[test]
    fn golden_vectors_from_numcodecs() {
        typed::golden::check_all(include_str!(
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
