#![no_main]
//! Fuzzes the `quantize` filter: decodes arbitrary bytes (and decodes into a buffer) with a config
//! chosen by the first bytes, then encodes them; decoding never panics.

#[path = "common/filter.rs"]
mod filter;

use filter::{exercise, split, FLOAT};
use libfuzzer_sys::fuzz_target;
use serde_json::json;

fuzz_target!(|data: &[u8]| {
    let Some((a, b, c, rest)) = split(data) else {
        return;
    };
    exercise(
        json!({"id": "quantize", "digits": c % 20, "dtype": FLOAT[a % 6], "astype": FLOAT[b % 6]}),
        rest,
    );
});
