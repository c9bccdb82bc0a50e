//! Segment encode: independent segments compressed in parallel into one raw deflate stream.

use flate2::FlushCompress;

use super::super::{compress_with, zlib_rs_level};
use super::Check;
use crate::error::Result;
use crate::threads;

/// zlib's `compressBound` for `n` bytes, plus room for a flush marker.
fn deflate_bound(n: usize) -> usize {
    n + (n >> 12) + (n >> 14) + (n >> 25) + 32
}

/// Compresses one segment into raw deflate appended to `out`: ending with a full flush (an empty
/// stored block, byte-aligned) or, for the `last` one, with the final block.
pub(super) fn compress_segment(
    seg: &[u8],
    level: u32,
    last: bool,
    out: &mut Vec<u8>,
) -> Result<()> {
    let flush = if last {
        FlushCompress::Finish
    } else {
        FlushCompress::Full
    };
    compress_with(seg, level, false, flush, 32, out)
}

/// Compresses `data` (longer than `segment`) as independent `segment`-byte segments into a raw
/// deflate stream appended to `out`, in parallel; returns the checksum of `data`.
pub(crate) fn deflate_segments(
    data: &[u8],
    level: i32,
    segment: usize,
    check: Check,
    out: &mut Vec<u8>,
) -> Result<u32> {
    let level = zlib_rs_level(level);
    let segments: Vec<&[u8]> = data.chunks(segment.max(1)).collect();
    let n = segments.len();
    out.reserve(segments.iter().map(|s| deflate_bound(s.len())).sum());
    let first = segments.first().copied().unwrap_or_default();
    // The first segment goes straight into `out`, the others into their own buffers.
    let (head, rest) = threads::install(|| {
        use rayon::prelude::*;
        rayon::join(
            || -> Result<u32> {
                compress_segment(first, level, n <= 1, out)?;
                Ok(check.of(first))
            },
            || -> Result<Vec<(Vec<u8>, u32)>> {
                segments
                    .par_iter()
                    .enumerate()
                    .skip(1)
                    .map(|(i, seg)| {
                        let mut buf = Vec::new();
                        compress_segment(seg, level, i + 1 == n, &mut buf)?;
                        Ok((buf, check.of(seg)))
                    })
                    .collect()
            },
        )
    });
    let mut sum = head?;
    for ((buf, c), seg) in rest?.into_iter().zip(segments.iter().skip(1)) {
        out.extend_from_slice(&buf);
        sum = check.combine(sum, c, seg.len());
    }
    Ok(sum)
}
