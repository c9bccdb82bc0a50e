//! Tests of the parallel sparse write protocol: many threads writing whole chunks, partial
//! chunks under the per-chunk lock, special chunks, a writer killed mid-way, the commit's byte
//! counts against a frame written serially, and frames the protocol refuses.

use std::path::{Path, PathBuf};

use super::super::{CParams, DParams, Mode, SChunk, Special, Storage};
use super::*;
use crate::blosc::Compressor;
use crate::error::ErrorKind;

const TS: usize = 4;
const CS: usize = 4000;

fn tmpdir(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("ndpack-parallel-{}-{name}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
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

/// A sparse frame of `n` chunks of CS bytes (the last `last` bytes), all zero specials.
fn create(path: &Path, n: usize, last: usize) -> SChunk {
    let mut s = SChunk::new(
        CS,
        cparams(),
        DParams::default(),
        Storage {
            urlpath: Some(path.to_path_buf()),
            contiguous: false,
            mode: Mode::Write,
            ..Storage::default()
        },
    )
    .unwrap();
    s.vlmeta_set("note", b"\xa5hello").unwrap();
    s.fill_special(((n - 1) * CS + last) / TS, Special::Zeros)
        .unwrap();
    s
}

fn names(dir: &Path) -> Vec<String> {
    let mut v: Vec<String> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    v.sort();
    v
}

#[test]
fn threads_write_whole_chunks_and_the_commit_matches_a_serial_frame() {
    let dir = tmpdir("whole");
    let n = 24;
    let last = 1200;
    drop(create(&dir, n, last));
    let w = SparseWriter::open(&dir).unwrap();
    let want: Vec<Vec<u8>> = (0..n)
        .map(|i| data(i as u32, if i + 1 == n { last } else { CS }))
        .collect();
    std::thread::scope(|sc| {
        for t in 0..4 {
            let (w, want) = (&w, &want);
            sc.spawn(move || {
                for i in (t..n).step_by(4) {
                    // Chunk 5 stays unwritten; chunk 7 is written as all zeros.
                    if i == 5 {
                        continue;
                    }
                    let d = if i == 7 { vec![0; CS] } else { want[i].clone() };
                    w.write_buffer(i, &d).unwrap();
                }
            });
        }
    });
    // Before the commit the index is the old one.
    let before = SChunk::open(&dir, Mode::Read).unwrap();
    assert_eq!(before.decompress_chunk(3).unwrap(), vec![0; CS]);
    // The writers read their own files.
    assert_eq!(v2::decompress(&w.read_chunk(3).unwrap()).unwrap(), want[3]);
    let sum = commit_sparse_writes(&dir, false).unwrap();
    assert_eq!(sum.nchunks, n);
    assert_eq!(sum.special, 2, "{sum:?}");
    let s = SChunk::open(&dir, Mode::Read).unwrap();
    let mut model = want.clone();
    model[5] = vec![0; CS];
    model[7] = vec![0; CS];
    for (i, m) in model.iter().enumerate() {
        assert_eq!(&s.decompress_chunk(i).unwrap(), m, "chunk {i}");
    }
    assert_eq!(s.chunk_special(5).unwrap(), Some(Special::Zeros));
    assert_eq!(s.chunk_special(7).unwrap(), Some(Special::Zeros));
    assert_eq!(s.vlmeta_get("note").unwrap().unwrap(), b"\xa5hello");
    // Header byte counts equal those of the same chunks written the ordinary way.
    let serial_dir = tmpdir("whole-serial");
    let mut serial = create(&serial_dir, n, last);
    for (i, m) in model.iter().enumerate() {
        if i != 5 && i != 7 {
            serial
                .update_chunk(i, &v2::compress(m, &cparams()).unwrap())
                .unwrap();
        }
    }
    assert_eq!(s.cbytes(), serial.cbytes());
    assert_eq!(s.cbytes(), sum.cbytes);
    assert_eq!(s.nbytes(), serial.nbytes());
    let files: u64 = names(&dir)
        .iter()
        .filter(|n| n.ends_with(".chunk"))
        .map(|n| std::fs::metadata(dir.join(n)).unwrap().len())
        .sum();
    assert_eq!(files, s.cbytes());
    assert!(!names(&dir).contains(&format!("{:08X}.chunk", 7)));
    assert!(names(&dir).iter().all(|n| !n.contains(".tmp-")));
    // The index holds the header and vlmeta ndpack writes for the same state (the file ids
    // differ: the serial frame numbers its files in the order written).
    drop(serial);
    let a = std::fs::read(dir.join(INDEX)).unwrap();
    let b = std::fs::read(serial_dir.join(INDEX)).unwrap();
    let (pa, pb) = (
        parse_frame(&Buffer::from_vec(a), 0, true).unwrap(),
        parse_frame(&Buffer::from_vec(b), 0, true).unwrap(),
    );
    assert_eq!(format!("{:?}", pa.header), format!("{:?}", pb.header));
    assert_eq!(pa.vlmeta, pb.vlmeta);
    let ids: Vec<i64> = pa.offsets.iter().map(|&o| o.max(-1)).collect();
    let mut want_ids: Vec<i64> = (0..n as i64).collect();
    want_ids[5] = -1;
    want_ids[7] = -1;
    assert_eq!(ids, want_ids);
    let _ = std::fs::remove_dir_all(&dir);
    let _ = std::fs::remove_dir_all(&serial_dir);
}

#[test]
fn special_chunks_are_stored_as_value_runs_then_made_special() {
    let dir = tmpdir("specials");
    drop(create(&dir, 3, CS));
    let w = SparseWriter::open(&dir).unwrap();
    w.write_chunk(0, &v2::zeros_chunk(CS, TS, 0).unwrap())
        .unwrap();
    w.write_chunk(1, &v2::nans_chunk(CS, TS, 0).unwrap())
        .unwrap();
    w.write_chunk(2, &v2::repeat_chunk(CS, &7u32.to_le_bytes(), CS).unwrap())
        .unwrap();
    for i in 0..3 {
        let bytes = std::fs::read(dir.join(chunk_name(i))).unwrap();
        let info = v2::chunk_info(&bytes).unwrap();
        assert_eq!(info.special, SPECIAL_VALUE, "chunk file {i}");
        assert_eq!(bytes.len(), MAX_OVERHEAD + TS);
    }
    let sum = commit_sparse_writes(&dir, false).unwrap();
    assert_eq!((sum.stored, sum.special), (2, 1));
    let s = SChunk::open(&dir, Mode::Read).unwrap();
    assert_eq!(s.chunk_special(0).unwrap(), Some(Special::Zeros));
    let nan = s.decompress_chunk(1).unwrap();
    assert!(nan
        .chunks_exact(4)
        .all(|b| f32::from_le_bytes(b.try_into().unwrap()).is_nan()));
    assert_eq!(
        s.chunk_special(2).unwrap(),
        Some(Special::Value(7u32.to_le_bytes().to_vec()))
    );
    // Wrong sizes are refused.
    let e = w.write_buffer(0, &[0; 8]).unwrap_err();
    assert_eq!(e.kind(), ErrorKind::InvalidArgument);
    let e = w.write_buffer(3, &[0; CS]).unwrap_err();
    assert_eq!(e.kind(), ErrorKind::InvalidArgument);
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn partial_writes_from_many_threads_keep_every_item() {
    let dir = tmpdir("partial");
    drop(create(&dir, 2, CS));
    let w = SparseWriter::open(&dir).unwrap();
    // Eight threads each set their own items of chunk 1, one read-modify-write at a time.
    std::thread::scope(|sc| {
        for t in 0..8usize {
            let w = &w;
            sc.spawn(move || {
                for k in 0..25usize {
                    let item = t + 8 * k;
                    w.update_chunk(1, |raw| {
                        raw[item * TS..item * TS + TS]
                            .copy_from_slice(&(item as u32 + 1).to_le_bytes());
                        Ok(())
                    })
                    .unwrap();
                }
            });
        }
    });
    commit_sparse_writes(&dir, false).unwrap();
    let s = SChunk::open(&dir, Mode::Read).unwrap();
    let got = s.decompress_chunk(1).unwrap();
    for item in 0..CS / TS {
        let v = u32::from_le_bytes(got[item * TS..item * TS + TS].try_into().unwrap());
        assert_eq!(
            v,
            if item < 200 { item as u32 + 1 } else { 0 },
            "item {item}"
        );
    }
    assert!(names(&dir).iter().all(|n| !n.ends_with(".lock")));
    let _ = std::fs::remove_dir_all(&dir);
}

/// A writer process killed (SIGKILL) in the middle of its writes: the frame still opens,
/// a commit keeps what it finished, and a rerun of the writes plus a commit is exact.
#[cfg(unix)]
#[test]
fn a_killed_writer_then_a_rerun_and_commit_is_exact() {
    let dir = tmpdir("killed");
    let n = 64;
    drop(create(&dir, n, CS));
    let want: Vec<Vec<u8>> = (0..n).map(|i| data(i as u32 + 3, CS)).collect();
    // SAFETY: the child only writes files through `SparseWriter` on this thread and is
    // killed or leaves by `_exit`.
    let pid = unsafe { libc::fork() };
    assert!(pid >= 0);
    if pid == 0 {
        let w = SparseWriter::open(&dir).unwrap();
        loop {
            for (i, d) in want.iter().enumerate() {
                let _ = w.write_buffer(i, d);
            }
        }
    }
    let start = std::time::Instant::now();
    while names(&dir).iter().filter(|n| n.ends_with(".chunk")).count() < n / 2 {
        assert!(
            start.elapsed().as_secs() < 60,
            "the writer made no progress"
        );
        std::thread::sleep(std::time::Duration::from_millis(1));
    }
    // SAFETY: kills and reaps our own child.
    unsafe {
        libc::kill(pid, libc::SIGKILL);
        let mut status = 0;
        libc::waitpid(pid, &mut status, 0);
    }
    let s = SChunk::open(&dir, Mode::Read).unwrap();
    assert_eq!(s.nchunks(), n);
    drop(s);
    // A commit now keeps every chunk finished, none in part.
    commit_sparse_writes(&dir, false).unwrap();
    let s = SChunk::open(&dir, Mode::Read).unwrap();
    for (i, d) in want.iter().enumerate() {
        let got = s.decompress_chunk(i).unwrap();
        assert!(got == *d || got == vec![0; CS], "chunk {i} holds neither");
    }
    drop(s);
    // The rerun, then the commit.
    let w = SparseWriter::open(&dir).unwrap();
    for (i, d) in want.iter().enumerate() {
        w.write_buffer(i, d).unwrap();
    }
    let sum = commit_sparse_writes(&dir, false).unwrap();
    assert_eq!(sum.stored, n);
    let s = SChunk::open(&dir, Mode::Read).unwrap();
    for (i, d) in want.iter().enumerate() {
        assert_eq!(&s.decompress_chunk(i).unwrap(), d, "chunk {i}");
    }
    assert!(names(&dir).iter().all(|n| !n.contains(".tmp-")));
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn frames_the_protocol_cannot_write_are_refused() {
    // A stored chunk whose file id is not its position.
    let dir = tmpdir("refused");
    let mut s = create(&dir, 3, CS);
    s.update_chunk(2, &v2::compress(&data(1, CS), &cparams()).unwrap())
        .unwrap();
    drop(s);
    assert!(dir.join(chunk_name(0)).exists(), "{:?}", names(&dir));
    let e = SparseWriter::open(&dir).unwrap_err();
    assert_eq!(e.kind(), ErrorKind::InvalidArgument);
    let e = commit_sparse_writes(&dir, false).unwrap_err();
    assert_eq!(e.kind(), ErrorKind::InvalidArgument);
    // A contiguous file.
    let file = tmpdir("refused-file");
    std::fs::write(&file, b"x").unwrap();
    assert!(SparseWriter::open(&file).is_err());
    let _ = std::fs::remove_file(&file);
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn a_missing_or_damaged_chunk_file_is_an_error_at_commit() {
    let dir = tmpdir("damaged");
    drop(create(&dir, 3, CS));
    let w = SparseWriter::open(&dir).unwrap();
    w.write_buffer(1, &data(2, CS)).unwrap();
    commit_sparse_writes(&dir, false).unwrap();
    std::fs::write(dir.join(chunk_name(1)), b"short").unwrap();
    assert!(commit_sparse_writes(&dir, false).is_err());
    std::fs::remove_file(dir.join(chunk_name(1))).unwrap();
    let e = commit_sparse_writes(&dir, false).unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Corrupt);
    let _ = std::fs::remove_dir_all(&dir);
}

#[cfg(unix)]
#[test]
fn the_commit_bumps_the_b2lock_generation() {
    let dir = tmpdir("b2lock");
    drop(create(&dir, 2, CS));
    std::fs::write(dir.join(".b2lock"), [0u8; 16]).unwrap();
    commit_sparse_writes(&dir, false).unwrap();
    commit_sparse_writes(&dir, false).unwrap();
    let b = std::fs::read(dir.join(".b2lock")).unwrap();
    assert_eq!(u64::from_ne_bytes(b[8..16].try_into().unwrap()), 2);
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn make_identity_moves_inserted_chunks_home_and_removes_strays() {
    let dir = tmpdir("identity");
    let mut s = create(&dir, 4, CS);
    s.update_chunk(0, &v2::compress(&data(1, CS), &cparams()).unwrap())
        .unwrap();
    s.update_chunk(2, &v2::compress(&data(3, CS), &cparams()).unwrap())
        .unwrap();
    // Chunks inserted in the middle: the stored chunks now sit in files of other positions.
    s.insert_chunk(0, &v2::zeros_chunk(CS, TS, 0).unwrap())
        .unwrap();
    s.insert_chunk(2, &v2::compress(&data(9, CS), &cparams()).unwrap())
        .unwrap();
    drop(s);
    let want: Vec<Vec<u8>> = {
        let s = SChunk::open(&dir, Mode::Read).unwrap();
        (0..6).map(|i| s.decompress_chunk(i).unwrap()).collect()
    };
    assert!(SparseWriter::open(&dir).is_err());
    // A stray file at a special position (as a crash would leave) and a stale temporary.
    std::fs::write(dir.join(chunk_name(5)), b"stray").unwrap();
    std::fs::write(dir.join(".00000003.chunk.tmp-identity-1"), b"tmp").unwrap();
    let moved = make_identity(&dir, false).unwrap();
    assert!(moved >= 2, "{moved} moved");
    SparseWriter::open(&dir).unwrap();
    let s = SChunk::open(&dir, Mode::Read).unwrap();
    for (i, w) in want.iter().enumerate() {
        assert_eq!(&s.decompress_chunk(i).unwrap(), w, "chunk {i}");
    }
    let ids: Vec<i64> = s.entries.iter().map(|e| e.off).collect();
    let files: Vec<String> = names(&dir)
        .into_iter()
        .filter(|n| n.ends_with(".chunk") || n.contains(".tmp-"))
        .collect();
    let want_files: Vec<String> = ids
        .iter()
        .filter(|&&o| o >= 0)
        .map(|&o| chunk_name(o))
        .collect();
    assert_eq!(files, want_files);
    assert!(ids.iter().enumerate().all(|(i, &o)| o < 0 || o == i as i64));
    // A second run moves nothing; the commit of the protocol accepts the frame.
    assert_eq!(make_identity(&dir, false).unwrap(), 0);
    commit_sparse_writes(&dir, false).unwrap();
    let e = make_identity(dir.join(INDEX), false).unwrap_err();
    assert!(
        matches!(
            e.kind(),
            ErrorKind::InvalidArgument | ErrorKind::Io | ErrorKind::Corrupt
        ),
        "{e}"
    );
    let _ = std::fs::remove_dir_all(&dir);
}
