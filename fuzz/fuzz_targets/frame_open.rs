//! Fuzzes the Blosc2 frame reader: a contiguous frame opened from its bytes (zero-copy), every
//! chunk read and decompressed, every metalayer and vlmeta entry read, and the frame written back
//! with `to_cframe` and opened again. Seed it with the fixtures:
//! `cargo fuzz run frame_open corpus/frame_open ../crates/ndpack/tests/data/frames`.
#![no_main]

use libfuzzer_sys::fuzz_target;
use ndpack::blosc::frame::SChunk;
use ndpack::{Buffer, ErrorKind};

/// Chunks that declare more than this are not decompressed (a special chunk may legitimately
/// declare up to 2 GiB of zeros; allocating that is correct but slow).
const MAX_CHUNK: usize = 16 << 20;

fuzz_target!(|data: &[u8]| {
    let Ok(s) = SChunk::from_cframe(Buffer::from(data.to_vec()), false) else {
        return;
    };
    for i in 0..s.nchunks() {
        let chunk = s.get_chunk(i);
        let _ = s.chunk_special(i);
        let Ok(n) = s.chunk_nbytes(i) else { continue };
        if n > MAX_CHUNK {
            continue;
        }
        match s.decompress_chunk(i) {
            Ok(out) => {
                assert_eq!(out.len(), n);
                assert!(chunk.is_ok(), "chunk {i} decoded but get_chunk failed");
            }
            Err(e) => assert_ne!(e.kind(), ErrorKind::InvalidArgument, "{e}"),
        }
    }
    for name in s.meta_names() {
        assert!(s.meta_get(&name).is_some());
    }
    for name in s.vlmeta_names() {
        let _ = s.vlmeta_get(&name);
    }
    if s.nbytes() <= MAX_CHUNK as u64 {
        if let Ok(frame) = s.to_cframe() {
            let back = SChunk::from_cframe(Buffer::from(frame), false)
                .expect("a frame written by to_cframe opens");
            assert_eq!(back.nchunks(), s.nchunks());
            assert_eq!(back.nbytes(), s.nbytes());
        }
    }
});
