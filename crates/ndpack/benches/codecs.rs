//! Criterion benches of the numcodecs compressors and checksums: encode and decode (into a new
//! buffer and into the caller's buffer) of 16 MiB of smooth float32 data.
//!
//! Run with `cargo bench -p ndpack --bench codecs`, or a subset with criterion's name filter:
//! `cargo bench -p ndpack --bench codecs -- zstd`.

use criterion::{criterion_main, BenchmarkId, Criterion, Throughput};
use ndpack::codec::{get_codec, ArrayMut, ArrayRef};
use serde_json::json;
use std::hint::black_box;

/// 16 MiB of smooth float32 data: a sum of slow sines, as a simulation field would look.
fn smooth_f32() -> Vec<u8> {
    let n = 4 << 20;
    (0..n)
        .flat_map(|i| {
            let x = i as f32;
            let v = (x * 0.0001).sin() * 100.0 + (x * 0.003).cos() * 3.0 + (x * 0.05).sin() * 0.1;
            v.to_le_bytes()
        })
        .collect()
}

fn codecs(c: &mut Criterion) {
    let data = smooth_f32();
    let configs = [
        json!({"id": "zlib", "level": 1}),
        json!({"id": "gzip", "level": 1}),
        json!({"id": "bz2", "level": 1}),
        json!({"id": "lzma"}),
        json!({"id": "zstd", "level": 0}),
        json!({"id": "zstd", "level": 0, "checksum": true}),
        json!({"id": "lz4", "acceleration": 1}),
        json!({"id": "crc32"}),
        json!({"id": "adler32"}),
        json!({"id": "crc32c"}),
        json!({"id": "fletcher32"}),
    ];
    for config in configs {
        let codec = get_codec(&config).expect("valid config");
        let name = config.to_string();
        let mut g = c.benchmark_group(name.clone());
        g.sample_size(10);
        g.throughput(Throughput::Bytes(data.len() as u64));
        let encoded = codec.encode(ArrayRef::bytes(&data)).expect("encode");
        g.bench_function(BenchmarkId::new("encode", data.len()), |b| {
            b.iter(|| codec.encode(ArrayRef::bytes(black_box(&data))).unwrap())
        });
        g.bench_function(BenchmarkId::new("decode", data.len()), |b| {
            b.iter(|| {
                codec
                    .decode(ArrayRef::bytes(black_box(encoded.bytes())))
                    .unwrap()
            })
        });
        let mut out = vec![0u8; data.len()];
        g.bench_function(BenchmarkId::new("decode_into", data.len()), |b| {
            b.iter(|| {
                codec
                    .decode_into(black_box(encoded.bytes()), ArrayMut::bytes(&mut out))
                    .unwrap()
            })
        });
        g.finish();
    }
}

/// Runs every bench with criterion's command-line configuration.
fn benches() {
    let mut c = Criterion::default().configure_from_args();
    codecs(&mut c);
}

criterion_main!(benches);
