//! One-shot inflate with libdeflate: a whole raw deflate or zlib stream decoded in one call into
//! memory that is already there. About twice as fast as streaming zlib (zlib-rs) on this machine,
//! but it needs room for the whole output up front, and on bad data it cannot say whether the
//! stream was truncated or corrupt. Callers (the `zlib` and `gzip` codecs, NPZ members) therefore
//! use it first and fall back to the streaming inflater of [`super`] when the output does not fit
//! or the data is bad, which then gives the precise error.

use std::cell::RefCell;
use std::ptr::NonNull;

use libdeflate_sys as sys;

use crate::error::{Error, Result};

pub(crate) use super::{Format, Outcome};

/// A libdeflate decompressor (about 10 KB of tables), one per thread, reused across calls.
struct Decompressor(NonNull<sys::libdeflate_decompressor>);

impl Drop for Decompressor {
    fn drop(&mut self) {
        // SAFETY: the pointer came from `libdeflate_alloc_decompressor` and is freed once.
        unsafe { sys::libdeflate_free_decompressor(self.0.as_ptr()) }
    }
}

thread_local! {
    static DECOMPRESSOR: RefCell<Option<Decompressor>> = const { RefCell::new(None) };
}

/// Inflates `data` into the raw memory `out[..room]`, writing nothing outside it.
///
/// # Safety
/// `out` must be valid for writes of `room` bytes (it may be uninitialised).
unsafe fn inflate_raw(data: &[u8], format: Format, out: *mut u8, room: usize) -> Result<Outcome> {
    DECOMPRESSOR.with(|cell| {
        let mut slot = cell.borrow_mut();
        if slot.is_none() {
            // SAFETY: plain allocation; a null result is handled below.
            let p = unsafe { sys::libdeflate_alloc_decompressor() };
            let p = NonNull::new(p)
                .ok_or_else(|| Error::too_large("cannot allocate a libdeflate decompressor"))?;
            *slot = Some(Decompressor(p));
        }
        let d = slot.as_ref().expect("set above").0.as_ptr();
        let (mut consumed, mut written) = (0usize, 0usize);
        let f = match format {
            Format::Raw => sys::libdeflate_deflate_decompress_ex,
            Format::Zlib => sys::libdeflate_zlib_decompress_ex,
        };
        // SAFETY: `d` is a live decompressor used by this thread only; the input is a valid
        // slice; the caller guarantees `out` is writable for `room` bytes, and libdeflate writes
        // no more than `room` bytes there.
        let result = unsafe {
            f(
                d,
                data.as_ptr().cast(),
                data.len(),
                out.cast(),
                room,
                &mut consumed,
                &mut written,
            )
        };
        Ok(match result {
            sys::libdeflate_result_LIBDEFLATE_SUCCESS => Outcome::Done { consumed, written },
            sys::libdeflate_result_LIBDEFLATE_INSUFFICIENT_SPACE => Outcome::NoSpace,
            _ => Outcome::BadData,
        })
    })
}

/// Inflates `data` into the spare capacity of `out` (after its current length), without
/// zeroing it first; on success the decoded bytes are appended, otherwise `out` is unchanged.
pub(crate) fn inflate_into_spare(
    data: &[u8],
    format: Format,
    out: &mut Vec<u8>,
) -> Result<Outcome> {
    let len = out.len();
    let room = out.capacity() - len;
    // SAFETY: `len..capacity` is allocated memory of this Vec, valid for `room` byte writes.
    let outcome = unsafe { inflate_raw(data, format, out.as_mut_ptr().add(len), room)? };
    if let Outcome::Done { written, .. } = outcome {
        debug_assert!(written <= room);
        // SAFETY: libdeflate reported `written <= room` bytes initialised after `len`.
        unsafe { out.set_len(len + written) };
    }
    Ok(outcome)
}

/// Inflates `data` into `out`; the output may be shorter than `out` (see `written`).
pub(crate) fn inflate_into_slice(data: &[u8], format: Format, out: &mut [u8]) -> Result<Outcome> {
    // SAFETY: `out` is a valid, initialised, writable slice of `out.len()` bytes.
    unsafe { inflate_raw(data, format, out.as_mut_ptr(), out.len()) }
}

/// Inflates `data` into possibly uninitialised memory; on success its first `written` bytes are
/// initialised.
pub(crate) fn inflate_into_uninit(
    data: &[u8],
    format: Format,
    out: &mut [std::mem::MaybeUninit<u8>],
) -> Result<Outcome> {
    // SAFETY: `out` is valid for writes of `out.len()` bytes (initialised or not).
    unsafe { inflate_raw(data, format, out.as_mut_ptr().cast(), out.len()) }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample() -> Vec<u8> {
        (0..100_000u32)
            .flat_map(|i| (i / 7).to_le_bytes())
            .collect()
    }

    #[test]
    fn raw_and_zlib_round_trip_with_trailing_data() {
        let data = sample();
        for (format, header) in [(Format::Raw, false), (Format::Zlib, true)] {
            let mut enc = super::super::deflate(&data, 6, header).unwrap();
            let n = enc.len();
            enc.extend_from_slice(b"trailing");
            let mut out = Vec::with_capacity(data.len());
            let got = inflate_into_spare(&enc, format, &mut out).unwrap();
            assert_eq!(
                got,
                Outcome::Done {
                    consumed: n,
                    written: data.len()
                }
            );
            assert_eq!(out, data);
            let mut small = vec![0u8; data.len() - 1];
            assert_eq!(
                inflate_into_slice(&enc, format, &mut small).unwrap(),
                Outcome::NoSpace
            );
            let mut short = Vec::with_capacity(10);
            assert_eq!(
                inflate_into_spare(&enc, format, &mut short).unwrap(),
                Outcome::NoSpace
            );
            assert!(short.is_empty());
            assert_eq!(
                inflate_into_spare(&enc[..n / 2], format, &mut Vec::with_capacity(data.len()))
                    .unwrap(),
                Outcome::BadData
            );
        }
        // A zlib stream whose Adler-32 is wrong is bad data.
        let mut enc = super::super::deflate(&data, 6, true).unwrap();
        let n = enc.len();
        enc[n - 1] ^= 1;
        let mut out = Vec::with_capacity(data.len());
        assert_eq!(
            inflate_into_spare(&enc, Format::Zlib, &mut out).unwrap(),
            Outcome::BadData
        );
    }
}
