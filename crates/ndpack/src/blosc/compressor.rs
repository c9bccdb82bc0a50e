//! The compressors Blosc runs on each stream of a block: names and codes, and one call to compress
//! or decompress a stream with BloscLZ, LZ4, LZ4HC, Zlib, Zstd or (decode only) Snappy.
//!
//! LZ4 and Zstd come with the `lz4` and `zstd` cargo features; without one, its streams are an
//! [`ErrorKind::Unsupported`] error to write or read ([`Compressor::check_available`]).

use std::fmt;
use std::str::FromStr;

use flate2::{Compress, Compression, Decompress, FlushCompress, FlushDecompress, Status};

use super::blosclz;
use crate::backend::deflate::zlib_rs_level;
use crate::error::{Error, ErrorKind, Result};

/// A compressor of the Blosc family.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Compressor {
    /// BloscLZ, Blosc's own LZ77 codec.
    BloscLz,
    /// LZ4 (fast mode, acceleration `10 - clevel` as c-blosc uses).
    Lz4,
    /// LZ4 high compression (level `clevel`); decoded as plain LZ4.
    Lz4hc,
    /// Snappy: decoded for old Blosc1 data, never written.
    Snappy,
    /// Zlib (RFC 1950 streams).
    Zlib,
    /// Zstandard (one frame per stream).
    Zstd,
}

impl Compressor {
    /// Every compressor, in c-blosc's code order.
    pub const ALL: [Compressor; 6] = [
        Compressor::BloscLz,
        Compressor::Lz4,
        Compressor::Lz4hc,
        Compressor::Snappy,
        Compressor::Zlib,
        Compressor::Zstd,
    ];

    /// The compressor name as c-blosc and numcodecs spell it (`"lz4hc"`).
    pub fn name(self) -> &'static str {
        match self {
            Compressor::BloscLz => "blosclz",
            Compressor::Lz4 => "lz4",
            Compressor::Lz4hc => "lz4hc",
            Compressor::Snappy => "snappy",
            Compressor::Zlib => "zlib",
            Compressor::Zstd => "zstd",
        }
    }

    /// The API code (`BLOSC_BLOSCLZ` 0, `BLOSC_LZ4` 1, `BLOSC_LZ4HC` 2, `BLOSC_SNAPPY` 3,
    /// `BLOSC_ZLIB` 4, `BLOSC_ZSTD` 5), also python-blosc2's `Codec` values and byte 0x16 of a
    /// Blosc2 header.
    pub fn code(self) -> u8 {
        match self {
            Compressor::BloscLz => 0,
            Compressor::Lz4 => 1,
            Compressor::Lz4hc => 2,
            Compressor::Snappy => 3,
            Compressor::Zlib => 4,
            Compressor::Zstd => 5,
        }
    }

    /// The compressor with API code `code`.
    pub fn from_code(code: u8) -> Result<Self> {
        Compressor::ALL
            .into_iter()
            .find(|c| c.code() == code)
            .ok_or_else(|| {
                Error::new(
                    ErrorKind::Unsupported,
                    format!("Blosc codec code {code} is not supported"),
                )
            })
    }

    /// The format code stored in bits 5-7 of the header flags (lz4 and lz4hc share 1).
    pub fn format_code(self) -> u8 {
        match self {
            Compressor::BloscLz => 0,
            Compressor::Lz4 | Compressor::Lz4hc => 1,
            Compressor::Snappy => 2,
            Compressor::Zlib => 3,
            Compressor::Zstd => 4,
        }
    }

    /// The compressor that decodes streams of header format code `code`.
    pub fn from_format_code(code: u8) -> Result<Self> {
        match code {
            0 => Ok(Compressor::BloscLz),
            1 => Ok(Compressor::Lz4),
            2 => Ok(Compressor::Snappy),
            3 => Ok(Compressor::Zlib),
            4 => Ok(Compressor::Zstd),
            _ => Err(Error::new(
                ErrorKind::Unsupported,
                format!("Blosc compressor format {code} is not supported"),
            )),
        }
    }

    /// The library name c-blosc's `blosc_cbuffer_complib` reports for a format code.
    pub fn library_name(self) -> &'static str {
        match self {
            Compressor::BloscLz => "BloscLZ",
            Compressor::Lz4 | Compressor::Lz4hc => "LZ4",
            Compressor::Snappy => "Snappy",
            Compressor::Zlib => "Zlib",
            Compressor::Zstd => "Zstd",
        }
    }

    /// Whether ndpack can write streams of this compressor (every one but Snappy).
    pub fn can_encode(self) -> bool {
        self != Compressor::Snappy
    }

    /// The cargo feature that brings this compressor's back end, for those that are optional.
    pub fn feature(self) -> Option<&'static str> {
        match self {
            Compressor::Lz4 | Compressor::Lz4hc => Some("lz4"),
            Compressor::Zstd => Some("zstd"),
            _ => None,
        }
    }

    /// Whether this build of ndpack has the compressor's back end (see [`Compressor::feature`]).
    pub fn is_available(self) -> bool {
        let (lz4, zstd) = (cfg!(feature = "lz4"), cfg!(feature = "zstd"));
        match self {
            Compressor::Lz4 | Compressor::Lz4hc => lz4,
            Compressor::Zstd => zstd,
            _ => true,
        }
    }

    /// Checks that this build has the compressor's back end: an [`ErrorKind::Unsupported`]
    /// error naming the cargo feature otherwise.
    pub fn check_available(self) -> Result<()> {
        match self.feature() {
            Some(feature) if !self.is_available() => Err(unavailable(self, feature)),
            _ => Ok(()),
        }
    }

    /// c-blosc's "high compression ratio" codecs, which get bigger automatic blocks.
    pub(crate) fn is_hcr(self) -> bool {
        matches!(
            self,
            Compressor::Lz4hc | Compressor::Zlib | Compressor::Zstd
        )
    }
}

impl fmt::Display for Compressor {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl FromStr for Compressor {
    type Err = Error;

    fn from_str(s: &str) -> Result<Self> {
        let lower = s.to_ascii_lowercase();
        Compressor::ALL
            .into_iter()
            .find(|c| c.name() == lower)
            .ok_or_else(|| {
                Error::invalid_argument(format!(
                    "unknown Blosc compressor {s:?} (expected one of blosclz, lz4, lz4hc, zlib, zstd)"
                ))
            })
    }
}

/// The [`ErrorKind::Unsupported`] error for `comp`, whose cargo `feature` this build left out.
fn unavailable(comp: Compressor, feature: &str) -> Error {
    Error::new(
        ErrorKind::Unsupported,
        format!(
            "Blosc compressor {comp} is not available: ndpack was built without the cargo \
             feature {feature:?}"
        ),
    )
}

/// The compressors ndpack writes, as numcodecs' `list_compressors()` gives them (those this
/// build has).
pub fn list_compressors() -> Vec<&'static str> {
    Compressor::ALL
        .into_iter()
        .filter(|c| c.can_encode() && c.is_available())
        .map(Compressor::name)
        .collect()
}

/// Compresses one stream of `src` into `dst`, returning the compressed size, or 0 when the result
/// does not fit in `dst` (the caller then stores the stream raw). `clevel` is 1-9; `blosc1`
/// picks c-blosc 1.x's BloscLZ heuristics (Blosc1 chunks) over c-blosc2's, which also look at
/// whether the chunk's blocks are `split` into streams.
pub(crate) fn compress_stream(
    comp: Compressor,
    clevel: u8,
    blosc1: bool,
    split: bool,
    src: &[u8],
    dst: &mut [u8],
) -> usize {
    if src.is_empty() || dst.is_empty() {
        return 0;
    }
    match comp {
        Compressor::BloscLz if blosc1 => blosclz::compress_blosc1(clevel, src, dst, split),
        Compressor::BloscLz => blosclz::compress(clevel, src, dst),
        Compressor::Lz4 => lz4_streams::compress(false, clevel, src, dst),
        Compressor::Lz4hc => lz4_streams::compress(true, clevel, src, dst),
        Compressor::Zlib => {
            let level = zlib_rs_level(i32::from(clevel));
            let mut c = Compress::new(Compression::new(level), true);
            match c.compress(src, dst, FlushCompress::Finish) {
                Ok(Status::StreamEnd) => c.total_out() as usize,
                _ => 0,
            }
        }
        Compressor::Zstd => zstd_streams::compress(clevel, src, dst),
        Compressor::Snappy => 0,
    }
}

/// The largest output a stream of `csize` bytes can legitimately decode to, so that a hostile
/// header cannot make the decoder allocate or work far beyond what the input justifies.
pub(crate) fn max_expansion(comp: Compressor, csize: usize) -> usize {
    match comp {
        // One extension byte adds at most 255 to a match length.
        Compressor::BloscLz | Compressor::Lz4 | Compressor::Lz4hc => csize * 256 + 64,
        // deflate's best ratio is about 1032:1.
        Compressor::Zlib => csize * 1100 + 64,
        // zstd's RLE blocks: 3 header bytes + 1 byte per 128 KiB block.
        Compressor::Zstd => csize.saturating_mul(1 << 15) + 64,
        Compressor::Snappy => csize * 64 + 64,
    }
}

/// Decompresses one stream into exactly `dst.len()` bytes.
pub(crate) fn decompress_stream(comp: Compressor, src: &[u8], dst: &mut [u8]) -> Result<()> {
    let want = dst.len();
    let got = match comp {
        Compressor::BloscLz => blosclz::decompress(src, dst)?,
        Compressor::Lz4 | Compressor::Lz4hc => lz4_streams::decompress(src, dst)?,
        Compressor::Zlib => {
            let mut d = Decompress::new(true);
            match d.decompress(src, dst, FlushDecompress::Finish) {
                Ok(Status::StreamEnd) => d.total_out() as usize,
                Ok(_) => {
                    return Err(Error::corrupt(
                        "zlib stream in Blosc chunk does not end where the block does",
                    ))
                }
                Err(e) => {
                    return Err(Error::corrupt(format!(
                        "corrupt zlib stream in Blosc chunk: {e}"
                    )))
                }
            }
        }
        Compressor::Zstd => zstd_streams::decompress(src, dst)?,
        Compressor::Snappy => {
            let n = snap::raw::decompress_len(src)
                .map_err(|e| Error::corrupt(format!("corrupt snappy stream: {e}")))?;
            if n != want {
                return Err(Error::corrupt(format!(
                    "snappy stream declares {n} bytes, the block needs {want}"
                )));
            }
            snap::raw::Decoder::new()
                .decompress(src, dst)
                .map_err(|e| Error::corrupt(format!("corrupt snappy stream: {e}")))?
        }
    };
    if got != want {
        return Err(Error::corrupt(format!(
            "{} stream decoded to {got} bytes, the block needs {want}",
            comp.name()
        )));
    }
    Ok(())
}

/// LZ4 and LZ4HC streams, through liblz4.
#[cfg(feature = "lz4")]
mod lz4_streams {
    use lz4::block::CompressionMode;

    use crate::error::{Error, Result};

    /// Compresses `src` into `dst` with LZ4 (acceleration `10 - clevel` as c-blosc uses) or,
    /// with `hc`, LZ4HC at level `clevel`; 0 when the result does not fit.
    pub(super) fn compress(hc: bool, clevel: u8, src: &[u8], dst: &mut [u8]) -> usize {
        let mode = if hc {
            CompressionMode::HIGHCOMPRESSION(i32::from(clevel))
        } else {
            CompressionMode::FAST(10 - i32::from(clevel.min(9)))
        };
        lz4::block::compress_to_buffer(src, Some(mode), false, dst).unwrap_or(0)
    }

    /// Decompresses an LZ4 or LZ4HC stream into `dst`, returning the decoded size.
    pub(super) fn decompress(src: &[u8], dst: &mut [u8]) -> Result<usize> {
        let n =
            i32::try_from(dst.len()).map_err(|_| Error::corrupt("LZ4 stream larger than 2 GiB"))?;
        lz4::block::decompress_to_buffer(src, Some(n), dst)
            .map_err(|e| Error::corrupt(format!("corrupt LZ4 stream in Blosc chunk: {e}")))
    }
}

/// Without the `lz4` feature: LZ4 streams are never written and an error to read.
#[cfg(not(feature = "lz4"))]
mod lz4_streams {
    use super::{unavailable, Compressor};
    use crate::error::Result;

    /// 0: nothing written (the encoders check [`Compressor::check_available`] first).
    pub(super) fn compress(_hc: bool, _clevel: u8, _src: &[u8], _dst: &mut [u8]) -> usize {
        0
    }

    /// The [`Compressor::check_available`] error.
    pub(super) fn decompress(_src: &[u8], _dst: &mut [u8]) -> Result<usize> {
        Err(unavailable(Compressor::Lz4, "lz4"))
    }
}

/// Zstd streams (one frame each), through the zstd back end's context cache.
#[cfg(feature = "zstd")]
mod zstd_streams {
    use ::zstd::zstd_safe;

    use crate::backend::zstd;
    use crate::error::{Error, Result};

    /// c-blosc's zstd level for a Blosc clevel: `2·clevel − 1`, and zstd's maximum for 9.
    fn zstd_level(clevel: u8) -> i32 {
        if clevel >= 9 {
            zstd_safe::max_c_level()
        } else {
            2 * i32::from(clevel) - 1
        }
    }

    /// Compresses `src` into `dst` at Blosc level `clevel`; 0 when the result does not fit.
    pub(super) fn compress(clevel: u8, src: &[u8], dst: &mut [u8]) -> usize {
        // libzstd 1.5.7's pre-splitting of blocks is off, as for the zstd codec: c-blosc's zstd
        // (1.5.6) bytes, where pre-splitting made Blosc chunks of smooth data up to 1.4x larger.
        zstd::compress_frame(zstd_level(clevel), src, dst).unwrap_or(0)
    }

    /// Decompresses a zstd frame into `dst`, returning the decoded size.
    pub(super) fn decompress(src: &[u8], dst: &mut [u8]) -> Result<usize> {
        let want = dst.len();
        match zstd_safe::get_frame_content_size(src) {
            Ok(Some(n)) if n as usize == want => {}
            Ok(None) => {}
            Ok(Some(n)) => {
                return Err(Error::corrupt(format!(
                    "zstd stream declares {n} bytes, the block needs {want}"
                )))
            }
            Err(_) => return Err(Error::corrupt("corrupt zstd frame in Blosc chunk")),
        }
        zstd::with_dctx(|d| {
            d.decompress(dst, src).map_err(|code| {
                let e = zstd_safe::get_error_name(code);
                Error::corrupt(format!("corrupt zstd stream in Blosc chunk: {e}"))
            })
        })
    }
}

/// Without the `zstd` feature: zstd streams are never written and an error to read.
#[cfg(not(feature = "zstd"))]
mod zstd_streams {
    use super::{unavailable, Compressor};
    use crate::error::Result;

    /// 0: nothing written (the encoders check [`Compressor::check_available`] first).
    pub(super) fn compress(_clevel: u8, _src: &[u8], _dst: &mut [u8]) -> usize {
        0
    }

    /// The [`Compressor::check_available`] error.
    pub(super) fn decompress(_src: &[u8], _dst: &mut [u8]) -> Result<usize> {
        Err(unavailable(Compressor::Zstd, "zstd"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_codes_round_trip() {
        for c in Compressor::ALL {
            assert_eq!(c.name().parse::<Compressor>().unwrap(), c);
            assert_eq!(Compressor::from_code(c.code()).unwrap(), c);
        }
        assert_eq!(
            Compressor::from_format_code(Compressor::Lz4hc.format_code()).unwrap(),
            Compressor::Lz4
        );
        assert!("lzma".parse::<Compressor>().is_err());
        assert_eq!(
            list_compressors(),
            vec!["blosclz", "lz4", "lz4hc", "zlib", "zstd"]
        );
    }

    #[test]
    fn streams_round_trip_and_reject_garbage() {
        let src: Vec<u8> = (0..50_000u32).map(|i| (i / 100) as u8).collect();
        for comp in [
            Compressor::Lz4,
            Compressor::Lz4hc,
            Compressor::Zlib,
            Compressor::Zstd,
        ] {
            let mut dst = vec![0u8; src.len()];
            let n = compress_stream(comp, 5, false, false, &src, &mut dst);
            assert!(n > 0 && n < src.len(), "{comp}");
            let mut back = vec![0u8; src.len()];
            decompress_stream(comp, &dst[..n], &mut back).unwrap();
            assert_eq!(back, src);
            // Too small a destination: 0, never a partial result.
            let mut tiny = vec![0u8; 4];
            assert_eq!(
                compress_stream(comp, 5, false, false, &src, &mut tiny),
                0,
                "{comp}"
            );
            // A wrong size or a cut stream is an error.
            let mut short = vec![0u8; src.len() - 1];
            assert!(decompress_stream(comp, &dst[..n], &mut short).is_err());
            assert!(decompress_stream(comp, &dst[..n / 2], &mut back).is_err());
        }
    }
}
