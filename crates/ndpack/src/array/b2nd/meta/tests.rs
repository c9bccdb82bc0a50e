//! Metalayer bytes against python-blosc2 4.15 and python-caterva 0.7.3 (the hex strings were
//! printed by `blosc2_ext.meta__getitem__(a.schunk, "b2nd")` and `caterva`'s `a.meta["caterva"]`
//! for the arrays named), and every check on bad values.

use super::*;

fn hex(s: &str) -> Vec<u8> {
    (0..s.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&s[i..i + 2], 16).unwrap())
        .collect()
}

fn meta(shape: &[usize], chunks: &[usize], blocks: &[usize], dtype: &str) -> ArrayMeta {
    ArrayMeta::new(
        shape.to_vec(),
        chunks.to_vec(),
        blocks.to_vec(),
        dtype.parse().unwrap(),
    )
    .unwrap()
}

/// (array, b2nd metalayer hex, shape, chunks, blocks, dtype string, itemsize)
/// A shape, chunk shape or block shape.
type Dims = &'static [usize];

const B2ND_GOLDEN: &[(&str, &str, Dims, Dims, Dims, &str, usize)] = &[
    (
        "blosc2.asarray(int32 30x40, chunks=(16,16), blocks=(8,8)) (the spec's example)",
        "97000292d3000000000000001ed3000000000000002892d200000010d20000001092d200000008d20000000800db000000033c6934",
        &[30, 40], &[16, 16], &[8, 8], "<i4", 4,
    ),
    (
        "blosc2.asarray(np.array(3.5))",
        "97000090909000db000000033c6638",
        &[], &[], &[], "<f8", 8,
    ),
    (
        "blosc2.asarray(arange(10, dtype='>u2'), chunks=(4,), blocks=(2,))",
        "97000191d3000000000000000a91d20000000491d20000000200db000000033e7532",
        &[10], &[4], &[2], ">u2", 2,
    ),
    (
        "blosc2.asarray(zeros(5, [('a','<i4'),('b','<f8')]), chunks=(3,), blocks=(2,))",
        "97000191d3000000000000000591d20000000391d20000000200db0000001c5b282761272c20273c693427292c20282762272c20273c663827295d",
        &[5], &[3], &[2], "[('a', '<i4'), ('b', '<f8')]", 12,
    ),
    (
        "blosc2.asarray(M8[ns] 2x3, chunks=(2,2), blocks=(1,2))",
        "97000292d30000000000000002d3000000000000000392d200000002d20000000292d200000001d20000000200db000000073c4d385b6e735d",
        &[2, 3], &[2, 2], &[1, 2], "<M8[ns]", 8,
    ),
    (
        "blosc2.asarray(['ab', 'cde'] as <U3, chunks=(2,), blocks=(1,))",
        "97000191d3000000000000000291d20000000291d20000000100db000000033c5533",
        &[2], &[2], &[1], "<U3", 12,
    ),
    (
        "blosc2.asarray(zeros((0, 5), 'f4')): chunks and blocks (0, 5)",
        "97000292d30000000000000000d3000000000000000592d200000000d20000000592d200000000d20000000500db000000033c6634",
        &[0, 5], &[0, 5], &[0, 5], "<f4", 4,
    ),
];

#[test]
fn b2nd_golden_bytes_parse_and_rebuild() {
    for &(what, h, shape, chunks, blocks, dtype, itemsize) in B2ND_GOLDEN {
        let bytes = hex(h);
        let m = ArrayMeta::from_b2nd(&bytes, itemsize).unwrap_or_else(|e| panic!("{what}: {e}"));
        assert_eq!(m.shape(), shape, "{what}");
        assert_eq!(m.chunks(), chunks, "{what}");
        assert_eq!(m.blocks(), blocks, "{what}");
        assert_eq!(m.dtype().as_str(), dtype, "{what}");
        assert_eq!(m.dtype().itemsize(), itemsize, "{what}");
        assert_eq!(m.to_b2nd(), bytes, "{what}");
        assert_eq!(
            meta(shape, chunks, blocks, dtype).to_b2nd(),
            bytes,
            "{what}"
        );
    }
}

#[test]
fn sixteen_dimensions_use_c_s_array_marker() {
    // blosc2.zeros((1,)*16, dtype='u1', chunks=(1,)*16, blocks=(1,)*16): C writes 0x90 + 16.
    let mut want = vec![0x97, 0x00, 0x10, 0xa0];
    for _ in 0..16 {
        want.extend_from_slice(&hex("d30000000000000001"));
    }
    let int32_ones = hex(&format!("a0{}", "d200000001".repeat(16)));
    want.extend_from_slice(&int32_ones);
    want.extend_from_slice(&int32_ones);
    want.extend_from_slice(&hex("00db000000037c7531"));
    let ones = vec![1; 16];
    let m = meta(&ones, &ones, &ones, "|u1");
    assert_eq!(m.to_b2nd(), want);
    assert_eq!(ArrayMeta::from_b2nd(&want, 1).unwrap(), m);
    let e = m.to_caterva().unwrap_err();
    assert_eq!(e.kind(), ErrorKind::InvalidArgument, "{e}");
}

#[test]
fn caterva_golden_bytes() {
    // caterva.asarray(int32 30x40, chunks=(16,16), blocks=(8,8)) and
    // caterva.asarray(zeros((3,4,5), 'f4'), chunks=(2,3,4), blocks=(1,2,3)).
    let cases: [(&str, Dims, Dims, Dims, usize); 2] = [
        (
            "95000292d3000000000000001ed3000000000000002892d200000010d20000001092d200000008d200000008",
            &[30, 40], &[16, 16], &[8, 8], 4,
        ),
        (
            "95000393d30000000000000003d30000000000000004d3000000000000000593d200000002d200000003d20000000493d200000001d200000002d200000003",
            &[3, 4, 5], &[2, 3, 4], &[1, 2, 3], 4,
        ),
    ];
    for (h, shape, chunks, blocks, itemsize) in cases {
        let bytes = hex(h);
        let m = ArrayMeta::from_caterva(&bytes, itemsize).unwrap();
        assert_eq!((m.shape(), m.chunks(), m.blocks()), (shape, chunks, blocks));
        // No dtype in a caterva metalayer: byte strings, as caterva 0.7.3 returns the items.
        assert_eq!(m.dtype().as_str(), format!("|S{itemsize}"));
        assert_eq!(m.to_caterva().unwrap(), bytes);
        // A b2nd metalayer without the dtype part (the C reader allows it): byte strings, as
        // python-blosc2 reads it.
        let mut b2nd = bytes.clone();
        b2nd[0] = 0x97;
        for _ in 0..2 {
            let b = ArrayMeta::from_b2nd(&b2nd, itemsize).unwrap();
            assert_eq!((b.shape(), b.chunks(), b.blocks()), (shape, chunks, blocks));
            assert_eq!(b.dtype().as_str(), format!("|S{itemsize}"));
            b2nd.push(0); // the dtype format alone
        }
    }
    // caterva refuses b2nd's bytes.
    let e = ArrayMeta::from_caterva(&hex(B2ND_GOLDEN[0].1), 4).unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Corrupt, "{e}");
}

#[test]
fn dtype_strings() {
    for (s, itemsize) in [
        ("<f4", 4),
        (">c16", 16),
        ("|b1", 1),
        ("|S7", 7),
        ("<m8[10s]", 8),
        ("[('a', '<i4', (2, 3)), ('b', [('x', '|u1')])]", 25),
        ("[('', '|V3'), ('b', '>i8')]", 11),
    ] {
        let d: Dtype = s.parse().unwrap();
        assert_eq!((d.as_str(), d.itemsize()), (s, itemsize));
    }
    // NumPy's dict form for records with offsets: raw records of its itemsize.
    let dict = "{'names': ['a', 'b'], 'formats': ['u1', '<i4'], 'offsets': [0, 4], 'itemsize': 8, 'aligned': True}";
    let d: Dtype = dict.parse().unwrap();
    assert_eq!((d.as_str(), d.itemsize()), (dict, 8));
    assert_eq!(d.data_type().to_string(), "|V8");
    // A record built in Rust is written as python-blosc2 writes it.
    let rec: Dtype = "[('a', '<i4'), ('b', '<f8')]".parse().unwrap();
    assert_eq!(Dtype::new(rec.descr().clone()).as_str(), rec.as_str());
    for bad in [
        "",
        "<f3",
        "garbage",
        "[('a', '<i4'",
        "|O",
        "[('a', '|O')]",
        "{'names': []}",
    ] {
        let e = bad.parse::<Dtype>().unwrap_err();
        assert_eq!(e.kind(), ErrorKind::UnsupportedDtype, "{bad:?}: {e}");
    }
}

#[test]
fn bad_values_are_errors() {
    let d = |s: &str| s.parse::<Dtype>().unwrap();
    let bad: &[(Dims, Dims, Dims, &str, ErrorKind)] = &[
        (&[4], &[0], &[0], "<i4", ErrorKind::InvalidArgument),
        (&[4], &[2], &[0], "<i4", ErrorKind::InvalidArgument),
        (&[4], &[2], &[3], "<i4", ErrorKind::InvalidArgument),
        (&[4], &[2, 2], &[1], "<i4", ErrorKind::InvalidArgument),
        (&[4], &[2], &[1], "|S0", ErrorKind::UnsupportedDtype),
        (&[1 << 62, 4], &[1, 1], &[1, 1], "<i4", ErrorKind::TooLarge),
        (
            &[1 << 40, 1 << 40],
            &[1, 1],
            &[1, 1],
            "|u1",
            ErrorKind::TooLarge,
        ),
        (&[4], &[1 << 31], &[1], "|u1", ErrorKind::TooLarge),
        (
            &[1 << 20, 1 << 20],
            &[1 << 16, 1 << 16],
            &[1, 1],
            "|u1",
            ErrorKind::TooLarge,
        ),
        (&[10], &[9], &[8], "|V300000000", ErrorKind::TooLarge),
    ];
    for &(shape, chunks, blocks, dtype, kind) in bad {
        let e =
            ArrayMeta::new(shape.to_vec(), chunks.to_vec(), blocks.to_vec(), d(dtype)).unwrap_err();
        assert_eq!(e.kind(), kind, "{shape:?} {chunks:?} {blocks:?}: {e}");
    }
    let seventeen = vec![1; 17];
    let e = ArrayMeta::new(seventeen.clone(), seventeen.clone(), seventeen, d("|u1")).unwrap_err();
    assert_eq!(e.kind(), ErrorKind::InvalidArgument, "{e}");
    // Zero dimensions may carry chunk and block 0 or any size.
    meta(&[0, 3], &[0, 3], &[0, 3], "<i2");
    meta(&[0, 3], &[5, 3], &[2, 3], "<i2");
    let m = meta(&[4, 3], &[2, 3], &[2, 3], "<i2");
    assert_eq!(m.with_shape(vec![9, 0]).unwrap().shape(), [9, 0]);
    assert!(m.with_shape(vec![9]).is_err());
}

#[test]
fn corrupt_metalayers_are_errors() {
    let good = hex(B2ND_GOLDEN[0].1);
    // Every truncation is an error, never a panic.
    for n in 0..good.len() {
        let e = ArrayMeta::from_b2nd(&good[..n], 4);
        // Cut right before the dtype format or the dtype string, the metalayer is still valid.
        if n == 44 || n == 45 {
            assert_eq!(e.unwrap().dtype().as_str(), "|S4");
            continue;
        }
        let e = e.unwrap_err();
        assert!(
            matches!(e.kind(), ErrorKind::Truncated | ErrorKind::Corrupt),
            "cut at {n}: {e}"
        );
    }
    let patch = |at: usize, v: &[u8]| {
        let mut b = good.clone();
        b[at..at + v.len()].copy_from_slice(v);
        b
    };
    let cases: &[(Vec<u8>, ErrorKind)] = &[
        (patch(0, &[0x98]), ErrorKind::Corrupt),
        (patch(1, &[1]), ErrorKind::Unsupported),
        (patch(2, &[17]), ErrorKind::Corrupt),
        (patch(3, &[0x93]), ErrorKind::Corrupt),
        // A generic msgpack encoder's fixint: the C reader would misread it.
        (patch(4, &[0xcf]), ErrorKind::Corrupt),
        // Negative shape, chunk 0, block > chunk.
        (patch(5, &[0xff]), ErrorKind::Corrupt),
        (patch(24, &[0, 0, 0, 0]), ErrorKind::Corrupt),
        (patch(35, &[0, 0, 0, 17]), ErrorKind::Corrupt),
        (patch(44, &[1]), ErrorKind::UnsupportedDtype),
        (patch(45, &[0xc4]), ErrorKind::Corrupt),
        (patch(48, &[4]), ErrorKind::Truncated),
        (patch(46, &[0x7f]), ErrorKind::TooLarge),
        (patch(50, b"<x4"), ErrorKind::UnsupportedDtype),
        (patch(50, b"<i8"), ErrorKind::Corrupt),
        (patch(50, &[0xff]), ErrorKind::Corrupt),
    ];
    for (i, (bytes, kind)) in cases.iter().enumerate() {
        let e = ArrayMeta::from_b2nd(bytes, 4).unwrap_err();
        assert_eq!(e.kind(), *kind, "case {i}: {e}");
        assert!(e.message().starts_with("b2nd metalayer: "), "{e}");
    }
    // A shape whose bytes overflow: (2^62, 8) of 4-byte items.
    let m = hex("97000292d34000000000000000d3000000000000000892d200000001d20000000192d200000001d20000000100db000000033c6934");
    let e = ArrayMeta::from_b2nd(&m, 4).unwrap_err();
    assert_eq!(e.kind(), ErrorKind::TooLarge, "{e}");
}
