//! Parallel deflate for the `zlib` and `gzip` codecs, pigz style: independent segments.
//!
//! **Encoding.** An input longer than [`SEGMENT`] bytes is cut into `SEGMENT`-byte segments, each
//! compressed on its own (a fresh raw-deflate compressor, no shared window) on ndpack's pool.
//! Every segment but the last ends with a full flush, i.e. an empty non-final stored block, so it
//! ends byte-aligned with the bytes `00 00 ff ff`; the last ends with the final block. The pieces
//! are concatenated: one valid deflate stream that any inflater reads. The output depends on the
//! input and the level only, never on the thread count. The checksum (Adler-32 or CRC-32) is
//! computed per segment in the same tasks and combined.
//!
//! **Decoding**, for a stream from any producer: the compressed bytes are scanned for candidate
//! segment starts (the byte after `00 00 ff ff`), about one per piece of work. Piece `i` runs
//! from its start to the next piece's start and is decoded by libdeflate in one shot, with a final
//! stored block of 32 random bytes appended so that libdeflate stops there ([`terminator`]).
//! Piece 0 starts at the true start of the stream. A piece is accepted only when libdeflate
//! consumed every byte of it and its output ends with those 32 bytes, i.e. it ended at a block
//! boundary, which is where the next piece starts (the last piece is the rest of the input, ended
//! by the stream's own final block). A piece whose data refers to bytes before its start fails
//! ("distance too far back") without a dictionary. At the first piece that is not accepted, the rest of the stream is
//! decoded serially by zlib-rs with the last 32 KiB decoded so far as its dictionary; whenever
//! anything goes wrong (bad data, too large an output, a bad checksum) the caller runs the serial
//! decoder from the start, which gives its precise error. So the output is the serial decoder's.
//!
//! **Into place.** A stream that looks like ndpack's (its first `00 00 ff ff` within one
//! compressed segment of the start, and a known size or size hint, if any, that fits the number
//! of candidates) is first decoded straight into the output ([`direct_plan`], [`decode_direct`]):
//! taking every candidate as the end of a [`SEGMENT`]-byte segment, each piece (a whole number of
//! segments) decodes into its final place, with no buffer of its own and no copy. A piece that is
//! not accepted or not exactly its segments' size drops the attempt, and the pieces above run.
//!
//! The parts: `encode.rs` (segments), `decode.rs` (pieces into buffers of their own, gathered, and
//! the serial rest), `direct.rs` (pieces into place); here, the piece decode they share and the
//! entry points.

use std::mem::MaybeUninit;
use std::ops::Range;

mod decode;
mod direct;
mod encode;

use self::decode::{
    all_accepted, cut_points, decode_pieces, gather, hinted, plan, serial_rest_grow,
    serial_rest_vec, totals,
};
use self::direct::{decode_direct, direct_grow, direct_plan, direct_vec};
pub(crate) use self::encode::deflate_segments;
use super::libdeflate::{inflate_into_uninit, Format, Outcome};
use super::{zlib_rs_level, DEFLATE_MAX_RATIO};
use crate::backend::GrowBuf;
use crate::threads;

/// The segment size of parallel encoding: inputs up to this size give a single-segment stream
/// (the bytes of a plain serial compressor). Each segment restarts the 32 KiB window; on the 16 MB
/// sample arrays that costs at most 0.03% of size at levels 1 and 6 with any segment size from
/// 256 KiB to 2 MiB (the smooth float field even shrinks a little), so the size is chosen for
/// speed: 16 segments in 16 MB balance two or more threads.
pub(crate) const SEGMENT: usize = 1 << 20;

/// Compressed streams shorter than this are decoded serially.
const MIN_PARALLEL_INPUT: usize = 1 << 20;

/// Pieces of a parallel decode are at least this long (compressed bytes).
const MIN_PIECE: usize = 128 << 10;

/// Pieces per thread of a parallel decode (several, so that work stealing balances them).
const PIECES_PER_THREAD: usize = 4;

/// The most output one piece may reserve up front (untouched virtual memory).
const MAX_PIECE_ROOM: usize = 1 << 30;

/// The length of the random payload of [`terminator`].
const MARK: usize = 32;

/// The final stored block appended to a piece so that libdeflate stops at its end: a header
/// (`BFINAL = 1`, stored, `LEN = 32`, `NLEN`) and 32 bytes random per process.
///
/// Only a piece that ends at a block boundary decodes to its data followed by exactly these 32
/// bytes with every input byte consumed. A piece that was cut inside a block reads the appended
/// bytes as part of that block: to be accepted it would have to end exactly there and turn bits
/// it cannot know into its output's last 32 bytes. The one way to copy them is a stored block
/// spanning the cut, which copies the 5 header bytes as well; a piece whose output ends with the
/// header followed by the 32 bytes is refused (a real stream may do so: then the serial path runs).
fn terminator() -> &'static [u8; 5 + MARK] {
    use std::hash::{BuildHasher, RandomState};
    // Per process rather than a `OnceLock`: a child made by `fork` while another thread was
    // making it would wait for that thread forever.
    static T: crate::threads::PerProcess<[u8; 5 + MARK]> = crate::threads::PerProcess::new(|_| {
        let mut t = [0u8; 5 + MARK];
        t[..5].copy_from_slice(&[0x01, MARK as u8, 0x00, !(MARK as u8), 0xff]);
        let seed = RandomState::new();
        for (i, chunk) in t[5..].chunks_mut(8).enumerate() {
            chunk.copy_from_slice(&seed.hash_one(i).to_le_bytes());
        }
        t
    });
    T.get()
}

/// The deflate window: what a serial decoder continuing mid-stream needs as its dictionary.
const WINDOW: usize = 32 << 10;

/// The checksum a container keeps over the decoded bytes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Check {
    /// Adler-32, as in zlib streams.
    Adler32,
    /// CRC-32, as in gzip members.
    Crc32,
}

impl Check {
    /// The checksum of `data`.
    pub(crate) fn of(self, data: &[u8]) -> u32 {
        match self {
            Check::Adler32 => adler2::adler32_slice(data),
            Check::Crc32 => crc32fast::hash(data),
        }
    }

    /// The checksum of `a ++ b` from the checksums of `a` and of `b` (`b_len` bytes long).
    pub(crate) fn combine(self, a: u32, b: u32, b_len: usize) -> u32 {
        match self {
            Check::Adler32 => adler32_combine(a, b, b_len as u64),
            Check::Crc32 => {
                let mut h = crc32fast::Hasher::new_with_initial(a);
                h.combine(&crc32fast::Hasher::new_with_initial_len(b, b_len as u64));
                h.finalize()
            }
        }
    }
}

/// zlib's `adler32_combine`: the Adler-32 of `a ++ b` from those of `a` and `b` (`len_b` bytes).
fn adler32_combine(adler_a: u32, adler_b: u32, len_b: u64) -> u32 {
    const BASE: u64 = 65521;
    let rem = len_b % BASE;
    let a1 = u64::from(adler_a & 0xffff);
    let a2 = u64::from(adler_a >> 16);
    let b1 = u64::from(adler_b & 0xffff);
    let b2 = u64::from(adler_b >> 16);
    let sum1 = (a1 + b1 + BASE - 1) % BASE;
    let sum2 = (rem * a1 % BASE + a2 + b2 + BASE - rem) % BASE;
    (sum1 | (sum2 << 16)) as u32
}

/// The zlib header (RFC 1950) zlib-rs writes at `level` (numcodecs' level, before the
/// [`zlib_rs_level`] mapping): 32 KiB window, FLEVEL from the level, no dictionary.
pub(crate) fn zlib_header(level: i32) -> [u8; 2] {
    let flevel: u16 = match zlib_rs_level(level) {
        0 | 1 => 0,
        2..=5 => 1,
        6 => 2,
        _ => 3,
    };
    let mut h: u16 = (0x78 << 8) | (flevel << 6);
    h += 31 - h % 31;
    h.to_be_bytes()
}

/// What a parallel decode gave: the raw deflate stream was `consumed` bytes long, its output ends
/// at `end` in the output buffer, and `check` is the checksum of the new output.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Decoded {
    pub consumed: usize,
    pub end: usize,
    pub check: u32,
    /// How many pieces were decoded in parallel (the rest of the stream, if any, serially).
    pub pieces: usize,
    /// Whether the pieces were decoded straight into place (else into buffers of their own).
    pub direct: bool,
}

/// When and how finely to decode in parallel (tests make these small).
#[derive(Debug, Clone, Copy)]
pub(crate) struct Tuning {
    /// Streams shorter than this (compressed bytes) are left to the serial path.
    pub min_input: usize,
    /// The smallest piece (compressed bytes).
    pub min_piece: usize,
    /// The segment size of the streams decoded straight into place ([`SEGMENT`], as ndpack
    /// writes them).
    pub segment: usize,
}

impl Tuning {
    /// The production settings.
    pub(crate) const DEFAULT: Tuning = Tuning {
        min_input: MIN_PARALLEL_INPUT,
        min_piece: MIN_PIECE,
        segment: SEGMENT,
    };
}

/// How far past an ideal cut point a candidate is looked for: a little over one segment, so that
/// ndpack's streams always have one there, while a stream without segments (as numcodecs writes)
/// costs a scan of this much once, not of the whole stream.
const MAX_SCAN: usize = SEGMENT + SEGMENT / 8;

/// The position of the first `00 00 ff ff` at or after `from`, plus 4: a candidate segment start.
fn next_candidate(data: &[u8], from: usize) -> Option<usize> {
    let mut i = from;
    // Word at a time: most 8-byte words of compressed data hold no 0xff byte at all.
    while i + 8 <= data.len() {
        let w = u64::from_le_bytes(data[i..i + 8].try_into().expect("8 bytes"));
        let inv = !w;
        let has_ff = inv.wrapping_sub(0x0101_0101_0101_0101) & !inv & 0x8080_8080_8080_8080;
        if has_ff == 0 {
            i += 8;
            continue;
        }
        // The first 0xff byte; a marker with its `ff ff` here starts at most 3 bytes earlier.
        let first = i + (has_ff.trailing_zeros() / 8) as usize;
        let lo = first.saturating_sub(3).max(from);
        for p in lo..=first {
            if data.get(p..p + 4) == Some(&[0, 0, 0xff, 0xff][..]) {
                return Some(p + 4);
            }
        }
        i = first + 1;
    }
    let lo = i.saturating_sub(3).max(from);
    (lo..data.len())
        .find(|&p| data.get(p..p + 4) == Some(&[0, 0, 0xff, 0xff][..]))
        .map(|p| p + 4)
}

/// Decodes the stream's tail `input` with libdeflate into `out`.
fn decode_last(input: &[u8], out: &mut [MaybeUninit<u8>]) -> Option<(usize, usize)> {
    match inflate_into_uninit(input, Format::Raw, out) {
        Ok(Outcome::Done { consumed, written }) => Some((consumed, written)),
        _ => None,
    }
}

/// Decodes a piece `input` (with [`terminator`] appended) into `out`; `Some(written)` when it is
/// accepted: all consumed, the output ending with the terminator's payload and not its header.
fn decode_inner(input: &[u8], out: &mut [MaybeUninit<u8>]) -> Option<usize> {
    let t = terminator();
    let Ok(Outcome::Done { consumed, written }) = inflate_into_uninit(input, Format::Raw, out)
    else {
        return None;
    };
    if consumed != input.len() || written < MARK {
        return None;
    }
    // SAFETY: libdeflate initialised the first `written` bytes of `out`.
    let bytes = unsafe { std::slice::from_raw_parts(out.as_ptr().cast::<u8>(), written) };
    let (data, mark) = bytes.split_at(written - MARK);
    if mark != &t[5..] || data.ends_with(&t[..5]) {
        return None;
    }
    Some(written - MARK)
}

/// The memory a piece that starts at `len` compressed bytes reserves for its output.
fn piece_room(len: usize, limit: usize) -> usize {
    len.saturating_mul(DEFLATE_MAX_RATIO)
        .saturating_add(64)
        .min(limit.saturating_add(MARK))
        .min(MAX_PIECE_ROOM)
}

/// What an accepted piece gave: the raw bytes it consumed, the bytes it wrote, their checksum.
type PieceOut = (usize, usize, u32);

/// Decodes the piece `data[r]` of a stream into `out`: with [`terminator`] appended unless it is
/// the `last` piece (which the stream's own final block ends). Gives the raw bytes consumed, the
/// bytes written and their checksum when the piece is accepted.
fn decode_piece(
    data: &[u8],
    r: Range<usize>,
    last: bool,
    check: Check,
    out: &mut [MaybeUninit<u8>],
) -> Option<PieceOut> {
    let (consumed, written) = if last {
        decode_last(&data[r], out)?
    } else {
        let t = terminator();
        let mut input = Vec::with_capacity(r.len() + t.len());
        input.extend_from_slice(&data[r.clone()]);
        input.extend_from_slice(t);
        (r.len(), decode_inner(&input, out)?)
    };
    // SAFETY: libdeflate initialised the first `written` bytes of `out`.
    let bytes = unsafe { std::slice::from_raw_parts(out.as_ptr().cast::<u8>(), written) };
    Some((consumed, written, check.of(bytes)))
}

/// Whether a parallel decode is worth trying on a raw stream of `len` bytes.
fn worth_it(len: usize, tuning: Tuning) -> bool {
    len >= tuning.min_input && threads::get_num_threads() > 1
}

/// Views initialised bytes as possibly uninitialised memory, to be written by libdeflate or
/// [`gather`].
fn as_uninit(bytes: &mut [u8]) -> &mut [MaybeUninit<u8>] {
    // SAFETY: same layout; writing through the view only ever stores initialised bytes (libdeflate
    // and `gather` write bytes, never "uninitialised"), so `bytes` stays initialised.
    unsafe { &mut *(bytes as *mut [u8] as *mut [MaybeUninit<u8>]) }
}

/// The first `n` bytes of the spare capacity of `out`, reserved first if there are fewer; `None`
/// if they cannot be allocated.
fn spare(out: &mut Vec<u8>, n: usize) -> Option<&mut [MaybeUninit<u8>]> {
    if out.capacity() - out.len() < n {
        out.try_reserve_exact(n).ok()?;
    }
    Some(&mut out.spare_capacity_mut()[..n])
}

/// Decodes the raw deflate stream at the start of `data` into `out` from byte `written` on,
/// growing it up to `limit` bytes in all, in parallel. `None` when the stream is too short to be
/// worth it or anything went wrong (bad data, too large): the caller then runs its serial decoder
/// from the start, whatever was written past `written` being garbage.
pub(crate) fn inflate_grow(
    data: &[u8],
    out: &mut dyn GrowBuf,
    written: usize,
    limit: usize,
    check: Check,
    tuning: Tuning,
) -> Option<Decoded> {
    if let Some(d) = direct_grow(data, out, written, limit, check, tuning) {
        return Some(d);
    }
    let (cuts, left, room0) = plan(data, written, limit, tuning)?;
    let room0 = hinted(room0, out.buf().len().saturating_sub(written));
    if out.buf().len() < written + room0 {
        out.grow(written + room0).ok()?;
    }
    let first = as_uninit(&mut out.buf()[written..written + room0]);
    let pieces = decode_pieces(data, &cuts, first, check, left);
    if pieces.is_empty() {
        return None;
    }
    let (total, sum) = totals(&pieces, check);
    if total > left {
        return None;
    }
    let end = written + total;
    if out.buf().len() < end {
        out.grow(end).ok()?;
    }
    let start1 = written + pieces[0].written;
    gather(&pieces, as_uninit(&mut out.buf()[start1..end]));
    let done = pieces.len();
    if let Some(all) = all_accepted(&cuts, &pieces, end, sum) {
        return Some(all);
    }
    // Piece `done` was not accepted: the rest serially, with the window decoded so far.
    let (used, new_end) = serial_rest_grow(&data[cuts[done]..], out, written, end, limit)?;
    let rest = &out.buf()[end..new_end];
    Some(resumed(cuts[done] + used, done, sum, end, rest, check))
}

/// The result of a decode whose first `pieces` pieces were accepted, their output ending at `end`
/// with checksum `sum`, and whose serial rest gave the output `rest` after `end`; `consumed` raw
/// bytes in all.
fn resumed(
    consumed: usize,
    pieces: usize,
    sum: u32,
    end: usize,
    rest: &[u8],
    check: Check,
) -> Decoded {
    Decoded {
        consumed,
        end: end + rest.len(),
        check: check.combine(sum, check.of(rest), rest.len()),
        pieces,
        direct: false,
    }
}

/// As [`inflate_grow`], appending to a `Vec` (its spare capacity, not zeroed first).
pub(crate) fn inflate_append(
    data: &[u8],
    out: &mut Vec<u8>,
    limit: usize,
    check: Check,
    tuning: Tuning,
) -> Option<Decoded> {
    let written = out.len();
    if let Some(d) = direct_vec(data, out, limit, check, tuning) {
        return Some(d);
    }
    let (cuts, left, room0) = plan(data, written, limit, tuning)?;
    let room0 = hinted(room0, out.capacity() - written);
    let pieces = decode_pieces(data, &cuts, spare(out, room0)?, check, left);
    if pieces.is_empty() {
        return None;
    }
    // SAFETY: libdeflate initialised piece 0's bytes after `written`.
    unsafe { out.set_len(written + pieces[0].written) };
    let (total, sum) = totals(&pieces, check);
    if total > left {
        out.truncate(written);
        return None;
    }
    let end = written + total;
    if out.try_reserve_exact(end - out.len()).is_err() {
        out.truncate(written);
        return None;
    }
    let n1 = end - out.len();
    gather(&pieces, &mut out.spare_capacity_mut()[..n1]);
    // SAFETY: `gather` wrote all `n1` bytes.
    unsafe { out.set_len(end) };
    let done = pieces.len();
    if let Some(all) = all_accepted(&cuts, &pieces, end, sum) {
        return Some(all);
    }
    let Some((used, new_end)) = serial_rest_vec(&data[cuts[done]..], out, written, limit) else {
        out.truncate(written);
        return None;
    };
    Some(resumed(
        cuts[done] + used,
        done,
        sum,
        end,
        &out[end..new_end],
        check,
    ))
}

/// Decodes the raw deflate stream at the start of `data` into the start of `out` in parallel.
/// `None` when not worth it, on any error, or when the stream does not fill `out` exactly (the
/// caller's serial decoder then gives the precise error).
pub(crate) fn inflate_slice(
    data: &[u8],
    out: &mut [u8],
    check: Check,
    tuning: Tuning,
) -> Option<Decoded> {
    if !worth_it(data.len(), tuning) {
        return None;
    }
    let len = out.len();
    if let Some(plan) = direct_plan(data, Some(len), true, len, tuning) {
        if let Some(d) = decode_direct(data, &plan, as_uninit(out), check, true) {
            return Some(d);
        }
    }
    let cuts = cut_points(data, tuning);
    if cuts.len() < 2 {
        return None;
    }
    let pieces = decode_pieces(data, &cuts, as_uninit(out), check, len);
    if pieces.len() != cuts.len() {
        // A piece was not accepted: the serial path does the whole stream (rare for
        // `decode_into`, whose callers mostly read their own streams).
        return None;
    }
    let (total, sum) = totals(&pieces, check);
    if total != len {
        return None;
    }
    gather(&pieces, as_uninit(&mut out[pieces[0].written..]));
    let last = pieces.len() - 1;
    Some(Decoded {
        consumed: cuts[last] + pieces[last].consumed,
        end: len,
        check: sum,
        pieces: cuts.len(),
        direct: false,
    })
}

/// What [`compare_with_serial`] saw the parallel entry points do.
#[cfg(any(test, fuzzing))]
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub(crate) struct Seen {
    /// The most pieces any entry point decoded in parallel (0 when every one declined).
    pub pieces: usize,
    /// How many entry points decoded straight into place.
    pub direct: usize,
}

/// Decodes the raw deflate stream `raw` with each parallel entry point (tiny pieces; streams in
/// `segment`-byte segments decoded straight into place) and with the serial decoder, and panics
/// if a parallel result differs from the serial one: the check of the tests and the fuzz target.
#[cfg(any(test, fuzzing))]
pub(crate) fn compare_with_serial(raw: &[u8], min_piece: usize, segment: usize) -> Seen {
    let tuning = Tuning {
        min_input: 0,
        min_piece: min_piece.max(1),
        segment,
    };
    const LIMIT: usize = 1 << 26;
    let serial = super::inflate(raw, false, LIMIT);
    let mut seen = Seen::default();
    let mut check_same = |d: &Decoded, got: &[u8]| {
        let (want, used) = match &serial {
            Ok(s) => s,
            Err(e) => panic!("the parallel decoder accepted a stream the serial one rejects: {e}"),
        };
        assert!(got == &want[..], "parallel and serial outputs differ");
        assert_eq!(d.consumed, *used, "parallel and serial stream ends differ");
        assert_eq!(d.check, Check::Crc32.of(want));
        seen.pieces = seen.pieces.max(d.pieces);
        seen.direct += usize::from(d.direct);
    };
    let n = serial.as_ref().map_or(raw.len(), |(v, _)| v.len());
    let prefix = b"prefix";
    // Appending to a Vec that already holds bytes: no spare capacity, the decoded size as spare
    // capacity (a size hint, as gzip's trailer gives), a wrong hint.
    for hint in [0, n, n / 2 + 1] {
        let mut out = Vec::with_capacity(prefix.len() + hint);
        out.extend_from_slice(prefix);
        match inflate_append(raw, &mut out, LIMIT + prefix.len(), Check::Crc32, tuning) {
            Some(d) => {
                assert_eq!(d.end, out.len());
                assert_eq!(&out[..prefix.len()], prefix);
                check_same(&d, &out[prefix.len()..]);
            }
            None => assert_eq!(out, prefix),
        }
        // Into a growing buffer, after `prefix`, with `hint` bytes of room already there.
        let mut out = prefix.to_vec();
        out.resize(prefix.len() + hint, 0);
        if let Some(d) = inflate_grow(raw, &mut out, prefix.len(), LIMIT, Check::Crc32, tuning) {
            assert_eq!(&out[..prefix.len()], prefix);
            check_same(&d, &out[prefix.len()..d.end]);
        }
    }
    // Into a slice of the serial output's size, and one byte off either way.
    for len in [n, n + 1, n.saturating_sub(1)] {
        let mut out = vec![0u8; len];
        if let Some(d) = inflate_slice(raw, &mut out, Check::Crc32, tuning) {
            assert_eq!(d.end, len);
            check_same(&d, &out);
        }
    }
    seen
}

/// Fuzzing hook, not part of the API: builds a raw deflate stream from `input` (as is, or `input`
/// compressed in small independent segments and then damaged, as its first bytes say), decodes
/// it with the parallel decoder (tiny pieces) and the serial one, and panics if they differ.
#[cfg(any(test, fuzzing))]
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
            if deflate_segments(rest, i32::from(level % 10), segment, Check::Crc32, &mut raw)
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
    compare_with_serial(&raw, min_piece, segment);
}

/// Hard to compress bytes with some structure, so that a few MiB stay over 1 MiB compressed:
/// test data for the zlib and gzip codecs' parallel paths.
#[cfg(test)]
pub(crate) fn noisy_test_bytes(n: usize) -> Vec<u8> {
    let mut x = 0x2545_f491_4f6c_dd1du64;
    (0..n)
        .map(|i| {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            if i % 4 == 3 {
                (i >> 12) as u8
            } else {
                x as u8
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::encode::compress_segment;
    use super::*;
    use crate::backend::deflate::{deflate, encode_zlib_with};
    use flate2::{Compress, Compression, FlushCompress, FlushDecompress, Status};

    fn two_threads() {
        if threads::get_num_threads() < 2 {
            threads::set_num_threads(2).unwrap();
        }
    }

    /// Sample-like data: a smooth float32 field, noisy bytes, an int64 ramp, concatenated.
    fn sample(n: usize, seed: u64) -> Vec<u8> {
        let mut x = seed.wrapping_mul(0x9e37_79b9_7f4a_7c15) | 1;
        let mut v = Vec::with_capacity(n + 8);
        let mut i = 0u64;
        while v.len() < n {
            match (i / 5000) % 3 {
                0 => v.extend_from_slice(&((i as f32) * 0.001).sin().to_le_bytes()),
                1 => {
                    x ^= x << 13;
                    x ^= x >> 7;
                    x ^= x << 17;
                    v.extend_from_slice(&(x as u32).to_le_bytes());
                }
                _ => v.extend_from_slice(&(i as i64).to_le_bytes()),
            }
            i += 1;
        }
        v.truncate(n);
        v
    }

    fn inflate_all(raw: &[u8]) -> Vec<u8> {
        let (v, used) = crate::backend::deflate::inflate(raw, false, 1 << 30).unwrap();
        assert_eq!(used, raw.len());
        v
    }

    #[test]
    fn checksums_combine() {
        let d = sample(100_000, 1);
        for cut in [0, 1, 5552, 65521, 65522, 99_999, 100_000] {
            let (a, b) = d.split_at(cut);
            for check in [Check::Adler32, Check::Crc32] {
                assert_eq!(
                    check.combine(check.of(a), check.of(b), b.len()),
                    check.of(&d),
                    "{check:?} at {cut}"
                );
            }
        }
    }

    #[test]
    fn zlib_header_is_zlib_rs_header() {
        for level in -1..=9 {
            let enc = deflate(b"abc", level, true).unwrap();
            assert_eq!(zlib_header(level), [enc[0], enc[1]], "level {level}");
        }
    }

    #[test]
    fn segmented_streams_round_trip() {
        two_threads();
        let s = 4096;
        for n in [0, 1, s - 1, s, s + 1, 2 * s, 3 * s + 7, 10 * s + 5] {
            let d = sample(n, n as u64);
            for level in [0, 1, 6, 9] {
                let mut raw = Vec::new();
                let crc = deflate_segments(&d, level, s, Check::Crc32, &mut raw).unwrap();
                assert_eq!(crc, crc32fast::hash(&d));
                assert_eq!(inflate_all(&raw), d, "n {n} level {level}");
                // One stream per segment, each ended by a full flush but the last.
                let mut one = Vec::new();
                if n == 0 {
                    compress_segment(&d, zlib_rs_level(level), true, &mut one).unwrap();
                }
                for (i, seg) in d.chunks(s).enumerate() {
                    let last = (i + 1) * s >= n;
                    compress_segment(seg, zlib_rs_level(level), last, &mut one).unwrap();
                    if !last {
                        assert!(one.ends_with(&[0, 0, 0xff, 0xff]));
                    }
                }
                assert_eq!(one, raw);
                let z = encode_zlib_with(&d, level, s).unwrap();
                if n <= s {
                    assert_eq!(z, deflate(&d, level, true).unwrap());
                } else {
                    assert_eq!(&z[2..z.len() - 4], &raw[..]);
                }
                let mut dz = flate2::Decompress::new(true);
                let mut back = Vec::with_capacity(n + 1);
                let st = dz
                    .decompress_vec(&z, &mut back, FlushDecompress::Finish)
                    .unwrap();
                assert_eq!(st, Status::StreamEnd, "zlib-rs checks the Adler-32");
                assert_eq!(back, d);
                if n > 3 * s {
                    let seen = compare_with_serial(&raw, 256, s);
                    assert!(seen.pieces > 1);
                    // Straight into place: Vec and growing buffer, without a hint and with the
                    // right one, and the slice of the right size.
                    assert!(seen.direct >= 4, "n {n} level {level}: {seen:?}");
                }
            }
        }
    }

    /// A stream from one flate2 compressor flushed every `every` bytes (window kept: later pieces
    /// refer to data before the cut).
    fn flushed(d: &[u8], every: usize, flush: FlushCompress, level: u32) -> Vec<u8> {
        let mut c = Compress::new(Compression::new(level), false);
        let mut out = Vec::with_capacity(d.len() * 2 + 1024);
        let chunks: Vec<&[u8]> = d.chunks(every).collect();
        for (i, chunk) in chunks.iter().enumerate() {
            let f = if i + 1 == chunks.len() {
                FlushCompress::Finish
            } else {
                flush
            };
            let before = c.total_in();
            c.compress_vec(chunk, &mut out, f).unwrap();
            assert_eq!(c.total_in() - before, chunk.len() as u64);
        }
        out
    }

    #[test]
    fn shared_window_streams_fall_back_and_match() {
        two_threads();
        // Repetitive data so that matches reach back across every flush.
        let unit = sample(3000, 7);
        let d: Vec<u8> = unit.iter().cycle().take(200_000).copied().collect();
        let raw = flushed(&d, 5000, FlushCompress::Sync, 6);
        assert_eq!(inflate_all(&raw), d);
        // Piece 0 only: the others refer back past their start.
        assert_eq!(
            compare_with_serial(&raw, 512, 5000),
            Seen {
                pieces: 1,
                direct: 0
            }
        );
        // A full flush forgets the window: every piece decodes on its own.
        let raw = flushed(&d, 5000, FlushCompress::Full, 6);
        let seen = compare_with_serial(&raw, 512, 5000);
        assert!(seen.pieces > 1 && seen.direct == 5, "{seen:?}");
        // Taken for segments of another size: not into place, but in parallel all the same.
        let seen = compare_with_serial(&raw, 512, 4096);
        assert!(seen.pieces > 1 && seen.direct == 0, "{seen:?}");
        // Single-segment streams have no candidates: no parallel decode at all.
        let raw = deflate(&sample(300_000, 3), 1, false).unwrap();
        assert_eq!(compare_with_serial(&raw, 512, 4096), Seen::default());
    }

    #[test]
    fn stored_blocks_with_marker_bytes() {
        two_threads();
        // Level 0: stored blocks whose contents hold `00 00 ff ff` (false candidates), some
        // followed by what looks like a final stored block.
        let mut d = Vec::new();
        let mut i = 0u32;
        while d.len() < 400_000 {
            d.extend_from_slice(&[0, 0, 0xff, 0xff]);
            if i.is_multiple_of(3) {
                d.extend_from_slice(&[0x01, 0x00, 0x00, 0xff, 0xff]);
            }
            d.extend_from_slice(&i.to_le_bytes()[..(i % 4) as usize]);
            i += 1;
        }
        let raw = deflate(&d, 0, false).unwrap();
        for min_piece in [64, 1000, 4096] {
            compare_with_serial(&raw, min_piece, 4096);
        }
        // Segmented at level 0 too: true boundaries among many false ones.
        let mut seg = Vec::new();
        deflate_segments(&d, 0, 50_000, Check::Crc32, &mut seg).unwrap();
        assert_eq!(inflate_all(&seg), d);
        for min_piece in [64, 1000, 4096] {
            compare_with_serial(&seg, min_piece, 50_000);
        }
        // The terminator itself in the data, as stored bytes.
        let mut t = d.clone();
        t.extend_from_slice(terminator());
        let raw = deflate(&t, 0, false).unwrap();
        compare_with_serial(&raw, 64, 4096);
    }

    #[test]
    fn damaged_segmented_streams() {
        two_threads();
        let d = sample(120_000, 5);
        let mut raw = Vec::new();
        deflate_segments(&d, 1, 8192, Check::Crc32, &mut raw).unwrap();
        for cut in [
            1,
            100,
            raw.len() / 3,
            raw.len() / 2,
            raw.len() - 5,
            raw.len() - 1,
        ] {
            assert_eq!(compare_with_serial(&raw[..cut], 256, 8192).direct, 0);
        }
        let mut x = 12345u64;
        for _ in 0..60 {
            x = x
                .wrapping_mul(6364136223846793005)
                .wrapping_add(1442695040888963407);
            let mut bad = raw.clone();
            let pos = (x >> 33) as usize % bad.len();
            bad[pos] ^= 1 << ((x >> 20) % 8);
            compare_with_serial(&bad, 256, 8192);
        }
        // Trailing bytes after the stream are not consumed.
        let mut more = raw.clone();
        more.extend_from_slice(&[0, 0, 0xff, 0xff, 1, 2, 3]);
        assert!(compare_with_serial(&more, 256, 8192).pieces > 1);
    }

    #[test]
    fn into_place_around_segment_multiples() {
        two_threads();
        let s = SEGMENT;
        for n in [0, 1, s - 1, s, s + 1, 2 * s, 5 * s + 7] {
            let d = sample(n, n as u64 + 11);
            let mut raw = Vec::new();
            deflate_segments(&d, 1, s, Check::Crc32, &mut raw).unwrap();
            let seen = compare_with_serial(&raw, 4096, s);
            if n <= s {
                // One segment, no candidate: serial.
                assert_eq!(seen, Seen::default(), "n {n}");
                continue;
            }
            // Every entry point (7) but the Vec and growing buffer with a wrong size hint (n/2 +
            // 1: implausible for the segment count, so not tried, or plausible for n = 2s, tried
            // and dropped), and the slice of the exact size when the last piece is shorter than
            // the terminator spill (n = s + 1).
            let want = if n == s + 1 { 4 } else { 5 };
            assert_eq!(seen.direct, want, "n {n}: {seen:?}");
            assert!(seen.pieces >= 2);
            // Cut streams: never into place (the last piece does not end the stream).
            for cut in [raw.len() / 2, raw.len() - 1, raw.len() - 100] {
                assert_eq!(compare_with_serial(&raw[..cut], 4096, s).direct, 0);
            }
            // Flipped bits: whatever the serial decoder makes of them.
            for k in 1..6 {
                let mut bad = raw.clone();
                let at = k * raw.len() / 6;
                bad[at] ^= 0x10;
                compare_with_serial(&bad, 4096, s);
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
    fn candidates_are_found_everywhere() {
        let mut data = vec![7u8; 100];
        for at in [0usize, 1, 5, 7, 8, 9, 50, 93, 96] {
            let mut d = data.clone();
            d[at..at + 4].copy_from_slice(&[0, 0, 0xff, 0xff]);
            assert_eq!(next_candidate(&d, 0), Some(at + 4), "at {at}");
            assert_eq!(next_candidate(&d, at + 1), None);
        }
        data[10..14].copy_from_slice(&[0, 0xff, 0xff, 0xff]);
        assert_eq!(next_candidate(&data, 0), None);
    }
}
