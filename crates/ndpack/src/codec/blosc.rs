//! The numcodecs `blosc` codec: Blosc1 chunks ([`crate::blosc::v1`]) with numcodecs' config
//! (`cname`, `clevel`, `shuffle`, `blocksize`; an optional `typesize` that, as in numcodecs, is
//! not part of the config) and its rule that the typesize is the input's item size.
//!
//! ```
//! use ndpack::codec::{get_codec, ArrayRef};
//! let codec = get_codec(&serde_json::json!({"id": "blosc", "cname": "zstd", "clevel": 3})).unwrap();
//! let data = vec![7u8; 10_000];
//! let enc = codec.encode(ArrayRef::bytes(&data)).unwrap();
//! assert_eq!(codec.decode(ArrayRef::bytes(enc.bytes())).unwrap().bytes(), &data[..]);
//! ```

use serde_json::{json, Map, Value};

use super::{check_out_len, ArrayMut, ArrayRef, Codec, ConfigReader, NDBuffer};
use crate::blosc::v1::{self, Options, Shuffle};
use crate::blosc::Compressor;
use crate::error::{Error, Result};

/// numcodecs' `Blosc` codec.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Blosc {
    /// The compressor (`"blosclz"`, `"lz4"`, `"lz4hc"`, `"zlib"`, `"zstd"`; `"snappy"` only
    /// decodes, so that old snappy data stays readable through its config).
    pub cname: Compressor,
    /// 0-9.
    pub clevel: u8,
    /// The shuffle mode (AUTOSHUFFLE is resolved per input).
    pub shuffle: Shuffle,
    /// 0 for automatic blocks.
    pub blocksize: usize,
    /// The item size; `None` uses the input's item size.
    pub typesize: Option<usize>,
}

impl Default for Blosc {
    /// numcodecs' defaults: `Blosc(cname='lz4', clevel=5, shuffle=SHUFFLE, blocksize=0)`.
    fn default() -> Self {
        Blosc {
            cname: Compressor::Lz4,
            clevel: 5,
            shuffle: Shuffle::Shuffle,
            blocksize: 0,
            typesize: None,
        }
    }
}

impl Blosc {
    /// A codec with numcodecs' arguments, checked as numcodecs checks them.
    pub fn new(cname: &str, clevel: i64, shuffle: i64, blocksize: i64) -> Result<Self> {
        let comp: Compressor = cname.parse().map_err(|_| {
            Error::invalid_config(format!(
                "codec blosc: bad compressor or compressor not supported: {cname:?}; expected one of {:?}",
                v1::list_compressors()
            ))
        })?;
        if !(0..=9).contains(&clevel) {
            return Err(Error::invalid_config(format!(
                "codec blosc: key \"clevel\" must be between 0 and 9, got {clevel}"
            )));
        }
        let shuffle = Shuffle::from_value(shuffle).map_err(|_| {
            Error::invalid_config(format!(
                "codec blosc: key \"shuffle\" must be -1, 0, 1 or 2, got {shuffle}"
            ))
        })?;
        let blocksize = usize::try_from(blocksize).map_err(|_| {
            Error::invalid_config(format!(
                "codec blosc: key \"blocksize\" must be >= 0, got {blocksize}"
            ))
        })?;
        Ok(Blosc {
            cname: comp,
            clevel: clevel as u8,
            shuffle,
            blocksize,
            typesize: None,
        })
    }

    /// Builds the codec from its numcodecs config.
    pub fn from_config(config: &Map<String, Value>) -> Result<Self> {
        let mut r = ConfigReader::new("blosc", config)?;
        let cname = r.str("cname")?.unwrap_or("lz4");
        let clevel = r.int("clevel")?.unwrap_or(5);
        let shuffle = r.int("shuffle")?.unwrap_or(1);
        let blocksize = r.int("blocksize")?.unwrap_or(0);
        let typesize = r.int("typesize")?;
        r.finish()?;
        let mut codec = Self::new(cname, clevel, shuffle, blocksize)?;
        if let Some(t) = typesize {
            codec.typesize = Some(usize::try_from(t).ok().filter(|&t| t > 0).ok_or_else(|| {
                Error::invalid_config(format!(
                    "codec blosc: key \"typesize\" must be positive, got {t}"
                ))
            })?);
        }
        Ok(codec)
    }

    /// The Blosc1 options used for an input with `itemsize`-byte items.
    pub fn options(&self, itemsize: usize) -> Options {
        let typesize = self.typesize.unwrap_or(itemsize.max(1));
        Options {
            compressor: self.cname,
            clevel: self.clevel,
            shuffle: self.shuffle.resolve(typesize),
            typesize,
            blocksize: self.blocksize,
        }
    }

    /// Decodes `nitems` items from item `start` of an encoded chunk, decoding only the blocks
    /// that hold them (numcodecs' `decode_partial`).
    pub fn decode_partial(&self, input: &[u8], start: usize, nitems: usize) -> Result<Vec<u8>> {
        v1::getitem(input, start, nitems)
    }
}

impl Codec for Blosc {
    fn id(&self) -> &'static str {
        "blosc"
    }

    fn config(&self) -> Value {
        json!({
            "id": "blosc",
            "cname": self.cname.name(),
            "clevel": self.clevel,
            "shuffle": self.shuffle.value(),
            "blocksize": self.blocksize,
        })
    }

    fn encode(&self, input: ArrayRef<'_>) -> Result<NDBuffer> {
        let chunk = v1::compress(input.data, &self.options(input.dtype.itemsize()))?;
        Ok(NDBuffer::from_bytes(chunk))
    }

    fn decode(&self, input: ArrayRef<'_>) -> Result<NDBuffer> {
        Ok(NDBuffer::from_bytes(v1::decompress(input.data)?))
    }

    fn decode_into(&self, input: &[u8], out: ArrayMut<'_>) -> Result<()> {
        let (nbytes, _, _) = v1::cbuffer_sizes(input)?;
        check_out_len(out.data.len(), nbytes)?;
        v1::decompress_into(input, out.data).map(|_| ())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::codec::get_codec;
    use crate::dtype::DataType;
    use crate::Order;

    #[test]
    fn config_round_trips_and_rejects_bad_values() {
        let c = get_codec(&json!({"id": "blosc"})).unwrap();
        assert_eq!(
            c.config(),
            json!({"id": "blosc", "cname": "lz4", "clevel": 5, "shuffle": 1, "blocksize": 0})
        );
        let z = get_codec(
            &json!({"id": "blosc", "cname": "zstd", "clevel": 1, "shuffle": -1, "blocksize": 256}),
        )
        .unwrap();
        assert_eq!(*get_codec(&z.config()).unwrap(), *z);
        // Snappy configs build (to decode old data) but cannot encode.
        let snappy = get_codec(&json!({"id": "blosc", "cname": "snappy"})).unwrap();
        assert!(snappy.encode(ArrayRef::bytes(&[0u8; 1000])).is_err());
        for bad in [
            json!({"id": "blosc", "cname": "foo"}),
            json!({"id": "blosc", "clevel": 10}),
            json!({"id": "blosc", "shuffle": 3}),
            json!({"id": "blosc", "blocksize": -1}),
            json!({"id": "blosc", "level": 1}),
        ] {
            assert!(get_codec(&bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn typesize_is_the_itemsize() {
        let data: Vec<u8> = (0..10_000u64).flat_map(|i| i.to_le_bytes()).collect();
        let codec = Blosc::default();
        let arr = ArrayRef::new(
            &data,
            "<u8".parse::<DataType>().unwrap(),
            vec![10_000],
            Order::C,
        )
        .unwrap();
        let enc = codec.encode(arr).unwrap();
        assert_eq!(enc.bytes()[3], 8);
        let mut out = vec![0u8; data.len()];
        codec
            .decode_into(enc.bytes(), ArrayMut::bytes(&mut out))
            .unwrap();
        assert_eq!(out, data);
        assert_eq!(
            codec.decode_partial(enc.bytes(), 5, 1).unwrap(),
            5u64.to_le_bytes()
        );
        let forced = Blosc {
            typesize: Some(2),
            ..Blosc::default()
        };
        assert_eq!(forced.encode(ArrayRef::bytes(&data)).unwrap().bytes()[3], 2);
    }
}
