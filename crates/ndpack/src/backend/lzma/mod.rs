//! xz, .lzma ("alone") and raw LZMA streams through liblzma: filter chains, encoders (serial,
//! and liblzma's multithreaded xz encoder), and decoding as Python's `lzma.decompress` does it
//! (concatenated streams, trailing non-stream data ignored) with the serial or multithreaded xz
//! decoder, or part by part in parallel for raw LZMA2 streams with several dictionary resets
//! ([`raw`]). Decoders are limited to [`MEMLIMIT`] bytes of memory.

pub(crate) mod raw;

use liblzma::stream::{
    Action, Check, Filters, LzmaOptions, MatchFinder, Mode, MtStreamBuilder, Status, Stream,
};

use super::check_out_len;
use super::stream::{self, StepResult, StreamStep};
use crate::error::{Error, ErrorKind, Result};
use crate::threads;

/// The most memory a decoder may use (dictionaries are allocated from sizes in the input): 2 GiB,
/// enough for every dictionary size xz and Python can write.
pub const MEMLIMIT: u64 = 1 << 31;

/// The multithreaded xz decoder gives each thread a buffer of the decoded size that a block header
/// declares. It may use at most this much memory for that (it decodes with fewer threads, or
/// serially, rather than more), or 32 times the input when that is more: an input cannot make it
/// reserve memory far beyond what the input justifies.
const MT_DECODER_MEMORY: u64 = 64 << 20;

/// Below this many compressed bytes, xz streams are decoded serially.
const MT_DECODER_MIN_INPUT: usize = 64 << 10;

/// One filter of a chain, as a filter specifier gives it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum FilterSpec {
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

/// A config error of the `lzma` codec.
pub(crate) fn cfg_err(msg: impl std::fmt::Display) -> Error {
    Error::invalid_config(format!("codec lzma: {msg}"))
}

/// liblzma's LZMA1/LZMA2 options for an LZMA filter `spec`.
pub(crate) fn lzma_options(spec: &FilterSpec) -> Result<LzmaOptions> {
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

/// liblzma's filter chain for `specs`.
pub(crate) fn build_filters(specs: &[FilterSpec]) -> Result<Filters> {
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

/// The error for a liblzma error.
pub(crate) fn lzma_error(e: liblzma::stream::Error) -> Error {
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

/// The container around the LZMA data (Python's `lzma.FORMAT_*`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Container {
    /// .xz or .lzma, whichever the data is (decoding only).
    Auto,
    /// .xz: a stream of blocks with headers, an index and integrity checks.
    Xz,
    /// The legacy .lzma format.
    Alone,
    /// No container: the filter chain is known from elsewhere.
    Raw,
}

/// What decoding needs to know: the container and, for raw data, the filter chain.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Decoder<'a> {
    /// The container.
    pub container: Container,
    /// The filter chain (required for [`Container::Raw`]).
    pub chain: Option<&'a [FilterSpec]>,
}

/// Encodes `data` to one xz stream split into blocks of `block_size` bytes by liblzma's
/// multithreaded encoder with `threads` threads, with the chain `filters` (or, when `None`, the
/// LZMA2 of `preset`) and integrity check `check`.
pub(crate) fn encode_xz_mt(
    data: &[u8],
    filters: Option<Filters>,
    preset: u32,
    check: Check,
    block_size: u64,
    threads: u32,
) -> Result<Vec<u8>> {
    let mut b = MtStreamBuilder::new();
    b.threads(threads)
        .block_size(block_size)
        .timeout_ms(0)
        .check(check);
    match filters {
        Some(f) => b.filters(f),
        None => b.preset(preset),
    };
    let s = b
        .encoder()
        .map_err(|e| cfg_err(format!("cannot create encoder: {e}")))?;
    run_encoder(s, data)
}

impl Decoder<'_> {
    /// The decoder for one stream of `input_len` compressed bytes.
    fn decoder_for(&self, input_len: usize, mode: DecodeMode) -> Result<Stream> {
        let threads = threads::get_num_threads();
        let mt = match mode {
            DecodeMode::Auto => threads > 1 && input_len >= MT_DECODER_MIN_INPUT,
            DecodeMode::Serial => false,
            DecodeMode::Parallel => true,
        };
        if self.container == Container::Xz && mt {
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
        match self.container {
            Container::Xz => Stream::new_stream_decoder(MEMLIMIT, 0),
            Container::Alone => Stream::new_lzma_decoder(MEMLIMIT),
            Container::Raw => Stream::new_raw_decoder(&build_filters(
                self.chain.expect("a raw decoder has a filter chain"),
            )?),
            Container::Auto => Stream::new_auto_decoder(MEMLIMIT, 0),
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
        if self.container != Container::Raw {
            return None;
        }
        let plan = self.chain.and_then(raw::plan)?;
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
        stream::decode_to_vec(&mut s, data, out, limit, "lzma", truncated)
    }

    /// Decodes one stream from the start of `data` into the start of `out` (errors as
    /// [`Decoder::decode_stream_vec`], the serial decoder's).
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
        stream::decode_to_slice(&mut s, data, out, truncated)
    }

    /// `lzma.decompress`: concatenated streams, trailing non-stream data ignored, at most `limit`
    /// bytes, with the xz decoder `mode` says.
    pub(crate) fn decode(&self, data: &[u8], limit: usize, mode: DecodeMode) -> Result<Vec<u8>> {
        let mut out = Vec::new();
        stream::concatenated(data, 0, true, |rest| {
            let before = out.len();
            self.decode_stream_vec(rest, &mut out, limit, mode)
                .inspect_err(|_| out.truncate(before))
        })?;
        Ok(out)
    }

    /// `lzma.decompress` into exactly `out.len()` bytes.
    pub(crate) fn decode_into(&self, input: &[u8], out: &mut [u8]) -> Result<()> {
        let mut written = 0;
        stream::concatenated(input, 0, true, |rest| {
            let (used, n) = self.decode_stream_slice(rest, &mut out[written..])?;
            written += n;
            Ok(used)
        })?;
        check_out_len(out.len(), written)
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
pub(crate) enum DecodeMode {
    /// The multithreaded one for large enough inputs when ndpack has more than one thread.
    Auto,
    /// The single-threaded one.
    Serial,
    /// The multithreaded one whatever the input size and thread count (the tests and the fuzz
    /// targets compare it with the serial one).
    #[cfg_attr(not(any(test, fuzzing)), allow(dead_code))]
    Parallel,
}

/// Runs encoder `s` over all of `data`.
pub(crate) fn run_encoder(mut s: Stream, data: &[u8]) -> Result<Vec<u8>> {
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
