//! Deflate (RFC 1951) and zlib streams (RFC 1950): the engine of the `zlib` and `gzip` codecs,
//! of Blosc's zlib streams and of NPZ members. Compression is zlib-rs through flate2, with inputs
//! over [`SEGMENT`] bytes compressed as independent segments in parallel ([`parallel`]).
//! Decompression tries, in order, the parallel decoder (streams whose producer left segment
//! boundaries), a one-shot inflate into memory that is already there ([`oneshot`]: libdeflate's,
//! or zlib-rs's without the `libdeflate` feature), and zlib-rs's streaming inflater, which grows
//! the output and gives the precise error.

use flate2::{Compress, Compression, Decompress, FlushCompress, FlushDecompress, Status};

/// One-shot inflate into memory that is already there: libdeflate's, or zlib-rs's (the same
/// calls) without the `libdeflate` feature.
#[cfg_attr(feature = "libdeflate", path = "libdeflate.rs")]
#[cfg_attr(not(feature = "libdeflate"), path = "zlib_rs.rs")]
pub(crate) mod oneshot;
pub(crate) mod parallel;

use self::oneshot::{inflate_into_slice, inflate_into_spare};
use self::parallel::Decoded;
pub(crate) use self::parallel::{Check, Tuning, SEGMENT};
use super::{backend_error, check_out_len, grow_output, out_too_small, GrowBuf};
use crate::error::{Error, Result};

/// The container around the deflate stream.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Format {
    /// Raw deflate (RFC 1951), as inside gzip members and ZIP archives.
    Raw,
    /// zlib (RFC 1950): a 2-byte header, deflate, and the Adler-32 of the output (checked).
    Zlib,
}

impl Format {
    /// zlib with `zlib_header`, else raw deflate.
    pub(crate) fn of(zlib_header: bool) -> Self {
        if zlib_header {
            Format::Zlib
        } else {
            Format::Raw
        }
    }
}

/// What a one-shot inflate gave.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Outcome {
    /// The stream ended: `consumed` input bytes (the stream may be followed by other data) gave
    /// `written` output bytes.
    Done { consumed: usize, written: usize },
    /// The output does not fit in the room given.
    NoSpace,
    /// The stream is corrupt or truncated.
    BadData,
}

/// The zlib-rs level for a zlib level (-1: the default, 6). zlib-rs's level 1 is a "quick"
/// strategy with static Huffman codes that expands float data (size ratio 0.95 where C zlib's
/// level 1 gives 1.09, and 2.98 against 5.3 on an int64 ramp); its level 2 compresses like C
/// zlib's level 1 and is still faster, so level 1 maps to it.
pub(crate) fn zlib_rs_level(level: i32) -> u32 {
    match level {
        l if l < 0 => 6,
        1 => 2,
        l => l.min(9) as u32,
    }
}

/// Compresses `data` into a zlib (`zlib_header = true`) or raw deflate stream appended to `out`.
pub(crate) fn deflate_append(
    data: &[u8],
    level: i32,
    zlib_header: bool,
    out: &mut Vec<u8>,
) -> Result<()> {
    // Room for the zlib header and trailer: one reservation, no regrowth.
    let level = zlib_rs_level(level);
    compress_with(data, level, zlib_header, FlushCompress::Finish, 64, out)
}

/// Compresses `data` with a fresh zlib-rs compressor at zlib-rs `level`, into a zlib
/// (`zlib_header`) or raw deflate stream appended to `out`, ended by `flush`: the final block
/// (`Finish`) or a flush marker. `out` first reserves zlib's `compressBound` plus `extra` bytes,
/// and grows if that is not enough.
fn compress_with(
    data: &[u8],
    level: u32,
    zlib_header: bool,
    flush: FlushCompress,
    extra: usize,
    out: &mut Vec<u8>,
) -> Result<()> {
    let mut c = Compress::new(Compression::new(level), zlib_header);
    let n = data.len();
    out.reserve(n + (n >> 12) + (n >> 14) + (n >> 25) + extra);
    loop {
        let consumed = c.total_in() as usize;
        let status = c
            .compress_vec(&data[consumed..], out, flush)
            .map_err(|e| backend_error("zlib", e))?;
        let done = if flush == FlushCompress::Finish {
            status == Status::StreamEnd
        } else {
            // A flush is complete when all input is in and the output was not filled.
            c.total_in() as usize == n && out.len() < out.capacity()
        };
        if done {
            return Ok(());
        }
        out.reserve(out.capacity().max(64));
    }
}

/// Compresses `data` into a zlib stream: one deflate stream for inputs up to [`SEGMENT`] bytes,
/// independent segments compressed in parallel for larger ones.
pub(crate) fn encode_zlib(data: &[u8], level: i32) -> Result<Vec<u8>> {
    encode_zlib_with(data, level, SEGMENT)
}

/// [`encode_zlib`] with segments of `segment` bytes.
pub(crate) fn encode_zlib_with(data: &[u8], level: i32, segment: usize) -> Result<Vec<u8>> {
    if data.len() <= segment {
        return deflate(data, level, true);
    }
    let mut out = Vec::new();
    out.extend_from_slice(&parallel::zlib_header(level));
    let adler = parallel::deflate_segments(data, level, segment, Check::Adler32, &mut out)?;
    out.extend_from_slice(&adler.to_be_bytes());
    Ok(out)
}

/// The deflate data of a zlib stream whose header the parallel decoder takes (deflate, a window
/// of at most 32 KiB, no preset dictionary); `None` leaves the stream to the serial decoder.
fn zlib_body(data: &[u8]) -> Option<&[u8]> {
    let (cmf, flg) = (*data.first()?, *data.get(1)?);
    let ok = cmf & 0x0f == 8
        && cmf >> 4 <= 7
        && ((u16::from(cmf) << 8) | u16::from(flg)) % 31 == 0
        && flg & 0x20 == 0;
    ok.then(|| &data[2..])
}

/// Whether the Adler-32 after a parallel-decoded zlib body matches the decoded bytes; gives the
/// bytes the whole zlib stream took.
fn zlib_trailer_ok(body: &[u8], d: &Decoded) -> Option<usize> {
    let stored = body.get(d.consumed..d.consumed.checked_add(4)?)?;
    (stored == d.check.to_be_bytes()).then_some(2 + d.consumed + 4)
}

/// Compresses `data` into a zlib (`zlib_header = true`) or raw deflate stream.
pub(crate) fn deflate(data: &[u8], level: i32, zlib_header: bool) -> Result<Vec<u8>> {
    let mut out = Vec::new();
    deflate_append(data, level, zlib_header, &mut out)?;
    Ok(out)
}

/// The most a deflate stream can expand: 258 bytes per 2 bits, about 1032:1.
pub(crate) const DEFLATE_MAX_RATIO: usize = 1032;

/// The most output the one-shot inflate reserves up front (as untouched virtual memory) when the
/// decoded size is unknown; larger outputs are decoded by the streaming inflater.
const ONE_SHOT_MAX_OUTPUT: usize = 1 << 30;

/// The room a one-shot inflate of `input_len` bytes reserves when the output size is unknown:
/// the most deflate can produce, within `limit` (of which `written` bytes are used) and
/// [`ONE_SHOT_MAX_OUTPUT`].
fn one_shot_room(input_len: usize, written: usize, limit: usize) -> usize {
    input_len
        .saturating_mul(DEFLATE_MAX_RATIO)
        .saturating_add(64)
        .min(limit.saturating_sub(written))
        .min(ONE_SHOT_MAX_OUTPUT)
}

/// Decompresses one zlib or raw deflate stream from the start of `data`, appending to `out`
/// (whose spare capacity is used first) until `out` would exceed `limit` bytes.
/// Returns the number of input bytes consumed.
pub(crate) fn inflate_append(
    data: &[u8],
    zlib_header: bool,
    out: &mut Vec<u8>,
    limit: usize,
) -> Result<usize> {
    // First the one-shot libdeflate path: into the capacity the caller reserved (a size hint)
    // or else room for the largest output deflate can produce from `data` (only virtual memory
    // until written). If the output does not fit or the data is bad, fall through to the
    // streaming inflater, which grows the output and tells truncated from corrupt streams.
    let start = out.len();
    if zlib_header {
        if let Some(body) = zlib_body(data) {
            if let Some(d) =
                parallel::inflate_append(body, out, limit, Check::Adler32, Tuning::DEFAULT)
            {
                if let Some(used) = zlib_trailer_ok(body, &d) {
                    return Ok(used);
                }
            }
            // Not parallel, or a bad stream: the serial path decodes it or tells what is wrong.
            out.truncate(start);
        }
    }
    if out.capacity() == start {
        let room = one_shot_room(data.len(), start, limit);
        // An allocation failure only means no one-shot attempt.
        let _ = out.try_reserve_exact(room);
    }
    if out.capacity() > start {
        let format = Format::of(zlib_header);
        if let Outcome::Done { consumed, .. } = inflate_into_spare(data, format, out)? {
            return Ok(consumed);
        }
    }

    let mut d = Decompress::new(zlib_header);
    if out.capacity() == out.len() {
        // No size hint: guess 4x the input, then double as the output grows.
        let guess = data.len().saturating_mul(4).clamp(4096, 1 << 26);
        let room = guess.min(limit.saturating_sub(out.len())).max(64);
        out.try_reserve_exact(room)
            .map_err(|_| Error::alloc_failed("deflate stream", room))?;
    }
    loop {
        let consumed = d.total_in() as usize;
        let before = d.total_out();
        let status = d
            .decompress_vec(&data[consumed..], out, FlushDecompress::Finish)
            .map_err(|e| Error::corrupt(format!("deflate stream: {e}")))?;
        match status {
            Status::StreamEnd => return Ok(d.total_in() as usize),
            _ if out.len() < out.capacity()
                && d.total_out() == before
                && d.total_in() as usize == data.len() =>
            {
                return Err(Error::truncated(
                    "deflate stream ends before its end marker",
                ));
            }
            _ if out.len() < out.capacity() => {}
            _ => grow_output(out, data.len(), limit, "deflate stream")?,
        }
    }
}

/// Decompresses one zlib or raw deflate stream from the start of `data` into `out` from byte
/// `written` on, growing `out` (first to 4x the input, then doubling) up to `limit` bytes.
/// Returns `(input consumed, total bytes written)`.
pub(crate) fn inflate_grow(
    data: &[u8],
    zlib_header: bool,
    out: &mut dyn GrowBuf,
    mut written: usize,
    limit: usize,
) -> Result<(usize, usize)> {
    // One-shot libdeflate first, as in `inflate_append`: into the room the caller made (a size
    // hint) or else room for the most deflate can produce (untouched memory until written).
    if zlib_header {
        if let Some(body) = zlib_body(data) {
            if let Some(d) =
                parallel::inflate_grow(body, out, written, limit, Check::Adler32, Tuning::DEFAULT)
            {
                if let Some(used) = zlib_trailer_ok(body, &d) {
                    return Ok((used, d.end));
                }
            }
        }
    }
    if out.buf().len() == written {
        let room = one_shot_room(data.len(), written, limit);
        // A failed allocation only means no one-shot attempt.
        let _ = out.grow(written.saturating_add(room));
    }
    if out.buf().len() > written {
        let format = Format::of(zlib_header);
        if let Outcome::Done {
            consumed,
            written: n,
        } = inflate_into_slice(data, format, &mut out.buf()[written..])?
        {
            return Ok((consumed, written + n));
        }
    }
    let mut d = Decompress::new(zlib_header);
    loop {
        let cap = out.buf().len();
        if written == cap {
            if written >= limit {
                return Err(Error::too_large(format!(
                    "deflate stream decodes to more than {limit} bytes"
                )));
            }
            let extra = if cap == 0 {
                data.len().saturating_mul(4).clamp(4096, 1 << 26)
            } else {
                cap.max(4096)
            };
            out.grow(written.saturating_add(extra).min(limit))?;
            continue;
        }
        let (in0, out0) = (d.total_in() as usize, d.total_out());
        let status = d
            .decompress(
                &data[in0..],
                &mut out.buf()[written..],
                FlushDecompress::Finish,
            )
            .map_err(|e| Error::corrupt(format!("deflate stream: {e}")))?;
        written += (d.total_out() - out0) as usize;
        match status {
            Status::StreamEnd => return Ok((d.total_in() as usize, written)),
            _ if written < out.buf().len()
                && d.total_out() == out0
                && d.total_in() as usize == in0 =>
            {
                return Err(Error::truncated(
                    "deflate stream ends before its end marker",
                ));
            }
            _ => {}
        }
    }
}

/// Decompresses one zlib or raw deflate stream from the start of `data`, growing the output up to
/// `limit` bytes. Returns the decoded bytes and the number of input bytes consumed.
pub(crate) fn inflate(data: &[u8], zlib_header: bool, limit: usize) -> Result<(Vec<u8>, usize)> {
    let mut out = Vec::new();
    let used = inflate_append(data, zlib_header, &mut out, limit)?;
    shrink_reserve(&mut out);
    Ok((out, used))
}

/// Gives back what the one-shot inflate reserved beyond the output (for large blocks a cheap
/// `mremap`, no copy).
pub(crate) fn shrink_reserve(out: &mut Vec<u8>) {
    if out.capacity() - out.len() > out.len() / 8 + 4096 {
        out.shrink_to_fit();
    }
}

/// Decompresses one zlib or raw deflate stream from the start of `data` into the start of `out`,
/// which may be longer than the stream's data. Returns `(input consumed, output written)`.
pub(crate) fn inflate_slice(
    data: &[u8],
    zlib_header: bool,
    out: &mut [u8],
) -> Result<(usize, usize)> {
    if zlib_header {
        if let Some(body) = zlib_body(data) {
            if let Some(d) = parallel::inflate_slice(body, out, Check::Adler32, Tuning::DEFAULT) {
                if let Some(used) = zlib_trailer_ok(body, &d) {
                    return Ok((used, d.end));
                }
            }
        }
    }
    let format = Format::of(zlib_header);
    if let Outcome::Done { consumed, written } = inflate_into_slice(data, format, out)? {
        return Ok((consumed, written));
    }
    // Too small an output or bad data: the streaming inflater gives the precise error.

    let mut d = Decompress::new(zlib_header);
    let status = d
        .decompress(data, out, FlushDecompress::Finish)
        .map_err(|e| Error::corrupt(format!("deflate stream: {e}")))?;
    if status == Status::StreamEnd {
        return Ok((d.total_in() as usize, d.total_out() as usize));
    }
    let written = d.total_out() as usize;
    if written < out.len() {
        return Err(Error::truncated(
            "deflate stream ends before its end marker",
        ));
    }
    // `out` is full: the stream may still end without producing more (e.g. an empty final block).
    let mut probe = [0u8; 1];
    let consumed = d.total_in() as usize;
    let status = d
        .decompress(&data[consumed..], &mut probe, FlushDecompress::Finish)
        .map_err(|e| Error::corrupt(format!("deflate stream: {e}")))?;
    match status {
        Status::StreamEnd if d.total_out() as usize == written => {
            Ok((d.total_in() as usize, written))
        }
        _ if d.total_out() as usize > written => Err(out_too_small(out.len())),
        _ => Err(Error::truncated(
            "deflate stream ends before its end marker",
        )),
    }
}

/// Decompresses a zlib or raw deflate stream into exactly `out.len()` bytes.
pub(crate) fn inflate_into(data: &[u8], zlib_header: bool, out: &mut [u8]) -> Result<usize> {
    let (used, written) = inflate_slice(data, zlib_header, out)?;
    check_out_len(out.len(), written)?;
    Ok(used)
}
