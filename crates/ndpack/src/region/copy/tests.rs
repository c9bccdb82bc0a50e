//! Region copies against a naive copy of one item at a time.

use super::*;
use crate::region::slice::test_util::{self, Rng};
use crate::region::Slice;

/// The byte offset of the item at `index` of an array laid out as `layout`.
fn item_offset(layout: Layout<'_>, index: &[usize]) -> usize {
    let st = strides(layout.shape(), layout.itemsize(), layout.order());
    index.iter().zip(&st).map(|(i, s)| i * s).sum()
}

/// `copy_region`, one item at a time, from `(src, src_layout, src_region)` to
/// `(dst, dst_layout, dst_region)`.
fn naive(
    (src, src_layout, src_region): (&[u8], Layout<'_>, &Region),
    (dst, dst_layout, dst_region): (&mut [u8], Layout<'_>, &Region),
) {
    let shape = src_region.shape();
    let size = src_layout.itemsize();
    let n: usize = shape.iter().product();
    let mut k = vec![0usize; shape.len()];
    for flat in 0..n {
        let mut rest = flat;
        for d in (0..shape.len()).rev() {
            k[d] = rest % shape[d];
            rest /= shape[d];
        }
        let at = |r: &Region| -> Vec<usize> {
            r.slices()
                .iter()
                .zip(&k)
                .map(|(s, &k)| s.get(k).unwrap())
                .collect()
        };
        let s = item_offset(src_layout, &at(src_region));
        let d = item_offset(dst_layout, &at(dst_region));
        dst[d..d + size].copy_from_slice(&src[s..s + size]);
    }
}

/// A random slice of a dimension of length `len`, any step.
fn random_slice(rng: &mut Rng, len: usize) -> Slice {
    test_util::random_slice(rng, len, &[1, 1, 1, 2, 3, 5, -1, -1, -2, -3], 3)
}

/// A random shape (dimensions from `ndims`, lengths from `lens`) and a random region of it.
fn random_region(
    rng: &mut Rng,
    ndims: std::ops::Range<usize>,
    lens: std::ops::Range<usize>,
) -> (Vec<usize>, Region) {
    let shape = rng.shape(ndims, lens);
    let region = shape.iter().map(|&n| random_slice(rng, n)).collect();
    (shape, region)
}

/// A random slice of `n` indices (any step) and the length of a dimension that holds it.
fn slice_of_len(rng: &mut Rng, n: usize) -> (Slice, usize) {
    let step: isize = [1, 1, 2, 3, -1, -2][rng.below(6)];
    let lead = rng.below(3);
    let span = if n == 0 {
        0
    } else {
        (n - 1) * step.unsigned_abs() + 1
    };
    let len = lead + span + rng.below(3);
    let (start, stop) = if step > 0 {
        (lead as isize, (lead + n * step as usize) as isize)
    } else {
        let start = (lead + span) as isize - 1;
        (start, (start + n as isize * step).max(-1))
    };
    let start = if n == 0 { lead as isize } else { start };
    let stop = if n == 0 { start } else { stop };
    (Slice::new(start, stop, step).unwrap(), len)
}

/// Copies `src_region` of a random source into a random region of the same shape of a random
/// destination, with `copy_region` and with `naive`, and compares the whole destinations.
fn check_one(rng: &mut Rng, src_shape: &[usize], src_region: &Region, itemsize: usize) {
    let src_layout = Layout::new(src_shape, itemsize, rng.order());
    let src = rng.bytes(src_layout.num_bytes().unwrap());
    let (dst_slices, dst_shape): (Vec<Slice>, Vec<usize>) = src_region
        .shape()
        .iter()
        .map(|&n| slice_of_len(rng, n))
        .unzip();
    let dst_region = Region::new(dst_slices);
    let dst_layout = Layout::new(&dst_shape, itemsize, rng.order());
    let before = rng.bytes(dst_layout.num_bytes().unwrap());
    let mut want = before.clone();
    naive(
        (&src, src_layout, src_region),
        (&mut want, dst_layout, &dst_region),
    );
    let mut got = before;
    copy_region(
        &src,
        src_layout,
        src_region,
        &mut got,
        dst_layout,
        &dst_region,
    )
    .unwrap();
    assert!(
        got == want,
        "{src_shape:?} {:?} {src_region} -> {dst_shape:?} {:?} {dst_region}, {itemsize}-byte items",
        src_layout.order(),
        dst_layout.order()
    );
}

#[test]
fn matches_naive_copies() {
    let mut rng = Rng(0x5EED);
    for _ in 0..3000 {
        let (shape, region) = random_region(&mut rng, 0..5, 0..8);
        let itemsize = [1, 2, 3, 4, 8, 16, 5, 12][rng.below(8)];
        check_one(&mut rng, &shape, &region, itemsize);
    }
}

#[test]
fn whole_arrays_and_boxes() {
    let mut rng = Rng(11);
    for _ in 0..300 {
        let shape = rng.shape(1..5, 1..10);
        let start: Vec<usize> = shape.iter().map(|&n| rng.below(n)).collect();
        let stop: Vec<usize> = start
            .iter()
            .zip(&shape)
            .map(|(&a, &n)| a + 1 + rng.below(n - a))
            .collect();
        let boxed = Region::from_bounds(&start, &stop).unwrap();
        let itemsize = [1, 4, 8][rng.below(3)];
        check_one(&mut rng, &shape, &boxed, itemsize);
        check_one(&mut rng, &shape, &Region::full(&shape).unwrap(), itemsize);
    }
}

/// `copy_region` from `region` of `src` to the same region of `dst`, both laid out as `layout`.
fn copy_same(src: &[u8], dst: &mut [u8], layout: Layout<'_>, region: &Region) -> Result<()> {
    copy_region(src, layout, region, dst, layout, region)
}

#[test]
fn zero_d_and_empty() {
    // 0-d: one item.
    let mut dst = [0u8; 3];
    let none = Region::full(&[]).unwrap();
    copy_same(&[7, 8, 9], &mut dst, Layout::c(&[], 3), &none).unwrap();
    assert_eq!(dst, [7, 8, 9]);
    // Empty regions copy nothing, even out of empty arrays; their shapes must still agree.
    let empty = Region::full(&[0, 4]).unwrap();
    let layout = Layout::c(&[0, 4], 2);
    copy_same(&[], &mut [], layout, &empty).unwrap();
    let other = Region::full(&[4, 0]).unwrap();
    let err = copy_region(&[], layout, &empty, &mut [], Layout::c(&[4, 0], 2), &other);
    assert!(err.is_err());
    let mut dst = [1u8; 8];
    let r = Region::new(vec![
        Slice::range(0, 2).unwrap(),
        Slice::new(3, 3, -1).unwrap(),
    ]);
    copy_same(&[0; 8], &mut dst, Layout::c(&[2, 4], 1), &r).unwrap();
    assert_eq!(dst, [1; 8]);
    // Zero-byte items.
    let full = Region::full(&[5]).unwrap();
    copy_same(&[], &mut [], Layout::c(&[5], 0), &full).unwrap();
}

#[test]
fn errors_name_the_problem() {
    let full = |s: &[usize]| Region::full(s).unwrap();
    let msg = |r: Result<()>| r.unwrap_err().message().to_string();
    let mut dst = [0u8; 8];
    // Source bytes, source shape (2-byte items) and the shape of its whole region; destination
    // shape, item size and the shape of its whole region; the message, or `None` for any error.
    #[allow(clippy::type_complexity)]
    let cases: [(
        usize,
        &[usize],
        &[usize],
        &[usize],
        usize,
        &[usize],
        Option<&str>,
    ); 6] = [
        (
            8,
            &[4],
            &[4],
            &[2],
            4,
            &[2],
            Some("cannot copy items of 2 bytes into items of 4 bytes"),
        ),
        (
            7,
            &[4],
            &[4],
            &[4],
            2,
            &[4],
            Some("source of 7 bytes does not hold shape [4] of 2-byte items (8 bytes)"),
        ),
        (
            8,
            &[4],
            &[4],
            &[5],
            2,
            &[5],
            Some("destination of 8 bytes does not hold shape [5] of 2-byte items (10 bytes)"),
        ),
        (8, &[4], &[5], &[4], 2, &[4], None),
        (8, &[4], &[4], &[4], 2, &[2, 2], None),
        (
            8,
            &[2, 2],
            &[2, 2],
            &[4],
            2,
            &[4],
            Some(
                "cannot copy region [0:2:1, 0:2:1] of shape [2, 2] into region [0:4:1] of shape \
                 [4]",
            ),
        ),
    ];
    for (src_len, src_shape, src_full, dst_shape, dst_itemsize, dst_full, want) in cases {
        let got = copy_region(
            &vec![0; src_len],
            Layout::c(src_shape, 2),
            &full(src_full),
            &mut dst,
            Layout::c(dst_shape, dst_itemsize),
            &full(dst_full),
        );
        match want {
            Some(want) => assert_eq!(msg(got), want),
            None => assert!(got.is_err()),
        }
    }
    assert!(read_region(&[0; 8], Layout::c(&[4], 2), &full(&[4]), &mut [0; 4]).is_err());
    assert!(write_region(&[0; 4], &mut dst, Layout::c(&[4], 2), &full(&[4])).is_err());
    let huge = Layout::c(&[1 << 40, 1 << 40], 1);
    assert_eq!(
        huge.num_bytes().unwrap_err().kind(),
        crate::ErrorKind::TooLarge
    );
}

#[test]
fn plans_merge_loops_and_find_runs() {
    let plan = |shape: &[usize], region: &Region, dst_order| {
        let dst_shape = region.shape();
        let whole = Region::full(&dst_shape).unwrap();
        Plan::new(
            Layout::c(shape, 4),
            region,
            Layout::new(&dst_shape, 4, dst_order),
            &whole,
        )
    };
    // A whole array: one run.
    let p = plan(&[3, 4, 5], &Region::full(&[3, 4, 5]).unwrap(), Order::C);
    assert_eq!(
        (p.dims.len(), p.run, p.src_offset, p.dst_offset),
        (0, 240, 0, 0)
    );
    // Rows 1..3 of whole planes: one run too.
    let r = Region::from_bounds(&[1, 0, 0], &[3, 4, 5]).unwrap();
    let p = plan(&[3, 4, 5], &r, Order::C);
    assert_eq!((p.dims.len(), p.run, p.src_offset), (0, 160, 80));
    // A box: runs of 3 items, rows of them.
    let r = Region::from_bounds(&[0, 1, 2], &[3, 3, 5]).unwrap();
    let p = plan(&[3, 4, 5], &r, Order::C);
    assert_eq!(p.run, 12);
    assert_eq!(
        p.dims,
        [
            Dim {
                n: 3,
                src: 80,
                dst: 24
            },
            Dim {
                n: 2,
                src: 20,
                dst: 12
            }
        ]
    );
    // Reversed on both sides: the loop runs forwards, from the last item.
    let rev = Slice::normalize(None, None, Some(-1), 6).unwrap();
    let r = Region::new(vec![rev]);
    let p = Plan::new(Layout::c(&[6], 1), &r, Layout::c(&[6], 1), &r);
    assert_eq!(
        (p.dims.len(), p.run, p.src_offset, p.dst_offset),
        (0, 6, 0, 0)
    );
    // Reversed on one side: items one at a time.
    let p = plan(&[6], &r, Order::C);
    assert_eq!(
        (p.dims[0], p.run, p.src_offset),
        (
            Dim {
                n: 6,
                src: -4,
                dst: 4
            },
            4,
            20
        )
    );
    // A transposing copy walks the destination's memory in order.
    let p = plan(&[3, 4], &Region::full(&[3, 4]).unwrap(), Order::F);
    assert_eq!(
        p.dims,
        [
            Dim {
                n: 4,
                src: 4,
                dst: 12
            },
            Dim {
                n: 3,
                src: 16,
                dst: 4
            }
        ]
    );
}

#[test]
fn read_and_write_are_inverse() {
    let mut rng = Rng(3);
    for _ in 0..200 {
        let (shape, region) = random_region(&mut rng, 1..4, 1..7);
        let layout = Layout::new(&shape, 2, rng.order());
        let src = rng.bytes(layout.num_bytes().unwrap());
        let mut part = vec![0u8; region.num_items().unwrap() * 2];
        read_region(&src, layout, &region, &mut part).unwrap();
        let mut back = vec![0u8; src.len()];
        write_region(&part, &mut back, layout, &region).unwrap();
        let mut again = vec![0u8; part.len()];
        read_region(&back, layout, &region, &mut again).unwrap();
        assert_eq!(again, part);
    }
}

/// Copies of several MiB, which run on the pool when it has more than one thread.
#[test]
fn large_copies_match() {
    let mut rng = Rng(99);
    let s = |a, b, c| Slice::new(a, b, c).unwrap();
    let cases: Vec<(Vec<usize>, Region, usize)> = vec![
        // Whole and contiguous: one run, split into pieces.
        (vec![1 << 22], Region::full(&[1 << 22]).unwrap(), 1),
        // Long rows of runs.
        (
            vec![64, 1 << 15],
            Region::new(vec![s(1, 63, 1), s(5, 30000, 1)]),
            1,
        ),
        // Reversed rows (items one at a time), few of them.
        (
            vec![2, 1 << 20],
            Region::new(vec![s(0, 2, 1), s((1 << 20) - 1, -1, -1)]),
            2,
        ),
        // Steps in every dimension, 3-byte items.
        (
            vec![40, 60, 500],
            Region::new(vec![s(39, -1, -1), s(0, 60, 2), s(1, 500, 3)]),
            3,
        ),
        // Many short rows: tasks of many rows each.
        (
            vec![1 << 16, 16],
            Region::new(vec![s(0, 1 << 16, 1), s(15, 7, -1)]),
            8,
        ),
    ];
    for (shape, region, itemsize) in cases {
        check_one(&mut rng, &shape, &region, itemsize);
    }
}
