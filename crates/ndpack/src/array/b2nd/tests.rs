//! NDArray against a plain model: a C-order `Vec<u8>` of the items, read and written with
//! loops over item indices. Random shapes from 0-d to 4-d, edge chunks, chunks that are not
//! multiples of their blocks, random regions with any steps; the three storages; resize, copy,
//! constants, cframes and bad input.

use std::path::PathBuf;

use super::*;
use crate::blosc::frame::Mode;
use crate::blosc::v2::Filter;
use crate::blosc::Compressor;
use crate::buffer::{ArrayMut, ArrayRef};
use crate::region::test_util::{random_slice, Rng};
use crate::region::{Order, Region, Slice};
use crate::DataType;

fn tmpdir(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("ndpack-b2nd-{}-{name}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// The items of an array, C order, with loops for regions.
#[derive(Debug, Clone, PartialEq)]
struct Model {
    shape: Vec<usize>,
    its: usize,
    data: Vec<u8>,
}

fn unravel(mut k: usize, shape: &[usize]) -> Vec<usize> {
    let mut out = vec![0; shape.len()];
    for (o, &n) in out.iter_mut().zip(shape).rev() {
        *o = k % n;
        k /= n;
    }
    out
}

fn c_index(idx: &[usize], shape: &[usize]) -> usize {
    idx.iter().zip(shape).fold(0, |acc, (&i, &n)| acc * n + i)
}

impl Model {
    fn at(&self, idx: &[usize]) -> usize {
        c_index(idx, &self.shape) * self.its
    }

    /// The array indices of the `k`-th item of `region` (C order).
    fn index_of(region: &Region, k: usize) -> Vec<usize> {
        let pos = unravel(k, &region.shape());
        pos.iter()
            .zip(region.slices())
            .map(|(&p, s)| s.get(p).unwrap())
            .collect()
    }

    fn read(&self, region: &Region) -> Vec<u8> {
        let n: usize = region.shape().iter().product();
        let mut out = Vec::with_capacity(n * self.its);
        for k in 0..n {
            let at = self.at(&Model::index_of(region, k));
            out.extend_from_slice(&self.data[at..at + self.its]);
        }
        out
    }

    fn write(&mut self, region: &Region, src: &[u8]) {
        let n: usize = region.shape().iter().product();
        for k in 0..n {
            let at = self.at(&Model::index_of(region, k));
            self.data[at..at + self.its].copy_from_slice(&src[k * self.its..][..self.its]);
        }
    }

    fn resize(&self, shape: &[usize]) -> Model {
        let n: usize = shape.iter().product();
        let mut m = Model {
            shape: shape.to_vec(),
            its: self.its,
            data: vec![0; n * self.its],
        };
        for k in 0..n {
            let idx = unravel(k, shape);
            if idx.iter().zip(&self.shape).all(|(i, n)| i < n) {
                let from = self.at(&idx);
                m.data[k * self.its..][..self.its]
                    .copy_from_slice(&self.data[from..from + self.its]);
            }
        }
        m
    }
}

fn dtype_of(its: usize) -> Dtype {
    match its {
        1 => "|u1".parse().unwrap(),
        2 => "<i2".parse().unwrap(),
        4 => "<f4".parse().unwrap(),
        8 => "<u8".parse().unwrap(),
        n => Dtype::void(n).unwrap(),
    }
}

fn random_region(rng: &mut Rng, shape: &[usize]) -> Region {
    let steps = [1, 1, 1, 2, 3, -1, -2];
    shape
        .iter()
        .map(|&n| random_slice(rng, n, &steps, 4))
        .collect()
}

fn read_all(a: &NDArray) -> Vec<u8> {
    a.to_buffer().unwrap().bytes().to_vec()
}

/// Every chunk's padding (past the array's end and past the chunk shape) is zero, except in
/// repeated-value chunks (python-blosc2's `full` writes those with the value in the padding).
fn assert_padding_zero(a: &NDArray) {
    let l = a.layout();
    for n in 0..l.nchunks() {
        if matches!(
            a.schunk().chunk_special(n).unwrap(),
            Some(Special::Value(_))
        ) {
            continue;
        }
        let mut raw = a.schunk().decompress_chunk(n).unwrap();
        let before = raw.clone();
        l.zero_outside(&mut raw, &l.chunk_valid(n).unwrap())
            .unwrap();
        assert!(
            raw == before,
            "chunk {n} of {:?} has non-zero padding",
            a.shape()
        );
    }
}

fn random_opts(rng: &mut Rng, shape: &[usize]) -> ArrayOptions {
    // Chunks up to a bit past the dimension, blocks up to the chunk (often not dividing it).
    let chunks: Vec<usize> = shape.iter().map(|&n| 1 + rng.below(n + 2)).collect();
    let blocks: Vec<usize> = chunks.iter().map(|&c| 1 + rng.below(c)).collect();
    let codec = [Compressor::Lz4, Compressor::Zstd, Compressor::BloscLz][rng.below(3)];
    ArrayOptions {
        chunks: Some(chunks),
        blocks: Some(blocks),
        cparams: Some(CParams {
            codec,
            clevel: 1 + rng.below(9) as u8,
            ..CParams::default()
        }),
        ..Default::default()
    }
}

/// Random arrays, regions, writes, constants and resizes, all against the model.
#[test]
fn random_operations_match_the_model() {
    let mut rng = Rng(21);
    for round in 0..120 {
        let shape = rng.shape(0..5, 0..10);
        let its = [1, 2, 4, 8, 3][rng.below(5)];
        let opts = random_opts(&mut rng, &shape);
        let n: usize = shape.iter().product();
        // Compressible items: small values.
        let data: Vec<u8> = (0..n * its).map(|_| rng.below(4) as u8).collect();
        let mut model = Model {
            shape: shape.clone(),
            its,
            data: data.clone(),
        };
        let mut a = NDArray::from_buffer(&data, &shape, dtype_of(its), &opts).unwrap();
        assert_eq!(a.shape(), shape);
        assert_eq!(read_all(&a), model.data, "round {round}");
        assert_padding_zero(&a);
        for _ in 0..6 {
            let shape = a.shape().to_vec();
            match rng.below(5) {
                0 | 1 => {
                    let r = random_region(&mut rng, &shape);
                    let got = a.read(&r).unwrap();
                    assert_eq!(got.shape(), r.shape().as_slice());
                    assert_eq!(got.bytes(), model.read(&r), "round {round} read {r}");
                }
                2 => {
                    let r = random_region(&mut rng, &shape);
                    let m: usize = r.shape().iter().product();
                    let src = rng.bytes(m * its);
                    let dt = a.dtype().data_type();
                    a.set_region(&r, &ArrayRef::new(&src, dt, r.shape(), Order::C).unwrap())
                        .unwrap();
                    model.write(&r, &src);
                }
                3 => {
                    let r = random_region(&mut rng, &shape);
                    let value = if rng.below(3) == 0 {
                        vec![0; its]
                    } else {
                        rng.bytes(its)
                    };
                    a.fill_region(&r, &value).unwrap();
                    let m: usize = r.shape().iter().product();
                    model.write(&r, &value.repeat(m));
                }
                _ => {
                    let new: Vec<usize> = shape
                        .iter()
                        .map(|&d| (d + rng.below(7)).saturating_sub(3))
                        .collect();
                    a.resize(&new).unwrap();
                    model = model.resize(&new);
                    assert_eq!(a.shape(), new);
                    assert_eq!(a.schunk().nchunks(), a.layout().nchunks());
                }
            }
            assert_eq!(read_all(&a), model.data, "round {round}");
        }
        // Reopened from its cframe, the same items; copied with other shapes, too.
        let back = NDArray::from_cframe(a.to_cframe().unwrap().into(), false).unwrap();
        assert_eq!(read_all(&back), model.data);
        let other = random_opts(&mut rng, a.shape());
        let c = a.copy(&other).unwrap();
        assert_eq!(c.chunks(), other.chunks.as_deref().unwrap());
        assert_eq!(read_all(&c), model.data);
        assert_padding_zero(&c);
        let same = a.copy(&ArrayOptions::default()).unwrap();
        assert_eq!((same.chunks(), same.blocks()), (a.chunks(), a.blocks()));
        assert_eq!(read_all(&same), model.data);
    }
}

/// Reads into a strided place of a bigger output, in F order, leave the rest alone.
#[test]
fn strided_and_fortran_outputs() {
    let shape = [7usize, 9, 5];
    let n: usize = shape.iter().product();
    let data: Vec<u8> = (0..n as u32).flat_map(|v| v.to_le_bytes()).collect();
    let opts = ArrayOptions {
        chunks: Some(vec![3, 4, 5]),
        blocks: Some(vec![2, 3, 2]),
        ..Default::default()
    };
    let dt: DataType = "<u4".parse().unwrap();
    let a = NDArray::from_buffer(&data, &shape, dt.clone().into(), &opts).unwrap();
    let model = Model {
        shape: shape.to_vec(),
        its: 4,
        data: data.clone(),
    };
    let region = Region::new(vec![
        Slice::new(6, 0, -2).unwrap(),
        Slice::range(1, 8).unwrap(),
        Slice::new(0, 5, 3).unwrap(),
    ]);
    let rs = region.shape(); // [3, 7, 2]
    let out_shape = vec![rs[0] * 2, rs[1] + 1, rs[2] * 3];
    let out_region = Region::new(vec![
        Slice::new(0, 6, 2).unwrap(),
        Slice::range(1, 8).unwrap(),
        Slice::new(5, -1, -3).unwrap(),
    ]);
    for order in [Order::C, Order::F] {
        let len = out_shape.iter().product::<usize>() * 4;
        let mut out = vec![0xEEu8; len];
        let mut view = ArrayMut {
            data: &mut out,
            dtype: dt.clone(),
            shape: out_shape.clone(),
            order,
        };
        a.get_region_into(&region, &mut view, &out_region).unwrap();
        // The same through a plain copy of the model's region.
        let mut want = vec![0xEEu8; len];
        let part = model.read(&region);
        crate::region::copy_region(
            &part,
            crate::region::Layout::c(&rs, 4),
            &Region::full(&rs).unwrap(),
            &mut want,
            crate::region::Layout::new(&out_shape, 4, order),
            &out_region,
        )
        .unwrap();
        assert_eq!(out, want, "{order:?}");
    }
}

/// A large array read from several threads at once, and with the pool's threads.
#[test]
fn large_reads_in_parallel() {
    let shape = [300usize, 257];
    let n: usize = shape.iter().product();
    let data: Vec<u8> = (0..n as u64).flat_map(|v| (v * 3).to_le_bytes()).collect();
    let opts = ArrayOptions {
        chunks: Some(vec![64, 100]),
        blocks: Some(vec![16, 32]),
        ..Default::default()
    };
    let a = NDArray::from_buffer(&data, &shape, dtype_of(8), &opts).unwrap();
    let model = Model {
        shape: shape.to_vec(),
        its: 8,
        data,
    };
    std::thread::scope(|s| {
        for t in 0..4u64 {
            let (a, model) = (&a, &model);
            s.spawn(move || {
                let mut rng = Rng(100 + t);
                for _ in 0..20 {
                    let r = random_region(&mut rng, &shape);
                    assert_eq!(a.read(&r).unwrap().bytes(), model.read(&r));
                }
            });
        }
    });
    assert_eq!(read_all(&a), model.data);
}

/// The three storages: written, reopened, changed, reopened.
#[test]
fn files_and_directories() {
    let dir = tmpdir("storage");
    for (name, contiguous) in [("a.b2nd", true), ("b.b2nd", false)] {
        let path = dir.join(name);
        let shape = [11usize, 6];
        let data: Vec<u8> = (0..66u16).flat_map(|v| v.to_le_bytes()).collect();
        let opts = ArrayOptions {
            chunks: Some(vec![4, 4]),
            blocks: Some(vec![3, 2]),
            storage: Storage {
                urlpath: Some(path.clone()),
                contiguous,
                ..Default::default()
            },
            caterva: true,
            ..Default::default()
        };
        let mut a = NDArray::from_buffer(&data, &shape, dtype_of(2), &opts).unwrap();
        drop(a);
        // Mode 'a' does not replace an existing array.
        let e = NDArray::zeros(&shape, dtype_of(2), &opts).unwrap_err();
        assert_eq!(e.kind(), ErrorKind::InvalidArgument, "{e}");
        a = NDArray::open(&path, Mode::Append).unwrap();
        assert_eq!(read_all(&a), data);
        assert_eq!(a.schunk().meta_names(), ["b2nd", "caterva"]);
        assert_eq!(a.dtype().as_str(), "<i2");
        a.resize(&[13, 7]).unwrap();
        let row = Region::new(vec![Slice::at(12).unwrap(), Slice::full(7).unwrap()]);
        a.fill_region(&row, &[1, 2]).unwrap();
        drop(a);
        let a = NDArray::open(&path, Mode::Read).unwrap();
        let mut model = Model {
            shape: shape.to_vec(),
            its: 2,
            data: data.clone(),
        }
        .resize(&[13, 7]);
        model.write(&row, &[1, 2].repeat(7));
        assert_eq!(read_all(&a), model.data);
        assert_padding_zero(&a);
        // The caterva metalayer follows the shape.
        let cat = ArrayMeta::from_caterva(a.schunk().meta_get("caterva").unwrap(), 2).unwrap();
        assert_eq!(cat.shape(), [13, 7]);
        // Replacing with mode 'w'.
        let mut w = opts.clone();
        w.storage.mode = Mode::Write;
        let z = NDArray::zeros(
            &[2],
            dtype_of(2),
            &ArrayOptions {
                chunks: None,
                blocks: None,
                ..w
            },
        )
        .unwrap();
        assert_eq!(read_all(&z), [0; 4]);
        drop(z);
        // Constants reach the file.
        let z = NDArray::open(&path, Mode::Read).unwrap();
        assert_eq!((z.schunk().nchunks(), read_all(&z)), (1, vec![0; 4]));
        let mut w = opts.clone();
        w.storage.mode = Mode::Write;
        drop(NDArray::full(&[9, 3], dtype_of(2), &[5, 0], &w).unwrap());
        let f = NDArray::open(&path, Mode::Read).unwrap();
        assert_eq!(read_all(&f), [5, 0].repeat(27));
    }
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn constants_are_special_chunks() {
    let dt: Dtype = "<f8".parse().unwrap();
    let opts = ArrayOptions {
        chunks: Some(vec![5, 5]),
        blocks: Some(vec![5, 2]),
        ..Default::default()
    };
    let z = NDArray::zeros(&[12, 7], dt.clone(), &opts).unwrap();
    assert_eq!((z.cbytes(), z.schunk().nchunks()), (0, 6));
    assert_eq!(read_all(&z), vec![0; 12 * 7 * 8]);
    assert!(z
        .chunks_info()
        .all(|c| c.unwrap().special == Some(Special::Zeros)));
    let v = 2.5f64.to_le_bytes();
    let mut f = NDArray::full(&[12, 7], dt.clone(), &v, &opts).unwrap();
    let infos: Vec<ChunkInfo> = f.chunks_info().collect::<Result<_>>().unwrap();
    assert_eq!(infos.len(), 6);
    assert_eq!(infos[5].coords, [2, 1]);
    assert!(infos
        .iter()
        .all(|c| c.special == Some(Special::Value(v.to_vec()))));
    assert_eq!(read_all(&f), v.repeat(84));
    // A fill covering chunk (0, 0) and part of (0, 1) and (1, 0): one special chunk.
    let r = Region::from_bounds(&[0, 0], &[6, 5]).unwrap();
    f.fill_region(&r, &[0; 8]).unwrap();
    let infos: Vec<ChunkInfo> = f.chunks_info().collect::<Result<_>>().unwrap();
    assert_eq!(infos[0].special, Some(Special::Zeros));
    assert_eq!(infos[2].special, None);
    let mut model = Model {
        shape: vec![12, 7],
        its: 8,
        data: v.repeat(84),
    };
    model.write(&r, &[0; 8].repeat(30));
    assert_eq!(read_all(&f), model.data);
    // Resizing a constant array grows it with zeros.
    f.resize(&[13, 9]).unwrap();
    assert_eq!(read_all(&f), model.resize(&[13, 9]).data);
    assert_padding_zero(&f);
    assert!(f.fill_region(&r, &[0; 4]).is_err());
}

#[test]
fn zero_dimensional_and_empty_arrays() {
    let dt: Dtype = "<i8".parse().unwrap();
    let a = NDArray::from_buffer(
        &7i64.to_le_bytes(),
        &[],
        dt.clone(),
        &ArrayOptions::default(),
    )
    .unwrap();
    assert_eq!((a.ndim(), a.schunk().nchunks()), (0, 1));
    assert_eq!(read_all(&a), 7i64.to_le_bytes());
    let mut e = NDArray::zeros(&[0, 4], dt.clone(), &ArrayOptions::default()).unwrap();
    assert_eq!((e.chunks(), e.schunk().nchunks()), (&[0, 4][..], 0));
    assert!(read_all(&e).is_empty());
    // python-blosc2 also refuses to resize an array whose chunks hold a 0.
    assert!(e.resize(&[2, 4]).is_err());
    let opts = ArrayOptions {
        chunks: Some(vec![2, 2]),
        blocks: Some(vec![1, 2]),
        ..Default::default()
    };
    let mut e = NDArray::zeros(&[0, 4], dt, &opts).unwrap();
    e.resize(&[3, 4]).unwrap();
    assert_eq!(read_all(&e), vec![0; 96]);
    e.resize(&[3, 0]).unwrap();
    assert_eq!(e.schunk().nchunks(), 0);
}

#[test]
fn default_shapes_follow_python_blosc2() {
    let a = NDArray::zeros(
        &[1000, 1000],
        "<f8".parse().unwrap(),
        &ArrayOptions::default(),
    )
    .unwrap();
    let (c, b) = compute_chunks_blocks(&[1000, 1000], None, None, 8, &CacheInfo::detect()).unwrap();
    assert_eq!((a.chunks(), a.blocks()), (&c[..], &b[..]));
    assert_eq!(a.schunk().blocksize(), a.layout().block_bytes());
}

#[test]
fn bad_input_is_an_error() {
    let dt: Dtype = "<i4".parse().unwrap();
    let opts = ArrayOptions {
        chunks: Some(vec![4]),
        blocks: Some(vec![2]),
        ..Default::default()
    };
    let mut a = NDArray::zeros(&[10], dt.clone(), &opts).unwrap();
    let r = Region::full(&[10]).unwrap();
    let mut small = vec![0u8; 8];
    let mut out = ArrayMut {
        data: &mut small,
        dtype: "<i4".parse().unwrap(),
        shape: vec![2],
        order: Order::C,
    };
    assert!(a.get_region(&r, &mut out).is_err());
    assert!(a
        .get_region(&Region::full(&[11]).unwrap(), &mut out)
        .is_err());
    let mut out8 = ArrayMut {
        data: &mut [0u8; 80],
        dtype: "<i8".parse().unwrap(),
        shape: vec![10],
        order: Order::C,
    };
    assert!(a.get_region(&r, &mut out8).is_err());
    let src = [0u8; 12];
    let three = ArrayRef::new(&src, "<i4".parse().unwrap(), vec![3], Order::C).unwrap();
    assert!(a.set_region(&r, &three).is_err());
    assert!(a.fill_region(&r, &[1]).is_err());
    assert!(a.resize(&[1, 2]).is_err());
    assert!(NDArray::from_buffer(&[0; 3], &[1], dt.clone(), &opts).is_err());
    let bad = ArrayOptions {
        chunks: Some(vec![2]),
        blocks: Some(vec![3]),
        ..Default::default()
    };
    assert!(NDArray::zeros(&[10], dt.clone(), &bad).is_err());
    let nine = ArrayOptions {
        caterva: true,
        chunks: Some(vec![1; 9]),
        blocks: Some(vec![1; 9]),
        ..Default::default()
    };
    assert!(NDArray::zeros(&[1; 9], dt.clone(), &nine).is_err());
    // Super-chunks that disagree with their metalayer.
    let plain = SChunk::new(
        16,
        CParams::default(),
        DParams::default(),
        Storage::default(),
    )
    .unwrap();
    let e = NDArray::from_schunk(plain).unwrap_err();
    assert_eq!(e.kind(), ErrorKind::InvalidArgument, "{e}");
    let meta = ArrayMeta::new(vec![10], vec![4], vec![2], dt.clone()).unwrap();
    let storage = Storage {
        meta: vec![("b2nd".into(), meta.to_b2nd())],
        ..Default::default()
    };
    let cp = CParams {
        typesize: 4,
        ..CParams::default()
    };
    let mut s = SChunk::new(16, cp.clone(), DParams::default(), storage.clone()).unwrap();
    s.append_buffer(&[0; 16]).unwrap();
    let e = NDArray::from_schunk(s).unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Corrupt, "{e}");
    let mut s = SChunk::new(12, cp, DParams::default(), storage).unwrap();
    for _ in 0..3 {
        s.append_buffer(&[0; 12]).unwrap();
    }
    let e = NDArray::from_schunk(s).unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Corrupt, "{e}");
    // The right number of chunks, the last one short: reading it is an error.
    let meta = ArrayMeta::new(vec![8], vec![4], vec![2], dt).unwrap();
    let storage = Storage {
        meta: vec![("b2nd".into(), meta.to_b2nd())],
        ..Default::default()
    };
    let cp = CParams {
        typesize: 4,
        ..CParams::default()
    };
    let mut s = SChunk::new(16, cp, DParams::default(), storage).unwrap();
    s.append_buffer(&[1; 16]).unwrap();
    s.append_buffer(&[1; 8]).unwrap();
    let a = NDArray::from_schunk(s).unwrap();
    assert_eq!(read_all_err(&a).kind(), ErrorKind::Corrupt);
    let first = a.read(&Region::from_bounds(&[0], &[4]).unwrap()).unwrap();
    assert_eq!(first.bytes(), [1; 16]);
}

fn read_all_err(a: &NDArray) -> crate::Error {
    a.to_buffer().unwrap_err()
}

#[test]
fn slice_copies_aligned_chunks_and_reads_the_rest() {
    let dtype: DataType = "<i4".parse().unwrap();
    let shape = [20usize, 18];
    let data: Vec<u8> = (0..360i32).flat_map(|v| v.to_le_bytes()).collect();
    let opts = ArrayOptions {
        chunks: Some(vec![5, 6]),
        blocks: Some(vec![5, 3]),
        ..Default::default()
    };
    let a = NDArray::from_buffer(&data, &shape, dtype.clone().into(), &opts).unwrap();
    let read = |a: &NDArray, r: &Region| a.read(r).unwrap().bytes().to_vec();
    // Aligned: the compressed chunks are copied.
    let r = Region::from_bounds(&[5, 6], &[20, 18]).unwrap();
    let s = a.slice(&r, &[], &ArrayOptions::default()).unwrap();
    assert_eq!(s.shape(), [15, 12]);
    assert_eq!(
        s.schunk().get_chunk(0).unwrap(),
        a.schunk().get_chunk(4).unwrap()
    );
    assert_eq!(read(&s, &Region::full(s.shape()).unwrap()), read(&a, &r));
    // Steps, a dropped dimension, other chunks.
    let r = Region::new(vec![Slice::new(17, 0, -3).unwrap(), Slice::at(7).unwrap()]);
    let opts = ArrayOptions {
        chunks: Some(vec![4]),
        blocks: Some(vec![2]),
        ..Default::default()
    };
    let s = a.slice(&r, &[false, true], &opts).unwrap();
    assert_eq!(s.shape(), [6]);
    assert_eq!(read(&s, &Region::full(&[6]).unwrap()), read(&a, &r));
    // Only dimensions of length 1 can be dropped.
    let r = Region::from_bounds(&[0, 0], &[2, 2]).unwrap();
    assert!(a
        .slice(&r, &[true, false], &ArrayOptions::default())
        .is_err());
}

/// A write that touches few blocks of a chunk re-encodes only those: the chunk comes out with
/// the bytes a whole-chunk compression of its new items gives, for every codec and filter
/// pipeline that allows it; with DELTA (whose reference is the first block) the whole chunk is
/// compressed again, with the same result.
#[test]
fn small_writes_reencode_only_their_blocks() {
    let shape = [64usize, 64];
    let n: usize = shape.iter().product();
    let data: Vec<u8> = (0..n as u32)
        .flat_map(|v| ((v % 64) as f32 * 0.5 + (v / 64) as f32).to_le_bytes())
        .collect();
    let dt: DataType = "<f4".parse().unwrap();
    for (codec, filter) in [
        (Compressor::Lz4, Filter::Shuffle),
        (Compressor::Zstd, Filter::BitShuffle),
        (Compressor::BloscLz, Filter::NoFilter),
        (Compressor::Lz4, Filter::Delta),
    ] {
        let opts = ArrayOptions {
            chunks: Some(vec![32, 32]),
            blocks: Some(vec![8, 8]),
            cparams: Some(CParams {
                codec,
                clevel: 5,
                filters: Filter::last_slot(filter),
                ..CParams::default()
            }),
            ..Default::default()
        };
        let mut a = NDArray::from_buffer(&data, &shape, dt.clone().into(), &opts).unwrap();
        let mut model = Model {
            shape: shape.to_vec(),
            its: 4,
            data: data.clone(),
        };
        // 3×10 items across two blocks of chunk 1 (rows 5..8, columns 38..48).
        let region = Region::new(vec![
            Slice::range(5, 8).unwrap(),
            Slice::range(38, 48).unwrap(),
        ]);
        let src: Vec<u8> = (0..30u32)
            .flat_map(|v| (1000.0 + v as f32).to_le_bytes())
            .collect();
        a.set_region(
            &region,
            &ArrayRef::new(&src, dt.clone(), vec![3, 10], Order::C).unwrap(),
        )
        .unwrap();
        model.write(&region, &src);
        assert_eq!(read_all(&a), model.data, "{codec:?} {filter:?}");
        // The array's own chunks are laid out as its parameters lay out a chunk: their blocks
        // can be replaced one by one (not with DELTA).
        let chunk = a.schunk().get_chunk(1).unwrap();
        let kept = v2::replace_blocks(&chunk, &a.cparams(), &[], 1).unwrap();
        assert_eq!(
            kept.is_some(),
            filter != Filter::Delta,
            "{codec:?} {filter:?}"
        );
        if let Some(kept) = kept {
            assert_eq!(kept, chunk.as_ref());
        }
        for k in 0..a.layout().nchunks() {
            let raw = a.schunk().decompress_chunk(k).unwrap();
            let whole = v2::compress(&raw, &a.cparams()).unwrap();
            assert_eq!(
                a.schunk().get_chunk(k).unwrap().as_ref(),
                whole.as_slice(),
                "chunk {k}, {codec:?} {filter:?}"
            );
        }
    }
}

/// Writes prepared from one state by several threads (each its own chunks, or its own items of
/// a shared chunk, kept apart by per-chunk locks) and committed one by one give the model's
/// result, in the three storages; a write prepared before a resize is refused.
#[test]
fn prepared_writes_from_threads_match_the_model() {
    use std::sync::{Mutex, RwLock};
    let dir = tmpdir("prepared");
    for (name, path) in [
        ("memory", None),
        ("contiguous", Some(dir.join("c.b2nd"))),
        ("sparse", Some(dir.join("s.b2nd"))),
    ] {
        let shape = [16usize, 12];
        let opts = ArrayOptions {
            chunks: Some(vec![4, 6]),
            blocks: Some(vec![2, 3]),
            storage: Storage {
                contiguous: name != "sparse",
                urlpath: path.clone(),
                mode: Mode::Write,
                ..Default::default()
            },
            ..Default::default()
        };
        let a = RwLock::new(NDArray::zeros(&shape, dtype_of(2), &opts).unwrap());
        let locks: Vec<Mutex<()>> = (0..8).map(|_| Mutex::new(())).collect();
        let model = Mutex::new(Model {
            shape: shape.to_vec(),
            its: 2,
            data: vec![0; 16 * 12 * 2],
        });
        std::thread::scope(|s| {
            for t in 0..4usize {
                let (a, locks, model) = (&a, &locks, &model);
                s.spawn(move || {
                    for round in 0..6usize {
                        // Threads share chunks (rows 3t..3t+5 overlap the next thread's) and
                        // items; the stripe locks order overlapping writes, and the model
                        // follows that order.
                        let region = if round % 2 == 0 {
                            Region::new(vec![
                                Slice::new(3 * t as isize, 3 * t as isize + 5, 1).unwrap(),
                                Slice::new(t as isize, 12, 4).unwrap(),
                            ])
                        } else {
                            Region::new(vec![
                                Slice::at(3 * t + round % 4).unwrap(),
                                Slice::new(11, -1, -1).unwrap(),
                            ])
                        };
                        let n: usize = region.shape().iter().product();
                        let v = (100 * t + round) as u16;
                        let data: Vec<u8> = (0..n).flat_map(|_| v.to_le_bytes()).collect();
                        let chunks = a.read().unwrap().chunk_indices(&region).unwrap();
                        let mut stripes: Vec<usize> = chunks.iter().map(|c| c % 8).collect();
                        stripes.sort_unstable();
                        stripes.dedup();
                        let _held: Vec<_> =
                            stripes.iter().map(|&i| locks[i].lock().unwrap()).collect();
                        let view =
                            ArrayRef::new(&data, dtype_of(2).data_type(), region.shape(), Order::C)
                                .unwrap();
                        let w = if round == 5 {
                            a.read()
                                .unwrap()
                                .prepare_fill_region(&region, &v.to_le_bytes())
                                .unwrap()
                        } else {
                            a.read()
                                .unwrap()
                                .prepare_set_region(&region, &view)
                                .unwrap()
                        };
                        a.write().unwrap().commit_write(w).unwrap();
                        model.lock().unwrap().write(&region, &data);
                    }
                });
            }
        });
        let mut a = a.into_inner().unwrap();
        let model = model.into_inner().unwrap();
        assert_eq!(read_all(&a), model.data, "{name}");
        assert_padding_zero(&a);
        if let Some(p) = &path {
            drop(a);
            a = NDArray::open(p, Mode::Append).unwrap();
            assert_eq!(read_all(&a), model.data, "{name} reopened");
        }
        let all = Region::full(&shape).unwrap();
        let stale = a.prepare_fill_region(&all, &[1, 0]).unwrap();
        assert_eq!(stale.chunk_indices().count(), 8);
        a.resize(&[16, 13]).unwrap();
        let e = a.commit_write(stale).unwrap_err();
        assert_eq!(e.kind(), ErrorKind::InvalidArgument, "{e}");
    }
    std::fs::remove_dir_all(&dir).unwrap();
}
