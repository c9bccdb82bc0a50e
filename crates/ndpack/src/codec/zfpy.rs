//! The `zfpy` codec: ZFP streams with zfpy's full header, as numcodecs' `ZFPY`.
//!
//! Config: `{"id": "zfpy", "mode": 4, "compression_kwargs": {"tolerance": -1}, "tolerance": -1,
//! "rate": -1, "precision": -1}` (numcodecs' defaults). `mode` is zfpy's mode number: 4 (fixed
//! accuracy) compresses with `tolerance`, 2 (fixed rate) with `rate`, 3 (fixed precision) with
//! `precision`; a negative value of that parameter means reversible (lossless), as in numcodecs.
//! Other modes decode but cannot encode (numcodecs fails on them too). `compression_kwargs` is
//! derived from the other keys and accepted on input. Encoding needs the array's dtype (int32,
//! int64, float32, float64) and shape (1 to 4 dimensions); decoding reads both from the header.

use serde_json::{json, Map, Value};

use super::{ArrayMut, ArrayRef, Codec, ConfigReader, NDBuffer};
use crate::error::{Error, Result};
use crate::zfp::{self, ZfpMode, ZfpType};

/// zfpy's `mode_fixed_rate`.
pub const MODE_FIXED_RATE: i64 = 2;
/// zfpy's `mode_fixed_precision`.
pub const MODE_FIXED_PRECISION: i64 = 3;
/// zfpy's `mode_fixed_accuracy` (numcodecs' default).
pub const MODE_FIXED_ACCURACY: i64 = 4;

/// The numcodecs `zfpy` codec.
#[derive(Debug, Clone, PartialEq)]
pub struct Zfpy {
    mode: i64,
    tolerance: f64,
    rate: f64,
    precision: i64,
}

impl Default for Zfpy {
    fn default() -> Self {
        Zfpy {
            mode: MODE_FIXED_ACCURACY,
            tolerance: -1.0,
            rate: -1.0,
            precision: -1,
        }
    }
}

fn num(v: f64) -> Value {
    // numcodecs keeps what it was given; -1 and other whole numbers print as integers there.
    if v.fract() == 0.0 && v.abs() < 1e15 {
        json!(v as i64)
    } else {
        json!(v)
    }
}

impl Zfpy {
    /// A codec with zfpy's `mode` number and its parameters (negative: not set).
    pub fn new(mode: i64, tolerance: f64, rate: f64, precision: i64) -> Self {
        Zfpy {
            mode,
            tolerance,
            rate,
            precision,
        }
    }

    /// Builds the codec from its numcodecs config.
    pub fn from_config(config: &Map<String, Value>) -> Result<Self> {
        let mut r = ConfigReader::new("zfpy", config)?;
        let d = Zfpy::default();
        let mode = r.int("mode")?.unwrap_or(d.mode);
        let tolerance = r.float("tolerance")?.unwrap_or(d.tolerance);
        let rate = r.float("rate")?.unwrap_or(d.rate);
        let precision = r.int("precision")?.unwrap_or(d.precision);
        if let Some(v) = r.value("compression_kwargs") {
            if !v.is_object() {
                return Err(r.out_of_range("compression_kwargs", "an object"));
            }
        }
        r.finish()?;
        Ok(Zfpy::new(mode, tolerance, rate, precision))
    }

    /// The compression mode numcodecs passes to zfpy for this config.
    pub fn zfp_mode(&self) -> Result<ZfpMode> {
        match self.mode {
            MODE_FIXED_ACCURACY => ZfpMode::from_zfpy(self.tolerance, -1.0, -1),
            MODE_FIXED_RATE => ZfpMode::from_zfpy(-1.0, self.rate, -1),
            MODE_FIXED_PRECISION => ZfpMode::from_zfpy(-1.0, -1.0, self.precision),
            m => Err(Error::invalid_config(format!(
                "codec zfpy: mode {m} cannot encode; use 2 (fixed rate), 3 (fixed precision) or 4 (fixed accuracy)"
            ))),
        }
    }
}

impl Codec for Zfpy {
    fn id(&self) -> &'static str {
        "zfpy"
    }

    fn config(&self) -> Value {
        let mut m = Map::new();
        m.insert("id".into(), json!("zfpy"));
        m.insert("mode".into(), json!(self.mode));
        let kwargs = match self.mode {
            MODE_FIXED_ACCURACY => Some(("tolerance", num(self.tolerance))),
            MODE_FIXED_RATE => Some(("rate", num(self.rate))),
            MODE_FIXED_PRECISION => Some(("precision", json!(self.precision))),
            _ => None,
        };
        if let Some((k, v)) = kwargs {
            m.insert("compression_kwargs".into(), json!({ k: v }));
        }
        m.insert("tolerance".into(), num(self.tolerance));
        m.insert("rate".into(), num(self.rate));
        m.insert("precision".into(), json!(self.precision));
        Value::Object(m)
    }

    fn encode(&self, input: ArrayRef<'_>) -> Result<NDBuffer> {
        let mode = self.zfp_mode()?;
        let ztype = ZfpType::from_dtype(&input.dtype)?;
        let strides = zfp::element_strides(&input.shape, input.order);
        let stream = zfp::compress_strided(
            input.data,
            ztype,
            &input.shape,
            strides.as_deref(),
            mode,
            true,
        )?;
        Ok(NDBuffer::from_bytes(stream))
    }

    fn decode(&self, input: ArrayRef<'_>) -> Result<NDBuffer> {
        zfp::decompress(input.data)
    }

    fn decode_into(&self, input: &[u8], out: ArrayMut<'_>) -> Result<()> {
        zfp::decompress_into(input, out.data).map(|_| ())
    }
}
