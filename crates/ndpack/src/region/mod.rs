//! Shapes and N-d regions: strides, chunk/block grid arithmetic, strided copies, and picks of
//! any items (orthogonal index lists, points) with their copies.

use crate::error::{Error, Result};

mod copy;
mod grid;
mod index;
mod order;
mod pick;
mod slice;

pub use copy::{copy_region, copy_region_serial, read_region, write_region, Layout, PAR_MIN_BYTES};
pub use grid::{ChunkGrid, ChunkSelection, ChunkSelections};
pub use index::{normalize_index, Index, Selection};
pub use order::Order;
pub use pick::{copy_pick, fill_pick, AxisPick, Compact, Pick};
/// The random numbers, shapes and slices of the region tests, for the tests of other modules.
#[cfg(test)]
pub(crate) use slice::test_util;
pub use slice::{Region, Slice, SliceIter};

/// Byte strides of a contiguous array of `shape` with items of `itemsize` bytes in `order`.
pub fn strides(shape: &[usize], itemsize: usize, order: Order) -> Vec<usize> {
    let mut out = vec![0; shape.len()];
    let mut acc = itemsize;
    match order {
        Order::C => {
            for (s, &d) in out.iter_mut().zip(shape).rev() {
                *s = acc;
                acc *= d.max(1);
            }
        }
        Order::F => {
            for (s, &d) in out.iter_mut().zip(shape) {
                *s = acc;
                acc *= d.max(1);
            }
        }
    }
    out
}

/// The number of items of `shape`, or an error if it overflows `usize`.
pub fn checked_num_items(shape: &[usize]) -> Result<usize> {
    shape.iter().try_fold(1usize, |acc, &d| {
        acc.checked_mul(d)
            .ok_or_else(|| Error::too_large(format!("shape {shape:?} has too many items")))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn c_and_f_strides() {
        assert_eq!(strides(&[2, 3, 4], 8, Order::C), vec![96, 32, 8]);
        assert_eq!(strides(&[2, 3, 4], 8, Order::F), vec![8, 16, 48]);
        assert_eq!(strides(&[], 4, Order::C), Vec::<usize>::new());
    }
}
