//! Compares bz2's parallel block decoder with the serial decoder: same bytes, or the same error
//! kind, for every input.
//!
//! Even first byte: the rest is used as is (arbitrary data). Odd first byte: the rest is expanded
//! to a multi-block input, compressed (several streams when over one piece), then damaged at
//! places taken from the input (bit flips, a block magic written in, a cut), so that most runs
//! reach the block-splitting logic with nearly valid data.
#![no_main]

use libfuzzer_sys::fuzz_target;
use ndpack::codec::bz2::Bz2;
use ndpack::codec::{ArrayRef, Codec, MAX_DECODED_SIZE};
use ndpack::fuzz::{decompress_parallel, decompress_serial};

#[path = "common/parallel.rs"]
mod common;

fn same(data: &[u8]) {
    common::same(
        decompress_serial(data, MAX_DECODED_SIZE),
        decompress_parallel(data, MAX_DECODED_SIZE),
    );
}

fuzz_target!(|data: &[u8]| {
    let Some((&mode, rest)) = data.split_first() else {
        return;
    };
    if mode & 1 == 0 || rest.len() <= 8 {
        same(rest);
        return;
    }
    let (ctl, seed) = rest.split_at(8);
    // 120-370 kB of input from the seed, varied enough that it does not collapse into runs.
    let n = 120_000 + usize::from(ctl[0]) * 1000;
    let input = common::seeded(seed, n);
    let codec = Bz2::new(1 + u32::from(mode >> 7)).unwrap();
    let mut enc = codec
        .encode(ArrayRef::bytes(&input))
        .unwrap()
        .bytes()
        .to_vec();
    common::damage(&mut enc, mode, ctl, |enc, kind, v| {
        let len = enc.len();
        match kind {
            1 => enc[v * 97 % len] ^= 1 << (v % 8),
            2 if len > 6 => {
                let at = v * 89 % (len - 6);
                enc[at..at + 6].copy_from_slice(&[0x31, 0x41, 0x59, 0x26, 0x53, 0x59]);
            }
            3 => enc.truncate(len - (v % 16).min(len)),
            _ => {}
        }
    });
    same(&enc);
    if mode & 0x7e == 0 {
        assert_eq!(decompress_parallel(&enc, MAX_DECODED_SIZE).unwrap(), input);
    }
});
