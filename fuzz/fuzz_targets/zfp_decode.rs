//! Fuzzes the zfpy header parser and the ZFP decoder: with a header, headerless with a type,
//! shape and mode taken from the input, and through the numcodecs `zfpy` codec.
#![no_main]

use libfuzzer_sys::fuzz_target;
use ndpack::codec::{get_codec, ArrayRef};
use ndpack::zfp::{self, ZfpMode, ZfpType};

fuzz_target!(|data: &[u8]| {
    if let Ok(h) = zfp::read_header(data) {
        assert!(h.bits == 96 || h.bits == 148);
    }
    let _ = zfp::decompress(data);
    let codec = get_codec(&serde_json::json!({"id": "zfpy"})).unwrap();
    let _ = codec.decode(ArrayRef::bytes(data));
    if data.len() > 4 {
        let (head, body) = data.split_at(4);
        let ztype = ZfpType::from_code(i64::from(head[0] % 4) + 1).unwrap();
        let ndim = usize::from(head[1] % 4) + 1;
        let side = usize::from(head[2] % 9) + 1;
        let shape = vec![side; ndim];
        let mode = match head[3] % 4 {
            0 => ZfpMode::Reversible,
            1 => ZfpMode::FixedRate(f64::from(head[3] / 4) * 0.5),
            2 => ZfpMode::FixedPrecision(u32::from(head[3] / 4)),
            _ => ZfpMode::FixedAccuracy(2f64.powi(i32::from(head[3] / 4) - 40)),
        };
        let _ = zfp::decompress_headerless(body, ztype, &shape, mode, None);
    }
});
