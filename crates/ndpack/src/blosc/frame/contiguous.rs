//! Contiguous frame files: one handle (a [`FileIo`] read and written with `pread`/`pwrite`, or a
//! read-only [`MmapIo`]), the write position past the committed frame, the commit (offsets
//! chunk and trailer past the live bytes, then one header write) and the rename that replaces
//! the file with a compacted copy. The protocol is described in the [module docs](super).

use std::path::{Path, PathBuf};

use super::header::{FrameHeader, COMMIT_RANGE};
use super::parse::{parse_frame, Parsed};
use super::{Entry, Mode, OpenOptions};
use crate::blosc::v2::MAX_OVERHEAD;
use crate::buffer::Buffer;
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

    /// The bytes of a stored chunk, trimmed to the size in its header (checked against the
    /// span it may occupy).
    pub fn read(&self, e: &Entry) -> Result<Buffer> {
        let io = self.io()?;
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
        let at = self.base + rel;
        let buf = read_buffer_at(io, at, want as usize, "frame chunk")?;
        let cb = i32::from_le_bytes(buf[12..16].try_into().expect("4 bytes"));
        if cb < MAX_OVERHEAD as i32 || cb as u64 > bound {
            return Err(Error::corrupt(format!(
                "chunk at offset {} declares {cb} bytes, it has room for {bound}",
                e.off
            )));
        }
        let cb = cb as usize;
        if cb <= buf.len() {
            Ok(buf.slice(0..cb))
        } else {
            read_buffer_at(io, at, cb, "frame chunk")
        }
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
        self.handle = Handle::File {
            io: FileIo::open(&self.path, true)?,
            writable: true,
        };
        Ok(())
    }

    /// Writes chunk bytes past everything written; returns their offset from the header end.
    pub fn put(&mut self, chunk: &[u8]) -> Result<i64> {
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
