//! Hostile b2nd arrays: frames whose `b2nd` or `caterva` metalayer lies (shape × itemsize
//! overflowing, chunk shape 0, blocks larger than chunks, 17 dimensions, garbage dtype strings,
//! a metalayer shorter than it declares, shapes that do not match the frame's chunks), every
//! prefix and every single-bit flip of the python-blosc2 and caterva fixtures in
//! `tests/data/b2nd`, the fuzz target's findings, and sparse directories with missing or short
//! chunk files. Each is opened as an array and read (whole when small, first and last items, a
//! region with negative steps); each failure must be an error of a kind that names bad input,
//! never a panic, and a counting allocator checks that no input makes ndpack ask for a huge
//! block of memory.

mod common;

use std::fs;
use std::path::Path;

use ndpack::array::b2nd::{ArrayOptions, NDArray};
use ndpack::blosc::frame::{DParams, Mode, SChunk, Storage};
use ndpack::blosc::v2::CParams;
use ndpack::region::{Region, Slice};
use ndpack::{Buffer, Error, ErrorKind};

#[global_allocator]
static ALLOCATOR: common::alloc::Counting = common::alloc::Counting;

/// No hostile input may make ndpack ask for more than this at once.
const ALLOC_LIMIT: usize = 64 << 20;

/// Arrays larger than this are not read whole.
const MAX_READ: usize = 1 << 20;

/// The kinds that name bad input.
const BAD_INPUT: [ErrorKind; 6] = [
    ErrorKind::Corrupt,
    ErrorKind::Truncated,
    ErrorKind::TooLarge,
    ErrorKind::Unsupported,
    ErrorKind::UnsupportedDtype,
    // "not an N-d array": a frame without a b2nd or caterva metalayer.
    ErrorKind::InvalidArgument,
];

/// Reads what a caller would read of `a`; returns every error met.
fn read_all(a: &NDArray) -> Vec<Error> {
    let mut errors = Vec::new();
    let shape = a.shape().to_vec();
    if a.nbytes() <= MAX_READ {
        if let Err(e) = a.to_buffer() {
            errors.push(e);
        }
    }
    if !shape.contains(&0) {
        let first = Region::from_bounds(&vec![0; shape.len()], &vec![1; shape.len()]);
        let last: Option<Region> = shape.iter().map(|&n| Slice::at(n - 1).ok()).collect();
        let back: Option<Region> = shape
            .iter()
            .map(|&n| Slice::normalize(Some(n.min(5) as isize - 1), None, Some(-2), n).ok())
            .collect();
        for r in [first.ok(), last, back].into_iter().flatten() {
            if let Err(e) = a.read(&r) {
                errors.push(e);
            }
        }
    }
    for info in a.chunks_info() {
        if let Err(e) = info {
            errors.push(e);
        }
    }
    errors
}

/// Opens `bytes` as an array in a cframe and reads it: every error, or none.
fn outcome(bytes: &[u8]) -> Vec<Error> {
    match NDArray::from_cframe(Buffer::from(bytes.to_vec()), false) {
        Err(e) => vec![e],
        Ok(a) => read_all(&a),
    }
}

fn check_kinds(errors: &[Error], what: &str) {
    for e in errors {
        assert!(
            BAD_INPUT.contains(&e.kind()),
            "{what}: {:?} error: {e}",
            e.kind()
        );
        assert!(
            !e.message().is_empty(),
            "{what}: an error without a message"
        );
    }
    let largest = common::alloc::largest();
    assert!(
        largest <= ALLOC_LIMIT,
        "{what}: an allocation of {largest} bytes"
    );
}

fn must_fail(bytes: &[u8], what: &str) -> Vec<Error> {
    let errors = outcome(bytes);
    assert!(!errors.is_empty(), "{what}: no error");
    check_kinds(&errors, what);
    errors
}

// ---- crafting metalayers ----

/// A `b2nd` metalayer as c-blosc2 writes it, with any values (no checks).
fn b2nd_meta(shape: &[i64], chunks: &[i32], blocks: &[i32], dtype: Option<&[u8]>) -> Vec<u8> {
    let nd = shape.len() as u8;
    let mut out = vec![if dtype.is_some() { 0x97 } else { 0x95 }, 0, nd];
    out.push(0x90u8.wrapping_add(nd));
    for &n in shape {
        out.push(0xd3);
        out.extend_from_slice(&n.to_be_bytes());
    }
    for dims in [chunks, blocks] {
        out.push(0x90u8.wrapping_add(nd));
        for &n in dims {
            out.push(0xd2);
            out.extend_from_slice(&n.to_be_bytes());
        }
    }
    if let Some(d) = dtype {
        out.push(0);
        out.push(0xdb);
        out.extend_from_slice(&(d.len() as u32).to_be_bytes());
        out.extend_from_slice(d);
    }
    out
}

/// A cframe whose metalayer `name` holds `meta`, with `nchunks` chunks of `chunk_bytes` bytes
/// of `typesize`-byte items (plain data, not checked against the metalayer).
fn frame(name: &str, meta: &[u8], typesize: usize, chunk_bytes: usize, nchunks: usize) -> Vec<u8> {
    let cparams = CParams {
        typesize,
        ..Default::default()
    };
    let storage = Storage {
        meta: vec![(name.to_string(), meta.to_vec())],
        ..Default::default()
    };
    let mut s = SChunk::new(chunk_bytes, cparams, DParams::default(), storage).unwrap();
    let data: Vec<u8> = (0..chunk_bytes).map(|k| (k * 7 % 251) as u8).collect();
    for _ in 0..nchunks {
        s.append_buffer(&data).unwrap();
    }
    s.to_cframe().unwrap()
}

#[test]
fn lying_metalayers_are_errors() {
    let f4 = Some(&b"<f4"[..]);
    let cases: Vec<(&str, Vec<u8>, usize, usize, usize)> = vec![
        (
            "shape x itemsize overflows",
            b2nd_meta(&[i64::MAX / 2, 4], &[1, 1], &[1, 1], f4),
            4,
            4,
            1,
        ),
        (
            "ext shape overflows",
            b2nd_meta(&[i64::MAX, 1], &[i32::MAX, 1], &[1, 1], f4),
            4,
            4,
            1,
        ),
        (
            "many chunks",
            b2nd_meta(&[1 << 40, 1 << 20], &[1, 1], &[1, 1], f4),
            4,
            4,
            1,
        ),
        (
            "chunk shape 0",
            b2nd_meta(&[10, 10], &[0, 5], &[0, 5], f4),
            4,
            0,
            0,
        ),
        (
            "block shape 0",
            b2nd_meta(&[10, 10], &[5, 5], &[5, 0], f4),
            4,
            100,
            4,
        ),
        (
            "block larger than chunk",
            b2nd_meta(&[10, 10], &[5, 5], &[5, 8], f4),
            4,
            100,
            4,
        ),
        (
            "negative shape",
            b2nd_meta(&[-10, 10], &[5, 5], &[5, 5], f4),
            4,
            100,
            4,
        ),
        (
            "negative chunk",
            b2nd_meta(&[10, 10], &[-5, 5], &[5, 5], f4),
            4,
            100,
            4,
        ),
        (
            "chunk larger than a Blosc2 chunk",
            b2nd_meta(&[1 << 20, 1 << 20], &[1 << 16, 1 << 16], &[1, 1], f4),
            4,
            4,
            1,
        ),
        (
            "17 dimensions",
            b2nd_meta(&[1; 17], &[1; 17], &[1; 17], f4),
            4,
            4,
            1,
        ),
        (
            "255 dimensions",
            b2nd_meta(&[1; 255], &[1; 255], &[1; 255], f4),
            4,
            4,
            1,
        ),
        (
            "shape, chunks and blocks of different lengths",
            {
                let mut m = b2nd_meta(&[10, 10], &[5, 5], &[5, 5], f4);
                m[3] = 0x93;
                m
            },
            4,
            100,
            4,
        ),
        (
            "garbage dtype",
            b2nd_meta(&[10], &[5], &[5], Some(b"<q99zz")),
            4,
            20,
            2,
        ),
        (
            "dtype not UTF-8",
            b2nd_meta(&[10], &[5], &[5], Some(b"<f\xff")),
            4,
            20,
            2,
        ),
        (
            "dtype of objects",
            b2nd_meta(&[10], &[5], &[5], Some(b"|O")),
            8,
            40,
            2,
        ),
        (
            "dtype of 0-byte items",
            b2nd_meta(&[10], &[5], &[5], Some(b"|V0")),
            1,
            5,
            2,
        ),
        (
            "dtype whose itemsize is not the frame's typesize",
            b2nd_meta(&[10], &[5], &[5], Some(b"<f8")),
            4,
            20,
            2,
        ),
        (
            "record dtype with garbage fields",
            b2nd_meta(&[10], &[5], &[5], Some(b"[('a', '<i4'), ('b', ")),
            4,
            20,
            2,
        ),
        (
            "huge dtype dict itemsize",
            b2nd_meta(
                &[10],
                &[5],
                &[5],
                Some(b"{'names': ['a'], 'itemsize': 99999999999999999999}"),
            ),
            4,
            20,
            2,
        ),
        (
            "too few chunks for the shape",
            b2nd_meta(&[10, 10], &[5, 5], &[5, 5], f4),
            4,
            100,
            3,
        ),
        (
            "too many chunks for the shape",
            b2nd_meta(&[10, 10], &[5, 5], &[5, 5], f4),
            4,
            100,
            5,
        ),
        (
            "chunks of the wrong size",
            b2nd_meta(&[10, 10], &[5, 5], &[5, 5], f4),
            4,
            96,
            4,
        ),
        (
            "caterva with 9 dimensions",
            b2nd_meta(&[1; 9], &[1; 9], &[1; 9], None),
            4,
            4,
            1,
        ),
    ];
    for (what, meta, typesize, chunk_bytes, nchunks) in cases {
        let name = if what.starts_with("caterva") {
            "caterva"
        } else {
            "b2nd"
        };
        let f = frame(name, &meta, typesize, chunk_bytes.max(1), nchunks);
        must_fail(&f, what);
    }
}

#[test]
fn every_prefix_of_a_metalayer_is_an_error_or_a_valid_array() {
    let meta = b2nd_meta(&[6, 5], &[4, 4], &[2, 2], Some(b"<M8[ms]"));
    for cut in 0..meta.len() {
        let f = frame("b2nd", &meta[..cut], 8, 4 * 4 * 8, 4);
        let errors = outcome(&f);
        check_kinds(&errors, &format!("metalayer cut at {cut}"));
        // Only the shapes, without the dtype, may be a valid array (of byte strings).
        let shapes_end = meta.len() - (1 + 1 + 4 + 7);
        if errors.is_empty() {
            assert!(
                cut == shapes_end || cut == shapes_end + 1,
                "metalayer cut at {cut} of {} opened",
                meta.len()
            );
        }
    }
    // A dtype string declared longer than the metalayer holds.
    let mut m = b2nd_meta(&[10], &[5], &[5], Some(b"<f4"));
    let at = m.len() - 3 - 4;
    m[at..at + 4].copy_from_slice(&1000u32.to_be_bytes());
    let e = must_fail(&frame("b2nd", &m, 4, 20, 2), "dtype longer than declared");
    assert_eq!(e[0].kind(), ErrorKind::Truncated, "{}", e[0]);
    m[at..at + 4].copy_from_slice(&u32::MAX.to_be_bytes());
    must_fail(&frame("b2nd", &m, 4, 20, 2), "dtype of 4 GiB");
}

/// The contiguous fixtures, as bytes.
fn fixtures() -> Vec<(String, Vec<u8>)> {
    let dir = common::data("b2nd");
    let mut out: Vec<(String, Vec<u8>)> = fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.is_file() && matches!(ext(p), "b2nd" | "caterva"))
        .map(|p| (name(&p), fs::read(&p).unwrap()))
        .collect();
    out.sort();
    assert!(out.len() >= 9, "fixtures in {}", dir.display());
    out
}

fn ext(p: &Path) -> &str {
    p.extension().and_then(|e| e.to_str()).unwrap_or("")
}

fn name(p: &Path) -> String {
    p.file_name().unwrap().to_string_lossy().into_owned()
}

#[test]
fn fixtures_open_whole() {
    for (name, bytes) in fixtures() {
        assert!(outcome(&bytes).is_empty(), "{name}");
    }
}

#[test]
fn every_prefix_of_every_fixture_fails_cleanly() {
    for (name, bytes) in fixtures() {
        for cut in 0..bytes.len() {
            must_fail(&bytes[..cut], &format!("{name} cut at {cut}"));
        }
    }
}

#[test]
fn every_bit_flip_of_every_fixture_is_an_error_or_an_array() {
    for (name, bytes) in fixtures() {
        let mut b = bytes.clone();
        for at in 0..b.len() {
            for bit in 0..8 {
                b[at] ^= 1 << bit;
                check_kinds(&outcome(&b), &format!("{name} bit {bit} of byte {at}"));
                b[at] ^= 1 << bit;
            }
        }
    }
}

#[test]
fn damaged_sparse_directories_fail_cleanly() {
    let src = common::data("b2nd").join("f8_3d_sparse.b2nd.d");
    let tmp = std::env::temp_dir().join(format!("ndpack-b2nd-hostile-{}", std::process::id()));
    let copy = |to: &Path| {
        let _ = fs::remove_dir_all(to);
        fs::create_dir_all(to).unwrap();
        for e in fs::read_dir(&src).unwrap() {
            let p = e.unwrap().path();
            fs::copy(&p, to.join(p.file_name().unwrap())).unwrap();
        }
    };
    let open_read = |dir: &Path| -> Vec<Error> {
        match NDArray::open(dir, Mode::Read) {
            Err(e) => vec![e],
            Ok(a) => read_all(&a),
        }
    };
    // A missing chunk file, a short one, an empty one, one replaced by another's bytes.
    let d = tmp.join("missing");
    copy(&d);
    fs::remove_file(d.join("00000003.chunk")).unwrap();
    let e = open_read(&d);
    assert!(!e.is_empty(), "missing chunk file");
    for err in &e {
        assert!(
            BAD_INPUT.contains(&err.kind()) || err.kind() == ErrorKind::Io,
            "missing chunk: {err}"
        );
    }
    for (what, change) in [
        ("short", 0usize),
        ("empty", 1),
        ("another chunk", 2),
        ("frame cut", 3),
    ] {
        let d = tmp.join(what.replace(' ', "-"));
        copy(&d);
        match change {
            0 => {
                let p = d.join("00000005.chunk");
                let b = fs::read(&p).unwrap();
                fs::write(&p, &b[..b.len() / 2]).unwrap();
            }
            1 => fs::write(d.join("00000000.chunk"), b"").unwrap(),
            2 => {
                // A chunk of the wrong size for this array (a valid Blosc2 chunk).
                let raw = vec![1u8; 100];
                let c = ndpack::blosc::v2::compress(&raw, &CParams::default()).unwrap();
                fs::write(d.join("00000001.chunk"), c).unwrap();
            }
            _ => {
                let p = d.join("chunks.b2frame");
                let b = fs::read(&p).unwrap();
                fs::write(&p, &b[..b.len() - 10]).unwrap();
            }
        }
        let e = open_read(&d);
        assert!(!e.is_empty(), "{what}: no error");
        check_kinds(&e, what);
    }
    let _ = fs::remove_dir_all(&tmp);
}

/// Arrays created through the API with the same lies are refused before anything is written.
#[test]
fn creating_bad_arrays_is_refused() {
    let f4: ndpack::DataType = "<f4".parse().unwrap();
    let opts = |c: Vec<usize>, b: Vec<usize>| ArrayOptions {
        chunks: Some(c),
        blocks: Some(b),
        ..Default::default()
    };
    for (shape, o) in [
        (vec![10, 10], opts(vec![0, 5], vec![0, 5])),
        (vec![10, 10], opts(vec![5, 5], vec![8, 5])),
        (vec![10, 10], opts(vec![5], vec![5])),
        (vec![1; 17], opts(vec![1; 17], vec![1; 17])),
        (vec![usize::MAX / 2, 4], opts(vec![1 << 20, 1], vec![1, 1])),
    ] {
        let e = NDArray::zeros(&shape, f4.clone().into(), &o).unwrap_err();
        assert!(
            matches!(e.kind(), ErrorKind::InvalidArgument | ErrorKind::TooLarge),
            "{shape:?}: {e}"
        );
    }
}
