//! Compares the multithreaded xz decoder with the single-threaded one: same bytes, or the same
//! error kind, for every input.
//!
//! Even first byte: the rest is used as is. Odd first byte: the rest is expanded to a 1-3 MiB
//! input, compressed into a multi-block xz stream (1 MiB blocks), then damaged at places taken
//! from the input (bit flips, a cut).
#![no_main]

use libfuzzer_sys::fuzz_target;
use ndpack::codec::lzma::LZMA;
use ndpack::codec::{ArrayRef, Codec};
use serde_json::json;

fn same(c: &LZMA, data: &[u8]) {
    let serial = c.decode_serial(data);
    let parallel = c.decode_parallel(data);
    match (serial, parallel) {
        (Ok(a), Ok(b)) => assert!(a == b, "decoded bytes differ"),
        (Err(a), Err(b)) => assert_eq!(a.kind(), b.kind(), "{a} / {b}"),
        (a, b) => panic!("serial {a:?} / parallel {b:?}"),
    }
}

fuzz_target!(|data: &[u8]| {
    let c = LZMA::new(
        1,
        -1,
        None,
        Some(json!([{"id": 33, "preset": 0, "dict_size": 1 << 16}])),
    )
    .unwrap()
    .with_min_xz_block(1 << 20);
    let Some((&mode, rest)) = data.split_first() else {
        return;
    };
    if mode & 1 == 0 || rest.len() <= 8 {
        same(&c, rest);
        return;
    }
    let (ctl, seed) = rest.split_at(8);
    let n = (1 << 20) + usize::from(ctl[0]) * 8000;
    let input: Vec<u8> = (0..n)
        .map(|i| seed[i % seed.len()].wrapping_add((i / seed.len()) as u8))
        .collect();
    let mut enc = c.encode(ArrayRef::bytes(&input)).unwrap().bytes().to_vec();
    let len = enc.len();
    for k in 0..3 {
        let v = u16::from_le_bytes([ctl[1 + 2 * k], ctl[2 + 2 * k]]) as usize;
        match mode >> (1 + 2 * k) & 3 {
            1 | 2 => enc[v * 97 % len] ^= 1 << (v % 8),
            3 => enc.truncate(len - v % 64),
            _ => {}
        }
    }
    same(&c, &enc);
});
