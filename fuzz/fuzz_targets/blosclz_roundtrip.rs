//! BloscLZ compress then decompress gives back the input, at every clevel, with c-blosc2's
//! heuristics and with c-blosc 1.x's (split and unsplit chunks).
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Some((&level, input)) = data.split_first() else {
        return;
    };
    let clevel = level % 10;
    let mut packed = vec![0u8; input.len() + 66];
    for variant in 0..3 {
        let n = match variant {
            0 => ndpack::blosc::blosclz::compress(clevel, input, &mut packed),
            v => ndpack::blosc::blosclz::compress_blosc1(clevel, input, &mut packed, v == 2),
        };
        if n == 0 {
            continue;
        }
        assert!(n < input.len());
        let mut out = vec![0u8; input.len()];
        let m = ndpack::blosc::blosclz::decompress(&packed[..n], &mut out)
            .expect("own output decodes");
        assert_eq!(m, input.len());
        assert_eq!(out, input);
    }
});
