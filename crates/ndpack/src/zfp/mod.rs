//! ZFP compression with zfpy's stream format, on the [`zfp_rs`] engine.
//!
//! This module owns what zfpy (ZFP's Python binding, version 1.0.1) adds around the ZFP codec:
//! its full header (magic, codec version 5, field type and sizes, mode), NumPy's C-order shape
//! reversed into ZFP's x-fastest order, zfpy's mapping of `tolerance` / `rate` / `precision`
//! (none of them: reversible) to codec parameters, and headerless streams (zfpy's `_decompress`).
//! Streams are byte-identical to zfpy's, and decoded arrays bit-identical.
//!
//! The block codec is [`zfp_rs`], run on ndpack's thread pool: compression is parallel in every
//! mode (chunks of blocks concatenated at bit granularity, so the bytes do not change), fixed-rate
//! decompression decodes chunks of blocks in parallel, and the other modes overlap a serial
//! bit-plane reader with parallel reconstruction.
//!
//! Two places where libzfp (and so zfpy) differs from `zfp_rs` are handled here:
//! - float blocks whose largest magnitude is below 2^-98 (f32) or 2^-962 (f64): libzfp's scale
//!   factor overflows and every value of the block becomes the minimum integer. `zfp_rs` scales
//!   exactly instead. Arrays holding such blocks are encoded block by block here, reproducing
//!   libzfp's bytes (see `encode_serial_exact`).
//! - fixed rates that give a float block fewer bits than its own header (zfpy corrupts its heap
//!   on those): rejected with an error instead.
//!
//! ```
//! use ndpack::zfp::{compress, decompress, ZfpMode, ZfpType};
//! let data: Vec<f32> = (0..64).map(|i| (i as f32).sin()).collect();
//! let bytes: Vec<u8> = data.iter().flat_map(|v| v.to_le_bytes()).collect();
//! let stream = compress(&bytes, ZfpType::Float, &[8, 8], ZfpMode::Reversible, true).unwrap();
//! let array = decompress(&stream).unwrap();
//! assert_eq!(array.shape(), [8, 8]);
//! assert_eq!(array.bytes(), &bytes[..]);
//! ```

use zfp_rs::{ZfpConfig, ZfpExecution};

use crate::dtype::{ByteOrder, DataType, TypeKind};
use crate::error::{Error, ErrorKind, Result};
use crate::region::Order;

mod decode;
mod encode;
mod header;
mod speculative;

#[cfg(fuzzing)]
pub use decode::speculative_agrees_with_serial;
pub use decode::{
    check_headerless, check_stream, decompress, decompress_headerless, decompress_into,
};
pub use encode::{compress, compress_strided};
pub use header::{read_header, ZfpHeader, ZfpParams};

/// ZFP's scalar types, numbered as zfpy's `type_int32` .. `type_double` (libzfp's `zfp_type`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ZfpType {
    /// 32-bit signed integers (`zfpy.type_int32 == 1`).
    Int32 = 1,
    /// 64-bit signed integers (`zfpy.type_int64 == 2`).
    Int64 = 2,
    /// 32-bit floats (`zfpy.type_float == 3`).
    Float = 3,
    /// 64-bit floats (`zfpy.type_double == 4`).
    Double = 4,
}

impl ZfpType {
    /// The ZFP type of a NumPy dtype: `int32`, `int64`, `float32` or `float64` in native
    /// (little-endian) byte order, as zfpy accepts; anything else is `UnsupportedDtype`.
    pub fn from_dtype(dtype: &DataType) -> Result<Self> {
        let native = matches!(
            dtype.byte_order(),
            ByteOrder::Little | ByteOrder::NotApplicable
        ) && cfg!(target_endian = "little");
        let t = match (dtype.kind(), dtype.itemsize()) {
            (TypeKind::Int, 4) => Some(ZfpType::Int32),
            (TypeKind::Int, 8) => Some(ZfpType::Int64),
            (TypeKind::Float, 4) => Some(ZfpType::Float),
            (TypeKind::Float, 8) => Some(ZfpType::Double),
            _ => None,
        };
        match t {
            Some(t) if native => Ok(t),
            _ => Err(Error::new(
                ErrorKind::UnsupportedDtype,
                format!("zfp supports int32, int64, float32 and float64 in native byte order, not {dtype}"),
            )),
        }
    }

    /// The type with zfpy's number (1..=4); anything else is an `InvalidArgument` error.
    pub fn from_code(code: i64) -> Result<Self> {
        match code {
            1 => Ok(ZfpType::Int32),
            2 => Ok(ZfpType::Int64),
            3 => Ok(ZfpType::Float),
            4 => Ok(ZfpType::Double),
            _ => Err(Error::invalid_argument(format!(
                "zfp type must be 1 (int32), 2 (int64), 3 (float) or 4 (double), got {code}"
            ))),
        }
    }

    /// zfpy's number for this type.
    pub fn code(self) -> i32 {
        self as i32
    }

    /// The NumPy dtype of this type (little-endian).
    pub fn dtype(self) -> DataType {
        match self {
            ZfpType::Int32 => DataType::int(true, 4),
            ZfpType::Int64 => DataType::int(true, 8),
            ZfpType::Float => DataType::float(4),
            ZfpType::Double => DataType::float(8),
        }
        .expect("int32/int64/float32/float64 are valid dtypes")
    }

    /// Bytes per value.
    pub fn itemsize(self) -> usize {
        match self {
            ZfpType::Int32 | ZfpType::Float => 4,
            ZfpType::Int64 | ZfpType::Double => 8,
        }
    }

    fn is_float(self) -> bool {
        matches!(self, ZfpType::Float | ZfpType::Double)
    }

    /// Bits of a float block's header (1 + exponent bits); 0 for integers.
    fn block_header_bits(self) -> u32 {
        match self {
            ZfpType::Float => 9,
            ZfpType::Double => 12,
            _ => 0,
        }
    }
}

/// A compression mode, as zfpy's `tolerance`, `rate` and `precision` arguments select it.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum ZfpMode {
    /// Lossless (zfpy's default, when no parameter is given).
    Reversible,
    /// Fixed accuracy: absolute error tolerance (`tolerance >= 0`; 0 means the finest).
    FixedAccuracy(f64),
    /// Fixed rate: compressed bits per value (`rate >= 0`).
    FixedRate(f64),
    /// Fixed precision: uncompressed bit planes kept (`precision >= 0`; 0 or >= 64 means 64).
    FixedPrecision(u32),
}

impl ZfpMode {
    /// The mode zfpy picks for `compress_numpy(tolerance=, rate=, precision=)`: a negative value
    /// means "not set"; more than one set is an error; none set means reversible.
    pub fn from_zfpy(tolerance: f64, rate: f64, precision: i64) -> Result<Self> {
        let set = [tolerance >= 0.0, rate >= 0.0, precision >= 0];
        if set.iter().filter(|s| **s).count() > 1 {
            return Err(Error::invalid_argument(
                "Only one of tolerance, rate, or precision can be set",
            ));
        }
        Ok(if tolerance >= 0.0 {
            ZfpMode::FixedAccuracy(tolerance)
        } else if rate >= 0.0 {
            ZfpMode::FixedRate(rate)
        } else if precision >= 0 {
            ZfpMode::FixedPrecision(u32::try_from(precision).unwrap_or(u32::MAX))
        } else {
            ZfpMode::Reversible
        })
    }

    /// The codec parameters, as libzfp's setters give them. `clamp_rate` applies the float
    /// types' minimum block size to fixed rates, as zfpy's `_decompress` does (its compressor
    /// does not: it passes no type).
    fn config(self, ztype: ZfpType, ndim: usize, clamp_rate: bool) -> Result<ZfpConfig> {
        Ok(match self {
            ZfpMode::Reversible => ZfpConfig::reversible(),
            ZfpMode::FixedAccuracy(t) => {
                if t.is_nan() || t.is_infinite() {
                    return Err(Error::invalid_argument(format!(
                        "zfp tolerance must be finite, got {t}"
                    )));
                }
                ZfpConfig::fixed_accuracy(t)
            }
            ZfpMode::FixedPrecision(p) => ZfpConfig::fixed_precision(p),
            ZfpMode::FixedRate(r) => {
                let values = (1u64 << (2 * ndim)) as f64;
                let bits = (values * r + 0.5).floor();
                if !(0.0..=f64::from(u32::MAX)).contains(&bits) {
                    return Err(Error::invalid_argument(format!(
                        "zfp rate {r} is out of range"
                    )));
                }
                let mut bits = bits as u32;
                if clamp_rate {
                    bits = bits.max(ztype.block_header_bits());
                }
                if bits == 0 || bits < ztype.block_header_bits() {
                    return Err(Error::invalid_argument(format!(
                        "zfp rate {r} gives {bits} bits per {ndim}-d block of {ztype:?}, fewer than \
                         the block header needs ({}); libzfp writes past its buffer at such rates",
                        ztype.block_header_bits().max(1)
                    )));
                }
                ZfpConfig::expert(bits, bits, 64, zfp_rs::ZFP_MIN_EXP)
                    .map_err(|e| Error::invalid_argument(format!("zfp rate {r}: {e}")))?
            }
        })
    }
}

/// The number of values of `shape`, checked as zfp takes it: 1 to 4 axes, none empty.
fn check_shape(shape: &[usize]) -> Result<usize> {
    if shape.is_empty() || shape.len() > 4 {
        return Err(Error::new(
            ErrorKind::Unsupported,
            format!("zfp supports 1 to 4 dimensions, got shape {shape:?}"),
        ));
    }
    if shape.contains(&0) {
        return Err(Error::invalid_argument(format!(
            "zfp cannot compress an empty array (shape {shape:?})"
        )));
    }
    crate::region::checked_num_items(shape)
}

/// ZFP's dimensions (x fastest, unused axes 0) of a NumPy shape.
fn dims4(shape: &[usize]) -> [usize; 4] {
    let mut d = [0usize; 4];
    for (i, &s) in shape.iter().rev().enumerate() {
        d[i] = s;
    }
    d
}

/// zfp-rs's parallel execution on ndpack's pool.
fn parallel() -> ZfpExecution {
    // threads: 0 runs on the current pool, which `threads::install` makes ndpack's.
    ZfpExecution::Rayon {
        threads: 0,
        chunk_size: 0,
    }
}

/// Maps a zfp-rs error during `what` to a `Backend` error.
fn backend<E: std::fmt::Display>(what: &str) -> impl FnOnce(E) -> Error + '_ {
    move |e| Error::new(ErrorKind::Backend, format!("zfp {what}: {e}"))
}

/// Whether `order` is one zfp can read without a copy (used by the codec).
pub(crate) fn element_strides(shape: &[usize], order: Order) -> Option<Vec<isize>> {
    match order {
        Order::C => None,
        Order::F => {
            let mut s = Vec::with_capacity(shape.len());
            let mut acc = 1isize;
            for &d in shape {
                s.push(acc);
                acc *= d as isize;
            }
            Some(s)
        }
    }
}
