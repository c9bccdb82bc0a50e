//! The `delta` codec: stores the difference between adjacent items, as numcodecs'
//! `Delta(dtype, astype=None)`.
//!
//! Config: `{"id": "delta", "dtype": "<i4", "astype": "<i4"}` (`astype` defaults to `dtype`).
//! Encoding flattens the input (memory order), keeps the first item and stores `np.diff` of the
//! rest, computed in `dtype` (integers wrap; bool uses `!=` as `np.diff` does) and cast to
//! `astype`. Decoding is `np.cumsum(enc, out=dec)`: the running sum is kept in the promoted type
//! of `astype` and `dtype` (NumPy's `result_type`) and each partial sum is cast to `dtype`.

use serde_json::{json, Map, Value};

use super::typed::{self, cast_bytes, get, promote, put, with_num, NumType, Scalar};
use super::{Array, ArrayMut, ArrayRef, Codec, ConfigReader};
use crate::dtype::DataType;
use crate::error::{Error, Result};

const ID: &str = "delta";

/// Items processed per block when a cast to or from a working type is needed.
const BLOCK: usize = 4096;

/// The numcodecs `delta` codec.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Delta {
    dtype: DataType,
    astype: DataType,
    d: NumType,
    a: NumType,
}

impl Delta {
    /// A codec for items of `dtype`, storing differences as `astype` (`None`: `dtype`).
    pub fn new(dtype: DataType, astype: Option<DataType>) -> Result<Self> {
        let astype = astype.unwrap_or_else(|| dtype.clone());
        let d = NumType::require(&dtype, ID, "dtype")?;
        let a = NumType::require(&astype, ID, "astype")?;
        Ok(Delta {
            dtype,
            astype,
            d,
            a,
        })
    }

    /// Builds the codec from its numcodecs config.
    pub fn from_config(config: &Map<String, Value>) -> Result<Self> {
        let mut r = ConfigReader::new(ID, config)?;
        let dtype = r.dtype("dtype")?;
        let astype = r.dtype("astype")?;
        r.finish()?;
        let dtype = dtype.ok_or_else(|| typed::missing(ID, "dtype"))?;
        Self::new(dtype, astype).map_err(|e| Error::config(e.message()))
    }

    fn decode_bytes(&self, input: &[u8], out: &mut [u8]) {
        let (a, d) = (self.a, self.d);
        let l = promote(a.num, d.num);
        if a.num == l && d.num == l {
            with_num!(l, T => cumsum::<T>(input, a.swapped, out, d.swapped, &mut T::default()));
            return;
        }
        // Cast each block to the working type, sum it there, cast the sums to dtype.
        let native = |num| NumType {
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

    fn check_out(&self, n: usize, out_len: usize) -> Result<()> {
        let want = n * self.dtype.itemsize();
        if out_len != want {
            return Err(Error::invalid(format!(
                "output buffer has {out_len} bytes, decoded data has {want}"
            )));
        }
        Ok(())
    }
}

/// Writes the running sums of `src` into `dst`; the first item is copied, later ones added to
/// `acc`, which ends as the last sum.
#[inline(always)]
fn cumsum<T: Scalar>(src: &[u8], s_swap: bool, dst: &mut [u8], d_swap: bool, acc: &mut T) {
    let mut pairs = src.chunks_exact(T::SIZE).zip(dst.chunks_exact_mut(T::SIZE));
    let Some((s0, d0)) = pairs.next() else {
        return;
    };
    let mut sum: T = get(s0, s_swap);
    put(sum, d0, d_swap);
    for (s, d) in pairs {
        sum = sum.add(get(s, s_swap));
        put(sum, d, d_swap);
    }
    *acc = sum;
}

/// Like [`cumsum`] on native items, continuing from `acc`.
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
#[inline(always)]
fn diff<T: Scalar>(src: &[u8], s_swap: bool, dst: &mut [u8], d_swap: bool) {
    if src.is_empty() {
        return;
    }
    dst[..T::SIZE].copy_from_slice(&src[..T::SIZE]);
    if s_swap != d_swap {
        put(
            get::<T>(&src[..T::SIZE], s_swap),
            &mut dst[..T::SIZE],
            d_swap,
        );
    }
    let prev = src.chunks_exact(T::SIZE);
    let cur = src[T::SIZE..].chunks_exact(T::SIZE);
    let out = dst[T::SIZE..].chunks_exact_mut(T::SIZE);
    for ((p, c), d) in prev.zip(cur).zip(out) {
        let v = get::<T>(c, s_swap).sub(get::<T>(p, s_swap));
        put(v, d, d_swap);
    }
}

impl Codec for Delta {
    fn id(&self) -> &'static str {
        ID
    }

    fn config(&self) -> Value {
        json!({"id": ID, "dtype": self.dtype.to_string(), "astype": self.astype.to_string()})
    }

    fn encode(&self, input: ArrayRef<'_>) -> Result<Array> {
        let n = typed::check_input(ID, &input, &self.dtype, "dtype")?;
        let (d, a) = (self.d, self.a);
        let mut block = typed::alloc(n * self.astype.itemsize());
        let out = block.as_mut_slice();
        if d.num == a.num {
            with_num!(d.num, T => diff::<T>(input.data, d.swapped, out, a.swapped));
        } else {
            // Differences in dtype, by blocks, then cast to astype.
            let native = NumType {
                num: d.num,
                swapped: false,
            };
            let size = d.num.size();
            let mut tmp = vec![0u8; BLOCK * size];
            let mut start = 0;
            while start < n {
                let end = (start + BLOCK).min(n);
                let t = &mut tmp[..(end - start) * size];
                // Each block starts one item early (the previous item), except the first.
                let from = start.saturating_sub(1);
                with_num!(d.num, T => {
                    let src = &input.data[from * size..end * size];
                    if start == 0 {
                        diff::<T>(src, d.swapped, t, false);
                    } else {
                        let pairs = src.chunks_exact(size).zip(src[size..].chunks_exact(size));
                        for ((p, c), o) in pairs.zip(t.chunks_exact_mut(size)) {
                            get::<T>(c, d.swapped).sub(get::<T>(p, d.swapped)).store(o);
                        }
                    }
                });
                let asz = a.num.size();
                cast_bytes(t, native, &mut out[start * asz..end * asz], a);
                start = end;
            }
        }
        Ok(typed::output(
            block,
            self.astype.clone(),
            vec![n],
            Default::default(),
        ))
    }

    fn decode(&self, input: ArrayRef<'_>) -> Result<Array> {
        let n = typed::items_in(ID, input.data.len(), &self.astype, true)?;
        let mut block = typed::alloc(n * self.dtype.itemsize());
        self.decode_bytes(input.data, block.as_mut_slice());
        Ok(typed::output(
            block,
            self.dtype.clone(),
            vec![n],
            Default::default(),
        ))
    }

    fn decode_into(&self, input: &[u8], out: ArrayMut<'_>) -> Result<()> {
        let n = typed::items_in(ID, input.len(), &self.astype, true)?;
        self.check_out(n, out.data.len())?;
        self.decode_bytes(input, out.data);
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::codec::get_codec;
    use crate::error::ErrorKind;

    #[test]
    fn golden_vectors_from_numcodecs() {
        typed::golden::check_all(include_str!("../../tests/data/filters/delta.json"));
    }

    #[test]
    fn blocks_carry_across_boundaries() {
        // Longer than several blocks, with casts on both sides: compare with a plain loop.
        let n = BLOCK * 3 + 17;
        let x: Vec<i32> = (0..n as i32).map(|i| i.wrapping_mul(7919) % 1000).collect();
        let data: Vec<u8> = x.iter().flat_map(|v| v.to_le_bytes()).collect();
        let c = Delta::new("<i4".parse().unwrap(), Some(">i8".parse().unwrap())).unwrap();
        let enc = c.encode(ArrayRef::bytes(&data)).unwrap();
        let got: Vec<i64> = enc
            .bytes()
            .chunks_exact(8)
            .map(|b| i64::from_be_bytes(b.try_into().unwrap()))
            .collect();
        let mut want = vec![x[0] as i64];
        want.extend(x.windows(2).map(|w| w[1].wrapping_sub(w[0]) as i64));
        assert_eq!(got, want);
        let dec = c.decode(enc.as_array_ref()).unwrap();
        assert_eq!(dec.bytes(), &data[..]);
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
