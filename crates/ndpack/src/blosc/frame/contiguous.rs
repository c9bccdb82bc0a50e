//! Contiguous frame files: one handle (a [`FileIo`] read and written with `pread`/`pwrite`, or a
//! read-only [`MmapIo`]), the write position past the committed frame, the commit (offsets
//! chunk and trailer past the live bytes, then one header write) and the rename that replaces
//! the file with a compacted copy. The protocol is described in the [module docs](super).

use std::path::{Path, PathBuf};

use super::blocks::HeadCache;
use super::header::{FrameHeader, COMMIT_RANGE};
use super::parse::{parse_frame, Parsed};
use super::{Entry, Mode, OpenOptions};
use crate::blosc::v2::MAX_OVERHEAD;
use crate::buffer::{try_reserve_total, Buffer};
use crate::error::{Error, ErrorKind, Result};
use crate::io::{io_error, read_buffer_at, FileIo, MmapIo, ReadAt, WriteAt};

#[derive(Debug)]
enum Handle {
    /// No file yet (a frame being created).
    None,
    File {
        io: FileIo,
        writable: bool,
    },
    Map(MmapIo),
}

/// A contiguous frame file.
#[derive(Debug)]
pub(crate) struct Contig {
    path: PathBuf,
    /// Where the frame starts in the file.
    base: u64,
    handle: Handle,
    header_len: usize,
    /// The committed frame length.
    frame_len: u64,
    /// Where the next bytes go (from `base`); at least `frame_len`.
    end: u64,
    /// The committed offsets chunk's position (from `base`): the end of the chunk section.
    offsets_pos: u64,
    /// Bytes inside the frame that no chunk uses any more.
    dead: u64,
    sync: bool,
    mmap: bool,
    /// Chunk heads read for reads by blocks.
    pub(super) heads: HeadCache,
}

fn sync_dir(path: &Path) -> Result<()> {
    #[cfg(unix)]
    {
        let dir = match path.parent() {
            Some(p) if !p.as_os_str().is_empty() => p,
            _ => Path::new("."),
        };
        std::fs::File::open(dir)
            .and_then(|d| d.sync_all())
            .map_err(|e| io_error(dir, "cannot sync directory", e))?;
    }
    #[cfg(not(unix))]
    let _ = path;
    Ok(())
}

impl Contig {
    /// A store for a frame about to be written to `path` for the first time.
    pub fn placeholder(path: PathBuf, sync: bool) -> Contig {
        Contig {
            path,
            base: 0,
            handle: Handle::None,
            header_len: 0,
            frame_len: 0,
            end: 0,
            offsets_pos: 0,
            dead: 0,
            sync,
            mmap: false,
            heads: HeadCache::default(),
        }
    }

    /// Opens the frame at `opts.offset` of `path`. In modes `a` and `w`, bytes past `frame_len`
    /// (an interrupted write) are cut off.
    pub fn open(path: &Path, opts: &OpenOptions) -> Result<(Parsed, Contig)> {
        let writable = opts.mode != Mode::Read && opts.offset == 0;
        let handle = if opts.mode == Mode::Read && opts.mmap {
            Handle::Map(MmapIo::open(path)?)
        } else {
            Handle::File {
                io: FileIo::open(path, writable)?,
                writable,
            }
        };
        let mut c = Contig {
            path: path.to_path_buf(),
            base: opts.offset,
            handle,
            header_len: 0,
            frame_len: 0,
            end: 0,
            offsets_pos: 0,
            dead: 0,
            sync: opts.sync,
            mmap: opts.mmap,
            heads: HeadCache::default(),
        };
        let parsed = parse_frame(c.io()?, c.base, false)?;
        c.header_len = parsed.header.header_len;
        c.frame_len = parsed.header.frame_len;
        c.end = c.frame_len;
        c.offsets_pos = parsed.offsets_pos;
        if let Handle::File { io, writable: true } = &c.handle {
            if io.size()? > c.frame_len {
                io.set_size(c.frame_len)?;
                if c.sync {
                    io.sync_data()?;
                }
            }
            remove_stale_temp_files(path);
        }
        Ok((parsed, c))
    }

    fn io(&self) -> Result<&dyn ReadAt> {
        match &self.handle {
            Handle::None => Err(Error::new(
                ErrorKind::Io,
                format!("{}: the frame is not written yet", self.path.display()),
            )),
            Handle::File { io, .. } => Ok(io),
            Handle::Map(m) => Ok(m),
        }
    }

    fn writer(&self) -> Result<&FileIo> {
        match &self.handle {
            Handle::File { io, writable: true } => Ok(io),
            _ => Err(self.read_only()),
        }
    }

    fn read_only(&self) -> Error {
        if self.base != 0 {
            Error::new(
                ErrorKind::Unsupported,
                format!(
                    "{}: a frame embedded at offset {} is read-only",
                    self.path.display(),
                    self.base
                ),
            )
        } else {
            Error::invalid_argument(format!("{}: opened read-only", self.path.display()))
        }
    }

    /// An error unless this store can be written.
    pub fn check_writable(&self) -> Result<()> {
        match &self.handle {
            Handle::None | Handle::File { writable: true, .. } => Ok(()),
            _ => Err(self.read_only()),
        }
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    pub fn header_len(&self) -> usize {
        self.header_len
    }

    pub fn dead(&self) -> u64 {
        self.dead
    }

    /// The options that open this frame again.
    pub fn reopen_options(&self, mode: Mode) -> OpenOptions {
        OpenOptions {
            mode,
            offset: self.base,
            sync: self.sync,
            mmap: self.mmap,
        }
    }

    /// Sets each stored entry's size to its span: the bytes up to the next chunk or the end of
    /// the chunk section (the chunk's own header gives the exact size when it is read).
    pub fn fill_spans(&self, entries: &mut [Entry]) -> Result<()> {
        let section = self.offsets_pos - self.header_len as u64;
        let mut order: Vec<(i64, usize)> = entries
            .iter()
            .enumerate()
            .filter(|(_, e)| !e.is_special())
            .map(|(i, e)| (e.off, i))
            .collect();
        order.sort_unstable();
        let mut next = section;
        for k in (0..order.len()).rev() {
            let (off, i) = order[k];
            if k + 1 < order.len() && order[k + 1].0 != off {
                next = order[k + 1].0 as u64;
            }
            entries[i].cbytes = next - off as u64;
            entries[i].exact = false;
        }
        Ok(())
    }

    /// Where the stored chunk of `e` starts in the file, how many bytes to read first, and the
    /// most it may occupy.
    fn span(&self, e: &Entry) -> Result<(u64, usize, u64)> {
        let rel = self.header_len as u64 + e.off as u64;
        let room = self.end.saturating_sub(rel);
        let bound = if e.exact {
            e.cbytes
        } else {
            e.cbytes.min(room)
        };
        let want = if e.exact {
            e.cbytes
        } else {
            bound.min(u64::from(e.nbytes) + MAX_OVERHEAD as u64)
        };
        if want < MAX_OVERHEAD as u64 || want > room {
            return Err(Error::corrupt(format!(
                "chunk at offset {} has no room for its header",
                e.off
            )));
        }
        Ok((self.base + rel, want as usize, bound))
    }

    /// The chunk size declared in the header at the start of `buf`, checked against `bound`.
    fn declared(e: &Entry, buf: &[u8], bound: u64) -> Result<usize> {
        let cb = i32::from_le_bytes(buf[12..16].try_into().expect("4 bytes"));
        if cb < MAX_OVERHEAD as i32 || cb as u64 > bound {
            return Err(Error::corrupt(format!(
                "chunk at offset {} declares {cb} bytes, it has room for {bound}",
                e.off
            )));
        }
        Ok(cb as usize)
    }

    /// The bytes of a stored chunk, trimmed to the size in its header (checked against the
    /// span it may occupy).
    pub fn read(&self, e: &Entry) -> Result<Buffer> {
        let io = self.io()?;
        let (at, want, bound) = self.span(e)?;
        let buf = read_buffer_at(io, at, want, "frame chunk")?;
        let cb = Self::declared(e, &buf, bound)?;
        if cb <= buf.len() {
            Ok(buf.slice(0..cb))
        } else {
            read_buffer_at(io, at, cb, "frame chunk")
        }
    }

    /// The file handle when the frame is read with `pread` (not through a map).
    fn file(&self) -> Option<&FileIo> {
        match &self.handle {
            Handle::File { io, .. } => Some(io),
            _ => None,
        }
    }

    /// Fills `buf` with the bytes at `within` of the stored chunk of `e`, whose size in its
    /// header is `cbytes` (checked against the room of the chunk here). `false`, reading
    /// nothing, when the frame is not read from a file (a map gives the whole chunk for free).
    pub fn read_chunk_part(
        &self,
        e: &Entry,
        cbytes: usize,
        within: usize,
        buf: &mut [u8],
    ) -> Result<bool> {
        let Some(io) = self.file() else {
            return Ok(false);
        };
        let (at, _, bound) = self.span(e)?;
        if cbytes as u64 > bound || within.checked_add(buf.len()).is_none_or(|end| end > cbytes) {
            return Err(Error::corrupt(format!(
                "chunk at offset {} declares {cbytes} bytes, it has room for {bound}",
                e.off
            )));
        }
        io.read_exact_at(buf, at + within as u64)?;
        Ok(true)
    }

    /// Runs `f` on the bytes of a stored chunk (as [`Self::read`] gives them). Read from a
    /// file, they go into `scratch`, which is grown when too small and otherwise reused as it
    /// is (no allocation, no zeroing), so that steady reads cost one `pread` each; a map hands
    /// out a view. A file cut shorter since it was opened makes the read a `Truncated` error.
    pub fn with_chunk<R>(
        &self,
        e: &Entry,
        scratch: &mut Vec<u8>,
        f: impl FnOnce(&[u8]) -> Result<R>,
    ) -> Result<R> {
        let Handle::File { io, .. } = &self.handle else {
            return f(&self.read(e)?);
        };
        let (at, want, bound) = self.span(e)?;
        // `want` lies inside the committed frame, which lies inside the file.
        if scratch.len() < want {
            try_reserve_total(scratch, want, "frame chunk")?;
            scratch.resize(want, 0);
        }
        io.read_exact_at(&mut scratch[..want], at)?;
        let cb = Self::declared(e, scratch, bound)?;
        if cb > want {
            if scratch.len() < cb {
                try_reserve_total(scratch, cb, "frame chunk")?;
                scratch.resize(cb, 0);
            }
            io.read_exact_at(&mut scratch[want..cb], at + want as u64)?;
        }
        f(&scratch[..cb])
    }

    /// The 32-byte header of a stored chunk.
    pub fn read_head(&self, e: &Entry) -> Result<Buffer> {
        let rel = self.header_len as u64 + e.off as u64;
        if rel + MAX_OVERHEAD as u64 > self.end {
            return Err(Error::corrupt(format!(
                "chunk at offset {} has no room for its header",
                e.off
            )));
        }
        read_buffer_at(self.io()?, self.base + rel, MAX_OVERHEAD, "frame chunk")
    }

    /// Opens the file again for writing (a frame opened read-only by `reload` for a writer).
    pub fn make_writable(&mut self) -> Result<()> {
        if self.base != 0 {
            return Err(self.read_only());
        }
        self.heads.clear();
        self.handle = Handle::File {
            io: FileIo::open(&self.path, true)?,
            writable: true,
        };
        Ok(())
    }

    /// Writes chunk bytes past everything written; returns their offset from the header end.
    pub fn put(&mut self, chunk: &[u8]) -> Result<i64> {
        self.heads.clear();
        let w = self.writer()?;
        let pos = self.end;
        w.write_all_at(chunk, self.base + pos)?;
        self.end = pos + chunk.len() as u64;
        Ok((pos - self.header_len as u64) as i64)
    }

    /// Counts a replaced or deleted chunk as dead.
    pub fn release(&mut self, e: &Entry) {
        self.dead += e.cbytes;
    }

    /// Writes the offsets chunk and the trailer past everything written, then commits with one
    /// header write (the fixed fields, or the whole header when `whole`).
    pub fn commit(
        &mut self,
        h: &mut FrameHeader,
        ochunk: &[u8],
        trailer: &[u8],
        whole: bool,
    ) -> Result<()> {
        let w = self.writer()?;
        let pos = self.end;
        w.write_all_at(ochunk, self.base + pos)?;
        w.write_all_at(trailer, self.base + pos + ochunk.len() as u64)?;
        let frame_len = pos + ochunk.len() as u64 + trailer.len() as u64;
        h.cbytes = pos - self.header_len as u64;
        h.frame_len = frame_len;
        let hb = h.build()?;
        if hb.len() != self.header_len {
            return Err(Error::corrupt(
                "the header changed length; the frame must be rewritten",
            ));
        }
        if self.sync {
            w.sync_data()?;
        }
        if whole {
            w.write_all_at(&hb, self.base)?;
        } else {
            w.write_all_at(&hb[COMMIT_RANGE], self.base + COMMIT_RANGE.start as u64)?;
        }
        if self.sync {
            w.sync_data()?;
        }
        self.dead += self.frame_len - self.offsets_pos;
        self.frame_len = frame_len;
        self.end = frame_len;
        self.offsets_pos = pos;
        Ok(())
    }

    /// A new temporary file beside the frame, for a whole rewrite.
    pub fn temp_file(&self) -> Result<(PathBuf, FileIo)> {
        if self.base != 0 {
            return Err(self.read_only());
        }
        self.check_writable()?;
        let name = self
            .path
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        let tmp = self
            .path
            .with_file_name(format!("{name}.tmp-{}", std::process::id()));
        let f = FileIo::create(&tmp)?;
        Ok((tmp, f))
    }

    /// Makes the fully written temporary file the frame: sync (when asked), rename over the
    /// frame, and keep its handle.
    pub fn replace_with(
        &mut self,
        tmp: PathBuf,
        file: FileIo,
        h: &FrameHeader,
        frame_len: u64,
    ) -> Result<()> {
        let done = (|| {
            if self.sync {
                file.sync_data()?;
            }
            std::fs::rename(&tmp, &self.path)
                .map_err(|e| io_error(&self.path, "cannot replace", e))?;
            if self.sync {
                sync_dir(&self.path)?;
            }
            Ok(())
        })();
        if let Err(e) = done {
            let _ = std::fs::remove_file(&tmp);
            return Err(e);
        }
        self.heads.clear();
        self.handle = Handle::File {
            io: FileIo::from_file(
                file.file()
                    .try_clone()
                    .map_err(|e| io_error(&self.path, "cannot reopen", e))?,
                self.path.clone(),
            ),
            writable: true,
        };
        self.header_len = h.header_len;
        self.frame_len = frame_len;
        self.end = frame_len;
        self.offsets_pos = h.header_len as u64 + h.cbytes;
        self.dead = 0;
        Ok(())
    }
}

/// Removes the `<name>.tmp-<pid>` files beside the frame that a compaction killed half way left
/// behind (their process is gone; a live process's file is left alone). Best effort: a file that
/// cannot be listed or removed stays.
fn remove_stale_temp_files(path: &Path) {
    let (Some(dir), Some(name)) = (path.parent(), path.file_name()) else {
        return;
    };
    let dir = if dir.as_os_str().is_empty() {
        Path::new(".")
    } else {
        dir
    };
    let prefix = format!("{}.tmp-", name.to_string_lossy());
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    for entry in entries.flatten() {
        let file_name = entry.file_name();
        let file_name = file_name.to_string_lossy();
        let Some(pid) = file_name
            .strip_prefix(&prefix)
            .and_then(|p| p.parse::<u32>().ok())
        else {
            continue;
        };
        if pid != std::process::id() && !process_alive(pid) {
            let _ = std::fs::remove_file(entry.path());
        }
    }
}

#[cfg(unix)]
fn process_alive(pid: u32) -> bool {
    let Ok(pid) = libc::pid_t::try_from(pid) else {
        return false;
    };
    // SAFETY: kill with signal 0 sends nothing; it only checks that the process exists.
    let r = unsafe { libc::kill(pid, 0) };
    r == 0 || std::io::Error::last_os_error().raw_os_error() == Some(libc::EPERM)
}

#[cfg(not(unix))]
fn process_alive(_pid: u32) -> bool {
    true
}
