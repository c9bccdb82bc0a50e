//! `FORMAT_RAW` LZMA2 streams written in independent pieces, in parallel.
//!
//! A raw LZMA2 stream is a sequence of chunks, each starting with a control byte: `0x00` ends the
//! stream, `0x01` is an uncompressed chunk that resets the dictionary, `0xE0`-`0xFF` an LZMA chunk
//! that resets the dictionary, the state and the properties. liblzma's LZMA2 encoder starts every
//! stream with such a reset chunk and ends it with `0x00`, and its decoder accepts a reset chunk
//! anywhere. So the LZMA2 streams of consecutive pieces of the input, each without its final
//! `0x00`, followed by one `0x00`, form one valid raw LZMA2 stream of the whole input (as xz's
//! block-splitting does inside its container).
//!
//! The delta filter before LZMA2 carries its history across the whole stream, so for a chain
//! `[delta(dist), lzma2]` the delta is applied here over the whole input (liblzma's byte delta:
//! `out[i] = in[i] - in[i - dist]` mod 256, the `dist` bytes before the start being zeros), and
//! the pieces of the result are LZMA2-encoded without the delta filter. The stream decodes with
//! the declared chain in liblzma, Python's `lzma` and numcodecs.
//!
//! Pieces have a fixed size (the `lzma` codec's `xz_block_size`) so the bytes do not depend on the
//! thread count; inputs up to one piece are encoded by liblzma's raw encoder in one call, as
//! Python's `lzma` does.

use liblzma::stream::{Action, Filters, Status, Stream};
use rayon::prelude::*;

use super::{build_filters, cfg_err, run_encoder, FilterSpec};
use crate::backend::grow_output;
use crate::error::{Error, ErrorKind, Result};

/// A filter chain whose raw streams can be written in pieces: an optional delta distance, then
/// the LZMA2 filter.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Plan<'a> {
    /// The delta filter's distance, if the chain starts with one.
    pub dist: Option<usize>,
    /// The LZMA2 filter (its options apply to every piece).
    pub lzma2: &'a FilterSpec,
}

/// The plan for `specs`, or `None` for chains other than `[lzma2]` and `[delta, lzma2]` (LZMA1,
/// BCJ filters, several deltas), which are encoded serially.
pub(crate) fn plan(specs: &[FilterSpec]) -> Option<Plan<'_>> {
    match specs {
        [l @ FilterSpec::Lzma { lzma1: false, .. }] => Some(Plan {
            dist: None,
            lzma2: l,
        }),
        [FilterSpec::Delta { dist }, l @ FilterSpec::Lzma { lzma1: false, .. }] => Some(Plan {
            dist: Some(*dist as usize),
            lzma2: l,
        }),
        _ => None,
    }
}

/// liblzma's delta filter over `data[start..start + len]`, as part of the whole of `data`.
fn delta_piece(data: &[u8], start: usize, len: usize, dist: usize) -> Vec<u8> {
    let cur = &data[start..start + len];
    let mut out = cur.to_vec();
    // The first `head` bytes of the piece lie within `dist` of the start: their history is zeros.
    let head = dist.saturating_sub(start).min(len);
    if head < len {
        let prev = &data[start + head - dist..start + len - dist];
        for (o, p) in out[head..].iter_mut().zip(prev) {
            *o = o.wrapping_sub(*p);
        }
    }
    out
}

/// The raw LZMA2 stream of `bytes` alone, without its final end-of-stream byte.
fn encode_piece(filters: &Filters, bytes: &[u8]) -> Result<Vec<u8>> {
    let stream = Stream::new_raw_encoder(filters)
        .map_err(|e| cfg_err(format!("cannot create encoder: {e}")))?;
    let mut out = run_encoder(stream, bytes)?;
    if out.pop() != Some(0) {
        return Err(Error::new(
            ErrorKind::Backend,
            "lzma: raw LZMA2 stream does not end with an end-of-stream byte",
        ));
    }
    Ok(out)
}

/// Encodes `data` into one raw stream for the chain of `plan`, in pieces of `piece` bytes on the
/// current rayon pool (the caller installs ndpack's). Pieces are independent of the pool size.
pub(crate) fn encode(data: &[u8], piece: usize, plan: Plan<'_>) -> Result<Vec<u8>> {
    let piece = piece.max(1);
    let count = data.len().div_ceil(piece);
    let parts = (0..count)
        .into_par_iter()
        .map(|k| {
            let filters = build_filters(std::slice::from_ref(plan.lzma2))?;
            let start = k * piece;
            let len = piece.min(data.len() - start);
            match plan.dist {
                Some(dist) => encode_piece(&filters, &delta_piece(data, start, len, dist)),
                None => encode_piece(&filters, &data[start..start + len]),
            }
        })
        .collect::<Result<Vec<_>>>()?;
    let mut out = Vec::with_capacity(parts.iter().map(Vec::len).sum::<usize>() + 1);
    for p in &parts {
        out.extend_from_slice(p);
    }
    out.push(0);
    Ok(out)
}

/// Parts of a stream decoded on their own hold at least this many decoded bytes (consecutive
/// dictionary resets closer than this are decoded together).
pub(crate) const MIN_PART: usize = 1 << 20;

/// An independently decodable run of chunks of a raw LZMA2 stream: it starts with a dictionary
/// reset.
#[derive(Debug, Clone, Copy)]
struct Part {
    /// Where its chunks start in the input.
    input_start: usize,
    /// Where they end.
    input_end: usize,
    /// Where its decoded bytes start in the output.
    output_start: usize,
    /// How many bytes it decodes to, as its chunk headers say.
    output_len: usize,
}

/// Walks the chunk headers of the raw LZMA2 stream at the start of `data`: its parts (runs of
/// chunks from one dictionary reset to the next, merged up to `min_part` decoded bytes) and
/// the stream's length through its end byte. `None` when the headers are not those of a
/// complete stream that starts with a dictionary reset and decodes to at most `limit` bytes.
fn split_stream(data: &[u8], limit: usize, min_part: usize) -> Option<(Vec<Part>, usize)> {
    let mut parts: Vec<Part> = Vec::new();
    let mut pos = 0usize;
    let mut decoded = 0usize;
    loop {
        let control = *data.get(pos)?;
        if control == 0 {
            let last = parts.last_mut()?;
            last.input_end = pos;
            last.output_len = decoded - last.output_start;
            return Some((parts, pos + 1));
        }
        let (header, unpacked, packed) = if control >= 0x80 {
            let h = data.get(pos..pos + 5)?;
            let unpacked = (usize::from(control & 0x1F) << 16 | usize::from(h[1]) << 8) + 1;
            let unpacked = unpacked + usize::from(h[2]);
            let packed = (usize::from(h[3]) << 8 | usize::from(h[4])) + 1;
            (if control >= 0xC0 { 6 } else { 5 }, unpacked, packed)
        } else if control <= 2 {
            let h = data.get(pos..pos + 3)?;
            let size = (usize::from(h[1]) << 8 | usize::from(h[2])) + 1;
            (3, size, size)
        } else {
            return None;
        };
        let reset = control == 1 || control >= 0xE0;
        match parts.last_mut() {
            None if !reset => return None,
            Some(last) if !reset || decoded - last.output_start < min_part => {}
            _ => {
                if let Some(last) = parts.last_mut() {
                    last.input_end = pos;
                    last.output_len = decoded - last.output_start;
                }
                parts.push(Part {
                    input_start: pos,
                    input_end: 0,
                    output_start: decoded,
                    output_len: 0,
                });
            }
        }
        pos = pos.checked_add(header + packed)?;
        decoded = decoded.checked_add(unpacked)?;
        if pos > data.len() || decoded > limit {
            return None;
        }
    }
}

/// Decodes one part (its chunks, then an end byte) with a fresh raw LZMA2 decoder: exactly
/// `part.output_len` bytes, or `None`.
fn decode_part(filters: &Filters, data: &[u8], part: &Part) -> Option<Vec<u8>> {
    let mut input = data[part.input_start..part.input_end].to_vec();
    input.push(0);
    let mut s = Stream::new_raw_decoder(filters).ok()?;
    let mut out = Vec::new();
    loop {
        if out.len() == out.capacity() {
            grow_output(&mut out, input.len(), part.output_len + 1, "lzma").ok()?;
        }
        let (in0, out0) = (s.total_in(), s.total_out());
        let status = s
            .process_vec(&input[in0 as usize..], &mut out, Action::Run)
            .ok()?;
        if status == Status::StreamEnd {
            let whole = s.total_in() as usize == input.len() && out.len() == part.output_len;
            return whole.then_some(out);
        }
        if s.total_in() == in0 && s.total_out() == out0 && out.len() < out.capacity() {
            return None;
        }
    }
}

/// Undoes liblzma's delta in place as if `buf` started the stream (zero history).
fn undo_delta_local(buf: &mut [u8], dist: usize) {
    for i in dist..buf.len() {
        buf[i] = buf[i].wrapping_add(buf[i - dist]);
    }
}

/// Decodes the raw stream at the start of `data` (chain of `plan`), its parts in parallel on the
/// current rayon pool (parts of at least `min_part` decoded bytes, [`MIN_PART`] but in tests):
/// the decoded bytes and the stream's length. `None` when the stream has a single part or
/// anything is unexpected (bad headers or data, more than `limit` bytes): the caller then
/// decodes it serially, for its exact output or error.
pub(crate) fn decode(
    data: &[u8],
    plan: Plan<'_>,
    limit: usize,
    min_part: usize,
) -> Option<(Vec<u8>, usize)> {
    let (parts, used) = split_stream(data, limit, min_part)?;
    if parts.len() < 2 {
        return None;
    }
    let decoded = parts
        .par_iter()
        .map(|part| {
            let filters = build_filters(std::slice::from_ref(plan.lzma2)).ok()?;
            let mut buf = decode_part(&filters, data, part)?;
            if let Some(dist) = plan.dist {
                undo_delta_local(&mut buf, dist);
            }
            Some(buf)
        })
        .collect::<Option<Vec<_>>>()?;
    let total = parts.iter().map(|p| p.output_len).sum();
    let mut out = vec![0u8; total];
    let Some(dist) = plan.dist else {
        let mut dsts = Vec::with_capacity(parts.len());
        let mut rest = &mut out[..];
        for buf in &decoded {
            let (dst, tail) = rest.split_at_mut(buf.len());
            dsts.push(dst);
            rest = tail;
        }
        dsts.into_par_iter()
            .zip(decoded.par_iter())
            .for_each(|(dst, src)| dst.copy_from_slice(src));
        return Some((out, used));
    };
    // Each part was decoded from zero history; its true bytes add, lane by lane (position mod
    // dist), the last true byte of that lane before the part.
    let mut history = vec![0u8; dist];
    let mut jobs = Vec::with_capacity(parts.len());
    let mut rest = &mut out[..];
    for (part, buf) in parts.iter().zip(&decoded) {
        let start = part.output_start;
        // The part's carry, aligned to its start: carry[j] is added to buf[j + k * dist].
        let carry: Vec<u8> = (0..dist).map(|j| history[(start + j) % dist]).collect();
        let tail_from = buf.len().saturating_sub(dist);
        for (j, &b) in buf.iter().enumerate().skip(tail_from) {
            history[(start + j) % dist] = b.wrapping_add(carry[j % dist]);
        }
        let (dst, tail) = rest.split_at_mut(buf.len());
        jobs.push((dst, carry));
        rest = tail;
    }
    jobs.into_par_iter()
        .zip(decoded.par_iter())
        .for_each(|((dst, carry), src)| add_carry(dst, src, &carry));
    Some((out, used))
}

/// `dst[i] = src[i] + carry[i % carry.len()]`.
fn add_carry(dst: &mut [u8], src: &[u8], carry: &[u8]) {
    // A whole number of carries at least 64 bytes long, so that the inner loop vectorizes.
    let reps = 64usize.div_ceil(carry.len());
    let pattern: Vec<u8> = carry
        .iter()
        .copied()
        .cycle()
        .take(reps * carry.len())
        .collect();
    for (d, s) in dst.chunks_mut(pattern.len()).zip(src.chunks(pattern.len())) {
        for ((d, s), c) in d.iter_mut().zip(s).zip(&pattern) {
            *d = s.wrapping_add(*c);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::backend::test_data::noise_and_runs;

    /// liblzma's own delta of `data`: the raw `[delta, lzma2]` stream decoded as `[lzma2]`.
    fn liblzma_delta(data: &[u8], dist: usize) -> Vec<u8> {
        let lzma2 = lzma2_with(None);
        let chain = [FilterSpec::Delta { dist: dist as u32 }, lzma2.clone()];
        let enc = Stream::new_raw_encoder(&build_filters(&chain).unwrap()).unwrap();
        let stream = run_encoder(enc, data).unwrap();
        let mut dec = Stream::new_raw_decoder(&build_filters(&[lzma2]).unwrap()).unwrap();
        let mut out = Vec::with_capacity(data.len() + 1);
        dec.process_vec(&stream, &mut out, liblzma::stream::Action::Finish)
            .unwrap();
        out
    }

    #[test]
    fn delta_pieces_join_to_liblzma_delta() {
        let data: Vec<u8> = (0..1000u32).map(|i| (i * i % 251) as u8).collect();
        for dist in [1usize, 2, 3, 4, 7, 8, 13, 256] {
            let whole = liblzma_delta(&data, dist);
            assert_eq!(whole.len(), data.len());
            assert!(whole != data);
            for piece in [1usize, 2, 5, 100, 255, 256, 257, 999, 1000] {
                let mut joined = Vec::new();
                let mut start = 0;
                while start < data.len() {
                    let len = piece.min(data.len() - start);
                    joined.extend(delta_piece(&data, start, len, dist));
                    start += len;
                }
                assert!(joined == whole, "dist {dist}, piece {piece}");
            }
        }
    }

    fn lzma2(dict_size: u32) -> FilterSpec {
        lzma2_with(Some(dict_size))
    }

    /// An LZMA2 filter of preset 0, with `dict_size` if given.
    fn lzma2_with(dict_size: Option<u32>) -> FilterSpec {
        FilterSpec::Lzma {
            lzma1: false,
            preset: 0,
            dict_size,
            lc: None,
            lp: None,
            pb: None,
            mode: None,
            nice_len: None,
            mf: None,
            depth: None,
        }
    }

    /// liblzma's serial raw decoder for `chain`.
    fn serial_decode(chain: &[FilterSpec], stream: &[u8]) -> Vec<u8> {
        let mut dec = Stream::new_raw_decoder(&build_filters(chain).unwrap()).unwrap();
        let mut out = Vec::with_capacity(1 << 16);
        let status = dec
            .process_vec(stream, &mut out, liblzma::stream::Action::Finish)
            .unwrap();
        assert_eq!(status, Status::StreamEnd);
        assert_eq!(dec.total_in() as usize, stream.len());
        out
    }

    /// Runs of noise (stored by liblzma as uncompressed chunks) between compressible runs.
    fn mixed(n: usize) -> Vec<u8> {
        let lcg = (1_103_515_245, 12_345);
        noise_and_runs(
            n,
            7,
            lcg,
            23,
            |i| (i / 700) % 3 == 1,
            |i| (i / 3 % 41) as u8,
        )
    }

    #[test]
    fn pieces_of_any_size_decode_serially_and_in_parallel() {
        let spec = lzma2(4096);
        let data = mixed(3000);
        for dist in [None, Some(1), Some(3), Some(8), Some(200), Some(256)] {
            let mut chain = Vec::new();
            if let Some(d) = dist {
                chain.push(FilterSpec::Delta { dist: d as u32 });
            }
            chain.push(spec.clone());
            let plan = Plan { dist, lzma2: &spec };
            for piece in [1usize, 7, 100, 255, 1000, 2999] {
                let enc = encode(&data, piece, plan).unwrap();
                assert!(serial_decode(&chain, &enc) == data, "{dist:?} {piece}");
                let (parts, used) = split_stream(&enc, usize::MAX, 1).unwrap();
                assert_eq!(used, enc.len());
                assert_eq!(parts.len(), data.len().div_ceil(piece));
                for min_part in [1usize, 300, 2000] {
                    let (dec, used) = decode(&enc, plan, usize::MAX, min_part).unwrap();
                    assert_eq!(used, enc.len());
                    assert!(dec == data, "{dist:?}, piece {piece}, min_part {min_part}");
                }
                // One part: left to the serial decoder.
                assert!(decode(&enc, plan, usize::MAX, data.len()).is_none());
                // More than the limit, a cut, a bad control byte: left to the serial decoder.
                assert!(decode(&enc, plan, data.len() - 1, 1).is_none());
                assert!(decode(&enc[..enc.len() - 1], plan, usize::MAX, 1).is_none());
                let mut bad = enc.clone();
                bad[0] = 0x03;
                assert!(decode(&bad, plan, usize::MAX, 1).is_none());
                // Trailing bytes are not part of the stream.
                let mut more = enc.clone();
                more.extend_from_slice(b"more");
                let (dec, used) = decode(&more, plan, usize::MAX, 1).unwrap();
                assert_eq!(used, enc.len());
                assert!(dec == data);
            }
        }
        // Pieces of noise are uncompressed chunks that reset the dictionary (0x01), the others
        // LZMA chunks that do (0xE0-0xFF): the parallel decoder met both above.
        let enc = encode(
            &data,
            100,
            Plan {
                dist: None,
                lzma2: &spec,
            },
        )
        .unwrap();
        let (parts, _) = split_stream(&enc, usize::MAX, 1).unwrap();
        let controls: Vec<u8> = parts.iter().map(|p| enc[p.input_start]).collect();
        assert!(controls.contains(&0x01), "{controls:x?}");
        assert!(controls.iter().any(|&c| c >= 0xE0), "{controls:x?}");
        assert!(
            controls.iter().all(|&c| c == 0x01 || c >= 0xE0),
            "{controls:x?}"
        );
    }

    #[test]
    fn a_stream_must_start_with_a_dictionary_reset() {
        let spec = lzma2(4096);
        let plan = Plan {
            dist: None,
            lzma2: &spec,
        };
        let data = mixed(3000);
        let enc = encode(&data, 1000, plan).unwrap();
        assert!(split_stream(&enc, usize::MAX, 1).is_some());
        // The same first chunk, keeping the dictionary (state and properties reset, or an
        // uncompressed chunk without reset): not a stream start.
        let mut no_reset = enc.clone();
        no_reset[0] = if enc[0] == 1 { 2 } else { enc[0] & 0x9F | 0x40 };
        assert!(split_stream(&no_reset, usize::MAX, 1).is_none());
    }
}
