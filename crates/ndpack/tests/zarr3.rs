//! zarr v3 codec chains against chunks written by zarr-python 3.1.6's own codecs
//! (`tests/data/zarr3/make_golden.py`): every chunk decodes to the array data, and encoding the
//! data gives zarr's bytes again (all these codecs are deterministic, but for the time in a
//! gzip header).

mod common;

use ndpack::codec::zarr3::{CodecChain, EncodeOptions};
use ndpack::codec::{ArrayMut, ArrayRef};
use ndpack::{DataType, Order};
use serde_json::Value;

struct Case {
    name: String,
    dtype: DataType,
    shape: Vec<usize>,
    fill: Vec<u8>,
    chain: CodecChain,
    data: Vec<u8>,
    chunk: Vec<u8>,
}

fn cases() -> Vec<Case> {
    let dir = common::data("zarr3");
    let manifest: Value =
        serde_json::from_slice(&std::fs::read(dir.join("manifest.json")).unwrap()).unwrap();
    manifest["cases"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| {
            let name = c["name"].as_str().unwrap().to_string();
            let dtype: DataType = c["dtype"].as_str().unwrap().parse().unwrap();
            let hex = c["fill"].as_str().unwrap();
            let fill = (0..hex.len())
                .step_by(2)
                .map(|i| u8::from_str_radix(&hex[i..i + 2], 16).unwrap())
                .collect();
            Case {
                chain: CodecChain::from_json(&c["codecs"], dtype.itemsize()).unwrap(),
                shape: serde_json::from_value(c["shape"].clone()).unwrap(),
                data: std::fs::read(dir.join(format!("{name}.data"))).unwrap(),
                chunk: std::fs::read(dir.join(format!("{name}.chunk"))).unwrap(),
                name,
                dtype,
                fill,
            }
        })
        .collect()
}

#[test]
fn zarr_chunks_decode() {
    let cases = cases();
    assert_eq!(cases.len(), 10);
    for c in &cases {
        let out = c
            .chain
            .decode(&c.chunk, &c.dtype, &c.shape, &c.fill)
            .unwrap();
        assert!(out == c.data, "{}", c.name);
        // Into big-endian F-order memory as well.
        let big = c.dtype.with_byte_order(ndpack::ByteOrder::Big);
        let mut f = vec![0u8; c.data.len()];
        let mut fill = c.fill.clone();
        if big.is_swapped() != c.dtype.is_swapped() {
            fill.reverse();
        }
        c.chain
            .decode_into(
                &c.chunk,
                ArrayMut {
                    data: &mut f,
                    dtype: big.clone(),
                    shape: c.shape.clone(),
                    order: Order::F,
                },
                &fill,
            )
            .unwrap();
        let back = ndpack::NDBuffer::new(f.into(), big.clone(), c.shape.clone(), Order::F).unwrap();
        let first = &back.bytes()[..big.itemsize()];
        let mut want = c.data[..c.dtype.itemsize()].to_vec();
        if big.is_swapped() != c.dtype.is_swapped() && big.swap_unit() > 1 {
            for unit in want.chunks_mut(big.swap_unit()) {
                unit.reverse();
            }
        }
        assert_eq!(
            first,
            &want[..],
            "{} first item, big-endian F order",
            c.name
        );
    }
}

#[test]
fn data_encodes_to_zarr_bytes() {
    for c in cases() {
        let arr = ArrayRef::new(&c.data, c.dtype.clone(), c.shape.clone(), Order::C).unwrap();
        let opts = EncodeOptions {
            fill: c.fill.clone(),
            write_empty_chunks: false,
        };
        let mut enc = c.chain.encode(arr, &opts).unwrap().unwrap();
        let mut want = c.chunk.clone();
        if c.chain.names().iter().any(|n| n == "gzip") {
            // gzip's header holds the time of writing (bytes 4..8), as Python writes it.
            enc[4..8].fill(0);
            want[4..8].fill(0);
        }
        assert!(
            enc == want,
            "{}: {} vs {} bytes",
            c.name,
            enc.len(),
            want.len()
        );
    }
}

#[test]
fn corrupt_golden_chunks_fail_cleanly() {
    for c in cases() {
        for cut in [0, c.chunk.len() / 2, c.chunk.len() - 1] {
            let r = c.chain.decode(&c.chunk[..cut], &c.dtype, &c.shape, &c.fill);
            assert!(r.is_err(), "{} cut at {cut}", c.name);
        }
    }
}
