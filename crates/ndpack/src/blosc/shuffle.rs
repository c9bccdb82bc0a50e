//! Byte shuffle and unshuffle with c-blosc's layout: byte `j` of item `i` goes to
//! `dst[j * nitems + i]`; the trailing `len % typesize` bytes are copied unshuffled.
//!
//! This module also owns the run-time ISA dispatch of the Blosc kernels ([`Isa`]): the best
//! instruction set of the CPU is detected once and cached. Typesizes 2, 4, 8 and 16 have SSE2
//! and AVX2 kernels (a byte-transpose network of `unpack` instructions) and AVX-512 kernels
//! (one `vpermb` per vector, then a transpose network of `vpermt2d` over whole vectors); every
//! other typesize runs the typesize-16 network on 16-byte tiles of the items (AVX2 at the
//! AVX-512 level). Other CPUs use the portable code, which every SIMD kernel is tested against.

use std::mem::MaybeUninit;
use std::sync::atomic::{AtomicU8, Ordering};

/// An instruction-set level of the Blosc kernels.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Isa {
    /// Plain Rust, for every CPU.
    Portable,
    /// x86 SSE2 (every x86-64 CPU).
    Sse2,
    /// x86 AVX2.
    Avx2,
    /// x86 AVX-512 with the F, BW and VBMI extensions and GFNI (Ice Lake and later, Zen 4 and
    /// later). Kernels without an AVX-512 version that pays off run their AVX2 version.
    Avx512,
}

impl Isa {
    /// Every level, from the most portable to the fastest.
    pub const ALL: [Isa; 4] = [Isa::Portable, Isa::Sse2, Isa::Avx2, Isa::Avx512];

    /// A short lower-case name (`"portable"`, `"sse2"`, `"avx2"`, `"avx512"`).
    pub fn name(self) -> &'static str {
        match self {
            Isa::Portable => "portable",
            Isa::Sse2 => "sse2",
            Isa::Avx2 => "avx2",
            Isa::Avx512 => "avx512",
        }
    }

    /// Whether this CPU can run the kernels of this level.
    pub fn is_available(self) -> bool {
        match self {
            Isa::Portable => true,
            #[cfg(any(target_arch = "x86", target_arch = "x86_64"))]
            Isa::Sse2 => std::is_x86_feature_detected!("sse2"),
            #[cfg(any(target_arch = "x86", target_arch = "x86_64"))]
            Isa::Avx2 => std::is_x86_feature_detected!("avx2"),
            #[cfg(any(target_arch = "x86", target_arch = "x86_64"))]
            Isa::Avx512 => {
                std::is_x86_feature_detected!("avx2")
                    && std::is_x86_feature_detected!("avx512f")
                    && std::is_x86_feature_detected!("avx512bw")
                    && std::is_x86_feature_detected!("avx512vbmi")
                    && std::is_x86_feature_detected!("gfni")
            }
            #[cfg(not(any(target_arch = "x86", target_arch = "x86_64")))]
            _ => false,
        }
    }

    /// The levels this CPU can run.
    pub fn available() -> Vec<Isa> {
        Isa::ALL.into_iter().filter(|i| i.is_available()).collect()
    }

    /// The fastest level of this CPU (detected once, then cached).
    pub fn best() -> Isa {
        static BEST: AtomicU8 = AtomicU8::new(u8::MAX);
        match BEST.load(Ordering::Relaxed) {
            0 => Isa::Portable,
            1 => Isa::Sse2,
            2 => Isa::Avx2,
            3 => Isa::Avx512,
            _ => {
                let best = *Isa::available()
                    .last()
                    .expect("portable is always available");
                BEST.store(best as u8, Ordering::Relaxed);
                best
            }
        }
    }

    pub(crate) fn check(self) {
        assert!(
            self.is_available(),
            "the {} kernels do not run on this CPU",
            self.name()
        );
    }
}

/// Shuffles `src` into `dst` (same length) for items of `typesize` bytes.
///
/// # Panics
/// If `src` and `dst` have different lengths.
pub fn shuffle(typesize: usize, src: &[u8], dst: &mut [u8]) {
    shuffle_isa(Isa::best(), typesize, src, dst)
}

/// Reverses [`shuffle`].
///
/// # Panics
/// If `src` and `dst` have different lengths.
pub fn unshuffle(typesize: usize, src: &[u8], dst: &mut [u8]) {
    unshuffle_isa(Isa::best(), typesize, src, dst)
}

/// [`shuffle`] with the kernels of `isa` (for tests and benchmarks).
///
/// # Panics
/// If `src` and `dst` have different lengths or `isa` is not available on this CPU.
pub fn shuffle_isa(isa: Isa, typesize: usize, src: &[u8], dst: &mut [u8]) {
    assert_eq!(src.len(), dst.len(), "shuffle needs equal lengths");
    isa.check();
    match isa {
        Isa::Portable => shuffle_portable(typesize, src, dst),
        #[cfg(any(target_arch = "x86", target_arch = "x86_64"))]
        Isa::Sse2 | Isa::Avx2 | Isa::Avx512 => x86::shuffle(isa, typesize, src, dst),
        #[cfg(not(any(target_arch = "x86", target_arch = "x86_64")))]
        _ => unreachable!("checked above"),
    }
}

/// [`unshuffle`] with the kernels of `isa` (for tests and benchmarks).
///
/// # Panics
/// If `src` and `dst` have different lengths or `isa` is not available on this CPU.
pub fn unshuffle_isa(isa: Isa, typesize: usize, src: &[u8], dst: &mut [u8]) {
    // SAFETY: the unshuffle kernels write only initialised bytes through the view.
    unshuffle_isa_uninit(isa, typesize, src, unsafe { as_uninit(dst) })
}

/// [`unshuffle`] into a destination that may be uninitialised (every byte gets written), so
/// that a decoder can unshuffle straight into fresh output memory.
pub(crate) fn unshuffle_uninit(typesize: usize, src: &[u8], dst: &mut [MaybeUninit<u8>]) {
    unshuffle_isa_uninit(Isa::best(), typesize, src, dst)
}

/// Unshuffles `typesize` separate byte planes (`rows[j]` holds byte `j` of every item, all of
/// `dst.len() / typesize` bytes) into `dst`, which may be uninitialised. A decoder passes the
/// stored (uncompressed) streams of a block straight from the chunk, saving their copy. Returns
/// `false`, writing nothing, when no fused kernel exists for this typesize on this CPU.
pub(crate) fn unshuffle_rows(rows: &[&[u8]], dst: &mut [MaybeUninit<u8>]) -> bool {
    let ts = rows.len();
    if ts == 0 || !dst.len().is_multiple_of(ts) || rows.iter().any(|r| r.len() != dst.len() / ts) {
        return false;
    }
    #[cfg(any(target_arch = "x86", target_arch = "x86_64"))]
    if Isa::best() >= Isa::Avx2 {
        return x86::unshuffle_rows(Isa::best(), rows, dst);
    }
    false
}

/// Shuffles the whole items of `src` into `rows.len()` (the typesize) separate byte planes:
/// `rows[j]` (each `src.len() / typesize` bytes) receives byte `j` of every item. The encoder
/// shuffles pieces of a block in parallel with it, each straight into its slice of the block's
/// planes. Returns `false`, writing nothing, when no kernel exists for this typesize on this CPU
/// (see [`has_shuffle_rows`]).
pub(crate) fn shuffle_rows(src: &[u8], rows: &mut [&mut [u8]]) -> bool {
    let ts = rows.len();
    if !has_shuffle_rows(ts)
        || !src.len().is_multiple_of(ts)
        || rows.iter().any(|r| r.len() != src.len() / ts)
    {
        return false;
    }
    #[cfg(any(target_arch = "x86", target_arch = "x86_64"))]
    return x86::shuffle_rows(Isa::best(), src, rows);
    #[cfg(not(any(target_arch = "x86", target_arch = "x86_64")))]
    false
}

/// Whether [`shuffle_rows`] has a kernel for `typesize` on this CPU.
pub(crate) fn has_shuffle_rows(typesize: usize) -> bool {
    cfg!(any(target_arch = "x86", target_arch = "x86_64"))
        && Isa::best() >= Isa::Avx512
        && matches!(typesize, 2 | 4 | 8 | 16)
}

/// Whether [`unshuffle_rows`] has a kernel for `typesize` on this CPU.
pub(crate) fn has_unshuffle_rows(typesize: usize) -> bool {
    cfg!(any(target_arch = "x86", target_arch = "x86_64"))
        && Isa::best() >= Isa::Avx2
        && matches!(typesize, 2 | 4 | 8 | 16)
}

/// Views initialised bytes as possibly uninitialised ones.
///
/// # Safety
/// The caller must write only initialised bytes through the view (no `MaybeUninit::uninit()`).
pub(crate) unsafe fn as_uninit(dst: &mut [u8]) -> &mut [MaybeUninit<u8>] {
    // SAFETY: `MaybeUninit<u8>` has the layout of `u8`; the caller keeps the bytes initialised.
    unsafe { std::slice::from_raw_parts_mut(dst.as_mut_ptr().cast(), dst.len()) }
}

/// Copies `src` into `dst` (same length).
fn copy_uninit(dst: &mut [MaybeUninit<u8>], src: &[u8]) {
    assert_eq!(dst.len(), src.len());
    // SAFETY: both hold `src.len()` bytes and cannot overlap (`dst` is borrowed mutably).
    unsafe { std::ptr::copy_nonoverlapping(src.as_ptr(), dst.as_mut_ptr().cast(), src.len()) };
}

fn unshuffle_isa_uninit(isa: Isa, typesize: usize, src: &[u8], dst: &mut [MaybeUninit<u8>]) {
    assert_eq!(src.len(), dst.len(), "unshuffle needs equal lengths");
    isa.check();
    match isa {
        Isa::Portable => unshuffle_portable_uninit(typesize, src, dst),
        #[cfg(any(target_arch = "x86", target_arch = "x86_64"))]
        Isa::Sse2 | Isa::Avx2 | Isa::Avx512 => x86::unshuffle(isa, typesize, src, dst),
        #[cfg(not(any(target_arch = "x86", target_arch = "x86_64")))]
        _ => unreachable!("checked above"),
    }
}

/// The portable reference implementation of [`shuffle`].
pub fn shuffle_portable(typesize: usize, src: &[u8], dst: &mut [u8]) {
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

/// The portable reference implementation of [`unshuffle`].
pub fn unshuffle_portable(typesize: usize, src: &[u8], dst: &mut [u8]) {
    // SAFETY: the portable unshuffle writes only initialised bytes through the view.
    unshuffle_portable_uninit(typesize, src, unsafe { as_uninit(dst) })
}

fn unshuffle_portable_uninit(typesize: usize, src: &[u8], dst: &mut [MaybeUninit<u8>]) {
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
fn shuffle_items(typesize: usize, src: &[u8], dst: &mut [u8], nitems: usize, first: usize) {
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
fn unshuffle_items(
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

/// SSE2, AVX2 and AVX-512 kernels.
///
/// The core is a byte transpose network: `N` vectors of 16 bytes (one 128-bit lane) hold the
/// bytes of `16 * N` bytes, addressed by `log2(N) + 4` bits (vector, position). One round of
/// `unpacklo/hi_epi8` over the pairs (`i`, `i + N/2`) rotates those address bits left by one.
/// Shuffling 16 items of `N` bytes is then 4 rounds (items x bytes becomes bytes x items) and
/// unshuffling `log2(N)` rounds. AVX2 runs two such problems at once, one per 128-bit lane.
/// AVX-512 gathers the bytes inside each vector with `vpermb` first, so that its network moves
/// whole chunks of `64 / N` bytes between vectors (`transpose_avx512`).
#[cfg(any(target_arch = "x86", target_arch = "x86_64"))]
pub(crate) mod x86 {
    use super::Isa;
    #[cfg(target_arch = "x86")]
    use std::arch::x86::*;
    #[cfg(target_arch = "x86_64")]
    use std::arch::x86_64::*;
    use std::mem::MaybeUninit;

    /// The level whose kernel runs `typesize` at level `isa`: AVX-512 only where it is faster
    /// than AVX2 (see the README's "Blosc kernels" benchmarks).
    fn level(isa: Isa, typesize: usize) -> Isa {
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

    pub(crate) fn shuffle(isa: Isa, typesize: usize, src: &[u8], dst: &mut [u8]) {
        let nitems = src.len() / typesize.max(1);
        let level = match level(isa, typesize) {
            Isa::Avx512 if matches!(typesize, 2 | 4) && src.len() > AVX512_SHUFFLE_2_4_MAX => {
                Isa::Avx2
            }
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
            _ => return super::shuffle_portable(typesize, src, dst),
        };
        super::shuffle_items(typesize, src, dst, nitems, done);
        let body = nitems * typesize;
        dst[body..].copy_from_slice(&src[body..]);
    }

    pub(crate) fn unshuffle(isa: Isa, typesize: usize, src: &[u8], dst: &mut [MaybeUninit<u8>]) {
        let nitems = src.len() / typesize.max(1);
        let mut all: [&[u8]; 16] = [&[]; 16];
        for (j, p) in all.iter_mut().enumerate().take(typesize) {
            *p = &src[j * nitems..][..nitems];
        }
        let planes = |n: usize| &all[..n];
        let done = match (level(isa, typesize), typesize) {
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
            _ => return super::unshuffle_portable_uninit(typesize, src, dst),
        };
        super::unshuffle_items(typesize, src, dst, nitems, done);
        let body = nitems * typesize;
        super::copy_uninit(&mut dst[body..], &src[body..]);
    }

    /// [`super::unshuffle_rows`] with AVX2 or AVX-512 (typesizes 2, 4, 8, 16).
    pub(crate) fn unshuffle_rows(isa: Isa, rows: &[&[u8]], dst: &mut [MaybeUninit<u8>]) -> bool {
        let nitems = dst.len() / rows.len();
        let done = match (level(isa, rows.len()), rows.len()) {
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

    /// [`unshuffle_avx2`] reading plane `j` from `rows[j]`.
    #[target_feature(enable = "avx2")]
    unsafe fn unshuffle_rows_avx2<const N: usize>(
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

    /// One round of the transpose network on 128-bit vectors.
    #[inline(always)]
    pub(crate) fn round_sse2<const N: usize>(v: &mut [__m128i; N]) {
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

    /// One round of the transpose network on each 128-bit lane of 256-bit vectors.
    #[inline(always)]
    pub(crate) fn round_avx2<const N: usize>(v: &mut [__m256i; N]) {
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

    /// `log2(N)`.
    pub(crate) const fn log2(n: usize) -> usize {
        n.trailing_zeros() as usize
    }

    /// Loads 16 items of `N` bytes from `src[offset..offset + 16 * N]`.
    ///
    /// # Safety
    /// SSE2 must be available.
    #[inline(always)]
    pub(crate) unsafe fn load_items_sse2<const N: usize>(
        src: &[u8],
        offset: usize,
    ) -> [__m128i; N] {
        let s = &src[offset..offset + 16 * N];
        // SAFETY: SSE2 is enabled in every caller.
        let zero = unsafe { _mm_setzero_si128() };
        // SAFETY: `s` holds 16 * N bytes, so each 16-byte unaligned load is in bounds.
        simd_array!(N, zero, |v| unsafe {
            _mm_loadu_si128(s.as_ptr().add(16 * v).cast())
        })
    }

    /// Loads 32 items of `N` bytes from `src[offset..offset + 32 * N]`, the first 16 items
    /// in the low lanes and the next 16 in the high lanes.
    ///
    /// # Safety
    /// AVX2 must be available.
    #[inline(always)]
    pub(crate) unsafe fn load_items_avx2<const N: usize>(
        src: &[u8],
        offset: usize,
    ) -> [__m256i; N] {
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
    pub(crate) unsafe fn store_items_avx2<const N: usize>(
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

    /// Shuffles the items of whole 16-item groups; returns how many items it did.
    #[target_feature(enable = "sse2")]
    unsafe fn shuffle_sse2<const N: usize>(src: &[u8], dst: &mut [u8], nitems: usize) -> usize {
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
    unsafe fn unshuffle_sse2<const N: usize>(
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

    /// Shuffles the items of whole 32-item groups; returns how many items it did.
    #[target_feature(enable = "avx2")]
    unsafe fn shuffle_avx2<const N: usize>(src: &[u8], dst: &mut [u8], nitems: usize) -> usize {
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
    unsafe fn unshuffle_avx2<const N: usize>(
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

    /// Shuffles 16-item groups of items of any typesize, one 16-byte tile of every item at a
    /// time (the typesize-16 network; only the tile's bytes that belong to the item are
    /// stored); returns how many items it did.
    #[target_feature(enable = "sse2")]
    unsafe fn shuffle_tiled_sse2(ts: usize, src: &[u8], dst: &mut [u8], nitems: usize) -> usize {
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
    unsafe fn unshuffle_tiled_sse2(
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

    /// [`shuffle_tiled_sse2`] on 32-item groups, items 16..32 in the high lanes.
    #[target_feature(enable = "avx2")]
    unsafe fn shuffle_tiled_avx2(ts: usize, src: &[u8], dst: &mut [u8], nitems: usize) -> usize {
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
    unsafe fn unshuffle_tiled_avx2(
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

    /// The `vpermb` index that gathers byte `j` of each of the `64 / n` items of a vector into
    /// the vector's `j`-th chunk of `64 / n` bytes; with `reverse`, each run of 8 items in
    /// reverse order (needs chunks of at least 8 bytes, `n <= 8`).
    const fn gather_index(n: usize, reverse: bool) -> [u8; 64] {
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
    const fn scatter_index(n: usize) -> [u8; 64] {
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
    const fn interleave_index(n: usize, hi: bool) -> [u32; 16] {
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
    pub(crate) unsafe fn load_avx512(s: &[u8]) -> __m512i {
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
    pub(crate) unsafe fn transpose_avx512<const N: usize>(v: &mut [__m512i; N]) {
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
    pub(crate) unsafe fn load_planes_avx512<const N: usize, const REVERSE: bool>(
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
    pub(crate) unsafe fn planes_to_items_avx512<const N: usize>(v: &mut [__m512i; N]) {
        // SAFETY: the features are enabled in every caller; the index is 64 bytes.
        unsafe {
            transpose_avx512(v);
            let idx = _mm512_loadu_si512(const { scatter_index(N) }.as_ptr().cast());
            for x in v.iter_mut() {
                *x = _mm512_permutexvar_epi8(idx, *x);
            }
        }
    }

    /// [`super::shuffle_rows`] with AVX-512 (typesizes 2, 4, 8, 16).
    pub(crate) fn shuffle_rows(isa: Isa, src: &[u8], rows: &mut [&mut [u8]]) -> bool {
        let ts = rows.len();
        let nitems = src.len() / ts;
        let done = match (level(isa, ts), ts) {
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

    /// Shuffles whole 64-item groups of `src` into the `N` planes `rows` (each at least
    /// `nitems` bytes); returns how many items it did.
    #[target_feature(enable = "avx512f,avx512bw,avx512vbmi")]
    unsafe fn shuffle_rows_avx512<const N: usize>(
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
    unsafe fn shuffle_avx512<const N: usize>(src: &[u8], dst: &mut [u8], nitems: usize) -> usize {
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
    unsafe fn unshuffle_avx512<const N: usize>(
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
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn layout_and_round_trip() {
        let src: Vec<u8> = (0..11).collect();
        let mut dst = vec![0; 11];
        shuffle(4, &src, &mut dst);
        assert_eq!(dst, vec![0, 4, 1, 5, 2, 6, 3, 7, 8, 9, 10]);
        let mut back = vec![0; 11];
        unshuffle(4, &dst, &mut back);
        assert_eq!(back, src);
    }

    #[test]
    fn unshuffle_rows_matches_unshuffle() {
        let data: Vec<u8> = (0..100_000usize)
            .map(|i| (i.wrapping_mul(2_654_435_761) >> 13) as u8)
            .collect();
        for ts in [2usize, 4, 8, 16, 3] {
            for nitems in [0usize, 1, 31, 32, 33, 1000, 4099] {
                let src = &data[..nitems * ts];
                let mut shuffled = vec![0u8; src.len()];
                shuffle_portable(ts, src, &mut shuffled);
                // Each plane in its own buffer, as stored streams sit in a chunk.
                let planes: Vec<Vec<u8>> =
                    shuffled.chunks(nitems.max(1)).map(<[u8]>::to_vec).collect();
                let rows: Vec<&[u8]> = (0..ts)
                    .map(|j| planes.get(j).map_or(&[][..], |p| &p[..]))
                    .collect();
                let mut out = vec![MaybeUninit::new(0xAAu8); src.len()];
                if unshuffle_rows(&rows, &mut out) {
                    assert!(has_unshuffle_rows(ts));
                    // SAFETY: `out` was initialised (0xAA) and overwritten with bytes.
                    let got: Vec<u8> = out.iter().map(|b| unsafe { b.assume_init() }).collect();
                    assert_eq!(got, src, "ts {ts} nitems {nitems}");
                } else {
                    assert!(!has_unshuffle_rows(ts) || nitems == 0, "ts {ts}");
                }
            }
        }
    }

    #[test]
    fn shuffle_rows_matches_shuffle() {
        let data: Vec<u8> = (0..100_000usize)
            .map(|i| (i.wrapping_mul(2_654_435_761) >> 11) as u8)
            .collect();
        for ts in [2usize, 4, 8, 16, 3] {
            for nitems in [0usize, 1, 63, 64, 65, 1000, 4099] {
                let src = &data[..nitems * ts];
                let mut want = vec![0u8; src.len()];
                shuffle_portable(ts, src, &mut want);
                // Each plane in its own buffer, poisoned.
                let mut planes = vec![vec![0xAAu8; nitems]; ts];
                let mut rows: Vec<&mut [u8]> = planes.iter_mut().map(|p| &mut p[..]).collect();
                if shuffle_rows(src, &mut rows) {
                    assert!(has_shuffle_rows(ts));
                    assert_eq!(planes.concat(), want, "ts {ts} nitems {nitems}");
                } else {
                    assert!(!has_shuffle_rows(ts), "ts {ts}");
                    assert!(planes.iter().flatten().all(|&b| b == 0xAA), "wrote nothing");
                }
            }
        }
    }

    /// Item counts around the AVX-512 group (64 items) and the AVX2 group (32), and byte tails of
    /// 0, 1 and `typesize - 1` bytes, so that every kernel's last group and the scalar
    /// remainder meet at each possible place.
    #[test]
    fn every_isa_matches_portable_at_group_edges() {
        let data: Vec<u8> = (0..40_000usize)
            .map(|i| (i.wrapping_mul(2_246_822_519) >> 15) as u8)
            .collect();
        for isa in Isa::available() {
            for ts in [2usize, 3, 4, 5, 7, 8, 12, 16, 17, 24] {
                for items in [31usize, 32, 33, 63, 64, 65, 95, 127, 128, 129, 200, 1023] {
                    for extra in [0, 1, ts - 1] {
                        let len = items * ts + extra;
                        let src = &data[7..7 + len];
                        let mut want = vec![0u8; len];
                        let mut got = vec![0x3Cu8; len];
                        shuffle_portable(ts, src, &mut want);
                        shuffle_isa(isa, ts, src, &mut got);
                        assert_eq!(got, want, "shuffle {isa:?} ts {ts} len {len}");
                        let mut back = vec![0xC3u8; len];
                        unshuffle_isa(isa, ts, &want, &mut back);
                        assert_eq!(back, src, "unshuffle {isa:?} ts {ts} len {len}");
                    }
                }
            }
        }
    }

    #[test]
    fn every_isa_matches_portable() {
        let data: Vec<u8> = (0..(1usize << 20) + 123)
            .map(|i| (i.wrapping_mul(2_654_435_761) >> 13) as u8)
            .collect();
        let lens = [
            0usize, 1, 2, 3, 15, 16, 17, 31, 63, 64, 65, 100, 255, 256, 257, 1000, 4096, 4099,
            65_536, 100_003,
        ];
        for isa in Isa::available() {
            for ts in [
                1usize, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16, 17, 24, 32, 33, 64, 255,
            ] {
                for &len in &lens {
                    // An odd start makes the slices unaligned.
                    let src = &data[3..3 + len];
                    let mut want = vec![0u8; len];
                    let mut got = vec![0xAAu8; len];
                    shuffle_portable(ts, src, &mut want);
                    shuffle_isa(isa, ts, src, &mut got);
                    assert_eq!(got, want, "shuffle {isa:?} ts {ts} len {len}");
                    let mut back = vec![0x55u8; len];
                    unshuffle_isa(isa, ts, &want, &mut back);
                    assert_eq!(back, src, "unshuffle {isa:?} ts {ts} len {len}");
                }
                let big = &data[1..];
                let mut want = vec![0u8; big.len()];
                let mut got = vec![0u8; big.len()];
                shuffle_portable(ts, big, &mut want);
                shuffle_isa(isa, ts, big, &mut got);
                assert!(got == want, "shuffle {isa:?} ts {ts} 1 MB");
                unshuffle_isa(isa, ts, &want, &mut got);
                assert!(got == big, "unshuffle {isa:?} ts {ts} 1 MB");
            }
        }
    }
}
