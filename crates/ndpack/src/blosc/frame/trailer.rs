//! The frame trailer: the variable-length metalayers (vlmeta) and the trailer's own length.
//!
//! ```text
//! 94 01 93 cd <u16 index size> de <u16 n> {fixstr name, d2 <i32 offset from the trailer start>}×n
//!       dc <u16 n> {c6 <u32 len> <a Blosc2 chunk of msgpack>}×n
//! ce <u32 trailer_len> d8 00 <16 zero bytes>
//! ```
//! The index size counts from the `cd` byte to the end of the map (the header's counts from its
//! `93`), exactly as c-blosc2 writes it. Each value is a compressed Blosc2 chunk.

use super::header::{check_name, parse_map};
use crate::error::{Error, Result};

/// The most vlmetalayers (`BLOSC2_MAX_VLMETALAYERS`).
pub const MAX_VLMETALAYERS: usize = 8192;
/// The shortest trailer (`FRAME_TRAILER_MINLEN`).
pub(crate) const MIN_LEN: usize = 25;
/// The length field sits this many bytes before the end of the frame.
const LEN_FROM_END: usize = 22;
/// The longest trailer ndpack reads.
pub(crate) const MAX_LEN: u64 = i32::MAX as u64;

/// The trailer length stored in the last [`MIN_LEN`] bytes of a frame.
pub(crate) fn trailer_len(tail: &[u8]) -> Result<u64> {
    if tail.len() < MIN_LEN {
        return Err(Error::truncated("a frame trailer needs 25 bytes"));
    }
    let at = tail.len() - LEN_FROM_END;
    if tail[at - 1] != 0xce {
        return Err(Error::corrupt(
            "frame trailer: no uint32 length 22 bytes before the end",
        ));
    }
    let len = u32::from_be_bytes(tail[at..at + 4].try_into().expect("4 bytes"));
    Ok(u64::from(len))
}

/// Parses a whole trailer: the vlmetalayers, each a compressed chunk.
pub(crate) fn parse(b: &[u8]) -> Result<Vec<(String, Vec<u8>)>> {
    if b.len() < MIN_LEN {
        return Err(Error::truncated(format!(
            "a frame trailer needs {MIN_LEN} bytes, got {}",
            b.len()
        )));
    }
    if b[0] != 0x94 || b[1] > 1 || b[2] != 0x93 || b[3] != 0xcd {
        return Err(Error::corrupt(
            "frame trailer does not start with [version, [index size, ...]]",
        ));
    }
    // Parse inside the bytes before the length field, so a value cannot overlap it.
    let body = &b[..b.len() - (LEN_FROM_END + 1)];
    parse_map(body, 6, MAX_VLMETALAYERS, "vlmetalayers")
}

/// Writes a trailer holding `vlmeta` (name, compressed chunk) as c-blosc2 3.6 does.
pub(crate) fn build(vlmeta: &[(String, Vec<u8>)]) -> Result<Vec<u8>> {
    if vlmeta.len() > MAX_VLMETALAYERS {
        return Err(Error::invalid_argument(format!(
            "{} vlmetalayers, at most {MAX_VLMETALAYERS}",
            vlmeta.len()
        )));
    }
    let n = vlmeta.len() as u16;
    let mut t = vec![0x94, 0x01, 0x93, 0xcd, 0, 0, 0xde];
    t.extend_from_slice(&n.to_be_bytes());
    let mut slots = Vec::with_capacity(vlmeta.len());
    for (name, _) in vlmeta {
        check_name(name)?;
        t.push(0xa0 + name.len() as u8);
        t.extend_from_slice(name.as_bytes());
        t.push(0xd2);
        slots.push(t.len());
        t.extend_from_slice(&[0; 4]);
    }
    let idx = t.len() - 3;
    if idx >= 1 << 16 {
        return Err(Error::too_large(format!(
            "a vlmetalayer index of {idx} bytes (at most 65535)"
        )));
    }
    t[4..6].copy_from_slice(&(idx as u16).to_be_bytes());
    t.push(0xdc);
    t.extend_from_slice(&n.to_be_bytes());
    for ((_, content), slot) in vlmeta.iter().zip(slots) {
        let at = i32::try_from(t.len()).map_err(|_| Error::too_large("vlmetalayers over 2 GiB"))?;
        t[slot..slot + 4].copy_from_slice(&at.to_be_bytes());
        t.push(0xc6);
        let len = u32::try_from(content.len())
            .map_err(|_| Error::too_large("a vlmetalayer over 4 GiB"))?;
        t.extend_from_slice(&len.to_be_bytes());
        t.extend_from_slice(content);
    }
    let total = t.len() + 1 + 4 + 18;
    let total32 = u32::try_from(total)
        .ok()
        .filter(|&l| u64::from(l) <= MAX_LEN)
        .ok_or_else(|| Error::too_large(format!("a frame trailer of {total} bytes")))?;
    t.push(0xce);
    t.extend_from_slice(&total32.to_be_bytes());
    t.push(0xd8);
    t.push(0);
    t.extend_from_slice(&[0; 16]);
    debug_assert_eq!(t.len(), total);
    Ok(t)
}
