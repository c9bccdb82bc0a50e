//! What the `*_parallel` fuzz targets share: the check that a parallel decoder agrees with the
//! serial one, the seeded multi-block input, and the damage steps applied to its encoding.

use ndpack::Result;

/// Panics unless both decoders give the same bytes, or errors of the same kind.
pub fn same(serial: Result<Vec<u8>>, parallel: Result<Vec<u8>>) {
    match (serial, parallel) {
        (Ok(a), Ok(b)) => assert!(a == b, "decoded bytes differ"),
        (Err(a), Err(b)) => assert_eq!(a.kind(), b.kind(), "{a} / {b}"),
        (a, b) => panic!("serial {a:?} / parallel {b:?}"),
    }
}

/// `n` bytes expanded from `seed` (not empty), varied enough not to collapse into runs.
pub fn seeded(seed: &[u8], n: usize) -> Vec<u8> {
    (0..n)
        .map(|i| seed[i % seed.len()].wrapping_add((i / seed.len()) as u8))
        .collect()
}

/// Applies three damage steps to `enc`: step `k` takes a 2-bit kind from `mode >> (1 + 2k)` and
/// a value from `ctl[1 + 2k..3 + 2k]`, and `step(enc, kind, value)` applies it. Each step sees
/// the stream as the earlier ones left it (a cut shortens it); an empty stream ends the steps.
pub fn damage(enc: &mut Vec<u8>, mode: u8, ctl: &[u8], step: impl Fn(&mut Vec<u8>, u8, usize)) {
    for k in 0..3 {
        if enc.is_empty() {
            break;
        }
        let v = u16::from_le_bytes([ctl[1 + 2 * k], ctl[2 + 2 * k]]) as usize;
        step(enc, mode >> (1 + 2 * k) & 3, v);
    }
}
