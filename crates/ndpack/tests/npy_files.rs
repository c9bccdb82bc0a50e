//! NPY/NPZ files written by NumPy: golden files in `tests/data/npy` (generated once with NumPy
//! 2.4 and Python's zipfile) and the real files in `../shared/fixtures`.

mod common;

use std::path::PathBuf;

use ndpack::npy::{self, Descr, NpzEntry, NpzReader, NpzWriter};
use ndpack::{Buffer, ErrorKind, Order};

fn data_dir() -> PathBuf {
    common::data("npy")
}

fn fixtures() -> PathBuf {
    common::fixtures("")
}

fn golden(name: &str) -> Vec<u8> {
    std::fs::read(data_dir().join(name)).unwrap()
}

fn le_f64(b: &[u8]) -> Vec<f64> {
    b.chunks_exact(8)
        .map(|c| f64::from_le_bytes(c.try_into().unwrap()))
        .collect()
}

/// Writing the parsed header and data back gives NumPy's bytes exactly.
fn assert_rewrites_identically(bytes: &[u8]) {
    let v = npy::read_npy(bytes).unwrap();
    let again = npy::write_npy_to_vec(v.descr(), v.shape(), v.order(), v.data()).unwrap();
    assert!(again == bytes, "rewritten header differs from NumPy's");
}

/// Files written by older NumPy versions lack the growth-axis padding of current headers: what
/// we write for them reads back to the same header and data.
fn assert_rewrites_equivalently(bytes: &[u8]) {
    let v = npy::read_npy(bytes).unwrap();
    let again = npy::write_npy_to_vec(v.descr(), v.shape(), v.order(), v.data()).unwrap();
    let w = npy::read_npy(&again).unwrap();
    assert_eq!(w.descr(), v.descr());
    assert_eq!(w.shape(), v.shape());
    assert_eq!(w.order(), v.order());
    assert!(w.data() == v.data());
    assert_eq!(w.header().data_offset % 64, 0);
}

#[test]
fn plain_c_order_f8() {
    let b = golden("f8_c.npy");
    let v = npy::read_npy(&b).unwrap();
    assert_eq!(v.header().version, (1, 0));
    assert_eq!(v.descr(), &Descr::Scalar("<f8".parse().unwrap()));
    assert_eq!(v.shape(), &[2, 3]);
    assert_eq!(v.order(), Order::C);
    assert_eq!(v.byte_strides(), vec![24, 8]);
    assert_eq!(le_f64(v.data()), vec![0.0, 1.0, 2.0, 3.0, 4.0, 5.0]);
    assert_eq!(v.data_range(), 128..176);
    // Zero copy: the data is inside the input.
    assert_eq!(v.data().as_ptr(), b[128..].as_ptr());
    assert_rewrites_identically(&b);
}

#[test]
fn big_endian_fortran_order() {
    let b = golden("i4_be_f.npy");
    let v = npy::read_npy(&b).unwrap();
    assert_eq!(v.descr().to_literal(), "'>i4'");
    assert_eq!(v.order(), Order::F);
    assert_eq!(v.byte_strides(), vec![4, 8]);
    // np.asfortranarray(arange(6).reshape(2, 3)): memory holds columns 0 3 1 4 2 5.
    let vals: Vec<i32> = v
        .data()
        .chunks_exact(4)
        .map(|c| i32::from_be_bytes(c.try_into().unwrap()))
        .collect();
    assert_eq!(vals, vec![0, 3, 1, 4, 2, 5]);
    assert_rewrites_identically(&b);
}

#[test]
fn zero_d_empty_and_other_kinds() {
    let s = golden("scalar_c16.npy");
    let v = npy::read_npy(&s).unwrap();
    assert!(v.shape().is_empty());
    assert_eq!(le_f64(v.data()), vec![1.5, -2.0]);
    assert_rewrites_identically(&s);

    let e = golden("empty_u2.npy");
    let v = npy::read_npy(&e).unwrap();
    assert_eq!(v.shape(), &[0, 4]);
    assert!(v.data().is_empty());
    assert_rewrites_identically(&e);

    for (name, literal, len) in [
        ("datetime.npy", "'<M8[D]'", 16),
        ("bool.npy", "'|b1'", 3),
        ("bytes_s3.npy", "'|S3'", 6),
    ] {
        let b = golden(name);
        let v = npy::read_npy(&b).unwrap();
        assert_eq!(v.descr().to_literal(), literal, "{name}");
        assert_eq!(v.data().len(), len, "{name}");
        assert_rewrites_identically(&b);
    }
    assert_eq!(
        npy::read_npy(&golden("bytes_s3.npy")).unwrap().data(),
        b"abcd\0\0"
    );
}

#[test]
fn nested_and_padded_records() {
    let b = golden("record_nested.npy");
    let v = npy::read_npy(&b).unwrap();
    let Descr::Record(r) = v.descr() else {
        panic!("not a record")
    };
    assert_eq!(r.itemsize(), 4 + 16 + 1 + 8);
    let names: Vec<&str> = r.fields().iter().map(|f| f.name.as_str()).collect();
    assert_eq!(names, ["a", "b", "c"]);
    assert_eq!(r.fields()[1].shape, vec![2]);
    assert!(matches!(r.fields()[2].descr, Descr::Record(_)));
    assert_eq!(
        v.descr().to_literal(),
        "[('a', '<i4'), ('b', '>f8', (2,)), ('c', [('x', '|u1'), ('y', '<U2')])]"
    );
    // Record 1: a = -2, b = [2.5, 3.5] big endian, x = 8, y = "yo".
    let rec1 = &v.data()[29..58];
    assert_eq!(i32::from_le_bytes(rec1[..4].try_into().unwrap()), -2);
    assert_eq!(f64::from_be_bytes(rec1[4..12].try_into().unwrap()), 2.5);
    assert_eq!(rec1[20], 8);
    assert_eq!(&rec1[21..29], b"y\0\0\0o\0\0\0");
    assert_rewrites_identically(&b);

    let p = golden("record_padded.npy");
    let v = npy::read_npy(&p).unwrap();
    assert_eq!(v.descr().itemsize(), 12);
    assert_eq!(
        v.descr().to_literal(),
        "[('a', '|u1'), ('', '|V3'), ('b', '<i4'), ('', '|V4')]"
    );
    assert_rewrites_identically(&p);
    let nd = npy::NpyArray::from_buffer(Buffer::from_vec(p))
        .unwrap()
        .into_ndbuffer()
        .unwrap();
    assert_eq!(nd.dtype().to_string(), "|V12");
}

#[test]
fn versions_two_and_three() {
    let b = golden("v2_f4.npy");
    let v = npy::read_npy(&b).unwrap();
    assert_eq!(v.header().version, (2, 0));
    assert_eq!(v.data().len(), 12);
    // ndpack, like np.save, writes the oldest version that fits: 1.0 here.
    let ours = npy::write_npy_to_vec(v.descr(), v.shape(), v.order(), v.data()).unwrap();
    assert_eq!(npy::read_npy(&ours).unwrap().header().version, (1, 0));

    let u = golden("v3_unicode_names.npy");
    let v = npy::read_npy(&u).unwrap();
    assert_eq!(v.header().version, (3, 0));
    let Descr::Record(r) = v.descr() else {
        panic!()
    };
    assert_eq!(r.fields()[0].name, "é");
    assert_eq!(r.fields()[1].name, "名");
    assert_rewrites_identically(&u);
}

fn array(e: NpzEntry) -> npy::NpyArray {
    match e {
        NpzEntry::Array(a) => a,
        NpzEntry::Bytes(_) => panic!("not an array"),
    }
}

#[test]
fn npz_stored_is_zero_copy() {
    let buf = Buffer::from_vec(golden("stored.npz"));
    let z = NpzReader::open(buf.clone()).unwrap();
    assert_eq!(z.files(), vec!["a", "b"]);
    let a = array(z.read("a").unwrap());
    assert_eq!(a.shape(), &[4]);
    let vals: Vec<i64> = a
        .data()
        .chunks_exact(8)
        .map(|c| i64::from_le_bytes(c.try_into().unwrap()))
        .collect();
    assert_eq!(vals, vec![0, 1, 2, 3]);
    let start = a.data().as_ptr() as usize - buf.as_ptr() as usize;
    assert!(
        start < buf.len(),
        "stored member data lies inside the archive"
    );
    let b = array(z.read("b.npy").unwrap());
    assert_eq!(b.descr().to_literal(), "'<f4'");
    assert!(z.read("c").is_err());
}

#[test]
fn npz_deflated_parallel() {
    let z = NpzReader::open(Buffer::from_vec(golden("deflated.npz"))).unwrap();
    assert_eq!(z.files(), vec!["arr_0", "arr_1", "arr_2"]);
    let all = z.read_all().unwrap();
    assert_eq!(all.len(), 3);
    let (k0, e0) = &all[0];
    assert_eq!(k0, "arr_0");
    let a0 = array(e0.clone());
    let vals: Vec<u16> = a0
        .data()
        .chunks_exact(2)
        .map(|c| u16::from_le_bytes(c.try_into().unwrap()))
        .collect();
    assert_eq!(vals, (0..100).collect::<Vec<u16>>());
    let a1 = array(all[1].1.clone());
    assert_eq!(
        a1.order(),
        Order::F,
        "np.ones((3, 3), order='F') is saved in Fortran order"
    );
    let a2 = array(all[2].1.clone());
    assert!(matches!(a2.descr(), Descr::Record(_)));
    assert_eq!(
        a2.data()[..],
        npy::read_npy(&golden("record_nested.npy")).unwrap().data()[..]
    );
}

#[test]
fn npz_zip64_end_records() {
    let z = NpzReader::open(Buffer::from_vec(golden("zip64.npz"))).unwrap();
    assert_eq!(z.files(), vec!["x", "y"]);
    let x = array(z.read("x").unwrap());
    assert_eq!(x.data().len(), 10);
    assert_eq!(le_f64(array(z.read("y").unwrap()).data()), vec![1.0]);
}

#[test]
fn npz_writer_round_trip_many_members_zip64() {
    // 70 000 members need ZIP64 end records (more than 65 535 entries).
    let data: Vec<u8> = vec![1, 2, 3, 4];
    let descr = Descr::Scalar("|u1".parse().unwrap());
    let mut w = NpzWriter::new(false);
    for i in 0..70_000 {
        w.add_array(&format!("m{i}"), &descr, &[4], Order::C, &data);
    }
    let bytes = w.finish().unwrap();
    let z = NpzReader::open(Buffer::from_vec(bytes)).unwrap();
    assert_eq!(z.members().len(), 70_000);
    assert_eq!(array(z.read("m69999").unwrap()).data()[..], data[..]);
}

#[test]
fn crc_mismatch_is_reported() {
    let mut b = golden("stored.npz");
    let z = NpzReader::open(Buffer::from_vec(b.clone())).unwrap();
    let r = z.members()[0].data_range.clone();
    b[r.end - 1] ^= 0xFF;
    let z = NpzReader::open(Buffer::from_vec(b)).unwrap();
    assert_eq!(z.read("a").unwrap_err().kind(), ErrorKind::ChecksumMismatch);
    assert!(z.read("b").is_ok());
}

#[test]
fn shared_fixtures_npz_and_npy() {
    let dir = fixtures().join("npz");
    let dem = NpzReader::open(Buffer::from_vec(
        std::fs::read(dir.join("jacksboro_fault_dem.npz")).unwrap(),
    ))
    .unwrap();
    assert!(dem.files().contains(&"elevation"));
    let elevation = array(dem.read("elevation").unwrap());
    assert_eq!(elevation.shape(), &[344, 403]);
    assert_eq!(elevation.descr().to_literal(), "'<i2'");
    for (k, e) in dem.read_all().unwrap() {
        if k != "elevation" {
            assert!(array(e).shape().is_empty(), "{k} is 0-d");
        }
    }

    let topo = NpzReader::open(Buffer::from_vec(
        std::fs::read(dir.join("topobathy.npz")).unwrap(),
    ))
    .unwrap();
    assert!(topo.members().iter().all(|m| m.method == 0));
    assert_eq!(array(topo.read("topo").unwrap()).shape(), &[91, 120]);

    let goog = NpzReader::open(Buffer::from_vec(
        std::fs::read(dir.join("goog.npz")).unwrap(),
    ))
    .unwrap();
    let price = array(goog.read("price_data").unwrap());
    assert_eq!(price.shape(), &[1047]);
    assert_eq!(price.descr().itemsize(), 56);
    assert!(matches!(price.descr(), Descr::Record(_)));

    let b = std::fs::read(dir.join("bivariate_normal.npy")).unwrap();
    let v = npy::read_npy(&b).unwrap();
    assert_eq!(v.shape(), &[15, 15]);
    assert_rewrites_equivalently(&b);
}

#[test]
fn shared_fixtures_numcodecs_arrays() {
    let mut seen = 0;
    for codec in std::fs::read_dir(fixtures().join("numcodecs")).unwrap() {
        let codec = codec.unwrap().path();
        if !codec.is_dir() {
            continue;
        }
        for f in std::fs::read_dir(&codec).unwrap() {
            let p = f.unwrap().path();
            let name = p.file_name().unwrap().to_string_lossy().into_owned();
            if !(name.starts_with("array.") && name.ends_with(".npy")) {
                continue;
            }
            let b = std::fs::read(&p).unwrap();
            match npy::read_npy(&b) {
                Ok(v) => {
                    seen += 1;
                    assert_eq!(v.data().len(), v.header().data_len().unwrap());
                    assert_rewrites_equivalently(&b);
                }
                Err(e) => assert_eq!(e.kind(), ErrorKind::Unsupported, "{}: {e}", p.display()),
            }
        }
    }
    assert!(seen > 50, "only {seen} numcodecs arrays read");
}
