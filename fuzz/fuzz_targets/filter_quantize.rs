#![no_main]
//! Fuzzes the `quantize` filter: decodes arbitrary bytes (and decodes into a buffer) with a config
//! chosen by the first bytes, then encodes them; decoding never panics.

#[macro_use]
#[path = "common/filter.rs"]
mod filter;

use filter::FLOAT;
use serde_json::json;

filter_target!(
    |a, b, c| json!({"id": "quantize", "digits": c % 20, "dtype": FLOAT[a % 6], "astype": FLOAT[b % 6]})
);
