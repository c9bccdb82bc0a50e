//! BloscLZ compress then decompress gives back the input, at every clevel.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Some((&level, input)) = data.split_first() else {
        return;
    };
    let clevel = level % 10;
    let mut packed = vec![0u8; input.len() + 66];
    let n = ndpack::blosc::blosclz::compress(clevel, input, &mut packed);
    if n == 0 {
        return;
    }
    assert!(n < input.len());
    let mut out = vec![0u8; input.len()];
    let m = ndpack::blosc::blosclz::decompress(&packed[..n], &mut out).expect("own output decodes");
    assert_eq!(m, input.len());
    assert_eq!(out, input);
});
