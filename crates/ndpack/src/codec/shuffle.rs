//! The `shuffle` codec: byte shuffle of fixed-size elements, as numcodecs' `Shuffle(elementsize)`.
//!
//! Config: `{"id": "shuffle", "elementsize": 4}`. Encoding writes byte `b` of element `i` to
//! `b * count + i`: all first bytes, then all second bytes, and so on. The input must be a whole
//! number of elements (numcodecs has no unshuffled tail, unlike Blosc's shuffle). With
//! `elementsize` of 0 or 1 the bytes are copied. The output is plain bytes (`|u1`).

use serde_json::{json, Map, Value};

use super::{filter, ArrayMut, ArrayRef, Codec, ConfigReader, NDBuffer};
use crate::error::{Error, Result};

const ID: &str = "shuffle";

/// The numcodecs `shuffle` codec.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Shuffle {
    elementsize: i64,
}

impl Default for Shuffle {
    fn default() -> Self {
        Shuffle { elementsize: 4 }
    }
}

impl Shuffle {
    /// A codec shuffling elements of `elementsize` bytes (0 and 1 copy; negative values, which
    /// numcodecs accepts, copy too).
    pub fn new(elementsize: i64) -> Self {
        Shuffle { elementsize }
    }

    /// Builds the codec from its numcodecs config.
    pub fn from_config(config: &Map<String, Value>) -> Result<Self> {
        let mut r = ConfigReader::new(ID, config)?;
        let es = r.int("elementsize")?.unwrap_or(4);
        r.finish()?;
        Ok(Self::new(es))
    }

    fn check(&self, len: usize, decoding: bool) -> Result<usize> {
        let es = self.elementsize.max(1) as u64;
        if !(len as u64).is_multiple_of(es) {
            let msg =
                format!("codec {ID}: {len} bytes are not a whole number of {es}-byte elements");
            return Err(if decoding {
                Error::corrupt(msg)
            } else {
                Error::invalid_argument(msg)
            });
        }
        Ok(es as usize)
    }
}

#[inline(always)]
fn shuffle_n<const N: usize>(src: &[u8], dst: &mut [u8]) {
    let count = src.len() / N;
    let (rows, _) = dst.split_at_mut(count * N);
    let outs: [&mut [u8]; N] = {
        let mut rest = rows;
        std::array::from_fn(|_| {
            let (row, tail) = std::mem::take(&mut rest).split_at_mut(count);
            rest = tail;
            row
        })
    };
    for (i, c) in src.chunks_exact(N).enumerate() {
        for b in 0..N {
            outs[b][i] = c[b];
        }
    }
}

#[inline(always)]
fn unshuffle_n<const N: usize>(src: &[u8], dst: &mut [u8]) {
    let count = src.len() / N;
    let rows: [&[u8]; N] = std::array::from_fn(|b| &src[b * count..(b + 1) * count]);
    for (i, c) in dst.chunks_exact_mut(N).enumerate() {
        for b in 0..N {
            c[b] = rows[b][i];
        }
    }
}

/// numcodecs' `_doShuffle`: `dst[b * count + i] = src[i * es + b]`.
pub(crate) fn shuffle(src: &[u8], dst: &mut [u8], es: usize) {
    match es {
        0 | 1 => dst.copy_from_slice(src),
        2 => shuffle_n::<2>(src, dst),
        4 => shuffle_n::<4>(src, dst),
        8 => shuffle_n::<8>(src, dst),
        16 => shuffle_n::<16>(src, dst),
        _ => {
            let count = src.len() / es;
            for (i, c) in src.chunks_exact(es).enumerate() {
                for (b, &v) in c.iter().enumerate() {
                    dst[b * count + i] = v;
                }
            }
        }
    }
}

/// numcodecs' `_doUnshuffle`: `dst[i * es + b] = src[b * count + i]`.
pub(crate) fn unshuffle(src: &[u8], dst: &mut [u8], es: usize) {
    match es {
        0 | 1 => dst.copy_from_slice(src),
        2 => unshuffle_n::<2>(src, dst),
        4 => unshuffle_n::<4>(src, dst),
        8 => unshuffle_n::<8>(src, dst),
        16 => unshuffle_n::<16>(src, dst),
        _ => {
            let count = src.len() / es;
            for (i, c) in dst.chunks_exact_mut(es).enumerate() {
                for (b, v) in c.iter_mut().enumerate() {
                    *v = src[b * count + i];
                }
            }
        }
    }
}

fn bytes_out(block: crate::buffer::AlignedBytes) -> NDBuffer {
    NDBuffer::from_bytes(crate::buffer::Buffer::from_owner(block))
}

impl Codec for Shuffle {
    fn id(&self) -> &'static str {
        ID
    }

    fn config(&self) -> Value {
        json!({"id": ID, "elementsize": self.elementsize})
    }

    fn encode(&self, input: ArrayRef<'_>) -> Result<NDBuffer> {
        let es = self.check(input.data.len(), false)?;
        let mut block = filter::alloc(input.data.len());
        shuffle(input.data, block.as_mut_slice(), es);
        Ok(bytes_out(block))
    }

    fn decode(&self, input: ArrayRef<'_>) -> Result<NDBuffer> {
        let es = self.check(input.data.len(), true)?;
        let mut block = filter::try_alloc(input.data.len())?;
        unshuffle(input.data, block.as_mut_slice(), es);
        Ok(bytes_out(block))
    }

    fn decode_into(&self, input: &[u8], out: ArrayMut<'_>) -> Result<()> {
        let es = self.check(input.len(), true)?;
        super::check_out_len(out.data.len(), input.len())?;
        unshuffle(input, out.data, es);
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::codec::get_codec;
    use crate::error::ErrorKind;

    #[test]
    fn golden_vectors_from_numcodecs() {
        filter::golden::check_all(include_str!("../../tests/data/filters/shuffle.json"));
    }

    #[test]
    fn every_kernel_matches_the_generic_loop() {
        let src: Vec<u8> = (0..16 * 37).map(|i| (i * 31 % 251) as u8).collect();
        for es in [2usize, 3, 4, 5, 8, 16] {
            let n = src.len() / es * es;
            let src = &src[..n];
            let count = n / es;
            let want: Vec<u8> = (0..n).map(|j| src[(j % count) * es + j / count]).collect();
            let mut got = vec![0u8; n];
            shuffle(src, &mut got, es);
            assert_eq!(got, want, "es {es}");
            let mut back = vec![0u8; n];
            unshuffle(&got, &mut back, es);
            assert_eq!(back, src, "es {es}");
        }
    }

    #[test]
    fn errors() {
        let c = Shuffle::new(4);
        assert_eq!(
            c.encode(ArrayRef::bytes(&[0; 6])).unwrap_err().kind(),
            ErrorKind::InvalidArgument
        );
        assert_eq!(
            c.decode(ArrayRef::bytes(&[0; 6])).unwrap_err().kind(),
            ErrorKind::Corrupt
        );
        let e = get_codec(&json!({"id": ID, "elementsize": "4"})).unwrap_err();
        assert!(e.message().contains("elementsize"), "{e}");
        let e = get_codec(&json!({"id": ID, "size": 4})).unwrap_err();
        assert!(e.message().contains("size"), "{e}");
        assert_eq!(
            get_codec(&json!({"id": ID})).unwrap().config(),
            json!({"id": ID, "elementsize": 4})
        );
    }
}
