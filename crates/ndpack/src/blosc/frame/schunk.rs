//! [`SChunk`]: the super-chunk over its three storages. This file owns the state (the index:
//! one [`Entry`] per chunk), creating and opening, the properties and the read paths; `write`
//! holds the write operations and `commit` the frames as a whole. The storages (`memory`,
//! `contiguous`, `sparse`) own their bytes and their commits.

use std::path::Path;

use rayon::prelude::*;

use super::contiguous::Contig;
use super::header::{check_name, MAX_METALAYERS};
use super::memory::Mem;
use super::offsets::{self, SPECIAL_NAN, SPECIAL_UNINIT, SPECIAL_ZERO};
use super::parse::{parse_frame, Parsed};
use super::sparse::SparseDir;
use super::{DParams, Entry, Mode, OpenOptions, Special, Storage};
use crate::blosc::v2::{self, CParams, Filter, SplitMode};
use crate::blosc::Compressor;
use crate::buffer::{try_reserve_total, Buffer};
use crate::error::{Error, Result};
use crate::io::io_error;
use crate::threads;

thread_local! {
    /// Each thread's buffer for the chunks it reads from frame files (see [`SChunk::with_chunk`]).
    pub(super) static READ_BUF: std::cell::RefCell<Vec<u8>> = const { std::cell::RefCell::new(Vec::new()) };
}

/// Chunks that decode to more bytes than this are read into a fresh buffer, not a kept one.
pub(super) const READ_BUF_KEEP_MAX: u64 = 16 << 20;

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
    pub(crate) dparams: DParams,
    pub(crate) chunksize: usize,
    pub(crate) variable: bool,
    pub(crate) vl_blocks: bool,
    pub(crate) nbytes: u64,
    pub(crate) cbytes: u64,
    pub(crate) entries: Vec<Entry>,
    pub(crate) meta: Vec<(String, Vec<u8>)>,
    pub(crate) vlmeta: Vec<(String, Vec<u8>)>,
    pub(crate) store: Store,
    pub(crate) mode: Mode,
    pub(crate) batch: usize,
    pub(crate) dirty: bool,
    /// A metalayer changed in place: the commit rewrites the whole header.
    pub(crate) meta_dirty: bool,
    pub(crate) compcode_meta: u8,
    pub(crate) use_dict: bool,
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

pub(super) fn check_meta(meta: &[(String, Vec<u8>)]) -> Result<()> {
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
    pub(super) fn empty(
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
    pub(super) fn finish_open(&mut self) -> Result<()> {
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
                let (nbytes, cbytes) = self.chunk_sizes(&e)?;
                let en = &mut self.entries[i];
                en.nbytes = nbytes;
                en.cbytes = cbytes;
                en.exact = true;
                total += u64::from(nbytes);
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

    /// `(nbytes, cbytes)` of a stored chunk, from its header alone (checked against the room
    /// the storage gives it).
    fn chunk_sizes(&self, e: &Entry) -> Result<(u32, u64)> {
        let head = match &self.store {
            Store::Memory(m) => m.get(e.off)?,
            Store::Contiguous(c) => c.read_head(e)?,
            Store::Sparse(d) => d.read(e)?,
        };
        if head.len() < v2::MAX_OVERHEAD {
            return Err(Error::truncated("a chunk shorter than its header"));
        }
        let field = |at: usize| i32::from_le_bytes(head[at..at + 4].try_into().expect("4 bytes"));
        let (nbytes, cbytes) = (field(4), field(12));
        if nbytes < 0 || cbytes < v2::MAX_OVERHEAD as i32 {
            return Err(Error::corrupt(format!(
                "a chunk header declares nbytes {nbytes} and cbytes {cbytes}"
            )));
        }
        if !e.exact && cbytes as u64 > e.cbytes {
            return Err(Error::corrupt(format!(
                "a chunk declares {cbytes} bytes, it has room for {}",
                e.cbytes
            )));
        }
        Ok((nbytes as u32, cbytes as u64))
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

    pub(super) fn entry(&self, nchunk: usize) -> Result<Entry> {
        self.entries.get(nchunk).copied().ok_or_else(|| {
            Error::invalid_argument(format!(
                "chunk {nchunk} out of range ({} chunks)",
                self.entries.len()
            ))
        })
    }

    /// The stored bytes of a non-special entry; `learning` skips the check of the decoded size
    /// against the entry (used while the sizes are being learnt).
    pub(super) fn read_stored(&self, e: &Entry, learning: bool) -> Result<Buffer> {
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
    pub(super) fn special_chunk(&self, e: &Entry) -> Result<Vec<u8>> {
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

    /// Runs `f` on the bytes of entry `e` (as [`Self::chunk_of`] gives them). From a frame
    /// file they are read into a buffer that each thread keeps for the next read, so that steady
    /// decoding neither allocates nor zeroes the chunk's bytes.
    pub(super) fn with_chunk<R>(&self, e: &Entry, f: impl FnOnce(&[u8]) -> Result<R>) -> Result<R> {
        let Store::Contiguous(c) = &self.store else {
            return f(&self.chunk_of(e)?);
        };
        if e.is_special() {
            return f(&self.chunk_of(e)?);
        }
        let check = |chunk: &[u8]| {
            let nb = i32::from_le_bytes(chunk[4..8].try_into().expect("4 bytes"));
            if nb as i64 != i64::from(e.nbytes) {
                return Err(Error::corrupt(format!(
                    "a chunk decodes to {nb} bytes where the frame expects {}",
                    e.nbytes
                )));
            }
            f(chunk)
        };
        READ_BUF.with(|cell| match cell.try_borrow_mut() {
            Ok(mut buf) if u64::from(e.nbytes) <= READ_BUF_KEEP_MAX => {
                c.with_chunk(e, &mut buf, check)
            }
            // Re-entered on this thread, or a chunk too large to keep a buffer of.
            _ => c.with_chunk(e, &mut Vec::new(), check),
        })
    }

    pub(super) fn chunk_of(&self, e: &Entry) -> Result<Buffer> {
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
        if self.decode_by_blocks(&e, &mut out[..n])? {
            return Ok(n);
        }
        self.with_chunk(&e, |chunk| v2::decompress_into(chunk, &mut out[..n]))
    }

    /// Decodes `dst.len()` bytes of entry `e` from byte `within`.
    pub(super) fn read_piece(&self, e: &Entry, within: usize, dst: &mut [u8]) -> Result<()> {
        if within == 0 && self.decode_by_blocks(e, dst)? {
            return Ok(());
        }
        self.with_chunk(e, |chunk| {
            if within == 0 && dst.len() == e.nbytes as usize {
                v2::decompress_into(chunk, dst).map(|_| ())
            } else {
                v2::decode_range(chunk, within, dst)
            }
        })
    }

    /// The byte at which each chunk starts (one more entry: the total).
    pub(super) fn chunk_starts(&self) -> Vec<u64> {
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
            let take = (b1 - pos).min(u64::from(e.nbytes).saturating_sub(within)) as usize;
            if take == 0 {
                return Err(Error::corrupt(format!(
                    "chunk {ci} holds no bytes at {pos}"
                )));
            }
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
