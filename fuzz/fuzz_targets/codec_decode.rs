//! Feeds arbitrary bytes to the decoder of every registered codec.
//!
//! The first byte picks a codec id from the registry, the second one of a few configs for it;
//! the rest is decoded with `decode`, then with `decode_into` (into a buffer of the decoded size
//! when decoding worked, else of a size taken from the input). Errors are fine; panics, aborts,
//! hangs and huge allocations are bugs. `decoded_len` and `decoded_range` must agree with
//! `decode`.

#![no_main]

use libfuzzer_sys::fuzz_target;
use ndpack::codec::{codec_ids, get_codec, ArrayMut, ArrayRef, Codec};
use serde_json::{json, Value};

/// A few configs per id (the default config `{"id": id}` is always a candidate).
fn configs(id: &str) -> Vec<Value> {
    let mut v = vec![json!({ "id": id })];
    v.extend(match id {
        "zlib" | "gzip" => vec![json!({"id": id, "level": 9})],
        "bz2" => vec![json!({"id": id, "level": 9})],
        "zstd" => vec![json!({"id": id, "level": 3, "checksum": true})],
        "lz4" => vec![json!({"id": id, "acceleration": 10})],
        "lzma" => vec![
            json!({"id": id, "format": 0}),
            json!({"id": id, "format": 2}),
            json!({"id": id, "format": 3, "filters": [{"id": 3, "dist": 4}, {"id": 33, "preset": 1}]}),
            json!({"id": id, "format": 3, "filters": [{"id": 4611686018427387905u64, "preset": 1}]}),
            json!({"id": id, "format": 3, "filters": [{"id": 4}, {"id": 33}]}),
        ],
        "jenkins_lookup3" => vec![json!({"id": id, "initval": 7, "prefix": [72, 68, 70]})],
        "pcodec" => vec![json!({"id": id, "level": 0, "equal_pages_up_to": 256})],
        "crc32" | "adler32" | "crc32c" => vec![
            json!({"id": id, "location": "start"}),
            json!({"id": id, "location": "end"}),
        ],
        _ => vec![],
    });
    v
}

fn codecs() -> &'static Vec<Vec<Box<dyn Codec>>> {
    static CODECS: std::sync::OnceLock<Vec<Vec<Box<dyn Codec>>>> = std::sync::OnceLock::new();
    CODECS.get_or_init(|| {
        codec_ids()
            .iter()
            .map(|id| {
                configs(id)
                    .iter()
                    .filter_map(|c| get_codec(c).ok())
                    .collect::<Vec<_>>()
            })
            .filter(|v| !v.is_empty())
            .collect()
    })
}

fuzz_target!(|data: &[u8]| {
    let [pick, variant, rest @ ..] = data else {
        return;
    };
    let all = codecs();
    let variants = &all[usize::from(*pick) % all.len()];
    let codec = &variants[usize::from(*variant) % variants.len()];
    let decoded = codec.decode(ArrayRef::bytes(rest));
    // The size and range hooks read the same untrusted input and must agree with `decode`.
    let hint = codec.decoded_len(rest);
    if let (Some(n), Ok(d)) = (hint, &decoded) {
        assert_eq!(n, d.bytes().len(), "decoded_len disagrees with decode");
    }
    assert!(hint.is_none_or(|n| n <= ndpack::error::MAX_DECODED_SIZE));
    match (codec.decoded_range(rest), &decoded) {
        (Some(Ok(r)), Ok(d)) => assert_eq!(&rest[r], d.bytes(), "decoded_range disagrees"),
        (Some(Ok(_)), Err(_)) | (Some(Err(_)), Ok(_)) => panic!("decoded_range disagrees"),
        _ => {}
    }
    let size = match decoded {
        Ok(decoded) => decoded.bytes().len(),
        Err(_) => rest
            .get(..2)
            .map_or(0, |s| usize::from(u16::from_le_bytes([s[0], s[1]]))),
    };
    let mut out = vec![0u8; size];
    let _ = codec.decode_into(rest, ArrayMut::bytes(&mut out));
});
