//! Positional I/O: the one place where ndpack opens and reads files.
//!
//! [`ReadAt`] reads bytes at an offset and [`WriteAt`] writes them, both through `&self`, so one
//! handle serves many threads at once without a lock or a shared file position. Three sources
//! implement them:
//!
//! - [`Buffer`]: bytes in memory; [`ReadAt::view_at`] hands out zero-copy slices.
//! - [`FileIo`]: one open `std::fs::File`, read and written with `pread`/`pwrite`
//!   (`std::os::unix::fs::FileExt`); off unix, a `Mutex` around seek + read/write.
//! - [`MmapIo`]: a read-only memory map (memmap2); `view_at` returns a [`Buffer`] that keeps the
//!   map alive, so chunk bytes are never copied.
//!
//! Errors of the operating system are [`ErrorKind::Io`](crate::ErrorKind::Io) errors whose
//! message names the path; reads past the end are [`ErrorKind::Truncated`](crate::ErrorKind).
//! Sizes read from untrusted bytes are checked against [`ReadAt::size`] before anything is
//! allocated ([`read_vec_at`], [`read_buffer_at`]).

use std::fs::{File, OpenOptions};
use std::path::{Path, PathBuf};

use crate::buffer::{try_reserve_total, Buffer};
use crate::error::{Error, ErrorKind, Result};

/// Positional reads, callable from many threads at once (no seek, no lock).
pub trait ReadAt: Send + Sync {
    /// The number of bytes readable.
    fn size(&self) -> Result<u64>;

    /// Fills `buf` with the bytes at `offset`; a [`ErrorKind::Truncated`] error when they run
    /// past the end.
    fn read_exact_at(&self, buf: &mut [u8], offset: u64) -> Result<()>;

    /// A zero-copy view of `len` bytes at `offset` when the bytes are in memory (a [`Buffer`], a
    /// memory map); `None` for files, and for ranges past the end.
    fn view_at(&self, offset: u64, len: usize) -> Option<Buffer> {
        let _ = (offset, len);
        None
    }
}

/// Positional writes on top of [`ReadAt`].
pub trait WriteAt: ReadAt {
    /// Writes all of `buf` at `offset`, growing the file when it ends before.
    fn write_all_at(&self, buf: &[u8], offset: u64) -> Result<()>;
    /// Truncates or extends the file to `len` bytes.
    fn set_size(&self, len: u64) -> Result<()>;
    /// Flushes the written data to the device (`fdatasync`).
    fn sync_data(&self) -> Result<()>;
}

/// The [`ErrorKind::Truncated`] error of a read of `len` bytes at `offset` from a source of
/// `size` bytes.
fn past_end(what: &str, offset: u64, len: usize, size: u64) -> Error {
    Error::truncated(format!(
        "{what}: cannot read {len} bytes at offset {offset}, it holds {size} bytes"
    ))
}

/// Whether `len` bytes at `offset` lie inside `size` bytes.
fn in_bounds(offset: u64, len: usize, size: u64) -> bool {
    offset
        .checked_add(len as u64)
        .is_some_and(|end| end <= size)
}

impl ReadAt for Buffer {
    fn size(&self) -> Result<u64> {
        Ok(self.len() as u64)
    }

    fn read_exact_at(&self, buf: &mut [u8], offset: u64) -> Result<()> {
        if !in_bounds(offset, buf.len(), self.len() as u64) {
            return Err(past_end("buffer", offset, buf.len(), self.len() as u64));
        }
        let at = offset as usize;
        buf.copy_from_slice(&self[at..at + buf.len()]);
        Ok(())
    }

    fn view_at(&self, offset: u64, len: usize) -> Option<Buffer> {
        if !in_bounds(offset, len, self.len() as u64) {
            return None;
        }
        let at = offset as usize;
        Some(self.slice(at..at + len))
    }
}

/// Reads `len` bytes at `offset` into a new vector, after checking that they lie inside the
/// source (so a size read from hostile bytes never allocates more than the source holds).
pub fn read_vec_at(io: &dyn ReadAt, offset: u64, len: usize, what: &str) -> Result<Vec<u8>> {
    let size = io.size()?;
    if !in_bounds(offset, len, size) {
        return Err(past_end(what, offset, len, size));
    }
    let mut v = Vec::new();
    try_reserve_total(&mut v, len, what)?;
    v.resize(len, 0);
    io.read_exact_at(&mut v, offset)?;
    Ok(v)
}

/// `len` bytes at `offset` as a [`Buffer`]: a zero-copy view when the source is in memory, else
/// a new buffer read from the source (bounds checked first, as in [`read_vec_at`]).
pub fn read_buffer_at(io: &dyn ReadAt, offset: u64, len: usize, what: &str) -> Result<Buffer> {
    if let Some(view) = io.view_at(offset, len) {
        return Ok(view);
    }
    read_vec_at(io, offset, len, what).map(Buffer::from_vec)
}

/// An [`ErrorKind::Io`] error for `path`, keeping the system's message and kind as the source.
pub fn io_error(path: &Path, action: &str, e: std::io::Error) -> Error {
    Error::with_source(
        ErrorKind::Io,
        format!("{action} {}: {e}", path.display()),
        e,
    )
}

/// A file read and written at offsets through one open handle.
///
/// Reads and writes take `&self` and may run from many threads at once: on unix they are
/// `pread`/`pwrite`, which neither move nor share a file position.
#[derive(Debug)]
pub struct FileIo {
    file: File,
    path: PathBuf,
    #[cfg(not(unix))]
    lock: std::sync::Mutex<()>,
}

impl FileIo {
    /// Opens an existing file, read-only or read-write.
    pub fn open(path: impl AsRef<Path>, writable: bool) -> Result<Self> {
        let path = path.as_ref();
        let file = OpenOptions::new()
            .read(true)
            .write(writable)
            .open(path)
            .map_err(|e| io_error(path, "cannot open", e))?;
        Ok(Self::from_file(file, path))
    }

    /// Creates (or truncates) a file for reading and writing.
    pub fn create(path: impl AsRef<Path>) -> Result<Self> {
        let path = path.as_ref();
        let file = OpenOptions::new()
            .read(true)
            .write(true)
            .create(true)
            .truncate(true)
            .open(path)
            .map_err(|e| io_error(path, "cannot create", e))?;
        Ok(Self::from_file(file, path))
    }

    /// Wraps an open file; `path` names it in error messages.
    pub fn from_file(file: File, path: impl Into<PathBuf>) -> Self {
        FileIo {
            file,
            path: path.into(),
            #[cfg(not(unix))]
            lock: std::sync::Mutex::new(()),
        }
    }

    /// The path the file was opened with.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// The open file.
    pub fn file(&self) -> &File {
        &self.file
    }

    fn err(&self, action: &str, e: std::io::Error) -> Error {
        io_error(&self.path, action, e)
    }

    #[cfg(unix)]
    fn pread(&self, buf: &mut [u8], offset: u64) -> std::io::Result<()> {
        use std::os::unix::fs::FileExt;
        self.file.read_exact_at(buf, offset)
    }

    #[cfg(unix)]
    fn pwrite(&self, buf: &[u8], offset: u64) -> std::io::Result<()> {
        use std::os::unix::fs::FileExt;
        self.file.write_all_at(buf, offset)
    }

    #[cfg(not(unix))]
    fn pread(&self, buf: &mut [u8], offset: u64) -> std::io::Result<()> {
        use std::io::{Read, Seek, SeekFrom};
        let _guard = self.lock.lock().unwrap_or_else(|p| p.into_inner());
        let mut f = &self.file;
        f.seek(SeekFrom::Start(offset))?;
        f.read_exact(buf)
    }

    #[cfg(not(unix))]
    fn pwrite(&self, buf: &[u8], offset: u64) -> std::io::Result<()> {
        use std::io::{Seek, SeekFrom, Write};
        let _guard = self.lock.lock().unwrap_or_else(|p| p.into_inner());
        let mut f = &self.file;
        f.seek(SeekFrom::Start(offset))?;
        f.write_all(buf)
    }
}

impl ReadAt for FileIo {
    fn size(&self) -> Result<u64> {
        self.file
            .metadata()
            .map(|m| m.len())
            .map_err(|e| self.err("cannot stat", e))
    }

    fn read_exact_at(&self, buf: &mut [u8], offset: u64) -> Result<()> {
        match self.pread(buf, offset) {
            Ok(()) => Ok(()),
            Err(e) if e.kind() == std::io::ErrorKind::UnexpectedEof => {
                let size = self.size()?;
                Err(past_end(
                    &self.path.display().to_string(),
                    offset,
                    buf.len(),
                    size,
                ))
            }
            Err(e) => Err(self.err("cannot read", e)),
        }
    }
}

impl WriteAt for FileIo {
    fn write_all_at(&self, buf: &[u8], offset: u64) -> Result<()> {
        self.pwrite(buf, offset)
            .map_err(|e| self.err("cannot write", e))
    }

    fn set_size(&self, len: u64) -> Result<()> {
        self.file
            .set_len(len)
            .map_err(|e| self.err("cannot resize", e))
    }

    fn sync_data(&self) -> Result<()> {
        self.file
            .sync_data()
            .map_err(|e| self.err("cannot sync", e))
    }
}

/// A file mapped read-only into memory; [`ReadAt::view_at`] returns zero-copy views that keep
/// the map alive.
///
/// The map reflects the file as it was when mapped: a file that another process truncates
/// meanwhile can make reads of the lost pages fault (SIGBUS), which is why ndpack maps only
/// files opened for reading and never shrinks a file it reads.
#[derive(Debug, Clone)]
pub struct MmapIo {
    bytes: Buffer,
    path: PathBuf,
}

impl MmapIo {
    /// Maps the whole file at `path` read-only.
    pub fn open(path: impl AsRef<Path>) -> Result<Self> {
        let path = path.as_ref();
        let file = File::open(path).map_err(|e| io_error(path, "cannot open", e))?;
        let len = file
            .metadata()
            .map_err(|e| io_error(path, "cannot stat", e))?
            .len();
        let bytes = if len == 0 {
            Buffer::empty()
        } else {
            // SAFETY: the map is read-only; ndpack never truncates a file it maps (see the type's
            // docs), and the bytes are only read through `Buffer`.
            let map = unsafe { memmap2::Mmap::map(&file) }
                .map_err(|e| io_error(path, "cannot map", e))?;
            Buffer::from_owner(map)
        };
        Ok(MmapIo {
            bytes,
            path: path.to_path_buf(),
        })
    }

    /// The path of the mapped file.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// The whole map as one buffer.
    pub fn bytes(&self) -> &Buffer {
        &self.bytes
    }
}

impl ReadAt for MmapIo {
    fn size(&self) -> Result<u64> {
        self.bytes.size()
    }

    fn read_exact_at(&self, buf: &mut [u8], offset: u64) -> Result<()> {
        if !in_bounds(offset, buf.len(), self.bytes.len() as u64) {
            return Err(past_end(
                &self.path.display().to_string(),
                offset,
                buf.len(),
                self.bytes.len() as u64,
            ));
        }
        self.bytes.read_exact_at(buf, offset)
    }

    fn view_at(&self, offset: u64, len: usize) -> Option<Buffer> {
        self.bytes.view_at(offset, len)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Arc;

    fn tmp(name: &str) -> PathBuf {
        let dir = std::env::temp_dir().join(format!("ndpack-io-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        dir.join(name)
    }

    #[test]
    fn buffer_reads_and_views() {
        let b = Buffer::from_vec((0..100u8).collect());
        let mut out = [0u8; 4];
        b.read_exact_at(&mut out, 10).unwrap();
        assert_eq!(out, [10, 11, 12, 13]);
        let v = b.view_at(98, 2).unwrap();
        assert_eq!(&v[..], &[98, 99]);
        assert_eq!(v.as_ptr(), b[98..].as_ptr());
        assert!(b.view_at(99, 2).is_none());
        assert!(b.view_at(u64::MAX, 2).is_none());
        let e = b.read_exact_at(&mut out, 97).unwrap_err();
        assert_eq!(e.kind(), ErrorKind::Truncated);
    }

    #[test]
    fn file_writes_reads_and_names_the_path() {
        let path = tmp("file.bin");
        let f = FileIo::create(&path).unwrap();
        f.write_all_at(b"hello", 0).unwrap();
        f.write_all_at(b"world", 10).unwrap();
        assert_eq!(f.size().unwrap(), 15);
        let mut out = [0u8; 5];
        f.read_exact_at(&mut out, 10).unwrap();
        assert_eq!(&out, b"world");
        let e = f.read_exact_at(&mut out, 12).unwrap_err();
        assert_eq!(e.kind(), ErrorKind::Truncated);
        assert!(e.message().contains("file.bin"), "{e}");
        f.set_size(5).unwrap();
        f.sync_data().unwrap();
        assert_eq!(read_vec_at(&f, 0, 5, "x").unwrap(), b"hello");
        assert_eq!(
            read_vec_at(&f, 0, usize::MAX, "x").unwrap_err().kind(),
            ErrorKind::Truncated
        );
        assert!(read_buffer_at(&f, 1, 3, "x").unwrap() == Buffer::from_vec(b"ell".to_vec()));
        let e = FileIo::open(tmp("missing.bin"), false).unwrap_err();
        assert_eq!(e.kind(), ErrorKind::Io);
        assert!(e.message().contains("missing.bin"), "{e}");
        std::fs::remove_file(&path).unwrap();
    }

    #[test]
    fn file_reads_from_many_threads_at_once() {
        let path = tmp("threads.bin");
        let data: Vec<u8> = (0..65536u32).map(|i| (i * 7 % 251) as u8).collect();
        std::fs::write(&path, &data).unwrap();
        let f = Arc::new(FileIo::open(&path, false).unwrap());
        let handles: Vec<_> = (0..4)
            .map(|t| {
                let f = Arc::clone(&f);
                let data = data.clone();
                std::thread::spawn(move || {
                    for k in 0..200usize {
                        let at = (k * 997 + t * 131) % 60000;
                        let mut out = vec![0u8; 1000];
                        f.read_exact_at(&mut out, at as u64).unwrap();
                        assert_eq!(out, &data[at..at + 1000]);
                    }
                })
            })
            .collect();
        for h in handles {
            h.join().unwrap();
        }
        std::fs::remove_file(&path).unwrap();
    }

    #[test]
    fn mmap_views_keep_the_map_alive() {
        let path = tmp("map.bin");
        std::fs::write(&path, b"0123456789").unwrap();
        let view = {
            let m = MmapIo::open(&path).unwrap();
            assert_eq!(m.size().unwrap(), 10);
            let mut out = [0u8; 3];
            m.read_exact_at(&mut out, 7).unwrap();
            assert_eq!(&out, b"789");
            assert_eq!(
                m.read_exact_at(&mut out, 8).unwrap_err().kind(),
                ErrorKind::Truncated
            );
            m.view_at(2, 4).unwrap()
        };
        assert_eq!(&view[..], b"2345");
        drop(view);
        std::fs::write(&path, b"").unwrap();
        assert_eq!(MmapIo::open(&path).unwrap().size().unwrap(), 0);
        std::fs::remove_file(&path).unwrap();
    }
}
