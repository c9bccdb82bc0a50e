//! The `bz2` codec: bzip2 streams, as numcodecs' `BZ2(level=1)` (Python's `bz2.compress` and
//! `bz2.decompress`).
//!
//! Config: `{"id": "bz2", "level": 1}`; `level` is the block size in units of 100 kB, 1-9.
//! Decoding follows `bz2.decompress`: streams one after the other are concatenated; data after
//! a complete stream that does not start a valid stream is ignored; empty input decodes to
//! nothing.
//!
//! Encoding: inputs larger than [`Bz2::piece_size`] (a fixed multiple of the block size) become
//! concatenated independent streams, one per piece, compressed in parallel; the bytes do not
//! depend on the thread count, and smaller inputs give exactly the one stream they always gave.
//! Decoding: every input (ours, Python's, pbzip2's) is decoded block by block in parallel when
//! its structure allows it (see `backend::bz2`), else serially, with the same result either way.

use serde_json::{json, Map, Value};

use super::{check_level, read_level, ArrayMut, ArrayRef, Codec, NDBuffer, MAX_DECODED_SIZE};
use crate::backend::bz2::{compress, decompress, decompress_into};
use crate::error::Result;

/// Inputs split into independent streams have pieces of this many blocks' worth of input.
const PIECE_BLOCKS: usize = 9;

/// The numcodecs `bz2` codec.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Bz2 {
    level: u32,
}

impl Default for Bz2 {
    fn default() -> Self {
        Bz2 { level: 1 }
    }
}

impl Bz2 {
    /// A codec with compression `level` (1-9).
    pub fn new(level: u32) -> Result<Self> {
        check_level("bz2", level.into(), 1, 9)?;
        Ok(Bz2 { level })
    }

    /// Builds the codec from its numcodecs config.
    pub fn from_config(config: &Map<String, Value>) -> Result<Self> {
        let level = read_level("bz2", config, 1, 9)?;
        Ok(Bz2 {
            level: level as u32,
        })
    }

    /// The input size above which `encode` writes one independent stream per piece of this
    /// size (compressed in parallel): `PIECE_BLOCKS` blocks of `level` * 100 000 bytes.
    pub fn piece_size(&self) -> usize {
        PIECE_BLOCKS * self.level as usize * 100_000
    }
}

impl Codec for Bz2 {
    fn id(&self) -> &'static str {
        "bz2"
    }

    fn config(&self) -> Value {
        json!({"id": "bz2", "level": self.level})
    }

    fn encode(&self, input: ArrayRef<'_>) -> Result<NDBuffer> {
        let out = compress(input.data, self.level, self.piece_size())?;
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
    use crate::backend::bz2::tests::{same_as_serial, varied};
    use crate::backend::bz2::{compress_stream, decompress_parallel};
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
        let c = Bz2::default();
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
            let c = Bz2::new(level).unwrap();
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
        assert!(Bz2::new(0).is_err());
        assert!(Bz2::new(10).is_err());
        let e =
            Bz2::from_config(json!({"id": "bz2", "level": 0}).as_object().unwrap()).unwrap_err();
        assert_eq!(e.kind(), ErrorKind::InvalidConfig);
        assert!(e.message().contains("level"));
    }

    #[test]
    fn large_inputs_become_independent_streams_of_fixed_pieces() {
        for level in [1u32, 2] {
            let c = Bz2::new(level).unwrap();
            let piece = c.piece_size();
            for n in [piece - 1, piece, piece + 1, 2 * piece + 123] {
                let d = varied(n);
                let enc = c.encode(ArrayRef::bytes(&d)).unwrap();
                let expected: Vec<u8> = d
                    .chunks(piece)
                    .flat_map(|p| compress_stream(p, level).unwrap())
                    .collect();
                assert!(enc.bytes() == &expected[..], "level {level}, {n} bytes");
                assert_eq!(
                    decompress_parallel(enc.bytes(), MAX_DECODED_SIZE).unwrap(),
                    d
                );
                same_as_serial(enc.bytes());
            }
        }
    }

    #[test]
    fn bad_input_is_an_error() {
        let c = Bz2::default();
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
