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

/// Writes `value(i, j)` into the box `rows x cols` of a 2-d f8 array with a parallel writer.
fn write_box(
    dir: &std::path::Path,
    rows: (usize, usize),
    cols: (usize, usize),
    value: impl Fn(usize, usize) -> f64,
) {
    let w = ParallelWriter::open(dir).unwrap();
    let data: Vec<u8> = (rows.0..rows.1)
        .flat_map(|i| (cols.0..cols.1).map(move |j| (i, j)))
        .flat_map(|(i, j)| value(i, j).to_le_bytes())
        .collect();
    let dtype: DataType = "<f8".parse().unwrap();
    w.set_region(
        &region(&[rows, cols]),
        &ArrayRef::new(
            &data,
            dtype,
            vec![rows.1 - rows.0, cols.1 - cols.0],
            Order::C,
        )
        .unwrap(),
    )
    .unwrap();
}

fn items(a: &NDArray) -> Vec<f64> {
    read_all(a)
        .chunks_exact(8)
        .map(|b| f64::from_le_bytes(b.try_into().unwrap()))
        .collect()
}

#[test]
fn resizing_along_any_dimension_keeps_the_array_writable_in_parallel() {
    let dtype: DataType = "<f8".parse().unwrap();
    let opts = ArrayOptions {
        chunks: Some(vec![3, 4]),
        blocks: Some(vec![3, 2]),
        ..Default::default()
    };
    let dir = tmpdir("resize");
    create_parallel(&dir, &[7, 10], dtype.into(), &opts).unwrap();
    let value = |i: usize, j: usize| (i * 100 + j) as f64 + 1.0;
    write_box(&dir, (0, 7), (0, 10), value);
    commit_parallel(&dir, false).unwrap();
    // Grow the inner dimension: chunks move to new positions (inserted chunks in between).
    resize_parallel(&dir, &[7, 19]).unwrap();
    let a = NDArray::open(&dir, Mode::Read).unwrap();
    assert_eq!(a.shape(), &[7, 19]);
    let got = items(&a);
    for i in 0..7 {
        for j in 0..19 {
            let want = if j < 10 { value(i, j) } else { 0.0 };
            assert_eq!(got[i * 19 + j], want, "item {i},{j} after the inner resize");
        }
    }
    drop(a);
    // The new part, written in parallel (the edge chunk of columns 8..12 in part, locked).
    write_box(&dir, (0, 7), (10, 19), value);
    // Grow the outer dimension before the commit: the written chunks are committed first.
    resize_parallel(&dir, &[11, 19]).unwrap();
    write_box(&dir, (7, 11), (0, 19), value);
    let s = commit_parallel(&dir, false).unwrap();
    assert_eq!(s.nchunks, 4 * 5);
    let a = NDArray::open(&dir, Mode::Read).unwrap();
    let got = items(&a);
    for i in 0..11 {
        for j in 0..19 {
            assert_eq!(
                got[i * 19 + j],
                value(i, j),
                "item {i},{j} after the outer resize"
            );
        }
    }
    drop(a);
    // Shrink both dimensions: deleted chunks go, the rest move back.
    resize_parallel(&dir, &[5, 6]).unwrap();
    ParallelWriter::open(&dir).unwrap();
    let a = NDArray::open(&dir, Mode::Read).unwrap();
    let got = items(&a);
    for i in 0..5 {
        for j in 0..6 {
            assert_eq!(got[i * 6 + j], value(i, j), "item {i},{j} after shrinking");
        }
    }
    // Every chunk file left is the chunk of its own position.
    let files = std::fs::read_dir(&dir)
        .unwrap()
        .filter(|e| {
            e.as_ref()
                .unwrap()
                .file_name()
                .to_string_lossy()
                .ends_with(".chunk")
        })
        .count();
    assert!(files <= 2 * 2, "{files} chunk files for 4 chunks");
    // A file is refused.
    let f = dir.join("chunks.b2frame");
    assert!(resize_parallel(&f, &[1, 1]).is_err());
    let _ = std::fs::remove_dir_all(&dir);
}
