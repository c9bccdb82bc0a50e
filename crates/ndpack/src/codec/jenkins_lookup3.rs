//! The `jenkins_lookup3` codec: Bob Jenkins' lookup3 hash (HDF5's `H5_checksum_lookup3`, 32-bit
//! output) of the data, stored as 4 little-endian bytes after it, as numcodecs'
//! `JenkinsLookup3`.
//!
//! Config: `{"id": "jenkins_lookup3", "initval": 0, "prefix": null}` (numcodecs' defaults).
//! `initval` (0 to 2³²−1) seeds the hash; `prefix`, a list of byte values (numcodecs keeps it as
//! a `uint8` array), is hashed before the data but not stored. Decoding checks the hash of the
//! data against the stored one and returns the data.

use serde_json::{Map, Value};

use super::checksum32::{self, checksum32_decode_methods, Checksum32, Location};
use super::{ArrayRef, Codec, ConfigReader, NDBuffer};
use crate::error::Result;

/// The numcodecs `jenkins_lookup3` codec.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct JenkinsLookup3 {
    initval: u32,
    prefix: Option<Vec<u8>>,
}

const ID: &str = "jenkins_lookup3";

impl JenkinsLookup3 {
    /// A codec seeding the hash with `initval` and hashing `prefix` (if any) before the data.
    pub fn new(initval: u32, prefix: Option<Vec<u8>>) -> Self {
        JenkinsLookup3 { initval, prefix }
    }

    /// Builds the codec from its numcodecs config.
    pub fn from_config(config: &Map<String, Value>) -> Result<Self> {
        let mut r = ConfigReader::new(ID, config)?;
        let initval = match r.int("initval")? {
            None => 0,
            Some(v) => u32::try_from(v)
                .map_err(|_| r.out_of_range("initval", "an integer from 0 to 4294967295"))?,
        };
        let prefix = match r.value("prefix") {
            None => None,
            Some(Value::Array(items)) => Some(
                items
                    .iter()
                    .map(|v| v.as_u64().and_then(|b| u8::try_from(b).ok()))
                    .collect::<Option<Vec<u8>>>()
                    .ok_or_else(|| r.out_of_range("prefix", "a list of byte values (0 to 255)"))?,
            ),
            Some(_) => return Err(r.out_of_range("prefix", "a list of byte values (0 to 255)")),
        };
        r.finish()?;
        Ok(JenkinsLookup3 { initval, prefix })
    }

    /// The seed of the hash.
    pub fn initval(&self) -> u32 {
        self.initval
    }

    /// The bytes hashed before the data, if any.
    pub fn prefix(&self) -> Option<&[u8]> {
        self.prefix.as_deref()
    }

    /// The checksum this codec stores for `data`: lookup3 of the prefix followed by `data`.
    pub fn checksum(&self, data: &[u8]) -> u32 {
        match &self.prefix {
            None => lookup3(data, self.initval),
            Some(p) => {
                let mut all = Vec::with_capacity(p.len() + data.len());
                all.extend_from_slice(p);
                all.extend_from_slice(data);
                lookup3(&all, self.initval)
            }
        }
    }
}

impl Checksum32 for JenkinsLookup3 {
    const ID: &'static str = ID;
    // numcodecs names the checksum so in its message; code may match on it.
    const NAME: &'static str = "Bob Jenkin's lookup3";

    fn location(&self) -> Location {
        Location::End
    }

    fn sum(&self, data: &[u8]) -> u32 {
        self.checksum(data)
    }
}

impl Codec for JenkinsLookup3 {
    fn id(&self) -> &'static str {
        ID
    }

    fn config(&self) -> Value {
        let mut m = Map::new();
        m.insert("id".into(), Value::from(ID));
        m.insert("initval".into(), Value::from(self.initval));
        m.insert(
            "prefix".into(),
            self.prefix
                .as_ref()
                .map_or(Value::Null, |p| Value::from(p.clone())),
        );
        Value::Object(m)
    }

    fn encode(&self, input: ArrayRef<'_>) -> Result<NDBuffer> {
        Ok(checksum32::encode(self, input.data))
    }

    checksum32_decode_methods!();
}

/// One lookup3 word: 4 little-endian bytes.
fn word(k: &[u8]) -> u32 {
    u32::from_le_bytes([k[0], k[1], k[2], k[3]])
}

/// lookup3's `mix` of three state words.
fn mix(a: &mut u32, b: &mut u32, c: &mut u32) {
    *a = a.wrapping_sub(*c);
    *a ^= c.rotate_left(4);
    *c = c.wrapping_add(*b);
    *b = b.wrapping_sub(*a);
    *b ^= a.rotate_left(6);
    *a = a.wrapping_add(*c);
    *c = c.wrapping_sub(*b);
    *c ^= b.rotate_left(8);
    *b = b.wrapping_add(*a);
    *a = a.wrapping_sub(*c);
    *a ^= c.rotate_left(16);
    *c = c.wrapping_add(*b);
    *b = b.wrapping_sub(*a);
    *b ^= a.rotate_left(19);
    *a = a.wrapping_add(*c);
    *c = c.wrapping_sub(*b);
    *c ^= b.rotate_left(4);
    *b = b.wrapping_add(*a);
}

/// lookup3's `final` mixing; the hash is the returned `c`.
fn final_mix(mut a: u32, mut b: u32, mut c: u32) -> u32 {
    c ^= b;
    c = c.wrapping_sub(b.rotate_left(14));
    a ^= c;
    a = a.wrapping_sub(c.rotate_left(11));
    b ^= a;
    b = b.wrapping_sub(a.rotate_left(25));
    c ^= b;
    c = c.wrapping_sub(b.rotate_left(16));
    a ^= c;
    a = a.wrapping_sub(c.rotate_left(4));
    b ^= a;
    b = b.wrapping_sub(a.rotate_left(14));
    c ^= b;
    c.wrapping_sub(b.rotate_left(24))
}

/// Bob Jenkins' lookup3 `hashlittle` as HDF5's `H5_checksum_lookup3` computes it (bytes read
/// little-endian on every machine; the length enters the seed modulo 2³²).
pub fn lookup3(data: &[u8], initval: u32) -> u32 {
    let seed = 0xdead_beef_u32
        .wrapping_add(data.len() as u32)
        .wrapping_add(initval);
    let (mut a, mut b, mut c) = (seed, seed, seed);
    let mut k = data;
    while k.len() > 12 {
        a = a.wrapping_add(word(&k[0..4]));
        b = b.wrapping_add(word(&k[4..8]));
        c = c.wrapping_add(word(&k[8..12]));
        mix(&mut a, &mut b, &mut c);
        k = &k[12..];
    }
    if k.is_empty() {
        return c;
    }
    // The last 1 to 12 bytes, zero-padded to three words.
    let mut tail = [0u8; 12];
    tail[..k.len()].copy_from_slice(k);
    a = a.wrapping_add(word(&tail[0..4]));
    b = b.wrapping_add(word(&tail[4..8]));
    c = c.wrapping_add(word(&tail[8..12]));
    final_mix(a, b, c)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::codec::checksum32::test_util::{flip_and_decode, short_input_and_small_output};
    use crate::codec::get_codec;
    use crate::codec::test_util::round_trip;
    use crate::error::ErrorKind;
    use serde_json::json;

    fn data(n: usize) -> Vec<u8> {
        (0..n).map(|i| ((i * 7 + i / 251) % 256) as u8).collect()
    }

    #[test]
    fn hash_matches_numcodecs() {
        // numcodecs.jenkins.jenkins_lookup3(data[:n], 0) and (..., 0xdeadbeef)
        let golden: [(usize, u32, u32); 10] = [
            (0, 0xdeadbeef, 0xbd5b7dde),
            (1, 0x8ba9414b, 0x5c62c303),
            (3, 0xf1e41b76, 0x59bcc8f1),
            (4, 0x629b5fe7, 0xdff51e7f),
            (11, 0xd8e1dae7, 0x112226d5),
            (12, 0x4614fb6b, 0x7e6159d9),
            (13, 0x9c600351, 0x20694e07),
            (24, 0xec28ba43, 0x82b9d69d),
            (25, 0x2e987bba, 0xe5ef8b98),
            (40, 0x50703315, 0x5c48c155),
        ];
        let d = data(40);
        for (n, h0, h1) in golden {
            assert_eq!(lookup3(&d[..n], 0), h0, "{n} bytes, initval 0");
            assert_eq!(
                lookup3(&d[..n], 0xdeadbeef),
                h1,
                "{n} bytes, initval 0xdeadbeef"
            );
        }
    }

    #[test]
    fn encode_matches_numcodecs_bytes() {
        // JenkinsLookup3(7, prefix=b"HDF").encode(b"hello world")
        let c = JenkinsLookup3::new(7, Some(b"HDF".to_vec()));
        let enc = c.encode(ArrayRef::bytes(b"hello world")).unwrap();
        assert_eq!(enc.bytes(), b"hello world\x42\x65\xc7\x23");
        // JenkinsLookup3().encode(b"")
        let enc = JenkinsLookup3::default()
            .encode(ArrayRef::bytes(b""))
            .unwrap();
        assert_eq!(enc.bytes(), &[0xef, 0xbe, 0xad, 0xde]);
    }

    #[test]
    fn round_trip_sizes_seeds_prefixes() {
        for (initval, prefix) in [
            (0, None),
            (1, Some(vec![])),
            (u32::MAX, Some(vec![1, 2, 3])),
        ] {
            let c = JenkinsLookup3::new(initval, prefix);
            for n in [0, 1, 12, 13, 1001, 1 << 20] {
                let enc = round_trip(&c, &data(n), &format!("{c:?}, {n} bytes"));
                assert_eq!(enc.len(), n + 4);
                assert_eq!(c.decoded_range(&enc).unwrap().unwrap(), 0..n);
            }
        }
    }

    #[test]
    fn corruption_and_short_input_are_errors() {
        let c = JenkinsLookup3::default();
        let (enc, _) = flip_and_decode(&c, b"abcdef", 2);
        assert!(c.decoded_range(&enc).unwrap().is_err());
        short_input_and_small_output(&c);
        // The prefix takes part in the hash.
        let good = c.encode(ArrayRef::bytes(b"abc")).unwrap();
        let other = JenkinsLookup3::new(0, Some(vec![0]));
        let e = other.decode(ArrayRef::bytes(good.bytes())).unwrap_err();
        assert_eq!(e.kind(), ErrorKind::ChecksumMismatch);
    }

    #[test]
    fn config_keys() {
        let c = get_codec(&json!({"id": "jenkins_lookup3"})).unwrap();
        assert_eq!(
            c.config(),
            json!({"id": "jenkins_lookup3", "initval": 0, "prefix": null})
        );
        let cfg =
            json!({"id": "jenkins_lookup3", "initval": 4294967295u32, "prefix": [72, 68, 70]});
        assert_eq!(get_codec(&cfg).unwrap().config(), cfg);
        for bad in [
            json!({"id": "jenkins_lookup3", "initval": -1}),
            json!({"id": "jenkins_lookup3", "initval": 4294967296u64}),
            json!({"id": "jenkins_lookup3", "prefix": [256]}),
            json!({"id": "jenkins_lookup3", "prefix": "HDF"}),
            json!({"id": "jenkins_lookup3", "seed": 1}),
        ] {
            let e = get_codec(&bad).unwrap_err();
            assert_eq!(e.kind(), ErrorKind::InvalidConfig, "{bad}");
        }
    }
}
