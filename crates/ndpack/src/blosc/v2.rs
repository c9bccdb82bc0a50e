//! The Blosc2 chunk format (c-blosc2 2.x/3.x, chunk version 5): the 32-byte extended header, the
//! filter pipeline (SHUFFLE, BITSHUFFLE, DELTA, TRUNC_PREC), zero and run streams, whole-chunk
//! special values (zeros, NaNs, uninitialized, a repeated value), and `getitem` of a range of
//! items that decodes only the blocks holding them. Chunks are interchangeable with
//! python-blosc2's `compress2` / `decompress2`, both ways.
//!
//! ```
//! use ndpack::blosc::v2::{compress, decompress, getitem, CParams};
//! let data: Vec<u8> = (0..100_000u32).flat_map(|i| i.to_le_bytes()).collect();
//! let params = CParams { typesize: 4, ..CParams::default() };
//! let chunk = compress(&data, &params).unwrap();
//! assert_eq!(decompress(&chunk).unwrap(), data);
//! assert_eq!(getitem(&chunk, 10, 2).unwrap(), [10, 0, 0, 0, 11, 0, 0, 0]);
//! ```

pub use super::chunk::Filter;
use super::chunk::{
    check_compress_sizes, check_input_size, put, trunc_prec_check, vec_with, write_header16, Chunk,
    EncodeSpec, Header, EXT_HEADER_LEN, FLAG_BITSHUFFLE, FLAG_DELTA, FLAG_DONT_SPLIT,
    FLAG_MEMCPYED, FLAG_SHUFFLE, SPECIAL_NAN, SPECIAL_UNINIT, SPECIAL_VALUE, SPECIAL_ZERO,
};
use super::compressor::Compressor;
use std::mem::MaybeUninit;

use crate::error::{Error, Result};
use crate::threads;

/// The chunk format version ndpack writes (what c-blosc2 2.4 to 3.6 write).
pub const VERSION_FORMAT: u8 = 5;
/// The header overhead of a Blosc2 chunk (`BLOSC2_MAX_OVERHEAD`).
pub const MAX_OVERHEAD: usize = EXT_HEADER_LEN;
/// Inputs smaller than this are stored memcpyed (`BLOSC_MIN_BUFFERSIZE` of c-blosc2).
pub const MIN_BUFFERSIZE: usize = 32;
/// The largest input of a Blosc2 chunk.
pub const MAX_BUFFERSIZE: usize = i32::MAX as usize - MAX_OVERHEAD;

const L1: usize = 32 * 1024;

/// When blocks are split into one stream per byte of the item (python-blosc2's `SplitMode`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum SplitMode {
    /// Always split (1).
    Always,
    /// Never split (2).
    Never,
    /// c-blosc2's heuristic (3, the default).
    #[default]
    Auto,
    /// Same heuristic as `Auto` in c-blosc2 2.x/3.x (4).
    ForwardCompat,
}

impl SplitMode {
    /// python-blosc2's value.
    pub fn value(self) -> i64 {
        match self {
            SplitMode::Always => 1,
            SplitMode::Never => 2,
            SplitMode::Auto => 3,
            SplitMode::ForwardCompat => 4,
        }
    }

    /// The mode of python-blosc2's value.
    pub fn from_value(v: i64) -> Result<Self> {
        Ok(match v {
            1 => SplitMode::Always,
            2 => SplitMode::Never,
            3 => SplitMode::Auto,
            4 => SplitMode::ForwardCompat,
            _ => {
                return Err(Error::invalid_argument(format!(
                    "unknown Blosc2 split mode {v}"
                )))
            }
        })
    }
}

/// Compression parameters (python-blosc2's `CParams`; same defaults).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CParams {
    /// The compressor (default zstd).
    pub codec: Compressor,
    /// 0 (memcpyed) to 9 (default 5).
    pub clevel: u8,
    /// The item size in bytes (default 8; sizes above 255 are written as 1).
    pub typesize: usize,
    /// 0 for automatic (default), else the blocksize.
    pub blocksize: usize,
    /// The split mode (default AUTO).
    pub splitmode: SplitMode,
    /// The pipeline, applied in slot order (default `[0, 0, 0, 0, 0, SHUFFLE]`).
    pub filters: [Filter; 6],
    /// One meta byte per filter slot.
    pub filters_meta: [u8; 6],
}

impl Default for CParams {
    fn default() -> Self {
        CParams {
            codec: Compressor::Zstd,
            clevel: 5,
            typesize: 8,
            blocksize: 0,
            splitmode: SplitMode::Auto,
            filters: Filter::last_slot(Filter::Shuffle),
            filters_meta: [0; 6],
        }
    }
}

impl CParams {
    fn header_typesize(&self) -> usize {
        if self.typesize > 255 {
            1
        } else {
            self.typesize
        }
    }

    /// c-blosc2's `split_block` for this configuration.
    pub fn split_block(&self, typesize: usize, blocksize: usize) -> bool {
        match self.splitmode {
            SplitMode::Always => true,
            SplitMode::Never => false,
            SplitMode::Auto | SplitMode::ForwardCompat => {
                (matches!(self.codec, Compressor::BloscLz | Compressor::Lz4)
                    || (self.codec == Compressor::Zstd && self.clevel <= 5))
                    && self.filters.contains(&Filter::Shuffle)
                    && typesize <= 16
                    && blocksize / typesize >= MIN_BUFFERSIZE
            }
        }
    }

    /// The blocksize c-blosc2 3.6 (`blosc_stune_next_blocksize` in `stune.c`) writes for `nbytes`:
    /// automatic, or the user's capped at `nbytes` and rounded down to whole items; 1 for inputs
    /// under one item.
    pub fn compute_blocksize(&self, nbytes: usize) -> usize {
        let ts = self.header_typesize();
        if nbytes < ts {
            // Also with a user blocksize (an empty input included).
            return 1;
        }
        let mut bs = nbytes;
        if self.blocksize != 0 {
            // A user blocksize is capped at nbytes and rounded down to whole items below.
            bs = self.blocksize;
        } else {
            if nbytes >= L1 {
                bs = L1;
                if self.codec.is_hcr() {
                    bs *= 2;
                }
                match self.clevel {
                    0 => bs /= 4,
                    1 => bs /= 2,
                    2 => {}
                    3 => bs *= 2,
                    4 | 5 => bs *= 4,
                    6..=8 => bs *= 8,
                    _ => {
                        bs *= 8;
                        if self.codec.is_hcr() {
                            bs *= 2;
                        }
                    }
                }
            }
            if self.clevel > 0 && self.split_block(ts, nbytes) {
                bs = match self.clevel {
                    1..=3 => 32 << 10,
                    4..=6 => 64 << 10,
                    7 => 128 << 10,
                    8 => 256 << 10,
                    _ => 512 << 10,
                };
                bs = (bs * ts).clamp(32 << 10, 4 << 20);
            }
        }
        bs = bs.min(nbytes);
        if bs > ts {
            bs = bs / ts * ts;
        }
        bs
    }
}

#[allow(clippy::too_many_arguments)]
fn ext_header(
    flags: u8,
    typesize: usize,
    nbytes: usize,
    blocksize: usize,
    filters: [u8; 6],
    filters_meta: [u8; 6],
    udcodec: u8,
    blosc2_flags: u8,
) -> Vec<u8> {
    let mut h = vec![0u8; EXT_HEADER_LEN];
    write_header16(
        &mut h,
        VERSION_FORMAT,
        flags,
        typesize,
        nbytes,
        blocksize,
        EXT_HEADER_LEN,
    );
    h[0x10..0x16].copy_from_slice(&filters);
    h[0x16] = udcodec;
    h[0x18..0x1E].copy_from_slice(&filters_meta);
    h[0x1F] = blosc2_flags;
    h
}

/// How [`CParams`] encode a chunk of some size: its flags and block encoder.
struct Prepared {
    flags: u8,
    udcodec: u8,
    spec: EncodeSpec,
}

impl Prepared {
    /// The chunk header with `flags` and Blosc2 flags `blosc2_flags` (cbytes left 0).
    fn header(&self, flags: u8, nbytes: usize, blosc2_flags: u8) -> Vec<u8> {
        let s = &self.spec;
        ext_header(
            flags,
            s.typesize,
            nbytes,
            s.blocksize,
            s.filters.map(Filter::code),
            s.filters_meta,
            self.udcodec,
            blosc2_flags,
        )
    }
}

/// Checks `params` and works out how they encode a chunk of `nbytes` bytes.
fn prepare(params: &CParams, nbytes: usize) -> Result<Prepared> {
    params.codec.check_available()?;
    if !params.codec.can_encode() {
        return Err(Error::invalid_argument(format!(
            "Blosc2 does not support the {} codec",
            params.codec
        )));
    }
    if params.clevel > 9 {
        return Err(Error::invalid_argument(format!(
            "Blosc2 clevel must be between 0 and 9, got {}",
            params.clevel
        )));
    }
    if params.typesize == 0 {
        return Err(Error::invalid_argument(
            "Blosc2 typesize must be at least 1",
        ));
    }
    let ts = params.header_typesize();
    for (f, m) in params.filters.iter().zip(params.filters_meta) {
        if *f == Filter::TruncPrec {
            trunc_prec_check(ts, m as i8)?;
        }
    }
    // DELTA's reference is block 0 of the raw input (c-blosc2's rule), so it only round-trips as
    // the first filter of the pipeline; c-blosc2 accepts other placements and writes garbage.
    let active: Vec<Filter> = params
        .filters
        .iter()
        .copied()
        .filter(|f| *f != Filter::NoFilter)
        .collect();
    if active.iter().skip(1).any(|f| *f == Filter::Delta) {
        return Err(Error::invalid_argument(
            "the DELTA filter must be the first filter of the pipeline and appear once",
        ));
    }
    let blocksize = params.compute_blocksize(nbytes);
    // c-blosc2 also splits blocks that typesize does not divide, and then cannot decode them.
    let split = params.split_block(ts, blocksize) && blocksize.is_multiple_of(ts);
    let mut flags = FLAG_SHUFFLE | FLAG_BITSHUFFLE | (params.codec.format_code() << 5);
    if params.filters.contains(&Filter::Delta) {
        flags |= FLAG_DELTA;
    }
    if !split {
        flags |= FLAG_DONT_SPLIT;
    }
    Ok(Prepared {
        flags,
        udcodec: params.codec.code(),
        spec: EncodeSpec {
            compressor: params.codec,
            clevel: params.clevel,
            typesize: ts,
            blocksize,
            split,
            filters: params.filters,
            filters_meta: params.filters_meta,
            extended: true,
        },
    })
}

/// Compresses `src` into a Blosc2 chunk, as `blosc2.compress2` does.
pub fn compress(src: &[u8], params: &CParams) -> Result<Vec<u8>> {
    check_input_size(src.len(), MAX_OVERHEAD)?;
    vec_with(src.len() + MAX_OVERHEAD, |dst| {
        compress_into_uninit(src, params, dst)
    })
}

/// Scratch buffers of at most this size are kept by [`compress_with`] for the next call.
const SCRATCH_KEEP_MAX: usize = 64 << 20;

std::thread_local! {
    /// The buffer each thread compresses chunks into for [`compress_with`]: kept fully
    /// initialised (zeroed when it grows) and reused, so that steady compression writes into
    /// pages that are already mapped instead of faulting in fresh ones for every chunk.
    static SCRATCH: std::cell::RefCell<Vec<u8>> = const { std::cell::RefCell::new(Vec::new()) };
}

/// Compresses `src` as [`compress`] does, into a buffer this thread keeps, and passes the chunk
/// to `f` (which copies or writes it where it belongs). Called again from inside `f`, it
/// compresses into a new buffer.
pub fn compress_with<R>(
    src: &[u8],
    params: &CParams,
    f: impl FnOnce(&[u8]) -> Result<R>,
) -> Result<R> {
    check_input_size(src.len(), MAX_OVERHEAD)?;
    let cap = src.len() + MAX_OVERHEAD;
    let into = |buf: &mut Vec<u8>| -> Result<usize> {
        if buf.len() < cap {
            buf.resize(cap, 0);
        }
        // SAFETY: `MaybeUninit<u8>` has the layout of `u8`, and the encoders write through the
        // view only with `put`, which copies initialised bytes: the buffer stays initialised.
        let view = unsafe {
            std::slice::from_raw_parts_mut(buf.as_mut_ptr().cast::<MaybeUninit<u8>>(), cap)
        };
        compress_into_uninit(src, params, view)
    };
    SCRATCH.with(|cell| match cell.try_borrow_mut() {
        Ok(mut buf) => {
            let n = into(&mut buf)?;
            let r = f(&buf[..n]);
            if buf.len() > SCRATCH_KEEP_MAX {
                *buf = Vec::new();
            }
            r
        }
        Err(_) => {
            let mut buf = Vec::new();
            let n = into(&mut buf)?;
            f(&buf[..n])
        }
    })
}

/// Compresses `src` into `dst`, which may be uninitialised and must hold at least
/// `src.len() + MAX_OVERHEAD` bytes (the largest chunk); returns the chunk size. The first
/// that many bytes of `dst` are then initialised.
pub fn compress_into_uninit(
    src: &[u8],
    params: &CParams,
    dst: &mut [MaybeUninit<u8>],
) -> Result<usize> {
    check_compress_sizes(src.len(), dst.len(), MAX_OVERHEAD)?;
    let nbytes = src.len();
    let prep = prepare(params, nbytes)?;
    let (flags, spec) = (prep.flags, &prep.spec);
    let header = |flags: u8, special: u8| prep.header(flags, nbytes, special);
    let memcpyed = |flags: u8, dst: &mut [MaybeUninit<u8>]| {
        let mut head = header(flags | FLAG_MEMCPYED, 0);
        head[12..16].copy_from_slice(&((nbytes + EXT_HEADER_LEN) as i32).to_le_bytes());
        put(dst, 0, &head);
        put(dst, EXT_HEADER_LEN, src);
        Ok(EXT_HEADER_LEN + nbytes)
    };
    if params.clevel == 0 || nbytes < MIN_BUFFERSIZE {
        return memcpyed(FLAG_SHUFFLE | FLAG_BITSHUFFLE, dst);
    }
    match spec.encode_chunk_into(src, &header(flags, 0), nbytes + MAX_OVERHEAD, dst)? {
        Some(chunk) if chunk.all_zero => {
            let head = header(flags, SPECIAL_ZERO << 4);
            put(dst, 0, &head);
            Ok(head.len())
        }
        Some(chunk) => Ok(chunk.len),
        None => memcpyed(flags, dst),
    }
}

/// Chunk `old` with some of its blocks replaced: `blocks` pairs a block number with the block's
/// new bytes (a whole block), which are encoded as [`compress`] would encode them; the other
/// blocks keep their encoded bytes. Only when `old` is laid out as `params` lay out a chunk of
/// its size (same header but for its size; no DELTA, whose reference is the first block; not
/// stored uncompressed, not special) and the result fits a chunk: otherwise `None`, and the
/// caller compresses the whole chunk. The new blocks are encoded by up to `workers` workers.
pub fn replace_blocks(
    old: &[u8],
    params: &CParams,
    blocks: &[(usize, &[u8])],
    workers: usize,
) -> Result<Option<Vec<u8>>> {
    let chunk = Chunk::open(old)?;
    let nbytes = chunk.header.nbytes;
    if params.clevel == 0 || nbytes < MIN_BUFFERSIZE || params.filters.contains(&Filter::Delta) {
        return Ok(None);
    }
    let prep = prepare(params, nbytes)?;
    let head = prep.header(prep.flags, nbytes, 0);
    let hlen = head.len();
    let same = old.len() >= hlen && old[..12] == head[..12] && old[16..hlen] == head[16..];
    if !same || chunk.header.len() != hlen || !nbytes.is_multiple_of(prep.spec.blocksize) {
        return Ok(None);
    }
    let nblocks = chunk.nblocks();
    let bs = prep.spec.blocksize;
    let mut new: Vec<Option<Vec<u8>>> = vec![None; nblocks];
    for &(i, raw) in blocks {
        if i >= nblocks || raw.len() != bs {
            return Err(Error::invalid_argument(format!(
                "block {i} of {} bytes for a chunk of {nblocks} blocks of {bs} bytes",
                raw.len()
            )));
        }
    }
    let slots: Vec<(&mut Option<Vec<u8>>, &[u8])> = {
        let mut by_block: Vec<Option<&[u8]>> = vec![None; nblocks];
        for &(i, raw) in blocks {
            by_block[i] = Some(raw);
        }
        new.iter_mut()
            .zip(by_block)
            .filter_map(|(slot, raw)| raw.map(|r| (slot, r)))
            .collect()
    };
    let encode = |(slot, raw): (&mut Option<Vec<u8>>, &[u8])| -> Result<()> {
        *slot = Some(prep.spec.encode_lone_block(raw)?);
        Ok(())
    };
    let workers = if slots.len() > 1 { workers } else { 1 };
    threads::for_each_with_caller(slots.into_iter(), workers, encode)?;
    let mut len = hlen + 4 * nblocks;
    let mut parts: Vec<&[u8]> = Vec::with_capacity(nblocks);
    for (i, n) in new.iter().enumerate() {
        let part = match n {
            Some(bytes) => bytes.as_slice(),
            None => chunk.block_stream_bytes(i)?,
        };
        len += part.len();
        parts.push(part);
    }
    if len > nbytes + MAX_OVERHEAD {
        return Ok(None);
    }
    let mut out = Vec::with_capacity(len);
    out.extend_from_slice(&head);
    out[12..16].copy_from_slice(&(len as i32).to_le_bytes());
    let mut at = hlen + 4 * nblocks;
    for part in &parts {
        out.extend_from_slice(&(at as i32).to_le_bytes());
        at += part.len();
    }
    for part in parts {
        out.extend_from_slice(part);
    }
    Ok(Some(out))
}

fn special_chunk(special: u8, nbytes: usize, typesize: usize, blocksize: usize) -> Result<Vec<u8>> {
    check_input_size(nbytes, MAX_OVERHEAD)?;
    let ts = if typesize > 255 { 1 } else { typesize.max(1) };
    Ok(ext_header(
        FLAG_SHUFFLE | FLAG_BITSHUFFLE,
        ts,
        nbytes,
        blocksize.min(nbytes),
        [0; 6],
        [0; 6],
        0,
        special << 4,
    ))
}

/// A header-only chunk of `nbytes` zero bytes (c-blosc2's `blosc2_chunk_zeros`).
pub fn zeros_chunk(nbytes: usize, typesize: usize, blocksize: usize) -> Result<Vec<u8>> {
    special_chunk(SPECIAL_ZERO, nbytes, typesize, blocksize)
}

/// A header-only chunk of NaNs (`typesize` 4 for f32 or 8 for f64).
pub fn nans_chunk(nbytes: usize, typesize: usize, blocksize: usize) -> Result<Vec<u8>> {
    if (typesize != 4 && typesize != 8) || !nbytes.is_multiple_of(typesize) {
        return Err(Error::invalid_argument(format!(
            "NaN chunks need typesize 4 or 8 and a whole number of items, got typesize {typesize} for {nbytes} bytes"
        )));
    }
    special_chunk(SPECIAL_NAN, nbytes, typesize, blocksize)
}

/// A header-only chunk with unspecified content (ndpack decodes it as zeros).
pub fn uninit_chunk(nbytes: usize, typesize: usize, blocksize: usize) -> Result<Vec<u8>> {
    special_chunk(SPECIAL_UNINIT, nbytes, typesize, blocksize)
}

/// A chunk of `nbytes` holding `value` repeated (`blosc2.full`'s chunks).
pub fn repeat_chunk(nbytes: usize, value: &[u8], blocksize: usize) -> Result<Vec<u8>> {
    if value.is_empty() || !nbytes.is_multiple_of(value.len()) {
        return Err(Error::invalid_argument(format!(
            "{nbytes} bytes are not a whole number of {}-byte values",
            value.len()
        )));
    }
    let mut out = special_chunk(SPECIAL_VALUE, nbytes, value.len(), blocksize)?;
    out[12..16].copy_from_slice(&((EXT_HEADER_LEN + value.len()) as i32).to_le_bytes());
    out.extend_from_slice(value);
    Ok(out)
}

/// Decompresses a Blosc2 (or Blosc1) chunk, as `blosc2.decompress2` does.
pub fn decompress(chunk: &[u8]) -> Result<Vec<u8>> {
    super::v1::decompress(chunk)
}

/// Decompresses a chunk into `out` (at least the decoded size); returns the bytes written.
pub fn decompress_into(chunk: &[u8], out: &mut [u8]) -> Result<usize> {
    super::v1::decompress_into(chunk, out)
}

/// Decompresses a chunk into `out`, which may be uninitialised (at least the decoded size);
/// returns the bytes written, which are then initialised.
pub fn decompress_into_uninit(chunk: &[u8], out: &mut [MaybeUninit<u8>]) -> Result<usize> {
    super::v1::decompress_into_uninit(chunk, out)
}

/// Decodes `nitems` items (of the header's typesize) from item `start`, decoding only the blocks
/// that hold them (c-blosc2's `blosc2_getitem`).
pub fn getitem(chunk: &[u8], start: usize, nitems: usize) -> Result<Vec<u8>> {
    super::v1::getitem(chunk, start, nitems)
}

/// Decodes bytes `[offset, offset + out.len())` of a chunk into `out`, decoding only the blocks
/// that hold them.
pub fn decode_range(chunk: &[u8], offset: usize, out: &mut [u8]) -> Result<()> {
    Chunk::open(chunk)?.decode_range(offset, out)
}

/// A chunk opened (its header and block table checked) once, to decode ranges of it again and
/// again: b2nd reads decode only the blocks a region touches, one call per block.
///
/// ```
/// use ndpack::blosc::v2::{compress, ChunkDecoder, CParams};
/// let data: Vec<u8> = (0..100_000u32).flat_map(|i| i.to_le_bytes()).collect();
/// let params = CParams { typesize: 4, blocksize: 4096, ..CParams::default() };
/// let chunk = compress(&data, &params).unwrap();
/// let dec = ChunkDecoder::open(&chunk).unwrap();
/// assert_eq!((dec.nbytes(), dec.blocksize()), (400_000, 4096));
/// let mut block = vec![0; 4096];
/// dec.decode_range(3 * 4096, &mut block).unwrap();
/// assert_eq!(block, data[3 * 4096..4 * 4096]);
/// ```
#[derive(Debug)]
pub struct ChunkDecoder<'a> {
    chunk: Chunk<'a>,
}

impl<'a> ChunkDecoder<'a> {
    /// Opens and checks a chunk (it may carry trailing bytes after its `cbytes`).
    pub fn open(chunk: &'a [u8]) -> Result<ChunkDecoder<'a>> {
        Ok(ChunkDecoder {
            chunk: Chunk::open(chunk)?,
        })
    }

    /// Opens a chunk read in part (see [`crate::blosc::frame::SChunk::with_chunk_blocks`]):
    /// only the blocks `i` with `present[i]` hold their bytes, are checked and can be decoded.
    pub(crate) fn open_partial(chunk: &'a [u8], present: Vec<bool>) -> Result<ChunkDecoder<'a>> {
        Ok(ChunkDecoder {
            chunk: Chunk::open_partial(chunk, present)?,
        })
    }

    /// The decoded size.
    pub fn nbytes(&self) -> usize {
        self.chunk.header.nbytes
    }

    /// The blocksize of the header.
    pub fn blocksize(&self) -> usize {
        self.chunk.header.blocksize
    }

    /// The special type: 0 none, 1 zeros, 2 NaNs, 3 repeated value, 4 uninitialized.
    pub fn special(&self) -> u8 {
        self.chunk.header.special()
    }

    /// Decodes bytes `[offset, offset + out.len())`, decoding only the blocks that hold them;
    /// whole blocks go straight into `out`.
    pub fn decode_range(&self, offset: usize, out: &mut [u8]) -> Result<()> {
        self.chunk.decode_range(offset, out)
    }

    /// Decodes the whole chunk into `out` (exactly [`ChunkDecoder::nbytes`] long), its blocks in
    /// parallel on the pool when it is large.
    pub fn decode_into(&self, out: &mut [u8]) -> Result<()> {
        self.chunk.decode_into(out)
    }
}

/// What the header of a chunk says.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ChunkInfo {
    /// The format version (2 for Blosc1, 3-5 for Blosc2).
    pub version: u8,
    /// The decoded size.
    pub nbytes: usize,
    /// The chunk size.
    pub cbytes: usize,
    /// The blocksize.
    pub blocksize: usize,
    /// The header typesize.
    pub typesize: usize,
    /// The compressor, when the header names one ndpack knows.
    pub codec: Option<Compressor>,
    /// The filter ids by slot (Blosc1 chunks: the shuffle flag in slot 5).
    pub filters: [u8; 6],
    /// The filter metas by slot.
    pub filters_meta: [u8; 6],
    /// Whether the data is stored uncompressed.
    pub memcpyed: bool,
    /// The special type: 0 none, 1 zeros, 2 NaNs, 3 repeated value, 4 uninitialized.
    pub special: u8,
}

/// Reads and checks the header of a chunk.
pub fn chunk_info(chunk: &[u8]) -> Result<ChunkInfo> {
    let h = Header::parse(chunk)?;
    let codec = if h.extended && h.format_code() == 6 {
        Compressor::from_code(h.udcodec).ok()
    } else if h.extended {
        Compressor::from_code(h.udcodec)
            .ok()
            .filter(|c| c.format_code() == h.format_code())
            .or_else(|| Compressor::from_format_code(h.format_code()).ok())
    } else {
        Compressor::from_format_code(h.format_code()).ok()
    };
    Ok(ChunkInfo {
        version: h.version,
        nbytes: h.nbytes,
        cbytes: h.cbytes,
        blocksize: h.blocksize,
        typesize: h.typesize,
        codec,
        filters: h.filters,
        filters_meta: h.filters_meta,
        memcpyed: h.memcpyed(),
        special: h.special(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::error::ErrorKind;

    fn ints(n: u32) -> Vec<u8> {
        (0..n).flat_map(|i| i.to_le_bytes()).collect()
    }

    /// Ranges of whole blocks (decoded straight into the output), parts of blocks and both,
    /// with and without DELTA (whose reference is block 0), match the whole chunk.
    #[test]
    fn decoder_ranges_match_the_whole_chunk() {
        let data: Vec<u8> = (0..50_000u32)
            .flat_map(|i| (i / 7 + i.wrapping_mul(2_654_435_761) % 13).to_le_bytes())
            .collect();
        let bs = 4096;
        for filters in [
            Filter::last_slot(Filter::Shuffle),
            [
                Filter::Delta,
                Filter::Shuffle,
                Filter::NoFilter,
                Filter::NoFilter,
                Filter::NoFilter,
                Filter::NoFilter,
            ],
        ] {
            let p = CParams {
                typesize: 4,
                blocksize: bs,
                filters,
                ..CParams::default()
            };
            let c = compress(&data, &p).unwrap();
            let dec = ChunkDecoder::open(&c).unwrap();
            assert_eq!(
                (dec.nbytes(), dec.blocksize(), dec.special()),
                (data.len(), bs, 0)
            );
            for (lo, len) in [
                (0, bs),
                (bs, bs),
                (3 * bs, 4 * bs),
                (0, 3 * bs),
                (bs + 5, 2 * bs),
                (7, 3),
                (data.len() - 100, 100),
                (data.len() - 2 * bs - 8, 2 * bs + 8),
                (0, data.len()),
            ] {
                let mut out = vec![0xEEu8; len];
                dec.decode_range(lo, &mut out).unwrap();
                assert_eq!(out, data[lo..lo + len], "{lo} {len} {filters:?}");
            }
            let mut all = vec![0u8; data.len()];
            dec.decode_into(&mut all).unwrap();
            assert_eq!(all, data);
            assert!(dec.decode_range(data.len() - 3, &mut [0; 4]).is_err());
        }
    }

    #[test]
    fn header_matches_blosc2_defaults() {
        // blosc2.compress2(np.arange(100000, dtype=np.int32)): version 5, flags 0x85, typesize 8,
        // one 400000-byte block, filters [0,0,0,0,0,1], udcodec 5, first bstart 36.
        let data = ints(100_000);
        let c = compress(&data, &CParams::default()).unwrap();
        assert_eq!(&c[..4], &[5, 1, 0x85, 8]);
        assert_eq!(&c[8..12], &400_000i32.to_le_bytes());
        assert_eq!(&c[0x10..0x18], &[0, 0, 0, 0, 0, 1, 5, 0]);
        assert_eq!(&c[32..36], &36i32.to_le_bytes());
        assert_eq!(decompress(&c).unwrap(), data);
        // 20 bytes: memcpyed, flags exactly 0x07, blocksize 16.
        let m = compress(&data[..20], &CParams::default()).unwrap();
        assert_eq!(
            &m[..16],
            &[5, 1, 7, 8, 20, 0, 0, 0, 16, 0, 0, 0, 52, 0, 0, 0]
        );
        assert_eq!(decompress(&m).unwrap(), &data[..20]);
    }

    #[test]
    fn blocksize_of_tiny_inputs_and_user_blocksizes_as_c_blosc2_3_6() {
        // (typesize, nbytes, user blocksize, blocksize in the header of python-blosc2 4.15.0 /
        // c-blosc2 3.6.1): inputs under one item get 1, a user blocksize is capped at nbytes and
        // rounded down to whole items.
        for (typesize, nbytes, user, want) in [
            (15, 0, 4095, 1),
            (1, 0, 7, 1),
            (4, 0, 256, 1),
            (8, 3, 0, 1),
            (8, 3, 4096, 1),
            (2, 3, 6, 2),
            (2, 7, 256, 6),
            (2, 4095, 4096, 4094),
            (4, 40_000, 256, 256),
            (15, 30_000, 4095, 4095),
            (1, 32, 1, 1),
        ] {
            let p = CParams {
                typesize,
                blocksize: user,
                ..CParams::default()
            };
            assert_eq!(
                p.compute_blocksize(nbytes),
                want,
                "c-blosc2 3.6.1: typesize {typesize}, nbytes {nbytes}, blocksize {user}"
            );
            let data = vec![7u8; nbytes];
            let c = compress(&data, &p).unwrap();
            assert_eq!(&c[8..12], &(want as i32).to_le_bytes());
            assert_eq!(decompress(&c).unwrap(), data);
        }
    }

    #[test]
    fn decoding_writes_every_byte_of_an_uninitialised_buffer() {
        let data: Vec<u8> = (0..200_003u32)
            .map(|i| ((i / 3) % 256) as u8 ^ (i / 7000) as u8)
            .collect();
        let f = |list: &[Filter]| {
            let mut filters = [Filter::NoFilter; 6];
            filters[6 - list.len()..].copy_from_slice(list);
            filters
        };
        let pipelines = [
            f(&[]),
            f(&[Filter::Shuffle]),
            f(&[Filter::BitShuffle]),
            f(&[Filter::Delta]),
            f(&[Filter::Delta, Filter::BitShuffle]),
            f(&[Filter::Shuffle, Filter::BitShuffle]),
        ];
        // Whatever the buffer held before (two poisons), the decoded bytes are the data.
        let check = |chunk: &[u8], want: &[u8], what: &str| {
            for poison in [0x00u8, 0xA5] {
                let mut out = vec![MaybeUninit::new(poison); want.len()];
                assert_eq!(decompress_into_uninit(chunk, &mut out).unwrap(), want.len());
                // SAFETY: initialised above, then overwritten.
                let got: Vec<u8> = out.iter().map(|b| unsafe { b.assume_init() }).collect();
                assert!(got == want, "{what}, poison {poison:#x}");
            }
        };
        for codec in [Compressor::BloscLz, Compressor::Lz4, Compressor::Zstd] {
            for filters in pipelines {
                for ts in [1, 2, 4, 8, 15] {
                    for blocksize in [0, 4096] {
                        let p = CParams {
                            codec,
                            clevel: 4,
                            typesize: ts,
                            blocksize,
                            splitmode: SplitMode::Auto,
                            filters,
                            filters_meta: [0; 6],
                        };
                        check(&compress(&data, &p).unwrap(), &data, &format!("{p:?}"));
                    }
                }
            }
        }
        check(&zeros_chunk(1000, 4, 0).unwrap(), &[0; 1000], "zeros");
        let nan: Vec<u8> = f32::NAN.to_le_bytes().repeat(250);
        check(&nans_chunk(1000, 4, 0).unwrap(), &nan, "NaNs");
    }

    #[test]
    fn filters_runs_and_specials_round_trip() {
        let data: Vec<u8> = (0..200_003u32)
            .map(|i| ((i / 3) % 256) as u8 ^ (i / 7000) as u8)
            .collect();
        let pipelines = [
            [Filter::NoFilter; 6],
            CParams::default().filters,
            [
                Filter::Delta,
                Filter::NoFilter,
                Filter::NoFilter,
                Filter::NoFilter,
                Filter::NoFilter,
                Filter::NoFilter,
            ],
            [
                Filter::Delta,
                Filter::Shuffle,
                Filter::NoFilter,
                Filter::NoFilter,
                Filter::NoFilter,
                Filter::NoFilter,
            ],
        ];
        for codec in [
            Compressor::Lz4,
            Compressor::Lz4hc,
            Compressor::Zlib,
            Compressor::Zstd,
        ] {
            for filters in pipelines {
                for ts in [1, 2, 4, 8, 15] {
                    for (blocksize, splitmode) in [
                        (0, SplitMode::Auto),
                        (4096, SplitMode::Always),
                        (0, SplitMode::Never),
                    ] {
                        let p = CParams {
                            codec,
                            clevel: 4,
                            typesize: ts,
                            blocksize,
                            splitmode,
                            filters,
                            filters_meta: [0; 6],
                        };
                        let c = compress(&data, &p).unwrap();
                        assert_eq!(decompress(&c).unwrap(), data, "{p:?}");
                        let n = data.len() / ts;
                        assert_eq!(
                            getitem(&c, n / 2, n / 3).unwrap(),
                            &data[n / 2 * ts..(n / 2 + n / 3) * ts],
                            "{p:?}"
                        );
                    }
                }
            }
        }
        // Zero input becomes a header-only zero chunk; constant bytes become run streams.
        let zeros = vec![0u8; 100_000];
        let z = compress(&zeros, &CParams::default()).unwrap();
        assert_eq!(z.len(), 32);
        assert_eq!(z[31], 0x10);
        assert_eq!(decompress(&z).unwrap(), zeros);
        let ones = vec![7u8; 100_000];
        let o = compress(&ones, &CParams::default()).unwrap();
        assert!(o.len() < 100);
        assert_eq!(decompress(&o).unwrap(), ones);
        // Constructors.
        let r = repeat_chunk(7200, &3.5f64.to_le_bytes(), 800).unwrap();
        assert_eq!(
            &r[..16],
            &[5, 1, 5, 8, 0x20, 0x1c, 0, 0, 0x20, 3, 0, 0, 40, 0, 0, 0]
        );
        assert_eq!(r[31], 0x30);
        let out = decompress(&r).unwrap();
        assert!(out
            .chunks(8)
            .all(|v| f64::from_le_bytes(v.try_into().unwrap()) == 3.5));
        assert_eq!(
            getitem(&r, 3, 2).unwrap(),
            [3.5f64.to_le_bytes(), 3.5f64.to_le_bytes()].concat()
        );
        let nan = decompress(&nans_chunk(40, 4, 0).unwrap()).unwrap();
        assert!(nan
            .chunks(4)
            .all(|v| f32::from_le_bytes(v.try_into().unwrap()).is_nan()));
        assert_eq!(
            decompress(&zeros_chunk(1000, 4, 0).unwrap()).unwrap(),
            vec![0; 1000]
        );
        assert_eq!(
            decompress(&uninit_chunk(10, 1, 0).unwrap()).unwrap().len(),
            10
        );
        assert!(nans_chunk(40, 2, 0).is_err());
    }

    #[test]
    fn trunc_prec_masks_mantissas() {
        let vals: Vec<f32> = (0..10_000).map(|i| (i as f32).sqrt() * 1.2345).collect();
        let data: Vec<u8> = vals.iter().flat_map(|v| v.to_le_bytes()).collect();
        let mut filters = [Filter::NoFilter; 6];
        filters[0] = Filter::TruncPrec;
        filters[1] = Filter::Shuffle;
        let p = CParams {
            typesize: 4,
            filters,
            filters_meta: [10, 0, 0, 0, 0, 0],
            ..CParams::default()
        };
        let out = decompress(&compress(&data, &p).unwrap()).unwrap();
        for (o, v) in out.chunks(4).zip(&vals) {
            let bits = u32::from_le_bytes(o.try_into().unwrap());
            assert_eq!(bits, v.to_bits() & !((1 << 13) - 1));
        }
        for meta in [24u8, (-23i8) as u8] {
            let bad = CParams {
                filters_meta: [meta, 0, 0, 0, 0, 0],
                ..p.clone()
            };
            assert!(compress(&data, &bad).is_err(), "{meta}");
        }
        assert!(compress(&data, &CParams { typesize: 2, ..p }).is_err());
    }

    #[test]
    fn hostile_chunks_are_errors() {
        let data = ints(60_000);
        let c = compress(
            &data,
            &CParams {
                typesize: 4,
                ..CParams::default()
            },
        )
        .unwrap();
        for cut in [0, 16, 31, 32, 40, c.len() - 1] {
            assert!(decompress(&c[..cut]).is_err(), "cut {cut}");
        }
        let mut bad = c.clone();
        bad[0x10] = 200; // unknown filter
        assert_eq!(decompress(&bad).unwrap_err().kind(), ErrorKind::Unsupported);
        let mut bad = c.clone();
        bad[0x1F] = 0x70; // unknown special
        assert_eq!(decompress(&bad).unwrap_err().kind(), ErrorKind::Corrupt);
        // A huge declared block with a tiny stream is rejected before allocating.
        let mut h = ext_header(
            0x05 | 0x10 | (1 << 5),
            1,
            1 << 30,
            1 << 30,
            [0; 6],
            [0; 6],
            1,
            0,
        );
        h.extend_from_slice(&36i32.to_le_bytes());
        h.extend_from_slice(&8i32.to_le_bytes());
        h.extend_from_slice(&[0; 8]);
        let n = h.len() as i32;
        h[12..16].copy_from_slice(&n.to_le_bytes());
        assert_eq!(decompress(&h).unwrap_err().kind(), ErrorKind::Corrupt);
        for i in 0..c.len().min(300) {
            let mut f = c.clone();
            f[i] ^= 0xA5;
            if let Ok(out) = decompress(&f) {
                assert_eq!(out.len(), chunk_info(&f).unwrap().nbytes);
            }
        }
    }
}
