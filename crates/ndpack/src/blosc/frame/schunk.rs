//! [`SChunk`]: the super-chunk over its three storages. This file owns the index (one
//! [`Entry`] per chunk), the chunk-size rules, the read paths and the write operations; the
//! storages (`memory`, `contiguous`, `sparse`) own their bytes and their commits.

use std::borrow::Cow;
use std::path::{Path, PathBuf};

use rayon::prelude::*;

use super::contiguous::Contig;
use super::header::{check_name, FrameHeader, MAX_METALAYERS};
use super::memory::Mem;
use super::offsets::{self, MAX_CHUNKS, SPECIAL_NAN, SPECIAL_UNINIT, SPECIAL_ZERO};
use super::parse::{parse_frame, Parsed};
use super::sparse::SparseDir;
use super::trailer::{self, MAX_VLMETALAYERS};
use super::{DParams, Entry, Mode, OpenOptions, Special, Storage};
use crate::blosc::v2::{self, CParams, Filter, SplitMode};
use crate::blosc::Compressor;
use crate::buffer::{try_reserve_total, Buffer};
use crate::error::{Error, ErrorKind, Result};
use crate::io::io_error;
use crate::threads;

/// Dead bytes above this (and above the live chunk bytes) make a commit compact the file.
const AUTO_COMPACT_MIN: u64 = 1 << 20;

/// Where the chunk bytes live.
#[derive(Debug)]
pub(crate) enum Store {
    Memory(Mem),
    Contiguous(Contig),
    Sparse(SparseDir),
}

/// A super-chunk: Blosc2 chunks with one nominal size, metalayers and vlmeta, in memory, in a
/// contiguous frame file or in a sparse frame directory (see the [module docs](super)).
///
/// `SChunk` is `Send + Sync`; its `&self` reads run from many threads at once. Each write
/// commits unless it runs between [`SChunk::begin_updates`] and [`SChunk::end_updates`].
///
/// ```
/// use ndpack::blosc::frame::{CParams, DParams, SChunk, Storage};
/// let cparams = CParams { typesize: 4, ..CParams::default() };
/// let mut s = SChunk::new(4000, cparams, DParams::default(), Storage::default()).unwrap();
/// let data: Vec<u8> = (0..1000u32).flat_map(|i| i.to_le_bytes()).collect();
/// s.append_buffer(&data).unwrap();
/// s.append_buffer(&data).unwrap();
/// let mut out = vec![0u8; 8];
/// s.get_slice(999, 1001, &mut out).unwrap();
/// assert_eq!(out, [231, 3, 0, 0, 0, 0, 0, 0]);
/// let copy = SChunk::from_cframe(s.to_cframe().unwrap().into(), false).unwrap();
/// assert_eq!(copy.decompress_chunk(1).unwrap(), data);
/// ```
#[derive(Debug)]
pub struct SChunk {
    pub(crate) cparams: CParams,
    dparams: DParams,
    pub(crate) chunksize: usize,
    pub(crate) variable: bool,
    pub(crate) vl_blocks: bool,
    pub(crate) nbytes: u64,
    pub(crate) cbytes: u64,
    pub(crate) entries: Vec<Entry>,
    pub(crate) meta: Vec<(String, Vec<u8>)>,
    pub(crate) vlmeta: Vec<(String, Vec<u8>)>,
    pub(crate) store: Store,
    mode: Mode,
    batch: usize,
    dirty: bool,
    /// A metalayer changed in place: the commit rewrites the whole header.
    pub(crate) meta_dirty: bool,
    compcode_meta: u8,
    use_dict: bool,
}

fn check_cparams(c: &CParams) -> Result<()> {
    if c.typesize == 0 || c.typesize > i32::MAX as usize {
        return Err(Error::invalid_argument(format!(
            "typesize must be between 1 and 2**31-1, got {}",
            c.typesize
        )));
    }
    if c.clevel > 9 {
        return Err(Error::invalid_argument(format!(
            "clevel must be between 0 and 9, got {}",
            c.clevel
        )));
    }
    Ok(())
}

fn check_meta(meta: &[(String, Vec<u8>)]) -> Result<()> {
    if meta.len() > MAX_METALAYERS {
        return Err(Error::invalid_argument(format!(
            "{} metalayers, at most {MAX_METALAYERS}",
            meta.len()
        )));
    }
    for (i, (name, content)) in meta.iter().enumerate() {
        check_name(name)?;
        if meta[..i].iter().any(|(n, _)| n == name) {
            return Err(Error::invalid_argument(format!(
                "metalayer {name:?} given twice"
            )));
        }
        if content.len() > i32::MAX as usize / 2 {
            return Err(Error::too_large(format!(
                "metalayer {name:?} of {} bytes",
                content.len()
            )));
        }
    }
    Ok(())
}

impl SChunk {
    fn empty(
        chunksize: usize,
        cparams: CParams,
        dparams: DParams,
        meta: Vec<(String, Vec<u8>)>,
    ) -> Self {
        SChunk {
            cparams,
            dparams,
            chunksize,
            variable: false,
            vl_blocks: false,
            nbytes: 0,
            cbytes: 0,
            entries: Vec::new(),
            meta,
            vlmeta: Vec::new(),
            store: Store::Memory(Mem::default()),
            mode: Mode::Append,
            batch: 0,
            dirty: false,
            meta_dirty: false,
            compcode_meta: 0,
            use_dict: false,
        }
    }

    /// A new, empty super-chunk. `chunksize` 0 takes the size of the first chunk written.
    /// With `storage.urlpath`, the frame is created on disk ([`Mode::Write`] replaces an
    /// existing one; [`Mode::Append`] opens an existing one instead).
    pub fn new(
        chunksize: usize,
        cparams: CParams,
        dparams: DParams,
        storage: Storage,
    ) -> Result<Self> {
        check_cparams(&cparams)?;
        check_meta(&storage.meta)?;
        if chunksize > v2::MAX_BUFFERSIZE {
            return Err(Error::invalid_argument(format!(
                "chunksize {chunksize} is above the Blosc2 limit {}",
                v2::MAX_BUFFERSIZE
            )));
        }
        let mut s = Self::empty(chunksize, cparams, dparams, storage.meta);
        let Some(path) = storage.urlpath else {
            return Ok(s);
        };
        match storage.mode {
            Mode::Read => {
                return Err(Error::invalid_argument(
                    "a new super-chunk cannot be created in mode 'r'",
                ))
            }
            Mode::Append if path.exists() => {
                return Self::open_with_options(
                    &path,
                    &OpenOptions {
                        mode: Mode::Append,
                        sync: storage.sync,
                        ..OpenOptions::default()
                    },
                );
            }
            _ => {}
        }
        s.mode = storage.mode;
        if storage.contiguous {
            s.store = Store::Contiguous(Contig::placeholder(path, storage.sync));
            s.rewrite()?;
        } else {
            s.store = Store::Sparse(SparseDir::create(&path, storage.sync)?);
            s.commit()?;
        }
        Ok(s)
    }

    /// Opens the frame file or sparse directory at `path`.
    pub fn open(path: impl AsRef<Path>, mode: Mode) -> Result<Self> {
        Self::open_with_options(
            path,
            &OpenOptions {
                mode,
                ..OpenOptions::default()
            },
        )
    }

    /// Opens the frame that starts at byte `offset` of `path`; `sync`: fsync at each commit.
    pub fn open_with(path: impl AsRef<Path>, mode: Mode, offset: u64, sync: bool) -> Result<Self> {
        Self::open_with_options(
            path,
            &OpenOptions {
                mode,
                offset,
                sync,
                mmap: false,
            },
        )
    }

    /// Opens a frame with all the [`OpenOptions`].
    pub fn open_with_options(path: impl AsRef<Path>, opts: &OpenOptions) -> Result<Self> {
        let path = path.as_ref();
        let md = std::fs::metadata(path).map_err(|e| io_error(path, "cannot open", e))?;
        let (parsed, store) = if md.is_dir() {
            if opts.offset != 0 {
                return Err(Error::invalid_argument(
                    "a sparse frame directory has no offset",
                ));
            }
            let (p, s) = SparseDir::open(path, opts)?;
            (p, Store::Sparse(s))
        } else {
            let (p, c) = Contig::open(path, opts)?;
            (p, Store::Contiguous(c))
        };
        let mut s = Self::from_parsed(parsed, store)?;
        s.mode = opts.mode;
        s.finish_open()?;
        Ok(s)
    }

    /// A super-chunk over the frame in `cframe` (python-blosc2's `schunk_from_cframe`). With
    /// `copy` false the chunks are views into `cframe` (no chunk byte is copied); with `copy`
    /// true the frame is copied once first. The result lives in memory.
    pub fn from_cframe(cframe: Buffer, copy: bool) -> Result<Self> {
        let cframe = if copy {
            Buffer::copy_from_slice(&cframe)
        } else {
            cframe
        };
        let parsed = parse_frame(&cframe, 0, false)?;
        if parsed.header.frame_len != cframe.len() as u64 {
            return Err(Error::corrupt(format!(
                "frame_len {} differs from the {} bytes given",
                parsed.header.frame_len,
                cframe.len()
            )));
        }
        let hl = parsed.header.header_len as u64;
        let section = parsed.header.cbytes;
        let mut mem = Mem::default();
        let mut offs = Vec::new();
        try_reserve_total(&mut offs, parsed.offsets.len(), "frame offsets")?;
        let mut sizes = Vec::with_capacity(0);
        try_reserve_total(&mut sizes, parsed.offsets.len(), "frame offsets")?;
        for (i, &off) in parsed.offsets.iter().enumerate() {
            if off < 0 {
                offs.push(off);
                sizes.push(0);
                continue;
            }
            let at = (hl + off as u64) as usize;
            let cb = i32::from_le_bytes(cframe[at + 12..at + 16].try_into().expect("4 bytes"));
            if cb < v2::MAX_OVERHEAD as i32 || off as u64 + cb as u64 > section {
                return Err(Error::corrupt(format!(
                    "chunk {i} declares {cb} bytes, past the chunk section ({section} bytes)"
                )));
            }
            offs.push(mem.put(cframe.slice(at..at + cb as usize)));
            sizes.push(cb as u64);
        }
        let mut parsed = parsed;
        parsed.offsets = offs;
        let mut s = Self::from_parsed(parsed, Store::Memory(mem))?;
        for (e, cb) in s.entries.iter_mut().zip(sizes) {
            if !e.is_special() {
                e.cbytes = cb;
                e.exact = true;
            }
        }
        s.finish_open()?;
        Ok(s)
    }

    /// The state of a parsed index over `store`; chunk sizes of a fixed-chunksize frame are
    /// derived, those of a variable one are read by [`SChunk::finish_open`].
    pub(crate) fn from_parsed(p: Parsed, store: Store) -> Result<Self> {
        let h = p.header;
        let variable = h.variable || (h.chunksize == 0 && h.nbytes > 0);
        let cparams = CParams {
            codec: Compressor::from_code(h.compcode).unwrap_or(Compressor::Zstd),
            clevel: h.clevel.min(9),
            typesize: h.typesize,
            blocksize: h.blocksize,
            splitmode: SplitMode::from_value(i64::from(h.other_flags & 3) + 1).unwrap_or_default(),
            filters: h
                .filters
                .map(|f| Filter::from_code(i64::from(f)).unwrap_or_default()),
            filters_meta: h.filters_meta,
        };
        let mut s = Self::empty(
            if variable { 0 } else { h.chunksize },
            cparams,
            DParams {
                nthreads: usize::try_from(h.nthreads_d).unwrap_or(0),
            },
            h.meta,
        );
        s.variable = variable;
        s.vl_blocks = h.vl_blocks;
        s.nbytes = h.nbytes;
        s.cbytes = h.cbytes;
        s.vlmeta = p.vlmeta;
        s.compcode_meta = h.compcode_meta;
        s.use_dict = h.use_dict;
        s.store = store;
        let n = p.offsets.len();
        let mut entries = Vec::new();
        try_reserve_total(&mut entries, n, "frame index")?;
        for (i, &off) in p.offsets.iter().enumerate() {
            let nbytes = if variable {
                0
            } else if i + 1 < n {
                h.chunksize
            } else {
                (h.nbytes - (n as u64 - 1) * h.chunksize as u64) as usize
            };
            entries.push(Entry {
                off,
                cbytes: 0,
                nbytes: nbytes as u32,
                exact: off < 0,
            });
        }
        s.entries = entries;
        Ok(s)
    }

    /// Fills in what the storage knows of chunk sizes, and reads the sizes of a frame of
    /// variable chunks from the chunks' headers.
    fn finish_open(&mut self) -> Result<()> {
        match &self.store {
            Store::Contiguous(c) => c.fill_spans(&mut self.entries)?,
            Store::Sparse(d) => {
                d.fill_sizes(&mut self.entries);
                self.cbytes = self.entries.iter().map(|e| e.cbytes).sum();
            }
            Store::Memory(_) => {
                self.cbytes = self.entries.iter().map(|e| e.cbytes).sum();
            }
        }
        if self.variable {
            let mut total = 0u64;
            for i in 0..self.entries.len() {
                let e = self.entries[i];
                let chunk = self.read_stored(&e, true)?;
                let info = v2::chunk_info(&chunk)?;
                let en = &mut self.entries[i];
                en.nbytes = info.nbytes as u32;
                en.cbytes = info.cbytes as u64;
                en.exact = true;
                total += info.nbytes as u64;
            }
            if total != self.nbytes {
                return Err(Error::corrupt(format!(
                    "the chunks hold {total} bytes, the header says {}",
                    self.nbytes
                )));
            }
        }
        Ok(())
    }

    // ---- properties ----

    /// The number of chunks.
    pub fn nchunks(&self) -> usize {
        self.entries.len()
    }

    /// The nominal chunk size in bytes (0 for a frame of variable chunks, or before the first
    /// chunk when created with 0).
    pub fn chunksize(&self) -> usize {
        if self.variable {
            0
        } else {
            self.chunksize
        }
    }

    /// The item size in bytes.
    pub fn typesize(&self) -> usize {
        self.cparams.typesize
    }

    /// The block size of the compression parameters (0: automatic).
    pub fn blocksize(&self) -> usize {
        self.cparams.blocksize
    }

    /// The sum of the chunks' decoded sizes.
    pub fn nbytes(&self) -> u64 {
        self.nbytes
    }

    /// The compressed bytes of the chunks, as python-blosc2 reports them for a frame: stored
    /// chunks count their size, special chunks 0. For a file opened with holes left by updates,
    /// a hole counts with the chunk before it until that chunk is rewritten or compacted.
    pub fn cbytes(&self) -> u64 {
        self.cbytes
    }

    /// `nbytes / cbytes` (0 when empty).
    pub fn cratio(&self) -> f64 {
        if self.cbytes == 0 {
            0.0
        } else {
            self.nbytes as f64 / self.cbytes as f64
        }
    }

    /// The compression parameters of new chunks.
    pub fn cparams(&self) -> &CParams {
        &self.cparams
    }

    /// Sets the compression parameters of new chunks (the typesize may change only while the
    /// super-chunk is empty).
    pub fn set_cparams(&mut self, cparams: CParams) -> Result<()> {
        check_cparams(&cparams)?;
        if cparams.typesize != self.cparams.typesize && !self.entries.is_empty() {
            return Err(Error::invalid_argument(
                "the typesize cannot change once the super-chunk holds chunks",
            ));
        }
        self.check_writable()?;
        self.cparams = cparams;
        self.commit()
    }

    /// The decompression parameters.
    pub fn dparams(&self) -> &DParams {
        &self.dparams
    }

    /// Sets the decompression parameters.
    pub fn set_dparams(&mut self, dparams: DParams) {
        self.dparams = dparams;
    }

    /// The file or directory, `None` in memory.
    pub fn urlpath(&self) -> Option<&Path> {
        match &self.store {
            Store::Memory(_) => None,
            Store::Contiguous(c) => Some(c.path()),
            Store::Sparse(d) => Some(d.path()),
        }
    }

    /// Whether the frame is contiguous (in memory: always).
    pub fn contiguous(&self) -> bool {
        !matches!(self.store, Store::Sparse(_))
    }

    /// The mode it was opened or created with.
    pub fn mode(&self) -> Mode {
        self.mode
    }

    // ---- reading ----

    fn entry(&self, nchunk: usize) -> Result<Entry> {
        self.entries.get(nchunk).copied().ok_or_else(|| {
            Error::invalid_argument(format!(
                "chunk {nchunk} out of range ({} chunks)",
                self.entries.len()
            ))
        })
    }

    /// The stored bytes of a non-special entry; `header_only_ok` skips the check of the decoded
    /// size (used while the sizes are being learnt).
    fn read_stored(&self, e: &Entry, learning: bool) -> Result<Buffer> {
        let chunk = match &self.store {
            Store::Memory(m) => m.get(e.off)?,
            Store::Contiguous(c) => c.read(e)?,
            Store::Sparse(d) => d.read(e)?,
        };
        if !learning {
            let nb = i32::from_le_bytes(chunk[4..8].try_into().expect("4 bytes"));
            if nb as i64 != i64::from(e.nbytes) {
                return Err(Error::corrupt(format!(
                    "a chunk decodes to {nb} bytes where the frame expects {}",
                    e.nbytes
                )));
            }
        }
        Ok(chunk)
    }

    /// The header-only chunk of a special entry.
    fn special_chunk(&self, e: &Entry) -> Result<Vec<u8>> {
        let nbytes = e.nbytes as usize;
        let bs = if self.cparams.blocksize == 0 {
            nbytes
        } else {
            self.cparams.blocksize
        };
        let ts = self.cparams.typesize;
        match offsets::special_kind(e.off)? {
            SPECIAL_ZERO => v2::zeros_chunk(nbytes, ts, bs),
            SPECIAL_NAN => v2::nans_chunk(nbytes, ts, bs)
                .map_err(|e| Error::corrupt(format!("a NaN chunk: {}", e.message()))),
            _ => v2::uninit_chunk(nbytes, ts, bs),
        }
    }

    fn chunk_of(&self, e: &Entry) -> Result<Buffer> {
        if e.is_special() {
            self.special_chunk(e).map(Buffer::from_vec)
        } else {
            self.read_stored(e, false)
        }
    }

    /// The compressed bytes of chunk `nchunk`; a special chunk comes back as its header-only
    /// chunk (c-blosc2's `blosc2_schunk_get_chunk`).
    pub fn get_chunk(&self, nchunk: usize) -> Result<Buffer> {
        let e = self.entry(nchunk)?;
        self.chunk_of(&e)
    }

    /// The special value of chunk `nchunk`, `None` for an ordinary chunk.
    pub fn chunk_special(&self, nchunk: usize) -> Result<Option<Special>> {
        let e = self.entry(nchunk)?;
        let kind = if e.is_special() {
            offsets::special_kind(e.off)?
        } else {
            let chunk = self.read_stored(&e, false)?;
            let info = v2::chunk_info(&chunk)?;
            if info.special == 3 {
                return Ok(Some(Special::Value(
                    chunk[v2::MAX_OVERHEAD..info.cbytes].to_vec(),
                )));
            }
            info.special
        };
        Ok(match kind {
            SPECIAL_ZERO => Some(Special::Zeros),
            SPECIAL_NAN => Some(Special::Nan),
            SPECIAL_UNINIT => Some(Special::Uninit),
            _ => None,
        })
    }

    /// The decoded size of chunk `nchunk`.
    pub fn chunk_nbytes(&self, nchunk: usize) -> Result<usize> {
        Ok(self.entry(nchunk)?.nbytes as usize)
    }

    /// Decompresses chunk `nchunk`.
    pub fn decompress_chunk(&self, nchunk: usize) -> Result<Vec<u8>> {
        let e = self.entry(nchunk)?;
        let mut out = Vec::new();
        try_reserve_total(&mut out, e.nbytes as usize, "a decompressed chunk")?;
        out.resize(e.nbytes as usize, 0);
        self.decompress_chunk_into(nchunk, &mut out)?;
        Ok(out)
    }

    /// Decompresses chunk `nchunk` into `out` (at least its decoded size); returns the bytes
    /// written.
    pub fn decompress_chunk_into(&self, nchunk: usize, out: &mut [u8]) -> Result<usize> {
        let e = self.entry(nchunk)?;
        let n = e.nbytes as usize;
        if out.len() < n {
            return Err(Error::invalid_argument(format!(
                "chunk {nchunk} decodes to {n} bytes, the output holds {}",
                out.len()
            )));
        }
        let chunk = self.chunk_of(&e)?;
        v2::decompress_into(&chunk, &mut out[..n])
    }

    /// Decodes `dst.len()` bytes of entry `e` from byte `within`.
    fn read_piece(&self, e: &Entry, within: usize, dst: &mut [u8]) -> Result<()> {
        let chunk = self.chunk_of(e)?;
        if within == 0 && dst.len() == e.nbytes as usize {
            v2::decompress_into(&chunk, dst).map(|_| ())
        } else {
            v2::decode_range(&chunk, within, dst)
        }
    }

    /// The byte at which each chunk starts (one more entry: the total).
    fn chunk_starts(&self) -> Vec<u64> {
        let mut starts = Vec::with_capacity(self.entries.len() + 1);
        let mut at = 0u64;
        for e in &self.entries {
            starts.push(at);
            at += u64::from(e.nbytes);
        }
        starts.push(at);
        starts
    }

    /// Decodes items `[start, stop)` (of `typesize` bytes) across chunks into `out`, the chunks in
    /// parallel on ndpack's pool, only the blocks needed at both ends.
    pub fn get_slice(&self, start: usize, stop: usize, out: &mut [u8]) -> Result<()> {
        let ts = self.typesize() as u64;
        let nitems = self.nbytes / ts;
        if start > stop || stop as u64 > nitems {
            return Err(Error::invalid_argument(format!(
                "items {start}..{stop} out of range ({nitems} items)"
            )));
        }
        let (b0, b1) = (start as u64 * ts, stop as u64 * ts);
        if out.len() as u64 != b1 - b0 {
            return Err(Error::invalid_argument(format!(
                "items {start}..{stop} need {} bytes, the output holds {}",
                b1 - b0,
                out.len()
            )));
        }
        let starts = if self.variable {
            Some(self.chunk_starts())
        } else {
            None
        };
        let locate = |pos: u64| -> (usize, u64) {
            match &starts {
                None => {
                    let ci = (pos / self.chunksize as u64) as usize;
                    (ci, ci as u64 * self.chunksize as u64)
                }
                Some(s) => {
                    let ci = s.partition_point(|&x| x <= pos) - 1;
                    (ci, s[ci])
                }
            }
        };
        let mut pieces = Vec::new();
        let mut rest = out;
        let mut pos = b0;
        while pos < b1 {
            let (ci, cstart) = locate(pos);
            let e = self.entry(ci)?;
            let within = pos - cstart;
            let take = (b1 - pos).min(u64::from(e.nbytes) - within) as usize;
            let (head, tail) = rest.split_at_mut(take);
            pieces.push((e, within as usize, head));
            rest = tail;
            pos += take as u64;
        }
        if pieces.len() <= 1 {
            return pieces
                .into_iter()
                .try_for_each(|(e, within, dst)| self.read_piece(&e, within, dst));
        }
        threads::install(|| {
            pieces
                .into_par_iter()
                .try_for_each(|(e, within, dst)| self.read_piece(&e, within, dst))
        })
    }

    // ---- writing ----

    fn check_writable(&self) -> Result<()> {
        if self.mode == Mode::Read {
            return Err(Error::invalid_argument(
                "the super-chunk was opened read-only (mode 'r')",
            ));
        }
        if let Store::Contiguous(c) = &self.store {
            c.check_writable()?;
        }
        Ok(())
    }

    /// Checks the decoded size of a chunk written at `pos` by `op` against the chunk-size rules
    /// (every chunk but the last holds `chunksize` bytes, the last at most that); the first
    /// chunk of a super-chunk created with chunksize 0 sets it.
    fn check_size(&mut self, pos: usize, nbytes: usize, op: &str) -> Result<()> {
        if nbytes == 0 {
            return Err(Error::invalid_argument(
                "a chunk must hold at least one byte",
            ));
        }
        if self.variable {
            return Ok(());
        }
        let n = self.entries.len();
        if self.chunksize == 0 && n == 0 {
            self.chunksize = nbytes;
            return Ok(());
        }
        let cs = self.chunksize;
        let last = match op {
            "append" => true,
            "insert" => pos == n,
            _ => pos + 1 == n,
        };
        let prev_full = match op {
            "append" => n == 0 || self.entries[n - 1].nbytes as usize == cs,
            "insert" if pos == n => n == 0 || self.entries[n - 1].nbytes as usize == cs,
            _ => true,
        };
        let ok = prev_full && if last { nbytes <= cs } else { nbytes == cs };
        if ok {
            Ok(())
        } else {
            Err(Error::invalid_argument(format!(
                "cannot {op} a chunk of {nbytes} bytes at position {pos}: every chunk but the \
                 last must hold chunksize ({cs}) bytes and the last at most that"
            )))
        }
    }

    fn check_chunk<'a>(&self, chunk: &'a [u8]) -> Result<(&'a [u8], v2::ChunkInfo)> {
        let info = v2::chunk_info(chunk)?;
        if info.version < 3 && info.version != 2 {
            return Err(Error::invalid_argument("not a Blosc2 chunk"));
        }
        if info.nbytes > u32::MAX as usize / 2 {
            return Err(Error::too_large(format!(
                "a chunk of {} bytes",
                info.nbytes
            )));
        }
        Ok((&chunk[..info.cbytes], info))
    }

    /// Stores chunk bytes (or records a special chunk); `reuse` is the entry replaced, whose
    /// file id a sparse frame keeps.
    fn store_chunk(
        &mut self,
        chunk: Cow<'_, [u8]>,
        info: &v2::ChunkInfo,
        reuse: Option<&Entry>,
    ) -> Result<Entry> {
        if matches!(info.special, SPECIAL_ZERO | SPECIAL_NAN | SPECIAL_UNINIT) {
            return Ok(Entry::special(info.special, info.nbytes));
        }
        let cbytes = chunk.len() as u64;
        let off = match &mut self.store {
            Store::Memory(m) => m.put(Buffer::from_vec(chunk.into_owned())),
            Store::Contiguous(c) => c.put(&chunk)?,
            Store::Sparse(d) => d.put(&chunk, reuse.filter(|e| !e.is_special()).map(|e| e.off))?,
        };
        Ok(Entry {
            off,
            cbytes,
            nbytes: info.nbytes as u32,
            exact: true,
        })
    }

    /// Frees the bytes of a replaced or deleted entry (`kept_id`: a sparse update renamed the
    /// new chunk over it).
    fn release(&mut self, e: &Entry, kept_id: bool) {
        self.cbytes = self.cbytes.saturating_sub(e.cbytes);
        if e.is_special() {
            return;
        }
        match &mut self.store {
            Store::Memory(m) => m.release(e.off),
            Store::Contiguous(c) => c.release(e),
            Store::Sparse(d) => {
                if !kept_id {
                    d.release(e.off)
                }
            }
        }
    }

    fn check_room(&self, more: usize) -> Result<()> {
        if self.entries.len() + more > MAX_CHUNKS {
            return Err(Error::too_large(format!(
                "a super-chunk of more than {MAX_CHUNKS} chunks"
            )));
        }
        Ok(())
    }

    fn push_entry(&mut self, pos: usize, e: Entry) {
        self.nbytes += u64::from(e.nbytes);
        self.cbytes += e.cbytes;
        self.entries.insert(pos, e);
    }

    /// Compresses `data` with the compression parameters and appends it as a chunk; returns the
    /// number of chunks.
    pub fn append_buffer(&mut self, data: &[u8]) -> Result<usize> {
        self.check_writable()?;
        self.check_room(1)?;
        let n = self.entries.len();
        self.check_size(n, data.len(), "append")?;
        let chunk = v2::compress(data, &self.cparams)?;
        let info = v2::chunk_info(&chunk)?;
        let e = self.store_chunk(Cow::Owned(chunk), &info, None)?;
        self.push_entry(n, e);
        self.commit()?;
        Ok(self.entries.len())
    }

    /// Appends a compressed Blosc2 chunk (checked); returns the number of chunks.
    pub fn append_chunk(&mut self, chunk: &[u8]) -> Result<usize> {
        let n = self.entries.len();
        self.insert_chunk_as(n, chunk, "append")
    }

    /// Inserts a compressed chunk before position `nchunk`; returns the number of chunks.
    pub fn insert_chunk(&mut self, nchunk: usize, chunk: &[u8]) -> Result<usize> {
        self.insert_chunk_as(nchunk, chunk, "insert")
    }

    fn insert_chunk_as(&mut self, pos: usize, chunk: &[u8], op: &str) -> Result<usize> {
        self.check_writable()?;
        self.check_room(1)?;
        if pos > self.entries.len() {
            return Err(Error::invalid_argument(format!(
                "cannot insert at {pos}: {} chunks",
                self.entries.len()
            )));
        }
        let (chunk, info) = self.check_chunk(chunk)?;
        self.check_size(pos, info.nbytes, op)?;
        let e = self.store_chunk(Cow::Borrowed(chunk), &info, None)?;
        self.push_entry(pos, e);
        self.commit()?;
        Ok(self.entries.len())
    }

    /// Replaces chunk `nchunk` with a compressed chunk; returns the number of chunks.
    pub fn update_chunk(&mut self, nchunk: usize, chunk: &[u8]) -> Result<usize> {
        self.check_writable()?;
        let old = self.entry(nchunk)?;
        let (chunk, info) = self.check_chunk(chunk)?;
        self.check_size(nchunk, info.nbytes, "update")?;
        self.replace(nchunk, old, Cow::Borrowed(chunk), &info)?;
        self.commit()?;
        Ok(self.entries.len())
    }

    fn replace(
        &mut self,
        pos: usize,
        old: Entry,
        chunk: Cow<'_, [u8]>,
        info: &v2::ChunkInfo,
    ) -> Result<()> {
        let e = self.store_chunk(chunk, info, Some(&old))?;
        let kept = matches!(self.store, Store::Sparse(_)) && !old.is_special() && e.off == old.off;
        self.release(&old, kept);
        self.nbytes = self.nbytes - u64::from(old.nbytes) + u64::from(e.nbytes);
        self.cbytes += e.cbytes;
        self.entries[pos] = e;
        Ok(())
    }

    /// Deletes chunk `nchunk`; returns the number of chunks.
    pub fn delete_chunk(&mut self, nchunk: usize) -> Result<usize> {
        self.check_writable()?;
        let old = self.entry(nchunk)?;
        self.entries.remove(nchunk);
        self.nbytes -= u64::from(old.nbytes);
        self.release(&old, false);
        self.commit()?;
        Ok(self.entries.len())
    }

    /// Appends `nitems` items of a special value as special chunks of `chunksize` bytes (the
    /// last one shorter); zeros, NaNs and uninitialized chunks have no payload. Returns the
    /// number of chunks.
    pub fn fill_special(&mut self, nitems: usize, special: Special) -> Result<usize> {
        self.check_writable()?;
        let ts = self.typesize();
        let total = nitems
            .checked_mul(ts)
            .ok_or_else(|| Error::too_large(format!("{nitems} items of {ts} bytes")))?;
        if self.variable {
            return Err(Error::new(
                ErrorKind::Unsupported,
                "special chunks in a frame of variable chunk sizes",
            ));
        }
        let cs = self.chunksize;
        if cs == 0 {
            return Err(Error::invalid_argument(
                "fill_special needs a chunksize (create the super-chunk with one)",
            ));
        }
        if let Some(last) = self.entries.last() {
            if last.nbytes as usize != cs {
                return Err(Error::invalid_argument(
                    "fill_special needs the last chunk to be full",
                ));
            }
        }
        match &special {
            Special::Nan if ts != 4 && ts != 8 => {
                return Err(Error::invalid_argument(format!(
                    "NaN chunks need typesize 4 or 8, not {ts}"
                )))
            }
            Special::Value(v) if v.len() != ts => {
                return Err(Error::invalid_argument(format!(
                    "a repeated value must have typesize ({ts}) bytes, not {}",
                    v.len()
                )))
            }
            _ => {}
        }
        self.check_room(total.div_ceil(cs))?;
        self.begin_updates();
        let r = self.fill_special_chunks(total, cs, &special);
        let end = self.end_updates();
        r.and(end)?;
        Ok(self.entries.len())
    }

    fn fill_special_chunks(&mut self, total: usize, cs: usize, special: &Special) -> Result<()> {
        let mut left = total;
        let mut value_chunk: Option<(usize, Vec<u8>)> = None;
        while left > 0 {
            let nb = left.min(cs);
            let n = self.entries.len();
            let e = match special {
                Special::Zeros => Entry::special(SPECIAL_ZERO, nb),
                Special::Nan => Entry::special(SPECIAL_NAN, nb),
                Special::Uninit => Entry::special(SPECIAL_UNINIT, nb),
                Special::Value(v) => {
                    if value_chunk.as_ref().map(|(len, _)| *len) != Some(nb) {
                        let bs = if self.cparams.blocksize == 0 {
                            nb
                        } else {
                            self.cparams.blocksize
                        };
                        value_chunk = Some((nb, v2::repeat_chunk(nb, v, bs)?));
                    }
                    let chunk = value_chunk.as_ref().expect("set above").1.clone();
                    let info = v2::chunk_info(&chunk)?;
                    self.store_chunk(Cow::Owned(chunk), &info, None)?
                }
            };
            self.push_entry(n, e);
            left -= nb;
        }
        Ok(())
    }

    /// Writes items from item `start` (growing the super-chunk by appending when the data runs
    /// past its end): chunks partly covered are decompressed, patched and recompressed.
    pub fn set_slice(&mut self, start: usize, data: &[u8]) -> Result<()> {
        self.check_writable()?;
        let ts = self.typesize();
        if !data.len().is_multiple_of(ts) {
            return Err(Error::invalid_argument(format!(
                "{} bytes are not a whole number of {ts}-byte items",
                data.len()
            )));
        }
        let nitems = (self.nbytes / ts as u64) as usize;
        if start > nitems {
            return Err(Error::invalid_argument(format!(
                "item {start} is past the end ({nitems} items)"
            )));
        }
        if self.variable {
            return Err(Error::new(
                ErrorKind::Unsupported,
                "set_slice on a frame of variable chunk sizes",
            ));
        }
        if self.chunksize == 0 {
            return Err(Error::invalid_argument(
                "set_slice needs a chunksize (create the super-chunk with one)",
            ));
        }
        self.begin_updates();
        let r = self.set_slice_chunks(start * ts, data);
        let end = self.end_updates();
        r.and(end)
    }

    fn set_slice_chunks(&mut self, at: usize, data: &[u8]) -> Result<()> {
        let cs = self.chunksize;
        let end = at + data.len();
        let mut pos = at;
        while pos < end {
            let ci = pos / cs;
            let within = pos % cs;
            let take = (end - pos).min(cs - within);
            let src = &data[pos - at..pos - at + take];
            if ci == self.entries.len() {
                self.append_buffer(src)?;
            } else {
                let old = self.entries[ci];
                let cn = old.nbytes as usize;
                let new_len = cn.max(within + take);
                let buf = if within == 0 && take >= cn {
                    src.to_vec()
                } else {
                    let mut buf = self.decompress_chunk(ci)?;
                    buf.resize(new_len, 0);
                    buf[within..within + take].copy_from_slice(src);
                    buf
                };
                self.check_size(ci, new_len, "update")?;
                let chunk = v2::compress(&buf, &self.cparams)?;
                let info = v2::chunk_info(&chunk)?;
                self.replace(ci, old, Cow::Owned(chunk), &info)?;
                self.commit()?;
            }
            pos += take;
        }
        Ok(())
    }

    /// Starts a batch: writes until the matching [`SChunk::end_updates`] commit once, at its
    /// end. Batches nest.
    pub fn begin_updates(&mut self) {
        self.batch += 1;
    }

    /// Ends a batch, committing the writes made in it (when this is the outermost one).
    pub fn end_updates(&mut self) -> Result<()> {
        self.batch = self.batch.saturating_sub(1);
        if self.batch == 0 && self.dirty {
            self.commit()
        } else {
            Ok(())
        }
    }

    // ---- metalayers ----

    /// The names of the fixed metalayers, in order.
    pub fn meta_names(&self) -> Vec<String> {
        self.meta.iter().map(|(n, _)| n.clone()).collect()
    }

    /// The content of metalayer `name`.
    pub fn meta_get(&self, name: &str) -> Option<&[u8]> {
        self.meta
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, c)| c.as_slice())
    }

    /// Adds a metalayer (only while the super-chunk has no chunks).
    pub fn meta_add(&mut self, name: &str, content: &[u8]) -> Result<()> {
        self.check_writable()?;
        if !self.entries.is_empty() {
            return Err(Error::invalid_argument(
                "metalayers can only be added before any chunk",
            ));
        }
        if self.meta_get(name).is_some() {
            return Err(Error::invalid_argument(format!(
                "metalayer {name:?} already exists"
            )));
        }
        let mut meta = self.meta.clone();
        meta.push((name.to_string(), content.to_vec()));
        check_meta(&meta)?;
        self.meta = meta;
        match self.store {
            Store::Contiguous(_) => self.rewrite(),
            _ => self.commit(),
        }
    }

    /// Replaces the content of metalayer `name` with content of the same length.
    pub fn meta_update(&mut self, name: &str, content: &[u8]) -> Result<()> {
        self.check_writable()?;
        let slot = self
            .meta
            .iter_mut()
            .find(|(n, _)| n == name)
            .ok_or_else(|| Error::invalid_argument(format!("no metalayer {name:?}")))?;
        if slot.1.len() != content.len() {
            return Err(Error::invalid_argument(format!(
                "metalayer {name:?} holds {} bytes; an update must keep the length, got {}",
                slot.1.len(),
                content.len()
            )));
        }
        slot.1.copy_from_slice(content);
        self.meta_dirty = true;
        self.commit()
    }

    // ---- vlmeta ----

    /// The names of the variable-length metalayers, in order.
    pub fn vlmeta_names(&self) -> Vec<String> {
        self.vlmeta.iter().map(|(n, _)| n.clone()).collect()
    }

    /// The decompressed content of vlmetalayer `name` (msgpack, as python-blosc2 writes it).
    pub fn vlmeta_get(&self, name: &str) -> Result<Option<Vec<u8>>> {
        match self.vlmeta.iter().find(|(n, _)| n == name) {
            None => Ok(None),
            Some((_, chunk)) => v2::decompress(chunk)
                .map(Some)
                .map_err(|e| Error::new(e.kind(), format!("vlmeta {name:?}: {}", e.message()))),
        }
    }

    /// Adds or replaces vlmetalayer `name`, compressed with the codec and clevel of the
    /// compression parameters (typesize 1, as python-blosc2 stores it).
    pub fn vlmeta_set(&mut self, name: &str, content: &[u8]) -> Result<()> {
        self.check_writable()?;
        check_name(name)?;
        let params = CParams {
            codec: self.cparams.codec,
            clevel: self.cparams.clevel,
            typesize: 1,
            ..CParams::default()
        };
        let chunk = v2::compress(content, &params)?;
        match self.vlmeta.iter_mut().find(|(n, _)| n == name) {
            Some(slot) => slot.1 = chunk,
            None => {
                if self.vlmeta.len() >= MAX_VLMETALAYERS {
                    return Err(Error::invalid_argument(format!(
                        "at most {MAX_VLMETALAYERS} vlmetalayers"
                    )));
                }
                self.vlmeta.push((name.to_string(), chunk));
            }
        }
        trailer::build(&self.vlmeta)?;
        self.commit()
    }

    /// Deletes vlmetalayer `name`; `false` when there is none.
    pub fn vlmeta_delete(&mut self, name: &str) -> Result<bool> {
        self.check_writable()?;
        let Some(i) = self.vlmeta.iter().position(|(n, _)| n == name) else {
            return Ok(false);
        };
        self.vlmeta.remove(i);
        self.commit()?;
        Ok(true)
    }

    // ---- frames ----

    /// The header of the current state (`cbytes`, `frame_len` and `header_len` to be set).
    pub(crate) fn frame_header(&self, sparse: bool) -> FrameHeader {
        let nthreads = threads::get_num_threads().min(i16::MAX as usize) as i16;
        let dthreads = if self.dparams.nthreads == 0 {
            nthreads
        } else {
            self.dparams.nthreads.min(i16::MAX as usize) as i16
        };
        FrameHeader {
            header_len: 0,
            frame_len: 0,
            version: if self.variable { 3 } else { 2 },
            variable: self.variable,
            vl_blocks: self.vl_blocks,
            sparse,
            compcode: self.cparams.codec.code(),
            clevel: self.cparams.clevel,
            other_flags: (self.cparams.splitmode.value() - 1) as u8,
            nbytes: self.nbytes,
            cbytes: 0,
            typesize: self.cparams.typesize,
            blocksize: self.cparams.blocksize,
            chunksize: if self.variable { 0 } else { self.chunksize },
            nthreads_c: nthreads,
            nthreads_d: dthreads,
            has_vlmeta: !self.vlmeta.is_empty(),
            filters: self.cparams.filters.map(Filter::code),
            filters_meta: self.cparams.filters_meta,
            compcode_meta: self.compcode_meta,
            use_dict: self.use_dict,
            meta: self.meta.clone(),
        }
    }

    /// Writes the whole frame, chunks in order and without holes, through `sink(position,
    /// bytes)`; returns the entries as they lie in it and the frame length.
    pub(crate) fn write_frame(
        &self,
        sink: &mut dyn FnMut(u64, &[u8]) -> Result<()>,
    ) -> Result<(Vec<Entry>, u64, FrameHeader)> {
        let mut h = self.frame_header(false);
        let hl = h.built_len() as u64;
        let mut pos = hl;
        let mut entries = Vec::new();
        try_reserve_total(&mut entries, self.entries.len(), "frame index")?;
        for e in &self.entries {
            if e.is_special() {
                entries.push(*e);
                continue;
            }
            let chunk = self.read_stored(e, false)?;
            let cb = i32::from_le_bytes(chunk[12..16].try_into().expect("4 bytes")) as usize;
            let chunk = &chunk[..cb.min(chunk.len())];
            sink(pos, chunk)?;
            entries.push(Entry {
                off: (pos - hl) as i64,
                cbytes: chunk.len() as u64,
                nbytes: e.nbytes,
                exact: true,
            });
            pos += chunk.len() as u64;
        }
        h.cbytes = pos - hl;
        if !entries.is_empty() {
            let offs: Vec<i64> = entries.iter().map(|e| e.off).collect();
            let ochunk = offsets::encode(&offs)?;
            sink(pos, &ochunk)?;
            pos += ochunk.len() as u64;
        }
        let t = trailer::build(&self.vlmeta)?;
        sink(pos, &t)?;
        pos += t.len() as u64;
        h.frame_len = pos;
        let hb = h.build()?;
        sink(0, &hb)?;
        Ok((entries, pos, h))
    }

    /// The whole frame as bytes (chunks in order, no holes), readable by c-blosc2.
    pub fn to_cframe(&self) -> Result<Vec<u8>> {
        let mut out: Vec<u8> = Vec::new();
        self.write_frame(&mut |pos, bytes| {
            let end = pos as usize + bytes.len();
            if out.len() < end {
                try_reserve_total(&mut out, end, "a frame")?;
                out.resize(end, 0);
            }
            out[pos as usize..end].copy_from_slice(bytes);
            Ok(())
        })?;
        Ok(out)
    }

    /// Commits the writes made since the last commit (inside a batch: marks them for the end of
    /// the batch).
    pub(crate) fn commit(&mut self) -> Result<()> {
        if self.batch > 0 {
            self.dirty = true;
            return Ok(());
        }
        self.dirty = false;
        match &self.store {
            Store::Memory(_) => Ok(()),
            Store::Sparse(_) => self.commit_sparse(),
            Store::Contiguous(c) => {
                if self.entries.is_empty() || self.frame_header(false).built_len() != c.header_len()
                {
                    return self.rewrite();
                }
                self.commit_contiguous()?;
                let live = self.cbytes;
                let dead = match &self.store {
                    Store::Contiguous(c) => c.dead(),
                    _ => 0,
                };
                if dead > AUTO_COMPACT_MIN && dead > live {
                    self.rewrite()?;
                }
                Ok(())
            }
        }
    }

    fn commit_contiguous(&mut self) -> Result<()> {
        let offs: Vec<i64> = self.entries.iter().map(|e| e.off).collect();
        let ochunk = offsets::encode(&offs)?;
        let t = trailer::build(&self.vlmeta)?;
        let mut h = self.frame_header(false);
        let whole = self.meta_dirty;
        let Store::Contiguous(c) = &mut self.store else {
            unreachable!("commit_contiguous on a contiguous store")
        };
        c.commit(&mut h, &ochunk, &t, whole)?;
        self.meta_dirty = false;
        Ok(())
    }

    fn commit_sparse(&mut self) -> Result<()> {
        let mut h = self.frame_header(true);
        h.cbytes = self.cbytes;
        let offs: Vec<i64> = self.entries.iter().map(|e| e.off).collect();
        let ochunk = if offs.is_empty() {
            Vec::new()
        } else {
            offsets::encode(&offs)?
        };
        let t = trailer::build(&self.vlmeta)?;
        let Store::Sparse(d) = &mut self.store else {
            unreachable!("commit_sparse on a sparse store")
        };
        d.commit(&mut h, &ochunk, &t)?;
        self.meta_dirty = false;
        Ok(())
    }

    /// Writes the whole frame to a new file renamed over the old one (contiguous storage).
    pub(crate) fn rewrite(&mut self) -> Result<()> {
        let Store::Contiguous(c) = &self.store else {
            return Ok(());
        };
        let (tmp, file) = c.temp_file()?;
        let written = self.write_frame(&mut |pos, bytes| {
            use crate::io::WriteAt;
            file.write_all_at(bytes, pos)
        });
        let (entries, frame_len, h) = match written {
            Ok(w) => w,
            Err(e) => {
                let _ = std::fs::remove_file(&tmp);
                return Err(e);
            }
        };
        let Store::Contiguous(c) = &mut self.store else {
            unreachable!("checked above")
        };
        c.replace_with(tmp, file, &h, frame_len)?;
        self.entries = entries;
        self.cbytes = self.entries.iter().map(|e| e.cbytes).sum();
        self.meta_dirty = false;
        Ok(())
    }

    /// Drops the space freed by updates and deletes: a contiguous frame is rewritten to a new
    /// file renamed over the old one; a sparse frame commits its index and removes chunk files
    /// no longer referenced.
    pub fn compact(&mut self) -> Result<()> {
        self.check_writable_or_memory()?;
        match self.store {
            Store::Memory(_) => Ok(()),
            Store::Contiguous(_) => self.rewrite(),
            Store::Sparse(_) => {
                self.commit_sparse()?;
                if let Store::Sparse(d) = &self.store {
                    d.remove_orphans(&self.entries)?;
                }
                Ok(())
            }
        }
    }

    fn check_writable_or_memory(&self) -> Result<()> {
        match self.store {
            Store::Memory(_) => Ok(()),
            _ => self.check_writable(),
        }
    }

    /// Re-reads the committed state of the frame on disk (written by another handle or
    /// process); `true` when it changed. Uncommitted writes of this handle are dropped. In
    /// memory: `false`.
    pub fn reload(&mut self) -> Result<bool> {
        let opts = match &self.store {
            Store::Memory(_) => return Ok(false),
            Store::Contiguous(c) => c.reopen_options(self.mode),
            Store::Sparse(d) => OpenOptions {
                mode: self.mode,
                sync: d.sync(),
                ..OpenOptions::default()
            },
        };
        let path: PathBuf = self.urlpath().expect("a file store").to_path_buf();
        let fresh = Self::open_with_options(&path, &opts)?;
        let same = fresh.nbytes == self.nbytes
            && fresh
                .entries
                .iter()
                .map(|e| e.off)
                .eq(self.entries.iter().map(|e| e.off))
            && fresh.vlmeta == self.vlmeta
            && fresh.meta == self.meta
            && fresh.cparams == self.cparams
            && fresh.chunksize == self.chunksize
            && !self.dirty;
        let dparams = self.dparams;
        self.batch = 0;
        self.dirty = false;
        *self = fresh;
        self.dparams = dparams;
        Ok(!same)
    }
}

impl Drop for SChunk {
    fn drop(&mut self) {
        if self.dirty {
            // A batch left open: commit what it wrote rather than lose it.
            self.batch = 0;
            let _ = self.commit();
        }
    }
}
