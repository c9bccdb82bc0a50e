//! Throughput of the Blosc kernels: shuffle and unshuffle (typesizes 2, 4, 8, 16), bitshuffle
//! and bitunshuffle (typesizes 1, 2, 4, 8, 16) per ISA level side by side on the same data, in
//! blocks of 32 KiB and 256 KiB (Blosc's block sizes, which sit in L2) and 16 MiB (memory), with
//! memcpy as the ceiling; and BloscLZ compress (c-blosc2's and c-blosc 1.x's heuristics) and
//! decompress on 1 MB of shuffled benchmark data; and whole Blosc1 chunks of one 1 MiB block
//! (int64 ramp, lz4 and blosclz with byte shuffle) at 1 and 2 threads, where the second thread
//! works inside the block (split shuffle, streams in parallel).
//! Filter by level or size, e.g. `cargo bench --bench blosc_kernels -- 'avx.*/256KiB'`.

use criterion::{criterion_main, BenchmarkId, Criterion, Throughput};
use ndpack::blosc::{bitshuffle, blosclz, shuffle, shuffle::Isa};
use std::hint::black_box;
use std::time::Duration;

const BLOCK: usize = 1 << 20;

/// Smooth float32 (as in bench/_common.py), deterministic.
fn smooth_f32() -> Vec<u8> {
    smooth_f32_of(BLOCK)
}

/// [`smooth_f32`] of `len` bytes.
fn smooth_f32_of(len: usize) -> Vec<u8> {
    let n = len / 4;
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
    for (size, label) in [
        (32 << 10, "32KiB"),
        (256 << 10, "256KiB"),
        (16 << 20, "16MiB"),
    ] {
        let src = smooth_f32_of(size);
        let mut dst = vec![0u8; size];
        let mut g = c.benchmark_group(format!("blosc-kernels-{label}"));
        g.throughput(Throughput::Bytes(size as u64));
        g.warm_up_time(Duration::from_millis(500));
        g.measurement_time(Duration::from_secs(2));
        g.bench_function("memcpy", |b| {
            b.iter(|| dst.copy_from_slice(black_box(&src)))
        });
        for ts in [1usize, 2, 4, 8, 16] {
            // The levels side by side, typesize by typesize.
            for isa in Isa::available() {
                let id = |op: &str| BenchmarkId::new(op, format!("{}/ts{ts}/{label}", isa.name()));
                if ts > 1 {
                    g.bench_function(id("shuffle"), |b| {
                        b.iter(|| shuffle::shuffle_isa(isa, ts, black_box(&src), &mut dst))
                    });
                    g.bench_function(id("unshuffle"), |b| {
                        b.iter(|| shuffle::unshuffle_isa(isa, ts, black_box(&src), &mut dst))
                    });
                }
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

/// One-block chunks (1 MiB of int64, as a zarr chunk of 131,072 items) at 1 and 2 threads.
fn one_block_chunks(c: &mut Criterion) {
    use ndpack::blosc::{v1, Compressor};
    let src = ramp_i64();
    let mut g = c.benchmark_group("blosc-one-block-chunk");
    g.throughput(Throughput::Bytes(src.len() as u64));
    g.measurement_time(Duration::from_secs(3));
    let before = ndpack::get_num_threads();
    for compressor in [Compressor::Lz4, Compressor::BloscLz] {
        let opts = v1::Options {
            compressor,
            clevel: 5,
            shuffle: v1::Shuffle::Shuffle,
            typesize: 8,
            blocksize: 0,
        };
        let chunk = v1::compress(&src, &opts).unwrap();
        let mut out = vec![0u8; src.len()];
        for threads in [1, 2] {
            ndpack::set_num_threads(threads).unwrap();
            g.bench_function(format!("{compressor}/compress/{threads}t"), |b| {
                b.iter(|| black_box(v1::compress(&src, &opts).unwrap()))
            });
            g.bench_function(format!("{compressor}/decompress/{threads}t"), |b| {
                b.iter(|| black_box(v1::decompress_into(&chunk, &mut out).unwrap()))
            });
        }
    }
    ndpack::set_num_threads(before).unwrap();
    g.finish();
}

mod groups {
    use super::{blosclz, kernels, one_block_chunks};
    criterion::criterion_group!(benches, kernels, blosclz, one_block_chunks);
}
criterion_main!(groups::benches);
