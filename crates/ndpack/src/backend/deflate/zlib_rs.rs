//! One-shot inflate with zlib-rs, for builds without the `libdeflate` feature: the same calls
//! and outcomes as the libdeflate module, a whole raw deflate or zlib stream decoded in one call
//! into memory that is already there. Slower than libdeflate, and the memory is zeroed first.

use std::mem::MaybeUninit;

use flate2::{Decompress, FlushDecompress, Status};

use crate::error::Result;

pub(crate) use super::{Format, Outcome};

/// Inflates `data` into `out`; the output may be shorter than `out` (see `written`).
pub(crate) fn inflate_into_slice(data: &[u8], format: Format, out: &mut [u8]) -> Result<Outcome> {
    let mut d = Decompress::new(format == Format::Zlib);
    Ok(match d.decompress(data, out, FlushDecompress::Finish) {
        Ok(Status::StreamEnd) => Outcome::Done {
            consumed: d.total_in() as usize,
            written: d.total_out() as usize,
        },
        Ok(_) if d.total_out() as usize == out.len() => Outcome::NoSpace,
        Ok(_) | Err(_) => Outcome::BadData,
    })
}

/// Inflates `data` into the spare capacity of `out` (after its current length); on success the
/// decoded bytes are appended, otherwise `out` is unchanged.
pub(crate) fn inflate_into_spare(
    data: &[u8],
    format: Format,
    out: &mut Vec<u8>,
) -> Result<Outcome> {
    let len = out.len();
    out.resize(out.capacity(), 0);
    let outcome = inflate_into_slice(data, format, &mut out[len..]);
    let written = match outcome {
        Ok(Outcome::Done { written, .. }) => written,
        _ => 0,
    };
    out.truncate(len + written);
    outcome
}

/// Inflates `data` into possibly uninitialised memory; on success its first `written` bytes are
/// initialised.
pub(crate) fn inflate_into_uninit(
    data: &[u8],
    format: Format,
    out: &mut [MaybeUninit<u8>],
) -> Result<Outcome> {
    for b in out.iter_mut() {
        b.write(0);
    }
    // SAFETY: every byte of `out` was initialised just above, and `MaybeUninit<u8>` has the
    // layout of `u8`.
    let out = unsafe { &mut *(out as *mut [MaybeUninit<u8>] as *mut [u8]) };
    inflate_into_slice(data, format, out)
}
