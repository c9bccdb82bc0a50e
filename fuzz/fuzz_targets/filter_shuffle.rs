#![no_main]
//! Fuzzes the `shuffle` filter: decodes arbitrary bytes (and decodes into a buffer) with a config
//! chosen by the first bytes, then encodes them; encoding the decoded bytes gives the input back.

#[macro_use]
#[path = "common/filter.rs"]
mod filter;

use serde_json::json;

filter_target!(
    |_, _, c| json!({"id": "shuffle", "elementsize": c as i64 - 2}),
    |codec, dec, rest| {
        let again = codec.encode(dec.as_array_ref()).expect("encode");
        assert_eq!(again.bytes(), rest);
    }
);
