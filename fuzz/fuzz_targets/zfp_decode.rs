//! Fuzzes the zfpy header parser and the ZFP decoder: with a header, headerless with a type,
//! shape and mode taken from the input, and through the numcodecs `zfpy` codec. A decoded array
//! must be one the stream can hold (at least one bit, and at least `min_bits`, per block), the
//! checks that run before allocating must agree with decoding, and a shorter prefix of a stream
//! that decodes must decode to the same values or be `Truncated`.
#![no_main]

use libfuzzer_sys::fuzz_target;
use ndpack::codec::{get_codec, ArrayRef};
use ndpack::zfp::{self, ZfpMode, ZfpType};
use ndpack::ErrorKind;

/// Blocks of a NumPy shape (4 values per axis).
fn blocks(shape: &[usize]) -> u128 {
    shape.iter().map(|&s| s.div_ceil(4) as u128).product()
}

/// `decoded` (the values of all of `stream`) against the prefix `stream[..cut]`.
fn check_prefix(decoded: &[u8], prefix: ndpack::Result<Vec<u8>>, cut: usize) {
    match prefix {
        Ok(bytes) => assert!(
            bytes == decoded,
            "prefix of {cut} bytes decodes to other values"
        ),
        Err(e) => assert_eq!(e.kind(), ErrorKind::Truncated, "prefix of {cut} bytes: {e}"),
    }
}

fuzz_target!(|data: &[u8]| {
    if let Ok(h) = zfp::read_header(data) {
        assert!(h.bits == 96 || h.bits == 148);
    }
    let checked = zfp::check_stream(data);
    if let Ok(a) = zfp::decompress(data) {
        let h = checked.expect("a stream that decodes passes the check");
        assert_eq!(a.shape(), h.shape);
        let min_block = u128::from(h.params.min_bits.max(1));
        assert!(blocks(&h.shape) * min_block <= (data.len() * 8 - h.bits) as u128);
        let cut = data
            .len()
            .saturating_sub(1 + usize::from(data[data.len() - 1]) % 16);
        check_prefix(
            a.bytes(),
            zfp::decompress(&data[..cut]).map(|p| p.bytes().to_vec()),
            cut,
        );
    }
    let codec = get_codec(&serde_json::json!({"id": "zfpy"})).unwrap();
    let _ = codec.decode(ArrayRef::bytes(data));
    if data.len() > 4 {
        let (head, body) = data.split_at(4);
        let ztype = ZfpType::from_code(i64::from(head[0] % 4) + 1).unwrap();
        let ndim = usize::from(head[1] % 4) + 1;
        let side = usize::from(head[2] % 9) + 1;
        let shape = vec![side; ndim];
        let mode = match head[3] % 4 {
            0 => ZfpMode::Reversible,
            1 => ZfpMode::FixedRate(f64::from(head[3] / 4) * 0.5),
            2 => ZfpMode::FixedPrecision(u32::from(head[3] / 4)),
            _ => ZfpMode::FixedAccuracy(2f64.powi(i32::from(head[3] / 4) - 40)),
        };
        let checked = zfp::check_headerless(body, ztype, &shape, mode);
        if let Ok(Some(a)) = zfp::decompress_headerless(body, ztype, &shape, mode, None) {
            assert_eq!(
                checked.expect("a stream that decodes passes the check"),
                a.bytes().len()
            );
            // At least one bit per block.
            assert!(blocks(&shape) <= body.len() as u128 * 8);
            let cut = body.len() - usize::from(head[0] / 4) % (body.len() + 1);
            let prefix = zfp::decompress_headerless(&body[..cut], ztype, &shape, mode, None);
            check_prefix(
                a.bytes(),
                prefix.map(|p| p.expect("no out given").bytes().to_vec()),
                cut,
            );
        }
    }
});
