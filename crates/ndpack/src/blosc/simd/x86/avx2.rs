//! AVX2 kernels: the byte transpose network on each 128-bit lane of 256-bit vectors (byte
//! shuffle, the fused unshuffle of separate planes, tiled kernels for other typesizes) and the
//! bit shuffle through `movemask` and 8x8 bit transposes in 64-bit lanes.

#[cfg(target_arch = "x86")]
use std::arch::x86::*;
#[cfg(target_arch = "x86_64")]
use std::arch::x86_64::*;
use std::mem::MaybeUninit;

use super::super::as_uninit;
use super::{log2, tiled_groups, tiles, tiling, TILE, TILE_BUF};

/// One round of the transpose network on each 128-bit lane of 256-bit vectors.
#[inline(always)]
pub(super) fn round_avx2<const N: usize>(v: &mut [__m256i; N]) {
    if N < 2 {
        return;
    }
    let h = N / 2;
    let mut out = *v;
    for i in 0..h {
        // SAFETY: AVX2 is enabled in every caller (target_feature functions).
        unsafe {
            out[2 * i] = _mm256_unpacklo_epi8(v[i], v[i + h]);
            out[2 * i + 1] = _mm256_unpackhi_epi8(v[i], v[i + h]);
        }
    }
    *v = out;
}

/// Loads 32 items of `N` bytes from `src[offset..offset + 32 * N]`, the first 16 items
/// in the low lanes and the next 16 in the high lanes.
///
/// # Safety
/// AVX2 must be available.
#[inline(always)]
pub(super) unsafe fn load_items_avx2<const N: usize>(src: &[u8], offset: usize) -> [__m256i; N] {
    let s = &src[offset..offset + 32 * N];
    // SAFETY: AVX2 is enabled in every caller.
    let zero = unsafe { _mm256_setzero_si256() };
    // SAFETY: `s` holds 32 * N bytes; both 16-byte loads end within it.
    simd_array!(N, zero, |v| unsafe {
        let lo = _mm_loadu_si128(s.as_ptr().add(16 * v).cast());
        let hi = _mm_loadu_si128(s.as_ptr().add(16 * (N + v)).cast());
        _mm256_inserti128_si256::<1>(_mm256_castsi128_si256(lo), hi)
    })
}

/// Stores the 32 items of `N` bytes of [`load_items_avx2`]'s layout.
///
/// # Safety
/// AVX2 must be available.
#[inline(always)]
pub(super) unsafe fn store_items_avx2<const N: usize>(
    v: &[__m256i; N],
    dst: &mut [MaybeUninit<u8>],
    offset: usize,
) {
    let d = &mut dst[offset..offset + 32 * N];
    for (k, x) in v.iter().enumerate() {
        // SAFETY: `d` holds 32 * N bytes; both 16-byte stores end within it.
        unsafe {
            _mm_storeu_si128(
                d.as_mut_ptr().add(16 * k).cast(),
                _mm256_castsi256_si128(*x),
            );
            _mm_storeu_si128(
                d.as_mut_ptr().add(16 * (N + k)).cast(),
                _mm256_extracti128_si256::<1>(*x),
            );
        }
    }
}

/// Shuffles the items of whole 32-item groups; returns how many items it did.
#[target_feature(enable = "avx2")]
pub(super) unsafe fn shuffle_avx2<const N: usize>(
    src: &[u8],
    dst: &mut [u8],
    nitems: usize,
) -> usize {
    let groups = nitems / 32;
    for g in 0..groups {
        // SAFETY: AVX2 is enabled here.
        let mut v = unsafe { load_items_avx2::<N>(src, 32 * N * g) };
        for _ in 0..4 {
            round_avx2(&mut v);
        }
        for (j, x) in v.iter().enumerate() {
            let d = &mut dst[j * nitems + 32 * g..][..32];
            // SAFETY: `d` holds 32 bytes.
            unsafe { _mm256_storeu_si256(d.as_mut_ptr().cast(), *x) };
        }
    }
    groups * 32
}

/// Unshuffles the items of whole 32-item groups; returns how many items it did.
#[target_feature(enable = "avx2")]
pub(super) unsafe fn unshuffle_avx2<const N: usize>(
    src: &[u8],
    dst: &mut [MaybeUninit<u8>],
    nitems: usize,
) -> usize {
    let groups = nitems / 32;
    for g in 0..groups {
        let mut v: [__m256i; N] = simd_array!(N, _mm256_setzero_si256(), |j| {
            let s = &src[j * nitems + 32 * g..][..32];
            // SAFETY: `s` holds 32 bytes.
            unsafe { _mm256_loadu_si256(s.as_ptr().cast()) }
        });
        for _ in 0..log2(N) {
            round_avx2(&mut v);
        }
        // SAFETY: AVX2 is enabled here.
        unsafe { store_items_avx2::<N>(&v, dst, 32 * N * g) };
    }
    groups * 32
}

/// [`unshuffle_avx2`] reading plane `j` from `rows[j]`.
#[target_feature(enable = "avx2")]
pub(super) unsafe fn unshuffle_rows_avx2<const N: usize>(
    rows: &[&[u8]],
    dst: &mut [MaybeUninit<u8>],
    nitems: usize,
) -> usize {
    let rows: &[&[u8]; N] = rows.try_into().expect("N planes");
    for r in rows {
        assert!(r.len() >= nitems);
    }
    let groups = nitems / 32;
    for g in 0..groups {
        // SAFETY: each row holds `nitems >= 32 * g + 32` bytes (asserted).
        let mut v: [__m256i; N] = simd_array!(N, _mm256_setzero_si256(), |j| unsafe {
            _mm256_loadu_si256(rows[j].as_ptr().add(32 * g).cast())
        });
        for _ in 0..log2(N) {
            round_avx2(&mut v);
        }
        // SAFETY: AVX2 is enabled here.
        unsafe { store_items_avx2::<N>(&v, dst, 32 * N * g) };
    }
    groups * 32
}

/// [`shuffle_tiled_sse2`] on 32-item groups, items 16..32 in the high lanes.
#[target_feature(enable = "avx2")]
pub(super) unsafe fn shuffle_tiled_avx2(
    ts: usize,
    src: &[u8],
    dst: &mut [u8],
    nitems: usize,
) -> usize {
    let groups = tiled_groups(ts, src.len(), 32);
    let width = ts.min(16);
    for g in 0..groups {
        let items = &src[32 * ts * g..];
        for off in tiles(ts) {
            let mut v: [__m256i; 16] = simd_array!(16, _mm256_setzero_si256(), |k| {
                let lo = &items[k * ts + off..][..16];
                let hi = &items[(16 + k) * ts + off..][..16];
                // SAFETY: `lo` and `hi` hold 16 bytes each.
                unsafe {
                    let lo = _mm_loadu_si128(lo.as_ptr().cast());
                    let hi = _mm_loadu_si128(hi.as_ptr().cast());
                    _mm256_inserti128_si256::<1>(_mm256_castsi128_si256(lo), hi)
                }
            });
            for _ in 0..4 {
                round_avx2(&mut v);
            }
            for (b, x) in v.iter().enumerate().take(width) {
                let d = &mut dst[(off + b) * nitems + 32 * g..][..32];
                // SAFETY: `d` holds 32 bytes.
                unsafe { _mm256_storeu_si256(d.as_mut_ptr().cast(), *x) };
            }
        }
    }
    groups * 32
}

/// Reverses [`shuffle_tiled_avx2`] (see [`unshuffle_tiled_sse2`] for the spills).
#[target_feature(enable = "avx2")]
pub(super) unsafe fn unshuffle_tiled_avx2(
    ts: usize,
    src: &[u8],
    dst: &mut [MaybeUninit<u8>],
    nitems: usize,
) -> usize {
    let groups = tiled_groups(ts, src.len(), 32);
    let width = ts.min(16);
    for g in 0..groups {
        let items = &mut dst[32 * ts * g..];
        for off in tiles(ts) {
            let mut v: [__m256i; 16] = simd_array!(16, _mm256_setzero_si256(), |b| {
                if b >= width {
                    _mm256_setzero_si256()
                } else {
                    let s = &src[(off + b) * nitems + 32 * g..][..32];
                    // SAFETY: `s` holds 32 bytes.
                    unsafe { _mm256_loadu_si256(s.as_ptr().cast()) }
                }
            });
            for _ in 0..4 {
                round_avx2(&mut v);
            }
            // Items 0..16 (low lanes) first, then items 16..32: increasing item order.
            for (k, x) in v.iter().enumerate() {
                let lo = &mut items[k * ts + off..][..16];
                // SAFETY: `lo` holds 16 bytes.
                unsafe { _mm_storeu_si128(lo.as_mut_ptr().cast(), _mm256_castsi256_si128(*x)) };
            }
            for (k, x) in v.iter().enumerate() {
                let hi = &mut items[(16 + k) * ts + off..][..16];
                // SAFETY: `hi` holds 16 bytes.
                unsafe {
                    _mm_storeu_si128(hi.as_mut_ptr().cast(), _mm256_extracti128_si256::<1>(*x))
                };
            }
        }
    }
    groups * 32
}

/// Writes the 8 bit rows of a plane vector of 32 items `32 * c..32 * c + 32`.
#[inline(always)]
pub(super) fn rows_avx2(mut p: __m256i, dst: &mut [u8], j: usize, rowlen: usize, c: usize) {
    for k in (0..8).rev() {
        // SAFETY: AVX2 is enabled in every caller.
        let mask = unsafe { _mm256_movemask_epi8(p) } as u32;
        dst[(8 * j + k) * rowlen + 4 * c..][..4].copy_from_slice(&mask.to_le_bytes());
        // SAFETY: as above.
        p = unsafe { _mm256_add_epi8(p, p) };
    }
}

#[target_feature(enable = "avx2")]
pub(super) unsafe fn bitshuffle_avx2<const N: usize>(
    src: &[u8],
    dst: &mut [u8],
    m: usize,
) -> usize {
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
    unsafe { bitshuffle_tail_avx2::<N>(src, dst, m) }
}

/// Bit-shuffles the 32-item groups after the whole tiles of 512 items; returns how many of
/// the `m` items all kernels together did.
#[target_feature(enable = "avx2")]
pub(super) unsafe fn bitshuffle_tail_avx2<const N: usize>(
    src: &[u8],
    dst: &mut [u8],
    m: usize,
) -> usize {
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

#[inline(always)]
pub(super) fn transpose8_avx2(mut x: __m256i) -> __m256i {
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
pub(super) fn row_u32(src: &[u8], row: usize, rowlen: usize, c: usize) -> i32 {
    i32::from_le_bytes(
        src[row * rowlen + 4 * c..][..4]
            .try_into()
            .expect("4 bytes"),
    )
}

/// Rebuilds the plane vectors of 32 items from the rows (`rows`, `rowlen` apart), at
/// 4-byte column `c`. (A target-feature function, so that the closure inherits AVX2 and
/// its intrinsics are inlined.)
///
/// # Safety
/// AVX2 must be available.
#[target_feature(enable = "avx2")]
#[inline]
pub(super) unsafe fn planes_avx2<const N: usize>(
    rows: &[u8],
    rowlen: usize,
    c: usize,
) -> [__m256i; N] {
    {
        // Per 128-bit lane: a 4x4 byte transpose (4 rows of 4 bytes to 4 columns).
        let bytes = _mm256_setr_epi8(
            0, 4, 8, 12, 1, 5, 9, 13, 2, 6, 10, 14, 3, 7, 11, 15, 0, 4, 8, 12, 1, 5, 9, 13, 2, 6,
            10, 14, 3, 7, 11, 15,
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
/// transpose network of the byte shuffle ([`round_avx2`]) interleaves the `N` bytes of each
/// item.
#[target_feature(enable = "avx2")]
pub(super) unsafe fn bitunshuffle_tiles_avx2<const N: usize>(src: &[u8], dst: &mut [u8], m: usize) {
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
                        _mm_storeu_si128(dp.add(lo + 16 * k).cast(), _mm256_castsi256_si128(*y));
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
pub(super) unsafe fn bitunshuffle_avx2<const N: usize>(
    src: &[u8],
    dst: &mut [u8],
    m: usize,
) -> usize {
    // SAFETY: AVX2 is enabled here.
    unsafe { bitunshuffle_tiles_avx2::<N>(src, dst, m) };
    // SAFETY: AVX2 is enabled here.
    unsafe { bitunshuffle_tail_avx2::<N>(src, dst, m) }
}

/// Bit-unshuffles the 32-item groups after the whole tiles of 512 items; returns how many
/// of the `m` items all kernels together did.
#[target_feature(enable = "avx2")]
pub(super) unsafe fn bitunshuffle_tail_avx2<const N: usize>(
    src: &[u8],
    dst: &mut [u8],
    m: usize,
) -> usize {
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
