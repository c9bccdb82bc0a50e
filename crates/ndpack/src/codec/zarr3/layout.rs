//! Memory helpers of the zarr v3 codec chain: byte swapping, axis permutation (the `transpose`
//! codec), the compressed Morton order of inner chunks in a shard, and the "every item is the
//! fill value" test behind `write_empty_chunks`.

use crate::dtype::{DataType, TypeKind};
use crate::error::{Error, Result};
use crate::region::{strides, Order};

/// Reverses the bytes of every `unit`-byte group of `data` in place.
pub(crate) fn swap_units(data: &mut [u8], unit: usize) {
    if unit > 1 {
        for group in data.chunks_exact_mut(unit) {
            group.reverse();
        }
    }
}

/// Checks that `order` is a permutation of `0..ndim`.
pub(crate) fn check_permutation(order: &[usize], ndim: usize) -> Result<()> {
    let mut seen = vec![false; ndim];
    if order.len() != ndim {
        return Err(Error::invalid_argument(format!(
            "transpose order {order:?} has {} axes, the chunk has {ndim}",
            order.len()
        )));
    }
    for &axis in order {
        if axis >= ndim || std::mem::replace(&mut seen[axis], true) {
            return Err(Error::invalid_argument(format!(
                "transpose order {order:?} is not a permutation of 0..{ndim}"
            )));
        }
    }
    Ok(())
}

/// NumPy's `src.transpose(perm)` made contiguous in C order: `src` holds `shape` items of
/// `itemsize` bytes in `order`; the result has shape `shape[perm[i]]` for each axis `i`.
pub(crate) fn permute(
    src: &[u8],
    shape: &[usize],
    itemsize: usize,
    order: Order,
    perm: &[usize],
) -> Result<Vec<u8>> {
    check_permutation(perm, shape.len())?;
    let src_strides = strides(shape, itemsize, order);
    let out_shape: Vec<usize> = perm.iter().map(|&p| shape[p]).collect();
    let in_strides: Vec<usize> = perm.iter().map(|&p| src_strides[p]).collect();
    let total: usize = out_shape.iter().product::<usize>() * itemsize;
    if src.len() != shape.iter().product::<usize>() * itemsize {
        return Err(Error::invalid_argument(format!(
            "{} bytes do not hold shape {shape:?} of {itemsize}-byte items",
            src.len()
        )));
    }
    let mut out = Vec::with_capacity(total);
    if total == 0 {
        return Ok(out);
    }
    let ndim = out_shape.len();
    if ndim == 0 {
        out.extend_from_slice(src);
        return Ok(out);
    }
    let last = ndim - 1;
    let mut index = vec![0usize; ndim];
    loop {
        let base: usize = (0..last).map(|d| index[d] * in_strides[d]).sum();
        if in_strides[last] == itemsize {
            out.extend_from_slice(&src[base..base + out_shape[last] * itemsize]);
        } else {
            for k in 0..out_shape[last] {
                let at = base + k * in_strides[last];
                out.extend_from_slice(&src[at..at + itemsize]);
            }
        }
        // Next index over all axes but the last, in C order.
        let mut d = last;
        loop {
            if d == 0 {
                return Ok(out);
            }
            d -= 1;
            index[d] += 1;
            if index[d] < out_shape[d] {
                break;
            }
            index[d] = 0;
        }
    }
}

/// The inverse of a permutation: `inv[perm[i]] = i`.
pub(crate) fn inverse(perm: &[usize]) -> Vec<usize> {
    let mut inv = vec![0; perm.len()];
    for (i, &p) in perm.iter().enumerate() {
        inv[p] = i;
    }
    inv
}

/// The coordinates of a grid of `shape` in zarr's compressed Morton order: the order in which
/// zarr-python writes the inner chunks of a shard. Axis 0 takes the lowest bit of each round.
pub(crate) fn morton_order(shape: &[usize]) -> Vec<Vec<usize>> {
    let bits: Vec<u32> = shape
        .iter()
        .map(|&c| usize::BITS - c.saturating_sub(1).leading_zeros())
        .collect();
    let max_bits = bits.iter().copied().max().unwrap_or(0);
    let mut coords: Vec<(u128, Vec<usize>)> = Vec::new();
    let total: usize = shape.iter().product();
    let mut index = vec![0usize; shape.len()];
    for _ in 0..total {
        let mut code = 0u128;
        let mut out_bit = 0u32;
        for coord_bit in 0..max_bits {
            for (d, &b) in bits.iter().enumerate() {
                if coord_bit < b {
                    code |= (((index[d] >> coord_bit) & 1) as u128) << out_bit;
                    out_bit += 1;
                }
            }
        }
        coords.push((code, index.clone()));
        for d in (0..shape.len()).rev() {
            index[d] += 1;
            if index[d] < shape[d] {
                break;
            }
            index[d] = 0;
        }
    }
    coords.sort_by_key(|(code, _)| *code);
    coords.into_iter().map(|(_, c)| c).collect()
}

/// Whether every item of `data` equals `fill` as zarr-python's `NDBuffer.all_equal` sees it:
/// floats compare by their bits when the fill value is a zero (so `-0.0` is not `0.0`) and by
/// value otherwise (NaN equal to NaN), complex numbers by value, other types by their bytes.
/// `dtype` gives the byte order of both.
pub(crate) fn all_fill(data: &[u8], dtype: &DataType, fill: &[u8]) -> bool {
    let n = dtype.itemsize();
    if n == 0 || fill.len() != n {
        return false;
    }
    let float_unit = match dtype.kind() {
        TypeKind::Float => n,
        TypeKind::Complex => n / 2,
        _ => 0,
    };
    if float_unit == 4 || float_unit == 8 {
        let swapped = dtype.is_swapped();
        let read = |b: &[u8]| -> f64 {
            let mut v = b.to_vec();
            if swapped {
                v.reverse();
            }
            if float_unit == 4 {
                f32::from_ne_bytes(v.try_into().unwrap_or([0; 4])) as f64
            } else {
                f64::from_ne_bytes(v.try_into().unwrap_or([0; 8]))
            }
        };
        let want: Vec<f64> = fill.chunks_exact(float_unit).map(read).collect();
        let bitwise = dtype.kind() == TypeKind::Float && want.iter().all(|&w| w == 0.0);
        if !bitwise {
            // Identical bytes are equal values; otherwise compare the values.
            return data.chunks_exact(n).all(|item| {
                item == fill
                    || item
                        .chunks_exact(float_unit)
                        .map(read)
                        .zip(&want)
                        .all(|(a, b)| a == *b || (a.is_nan() && b.is_nan()))
            });
        }
    }
    data.chunks_exact(n).all(|item| item == fill)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn permute_matches_numpy() {
        // np.arange(6).reshape(2, 3).transpose(1, 0) -> [[0, 3], [1, 4], [2, 5]]
        let src: Vec<u8> = (0..6).collect();
        let out = permute(&src, &[2, 3], 1, Order::C, &[1, 0]).unwrap();
        assert_eq!(out, [0, 3, 1, 4, 2, 5]);
        // 3-d with 2-byte items, and back with the inverse.
        let src: Vec<u8> = (0..48).collect();
        let t = permute(&src, &[2, 3, 4], 2, Order::C, &[2, 0, 1]).unwrap();
        let back = permute(&t, &[4, 2, 3], 2, Order::C, &inverse(&[2, 0, 1])).unwrap();
        assert_eq!(back, src);
        // F-order input to C: the identity permutation.
        let f = [0u8, 10, 1, 11, 2, 12]; // (2, 3) in F order
        assert_eq!(
            permute(&f, &[2, 3], 1, Order::F, &[0, 1]).unwrap(),
            [0, 1, 2, 10, 11, 12]
        );
        assert!(permute(&src, &[2, 3, 4], 2, Order::C, &[0, 0, 1]).is_err());
    }

    #[test]
    fn morton_order_matches_zarr() {
        // zarr.core.indexing._morton_order((2, 3)) and ((3, 3)).
        let o = morton_order(&[2, 3]);
        assert_eq!(
            o,
            vec![
                vec![0, 0],
                vec![1, 0],
                vec![0, 1],
                vec![1, 1],
                vec![0, 2],
                vec![1, 2]
            ]
        );
        assert_eq!(morton_order(&[1, 1]), vec![vec![0, 0]]);
        assert_eq!(morton_order(&[3])[2], vec![2]);
    }

    #[test]
    fn fill_compares_floats_as_zarr_does() {
        let f8: DataType = "<f8".parse().unwrap();
        let zero = 0f64.to_le_bytes();
        let data: Vec<u8> = [-0.0f64, 0.0]
            .iter()
            .flat_map(|v| v.to_le_bytes())
            .collect();
        // A zero fill compares bits: -0.0 is not 0.0 (zarr-python issue 3144).
        assert!(!all_fill(&data, &f8, &zero));
        assert!(all_fill(&zero.repeat(3), &f8, &zero));
        let c16: DataType = "<c16".parse().unwrap();
        assert!(all_fill(&data, &c16, &[0u8; 16]));
        let nan = f64::NAN.to_le_bytes();
        let nans: Vec<u8> = [f64::NAN, -f64::NAN]
            .iter()
            .flat_map(|v| v.to_le_bytes())
            .collect();
        assert!(all_fill(&nans, &f8, &nan));
        assert!(!all_fill(&nans, &f8, &zero));
        let u2: DataType = "<u2".parse().unwrap();
        assert!(all_fill(&[1, 0, 1, 0], &u2, &[1, 0]));
        assert!(!all_fill(&[1, 0, 0, 1], &u2, &[1, 0]));
    }
}
