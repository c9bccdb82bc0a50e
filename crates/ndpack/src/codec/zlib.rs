//! The `zlib` codec: zlib streams (RFC 1950), as numcodecs' `Zlib(level=1)`.
//!
//! Config: `{"id": "zlib", "level": 1}`; `level` is 0-9 (-1 is zlib's default, 6).
//! Encoding uses zlib-rs through flate2, so compressed bytes may differ from CPython's zlib;
//! either decodes the other's output to the same data. Inputs over 1 MiB are compressed as
//! independent 1 MiB segments in parallel, and large streams are decoded in parallel where their
//! producer left segment boundaries (see `deflate_parallel`).

use flate2::{Compress, Compression, Decompress, FlushCompress, FlushDecompress, Status};
use serde_json::{json, Map, Value};

use super::deflate_parallel::{self as parallel, Check, Decoded, Tuning, SEGMENT};
use super::one_shot_inflate::{inflate_into_slice, inflate_into_spare, Format, Outcome};
use super::{
    backend_error, check_level, check_out_len, grow_output, out_too_small, read_level, ArrayMut,
    ArrayRef, Codec, GrowBuf, NDBuffer, MAX_DECODED_SIZE,
};
use crate::error::{Error, Result};

/// The numcodecs `zlib` codec.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Zlib {
    level: i32,
}

impl Default for Zlib {
    fn default() -> Self {
        Zlib { level: 1 }
    }
}

impl Zlib {
    /// A codec with compression `level` (0-9, or -1 for zlib's default).
    pub fn new(level: i32) -> Result<Self> {
        check_level("zlib", level.into(), -1, 9)?;
        Ok(Zlib { level })
    }

    /// Builds the codec from its numcodecs config.
    pub fn from_config(config: &Map<String, Value>) -> Result<Self> {
        let level = read_level("zlib", config, -1, 9)?;
        Ok(Zlib {
            level: level as i32,
        })
    }
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
    let level = zlib_rs_level(level);
    let mut c = Compress::new(Compression::new(level), zlib_header);
    // zlib's compressBound plus room for the zlib header and trailer: one reservation, no regrowth.
    out.reserve(data.len() + (data.len() >> 12) + (data.len() >> 14) + (data.len() >> 25) + 64);
    loop {
        let consumed = c.total_in() as usize;
        let status = c
            .compress_vec(&data[consumed..], out, FlushCompress::Finish)
            .map_err(|e| backend_error("zlib", e))?;
        match status {
            Status::StreamEnd => return Ok(()),
            _ => out.reserve(out.capacity().max(64)),
        }
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
        let format = if zlib_header {
            Format::Zlib
        } else {
            Format::Raw
        };
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
        let format = if zlib_header {
            Format::Zlib
        } else {
            Format::Raw
        };
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
    let format = if zlib_header {
        Format::Zlib
    } else {
        Format::Raw
    };
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

/// Fuzzing hook, not part of the API: builds a raw deflate stream from `input` (as is, or `input`
/// compressed in small independent segments and then damaged, as its first bytes say), decodes
/// it with the parallel decoder (tiny pieces) and the serial one, and panics if they differ.
#[doc(hidden)]
pub fn fuzz_parallel_inflate(input: &[u8]) {
    let Some((&[mode, piece, seg, level, flip_at, flip], rest)) = input.split_first_chunk::<6>()
    else {
        return;
    };
    let min_piece = 8usize << (piece % 10);
    let segment = 16usize << (seg % 10);
    let raw = match mode % 3 {
        0 => rest.to_vec(),
        m => {
            let mut raw = Vec::new();
            if parallel::deflate_segments(
                rest,
                i32::from(level % 10),
                segment,
                Check::Crc32,
                &mut raw,
            )
            .is_err()
            {
                return;
            }
            if m == 2 && !raw.is_empty() {
                let at = usize::from(flip_at) * raw.len() / 256;
                raw[at] ^= flip.max(1);
            }
            raw
        }
    };
    parallel::compare_with_serial(&raw, min_piece, segment);
}

impl Codec for Zlib {
    fn id(&self) -> &'static str {
        "zlib"
    }

    fn config(&self) -> Value {
        json!({"id": "zlib", "level": self.level})
    }

    fn encode(&self, input: ArrayRef<'_>) -> Result<NDBuffer> {
        Ok(NDBuffer::from_bytes(encode_zlib(input.data, self.level)?))
    }

    fn decode(&self, input: ArrayRef<'_>) -> Result<NDBuffer> {
        let (out, _) = inflate(input.data, true, MAX_DECODED_SIZE)?;
        Ok(NDBuffer::from_bytes(out))
    }

    fn decode_into(&self, input: &[u8], out: ArrayMut<'_>) -> Result<()> {
        inflate_into(input, true, out.data).map(|_| ())
    }

    fn decode_grow(&self, encoded: &[u8], out: &mut dyn GrowBuf) -> Option<Result<usize>> {
        Some(inflate_grow(encoded, true, out, 0, MAX_DECODED_SIZE).map(|(_, n)| n))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::codec::test_util::round_trip;

    #[test]
    fn decode_grow_equals_decode() {
        let c = Zlib::new(1).unwrap();
        for n in [0usize, 10, 5000, 1 << 20] {
            let d: Vec<u8> = (0..n).map(|i| ((i / 7) % 13) as u8).collect();
            let enc = c.encode(ArrayRef::bytes(&d)).unwrap();
            // From empty, and from a buffer too small to hold the result.
            for start in [0usize, 3] {
                let mut out = vec![0u8; start];
                let got = c.decode_grow(enc.bytes(), &mut out).unwrap().unwrap();
                assert_eq!(&out[..got], &d[..]);
            }
            if enc.bytes().len() > 4 {
                let cut = &enc.bytes()[..enc.bytes().len() - 3];
                let mut out = Vec::new();
                assert!(c.decode_grow(cut, &mut out).unwrap().is_err());
            }
        }
    }
    use crate::error::ErrorKind;

    fn sample() -> Vec<u8> {
        (0..100_000u32)
            .flat_map(|i| (i / 7).to_le_bytes())
            .collect()
    }

    #[test]
    fn round_trip_every_level() {
        let data = sample();
        for level in -1..=9 {
            let c = Zlib::new(level).unwrap();
            round_trip(&c, &data, &format!("level {level}"));
        }
    }

    /// zlib-rs streaming alone: the serial reference.
    fn streaming(enc: &[u8]) -> Vec<u8> {
        let mut d = Decompress::new(true);
        let mut out = Vec::with_capacity(enc.len() * 4 + 64);
        loop {
            let used = d.total_in() as usize;
            match d
                .decompress_vec(&enc[used..], &mut out, FlushDecompress::Finish)
                .unwrap()
            {
                Status::StreamEnd => return out,
                _ => out.reserve(out.capacity()),
            }
        }
    }

    #[test]
    fn large_streams_are_segmented_and_decode_alike() {
        if crate::threads::get_num_threads() < 2 {
            crate::threads::set_num_threads(2).unwrap();
        }
        let c = Zlib::default();
        let n = (3 << 20) + 12345;
        let d = parallel::noisy_test_bytes(n);
        let enc = c.encode(ArrayRef::bytes(&d)).unwrap();
        let enc = enc.bytes();
        assert!(enc.len() > 1 << 20);
        assert_eq!(&enc[..2], &parallel::zlib_header(1));
        assert_eq!(streaming(enc), d);
        // A single deflate stream (as numcodecs writes) and one from a compressor whose sync
        // flushes keep the window: no or false segment starts, decoded all the same.
        let single = deflate(&d, 1, true).unwrap();
        let mut shared = Compress::new(Compression::new(6), true);
        let mut synced = Vec::with_capacity(n * 2);
        for (i, chunk) in d.chunks(300_000).enumerate() {
            let last = (i + 1) * 300_000 >= n;
            let f = if last {
                FlushCompress::Finish
            } else {
                FlushCompress::Sync
            };
            shared.compress_vec(chunk, &mut synced, f).unwrap();
        }
        for stream in [enc, &single[..], &synced[..]] {
            assert_eq!(c.decode(ArrayRef::bytes(stream)).unwrap().bytes(), &d[..]);
            let mut out = vec![0u8; n];
            c.decode_into(stream, ArrayMut::bytes(&mut out)).unwrap();
            assert_eq!(out, d);
            let mut grown = Vec::new();
            let got = c.decode_grow(stream, &mut grown).unwrap().unwrap();
            assert_eq!(&grown[..got], &d[..]);
            // The same errors as the serial path: a bad Adler-32, a cut stream, a wrong size.
            let mut bad = stream.to_vec();
            let last = bad.len() - 1;
            bad[last] ^= 1;
            assert_eq!(
                c.decode(ArrayRef::bytes(&bad)).unwrap_err().kind(),
                ErrorKind::Corrupt
            );
            assert!(c.decode_grow(&bad, &mut Vec::new()).unwrap().is_err());
            assert!(c.decode_into(&bad, ArrayMut::bytes(&mut out)).is_err());
            let cut = &stream[..stream.len() - 10];
            assert_eq!(
                c.decode(ArrayRef::bytes(cut)).unwrap_err().kind(),
                ErrorKind::Truncated
            );
            for wrong in [n - 1, n + 1, 2 * n] {
                let mut out = vec![0u8; wrong];
                let e = c
                    .decode_into(stream, ArrayMut::bytes(&mut out))
                    .unwrap_err();
                assert_eq!(e.kind(), ErrorKind::InvalidArgument, "{wrong}");
            }
        }
    }

    #[test]
    fn fuzz_hook_runs() {
        fuzz_parallel_inflate(&[1, 3, 4, 1, 0, 0]);
        let mut input = vec![2, 3, 4, 1, 100, 0x10];
        input.extend((0..20_000u32).map(|i| (i / 3) as u8));
        fuzz_parallel_inflate(&input);
    }

    #[test]
    fn known_stream_from_python_zlib() {
        // zlib.compress(b"hello hello hello", 1) in CPython.
        let enc = [
            0x78, 0x01, 0xcb, 0x48, 0xcd, 0xc9, 0xc9, 0x57, 0xc8, 0x40, 0x90, 0x00, 0x3a, 0x2e,
            0x06, 0x7d,
        ];
        let dec = Zlib::default().decode(ArrayRef::bytes(&enc)).unwrap();
        assert_eq!(dec.bytes(), b"hello hello hello");
    }

    #[test]
    fn bad_input_is_an_error() {
        let data = sample();
        let enc = Zlib::default().encode(ArrayRef::bytes(&data)).unwrap();
        let cut = &enc.bytes()[..enc.bytes().len() / 2];
        let e = Zlib::default().decode(ArrayRef::bytes(cut)).unwrap_err();
        assert_eq!(e.kind(), ErrorKind::Truncated);
        assert!(Zlib::default()
            .decode(ArrayRef::bytes(b"not zlib"))
            .is_err());
        let mut small = vec![0u8; 10];
        assert!(Zlib::default()
            .decode_into(enc.bytes(), ArrayMut::bytes(&mut small))
            .is_err());
        assert!(Zlib::new(10).is_err());
    }
}
