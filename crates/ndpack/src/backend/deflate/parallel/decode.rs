//! Piece decode: a stream cut at candidate segment starts, its pieces decoded in parallel into
//! buffers of their own and gathered, and the serial fallback that continues from the first piece
//! that was not accepted, with the window decoded so far.

use std::mem::MaybeUninit;
use std::ops::Range;

use flate2::{Decompress, FlushDecompress, Status};

use super::{
    decode_piece, next_candidate, piece_room, worth_it, Check, Decoded, Tuning, MAX_SCAN,
    PIECES_PER_THREAD, WINDOW,
};
use crate::backend::GrowBuf;
use crate::threads;

/// Piece boundaries: `0`, then about one candidate start per `len / pieces` bytes.
pub(super) fn cut_points(data: &[u8], tuning: Tuning) -> Vec<usize> {
    let threads = threads::get_num_threads();
    let pieces = (threads * PIECES_PER_THREAD)
        .min(data.len() / tuning.min_piece.max(1))
        .max(1);
    let mut cuts = vec![0];
    for k in 1..pieces {
        let from = (k * (data.len() / pieces)).max(cuts[cuts.len() - 1] + 1);
        let to = data.len().min(from.saturating_add(MAX_SCAN + 3));
        match next_candidate(&data[..to], from) {
            Some(p) if p < data.len() => cuts.push(p),
            _ => break,
        }
    }
    cuts
}

/// A decoded piece.
pub(super) struct Piece {
    /// Its output, or `None` for piece 0 (decoded straight into the caller's memory).
    pub(super) buf: Option<Vec<u8>>,
    pub(super) written: usize,
    /// Raw bytes consumed (for the last piece, where the stream ends).
    pub(super) consumed: usize,
    pub(super) check: u32,
}

/// Decodes the pieces `cuts` of `data` in parallel: piece 0 into `first`, the others into their
/// own buffers of at most `limit` bytes. Returns the accepted pieces, in order, up to the first
/// that was not accepted.
pub(super) fn decode_pieces(
    data: &[u8],
    cuts: &[usize],
    first: &mut [MaybeUninit<u8>],
    check: Check,
    limit: usize,
) -> Vec<Piece> {
    let n = cuts.len();
    let range =
        |i: usize| -> Range<usize> { cuts[i]..cuts.get(i + 1).copied().unwrap_or(data.len()) };
    let decode = |i: usize, out: &mut [MaybeUninit<u8>]| {
        decode_piece(data, range(i), i + 1 == n, check, out)
    };
    let (head, rest) = threads::install(|| {
        use rayon::prelude::*;
        rayon::join(
            || decode(0, first),
            || {
                (1..n)
                    .into_par_iter()
                    .map(|i| {
                        let mut buf: Vec<u8> = Vec::new();
                        buf.try_reserve_exact(piece_room(range(i).len(), limit))
                            .ok()?;
                        let (consumed, written, c) = decode(i, buf.spare_capacity_mut())?;
                        // SAFETY: `decode` initialised `written` bytes of the spare capacity.
                        unsafe { buf.set_len(written) };
                        Some(Piece {
                            buf: Some(buf),
                            written,
                            consumed,
                            check: c,
                        })
                    })
                    .collect::<Vec<_>>()
            },
        )
    });
    let Some((consumed, written, c)) = head else {
        return Vec::new();
    };
    let mut pieces = vec![Piece {
        buf: None,
        written,
        consumed,
        check: c,
    }];
    pieces.extend(rest.into_iter().map_while(|p| p));
    pieces
}

/// Copies the pieces after the first into `out`, which starts where piece 1 goes; in parallel.
/// `out` must hold exactly their bytes.
pub(super) fn gather(pieces: &[Piece], out: &mut [MaybeUninit<u8>]) {
    let mut slots = Vec::with_capacity(pieces.len());
    let mut rest = out;
    for p in &pieces[1..] {
        let (dst, tail) = rest.split_at_mut(p.written);
        slots.push((dst, p.buf.as_deref().unwrap_or_default()));
        rest = tail;
    }
    threads::install(|| {
        use rayon::prelude::*;
        slots.into_par_iter().for_each(|(dst, src)| {
            assert_eq!(dst.len(), src.len());
            // SAFETY: `dst` and `src` have the same length and do not overlap (`src` is a
            // piece's own buffer).
            unsafe {
                std::ptr::copy_nonoverlapping(
                    src.as_ptr(),
                    dst.as_mut_ptr().cast::<u8>(),
                    src.len(),
                )
            }
        });
    });
}

/// Sums what the pieces wrote and their checksum.
pub(super) fn totals(pieces: &[Piece], check: Check) -> (usize, u32) {
    let mut sum = pieces[0].check;
    let mut total = pieces[0].written;
    for p in &pieces[1..] {
        sum = check.combine(sum, p.check, p.written);
        total += p.written;
    }
    (total, sum)
}

/// The piece boundaries of a parallel decode of `data` into an output holding `written` bytes of
/// at most `limit`, the room left, and the room piece 0 reserves; `None` when a parallel decode is
/// not worth trying (short stream, one thread, a single piece).
pub(super) fn plan(
    data: &[u8],
    written: usize,
    limit: usize,
    tuning: Tuning,
) -> Option<(Vec<usize>, usize, usize)> {
    if !worth_it(data.len(), tuning) || written > limit {
        return None;
    }
    let cuts = cut_points(data, tuning);
    if cuts.len() < 2 {
        return None;
    }
    let left = limit - written;
    let room0 = piece_room(cuts[1], left);
    Some((cuts, left, room0))
}

/// The room piece 0 decodes into: the room the caller already made (a size hint, as gzip's
/// trailer gives), if any, else the worst case `room0`. Growing a buffer the caller sized to the
/// worst case would copy what it holds (a `realloc` of memory the allocator took from its heap).
pub(super) fn hinted(room0: usize, have: usize) -> usize {
    if have > 0 {
        room0.min(have)
    } else {
        room0
    }
}

/// The result when every piece was accepted (the last one ending the stream), else `None`.
pub(super) fn all_accepted(
    cuts: &[usize],
    pieces: &[Piece],
    end: usize,
    sum: u32,
) -> Option<Decoded> {
    let done = pieces.len();
    (done == cuts.len()).then(|| Decoded {
        consumed: cuts[done - 1] + pieces[done - 1].consumed,
        end,
        check: sum,
        pieces: done,
        direct: false,
    })
}

/// A raw inflater primed with the last 32 KiB of `out[start..end]`.
fn primed(out: &[u8], start: usize, end: usize) -> Option<Decompress> {
    let mut d = Decompress::new(false);
    d.set_dictionary(&out[end.saturating_sub(WINDOW).max(start)..end])
        .ok()?;
    Some(d)
}

/// Decodes the rest of a stream (`data`, from a block boundary) with zlib-rs, into `out` from
/// `end` on, growing it; the stream's output so far is `out[start..end]`. `None` on any error.
pub(super) fn serial_rest_grow(
    data: &[u8],
    out: &mut dyn GrowBuf,
    start: usize,
    mut end: usize,
    limit: usize,
) -> Option<(usize, usize)> {
    let mut d = primed(out.buf(), start, end)?;
    loop {
        if end == out.buf().len() {
            if end >= limit {
                return None;
            }
            let extra = (end - start).max(4096);
            out.grow(end.saturating_add(extra).min(limit)).ok()?;
        }
        let (in0, out0) = (d.total_in() as usize, d.total_out());
        let status = d
            .decompress(&data[in0..], &mut out.buf()[end..], FlushDecompress::Finish)
            .ok()?;
        end += (d.total_out() - out0) as usize;
        match status {
            Status::StreamEnd => return Some((d.total_in() as usize, end)),
            _ if d.total_out() == out0 && d.total_in() as usize == in0 && end < out.buf().len() => {
                return None
            }
            _ => {}
        }
    }
}

/// As [`serial_rest_grow`] for a `Vec`, whose stream output so far is `out[start..]`.
pub(super) fn serial_rest_vec(
    data: &[u8],
    out: &mut Vec<u8>,
    start: usize,
    limit: usize,
) -> Option<(usize, usize)> {
    let mut d = primed(out, start, out.len())?;
    loop {
        if out.len() == out.capacity() {
            if out.len() >= limit {
                return None;
            }
            let extra = (out.len() - start).max(4096).min(limit - out.len());
            out.try_reserve_exact(extra).ok()?;
        }
        let (in0, out0) = (d.total_in() as usize, d.total_out());
        let status = d
            .decompress_vec(&data[in0..], out, FlushDecompress::Finish)
            .ok()?;
        match status {
            Status::StreamEnd => return Some((d.total_in() as usize, out.len())),
            _ if d.total_out() == out0
                && d.total_in() as usize == in0
                && out.len() < out.capacity() =>
            {
                return None
            }
            _ => {}
        }
    }
}
