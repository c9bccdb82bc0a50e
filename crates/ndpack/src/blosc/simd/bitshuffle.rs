//! Bit shuffle and unshuffle with c-blosc's layout: the bitshuffle library's
//! `bshuf_trans_bit_elem` on whole groups of 8 items.
//!
//! For `m` items of `typesize` bytes (`m` a multiple of 8) the output is `8 * typesize` rows of
//! `m / 8` bytes: row `8 * j + k` holds bit `k` (0 = least significant) of byte `j` of every
//! item, item `i` at bit `i % 8` of the row's byte `i / 8`.
//!
//! The two Blosc generations differ in what they do with a block whose item count `n` is not a
//! multiple of 8:
//! - Blosc2 chunks (c-blosc2, chunk versions 3 and up): [`bitshuffle`] / [`bitunshuffle`]. The
//!   first `n - n % 8` items are bit-shuffled and every byte after them is copied as is.
//! - Blosc1 chunks (c-blosc 1.x, chunk version 2): [`bitshuffle_blosc1`] /
//!   [`bitunshuffle_blosc1`]. When `n % 8 != 0` the whole block is copied unshuffled;
//!   otherwise all items are bit-shuffled and the `len % typesize` tail is copied.
//!
//! Typesizes 1, 2, 4, 8 and 16 have fused SSE2 and AVX2 kernels (the byte transpose network of
//! [`crate::blosc::shuffle`], then `movemask` to gather bit planes; the inverse transposes 8x8 bit
//! matrices in 64-bit lanes) and AVX-512 kernels (the AVX-512 byte network, `gf2p8affineqb` for
//! the 8x8 bit transposes and a transpose of 64-bit lanes that yields whole 64-byte rows). Other
//! typesizes use the portable code, which transposes 8x8 bit matrices in a `u64`.

use super::{bitshuffle_kernel, bitunshuffle_kernel, portable, Isa};
use crate::error::{Error, Result};

/// Bit-shuffles `src` into `dst` (same length) for items of `typesize` bytes, with c-blosc2's
/// treatment of the items past the last whole group of 8 (copied).
pub fn bitshuffle(typesize: usize, src: &[u8], dst: &mut [u8]) -> Result<()> {
    bitshuffle_isa(Isa::best(), typesize, src, dst)
}

/// Reverses [`bitshuffle`].
pub fn bitunshuffle(typesize: usize, src: &[u8], dst: &mut [u8]) -> Result<()> {
    bitunshuffle_isa(Isa::best(), typesize, src, dst)
}

/// Bit-shuffles a block of a Blosc1 chunk: like [`bitshuffle`] when the item count is a
/// multiple of 8, otherwise a plain copy (c-blosc 1.x's rule).
pub fn bitshuffle_blosc1(typesize: usize, src: &[u8], dst: &mut [u8]) -> Result<()> {
    check(typesize, src, dst)?;
    if !(src.len() / typesize).is_multiple_of(8) {
        dst.copy_from_slice(src);
        return Ok(());
    }
    bitshuffle(typesize, src, dst)
}

/// Reverses [`bitshuffle_blosc1`].
pub fn bitunshuffle_blosc1(typesize: usize, src: &[u8], dst: &mut [u8]) -> Result<()> {
    check(typesize, src, dst)?;
    if !(src.len() / typesize).is_multiple_of(8) {
        dst.copy_from_slice(src);
        return Ok(());
    }
    bitunshuffle(typesize, src, dst)
}

/// Runs `kernel` of `isa` over the whole 8-item groups of `src`, `groups` (the portable code)
/// over the groups it left, and copies the leftover items (shared by [`bitshuffle_isa`] and
/// [`bitunshuffle_isa`]).
#[inline]
fn with_isa(
    isa: Isa,
    typesize: usize,
    src: &[u8],
    dst: &mut [u8],
    kernel: fn(Isa, usize, &[u8], &mut [u8], usize) -> usize,
    groups: fn(usize, &[u8], &mut [u8], usize, usize),
) -> Result<()> {
    check(typesize, src, dst)?;
    isa.check();
    let m = src.len() / typesize / 8 * 8;
    let done = kernel(isa, typesize, src, dst, m);
    groups(typesize, src, dst, m, done / 8);
    let body = m * typesize;
    dst[body..].copy_from_slice(&src[body..]);
    Ok(())
}

pub_for_benches! {
    /// [`bitshuffle`] with the kernels of `isa` (for tests and benchmarks).
    ///
    /// # Panics
    /// If `isa` is not available on this CPU.
    fn bitshuffle_isa(isa: Isa, typesize: usize, src: &[u8], dst: &mut [u8]) -> Result<()> {
        with_isa(isa, typesize, src, dst, bitshuffle_kernel, portable::bitshuffle_groups)
    }
}

pub_for_benches! {
    /// [`bitunshuffle`] with the kernels of `isa` (for tests and benchmarks).
    ///
    /// # Panics
    /// If `isa` is not available on this CPU.
    fn bitunshuffle_isa(isa: Isa, typesize: usize, src: &[u8], dst: &mut [u8]) -> Result<()> {
        with_isa(isa, typesize, src, dst, bitunshuffle_kernel, portable::bitunshuffle_groups)
    }
}

pub_for_benches! {
    /// The portable reference implementation of [`bitshuffle`].
    fn bitshuffle_portable(typesize: usize, src: &[u8], dst: &mut [u8]) -> Result<()> {
        bitshuffle_isa(Isa::Portable, typesize, src, dst)
    }
}

pub_for_benches! {
    /// The portable reference implementation of [`bitunshuffle`].
    fn bitunshuffle_portable(typesize: usize, src: &[u8], dst: &mut [u8]) -> Result<()> {
        bitunshuffle_isa(Isa::Portable, typesize, src, dst)
    }
}

fn check(typesize: usize, src: &[u8], dst: &[u8]) -> Result<()> {
    if typesize == 0 {
        return Err(Error::invalid_argument(
            "bitshuffle: typesize must be at least 1",
        ));
    }
    if src.len() != dst.len() {
        return Err(Error::invalid_argument(format!(
            "bitshuffle: source ({} bytes) and destination ({} bytes) differ in length",
            src.len(),
            dst.len()
        )));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The layout from its definition, bit by bit.
    fn naive(typesize: usize, src: &[u8]) -> Vec<u8> {
        let m = src.len() / typesize / 8 * 8;
        let mut out = src.to_vec();
        out[..m * typesize].fill(0);
        for i in 0..m {
            for j in 0..typesize {
                for k in 0..8 {
                    let bit = (src[i * typesize + j] >> k) & 1;
                    let pos = (8 * j + k) * m + i;
                    out[pos / 8] |= bit << (pos % 8);
                }
            }
        }
        out
    }

    #[test]
    fn matches_the_definition_and_every_isa() {
        let data: Vec<u8> = (0..(1usize << 20) + 77)
            .map(|i| (i.wrapping_mul(2_654_435_761) >> 11) as u8)
            .collect();
        for ts in [1usize, 2, 3, 4, 5, 7, 8, 12, 16, 17, 33] {
            for len in [
                0usize, 1, 7, 8, 9, 63, 64, 65, 100, 255, 256, 1000, 4096, 4101, 10_007,
            ] {
                let src = &data[5..5 + len];
                let want = naive(ts, src);
                for isa in Isa::available() {
                    let mut got = vec![0xAAu8; len];
                    bitshuffle_isa(isa, ts, src, &mut got).unwrap();
                    assert_eq!(got, want, "bitshuffle {isa:?} ts {ts} len {len}");
                    let mut back = vec![0x55u8; len];
                    bitunshuffle_isa(isa, ts, &want, &mut back).unwrap();
                    assert_eq!(back, src, "bitunshuffle {isa:?} ts {ts} len {len}");
                }
            }
            let big = &data[3..];
            let mut want = vec![0u8; big.len()];
            bitshuffle_portable(ts, big, &mut want).unwrap();
            for isa in Isa::available() {
                let mut got = vec![0u8; big.len()];
                bitshuffle_isa(isa, ts, big, &mut got).unwrap();
                assert!(got == want, "bitshuffle {isa:?} ts {ts} 1 MB");
                bitunshuffle_isa(isa, ts, &want, &mut got).unwrap();
                assert!(got == big, "bitunshuffle {isa:?} ts {ts} 1 MB");
            }
        }
    }

    /// Item counts around the 512-item tiles of the AVX2 and AVX-512 kernels and their 32-item
    /// groups, plus partial groups of 8 and byte tails, checked against the definition.
    #[test]
    fn every_isa_matches_the_definition_at_tile_edges() {
        let data: Vec<u8> = (0..80_000usize)
            .map(|i| (i.wrapping_mul(2_246_822_519) >> 15) as u8)
            .collect();
        for ts in [1usize, 2, 3, 4, 8, 16] {
            for items in [
                504usize,
                511,
                512,
                513,
                520,
                543,
                544,
                1024,
                1031,
                1567,
                2048 + 40,
            ] {
                for extra in [0, ts - 1] {
                    let len = items * ts + extra;
                    let src = &data[9..9 + len];
                    let want = naive(ts, src);
                    for isa in Isa::available() {
                        let mut got = vec![0x5Au8; len];
                        bitshuffle_isa(isa, ts, src, &mut got).unwrap();
                        assert_eq!(got, want, "bitshuffle {isa:?} ts {ts} len {len}");
                        let mut back = vec![0xA5u8; len];
                        bitunshuffle_isa(isa, ts, &want, &mut back).unwrap();
                        assert_eq!(back, src, "bitunshuffle {isa:?} ts {ts} len {len}");
                    }
                }
            }
        }
    }

    #[test]
    fn blosc1_rule_copies_blocks_with_partial_groups() {
        let src: Vec<u8> = (0..4 * 12 + 3).map(|i| i as u8).collect();
        let mut out = vec![0u8; src.len()];
        bitshuffle_blosc1(4, &src, &mut out).unwrap();
        assert_eq!(out, src);
        bitunshuffle_blosc1(4, &src, &mut out).unwrap();
        assert_eq!(out, src);
        let src = &src[..4 * 8 + 3];
        let mut out = vec![0u8; src.len()];
        bitshuffle_blosc1(4, src, &mut out).unwrap();
        assert_eq!(out, naive(4, src));
    }

    #[test]
    fn rejects_bad_arguments() {
        assert!(bitshuffle(0, &[1, 2], &mut [0, 0]).is_err());
        assert!(bitshuffle(1, &[1, 2], &mut [0]).is_err());
        assert!(bitunshuffle(2, &[1, 2], &mut [0]).is_err());
    }
}
