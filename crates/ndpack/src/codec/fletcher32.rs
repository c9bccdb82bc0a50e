//! The `fletcher32` codec: the HDF5/netCDF Fletcher-32 checksum (16-bit big-endian words, sums
//! folded every 360 words) stored as 4 little-endian bytes after the data, as numcodecs'
//! `Fletcher32`.
//!
//! Config: `{"id": "fletcher32"}` (no parameters). Unlike numcodecs 0.16.6, empty data is
//! accepted (its checksum is 0).

use serde_json::{json, Map, Value};

use super::checksum32::{self, checksum32_decode_methods, Checksum32, Location};
use super::{ArrayRef, Codec, ConfigReader, NDBuffer};
use crate::buffer::Buffer;
use crate::error::Result;

/// The numcodecs `fletcher32` codec.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Fletcher32;

impl Fletcher32 {
    /// Builds the codec from its numcodecs config (which has no parameters).
    pub fn from_config(config: &Map<String, Value>) -> Result<Self> {
        ConfigReader::new("fletcher32", config)?.finish()?;
        Ok(Fletcher32)
    }

    /// The HDF5 Fletcher-32 checksum of `data`, as numcodecs computes it.
    pub fn checksum(data: &[u8]) -> u32 {
        checksum_copying(data, None)
    }
}

/// HDF5 adds 360 words at a time, then folds both sums to 17 bits.
const BLOCK: usize = 360;

/// Bytes per task when large inputs are checksummed on ndpack's pool (a whole number of blocks).
const PART: usize = 2 * BLOCK * 1024;

/// The checksum of `data`, copying `data` into `copy` (as long as `data`) on the way when given,
/// each part while it is in cache. Large inputs are split into parts on ndpack's pool: each part
/// gives every block's two sums (the costly pass over the data), then one cheap serial pass
/// chains the blocks with the reference's exact 32-bit arithmetic (its sums wrap in rare cases,
/// so the blocks cannot be combined modulo 65535 alone).
fn checksum_copying(data: &[u8], copy: Option<&mut [u8]>) -> u32 {
    let even = &data[..data.len() - data.len() % 2];
    let odd = data.last().filter(|_| data.len() % 2 == 1).copied();
    let nblocks = even.len().div_ceil(2 * BLOCK);
    let mut terms = vec![(0u32, 0u32); nblocks];
    // The even part in parts of whole blocks; the odd byte is copied here.
    let copy = copy.map(|dst| {
        let (head, tail) = dst.split_at_mut(even.len());
        tail.copy_from_slice(&data[even.len()..]);
        head
    });
    let fill = |src: &[u8], dst: Option<&mut [u8]>, terms: &mut [(u32, u32)]| {
        if let Some(dst) = dst {
            dst.copy_from_slice(src);
        }
        for (block, t) in src.chunks(2 * BLOCK).zip(terms) {
            *t = block_terms(block);
        }
    };
    let parallel = even.len() >= 2 * PART && crate::threads::get_num_threads() > 1;
    match copy {
        Some(dst) if parallel => {
            use rayon::prelude::*;
            crate::threads::install(|| {
                even.par_chunks(PART)
                    .zip(dst.par_chunks_mut(PART))
                    .zip(terms.par_chunks_mut(PART / (2 * BLOCK)))
                    .for_each(|((s, d), t)| fill(s, Some(d), t));
            });
        }
        None if parallel => {
            use rayon::prelude::*;
            crate::threads::install(|| {
                even.par_chunks(PART)
                    .zip(terms.par_chunks_mut(PART / (2 * BLOCK)))
                    .for_each(|(s, t)| fill(s, None, t));
            });
        }
        copy => fill(even, copy, &mut terms),
    }
    let last_words = match even.len() % (2 * BLOCK) {
        0 => BLOCK,
        r => r / 2,
    } as u32;
    let sums = terms.iter().enumerate().fold((0, 0), |sums, (k, &(s, t))| {
        let n = if k + 1 == nblocks {
            last_words
        } else {
            BLOCK as u32
        };
        add_terms(sums, n, s, t)
    });
    finish(sums, odd)
}

/// A block's contribution to the sums: `(sum of w_i, sum of (n - i) * w_i)` over its `n`
/// big-endian words (n <= 360, so sum((n - i) * w) <= 65535 * 360 * 361 / 2 < 2^32): one loop
/// without a carried dependency, which vectorises.
#[inline]
fn block_terms(block: &[u8]) -> (u32, u32) {
    let n = (block.len() / 2) as u32;
    let (mut s, mut t) = (0u32, 0u32);
    for (i, w) in block.chunks_exact(2).enumerate() {
        let w = u32::from(u16::from_be_bytes([w[0], w[1]]));
        s = s.wrapping_add(w);
        t = t.wrapping_add((n - i as u32).wrapping_mul(w));
    }
    (s, t)
}

/// Adds a block of `n` words with terms `(s, t)` to `(sum1, sum2)` and folds both, exactly as
/// the reference's word loop (u32 arithmetic, wrapping included): sum2 gains n*sum1 + t.
#[inline]
fn add_terms((mut sum1, mut sum2): (u32, u32), n: u32, s: u32, t: u32) -> (u32, u32) {
    sum2 = sum2.wrapping_add(n.wrapping_mul(sum1)).wrapping_add(t);
    sum1 = sum1.wrapping_add(s);
    sum1 = (sum1 & 0xffff) + (sum1 >> 16);
    sum2 = (sum2 & 0xffff) + (sum2 >> 16);
    (sum1, sum2)
}

/// Adds the odd last byte, if any (as the high byte of a word), and gives the checksum.
fn finish((mut sum1, mut sum2): (u32, u32), odd: Option<u8>) -> u32 {
    if let Some(b) = odd {
        sum1 = sum1.wrapping_add(u32::from(b) << 8);
        sum2 = sum2.wrapping_add(sum1);
        sum1 = (sum1 & 0xffff) + (sum1 >> 16);
        sum2 = (sum2 & 0xffff) + (sum2 >> 16);
    }
    sum1 = (sum1 & 0xffff) + (sum1 >> 16);
    sum2 = (sum2 & 0xffff) + (sum2 >> 16);
    (sum2 << 16) | sum1
}

impl Checksum32 for Fletcher32 {
    const ID: &'static str = "fletcher32";

    fn location(&self) -> Location {
        Location::End
    }

    fn sum(&self, data: &[u8]) -> u32 {
        Self::checksum(data)
    }
}

impl Codec for Fletcher32 {
    fn id(&self) -> &'static str {
        "fletcher32"
    }

    fn config(&self) -> Value {
        json!({"id": "fletcher32"})
    }

    fn encode(&self, input: ArrayRef<'_>) -> Result<NDBuffer> {
        let mut out = vec![0u8; input.data.len() + 4];
        self.encode_into(input, &mut out)?;
        Ok(NDBuffer::from_bytes(Buffer::from_vec(out)))
    }

    fn max_encoded_len(&self, input: &ArrayRef<'_>) -> Option<usize> {
        Some(input.data.len() + 4)
    }

    /// `data` followed by its checksum, computed while each part of the data is copied.
    fn encode_into(&self, input: ArrayRef<'_>, out: &mut [u8]) -> Result<usize> {
        checksum32::encode_after_into(input.data, out, |body| {
            checksum_copying(input.data, Some(body))
        })
    }

    checksum32_decode_methods!();
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::codec::checksum32::test_util::{flip_and_decode, short_input_and_small_output};
    use crate::codec::{get_codec, ArrayMut};
    use crate::error::ErrorKind;

    /// The reference loop of numcodecs' fletcher32.pyx (from HDF5's H5checksum.c), word by word.
    fn reference(data: &[u8]) -> u32 {
        let (mut sum1, mut sum2) = (0u32, 0u32);
        let mut len = data.len() / 2;
        let mut p = 0;
        while len > 0 {
            let mut tlen = len.min(360);
            len -= tlen;
            while tlen > 0 {
                sum1 = sum1.wrapping_add((u32::from(data[p]) << 8) | u32::from(data[p + 1]));
                p += 2;
                sum2 = sum2.wrapping_add(sum1);
                tlen -= 1;
            }
            sum1 = (sum1 & 0xffff) + (sum1 >> 16);
            sum2 = (sum2 & 0xffff) + (sum2 >> 16);
        }
        if data.len() % 2 == 1 {
            sum1 = sum1.wrapping_add(u32::from(data[p]) << 8);
            sum2 = sum2.wrapping_add(sum1);
            sum1 = (sum1 & 0xffff) + (sum1 >> 16);
            sum2 = (sum2 & 0xffff) + (sum2 >> 16);
        }
        sum1 = (sum1 & 0xffff) + (sum1 >> 16);
        sum2 = (sum2 & 0xffff) + (sum2 >> 16);
        (sum2 << 16) | sum1
    }

    #[test]
    fn matches_numcodecs_bytes() {
        // The last 4 bytes of numcodecs' Fletcher32().encode(d) for each d.
        let cases: [(Vec<u8>, [u8; 4]); 5] = [
            (b"a".to_vec(), [0, 97, 0, 97]),
            (b"abc".to_vec(), [98, 196, 197, 37]),
            (vec![255; 720], [255, 255, 255, 255]),
            (vec![255; 721], [0, 255, 0, 255]),
            (
                (0..40).flat_map(|_| 0..=255u8).chain([b'x']).collect(),
                [246, 129, 44, 251],
            ),
        ];
        for (d, sum) in cases {
            let enc = Fletcher32.encode(ArrayRef::bytes(&d)).unwrap();
            assert_eq!(&enc.bytes()[..d.len()], &d[..]);
            assert_eq!(&enc.bytes()[d.len()..], &sum, "len {}", d.len());
        }
    }

    #[test]
    fn closed_form_equals_reference_loop() {
        // The large sizes take the parallel path (the pool is only ever set to 2 or more here,
        // so other tests are not affected); 0xff data makes the reference's sums wrap.
        if crate::threads::get_num_threads() < 2 {
            crate::threads::set_num_threads(2).unwrap();
        }
        let mut x = 0x9e37_79b9u32;
        for n in [
            0usize,
            1,
            2,
            719,
            720,
            721,
            722,
            1441,
            100_003,
            2 * PART + 1,
            3 * PART + 722,
        ] {
            let d: Vec<u8> = (0..n)
                .map(|_| {
                    x ^= x << 13;
                    x ^= x >> 17;
                    x ^= x << 5;
                    x as u8
                })
                .collect();
            assert_eq!(Fletcher32::checksum(&d), reference(&d), "random, len {n}");
            let ones = vec![0xffu8; n];
            assert_eq!(
                Fletcher32::checksum(&ones),
                reference(&ones),
                "0xff, len {n}"
            );
            let enc = Fletcher32.encode(ArrayRef::bytes(&d)).unwrap();
            assert_eq!(&enc.bytes()[..n], &d[..]);
            assert_eq!(enc.bytes()[n..], reference(&d).to_le_bytes());
        }
    }

    #[test]
    fn round_trip_and_errors() {
        for n in [0usize, 1, 3, 4096, 3 << 20] {
            let d: Vec<u8> = (0..n).map(|i| (i * 31 % 256) as u8).collect();
            let enc = Fletcher32.encode(ArrayRef::bytes(&d)).unwrap();
            assert_eq!(
                Fletcher32
                    .decode(ArrayRef::bytes(enc.bytes()))
                    .unwrap()
                    .bytes(),
                &d[..]
            );
            let mut out = vec![0u8; n];
            Fletcher32
                .decode_into(enc.bytes(), ArrayMut::bytes(&mut out))
                .unwrap();
            assert_eq!(out, d);
        }
        let (_, e) = flip_and_decode(&Fletcher32, b"abcd", 0);
        // numcodecs: "The fletcher32 checksum of the data (606716870) did not match the expected
        // checksum (640271558)".
        assert!(
            e.message().contains("606716870") && e.message().contains("640271558"),
            "{e}"
        );
        let e = Fletcher32.decode(ArrayRef::bytes(b"ab")).unwrap_err();
        assert_eq!(e.kind(), ErrorKind::Truncated);
        short_input_and_small_output(&Fletcher32);
        let e = get_codec(&serde_json::json!({"id": "fletcher32", "x": 1})).unwrap_err();
        assert_eq!(e.kind(), ErrorKind::InvalidConfig);
    }
}
