//! Fuzzes the Blosc2 chunk decoder: extended headers, filters, run streams, special chunks and
//! `getitem`.
#![no_main]

use libfuzzer_sys::fuzz_target;
use ndpack::blosc::v2;

fuzz_target!(|data: &[u8]| {
    let mut chunk = data.to_vec();
    if chunk.len() >= 32 {
        // Keep the input in the Blosc2 format: version 3-5 with the extended-header marker.
        chunk[0] = 3 + chunk[0] % 3;
        chunk[2] |= 0x05;
    }
    let Ok(info) = v2::chunk_info(&chunk) else {
        assert!(v2::decompress(&chunk).is_err());
        return;
    };
    // A header-only special chunk may declare up to 2 GiB; that allocation is legitimate but slow.
    if info.nbytes > 64 << 20 {
        return;
    }
    if let Ok(out) = v2::decompress(&chunk) {
        assert_eq!(out.len(), info.nbytes);
        let ts = info.typesize;
        let n = out.len() / ts;
        if n > 0 {
            let (start, count) = (n / 3, (n / 2).max(1).min(n - n / 3));
            if let Ok(part) = v2::getitem(&chunk, start, count) {
                assert_eq!(part, &out[start * ts..(start + count) * ts]);
            }
        }
    }
});
