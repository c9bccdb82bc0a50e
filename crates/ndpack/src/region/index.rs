//! NumPy basic indexing: keys of integers, slices, `...` and new axes ([`Index`]) resolved
//! against a shape into a [`Region`] and the result's shape ([`Selection`]).

use super::slice::{Region, Slice};
use crate::error::{Error, Result};

/// The index `index` of a dimension of length `len`, NumPy's way: negative values count from
/// the end; out of range is an error that names `axis` (NumPy's message).
///
/// ```
/// use ndpack::region::normalize_index;
/// assert_eq!(normalize_index(-1, 5, 0)?, 4);
/// let err = normalize_index(5, 5, 2).unwrap_err();
/// assert_eq!(err.message(), "index 5 is out of bounds for axis 2 with size 5");
/// # Ok::<(), ndpack::Error>(())
/// ```
pub fn normalize_index(index: isize, len: usize, axis: usize) -> Result<usize> {
    let i = if index < 0 {
        len.checked_sub(index.unsigned_abs())
    } else {
        Some(index as usize).filter(|&i| i < len)
    };
    i.ok_or_else(|| {
        Error::invalid_argument(format!(
            "index {index} is out of bounds for axis {axis} with size {len}"
        ))
    })
}

/// One item of a NumPy basic-indexing key.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Index {
    /// An integer: selects one index and drops the dimension.
    Int(isize),
    /// `start:stop:step`, each part optional.
    Slice {
        /// The start, `None` when omitted.
        start: Option<isize>,
        /// The stop, `None` when omitted.
        stop: Option<isize>,
        /// The step, `None` when omitted.
        step: Option<isize>,
    },
    /// `...`: as many `:` as the dimensions the key does not name.
    Ellipsis,
    /// `None` / `np.newaxis`: a new dimension of length 1 in the result.
    NewAxis,
}

impl Index {
    /// `:`, the whole dimension.
    pub const FULL: Index = Index::Slice {
        start: None,
        stop: None,
        step: None,
    };
}

/// A NumPy basic-indexing key resolved against an array's shape: the [`Region`] it reads (one
/// slice per array dimension), which dimensions an integer dropped, and the shape of the
/// result (dropped dimensions removed, new axes inserted).
///
/// The region's items in C order are the result's items in C order, so a copy of
/// [`Selection::region`] into a contiguous buffer of [`Selection::shape`] is NumPy's
/// `array[key]`.
///
/// ```
/// use ndpack::region::{Index, Selection};
/// // a[1, ..., None, ::-2] of a (3, 4, 5) array
/// let key = [Index::Int(1), Index::Ellipsis, Index::NewAxis,
///            Index::Slice { start: None, stop: None, step: Some(-2) }];
/// let sel = Selection::new(&key, &[3, 4, 5])?;
/// assert_eq!(sel.shape(), [4, 1, 3]);
/// assert_eq!(sel.region().shape(), [1, 4, 3]);
/// assert_eq!(sel.dropped(), [true, false, false]);
/// # Ok::<(), ndpack::Error>(())
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Selection {
    region: Region,
    dropped: Vec<bool>,
    shape: Vec<usize>,
}

impl Selection {
    /// Resolves `key` against `shape` as NumPy's basic indexing does: missing trailing items
    /// are `:`, at most one [`Index::Ellipsis`], integers in range (negative from the end).
    /// Errors carry NumPy's messages.
    pub fn new(key: &[Index], shape: &[usize]) -> Result<Selection> {
        let named = key
            .iter()
            .filter(|i| !matches!(i, Index::Ellipsis | Index::NewAxis))
            .count();
        let ellipses = key.iter().filter(|i| matches!(i, Index::Ellipsis)).count();
        if ellipses > 1 {
            return Err(Error::invalid_argument(
                "an index can only have a single ellipsis ('...')",
            ));
        }
        if named > shape.len() {
            return Err(Error::invalid_argument(format!(
                "too many indices for array: array is {}-dimensional, but {named} were indexed",
                shape.len()
            )));
        }
        // The key with `...` (or, without one, the end) standing for `:` in each dimension the
        // key does not name.
        let fill = shape.len() - named;
        let mut items = Vec::with_capacity(shape.len() + key.len());
        for item in key {
            match item {
                Index::Ellipsis => items.extend(std::iter::repeat_n(Index::FULL, fill)),
                other => items.push(*other),
            }
        }
        if ellipses == 0 {
            items.extend(std::iter::repeat_n(Index::FULL, fill));
        }
        let mut slices = Vec::with_capacity(shape.len());
        let mut dropped = Vec::with_capacity(shape.len());
        let mut out = Vec::with_capacity(items.len());
        for item in items {
            let axis = slices.len();
            match item {
                Index::Int(i) => {
                    let i = normalize_index(i, shape[axis], axis)?;
                    slices.push(Slice::at(i)?);
                    dropped.push(true);
                }
                Index::Slice { start, stop, step } => {
                    let s = Slice::normalize(start, stop, step, shape[axis])?;
                    out.push(s.len());
                    slices.push(s);
                    dropped.push(false);
                }
                Index::NewAxis => out.push(1),
                // Expanded above.
                Index::Ellipsis => {}
            }
        }
        Ok(Selection {
            region: Region::new(slices),
            dropped,
            shape: out,
        })
    }

    /// The region read, one slice per array dimension (length 1 where an integer indexed).
    pub fn region(&self) -> &Region {
        &self.region
    }

    /// For each array dimension, whether an integer indexed (and so dropped) it.
    pub fn dropped(&self) -> &[bool] {
        &self.dropped
    }

    /// The shape of the result, as NumPy gives it.
    pub fn shape(&self) -> &[usize] {
        &self.shape
    }

    /// The region, consuming the selection.
    pub fn into_region(self) -> Region {
        self.region
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn index_normalization() {
        assert_eq!(normalize_index(0, 1, 0).unwrap(), 0);
        assert_eq!(normalize_index(-3, 3, 0).unwrap(), 0);
        assert!(normalize_index(-4, 3, 0).is_err());
        assert!(normalize_index(0, 0, 0).is_err());
        assert!(normalize_index(isize::MIN, 3, 0).is_err());
        assert_eq!(
            normalize_index(-4, 3, 1).unwrap_err().message(),
            "index -4 is out of bounds for axis 1 with size 3"
        );
    }

    #[test]
    fn selections_like_numpy() {
        let s = |a, b, c| Index::Slice {
            start: a,
            stop: b,
            step: c,
        };
        let sel = Selection::new(&[], &[2, 3]).unwrap();
        assert_eq!(sel.shape(), [2, 3]);
        assert!(sel.region().is_full(&[2, 3]));
        let sel = Selection::new(&[Index::Int(-1)], &[2, 3]).unwrap();
        assert_eq!(sel.shape(), [3]);
        assert_eq!(sel.region().slices()[0].first(), Some(1));
        let sel = Selection::new(&[Index::NewAxis, Index::Ellipsis, Index::NewAxis], &[2]).unwrap();
        assert_eq!(sel.shape(), [1, 2, 1]);
        let sel = Selection::new(&[Index::Int(0)], &[4]).unwrap();
        assert_eq!(sel.shape(), [] as [usize; 0]);
        let sel =
            Selection::new(&[Index::Ellipsis, s(Some(1), None, Some(2))], &[2, 3, 6]).unwrap();
        assert_eq!(sel.shape(), [2, 3, 3]);
        assert_eq!(sel.dropped(), [false; 3]);
        let sel = Selection::new(&[Index::NewAxis], &[]).unwrap();
        assert_eq!(sel.shape(), [1]);
        assert_eq!(sel.clone().into_region().ndim(), 0);
        assert_eq!(
            Selection::new(&[Index::Int(0), Index::FULL], &[3])
                .unwrap_err()
                .message(),
            "too many indices for array: array is 1-dimensional, but 2 were indexed"
        );
        assert_eq!(
            Selection::new(&[Index::Ellipsis, Index::Ellipsis], &[3])
                .unwrap_err()
                .message(),
            "an index can only have a single ellipsis ('...')"
        );
        assert_eq!(
            Selection::new(&[Index::FULL, Index::Int(7)], &[3, 7])
                .unwrap_err()
                .message(),
            "index 7 is out of bounds for axis 1 with size 7"
        );
        assert!(Selection::new(&[s(None, None, Some(0))], &[3]).is_err());
    }
}
