//! Tests of [`ParallelWriter`]: regions written from many threads (whole chunks lock-free,
//! overlapping partial chunks under the chunk locks) equal the same writes made serially.

use std::path::PathBuf;

use super::*;
use crate::buffer::{ArrayMut, ArrayRef};
use crate::region::{Order, Region, Slice};
use crate::DataType;

fn tmpdir(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("ndpack-b2nd-par-{}-{name}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    dir
}

fn region(b: &[(usize, usize)]) -> Region {
    Region::new(
        b.iter()
            .map(|&(s, e)| Slice::new(s as isize, e as isize, 1).unwrap())
            .collect(),
    )
}

fn read_all(a: &NDArray) -> Vec<u8> {
    let shape = a.shape().to_vec();
    let mut out = vec![0u8; a.nbytes()];
    a.get_region(
        &Region::full(&shape).unwrap(),
        &mut ArrayMut {
            data: &mut out,
            dtype: a.dtype().data_type(),
            shape,
            order: Order::C,
        },
    )
    .unwrap();
    out
}

#[test]
fn regions_from_many_threads_equal_serial_writes() {
    let dtype: DataType = "<f8".parse().unwrap();
    let shape = [37usize, 50];
    let opts = ArrayOptions {
        chunks: Some(vec![10, 16]),
        blocks: Some(vec![5, 8]),
        ..Default::default()
    };
    let dir = tmpdir("regions");
    create_parallel(&dir, &shape, dtype.clone().into(), &opts).unwrap();
    let w = ParallelWriter::open(&dir).unwrap();
    // Row bands of 5 rows: every chunk is cut by two bands (partial, locked writes);
    // each band written by its own thread.
    let bands: Vec<(usize, usize)> = (0..37).step_by(5).map(|s| (s, (s + 5).min(37))).collect();
    let value = |i: usize, j: usize| (i * 1000 + j) as f64 + 0.5;
    std::thread::scope(|sc| {
        for &(s, e) in &bands {
            let w = &w;
            let dtype = dtype.clone();
            sc.spawn(move || {
                let data: Vec<u8> = (s..e)
                    .flat_map(|i| (0..50).flat_map(move |j| value(i, j).to_le_bytes()))
                    .collect();
                let r = region(&[(s, e), (0, 50)]);
                assert!(!w.is_aligned(&r).unwrap());
                w.set_region(
                    &r,
                    &ArrayRef::new(&data, dtype, vec![e - s, 50], Order::C).unwrap(),
                )
                .unwrap();
            });
        }
    });
    // An aligned write: chunk row 3 (the edge rows 30..37), columns 16..48.
    let r = region(&[(30, 37), (16, 48)]);
    assert!(w.is_aligned(&r).unwrap());
    let ones = vec![1.0f64; 7 * 32];
    let bytes: Vec<u8> = ones.iter().flat_map(|v| v.to_le_bytes()).collect();
    w.set_region(
        &r,
        &ArrayRef::new(&bytes, dtype.clone(), vec![7, 32], Order::C).unwrap(),
    )
    .unwrap();
    commit_parallel(&dir, false).unwrap();
    let a = NDArray::open(&dir, Mode::Read).unwrap();
    let got = read_all(&a);
    for i in 0..37 {
        for j in 0..50 {
            let k = (i * 50 + j) * 8;
            let v = f64::from_le_bytes(got[k..k + 8].try_into().unwrap());
            let want = if i >= 30 && (16..48).contains(&j) {
                1.0
            } else {
                value(i, j)
            };
            assert_eq!(v, want, "item {i},{j}");
        }
    }
    // Bad input.
    assert!(w
        .set_region(
            &r,
            &ArrayRef::new(&bytes[..8], dtype, vec![1, 1], Order::C).unwrap()
        )
        .is_err());
    let _ = std::fs::remove_dir_all(&dir);
}
