//! Decoding a chunk ([`Chunk`]): the block table validated against the buffer before anything
//! is allocated, the streams of each block decompressed and its filters undone, whole chunks,
//! ranges of bytes, special chunks, and the parallel loops over blocks and streams.

use std::mem::MaybeUninit;

use rayon::prelude::*;

use super::super::bitshuffle;
use super::super::compressor::{decompress_stream, max_expansion, Compressor};
use super::super::shuffle::{self, as_uninit};
use super::filters::{
    bitshuffle_applies, bytedelta_decode, bytedelta_planes, delta_decode, delta_word,
    items_per_piece, shuffle_applies, shuffle_group, Filter,
};
use super::header::*;
use super::{put, with_scratch, written_view, PARALLEL_MIN_BYTES};
use crate::error::{Error, ErrorKind, Result};
use crate::threads;

/// The most streams a block is split into (c-blosc splits only typesizes up to 16).
pub(in crate::blosc) const MAX_STREAMS: usize = 16;

/// How one block's streams are laid out, checked against the chunk.
#[derive(Debug, Clone, Copy)]
pub(in crate::blosc) struct BlockGeom {
    start: usize,
    pub bsize: usize,
    pub nstreams: usize,
}

/// A chunk opened for decoding: header, compressor and validated block table.
#[derive(Debug)]
pub(crate) struct Chunk<'a> {
    pub header: Header,
    buf: &'a [u8],
    compressor: Option<Compressor>,
    /// The filters by slot (checked with the blocks; none for chunks without blocks).
    filters: [Filter; 6],
    bstarts: Vec<usize>,
    /// For a chunk read in part: which blocks hold real bytes (and were checked). `None`: all.
    present: Option<Vec<bool>>,
}

/// Whether stream splitting applies to a block (the decoder's rule).
fn decoder_splits(h: &Header, bsize: usize, leftover: bool) -> bool {
    if h.flags & FLAG_DONT_SPLIT != 0 || leftover {
        return false;
    }
    if h.extended {
        true
    } else {
        h.typesize <= 16 && bsize / h.typesize >= 128
    }
}

impl<'a> Chunk<'a> {
    /// Opens `buf` (which may carry trailing bytes after `cbytes`) and validates its layout.
    pub fn open(buf: &'a [u8]) -> Result<Chunk<'a>> {
        Self::open_with(buf, None)
    }

    /// Opens a chunk read in part: `buf` holds the chunk's header, its block-offset table and
    /// the blocks `i` for which `present[i]` is true at their places; the other bytes are
    /// anything. Only the present blocks are checked, and only they can be decoded (the others
    /// are an error). Chunks whose blocks depend on block 0 (DELTA) need it present.
    pub fn open_partial(buf: &'a [u8], present: Vec<bool>) -> Result<Chunk<'a>> {
        Self::open_with(buf, Some(present))
    }

    fn open_with(buf: &'a [u8], present: Option<Vec<bool>>) -> Result<Chunk<'a>> {
        let header = Header::parse(buf)?;
        let buf = &buf[..header.cbytes];
        let mut chunk = Chunk {
            header,
            buf,
            compressor: None,
            filters: [Filter::NoFilter; 6],
            bstarts: Vec::new(),
            present,
        };
        chunk.validate()?;
        Ok(chunk)
    }

    /// Whether block `i` holds real bytes (always, unless the chunk was read in part).
    fn is_present(&self, i: usize) -> bool {
        self.present
            .as_ref()
            .is_none_or(|p| p.get(i).copied().unwrap_or(false))
    }

    fn validate(&mut self) -> Result<()> {
        let h = &self.header;
        let hlen = h.len();
        if h.extended {
            if h.blosc2_flags & 0x01 != 0 {
                return Err(Error::new(
                    ErrorKind::Unsupported,
                    "Blosc2 chunks compressed with a dictionary are not supported",
                ));
            }
            if h.blosc2_flags & 0x08 != 0 {
                return Err(Error::corrupt(
                    "lazy Blosc2 chunks exist only in memory and cannot be decoded",
                ));
            }
            if h.blosc2_flags2 & 0x01 != 0 {
                return Err(Error::new(
                    ErrorKind::Unsupported,
                    "Blosc2 chunks with variable-length blocks are not supported",
                ));
            }
        }
        match h.special() {
            0 => {}
            SPECIAL_ZERO | SPECIAL_UNINIT => return Ok(()),
            SPECIAL_NAN => {
                if h.typesize != 4 && h.typesize != 8 {
                    return Err(Error::corrupt(format!(
                        "Blosc2 NaN chunk with typesize {} (needs 4 or 8)",
                        h.typesize
                    )));
                }
                if !h.nbytes.is_multiple_of(h.typesize) {
                    return Err(Error::corrupt(
                        "Blosc2 NaN chunk size is not a multiple of its typesize",
                    ));
                }
                return Ok(());
            }
            SPECIAL_VALUE => {
                let vsize = h.cbytes - hlen;
                if vsize == 0 || !h.nbytes.is_multiple_of(vsize) {
                    return Err(Error::corrupt(format!(
                        "Blosc2 repeated-value chunk: {} bytes are not a whole number of {vsize}-byte values",
                        h.nbytes
                    )));
                }
                return Ok(());
            }
            s => {
                return Err(Error::corrupt(format!(
                    "Blosc2 chunk has unknown special type {s}"
                )))
            }
        }
        if h.nbytes == 0 {
            return Ok(());
        }
        if h.memcpyed() {
            if h.cbytes - hlen < h.nbytes {
                return Err(Error::truncated(format!(
                    "memcpyed Blosc chunk holds {} bytes, its header declares {}",
                    h.cbytes - hlen,
                    h.nbytes
                )));
            }
            return Ok(());
        }
        let mut filters = [Filter::NoFilter; 6];
        for (slot, &f) in filters.iter_mut().zip(&h.filters) {
            *slot = Filter::from_byte(f).ok_or_else(|| {
                Error::new(
                    ErrorKind::Unsupported,
                    format!("Blosc2 filter {f} is not supported"),
                )
            })?;
        }
        self.filters = filters;
        let comp = match h.format_code() {
            6 if h.extended => {
                let c = Compressor::from_code(h.udcodec)?;
                if c == Compressor::Snappy {
                    return Err(Error::corrupt("Blosc2 chunk names the snappy codec"));
                }
                c
            }
            code => Compressor::from_format_code(code)?,
        };
        self.compressor = Some(comp);
        if h.blocksize == 0 || h.blocksize > h.nbytes {
            return Err(Error::corrupt(format!(
                "Blosc header has blocksize {} for {} bytes",
                h.blocksize, h.nbytes
            )));
        }
        let nblocks = h.nbytes.div_ceil(h.blocksize);
        let table_end = nblocks
            .checked_mul(4)
            .and_then(|n| n.checked_add(hlen))
            .filter(|&e| e <= h.cbytes)
            .ok_or_else(|| {
                Error::truncated(format!(
                    "Blosc chunk of {} bytes cannot hold the offsets of {nblocks} blocks",
                    h.cbytes
                ))
            })?;
        let mut bstarts = Vec::with_capacity(nblocks);
        for i in 0..nblocks {
            let s = rd_i32(self.buf, hlen + 4 * i)?;
            let s = usize::try_from(s)
                .ok()
                .filter(|&s| s >= table_end && s < h.cbytes)
                .ok_or_else(|| {
                    Error::corrupt(format!("Blosc block {i} starts out of the chunk ({s})"))
                })?;
            bstarts.push(s);
        }
        self.bstarts = bstarts;
        if self.present.as_ref().is_some_and(|p| p.len() != nblocks) {
            return Err(Error::invalid_argument(format!(
                "a chunk read in part names the blocks of {} blocks, it has {nblocks}",
                self.present.as_ref().map_or(0, Vec::len)
            )));
        }
        for i in 0..nblocks {
            if self.is_present(i) {
                self.check_block(i)?;
            }
        }
        Ok(())
    }

    pub(in crate::blosc) fn geom(&self, i: usize) -> BlockGeom {
        let h = &self.header;
        let nblocks = self.bstarts.len();
        let leftover = !h.nbytes.is_multiple_of(h.blocksize) && i == nblocks - 1;
        let bsize = if leftover {
            h.nbytes % h.blocksize
        } else {
            h.blocksize
        };
        let nstreams = if decoder_splits(h, bsize, leftover) {
            h.typesize
        } else {
            1
        };
        BlockGeom {
            start: self.bstarts[i],
            bsize,
            nstreams,
        }
    }

    /// Walks the streams of block `i` and checks each against the buffer and the codec's limits.
    fn check_block(&self, i: usize) -> Result<()> {
        let g = self.geom(i);
        if !g.bsize.is_multiple_of(g.nstreams) {
            return Err(Error::corrupt(format!(
                "Blosc block of {} bytes cannot be split into {} streams",
                g.bsize, g.nstreams
            )));
        }
        let neblock = g.bsize / g.nstreams;
        let comp = self.compressor.expect("set before blocks are checked");
        let mut pos = g.start;
        for _ in 0..g.nstreams {
            let csize = rd_i32(self.buf, pos)?;
            pos += 4;
            match csize {
                0 if self.header.extended => {}
                c if c < 0 && self.header.extended => {
                    let token = *self.buf.get(pos).ok_or_else(|| {
                        Error::truncated("Blosc2 run stream ends before its token")
                    })?;
                    if c < -255 || token & 1 == 0 {
                        return Err(Error::corrupt("Blosc2 stream has a bad run token"));
                    }
                    pos += 1;
                }
                c if c <= 0 => {
                    return Err(Error::corrupt(format!(
                        "Blosc stream has compressed size {c}"
                    )))
                }
                c => {
                    let c = c as usize;
                    if pos + c > self.buf.len() {
                        return Err(Error::truncated(format!(
                            "Blosc stream of {c} bytes runs past the end of the chunk"
                        )));
                    }
                    if c != neblock && neblock > max_expansion(comp, c) {
                        return Err(Error::corrupt(format!(
                            "a {c}-byte {comp} stream cannot decode to {neblock} bytes"
                        )));
                    }
                    pos += c;
                }
            }
        }
        Ok(())
    }

    /// Number of blocks.
    pub fn nblocks(&self) -> usize {
        self.bstarts.len()
    }

    /// Decodes the streams of block `i` into `dst` (exactly the block's size); with `par`, the
    /// streams are decoded in parallel on the pool. A stream stored raw is copied into its part,
    /// or with `keep_raw` left in the chunk for the caller to read there ([`Self::stored_stream`]).
    fn read_streams(&self, i: usize, dst: &mut [u8], keep_raw: bool, par: bool) -> Result<()> {
        let g = self.geom(i);
        let neblock = g.bsize / g.nstreams;
        let comp = self.compressor.expect("compressed chunk");
        let read = |pos: &mut usize, part: &mut [u8]| -> Result<()> {
            if let Some(at) = self.read_stream(pos, comp, part)? {
                if !keep_raw {
                    part.copy_from_slice(&self.buf[at..at + neblock]);
                }
            }
            Ok(())
        };
        if par && g.nstreams > 1 {
            let starts = self.stream_starts(i)?;
            return threads::install(|| {
                dst.par_chunks_exact_mut(neblock)
                    .zip(&starts)
                    .try_for_each(|(part, &pos)| read(&mut { pos }, part))
            });
        }
        let mut pos = g.start;
        for part in dst.chunks_exact_mut(neblock) {
            read(&mut pos, part)?;
        }
        Ok(())
    }

    /// The bytes of the stream at `pos` (its size field) if it is stored raw (`neblock` bytes).
    fn stored_stream(&self, pos: usize, neblock: usize) -> Result<Option<&'a [u8]>> {
        let stored = usize::try_from(rd_i32(self.buf, pos)?).is_ok_and(|c| c == neblock);
        Ok(stored.then(|| &self.buf[pos + 4..pos + 4 + neblock]))
    }

    /// Moves `*pos` past the stream that starts there (its `i32` size, then its bytes or its
    /// run token).
    fn skip_stream(&self, pos: &mut usize) -> Result<()> {
        let csize = rd_i32(self.buf, *pos)?;
        *pos += 4;
        if csize < 0 {
            *pos += 1;
        } else {
            *pos += csize as usize;
        }
        Ok(())
    }

    /// Where each stream of block `i` starts (its size field), so that they can be decoded
    /// independently.
    fn stream_starts(&self, i: usize) -> Result<Vec<usize>> {
        let g = self.geom(i);
        let mut starts = Vec::with_capacity(g.nstreams);
        let mut pos = g.start;
        for _ in 0..g.nstreams {
            starts.push(pos);
            self.skip_stream(&mut pos)?;
        }
        Ok(starts)
    }

    /// Reads the stream at `*pos` (its `i32` size, then its bytes) for `part` and moves `*pos`
    /// past it: zero and run streams are filled in, compressed ones decoded into `part`; a stream
    /// stored raw is left where it is and its offset in the chunk returned.
    fn read_stream(
        &self,
        pos: &mut usize,
        comp: Compressor,
        part: &mut [u8],
    ) -> Result<Option<usize>> {
        let csize = rd_i32(self.buf, *pos)?;
        *pos += 4;
        if csize == 0 {
            part.fill(0);
            return Ok(None);
        }
        if csize < 0 {
            part.fill((-csize) as u8);
            *pos += 1;
            return Ok(None);
        }
        let c = csize as usize;
        let at = *pos;
        let src = self
            .buf
            .get(at..at + c)
            .ok_or_else(|| Error::truncated("Blosc stream runs past the chunk"))?;
        *pos += c;
        if c == part.len() {
            return Ok(Some(at));
        }
        decompress_stream(comp, src, part)?;
        Ok(None)
    }

    /// Decodes a split, byte-shuffled block `i` with its stored streams read in place: the
    /// compressed streams are decoded into `tmp`, and the unshuffle reads each plane from where
    /// it is. Returns `false` (having written nothing to `out`) when the block does not qualify.
    fn unshuffle_fused(
        &self,
        i: usize,
        ts: usize,
        meta: u8,
        out: &mut [MaybeUninit<u8>],
        tmp: &mut [u8],
        par: bool,
    ) -> Result<bool> {
        let gs = shuffle_group(self.header.extended, meta, ts);
        let g = self.geom(i);
        if gs != ts || g.nstreams != ts || !shuffle::has_unshuffle_rows(ts) {
            return Ok(false);
        }
        let neblock = g.bsize / ts;
        self.read_streams(i, &mut tmp[..g.bsize], true, par)?;
        // Each plane: decoded into `tmp`, or stored raw and read where it is in the chunk.
        let mut rows: [&[u8]; MAX_STREAMS] = [&[]; MAX_STREAMS];
        let mut pos = g.start;
        for (row, part) in rows.iter_mut().zip(tmp.chunks_exact(neblock)).take(ts) {
            *row = self.stored_stream(pos, neblock)?.unwrap_or(part);
            self.skip_stream(&mut pos)?;
        }
        if !par {
            return Ok(shuffle::unshuffle_rows(&rows[..ts], out));
        }
        let per = items_per_piece(neblock, threads::get_num_threads());
        let rows = &rows[..ts];
        Ok(threads::install(|| {
            out.par_chunks_mut(per * ts).enumerate().all(|(k, o)| {
                let lo = k * per;
                let hi = lo + o.len() / ts;
                let mut sub: [&[u8]; MAX_STREAMS] = [&[]; MAX_STREAMS];
                for (s, r) in sub.iter_mut().zip(rows) {
                    *s = &r[lo..hi];
                }
                shuffle::unshuffle_rows(&sub[..ts], o)
            })
        }))
    }

    /// Decodes block `i` into `out` (its full size), which may be uninitialised: the first step
    /// that writes `out` writes every byte of it. `block0` is the decoded first block, needed by
    /// DELTA for every other block.
    pub(in crate::blosc) fn decode_block(
        &self,
        i: usize,
        out: &mut [MaybeUninit<u8>],
        block0: Option<&[u8]>,
        tmp: &mut Vec<u8>,
        par: bool,
    ) -> Result<()> {
        if !self.is_present(i) {
            return Err(Error::invalid_argument(format!(
                "block {i} of a chunk read in part was not read"
            )));
        }
        let h = &self.header;
        let bsize = out.len();
        let ts = h.typesize;
        // The filters to undo, in backward order, with their metas; every one but DELTA is an
        // out-of-place transform.
        let mut ops = [(Filter::NoFilter, 0u8); 6];
        let mut nops = 0;
        let mut transforms = 0;
        for slot in (0..6).rev() {
            let f = self.filters[slot];
            let meta = h.filters_meta[slot];
            let active = match f {
                Filter::Shuffle => shuffle_applies(shuffle_group(h.extended, meta, ts), bsize),
                Filter::BitShuffle => bitshuffle_applies(h.extended, bsize, ts),
                Filter::Delta | Filter::ByteDelta => true,
                Filter::NoFilter | Filter::TruncPrec => false,
            };
            if active {
                ops[nops] = (f, meta);
                nops += 1;
                if f != Filter::Delta {
                    transforms += 1;
                }
            }
        }
        if tmp.len() < bsize {
            tmp.try_reserve_exact(bsize - tmp.len())
                .map_err(|_| Error::alloc_failed("Blosc block", bsize))?;
            tmp.resize(bsize, 0);
        }
        let tmp = &mut tmp[..bsize];
        if nops == 1
            && ops[0].0 == Filter::Shuffle
            && self.unshuffle_fused(i, ts, ops[0].1, out, tmp, par)?
        {
            return Ok(());
        }
        // Ping-pong between `out` and `tmp` so that the last transform writes `out`.
        let mut in_out = transforms % 2 == 0;
        if in_out {
            // SAFETY: `read_streams` writes every byte of the block (and reads back only what it
            // wrote); on error the output is discarded.
            self.read_streams(i, unsafe { written_view(out) }, false, par)?;
        } else {
            self.read_streams(i, tmp, false, par)?;
        }
        for &(f, meta) in &ops[..nops] {
            let gs = shuffle_group(h.extended, meta, ts);
            if in_out {
                // SAFETY: `out` was written in full by an earlier step (`in_out`).
                let o = unsafe { written_view(out) };
                match f {
                    Filter::Shuffle => shuffle::unshuffle(gs, o, tmp),
                    Filter::BitShuffle => bitshuffle::bitunshuffle(ts, o, tmp)?,
                    Filter::ByteDelta => bytedelta_decode(o, tmp, bytedelta_planes(meta, ts)),
                    _ => delta_decode(o, block0, delta_word(ts)),
                }
            } else {
                match f {
                    // Writes every byte of `out`, initialised or not.
                    Filter::Shuffle => shuffle::unshuffle_uninit(gs, tmp, out),
                    Filter::BitShuffle => {
                        // SAFETY: the bit unshuffle writes every byte of `out` and reads none.
                        bitshuffle::bitunshuffle(ts, tmp, unsafe { written_view(out) })?;
                    }
                    Filter::ByteDelta => {
                        // SAFETY: the byte undelta writes every byte of `out` and reads none.
                        let o = unsafe { written_view(out) };
                        bytedelta_decode(tmp, o, bytedelta_planes(meta, ts));
                    }
                    _ => delta_decode(tmp, block0, delta_word(ts)),
                }
            }
            if f != Filter::Delta {
                in_out = !in_out;
            }
        }
        debug_assert!(in_out);
        Ok(())
    }

    /// Decodes the whole chunk into `out` (exactly `nbytes` long).
    pub fn decode_into(&self, out: &mut [u8]) -> Result<()> {
        // SAFETY: the decoder writes only initialised bytes through the view.
        self.decode_into_uninit(unsafe { as_uninit(out) })
    }

    /// Decodes the whole chunk into `out` (exactly `nbytes` long), which may be uninitialised
    /// (a fresh Python `bytes` or a `Vec`'s spare capacity): every byte is written, none is
    /// zeroed first. On error the contents of `out` are unspecified.
    pub fn decode_into_uninit(&self, out: &mut [MaybeUninit<u8>]) -> Result<()> {
        let h = &self.header;
        if out.len() != h.nbytes {
            return Err(Error::invalid_argument(format!(
                "output buffer has {} bytes, the chunk holds {}",
                out.len(),
                h.nbytes
            )));
        }
        if h.special() != 0 || h.nbytes == 0 {
            // SAFETY: `fill_special` writes every byte and reads none.
            self.fill_special(0, unsafe { written_view(out) })?;
            return Ok(());
        }
        if h.memcpyed() {
            // Copied straight into `out` (no zeroing), in pieces on the pool when large.
            let src = &self.buf[h.len()..h.len() + h.nbytes];
            if h.nbytes >= 4 * PARALLEL_MIN_BYTES {
                threads::install(|| {
                    out.par_chunks_mut(PARALLEL_MIN_BYTES)
                        .zip(src.par_chunks(PARALLEL_MIN_BYTES))
                        .for_each(|(d, s)| put(d, 0, s))
                });
            } else {
                put(out, 0, src);
            }
            return Ok(());
        }
        let bs = h.blocksize;
        let has_delta = self.filters.contains(&Filter::Delta);
        let threads = threads::get_num_threads();
        // Fewer blocks than threads: the blocks one after the other, each block's streams in
        // parallel (a 1 MB chunk of 8-byte items is a single block of eight streams).
        let streams_par = self.nblocks() < threads && bs >= PARALLEL_MIN_BYTES;
        let parallel = !streams_par && self.nblocks() > 1 && h.nbytes >= PARALLEL_MIN_BYTES;
        let one = |j: usize, blk: &mut [MaybeUninit<u8>], block0: Option<&[u8]>| {
            let par = streams_par && blk.len() >= PARALLEL_MIN_BYTES;
            with_scratch(|tmp| self.decode_block(j, blk, block0, tmp, par))
        };
        // Blocks in parallel: the calling thread decodes blocks too, and with one thread the
        // whole chunk is decoded here, with no trip to the pool.
        let workers = if parallel { threads } else { 1 };
        let mut run = move || {
            if has_delta {
                let (first, rest) = out.split_at_mut(bs.min(out.len()));
                one(0, first, None)?;
                // SAFETY: `decode_block` wrote every byte of the first block.
                let block0 = Some(&*unsafe { written_view(first) });
                threads::for_each_with_caller(
                    rest.chunks_mut(bs).enumerate(),
                    workers,
                    |(j, blk)| one(j + 1, blk, block0),
                )
            } else {
                threads::for_each_with_caller(
                    out.chunks_mut(bs).enumerate(),
                    workers,
                    |(j, blk)| one(j, blk, None),
                )
            }
        };
        if streams_par {
            // One trip to the pool for the whole chunk; the blocks' parallel steps run inside.
            threads::install(run)
        } else {
            run()
        }
    }

    /// Fills `out` with bytes `[offset, offset + out.len())` of a special chunk; `false` if the
    /// chunk is not special.
    fn fill_special(&self, offset: usize, out: &mut [u8]) -> Result<bool> {
        let h = &self.header;
        match h.special() {
            0 => Ok(false),
            SPECIAL_ZERO | SPECIAL_UNINIT => {
                out.fill(0);
                Ok(true)
            }
            SPECIAL_NAN => {
                let pat: &[u8] = if h.typesize == 4 {
                    &[0x00, 0x00, 0xC0, 0x7F]
                } else {
                    &[0, 0, 0, 0, 0, 0, 0xF8, 0x7F]
                };
                fill_pattern(out, pat, offset);
                Ok(true)
            }
            SPECIAL_VALUE => {
                fill_pattern(out, &self.buf[h.len()..h.cbytes], offset);
                Ok(true)
            }
            _ => Err(Error::corrupt("unknown Blosc2 special chunk")),
        }
    }

    /// Decodes bytes `[lo, lo + out.len())` of the chunk, decoding only the blocks that hold them
    /// (and block 0 when DELTA needs it). Blocks wholly inside the range are decoded straight
    /// into `out`; only the partial blocks at its ends go through a scratch block.
    pub fn decode_range(&self, lo: usize, out: &mut [u8]) -> Result<()> {
        let h = &self.header;
        let hi = lo
            .checked_add(out.len())
            .filter(|&e| e <= h.nbytes)
            .ok_or_else(|| {
                Error::invalid_argument(format!(
                    "range of {} bytes at {lo} is outside the chunk's {} bytes",
                    out.len(),
                    h.nbytes
                ))
            })?;
        if out.is_empty() || self.fill_special(lo, out)? {
            return Ok(());
        }
        if h.memcpyed() {
            out.copy_from_slice(&self.buf[h.len() + lo..h.len() + hi]);
            return Ok(());
        }
        let bs = h.blocksize;
        let has_delta = self.filters.contains(&Filter::Delta);
        with_scratch(|tmp| {
            let mut block0 = Vec::new();
            if has_delta {
                block0 = zeroed_vec(bs.min(h.nbytes))?;
                // SAFETY: the decoder writes only initialised bytes into `block0`.
                self.decode_block(0, unsafe { as_uninit(&mut block0) }, None, tmp, false)?;
            }
            let mut blk = Vec::new();
            for b in lo / bs..hi.div_ceil(bs) {
                let bstart = b * bs;
                let bsize = bs.min(h.nbytes - bstart);
                let whole = bstart >= lo && bstart + bsize <= hi;
                if whole && !(has_delta && b == 0) {
                    let r = if has_delta { Some(&block0[..]) } else { None };
                    let dst = &mut out[bstart - lo..bstart - lo + bsize];
                    // SAFETY: the decoder writes only initialised bytes into `dst`.
                    self.decode_block(b, unsafe { as_uninit(dst) }, r, tmp, false)?;
                    continue;
                }
                if blk.is_empty() {
                    blk = zeroed_vec(bs)?;
                }
                let data: &[u8] = if has_delta && b == 0 {
                    &block0
                } else {
                    let r = if has_delta { Some(&block0[..]) } else { None };
                    // SAFETY: the decoder writes only initialised bytes into `blk`.
                    self.decode_block(b, unsafe { as_uninit(&mut blk[..bsize]) }, r, tmp, false)?;
                    &blk[..bsize]
                };
                let from = lo.max(bstart);
                let to = hi.min(bstart + bsize);
                out[from - lo..to - lo].copy_from_slice(&data[from - bstart..to - bstart]);
            }
            Ok(())
        })
    }
}

/// `n` zero bytes (`n` read from a chunk header), or an
/// [`ErrorKind::OutOfMemory`] error when the memory cannot be had.
fn zeroed_vec(n: usize) -> Result<Vec<u8>> {
    let mut v = Vec::new();
    v.try_reserve_exact(n)
        .map_err(|_| Error::alloc_failed("Blosc block", n))?;
    v.resize(n, 0);
    Ok(v)
}

fn fill_pattern(out: &mut [u8], pat: &[u8], offset: usize) {
    for (k, b) in out.iter_mut().enumerate() {
        *b = pat[(offset + k) % pat.len()];
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn block_scratch_past_the_address_space_is_an_error() {
        let e = zeroed_vec(1 << 56).unwrap_err();
        assert_eq!(e.kind(), ErrorKind::OutOfMemory, "{e}");
        assert_eq!(zeroed_vec(3).unwrap(), [0, 0, 0]);
    }
}
