//! Bit-exactness against zfpy 1.0.1 without Python: streams made once with zfpy
//! (`tests/data/zfp/make_golden.py` wrote `golden.jsonl`) must be reproduced byte for byte, and
//! decode to the values zfpy decoded, bit for bit.

use ndpack::codec::{get_codec, ArrayRef};
use ndpack::zfp::{self, ZfpMode, ZfpType};
use ndpack::{DataType, Order};
use serde_json::Value;

struct Case {
    dtype: String,
    shape: Vec<usize>,
    kwargs: Value,
    kind: String,
    input: Vec<u8>,
    stream: Vec<u8>,
    headerless: Vec<u8>,
    decoded: Vec<u8>,
}

fn unhex(s: &str) -> Vec<u8> {
    (0..s.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&s[i..i + 2], 16).unwrap())
        .collect()
}

fn cases() -> Vec<Case> {
    let text = include_str!("data/zfp/golden.jsonl");
    text.lines()
        .map(|l| {
            let v: Value = serde_json::from_str(l).unwrap();
            Case {
                dtype: v["dtype"].as_str().unwrap().to_string(),
                shape: v["shape"]
                    .as_array()
                    .unwrap()
                    .iter()
                    .map(|x| x.as_u64().unwrap() as usize)
                    .collect(),
                kwargs: v["kwargs"].clone(),
                kind: v["kind"].as_str().unwrap().to_string(),
                input: unhex(v["input"].as_str().unwrap()),
                stream: unhex(v["stream"].as_str().unwrap()),
                headerless: unhex(v["headerless"].as_str().unwrap()),
                decoded: unhex(v["decoded"].as_str().unwrap()),
            }
        })
        .collect()
}

fn mode(kwargs: &Value) -> ZfpMode {
    let get = |k: &str| kwargs.get(k).and_then(Value::as_f64).unwrap_or(-1.0);
    ZfpMode::from_zfpy(get("tolerance"), get("rate"), get("precision") as i64).unwrap()
}

fn ztype(dtype: &str) -> ZfpType {
    ZfpType::from_dtype(&dtype.parse::<DataType>().unwrap()).unwrap()
}

#[test]
fn golden_file_covers_every_dtype_dimension_and_mode() {
    let cases = cases();
    assert!(cases.len() > 100);
    for dt in ["<f4", "<f8", "<i4", "<i8"] {
        for nd in 1..=4 {
            assert!(cases.iter().any(|c| c.dtype == dt && c.shape.len() == nd));
        }
        for m in ["tolerance", "rate", "precision"] {
            assert!(cases
                .iter()
                .any(|c| c.dtype == dt && c.kwargs.get(m).is_some()));
        }
        assert!(cases
            .iter()
            .any(|c| c.dtype == dt && c.kwargs.as_object().unwrap().is_empty()));
    }
    // libzfp's tiny-magnitude blocks in lossy modes are among them.
    assert!(cases.iter().any(|c| c.kind == "tiny"
        && (c.kwargs.get("precision").is_some() || c.kwargs.get("rate").is_some())));
}

#[test]
fn compression_is_byte_identical_to_zfpy() {
    for c in cases() {
        let t = ztype(&c.dtype);
        let m = mode(&c.kwargs);
        let ours = zfp::compress(&c.input, t, &c.shape, m, true).unwrap();
        assert_eq!(
            &ours[..],
            &c.stream[..],
            "{} {:?} {} {}",
            c.dtype,
            c.shape,
            c.kind,
            c.kwargs
        );
        let bare = zfp::compress(&c.input, t, &c.shape, m, false).unwrap();
        assert_eq!(
            &bare[..],
            &c.headerless[..],
            "headerless {} {:?} {}",
            c.dtype,
            c.shape,
            c.kwargs
        );
    }
}

#[test]
fn decompression_is_bit_identical_to_zfpy() {
    for c in cases() {
        let a = zfp::decompress(&c.stream).unwrap();
        assert_eq!(a.shape(), c.shape);
        assert_eq!(*a.dtype(), c.dtype.parse::<DataType>().unwrap());
        assert_eq!(
            a.bytes(),
            &c.decoded[..],
            "{} {:?} {} {}",
            c.dtype,
            c.shape,
            c.kind,
            c.kwargs
        );
        // Into a caller's buffer, and headerless as zfpy's _decompress (which clamps low float
        // rates to the block header, a no-op for these rates).
        let mut out = vec![0u8; c.decoded.len()];
        zfp::decompress_into(&c.stream, &mut out).unwrap();
        assert_eq!(out, c.decoded);
        let mut out2 = vec![0u8; c.decoded.len()];
        let r = zfp::decompress_headerless(
            &c.headerless,
            ztype(&c.dtype),
            &c.shape,
            mode(&c.kwargs),
            Some(&mut out2),
        )
        .unwrap();
        assert!(r.is_none());
        assert_eq!(
            out2, c.decoded,
            "headerless {} {:?} {}",
            c.dtype, c.shape, c.kwargs
        );
    }
}

#[test]
fn reversible_mode_is_lossless() {
    for c in cases()
        .iter()
        .filter(|c| c.kwargs.as_object().unwrap().is_empty())
    {
        assert_eq!(c.decoded, c.input);
        let a = zfp::decompress(
            &zfp::compress(
                &c.input,
                ztype(&c.dtype),
                &c.shape,
                ZfpMode::Reversible,
                true,
            )
            .unwrap(),
        )
        .unwrap();
        assert_eq!(a.bytes(), &c.input[..]);
    }
}

#[test]
fn numcodecs_codec_gives_zfpy_bytes() {
    for c in cases() {
        let (mode, key) = match c
            .kwargs
            .as_object()
            .unwrap()
            .keys()
            .next()
            .map(String::as_str)
        {
            None => (4, "tolerance"),
            Some("tolerance") => (4, "tolerance"),
            Some("rate") => (2, "rate"),
            _ => (3, "precision"),
        };
        let mut config = serde_json::json!({"id": "zfpy", "mode": mode});
        if let Some(v) = c.kwargs.get(key) {
            config[key] = v.clone();
        }
        let codec = get_codec(&config).unwrap();
        let dtype: DataType = c.dtype.parse().unwrap();
        let input = ArrayRef::new(&c.input, dtype.clone(), c.shape.clone(), Order::C).unwrap();
        let enc = codec.encode(input).unwrap();
        assert_eq!(enc.bytes(), &c.stream[..], "{config}");
        let dec = codec.decode(ArrayRef::bytes(enc.bytes())).unwrap();
        assert_eq!(dec.bytes(), &c.decoded[..]);
        assert_eq!(dec.shape(), c.shape);
        assert_eq!(*dec.dtype(), dtype);
    }
}

#[test]
fn fortran_order_gives_the_same_stream() {
    for c in cases().iter().filter(|c| c.shape.len() >= 2).take(40) {
        let t = ztype(&c.dtype);
        let size = t.itemsize();
        // Transpose the C-order input into Fortran order.
        let n = c.input.len() / size;
        let shape = &c.shape;
        let mut f = vec![0u8; c.input.len()];
        for (ci, chunk) in c.input.chunks(size).enumerate() {
            let mut rem = ci;
            let mut idx = vec![0; shape.len()];
            for a in (0..shape.len()).rev() {
                idx[a] = rem % shape[a];
                rem /= shape[a];
            }
            let mut fi = 0;
            for a in (0..shape.len()).rev() {
                fi = fi * shape[a] + idx[a];
            }
            f[fi * size..(fi + 1) * size].copy_from_slice(chunk);
        }
        assert_eq!(n * size, f.len());
        let codec = get_codec(&serde_json::json!({"id": "zfpy"})).unwrap();
        let a = ArrayRef::new(&f, c.dtype.parse().unwrap(), c.shape.clone(), Order::F).unwrap();
        let ours = codec.encode(a).unwrap();
        let want = zfp::compress(&c.input, t, &c.shape, ZfpMode::Reversible, true).unwrap();
        assert_eq!(ours.bytes(), &want[..]);
    }
}

/// The worked examples of `shared/specs/zfp.md` (from the oracle), written out.
#[test]
fn spec_examples() {
    let data: Vec<u8> = [1f32, 2., 3., 4.]
        .iter()
        .flat_map(|v| v.to_le_bytes())
        .collect();
    let hex = |m: ZfpMode| {
        zfp::compress(&data, ZfpType::Float, &[4], m, true)
            .unwrap()
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect::<String>()
    };
    assert_eq!(
        hex(ZfpMode::FixedPrecision(16)),
        "7a667005320000000000f08005310b000000000000000000"
    );
    assert_eq!(
        hex(ZfpMode::FixedRate(8.0)),
        "7a667005320000000000f00105310b00"
    );
    assert_eq!(
        hex(ZfpMode::FixedAccuracy(1e-3)),
        "7a66700532000000000090ca05310b000000000000000000"
    );
    assert_eq!(hex(ZfpMode::Reversible), "7a66700532000000000000880912bc01");
    let ramp: Vec<u8> = (0..8).flat_map(|i| (i as f32).to_le_bytes()).collect();
    let s = zfp::compress(&ramp, ZfpType::Float, &[8], ZfpMode::Reversible, true).unwrap();
    assert_eq!(
        s.to_vec(),
        unhex("7a6670057200000000000088050e5482c432010000000000")
    );
    // tolerance=0 and precision=0 are libzfp's defaults: "expert" mode, long header.
    let s = zfp::compress(
        &ramp,
        ZfpType::Float,
        &[8],
        ZfpMode::FixedAccuracy(0.0),
        true,
    )
    .unwrap();
    assert_eq!(zfp::read_header(&s).unwrap().bits, 148);
    let mut tail = [0u8; 16];
    tail[..9].copy_from_slice(&s[10..19]);
    let mode = (u128::from_le_bytes(tail) >> 4) as u64;
    assert_eq!(mode, 0x787a_fe08_8800_0fff);
}
