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
//! [`super::shuffle`], then `movemask` to gather bit planes; the inverse transposes 8x8 bit
//! matrices in 64-bit lanes) and AVX-512 kernels (the AVX-512 byte network, `gf2p8affineqb` for
//! the 8x8 bit transposes and a transpose of 64-bit lanes that yields whole 64-byte rows). Other
//! typesizes use the portable code, which transposes 8x8 bit matrices in a `u64`.

use super::shuffle::Isa;
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

/// [`bitshuffle`] with the kernels of `isa` (for tests and benchmarks).
///
/// # Panics
/// If `isa` is not available on this CPU.
pub fn bitshuffle_isa(isa: Isa, typesize: usize, src: &[u8], dst: &mut [u8]) -> Result<()> {
    check(typesize, src, dst)?;
    isa.check();
    let m = src.len() / typesize / 8 * 8;
    let done = match isa {
        Isa::Portable => 0,
        #[cfg(any(target_arch = "x86", target_arch = "x86_64"))]
        Isa::Sse2 | Isa::Avx2 | Isa::Avx512 => x86::bitshuffle(isa, typesize, src, dst, m),
        #[cfg(not(any(target_arch = "x86", target_arch = "x86_64")))]
        _ => 0,
    };
    shuffle_groups(typesize, src, dst, m, done / 8);
    let body = m * typesize;
    dst[body..].copy_from_slice(&src[body..]);
    Ok(())
}

/// [`bitunshuffle`] with the kernels of `isa` (for tests and benchmarks).
///
/// # Panics
/// If `isa` is not available on this CPU.
pub fn bitunshuffle_isa(isa: Isa, typesize: usize, src: &[u8], dst: &mut [u8]) -> Result<()> {
    check(typesize, src, dst)?;
    isa.check();
    let m = src.len() / typesize / 8 * 8;
    let done = match isa {
        Isa::Portable => 0,
        #[cfg(any(target_arch = "x86", target_arch = "x86_64"))]
        Isa::Sse2 | Isa::Avx2 | Isa::Avx512 => x86::bitunshuffle(isa, typesize, src, dst, m),
        #[cfg(not(any(target_arch = "x86", target_arch = "x86_64")))]
        _ => 0,
    };
    unshuffle_groups(typesize, src, dst, m, done / 8);
    let body = m * typesize;
    dst[body..].copy_from_slice(&src[body..]);
    Ok(())
}

/// The portable reference implementation of [`bitshuffle`].
pub fn bitshuffle_portable(typesize: usize, src: &[u8], dst: &mut [u8]) -> Result<()> {
    bitshuffle_isa(Isa::Portable, typesize, src, dst)
}

/// The portable reference implementation of [`bitunshuffle`].
pub fn bitunshuffle_portable(typesize: usize, src: &[u8], dst: &mut [u8]) -> Result<()> {
    bitunshuffle_isa(Isa::Portable, typesize, src, dst)
}

fn check(typesize: usize, src: &[u8], dst: &[u8]) -> Result<()> {
    if typesize == 0 {
        return Err(Error::invalid("bitshuffle: typesize must be at least 1"));
    }
    if src.len() != dst.len() {
        return Err(Error::invalid(format!(
            "bitshuffle: source ({} bytes) and destination ({} bytes) differ in length",
            src.len(),
            dst.len()
        )));
    }
    Ok(())
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
fn shuffle_groups(typesize: usize, src: &[u8], dst: &mut [u8], m: usize, first_group: usize) {
    let rowlen = m / 8;
    let nrows = 8 * typesize;
    let mut g = first_group;
    if rowlen - g >= GROUPS_PER_TILE {
        let mut buf = vec![0u8; nrows * GROUPS_PER_TILE];
        while rowlen - g >= GROUPS_PER_TILE {
            for t in 0..GROUPS_PER_TILE {
                shuffle_group(typesize, src, &mut buf, GROUPS_PER_TILE, g + t, t);
            }
            for r in 0..nrows {
                dst[r * rowlen + g..][..GROUPS_PER_TILE]
                    .copy_from_slice(&buf[r * GROUPS_PER_TILE..][..GROUPS_PER_TILE]);
            }
            g += GROUPS_PER_TILE;
        }
    }
    for g in g..rowlen {
        shuffle_group(typesize, src, dst, rowlen, g, g);
    }
}

/// Bit-shuffles group `g` of `src` into column `col` of rows `rowlen` bytes long.
#[inline(always)]
fn shuffle_group(
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

/// Reverses [`shuffle_groups`].
fn unshuffle_groups(typesize: usize, src: &[u8], dst: &mut [u8], m: usize, first_group: usize) {
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
                unshuffle_group(typesize, &buf, dst, GROUPS_PER_TILE, t, g + t);
            }
            g += GROUPS_PER_TILE;
        }
    }
    for g in g..rowlen {
        unshuffle_group(typesize, src, dst, rowlen, g, g);
    }
}

/// Reverses [`shuffle_group`]: column `col` of the rows into group `g` of `dst`.
#[inline(always)]
fn unshuffle_group(
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

/// SSE2, AVX2 and AVX-512 kernels.
#[cfg(any(target_arch = "x86", target_arch = "x86_64"))]
mod x86 {
    use super::super::shuffle::as_uninit;
    use super::super::shuffle::x86::{
        load_avx512, load_items_avx2, load_items_sse2, load_planes_avx512, log2,
        planes_to_items_avx512, round_avx2, round_sse2, store_items_avx2, transpose_avx512,
    };
    use super::Isa;
    #[cfg(target_arch = "x86")]
    use std::arch::x86::*;
    #[cfg(target_arch = "x86_64")]
    use std::arch::x86_64::*;

    /// The level whose kernel runs `typesize` at level `isa`: AVX-512 only where it is faster
    /// than AVX2 (see the README's "Blosc kernels" benchmarks).
    fn level(isa: Isa, typesize: usize) -> Isa {
        match (isa, typesize) {
            (Isa::Avx512, 1 | 2 | 4 | 8 | 16) => Isa::Avx512,
            (Isa::Avx512, _) => Isa::Avx2,
            _ => isa,
        }
    }

    /// Bit-shuffles whole vector groups of items; returns how many of the `m` items it did.
    pub(super) fn bitshuffle(
        isa: Isa,
        typesize: usize,
        src: &[u8],
        dst: &mut [u8],
        m: usize,
    ) -> usize {
        // SAFETY (all arms): the caller checked that the CPU has the ISA (AVX-512 includes
        // AVX2); the kernels bounds-check every access.
        match (level(isa, typesize), typesize) {
            // SAFETY: see above.
            (Isa::Avx512, 1) => unsafe { shuffle_avx512::<1>(src, dst, m) },
            // SAFETY: see above.
            (Isa::Avx512, 2) => unsafe { shuffle_avx512::<2>(src, dst, m) },
            // SAFETY: see above.
            (Isa::Avx512, 4) => unsafe { shuffle_avx512::<4>(src, dst, m) },
            // SAFETY: see above.
            (Isa::Avx512, 8) => unsafe { shuffle_avx512::<8>(src, dst, m) },
            // SAFETY: see above.
            (Isa::Avx512, 16) => unsafe { shuffle_avx512::<16>(src, dst, m) },
            // SAFETY: see above.
            (Isa::Avx2, 1) => unsafe { shuffle_avx2::<1>(src, dst, m) },
            // SAFETY: see above.
            (Isa::Avx2, 2) => unsafe { shuffle_avx2::<2>(src, dst, m) },
            // SAFETY: see above.
            (Isa::Avx2, 4) => unsafe { shuffle_avx2::<4>(src, dst, m) },
            // SAFETY: see above.
            (Isa::Avx2, 8) => unsafe { shuffle_avx2::<8>(src, dst, m) },
            // SAFETY: see above.
            (Isa::Avx2, 16) => unsafe { shuffle_avx2::<16>(src, dst, m) },
            // SAFETY: see above.
            (Isa::Sse2, 1) => unsafe { shuffle_sse2::<1>(src, dst, m) },
            // SAFETY: see above.
            (Isa::Sse2, 2) => unsafe { shuffle_sse2::<2>(src, dst, m) },
            // SAFETY: see above.
            (Isa::Sse2, 4) => unsafe { shuffle_sse2::<4>(src, dst, m) },
            // SAFETY: see above.
            (Isa::Sse2, 8) => unsafe { shuffle_sse2::<8>(src, dst, m) },
            // SAFETY: see above.
            (Isa::Sse2, 16) => unsafe { shuffle_sse2::<16>(src, dst, m) },
            _ => 0,
        }
    }

    /// Bit-unshuffles whole vector groups of items; returns how many of the `m` items it did.
    pub(super) fn bitunshuffle(
        isa: Isa,
        typesize: usize,
        src: &[u8],
        dst: &mut [u8],
        m: usize,
    ) -> usize {
        match (level(isa, typesize), typesize) {
            // SAFETY: the caller checked that the CPU has the ISA (AVX-512 includes AVX2); the
            // kernels bounds-check.
            (Isa::Avx512, 1) => unsafe { unshuffle_avx512::<1>(src, dst, m) },
            // SAFETY: see above.
            (Isa::Avx512, 2) => unsafe { unshuffle_avx512::<2>(src, dst, m) },
            // SAFETY: see above.
            (Isa::Avx512, 4) => unsafe { unshuffle_avx512::<4>(src, dst, m) },
            // SAFETY: see above.
            (Isa::Avx512, 8) => unsafe { unshuffle_avx512::<8>(src, dst, m) },
            // SAFETY: see above.
            (Isa::Avx512, 16) => unsafe { unshuffle_avx512::<16>(src, dst, m) },
            // SAFETY: see above.
            (Isa::Avx2, 1) => unsafe { unshuffle_avx2::<1>(src, dst, m) },
            // SAFETY: see above.
            (Isa::Avx2, 2) => unsafe { unshuffle_avx2::<2>(src, dst, m) },
            // SAFETY: see above.
            (Isa::Avx2, 4) => unsafe { unshuffle_avx2::<4>(src, dst, m) },
            // SAFETY: see above.
            (Isa::Avx2, 8) => unsafe { unshuffle_avx2::<8>(src, dst, m) },
            // SAFETY: see above.
            (Isa::Avx2, 16) => unsafe { unshuffle_avx2::<16>(src, dst, m) },
            // SAFETY: see above.
            (Isa::Sse2, 1) => unsafe { unshuffle_sse2::<1>(src, dst, m) },
            // SAFETY: see above.
            (Isa::Sse2, 2) => unsafe { unshuffle_sse2::<2>(src, dst, m) },
            // SAFETY: see above.
            (Isa::Sse2, 4) => unsafe { unshuffle_sse2::<4>(src, dst, m) },
            // SAFETY: see above.
            (Isa::Sse2, 8) => unsafe { unshuffle_sse2::<8>(src, dst, m) },
            // SAFETY: see above.
            (Isa::Sse2, 16) => unsafe { unshuffle_sse2::<16>(src, dst, m) },
            _ => 0,
        }
    }

    /// Writes the 8 bit rows of a plane vector of 16 items `16 * c..16 * c + 16`.
    #[inline(always)]
    fn rows_sse2(mut p: __m128i, dst: &mut [u8], j: usize, rowlen: usize, c: usize) {
        for k in (0..8).rev() {
            // SAFETY: SSE2 is enabled in every caller.
            let mask = unsafe { _mm_movemask_epi8(p) } as u16;
            dst[(8 * j + k) * rowlen + 2 * c..][..2].copy_from_slice(&mask.to_le_bytes());
            // SAFETY: as above.
            p = unsafe { _mm_add_epi8(p, p) };
        }
    }

    /// Items per tile: the bit rows of 8 * typesize streams are gathered 64 bytes at a time in
    /// a stack buffer, so that the scattered rows are written (or read) a whole cache line at
    /// once instead of 2 or 4 bytes at a time (the rows are often a multiple of 4 KiB apart and
    /// would evict one another from L1).
    const TILE: usize = 512;
    /// Bytes of a tile buffer: 8 rows per item byte, up to 16 bytes per item, 64 bytes a row.
    const TILE_BUF: usize = 8 * 16 * 64;

    /// How many whole tiles `m` items make.
    #[inline(always)]
    fn tiling(m: usize) -> usize {
        m / TILE
    }

    #[target_feature(enable = "sse2")]
    unsafe fn shuffle_sse2<const N: usize>(src: &[u8], dst: &mut [u8], m: usize) -> usize {
        let rowlen = m / 8;
        let chunks = m / 16;
        let mut buf = [0u8; TILE_BUF];
        let per_tile = TILE / 16;
        for t in 0..tiling(m) {
            for c in 0..per_tile {
                // SAFETY: SSE2 is enabled here.
                let mut v = unsafe { load_items_sse2::<N>(src, 16 * N * (t * per_tile + c)) };
                for _ in 0..4 {
                    round_sse2(&mut v);
                }
                for (j, p) in v.into_iter().enumerate() {
                    rows_sse2(p, &mut buf, j, 64, c);
                }
            }
            for r in 0..8 * N {
                dst[r * rowlen + 64 * t..][..64].copy_from_slice(&buf[64 * r..][..64]);
            }
        }
        for c in tiling(m) * per_tile..chunks {
            // SAFETY: SSE2 is enabled here.
            let mut v = unsafe { load_items_sse2::<N>(src, 16 * N * c) };
            for _ in 0..4 {
                round_sse2(&mut v);
            }
            for (j, p) in v.into_iter().enumerate() {
                rows_sse2(p, dst, j, rowlen, c);
            }
        }
        chunks * 16
    }

    /// Writes the 8 bit rows of a plane vector of 32 items `32 * c..32 * c + 32`.
    #[inline(always)]
    fn rows_avx2(mut p: __m256i, dst: &mut [u8], j: usize, rowlen: usize, c: usize) {
        for k in (0..8).rev() {
            // SAFETY: AVX2 is enabled in every caller.
            let mask = unsafe { _mm256_movemask_epi8(p) } as u32;
            dst[(8 * j + k) * rowlen + 4 * c..][..4].copy_from_slice(&mask.to_le_bytes());
            // SAFETY: as above.
            p = unsafe { _mm256_add_epi8(p, p) };
        }
    }

    #[target_feature(enable = "avx2")]
    unsafe fn shuffle_avx2<const N: usize>(src: &[u8], dst: &mut [u8], m: usize) -> usize {
        let rowlen = m / 8;
        let mut buf = [0u8; TILE_BUF];
        let per_tile = TILE / 32;
        for t in 0..tiling(m) {
            for c in 0..per_tile {
                // SAFETY: AVX2 is enabled here.
                let mut v = unsafe { load_items_avx2::<N>(src, 32 * N * (t * per_tile + c)) };
                for _ in 0..4 {
                    round_avx2(&mut v);
                }
                for (j, p) in v.into_iter().enumerate() {
                    rows_avx2(p, &mut buf, j, 64, c);
                }
            }
            for r in 0..8 * N {
                dst[r * rowlen + 64 * t..][..64].copy_from_slice(&buf[64 * r..][..64]);
            }
        }
        // SAFETY: AVX2 is enabled here.
        unsafe { shuffle_tail_avx2::<N>(src, dst, m) }
    }

    /// Bit-shuffles the 32-item groups after the whole tiles of 512 items; returns how many of
    /// the `m` items all kernels together did.
    #[target_feature(enable = "avx2")]
    unsafe fn shuffle_tail_avx2<const N: usize>(src: &[u8], dst: &mut [u8], m: usize) -> usize {
        let rowlen = m / 8;
        let chunks = m / 32;
        for c in tiling(m) * (TILE / 32)..chunks {
            // SAFETY: AVX2 is enabled here.
            let mut v = unsafe { load_items_avx2::<N>(src, 32 * N * c) };
            for _ in 0..4 {
                round_avx2(&mut v);
            }
            for (j, p) in v.into_iter().enumerate() {
                rows_avx2(p, dst, j, rowlen, c);
            }
        }
        chunks * 32
    }

    /// Transposes the 8x8 bit matrix of each 64-bit lane (see `super::transpose8`).
    #[inline(always)]
    fn transpose8_sse2(mut x: __m128i) -> __m128i {
        // SAFETY: SSE2 is enabled in every caller.
        unsafe {
            let m1 = _mm_set1_epi64x(0x00AA_00AA_00AA_00AA);
            let m2 = _mm_set1_epi64x(0x0000_CCCC_0000_CCCC);
            let m3 = _mm_set1_epi64x(0x0000_0000_F0F0_F0F0);
            let t = _mm_and_si128(_mm_xor_si128(x, _mm_srli_epi64::<7>(x)), m1);
            x = _mm_xor_si128(x, _mm_xor_si128(t, _mm_slli_epi64::<7>(t)));
            let t = _mm_and_si128(_mm_xor_si128(x, _mm_srli_epi64::<14>(x)), m2);
            x = _mm_xor_si128(x, _mm_xor_si128(t, _mm_slli_epi64::<14>(t)));
            let t = _mm_and_si128(_mm_xor_si128(x, _mm_srli_epi64::<28>(x)), m3);
            _mm_xor_si128(x, _mm_xor_si128(t, _mm_slli_epi64::<28>(t)))
        }
    }

    #[inline(always)]
    fn transpose8_avx2(mut x: __m256i) -> __m256i {
        // SAFETY: AVX2 is enabled in every caller.
        unsafe {
            let m1 = _mm256_set1_epi64x(0x00AA_00AA_00AA_00AA);
            let m2 = _mm256_set1_epi64x(0x0000_CCCC_0000_CCCC);
            let m3 = _mm256_set1_epi64x(0x0000_0000_F0F0_F0F0);
            let t = _mm256_and_si256(_mm256_xor_si256(x, _mm256_srli_epi64::<7>(x)), m1);
            x = _mm256_xor_si256(x, _mm256_xor_si256(t, _mm256_slli_epi64::<7>(t)));
            let t = _mm256_and_si256(_mm256_xor_si256(x, _mm256_srli_epi64::<14>(x)), m2);
            x = _mm256_xor_si256(x, _mm256_xor_si256(t, _mm256_slli_epi64::<14>(t)));
            let t = _mm256_and_si256(_mm256_xor_si256(x, _mm256_srli_epi64::<28>(x)), m3);
            _mm256_xor_si256(x, _mm256_xor_si256(t, _mm256_slli_epi64::<28>(t)))
        }
    }

    #[inline(always)]
    fn row_u16(src: &[u8], row: usize, rowlen: usize, c: usize) -> i16 {
        i16::from_le_bytes(
            src[row * rowlen + 2 * c..][..2]
                .try_into()
                .expect("2 bytes"),
        )
    }

    #[inline(always)]
    fn row_u32(src: &[u8], row: usize, rowlen: usize, c: usize) -> i32 {
        i32::from_le_bytes(
            src[row * rowlen + 4 * c..][..4]
                .try_into()
                .expect("4 bytes"),
        )
    }

    /// Rebuilds the plane vectors of 16 items from the rows (`rows`, `rowlen` apart), at
    /// 2-byte column `c`.
    #[inline(always)]
    fn planes_sse2<const N: usize>(rows: &[u8], rowlen: usize, c: usize) -> [__m128i; N] {
        // SAFETY: SSE2 is enabled in every caller.
        let low = unsafe { _mm_set1_epi16(0xFF) };
        // SAFETY: as above.
        let zero = unsafe { _mm_setzero_si128() };
        simd_array!(N, zero, |j| {
            let r = |k: usize| row_u16(rows, 8 * j + k, rowlen, c);
            // SAFETY: as above.
            unsafe {
                let x = _mm_setr_epi16(r(0), r(1), r(2), r(3), r(4), r(5), r(6), r(7));
                // Even bytes (items 0..8 of each row) to lane 0, odd bytes to lane 1.
                let x = _mm_packus_epi16(_mm_and_si128(x, low), _mm_srli_epi16::<8>(x));
                transpose8_sse2(x)
            }
        })
    }

    #[target_feature(enable = "sse2")]
    unsafe fn unshuffle_sse2<const N: usize>(src: &[u8], dst: &mut [u8], m: usize) -> usize {
        let rowlen = m / 8;
        let chunks = m / 16;
        let mut buf = [0u8; TILE_BUF];
        let per_tile = TILE / 16;
        let store = |v: &[__m128i; N], c: usize, dst: &mut [u8]| {
            let d = &mut dst[16 * N * c..][..16 * N];
            for (k, x) in v.iter().enumerate() {
                // SAFETY: `d` holds 16 * N bytes.
                unsafe { _mm_storeu_si128(d.as_mut_ptr().add(16 * k).cast(), *x) };
            }
        };
        for t in 0..tiling(m) {
            for r in 0..8 * N {
                buf[64 * r..][..64].copy_from_slice(&src[r * rowlen + 64 * t..][..64]);
            }
            for c in 0..per_tile {
                let mut v = planes_sse2::<N>(&buf, 64, c);
                for _ in 0..log2(N) {
                    round_sse2(&mut v);
                }
                store(&v, t * per_tile + c, dst);
            }
        }
        for c in tiling(m) * per_tile..chunks {
            let mut v = planes_sse2::<N>(src, rowlen, c);
            for _ in 0..log2(N) {
                round_sse2(&mut v);
            }
            store(&v, c, dst);
        }
        chunks * 16
    }

    /// Rebuilds the plane vectors of 32 items from the rows (`rows`, `rowlen` apart), at
    /// 4-byte column `c`. (A target-feature function, so that the closure inherits AVX2 and
    /// its intrinsics are inlined.)
    ///
    /// # Safety
    /// AVX2 must be available.
    #[target_feature(enable = "avx2")]
    #[inline]
    unsafe fn planes_avx2<const N: usize>(rows: &[u8], rowlen: usize, c: usize) -> [__m256i; N] {
        {
            // Per 128-bit lane: a 4x4 byte transpose (4 rows of 4 bytes to 4 columns).
            let bytes = _mm256_setr_epi8(
                0, 4, 8, 12, 1, 5, 9, 13, 2, 6, 10, 14, 3, 7, 11, 15, 0, 4, 8, 12, 1, 5, 9, 13, 2,
                6, 10, 14, 3, 7, 11, 15,
            );
            // Column g of rows 0..4 next to column g of rows 4..8: a 64-bit lane per 8 items.
            let words = _mm256_setr_epi32(0, 4, 1, 5, 2, 6, 3, 7);
            simd_array!(N, _mm256_setzero_si256(), |j| {
                let r = |k: usize| row_u32(rows, 8 * j + k, rowlen, c);
                let x = _mm256_setr_epi32(r(0), r(1), r(2), r(3), r(4), r(5), r(6), r(7));
                let x = _mm256_shuffle_epi8(x, bytes);
                let x = _mm256_permutevar8x32_epi32(x, words);
                transpose8_avx2(x)
            })
        }
    }

    /// Bit-unshuffles the whole tiles of 512 items (64 bytes of each of the `8 * N` rows, one
    /// cache line per row). Per item byte `j` and 256 items: the 8 rows' 32-byte vectors are
    /// byte-transposed (3 unpack rounds) so that each 64-bit lane holds the 8 bit rows of 8
    /// items, an 8x8 bit transpose turns that into byte `j` of those 8 items, and the byte
    /// transpose network of [`super::super::shuffle`] interleaves the `N` bytes of each item.
    #[target_feature(enable = "avx2")]
    unsafe fn unshuffle_tiles_avx2<const N: usize>(src: &[u8], dst: &mut [u8], m: usize) {
        let rowlen = m / 8;
        let tiles = tiling(m);
        assert!(src.len() >= 8 * N * rowlen && dst.len() >= N * m);
        let sp = src.as_ptr();
        let dp = dst.as_mut_ptr();
        let mut x = [[_mm256_setzero_si256(); 8]; N];
        for t in 0..tiles {
            for half in 0..2 {
                // Byte column of every row: items `8 * col .. 8 * col + 256`.
                let col = 64 * t + 32 * half;
                for (j, xj) in x.iter_mut().enumerate() {
                    // SAFETY: row `8 * j + k` ends at `(8 * j + k + 1) * rowlen <= 8 * N * rowlen`
                    // (asserted) and `col + 32 <= 64 * tiles <= rowlen`.
                    let r: [__m256i; 8] = simd_array!(8, _mm256_setzero_si256(), |k| unsafe {
                        _mm256_loadu_si256(sp.add((8 * j + k) * rowlen + col).cast())
                    });
                    let a = _mm256_unpacklo_epi8(r[0], r[1]);
                    let b = _mm256_unpackhi_epi8(r[0], r[1]);
                    let c = _mm256_unpacklo_epi8(r[2], r[3]);
                    let d = _mm256_unpackhi_epi8(r[2], r[3]);
                    let e = _mm256_unpacklo_epi8(r[4], r[5]);
                    let f = _mm256_unpackhi_epi8(r[4], r[5]);
                    let g = _mm256_unpacklo_epi8(r[6], r[7]);
                    let h = _mm256_unpackhi_epi8(r[6], r[7]);
                    let ac0 = _mm256_unpacklo_epi16(a, c);
                    let ac1 = _mm256_unpackhi_epi16(a, c);
                    let bd0 = _mm256_unpacklo_epi16(b, d);
                    let bd1 = _mm256_unpackhi_epi16(b, d);
                    let eg0 = _mm256_unpacklo_epi16(e, g);
                    let eg1 = _mm256_unpackhi_epi16(e, g);
                    let fh0 = _mm256_unpacklo_epi16(f, h);
                    let fh1 = _mm256_unpackhi_epi16(f, h);
                    // xj[q]: lane 0 = items 16q..16q+16, lane 1 = items 128+16q.. of the column.
                    let y = [
                        _mm256_unpacklo_epi32(ac0, eg0),
                        _mm256_unpackhi_epi32(ac0, eg0),
                        _mm256_unpacklo_epi32(ac1, eg1),
                        _mm256_unpackhi_epi32(ac1, eg1),
                        _mm256_unpacklo_epi32(bd0, fh0),
                        _mm256_unpackhi_epi32(bd0, fh0),
                        _mm256_unpacklo_epi32(bd1, fh1),
                        _mm256_unpackhi_epi32(bd1, fh1),
                    ];
                    for (xq, yq) in xj.iter_mut().zip(y) {
                        *xq = transpose8_avx2(yq);
                    }
                }
                // `q` picks the same column of every `x[j]`; an iterator would not read better.
                #[allow(clippy::needless_range_loop)]
                for q in 0..8 {
                    let mut v: [__m256i; N] = simd_array!(N, _mm256_setzero_si256(), |j| x[j][q]);
                    for _ in 0..log2(N) {
                        round_avx2(&mut v);
                    }
                    let lo = (8 * col + 16 * q) * N;
                    let hi = (8 * col + 128 + 16 * q) * N;
                    for (k, y) in v.iter().enumerate() {
                        // SAFETY: the last byte written is below `(8 * col + 256) * N <= m * N`
                        // (`col + 32 <= 64 * tiles` and `512 * tiles <= m`), within `dst`.
                        unsafe {
                            _mm_storeu_si128(
                                dp.add(lo + 16 * k).cast(),
                                _mm256_castsi256_si128(*y),
                            );
                            _mm_storeu_si128(
                                dp.add(hi + 16 * k).cast(),
                                _mm256_extracti128_si256::<1>(*y),
                            );
                        }
                    }
                }
            }
        }
    }

    #[target_feature(enable = "avx2")]
    unsafe fn unshuffle_avx2<const N: usize>(src: &[u8], dst: &mut [u8], m: usize) -> usize {
        // SAFETY: AVX2 is enabled here.
        unsafe { unshuffle_tiles_avx2::<N>(src, dst, m) };
        // SAFETY: AVX2 is enabled here.
        unsafe { unshuffle_tail_avx2::<N>(src, dst, m) }
    }

    /// Bit-unshuffles the 32-item groups after the whole tiles of 512 items; returns how many
    /// of the `m` items all kernels together did.
    #[target_feature(enable = "avx2")]
    unsafe fn unshuffle_tail_avx2<const N: usize>(src: &[u8], dst: &mut [u8], m: usize) -> usize {
        let rowlen = m / 8;
        let chunks = m / 32;
        for c in tiling(m) * (TILE / 32)..chunks {
            // SAFETY: AVX2 is enabled here.
            let mut v = unsafe { planes_avx2::<N>(src, rowlen, c) };
            for _ in 0..log2(N) {
                round_avx2(&mut v);
            }
            // SAFETY: AVX2 is enabled here; the store writes only initialised bytes.
            unsafe { store_items_avx2::<N>(&v, as_uninit(dst), 32 * N * c) };
        }
        chunks * 32
    }

    /// The GF(2) matrix of [`transpose8_gfni`] and of the bit reversal: byte `b` is `1 << b`.
    const GFNI_DIAGONAL: i64 = 0x8040_2010_0804_0201_u64 as i64;

    /// Transposes the 8x8 bit matrix of each 64-bit lane with the bytes taken in reverse order:
    /// byte `b` of the result holds bit `b` of the 8 bytes of `x`, byte `7 - i` of `x` at bit `i`
    /// (`gf2p8affineqb` with `x` as the matrix).
    ///
    /// # Safety
    /// AVX-512F and GFNI must be available.
    #[inline(always)]
    unsafe fn transpose8_gfni(x: __m512i) -> __m512i {
        // SAFETY: the features are enabled in every caller.
        unsafe { _mm512_gf2p8affine_epi64_epi8::<0>(_mm512_set1_epi64(GFNI_DIAGONAL), x) }
    }

    /// The `vpermb` index that transposes the 8x8 bytes of the vector: byte `b` of
    /// qword `q` goes to byte `q` of qword `b`.
    const fn byte_transpose_index(reverse: bool) -> [u8; 64] {
        let mut idx = [0u8; 64];
        let mut p = 0;
        while p < 64 {
            let (q, b) = (p / 8, p % 8);
            // Output byte `b` of qword `q` comes from byte `q` of qword `b` (or of qword `7 - b`).
            idx[p] = (8 * if reverse { 7 - b } else { b } + q) as u8;
            p += 1;
        }
        idx
    }

    /// Bit-shuffles whole tiles of 512 items, then hands the rest to AVX2; returns how many of
    /// the `m` items it did. Per 64 items the byte planes come from [`load_planes_avx512`];
    /// per plane vector (8 items a 64-bit lane, in reverse order so that `gf2p8affineqb` puts
    /// them back in order; for typesize 16, whose network moves 32-bit chunks, a second
    /// `gf2p8affineqb` reverses the bits instead) `gf2p8affineqb` transposes the 8x8 bit
    /// matrices, `vpermb` groups the bytes of each bit row into one 64-bit lane, and an 8x8
    /// transpose of 64-bit lanes across the tile's 8 plane vectors gives whole 64-byte rows.
    #[target_feature(enable = "avx512f,avx512bw,avx512vbmi,gfni,avx2")]
    unsafe fn shuffle_avx512<const N: usize>(src: &[u8], dst: &mut [u8], m: usize) -> usize {
        let rowlen = m / 8;
        let tiles = tiling(m);
        assert!(src.len() >= N * m && dst.len() >= N * m);
        let diag = _mm512_set1_epi64(GFNI_DIAGONAL);
        // SAFETY: the index is 64 bytes.
        let bytes =
            unsafe { _mm512_loadu_si512(const { byte_transpose_index(false) }.as_ptr().cast()) };
        let mut x = [[_mm512_setzero_si512(); 8]; N];
        for t in 0..tiles {
            for c in 0..8 {
                let offset = N * (TILE * t + 64 * c);
                if N <= 8 {
                    // Runs of 8 items in reverse order, as `transpose8_gfni` wants them.
                    // SAFETY: the features are enabled here.
                    let p = unsafe { load_planes_avx512::<N, true>(src, offset) };
                    for (xj, pj) in x.iter_mut().zip(p) {
                        // SAFETY: as above.
                        let y = unsafe { transpose8_gfni(pj) };
                        xj[c] = _mm512_permutexvar_epi8(bytes, y);
                    }
                } else {
                    // SAFETY: the features are enabled here.
                    let p = unsafe { load_planes_avx512::<N, false>(src, offset) };
                    for (xj, pj) in x.iter_mut().zip(p) {
                        // SAFETY: as above.
                        let y = unsafe { transpose8_gfni(pj) };
                        // Reverses the bits of each byte: the items back in order.
                        let y = _mm512_gf2p8affine_epi64_epi8::<0>(y, diag);
                        xj[c] = _mm512_permutexvar_epi8(bytes, y);
                    }
                }
            }
            for (j, xj) in x.iter_mut().enumerate() {
                // SAFETY: the features are enabled here.
                unsafe { transpose_avx512(xj) };
                for (k, r) in xj.iter().enumerate() {
                    let d = &mut dst[(8 * j + k) * rowlen + 64 * t..][..64];
                    // SAFETY: `d` holds 64 bytes.
                    unsafe { _mm512_storeu_si512(d.as_mut_ptr().cast(), *r) };
                }
            }
        }
        // SAFETY: AVX2 is enabled here.
        unsafe { shuffle_tail_avx2::<N>(src, dst, m) }
    }

    /// Reverses [`shuffle_avx512`]: per item byte, the 64-byte pieces of its 8 bit rows are
    /// transposed in 64-bit lanes, `vpermb` gathers column `q` of the 8 rows into one 64-bit
    /// lane (rows in reverse order) and `gf2p8affineqb` turns it into byte `j` of 8 items; the
    /// byte planes are then interleaved by [`planes_to_items_avx512`].
    #[target_feature(enable = "avx512f,avx512bw,avx512vbmi,gfni,avx2")]
    unsafe fn unshuffle_avx512<const N: usize>(src: &[u8], dst: &mut [u8], m: usize) -> usize {
        let rowlen = m / 8;
        let tiles = tiling(m);
        assert!(src.len() >= N * m && dst.len() >= N * m);
        // SAFETY: the index is 64 bytes.
        let bytes =
            unsafe { _mm512_loadu_si512(const { byte_transpose_index(true) }.as_ptr().cast()) };
        let mut x = [[_mm512_setzero_si512(); N]; 8];
        for t in 0..tiles {
            for j in 0..N {
                // SAFETY: the features are enabled here; each row holds `64 * t + 64` bytes.
                let mut r: [__m512i; 8] = simd_array!(8, _mm512_setzero_si512(), |k| unsafe {
                    load_avx512(&src[(8 * j + k) * rowlen + 64 * t..])
                });
                // SAFETY: as above.
                unsafe { transpose_avx512(&mut r) };
                for (xc, rc) in x.iter_mut().zip(r) {
                    // SAFETY: as above.
                    xc[j] = unsafe { transpose8_gfni(_mm512_permutexvar_epi8(bytes, rc)) };
                }
            }
            for (c, xc) in x.iter_mut().enumerate() {
                // SAFETY: the features are enabled here.
                unsafe { planes_to_items_avx512(xc) };
                let d = &mut dst[N * (TILE * t + 64 * c)..][..64 * N];
                for (k, v) in xc.iter().enumerate() {
                    // SAFETY: `d` holds 64 * N bytes.
                    unsafe { _mm512_storeu_si512(d.as_mut_ptr().add(64 * k).cast(), *v) };
                }
            }
        }
        // SAFETY: AVX2 is enabled here.
        unsafe { unshuffle_tail_avx2::<N>(src, dst, m) }
    }
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
