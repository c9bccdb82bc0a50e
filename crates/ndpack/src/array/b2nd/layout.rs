//! Where the items of a b2nd array live: the chunk grid over the array (C order), each chunk
//! padded to whole blocks (the *extended chunk* shape), the block grid inside a chunk (C order,
//! each block contiguous with its items in C order), which blocks of which chunks a region
//! touches, and the copies between a caller's array and a chunk's blocks. Padding (past the
//! array's end or past the chunk shape inside the extended chunk) is zero.

use std::ops::Range;

use crate::error::{Error, Result};
use crate::region::{copy_region, strides, ChunkGrid, Layout as ByteLayout, Order, Region, Slice};

use super::meta::ArrayMeta;

/// The chunk and block geometry of a b2nd array (see the module docs).
///
/// ```
/// use ndpack::array::b2nd::{ArrayMeta, ChunkLayout};
/// // The spec's example: chunk (10, 10, 10) in blocks (4, 3, 7) is stored as (12, 12, 14).
/// let meta = ArrayMeta::new(vec![25, 10, 10], vec![10, 10, 10], vec![4, 3, 7], "<f8".parse()?)?;
/// let layout = ChunkLayout::new(&meta)?;
/// assert_eq!(layout.ext_chunks(), [12, 12, 14]);
/// assert_eq!(layout.chunk_bytes(), 16128);
/// assert_eq!(layout.nchunks(), 3);
/// assert_eq!(layout.ext_shape(), [30, 10, 10]);
/// # Ok::<(), ndpack::Error>(())
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ChunkLayout {
    shape: Vec<usize>,
    chunks: Vec<usize>,
    blocks: Vec<usize>,
    itemsize: usize,
    /// Chunks over the array. Dimensions of length 0 may have chunks of 0; the grid uses 1
    /// there (no chunk either way).
    grid: ChunkGrid,
    ext_chunks: Vec<usize>,
    /// Blocks over one extended chunk.
    block_grid: ChunkGrid,
    chunk_bytes: usize,
    block_bytes: usize,
}

/// The blocks of one chunk that a region touches: see [`ChunkLayout::plan`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ChunkPart {
    /// The chunk's number (C order of the chunk grid).
    pub nchunk: usize,
    /// The items taken from the chunk, in chunk coordinates.
    pub within: Region,
    /// Where they go in the region's output (a box of positions).
    pub out: Region,
    /// The blocks holding them.
    pub blocks: Vec<BlockPart>,
}

/// The items of one block that a region touches.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BlockPart {
    /// The block's number inside its chunk (C order of the block grid).
    pub nblock: usize,
    /// The items taken, in block coordinates.
    pub within: Region,
    /// Where they go in the region's output (a box of positions).
    pub out: Region,
}

impl ChunkLayout {
    /// The layout of the array `meta` describes (its checks make every size here fit).
    pub fn new(meta: &ArrayMeta) -> Result<ChunkLayout> {
        let itemsize = meta.dtype().itemsize();
        let grid_chunks: Vec<usize> = meta.chunks().iter().map(|&c| c.max(1)).collect();
        let grid = ChunkGrid::new(meta.shape(), &grid_chunks)?;
        let ext_chunks: Vec<usize> = meta
            .chunks()
            .iter()
            .zip(meta.blocks())
            .map(|(&c, &b)| if b == 0 { 0 } else { c.div_ceil(b) * b })
            .collect();
        let grid_blocks: Vec<usize> = meta.blocks().iter().map(|&b| b.max(1)).collect();
        let block_grid = ChunkGrid::new(&ext_chunks, &grid_blocks)?;
        let bytes = |dims: &[usize]| {
            dims.iter()
                .try_fold(itemsize, |a, &d| a.checked_mul(d))
                .ok_or_else(|| Error::too_large("chunk is too large"))
        };
        Ok(ChunkLayout {
            chunk_bytes: bytes(&ext_chunks)?,
            block_bytes: bytes(meta.blocks())?,
            shape: meta.shape().to_vec(),
            chunks: meta.chunks().to_vec(),
            blocks: meta.blocks().to_vec(),
            itemsize,
            grid,
            ext_chunks,
            block_grid,
        })
    }

    /// The array's shape.
    pub fn shape(&self) -> &[usize] {
        &self.shape
    }

    /// The chunk shape.
    pub fn chunks(&self) -> &[usize] {
        &self.chunks
    }

    /// The block shape.
    pub fn blocks(&self) -> &[usize] {
        &self.blocks
    }

    /// Bytes per item.
    pub fn itemsize(&self) -> usize {
        self.itemsize
    }

    /// The chunk grid over the array.
    pub fn grid(&self) -> &ChunkGrid {
        &self.grid
    }

    /// The block grid over one extended chunk.
    pub fn block_grid(&self) -> &ChunkGrid {
        &self.block_grid
    }

    /// The number of chunks.
    pub fn nchunks(&self) -> usize {
        self.grid.num_chunks()
    }

    /// The number of blocks in one chunk.
    pub fn blocks_per_chunk(&self) -> usize {
        self.block_grid.num_chunks()
    }

    /// The shape padded to whole chunks (python-blosc2's `ext_shape`).
    pub fn ext_shape(&self) -> Vec<usize> {
        self.grid.ext_shape()
    }

    /// The chunk shape padded to whole blocks (how a chunk is stored; python-blosc2's
    /// `ext_chunks`).
    pub fn ext_chunks(&self) -> &[usize] {
        &self.ext_chunks
    }

    /// The bytes of one stored chunk: the frame's chunksize and every chunk's nbytes.
    pub fn chunk_bytes(&self) -> usize {
        self.chunk_bytes
    }

    /// The bytes of one block: the Blosc2 blocksize of every chunk.
    pub fn block_bytes(&self) -> usize {
        self.block_bytes
    }

    /// The part of chunk `nchunk` inside the array, in chunk coordinates: `0..min(chunk,
    /// shape - origin)` in each dimension.
    pub fn chunk_valid(&self, nchunk: usize) -> Result<Region> {
        let r = self.grid.chunk_region(nchunk)?;
        Region::from_bounds(&vec![0; r.ndim()], &r.shape())
    }

    /// The array indices where chunk `nchunk` starts.
    pub fn chunk_origin(&self, nchunk: usize) -> Result<Vec<usize>> {
        self.grid.chunk_origin(nchunk)
    }

    /// The byte range of block `nblock` inside a decoded chunk.
    pub fn block_range(&self, nblock: usize) -> Range<usize> {
        let at = nblock * self.block_bytes;
        at..at + self.block_bytes
    }

    /// The chunks and blocks that `region` (any steps; inside the array) touches, each with
    /// the items it holds and where they go in an output of the region's shape. Chunks come
    /// in C order, and so do the blocks of each chunk.
    pub fn plan(&self, region: &Region) -> Result<Vec<ChunkPart>> {
        let mut parts = Vec::new();
        for c in self.grid.chunks_for(region)? {
            let blocks = self.block_parts(&c.within, &c.out)?;
            parts.push(ChunkPart {
                nchunk: c.index,
                within: c.within,
                out: c.out,
                blocks,
            });
        }
        Ok(parts)
    }

    /// The blocks that `within` (chunk coordinates) touches, with output positions offset
    /// by `out`'s start.
    pub fn block_parts(&self, within: &Region, out: &Region) -> Result<Vec<BlockPart>> {
        let base: Vec<usize> = out.slices().iter().map(|s| s.bounds().start).collect();
        self.block_grid
            .chunks_for(within)?
            .map(|b| {
                let out = b
                    .out
                    .slices()
                    .iter()
                    .zip(&base)
                    .map(|(s, &o)| {
                        let r = s.bounds();
                        Slice::range(o + r.start, o + r.end)
                    })
                    .collect::<Result<Region>>()?;
                Ok(BlockPart {
                    nblock: b.index,
                    within: b.within,
                    out,
                })
            })
            .collect()
    }

    /// The blocks of chunk `nchunk` that hold items of the array (every block but those wholly
    /// in the padding past the array's end).
    pub fn valid_blocks(&self, nchunk: usize) -> Result<Vec<BlockPart>> {
        let valid = self.chunk_valid(nchunk)?;
        self.block_parts(&valid, &valid)
    }

    /// Copies the items of `src_region` of `src` (laid out as `src_layout`) into chunk
    /// `nchunk`'s decoded bytes `chunk` (block layout): item `k` of `src_region` in C order goes
    /// to item `k` of `within` (chunk coordinates, C order). Items of `chunk` outside `within`
    /// are left as they are.
    pub fn write_chunk(
        &self,
        chunk: &mut [u8],
        within: &Region,
        src: &[u8],
        src_layout: ByteLayout<'_>,
        src_region: &Region,
    ) -> Result<()> {
        self.check_chunk_len(chunk.len())?;
        let out = Region::full(&within.shape())?;
        for b in self.block_parts(within, &out)? {
            let from = src_region.select(&b.out)?;
            let block = &mut chunk[self.block_range(b.nblock)];
            copy_region(
                src,
                src_layout,
                &from,
                block,
                ByteLayout::c(&self.blocks, self.itemsize),
                &b.within,
            )?;
        }
        Ok(())
    }

    /// Copies `within` (chunk coordinates) of chunk `nchunk`'s decoded bytes `chunk` into
    /// `dst_region` of `dst` (laid out as `dst_layout`), pairing items in C order.
    pub fn read_chunk(
        &self,
        chunk: &[u8],
        within: &Region,
        dst: &mut [u8],
        dst_layout: ByteLayout<'_>,
        dst_region: &Region,
    ) -> Result<()> {
        self.check_chunk_len(chunk.len())?;
        let out = Region::full(&within.shape())?;
        for b in self.block_parts(within, &out)? {
            let to = dst_region.select(&b.out)?;
            copy_region(
                &chunk[self.block_range(b.nblock)],
                ByteLayout::c(&self.blocks, self.itemsize),
                &b.within,
                dst,
                dst_layout,
                &to,
            )?;
        }
        Ok(())
    }

    /// Zeroes every item of a decoded chunk outside `keep` (a box in chunk coordinates): the
    /// padding, when `keep` is the chunk's valid part.
    pub fn zero_outside(&self, chunk: &mut [u8], keep: &Region) -> Result<()> {
        self.check_chunk_len(chunk.len())?;
        let nd = self.blocks.len();
        for nblock in 0..self.blocks_per_chunk() {
            let origin = self.block_grid.chunk_origin(nblock)?;
            let block = &mut chunk[self.block_range(nblock)];
            // The kept box in block coordinates, per dimension.
            let mut lo = vec![0; nd];
            let mut hi = vec![0; nd];
            let mut empty = false;
            for d in 0..nd {
                let r = keep.slices()[d].bounds();
                lo[d] = r.start.saturating_sub(origin[d]).min(self.blocks[d]);
                hi[d] = r.end.saturating_sub(origin[d]).min(self.blocks[d]);
                empty |= lo[d] >= hi[d];
            }
            if empty {
                block.fill(0);
                continue;
            }
            if lo.iter().all(|&l| l == 0) && hi == self.blocks {
                continue;
            }
            zero_outside_box(block, &self.blocks, &lo, &hi, self.itemsize);
        }
        Ok(())
    }

    fn check_chunk_len(&self, len: usize) -> Result<()> {
        if len != self.chunk_bytes {
            return Err(Error::invalid_argument(format!(
                "a decoded chunk has {} bytes, not {len}",
                self.chunk_bytes
            )));
        }
        Ok(())
    }
}

/// Zeroes the items of a C-order block of `shape` outside the box `lo..hi`.
fn zero_outside_box(
    block: &mut [u8],
    shape: &[usize],
    lo: &[usize],
    hi: &[usize],
    itemsize: usize,
) {
    let nd = shape.len();
    if nd == 0 {
        return;
    }
    // Walk the rows (all dimensions but the last); rows outside the box are zeroed whole.
    let rows: usize = shape[..nd - 1].iter().product();
    let row_len = shape[nd - 1] * itemsize;
    let mut idx = vec![0usize; nd - 1];
    for r in 0..rows {
        let at = r * row_len;
        let inside = (0..nd - 1).all(|d| idx[d] >= lo[d] && idx[d] < hi[d]);
        let row = &mut block[at..at + row_len];
        if inside {
            row[..lo[nd - 1] * itemsize].fill(0);
            row[hi[nd - 1] * itemsize..].fill(0);
        } else {
            row.fill(0);
        }
        for d in (0..nd - 1).rev() {
            idx[d] += 1;
            if idx[d] < shape[d] {
                break;
            }
            idx[d] = 0;
        }
    }
}

/// Writable memory that tasks on many threads fill at once, each a disjoint set of items: the
/// output of a parallel read, where the boxes of different chunks interleave in memory.
pub(crate) struct SharedOut<'a> {
    ptr: *mut u8,
    len: usize,
    shape: &'a [usize],
    strides: Vec<usize>,
    itemsize: usize,
}

// SAFETY: `SharedOut` hands out writes only through `copy_from`, whose callers guarantee that
// concurrent calls write disjoint items; the pointer stays valid for the borrow `'a`.
unsafe impl Send for SharedOut<'_> {}
// SAFETY: as above.
unsafe impl Sync for SharedOut<'_> {}

impl<'a> SharedOut<'a> {
    /// Wraps `data`, an array of `shape` in `order`.
    pub(crate) fn new(
        data: &'a mut [u8],
        shape: &'a [usize],
        itemsize: usize,
        order: Order,
    ) -> Result<SharedOut<'a>> {
        let want = ByteLayout::new(shape, itemsize, order).num_bytes()?;
        if data.len() != want {
            return Err(Error::invalid_argument(format!(
                "output of {} bytes does not hold shape {shape:?} of {itemsize}-byte items \
                 ({want} bytes)",
                data.len()
            )));
        }
        Ok(SharedOut {
            ptr: data.as_mut_ptr(),
            len: data.len(),
            shape,
            strides: strides(shape, itemsize, order),
            itemsize,
        })
    }

    /// Copies `src_region` of `src` (C order, `src_shape`) into `dst_region` of the output,
    /// pairing items in C order.
    ///
    /// # Safety
    /// No other call may write any item of `dst_region` at the same time.
    pub(crate) unsafe fn copy_from(
        &self,
        src: &[u8],
        src_shape: &[usize],
        src_region: &Region,
        dst_region: &Region,
    ) -> Result<()> {
        let itemsize = self.itemsize;
        ByteLayout::c(src_shape, itemsize)
            .num_bytes()
            .and_then(|n| {
                if n == src.len() {
                    Ok(())
                } else {
                    Err(Error::invalid_argument("source does not hold its shape"))
                }
            })?;
        src_region.check(src_shape)?;
        dst_region.check(self.shape)?;
        let shape = src_region.shape();
        if shape != dst_region.shape() {
            return Err(Error::invalid_argument(format!(
                "cannot copy region {src_region} into region {dst_region} of another shape"
            )));
        }
        if shape.contains(&0) {
            return Ok(());
        }
        let src_strides = strides(src_shape, itemsize, Order::C);
        // Byte offsets of the first items and byte steps per dimension, both sides.
        let mut s0 = 0isize;
        let mut d0 = 0isize;
        let mut dims: Vec<(usize, isize, isize)> = Vec::with_capacity(shape.len());
        for (k, (s, d)) in src_region
            .slices()
            .iter()
            .zip(dst_region.slices())
            .enumerate()
        {
            // Inside arrays whose byte sizes fit `isize`: no overflow.
            s0 += (s.first().unwrap_or(0) * src_strides[k]) as isize;
            d0 += (d.first().unwrap_or(0) * self.strides[k]) as isize;
            dims.push((
                s.len(),
                s.step() * src_strides[k] as isize,
                d.step() * self.strides[k] as isize,
            ));
        }
        // The innermost dimension becomes one run when both sides are contiguous there.
        let (mut run, mut inner) = (itemsize, 1usize);
        let (mut inner_src, mut inner_dst) = (0isize, 0isize);
        if let Some(&(n, ss, ds)) = dims.last() {
            if ss == itemsize as isize && ds == itemsize as isize {
                run = n * itemsize;
                dims.pop();
            } else {
                inner = n;
                inner_src = ss;
                inner_dst = ds;
                dims.pop();
            }
        }
        let mut idx = vec![0usize; dims.len()];
        let (mut so, mut dof) = (s0, d0);
        loop {
            for i in 0..inner {
                let s_at = (so + i as isize * inner_src) as usize;
                let d_at = (dof + i as isize * inner_dst) as usize;
                debug_assert!(s_at + run <= src.len() && d_at + run <= self.len);
                // SAFETY: `d_at + run` lies inside the output (the regions were checked against
                // the shapes), the source is a different allocation, and the caller guarantees
                // that no other thread writes these items.
                unsafe {
                    std::ptr::copy_nonoverlapping(src.as_ptr().add(s_at), self.ptr.add(d_at), run);
                }
            }
            // Odometer over the outer dimensions.
            let mut d = dims.len();
            loop {
                if d == 0 {
                    return Ok(());
                }
                d -= 1;
                let (n, ss, ds) = dims[d];
                idx[d] += 1;
                so += ss;
                dof += ds;
                if idx[d] < n {
                    break;
                }
                so -= ss * n as isize;
                dof -= ds * n as isize;
                idx[d] = 0;
            }
        }
    }
}

#[cfg(test)]
mod tests;
