//! Direct in-place decode: a stream that looks like ndpack's, each piece decoded straight into
//! its final place in the output.

use std::mem::MaybeUninit;

use super::super::DEFLATE_MAX_RATIO;
use super::{
    as_uninit, decode_piece, next_candidate, spare, worth_it, Check, Decoded, PieceOut, Tuning,
    MARK, MAX_SCAN,
};
use crate::backend::GrowBuf;
use crate::threads;

/// Pieces per thread of a decode straight into place (see [`direct_plan`]).
const DIRECT_PIECES_PER_THREAD: usize = 2;

/// A decode straight into place of a stream that looks like ndpack's (independent segments of
/// `segment` bytes, each but the last ended by `00 00 ff ff`): where each piece starts in the
/// stream and in the output.
#[derive(Debug)]
pub(super) struct Direct {
    /// Piece starts in the compressed stream; `cuts[0] == 0`.
    pub(super) cuts: Vec<usize>,
    /// Piece starts in the output: a whole number of segments.
    pub(super) offs: Vec<usize>,
    /// The output room: every piece's output, the last one's included, lies in `0..room`.
    pub(super) room: usize,
}

/// Every candidate segment start in `data` before its end, ascending; `None` when there are more
/// than `most`.
fn all_candidates(data: &[u8], most: usize) -> Option<Vec<usize>> {
    let mut found = Vec::new();
    let mut from = 0;
    while let Some(p) = next_candidate(data, from) {
        if p >= data.len() {
            break;
        }
        if found.len() == most {
            return None;
        }
        found.push(p);
        from = p;
    }
    Some(found)
}

/// Plans a decode of `data` straight into place, on the hypothesis that it is an ndpack stream
/// whose every candidate is a segment end: then `c` candidates mean `c + 1` segments, and a piece
/// that starts after segment `k` starts at output byte `k * segment`. `room` is the output room the
/// caller has (the decoded size if `exact`, else a size hint), within `left` bytes; without it
/// (or 0), room for `c + 1` whole segments. `None` when the stream does not look like that,
/// including a size or hint that does not fit `c + 1` segments.
///
/// A wrong hypothesis costs a wasted attempt, never a wrong result: each piece must still end at a
/// block boundary ([`decode_piece`]) and give exactly its segments' bytes.
pub(super) fn direct_plan(
    data: &[u8],
    room: Option<usize>,
    exact: bool,
    left: usize,
    tuning: Tuning,
) -> Option<Direct> {
    let seg = tuning.segment;
    if !worth_it(data.len(), tuning) || seg <= MARK {
        return None;
    }
    // A stream with segments has its first end within one compressed segment: streams without
    // (as numcodecs writes) cost a bounded scan, as in `cut_points`.
    next_candidate(&data[..data.len().min(MAX_SCAN + 3)], 0)?;
    // A segment takes at least `seg / DEFLATE_MAX_RATIO` compressed bytes, and the output at
    // most `left`: more candidates than that are not segment ends.
    let most = (data.len() / (seg / DEFLATE_MAX_RATIO).max(1)).min(left / seg) + 1;
    let ends = all_candidates(data, most)?;
    let c = ends.len();
    let whole = c.checked_add(1)?.checked_mul(seg)?;
    let fits = |r: usize| c * seg < r && r <= whole && r <= left;
    // A known size or a size hint that does not fit the segment count means another writer's
    // segments (pigz's 128 KiB blocks, flushes every so often): not worth a wasted attempt.
    let room = match room {
        Some(r) if fits(r) => r,
        Some(r) if exact || r > 0 => return None,
        _ => whole.min(left),
    };
    if c == 0 || !fits(room) {
        return None;
    }
    let pieces = (threads::get_num_threads() * DIRECT_PIECES_PER_THREAD)
        .min(c + 1)
        .min(data.len() / tuning.min_piece.max(1));
    if pieces < 2 {
        return None;
    }
    // Piece `k` starts after segment `s_k = k (c + 1) / pieces` (strictly increasing).
    let mut cuts = vec![0];
    let mut offs = vec![0];
    for k in 1..pieces {
        let s = k * (c + 1) / pieces;
        cuts.push(ends[s - 1]);
        offs.push(s * seg);
    }
    Some(Direct { cuts, offs, room })
}

/// Decodes `data` per `plan` straight into `out`: each piece into its place, in parallel, in two
/// rounds (even pieces, then odd ones) since a piece's [`terminator`] spills [`MARK`] bytes into
/// the start of the next piece's place. `out` holds at least `plan.room` bytes and `MARK` past the
/// last piece's start (the last piece's output ends within `plan.room`). Every piece must be
/// accepted, each but the last give exactly its segments' bytes, and (if `exact`) the last one
/// end at `plan.room`; otherwise `None`, with `out` holding garbage.
pub(super) fn decode_direct(
    data: &[u8],
    plan: &Direct,
    out: &mut [MaybeUninit<u8>],
    check: Check,
    exact: bool,
) -> Option<Decoded> {
    let Direct { cuts, offs, room } = plan;
    let (n, room) = (cuts.len(), *room);
    if out.len() < room.max(offs[n - 1] + MARK) {
        return None;
    }
    let range = |i: usize| cuts[i]..cuts.get(i + 1).copied().unwrap_or(data.len());
    let mut results: Vec<Option<PieceOut>> = vec![None; n];
    let mut saved: Vec<[MaybeUninit<u8>; MARK]> = Vec::new();
    for parity in 0..2 {
        if parity == 1 {
            // The odd pieces' terminators overwrite the start of the even pieces after them.
            saved = (2..n)
                .step_by(2)
                .map(|i| out[offs[i]..offs[i] + MARK].try_into().expect("MARK bytes"))
                .collect();
        }
        // This round's places, disjoint: a place ends `MARK` bytes into the next piece's, which
        // is at least one segment (more than `MARK` bytes) long.
        let mut places = Vec::with_capacity(n / 2 + 1);
        let mut rest = &mut out[..];
        let mut base = 0;
        for i in (parity..n).step_by(2) {
            let end = if i + 1 == n { room } else { offs[i + 1] + MARK };
            let (_, tail) = std::mem::take(&mut rest).split_at_mut(offs[i] - base);
            let (place, tail) = tail.split_at_mut(end - offs[i]);
            places.push((i, place));
            rest = tail;
            base = end;
        }
        let round: Vec<(usize, Option<PieceOut>)> = threads::install(|| {
            use rayon::prelude::*;
            places
                .into_par_iter()
                .map(|(i, place)| (i, decode_piece(data, range(i), i + 1 == n, check, place)))
                .collect()
        });
        for (i, r) in round {
            let (_, written, _) = r?;
            let want = if i + 1 == n {
                room - offs[i]
            } else {
                offs[i + 1] - offs[i]
            };
            if written != want && (i + 1 < n || exact) {
                return None;
            }
            results[i] = r;
        }
    }
    for (k, i) in (2..n).step_by(2).enumerate() {
        out[offs[i]..offs[i] + MARK].copy_from_slice(&saved[k]);
    }
    let results: Vec<PieceOut> = results.into_iter().collect::<Option<_>>()?;
    let mut sum = results[0].2;
    for &(_, written, c) in &results[1..] {
        sum = check.combine(sum, c, written);
    }
    let (consumed, written, _) = results[n - 1];
    Some(Decoded {
        consumed: cuts[n - 1] + consumed,
        end: offs[n - 1] + written,
        check: sum,
        pieces: n,
        direct: true,
    })
}

/// [`inflate_grow`] straight into place, if the stream looks like ndpack's ([`direct_plan`]): the
/// room `out` already has past `written` is taken as a size hint.
pub(super) fn direct_grow(
    data: &[u8],
    out: &mut dyn GrowBuf,
    written: usize,
    limit: usize,
    check: Check,
    tuning: Tuning,
) -> Option<Decoded> {
    let have = out.buf().len().checked_sub(written)?;
    let plan = direct_plan(data, Some(have), false, limit.checked_sub(written)?, tuning)?;
    let need = direct_need(&plan);
    if have < need {
        out.grow(written.checked_add(need)?).ok()?;
    }
    let place = as_uninit(&mut out.buf()[written..written + need]);
    let d = decode_direct(data, &plan, place, check, false)?;
    Some(Decoded {
        end: written + d.end,
        ..d
    })
}

/// [`inflate_append`] straight into place, if the stream looks like ndpack's ([`direct_plan`]):
/// the spare capacity of `out` is taken as a size hint.
pub(super) fn direct_vec(
    data: &[u8],
    out: &mut Vec<u8>,
    limit: usize,
    check: Check,
    tuning: Tuning,
) -> Option<Decoded> {
    let written = out.len();
    let have = out.capacity() - written;
    let plan = direct_plan(data, Some(have), false, limit.checked_sub(written)?, tuning)?;
    let d = decode_direct(data, &plan, spare(out, direct_need(&plan))?, check, false)?;
    // SAFETY: `decode_direct` initialised the first `d.end` bytes after `written`.
    unsafe { out.set_len(written + d.end) };
    Some(Decoded {
        end: written + d.end,
        ..d
    })
}

/// The memory a decode per `plan` writes into: its room, and [`MARK`] bytes past the last piece's
/// start for the spill of the piece before it.
fn direct_need(plan: &Direct) -> usize {
    plan.room.max(plan.offs[plan.offs.len() - 1] + MARK)
}
