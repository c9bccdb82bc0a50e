//! Plumbing shared by the filter codecs: tight read-map-write loops over the items of byte
//! slices that the compiler vectorises (in blocks on ndpack's pool when large), the macros that
//! bind a [`ScalarKind`] to its Rust type, and the size checks and output arrays of the filters
//! that write one item per item ([`ItemMap`]).

use crate::dtype::scalar::{cast, NumericType, Scalar, ScalarKind};
use crate::dtype::DataType;
use crate::error::{Error, Result};

/// Arrays of at least this many bytes are mapped in parallel on ndpack's pool.
pub(crate) const PAR_MIN_BYTES: usize = 1 << 21;

/// Items per parallel task.
pub(crate) const PAR_ITEMS: usize = 1 << 16;

/// Runs `work` on `src` and `dst` (items of `s` and `d` bytes), split into blocks on ndpack's
/// pool when the arrays are large. Not generic, so that rayon is instantiated once.
pub(crate) fn par_blocks(
    src: &[u8],
    s: usize,
    dst: &mut [u8],
    d: usize,
    work: &(dyn Fn(&[u8], &mut [u8]) + Sync),
) {
    if src.len().max(dst.len()) >= PAR_MIN_BYTES && crate::threads::get_num_threads() > 1 {
        use rayon::prelude::*;
        crate::threads::install(|| {
            src.par_chunks(PAR_ITEMS * s)
                .zip(dst.par_chunks_mut(PAR_ITEMS * d))
                .for_each(|(a, b)| work(a, b));
        });
    } else {
        work(src, dst);
    }
}

/// Applies `f` to every `S` item of `src`, writing `D` items into `dst` (as many items).
/// The byte-order branches are hoisted out of the loop so that each loop vectorises; large
/// arrays are split into blocks that run on ndpack's thread pool.
#[inline(always)]
pub(crate) fn map<S: Scalar, D: Scalar>(
    src: &[u8],
    s_swap: bool,
    dst: &mut [u8],
    d_swap: bool,
    f: impl Fn(S) -> D + Sync,
) {
    debug_assert_eq!(src.len() / S::SIZE, dst.len() / D::SIZE);
    par_blocks(src, S::SIZE, dst, D::SIZE, &|s, d| {
        map_seq(s, s_swap, d, d_swap, &f)
    });
}

#[inline(always)]
fn map_seq<S: Scalar, D: Scalar>(
    src: &[u8],
    s_swap: bool,
    dst: &mut [u8],
    d_swap: bool,
    f: &impl Fn(S) -> D,
) {
    let pairs = src.chunks_exact(S::SIZE).zip(dst.chunks_exact_mut(D::SIZE));
    match (s_swap, d_swap) {
        (false, false) => pairs.for_each(|(s, d)| f(S::load(s)).store(d)),
        (true, false) => pairs.for_each(|(s, d)| f(S::load(s).swap()).store(d)),
        (false, true) => pairs.for_each(|(s, d)| f(S::load(s)).swap().store(d)),
        (true, true) => pairs.for_each(|(s, d)| f(S::load(s).swap()).swap().store(d)),
    }
}

/// Runs `$body` with `$T` bound to the Rust type of the [`ScalarKind`] `$num`.
macro_rules! with_num {
    ($num:expr, $T:ident => $body:expr) => {
        $crate::codec::filter::with_types!($num, $T => $body;
            $crate::dtype::scalar::ScalarKind::Bool => bool,
            $crate::dtype::scalar::ScalarKind::I8 => i8,
            $crate::dtype::scalar::ScalarKind::I16 => i16,
            $crate::dtype::scalar::ScalarKind::I32 => i32,
            $crate::dtype::scalar::ScalarKind::I64 => i64,
            $crate::dtype::scalar::ScalarKind::U8 => u8,
            $crate::dtype::scalar::ScalarKind::U16 => u16,
            $crate::dtype::scalar::ScalarKind::U32 => u32,
            $crate::dtype::scalar::ScalarKind::U64 => u64,
            $crate::dtype::scalar::ScalarKind::F16 => half::f16,
            $crate::dtype::scalar::ScalarKind::F32 => f32,
            $crate::dtype::scalar::ScalarKind::F64 => f64)
    };
}
pub(crate) use with_num;

/// Runs `$body` with `$T` bound to the Rust type of the float [`ScalarKind`] `$num`; other
/// types are unreachable by construction (callers check `is_float` first).
macro_rules! with_float {
    ($num:expr, $T:ident => $body:expr) => {
        $crate::codec::filter::with_types!($num, $T => $body;
            $crate::dtype::scalar::ScalarKind::F16 => half::f16,
            $crate::dtype::scalar::ScalarKind::F32 => f32,
            _ => f64)
    };
}
pub(crate) use with_float;

/// The `match` behind [`with_num!`] and [`with_float!`]: one arm per `pattern => type`, each
/// running `$body` with `$T` bound to its type.
macro_rules! with_types {
    ($num:expr, $T:ident => $body:expr; $($p:pat => $t:ty),+) => {
        match $num {
            $($p => {
                type $T = $t;
                $body
            })+
        }
    };
}
pub(crate) use with_types;

/// NumPy's `src.astype(dst_type)`: casts the items of `src` (type `s`) into `dst` (type `d`),
/// which must hold as many items.
pub(crate) fn cast_bytes(src: &[u8], s: NumericType, dst: &mut [u8], d: NumericType) {
    if s.num == d.num && s.num != ScalarKind::Bool {
        if s.swapped == d.swapped {
            // A plain copy, in blocks on the pool when large (one thread does not reach the
            // memory bandwidth).
            par_blocks(src, 1, dst, 1, &|a, b| b.copy_from_slice(a));
        } else {
            with_num!(s.num, T => map::<T, T>(src, s.swapped, dst, d.swapped, |v| v));
        }
        return;
    }
    with_num!(s.num, S => with_num!(d.num, D => {
        map::<S, D>(src, s.swapped, dst, d.swapped, cast::<S, D>)
    }))
}

/// The number of `itemsize` items in `len` bytes, or an error if `len` is not a multiple
/// (NumPy's `.view(dtype)` rule). `decoding` picks
/// [`ErrorKind::Corrupt`](crate::ErrorKind::Corrupt) over
/// [`ErrorKind::InvalidArgument`](crate::ErrorKind::InvalidArgument).
pub(crate) fn items_in(id: &str, len: usize, dt: &DataType, decoding: bool) -> Result<usize> {
    let size = dt.itemsize();
    if size == 0 || !len.is_multiple_of(size) {
        let msg = format!("codec {id}: {len} bytes are not a whole number of {dt} items");
        return Err(if decoding {
            Error::corrupt(msg)
        } else {
            Error::invalid_argument(msg)
        });
    }
    Ok(len / size)
}

/// Checks that an encoder's input has dtype `want`, or is plain bytes (`|u1`, as from a
/// compressor) that can be viewed as `want`; returns the number of items.
pub(crate) fn check_input(
    id: &str,
    input: &super::ArrayRef<'_>,
    want: &DataType,
    key: &str,
) -> Result<usize> {
    if input.dtype != *want && input.dtype != DataType::u8() {
        return Err(Error::invalid_argument(format!(
            "codec {id}: input has dtype {}, but {key} is {want}",
            input.dtype
        )));
    }
    items_in(id, input.data.len(), want, false)
}

/// The shape and order of a filter's output: the input's when its dtype is `dtype` (NumPy's
/// `.view(dtype)` keeps it), else 1-d.
pub(crate) fn same_shape(
    input: &super::ArrayRef<'_>,
    dtype: &DataType,
    n: usize,
) -> (Vec<usize>, crate::region::Order) {
    if input.dtype == *dtype {
        (input.shape.clone(), input.order)
    } else {
        (vec![n], crate::region::Order::C)
    }
}

/// Wraps an output block as an [`super::NDBuffer`], checking its size.
pub(crate) fn output(
    block: crate::buffer::AlignedBytes,
    dtype: DataType,
    shape: Vec<usize>,
    order: crate::region::Order,
) -> Result<super::NDBuffer> {
    super::NDBuffer::new(
        crate::buffer::Buffer::from_owner(block),
        dtype,
        shape,
        order,
    )
}

/// The sizes, checks and output arrays of a filter that writes one item for each item it
/// reads (delta, fixedscaleoffset, quantize, astype): encoding reads `dtype` items (named
/// `key` in errors) and writes `astype` items, decoding the reverse. The filter only supplies
/// the loop that fills the output bytes.
pub(crate) struct ItemMap<'a> {
    /// The codec id, for errors.
    pub id: &'static str,
    /// The config key of `dtype`, for errors.
    pub key: &'static str,
    /// The decoded item type.
    pub dtype: &'a DataType,
    /// The encoded item type.
    pub astype: &'a DataType,
    /// Whether outputs keep the input's shape and order when its dtype is the expected one
    /// (see [`same_shape`]); else they are 1-d.
    pub keep_shape: bool,
}

impl<'a> ItemMap<'a> {
    /// The map of a filter whose item types are its `dtype` and `astype` config keys (delta,
    /// fixedscaleoffset, quantize).
    pub(crate) fn of_dtype(
        id: &'static str,
        dtype: &'a DataType,
        astype: &'a DataType,
        keep_shape: bool,
    ) -> Self {
        ItemMap {
            id,
            key: "dtype",
            dtype,
            astype,
            keep_shape,
        }
    }
}

impl ItemMap<'_> {
    fn shape(
        &self,
        input: &super::ArrayRef<'_>,
        expected: &DataType,
        n: usize,
    ) -> (Vec<usize>, crate::region::Order) {
        if self.keep_shape {
            same_shape(input, expected, n)
        } else {
            (vec![n], crate::region::Order::C)
        }
    }

    /// `Codec::encode`: `fill(items, out)` writes the encoded items.
    pub(crate) fn encode(
        &self,
        input: &super::ArrayRef<'_>,
        fill: impl FnOnce(&[u8], &mut [u8]) -> Result<()>,
    ) -> Result<super::NDBuffer> {
        let n = check_input(self.id, input, self.dtype, self.key)?;
        let mut block = alloc(n * self.astype.itemsize());
        fill(input.data, block.as_mut_slice())?;
        let (shape, order) = self.shape(input, self.dtype, n);
        output(block, self.astype.clone(), shape, order)
    }

    /// `Codec::max_encoded_len`: exact.
    pub(crate) fn max_encoded_len(&self, input: &super::ArrayRef<'_>) -> Option<usize> {
        let n = check_input(self.id, input, self.dtype, self.key).ok()?;
        Some(n * self.astype.itemsize())
    }

    /// `Codec::encode_into`: `fill(items, out)` writes the encoded items into the start of
    /// `out`.
    pub(crate) fn encode_into(
        &self,
        input: &super::ArrayRef<'_>,
        out: &mut [u8],
        fill: impl FnOnce(&[u8], &mut [u8]) -> Result<()>,
    ) -> Result<usize> {
        let n = check_input(self.id, input, self.dtype, self.key)?;
        let len = n * self.astype.itemsize();
        fill(input.data, out_prefix(out, len)?)?;
        Ok(len)
    }

    /// `Codec::decode`: `fill(items, out)` writes the decoded items.
    pub(crate) fn decode(
        &self,
        input: &super::ArrayRef<'_>,
        fill: impl FnOnce(&[u8], &mut [u8]),
    ) -> Result<super::NDBuffer> {
        let n = items_in(self.id, input.data.len(), self.astype, true)?;
        let mut block = try_alloc(n * self.dtype.itemsize())?;
        fill(input.data, block.as_mut_slice());
        let (shape, order) = self.shape(input, self.astype, n);
        output(block, self.dtype.clone(), shape, order)
    }

    /// `Codec::decode_into`: `fill(items, out)` writes the decoded items into `out`, which
    /// must hold exactly as many.
    pub(crate) fn decode_into(
        &self,
        input: &[u8],
        out: &mut [u8],
        fill: impl FnOnce(&[u8], &mut [u8]),
    ) -> Result<()> {
        let n = items_in(self.id, input.len(), self.astype, true)?;
        fill(input, exact_out(out, n * self.dtype.itemsize())?);
        Ok(())
    }
}

/// The item types of a filter configured by numcodecs' `dtype` and `astype` keys (delta,
/// quantize, fixedscaleoffset): `astype` defaults to `dtype`, and both are numeric.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct ItemTypes {
    /// The decoded item type.
    pub dtype: DataType,
    /// The encoded item type.
    pub astype: DataType,
    /// `dtype` as a numeric type.
    pub d: NumericType,
    /// `astype` as a numeric type.
    pub a: NumericType,
}

impl ItemTypes {
    /// The types of codec `id`, or an error naming the key of the first that is not numeric.
    pub(crate) fn new(id: &str, dtype: DataType, astype: Option<DataType>) -> Result<Self> {
        let astype = astype.unwrap_or_else(|| dtype.clone());
        let d = NumericType::require(&dtype, id, "dtype")?;
        let a = NumericType::require(&astype, id, "astype")?;
        Ok(ItemTypes {
            dtype,
            astype,
            d,
            a,
        })
    }

    /// Reads the `dtype` and `astype` keys of a config.
    pub(crate) fn read(
        r: &mut super::ConfigReader<'_>,
    ) -> Result<(Option<DataType>, Option<DataType>)> {
        Ok((r.dtype("dtype")?, r.dtype("astype")?))
    }

    /// `config` (a JSON object with the codec's other keys) with the `dtype` and `astype` keys.
    pub(crate) fn config(&self, mut config: serde_json::Value) -> serde_json::Value {
        config["dtype"] = self.dtype.to_string().into();
        config["astype"] = self.astype.to_string().into();
        config
    }

    /// The [`ItemMap`] of codec `id`: outputs keep the input's shape when `keep_shape`.
    pub(crate) fn items(&self, id: &'static str, keep_shape: bool) -> ItemMap<'_> {
        ItemMap::of_dtype(id, &self.dtype, &self.astype, keep_shape)
    }
}

/// A filter that writes one item for each item it reads: its [`ItemMap`] and the loops that
/// fill the output bytes. [`item_filter_methods!`] writes its `Codec` methods from these.
pub(crate) trait ItemFilter {
    /// The filter's sizes, checks and output arrays.
    fn items(&self) -> ItemMap<'_>;
    /// Writes the encoded items of `src` into `dst` (as many items).
    fn encode_items(&self, src: &[u8], dst: &mut [u8]) -> Result<()>;
    /// Writes the decoded items of `src` into `dst` (as many items).
    fn decode_items(&self, src: &[u8], dst: &mut [u8]);
}

/// The `encode`, `max_encoded_len`, `encode_into`, `decode` and `decode_into` methods of
/// `Codec` for an [`ItemFilter`], inside its `impl Codec` block.
macro_rules! item_filter_methods {
    () => {
        fn encode(
            &self,
            input: $crate::codec::ArrayRef<'_>,
        ) -> $crate::error::Result<$crate::codec::NDBuffer> {
            self.items()
                .encode(&input, |src, dst| self.encode_items(src, dst))
        }

        fn max_encoded_len(&self, input: &$crate::codec::ArrayRef<'_>) -> Option<usize> {
            self.items().max_encoded_len(input)
        }

        fn encode_into(
            &self,
            input: $crate::codec::ArrayRef<'_>,
            out: &mut [u8],
        ) -> $crate::error::Result<usize> {
            self.items()
                .encode_into(&input, out, |src, dst| self.encode_items(src, dst))
        }

        fn decode(
            &self,
            input: $crate::codec::ArrayRef<'_>,
        ) -> $crate::error::Result<$crate::codec::NDBuffer> {
            self.items()
                .decode(&input, |src, dst| self.decode_items(src, dst))
        }

        fn decode_into(
            &self,
            input: &[u8],
            out: $crate::codec::ArrayMut<'_>,
        ) -> $crate::error::Result<()> {
            self.items()
                .decode_into(input, out.data, |src, dst| self.decode_items(src, dst))
        }
    };
}
pub(crate) use item_filter_methods;

/// The first `len` bytes of an `encode_into` output, or an error if it is shorter.
pub(crate) fn out_prefix(out: &mut [u8], len: usize) -> Result<&mut [u8]> {
    let have = out.len();
    out.get_mut(..len).ok_or_else(|| {
        Error::invalid_argument(format!(
            "output buffer has {have} bytes, encoded data has {len}"
        ))
    })
}

/// `out` when it holds exactly the `want` bytes a decoder writes, else an error.
pub(crate) fn exact_out(out: &mut [u8], want: usize) -> Result<&mut [u8]> {
    super::check_out_len(out.len(), want)?;
    Ok(out)
}

/// A new 1-d C-order array of `n` items of `dtype`, written by `fill`.
pub(crate) fn new_1d(
    n: usize,
    dtype: &DataType,
    fill: impl FnOnce(&mut [u8]),
) -> Result<super::NDBuffer> {
    let mut block = alloc(n * dtype.itemsize());
    fill(block.as_mut_slice());
    output(block, dtype.clone(), vec![n], Default::default())
}

/// A required config key that is missing.
pub(crate) fn missing(id: &str, key: &str) -> Error {
    Error::invalid_config(format!("codec {id}: missing config key {key:?}"))
}

/// A new 64-byte aligned block of `len` bytes, which the caller overwrites completely (its
/// contents are unspecified: see [`crate::buffer::AlignedBytes::for_overwrite`]).
pub(crate) fn alloc(len: usize) -> crate::buffer::AlignedBytes {
    crate::buffer::AlignedBytes::for_overwrite(len)
}

/// As [`alloc`], or an [`ErrorKind::OutOfMemory`](crate::ErrorKind::OutOfMemory) error when the
/// memory cannot be had: for sizes that come from the input.
pub(crate) fn try_alloc(len: usize) -> Result<crate::buffer::AlignedBytes> {
    crate::buffer::AlignedBytes::try_for_overwrite(len)
}

#[cfg(test)]
pub(crate) mod golden {
    //! Golden-vector cases written by `tests/data/filters/gen_golden.py` with numcodecs 0.16.6.

    use serde_json::Value;

    use crate::codec::test_util::unhex;
    use crate::codec::{get_codec, ArrayMut, ArrayRef};
    use crate::dtype::DataType;
    use crate::region::Order;

    /// The cases of one codec's golden file.
    pub fn cases(text: &str) -> Vec<Value> {
        let v: Value = serde_json::from_str(text).unwrap();
        v.as_array().unwrap().clone()
    }

    /// Field `key` of a case, as a string.
    pub fn s<'a>(case: &'a Value, key: &str) -> &'a str {
        case[key]
            .as_str()
            .unwrap_or_else(|| panic!("{key} in {case}"))
    }

    /// An array of a case: its bytes and dtype (1-d).
    fn array(case: &Value, dtype_key: &str, key: &str) -> (Vec<u8>, DataType) {
        (unhex(s(case, key)), s(case, dtype_key).parse().unwrap())
    }

    /// Checks every case of a golden file: the codec built from the case's config (through the
    /// registry) encodes the input to numcodecs' bytes and dtype, decodes numcodecs' encoded
    /// bytes (typed, and as plain bytes) to numcodecs' decoded array, and its config round trips.
    pub fn check_all(text: &str) {
        let all = cases(text);
        assert!(!all.is_empty());
        for case in &all {
            check(case);
        }
    }

    /// `op` on `data` viewed as a 1-d array of `dt`; an error panics, naming `what` and `case`.
    fn apply(
        data: &[u8],
        dt: DataType,
        op: impl FnOnce(ArrayRef<'_>) -> crate::error::Result<crate::codec::NDBuffer>,
        what: &str,
        case: &Value,
    ) -> crate::codec::NDBuffer {
        let n = data.len() / dt.itemsize();
        op(ArrayRef::new(data, dt, vec![n], Order::C).unwrap())
            .unwrap_or_else(|e| panic!("{e} {what} {case}"))
    }

    fn check(case: &Value) {
        let codec = get_codec(&case["config"]).unwrap_or_else(|e| panic!("{e} in {case}"));
        assert_eq!(codec.config(), case["config"], "config of {case}");
        let (enc, enc_dt) = array(case, "enc_dtype", "encoded");
        if case.get("input").is_some() {
            let (input, dt) = array(case, "dtype", "input");
            let got = apply(&input, dt, |a| codec.encode(a), "encoding", case);
            assert_eq!(*got.dtype(), enc_dt, "encoded dtype of {case}");
            assert_eq!(got.bytes(), &enc[..], "encoded bytes of {case}");
            assert_eq!(got.shape(), vec![enc.len() / enc_dt.itemsize()]);
        }
        let (dec, dec_dt) = array(case, "dec_dtype", "decoded");
        let got = apply(&enc, enc_dt, |a| codec.decode(a), "decoding", case);
        assert_eq!(*got.dtype(), dec_dt, "decoded dtype of {case}");
        assert_eq!(got.bytes(), &dec[..], "decoded bytes of {case}");
        let raw = codec.decode(ArrayRef::bytes(&enc)).unwrap();
        assert_eq!(
            raw.bytes(),
            &dec[..],
            "decoded bytes (untyped input) of {case}"
        );
        let mut out = vec![0u8; dec.len()];
        codec.decode_into(&enc, ArrayMut::bytes(&mut out)).unwrap();
        assert_eq!(out, dec, "decode_into of {case}");
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::dtype::scalar::x86_f64_to_i32;

    #[test]
    fn parallel_map_equals_sequential() {
        let n = PAR_MIN_BYTES / 8 * 3 + 5;
        let src: Vec<u8> = (0..n)
            .flat_map(|i| ((i as f64) * 0.37 - 1e5).to_be_bytes())
            .collect();
        let s = NumericType::of(&">f8".parse().unwrap()).unwrap();
        let d = NumericType::of(&"<i2".parse().unwrap()).unwrap();
        let mut par = vec![0u8; n * 2];
        cast_bytes(&src, s, &mut par, d);
        let mut seq = vec![0u8; n * 2];
        map_seq::<f64, i16>(&src, true, &mut seq, false, &cast::<f64, i16>);
        assert_eq!(par, seq);
        let last = f64::from_be_bytes(src[src.len() - 8..].try_into().unwrap());
        assert_eq!(
            i16::from_le_bytes([par[n * 2 - 2], par[n * 2 - 1]]),
            x86_f64_to_i32(last) as i16
        );
    }
}
