//! Sparse frame directories: `chunks.b2frame` (header, offsets chunk mapping each position to a
//! chunk id, trailer) and one `%08X.chunk` file per stored chunk. Chunk files and the index are
//! written to temporary names and renamed into place; the index rename is the commit.

use std::path::{Path, PathBuf};

use super::header::FrameHeader;
use super::parse::{parse_frame, Parsed};
use super::{Entry, OpenOptions};
use crate::blosc::v2::MAX_OVERHEAD;
use crate::buffer::Buffer;
use crate::error::{Error, Result};
use crate::io::io_error;

/// The index file of a sparse frame.
pub(crate) const INDEX: &str = "chunks.b2frame";
/// The largest index or chunk file ndpack reads.
const MAX_FILE: u64 = i32::MAX as u64;

/// A sparse frame directory.
#[derive(Debug)]
pub(crate) struct SparseDir {
    dir: PathBuf,
    next_id: u64,
    /// Ids whose files are removed after the next commit.
    doomed: Vec<i64>,
    sync: bool,
}

pub(super) fn chunk_name(id: i64) -> String {
    format!("{:08X}.chunk", id as u64)
}

pub(super) fn read_file(path: &Path, what: &str) -> Result<Vec<u8>> {
    let md = std::fs::metadata(path).map_err(|e| io_error(path, "cannot open", e))?;
    if md.len() > MAX_FILE {
        return Err(Error::too_large(format!(
            "{what} {} has {} bytes",
            path.display(),
            md.len()
        )));
    }
    let mut v = Vec::new();
    crate::buffer::try_reserve_total(&mut v, md.len() as usize, what)?;
    use std::io::Read;
    std::fs::File::open(path)
        .and_then(|f| f.take(MAX_FILE).read_to_end(&mut v))
        .map_err(|e| io_error(path, "cannot read", e))?;
    Ok(v)
}

/// Writes `bytes` to a temporary file beside `dest` (synced when `sync`) and renames it there.
fn write_replace(dest: &Path, bytes: &[u8], sync: bool) -> Result<()> {
    use std::io::Write;
    let name = dest
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let tmp = dest.with_file_name(format!(".{name}.tmp-{}", std::process::id()));
    let r = (|| {
        let mut f = std::fs::File::create(&tmp)?;
        f.write_all(bytes)?;
        if sync {
            f.sync_data()?;
        }
        std::fs::rename(&tmp, dest)
    })();
    r.map_err(|e| {
        let _ = std::fs::remove_file(&tmp);
        io_error(dest, "cannot write", e)
    })
}

impl SparseDir {
    /// Makes an empty directory at `path`, removing the index and chunk files of a frame
    /// there (or a file of that name). A directory holding other files is an error.
    pub fn create(path: &Path, sync: bool) -> Result<SparseDir> {
        if path.is_file() {
            std::fs::remove_file(path).map_err(|e| io_error(path, "cannot remove", e))?;
        } else if path.is_dir() {
            let list = std::fs::read_dir(path).map_err(|e| io_error(path, "cannot list", e))?;
            let mut ours = Vec::new();
            for item in list {
                let item = item.map_err(|e| io_error(path, "cannot list", e))?;
                let name = item.file_name().to_string_lossy().into_owned();
                if name == INDEX
                    || name.ends_with(".chunk")
                    || name.contains(".tmp-")
                    || name.ends_with(".chunk.lock")
                {
                    ours.push(item.path());
                } else {
                    return Err(Error::invalid_argument(format!(
                        "{} holds {name:?}, not a sparse frame; not replacing it",
                        path.display()
                    )));
                }
            }
            for p in ours {
                std::fs::remove_file(&p).map_err(|e| io_error(&p, "cannot remove", e))?;
            }
        }
        std::fs::create_dir_all(path).map_err(|e| io_error(path, "cannot create", e))?;
        Ok(SparseDir {
            dir: path.to_path_buf(),
            next_id: 0,
            doomed: Vec::new(),
            sync,
        })
    }

    /// Opens the sparse frame in directory `path`.
    pub fn open(path: &Path, opts: &OpenOptions) -> Result<(Parsed, SparseDir)> {
        let index = read_file(&path.join(INDEX), "a sparse frame index")?;
        let parsed = parse_frame(&Buffer::from_vec(index), 0, true)?;
        let next_id = parsed
            .offsets
            .iter()
            .filter(|&&o| o >= 0)
            .max()
            .map_or(0, |&m| m as u64 + 1);
        Ok((
            parsed,
            SparseDir {
                dir: path.to_path_buf(),
                next_id,
                doomed: Vec::new(),
                sync: opts.sync,
            },
        ))
    }

    pub fn path(&self) -> &Path {
        &self.dir
    }

    pub fn sync(&self) -> bool {
        self.sync
    }

    fn chunk_path(&self, id: i64) -> PathBuf {
        self.dir.join(chunk_name(id))
    }

    /// Sets each stored entry's size to its file's.
    pub fn fill_sizes(&self, entries: &mut [Entry]) {
        for e in entries.iter_mut().filter(|e| !e.is_special()) {
            if let Ok(md) = std::fs::metadata(self.chunk_path(e.off)) {
                e.cbytes = md.len();
                e.exact = true;
            }
        }
    }

    /// The bytes of a stored chunk, trimmed to the size in its header.
    pub fn read(&self, e: &Entry) -> Result<Buffer> {
        let path = self.chunk_path(e.off);
        let v = read_file(&path, "a chunk file")?;
        if v.len() < MAX_OVERHEAD {
            return Err(Error::truncated(format!(
                "chunk file {} has {} bytes",
                path.display(),
                v.len()
            )));
        }
        let cb = i32::from_le_bytes(v[12..16].try_into().expect("4 bytes"));
        if cb < MAX_OVERHEAD as i32 || cb as usize > v.len() {
            return Err(Error::corrupt(format!(
                "chunk file {} declares {cb} bytes, holds {}",
                path.display(),
                v.len()
            )));
        }
        Ok(Buffer::from_vec(v).slice(0..cb as usize))
    }

    /// Writes a chunk file (a new id, or `reuse`: renamed over that id); returns the id.
    pub fn put(&mut self, chunk: &[u8], reuse: Option<i64>) -> Result<i64> {
        let id = match reuse {
            Some(id) => id,
            None => {
                let id = self.next_id as i64;
                self.next_id += 1;
                id
            }
        };
        write_replace(&self.chunk_path(id), chunk, self.sync)?;
        Ok(id)
    }

    /// Removes chunk file `id` after the next commit.
    pub fn release(&mut self, id: i64) {
        self.doomed.push(id);
    }

    /// Writes the index (header, offsets chunk, trailer) over the old one, then removes the
    /// files of deleted chunks.
    pub fn commit(&mut self, h: &mut FrameHeader, ochunk: &[u8], trailer: &[u8]) -> Result<()> {
        let hl = h.built_len();
        h.frame_len = (hl + ochunk.len() + trailer.len()) as u64;
        let mut bytes = h.build()?;
        bytes.extend_from_slice(ochunk);
        bytes.extend_from_slice(trailer);
        write_replace(&self.dir.join(INDEX), &bytes, self.sync)?;
        for id in std::mem::take(&mut self.doomed) {
            let p = self.chunk_path(id);
            match std::fs::remove_file(&p) {
                Ok(()) => {}
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
                Err(e) => return Err(io_error(&p, "cannot remove", e)),
            }
        }
        Ok(())
    }

    /// Removes chunk files that no entry references (left by an interrupted write).
    pub fn remove_orphans(&self, entries: &[Entry]) -> Result<()> {
        let live: std::collections::HashSet<String> = entries
            .iter()
            .filter(|e| !e.is_special())
            .map(|e| chunk_name(e.off))
            .collect();
        let list =
            std::fs::read_dir(&self.dir).map_err(|e| io_error(&self.dir, "cannot list", e))?;
        for item in list {
            let item = item.map_err(|e| io_error(&self.dir, "cannot list", e))?;
            let name = item.file_name().to_string_lossy().into_owned();
            let orphan =
                (name.ends_with(".chunk") && !live.contains(&name)) || name.contains(".tmp-");
            if orphan {
                let p = item.path();
                std::fs::remove_file(&p).map_err(|e| io_error(&p, "cannot remove", e))?;
            }
        }
        Ok(())
    }
}
