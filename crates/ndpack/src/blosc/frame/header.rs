//! The frame header: msgpack at fixed positions (bytes 0-86), then the fixed metalayers
//! (a 3-array of index size, name -> offset map, and bin32 values). [`FrameHeader::parse`]
//! checks every field against the bytes it is given; [`FrameHeader::build`] writes what
//! c-blosc2 writes. The commit of a contiguous frame rewrites [`COMMIT_RANGE`] only.

use std::ops::Range;

use crate::error::{Error, Result};

/// Bytes of the fixed part of the header (`FRAME_HEADER_MINLEN`).
pub(crate) const FIXED_LEN: usize = 87;
/// Bytes of a header without metalayers.
pub(crate) const EMPTY_LEN: usize = FIXED_LEN + 1 + 3 + 3 + 3;
/// The most metalayers (`BLOSC2_MAX_METALAYERS`).
pub const MAX_METALAYERS: usize = 16;
/// The longest metalayer or vlmetalayer name, in bytes.
pub const MAX_NAME_LEN: usize = 31;

const MAGIC: &[u8; 9] = b"\xa8b2frame\0";
const POS_HEADER_LEN: usize = 11;
const POS_FRAME_LEN: usize = 16;
const POS_FLAGS: usize = 25;
const POS_TYPE: usize = 26;
const POS_CODECS: usize = 27;
const POS_OTHER: usize = 28;
const POS_NBYTES: usize = 30;
const POS_CBYTES: usize = 39;
const POS_TYPESIZE: usize = 48;
const POS_BLOCKSIZE: usize = 53;
const POS_CHUNKSIZE: usize = 58;
const POS_NTHREADS_C: usize = 63;
const POS_NTHREADS_D: usize = 66;
const POS_HAS_VLMETA: usize = 68;
const POS_FILTERS: usize = 71;
const POS_UDCODEC: usize = 77;
const POS_CODEC_META: usize = 78;
const POS_FILTERS_META: usize = 79;
const POS_OTHER2: usize = 85;

/// The header bytes a commit rewrites: frame_len, flags, nbytes, cbytes, typesize, blocksize,
/// chunksize, the thread counts and the vlmeta flag (one write inside the first disk sector).
pub(crate) const COMMIT_RANGE: Range<usize> = POS_FRAME_LEN..POS_HAS_VLMETA + 1;

/// General-flags bit: variable chunk sizes (frame version 3).
pub(crate) const FLAG_VARIABLE: u8 = 0x40;
/// General-flags bit: chunks with variable-length blocks.
pub(crate) const FLAG_VL_BLOCKS: u8 = 0x80;
/// General-flags value of 64-bit offsets.
const OFFSETS_64: u8 = 0x10;

/// Every field of a frame header.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct FrameHeader {
    pub header_len: usize,
    pub frame_len: u64,
    /// Bits 0-3: 2 (fixed chunks) or 3 (variable chunks, VL blocks).
    pub version: u8,
    pub variable: bool,
    pub vl_blocks: bool,
    pub sparse: bool,
    /// The codec's API code (byte 77 when the low nibble of byte 27 is 6).
    pub compcode: u8,
    pub clevel: u8,
    /// `splitmode - 1` (0 always, 1 never, 2 auto, 3 forward compat).
    pub other_flags: u8,
    pub nbytes: u64,
    pub cbytes: u64,
    pub typesize: usize,
    pub blocksize: usize,
    pub chunksize: usize,
    pub nthreads_c: i16,
    pub nthreads_d: i16,
    pub has_vlmeta: bool,
    pub filters: [u8; 6],
    pub filters_meta: [u8; 6],
    pub compcode_meta: u8,
    pub use_dict: bool,
    pub meta: Vec<(String, Vec<u8>)>,
}

fn be_u16(b: &[u8], at: usize) -> u16 {
    u16::from_be_bytes([b[at], b[at + 1]])
}

fn be_i32(b: &[u8], at: usize) -> i32 {
    i32::from_be_bytes(b[at..at + 4].try_into().expect("4 bytes"))
}

fn be_u32(b: &[u8], at: usize) -> u32 {
    u32::from_be_bytes(b[at..at + 4].try_into().expect("4 bytes"))
}

fn be_i64(b: &[u8], at: usize) -> i64 {
    i64::from_be_bytes(b[at..at + 8].try_into().expect("8 bytes"))
}

fn marker(b: &[u8], at: usize, want: u8, field: &str) -> Result<()> {
    if b[at] == want {
        Ok(())
    } else {
        Err(Error::corrupt(format!(
            "frame header: {field} has msgpack marker {:#04x}, expected {want:#04x}",
            b[at]
        )))
    }
}

/// A non-negative size field.
fn size_i32(b: &[u8], at: usize, field: &str) -> Result<usize> {
    marker(b, at - 1, 0xd2, field)?;
    let v = be_i32(b, at);
    usize::try_from(v).map_err(|_| Error::corrupt(format!("frame header: negative {field} ({v})")))
}

fn size_i64(b: &[u8], at: usize, field: &str) -> Result<u64> {
    marker(b, at - 1, 0xd3, field)?;
    let v = be_i64(b, at);
    u64::try_from(v).map_err(|_| Error::corrupt(format!("frame header: negative {field} ({v})")))
}

impl FrameHeader {
    /// `header_len` and `frame_len` from the first [`FIXED_LEN`] bytes, checked only for their
    /// markers and the magic (to know how many bytes to read next).
    pub fn lengths(b: &[u8]) -> Result<(usize, u64)> {
        if b.len() < FIXED_LEN {
            return Err(Error::truncated(format!(
                "a frame header needs {FIXED_LEN} bytes, got {}",
                b.len()
            )));
        }
        if b[0] & 0xf0 != 0x90 || &b[1..10] != MAGIC {
            return Err(Error::corrupt("not a Blosc2 frame (no b2frame magic)"));
        }
        let header_len = size_i32(b, POS_HEADER_LEN, "header_len")?;
        if header_len < FIXED_LEN {
            return Err(Error::corrupt(format!(
                "frame header_len {header_len} is below the minimum {FIXED_LEN}"
            )));
        }
        marker(b, POS_FRAME_LEN - 1, 0xcf, "frame_len")?;
        let frame_len = u64::from_be_bytes(b[POS_FRAME_LEN..POS_FRAME_LEN + 8].try_into().unwrap());
        if frame_len < header_len as u64 {
            return Err(Error::corrupt(format!(
                "frame_len {frame_len} is less than header_len {header_len}"
            )));
        }
        Ok((header_len, frame_len))
    }

    /// Parses a whole header (`b` holds at least `header_len` bytes).
    pub fn parse(b: &[u8]) -> Result<FrameHeader> {
        let (header_len, frame_len) = Self::lengths(b)?;
        if b.len() < header_len {
            return Err(Error::truncated(format!(
                "frame header declares {header_len} bytes, only {} given",
                b.len()
            )));
        }
        let b = &b[..header_len];
        marker(b, POS_FLAGS - 1, 0xa4, "flags")?;
        let flags = b[POS_FLAGS];
        let version = flags & 0x0f;
        if version == 0 || version > 3 {
            return Err(Error::new(
                crate::ErrorKind::Unsupported,
                format!("frame format version {version} is not supported (1-3)"),
            ));
        }
        if flags & 0x30 != OFFSETS_64 {
            return Err(Error::new(
                crate::ErrorKind::Unsupported,
                format!(
                    "frame offsets of width code {} are not supported (64-bit only)",
                    (flags >> 4) & 3
                ),
            ));
        }
        let sparse = match b[POS_TYPE] {
            0 => false,
            1 => true,
            t => return Err(Error::corrupt(format!("unknown frame type {t}"))),
        };
        let mut compcode = b[POS_CODECS] & 0x0f;
        if compcode == 6 {
            compcode = b[POS_UDCODEC];
        }
        let nbytes = size_i64(b, POS_NBYTES, "nbytes")?;
        let cbytes = size_i64(b, POS_CBYTES, "cbytes")?;
        let typesize = size_i32(b, POS_TYPESIZE, "typesize")?;
        if typesize == 0 {
            return Err(Error::corrupt("frame header: typesize 0"));
        }
        let blocksize = size_i32(b, POS_BLOCKSIZE, "blocksize")?;
        marker(b, POS_CHUNKSIZE - 1, 0xd2, "chunksize")?;
        // c-blosc2 writes -1 for a super-chunk that has no chunks and no chunksize yet.
        let chunksize = be_i32(b, POS_CHUNKSIZE);
        let chunksize = match usize::try_from(chunksize) {
            Ok(c) => c,
            Err(_) if nbytes == 0 => 0,
            Err(_) => {
                return Err(Error::corrupt(format!(
                    "frame header: negative chunksize ({chunksize})"
                )))
            }
        };
        marker(b, POS_NTHREADS_C - 1, 0xd1, "nthreads")?;
        marker(b, POS_NTHREADS_D - 1, 0xd1, "nthreads")?;
        let has_vlmeta = match b[POS_HAS_VLMETA] {
            0xc2 => false,
            0xc3 => true,
            m => {
                return Err(Error::corrupt(format!(
                    "frame header: vlmeta flag {m:#04x} is not a msgpack bool"
                )))
            }
        };
        marker(b, POS_HAS_VLMETA + 1, 0xd8, "filters")?;
        let nfilters = usize::from(b[POS_HAS_VLMETA + 2]);
        if nfilters > 6 {
            return Err(Error::corrupt(format!(
                "frame header: {nfilters} filters, at most 6"
            )));
        }
        let mut filters = [0u8; 6];
        let mut filters_meta = [0u8; 6];
        filters[..nfilters].copy_from_slice(&b[POS_FILTERS..POS_FILTERS + nfilters]);
        filters_meta[..nfilters].copy_from_slice(&b[POS_FILTERS_META..POS_FILTERS_META + nfilters]);
        let meta = if header_len > FIXED_LEN {
            parse_metalayers(b)?
        } else {
            Vec::new()
        };
        Ok(FrameHeader {
            header_len,
            frame_len,
            version,
            variable: flags & FLAG_VARIABLE != 0,
            vl_blocks: flags & FLAG_VL_BLOCKS != 0,
            sparse,
            compcode,
            clevel: b[POS_CODECS] >> 4,
            other_flags: b[POS_OTHER],
            nbytes,
            cbytes,
            typesize,
            blocksize,
            chunksize,
            nthreads_c: i16::from_be_bytes([b[POS_NTHREADS_C], b[POS_NTHREADS_C + 1]]),
            nthreads_d: i16::from_be_bytes([b[POS_NTHREADS_D], b[POS_NTHREADS_D + 1]]),
            has_vlmeta,
            filters,
            filters_meta,
            compcode_meta: b[POS_CODEC_META],
            use_dict: b[POS_OTHER2] & 1 != 0,
            meta,
        })
    }

    /// The general-flags byte.
    fn general_flags(&self) -> u8 {
        let mut f = self.version | OFFSETS_64;
        if self.variable {
            f |= FLAG_VARIABLE;
        }
        if self.vl_blocks {
            f |= FLAG_VL_BLOCKS;
        }
        f
    }

    /// The length [`FrameHeader::build`] gives this header.
    pub fn built_len(&self) -> usize {
        EMPTY_LEN
            + self
                .meta
                .iter()
                .map(|(n, c)| 1 + n.len() + 5 + 5 + c.len())
                .sum::<usize>()
    }

    /// Writes the header as c-blosc2 does; `header_len` is set to the length written.
    pub fn build(&mut self) -> Result<Vec<u8>> {
        if self.meta.len() > MAX_METALAYERS {
            return Err(Error::invalid_argument(format!(
                "{} metalayers, at most {MAX_METALAYERS}",
                self.meta.len()
            )));
        }
        let len = self.built_len();
        if len > i32::MAX as usize {
            return Err(Error::too_large(format!("a frame header of {len} bytes")));
        }
        self.header_len = len;
        let mut h = vec![0u8; FIXED_LEN];
        h[0] = 0x9e;
        h[1..10].copy_from_slice(MAGIC);
        h[POS_HEADER_LEN - 1] = 0xd2;
        h[POS_HEADER_LEN..POS_HEADER_LEN + 4].copy_from_slice(&(len as i32).to_be_bytes());
        h[POS_FRAME_LEN - 1] = 0xcf;
        h[POS_FLAGS - 1] = 0xa4;
        h[POS_TYPE] = u8::from(self.sparse);
        h[POS_CODECS] = if self.compcode >= 6 { 6 } else { self.compcode } | (self.clevel << 4);
        h[POS_OTHER] = self.other_flags;
        h[POS_NBYTES - 1] = 0xd3;
        h[POS_CBYTES - 1] = 0xd3;
        h[POS_TYPESIZE - 1] = 0xd2;
        h[POS_BLOCKSIZE - 1] = 0xd2;
        h[POS_CHUNKSIZE - 1] = 0xd2;
        h[POS_NTHREADS_C - 1] = 0xd1;
        h[POS_NTHREADS_D - 1] = 0xd1;
        h[POS_HAS_VLMETA + 1] = 0xd8;
        h[POS_HAS_VLMETA + 2] = 6;
        h[POS_FILTERS..POS_FILTERS + 6].copy_from_slice(&self.filters);
        h[POS_UDCODEC] = self.compcode;
        h[POS_CODEC_META] = self.compcode_meta;
        h[POS_FILTERS_META..POS_FILTERS_META + 6].copy_from_slice(&self.filters_meta);
        h[POS_OTHER2] = u8::from(self.use_dict);
        self.write_commit_fields(&mut h);
        // Metalayers: [index size, {name: offset}, [bin32 values]].
        let n = self.meta.len() as u16;
        h.push(0x93);
        h.push(0xcd);
        h.extend_from_slice(&[0, 0]);
        h.push(0xde);
        h.extend_from_slice(&n.to_be_bytes());
        let mut slots = Vec::with_capacity(self.meta.len());
        for (name, _) in &self.meta {
            check_name(name)?;
            h.push(0xa0 + name.len() as u8);
            h.extend_from_slice(name.as_bytes());
            h.push(0xd2);
            slots.push(h.len());
            h.extend_from_slice(&[0; 4]);
        }
        let idx_size = (h.len() - FIXED_LEN) as u16;
        h[FIXED_LEN + 2..FIXED_LEN + 4].copy_from_slice(&idx_size.to_be_bytes());
        h.push(0xdc);
        h.extend_from_slice(&n.to_be_bytes());
        for ((_, content), slot) in self.meta.iter().zip(slots) {
            let at = h.len() as i32;
            h[slot..slot + 4].copy_from_slice(&at.to_be_bytes());
            h.push(0xc6);
            h.extend_from_slice(&(content.len() as u32).to_be_bytes());
            h.extend_from_slice(content);
        }
        debug_assert_eq!(h.len(), len);
        Ok(h)
    }

    /// Writes the fields of [`COMMIT_RANGE`] into `h` (a header of at least [`FIXED_LEN`]
    /// bytes whose markers are in place).
    pub fn write_commit_fields(&self, h: &mut [u8]) {
        h[POS_FRAME_LEN..POS_FRAME_LEN + 8].copy_from_slice(&self.frame_len.to_be_bytes());
        h[POS_FLAGS] = self.general_flags();
        h[POS_NBYTES..POS_NBYTES + 8].copy_from_slice(&(self.nbytes as i64).to_be_bytes());
        h[POS_CBYTES..POS_CBYTES + 8].copy_from_slice(&(self.cbytes as i64).to_be_bytes());
        h[POS_TYPESIZE..POS_TYPESIZE + 4].copy_from_slice(&(self.typesize as i32).to_be_bytes());
        h[POS_BLOCKSIZE..POS_BLOCKSIZE + 4].copy_from_slice(&(self.blocksize as i32).to_be_bytes());
        h[POS_CHUNKSIZE..POS_CHUNKSIZE + 4].copy_from_slice(&(self.chunksize as i32).to_be_bytes());
        h[POS_NTHREADS_C..POS_NTHREADS_C + 2].copy_from_slice(&self.nthreads_c.to_be_bytes());
        h[POS_NTHREADS_D..POS_NTHREADS_D + 2].copy_from_slice(&self.nthreads_d.to_be_bytes());
        h[POS_HAS_VLMETA] = if self.has_vlmeta { 0xc3 } else { 0xc2 };
    }
}

/// Checks a (vl)metalayer name: 1 to 31 bytes.
pub(crate) fn check_name(name: &str) -> Result<()> {
    if name.is_empty() || name.len() > MAX_NAME_LEN {
        return Err(Error::invalid_argument(format!(
            "metalayer name {name:?} must have 1 to {MAX_NAME_LEN} bytes"
        )));
    }
    Ok(())
}

/// Parses a `[index size, {name: i32 offset}, [bin32]]` section whose map starts at `at` in
/// `b`; offsets are relative to `base` (0 for the header, the trailer start for vlmeta). Each
/// name and value is checked against `b`; at most `max` entries.
pub(crate) fn parse_map(
    b: &[u8],
    map_at: usize,
    max: usize,
    what: &str,
) -> Result<Vec<(String, Vec<u8>)>> {
    let short = || Error::truncated(format!("{what} end inside their index"));
    let get = |at: usize| b.get(at).copied().ok_or_else(short);
    marker_at(b, map_at, 0xde, what)?;
    if b.len() < map_at + 3 {
        return Err(short());
    }
    let n = usize::from(be_u16(b, map_at + 1));
    if n > max {
        return Err(Error::too_large(format!("{n} {what}, at most {max}")));
    }
    let mut out: Vec<(String, Vec<u8>)> = Vec::new();
    crate::buffer::try_reserve_total(&mut out, n, what)?;
    let mut p = map_at + 3;
    for _ in 0..n {
        let m = get(p)?;
        if m & 0xe0 != 0xa0 {
            return Err(Error::corrupt(format!(
                "{what}: name marker {m:#04x} is not a fixstr"
            )));
        }
        let len = usize::from(m & 0x1f);
        let name = b.get(p + 1..p + 1 + len).ok_or_else(short)?;
        let name = std::str::from_utf8(name)
            .map_err(|_| Error::corrupt(format!("{what}: a name is not UTF-8")))?
            .to_string();
        p += 1 + len;
        if get(p)? != 0xd2 || b.len() < p + 5 {
            return Err(Error::corrupt(format!(
                "{what}: the offset of {name:?} is not an int32"
            )));
        }
        let off = be_i32(b, p + 1);
        p += 5;
        let off = usize::try_from(off)
            .ok()
            .filter(|&o| o < b.len())
            .ok_or_else(|| {
                Error::corrupt(format!("{what}: offset {off} of {name:?} is out of bounds"))
            })?;
        if b.len() < off + 5 || b[off] != 0xc6 {
            return Err(Error::corrupt(format!(
                "{what}: the value of {name:?} is not a bin32"
            )));
        }
        let clen = be_u32(b, off + 1) as usize;
        let content = b.get(off + 5..off + 5 + clen).ok_or_else(|| {
            Error::truncated(format!(
                "{what}: the value of {name:?} ({clen} bytes) runs past the end"
            ))
        })?;
        if out.iter().any(|(n, _)| *n == name) {
            return Err(Error::corrupt(format!("{what}: {name:?} appears twice")));
        }
        let mut v = Vec::new();
        crate::buffer::try_reserve_total(&mut v, clen, what)?;
        v.extend_from_slice(content);
        out.push((name, v));
    }
    Ok(out)
}

fn marker_at(b: &[u8], at: usize, want: u8, what: &str) -> Result<()> {
    match b.get(at) {
        Some(&m) if m == want => Ok(()),
        Some(&m) => Err(Error::corrupt(format!(
            "{what}: marker {m:#04x} at byte {at}, expected {want:#04x}"
        ))),
        None => Err(Error::truncated(format!("{what} end before byte {at}"))),
    }
}

fn parse_metalayers(b: &[u8]) -> Result<Vec<(String, Vec<u8>)>> {
    marker_at(b, FIXED_LEN, 0x93, "metalayers")?;
    marker_at(b, FIXED_LEN + 1, 0xcd, "metalayers")?;
    parse_map(b, FIXED_LEN + 4, MAX_METALAYERS, "metalayers")
}
