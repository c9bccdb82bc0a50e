//! Reading regions of an [`NDArray`]: the chunks a region touches decoded in parallel, only the
//! blocks it touches in each (the whole chunk when most of its blocks are needed), copied from
//! each block straight into the caller's memory.

use std::cell::RefCell;

use rayon::prelude::*;

use super::layout::{ChunkPart, SharedOut};
use super::{check_chunk_nbytes, NDArray};
use crate::blosc::v2::ChunkDecoder;
use crate::buffer::{ArrayMut, NDBuffer};
use crate::error::{Error, Result};
use crate::region::{Order, Region};
use crate::threads;

/// Blocks decoded for one read in parallel when a chunk part moves at least this many bytes.
const PAR_BLOCK_BYTES: usize = 256 << 10;

thread_local! {
    /// A decoded block or chunk, reused across reads on one thread.
    static SCRATCH: RefCell<Vec<u8>> = const { RefCell::new(Vec::new()) };
}

/// Runs `f` with a scratch buffer of `len` bytes (contents unspecified).
fn with_scratch<R>(len: usize, f: impl FnOnce(&mut [u8]) -> Result<R>) -> Result<R> {
    let grow = |v: &mut Vec<u8>| -> Result<()> {
        if v.len() < len {
            v.try_reserve_exact(len - v.len())
                .map_err(|_| Error::alloc_failed("a decoded chunk", len))?;
            v.resize(len, 0);
        }
        Ok(())
    };
    SCRATCH.with(|cell| match cell.try_borrow_mut() {
        Ok(mut v) => {
            grow(&mut v)?;
            f(&mut v[..len])
        }
        // Re-entered on this thread (work stealing inside `f`): a fresh buffer.
        Err(_) => {
            let mut v = Vec::new();
            grow(&mut v)?;
            f(&mut v)
        }
    })
}

impl NDArray {
    /// Reads `region` (any steps, negative too; inside the array) into `out`, an array of the
    /// region's shape (C or F order) with items of the array's size.
    pub fn get_region(&self, region: &Region, out: &mut ArrayMut<'_>) -> Result<()> {
        let whole = Region::full(&out.shape)?;
        self.get_region_into(region, out, &whole)
    }

    /// Reads `region` of the array into `out_region` of `out` (any steps: a strided output),
    /// pairing items in C order of the two regions (NumPy's `out[out_region] = a[region]`).
    /// Items of `out` outside `out_region` are left as they are.
    pub fn get_region_into(
        &self,
        region: &Region,
        out: &mut ArrayMut<'_>,
        out_region: &Region,
    ) -> Result<()> {
        let its = self.itemsize();
        if out.dtype.itemsize() != its {
            return Err(Error::invalid_argument(format!(
                "cannot read {}-byte items into {}-byte items",
                its,
                out.dtype.itemsize()
            )));
        }
        region.check(self.shape())?;
        out_region.check(&out.shape)?;
        if region.shape() != out_region.shape() {
            return Err(Error::invalid_argument(format!(
                "cannot read region {region} of shape {:?} into region {out_region} of shape {:?}",
                region.shape(),
                out_region.shape()
            )));
        }
        let parts = self.layout.plan(region)?;
        let shared = SharedOut::new(out.data, &out.shape, its, out.order)?;
        let run = || {
            parts
                .par_iter()
                .try_for_each(|part| self.read_part(part, &shared, out_region))
        };
        if parts.len() > 1 && threads::get_num_threads() > 1 {
            threads::install(run)
        } else {
            parts
                .iter()
                .try_for_each(|part| self.read_part(part, &shared, out_region))
        }
    }

    /// `region` as a new contiguous C-order buffer of the array's type.
    pub fn read(&self, region: &Region) -> Result<NDBuffer> {
        let shape = region.shape();
        let dtype = self.dtype().data_type();
        let len = crate::region::Layout::c(&shape, self.itemsize()).num_bytes()?;
        let mut data = Vec::new();
        data.try_reserve_exact(len)
            .map_err(|_| Error::alloc_failed("a region", len))?;
        data.resize(len, 0);
        self.get_region(
            region,
            &mut ArrayMut {
                data: &mut data,
                dtype: dtype.clone(),
                shape: shape.clone(),
                order: Order::C,
            },
        )?;
        NDBuffer::new(data.into(), dtype, shape, Order::C)
    }

    /// The whole array as a C-order buffer.
    pub fn to_buffer(&self) -> Result<NDBuffer> {
        self.read(&Region::full(self.shape())?)
    }

    /// Decodes the blocks of one chunk part into the output. From a frame file, a part that
    /// touches few of its chunk's blocks reads only those blocks' bytes.
    fn read_part(&self, part: &ChunkPart, out: &SharedOut<'_>, out_region: &Region) -> Result<()> {
        let wanted: Vec<usize> = part.blocks.iter().map(|b| b.nblock).collect();
        self.schunk.with_chunk_blocks(part.nchunk, &wanted, |dec| {
            self.decode_part(dec, part, out, out_region)
        })
    }

    /// Decodes the blocks of one chunk part from its chunk's decoder into the output.
    fn decode_part(
        &self,
        dec: &ChunkDecoder<'_>,
        part: &ChunkPart,
        out: &SharedOut<'_>,
        out_region: &Region,
    ) -> Result<()> {
        let l = &self.layout;
        check_chunk_nbytes(part.nchunk, dec.nbytes(), l)?;
        let copy = |block: &[u8], b: &super::BlockPart| -> Result<()> {
            let to = out_region.select(&b.out)?;
            // SAFETY: the chunk parts of a plan, and the block parts of a chunk part, hold
            // disjoint items of the region, so concurrent calls write disjoint items of `out`.
            unsafe { out.copy_from(block, l.blocks(), &b.within, &to) }
        };
        let nblocks = l.blocks_per_chunk();
        if part.blocks.len() * 2 > nblocks && nblocks > 1 {
            // Most of the chunk: decode it whole (its blocks in parallel inside the decoder).
            return with_scratch(l.chunk_bytes(), |buf| {
                dec.decode_into(buf)?;
                part.blocks
                    .iter()
                    .try_for_each(|b| copy(&buf[l.block_range(b.nblock)], b))
            });
        }
        let one = |b: &super::BlockPart| {
            with_scratch(l.block_bytes(), |blk| {
                dec.decode_range(l.block_range(b.nblock).start, blk)?;
                copy(blk, b)
            })
        };
        if part.blocks.len() > 1 && part.blocks.len() * l.block_bytes() >= PAR_BLOCK_BYTES {
            part.blocks.par_iter().try_for_each(one)
        } else {
            part.blocks.iter().try_for_each(one)
        }
    }
}
