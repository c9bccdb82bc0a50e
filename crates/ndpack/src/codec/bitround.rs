//! The `bitround` codec: rounds float mantissas to `keepbits` bits (round half to even on the
//! bits), as numcodecs' `BitRound(keepbits)`.
//!
//! Config: `{"id": "bitround", "keepbits": 10}`. Encoding takes `f2`, `f4` or `f8` items and
//! returns them as the signed integers of the same width and byte order (`<f4` → `<i4`), with
//! numcodecs' integer arithmetic; with `keepbits` equal to the mantissa width (10, 23, 52) the
//! input comes back unchanged. Decoding reinterprets integer items as the floats of the same
//! width (other dtypes, e.g. plain bytes, pass through). Big-endian input, which numcodecs
//! rejects, is rounded the same way on its values.

use serde_json::{json, Map, Value};

use super::filter;
use super::{ArrayRef, Codec, ConfigReader, NDBuffer};
use crate::buffer::Buffer;
use crate::dtype::{ByteOrder, DataType, TypeKind};
use crate::error::{Error, ErrorKind, Result};

const ID: &str = "bitround";

/// The numcodecs `bitround` codec.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BitRound {
    keepbits: u32,
}

impl BitRound {
    /// A codec keeping `keepbits` bits of mantissa.
    pub fn new(keepbits: u32) -> Self {
        BitRound { keepbits }
    }

    /// Builds the codec from its numcodecs config.
    pub fn from_config(config: &Map<String, Value>) -> Result<Self> {
        let mut r = ConfigReader::new(ID, config)?;
        let keepbits = r.int("keepbits")?;
        let k = keepbits.ok_or_else(|| filter::missing(ID, "keepbits"))?;
        let k = u32::try_from(k).map_err(|_| r.out_of_range("keepbits", "zero or positive"))?;
        r.finish()?;
        Ok(Self::new(k))
    }

    /// The number of mantissa bits kept.
    pub fn keepbits(&self) -> u32 {
        self.keepbits
    }
}

macro_rules! round_loop {
    ($t:ty, $src:expr, $dst:expr, $swapped:expr, $maskbits:expr) => {{
        const SIZE: usize = std::mem::size_of::<$t>();
        let maskbits: u32 = $maskbits;
        let mask: $t = (-1 as $t >> maskbits) << maskbits;
        let half_quantum1: $t = (1 << (maskbits - 1)) - 1;
        let round = |b: $t| -> $t {
            b.wrapping_add(((b >> maskbits) & 1).wrapping_add(half_quantum1)) & mask
        };
        let pairs = $src.chunks_exact(SIZE).zip($dst.chunks_exact_mut(SIZE));
        if $swapped {
            pairs.for_each(|(s, d)| {
                let b = <$t>::from_be_bytes(s.try_into().expect("item size"));
                d.copy_from_slice(&round(b).to_be_bytes())
            })
        } else {
            pairs.for_each(|(s, d)| {
                let b = <$t>::from_le_bytes(s.try_into().expect("item size"));
                d.copy_from_slice(&round(b).to_le_bytes())
            })
        }
    }};
}

impl Codec for BitRound {
    fn id(&self) -> &'static str {
        ID
    }

    fn config(&self) -> Value {
        json!({"id": ID, "keepbits": self.keepbits})
    }

    fn encode(&self, input: ArrayRef<'_>) -> Result<NDBuffer> {
        let dt = &input.dtype;
        if dt.kind() != TypeKind::Float {
            return Err(Error::new(
                ErrorKind::UnsupportedDtype,
                format!("codec {ID}: only float arrays (16-64 bit) can be bit-rounded, got {dt}"),
            ));
        }
        let bits = match dt.itemsize() {
            2 => 10,
            4 => 23,
            _ => 52,
        };
        filter::items_in(ID, input.data.len(), dt, false)?;
        if self.keepbits == bits {
            return NDBuffer::new(
                Buffer::copy_from_slice(input.data),
                dt.clone(),
                input.shape.clone(),
                input.order,
            );
        }
        if self.keepbits > bits {
            return Err(Error::invalid_argument(format!(
                "codec {ID}: keepbits {} too large for {dt} (at most {bits})",
                self.keepbits
            )));
        }
        let int_dt = DataType::new(TypeKind::Int, dt.itemsize(), dt.byte_order())?;
        let big = dt.byte_order() == ByteOrder::Big;
        let mut block = filter::alloc(input.data.len());
        let out = block.as_mut_slice();
        let maskbits = bits - self.keepbits;
        match dt.itemsize() {
            2 => round_loop!(i16, input.data, out, big, maskbits),
            4 => round_loop!(i32, input.data, out, big, maskbits),
            _ => round_loop!(i64, input.data, out, big, maskbits),
        }
        filter::output(block, int_dt, input.shape.clone(), input.order)
    }

    fn decode(&self, input: ArrayRef<'_>) -> Result<NDBuffer> {
        let dt = &input.dtype;
        let dtype = if dt.kind() == TypeKind::Int && dt.itemsize() >= 2 {
            DataType::new(TypeKind::Float, dt.itemsize(), dt.byte_order())?
        } else {
            dt.clone()
        };
        NDBuffer::new(
            Buffer::copy_from_slice(input.data),
            dtype,
            input.shape.clone(),
            input.order,
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::codec::{get_codec, ArrayMut};

    #[test]
    fn golden_vectors_from_numcodecs() {
        filter::golden::check_all(include_str!("../../tests/data/filters/bitround.json"));
    }

    #[test]
    fn big_endian_rounds_the_same_values() {
        let x: Vec<f32> = (0..100).map(|i| (i as f32 * 0.37).sin() * 1e3).collect();
        let le: Vec<u8> = x.iter().flat_map(|v| v.to_le_bytes()).collect();
        let be: Vec<u8> = x.iter().flat_map(|v| v.to_be_bytes()).collect();
        let c = BitRound::new(7);
        let a = ArrayRef::new(&le, "<f4".parse().unwrap(), vec![100], Default::default());
        let b = ArrayRef::new(&be, ">f4".parse().unwrap(), vec![100], Default::default());
        let ea = c.encode(a.unwrap()).unwrap();
        let eb = c.encode(b.unwrap()).unwrap();
        assert_eq!(eb.dtype().to_string(), ">i4");
        let swapped: Vec<u8> = eb
            .bytes()
            .chunks_exact(4)
            .flat_map(|c| [c[3], c[2], c[1], c[0]])
            .collect();
        assert_eq!(swapped, ea.bytes());
        assert_ne!(ea.bytes(), &le[..]);
        let d = c.decode(eb.as_array_ref()).unwrap();
        assert_eq!(d.dtype().to_string(), ">f4");
        let mut out = vec![0u8; be.len()];
        c.decode_into(eb.bytes(), ArrayMut::bytes(&mut out))
            .unwrap();
        assert_eq!(out, eb.bytes());
    }

    #[test]
    fn errors() {
        let c = BitRound::new(24);
        let x = [0u8; 8];
        let a = ArrayRef::new(&x, "<f4".parse().unwrap(), vec![2], Default::default());
        assert_eq!(
            c.encode(a.unwrap()).unwrap_err().kind(),
            ErrorKind::InvalidArgument
        );
        let a = ArrayRef::new(&x, "<i4".parse().unwrap(), vec![2], Default::default());
        assert_eq!(
            c.encode(a.unwrap()).unwrap_err().kind(),
            ErrorKind::UnsupportedDtype
        );
        for (cfg, key) in [
            (json!({"id": ID}), "keepbits"),
            (json!({"id": ID, "keepbits": -1}), "keepbits"),
            (json!({"id": ID, "keepbits": "3"}), "keepbits"),
            (json!({"id": ID, "keepbits": 3, "k": 1}), "\"k\""),
        ] {
            let e = get_codec(&cfg).unwrap_err();
            assert_eq!(e.kind(), ErrorKind::InvalidConfig, "{cfg}");
            assert!(e.message().contains(key), "{e}");
        }
    }
}
