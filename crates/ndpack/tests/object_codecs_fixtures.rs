//! The object codecs against the numcodecs fixtures in `../shared/fixtures/numcodecs`: every
//! encoded file decodes with the typed API to as many items as the stored array has, the same
//! text decodes alike through vlen-utf8, vlen-bytes, json2 and msgpack2, and numeric arrays decode
//! to the stored bytes.

mod common;

use std::fs;
use std::path::{Path, PathBuf};

use ndpack::codec::json2::Json2;
use ndpack::codec::msgpack2::MsgPack2;
use ndpack::codec::object::{ObjectArray, ObjectValue};
use ndpack::codec::vlen_array::VLenArray;
use ndpack::codec::vlen_bytes::VLenBytes;
use ndpack::codec::vlen_utf8::VLenUtf8;
use ndpack::codec::{get_codec, ArrayRef};

fn root(id: &str) -> PathBuf {
    common::fixtures("numcodecs").join(id)
}

/// The shape and the data offset of an .npy file (format 1.0 or 2.0).
fn npy_header(path: &Path) -> (Vec<usize>, usize, Vec<u8>) {
    let bytes = fs::read(path).unwrap();
    assert_eq!(&bytes[..6], b"\x93NUMPY");
    let (hlen, start) = if bytes[6] == 1 {
        (u16::from_le_bytes([bytes[8], bytes[9]]) as usize, 10)
    } else {
        (
            u32::from_le_bytes(bytes[8..12].try_into().unwrap()) as usize,
            12,
        )
    };
    let header = std::str::from_utf8(&bytes[start..start + hlen]).unwrap();
    let shape_text = header
        .split("'shape': (")
        .nth(1)
        .unwrap()
        .split(')')
        .next()
        .unwrap();
    let shape = shape_text
        .split(',')
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(|s| s.parse().unwrap())
        .collect();
    (shape, start + hlen, bytes)
}

fn encoded(id: &str, codec: usize, array: usize) -> Vec<u8> {
    fs::read(root(id).join(format!("codec.{codec:02}/encoded.{array:02}.dat"))).unwrap()
}

fn num_items(id: &str, array: usize) -> usize {
    npy_header(&root(id).join(format!("array.{array:02}.npy")))
        .0
        .iter()
        .product()
}

fn config(id: &str, codec: usize) -> serde_json::Value {
    let text = fs::read_to_string(root(id).join(format!("codec.{codec:02}/config.json"))).unwrap();
    serde_json::from_str(&text).unwrap()
}

fn strings(a: ObjectArray) -> Vec<String> {
    a.into_flat()
        .unwrap()
        .into_iter()
        .map(|v| match v {
            ObjectValue::Str(s) => s,
            other => panic!("not a string: {other:?}"),
        })
        .collect()
}

#[test]
fn vlen_utf8_and_vlen_bytes_fixtures() {
    assert!(get_codec(&config("vlen-utf8", 0)).is_ok());
    assert!(get_codec(&config("vlen-bytes", 0)).is_ok());
    for i in 0..4 {
        let s = VLenUtf8::decode_strings(&encoded("vlen-utf8", 0, i)).unwrap();
        assert_eq!(s.len(), num_items("vlen-utf8", i));
        let b = VLenBytes::decode_items(&encoded("vlen-bytes", 0, i)).unwrap();
        assert_eq!(b.len(), num_items("vlen-bytes", i));
        // the same text in both folders
        let as_bytes: Vec<Vec<u8>> = s.iter().map(|x| x.as_bytes().to_vec()).collect();
        assert_eq!(as_bytes, b, "array {i}");
        // and we write the same bytes back
        assert_eq!(
            VLenUtf8::encode_strs(&s).unwrap(),
            encoded("vlen-utf8", 0, i)
        );
        assert_eq!(
            VLenBytes::encode_items(&b).unwrap(),
            encoded("vlen-bytes", 0, i)
        );
    }
    let s = VLenUtf8::decode_strings(&encoded("vlen-utf8", 0, 1)).unwrap();
    assert_eq!(&s[..3], ["¡Hola mundo!", "Hej Världen!", "Servus Woid!"]);
}

#[test]
fn vlen_array_fixtures_agree_across_dtypes() {
    let mut reference: Option<Vec<Vec<i64>>> = None;
    for c in 0..8 {
        let codec = VLenArray::from_config(config("vlen-array", c).as_object().unwrap()).unwrap();
        let dtype = codec.dtype().clone();
        let arrays = codec.decode_arrays(&encoded("vlen-array", c, 0)).unwrap();
        assert_eq!(arrays.len(), num_items("vlen-array", 0));
        let values: Vec<Vec<i64>> = arrays
            .iter()
            .map(|a| {
                let n = dtype.itemsize();
                a.buffer()
                    .chunks_exact(n)
                    .map(|b| {
                        let mut le = [0u8; 8];
                        le[..n].copy_from_slice(b);
                        // the stored values are small and positive in every dtype
                        i64::from_le_bytes(le)
                    })
                    .collect()
            })
            .collect();
        assert_eq!(&values[..3], &[vec![1, 2, 3], vec![4], vec![5, 6]]);
        match &reference {
            None => reference = Some(values),
            Some(r) => assert_eq!(r, &values, "codec {c}"),
        }
        let items: Vec<Vec<u8>> = arrays.iter().map(|a| a.buffer().to_vec()).collect();
        assert_eq!(
            codec.encode_items(&items).unwrap(),
            encoded("vlen-array", c, 0)
        );
    }
}

#[test]
fn json2_and_msgpack2_fixtures() {
    let json = Json2::from_config(config("json2", 0).as_object().unwrap()).unwrap();
    let json_indent = Json2::from_config(config("json2", 1).as_object().unwrap()).unwrap();
    let mp = MsgPack2::from_config(config("msgpack2", 0).as_object().unwrap()).unwrap();
    for i in 0..9 {
        for codec in [&json, &json_indent] {
            let data = encoded("json2", if std::ptr::eq(codec, &json) { 0 } else { 1 }, i);
            let a = codec.decode_array(&data).unwrap();
            assert_eq!(a.shape.iter().product::<usize>(), num_items("json2", i));
            // numcodecs' writer and ours agree byte for byte
            assert_eq!(codec.encode_array(&a).unwrap(), data, "json2 array {i}");
        }
    }
    for i in 0..11 {
        let data = encoded("msgpack2", 0, i);
        let a = mp.decode_array(&data).unwrap();
        assert_eq!(a.shape.iter().product::<usize>(), num_items("msgpack2", i));
        assert_eq!(mp.encode_array(&a).unwrap(), data, "msgpack2 array {i}");
    }
    // the same strings through vlen-utf8 (array.01), json2 and msgpack2 (array.07)
    let vlen = VLenUtf8::decode_strings(&encoded("vlen-utf8", 0, 1)).unwrap();
    let j = strings(json.decode_array(&encoded("json2", 0, 7)).unwrap());
    let m = strings(mp.decode_array(&encoded("msgpack2", 0, 7)).unwrap());
    assert_eq!(j, vlen);
    assert_eq!(m, vlen);
    // the int32 array decodes to the .npy bytes through the byte-level Codec API
    let (shape, offset, npy) = npy_header(&root("json2").join("array.03.npy"));
    for (id, data) in [
        ("json2", encoded("json2", 0, 3)),
        ("msgpack2", encoded("msgpack2", 0, 3)),
    ] {
        let codec = get_codec(&config(id, 0)).unwrap();
        let dec = codec.decode(ArrayRef::bytes(&data)).unwrap();
        assert_eq!(dec.shape(), shape);
        assert_eq!(dec.bytes(), &npy[offset..], "{id}");
        let again = codec.encode(dec.as_array_ref()).unwrap();
        assert_eq!(again.bytes(), &data[..], "{id}");
    }
}
