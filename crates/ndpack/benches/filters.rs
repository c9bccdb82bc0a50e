//! Criterion benches of the numcodecs filters on 16 MiB arrays: encode and decode throughput.
//!
//! Run: `cargo bench -p ndpack --bench filters`. `bench/filters_numcodecs.py` times numcodecs
//! on the same arrays (same formulas) for the ratios in the README (Filters section).

// criterion_group! generates an undocumented public function.
#![allow(missing_docs)]

use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use ndpack::codec::{get_codec, ArrayRef};
use ndpack::DataType;
use ndpack::Order;
use serde_json::json;

const MB16: usize = 16 << 20;

/// `sin(i / 1000) * 1000` as f64: the same array as the Python script makes.
fn smooth_f8() -> Vec<u8> {
    (0..MB16 / 8)
        .flat_map(|i| ((i as f64 / 1000.0).sin() * 1000.0).to_le_bytes())
        .collect()
}

fn smooth_f4() -> Vec<u8> {
    (0..MB16 / 4)
        .flat_map(|i| (((i as f64 / 1000.0).sin() * 1000.0) as f32).to_le_bytes())
        .collect()
}

fn ramp_i8() -> Vec<u8> {
    (0..MB16 / 8)
        .flat_map(|i| ((i as i64 * 3) % 1_000_003).to_le_bytes())
        .collect()
}

fn bench(c: &mut Criterion) {
    let f8 = smooth_f8();
    let f4 = smooth_f4();
    let i8 = ramp_i8();
    let bools: Vec<u8> = (0..MB16).map(|i| ((i * 7919) % 13 < 6) as u8).collect();
    let words = ["apple", "pear", "fig", "plum", "kiwi", "lime", "other"];
    let strings: Vec<u8> = (0..MB16 / 24)
        .flat_map(|i| {
            let w = words[(i * 31) % words.len()];
            let mut item = [0u8; 24];
            for (k, ch) in w.chars().enumerate() {
                item[k * 4..k * 4 + 4].copy_from_slice(&(ch as u32).to_le_bytes());
            }
            item
        })
        .collect();
    let cases = [
        (
            "delta i8",
            json!({"id": "delta", "dtype": "<i8"}),
            &i8,
            "<i8",
        ),
        (
            "delta i8->i4",
            json!({"id": "delta", "dtype": "<i8", "astype": "<i4"}),
            &i8,
            "<i8",
        ),
        (
            "fixedscaleoffset f8->i4",
            json!({"id": "fixedscaleoffset", "offset": 0, "scale": 1000, "dtype": "<f8", "astype": "<i4"}),
            &f8,
            "<f8",
        ),
        (
            "quantize f8 digits=3",
            json!({"id": "quantize", "digits": 3, "dtype": "<f8"}),
            &f8,
            "<f8",
        ),
        (
            "bitround f4 keepbits=10",
            json!({"id": "bitround", "keepbits": 10}),
            &f4,
            "<f4",
        ),
        (
            "astype f8->f4",
            json!({"id": "astype", "encode_dtype": "<f4", "decode_dtype": "<f8"}),
            &f8,
            "<f8",
        ),
        (
            "astype f8->i2",
            json!({"id": "astype", "encode_dtype": "<i2", "decode_dtype": "<f8"}),
            &f8,
            "<f8",
        ),
        ("packbits", json!({"id": "packbits"}), &bools, "|b1"),
        (
            "categorize U6->u1",
            json!({"id": "categorize", "labels": ["apple", "pear", "fig", "plum", "kiwi", "lime"], "dtype": "<U6"}),
            &strings,
            "<U6",
        ),
        (
            "shuffle 4",
            json!({"id": "shuffle", "elementsize": 4}),
            &f4,
            "|u1",
        ),
        (
            "shuffle 8",
            json!({"id": "shuffle", "elementsize": 8}),
            &f8,
            "|u1",
        ),
    ];
    let mut g = c.benchmark_group("filters");
    g.sample_size(10);
    g.warm_up_time(std::time::Duration::from_millis(500));
    g.measurement_time(std::time::Duration::from_secs(2));
    for (name, config, data, dtype) in cases {
        let codec = get_codec(&config).unwrap();
        let dt: DataType = dtype.parse().unwrap();
        let n = data.len() / dt.itemsize();
        let input = ArrayRef::new(data, dt, vec![n], Order::C).unwrap();
        g.throughput(Throughput::Bytes(data.len() as u64));
        g.bench_function(format!("{name}/encode"), |b| {
            b.iter(|| codec.encode(input.clone()).unwrap())
        });
        let enc = codec.encode(input.clone()).unwrap();
        g.bench_function(format!("{name}/decode"), |b| {
            b.iter(|| codec.decode(enc.as_array_ref()).unwrap())
        });
    }
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
