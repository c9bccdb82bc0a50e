//! The layout against python-blosc2's decoded chunks (`testdata/layout_chunks.txt`) and, on
//! random arrays and regions, against plain loops over item indices.

use super::*;
use crate::region::test_util::{random_slice, Rng};

fn dims(s: &str) -> Vec<usize> {
    if s == "-" {
        return Vec::new();
    }
    s.split(',').map(|d| d.parse().unwrap()).collect()
}

fn hex(s: &str) -> Vec<u8> {
    (0..s.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&s[i..i + 2], 16).unwrap())
        .collect()
}

fn layout(shape: &[usize], chunks: &[usize], blocks: &[usize], itemsize: usize) -> ChunkLayout {
    let dtype = crate::array::b2nd::Dtype::void(itemsize).unwrap();
    let meta = ArrayMeta::new(shape.to_vec(), chunks.to_vec(), blocks.to_vec(), dtype).unwrap();
    ChunkLayout::new(&meta).unwrap()
}

/// The C-order linear index of `idx` in an array of `shape`.
fn c_index(idx: &[usize], shape: &[usize]) -> usize {
    idx.iter().zip(shape).fold(0, |acc, (&i, &n)| acc * n + i)
}

/// The coordinates of C-order linear index `k` in `shape`.
fn unravel(mut k: usize, shape: &[usize]) -> Vec<usize> {
    let mut out = vec![0; shape.len()];
    for (o, &n) in out.iter_mut().zip(shape).rev() {
        *o = k % n;
        k /= n;
    }
    out
}

/// Where array item `idx` lives, by plain arithmetic: (chunk number, byte offset in the decoded
/// chunk).
fn locate(l: &ChunkLayout, idx: &[usize]) -> (usize, usize) {
    let nd = idx.len();
    let grid: Vec<usize> = (0..nd)
        .map(|d| l.shape()[d].div_ceil(l.chunks()[d]))
        .collect();
    let chunk: Vec<usize> = (0..nd).map(|d| idx[d] / l.chunks()[d]).collect();
    let inner: Vec<usize> = (0..nd).map(|d| idx[d] % l.chunks()[d]).collect();
    let bgrid: Vec<usize> = (0..nd).map(|d| l.ext_chunks()[d] / l.blocks()[d]).collect();
    let block: Vec<usize> = (0..nd).map(|d| inner[d] / l.blocks()[d]).collect();
    let in_block: Vec<usize> = (0..nd).map(|d| inner[d] % l.blocks()[d]).collect();
    let off =
        c_index(&block, &bgrid) * l.block_bytes() + c_index(&in_block, l.blocks()) * l.itemsize();
    (c_index(&chunk, &grid), off)
}

/// The chunks of an array `src` (C order) written by `write_chunk`, chunk by chunk.
fn store(l: &ChunkLayout, src: &[u8]) -> Vec<Vec<u8>> {
    (0..l.nchunks())
        .map(|n| {
            let mut chunk = vec![0u8; l.chunk_bytes()];
            let valid = l.chunk_valid(n).unwrap();
            let region = l.grid().chunk_region(n).unwrap();
            let src_layout = ByteLayout::c(l.shape(), l.itemsize());
            l.write_chunk(&mut chunk, &valid, src, src_layout, &region)
                .unwrap();
            chunk
        })
        .collect()
}

#[test]
fn chunks_match_python_blosc2() {
    let text = include_str!("../testdata/layout_chunks.txt");
    let mut lines = text.lines().peekable();
    let mut cases = 0;
    while let Some(head) = lines.next() {
        let f: Vec<&str> = head.split_whitespace().collect();
        assert_eq!(f[0], "case");
        let dtype: crate::DataType = f[1].parse().unwrap();
        let (shape, chunks, blocks) = (dims(f[2]), dims(f[3]), dims(f[4]));
        let its = dtype.itemsize();
        let l = layout(&shape, &chunks, &blocks, its);
        // Items arange(size) % 251 + 1 cast to the dtype (little endian).
        let n: usize = shape.iter().product();
        let src: Vec<u8> = (0..n)
            .flat_map(|i| {
                let v = (i % 251 + 1) as u64;
                if f[1] == "<f8" {
                    (v as f64).to_le_bytes()[..its].to_vec()
                } else {
                    v.to_le_bytes()[..its].to_vec()
                }
            })
            .collect();
        let stored = store(&l, &src);
        for (k, chunk) in stored.iter().enumerate() {
            let want = hex(lines.next().unwrap());
            assert_eq!(chunk, &want, "{head}: chunk {k}");
        }
        assert!(lines.peek().is_none_or(|l| l.starts_with("case")), "{head}");
        // Reading every chunk back rebuilds the array.
        let mut back = vec![0u8; src.len()];
        for (k, chunk) in stored.iter().enumerate() {
            let dst_layout = ByteLayout::c(&shape, its);
            let region = l.grid().chunk_region(k).unwrap();
            l.read_chunk(
                chunk,
                &l.chunk_valid(k).unwrap(),
                &mut back,
                dst_layout,
                &region,
            )
            .unwrap();
        }
        assert_eq!(back, src, "{head}");
        cases += 1;
    }
    assert_eq!(cases, 5);
}

fn random_layout(rng: &mut Rng) -> ChunkLayout {
    let shape = rng.shape(0..5, 0..9);
    let chunks: Vec<usize> = shape.iter().map(|&n| 1 + rng.below(n.max(1) + 1)).collect();
    let blocks: Vec<usize> = chunks.iter().map(|&c| 1 + rng.below(c)).collect();
    let itemsize = [1, 2, 3, 8][rng.below(4)];
    layout(&shape, &chunks, &blocks, itemsize)
}

fn random_region(rng: &mut Rng, shape: &[usize]) -> Region {
    let steps = [1, 1, 1, 2, 3, -1, -2];
    shape
        .iter()
        .map(|&n| random_slice(rng, n, &steps, 4))
        .collect()
}

/// Random arrays stored in chunks and random regions read with `plan` into an output at a
/// random place (strided, either order): every item equals the array's item, found by plain
/// index arithmetic, and nothing else of the output changes.
#[test]
fn reads_of_random_regions_match_plain_loops() {
    let mut rng = Rng(11);
    for _ in 0..300 {
        let l = random_layout(&mut rng);
        let shape = l.shape().to_vec();
        let its = l.itemsize();
        let n: usize = shape.iter().product();
        let src = rng.bytes(n * its);
        let stored = store(&l, &src);
        let region = random_region(&mut rng, &shape);
        let rshape = region.shape();
        // The output: a bigger array, the region's items at a strided place in it.
        let out_shape: Vec<usize> = rshape.iter().map(|&m| 2 * m + 1).collect();
        let order = rng.order();
        let out_region: Region = rshape
            .iter()
            .map(|&m| Slice::new(1, 1 + 2 * m as isize, 2).unwrap())
            .collect();
        let out_len = out_shape.iter().product::<usize>() * its;
        let mut out = vec![0xA5u8; out_len];
        let shared = SharedOut::new(&mut out, &out_shape, its, order).unwrap();
        for part in l.plan(&region).unwrap() {
            for b in &part.blocks {
                let chunk = &stored[part.nchunk];
                let to = out_region.select(&b.out).unwrap();
                // SAFETY: one thread; blocks write disjoint items.
                unsafe {
                    shared
                        .copy_from(&chunk[l.block_range(b.nblock)], l.blocks(), &b.within, &to)
                        .unwrap();
                }
            }
        }
        let ostrides = strides(&out_shape, its, order);
        let mut want = vec![0xA5u8; out_len];
        let m: usize = rshape.iter().product();
        for k in 0..m {
            let pos = unravel(k, &rshape);
            let idx: Vec<usize> = (0..pos.len())
                .map(|d| region.slices()[d].get(pos[d]).unwrap())
                .collect();
            let (c, off) = locate(&l, &idx);
            let at: usize = (0..pos.len()).map(|d| (1 + 2 * pos[d]) * ostrides[d]).sum();
            want[at..at + its].copy_from_slice(&stored[c][off..off + its]);
            assert_eq!(
                &stored[c][off..off + its],
                &src[c_index(&idx, &shape) * its..][..its]
            );
        }
        assert_eq!(
            out,
            want,
            "{shape:?} {:?} {:?} {region}",
            l.chunks(),
            l.blocks()
        );
    }
}

/// Random regions written chunk by chunk with `write_chunk` land where plain index arithmetic
/// says, and `zero_outside` clears exactly the padding.
#[test]
fn writes_and_padding_match_plain_loops() {
    let mut rng = Rng(12);
    for _ in 0..300 {
        let l = random_layout(&mut rng);
        let shape = l.shape().to_vec();
        let its = l.itemsize();
        let region = random_region(&mut rng, &shape);
        let rshape = region.shape();
        let m: usize = rshape.iter().product();
        let data = rng.bytes(m * its);
        let mut chunks = vec![vec![0x5Au8; l.chunk_bytes()]; l.nchunks()];
        let mut want = chunks.clone();
        for part in l.plan(&region).unwrap() {
            let src_layout = ByteLayout::c(&rshape, its);
            l.write_chunk(
                &mut chunks[part.nchunk],
                &part.within,
                &data,
                src_layout,
                &part.out,
            )
            .unwrap();
        }
        for k in 0..m {
            let pos = unravel(k, &rshape);
            let idx: Vec<usize> = (0..pos.len())
                .map(|d| region.slices()[d].get(pos[d]).unwrap())
                .collect();
            let (c, off) = locate(&l, &idx);
            want[c][off..off + its].copy_from_slice(&data[k * its..][..its]);
        }
        assert_eq!(
            chunks,
            want,
            "{shape:?} {:?} {:?} {region}",
            l.chunks(),
            l.blocks()
        );
        // Padding: every byte outside the valid part becomes zero, the rest stays.
        for (c, chunk) in chunks.iter_mut().enumerate() {
            let before = chunk.clone();
            let valid = l.chunk_valid(c).unwrap();
            l.zero_outside(chunk, &valid).unwrap();
            let mut expect = vec![0u8; l.chunk_bytes()];
            let vshape = valid.shape();
            let origin = l.chunk_origin(c).unwrap();
            for k in 0..vshape.iter().product::<usize>() {
                let inner = unravel(k, &vshape);
                let idx: Vec<usize> = inner.iter().zip(&origin).map(|(a, b)| a + b).collect();
                let (cc, off) = locate(&l, &idx);
                assert_eq!(cc, c);
                expect[off..off + its].copy_from_slice(&before[off..off + its]);
            }
            assert_eq!(*chunk, expect);
        }
    }
}

#[test]
fn zero_length_dimensions_have_no_chunks() {
    let l = layout(&[0, 5], &[0, 5], &[0, 5], 4);
    assert_eq!(l.nchunks(), 0);
    assert_eq!(l.chunk_bytes(), 0);
    assert_eq!(l.ext_chunks(), [0, 5]);
    assert!(l.plan(&Region::full(&[0, 5]).unwrap()).unwrap().is_empty());
    let l = layout(&[], &[], &[], 8);
    assert_eq!(
        (l.nchunks(), l.chunk_bytes(), l.blocks_per_chunk()),
        (1, 8, 1)
    );
    let parts = l.plan(&Region::full(&[]).unwrap()).unwrap();
    assert_eq!(parts.len(), 1);
    assert_eq!(parts[0].blocks.len(), 1);
}

#[test]
fn bad_arguments_are_errors() {
    let l = layout(&[4], &[2], &[2], 1);
    let mut short = vec![0u8; 1];
    let r = Region::full(&[2]).unwrap();
    assert!(l
        .write_chunk(&mut short, &r, &[0; 4], ByteLayout::c(&[4], 1), &r)
        .is_err());
    assert!(l.chunk_valid(2).is_err());
    assert!(l.plan(&Region::full(&[5]).unwrap()).is_err());
    let mut out = vec![0u8; 3];
    assert!(SharedOut::new(&mut out, &[4], 1, Order::C).is_err());
}
