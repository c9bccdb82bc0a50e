//! The `pcodec` codec: Pcodec (pco) standalone files, as numcodecs' `PCodec`, through the
//! pure-Rust `pco` crate (the release that PyPI `pcodec` 1.1.0 wraps, so the bytes are the same).
//!
//! Config: `{"id": "pcodec", "level": 8, "mode_spec": "auto", "delta_spec": "auto",
//! "paging_spec": "equal_pages_up_to", "delta_encoding_order": null, "equal_pages_up_to": 262144}`
//! (numcodecs' defaults). `level` is 0 to 12; `mode_spec` is `"auto"` or `"classic"`;
//! `delta_spec` is `"auto"`, `"none"` (or `"no_op"`), `"try_consecutive"` (with
//! `delta_encoding_order`, 0 to 7) or `"try_lookback"`; `delta_encoding_order` with `delta_spec`
//! `"auto"` means `"try_consecutive"` (numcodecs' rule for older configs); `equal_pages_up_to` is
//! the most numbers per chunk of the file. With `"none"` ndpack uses pco's no-op delta encoding
//! (numcodecs 0.16.6 fails on that spec with pcodec 1.1.0).
//!
//! Encoding takes the array's items in memory order, of a little-endian (native) `u2`, `u4`,
//! `u8`, `i2`, `i4`, `i8`, `f2`, `f4` or `f8` dtype (`M8`/`m8` items as `i8`, as pcodec takes
//! them); the file records the type, and decoding gives a 1-d array of it (an empty `u1` array
//! for a file of no numbers, which records no type). Decoding checks each chunk's declared count
//! against [`MAX_DECODED_SIZE`] (or against the `decode_into` output) before decoding it.

use serde_json::{Map, Value};

use pco::data_types::{Number, NumberType};
use pco::errors::{ErrorKind as PcoErrorKind, PcoError};
use pco::standalone::{DecompressorItem, FileDecompressor};
use pco::{ChunkConfig, DeltaSpec, ModeSpec, PagingSpec};

use super::{ArrayMut, ArrayRef, Codec, ConfigReader, NDBuffer, MAX_DECODED_SIZE};
use crate::backend::out_too_small;
use crate::buffer::{AlignedBytes, Buffer};
use crate::dtype::{DataType, TypeKind};
use crate::error::{Error, ErrorKind, Result};

const ID: &str = "pcodec";

/// numcodecs' default `level`.
pub const DEFAULT_LEVEL: u32 = 8;
/// numcodecs' default `equal_pages_up_to`.
pub const DEFAULT_MAX_PAGE_N: usize = 262_144;
/// The highest `level`.
pub const MAX_LEVEL: u32 = 12;
/// The highest `delta_encoding_order`.
pub const MAX_DELTA_ORDER: u32 = 7;

/// How pco chooses the mode of the numbers (`mode_spec`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    /// `"auto"`: pco looks for a better mode (multiples, float quantisation).
    Auto,
    /// `"classic"`: the numbers as they are.
    Classic,
}

/// How pco chooses delta encoding (`delta_spec`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Delta {
    /// `"auto"`: pco picks.
    Auto,
    /// `"none"`: no delta encoding.
    None,
    /// `"no_op"`: no delta encoding (the spelling of pcodec's `DeltaSpec.no_op()`, found in
    /// numcodecs' own fixture configs).
    NoOp,
    /// `"try_consecutive"`: consecutive deltas of `delta_encoding_order`.
    TryConsecutive,
    /// `"try_lookback"`: lookback deltas.
    TryLookback,
}

/// The numcodecs `pcodec` codec.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Pcodec {
    level: u32,
    mode: Mode,
    delta: Delta,
    delta_encoding_order: Option<u32>,
    equal_pages_up_to: usize,
}

impl Default for Pcodec {
    fn default() -> Self {
        Pcodec {
            level: DEFAULT_LEVEL,
            mode: Mode::Auto,
            delta: Delta::Auto,
            delta_encoding_order: None,
            equal_pages_up_to: DEFAULT_MAX_PAGE_N,
        }
    }
}

impl Pcodec {
    /// A codec with numcodecs' parameters, checked as [`Pcodec::from_config`] checks them.
    pub fn new(
        level: u32,
        mode: Mode,
        delta: Delta,
        delta_encoding_order: Option<u32>,
        equal_pages_up_to: usize,
    ) -> Result<Self> {
        if level > MAX_LEVEL {
            return Err(Error::invalid_config(format!(
                "codec {ID}: key \"level\" must be between 0 and {MAX_LEVEL}, got {level}"
            )));
        }
        if let Some(order) = delta_encoding_order {
            if order > MAX_DELTA_ORDER {
                return Err(Error::invalid_config(format!(
                    "codec {ID}: key \"delta_encoding_order\" must be between 0 and \
                     {MAX_DELTA_ORDER}, got {order}"
                )));
            }
            if !matches!(delta, Delta::Auto | Delta::TryConsecutive) {
                return Err(Error::invalid_config(format!(
                    "codec {ID}: delta_encoding_order can only be set for \
                     delta_spec='try_consecutive'"
                )));
            }
        } else if delta == Delta::TryConsecutive {
            return Err(Error::invalid_config(format!(
                "codec {ID}: delta_spec='try_consecutive' needs a delta_encoding_order"
            )));
        }
        if equal_pages_up_to == 0 {
            return Err(Error::invalid_config(format!(
                "codec {ID}: key \"equal_pages_up_to\" must be a positive integer, got 0"
            )));
        }
        Ok(Pcodec {
            level,
            mode,
            delta,
            delta_encoding_order,
            equal_pages_up_to,
        })
    }

    /// Builds the codec from its numcodecs config.
    pub fn from_config(config: &Map<String, Value>) -> Result<Self> {
        let mut r = ConfigReader::new(ID, config)?;
        let level = match r.int("level")? {
            None => DEFAULT_LEVEL,
            Some(v) => u32::try_from(v)
                .ok()
                .filter(|l| *l <= MAX_LEVEL)
                .ok_or_else(|| r.out_of_range("level", "between 0 and 12"))?,
        };
        let mode = match r.str("mode_spec")? {
            None | Some("auto") => Mode::Auto,
            Some("classic") => Mode::Classic,
            Some(_) => return Err(r.out_of_range("mode_spec", "\"auto\" or \"classic\"")),
        };
        let delta = match r.str("delta_spec")? {
            None | Some("auto") => Delta::Auto,
            Some("none") => Delta::None,
            Some("no_op") => Delta::NoOp,
            Some("try_consecutive") => Delta::TryConsecutive,
            Some("try_lookback") => Delta::TryLookback,
            Some(_) => {
                return Err(r.out_of_range(
                    "delta_spec",
                    "\"auto\", \"none\", \"no_op\", \"try_consecutive\" or \"try_lookback\"",
                ))
            }
        };
        match r.str("paging_spec")? {
            None | Some("equal_pages_up_to") => {}
            Some(_) => return Err(r.out_of_range("paging_spec", "\"equal_pages_up_to\"")),
        }
        let delta_encoding_order = match r.int("delta_encoding_order")? {
            None => None,
            Some(v) => Some(
                u32::try_from(v)
                    .ok()
                    .filter(|o| *o <= MAX_DELTA_ORDER)
                    .ok_or_else(|| r.out_of_range("delta_encoding_order", "between 0 and 7"))?,
            ),
        };
        let equal_pages_up_to = match r.int("equal_pages_up_to")? {
            None => DEFAULT_MAX_PAGE_N,
            Some(v) => usize::try_from(v)
                .ok()
                .filter(|n| *n > 0)
                .ok_or_else(|| r.out_of_range("equal_pages_up_to", "a positive integer"))?,
        };
        r.finish()?;
        Pcodec::new(level, mode, delta, delta_encoding_order, equal_pages_up_to)
    }

    /// pco's chunk configuration, mapped from the numcodecs parameters as numcodecs maps them.
    pub fn chunk_config(&self) -> ChunkConfig {
        let mode_spec = match self.mode {
            Mode::Auto => ModeSpec::Auto,
            Mode::Classic => ModeSpec::Classic,
        };
        let delta_spec = match (self.delta, self.delta_encoding_order) {
            (Delta::Auto | Delta::TryConsecutive, Some(order)) => {
                DeltaSpec::TryConsecutive(order as usize)
            }
            (Delta::None | Delta::NoOp, _) => DeltaSpec::NoOp,
            (Delta::TryLookback, _) => DeltaSpec::TryLookback,
            // `new` requires an order for TryConsecutive.
            (Delta::Auto | Delta::TryConsecutive, None) => DeltaSpec::Auto,
        };
        ChunkConfig::default()
            .with_compression_level(self.level as usize)
            .with_mode_spec(mode_spec)
            .with_delta_spec(delta_spec)
            .with_paging_spec(PagingSpec::EqualPagesUpTo(self.equal_pages_up_to))
    }
}

fn mode_str(m: Mode) -> &'static str {
    match m {
        Mode::Auto => "auto",
        Mode::Classic => "classic",
    }
}

fn delta_str(d: Delta) -> &'static str {
    match d {
        Delta::Auto => "auto",
        Delta::None => "none",
        Delta::NoOp => "no_op",
        Delta::TryConsecutive => "try_consecutive",
        Delta::TryLookback => "try_lookback",
    }
}

/// An ndpack error from a pco error, of the matching kind.
fn pco_error(e: PcoError) -> Error {
    let kind = match e.kind {
        PcoErrorKind::Corruption => ErrorKind::Corrupt,
        PcoErrorKind::InsufficientData => ErrorKind::Truncated,
        PcoErrorKind::InvalidArgument => ErrorKind::InvalidArgument,
        PcoErrorKind::Io(_) => ErrorKind::Io,
        _ => ErrorKind::Backend,
    };
    Error::new(kind, format!("{ID}: pco error: {}", e.message))
}

/// The pco number type of a dtype (native byte order only; `datetime64`/`timedelta64` as `i8`).
fn number_type(dt: &DataType) -> Option<NumberType> {
    if dt.is_swapped() {
        return None;
    }
    Some(match (dt.kind(), dt.itemsize()) {
        (TypeKind::UInt, 1) => NumberType::U8,
        (TypeKind::UInt, 2) => NumberType::U16,
        (TypeKind::UInt, 4) => NumberType::U32,
        (TypeKind::UInt, 8) => NumberType::U64,
        (TypeKind::Int, 1) => NumberType::I8,
        (TypeKind::Int, 2) => NumberType::I16,
        (TypeKind::Int, 4) => NumberType::I32,
        // NumPy's datetime64/timedelta64 items are int64 to pcodec.
        (TypeKind::Int | TypeKind::DateTime | TypeKind::TimeDelta, 8) => NumberType::I64,
        (TypeKind::Float, 2) => NumberType::F16,
        (TypeKind::Float, 4) => NumberType::F32,
        (TypeKind::Float, 8) => NumberType::F64,
        _ => return None,
    })
}

/// The error for a pco number type that ndpack does not know.
fn unknown_type(t: NumberType) -> Error {
    Error::new(
        ErrorKind::Unsupported,
        format!("{ID}: unsupported pco number type {t:?}"),
    )
}

/// The dtype of a pco number type (native byte order).
fn dtype_of(t: NumberType) -> Result<DataType> {
    let (kind, size) = match t {
        NumberType::U8 => (TypeKind::UInt, 1),
        NumberType::U16 => (TypeKind::UInt, 2),
        NumberType::U32 => (TypeKind::UInt, 4),
        NumberType::U64 => (TypeKind::UInt, 8),
        NumberType::I8 => (TypeKind::Int, 1),
        NumberType::I16 => (TypeKind::Int, 2),
        NumberType::I32 => (TypeKind::Int, 4),
        NumberType::I64 => (TypeKind::Int, 8),
        NumberType::F16 => (TypeKind::Float, 2),
        NumberType::F32 => (TypeKind::Float, 4),
        NumberType::F64 => (TypeKind::Float, 8),
        other => return Err(unknown_type(other)),
    };
    match kind {
        TypeKind::Float => DataType::float(size),
        _ => DataType::int(kind == TypeKind::Int, size),
    }
}

/// Runs `$body` with `$t` bound to the Rust type of pco number type `$nt`.
macro_rules! with_number_type {
    ($nt:expr, $t:ident => $body:expr) => {
        match $nt {
            NumberType::U8 => {
                type $t = u8;
                $body
            }
            NumberType::U16 => {
                type $t = u16;
                $body
            }
            NumberType::U32 => {
                type $t = u32;
                $body
            }
            NumberType::U64 => {
                type $t = u64;
                $body
            }
            NumberType::I8 => {
                type $t = i8;
                $body
            }
            NumberType::I16 => {
                type $t = i16;
                $body
            }
            NumberType::I32 => {
                type $t = i32;
                $body
            }
            NumberType::I64 => {
                type $t = i64;
                $body
            }
            NumberType::F16 => {
                type $t = half::f16;
                $body
            }
            NumberType::F32 => {
                type $t = f32;
                $body
            }
            NumberType::F64 => {
                type $t = f64;
                $body
            }
            other => return Err(unknown_type(other)),
        }
    };
}

fn compress<T: Number + bytemuck::Pod>(data: &[u8], config: &ChunkConfig) -> Result<Vec<u8>> {
    let res = match bytemuck::try_cast_slice::<u8, T>(data) {
        Ok(items) => pco::standalone::simple_compress(items, config),
        Err(_) => {
            // Unaligned input: copy into items first.
            let items: Vec<T> = data
                .chunks_exact(std::mem::size_of::<T>())
                .map(bytemuck::pod_read_unaligned)
                .collect();
            pco::standalone::simple_compress(&items, config)
        }
    };
    res.map_err(pco_error)
}

/// The most bytes `decode` allocates up front from the size hint in a file's header (which is
/// untrusted); larger outputs grow as their chunks arrive.
const MAX_PREALLOC_BYTES: usize = 256 << 20;

/// Where decoded items go: a growing block (`decode`) or the caller's items (`decode_into`).
trait Sink<T> {
    /// Room for the next `n` items, checked against the limit or the caller's size first.
    fn room(&mut self, n: usize) -> Result<&mut [T]>;
}

/// The caller's items, filled from the start.
struct Fixed<'a, T> {
    items: &'a mut [T],
    filled: usize,
}

impl<T> Sink<T> for Fixed<'_, T> {
    fn room(&mut self, n: usize) -> Result<&mut [T]> {
        let start = self.filled;
        if n > self.items.len() - start {
            return Err(out_too_small(std::mem::size_of_val(self.items)));
        }
        self.filled += n;
        Ok(&mut self.items[start..start + n])
    }
}

/// A 64-byte aligned block of items that grows (doubling) up to `limit` items.
struct Growing {
    block: AlignedBytes,
    size: usize,
    filled: usize,
    limit: usize,
}

impl<T: bytemuck::Pod> Sink<T> for Growing {
    fn room(&mut self, n: usize) -> Result<&mut [T]> {
        let size = self.size;
        if n > self.limit - self.filled {
            return Err(Error::too_large(format!(
                "{ID}: data decodes to more than {} bytes",
                self.limit * size
            )));
        }
        let start = self.filled * size;
        let end = start + n * size;
        if end > self.block.as_ref().len() {
            let cap = (self.filled + n)
                .max(self.block.as_ref().len() / size * 2)
                .min(self.limit);
            let mut bigger = AlignedBytes::for_overwrite(cap * size);
            bigger.as_mut_slice()[..start].copy_from_slice(&self.block.as_ref()[..start]);
            self.block = bigger;
        }
        self.filled += n;
        Ok(bytemuck::cast_slice_mut(
            &mut self.block.as_mut_slice()[start..end],
        ))
    }
}

/// Decodes every chunk after the header into `sink`, which checks each chunk's declared count
/// before the chunk is decoded.
fn decompress_chunks<T: Number>(
    fd: &FileDecompressor,
    mut src: &[u8],
    sink: &mut impl Sink<T>,
) -> Result<()> {
    loop {
        let mut cd = match fd.chunk_decompressor::<T, &[u8]>(src).map_err(pco_error)? {
            DecompressorItem::Chunk(cd) => cd,
            DecompressorItem::EndOfData(_) => return Ok(()),
        };
        let n = cd.n();
        let progress = cd.read(sink.room(n)?).map_err(pco_error)?;
        if progress.n_processed != n || !progress.finished {
            return Err(Error::corrupt(format!(
                "{ID}: chunk of {n} numbers decoded {} of them",
                progress.n_processed
            )));
        }
        src = cd.into_src();
    }
}

/// Reads the header: the decompressor, the rest, and the number type (`None`: no numbers).
fn open(input: &[u8]) -> Result<(FileDecompressor, &[u8], Option<NumberType>)> {
    let (fd, rest) = FileDecompressor::new(input).map_err(pco_error)?;
    let nt = fd
        .peek_number_type_or_termination(rest)
        .map_err(pco_error)?;
    Ok((fd, rest, nt))
}

/// Decodes into a new block, preallocating at most `prealloc` bytes from the size hint.
fn decode_new<T: Number + bytemuck::Pod>(
    fd: &FileDecompressor,
    rest: &[u8],
    nt: NumberType,
    prealloc: usize,
) -> Result<NDBuffer> {
    let size = std::mem::size_of::<T>();
    let limit = MAX_DECODED_SIZE / size;
    let hint = fd.n_hint().min(limit).min(prealloc / size);
    let mut sink = Growing {
        block: AlignedBytes::for_overwrite(hint * size),
        size,
        filled: 0,
        limit,
    };
    decompress_chunks::<T>(fd, rest, &mut sink)?;
    let n = sink.filled;
    let whole = Buffer::from_owner(sink.block);
    let items = whole.slice(0..n * size);
    // The slice alone holds the block, so front ends may take it over without copying.
    drop(whole);
    NDBuffer::new(items, dtype_of(nt)?, vec![n], crate::region::Order::C)
}

fn decode_into_typed<T: Number + bytemuck::Pod>(
    fd: &FileDecompressor,
    rest: &[u8],
    out: &mut [u8],
) -> Result<()> {
    let size = std::mem::size_of::<T>();
    if !out.len().is_multiple_of(size) {
        return Err(Error::invalid_argument(format!(
            "output buffer of {} bytes does not hold whole items of {size} bytes",
            out.len()
        )));
    }
    let want = out.len() / size;
    let aligned = bytemuck::try_cast_slice_mut::<u8, T>(out).is_ok();
    // Unaligned output: decode into items first, then copy.
    let mut scratch = if aligned {
        Vec::new()
    } else {
        vec![T::zeroed(); want]
    };
    let filled = {
        let items: &mut [T] = if aligned {
            bytemuck::cast_slice_mut(out)
        } else {
            &mut scratch
        };
        let mut sink = Fixed { items, filled: 0 };
        decompress_chunks::<T>(fd, rest, &mut sink)?;
        sink.filled
    };
    if filled != want {
        return Err(Error::invalid_argument(format!(
            "output buffer has {} bytes, decoded data has {}",
            out.len(),
            filled * size
        )));
    }
    if !aligned {
        out.copy_from_slice(bytemuck::cast_slice(&scratch));
    }
    Ok(())
}

impl Codec for Pcodec {
    fn id(&self) -> &'static str {
        ID
    }

    fn config(&self) -> Value {
        let mut m = Map::new();
        m.insert("id".into(), Value::from(ID));
        m.insert("level".into(), Value::from(self.level));
        m.insert("mode_spec".into(), Value::from(mode_str(self.mode)));
        m.insert("delta_spec".into(), Value::from(delta_str(self.delta)));
        m.insert("paging_spec".into(), Value::from("equal_pages_up_to"));
        m.insert(
            "delta_encoding_order".into(),
            self.delta_encoding_order.map_or(Value::Null, Value::from),
        );
        m.insert(
            "equal_pages_up_to".into(),
            Value::from(self.equal_pages_up_to),
        );
        Value::Object(m)
    }

    fn encode(&self, input: ArrayRef<'_>) -> Result<NDBuffer> {
        let nt = number_type(&input.dtype).ok_or_else(|| {
            Error::new(
                ErrorKind::UnsupportedDtype,
                format!(
                    "codec {ID}: unsupported dtype {} (pco takes native-order 16-, 32- and \
                     64-bit integers and floats)",
                    input.dtype
                ),
            )
        })?;
        let config = self.chunk_config();
        let bytes = with_number_type!(nt, T => compress::<T>(input.data, &config))?;
        Ok(NDBuffer::from_bytes(Buffer::from_vec(bytes)))
    }

    fn decode(&self, input: ArrayRef<'_>) -> Result<NDBuffer> {
        let (fd, rest, nt) = open(input.data)?;
        let Some(nt) = nt else {
            return Ok(NDBuffer::from_bytes(Buffer::empty()));
        };
        with_number_type!(nt, T => decode_new::<T>(&fd, rest, nt, MAX_PREALLOC_BYTES))
    }

    fn decode_into(&self, input: &[u8], out: ArrayMut<'_>) -> Result<()> {
        let (fd, rest, nt) = open(input)?;
        let Some(nt) = nt else {
            return super::check_out_len(out.data.len(), 0);
        };
        // The output's dtype must be the file's, unless the caller gives plain bytes.
        if out.dtype != DataType::u8() && number_type(&out.dtype) != Some(nt) {
            return Err(Error::invalid_argument(format!(
                "{ID}: output dtype {} does not match the data's dtype {}",
                out.dtype,
                dtype_of(nt)?
            )));
        }
        with_number_type!(nt, T => decode_into_typed::<T>(&fd, rest, out.data))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::codec::get_codec;
    use serde_json::json;

    fn hex(s: &str) -> Vec<u8> {
        (0..s.len())
            .step_by(2)
            .map(|i| u8::from_str_radix(&s[i..i + 2], 16).unwrap())
            .collect()
    }

    fn dt(s: &str) -> DataType {
        s.parse().unwrap()
    }

    /// `(dtype, config, input hex, numcodecs PCodec(**config).encode(input) hex)`.
    const GOLDEN: &[(&str, &str, &str, &str)] = &[
        (
            "<i4",
            "{}",
            "f9fffffffcffffffffffffff0200000005000000080000000b0000000e0000001100000014000000",
            "70636f21030083020401030900003100000010010180000000400002000100000000a8aaaa2a00",
        ),
        (
            "<f8",
            "{}",
            "00000000000000009a9999999999b93f9a9999999999c93f343333333333d33f9a9999999999d93f000000000000e03f343333333333e33f676666666666e63f",
            "70636f2103000302040106070000002300000000000000000020c09a9999999999b9bf3620090200000000000000000000000020cdcccccccccc0c00000000000034333333333333353333333333d36666666666661600",
        ),
        (
            "<u2",
            r#"{"level": 3, "mode_spec": "classic"}"#,
            "050005000600e8030700070007000200",
            "70636f2103000302040107070000001000100050030c4080f9051450000000",
        ),
        (
            "<f2",
            r#"{"delta_spec": "try_lookback"}"#,
            "00bc00ba00b800b4000000340038003a003c",
            "70636f2103004302040109080000001000000080ff43ff45ff47ff4b008000b400b800ba00bc00",
        ),
        (
            "<i8",
            r#"{"delta_encoding_order": 2}"#,
            "0000000000000000e803000000000000b80b00000000000070170000000000001027000000000000983a0000000000000852000000000000606d000000000000a08c000000000000c8af000000000000d8d6000000000000d001010000000000",
            "70636f21030003030401040b0000813e000000000000100201800000000000000040000400500600000000000000f753e3a59bc42000010000000000000000",
        ),
        (
            "<u4",
            r#"{"equal_pages_up_to": 7, "level": 0}"#,
            "00000000010000000400000009000000100000001900000024000000310000004000000051000000640000007900000090000000a9000000c4000000e100000000010000210100004401000069010000",
            "70636f21030004050401010600000010000000000030004040245046020106000000100088010000380080076886fce20101050000001000200600004000001d3c5d80a500",
        ),
        ("<f4", "{}", "", "70636f21030000040100"),
    ];

    fn codec_of(config: &str) -> Pcodec {
        let Value::Object(mut m) = serde_json::from_str::<Value>(config).unwrap() else {
            panic!("config")
        };
        m.insert("id".into(), json!("pcodec"));
        Pcodec::from_config(&m).unwrap()
    }

    #[test]
    fn matches_numcodecs_bytes_both_ways() {
        for &(dtype, config, input, encoded) in GOLDEN {
            let c = codec_of(config);
            let data = hex(input);
            let n = data.len() / dt(dtype).itemsize();
            let a = ArrayRef::new(&data, dt(dtype), vec![n], crate::Order::C).unwrap();
            let enc = c.encode(a).unwrap();
            assert_eq!(enc.bytes(), &hex(encoded)[..], "{dtype} {config}");
            let dec = c.decode(ArrayRef::bytes(&hex(encoded))).unwrap();
            assert_eq!(dec.bytes(), &data[..], "{dtype} {config}");
            if n > 0 {
                assert_eq!(*dec.dtype(), dt(dtype));
                assert_eq!(dec.shape(), vec![n]);
            } else {
                assert_eq!(*dec.dtype(), DataType::u8());
            }
            let mut out = vec![0u8; data.len()];
            let o = ArrayMut {
                data: &mut out,
                dtype: dt(dtype),
                shape: vec![n],
                order: crate::Order::C,
            };
            c.decode_into(&hex(encoded), o).unwrap();
            assert_eq!(out, data);
        }
    }

    fn sample(n: usize) -> Vec<u8> {
        (0..n)
            .flat_map(|i| ((i as f64 * 0.37).sin() * 1000.0).round().to_le_bytes())
            .collect()
    }

    #[test]
    fn round_trips_many_chunks_unaligned_and_raw_out() {
        let c = codec_of(r#"{"equal_pages_up_to": 1000, "level": 4}"#);
        let data = sample(3500);
        let mut shifted = vec![0u8; data.len() + 1];
        shifted[1..].copy_from_slice(&data);
        let a = ArrayRef::new(&shifted[1..], dt("<f8"), vec![3500], crate::Order::C).unwrap();
        let enc = c.encode(a).unwrap();
        let aligned = ArrayRef::new(&data, dt("<f8"), vec![3500], crate::Order::C).unwrap();
        assert_eq!(enc.bytes(), c.encode(aligned).unwrap().bytes());
        assert_eq!(c.decode(enc.as_array_ref()).unwrap().bytes(), &data[..]);
        // Plain bytes out, unaligned.
        let mut out = vec![0u8; data.len() + 1];
        c.decode_into(enc.bytes(), ArrayMut::bytes(&mut out[1..]))
            .unwrap();
        assert_eq!(&out[1..], &data[..]);
        crate::codec::test_util::assert_out_size_checked(&c, enc.bytes(), data.len());
        // Too few items for the output: an argument error, as for every codec.
        let mut big = vec![0u8; data.len() + 8];
        let e = c
            .decode_into(enc.bytes(), ArrayMut::bytes(&mut big))
            .unwrap_err();
        assert_eq!(e.kind(), ErrorKind::InvalidArgument);
        // A numeric out of another dtype is refused.
        let mut out = vec![0u8; data.len()];
        let o = ArrayMut {
            data: &mut out,
            dtype: dt("<i8"),
            shape: vec![3500],
            order: crate::Order::C,
        };
        let e = c.decode_into(enc.bytes(), o).unwrap_err();
        assert_eq!(e.kind(), ErrorKind::InvalidArgument);
    }

    #[test]
    fn datetimes_encode_as_int64() {
        let c = Pcodec::default();
        let data: Vec<u8> = (0..100i64)
            .flat_map(|i| (i * 86_400).to_le_bytes())
            .collect();
        let i8s = c
            .encode(ArrayRef::new(&data, dt("<i8"), vec![100], crate::Order::C).unwrap())
            .unwrap();
        for dtype in ["<M8[s]", "<m8[ns]"] {
            let a = ArrayRef::new(&data, dt(dtype), vec![100], crate::Order::C).unwrap();
            assert_eq!(c.encode(a).unwrap().bytes(), i8s.bytes(), "{dtype}");
        }
    }

    #[test]
    fn output_grows_past_the_preallocation() {
        let c = codec_of(r#"{"equal_pages_up_to": 1000}"#);
        let data = sample(3500);
        let a = ArrayRef::new(&data, dt("<f8"), vec![3500], crate::Order::C).unwrap();
        let enc = c.encode(a).unwrap();
        for prealloc in [0, 8, 8000, 8 << 20] {
            let (fd, rest, nt) = open(enc.bytes()).unwrap();
            let dec = decode_new::<f64>(&fd, rest, nt.unwrap(), prealloc).unwrap();
            assert_eq!(dec.bytes(), &data[..], "{prealloc}");
            assert_eq!(dec.shape(), vec![3500]);
        }
    }

    #[test]
    fn unsupported_dtypes_are_errors() {
        let c = Pcodec::default();
        for (dtype, kind) in [
            ("|u1", ErrorKind::InvalidArgument),
            ("|i1", ErrorKind::InvalidArgument),
            (">i4", ErrorKind::UnsupportedDtype),
            ("|b1", ErrorKind::UnsupportedDtype),
            ("<c8", ErrorKind::UnsupportedDtype),
        ] {
            let d = dt(dtype);
            let data = vec![0u8; d.itemsize() * 3];
            let a = ArrayRef::new(&data, d, vec![3], crate::Order::C).unwrap();
            let e = c.encode(a).unwrap_err();
            assert_eq!(e.kind(), kind, "{dtype}: {e}");
        }
    }

    #[test]
    fn corrupt_and_truncated_input_are_errors_not_panics() {
        let c = Pcodec::default();
        let data = sample(700);
        let a = ArrayRef::new(&data, dt("<i8"), vec![700], crate::Order::C).unwrap();
        let good = c.encode(a).unwrap().bytes().to_vec();
        for cut in 0..good.len() {
            assert!(
                c.decode(ArrayRef::bytes(&good[..cut])).is_err(),
                "cut {cut}"
            );
        }
        // Every single-byte change: an error or some numbers, never a panic.
        for i in 0..good.len() {
            for x in [0x01u8, 0x80, 0xff] {
                let mut bad = good.clone();
                bad[i] ^= x;
                let _ = c.decode(ArrayRef::bytes(&bad));
                let mut out = vec![0u8; data.len()];
                let _ = c.decode_into(&bad, ArrayMut::bytes(&mut out));
            }
        }
        let e = c.decode(ArrayRef::bytes(b"not pco at all")).unwrap_err();
        assert_eq!(e.kind(), ErrorKind::Corrupt);
    }

    #[test]
    fn declared_counts_are_checked_before_decoding() {
        // A constant chunk of 2^24 numbers compresses to a few bytes; its count must fit the
        // output before anything is written.
        let c = Pcodec::default();
        let big = vec![0u8; 4 << 20];
        let a = ArrayRef::new(&big, dt("<i4"), vec![1 << 20], crate::Order::C).unwrap();
        let enc = c.encode(a).unwrap();
        assert!(enc.bytes().len() < 200);
        let mut small = vec![0u8; 400];
        let e = c
            .decode_into(enc.bytes(), ArrayMut::bytes(&mut small))
            .unwrap_err();
        assert_eq!(e.kind(), ErrorKind::InvalidArgument);
    }

    #[test]
    fn config_keys() {
        let c = get_codec(&json!({"id": "pcodec"})).unwrap();
        assert_eq!(
            c.config(),
            json!({"id": "pcodec", "level": 8, "mode_spec": "auto", "delta_spec": "auto",
                   "paging_spec": "equal_pages_up_to", "delta_encoding_order": null,
                   "equal_pages_up_to": 262144})
        );
        let cfg = json!({"id": "pcodec", "level": 12, "mode_spec": "classic",
                         "delta_spec": "try_consecutive", "paging_spec": "equal_pages_up_to",
                         "delta_encoding_order": 7, "equal_pages_up_to": 1});
        assert_eq!(get_codec(&cfg).unwrap().config(), cfg);
        assert!(matches!(
            codec_of(r#"{"delta_spec": "none"}"#)
                .chunk_config()
                .delta_spec,
            DeltaSpec::NoOp
        ));
        assert!(matches!(
            codec_of(r#"{"delta_spec": "no_op"}"#)
                .chunk_config()
                .delta_spec,
            DeltaSpec::NoOp
        ));
        assert!(matches!(
            codec_of(r#"{"delta_encoding_order": 3}"#)
                .chunk_config()
                .delta_spec,
            DeltaSpec::TryConsecutive(3)
        ));
        for bad in [
            json!({"id": "pcodec", "level": 13}),
            json!({"id": "pcodec", "level": -1}),
            json!({"id": "pcodec", "mode_spec": "try_dict"}),
            json!({"id": "pcodec", "delta_spec": "conv1"}),
            json!({"id": "pcodec", "paging_spec": "exact"}),
            json!({"id": "pcodec", "delta_encoding_order": 8}),
            json!({"id": "pcodec", "delta_spec": "none", "delta_encoding_order": 1}),
            json!({"id": "pcodec", "delta_spec": "try_consecutive"}),
            json!({"id": "pcodec", "equal_pages_up_to": 0}),
            json!({"id": "pcodec", "compression_level": 3}),
        ] {
            let e = get_codec(&bad).unwrap_err();
            assert_eq!(e.kind(), ErrorKind::InvalidConfig, "{bad}");
        }
    }
}
