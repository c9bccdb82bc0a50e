#![no_main]
//! Fuzzes the `bitround` filter: decodes arbitrary bytes (and decodes into a buffer) with a config
//! chosen by the first bytes, then encodes them; decoding gives the bytes back.

#[path = "common/filter.rs"]
mod filter;

use filter::{exercise, split};
use libfuzzer_sys::fuzz_target;
use serde_json::json;

fuzz_target!(|data: &[u8]| {
    let Some((_, _, c, rest)) = split(data) else {
        return;
    };
    let (codec, decoded) = exercise(json!({"id": "bitround", "keepbits": c % 60}), rest);
    if let Some(dec) = decoded {
        assert_eq!(dec.bytes(), rest);
    }
    let _ = codec;
});
