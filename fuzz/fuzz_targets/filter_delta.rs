#![no_main]
//! Fuzzes the `delta` filter: decodes arbitrary bytes (and decodes into a buffer) with a config
//! chosen by the first bytes, then encodes them; with `astype == dtype` and an integer type, encoding the decoded items gives the input back.

#[macro_use]
#[path = "common/filter.rs"]
mod filter;

use filter::NUM;
use serde_json::json;

filter_target!(
    |a, b, _| json!({"id": "delta", "dtype": NUM[a % 16], "astype": NUM[b % 16]}),
    |codec, dec, rest| {
        if a % 16 == b % 16 && (1..10).contains(&(a % 16)) {
            let again = codec.encode(dec.as_array_ref()).expect("encode");
            assert_eq!(again.bytes(), rest);
        }
    }
);
