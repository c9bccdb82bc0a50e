//! The `delta` codec: stores the difference between adjacent items, as numcodecs'
//! `Delta(dtype, astype=None)`.
//!
//! Config: `{"id": "delta", "dtype": "<i4", "astype": "<i4"}` (`astype` defaults to `dtype`).
//! Encoding flattens the input (memory order), keeps the first item and stores `np.diff` of the
//! rest, computed in `dtype` (integers wrap; bool uses `!=` as `np.diff` does) and cast to
//! `astype`. Decoding is `np.cumsum(enc, out=dec)`: the running sum is kept in the promoted type
//! of `astype` and `dtype` (NumPy's `result_type`) and each partial sum is cast to `dtype`.

use serde_json::{json, Map, Value};

use super::filter::{
    self, cast_bytes, item_filter_methods, with_num, ItemFilter, ItemMap, ItemTypes,
};
use super::{Codec, ConfigReader};
use crate::dtype::scalar::{get, promote, put, NumericType, Scalar};
use crate::dtype::DataType;
use crate::error::{Error, Result};

const ID: &str = "delta";

/// Items processed per block when a cast to or from a working type is needed.
const BLOCK: usize = 4096;

/// The numcodecs `delta` codec.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Delta {
    types: ItemTypes,
}

impl Delta {
    /// A codec for items of `dtype`, storing differences as `astype` (`None`: `dtype`).
    pub fn new(dtype: DataType, astype: Option<DataType>) -> Result<Self> {
        Ok(Delta {
            types: ItemTypes::new(ID, dtype, astype)?,
        })
    }

    /// Builds the codec from its numcodecs config.
    pub fn from_config(config: &Map<String, Value>) -> Result<Self> {
        let mut r = ConfigReader::new(ID, config)?;
        let (dtype, astype) = ItemTypes::read(&mut r)?;
        r.finish()?;
        let dtype = dtype.ok_or_else(|| filter::missing(ID, "dtype"))?;
        Self::new(dtype, astype).map_err(|e| Error::invalid_config(e.message()))
    }
}

impl ItemFilter for Delta {
    /// Outputs are 1-d, as numcodecs' (it flattens the input).
    fn items(&self) -> ItemMap<'_> {
        self.types.items(ID, false)
    }

    fn decode_items(&self, input: &[u8], out: &mut [u8]) {
        let (a, d) = (self.types.a, self.types.d);
        let l = promote(a.num, d.num);
        if a.num == l && d.num == l {
            with_num!(l, T => cumsum::<T>(input, a.swapped, out, d.swapped, &mut T::default()));
            return;
        }
        // Cast each block to the working type, sum it there, cast the sums to dtype.
        let native = |num| NumericType {
            num,
            swapped: false,
        };
        let mut tmp = vec![0u8; BLOCK * l.size()];
        let mut sums = vec![0u8; BLOCK * l.size()];
        with_num!(l, T => {
            let mut acc = T::default();
            let blocks = input.chunks(BLOCK * a.num.size()).zip(out.chunks_mut(BLOCK * d.num.size()));
            for (first, (src, dst)) in std::iter::once(true).chain(std::iter::repeat(false)).zip(blocks) {
                let n = src.len() / a.num.size();
                let t = &mut tmp[..n * l.size()];
                cast_bytes(src, a, t, native(l));
                let s = &mut sums[..n * l.size()];
                if first {
                    cumsum::<T>(t, false, s, false, &mut acc);
                } else {
                    cumsum_from::<T>(t, s, &mut acc);
                }
                cast_bytes(s, native(l), dst, d);
            }
        });
    }

    /// The first item of `data`, then `np.diff` of the items after it, cast to `astype`, into
    /// `out` (as many items).
    fn encode_items(&self, data: &[u8], out: &mut [u8]) -> Result<()> {
        let (d, a) = (self.types.d, self.types.a);
        if d.num == a.num {
            with_num!(d.num, T => diff::<T>(data, d.swapped, out, a.swapped));
        } else {
            // Differences in dtype by L1-sized blocks, each cast to astype while in cache; large
            // arrays in parts on ndpack's pool (each part reads the item before it).
            let native = NumericType {
                num: d.num,
                swapped: false,
            };
            let (size, asz) = (d.num.size(), a.num.size());
            let part = |first: usize, out: &mut [u8]| {
                let mut tmp = vec![0u8; BLOCK * size];
                let m = out.len() / asz;
                let mut i = 0;
                while i < m {
                    let k = (m - i).min(BLOCK);
                    let start = first + i;
                    let t = &mut tmp[..k * size];
                    with_num!(d.num, T => {
                        if start == 0 {
                            diff::<T>(&data[..k * size], d.swapped, t, false);
                        } else {
                            diff_run::<T>(&data[(start - 1) * size..(start + k) * size], d.swapped, t, false);
                        }
                    });
                    cast_bytes(t, native, &mut out[i * asz..(i + k) * asz], a);
                    i += k;
                }
            };
            let n = out.len() / asz;
            if n * size >= filter::PAR_MIN_BYTES && crate::threads::get_num_threads() > 1 {
                use rayon::prelude::*;
                crate::threads::install(|| {
                    out.par_chunks_mut(filter::PAR_ITEMS * asz)
                        .enumerate()
                        .for_each(|(k, o)| part(k * filter::PAR_ITEMS, o));
                });
            } else {
                part(0, out);
            }
        }
        Ok(())
    }
}

/// Writes the running sums of `src` into `dst`; the first item is copied, later ones added to
/// `acc`, which ends as the last sum.
#[inline(always)]
fn cumsum<T: Scalar>(src: &[u8], s_swap: bool, dst: &mut [u8], d_swap: bool, acc: &mut T) {
    if src.len() < T::SIZE {
        return;
    }
    let mut sum: T = get(&src[..T::SIZE], s_swap);
    put(sum, &mut dst[..T::SIZE], d_swap);
    let pairs = src[T::SIZE..]
        .chunks_exact(T::SIZE)
        .zip(dst[T::SIZE..].chunks_exact_mut(T::SIZE));
    // One loop per byte-order case, so that none tests the order per item.
    match (s_swap, d_swap) {
        (false, false) => pairs.for_each(|(s, d)| {
            sum = sum.add(T::load(s));
            sum.store(d);
        }),
        (true, false) => pairs.for_each(|(s, d)| {
            sum = sum.add(T::load(s).swap());
            sum.store(d);
        }),
        (false, true) => pairs.for_each(|(s, d)| {
            sum = sum.add(T::load(s));
            sum.swap().store(d);
        }),
        (true, true) => pairs.for_each(|(s, d)| {
            sum = sum.add(T::load(s).swap());
            sum.swap().store(d);
        }),
    }
    *acc = sum;
}

#[inline(always)]
fn cumsum_from<T: Scalar>(src: &[u8], dst: &mut [u8], acc: &mut T) {
    let mut sum = *acc;
    for (s, d) in src.chunks_exact(T::SIZE).zip(dst.chunks_exact_mut(T::SIZE)) {
        sum = sum.add(T::load(s));
        sum.store(d);
    }
    *acc = sum;
}

/// Writes `src[0]` then `src[i] - src[i - 1]` into `dst` (items of `T`).
/// `dst[0] = src[0]`, `dst[i] = src[i] - src[i - 1]` (`np.diff` after the first item), in
/// blocks on ndpack's pool for large arrays (each block reads the item before it).
fn diff<T: Scalar>(src: &[u8], s_swap: bool, dst: &mut [u8], d_swap: bool) {
    let size = T::SIZE;
    if src.len() < size {
        return;
    }
    put(get::<T>(&src[..size], s_swap), &mut dst[..size], d_swap);
    let rest = &mut dst[size..];
    if rest.len() >= filter::PAR_MIN_BYTES && crate::threads::get_num_threads() > 1 {
        use rayon::prelude::*;
        let items = filter::PAR_ITEMS;
        crate::threads::install(|| {
            rest.par_chunks_mut(items * size)
                .enumerate()
                .for_each(|(k, out)| {
                    let first = k * items; // item first + 1 of dst, read from src[first..]
                    let m = out.len() / size;
                    diff_run::<T>(
                        &src[first * size..(first + m + 1) * size],
                        s_swap,
                        out,
                        d_swap,
                    );
                });
        });
    } else {
        diff_run::<T>(src, s_swap, rest, d_swap);
    }
}

/// `out[i] = src[i + 1] - src[i]` for the `out.len() / T::SIZE` items of `out`.
#[inline(always)]
fn diff_run<T: Scalar>(src: &[u8], s_swap: bool, out: &mut [u8], d_swap: bool) {
    let pairs = src
        .chunks_exact(T::SIZE)
        .zip(src[T::SIZE..].chunks_exact(T::SIZE))
        .zip(out.chunks_exact_mut(T::SIZE));
    // One loop per byte-order case, so that each vectorises.
    match (s_swap, d_swap) {
        (false, false) => {
            pairs.for_each(|((p, c), d)| T::load(c).sub(T::load(p)).store(d));
        }
        (true, false) => {
            pairs.for_each(|((p, c), d)| T::load(c).swap().sub(T::load(p).swap()).store(d));
        }
        (false, true) => {
            pairs.for_each(|((p, c), d)| T::load(c).sub(T::load(p)).swap().store(d));
        }
        (true, true) => {
            pairs.for_each(|((p, c), d)| T::load(c).swap().sub(T::load(p).swap()).swap().store(d))
        }
    }
}

impl Codec for Delta {
    fn id(&self) -> &'static str {
        ID
    }

    fn config(&self) -> Value {
        self.types.config(json!({"id": ID}))
    }

    item_filter_methods!();
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::codec::{get_codec, ArrayMut, ArrayRef};
    use crate::error::ErrorKind;

    /// The items of `bytes`, each read from `N` bytes by `from`.
    fn items<T, const N: usize>(bytes: &[u8], from: fn([u8; N]) -> T) -> Vec<T> {
        bytes
            .chunks_exact(N)
            .map(|b| from(b.try_into().unwrap()))
            .collect()
    }

    #[test]
    fn golden_vectors_from_numcodecs() {
        filter::golden::check_all(include_str!("../../tests/data/filters/delta.json"));
    }

    #[test]
    fn parallel_blocks_equal_a_plain_loop() {
        // Large enough for the parallel path, in both byte orders and with 2+ threads (the
        // pool is only ever set to 2 or more here, so other tests are not affected).
        if crate::threads::get_num_threads() < 2 {
            crate::threads::set_num_threads(2).unwrap();
        }
        let n = filter::PAR_MIN_BYTES / 4 + filter::PAR_ITEMS * 3 + 5;
        let x: Vec<f32> = (0..n).map(|i| ((i * 7919) % 1013) as f32 * 0.37).collect();
        let mut want = vec![x[0]];
        want.extend(x.windows(2).map(|w| w[1] - w[0]));
        for (dtype, be) in [("<f4", false), (">f4", true)] {
            let data: Vec<u8> = x
                .iter()
                .flat_map(|v| if be { v.to_be_bytes() } else { v.to_le_bytes() })
                .collect();
            let c = Delta::new(dtype.parse().unwrap(), None).unwrap();
            let enc = c.encode(ArrayRef::bytes(&data)).unwrap();
            let got = items(
                enc.bytes(),
                if be {
                    f32::from_be_bytes
                } else {
                    f32::from_le_bytes
                },
            );
            assert!(got
                .iter()
                .zip(&want)
                .all(|(g, w)| g.to_bits() == w.to_bits()));
            assert_eq!(got.len(), want.len());
        }
    }

    #[test]
    fn blocks_carry_across_boundaries() {
        // Longer than several blocks, with casts on both sides: compare with a plain loop.
        let n = BLOCK * 3 + 17;
        let x: Vec<i32> = (0..n as i32).map(|i| i.wrapping_mul(7919) % 1000).collect();
        let data: Vec<u8> = x.iter().flat_map(|v| v.to_le_bytes()).collect();
        let c = Delta::new("<i4".parse().unwrap(), Some(">i8".parse().unwrap())).unwrap();
        let enc = c.encode(ArrayRef::bytes(&data)).unwrap();
        let got = items(enc.bytes(), i64::from_be_bytes);
        let mut want = vec![x[0] as i64];
        want.extend(x.windows(2).map(|w| w[1].wrapping_sub(w[0]) as i64));
        assert_eq!(got, want);
        let dec = c.decode(enc.as_array_ref()).unwrap();
        assert_eq!(dec.bytes(), &data[..]);
    }

    #[test]
    fn narrowing_parts_on_the_pool_carry_across_boundaries() {
        // Over filter::PAR_MIN_BYTES, so that the parts run on the pool, with part boundaries
        // inside the data. Byte-swapped input, narrowed to <i4.
        let n = filter::PAR_ITEMS * 5 + 12_345;
        let x: Vec<i64> = (0..n as i64)
            .map(|i| i.wrapping_mul(0x9E37_79B9_7F4A_7C15_u64 as i64) >> 20)
            .collect();
        let data: Vec<u8> = x.iter().flat_map(|v| v.to_be_bytes()).collect();
        let c = Delta::new(">i8".parse().unwrap(), Some("<i4".parse().unwrap())).unwrap();
        let mut want = vec![x[0] as i32];
        want.extend(x.windows(2).map(|w| w[1].wrapping_sub(w[0]) as i32));
        // (The pool is only ever set to 2 or more here, so other tests are not affected.)
        if crate::threads::get_num_threads() < 2 {
            crate::threads::set_num_threads(2).unwrap();
        }
        let enc = c.encode(ArrayRef::bytes(&data)).unwrap();
        let got = items(enc.bytes(), i32::from_le_bytes);
        assert_eq!(got, want);
        // Decoding widens back through the promoted type: the sums wrap as NumPy's do.
        let dec = c.decode(enc.as_array_ref()).unwrap();
        let back = items(dec.bytes(), i64::from_be_bytes);
        let mut sum = 0i64;
        let expect: Vec<i64> = want
            .iter()
            .map(|&d| {
                sum = sum.wrapping_add(d as i64);
                sum
            })
            .collect();
        assert_eq!(back, expect);
    }

    #[test]
    fn errors() {
        let c = Delta::new("<i4".parse().unwrap(), None).unwrap();
        let e = c.decode(ArrayRef::bytes(&[1, 2, 3])).unwrap_err();
        assert_eq!(e.kind(), ErrorKind::Corrupt);
        let v = [0u8; 8];
        let wrong = ArrayRef::new(&v, "<f8".parse().unwrap(), vec![1], Default::default());
        assert_eq!(
            c.encode(wrong.unwrap()).unwrap_err().kind(),
            ErrorKind::InvalidArgument
        );
        let mut out = [0u8; 4];
        assert!(c.decode_into(&v, ArrayMut::bytes(&mut out)).is_err());
        for (cfg, key) in [
            (json!({"id": "delta"}), "dtype"),
            (json!({"id": "delta", "dtype": "|O"}), "dtype"),
            (
                json!({"id": "delta", "dtype": "<i4", "astype": "<U3"}),
                "astype",
            ),
            (
                json!({"id": "delta", "dtype": "<i4", "astyp": "<i2"}),
                "astyp",
            ),
            (json!({"id": "delta", "dtype": 4}), "dtype"),
        ] {
            let e = get_codec(&cfg).unwrap_err();
            assert_eq!(e.kind(), ErrorKind::InvalidConfig, "{cfg}");
            assert!(e.message().contains(key), "{e}");
        }
        // Empty input encodes and decodes to nothing.
        assert!(c.encode(ArrayRef::bytes(&[])).unwrap().bytes().is_empty());
    }
}
