//! Decompression of zfpy's streams (with a full header or headerless) into new arrays or the
//! caller's memory, after checking the declared size against the stream and the decode-size
//! limit: fixed-rate streams decode chunks of blocks in parallel, the others through the
//! speculative parallel reader or zfp-rs's pipeline.

use zfp_rs::{ZfpBitStreamRef, ZfpDecompressionError, ZfpFieldMut, ZfpScalar};

use super::header::{read_header, ZfpHeader, ZfpParams};
use super::{check_shape, dims4, parallel, speculative, ZfpMode, ZfpType};
use crate::buffer::{AlignedBytes, Buffer, NDBuffer};
use crate::error::{Error, ErrorKind, Result, MAX_DECODED_SIZE};
use crate::region::{checked_num_items, Order};
use crate::threads;

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
        return Err(Error::invalid_argument(format!(
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
                return Err(Error::invalid_argument(format!(
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
    let n = checked_num_items(&header.shape)?;
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
        .map_err(|e| Error::invalid_argument(format!("zfp output field: {e}")))?;
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
#[cfg(any(test, fuzzing))]
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
        config: &zfp_rs::ZfpConfig,
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

#[cfg(test)]
mod tests {
    use super::*;

    /// The fuzzing hook compares the speculative decoder with zfp-rs's serial one: they agree
    /// on whole and cut streams, and the hook declines the modes the speculative decoder skips.
    #[test]
    fn speculative_hook_agrees_and_declines_fixed_rate() {
        let shape = [40usize, 50];
        let values: Vec<u8> = (0..2000)
            .flat_map(|i| ((i as f64 * 0.01).sin() * 1e3).to_le_bytes())
            .collect();
        for mode in [ZfpMode::Reversible, ZfpMode::FixedAccuracy(1e-3)] {
            let stream =
                super::super::compress(&values, ZfpType::Double, &shape, mode, false).unwrap();
            for cut in [stream.len(), stream.len() / 2] {
                for parts in [1, 2, 5] {
                    let agree = speculative_agrees_with_serial(
                        &stream[..cut],
                        ZfpType::Double,
                        &shape,
                        mode,
                        parts,
                    );
                    assert_eq!(agree, Some(true), "{mode:?} cut {cut} parts {parts}");
                }
            }
        }
        let fixed = ZfpMode::FixedRate(8.0);
        let stream =
            super::super::compress(&values, ZfpType::Double, &shape, fixed, false).unwrap();
        assert_eq!(
            speculative_agrees_with_serial(&stream, ZfpType::Double, &shape, fixed, 2),
            None
        );
        assert_eq!(
            speculative_agrees_with_serial(&stream, ZfpType::Double, &[], ZfpMode::Reversible, 2),
            None
        );
    }
}
