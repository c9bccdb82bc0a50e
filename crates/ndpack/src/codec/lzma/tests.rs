//! Tests of the `lzma` codec: Python's streams, every format, check and filter chain, and the
//! parallel encoders and decoders against the serial ones.

use super::*;
use crate::backend::test_data::noise_and_runs;
use crate::codec::get_codec;
use crate::codec::test_util::{assert_cuts_fail, assert_out_size_checked, round_trip};
use crate::error::ErrorKind;

fn sample(n: usize) -> Vec<u8> {
    (0..n).map(|i| ((i / 11) % 97) as u8).collect()
}

fn codec(cfg: Value) -> Box<dyn Codec> {
    get_codec(&cfg).unwrap()
}

#[test]
fn decodes_python_lzma_output() {
    // numcodecs.LZMA().encode(b"abc")
    let xz: [u8; 60] = [
        253, 55, 122, 88, 90, 0, 0, 4, 230, 214, 180, 70, 2, 0, 33, 1, 22, 0, 0, 0, 116, 47, 229,
        163, 1, 0, 2, 97, 98, 99, 0, 0, 39, 118, 39, 26, 74, 9, 216, 44, 0, 1, 27, 3, 11, 47, 185,
        16, 31, 182, 243, 125, 1, 0, 0, 0, 0, 4, 89, 90,
    ];
    assert_eq!(
        Lzma::default()
            .decode(ArrayRef::bytes(&xz))
            .unwrap()
            .bytes(),
        b"abc"
    );
    let auto = codec(json!({"id": "lzma", "format": 0}));
    assert_eq!(auto.decode(ArrayRef::bytes(&xz)).unwrap().bytes(), b"abc");
    // LZMA(format=FORMAT_ALONE, preset=1).encode(b"abc")
    let alone: [u8; 26] = [
        93, 0, 0, 16, 0, 255, 255, 255, 255, 255, 255, 255, 255, 0, 48, 152, 136, 164, 74, 142,
        159, 255, 246, 99, 128, 0,
    ];
    let c = codec(json!({"id": "lzma", "format": 2, "preset": 1}));
    assert_eq!(c.decode(ArrayRef::bytes(&alone)).unwrap().bytes(), b"abc");
    assert_eq!(
        auto.decode(ArrayRef::bytes(&alone)).unwrap().bytes(),
        b"abc"
    );
    // LZMA(format=FORMAT_RAW, filters=[{id: FILTER_DELTA, dist: 4},
    //      {id: FILTER_LZMA2, preset: 1}]).encode(b"abcdabcdabce")
    let raw: [u8; 16] = [1, 0, 11, 97, 98, 99, 100, 0, 0, 0, 0, 0, 0, 0, 1, 0];
    let c = codec(json!({"id": "lzma", "format": 3, "filters": [
        {"id": 3, "dist": 4}, {"id": 33, "preset": 1}]}));
    assert_eq!(
        c.decode(ArrayRef::bytes(&raw)).unwrap().bytes(),
        b"abcdabcdabce"
    );
    // LZMA(check=CHECK_SHA256, preset=0).encode(b"abc"), then with the hash corrupted.
    let sha: [u8; 84] = [
        253, 55, 122, 88, 90, 0, 0, 10, 225, 251, 12, 161, 2, 0, 33, 1, 12, 0, 0, 0, 143, 152, 65,
        156, 1, 0, 2, 97, 98, 99, 0, 0, 186, 120, 22, 191, 143, 1, 207, 234, 65, 65, 64, 222, 93,
        174, 34, 35, 176, 3, 97, 163, 150, 23, 122, 156, 180, 16, 255, 97, 242, 0, 21, 173, 0, 1,
        51, 3, 161, 129, 228, 77, 24, 155, 75, 154, 1, 0, 0, 0, 0, 10, 89, 90,
    ];
    let c = codec(json!({"id": "lzma", "check": 10, "preset": 0}));
    assert_eq!(c.decode(ArrayRef::bytes(&sha)).unwrap().bytes(), b"abc");
    let mut bad = sha;
    bad[40] ^= 1;
    assert_eq!(
        c.decode(ArrayRef::bytes(&bad)).unwrap_err().kind(),
        ErrorKind::Corrupt
    );
    // Concatenated streams; trailing garbage is ignored but a trailing partial header is
    // truncated data, exactly as lzma.decompress does.
    let mut two = xz.to_vec();
    two.extend_from_slice(&xz);
    let mut junk = two.clone();
    junk.extend_from_slice(b"garbage-garbage-garbage");
    for enc in [&two, &junk] {
        let dec = Lzma::default().decode(ArrayRef::bytes(enc)).unwrap();
        assert_eq!(dec.bytes(), b"abcabc");
        let mut out = [0u8; 6];
        Lzma::default()
            .decode_into(enc, ArrayMut::bytes(&mut out))
            .unwrap();
        assert_eq!(&out, b"abcabc");
    }
    let mut padded = two.clone();
    padded.extend_from_slice(&[0, 0, 0, 0]);
    let e = Lzma::default()
        .decode(ArrayRef::bytes(&padded))
        .unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Truncated);
}

#[test]
fn round_trip_every_format_check_and_filter_chain() {
    let configs = [
        json!({"id": "lzma"}),
        json!({"id": "lzma", "preset": 0}),
        json!({"id": "lzma", "preset": 9 | PRESET_EXTREME}),
        json!({"id": "lzma", "check": 0}),
        json!({"id": "lzma", "check": 1}),
        json!({"id": "lzma", "check": 4}),
        json!({"id": "lzma", "check": 10}),
        json!({"id": "lzma", "format": 2}),
        json!({"id": "lzma", "format": 2, "check": 0, "preset": 3}),
        json!({"id": "lzma", "format": 2, "filters": [{"id": FILTER_LZMA1, "preset": 2, "lc": 0, "lp": 2, "pb": 2}]}),
        json!({"id": "lzma", "format": 1, "filters": [{"id": 3, "dist": 4}, {"id": 33, "preset": 1, "dict_size": 1 << 20}]}),
        json!({"id": "lzma", "format": 3, "filters": [{"id": 33, "preset": 1, "mode": 1, "mf": 4, "nice_len": 32, "depth": 8}]}),
        json!({"id": "lzma", "format": 3, "filters": [{"id": FILTER_LZMA1}]}),
        json!({"id": "lzma", "format": 3, "filters": [{"id": 4, "start_offset": 16}, {"id": 33}]}),
        json!({"id": "lzma", "format": 3, "filters": [{"id": 7}, {"id": 33, "preset": 0}]}),
    ];
    for cfg in configs {
        let c = codec(cfg.clone());
        let again = get_codec(&c.config()).unwrap();
        assert_eq!(again.config(), c.config(), "{cfg}");
        for n in [0usize, 1, 4097, 1 << 20] {
            let d = sample(n);
            round_trip(&*c, &d, &cfg.to_string());
        }
    }
    assert_eq!(
        Lzma::default().config(),
        json!({"id": "lzma", "format": 1, "check": -1, "preset": null, "filters": null})
    );
}

#[test]
fn bad_configs_name_their_key() {
    for (cfg, key) in [
        (json!({"id": "lzma", "format": 4}), "format"),
        (json!({"id": "lzma", "check": 2}), "check"),
        (json!({"id": "lzma", "preset": 10}), "preset"),
        (json!({"id": "lzma", "format": 3}), "filters"),
        (
            json!({"id": "lzma", "filters": [{"id": 33}], "preset": 1}),
            "preset",
        ),
        (json!({"id": "lzma", "filters": [{"id": 99}]}), "filters"),
        (
            json!({"id": "lzma", "filters": [{"id": 33, "colour": 1}]}),
            "colour",
        ),
        (
            json!({"id": "lzma", "filters": [{"id": 3, "dist": 0}]}),
            "dist",
        ),
        (json!({"id": "lzma", "filters": {"id": 33}}), "filters"),
        (json!({"id": "lzma", "level": 1}), "level"),
    ] {
        let e = get_codec(&cfg).unwrap_err();
        assert_eq!(e.kind(), ErrorKind::InvalidConfig, "{cfg}");
        assert!(e.message().contains(key), "{cfg}: {e}");
    }
    // Valid configs that cannot encode, as in Python: FORMAT_AUTO, checks outside xz.
    let d = sample(10);
    for cfg in [
        json!({"id": "lzma", "format": 0}),
        json!({"id": "lzma", "format": 2, "check": 4}),
        json!({"id": "lzma", "format": 2, "filters": [{"id": 33}]}),
    ] {
        let e = codec(cfg.clone()).encode(ArrayRef::bytes(&d)).unwrap_err();
        assert_eq!(e.kind(), ErrorKind::InvalidConfig, "{cfg}");
    }
}

fn varied(n: usize) -> Vec<u8> {
    let lcg = (1_664_525, 1_013_904_223);
    noise_and_runs(
        n,
        99,
        lcg,
        24,
        |i| (i / 512) % 4 == 0,
        |i| ((i / 5) % 253) as u8,
    )
}

fn same_as_serial(c: &Lzma, data: &[u8]) {
    let serial = c.decode_serial(data);
    let parallel = c.decode_parallel(data);
    match (&serial, &parallel) {
        (Ok(a), Ok(b)) => assert!(a == b, "decoded bytes differ"),
        (Err(a), Err(b)) => assert_eq!(a.kind(), b.kind(), "{a} / {b}"),
        _ => panic!("serial {serial:?} / parallel {parallel:?}"),
    }
}

#[test]
fn large_xz_inputs_are_split_into_fixed_blocks() {
    let preset1 = Lzma::new(FORMAT_XZ, -1, Some(1), None).unwrap();
    assert_eq!(preset1.xz_block_size().unwrap(), MIN_XZ_BLOCK);
    assert_eq!(Lzma::default().xz_block_size().unwrap(), 24 << 20);
    let small = preset1.clone().with_min_xz_block(1 << 20);
    assert_eq!(small.xz_block_size().unwrap(), 3 << 20);
    assert_eq!(
        get_codec(&small.config()).unwrap().config(),
        preset1.config()
    );
    let c = Lzma::new(
        FORMAT_XZ,
        1,
        None,
        Some(json!([{"id": 3, "dist": 2}, {"id": 33, "preset": 1, "dict_size": 1 << 16}])),
    )
    .unwrap()
    .with_min_xz_block(1 << 20);
    let block = c.xz_block_size().unwrap() as usize;
    assert_eq!(block, 1 << 20);
    for n in [block - 1, block, block + 1, 2 * block + 5] {
        let d = varied(n);
        let enc = c.encode(ArrayRef::bytes(&d)).unwrap();
        let single = run_encoder(c.encoder().unwrap(), &d).unwrap();
        if n <= block {
            assert!(enc.bytes() == &single[..], "{n} bytes: single block");
        } else {
            assert!(enc.bytes() != &single[..]);
            for threads in [1, 2, 3] {
                let again = c.encode_mt(&d, threads).unwrap();
                assert!(again == enc.bytes(), "{n} bytes, {threads} threads");
            }
        }
        assert_eq!(c.decode_serial(enc.bytes()).unwrap(), d);
        assert_eq!(c.decode_parallel(enc.bytes()).unwrap(), d);
        let mut out = vec![0u8; n];
        c.decode_into(enc.bytes(), ArrayMut::bytes(&mut out))
            .unwrap();
        assert!(out == d);
    }
}

/// `c` encoding `d` on a pool of its own with `threads` threads (as `encode` does on ndpack's).
fn raw_encode_with_threads(c: &Lzma, d: &[u8], threads: usize) -> Vec<u8> {
    let (plan, piece) = c.raw_pieces(d.len()).unwrap().expect("split");
    rayon::ThreadPoolBuilder::new()
        .num_threads(threads)
        .build()
        .unwrap()
        .install(|| raw::encode(d, piece, plan))
        .unwrap()
}

fn raw_codec(filters: Value) -> Lzma {
    Lzma::new(FORMAT_RAW, -1, None, Some(filters))
        .unwrap()
        .with_min_xz_block(1 << 20)
}

/// Encodes `d` with `c`, checks the stream against the serial encoder and decoder, and
/// returns it.
fn check_raw_pieces(c: &Lzma, d: &[u8], delta: bool) -> Vec<u8> {
    let cfg = c.config();
    let piece = c.xz_block_size().unwrap() as usize;
    let enc = c.encode(ArrayRef::bytes(d)).unwrap().bytes().to_vec();
    let serial = |x: &[u8]| run_encoder(c.encoder().unwrap(), x).unwrap();
    assert!(
        c.decode_serial(&enc).unwrap() == d,
        "{cfg}: {} bytes",
        d.len()
    );
    let mut out = vec![0u8; d.len()];
    c.decode_into(&enc, ArrayMut::bytes(&mut out)).unwrap();
    assert!(out == d, "{cfg}: {} bytes", d.len());
    if d.len() <= piece {
        assert!(
            enc == serial(d),
            "{cfg}: {} bytes, the serial encoder's stream",
            d.len()
        );
        assert!(c.raw_pieces(d.len()).unwrap().is_none());
        return enc;
    }
    // The first piece is what the serial encoder writes for it alone, less the end byte;
    // without delta, so is every piece.
    let first = serial(&d[..piece]);
    assert!(enc.starts_with(&first[..first.len() - 1]), "{cfg}");
    if !delta {
        let mut joined = Vec::new();
        for p in d.chunks(piece) {
            let s = serial(p);
            joined.extend_from_slice(&s[..s.len() - 1]);
        }
        joined.push(0);
        assert!(enc == joined, "{cfg}: {} bytes", d.len());
    }
    assert_eq!(enc.last(), Some(&0));
    for threads in [1, 3] {
        let again = raw_encode_with_threads(c, d, threads);
        assert!(again == enc, "{cfg}: {} bytes, {threads} threads", d.len());
    }
    // Decoded part by part in parallel.
    let (plan, _) = c.raw_pieces(d.len()).unwrap().unwrap();
    let (dec, used) = raw::decode(&enc, plan, d.len(), raw::MIN_PART).expect("parallel");
    assert_eq!(used, enc.len());
    assert!(dec == d, "{cfg}: {} bytes", d.len());
    assert!(
        c.decode_parallel(&enc).unwrap() == d,
        "{cfg}: {} bytes",
        d.len()
    );
    enc
}

#[test]
fn parallel_raw_decoding_equals_serial_on_valid_and_damaged_input() {
    for filters in [
        json!([{"id": 3, "dist": 3}, {"id": 33, "preset": 0, "dict_size": 1 << 16}]),
        json!([{"id": 33, "preset": 0, "dict_size": 1 << 16}]),
    ] {
        let c = raw_codec(filters);
        let one = c
            .encode(ArrayRef::bytes(&varied((3 << 20) + 99)))
            .unwrap()
            .bytes()
            .to_vec();
        let mut two = one.clone();
        two.extend_from_slice(&one);
        let mut junk = two.clone();
        junk.extend_from_slice(b"trailing junk");
        for enc in [&one, &two, &junk] {
            same_as_serial(&c, enc);
        }
        for cut in [0, 1, 5, 6, 40, one.len() / 3, one.len() / 2, one.len() - 1] {
            same_as_serial(&c, &one[..cut]);
            same_as_serial(&c, &two[..one.len() + cut]);
        }
        for at in (0..one.len())
            .step_by(one.len() / 37)
            .chain([one.len() - 1])
        {
            for bit in [0x01, 0x10, 0x80] {
                let mut bad = one.clone();
                bad[at] ^= bit;
                same_as_serial(&c, &bad);
            }
        }
    }
}

#[test]
fn raw_lzma2_inputs_are_encoded_in_pieces_around_piece_boundaries() {
    let piece = 1usize << 20;
    let configs = [
        (
            json!([{"id": 3, "dist": 4}, {"id": 33, "preset": 0, "dict_size": 1 << 16}]),
            true,
        ),
        (
            json!([{"id": 33, "preset": 0, "dict_size": 1 << 16}]),
            false,
        ),
        (
            json!([{"id": 33, "preset": 1, "dict_size": 1 << 16, "lc": 1, "lp": 2, "pb": 3,
                    "mode": 2, "nice_len": 16, "mf": 19, "depth": 4}]),
            false,
        ),
    ];
    for (filters, delta) in configs {
        let c = raw_codec(filters);
        assert_eq!(c.xz_block_size().unwrap(), piece as u64);
        for n in [0, 1, piece - 1, piece, piece + 1, 3 * piece + 7] {
            check_raw_pieces(&c, &varied(n), delta);
        }
    }
}

#[test]
fn raw_delta_pieces_for_every_distance_and_lzma2_options() {
    let piece = 1usize << 20;
    let d = varied(piece + 4099);
    for dist in (1..=8).chain([13, 256]) {
        let c = raw_codec(json!([{"id": 3, "dist": dist}, {"id": 33, "preset": 0}]));
        assert_eq!(c.xz_block_size().unwrap(), piece as u64);
        check_raw_pieces(&c, &d, true);
    }
    for opts in [
        json!({"id": 33, "preset": 1, "dict_size": 1 << 16, "lc": 0, "lp": 0, "pb": 0}),
        json!({"id": 33, "preset": 0, "mode": 1, "mf": 3, "nice_len": 8, "depth": 0}),
        json!({"id": 33, "preset": 0, "mode": 2, "mf": 18, "nice_len": 273}),
        json!({"id": 33, "preset": 2 | PRESET_EXTREME, "dict_size": 1 << 18}),
    ] {
        let c = raw_codec(json!([opts.clone()]));
        assert_eq!(c.xz_block_size().unwrap(), piece as u64);
        check_raw_pieces(&c, &d, false);
        let c = raw_codec(json!([{"id": 3, "dist": 2}, opts]));
        check_raw_pieces(&c, &d, true);
    }
    // The piece size follows the dictionary, as xz blocks do.
    let c = raw_codec(json!([{"id": 3, "dist": 2}, {"id": 33, "preset": 0, "dict_size": 1 << 19}]));
    assert_eq!(c.xz_block_size().unwrap(), 3 << 19);
    check_raw_pieces(&c, &varied((3 << 19) + 1), true);
    // The default 8 MiB floor.
    let c = Lzma::new(
        FORMAT_RAW,
        -1,
        None,
        Some(json!([{"id": 3, "dist": 8}, {"id": 33, "preset": 1}])),
    )
    .unwrap();
    assert_eq!(c.xz_block_size().unwrap(), MIN_XZ_BLOCK);
    assert!(c.raw_pieces(8 << 20).unwrap().is_none());
    assert!(c.raw_pieces((8 << 20) + 1).unwrap().is_some());
}

#[test]
fn other_raw_chains_stay_serial() {
    let d = varied((1 << 20) + 1);
    for filters in [
        json!([{"id": FILTER_LZMA1, "preset": 0}]),
        json!([{"id": 3, "dist": 4}, {"id": FILTER_LZMA1, "preset": 0}]),
        json!([{"id": 4}, {"id": 33, "preset": 0}]),
        json!([{"id": 3, "dist": 1}, {"id": 3, "dist": 4}, {"id": 33, "preset": 0}]),
    ] {
        let c = raw_codec(filters.clone());
        assert!(c.raw_pieces(d.len()).unwrap().is_none(), "{filters}");
        let enc = c.encode(ArrayRef::bytes(&d)).unwrap();
        assert!(enc.bytes() == &run_encoder(c.encoder().unwrap(), &d).unwrap()[..]);
        assert!(c.decode_serial(enc.bytes()).unwrap() == d);
    }
}

#[test]
fn parallel_xz_decoding_equals_serial_on_valid_and_damaged_input() {
    let c = Lzma::new(
        FORMAT_XZ,
        -1,
        None,
        Some(json!([{"id": 33, "preset": 0, "dict_size": 1 << 16}])),
    )
    .unwrap()
    .with_min_xz_block(1 << 20);
    let d = varied(3 << 20);
    let one = c.encode(ArrayRef::bytes(&d)).unwrap().bytes().to_vec();
    let mut two = one.clone();
    two.extend_from_slice(&one);
    let mut junk = two.clone();
    junk.extend_from_slice(b"trailing junk, ignored");
    for enc in [&one, &two, &junk] {
        same_as_serial(&c, enc);
    }
    for cut in [
        0,
        5,
        12,
        40,
        one.len() / 3,
        one.len() / 2,
        one.len() - 13,
        one.len() - 1,
    ] {
        same_as_serial(&c, &one[..cut]);
        same_as_serial(&c, &two[..one.len() + cut]);
    }
    // Found by the lzma_parallel fuzz target: a bit flip, then a cut, where the
    // multithreaded decoder saw truncated data and the serial one corrupt data.
    let seed = 0xfbu8;
    let input: Vec<u8> = (0..(1 << 20) + 0xf1 * 8000)
        .map(|i| seed.wrapping_add(i as u8))
        .collect();
    let mut enc = c.encode(ArrayRef::bytes(&input)).unwrap().bytes().to_vec();
    let len = enc.len();
    let v = usize::from(u16::from_le_bytes([0xf1, 0xf1]));
    enc[v * 97 % len] ^= 1 << (v % 8);
    let v = usize::from(u16::from_le_bytes([0x26, 0x0a]));
    enc.truncate(len - v % 64);
    same_as_serial(&c, &enc);
    for at in (0..one.len())
        .step_by(one.len() / 29)
        .chain([one.len() - 2])
    {
        let mut bad = one.clone();
        bad[at] ^= 0x04;
        same_as_serial(&c, &bad);
    }
}

#[test]
fn bad_input_is_an_error() {
    let c = Lzma::default();
    let d = sample(200_000);
    let enc = c.encode(ArrayRef::bytes(&d)).unwrap();
    let enc = enc.bytes();
    assert_eq!(
        c.decode(ArrayRef::bytes(b"")).unwrap_err().kind(),
        ErrorKind::Truncated
    );
    assert_cuts_fail(&c, enc, [3, 20], |k| k == ErrorKind::Truncated);
    let e = c.decode(ArrayRef::bytes(b"not an xz stream")).unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Corrupt);
    assert_out_size_checked(&c, enc, d.len());
    // A .lzma header declaring a 4 GiB dictionary is refused by the memory limit.
    let mut alone = vec![93u8, 0xff, 0xff, 0xff, 0xff];
    alone.extend_from_slice(&[0xff; 8]);
    alone.extend_from_slice(&[0; 8]);
    let e = codec(json!({"id": "lzma", "format": 2}))
        .decode(ArrayRef::bytes(&alone))
        .unwrap_err();
    assert_eq!(e.kind(), ErrorKind::TooLarge, "{e}");
}
