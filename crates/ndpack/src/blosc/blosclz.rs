//! BloscLZ: the LZ77 codec of c-blosc, compatible with c-blosc 1.x and c-blosc2.
//!
//! This module owns the BloscLZ stream format (see `shared/specs/blosc.md` §2): a fully
//! bounds-checked decoder for everything the c-blosc 1.x and c-blosc2 encoders write (the stream
//! format is the same in both generations; only the encoders' heuristics differ), and an encoder
//! with either generation's heuristics: [`compress`] (c-blosc2's, for Blosc2 chunks) and
//! [`compress_blosc1`] (c-blosc 1.x's, for Blosc1 chunks: byte-identical to numcodecs').
//!
//! # Stream format
//!
//! A sequence of tokens, each opened by a control byte `ctrl` (the first one is read as
//! `ctrl & 31`, because encoders set bit 5 of byte 0 as a format marker):
//! - `ctrl < 32`: a literal run of `ctrl + 1` bytes follows;
//! - otherwise a match: `L = ctrl >> 5`; when `L == 7` extension bytes are added to `L` up to and
//!   including the first one that is not 255; then the low distance byte `lo`. The match copies
//!   `L + 2` bytes from `(ctrl & 31) << 8 | lo` + 1 bytes back, or, when that 13-bit field is
//!   all ones, from `8192 + (b1 << 8 | b0)` bytes back, where `b1 b0` follow (big-endian).
//!
//! Like c-blosc's decoder, a match is only executed when another token follows it, so every
//! stream ends with a literal run; and a token whose fields run past the end of the input is an
//! error.

use crate::error::{Error, Result};

/// Longest literal run of one token.
const MAX_COPY: usize = 32;
/// Largest biased distance of a near match (a 13-bit field, all ones reserved for far matches).
const MAX_DISTANCE: usize = 8191;
/// Matches must be strictly closer than this (the encoder's limit, as in c-blosc).
const MAX_FARDISTANCE: usize = 65535 + MAX_DISTANCE - 1;

/// Decompresses a BloscLZ stream into `dst`; returns the number of bytes written.
///
/// The caller compares the result with the size it expects (BloscLZ streams carry no length).
/// Bytes of `dst` past the returned length may be overwritten (the decoder copies in fixed-size
/// steps where it can).
///
/// Corrupt or truncated input is an error, never a panic or an out-of-bounds access: literal
/// runs or matches that would write past `dst`, matches that reach before the start of the
/// output and tokens cut short by the end of `src` are rejected, exactly where c-blosc's
/// `blosclz_decompress` rejects them.
pub fn decompress(src: &[u8], dst: &mut [u8]) -> Result<usize> {
    let n = src.len();
    if n == 0 {
        return Ok(0);
    }
    let out_len = dst.len();
    let mut ip = 1usize;
    let mut op = 0usize;
    let mut ctrl = (src[0] & 31) as usize;
    loop {
        if ctrl >= 32 {
            // A match.
            let mut len = (ctrl >> 5) - 1;
            let hi = (ctrl & 31) << 8;
            if len == 6 {
                loop {
                    if ip + 1 >= n {
                        return Err(truncated_match(ip));
                    }
                    let code = src[ip];
                    ip += 1;
                    len += code as usize;
                    if code != 255 {
                        break;
                    }
                }
            } else if ip + 1 >= n {
                return Err(truncated_match(ip));
            }
            let lo = src[ip] as usize;
            ip += 1;
            len += 3;
            let mut distance = hi + lo + 1;
            if lo == 255 && hi == 31 << 8 {
                if ip + 1 >= n {
                    return Err(truncated_match(ip));
                }
                let far = (src[ip] as usize) << 8 | src[ip + 1] as usize;
                ip += 2;
                distance = far + MAX_DISTANCE + 1;
            }
            if len > out_len - op {
                return Err(Error::corrupt(format!(
                    "blosclz: a match of {len} bytes at output offset {op} overruns the \
                     {out_len}-byte output"
                )));
            }
            if distance > op {
                return Err(Error::corrupt(format!(
                    "blosclz: a match at output offset {op} refers {distance} bytes back"
                )));
            }
            if ip >= n {
                // c-blosc stops here without copying: a stream never ends with a match.
                break;
            }
            ctrl = src[ip] as usize;
            ip += 1;
            copy_match(dst, op, distance, len);
            op += len;
        } else {
            // A literal run.
            let run = ctrl + 1;
            if run > out_len - op {
                return Err(Error::corrupt(format!(
                    "blosclz: a literal run of {run} bytes at output offset {op} overruns the \
                     {out_len}-byte output"
                )));
            }
            if run > n - ip {
                return Err(Error::truncated(format!(
                    "blosclz: a literal run of {run} bytes at input offset {ip} passes the end \
                     of the {n}-byte stream"
                )));
            }
            if ip + MAX_COPY <= n && op + MAX_COPY <= out_len {
                // A fixed-size copy is faster; the bytes past the run are rewritten later.
                dst[op..op + MAX_COPY].copy_from_slice(&src[ip..ip + MAX_COPY]);
            } else {
                dst[op..op + run].copy_from_slice(&src[ip..ip + run]);
            }
            op += run;
            ip += run;
            if ip >= n {
                break;
            }
            ctrl = src[ip] as usize;
            ip += 1;
        }
    }
    Ok(op)
}

fn truncated_match(ip: usize) -> Error {
    Error::truncated(format!(
        "blosclz: the match token at input offset {ip} is cut short"
    ))
}

/// Copies `len` bytes from `distance` bytes back to `dst[op..]`, with LZ77 overlap semantics
/// (the result is what a byte-by-byte forward copy gives). `distance` is in `1..=op` and
/// `op + len <= dst.len()`.
#[inline]
fn copy_match(dst: &mut [u8], op: usize, distance: usize, len: usize) {
    let from = op - distance;
    if distance >= 8 && op + len + 16 <= dst.len() {
        // 16- or 8-byte steps: each one reads bytes at least a step behind what it writes, so it
        // sees the bytes the previous steps wrote, as a forward copy does. The last step may
        // write up to 15 bytes past the match; later tokens rewrite them.
        let p = dst.as_mut_ptr();
        let step = if distance >= 16 { 16 } else { 8 };
        let mut k = 0;
        while k < len {
            // SAFETY: `op + k + step <= op + len + 15 < dst.len()` and `from < op`, so both
            // ranges are inside `dst`; they are `distance >= step` apart, so they do not overlap.
            unsafe {
                if step == 16 {
                    std::ptr::copy_nonoverlapping(p.add(from + k), p.add(op + k), 16);
                } else {
                    std::ptr::copy_nonoverlapping(p.add(from + k), p.add(op + k), 8);
                }
            }
            k += step;
        }
    } else if distance < 8 && op + len + 16 <= dst.len() {
        // A close match (a run of a short pattern): the output from `op` repeats the `distance`
        // bytes before it, so one 8-byte word of that pattern, stored every `period` bytes (the
        // largest multiple of `distance` up to 8), writes it. The last store may write up to 7
        // bytes past the match; later tokens rewrite them.
        let mut word = [0u8; 8];
        word[..distance].copy_from_slice(&dst[from..op]);
        for i in distance..8 {
            word[i] = word[i - distance];
        }
        const PERIOD: [usize; 8] = [8, 8, 8, 6, 8, 5, 6, 7];
        let period = PERIOD[distance];
        let mut k = 0;
        while k < len {
            dst[op + k..op + k + 8].copy_from_slice(&word);
            k += period;
        }
    } else if len <= 32 {
        // A short match: a byte loop is a forward copy, right for overlapping matches too.
        for k in 0..len {
            dst[op + k] = dst[from + k];
        }
    } else if distance >= len {
        dst.copy_within(from..from + len, op);
    } else if distance == 1 {
        let b = dst[from];
        dst[op..op + len].fill(b);
    } else {
        // The output is periodic with period `distance`: copy the first period, then double.
        let mut done = 0;
        let mut chunk = distance;
        while done < len {
            let step = chunk.min(len - done);
            dst.copy_within(from..from + step, op + done);
            done += step;
            // What is written so far is `distance + done` bytes of the same pattern starting at
            // `from`; copying from `from` keeps the phase because `done` stays a multiple of it.
            chunk = done - done % distance;
        }
    }
}

#[inline(always)]
fn read_u32(buf: &[u8], i: usize) -> u32 {
    // One bounds check and one load (four indexed bytes did not always merge into one).
    u32::from_le_bytes(buf[i..i + 4].try_into().expect("4 bytes"))
}

/// The largest hash table (log2); tables are this size so that masked indexes need no checks.
const MAX_HASHLOG: u32 = 14;
const HTAB_LEN: usize = 1 << MAX_HASHLOG;

#[inline(always)]
fn hash(seq: u32, hashlog: u32) -> usize {
    // `hashlog <= MAX_HASHLOG`, so the mask changes nothing but lets the compiler drop the
    // table's bounds checks.
    (seq.wrapping_mul(2_654_435_761) >> (32 - hashlog)) as usize & (HTAB_LEN - 1)
}

#[inline(always)]
fn read_u64(buf: &[u8], i: usize) -> u64 {
    u64::from_le_bytes(buf[i..i + 8].try_into().expect("8 bytes"))
}

/// The match c-blosc's parser takes at `anchor` against the table's candidate `refpos <= anchor`:
/// its end (one past the first mismatching byte, or `bound`), or `None` when the candidate is out
/// of reach (`anchor - refpos` not in `1..MAX_FARDISTANCE`) or fewer than `min_equal` bytes
/// are equal, so that the match, moved back by `ipshift`, would be shorter than `minlen`
/// (`min_equal = ipshift + minlen - 1`, 5 to 8; `need` is [`leading_bytes`]`(min_equal)`).
/// `here` holds the 8 bytes at `anchor`, and `anchor + 12 <= bound + 1 = src.len()`.
///
/// c-blosc compares 4 bytes, then extends the match and checks its length; this compares 8 bytes
/// of each side at once and decides with one test, since almost every candidate on noisy data
/// ends within them (the branches c-blosc takes there are the encoder's main cost on such data).
#[inline(always)]
fn find_match(
    src: &[u8],
    anchor: usize,
    here: u64,
    refpos: usize,
    bound: usize,
    need: u64,
) -> Option<usize> {
    let distance = anchor - refpos;
    let x = here ^ read_u64(src, refpos);
    let in_reach = distance.wrapping_sub(1) < MAX_FARDISTANCE - 1;
    if !(in_reach & (x & need == 0)) {
        return None;
    }
    // Leading equal bytes among the 8 (8 when all are).
    let equal = (x.trailing_zeros() / 8) as usize;
    Some(if equal < 8 {
        // `anchor + equal < bound`: the mismatch is found before the bound.
        anchor + equal + 1
    } else {
        match_end(src, anchor + 8, refpos + 8, bound)
    })
}

/// The mask of the first `n` (1 to 8) bytes of a little-endian `u64`.
fn leading_bytes(n: usize) -> u64 {
    u64::MAX >> (64 - 8 * n)
}

/// Where c-blosc's match extension stops for a match whose bytes before `p` (compared with those
/// before `r`) are known to be equal: one past the first mismatching byte from `p` on, or
/// `bound` if none is found before it. `r < p` and `bound <= src.len()`.
#[inline(always)]
fn match_end(src: &[u8], mut p: usize, mut r: usize, bound: usize) -> usize {
    #[cfg(target_arch = "x86_64")]
    {
        // Long matches (runs, repeated rows) are most of the encoder's time: compare 32 bytes
        // a step with SSE2 (x86-64's baseline), as c-blosc does with its SIMD `get_match`.
        use std::arch::x86_64::_mm_movemask_epi8;
        use std::arch::x86_64::{__m128i, _mm_and_si128, _mm_cmpeq_epi8, _mm_loadu_si128};
        let base = src.as_ptr();
        while p + 32 <= bound {
            // SAFETY: `r < p` and `p + 32 <= bound <= src.len()`, so both 32-byte ranges are
            // inside `src`; SSE2 is always enabled on x86-64.
            let (eq_lo, eq_hi) = unsafe {
                let load = |at: usize| _mm_loadu_si128(base.add(at).cast::<__m128i>());
                (
                    _mm_cmpeq_epi8(load(p), load(r)),
                    _mm_cmpeq_epi8(load(p + 16), load(r + 16)),
                )
            };
            // SAFETY: SSE2 is always enabled on x86-64.
            if unsafe { _mm_movemask_epi8(_mm_and_si128(eq_lo, eq_hi)) } != 0xFFFF {
                // SAFETY: as above.
                let lo = unsafe { _mm_movemask_epi8(eq_lo) } as u32;
                // SAFETY: as above.
                let hi = unsafe { _mm_movemask_epi8(eq_hi) } as u32;
                let differ = !(lo | hi << 16);
                return p + differ.trailing_zeros() as usize + 1;
            }
            p += 32;
            r += 32;
        }
    }
    while p + 8 <= bound {
        let a = u64::from_le_bytes(src[p..p + 8].try_into().expect("8 bytes"));
        let b = u64::from_le_bytes(src[r..r + 8].try_into().expect("8 bytes"));
        let x = a ^ b;
        if x != 0 {
            return p + (x.trailing_zeros() / 8) as usize + 1;
        }
        p += 8;
        r += 8;
    }
    while p < bound {
        if src[p] != src[r] {
            return p + 1;
        }
        p += 1;
        r += 1;
    }
    bound
}

/// Estimates the compression ratio of `window` with the encoder's parser (c-blosc's "entropy
/// probing"), on at most `1 << hashlog` bytes, with matches moved back by `ipshift` and kept when
/// at least `minlen` long.
fn probe_ratio(window: &[u8], hashlog: u32, ipshift: usize, minlen: usize) -> f64 {
    // The table is sized to the hash (zeroing 64 KiB for a 16 KiB probe cost as much as the
    // probe itself on small split streams).
    match hashlog {
        12 => probe_ratio_in::<{ 1 << 12 }>(window, hashlog, ipshift, minlen),
        13 => probe_ratio_in::<{ 1 << 13 }>(window, hashlog, ipshift, minlen),
        _ => probe_ratio_in::<HTAB_LEN>(window, hashlog, ipshift, minlen),
    }
}

/// [`probe_ratio`] with a table of `T >= 1 << hashlog` entries. The probe reads at most
/// `1 << hashlog <= 2^14` bytes, so positions fit in `u16` entries (as in c-blosc): half the
/// table to zero and to keep in cache.
fn probe_ratio_in<const T: usize>(
    window: &[u8],
    hashlog: u32,
    ipshift: usize,
    minlen: usize,
) -> f64 {
    debug_assert!(hashlog <= 16);
    let limit_len = window.len().min(1 << hashlog);
    let mut htab = [0u16; T];
    let mut oc = 5usize;
    let mut copy = 4usize;
    if limit_len < 13 {
        return 0.0;
    }
    let bound = limit_len - 1;
    let limit = limit_len - 12;
    let need = leading_bytes(ipshift + minlen - 1);
    let mut ip = 0usize;
    while ip < limit {
        let anchor = ip;
        let here = read_u64(window, ip);
        let h = hash(here as u32, hashlog) & (T - 1); // no-op mask: drops the bounds check
        let refpos = usize::from(htab[h]);
        htab[h] = anchor as u16;
        if let Some(end) = find_match(window, anchor, here, refpos, bound, need) {
            let distance = anchor - refpos - 1;
            let len = end - ipshift - anchor;
            ip = anchor + len;
            if copy == 0 {
                oc -= 1;
            }
            copy = 0;
            if len >= 7 {
                oc += (len - 7) / 255 + 1;
            }
            oc += if distance < MAX_DISTANCE { 2 } else { 4 };
            htab[hash(read_u32(window, ip), hashlog) & (T - 1)] = ip as u16;
            ip += 2;
            oc += 1;
            continue;
        }
        oc += 1;
        ip = anchor + 1;
        copy += 1;
        if copy == MAX_COPY {
            copy = 0;
            oc += 1;
        }
    }
    ip as f64 / oc as f64
}

/// Compresses `src` into `dst` at `clevel` (1-9; higher levels try harder). Returns the
/// compressed size, or 0 when the output (plus 2 bytes of slack, as c-blosc needs) would not fit
/// in `dst`, would not be smaller than the
/// input, or when the input does not look compressible enough for BloscLZ to pay (c-blosc's
/// early give-up); callers then store the bytes raw. Inputs under 16 bytes, outputs under 66
/// bytes and `clevel == 0` also give 0, as in c-blosc.
///
/// The output always starts and ends with a literal run, as c-blosc's decoders require.
///
/// These are c-blosc2's heuristics (Blosc2 chunks); [`compress_blosc1`] has c-blosc 1.x's.
pub fn compress(clevel: u8, src: &[u8], dst: &mut [u8]) -> usize {
    compress_inner(clevel, src, dst, Heuristics::Blosc2).unwrap_or(0)
}

/// [`compress`] with c-blosc 1.x's heuristics (Blosc1 chunks, numcodecs' `Blosc`), which give
/// byte-identical streams: the probe reads the last quarter of the input (at most 4 KiB of it,
/// with a 2^12 table, matches moved back 3 bytes and kept from 3), and the encoder moves matches
/// back 3 bytes and keeps them from 3 when the chunk's blocks are not `split` or the probe
/// ratio is under 4 (else 4 and 4, as c-blosc2).
pub fn compress_blosc1(clevel: u8, src: &[u8], dst: &mut [u8], split: bool) -> usize {
    compress_inner(clevel, src, dst, Heuristics::Blosc1 { split }).unwrap_or(0)
}

/// The encoder heuristics of one c-blosc generation.
#[derive(Clone, Copy)]
enum Heuristics {
    /// c-blosc 1.x; `split`: the chunk's blocks are split into streams.
    Blosc1 { split: bool },
    /// c-blosc2.
    Blosc2,
}

/// Minimum probed compression ratio to attempt the compression, by clevel.
const MIN_CRATIO: [f64; 10] = [0.0, 2.0, 1.5, 1.2, 1.2, 1.2, 1.2, 1.15, 1.1, 1.0];
/// Hash table size (log2) by clevel.
const HASHLOG: [u32; 10] = [0, 12, 13, 14, 14, 14, 14, 14, 14, 14];
/// Shortest encoded match (`L`, i.e. copy length minus 2), and how far the match end is moved
/// back after extension (c-blosc2 uses 4 and 4).
const MINLEN: usize = 4;
const IPSHIFT: usize = 4;

/// The output cursor of the encoder; every write is checked against the output size, and a
/// write that does not fit ends the compression (`None`).
struct Out<'a> {
    buf: &'a mut [u8],
    pos: usize,
}

impl Out<'_> {
    #[inline(always)]
    fn room(&self, n: usize) -> Option<()> {
        (self.pos + n <= self.buf.len()).then_some(())
    }

    #[inline(always)]
    fn push(&mut self, b: u8) {
        self.buf[self.pos] = b;
        self.pos += 1;
    }
}

fn compress_inner(clevel: u8, src: &[u8], dst: &mut [u8], h: Heuristics) -> Option<usize> {
    let length = src.len();
    if clevel == 0 || length < 16 || dst.len() < 66 || length > u32::MAX as usize {
        return None;
    }
    let clevel = clevel.min(9) as usize;
    let hashlog = HASHLOG[clevel];

    // Entropy probing: estimate the ratio on the end of the buffer (a larger part at higher
    // levels) and give up early when BloscLZ would not pay, as c-blosc2 does.
    let (ipshift, minlen) = match h {
        Heuristics::Blosc2 => {
            let maxlen = match clevel {
                0..=1 => length / 8,
                2..=3 => length / 4,
                4..=6 => length / 2,
                _ => length,
            };
            let ratio = probe_ratio(&src[length - maxlen..], hashlog, IPSHIFT, MINLEN);
            if ratio < MIN_CRATIO[clevel] {
                return None;
            }
            (IPSHIFT, MINLEN)
        }
        Heuristics::Blosc1 { split } => {
            let ratio = probe_ratio(&src[length - length / 4..], 12, 3, 3);
            if ratio < MIN_CRATIO[clevel] {
                return None;
            }
            if !split || ratio < 4.0 {
                (3, 3)
            } else {
                (IPSHIFT, MINLEN)
            }
        }
    };

    let need = leading_bytes(ipshift + minlen - 1);
    let mut htab = [0u32; HTAB_LEN];
    let mut out = Out { buf: dst, pos: 0 };
    let bound = length - 1;
    let limit = length - 12;

    // Start with a literal run of the first 4 bytes; a placeholder control byte is always
    // written before the literal bytes it counts and patched when the run ends.
    out.push(MAX_COPY as u8 - 1);
    for &b in &src[..4] {
        out.push(b);
    }
    let mut copy = 4usize;
    let mut ip = 4usize;

    while ip < limit {
        let anchor = ip;
        let here = read_u64(src, ip);
        let h = hash(here as u32, hashlog);
        let refpos = htab[h] as usize;
        htab[h] = anchor as u32;

        let mut matched = None;
        if let Some(end) = find_match(src, anchor, here, refpos, bound, need) {
            let distance = anchor - refpos - 1;
            let len = end - ipshift - anchor;
            if !(len <= 5 && distance >= MAX_DISTANCE) {
                matched = Some((len, distance));
            }
        }

        let Some((len, distance)) = matched else {
            // A literal byte.
            out.room(2)?;
            out.push(src[anchor]);
            ip = anchor + 1;
            copy += 1;
            if copy == MAX_COPY {
                copy = 0;
                out.push(MAX_COPY as u8 - 1);
            }
            continue;
        };

        // Close the pending literal run (or drop its unused placeholder).
        if copy > 0 {
            out.buf[out.pos - copy - 1] = (copy - 1) as u8;
        } else {
            out.pos -= 1;
        }
        copy = 0;
        ip = anchor + len;

        if distance < MAX_DISTANCE {
            if len < 7 {
                out.room(2)?;
                out.push(((len << 5) + (distance >> 8)) as u8);
                out.push((distance & 255) as u8);
            } else {
                out.room(1)?;
                out.push(((7 << 5) + (distance >> 8)) as u8);
                let mut rest = len - 7;
                while rest >= 255 {
                    out.room(1)?;
                    out.push(255);
                    rest -= 255;
                }
                out.room(2)?;
                out.push(rest as u8);
                out.push((distance & 255) as u8);
            }
        } else {
            let far = distance - MAX_DISTANCE;
            if len < 7 {
                out.room(4)?;
                out.push(((len << 5) + 31) as u8);
            } else {
                out.room(1)?;
                out.push((7 << 5) + 31);
                let mut rest = len - 7;
                while rest >= 255 {
                    out.room(1)?;
                    out.push(255);
                    rest -= 255;
                }
                out.room(4)?;
                out.push(rest as u8);
            }
            out.push(255);
            out.push((far >> 8) as u8);
            out.push((far & 255) as u8);
        }

        // Hash the match end, then open a new literal run.
        let seq = read_u32(src, ip);
        htab[hash(seq, hashlog)] = ip as u32;
        if clevel == 9 {
            // A second entry helps at the top level (c-blosc2's choice, quirky hash included).
            htab[hash(seq >> 8, hashlog)] = (ip + 1) as u32;
        }
        ip += 2;
        out.room(1)?;
        out.push(MAX_COPY as u8 - 1);
    }

    // The tail as literals (always at least one byte: matches stop before the last byte).
    while ip <= bound {
        out.room(2)?;
        out.push(src[ip]);
        ip += 1;
        copy += 1;
        if copy == MAX_COPY {
            copy = 0;
            out.push(MAX_COPY as u8 - 1);
        }
    }
    if copy > 0 {
        out.buf[out.pos - copy - 1] = (copy - 1) as u8;
    } else {
        out.pos -= 1;
    }
    // The format marker c-blosc puts in the first control byte.
    out.buf[0] |= 1 << 5;
    (out.pos < length).then_some(out.pos)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn match_end_finds_the_first_mismatch_at_any_offset() {
        // A reference byte loop against the SIMD/word steps, mismatches at every offset of a
        // 32-byte step, bounds just before/after the mismatch.
        let naive = |src: &[u8], a: usize, r: usize, bound: usize| {
            (a + 4..bound)
                .find(|&p| src[p] != src[r + p - a])
                .map_or(bound, |p| p + 1)
        };
        let period = 37;
        let base: Vec<u8> = (0..400).map(|i| (i % period) as u8).collect();
        for mismatch in 0..120 {
            let mut src = base.clone();
            let anchor = 100;
            let refpos = anchor - period;
            src[anchor + 4 + mismatch] ^= 0x40;
            for bound in [
                anchor + 5,
                anchor + 40,
                anchor + 4 + mismatch,
                anchor + 5 + mismatch,
                399,
            ] {
                if bound < anchor + 4 {
                    continue;
                }
                assert_eq!(
                    match_end(&src, anchor + 4, refpos + 4, bound),
                    naive(&src, anchor, refpos, bound),
                    "mismatch {mismatch} bound {bound}"
                );
            }
        }
    }

    #[test]
    fn find_match_decides_as_c_blosc() {
        // c-blosc's steps: in reach, 4 equal bytes, extension, then the length test; on
        // low-entropy data (many 4-8 byte matches) and every candidate distance.
        let mut state = 7u32;
        let src: Vec<u8> = (0..3000)
            .map(|_| {
                state = state.wrapping_mul(1_103_515_245).wrapping_add(12345);
                b"aab"[(state >> 16) as usize % 3]
            })
            .collect();
        let bound = src.len() - 1;
        let mut kept = 0;
        for (ipshift, minlen) in [(3, 3), (4, 4)] {
            let need = leading_bytes(ipshift + minlen - 1);
            for anchor in (0..src.len() - 12).step_by(7) {
                for refpos in anchor.saturating_sub(40)..=anchor {
                    let distance = anchor - refpos;
                    let want = (distance != 0
                        && distance < MAX_FARDISTANCE
                        && src[anchor..anchor + 4] == src[refpos..refpos + 4])
                        .then(|| match_end(&src, anchor + 4, refpos + 4, bound))
                        .filter(|&end| end - ipshift - anchor >= minlen);
                    let here = read_u64(&src, anchor);
                    let got = find_match(&src, anchor, here, refpos, bound, need);
                    assert_eq!(
                        got, want,
                        "anchor {anchor} refpos {refpos} ipshift {ipshift}"
                    );
                    kept += usize::from(got.is_some());
                }
            }
        }
        assert!(kept > 1000, "{kept}");
    }

    fn roundtrip(clevel: u8, data: &[u8]) -> Option<usize> {
        let mut packed = vec![0u8; data.len() + 66];
        let n = compress(clevel, data, &mut packed);
        if n == 0 {
            return None;
        }
        let mut back = vec![0u8; data.len()];
        let m = decompress(&packed[..n], &mut back).expect("own output decodes");
        assert_eq!(m, data.len());
        assert_eq!(back, data);
        Some(n)
    }

    #[test]
    fn compresses_and_round_trips_runs_ramps_and_far_matches() {
        let mut data = vec![7u8; 100_000];
        for (i, b) in data.iter_mut().enumerate().skip(50_000) {
            *b = (i % 251) as u8;
        }
        for clevel in 1..=9 {
            let n = roundtrip(clevel, &data).expect("compressible");
            assert!(n < data.len() / 20, "clevel {clevel}: {n}");
        }
        // A random block repeated every 10000 bytes: needs far matches.
        let mut state = 12345u32;
        let block: Vec<u8> = (0..10_000)
            .map(|_| {
                state = state.wrapping_mul(1_103_515_245).wrapping_add(12345);
                (state >> 16) as u8
            })
            .collect();
        let twice = block.repeat(5);
        for clevel in [5, 9] {
            let n = roundtrip(clevel, &twice).expect("compressible");
            assert!(n < twice.len() / 2, "clevel {clevel}: {n}");
        }
    }

    #[test]
    fn gives_up_on_small_or_incompressible_input() {
        assert_eq!(compress(5, &[0u8; 15], &mut [0u8; 100]), 0);
        assert_eq!(compress(5, &[0u8; 1000], &mut [0u8; 65]), 0);
        assert_eq!(compress(0, &[0u8; 1000], &mut [0u8; 2000]), 0);
        let mut state = 1u64;
        let noise: Vec<u8> = (0..10_000)
            .map(|_| {
                state ^= state << 13;
                state ^= state >> 7;
                state ^= state << 17;
                state as u8
            })
            .collect();
        assert_eq!(compress(9, &noise, &mut vec![0u8; 20_000]), 0);
        // Output too small for the compressed data.
        let ramp: Vec<u8> = (0..40_000u32).map(|i| (i / 64) as u8).collect();
        let full = compress(5, &ramp, &mut vec![0u8; 50_000]);
        assert!(full > 100, "{full}");
        assert_eq!(compress(5, &ramp, &mut vec![0u8; full - 1]), 0);
        // Like c-blosc, the encoder wants 2 bytes of slack past the end of its output.
        assert_eq!(compress(5, &ramp, &mut vec![0u8; full + 2]), full);
    }

    #[test]
    fn decodes_hand_made_tokens() {
        // Literal "abc" (with the marker bit), a near match of 5 at distance 3, literal "z".
        let stream = [0x22, b'a', b'b', b'c', 3 << 5, 2, 0, b'z'];
        let mut out = [0u8; 9];
        assert_eq!(decompress(&stream, &mut out).unwrap(), 9);
        assert_eq!(&out, b"abcabcabz");
        // A run: literal "x", match of 12 at distance 1 (L = 7 + ext 3), literal "y".
        let stream = [0x20, b'x', 0xE0, 3, 0, 0, b'y'];
        let mut out = [0u8; 14];
        assert_eq!(decompress(&stream, &mut out).unwrap(), 14);
        assert_eq!(&out, b"xxxxxxxxxxxxxy");
        // A near match needs a byte after it, as in c-blosc.
        let stream = [0x20, b'x', 0x20, 0];
        assert!(decompress(&stream, &mut [0u8; 4]).is_err());
    }

    #[test]
    fn far_matches_decode() {
        // 9000 literal bytes, then a far match of 3 bytes at distance 9000, then one literal.
        let lit: Vec<u8> = (0..9000u32).map(|i| (i * 7 % 256) as u8).collect();
        let mut stream = Vec::new();
        for (k, piece) in lit.chunks(32).enumerate() {
            stream.push((piece.len() - 1) as u8 | if k == 0 { 0x20 } else { 0 });
            stream.extend_from_slice(piece);
        }
        let far = 9000 - MAX_DISTANCE - 1;
        stream.extend_from_slice(&[(1 << 5) | 31, 255, (far >> 8) as u8, far as u8, 0, 9]);
        let mut out = vec![0u8; 9004];
        assert_eq!(decompress(&stream, &mut out).unwrap(), 9004);
        assert_eq!(&out[..9000], &lit[..]);
        assert_eq!(&out[9000..9003], &lit[..3]);
        assert_eq!(out[9003], 9);
        // Without the final literal, c-blosc drops the trailing far match without copying.
        let mut out = vec![0u8; 9004];
        assert_eq!(
            decompress(&stream[..stream.len() - 2], &mut out).unwrap(),
            9000
        );
    }

    #[test]
    fn rejects_bad_streams() {
        let mut out = [0u8; 16];
        // Literal run longer than the input.
        assert!(decompress(&[0x25, 1, 2], &mut out).is_err());
        // Literal run longer than the output.
        assert!(decompress(&[0x3F, 0, 0], &mut [0u8; 4]).is_err());
        // Match reaching before the output start.
        assert!(decompress(&[0x20, 1, 0x20, 5, 0], &mut out).is_err());
        // Match overrunning the output.
        assert!(decompress(&[0x20, 1, 0xE0, 100, 0, 0], &mut out).is_err());
        // Match cut short.
        assert!(decompress(&[0x20, 1, 0xE0, 255], &mut out).is_err());
        assert!(decompress(&[0x20, 1, 0x3F, 255, 0], &mut out).is_err());
    }

    #[test]
    fn overlapping_copies_match_a_bytewise_copy() {
        for distance in 1..60 {
            for len in 1..70 {
                let mut a: Vec<u8> = (0..200).map(|i| i as u8 ^ 0x5A).collect();
                let mut b = a.clone();
                let op = 60;
                if distance > op {
                    continue;
                }
                copy_match(&mut a, op, distance, len);
                for k in 0..len {
                    b[op + k] = b[op + k - distance];
                }
                assert_eq!(
                    a[..op + len],
                    b[..op + len],
                    "distance {distance} len {len}"
                );
            }
        }
    }
}
