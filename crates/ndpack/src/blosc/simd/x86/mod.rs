//! SSE2, AVX2 and AVX-512 kernels.
//!
//! The core is a byte transpose network: `N` vectors of 16 bytes (one 128-bit lane) hold the
//! bytes of `16 * N` bytes, addressed by `log2(N) + 4` bits (vector, position). One round of
//! `unpacklo/hi_epi8` over the pairs (`i`, `i + N/2`) rotates those address bits left by one.
//! Shuffling 16 items of `N` bytes is then 4 rounds (items x bytes becomes bytes x items) and
//! unshuffling `log2(N)` rounds. AVX2 runs two such problems at once, one per 128-bit lane.
//! AVX-512 gathers the bytes inside each vector with `vpermb` first, so that its network moves
//! whole chunks of `64 / N` bytes between vectors (`transpose_avx512`).
//!
//! This module picks the kernel of a level for each typesize (byte and bit shuffle); the
//! kernels live in one module per instruction set.

use std::mem::MaybeUninit;

use super::Isa;

/// `[T; N]` from `$e` evaluated for `$i` in `0..N`, written out in place: unlike
/// `core::array::from_fn` there is no closure and no out-of-line helper, so the SIMD intrinsics in
/// `$e` are inlined into the calling `#[target_feature]` kernel instead of becoming calls.
macro_rules! simd_array {
    ($n:expr, $zero:expr, |$i:ident| $e:expr) => {{
        let mut a = [$zero; $n];
        let mut $i = 0;
        while $i < $n {
            a[$i] = $e;
            $i += 1;
        }
        a
    }};
}

mod avx2;
mod avx512;
mod sse2;

use avx2::*;
use avx512::*;
use sse2::*;

/// The level whose byte-shuffle kernel runs `typesize` at level `isa`: AVX-512 only where it
/// is faster than AVX2 (see the README's "Blosc kernels" benchmarks).
fn byte_level(isa: Isa, typesize: usize) -> Isa {
    match (isa, typesize) {
        (Isa::Avx512, 2 | 4 | 8 | 16) => Isa::Avx512,
        (Isa::Avx512, _) => Isa::Avx2,
        _ => isa,
    }
}

/// Above this many bytes (source and destination no longer fit in L2) the forward shuffle
/// of typesizes 2 and 4 runs its AVX2 kernel at the AVX-512 level too: on 16 MiB, bound by
/// memory, the AVX-512 kernel measured 0.75-1.0x of AVX2 in the same runs, while on Blosc's
/// blocks (32 KiB to 256 KiB) it is faster (best of several runs; see the README).
const AVX512_SHUFFLE_2_4_MAX: usize = 1 << 20;

/// Byte-shuffles `src` into `dst` at level `isa` (available on this CPU): the kernel of the
/// level for `typesize`, then the portable code for the items and bytes it leaves.
pub(super) fn shuffle(isa: Isa, typesize: usize, src: &[u8], dst: &mut [u8]) {
    let nitems = src.len() / typesize.max(1);
    let level = match byte_level(isa, typesize) {
        Isa::Avx512 if matches!(typesize, 2 | 4) && src.len() > AVX512_SHUFFLE_2_4_MAX => Isa::Avx2,
        l => l,
    };
    let done = match (level, typesize) {
        // SAFETY: the caller checked that the CPU has the ISA (AVX-512 includes AVX2); the
        // kernels bounds-check.
        (Isa::Avx512, 2) => unsafe { shuffle_avx512::<2>(src, dst, nitems) },
        // SAFETY: as above.
        (Isa::Avx512, 4) => unsafe { shuffle_avx512::<4>(src, dst, nitems) },
        // SAFETY: as above.
        (Isa::Avx512, 8) => unsafe { shuffle_avx512::<8>(src, dst, nitems) },
        // SAFETY: as above.
        (Isa::Avx512, 16) => unsafe { shuffle_avx512::<16>(src, dst, nitems) },
        // SAFETY: as above.
        (Isa::Avx2, 2) => unsafe { shuffle_avx2::<2>(src, dst, nitems) },
        // SAFETY: as above.
        (Isa::Avx2, 4) => unsafe { shuffle_avx2::<4>(src, dst, nitems) },
        // SAFETY: as above.
        (Isa::Avx2, 8) => unsafe { shuffle_avx2::<8>(src, dst, nitems) },
        // SAFETY: as above.
        (Isa::Avx2, 16) => unsafe { shuffle_avx2::<16>(src, dst, nitems) },
        // SAFETY: as above.
        (Isa::Sse2, 2) => unsafe { shuffle_sse2::<2>(src, dst, nitems) },
        // SAFETY: as above.
        (Isa::Sse2, 4) => unsafe { shuffle_sse2::<4>(src, dst, nitems) },
        // SAFETY: as above.
        (Isa::Sse2, 8) => unsafe { shuffle_sse2::<8>(src, dst, nitems) },
        // SAFETY: as above.
        (Isa::Sse2, 16) => unsafe { shuffle_sse2::<16>(src, dst, nitems) },
        // SAFETY: as above.
        (Isa::Avx2, 3..) => unsafe { shuffle_tiled_avx2(typesize, src, dst, nitems) },
        // SAFETY: as above.
        (Isa::Sse2, 3..) => unsafe { shuffle_tiled_sse2(typesize, src, dst, nitems) },
        _ => return super::portable::shuffle(typesize, src, dst),
    };
    super::portable::shuffle_items(typesize, src, dst, nitems, done);
    let body = nitems * typesize;
    dst[body..].copy_from_slice(&src[body..]);
}

/// Reverses [`shuffle`] into `dst`, which may be uninitialised.
pub(super) fn unshuffle(isa: Isa, typesize: usize, src: &[u8], dst: &mut [MaybeUninit<u8>]) {
    let nitems = src.len() / typesize.max(1);
    let mut all: [&[u8]; 16] = [&[]; 16];
    for (j, p) in all.iter_mut().enumerate().take(typesize) {
        *p = &src[j * nitems..][..nitems];
    }
    let planes = |n: usize| &all[..n];
    let done = match (byte_level(isa, typesize), typesize) {
        // SAFETY: the caller checked that the CPU has the ISA (AVX-512 includes AVX2); the
        // kernels bounds-check.
        (Isa::Avx512, 2) => unsafe { unshuffle_avx512::<2>(planes(2), dst, nitems) },
        // SAFETY: as above.
        (Isa::Avx512, 4) => unsafe { unshuffle_avx512::<4>(planes(4), dst, nitems) },
        // SAFETY: as above.
        (Isa::Avx512, 8) => unsafe { unshuffle_avx512::<8>(planes(8), dst, nitems) },
        // SAFETY: as above.
        (Isa::Avx512, 16) => unsafe { unshuffle_avx512::<16>(planes(16), dst, nitems) },
        // SAFETY: as above.
        (Isa::Avx2, 2) => unsafe { unshuffle_avx2::<2>(src, dst, nitems) },
        // SAFETY: as above.
        (Isa::Avx2, 4) => unsafe { unshuffle_avx2::<4>(src, dst, nitems) },
        // SAFETY: as above.
        (Isa::Avx2, 8) => unsafe { unshuffle_avx2::<8>(src, dst, nitems) },
        // SAFETY: as above.
        (Isa::Avx2, 16) => unsafe { unshuffle_avx2::<16>(src, dst, nitems) },
        // SAFETY: as above.
        (Isa::Sse2, 2) => unsafe { unshuffle_sse2::<2>(src, dst, nitems) },
        // SAFETY: as above.
        (Isa::Sse2, 4) => unsafe { unshuffle_sse2::<4>(src, dst, nitems) },
        // SAFETY: as above.
        (Isa::Sse2, 8) => unsafe { unshuffle_sse2::<8>(src, dst, nitems) },
        // SAFETY: as above.
        (Isa::Sse2, 16) => unsafe { unshuffle_sse2::<16>(src, dst, nitems) },
        // SAFETY: as above.
        (Isa::Avx2, 3..) => unsafe { unshuffle_tiled_avx2(typesize, src, dst, nitems) },
        // SAFETY: as above.
        (Isa::Sse2, 3..) => unsafe { unshuffle_tiled_sse2(typesize, src, dst, nitems) },
        _ => return super::portable::unshuffle_uninit(typesize, src, dst),
    };
    super::portable::unshuffle_items(typesize, src, dst, nitems, done);
    let body = nitems * typesize;
    super::portable::copy_uninit(&mut dst[body..], &src[body..]);
}

/// `unshuffle_rows` with AVX2 or AVX-512 (typesizes 2, 4, 8, 16).
pub(super) fn unshuffle_rows(isa: Isa, rows: &[&[u8]], dst: &mut [MaybeUninit<u8>]) -> bool {
    let nitems = dst.len() / rows.len();
    let done = match (byte_level(isa, rows.len()), rows.len()) {
        // SAFETY: the caller checked the ISA (AVX-512 includes AVX2); the kernels
        // bounds-check.
        (Isa::Avx512, 2) => unsafe { unshuffle_avx512::<2>(rows, dst, nitems) },
        // SAFETY: as above.
        (Isa::Avx512, 4) => unsafe { unshuffle_avx512::<4>(rows, dst, nitems) },
        // SAFETY: as above.
        (Isa::Avx512, 8) => unsafe { unshuffle_avx512::<8>(rows, dst, nitems) },
        // SAFETY: as above.
        (Isa::Avx512, 16) => unsafe { unshuffle_avx512::<16>(rows, dst, nitems) },
        // SAFETY: as above.
        (_, 2) => unsafe { unshuffle_rows_avx2::<2>(rows, dst, nitems) },
        // SAFETY: as above.
        (_, 4) => unsafe { unshuffle_rows_avx2::<4>(rows, dst, nitems) },
        // SAFETY: as above.
        (_, 8) => unsafe { unshuffle_rows_avx2::<8>(rows, dst, nitems) },
        // SAFETY: as above.
        (_, 16) => unsafe { unshuffle_rows_avx2::<16>(rows, dst, nitems) },
        _ => return false,
    };
    let ts = rows.len();
    for (i, item) in dst[done * ts..].chunks_exact_mut(ts).enumerate() {
        for (j, b) in item.iter_mut().enumerate() {
            b.write(rows[j][done + i]);
        }
    }
    true
}

/// `shuffle_rows` with AVX-512 (typesizes 2, 4, 8, 16).
pub(super) fn shuffle_rows(isa: Isa, src: &[u8], rows: &mut [&mut [u8]]) -> bool {
    let ts = rows.len();
    let nitems = src.len() / ts;
    let done = match (byte_level(isa, ts), ts) {
        // SAFETY: the caller checked the ISA; the kernels bounds-check.
        (Isa::Avx512, 2) => unsafe { shuffle_rows_avx512::<2>(src, rows, nitems) },
        // SAFETY: as above.
        (Isa::Avx512, 4) => unsafe { shuffle_rows_avx512::<4>(src, rows, nitems) },
        // SAFETY: as above.
        (Isa::Avx512, 8) => unsafe { shuffle_rows_avx512::<8>(src, rows, nitems) },
        // SAFETY: as above.
        (Isa::Avx512, 16) => unsafe { shuffle_rows_avx512::<16>(src, rows, nitems) },
        _ => return false,
    };
    for (i, item) in src[done * ts..nitems * ts].chunks_exact(ts).enumerate() {
        for (row, &b) in rows.iter_mut().zip(item) {
            row[done + i] = b;
        }
    }
    true
}

/// The level whose bit-shuffle kernel runs `typesize` at level `isa`: AVX-512 only where it
/// is faster than AVX2 (see the README's "Blosc kernels" benchmarks).
fn bit_level(isa: Isa, typesize: usize) -> Isa {
    match (isa, typesize) {
        (Isa::Avx512, 1 | 2 | 4 | 8 | 16) => Isa::Avx512,
        (Isa::Avx512, _) => Isa::Avx2,
        _ => isa,
    }
}

/// Bit-shuffles whole vector groups of items; returns how many of the `m` items it did.
pub(super) fn bitshuffle(isa: Isa, typesize: usize, src: &[u8], dst: &mut [u8], m: usize) -> usize {
    // SAFETY (all arms): the caller checked that the CPU has the ISA (AVX-512 includes
    // AVX2); the kernels bounds-check every access.
    match (bit_level(isa, typesize), typesize) {
        // SAFETY: see above.
        (Isa::Avx512, 1) => unsafe { bitshuffle_avx512::<1>(src, dst, m) },
        // SAFETY: see above.
        (Isa::Avx512, 2) => unsafe { bitshuffle_avx512::<2>(src, dst, m) },
        // SAFETY: see above.
        (Isa::Avx512, 4) => unsafe { bitshuffle_avx512::<4>(src, dst, m) },
        // SAFETY: see above.
        (Isa::Avx512, 8) => unsafe { bitshuffle_avx512::<8>(src, dst, m) },
        // SAFETY: see above.
        (Isa::Avx512, 16) => unsafe { bitshuffle_avx512::<16>(src, dst, m) },
        // SAFETY: see above.
        (Isa::Avx2, 1) => unsafe { bitshuffle_avx2::<1>(src, dst, m) },
        // SAFETY: see above.
        (Isa::Avx2, 2) => unsafe { bitshuffle_avx2::<2>(src, dst, m) },
        // SAFETY: see above.
        (Isa::Avx2, 4) => unsafe { bitshuffle_avx2::<4>(src, dst, m) },
        // SAFETY: see above.
        (Isa::Avx2, 8) => unsafe { bitshuffle_avx2::<8>(src, dst, m) },
        // SAFETY: see above.
        (Isa::Avx2, 16) => unsafe { bitshuffle_avx2::<16>(src, dst, m) },
        // SAFETY: see above.
        (Isa::Sse2, 1) => unsafe { bitshuffle_sse2::<1>(src, dst, m) },
        // SAFETY: see above.
        (Isa::Sse2, 2) => unsafe { bitshuffle_sse2::<2>(src, dst, m) },
        // SAFETY: see above.
        (Isa::Sse2, 4) => unsafe { bitshuffle_sse2::<4>(src, dst, m) },
        // SAFETY: see above.
        (Isa::Sse2, 8) => unsafe { bitshuffle_sse2::<8>(src, dst, m) },
        // SAFETY: see above.
        (Isa::Sse2, 16) => unsafe { bitshuffle_sse2::<16>(src, dst, m) },
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
    match (bit_level(isa, typesize), typesize) {
        // SAFETY: the caller checked that the CPU has the ISA (AVX-512 includes AVX2); the
        // kernels bounds-check.
        (Isa::Avx512, 1) => unsafe { bitunshuffle_avx512::<1>(src, dst, m) },
        // SAFETY: see above.
        (Isa::Avx512, 2) => unsafe { bitunshuffle_avx512::<2>(src, dst, m) },
        // SAFETY: see above.
        (Isa::Avx512, 4) => unsafe { bitunshuffle_avx512::<4>(src, dst, m) },
        // SAFETY: see above.
        (Isa::Avx512, 8) => unsafe { bitunshuffle_avx512::<8>(src, dst, m) },
        // SAFETY: see above.
        (Isa::Avx512, 16) => unsafe { bitunshuffle_avx512::<16>(src, dst, m) },
        // SAFETY: see above.
        (Isa::Avx2, 1) => unsafe { bitunshuffle_avx2::<1>(src, dst, m) },
        // SAFETY: see above.
        (Isa::Avx2, 2) => unsafe { bitunshuffle_avx2::<2>(src, dst, m) },
        // SAFETY: see above.
        (Isa::Avx2, 4) => unsafe { bitunshuffle_avx2::<4>(src, dst, m) },
        // SAFETY: see above.
        (Isa::Avx2, 8) => unsafe { bitunshuffle_avx2::<8>(src, dst, m) },
        // SAFETY: see above.
        (Isa::Avx2, 16) => unsafe { bitunshuffle_avx2::<16>(src, dst, m) },
        // SAFETY: see above.
        (Isa::Sse2, 1) => unsafe { bitunshuffle_sse2::<1>(src, dst, m) },
        // SAFETY: see above.
        (Isa::Sse2, 2) => unsafe { bitunshuffle_sse2::<2>(src, dst, m) },
        // SAFETY: see above.
        (Isa::Sse2, 4) => unsafe { bitunshuffle_sse2::<4>(src, dst, m) },
        // SAFETY: see above.
        (Isa::Sse2, 8) => unsafe { bitunshuffle_sse2::<8>(src, dst, m) },
        // SAFETY: see above.
        (Isa::Sse2, 16) => unsafe { bitunshuffle_sse2::<16>(src, dst, m) },
        _ => 0,
    }
}

/// `log2(N)`.
const fn log2(n: usize) -> usize {
    n.trailing_zeros() as usize
}

/// The offsets of the 16-byte tiles that cover an item of `typesize` bytes (the last one
/// overlaps its neighbour when `typesize` is not a multiple of 16; an item shorter than 16
/// bytes is one tile that reaches into the next items).
fn tiles(typesize: usize) -> impl Iterator<Item = usize> {
    (0..typesize.div_ceil(16)).map(move |t| (16 * t).min(typesize.saturating_sub(16)))
}

/// How many whole groups of `group` items the tiled kernels may do: the 16-byte tile of the
/// last item of a group must end inside the `len` bytes.
fn tiled_groups(typesize: usize, len: usize, group: usize) -> usize {
    len.saturating_sub(16usize.saturating_sub(typesize)) / (group * typesize)
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
