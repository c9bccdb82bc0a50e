//! The files of chunks stored in a folder (zarr's `LocalStore`): whole reads, positional reads
//! of byte ranges (parts of shards and of uncompressed chunks), and writes through a temporary
//! file renamed over the chunk's.

use std::borrow::Cow;
use std::ops::Range;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};

use rayon::prelude::*;

use crate::codec::zarr3::RangeRead;
use crate::error::{Error, Result};

/// A chunk file read with positional reads.
pub(crate) struct FileRanges {
    file: std::fs::File,
    size: u64,
}

impl RangeRead for FileRanges {
    fn size(&self) -> Result<u64> {
        Ok(self.size)
    }

    fn read_ranges(&self, ranges: &[Range<u64>]) -> Result<Vec<Cow<'_, [u8]>>> {
        use std::os::unix::fs::FileExt;
        ranges
            .iter()
            .map(|r| {
                if r.start > r.end || r.end > self.size {
                    return Err(Error::corrupt(format!(
                        "byte range {r:?} outside a file of {} bytes",
                        self.size
                    )));
                }
                let mut buf = vec![0u8; (r.end - r.start) as usize];
                self.file.read_exact_at(&mut buf, r.start)?;
                Ok(Cow::Owned(buf))
            })
            .collect()
    }
}

/// Opens a chunk file for positional reads; `None` when it does not exist.
pub(crate) fn open_ranges(path: &Path) -> Result<Option<FileRanges>> {
    match std::fs::File::open(path) {
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
        Err(e) => Err(Error::from(e)),
        Ok(file) => {
            let size = file.metadata()?.len();
            Ok(Some(FileRanges { file, size }))
        }
    }
}

/// Writes `data` to `path` atomically: a temporary file beside it, renamed over it (a write
/// killed half way leaves the old file).
pub(crate) fn write_file(path: &Path, data: &[u8]) -> Result<()> {
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    let name = path.file_name().ok_or_else(|| {
        Error::invalid_argument(format!("chunk path {} has no file name", path.display()))
    })?;
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir)?;
    }
    let mut tmp_name = name.to_os_string();
    tmp_name.push(format!(
        ".{}-{}.partial",
        std::process::id(),
        COUNTER.fetch_add(1, Ordering::Relaxed)
    ));
    let tmp = path.with_file_name(tmp_name);
    let written = std::fs::write(&tmp, data).and_then(|()| std::fs::rename(&tmp, path));
    if let Err(e) = written {
        let _ = std::fs::remove_file(&tmp);
        return Err(Error::from(e));
    }
    Ok(())
}

/// Removes a chunk file; one that does not exist is fine.
pub(crate) fn remove_file(path: &Path) -> Result<()> {
    match std::fs::remove_file(path) {
        Err(e) if e.kind() != std::io::ErrorKind::NotFound => Err(Error::from(e)),
        _ => Ok(()),
    }
}

/// Reads a whole chunk file: `None` when it does not exist; one over the decode-size limit is
/// [`crate::ErrorKind::TooLarge`].
pub(crate) fn read_file(p: &Path) -> Result<Option<Vec<u8>>> {
    match std::fs::metadata(p) {
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
        Err(e) => Err(Error::from(e)),
        Ok(meta) if meta.len() > crate::error::MAX_DECODED_SIZE as u64 => {
            Err(Error::too_large(format!(
                "chunk file {} of {} bytes is over the limit",
                p.display(),
                meta.len()
            )))
        }
        Ok(_) => match std::fs::read(p) {
            Ok(v) => Ok(Some(v)),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
            Err(e) => Err(Error::from(e)),
        },
    }
}

/// Reads whole files in parallel: `None` for a file that does not exist, an error for any
/// other failure. Files over the decode-size limit are [`crate::ErrorKind::TooLarge`].
pub fn read_files(paths: &[PathBuf]) -> Result<Vec<Option<Vec<u8>>>> {
    crate::threads::install(|| paths.par_iter().map(|p| read_file(p)).collect())
}
