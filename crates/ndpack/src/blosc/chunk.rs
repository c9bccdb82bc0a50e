//! The block engine shared by the Blosc1 ([`super::v1`]) and Blosc2 ([`super::v2`]) chunk
//! formats: header parsing and validation, the filter pipeline of one block, stream encoding and
//! decoding, and the parallel loops over blocks on ndpack's thread pool.
//!
//! Decoding validates the whole block table against the real buffer before anything is allocated,
//! so a hostile chunk is an error, never a panic, an out-of-bounds read or a huge allocation.

use std::cell::RefCell;
use std::mem::MaybeUninit;

use rayon::prelude::*;

use super::compressor::{compress_stream, decompress_stream, max_expansion, Compressor};
use super::shuffle::as_uninit;
use super::{bitshuffle, shuffle};
use crate::error::{Error, ErrorKind, Result};
use crate::threads;

/// Size of the Blosc1 header.
pub(crate) const HEADER_LEN: usize = 16;
/// Size of the Blosc2 extended header.
pub(crate) const EXT_HEADER_LEN: usize = 32;
/// The largest chunk either format can describe (its sizes are `i32`).
pub(crate) const MAX_CHUNK: usize = i32::MAX as usize;

/// Flag bits of header byte 2.
pub(crate) const FLAG_SHUFFLE: u8 = 0x01;
pub(crate) const FLAG_MEMCPYED: u8 = 0x02;
pub(crate) const FLAG_BITSHUFFLE: u8 = 0x04;
pub(crate) const FLAG_DELTA: u8 = 0x08;
pub(crate) const FLAG_DONT_SPLIT: u8 = 0x10;

/// Filter ids of the Blosc2 pipeline.
pub(crate) const F_NONE: u8 = 0;
pub(crate) const F_SHUFFLE: u8 = 1;
pub(crate) const F_BITSHUFFLE: u8 = 2;
pub(crate) const F_DELTA: u8 = 3;
pub(crate) const F_TRUNC_PREC: u8 = 4;

/// Whole-chunk special values (bits 4-6 of the Blosc2 flags byte 0x1F).
pub(crate) const SPECIAL_ZERO: u8 = 1;
pub(crate) const SPECIAL_NAN: u8 = 2;
pub(crate) const SPECIAL_VALUE: u8 = 3;
pub(crate) const SPECIAL_UNINIT: u8 = 4;

/// Chunks at least this large are split over the pool's threads (when it has more than one).
const PARALLEL_MIN_BYTES: usize = 256 * 1024;
/// The most streams a block is split into (c-blosc splits only typesizes up to 16).
const MAX_STREAMS: usize = 16;

fn rd_i32(b: &[u8], at: usize) -> Result<i32> {
    b.get(at..at + 4)
        .map(|s| i32::from_le_bytes([s[0], s[1], s[2], s[3]]))
        .ok_or_else(|| Error::truncated(format!("Blosc chunk ends before byte {}", at + 4)))
}

/// A parsed and validated chunk header (Blosc1 or Blosc2).
#[derive(Debug, Clone)]
pub(crate) struct Header {
    pub version: u8,
    pub flags: u8,
    /// The typesize byte (1-255).
    pub typesize: usize,
    pub nbytes: usize,
    pub blocksize: usize,
    pub cbytes: usize,
    /// 32-byte Blosc2 header (`flags & 0x05 == 0x05`).
    pub extended: bool,
    pub filters: [u8; 6],
    pub filters_meta: [u8; 6],
    /// Byte 0x16: the compressor's API code in Blosc2 chunks.
    pub udcodec: u8,
    /// Byte 0x1F of Blosc2 chunks.
    pub blosc2_flags: u8,
    pub blosc2_flags2: u8,
}

impl Header {
    pub fn len(&self) -> usize {
        if self.extended {
            EXT_HEADER_LEN
        } else {
            HEADER_LEN
        }
    }

    pub fn memcpyed(&self) -> bool {
        self.flags & FLAG_MEMCPYED != 0
    }

    /// The whole-chunk special type (0 for none).
    pub fn special(&self) -> u8 {
        if self.extended {
            (self.blosc2_flags >> 4) & 7
        } else {
            0
        }
    }

    pub fn format_code(&self) -> u8 {
        self.flags >> 5
    }

    /// Parses the header of `buf`, checking every field against the buffer.
    pub fn parse(buf: &[u8]) -> Result<Header> {
        if buf.len() < HEADER_LEN {
            return Err(Error::truncated(format!(
                "a Blosc chunk needs at least {HEADER_LEN} bytes, got {}",
                buf.len()
            )));
        }
        let version = buf[0];
        let flags = buf[2];
        let extended = flags & (FLAG_SHUFFLE | FLAG_BITSHUFFLE) == (FLAG_SHUFFLE | FLAG_BITSHUFFLE);
        match version {
            0 => return Err(Error::corrupt("Blosc chunk has format version 0")),
            1..=5 => {}
            6 => {
                return Err(Error::new(
                    ErrorKind::Unsupported,
                    "Blosc2 chunks with variable-length blocks (version 6) are not supported",
                ))
            }
            v => {
                return Err(Error::corrupt(format!(
                    "Blosc chunk has unknown format version {v}"
                )))
            }
        }
        let field = |at: usize, name: &str| -> Result<usize> {
            let v = rd_i32(buf, at)?;
            usize::try_from(v)
                .map_err(|_| Error::corrupt(format!("Blosc header has a negative {name} ({v})")))
        };
        let nbytes = field(4, "nbytes")?;
        let blocksize = field(8, "blocksize")?;
        let cbytes = field(12, "cbytes")?;
        let mut h = Header {
            version,
            flags,
            typesize: usize::from(buf[3]),
            nbytes,
            blocksize,
            cbytes,
            extended,
            filters: [0; 6],
            filters_meta: [0; 6],
            udcodec: 0,
            blosc2_flags: 0,
            blosc2_flags2: 0,
        };
        if extended {
            if buf.len() < EXT_HEADER_LEN {
                return Err(Error::truncated(format!(
                    "a Blosc2 chunk needs at least {EXT_HEADER_LEN} bytes, got {}",
                    buf.len()
                )));
            }
            h.filters.copy_from_slice(&buf[0x10..0x16]);
            h.udcodec = buf[0x16];
            h.filters_meta.copy_from_slice(&buf[0x18..0x1E]);
            h.blosc2_flags2 = buf[0x1E];
            h.blosc2_flags = buf[0x1F];
            if version == 3 {
                // Blosc2 alpha chunks: filter slot 5 was not in use.
                h.filters[5] = 0;
            }
        } else {
            if flags & FLAG_DELTA != 0 {
                return Err(Error::corrupt("Blosc1 chunk sets the reserved flag 0x08"));
            }
            h.filters[5] = if flags & FLAG_SHUFFLE != 0 {
                F_SHUFFLE
            } else if flags & FLAG_BITSHUFFLE != 0 {
                F_BITSHUFFLE
            } else {
                F_NONE
            };
        }
        if h.cbytes < h.len() {
            return Err(Error::corrupt(format!(
                "Blosc header declares {} bytes, less than its own header",
                h.cbytes
            )));
        }
        if h.cbytes > buf.len() {
            return Err(Error::truncated(format!(
                "Blosc chunk declares {} bytes but only {} are given",
                h.cbytes,
                buf.len()
            )));
        }
        if h.typesize == 0 {
            return Err(Error::corrupt("Blosc header has typesize 0"));
        }
        Ok(h)
    }
}

/// How one block's streams are laid out, checked against the chunk.
#[derive(Debug, Clone, Copy)]
struct BlockGeom {
    start: usize,
    bsize: usize,
    nstreams: usize,
}

/// A chunk opened for decoding: header, compressor and validated block table.
#[derive(Debug)]
pub(crate) struct Chunk<'a> {
    pub header: Header,
    buf: &'a [u8],
    compressor: Option<Compressor>,
    bstarts: Vec<usize>,
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
        let header = Header::parse(buf)?;
        let buf = &buf[..header.cbytes];
        let mut chunk = Chunk {
            header,
            buf,
            compressor: None,
            bstarts: Vec::new(),
        };
        chunk.validate()?;
        Ok(chunk)
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
        for &f in &h.filters {
            if f > F_TRUNC_PREC {
                return Err(Error::new(
                    ErrorKind::Unsupported,
                    format!("Blosc2 filter {f} is not supported"),
                ));
            }
        }
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
        for i in 0..nblocks {
            self.check_block(i)?;
        }
        Ok(())
    }

    fn geom(&self, i: usize) -> BlockGeom {
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
        let h = &self.header;
        let gs = if h.extended && meta != 0 {
            usize::from(meta)
        } else {
            ts
        };
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
    fn decode_block(
        &self,
        i: usize,
        out: &mut [MaybeUninit<u8>],
        block0: Option<&[u8]>,
        tmp: &mut Vec<u8>,
        par: bool,
    ) -> Result<()> {
        let h = &self.header;
        let bsize = out.len();
        let ts = h.typesize;
        // The filters to undo, in backward order; `true` marks an out-of-place transform.
        let mut ops: [(u8, u8); 6] = [(0, 0); 6];
        let mut nops = 0;
        let mut transforms = 0;
        for slot in (0..6).rev() {
            let f = h.filters[slot];
            let meta = h.filters_meta[slot];
            let active = match f {
                F_SHUFFLE => {
                    let gs = if h.extended && meta != 0 {
                        usize::from(meta)
                    } else {
                        ts
                    };
                    gs > 1 && bsize >= gs
                }
                F_BITSHUFFLE => {
                    if h.extended {
                        bsize >= ts * 8
                    } else {
                        bsize >= ts && (bsize / ts).is_multiple_of(8)
                    }
                }
                F_DELTA => true,
                _ => false,
            };
            if active {
                ops[nops] = (f, meta);
                nops += 1;
                if f != F_DELTA {
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
            && ops[0].0 == F_SHUFFLE
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
            let gs = if h.extended && meta != 0 {
                usize::from(meta)
            } else {
                ts
            };
            if in_out {
                // SAFETY: `out` was written in full by an earlier step (`in_out`).
                let o = unsafe { written_view(out) };
                match f {
                    F_SHUFFLE => shuffle::unshuffle(gs, o, tmp),
                    F_BITSHUFFLE => bitshuffle::bitunshuffle(ts, o, tmp)?,
                    _ => delta_decode(o, block0, delta_word(ts)),
                }
            } else {
                match f {
                    // Writes every byte of `out`, initialised or not.
                    F_SHUFFLE => shuffle::unshuffle_uninit(gs, tmp, out),
                    F_BITSHUFFLE => {
                        // SAFETY: the bit unshuffle writes every byte of `out` and reads none.
                        bitshuffle::bitunshuffle(ts, tmp, unsafe { written_view(out) })?;
                    }
                    _ => delta_decode(tmp, block0, delta_word(ts)),
                }
            }
            if f != F_DELTA {
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
            return Err(Error::invalid(format!(
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
        let has_delta = h.filters.contains(&F_DELTA);
        let threads = threads::get_num_threads();
        // Fewer blocks than threads: the blocks one after the other, each block's streams in
        // parallel (a 1 MB chunk of 8-byte items is a single block of eight streams).
        let streams_par = self.nblocks() < threads && bs >= PARALLEL_MIN_BYTES;
        let parallel = !streams_par && self.nblocks() > 1 && h.nbytes >= PARALLEL_MIN_BYTES;
        let one = |j: usize, blk: &mut [MaybeUninit<u8>], block0: Option<&[u8]>| {
            let par = streams_par && blk.len() >= PARALLEL_MIN_BYTES;
            with_scratch(|tmp| self.decode_block(j, blk, block0, tmp, par))
        };
        let mut run = move || {
            if has_delta {
                let (first, rest) = out.split_at_mut(bs.min(out.len()));
                one(0, first, None)?;
                // SAFETY: `decode_block` wrote every byte of the first block.
                let block0 = Some(&*unsafe { written_view(first) });
                if parallel {
                    threads::install(|| {
                        rest.par_chunks_mut(bs)
                            .enumerate()
                            .try_for_each(|(j, blk)| one(j + 1, blk, block0))
                    })
                } else {
                    rest.chunks_mut(bs)
                        .enumerate()
                        .try_for_each(|(j, blk)| one(j + 1, blk, block0))
                }
            } else if parallel {
                threads::install(|| {
                    out.par_chunks_mut(bs)
                        .enumerate()
                        .try_for_each(|(j, blk)| one(j, blk, None))
                })
            } else {
                out.chunks_mut(bs)
                    .enumerate()
                    .try_for_each(|(j, blk)| one(j, blk, None))
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
    /// (and block 0 when DELTA needs it).
    pub fn decode_range(&self, lo: usize, out: &mut [u8]) -> Result<()> {
        let h = &self.header;
        let hi = lo
            .checked_add(out.len())
            .filter(|&e| e <= h.nbytes)
            .ok_or_else(|| {
                Error::invalid(format!(
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
        let has_delta = h.filters.contains(&F_DELTA);
        with_scratch(|tmp| {
            let mut block0 = Vec::new();
            if has_delta {
                block0 = zeroed_vec(bs.min(h.nbytes))?;
                // SAFETY: the decoder writes only initialised bytes into `block0`.
                self.decode_block(0, unsafe { as_uninit(&mut block0) }, None, tmp, false)?;
            }
            let mut blk = zeroed_vec(bs)?;
            for b in lo / bs..hi.div_ceil(bs) {
                let bstart = b * bs;
                let bsize = bs.min(h.nbytes - bstart);
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

/// Views `buf`, which may be uninitialised, as bytes.
///
/// # Safety
/// Every byte of the view must be written before it is read (the decoders read back only
/// bytes they wrote), or `buf` must be initialised; after an error the bytes are unspecified
/// and the caller does not read them. This is how the codecs treat the foreign `out` buffers
/// they are handed, and it spares a zeroing pass over every output.
unsafe fn written_view(buf: &mut [MaybeUninit<u8>]) -> &mut [u8] {
    // SAFETY: `MaybeUninit<u8>` has the layout of `u8`; see the contract above.
    unsafe { &mut *(buf as *mut [MaybeUninit<u8>] as *mut [u8]) }
}

/// Copies `src` to `dst[at..at + src.len()]`.
pub(crate) fn put(dst: &mut [MaybeUninit<u8>], at: usize, src: &[u8]) {
    let d = &mut dst[at..at + src.len()];
    // SAFETY: `d` is `src.len()` bytes long and, borrowed mutably, cannot overlap `src`.
    unsafe { std::ptr::copy_nonoverlapping(src.as_ptr(), d.as_mut_ptr().cast::<u8>(), src.len()) };
}

thread_local! {
    static SCRATCH: RefCell<Vec<u8>> = const { RefCell::new(Vec::new()) };
}

/// Runs `f` with this thread's reusable scratch buffer.
fn with_scratch<R>(f: impl FnOnce(&mut Vec<u8>) -> R) -> R {
    SCRATCH.with(|cell| match cell.try_borrow_mut() {
        Ok(mut v) => f(&mut v),
        // Re-entered on the same thread (work stealing): use a fresh buffer.
        Err(_) => f(&mut Vec::new()),
    })
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

/// DELTA's word size for a typesize.
pub(crate) fn delta_word(ts: usize) -> usize {
    match ts {
        1 | 2 | 4 | 8 => ts,
        t if t % 8 == 0 => 8,
        _ => 1,
    }
}

/// Undoes DELTA in place: block 0 (`block0 == None`) is a running XOR of words, other blocks XOR
/// the decoded block 0 at the same position. A tail shorter than a word is left alone.
fn delta_decode(data: &mut [u8], block0: Option<&[u8]>, w: usize) {
    let n = data.len() / w * w;
    match block0 {
        None => {
            for k in w..n {
                data[k] ^= data[k - w];
            }
        }
        Some(r) => {
            for (d, s) in data[..n].iter_mut().zip(r) {
                *d ^= s;
            }
        }
    }
}

/// Applies DELTA: `reference` is block 0 of the raw chunk input (c-blosc2's rule).
fn delta_encode(src: &[u8], dst: &mut [u8], reference: &[u8], first: bool, w: usize) {
    let n = src.len() / w * w;
    if first {
        dst[..w.min(n)].copy_from_slice(&reference[..w.min(n)]);
        for k in w..n {
            dst[k] = src[k] ^ reference[k - w];
        }
    } else {
        for k in 0..n {
            dst[k] = src[k] ^ reference[k];
        }
    }
    dst[n..].copy_from_slice(&src[n..]);
}

/// TRUNC_PREC: keeps `prec` mantissa bits (negative: zeroes `-prec` bits) of f32/f64 items.
pub(crate) fn trunc_prec_check(ts: usize, prec: i8) -> Result<u32> {
    let mant: i32 = match ts {
        4 => 23,
        8 => 52,
        _ => {
            return Err(Error::invalid(format!(
                "TRUNC_PREC needs typesize 4 or 8, got {ts}"
            )))
        }
    };
    let p = i32::from(prec);
    let zeroed = if p >= 0 { mant - p } else { -p };
    if p.abs() > mant || zeroed >= mant || zeroed < 0 {
        return Err(Error::invalid(format!(
            "TRUNC_PREC precision {prec} is out of range for typesize {ts}"
        )));
    }
    Ok(zeroed as u32)
}

fn trunc_prec(src: &[u8], dst: &mut [u8], ts: usize, zeroed: u32) {
    let n = src.len() / ts * ts;
    if ts == 4 {
        let mask = !((1u32 << zeroed) - 1);
        for (d, s) in dst[..n].chunks_exact_mut(4).zip(src.chunks_exact(4)) {
            let v = u32::from_le_bytes([s[0], s[1], s[2], s[3]]) & mask;
            d.copy_from_slice(&v.to_le_bytes());
        }
    } else {
        let mask = !((1u64 << zeroed) - 1);
        for (d, s) in dst[..n].chunks_exact_mut(8).zip(src.chunks_exact(8)) {
            let v = u64::from_le_bytes(s.try_into().expect("8 bytes")) & mask;
            d.copy_from_slice(&v.to_le_bytes());
        }
    }
    dst[n..].copy_from_slice(&src[n..]);
}

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
    pub filters: [u8; 6],
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
            .filter(|(&f, _)| f != F_NONE);
        match (active.next(), active.next()) {
            (Some((&F_SHUFFLE, &meta)), None) => {
                !self.extended || meta == 0 || usize::from(meta) == self.typesize
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
                F_SHUFFLE => {
                    let gs = if self.extended && meta != 0 {
                        usize::from(meta)
                    } else {
                        ts
                    };
                    if gs > 1 && bsize >= gs {
                        shuffle::shuffle(gs, input, output);
                        true
                    } else {
                        false
                    }
                }
                F_BITSHUFFLE => {
                    let apply = if self.extended {
                        bsize >= ts * 8
                    } else {
                        bsize >= ts && (bsize / ts).is_multiple_of(8)
                    };
                    if apply {
                        bitshuffle::bitshuffle(ts, input, output)?;
                    }
                    apply
                }
                F_DELTA => {
                    delta_encode(
                        input,
                        output,
                        &src[..bs.min(src.len())],
                        i == 0,
                        delta_word(ts),
                    );
                    true
                }
                F_TRUNC_PREC => {
                    let zeroed = trunc_prec_check(ts, meta as i8)?;
                    trunc_prec(input, output, ts, zeroed);
                    true
                }
                _ => false,
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

/// How many of a block's `nitems` items each of `pieces` threads shuffles or unshuffles: a
/// multiple of 64 items, the kernels' widest step.
fn items_per_piece(nitems: usize, pieces: usize) -> usize {
    nitems.div_ceil(pieces.max(1)).next_multiple_of(64)
}

/// Byte-shuffles the items of `src` into `dst` (the same size, a whole number of items) in
/// `pieces` parallel pieces, each written straight into its slice of every plane. `false`,
/// writing nothing, when there is no kernel for that (see [`shuffle::shuffle_rows`]).
fn shuffle_par(ts: usize, src: &[u8], dst: &mut [u8], pieces: usize) -> bool {
    let nitems = src.len() / ts;
    if !shuffle::has_shuffle_rows(ts) || nitems == 0 {
        return false;
    }
    let per = items_per_piece(nitems, pieces);
    let mut jobs: Vec<(&[u8], Vec<&mut [u8]>)> = src
        .chunks(per * ts)
        .map(|s| (s, Vec::with_capacity(ts)))
        .collect();
    for plane in dst.chunks_exact_mut(nitems) {
        for (job, piece) in jobs.iter_mut().zip(plane.chunks_mut(per)) {
            job.1.push(piece);
        }
    }
    threads::install(|| {
        jobs.into_par_iter()
            .all(|(s, mut rows)| shuffle::shuffle_rows(s, &mut rows))
    })
}

/// Writes the 16 common header bytes.
pub(crate) fn write_header16(
    out: &mut [u8],
    version: u8,
    flags: u8,
    typesize: usize,
    nbytes: usize,
    blocksize: usize,
    cbytes: usize,
) {
    out[0] = version;
    out[1] = 1;
    out[2] = flags;
    out[3] = typesize as u8;
    out[4..8].copy_from_slice(&(nbytes as i32).to_le_bytes());
    out[8..12].copy_from_slice(&(blocksize as i32).to_le_bytes());
    out[12..16].copy_from_slice(&(cbytes as i32).to_le_bytes());
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

/// Checks, before compressing `src_len` bytes into a destination of `dst_len` bytes, that the
/// destination holds the largest chunk (`src_len + overhead`) and that the input fits the format.
pub(crate) fn check_compress_sizes(src_len: usize, dst_len: usize, overhead: usize) -> Result<()> {
    if dst_len < src_len + overhead {
        return Err(Error::invalid(format!(
            "destination buffer has {dst_len} bytes, a chunk of {src_len} bytes may need {}",
            src_len + overhead
        )));
    }
    check_input_size(src_len, overhead)
}

/// Checks an input size against the formats' `i32` limit (minus the header).
pub(crate) fn check_input_size(len: usize, overhead: usize) -> Result<()> {
    if len > MAX_CHUNK - overhead {
        return Err(Error::too_large(format!(
            "Blosc chunks hold at most {} bytes, got {len}",
            MAX_CHUNK - overhead
        )));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::threads::ordered_testing::serial_at_every_size;

    const BLOCK: usize = 16 * 1024;

    fn spec(compressor: Compressor, extended: bool) -> EncodeSpec {
        EncodeSpec {
            compressor,
            clevel: 5,
            typesize: 4,
            blocksize: BLOCK,
            split: true,
            filters: [F_NONE, F_NONE, F_NONE, F_NONE, F_NONE, F_SHUFFLE],
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

    /// 16 blocks: compressible, incompressible, and compressible with a noisy tail.
    fn samples() -> Vec<Vec<u8>> {
        let mut state = 0x2545_f491_4f6c_dd1du64;
        let mut noise = |n: usize| -> Vec<u8> {
            (0..n)
                .map(|_| {
                    state ^= state << 13;
                    state ^= state >> 7;
                    state ^= state << 17;
                    state as u8
                })
                .collect()
        };
        let n = 16 * BLOCK;
        let smooth: Vec<u8> = (0..n / 4)
            .flat_map(|i| ((i as f32 * 0.01).sin() * 100.0).to_le_bytes())
            .collect();
        let mut tail = smooth[..n / 2].to_vec();
        tail.extend(noise(n / 2 + 1000));
        vec![smooth, noise(n), tail]
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

    #[test]
    fn blocks_decode_alike_with_their_streams_in_parallel() {
        use super::super::{v1, v2};
        let mut zeros_tail = samples()[0].clone();
        zeros_tail[8 * BLOCK..].fill(0);
        let mut chunks = Vec::new();
        for src in samples().into_iter().chain([zeros_tail]) {
            // 33: more streams than any fused kernel (Blosc2 splits every typesize).
            for typesize in [4, 8, 33] {
                // Byte shuffle (the fused unshuffle), no filter, bit shuffle; Blosc1, and Blosc2
                // with its zero and run streams.
                for (shuffle, filter) in [
                    (v1::Shuffle::Shuffle, v2::Filter::Shuffle),
                    (v1::Shuffle::NoShuffle, v2::Filter::NoFilter),
                    (v1::Shuffle::BitShuffle, v2::Filter::BitShuffle),
                ] {
                    // Blosc2 splits only blocks that the typesize divides.
                    let blocksize = BLOCK / typesize * typesize;
                    let opts = v1::Options {
                        compressor: Compressor::Lz4,
                        clevel: 5,
                        shuffle,
                        typesize,
                        blocksize,
                    };
                    chunks.push((v1::compress(&src, &opts).unwrap(), src.clone()));
                    let mut params = v2::CParams {
                        codec: Compressor::Lz4,
                        typesize,
                        blocksize,
                        splitmode: v2::SplitMode::Always,
                        ..Default::default()
                    };
                    params.filters[5] = filter;
                    chunks.push((v2::compress(&src, &params).unwrap(), src.clone()));
                }
            }
        }
        let mut tmp = Vec::new();
        let (mut tested, mut split, mut many) = (0, 0, 0);
        for (k, (chunk, src)) in chunks.iter().enumerate() {
            let c = Chunk::open(chunk).unwrap();
            if c.header.memcpyed() {
                // Noise without a shuffle does not compress: stored whole, without blocks.
                continue;
            }
            tested += 1;
            assert!(c.nblocks() > 1, "chunk {k}: {:?}", c.header);
            for i in 0..c.nblocks() {
                let g = c.geom(i);
                split += usize::from(g.nstreams > 1);
                many += usize::from(g.nstreams > MAX_STREAMS);
                let at = i * c.header.blocksize;
                let want = &src[at..at + g.bsize];
                for par in [false, true] {
                    let mut out = vec![0x5Au8; g.bsize];
                    // SAFETY: `out` is initialised and the decoder writes only bytes.
                    let view = unsafe { as_uninit(&mut out) };
                    c.decode_block(i, view, None, &mut tmp, par).unwrap();
                    assert!(out == want, "chunk {k} block {i} par {par}");
                }
            }
        }
        assert!(
            tested >= chunks.len() / 3,
            "{tested} of {} chunks",
            chunks.len()
        );
        assert!(
            split > 100 && many > 10,
            "{split} split blocks, {many} of 33 streams"
        );
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

    #[test]
    fn block_scratch_past_the_address_space_is_an_error() {
        let e = zeroed_vec(1 << 56).unwrap_err();
        assert_eq!(e.kind(), ErrorKind::OutOfMemory, "{e}");
        assert_eq!(zeroed_vec(3).unwrap(), [0, 0, 0]);
    }
}
