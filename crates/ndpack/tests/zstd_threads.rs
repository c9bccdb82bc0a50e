//! The `zstd` codec writes the same frame whatever ndpack's thread count: one single-threaded
//! frame, numcodecs' bytes (compared with numcodecs itself by `python/tests/test_codecs.py`).
//! Its own binary, because it changes the process-wide thread count.

use ndpack::codec::{get_codec, ArrayRef};
use serde_json::json;

/// At least 8 MiB (many zstd blocks, more than one window at the low levels): a smooth float
/// field, then an integer ramp.
fn data() -> Vec<u8> {
    let n = ((8 << 20) + 12_345) / 8;
    (0..n)
        .flat_map(|i| {
            let v = if i < n / 2 {
                ((i as f64) * 1e-4).sin().to_bits()
            } else {
                (i as u64) * 3
            };
            v.to_le_bytes()
        })
        .collect()
}

#[test]
fn zstd_frames_do_not_depend_on_the_thread_count() {
    let d = data();
    let before = ndpack::get_num_threads();
    for (level, checksum) in [(0, false), (1, true), (3, false), (5, true)] {
        let c = get_codec(&json!({"id": "zstd", "level": level, "checksum": checksum})).unwrap();
        let frames: Vec<Vec<u8>> = [1, 2, 3]
            .into_iter()
            .map(|threads| {
                ndpack::set_num_threads(threads).unwrap();
                c.encode(ArrayRef::bytes(&d)).unwrap().bytes().to_vec()
            })
            .collect();
        assert_eq!(frames[0], frames[1], "level {level}: 1 and 2 threads");
        assert_eq!(frames[0], frames[2], "level {level}: 1 and 3 threads");
        assert_eq!(
            c.decoded_len(&frames[0]),
            Some(d.len()),
            "level {level}: one frame declaring its size"
        );
        assert_eq!(
            c.decode(ArrayRef::bytes(&frames[0])).unwrap().bytes(),
            &d[..],
            "level {level}"
        );
    }
    ndpack::set_num_threads(before).unwrap();
}
