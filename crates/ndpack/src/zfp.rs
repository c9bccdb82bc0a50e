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

use zfp_rs::{
    ZfpBitStream, ZfpBitStreamRef, ZfpConfig, ZfpDecompressionError, ZfpDimensionality,
    ZfpExecution, ZfpField, ZfpFieldMut, ZfpScalar,
};

use crate::buffer::{AlignedBytes, Buffer};
use crate::codec::{NDBuffer, MAX_DECODED_SIZE};
use crate::dtype::{ByteOrder, DataType, TypeKind};
use crate::error::{Error, ErrorKind, Result};
use crate::region::Order;
use crate::threads;

mod speculative;

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
            _ => Err(Error::invalid(format!(
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
            return Err(Error::invalid(
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
                    return Err(Error::invalid(format!(
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
                    return Err(Error::invalid(format!("zfp rate {r} is out of range")));
                }
                let mut bits = bits as u32;
                if clamp_rate {
                    bits = bits.max(ztype.block_header_bits());
                }
                if bits == 0 || bits < ztype.block_header_bits() {
                    return Err(Error::invalid(format!(
                        "zfp rate {r} gives {bits} bits per {ndim}-d block of {ztype:?}, fewer than \
                         the block header needs ({}); libzfp writes past its buffer at such rates",
                        ztype.block_header_bits().max(1)
                    )));
                }
                ZfpConfig::expert(bits, bits, 64, zfp_rs::ZFP_MIN_EXP)
                    .map_err(|e| Error::invalid(format!("zfp rate {r}: {e}")))?
            }
        })
    }
}

/// Codec parameters as a stream's mode records them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ZfpParams {
    /// Minimum bits per block.
    pub min_bits: u32,
    /// Maximum bits per block.
    pub max_bits: u32,
    /// Maximum bit planes per block.
    pub max_prec: u32,
    /// Smallest exponent coded (below -1074: reversible).
    pub min_exp: i32,
}

impl ZfpParams {
    fn from_config(c: &ZfpConfig) -> Self {
        ZfpParams {
            min_bits: c.min_bits(),
            max_bits: c.max_bits(),
            max_prec: c.max_prec(),
            min_exp: c.min_exp(),
        }
    }

    fn config(&self) -> Result<ZfpConfig> {
        ZfpConfig::expert(self.min_bits, self.max_bits, self.max_prec, self.min_exp)
            .map_err(|e| Error::corrupt(format!("zfp stream mode: {e}")))
    }
}

/// A zfpy stream's full header.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ZfpHeader {
    /// The scalar type.
    pub ztype: ZfpType,
    /// The NumPy shape (C order: the last axis is ZFP's x).
    pub shape: Vec<usize>,
    /// The codec parameters of the mode.
    pub params: ZfpParams,
    /// Header length in bits (96 with a short mode, 148 with a long one).
    pub bits: usize,
}

const MAGIC: [u8; 4] = [b'z', b'f', b'p', 5];
const MODE_SHORT_MAX: u64 = 4094;

/// An LSB-first reader over a byte slice that reads zeros past its end (header only).
struct BitReader<'a> {
    data: &'a [u8],
    pos: usize,
}

impl BitReader<'_> {
    fn read(&mut self, n: u32) -> u64 {
        let mut v = 0u64;
        for i in 0..n as usize {
            let p = self.pos + i;
            let bit = self.data.get(p / 8).map_or(0, |b| (b >> (p % 8)) & 1);
            v |= u64::from(bit) << i;
        }
        self.pos += n as usize;
        v
    }
}

/// Parses the full zfpy header at the start of `stream`.
pub fn read_header(stream: &[u8]) -> Result<ZfpHeader> {
    let magic_len = stream.len().min(4);
    if stream[..magic_len] != MAGIC[..magic_len] {
        return Err(Error::corrupt(
            "not a zfp stream (bad magic or codec version)",
        ));
    }
    if stream.len() < 12 {
        return Err(Error::truncated(format!(
            "zfp header needs at least 12 bytes, got {}",
            stream.len()
        )));
    }
    let mut r = BitReader {
        data: stream,
        pos: 32,
    };
    let meta = r.read(52);
    let ztype = ZfpType::from_code(((meta & 3) + 1) as i64)?;
    let ndim = ((meta >> 2) & 3) as usize + 1;
    let m = meta >> 4;
    let mut dims_x_first: Vec<usize> = match ndim {
        1 => vec![(m & 0xffff_ffff) as usize + 1],
        2 => (0..2)
            .map(|i| ((m >> (24 * i)) & 0xff_ffff) as usize + 1)
            .collect(),
        3 => (0..3)
            .map(|i| ((m >> (16 * i)) & 0xffff) as usize + 1)
            .collect(),
        _ => (0..4)
            .map(|i| ((m >> (12 * i)) & 0xfff) as usize + 1)
            .collect(),
    };
    let mut mode = r.read(12);
    if mode > MODE_SHORT_MAX {
        if stream.len() * 8 < 148 {
            return Err(Error::truncated(
                "zfp header with a long mode needs 19 bytes",
            ));
        }
        mode |= r.read(52) << 12;
    }
    let config = ZfpConfig::from_mode_bits(mode)
        .ok_or_else(|| Error::corrupt(format!("zfp stream has an invalid mode {mode:#x}")))?;
    dims_x_first.reverse();
    Ok(ZfpHeader {
        ztype,
        shape: dims_x_first,
        params: ZfpParams::from_config(&config),
        bits: r.pos,
    })
}

/// The 52-bit field metadata; an error if a size does not fit the header (as zfpy's
/// "Failed to write header to stream").
fn metadata(ztype: ZfpType, dims: &[usize]) -> Result<u64> {
    let n = dims.len();
    let width = [48u32, 24, 16, 12][n - 1];
    let mut meta = 0u64;
    for (i, &d) in dims.iter().enumerate() {
        let v = (d as u64).wrapping_sub(1);
        if d == 0 || v >> width != 0 {
            return Err(Error::invalid(format!(
                "shape {:?} does not fit a zfp header: each of {n} axes must have 1 to 2^{width} values",
                dims.iter().rev().collect::<Vec<_>>()
            )));
        }
        meta |= v << (width * i as u32);
    }
    Ok((ztype as u64 - 1) | ((n as u64 - 1) << 2) | (meta << 4))
}

fn check_shape(shape: &[usize]) -> Result<usize> {
    if shape.is_empty() || shape.len() > 4 {
        return Err(Error::new(
            ErrorKind::Unsupported,
            format!("zfp supports 1 to 4 dimensions, got shape {shape:?}"),
        ));
    }
    if shape.contains(&0) {
        return Err(Error::invalid(format!(
            "zfp cannot compress an empty array (shape {shape:?})"
        )));
    }
    crate::region::checked_num_items(shape)
}

fn dims4(shape: &[usize]) -> [usize; 4] {
    let mut d = [0usize; 4];
    for (i, &s) in shape.iter().rev().enumerate() {
        d[i] = s;
    }
    d
}

fn parallel() -> ZfpExecution {
    // threads: 0 runs on the current pool, which `threads::install` makes ndpack's.
    ZfpExecution::Rayon {
        threads: 0,
        chunk_size: 0,
    }
}

fn backend<E: std::fmt::Display>(what: &str) -> impl FnOnce(E) -> Error + '_ {
    move |e| Error::new(ErrorKind::Backend, format!("zfp {what}: {e}"))
}

/// Bytes that own 64-bit words (the compressed stream without a copy).
struct WordBytes {
    words: Vec<u64>,
}

impl AsRef<[u8]> for WordBytes {
    fn as_ref(&self) -> &[u8] {
        bytemuck::cast_slice(&self.words)
    }
}

/// Compresses a C-contiguous array (`data` holds `shape` values of `ztype`, native byte order)
/// exactly as zfpy's `compress_numpy(arr, ..., write_header=write_header)`.
pub fn compress(
    data: &[u8],
    ztype: ZfpType,
    shape: &[usize],
    mode: ZfpMode,
    write_header: bool,
) -> Result<Buffer> {
    compress_strided(data, ztype, shape, None, mode, write_header)
}

/// As [`compress`], for any memory layout: `strides` are NumPy's strides in elements (not
/// bytes), and `data` starts at the lowest address the array touches. Fortran order and other
/// layouts give the same stream as the C-contiguous copy, as with zfpy.
pub fn compress_strided(
    data: &[u8],
    ztype: ZfpType,
    shape: &[usize],
    strides: Option<&[isize]>,
    mode: ZfpMode,
    write_header: bool,
) -> Result<Buffer> {
    let n = check_shape(shape)?;
    if let Some(s) = strides {
        if s.len() != shape.len() {
            return Err(Error::invalid("zfp: strides and shape differ in length"));
        }
    } else if data.len() != n * ztype.itemsize() {
        return Err(Error::invalid(format!(
            "{} bytes do not hold shape {shape:?} of {:?}",
            data.len(),
            ztype
        )));
    }
    match ztype {
        ZfpType::Int32 => compress_typed::<i32>(data, ztype, shape, strides, mode, write_header),
        ZfpType::Int64 => compress_typed::<i64>(data, ztype, shape, strides, mode, write_header),
        ZfpType::Float => compress_typed::<f32>(data, ztype, shape, strides, mode, write_header),
        ZfpType::Double => compress_typed::<f64>(data, ztype, shape, strides, mode, write_header),
    }
}

fn typed_slice<T: ZfpScalar>(data: &[u8]) -> std::borrow::Cow<'_, [T]> {
    match bytemuck::try_cast_slice::<u8, T>(data) {
        Ok(s) => std::borrow::Cow::Borrowed(s),
        Err(_) => {
            let mut v = vec![T::default(); data.len() / std::mem::size_of::<T>()];
            let len = std::mem::size_of_val(&v[..]);
            bytemuck::cast_slice_mut::<T, u8>(&mut v).copy_from_slice(&data[..len]);
            std::borrow::Cow::Owned(v)
        }
    }
}

fn compress_typed<T: ZfpScalar + TinyCheck>(
    data: &[u8],
    ztype: ZfpType,
    shape: &[usize],
    strides: Option<&[isize]>,
    mode: ZfpMode,
    write_header: bool,
) -> Result<Buffer> {
    let ndim = shape.len();
    let config = mode.config(ztype, ndim, false)?;
    let dims = dims4(shape);
    let values = typed_slice::<T>(data);
    let field = match strides {
        None => ZfpField::new(&values[..], dims),
        Some(s) => {
            let mut st = [0isize; 4];
            for (i, &v) in s.iter().rev().enumerate() {
                // zfp-rs reads a stride of 0 as "contiguous"; a size-1 axis never moves.
                st[i] = if v == 0 { 1 } else { v };
            }
            ZfpField::new_strided(&values[..], dims, st)
        }
    }
    .map_err(|e| Error::invalid(format!("zfp field: {e}")))?;

    let capacity = config
        .maximum_size(ztype_scalar(ztype), dims)
        .ok_or_else(|| Error::too_large(format!("zfp: shape {shape:?} is too large")))?;
    let mut bs = ZfpBitStream::new(capacity + 32)
        .map_err(|e| Error::too_large(format!("zfp: cannot allocate {capacity} bytes: {e}")))?;
    if write_header {
        let meta = metadata(ztype, &dims[..ndim])?;
        let mode_bits = config
            .checked_mode_bits()
            .map_err(|e| Error::invalid(format!("zfp mode cannot be written in a header: {e}")))?;
        for b in MAGIC {
            bs.write_bits(u64::from(b), 8);
        }
        bs.write_bits(meta, 52);
        bs.write_bits(mode_bits, if mode_bits > MODE_SHORT_MAX { 64 } else { 12 });
    }
    let exact =
        ztype.is_float() && config.min_exp() >= zfp_rs::ZFP_MIN_EXP && T::has_tiny_block(&field);
    if exact {
        encode_serial_exact::<T>(&mut bs, &config, &field)?;
    } else {
        threads::install(|| bs.compress_with_execution(&config, &field, parallel()))
            .map_err(backend("compression"))?;
    }
    let size = bs.as_bytes().len();
    let mut words = bs.into_words();
    words.truncate(size / 8);
    Ok(Buffer::from_owner(WordBytes { words }))
}

fn ztype_scalar(t: ZfpType) -> zfp_rs::ZfpScalarType {
    match t {
        ZfpType::Int32 => zfp_rs::ZfpScalarType::I32,
        ZfpType::Int64 => zfp_rs::ZfpScalarType::I64,
        ZfpType::Float => zfp_rs::ZfpScalarType::F32,
        ZfpType::Double => zfp_rs::ZfpScalarType::F64,
    }
}

/// Finds libzfp's tiny-magnitude float blocks (see the module docs).
trait TinyCheck: Sized + Copy {
    /// Whether any block's largest magnitude (NaN ignored) is nonzero and below the threshold.
    fn has_tiny_block(field: &ZfpField<'_>) -> bool;
    /// Whether any value is nonzero and of magnitude below the threshold (NaN ignored).
    fn has_tiny_value(values: &[Self]) -> bool;
    /// The block's `emax` (frexp exponent of its largest magnitude) if it is tiny, else `None`.
    fn tiny_exponent(block: &[Self]) -> Option<i32>;
    /// Writes a tiny block with exponent `emax` as libzfp does: its header, then an integer
    /// block in which every value is the minimum integer.
    fn encode_tiny(
        bs: &mut ZfpBitStream,
        e: i32,
        config: &ZfpConfig,
        dims: ZfpDimensionality,
    ) -> Result<()>;
}

macro_rules! tiny_int {
    ($t:ty) => {
        impl TinyCheck for $t {
            fn has_tiny_block(_: &ZfpField<'_>) -> bool {
                false
            }
            fn has_tiny_value(_: &[Self]) -> bool {
                false
            }
            fn tiny_exponent(_: &[Self]) -> Option<i32> {
                None
            }
            fn encode_tiny(
                _: &mut ZfpBitStream,
                _: i32,
                _: &ZfpConfig,
                _: ZfpDimensionality,
            ) -> Result<()> {
                Ok(())
            }
        }
    };
}
tiny_int!(i32);
tiny_int!(i64);

macro_rules! tiny_float {
    ($t:ty, $int:ty, $uint:ty, $threshold:expr, $ebits:expr, $ebias:expr, $mant:expr) => {
        impl TinyCheck for $t {
            fn has_tiny_block(field: &ZfpField<'_>) -> bool {
                // A block is tiny only if it holds a nonzero value below the threshold; look for
                // one first (cheap, vectorised), and only then check the blocks.
                let values: &[$t] = bytemuck::cast_slice(field.data());
                let any = threads::install(|| {
                    use rayon::prelude::*;
                    values.par_chunks(1 << 16).any(Self::has_tiny_value)
                });
                any && for_each_block::<$t>(field, |b| Self::tiny_exponent(b).is_some())
            }

            fn has_tiny_value(values: &[Self]) -> bool {
                // On the bits: `0 < |v| < threshold` is `1 <= (bits & !sign) < threshold's
                // bits` (NaN and infinity lie above the threshold). Each run of 256 values is
                // tested without a branch so that it vectorises; a short-circuiting `any` per
                // value did not, and took about a seventh of compression's time.
                let limit: $uint = ($threshold as $t).to_bits() - 1;
                values.chunks(256).any(|run| {
                    run.iter().fold(false, |acc, v| {
                        acc | ((v.to_bits() & (<$uint>::MAX >> 1)).wrapping_sub(1) < limit)
                    })
                })
            }

            fn tiny_exponent(block: &[Self]) -> Option<i32> {
                let mut max: $t = 0.0;
                for v in block {
                    let f = v.abs();
                    if max < f {
                        max = f;
                    }
                }
                if max > 0.0 && max < $threshold {
                    let biased = ((max.to_bits() >> $mant) & ((1 << $ebits) - 1)) as i32;
                    // frexp exponent, clamped below at 1 - EBIAS (subnormals), plus EBIAS.
                    let emax = if biased == 0 {
                        1 - $ebias
                    } else {
                        biased - ($ebias - 1)
                    };
                    Some(emax)
                } else {
                    None
                }
            }

            fn encode_tiny(
                bs: &mut ZfpBitStream,
                emax: i32,
                config: &ZfpConfig,
                dims: ZfpDimensionality,
            ) -> Result<()> {
                let d = usize::from(dims) as i32;
                let max_prec = config.max_prec() as i32;
                let bp = max_prec.min((emax - config.min_exp() + 2 * (d + 1)).max(0));
                let header = 1 + $ebits;
                if bp == 0 {
                    // libzfp codes it as an all-zero block, as zfp-rs does.
                    let zeros = [0 as $t; 256];
                    zfp_rs::codec::block::encode_block(
                        bs,
                        config,
                        &zeros[..dims.block_size()],
                        dims,
                    )
                    .map_err(backend("block"))?;
                    return Ok(());
                }
                let e = (emax + $ebias) as u64;
                bs.write_bits(2 * e + 1, header);
                // libzfp's scale 2^(P-2-emax) overflows to +inf, so every value converts to the
                // minimum integer (x86 cvtt); code that integer block with the remaining budget.
                let min_bits = config.min_bits() - config.min_bits().min(header);
                let max_bits = config.max_bits().wrapping_sub(header);
                let int_config =
                    ZfpConfig::expert(min_bits, max_bits, bp as u32, zfp_rs::ZFP_MIN_EXP)
                        .map_err(backend("block"))?;
                let ints = [<$int>::MIN; 256];
                zfp_rs::codec::block::encode_block(
                    bs,
                    &int_config,
                    &ints[..dims.block_size()],
                    dims,
                )
                .map_err(backend("block"))?;
                Ok(())
            }
        }
    };
}
tiny_float!(
    f32,
    i32,
    u32,
    3.155_443_6e-30_f32, /* 2^-98 */
    8,
    127,
    23
);
tiny_float!(
    f64,
    i64,
    u64,
    f64::from_bits(((1023 - 962) as u64) << 52), /* 2^-962 */
    11,
    1023,
    52
);

/// The index maps libzfp uses to pad a partial block (copies of real values, never zeros).
fn pad_map(valid: usize) -> [usize; 4] {
    match valid {
        1 => [0, 0, 0, 0],
        2 => [0, 1, 1, 0],
        3 => [0, 1, 2, 0],
        _ => [0, 1, 2, 3],
    }
}

/// Gathers each block of `field` (padded as libzfp pads it), in libzfp's block order, and calls
/// `f` until it returns true; returns whether it did.
fn for_each_block<T: ZfpScalar>(field: &ZfpField<'_>, mut f: impl FnMut(&[T]) -> bool) -> bool {
    let mut found = false;
    visit_blocks::<T>(field, |b| {
        found = f(b);
        found
    });
    found
}

fn visit_blocks<T: ZfpScalar>(field: &ZfpField<'_>, mut f: impl FnMut(&[T]) -> bool) {
    let values: &[T] = bytemuck::cast_slice(field.data());
    let dims = field.dims();
    let ndim = dims.iter().take_while(|d| **d != 0).count();
    let strides = field.effective_strides();
    // The element [0,0,0,0] lies at -(sum of negative stride extents) from the lowest address.
    let mut origin = 0isize;
    for a in 0..ndim {
        if strides[a] < 0 {
            origin -= strides[a] * (dims[a] as isize - 1);
        }
    }
    let n = [0, 1, 2, 3].map(|a| if a < ndim { dims[a] } else { 1 });
    let nb = n.map(|d| d.div_ceil(4));
    let bsize = 1usize << (2 * ndim);
    let mut block = vec![T::default(); bsize];
    for bw in 0..nb[3] {
        for bz in 0..nb[2] {
            for by in 0..nb[1] {
                for bx in 0..nb[0] {
                    let b = [bx, by, bz, bw];
                    let maps: [[usize; 4]; 4] =
                        [0, 1, 2, 3].map(|a| pad_map((n[a] - 4 * b[a]).min(4)));
                    let ext = [0, 1, 2, 3].map(|a| if a < ndim { 4 } else { 1 });
                    let mut k = 0;
                    for w in 0..ext[3] {
                        for z in 0..ext[2] {
                            for y in 0..ext[1] {
                                for x in 0..ext[0] {
                                    let p = [x, y, z, w];
                                    let mut off = origin;
                                    for a in 0..ndim {
                                        off += (4 * b[a] + maps[a][p[a]]) as isize * strides[a];
                                    }
                                    block[k] = values[off as usize];
                                    k += 1;
                                }
                            }
                        }
                    }
                    if f(&block) {
                        return;
                    }
                }
            }
        }
    }
}

/// Serial block-by-block encoding that reproduces libzfp on tiny-magnitude float blocks.
fn encode_serial_exact<T: ZfpScalar + TinyCheck>(
    bs: &mut ZfpBitStream,
    config: &ZfpConfig,
    field: &ZfpField<'_>,
) -> Result<()> {
    let dims = field.dimensionality();
    let mut result = Ok(());
    visit_blocks::<T>(field, |block| {
        let r = match T::tiny_exponent(block) {
            Some(emax) => T::encode_tiny(bs, emax, config, dims),
            None => zfp_rs::codec::block::encode_block(bs, config, block, dims)
                .map(|_| ())
                .map_err(backend("block")),
        };
        if r.is_err() {
            result = r;
            return true;
        }
        false
    });
    result?;
    bs.flush();
    if bs.overflowed() {
        return Err(Error::new(
            ErrorKind::Backend,
            "zfp: stream buffer too small",
        ));
    }
    Ok(())
}

/// Decompresses a zfpy stream with a full header into a new C-order array of its dtype and
/// shape (zfpy's `decompress_numpy`).
pub fn decompress(stream: &[u8]) -> Result<NDBuffer> {
    let header = read_header(stream)?;
    let nbytes = check_decoded_size(stream, &header)?;
    let mut out = AlignedBytes::try_zeroed(nbytes)?;
    decode_body(stream, &header, out.as_mut_slice())?;
    NDBuffer::new(
        Buffer::from_owner(out),
        header.ztype.dtype(),
        header.shape,
        Order::C,
    )
}

/// Decompresses a zfpy stream with a full header into `out`, which must have exactly the
/// decoded size; returns the header.
pub fn decompress_into(stream: &[u8], out: &mut [u8]) -> Result<ZfpHeader> {
    let header = read_header(stream)?;
    let nbytes = check_decoded_size(stream, &header)?;
    if out.len() != nbytes {
        return Err(Error::invalid(format!(
            "output buffer has {} bytes, the zfp stream decodes to {nbytes} (shape {:?}, {:?})",
            out.len(),
            header.shape,
            header.ztype
        )));
    }
    decode_body(stream, &header, out)?;
    Ok(header)
}

/// Decompresses a headerless stream (`compress_numpy(..., write_header=False)`) given its type,
/// NumPy shape and mode, as zfpy's `_decompress`. With `out`, decodes into it (it must have
/// exactly the decoded size) and returns `None`; without, returns a new array.
pub fn decompress_headerless(
    stream: &[u8],
    ztype: ZfpType,
    shape: &[usize],
    mode: ZfpMode,
    out: Option<&mut [u8]>,
) -> Result<Option<NDBuffer>> {
    let (header, nbytes) = headerless(stream, ztype, shape, mode)?;
    match out {
        Some(out) => {
            if out.len() != nbytes {
                return Err(Error::invalid(format!(
                    "output buffer has {} bytes, shape {shape:?} of {ztype:?} needs {nbytes}",
                    out.len()
                )));
            }
            decode_body(stream, &header, out)?;
            Ok(None)
        }
        None => {
            let mut buf = AlignedBytes::try_zeroed(nbytes)?;
            decode_body(stream, &header, buf.as_mut_slice())?;
            Ok(Some(NDBuffer::new(
                Buffer::from_owner(buf),
                ztype.dtype(),
                shape.to_vec(),
                Order::C,
            )?))
        }
    }
}

/// Parses the full zfpy header of `stream` and checks it against the stream as [`decompress`]
/// does before it allocates its output: the decoded size must be within
/// [`MAX_DECODED_SIZE`] bytes (else `TooLarge`) and the stream long enough for every block
/// the header declares, at the fewest bits a block can take (else `Truncated`). Decoding may
/// still find the stream truncated or corrupt.
pub fn check_stream(stream: &[u8]) -> Result<ZfpHeader> {
    let header = read_header(stream)?;
    check_decoded_size(stream, &header)?;
    Ok(header)
}

/// As [`check_stream`] for a headerless stream of `ztype`, NumPy `shape` and `mode` (the
/// arguments of [`decompress_headerless`], checked as it checks them); returns the decoded size
/// in bytes.
pub fn check_headerless(
    stream: &[u8],
    ztype: ZfpType,
    shape: &[usize],
    mode: ZfpMode,
) -> Result<usize> {
    headerless(stream, ztype, shape, mode).map(|(_, nbytes)| nbytes)
}

/// The header a headerless stream's arguments stand for, and the decoded size, checked.
fn headerless(
    stream: &[u8],
    ztype: ZfpType,
    shape: &[usize],
    mode: ZfpMode,
) -> Result<(ZfpHeader, usize)> {
    check_shape(shape)?;
    let config = mode.config(ztype, shape.len(), true)?;
    let header = ZfpHeader {
        ztype,
        shape: shape.to_vec(),
        params: ZfpParams::from_config(&config),
        bits: 0,
    };
    let nbytes = check_decoded_size(stream, &header)?;
    Ok((header, nbytes))
}

/// The decoded size in bytes, after checking that the size is within limits and that the
/// stream can hold that many blocks.
///
/// Every block takes at least `min_bits` bits (the decoder skips to `min_bits` after a shorter
/// block), and at least one: a lossy float block starts with its "nonzero" bit, a reversible
/// one with its "nonzero" bit or its precision, and an integer block reads at least one bit of
/// its first bit plane (`max_bits >= min_bits >= 1` in every mode a stream can record). In fixed-rate
/// mode (`min_bits == max_bits`) every lossy block takes exactly that many bits, so there the
/// check is exact.
fn check_decoded_size(stream: &[u8], header: &ZfpHeader) -> Result<usize> {
    let n = crate::region::checked_num_items(&header.shape)?;
    let nbytes = n
        .checked_mul(header.ztype.itemsize())
        .filter(|b| *b <= MAX_DECODED_SIZE)
        .ok_or_else(|| {
            Error::too_large(format!(
                "zfp stream declares shape {:?}, over the {MAX_DECODED_SIZE}-byte limit",
                header.shape
            ))
        })?;
    let blocks: u128 = header
        .shape
        .iter()
        .map(|&s| s.div_ceil(4) as u128)
        .product();
    let min_block = u128::from(header.params.min_bits.max(1));
    let available = (stream.len() as u128 * 8).saturating_sub(header.bits as u128);
    if blocks * min_block > available {
        return Err(Error::truncated(format!(
            "zfp stream of {} bytes cannot hold {blocks} blocks of shape {:?} ({} bits or more each)",
            stream.len(),
            header.shape,
            min_block
        )));
    }
    let p = header.params;
    let reversible = p.min_exp < zfp_rs::ZFP_MIN_EXP;
    if p.max_bits < header.ztype.block_header_bits() && !reversible {
        return Err(Error::new(
            ErrorKind::Unsupported,
            format!(
                "zfp stream has {} bits per block, fewer than a {:?} block header; libzfp's \
                 decoding of such streams is undefined",
                p.max_bits, header.ztype
            ),
        ));
    }
    Ok(nbytes)
}

fn decode_body(stream: &[u8], header: &ZfpHeader, out: &mut [u8]) -> Result<()> {
    match header.ztype {
        ZfpType::Int32 => decode_typed::<i32>(stream, header, out),
        ZfpType::Int64 => decode_typed::<i64>(stream, header, out),
        ZfpType::Float => decode_typed::<f32>(stream, header, out),
        ZfpType::Double => decode_typed::<f64>(stream, header, out),
    }
}

fn decode_typed<T: ZfpScalar + Send + Sync>(
    stream: &[u8],
    header: &ZfpHeader,
    out: &mut [u8],
) -> Result<()> {
    if bytemuck::try_cast_slice_mut::<u8, T>(out).is_err() {
        // The caller's buffer is not aligned for T: decode into an aligned one and copy.
        let n = out.len() / std::mem::size_of::<T>();
        let mut tmp: Vec<T> = Vec::new();
        tmp.try_reserve_exact(n)
            .map_err(|_| alloc_failed("an aligned copy of the output", out.len()))?;
        tmp.resize(n, T::default());
        decode_typed::<T>(stream, header, bytemuck::cast_slice_mut(&mut tmp))?;
        out.copy_from_slice(bytemuck::cast_slice(&tmp));
        return Ok(());
    }
    let typed: &mut [T] = bytemuck::cast_slice_mut(out);
    let config = header.params.config()?;
    // The stream as 64-bit words: borrowed when aligned and whole, else copied (zero-padding the
    // last word, as zfp-rs does).
    let words: std::borrow::Cow<'_, [u64]> = match bytemuck::try_cast_slice::<u8, u64>(stream) {
        Ok(w) => std::borrow::Cow::Borrowed(w),
        Err(_) => {
            let mut w = Vec::new();
            w.try_reserve_exact(stream.len().div_ceil(8))
                .map_err(|_| alloc_failed("a copy of the stream", stream.len()))?;
            w.extend(stream.chunks(8).map(|c| {
                let mut b = [0u8; 8];
                b[..c.len()].copy_from_slice(c);
                u64::from_le_bytes(b)
            }));
            std::borrow::Cow::Owned(w)
        }
    };
    let truncated = || Error::truncated("zfp stream ends before its last block");
    // The decoders read zeros past the end of `words`. Where `words` holds exactly the stream,
    // zfp-rs reports every read past its end; else (a stream whose length is not a whole number
    // of 64-bit words, which zfp never writes) the last block's end is compared with the
    // stream's length instead.
    let stream_bits = stream.len() as u64 * 8;
    let grid = speculative::Grid::new(&header.shape);
    let threads = threads::get_num_threads();
    let bits = (words.len() as u64 * 64).saturating_sub(header.bits as u64);
    if config.mode() != zfp_rs::ZfpMode::FixedRate
        && config.min_bits() <= 1
        && threads >= 2
        && grid.blocks() >= SPECULATIVE_MIN_BLOCKS
        && bits >= SPECULATIVE_MIN_BITS
    {
        let parts = speculative_parts(threads, bits);
        let end = threads::install(|| {
            speculative::decode::<T>(&words, header.bits as u64, &config, &grid, typed, parts)
        });
        // The offset after the last block is the serial decoder's: the stream is truncated
        // exactly when that lies past its end.
        return if end > stream_bits {
            Err(truncated())
        } else {
            Ok(())
        };
    }
    if !stream.len().is_multiple_of(8) {
        let end =
            speculative::decode_serial::<T>(&words, header.bits as u64, &config, &grid, typed);
        return if end > stream_bits {
            Err(truncated())
        } else {
            Ok(())
        };
    }
    let mut field = ZfpFieldMut::new(typed, dims4(&header.shape))
        .map_err(|e| Error::invalid(format!("zfp output field: {e}")))?;
    let mut bs = ZfpBitStreamRef::from_words(&words);
    bs.seek_read(header.bits as u64);
    let result = threads::install(|| bs.decompress_with_execution(&config, &mut field, parallel()));
    result.map(|_| ()).map_err(|e| match e {
        ZfpDecompressionError::Truncated { .. } => truncated(),
        e => Error::new(ErrorKind::Backend, format!("zfp decompression: {e}")),
    })
}

/// The error for memory of `bytes` bytes, for `what`, that cannot be allocated.
fn alloc_failed(what: &str, bytes: usize) -> Error {
    Error::alloc_failed(&format!("zfp: {what}"), bytes)
}

/// Testing and fuzzing hook (not part of the API): decodes the headerless `stream` of `ztype`,
/// NumPy `shape` and `mode` with the speculative parallel decoder cut into `parts` parts, and
/// with zfp-rs's serial decoder; returns whether the values and the truncation verdicts agree.
/// `None` where the speculative decoder does not apply (fixed rate, a bad shape or mode).
#[doc(hidden)]
pub fn speculative_agrees_with_serial(
    stream: &[u8],
    ztype: ZfpType,
    shape: &[usize],
    mode: ZfpMode,
    parts: usize,
) -> Option<bool> {
    fn run<T: ZfpScalar + Send + Sync>(
        words: &[u64],
        config: &ZfpConfig,
        shape: &[usize],
        parts: usize,
    ) -> bool {
        let n: usize = shape.iter().product();
        let mut serial = vec![T::default(); n];
        let mut field = match ZfpFieldMut::new(&mut serial[..], dims4(shape)) {
            Ok(f) => f,
            Err(_) => return true,
        };
        let mut bs = ZfpBitStreamRef::from_words(words);
        let serial_truncated = match bs.decompress(config, &mut field) {
            Ok(_) => false,
            Err(ZfpDecompressionError::Truncated { .. }) => true,
            Err(_) => return true,
        };
        let mut spec = vec![T::default(); n];
        let grid = speculative::Grid::new(shape);
        let end = speculative::decode::<T>(words, 0, config, &grid, &mut spec, parts);
        let spec_truncated = end > words.len() as u64 * 64;
        spec_truncated == serial_truncated
            && bytemuck::cast_slice::<T, u8>(&spec) == bytemuck::cast_slice::<T, u8>(&serial)
    }
    check_shape(shape).ok()?;
    let config = mode.config(ztype, shape.len(), true).ok()?;
    if config.mode() == zfp_rs::ZfpMode::FixedRate || config.min_bits() > 1 {
        return None;
    }
    let words: Vec<u64> = stream
        .chunks(8)
        .map(|c| {
            let mut b = [0u8; 8];
            b[..c.len()].copy_from_slice(c);
            u64::from_le_bytes(b)
        })
        .collect();
    Some(match ztype {
        ZfpType::Int32 => run::<i32>(&words, &config, shape, parts),
        ZfpType::Int64 => run::<i64>(&words, &config, shape, parts),
        ZfpType::Float => run::<f32>(&words, &config, shape, parts),
        ZfpType::Double => run::<f64>(&words, &config, shape, parts),
    })
}

/// Variable-length streams with fewer blocks or bits than these decode with zfp-rs's pipeline.
const SPECULATIVE_MIN_BLOCKS: usize = 4096;
const SPECULATIVE_MIN_BITS: u64 = 1 << 20;

/// Parts to cut a variable-length stream of `bits` into for `threads` threads: one per thread
/// (every part but the first costs a copy), with at least half a `SPECULATIVE_MIN_BITS` each.
fn speculative_parts(threads: usize, bits: u64) -> usize {
    let most = usize::try_from(bits / (SPECULATIVE_MIN_BITS / 2)).unwrap_or(usize::MAX);
    threads.clamp(2, most.max(2))
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

#[cfg(test)]
mod tests {
    use super::*;

    /// The block-by-block path (used for tiny blocks) must gather, pad and code every ordinary
    /// block exactly as zfp-rs's whole-field path does, in every layout.
    #[test]
    fn exact_path_matches_zfp_rs_on_ordinary_blocks() {
        let shapes: [&[usize]; 6] = [
            &[13],
            &[1],
            &[5, 7],
            &[3, 5, 6],
            &[2, 3, 5, 6],
            &[4, 4, 4, 4],
        ];
        for shape in shapes {
            let n: usize = shape.iter().product();
            let values: Vec<f64> = (0..n).map(|i| (i as f64 * 0.37).sin() * 100.0).collect();
            let mut fortran = vec![0f64; n];
            let mut strides = vec![0isize; shape.len()];
            let mut acc = 1;
            for (a, s) in strides.iter_mut().enumerate() {
                *s = acc;
                acc *= shape[a] as isize;
            }
            for (ci, v) in values.iter().enumerate() {
                let (mut rem, mut fi) = (ci, 0isize);
                for a in (0..shape.len()).rev() {
                    fi += (rem % shape[a]) as isize * strides[a];
                    rem /= shape[a];
                }
                fortran[fi as usize] = *v;
            }
            for mode in [
                ZfpMode::FixedRate(8.0),
                ZfpMode::FixedPrecision(16),
                ZfpMode::FixedAccuracy(1e-3),
            ] {
                let config = mode.config(ZfpType::Double, shape.len(), false).unwrap();
                let dims = dims4(shape);
                let mut st = [0isize; 4];
                for (i, &v) in strides.iter().rev().enumerate() {
                    st[i] = v;
                }
                let fields = [
                    ZfpField::new(&values[..], dims).unwrap(),
                    ZfpField::new_strided(&fortran[..], dims, st).unwrap(),
                ];
                let mut whole = ZfpBitStream::new(1 << 16).unwrap();
                whole.compress(&config, &fields[0]).unwrap();
                for field in &fields {
                    let mut exact = ZfpBitStream::new(1 << 16).unwrap();
                    encode_serial_exact::<f64>(&mut exact, &config, field).unwrap();
                    assert_eq!(exact.as_bytes(), whole.as_bytes(), "{shape:?} {mode:?}");
                }
            }
        }
    }

    #[test]
    fn tiny_blocks_are_found() {
        let mut v = vec![1.0f32; 64];
        let field = ZfpField::new(&v[..], [8usize, 8]).unwrap();
        assert!(!f32::has_tiny_block(&field));
        // One 4x4 block of values below 2^-98, the others ordinary.
        for y in 4..8 {
            for x in 0..4 {
                v[y * 8 + x] = 1e-31;
            }
        }
        let field = ZfpField::new(&v[..], [8usize, 8]).unwrap();
        assert!(f32::has_tiny_block(&field));
        // A tiny value in a block with an ordinary one does not make the block tiny.
        let mut w = vec![1.0f32; 64];
        w[0] = 1e-31;
        let field = ZfpField::new(&w[..], [8usize, 8]).unwrap();
        assert!(!f32::has_tiny_block(&field));
        assert_eq!(f64::tiny_exponent(&[0.0, f64::NAN, 1e-300]), Some(-996));
        // The bitwise pre-scan agrees with the comparison it replaces, at every position of a
        // run and across run boundaries.
        let t32 = 2f32.powi(-98);
        let t64 = 2f64.powi(-962);
        let specials32 = [
            0.0,
            -0.0,
            t32,
            -t32,
            f32::from_bits(t32.to_bits() - 1),
            -f32::from_bits(t32.to_bits() - 1),
            f32::from_bits(1),
            -f32::from_bits(1),
            f32::MIN_POSITIVE,
            f32::NAN,
            -f32::NAN,
            f32::INFINITY,
            f32::NEG_INFINITY,
            1.0,
            -3.5e-30,
            3.2e-30,
        ];
        let specials64 = [
            0.0,
            -0.0,
            t64,
            -t64,
            f64::from_bits(t64.to_bits() - 1),
            -f64::from_bits(t64.to_bits() - 1),
            f64::from_bits(1),
            -f64::from_bits(1),
            f64::MIN_POSITIVE,
            f64::NAN,
            -f64::NAN,
            f64::INFINITY,
            f64::NEG_INFINITY,
            1.0,
            -1e-290,
            1e-300,
        ];
        for (i, (&s32, &s64)) in specials32.iter().zip(&specials64).enumerate() {
            for pos in [0, 1, 255, 256, 700] {
                let mut a = vec![1.0f32; 701];
                a[pos] = s32;
                let want = s32.abs() < t32 && s32 != 0.0;
                assert_eq!(f32::has_tiny_value(&a), want, "f32 special {i} at {pos}");
                let mut b = vec![-2.0f64; 701];
                b[pos] = s64;
                let want = s64.abs() < t64 && s64 != 0.0;
                assert_eq!(f64::has_tiny_value(&b), want, "f64 special {i} at {pos}");
            }
        }
        assert_eq!(f32::tiny_exponent(&[0.0, f32::NAN]), None);
        assert_eq!(f32::tiny_exponent(&[1e-45]), Some(-126));
    }
}
