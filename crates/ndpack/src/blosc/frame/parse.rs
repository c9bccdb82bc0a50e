//! Reading a frame's index from any [`ReadAt`]: header, trailer (vlmeta) and offsets, each
//! size and position checked against the real size before it is used. Chunks themselves are
//! read later, one at a time, by the storage that owns them.

use super::header::{FrameHeader, FIXED_LEN};
use super::offsets::{self, MAX_CHUNKS};
use super::trailer;
use crate::blosc::v2;
use crate::error::{Error, ErrorKind, Result};
use crate::io::{read_vec_at, ReadAt};

/// A frame's index as read.
#[derive(Debug, Clone)]
pub(crate) struct Parsed {
    pub header: FrameHeader,
    /// One raw offset per chunk.
    pub offsets: Vec<i64>,
    /// (name, compressed chunk).
    pub vlmeta: Vec<(String, Vec<u8>)>,
    /// Position of the offsets chunk, from the frame start (= header_len + cbytes for a
    /// contiguous frame).
    pub offsets_pos: u64,
}

fn check(ok: bool, kind: ErrorKind, msg: impl FnOnce() -> String) -> Result<()> {
    if ok {
        Ok(())
    } else {
        Err(Error::new(kind, msg()))
    }
}

/// Parses the frame that starts at `base` in `io`. `sparse` is the frame type expected.
pub(crate) fn parse_frame(io: &dyn ReadAt, base: u64, sparse: bool) -> Result<Parsed> {
    let size = io.size()?;
    check(base <= size, ErrorKind::Truncated, || {
        format!("frame offset {base} is past the end ({size} bytes)")
    })?;
    let avail = size - base;
    check(avail >= FIXED_LEN as u64, ErrorKind::Truncated, || {
        format!("a frame needs at least {FIXED_LEN} bytes, {avail} given")
    })?;
    let fixed = read_vec_at(io, base, FIXED_LEN, "frame header")?;
    let (header_len, frame_len) = FrameHeader::lengths(&fixed)?;
    check(frame_len <= avail, ErrorKind::Truncated, || {
        format!("frame_len {frame_len} is past the end of the data ({avail} bytes)")
    })?;
    check(
        header_len as u64 + trailer::MIN_LEN as u64 <= frame_len,
        ErrorKind::Corrupt,
        || format!("frame_len {frame_len} leaves no room for header ({header_len}) and trailer"),
    )?;
    let hbytes = read_vec_at(io, base, header_len, "frame header")?;
    let header = FrameHeader::parse(&hbytes)?;
    check(header.sparse == sparse, ErrorKind::Corrupt, || {
        format!(
            "frame type is {}, expected {}",
            kind_name(header.sparse),
            kind_name(sparse)
        )
    })?;
    // Trailer: its length sits 22 bytes before frame_len.
    let tail = read_vec_at(
        io,
        base + frame_len - trailer::MIN_LEN as u64,
        trailer::MIN_LEN,
        "frame trailer",
    )?;
    let tlen = trailer::trailer_len(&tail)?;
    check(
        tlen >= trailer::MIN_LEN as u64
            && tlen <= trailer::MAX_LEN
            && tlen <= frame_len - header_len as u64,
        ErrorKind::Corrupt,
        || {
            format!(
                "trailer length {tlen} does not fit between the header and frame_len {frame_len}"
            )
        },
    )?;
    let trailer_pos = frame_len - tlen;
    let tbytes = read_vec_at(io, base + trailer_pos, tlen as usize, "frame trailer")?;
    let vlmeta = trailer::parse(&tbytes)?;

    let hl = header.header_len as u64;
    let offsets_pos = if sparse {
        hl
    } else {
        hl.checked_add(header.cbytes)
            .filter(|&p| p <= trailer_pos)
            .ok_or_else(|| {
                Error::corrupt(format!(
                    "cbytes {} puts the offsets past the trailer at {trailer_pos}",
                    header.cbytes
                ))
            })?
    };
    if header.nbytes == 0 {
        return Ok(Parsed {
            header,
            offsets: Vec::new(),
            vlmeta,
            offsets_pos,
        });
    }
    let fixed_n = if header.chunksize > 0 && !header.variable {
        let n = header.nbytes.div_ceil(header.chunksize as u64);
        check(n <= MAX_CHUNKS as u64, ErrorKind::TooLarge, || {
            format!("frame declares {n} chunks, ndpack reads at most {MAX_CHUNKS}")
        })?;
        Some(n as usize)
    } else {
        None
    };
    // The offsets chunk lies between offsets_pos and the trailer.
    let room = trailer_pos - offsets_pos;
    check(room >= v2::MAX_OVERHEAD as u64, ErrorKind::Corrupt, || {
        format!("no room for the offsets chunk before the trailer ({room} bytes)")
    })?;
    let ohead = read_vec_at(io, base + offsets_pos, v2::MAX_OVERHEAD, "offsets chunk")?;
    let ocbytes = i32::from_le_bytes(ohead[12..16].try_into().expect("4 bytes"));
    let onbytes = i32::from_le_bytes(ohead[4..8].try_into().expect("4 bytes"));
    check(
        ocbytes >= v2::MAX_OVERHEAD as i32 && ocbytes as u64 <= room,
        ErrorKind::Corrupt,
        || format!("the offsets chunk ({ocbytes} bytes) overlaps the trailer ({room} bytes free)"),
    )?;
    check(onbytes >= 0 && onbytes % 8 == 0, ErrorKind::Corrupt, || {
        format!("the offsets chunk holds {onbytes} bytes, not a whole number of offsets")
    })?;
    let nchunks = match fixed_n {
        Some(n) => n,
        None => {
            let n = onbytes as usize / 8;
            check(n <= MAX_CHUNKS, ErrorKind::TooLarge, || {
                format!("frame declares {n} chunks, ndpack reads at most {MAX_CHUNKS}")
            })?;
            n
        }
    };
    let ochunk = read_vec_at(io, base + offsets_pos, ocbytes as usize, "offsets chunk")?;
    let offsets = offsets::decode(&ochunk, nchunks)?;
    for (i, &off) in offsets.iter().enumerate() {
        if off < 0 {
            offsets::special_kind(off)?;
            check(!header.variable, ErrorKind::Unsupported, || {
                format!("chunk {i} is special in a frame of variable chunk sizes")
            })?;
        } else if sparse {
            check(off <= u32::MAX as i64, ErrorKind::Corrupt, || {
                format!("chunk {i} has file id {off}, above 8 hex digits")
            })?;
        } else {
            check(
                (off as u64).saturating_add(v2::MAX_OVERHEAD as u64) <= header.cbytes,
                ErrorKind::Corrupt,
                || {
                    format!(
                        "chunk {i} at offset {off} lies outside the chunk section ({} bytes)",
                        header.cbytes
                    )
                },
            )?;
        }
    }
    Ok(Parsed {
        header,
        offsets,
        vlmeta,
        offsets_pos,
    })
}

fn kind_name(sparse: bool) -> &'static str {
    if sparse {
        "sparse"
    } else {
        "contiguous"
    }
}
