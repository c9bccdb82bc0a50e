//! The `zstd` codec: Zstandard frames, as numcodecs' `Zstd(level=0, checksum=False)`.
//!
//! Config: `{"id": "zstd", "level": 0, "checksum": false}`. `level` is passed to libzstd as
//! numcodecs does: 0 is zstd's default (3), negative levels are the fast modes, levels above the
//! maximum (22) are clamped. `checksum` adds zstd's XXH64 content checksum to each frame.
//!
//! Encoding writes numcodecs' exact bytes at every level and input size: one frame, compressed
//! on the calling thread.
//!
//! Decoding accepts one or more concatenated frames (and skippable frames), with or without a
//! declared content size: frames that declare their sizes are decoded in one call into an output
//! allocated once; others are streamed. Declared sizes are checked against what the input can
//! hold (a zstd block of at most 128 KiB takes at least 4 bytes) and against
//! [`MAX_DECODED_SIZE`].

use serde_json::{json, Map, Value};
use zstd::zstd_safe;

use super::{ArrayMut, ArrayRef, Codec, ConfigReader, NDBuffer, MAX_DECODED_SIZE};
use crate::backend::zstd::{self as zstd_backend, decompress_declared, stream_slice, stream_vec};
use crate::buffer::{AlignedBytes, Buffer};
use crate::error::{Error, Result};

/// The numcodecs `zstd` codec.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Zstd {
    level: i32,
    checksum: bool,
}

impl Zstd {
    /// A codec with compression `level` (as numcodecs: 0 is the default level, negative levels
    /// are faster, levels over 22 are clamped) and an optional content `checksum` per frame.
    pub fn new(level: i32, checksum: bool) -> Self {
        Zstd { level, checksum }
    }

    /// libzstd's default compression level (3), what level 0 stands for.
    pub fn default_level() -> i32 {
        // SAFETY: `ZSTD_defaultCLevel` takes no arguments and only returns a constant.
        unsafe { zstd_sys::ZSTD_defaultCLevel() }
    }

    /// The lowest (fastest) compression level of libzstd (-131072).
    pub fn min_level() -> i32 {
        zstd_safe::min_c_level()
    }

    /// The highest compression level of libzstd (22); higher levels are clamped to it.
    pub fn max_level() -> i32 {
        zstd_safe::max_c_level()
    }

    /// Builds the codec from its numcodecs config.
    pub fn from_config(config: &Map<String, Value>) -> Result<Self> {
        let mut r = ConfigReader::new("zstd", config)?;
        let level = r.int("level")?.unwrap_or(0);
        let checksum = r.bool("checksum")?.unwrap_or(false);
        let level =
            i32::try_from(level).map_err(|_| r.out_of_range("level", "a 32-bit integer"))?;
        r.finish()?;
        Ok(Zstd::new(level, checksum))
    }

    /// Compresses `data` into `out` (at least `compress_bound(data.len())` bytes) as one frame
    /// with this thread's compression context (numcodecs' bytes); returns the compressed size.
    fn compress_into(&self, data: &[u8], out: &mut [u8]) -> Result<usize> {
        zstd_backend::compress(data, out, self.level, self.checksum)
    }
}

impl Codec for Zstd {
    fn id(&self) -> &'static str {
        "zstd"
    }

    fn config(&self) -> Value {
        json!({"id": "zstd", "level": self.level, "checksum": self.checksum})
    }

    fn encode(&self, input: ArrayRef<'_>) -> Result<NDBuffer> {
        // A lazily zeroed block of the worst-case size: pages past the compressed end are never
        // touched.
        let mut block = AlignedBytes::zeroed(zstd_safe::compress_bound(input.data.len()));
        let n = self.compress_into(input.data, block.as_mut_slice())?;
        Ok(NDBuffer::from_bytes(Buffer::from_owner(block).slice(0..n)))
    }

    fn max_encoded_len(&self, input: &ArrayRef<'_>) -> Option<usize> {
        Some(zstd_safe::compress_bound(input.data.len()))
    }

    fn encode_into(&self, input: ArrayRef<'_>, out: &mut [u8]) -> Result<usize> {
        self.compress_into(input.data, out)
    }

    fn decoded_len(&self, encoded: &[u8]) -> Option<usize> {
        zstd_backend::frames_size(encoded, MAX_DECODED_SIZE)
            .ok()
            .flatten()
            .map(|n| n as usize)
    }

    fn decode(&self, input: ArrayRef<'_>) -> Result<NDBuffer> {
        let data = input.data;
        match zstd_backend::frames_size(data, MAX_DECODED_SIZE)? {
            Some(total) => {
                let mut block = AlignedBytes::try_for_overwrite(total as usize)?;
                decompress_declared(data, block.as_mut_slice())?;
                Ok(NDBuffer::from_bytes(Buffer::from_owner(block)))
            }
            None => {
                let mut out = Vec::new();
                stream_vec(data, &mut out, MAX_DECODED_SIZE)?;
                Ok(NDBuffer::from_bytes(out))
            }
        }
    }

    fn decode_into(&self, input: &[u8], out: ArrayMut<'_>) -> Result<()> {
        let out = out.data;
        match zstd_backend::frames_size(input, MAX_DECODED_SIZE)? {
            Some(total) => {
                if total != out.len() as u64 {
                    return Err(Error::invalid_argument(format!(
                        "output buffer has {} bytes, frames declare {total}",
                        out.len()
                    )));
                }
                decompress_declared(input, out)
            }
            None => stream_slice(input, out),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::codec::get_codec;
    use crate::codec::test_util::{assert_cuts_fail, assert_out_size_checked, round_trip};
    use crate::error::ErrorKind;
    use std::io::Write;

    fn sample(n: usize) -> Vec<u8> {
        (0..n)
            .map(|i| ((i as f32 * 0.001).sin() * 100.0) as i8 as u8)
            .collect()
    }

    /// A frame without a content size, as a streaming encoder writes it.
    fn streamed(data: &[u8], checksum: bool) -> Vec<u8> {
        let mut e = zstd::stream::Encoder::new(Vec::new(), 3).unwrap();
        e.include_checksum(checksum).unwrap();
        e.include_contentsize(false).unwrap();
        e.write_all(data).unwrap();
        e.finish().unwrap()
    }

    #[test]
    fn decodes_numcodecs_frames() {
        // numcodecs.Zstd().encode(b"hello hello hello hello")
        let enc = [
            40, 181, 47, 253, 32, 23, 101, 0, 0, 48, 104, 101, 108, 108, 111, 32, 1, 0, 153, 75, 17,
        ];
        let c = Zstd::default();
        assert_eq!(
            c.decode(ArrayRef::bytes(&enc)).unwrap().bytes(),
            b"hello hello hello hello"
        );
        // numcodecs.Zstd(checksum=True).encode(b"abc"): byte-identical output (same libzstd level).
        let enc = [
            40, 181, 47, 253, 36, 3, 25, 0, 0, 97, 98, 99, 153, 9, 119, 173,
        ];
        let c = Zstd::new(0, true);
        assert_eq!(c.decode(ArrayRef::bytes(&enc)).unwrap().bytes(), b"abc");
        assert_eq!(c.encode(ArrayRef::bytes(b"abc")).unwrap().bytes(), &enc[..]);
        let mut bad = enc;
        bad[12] ^= 1;
        assert!(c.decode(ArrayRef::bytes(&bad)).is_err());
    }

    #[test]
    fn round_trip_levels_checksum_sizes() {
        for (level, checksum) in [
            (0, false),
            (1, true),
            (-5, false),
            (3, false),
            (19, true),
            (100, false),
        ] {
            let c = Zstd::new(level, checksum);
            for n in [0usize, 1, 999, 3 << 20] {
                if level == 19 && n > 1000 {
                    continue;
                }
                let d = sample(n);
                round_trip(
                    &c,
                    &d,
                    &format!("level {level}, checksum {checksum}, {n} bytes"),
                );
            }
        }
        // Level 100 is clamped to the maximum level, like numcodecs.
        let d = sample(5000);
        assert_eq!(
            Zstd::new(100, false).encode(ArrayRef::bytes(&d)).unwrap(),
            Zstd::new(22, false).encode(ArrayRef::bytes(&d)).unwrap()
        );
    }

    #[test]
    fn concatenated_and_streamed_frames() {
        let c = Zstd::default();
        let (a, b) = (sample(70_000), b"tail".to_vec());
        let fa = c.encode(ArrayRef::bytes(&a)).unwrap();
        let fb = c.encode(ArrayRef::bytes(&b)).unwrap();
        let mut both = fa.bytes().to_vec();
        both.extend_from_slice(fb.bytes());
        let mut want = a.clone();
        want.extend_from_slice(&b);
        assert_eq!(c.decode(ArrayRef::bytes(&both)).unwrap().bytes(), &want[..]);
        // Frames without a content size, alone and mixed with sized ones.
        let sa = streamed(&a, true);
        assert_eq!(sa[4] & 0xc0, 0, "no frame content size flag");
        let mut mixed = sa.clone();
        mixed.extend_from_slice(fb.bytes());
        for enc in [&sa, &mixed] {
            let want = if enc.len() == sa.len() {
                a.clone()
            } else {
                want.clone()
            };
            assert_eq!(c.decode(ArrayRef::bytes(enc)).unwrap().bytes(), &want[..]);
            let mut out = vec![0u8; want.len()];
            c.decode_into(enc, ArrayMut::bytes(&mut out)).unwrap();
            assert_eq!(out, want);
            assert_out_size_checked(&c, enc, want.len());
            let e = c
                .decode(ArrayRef::bytes(&enc[..enc.len() - 5]))
                .unwrap_err();
            assert_eq!(e.kind(), ErrorKind::Truncated, "{e}");
        }
    }

    #[test]
    fn bad_input_is_an_error() {
        let c = Zstd::default();
        let d = sample(200_000);
        let enc = c.encode(ArrayRef::bytes(&d)).unwrap();
        let enc = enc.bytes();
        assert_eq!(
            c.decode(ArrayRef::bytes(b"")).unwrap_err().kind(),
            ErrorKind::Truncated
        );
        assert_cuts_fail(&c, enc, [2, 6], |k| {
            matches!(k, ErrorKind::Truncated | ErrorKind::Corrupt)
        });
        assert_eq!(
            c.decode(ArrayRef::bytes(b"definitely not zstd"))
                .unwrap_err()
                .kind(),
            ErrorKind::Corrupt
        );
        // A frame header declaring 2^40 bytes in a few bytes of input.
        // Single-segment frame header with an 8-byte content size, then one last RLE block of
        // 128 KiB: valid framing, but 17 bytes cannot hold 2^40 bytes.
        let mut hostile = vec![0x28, 0xb5, 0x2f, 0xfd, 0xe0];
        hostile.extend_from_slice(&(1u64 << 40).to_le_bytes());
        hostile.extend_from_slice(&[0x03, 0x00, 0x10, 0x41]);
        let e = c.decode(ArrayRef::bytes(&hostile)).unwrap_err();
        assert_eq!(e.kind(), ErrorKind::TooLarge, "{e}");
        // The same frame declaring its true size decodes.
        let mut ok = vec![0x28, 0xb5, 0x2f, 0xfd, 0xe0];
        ok.extend_from_slice(&(1u64 << 17).to_le_bytes());
        ok.extend_from_slice(&[0x03, 0x00, 0x10, 0x41]);
        assert_eq!(
            c.decode(ArrayRef::bytes(&ok)).unwrap().bytes(),
            &[0x41; 1 << 17][..]
        );
    }

    #[test]
    fn config_round_trip() {
        let c = get_codec(&json!({"id": "zstd"})).unwrap();
        assert_eq!(
            c.config(),
            json!({"id": "zstd", "level": 0, "checksum": false})
        );
        let c = get_codec(&json!({"id": "zstd", "level": -3, "checksum": true})).unwrap();
        assert_eq!(get_codec(&c.config()).unwrap().config(), c.config());
        let e = get_codec(&json!({"id": "zstd", "checksum": "yes"})).unwrap_err();
        assert!(e.message().contains("checksum"));
        let e = get_codec(&json!({"id": "zstd", "level": 1u64 << 40})).unwrap_err();
        assert!(e.message().contains("level"));
    }

    #[test]
    fn levels_are_libzstds() {
        assert_eq!(Zstd::default_level(), 3);
        assert_eq!(Zstd::min_level(), -131072);
        assert_eq!(Zstd::max_level(), 22);
    }

    #[test]
    fn invalid_input_says_so_in_numcodecs_words() {
        let c = Zstd::default();
        for bad in [&[0u8; 8][..], &b""[..], &b"(\xb5/\xfd"[..]] {
            let e = c.decode(ArrayRef::bytes(bad)).unwrap_err();
            assert!(
                matches!(e.kind(), ErrorKind::Corrupt | ErrorKind::Truncated),
                "{e}"
            );
            assert!(
                e.message()
                    .starts_with("Zstd decompression error: invalid input data"),
                "{e}"
            );
        }
    }
}
