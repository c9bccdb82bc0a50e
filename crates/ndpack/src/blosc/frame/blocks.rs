//! Reads of a stored chunk by its blocks from a frame file read with `pread`: a few blocks alone
//! (regions of N-d arrays, [`SChunk::with_chunk_blocks`]), or every block of a large chunk read
//! by the worker that decodes it ([`SChunk::decode_by_blocks`]), so that the reads run in
//! parallel and each worker decodes bytes that it has just read into its own cache.

use std::collections::HashMap;
use std::sync::Arc;

use super::contiguous::Contig;
use super::schunk::{Store, READ_BUF, READ_BUF_KEEP_MAX};
use super::{Entry, SChunk};
use crate::blosc::chunk::PARALLEL_MIN_BYTES;
use crate::blosc::v2::{self, Filter};
use crate::buffer::try_reserve_total;
use crate::error::{Error, Result};
use crate::threads;

/// What the header of a stored chunk tells about reading it by blocks.
struct Layout {
    cbytes: usize,
    nblocks: usize,
    blocksize: usize,
}

impl Layout {
    /// The end of the header and block-offset table.
    fn table_end(&self) -> usize {
        v2::MAX_OVERHEAD + 4 * self.nblocks
    }
}

/// Reads separated by at most this many bytes are made one read (a system call costs more
/// than copying this much).
const READ_GAP: usize = 32 << 10;

/// The cache holds at most this many chunk heads, and at most [`HEADS_MAX_BYTES`] bytes.
const HEADS_MAX: usize = 1 << 16;

/// The most bytes of chunk heads the cache holds.
const HEADS_MAX_BYTES: usize = 16 << 20;

/// The heads of stored chunks (header and block-offset table, or only the header of a chunk
/// whose blocks cannot be read alone) of a frame file, by the chunk's offset, read once for
/// reads by blocks. Stored bytes never change under an offset while the file is open (new
/// bytes go past the live ones; a compaction writes a new file), and every store of new bytes
/// empties the cache all the same.
#[derive(Debug, Default)]
pub(super) struct HeadCache {
    heads: std::sync::RwLock<Heads>,
}

/// Chunk heads by offset, and their total size.
type Heads = (HashMap<i64, Arc<[u8]>>, usize);

impl HeadCache {
    fn get(&self, off: i64) -> Option<Arc<[u8]>> {
        let g = self.heads.read().unwrap_or_else(|e| e.into_inner());
        g.0.get(&off).cloned()
    }

    fn insert(&self, off: i64, head: Arc<[u8]>) {
        let mut g = self.heads.write().unwrap_or_else(|e| e.into_inner());
        if g.0.len() >= HEADS_MAX || g.1 + head.len() > HEADS_MAX_BYTES {
            *g = (HashMap::new(), 0);
        }
        g.1 += head.len();
        if let Some(old) = g.0.insert(off, head) {
            g.1 -= old.len();
        }
    }

    /// Forgets every head.
    pub(super) fn clear(&mut self) {
        *self.heads.get_mut().unwrap_or_else(|e| e.into_inner()) = (HashMap::new(), 0);
    }
}

/// The layout of a stored chunk of `e` from its first 32 bytes; `None` when its blocks cannot be
/// read alone (a chunk stored raw, special, with DELTA or a Blosc1 header).
fn layout_of(first: &[u8], e: &Entry) -> Result<Option<Layout>> {
    let mut head: [u8; v2::MAX_OVERHEAD] = first[..v2::MAX_OVERHEAD]
        .try_into()
        .expect("a chunk head holds the header");
    let cbytes = i32::from_le_bytes(head[12..16].try_into().expect("4 bytes"));
    let cbytes = usize::try_from(cbytes)
        .map_err(|_| Error::corrupt(format!("a chunk declares {cbytes} bytes")))?;
    // The header parsed alone: its chunk size set to the header's own.
    head[12..16].copy_from_slice(&(v2::MAX_OVERHEAD as i32).to_le_bytes());
    let info = v2::chunk_info(&head)?;
    // Bits 0 and 2 of the flags together mark the 32-byte Blosc2 header.
    let blosc2 = head[2] & 0x05 == 0x05;
    if !blosc2 || !blocks_stand_alone(&info) || info.nbytes != e.nbytes as usize {
        return Ok(None);
    }
    let nblocks = info.nbytes.div_ceil(info.blocksize);
    if v2::MAX_OVERHEAD + 4 * nblocks > cbytes {
        return Err(Error::corrupt(format!(
            "a chunk of {cbytes} bytes cannot hold the offsets of {nblocks} blocks"
        )));
    }
    Ok(Some(Layout {
        cbytes,
        nblocks,
        blocksize: info.blocksize,
    }))
}

/// The layout and head (header and block-offset table) of the stored chunk of `e`, read once
/// and then kept by the store; `None` when the chunk's blocks cannot be read alone or the file
/// is mapped.
fn chunk_head(c: &Contig, e: &Entry) -> Result<Option<(Layout, Arc<[u8]>)>> {
    if let Some(head) = c.heads.get(e.off) {
        return Ok(layout_of(&head, e)?.map(|l| (l, head)));
    }
    let mut first = [0u8; v2::MAX_OVERHEAD];
    if !c.read_chunk_part(e, v2::MAX_OVERHEAD, 0, &mut first)? {
        return Ok(None);
    }
    let layout = layout_of(&first, e)?;
    let head: Arc<[u8]> = match &layout {
        Some(l) => {
            let mut head = vec![0u8; l.table_end()];
            c.read_chunk_part(e, l.cbytes, 0, &mut head)?;
            head.into()
        }
        None => first.to_vec().into(),
    };
    c.heads.insert(e.off, Arc::clone(&head));
    Ok(layout.map(|l| (l, head)))
}

/// Each block's byte range `(start, end)` in a chunk of `cbytes` bytes, in block order, from the
/// chunk's first `table_end` bytes (header and block-offset table). Blocks may lie in any
/// order: each runs from its start to the next start in the chunk, the last to its end.
fn block_ranges(head: &[u8], cbytes: usize) -> Result<Vec<(usize, usize)>> {
    let table_end = head.len();
    let starts: Vec<usize> = head[v2::MAX_OVERHEAD..]
        .chunks_exact(4)
        .map(|b| i32::from_le_bytes(b.try_into().expect("4 bytes")))
        .map(|s| {
            usize::try_from(s)
                .ok()
                .filter(|&s| s >= table_end && s < cbytes)
        })
        .collect::<Option<Vec<_>>>()
        .ok_or_else(|| Error::corrupt("a Blosc block starts out of its chunk"))?;
    let mut sorted = starts.clone();
    sorted.sort_unstable();
    Ok(starts
        .iter()
        .map(|&s| {
            let next = sorted.partition_point(|&t| t <= s);
            (s, sorted.get(next).copied().unwrap_or(cbytes))
        })
        .collect())
}

/// The reads that fetch the sorted byte `ranges`: adjacent or near ones (less than
/// [`READ_GAP`] apart) made one.
fn coalesce(ranges: &[(usize, usize)]) -> Vec<(usize, usize)> {
    let mut runs: Vec<(usize, usize)> = Vec::with_capacity(ranges.len());
    for &(lo, hi) in ranges {
        match runs.last_mut() {
            Some(run) if lo <= run.1 + READ_GAP => run.1 = run.1.max(hi),
            _ => runs.push((lo, hi)),
        }
    }
    runs
}

/// Runs `f` on the first `len` bytes of this thread's read buffer (grown when too small, else
/// reused as it is), or of a fresh one when re-entered or when `len` is too large to keep.
fn with_read_buf<R>(len: usize, f: impl FnOnce(&mut [u8]) -> Result<R>) -> Result<R> {
    let run = |buf: &mut Vec<u8>| {
        if buf.len() < len {
            try_reserve_total(buf, len, "frame chunk")?;
            buf.resize(len, 0);
        }
        f(&mut buf[..len])
    };
    READ_BUF.with(|cell| match cell.try_borrow_mut() {
        Ok(mut buf) if len as u64 <= READ_BUF_KEEP_MAX => run(&mut buf),
        _ => run(&mut Vec::new()),
    })
}

/// Whether each block of a chunk with this header can be read and decoded alone: it has blocks
/// of its own (not stored raw, not special) and none depends on another (no DELTA).
fn blocks_stand_alone(info: &v2::ChunkInfo) -> bool {
    !info.memcpyed
        && info.special == 0
        && info.blocksize != 0
        && !info.filters.contains(&Filter::Delta.code())
}

/// Which blocks of `chunk` are wanted, when `blocks` are a quarter of its blocks or fewer (and
/// none depends on another: no DELTA): the decoder then checks only those.
fn few_blocks(chunk: &[u8], blocks: &[usize]) -> Option<Vec<bool>> {
    let info = v2::chunk_info(chunk).ok()?;
    if !blocks_stand_alone(&info) {
        return None;
    }
    let nblocks = info.nbytes.div_ceil(info.blocksize);
    if blocks.is_empty() || blocks.len() * 4 > nblocks || blocks.iter().any(|&b| b >= nblocks) {
        return None;
    }
    let mut present = vec![false; nblocks];
    for &b in blocks {
        present[b] = true;
    }
    Some(present)
}

impl SChunk {
    /// Runs `f` on a decoder of chunk `nchunk` that can decode at least the blocks `blocks`.
    /// From a frame file read with `pread`, when those are few of the chunk's blocks, only the
    /// chunk's header, its block-offset table and those blocks' bytes are read (adjacent blocks
    /// in one read); otherwise the whole chunk is read (or viewed) as for any decode, and when
    /// `blocks` are a quarter of its blocks or fewer the decoder checks, and can decode, only
    /// those.
    pub fn with_chunk_blocks<R>(
        &self,
        nchunk: usize,
        blocks: &[usize],
        f: impl FnOnce(&v2::ChunkDecoder<'_>) -> Result<R>,
    ) -> Result<R> {
        let e = self.entry(nchunk)?;
        let plan = match &self.store {
            Store::Contiguous(c) if !e.is_special() && !blocks.is_empty() => {
                chunk_head(c, &e)?.map(|lh| (c, lh))
            }
            _ => None,
        };
        // A read per run of blocks: worth it for a few blocks of many. Blocks past the end are
        // left to the decoder to refuse.
        let plan = plan.filter(|(_, (l, _))| {
            l.nblocks >= 4 && blocks.len() * 4 <= l.nblocks && blocks.iter().all(|&b| b < l.nblocks)
        });
        let Some((c, (l, head))) = plan else {
            return self.with_chunk(&e, |chunk| {
                // Few blocks of a chunk in memory: only those are checked.
                let dec = match few_blocks(chunk, blocks) {
                    Some(present) => v2::ChunkDecoder::open_partial(chunk, present)?,
                    None => v2::ChunkDecoder::open(chunk)?,
                };
                f(&dec)
            });
        };
        let table_end = l.table_end();
        let mut present = vec![false; l.nblocks];
        for &b in blocks {
            present[b] = true;
        }
        with_read_buf(l.cbytes, |buf| {
            buf[..table_end].copy_from_slice(&head);
            let all = block_ranges(&head, l.cbytes)?;
            let mut ranges: Vec<(usize, usize)> = present
                .iter()
                .zip(all)
                .filter(|(p, _)| **p)
                .map(|(_, r)| r)
                .collect();
            ranges.sort_unstable();
            for (lo, hi) in coalesce(&ranges) {
                c.read_chunk_part(&e, l.cbytes, lo, &mut buf[lo..hi])?;
            }
            f(&v2::ChunkDecoder::open_partial(buf, present)?)
        })
    }

    /// Decodes the stored chunk of `e` into `out` (its decoded size) from a frame file read
    /// with `pread`, by runs of blocks on the pool, when it is large enough to be decoded in
    /// parallel: the header and block-offset table are read once (and kept), then each worker
    /// reads the bytes of the run it decodes into its own buffer. The reads run in parallel,
    /// and no worker decodes bytes that another core read. `false` (nothing done) when the chunk is
    /// to be read whole instead: a map, a pool of one thread, a small or single-block chunk, or
    /// one whose blocks cannot be read alone.
    pub(super) fn decode_by_blocks(&self, e: &Entry, out: &mut [u8]) -> Result<bool> {
        if threads::get_num_threads() < 2 {
            return Ok(false);
        }
        // Other callers decoding at the same time (Python threads, or the pool's workers
        // decoding other chunks) take their share of the threads: with as many callers as
        // threads, each decodes its chunk alone, with one read.
        let share = threads::share();
        self.decode_by_blocks_with(e, out, share.workers())
    }

    /// [`Self::decode_by_blocks`] with `threads` workers.
    fn decode_by_blocks_with(&self, e: &Entry, out: &mut [u8], threads: usize) -> Result<bool> {
        let Store::Contiguous(c) = &self.store else {
            return Ok(false);
        };
        if e.is_special()
            || (e.nbytes as usize) < PARALLEL_MIN_BYTES
            || out.len() != e.nbytes as usize
        {
            return Ok(false);
        }
        let Some((l, head)) = chunk_head(c, e)? else {
            return Ok(false);
        };
        if l.nblocks < 2 {
            return Ok(false);
        }
        let ranges = block_ranges(&head, l.cbytes)?;
        // Runs of blocks, read and decoded by one worker each: two per worker (so that a worker
        // that started late takes fewer), one for a worker alone.
        let runs = if threads < 2 {
            1
        } else {
            l.nblocks.min(2 * threads)
        };
        let per = l.nblocks.div_ceil(runs);
        let decode = |(k, part): (usize, &mut [u8])| {
            let first = k * per;
            let last = (first + per).min(l.nblocks);
            with_read_buf(l.cbytes, |buf| {
                buf[..head.len()].copy_from_slice(&head);
                let mut wanted = ranges[first..last].to_vec();
                wanted.sort_unstable();
                for (lo, hi) in coalesce(&wanted) {
                    c.read_chunk_part(e, l.cbytes, lo, &mut buf[lo..hi])?;
                }
                let mut present = vec![false; l.nblocks];
                present[first..last].fill(true);
                v2::ChunkDecoder::open_partial(buf, present)?
                    .decode_range(first * l.blocksize, part)
            })
        };
        threads::for_each_with_caller(
            out.chunks_mut(per * l.blocksize).enumerate(),
            threads,
            decode,
        )?;
        Ok(true)
    }
}

#[cfg(test)]
mod tests {
    use super::super::{DParams, Mode, Storage};
    use super::*;
    use crate::blosc::v2::CParams;
    use crate::blosc::Compressor;
    use crate::error::ErrorKind;

    const MB: usize = 1 << 20;

    fn smooth(seed: u32, n: usize) -> Vec<u8> {
        (0..(n / 4) as u32)
            .flat_map(|i| ((f64::from(i + seed) * 1e-3).sin() as f32 * 100.0).to_le_bytes())
            .collect()
    }

    fn cparams(blocksize: usize) -> CParams {
        CParams {
            typesize: 4,
            codec: Compressor::Lz4,
            blocksize,
            ..CParams::default()
        }
    }

    /// `chunk` with its blocks stored in reverse order (the offsets table pointing to them), as
    /// c-blosc2 may store them (in the order its threads finish).
    fn reversed_blocks(chunk: &[u8]) -> Vec<u8> {
        let info = v2::chunk_info(chunk).unwrap();
        let nblocks = info.nbytes.div_ceil(info.blocksize);
        let table_end = v2::MAX_OVERHEAD + 4 * nblocks;
        let ranges = block_ranges(&chunk[..table_end], info.cbytes).unwrap();
        let mut out = chunk[..table_end].to_vec();
        for j in (0..nblocks).rev() {
            let at = out.len() as i32;
            out[v2::MAX_OVERHEAD + 4 * j..v2::MAX_OVERHEAD + 4 * j + 4]
                .copy_from_slice(&at.to_le_bytes());
            out.extend_from_slice(&chunk[ranges[j].0..ranges[j].1]);
        }
        assert_eq!(out.len(), info.cbytes);
        out
    }

    fn file_schunk(name: &str, blocksize: usize) -> (std::path::PathBuf, SChunk) {
        let dir = std::env::temp_dir().join(format!("ndpack-blocks-{}-{name}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("f.b2frame");
        let storage = Storage {
            urlpath: Some(path.clone()),
            contiguous: true,
            mode: Mode::Write,
            ..Storage::default()
        };
        let s = SChunk::new(MB, cparams(blocksize), DParams::default(), storage).unwrap();
        (dir, s)
    }

    #[test]
    fn whole_chunks_of_a_file_decode_block_by_block() {
        let (dir, mut s) = file_schunk("whole", 64 << 10);
        let chunks: Vec<Vec<u8>> = (0..3).map(|k| smooth(k * 977, MB)).collect();
        for c in &chunks[..2] {
            s.append_buffer(c).unwrap();
        }
        // A chunk with its blocks stored in reverse order, and a short last chunk.
        let chunk = v2::compress(&chunks[2], &cparams(64 << 10)).unwrap();
        s.append_chunk(&reversed_blocks(&chunk)).unwrap();
        s.append_buffer(&chunks[0][..MB / 2 + 4]).unwrap();
        drop(s);
        let s = SChunk::open(dir.join("f.b2frame"), Mode::Read).unwrap();
        let mut want = chunks.clone();
        want.push(chunks[0][..MB / 2 + 4].to_vec());
        for (i, w) in want.iter().enumerate() {
            let e = s.entry(i).unwrap();
            for threads in [2, 3] {
                let mut out = vec![0xA5u8; w.len()];
                assert!(s.decode_by_blocks_with(&e, &mut out, threads).unwrap());
                assert_eq!(&out, w, "chunk {i}, {threads} threads");
            }
            // One worker: the blocks one after the other on the caller.
            let mut out = vec![0u8; w.len()];
            let by_blocks = s.decode_by_blocks_with(&e, &mut out, 1).unwrap();
            assert_eq!(by_blocks, w.len() >= PARALLEL_MIN_BYTES);
            assert_eq!(s.decompress_chunk(i).unwrap(), *w);
        }
        std::fs::remove_dir_all(dir).unwrap();
    }

    #[test]
    fn kept_chunk_heads_follow_updates_and_compaction() {
        let (dir, mut s) = file_schunk("heads", 16 << 10);
        let (a, b, c) = (smooth(1, MB), smooth(2, MB), smooth(3, MB));
        s.append_buffer(&a).unwrap();
        s.append_buffer(&a).unwrap();
        let blocks = [0usize, 2, 3, 40, 63];
        let read = |s: &SChunk, i: usize| -> Vec<Vec<u8>> {
            s.with_chunk_blocks(i, &blocks, |dec| {
                blocks
                    .iter()
                    .map(|&j| {
                        let mut out = vec![0u8; 16 << 10];
                        dec.decode_range(j * (16 << 10), &mut out).map(|_| out)
                    })
                    .collect()
            })
            .unwrap()
        };
        let want = |d: &[u8]| -> Vec<Vec<u8>> {
            blocks
                .iter()
                .map(|&j| d[j * (16 << 10)..(j + 1) * (16 << 10)].to_vec())
                .collect()
        };
        for _ in 0..2 {
            assert_eq!(read(&s, 0), want(&a));
        }
        s.update_chunk(0, &v2::compress(&b, &cparams(16 << 10)).unwrap())
            .unwrap();
        assert_eq!(read(&s, 0), want(&b));
        assert_eq!(read(&s, 1), want(&a));
        s.update_chunk(1, &v2::compress(&c, &cparams(16 << 10)).unwrap())
            .unwrap();
        s.compact().unwrap();
        assert_eq!(read(&s, 0), want(&b));
        assert_eq!(read(&s, 1), want(&c));
        let e = s.entry(1).unwrap();
        let mut out = vec![0u8; MB];
        assert!(s.decode_by_blocks_with(&e, &mut out, 2).unwrap());
        assert_eq!(out, c);
        std::fs::remove_dir_all(dir).unwrap();
    }

    #[test]
    fn chunks_that_cannot_be_read_by_blocks_are_read_whole() {
        let (dir, mut s) = file_schunk("whole-only", 0);
        // One block (the automatic blocksize of a small chunk), and stored raw (clevel 0).
        let raw = CParams {
            clevel: 0,
            ..cparams(64 << 10)
        };
        s.append_chunk(&v2::compress(&smooth(2, MB), &raw).unwrap())
            .unwrap();
        s.append_buffer(&smooth(1, 4096)).unwrap();
        assert_eq!(s.nchunks(), 2);
        for i in 0..s.nchunks() {
            let e = s.entry(i).unwrap();
            let mut out = vec![0u8; e.nbytes as usize];
            assert!(
                !s.decode_by_blocks_with(&e, &mut out, 2).unwrap(),
                "chunk {i}"
            );
        }
        std::fs::remove_dir_all(dir).unwrap();
    }

    #[test]
    fn damaged_block_offsets_are_errors() {
        let (dir, mut s) = file_schunk("damaged", 64 << 10);
        let chunk = v2::compress(&smooth(5, MB), &cparams(64 << 10)).unwrap();
        let info = v2::chunk_info(&chunk).unwrap();
        let table = v2::MAX_OVERHEAD;
        let mut bad = Vec::new();
        // A block starting past the chunk, inside the header, and before the chunk.
        for (j, start) in [(3usize, info.cbytes as i32 + 10), (5, 8), (7, -4)] {
            let mut c = chunk.clone();
            c[table + 4 * j..table + 4 * j + 4].copy_from_slice(&start.to_le_bytes());
            bad.push(c);
        }
        for _ in &bad {
            s.append_chunk(&chunk).unwrap();
        }
        drop(s);
        // The damage written into the file in place of the stored chunks.
        let path = dir.join("f.b2frame");
        let mut file = std::fs::read(&path).unwrap();
        let probe = &chunk[..table + 64];
        let at: Vec<usize> = (0..file.len() - probe.len())
            .filter(|&i| &file[i..i + probe.len()] == probe)
            .collect();
        assert_eq!(at.len(), bad.len());
        for (&a, c) in at.iter().zip(&bad) {
            file[a..a + c.len()].copy_from_slice(c);
        }
        std::fs::write(&path, file).unwrap();
        let s = SChunk::open(dir.join("f.b2frame"), Mode::Read).unwrap();
        for i in 0..bad.len() {
            let e = s.entry(i).unwrap();
            let mut out = vec![0u8; MB];
            let err = s.decode_by_blocks_with(&e, &mut out, 2).unwrap_err();
            assert!(
                matches!(err.kind(), ErrorKind::Corrupt | ErrorKind::Truncated),
                "chunk {i}: {err}"
            );
        }
        std::fs::remove_dir_all(dir).unwrap();
    }
}
