//! The SIMD kernels of Blosc's filters: byte shuffle ([`shuffle`]) and bit shuffle
//! ([`bitshuffle`]) with c-blosc's layouts, in plain Rust (`portable`, for every CPU) and for
//! x86 (`x86::{sse2, avx2, avx512}`, one module per instruction set).
//!
//! The instruction set is chosen here, at one place: [`Isa::best`] detects the CPU's best level
//! once (`is_x86_feature_detected!`) and caches it, and the `*_kernel` functions below route each
//! call to the kernels of a level. Typesizes 2, 4, 8 and 16 have SSE2 and AVX2 byte-shuffle
//! kernels (a byte-transpose network of `unpack` instructions) and AVX-512 kernels (one `vpermb`
//! per vector, then a transpose network of `vpermt2d` over whole vectors); every other typesize
//! runs the typesize-16 network on 16-byte tiles of the items (AVX2 at the AVX-512 level). The
//! bit shuffle has fused kernels for typesizes 1, 2, 4, 8 and 16. Other CPUs use the portable
//! code, which every SIMD kernel is tested against.

use std::mem::MaybeUninit;
use std::sync::atomic::{AtomicU8, Ordering};

/// Declares a kernel entry point that is public only with the feature `bench-internals` (for
/// the criterion benches, which pick an instruction-set level or the portable code explicitly)
/// and crate-private otherwise (the unit tests compare every level against the portable code;
/// the inverse portable kernels serve only the benches).
macro_rules! pub_for_benches {
    ($(#[$attr:meta])* fn $($item:tt)*) => {
        #[cfg(feature = "bench-internals")]
        $(#[$attr])*
        pub fn $($item)*
        #[cfg(not(feature = "bench-internals"))]
        #[allow(dead_code)]
        $(#[$attr])*
        pub(crate) fn $($item)*
    };
}

pub mod bitshuffle;
mod portable;
pub mod shuffle;
#[cfg(any(target_arch = "x86", target_arch = "x86_64"))]
mod x86;

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

/// Byte-shuffles `src` into `dst` (same length) with the kernels of `isa` (available on this CPU).
fn shuffle_kernel(isa: Isa, typesize: usize, src: &[u8], dst: &mut [u8]) {
    match isa {
        Isa::Portable => portable::shuffle(typesize, src, dst),
        #[cfg(any(target_arch = "x86", target_arch = "x86_64"))]
        Isa::Sse2 | Isa::Avx2 | Isa::Avx512 => x86::shuffle(isa, typesize, src, dst),
        #[cfg(not(any(target_arch = "x86", target_arch = "x86_64")))]
        _ => unreachable!("checked above"),
    }
}

/// Reverses [`shuffle_kernel`] into a destination that may be uninitialised.
fn unshuffle_kernel(isa: Isa, typesize: usize, src: &[u8], dst: &mut [MaybeUninit<u8>]) {
    match isa {
        Isa::Portable => portable::unshuffle_uninit(typesize, src, dst),
        #[cfg(any(target_arch = "x86", target_arch = "x86_64"))]
        Isa::Sse2 | Isa::Avx2 | Isa::Avx512 => x86::unshuffle(isa, typesize, src, dst),
        #[cfg(not(any(target_arch = "x86", target_arch = "x86_64")))]
        _ => unreachable!("checked above"),
    }
}

/// The fused unshuffle of separate planes on this CPU (checked arguments); `false`, writing
/// nothing, when it has no kernel.
fn unshuffle_rows_kernel(rows: &[&[u8]], dst: &mut [MaybeUninit<u8>]) -> bool {
    #[cfg(any(target_arch = "x86", target_arch = "x86_64"))]
    if Isa::best() >= Isa::Avx2 {
        return x86::unshuffle_rows(Isa::best(), rows, dst);
    }
    let _ = (rows, dst);
    false
}

/// The shuffle into separate planes on this CPU (checked arguments, a typesize with a kernel).
fn shuffle_rows_kernel(src: &[u8], rows: &mut [&mut [u8]]) -> bool {
    #[cfg(any(target_arch = "x86", target_arch = "x86_64"))]
    return x86::shuffle_rows(Isa::best(), src, rows);
    #[cfg(not(any(target_arch = "x86", target_arch = "x86_64")))]
    {
        let _ = (src, rows);
        false
    }
}

/// Bit-shuffles whole vector groups of the first `m` items with the kernels of `isa`; returns
/// how many items it did (the portable code does the rest).
fn bitshuffle_kernel(isa: Isa, typesize: usize, src: &[u8], dst: &mut [u8], m: usize) -> usize {
    match isa {
        Isa::Portable => 0,
        #[cfg(any(target_arch = "x86", target_arch = "x86_64"))]
        Isa::Sse2 | Isa::Avx2 | Isa::Avx512 => x86::bitshuffle(isa, typesize, src, dst, m),
        #[cfg(not(any(target_arch = "x86", target_arch = "x86_64")))]
        _ => 0,
    }
}

/// Reverses [`bitshuffle_kernel`].
fn bitunshuffle_kernel(isa: Isa, typesize: usize, src: &[u8], dst: &mut [u8], m: usize) -> usize {
    match isa {
        Isa::Portable => 0,
        #[cfg(any(target_arch = "x86", target_arch = "x86_64"))]
        Isa::Sse2 | Isa::Avx2 | Isa::Avx512 => x86::bitunshuffle(isa, typesize, src, dst, m),
        #[cfg(not(any(target_arch = "x86", target_arch = "x86_64")))]
        _ => 0,
    }
}

/// Views initialised bytes as possibly uninitialised ones.
///
/// # Safety
/// The caller must write only initialised bytes through the view (no `MaybeUninit::uninit()`).
pub(crate) unsafe fn as_uninit(dst: &mut [u8]) -> &mut [MaybeUninit<u8>] {
    // SAFETY: `MaybeUninit<u8>` has the layout of `u8`; the caller keeps the bytes initialised.
    unsafe { std::slice::from_raw_parts_mut(dst.as_mut_ptr().cast(), dst.len()) }
}
