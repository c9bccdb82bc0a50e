//! BloscLZ decoding of arbitrary bytes: errors are fine, panics and out-of-bounds are not.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    // The first two bytes pick the output size (up to 64 KiB).
    if data.len() < 2 {
        return;
    }
    let size = u16::from_le_bytes([data[0], data[1]]) as usize;
    let mut out = vec![0u8; size];
    if let Ok(n) = ndpack::blosc::blosclz::decompress(&data[2..], &mut out) {
        assert!(n <= size);
    }
});
