#![no_main]
//! Fuzzes the `astype` filter: decodes arbitrary bytes (and decodes into a buffer) with a config
//! chosen by the first bytes, then encodes them; with equal types, decoding gives the bytes back.

#[path = "common/filter.rs"]
mod filter;

use filter::{exercise, split, NUM};
use libfuzzer_sys::fuzz_target;
use serde_json::json;

fuzz_target!(|data: &[u8]| {
    let Some((a, b, _, rest)) = split(data) else {
        return;
    };
    let (codec, decoded) = exercise(
        json!({"id": "astype", "encode_dtype": NUM[a % 16], "decode_dtype": NUM[b % 16]}),
        rest,
    );
    if let Some(dec) = decoded {
        if a % 16 == b % 16 && a % 16 != 0 {
            assert_eq!(dec.bytes(), rest);
        }
    }
    let _ = codec;
});
