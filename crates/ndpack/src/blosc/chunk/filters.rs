//! The filters of the Blosc pipeline ([`Filter`]: shuffle, bitshuffle, DELTA, TRUNC_PREC,
//! BYTEDELTA), one block at a time: when each applies to a block, DELTA, TRUNC_PREC and BYTEDELTA
//! themselves, and the byte shuffle of one block in parallel pieces. The shuffle kernels live in [`super::super::simd`].

use rayon::prelude::*;

use super::super::shuffle;
use crate::error::{Error, Result};
use crate::threads;

/// A filter of the Blosc pipeline, by its id in the chunk header (python-blosc2's `Filter`
/// values). Blosc1 chunks hold one byte shuffle or bit shuffle, named by header flags.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
#[repr(u8)]
pub enum Filter {
    /// No filter (0).
    #[default]
    NoFilter = 0,
    /// Byte shuffle (1); its meta, when nonzero, is the byte-group size.
    Shuffle = 1,
    /// Bit shuffle (2).
    BitShuffle = 2,
    /// XOR delta against the chunk's first block (3).
    Delta = 3,
    /// Truncates float mantissas to `meta` bits (4; lossy, nothing to undo).
    TruncPrec = 4,
    /// Byte-wise delta within each of the `meta` byte planes of a block (35; c-blosc2's fixed
    /// `bytedelta` plugin, meant to follow a byte shuffle); `meta` is the typesize, 0 for the
    /// chunk's typesize.
    ByteDelta = 35,
}

impl Filter {
    /// The six-slot pipeline that holds `filter` in its last slot and no filter elsewhere (the
    /// Blosc1 layout, and python-blosc2's default with [`Filter::Shuffle`]).
    pub(crate) const fn last_slot(filter: Filter) -> [Filter; 6] {
        let mut slots = [Filter::NoFilter; 6];
        slots[5] = filter;
        slots
    }

    /// The filter id stored in the header.
    pub fn code(self) -> u8 {
        self as u8
    }

    /// The filter with header id `byte`, if ndpack knows it.
    pub(crate) fn from_byte(byte: u8) -> Option<Self> {
        Some(match byte {
            0 => Filter::NoFilter,
            1 => Filter::Shuffle,
            2 => Filter::BitShuffle,
            3 => Filter::Delta,
            4 => Filter::TruncPrec,
            35 => Filter::ByteDelta,
            _ => return None,
        })
    }

    /// The filter with id `code`.
    pub fn from_code(code: i64) -> Result<Self> {
        u8::try_from(code)
            .ok()
            .and_then(Filter::from_byte)
            .ok_or_else(|| {
                Error::invalid_argument(format!(
                    "Blosc2 filter {code} is not supported (0-4: nofilter, shuffle, bitshuffle, delta, trunc_prec; 35: bytedelta)"
                ))
            })
    }

    /// The filter named `name` (`"shuffle"`, `"bitshuffle"`, `"delta"`, `"trunc_prec"`,
    /// `"bytedelta"`, `"nofilter"`), case-insensitive.
    pub fn from_name(name: &str) -> Result<Self> {
        Ok(match name.to_ascii_lowercase().as_str() {
            "nofilter" | "none" => Filter::NoFilter,
            "shuffle" => Filter::Shuffle,
            "bitshuffle" => Filter::BitShuffle,
            "delta" => Filter::Delta,
            "trunc_prec" => Filter::TruncPrec,
            "bytedelta" => Filter::ByteDelta,
            _ => {
                return Err(Error::invalid_argument(format!(
                    "unknown Blosc2 filter {name:?}"
                )))
            }
        })
    }
}

/// The byte-group size of a byte shuffle with `meta` over items of `ts` bytes: a nonzero meta
/// in Blosc2 chunks, else the typesize.
pub(crate) fn shuffle_group(extended: bool, meta: u8, ts: usize) -> usize {
    if extended && meta != 0 {
        usize::from(meta)
    } else {
        ts
    }
}

/// Whether a byte shuffle in groups of `gs` bytes changes a block of `bsize` bytes.
pub(crate) fn shuffle_applies(gs: usize, bsize: usize) -> bool {
    gs > 1 && bsize >= gs
}

/// Whether the bit shuffle applies to a block of `bsize` bytes of `ts`-byte items: Blosc2 needs
/// one whole group of 8 items, Blosc1 a whole number of groups.
pub(crate) fn bitshuffle_applies(extended: bool, bsize: usize, ts: usize) -> bool {
    if extended {
        bsize >= ts * 8
    } else {
        bsize >= ts && (bsize / ts).is_multiple_of(8)
    }
}

/// DELTA's word size for a typesize.
pub(crate) fn delta_word(ts: usize) -> usize {
    match ts {
        1 | 2 | 4 | 8 => ts,
        t if t % 8 == 0 => 8,
        _ => 1,
    }
}

/// Undoes DELTA in place: block 0 (`block0 == None`) is a running XOR of words, other blocks XOR
/// the decoded block 0 at the same position. A tail shorter than a word is left alone.
pub(crate) fn delta_decode(data: &mut [u8], block0: Option<&[u8]>, w: usize) {
    let n = data.len() / w * w;
    match block0 {
        None => {
            for k in w..n {
                data[k] ^= data[k - w];
            }
        }
        Some(r) => {
            for (d, s) in data[..n].iter_mut().zip(r) {
                *d ^= s;
            }
        }
    }
}

/// Applies DELTA: `reference` is block 0 of the raw chunk input (c-blosc2's rule).
pub(crate) fn delta_encode(src: &[u8], dst: &mut [u8], reference: &[u8], first: bool, w: usize) {
    let n = src.len() / w * w;
    if first {
        dst[..w.min(n)].copy_from_slice(&reference[..w.min(n)]);
        for k in w..n {
            dst[k] = src[k] ^ reference[k - w];
        }
    } else {
        for k in 0..n {
            dst[k] = src[k] ^ reference[k];
        }
    }
    dst[n..].copy_from_slice(&src[n..]);
}

/// BYTEDELTA's plane count: its meta, or the typesize when the meta is 0 (c-blosc2 then takes
/// the super-chunk's typesize, which is the chunk's).
pub(crate) fn bytedelta_planes(meta: u8, ts: usize) -> usize {
    if meta == 0 {
        ts.max(1)
    } else {
        usize::from(meta)
    }
}

/// Applies BYTEDELTA to a block: `src` is read as `planes` planes of `src.len() / planes` bytes,
/// each stored as the byte-wise (wrapping) difference to its previous byte, the first against 0;
/// a tail shorter than `planes` bytes is copied (c-blosc2 3.3.3 and later).
pub(crate) fn bytedelta_encode(src: &[u8], dst: &mut [u8], planes: usize) {
    let len = src.len() / planes;
    let n = len * planes;
    if len > 0 {
        for (s, d) in src[..n]
            .chunks_exact(len)
            .zip(dst[..n].chunks_exact_mut(len))
        {
            let mut prev = 0u8;
            for (&v, o) in s.iter().zip(d) {
                *o = v.wrapping_sub(prev);
                prev = v;
            }
        }
    }
    dst[n..src.len()].copy_from_slice(&src[n..]);
}

/// Undoes BYTEDELTA (see [`bytedelta_encode`]): a running byte sum within each plane.
pub(crate) fn bytedelta_decode(src: &[u8], dst: &mut [u8], planes: usize) {
    let len = src.len() / planes;
    let n = len * planes;
    if len > 0 {
        for (s, d) in src[..n]
            .chunks_exact(len)
            .zip(dst[..n].chunks_exact_mut(len))
        {
            let mut acc = 0u8;
            for (&v, o) in s.iter().zip(d) {
                acc = acc.wrapping_add(v);
                *o = acc;
            }
        }
    }
    dst[n..src.len()].copy_from_slice(&src[n..]);
}

/// TRUNC_PREC: keeps `prec` mantissa bits (negative: zeroes `-prec` bits) of f32/f64 items.
pub(crate) fn trunc_prec_check(ts: usize, prec: i8) -> Result<u32> {
    let mant: i32 = match ts {
        4 => 23,
        8 => 52,
        _ => {
            return Err(Error::invalid_argument(format!(
                "TRUNC_PREC needs typesize 4 or 8, got {ts}"
            )))
        }
    };
    let p = i32::from(prec);
    let zeroed = if p >= 0 { mant - p } else { -p };
    if p.abs() > mant || zeroed >= mant || zeroed < 0 {
        return Err(Error::invalid_argument(format!(
            "TRUNC_PREC precision {prec} is out of range for typesize {ts}"
        )));
    }
    Ok(zeroed as u32)
}

pub(crate) fn trunc_prec(src: &[u8], dst: &mut [u8], ts: usize, zeroed: u32) {
    let n = src.len() / ts * ts;
    if ts == 4 {
        let mask = !((1u32 << zeroed) - 1);
        for (d, s) in dst[..n].chunks_exact_mut(4).zip(src.chunks_exact(4)) {
            let v = u32::from_le_bytes([s[0], s[1], s[2], s[3]]) & mask;
            d.copy_from_slice(&v.to_le_bytes());
        }
    } else {
        let mask = !((1u64 << zeroed) - 1);
        for (d, s) in dst[..n].chunks_exact_mut(8).zip(src.chunks_exact(8)) {
            let v = u64::from_le_bytes(s.try_into().expect("8 bytes")) & mask;
            d.copy_from_slice(&v.to_le_bytes());
        }
    }
    dst[n..].copy_from_slice(&src[n..]);
}

/// How many of a block's `nitems` items each of `pieces` threads shuffles or unshuffles: a
/// multiple of 64 items, the kernels' widest step.
pub(crate) fn items_per_piece(nitems: usize, pieces: usize) -> usize {
    nitems.div_ceil(pieces.max(1)).next_multiple_of(64)
}

/// Byte-shuffles the items of `src` into `dst` (the same size, a whole number of items) in
/// `pieces` parallel pieces, each written straight into its slice of every plane. `false`,
/// writing nothing, when there is no kernel for that (see [`shuffle::shuffle_rows`]).
pub(crate) fn shuffle_par(ts: usize, src: &[u8], dst: &mut [u8], pieces: usize) -> bool {
    let nitems = src.len() / ts;
    if !shuffle::has_shuffle_rows(ts) || nitems == 0 {
        return false;
    }
    let per = items_per_piece(nitems, pieces);
    let mut jobs: Vec<(&[u8], Vec<&mut [u8]>)> = src
        .chunks(per * ts)
        .map(|s| (s, Vec::with_capacity(ts)))
        .collect();
    for plane in dst.chunks_exact_mut(nitems) {
        for (job, piece) in jobs.iter_mut().zip(plane.chunks_mut(per)) {
            job.1.push(piece);
        }
    }
    threads::install(|| {
        jobs.into_par_iter()
            .all(|(s, mut rows)| shuffle::shuffle_rows(s, &mut rows))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bytedelta_works_plane_by_plane_and_copies_the_tail() {
        // Two planes of 3 bytes, then a 1-byte tail (c-blosc2 3.3.3 and later copy it).
        let src = [10u8, 12, 11, 200, 100, 0, 77];
        let mut enc = [0u8; 7];
        bytedelta_encode(&src, &mut enc, 2);
        assert_eq!(enc, [10, 2, 255, 200, 156, 156, 77]);
        let mut dec = [0u8; 7];
        bytedelta_decode(&enc, &mut dec, 2);
        assert_eq!(dec, src);
        // More planes than bytes: every byte is tail.
        bytedelta_encode(&src, &mut enc, 9);
        assert_eq!(enc, src);
        assert_eq!(bytedelta_planes(0, 4), 4);
        assert_eq!(bytedelta_planes(3, 4), 3);
        assert_eq!(Filter::from_name("ByteDelta").unwrap(), Filter::ByteDelta);
        assert_eq!(Filter::from_code(35).unwrap().code(), 35);
        assert!(Filter::from_code(34).is_err());
    }
}
