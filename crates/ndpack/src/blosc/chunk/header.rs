//! The chunk header shared by Blosc1 (16 bytes) and Blosc2 (32 bytes): parsing and validation
//! against the buffer ([`Header::parse`]), the flag bits and special-chunk types, writing the
//! common 16 bytes, and the size limits of both formats.

use super::filters::Filter;
use crate::error::{Error, ErrorKind, Result};

/// Size of the Blosc1 header.
pub(crate) const HEADER_LEN: usize = 16;
/// Size of the Blosc2 extended header.
pub(crate) const EXT_HEADER_LEN: usize = 32;
/// The largest chunk either format can describe (its sizes are `i32`).
pub(crate) const MAX_CHUNK: usize = i32::MAX as usize;

/// Flag bits of header byte 2.
pub(crate) const FLAG_SHUFFLE: u8 = 0x01;
pub(crate) const FLAG_MEMCPYED: u8 = 0x02;
pub(crate) const FLAG_BITSHUFFLE: u8 = 0x04;
pub(crate) const FLAG_DELTA: u8 = 0x08;
pub(crate) const FLAG_DONT_SPLIT: u8 = 0x10;

/// Whole-chunk special values (bits 4-6 of the Blosc2 flags byte 0x1F).
pub(crate) const SPECIAL_ZERO: u8 = 1;
pub(crate) const SPECIAL_NAN: u8 = 2;
pub(crate) const SPECIAL_VALUE: u8 = 3;
pub(crate) const SPECIAL_UNINIT: u8 = 4;

pub(super) fn rd_i32(b: &[u8], at: usize) -> Result<i32> {
    b.get(at..at + 4)
        .map(|s| i32::from_le_bytes([s[0], s[1], s[2], s[3]]))
        .ok_or_else(|| Error::truncated(format!("Blosc chunk ends before byte {}", at + 4)))
}

/// A parsed and validated chunk header (Blosc1 or Blosc2).
#[derive(Debug, Clone)]
pub(crate) struct Header {
    pub version: u8,
    pub flags: u8,
    /// The typesize byte (1-255).
    pub typesize: usize,
    pub nbytes: usize,
    pub blocksize: usize,
    pub cbytes: usize,
    /// 32-byte Blosc2 header (`flags & 0x05 == 0x05`).
    pub extended: bool,
    /// The filter ids by slot as stored ([`Filter::code`]; Blosc1: the shuffle flag in slot 5).
    /// Unknown ids are rejected only when the blocks are decoded ([`super::Chunk::open`]).
    pub filters: [u8; 6],
    pub filters_meta: [u8; 6],
    /// Byte 0x16: the compressor's API code in Blosc2 chunks.
    pub udcodec: u8,
    /// Byte 0x1F of Blosc2 chunks.
    pub blosc2_flags: u8,
    pub blosc2_flags2: u8,
}

impl Header {
    pub fn len(&self) -> usize {
        if self.extended {
            EXT_HEADER_LEN
        } else {
            HEADER_LEN
        }
    }

    pub fn memcpyed(&self) -> bool {
        self.flags & FLAG_MEMCPYED != 0
    }

    /// The whole-chunk special type (0 for none).
    pub fn special(&self) -> u8 {
        if self.extended {
            (self.blosc2_flags >> 4) & 7
        } else {
            0
        }
    }

    pub fn format_code(&self) -> u8 {
        self.flags >> 5
    }

    /// Parses the header of `buf`, checking every field against the buffer.
    pub fn parse(buf: &[u8]) -> Result<Header> {
        if buf.len() < HEADER_LEN {
            return Err(Error::truncated(format!(
                "a Blosc chunk needs at least {HEADER_LEN} bytes, got {}",
                buf.len()
            )));
        }
        let version = buf[0];
        let flags = buf[2];
        let extended = flags & (FLAG_SHUFFLE | FLAG_BITSHUFFLE) == (FLAG_SHUFFLE | FLAG_BITSHUFFLE);
        match version {
            0 => return Err(Error::corrupt("Blosc chunk has format version 0")),
            1..=5 => {}
            6 => {
                return Err(Error::new(
                    ErrorKind::Unsupported,
                    "Blosc2 chunks with variable-length blocks (version 6) are not supported",
                ))
            }
            v => {
                return Err(Error::corrupt(format!(
                    "Blosc chunk has unknown format version {v}"
                )))
            }
        }
        let field = |at: usize, name: &str| -> Result<usize> {
            let v = rd_i32(buf, at)?;
            usize::try_from(v)
                .map_err(|_| Error::corrupt(format!("Blosc header has a negative {name} ({v})")))
        };
        let nbytes = field(4, "nbytes")?;
        let blocksize = field(8, "blocksize")?;
        let cbytes = field(12, "cbytes")?;
        let mut h = Header {
            version,
            flags,
            typesize: usize::from(buf[3]),
            nbytes,
            blocksize,
            cbytes,
            extended,
            filters: [0; 6],
            filters_meta: [0; 6],
            udcodec: 0,
            blosc2_flags: 0,
            blosc2_flags2: 0,
        };
        if extended {
            if buf.len() < EXT_HEADER_LEN {
                return Err(Error::truncated(format!(
                    "a Blosc2 chunk needs at least {EXT_HEADER_LEN} bytes, got {}",
                    buf.len()
                )));
            }
            h.filters.copy_from_slice(&buf[0x10..0x16]);
            h.udcodec = buf[0x16];
            h.filters_meta.copy_from_slice(&buf[0x18..0x1E]);
            h.blosc2_flags2 = buf[0x1E];
            h.blosc2_flags = buf[0x1F];
            if version == 3 {
                // Blosc2 alpha chunks: filter slot 5 was not in use.
                h.filters[5] = 0;
            }
        } else {
            if flags & FLAG_DELTA != 0 {
                return Err(Error::corrupt("Blosc1 chunk sets the reserved flag 0x08"));
            }
            let filter = if flags & FLAG_SHUFFLE != 0 {
                Filter::Shuffle
            } else if flags & FLAG_BITSHUFFLE != 0 {
                Filter::BitShuffle
            } else {
                Filter::NoFilter
            };
            h.filters[5] = filter.code();
        }
        if h.cbytes < h.len() {
            return Err(Error::corrupt(format!(
                "Blosc header declares {} bytes, less than its own header",
                h.cbytes
            )));
        }
        if h.cbytes > buf.len() {
            return Err(Error::truncated(format!(
                "Blosc chunk declares {} bytes but only {} are given",
                h.cbytes,
                buf.len()
            )));
        }
        if h.typesize == 0 {
            return Err(Error::corrupt("Blosc header has typesize 0"));
        }
        Ok(h)
    }
}

/// Writes the 16 common header bytes.
pub(crate) fn write_header16(
    out: &mut [u8],
    version: u8,
    flags: u8,
    typesize: usize,
    nbytes: usize,
    blocksize: usize,
    cbytes: usize,
) {
    out[0] = version;
    out[1] = 1;
    out[2] = flags;
    out[3] = typesize as u8;
    out[4..8].copy_from_slice(&(nbytes as i32).to_le_bytes());
    out[8..12].copy_from_slice(&(blocksize as i32).to_le_bytes());
    out[12..16].copy_from_slice(&(cbytes as i32).to_le_bytes());
}
/// Checks, before compressing `src_len` bytes into a destination of `dst_len` bytes, that the
/// destination holds the largest chunk (`src_len + overhead`) and that the input fits the format.
pub(crate) fn check_compress_sizes(src_len: usize, dst_len: usize, overhead: usize) -> Result<()> {
    if dst_len < src_len + overhead {
        return Err(Error::invalid_argument(format!(
            "destination buffer has {dst_len} bytes, a chunk of {src_len} bytes may need {}",
            src_len + overhead
        )));
    }
    check_input_size(src_len, overhead)
}

/// Checks an input size against the formats' `i32` limit (minus the header).
pub(crate) fn check_input_size(len: usize, overhead: usize) -> Result<()> {
    if len > MAX_CHUNK - overhead {
        return Err(Error::too_large(format!(
            "Blosc chunks hold at most {} bytes, got {len}",
            MAX_CHUNK - overhead
        )));
    }
    Ok(())
}
