//! AVX-512 kernels (F, BW, VBMI; GFNI for the bit shuffle): `vpermb` gathers the bytes inside
//! each vector, then a transpose network of `vpermt2d` moves whole chunks between vectors; the
//! bit shuffle transposes 8x8 bit matrices with `gf2p8affineqb`.

#[cfg(target_arch = "x86")]
use std::arch::x86::*;
#[cfg(target_arch = "x86_64")]
use std::arch::x86_64::*;
use std::mem::MaybeUninit;

use super::avx2::{bitshuffle_tail_avx2, bitunshuffle_tail_avx2};
use super::{log2, tiling, TILE};

/// The `vpermb` index that gathers byte `j` of each of the `64 / n` items of a vector into
/// the vector's `j`-th chunk of `64 / n` bytes; with `reverse`, each run of 8 items in
/// reverse order (needs chunks of at least 8 bytes, `n <= 8`).
pub(super) const fn gather_index(n: usize, reverse: bool) -> [u8; 64] {
    let per = 64 / n;
    let flip = if reverse { 7 } else { 0 };
    let mut idx = [0u8; 64];
    let mut p = 0;
    while p < 64 {
        idx[p] = (((p % per) ^ flip) * n + p / per) as u8;
        p += 1;
    }
    idx
}

/// The inverse of [`gather_index`] (not reversed): interleaves the `n` chunks back into items.
pub(super) const fn scatter_index(n: usize) -> [u8; 64] {
    let per = 64 / n;
    let mut idx = [0u8; 64];
    let mut q = 0;
    while q < 64 {
        idx[q] = ((q % n) * per + q / n) as u8;
        q += 1;
    }
    idx
}

/// The `vpermt2d` index that interleaves the `64 / n`-byte chunks of two vectors: the low
/// halves (`hi == false`) or the high halves.
pub(super) const fn interleave_index(n: usize, hi: bool) -> [u32; 16] {
    let cs = 16 / n; // dwords per chunk
    let mut idx = [0u32; 16];
    let mut d = 0;
    while d < 16 {
        let (c, w) = (d / cs, d % cs);
        let src = (c / 2 + if hi { n / 2 } else { 0 }) * cs + w;
        idx[d] = (src + if c % 2 == 1 { 16 } else { 0 }) as u32;
        d += 1;
    }
    idx
}

/// Loads 64 bytes.
///
/// # Safety
/// AVX-512F must be available.
#[inline(always)]
pub(super) unsafe fn load_avx512(s: &[u8]) -> __m512i {
    let s = &s[..64];
    // SAFETY: `s` holds 64 bytes; AVX-512F is enabled in every caller.
    unsafe { _mm512_loadu_si512(s.as_ptr().cast()) }
}

/// Transposes `N` vectors of `N` chunks of `64 / N` bytes (chunk `c` of vector `v` to
/// chunk `v` of vector `c`): `log2(N)` rounds of interleaving the pairs (`i`, `i + N/2`),
/// each of which rotates the (vector, chunk) address bits left by one.
///
/// # Safety
/// AVX-512F must be available.
#[inline(always)]
pub(super) unsafe fn transpose_avx512<const N: usize>(v: &mut [__m512i; N]) {
    if N < 2 {
        return;
    }
    let h = N / 2;
    // SAFETY: AVX-512F is enabled in every caller; the indices are 64 bytes.
    let (lo, hi) = unsafe {
        (
            _mm512_loadu_si512(const { interleave_index(N, false) }.as_ptr().cast()),
            _mm512_loadu_si512(const { interleave_index(N, true) }.as_ptr().cast()),
        )
    };
    for _ in 0..log2(N) {
        let mut out = *v;
        for i in 0..h {
            // SAFETY: as above.
            unsafe {
                out[2 * i] = _mm512_permutex2var_epi32(v[i], lo, v[i + h]);
                out[2 * i + 1] = _mm512_permutex2var_epi32(v[i], hi, v[i + h]);
            }
        }
        *v = out;
    }
}

/// Loads the 64 items of `N` bytes at `src[offset..offset + 64 * N]` as their `N` byte
/// planes (vector `j` holds byte `j` of every item; with `REVERSE`, `N <= 8`, each run of 8
/// items in reverse order).
///
/// # Safety
/// AVX-512F, AVX-512BW and AVX-512VBMI must be available.
#[inline(always)]
pub(super) unsafe fn load_planes_avx512<const N: usize, const REVERSE: bool>(
    src: &[u8],
    offset: usize,
) -> [__m512i; N] {
    let s = &src[offset..offset + 64 * N];
    // SAFETY: the features are enabled in every caller; the index is 64 bytes.
    let (zero, idx) = unsafe {
        (
            _mm512_setzero_si512(),
            _mm512_loadu_si512(const { gather_index(N, REVERSE) }.as_ptr().cast()),
        )
    };
    // SAFETY: as above; each load reads 64 bytes of `s`.
    let mut v: [__m512i; N] = simd_array!(N, zero, |k| unsafe {
        _mm512_permutexvar_epi8(idx, load_avx512(&s[64 * k..]))
    });
    // SAFETY: as above.
    unsafe { transpose_avx512(&mut v) };
    v
}

/// Reverses [`load_planes_avx512`]: turns `N` plane vectors into the `N` vectors of their
/// 64 items, to be stored one after the other.
///
/// # Safety
/// AVX-512F, AVX-512BW and AVX-512VBMI must be available.
#[inline(always)]
pub(super) unsafe fn planes_to_items_avx512<const N: usize>(v: &mut [__m512i; N]) {
    // SAFETY: the features are enabled in every caller; the index is 64 bytes.
    unsafe {
        transpose_avx512(v);
        let idx = _mm512_loadu_si512(const { scatter_index(N) }.as_ptr().cast());
        for x in v.iter_mut() {
            *x = _mm512_permutexvar_epi8(idx, *x);
        }
    }
}

/// Shuffles whole 64-item groups of `src` into the `N` planes `rows` (each at least
/// `nitems` bytes); returns how many items it did.
#[target_feature(enable = "avx512f,avx512bw,avx512vbmi")]
pub(super) unsafe fn shuffle_rows_avx512<const N: usize>(
    src: &[u8],
    rows: &mut [&mut [u8]],
    nitems: usize,
) -> usize {
    let rows: &mut [&mut [u8]; N] = rows.try_into().expect("N planes");
    for r in rows.iter() {
        assert!(r.len() >= nitems);
    }
    let groups = nitems / 64;
    for g in 0..groups {
        // SAFETY: the features are enabled here.
        let v = unsafe { load_planes_avx512::<N, false>(src, 64 * N * g) };
        for (row, x) in rows.iter_mut().zip(v.iter()) {
            let d = &mut row[64 * g..64 * g + 64];
            // SAFETY: `d` holds 64 bytes.
            unsafe { _mm512_storeu_si512(d.as_mut_ptr().cast(), *x) };
        }
    }
    groups * 64
}

/// Shuffles the items of whole 64-item groups into the planes of `dst` (with
/// [`shuffle_rows_avx512`]); returns how many items it did.
///
/// # Safety
/// AVX-512F, AVX-512BW and AVX-512VBMI must be available.
pub(super) unsafe fn shuffle_avx512<const N: usize>(
    src: &[u8],
    dst: &mut [u8],
    nitems: usize,
) -> usize {
    if nitems < 64 {
        return 0;
    }
    let mut planes = dst.chunks_exact_mut(nitems);
    let mut rows: [&mut [u8]; N] =
        core::array::from_fn(|_| planes.next().expect("N planes of nitems bytes"));
    // SAFETY: forwarded from the caller.
    unsafe { shuffle_rows_avx512::<N>(src, &mut rows, nitems) }
}

/// Unshuffles whole 64-item groups from the `N` planes `rows` (each at least `nitems`
/// bytes) into `dst`; returns how many items it did.
#[target_feature(enable = "avx512f,avx512bw,avx512vbmi")]
pub(super) unsafe fn unshuffle_avx512<const N: usize>(
    rows: &[&[u8]],
    dst: &mut [MaybeUninit<u8>],
    nitems: usize,
) -> usize {
    let rows: &[&[u8]; N] = rows.try_into().expect("N planes");
    for r in rows {
        assert!(r.len() >= nitems);
    }
    let groups = nitems / 64;
    for g in 0..groups {
        // SAFETY: the features are enabled here; each row holds `64 * g + 64` bytes.
        let mut v: [__m512i; N] = simd_array!(N, _mm512_setzero_si512(), |j| unsafe {
            load_avx512(&rows[j][64 * g..])
        });
        // SAFETY: as above.
        unsafe { planes_to_items_avx512(&mut v) };
        let d = &mut dst[64 * N * g..][..64 * N];
        for (k, x) in v.iter().enumerate() {
            // SAFETY: `d` holds 64 * N bytes.
            unsafe { _mm512_storeu_si512(d.as_mut_ptr().add(64 * k).cast(), *x) };
        }
    }
    groups * 64
}

/// The GF(2) matrix of [`transpose8_gfni`] and of the bit reversal: byte `b` is `1 << b`.
pub(super) const GFNI_DIAGONAL: i64 = 0x8040_2010_0804_0201_u64 as i64;

/// Transposes the 8x8 bit matrix of each 64-bit lane with the bytes taken in reverse order:
/// byte `b` of the result holds bit `b` of the 8 bytes of `x`, byte `7 - i` of `x` at bit `i`
/// (`gf2p8affineqb` with `x` as the matrix).
///
/// # Safety
/// AVX-512F and GFNI must be available.
#[inline(always)]
pub(super) unsafe fn transpose8_gfni(x: __m512i) -> __m512i {
    // SAFETY: the features are enabled in every caller.
    unsafe { _mm512_gf2p8affine_epi64_epi8::<0>(_mm512_set1_epi64(GFNI_DIAGONAL), x) }
}

/// The `vpermb` index that transposes the 8x8 bytes of the vector: byte `b` of
/// qword `q` goes to byte `q` of qword `b`.
pub(super) const fn byte_transpose_index(reverse: bool) -> [u8; 64] {
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
pub(super) unsafe fn bitshuffle_avx512<const N: usize>(
    src: &[u8],
    dst: &mut [u8],
    m: usize,
) -> usize {
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
    unsafe { bitshuffle_tail_avx2::<N>(src, dst, m) }
}

/// Reverses [`bitshuffle_avx512`]: per item byte, the 64-byte pieces of its 8 bit rows are
/// transposed in 64-bit lanes, `vpermb` gathers column `q` of the 8 rows into one 64-bit
/// lane (rows in reverse order) and `gf2p8affineqb` turns it into byte `j` of 8 items; the
/// byte planes are then interleaved by [`planes_to_items_avx512`].
#[target_feature(enable = "avx512f,avx512bw,avx512vbmi,gfni,avx2")]
pub(super) unsafe fn bitunshuffle_avx512<const N: usize>(
    src: &[u8],
    dst: &mut [u8],
    m: usize,
) -> usize {
    let rowlen = m / 8;
    let tiles = tiling(m);
    assert!(src.len() >= N * m && dst.len() >= N * m);
    // SAFETY: the index is 64 bytes.
    let bytes = unsafe { _mm512_loadu_si512(const { byte_transpose_index(true) }.as_ptr().cast()) };
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
    unsafe { bitunshuffle_tail_avx2::<N>(src, dst, m) }
}
