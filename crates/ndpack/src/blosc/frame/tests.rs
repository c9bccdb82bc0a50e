//! Tests of the super-chunk and its frames: every operation on the three storages against a
//! plain model (the decoded bytes of each chunk), reopening, the commit protocol, frames built
//! by hand (variable chunk sizes) and damaged frames.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use super::header::FrameHeader;
use super::schunk::Store;
use super::*;
use crate::blosc::v2;
use crate::blosc::Compressor;
use crate::buffer::Buffer;
use crate::error::ErrorKind;

const CS: usize = 4000;
const TS: usize = 4;

fn tmpdir(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("ndpack-frame-{}-{name}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

fn cparams() -> CParams {
    CParams {
        typesize: TS,
        codec: Compressor::Lz4,
        ..CParams::default()
    }
}

fn data(seed: u32, nbytes: usize) -> Vec<u8> {
    (0..(nbytes / TS) as u32)
        .flat_map(|i| (i.wrapping_mul(7) / 3 + seed * 1000).to_le_bytes())
        .collect()
}

fn storage(path: Option<&Path>, contiguous: bool) -> Storage {
    Storage {
        urlpath: path.map(Path::to_path_buf),
        contiguous,
        mode: Mode::Write,
        ..Storage::default()
    }
}

/// Checks every chunk and the whole item range against `model`.
fn check(s: &SChunk, model: &[Vec<u8>]) {
    assert_eq!(s.nchunks(), model.len());
    assert_eq!(
        s.nbytes(),
        model.iter().map(|c| c.len() as u64).sum::<u64>()
    );
    for (i, want) in model.iter().enumerate() {
        assert_eq!(&s.decompress_chunk(i).unwrap(), want, "chunk {i}");
        assert_eq!(s.chunk_nbytes(i).unwrap(), want.len());
        let chunk = s.get_chunk(i).unwrap();
        assert_eq!(&v2::decompress(&chunk).unwrap(), want, "get_chunk {i}");
    }
    let all: Vec<u8> = model.concat();
    let n = all.len() / TS;
    let mut out = vec![0u8; all.len()];
    s.get_slice(0, n, &mut out).unwrap();
    assert!(out == all, "get_slice of everything");
    if n > 10 {
        let (a, b) = (n / 3 + 1, n - 3);
        let mut part = vec![0u8; (b - a) * TS];
        s.get_slice(a, b, &mut part).unwrap();
        assert!(part == all[a * TS..b * TS], "get_slice {a}..{b}");
    }
    let stored: u64 = (0..s.nchunks())
        .filter(|&i| s.entries[i].off >= 0)
        .map(|i| s.get_chunk(i).unwrap().len() as u64)
        .sum();
    assert!(s.cbytes() >= stored, "cbytes {} < {stored}", s.cbytes());
}

/// Every write operation, applied to `s` and to the model.
fn exercise(s: &mut SChunk, model: &mut Vec<Vec<u8>>) {
    for k in 0..5 {
        let d = data(k, CS);
        assert_eq!(s.append_buffer(&d).unwrap(), model.len() + 1);
        model.push(d);
    }
    check(s, model);
    // Insert and update with compressed chunks of another codec, delete.
    let other = CParams {
        codec: Compressor::BloscLz,
        ..cparams()
    };
    let d = data(10, CS);
    s.insert_chunk(1, &v2::compress(&d, &other).unwrap())
        .unwrap();
    model.insert(1, d);
    let d = data(11, CS);
    s.update_chunk(3, &v2::compress(&d, &other).unwrap())
        .unwrap();
    model[3] = d;
    s.delete_chunk(0).unwrap();
    model.remove(0);
    check(s, model);
    // Specials: zeros, NaN, uninit (read as zeros), a value; a zero chunk appended.
    s.fill_special(CS / TS, Special::Zeros).unwrap();
    model.push(vec![0; CS]);
    s.fill_special(CS / TS + 10, Special::Nan).unwrap();
    let nan = f32::NAN.to_le_bytes();
    model.push(nan.repeat(CS / TS));
    model.push(nan.repeat(10));
    assert_eq!(
        s.chunk_special(model.len() - 1).unwrap(),
        Some(Special::Nan)
    );
    // The last chunk is short: only another short update may follow until it is full.
    let e = s.append_buffer(&data(1, CS)).unwrap_err();
    assert_eq!(e.kind(), ErrorKind::InvalidArgument);
    let d = nan.repeat(CS / TS);
    s.update_chunk(model.len() - 1, &v2::compress(&d, &cparams()).unwrap())
        .unwrap();
    *model.last_mut().unwrap() = d;
    s.fill_special(CS / TS, Special::Uninit).unwrap();
    model.push(vec![0; CS]);
    s.fill_special(CS / TS * 2, Special::Value(7u32.to_le_bytes().to_vec()))
        .unwrap();
    model.push(7u32.to_le_bytes().repeat(CS / TS));
    model.push(7u32.to_le_bytes().repeat(CS / TS));
    assert_eq!(
        s.chunk_special(model.len() - 1).unwrap(),
        Some(Special::Value(7u32.to_le_bytes().to_vec()))
    );
    assert_eq!(s.chunk_special(0).unwrap(), None);
    s.append_chunk(&v2::zeros_chunk(CS, TS, 0).unwrap())
        .unwrap();
    model.push(vec![0; CS]);
    assert_eq!(
        s.chunk_special(model.len() - 1).unwrap(),
        Some(Special::Zeros)
    );
    check(s, model);
    // Updates that turn specials into data and data into specials; set_slice across chunks
    // and past the end.
    let d = data(12, CS);
    s.update_chunk(model.len() - 6, &v2::compress(&d, &cparams()).unwrap())
        .unwrap();
    let at = model.len() - 6;
    model[at] = d;
    s.update_chunk(0, &v2::zeros_chunk(CS, TS, 0).unwrap())
        .unwrap();
    model[0] = vec![0; CS];
    let patch = data(13, CS + 400);
    let start = CS / TS / 2;
    s.set_slice(start, &patch).unwrap();
    let mut flat = model.concat();
    flat[start * TS..start * TS + patch.len()].copy_from_slice(&patch);
    let tail = data(14, CS + 100);
    let end = flat.len() / TS;
    s.set_slice(end, &tail).unwrap();
    flat.extend_from_slice(&tail);
    *model = flat.chunks(CS).map(<[u8]>::to_vec).collect();
    check(s, model);
    // Metalayers (added before data only) and vlmeta.
    assert_eq!(
        s.meta_add("late", b"x").unwrap_err().kind(),
        ErrorKind::InvalidArgument
    );
    s.vlmeta_set("hello", b"\xa5world").unwrap();
    s.vlmeta_set("n", b"\x07").unwrap();
    s.vlmeta_set("hello", b"\xa3new").unwrap();
    assert_eq!(s.vlmeta_names(), ["hello", "n"]);
    assert_eq!(s.vlmeta_get("hello").unwrap().unwrap(), b"\xa3new");
    assert!(s.vlmeta_delete("n").unwrap());
    assert!(!s.vlmeta_delete("n").unwrap());
    assert_eq!(s.vlmeta_get("n").unwrap(), None);
}

fn check_meta(s: &SChunk) {
    assert_eq!(s.meta_names(), ["b2nd", "other"]);
    assert_eq!(s.meta_get("b2nd").unwrap(), b"\x93\x01\x02\x03");
    assert_eq!(s.vlmeta_names(), ["hello"]);
    assert_eq!(s.vlmeta_get("hello").unwrap().unwrap(), b"\xa3new");
}

fn with_meta(mut st: Storage) -> Storage {
    st.meta = vec![
        ("b2nd".into(), b"\x93\x00\x00\x00".to_vec()),
        ("other".into(), vec![1; 40]),
    ];
    st
}

#[test]
fn schunk_is_send_and_sync() {
    fn both<T: Send + Sync>() {}
    both::<SChunk>();
}

#[test]
fn memory_round_trip_of_every_operation() {
    let mut s = SChunk::new(
        CS,
        cparams(),
        DParams::default(),
        with_meta(Storage::default()),
    )
    .unwrap();
    let mut model = Vec::new();
    exercise(&mut s, &mut model);
    s.meta_update("b2nd", b"\x93\x01\x02\x03").unwrap();
    assert_eq!(
        s.meta_update("b2nd", b"\x93").unwrap_err().kind(),
        ErrorKind::InvalidArgument
    );
    check_meta(&s);
    let cframe = s.to_cframe().unwrap();
    for copy in [false, true] {
        let t = SChunk::from_cframe(Buffer::from_vec(cframe.clone()), copy).unwrap();
        check(&t, &model);
        check_meta(&t);
        assert_eq!(t.cbytes(), s.cbytes());
        assert_eq!(t.chunksize(), CS);
        assert_eq!(t.cparams(), s.cparams());
        assert_eq!(t.to_cframe().unwrap(), cframe);
    }
}

#[test]
fn from_cframe_without_copy_keeps_views() {
    let mut s = SChunk::new(CS, cparams(), DParams::default(), Storage::default()).unwrap();
    s.append_buffer(&data(1, CS)).unwrap();
    let cframe = Buffer::from_vec(s.to_cframe().unwrap());
    let t = SChunk::from_cframe(cframe.clone(), false).unwrap();
    let chunk = t.get_chunk(0).unwrap();
    let base = cframe.as_ptr() as usize;
    let at = chunk.as_ptr() as usize;
    assert!(
        at >= base && at < base + cframe.len(),
        "a view into the cframe"
    );
    let u = SChunk::from_cframe(cframe.clone(), true).unwrap();
    let at = u.get_chunk(0).unwrap().as_ptr() as usize;
    assert!(at < base || at >= base + cframe.len(), "a copy");
}

fn frame_len_of(path: &Path) -> u64 {
    let b = std::fs::read(path).unwrap();
    u64::from_be_bytes(b[16..24].try_into().unwrap())
}

#[test]
fn contiguous_file_round_trip_and_reopen() {
    let dir = tmpdir("contig");
    let path = dir.join("a.b2frame");
    let mut s = SChunk::new(
        CS,
        cparams(),
        DParams::default(),
        with_meta(storage(Some(&path), true)),
    )
    .unwrap();
    let mut model = Vec::new();
    exercise(&mut s, &mut model);
    s.meta_update("b2nd", b"\x93\x01\x02\x03").unwrap();
    check_meta(&s);
    assert_eq!(s.urlpath(), Some(path.as_path()));
    assert!(s.contiguous());
    let cbytes = s.cbytes();
    drop(s);
    // The file has holes (old offsets, trailers, replaced chunks); it reads the same in every
    // mode, through pread and through a map.
    let size = std::fs::metadata(&path).unwrap().len();
    for mode in [Mode::Read, Mode::Append, Mode::Write] {
        let t = SChunk::open(&path, mode).unwrap();
        assert_eq!(t.mode(), mode);
        check(&t, &model);
        check_meta(&t);
    }
    let mut m = SChunk::open_with_options(
        &path,
        &OpenOptions {
            mode: Mode::Read,
            mmap: true,
            ..OpenOptions::default()
        },
    )
    .unwrap();
    check(&m, &model);
    assert_eq!(
        m.meta_update("b2nd", b"\x93\x01\x02\x03")
            .unwrap_err()
            .kind(),
        ErrorKind::InvalidArgument
    );
    drop(m);
    // compact() drops the holes and keeps the content; cbytes is then the live bytes.
    let mut t = SChunk::open(&path, Mode::Append).unwrap();
    t.compact().unwrap();
    let small = std::fs::metadata(&path).unwrap().len();
    assert!(small < size, "{small} < {size}");
    check(&t, &model);
    assert!(t.cbytes() <= cbytes);
    assert_eq!(t.to_cframe().unwrap(), std::fs::read(&path).unwrap());
    // Writes after compaction go on; a reopened copy matches.
    let d = data(20, CS);
    let end = (t.nbytes() / TS as u64) as usize;
    t.set_slice(end, &d).unwrap();
    let mut flat = model.concat();
    flat.extend_from_slice(&d);
    model = flat.chunks(CS).map(<[u8]>::to_vec).collect();
    check(&t, &model);
    drop(t);
    check(&SChunk::open(&path, Mode::Read).unwrap(), &model);
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn sparse_directory_round_trip_and_reopen() {
    let dir = tmpdir("sparse");
    let path = dir.join("a.b2frame");
    let mut s = SChunk::new(
        CS,
        cparams(),
        DParams::default(),
        with_meta(storage(Some(&path), false)),
    )
    .unwrap();
    let mut model = Vec::new();
    exercise(&mut s, &mut model);
    s.meta_update("b2nd", b"\x93\x01\x02\x03").unwrap();
    assert!(!s.contiguous());
    drop(s);
    for mode in [Mode::Read, Mode::Append] {
        let t = SChunk::open(&path, mode).unwrap();
        check(&t, &model);
        check_meta(&t);
    }
    // One file per stored chunk: deleted chunks' files are gone.
    let mut t = SChunk::open(&path, Mode::Append).unwrap();
    let stored = t.entries.iter().filter(|e| e.off >= 0).count();
    let files = |p: &Path| {
        std::fs::read_dir(p)
            .unwrap()
            .filter(|f| {
                f.as_ref()
                    .unwrap()
                    .file_name()
                    .to_string_lossy()
                    .ends_with(".chunk")
            })
            .count()
    };
    assert_eq!(files(&path), stored);
    std::fs::write(path.join("00FFFFFF.chunk"), b"orphan").unwrap();
    t.compact().unwrap();
    assert_eq!(files(&path), stored);
    // The sparse frame converts to a contiguous one.
    let c = SChunk::from_cframe(Buffer::from_vec(t.to_cframe().unwrap()), false).unwrap();
    check(&c, &model);
    // Mode w replaces it.
    drop(t);
    let n = SChunk::new(
        CS,
        cparams(),
        DParams::default(),
        storage(Some(&path), false),
    )
    .unwrap();
    assert_eq!(n.nchunks(), 0);
    assert_eq!(files(&path), 0);
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn bytes_past_frame_len_are_an_uncommitted_write() {
    let dir = tmpdir("crash");
    let path = dir.join("a.b2frame");
    let mut s = SChunk::new(
        CS,
        cparams(),
        DParams::default(),
        storage(Some(&path), true),
    )
    .unwrap();
    let model: Vec<Vec<u8>> = (0..3).map(|k| data(k, CS)).collect();
    for d in &model {
        s.append_buffer(d).unwrap();
    }
    s.vlmeta_set("v", b"\x01").unwrap();
    drop(s);
    let old = std::fs::read(&path).unwrap();
    // A second handle appends, updates and changes vlmeta; then the header of the old frame is
    // put back, which is the file a crash before the commit's header write leaves.
    let mut s = SChunk::open(&path, Mode::Append).unwrap();
    s.append_buffer(&data(9, CS)).unwrap();
    s.update_chunk(1, &v2::compress(&data(8, CS), &cparams()).unwrap())
        .unwrap();
    s.vlmeta_set("v", b"\x02").unwrap();
    drop(s);
    let mut now = std::fs::read(&path).unwrap();
    assert!(now.len() > old.len());
    assert!(now[old.len()..].len() > 1000);
    assert_eq!(&now[..16], &old[..16]);
    let hl = FrameHeader::parse(&old).unwrap().header_len;
    now[..hl].copy_from_slice(&old[..hl]);
    std::fs::write(&path, &now).unwrap();
    // The old content, in mode r (the tail stays) and in mode a (the tail is cut).
    let r = SChunk::open(&path, Mode::Read).unwrap();
    check(&r, &model);
    assert_eq!(r.vlmeta_get("v").unwrap().unwrap(), b"\x01");
    drop(r);
    assert_eq!(std::fs::metadata(&path).unwrap().len(), now.len() as u64);
    let mut a = SChunk::open(&path, Mode::Append).unwrap();
    check(&a, &model);
    assert_eq!(std::fs::metadata(&path).unwrap().len(), frame_len_of(&path));
    a.append_buffer(&data(3, CS)).unwrap();
    drop(a);
    let mut model = model;
    model.push(data(3, CS));
    check(&SChunk::open(&path, Mode::Read).unwrap(), &model);
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn writes_never_touch_live_bytes_before_the_commit() {
    let dir = tmpdir("live");
    let path = dir.join("a.b2frame");
    let mut s = SChunk::new(
        CS,
        cparams(),
        DParams::default(),
        storage(Some(&path), true),
    )
    .unwrap();
    for k in 0..4 {
        s.append_buffer(&data(k, CS)).unwrap();
    }
    let before = std::fs::read(&path).unwrap();
    let fl = frame_len_of(&path) as usize;
    s.begin_updates();
    s.append_buffer(&data(5, CS)).unwrap();
    s.update_chunk(0, &v2::compress(&data(6, CS), &cparams()).unwrap())
        .unwrap();
    s.delete_chunk(2).unwrap();
    s.vlmeta_set("k", b"\x01").unwrap();
    // Nothing committed: the live frame is byte for byte the same.
    let mid = std::fs::read(&path).unwrap();
    assert_eq!(&mid[..fl], &before[..fl]);
    s.end_updates().unwrap();
    let after = std::fs::read(&path).unwrap();
    // The commit changed only the header's fixed fields inside the old frame.
    let diff: Vec<usize> = (0..fl).filter(|&i| after[i] != before[i]).collect();
    assert!(!diff.is_empty());
    assert!(diff.iter().all(|&i| (16..69).contains(&i)), "{diff:?}");
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn holes_grow_until_automatic_compaction() {
    let dir = tmpdir("auto");
    let path = dir.join("a.b2frame");
    let cp = CParams {
        clevel: 0,
        ..cparams()
    };
    let big = 64 * 1024;
    let mut s = SChunk::new(
        big,
        cp.clone(),
        DParams::default(),
        storage(Some(&path), true),
    )
    .unwrap();
    for k in 0..4 {
        s.append_buffer(&data(k, big)).unwrap();
    }
    let live = std::fs::metadata(&path).unwrap().len();
    let mut max = 0;
    for k in 0..80 {
        let d = data(100 + k, big);
        s.update_chunk(k as usize % 4, &v2::compress(&d, &cp).unwrap())
            .unwrap();
        max = max.max(std::fs::metadata(&path).unwrap().len());
    }
    // Dead bytes never exceed the live ones by more than the 1 MiB allowance (plus one chunk).
    assert!(
        max < 2 * live + (1 << 20) + 2 * big as u64,
        "{max} vs {live}"
    );
    assert!(max > live + big as u64);
    let model: Vec<Vec<u8>> = (76..80).map(|k| data(100 + k, big)).collect();
    check(&SChunk::open(&path, Mode::Read).unwrap(), &model);
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn chunk_size_rules_and_bad_arguments() {
    let mut s = SChunk::new(0, cparams(), DParams::default(), Storage::default()).unwrap();
    assert_eq!(s.chunksize(), 0);
    assert_eq!(
        s.fill_special(10, Special::Zeros).unwrap_err().kind(),
        ErrorKind::InvalidArgument
    );
    s.append_buffer(&data(0, CS)).unwrap();
    assert_eq!(s.chunksize(), CS);
    let e = s.append_buffer(&data(0, CS + 4)).unwrap_err();
    assert_eq!(e.kind(), ErrorKind::InvalidArgument);
    let short = v2::compress(&data(0, 40), &cparams()).unwrap();
    assert!(s.insert_chunk(0, &short).is_err());
    s.insert_chunk(1, &short).unwrap();
    assert!(s.update_chunk(0, &short).is_err());
    assert!(s.update_chunk(1, &short).is_ok());
    assert!(s.delete_chunk(5).is_err());
    assert!(s.get_chunk(5).is_err());
    let mut out = vec![0u8; 8];
    assert!(s.get_slice(0, 3, &mut out).is_err());
    assert!(s.get_slice(1010, 1011, &mut out[..4]).is_err());
    assert!(s.append_chunk(b"not a chunk at all").is_err());
    assert!(s.fill_special(1, Special::Nan).is_err());
    assert!(s.vlmeta_set(&"x".repeat(32), b"1").is_err());
    let st = Storage {
        meta: (0..17).map(|i| (format!("m{i}"), vec![])).collect(),
        ..Storage::default()
    };
    assert!(SChunk::new(CS, cparams(), DParams::default(), st).is_err());
    assert_eq!(Mode::parse("r").unwrap(), Mode::Read);
    assert!(Mode::parse("x").is_err());
    let dir = tmpdir("ro");
    let path = dir.join("a.b2frame");
    SChunk::new(
        CS,
        cparams(),
        DParams::default(),
        storage(Some(&path), true),
    )
    .unwrap();
    let mut r = SChunk::open(&path, Mode::Read).unwrap();
    assert_eq!(
        r.append_buffer(&data(0, CS)).unwrap_err().kind(),
        ErrorKind::InvalidArgument
    );
    let e = SChunk::open(dir.join("missing"), Mode::Read).unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Io);
    assert!(e.message().contains("missing"));
    std::fs::remove_dir_all(&dir).unwrap();
}

/// A version-3 frame of variable chunk sizes, built from its parts.
fn variable_frame(chunks: &[Vec<u8>]) -> Vec<u8> {
    let mut h = FrameHeader::parse(
        &SChunk::new(0, cparams(), DParams::default(), Storage::default())
            .unwrap()
            .to_cframe()
            .unwrap(),
    )
    .unwrap();
    h.version = 3;
    h.variable = true;
    h.chunksize = 0;
    h.nbytes = chunks.iter().map(|c| c.len() as u64).sum();
    let hl = h.built_len();
    let mut body = Vec::new();
    let mut offs = Vec::new();
    for c in chunks {
        offs.push(body.len() as i64);
        body.extend_from_slice(&v2::compress(c, &cparams()).unwrap());
    }
    h.cbytes = body.len() as u64;
    let o = offsets::encode(&offs).unwrap();
    let t = trailer::build(&[]).unwrap();
    h.frame_len = (hl + body.len() + o.len() + t.len()) as u64;
    let mut f = h.build().unwrap();
    f.extend_from_slice(&body);
    f.extend_from_slice(&o);
    f.extend_from_slice(&t);
    f
}

#[test]
fn variable_chunk_frames_read() {
    let model = vec![data(1, 400), data(2, 4000), data(3, 12), data(4, 1000)];
    let f = variable_frame(&model);
    assert_eq!(f[25], 0x53);
    let s = SChunk::from_cframe(Buffer::from_vec(f.clone()), false).unwrap();
    assert_eq!(s.chunksize(), 0);
    check(&s, &model);
    let dir = tmpdir("var");
    let path = dir.join("v.b2frame");
    std::fs::write(&path, &f).unwrap();
    let mut s = SChunk::open(&path, Mode::Append).unwrap();
    check(&s, &model);
    // Appends of any size keep it a version-3 frame.
    s.append_buffer(&data(5, 44)).unwrap();
    let mut model = model;
    model.push(data(5, 44));
    drop(s);
    let s = SChunk::open(&path, Mode::Read).unwrap();
    check(&s, &model);
    assert_eq!(std::fs::read(&path).unwrap()[25], 0x53);
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn damaged_frames_are_errors() {
    let mut s = SChunk::new(
        CS,
        cparams(),
        DParams::default(),
        with_meta(Storage::default()),
    )
    .unwrap();
    for k in 0..3 {
        s.append_buffer(&data(k, CS)).unwrap();
    }
    s.fill_special(CS / TS, Special::Zeros).unwrap();
    s.vlmeta_set("v", b"\x01").unwrap();
    let f = s.to_cframe().unwrap();
    let read_all = |b: Vec<u8>| -> crate::Result<()> {
        let s = SChunk::from_cframe(Buffer::from_vec(b), false)?;
        for i in 0..s.nchunks() {
            s.decompress_chunk(i)?;
        }
        for n in s.vlmeta_names() {
            s.vlmeta_get(&n)?;
        }
        Ok(())
    };
    read_all(f.clone()).unwrap();
    for cut in (0..f.len()).step_by(7) {
        assert!(read_all(f[..cut].to_vec()).is_err(), "cut at {cut}");
    }
    let mut rng = 0x1234_5678u64;
    for _ in 0..3000 {
        let mut g = f.clone();
        for _ in 0..3 {
            rng = rng
                .wrapping_mul(6364136223846793005)
                .wrapping_add(1442695040888963407);
            let at = (rng >> 33) as usize % g.len();
            g[at] ^= 1 << ((rng >> 20) % 8);
        }
        let _ = read_all(g);
    }
    // Huge declared counts are TooLarge, not an allocation.
    let mut g = f.clone();
    g[30..38].copy_from_slice(&(1i64 << 60).to_be_bytes());
    let e = read_all(g).unwrap_err();
    assert_eq!(e.kind(), ErrorKind::TooLarge, "{e}");
}

#[test]
fn one_handle_reads_from_many_threads() {
    let dir = tmpdir("threads");
    let path = dir.join("a.b2frame");
    let mut s = SChunk::new(
        CS,
        cparams(),
        DParams::default(),
        storage(Some(&path), true),
    )
    .unwrap();
    let model: Vec<Vec<u8>> = (0..20).map(|k| data(k, CS)).collect();
    s.begin_updates();
    for d in &model {
        s.append_buffer(d).unwrap();
    }
    s.end_updates().unwrap();
    drop(s);
    let s = Arc::new(SChunk::open(&path, Mode::Read).unwrap());
    let all = Arc::new(model.concat());
    let threads: Vec<_> = (0..4)
        .map(|t| {
            let s = Arc::clone(&s);
            let all = Arc::clone(&all);
            std::thread::spawn(move || {
                for k in 0..50 {
                    let a = (k * 37 + t * 101) % 19000;
                    let b = a + 500 + k;
                    let mut out = vec![0u8; (b - a) * TS];
                    s.get_slice(a, b, &mut out).unwrap();
                    assert!(out == all[a * TS..b * TS]);
                }
            })
        })
        .collect();
    for t in threads {
        t.join().unwrap();
    }
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn reload_sees_another_handles_commits() {
    let dir = tmpdir("reload");
    let path = dir.join("a.b2frame");
    let mut w = SChunk::new(
        CS,
        cparams(),
        DParams::default(),
        storage(Some(&path), true),
    )
    .unwrap();
    w.append_buffer(&data(0, CS)).unwrap();
    let mut r = SChunk::open(&path, Mode::Read).unwrap();
    assert!(!r.reload().unwrap());
    w.append_buffer(&data(1, CS)).unwrap();
    w.vlmeta_set("v", b"\x01").unwrap();
    assert_eq!(r.nchunks(), 1);
    assert!(r.reload().unwrap());
    check(&r, &[data(0, CS), data(1, CS)]);
    w.compact().unwrap();
    assert!(r.reload().unwrap() || r.nchunks() == 2);
    check(&r, &[data(0, CS), data(1, CS)]);
    // A writer's reload leaves bytes past frame_len alone (another handle's write in
    // progress) and keeps writing afterwards.
    let mut b = std::fs::read(&path).unwrap();
    b.extend_from_slice(&[7; 100]);
    std::fs::write(&path, &b).unwrap();
    assert!(!w.reload().unwrap());
    assert_eq!(std::fs::metadata(&path).unwrap().len(), b.len() as u64);
    w.append_buffer(&data(2, CS)).unwrap();
    r.reload().unwrap();
    check(&r, &[data(0, CS), data(1, CS), data(2, CS)]);
    std::fs::remove_dir_all(&dir).unwrap();
}

#[cfg(unix)]
#[test]
fn opening_for_writing_removes_temp_files_of_dead_compactions() {
    let dir = tmpdir("stale");
    let path = dir.join("a.b2frame");
    let mut s = SChunk::new(
        CS,
        cparams(),
        DParams::default(),
        storage(Some(&path), true),
    )
    .unwrap();
    s.append_buffer(&data(1, CS)).unwrap();
    drop(s);
    // A process that has exited, and one that is alive (pid 1).
    let mut child = std::process::Command::new("true").spawn().unwrap();
    let dead = child.id();
    child.wait().unwrap();
    let stale = dir.join(format!("a.b2frame.tmp-{dead}"));
    let live = dir.join("a.b2frame.tmp-1");
    let other = dir.join("b.b2frame.tmp-99999999");
    for p in [&stale, &live, &other] {
        std::fs::write(p, b"partial frame").unwrap();
    }
    SChunk::open(&path, Mode::Read).unwrap();
    assert!(stale.exists(), "mode r leaves the directory alone");
    let s = SChunk::open(&path, Mode::Append).unwrap();
    assert_eq!(s.decompress_chunk(0).unwrap(), data(1, CS));
    assert!(!stale.exists());
    assert!(live.exists());
    assert!(other.exists());
}

/// Whole chunks of `nblocks` blocks of 1 KiB, in a contiguous file, with `filters` in the last
/// slot; returns the path and the chunks.
fn many_blocks_file(name: &str, filter: Filter, nblocks: usize) -> (PathBuf, Vec<Vec<u8>>) {
    let dir = tmpdir(name);
    let path = dir.join("a.b2frame");
    let cs = nblocks * 1024;
    let cp = CParams {
        blocksize: 1024,
        filters: Filter::last_slot(filter),
        ..cparams()
    };
    let mut s = SChunk::new(cs, cp, DParams::default(), storage(Some(&path), true)).unwrap();
    let chunks: Vec<Vec<u8>> = (0..3).map(|k| data(k, cs)).collect();
    for c in &chunks {
        s.append_buffer(c).unwrap();
    }
    (path, chunks)
}

#[test]
fn a_few_blocks_are_read_alone_and_decode_as_the_whole_chunk() {
    for filter in [Filter::Shuffle, Filter::Delta] {
        let (path, chunks) = many_blocks_file("blocks", filter, 32);
        for mmap in [false, true] {
            let opts = OpenOptions {
                mode: Mode::Read,
                mmap,
                ..OpenOptions::default()
            };
            let s = SChunk::open_with_options(&path, &opts).unwrap();
            for (n, want) in chunks.iter().enumerate() {
                // Few blocks (read alone from the file), then most of them (the whole chunk).
                for blocks in [vec![5], vec![0, 7, 8, 31], (0..20).collect::<Vec<_>>()] {
                    s.with_chunk_blocks(n, &blocks, |dec| {
                        let mut blk = vec![0u8; 1024];
                        for &b in &blocks {
                            dec.decode_range(b * 1024, &mut blk)?;
                            assert_eq!(blk, want[b * 1024..(b + 1) * 1024], "chunk {n} block {b}");
                        }
                        Ok(())
                    })
                    .unwrap();
                }
                // A block the read left out cannot be decoded (a whole chunk has them all).
                let partial = filter == Filter::Shuffle && !mmap;
                let got = s.with_chunk_blocks(n, &[5], |dec| {
                    let mut blk = vec![0u8; 1024];
                    dec.decode_range(6 * 1024, &mut blk)
                });
                assert_eq!(got.is_err(), partial, "filter {filter:?} mmap {mmap}");
                if let Err(e) = got {
                    assert_eq!(e.kind(), ErrorKind::InvalidArgument, "{e}");
                }
                // A block past the end: the whole chunk is read, and the decoder refuses it.
                let err = s
                    .with_chunk_blocks(n, &[1, 40], |dec| {
                        let mut blk = vec![0u8; 1024];
                        dec.decode_range(40 * 1024, &mut blk)
                    })
                    .unwrap_err();
                assert_eq!(err.kind(), ErrorKind::InvalidArgument, "{err}");
            }
        }
    }
}

#[test]
fn damaged_block_tables_are_errors_in_partial_reads() {
    let (path, _) = many_blocks_file("blocks-bad", Filter::Shuffle, 32);
    let bytes = std::fs::read(&path).unwrap();
    let s = SChunk::open(&path, Mode::Read).unwrap();
    let e = s.entry(1).unwrap();
    let hl = match &s.store {
        Store::Contiguous(c) => c.header_len(),
        _ => unreachable!(),
    };
    let at = hl + e.off as usize + v2::MAX_OVERHEAD + 4 * 5;
    drop(s);
    for bad in [-1i32, 0, i32::MAX] {
        let mut b = bytes.clone();
        b[at..at + 4].copy_from_slice(&bad.to_le_bytes());
        std::fs::write(&path, &b).unwrap();
        let s = SChunk::open(&path, Mode::Read).unwrap();
        let err = s.with_chunk_blocks(1, &[5], |_| Ok(())).unwrap_err();
        assert_eq!(err.kind(), ErrorKind::Corrupt, "{bad}: {err}");
    }
}
