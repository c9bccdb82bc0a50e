//! Parallel decoding of variable-length ZFP streams (fixed accuracy, fixed precision,
//! reversible) by speculative splitting.
//!
//! These streams carry no block index: a block's bit offset is known only once every block
//! before it has been decoded, which makes `zfp_rs`'s decoder serial there (it overlaps the
//! serial bit-plane reader with parallel reconstruction, and the reader stays the bottleneck).
//!
//! Block decoding is stateless: the block that starts at a given bit offset decodes the same
//! whatever came before it. So the stream is cut into parts at arbitrary bit offsets, and each
//! part after the first decodes a chain of blocks from its cut as if a block started there
//! (phase 1, in parallel). That guess is almost always wrong, but such a chain lands on a true
//! block offset after a few hundred blocks in practice, and from then on it *is* the true chain.
//! The first part decodes the true chain from the stream's start straight into the output.
//! Phase 2 (serial, short) follows the true chain across each cut, decoding block by block until
//! it reaches an offset the next part's chain also started a block at; that part's blocks from
//! there on are then the true blocks, with known indices. Phase 3 copies them into place in
//! parallel. A part that never meets the true chain costs only time: the true chain then
//! decodes its range serially. The result is exactly `zfp_rs`'s serial decoding, value for
//! value, for every input, valid or not.
//!
//! Memory: the speculative parts keep their decoded blocks until phase 3, at most the
//! output's size plus a small margin in all (a shared budget; a part that exceeds it, or cannot
//! get the memory, stops, and the true chain decodes the rest serially).

use std::sync::atomic::{AtomicUsize, Ordering};

use rayon::prelude::*;
use zfp_rs::{ZfpBitStreamRef, ZfpConfig, ZfpDimensionality, ZfpScalar};

/// A speculative part keeps its values in chunks of this many 64-bit words (1 MiB), reused
/// from call to call (see [`ScratchPool`]).
const CHUNK_WORDS: usize = 1 << 17;

/// Chunks kept for reuse between calls, at most [`POOL_MAX_CHUNKS`] (64 MiB).
///
/// Fresh memory costs a page fault and a page clear per 4 KiB on first touch, which measured
/// about a fifth of the speculative parts' time; reused chunks cost neither. A chunk's old
/// contents are never read: every block is decoded into it before it is copied out. A child
/// made by `fork` takes its parent's chunks unless a thread held the lock at the fork.
static POOL: crate::threads::PerProcess<std::sync::Mutex<Vec<Vec<u64>>>> =
    crate::threads::PerProcess::new(|parent| {
        std::sync::Mutex::new(crate::threads::take_unlocked(parent))
    });
const POOL_MAX_CHUNKS: usize = 64;

/// A chunk from the pool, or a new one; `None` when the memory cannot be had.
fn take_chunk() -> Option<Vec<u64>> {
    let reused = POOL.get().lock().unwrap_or_else(|e| e.into_inner()).pop();
    reused.or_else(|| {
        let mut chunk = Vec::new();
        chunk.try_reserve_exact(CHUNK_WORDS).ok()?;
        chunk.resize(CHUNK_WORDS, 0);
        Some(chunk)
    })
}

fn return_chunks(chunks: impl IntoIterator<Item = Vec<u64>>) {
    let mut pool = POOL.get().lock().unwrap_or_else(|e| e.into_inner());
    for c in chunks {
        if pool.len() < POOL_MAX_CHUNKS {
            pool.push(c);
        }
    }
}

/// The first part's share of the stream relative to the others'.
const FIRST_PART_WEIGHT: f64 = 0.8;

/// The shape of the block grid, ZFP's x axis first.
#[derive(Debug, Clone, Copy)]
pub(super) struct Grid {
    /// Values per axis (1 on unused axes).
    n: [usize; 4],
    /// Blocks per axis (1 on unused axes).
    nb: [usize; 4],
    /// Element strides of the C-order output per axis.
    stride: [usize; 4],
    dims: ZfpDimensionality,
    /// Values per block (4^d).
    bsize: usize,
    /// Number of blocks.
    blocks: usize,
}

impl Grid {
    /// The grid of a C-order array of NumPy `shape` (1 to 4 axes, none empty).
    pub(super) fn new(shape: &[usize]) -> Self {
        let ndim = shape.len();
        let mut n = [1usize; 4];
        for (i, &s) in shape.iter().rev().enumerate() {
            n[i] = s;
        }
        let nb = n.map(|v| v.div_ceil(4));
        let stride = [1, n[0], n[0] * n[1], n[0] * n[1] * n[2]];
        let dims = match ndim {
            1 => ZfpDimensionality::D1,
            2 => ZfpDimensionality::D2,
            3 => ZfpDimensionality::D3,
            _ => ZfpDimensionality::D4,
        };
        Grid {
            n,
            nb,
            stride,
            dims,
            bsize: dims.block_size(),
            blocks: nb.iter().product(),
        }
    }

    /// Number of blocks.
    pub(super) fn blocks(&self) -> usize {
        self.blocks
    }
}

/// The output array, written block by block from several threads.
struct Out<T> {
    ptr: *mut T,
    len: usize,
}

// SAFETY: `Out` is a pointer to the caller's `&mut [T]`, which outlives every use; the threads
// write disjoint blocks (distinct block indices cover disjoint elements), see `scatter`.
unsafe impl<T: Send> Send for Out<T> {}
// SAFETY: as above.
unsafe impl<T: Send> Sync for Out<T> {}

impl<T: Copy> Out<T> {
    /// Copies the decoded 4^d `block` with index `index` into the output, clipped to the array.
    ///
    /// # Safety
    /// No other thread may write block `index` at the same time (blocks are disjoint, so
    /// writing different blocks concurrently is sound).
    #[inline]
    unsafe fn scatter(&self, grid: &Grid, index: usize, block: &[T]) {
        let mut rest = index;
        let mut b = [0usize; 4];
        for (a, v) in b.iter_mut().enumerate() {
            *v = rest % grid.nb[a];
            rest /= grid.nb[a];
        }
        let len = [0, 1, 2, 3].map(|a| (grid.n[a] - 4 * b[a]).min(4));
        let base: usize = (0..4).map(|a| 4 * b[a] * grid.stride[a]).sum();
        // The block's last element; everything it writes lies in `base..=last`.
        let last = base + (0..4).map(|a| (len[a] - 1) * grid.stride[a]).sum::<usize>();
        assert!(index < grid.blocks && last < self.len && block.len() == grid.bsize);
        for w in 0..len[3] {
            for z in 0..len[2] {
                for y in 0..len[1] {
                    let src = &block[64 * w + 16 * z + 4 * y..][..len[0]];
                    let dst = base + w * grid.stride[3] + z * grid.stride[2] + y * grid.stride[1];
                    if let Ok(row) = <[T; 4]>::try_from(src) {
                        // A whole row as one fixed-size store: a copy of variable length is a
                        // call to `memmove` per row, which measured about as long as the rest
                        // of the scatter.
                        // SAFETY: `dst + 3 <= last < self.len` (checked above), `[T; 4]` has
                        // the alignment of `T`, and no other thread writes this block (the
                        // caller's contract).
                        unsafe { self.ptr.add(dst).cast::<[T; 4]>().write(row) };
                    } else {
                        // SAFETY: `dst + len[0] - 1 <= last < self.len` (checked above), `src`
                        // is a separate buffer, and no other thread writes this block (the
                        // caller's contract).
                        unsafe {
                            std::ptr::copy_nonoverlapping(src.as_ptr(), self.ptr.add(dst), len[0]);
                        }
                    }
                }
            }
        }
    }
}

/// What a speculative part decoded: the bit offsets its blocks started at, their values, and
/// where its chain stopped.
struct Part<T> {
    starts: Vec<u64>,
    /// Values of block `i` in chunk `i / per_chunk`, at `(i % per_chunk) * bsize`.
    chunks: Vec<Vec<u64>>,
    /// Blocks per chunk.
    per_chunk: usize,
    /// Offset after the last block decoded (the next block's start).
    end: u64,
    _values: std::marker::PhantomData<T>,
}

impl<T: ZfpScalar> Part<T> {
    fn block(&self, i: usize, bsize: usize) -> &[T] {
        let chunk: &[T] = bytemuck::cast_slice(&self.chunks[i / self.per_chunk]);
        &chunk[(i % self.per_chunk) * bsize..][..bsize]
    }
}

/// Decodes one block at the stream's cursor into `block`; returns the offset after it.
#[inline]
fn decode_one<T: ZfpScalar>(
    bs: &mut ZfpBitStreamRef<'_>,
    config: &ZfpConfig,
    dims: ZfpDimensionality,
    block: &mut [T],
) -> u64 {
    // The length always matches `dims` (the callers size `block` from the grid).
    let _ = zfp_rs::codec::block::decode_block(bs, config, block, dims);
    bs.read_pos()
}

/// Phase 1 for a part after the first: the chain of blocks from `start` while they start
/// before `stop`, within the shared block `budget`.
fn speculate<T: ZfpScalar + Send>(
    words: &[u64],
    config: &ZfpConfig,
    grid: &Grid,
    start: u64,
    stop: u64,
    budget: &AtomicUsize,
) -> Part<T> {
    let bsize = grid.bsize;
    let per_chunk = per_chunk::<T>(grid);
    let mut bs = ZfpBitStreamRef::from_words(words);
    bs.seek_read(start);
    let mut part = Part {
        starts: Vec::new(),
        chunks: Vec::new(),
        per_chunk,
        end: start,
        _values: std::marker::PhantomData,
    };
    let mut pos = start;
    let mut filled = per_chunk;
    while pos < stop {
        if filled == per_chunk {
            // Take a chunk's worth of the budget, or stop here.
            let taken = budget.fetch_update(Ordering::Relaxed, Ordering::Relaxed, |left| {
                left.checked_sub(per_chunk)
            });
            if taken.is_err() {
                break;
            }
            // Without memory for the chunk (or its block offsets) the part stops here too.
            let Some(chunk) = take_chunk() else {
                break;
            };
            part.chunks.push(chunk);
            if part.starts.try_reserve(per_chunk).is_err() {
                break;
            }
            filled = 0;
        }
        let chunk: &mut [T] =
            bytemuck::cast_slice_mut(part.chunks.last_mut().expect("a chunk was just pushed"));
        let next = decode_one(
            &mut bs,
            config,
            grid.dims,
            &mut chunk[filled * bsize..][..bsize],
        );
        if next <= pos {
            // A block of no bits: the chain would not advance. Drop this block.
            break;
        }
        part.starts.push(pos);
        filled += 1;
        pos = next;
    }
    part.end = pos;
    part
}

/// Blocks in a chunk of [`CHUNK_WORDS`] words.
fn per_chunk<T>(grid: &Grid) -> usize {
    CHUNK_WORDS * 8 / (grid.bsize * std::mem::size_of::<T>())
}

/// How a part's blocks joined the true chain: its blocks `first..first + count` are the
/// field's blocks `index..index + count`.
struct Joined {
    part: usize,
    first: usize,
    index: usize,
    count: usize,
}

/// Decodes the blocks of a stream from bit `start` of `words` into `out` (the C-order array of
/// `grid`) one after the other, in any mode. Returns the offset after the last block: the stream
/// is truncated exactly when that lies past its end.
pub(super) fn decode_serial<T: ZfpScalar>(
    words: &[u64],
    start: u64,
    config: &ZfpConfig,
    grid: &Grid,
    out: &mut [T],
) -> u64 {
    let out = Out {
        ptr: out.as_mut_ptr(),
        len: out.len(),
    };
    let mut bs = ZfpBitStreamRef::from_words(words);
    bs.seek_read(start);
    let mut block = vec![T::default(); grid.bsize];
    let mut pos = start;
    for index in 0..grid.blocks {
        pos = decode_one(&mut bs, config, grid.dims, &mut block);
        // SAFETY: `out` is the caller's `&mut [T]`, written on this thread alone.
        unsafe { out.scatter(grid, index, &block) };
    }
    pos
}

/// Decodes the blocks of a variable-length stream from bit `start` of `words` into `out` (the
/// C-order array of `grid`), with `parts` parts (at least 2). Returns the offset after the last
/// block, which is what `zfp_rs`'s serial decoder reaches: the stream is truncated exactly when
/// that lies past its end.
///
/// `config` must not be fixed-rate and must have `min_bits() <= 1`.
pub(super) fn decode<T: ZfpScalar + Send + Sync>(
    words: &[u64],
    start: u64,
    config: &ZfpConfig,
    grid: &Grid,
    out: &mut [T],
    parts: usize,
) -> u64 {
    // Room for every block of the field, plus some speculative misses.
    let budget = grid.blocks + (parts + 1) * 2 * per_chunk::<T>(grid);
    decode_within(words, start, config, grid, out, parts, budget)
}

/// [`decode`] with a budget of `budget` blocks for the speculative parts.
fn decode_within<T: ZfpScalar + Send + Sync>(
    words: &[u64],
    start: u64,
    config: &ZfpConfig,
    grid: &Grid,
    out: &mut [T],
    parts: usize,
    budget: usize,
) -> u64 {
    let bsize = grid.bsize;
    let total = words.len() as u64 * 64;
    let parts = parts.max(2);
    // Shares of the stream's bits: the first part gets less, as it also takes the page faults
    // of first writing its share of the output (the others decode into reused scratch and write
    // the output in phase 3, on every thread).
    let bits = total.saturating_sub(start);
    let weight = |p: usize| if p == 0 { FIRST_PART_WEIGHT } else { 1.0 };
    let sum: f64 = (0..parts).map(weight).sum();
    let mut cuts = Vec::with_capacity(parts + 1);
    let mut acc = 0.0;
    for p in 0..parts {
        cuts.push(start + ((acc / sum) * bits as f64) as u64);
        acc += weight(p);
    }
    cuts.push(total);
    let budget = AtomicUsize::new(budget);
    let out = Out {
        ptr: out.as_mut_ptr(),
        len: out.len(),
    };

    // Phase 1: the first part decodes the true chain up to the first cut, into the output; the
    // others decode from their cuts into their own buffers.
    let first = |bs: &mut ZfpBitStreamRef<'_>, block: &mut [T]| {
        let mut pos = start;
        let mut index = 0;
        while pos < cuts[1] && index < grid.blocks {
            pos = decode_one(bs, config, grid.dims, block);
            // SAFETY: only this closure writes the output during phase 1.
            unsafe { out.scatter(grid, index, block) };
            index += 1;
        }
        (pos, index)
    };
    let mut bs = ZfpBitStreamRef::from_words(words);
    bs.seek_read(start);
    let mut block = vec![T::default(); bsize];
    let ((mut pos, mut index), speculative): (_, Vec<Part<T>>) = rayon::join(
        || first(&mut bs, &mut block),
        || {
            (1..parts)
                .into_par_iter()
                .map(|p| speculate::<T>(words, config, grid, cuts[p], cuts[p + 1], &budget))
                .collect()
        },
    );

    // Phase 2: follow the true chain across each cut until it meets the part's chain.
    let mut joined: Vec<Joined> = Vec::new();
    for (p, part) in speculative.iter().enumerate() {
        let mut j = 0;
        while index < grid.blocks {
            while j < part.starts.len() && part.starts[j] < pos {
                j += 1;
            }
            if j == part.starts.len() {
                // This part's chain lies behind the true chain: try the next part.
                break;
            }
            if part.starts[j] == pos {
                let count = (part.starts.len() - j).min(grid.blocks - index);
                #[cfg(test)]
                tests::JOINED.with(|c| c.set(c.get() + count));
                joined.push(Joined {
                    part: p,
                    first: j,
                    index,
                    count,
                });
                index += count;
                pos = part.starts.get(j + count).copied().unwrap_or(part.end);
                break;
            }
            bs.seek_read(pos);
            pos = decode_one(&mut bs, config, grid.dims, &mut block);
            // SAFETY: phase 2 runs on this thread alone.
            unsafe { out.scatter(grid, index, &block) };
            index += 1;
        }
    }
    // Whatever no part covered (a part that stopped early, or never met the true chain).
    if index < grid.blocks {
        bs.seek_read(pos);
        while index < grid.blocks {
            pos = decode_one(&mut bs, config, grid.dims, &mut block);
            // SAFETY: as above.
            unsafe { out.scatter(grid, index, &block) };
            index += 1;
        }
    }

    // Phase 3: copy the joined parts' blocks into place.
    let step = per_chunk::<T>(grid);
    let tasks: Vec<(usize, usize, usize, usize)> = joined
        .iter()
        .flat_map(|j| {
            (0..j.count)
                .step_by(step)
                .map(move |o| (j.part, j.first + o, j.index + o, (j.count - o).min(step)))
        })
        .collect();
    tasks.par_iter().for_each(|&(p, first, index, count)| {
        let part = &speculative[p];
        for k in 0..count {
            // SAFETY: the tasks cover disjoint ranges of block indices.
            unsafe { out.scatter(grid, index + k, part.block(first + k, bsize)) };
        }
    });
    return_chunks(speculative.into_iter().flat_map(|p| p.chunks));
    pos
}

#[cfg(test)]
mod tests {
    use super::*;
    use zfp_rs::{ZfpBitStream, ZfpDecompressionError, ZfpField, ZfpFieldMut};

    thread_local! {
        /// Blocks that phase 2 took from speculative parts on this thread.
        pub(super) static JOINED: std::cell::Cell<usize> = const { std::cell::Cell::new(0) };
    }

    struct Rng(u64);
    impl Rng {
        fn next(&mut self) -> u64 {
            // splitmix64
            self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
            let mut z = self.0;
            z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
            z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
            z ^ (z >> 31)
        }
        fn below(&mut self, n: u64) -> u64 {
            self.next() % n
        }
    }

    /// zfp-rs's serial decoding of `words` from bit `start`: the values, and whether the
    /// stream was truncated.
    fn serial<T: ZfpScalar>(
        words: &[u64],
        start: u64,
        config: &ZfpConfig,
        shape: &[usize],
    ) -> (Vec<T>, bool) {
        let n: usize = shape.iter().product();
        let mut out = vec![T::default(); n];
        let mut field = ZfpFieldMut::new(&mut out[..], super::super::dims4(shape)).unwrap();
        let mut bs = ZfpBitStreamRef::from_words(words);
        bs.seek_read(start);
        let truncated = match bs.decompress(config, &mut field) {
            Ok(_) => false,
            Err(ZfpDecompressionError::Truncated { .. }) => true,
            Err(e) => panic!("{e}"),
        };
        (out, truncated)
    }

    /// Speculative decoding with `parts` parts, and the truncation verdict `decode_typed`
    /// draws from its end offset.
    fn speculative<T: ZfpScalar + Send + Sync>(
        words: &[u64],
        start: u64,
        config: &ZfpConfig,
        shape: &[usize],
        parts: usize,
    ) -> (Vec<T>, bool) {
        let n: usize = shape.iter().product();
        let mut out = vec![T::default(); n];
        let grid = Grid::new(shape);
        let end = decode::<T>(words, start, config, &grid, &mut out, parts);
        let verdict = end > words.len() as u64 * 64;
        // A speculative part that runs out of budget stops; the rest is decoded serially.
        let chunk = per_chunk::<T>(&grid);
        for budget in [0, chunk, 3 * chunk] {
            let mut again = vec![T::default(); n];
            let e = decode_within::<T>(words, start, config, &grid, &mut again, parts, budget);
            assert_eq!(e, end);
            assert!(bits_of(&again) == bits_of(&out), "budget {budget}");
        }
        (out, verdict)
    }

    /// [`decode_serial`], and the truncation verdict drawn from its end offset.
    fn serial_loop<T: ZfpScalar>(
        words: &[u64],
        start: u64,
        config: &ZfpConfig,
        shape: &[usize],
    ) -> (Vec<T>, bool) {
        let n: usize = shape.iter().product();
        let mut out = vec![T::default(); n];
        let end = decode_serial::<T>(words, start, config, &Grid::new(shape), &mut out);
        (out, end > words.len() as u64 * 64)
    }

    /// The block-by-block serial loop decodes as zfp-rs does in the modes the speculative
    /// decoder leaves out too: fixed rate, and blocks padded to more than one bit.
    #[test]
    fn serial_loop_matches_zfp_rs_in_every_mode() {
        let mut rng = Rng(11);
        for round in 0..16 {
            let shape = random_shape(&mut rng);
            let n: usize = shape.iter().product();
            let values = field_values(&mut rng, n, |v| v);
            let rate = 1 + rng.below(40) as u32;
            for config in [
                ZfpConfig::expert(12 * rate, 12 * rate, 64, zfp_rs::ZFP_MIN_EXP).unwrap(),
                ZfpConfig::expert(30, 2000, 40, -30).unwrap(),
                ZfpConfig::expert(70, 70, 64, zfp_rs::ZFP_MIN_EXP - 1).unwrap(),
            ] {
                let field = ZfpField::new(&values[..], super::super::dims4(&shape)).unwrap();
                let mut bs = ZfpBitStream::new(n * 64 + 4096).unwrap();
                bs.compress(&config, &field).unwrap();
                let len = bs.as_bytes().len() / 8;
                let words = &bs.as_words()[..len];
                let cut = rng.below(len as u64) as usize;
                for w in [words, &words[..cut]] {
                    let context = format!("round {round} {shape:?} {config:?} {} words", w.len());
                    let (want, want_trunc) = serial::<f64>(w, 0, &config, &shape);
                    let (got, got_trunc) = serial_loop::<f64>(w, 0, &config, &shape);
                    assert_eq!(got_trunc, want_trunc, "{context}");
                    assert!(bits_of(&got) == bits_of(&want), "{context}: values differ");
                }
            }
        }
    }

    fn bits_of<T: ZfpScalar>(v: &[T]) -> Vec<u8> {
        bytemuck::cast_slice(v).to_vec()
    }

    fn configs(rng: &mut Rng) -> Vec<ZfpConfig> {
        vec![
            ZfpConfig::reversible(),
            ZfpConfig::fixed_accuracy([1e-3, 0.0, 0.5, 1e-9][rng.below(4) as usize]),
            ZfpConfig::fixed_precision([16, 1, 7, 32, 64][rng.below(5) as usize]),
        ]
    }

    fn random_shape(rng: &mut Rng) -> Vec<usize> {
        let ndim = 1 + rng.below(4) as usize;
        let max = [4000, 70, 24, 10][ndim - 1];
        (0..ndim).map(|_| 1 + rng.below(max) as usize).collect()
    }

    fn check<T: ZfpScalar + Send + Sync>(
        words: &[u64],
        start: u64,
        config: &ZfpConfig,
        shape: &[usize],
        context: &str,
    ) {
        let (want, want_trunc) = serial::<T>(words, start, config, shape);
        let (got, got_trunc) = serial_loop::<T>(words, start, config, shape);
        assert_eq!(got_trunc, want_trunc, "{context}, serial loop");
        assert!(
            bits_of(&got) == bits_of(&want),
            "{context}, serial loop: values differ"
        );
        for parts in [2, 3, 5, 16, 61] {
            let (got, got_trunc) = speculative::<T>(words, start, config, shape, parts);
            assert_eq!(got_trunc, want_trunc, "{context}, {parts} parts");
            assert!(
                bits_of(&got) == bits_of(&want),
                "{context}, {parts} parts: values differ"
            );
        }
    }

    fn field_values<T: ZfpScalar>(rng: &mut Rng, n: usize, from: impl Fn(f64) -> T) -> Vec<T> {
        let kind = rng.below(3);
        let (a, b) = (rng.below(100) as f64 * 0.01 + 0.01, rng.below(7) as f64);
        (0..n)
            .map(|i| {
                let x = i as f64;
                from(match kind {
                    0 => (a * x).sin() * 10f64.powf(b - 3.0),
                    1 => (rng.next() as f64 / u64::MAX as f64 - 0.5) * 10f64.powf(b),
                    _ => (x * a).floor(),
                })
            })
            .collect()
    }

    fn round_trip<T: ZfpScalar + Send + Sync>(rng: &mut Rng, from: impl Fn(f64) -> T) {
        let shape = random_shape(rng);
        let n: usize = shape.iter().product();
        let values = field_values(rng, n, from);
        for config in configs(rng) {
            let field = ZfpField::new(&values[..], super::super::dims4(&shape)).unwrap();
            let mut bs = ZfpBitStream::new(n * 16 + 4096).unwrap();
            // An odd header length, as zfpy's streams have.
            let start = 96 + rng.below(60);
            bs.write_bits(rng.next(), start as u32 - 64);
            bs.write_bits(rng.next(), 64);
            bs.compress(&config, &field).unwrap();
            let len = bs.as_bytes().len() / 8;
            let words = &bs.as_words()[..len];
            let context = format!("{shape:?} {config:?} {}", std::any::type_name::<T>());
            check::<T>(words, start, &config, &shape, &context);
            // Cut short: the verdict and the values (zeros read past the end) must agree.
            let cut = rng.below(len as u64) as usize;
            check::<T>(
                &words[..cut],
                start,
                &config,
                &shape,
                &format!("{context}, cut {cut}"),
            );
        }
    }

    /// Streams compressed by zfp-rs decode to exactly zfp-rs's serial output, whatever the
    /// number of parts (most joins fall on different blocks).
    #[test]
    fn matches_serial_decoding_on_compressed_streams() {
        let mut rng = Rng(1);
        JOINED.with(|c| c.set(0));
        for _ in 0..12 {
            round_trip::<f32>(&mut rng, |v| v as f32);
            round_trip::<f64>(&mut rng, |v| v);
            round_trip::<i32>(&mut rng, |v| (v * 1000.0) as i32);
            round_trip::<i64>(&mut rng, |v| (v * 1e6) as i64);
        }
        // The speculative parts did join the true chain (not all decoded serially).
        let joined = JOINED.with(|c| c.get());
        assert!(joined > 10_000, "only {joined} blocks joined");
    }

    /// Random bits: whatever the decoder makes of them, the speculative decoder makes the same,
    /// including the truncation verdict.
    #[test]
    fn matches_serial_decoding_on_random_streams() {
        let mut rng = Rng(7);
        for round in 0..40 {
            let shape = random_shape(&mut rng);
            let len = 1 + rng.below(3000) as usize;
            // Sparse bits make long runs of small blocks; dense ones, big blocks.
            let density = rng.below(4);
            let words: Vec<u64> = (0..len)
                .map(|_| {
                    let mut w = rng.next();
                    for _ in 0..density {
                        w &= rng.next();
                    }
                    w
                })
                .collect();
            let start = rng.below(200);
            for config in configs(&mut rng) {
                let context = format!("round {round} {shape:?} {config:?}");
                check::<f32>(&words, start, &config, &shape, &context);
                check::<f64>(&words, start, &config, &shape, &context);
                check::<i32>(&words, start, &config, &shape, &context);
                check::<i64>(&words, start, &config, &shape, &context);
            }
        }
    }
}
