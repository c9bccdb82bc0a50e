//! NumPy's numeric scalar types: the item kinds (`bool`, all integer widths, `f2`/`f4`/`f8`) in
//! either byte order, NumPy's casting rules between them ([`Scalar::from_value`]), NumPy's type
//! promotion ([`promote`]) and the item arithmetic the filters use.
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
pub(crate) enum ScalarKind {
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

impl ScalarKind {
    /// Bytes per item.
    pub(crate) fn size(self) -> usize {
        match self {
            ScalarKind::Bool | ScalarKind::I8 | ScalarKind::U8 => 1,
            ScalarKind::I16 | ScalarKind::U16 | ScalarKind::F16 => 2,
            ScalarKind::I32 | ScalarKind::U32 | ScalarKind::F32 => 4,
            ScalarKind::I64 | ScalarKind::U64 | ScalarKind::F64 => 8,
        }
    }

    /// Whether this is a float type.
    pub(crate) fn is_float(self) -> bool {
        matches!(self, ScalarKind::F16 | ScalarKind::F32 | ScalarKind::F64)
    }

    /// Whether this is a signed integer type.
    fn is_signed(self) -> bool {
        matches!(
            self,
            ScalarKind::I8 | ScalarKind::I16 | ScalarKind::I32 | ScalarKind::I64
        )
    }

    /// Whether this is an unsigned integer type.
    fn is_unsigned(self) -> bool {
        matches!(
            self,
            ScalarKind::U8 | ScalarKind::U16 | ScalarKind::U32 | ScalarKind::U64
        )
    }

    fn signed(size: usize) -> ScalarKind {
        match size {
            1 => ScalarKind::I8,
            2 => ScalarKind::I16,
            4 => ScalarKind::I32,
            _ => ScalarKind::I64,
        }
    }

    fn float(size: usize) -> ScalarKind {
        match size {
            2 => ScalarKind::F16,
            4 => ScalarKind::F32,
            _ => ScalarKind::F64,
        }
    }
}

/// A numeric dtype as the filters see it: the item type and whether it is byte-swapped.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct NumericType {
    /// The item type.
    pub num: ScalarKind,
    /// Whether items must be byte-swapped to be read on this machine.
    pub swapped: bool,
}

impl NumericType {
    /// The numeric type of `dt`, or `None` for strings, records, complex, datetimes, objects.
    pub(crate) fn of(dt: &DataType) -> Option<NumericType> {
        let num = match (dt.kind(), dt.itemsize()) {
            (TypeKind::Bool, 1) => ScalarKind::Bool,
            (TypeKind::Int, 1) => ScalarKind::I8,
            (TypeKind::Int, 2) => ScalarKind::I16,
            (TypeKind::Int, 4) => ScalarKind::I32,
            (TypeKind::Int, 8) => ScalarKind::I64,
            (TypeKind::UInt, 1) => ScalarKind::U8,
            (TypeKind::UInt, 2) => ScalarKind::U16,
            (TypeKind::UInt, 4) => ScalarKind::U32,
            (TypeKind::UInt, 8) => ScalarKind::U64,
            (TypeKind::Float, 2) => ScalarKind::F16,
            (TypeKind::Float, 4) => ScalarKind::F32,
            (TypeKind::Float, 8) => ScalarKind::F64,
            _ => return None,
        };
        Some(NumericType {
            num,
            swapped: dt.is_swapped(),
        })
    }

    /// Like [`NumericType::of`], with an [`ErrorKind::UnsupportedDtype`] error naming `what`.
    pub(crate) fn require(dt: &DataType, id: &str, what: &str) -> Result<NumericType> {
        Self::of(dt).ok_or_else(|| {
            Error::new(
                ErrorKind::UnsupportedDtype,
                format!("codec {id}: {what} {dt} is not a boolean, integer or float type"),
            )
        })
    }
}

/// NumPy's `np.result_type(a, b)` for two numeric types.
pub(crate) fn promote(a: ScalarKind, b: ScalarKind) -> ScalarKind {
    use ScalarKind::*;
    if a == b {
        return a;
    }
    match (a, b) {
        (Bool, x) | (x, Bool) => x,
        (x, y) if x.is_float() && y.is_float() => ScalarKind::float(x.size().max(y.size())),
        (f, i) | (i, f) if f.is_float() => {
            // The smallest float that holds every value of the integer type.
            let need = match i.size() {
                1 => 2,
                2 => 4,
                _ => 8,
            };
            ScalarKind::float(f.size().max(need))
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
                ScalarKind::signed(u.size() * 2)
            }
        }
        _ => F64,
    }
}

/// A value in transit between types: the source's value, exactly.
#[derive(Debug, Clone, Copy)]
pub(crate) enum ScalarValue {
    /// A signed integer (or bool).
    Int(i64),
    /// An unsigned integer.
    UInt(u64),
    /// A float (every f16/f32 is exact in f64).
    Float(f64),
}

impl ScalarValue {
    /// The value as an `f64` (integers rounded to the nearest `f64`).
    pub(crate) fn to_f64(self) -> f64 {
        match self {
            ScalarValue::Int(i) => i as f64,
            ScalarValue::UInt(u) => u as f64,
            ScalarValue::Float(f) => f,
        }
    }
}

impl From<&serde_json::Number> for ScalarValue {
    /// A JSON number as a NumPy operand: an exact integer or a float.
    fn from(n: &serde_json::Number) -> Self {
        if let Some(i) = n.as_i64() {
            ScalarValue::Int(i)
        } else if let Some(u) = n.as_u64() {
            ScalarValue::UInt(u)
        } else {
            ScalarValue::Float(n.as_f64().unwrap_or(f64::NAN))
        }
    }
}

/// `(int)x` for a 32-bit target on x86-64 (`cvttsd2si`): truncation, `i32::MIN` out of range.
#[inline(always)]
pub(crate) fn x86_f64_to_i32(x: f64) -> i32 {
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
fn x86_f64_to_i64(x: f64) -> i64 {
    if (-9223372036854775808.0..9223372036854775808.0).contains(&x) {
        x as i64
    } else {
        i64::MIN
    }
}

/// `(unsigned long)x` as GCC compiles it on x86-64.
#[inline(always)]
fn x86_f64_to_u64(x: f64) -> u64 {
    if x >= 9223372036854775808.0 {
        (x86_f64_to_i64(x - 9223372036854775808.0) as u64) ^ (1 << 63)
    } else {
        x86_f64_to_i64(x) as u64
    }
}

/// An item type: read and written as bytes, cast to and from [`ScalarValue`] with NumPy's rules,
/// and combined with NumPy's arithmetic (integers wrap; `f2` computes in `f32` and rounds).
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
    fn to_value(self) -> ScalarValue;
    /// NumPy's cast (`astype`) of a value to this type.
    fn from_value(v: ScalarValue) -> Self;
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
    D::from_value(s.to_value())
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
            fn to_value(self) -> ScalarValue {
                ScalarValue::$variant(self as $wide)
            }
            #[inline(always)]
            fn from_value(v: ScalarValue) -> Self {
                match v {
                    ScalarValue::Int(i) => i as $t,
                    ScalarValue::UInt(u) => u as $t,
                    ScalarValue::Float(f) => {
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

int_scalar!(i8, Int, i64, |f| x86_f64_to_i32(f) as i8);
int_scalar!(i16, Int, i64, |f| x86_f64_to_i32(f) as i16);
int_scalar!(i32, Int, i64, x86_f64_to_i32);
int_scalar!(i64, Int, i64, x86_f64_to_i64);
int_scalar!(u8, UInt, u64, |f| x86_f64_to_i32(f) as u8);
int_scalar!(u16, UInt, u64, |f| x86_f64_to_i32(f) as u16);
int_scalar!(u32, UInt, u64, |f| x86_f64_to_i64(f) as u32);
int_scalar!(u64, UInt, u64, x86_f64_to_u64);

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
    fn to_value(self) -> ScalarValue {
        ScalarValue::Int(self as i64)
    }
    #[inline(always)]
    fn from_value(v: ScalarValue) -> Self {
        match v {
            ScalarValue::Int(i) => i != 0,
            ScalarValue::UInt(u) => u != 0,
            ScalarValue::Float(f) => f != 0.0,
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
            fn to_value(self) -> ScalarValue {
                ScalarValue::Float(f64::from(self))
            }
            #[inline(always)]
            fn from_value(v: ScalarValue) -> Self {
                match v {
                    ScalarValue::Int(i) => i as $t,
                    ScalarValue::UInt(u) => u as $t,
                    ScalarValue::Float(f) => f as $t,
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
    fn to_value(self) -> ScalarValue {
        ScalarValue::Float(self.to_f64())
    }
    #[inline(always)]
    fn from_value(v: ScalarValue) -> Self {
        match v {
            // Every integer that is finite in f16 is exact in f64.
            ScalarValue::Int(i) => f64_to_f16(i as f64),
            ScalarValue::UInt(u) => f64_to_f16(u as f64),
            ScalarValue::Float(f) => f64_to_f16(f),
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_even_equals_round_ties_even() {
        /// Checks that `round_even` and `round_ties_even` agree bit for bit on `$x`.
        macro_rules! assert_same_rounding {
            ($x:expr) => {
                let x = $x;
                assert_eq!(
                    x.round_even().to_bits(),
                    x.round_ties_even().to_bits(),
                    "{x}"
                );
            };
        }
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
            assert_same_rounding!(v);
            assert_same_rounding!(v as f32);
        }
        assert!(f64::NAN.round_even().is_nan() && f32::NAN.round_even().is_nan());
        for _ in 0..200_000 {
            let r = next();
            // Values of every magnitude, and halves near the integers.
            let v = f64::from_bits(r);
            let h = (r >> 11) as i64 as f64 / 1024.0 + 0.5;
            for v in [v, h, -h] {
                if !v.is_nan() {
                    assert_same_rounding!(v);
                }
            }
            let f = f32::from_bits(r as u32);
            let g = ((r >> 40) as i32 as f32) / 64.0 + 0.5;
            for f in [f, g, -g] {
                if !f.is_nan() {
                    assert_same_rounding!(f);
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
    fn promotion_matches_numpy_table() {
        use ScalarKind::*;
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
        let i1: Vec<i8> = xs
            .iter()
            .map(|&x| i8::from_value(ScalarValue::Float(x)))
            .collect();
        assert_eq!(i1, [0, 0, -1, -128, 64, 0, 0, 0]);
        let u2: Vec<u16> = xs
            .iter()
            .map(|&x| u16::from_value(ScalarValue::Float(x)))
            .collect();
        assert_eq!(u2, [0, 0, 65535, 128, 40000, 0, 0, 0]);
        let i8s: Vec<i64> = xs
            .iter()
            .map(|&x| i64::from_value(ScalarValue::Float(x)))
            .collect();
        let m = i64::MIN;
        assert_eq!(
            i8s,
            [m, m, -1, 128, 40000, 3_000_000_000, -3_000_000_000, m]
        );
        let u8s: Vec<u64> = xs
            .iter()
            .map(|&x| u64::from_value(ScalarValue::Float(x)))
            .collect();
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
