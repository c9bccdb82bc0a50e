//! Selections of any items of an N-d array ([`Pick`]): a [`Region`] of slices, an orthogonal
//! selection (per axis a slice or a list of indices, NumPy's `x[np.ix_(a, b)]`), or points
//! (per axis one coordinate of each point, NumPy's `x[a, b]` with equal-length `a` and `b`);
//! copies between picks of two arrays and fills of a pick, the byte ranges a pick needs of an
//! array stored in C order, and the blocks of a grid it touches.

use std::borrow::Cow;
use std::ops::Range;

use super::copy::{copy_region_serial, Layout};
use super::slice::{Region, Slice};
use super::{checked_num_items, strides};
use crate::error::{Error, Result};

/// One axis of an orthogonal [`Pick`]: a slice or a list of indices (any order, repeats
/// allowed).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AxisPick {
    /// The indices of a slice.
    Slice(Slice),
    /// These indices, in this order.
    List(Vec<usize>),
}

impl AxisPick {
    /// The number of indices.
    pub fn len(&self) -> usize {
        match self {
            AxisPick::Slice(s) => s.len(),
            AxisPick::List(v) => v.len(),
        }
    }

    /// Whether there is no index.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The indices, in order.
    pub fn indices(&self) -> Cow<'_, [usize]> {
        match self {
            AxisPick::Slice(s) => Cow::Owned(s.iter().collect()),
            AxisPick::List(v) => Cow::Borrowed(v),
        }
    }

    fn check(&self, len: usize, axis: usize) -> Result<()> {
        match self {
            AxisPick::Slice(s) => s.check(len, axis),
            AxisPick::List(v) => match v.iter().find(|&&i| i >= len) {
                Some(i) => Err(Error::invalid_argument(format!(
                    "index {i} is out of bounds for axis {axis} with size {len}"
                ))),
                None => Ok(()),
            },
        }
    }
}

/// A selection of items of an N-d array. The items are taken in C order of the pick's shape
/// ([`Pick::shape`]): a region's and an orthogonal pick's shape is the number of indices per
/// axis, points have the shape `[number of points]`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Pick {
    /// A region of slices.
    Region(Region),
    /// Per axis a slice or a list of indices; every combination is picked.
    Orthogonal(Vec<AxisPick>),
    /// Per axis the coordinate of each point: `coords[d][j]` is point `j`'s index on axis `d`.
    Points(Vec<Vec<usize>>),
}

impl From<Region> for Pick {
    fn from(r: Region) -> Pick {
        Pick::Region(r)
    }
}

impl Pick {
    /// The pick's shape: items are paired with another pick's in C order of it.
    pub fn shape(&self) -> Vec<usize> {
        match self {
            Pick::Region(r) => r.shape(),
            Pick::Orthogonal(axes) => axes.iter().map(AxisPick::len).collect(),
            Pick::Points(coords) => vec![coords.first().map_or(1, Vec::len)],
        }
    }

    /// The number of items picked, or an error if it overflows `usize`.
    pub fn num_items(&self) -> Result<usize> {
        checked_num_items(&self.shape())
    }

    /// The number of axes of the array it picks from.
    pub fn ndim(&self) -> usize {
        match self {
            Pick::Region(r) => r.ndim(),
            Pick::Orthogonal(axes) => axes.len(),
            Pick::Points(coords) => coords.len(),
        }
    }

    /// The region, when the pick is one.
    pub fn as_region(&self) -> Option<&Region> {
        match self {
            Pick::Region(r) => Some(r),
            _ => None,
        }
    }

    /// Whether the pick is every item of an array of `shape`, in order, once.
    pub fn is_full(&self, shape: &[usize]) -> bool {
        match self {
            Pick::Region(r) => r.is_full(shape),
            Pick::Orthogonal(axes) => {
                axes.len() == shape.len()
                    && axes.iter().zip(shape).all(|(a, &n)| match a {
                        AxisPick::Slice(s) => s.is_unit_step() && s.start() == 0 && s.len() == n,
                        AxisPick::List(v) => {
                            v.len() == n && v.iter().enumerate().all(|(k, &i)| k == i)
                        }
                    })
            }
            Pick::Points(_) => false,
        }
    }

    /// Checks that the pick has as many axes as `shape`, lies inside it and (points) has as
    /// many coordinates on each axis.
    pub fn check(&self, shape: &[usize]) -> Result<()> {
        if self.ndim() != shape.len() {
            return Err(Error::invalid_argument(format!(
                "a selection of {} axes for an array of {} axes",
                self.ndim(),
                shape.len()
            )));
        }
        match self {
            Pick::Region(r) => r.check(shape),
            Pick::Orthogonal(axes) => axes
                .iter()
                .zip(shape)
                .enumerate()
                .try_for_each(|(axis, (a, &n))| a.check(n, axis)),
            Pick::Points(coords) => {
                let k = coords.first().map_or(0, Vec::len);
                for (axis, (c, &n)) in coords.iter().zip(shape).enumerate() {
                    if c.len() != k {
                        return Err(Error::invalid_argument(format!(
                            "point coordinates of {} and {k} items",
                            c.len()
                        )));
                    }
                    if let Some(i) = c.iter().find(|&&i| i >= n) {
                        return Err(Error::invalid_argument(format!(
                            "index {i} is out of bounds for axis {axis} with size {n}"
                        )));
                    }
                }
                Ok(())
            }
        }
    }

    /// Per axis, the indices of an orthogonal pick or a region; `None` for points.
    fn axes(&self) -> Option<Vec<Cow<'_, [usize]>>> {
        match self {
            Pick::Region(r) => Some(
                r.slices()
                    .iter()
                    .map(|s| Cow::Owned(s.iter().collect()))
                    .collect(),
            ),
            Pick::Orthogonal(axes) => Some(axes.iter().map(AxisPick::indices).collect()),
            Pick::Points(_) => None,
        }
    }

    /// The byte offset of each picked item in an array laid out as `layout`, in C order of
    /// the pick.
    fn offsets(&self, layout: Layout<'_>) -> Result<Vec<usize>> {
        let st = strides(layout.shape(), layout.itemsize(), layout.order());
        let n = self.num_items()?;
        let mut out = Vec::with_capacity(n);
        match self.axes() {
            None => {
                let Pick::Points(coords) = self else {
                    unreachable!("only points have no axes")
                };
                for j in 0..n {
                    out.push(coords.iter().zip(&st).map(|(c, &s)| c[j] * s).sum());
                }
            }
            Some(axes) => {
                let per: Vec<Vec<usize>> = axes
                    .iter()
                    .zip(&st)
                    .map(|(a, &s)| a.iter().map(|&i| i * s).collect())
                    .collect();
                if n > 0 {
                    odometer(&per, |base| out.push(base));
                }
            }
        }
        Ok(out)
    }

    /// The linear (C-order) indices of the blocks of `block_shape` that the pick touches in an
    /// array of `shape` (a grid of `ceil(shape / block_shape)` blocks), sorted, once each.
    pub fn touched_blocks(&self, shape: &[usize], block_shape: &[usize]) -> Result<Vec<usize>> {
        self.check(shape)?;
        if block_shape.len() != shape.len() || block_shape.contains(&0) {
            return Err(Error::invalid_argument(format!(
                "block shape {block_shape:?} for an array of shape {shape:?}"
            )));
        }
        let grid: Vec<usize> = shape
            .iter()
            .zip(block_shape)
            .map(|(&n, &b)| n.div_ceil(b))
            .collect();
        let mut out: Vec<usize> = match self.axes() {
            None => {
                let Pick::Points(coords) = self else {
                    unreachable!("only points have no axes")
                };
                let k = coords.first().map_or(0, Vec::len);
                (0..k)
                    .map(|j| {
                        coords
                            .iter()
                            .zip(block_shape)
                            .zip(&grid)
                            .fold(0, |acc, ((c, &b), &g)| acc * g + c[j] / b)
                    })
                    .collect()
            }
            Some(axes) => {
                let mut per: Vec<Vec<usize>> = Vec::with_capacity(axes.len());
                let mut weight = 1usize;
                let mut weights = vec![0; axes.len()];
                for d in (0..axes.len()).rev() {
                    weights[d] = weight;
                    weight *= grid[d];
                }
                for (d, a) in axes.iter().enumerate() {
                    let mut blocks: Vec<usize> =
                        a.iter().map(|&i| i / block_shape[d] * weights[d]).collect();
                    blocks.sort_unstable();
                    blocks.dedup();
                    per.push(blocks);
                }
                let mut v = Vec::new();
                if per.iter().all(|p| !p.is_empty()) {
                    odometer(&per, |k| v.push(k));
                }
                v
            }
        };
        out.sort_unstable();
        out.dedup();
        Ok(out)
    }

    /// For each picked item, in C order of the pick: the linear (C-order) index of its block
    /// of `block_shape` in an array of `shape`, and its byte offset inside that block (a C-order
    /// array of `block_shape` items of `itemsize` bytes).
    pub fn block_offsets(
        &self,
        shape: &[usize],
        block_shape: &[usize],
        itemsize: usize,
    ) -> Result<(Vec<usize>, Vec<usize>)> {
        self.check(shape)?;
        if block_shape.len() != shape.len() || block_shape.contains(&0) {
            return Err(Error::invalid_argument(format!(
                "block shape {block_shape:?} for an array of shape {shape:?}"
            )));
        }
        let grid: Vec<usize> = shape
            .iter()
            .zip(block_shape)
            .map(|(&n, &b)| n.div_ceil(b))
            .collect();
        let nd = shape.len();
        let mut weights = vec![1usize; nd];
        for d in (0..nd.saturating_sub(1)).rev() {
            weights[d] = weights[d + 1] * grid[d + 1];
        }
        let st = strides(block_shape, itemsize, super::Order::C);
        let n = self.num_items()?;
        let (mut ks, mut offs) = (Vec::with_capacity(n), Vec::with_capacity(n));
        match self.axes() {
            None => {
                let Pick::Points(coords) = self else {
                    unreachable!("only points have no axes")
                };
                ks.resize(n, 0);
                offs.resize(n, 0);
                for (d, c) in coords.iter().enumerate() {
                    for ((k, o), &i) in ks.iter_mut().zip(offs.iter_mut()).zip(c) {
                        *k += i / block_shape[d] * weights[d];
                        *o += i % block_shape[d] * st[d];
                    }
                }
            }
            Some(axes) => {
                if n > 0 {
                    let per_k: Vec<Vec<usize>> = axes
                        .iter()
                        .enumerate()
                        .map(|(d, a)| a.iter().map(|&i| i / block_shape[d] * weights[d]).collect())
                        .collect();
                    let per_o: Vec<Vec<usize>> = axes
                        .iter()
                        .enumerate()
                        .map(|(d, a)| a.iter().map(|&i| i % block_shape[d] * st[d]).collect())
                        .collect();
                    odometer(&per_k, |k| ks.push(k));
                    odometer(&per_o, |o| offs.push(o));
                }
            }
        }
        Ok((ks, offs))
    }

    /// The bytes of an array of `shape` (items of `itemsize` bytes, C order) that the pick
    /// needs, as a [`Compact`] array holding them and the pick of the same items in it.
    /// `None` when the pick has no item.
    pub fn compact(&self, shape: &[usize], itemsize: usize) -> Result<Option<Compact>> {
        self.check(shape)?;
        if self.num_items()? == 0 {
            return Ok(None);
        }
        let st = strides(shape, itemsize, super::Order::C);
        match self.axes() {
            None => {
                // Points: one item each, in point order.
                let offsets = self.offsets(Layout::c(shape, itemsize))?;
                let k = offsets.len();
                let ranges = offsets
                    .iter()
                    .map(|&o| o as u64..(o + itemsize) as u64)
                    .collect();
                Ok(Some(Compact {
                    ranges,
                    shape: vec![k],
                    pick: Pick::Region(Region::full(&[k])?),
                }))
            }
            Some(axes) => {
                // Per axis the distinct indices, sorted: the compact array is their product.
                let uniq: Vec<Vec<usize>> = axes
                    .iter()
                    .map(|a| {
                        let mut u = a.to_vec();
                        u.sort_unstable();
                        u.dedup();
                        u
                    })
                    .collect();
                let compact_shape: Vec<usize> = uniq.iter().map(Vec::len).collect();
                let pick = Pick::Orthogonal(
                    axes.iter()
                        .zip(&uniq)
                        .map(|(a, u)| {
                            AxisPick::List(
                                a.iter()
                                    .map(|i| u.binary_search(i).unwrap_or_default())
                                    .collect(),
                            )
                        })
                        .collect(),
                );
                let nd = shape.len();
                let mut ranges: Vec<Range<u64>> = Vec::new();
                if nd == 0 {
                    ranges.push(0..itemsize as u64);
                } else {
                    // Runs of consecutive indices along the last axis.
                    let last = &uniq[nd - 1];
                    let mut runs: Vec<Range<usize>> = Vec::new();
                    for &i in last {
                        match runs.last_mut() {
                            Some(r) if r.end == i => r.end += 1,
                            _ => runs.push(i..i + 1),
                        }
                    }
                    let outer: Vec<Vec<usize>> = uniq[..nd - 1]
                        .iter()
                        .zip(&st)
                        .map(|(u, &s)| u.iter().map(|&i| i * s).collect())
                        .collect();
                    let mut push_runs = |base: usize| {
                        for r in &runs {
                            let a = base + r.start * itemsize;
                            ranges.push(a as u64..(a + r.len() * itemsize) as u64);
                        }
                    };
                    if outer.is_empty() {
                        push_runs(0);
                    } else {
                        odometer(&outer, push_runs);
                    }
                }
                Ok(Some(Compact {
                    ranges,
                    shape: compact_shape,
                    pick,
                }))
            }
        }
    }
}

/// The part of an array that a pick needs ([`Pick::compact`]): byte `ranges` of the stored
/// array, whose bytes one after another are a C-order array of `shape`, and the `pick` of the
/// picked items in that array.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Compact {
    /// Byte ranges of the stored array, in the compact array's order.
    pub ranges: Vec<Range<u64>>,
    /// The compact array's shape.
    pub shape: Vec<usize>,
    /// The pick's items in the compact array.
    pub pick: Pick,
}

impl Compact {
    /// The number of bytes the ranges hold.
    pub fn num_bytes(&self) -> u64 {
        self.ranges.iter().map(|r| r.end - r.start).sum()
    }
}

/// Calls `f` with the sum of one entry of each list of `per`, for every combination in C order
/// (the last list fastest). Every list must be non-empty.
fn odometer(per: &[Vec<usize>], mut f: impl FnMut(usize)) {
    let nd = per.len();
    if nd == 0 {
        f(0);
        return;
    }
    let mut pos = vec![0usize; nd];
    // Partial sums: base[d] = sum of per[e][pos[e]] for e < d.
    let mut base = vec![0usize; nd + 1];
    for d in 0..nd {
        base[d + 1] = base[d] + per[d][0];
    }
    loop {
        let b = base[nd - 1];
        for &v in &per[nd - 1] {
            f(b + v);
        }
        // Advance the outer axes.
        let mut d = nd - 1;
        loop {
            if d == 0 {
                return;
            }
            d -= 1;
            pos[d] += 1;
            if pos[d] < per[d].len() {
                break;
            }
            pos[d] = 0;
        }
        for e in d..nd - 1 {
            base[e + 1] = base[e] + per[e][pos[e]];
        }
    }
}

/// Copies one item of `itemsize` bytes.
#[inline]
fn copy_item(src: &[u8], s: usize, dst: &mut [u8], d: usize, itemsize: usize) {
    match itemsize {
        1 => dst[d] = src[s],
        2 => dst[d..d + 2].copy_from_slice(&src[s..s + 2]),
        4 => dst[d..d + 4].copy_from_slice(&src[s..s + 4]),
        8 => dst[d..d + 8].copy_from_slice(&src[s..s + 8]),
        n => dst[d..d + n].copy_from_slice(&src[s..s + n]),
    }
}

/// Checks the common parts of a copy between picks and returns their shape.
fn check_copy(
    src: &[u8],
    src_layout: Layout<'_>,
    src_pick: &Pick,
    dst: &[u8],
    dst_layout: Layout<'_>,
    dst_pick: &Pick,
) -> Result<Vec<usize>> {
    if src_layout.itemsize() != dst_layout.itemsize() {
        return Err(Error::invalid_argument(format!(
            "cannot copy items of {} bytes into items of {} bytes",
            src_layout.itemsize(),
            dst_layout.itemsize()
        )));
    }
    for (len, layout, what) in [
        (src.len(), src_layout, "source"),
        (dst.len(), dst_layout, "destination"),
    ] {
        if len != layout.num_bytes()? {
            return Err(Error::invalid_argument(format!(
                "{what} of {len} bytes does not hold shape {:?} of {}-byte items",
                layout.shape(),
                layout.itemsize()
            )));
        }
    }
    src_pick.check(src_layout.shape())?;
    dst_pick.check(dst_layout.shape())?;
    let shape = src_pick.shape();
    if shape != dst_pick.shape() {
        return Err(Error::invalid_argument(format!(
            "cannot copy a selection of shape {shape:?} into one of shape {:?}",
            dst_pick.shape()
        )));
    }
    Ok(shape)
}

/// Copies the items `src_pick` of `src` (laid out as `src_layout`) to the items `dst_pick` of
/// `dst`, pairing them in C order of the picks, whose shapes must be equal: NumPy's
/// `dst[dst_pick] = src[src_pick]`. Runs on the calling thread. Where a destination item is
/// picked twice, the later source item wins.
///
/// ```
/// use ndpack::region::{copy_pick, AxisPick, Layout, Pick, Region, Slice};
/// // dst[[2, 0]] = src[[1, 3], [0, 2]] (points) for a (4, 3) source of bytes.
/// let src: Vec<u8> = (0..12).collect();
/// let mut dst = vec![0u8; 3];
/// let from = Pick::Points(vec![vec![1, 3], vec![0, 2]]);
/// let to = Pick::Orthogonal(vec![AxisPick::List(vec![2, 0])]);
/// copy_pick(&src, Layout::c(&[4, 3], 1), &from, &mut dst, Layout::c(&[3], 1), &to)?;
/// assert_eq!(dst, [11, 0, 3]);
/// # Ok::<(), ndpack::Error>(())
/// ```
pub fn copy_pick(
    src: &[u8],
    src_layout: Layout<'_>,
    src_pick: &Pick,
    dst: &mut [u8],
    dst_layout: Layout<'_>,
    dst_pick: &Pick,
) -> Result<()> {
    if let (Pick::Region(a), Pick::Region(b)) = (src_pick, dst_pick) {
        return copy_region_serial(src, src_layout, a, dst, dst_layout, b);
    }
    let shape = check_copy(src, src_layout, src_pick, dst, dst_layout, dst_pick)?;
    let itemsize = src_layout.itemsize();
    if checked_num_items(&shape)? == 0 {
        return Ok(());
    }
    if let (Some(sa), Some(da)) = (src_pick.axes(), dst_pick.axes()) {
        // Orthogonal on both sides: a loop nest, the last axis copied as one run where it is
        // contiguous on both sides.
        let nd = sa.len();
        if nd == 0 {
            dst[..itemsize].copy_from_slice(&src[..itemsize]);
            return Ok(());
        }
        let ss = strides(src_layout.shape(), itemsize, src_layout.order());
        let ds = strides(dst_layout.shape(), itemsize, dst_layout.order());
        let offs = |axes: &[Cow<'_, [usize]>], st: &[usize]| -> Vec<Vec<usize>> {
            axes.iter()
                .zip(st)
                .map(|(a, &s)| a.iter().map(|&i| i * s).collect())
                .collect()
        };
        let so = offs(&sa, &ss);
        let dof = offs(&da, &ds);
        let run = |o: &[usize]| o.windows(2).all(|w| w[1] == w[0] + itemsize);
        let (s_last, d_last) = (&so[nd - 1], &dof[nd - 1]);
        let contiguous = run(s_last) && run(d_last);
        let n_last = s_last.len();
        // The outer axes' offsets, paired (same lengths on both sides).
        let mut s_outer = Vec::new();
        let mut d_outer = Vec::new();
        odometer(&so[..nd - 1], |b| s_outer.push(b));
        odometer(&dof[..nd - 1], |b| d_outer.push(b));
        for (&sb, &db) in s_outer.iter().zip(&d_outer) {
            if contiguous {
                let (s0, d0) = (sb + s_last[0], db + d_last[0]);
                let len = n_last * itemsize;
                dst[d0..d0 + len].copy_from_slice(&src[s0..s0 + len]);
            } else {
                for (&s, &d) in s_last.iter().zip(d_last) {
                    copy_item(src, sb + s, dst, db + d, itemsize);
                }
            }
        }
        return Ok(());
    }
    let so = src_pick.offsets(src_layout)?;
    let dof = dst_pick.offsets(dst_layout)?;
    for (&s, &d) in so.iter().zip(&dof) {
        copy_item(src, s, dst, d, itemsize);
    }
    Ok(())
}

/// Sets every item `pick` of `dst` (laid out as `layout`) to `item` (one item's bytes): NumPy's
/// `dst[pick] = scalar`.
///
/// ```
/// use ndpack::region::{fill_pick, Layout, Pick};
/// let mut dst = vec![0u8; 6];
/// fill_pick(&mut dst, Layout::c(&[2, 3], 1), &Pick::Points(vec![vec![0, 1], vec![2, 0]]), &[7])?;
/// assert_eq!(dst, [0, 0, 7, 7, 0, 0]);
/// # Ok::<(), ndpack::Error>(())
/// ```
pub fn fill_pick(dst: &mut [u8], layout: Layout<'_>, pick: &Pick, item: &[u8]) -> Result<()> {
    let itemsize = layout.itemsize();
    if item.len() != itemsize {
        return Err(Error::invalid_argument(format!(
            "an item of {} bytes for an array of {itemsize}-byte items",
            item.len()
        )));
    }
    if dst.len() != layout.num_bytes()? {
        return Err(Error::invalid_argument(format!(
            "destination of {} bytes does not hold shape {:?} of {itemsize}-byte items",
            dst.len(),
            layout.shape()
        )));
    }
    pick.check(layout.shape())?;
    for o in pick.offsets(layout)? {
        dst[o..o + itemsize].copy_from_slice(item);
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::region::test_util::Rng;
    use crate::region::Order;

    /// NumPy's meaning of a pick, item by item: the C-order multi-indices it picks.
    fn reference(pick: &Pick) -> Vec<Vec<usize>> {
        match pick {
            Pick::Points(coords) => {
                let k = coords.first().map_or(0, Vec::len);
                (0..k)
                    .map(|j| coords.iter().map(|c| c[j]).collect())
                    .collect()
            }
            _ => {
                let axes = pick.axes().unwrap();
                let mut out = vec![vec![]];
                for a in &axes {
                    let mut next = Vec::new();
                    for prefix in &out {
                        for &i in a.iter() {
                            let mut p: Vec<usize> = prefix.clone();
                            p.push(i);
                            next.push(p);
                        }
                    }
                    out = next;
                }
                out
            }
        }
    }

    fn at(shape: &[usize], order: Order, idx: &[usize]) -> usize {
        strides(shape, 1, order)
            .iter()
            .zip(idx)
            .map(|(s, i)| s * i)
            .sum()
    }

    fn random_pick(rng: &mut Rng, shape: &[usize], k: usize) -> Pick {
        match rng.below(3) {
            0 => Pick::Points(
                shape
                    .iter()
                    .map(|&n| (0..k).map(|_| rng.below(n)).collect())
                    .collect(),
            ),
            1 => Pick::Region(
                shape
                    .iter()
                    .map(|&n| {
                        let a = rng.below(n);
                        Slice::new(a as isize, n as isize, 1 + rng.below(2) as isize).unwrap()
                    })
                    .collect(),
            ),
            _ => Pick::Orthogonal(
                shape
                    .iter()
                    .map(|&n| {
                        if rng.below(2) == 0 {
                            AxisPick::List((0..1 + rng.below(3)).map(|_| rng.below(n)).collect())
                        } else {
                            AxisPick::Slice(Slice::range(rng.below(n), n).unwrap())
                        }
                    })
                    .collect(),
            ),
        }
    }

    #[test]
    fn copies_match_item_by_item_references() {
        let mut rng = Rng(7);
        for _ in 0..400 {
            let nd = 1 + rng.below(3);
            let shape: Vec<usize> = (0..nd).map(|_| 1 + rng.below(5)).collect();
            let src_order = if rng.below(2) == 0 {
                Order::C
            } else {
                Order::F
            };
            let src: Vec<u8> = (0..shape.iter().product::<usize>() as u8).collect();
            let k = 1 + rng.below(4);
            let sp = random_pick(&mut rng, &shape, k);
            let n = sp.num_items().unwrap();
            // The destination: a 1-d array of the items, picked in reverse.
            let dshape = sp.shape();
            let dst_pick = if dshape.len() == 1 {
                Pick::Orthogonal(vec![AxisPick::List((0..n).rev().collect())])
            } else {
                Pick::Region(Region::full(&dshape).unwrap())
            };
            let mut dst = vec![0u8; n];
            copy_pick(
                &src,
                Layout::new(&shape, 1, src_order),
                &sp,
                &mut dst,
                Layout::c(&dshape, 1),
                &dst_pick,
            )
            .unwrap();
            let mut want: Vec<u8> = reference(&sp)
                .iter()
                .map(|i| src[at(&shape, src_order, i)])
                .collect();
            if dshape.len() == 1 {
                want.reverse();
            }
            assert_eq!(dst, want, "{sp:?} of {shape:?}");
            // Fill and touched blocks.
            let mut f = vec![0u8; src.len()];
            fill_pick(&mut f, Layout::c(&shape, 1), &sp, &[1]).unwrap();
            let refs = reference(&sp);
            for (o, &v) in f.iter().enumerate() {
                let hit = refs.iter().any(|i| at(&shape, Order::C, i) == o);
                assert_eq!(v == 1, hit);
            }
            let block: Vec<usize> = shape.iter().map(|&s| 1 + rng.below(s)).collect();
            let grid: Vec<usize> = shape
                .iter()
                .zip(&block)
                .map(|(s, b)| s.div_ceil(*b))
                .collect();
            let mut want_blocks: Vec<usize> = refs
                .iter()
                .map(|i| {
                    i.iter()
                        .zip(&block)
                        .zip(&grid)
                        .fold(0, |acc, ((i, b), g)| acc * g + i / b)
                })
                .collect();
            want_blocks.sort_unstable();
            want_blocks.dedup();
            assert_eq!(sp.touched_blocks(&shape, &block).unwrap(), want_blocks);
            let (ks, offs) = sp.block_offsets(&shape, &block, 2).unwrap();
            for ((i, k), o) in refs.iter().zip(&ks).zip(&offs) {
                let bk = i
                    .iter()
                    .zip(&block)
                    .zip(&grid)
                    .fold(0, |acc, ((i, b), g)| acc * g + i / b);
                let inner: Vec<usize> = i.iter().zip(&block).map(|(i, b)| i % b).collect();
                assert_eq!((*k, *o), (bk, 2 * at(&block, Order::C, &inner)));
            }
            // The compact form holds the picked items.
            let c = sp.compact(&shape, 1).unwrap().unwrap();
            let csrc: Vec<u8> = (0..shape.iter().product::<usize>() as u8).collect();
            let cbytes: Vec<u8> = c
                .ranges
                .iter()
                .flat_map(|r| csrc[r.start as usize..r.end as usize].to_vec())
                .collect();
            let mut got = vec![0u8; n];
            copy_pick(
                &cbytes,
                Layout::c(&c.shape, 1),
                &c.pick,
                &mut got,
                Layout::c(&dshape, 1),
                &Pick::Region(Region::full(&dshape).unwrap()),
            )
            .unwrap();
            let want_c: Vec<u8> = refs.iter().map(|i| csrc[at(&shape, Order::C, i)]).collect();
            assert_eq!(got, want_c);
        }
    }

    #[test]
    fn bad_picks_are_errors() {
        let src = [0u8; 6];
        let mut dst = [0u8; 2];
        let l = Layout::c(&[2, 3], 1);
        let d = Layout::c(&[2], 1);
        let full = Pick::Region(Region::full(&[2]).unwrap());
        for bad in [
            Pick::Points(vec![vec![0, 2], vec![0, 0]]),
            Pick::Points(vec![vec![0, 1], vec![0]]),
            Pick::Orthogonal(vec![AxisPick::List(vec![0, 1]), AxisPick::List(vec![3])]),
            Pick::Orthogonal(vec![AxisPick::List(vec![0, 1])]),
        ] {
            assert!(
                copy_pick(&src, l, &bad, &mut dst, d, &full).is_err(),
                "{bad:?}"
            );
        }
        let three = Pick::Orthogonal(vec![AxisPick::List(vec![0, 1, 1]), AxisPick::List(vec![0])]);
        assert!(copy_pick(&src, l, &three, &mut dst, d, &full).is_err());
        assert!(fill_pick(&mut dst, d, &full, &[1, 2]).is_err());
        assert!(Pick::Points(vec![vec![1]])
            .touched_blocks(&[2], &[0])
            .is_err());
    }
}
