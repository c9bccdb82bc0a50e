//! Fuzz opening a b2nd array from a frame held in memory: the frame, the `b2nd`/`caterva`
//! metalayer and its checks against the frame, then reads of a few regions (the whole array when
//! it is small, its first and last items, a region with negative steps) and a write.
#![no_main]

use libfuzzer_sys::fuzz_target;
use ndpack::array::b2nd::NDArray;
use ndpack::buffer::ArrayRef;
use ndpack::region::{Order, Region, Slice};
use ndpack::Buffer;

fuzz_target!(|data: &[u8]| {
    let Ok(mut a) = NDArray::from_cframe(Buffer::copy_from_slice(data), true) else {
        return;
    };
    let shape = a.shape().to_vec();
    if a.nbytes() <= 1 << 20 {
        let _ = a.to_buffer();
    }
    if shape.contains(&0) {
        return;
    }
    let first = Region::from_bounds(&vec![0; shape.len()], &vec![1; shape.len()]);
    let last: Option<Region> = shape.iter().map(|&n| Slice::at(n - 1).ok()).collect();
    let back: Option<Region> = shape
        .iter()
        .map(|&n| Slice::normalize(Some(n.min(5) as isize - 1), None, Some(-2), n).ok())
        .collect();
    for r in [first.ok(), last, back].into_iter().flatten() {
        let _ = a.read(&r);
    }
    if let Ok(r) = Region::from_bounds(&vec![0; shape.len()], &vec![1; shape.len()]) {
        let item = vec![7u8; a.itemsize()];
        let dt = a.dtype().data_type();
        if let Ok(src) = ArrayRef::new(&item, dt, vec![1; shape.len()], Order::C) {
            let _ = a.set_region(&r, &src);
        }
    }
});
