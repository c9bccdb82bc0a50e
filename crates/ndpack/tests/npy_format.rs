//! NPY headers of every version and dtype, the writer, and hostile inputs of every kind: each
//! gives a clear error of the right kind, never a panic or a huge allocation.

use ndpack::npy::{self, Descr, Field, NpzOptions, NpzReader, NpzWriter, RecordType};
use ndpack::{Buffer, DataType, ErrorKind, Order};

/// An NPY file with the raw header text `dict` in format `version`, followed by `data`.
fn raw_npy(version: u8, dict: &str, data: &[u8]) -> Vec<u8> {
    let mut out = npy::MAGIC.to_vec();
    out.extend_from_slice(&[version, 0]);
    let mut text = dict.as_bytes().to_vec();
    text.push(b'\n');
    if version == 1 {
        out.extend_from_slice(&(text.len() as u16).to_le_bytes());
    } else {
        out.extend_from_slice(&(text.len() as u32).to_le_bytes());
    }
    out.extend_from_slice(&text);
    out.extend_from_slice(data);
    out
}

fn err_kind(bytes: &[u8]) -> ErrorKind {
    npy::read_npy(bytes).unwrap_err().kind()
}

const ALL_DTYPES: &[&str] = &[
    "|b1",
    "|i1",
    "|u1",
    "<i2",
    ">i2",
    "<u2",
    ">u2",
    "<i4",
    ">i4",
    "<u4",
    ">u4",
    "<i8",
    ">i8",
    "<u8",
    ">u8",
    "<f2",
    ">f2",
    "<f4",
    ">f4",
    "<f8",
    ">f8",
    "<c8",
    ">c8",
    "<c16",
    ">c16",
    "|S1",
    "|S7",
    "<U1",
    ">U5",
    "|V3",
    "<M8[ns]",
    ">M8[D]",
    "<m8[s]",
    "<M8",
    "<m8[10us]",
];

#[test]
fn every_dtype_every_version_both_orders() {
    for s in ALL_DTYPES {
        let dt: DataType = s.parse().unwrap();
        let data = vec![0xA5u8; dt.itemsize() * 6];
        for version in [1u8, 2, 3] {
            for (order, flag) in [(Order::C, "False"), (Order::F, "True")] {
                let dict =
                    format!("{{'descr': '{s}', 'fortran_order': {flag}, 'shape': (2, 3), }}");
                let bytes = raw_npy(version, &dict, &data);
                let v = npy::read_npy(&bytes).unwrap();
                assert_eq!(v.header().version, (version, 0));
                assert_eq!(v.descr(), &Descr::Scalar(dt.clone()), "{s}");
                assert_eq!(v.order(), order);
                assert_eq!(v.shape(), &[2, 3]);
                assert_eq!(v.data().len(), data.len());
                let isz = dt.itemsize();
                let want = if order == Order::C {
                    vec![3 * isz, isz]
                } else {
                    vec![isz, 2 * isz]
                };
                assert_eq!(v.byte_strides(), want);
            }
        }
        // Written and read back.
        let w = npy::write_npy_to_vec(&Descr::Scalar(dt.clone()), &[6], Order::C, &data).unwrap();
        assert_eq!(w.len() % 64, data.len() % 64, "{s}: header padded to 64");
        let v = npy::read_npy(&w).unwrap();
        assert_eq!(v.descr().to_literal(), format!("'{s}'"));
    }
}

#[test]
fn literal_syntax_variants() {
    // Key order, spacing, double quotes, no trailing comma, Python 2 long suffix, u-prefix.
    for dict in [
        "{'shape': (2,), 'fortran_order': False, 'descr': '<i2'}",
        "{ \"descr\" : \"<i2\" ,\n 'fortran_order':False,'shape':( 2 , ) }",
        "{'descr': u'<i2', 'fortran_order': False, 'shape': (2L,), }",
        "{'descr': '<i2', 'fortran_order': False, 'shape': [2], }",
    ] {
        let b = raw_npy(1, dict, &[1, 0, 2, 0]);
        match npy::read_npy(&b) {
            Ok(v) => assert_eq!(v.shape(), &[2], "{dict}"),
            Err(e) => {
                assert!(dict.contains("[2]"), "{dict}: {e}");
                assert_eq!(e.kind(), ErrorKind::Corrupt);
            }
        }
    }
    // `(2)` is the integer 2, not a tuple: not a valid shape.
    let b = raw_npy(
        1,
        "{'descr': '<i2', 'fortran_order': False, 'shape': (2)}",
        &[0; 4],
    );
    assert_eq!(err_kind(&b), ErrorKind::Corrupt);
}

#[test]
fn records_with_titles_subarrays_and_nesting() {
    let dict = "{'descr': [(('Title', 'a'), '<i4'), ('b', '>f4', (2, 2)), ('c', [('d', [('e', '|u1')], 3)])], 'fortran_order': False, 'shape': (1,), }";
    let b = raw_npy(1, dict, &[0u8; 4 + 16 + 3]);
    let v = npy::read_npy(&b).unwrap();
    let Descr::Record(r) = v.descr() else {
        panic!()
    };
    assert_eq!(r.itemsize(), 23);
    assert_eq!(r.fields()[0].title.as_deref(), Some("Title"));
    assert_eq!(r.fields()[1].shape, vec![2, 2]);
    assert_eq!(
        v.descr().to_literal(),
        "[(('Title', 'a'), '<i4'), ('b', '>f4', (2, 2)), ('c', [('d', [('e', '|u1')], (3,))])]"
    );
    // Names needing escapes survive a write/read round trip.
    let rec = RecordType::new(vec![Field {
        name: "it's \"x\"\\".into(),
        title: None,
        descr: Descr::Scalar("<f8".parse().unwrap()),
        shape: vec![],
    }])
    .unwrap();
    let d = Descr::Record(rec);
    let w = npy::write_npy_to_vec(&d, &[1], Order::C, &[0; 8]).unwrap();
    assert_eq!(npy::read_npy(&w).unwrap().descr(), &d);
}

#[test]
fn written_headers_pick_versions_like_numpy() {
    let dt = Descr::Scalar("<f8".parse().unwrap());
    let h = npy::write_header(&dt, &[3], Order::C);
    assert_eq!(
        h,
        b"\x93NUMPY\x01\x00v\x00{'descr': '<f8', 'fortran_order': False, 'shape': (3,), }                                                            \n"
    );
    // Fortran flag only when the layout differs from C.
    for (shape, fortran) in [
        (vec![2, 3], true),
        (vec![1, 3], false),
        (vec![0, 3], false),
        (vec![5], false),
    ] {
        let h = npy::write_header(&dt, &shape, Order::F);
        let p = npy::parse_header(&h).unwrap();
        assert_eq!(p.order == Order::F, fortran, "{shape:?}");
    }
    // A header over 64 KiB needs version 2.0; a non-Latin-1 name needs 3.0.
    let many: Vec<Field> = (0..3000)
        .map(|i| Field {
            name: format!("field_{i:05}"),
            title: None,
            descr: Descr::Scalar("|u1".parse().unwrap()),
            shape: vec![],
        })
        .collect();
    let big = Descr::Record(RecordType::new(many).unwrap());
    assert_eq!(
        npy::parse_header(&npy::write_header(&big, &[1], Order::C))
            .unwrap()
            .version,
        (2, 0)
    );
    let uni = Descr::Record(
        RecordType::new(vec![Field {
            name: "名".into(),
            title: None,
            descr: Descr::Scalar("|u1".parse().unwrap()),
            shape: vec![],
        }])
        .unwrap(),
    );
    let h = npy::write_header(&uni, &[1], Order::C);
    assert_eq!(npy::parse_header(&h).unwrap().version, (3, 0));
    assert_eq!(h.len() % 64, 0);
}

#[test]
fn hostile_npy_headers() {
    let ok = "{'descr': '<i2', 'fortran_order': False, 'shape': (2,), }";
    let cases: Vec<(Vec<u8>, ErrorKind)> = vec![
        (b"PK\x03\x04 not npy".to_vec(), ErrorKind::Corrupt),
        (b"\x93NUMP".to_vec(), ErrorKind::Corrupt),
        (b"\x93NUMPY\x01".to_vec(), ErrorKind::Truncated),
        (b"\x93NUMPY\x01\x00\x50".to_vec(), ErrorKind::Truncated),
        (raw_npy(1, ok, &[1, 0, 2, 0])[..30].to_vec(), ErrorKind::Truncated),
        ({
            let mut b = raw_npy(1, ok, &[0; 4]);
            b[6] = 4;
            b
        }, ErrorKind::Unsupported),
        (raw_npy(1, ok, &[1, 0, 2]), ErrorKind::Truncated),
        (raw_npy(1, ok, &[1, 0, 2, 0, 0]), ErrorKind::Corrupt),
        (raw_npy(1, "{'descr': __import__('os').system('x'), 'fortran_order': False, 'shape': (2,)}", &[0; 4]), ErrorKind::Corrupt),
        (raw_npy(1, "{'descr': '<i2', 'fortran_order': False}", &[0; 4]), ErrorKind::Corrupt),
        (raw_npy(1, "{'descr': '<i2', 'fortran_order': False, 'shape': (2,), 'x': 1}", &[0; 4]), ErrorKind::Corrupt),
        (raw_npy(1, "{'descr': '<i2', 'fortran_order': 0, 'shape': (2,)}", &[0; 4]), ErrorKind::Corrupt),
        (raw_npy(1, "{'descr': '<i2', 'fortran_order': False, 'shape': (-2,)}", &[0; 4]), ErrorKind::Corrupt),
        (raw_npy(1, "{'descr': '<i2', 'fortran_order': False, 'shape': (2.0,)}", &[0; 4]), ErrorKind::Corrupt),
        (raw_npy(1, "{'descr': '<i2', 'fortran_order': False, 'shape': (99999999999999999999999999999999999999999,)}", &[]), ErrorKind::TooLarge),
        (raw_npy(1, "{'descr': '<i2', 'fortran_order': False, 'shape': (4294967296, 4294967296, 4294967296)}", &[]), ErrorKind::TooLarge),
        (raw_npy(1, "{'descr': '<i8', 'fortran_order': False, 'shape': (1152921504606846976,)}", &[]), ErrorKind::TooLarge),
        (raw_npy(1, "{'descr': '<i8', 'fortran_order': False, 'shape': (1000000000,)}", &[0; 8]), ErrorKind::Truncated),
        (raw_npy(1, "{'descr': '|O', 'fortran_order': False, 'shape': (1,)}", &[0; 8]), ErrorKind::Unsupported),
        (raw_npy(1, "{'descr': [('a', '|O')], 'fortran_order': False, 'shape': (1,)}", &[0; 8]), ErrorKind::Unsupported),
        (raw_npy(1, "{'descr': '<q7', 'fortran_order': False, 'shape': (1,)}", &[0; 8]), ErrorKind::UnsupportedDtype),
        (raw_npy(1, "{'descr': [('a', '<i2'), ('a', '<i2')], 'fortran_order': False, 'shape': (1,)}", &[0; 4]), ErrorKind::Corrupt),
        (raw_npy(1, "{'descr': '<i2', 'fortran_order': False, 'shape': (2,), } junk", &[0; 4]), ErrorKind::Corrupt),
        (raw_npy(1, "['descr', '<i2']", &[0; 4]), ErrorKind::Corrupt),
        (raw_npy(1, "{'descr': '<i2\\", &[0; 4]), ErrorKind::Corrupt),
        (raw_npy(3, "{'descr': '<i2', 'fortran_order': False, 'shape': (2,)}", &[0xFF; 4])
            .into_iter()
            .enumerate()
            .map(|(i, b)| if i == 14 { 0xFF } else { b })
            .collect(), ErrorKind::Corrupt),
        (raw_npy(1, &format!("{}{}", "[".repeat(5000), "]".repeat(5000)), &[]), ErrorKind::Corrupt),
        (raw_npy(1, &format!("{{'descr': {}'<i2'{}, 'fortran_order': False, 'shape': ()}}", "[('a', ".repeat(40), ")]".repeat(40)), &[0; 2]), ErrorKind::Corrupt),
        ({
            let mut b = npy::MAGIC.to_vec();
            b.extend_from_slice(&[2, 0]);
            b.extend_from_slice(&u32::MAX.to_le_bytes());
            b
        }, ErrorKind::TooLarge),
    ];
    for (i, (bytes, kind)) in cases.iter().enumerate() {
        let e = npy::read_npy(bytes).unwrap_err();
        assert_eq!(e.kind(), *kind, "case {i}: {e}");
        assert!(!e.message().is_empty());
    }
}

#[test]
fn every_truncation_and_bit_flip_of_a_file_is_handled() {
    let data: Vec<u8> = (0..24).collect();
    let rec = Descr::Record(
        RecordType::new(vec![
            Field {
                name: "a".into(),
                title: None,
                descr: Descr::Scalar("<i4".parse().unwrap()),
                shape: vec![],
            },
            Field {
                name: "b".into(),
                title: None,
                descr: Descr::Scalar(">f4".parse().unwrap()),
                shape: vec![2],
            },
        ])
        .unwrap(),
    );
    let bytes = npy::write_npy_to_vec(&rec, &[2], Order::C, &data).unwrap();
    for n in 0..bytes.len() {
        assert!(npy::read_npy(&bytes[..n]).is_err(), "prefix of {n} bytes");
    }
    for i in 0..bytes.len() {
        for bit in 0..8 {
            let mut b = bytes.clone();
            b[i] ^= 1 << bit;
            let _ = npy::read_npy(&b);
        }
    }
}

fn sample_npz(compress: bool) -> Vec<u8> {
    let a: Vec<u8> = (0..200u8).collect();
    let b: Vec<u8> = vec![7; 64];
    let mut w = NpzWriter::new(compress);
    w.add_array(
        "a",
        &Descr::Scalar("|u1".parse().unwrap()),
        &[200],
        Order::C,
        &a,
    );
    w.add_array(
        "b",
        &Descr::Scalar("<f8".parse().unwrap()),
        &[2, 4],
        Order::F,
        &b,
    );
    w.finish().unwrap()
}

#[test]
fn npz_writer_round_trip_stored_and_deflated() {
    for compress in [false, true] {
        let z = NpzReader::open(Buffer::from_vec(sample_npz(compress))).unwrap();
        assert_eq!(z.files(), vec!["a", "b"]);
        assert!(z
            .members()
            .iter()
            .all(|m| m.method == if compress { 8 } else { 0 }));
        for (k, e) in z.read_all().unwrap() {
            let npy::NpzEntry::Array(a) = e else { panic!() };
            if k == "b" {
                assert_eq!(a.order(), Order::F);
                assert_eq!(a.shape(), &[2, 4]);
                assert!(a.data().iter().all(|&x| x == 7));
            } else {
                assert_eq!(a.data().to_vec(), (0..200u8).collect::<Vec<_>>());
            }
        }
    }
}

/// Offsets of the fields of the first central directory entry and of the end record.
fn cd_and_eocd(zip: &[u8]) -> (usize, usize) {
    let eocd = zip.len() - 22;
    let cd = u32::from_le_bytes(zip[eocd + 16..eocd + 20].try_into().unwrap()) as usize;
    (cd, eocd)
}

#[test]
fn hostile_npz_archives() {
    let good = sample_npz(true);
    let (cd, eocd) = cd_and_eocd(&good);
    let set32 =
        |b: &mut Vec<u8>, at: usize, v: u32| b[at..at + 4].copy_from_slice(&v.to_le_bytes());
    let open = |b: Vec<u8>| NpzReader::open(Buffer::from_vec(b));
    let read_first = |b: Vec<u8>| open(b).and_then(|z| z.read_index(0).map(|_| ()));

    // A member claiming a huge uncompressed size.
    let mut b = good.clone();
    set32(&mut b, cd + 24, 0xFFFF_FFF0);
    assert_eq!(open(b).unwrap_err().kind(), ErrorKind::TooLarge);
    // A member claiming more or fewer bytes than it inflates to.
    for delta in [-1i64, 1] {
        let mut b = good.clone();
        let size = u32::from_le_bytes(b[cd + 24..cd + 28].try_into().unwrap());
        set32(&mut b, cd + 24, (size as i64 + delta) as u32);
        let kind = read_first(b).unwrap_err().kind();
        assert!(
            matches!(kind, ErrorKind::Corrupt | ErrorKind::Truncated),
            "{delta}: {kind:?}"
        );
    }
    // Every single-byte corruption of the first member's deflate stream is an error (bad data,
    // wrong length or CRC mismatch) or, in padding bits, the same bytes; never a panic.
    let local = u32::from_le_bytes(good[cd + 42..cd + 46].try_into().unwrap()) as usize;
    let name_len = u16::from_le_bytes(good[local + 26..local + 28].try_into().unwrap()) as usize;
    let extra_len = u16::from_le_bytes(good[local + 28..local + 30].try_into().unwrap()) as usize;
    let start = local + 30 + name_len + extra_len;
    let csize = u32::from_le_bytes(good[cd + 20..cd + 24].try_into().unwrap()) as usize;
    let original = open(good.clone())
        .unwrap()
        .member_bytes(0)
        .unwrap()
        .to_vec();
    for at in start..start + csize {
        let mut b = good.clone();
        b[at] ^= 0x5a;
        // A flip in the unused padding bits of the last byte changes nothing: then the bytes
        // must be exactly the original ones.
        if let Ok(bytes) = open(b).and_then(|z| z.member_bytes(0)) {
            assert_eq!(bytes.to_vec(), original, "flip at {at} gave other bytes");
        }
    }
    // CRC mismatch.
    let mut b = good.clone();
    b[cd + 16] ^= 1;
    assert_eq!(
        read_first(b).unwrap_err().kind(),
        ErrorKind::ChecksumMismatch
    );
    // Local header offset out of range, and pointing at the other member (overlap).
    let mut b = good.clone();
    set32(&mut b, cd + 42, 0x7FFF_FFFF);
    assert_eq!(open(b).unwrap_err().kind(), ErrorKind::Corrupt);
    let second_cd = cd + 46 + "a.npy".len();
    let mut b = good.clone();
    let first_off = u32::from_le_bytes(b[cd + 42..cd + 46].try_into().unwrap());
    set32(&mut b, second_cd + 42, first_off);
    assert_eq!(open(b).unwrap_err().kind(), ErrorKind::Corrupt);
    // Compressed size running into the central directory.
    let mut b = good.clone();
    set32(&mut b, cd + 20, 0x10_0000);
    assert_eq!(open(b).unwrap_err().kind(), ErrorKind::Corrupt);
    // Central directory size/offset out of range.
    let mut b = good.clone();
    set32(&mut b, eocd + 12, 0x7FFF_FFFF);
    assert_eq!(open(b).unwrap_err().kind(), ErrorKind::Corrupt);
    let mut b = good.clone();
    set32(&mut b, eocd + 16, 0x7FFF_FFFF);
    assert_eq!(open(b).unwrap_err().kind(), ErrorKind::Corrupt);
    // Limits on declared sizes.
    let opts = NpzOptions {
        max_uncompressed_bytes: Some(100),
        verify_crc: true,
    };
    assert_eq!(
        NpzReader::open_with(Buffer::from_vec(good.clone()), &opts)
            .unwrap_err()
            .kind(),
        ErrorKind::TooLarge
    );
    // Unsupported method, encrypted member.
    let mut b = good.clone();
    b[cd + 10] = 12;
    assert_eq!(read_first(b).unwrap_err().kind(), ErrorKind::Unsupported);
    let mut b = good.clone();
    b[cd + 8] |= 1;
    assert_eq!(read_first(b).unwrap_err().kind(), ErrorKind::Unsupported);
    // Not a ZIP at all.
    assert_eq!(
        open(b"\x93NUMPY".to_vec()).unwrap_err().kind(),
        ErrorKind::Truncated
    );
    assert_eq!(open(vec![0; 100]).unwrap_err().kind(), ErrorKind::Corrupt);
    assert_eq!(open(Vec::new()).unwrap_err().kind(), ErrorKind::Corrupt);
}

#[test]
fn every_truncation_and_bit_flip_of_an_archive_is_handled() {
    for compress in [false, true] {
        let good = sample_npz(compress);
        for n in 0..good.len() {
            if let Ok(z) = NpzReader::open(Buffer::from_vec(good[..n].to_vec())) {
                let _ = z.read_all();
            }
        }
        for i in 0..good.len() {
            let mut b = good.clone();
            b[i] ^= 0x55;
            if let Ok(z) = NpzReader::open(Buffer::from_vec(b)) {
                if let Ok(all) = z.read_all() {
                    // A flipped byte that still reads must have been outside CRC-checked data.
                    assert_eq!(all.len(), 2);
                }
            }
        }
    }
}

#[test]
fn prepended_bytes_are_tolerated_like_zipfile() {
    let mut b = b"#!/bin/sh\n".to_vec();
    b.extend_from_slice(&sample_npz(false));
    let z = NpzReader::open(Buffer::from_vec(b)).unwrap();
    assert_eq!(z.read_all().unwrap().len(), 2);
}
