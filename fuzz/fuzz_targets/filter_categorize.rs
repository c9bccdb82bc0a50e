#![no_main]
//! Fuzzes the `categorize` filter: decodes arbitrary bytes (and decodes into a buffer) with a config
//! chosen by the first bytes, then encodes them; decoding never panics.

#[path = "common/filter.rs"]
mod filter;

use filter::{exercise, split, NUM};
use libfuzzer_sys::fuzz_target;
use serde_json::json;

fuzz_target!(|data: &[u8]| {
    let Some((a, b, c, rest)) = split(data) else {
        return;
    };
    exercise(
        json!({"id": "categorize", "labels": (&["a", "bb", "", "日本", "ccc"][..(c % 6) as usize]), "dtype": (["<U3", ">U2", "|O"][a % 3]), "astype": NUM[1 + b % 15]}),
        rest,
    );
});
