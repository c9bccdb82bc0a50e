//! Fuzzes ndpack's speculative parallel ZFP decoder (`zfp/speculative.rs`) against zfp-rs's
//! serial decoder: on any input, both must decode the same values and agree on truncation.
//! The hook it calls, `zfp::speculative_agrees_with_serial`, exists only under `--cfg fuzzing`,
//! which `cargo fuzz` sets.
#![no_main]

use libfuzzer_sys::fuzz_target;
use ndpack::zfp::{self, ZfpMode, ZfpType};

fuzz_target!(|data: &[u8]| {
    if data.len() < 6 {
        return;
    }
    let (head, body) = data.split_at(6);
    let ztype = ZfpType::from_code(i64::from(head[0] % 4) + 1).unwrap();
    let ndim = usize::from(head[1] % 4) + 1;
    let max = [600, 60, 20, 9][ndim - 1];
    let shape: Vec<usize> = (0..ndim)
        .map(|i| 1 + usize::from(head[2 + i % 2].rotate_left(i as u32)) % max)
        .collect();
    let mode = match head[4] % 3 {
        0 => ZfpMode::Reversible,
        1 => ZfpMode::FixedPrecision(u32::from(head[4] / 3)),
        _ => ZfpMode::FixedAccuracy(2f64.powi(i32::from(head[4] / 3) - 40)),
    };
    let parts = 2 + usize::from(head[5] % 30);
    if let Some(agree) = zfp::speculative_agrees_with_serial(body, ztype, &shape, mode, parts) {
        assert!(agree, "{ztype:?} {shape:?} {mode:?} {parts} parts");
    }
});
