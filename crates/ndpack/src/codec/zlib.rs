//! The `zlib` codec: zlib streams (RFC 1950), as numcodecs' `Zlib(level=1)`.
//!
//! Config: `{"id": "zlib", "level": 1}`; `level` is 0-9 (-1 is zlib's default, 6).
//! Encoding uses zlib-rs through flate2, so compressed bytes may differ from CPython's zlib;
//! either decodes the other's output to the same data. Inputs over 1 MiB are compressed as
//! independent 1 MiB segments in parallel, and large streams are decoded in parallel where their
//! producer left segment boundaries (see `backend::deflate`).

use serde_json::{json, Map, Value};

use super::{
    check_level, read_level, ArrayMut, ArrayRef, Codec, GrowBuf, NDBuffer, MAX_DECODED_SIZE,
};
use crate::backend::deflate::{encode_zlib, inflate, inflate_grow, inflate_into};
use crate::error::Result;

/// The numcodecs `zlib` codec.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Zlib {
    level: i32,
}

impl Default for Zlib {
    fn default() -> Self {
        Zlib { level: 1 }
    }
}

impl Zlib {
    /// A codec with compression `level` (0-9, or -1 for zlib's default).
    pub fn new(level: i32) -> Result<Self> {
        check_level("zlib", level.into(), -1, 9)?;
        Ok(Zlib { level })
    }

    /// Builds the codec from its numcodecs config.
    pub fn from_config(config: &Map<String, Value>) -> Result<Self> {
        let level = read_level("zlib", config, -1, 9)?;
        Ok(Zlib {
            level: level as i32,
        })
    }
}

impl Codec for Zlib {
    fn id(&self) -> &'static str {
        "zlib"
    }

    fn config(&self) -> Value {
        json!({"id": "zlib", "level": self.level})
    }

    fn encode(&self, input: ArrayRef<'_>) -> Result<NDBuffer> {
        Ok(NDBuffer::from_bytes(encode_zlib(input.data, self.level)?))
    }

    fn decode(&self, input: ArrayRef<'_>) -> Result<NDBuffer> {
        let (out, _) = inflate(input.data, true, MAX_DECODED_SIZE)?;
        Ok(NDBuffer::from_bytes(out))
    }

    fn decode_into(&self, input: &[u8], out: ArrayMut<'_>) -> Result<()> {
        inflate_into(input, true, out.data).map(|_| ())
    }

    fn decode_grow(&self, encoded: &[u8], out: &mut dyn GrowBuf) -> Option<Result<usize>> {
        Some(inflate_grow(encoded, true, out, 0, MAX_DECODED_SIZE).map(|(_, n)| n))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::backend::deflate::{deflate, parallel};
    use crate::codec::test_util::round_trip;
    use flate2::{Compress, Compression, Decompress, FlushCompress, FlushDecompress, Status};

    #[test]
    fn decode_grow_equals_decode() {
        let c = Zlib::new(1).unwrap();
        for n in [0usize, 10, 5000, 1 << 20] {
            let d: Vec<u8> = (0..n).map(|i| ((i / 7) % 13) as u8).collect();
            let enc = c.encode(ArrayRef::bytes(&d)).unwrap();
            // From empty, and from a buffer too small to hold the result.
            for start in [0usize, 3] {
                let mut out = vec![0u8; start];
                let got = c.decode_grow(enc.bytes(), &mut out).unwrap().unwrap();
                assert_eq!(&out[..got], &d[..]);
            }
            if enc.bytes().len() > 4 {
                let cut = &enc.bytes()[..enc.bytes().len() - 3];
                let mut out = Vec::new();
                assert!(c.decode_grow(cut, &mut out).unwrap().is_err());
            }
        }
    }
    use crate::error::ErrorKind;

    fn sample() -> Vec<u8> {
        (0..100_000u32)
            .flat_map(|i| (i / 7).to_le_bytes())
            .collect()
    }

    #[test]
    fn round_trip_every_level() {
        let data = sample();
        for level in -1..=9 {
            let c = Zlib::new(level).unwrap();
            round_trip(&c, &data, &format!("level {level}"));
        }
    }

    /// zlib-rs streaming alone: the serial reference.
    fn streaming(enc: &[u8]) -> Vec<u8> {
        let mut d = Decompress::new(true);
        let mut out = Vec::with_capacity(enc.len() * 4 + 64);
        loop {
            let used = d.total_in() as usize;
            match d
                .decompress_vec(&enc[used..], &mut out, FlushDecompress::Finish)
                .unwrap()
            {
                Status::StreamEnd => return out,
                _ => out.reserve(out.capacity()),
            }
        }
    }

    #[test]
    fn large_streams_are_segmented_and_decode_alike() {
        if crate::threads::get_num_threads() < 2 {
            crate::threads::set_num_threads(2).unwrap();
        }
        let c = Zlib::default();
        let n = (3 << 20) + 12345;
        let d = parallel::noisy_test_bytes(n);
        let enc = c.encode(ArrayRef::bytes(&d)).unwrap();
        let enc = enc.bytes();
        assert!(enc.len() > 1 << 20);
        assert_eq!(&enc[..2], &parallel::zlib_header(1));
        assert_eq!(streaming(enc), d);
        // A single deflate stream (as numcodecs writes) and one from a compressor whose sync
        // flushes keep the window: no or false segment starts, decoded all the same.
        let single = deflate(&d, 1, true).unwrap();
        let mut shared = Compress::new(Compression::new(6), true);
        let mut synced = Vec::with_capacity(n * 2);
        for (i, chunk) in d.chunks(300_000).enumerate() {
            let last = (i + 1) * 300_000 >= n;
            let f = if last {
                FlushCompress::Finish
            } else {
                FlushCompress::Sync
            };
            shared.compress_vec(chunk, &mut synced, f).unwrap();
        }
        for stream in [enc, &single[..], &synced[..]] {
            assert_eq!(c.decode(ArrayRef::bytes(stream)).unwrap().bytes(), &d[..]);
            let mut out = vec![0u8; n];
            c.decode_into(stream, ArrayMut::bytes(&mut out)).unwrap();
            assert_eq!(out, d);
            let mut grown = Vec::new();
            let got = c.decode_grow(stream, &mut grown).unwrap().unwrap();
            assert_eq!(&grown[..got], &d[..]);
            // The same errors as the serial path: a bad Adler-32, a cut stream, a wrong size.
            let mut bad = stream.to_vec();
            let last = bad.len() - 1;
            bad[last] ^= 1;
            assert_eq!(
                c.decode(ArrayRef::bytes(&bad)).unwrap_err().kind(),
                ErrorKind::Corrupt
            );
            assert!(c.decode_grow(&bad, &mut Vec::new()).unwrap().is_err());
            assert!(c.decode_into(&bad, ArrayMut::bytes(&mut out)).is_err());
            let cut = &stream[..stream.len() - 10];
            assert_eq!(
                c.decode(ArrayRef::bytes(cut)).unwrap_err().kind(),
                ErrorKind::Truncated
            );
            for wrong in [n - 1, n + 1, 2 * n] {
                let mut out = vec![0u8; wrong];
                let e = c
                    .decode_into(stream, ArrayMut::bytes(&mut out))
                    .unwrap_err();
                assert_eq!(e.kind(), ErrorKind::InvalidArgument, "{wrong}");
            }
        }
    }

    #[test]
    fn known_stream_from_python_zlib() {
        // zlib.compress(b"hello hello hello", 1) in CPython.
        let enc = [
            0x78, 0x01, 0xcb, 0x48, 0xcd, 0xc9, 0xc9, 0x57, 0xc8, 0x40, 0x90, 0x00, 0x3a, 0x2e,
            0x06, 0x7d,
        ];
        let dec = Zlib::default().decode(ArrayRef::bytes(&enc)).unwrap();
        assert_eq!(dec.bytes(), b"hello hello hello");
    }

    #[test]
    fn bad_input_is_an_error() {
        let data = sample();
        let enc = Zlib::default().encode(ArrayRef::bytes(&data)).unwrap();
        let cut = &enc.bytes()[..enc.bytes().len() / 2];
        let e = Zlib::default().decode(ArrayRef::bytes(cut)).unwrap_err();
        assert_eq!(e.kind(), ErrorKind::Truncated);
        assert!(Zlib::default()
            .decode(ArrayRef::bytes(b"not zlib"))
            .is_err());
        let mut small = vec![0u8; 10];
        assert!(Zlib::default()
            .decode_into(enc.bytes(), ArrayMut::bytes(&mut small))
            .is_err());
        assert!(Zlib::new(10).is_err());
    }
}
