//! Compression into zfpy's streams: the header, then the blocks, coded in parallel by zfp-rs or,
//! for arrays holding libzfp's tiny-magnitude float blocks, block by block as libzfp codes them.

use zfp_rs::{ZfpBitStream, ZfpConfig, ZfpDimensionality, ZfpField, ZfpScalar};

use super::header::{metadata, MAGIC, MODE_SHORT_MAX};
use super::{backend, check_shape, dims4, parallel, ZfpMode, ZfpType};
use crate::buffer::Buffer;
use crate::error::{Error, ErrorKind, Result};
use crate::threads;

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
            return Err(Error::invalid_argument(
                "zfp: strides and shape differ in length",
            ));
        }
    } else if data.len() != n * ztype.itemsize() {
        return Err(Error::invalid_argument(format!(
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
    .map_err(|e| Error::invalid_argument(format!("zfp field: {e}")))?;

    let capacity = config
        .maximum_size(ztype_scalar(ztype), dims)
        .ok_or_else(|| Error::too_large(format!("zfp: shape {shape:?} is too large")))?;
    let mut bs = ZfpBitStream::new(capacity + 32)
        .map_err(|e| Error::too_large(format!("zfp: cannot allocate {capacity} bytes: {e}")))?;
    if write_header {
        let meta = metadata(ztype, &dims[..ndim])?;
        let mode_bits = config.checked_mode_bits().map_err(|e| {
            Error::invalid_argument(format!("zfp mode cannot be written in a header: {e}"))
        })?;
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
