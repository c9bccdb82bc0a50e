//! Frames written by python-blosc2 4.15.0 (c-blosc2 3.6.1) and python-caterva 0.7.3 (c-blosc2
//! 2.4.3) under `tests/data/frames` (made by `make_frames.py`, described by `manifest.json`):
//! each opens in ndpack's [`SChunk`] from its path (pread and memory map), from its bytes
//! (`from_cframe`, zero-copy and copied), and again from ndpack's `to_cframe` bytes, and every
//! way gives the chunks, sizes, parameters, metalayers and vlmeta that python-blosc2 read.

mod common;

use std::fs;
use std::path::{Path, PathBuf};

use ndpack::blosc::frame::{Mode, OpenOptions, SChunk, Special};
use ndpack::Buffer;
use serde_json::Value;

fn dir() -> PathBuf {
    common::data("frames")
}

fn fixtures() -> Vec<Value> {
    let text = fs::read_to_string(dir().join("manifest.json")).unwrap();
    let manifest: Value = serde_json::from_str(&text).unwrap();
    manifest["fixtures"].as_array().unwrap().clone()
}

fn unhex(s: &str) -> Vec<u8> {
    (0..s.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&s[i..i + 2], 16).unwrap())
        .collect()
}

fn num(v: &Value) -> u64 {
    v.as_u64().unwrap_or_else(|| panic!("not a number: {v}"))
}

fn special_name(s: &Option<Special>) -> Option<&'static str> {
    s.as_ref().map(|s| match s {
        Special::Zeros => "zeros",
        Special::Nan => "nan",
        Special::Uninit => "uninit",
        Special::Value(_) => "value",
    })
}

/// Checks `s` against the manifest entry `e`; `how` names the way it was opened.
fn check(s: &SChunk, e: &Value, how: &str) {
    let name = format!("{} ({how})", e["path"].as_str().unwrap());
    assert_eq!(s.nchunks() as u64, num(&e["nchunks"]), "{name}: nchunks");
    assert_eq!(s.typesize() as u64, num(&e["typesize"]), "{name}: typesize");
    assert_eq!(
        s.chunksize() as u64,
        num(&e["chunksize"]),
        "{name}: chunksize"
    );
    assert_eq!(s.nbytes(), num(&e["nbytes"]), "{name}: nbytes");
    let cp = s.cparams();
    assert_eq!(
        u64::from(cp.codec.code()),
        num(&e["codec"]),
        "{name}: codec"
    );
    assert_eq!(u64::from(cp.clevel), num(&e["clevel"]), "{name}: clevel");
    let filters: Vec<u64> = cp.filters.iter().map(|f| u64::from(f.code())).collect();
    let want: Vec<u64> = e["filters"].as_array().unwrap().iter().map(num).collect();
    assert_eq!(filters, want, "{name}: filters");
    let metas: Vec<u64> = cp.filters_meta.iter().map(|&m| u64::from(m)).collect();
    let want: Vec<u64> = e["filters_meta"]
        .as_array()
        .unwrap()
        .iter()
        .map(num)
        .collect();
    assert_eq!(metas, want, "{name}: filters_meta");

    // Metalayers, in order, with their bytes.
    let meta = e["meta"].as_object().unwrap();
    let names: Vec<String> = meta.keys().cloned().collect();
    assert_eq!(s.meta_names(), names, "{name}: metalayer names");
    for (k, v) in meta {
        assert_eq!(
            s.meta_get(k).map(<[u8]>::to_vec),
            Some(unhex(v.as_str().unwrap())),
            "{name}: metalayer {k}"
        );
    }
    assert_eq!(s.meta_get("no such layer"), None, "{name}");
    // vlmeta: the msgpack payloads.
    let vlmeta = e["vlmeta"].as_object().unwrap();
    let mut got = s.vlmeta_names();
    got.sort();
    let mut names: Vec<String> = vlmeta.keys().cloned().collect();
    names.sort();
    assert_eq!(got, names, "{name}: vlmeta names");
    for (k, v) in vlmeta {
        assert_eq!(
            s.vlmeta_get(k).unwrap(),
            Some(unhex(v.as_str().unwrap())),
            "{name}: vlmeta {k}"
        );
    }
    assert_eq!(
        s.vlmeta_get("gone").unwrap(),
        None,
        "{name}: deleted vlmeta"
    );

    // Every chunk: decoded bytes, special kind, stored bytes.
    let mut all = Vec::new();
    for (i, c) in e["chunks"].as_array().unwrap().iter().enumerate() {
        let raw = s.decompress_chunk(i).unwrap();
        assert_eq!(
            raw.len() as u64,
            num(&c["nbytes"]),
            "{name}: chunk {i} nbytes"
        );
        assert_eq!(s.chunk_nbytes(i).unwrap(), raw.len(), "{name}: chunk {i}");
        // (An uninit chunk's bytes are unspecified: no checksum.)
        if let Some(crc) = c["crc32"].as_u64() {
            assert_eq!(
                u64::from(crc32fast::hash(&raw)),
                crc,
                "{name}: chunk {i} bytes"
            );
        }
        let mut into = vec![0xAAu8; raw.len()];
        assert_eq!(s.decompress_chunk_into(i, &mut into).unwrap(), raw.len());
        assert!(into == raw, "{name}: chunk {i} decompress_chunk_into");
        let special = s.chunk_special(i).unwrap();
        assert_eq!(
            special_name(&special),
            c["special"].as_str(),
            "{name}: chunk {i} special"
        );
        let chunk = s.get_chunk(i).unwrap();
        if let Some(len) = c["chunk_len"].as_u64() {
            assert_eq!(chunk.len() as u64, len, "{name}: chunk {i} stored length");
            assert_eq!(
                u64::from(crc32fast::hash(&chunk)),
                num(&c["chunk_crc32"]),
                "{name}: chunk {i} stored bytes"
            );
        } else {
            // A special without payload comes back as a header-only chunk that decodes the same.
            assert_eq!(
                ndpack::blosc::v2::decompress(&chunk).unwrap(),
                raw,
                "{name}: chunk {i}"
            );
        }
        all.extend_from_slice(&raw);
    }
    assert!(
        s.decompress_chunk(s.nchunks()).is_err(),
        "{name}: past the end"
    );
    // Items across chunks, when the chunks are whole items (and none is uninit).
    let ts = s.typesize();
    let uninit = e["chunks"]
        .as_array()
        .unwrap()
        .iter()
        .any(|c| c["crc32"].is_null());
    if !uninit && !all.is_empty() && all.len() % ts == 0 && s.chunksize() != 0 {
        let n = all.len() / ts;
        let (a, b) = (n / 5, n - n / 7);
        let mut out = vec![0u8; (b - a) * ts];
        s.get_slice(a, b, &mut out).unwrap();
        assert!(out == all[a * ts..b * ts], "{name}: get_slice");
    }
}

fn path_of(e: &Value) -> PathBuf {
    dir().join(e["path"].as_str().unwrap())
}

#[test]
fn fixtures_open_from_their_paths() {
    let list = fixtures();
    assert!(list.len() >= 25, "{} fixtures", list.len());
    for e in &list {
        let p = path_of(e);
        let s = SChunk::open(&p, Mode::Read).unwrap_or_else(|err| panic!("{p:?}: {err}"));
        assert_eq!(s.contiguous(), e["contiguous"].as_bool().unwrap(), "{p:?}");
        assert_eq!(s.cbytes(), num(&e["cbytes"]), "{p:?}: cbytes");
        check(&s, e, "open r");
        if s.contiguous() {
            let opts = OpenOptions {
                mode: Mode::Read,
                mmap: true,
                ..OpenOptions::default()
            };
            let m = SChunk::open_with_options(&p, &opts).unwrap();
            check(&m, e, "mmap");
        }
    }
}

#[test]
fn fixtures_open_from_their_bytes() {
    for e in fixtures()
        .iter()
        .filter(|e| e["contiguous"].as_bool().unwrap())
    {
        let bytes = fs::read(path_of(e)).unwrap();
        let view = SChunk::from_cframe(Buffer::from(bytes.clone()), false).unwrap();
        check(&view, e, "from_cframe zero-copy");
        let copied = SChunk::from_cframe(Buffer::from(bytes), true).unwrap();
        check(&copied, e, "from_cframe copy");
    }
}

#[test]
fn fixtures_round_trip_through_to_cframe() {
    for e in &fixtures() {
        let s = SChunk::open(path_of(e), Mode::Read).unwrap();
        let frame = s.to_cframe().unwrap();
        let back = SChunk::from_cframe(Buffer::from(frame.clone()), false).unwrap();
        check(&back, e, "to_cframe");
        // The bytes are stable: writing the frame read back gives the same frame.
        assert!(back.to_cframe().unwrap() == frame, "{}", e["path"]);
    }
}

/// Copies a fixture (file or directory) to a fresh temporary place.
fn copy_fixture(e: &Value, tmp: &Path) -> PathBuf {
    let src = path_of(e);
    let dst = tmp.join(e["path"].as_str().unwrap());
    if src.is_dir() {
        fs::create_dir_all(&dst).unwrap();
        for f in fs::read_dir(&src).unwrap() {
            let f = f.unwrap();
            fs::copy(f.path(), dst.join(f.file_name())).unwrap();
        }
    } else {
        fs::copy(&src, &dst).unwrap();
    }
    dst
}

fn tree_bytes(p: &Path) -> Vec<(String, Vec<u8>)> {
    if p.is_file() {
        return vec![(String::new(), fs::read(p).unwrap())];
    }
    let mut v: Vec<(String, Vec<u8>)> = fs::read_dir(p)
        .unwrap()
        .map(|f| {
            let f = f.unwrap();
            (
                f.file_name().to_string_lossy().into_owned(),
                fs::read(f.path()).unwrap(),
            )
        })
        .collect();
    v.sort();
    v
}

#[test]
fn opening_for_append_changes_nothing_and_appends_keep_the_old_chunks() {
    let tmp = std::env::temp_dir().join(format!("ndpack-fixtures-{}", std::process::id()));
    fs::create_dir_all(&tmp).unwrap();
    for e in &fixtures() {
        let p = copy_fixture(e, &tmp);
        let before = tree_bytes(&p);
        {
            let s = SChunk::open(&p, Mode::Append).unwrap();
            check(&s, e, "open a");
        }
        assert!(tree_bytes(&p) == before, "{p:?}: opening in mode a wrote");
        // A new chunk after the old ones, then the old ones are unchanged.
        let mut s = SChunk::open(&p, Mode::Append).unwrap();
        let nchunks = s.nchunks();
        let extra = if s.chunksize() != 0 {
            s.chunksize()
        } else {
            s.typesize() * 10
        };
        let data: Vec<u8> = (0..extra).map(|i| (i * 7 % 251) as u8).collect();
        if e["writer"].as_str().unwrap().contains("caterva") || s.meta_get("b2nd").is_some() {
            // Arrays keep their shape: only the super-chunk itself is checked by appending to
            // a frame without an array metalayer.
            continue;
        }
        // A short last chunk cannot be followed in a fixed-size frame.
        let last_short = nchunks > 0
            && s.chunksize() != 0
            && s.chunk_nbytes(nchunks - 1).unwrap() != s.chunksize();
        if last_short {
            continue;
        }
        assert_eq!(s.append_buffer(&data).unwrap(), nchunks + 1, "{p:?}");
        drop(s);
        let s = SChunk::open(&p, Mode::Read).unwrap();
        assert_eq!(s.nchunks(), nchunks + 1, "{p:?}");
        assert!(s.decompress_chunk(nchunks).unwrap() == data, "{p:?}");
        for (i, c) in e["chunks"].as_array().unwrap().iter().enumerate() {
            let raw = s.decompress_chunk(i).unwrap();
            if let Some(crc) = c["crc32"].as_u64() {
                assert_eq!(u64::from(crc32fast::hash(&raw)), crc, "{p:?}: {i}");
            }
        }
    }
    fs::remove_dir_all(&tmp).unwrap();
}
