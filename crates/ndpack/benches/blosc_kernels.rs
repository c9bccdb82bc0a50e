//! Throughput of the Blosc kernels on 1 MB blocks: shuffle, unshuffle, bitshuffle and
//! bitunshuffle (typesizes 4 and 8) per ISA level, memcpy as the ceiling, and BloscLZ
//! compress (c-blosc2's and c-blosc 1.x's heuristics) and decompress on the shuffled benchmark
//! data.

use criterion::{criterion_main, BenchmarkId, Criterion, Throughput};
use ndpack::blosc::{bitshuffle, blosclz, shuffle, shuffle::Isa};
use std::hint::black_box;

const BLOCK: usize = 1 << 20;

/// Smooth float32 (as in bench/_common.py), deterministic.
fn smooth_f32() -> Vec<u8> {
    let n = BLOCK / 4;
    let side = (n as f64).sqrt() as usize;
    (0..n)
        .flat_map(|i| {
            let (y, x) = ((i / side) as f32, (i % side) as f32);
            ((x / 50.0).sin() * (y / 70.0).cos() * 100.0).to_le_bytes()
        })
        .collect()
}

/// Normal-ish noise in float32 (sum of uniforms), deterministic.
fn noisy_f32() -> Vec<u8> {
    let mut s = 0x9E37_79B9_7F4A_7C15u64;
    let mut next = move || {
        s ^= s << 13;
        s ^= s >> 7;
        s ^= s << 17;
        (s >> 40) as f32 / (1u64 << 24) as f32
    };
    (0..BLOCK / 4)
        .flat_map(|_| ((0..4).map(|_| next()).sum::<f32>() - 2.0).to_le_bytes())
        .collect()
}

fn ramp_i64() -> Vec<u8> {
    (0..(BLOCK / 8) as i64)
        .flat_map(|i| i.to_le_bytes())
        .collect()
}

fn kernels(c: &mut Criterion) {
    let src = smooth_f32();
    let mut dst = vec![0u8; BLOCK];
    let mut g = c.benchmark_group("blosc-kernels");
    g.throughput(Throughput::Bytes(BLOCK as u64));
    g.bench_function("memcpy", |b| {
        b.iter(|| dst.copy_from_slice(black_box(&src)))
    });
    for isa in Isa::available() {
        for ts in [4usize, 8] {
            let id = |op: &str| BenchmarkId::new(op, format!("{}/ts{ts}", isa.name()));
            g.bench_function(id("shuffle"), |b| {
                b.iter(|| shuffle::shuffle_isa(isa, ts, black_box(&src), &mut dst))
            });
            g.bench_function(id("unshuffle"), |b| {
                b.iter(|| shuffle::unshuffle_isa(isa, ts, black_box(&src), &mut dst))
            });
            g.bench_function(id("bitshuffle"), |b| {
                b.iter(|| bitshuffle::bitshuffle_isa(isa, ts, black_box(&src), &mut dst))
            });
            g.bench_function(id("bitunshuffle"), |b| {
                b.iter(|| bitshuffle::bitunshuffle_isa(isa, ts, black_box(&src), &mut dst))
            });
        }
    }
    g.finish();
}

fn blosclz(c: &mut Criterion) {
    let mut g = c.benchmark_group("blosclz");
    g.throughput(Throughput::Bytes(BLOCK as u64));
    for (name, data, ts) in [
        ("smooth-f4", smooth_f32(), 4),
        ("noisy-f4", noisy_f32(), 4),
        ("ramp-i8", ramp_i64(), 8),
    ] {
        let mut shuffled = vec![0u8; BLOCK];
        shuffle::shuffle(ts, &data, &mut shuffled);
        // Blosc compresses each byte plane of a shuffled block as its own stream.
        let streams: Vec<&[u8]> = shuffled.chunks(BLOCK / ts).collect();
        for clevel in [1u8, 5, 9] {
            let mut packed: Vec<Vec<u8>> = streams.iter().map(|s| vec![0u8; s.len()]).collect();
            g.bench_function(
                BenchmarkId::new("compress", format!("{name}/{clevel}")),
                |b| {
                    b.iter(|| {
                        for (s, p) in streams.iter().zip(packed.iter_mut()) {
                            black_box(blosclz::compress(clevel, s, p));
                        }
                    })
                },
            );
            // c-blosc 1.x's heuristics (Blosc1 chunks, numcodecs' Blosc), split streams.
            g.bench_function(
                BenchmarkId::new("compress-blosc1", format!("{name}/{clevel}")),
                |b| {
                    b.iter(|| {
                        for (s, p) in streams.iter().zip(packed.iter_mut()) {
                            black_box(blosclz::compress_blosc1(clevel, s, p, true));
                        }
                    })
                },
            );
            let sizes: Vec<usize> = streams
                .iter()
                .zip(packed.iter_mut())
                .map(|(s, p)| blosclz::compress(clevel, s, p))
                .collect();
            if sizes.contains(&0) {
                continue; // stored raw: nothing to decompress
            }
            let mut out = vec![0u8; BLOCK / ts];
            g.bench_function(
                BenchmarkId::new("decompress", format!("{name}/{clevel}")),
                |b| {
                    b.iter(|| {
                        for (p, &n) in packed.iter().zip(&sizes) {
                            black_box(blosclz::decompress(&p[..n], &mut out).unwrap());
                        }
                    })
                },
            );
        }
    }
    g.finish();
}

mod groups {
    use super::{blosclz, kernels};
    criterion::criterion_group!(benches, kernels, blosclz);
}
criterion_main!(groups::benches);
