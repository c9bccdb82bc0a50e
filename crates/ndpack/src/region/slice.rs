//! One dimension's selection ([`Slice`]) and N-d regions ([`Region`]).

use std::fmt;
use std::ops::Range;

use crate::error::{Error, Result};

/// `n` as an `isize`, or an error naming `what`.
pub(crate) fn to_isize(n: usize, what: &str) -> Result<isize> {
    isize::try_from(n).map_err(|_| Error::too_large(format!("{what} {n} exceeds isize::MAX")))
}

/// Checks that two things have the same number of dimensions, `a` and `b`; otherwise an
/// invalid-argument error whose message `message(a, b)` words.
pub(crate) fn check_ndim(
    a: usize,
    b: usize,
    message: impl FnOnce(usize, usize) -> String,
) -> Result<()> {
    if a != b {
        return Err(Error::invalid_argument(message(a, b)));
    }
    Ok(())
}

/// The number of items of `range(start, stop, step)` (`step != 0`).
fn count(start: isize, stop: isize, step: isize) -> usize {
    let (a, b, s) = (start as i128, stop as i128, step as i128);
    let n = if s > 0 {
        if a < b {
            (b - a - 1) / s + 1
        } else {
            0
        }
    } else if a > b {
        (a - b - 1) / (-s) + 1
    } else {
        0
    };
    // `n <= |b - a| < 2^64`, and on 32-bit targets `< 2^32`.
    n as usize
}

/// The indices `start, start + step, ...` short of `stop` along one dimension, as Python's
/// `range(start, stop, step)` (step never 0). Every index a `Slice` yields is `>= 0`.
///
/// `start`, `stop` and `step` are what Python's `slice.indices(len)` returns, so for a negative
/// step `stop` may be `-1` (the selection runs down to index 0).
///
/// ```
/// use ndpack::region::Slice;
/// // x[::-2] of a length-5 dimension: indices 4, 2, 0.
/// let s = Slice::normalize(None, None, Some(-2), 5)?;
/// assert_eq!(s.indices(), (4, -1, -2));
/// assert_eq!(s.len(), 3);
/// assert_eq!(s.iter().collect::<Vec<_>>(), [4, 2, 0]);
/// # Ok::<(), ndpack::Error>(())
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Slice {
    start: isize,
    stop: isize,
    step: isize,
}

impl Slice {
    /// `range(start, stop, step)`. Errors if `step` is 0 or if the slice is not empty and would
    /// yield a negative index.
    ///
    /// ```
    /// use ndpack::region::Slice;
    /// assert_eq!(Slice::new(1, 7, 3)?.iter().collect::<Vec<_>>(), [1, 4]);
    /// assert!(Slice::new(0, 4, 0).is_err());
    /// assert!(Slice::new(-2, 3, 1).is_err());
    /// # Ok::<(), ndpack::Error>(())
    /// ```
    pub fn new(start: isize, stop: isize, step: isize) -> Result<Slice> {
        if step == 0 {
            return Err(Error::invalid_argument("slice step cannot be zero"));
        }
        let s = Slice { start, stop, step };
        let n = s.len();
        if n > 0 {
            let last = start as i128 + (n as i128 - 1) * step as i128;
            if start < 0 || last < 0 {
                return Err(Error::invalid_argument(format!(
                    "slice {s} selects negative indices; normalize it against a length first"
                )));
            }
        }
        Ok(s)
    }

    /// The slice `start:stop:step` (each `None` when omitted) of a dimension of length `len`,
    /// exactly as Python's `slice(start, stop, step).indices(len)`: negative values count from
    /// the end, out-of-range values are clamped, a negative step runs backwards. Errors if
    /// `step` is 0 (`"slice step cannot be zero"`, Python's message) or `len` exceeds
    /// `isize::MAX`.
    ///
    /// ```
    /// use ndpack::region::Slice;
    /// assert_eq!(Slice::normalize(Some(-3), None, None, 10)?.indices(), (7, 10, 1));
    /// assert_eq!(Slice::normalize(Some(20), Some(-20), Some(-3), 10)?.indices(), (9, -1, -3));
    /// assert_eq!(Slice::normalize(Some(2), Some(100), None, 5)?.len(), 3);
    /// assert!(Slice::normalize(None, None, Some(0), 5).is_err());
    /// # Ok::<(), ndpack::Error>(())
    /// ```
    pub fn normalize(
        start: Option<isize>,
        stop: Option<isize>,
        step: Option<isize>,
        len: usize,
    ) -> Result<Slice> {
        let step = step.unwrap_or(1);
        if step == 0 {
            return Err(Error::invalid_argument("slice step cannot be zero"));
        }
        let len = to_isize(len, "dimension length")?;
        let (lower, upper) = if step < 0 { (-1, len - 1) } else { (0, len) };
        let clamp = |v: isize| {
            // `v < 0` and `len >= 0`: the sum cannot overflow.
            let v = if v < 0 { v + len } else { v };
            v.clamp(lower, upper)
        };
        let start = match start {
            None if step < 0 => upper,
            None => lower,
            Some(v) => clamp(v),
        };
        let stop = match stop {
            None if step < 0 => lower,
            None => upper,
            Some(v) => clamp(v),
        };
        Ok(Slice { start, stop, step })
    }

    /// `start..stop` with step 1 (empty if `stop <= start`).
    ///
    /// ```
    /// use ndpack::region::Slice;
    /// assert_eq!(Slice::range(2, 5)?.iter().collect::<Vec<_>>(), [2, 3, 4]);
    /// # Ok::<(), ndpack::Error>(())
    /// ```
    pub fn range(start: usize, stop: usize) -> Result<Slice> {
        Ok(Slice {
            start: to_isize(start, "slice start")?,
            stop: to_isize(stop, "slice stop")?,
            step: 1,
        })
    }

    /// `range` with step 1, for positions within a valid slice (which fit `isize`).
    pub(crate) fn positions(range: Range<usize>) -> Slice {
        Slice {
            start: range.start as isize,
            stop: range.end as isize,
            step: 1,
        }
    }

    /// The whole of a dimension of length `len`: `0..len`.
    pub fn full(len: usize) -> Result<Slice> {
        Slice::range(0, len)
    }

    /// The one index `index`: `index..index + 1`.
    pub fn at(index: usize) -> Result<Slice> {
        let start = to_isize(index, "index")?;
        let stop = start
            .checked_add(1)
            .ok_or_else(|| Error::too_large(format!("index {index} exceeds isize::MAX")))?;
        Ok(Slice {
            start,
            stop,
            step: 1,
        })
    }

    /// The first index (inclusive), as in `slice.indices`.
    pub fn start(&self) -> isize {
        self.start
    }

    /// The end (exclusive; `-1` for a negative step that runs down to 0), as in `slice.indices`.
    pub fn stop(&self) -> isize {
        self.stop
    }

    /// The step (never 0).
    pub fn step(&self) -> isize {
        self.step
    }

    /// `(start, stop, step)`, what Python's `slice.indices` returns.
    pub fn indices(&self) -> (isize, isize, isize) {
        (self.start, self.stop, self.step)
    }

    /// The number of indices.
    pub fn len(&self) -> usize {
        count(self.start, self.stop, self.step)
    }

    /// Whether the slice selects no index.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Whether the step is 1.
    pub fn is_unit_step(&self) -> bool {
        self.step == 1
    }

    /// The `k`-th index, if `k < len()`.
    ///
    /// ```
    /// use ndpack::region::Slice;
    /// let s = Slice::new(9, 0, -4)?;
    /// assert_eq!((s.get(0), s.get(2), s.get(3)), (Some(9), Some(1), None));
    /// # Ok::<(), ndpack::Error>(())
    /// ```
    pub fn get(&self, k: usize) -> Option<usize> {
        (k < self.len()).then(|| (self.start as i128 + k as i128 * self.step as i128) as usize)
    }

    /// The first index yielded, if any.
    pub fn first(&self) -> Option<usize> {
        self.get(0)
    }

    /// The last index yielded, if any.
    pub fn last(&self) -> Option<usize> {
        self.len().checked_sub(1).and_then(|k| self.get(k))
    }

    /// The smallest range of indices that holds every index of the slice (`0..0` if empty).
    ///
    /// ```
    /// use ndpack::region::Slice;
    /// assert_eq!(Slice::new(9, 0, -4)?.bounds(), 1..10);
    /// # Ok::<(), ndpack::Error>(())
    /// ```
    pub fn bounds(&self) -> Range<usize> {
        match (self.first(), self.last()) {
            (Some(a), Some(b)) => a.min(b)..a.max(b) + 1,
            _ => 0..0,
        }
    }

    /// The indices in order.
    pub fn iter(&self) -> SliceIter {
        SliceIter {
            next: self.start,
            step: self.step,
            remaining: self.len(),
        }
    }

    /// Checks that every index is below `len`, the length of dimension `axis`.
    ///
    /// ```
    /// use ndpack::region::Slice;
    /// assert!(Slice::range(0, 5)?.check(5, 0).is_ok());
    /// let err = Slice::range(0, 6)?.check(5, 1).unwrap_err();
    /// assert!(err.message().contains("axis 1 with size 5"));
    /// # Ok::<(), ndpack::Error>(())
    /// ```
    pub fn check(&self, len: usize, axis: usize) -> Result<()> {
        match self.bounds() {
            r if r.is_empty() || r.end <= len => Ok(()),
            r => Err(Error::invalid_argument(format!(
                "slice {self} reaches index {} out of bounds for axis {axis} with size {len}",
                r.end - 1
            ))),
        }
    }

    /// The part of this slice whose indices lie in `range`, in this slice's order, and the
    /// positions (`k` in [`Slice::get`]) of those indices in this slice.
    ///
    /// ```
    /// use ndpack::region::Slice;
    /// let s = Slice::new(10, 0, -3)?; // 10, 7, 4, 1
    /// let (part, pos) = s.restrict(2..8);
    /// assert_eq!(part.iter().collect::<Vec<_>>(), [7, 4]);
    /// assert_eq!(pos, 1..3);
    /// # Ok::<(), ndpack::Error>(())
    /// ```
    pub fn restrict(&self, range: Range<usize>) -> (Slice, Range<usize>) {
        let n = self.len() as i128;
        let (a, s) = (self.start as i128, self.step as i128);
        let (lo, hi) = (range.start as i128, range.end as i128);
        let ceil_div = |x: i128, d: i128| if x <= 0 { 0 } else { (x + d - 1) / d };
        let (k0, k1) = if s > 0 {
            // Positions with lo <= a + k*s < hi.
            (ceil_div(lo - a, s), ceil_div(hi - a, s))
        } else {
            // Indices decrease: positions with a + k*s < hi come first, those >= lo last.
            (ceil_div(a - hi + 1, -s), ceil_div(a - lo + 1, -s))
        };
        let k0 = k0.min(n);
        let k1 = k1.clamp(k0, n);
        let at = |k: i128| {
            if k < n {
                (a + k * s) as isize
            } else {
                self.stop
            }
        };
        let start = at(k0);
        let stop = if k0 == k1 { start } else { at(k1) };
        (
            Slice {
                start,
                stop,
                step: self.step,
            },
            k0 as usize..k1 as usize,
        )
    }

    /// The indices at positions `positions` of this slice (`k` in [`Slice::get`]), same step:
    /// `x[s][a:b]` as one slice of `x`. Errors if the positions run past the slice's end.
    ///
    /// ```
    /// use ndpack::region::Slice;
    /// let s = Slice::new(10, 0, -3)?; // 10, 7, 4, 1
    /// assert_eq!(s.select(1..3)?.iter().collect::<Vec<_>>(), [7, 4]);
    /// assert!(s.select(1..5).is_err());
    /// # Ok::<(), ndpack::Error>(())
    /// ```
    pub fn select(&self, positions: Range<usize>) -> Result<Slice> {
        if positions.end > self.len() {
            return Err(Error::invalid_argument(format!(
                "positions {positions:?} run past the {} indices of slice {self}",
                self.len()
            )));
        }
        if positions.is_empty() {
            return Ok(Slice {
                start: self.start,
                stop: self.start,
                step: self.step,
            });
        }
        // Positions inside the slice: every index below is one of its indices or one step past
        // its last, which fits `isize` (the slice's own stop bounds it).
        let start = self.start + positions.start as isize * self.step;
        let stop = start + positions.len() as isize * self.step;
        Ok(Slice {
            start,
            stop: if self.step < 0 { stop.max(-1) } else { stop },
            step: self.step,
        })
    }

    /// This slice with `offset` subtracted from every index (each index must be `>= offset`).
    pub(crate) fn shift_down(&self, offset: usize) -> Slice {
        let offset = offset as isize;
        let start = self.start - offset;
        let stop = if self.is_empty() {
            start
        } else if self.step < 0 {
            (self.stop - offset).max(-1)
        } else {
            self.stop - offset
        };
        Slice {
            start,
            stop,
            step: self.step,
        }
    }
}

impl fmt::Display for Slice {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}:{}", self.start, self.stop, self.step)
    }
}

impl IntoIterator for &Slice {
    type Item = usize;
    type IntoIter = SliceIter;
    fn into_iter(self) -> SliceIter {
        self.iter()
    }
}

/// The indices of a [`Slice`], in order.
#[derive(Debug, Clone)]
pub struct SliceIter {
    next: isize,
    step: isize,
    remaining: usize,
}

impl Iterator for SliceIter {
    type Item = usize;

    fn next(&mut self) -> Option<usize> {
        if self.remaining == 0 {
            return None;
        }
        let value = self.next as usize;
        self.remaining -= 1;
        if self.remaining > 0 {
            // Another index follows, so this sum lies between start and stop.
            self.next += self.step;
        }
        Some(value)
    }

    fn size_hint(&self) -> (usize, Option<usize>) {
        (self.remaining, Some(self.remaining))
    }
}

impl ExactSizeIterator for SliceIter {}

/// An N-d selection: one [`Slice`] per dimension, in C order.
///
/// ```
/// use ndpack::region::{Region, Slice};
/// let r = Region::new(vec![Slice::range(1, 3)?, Slice::normalize(None, None, Some(-2), 7)?]);
/// assert_eq!(r.shape(), [2, 4]);
/// r.check(&[3, 7])?;
/// assert!(r.check(&[2, 7]).is_err());
/// # Ok::<(), ndpack::Error>(())
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Hash, Default)]
pub struct Region {
    slices: Vec<Slice>,
}

impl Region {
    /// The region with these slices (dimension 0 first).
    pub fn new(slices: Vec<Slice>) -> Region {
        Region { slices }
    }

    /// The whole of an array of `shape`.
    ///
    /// ```
    /// use ndpack::region::Region;
    /// assert_eq!(Region::full(&[4, 0, 2])?.shape(), [4, 0, 2]);
    /// # Ok::<(), ndpack::Error>(())
    /// ```
    pub fn full(shape: &[usize]) -> Result<Region> {
        shape.iter().map(|&n| Slice::full(n)).collect()
    }

    /// The box `start[d]..stop[d]` in each dimension `d` (step 1).
    ///
    /// ```
    /// use ndpack::region::Region;
    /// assert_eq!(Region::from_bounds(&[1, 2], &[3, 7])?.shape(), [2, 5]);
    /// # Ok::<(), ndpack::Error>(())
    /// ```
    pub fn from_bounds(start: &[usize], stop: &[usize]) -> Result<Region> {
        check_ndim(start.len(), stop.len(), |a, b| {
            format!("region start has {a} dimensions, stop has {b}")
        })?;
        start
            .iter()
            .zip(stop)
            .map(|(&a, &b)| Slice::range(a, b))
            .collect()
    }

    /// The slices, dimension 0 first.
    pub fn slices(&self) -> &[Slice] {
        &self.slices
    }

    /// The number of dimensions.
    pub fn ndim(&self) -> usize {
        self.slices.len()
    }

    /// The number of indices in each dimension.
    pub fn shape(&self) -> Vec<usize> {
        self.slices.iter().map(Slice::len).collect()
    }

    /// The number of items, or an error if it overflows `usize`.
    pub fn num_items(&self) -> Result<usize> {
        self.slices.iter().try_fold(1usize, |acc, s| {
            acc.checked_mul(s.len())
                .ok_or_else(|| Error::too_large(format!("region {self} has too many items")))
        })
    }

    /// Whether some dimension selects nothing (a 0-d region is not empty: it has one item).
    pub fn is_empty(&self) -> bool {
        self.slices.iter().any(Slice::is_empty)
    }

    /// Whether every step is 1.
    pub fn is_unit_step(&self) -> bool {
        self.slices.iter().all(Slice::is_unit_step)
    }

    /// Checks that the region has as many dimensions as `shape` and lies inside it.
    pub fn check(&self, shape: &[usize]) -> Result<()> {
        check_ndim(self.ndim(), shape.len(), |a, b| {
            format!("region {self} has {a} dimensions, the array {b}")
        })?;
        for (axis, (s, &len)) in self.slices.iter().zip(shape).enumerate() {
            s.check(len, axis)?;
        }
        Ok(())
    }

    /// Whether the region is all of an array of `shape`, in order.
    pub fn is_full(&self, shape: &[usize]) -> bool {
        self.ndim() == shape.len()
            && self
                .slices
                .iter()
                .zip(shape)
                .all(|(s, &n)| s.is_unit_step() && s.start == 0 && s.len() == n)
    }

    /// The items at `positions` (a box of positions in this region's shape) of this region, as
    /// one region of the same array: `x[self][positions]`.
    ///
    /// ```
    /// use ndpack::region::{Region, Slice};
    /// let r = Region::new(vec![Slice::new(1, 10, 2)?]); // 1, 3, 5, 7, 9
    /// let part = r.select(&Region::from_bounds(&[1], &[3])?)?;
    /// assert_eq!(part.slices()[0].iter().collect::<Vec<_>>(), [3, 5]);
    /// # Ok::<(), ndpack::Error>(())
    /// ```
    pub fn select(&self, positions: &Region) -> Result<Region> {
        check_ndim(self.ndim(), positions.ndim(), |a, b| {
            format!("region {self} has {a} dimensions, the positions {positions} {b}")
        })?;
        self.slices
            .iter()
            .zip(&positions.slices)
            .map(|(s, p)| {
                if !p.is_unit_step() {
                    return Err(Error::invalid_argument(format!(
                        "positions {positions} have a step other than 1"
                    )));
                }
                s.select(p.bounds())
            })
            .collect()
    }

    /// The items of `other` that lie inside `self`, which must have step 1 in every dimension
    /// (a box), in `other`'s order and steps.
    ///
    /// ```
    /// use ndpack::region::{Region, Slice};
    /// let chunk = Region::from_bounds(&[0, 4], &[4, 8])?;
    /// let key = Region::new(vec![Slice::new(5, 0, -2)?, Slice::new(1, 10, 3)?]);
    /// let part = chunk.intersect(&key)?;
    /// assert_eq!(part.slices()[0].iter().collect::<Vec<_>>(), [3, 1]);
    /// assert_eq!(part.slices()[1].iter().collect::<Vec<_>>(), [4, 7]);
    /// # Ok::<(), ndpack::Error>(())
    /// ```
    pub fn intersect(&self, other: &Region) -> Result<Region> {
        Ok(self.intersect_positions(other)?.0)
    }

    /// Like [`Region::intersect`], and also the positions of those items in `other` (a box:
    /// where they go in an output of `other`'s shape).
    ///
    /// ```
    /// use ndpack::region::{Region, Slice};
    /// let chunk = Region::from_bounds(&[4], &[8])?;
    /// let key = Region::new(vec![Slice::new(1, 10, 3)?]); // 1, 4, 7
    /// let (part, pos) = chunk.intersect_positions(&key)?;
    /// assert_eq!(part.slices()[0].iter().collect::<Vec<_>>(), [4, 7]);
    /// assert_eq!(pos, Region::from_bounds(&[1], &[3])?);
    /// # Ok::<(), ndpack::Error>(())
    /// ```
    pub fn intersect_positions(&self, other: &Region) -> Result<(Region, Region)> {
        check_ndim(self.ndim(), other.ndim(), |a, b| {
            format!("cannot intersect region {self} ({a} dimensions) with {other} ({b} dimensions)")
        })?;
        let mut part = Vec::with_capacity(self.ndim());
        let mut pos = Vec::with_capacity(self.ndim());
        for (b, s) in self.slices.iter().zip(&other.slices) {
            if !b.is_unit_step() {
                return Err(Error::invalid_argument(format!(
                    "region {self} has a step other than 1; only a box can be intersected"
                )));
            }
            let (p, k) = s.restrict(b.bounds());
            part.push(p);
            pos.push(Slice::range(k.start, k.end)?);
        }
        Ok((Region::new(part), Region::new(pos)))
    }
}

impl FromIterator<Slice> for Region {
    fn from_iter<I: IntoIterator<Item = Slice>>(iter: I) -> Self {
        Region::new(iter.into_iter().collect())
    }
}

impl From<Vec<Slice>> for Region {
    fn from(slices: Vec<Slice>) -> Self {
        Region::new(slices)
    }
}

impl fmt::Display for Region {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("[")?;
        for (i, s) in self.slices.iter().enumerate() {
            if i > 0 {
                f.write_str(", ")?;
            }
            write!(f, "{s}")?;
        }
        f.write_str("]")
    }
}

/// Random numbers, slices and orders for the region tests.
#[cfg(test)]
pub(crate) mod test_util {
    use std::ops::Range;

    use super::Slice;
    use crate::region::Order;

    /// A splitmix64 generator: the same numbers from the same seed.
    pub(crate) struct Rng(pub(crate) u64);

    impl Rng {
        /// A number below `n`.
        pub(crate) fn below(&mut self, n: usize) -> usize {
            // splitmix64
            self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
            let mut z = self.0;
            z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
            z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
            ((z ^ (z >> 31)) % n as u64) as usize
        }

        /// `n` random bytes.
        pub(crate) fn bytes(&mut self, n: usize) -> Vec<u8> {
            (0..n).map(|_| self.below(256) as u8).collect()
        }

        /// A random shape: a number of dimensions from `ndims`, each a length from `lens`.
        pub(crate) fn shape(&mut self, ndims: Range<usize>, lens: Range<usize>) -> Vec<usize> {
            let ndim = ndims.start + self.below(ndims.len());
            (0..ndim)
                .map(|_| lens.start + self.below(lens.len()))
                .collect()
        }

        /// F order one time in three, C order otherwise.
        pub(crate) fn order(&mut self) -> Order {
            if self.below(3) == 0 {
                Order::F
            } else {
                Order::C
            }
        }
    }

    /// A random slice of a dimension of length `len`: a step drawn from `steps`, and a start and
    /// a stop (from just outside the dimension to just past it) each left out one time in
    /// `none_one_in`.
    pub(crate) fn random_slice(
        rng: &mut Rng,
        len: usize,
        steps: &[isize],
        none_one_in: usize,
    ) -> Slice {
        let step = steps[rng.below(steps.len())];
        let a = rng.below(len + 3) as isize - 1;
        let b = rng.below(len + 3) as isize - 1;
        let opt = |v: isize, r: &mut Rng| (r.below(none_one_in) > 0).then_some(v);
        Slice::normalize(opt(a, rng), opt(b, rng), Some(step), len).unwrap()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(tok: &str) -> Option<isize> {
        match tok {
            "N" => None,
            "min" => Some(isize::MIN),
            "max" => Some(isize::MAX),
            "-max" => Some(-isize::MAX),
            t => Some(t.parse().unwrap()),
        }
    }

    /// Every line of `slice_indices.txt` (made by `slice_indices.py` with CPython's
    /// `slice(start, stop, step).indices(len)`): `start stop step len -> start stop step`.
    #[test]
    fn normalize_matches_python_slice_indices() {
        let table = include_str!("testdata/slice_indices.txt");
        let mut lines = 0;
        for line in table.lines().filter(|l| !l.starts_with('#')) {
            let t: Vec<&str> = line.split_whitespace().collect();
            assert_eq!(t.len(), 8, "{line}");
            let len: usize = t[3].parse().unwrap();
            let s = Slice::normalize(parse(t[0]), parse(t[1]), parse(t[2]), len).unwrap();
            let want = (
                parse(t[5]).unwrap(),
                parse(t[6]).unwrap(),
                parse(t[7]).unwrap(),
            );
            assert_eq!(s.indices(), want, "{line}");
            // Python's len(range(*indices)) and the indices themselves.
            let r: Vec<i128> = {
                let (a, b, c) = (want.0 as i128, want.1 as i128, want.2 as i128);
                let mut v = Vec::new();
                let mut i = a;
                while (c > 0 && i < b) || (c < 0 && i > b) {
                    v.push(i);
                    i += c;
                }
                v
            };
            assert_eq!(s.len(), r.len(), "{line}");
            let got: Vec<i128> = s.iter().map(|i| i as i128).collect();
            assert_eq!(got, r, "{line}");
            s.check(len, 0).unwrap();
            lines += 1;
        }
        assert!(lines > 2000);
    }

    #[test]
    fn step_zero_and_bad_slices_are_errors() {
        let e = Slice::normalize(None, None, Some(0), 3).unwrap_err();
        assert_eq!(e.message(), "slice step cannot be zero");
        assert!(Slice::new(0, 3, 0).is_err());
        assert!(Slice::new(-1, 3, 1).is_err());
        assert!(Slice::new(3, -3, -2).is_err());
        assert!(Slice::new(3, -1, -2).is_ok());
        assert!(Slice::new(-5, -5, 1).is_ok()); // empty
        assert!(Slice::normalize(None, None, None, usize::MAX).is_err());
        assert!(Slice::at(usize::MAX).is_err());
        assert!(Slice::at(isize::MAX as usize).is_err());
    }

    #[test]
    fn check_names_the_axis() {
        let e = Slice::new(0, 9, 4).unwrap().check(8, 3).unwrap_err();
        assert_eq!(
            e.message(),
            "slice 0:9:4 reaches index 8 out of bounds for axis 3 with size 8"
        );
        Slice::new(0, 9, 4).unwrap().check(9, 3).unwrap();
        let r = Region::new(vec![Slice::range(0, 2).unwrap()]);
        assert!(r.check(&[2, 2]).is_err());
    }

    #[test]
    fn restrict_matches_filtering() {
        let mut rng = 0x1234_5678_u64;
        let mut next = |m: u64| {
            rng ^= rng << 13;
            rng ^= rng >> 7;
            rng ^= rng << 17;
            rng % m
        };
        for _ in 0..5000 {
            let len = next(30) as usize;
            let step = next(9) as isize - 4;
            let step = if step == 0 { 5 } else { step };
            let a = next(40) as isize - 20;
            let b = next(40) as isize - 20;
            let s = Slice::normalize(Some(a), Some(b), Some(step), len).unwrap();
            let lo = next(32) as usize;
            let hi = next(32) as usize;
            let (part, pos) = s.restrict(lo..hi);
            let all: Vec<usize> = s.iter().collect();
            let want: Vec<(usize, usize)> = all
                .iter()
                .enumerate()
                .filter(|(_, &i)| lo <= i && i < hi)
                .map(|(k, &i)| (k, i))
                .collect();
            let got: Vec<usize> = part.iter().collect();
            assert_eq!(got, want.iter().map(|w| w.1).collect::<Vec<_>>());
            assert_eq!(pos.len(), want.len());
            if let Some(w) = want.first() {
                assert_eq!(pos.start, w.0);
            }
            assert_eq!(part.step(), s.step());
            // The restricted slice is valid for `new` and shifts like its indices.
            assert_eq!(Slice::new(part.start, part.stop, part.step).unwrap(), part);
            if let Some(m) = got.iter().min() {
                let sh = part.shift_down(*m);
                let shifted: Vec<usize> = sh.iter().collect();
                assert_eq!(shifted, got.iter().map(|i| i - m).collect::<Vec<_>>());
                assert!(sh.step() > 0 || sh.stop() >= -1);
            }
        }
    }

    #[test]
    fn extreme_steps() {
        let s = Slice::normalize(None, None, Some(isize::MIN), 5).unwrap();
        assert_eq!(s.iter().collect::<Vec<_>>(), [4]);
        let s = Slice::normalize(None, None, Some(isize::MAX), 5).unwrap();
        assert_eq!(s.iter().collect::<Vec<_>>(), [0]);
        let s = Slice::new(0, isize::MAX, isize::MAX - 1).unwrap();
        assert_eq!(s.len(), 2);
        assert_eq!(s.last(), Some(isize::MAX as usize - 1));
        let (p, k) = s.restrict(1..usize::MAX);
        assert_eq!((p.len(), k), (1, 1..2));
    }

    #[test]
    fn region_basics() {
        let r = Region::full(&[]).unwrap();
        assert_eq!(
            (r.ndim(), r.num_items().unwrap(), r.is_empty()),
            (0, 1, false)
        );
        assert!(r.is_full(&[]));
        let r = Region::full(&[3, 0]).unwrap();
        assert!(r.is_empty());
        assert_eq!(r.num_items().unwrap(), 0);
        assert!(Region::from_bounds(&[0], &[1, 2]).is_err());
        let big = Region::full(&[1 << 40, 1 << 40]).unwrap();
        assert_eq!(
            big.num_items().unwrap_err().kind(),
            crate::ErrorKind::TooLarge
        );
        let b = Region::from_bounds(&[1], &[3]).unwrap();
        let stepped = Region::new(vec![Slice::new(0, 5, 2).unwrap()]);
        assert!(stepped.intersect(&b).is_err());
        assert_eq!(
            b.intersect(&stepped).unwrap().slices()[0]
                .iter()
                .collect::<Vec<_>>(),
            [2]
        );
        assert!(b.intersect(&Region::full(&[1, 1]).unwrap()).is_err());
        assert_eq!(format!("{b}"), "[1:3:1]");
    }
}
