//! b2nd arrays: python-blosc2's `NDArray` and python-caterva 0.7.3's arrays, stored as a
//! Blosc2 super-chunk ([`SChunk`]) in memory, in one frame file or in a sparse directory.
//!
//! The array is cut into chunks (C order over the chunk grid), each chunk padded to whole blocks
//! and stored as one Blosc2 chunk whose blocks are the array's blocks (C order inside the chunk,
//! each block contiguous with its items in C order): see [`layout`]. The shapes and the NumPy
//! dtype live in the `b2nd` metalayer, and for caterva in the `caterva` metalayer ([`meta`]).
//! Default chunk and block shapes follow python-blosc2's rule from the cache sizes
//! ([`partition`]).
//!
//! - Reads ([`NDArray::get_region`]) decode only the blocks a region touches, chunks (and the
//!   blocks of a chunk) in parallel on ndpack's pool, straight into the caller's memory, which
//!   may be strided ([`NDArray::get_region_into`]). Reads take `&self` and run from many
//!   threads at once.
//! - Writes ([`NDArray::set_region`]) compress the chunks a region covers in parallel; a chunk
//!   it covers in part is decoded, patched and recompressed. A constant
//!   ([`NDArray::fill_region`]) writes special chunks (no payload) where it covers whole chunks.
//!   Every write is one commit of the super-chunk. A write also comes in two steps
//!   ([`PreparedWrite`]): [`NDArray::prepare_set_region`] makes the new chunks with `&self`
//!   (beside reads and other writers' preparation), [`NDArray::commit_write`] stores them with
//!   `&mut self`; a caller that keeps writes of the same chunks apart (a lock per chunk, from
//!   [`NDArray::chunk_indices`]) serialises only the commits.
//! - [`NDArray::resize`] touches only the chunks that appear, disappear or change edge: new
//!   items are zero, and padding stays zero.
//! - Padding (past the array's end, or past the chunk shape inside a chunk) is written as zeros,
//!   as both libraries do; readers never look at it. Chunks of a constant (python-blosc2's
//!   `full`) hold the constant there too.
//!
//! ```
//! use ndpack::array::b2nd::{ArrayOptions, NDArray};
//! use ndpack::buffer::{ArrayMut, ArrayRef};
//! use ndpack::region::{Order, Region, Slice};
//! use ndpack::DataType;
//! let dtype: DataType = "<i4".parse()?;
//! let opts = ArrayOptions { chunks: Some(vec![4, 4]), blocks: Some(vec![2, 2]), ..Default::default() };
//! let mut a = NDArray::zeros(&[6, 7], dtype.clone().into(), &opts)?;
//! let data: Vec<u8> = (0..6i32).flat_map(|v| v.to_le_bytes()).collect();
//! let row = Region::new(vec![Slice::at(5)?, Slice::new(1, 7, 1)?]);
//! a.set_region(&row, &ArrayRef::new(&data, dtype.clone(), vec![1, 6], Order::C)?)?;
//! let mut out = vec![0u8; 4 * 2];
//! let key = Region::new(vec![Slice::at(5)?, Slice::new(6, 3, -2)?]); // a[5, 6:3:-2]
//! a.get_region(&key, &mut ArrayMut { data: &mut out, dtype, shape: vec![1, 2], order: Order::C })?;
//! assert_eq!(out, [5, 0, 0, 0, 3, 0, 0, 0]);
//! # Ok::<(), ndpack::Error>(())
//! ```

use std::path::Path;

use crate::blosc::frame::{DParams, Mode, OpenOptions, SChunk, Special, Storage};
use crate::blosc::v2::{self, CParams};
use crate::buffer::Buffer;
use crate::error::{Error, ErrorKind, Result};
use crate::region::ChunkGrid;

pub mod layout;
pub mod meta;
pub mod parallel;
pub mod partition;
mod read;
mod write;

pub use layout::{BlockPart, ChunkLayout, ChunkPart};
pub use meta::{ArrayMeta, Dtype, B2ND_MAX_DIM, CATERVA_MAX_DIM};
pub use partition::{compute_chunks_blocks, CacheInfo, Platform};
pub use write::PreparedWrite;

/// The name of python-blosc2's metalayer.
pub const B2ND_META: &str = "b2nd";
/// The name of python-caterva's metalayer.
pub const CATERVA_META: &str = "caterva";

/// How to create an array: python-blosc2's keywords.
#[derive(Debug, Clone, Default)]
pub struct ArrayOptions {
    /// The chunk shape; `None`: python-blosc2's default for this machine
    /// ([`compute_chunks_blocks`]).
    pub chunks: Option<Vec<usize>>,
    /// The block shape; `None`: python-blosc2's default.
    pub blocks: Option<Vec<usize>>,
    /// Compression parameters; `None`: python-blosc2's defaults (zstd, clevel 5, shuffle), or
    /// for [`NDArray::copy`] the source's. The typesize and blocksize are always the array's.
    pub cparams: Option<CParams>,
    /// Decompression parameters.
    pub dparams: DParams,
    /// Where the array lives (memory, a frame file or a sparse directory) and its extra fixed
    /// metalayers (written after `b2nd` and `caterva`). [`Mode::Append`] refuses to replace an
    /// existing file; [`Mode::Write`] replaces it.
    pub storage: Storage,
    /// Also write the `caterva` metalayer, so that python-caterva 0.7.3 opens the array (at
    /// most [`CATERVA_MAX_DIM`] dimensions).
    pub caterva: bool,
}

/// What one chunk holds, from [`NDArray::chunks_info`] (python-blosc2's `iterchunks_info`).
#[derive(Debug, Clone, PartialEq)]
pub struct ChunkInfo {
    /// The chunk's number.
    pub nchunk: usize,
    /// Its coordinates in the chunk grid.
    pub coords: Vec<usize>,
    /// Its decoded size (padding included).
    pub nbytes: usize,
    /// Its stored size (0 for zeros, NaNs and uninitialized chunks, which have no payload).
    pub cbytes: usize,
    /// `nbytes / cbytes` (infinite for a chunk without payload).
    pub cratio: f64,
    /// The constant the chunk holds, if it is a special chunk.
    pub special: Option<Special>,
}

/// A chunked, blocked, compressed N-d array (see the module docs).
#[derive(Debug)]
pub struct NDArray {
    schunk: SChunk,
    meta: ArrayMeta,
    layout: ChunkLayout,
}

impl NDArray {
    /// A new array of `shape` and `dtype` whose items are all zero (python-blosc2's `zeros`
    /// and `empty`): every chunk is a zero special chunk, no payload.
    pub fn zeros(shape: &[usize], dtype: Dtype, opts: &ArrayOptions) -> Result<NDArray> {
        let mut a = NDArray::create_empty(shape, dtype, opts)?;
        a.append_special(Special::Zeros)?;
        Ok(a)
    }

    /// A new array whose items all hold `value` (one item's bytes; python-blosc2's `full`):
    /// repeated-value chunks, or zero chunks when `value` is all zero bytes.
    pub fn full(
        shape: &[usize],
        dtype: Dtype,
        value: &[u8],
        opts: &ArrayOptions,
    ) -> Result<NDArray> {
        let mut a = NDArray::create_empty(shape, dtype, opts)?;
        a.check_value(value)?;
        a.append_special(special_for(value))?;
        Ok(a)
    }

    /// A new array holding `data`: the items of `shape` in C order (python-blosc2's
    /// `frombuffer` / `asarray`). Chunks are compressed in parallel.
    pub fn from_buffer(
        data: &[u8],
        shape: &[usize],
        dtype: Dtype,
        opts: &ArrayOptions,
    ) -> Result<NDArray> {
        let mut a = NDArray::create_empty(shape, dtype, opts)?;
        let its = a.itemsize();
        let want = crate::region::Layout::c(shape, its).num_bytes()?;
        if data.len() != want {
            return Err(Error::invalid_argument(format!(
                "{} bytes do not hold shape {shape:?} of {its}-byte items ({want} bytes)",
                data.len()
            )));
        }
        a.append_from_c(data)?;
        Ok(a)
    }

    /// Opens the array in the frame file or sparse directory at `path` (python-blosc2's
    /// `blosc2.open`): the `b2nd` metalayer, else the `caterva` one (byte strings of the
    /// frame's typesize, `|S<n>`, as caterva 0.7.3 returns them).
    pub fn open(path: impl AsRef<Path>, mode: Mode) -> Result<NDArray> {
        NDArray::from_schunk(SChunk::open(path, mode)?)
    }

    /// Opens an array with all of [`OpenOptions`] (an offset in a file, a memory map).
    pub fn open_with_options(path: impl AsRef<Path>, opts: &OpenOptions) -> Result<NDArray> {
        NDArray::from_schunk(SChunk::open_with_options(path, opts)?)
    }

    /// The array in a contiguous frame held in memory (python-blosc2's
    /// `ndarray_from_cframe`); with `copy` false the chunks are views of `cframe`.
    pub fn from_cframe(cframe: Buffer, copy: bool) -> Result<NDArray> {
        NDArray::from_schunk(SChunk::from_cframe(cframe, copy)?)
    }

    /// The array a super-chunk holds, checked: its metalayer, its typesize, its number of
    /// chunks and its chunk size must agree with each other.
    pub fn from_schunk(schunk: SChunk) -> Result<NDArray> {
        let its = schunk.typesize();
        let meta = if let Some(m) = schunk.meta_get(B2ND_META) {
            ArrayMeta::from_b2nd(m, its)?
        } else if let Some(m) = schunk.meta_get(CATERVA_META) {
            ArrayMeta::from_caterva(m, its)?
        } else {
            return Err(Error::invalid_argument(
                "the super-chunk is not an N-d array: it has neither a b2nd nor a caterva \
                 metalayer",
            ));
        };
        let layout = ChunkLayout::new(&meta)?;
        if schunk.nchunks() != layout.nchunks() {
            return Err(Error::corrupt(format!(
                "an array of shape {:?} in chunks {:?} has {} chunks, the frame {}",
                meta.shape(),
                meta.chunks(),
                layout.nchunks(),
                schunk.nchunks()
            )));
        }
        if schunk.nchunks() > 0 && schunk.chunksize() != layout.chunk_bytes() {
            return Err(Error::corrupt(format!(
                "chunks {:?} in blocks {:?} of {its}-byte items hold {} bytes, the frame's \
                 chunksize is {}",
                meta.chunks(),
                meta.blocks(),
                layout.chunk_bytes(),
                schunk.chunksize()
            )));
        }
        Ok(NDArray {
            schunk,
            meta,
            layout,
        })
    }

    /// An empty array: the super-chunk with its metalayers and no chunk yet.
    fn create_empty(shape: &[usize], dtype: Dtype, opts: &ArrayOptions) -> Result<NDArray> {
        let its = dtype.itemsize();
        let (chunks, blocks) = compute_chunks_blocks(
            shape,
            opts.chunks.as_deref(),
            opts.blocks.as_deref(),
            its,
            &CacheInfo::detect(),
        )?;
        let meta = ArrayMeta::new(shape.to_vec(), chunks, blocks, dtype)?;
        let layout = ChunkLayout::new(&meta)?;
        let cparams = array_cparams(opts.cparams.clone().unwrap_or_default(), &layout);
        let mut storage = opts.storage.clone();
        let mut metas = vec![(B2ND_META.to_string(), meta.to_b2nd())];
        if opts.caterva {
            metas.push((CATERVA_META.to_string(), meta.to_caterva()?));
        }
        for (name, _) in &storage.meta {
            if name == B2ND_META || name == CATERVA_META {
                return Err(Error::invalid_argument(format!(
                    "the metalayer {name:?} is the array's own"
                )));
            }
        }
        metas.append(&mut storage.meta);
        storage.meta = metas;
        if let Some(path) = &storage.urlpath {
            if storage.mode == Mode::Append && path.exists() {
                return Err(Error::invalid_argument(format!(
                    "{} exists; open it, or create the array with mode 'w' to replace it",
                    path.display()
                )));
            }
        }
        let schunk = SChunk::new(layout.chunk_bytes(), cparams, opts.dparams, storage)?;
        Ok(NDArray {
            schunk,
            meta,
            layout,
        })
    }

    /// Appends every chunk as the same header-only special chunk (one commit).
    fn append_special(&mut self, special: Special) -> Result<()> {
        let l = &self.layout;
        let chunk = match special {
            Special::Value(v) => v2::repeat_chunk(l.chunk_bytes(), &v, l.block_bytes())?,
            _ => v2::zeros_chunk(l.chunk_bytes(), l.itemsize(), l.block_bytes())?,
        };
        let n = l.nchunks();
        self.schunk.begin_updates();
        let result = (0..n).try_for_each(|_| self.schunk.append_chunk(&chunk).map(|_| ()));
        let end = self.schunk.end_updates();
        result.and(end)
    }

    /// Checks that `value` is one item.
    fn check_value(&self, value: &[u8]) -> Result<()> {
        if value.len() != self.itemsize() {
            return Err(Error::invalid_argument(format!(
                "a fill value of {} bytes for {}-byte items",
                value.len(),
                self.itemsize()
            )));
        }
        Ok(())
    }

    /// The array's shape.
    pub fn shape(&self) -> &[usize] {
        self.meta.shape()
    }

    /// The chunk shape.
    pub fn chunks(&self) -> &[usize] {
        self.meta.chunks()
    }

    /// The block shape.
    pub fn blocks(&self) -> &[usize] {
        self.meta.blocks()
    }

    /// The data type.
    pub fn dtype(&self) -> &Dtype {
        self.meta.dtype()
    }

    /// The metalayer contents (shapes and dtype).
    pub fn meta(&self) -> &ArrayMeta {
        &self.meta
    }

    /// The chunk and block geometry.
    pub fn layout(&self) -> &ChunkLayout {
        &self.layout
    }

    /// The number of dimensions.
    pub fn ndim(&self) -> usize {
        self.meta.ndim()
    }

    /// Bytes per item.
    pub fn itemsize(&self) -> usize {
        self.meta.dtype().itemsize()
    }

    /// The number of items.
    pub fn size(&self) -> usize {
        // Checked by `ArrayMeta::new`: the bytes fit `isize`.
        self.shape().iter().product()
    }

    /// The shape padded to whole chunks.
    pub fn ext_shape(&self) -> Vec<usize> {
        self.layout.ext_shape()
    }

    /// The chunk shape padded to whole blocks.
    pub fn ext_chunks(&self) -> &[usize] {
        self.layout.ext_chunks()
    }

    /// The array's bytes, uncompressed and without padding (python-blosc2's `nbytes`).
    pub fn nbytes(&self) -> usize {
        self.size() * self.itemsize()
    }

    /// The compressed bytes of the chunks (python-blosc2's `cbytes`).
    pub fn cbytes(&self) -> u64 {
        self.schunk.cbytes()
    }

    /// `nbytes / cbytes` (python-blosc2's `cratio`).
    pub fn cratio(&self) -> f64 {
        match self.cbytes() {
            0 => f64::INFINITY,
            c => self.nbytes() as f64 / c as f64,
        }
    }

    /// The super-chunk underneath.
    pub fn schunk(&self) -> &SChunk {
        &self.schunk
    }

    /// The super-chunk underneath, to change its variable-length metalayers, compression
    /// parameters or other metalayers. Changing its chunks or the `b2nd`/`caterva`
    /// metalayers breaks the array.
    pub fn schunk_mut(&mut self) -> &mut SChunk {
        &mut self.schunk
    }

    /// The super-chunk, giving up the array.
    pub fn into_schunk(self) -> SChunk {
        self.schunk
    }

    /// The array as a contiguous frame (python-blosc2's `to_cframe`).
    pub fn to_cframe(&self) -> Result<Vec<u8>> {
        self.schunk.to_cframe()
    }

    /// What each chunk holds, in order (python-blosc2's `iterchunks_info`).
    pub fn chunks_info(&self) -> impl Iterator<Item = Result<ChunkInfo>> + '_ {
        (0..self.layout.nchunks()).map(move |n| {
            let special = self.schunk.chunk_special(n)?;
            let nbytes = self.schunk.chunk_nbytes(n)?;
            let cbytes = match special {
                Some(Special::Zeros | Special::Nan | Special::Uninit) => 0,
                _ => self.schunk.get_chunk(n)?.len(),
            };
            Ok(ChunkInfo {
                nchunk: n,
                coords: self.layout.grid().chunk_coords(n)?,
                nbytes,
                cbytes,
                cratio: if cbytes == 0 {
                    f64::INFINITY
                } else {
                    nbytes as f64 / cbytes as f64
                },
                special,
            })
        })
    }

    /// The grid of chunks over the array.
    pub fn chunk_grid(&self) -> &ChunkGrid {
        self.layout.grid()
    }
}

/// `cparams` with the array's typesize and blocksize.
fn array_cparams(mut cparams: CParams, layout: &ChunkLayout) -> CParams {
    cparams.typesize = layout.itemsize();
    cparams.blocksize = layout.block_bytes();
    cparams
}

/// The special chunk that holds `value` everywhere.
fn special_for(value: &[u8]) -> Special {
    if value.iter().all(|&b| b == 0) {
        Special::Zeros
    } else {
        Special::Value(value.to_vec())
    }
}

/// A bad chunk read from storage: its size does not match the array's.
fn check_chunk_nbytes(nchunk: usize, nbytes: usize, layout: &ChunkLayout) -> Result<()> {
    if nbytes != layout.chunk_bytes() {
        return Err(Error::new(
            ErrorKind::Corrupt,
            format!(
                "chunk {nchunk} decodes to {nbytes} bytes; the array's chunks hold {}",
                layout.chunk_bytes()
            ),
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests;
