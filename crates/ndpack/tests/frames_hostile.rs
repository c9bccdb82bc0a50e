//! Hostile frames: every prefix and many bit flips of the python-blosc2 and caterva fixtures
//! (`tests/data/frames`), frames crafted to lie (huge counts, offsets past the end, negative
//! sizes, lengths that overlap, a 10^9-entry metalayer map), and sparse directories with missing
//! or short chunk files. Each is opened, every chunk and vlmeta entry read, and each failure must
//! be an error of a kind that names bad input (never a panic); a counting allocator checks that
//! no input makes ndpack ask for a huge block of memory.

mod common;

use std::fs;
use std::path::{Path, PathBuf};

use ndpack::blosc::frame::{Mode, SChunk};
use ndpack::blosc::v2;
use ndpack::{Buffer, Error, ErrorKind};

#[global_allocator]
static ALLOCATOR: common::alloc::Counting = common::alloc::Counting;

/// No hostile input may make ndpack ask for more than this at once. (A frame may legitimately
/// declare up to `MAX_CHUNKS` chunks, whose index takes a few hundred MiB: the crafted frames
/// here declare far fewer.)
const ALLOC_LIMIT: usize = 64 << 20;

/// Chunks declaring more than this are not decompressed (a special chunk may declare up to
/// 2 GiB of zeros; allocating that is legitimate).
const MAX_DECODE: usize = 16 << 20;

/// The kinds that name bad input.
const BAD_INPUT: [ErrorKind; 4] = [
    ErrorKind::Corrupt,
    ErrorKind::Truncated,
    ErrorKind::TooLarge,
    ErrorKind::Unsupported,
];

fn frames() -> PathBuf {
    common::data("frames")
}

fn fixture(name: &str) -> Vec<u8> {
    fs::read(frames().join(name)).unwrap()
}

/// Reads everything `s` holds; returns every error met (reading goes on after one).
fn read_all(s: &SChunk) -> Vec<Error> {
    let mut errors = Vec::new();
    let mut keep = |r: Result<(), Error>| {
        if let Err(e) = r {
            errors.push(e);
        }
    };
    for i in 0..s.nchunks() {
        keep(s.get_chunk(i).map(drop));
        keep(s.chunk_special(i).map(drop));
        match s.chunk_nbytes(i) {
            Ok(n) if n <= MAX_DECODE => keep(s.decompress_chunk(i).map(drop)),
            Ok(_) => {}
            Err(e) => keep(Err(e)),
        }
    }
    for name in s.meta_names() {
        assert!(s.meta_get(&name).is_some(), "listed metalayer {name:?}");
    }
    for name in s.vlmeta_names() {
        keep(s.vlmeta_get(&name).map(drop));
    }
    let ts = s.typesize().max(1);
    let nitems = (s.nbytes() / ts as u64) as usize;
    if nitems > 0 && s.nbytes() <= MAX_DECODE as u64 {
        let mut out = vec![0u8; nitems * ts];
        keep(s.get_slice(0, nitems, &mut out));
    }
    errors
}

/// Opens `bytes` as a frame (zero-copy) and reads everything; every error of the open or of the
/// reads, or none.
fn outcome(bytes: &[u8]) -> Vec<Error> {
    match SChunk::from_cframe(Buffer::from(bytes.to_vec()), false) {
        Err(e) => vec![e],
        Ok(s) => read_all(&s),
    }
}

/// Every error is one of `kinds`.
fn check_kinds(errors: &[Error], kinds: &[ErrorKind], what: &str) {
    for e in errors {
        assert!(
            kinds.contains(&e.kind()),
            "{what}: {:?} error: {e}",
            e.kind()
        );
    }
    let largest = common::alloc::largest();
    assert!(
        largest <= ALLOC_LIMIT,
        "{what}: an allocation of {largest} bytes"
    );
}

/// `bytes` must fail (at the open or at a read) with one of `kinds`.
fn must_fail(bytes: &[u8], kinds: &[ErrorKind], what: &str) {
    let errors = outcome(bytes);
    assert!(!errors.is_empty(), "{what}: no error");
    check_kinds(&errors, kinds, what);
}

// ---- the layout of a contiguous frame, for crafting ----

fn be_u32(b: &[u8], at: usize) -> u32 {
    u32::from_be_bytes(b[at..at + 4].try_into().unwrap())
}

fn be_i64(b: &[u8], at: usize) -> i64 {
    i64::from_be_bytes(b[at..at + 8].try_into().unwrap())
}

fn put_be_i32(b: &mut [u8], at: usize, v: i32) {
    b[at..at + 4].copy_from_slice(&v.to_be_bytes());
}

fn put_be_i64(b: &mut [u8], at: usize, v: i64) {
    b[at..at + 8].copy_from_slice(&v.to_be_bytes());
}

const HEADER_LEN_AT: usize = 11;
const FRAME_LEN_AT: usize = 16;
const NBYTES_AT: usize = 30;
const CBYTES_AT: usize = 39;
const TYPESIZE_AT: usize = 48;
const BLOCKSIZE_AT: usize = 53;
const CHUNKSIZE_AT: usize = 58;

/// Where the parts of a contiguous frame are.
struct Layout2 {
    header_len: usize,
    frame_len: usize,
    cbytes: usize,
    trailer_at: usize,
}

fn layout(f: &[u8]) -> Layout2 {
    let header_len = be_u32(f, HEADER_LEN_AT) as usize;
    let frame_len = be_i64(f, FRAME_LEN_AT) as usize;
    let cbytes = be_i64(f, CBYTES_AT) as usize;
    let tlen = be_u32(f, frame_len - 22) as usize;
    Layout2 {
        header_len,
        frame_len,
        cbytes,
        trailer_at: frame_len - tlen,
    }
}

/// `f` with its offsets chunk replaced by a plain (memcpyed) one holding `offsets`, or by
/// `chunk` when given; `frame_len` is fixed up.
fn with_offsets_chunk(f: &[u8], chunk: &[u8]) -> Vec<u8> {
    let l = layout(f);
    let mut out = f[..l.header_len + l.cbytes].to_vec();
    out.extend_from_slice(chunk);
    out.extend_from_slice(&f[l.trailer_at..l.frame_len]);
    let n = out.len() as i64;
    put_be_i64(&mut out, FRAME_LEN_AT, n);
    out
}

fn offsets_chunk(offsets: &[i64]) -> Vec<u8> {
    let raw: Vec<u8> = offsets.iter().flat_map(|o| o.to_le_bytes()).collect();
    let params = v2::CParams {
        clevel: 0,
        typesize: 8,
        ..v2::CParams::default()
    };
    v2::compress(&raw, &params).unwrap()
}

fn with_offsets(f: &[u8], offsets: &[i64]) -> Vec<u8> {
    with_offsets_chunk(f, &offsets_chunk(offsets))
}

/// `f` with its trailer replaced by `trailer` (whose last 22 bytes hold its length field and
/// fingerprint); `frame_len` is fixed up.
fn with_trailer(f: &[u8], trailer: &[u8]) -> Vec<u8> {
    let l = layout(f);
    let mut out = f[..l.trailer_at].to_vec();
    out.extend_from_slice(trailer);
    let n = out.len() as i64;
    put_be_i64(&mut out, FRAME_LEN_AT, n);
    out
}

/// A trailer with a raw vlmeta index `index` (from its `de` byte) and values `values`.
fn trailer(index: &[u8], values: &[u8]) -> Vec<u8> {
    let mut t = vec![0x94, 0x01, 0x93, 0xcd];
    t.extend_from_slice(&((index.len() as u16).to_be_bytes()));
    t.extend_from_slice(index);
    t.extend_from_slice(values);
    let total = t.len() + 1 + 4 + 18;
    t.push(0xce);
    t.extend_from_slice(&(total as u32).to_be_bytes());
    t.push(0xd8);
    t.push(0);
    t.extend_from_slice(&[0; 16]);
    t
}

/// The decoded offsets of a fixture.
fn offsets_of(f: &[u8]) -> Vec<i64> {
    let l = layout(f);
    let chunk = &f[l.header_len + l.cbytes..l.trailer_at];
    v2::decompress(chunk)
        .unwrap()
        .chunks_exact(8)
        .map(|b| i64::from_le_bytes(b.try_into().unwrap()))
        .collect()
}

// ---- tests ----

const SAMPLES: [&str; 8] = [
    "c-zstd-shuffle.b2frame",
    "c-meta-vlmeta.b2frame",
    "c-specials.b2frame",
    "c-varlen.b2frame",
    "c-edited.b2frame",
    "c-lz4-bytedelta.b2frame",
    "nd-f4.b2nd",
    "cat-f4.caterva",
];

#[test]
fn the_samples_are_sound() {
    for name in SAMPLES {
        let errors = outcome(&fixture(name));
        assert!(errors.is_empty(), "{name}: {errors:?}");
    }
}

#[test]
fn every_prefix_is_an_error() {
    for name in SAMPLES {
        let f = fixture(name);
        for len in 0..f.len() {
            must_fail(
                &f[..len],
                &[ErrorKind::Truncated, ErrorKind::Corrupt],
                &format!("{name} cut to {len}"),
            );
        }
    }
}

#[test]
fn prefixes_of_files_fail_and_stay_as_they_are() {
    let tmp = temp_dir("prefix");
    for name in ["c-meta-vlmeta.b2frame", "c-specials.b2frame"] {
        let f = fixture(name);
        let p = tmp.join(name);
        for len in (0..f.len()).step_by(97).chain(f.len() - 30..f.len()) {
            fs::write(&p, &f[..len]).unwrap();
            for mode in [Mode::Read, Mode::Append] {
                let e = SChunk::open(&p, mode).err();
                let e = e.unwrap_or_else(|| panic!("{name} cut to {len} opens in {mode:?}"));
                check_kinds(
                    &[e],
                    &[ErrorKind::Truncated, ErrorKind::Corrupt],
                    &format!("{name} cut to {len}"),
                );
                assert!(
                    fs::read(&p).unwrap() == f[..len],
                    "{name} cut to {len}: changed"
                );
            }
        }
    }
    fs::remove_dir_all(&tmp).unwrap();
}

/// A xorshift generator, so that the flipped bits are the same on every run.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }
    fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }
}

#[test]
fn bit_flips_give_errors_of_bad_input_or_a_frame() {
    let mut rng = Rng(0x9e37_79b9_7f4a_7c15);
    let mut failed = 0;
    let mut cases = 0;
    for name in SAMPLES {
        let f = fixture(name);
        let l = layout(&f);
        // Every bit of the header, of the offsets chunk and of the trailer; then random bits.
        let mut bits: Vec<usize> = (0..l.header_len * 8).collect();
        bits.extend((l.header_len + l.cbytes) * 8..l.frame_len * 8);
        bits.extend((0..1500).map(|_| rng.below(f.len() * 8)));
        for bit in bits {
            let mut g = f.clone();
            g[bit / 8] ^= 1 << (bit % 8);
            let errors = outcome(&g);
            check_kinds(&errors, &BAD_INPUT, &format!("{name} bit {bit}"));
            // The magic, the markers, header_len and frame_len: every flip is caught (byte 0,
            // the msgpack array length, is not checked by c-blosc2 either).
            assert!(
                !(8..24 * 8).contains(&bit) || !errors.is_empty(),
                "{name}: bit {bit} flipped, no error"
            );
            failed += usize::from(!errors.is_empty());
            cases += 1;
        }
        // Whole bytes of the header set to the extremes.
        for at in 0..l.header_len {
            for v in [0x00, 0x7f, 0x80, 0xff] {
                let mut g = f.clone();
                g[at] = v;
                check_kinds(
                    &outcome(&g),
                    &BAD_INPUT,
                    &format!("{name} byte {at} = {v:#x}"),
                );
            }
        }
    }
    // Many flips are caught; the rest hit bytes that no reader checks (compression parameters
    // of new chunks, metalayer and vlmeta contents, the unused fingerprint) or a compressed
    // stream that decodes to other bytes (Blosc chunks carry no checksum).
    assert!(failed * 4 > cases, "{failed} of {cases} flips failed");
}

#[test]
fn crafted_header_fields_are_rejected() {
    let f = fixture("c-meta-vlmeta.b2frame");
    let l = layout(&f);
    let file = f.len() as i64;
    let patch_i64 = |at: usize, v: i64| {
        let mut g = f.clone();
        put_be_i64(&mut g, at, v);
        g
    };
    let patch_i32 = |at: usize, v: i32| {
        let mut g = f.clone();
        put_be_i32(&mut g, at, v);
        g
    };
    use ErrorKind::{Corrupt, TooLarge, Truncated};
    let cases: Vec<(&str, Vec<u8>, &[ErrorKind])> = vec![
        (
            "nbytes i64::MAX",
            patch_i64(NBYTES_AT, i64::MAX),
            &[TooLarge, Corrupt],
        ),
        (
            "nbytes 10^15",
            patch_i64(NBYTES_AT, 1_000_000_000_000_000),
            &[TooLarge, Corrupt],
        ),
        ("nbytes -1", patch_i64(NBYTES_AT, -1), &[Corrupt]),
        (
            "nbytes i64::MIN",
            patch_i64(NBYTES_AT, i64::MIN),
            &[Corrupt],
        ),
        (
            "nbytes one chunk more",
            patch_i64(NBYTES_AT, 12000),
            &[Corrupt],
        ),
        ("cbytes -5", patch_i64(CBYTES_AT, -5), &[Corrupt]),
        (
            "cbytes 10^15",
            patch_i64(CBYTES_AT, 1_000_000_000_000_000),
            &[Corrupt],
        ),
        (
            "cbytes past the trailer",
            patch_i64(CBYTES_AT, file),
            &[Corrupt],
        ),
        ("cbytes 0", patch_i64(CBYTES_AT, 0), &[Corrupt]),
        ("header_len -1", patch_i32(HEADER_LEN_AT, -1), &[Corrupt]),
        ("header_len 10", patch_i32(HEADER_LEN_AT, 10), &[Corrupt]),
        (
            "header_len > frame_len",
            patch_i32(HEADER_LEN_AT, file as i32 + 1),
            &[Corrupt, Truncated],
        ),
        (
            "header_len i32::MAX",
            patch_i32(HEADER_LEN_AT, i32::MAX),
            &[Corrupt, Truncated],
        ),
        (
            "header_len + 8",
            patch_i32(HEADER_LEN_AT, l.header_len as i32 + 8),
            &[Corrupt, Truncated],
        ),
        (
            "frame_len > file",
            patch_i64(FRAME_LEN_AT, file + 1),
            &[Truncated],
        ),
        (
            "frame_len u64::MAX",
            patch_i64(FRAME_LEN_AT, -1),
            &[Truncated, Corrupt],
        ),
        (
            "frame_len i64::MAX",
            patch_i64(FRAME_LEN_AT, i64::MAX),
            &[Truncated],
        ),
        (
            "frame_len = header_len",
            patch_i64(FRAME_LEN_AT, l.header_len as i64),
            &[Corrupt],
        ),
        ("frame_len 0", patch_i64(FRAME_LEN_AT, 0), &[Corrupt]),
        ("typesize 0", patch_i32(TYPESIZE_AT, 0), &[Corrupt]),
        ("typesize -4", patch_i32(TYPESIZE_AT, -4), &[Corrupt]),
        ("blocksize -1", patch_i32(BLOCKSIZE_AT, -1), &[Corrupt]),
        (
            "chunksize -4000",
            patch_i32(CHUNKSIZE_AT, -4000),
            &[Corrupt],
        ),
        (
            "chunksize 1",
            patch_i32(CHUNKSIZE_AT, 1),
            &[Corrupt, TooLarge],
        ),
    ];
    for (what, g, kinds) in cases {
        must_fail(&g, kinds, what);
    }
    // chunksize 1 with 10^12 bytes: 10^12 chunks declared.
    let mut g = patch_i32(CHUNKSIZE_AT, 1);
    put_be_i64(&mut g, NBYTES_AT, 1_000_000_000_000);
    must_fail(&g, &[TooLarge], "10^12 chunks");
    // Typesize above the 255 of a chunk header is fine in a frame header; a huge one is not
    // reason to allocate anything.
    check_kinds(
        &outcome(&patch_i32(TYPESIZE_AT, i32::MAX)),
        &BAD_INPUT,
        "typesize i32::MAX",
    );
}

#[test]
fn crafted_offsets_are_rejected() {
    let f = fixture("c-zstd-shuffle.b2frame");
    let l = layout(&f);
    let offs = offsets_of(&f);
    assert_eq!(offs.len(), 3);
    assert_eq!(
        outcome(&with_offsets(&f, &offs)).len(),
        0,
        "a plain offsets chunk reads"
    );
    let cb = l.cbytes as i64;
    use ErrorKind::{Corrupt, TooLarge, Truncated};
    let bad: Vec<(&str, Vec<i64>, &[ErrorKind])> = vec![
        (
            "past the end",
            vec![offs[0], 1_000_000_000_000, offs[2]],
            &[Corrupt],
        ),
        ("i64::MAX", vec![offs[0], i64::MAX, offs[2]], &[Corrupt]),
        (
            "into the offsets chunk",
            vec![offs[0], offs[1], cb],
            &[Corrupt],
        ),
        (
            "last bytes of the section",
            vec![offs[0], offs[1], cb - 40],
            &[Corrupt, Truncated],
        ),
        (
            "negative, no special",
            vec![offs[0], -1, offs[2]],
            &[Corrupt],
        ),
        (
            "negative, special 7",
            vec![offs[0], (0x87u64 << 56) as i64, offs[2]],
            &[Corrupt],
        ),
        (
            "inside a chunk",
            vec![offs[0], offs[1] + 17, offs[2]],
            &[Corrupt, Truncated],
        ),
        (
            "overlapping chunks",
            vec![offs[0], offs[0] + 32, offs[2]],
            &[Corrupt, Truncated],
        ),
        ("too few", vec![offs[0], offs[1]], &[Corrupt]),
        (
            "too many",
            vec![offs[0], offs[1], offs[2], offs[2]],
            &[Corrupt],
        ),
    ];
    for (what, o, kinds) in bad {
        must_fail(&with_offsets(&f, &o), kinds, what);
    }
    // Reordered and repeated offsets are valid (c-blosc2 writes both): the same chunks come back.
    let good = [
        vec![offs[2], offs[0], offs[1]],
        vec![offs[1], offs[1], offs[1]],
    ];
    for o in good {
        let g = with_offsets(&f, &o);
        let s = SChunk::from_cframe(Buffer::from(g), false).unwrap();
        let want = SChunk::from_cframe(Buffer::from(f.clone()), false).unwrap();
        for (i, &off) in o.iter().enumerate() {
            let j = offs.iter().position(|&x| x == off).unwrap();
            assert_eq!(
                s.decompress_chunk(i).unwrap(),
                want.decompress_chunk(j).unwrap()
            );
        }
    }
    // An offsets chunk that lies about its own size.
    let mut chunk = offsets_chunk(&offs);
    chunk[12..16].copy_from_slice(&1_000_000_000i32.to_le_bytes()); // cbytes
    must_fail(
        &with_offsets_chunk(&f, &chunk),
        &[Corrupt, Truncated],
        "offsets cbytes 10^9",
    );
    let mut chunk = offsets_chunk(&offs);
    chunk[4..8].copy_from_slice(&(i32::MAX - 7).to_le_bytes()); // nbytes
    must_fail(
        &with_offsets_chunk(&f, &chunk),
        &[Corrupt, Truncated, TooLarge],
        "offsets nbytes 2^31",
    );
    let mut chunk = offsets_chunk(&offs);
    chunk[4..8].copy_from_slice(&(-8i32).to_le_bytes());
    must_fail(
        &with_offsets_chunk(&f, &chunk),
        &[Corrupt, Truncated],
        "offsets nbytes -8",
    );
    // A special zero offsets chunk: every chunk at offset 0.
    let zero = v2::compress(
        &[0u8; 24],
        &v2::CParams {
            typesize: 8,
            ..v2::CParams::default()
        },
    )
    .unwrap();
    let g = with_offsets_chunk(&f, &zero);
    check_kinds(&outcome(&g), &BAD_INPUT, "zero offsets chunk");
}

#[test]
fn variable_frames_cannot_declare_huge_counts() {
    let f = fixture("c-varlen.b2frame");
    let offs = offsets_of(&f);
    assert_eq!(outcome(&with_offsets(&f, &offs)).len(), 0);
    // The chunk count of a variable frame comes from the offsets chunk: one that declares
    // 2^28 offsets in a few bytes (a zero chunk) must not make ndpack build that index.
    for n in [1usize << 28, 1 << 24, 1 << 20] {
        let mut chunk = v2::compress(
            &[0u8; 64],
            &v2::CParams {
                typesize: 8,
                ..v2::CParams::default()
            },
        )
        .unwrap();
        chunk[4..8].copy_from_slice(&((n * 8) as i32).to_le_bytes());
        must_fail(
            &with_offsets_chunk(&f, &chunk),
            &[ErrorKind::Corrupt, ErrorKind::TooLarge],
            &format!("{n} variable chunks"),
        );
    }
}

#[test]
fn crafted_trailers_are_rejected() {
    let f = fixture("c-meta-vlmeta.b2frame");
    let l = layout(&f);
    let n = f.len();
    use ErrorKind::{Corrupt, TooLarge, Truncated};
    let set_tlen = |v: u32| {
        let mut g = f.clone();
        g[n - 22..n - 18].copy_from_slice(&v.to_be_bytes());
        g
    };
    let cases: Vec<(&str, Vec<u8>, &[ErrorKind])> = vec![
        ("trailer_len 0", set_tlen(0), &[Corrupt]),
        ("trailer_len 24", set_tlen(24), &[Corrupt]),
        ("trailer_len = frame_len", set_tlen(n as u32), &[Corrupt]),
        ("trailer_len u32::MAX", set_tlen(u32::MAX), &[Corrupt]),
        (
            "trailer in the chunks",
            set_tlen((n - l.header_len - 10) as u32),
            &[Corrupt, Truncated],
        ),
        (
            "trailer overlaps the offsets",
            set_tlen((n - l.trailer_at + 8) as u32),
            &[Corrupt, Truncated],
        ),
        // 10^9 and 65535 vlmeta entries in a few bytes.
        (
            "vlmeta map32 10^9",
            with_trailer(&f, &trailer(&[0xdf, 0x3b, 0x9a, 0xca, 0x00], &[0xdc, 0, 0])),
            &[Corrupt, TooLarge],
        ),
        (
            "vlmeta 65535",
            with_trailer(&f, &trailer(&[0xde, 0xff, 0xff], &[0xdc, 0xff, 0xff])),
            &[TooLarge],
        ),
        (
            "vlmeta 8192, none there",
            with_trailer(&f, &trailer(&[0xde, 0x20, 0x00], &[0xdc, 0x20, 0x00])),
            &[Corrupt, Truncated],
        ),
    ];
    for (what, g, kinds) in cases {
        must_fail(&g, kinds, what);
    }
    // One entry whose value offset points back into the index (circular), before the trailer,
    // past it, or at a bin32 that runs past the end.
    let entry = |off: i32| {
        let mut idx = vec![0xde, 0x00, 0x01, 0xa1, b'v', 0xd2];
        idx.extend_from_slice(&off.to_be_bytes());
        idx
    };
    let vals = |len: u32| {
        let mut v = vec![0xdc, 0x00, 0x01, 0xc6];
        v.extend_from_slice(&len.to_be_bytes());
        v.extend_from_slice(&[0x05; 40]);
        v
    };
    // The index starts at byte 6 of the trailer and takes 10 bytes; the values follow, their
    // first bin32 at 16 + 3 (after `dc 00 01`).
    let good = with_trailer(&f, &trailer(&entry(19), &vals(40)));
    check_kinds(&outcome(&good), &BAD_INPUT, "one made-up vlmeta");
    let bad: Vec<(&str, Vec<u8>)> = vec![
        (
            "value at the index",
            with_trailer(&f, &trailer(&entry(6), &vals(40))),
        ),
        (
            "value at 0",
            with_trailer(&f, &trailer(&entry(0), &vals(40))),
        ),
        (
            "value offset -20",
            with_trailer(&f, &trailer(&entry(-20), &vals(40))),
        ),
        (
            "value offset past the end",
            with_trailer(&f, &trailer(&entry(100_000), &vals(40))),
        ),
        (
            "value into the length field",
            with_trailer(&f, &trailer(&entry(64), &vals(40))),
        ),
        (
            "bin32 of 4 GiB",
            with_trailer(&f, &trailer(&entry(19), &vals(u32::MAX))),
        ),
        (
            "bin32 one byte too long",
            with_trailer(&f, &trailer(&entry(19), &vals(41))),
        ),
        (
            "value at its length",
            with_trailer(&f, &trailer(&entry(20), &vals(40))),
        ),
    ];
    for (what, g) in bad {
        must_fail(&g, &[Corrupt, Truncated], what);
    }
    // A vlmeta value that is not a Blosc2 chunk: the frame opens, reading the entry fails.
    let s = SChunk::from_cframe(Buffer::from(good), false).unwrap();
    let e = s.vlmeta_get("v").unwrap_err();
    check_kinds(&[e], &BAD_INPUT, "vlmeta garbage");
}

#[test]
fn crafted_metalayers_are_rejected() {
    let f = fixture("c-meta-vlmeta.b2frame");
    let l = layout(&f);
    use ErrorKind::{Corrupt, TooLarge, Truncated};
    // The map starts at byte 91: `de <u16 n>`.
    assert_eq!(f[91], 0xde);
    let mut g = f.clone();
    g[91..94].copy_from_slice(&[0xde, 0xff, 0xff]);
    must_fail(&g, &[TooLarge, Corrupt], "65535 metalayers");
    let mut g = f.clone();
    g[92..94].copy_from_slice(&[0x00, 0x11]);
    must_fail(&g, &[TooLarge, Corrupt], "17 metalayers");
    let mut g = f.clone();
    g[92..94].copy_from_slice(&[0x00, 0x10]);
    must_fail(&g, &[Corrupt, Truncated], "16 metalayers, 3 there");
    // A map32 of 10^9 entries, spliced in (header_len and frame_len fixed up).
    let mut g = f[..91].to_vec();
    g.extend_from_slice(&[0xdf, 0x3b, 0x9a, 0xca, 0x00]);
    g.extend_from_slice(&f[94..]);
    put_be_i32(&mut g, HEADER_LEN_AT, l.header_len as i32 + 2);
    put_be_i64(&mut g, FRAME_LEN_AT, l.frame_len as i64 + 2);
    must_fail(&g, &[Corrupt, TooLarge], "10^9 metalayers");
    // The first entry's value offset (after `a5 first d2`) pointing at the header start, into
    // the entries, past header_len, and at a bin32 whose length runs past header_len.
    let at = 94 + 1 + 5 + 1;
    assert_eq!(&f[94..100], b"\xa5first");
    let first = be_u32(&f, at) as usize;
    for (what, off) in [
        ("at 0", 0i32),
        ("at the map", 91),
        ("past header_len", l.header_len as i32 + 1),
        ("negative", -1),
    ] {
        let mut g = f.clone();
        put_be_i32(&mut g, at, off);
        must_fail(&g, &[Corrupt, Truncated], what);
    }
    let mut g = f.clone();
    g[first + 1..first + 5].copy_from_slice(&u32::MAX.to_be_bytes());
    must_fail(&g, &[Corrupt, Truncated], "metalayer bin32 of 4 GiB");
}

#[test]
fn chunks_that_lie_about_their_size_are_rejected() {
    let f = fixture("c-zstd-shuffle.b2frame");
    let l = layout(&f);
    let offs = offsets_of(&f);
    use ErrorKind::{Corrupt, Truncated};
    let c0 = l.header_len + offs[0] as usize;
    let c2 = l.header_len + offs[2] as usize;
    let lie = |at: usize, field: usize, v: i32| {
        let mut g = f.clone();
        g[at + field..at + field + 4].copy_from_slice(&v.to_le_bytes());
        g
    };
    for (what, g) in [
        ("chunk 0 cbytes 10^9", lie(c0, 12, 1_000_000_000)),
        ("chunk 2 cbytes 10^9", lie(c2, 12, 1_000_000_000)),
        ("chunk 0 cbytes 5", lie(c0, 12, 5)),
        ("chunk 0 cbytes -1", lie(c0, 12, -1)),
        (
            "chunk 2 cbytes past the section",
            lie(c2, 12, (l.cbytes - offs[2] as usize + 1) as i32),
        ),
        ("chunk 0 nbytes 10^9", lie(c0, 4, 1_000_000_000)),
        ("chunk 0 nbytes -1", lie(c0, 4, -1)),
        ("chunk 0 nbytes 3999", lie(c0, 4, 3999)),
        ("chunk 0 blocksize 0", lie(c0, 8, 0)),
    ] {
        must_fail(&g, &[Corrupt, Truncated], what);
    }
}

fn temp_dir(what: &str) -> PathBuf {
    let d = std::env::temp_dir().join(format!("ndpack-hostile-{what}-{}", std::process::id()));
    let _ = fs::remove_dir_all(&d);
    fs::create_dir_all(&d).unwrap();
    d
}

fn copy_dir(src: &Path, dst: &Path) {
    fs::create_dir_all(dst).unwrap();
    for f in fs::read_dir(src).unwrap() {
        let f = f.unwrap();
        fs::copy(f.path(), dst.join(f.file_name())).unwrap();
    }
}

/// Opens the sparse frame at `p` and reads everything: every error met.
fn outcome_dir(p: &Path) -> Vec<Error> {
    match SChunk::open(p, Mode::Read) {
        Err(e) => vec![e],
        Ok(s) => read_all(&s),
    }
}

#[test]
fn sparse_frames_with_missing_or_short_chunk_files_fail() {
    let tmp = temp_dir("sparse");
    let src = frames().join("s-edited.sframe");
    let kinds = [
        ErrorKind::Corrupt,
        ErrorKind::Truncated,
        ErrorKind::TooLarge,
        ErrorKind::Io,
    ];
    let mut ids: Vec<String> = fs::read_dir(&src)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| n.ends_with(".chunk"))
        .collect();
    ids.sort();
    assert!(ids.len() >= 3);
    let mut case = 0;
    let mut fresh = || {
        case += 1;
        let d = tmp.join(format!("case{case}.sframe"));
        copy_dir(&src, &d);
        d
    };
    let d = fresh();
    assert!(outcome_dir(&d).is_empty(), "the copy reads");
    for id in &ids {
        let chunk = fs::read(src.join(id)).unwrap();
        // Missing, empty, cut short, cut to its header, or a directory.
        let d = fresh();
        fs::remove_file(d.join(id)).unwrap();
        let errors = outcome_dir(&d);
        assert!(!errors.is_empty(), "{id} missing");
        check_kinds(&errors, &kinds, &format!("{id} missing"));
        for len in [0, 10, 32, chunk.len() / 2, chunk.len() - 1] {
            let d = fresh();
            fs::write(d.join(id), &chunk[..len]).unwrap();
            let errors = outcome_dir(&d);
            assert!(!errors.is_empty(), "{id} cut to {len}");
            check_kinds(&errors, &kinds, &format!("{id} cut to {len}"));
        }
        let d = fresh();
        fs::remove_file(d.join(id)).unwrap();
        fs::create_dir(d.join(id)).unwrap();
        check_kinds(&outcome_dir(&d), &kinds, &format!("{id} a directory"));
        // Garbage after the chunk is ignored: the chunk's own header gives its size.
        let d = fresh();
        let mut longer = chunk.clone();
        longer.extend_from_slice(&[0xAB; 100]);
        fs::write(d.join(id), &longer).unwrap();
        check_kinds(
            &outcome_dir(&d),
            &kinds,
            &format!("{id} with trailing bytes"),
        );
    }
    // The index: missing, every prefix, the wrong frame type.
    let index = fs::read(src.join("chunks.b2frame")).unwrap();
    let d = fresh();
    fs::remove_file(d.join("chunks.b2frame")).unwrap();
    let errors = outcome_dir(&d);
    assert!(!errors.is_empty(), "no chunks.b2frame");
    check_kinds(&errors, &kinds, "no chunks.b2frame");
    let d = fresh();
    for len in 0..index.len() {
        fs::write(d.join("chunks.b2frame"), &index[..len]).unwrap();
        let errors = outcome_dir(&d);
        assert!(!errors.is_empty(), "chunks.b2frame cut to {len}");
        check_kinds(&errors, &kinds, &format!("chunks.b2frame cut to {len}"));
    }
    let mut contiguous = index.clone();
    contiguous[26] = 0;
    fs::write(d.join("chunks.b2frame"), &contiguous).unwrap();
    let errors = outcome_dir(&d);
    assert!(!errors.is_empty(), "frame type 0 in a directory");
    check_kinds(&errors, &kinds, "frame type 0 in a directory");
    // Chunk ids that name no file, or are out of range.
    let l = layout(&index);
    let offs: Vec<i64> = {
        let chunk = &index[l.header_len..l.trailer_at];
        v2::decompress(chunk)
            .unwrap()
            .chunks_exact(8)
            .map(|b| i64::from_le_bytes(b.try_into().unwrap()))
            .collect()
    };
    for (what, id) in [
        ("id 0xFFFFFFFF", 0xFFFF_FFFFi64),
        ("id 2^40", 1 << 40),
        ("id 0x7F", 0x7F),
    ] {
        let mut o = offs.clone();
        o[0] = id;
        let mut g = index[..l.header_len].to_vec();
        g.extend_from_slice(&offsets_chunk(&o));
        g.extend_from_slice(&index[l.trailer_at..l.frame_len]);
        let len = g.len() as i64;
        put_be_i64(&mut g, FRAME_LEN_AT, len);
        let d = fresh();
        fs::write(d.join("chunks.b2frame"), &g).unwrap();
        let errors = outcome_dir(&d);
        assert!(!errors.is_empty(), "{what}");
        check_kinds(&errors, &kinds, what);
    }
    fs::remove_dir_all(&tmp).unwrap();
}
