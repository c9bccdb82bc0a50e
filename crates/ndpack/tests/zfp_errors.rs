//! ZFP error handling: bad arguments give clear errors, and hostile, truncated or corrupted
//! streams give `Corrupt`/`Truncated`/`TooLarge`/`Unsupported` errors (or a decoded array),
//! never a panic or a huge allocation.

use ndpack::codec::{get_codec, ArrayRef};
use ndpack::zfp::{self, ZfpMode, ZfpType};
use ndpack::{DataType, ErrorKind, Order};

fn f32_bytes(v: &[f32]) -> Vec<u8> {
    v.iter().flat_map(|x| x.to_le_bytes()).collect()
}

fn sample(n: usize) -> Vec<u8> {
    f32_bytes(
        &(0..n)
            .map(|i| (i as f32 * 0.37).sin() * 10.0)
            .collect::<Vec<_>>(),
    )
}

#[test]
fn empty_arrays_and_bad_shapes_are_rejected() {
    let e = zfp::compress(&[], ZfpType::Float, &[0], ZfpMode::Reversible, true).unwrap_err();
    assert_eq!(e.kind(), ErrorKind::InvalidArgument);
    assert!(e.message().contains("empty"));
    let e = zfp::compress(&[], ZfpType::Float, &[3, 0, 2], ZfpMode::Reversible, true).unwrap_err();
    assert_eq!(e.kind(), ErrorKind::InvalidArgument);
    let e = zfp::compress(
        &sample(1),
        ZfpType::Float,
        &[1; 5],
        ZfpMode::Reversible,
        true,
    )
    .unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Unsupported);
    let e = zfp::compress(&sample(1), ZfpType::Float, &[], ZfpMode::Reversible, true).unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Unsupported);
    let e = zfp::compress(&sample(3), ZfpType::Float, &[4], ZfpMode::Reversible, true).unwrap_err();
    assert_eq!(e.kind(), ErrorKind::InvalidArgument);
}

#[test]
fn shapes_beyond_the_header_limits_are_rejected() {
    // 3-D sizes are 16-bit fields: 65536 fits, 65537 does not (as zfpy).
    let ok = zfp::compress(
        &sample(65536),
        ZfpType::Float,
        &[1, 1, 65536],
        ZfpMode::FixedRate(4.0),
        true,
    );
    assert!(ok.is_ok());
    let e = zfp::compress(
        &sample(65537),
        ZfpType::Float,
        &[1, 1, 65537],
        ZfpMode::FixedRate(4.0),
        true,
    )
    .unwrap_err();
    assert_eq!(e.kind(), ErrorKind::InvalidArgument);
    // Without a header there is no limit.
    assert!(zfp::compress(
        &sample(65537),
        ZfpType::Float,
        &[1, 1, 65537],
        ZfpMode::FixedRate(4.0),
        false
    )
    .is_ok());
}

#[test]
fn unsupported_dtypes_are_rejected() {
    for d in ["<u4", "<f2", ">f4", "|u1", "<c8"] {
        let e = ZfpType::from_dtype(&d.parse::<DataType>().unwrap()).unwrap_err();
        assert_eq!(e.kind(), ErrorKind::UnsupportedDtype, "{d}");
    }
    let codec = get_codec(&serde_json::json!({"id": "zfpy"})).unwrap();
    let data = [0u8; 16];
    let a = ArrayRef::new(&data, "<u4".parse().unwrap(), vec![4], Order::C).unwrap();
    assert_eq!(
        codec.encode(a).unwrap_err().kind(),
        ErrorKind::UnsupportedDtype
    );
}

#[test]
fn rates_below_the_block_header_are_rejected() {
    // zfpy corrupts its heap on these; 1-D f32 needs >= 9 bits per block (rate 2.125).
    for (t, shape, rate) in [
        (ZfpType::Float, vec![100], 2.0),
        (ZfpType::Double, vec![100], 2.8),
        (ZfpType::Float, vec![10, 10], 0.5),
        (ZfpType::Float, vec![100], 0.0),
        (ZfpType::Int32, vec![100], 0.1),
    ] {
        let n: usize = shape.iter().product();
        let data = vec![0u8; n * t.itemsize()];
        let e = zfp::compress(&data, t, &shape, ZfpMode::FixedRate(rate), true).unwrap_err();
        assert_eq!(e.kind(), ErrorKind::InvalidArgument, "{t:?} {rate}");
    }
    let data = sample(100);
    assert!(zfp::compress(
        &data,
        ZfpType::Float,
        &[100],
        ZfpMode::FixedRate(2.25),
        true
    )
    .is_ok());
    let e = zfp::compress(
        &data,
        ZfpType::Float,
        &[100],
        ZfpMode::FixedRate(f64::NAN),
        true,
    )
    .unwrap_err();
    assert_eq!(e.kind(), ErrorKind::InvalidArgument);
}

#[test]
fn more_than_one_parameter_is_an_error() {
    assert_eq!(
        ZfpMode::from_zfpy(1e-3, 8.0, -1).unwrap_err().kind(),
        ErrorKind::InvalidArgument
    );
    assert_eq!(
        ZfpMode::from_zfpy(-1.0, 8.0, 3).unwrap_err().kind(),
        ErrorKind::InvalidArgument
    );
    assert_eq!(
        ZfpMode::from_zfpy(-1.0, -1.0, -1).unwrap(),
        ZfpMode::Reversible
    );
    assert_eq!(
        ZfpMode::from_zfpy(-1.0, -1.0, 7).unwrap(),
        ZfpMode::FixedPrecision(7)
    );
}

#[test]
fn streams_that_are_not_zfp_are_corrupt() {
    for bad in [
        &b"abcdefghijklmnop"[..],
        b"zfp\x04aaaaaaaaaaaa",
        b"\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00",
    ] {
        assert_eq!(zfp::decompress(bad).unwrap_err().kind(), ErrorKind::Corrupt);
    }
    assert_eq!(
        zfp::decompress(b"").unwrap_err().kind(),
        ErrorKind::Truncated
    );
    assert_eq!(
        zfp::decompress(b"zfp\x05").unwrap_err().kind(),
        ErrorKind::Truncated
    );
    assert_eq!(
        zfp::decompress(b"xyz").unwrap_err().kind(),
        ErrorKind::Corrupt
    );
}

#[test]
fn truncated_streams_are_errors() {
    let data = sample(4096);
    for mode in [
        ZfpMode::Reversible,
        ZfpMode::FixedRate(8.0),
        ZfpMode::FixedPrecision(20),
        ZfpMode::FixedAccuracy(1e-4),
    ] {
        let s = zfp::compress(&data, ZfpType::Float, &[16, 16, 16], mode, true).unwrap();
        for cut in [0, 5, 11, 12, 16, s.len() / 2, s.len() - 9, s.len() - 8] {
            let e = zfp::decompress(&s[..cut]).unwrap_err();
            assert!(
                matches!(e.kind(), ErrorKind::Truncated | ErrorKind::Corrupt),
                "{mode:?} cut {cut}: {e}"
            );
        }
        assert!(zfp::decompress(&s).is_ok());
    }
}

#[test]
fn corrupted_streams_never_panic() {
    let data = sample(1000);
    let mut seed = 0x1234_5678_9abc_def0u64;
    let mut next = || {
        seed ^= seed << 13;
        seed ^= seed >> 7;
        seed ^= seed << 17;
        seed
    };
    for mode in [
        ZfpMode::Reversible,
        ZfpMode::FixedRate(5.0),
        ZfpMode::FixedPrecision(12),
        ZfpMode::FixedAccuracy(1e-2),
    ] {
        let s = zfp::compress(&data, ZfpType::Float, &[10, 100], mode, true)
            .unwrap()
            .to_vec();
        let mut decoded_ok = 0;
        for _ in 0..300 {
            let mut t = s.clone();
            for _ in 0..1 + next() % 4 {
                let i = (next() as usize) % t.len();
                t[i] ^= 1 << (next() % 8);
            }
            if let Ok(a) = zfp::decompress(&t) {
                decoded_ok += 1;
                assert!(a.bytes().len() <= 1 << 24);
            }
        }
        assert!(decoded_ok > 0);
    }
}

#[test]
fn hostile_headers_do_not_allocate_huge_arrays() {
    // A 4-D double field of 4096^4 values declared in a 24-byte stream.
    let mut s = b"zfp\x05".to_vec();
    let meta: u64 = 3 | (3 << 2) | (0xfff << 4) | (0xfff << 16) | (0xfff << 28) | (0xfff << 40);
    let mode: u64 = 2176; // reversible
    let bits: u128 = u128::from(meta) | (u128::from(mode) << 52);
    s.extend_from_slice(&bits.to_le_bytes()[..8]);
    s.extend_from_slice(&[0u8; 12]);
    let e = zfp::decompress(&s).unwrap_err();
    assert_eq!(e.kind(), ErrorKind::TooLarge);
    // A smaller field the stream still cannot hold: 1-D of 2^20 blocks.
    let mut s = b"zfp\x05".to_vec();
    let meta: u64 = 2 | ((4u64 << 20) - 1) << 4;
    let bits: u128 = u128::from(meta) | (u128::from(mode) << 52);
    s.extend_from_slice(&bits.to_le_bytes()[..8]);
    s.extend_from_slice(&[0u8; 12]);
    assert_eq!(
        zfp::decompress(&s).unwrap_err().kind(),
        ErrorKind::Truncated
    );
}

#[test]
fn output_buffers_of_the_wrong_size_are_errors() {
    let s = zfp::compress(
        &sample(20),
        ZfpType::Float,
        &[4, 5],
        ZfpMode::Reversible,
        true,
    )
    .unwrap();
    let mut small = vec![0u8; 76];
    assert_eq!(
        zfp::decompress_into(&s, &mut small).unwrap_err().kind(),
        ErrorKind::InvalidArgument
    );
    let bare = zfp::compress(
        &sample(20),
        ZfpType::Float,
        &[4, 5],
        ZfpMode::Reversible,
        false,
    )
    .unwrap();
    let mut big = vec![0u8; 84];
    let e = zfp::decompress_headerless(
        &bare,
        ZfpType::Float,
        &[4, 5],
        ZfpMode::Reversible,
        Some(&mut big),
    )
    .unwrap_err();
    assert_eq!(e.kind(), ErrorKind::InvalidArgument);
    // Unaligned buffers work.
    let mut backing = [0u8; 81];
    zfp::decompress_into(&s, &mut backing[1..]).unwrap();
    assert_eq!(&backing[1..], &sample(20)[..]);
    let mut unaligned_in = vec![0u8; s.len() + 1];
    unaligned_in[1..].copy_from_slice(&s);
    assert_eq!(
        zfp::decompress(&unaligned_in[1..]).unwrap().bytes(),
        &sample(20)[..]
    );
}

#[test]
fn thread_count_does_not_change_bytes() {
    let data = sample(40 * 40 * 40);
    let before = ndpack::get_num_threads();
    for mode in [
        ZfpMode::Reversible,
        ZfpMode::FixedRate(8.0),
        ZfpMode::FixedPrecision(16),
        ZfpMode::FixedAccuracy(1e-3),
    ] {
        ndpack::set_num_threads(1).unwrap();
        let one = zfp::compress(&data, ZfpType::Float, &[40, 40, 40], mode, true).unwrap();
        let d1 = zfp::decompress(&one).unwrap();
        ndpack::set_num_threads(3).unwrap();
        let three = zfp::compress(&data, ZfpType::Float, &[40, 40, 40], mode, true).unwrap();
        let d3 = zfp::decompress(&three).unwrap();
        assert_eq!(one, three, "{mode:?}");
        assert_eq!(d1.bytes(), d3.bytes());
    }
    ndpack::set_num_threads(before).unwrap();
}

#[test]
fn codec_config_round_trips_like_numcodecs() {
    let c = get_codec(&serde_json::json!({"id": "zfpy"})).unwrap();
    assert_eq!(
        c.config(),
        serde_json::json!({"id": "zfpy", "mode": 4, "compression_kwargs": {"tolerance": -1},
                           "tolerance": -1, "rate": -1, "precision": -1})
    );
    let r = get_codec(&serde_json::json!({"id": "zfpy", "mode": 2, "rate": 8.5})).unwrap();
    assert_eq!(
        r.config()["compression_kwargs"],
        serde_json::json!({"rate": 8.5})
    );
    assert_eq!(get_codec(&r.config()).unwrap().config(), r.config());
    let e = get_codec(&serde_json::json!({"id": "zfpy", "level": 3})).unwrap_err();
    assert_eq!(e.kind(), ErrorKind::InvalidConfig);
    // Modes other than 2, 3, 4 decode but do not encode (numcodecs fails on them too).
    let x = get_codec(&serde_json::json!({"id": "zfpy", "mode": 1})).unwrap();
    let data = sample(4);
    let a = ArrayRef::new(&data, "<f4".parse().unwrap(), vec![4], Order::C).unwrap();
    assert_eq!(x.encode(a).unwrap_err().kind(), ErrorKind::InvalidConfig);
}

/// Fixed-accuracy, fixed-precision and reversible streams of many blocks decode in parallel by
/// speculative splitting (`zfp/speculative.rs`) with 2 or more threads, and with zfp-rs's
/// decoder with one: the values, and the verdict on truncated streams, must be the same.
#[test]
fn large_variable_length_streams_decode_alike_on_any_thread_count() {
    let before = ndpack::get_num_threads();
    let smooth = |i: usize| ((i % 97) as f64 * 0.05).sin() + ((i / 9409) as f64 * 0.03).cos();
    let mut state = 3u64;
    let mut noise = move |_| {
        state = state
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        (state >> 11) as f64 / (1u64 << 53) as f64 - 0.5
    };
    let n = 97 * 97 * 97;
    let fields: Vec<(&str, Vec<u8>, ZfpType, Vec<usize>)> = vec![
        (
            "f32 smooth 3-d",
            f32_bytes(&(0..n).map(|i| smooth(i) as f32).collect::<Vec<_>>()),
            ZfpType::Float,
            vec![97, 97, 97],
        ),
        (
            "f64 noise 3-d",
            (0..n)
                .flat_map(|i| (noise(i) * 1e3).to_le_bytes())
                .collect(),
            ZfpType::Double,
            vec![97, 97, 97],
        ),
        (
            "f64 smooth 2-d",
            (0..n).flat_map(|i| smooth(i).to_le_bytes()).collect(),
            ZfpType::Double,
            vec![97 * 97, 97],
        ),
        (
            "i32 4-d",
            (0..n)
                .flat_map(|i| ((smooth(i) * 1e6) as i32).to_le_bytes())
                .collect(),
            ZfpType::Int32,
            vec![97, 97, 97, 1],
        ),
    ];
    let mut checked = 0;
    for (name, data, ztype, shape) in &fields {
        for mode in [
            ZfpMode::Reversible,
            ZfpMode::FixedPrecision(16),
            ZfpMode::FixedAccuracy(1e-3),
        ] {
            let s = zfp::compress(data, *ztype, shape, mode, true).unwrap();
            // Big enough to be decoded speculatively (2^20 bits, 4096 blocks).
            if s.len() < (1 << 17) + 64 {
                continue;
            }
            checked += 1;
            ndpack::set_num_threads(1).unwrap();
            let serial = zfp::decompress(&s).unwrap();
            let cut = &s[..s.len() - 24];
            let serial_cut = zfp::decompress(cut).unwrap_err().kind();
            if mode == ZfpMode::Reversible {
                assert_eq!(serial.bytes(), &data[..], "{name}");
            }
            for threads in [2, 3, 8] {
                ndpack::set_num_threads(threads).unwrap();
                let parallel = zfp::decompress(&s).unwrap();
                assert!(
                    parallel.bytes() == serial.bytes(),
                    "{name} {mode:?} {threads} threads"
                );
                assert_eq!(zfp::decompress(cut).unwrap_err().kind(), serial_cut);
            }
        }
    }
    ndpack::set_num_threads(before).unwrap();
    assert!(checked >= 10, "only {checked} streams were large enough");
}

/// The cut points of `stream` that decode (`decode` returns the bytes) must decode to exactly
/// `full`, and every other cut must be a `Truncated` error. The cuts that decode are those that
/// keep every bit the blocks take: the last few bytes of zero padding at most.
fn check_cuts(
    name: &str,
    stream: &[u8],
    full: &[u8],
    cuts: impl Iterator<Item = usize>,
    mut decode: impl FnMut(&[u8]) -> ndpack::Result<Vec<u8>>,
) {
    let mut first_ok = None;
    for cut in cuts {
        match decode(&stream[..cut]) {
            Ok(bytes) => {
                assert!(bytes == full, "{name}: cut {cut} decodes to other values");
                first_ok.get_or_insert(cut);
            }
            Err(e) => {
                assert_eq!(e.kind(), ErrorKind::Truncated, "{name}: cut {cut}: {e}");
                assert!(
                    first_ok.is_none(),
                    "{name}: cut {cut} fails after a shorter one decoded"
                );
            }
        }
    }
    let first_ok = first_ok.unwrap_or(stream.len());
    assert!(
        first_ok + 8 > stream.len(),
        "{name}: a cut {} bytes short of the end decodes",
        stream.len() - first_ok
    );
    assert_eq!(decode(stream).unwrap(), full, "{name}");
}

/// Every prefix of a stream, in each mode and type, with and without a header, either decodes
/// to the whole stream's values or is a `Truncated` error.
#[test]
fn every_cut_of_a_stream_decodes_alike_or_is_truncated() {
    let n = 7 * 9 * 6;
    let smooth: Vec<f64> = (0..n)
        .map(|i| (i as f64 * 0.37).sin() * 10.0 + (i % 5) as f64)
        .collect();
    let fields: Vec<(ZfpType, Vec<u8>)> = vec![
        (
            ZfpType::Float,
            f32_bytes(&smooth.iter().map(|v| *v as f32).collect::<Vec<_>>()),
        ),
        (
            ZfpType::Double,
            smooth.iter().flat_map(|v| v.to_le_bytes()).collect(),
        ),
        (
            ZfpType::Int32,
            smooth
                .iter()
                .flat_map(|v| ((v * 1e3) as i32).to_le_bytes())
                .collect(),
        ),
        (
            ZfpType::Int64,
            smooth
                .iter()
                .flat_map(|v| ((v * 1e9) as i64).to_le_bytes())
                .collect(),
        ),
    ];
    let shapes: [&[usize]; 3] = [&[n], &[7 * 9, 6], &[7, 9, 6]];
    let before = ndpack::get_num_threads();
    for threads in [1, 3] {
        ndpack::set_num_threads(threads).unwrap();
        for (ztype, data) in &fields {
            for shape in shapes {
                for mode in [
                    ZfpMode::Reversible,
                    ZfpMode::FixedRate(12.0),
                    ZfpMode::FixedPrecision(14),
                    ZfpMode::FixedAccuracy(1e-2),
                ] {
                    let name = format!("{ztype:?} {shape:?} {mode:?} {threads} threads");
                    let s = zfp::compress(data, *ztype, shape, mode, true).unwrap();
                    let full = zfp::decompress(&s).unwrap().bytes().to_vec();
                    check_cuts(&name, &s, &full, 0..=s.len(), |cut| {
                        zfp::decompress(cut).map(|a| a.bytes().to_vec())
                    });
                    let bare = zfp::compress(data, *ztype, shape, mode, false).unwrap();
                    let headerless = |cut: &[u8]| {
                        zfp::decompress_headerless(cut, *ztype, shape, mode, None)
                            .map(|a| a.unwrap().bytes().to_vec())
                    };
                    let full = headerless(&bare).unwrap();
                    check_cuts(&name, &bare, &full, 0..=bare.len(), headerless);
                    // Into a caller's buffer, aligned or not.
                    let mut backing = vec![0u8; full.len() + 1];
                    check_cuts(&name, &s, &full, s.len() - 24..=s.len(), |cut| {
                        zfp::decompress_into(cut, &mut backing[1..])?;
                        Ok(backing[1..].to_vec())
                    });
                }
            }
        }
    }
    ndpack::set_num_threads(before).unwrap();
}

/// As above for streams long enough to be decoded speculatively in parallel (2^20 bits and 4096
/// blocks) on 3 threads, and serially on one: cuts near the end and across the stream.
#[test]
fn cuts_of_large_variable_length_streams_decode_alike_or_are_truncated() {
    let n = 64 * 64 * 64;
    let mut state = 7u64;
    let values: Vec<f32> = (0..n)
        .map(|i| {
            state = state
                .wrapping_mul(6364136223846793005)
                .wrapping_add(1442695040888963407);
            (i as f32 * 0.01).sin() + (state >> 40) as f32 * 1e-7
        })
        .collect();
    let data = f32_bytes(&values);
    let before = ndpack::get_num_threads();
    for mode in [ZfpMode::Reversible, ZfpMode::FixedAccuracy(1e-5)] {
        let s = zfp::compress(&data, ZfpType::Float, &[64, 64, 64], mode, true).unwrap();
        assert!(s.len() >= (1 << 17) + 64, "{mode:?}: {} bytes", s.len());
        let full = zfp::decompress(&s).unwrap().bytes().to_vec();
        let len = s.len();
        let cuts: Vec<usize> = (0..12)
            .map(|k| k * len / 12)
            .chain(len - 40..=len)
            .collect();
        for threads in [1, 3] {
            ndpack::set_num_threads(threads).unwrap();
            let name = format!("{mode:?} {threads} threads");
            check_cuts(&name, &s, &full, cuts.iter().copied(), |cut| {
                zfp::decompress(cut).map(|a| a.bytes().to_vec())
            });
        }
    }
    ndpack::set_num_threads(before).unwrap();
}

/// A header with no block data, or with fewer bits than its blocks take, is `Truncated`, not an
/// array of zeros; a stream of exactly the fewest bits its blocks can take decodes.
#[test]
fn streams_shorter_than_their_blocks_are_truncated() {
    let header = |ztype: u64, dims_minus_1: &[u64], mode: u64| {
        let ndim = dims_minus_1.len() as u64;
        let width = [48, 24, 16, 12][ndim as usize - 1];
        let mut meta = (ztype - 1) | ((ndim - 1) << 2);
        for (i, d) in dims_minus_1.iter().enumerate() {
            meta |= d << (4 + width * i);
        }
        let mut s = b"zfp\x05".to_vec();
        let bits: u64 = meta | (mode << 52);
        s.extend_from_slice(&bits.to_le_bytes());
        s
    };
    // Reversible f32, 8 x 8: 4 blocks of at least 1 bit (all zero) each.
    let h = header(3, &[7, 7], 2176);
    assert_eq!(
        zfp::decompress(&h).unwrap_err().kind(),
        ErrorKind::Truncated
    );
    let mut zeros = h.clone();
    zeros.extend_from_slice(&[0u8; 4]);
    let a = zfp::decompress(&zeros).unwrap();
    assert_eq!(a.shape(), vec![8, 8]);
    assert!(a.bytes().iter().all(|b| *b == 0));
    // 32 blocks of 1 bit fill the 4 bytes after the header exactly; 33 do not fit.
    let mut ok = header(3, &[127], 2176);
    ok.extend_from_slice(&[0u8; 4]);
    assert_eq!(zfp::decompress(&ok).unwrap().shape(), vec![128]);
    let mut short = header(3, &[131], 2176);
    short.extend_from_slice(&[0u8; 4]);
    assert_eq!(
        zfp::decompress(&short).unwrap_err().kind(),
        ErrorKind::Truncated
    );
    assert_eq!(
        zfp::check_stream(&short).unwrap_err().kind(),
        ErrorKind::Truncated
    );
    assert_eq!(zfp::check_stream(&ok).unwrap().shape, vec![128]);
    // Fixed rate 16 bits per block (mode 15): exact, 2 blocks need 32 bits after the header.
    let mut rate = header(3, &[7], 15);
    rate.extend_from_slice(&[0u8; 3]);
    assert_eq!(
        zfp::check_stream(&rate).unwrap_err().kind(),
        ErrorKind::Truncated
    );
    rate.push(0);
    assert_eq!(zfp::decompress(&rate).unwrap().shape(), vec![8]);
    // The 16-byte header of a 2 PiB array.
    let huge = header(4, &[4095, 4095, 4095, 4095], 2176);
    assert_eq!(
        zfp::check_stream(&[&huge[..], &[0u8; 4]].concat())
            .unwrap_err()
            .kind(),
        ErrorKind::TooLarge
    );
    // Headerless: a shape the stream cannot hold.
    assert_eq!(
        zfp::check_headerless(&[0u8; 16], ZfpType::Float, &[1 << 20], ZfpMode::Reversible)
            .unwrap_err()
            .kind(),
        ErrorKind::Truncated
    );
    assert_eq!(
        zfp::check_headerless(&[0u8; 16], ZfpType::Float, &[512], ZfpMode::Reversible).unwrap(),
        2048
    );
    assert_eq!(
        zfp::check_headerless(&[0u8; 16], ZfpType::Float, &[516], ZfpMode::Reversible)
            .unwrap_err()
            .kind(),
        ErrorKind::Truncated
    );
}
