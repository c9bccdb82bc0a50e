//! The built-in sample arrays used by `ndpack bench` and `ndpack demo` when no file is given.

use ndpack::DataType;

/// A named array: little-endian bytes, dtype, shape.
pub struct Sample {
    /// Short name shown in tables.
    pub name: String,
    /// The items, C order, native (little-endian) bytes.
    pub data: Vec<u8>,
    /// The item type.
    pub dtype: DataType,
    /// The shape.
    pub shape: Vec<usize>,
}

/// The benchmark arrays of `bench/compare.py`: a smooth float32 field, noisy float32 values and an
/// int64 ramp, about `nbytes` each.
pub fn samples(nbytes: usize) -> Vec<Sample> {
    let side = ((nbytes / 4) as f64).sqrt() as usize;
    let mut smooth = Vec::with_capacity(side * side * 4);
    for y in 0..side {
        for x in 0..side {
            let v = (x as f32 / 50.0).sin() * (y as f32 / 70.0).cos() * 100.0;
            smooth.extend_from_slice(&v.to_le_bytes());
        }
    }
    // A xorshift generator: noise without a dependency, the same on every machine.
    let mut state = 0x9E37_79B9_7F4A_7C15u64;
    let n = nbytes / 4;
    let mut noisy = Vec::with_capacity(n * 4);
    for _ in 0..n {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        let u = (state >> 40) as f32 / (1u64 << 24) as f32;
        noisy.extend_from_slice(&((u - 0.5) * 6.0).to_le_bytes());
    }
    let ramp: Vec<u8> = (0..(nbytes / 8) as i64)
        .flat_map(|i| i.to_le_bytes())
        .collect();
    vec![
        Sample {
            name: "smooth-f4".into(),
            data: smooth,
            dtype: "<f4".parse().expect("valid"),
            shape: vec![side, side],
        },
        Sample {
            name: "noisy-f4".into(),
            data: noisy,
            dtype: "<f4".parse().expect("valid"),
            shape: vec![n],
        },
        Sample {
            name: "ramp-i8".into(),
            data: ramp,
            dtype: "<i8".parse().expect("valid"),
            shape: vec![nbytes / 8],
        },
    ]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn samples_have_consistent_sizes() {
        for s in samples(1 << 16) {
            let items: usize = s.shape.iter().product();
            assert_eq!(items * s.dtype.itemsize(), s.data.len(), "{}", s.name);
            assert!(!s.data.is_empty());
        }
    }
}
