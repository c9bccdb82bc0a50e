//! The portable (plain Rust) kernels, for every CPU and for the items the SIMD kernels leave:
//! the byte shuffle of items one at a time, and the bit shuffle of groups of 8 items through
//! 8x8 bit transposes in a `u64`. Every SIMD kernel is tested against these.

use std::mem::MaybeUninit;

/// Byte-shuffles `src` into `dst` (same length) in plain Rust.
pub(super) fn shuffle(typesize: usize, src: &[u8], dst: &mut [u8]) {
    assert_eq!(src.len(), dst.len(), "shuffle needs equal lengths");
    if typesize <= 1 || src.len() < typesize {
        dst.copy_from_slice(src);
        return;
    }
    let nitems = src.len() / typesize;
    shuffle_items(typesize, src, dst, nitems, 0);
    let body = nitems * typesize;
    dst[body..].copy_from_slice(&src[body..]);
}

/// Reverses [`shuffle`] into a destination that may be uninitialised (every byte gets written).
pub(super) fn unshuffle_uninit(typesize: usize, src: &[u8], dst: &mut [MaybeUninit<u8>]) {
    assert_eq!(src.len(), dst.len(), "unshuffle needs equal lengths");
    if typesize <= 1 || src.len() < typesize {
        copy_uninit(dst, src);
        return;
    }
    let nitems = src.len() / typesize;
    unshuffle_items(typesize, src, dst, nitems, 0);
    let body = nitems * typesize;
    copy_uninit(&mut dst[body..], &src[body..]);
}

/// Shuffles items `first..nitems` (of `nitems` in the block) into their planes.
pub(super) fn shuffle_items(
    typesize: usize,
    src: &[u8],
    dst: &mut [u8],
    nitems: usize,
    first: usize,
) {
    let body = nitems * typesize;
    for (i, item) in src[first * typesize..body]
        .chunks_exact(typesize)
        .enumerate()
    {
        for (j, &b) in item.iter().enumerate() {
            dst[j * nitems + first + i] = b;
        }
    }
}

/// Unshuffles items `first..nitems` (of `nitems` in the block) from their planes.
pub(super) fn unshuffle_items(
    typesize: usize,
    src: &[u8],
    dst: &mut [MaybeUninit<u8>],
    nitems: usize,
    first: usize,
) {
    let body = nitems * typesize;
    for (i, item) in dst[first * typesize..body]
        .chunks_exact_mut(typesize)
        .enumerate()
    {
        for (j, b) in item.iter_mut().enumerate() {
            b.write(src[j * nitems + first + i]);
        }
    }
}

/// Copies `src` into `dst` (same length).
pub(super) fn copy_uninit(dst: &mut [MaybeUninit<u8>], src: &[u8]) {
    assert_eq!(dst.len(), src.len());
    // SAFETY: both hold `src.len()` bytes and cannot overlap (`dst` is borrowed mutably).
    unsafe { std::ptr::copy_nonoverlapping(src.as_ptr(), dst.as_mut_ptr().cast(), src.len()) };
}

/// Transposes the 8x8 bit matrix in `x` (bit `8 * r + c` to bit `8 * c + r`).
#[inline(always)]
fn transpose8(mut x: u64) -> u64 {
    let t = (x ^ (x >> 7)) & 0x00AA_00AA_00AA_00AA;
    x ^= t ^ (t << 7);
    let t = (x ^ (x >> 14)) & 0x0000_CCCC_0000_CCCC;
    x ^= t ^ (t << 14);
    let t = (x ^ (x >> 28)) & 0x0000_0000_F0F0_F0F0;
    x ^= t ^ (t << 28);
    x
}

/// Groups of 8 items per tile of the portable kernels: the bit rows are gathered 64 bytes at a
/// time in a buffer and written (or read) a cache line at once, because rows a multiple of 4 KiB
/// apart would evict one another from L1 if written a byte at a time.
const GROUPS_PER_TILE: usize = 64;

/// Bit-shuffles the groups of 8 items `first_group..m / 8` of a block of `m` items.
pub(super) fn bitshuffle_groups(
    typesize: usize,
    src: &[u8],
    dst: &mut [u8],
    m: usize,
    first_group: usize,
) {
    let rowlen = m / 8;
    let nrows = 8 * typesize;
    let mut g = first_group;
    if rowlen - g >= GROUPS_PER_TILE {
        let mut buf = vec![0u8; nrows * GROUPS_PER_TILE];
        while rowlen - g >= GROUPS_PER_TILE {
            for t in 0..GROUPS_PER_TILE {
                bitshuffle_group(typesize, src, &mut buf, GROUPS_PER_TILE, g + t, t);
            }
            for r in 0..nrows {
                dst[r * rowlen + g..][..GROUPS_PER_TILE]
                    .copy_from_slice(&buf[r * GROUPS_PER_TILE..][..GROUPS_PER_TILE]);
            }
            g += GROUPS_PER_TILE;
        }
    }
    for g in g..rowlen {
        bitshuffle_group(typesize, src, dst, rowlen, g, g);
    }
}

/// Bit-shuffles group `g` of `src` into column `col` of rows `rowlen` bytes long.
#[inline(always)]
fn bitshuffle_group(
    typesize: usize,
    src: &[u8],
    rows: &mut [u8],
    rowlen: usize,
    g: usize,
    col: usize,
) {
    let items = &src[8 * g * typesize..8 * (g + 1) * typesize];
    for j in 0..typesize {
        let mut x = 0u64;
        for e in 0..8 {
            x |= (items[e * typesize + j] as u64) << (8 * e);
        }
        let t = transpose8(x);
        for k in 0..8 {
            rows[(8 * j + k) * rowlen + col] = (t >> (8 * k)) as u8;
        }
    }
}

/// Reverses [`bitshuffle_groups`].
pub(super) fn bitunshuffle_groups(
    typesize: usize,
    src: &[u8],
    dst: &mut [u8],
    m: usize,
    first_group: usize,
) {
    let rowlen = m / 8;
    let nrows = 8 * typesize;
    let mut g = first_group;
    if rowlen - g >= GROUPS_PER_TILE {
        let mut buf = vec![0u8; nrows * GROUPS_PER_TILE];
        while rowlen - g >= GROUPS_PER_TILE {
            for r in 0..nrows {
                buf[r * GROUPS_PER_TILE..][..GROUPS_PER_TILE]
                    .copy_from_slice(&src[r * rowlen + g..][..GROUPS_PER_TILE]);
            }
            for t in 0..GROUPS_PER_TILE {
                bitunshuffle_group(typesize, &buf, dst, GROUPS_PER_TILE, t, g + t);
            }
            g += GROUPS_PER_TILE;
        }
    }
    for g in g..rowlen {
        bitunshuffle_group(typesize, src, dst, rowlen, g, g);
    }
}

/// Reverses [`bitshuffle_group`]: column `col` of the rows into group `g` of `dst`.
#[inline(always)]
fn bitunshuffle_group(
    typesize: usize,
    rows: &[u8],
    dst: &mut [u8],
    rowlen: usize,
    col: usize,
    g: usize,
) {
    let items = &mut dst[8 * g * typesize..8 * (g + 1) * typesize];
    for j in 0..typesize {
        let mut x = 0u64;
        for k in 0..8 {
            x |= (rows[(8 * j + k) * rowlen + col] as u64) << (8 * k);
        }
        let t = transpose8(x);
        for e in 0..8 {
            items[e * typesize + j] = (t >> (8 * e)) as u8;
        }
    }
}
