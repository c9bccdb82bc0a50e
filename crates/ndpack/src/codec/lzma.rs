//! The `lzma` codec: .xz, .lzma ("alone") and raw LZMA streams, as numcodecs'
//! `LZMA(format=1, check=-1, preset=None, filters=None)` (Python's `lzma.compress` and
//! `lzma.decompress`).
//!
//! Config keys are Python's: `format` (`FORMAT_AUTO` 0, `FORMAT_XZ` 1, `FORMAT_ALONE` 2,
//! `FORMAT_RAW` 3), `check` (-1 for the format's default, `CHECK_NONE` 0, `CHECK_CRC32` 1,
//! `CHECK_CRC64` 4, `CHECK_SHA256` 10), `preset` (null or 0-9, optionally or-ed with
//! `PRESET_EXTREME` = 2^31) and `filters` (null or a list of filter specifiers, dicts with an
//! `id` and that filter's options: `FILTER_LZMA1`/`FILTER_LZMA2` with `preset`, `dict_size`,
//! `lc`, `lp`, `pb`, `mode`, `nice_len`, `mf`, `depth`; `FILTER_DELTA` with `dist`; the BCJ
//! filters `FILTER_X86`, `FILTER_POWERPC`, `FILTER_IA64`, `FILTER_ARM`, `FILTER_ARMTHUMB`,
//! `FILTER_SPARC` with `start_offset`). The config keeps the filter list exactly as given.
//!
//! Decoding follows `lzma.decompress`: streams one after the other are concatenated, data after a
//! complete stream that does not start a valid stream is ignored. Unlike numcodecs, a codec with
//! `filters` and a container format (xz, alone) decodes its own output (the container says which
//! filters were used). Decoders are limited to [`MEMLIMIT`] bytes of memory.
//!
//! `FORMAT_XZ` in parallel: inputs larger than one xz block ([`LZMA::xz_block_size`], fixed by
//! the filter chain: liblzma's default, 3 times the dictionary and at least 1 MiB) are encoded by
//! liblzma's multithreaded encoder into independent blocks of that size whose headers record their
//! sizes; the bytes do not depend on the thread count, and inputs up to one block give the
//! single-block stream that Python's `lzma` writes. Such streams (from any producer, `xz -T`
//! included) are decoded in parallel by liblzma's multithreaded decoder. liblzma runs these threads
//! itself; their number is ndpack's thread count ([`crate::threads`]).
//!
//! `FORMAT_RAW` in parallel: for the chains `[lzma2]` and `[delta, lzma2]`, inputs larger than
//! [`LZMA::xz_block_size`] (the same size, from the same chain) are split into pieces of that size
//! whose raw LZMA2 streams, each starting with a dictionary reset, are written in parallel on
//! ndpack's pool and joined into one raw stream (the delta filter is applied over the whole input
//! first; see `raw.rs`). The bytes do not depend on the thread count, inputs up to one piece give
//! the stream that Python's `lzma` writes, and every raw LZMA2 decoder reads the result with the
//! declared chain. Other raw chains (LZMA1, BCJ filters) and `FORMAT_ALONE` stay serial. Raw
//! streams of these chains with several dictionary resets (ndpack's, for one) are decoded in
//! parallel: the chunk headers give each part's place, each part is decoded on its own, the delta
//! is undone per part then corrected lane by lane; anything unexpected falls back to the serial
//! decoder (its output and its errors).

use liblzma::stream::{
    Action, Check, Filters, LzmaOptions, MatchFinder, Mode, MtStreamBuilder, Status, Stream,
};
use serde_json::{json, Map, Value};

use super::stream_loop::{self, StepResult, StreamStep};
use super::{
    check_out_len, grow_output, ArrayMut, ArrayRef, Codec, ConfigReader, NDBuffer, MAX_DECODED_SIZE,
};
use crate::error::{Error, ErrorKind, Result};
use crate::threads;

mod raw;

/// Python's `lzma.FORMAT_AUTO`: decode .xz or .lzma (cannot encode).
pub const FORMAT_AUTO: i64 = 0;
/// Python's `lzma.FORMAT_XZ`.
pub const FORMAT_XZ: i64 = 1;
/// Python's `lzma.FORMAT_ALONE` (the legacy .lzma format).
pub const FORMAT_ALONE: i64 = 2;
/// Python's `lzma.FORMAT_RAW` (no container; `filters` required).
pub const FORMAT_RAW: i64 = 3;
/// Python's `lzma.PRESET_EXTREME` flag.
pub const PRESET_EXTREME: i64 = 0x8000_0000;
/// Python's `lzma.FILTER_LZMA1`.
pub const FILTER_LZMA1: i64 = 0x4000_0000_0000_0001;
/// Python's `lzma.FILTER_LZMA2`.
pub const FILTER_LZMA2: i64 = 0x21;
/// Python's `lzma.FILTER_DELTA`.
pub const FILTER_DELTA: i64 = 3;
/// The most memory a decoder may use (dictionaries are allocated from sizes in the input): 2 GiB,
/// enough for every dictionary size xz and Python can write.
pub const MEMLIMIT: u64 = 1 << 31;

/// The multithreaded xz decoder gives each thread a buffer of the decoded size that a block header
/// declares. It may use at most this much memory for that (it decodes with fewer threads, or
/// serially, rather than more), or 32 times the input when that is more: an input cannot make it
/// reserve memory far beyond what the input justifies.
const MT_DECODER_MEMORY: u64 = 64 << 20;

/// The smallest block that `FORMAT_XZ` inputs are split into: each block starts with an empty
/// dictionary, which costs 0.3% per block on the benchmark's int64 ramp; 8 MiB keeps the cost
/// within 0.5% on 16 MB arrays while giving two threads a block each.
pub const MIN_XZ_BLOCK: u64 = 8 << 20;

/// Below this many compressed bytes, xz streams are decoded serially.
const MT_DECODER_MIN_INPUT: usize = 64 << 10;

const BCJ_FILTERS: [(i64, &str); 6] = [
    (4, "FILTER_X86"),
    (5, "FILTER_POWERPC"),
    (6, "FILTER_IA64"),
    (7, "FILTER_ARM"),
    (8, "FILTER_ARMTHUMB"),
    (9, "FILTER_SPARC"),
];

/// One parsed filter specifier.
#[derive(Debug, Clone, PartialEq, Eq)]
enum FilterSpec {
    Lzma {
        lzma1: bool,
        preset: u32,
        dict_size: Option<u32>,
        lc: Option<u32>,
        lp: Option<u32>,
        pb: Option<u32>,
        mode: Option<u32>,
        nice_len: Option<u32>,
        mf: Option<u32>,
        depth: Option<u32>,
    },
    Delta {
        dist: u32,
    },
    Bcj {
        id: i64,
        start_offset: u32,
    },
}

/// The numcodecs `lzma` codec.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LZMA {
    format: i64,
    check: i64,
    preset: Option<i64>,
    filters: Option<Value>,
    parsed: Option<Vec<FilterSpec>>,
    /// The smallest xz block when splitting (not part of the config).
    min_xz_block: u64,
}

impl Default for LZMA {
    fn default() -> Self {
        LZMA {
            format: FORMAT_XZ,
            check: -1,
            preset: None,
            filters: None,
            parsed: None,
            min_xz_block: MIN_XZ_BLOCK,
        }
    }
}

fn cfg_err(msg: impl std::fmt::Display) -> Error {
    Error::config(format!("codec lzma: {msg}"))
}

fn check_preset(preset: i64) -> Result<u32> {
    let level = preset & !PRESET_EXTREME;
    if !(0..=9).contains(&level) || !(0..=(PRESET_EXTREME | 9)).contains(&preset) {
        return Err(cfg_err(format!(
            "key \"preset\" must be 0-9, optionally with PRESET_EXTREME, got {preset}"
        )));
    }
    Ok(preset as u32)
}

fn parse_filter(i: usize, v: &Value) -> Result<FilterSpec> {
    let m = v
        .as_object()
        .ok_or_else(|| cfg_err(format!("key \"filters\": item {i} must be a dict, got {v}")))?;
    let int = |key: &str| -> Result<Option<i64>> {
        match m.get(key) {
            None | Some(Value::Null) => Ok(None),
            Some(v) => v.as_i64().map(Some).ok_or_else(|| {
                cfg_err(format!(
                    "key \"filters\": item {i}: {key:?} must be an integer, got {v}"
                ))
            }),
        }
    };
    let u32_of = |key: &str| -> Result<Option<u32>> {
        int(key)?
            .map(|x| {
                u32::try_from(x).map_err(|_| {
                    cfg_err(format!(
                        "key \"filters\": item {i}: {key:?} is out of range: {x}"
                    ))
                })
            })
            .transpose()
    };
    let id =
        int("id")?.ok_or_else(|| cfg_err(format!("key \"filters\": item {i} has no \"id\"")))?;
    let allowed: &[&str] = match id {
        FILTER_LZMA1 | FILTER_LZMA2 => &[
            "id",
            "preset",
            "dict_size",
            "lc",
            "lp",
            "pb",
            "mode",
            "nice_len",
            "mf",
            "depth",
        ],
        FILTER_DELTA => &["id", "dist"],
        _ if BCJ_FILTERS.iter().any(|(f, _)| *f == id) => &["id", "start_offset"],
        _ => {
            return Err(cfg_err(format!(
                "key \"filters\": item {i}: unknown filter id {id}"
            )))
        }
    };
    if let Some(k) = m.keys().find(|k| !allowed.contains(&k.as_str())) {
        return Err(cfg_err(format!(
            "key \"filters\": item {i}: invalid filter option {k:?} for filter {id}"
        )));
    }
    Ok(match id {
        FILTER_LZMA1 | FILTER_LZMA2 => {
            let preset = match int("preset")? {
                None => 6,
                Some(p) => check_preset(p)?,
            };
            let spec = FilterSpec::Lzma {
                lzma1: id == FILTER_LZMA1,
                preset,
                dict_size: u32_of("dict_size")?,
                lc: u32_of("lc")?,
                lp: u32_of("lp")?,
                pb: u32_of("pb")?,
                mode: u32_of("mode")?,
                nice_len: u32_of("nice_len")?,
                mf: u32_of("mf")?,
                depth: u32_of("depth")?,
            };
            if let FilterSpec::Lzma { mode: Some(md), .. } = spec {
                if md != 1 && md != 2 {
                    return Err(cfg_err(format!("key \"filters\": item {i}: bad mode {md}")));
                }
            }
            if let FilterSpec::Lzma { mf: Some(mf), .. } = spec {
                if ![3, 4, 18, 19, 20].contains(&mf) {
                    return Err(cfg_err(format!("key \"filters\": item {i}: bad mf {mf}")));
                }
            }
            spec
        }
        FILTER_DELTA => {
            let dist = u32_of("dist")?.unwrap_or(1);
            if !(1..=256).contains(&dist) {
                return Err(cfg_err(format!(
                    "key \"filters\": item {i}: \"dist\" must be 1-256, got {dist}"
                )));
            }
            FilterSpec::Delta { dist }
        }
        _ => FilterSpec::Bcj {
            id,
            start_offset: u32_of("start_offset")?.unwrap_or(0),
        },
    })
}

fn lzma_options(spec: &FilterSpec) -> Result<LzmaOptions> {
    let FilterSpec::Lzma {
        preset,
        dict_size,
        lc,
        lp,
        pb,
        mode,
        nice_len,
        mf,
        depth,
        ..
    } = spec
    else {
        unreachable!("only called for LZMA filters")
    };
    let mut o = LzmaOptions::new_preset(*preset).map_err(|e| cfg_err(format!("preset: {e}")))?;
    if let Some(v) = dict_size {
        o.dict_size(*v);
    }
    if let Some(v) = lc {
        o.literal_context_bits(*v);
    }
    if let Some(v) = lp {
        o.literal_position_bits(*v);
    }
    if let Some(v) = pb {
        o.position_bits(*v);
    }
    if let Some(v) = mode {
        o.mode(if *v == 1 { Mode::Fast } else { Mode::Normal });
    }
    if let Some(v) = nice_len {
        o.nice_len(*v);
    }
    if let Some(v) = mf {
        o.match_finder(match v {
            3 => MatchFinder::HashChain3,
            4 => MatchFinder::HashChain4,
            18 => MatchFinder::BinaryTree2,
            19 => MatchFinder::BinaryTree3,
            _ => MatchFinder::BinaryTree4,
        });
    }
    if let Some(v) = depth {
        o.depth(*v);
    }
    Ok(o)
}

fn build_filters(specs: &[FilterSpec]) -> Result<Filters> {
    let mut f = Filters::new();
    for spec in specs {
        let bad = |e: liblzma::stream::Error| cfg_err(format!("key \"filters\": {e}"));
        match spec {
            FilterSpec::Lzma { lzma1, .. } => {
                let o = lzma_options(spec)?;
                if *lzma1 {
                    f.lzma1(&o);
                } else {
                    f.lzma2(&o);
                }
            }
            FilterSpec::Delta { dist } => {
                f.delta_properties(&[(dist - 1) as u8]).map_err(bad)?;
            }
            FilterSpec::Bcj { id, start_offset } => {
                let props = if *start_offset == 0 {
                    Vec::new()
                } else {
                    start_offset.to_le_bytes().to_vec()
                };
                match id {
                    4 => f.x86_properties(&props),
                    5 => f.powerpc_properties(&props),
                    6 => f.ia64_properties(&props),
                    7 => f.arm_properties(&props),
                    8 => f.arm_thumb_properties(&props),
                    _ => f.sparc_properties(&props),
                }
                .map_err(bad)?;
            }
        }
    }
    Ok(f)
}

fn lzma_error(e: liblzma::stream::Error) -> Error {
    use liblzma::stream::Error as E;
    match e {
        E::MemLimit => Error::too_large(format!(
            "lzma: decoding needs more than {MEMLIMIT} bytes of memory"
        )),
        E::Options | E::Program => Error::new(ErrorKind::Backend, format!("lzma: {e}")),
        _ => Error::corrupt(format!("lzma: invalid or corrupt data ({e})")),
    }
}

fn truncated() -> Error {
    Error::truncated("lzma: compressed data ended before the end-of-stream marker was reached")
}

impl LZMA {
    /// A codec from numcodecs' parameters; `filters` is the JSON list of filter specifiers.
    pub fn new(
        format: i64,
        check: i64,
        preset: Option<i64>,
        filters: Option<Value>,
    ) -> Result<Self> {
        if !(FORMAT_AUTO..=FORMAT_RAW).contains(&format) {
            return Err(cfg_err(format!("key \"format\" must be 0-3, got {format}")));
        }
        if ![-1, 0, 1, 4, 10].contains(&check) {
            return Err(cfg_err(format!(
                "key \"check\" must be -1, 0, 1, 4 or 10, got {check}"
            )));
        }
        if let Some(p) = preset {
            check_preset(p)?;
        }
        let parsed = match &filters {
            None => None,
            Some(Value::Array(items)) => Some(
                items
                    .iter()
                    .enumerate()
                    .map(|(i, v)| parse_filter(i, v))
                    .collect::<Result<Vec<_>>>()?,
            ),
            Some(other) => {
                return Err(cfg_err(format!(
                    "key \"filters\" must be a list of dicts or null, got {other}"
                )))
            }
        };
        if let Some(specs) = &parsed {
            if specs.is_empty() || specs.len() > 4 {
                return Err(cfg_err("key \"filters\" must hold 1 to 4 filters"));
            }
            if preset.is_some() {
                return Err(cfg_err(
                    "keys \"preset\" and \"filters\": cannot specify both preset and filter chain",
                ));
            }
            build_filters(specs)?;
        }
        if format == FORMAT_RAW && parsed.is_none() {
            return Err(cfg_err(
                "key \"filters\": must specify filters for FORMAT_RAW",
            ));
        }
        Ok(LZMA {
            format,
            check,
            preset,
            filters,
            parsed,
            min_xz_block: MIN_XZ_BLOCK,
        })
    }

    /// Builds the codec from its numcodecs config.
    pub fn from_config(config: &Map<String, Value>) -> Result<Self> {
        let mut r = ConfigReader::new("lzma", config)?;
        let format = r.int("format")?.unwrap_or(FORMAT_XZ);
        let check = r.int("check")?.unwrap_or(-1);
        let preset = r.int("preset")?;
        let filters = r.value("filters").cloned();
        r.finish()?;
        Self::new(format, check, preset, filters)
    }

    fn encoder(&self) -> Result<Stream> {
        let preset = self.preset.unwrap_or(6) as u32;
        if self.format != FORMAT_XZ && ![-1, 0].contains(&self.check) {
            return Err(cfg_err(format!(
                "key \"check\": integrity checks are only supported by FORMAT_XZ, got {}",
                self.check
            )));
        }
        match self.format {
            FORMAT_XZ => {
                let check = self.xz_check();
                match &self.parsed {
                    None => Stream::new_easy_encoder(preset, check),
                    Some(specs) => Stream::new_stream_encoder(&build_filters(specs)?, check),
                }
            }
            FORMAT_ALONE => {
                let opts = match self.parsed.as_deref() {
                    None => LzmaOptions::new_preset(preset).map_err(lzma_error)?,
                    Some([spec @ FilterSpec::Lzma { lzma1: true, .. }]) => lzma_options(spec)?,
                    Some(_) => {
                        return Err(cfg_err(
                            "key \"filters\": invalid filter chain for FORMAT_ALONE - must be a single LZMA1 filter",
                        ))
                    }
                };
                Stream::new_lzma_encoder(&opts)
            }
            FORMAT_RAW => Stream::new_raw_encoder(&build_filters(
                self.parsed.as_deref().expect("checked in new"),
            )?),
            _ => {
                return Err(cfg_err(
                    "key \"format\": FORMAT_AUTO can decode but not encode",
                ))
            }
        }
        .map_err(|e| cfg_err(format!("cannot create encoder: {e}")))
    }

    fn xz_check(&self) -> Check {
        match self.check {
            0 => Check::None,
            1 => Check::Crc32,
            10 => Check::Sha256,
            _ => Check::Crc64,
        }
    }

    /// The filter chain that `FORMAT_XZ` encodes with (the preset's LZMA2 when no filters).
    fn xz_filters(&self) -> Result<Filters> {
        match &self.parsed {
            Some(specs) => build_filters(specs),
            None => {
                let preset = self.preset.unwrap_or(6) as u32;
                let opts = LzmaOptions::new_preset(preset).map_err(lzma_error)?;
                let mut f = Filters::new();
                f.lzma2(&opts);
                Ok(f)
            }
        }
    }

    /// The uncompressed size of the blocks of `FORMAT_XZ` streams (and of the pieces of
    /// `FORMAT_RAW` `[lzma2]`/`[delta, lzma2]` streams): inputs up to this size are one block,
    /// larger ones are split into blocks of this size, encoded in parallel. Fixed by the filter
    /// chain: liblzma's default for its multithreaded encoder (3 times the LZMA2 dictionary
    /// size), at least [`MIN_XZ_BLOCK`].
    pub fn xz_block_size(&self) -> Result<u64> {
        Ok(self.xz_filters()?.mt_block_size().max(self.min_xz_block))
    }

    /// For a `FORMAT_RAW` chain `[lzma2]` or `[delta, lzma2]` and an input of `len` bytes larger
    /// than [`LZMA::xz_block_size`]: how to split it and the piece size. `None` when the input is
    /// encoded by one serial raw encoder.
    fn raw_pieces(&self, len: usize) -> Result<Option<(raw::Plan<'_>, usize)>> {
        if self.format != FORMAT_RAW {
            return Ok(None);
        }
        let Some(plan) = self.parsed.as_deref().and_then(raw::plan) else {
            return Ok(None);
        };
        let piece = usize::try_from(self.xz_block_size()?).unwrap_or(usize::MAX);
        Ok((len > piece).then_some((plan, piece)))
    }

    /// The same codec with `bytes` (at least 64 KiB) instead of [`MIN_XZ_BLOCK`] as the smallest
    /// xz block (and raw piece): smaller blocks compress in parallel sooner, at some cost in
    /// size. Not part of
    /// the numcodecs config (a codec rebuilt from its config has the default).
    pub fn with_min_xz_block(mut self, bytes: u64) -> Self {
        self.min_xz_block = bytes.max(64 << 10);
        self
    }

    /// liblzma's multithreaded xz encoder: blocks of [`LZMA::xz_block_size`], `threads` threads.
    fn mt_encoder(&self, threads: u32) -> Result<Stream> {
        let mut b = MtStreamBuilder::new();
        b.threads(threads)
            .block_size(self.xz_block_size()?)
            .timeout_ms(0)
            .check(self.xz_check());
        match &self.parsed {
            Some(_) => b.filters(self.xz_filters()?),
            None => b.preset(self.preset.unwrap_or(6) as u32),
        };
        b.encoder()
            .map_err(|e| cfg_err(format!("cannot create encoder: {e}")))
    }

    /// Encodes to one `FORMAT_XZ` stream split into blocks, with `threads` threads.
    fn encode_mt(&self, data: &[u8], threads: u32) -> Result<Vec<u8>> {
        let s = self.mt_encoder(threads)?;
        run_encoder(s, data)
    }

    /// The decoder for one stream of `input_len` compressed bytes.
    fn decoder_for(&self, input_len: usize, mode: DecodeMode) -> Result<Stream> {
        let threads = threads::get_num_threads();
        let mt = match mode {
            DecodeMode::Auto => threads > 1 && input_len >= MT_DECODER_MIN_INPUT,
            DecodeMode::Serial => false,
            DecodeMode::Parallel => true,
        };
        if self.format == FORMAT_XZ && mt {
            let memory = (input_len as u64)
                .saturating_mul(32)
                .clamp(MT_DECODER_MEMORY, MEMLIMIT);
            return MtStreamBuilder::new()
                .threads(u32::try_from(threads).unwrap_or(u32::MAX).min(1024))
                .timeout_ms(0)
                .memlimit_threading(memory)
                .memlimit_stop(MEMLIMIT)
                .decoder()
                .map_err(lzma_error);
        }
        self.decoder()
    }

    fn decoder(&self) -> Result<Stream> {
        match self.format {
            FORMAT_XZ => Stream::new_stream_decoder(MEMLIMIT, 0),
            FORMAT_ALONE => Stream::new_lzma_decoder(MEMLIMIT),
            FORMAT_RAW => Stream::new_raw_decoder(&build_filters(
                self.parsed.as_deref().expect("checked in new"),
            )?),
            _ => Stream::new_auto_decoder(MEMLIMIT, 0),
        }
        .map_err(lzma_error)
    }

    /// A `FORMAT_RAW` `[lzma2]`/`[delta, lzma2]` stream at the start of `data` that has several
    /// dictionary resets (as ndpack writes large inputs), decoded part by part in parallel when
    /// `mode` says so: its decoded bytes (at most `limit`) and its length. `None` when it does
    /// not apply or anything is unexpected; the serial decoder then decodes the stream.
    fn decode_raw_parallel(
        &self,
        data: &[u8],
        limit: usize,
        mode: DecodeMode,
    ) -> Option<(Vec<u8>, usize)> {
        if self.format != FORMAT_RAW {
            return None;
        }
        let plan = self.parsed.as_deref().and_then(raw::plan)?;
        let go = match mode {
            DecodeMode::Auto => {
                threads::get_num_threads() > 1 && data.len() >= MT_DECODER_MIN_INPUT
            }
            DecodeMode::Serial => false,
            DecodeMode::Parallel => true,
        };
        if !go {
            return None;
        }
        threads::install(|| raw::decode(data, plan, limit, raw::MIN_PART))
    }

    /// Decodes one stream from the start of `data`, appending to `out`. Errors carry whether
    /// the data was not a valid stream (which `lzma.decompress` ignores after the first stream).
    ///
    /// When the multithreaded decoder fails, the stream is decoded again serially: the two can
    /// stop at different points of bad data (one seeing it truncated, the other corrupt), and
    /// the serial decoder's error is the one reported.
    fn decode_stream_vec(
        &self,
        data: &[u8],
        out: &mut Vec<u8>,
        limit: usize,
        mode: DecodeMode,
    ) -> StepResult<usize> {
        if let Some((bytes, used)) =
            self.decode_raw_parallel(data, limit.saturating_sub(out.len()), mode)
        {
            if out.is_empty() {
                *out = bytes;
            } else {
                out.extend_from_slice(&bytes);
            }
            return Ok(used);
        }
        let before = out.len();
        match self.decode_stream_vec_with(data, out, limit, mode) {
            Err(_) if mode != DecodeMode::Serial => {
                out.truncate(before);
                self.decode_stream_vec_with(data, out, limit, DecodeMode::Serial)
            }
            r => r,
        }
    }

    fn decode_stream_vec_with(
        &self,
        data: &[u8],
        out: &mut Vec<u8>,
        limit: usize,
        mode: DecodeMode,
    ) -> StepResult<usize> {
        let mut s = self.decoder_for(data.len(), mode).map_err(|e| (false, e))?;
        stream_loop::decode_to_vec(&mut s, data, out, limit, "lzma", truncated)
    }

    /// Decodes one stream from the start of `data` into the start of `out` (errors as
    /// [`LZMA::decode_stream_vec`], the serial decoder's).
    fn decode_stream_slice(&self, data: &[u8], out: &mut [u8]) -> StepResult<(usize, usize)> {
        if let Some((bytes, used)) = self.decode_raw_parallel(data, out.len(), DecodeMode::Auto) {
            out[..bytes.len()].copy_from_slice(&bytes);
            return Ok((used, bytes.len()));
        }
        self.decode_stream_slice_with(data, out, DecodeMode::Auto)
            .or_else(|_| self.decode_stream_slice_with(data, out, DecodeMode::Serial))
    }

    fn decode_stream_slice_with(
        &self,
        data: &[u8],
        out: &mut [u8],
        mode: DecodeMode,
    ) -> StepResult<(usize, usize)> {
        let mut s = self.decoder_for(data.len(), mode).map_err(|e| (false, e))?;
        stream_loop::decode_to_slice(&mut s, data, out, truncated)
    }
}

/// liblzma's decoder, as the one-stream loops drive it; every error but running out of the
/// memory limit is invalid data.
impl StreamStep for Stream {
    fn totals(&self) -> (u64, u64) {
        (self.total_in(), self.total_out())
    }

    fn step(&mut self, input: &[u8], out: &mut [u8]) -> StepResult<bool> {
        let status = self
            .process(input, out, Action::Run)
            .map_err(stream_error)?;
        Ok(status == Status::StreamEnd)
    }

    fn step_vec(&mut self, input: &[u8], out: &mut Vec<u8>) -> StepResult<bool> {
        let status = self
            .process_vec(input, out, Action::Run)
            .map_err(stream_error)?;
        Ok(status == Status::StreamEnd)
    }
}

fn stream_error(e: liblzma::stream::Error) -> (bool, Error) {
    (e != liblzma::stream::Error::MemLimit, lzma_error(e))
}

/// Which xz decoder to use.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum DecodeMode {
    /// The multithreaded one for large enough inputs when ndpack has more than one thread.
    Auto,
    /// The single-threaded one.
    Serial,
    /// The multithreaded one whatever the input size and thread count.
    Parallel,
}

impl LZMA {
    /// `lzma.decompress`: concatenated streams, trailing non-stream data ignored.
    fn decode_with(&self, data: &[u8], mode: DecodeMode) -> Result<Vec<u8>> {
        let mut out = Vec::new();
        let mut pos = 0;
        loop {
            let before = out.len();
            match self.decode_stream_vec(&data[pos..], &mut out, MAX_DECODED_SIZE, mode) {
                Ok(used) => pos += used,
                Err((true, _)) if pos > 0 => {
                    out.truncate(before);
                    break;
                }
                Err((_, e)) => return Err(e),
            }
            if pos >= data.len() {
                break;
            }
        }
        Ok(out)
    }

    /// Decodes as `decode` does, with liblzma's single-threaded decoder: the reference that the
    /// multithreaded xz decoder and the parallel raw decoder are tested (and fuzzed) against.
    pub fn decode_serial(&self, data: &[u8]) -> Result<Vec<u8>> {
        self.decode_with(data, DecodeMode::Serial)
    }

    /// Decodes as `decode` does, with liblzma's multithreaded decoder for `FORMAT_XZ` (and part
    /// by part in parallel for `FORMAT_RAW` streams with several dictionary resets) whatever the
    /// input size and thread count; gives what [`LZMA::decode_serial`] gives.
    pub fn decode_parallel(&self, data: &[u8]) -> Result<Vec<u8>> {
        self.decode_with(data, DecodeMode::Parallel)
    }
}

/// Runs encoder `s` over all of `data`.
fn run_encoder(mut s: Stream, data: &[u8]) -> Result<Vec<u8>> {
    let mut out = Vec::with_capacity(data.len() + data.len() / 64 + 1024);
    loop {
        let consumed = s.total_in() as usize;
        let status = s
            .process_vec(&data[consumed..], &mut out, Action::Finish)
            .map_err(|e| Error::new(ErrorKind::Backend, format!("lzma: {e}")))?;
        if status == Status::StreamEnd {
            return Ok(out);
        }
        if out.len() == out.capacity() {
            out.reserve(out.capacity().max(1024));
        }
    }
}

impl Codec for LZMA {
    fn id(&self) -> &'static str {
        "lzma"
    }

    fn config(&self) -> Value {
        json!({
            "id": "lzma",
            "format": self.format,
            "check": self.check,
            "preset": self.preset,
            "filters": self.filters,
        })
    }

    fn encode(&self, input: ArrayRef<'_>) -> Result<NDBuffer> {
        let data = input.data;
        if self.format == FORMAT_XZ && data.len() as u64 > self.xz_block_size()? {
            let threads = u32::try_from(threads::get_num_threads()).unwrap_or(u32::MAX);
            return Ok(NDBuffer::from_bytes(
                self.encode_mt(data, threads.min(1024))?,
            ));
        }
        if let Some((plan, piece)) = self.raw_pieces(data.len())? {
            return Ok(NDBuffer::from_bytes(threads::install(|| {
                raw::encode(data, piece, plan)
            })?));
        }
        Ok(NDBuffer::from_bytes(run_encoder(self.encoder()?, data)?))
    }

    fn decode(&self, input: ArrayRef<'_>) -> Result<NDBuffer> {
        Ok(NDBuffer::from_bytes(
            self.decode_with(input.data, DecodeMode::Auto)?,
        ))
    }

    fn decode_into(&self, input: &[u8], out: ArrayMut<'_>) -> Result<()> {
        let out = out.data;
        let mut pos = 0;
        let mut written = 0;
        loop {
            match self.decode_stream_slice(&input[pos..], &mut out[written..]) {
                Ok((used, n)) => {
                    pos += used;
                    written += n;
                }
                Err((true, _)) if pos > 0 => break,
                Err((_, e)) => return Err(e),
            }
            if pos >= input.len() {
                break;
            }
        }
        check_out_len(out.len(), written)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::codec::get_codec;
    use crate::codec::test_util::{assert_out_size_checked, round_trip};

    fn sample(n: usize) -> Vec<u8> {
        (0..n).map(|i| ((i / 11) % 97) as u8).collect()
    }

    fn codec(cfg: Value) -> Box<dyn Codec> {
        get_codec(&cfg).unwrap()
    }

    #[test]
    fn decodes_python_lzma_output() {
        // numcodecs.LZMA().encode(b"abc")
        let xz: [u8; 60] = [
            253, 55, 122, 88, 90, 0, 0, 4, 230, 214, 180, 70, 2, 0, 33, 1, 22, 0, 0, 0, 116, 47,
            229, 163, 1, 0, 2, 97, 98, 99, 0, 0, 39, 118, 39, 26, 74, 9, 216, 44, 0, 1, 27, 3, 11,
            47, 185, 16, 31, 182, 243, 125, 1, 0, 0, 0, 0, 4, 89, 90,
        ];
        assert_eq!(
            LZMA::default()
                .decode(ArrayRef::bytes(&xz))
                .unwrap()
                .bytes(),
            b"abc"
        );
        let auto = codec(json!({"id": "lzma", "format": 0}));
        assert_eq!(auto.decode(ArrayRef::bytes(&xz)).unwrap().bytes(), b"abc");
        // LZMA(format=FORMAT_ALONE, preset=1).encode(b"abc")
        let alone: [u8; 26] = [
            93, 0, 0, 16, 0, 255, 255, 255, 255, 255, 255, 255, 255, 0, 48, 152, 136, 164, 74, 142,
            159, 255, 246, 99, 128, 0,
        ];
        let c = codec(json!({"id": "lzma", "format": 2, "preset": 1}));
        assert_eq!(c.decode(ArrayRef::bytes(&alone)).unwrap().bytes(), b"abc");
        assert_eq!(
            auto.decode(ArrayRef::bytes(&alone)).unwrap().bytes(),
            b"abc"
        );
        // LZMA(format=FORMAT_RAW, filters=[{id: FILTER_DELTA, dist: 4},
        //      {id: FILTER_LZMA2, preset: 1}]).encode(b"abcdabcdabce")
        let raw: [u8; 16] = [1, 0, 11, 97, 98, 99, 100, 0, 0, 0, 0, 0, 0, 0, 1, 0];
        let c = codec(json!({"id": "lzma", "format": 3, "filters": [
            {"id": 3, "dist": 4}, {"id": 33, "preset": 1}]}));
        assert_eq!(
            c.decode(ArrayRef::bytes(&raw)).unwrap().bytes(),
            b"abcdabcdabce"
        );
        // LZMA(check=CHECK_SHA256, preset=0).encode(b"abc"), then with the hash corrupted.
        let sha: [u8; 84] = [
            253, 55, 122, 88, 90, 0, 0, 10, 225, 251, 12, 161, 2, 0, 33, 1, 12, 0, 0, 0, 143, 152,
            65, 156, 1, 0, 2, 97, 98, 99, 0, 0, 186, 120, 22, 191, 143, 1, 207, 234, 65, 65, 64,
            222, 93, 174, 34, 35, 176, 3, 97, 163, 150, 23, 122, 156, 180, 16, 255, 97, 242, 0, 21,
            173, 0, 1, 51, 3, 161, 129, 228, 77, 24, 155, 75, 154, 1, 0, 0, 0, 0, 10, 89, 90,
        ];
        let c = codec(json!({"id": "lzma", "check": 10, "preset": 0}));
        assert_eq!(c.decode(ArrayRef::bytes(&sha)).unwrap().bytes(), b"abc");
        let mut bad = sha;
        bad[40] ^= 1;
        assert_eq!(
            c.decode(ArrayRef::bytes(&bad)).unwrap_err().kind(),
            ErrorKind::Corrupt
        );
        // Concatenated streams; trailing garbage is ignored but a trailing partial header is
        // truncated data, exactly as lzma.decompress does.
        let mut two = xz.to_vec();
        two.extend_from_slice(&xz);
        let mut junk = two.clone();
        junk.extend_from_slice(b"garbage-garbage-garbage");
        for enc in [&two, &junk] {
            let dec = LZMA::default().decode(ArrayRef::bytes(enc)).unwrap();
            assert_eq!(dec.bytes(), b"abcabc");
            let mut out = [0u8; 6];
            LZMA::default()
                .decode_into(enc, ArrayMut::bytes(&mut out))
                .unwrap();
            assert_eq!(&out, b"abcabc");
        }
        let mut padded = two.clone();
        padded.extend_from_slice(&[0, 0, 0, 0]);
        let e = LZMA::default()
            .decode(ArrayRef::bytes(&padded))
            .unwrap_err();
        assert_eq!(e.kind(), ErrorKind::Truncated);
    }

    #[test]
    fn round_trip_every_format_check_and_filter_chain() {
        let configs = [
            json!({"id": "lzma"}),
            json!({"id": "lzma", "preset": 0}),
            json!({"id": "lzma", "preset": 9 | PRESET_EXTREME}),
            json!({"id": "lzma", "check": 0}),
            json!({"id": "lzma", "check": 1}),
            json!({"id": "lzma", "check": 4}),
            json!({"id": "lzma", "check": 10}),
            json!({"id": "lzma", "format": 2}),
            json!({"id": "lzma", "format": 2, "check": 0, "preset": 3}),
            json!({"id": "lzma", "format": 2, "filters": [{"id": FILTER_LZMA1, "preset": 2, "lc": 0, "lp": 2, "pb": 2}]}),
            json!({"id": "lzma", "format": 1, "filters": [{"id": 3, "dist": 4}, {"id": 33, "preset": 1, "dict_size": 1 << 20}]}),
            json!({"id": "lzma", "format": 3, "filters": [{"id": 33, "preset": 1, "mode": 1, "mf": 4, "nice_len": 32, "depth": 8}]}),
            json!({"id": "lzma", "format": 3, "filters": [{"id": FILTER_LZMA1}]}),
            json!({"id": "lzma", "format": 3, "filters": [{"id": 4, "start_offset": 16}, {"id": 33}]}),
            json!({"id": "lzma", "format": 3, "filters": [{"id": 7}, {"id": 33, "preset": 0}]}),
        ];
        for cfg in configs {
            let c = codec(cfg.clone());
            let again = get_codec(&c.config()).unwrap();
            assert_eq!(again.config(), c.config(), "{cfg}");
            for n in [0usize, 1, 4097, 1 << 20] {
                let d = sample(n);
                round_trip(&*c, &d, &cfg.to_string());
            }
        }
        assert_eq!(
            LZMA::default().config(),
            json!({"id": "lzma", "format": 1, "check": -1, "preset": null, "filters": null})
        );
    }

    #[test]
    fn bad_configs_name_their_key() {
        for (cfg, key) in [
            (json!({"id": "lzma", "format": 4}), "format"),
            (json!({"id": "lzma", "check": 2}), "check"),
            (json!({"id": "lzma", "preset": 10}), "preset"),
            (json!({"id": "lzma", "format": 3}), "filters"),
            (
                json!({"id": "lzma", "filters": [{"id": 33}], "preset": 1}),
                "preset",
            ),
            (json!({"id": "lzma", "filters": [{"id": 99}]}), "filters"),
            (
                json!({"id": "lzma", "filters": [{"id": 33, "colour": 1}]}),
                "colour",
            ),
            (
                json!({"id": "lzma", "filters": [{"id": 3, "dist": 0}]}),
                "dist",
            ),
            (json!({"id": "lzma", "filters": {"id": 33}}), "filters"),
            (json!({"id": "lzma", "level": 1}), "level"),
        ] {
            let e = get_codec(&cfg).unwrap_err();
            assert_eq!(e.kind(), ErrorKind::InvalidConfig, "{cfg}");
            assert!(e.message().contains(key), "{cfg}: {e}");
        }
        // Valid configs that cannot encode, as in Python: FORMAT_AUTO, checks outside xz.
        let d = sample(10);
        for cfg in [
            json!({"id": "lzma", "format": 0}),
            json!({"id": "lzma", "format": 2, "check": 4}),
            json!({"id": "lzma", "format": 2, "filters": [{"id": 33}]}),
        ] {
            let e = codec(cfg.clone()).encode(ArrayRef::bytes(&d)).unwrap_err();
            assert_eq!(e.kind(), ErrorKind::InvalidConfig, "{cfg}");
        }
    }

    fn varied(n: usize) -> Vec<u8> {
        let mut x = 99u32;
        (0..n)
            .map(|i| {
                x = x.wrapping_mul(1_664_525).wrapping_add(1_013_904_223);
                if (i / 512) % 4 == 0 {
                    (x >> 24) as u8
                } else {
                    ((i / 5) % 253) as u8
                }
            })
            .collect()
    }

    fn same_as_serial(c: &LZMA, data: &[u8]) {
        let serial = c.decode_serial(data);
        let parallel = c.decode_parallel(data);
        match (&serial, &parallel) {
            (Ok(a), Ok(b)) => assert!(a == b, "decoded bytes differ"),
            (Err(a), Err(b)) => assert_eq!(a.kind(), b.kind(), "{a} / {b}"),
            _ => panic!("serial {serial:?} / parallel {parallel:?}"),
        }
    }

    #[test]
    fn large_xz_inputs_are_split_into_fixed_blocks() {
        let preset1 = LZMA::new(FORMAT_XZ, -1, Some(1), None).unwrap();
        assert_eq!(preset1.xz_block_size().unwrap(), MIN_XZ_BLOCK);
        assert_eq!(LZMA::default().xz_block_size().unwrap(), 24 << 20);
        let small = preset1.clone().with_min_xz_block(1 << 20);
        assert_eq!(small.xz_block_size().unwrap(), 3 << 20);
        assert_eq!(
            get_codec(&small.config()).unwrap().config(),
            preset1.config()
        );
        let c = LZMA::new(
            FORMAT_XZ,
            1,
            None,
            Some(json!([{"id": 3, "dist": 2}, {"id": 33, "preset": 1, "dict_size": 1 << 16}])),
        )
        .unwrap()
        .with_min_xz_block(1 << 20);
        let block = c.xz_block_size().unwrap() as usize;
        assert_eq!(block, 1 << 20);
        for n in [block - 1, block, block + 1, 2 * block + 5] {
            let d = varied(n);
            let enc = c.encode(ArrayRef::bytes(&d)).unwrap();
            let single = run_encoder(c.encoder().unwrap(), &d).unwrap();
            if n <= block {
                assert!(enc.bytes() == &single[..], "{n} bytes: single block");
            } else {
                assert!(enc.bytes() != &single[..]);
                for threads in [1, 2, 3] {
                    let again = c.encode_mt(&d, threads).unwrap();
                    assert!(again == enc.bytes(), "{n} bytes, {threads} threads");
                }
            }
            assert_eq!(c.decode_serial(enc.bytes()).unwrap(), d);
            assert_eq!(c.decode_parallel(enc.bytes()).unwrap(), d);
            let mut out = vec![0u8; n];
            c.decode_into(enc.bytes(), ArrayMut::bytes(&mut out))
                .unwrap();
            assert!(out == d);
        }
    }

    /// `c` encoding `d` on a pool of its own with `threads` threads (as `encode` does on ndpack's).
    fn raw_encode_with_threads(c: &LZMA, d: &[u8], threads: usize) -> Vec<u8> {
        let (plan, piece) = c.raw_pieces(d.len()).unwrap().expect("split");
        rayon::ThreadPoolBuilder::new()
            .num_threads(threads)
            .build()
            .unwrap()
            .install(|| raw::encode(d, piece, plan))
            .unwrap()
    }

    fn raw_codec(filters: Value) -> LZMA {
        LZMA::new(FORMAT_RAW, -1, None, Some(filters))
            .unwrap()
            .with_min_xz_block(1 << 20)
    }

    /// Encodes `d` with `c`, checks the stream against the serial encoder and decoder, and
    /// returns it.
    fn check_raw_pieces(c: &LZMA, d: &[u8], delta: bool) -> Vec<u8> {
        let cfg = c.config();
        let piece = c.xz_block_size().unwrap() as usize;
        let enc = c.encode(ArrayRef::bytes(d)).unwrap().bytes().to_vec();
        let serial = |x: &[u8]| run_encoder(c.encoder().unwrap(), x).unwrap();
        assert!(
            c.decode_serial(&enc).unwrap() == d,
            "{cfg}: {} bytes",
            d.len()
        );
        let mut out = vec![0u8; d.len()];
        c.decode_into(&enc, ArrayMut::bytes(&mut out)).unwrap();
        assert!(out == d, "{cfg}: {} bytes", d.len());
        if d.len() <= piece {
            assert!(
                enc == serial(d),
                "{cfg}: {} bytes, the serial encoder's stream",
                d.len()
            );
            assert!(c.raw_pieces(d.len()).unwrap().is_none());
            return enc;
        }
        // The first piece is what the serial encoder writes for it alone, less the end byte;
        // without delta, so is every piece.
        let first = serial(&d[..piece]);
        assert!(enc.starts_with(&first[..first.len() - 1]), "{cfg}");
        if !delta {
            let mut joined = Vec::new();
            for p in d.chunks(piece) {
                let s = serial(p);
                joined.extend_from_slice(&s[..s.len() - 1]);
            }
            joined.push(0);
            assert!(enc == joined, "{cfg}: {} bytes", d.len());
        }
        assert_eq!(enc.last(), Some(&0));
        for threads in [1, 3] {
            let again = raw_encode_with_threads(c, d, threads);
            assert!(again == enc, "{cfg}: {} bytes, {threads} threads", d.len());
        }
        // Decoded part by part in parallel.
        let (plan, _) = c.raw_pieces(d.len()).unwrap().unwrap();
        let (dec, used) = raw::decode(&enc, plan, d.len(), raw::MIN_PART).expect("parallel");
        assert_eq!(used, enc.len());
        assert!(dec == d, "{cfg}: {} bytes", d.len());
        assert!(
            c.decode_parallel(&enc).unwrap() == d,
            "{cfg}: {} bytes",
            d.len()
        );
        enc
    }

    #[test]
    fn parallel_raw_decoding_equals_serial_on_valid_and_damaged_input() {
        for filters in [
            json!([{"id": 3, "dist": 3}, {"id": 33, "preset": 0, "dict_size": 1 << 16}]),
            json!([{"id": 33, "preset": 0, "dict_size": 1 << 16}]),
        ] {
            let c = raw_codec(filters);
            let one = c
                .encode(ArrayRef::bytes(&varied((3 << 20) + 99)))
                .unwrap()
                .bytes()
                .to_vec();
            let mut two = one.clone();
            two.extend_from_slice(&one);
            let mut junk = two.clone();
            junk.extend_from_slice(b"trailing junk");
            for enc in [&one, &two, &junk] {
                same_as_serial(&c, enc);
            }
            for cut in [0, 1, 5, 6, 40, one.len() / 3, one.len() / 2, one.len() - 1] {
                same_as_serial(&c, &one[..cut]);
                same_as_serial(&c, &two[..one.len() + cut]);
            }
            for at in (0..one.len())
                .step_by(one.len() / 37)
                .chain([one.len() - 1])
            {
                for bit in [0x01, 0x10, 0x80] {
                    let mut bad = one.clone();
                    bad[at] ^= bit;
                    same_as_serial(&c, &bad);
                }
            }
        }
    }

    #[test]
    fn raw_lzma2_inputs_are_encoded_in_pieces_around_piece_boundaries() {
        let piece = 1usize << 20;
        let configs = [
            (
                json!([{"id": 3, "dist": 4}, {"id": 33, "preset": 0, "dict_size": 1 << 16}]),
                true,
            ),
            (
                json!([{"id": 33, "preset": 0, "dict_size": 1 << 16}]),
                false,
            ),
            (
                json!([{"id": 33, "preset": 1, "dict_size": 1 << 16, "lc": 1, "lp": 2, "pb": 3,
                        "mode": 2, "nice_len": 16, "mf": 19, "depth": 4}]),
                false,
            ),
        ];
        for (filters, delta) in configs {
            let c = raw_codec(filters);
            assert_eq!(c.xz_block_size().unwrap(), piece as u64);
            for n in [0, 1, piece - 1, piece, piece + 1, 3 * piece + 7] {
                check_raw_pieces(&c, &varied(n), delta);
            }
        }
    }

    #[test]
    fn raw_delta_pieces_for_every_distance_and_lzma2_options() {
        let piece = 1usize << 20;
        let d = varied(piece + 4099);
        for dist in (1..=8).chain([13, 256]) {
            let c = raw_codec(json!([{"id": 3, "dist": dist}, {"id": 33, "preset": 0}]));
            assert_eq!(c.xz_block_size().unwrap(), piece as u64);
            check_raw_pieces(&c, &d, true);
        }
        for opts in [
            json!({"id": 33, "preset": 1, "dict_size": 1 << 16, "lc": 0, "lp": 0, "pb": 0}),
            json!({"id": 33, "preset": 0, "mode": 1, "mf": 3, "nice_len": 8, "depth": 0}),
            json!({"id": 33, "preset": 0, "mode": 2, "mf": 18, "nice_len": 273}),
            json!({"id": 33, "preset": 2 | PRESET_EXTREME, "dict_size": 1 << 18}),
        ] {
            let c = raw_codec(json!([opts.clone()]));
            assert_eq!(c.xz_block_size().unwrap(), piece as u64);
            check_raw_pieces(&c, &d, false);
            let c = raw_codec(json!([{"id": 3, "dist": 2}, opts]));
            check_raw_pieces(&c, &d, true);
        }
        // The piece size follows the dictionary, as xz blocks do.
        let c =
            raw_codec(json!([{"id": 3, "dist": 2}, {"id": 33, "preset": 0, "dict_size": 1 << 19}]));
        assert_eq!(c.xz_block_size().unwrap(), 3 << 19);
        check_raw_pieces(&c, &varied((3 << 19) + 1), true);
        // The default 8 MiB floor.
        let c = LZMA::new(
            FORMAT_RAW,
            -1,
            None,
            Some(json!([{"id": 3, "dist": 8}, {"id": 33, "preset": 1}])),
        )
        .unwrap();
        assert_eq!(c.xz_block_size().unwrap(), MIN_XZ_BLOCK);
        assert!(c.raw_pieces(8 << 20).unwrap().is_none());
        assert!(c.raw_pieces((8 << 20) + 1).unwrap().is_some());
    }

    #[test]
    fn other_raw_chains_stay_serial() {
        let d = varied((1 << 20) + 1);
        for filters in [
            json!([{"id": FILTER_LZMA1, "preset": 0}]),
            json!([{"id": 3, "dist": 4}, {"id": FILTER_LZMA1, "preset": 0}]),
            json!([{"id": 4}, {"id": 33, "preset": 0}]),
            json!([{"id": 3, "dist": 1}, {"id": 3, "dist": 4}, {"id": 33, "preset": 0}]),
        ] {
            let c = raw_codec(filters.clone());
            assert!(c.raw_pieces(d.len()).unwrap().is_none(), "{filters}");
            let enc = c.encode(ArrayRef::bytes(&d)).unwrap();
            assert!(enc.bytes() == &run_encoder(c.encoder().unwrap(), &d).unwrap()[..]);
            assert!(c.decode_serial(enc.bytes()).unwrap() == d);
        }
    }

    #[test]
    fn parallel_xz_decoding_equals_serial_on_valid_and_damaged_input() {
        let c = LZMA::new(
            FORMAT_XZ,
            -1,
            None,
            Some(json!([{"id": 33, "preset": 0, "dict_size": 1 << 16}])),
        )
        .unwrap()
        .with_min_xz_block(1 << 20);
        let d = varied(3 << 20);
        let one = c.encode(ArrayRef::bytes(&d)).unwrap().bytes().to_vec();
        let mut two = one.clone();
        two.extend_from_slice(&one);
        let mut junk = two.clone();
        junk.extend_from_slice(b"trailing junk, ignored");
        for enc in [&one, &two, &junk] {
            same_as_serial(&c, enc);
        }
        for cut in [
            0,
            5,
            12,
            40,
            one.len() / 3,
            one.len() / 2,
            one.len() - 13,
            one.len() - 1,
        ] {
            same_as_serial(&c, &one[..cut]);
            same_as_serial(&c, &two[..one.len() + cut]);
        }
        // Found by the lzma_parallel fuzz target: a bit flip, then a cut, where the
        // multithreaded decoder saw truncated data and the serial one corrupt data.
        let seed = 0xfbu8;
        let input: Vec<u8> = (0..(1 << 20) + 0xf1 * 8000)
            .map(|i| seed.wrapping_add(i as u8))
            .collect();
        let mut enc = c.encode(ArrayRef::bytes(&input)).unwrap().bytes().to_vec();
        let len = enc.len();
        let v = usize::from(u16::from_le_bytes([0xf1, 0xf1]));
        enc[v * 97 % len] ^= 1 << (v % 8);
        let v = usize::from(u16::from_le_bytes([0x26, 0x0a]));
        enc.truncate(len - v % 64);
        same_as_serial(&c, &enc);
        for at in (0..one.len())
            .step_by(one.len() / 29)
            .chain([one.len() - 2])
        {
            let mut bad = one.clone();
            bad[at] ^= 0x04;
            same_as_serial(&c, &bad);
        }
    }

    #[test]
    fn bad_input_is_an_error() {
        let c = LZMA::default();
        let d = sample(200_000);
        let enc = c.encode(ArrayRef::bytes(&d)).unwrap();
        let enc = enc.bytes();
        assert_eq!(
            c.decode(ArrayRef::bytes(b"")).unwrap_err().kind(),
            ErrorKind::Truncated
        );
        for cut in [3, 20, enc.len() / 2, enc.len() - 1] {
            let e = c.decode(ArrayRef::bytes(&enc[..cut])).unwrap_err();
            assert_eq!(e.kind(), ErrorKind::Truncated, "cut {cut}: {e}");
        }
        let e = c.decode(ArrayRef::bytes(b"not an xz stream")).unwrap_err();
        assert_eq!(e.kind(), ErrorKind::Corrupt);
        assert_out_size_checked(&c, enc, d.len());
        // A .lzma header declaring a 4 GiB dictionary is refused by the memory limit.
        let mut alone = vec![93u8, 0xff, 0xff, 0xff, 0xff];
        alone.extend_from_slice(&[0xff; 8]);
        alone.extend_from_slice(&[0; 8]);
        let e = codec(json!({"id": "lzma", "format": 2}))
            .decode(ArrayRef::bytes(&alone))
            .unwrap_err();
        assert_eq!(e.kind(), ErrorKind::TooLarge, "{e}");
    }
}
