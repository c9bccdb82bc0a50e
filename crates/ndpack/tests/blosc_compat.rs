//! Blosc compatibility: golden chunks written by numcodecs (c-blosc 1.21) and python-blosc2
//! (c-blosc2 3.3.5) under `tests/data/blosc/`, the c-blosc 1.3-1.18 `compat` chunks and the
//! numcodecs `blosc` fixtures under `../shared/fixtures`.
//!
//! Tests whose names end in `_kernels` need the BloscLZ and bitshuffle kernels.

mod common;

use std::fs;
use std::path::PathBuf;

use ndpack::blosc::v1::{self, Options, Shuffle};
use ndpack::blosc::{v2, Compressor};
use ndpack::codec::{get_codec, ArrayRef};

fn golden() -> Vec<(String, String, usize)> {
    fs::read_to_string(common::data("blosc").join("manifest.txt"))
        .unwrap()
        .lines()
        .map(|l| {
            let p: Vec<&str> = l.split_whitespace().collect();
            (p[0].to_string(), p[1].to_string(), p[2].parse().unwrap())
        })
        .collect()
}

fn needs_kernels(name: &str) -> bool {
    name.contains("blosclz") || name.contains("bitshuffle") || name.contains("-s2-")
}

fn check_golden(want_kernels: bool) {
    let input = fs::read(common::data("blosc").join("input.bin")).unwrap();
    let mut n = 0;
    for (name, kind, ts) in golden() {
        if needs_kernels(&name) != want_kernels {
            continue;
        }
        n += 1;
        let chunk = fs::read(common::data("blosc").join(&name)).unwrap();
        assert_eq!(v1::decompress(&chunk).unwrap(), input, "{name}");
        assert_eq!(v2::decompress(&chunk).unwrap(), input, "{name}");
        let nitems = input.len() / ts;
        let (s, k) = (nitems / 3, nitems / 5);
        assert_eq!(
            v2::getitem(&chunk, s, k).unwrap(),
            &input[s * ts..(s + k) * ts],
            "{name}"
        );
        let info = v2::chunk_info(&chunk).unwrap();
        assert_eq!(info.version, if kind == "v1" { 2 } else { 5 }, "{name}");
        assert_eq!(info.typesize, ts);
        // Truncation is always detected.
        for cut in [chunk.len() - 5, chunk.len() / 2, 20] {
            assert!(
                v1::decompress(&chunk[..cut]).is_err(),
                "{name} cut to {cut}"
            );
        }
    }
    assert!(n >= 4);
}

#[test]
fn golden_chunks_decode() {
    check_golden(false);
}

#[test]
fn golden_chunks_decode_kernels() {
    check_golden(true);
}

#[test]
fn lz4_and_zstd_encoders_match_numcodecs_bytes() {
    // c-blosc bundles the same LZ4 and zstd libraries: same parameters give the same bytes as
    // the golden chunks of numcodecs 0.16.6 (c-blosc 1.21).
    let input = fs::read(common::data("blosc").join("input.bin")).unwrap();
    for (name, comp, shuffle, clevel) in [
        ("v1-lz4-s1-c5.blosc", Compressor::Lz4, Shuffle::Shuffle, 5),
        (
            "v1-lz4hc-s1-c9.blosc",
            Compressor::Lz4hc,
            Shuffle::Shuffle,
            9,
        ),
        ("v1-zstd-s1-c5.blosc", Compressor::Zstd, Shuffle::Shuffle, 5),
    ] {
        let want = fs::read(common::data("blosc").join(name)).unwrap();
        let opts = Options {
            compressor: comp,
            clevel,
            shuffle,
            typesize: 4,
            blocksize: 0,
        };
        let got = v1::compress(&input, &opts).unwrap();
        assert_eq!(&got[..16], &want[..16], "{name} header (numcodecs 0.16.6)");
        assert_eq!(got, want, "{name} (numcodecs 0.16.6)");
    }
}

#[test]
fn blosc2_headers_match_python_blosc2() {
    // Same blocksize, flags and filters as c-blosc2 for the same parameters (the golden chunks
    // of python-blosc2 4.14.1 / c-blosc2 3.3.5; c-blosc2 3.6.1 writes the same headers for them).
    let input = fs::read(common::data("blosc").join("input.bin")).unwrap();
    for (name, _, ts) in golden() {
        if !name.ends_with(".blosc2") || needs_kernels(&name) {
            continue;
        }
        let want = fs::read(common::data("blosc").join(&name)).unwrap();
        let info = v2::chunk_info(&want).unwrap();
        let mut filters = [v2::Filter::NoFilter; 6];
        for (f, &code) in filters.iter_mut().zip(&info.filters) {
            *f = v2::Filter::from_code(i64::from(code)).unwrap();
        }
        let params = v2::CParams {
            codec: info.codec.unwrap(),
            clevel: 5,
            typesize: ts,
            filters,
            ..v2::CParams::default()
        };
        let got = v2::compress(&input, &params).unwrap();
        assert_eq!(&got[..12], &want[..12], "{name} (c-blosc2 3.3.5)");
        assert_eq!(&got[16..32], &want[16..32], "{name} (c-blosc2 3.3.5)");
    }
}

fn compat_files() -> Vec<PathBuf> {
    let mut files: Vec<PathBuf> = fs::read_dir(common::fixtures("").join("c-blosc-compat"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "cdata"))
        .collect();
    files.sort();
    files
}

fn check_compat(want_kernels: bool) {
    let want: Vec<u8> = (0..1_000_000i32).flat_map(|i| i.to_le_bytes()).collect();
    let mut n = 0;
    for path in compat_files() {
        let name = path.file_name().unwrap().to_string_lossy().to_string();
        if needs_kernels(&name) != want_kernels {
            continue;
        }
        n += 1;
        let chunk = fs::read(&path).unwrap();
        assert_eq!(v1::decompress(&chunk).unwrap(), want, "{name}");
        assert_eq!(
            v1::getitem(&chunk, 123_456, 1000).unwrap(),
            &want[123_456 * 4..124_456 * 4],
            "{name}"
        );
    }
    assert!(n >= 5, "found {n} compat files");
}

#[test]
fn c_blosc_compat_chunks_decode() {
    check_compat(false);
}

#[test]
fn c_blosc_compat_chunks_decode_kernels() {
    check_compat(true);
}

/// The raw data of an `.npy` file (after its header).
fn npy_data(bytes: &[u8]) -> &[u8] {
    assert_eq!(&bytes[..6], b"\x93NUMPY");
    let (len, at) = if bytes[6] == 1 {
        (u16::from_le_bytes([bytes[8], bytes[9]]) as usize, 10)
    } else {
        (
            u32::from_le_bytes([bytes[8], bytes[9], bytes[10], bytes[11]]) as usize,
            12,
        )
    };
    &bytes[at + len..]
}

fn check_numcodecs_fixtures(want_kernels: bool) {
    let dir = common::fixtures("").join("numcodecs/blosc");
    let mut n = 0;
    for c in 0..13 {
        let cdir = dir.join(format!("codec.{c:02}"));
        let config: serde_json::Value =
            serde_json::from_str(&fs::read_to_string(cdir.join("config.json")).unwrap()).unwrap();
        let kernels = config["cname"] == "blosclz" || config["shuffle"] == 2;
        if kernels != want_kernels {
            continue;
        }
        // numcodecs could write snappy once: its config still builds a codec that decodes.
        let codec = get_codec(&config).unwrap();
        for a in 0..13 {
            let enc = cdir.join(format!("encoded.{a:02}.dat"));
            let Ok(enc) = fs::read(&enc) else { continue };
            let arr = fs::read(dir.join(format!("array.{a:02}.npy"))).unwrap();
            let dec = codec.decode(ArrayRef::bytes(&enc)).unwrap();
            assert_eq!(dec.bytes(), npy_data(&arr), "codec.{c:02} array.{a:02}");
            n += 1;
        }
    }
    assert!(n > 10, "decoded {n} fixtures");
}

#[test]
fn numcodecs_fixtures_decode() {
    check_numcodecs_fixtures(false);
}

#[test]
fn numcodecs_fixtures_decode_kernels() {
    check_numcodecs_fixtures(true);
}

#[test]
fn threads_give_the_same_bytes() {
    let data: Vec<u8> = (0..3_000_000u32)
        .flat_map(|i| ((i / 3) as f32).sin().to_le_bytes())
        .collect();
    let opts = Options {
        compressor: Compressor::Lz4,
        clevel: 5,
        shuffle: Shuffle::Shuffle,
        typesize: 4,
        blocksize: 0,
    };
    let before = ndpack::get_num_threads();
    ndpack::set_num_threads(1).unwrap();
    let one = v1::compress(&data, &opts).unwrap();
    let p1 = v2::compress(&data, &v2::CParams::default()).unwrap();
    ndpack::set_num_threads(4).unwrap();
    let four = v1::compress(&data, &opts).unwrap();
    let p4 = v2::compress(&data, &v2::CParams::default()).unwrap();
    assert_eq!(v1::decompress(&one).unwrap(), data);
    assert_eq!(v2::decompress(&p1).unwrap(), data);
    ndpack::set_num_threads(before).unwrap();
    assert_eq!(one, four);
    assert_eq!(p1, p4);
}

/// The BYTEDELTA chunks of python-blosc2 4.15.0 (c-blosc2 3.6.1) under `data/blosc/bytedelta`
/// (made by `make_bytedelta.py`): ndpack decodes each to the input and, given the same
/// parameters, writes the same bytes.
#[test]
fn bytedelta_chunks_match_python_blosc2() {
    let dir = common::data("blosc/bytedelta");
    let manifest = fs::read_to_string(dir.join("manifest.txt")).unwrap();
    let list = |s: &str| -> Vec<i64> { s.split(',').map(|x| x.parse().unwrap()).collect() };
    let mut n = 0;
    for line in manifest.lines() {
        let p: Vec<&str> = line.split_whitespace().collect();
        let name = p[0];
        let codec = match p[1] {
            "blosclz" => Compressor::BloscLz,
            "lz4" => Compressor::Lz4,
            "zstd" => Compressor::Zstd,
            other => panic!("codec {other}"),
        };
        let mut filters = [v2::Filter::NoFilter; 6];
        let mut filters_meta = [0u8; 6];
        let typesize: usize = p[3].parse().unwrap();
        for (slot, (f, m)) in list(p[6]).into_iter().zip(list(p[7])).enumerate() {
            filters[slot] = v2::Filter::from_code(f).unwrap();
            if typesize == 1 && filters[slot] == v2::Filter::ByteDelta {
                // python-blosc2 drops BYTEDELTA at typesize 1 (ndpack.blosc2.compress2 too).
                filters[slot] = v2::Filter::NoFilter;
            }
            filters_meta[slot] = m as u8;
        }
        let params = v2::CParams {
            codec,
            clevel: p[2].parse().unwrap(),
            typesize,
            blocksize: p[4].parse().unwrap(),
            splitmode: v2::SplitMode::from_value(p[5].parse().unwrap()).unwrap(),
            filters,
            filters_meta,
        };
        let raw = fs::read(dir.join(format!("{name}.raw"))).unwrap();
        let want = fs::read(dir.join(format!("{name}.chunk"))).unwrap();
        let out = fs::read(dir.join(format!("{name}.out"))).unwrap_or_else(|_| raw.clone());
        assert_eq!(v2::decompress(&want).unwrap(), out, "{name}: decode");
        let got = v2::compress(&raw, &params).unwrap();
        assert_eq!(&got[..32], &want[..32], "{name}: header");
        assert!(got == want, "{name}: chunk bytes");
        assert_eq!(v2::decompress(&got).unwrap(), out, "{name}: round trip");
        // Parts of the chunk decode alone (the blocks before them are not needed).
        let ts = params.typesize;
        let nitems = raw.len() / ts;
        let (s, k) = (nitems / 3, nitems / 2);
        assert_eq!(
            v2::getitem(&want, s, k).unwrap(),
            &out[s * ts..(s + k) * ts],
            "{name}: getitem"
        );
        n += 1;
    }
    assert!(n >= 30, "{n} cases");
}
