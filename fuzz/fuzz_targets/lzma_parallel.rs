//! Compares the parallel lzma decoders with the single-threaded one: same bytes, or the same
//! error kind, for every input. First byte's top bit: an xz codec (liblzma's multithreaded
//! decoder) or a raw `[delta, lzma2]` / `[lzma2]` codec (ndpack's part-by-part raw decoder; the
//! delta distance from the input).
//!
//! Even first byte: the rest is used as is. Odd first byte: the rest is expanded to a 1-3 MiB
//! input, compressed into a multi-block xz stream or a multi-piece raw stream (1 MiB blocks or
//! pieces), checked to decode to that input, then damaged at places taken from the input (bit
//! flips, a cut).
#![no_main]

use libfuzzer_sys::fuzz_target;
use ndpack::codec::lzma::Lzma;
use ndpack::codec::{ArrayRef, Codec};
use serde_json::json;

#[path = "common/parallel.rs"]
mod common;

fn same(c: &Lzma, data: &[u8]) {
    common::same(c.decode_serial(data), c.decode_parallel(data));
}

fuzz_target!(|data: &[u8]| {
    let Some((&mode, rest)) = data.split_first() else {
        return;
    };
    let lzma2 = json!({"id": 33, "preset": 0, "dict_size": 1 << 16});
    let c = if mode & 0x80 == 0 {
        Lzma::new(1, -1, None, Some(json!([lzma2])))
    } else {
        let dist = rest.first().map_or(0, |&b| b % 9);
        let chain = if dist == 0 {
            json!([lzma2])
        } else {
            json!([{"id": 3, "dist": dist}, lzma2])
        };
        Lzma::new(3, -1, None, Some(chain))
    }
    .unwrap()
    .with_min_xz_block(1 << 20);
    if mode & 1 == 0 || rest.len() <= 8 {
        same(&c, rest);
        return;
    }
    let (ctl, seed) = rest.split_at(8);
    let n = (1 << 20) + usize::from(ctl[0]) * 8000;
    let input = common::seeded(seed, n);
    let mut enc = c.encode(ArrayRef::bytes(&input)).unwrap().bytes().to_vec();
    assert!(c.decode_serial(&enc).unwrap() == input);
    common::damage(&mut enc, mode, ctl, |enc, kind, v| {
        let len = enc.len();
        match kind {
            1 | 2 => enc[v * 97 % len] ^= 1 << (v % 8),
            3 => enc.truncate(len.saturating_sub(v % 64)),
            _ => {}
        }
    });
    same(&c, &enc);
});
