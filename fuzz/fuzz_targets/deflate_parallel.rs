//! Parallel against serial inflate: the input is taken as a raw deflate stream, or compressed in
//! small independent segments (and possibly damaged) first, as its first bytes say; the parallel
//! decoder, with tiny pieces, must give exactly what the serial one gives or decline, both when it
//! decodes pieces into buffers of their own and straight into place (taking the stream for one
//! in segments of the size the input names), into a `Vec`, a growing buffer and a slice.

#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    static INIT: std::sync::Once = std::sync::Once::new();
    INIT.call_once(|| {
        ndpack::threads::set_num_threads(2).expect("two threads");
    });
    ndpack::fuzz::fuzz_parallel_inflate(data);
});
