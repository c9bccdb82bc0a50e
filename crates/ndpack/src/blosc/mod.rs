//! Native Blosc: shuffle and bitshuffle kernels, BloscLZ, the Blosc1 ([`v1`]) and Blosc2 ([`v2`])
//! chunk formats, and the compressors Blosc runs per stream ([`Compressor`]).
//!
//! Both formats are byte-compatible with the C libraries: [`v1`] writes what numcodecs' `Blosc`
//! (c-blosc 1.x) writes and reads every c-blosc 1.x chunk (Snappy included); [`v2`] reads and
//! writes what python-blosc2's `compress2`/`decompress2` (c-blosc2) do. Blocks are compressed and
//! decompressed in parallel on ndpack's thread pool ([`crate::threads`]).

/// `[T; N]` from `$e` evaluated for `$i` in `0..N`, written out in place: unlike
/// `core::array::from_fn` there is no closure and no out-of-line helper, so the SIMD intrinsics in
/// `$e` are inlined into the calling `#[target_feature]` kernel instead of becoming calls.
#[cfg(any(target_arch = "x86", target_arch = "x86_64"))]
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

pub mod bitshuffle;
pub mod blosclz;
mod chunk;
pub mod compressor;
pub mod shuffle;
pub mod v1;
pub mod v2;

pub use compressor::{list_compressors, Compressor};

/// `(nbytes, cbytes, blocksize)` of a Blosc1 or Blosc2 chunk, from its header.
pub use v1::cbuffer_sizes;
