//! bzip2 streams: compression (one stream, or independent streams of fixed-size pieces in
//! parallel) and decompression as Python's `bz2.decompress` does it (concatenated streams,
//! trailing non-stream data ignored), block by block in parallel when the input's structure allows
//! it ([`blocks`]), else serially, with the same result either way.

mod blocks;

use bzip2::{Compress, Compression, Decompress, Status};
use rayon::prelude::*;

use super::stream::{self, StepResult, StreamStep};
use super::{backend_error, check_out_len};
use crate::buffer::try_reserve_total;
use crate::error::{Error, Result};
use crate::threads;

/// Below this many compressed bytes, decoding stays serial (the search for blocks would cost
/// more than it saves).
const PARALLEL_MIN_INPUT: usize = 16 << 10;

/// One complete stream of `data` at `level` (1-9).
pub(crate) fn compress_stream(data: &[u8], level: u32) -> Result<Vec<u8>> {
    let mut c = Compress::new(Compression::new(level), 0);
    let mut out = Vec::with_capacity(data.len() + data.len() / 100 + 600);
    loop {
        let consumed = c.total_in() as usize;
        let status = c
            .compress_vec(&data[consumed..], &mut out, bzip2::Action::Finish)
            .map_err(|e| backend_error("bz2", e))?;
        match status {
            Status::StreamEnd => return Ok(out),
            _ => out.reserve(out.capacity().max(1024)),
        }
    }
}

/// `data` at `level`: one stream up to `piece` bytes, else one independent stream per piece of
/// `piece` bytes, compressed in parallel and concatenated (bytes independent of the thread count).
pub(crate) fn compress(data: &[u8], level: u32, piece: usize) -> Result<Vec<u8>> {
    if data.len() <= piece {
        return compress_stream(data, level);
    }
    let streams = threads::install(|| {
        data.par_chunks(piece)
            .map(|p| compress_stream(p, level))
            .collect::<Result<Vec<_>>>()
    })?;
    let mut out = Vec::with_capacity(streams.iter().map(Vec::len).sum());
    for s in &streams {
        out.extend_from_slice(s);
    }
    Ok(out)
}

/// Decodes `data` as `bz2.decompress` does (at most `limit` bytes), with the serial decoder only.
///
/// The reference that the parallel decoder is tested (and fuzzed) against.
#[cfg(any(test, fuzzing))]
pub fn decompress_serial(data: &[u8], limit: usize) -> Result<Vec<u8>> {
    let mut out = Vec::new();
    decompress_from(data, 0, &mut out, limit)?;
    Ok(out)
}

/// Decodes `data` as `bz2.decompress` does (at most `limit` bytes), trying the parallel block
/// decoder first whatever the input size or thread count; gives exactly what
/// [`decompress_serial`] gives.
#[cfg(any(test, fuzzing))]
pub fn decompress_parallel(data: &[u8], limit: usize) -> Result<Vec<u8>> {
    decompress_with(data, limit, true)
}

fn truncated() -> Error {
    Error::truncated("bz2: compressed data ended before the end-of-stream marker was reached")
}

fn corrupt(e: bzip2::Error) -> Error {
    Error::corrupt(format!("bz2: invalid data stream ({e})"))
}

/// bzip2's decoder, as the one-stream loops drive it; invalid data is a `true` error.
impl StreamStep for Decompress {
    fn totals(&self) -> (u64, u64) {
        (self.total_in(), self.total_out())
    }

    fn step(&mut self, input: &[u8], out: &mut [u8]) -> StepResult<bool> {
        let status = self
            .decompress(input, out)
            .map_err(|e| (true, corrupt(e)))?;
        Ok(status == Status::StreamEnd)
    }

    fn step_vec(&mut self, input: &[u8], out: &mut Vec<u8>) -> StepResult<bool> {
        let status = self
            .decompress_vec(input, out)
            .map_err(|e| (true, corrupt(e)))?;
        Ok(status == Status::StreamEnd)
    }
}

/// Decodes one stream from the start of `data`, appending to `out`. Returns the input
/// consumed; errors carry whether the data was not a valid stream.
fn decode_stream_vec(data: &[u8], out: &mut Vec<u8>, limit: usize) -> StepResult<usize> {
    stream::decode_to_vec(
        &mut Decompress::new(false),
        data,
        out,
        limit,
        "bz2",
        truncated,
    )
}

/// Decodes one stream from the start of `data` into the start of `out`.
/// Returns `(input consumed, output written)`; errors as [`decode_stream_vec`].
fn decode_stream_slice(data: &[u8], out: &mut [u8]) -> StepResult<(usize, usize)> {
    stream::decode_to_slice(&mut Decompress::new(false), data, out, truncated)
}

/// The serial decoder from byte `pos` on, appending to `out` (which holds what the streams
/// before `pos` decoded to): concatenated streams, trailing non-stream data ignored.
fn decompress_from(data: &[u8], pos: usize, out: &mut Vec<u8>, limit: usize) -> Result<()> {
    stream::concatenated(data, pos, false, |rest| {
        let before = out.len();
        decode_stream_vec(rest, out, limit).inspect_err(|_| out.truncate(before))
    })
}

/// Whether decoding `data` is worth trying in parallel.
fn parallel_worthwhile(data: &[u8]) -> bool {
    data.len() >= PARALLEL_MIN_INPUT && threads::get_num_threads() > 1
}

/// `bz2.decompress`: the streams that decode in parallel, then the serial decoder for the rest.
fn decompress_with(data: &[u8], limit: usize, parallel: bool) -> Result<Vec<u8>> {
    let mut out = Vec::new();
    let mut pos = 0;
    if parallel {
        let (blocks, end) = threads::install(|| blocks::decode_prefix(data, limit));
        let total = blocks.iter().map(Vec::len).sum();
        try_reserve_total(&mut out, total, "bz2")?;
        for b in &blocks {
            out.extend_from_slice(b);
        }
        pos = end;
    }
    decompress_from(data, pos, &mut out, limit)?;
    Ok(out)
}

/// `bz2.decompress`: concatenated streams, trailing non-stream data ignored, into a new vector
/// of at most `limit` bytes.
pub(crate) fn decompress(data: &[u8], limit: usize) -> Result<Vec<u8>> {
    decompress_with(data, limit, parallel_worthwhile(data))
}

/// `bz2.decompress` into exactly `out.len()` bytes.
pub(crate) fn decompress_into(data: &[u8], out: &mut [u8]) -> Result<()> {
    decompress_into_with(data, out, parallel_worthwhile(data))
}

/// [`decompress_into`], trying the parallel decoder first when `parallel`.
fn decompress_into_with(data: &[u8], out: &mut [u8], parallel: bool) -> Result<()> {
    let mut pos = 0;
    let mut written = 0;
    if parallel {
        let (blocks, end) = threads::install(|| blocks::decode_prefix(data, out.len()));
        // Streams that do not fit are left to the serial decoder, which reports the error.
        if blocks.iter().map(Vec::len).sum::<usize>() <= out.len() {
            for b in &blocks {
                out[written..written + b.len()].copy_from_slice(b);
                written += b.len();
            }
            pos = end;
        }
    }
    stream::concatenated(data, pos, false, |rest| {
        let (used, n) = decode_stream_slice(rest, &mut out[written..])?;
        written += n;
        Ok(used)
    })?;
    check_out_len(out.len(), written)
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use crate::backend::test_data::noise_and_runs;

    const LIMIT: usize = 1 << 34;

    /// The parallel decoder gives what the serial one gives: the same bytes or the same error kind.
    pub(crate) fn same_as_serial(data: &[u8]) {
        let serial = decompress_serial(data, LIMIT);
        let parallel = decompress_parallel(data, LIMIT);
        match (&serial, &parallel) {
            (Ok(a), Ok(b)) => assert!(a == b, "decoded bytes differ"),
            (Err(a), Err(b)) => assert_eq!(a.kind(), b.kind(), "{a} / {b}"),
            _ => panic!("serial {serial:?} / parallel {parallel:?}"),
        }
        if let Ok(expected) = serial {
            // decode_into on exactly the right size, and one byte off either way.
            for n in [
                expected.len(),
                expected.len() + 1,
                expected.len().saturating_sub(1),
            ] {
                let mut a = vec![0u8; n];
                let mut b = vec![0u8; n];
                let ra = decompress_into_serial(data, &mut a);
                let rb = decompress_into(data, &mut b);
                assert_eq!(ra.map_err(|e| e.kind()), rb.map_err(|e| e.kind()));
                if n == expected.len() {
                    assert!(a == b && a == expected);
                }
            }
        }
    }

    /// The serial decoder alone (not by setting the pool to 1 thread: tests run at once, and
    /// others need 2).
    fn decompress_into_serial(data: &[u8], out: &mut [u8]) -> Result<()> {
        decompress_into_with(data, out, false)
    }

    pub(crate) fn varied(n: usize) -> Vec<u8> {
        let lcg = (1_664_525, 1_013_904_223);
        noise_and_runs(
            n,
            7,
            lcg,
            24,
            |i| (i / 4096) % 3 == 0,
            |i| ((i / 13) % 251) as u8,
        )
    }

    #[test]
    fn parallel_decoding_equals_serial_on_valid_and_damaged_input() {
        let d = varied(700_000);
        let one = compress_stream(&d, 1).unwrap();
        let mut multi = compress(&d, 1, 900_000).unwrap();
        assert_eq!(multi, one, "up to one piece, one stream");
        multi.extend_from_slice(&compress_stream(&d[..5000], 3).unwrap());
        for enc in [&one, &multi] {
            same_as_serial(enc);
            let mut junk = enc.clone();
            junk.extend_from_slice(b"trailing junk");
            same_as_serial(&junk);
            for cut in [
                5,
                20,
                enc.len() / 3,
                enc.len() / 2,
                enc.len() - 20,
                enc.len() - 1,
            ] {
                same_as_serial(&enc[..cut]);
            }
            for at in (0..enc.len()).step_by(enc.len() / 37) {
                for bit in [0x01, 0x80] {
                    let mut bad = enc.clone();
                    bad[at] ^= bit;
                    same_as_serial(&bad);
                }
            }
            // A block magic written into the middle of compressed data.
            let mut fake = enc.clone();
            let at = enc.len() / 2;
            fake[at..at + 6].copy_from_slice(&[0x31, 0x41, 0x59, 0x26, 0x53, 0x59]);
            same_as_serial(&fake);
        }
    }
}
