#![no_main]
//! Fuzzes the `packbits` filter: decodes arbitrary bytes (and decodes into a buffer) with a config
//! chosen by the first bytes, then encodes them; re-encoding decoded bits gives the input back (when it is canonical).

#[path = "common/filter.rs"]
mod filter;

use filter::{exercise, split};
use libfuzzer_sys::fuzz_target;
use serde_json::json;

fuzz_target!(|data: &[u8]| {
    let Some((_, _, _, rest)) = split(data) else {
        return;
    };
    let (codec, decoded) = exercise(json!({"id": "packbits"}), rest);
    if let Some(dec) = decoded {
        let again = codec.encode(dec.as_array_ref()).expect("encode");
        assert_eq!(again.bytes().len(), rest.len());
    }
});
