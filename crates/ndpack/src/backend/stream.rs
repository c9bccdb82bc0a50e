//! The loops that drive a streaming decoder (bzip2's, liblzma's) over one stream: into a
//! growing `Vec` under a size limit, or into a caller's slice that it must not overflow. The
//! codecs supply one decoding step ([`StreamStep`]); the loops own the output growth, the
//! overflow check and the detection of input that ends before the stream does; [`concatenated`]
//! runs one of them over streams that follow each other.

use super::{grow_output, out_too_small};
use crate::error::{Error, Result};

/// A result whose error carries whether the data was not a valid stream (`true`): the bz2
/// and lzma decoders ignore such data after the first stream, as Python's modules do.
pub(crate) type StepResult<T> = std::result::Result<T, (bool, Error)>;

/// One step of a streaming decoder.
pub(crate) trait StreamStep {
    /// The input consumed and the output written so far.
    fn totals(&self) -> (u64, u64);
    /// Decodes from `input` into `out`; `true` once the stream has ended.
    fn step(&mut self, input: &[u8], out: &mut [u8]) -> StepResult<bool>;
    /// Decodes from `input` into the spare capacity of `out`; `true` once the stream has ended.
    fn step_vec(&mut self, input: &[u8], out: &mut Vec<u8>) -> StepResult<bool>;
}

/// Decodes one stream from the start of `data` with `d`, appending to `out` (grown as
/// [`grow_output`] does, up to `limit` bytes in all; `id` names the codec in its error).
/// Returns the input consumed; `truncated` is the error for data that ends inside the stream.
pub(crate) fn decode_to_vec(
    d: &mut impl StreamStep,
    data: &[u8],
    out: &mut Vec<u8>,
    limit: usize,
    id: &str,
    truncated: fn() -> Error,
) -> StepResult<usize> {
    loop {
        if out.len() == out.capacity() {
            grow_output(out, data.len(), limit, id).map_err(|e| (false, e))?;
        }
        let (in0, out0) = d.totals();
        if d.step_vec(&data[in0 as usize..], out)? {
            return Ok(d.totals().0 as usize);
        }
        if d.totals() == (in0, out0) && out.len() < out.capacity() {
            return Err((false, truncated()));
        }
    }
}

/// Decodes one stream from the start of `data` with `d` into the start of `out`, which it
/// must not overflow. Returns `(input consumed, output written)`; `truncated` is the error
/// for data that ends inside the stream.
pub(crate) fn decode_to_slice(
    d: &mut impl StreamStep,
    data: &[u8],
    out: &mut [u8],
    truncated: fn() -> Error,
) -> StepResult<(usize, usize)> {
    // Once `out` is full, one more byte tells whether the stream holds more.
    let mut probe = [0u8; 1];
    loop {
        let (in0, out0) = d.totals();
        let written = out0 as usize;
        let dest = if written < out.len() {
            &mut out[written..]
        } else {
            &mut probe[..]
        };
        let ended = d.step(&data[in0 as usize..], dest)?;
        let (used, total) = d.totals();
        if total as usize > out.len() {
            return Err((false, out_too_small(out.len())));
        }
        if ended {
            return Ok((used as usize, total as usize));
        }
        if (used, total) == (in0, out0) {
            return Err((false, truncated()));
        }
    }
}

/// Decodes the streams of `data` from byte `pos` on, one after the other, as Python's `bz2` and
/// `lzma` modules do: `one` decodes the stream at the start of its input (appending its output,
/// and dropping it again when it fails) and gives the input it consumed. Data after the first
/// stream that is not a valid stream (a `true` error) ends the loop without an error. With
/// `from_empty`, the first stream is decoded even from empty input (liblzma's error for it).
pub(crate) fn concatenated(
    data: &[u8],
    mut pos: usize,
    from_empty: bool,
    mut one: impl FnMut(&[u8]) -> StepResult<usize>,
) -> Result<()> {
    let mut first = from_empty;
    while pos < data.len() || first {
        first = false;
        match one(&data[pos..]) {
            Ok(used) => pos += used,
            Err((true, _)) if pos > 0 => break,
            Err((_, e)) => return Err(e),
        }
    }
    Ok(())
}
