//! What each optional cargo feature brings, checked in any build: with a feature on, its codec
//! ids and Blosc compressors work; with it off, `get_codec` says that the id was compiled out
//! (`UnknownCodec`, naming the feature) and Blosc refuses to write or read chunks that need the
//! compressor (`Unsupported`). `.ci/run` runs this file with the default features and with none.

use ndpack::blosc::{list_compressors, v1, v2, Compressor};
use ndpack::codec::get_codec;
use ndpack::ErrorKind;

/// Codec ids, the feature that brings each, and whether this build has it.
const CODECS: [(&str, &str, bool); 6] = [
    ("zstd", "zstd", cfg!(feature = "zstd")),
    ("lz4", "lz4", cfg!(feature = "lz4")),
    ("bz2", "bz2", cfg!(feature = "bz2")),
    ("lzma", "lzma", cfg!(feature = "lzma")),
    ("zfpy", "zfp", cfg!(feature = "zfp")),
    ("pcodec", "pcodec", cfg!(feature = "pcodec")),
];

/// 256 bytes `0, 1, ..., 15, 0, 1, ...`: the data of the chunks below.
fn data() -> Vec<u8> {
    (0..256u32).map(|i| (i % 16) as u8).collect()
}

/// Hex to bytes.
fn unhex(s: &str) -> Vec<u8> {
    (0..s.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&s[i..i + 2], 16).unwrap())
        .collect()
}

#[test]
fn codec_ids_are_there_or_named_as_compiled_out() {
    for (id, feature, on) in CODECS {
        match get_codec(&serde_json::json!({ "id": id })) {
            Ok(c) => {
                assert!(on, "{id} is registered without the feature {feature}");
                assert_eq!(c.id(), id);
            }
            Err(e) => {
                assert!(!on, "{id}: {e}");
                assert_eq!(e.kind(), ErrorKind::UnknownCodec, "{id}");
                let want = format!("without the cargo feature \"{feature}\"");
                assert!(e.message().contains(&want), "{id}: {e}");
            }
        }
    }
}

#[test]
fn blosc_compressors_work_or_are_unsupported() {
    let data = data();
    // Chunks of `data()` with typesize 1, written by a build that has the compressor.
    let cases = [
        (
            Compressor::Lz4,
            cfg!(feature = "lz4"),
            "02012101000100000001000033000000140000001b000000ff01000102030405060708090a0b0c0d0e0f\
             1000d8500b0c0d0e0f",
            "0501250100010000000100004300000000000000000101000000000000000000240000001b000000ff01\
             000102030405060708090a0b0c0d0e0f1000d8500b0c0d0e0f",
        ),
        (
            Compressor::Zstd,
            cfg!(feature = "zstd"),
            "02019101000100000001000039000000140000002100000028b52ffd600000bd000080000102030405\
             060708090a0b0c0d0e0f0100da43cd25",
            "0501850100010000000100004900000000000000000105000000000000000000240000002100000028\
             b52ffd600000bd000080000102030405060708090a0b0c0d0e0f0100da43cd25",
        ),
    ];
    for (comp, on, v1_chunk, v2_chunk) in cases {
        assert_eq!(comp.is_available(), on, "{comp}");
        assert_eq!(list_compressors().contains(&comp.name()), on, "{comp}");
        let opts = v1::Options {
            compressor: comp,
            typesize: 1,
            ..Default::default()
        };
        let params = v2::CParams {
            codec: comp,
            typesize: 1,
            ..Default::default()
        };
        let results = [
            (
                "v1 compress",
                v1::compress(&data, &opts).map(|_| data.clone()),
            ),
            (
                "v2 compress",
                v2::compress(&data, &params).map(|_| data.clone()),
            ),
            ("v1 decompress", v1::decompress(&unhex(v1_chunk))),
            ("v2 decompress", v2::decompress(&unhex(v2_chunk))),
        ];
        for (what, r) in results {
            match r {
                Ok(got) => {
                    assert!(on, "{comp} {what} works without its feature");
                    assert_eq!(got, data, "{comp} {what}");
                }
                Err(e) => {
                    assert!(!on, "{comp} {what}: {e}");
                    assert_eq!(e.kind(), ErrorKind::Unsupported, "{comp} {what}: {e}");
                    assert!(e.message().contains("cargo feature"), "{comp} {what}: {e}");
                }
            }
        }
    }
}
