//! The `bz2` codec: bzip2 streams, as numcodecs' `BZ2(level=1)` (Python's `bz2.compress` and
//! `bz2.decompress`).
//!
//! Config: `{"id": "bz2", "level": 1}`; `level` is the block size in units of 100 kB, 1-9.
//! Decoding follows `bz2.decompress`: streams one after the other are concatenated; data after
//! a complete stream that does not start a valid stream is ignored; empty input decodes to
//! nothing.
//!
//! Encoding: inputs larger than [`BZ2::piece_size`] (a fixed multiple of the block size) become
//! concatenated independent streams, one per piece, compressed in parallel; the bytes do not
//! depend on the thread count, and smaller inputs give exactly the one stream they always gave.
//! Decoding: every input (ours, Python's, pbzip2's) is decoded block by block in parallel when
//! its structure allows it (see `par`), else serially, with the same result either way.

mod par;

use bzip2::{Compress, Compression, Decompress, Status};
use serde_json::{json, Map, Value};

use rayon::prelude::*;

use super::stream_loop::{self, StepResult, StreamStep};
use super::{
    backend_error, check_level, check_out_len, read_level, ArrayMut, ArrayRef, Codec, NDBuffer,
    MAX_DECODED_SIZE,
};
use crate::error::{Error, Result};
use crate::threads;

/// Inputs split into independent streams have pieces of this many blocks' worth of input.
const PIECE_BLOCKS: usize = 9;

/// Below this many compressed bytes, decoding stays serial (the search for blocks would cost
/// more than it saves).
const PARALLEL_MIN_INPUT: usize = 16 << 10;

/// The numcodecs `bz2` codec.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BZ2 {
    level: u32,
}

impl Default for BZ2 {
    fn default() -> Self {
        BZ2 { level: 1 }
    }
}

impl BZ2 {
    /// A codec with compression `level` (1-9).
    pub fn new(level: u32) -> Result<Self> {
        check_level("bz2", level.into(), 1, 9)?;
        Ok(BZ2 { level })
    }

    /// Builds the codec from its numcodecs config.
    pub fn from_config(config: &Map<String, Value>) -> Result<Self> {
        let level = read_level("bz2", config, 1, 9)?;
        Ok(BZ2 {
            level: level as u32,
        })
    }

    /// The input size above which `encode` writes one independent stream per piece of this
    /// size (compressed in parallel): `PIECE_BLOCKS` blocks of `level` * 100 000 bytes.
    pub fn piece_size(&self) -> usize {
        PIECE_BLOCKS * self.level as usize * 100_000
    }

    /// One complete stream of `data`.
    fn compress_stream(&self, data: &[u8]) -> Result<Vec<u8>> {
        let mut c = Compress::new(Compression::new(self.level), 0);
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
}

/// Decodes `data` as `bz2.decompress` does, with the serial decoder only.
///
/// The reference that the parallel decoder is tested (and fuzzed) against.
pub fn decompress_serial(data: &[u8]) -> Result<Vec<u8>> {
    let mut out = Vec::new();
    decompress_from(data, 0, &mut out, MAX_DECODED_SIZE)?;
    Ok(out)
}

/// Decodes `data` as `bz2.decompress` does, trying the parallel block decoder first whatever the
/// input size or thread count; gives exactly what [`decompress_serial`] gives.
pub fn decompress_parallel(data: &[u8]) -> Result<Vec<u8>> {
    decompress_with(data, MAX_DECODED_SIZE, true)
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
    stream_loop::decode_to_vec(
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
    stream_loop::decode_to_slice(&mut Decompress::new(false), data, out, truncated)
}

/// The serial decoder from byte `pos` on, appending to `out` (which holds what the streams
/// before `pos` decoded to): concatenated streams, trailing non-stream data ignored.
fn decompress_from(data: &[u8], mut pos: usize, out: &mut Vec<u8>, limit: usize) -> Result<()> {
    while pos < data.len() {
        let before = out.len();
        match decode_stream_vec(&data[pos..], out, limit) {
            Ok(used) => pos += used,
            Err((true, _)) if pos > 0 => {
                out.truncate(before);
                break;
            }
            Err((_, e)) => return Err(e),
        }
    }
    Ok(())
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
        let (blocks, end) = threads::install(|| par::decode_prefix(data, limit));
        let total = blocks.iter().map(Vec::len).sum();
        out.try_reserve_exact(total)
            .map_err(|_| Error::alloc_failed("bz2", total))?;
        for b in &blocks {
            out.extend_from_slice(b);
        }
        pos = end;
    }
    decompress_from(data, pos, &mut out, limit)?;
    Ok(out)
}

/// `bz2.decompress`: concatenated streams, trailing non-stream data ignored, into a new vector.
fn decompress(data: &[u8], limit: usize) -> Result<Vec<u8>> {
    decompress_with(data, limit, parallel_worthwhile(data))
}

/// `bz2.decompress` into exactly `out.len()` bytes.
fn decompress_into(data: &[u8], out: &mut [u8]) -> Result<()> {
    decompress_into_with(data, out, parallel_worthwhile(data))
}

/// [`decompress_into`], trying the parallel decoder first when `parallel`.
fn decompress_into_with(data: &[u8], out: &mut [u8], parallel: bool) -> Result<()> {
    let mut pos = 0;
    let mut written = 0;
    if parallel {
        let (blocks, end) = threads::install(|| par::decode_prefix(data, out.len()));
        // Streams that do not fit are left to the serial decoder, which reports the error.
        if blocks.iter().map(Vec::len).sum::<usize>() <= out.len() {
            for b in &blocks {
                out[written..written + b.len()].copy_from_slice(b);
                written += b.len();
            }
            pos = end;
        }
    }
    while pos < data.len() {
        match decode_stream_slice(&data[pos..], &mut out[written..]) {
            Ok((used, n)) => {
                pos += used;
                written += n;
            }
            Err((true, _)) if pos > 0 => break,
            Err((_, e)) => return Err(e),
        }
    }
    check_out_len(out.len(), written)
}

impl Codec for BZ2 {
    fn id(&self) -> &'static str {
        "bz2"
    }

    fn config(&self) -> Value {
        json!({"id": "bz2", "level": self.level})
    }

    fn encode(&self, input: ArrayRef<'_>) -> Result<NDBuffer> {
        let data = input.data;
        let piece = self.piece_size();
        if data.len() <= piece {
            return Ok(NDBuffer::from_bytes(self.compress_stream(data)?));
        }
        let streams = threads::install(|| {
            data.par_chunks(piece)
                .map(|p| self.compress_stream(p))
                .collect::<Result<Vec<_>>>()
        })?;
        let mut out = Vec::with_capacity(streams.iter().map(Vec::len).sum());
        for s in &streams {
            out.extend_from_slice(s);
        }
        Ok(NDBuffer::from_bytes(out))
    }

    fn decode(&self, input: ArrayRef<'_>) -> Result<NDBuffer> {
        Ok(NDBuffer::from_bytes(decompress(
            input.data,
            MAX_DECODED_SIZE,
        )?))
    }

    fn decode_into(&self, input: &[u8], out: ArrayMut<'_>) -> Result<()> {
        decompress_into(input, out.data)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::codec::test_util::{assert_out_size_checked, round_trip};
    use crate::error::ErrorKind;

    /// numcodecs.BZ2(level=1).encode(b"abc")
    const PY_ABC: [u8; 38] = [
        0x42, 0x5a, 0x68, 0x31, 0x31, 0x41, 0x59, 0x26, 0x53, 0x59, 0x64, 0x8c, 0xbb, 0x73, 0x00,
        0x00, 0x00, 0x01, 0x00, 0x38, 0x00, 0x20, 0x00, 0x21, 0x98, 0x19, 0x84, 0x61, 0x77, 0x24,
        0x53, 0x85, 0x09, 0x06, 0x48, 0xcb, 0xb7, 0x30,
    ];

    fn sample(n: usize) -> Vec<u8> {
        (0..n).map(|i| ((i / 17) as u8).wrapping_mul(3)).collect()
    }

    #[test]
    fn decodes_python_streams() {
        let c = BZ2::default();
        assert_eq!(c.decode(ArrayRef::bytes(&PY_ABC)).unwrap().bytes(), b"abc");
        let mut two = PY_ABC.to_vec();
        two.extend_from_slice(&PY_ABC);
        assert_eq!(c.decode(ArrayRef::bytes(&two)).unwrap().bytes(), b"abcabc");
        let mut out = [0u8; 6];
        c.decode_into(&two, ArrayMut::bytes(&mut out)).unwrap();
        assert_eq!(&out, b"abcabc");
        // Trailing garbage after a complete stream is ignored, as bz2.decompress does.
        let mut junk = PY_ABC.to_vec();
        junk.extend_from_slice(b"garbage");
        assert_eq!(c.decode(ArrayRef::bytes(&junk)).unwrap().bytes(), b"abc");
        assert!(c.decode(ArrayRef::bytes(b"")).unwrap().bytes().is_empty());
    }

    #[test]
    fn round_trip_every_level() {
        for level in 1..=9 {
            let c = BZ2::new(level).unwrap();
            let sizes: &[usize] = if level == 1 {
                &[0, 1, 777, 2 << 20]
            } else {
                &[0, 1, 5000]
            };
            for &n in sizes {
                let d = sample(n);
                let enc = round_trip(&c, &d, &format!("level {level}, {n} bytes"));
                assert_eq!(&enc[..4], &[b'B', b'Z', b'h', b'0' + level as u8]);
            }
        }
        assert!(BZ2::new(0).is_err());
        assert!(BZ2::new(10).is_err());
        let e =
            BZ2::from_config(json!({"id": "bz2", "level": 0}).as_object().unwrap()).unwrap_err();
        assert_eq!(e.kind(), ErrorKind::InvalidConfig);
        assert!(e.message().contains("level"));
    }

    /// The parallel decoder gives what the serial one gives: the same bytes or the same error kind.
    fn same_as_serial(data: &[u8]) {
        let serial = decompress_serial(data);
        let parallel = decompress_parallel(data);
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

    fn varied(n: usize) -> Vec<u8> {
        let mut x = 7u32;
        (0..n)
            .map(|i| {
                x = x.wrapping_mul(1_664_525).wrapping_add(1_013_904_223);
                if (i / 4096) % 3 == 0 {
                    (x >> 24) as u8
                } else {
                    ((i / 13) % 251) as u8
                }
            })
            .collect()
    }

    #[test]
    fn parallel_decoding_equals_serial_on_valid_and_damaged_input() {
        let d = varied(700_000);
        let one = BZ2::new(1).unwrap().compress_stream(&d).unwrap();
        let mut multi = BZ2::default()
            .encode(ArrayRef::bytes(&d))
            .unwrap()
            .bytes()
            .to_vec();
        assert_eq!(multi, one, "up to one piece, one stream");
        multi.extend_from_slice(&BZ2::new(3).unwrap().compress_stream(&d[..5000]).unwrap());
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

    #[test]
    fn large_inputs_become_independent_streams_of_fixed_pieces() {
        for level in [1u32, 2] {
            let c = BZ2::new(level).unwrap();
            let piece = c.piece_size();
            for n in [piece - 1, piece, piece + 1, 2 * piece + 123] {
                let d = varied(n);
                let enc = c.encode(ArrayRef::bytes(&d)).unwrap();
                let expected: Vec<u8> = d
                    .chunks(piece)
                    .flat_map(|p| c.compress_stream(p).unwrap())
                    .collect();
                assert!(enc.bytes() == &expected[..], "level {level}, {n} bytes");
                assert_eq!(decompress_parallel(enc.bytes()).unwrap(), d);
                same_as_serial(enc.bytes());
            }
        }
    }

    #[test]
    fn bad_input_is_an_error() {
        let c = BZ2::default();
        let d = sample(300_000);
        let enc = c.encode(ArrayRef::bytes(&d)).unwrap();
        let enc = enc.bytes();
        for cut in [3, 40, enc.len() / 2, enc.len() - 1] {
            let e = c.decode(ArrayRef::bytes(&enc[..cut])).unwrap_err();
            assert_eq!(e.kind(), ErrorKind::Truncated, "cut {cut}: {e}");
            let mut out = vec![0u8; d.len()];
            let e = c
                .decode_into(&enc[..cut], ArrayMut::bytes(&mut out))
                .unwrap_err();
            assert_eq!(e.kind(), ErrorKind::Truncated, "cut {cut}: {e}");
        }
        let e = c.decode(ArrayRef::bytes(b"not bzip2 data")).unwrap_err();
        assert_eq!(e.kind(), ErrorKind::Corrupt);
        let mut bad = enc.to_vec();
        bad[enc.len() / 2] ^= 0x55;
        assert!(c.decode(ArrayRef::bytes(&bad)).is_err());
        assert_out_size_checked(&c, enc, d.len());
    }
}
