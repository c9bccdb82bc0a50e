//! SSE2 kernels: the byte transpose network on 128-bit vectors (byte shuffle of typesizes 2, 4,
//! 8 and 16, tiled for other typesizes) and the bit shuffle through `movemask`.

#[cfg(target_arch = "x86")]
use std::arch::x86::*;
#[cfg(target_arch = "x86_64")]
use std::arch::x86_64::*;
use std::mem::MaybeUninit;

use super::{log2, tiled_groups, tiles, tiling, TILE, TILE_BUF};

/// One round of the transpose network on 128-bit vectors.
#[inline(always)]
pub(super) fn round_sse2<const N: usize>(v: &mut [__m128i; N]) {
    if N < 2 {
        return;
    }
    let h = N / 2;
    let mut out = *v;
    for i in 0..h {
        // SAFETY: SSE2 is enabled in every caller (target_feature functions).
        unsafe {
            out[2 * i] = _mm_unpacklo_epi8(v[i], v[i + h]);
            out[2 * i + 1] = _mm_unpackhi_epi8(v[i], v[i + h]);
        }
    }
    *v = out;
}

/// Loads 16 items of `N` bytes from `src[offset..offset + 16 * N]`.
///
/// # Safety
/// SSE2 must be available.
#[inline(always)]
pub(super) unsafe fn load_items_sse2<const N: usize>(src: &[u8], offset: usize) -> [__m128i; N] {
    let s = &src[offset..offset + 16 * N];
    // SAFETY: SSE2 is enabled in every caller.
    let zero = unsafe { _mm_setzero_si128() };
    // SAFETY: `s` holds 16 * N bytes, so each 16-byte unaligned load is in bounds.
    simd_array!(N, zero, |v| unsafe {
        _mm_loadu_si128(s.as_ptr().add(16 * v).cast())
    })
}

/// Shuffles the items of whole 16-item groups; returns how many items it did.
#[target_feature(enable = "sse2")]
pub(super) unsafe fn shuffle_sse2<const N: usize>(
    src: &[u8],
    dst: &mut [u8],
    nitems: usize,
) -> usize {
    let groups = nitems / 16;
    for g in 0..groups {
        // SAFETY: SSE2 is enabled here.
        let mut v = unsafe { load_items_sse2::<N>(src, 16 * N * g) };
        for _ in 0..4 {
            round_sse2(&mut v);
        }
        for (j, x) in v.iter().enumerate() {
            let d = &mut dst[j * nitems + 16 * g..][..16];
            // SAFETY: `d` holds 16 bytes.
            unsafe { _mm_storeu_si128(d.as_mut_ptr().cast(), *x) };
        }
    }
    groups * 16
}

/// Unshuffles the items of whole 16-item groups; returns how many items it did.
#[target_feature(enable = "sse2")]
pub(super) unsafe fn unshuffle_sse2<const N: usize>(
    src: &[u8],
    dst: &mut [MaybeUninit<u8>],
    nitems: usize,
) -> usize {
    let groups = nitems / 16;
    for g in 0..groups {
        let mut v: [__m128i; N] = simd_array!(N, _mm_setzero_si128(), |j| {
            let s = &src[j * nitems + 16 * g..][..16];
            // SAFETY: `s` holds 16 bytes.
            unsafe { _mm_loadu_si128(s.as_ptr().cast()) }
        });
        for _ in 0..log2(N) {
            round_sse2(&mut v);
        }
        let d = &mut dst[16 * N * g..][..16 * N];
        for (k, x) in v.iter().enumerate() {
            // SAFETY: `d` holds 16 * N bytes.
            unsafe { _mm_storeu_si128(d.as_mut_ptr().add(16 * k).cast(), *x) };
        }
    }
    groups * 16
}

/// Shuffles 16-item groups of items of any typesize, one 16-byte tile of every item at a
/// time (the typesize-16 network; only the tile's bytes that belong to the item are
/// stored); returns how many items it did.
#[target_feature(enable = "sse2")]
pub(super) unsafe fn shuffle_tiled_sse2(
    ts: usize,
    src: &[u8],
    dst: &mut [u8],
    nitems: usize,
) -> usize {
    let groups = tiled_groups(ts, src.len(), 16);
    let width = ts.min(16);
    for g in 0..groups {
        let items = &src[16 * ts * g..];
        for off in tiles(ts) {
            let mut v: [__m128i; 16] = simd_array!(16, _mm_setzero_si128(), |k| {
                let s = &items[k * ts + off..][..16];
                // SAFETY: `s` holds 16 bytes.
                unsafe { _mm_loadu_si128(s.as_ptr().cast()) }
            });
            for _ in 0..4 {
                round_sse2(&mut v);
            }
            for (b, x) in v.iter().enumerate().take(width) {
                let d = &mut dst[(off + b) * nitems + 16 * g..][..16];
                // SAFETY: `d` holds 16 bytes.
                unsafe { _mm_storeu_si128(d.as_mut_ptr().cast(), *x) };
            }
        }
    }
    groups * 16
}

/// Reverses [`shuffle_tiled_sse2`]. Items shorter than 16 bytes are stored as 16-byte tiles
/// in increasing order, so each one overwrites the spill of the previous one; the last spill
/// is rewritten by the caller's tail code.
#[target_feature(enable = "sse2")]
pub(super) unsafe fn unshuffle_tiled_sse2(
    ts: usize,
    src: &[u8],
    dst: &mut [MaybeUninit<u8>],
    nitems: usize,
) -> usize {
    let groups = tiled_groups(ts, src.len(), 16);
    let width = ts.min(16);
    for g in 0..groups {
        let items = &mut dst[16 * ts * g..];
        for off in tiles(ts) {
            let mut v: [__m128i; 16] = simd_array!(16, _mm_setzero_si128(), |b| {
                if b >= width {
                    _mm_setzero_si128()
                } else {
                    let s = &src[(off + b) * nitems + 16 * g..][..16];
                    // SAFETY: `s` holds 16 bytes.
                    unsafe { _mm_loadu_si128(s.as_ptr().cast()) }
                }
            });
            for _ in 0..4 {
                round_sse2(&mut v);
            }
            for (k, x) in v.iter().enumerate() {
                let d = &mut items[k * ts + off..][..16];
                // SAFETY: `d` holds 16 bytes.
                unsafe { _mm_storeu_si128(d.as_mut_ptr().cast(), *x) };
            }
        }
    }
    groups * 16
}

/// Writes the 8 bit rows of a plane vector of 16 items `16 * c..16 * c + 16`.
#[inline(always)]
pub(super) fn rows_sse2(mut p: __m128i, dst: &mut [u8], j: usize, rowlen: usize, c: usize) {
    for k in (0..8).rev() {
        // SAFETY: SSE2 is enabled in every caller.
        let mask = unsafe { _mm_movemask_epi8(p) } as u16;
        dst[(8 * j + k) * rowlen + 2 * c..][..2].copy_from_slice(&mask.to_le_bytes());
        // SAFETY: as above.
        p = unsafe { _mm_add_epi8(p, p) };
    }
}

#[target_feature(enable = "sse2")]
pub(super) unsafe fn bitshuffle_sse2<const N: usize>(
    src: &[u8],
    dst: &mut [u8],
    m: usize,
) -> usize {
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

/// Transposes the 8x8 bit matrix of each 64-bit lane (see `portable::transpose8`).
#[inline(always)]
pub(super) fn transpose8_sse2(mut x: __m128i) -> __m128i {
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
pub(super) fn row_u16(src: &[u8], row: usize, rowlen: usize, c: usize) -> i16 {
    i16::from_le_bytes(
        src[row * rowlen + 2 * c..][..2]
            .try_into()
            .expect("2 bytes"),
    )
}

/// Rebuilds the plane vectors of 16 items from the rows (`rows`, `rowlen` apart), at
/// 2-byte column `c`.
#[inline(always)]
pub(super) fn planes_sse2<const N: usize>(rows: &[u8], rowlen: usize, c: usize) -> [__m128i; N] {
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
pub(super) unsafe fn bitunshuffle_sse2<const N: usize>(
    src: &[u8],
    dst: &mut [u8],
    m: usize,
) -> usize {
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
