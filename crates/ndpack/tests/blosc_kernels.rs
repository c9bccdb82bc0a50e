//! The Blosc kernels (BloscLZ, shuffle, bitshuffle) against chunks written by c-blosc 1.x
//! (the c-blosc `compat/` fixtures and numcodecs) and c-blosc2 (python-blosc2).
//!
//! The chunk headers and block tables are parsed minimally here, only to reach the BloscLZ
//! streams; the real chunk readers live in `blosc::v1` / `blosc::v2`.

mod common;

use ndpack::blosc::{bitshuffle, blosclz, shuffle};
use std::path::{Path, PathBuf};

fn i32_at(buf: &[u8], pos: usize) -> i32 {
    i32::from_le_bytes(buf[pos..pos + 4].try_into().unwrap())
}

/// One compressed stream of a chunk: its filtered bytes' size and where it lies.
struct Stream {
    block: usize,
    index: usize,
    neblock: usize,
    data: Data,
}

enum Data {
    /// A BloscLZ stream: position and size.
    Lz(usize, usize),
    /// Stored raw at this position.
    Raw(usize),
    /// Every byte has this value (Blosc2 zero and run streams).
    Fill(u8),
}

struct Chunk {
    version: u8,
    flags: u8,
    typesize: usize,
    nbytes: usize,
    blocksize: usize,
    filters: Vec<u8>,
    streams: Vec<Stream>,
}

fn parse(c: &[u8]) -> Chunk {
    let version = c[0];
    let flags = c[2];
    let typesize = c[3] as usize;
    let nbytes = i32_at(c, 4) as usize;
    let blocksize = i32_at(c, 8) as usize;
    assert_eq!(i32_at(c, 12) as usize, c.len());
    assert_eq!(flags >> 5, 0, "not a BloscLZ chunk");
    assert_eq!(flags & 0x02, 0, "memcpyed chunk");
    let extended = version >= 3 && flags & 0x05 == 0x05;
    let header = if extended { 32 } else { 16 };
    let filters = if extended {
        c[16..22].to_vec()
    } else {
        Vec::new()
    };
    let nblocks = nbytes.div_ceil(blocksize);
    let mut streams = Vec::new();
    for b in 0..nblocks {
        let bsize = blocksize.min(nbytes - b * blocksize);
        let leftover = bsize < blocksize;
        let split = if version == 2 {
            flags & 0x10 == 0 && typesize <= 16 && blocksize / typesize >= 128 && !leftover
        } else {
            flags & 0x10 == 0 && !leftover
        };
        let nstreams = if split { typesize } else { 1 };
        let neblock = bsize / nstreams;
        let mut pos = i32_at(c, header + 4 * b) as usize;
        for index in 0..nstreams {
            let csize = i32_at(c, pos);
            pos += 4;
            let data = if csize < 0 {
                // Blosc2: a run of the byte -csize, then a token byte.
                assert_eq!(c[pos] & 1, 1, "unknown run token");
                pos += 1;
                Data::Fill((-csize) as u8)
            } else if csize == 0 {
                Data::Fill(0)
            } else if csize as usize == neblock {
                pos += neblock;
                Data::Raw(pos - neblock)
            } else {
                pos += csize as usize;
                Data::Lz(pos - csize as usize, csize as usize)
            };
            streams.push(Stream {
                block: b,
                index,
                neblock,
                data,
            });
        }
    }
    Chunk {
        version,
        flags,
        typesize,
        nbytes,
        blocksize,
        filters,
        streams,
    }
}

/// Decodes a BloscLZ chunk with the kernels under test.
fn decode(c: &[u8]) -> Vec<u8> {
    let chunk = parse(c);
    let mut out = vec![0u8; chunk.nbytes];
    let mut filtered = vec![0u8; chunk.blocksize];
    let nblocks = chunk.nbytes.div_ceil(chunk.blocksize);
    for b in 0..nblocks {
        let start = b * chunk.blocksize;
        let bsize = chunk.blocksize.min(chunk.nbytes - start);
        let filtered = &mut filtered[..bsize];
        for s in chunk.streams.iter().filter(|s| s.block == b) {
            let dst = &mut filtered[s.index * s.neblock..(s.index + 1) * s.neblock];
            fill(c, s, dst);
        }
        let dst = &mut out[start..start + bsize];
        let ts = chunk.typesize;
        if chunk.version == 2 {
            if chunk.flags & 0x01 != 0 {
                shuffle::unshuffle(ts, filtered, dst);
            } else if chunk.flags & 0x04 != 0 && bsize >= ts {
                bitshuffle::bitunshuffle_blosc1(ts, filtered, dst).unwrap();
            } else {
                dst.copy_from_slice(filtered);
            }
        } else {
            let mut cur = filtered.to_vec();
            for &f in chunk.filters.iter().rev() {
                let mut next = vec![0u8; bsize];
                match f {
                    0 => continue,
                    1 => shuffle::unshuffle(ts, &cur, &mut next),
                    2 => bitshuffle::bitunshuffle(ts, &cur, &mut next).unwrap(),
                    other => panic!("filter {other} not expected"),
                }
                cur = next;
            }
            dst.copy_from_slice(&cur);
        }
    }
    out
}

/// Decodes one stream into `dst` (`neblock` bytes); returns its stored size.
fn fill(c: &[u8], s: &Stream, dst: &mut [u8]) -> usize {
    match s.data {
        Data::Lz(pos, csize) => {
            let n = blosclz::decompress(&c[pos..pos + csize], dst).unwrap();
            assert_eq!(n, s.neblock);
            csize
        }
        Data::Raw(pos) => {
            dst.copy_from_slice(&c[pos..pos + s.neblock]);
            s.neblock
        }
        Data::Fill(b) => {
            dst.fill(b);
            5
        }
    }
}

fn files(dir: &Path, filter: impl Fn(&str) -> bool) -> Vec<PathBuf> {
    let mut v: Vec<PathBuf> = std::fs::read_dir(dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .map(|e| e.unwrap().path())
        .filter(|p| filter(p.file_name().unwrap().to_str().unwrap()))
        .collect();
    v.sort();
    v
}

#[test]
fn c_blosc_compat_fixtures_decode() {
    let dir = common::fixtures("c-blosc-compat");
    let want: Vec<u8> = (0..1_000_000i32).flat_map(|i| i.to_le_bytes()).collect();
    let found = files(&dir, |n| n.contains("blosclz") && n.ends_with(".cdata"));
    // 1.3.0, 1.7.0, 1.11.1, 1.14.0, 1.18.0 and 1.18.0 with bitshuffle.
    assert_eq!(found.len(), 6, "{found:?}");
    for path in found {
        let c = std::fs::read(&path).unwrap();
        assert!(decode(&c) == want, "{}", path.display());
    }
}

#[test]
fn numcodecs_and_blosc2_chunks_decode() {
    let dir = &common::data("blosc");
    let chunks = files(dir, |n| n.ends_with(".chunk"));
    assert!(chunks.len() >= 40, "{}", chunks.len());
    for path in chunks {
        let name = path.file_name().unwrap().to_str().unwrap();
        let raw =
            std::fs::read(dir.join(format!("{}.raw", name.split('.').next().unwrap()))).unwrap();
        let c = std::fs::read(&path).unwrap();
        assert!(decode(&c) == raw, "{name}");
    }
}

/// Re-encodes every stream of the c-blosc2 chunks with our encoder at the same clevel: the
/// total must stay within 2% of c-blosc2's (raw streams count their full size on both sides),
/// and every stream must round-trip. The streams are byte-identical to those of the golden
/// chunks (python-blosc2 4.14.1 / c-blosc2 3.3.5, whose BloscLZ encoder 3.6.1 keeps).
#[test]
fn encoder_ratio_is_close_to_c_blosc2() {
    let dir = &common::data("blosc");
    let mut report = Vec::new();
    let mut failed = false;
    let mut identical = true;
    for path in files(dir, |n| n.contains(".c2-") && n.ends_with(".chunk")) {
        let name = path.file_name().unwrap().to_str().unwrap().to_owned();
        let clevel: u8 = name.rsplit(['-', '.']).nth(1).unwrap().parse().unwrap();
        let c = std::fs::read(&path).unwrap();
        let chunk = parse(&c);
        let (mut theirs, mut ours) = (0usize, 0usize);
        for s in &chunk.streams {
            let mut plain = vec![0u8; s.neblock];
            let stored = fill(&c, s, &mut plain);
            if let Data::Fill(_) = s.data {
                // Runs are found before BloscLZ runs; count them the same on both sides.
                theirs += stored;
                ours += stored;
                continue;
            }
            theirs += stored;
            let mut packed = vec![0u8; s.neblock];
            let n = blosclz::compress(clevel, &plain, &mut packed);
            if n == 0 {
                ours += s.neblock;
            } else {
                let mut back = vec![0u8; s.neblock];
                assert_eq!(
                    blosclz::decompress(&packed[..n], &mut back).unwrap(),
                    s.neblock
                );
                assert!(
                    back == plain,
                    "{name}: stream {} does not round-trip",
                    s.index
                );
                if let Data::Lz(pos, csize) = s.data {
                    identical &= packed[..n] == c[pos..pos + csize];
                }
                ours += n;
            }
        }
        let ok = ours as f64 <= theirs as f64 * 1.02;
        report.push(format!(
            "{name}: c-blosc2 {theirs}, ndpack {ours}{}",
            if ok { "" } else { "  <-- over 2%" }
        ));
        failed |= !ok;
    }
    let report = report.join("\n");
    println!("{report}");
    assert!(!failed, "{report}");
    // The encoder follows c-blosc2 3.3.5's BloscLZ heuristics exactly.
    assert!(
        identical,
        "streams differ from c-blosc2 3.3.5's golden chunks"
    );
}

/// A minimal Blosc1 chunk writer on top of the kernels under test (BloscLZ, `shuffle` 1 =
/// byte shuffle, 2 = bitshuffle), with c-blosc 1.x's split rule.
fn write_blosc1(raw: &[u8], typesize: usize, blocksize: usize, clevel: u8, shuffle: u8) -> Vec<u8> {
    let nbytes = raw.len();
    let nblocks = nbytes.div_ceil(blocksize);
    let split = typesize <= 16 && blocksize / typesize >= 128;
    let mut flags = match shuffle {
        1 => 0x01,
        2 => 0x04,
        _ => 0x00,
    };
    if !split {
        flags |= 0x10;
    }
    let mut c = vec![2u8, 1, flags, typesize as u8];
    c.extend_from_slice(&(nbytes as i32).to_le_bytes());
    c.extend_from_slice(&(blocksize as i32).to_le_bytes());
    c.extend_from_slice(&[0; 4]);
    c.resize(16 + 4 * nblocks, 0);
    for b in 0..nblocks {
        let start = 16 + 4 * b;
        let pos = c.len() as i32;
        c[start..start + 4].copy_from_slice(&pos.to_le_bytes());
        let block = &raw[b * blocksize..nbytes.min((b + 1) * blocksize)];
        let mut filtered = vec![0u8; block.len()];
        match shuffle {
            1 => shuffle::shuffle(typesize, block, &mut filtered),
            2 if block.len() >= typesize => {
                bitshuffle::bitshuffle_blosc1(typesize, block, &mut filtered).unwrap()
            }
            _ => filtered.copy_from_slice(block),
        }
        let leftover = block.len() < blocksize;
        let nstreams = if split && !leftover { typesize } else { 1 };
        for stream in filtered.chunks(block.len() / nstreams) {
            let mut packed = vec![0u8; stream.len()];
            let n = blosclz::compress(clevel, stream, &mut packed);
            if n == 0 {
                c.extend_from_slice(&(stream.len() as i32).to_le_bytes());
                c.extend_from_slice(stream);
            } else {
                c.extend_from_slice(&(n as i32).to_le_bytes());
                c.extend_from_slice(&packed[..n]);
            }
        }
    }
    let cbytes = c.len() as i32;
    c[12..16].copy_from_slice(&cbytes.to_le_bytes());
    c
}

/// Chunks made with our encoder decode with our kernels. With `NDPACK_BLOSC_DUMP=<dir>` they
/// are also written there, for `tests/data/blosc/check_encoder.py` to decode with numcodecs
/// (c-blosc 1.x) and python-blosc2 (c-blosc2).
#[test]
fn chunks_from_our_encoder_decode() {
    let dump = std::env::var_os("NDPACK_BLOSC_DUMP").map(PathBuf::from);
    let dir = &common::data("blosc");
    let mut count = 0;
    for (name, ts) in [
        ("smooth-f4", 4),
        ("noisy-f4", 4),
        ("ramp-i8", 8),
        ("odd-u1x3", 3),
    ] {
        let raw = std::fs::read(dir.join(format!("{name}.raw"))).unwrap();
        let whole = raw.len() / ts * ts;
        for (blocksize, label) in [(whole, "oneblock"), (16_384 / ts * ts, "blocks")] {
            for shuffle in 0..3u8 {
                for clevel in [1u8, 5, 9] {
                    let c = write_blosc1(&raw, ts, blocksize, clevel, shuffle);
                    assert!(decode(&c) == raw, "{name} {label} {shuffle} {clevel}");
                    if let Some(d) = &dump {
                        let file = format!("{name}.{label}-s{shuffle}-{clevel}.blosc1");
                        std::fs::create_dir_all(d).unwrap();
                        std::fs::write(d.join(file), &c).unwrap();
                    }
                    count += 1;
                }
            }
        }
    }
    assert_eq!(count, 72);
}

/// Our Blosc1 encoder (c-blosc 1.x's BloscLZ heuristics) gives numcodecs' bytes exactly: every
/// `.c1-<filter>-<clevel>.chunk` (numcodecs' Blosc on `<name>.raw`) is re-encoded with the same
/// settings and compared byte for byte (the header included, so the block size and split
/// decisions agree too).
#[test]
fn blosc1_encoder_gives_numcodecs_bytes() {
    use ndpack::blosc::v1::{self, Options, Shuffle};
    use ndpack::blosc::Compressor;
    let dir = &common::data("blosc");
    let chunks = files(dir, |n| n.contains(".c1-") && n.ends_with(".chunk"));
    assert!(chunks.len() >= 15, "{}", chunks.len());
    for path in chunks {
        let name = path.file_name().unwrap().to_str().unwrap();
        let (base, rest) = name.split_once(".c1-").unwrap();
        let mut parts = rest.trim_end_matches(".chunk").split('-');
        let shuffle = match parts.next().unwrap() {
            "noshuffle" => Shuffle::NoShuffle,
            "shuffle" => Shuffle::Shuffle,
            "bitshuffle" => Shuffle::BitShuffle,
            other => panic!("{name}: filter {other}"),
        };
        let clevel: u8 = parts.next().unwrap().parse().unwrap();
        let raw = std::fs::read(dir.join(format!("{base}.raw"))).unwrap();
        let want = std::fs::read(&path).unwrap();
        let opts = Options {
            compressor: Compressor::BloscLz,
            clevel,
            shuffle,
            typesize: usize::from(want[3]),
            blocksize: 0,
        };
        let got = v1::compress(&raw, &opts).unwrap();
        assert!(
            got == want,
            "{name}: {} bytes, numcodecs 0.16.6 (c-blosc 1.21) {}",
            got.len(),
            want.len()
        );
    }
}
