//! Tests of the batched zarr chunk work.

use super::*;
use crate::buffer::ArrayMut;
use crate::region::{AxisPick, Order, Region, Slice};
use serde_json::json;

#[test]
fn reads_parts_of_chunks_and_fills_missing_ones() {
    let chain = CodecChain::from_json(&json!(["bytes", {"name": "zstd"}]), 1).unwrap();
    let opts = EncodeOptions {
        fill: vec![9],
        write_empty_chunks: true,
    };
    // A (4, 4) array of (2, 4) chunks: chunk 0 stored, chunk 1 missing.
    let c0: Vec<u8> = (0..8).collect();
    let enc = encode_chunks(
        &chain,
        &[ArrayRef::new(&c0, DataType::u8(), vec![2, 4], Order::C).unwrap()],
        &opts,
    )
    .unwrap();
    let enc0 = enc[0].clone().unwrap();
    let pk = |r: [usize; 4]| {
        Pick::Region(Region::new(vec![
            Slice::range(r[0], r[1]).unwrap(),
            Slice::range(r[2], r[3]).unwrap(),
        ]))
    };
    let items = [
        ChunkRead {
            source: ChunkSource::Bytes(&enc0),
            chunk_shape: vec![2, 4],
            chunk_sel: pk([0, 2, 1, 4]),
            out_sel: pk([0, 2, 0, 3]),
        },
        ChunkRead {
            source: ChunkSource::Missing,
            chunk_shape: vec![2, 4],
            chunk_sel: pk([0, 2, 1, 4]),
            out_sel: pk([2, 4, 0, 3]),
        },
    ];
    let mut out = vec![0u8; 12];
    read_chunks_into(
        &chain,
        &items,
        ArrayMut {
            data: &mut out,
            dtype: DataType::u8(),
            shape: vec![4, 3],
            order: Order::C,
        },
        &[9],
    )
    .unwrap();
    assert_eq!(out, [1, 2, 3, 5, 6, 7, 9, 9, 9, 9, 9, 9]);
    let dec = decode_chunks(&chain, &[Some(&enc0), None], &DataType::u8(), &[2, 4], &[9]).unwrap();
    assert_eq!(dec, [Some(c0), None]);
}

#[test]
fn bytes_chains_round_trip_in_batches() {
    let chain = BytesChain::from_json(&json!([{"name": "zstd"}, {"name": "crc32c"}]), 2).unwrap();
    assert_eq!(chain.names(), ["zstd", "crc32c"]);
    let a: Vec<u8> = (0..200u8).collect();
    let enc = encode_bytes_chunks(&chain, &[Some(&a), None]).unwrap();
    assert!(enc[1].is_none());
    let e0 = enc[0].clone().unwrap();
    let dec = decode_bytes_chunks(&chain, &[Some(&e0), None]).unwrap();
    assert_eq!(dec, [Some(a), None]);
    let mut bad = e0.clone();
    *bad.last_mut().unwrap() ^= 1;
    assert!(decode_bytes_chunks(&chain, &[Some(&bad)]).is_err());
    assert!(BytesChain::from_json(&json!(["bytes"]), 1).is_err());
    let unknown = BytesChain::from_json(&json!([{"name": "mine"}]), 1).unwrap_err();
    assert_eq!(unknown.kind(), crate::ErrorKind::UnknownCodec);
}

#[test]
fn writes_merge_parts_into_stored_chunks_and_files() {
    let chain = CodecChain::from_json(&json!(["bytes", {"name": "zstd"}]), 1).unwrap();
    let opts = EncodeOptions {
        fill: vec![0],
        write_empty_chunks: false,
    };
    let r = |a: usize, b: usize| Region::new(vec![Slice::range(a, b).unwrap()]);
    // A (8,) array of (4,) chunks: chunk 0 stored as 1 2 3 4; write value [7, 8, 0, 0, 0, 0]
    // to items 2..8.
    let old = encode_chunks(
        &chain,
        &[ArrayRef::new(&[1, 2, 3, 4], DataType::u8(), vec![4], Order::C).unwrap()],
        &opts,
    )
    .unwrap()[0]
        .clone()
        .unwrap();
    let value = [7u8, 8, 0, 0, 0, 0];
    let items = [
        ChunkWrite {
            existing: Some(&old),
            chunk_shape: vec![4],
            chunk_sel: Pick::Region(r(2, 4)),
            value_sel: Pick::Region(r(0, 2)),
        },
        ChunkWrite {
            existing: None,
            chunk_shape: vec![4],
            chunk_sel: Pick::Region(r(0, 4)),
            value_sel: Pick::Region(r(2, 6)),
        },
    ];
    let v = ArrayRef::new(&value, DataType::u8(), vec![6], Order::C).unwrap();
    let enc = write_chunks(&chain, &items, v.clone(), &opts).unwrap();
    assert!(enc[1].is_none(), "an all-fill chunk is not stored");
    let dec = chain
        .decode(enc[0].as_ref().unwrap(), &DataType::u8(), &[4], &[0])
        .unwrap();
    assert_eq!(dec, [1, 2, 7, 8]);
    let dir = std::env::temp_dir().join(format!("ndpack-zarr-w-{}", std::process::id()));
    let paths = [dir.join("c/0"), dir.join("c/1")];
    std::fs::create_dir_all(dir.join("c")).unwrap();
    std::fs::write(&paths[1], b"stale").unwrap();
    write_chunk_files(&chain, &items, v.clone(), &opts, &paths).unwrap();
    assert_eq!(std::fs::read(&paths[0]).unwrap(), enc[0].clone().unwrap());
    assert!(!paths[1].exists(), "the all-fill chunk's file is removed");
    assert_eq!(std::fs::read_dir(dir.join("c")).unwrap().count(), 1);
    assert!(write_chunk_files(&chain, &items, v, &opts, &paths[..1]).is_err());
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn missing_files_are_none() {
    let dir = std::env::temp_dir().join(format!("ndpack-zarr-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let there = dir.join("a");
    std::fs::write(&there, b"abc").unwrap();
    let got = read_files(&[there.clone(), dir.join("missing")]).unwrap();
    assert_eq!(got, [Some(b"abc".to_vec()), None]);
    std::fs::remove_dir_all(&dir).unwrap();
}

/// An (8, 6) array of `<u2` items `i * 6 + j` (of the `bytes` codec's little-endian bytes).
fn grid_items() -> Vec<u8> {
    (0..48u16).flat_map(|v| v.to_le_bytes()).collect()
}

/// The picks of the fancy-selection tests on an (8, 6) chunk, each with its item values.
fn fancy_picks() -> Vec<(Pick, Vec<u16>)> {
    let v = |i: usize, j: usize| (i * 6 + j) as u16;
    vec![
        (
            Pick::Orthogonal(vec![
                AxisPick::List(vec![5, 1, 1]),
                AxisPick::Slice(Slice::new(0, 6, 4).unwrap()),
            ]),
            vec![v(5, 0), v(5, 4), v(1, 0), v(1, 4), v(1, 0), v(1, 4)],
        ),
        (
            Pick::Points(vec![vec![7, 0, 3], vec![5, 2, 3]]),
            vec![v(7, 5), v(0, 2), v(3, 3)],
        ),
        (
            Pick::Orthogonal(vec![
                AxisPick::List(vec![6]),
                AxisPick::List(vec![3, 2, 1, 0, 5, 4]),
            ]),
            vec![v(6, 3), v(6, 2), v(6, 1), v(6, 0), v(6, 5), v(6, 4)],
        ),
    ]
}

#[test]
fn fancy_selections_read_from_memory_files_and_shards() {
    let plain = CodecChain::from_json(
        &json!([{"name": "bytes", "configuration": {"endian": "big"}}]),
        2,
    )
    .unwrap();
    let sharded = CodecChain::from_json(
        &json!([{"name": "sharding_indexed", "configuration": {
            "chunk_shape": [2, 3],
            "codecs": [{"name": "bytes", "configuration": {"endian": "little"}}, {"name": "zstd"}]}}]),
        2,
    )
    .unwrap();
    let sharded_plain = CodecChain::from_json(
        &json!([{"name": "sharding_indexed", "configuration": {
            "chunk_shape": [2, 3], "index_location": "start",
            "codecs": [{"name": "bytes", "configuration": {"endian": "big"}}]}}]),
        2,
    )
    .unwrap();
    let dtype: DataType = "<u2".parse().unwrap();
    let data = grid_items();
    let dir = std::env::temp_dir().join(format!("ndpack-zarr-fancy-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    for (name, chain) in [
        ("plain", &plain),
        ("sharded", &sharded),
        ("sharded-plain", &sharded_plain),
    ] {
        let opts = EncodeOptions {
            fill: vec![9, 0],
            write_empty_chunks: true,
        };
        let enc = chain
            .encode(
                ArrayRef::new(&data, dtype.clone(), vec![8, 6], Order::C).unwrap(),
                &opts,
            )
            .unwrap()
            .unwrap();
        let path = dir.join(name);
        std::fs::write(&path, &enc).unwrap();
        for (pick, want) in fancy_picks() {
            let n = want.len();
            for source in [
                ChunkSource::Bytes(&enc),
                ChunkSource::File(&path),
                ChunkSource::Missing,
            ] {
                let items = [ChunkRead {
                    source,
                    chunk_shape: vec![8, 6],
                    chunk_sel: pick.clone(),
                    out_sel: Pick::Orthogonal(vec![AxisPick::List((0..n).rev().collect())]),
                }];
                // A 1-d output of the picked items, reversed; a 2-d pick goes through a view
                // of the same shape.
                let shape = pick.shape();
                let items: Vec<ChunkRead<'_>> = if shape.len() == 2 {
                    items
                        .into_iter()
                        .map(|mut it| {
                            it.out_sel = Pick::Orthogonal(vec![
                                AxisPick::List((0..shape[0]).rev().collect()),
                                AxisPick::List((0..shape[1]).rev().collect()),
                            ]);
                            it
                        })
                        .collect()
                } else {
                    items.to_vec()
                };
                let mut out = vec![0u8; n * 2];
                read_chunks_into(
                    chain,
                    &items,
                    ArrayMut {
                        data: &mut out,
                        dtype: dtype.clone(),
                        shape: shape.clone(),
                        order: Order::C,
                    },
                    &[9, 0],
                )
                .unwrap();
                let got: Vec<u16> = out
                    .chunks(2)
                    .map(|b| u16::from_le_bytes([b[0], b[1]]))
                    .rev()
                    .collect();
                if matches!(source, ChunkSource::Missing) {
                    assert_eq!(got, vec![9; n]);
                } else {
                    assert_eq!(got, want, "{name} {pick:?} {source:?}");
                }
            }
        }
    }
    // A damaged uncompressed chunk file (wrong size) is an error, not a short read.
    std::fs::write(dir.join("short"), [0u8; 7]).unwrap();
    let items = [ChunkRead {
        source: ChunkSource::File(&dir.join("short")),
        chunk_shape: vec![8, 6],
        chunk_sel: fancy_picks()[1].0.clone(),
        out_sel: Pick::Region(Region::full(&[3]).unwrap()),
    }];
    let mut out = vec![0u8; 6];
    let err = read_chunks_into(
        &plain,
        &items,
        ArrayMut {
            data: &mut out,
            dtype: dtype.clone(),
            shape: vec![3],
            order: Order::C,
        },
        &[0, 0],
    )
    .unwrap_err();
    assert_eq!(err.kind(), crate::ErrorKind::Corrupt);
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn partial_shard_writes_keep_the_other_inner_chunks_bytes() {
    let shard_chain = |level: i64| {
        CodecChain::from_json(
            &json!([{"name": "sharding_indexed", "configuration": {
                "chunk_shape": [2, 3], "index_location": "start",
                "codecs": ["bytes", {"name": "zstd", "configuration": {"level": level}}]}}]),
            2,
        )
        .unwrap()
    };
    let dtype: DataType = "<u2".parse().unwrap();
    let data = grid_items();
    let opts = EncodeOptions {
        fill: vec![0, 0],
        write_empty_chunks: false,
    };
    let old = shard_chain(19)
        .encode(
            ArrayRef::new(&data, dtype.clone(), vec![8, 6], Order::C).unwrap(),
            &opts,
        )
        .unwrap()
        .unwrap();
    let chain = shard_chain(1);
    let Some(sharding) = chain.sharding_alone() else {
        panic!("a shard chain")
    };
    let value: Vec<u8> = [7u16, 8, 0, 0]
        .iter()
        .flat_map(|v| v.to_le_bytes())
        .collect();
    // Points (1, 1), (1, 2), (0, 0), (1, 0) set to 7, 8, 0, 0: all in inner chunk 0.
    let items = [ChunkWrite {
        existing: Some(&old),
        chunk_shape: vec![8, 6],
        chunk_sel: Pick::Points(vec![vec![1, 1, 0, 1], vec![1, 2, 0, 0]]),
        value_sel: Pick::Region(Region::full(&[4]).unwrap()),
    }];
    let v = ArrayRef::new(&value, dtype.clone(), vec![4], Order::C).unwrap();
    let new = write_chunks(&chain, &items, v, &opts)
        .unwrap()
        .remove(0)
        .unwrap();
    let mut want = data.clone();
    for (k, val) in [(7usize, 7u16), (8, 8), (0, 0), (6, 0)] {
        want[k * 2..k * 2 + 2].copy_from_slice(&val.to_le_bytes());
    }
    assert_eq!(chain.decode(&new, &dtype, &[8, 6], &[0, 0]).unwrap(), want);
    let cps = [4, 2];
    let (oi, ni) = (
        sharding.read_index(&old, &cps).unwrap(),
        sharding.read_index(&new, &cps).unwrap(),
    );
    for k in 1..8 {
        let (o, n) = (oi[k], ni[k]);
        assert_eq!(
            old[o.0 as usize..(o.0 + o.1) as usize],
            new[n.0 as usize..(n.0 + n.1) as usize],
            "inner chunk {k}"
        );
    }
    // The touched inner chunk is re-encoded with the new chain: the same as a whole encode.
    let whole = chain
        .encode(
            ArrayRef::new(&want, dtype.clone(), vec![8, 6], Order::C).unwrap(),
            &opts,
        )
        .unwrap()
        .unwrap();
    let wi = sharding.read_index(&whole, &cps).unwrap();
    assert_eq!(
        new[ni[0].0 as usize..(ni[0].0 + ni[0].1) as usize],
        whole[wi[0].0 as usize..(wi[0].0 + wi[0].1) as usize]
    );
    // A scalar value (0-d) put in every picked place, and a shard left with no inner chunk.
    let zero = [0u8, 0];
    let all = [ChunkWrite {
        existing: Some(&new),
        chunk_shape: vec![8, 6],
        chunk_sel: Pick::Orthogonal(vec![
            AxisPick::List((0..8).collect()),
            AxisPick::Slice(Slice::range(0, 6).unwrap()),
        ]),
        value_sel: Pick::Region(Region::full(&[]).unwrap()),
    }];
    let z = ArrayRef::new(&zero, dtype.clone(), vec![], Order::C).unwrap();
    assert_eq!(write_chunks(&chain, &all, z, &opts).unwrap(), [None]);
    // A damaged index is an error.
    let mut bad = new.clone();
    bad[3] ^= 0xff;
    let items = [ChunkWrite {
        existing: Some(&bad),
        ..items[0].clone()
    }];
    let v = ArrayRef::new(&value, dtype, vec![4], Order::C).unwrap();
    assert!(write_chunks(&chain, &items, v, &opts).is_err());
}

#[test]
fn items_of_uncompressed_inner_chunks_are_read_alone() {
    let chain = CodecChain::from_json(
        &json!([{"name": "sharding_indexed", "configuration": {
            "chunk_shape": [2, 3], "codecs": [{"name": "bytes", "configuration": {"endian": "big"}}]}}]),
        2,
    )
    .unwrap();
    let Some(sharding) = chain.sharding_alone() else {
        panic!("a shard chain")
    };
    let dtype: DataType = "<u2".parse().unwrap();
    let mut data = grid_items();
    // Inner chunk 0 (rows 0-1, columns 0-2) all fill value: not stored.
    for (i, j) in [(0, 0), (0, 1), (0, 2), (1, 0), (1, 1), (1, 2)] {
        data[(i * 6 + j) * 2..(i * 6 + j) * 2 + 2].copy_from_slice(&[9, 0]);
    }
    let opts = EncodeOptions {
        fill: vec![9, 0],
        write_empty_chunks: false,
    };
    let enc = chain
        .encode(
            ArrayRef::new(&data, dtype.clone(), vec![8, 6], Order::C).unwrap(),
            &opts,
        )
        .unwrap()
        .unwrap();
    let pick = Pick::Points(vec![vec![0, 7, 1, 4], vec![1, 5, 2, 3]]);
    let got = sharding
        .read_plain_items(&&enc[..], &[8, 6], &pick, &dtype, &[9, 0], 0)
        .unwrap()
        .unwrap();
    let want: Vec<u8> = [9u16, 47, 9, 27]
        .iter()
        .flat_map(|v| v.to_le_bytes())
        .collect();
    assert_eq!(got, want);
    // Most of the touched inner chunks: read whole instead.
    let rows = Pick::Region(Region::from_bounds(&[2, 0], &[4, 6]).unwrap());
    assert!(sharding
        .read_plain_items(&&enc[..], &[8, 6], &rows, &dtype, &[9, 0], 0)
        .unwrap()
        .is_none());
    // An inner chunk of the wrong size is an error.
    let zstd = CodecChain::from_json(
        &json!([{"name": "sharding_indexed", "configuration": {
            "chunk_shape": [2, 3], "codecs": ["bytes", {"name": "zstd"}]}}]),
        2,
    )
    .unwrap();
    let compressed = zstd
        .encode(
            ArrayRef::new(&data, dtype.clone(), vec![8, 6], Order::C).unwrap(),
            &opts,
        )
        .unwrap()
        .unwrap();
    let err = sharding
        .read_plain_items(&&compressed[..], &[8, 6], &pick, &dtype, &[9, 0], 0)
        .unwrap_err();
    assert_eq!(err.kind(), crate::ErrorKind::Corrupt);
}

#[test]
fn reads_split_into_bands_match_one_lock_reads() {
    // A (7, 5) array of (2, 2) chunks, values i * 5 + j, read as rows 1..7 step 2 and columns
    // 4..0 step -1 into C and F outputs: the items of each chunk as zarr's basic indexer gives
    // them, in bands (one per chunk row) and, with one item's output spread over two bands,
    // under one lock.
    let chain = CodecChain::from_json(&json!(["bytes"]), 1).unwrap();
    let full: Vec<u8> = (0..35).collect();
    let chunks: Vec<Vec<u8>> = (0..4)
        .flat_map(|ci| (0..3).map(move |cj| (ci, cj)))
        .map(|(ci, cj)| {
            let mut c = vec![0u8; 4];
            for a in 0..2 {
                for b in 0..2 {
                    let (i, j) = (ci * 2 + a, cj * 2 + b);
                    c[a * 2 + b] = if i < 7 && j < 5 { full[i * 5 + j] } else { 0 };
                }
            }
            c
        })
        .collect();
    let rows: Vec<usize> = (1..7).step_by(2).collect(); // 1, 3, 5
    let cols: Vec<usize> = (0..5).rev().collect();
    let want: Vec<u8> = rows
        .iter()
        .flat_map(|&i| cols.iter().map(move |&j| (i * 5 + j) as u8))
        .collect();
    for order in [Order::C, Order::F] {
        let mut items = Vec::new();
        for (oi, &i) in rows.iter().enumerate() {
            for cj in 0..3 {
                // The columns of chunk column cj, in output order (descending).
                let in_chunk: Vec<(usize, usize)> = cols
                    .iter()
                    .enumerate()
                    .filter(|(_, &j)| j / 2 == cj)
                    .map(|(o, &j)| (o, j % 2))
                    .collect();
                let (o0, j0) = in_chunk[0];
                let n = in_chunk.len() as isize;
                items.push(ChunkRead {
                    source: ChunkSource::Bytes(&chunks[(i / 2) * 3 + cj]),
                    chunk_shape: vec![2, 2],
                    chunk_sel: Pick::Region(Region::new(vec![
                        Slice::range(i % 2, i % 2 + 1).unwrap(),
                        Slice::new(j0 as isize, j0 as isize - n, -1).unwrap(),
                    ])),
                    out_sel: Pick::Region(Region::new(vec![
                        Slice::range(oi, oi + 1).unwrap(),
                        Slice::range(o0, o0 + n as usize).unwrap(),
                    ])),
                });
            }
        }
        for spread in [false, true] {
            let mut items = items.clone();
            if spread {
                // Points over two rows of the output: no bands.
                items.push(ChunkRead {
                    source: ChunkSource::Bytes(&chunks[0]),
                    chunk_shape: vec![2, 2],
                    chunk_sel: Pick::Points(vec![vec![1, 1], vec![0, 0]]),
                    out_sel: Pick::Points(vec![vec![0, 2], vec![4, 4]]),
                });
            }
            let mut out = vec![0u8; 15];
            read_chunks_into(
                &chain,
                &items,
                ArrayMut {
                    data: &mut out,
                    dtype: DataType::u8(),
                    shape: vec![3, 5],
                    order,
                },
                &[0],
            )
            .unwrap();
            let mut w = want.clone();
            if spread {
                w[4] = 5;
                w[14] = 5;
            }
            let got: Vec<u8> = match order {
                Order::C => out,
                Order::F => (0..3)
                    .flat_map(|i| (0..5).map(move |j| (i, j)))
                    .map(|(i, j)| out[j * 3 + i])
                    .collect(),
            };
            assert_eq!(got, w, "{order:?} {spread}");
        }
    }
}
