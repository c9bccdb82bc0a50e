//! The compression engines under the codecs and formats: deflate (libdeflate's one-shot inflate,
//! parallel deflate and inflate), zstd (one context cache), bzip2 and xz/LZMA2 (serial and
//! parallel), and the loop that drives a streaming decoder. The codecs of [`crate::codec`] are a
//! config and a call into these; Blosc and NPZ use them directly.
//!
//! Layer 2: this module uses only `error`, `buffer` and `threads`.

#[cfg(feature = "bz2")]
pub(crate) mod bz2;
pub(crate) mod deflate;
#[cfg(feature = "lzma")]
pub(crate) mod lzma;
#[cfg(any(feature = "bz2", feature = "lzma"))]
pub(crate) mod stream;
#[cfg(feature = "zstd")]
pub(crate) mod zstd;

use crate::buffer::try_reserve_total;
use crate::error::{Error, ErrorKind, Result};

/// Memory that a decoder writes into and may grow
/// ([`Codec::decode_grow`](crate::codec::Codec::decode_grow)): a front end's own buffer, such as
/// a Python `bytes` object being built.
pub trait GrowBuf {
    /// The memory, writable; its length is the current capacity.
    fn buf(&mut self) -> &mut [u8];
    /// Grows the memory to at least `len` bytes, keeping the bytes written so far; an
    /// [`ErrorKind::OutOfMemory`] error, with the memory and its bytes unchanged, when it cannot.
    fn grow(&mut self, len: usize) -> Result<()>;
}

impl GrowBuf for Vec<u8> {
    fn buf(&mut self) -> &mut [u8] {
        self
    }

    fn grow(&mut self, len: usize) -> Result<()> {
        if len > self.len() {
            try_reserve_total(self, len, "output")?;
            self.resize(len, 0);
        }
        Ok(())
    }
}

/// Checks that a `decode_into` output buffer of `have` bytes holds exactly the `want` bytes
/// of decoded data (numcodecs' rule): an [`ErrorKind::InvalidArgument`] error naming both
/// sizes otherwise.
pub(crate) fn check_out_len(have: usize, want: usize) -> Result<()> {
    if have != want {
        return Err(Error::invalid_argument(format!(
            "output buffer has {have} bytes, decoded data has {want}"
        )));
    }
    Ok(())
}

/// The error of a decoder whose data runs past the end of a `decode_into` output buffer of
/// `len` bytes.
pub(crate) fn out_too_small(len: usize) -> Error {
    Error::invalid_argument(format!(
        "output buffer of {len} bytes is too small for the decoded data"
    ))
}

/// An [`ErrorKind::Backend`] error from a back-end library, for codec `id`.
pub(crate) fn backend_error(id: &str, e: impl std::error::Error + Send + Sync + 'static) -> Error {
    let msg = format!("{id}: {e}");
    Error::with_source(ErrorKind::Backend, msg, e)
}

/// Makes room in `out` for a streaming decoder that has filled it: reserves at least 64 KiB,
/// 4× the input or the current capacity (at most 1 GiB at a time), never past `limit` bytes in
/// all; a `TooLarge` error naming `id` when `out` already holds `limit` bytes, an `OutOfMemory`
/// error when the memory cannot be had.
pub(crate) fn grow_output(
    out: &mut Vec<u8>,
    input_len: usize,
    limit: usize,
    id: &str,
) -> Result<()> {
    if out.len() >= limit {
        return Err(Error::too_large(format!(
            "{id}: data decodes to more than {limit} bytes"
        )));
    }
    let extra = out
        .capacity()
        .max(input_len.saturating_mul(4))
        .clamp(1 << 16, 1 << 30)
        .min(limit - out.len());
    out.try_reserve_exact(extra)
        .map_err(|_| Error::out_of_memory(format!("{id}: cannot allocate {extra} more bytes")))
}

/// Test data for the engines' tests.
#[cfg(all(test, any(feature = "bz2", feature = "lzma")))]
pub(crate) mod test_data {
    /// `n` bytes that mix noise with compressible runs: byte `i` is the top bits (from bit
    /// `shift`) of a linear congruential generator (seed `seed`, `x <- a x + c`, stepped for every
    /// byte) where `noisy(i)`, else `run(i)`.
    pub(crate) fn noise_and_runs(
        n: usize,
        seed: u32,
        (a, c): (u32, u32),
        shift: u32,
        noisy: impl Fn(usize) -> bool,
        run: impl Fn(usize) -> u8,
    ) -> Vec<u8> {
        let mut x = seed;
        (0..n)
            .map(|i| {
                x = x.wrapping_mul(a).wrapping_add(c);
                if noisy(i) {
                    (x >> shift) as u8
                } else {
                    run(i)
                }
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn output_growth_past_the_address_space_is_an_error() {
        let mut v = vec![1u8, 2, 3];
        let e = GrowBuf::grow(&mut v, 1 << 56).unwrap_err();
        assert_eq!(e.kind(), ErrorKind::OutOfMemory, "{e}");
        assert_eq!(v, [1, 2, 3]);
        GrowBuf::grow(&mut v, 5).unwrap();
        assert_eq!(v, [1, 2, 3, 0, 0]);
        // grow_output reserves in steps of at most 1 GiB: a limit past the address space fails
        // only once that much is really asked for, as an allocation error.
        let mut out = Vec::new();
        grow_output(&mut out, 10, 1 << 56, "test").unwrap();
        assert!(out.capacity() >= 1 << 16);
        let mut full = vec![0u8; 16];
        let e = grow_output(&mut full, 10, 16, "test").unwrap_err();
        assert_eq!(e.kind(), ErrorKind::TooLarge);
    }
}
