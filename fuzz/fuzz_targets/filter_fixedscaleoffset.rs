#![no_main]
//! Fuzzes the `fixedscaleoffset` filter: decodes arbitrary bytes (and decodes into a buffer) with a config
//! chosen by the first bytes, then encodes them; decoding never panics.

#[macro_use]
#[path = "common/filter.rs"]
mod filter;

use filter::NUM;
use serde_json::json;

filter_target!(
    |a, b, c| json!({"id": "fixedscaleoffset", "offset": c as i64 - 100, "scale": if c % 2 == 0 { json!(c as f64 / 7.0) } else { json!(c / 16 + 1) }, "dtype": NUM[1 + a % 15], "astype": NUM[1 + b % 15]})
);
