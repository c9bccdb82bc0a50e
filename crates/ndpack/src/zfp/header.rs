//! zfpy's stream header: magic and codec version, field type and sizes (ZFP's x-fastest order,
//! reversed to NumPy's), and the mode that records the codec parameters.

use zfp_rs::ZfpConfig;

use super::ZfpType;
use crate::error::{Error, Result};

/// Codec parameters as a stream's mode records them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ZfpParams {
    /// Minimum bits per block.
    pub min_bits: u32,
    /// Maximum bits per block.
    pub max_bits: u32,
    /// Maximum bit planes per block.
    pub max_prec: u32,
    /// Smallest exponent coded (below -1074: reversible).
    pub min_exp: i32,
}

impl ZfpParams {
    pub(super) fn from_config(c: &ZfpConfig) -> Self {
        ZfpParams {
            min_bits: c.min_bits(),
            max_bits: c.max_bits(),
            max_prec: c.max_prec(),
            min_exp: c.min_exp(),
        }
    }

    pub(super) fn config(&self) -> Result<ZfpConfig> {
        ZfpConfig::expert(self.min_bits, self.max_bits, self.max_prec, self.min_exp)
            .map_err(|e| Error::corrupt(format!("zfp stream mode: {e}")))
    }
}

/// A zfpy stream's full header.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ZfpHeader {
    /// The scalar type.
    pub ztype: ZfpType,
    /// The NumPy shape (C order: the last axis is ZFP's x).
    pub shape: Vec<usize>,
    /// The codec parameters of the mode.
    pub params: ZfpParams,
    /// Header length in bits (96 with a short mode, 148 with a long one).
    pub bits: usize,
}

pub(super) const MAGIC: [u8; 4] = [b'z', b'f', b'p', 5];
pub(super) const MODE_SHORT_MAX: u64 = 4094;

/// An LSB-first reader over a byte slice that reads zeros past its end (header only).
struct BitReader<'a> {
    data: &'a [u8],
    pos: usize,
}

impl BitReader<'_> {
    fn read(&mut self, n: u32) -> u64 {
        let mut v = 0u64;
        for i in 0..n as usize {
            let p = self.pos + i;
            let bit = self.data.get(p / 8).map_or(0, |b| (b >> (p % 8)) & 1);
            v |= u64::from(bit) << i;
        }
        self.pos += n as usize;
        v
    }
}

/// Parses the full zfpy header at the start of `stream`.
pub fn read_header(stream: &[u8]) -> Result<ZfpHeader> {
    let magic_len = stream.len().min(4);
    if stream[..magic_len] != MAGIC[..magic_len] {
        return Err(Error::corrupt(
            "not a zfp stream (bad magic or codec version)",
        ));
    }
    if stream.len() < 12 {
        return Err(Error::truncated(format!(
            "zfp header needs at least 12 bytes, got {}",
            stream.len()
        )));
    }
    let mut r = BitReader {
        data: stream,
        pos: 32,
    };
    let meta = r.read(52);
    let ztype = ZfpType::from_code(((meta & 3) + 1) as i64)?;
    let ndim = ((meta >> 2) & 3) as usize + 1;
    let m = meta >> 4;
    let mut dims_x_first: Vec<usize> = match ndim {
        1 => vec![(m & 0xffff_ffff) as usize + 1],
        2 => (0..2)
            .map(|i| ((m >> (24 * i)) & 0xff_ffff) as usize + 1)
            .collect(),
        3 => (0..3)
            .map(|i| ((m >> (16 * i)) & 0xffff) as usize + 1)
            .collect(),
        _ => (0..4)
            .map(|i| ((m >> (12 * i)) & 0xfff) as usize + 1)
            .collect(),
    };
    let mut mode = r.read(12);
    if mode > MODE_SHORT_MAX {
        if stream.len() * 8 < 148 {
            return Err(Error::truncated(
                "zfp header with a long mode needs 19 bytes",
            ));
        }
        mode |= r.read(52) << 12;
    }
    let config = ZfpConfig::from_mode_bits(mode)
        .ok_or_else(|| Error::corrupt(format!("zfp stream has an invalid mode {mode:#x}")))?;
    dims_x_first.reverse();
    Ok(ZfpHeader {
        ztype,
        shape: dims_x_first,
        params: ZfpParams::from_config(&config),
        bits: r.pos,
    })
}

/// The 52-bit field metadata; an error if a size does not fit the header (as zfpy's
/// "Failed to write header to stream").
pub(super) fn metadata(ztype: ZfpType, dims: &[usize]) -> Result<u64> {
    let n = dims.len();
    let width = [48u32, 24, 16, 12][n - 1];
    let mut meta = 0u64;
    for (i, &d) in dims.iter().enumerate() {
        let v = (d as u64).wrapping_sub(1);
        if d == 0 || v >> width != 0 {
            return Err(Error::invalid_argument(format!(
                "shape {:?} does not fit a zfp header: each of {n} axes must have 1 to 2^{width} values",
                dims.iter().rev().collect::<Vec<_>>()
            )));
        }
        meta |= v << (width * i as u32);
    }
    Ok((ztype as u64 - 1) | ((n as u64 - 1) << 2) | (meta << 4))
}
