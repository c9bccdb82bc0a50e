#![no_main]
//! Fuzzes the `categorize` filter: decodes arbitrary bytes (and decodes into a buffer) with a config
//! chosen by the first bytes, then encodes them; decoding never panics.

#[macro_use]
#[path = "common/filter.rs"]
mod filter;

use filter::NUM;
use serde_json::json;

filter_target!(
    |a, b, c| json!({"id": "categorize", "labels": (&["a", "bb", "", "日本", "ccc"][..(c % 6) as usize]), "dtype": (["<U3", ">U2", "|O"][a % 3]), "astype": NUM[1 + b % 15]})
);
