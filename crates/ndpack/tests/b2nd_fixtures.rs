//! b2nd arrays written by python-blosc2 4.15 and python-caterva 0.7.3 (`tests/data/b2nd`, made
//! by `make_b2nd.py` there): each opens in ndpack with the shapes, dtype and items NumPy saved
//! beside it (`<name>.npy`), read whole, by regions with steps, through a memory map and from
//! its bytes as a cframe; then changed by ndpack and read again.

mod common;

use std::path::PathBuf;

use ndpack::array::b2nd::{ArrayOptions, NDArray};
use ndpack::blosc::frame::{Mode, OpenOptions, Special, Storage};
use ndpack::buffer::ArrayRef;
use ndpack::npy;
use ndpack::region::{Order, Region, Slice};
use ndpack::Buffer;

struct Case {
    name: String,
    file: PathBuf,
    metalayer: String,
    shape: Vec<usize>,
    chunks: Vec<usize>,
    blocks: Vec<usize>,
    dtype: String,
}

fn dims(s: &str) -> Vec<usize> {
    if s == "-" {
        return Vec::new();
    }
    s.split(',').map(|d| d.parse().unwrap()).collect()
}

fn cases() -> Vec<Case> {
    let dir = common::data("b2nd");
    let text = std::fs::read_to_string(dir.join("cases.txt")).unwrap();
    text.lines()
        .map(|line| {
            let f: Vec<&str> = line.splitn(7, ' ').collect();
            Case {
                name: f[0].to_string(),
                file: dir.join(f[1]),
                metalayer: f[2].to_string(),
                shape: dims(f[3]),
                chunks: dims(f[4]),
                blocks: dims(f[5]),
                dtype: f[6].to_string(),
            }
        })
        .collect()
}

/// The expected items (C order) from `<name>.npy`.
fn expected(c: &Case) -> Vec<u8> {
    let bytes = std::fs::read(common::data("b2nd").join(format!("{}.npy", c.name))).unwrap();
    let v = npy::read_npy(&bytes).unwrap();
    assert_eq!(v.shape(), c.shape.as_slice(), "{}", c.name);
    assert_eq!(v.order(), Order::C);
    v.data().to_vec()
}

/// `region`'s items of a C-order array, by loops over indices.
fn read_model(data: &[u8], shape: &[usize], its: usize, region: &Region) -> Vec<u8> {
    let rshape = region.shape();
    let n: usize = rshape.iter().product();
    let mut out = Vec::with_capacity(n * its);
    for k in 0..n {
        let mut rest = k;
        let mut idx = vec![0; shape.len()];
        for d in (0..shape.len()).rev() {
            idx[d] = region.slices()[d].get(rest % rshape[d]).unwrap();
            rest /= rshape[d];
        }
        let at = idx.iter().zip(shape).fold(0, |a, (&i, &m)| a * m + i) * its;
        out.extend_from_slice(&data[at..at + its]);
    }
    out
}

/// A few regions with steps, negative too, of an array of `shape`.
fn regions(shape: &[usize]) -> Vec<Region> {
    let whole = Region::full(shape).unwrap();
    let mut out = vec![whole];
    let half: Region = shape
        .iter()
        .map(|&n| Slice::range(n / 3, n - n / 4).unwrap())
        .collect();
    out.push(half);
    let stepped: Region = shape
        .iter()
        .map(|&n| Slice::normalize(None, None, Some(-2), n).unwrap())
        .collect();
    out.push(stepped);
    let last: Region = shape.iter().map(|&n| Slice::at(n - 1).unwrap()).collect();
    out.push(last);
    out
}

fn check(a: &NDArray, c: &Case, want: &[u8]) {
    assert_eq!(a.shape(), c.shape.as_slice(), "{}", c.name);
    assert_eq!(a.chunks(), c.chunks.as_slice(), "{}", c.name);
    assert_eq!(a.blocks(), c.blocks.as_slice(), "{}", c.name);
    assert_eq!(a.dtype().as_str(), c.dtype, "{}", c.name);
    assert_eq!(a.to_buffer().unwrap().bytes(), want, "{}", c.name);
    let its = a.itemsize();
    for r in regions(&c.shape) {
        let got = a.read(&r).unwrap();
        assert_eq!(
            got.bytes(),
            read_model(want, &c.shape, its, &r),
            "{} {r}",
            c.name
        );
    }
}

#[test]
fn files_of_python_blosc2_and_caterva_open_with_their_items() {
    let cases = cases();
    assert_eq!(cases.len(), 13);
    for c in &cases {
        let want = expected(c);
        let a = NDArray::open(&c.file, Mode::Read).unwrap_or_else(|e| panic!("{}: {e}", c.name));
        assert!(a.schunk().meta_names().contains(&c.metalayer), "{}", c.name);
        check(&a, c, &want);
        if c.file.is_file() {
            // Through a memory map, and from the file's bytes as a cframe.
            let opts = OpenOptions {
                mode: Mode::Read,
                mmap: true,
                ..OpenOptions::default()
            };
            check(
                &NDArray::open_with_options(&c.file, &opts).unwrap(),
                c,
                &want,
            );
            let bytes = std::fs::read(&c.file).unwrap();
            check(
                &NDArray::from_cframe(Buffer::from_vec(bytes), false).unwrap(),
                c,
                &want,
            );
        }
    }
}

#[test]
fn special_chunks_of_zeros_and_full() {
    let cases = cases();
    let find = |n: &str| cases.iter().find(|c| c.name == n).unwrap();
    let z = NDArray::open(&find("zeros").file, Mode::Read).unwrap();
    assert_eq!(z.cbytes(), 0);
    for info in z.chunks_info() {
        assert_eq!(info.unwrap().special, Some(Special::Zeros));
    }
    let f = NDArray::open(&find("full").file, Mode::Read).unwrap();
    for info in f.chunks_info() {
        assert_eq!(
            info.unwrap().special,
            Some(Special::Value(7i16.to_le_bytes().to_vec()))
        );
    }
}

/// Copies of the fixtures changed by ndpack (a region written, the shape grown) read back
/// as the model says.
#[test]
fn fixtures_changed_by_ndpack() {
    let dir = std::env::temp_dir().join(format!("ndpack-b2nd-fixtures-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    for c in cases().iter().filter(|c| c.shape.len() >= 2) {
        let want = expected(c);
        let src = NDArray::open(&c.file, Mode::Read).unwrap();
        let path = dir.join(format!("{}.b2nd", c.name));
        let opts = ArrayOptions {
            storage: Storage {
                urlpath: Some(path.clone()),
                contiguous: c.file.is_file(),
                ..Storage::default()
            },
            ..ArrayOptions::default()
        };
        let mut a = src.copy(&opts).unwrap();
        let its = a.itemsize();
        // a[1, ::2, ...] = 0xAB bytes
        let mut region: Vec<Slice> = vec![Slice::at(1).unwrap()];
        region.push(Slice::new(0, c.shape[1] as isize, 2).unwrap());
        region.extend(c.shape[2..].iter().map(|&n| Slice::full(n).unwrap()));
        let region = Region::new(region);
        let m: usize = region.shape().iter().product();
        let data = vec![0xABu8; m * its];
        let dt = a.dtype().data_type();
        a.set_region(
            &region,
            &ArrayRef::new(&data, dt, region.shape(), Order::C).unwrap(),
        )
        .unwrap();
        let mut grown = c.shape.clone();
        grown[1] += 3;
        a.resize(&grown).unwrap();
        drop(a);
        let a = NDArray::open(&path, Mode::Read).unwrap();
        // The model: the fixture's items with the region written, then grown with zeros.
        let mut model = want.clone();
        let n: usize = region.shape().iter().product();
        let rshape = region.shape();
        for k in 0..n {
            let mut rest = k;
            let mut idx = vec![0; c.shape.len()];
            for d in (0..c.shape.len()).rev() {
                idx[d] = region.slices()[d].get(rest % rshape[d]).unwrap();
                rest /= rshape[d];
            }
            let at = idx
                .iter()
                .zip(&c.shape)
                .fold(0, |acc, (&i, &s)| acc * s + i)
                * its;
            model[at..at + its].fill(0xAB);
        }
        let total: usize = grown.iter().product();
        let mut grown_model = vec![0u8; total * its];
        for k in 0..total {
            let mut rest = k;
            let mut idx = vec![0; grown.len()];
            for d in (0..grown.len()).rev() {
                idx[d] = rest % grown[d];
                rest /= grown[d];
            }
            if idx.iter().zip(&c.shape).all(|(i, s)| i < s) {
                let at = idx
                    .iter()
                    .zip(&c.shape)
                    .fold(0, |acc, (&i, &s)| acc * s + i)
                    * its;
                grown_model[k * its..(k + 1) * its].copy_from_slice(&model[at..at + its]);
            }
        }
        assert_eq!(a.to_buffer().unwrap().bytes(), grown_model, "{}", c.name);
    }
    std::fs::remove_dir_all(&dir).unwrap();
}

/// Damaged copies of the contiguous fixtures (every byte of the header and metalayers set to
/// other values, cuts everywhere, bytes of the chunks changed) open with an error or read
/// without a panic; most of the damage is caught.
#[test]
fn damaged_frames_are_errors_not_panics() {
    let mut opened = 0usize;
    let mut refused = 0usize;
    let mut try_open = |bytes: Vec<u8>| match NDArray::from_cframe(Buffer::from_vec(bytes), false) {
        Ok(a) => {
            opened += 1;
            if a.nbytes() <= 1 << 24 {
                let _ = a.to_buffer();
            }
            if !a.shape().contains(&0) {
                let last: Region = a
                    .shape()
                    .iter()
                    .map(|&n| Slice::at(n - 1).unwrap())
                    .collect();
                let _ = a.read(&last);
            }
        }
        Err(_) => refused += 1,
    };
    for c in cases().iter().filter(|c| c.file.is_file()) {
        let good = std::fs::read(&c.file).unwrap();
        // The header with its metalayers: the first ~250 bytes.
        for at in 0..good.len().min(256) {
            for v in [0x00u8, 0xff, good[at].wrapping_add(1), 0x7f] {
                if v == good[at] {
                    continue;
                }
                let mut b = good.clone();
                b[at] = v;
                try_open(b);
            }
        }
        for cut in (0..good.len()).step_by(7) {
            try_open(good[..cut].to_vec());
        }
        for at in (256..good.len()).step_by(13) {
            let mut b = good.clone();
            b[at] ^= 0x5a;
            try_open(b);
        }
    }
    assert!(refused > opened / 4, "{refused} refused, {opened} opened");
}
