#![no_main]
//! Fuzzes the `bitround` filter: decodes arbitrary bytes (and decodes into a buffer) with a config
//! chosen by the first bytes, then encodes them; decoding gives the bytes back.

#[macro_use]
#[path = "common/filter.rs"]
mod filter;

use serde_json::json;

filter_target!(
    |_, _, c| json!({"id": "bitround", "keepbits": c % 60}),
    |_codec, dec, rest| {
        assert_eq!(dec.bytes(), rest);
    }
);
