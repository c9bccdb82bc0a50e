//! Zstandard through libzstd: one compression and one decompression context per thread, reused
//! across calls by the `zstd` codec and Blosc's zstd streams alike; single-threaded frame
//! compression with the parameters that give numcodecs' (and c-blosc's) bytes; decoding of
//! concatenated frames, in one call when they declare their sizes, else streamed.

use std::cell::RefCell;

use zstd::zstd_safe::{self, DCtx, InBuffer, OutBuffer};

use super::{check_out_len, grow_output, out_too_small};
use crate::error::{Error, ErrorKind, Result};

/// The most a zstd frame can expand: a 128 KiB RLE block in 4 bytes.
const ZSTD_MAX_RATIO: u64 = 32 * 1024;

/// Compresses `data` into `out` (at least `compress_bound(data.len())` bytes) as one
/// single-threaded frame at `level` (numcodecs' level: 0 is zstd's default, levels past the limits
/// are clamped), with a content `checksum` if asked, with this thread's compression context;
/// returns the compressed size. The bytes are numcodecs'.
pub(crate) fn compress(data: &[u8], out: &mut [u8], level: i32, checksum: bool) -> Result<usize> {
    use zstd_sys::{ZSTD_ResetDirective, ZSTD_cParameter};
    let level = level.clamp(zstd_safe::min_c_level(), zstd_safe::max_c_level());
    let check = |what: &str, code: usize| {
        // SAFETY: `ZSTD_isError` only inspects the number.
        if unsafe { zstd_sys::ZSTD_isError(code) } != 0 {
            Err(zstd_error(what, code))
        } else {
            Ok(code)
        }
    };
    with_cctx(|cctx| {
        let p = cctx.0.as_ptr();
        // SAFETY: `p` is this thread's live context, used by nobody else during the call;
        // the input and output pointers and lengths come from valid slices, and zstd writes
        // at most `out.len()` bytes.
        unsafe {
            let reset = ZSTD_ResetDirective::ZSTD_reset_session_and_parameters;
            check("resetting the context", zstd_sys::ZSTD_CCtx_reset(p, reset))?;
            for (param, value) in [
                (ZSTD_cParameter::ZSTD_c_compressionLevel, level),
                (ZSTD_cParameter::ZSTD_c_checksumFlag, i32::from(checksum)),
                // `ZSTD_c_blockSplitterLevel` = 1: no pre-splitting of blocks. libzstd
                // 1.5.7 splits by default, which costs up to 1.8x the time on float data
                // for the same size; without it the output equals numcodecs' (libzstd 1.5.6).
                (ZSTD_cParameter::ZSTD_c_experimentalParam20, 1),
            ] {
                check(
                    "setting parameters",
                    zstd_sys::ZSTD_CCtx_setParameter(p, param, value),
                )?;
            }
            check(
                "compression",
                zstd_sys::ZSTD_compress2(
                    p,
                    out.as_mut_ptr().cast(),
                    out.len(),
                    data.as_ptr().cast(),
                    data.len(),
                ),
            )
        }
    })
}

/// Compresses `src` into `dst` as one zstd frame at `level` without checksum (numcodecs' and
/// c-blosc's bytes); returns the compressed size, or an error when `dst` is too small. Blosc's
/// zstd streams use it.
pub(crate) fn compress_frame(level: i32, src: &[u8], dst: &mut [u8]) -> Result<usize> {
    compress(src, dst, level, false)
}

/// A zstd compression context held through the C API, which can set the parameters
/// zstd-safe does not expose.
struct RawCCtx(std::ptr::NonNull<zstd_sys::ZSTD_CCtx>);

impl RawCCtx {
    fn create() -> Result<Self> {
        // SAFETY: plain allocation; null is handled.
        let p = unsafe { zstd_sys::ZSTD_createCCtx() };
        std::ptr::NonNull::new(p)
            .map(RawCCtx)
            .ok_or_else(|| Error::too_large("cannot allocate a zstd compression context"))
    }
}

impl Drop for RawCCtx {
    fn drop(&mut self) {
        // SAFETY: created by `ZSTD_createCCtx`, freed once.
        unsafe { zstd_sys::ZSTD_freeCCtx(self.0.as_ptr()) };
    }
}

thread_local! {
    /// Each thread's compression context, reused across calls (numcodecs creates one per call;
    /// creating it and its tables costs as much as compressing a small buffer). It holds no
    /// threads, so a child made by `fork` keeps using (or frees) its copy of the forking thread's.
    static CCTX: RefCell<Option<RawCCtx>> = const { RefCell::new(None) };
    /// Each thread's decompression context, reused across calls.
    static DCTX: RefCell<Option<DCtx<'static>>> = const { RefCell::new(None) };
}

/// Runs `f` with this thread's compression context (a new one if it is in use further up).
fn with_cctx<T>(f: impl FnOnce(&RawCCtx) -> Result<T>) -> Result<T> {
    CCTX.with(|cell| match cell.try_borrow_mut() {
        Ok(mut slot) => {
            if slot.is_none() {
                *slot = Some(RawCCtx::create()?);
            }
            f(slot.as_ref().expect("set above"))
        }
        Err(_) => f(&RawCCtx::create()?),
    })
}

/// Runs `f` with this thread's decompression context, reset to its defaults.
pub(crate) fn with_dctx<T>(f: impl FnOnce(&mut DCtx<'static>) -> Result<T>) -> Result<T> {
    DCTX.with(|cell| match cell.try_borrow_mut() {
        Ok(mut slot) => {
            let dctx = slot.get_or_insert_with(DCtx::create);
            dctx.reset(zstd_safe::ResetDirective::SessionAndParameters)
                .map_err(|c| zstd_error("resetting the context", c))?;
            f(dctx)
        }
        Err(_) => f(&mut DCtx::create()),
    })
}

pub(crate) fn zstd_error(what: &str, code: usize) -> Error {
    let name = zstd_safe::get_error_name(code);
    let kind = if name.contains("Src size is incorrect") || name.contains("truncated") {
        ErrorKind::Truncated
    } else {
        ErrorKind::Corrupt
    };
    Error::new(kind, format!("zstd {what} error: {name}"))
}

/// The start of the message for input that is not a sequence of zstd frames (numcodecs' words).
const INVALID_INPUT: &str = "Zstd decompression error: invalid input data";

/// The frames of `data`: `Some(total)` when every frame declares its content size (at most
/// `limit` bytes in all), `None` when one does not (then the data must be streamed).
pub(crate) fn frames_size(data: &[u8], limit: usize) -> Result<Option<u64>> {
    if data.is_empty() {
        return Err(Error::truncated(format!(
            "{INVALID_INPUT} (empty input holds no frame)"
        )));
    }
    let mut pos = 0;
    let mut total = Some(0u64);
    while pos < data.len() {
        let frame = &data[pos..];
        let len = zstd_safe::find_frame_compressed_size(frame).map_err(|c| {
            let e = zstd_error("frame", c);
            Error::new(e.kind(), format!("{INVALID_INPUT} ({})", e.message()))
        })?;
        if len == 0 || len > frame.len() {
            return Err(Error::corrupt(format!(
                "{INVALID_INPUT} (invalid frame length)"
            )));
        }
        let size = zstd_safe::get_frame_content_size(frame)
            .map_err(|_| Error::corrupt(format!("{INVALID_INPUT} (invalid frame header)")))?;
        total = match (total, size) {
            (Some(t), Some(s)) => {
                let most = (len as u64).saturating_mul(ZSTD_MAX_RATIO);
                if s > most {
                    return Err(Error::too_large(format!(
                        "zstd: frame declares {s} bytes, more than its {len} bytes can hold"
                    )));
                }
                Some(t + s)
            }
            _ => None,
        };
        pos += len;
    }
    match total {
        Some(t) if t > limit as u64 => Err(Error::too_large(format!(
            "zstd: frames declare {t} bytes, over the limit of {limit}"
        ))),
        t => Ok(t),
    }
}

/// Streams every frame of `data` into `out`'s spare capacity, growing it up to `limit` bytes.
pub(crate) fn stream_vec(data: &[u8], out: &mut Vec<u8>, limit: usize) -> Result<()> {
    with_dctx(|dctx| stream_vec_with(dctx, data, out, limit))
}

fn stream_vec_with(
    dctx: &mut DCtx<'_>,
    data: &[u8],
    out: &mut Vec<u8>,
    limit: usize,
) -> Result<()> {
    let mut input = InBuffer::around(data);
    loop {
        if out.len() == out.capacity() {
            grow_output(out, data.len(), limit, "zstd")?;
        }
        let (in0, out0) = (input.pos(), out.len());
        let mut output = OutBuffer::around_pos(out, out0);
        let last = dctx
            .decompress_stream(&mut output, &mut input)
            .map_err(|c| zstd_error("decompression", c))?;
        let produced = output.pos() - out0;
        if input.pos() == data.len() && last == 0 {
            return Ok(());
        }
        if input.pos() == in0 && produced == 0 && out.len() < out.capacity() {
            return Err(Error::truncated(
                "zstd: compressed data ends inside a frame",
            ));
        }
    }
}

/// Streams every frame of `data` into exactly `out.len()` bytes.
pub(crate) fn stream_slice(data: &[u8], out: &mut [u8]) -> Result<()> {
    with_dctx(|dctx| stream_slice_with(dctx, data, out))
}

fn stream_slice_with(dctx: &mut DCtx<'_>, data: &[u8], out: &mut [u8]) -> Result<()> {
    let mut input = InBuffer::around(data);
    let mut probe = [0u8; 1];
    let mut written = 0;
    loop {
        let in0 = input.pos();
        let (last, produced, overflow) = if written < out.len() {
            let mut output = OutBuffer::around_pos(&mut out[..], written);
            let last = dctx
                .decompress_stream(&mut output, &mut input)
                .map_err(|c| zstd_error("decompression", c))?;
            (last, output.pos() - written, false)
        } else {
            let mut output = OutBuffer::around(&mut probe[..]);
            let last = dctx
                .decompress_stream(&mut output, &mut input)
                .map_err(|c| zstd_error("decompression", c))?;
            (last, output.pos(), output.pos() > 0)
        };
        if overflow {
            return Err(out_too_small(out.len()));
        }
        written += produced;
        if input.pos() == data.len() && last == 0 {
            return check_out_len(out.len(), written);
        }
        if input.pos() == in0 && produced == 0 {
            return Err(Error::truncated(
                "zstd: compressed data ends inside a frame",
            ));
        }
    }
}

/// Decodes frames that declare their total size, exactly `out.len()` bytes, in one call with
/// this thread's decompression context.
pub(crate) fn decompress_declared(data: &[u8], out: &mut [u8]) -> Result<()> {
    let total = out.len();
    let n = with_dctx(|dctx| {
        dctx.decompress(out, data)
            .map_err(|c| zstd_error("decompression", c))
    })?;
    if n != total {
        return Err(Error::corrupt(format!(
            "zstd: frames declare {total} bytes but hold {n}"
        )));
    }
    Ok(())
}
