//! Copies of [`Region`]s between contiguous N-d arrays held as bytes: any steps, either memory
//! order, the longest contiguous runs copied whole, large copies split over ndpack's pool.
//!
//! Each copy is planned once: dimensions of length 1 are dropped, dimensions whose destination
//! stride is negative are walked the other way (both sides flip, so the items still pair up),
//! neighbours that step through memory as one are merged, and an innermost dimension that is
//! contiguous on both sides becomes one run of bytes. What is left is a loop nest of at most
//! the arrays' dimensions, run serially or, when it moves at least [`PAR_MIN_BYTES`], with its
//! outer loops in parallel: rows of the destination are disjoint byte ranges, handed to the
//! threads as separate `&mut` slices.

use rayon::prelude::*;

use super::order::Order;
use super::slice::Region;
use super::{checked_num_items, strides};
use crate::error::{Error, Result};

/// Copies that move at least this many bytes run on ndpack's pool (when it has more than one
/// thread).
pub const PAR_MIN_BYTES: usize = 1 << 20;

/// The least work, in bytes, of one parallel task.
const PAR_GRAIN_BYTES: usize = 128 << 10;

/// The memory of a contiguous N-d array: its shape, the size of one item in bytes and the
/// order of its items.
///
/// ```
/// use ndpack::region::{Layout, Order};
/// let l = Layout::new(&[2, 3], 4, Order::F);
/// assert_eq!((l.shape(), l.itemsize(), l.order()), (&[2, 3][..], 4, Order::F));
/// assert_eq!(l.num_bytes()?, 24);
/// assert_eq!(Layout::c(&[2, 3], 4).order(), Order::C);
/// # Ok::<(), ndpack::Error>(())
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Layout<'a> {
    shape: &'a [usize],
    itemsize: usize,
    order: Order,
}

impl<'a> Layout<'a> {
    /// An array of `shape`, items of `itemsize` bytes, in `order`.
    pub fn new(shape: &'a [usize], itemsize: usize, order: Order) -> Layout<'a> {
        Layout {
            shape,
            itemsize,
            order,
        }
    }

    /// An array of `shape`, items of `itemsize` bytes, in C order.
    pub fn c(shape: &'a [usize], itemsize: usize) -> Layout<'a> {
        Layout::new(shape, itemsize, Order::C)
    }

    /// The shape.
    pub fn shape(&self) -> &'a [usize] {
        self.shape
    }

    /// The size of one item in bytes.
    pub fn itemsize(&self) -> usize {
        self.itemsize
    }

    /// The memory order.
    pub fn order(&self) -> Order {
        self.order
    }

    /// The size of the array in bytes, or an error if it overflows `usize`.
    pub fn num_bytes(&self) -> Result<usize> {
        checked_num_items(self.shape)?
            .checked_mul(self.itemsize)
            .ok_or_else(|| {
                Error::too_large(format!(
                    "shape {:?} of {}-byte items is too large",
                    self.shape, self.itemsize
                ))
            })
    }

    /// Checks that items of this array can be copied into items of `dst`: they have the same
    /// size.
    fn check_itemsize_into(&self, dst: &Layout<'_>) -> Result<()> {
        if self.itemsize != dst.itemsize {
            return Err(Error::invalid_argument(format!(
                "cannot copy items of {} bytes into items of {} bytes",
                self.itemsize, dst.itemsize
            )));
        }
        Ok(())
    }

    /// Checks that `len` bytes hold exactly this array; `what` names them in the error.
    fn check_len(&self, len: usize, what: &str) -> Result<()> {
        let want = self.num_bytes()?;
        if len != want {
            return Err(Error::invalid_argument(format!(
                "{what} of {len} bytes does not hold shape {:?} of {}-byte items ({want} bytes)",
                self.shape, self.itemsize
            )));
        }
        Ok(())
    }
}

/// Copies the items of `src_region` of the array `src` (laid out as `src_layout`) to the items
/// of `dst_region` of `dst` (laid out as `dst_layout`), pairing them in C order of the regions,
/// which must have the same shape. Steps may be negative, orders may differ; items of `dst`
/// outside `dst_region` are left as they are.
///
/// Errors if the item sizes differ, a buffer's length is not its layout's size, a region does
/// not lie inside its array, or the regions' shapes differ.
///
/// ```
/// use ndpack::region::{copy_region, Layout, Region, Slice};
/// // dst[1:3, ::-1] = src[::2, 1:4] for a (4, 5) source and a (3, 3) destination of bytes.
/// let src: Vec<u8> = (0..20).collect();
/// let mut dst = vec![0u8; 9];
/// let from = Region::new(vec![Slice::new(0, 4, 2)?, Slice::range(1, 4)?]);
/// let to = Region::new(vec![Slice::range(1, 3)?, Slice::normalize(None, None, Some(-1), 3)?]);
/// copy_region(&src, Layout::c(&[4, 5], 1), &from, &mut dst, Layout::c(&[3, 3], 1), &to)?;
/// assert_eq!(dst, [0, 0, 0, 3, 2, 1, 13, 12, 11]);
/// # Ok::<(), ndpack::Error>(())
/// ```
pub fn copy_region(
    src: &[u8],
    src_layout: Layout<'_>,
    src_region: &Region,
    dst: &mut [u8],
    dst_layout: Layout<'_>,
    dst_region: &Region,
) -> Result<()> {
    copy_region_in(
        src, src_layout, src_region, dst, dst_layout, dst_region, true,
    )
}

/// [`copy_region`] on the calling thread alone, never on ndpack's pool: for callers inside a
/// parallel task that hold a lock while copying (a task of the pool waiting on the copy could
/// otherwise pick up another task that waits on the same lock).
pub fn copy_region_serial(
    src: &[u8],
    src_layout: Layout<'_>,
    src_region: &Region,
    dst: &mut [u8],
    dst_layout: Layout<'_>,
    dst_region: &Region,
) -> Result<()> {
    copy_region_in(
        src, src_layout, src_region, dst, dst_layout, dst_region, false,
    )
}

fn copy_region_in(
    src: &[u8],
    src_layout: Layout<'_>,
    src_region: &Region,
    dst: &mut [u8],
    dst_layout: Layout<'_>,
    dst_region: &Region,
    parallel: bool,
) -> Result<()> {
    src_layout.check_itemsize_into(&dst_layout)?;
    src_layout.check_len(src.len(), "source")?;
    dst_layout.check_len(dst.len(), "destination")?;
    src_region.check(src_layout.shape)?;
    dst_region.check(dst_layout.shape)?;
    let shape = src_region.shape();
    if shape != dst_region.shape() {
        return Err(Error::invalid_argument(format!(
            "cannot copy region {src_region} of shape {shape:?} into region {dst_region} of \
             shape {:?}",
            dst_region.shape()
        )));
    }
    let itemsize = src_layout.itemsize;
    // Inside arrays whose sizes fit `usize`: cannot overflow.
    let total = shape.iter().product::<usize>() * itemsize;
    if total == 0 {
        return Ok(());
    }
    let plan = Plan::new(src_layout, src_region, dst_layout, dst_region);
    let dst = &mut dst[plan.dst_offset..];
    if parallel && total >= PAR_MIN_BYTES && crate::threads::get_num_threads() > 1 {
        crate::threads::install(|| plan.run(src, plan.src_offset, dst, 0, true));
    } else {
        plan.run(src, plan.src_offset, dst, 0, false);
    }
    Ok(())
}

/// Copies `region` of the array `src` (laid out as `layout`) into `dst`, a contiguous array
/// of the region's shape in C order: NumPy's `src[region]`, made contiguous.
///
/// ```
/// use ndpack::region::{read_region, Layout, Region, Slice};
/// let src: Vec<u8> = (0..12).collect(); // a (3, 4) array of bytes
/// let region = Region::new(vec![Slice::range(1, 3)?, Slice::new(3, -1, -2)?]);
/// let mut dst = [0u8; 4];
/// read_region(&src, Layout::c(&[3, 4], 1), &region, &mut dst)?;
/// assert_eq!(dst, [7, 5, 11, 9]);
/// # Ok::<(), ndpack::Error>(())
/// ```
pub fn read_region(src: &[u8], layout: Layout<'_>, region: &Region, dst: &mut [u8]) -> Result<()> {
    let shape = region.shape();
    let whole = Region::full(&shape)?;
    copy_region(
        src,
        layout,
        region,
        dst,
        Layout::c(&shape, layout.itemsize),
        &whole,
    )
}

/// Copies `src`, a contiguous array of the region's shape in C order, into `region` of the
/// array `dst` (laid out as `layout`): NumPy's `dst[region] = src`.
///
/// ```
/// use ndpack::region::{write_region, Layout, Region, Slice};
/// // Three 2-byte items, written backwards.
/// let mut dst = [0u8; 6];
/// let region = Region::new(vec![Slice::new(2, -1, -1)?]);
/// write_region(&[1, 2, 3, 4, 5, 6], &mut dst, Layout::c(&[3], 2), &region)?;
/// assert_eq!(dst, [5, 6, 3, 4, 1, 2]);
/// # Ok::<(), ndpack::Error>(())
/// ```
pub fn write_region(src: &[u8], dst: &mut [u8], layout: Layout<'_>, region: &Region) -> Result<()> {
    let shape = region.shape();
    let whole = Region::full(&shape)?;
    copy_region(
        src,
        Layout::c(&shape, layout.itemsize),
        &whole,
        dst,
        layout,
        region,
    )
}

/// One loop of a copy: `n` steps of `src` and `dst` bytes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Dim {
    n: usize,
    src: isize,
    /// Always positive: rows of the destination lie one after the other.
    dst: usize,
}

/// A copy reduced to its loop nest.
#[derive(Debug)]
struct Plan {
    /// The byte offsets of the first item on each side.
    src_offset: usize,
    dst_offset: usize,
    /// The loops, outermost first (destination strides decreasing).
    dims: Vec<Dim>,
    /// The bytes copied at once at the bottom of the nest: one item or one contiguous run.
    run: usize,
}

impl Plan {
    /// Plans a copy of checked, non-empty regions of the same shape.
    fn new(
        src_layout: Layout<'_>,
        src_region: &Region,
        dst_layout: Layout<'_>,
        dst_region: &Region,
    ) -> Plan {
        let itemsize = src_layout.itemsize;
        let src_strides = strides(src_layout.shape, itemsize, src_layout.order);
        let dst_strides = strides(dst_layout.shape, itemsize, dst_layout.order);
        let mut src_offset = 0isize;
        let mut dst_offset = 0isize;
        let mut dims = Vec::with_capacity(src_strides.len());
        let sides = src_region.slices().iter().zip(dst_region.slices());
        for ((s, d), (&ss, &ds)) in sides.zip(src_strides.iter().zip(&dst_strides)) {
            // Every offset and span below lies inside an array whose size fits `isize` (a slice
            // of bytes cannot be longer), so none of this arithmetic overflows.
            let (s0, d0) = (s.first().unwrap_or(0), d.first().unwrap_or(0));
            src_offset += (s0 * ss) as isize;
            dst_offset += (d0 * ds) as isize;
            let n = s.len();
            if n == 1 {
                continue;
            }
            let mut src = s.step() * ss as isize;
            let mut dst = d.step() * ds as isize;
            if dst < 0 {
                // Walk this dimension from its last item, on both sides.
                src_offset += (n as isize - 1) * src;
                dst_offset += (n as isize - 1) * dst;
                src = -src;
                dst = -dst;
            }
            dims.push(Dim {
                n,
                src,
                dst: dst as usize,
            });
        }
        // Outermost in the destination's memory first; no-op for C order.
        dims.sort_by_key(|d| std::cmp::Reverse(d.dst));
        // Merge each loop into the one inside it when the two step through memory as one.
        let mut merged: Vec<Dim> = Vec::with_capacity(dims.len());
        for dim in dims.into_iter().rev() {
            match merged.last_mut() {
                Some(inner)
                    if dim.src == inner.n as isize * inner.src
                        && dim.dst == inner.n * inner.dst =>
                {
                    inner.n *= dim.n;
                }
                _ => merged.push(dim),
            }
        }
        merged.reverse();
        let mut run = itemsize;
        if let Some(inner) = merged.last() {
            if inner.src == itemsize as isize && inner.dst == itemsize {
                run = inner.n * itemsize;
                merged.pop();
            }
        }
        Plan {
            src_offset: src_offset as usize,
            dst_offset: dst_offset as usize,
            dims: merged,
            run,
        }
    }

    /// Runs loops `level..` from `src[src_offset..]` into `dst` (which starts at the
    /// destination's first byte of this part), in parallel where `par` and the part is large.
    fn run(&self, src: &[u8], src_offset: usize, dst: &mut [u8], level: usize, par: bool) {
        let Some(dim) = self.dims.get(level) else {
            return copy_run(&src[src_offset..][..self.run], &mut dst[..self.run], par);
        };
        // The bytes one step of this loop moves.
        let row: usize = self.dims[level + 1..]
            .iter()
            .map(|d| d.n)
            .product::<usize>()
            * self.run;
        let innermost = level + 1 == self.dims.len();
        if par && dim.n * row >= PAR_MIN_BYTES {
            // The destination's rows, each `dim.dst` bytes apart, the last one cut short to
            // what the destination holds.
            let end = dst.len().min(dim.n * dim.dst);
            let per_task = (PAR_GRAIN_BYTES / row).max(1);
            if innermost {
                // Tasks of `per_task` items or runs each.
                dst[..end]
                    .par_chunks_mut(per_task * dim.dst)
                    .enumerate()
                    .for_each(|(t, part)| {
                        let first = t * per_task;
                        let at = offset(src_offset, first, dim.src);
                        let n = per_task.min(dim.n - first);
                        copy_strided(src, at, dim.src, part, dim.dst, n, self.run);
                    });
            } else {
                dst[..end]
                    .par_chunks_mut(dim.dst)
                    .with_min_len(per_task)
                    .enumerate()
                    .for_each(|(i, part)| {
                        self.run(src, offset(src_offset, i, dim.src), part, level + 1, true);
                    });
            }
        } else if innermost {
            copy_strided(src, src_offset, dim.src, dst, dim.dst, dim.n, self.run);
        } else {
            for i in 0..dim.n {
                let part = &mut dst[i * dim.dst..];
                self.run(src, offset(src_offset, i, dim.src), part, level + 1, false);
            }
        }
    }
}

/// `base + i * stride`, an offset inside the source.
#[inline]
fn offset(base: usize, i: usize, stride: isize) -> usize {
    (base as isize + i as isize * stride) as usize
}

/// Copies one contiguous run, in parallel pieces when `par` and it is large.
fn copy_run(src: &[u8], dst: &mut [u8], par: bool) {
    if par && dst.len() >= PAR_MIN_BYTES {
        dst.par_chunks_mut(PAR_GRAIN_BYTES)
            .zip(src.par_chunks(PAR_GRAIN_BYTES))
            .for_each(|(d, s)| d.copy_from_slice(s));
    } else {
        dst.copy_from_slice(src);
    }
}

/// Copies `n` pieces of `size` bytes from `src[at + i * ss..]` to `dst[i * ds..]`.
fn copy_strided(
    src: &[u8],
    at: usize,
    ss: isize,
    dst: &mut [u8],
    ds: usize,
    n: usize,
    size: usize,
) {
    // The loop for pieces of `$size` bytes; with a constant size, each copy is a load and a
    // store of known size.
    macro_rules! pieces {
        ($size:expr) => {
            for i in 0..n {
                dst[i * ds..][..$size].copy_from_slice(&src[offset(at, i, ss)..][..$size]);
            }
        };
    }
    match size {
        1 => pieces!(1),
        2 => pieces!(2),
        4 => pieces!(4),
        8 => pieces!(8),
        16 => pieces!(16),
        _ => pieces!(size),
    }
}

#[cfg(test)]
mod tests;
