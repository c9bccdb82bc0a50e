//! The `packbits` codec: packs booleans into bits, as numcodecs' `PackBits()`.
//!
//! Config: `{"id": "packbits"}`. The encoded bytes are one header byte holding the number of
//! padding bits in the last byte (0-7), then the bits in NumPy's `np.packbits` order (first
//! item in the most significant bit). Any input is read as bytes, each non-zero byte a `True`.
//! Decoding gives `|b1` items (0 or 1); a header over 7, or padding without a data byte, is
//! [`ErrorKind::Corrupt`](crate::error::ErrorKind::Corrupt).

use serde_json::{json, Map, Value};

use super::{filter, ArrayMut, ArrayRef, Codec, ConfigReader, NDBuffer};
use crate::dtype::DataType;
use crate::error::{Error, Result};

const ID: &str = "packbits";

/// The numcodecs `packbits` codec.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PackBits;

impl PackBits {
    /// The codec (it has no parameters).
    pub fn new() -> Self {
        PackBits
    }

    /// Builds the codec from its numcodecs config.
    pub fn from_config(config: &Map<String, Value>) -> Result<Self> {
        ConfigReader::new(ID, config)?.finish()?;
        Ok(PackBits)
    }
}

/// Packs 8 bytes (non-zero = 1) into one byte, first byte in the high bit.
/// Packs up to 8 items (non-zero: `True`) into a byte, the first item in the top bit.
#[inline(always)]
fn pack8(c: &[u8]) -> u8 {
    let mut b = 0u8;
    for (i, &v) in c.iter().enumerate() {
        b |= u8::from(v != 0) << (7 - i);
    }
    b
}

/// [`pack8`] of exactly 8 items, branch-free: each non-zero byte becomes 1, and one multiply
/// gathers the 8 flags into the top byte (item `i` at bit `7 - i`).
#[inline(always)]
fn pack8_word(c: &[u8; 8]) -> u8 {
    const LOW7: u64 = 0x7f7f_7f7f_7f7f_7f7f;
    let x = u64::from_le_bytes(*c);
    // Bit 7 of each byte: set when the byte is non-zero (no carry crosses a byte).
    let flags = ((((x & LOW7) + LOW7) | x) >> 7) & 0x0101_0101_0101_0101;
    // Flag i (bit 8i) moves to bit 63 - i; the partial products never overlap.
    (flags.wrapping_mul(0x8040_2010_0804_0201) >> 56) as u8
}

/// Unpacks the 8 bits of `b` into 8 bytes of 0 or 1, the top bit first.
#[inline(always)]
const fn unpack8_word(b: u8) -> [u8; 8] {
    // Byte i keeps bit 7 - i of `b`; adding 0x7f turns any set bit into bit 7 of its byte.
    let x = (b as u64 * 0x0101_0101_0101_0101) & 0x0102_0408_1020_4080;
    (((x + 0x7f7f_7f7f_7f7f_7f7f) >> 7) & 0x0101_0101_0101_0101).to_le_bytes()
}

fn decoded_len(input: &[u8]) -> Result<usize> {
    let Some((&pad, data)) = input.split_first() else {
        return Err(Error::truncated(format!(
            "codec {ID}: empty input has no header byte"
        )));
    };
    if pad > 7 || (pad > 0 && data.is_empty()) {
        return Err(Error::corrupt(format!(
            "codec {ID}: header says {pad} padding bits for {} data bytes",
            data.len()
        )));
    }
    Ok(data.len() * 8 - pad as usize)
}

/// Writes the padding header and the packed bits of `input` into `out` (exactly
/// `ceil(n / 8) + 1` bytes), in blocks on ndpack's pool for large inputs.
/// Packs whole groups of 32 items with AVX2 (a compare with zero, a byte reversal inside each
/// group of 8, one `movemask` for 4 output bytes); returns how many items it packed.
///
/// # Safety
/// AVX2 must be available.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2")]
unsafe fn pack_avx2(src: &[u8], dst: &mut [u8]) -> usize {
    use std::arch::x86_64::*;
    let groups = (src.len() / 32).min(dst.len() / 4);
    let zero = _mm256_setzero_si256();
    // Byte k of each 8-byte group takes byte 7 - k: then bit k of the mask is item 7 - k.
    let reverse = _mm256_setr_epi8(
        7, 6, 5, 4, 3, 2, 1, 0, 15, 14, 13, 12, 11, 10, 9, 8, //
        7, 6, 5, 4, 3, 2, 1, 0, 15, 14, 13, 12, 11, 10, 9, 8,
    );
    for (s, d) in src
        .chunks_exact(32)
        .zip(dst.chunks_exact_mut(4))
        .take(groups)
    {
        // SAFETY: `s` holds 32 bytes; AVX2 is enabled here.
        let v = unsafe { _mm256_loadu_si256(s.as_ptr().cast()) };
        let is_zero = _mm256_cmpeq_epi8(v, zero);
        let mask = !(_mm256_movemask_epi8(_mm256_shuffle_epi8(is_zero, reverse)) as u32);
        d.copy_from_slice(&mask.to_le_bytes());
    }
    groups * 32
}

fn pack(input: &[u8], out: &mut [u8]) {
    let n = input.len();
    out[0] = ((8 - n % 8) % 8) as u8;
    let work = |src: &[u8], dst: &mut [u8]| {
        #[cfg(target_arch = "x86_64")]
        let (src, dst) = if std::arch::is_x86_feature_detected!("avx2") {
            // SAFETY: AVX2 was detected.
            let done = unsafe { pack_avx2(src, dst) };
            (&src[done..], &mut dst[done / 8..])
        } else {
            (src, dst)
        };
        let chunks = src.chunks_exact(8);
        let tail = chunks.remainder();
        for (c, o) in chunks.zip(dst.iter_mut()) {
            *o = pack8_word(c.try_into().expect("8 items"));
        }
        if !tail.is_empty() {
            dst[src.len() / 8] = pack8(tail);
        }
    };
    filter::par_blocks(input, 8, &mut out[1..], 1, &work);
}

fn unpack(data: &[u8], out: &mut [u8]) {
    // The 8 output bytes of every byte value: one load per input byte.
    static TABLE: [[u8; 8]; 256] = {
        let mut t = [[0u8; 8]; 256];
        let mut b = 0;
        while b < 256 {
            t[b] = unpack8_word(b as u8);
            b += 1;
        }
        t
    };
    let work = |src: &[u8], dst: &mut [u8]| {
        let full = dst.len() / 8;
        let mut chunks = dst.chunks_exact_mut(8);
        for (&b, c) in src.iter().zip(&mut chunks) {
            c.copy_from_slice(&TABLE[usize::from(b)]);
        }
        let tail = chunks.into_remainder();
        if let (Some(&b), false) = (src.get(full), tail.is_empty()) {
            let bits = unpack8_word(b);
            tail.copy_from_slice(&bits[..tail.len()]);
        }
    };
    filter::par_blocks(data, 1, out, 8, &work);
}

impl Codec for PackBits {
    fn id(&self) -> &'static str {
        ID
    }

    fn config(&self) -> Value {
        json!({"id": ID})
    }

    fn encode(&self, input: ArrayRef<'_>) -> Result<NDBuffer> {
        let len = input.data.len().div_ceil(8) + 1;
        let mut block = filter::alloc(len);
        pack(input.data, block.as_mut_slice());
        filter::output(block, DataType::u8(), vec![len], Default::default())
    }

    fn max_encoded_len(&self, input: &ArrayRef<'_>) -> Option<usize> {
        Some(input.data.len().div_ceil(8) + 1)
    }

    fn encode_into(&self, input: ArrayRef<'_>, out: &mut [u8]) -> Result<usize> {
        let len = input.data.len().div_ceil(8) + 1;
        pack(input.data, filter::out_prefix(out, len)?);
        Ok(len)
    }

    fn decode(&self, input: ArrayRef<'_>) -> Result<NDBuffer> {
        let n = decoded_len(input.data)?;
        filter::new_1d(n, &DataType::bool(), |out| unpack(&input.data[1..], out))
    }

    fn decode_into(&self, input: &[u8], out: ArrayMut<'_>) -> Result<()> {
        let n = decoded_len(input)?;
        unpack(&input[1..], filter::exact_out(out.data, n)?);
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::codec::get_codec;
    use crate::error::ErrorKind;

    #[test]
    fn large_inputs_in_blocks_round_trip() {
        if crate::threads::get_num_threads() < 2 {
            crate::threads::set_num_threads(2).unwrap();
        }
        for n in [filter::PAR_MIN_BYTES + 13, (1 << 16) * 8 * 5] {
            let items: Vec<u8> = (0..n)
                .map(|i| u8::from((i * 7919) % 11 < 4) * (i % 3) as u8)
                .collect();
            let enc = PackBits.encode(ArrayRef::bytes(&items)).unwrap();
            let mut want = vec![((8 - n % 8) % 8) as u8];
            want.extend(items.chunks(8).map(pack8));
            assert_eq!(enc.bytes(), &want[..]);
            let dec = PackBits.decode(enc.as_array_ref()).unwrap();
            let flags: Vec<u8> = items.iter().map(|&v| u8::from(v != 0)).collect();
            assert_eq!(dec.bytes(), &flags[..]);
        }
    }

    #[test]
    fn packing_equals_the_bit_loop_at_every_length() {
        // The SIMD groups of 32, the 8-item words and the tail, with any non-zero byte True.
        let mut x = 0x9E37_79B9_7F4A_7C15u64;
        let items: Vec<u8> = (0..300)
            .map(|_| {
                x ^= x << 13;
                x ^= x >> 7;
                x ^= x << 17;
                if x.is_multiple_of(3) {
                    0
                } else {
                    (x >> 24) as u8 | (0x80 * (x as u8 & 1))
                }
            })
            .collect();
        for n in 0..items.len() {
            let src = &items[..n];
            let mut out = vec![0u8; n.div_ceil(8) + 1];
            pack(src, &mut out);
            let mut want = vec![((8 - n % 8) % 8) as u8];
            want.extend(src.chunks(8).map(pack8));
            assert_eq!(out, want, "{n} items");
        }
    }

    #[test]
    fn word_kernels_equal_the_bit_loops() {
        for b in 0..=255u8 {
            let bits = unpack8_word(b);
            for (i, &v) in bits.iter().enumerate() {
                assert_eq!(v, (b >> (7 - i)) & 1, "byte {b:#x}, item {i}");
            }
            assert_eq!(pack8_word(&bits), b);
        }
        // Any non-zero byte is True, whatever its bits (0x80, 0x01, 0xff, 0x7f ...).
        let mut x = 0x2545_f491_4f6c_dd1du64;
        for _ in 0..20_000 {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            let mut c = x.to_le_bytes();
            // Make about half the bytes zero.
            for (i, v) in c.iter_mut().enumerate() {
                if (x >> (56 + i)) & 1 == 1 {
                    *v = 0;
                }
            }
            assert_eq!(pack8_word(&c), pack8(&c), "{c:?}");
        }
        for v in [0x80u8, 0x01, 0xff, 0x7f, 0x40] {
            for i in 0..8 {
                let mut c = [0u8; 8];
                c[i] = v;
                assert_eq!(pack8_word(&c), 0x80 >> i);
            }
        }
    }

    #[test]
    fn golden_vectors_from_numcodecs() {
        filter::golden::check_all(include_str!("../../tests/data/filters/packbits.json"));
    }

    #[test]
    fn docstring_example() {
        // numcodecs' docstring: [True, False, False, True] -> [4, 144].
        let enc = PackBits.encode(ArrayRef::bytes(&[1, 0, 0, 1])).unwrap();
        assert_eq!(enc.bytes(), &[4, 144]);
    }

    #[test]
    fn bad_input_and_config() {
        let c = PackBits;
        assert_eq!(
            c.decode(ArrayRef::bytes(&[])).unwrap_err().kind(),
            ErrorKind::Truncated
        );
        assert_eq!(
            c.decode(ArrayRef::bytes(&[8, 255])).unwrap_err().kind(),
            ErrorKind::Corrupt
        );
        assert_eq!(
            c.decode(ArrayRef::bytes(&[3])).unwrap_err().kind(),
            ErrorKind::Corrupt
        );
        let mut out = [0u8; 3];
        assert!(c.decode_into(&[0, 1], ArrayMut::bytes(&mut out)).is_err());
        let e = get_codec(&json!({"id": ID, "bits": 1})).unwrap_err();
        assert_eq!(e.kind(), ErrorKind::InvalidConfig);
        assert!(e.message().contains("bits"));
    }
}
