#![no_main]
//! Fuzzes the `astype` filter: decodes arbitrary bytes (and decodes into a buffer) with a config
//! chosen by the first bytes, then encodes them; with equal types, decoding gives the bytes back.

#[macro_use]
#[path = "common/filter.rs"]
mod filter;

use filter::NUM;
use serde_json::json;

filter_target!(
    |a, b, _| json!({"id": "astype", "encode_dtype": NUM[a % 16], "decode_dtype": NUM[b % 16]}),
    |_codec, dec, rest| {
        if a % 16 == b % 16 && a % 16 != 0 {
            assert_eq!(dec.bytes(), rest);
        }
    }
);
