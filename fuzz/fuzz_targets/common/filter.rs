//! What the `filter_*` fuzz targets share: the first three input bytes pick the configuration
//! (`a`, `b`, `c`), the rest is the data; `exercise` decodes the data (which must not panic),
//! checks that `decode_into` agrees with `decode`, and encodes the data too.

use ndpack::codec::{get_codec, ArrayMut, ArrayRef, Codec, NDBuffer};
use serde_json::Value;

/// Numeric dtypes, both byte orders.
#[allow(dead_code)]
pub const NUM: [&str; 16] = [
    "|b1", "|i1", "|u1", "<i2", ">i2", "<u2", "<i4", ">u4", "<i8", ">u8", "<f2", ">f2", "<f4",
    ">f4", "<f8", ">f8",
];
/// Floating-point dtypes, both byte orders.
#[allow(dead_code)]
pub const FLOAT: [&str; 6] = ["<f2", ">f2", "<f4", ">f4", "<f8", ">f8"];

/// Splits the fuzz input into the three selector bytes and the data.
pub fn split(data: &[u8]) -> Option<(usize, usize, u8, &[u8])> {
    let (head, rest) = data.split_at_checked(3)?;
    Some((head[0] as usize, head[1] as usize, head[2], rest))
}

/// Builds the codec (the config must be valid), decodes `data`, checks `decode_into` against
/// `decode`, and encodes `data`. Returns the codec and what `decode` gave, if it succeeded.
pub fn exercise(config: Value, data: &[u8]) -> (Box<dyn Codec>, Option<NDBuffer>) {
    let codec = get_codec(&config).expect("valid config");
    let decoded = codec.decode(ArrayRef::bytes(data)).ok();
    if let Some(dec) = &decoded {
        let mut out = vec![0u8; dec.bytes().len()];
        codec
            .decode_into(data, ArrayMut::bytes(&mut out))
            .expect("decode_into succeeds where decode does");
        assert_eq!(out, dec.bytes());
    }
    let _ = codec.encode(ArrayRef::bytes(data));
    (codec, decoded)
}

/// Declares the fuzz target of one filter: `|a, b, c| config` builds the config from the three
/// selector bytes (see [`split`]), and the optional `|codec, decoded, rest| { ... }` block checks
/// a successful decode against the input bytes `rest`.
#[allow(unused_macros)]
macro_rules! filter_target {
    (|$a:tt, $b:tt, $c:tt| $config:expr) => {
        filter_target!(|$a, $b, $c| $config, |_codec, _decoded, _rest| {});
    };
    (|$a:tt, $b:tt, $c:tt| $config:expr, |$codec:ident, $dec:ident, $rest:ident| $check:block) => {
        libfuzzer_sys::fuzz_target!(|data: &[u8]| {
            let Some(($a, $b, $c, $rest)) = filter::split(data) else {
                return;
            };
            let ($codec, decoded) = filter::exercise($config, $rest);
            let _ = &$codec;
            if let Some($dec) = decoded $check
        });
    };
}
