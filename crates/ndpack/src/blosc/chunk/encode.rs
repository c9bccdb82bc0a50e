//! Encoding a chunk ([`EncodeSpec`]): each block's filters applied and its streams compressed
//! (zero and run streams in Blosc2), the blocks and block-offset table written after the header,
//! in parallel from both ends of the output ([`crate::threads::two_ended`]) with the bytes of
//! the serial encoder.

use std::mem::MaybeUninit;

use super::super::bitshuffle;
use super::super::compressor::{compress_stream, Compressor};
use super::super::shuffle;
use super::filters::{
    bitshuffle_applies, bytedelta_encode, bytedelta_planes, delta_encode, delta_word,
    shuffle_applies, shuffle_group, shuffle_par, trunc_prec, trunc_prec_check, Filter,
};
use super::{with_scratch, written_view, PARALLEL_MIN_BYTES};
use crate::error::Result;
use crate::threads;

/// Everything the encoder needs to write the blocks of one chunk.
#[derive(Debug, Clone)]
pub(crate) struct EncodeSpec {
    pub compressor: Compressor,
    pub clevel: u8,
    /// The header typesize (1-255).
    pub typesize: usize,
    pub blocksize: usize,
    /// Whether full blocks are split into `typesize` streams.
    pub split: bool,
    pub filters: [Filter; 6],
    pub filters_meta: [u8; 6],
    /// Blosc2 (extended header): zero and run streams, Blosc2 bitshuffle leftovers.
    pub extended: bool,
}

/// What [`EncodeSpec::encode_chunk_into`] wrote.
pub(crate) struct EncodedChunk {
    /// The chunk size: header, block-offset table and blocks.
    pub len: usize,
    /// Whether every stream of every block was a zero run (Blosc2 only).
    pub all_zero: bool,
}

impl EncodeSpec {
    /// The number of streams of a block of `bsize` bytes.
    fn nstreams(&self, bsize: usize) -> usize {
        if self.split && bsize == self.blocksize {
            self.typesize
        } else {
            1
        }
    }

    /// Whether the pipeline is one byte shuffle of whole items (the common case that
    /// [`shuffle_par`] speeds up).
    fn single_byte_shuffle(&self) -> bool {
        let mut active = self
            .filters
            .iter()
            .zip(&self.filters_meta)
            .filter(|(&f, _)| f != Filter::NoFilter);
        match (active.next(), active.next()) {
            (Some((&Filter::Shuffle, &meta)), None) => {
                shuffle_group(self.extended, meta, self.typesize) == self.typesize
            }
            _ => false,
        }
    }

    /// The most bytes a block of `bsize` bytes encodes to: each stream stored raw after its
    /// 4-byte size.
    fn max_block_len(&self, bsize: usize) -> usize {
        bsize + 4 * self.nstreams(bsize)
    }

    /// The size of block `i` of a chunk of `len` bytes.
    fn block_size(&self, len: usize, i: usize) -> usize {
        self.blocksize.min(len - i * self.blocksize)
    }

    /// Filters block `i` of `src` and encodes its streams into `out`; returns the encoded size
    /// and whether every stream was a zero run, or `None` when the block does not fit in `out`
    /// (which always holds [`Self::max_block_len`] bytes, except at the end of a chunk's room).
    /// `tmp` is scratch for the filters.
    /// With `streams > 1`, the block's streams are compressed by that many workers.
    fn encode_block(
        &self,
        src: &[u8],
        i: usize,
        tmp: &mut Vec<u8>,
        out: &mut [u8],
        streams: usize,
    ) -> Result<Option<(usize, bool)>> {
        let bs = self.blocksize;
        let start = i * bs;
        let raw = &src[start..(start + bs).min(src.len())];
        let bsize = raw.len();
        let ts = self.typesize;
        if tmp.len() < 2 * bsize {
            tmp.resize(2 * bsize, 0);
        }
        let (a, b) = tmp[..2 * bsize].split_at_mut(bsize);
        if streams > 1
            && self.single_byte_shuffle()
            && self.nstreams(bsize) == ts
            && bsize.is_multiple_of(ts)
            && shuffle_par(ts, raw, a, streams)
        {
            return self.encode_streams_par(a, bsize / ts, out, streams);
        }
        // `cur` is 0 for `raw`, 1 for `a`, 2 for `b`.
        let mut cur = 0u8;
        for slot in 0..6 {
            let f = self.filters[slot];
            let meta = self.filters_meta[slot];
            let (input, output): (&[u8], &mut [u8]) = match cur {
                0 => (raw, &mut *a),
                1 => (&*a, &mut *b),
                _ => (&*b, &mut *a),
            };
            let wrote = match f {
                Filter::Shuffle => {
                    let gs = shuffle_group(self.extended, meta, ts);
                    let apply = shuffle_applies(gs, bsize);
                    if apply {
                        shuffle::shuffle(gs, input, output);
                    }
                    apply
                }
                Filter::BitShuffle => {
                    let apply = bitshuffle_applies(self.extended, bsize, ts);
                    if apply {
                        bitshuffle::bitshuffle(ts, input, output)?;
                    }
                    apply
                }
                Filter::Delta => {
                    delta_encode(
                        input,
                        output,
                        &src[..bs.min(src.len())],
                        i == 0,
                        delta_word(ts),
                    );
                    true
                }
                Filter::TruncPrec => {
                    let zeroed = trunc_prec_check(ts, meta as i8)?;
                    trunc_prec(input, output, ts, zeroed);
                    true
                }
                Filter::ByteDelta => {
                    bytedelta_encode(input, output, bytedelta_planes(meta, ts));
                    true
                }
                Filter::NoFilter => false,
            };
            if wrote {
                cur = match cur {
                    0 | 2 => 1,
                    _ => 2,
                };
            }
        }
        let data: &[u8] = match cur {
            0 => raw,
            1 => a,
            _ => b,
        };
        let neblock = bsize / self.nstreams(bsize);
        if streams > 1 && data.len() > neblock {
            return self.encode_streams_par(data, neblock, out, streams);
        }
        Ok(self.encode_streams(data, neblock, out))
    }

    /// Encodes `raw`, one whole block (`blocksize` bytes), as block `i` of a chunk would be: its
    /// filters applied and its streams compressed, each after its size. Not for pipelines with
    /// DELTA, whose reference is the chunk's first block.
    pub(crate) fn encode_lone_block(&self, raw: &[u8]) -> Result<Vec<u8>> {
        debug_assert!(raw.len() == self.blocksize && !self.filters.contains(&Filter::Delta));
        let mut out = vec![0u8; self.max_block_len(raw.len())];
        // A block always fits in its largest size (every stream stored raw).
        let (n, _) = with_scratch(|tmp| self.encode_block(raw, 0, tmp, &mut out, 1))?
            .expect("a block fits in its largest encoded size");
        out.truncate(n);
        Ok(out)
    }

    /// Compresses the streams of one filtered block (`data`, in streams of `neblock` bytes)
    /// into `out`, each after its 4-byte size; returns the encoded size and whether every
    /// stream was a zero run, or `None` when they do not fit in `out`.
    fn encode_streams(&self, data: &[u8], neblock: usize, out: &mut [u8]) -> Option<(usize, bool)> {
        let mut pos = 0;
        let mut all_zero = self.extended;
        for part in data.chunks_exact(neblock) {
            let (n, zero) = self.encode_stream(part, &mut out[pos..])?;
            all_zero &= zero;
            pos += n;
        }
        Some((pos, all_zero))
    }

    /// Compresses one stream into `out` after its 4-byte size; returns the bytes written and
    /// whether it was a zero run, or `None` when it does not fit in `out`.
    fn encode_stream(&self, part: &[u8], out: &mut [u8]) -> Option<(usize, bool)> {
        let neblock = part.len();
        if self.extended {
            let v = part[0];
            if all_equal(part, v) {
                let run = if v == 0 { 4 } else { 5 };
                let at = out.get_mut(..run)?;
                at[..4].copy_from_slice(&(-i32::from(v)).to_le_bytes());
                if v != 0 {
                    at[4] = 1;
                }
                return Some((run, v == 0));
            }
        }
        // As c-blosc: the stream may take at most what is left of the chunk's room, and is
        // stored raw when it does not shrink (if that fits).
        if out.len() <= 4 {
            return None;
        }
        let (head, body) = out.split_at_mut(4);
        let maxout = neblock.min(body.len());
        let mut n = compress_stream(
            self.compressor,
            self.clevel,
            !self.extended,
            self.split,
            part,
            &mut body[..maxout],
        );
        if n == 0 || n >= neblock {
            let raw = body.get_mut(..neblock)?;
            raw.copy_from_slice(part);
            n = neblock;
        }
        head.copy_from_slice(&(n as i32).to_le_bytes());
        Some((4 + n, false))
    }

    /// [`Self::encode_streams`] by `workers` workers, as the blocks of a chunk (see
    /// [`threads::two_ended`]): the same bytes as the serial encoder.
    fn encode_streams_par(
        &self,
        data: &[u8],
        neblock: usize,
        out: &mut [u8],
        workers: usize,
    ) -> Result<Option<(usize, bool)>> {
        let part = |j: usize| &data[j * neblock..(j + 1) * neblock];
        let placed = threads::two_ended(
            data.len() / neblock,
            workers,
            out,
            |_| 4 + neblock,
            |j, out: &mut [u8]| Ok(self.encode_stream(part(j), out)),
        )?;
        Ok(placed.map(|p| (p.len(), self.extended && p.all_marked)))
    }
    /// Encodes every block of `src` into `dst` after `head` and the block-offset table, and
    /// patches the chunk size into `head`'s bytes 12..16. Returns `None` when the chunk would
    /// be larger than `limit` (or `dst`): the caller then stores the data uncompressed.
    ///
    /// Large chunks are encoded on the pool: one worker writes blocks from the start straight
    /// into `dst`, the others take blocks from the end into staging buffers, which are copied
    /// into place at the end. The bytes do not depend on the number of threads.
    pub fn encode_chunk_into(
        &self,
        src: &[u8],
        head: &[u8],
        limit: usize,
        dst: &mut [MaybeUninit<u8>],
    ) -> Result<Option<EncodedChunk>> {
        let nblocks = src.len().div_ceil(self.blocksize);
        let threads = threads::get_num_threads();
        let (workers, streams) = if nblocks < threads && self.blocksize >= PARALLEL_MIN_BYTES {
            // Fewer blocks than threads: each block's streams in parallel (a 1 MB chunk of
            // 8-byte items is a single block of eight streams).
            (1, threads)
        } else if nblocks > 1 && src.len() >= PARALLEL_MIN_BYTES {
            (threads.min(nblocks), 1)
        } else {
            (1, 1)
        };
        self.encode_chunk_with(src, head, limit, dst, workers, streams)
    }

    /// [`Self::encode_chunk_into`] with `workers` workers (1: all blocks on the calling thread),
    /// and `streams` workers for the streams of each block when `workers` is 1.
    fn encode_chunk_with(
        &self,
        src: &[u8],
        head: &[u8],
        limit: usize,
        dst: &mut [MaybeUninit<u8>],
        workers: usize,
        streams: usize,
    ) -> Result<Option<EncodedChunk>> {
        let nblocks = src.len().div_ceil(self.blocksize);
        let table = head.len() + 4 * nblocks;
        let cap = limit.min(dst.len());
        if table > cap {
            return Ok(None);
        }
        // SAFETY: the encoders only write through this view, and the caller reads only the
        // `len` bytes reported at the end, all of which were written.
        let out = unsafe { written_view(&mut dst[..cap]) };
        let (front_out, body) = out.split_at_mut(table);
        let streams = if workers > 1 { 1 } else { streams };
        let most = |i| self.max_block_len(self.block_size(src.len(), i));
        let encode =
            |i, out: &mut [u8]| with_scratch(|tmp| self.encode_block(src, i, tmp, out, streams));
        let placed = if streams > 1 {
            // One trip to the pool for the whole chunk; the blocks' parallel steps run inside.
            threads::install(|| threads::two_ended(nblocks, 1, body, most, encode))
        } else {
            threads::two_ended(nblocks, workers, body, most, encode)
        };
        let Some(placed) = placed? else {
            return Ok(None);
        };
        let hlen = head.len();
        let len = table + placed.len();
        front_out[..hlen].copy_from_slice(head);
        front_out[12..16].copy_from_slice(&(len as i32).to_le_bytes());
        let mut at = table;
        for (entry, n) in front_out[hlen..].chunks_exact_mut(4).zip(&placed.sizes) {
            entry.copy_from_slice(&(at as i32).to_le_bytes());
            at += n;
        }
        Ok(Some(EncodedChunk {
            len,
            all_zero: placed.all_marked,
        }))
    }
}

/// Whether every byte of `data` is `v`: 64 bytes at a time without an early exit inside them,
/// so that the compiler vectorises the test (a byte loop that stops at the first difference
/// does not vectorise).
fn all_equal(data: &[u8], v: u8) -> bool {
    let mut chunks = data.chunks_exact(64);
    for c in &mut chunks {
        if c.iter().fold(0u8, |acc, &x| acc | (x ^ v)) != 0 {
            return false;
        }
    }
    chunks.remainder().iter().all(|&x| x == v)
}

/// Runs `fill` on a zeroed buffer of `cap` bytes (fresh zero pages for large sizes, so no
/// memset) and keeps the `n` bytes it reports written.
pub(crate) fn vec_with(
    cap: usize,
    fill: impl FnOnce(&mut [MaybeUninit<u8>]) -> Result<usize>,
) -> Result<Vec<u8>> {
    let mut v = vec![0u8; cap];
    // SAFETY: `MaybeUninit<u8>` has the layout of `u8`, and the encoders write through the view
    // only with `put`, which copies initialised bytes.
    let view = unsafe { std::slice::from_raw_parts_mut(v.as_mut_ptr().cast(), cap) };
    let n = fill(view)?;
    v.truncate(n);
    v.shrink_to_fit();
    Ok(v)
}

#[cfg(test)]
mod tests {
    use super::super::decode::Chunk;
    use super::super::header::{write_header16, FLAG_SHUFFLE, HEADER_LEN};
    use super::super::test_data::{samples, BLOCK};
    use super::*;
    use crate::threads::ordered_testing::serial_at_every_size;

    fn spec(compressor: Compressor, extended: bool) -> EncodeSpec {
        EncodeSpec {
            compressor,
            clevel: 5,
            typesize: 4,
            blocksize: BLOCK,
            split: true,
            filters: Filter::last_slot(Filter::Shuffle),
            filters_meta: [0; 6],
            extended,
        }
    }

    /// A Blosc1 header for `spec` and `nbytes`.
    fn head(spec: &EncodeSpec, nbytes: usize) -> [u8; HEADER_LEN] {
        let mut head = [0u8; HEADER_LEN];
        let flags = (spec.compressor.format_code() << 5) | FLAG_SHUFFLE;
        write_header16(&mut head, 2, flags, spec.typesize, nbytes, BLOCK, 0);
        head
    }

    fn encode(spec: &EncodeSpec, src: &[u8], limit: usize, workers: usize) -> Option<Vec<u8>> {
        encode_with(spec, src, limit, workers, 1)
    }

    /// [`encode`] with `streams` workers per block (when `workers` is 1).
    fn encode_with(
        spec: &EncodeSpec,
        src: &[u8],
        limit: usize,
        workers: usize,
        streams: usize,
    ) -> Option<Vec<u8>> {
        let head = head(spec, src.len());
        // Poisoned, so that a byte the encoder claims but never writes shows up.
        let mut dst = vec![MaybeUninit::new(0xA5u8); limit + 100];
        let chunk = spec
            .encode_chunk_with(src, &head, limit, &mut dst, workers, streams)
            .unwrap()?;
        // SAFETY: the first `chunk.len` bytes were initialised above (and then overwritten).
        Some(
            dst[..chunk.len]
                .iter()
                .map(|b| unsafe { b.assume_init() })
                .collect(),
        )
    }

    #[test]
    fn chunks_do_not_depend_on_the_number_of_workers() {
        for compressor in [Compressor::BloscLz, Compressor::Lz4] {
            let spec = spec(compressor, false);
            for src in samples() {
                let roomy = src.len() + 4096;
                let one = encode(&spec, &src, roomy, 1).expect("fits");
                let chunk = Chunk::open(&one).unwrap();
                let mut back = vec![0u8; src.len()];
                chunk.decode_into(&mut back).unwrap();
                assert!(back == src, "{compressor:?}: round trip");
                // Limits around the chunk's size, where the last streams get less room than the
                // largest block (as in c-blosc, which may then not compress them): the same
                // answer with every number of workers, and one byte less never fits.
                assert!(encode(&spec, &src, one.len() - 1, 1).is_none());
                for limit in [
                    roomy,
                    one.len() + 70,
                    one.len() + 20,
                    one.len(),
                    one.len() - 1,
                ] {
                    let serial = encode(&spec, &src, limit, 1);
                    if let Some(chunk) = &serial {
                        assert!(chunk.len() <= limit);
                        let mut back = vec![0u8; src.len()];
                        Chunk::open(chunk).unwrap().decode_into(&mut back).unwrap();
                        assert!(back == src, "{compressor:?}: round trip at {limit}");
                    }
                    for workers in 2..=4 {
                        let got = encode(&spec, &src, limit, workers);
                        assert!(got == serial, "{compressor:?} x{workers} at {limit}");
                        // One block at a time, its streams split over the workers.
                        let got = encode_with(&spec, &src, limit, 1, workers);
                        assert!(
                            got == serial,
                            "{compressor:?} streams x{workers} at {limit}"
                        );
                    }
                }
                assert!(encode(&spec, &src, roomy, 3) == Some(one));
            }
        }
    }

    /// The streams of one block (as [`EncodeSpec::encode_streams_par`] encodes them) with the
    /// real compressors, Blosc1 and Blosc2, in the room around their serial size: staged streams
    /// that the serial encoder would have given less room are encoded again, with its bytes.
    #[test]
    fn staged_streams_near_the_end_of_the_room_give_the_serial_bytes() {
        let neblock = 1024;
        let mut data = samples()[2][7 * BLOCK..7 * BLOCK + 6 * neblock].to_vec();
        // A run stream and, last (staged first), a zero stream: Blosc2 writes both in a few
        // bytes, and the staged streams before the last then land near the end of the room.
        data[2 * neblock..3 * neblock].fill(7);
        data[5 * neblock..].fill(0);
        let n = data.len() / neblock;
        let most = |_| 4 + neblock;
        let (mut placed, mut again) = (0, 0);
        for compressor in [Compressor::BloscLz, Compressor::Lz4] {
            for extended in [false, true] {
                let spec = spec(compressor, extended);
                let item = |j: usize, room: &mut [u8]| {
                    spec.encode_stream(&data[j * neblock..(j + 1) * neblock], room)
                };
                let mut out = vec![0u8; n * most(0)];
                let (len, _) = spec.encode_streams(&data, neblock, &mut out).unwrap();
                let (p, a) = serial_at_every_size(n, len - 30..len + neblock + 30, most, item);
                placed += p;
                again += a;
            }
        }
        if threads::get_num_threads() > 1 {
            assert!(placed > 0 && again > 0, "{placed} placed, {again} again");
        }
    }

    #[test]
    fn all_zero_blocks_are_reported_by_every_worker() {
        let spec = spec(Compressor::Lz4, true);
        let mut src = vec![0u8; 16 * BLOCK];
        for workers in 1..=3 {
            let head = head(&spec, src.len());
            let mut dst = vec![MaybeUninit::new(0u8); src.len() + 100];
            let limit = src.len() + 32;
            let run = |src: &[u8], dst: &mut [MaybeUninit<u8>]| {
                spec.encode_chunk_with(src, &head, limit, dst, workers, 1)
                    .unwrap()
                    .unwrap()
            };
            assert!(run(&src, &mut dst).all_zero, "x{workers}");
            // One non-zero byte in the last block (a back worker's) or the first (the front's).
            for at in [src.len() - 1, 0] {
                src[at] = 1;
                assert!(!run(&src, &mut dst).all_zero, "x{workers} at {at}");
                src[at] = 0;
            }
        }
    }
}
