//! The `packbits` codec: packs booleans into bits, as numcodecs' `PackBits()`.
//!
//! Config: `{"id": "packbits"}`. The encoded bytes are one header byte holding the number of
//! padding bits in the last byte (0-7), then the bits in NumPy's `np.packbits` order (first
//! item in the most significant bit). Any input is read as bytes, each non-zero byte a `True`.
//! Decoding gives `|b1` items (0 or 1); a header over 7, or padding without a data byte, is
//! [`ErrorKind::Corrupt`](crate::error::ErrorKind::Corrupt).

use serde_json::{json, Map, Value};

use super::{typed, Array, ArrayMut, ArrayRef, Codec, ConfigReader};
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
#[inline(always)]
fn pack8(c: &[u8]) -> u8 {
    let mut b = 0u8;
    for (i, &v) in c.iter().enumerate() {
        b |= u8::from(v != 0) << (7 - i);
    }
    b
}

/// Checks the header of encoded bytes; returns the number of decoded items.
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

fn unpack(data: &[u8], out: &mut [u8]) {
    let mut chunks = out.chunks_mut(8);
    for (&b, c) in data.iter().zip(&mut chunks) {
        for (i, o) in c.iter_mut().enumerate() {
            *o = (b >> (7 - i)) & 1;
        }
    }
}

impl Codec for PackBits {
    fn id(&self) -> &'static str {
        ID
    }

    fn config(&self) -> Value {
        json!({"id": ID})
    }

    fn encode(&self, input: ArrayRef<'_>) -> Result<Array> {
        let n = input.data.len();
        let nbytes = n.div_ceil(8);
        let mut block = typed::alloc(nbytes + 1);
        let out = block.as_mut_slice();
        out[0] = ((8 - n % 8) % 8) as u8;
        let chunks = input.data.chunks_exact(8);
        let tail = chunks.remainder();
        for (c, o) in chunks.zip(out[1..].iter_mut()) {
            *o = pack8(c);
        }
        if !tail.is_empty() {
            out[nbytes] = pack8(tail);
        }
        Ok(typed::output(
            block,
            DataType::u8(),
            vec![nbytes + 1],
            Default::default(),
        ))
    }

    fn decode(&self, input: ArrayRef<'_>) -> Result<Array> {
        let n = decoded_len(input.data)?;
        let mut block = typed::alloc(n);
        unpack(&input.data[1..], block.as_mut_slice());
        Ok(typed::output(
            block,
            DataType::bool(),
            vec![n],
            Default::default(),
        ))
    }

    fn decode_into(&self, input: &[u8], out: ArrayMut<'_>) -> Result<()> {
        let n = decoded_len(input)?;
        if out.data.len() != n {
            return Err(Error::invalid(format!(
                "output buffer has {} bytes, decoded data has {n}",
                out.data.len()
            )));
        }
        unpack(&input[1..], out.data);
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
        typed::golden::check_all(include_str!("../../tests/data/filters/packbits.json"));
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
