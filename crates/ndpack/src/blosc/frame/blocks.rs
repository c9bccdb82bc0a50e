//! Reads of a stored chunk by its blocks from a frame file read with `pread`: a few blocks alone
//! (regions of N-d arrays, [`SChunk::with_chunk_blocks`]), or every block of a large chunk read
//! by the worker that decodes it ([`SChunk::decode_by_blocks`]), so that the reads run in
//! parallel and each worker decodes bytes that it has just read into its own cache.

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

/// The layout of the stored chunk of `e`, read from its header; `None` when its blocks cannot
/// be read alone (a map, or a chunk stored raw, special, with DELTA or a Blosc1 header).
fn layout(c: &Contig, e: &Entry) -> Result<Option<Layout>> {
    let mut head = [0u8; v2::MAX_OVERHEAD];
    if !c.read_chunk_part(e, v2::MAX_OVERHEAD, 0, &mut head)? {
        return Ok(None);
    }
    let cbytes = i32::from_le_bytes(head[12..16].try_into().expect("4 bytes"));
    let cbytes = usize::try_from(cbytes)
        .map_err(|_| Error::corrupt(format!("a chunk declares {cbytes} bytes")))?;
    // The header parsed alone: its chunk size set to the header's own.
    head[12..16].copy_from_slice(&(v2::MAX_OVERHEAD as i32).to_le_bytes());
    let info = v2::chunk_info(&head)?;
    // Bits 0 and 2 of the flags together mark the 32-byte Blosc2 header.
    let blosc2 = head[2] & 0x05 == 0x05;
    if !blosc2
        || info.memcpyed
        || info.special != 0
        || info.blocksize == 0
        || info.filters.contains(&Filter::Delta.code())
        || info.nbytes != e.nbytes as usize
    {
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

/// Which blocks of `chunk` are wanted, when `blocks` are a quarter of its blocks or fewer (and
/// none depends on another: no DELTA): the decoder then checks only those.
fn few_blocks(chunk: &[u8], blocks: &[usize]) -> Option<Vec<bool>> {
    let info = v2::chunk_info(chunk).ok()?;
    if info.memcpyed
        || info.special != 0
        || info.blocksize == 0
        || info.filters.contains(&Filter::Delta.code())
    {
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
                layout(c, &e)?.map(|l| (c, l))
            }
            _ => None,
        };
        // A read per run of blocks: worth it for a few blocks of many. Blocks past the end are
        // left to the decoder to refuse.
        let plan = plan.filter(|(_, l)| {
            l.nblocks >= 4 && blocks.len() * 4 <= l.nblocks && blocks.iter().all(|&b| b < l.nblocks)
        });
        let Some((c, l)) = plan else {
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
            c.read_chunk_part(&e, l.cbytes, 0, &mut buf[..table_end])?;
            let all = block_ranges(&buf[..table_end], l.cbytes)?;
            let mut ranges: Vec<(usize, usize)> = present
                .iter()
                .zip(all)
                .filter(|(p, _)| **p)
                .map(|(_, r)| r)
                .collect();
            ranges.sort_unstable();
            // Adjacent blocks in one read.
            let mut k = 0;
            while k < ranges.len() {
                let (lo, mut hi) = ranges[k];
                k += 1;
                while k < ranges.len() && ranges[k].0 <= hi {
                    hi = hi.max(ranges[k].1);
                    k += 1;
                }
                c.read_chunk_part(&e, l.cbytes, lo, &mut buf[lo..hi])?;
            }
            f(&v2::ChunkDecoder::open_partial(buf, present)?)
        })
    }

    /// Decodes the stored chunk of `e` into `out` (its decoded size) from a frame file read
    /// with `pread`, block by block on the pool, when it is large enough to be decoded in
    /// parallel: the header and block-offset table are read once, then each worker reads the
    /// bytes of each block it decodes into its own buffer. The reads run in parallel, and no
    /// worker decodes bytes that another core read. `false` (nothing done) when the chunk is
    /// to be read whole instead: a map, one thread, a small or single-block chunk, or one whose
    /// blocks cannot be read alone.
    pub(super) fn decode_by_blocks(&self, e: &Entry, out: &mut [u8]) -> Result<bool> {
        let Store::Contiguous(c) = &self.store else {
            return Ok(false);
        };
        let threads = threads::get_num_threads();
        if e.is_special()
            || threads < 2
            || (e.nbytes as usize) < PARALLEL_MIN_BYTES
            || out.len() != e.nbytes as usize
        {
            return Ok(false);
        }
        let Some(l) = layout(c, e)? else {
            return Ok(false);
        };
        if l.nblocks < 2 {
            return Ok(false);
        }
        let mut head = vec![0u8; l.table_end()];
        c.read_chunk_part(e, l.cbytes, 0, &mut head)?;
        let ranges = block_ranges(&head, l.cbytes)?;
        let decode = |(j, blk): (usize, &mut [u8])| {
            with_read_buf(l.cbytes, |buf| {
                buf[..head.len()].copy_from_slice(&head);
                let (lo, hi) = ranges[j];
                c.read_chunk_part(e, l.cbytes, lo, &mut buf[lo..hi])?;
                let mut present = vec![false; l.nblocks];
                present[j] = true;
                v2::ChunkDecoder::open_partial(buf, present)?.decode_range(j * l.blocksize, blk)
            })
        };
        threads::for_each_with_caller(out.chunks_mut(l.blocksize).enumerate(), threads, decode)?;
        Ok(true)
    }
}
