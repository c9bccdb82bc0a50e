//! Fuzzes the typed decoders of the object codecs (vlen-utf8, vlen-bytes, vlen-array, json2,
//! msgpack2) and their byte-level `Codec::decode`: any input gives a value or an error, never a
//! panic, a hang or a huge allocation; what decodes re-encodes and decodes to the same thing.
//! A decoded json2/msgpack2 array of a fixed-width dtype never takes more bytes than its input
//! justifies ([`declared_size_limit`]).
#![no_main]

use libfuzzer_sys::fuzz_target;
use ndpack::codec::json2::Json2;
use ndpack::codec::msgpack2::MsgPack2;
use ndpack::codec::object::{declared_size_limit, ObjectArray};
use ndpack::codec::vlen_array::VLenArray;
use ndpack::codec::vlen_bytes::VLenBytes;
use ndpack::codec::vlen_utf8::VLenUtf8;
use ndpack::codec::{ArrayRef, Codec};

/// Checks that the items of `a`, decoded from `input_len` bytes, fit the declared-size limit.
fn check_declared(a: &ObjectArray, input_len: usize) {
    if let Ok(dt) = a.dtype.parse::<ndpack::DataType>() {
        let n = a.shape.iter().try_fold(1usize, |n, &d| n.checked_mul(d));
        let bytes = n.and_then(|n| n.checked_mul(dt.itemsize()));
        assert!(bytes.is_some_and(|b| b <= declared_size_limit(input_len)));
    }
}

fuzz_target!(|data: &[u8]| {
    let Some((&selector, input)) = data.split_first() else {
        return;
    };
    match selector % 6 {
        0 => {
            if let Ok(s) = VLenUtf8::decode_strs(input) {
                let again = VLenUtf8::encode_strs(&s).unwrap();
                assert_eq!(VLenUtf8::decode_strs(&again).unwrap(), s);
            }
        }
        1 => {
            if let Ok(b) = VLenBytes::decode_slices(input) {
                let again = VLenBytes::encode_items(&b).unwrap();
                assert_eq!(VLenBytes::decode_slices(&again).unwrap(), b);
            }
        }
        2 => {
            let dtype = ["<i2", "|u1", ">f8", "<c16"][usize::from(selector / 6) % 4];
            let codec = VLenArray::new(dtype.parse().unwrap()).unwrap();
            if let Ok(arrays) = codec.decode_arrays(input) {
                let again = codec.encode_arrays(&arrays).unwrap();
                assert_eq!(codec.decode_arrays(&again).unwrap(), arrays);
            }
        }
        3 | 4 => {
            let codec = if selector % 6 == 3 {
                Json2::default()
            } else {
                let cfg = serde_json::json!({"id": "json2", "indent": 1, "strict": false,
                                             "ensure_ascii": false, "sort_keys": false});
                Json2::from_config(cfg.as_object().unwrap()).unwrap()
            };
            if let Ok(a) = codec.decode_array(input) {
                check_declared(&a, input.len());
                // NaN != NaN, so compare the re-encoded text instead of the values
                let text = codec.encode_array(&a).unwrap();
                let b = codec.decode_array(&text).unwrap();
                assert_eq!(codec.encode_array(&b).unwrap(), text);
                let _ = a.into_flat();
            }
            let _ = codec.decode(ArrayRef::bytes(input));
        }
        _ => {
            let codec = MsgPack2::new(selector & 0x40 != 0, selector & 0x80 == 0, false);
            if let Ok(a) = codec.decode_array(input) {
                check_declared(&a, input.len());
                if let Ok(packed) = codec.encode_array(&a) {
                    let _ = codec.decode_array(&packed);
                }
                let _ = a.into_flat();
            }
            let _ = codec.decode(ArrayRef::bytes(input));
        }
    }
});
