//! Lock-free writes into one sparse frame from many processes at once, and the commit that
//! makes its index exact afterwards.
//!
//! # The protocol
//!
//! A sparse frame whose stored chunks have file ids equal to their positions (an *identity*
//! frame: `%08X.chunk` holds chunk `X`; special chunks have no file) can be written by any
//! number of processes without a shared lock:
//!
//! 1. one process creates the frame with its final geometry (shape, chunk size, compression
//!    parameters, metalayers, vlmeta), e.g. every chunk a zero special chunk;
//! 2. writers ([`SparseWriter`]) write whole chunks: each chunk's bytes go to a temporary
//!    file in the directory, renamed to `%08X.chunk` of its position. No writer touches the
//!    index (`chunks.b2frame`), so writers never race on it; a reader of the file sees the old
//!    chunk or the new one, never a part. A chunk written in part is read, patched and
//!    rewritten under a per-chunk file lock (`flock` on `.%08X.chunk.lock`), so that writers of
//!    different parts of one chunk do not lose each other's items;
//! 3. after every writer is done, one process runs [`commit_sparse_writes`]: it scans the chunk
//!    files, points each position with a file at it (a file holding a constant zero chunk
//!    becomes a zero special chunk and is removed), sets the header's byte counts to the
//!    files' sizes, writes the index to a temporary file renamed over the old one, removes
//!    the temporary and lock files left by writers that died, and bumps the generation counter
//!    of c-blosc2's `.b2lock` file when there is one, so that python-blosc2 handles reload.
//!
//! Until the commit, readers that use the index (ndpack, python-blosc2) see the chunks the
//! last commit described; the writers' own reads of a chunk ([`SparseWriter::read_chunk`]) see
//! its file first. A writer killed at any moment leaves at most a temporary file: the frame
//! opens, and a rerun of its writes followed by the commit makes it exact.
//!
//! Chunk files never hold a header-only zero, NaN or uninitialised chunk (python-blosc2 4.15
//! cannot read such a file through `get_lazychunk`): those are written as a repeated-value chunk
//! of the same content, and the commit turns the zero ones into special chunks of the index.

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};

use super::header::FrameHeader;
use super::offsets::{self, SPECIAL_NAN, SPECIAL_UNINIT, SPECIAL_ZERO};
use super::parse::parse_frame;
use super::schunk::Store;
use super::sparse::{chunk_name, read_file, INDEX};
use super::{Entry, Mode, SChunk};
use crate::blosc::v2::{self, CParams, MAX_OVERHEAD};
use crate::buffer::Buffer;
use crate::error::{Error, Result};
use crate::io::io_error;

/// Special type of a chunk that repeats one value (`blosc2.full`'s chunks).
const SPECIAL_VALUE: u8 = 3;

/// A handle that writes chunks of an identity sparse frame without touching its index (see
/// the [module docs](self)). Every method takes `&self`: one handle serves many threads, and
/// handles in many processes write the same frame at once.
#[derive(Debug, Clone)]
pub struct SparseWriter {
    dir: PathBuf,
    header: FrameHeader,
    offsets: Vec<i64>,
    cparams: CParams,
    sync: bool,
}

/// What [`commit_sparse_writes`] found.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct CommitSummary {
    /// The number of chunks.
    pub nchunks: usize,
    /// Chunks stored in files after the commit.
    pub stored: usize,
    /// Chunks recorded as special chunks in the index (no file).
    pub special: usize,
    /// The header's `cbytes`: the stored chunks' bytes.
    pub cbytes: u64,
    /// Temporary and lock files removed (left by writers that died, or by writers done).
    pub removed: usize,
}

/// The id in a file name `%08X.chunk`, if it is one.
fn chunk_id(name: &str) -> Option<u64> {
    let hex = name.strip_suffix(".chunk")?;
    if hex.len() != 8 || !hex.bytes().all(|b| b.is_ascii_hexdigit()) {
        return None;
    }
    u64::from_str_radix(hex, 16).ok()
}

/// Checks that every stored chunk of a sparse frame has its position as file id.
fn check_identity(path: &Path, offsets: &[i64]) -> Result<()> {
    if let Some((i, off)) = offsets
        .iter()
        .enumerate()
        .find(|(i, &o)| o >= 0 && o != *i as i64)
    {
        return Err(Error::invalid_argument(format!(
            "{}: chunk {i} is stored in file id {off}; parallel writes need every stored chunk \
             in the file of its own position (create the frame for them, or copy it)",
            path.display()
        )));
    }
    Ok(())
}

impl SparseWriter {
    /// Opens the sparse frame in directory `path` for parallel chunk writes. The frame must
    /// have a fixed chunk size and be an identity frame (every stored chunk in the file of its
    /// position), as a frame whose chunks were all special when created is.
    pub fn open(path: impl AsRef<Path>) -> Result<SparseWriter> {
        let dir = path.as_ref().to_path_buf();
        if !dir.is_dir() {
            return Err(Error::invalid_argument(format!(
                "{} is not a sparse frame directory",
                dir.display()
            )));
        }
        let index = read_file(&dir.join(INDEX), "a sparse frame index")?;
        let parsed = parse_frame(&Buffer::from_vec(index), 0, true)?;
        let h = parsed.header;
        if h.variable || h.chunksize == 0 {
            return Err(Error::invalid_argument(
                "parallel writes need a frame of one fixed chunk size",
            ));
        }
        check_identity(&dir, &parsed.offsets)?;
        let probe = SChunk::from_parsed(
            super::parse::Parsed {
                header: h.clone(),
                offsets: Vec::new(),
                vlmeta: Vec::new(),
                offsets_pos: 0,
            },
            Store::Memory(Default::default()),
        )?;
        let cparams = probe.cparams().clone();
        Ok(SparseWriter {
            dir,
            header: h,
            offsets: parsed.offsets,
            cparams,
            sync: false,
        })
    }

    /// `fsync` each chunk file before its rename (slower; survives a power cut).
    pub fn set_sync(&mut self, sync: bool) {
        self.sync = sync;
    }

    /// The directory.
    pub fn path(&self) -> &Path {
        &self.dir
    }

    /// The number of chunks.
    pub fn nchunks(&self) -> usize {
        self.offsets.len()
    }

    /// The decoded size of chunk `nchunk` (the last may be shorter).
    pub fn chunk_nbytes(&self, nchunk: usize) -> Result<usize> {
        let n = self.offsets.len();
        if nchunk >= n {
            return Err(Error::invalid_argument(format!(
                "chunk {nchunk} out of range ({n} chunks)"
            )));
        }
        let cs = self.header.chunksize as u64;
        Ok((self.header.nbytes - nchunk as u64 * cs).min(cs) as usize)
    }

    /// The compression parameters of the frame's chunks.
    pub fn cparams(&self) -> &CParams {
        &self.cparams
    }

    /// The content of fixed metalayer `name`.
    pub fn meta_get(&self, name: &str) -> Option<&[u8]> {
        self.header
            .meta
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, c)| c.as_slice())
    }

    fn chunk_path(&self, nchunk: usize) -> PathBuf {
        self.dir.join(chunk_name(nchunk as i64))
    }

    /// Writes compressed chunk `chunk` as chunk `nchunk` (a temporary file renamed into place).
    /// Its decoded size must be the chunk's; a header-only zero, NaN or uninitialised chunk is
    /// stored as a repeated-value chunk of the same content.
    pub fn write_chunk(&self, nchunk: usize, chunk: &[u8]) -> Result<()> {
        let want = self.chunk_nbytes(nchunk)?;
        let info = v2::chunk_info(chunk)?;
        if info.version < 3 {
            return Err(Error::invalid_argument(format!(
                "a sparse frame holds Blosc2 chunks, this one has format version {}",
                info.version
            )));
        }
        if info.nbytes != want {
            return Err(Error::invalid_argument(format!(
                "chunk {nchunk} must decode to {want} bytes, this one decodes to {}",
                info.nbytes
            )));
        }
        let chunk = &chunk[..info.cbytes];
        let ts = self.cparams.typesize.max(1);
        let bs = if info.blocksize == 0 {
            want
        } else {
            info.blocksize
        };
        let value: Option<Vec<u8>> = match info.special {
            SPECIAL_ZERO | SPECIAL_UNINIT => Some(vec![0; ts]),
            SPECIAL_NAN => Some(match ts {
                4 => f32::NAN.to_le_bytes().to_vec(),
                8 => f64::NAN.to_le_bytes().to_vec(),
                _ => {
                    return Err(Error::invalid_argument(format!(
                        "a NaN chunk for {ts}-byte items"
                    )))
                }
            }),
            _ => None,
        };
        match value {
            Some(v) if want.is_multiple_of(v.len()) => {
                let c = v2::repeat_chunk(want, &v, bs.min(want).max(v.len()))?;
                self.put(nchunk, &c)
            }
            Some(_) => {
                let raw = v2::decompress(chunk)?;
                self.put(nchunk, &v2::compress(&raw, &self.cparams)?)
            }
            None => self.put(nchunk, chunk),
        }
    }

    /// Compresses `data` (the chunk's decoded bytes) with the frame's parameters and writes it
    /// as chunk `nchunk`.
    pub fn write_buffer(&self, nchunk: usize, data: &[u8]) -> Result<()> {
        let want = self.chunk_nbytes(nchunk)?;
        if data.len() != want {
            return Err(Error::invalid_argument(format!(
                "chunk {nchunk} holds {want} bytes, {} given",
                data.len()
            )));
        }
        self.write_chunk(nchunk, &v2::compress(data, &self.cparams)?)
    }

    fn put(&self, nchunk: usize, chunk: &[u8]) -> Result<()> {
        static SEQ: AtomicU64 = AtomicU64::new(0);
        use std::io::Write;
        let dest = self.chunk_path(nchunk);
        let tmp = self.dir.join(format!(
            ".{}.tmp-{}-{}",
            chunk_name(nchunk as i64),
            std::process::id(),
            SEQ.fetch_add(1, Ordering::Relaxed)
        ));
        let r = (|| {
            let mut f = std::fs::File::create(&tmp)?;
            f.write_all(chunk)?;
            if self.sync {
                f.sync_data()?;
            }
            drop(f);
            std::fs::rename(&tmp, &dest)
        })();
        r.map_err(|e| {
            let _ = std::fs::remove_file(&tmp);
            io_error(&dest, "cannot write", e)
        })
    }

    /// The current bytes of chunk `nchunk`: its file when there is one (written since the last
    /// commit, or described by it), else the special chunk the index records.
    pub fn read_chunk(&self, nchunk: usize) -> Result<Buffer> {
        let nbytes = self.chunk_nbytes(nchunk)?;
        let path = self.chunk_path(nchunk);
        match std::fs::metadata(&path) {
            Ok(_) => {
                let v = read_file(&path, "a chunk file")?;
                let info = v2::chunk_info(&v)?;
                if info.nbytes != nbytes || info.cbytes > v.len() {
                    return Err(Error::corrupt(format!(
                        "chunk file {} declares {} bytes decoding to {}; chunk {nchunk} \
                         decodes to {nbytes}",
                        path.display(),
                        info.cbytes,
                        info.nbytes
                    )));
                }
                Ok(Buffer::from_vec(v).slice(0..info.cbytes))
            }
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                let off = self.offsets[nchunk];
                if off >= 0 {
                    return Err(Error::corrupt(format!(
                        "chunk file {} is missing",
                        path.display()
                    )));
                }
                let ts = self.cparams.typesize;
                let bs = if self.cparams.blocksize == 0 {
                    nbytes
                } else {
                    self.cparams.blocksize
                };
                let c = match offsets::special_kind(off)? {
                    SPECIAL_ZERO => v2::zeros_chunk(nbytes, ts, bs)?,
                    SPECIAL_NAN => v2::nans_chunk(nbytes, ts, bs)?,
                    _ => v2::uninit_chunk(nbytes, ts, bs)?,
                };
                Ok(Buffer::from_vec(c))
            }
            Err(e) => Err(io_error(&path, "cannot open", e)),
        }
    }

    /// Takes the lock of chunk `nchunk` (an exclusive `flock` on its lock file), waiting for
    /// other holders in this or any other process; it is let go when the guard drops.
    pub fn lock_chunk(&self, nchunk: usize) -> Result<ChunkLock> {
        self.chunk_nbytes(nchunk)?;
        ChunkLock::take(
            &self
                .dir
                .join(format!(".{}.lock", chunk_name(nchunk as i64))),
        )
    }

    /// Read-modify-write of chunk `nchunk` under its lock: `patch` gets the decoded chunk and
    /// changes it in place; the result is compressed and written.
    pub fn update_chunk(
        &self,
        nchunk: usize,
        patch: impl FnOnce(&mut [u8]) -> Result<()>,
    ) -> Result<()> {
        let _lock = self.lock_chunk(nchunk)?;
        let chunk = self.read_chunk(nchunk)?;
        let mut raw = v2::decompress(&chunk)?;
        patch(&mut raw)?;
        self.write_buffer(nchunk, &raw)
    }
}

/// An exclusive lock on one chunk of a [`SparseWriter`], held until dropped.
#[derive(Debug)]
pub struct ChunkLock {
    /// The open lock file; closing it lets the lock go.
    _file: std::fs::File,
}

impl ChunkLock {
    #[cfg(unix)]
    fn take(path: &Path) -> Result<ChunkLock> {
        use std::os::unix::io::AsRawFd;
        let file = std::fs::OpenOptions::new()
            .create(true)
            .truncate(false)
            .write(true)
            .open(path)
            .map_err(|e| io_error(path, "cannot open the lock file", e))?;
        loop {
            // SAFETY: flock on a descriptor this function owns; no memory is passed.
            let rc = unsafe { libc::flock(file.as_raw_fd(), libc::LOCK_EX) };
            if rc == 0 {
                return Ok(ChunkLock { _file: file });
            }
            let e = std::io::Error::last_os_error();
            if e.kind() != std::io::ErrorKind::Interrupted {
                return Err(io_error(path, "cannot lock", e));
            }
        }
    }

    #[cfg(not(unix))]
    fn take(_path: &Path) -> Result<ChunkLock> {
        Err(Error::new(
            crate::error::ErrorKind::Unsupported,
            "per-chunk file locks need a Unix system",
        ))
    }
}

/// The sparse frame directory at `path`, opened for appending (an error for other frames).
fn open_sparse(path: &Path, sync: bool) -> Result<SChunk> {
    let s = SChunk::open_with_options(
        path,
        &super::OpenOptions {
            mode: Mode::Append,
            sync,
            ..Default::default()
        },
    )?;
    let Store::Sparse(_) = &s.store else {
        return Err(Error::invalid_argument(format!(
            "{} is not a sparse frame directory",
            path.display()
        )));
    };
    Ok(s)
}

/// Makes the index of a sparse frame written by [`SparseWriter`]s exact (see the
/// [module docs](self)); run it in one process once every writer is done. Also repairs the
/// index after writers died: what their completed writes stored is kept, their temporary
/// files are removed.
pub fn commit_sparse_writes(path: impl AsRef<Path>, sync: bool) -> Result<CommitSummary> {
    let path = path.as_ref();
    let mut s = open_sparse(path, sync)?;
    if s.variable {
        return Err(Error::invalid_argument(
            "parallel writes need a frame of one fixed chunk size",
        ));
    }
    let offs: Vec<i64> = s.entries.iter().map(|e| e.off).collect();
    check_identity(path, &offs)?;
    let n = s.entries.len();
    let mut present = vec![false; n];
    let mut leftovers = Vec::new();
    let list = std::fs::read_dir(path).map_err(|e| io_error(path, "cannot list", e))?;
    for item in list {
        let item = item.map_err(|e| io_error(path, "cannot list", e))?;
        let name = item.file_name().to_string_lossy().into_owned();
        if let Some(id) = chunk_id(&name) {
            if (id as usize) < n {
                present[id as usize] = true;
            }
        } else if name.starts_with('.') && (name.contains(".tmp-") || name.ends_with(".lock")) {
            leftovers.push(item.path());
        }
    }
    let ts = s.cparams.typesize;
    let mut doomed = Vec::new();
    for (i, here) in present.iter().enumerate() {
        let old = s.entries[i];
        let file = path.join(chunk_name(i as i64));
        if !here {
            if !old.is_special() {
                return Err(Error::corrupt(format!(
                    "chunk file {} is missing",
                    file.display()
                )));
            }
            continue;
        }
        let head = read_head(&file, MAX_OVERHEAD + ts)?;
        let info = head_info(&head.0).map_err(|e| {
            Error::new(
                e.kind(),
                format!("chunk file {}: {}", file.display(), e.message()),
            )
        })?;
        if info.version < 3 || info.nbytes != old.nbytes as usize || info.cbytes as u64 > head.1 {
            return Err(Error::corrupt(format!(
                "chunk file {} holds {} bytes decoding to {} (file of {} bytes); chunk {i} \
                 decodes to {}",
                file.display(),
                info.cbytes,
                info.nbytes,
                head.1,
                old.nbytes
            )));
        }
        let zero_value = info.special == SPECIAL_VALUE
            && head.0.len() >= MAX_OVERHEAD + ts
            && head.0[MAX_OVERHEAD..MAX_OVERHEAD + ts]
                .iter()
                .all(|&b| b == 0);
        let kind = match info.special {
            SPECIAL_ZERO | SPECIAL_NAN | SPECIAL_UNINIT => Some(info.special),
            _ if zero_value => Some(SPECIAL_ZERO),
            _ => None,
        };
        s.entries[i] = match kind {
            Some(k) => {
                doomed.push(i as i64);
                Entry::special(k, old.nbytes as usize)
            }
            None => Entry {
                off: i as i64,
                cbytes: info.cbytes as u64,
                nbytes: old.nbytes,
                exact: true,
            },
        };
    }
    s.cbytes = s.entries.iter().map(|e| e.cbytes).sum();
    if let Store::Sparse(d) = &mut s.store {
        for id in doomed {
            d.release(id);
        }
    }
    s.commit_sparse()?;
    let mut removed = 0;
    for p in leftovers {
        match std::fs::remove_file(&p) {
            Ok(()) => removed += 1,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
            Err(e) => return Err(io_error(&p, "cannot remove", e)),
        }
    }
    bump_b2lock(path)?;
    let special = s.entries.iter().filter(|e| e.is_special()).count();
    Ok(CommitSummary {
        nchunks: n,
        stored: n - special,
        special,
        cbytes: s.cbytes,
        removed,
    })
}

/// Renames the chunk files of a sparse frame so that every stored chunk sits in the file of its
/// own position (an *identity* frame, which [`SparseWriter`] and [`commit_sparse_writes`]
/// need), e.g. after chunks were inserted or deleted in the middle (an N-d array resized along
/// an inner dimension). Run it in one process while nobody writes the frame.
///
/// Every step leaves an index whose files all exist: the moved chunks are first linked to fresh
/// ids past every position and the index points at them; then they are linked to their
/// positions and the index points there; last, the chunk files no entry references and the
/// temporary files are removed (a stray file at a special position would otherwise be taken
/// for a written chunk by the next [`commit_sparse_writes`]). A rerun after a crash finishes
/// the job. Bumps the `.b2lock` generation. Returns the number of chunks moved.
pub fn make_identity(path: impl AsRef<Path>, sync: bool) -> Result<usize> {
    let path = path.as_ref();
    let mut s = open_sparse(path, sync)?;
    let n = s.entries.len();
    let moves: Vec<usize> = (0..n)
        .filter(|&i| !s.entries[i].is_special() && s.entries[i].off != i as i64)
        .collect();
    if !moves.is_empty() {
        let top = s.entries.iter().map(|e| e.off).max().unwrap_or(0);
        let base = (n as i64).max(top + 1);
        for (k, &i) in moves.iter().enumerate() {
            let fresh = base + k as i64;
            link_chunk(path, s.entries[i].off, fresh, sync)?;
            s.entries[i].off = fresh;
        }
        s.commit_sparse()?;
        for &i in &moves {
            link_chunk(path, s.entries[i].off, i as i64, sync)?;
            s.entries[i].off = i as i64;
        }
        s.commit_sparse()?;
    }
    if let Store::Sparse(d) = &s.store {
        d.remove_orphans(&s.entries)?;
    }
    bump_b2lock(path)?;
    Ok(moves.len())
}

/// Makes chunk file `to` of directory `dir` a copy of chunk file `from` (a hard link where the
/// file system has them), through a temporary name renamed over `to`.
fn link_chunk(dir: &Path, from: i64, to: i64, sync: bool) -> Result<()> {
    let src = dir.join(chunk_name(from));
    let dst = dir.join(chunk_name(to));
    let tmp = dir.join(format!(
        ".{}.tmp-identity-{}",
        chunk_name(to),
        std::process::id()
    ));
    let _ = std::fs::remove_file(&tmp);
    if std::fs::hard_link(&src, &tmp).is_err() {
        std::fs::copy(&src, &tmp).map_err(|e| io_error(&src, "cannot copy", e))?;
    }
    if sync {
        std::fs::File::open(&tmp)
            .and_then(|f| f.sync_all())
            .map_err(|e| io_error(&tmp, "cannot sync", e))?;
    }
    std::fs::rename(&tmp, &dst).map_err(|e| io_error(&dst, "cannot rename onto", e))
}

/// What the header at the start of `head` (a chunk's first bytes, maybe not all of it)
/// says: the header is checked as a whole chunk's, its declared size is returned as is.
fn head_info(head: &[u8]) -> Result<v2::ChunkInfo> {
    if head.len() < MAX_OVERHEAD {
        return Err(Error::truncated(format!(
            "a chunk file of {} bytes, shorter than a chunk header",
            head.len()
        )));
    }
    let declared = i32::from_le_bytes(head[12..16].try_into().expect("4 bytes"));
    let mut probe = head.to_vec();
    let shown = (declared.max(0) as usize).min(head.len()) as i32;
    probe[12..16].copy_from_slice(&shown.to_le_bytes());
    let mut info = v2::chunk_info(&probe)?;
    if declared < MAX_OVERHEAD as i32 {
        return Err(Error::corrupt(format!(
            "a chunk header declares {declared} bytes"
        )));
    }
    info.cbytes = declared as usize;
    Ok(info)
}

/// The first `len` bytes of a file (fewer if it is shorter) and its size.
fn read_head(path: &Path, len: usize) -> Result<(Vec<u8>, u64)> {
    use std::io::Read;
    let f = std::fs::File::open(path).map_err(|e| io_error(path, "cannot open", e))?;
    let size = f
        .metadata()
        .map_err(|e| io_error(path, "cannot open", e))?
        .len();
    let mut v = Vec::with_capacity(len);
    f.take(len as u64)
        .read_to_end(&mut v)
        .map_err(|e| io_error(path, "cannot read", e))?;
    Ok((v, size))
}

/// Bumps the generation counter (a native-endian u64 at byte 8) of c-blosc2's `.b2lock` file
/// in `dir`, under its exclusive lock, when the file exists.
#[cfg(unix)]
fn bump_b2lock(dir: &Path) -> Result<()> {
    use std::os::unix::fs::FileExt;
    let p = dir.join(".b2lock");
    let file = match std::fs::OpenOptions::new().read(true).write(true).open(&p) {
        Ok(f) => f,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(()),
        Err(e) => return Err(io_error(&p, "cannot open", e)),
    };
    let lock = ChunkLock::take(&p)?;
    let mut seq = [0u8; 8];
    let r = (|| {
        if file.metadata()?.len() >= 16 {
            file.read_exact_at(&mut seq, 8)?;
        }
        let next = u64::from_ne_bytes(seq).wrapping_add(1);
        file.write_all_at(&next.to_ne_bytes(), 8)
    })();
    drop(lock);
    r.map_err(|e| io_error(&p, "cannot update", e))
}

#[cfg(not(unix))]
fn bump_b2lock(_dir: &Path) -> Result<()> {
    Ok(())
}

#[cfg(test)]
mod tests;
