//! Regular grids of chunks over an array (and of blocks inside a chunk), in C order.

use std::ops::Range;

use super::slice::{check_ndim, to_isize, Region, Slice};
use crate::error::{Error, Result};

/// An array of `shape` cut into chunks of `chunk_shape`, numbered in C order (the last grid
/// coordinate varies fastest), as b2nd and zarr lay them out. Edge chunks overhang the array:
/// the *padded* region of a chunk is the whole `chunk_shape`, the *clipped* one stops at the
/// array's end.
///
/// The same type describes the blocks of one chunk: `ChunkGrid::new(chunk_shape, block_shape)`
/// (b2nd pads each chunk to whole blocks: [`ChunkGrid::ext_shape`]).
///
/// ```
/// use ndpack::region::{ChunkGrid, Region};
/// let grid = ChunkGrid::new(&[10, 7], &[4, 4])?;
/// assert_eq!(grid.grid_shape(), [3, 2]);
/// assert_eq!(grid.num_chunks(), 6);
/// assert_eq!(grid.chunk_index(&[2, 1])?, 5);
/// assert_eq!(grid.chunk_coords(5)?, [2, 1]);
/// assert_eq!(grid.chunk_region(5)?, Region::from_bounds(&[8, 4], &[10, 7])?);
/// assert_eq!(grid.chunk_region_padded(5)?, Region::from_bounds(&[8, 4], &[12, 8])?);
/// # Ok::<(), ndpack::Error>(())
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct ChunkGrid {
    shape: Vec<usize>,
    chunk_shape: Vec<usize>,
    grid_shape: Vec<usize>,
    num_chunks: usize,
    chunk_items: usize,
}

impl ChunkGrid {
    /// The grid of chunks of `chunk_shape` over an array of `shape`. Errors if the numbers of
    /// dimensions differ, a chunk dimension is 0, or the padded shape, the number of chunks or
    /// the items of one chunk overflow (dimensions up to `isize::MAX`).
    pub fn new(shape: &[usize], chunk_shape: &[usize]) -> Result<ChunkGrid> {
        check_ndim(shape.len(), chunk_shape.len(), |a, b| {
            format!("shape {shape:?} has {a} dimensions, chunk shape {chunk_shape:?} has {b}")
        })?;
        let too_large = || {
            Error::too_large(format!(
                "shape {shape:?} in chunks of {chunk_shape:?} is too large"
            ))
        };
        let mut grid_shape = Vec::with_capacity(shape.len());
        for (axis, (&n, &c)) in shape.iter().zip(chunk_shape).enumerate() {
            if c == 0 {
                return Err(Error::invalid_argument(format!(
                    "chunk shape {chunk_shape:?} has length 0 in dimension {axis}"
                )));
            }
            let g = n.div_ceil(c);
            let ext = g.checked_mul(c).ok_or_else(too_large)?;
            to_isize(ext, "padded dimension").map_err(|_| too_large())?;
            grid_shape.push(g);
        }
        let product = |v: &[usize]| {
            v.iter()
                .try_fold(1usize, |a, &d| a.checked_mul(d))
                .ok_or_else(too_large)
        };
        Ok(ChunkGrid {
            num_chunks: product(&grid_shape)?,
            chunk_items: product(chunk_shape)?,
            shape: shape.to_vec(),
            chunk_shape: chunk_shape.to_vec(),
            grid_shape,
        })
    }

    /// The array's shape.
    pub fn shape(&self) -> &[usize] {
        &self.shape
    }

    /// The shape of one (padded) chunk.
    pub fn chunk_shape(&self) -> &[usize] {
        &self.chunk_shape
    }

    /// The number of chunks along each dimension: `ceil(shape / chunk_shape)`.
    pub fn grid_shape(&self) -> &[usize] {
        &self.grid_shape
    }

    /// The number of dimensions.
    pub fn ndim(&self) -> usize {
        self.shape.len()
    }

    /// The number of chunks (0 if a dimension has length 0; 1 for a 0-d array).
    pub fn num_chunks(&self) -> usize {
        self.num_chunks
    }

    /// The number of items of one padded chunk.
    pub fn chunk_items(&self) -> usize {
        self.chunk_items
    }

    /// The shape padded to whole chunks: `grid_shape * chunk_shape`.
    ///
    /// ```
    /// use ndpack::region::ChunkGrid;
    /// // b2nd: a chunk (10, 10, 10) in blocks (4, 3, 7) is stored as (12, 12, 14).
    /// assert_eq!(ChunkGrid::new(&[10, 10, 10], &[4, 3, 7])?.ext_shape(), [12, 12, 14]);
    /// # Ok::<(), ndpack::Error>(())
    /// ```
    pub fn ext_shape(&self) -> Vec<usize> {
        // Checked in `new`.
        self.grid_shape
            .iter()
            .zip(&self.chunk_shape)
            .map(|(g, c)| g * c)
            .collect()
    }

    /// The linear (C-order) number of the chunk at grid coordinates `coords`.
    pub fn chunk_index(&self, coords: &[usize]) -> Result<usize> {
        check_ndim(coords.len(), self.ndim(), |a, b| {
            format!("chunk coordinates {coords:?} have {a} dimensions, the grid {b}")
        })?;
        let mut index = 0usize;
        for (axis, (&c, &g)) in coords.iter().zip(&self.grid_shape).enumerate() {
            if c >= g {
                return Err(Error::invalid_argument(format!(
                    "chunk coordinate {c} is out of bounds for axis {axis} with {g} chunks"
                )));
            }
            // Below `num_chunks`, which fits.
            index = index * g + c;
        }
        Ok(index)
    }

    /// The grid coordinates of chunk number `index` (C order).
    pub fn chunk_coords(&self, index: usize) -> Result<Vec<usize>> {
        if index >= self.num_chunks {
            return Err(Error::invalid_argument(format!(
                "chunk {index} is out of range: the grid has {} chunks",
                self.num_chunks
            )));
        }
        let mut coords = vec![0; self.ndim()];
        let mut rest = index;
        for (c, &g) in coords.iter_mut().zip(&self.grid_shape).rev() {
            *c = rest % g;
            rest /= g;
        }
        Ok(coords)
    }

    /// The array indices where chunk `index` starts.
    pub fn chunk_origin(&self, index: usize) -> Result<Vec<usize>> {
        let mut coords = self.chunk_coords(index)?;
        for (c, &n) in coords.iter_mut().zip(&self.chunk_shape) {
            *c *= n;
        }
        Ok(coords)
    }

    /// The part of the array that chunk `index` holds (clipped to the array's shape).
    pub fn chunk_region(&self, index: usize) -> Result<Region> {
        let origin = self.chunk_origin(index)?;
        let stop: Vec<usize> = origin
            .iter()
            .zip(&self.chunk_shape)
            .zip(&self.shape)
            .map(|((&o, &c), &n)| (o + c).min(n))
            .collect();
        Region::from_bounds(&origin, &stop)
    }

    /// The whole extent of chunk `index`, padding past the array's end included.
    pub fn chunk_region_padded(&self, index: usize) -> Result<Region> {
        let origin = self.chunk_origin(index)?;
        let stop: Vec<usize> = origin
            .iter()
            .zip(&self.chunk_shape)
            .map(|(&o, &c)| o + c)
            .collect();
        Region::from_bounds(&origin, &stop)
    }

    /// The chunks that `region` (any steps, negative too) touches, in C order of the grid,
    /// each with the items it holds: see [`ChunkSelection`]. `region` must lie inside the
    /// array. The iterator is lazy: it holds O(ndim) state however many chunks there are.
    ///
    /// ```
    /// use ndpack::region::{ChunkGrid, Region, Slice};
    /// let grid = ChunkGrid::new(&[10], &[4])?;
    /// // x[8:0:-3] = x[8], x[5], x[2]
    /// let key = Region::new(vec![Slice::normalize(Some(8), Some(0), Some(-3), 10)?]);
    /// let parts: Vec<_> = grid.chunks_for(&key)?.collect();
    /// assert_eq!(parts.len(), 3);
    /// assert_eq!(parts[0].index, 0); // chunk 0 (items 0..4) holds x[2], output position 2
    /// assert_eq!(parts[0].within.slices()[0].iter().collect::<Vec<_>>(), [2]);
    /// assert_eq!(parts[0].out, Region::from_bounds(&[2], &[3])?);
    /// assert_eq!(parts[1].within.slices()[0].iter().collect::<Vec<_>>(), [1]); // x[5]
    /// assert_eq!(parts[2].within.slices()[0].iter().collect::<Vec<_>>(), [0]); // x[8]
    /// # Ok::<(), ndpack::Error>(())
    /// ```
    pub fn chunks_for(&self, region: &Region) -> Result<ChunkSelections<'_>> {
        region.check(&self.shape)?;
        let slices = region.slices().to_vec();
        let mut segs = Vec::with_capacity(slices.len());
        let mut done = region.is_empty();
        if !done {
            for (s, &c) in slices.iter().zip(&self.chunk_shape) {
                segs.push(first_segment(s, c));
            }
        }
        // A 0-d region over an array with no chunks cannot happen: 0-d has one chunk.
        done |= self.num_chunks == 0;
        Ok(ChunkSelections {
            grid: self,
            slices,
            segs,
            done,
        })
    }
}

/// One chunk that a region touches, from [`ChunkGrid::chunks_for`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ChunkSelection {
    /// The chunk's linear (C-order) number.
    pub index: usize,
    /// The chunk's grid coordinates.
    pub coords: Vec<usize>,
    /// The items to take, in chunk coordinates (relative to the chunk's origin), with the
    /// region's steps and directions.
    pub within: Region,
    /// Where those items go in an output of the region's shape: a box, so that `within`'s
    /// items in C order fill `out` in C order.
    pub out: Region,
}

/// One dimension's run of a region inside one chunk.
#[derive(Debug, Clone)]
struct Segment {
    chunk: usize,
    within: Slice,
    out: Range<usize>,
}

/// The run of slice `s` (valid, not empty) in the chunk of lowest number it touches, in chunks
/// of `c`: the run of its first index for a positive step, of its last for a negative one.
fn first_segment(s: &Slice, c: usize) -> Segment {
    let k = if s.step() > 0 { 0 } else { s.len() - 1 };
    segment(s, c, k)
}

/// The run of slice `s` in the next chunk up from `seg`'s, if it touches one.
fn next_segment(s: &Slice, c: usize, seg: &Segment) -> Option<Segment> {
    if s.step() > 0 {
        (seg.out.end < s.len()).then(|| segment(s, c, seg.out.end))
    } else {
        // Indices decrease with the position: the next chunk up holds earlier positions.
        seg.out.start.checked_sub(1).map(|k| segment(s, c, k))
    }
}

/// The run of slice `s` (valid, not empty) that contains position `k`, in chunks of `c`.
fn segment(s: &Slice, c: usize, k: usize) -> Segment {
    // `k < s.len()`: the callers only ask for positions that exist.
    let index = s.get(k).unwrap_or(0);
    let chunk = index / c;
    let lo = chunk * c;
    let (part, out) = s.restrict(lo..lo + c);
    Segment {
        chunk,
        within: part.shift_down(lo),
        out,
    }
}

/// The chunks a region touches, in C order: see [`ChunkGrid::chunks_for`].
#[derive(Debug, Clone)]
pub struct ChunkSelections<'a> {
    grid: &'a ChunkGrid,
    slices: Vec<Slice>,
    segs: Vec<Segment>,
    done: bool,
}

impl Iterator for ChunkSelections<'_> {
    type Item = ChunkSelection;

    fn next(&mut self) -> Option<ChunkSelection> {
        if self.done {
            return None;
        }
        let mut index = 0usize;
        for (seg, &g) in self.segs.iter().zip(&self.grid.grid_shape) {
            index = index * g + seg.chunk;
        }
        let item = ChunkSelection {
            index,
            coords: self.segs.iter().map(|s| s.chunk).collect(),
            within: self.segs.iter().map(|s| s.within).collect(),
            out: self
                .segs
                .iter()
                .map(|s| Slice::positions(s.out.clone()))
                .collect(),
        };
        // Advance the odometer: the innermost dimension's next run, or carry outwards.
        self.done = true;
        for d in (0..self.segs.len()).rev() {
            let shape = &self.grid.chunk_shape;
            if let Some(seg) = next_segment(&self.slices[d], shape[d], &self.segs[d]) {
                self.segs[d] = seg;
                let inner = self.segs[d + 1..].iter_mut().zip(&self.slices[d + 1..]);
                for ((seg, s), &c) in inner.zip(&shape[d + 1..]) {
                    *seg = first_segment(s, c);
                }
                self.done = false;
                break;
            }
        }
        Some(item)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::region::slice::test_util::{random_slice, Rng};

    #[test]
    fn index_coords_round_trip() {
        let g = ChunkGrid::new(&[5, 9, 4], &[2, 4, 4]).unwrap();
        assert_eq!(g.grid_shape(), [3, 3, 1]);
        assert_eq!(g.ext_shape(), [6, 12, 4]);
        assert_eq!(g.chunk_items(), 32);
        for i in 0..g.num_chunks() {
            let c = g.chunk_coords(i).unwrap();
            assert_eq!(g.chunk_index(&c).unwrap(), i);
            let r = g.chunk_region(i).unwrap();
            let p = g.chunk_region_padded(i).unwrap();
            assert_eq!(p.shape(), [2, 4, 4]);
            assert_eq!(p.intersect(&Region::full(&[5, 9, 4]).unwrap()).unwrap(), r);
        }
        assert!(g.chunk_coords(9).is_err());
        assert!(g.chunk_index(&[3, 0, 0]).is_err());
        assert!(g.chunk_index(&[0, 0]).is_err());
        let zero_d = ChunkGrid::new(&[], &[]).unwrap();
        assert_eq!(zero_d.num_chunks(), 1);
        assert_eq!(zero_d.chunk_coords(0).unwrap(), Vec::<usize>::new());
        let parts: Vec<_> = zero_d
            .chunks_for(&Region::full(&[]).unwrap())
            .unwrap()
            .collect();
        assert_eq!(parts.len(), 1);
        assert_eq!(parts[0].index, 0);
        let empty = ChunkGrid::new(&[4, 0], &[2, 2]).unwrap();
        assert_eq!(empty.num_chunks(), 0);
        assert_eq!(
            empty
                .chunks_for(&Region::full(&[4, 0]).unwrap())
                .unwrap()
                .count(),
            0
        );
    }

    #[test]
    fn bad_grids_are_errors() {
        assert!(ChunkGrid::new(&[4], &[0]).is_err());
        assert!(ChunkGrid::new(&[4], &[2, 2]).is_err());
        assert!(ChunkGrid::new(&[usize::MAX], &[2]).is_err());
        assert!(ChunkGrid::new(&[isize::MAX as usize], &[2]).is_err());
        assert!(ChunkGrid::new(&[1 << 40, 1 << 40], &[1, 1]).is_err());
        assert!(ChunkGrid::new(&[1, 1], &[1 << 40, 1 << 40]).is_err());
        let g = ChunkGrid::new(&[4], &[2]).unwrap();
        assert!(g.chunks_for(&Region::full(&[5]).unwrap()).is_err());
        assert!(g.chunks_for(&Region::full(&[4, 1]).unwrap()).is_err());
    }

    /// Every item of a random region is in exactly one selection, at the right place.
    #[test]
    fn chunks_for_covers_each_item_once() {
        let mut rng = Rng(7);
        for _ in 0..400 {
            let shape = rng.shape(0..5, 0..9);
            let ndim = shape.len();
            let chunks: Vec<usize> = (0..ndim).map(|_| 1 + rng.below(5)).collect();
            let grid = ChunkGrid::new(&shape, &chunks).unwrap();
            let steps = [1, 1, 2, 3, 7, -1, -2, -5];
            let region: Region = shape
                .iter()
                .map(|&n| random_slice(&mut rng, n, &steps, 4))
                .collect();
            let out_shape = region.shape();
            let total = region.num_items().unwrap();
            let mut seen = vec![0u8; total];
            let mut last_index = None;
            for part in grid.chunks_for(&region).unwrap() {
                assert!(last_index < Some(part.index), "C order of chunks");
                last_index = Some(part.index);
                assert_eq!(grid.chunk_coords(part.index).unwrap(), part.coords);
                assert_eq!(part.within.shape(), part.out.shape());
                assert!(part.out.is_unit_step());
                assert!(!part.within.is_empty());
                let origin = grid.chunk_origin(part.index).unwrap();
                part.within.check(grid.chunk_shape()).unwrap();
                // Walk both in C order together.
                let indices = |r: &Region| -> Vec<Vec<usize>> {
                    r.slices().iter().map(|s| s.iter().collect()).collect()
                };
                let (within, out) = (indices(&part.within), indices(&part.out));
                let n = part.out.num_items().unwrap();
                for flat in 0..n {
                    let mut rest = flat;
                    let mut pos = 0;
                    let mut stride = 1;
                    for d in (0..ndim).rev() {
                        let m = within[d].len();
                        let j = rest % m;
                        rest /= m;
                        let array_index = origin[d] + within[d][j];
                        let k = out[d][j];
                        assert_eq!(region.slices()[d].get(k), Some(array_index));
                        pos += k * stride;
                        stride *= out_shape[d];
                    }
                    seen[pos] += 1;
                }
            }
            assert!(
                seen.iter().all(|&c| c == 1),
                "{shape:?} {chunks:?} {region}"
            );
        }
    }
}
