//! The block engine shared by the Blosc1 ([`super::v1`]) and Blosc2 ([`super::v2`]) chunk
//! formats: the header ([`header`]), the filter pipeline of one block ([`filters`]), decoding
//! ([`decode`]) and encoding ([`encode`]), with the parallel loops over blocks on ndpack's thread
//! pool.
//!
//! Decoding validates the whole block table against the real buffer before anything is allocated,
//! so a hostile chunk is an error, never a panic, an out-of-bounds read or a huge allocation.

use std::cell::RefCell;
use std::mem::MaybeUninit;

mod decode;
mod encode;
mod filters;
mod header;

pub(crate) use decode::Chunk;
#[cfg(test)]
pub(super) use decode::MAX_STREAMS;
pub(crate) use encode::{vec_with, EncodeSpec};
pub(crate) use filters::trunc_prec_check;
pub use filters::Filter;
pub(crate) use header::*;

/// Chunks at least this large are split over the pool's threads (when it has more than one).
pub(in crate::blosc) const PARALLEL_MIN_BYTES: usize = 256 * 1024;

/// Views `buf`, which may be uninitialised, as bytes.
///
/// # Safety
/// Every byte of the view must be written before it is read (the decoders read back only
/// bytes they wrote), or `buf` must be initialised; after an error the bytes are unspecified
/// and the caller does not read them. This is how the codecs treat the foreign `out` buffers
/// they are handed, and it spares a zeroing pass over every output.
unsafe fn written_view(buf: &mut [MaybeUninit<u8>]) -> &mut [u8] {
    // SAFETY: `MaybeUninit<u8>` has the layout of `u8`; see the contract above.
    unsafe { &mut *(buf as *mut [MaybeUninit<u8>] as *mut [u8]) }
}

/// Copies `src` to `dst[at..at + src.len()]`.
pub(crate) fn put(dst: &mut [MaybeUninit<u8>], at: usize, src: &[u8]) {
    let d = &mut dst[at..at + src.len()];
    // SAFETY: `d` is `src.len()` bytes long and, borrowed mutably, cannot overlap `src`.
    unsafe { std::ptr::copy_nonoverlapping(src.as_ptr(), d.as_mut_ptr().cast::<u8>(), src.len()) };
}

thread_local! {
    static SCRATCH: RefCell<Vec<u8>> = const { RefCell::new(Vec::new()) };
}

/// Runs `f` with this thread's reusable scratch buffer.
fn with_scratch<R>(f: impl FnOnce(&mut Vec<u8>) -> R) -> R {
    SCRATCH.with(|cell| match cell.try_borrow_mut() {
        Ok(mut v) => f(&mut v),
        // Re-entered on the same thread (work stealing): use a fresh buffer.
        Err(_) => f(&mut Vec::new()),
    })
}

/// Data shared by the tests of the decoder and the encoder.
#[cfg(test)]
pub(super) mod test_data {
    /// The block size of the test chunks.
    pub(in crate::blosc) const BLOCK: usize = 16 * 1024;

    /// 16 blocks: compressible, incompressible, and compressible with a noisy tail.
    pub(in crate::blosc) fn samples() -> Vec<Vec<u8>> {
        let mut state = 0x2545_f491_4f6c_dd1du64;
        let mut noise = |n: usize| -> Vec<u8> {
            (0..n)
                .map(|_| {
                    state ^= state << 13;
                    state ^= state >> 7;
                    state ^= state << 17;
                    state as u8
                })
                .collect()
        };
        let n = 16 * BLOCK;
        let smooth: Vec<u8> = (0..n / 4)
            .flat_map(|i| ((i as f32 * 0.01).sin() * 100.0).to_le_bytes())
            .collect();
        let mut tail = smooth[..n / 2].to_vec();
        tail.extend(noise(n / 2 + 1000));
        vec![smooth, noise(n), tail]
    }
}
