//! Writing regions of a sparse b2nd array from many processes at once
//! ([`ParallelWriter`]), over the lock-free protocol of [`crate::blosc::frame::SparseWriter`]:
//! chunks a region covers whole are compressed and renamed into place without any lock;
//! chunks it covers in part are read, patched and rewritten under the chunk's file lock. The
//! index is made exact afterwards by [`commit_parallel`], in one process; [`resize_parallel`]
//! changes the shape between writes.

use std::path::Path;

use rayon::prelude::*;

use super::layout::ChunkLayout;
use super::meta::ArrayMeta;
use super::{array_cparams, ArrayOptions, NDArray, B2ND_META, CATERVA_META};
use crate::blosc::frame::{commit_sparse_writes, make_identity, CommitSummary, Mode, SparseWriter};
use crate::blosc::v2::{self, CParams};
use crate::buffer::ArrayRef;
use crate::error::{Error, Result};
use crate::region::{ChunkSelection, Region};
use crate::threads;

/// Writes regions of a sparse b2nd array without touching its index (see the module docs).
/// Every method takes `&self`; handles in many threads and processes write one array at once.
#[derive(Debug, Clone)]
pub struct ParallelWriter {
    frame: SparseWriter,
    meta: ArrayMeta,
    layout: ChunkLayout,
    cparams: CParams,
}

impl ParallelWriter {
    /// Opens the sparse array in directory `path` (created by [`create_parallel`], or any
    /// sparse array whose stored chunks sit in the files of their own positions).
    pub fn open(path: impl AsRef<Path>) -> Result<ParallelWriter> {
        let frame = SparseWriter::open(path)?;
        let its = frame.cparams().typesize;
        let meta = if let Some(m) = frame.meta_get(B2ND_META) {
            ArrayMeta::from_b2nd(m, its)?
        } else if let Some(m) = frame.meta_get(CATERVA_META) {
            ArrayMeta::from_caterva(m, its)?
        } else {
            return Err(Error::invalid_argument(
                "the sparse frame is not an N-d array: it has no b2nd metalayer",
            ));
        };
        let layout = ChunkLayout::new(&meta)?;
        if frame.nchunks() != layout.nchunks()
            || (frame.nchunks() > 0 && frame.chunk_nbytes(0)? != layout.chunk_bytes())
        {
            return Err(Error::corrupt(format!(
                "an array of shape {:?} in chunks {:?} does not match its frame ({} chunks)",
                meta.shape(),
                meta.chunks(),
                frame.nchunks()
            )));
        }
        let cparams = array_cparams(frame.cparams().clone(), &layout);
        Ok(ParallelWriter {
            frame,
            meta,
            layout,
            cparams,
        })
    }

    /// The array's shapes and dtype.
    pub fn meta(&self) -> &ArrayMeta {
        &self.meta
    }

    /// The chunk and block geometry.
    pub fn layout(&self) -> &ChunkLayout {
        &self.layout
    }

    /// `fsync` each chunk file before its rename.
    pub fn set_sync(&mut self, sync: bool) {
        self.frame.set_sync(sync);
    }

    /// Whether `region` covers only whole chunks (chunks cut by the array's end count as
    /// whole): such a write takes no lock.
    pub fn is_aligned(&self, region: &Region) -> Result<bool> {
        let parts: Vec<ChunkSelection> = self.layout.grid().chunks_for(region)?.collect();
        for p in &parts {
            if p.within.shape() != self.layout.chunk_valid(p.index)?.shape() {
                return Ok(false);
            }
        }
        Ok(true)
    }

    /// Writes `data` (the region's shape, items of the array's size, either order) into
    /// `region` (steps allowed; inside the array), the chunks in parallel on ndpack's pool.
    pub fn set_region(&self, region: &Region, data: &ArrayRef<'_>) -> Result<()> {
        let src = super::write::check_write_data(self.meta.dtype().itemsize(), region, data)?;
        let parts: Vec<ChunkSelection> = self.layout.grid().chunks_for(region)?.collect();
        let one = |part: &ChunkSelection| -> Result<()> {
            let l = &self.layout;
            let valid = l.chunk_valid(part.index)?;
            let patch = |raw: &mut [u8]| -> Result<()> {
                l.write_chunk(raw, &part.within, data.data, src, &part.out)?;
                l.zero_outside(raw, &valid)
            };
            if part.within.shape() == valid.shape() {
                let mut raw = zeroed(l.chunk_bytes())?;
                patch(&mut raw)?;
                self.frame
                    .write_chunk(part.index, &v2::compress(&raw, &self.cparams)?)
            } else {
                self.frame.update_chunk(part.index, patch)
            }
        };
        if parts.len() > 1 {
            threads::install(|| parts.par_iter().try_for_each(one))
        } else {
            parts.iter().try_for_each(one)
        }
    }
}

/// Creates a sparse array at `path` (replacing one there) for [`ParallelWriter`]s: its final
/// shape, dtype, chunks, blocks, compression parameters and metalayers, every chunk a zero
/// special chunk (no file). `opts.storage`'s path, contiguity and mode are set here.
pub fn create_parallel(
    path: impl AsRef<Path>,
    shape: &[usize],
    dtype: super::Dtype,
    opts: &ArrayOptions,
) -> Result<NDArray> {
    let mut opts = opts.clone();
    opts.storage.urlpath = Some(path.as_ref().to_path_buf());
    opts.storage.contiguous = false;
    opts.storage.mode = Mode::Write;
    NDArray::zeros(shape, dtype, &opts)
}

/// Makes the index of a sparse array written by [`ParallelWriter`]s exact (in one process,
/// after every writer is done; also after writers died). See
/// [`crate::blosc::frame::commit_sparse_writes`].
pub fn commit_parallel(path: impl AsRef<Path>, sync: bool) -> Result<CommitSummary> {
    commit_sparse_writes(path, sync)
}

/// Changes the shape of the sparse array at `path` (as [`NDArray::resize`]: new items are zero)
/// and keeps it writable by [`ParallelWriter`]s: chunks that the resize moved to other
/// positions (growing or shrinking an inner dimension) get the files of their new positions
/// (see [`make_identity`]). Chunks written in parallel and not yet committed are committed
/// first. Run it in one process while nobody writes the array.
pub fn resize_parallel(path: impl AsRef<Path>, new_shape: &[usize]) -> Result<()> {
    let path = path.as_ref();
    if !path.is_dir() {
        return Err(Error::invalid_argument(format!(
            "{} is not a sparse array directory",
            path.display()
        )));
    }
    if SparseWriter::open(path).is_ok() {
        commit_sparse_writes(path, false)?;
    }
    let mut a = NDArray::open(path, Mode::Append)?;
    a.resize(new_shape)?;
    drop(a);
    make_identity(path, false)?;
    Ok(())
}

/// `n` zero bytes, or an out-of-memory error.
fn zeroed(n: usize) -> Result<Vec<u8>> {
    let mut v = Vec::new();
    v.try_reserve_exact(n)
        .map_err(|_| Error::alloc_failed("a chunk", n))?;
    v.resize(n, 0);
    Ok(v)
}

#[cfg(test)]
mod tests;
