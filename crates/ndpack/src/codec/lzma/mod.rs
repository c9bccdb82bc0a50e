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
//! `FORMAT_XZ` in parallel: inputs larger than one xz block ([`Lzma::xz_block_size`], fixed by
//! the filter chain: liblzma's default, 3 times the dictionary and at least 1 MiB) are encoded by
//! liblzma's multithreaded encoder into independent blocks of that size whose headers record their
//! sizes; the bytes do not depend on the thread count, and inputs up to one block give the
//! single-block stream that Python's `lzma` writes. Such streams (from any producer, `xz -T`
//! included) are decoded in parallel by liblzma's multithreaded decoder. liblzma runs these threads
//! itself; their number is ndpack's thread count ([`crate::threads`]).
//!
//! `FORMAT_RAW` in parallel: for the chains `[lzma2]` and `[delta, lzma2]`, inputs larger than
//! [`Lzma::xz_block_size`] (the same size, from the same chain) are split into pieces of that size
//! whose raw LZMA2 streams, each starting with a dictionary reset, are written in parallel on
//! ndpack's pool and joined into one raw stream (the delta filter is applied over the whole input
//! first; see `backend::lzma::raw`). The bytes do not depend on the thread count, inputs up to
//! one piece give the stream that Python's `lzma` writes, and every raw LZMA2 decoder reads the
//! result with the declared chain. Other raw chains (LZMA1, BCJ filters) and `FORMAT_ALONE` stay serial. Raw
//! streams of these chains with several dictionary resets (ndpack's, for one) are decoded in
//! parallel: the chunk headers give each part's place, each part is decoded on its own, the delta
//! is undone per part then corrected lane by lane; anything unexpected falls back to the serial
//! decoder (its output and its errors).

use liblzma::stream::{Check, Filters, LzmaOptions, Stream};
use serde_json::{json, Map, Value};

use super::{ArrayMut, ArrayRef, Codec, ConfigReader, NDBuffer, MAX_DECODED_SIZE};
use crate::backend::lzma::raw;
use crate::backend::lzma::{
    build_filters, cfg_err, encode_xz_mt, lzma_error, lzma_options, run_encoder, Container,
    DecodeMode, Decoder, FilterSpec,
};
use crate::error::Result;
use crate::threads;

mod config;
#[cfg(test)]
mod tests;

use self::config::{check_preset, parse_filter};
pub use self::config::{
    FILTER_DELTA, FILTER_LZMA1, FILTER_LZMA2, FORMAT_ALONE, FORMAT_AUTO, FORMAT_RAW, FORMAT_XZ,
    PRESET_EXTREME,
};
pub use crate::backend::lzma::MEMLIMIT;

/// The smallest block that `FORMAT_XZ` inputs are split into: each block starts with an empty
/// dictionary, which costs 0.3% per block on the benchmark's int64 ramp; 8 MiB keeps the cost
/// within 0.5% on 16 MB arrays while giving two threads a block each.
pub const MIN_XZ_BLOCK: u64 = 8 << 20;

/// The numcodecs `lzma` codec.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Lzma {
    format: i64,
    check: i64,
    preset: Option<i64>,
    filters: Option<Value>,
    parsed: Option<Vec<FilterSpec>>,
    /// The smallest xz block when splitting (not part of the config).
    min_xz_block: u64,
}

impl Default for Lzma {
    fn default() -> Self {
        Lzma {
            format: FORMAT_XZ,
            check: -1,
            preset: None,
            filters: None,
            parsed: None,
            min_xz_block: MIN_XZ_BLOCK,
        }
    }
}

impl Lzma {
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
        Ok(Lzma {
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
    /// than [`Lzma::xz_block_size`]: how to split it and the piece size. `None` when the input is
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
    #[cfg(any(test, fuzzing))]
    pub fn with_min_xz_block(mut self, bytes: u64) -> Self {
        self.min_xz_block = bytes.max(64 << 10);
        self
    }

    /// What the decoders need to know of this codec.
    fn decoder(&self) -> Decoder<'_> {
        let container = match self.format {
            FORMAT_XZ => Container::Xz,
            FORMAT_ALONE => Container::Alone,
            FORMAT_RAW => Container::Raw,
            _ => Container::Auto,
        };
        Decoder {
            container,
            chain: self.parsed.as_deref(),
        }
    }

    /// Encodes to one `FORMAT_XZ` stream split into blocks of [`Lzma::xz_block_size`], with
    /// `threads` threads.
    fn encode_mt(&self, data: &[u8], threads: u32) -> Result<Vec<u8>> {
        let block_size = self.xz_block_size()?;
        let filters = match &self.parsed {
            Some(_) => Some(self.xz_filters()?),
            None => None,
        };
        let preset = self.preset.unwrap_or(6) as u32;
        encode_xz_mt(data, filters, preset, self.xz_check(), block_size, threads)
    }

    /// Decodes as `decode` does, with liblzma's single-threaded decoder: the reference that the
    /// multithreaded xz decoder and the parallel raw decoder are tested (and fuzzed) against.
    #[cfg(any(test, fuzzing))]
    pub fn decode_serial(&self, data: &[u8]) -> Result<Vec<u8>> {
        self.decoder()
            .decode(data, MAX_DECODED_SIZE, DecodeMode::Serial)
    }

    /// Decodes as `decode` does, with liblzma's multithreaded decoder for `FORMAT_XZ` (and part
    /// by part in parallel for `FORMAT_RAW` streams with several dictionary resets) whatever the
    /// input size and thread count; gives what [`Lzma::decode_serial`] gives.
    #[cfg(any(test, fuzzing))]
    pub fn decode_parallel(&self, data: &[u8]) -> Result<Vec<u8>> {
        self.decoder()
            .decode(data, MAX_DECODED_SIZE, DecodeMode::Parallel)
    }
}

impl Codec for Lzma {
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
        let out = self
            .decoder()
            .decode(input.data, MAX_DECODED_SIZE, DecodeMode::Auto)?;
        Ok(NDBuffer::from_bytes(out))
    }

    fn decode_into(&self, input: &[u8], out: ArrayMut<'_>) -> Result<()> {
        self.decoder().decode_into(input, out.data)
    }
}
