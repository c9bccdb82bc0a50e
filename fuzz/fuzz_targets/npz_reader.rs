//! Fuzz the NPZ reader: end records (ZIP64 included), central directory, local headers,
//! inflate, CRC checks and the NPY members, read one by one and all in parallel.
#![no_main]

use libfuzzer_sys::fuzz_target;
use ndpack::npy::NpzReader;
use ndpack::Buffer;

fuzz_target!(|data: &[u8]| {
    if let Ok(z) = NpzReader::open(Buffer::copy_from_slice(data)) {
        for i in 0..z.members().len().min(64) {
            let _ = z.read_index(i);
        }
        let _ = z.read_all();
    }
});
