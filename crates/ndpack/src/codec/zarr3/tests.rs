//! Unit tests of the zarr v3 codec chain: configs, round trips, orders and hostile input.

use serde_json::json;

use super::*;
use crate::ErrorKind;

fn u2() -> DataType {
    "<u2".parse().unwrap()
}

fn opts(fill: &[u8], write_empty_chunks: bool) -> EncodeOptions {
    EncodeOptions {
        fill: fill.to_vec(),
        write_empty_chunks,
    }
}

fn round_trip(
    codecs: serde_json::Value,
    dtype: &DataType,
    shape: &[usize],
    data: &[u8],
) -> Vec<u8> {
    let chain = CodecChain::from_json(&codecs, dtype.itemsize()).unwrap();
    let fill = vec![0u8; dtype.itemsize()];
    let arr = ArrayRef::new(data, dtype.clone(), shape.to_vec(), Order::C).unwrap();
    let enc = chain.encode(arr, &opts(&fill, true)).unwrap().unwrap();
    let dec = chain.decode(&enc, dtype, shape, &fill).unwrap();
    assert_eq!(dec, data, "{codecs}");
    // Into F-order memory too.
    let mut f = vec![0u8; data.len()];
    chain
        .decode_into(
            &enc,
            ArrayMut {
                data: &mut f,
                dtype: dtype.clone(),
                shape: shape.to_vec(),
                order: Order::F,
            },
            &fill,
        )
        .unwrap();
    let c_again = permute(
        &f,
        shape,
        dtype.itemsize(),
        Order::F,
        &(0..shape.len()).collect::<Vec<_>>(),
    )
    .unwrap();
    assert_eq!(c_again, data, "F order, {codecs}");
    enc
}

fn ramp(n: usize) -> Vec<u8> {
    (0..n as u16).flat_map(|v| v.to_le_bytes()).collect()
}

#[test]
fn chains_round_trip() {
    let data = ramp(4 * 6 * 8);
    let shape = [4, 6, 8];
    let little = json!({"name": "bytes", "configuration": {"endian": "little"}});
    let big = json!({"name": "bytes", "configuration": {"endian": "big"}});
    let enc = round_trip(json!([little]), &u2(), &shape, &data);
    assert_eq!(enc, data);
    let enc = round_trip(json!([big]), &u2(), &shape, &data);
    assert_eq!(&enc[..4], &[0, 0, 0, 1]);
    round_trip(
        json!([{"name": "transpose", "configuration": {"order": [2, 0, 1]}}, big,
               {"name": "zstd", "configuration": {"level": 1, "checksum": true}}, {"name": "crc32c"}]),
        &u2(),
        &shape,
        &data,
    );
    round_trip(
        json!([little, {"name": "blosc", "configuration": {"cname": "lz4", "clevel": 5,
               "shuffle": "bitshuffle", "typesize": 2, "blocksize": 0}}]),
        &u2(),
        &shape,
        &data,
    );
    round_trip(
        json!([little, {"name": "gzip", "configuration": {"level": 5}}]),
        &u2(),
        &shape,
        &data,
    );
    round_trip(
        json!([{"name": "sharding_indexed", "configuration": {"chunk_shape": [2, 3, 4],
               "codecs": [{"name": "transpose", "configuration": {"order": [1, 0, 2]}}, little,
                          {"name": "zstd", "configuration": {"level": 0, "checksum": false}}],
               "index_location": "start"}}]),
        &u2(),
        &shape,
        &data,
    );
    round_trip(
        json!([{"name": "sharding_indexed", "configuration": {"chunk_shape": [2, 2, 2]}},
               {"name": "numcodecs.zlib", "configuration": {"level": 1}}]),
        &u2(),
        &shape,
        &data,
    );
}

#[test]
fn transpose_is_numpy_transpose() {
    // bytes of a (2, 3) u1 array transposed (1, 0): C order of a.T.
    let chain = CodecChain::from_json(
        &json!([{"name": "transpose", "configuration": {"order": [1, 0]}}, "bytes"]),
        1,
    )
    .unwrap();
    let data = [0u8, 1, 2, 10, 11, 12];
    let arr = ArrayRef::new(&data, DataType::u8(), vec![2, 3], Order::C).unwrap();
    let enc = chain.encode(arr, &opts(&[0], true)).unwrap().unwrap();
    assert_eq!(enc, [0, 10, 1, 11, 2, 12]);
}

#[test]
fn empty_chunks_and_empty_inner_chunks() {
    let chain = CodecChain::from_json(
        &json!([{"name": "sharding_indexed", "configuration": {"chunk_shape": [2],
            "codecs": [{"name": "bytes", "configuration": {"endian": "little"}}]}}]),
        2,
    )
    .unwrap();
    let fill = 7u16.to_le_bytes();
    let data: Vec<u8> = [7u16, 7, 1, 2, 7, 7]
        .iter()
        .flat_map(|v| v.to_le_bytes())
        .collect();
    let arr = || ArrayRef::new(&data, u2(), vec![6], Order::C).unwrap();
    let enc = chain.encode(arr(), &opts(&fill, false)).unwrap().unwrap();
    // One inner chunk of 4 bytes, then 3 index entries and the crc32c.
    assert_eq!(enc.len(), 4 + 48 + 4);
    assert_eq!(
        &enc[4 + 16..4 + 32],
        &[0, 0, 0, 0, 0, 0, 0, 0, 4, 0, 0, 0, 0, 0, 0, 0]
    );
    assert!(enc[4..4 + 16].iter().all(|&b| b == 0xff));
    assert_eq!(chain.decode(&enc, &u2(), &[6], &fill).unwrap(), data);
    // With write_empty_chunks every inner chunk is stored.
    let all = chain.encode(arr(), &opts(&fill, true)).unwrap().unwrap();
    assert_eq!(all.len(), 12 + 52);
    // A chunk of fill values only is not stored at all.
    let fills: Vec<u8> = fill.repeat(6);
    let a = ArrayRef::new(&fills, u2(), vec![6], Order::C).unwrap();
    assert_eq!(chain.encode(a, &opts(&fill, false)).unwrap(), None);
}

#[test]
fn bad_configs_are_named() {
    for (codecs, kind, word) in [
        (json!([{"name": "nope"}]), ErrorKind::UnknownCodec, "nope"),
        (json!(["zstd"]), ErrorKind::InvalidConfig, "before"),
        (
            json!([{"name": "bytes", "configuration": {"endian": "little"}}, "endian"]),
            ErrorKind::InvalidConfig,
            "second",
        ),
        (
            json!([{"name": "bytes", "configuration": {"endian": "middle"}}]),
            ErrorKind::InvalidConfig,
            "endian",
        ),
        (
            json!([{"name": "transpose", "configuration": {"order": [0, 0]}}, "bytes"]),
            ErrorKind::InvalidConfig,
            "permutation",
        ),
        (
            json!([{"name": "bytes", "configuration": {"endian": "little"}}, {"name": "blosc", "configuration": {"shuffle": "auto"}}]),
            ErrorKind::InvalidConfig,
            "shuffle",
        ),
        (
            json!([{"name": "bytes", "configuration": {"endian": "little"}}, {"name": "zstd", "configuration": {"lvl": 1}}]),
            ErrorKind::InvalidConfig,
            "lvl",
        ),
        (
            json!([{"name": "sharding_indexed", "configuration": {"chunk_shape": [0]}}]),
            ErrorKind::InvalidConfig,
            "chunk_shape",
        ),
        (
            json!([{"name": "sharding_indexed", "configuration": {"chunk_shape": [2],
            "index_codecs": [{"name": "bytes", "configuration": {"endian": "little"}}, {"name": "zstd"}]}}]),
            ErrorKind::InvalidConfig,
            "fixed size",
        ),
    ] {
        let e = CodecChain::from_json(&codecs, 2)
            .and_then(|c| {
                // The index chain's size is checked when a shard is read.
                c.decode(&[0u8; 64], &u2(), &[2], &[0, 0]).map(|_| c)
            })
            .unwrap_err();
        assert_eq!(e.kind(), kind, "{codecs}: {e}");
        assert!(e.message().contains(word), "{codecs}: {e}");
    }
}

#[test]
fn hostile_shards_are_errors() {
    let chain = CodecChain::from_json(
        &json!([{"name": "sharding_indexed", "configuration": {"chunk_shape": [2]}}]),
        2,
    )
    .unwrap();
    let data = ramp(4);
    let arr = ArrayRef::new(&data, u2(), vec![4], Order::C).unwrap();
    let good = chain.encode(arr, &opts(&[0, 0], true)).unwrap().unwrap();
    // Truncations, a flipped index byte (crc32c), an index pointing outside the shard.
    for cut in [0, 10, good.len() - 1] {
        assert!(chain.decode(&good[..cut], &u2(), &[4], &[0, 0]).is_err());
    }
    let mut flipped = good.clone();
    let n = flipped.len();
    flipped[n - 10] ^= 1;
    assert!(chain.decode(&flipped, &u2(), &[4], &[0, 0]).is_err());
    // Rebuild a valid checksum over an index whose offset is huge.
    let mut index = good[8..8 + 32].to_vec();
    index[..8].copy_from_slice(&(u64::MAX - 1).to_le_bytes());
    let crc = crate::codec::crc32c::crc32c_append(0, &index);
    let bad = [&good[..8], &index[..], &crc.to_le_bytes()].concat();
    let e = chain.decode(&bad, &u2(), &[4], &[0, 0]).unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Corrupt, "{e}");
    // A bytes chunk of the wrong size.
    let plain = CodecChain::from_json(
        &json!([{"name": "bytes", "configuration": {"endian": "little"}}]),
        2,
    )
    .unwrap();
    assert_eq!(
        plain
            .decode(&[0u8; 3], &u2(), &[2], &[0, 0])
            .unwrap_err()
            .kind(),
        ErrorKind::Corrupt
    );
    let z = CodecChain::from_json(&json!(["bytes", {"name": "zstd"}]), 1).unwrap();
    assert!(z.decode(b"not zstd", &DataType::u8(), &[4], &[0]).is_err());
}

#[test]
fn encoded_sizes() {
    let chain = CodecChain::from_json(&json!(["bytes", "crc32c"]), 1).unwrap();
    assert_eq!(chain.encoded_size(10, &[10]), Some(14));
    let z = CodecChain::from_json(&json!(["bytes", "zstd"]), 1).unwrap();
    assert_eq!(z.encoded_size(10, &[10]), None);
    let s = CodecChain::from_json(
        &json!([{"name": "sharding_indexed", "configuration": {"chunk_shape": [2]}}]),
        1,
    )
    .unwrap();
    assert_eq!(s.encoded_size(8, &[8]), Some(8 + 4 * 16 + 4));
    assert_eq!(s.names(), ["sharding_indexed"]);
}

#[test]
fn parts_of_shards_decode_only_what_they_touch() {
    use crate::region::{read_region, Slice};
    let codecs = json!([{"name": "sharding_indexed", "configuration": {
        "chunk_shape": [3, 4],
        "codecs": ["bytes", {"name": "zstd"}],
    }}]);
    let chain = CodecChain::from_json(&codecs, 2).unwrap();
    let shape = [9, 8];
    let mut data = ramp(72);
    data[..8].fill(0); // two items of fill in the first inner chunk: it is still stored
    let enc = chain
        .encode(
            ArrayRef::new(&data, u2(), shape.to_vec(), Order::C).unwrap(),
            &opts(&[0, 0], false),
        )
        .unwrap()
        .unwrap();
    let sharding = chain.sharding_alone().unwrap();
    for (a, b, s, c, d) in [
        (0, 9, 1, 0, 8),
        (1, 8, 2, 3, 7),
        (4, 5, 1, 0, 8),
        (0, 9, 4, 5, 6),
    ] {
        let region = Region::new(vec![
            Slice::new(a, b, s).unwrap(),
            Slice::new(c, d, 1).unwrap(),
        ]);
        let got = sharding
            .decode_region(&enc.as_slice(), &shape, &region, &u2(), &[0, 0])
            .unwrap();
        let mut want = vec![0u8; region.num_items().unwrap() * 2];
        read_region(&data, Layout::c(&shape, 2), &region, &mut want).unwrap();
        assert_eq!(got, want, "{region}");
    }
    // Damage: a short shard, a negative step.
    let region = Region::new(vec![
        Slice::range(0, 2).unwrap(),
        Slice::range(0, 2).unwrap(),
    ]);
    let short = &enc[enc.len() - 20..];
    let e = sharding
        .decode_region(&short, &shape, &region, &u2(), &[0, 0])
        .unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Corrupt);
    let back = Region::new(vec![
        Slice::new(5, 0, -1).unwrap(),
        Slice::range(0, 2).unwrap(),
    ]);
    assert!(sharding
        .decode_region(&enc.as_slice(), &shape, &back, &u2(), &[0, 0])
        .is_err());
}

#[test]
fn byte_ranges_coalesce_like_zarr() {
    let (reads, place) =
        sharding::coalesce_for_tests(&[10..20, 0..5, 30..40, (3 << 20)..(3 << 20) + 1]);
    assert_eq!(reads, [0..40, (3 << 20)..(3 << 20) + 1]);
    assert_eq!(place, [(0, 10), (0, 0), (0, 30), (1, 0)]);
}
