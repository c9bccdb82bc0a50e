use super::*;

#[test]
fn dims_parse() {
    assert_eq!(parse_dims("100,100", "--chunks").unwrap(), [100, 100]);
    assert_eq!(parse_dims("(5,)", "--chunks").unwrap(), [5]);
    assert!(parse_dims("", "--chunks").unwrap().is_empty());
    assert!(parse_dims("1,-2", "--chunks").is_err());
}

#[test]
fn cparams_from_options() {
    let opts = PackOptions {
        codec: Some("LZ4".into()),
        clevel: Some(7),
        filters: Some("delta, trunc_prec:10,shuffle".into()),
        ..Default::default()
    };
    let c = cparams(&opts).unwrap();
    assert_eq!(c.codec.name(), "lz4");
    assert_eq!(c.clevel, 7);
    assert_eq!(
        c.filters,
        [
            Filter::NoFilter,
            Filter::NoFilter,
            Filter::NoFilter,
            Filter::Delta,
            Filter::TruncPrec,
            Filter::Shuffle
        ]
    );
    assert_eq!(c.filters_meta, [0, 0, 0, 0, 10, 0]);
    assert_eq!(filters_text(&c), "delta, trunc_prec:10, shuffle");
    let none = PackOptions {
        filters: Some("nofilter".into()),
        ..Default::default()
    };
    assert_eq!(filters_text(&cparams(&none).unwrap()), "nofilter");
    // python-blosc2's defaults.
    let d = cparams(&PackOptions::default()).unwrap();
    assert_eq!((d.codec.name(), d.clevel), ("zstd", 5));
    assert_eq!(filters_text(&d), "shuffle");
    for bad in [
        PackOptions {
            codec: Some("snappy".into()),
            ..Default::default()
        },
        PackOptions {
            clevel: Some(10),
            ..Default::default()
        },
        PackOptions {
            filters: Some("shuffle,bogus".into()),
            ..Default::default()
        },
        PackOptions {
            filters: Some("trunc_prec:999".into()),
            ..Default::default()
        },
        PackOptions {
            filters: Some("shuffle,shuffle,shuffle,shuffle,shuffle,shuffle,shuffle".into()),
            ..Default::default()
        },
    ] {
        let e = cparams(&bad).unwrap_err();
        assert_eq!(e.kind(), ndpack::ErrorKind::InvalidArgument, "{e}");
    }
}

#[test]
fn tuples_print_as_python() {
    assert_eq!(tuple(&[]), "()");
    assert_eq!(tuple(&[5]), "(5,)");
    assert_eq!(tuple(&[2, 3]), "(2, 3)");
}

#[test]
fn vlmeta_values_print_as_python() {
    // msgpack of {"a": [1, -2, 2.5, None, True], "b": "x"}
    let bytes = [
        0x82, 0xa1, b'a', 0x95, 0x01, 0xfe, 0xcb, 0x40, 0x04, 0, 0, 0, 0, 0, 0, 0xc0, 0xc3, 0xa1,
        b'b', 0xa1, b'x',
    ];
    assert_eq!(
        vlmeta_text(&bytes, 200),
        r#"{"a": [1, -2, 2.5, None, True], "b": "x"}"#
    );
    assert_eq!(vlmeta_text(&bytes, 5), r#"{"a":..."#);
    assert_eq!(vlmeta_text(&[0xc1], 200), "<1 bytes, not msgpack>");
}

#[test]
fn slabs_cover_the_region_in_order() {
    use ndpack::region::Slice;
    let region = Region::new(vec![
        Slice::normalize(None, None, Some(-3), 100).unwrap(),
        Slice::range(0, 7).unwrap(),
    ]);
    let s = slabs(&region, 1 << 20, 4).unwrap();
    // One row is 7 MiB, so a slab holds 4 rows (one chunk step).
    assert_eq!(s.len(), 9);
    let mut rows = Vec::new();
    for (pos, sub) in &s {
        assert_eq!(pos.shape(), sub.shape());
        rows.extend(sub.slices()[0].iter());
    }
    assert_eq!(rows, region.slices()[0].iter().collect::<Vec<_>>());
    let zero_d = slabs(&Region::new(vec![]), 4, 1).unwrap();
    assert_eq!(zero_d.len(), 1);
}

/// A (5, 7) array of `<i4`, F order and C order packed alike; info names what was written.
#[test]
fn pack_either_order_and_describe() {
    let c: Vec<i32> = (0..35).collect();
    let mut f = vec![0i32; 35];
    for i in 0..5 {
        for j in 0..7 {
            f[j * 5 + i] = c[i * 7 + j];
        }
    }
    let bytes = |v: &[i32]| v.iter().flat_map(|x| x.to_le_bytes()).collect::<Vec<u8>>();
    let dtype: Dtype = "<i4".parse().unwrap();
    let dir = std::env::temp_dir().join(format!("ndpack-cli-array-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("a.b2nd");
    let opts = PackOptions {
        chunks: Some("3,4".into()),
        blocks: Some("2,3".into()),
        codec: Some("lz4".into()),
        caterva: true,
        ..Default::default()
    };
    let from_c = pack_data(
        &bytes(&c),
        &[5, 7],
        Order::C,
        dtype.clone(),
        &array_options(&opts, None).unwrap(),
    )
    .unwrap();
    let mut a = pack_data(
        &bytes(&f),
        &[5, 7],
        Order::F,
        dtype,
        &array_options(&opts, Some(&path)).unwrap(),
    )
    .unwrap();
    assert_eq!(
        a.to_buffer().unwrap().bytes(),
        from_c.to_buffer().unwrap().bytes()
    );
    // msgpack "hi"
    a.schunk_mut()
        .vlmeta_set("note", &[0xa2, b'h', b'i'])
        .unwrap();
    drop(a);
    let text = info(&path).unwrap();
    for want in [
        "(contiguous frame)",
        "NDArray (b2nd metalayer)",
        "shape      : (5, 7)",
        "dtype      : <i4",
        "chunks     : (3, 4)",
        "blocks     : (2, 3)",
        "codec      : lz4 (clevel 5)",
        "filters    : shuffle",
        "nchunks    : 4 (0 special)",
        "metalayers : b2nd (",
        "caterva (",
        "\"note\": \"hi\"",
    ] {
        assert!(text.contains(want), "{want:?} not in\n{text}");
    }
    let a = open(&path).unwrap();
    let sel = select(&a, Some("::-2, 6")).unwrap();
    assert_eq!(sel.shape(), [3]);
    let got = read_selection(&a, sel.region()).unwrap();
    assert_eq!(got, bytes(&[34, 20, 6]));
    std::fs::remove_dir_all(&dir).unwrap();
}
