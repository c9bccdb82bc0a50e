//! Fuzzes the Blosc1 chunk decoder: whole chunks, partial decodes and the header helpers.
#![no_main]

use libfuzzer_sys::fuzz_target;
use ndpack::blosc::v1;

fuzz_target!(|data: &[u8]| {
    let mut chunk = data.to_vec();
    if chunk.len() >= 16 {
        // Keep the input in the Blosc1 format: version 2, no extended-header marker.
        chunk[0] = 2;
        if chunk[2] & 0x05 == 0x05 {
            chunk[2] &= !0x04;
        }
    }
    let _ = v1::cbuffer_complib(&chunk);
    let _ = v1::cbuffer_metainfo(&chunk);
    let Ok((nbytes, _, _)) = v1::cbuffer_sizes(&chunk) else {
        assert!(v1::decompress(&chunk).is_err());
        return;
    };
    // Keep each run small: a zstd stream may legitimately expand 32768-fold.
    if nbytes > 64 << 20 {
        return;
    }
    if let Ok(out) = v1::decompress(&chunk) {
        assert_eq!(out.len(), nbytes);
        if let Ok(part) = v1::getitem(&chunk, 1, 7) {
            let ts = v1::cbuffer_metainfo(&chunk).unwrap().0;
            assert_eq!(part, &out[ts..8 * ts]);
        }
    }
});
