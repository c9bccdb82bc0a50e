//! The offsets chunk: a Blosc2 chunk of `i64` little-endian values, one per chunk. A value
//! `>= 0` is the chunk's offset from the end of the header (contiguous frames) or its file id
//! (sparse frames); a negative value is a special chunk without payload, its kind in the low
//! bits of the top byte (`0x81..` zeros, `0x82..` NaNs, `0x84..` uninitialized).

use crate::blosc::v2::{self, CParams, Filter, SplitMode};
use crate::blosc::Compressor;
use crate::buffer::try_reserve_total;
use crate::error::{Error, Result};

/// The most chunks a frame may hold in ndpack (the offsets alone take 64 MiB, the index
/// 192 MiB); larger declared counts are [`crate::ErrorKind::TooLarge`].
pub const MAX_CHUNKS: usize = 1 << 23;

/// Special kinds as stored in the top byte of an offset.
pub(crate) const SPECIAL_ZERO: u8 = 1;
pub(crate) const SPECIAL_NAN: u8 = 2;
pub(crate) const SPECIAL_UNINIT: u8 = 4;

/// The offset value of a special chunk of `kind`.
pub(crate) fn special_offset(kind: u8) -> i64 {
    ((0x80u64 | u64::from(kind)) << 56) as i64
}

/// The special kind of a negative offset, checked.
pub(crate) fn special_kind(off: i64) -> Result<u8> {
    let top = (off as u64 >> 56) as u8;
    match top & 0x7f {
        k @ (SPECIAL_ZERO | SPECIAL_NAN | SPECIAL_UNINIT) => Ok(k),
        _ => Err(Error::corrupt(format!(
            "offset {off:#x} is negative but names no special chunk (zeros, NaN, uninit)"
        ))),
    }
}

/// Compresses the offsets as c-blosc2 does (BloscLZ, typesize 8, shuffle, 16 KiB blocks, no
/// split).
pub(crate) fn encode(offsets: &[i64]) -> Result<Vec<u8>> {
    let mut raw = Vec::new();
    try_reserve_total(&mut raw, offsets.len() * 8, "frame offsets")?;
    for o in offsets {
        raw.extend_from_slice(&o.to_le_bytes());
    }
    let params = CParams {
        codec: Compressor::BloscLz,
        clevel: 5,
        typesize: 8,
        blocksize: 16 * 1024,
        splitmode: SplitMode::Never,
        filters: [
            Filter::NoFilter,
            Filter::NoFilter,
            Filter::NoFilter,
            Filter::NoFilter,
            Filter::NoFilter,
            Filter::Shuffle,
        ],
        filters_meta: [0; 6],
    };
    v2::compress(&raw, &params)
}

/// Decodes an offsets chunk that must hold exactly `nchunks` values.
pub(crate) fn decode(chunk: &[u8], nchunks: usize) -> Result<Vec<i64>> {
    let info = v2::chunk_info(chunk)?;
    if info.nbytes != nchunks * 8 {
        return Err(Error::corrupt(format!(
            "the offsets chunk holds {} bytes, {nchunks} chunks need {}",
            info.nbytes,
            nchunks * 8
        )));
    }
    let mut raw = Vec::new();
    try_reserve_total(&mut raw, info.nbytes, "frame offsets")?;
    raw.resize(info.nbytes, 0);
    v2::decompress_into(&chunk[..info.cbytes], &mut raw)?;
    let mut out = Vec::new();
    try_reserve_total(&mut out, nchunks, "frame offsets")?;
    out.extend(
        raw.chunks_exact(8)
            .map(|b| i64::from_le_bytes(b.try_into().expect("8 bytes"))),
    );
    Ok(out)
}
