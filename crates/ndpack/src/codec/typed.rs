//! Typed access to the items of byte slices for the filter codecs: the numeric NumPy types
//! (`bool`, all integer widths, `f2`/`f4`/`f8`) in either byte order, NumPy's casting rules
//! between them ([`Scalar::from_val`]), NumPy's type promotion ([`promote`]), tight
//! read-map-write loops that the compiler vectorises, and the size checks and output arrays
//! that the filters writing one item per item share ([`ItemMap`]).
//!
//! Casting follows what NumPy 2 does on x86-64, including the cases C leaves undefined:
//! integer to integer wraps; float to integer truncates toward zero, and values outside the
//! target's range (and NaN) give what NumPy's cast loops give there: through a 32-bit
//! conversion for targets of up to 4 bytes (so `i1`/`u1`/`i2`/`u2` wrap modulo 2^32 first and
//! NaN/±inf/|x| ≥ 2^31 give `i32::MIN` truncated), through a 64-bit conversion for `i8`/`u4`,
//! and with C's two-step conversion for `u8`. (NumPy's own SIMD loops for `u4` are not
//! consistent for out-of-range values: they depend on the item's position; ndpack uses the
//! scalar rule throughout.)

use half::f16;

use crate::dtype::{DataType, TypeKind};
use crate::error::{Error, ErrorKind, Result};

/// A numeric item type, without byte order.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Num {
    Bool,
    I8,
    I16,
    I32,
    I64,
    U8,
    U16,
    U32,
    U64,
    F16,
    F32,
    F64,
}

impl Num {
    /// Bytes per item.
    pub(crate) fn size(self) -> usize {
        match self {
            Num::Bool | Num::I8 | Num::U8 => 1,
            Num::I16 | Num::U16 | Num::F16 => 2,
            Num::I32 | Num::U32 | Num::F32 => 4,
            Num::I64 | Num::U64 | Num::F64 => 8,
        }
    }

    /// Whether this is a float type.
    pub(crate) fn is_float(self) -> bool {
        matches!(self, Num::F16 | Num::F32 | Num::F64)
    }

    /// Whether this is a signed integer type.
    fn is_signed(self) -> bool {
        matches!(self, Num::I8 | Num::I16 | Num::I32 | Num::I64)
    }

    /// Whether this is an unsigned integer type.
    fn is_unsigned(self) -> bool {
        matches!(self, Num::U8 | Num::U16 | Num::U32 | Num::U64)
    }

    fn signed(size: usize) -> Num {
        match size {
            1 => Num::I8,
            2 => Num::I16,
            4 => Num::I32,
            _ => Num::I64,
        }
    }

    fn float(size: usize) -> Num {
        match size {
            2 => Num::F16,
            4 => Num::F32,
            _ => Num::F64,
        }
    }
}

/// A numeric dtype as the filters see it: the item type and whether it is byte-swapped.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct NumType {
    /// The item type.
    pub num: Num,
    /// Whether items must be byte-swapped to be read on this machine.
    pub swapped: bool,
}

impl NumType {
    /// The numeric type of `dt`, or `None` for strings, records, complex, datetimes, objects.
    pub(crate) fn of(dt: &DataType) -> Option<NumType> {
        let num = match (dt.kind(), dt.itemsize()) {
            (TypeKind::Bool, 1) => Num::Bool,
            (TypeKind::Int, 1) => Num::I8,
            (TypeKind::Int, 2) => Num::I16,
            (TypeKind::Int, 4) => Num::I32,
            (TypeKind::Int, 8) => Num::I64,
            (TypeKind::UInt, 1) => Num::U8,
            (TypeKind::UInt, 2) => Num::U16,
            (TypeKind::UInt, 4) => Num::U32,
            (TypeKind::UInt, 8) => Num::U64,
            (TypeKind::Float, 2) => Num::F16,
            (TypeKind::Float, 4) => Num::F32,
            (TypeKind::Float, 8) => Num::F64,
            _ => return None,
        };
        Some(NumType {
            num,
            swapped: dt.is_swapped(),
        })
    }

    /// Like [`NumType::of`], with an [`ErrorKind::UnsupportedDtype`] error naming `what`.
    pub(crate) fn require(dt: &DataType, id: &str, what: &str) -> Result<NumType> {
        Self::of(dt).ok_or_else(|| {
            Error::new(
                ErrorKind::UnsupportedDtype,
                format!("codec {id}: {what} {dt} is not a boolean, integer or float type"),
            )
        })
    }
}

/// NumPy's `np.result_type(a, b)` for two numeric types.
pub(crate) fn promote(a: Num, b: Num) -> Num {
    use Num::*;
    if a == b {
        return a;
    }
    match (a, b) {
        (Bool, x) | (x, Bool) => x,
        (x, y) if x.is_float() && y.is_float() => Num::float(x.size().max(y.size())),
        (f, i) | (i, f) if f.is_float() => {
            // The smallest float that holds every value of the integer type.
            let need = match i.size() {
                1 => 2,
                2 => 4,
                _ => 8,
            };
            Num::float(f.size().max(need))
        }
        (x, y) if x.is_signed() == y.is_signed() => {
            if x.size() >= y.size() {
                x
            } else {
                y
            }
        }
        (s, u) | (u, s) if s.is_signed() && u.is_unsigned() => {
            if s.size() > u.size() {
                s
            } else if u.size() == 8 {
                F64
            } else {
                Num::signed(u.size() * 2)
            }
        }
        _ => F64,
    }
}

/// A value in transit between types: the source's value, exactly.
#[derive(Debug, Clone, Copy)]
pub(crate) enum Val {
    /// A signed integer (or bool).
    I(i64),
    /// An unsigned integer.
    U(u64),
    /// A float (every f16/f32 is exact in f64).
    F(f64),
}

/// `(int)x` for a 32-bit target on x86-64 (`cvttsd2si`): truncation, `i32::MIN` out of range.
#[inline(always)]
fn cvtt32(x: f64) -> i32 {
    if x > -2147483649.0 && x < 2147483648.0 {
        // SAFETY: `x` is not NaN and truncates to a value inside i32's range (checked above).
        // Unlike `as` (saturating, with NaN checks), this is the plain truncating conversion,
        // which vectorises.
        unsafe { x.to_int_unchecked::<i32>() }
    } else {
        i32::MIN
    }
}

/// `(long)x` on x86-64 (`cvttsd2si`): truncation, `i64::MIN` out of range or NaN.
#[inline(always)]
fn cvtt64(x: f64) -> i64 {
    if (-9223372036854775808.0..9223372036854775808.0).contains(&x) {
        x as i64
    } else {
        i64::MIN
    }
}

/// `(unsigned long)x` as GCC compiles it on x86-64.
#[inline(always)]
fn cvtt_u64(x: f64) -> u64 {
    if x >= 9223372036854775808.0 {
        (cvtt64(x - 9223372036854775808.0) as u64) ^ (1 << 63)
    } else {
        cvtt64(x) as u64
    }
}

/// An item type: read and written as bytes, cast to and from [`Val`] with NumPy's rules, and
/// combined with NumPy's arithmetic (integers wrap; `f2` computes in `f32` and rounds).
pub(crate) trait Scalar: Copy + Default + PartialEq + Send + Sync + 'static {
    /// Bytes per item.
    const SIZE: usize;
    /// Reads a native-order item from exactly `SIZE` bytes.
    fn load(b: &[u8]) -> Self;
    /// Writes a native-order item into exactly `SIZE` bytes.
    fn store(self, b: &mut [u8]);
    /// The item with its bytes reversed.
    fn swap(self) -> Self;
    /// The exact value.
    fn to_val(self) -> Val;
    /// NumPy's cast (`astype`) of a value to this type.
    fn from_val(v: Val) -> Self;
    /// `self - o` in this type (`!=` for bool, as `np.diff` does).
    fn sub(self, o: Self) -> Self;
    /// `self + o` in this type (`or` for bool).
    fn add(self, o: Self) -> Self;
    /// `self * o` in this type (`and` for bool).
    fn mul(self, o: Self) -> Self;
}

/// Float arithmetic as NumPy does it for each float type (`f2` computes in `f32` and rounds).
pub(crate) trait Float: Scalar {
    /// `self / o`.
    fn div(self, o: Self) -> Self;
    /// `np.around(self)`: round half to even.
    fn round_even(self) -> Self;
}

/// `Float` for a native float type. `round_even` is `np.around`: `round_ties_even` is a libm
/// call per item on baseline x86-64 (no SSE4.1 `roundpd`); adding and subtracting `$c`
/// (2^(mantissa bits)) rounds to an integer, ties to even, in the default rounding mode, exactly
/// for |x| < `$c` (larger values, inf and NaN are integral already); `copysign` keeps -0.0.
/// This vectorises with SSE2.
macro_rules! native_float {
    ($t:ty, $c:expr) => {
        impl Float for $t {
            #[inline(always)]
            fn div(self, o: Self) -> Self {
                self / o
            }
            #[inline(always)]
            fn round_even(self) -> Self {
                const C: $t = $c;
                let a = self.abs();
                if a < C {
                    ((a + C) - C).copysign(self)
                } else {
                    self
                }
            }
        }
    };
}

native_float!(f64, 4_503_599_627_370_496.0); // 2^52
native_float!(f32, 8_388_608.0); // 2^23

impl Float for f16 {
    #[inline(always)]
    fn div(self, o: Self) -> Self {
        f16::from_f32(self.to_f32() / o.to_f32())
    }
    #[inline(always)]
    fn round_even(self) -> Self {
        f16::from_f32(self.to_f32().round_ties_even())
    }
}

/// NumPy's cast from one scalar type to another.
#[inline(always)]
pub(crate) fn cast<S: Scalar, D: Scalar>(s: S) -> D {
    D::from_val(s.to_val())
}

/// The `SIZE`, `load` and `store` items of [`Scalar`] for a type with `from_ne_bytes` and
/// `to_ne_bytes`.
macro_rules! ne_bytes_io {
    ($t:ty) => {
        const SIZE: usize = std::mem::size_of::<$t>();
        #[inline(always)]
        fn load(b: &[u8]) -> Self {
            <$t>::from_ne_bytes(b.try_into().expect("item size"))
        }
        #[inline(always)]
        fn store(self, b: &mut [u8]) {
            b.copy_from_slice(&self.to_ne_bytes())
        }
    };
}

macro_rules! int_scalar {
    ($t:ty, $variant:ident, $wide:ty, $from_f:expr) => {
        impl Scalar for $t {
            ne_bytes_io!($t);
            #[inline(always)]
            fn swap(self) -> Self {
                self.swap_bytes()
            }
            #[inline(always)]
            fn to_val(self) -> Val {
                Val::$variant(self as $wide)
            }
            #[inline(always)]
            fn from_val(v: Val) -> Self {
                match v {
                    Val::I(i) => i as $t,
                    Val::U(u) => u as $t,
                    Val::F(f) => {
                        let conv: fn(f64) -> $t = $from_f;
                        conv(f)
                    }
                }
            }
            #[inline(always)]
            fn sub(self, o: Self) -> Self {
                self.wrapping_sub(o)
            }
            #[inline(always)]
            fn add(self, o: Self) -> Self {
                self.wrapping_add(o)
            }
            #[inline(always)]
            fn mul(self, o: Self) -> Self {
                self.wrapping_mul(o)
            }
        }
    };
}

int_scalar!(i8, I, i64, |f| cvtt32(f) as i8);
int_scalar!(i16, I, i64, |f| cvtt32(f) as i16);
int_scalar!(i32, I, i64, cvtt32);
int_scalar!(i64, I, i64, cvtt64);
int_scalar!(u8, U, u64, |f| cvtt32(f) as u8);
int_scalar!(u16, U, u64, |f| cvtt32(f) as u16);
int_scalar!(u32, U, u64, |f| cvtt64(f) as u32);
int_scalar!(u64, U, u64, cvtt_u64);

impl Scalar for bool {
    const SIZE: usize = 1;
    #[inline(always)]
    fn load(b: &[u8]) -> Self {
        b[0] != 0
    }
    #[inline(always)]
    fn store(self, b: &mut [u8]) {
        b[0] = self as u8
    }
    #[inline(always)]
    fn swap(self) -> Self {
        self
    }
    #[inline(always)]
    fn to_val(self) -> Val {
        Val::I(self as i64)
    }
    #[inline(always)]
    fn from_val(v: Val) -> Self {
        match v {
            Val::I(i) => i != 0,
            Val::U(u) => u != 0,
            Val::F(f) => f != 0.0,
        }
    }
    #[inline(always)]
    fn sub(self, o: Self) -> Self {
        self != o
    }
    #[inline(always)]
    fn add(self, o: Self) -> Self {
        self | o
    }
    #[inline(always)]
    fn mul(self, o: Self) -> Self {
        self & o
    }
}

/// `Scalar` for a native float type: NumPy's casts are Rust's `as` (round to nearest from
/// integers and `f8`), arithmetic is the type's own.
macro_rules! float_scalar {
    ($t:ty) => {
        impl Scalar for $t {
            ne_bytes_io!($t);
            #[inline(always)]
            fn swap(self) -> Self {
                <$t>::from_bits(self.to_bits().swap_bytes())
            }
            #[inline(always)]
            fn to_val(self) -> Val {
                Val::F(f64::from(self))
            }
            #[inline(always)]
            fn from_val(v: Val) -> Self {
                match v {
                    Val::I(i) => i as $t,
                    Val::U(u) => u as $t,
                    Val::F(f) => f as $t,
                }
            }
            #[inline(always)]
            fn sub(self, o: Self) -> Self {
                self - o
            }
            #[inline(always)]
            fn add(self, o: Self) -> Self {
                self + o
            }
            #[inline(always)]
            fn mul(self, o: Self) -> Self {
                self * o
            }
        }
    };
}

float_scalar!(f64);
float_scalar!(f32);

impl Scalar for f16 {
    ne_bytes_io!(f16);
    #[inline(always)]
    fn swap(self) -> Self {
        f16::from_bits(self.to_bits().swap_bytes())
    }
    #[inline(always)]
    fn to_val(self) -> Val {
        Val::F(self.to_f64())
    }
    #[inline(always)]
    fn from_val(v: Val) -> Self {
        match v {
            // Every integer that is finite in f16 is exact in f64.
            Val::I(i) => f64_to_f16(i as f64),
            Val::U(u) => f64_to_f16(u as f64),
            Val::F(f) => f64_to_f16(f),
        }
    }
    #[inline(always)]
    fn sub(self, o: Self) -> Self {
        f16::from_f32(self.to_f32() - o.to_f32())
    }
    #[inline(always)]
    fn add(self, o: Self) -> Self {
        f16::from_f32(self.to_f32() + o.to_f32())
    }
    #[inline(always)]
    fn mul(self, o: Self) -> Self {
        f16::from_f32(self.to_f32() * o.to_f32())
    }
}

/// `f64` to `f16` rounding once, half to even, as NumPy's `npy_double_to_half` (the `half`
/// crate goes through `f32` on some targets and can round twice). NaN keeps the top bits of
/// its payload.
#[inline]
pub(crate) fn f64_to_f16(x: f64) -> f16 {
    let d = x.to_bits();
    let sign = ((d >> 48) & 0x8000) as u16;
    let exp = d & 0x7ff0_0000_0000_0000;
    let man = d & 0x000f_ffff_ffff_ffff;
    if exp >= 0x40f0_0000_0000_0000 {
        if exp == 0x7ff0_0000_0000_0000 && man != 0 {
            let mut h = 0x7c00u16 + (man >> 42) as u16;
            if h == 0x7c00 {
                h += 1;
            }
            return f16::from_bits(sign + h);
        }
        return f16::from_bits(sign + 0x7c00);
    }
    if exp <= 0x3f00_0000_0000_0000 {
        if exp < 0x3e60_0000_0000_0000 {
            return f16::from_bits(sign);
        }
        let e = exp >> 52;
        let mut sig = (0x0010_0000_0000_0000 + man) << (e - 998);
        if sig & 0x003f_ffff_ffff_ffff != 0x0010_0000_0000_0000 {
            sig += 0x0010_0000_0000_0000;
        }
        return f16::from_bits(sign + (sig >> 53) as u16);
    }
    let h_exp = ((exp - 0x3f00_0000_0000_0000) >> 42) as u16;
    let mut sig = man;
    if sig & 0x0000_07ff_ffff_ffff != 0x0000_0200_0000_0000 {
        sig += 0x0000_0200_0000_0000;
    }
    f16::from_bits(sign + ((sig >> 42) as u16 + h_exp))
}

/// Reads item `T` from `b` (exactly `T::SIZE` bytes), swapping if `swapped`.
#[inline(always)]
pub(crate) fn get<T: Scalar>(b: &[u8], swapped: bool) -> T {
    let v = T::load(b);
    if swapped {
        v.swap()
    } else {
        v
    }
}

/// Writes item `v` into `b` (exactly `T::SIZE` bytes), swapping if `swapped`.
#[inline(always)]
pub(crate) fn put<T: Scalar>(v: T, b: &mut [u8], swapped: bool) {
    if swapped {
        v.swap().store(b)
    } else {
        v.store(b)
    }
}

/// Arrays of at least this many bytes are mapped in parallel on ndpack's pool.
pub(crate) const PAR_MIN_BYTES: usize = 1 << 21;

/// Items per parallel task.
pub(crate) const PAR_ITEMS: usize = 1 << 16;

/// Runs `work` on `src` and `dst` (items of `s` and `d` bytes), split into blocks on ndpack's
/// pool when the arrays are large. Not generic, so that rayon is instantiated once.
fn par_blocks(
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

/// Runs `$body` with `$T` bound to the Rust type of the [`Num`] `$num`.
macro_rules! with_num {
    ($num:expr, $T:ident => $body:expr) => {
        $crate::codec::typed::with_types!($num, $T => $body;
            $crate::codec::typed::Num::Bool => bool,
            $crate::codec::typed::Num::I8 => i8,
            $crate::codec::typed::Num::I16 => i16,
            $crate::codec::typed::Num::I32 => i32,
            $crate::codec::typed::Num::I64 => i64,
            $crate::codec::typed::Num::U8 => u8,
            $crate::codec::typed::Num::U16 => u16,
            $crate::codec::typed::Num::U32 => u32,
            $crate::codec::typed::Num::U64 => u64,
            $crate::codec::typed::Num::F16 => half::f16,
            $crate::codec::typed::Num::F32 => f32,
            $crate::codec::typed::Num::F64 => f64)
    };
}
pub(crate) use with_num;

/// Runs `$body` with `$T` bound to the Rust type of the float [`Num`] `$num`; other types are
/// unreachable by construction (callers check `is_float` first).
macro_rules! with_float {
    ($num:expr, $T:ident => $body:expr) => {
        $crate::codec::typed::with_types!($num, $T => $body;
            $crate::codec::typed::Num::F16 => half::f16,
            $crate::codec::typed::Num::F32 => f32,
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
pub(crate) fn cast_bytes(src: &[u8], s: NumType, dst: &mut [u8], d: NumType) {
    if s.num == d.num && s.num != Num::Bool {
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
/// (NumPy's `.view(dtype)` rule). `decoding` picks [`ErrorKind::Corrupt`] over
/// [`ErrorKind::InvalidArgument`].
pub(crate) fn items_in(id: &str, len: usize, dt: &DataType, decoding: bool) -> Result<usize> {
    let size = dt.itemsize();
    if size == 0 || !len.is_multiple_of(size) {
        let msg = format!("codec {id}: {len} bytes are not a whole number of {dt} items");
        return Err(if decoding {
            Error::corrupt(msg)
        } else {
            Error::invalid(msg)
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
        return Err(Error::invalid(format!(
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

/// The first `len` bytes of an `encode_into` output, or an error if it is shorter.
pub(crate) fn out_prefix(out: &mut [u8], len: usize) -> Result<&mut [u8]> {
    let have = out.len();
    out.get_mut(..len).ok_or_else(|| {
        Error::invalid(format!(
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
    Error::config(format!("codec {id}: missing config key {key:?}"))
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

    use crate::codec::{get_codec, ArrayMut, ArrayRef};
    use crate::dtype::DataType;
    use crate::region::Order;

    /// Hex to bytes.
    pub fn unhex(s: &str) -> Vec<u8> {
        (0..s.len())
            .step_by(2)
            .map(|i| u8::from_str_radix(&s[i..i + 2], 16).unwrap())
            .collect()
    }

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

    fn check(case: &Value) {
        let codec = get_codec(&case["config"]).unwrap_or_else(|e| panic!("{e} in {case}"));
        assert_eq!(codec.config(), case["config"], "config of {case}");
        let (enc, enc_dt) = array(case, "enc_dtype", "encoded");
        if case.get("input").is_some() {
            let (input, dt) = array(case, "dtype", "input");
            let n = input.len() / dt.itemsize();
            let got = codec
                .encode(ArrayRef::new(&input, dt, vec![n], Order::C).unwrap())
                .unwrap_or_else(|e| panic!("{e} encoding {case}"));
            assert_eq!(*got.dtype(), enc_dt, "encoded dtype of {case}");
            assert_eq!(got.bytes(), &enc[..], "encoded bytes of {case}");
            assert_eq!(got.shape(), vec![enc.len() / enc_dt.itemsize()]);
        }
        let (dec, dec_dt) = array(case, "dec_dtype", "decoded");
        let n = enc.len() / enc_dt.itemsize();
        let got = codec
            .decode(ArrayRef::new(&enc, enc_dt, vec![n], Order::C).unwrap())
            .unwrap_or_else(|e| panic!("{e} decoding {case}"));
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

    #[test]
    fn round_even_equals_round_ties_even() {
        let mut x = 0x9e37_79b9_7f4a_7c15u64;
        let mut next = || {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            x
        };
        let specials = [
            0.5,
            1.5,
            2.5,
            -0.5,
            -2.5,
            -0.0,
            0.0,
            0.49999999999999994,
            4503599627370495.5,
            4503599627370496.0,
            -4503599627370497.0,
            1e300,
            f64::INFINITY,
            f64::NEG_INFINITY,
        ];
        for v in specials {
            assert_eq!(
                v.round_even().to_bits(),
                v.round_ties_even().to_bits(),
                "{v}"
            );
            let f = v as f32;
            assert_eq!(
                f.round_even().to_bits(),
                f.round_ties_even().to_bits(),
                "{f}"
            );
        }
        assert!(f64::NAN.round_even().is_nan() && f32::NAN.round_even().is_nan());
        for _ in 0..200_000 {
            let r = next();
            // Values of every magnitude, and halves near the integers.
            let v = f64::from_bits(r);
            let h = (r >> 11) as i64 as f64 / 1024.0 + 0.5;
            for v in [v, h, -h] {
                if !v.is_nan() {
                    assert_eq!(
                        v.round_even().to_bits(),
                        v.round_ties_even().to_bits(),
                        "{v}"
                    );
                }
            }
            let f = f32::from_bits(r as u32);
            let g = ((r >> 40) as i32 as f32) / 64.0 + 0.5;
            for f in [f, g, -g] {
                if !f.is_nan() {
                    assert_eq!(
                        f.round_even().to_bits(),
                        f.round_ties_even().to_bits(),
                        "{f}"
                    );
                }
            }
        }
    }

    #[test]
    fn f64_to_f16_rounds_once() {
        // np.array([...], 'f8').astype('f2').view('u2') in NumPy 2.4.
        let xs = [
            2049.0000001,
            2049.0,
            2051.0,
            65519.99,
            65520.0,
            0.1,
            1e-8,
            6e-8,
            -0.0,
            1e-300,
        ];
        let want: [u16; 10] = [26625, 26624, 26626, 31743, 31744, 11878, 0, 1, 32768, 0];
        for (x, w) in xs.iter().zip(want) {
            assert_eq!(f64_to_f16(*x).to_bits(), w, "{x}");
        }
        // Agrees with the f32 path wherever f32 is exact.
        for i in 0..100_000u32 {
            let x = f32::from_bits(i.wrapping_mul(2654435761)) as f64;
            let (a, b) = (f64_to_f16(x), f16::from_f32(x as f32));
            assert!(
                a.to_bits() == b.to_bits() || a.is_nan() && b.is_nan(),
                "{x}"
            );
        }
    }

    #[test]
    fn parallel_map_equals_sequential() {
        let n = PAR_MIN_BYTES / 8 * 3 + 5;
        let src: Vec<u8> = (0..n)
            .flat_map(|i| ((i as f64) * 0.37 - 1e5).to_be_bytes())
            .collect();
        let s = NumType::of(&">f8".parse().unwrap()).unwrap();
        let d = NumType::of(&"<i2".parse().unwrap()).unwrap();
        let mut par = vec![0u8; n * 2];
        cast_bytes(&src, s, &mut par, d);
        let mut seq = vec![0u8; n * 2];
        map_seq::<f64, i16>(&src, true, &mut seq, false, &cast::<f64, i16>);
        assert_eq!(par, seq);
        let last = f64::from_be_bytes(src[src.len() - 8..].try_into().unwrap());
        assert_eq!(
            i16::from_le_bytes([par[n * 2 - 2], par[n * 2 - 1]]),
            cvtt32(last) as i16
        );
    }

    #[test]
    fn promotion_matches_numpy_table() {
        use Num::*;
        // np.result_type for a few pairs, checked against NumPy 2.
        assert_eq!(promote(U8, I8), I16);
        assert_eq!(promote(U32, I32), I64);
        assert_eq!(promote(U64, I64), F64);
        assert_eq!(promote(U8, I32), I32);
        assert_eq!(promote(I16, F16), F32);
        assert_eq!(promote(U8, F16), F16);
        assert_eq!(promote(I32, F32), F64);
        assert_eq!(promote(Bool, I8), I8);
        assert_eq!(promote(F16, F64), F64);
        assert_eq!(promote(I8, I64), I64);
    }

    #[test]
    fn float_to_int_casts_follow_numpy_on_x86_64() {
        // Values from np.array([...], 'f8').astype(t) in NumPy 2.4.
        let xs = [
            f64::NAN,
            f64::INFINITY,
            -1.5,
            128.5,
            40000.7,
            3e9,
            -3e9,
            1e19,
        ];
        let i1: Vec<i8> = xs.iter().map(|&x| i8::from_val(Val::F(x))).collect();
        assert_eq!(i1, [0, 0, -1, -128, 64, 0, 0, 0]);
        let u2: Vec<u16> = xs.iter().map(|&x| u16::from_val(Val::F(x))).collect();
        assert_eq!(u2, [0, 0, 65535, 128, 40000, 0, 0, 0]);
        let i8s: Vec<i64> = xs.iter().map(|&x| i64::from_val(Val::F(x))).collect();
        let m = i64::MIN;
        assert_eq!(
            i8s,
            [m, m, -1, 128, 40000, 3_000_000_000, -3_000_000_000, m]
        );
        let u8s: Vec<u64> = xs.iter().map(|&x| u64::from_val(Val::F(x))).collect();
        assert_eq!(
            u8s,
            [
                1 << 63,
                0,
                u64::MAX,
                128,
                40000,
                3_000_000_000,
                18446744070709551616,
                10_000_000_000_000_000_000
            ]
        );
    }
}
