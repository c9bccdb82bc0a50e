//! The `lz4` codec: an LZ4 block after a 4-byte little-endian uncompressed size, as numcodecs'
//! `LZ4(acceleration=1)`.
//!
//! Config: `{"id": "lz4", "acceleration": 1}`. Blocks are written and read by the reference LZ4
//! library (the `lz4` crate, as numcodecs and c-blosc use), with numcodecs' `acceleration`, so the
//! bytes are the same as numcodecs'. As in numcodecs, inputs over 0x7E000000 bytes
//! cannot be encoded. Decoding checks the declared size against what the block can hold (LZ4
//! expands at most about 255:1) before allocating, and writes straight into `out` when given.

use serde_json::{json, Map, Value};

use super::{ArrayMut, ArrayRef, Codec, ConfigReader, NDBuffer};
use crate::buffer::{AlignedBytes, Buffer};
use crate::error::{Error, Result};

/// numcodecs' `LZ4.max_buffer_size`: the largest input it encodes.
pub const MAX_BUFFER_SIZE: usize = 0x7E00_0000;

/// The numcodecs `lz4` codec.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Lz4 {
    acceleration: i64,
}

impl Default for Lz4 {
    fn default() -> Self {
        Lz4 { acceleration: 1 }
    }
}

impl Lz4 {
    /// A codec with numcodecs' `acceleration` (recorded in the config; see the module docs).
    pub fn new(acceleration: i64) -> Self {
        Lz4 { acceleration }
    }

    /// Builds the codec from its numcodecs config.
    pub fn from_config(config: &Map<String, Value>) -> Result<Self> {
        let mut r = ConfigReader::new("lz4", config)?;
        let acceleration = r.int("acceleration")?.unwrap_or(1);
        if i32::try_from(acceleration).is_err() {
            return Err(r.out_of_range("acceleration", "a 32-bit integer"));
        }
        r.finish()?;
        Ok(Lz4 { acceleration })
    }
}

/// Reads the size header and checks it against what the block can hold.
fn declared_size(input: &[u8]) -> Result<usize> {
    let header = input.get(..4).ok_or_else(|| {
        Error::truncated(format!(
            "lz4: input of {} bytes has no 4-byte size header",
            input.len()
        ))
    })?;
    let size = u32::from_le_bytes(header.try_into().expect("4 bytes")) as usize;
    let payload = input.len() - 4;
    // Each byte of an LZ4 block adds at most 255 bytes of output (long runs cost one 0xFF byte
    // per 255), plus a few bytes for the shortest sequence.
    let most = payload.saturating_mul(255).saturating_add(16);
    if size > most || size > MAX_BUFFER_SIZE {
        return Err(Error::too_large(format!(
            "lz4: header declares {size} bytes, more than a {payload}-byte block can hold"
        )));
    }
    Ok(size)
}

/// The error for an input LZ4 cannot encode.
fn too_large(len: usize) -> Error {
    Error::invalid_argument(format!(
        "lz4: cannot encode buffers of more than {MAX_BUFFER_SIZE} bytes, got {len}"
    ))
}

fn decompress_into(payload: &[u8], out: &mut [u8]) -> Result<()> {
    if out.is_empty() {
        // LZ4 encodes empty input as the single token 0x00.
        return if payload == [0] {
            Ok(())
        } else {
            Err(Error::corrupt("lz4: invalid block for 0 bytes"))
        };
    }
    let size = i32::try_from(out.len()).map_err(|_| Error::too_large("lz4: block over 2 GiB"))?;
    // LZ4_decompress_safe: bounds-checked on both input and output.
    let n = lz4::block::decompress_to_buffer(payload, Some(size), out)
        .map_err(|e| Error::corrupt(format!("lz4: invalid block: {e}")))?;
    if n != out.len() {
        return Err(Error::corrupt(format!(
            "lz4: block holds {n} bytes, header declares {}",
            out.len()
        )));
    }
    Ok(())
}

impl Codec for Lz4 {
    fn id(&self) -> &'static str {
        "lz4"
    }

    fn config(&self) -> Value {
        json!({"id": "lz4", "acceleration": self.acceleration})
    }

    fn encode(&self, input: ArrayRef<'_>) -> Result<NDBuffer> {
        let bound = self
            .max_encoded_len(&input)
            .ok_or_else(|| too_large(input.data.len()))?;
        // A lazily zeroed block of the worst-case size: pages past the compressed end are never
        // touched, so this costs no more than the output.
        let mut block = AlignedBytes::zeroed(bound);
        let n = self.encode_into(input, block.as_mut_slice())?;
        Ok(NDBuffer::from_bytes(Buffer::from_owner(block).slice(0..n)))
    }

    fn max_encoded_len(&self, input: &ArrayRef<'_>) -> Option<usize> {
        // LZ4_compressBound, for the inputs LZ4 can encode.
        if input.data.len() > MAX_BUFFER_SIZE {
            return None;
        }
        Some(4 + lz4::block::compress_bound(input.data.len()).ok()?)
    }

    fn encode_into(&self, input: ArrayRef<'_>, out: &mut [u8]) -> Result<usize> {
        let data = input.data;
        if data.len() > MAX_BUFFER_SIZE {
            return Err(too_large(data.len()));
        }
        let bound = lz4::block::compress_bound(data.len())
            .map_err(|e| Error::new(crate::error::ErrorKind::Backend, format!("lz4: {e}")))?;
        if out.len() < 4 + bound {
            return Err(Error::invalid_argument(format!(
                "lz4: output buffer has {} bytes, encoding needs up to {}",
                out.len(),
                4 + bound
            )));
        }
        out[..4].copy_from_slice(&(data.len() as u32).to_le_bytes());
        // LZ4_compress_fast with numcodecs' acceleration (values below 1 mean 1, as in C).
        let acceleration = i32::try_from(self.acceleration.max(1)).unwrap_or(i32::MAX);
        let n = lz4::block::compress_to_buffer(
            data,
            Some(lz4::block::CompressionMode::FAST(acceleration)),
            false,
            &mut out[4..],
        )
        .map_err(|e| Error::new(crate::error::ErrorKind::Backend, format!("lz4: {e}")))?;
        Ok(4 + n)
    }

    fn decoded_len(&self, encoded: &[u8]) -> Option<usize> {
        declared_size(encoded).ok()
    }

    fn decode(&self, input: ArrayRef<'_>) -> Result<NDBuffer> {
        let size = declared_size(input.data)?;
        let mut block = AlignedBytes::try_for_overwrite(size)?;
        decompress_into(&input.data[4..], block.as_mut_slice())?;
        Ok(NDBuffer::from_bytes(Buffer::from_owner(block)))
    }

    fn decode_into(&self, input: &[u8], out: ArrayMut<'_>) -> Result<()> {
        let size = declared_size(input)?;
        if size != out.data.len() {
            return Err(Error::invalid_argument(format!(
                "output buffer has {} bytes, lz4 header declares {size}",
                out.data.len()
            )));
        }
        decompress_into(&input[4..], out.data)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::codec::get_codec;
    use crate::codec::test_util::{assert_cuts_fail, assert_out_size_checked, round_trip};
    use crate::error::ErrorKind;

    fn sample(n: usize) -> Vec<u8> {
        (0..n).map(|i| ((i / 9) % 251) as u8).collect()
    }

    #[test]
    fn decodes_numcodecs_blocks() {
        // numcodecs.LZ4().encode(b"hello hello hello hello") and LZ4().encode(b"")
        let enc = [
            23, 0, 0, 0, 104, 104, 101, 108, 108, 111, 32, 6, 0, 80, 104, 101, 108, 108, 111,
        ];
        let c = Lz4::default();
        assert_eq!(
            c.decode(ArrayRef::bytes(&enc)).unwrap().bytes(),
            b"hello hello hello hello"
        );
        let mut out = [0u8; 23];
        c.decode_into(&enc, ArrayMut::bytes(&mut out)).unwrap();
        assert_eq!(&out, b"hello hello hello hello");
        // numcodecs cannot decode its own empty output; we can.
        assert!(c
            .decode(ArrayRef::bytes(&[0, 0, 0, 0, 0]))
            .unwrap()
            .bytes()
            .is_empty());
    }

    #[test]
    fn round_trip_sizes_and_accelerations() {
        for acc in [1, -1, 0, 10, 1_000_000] {
            let c = Lz4::new(acc);
            for n in [0usize, 1, 13, 100_001, 3 << 20] {
                let d = sample(n);
                let enc = round_trip(&c, &d, &format!("acceleration {acc}, {n} bytes"));
                assert_eq!(&enc[..4], &(n as u32).to_le_bytes());
            }
        }
    }

    #[test]
    fn bad_input_is_an_error() {
        let c = Lz4::default();
        let d = sample(100_000);
        let enc = c.encode(ArrayRef::bytes(&d)).unwrap();
        let enc = enc.bytes();
        assert_eq!(
            c.decode(ArrayRef::bytes(&[1, 0])).unwrap_err().kind(),
            ErrorKind::Truncated
        );
        assert_cuts_fail(&c, enc, [4, 9], |_| true);
        // numcodecs' example of a hostile header: 2 GiB declared by a 5-byte block.
        let e = c
            .decode(ArrayRef::bytes(b"\xff\xff\xff\x7f\x00\x00\x00\x00\x00"))
            .unwrap_err();
        assert_eq!(e.kind(), ErrorKind::TooLarge);
        let mut lie = enc.to_vec();
        lie[..4].copy_from_slice(&99_999u32.to_le_bytes());
        assert_eq!(
            c.decode(ArrayRef::bytes(&lie)).unwrap_err().kind(),
            ErrorKind::Corrupt
        );
        assert_out_size_checked(&c, enc, 100_000);
    }

    #[test]
    fn same_bytes_as_numcodecs_for_each_acceleration() {
        let data: Vec<u8> = (0..3000i32).flat_map(|i| (i / 7).to_le_bytes()).collect();
        let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/data/lz4");
        for accel in [1, 50] {
            let want = std::fs::read(format!("{dir}/arange-div7-accel{accel}.lz4")).unwrap();
            let got = Lz4::new(accel).encode(ArrayRef::bytes(&data)).unwrap();
            assert_eq!(got.bytes(), &want[..], "acceleration {accel}");
            let back = Lz4::new(accel).decode(ArrayRef::bytes(&want)).unwrap();
            assert_eq!(back.bytes(), &data[..]);
        }
    }

    #[test]
    fn config_round_trip() {
        let c = get_codec(&json!({"id": "lz4"})).unwrap();
        assert_eq!(c.config(), json!({"id": "lz4", "acceleration": 1}));
        let c = get_codec(&json!({"id": "lz4", "acceleration": 1_000_000})).unwrap();
        assert_eq!(c.config(), json!({"id": "lz4", "acceleration": 1_000_000}));
        let e = get_codec(&json!({"id": "lz4", "acceleration": "fast"})).unwrap_err();
        assert!(e.message().contains("acceleration"));
    }
}
