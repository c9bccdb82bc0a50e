//! Fuzz the NPY reader: header parsing, literal parsing, data-size checks, and the writer on
//! whatever parses (the rewritten file must parse to the same header).
#![no_main]

use libfuzzer_sys::fuzz_target;
use ndpack::npy;

fuzz_target!(|data: &[u8]| {
    let _ = npy::header::parse_descr(&String::from_utf8_lossy(data));
    if let Ok(v) = npy::read_npy(data) {
        let again = npy::write_npy_to_vec(v.descr(), v.shape(), v.order(), v.data()).expect("rewrite");
        let w = npy::read_npy(&again).expect("rewritten file parses");
        assert_eq!(w.descr(), v.descr());
        assert_eq!(w.shape(), v.shape());
        assert_eq!(w.data(), v.data());
    }
});
