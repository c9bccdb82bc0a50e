//! Byte shuffle and unshuffle with c-blosc's layout: byte `j` of item `i` goes to
//! `dst[j * nitems + i]`; the trailing `len % typesize` bytes are copied unshuffled.
//!
//! The kernels are those of [`Isa::best`], the CPU's best level, detected once; the `*_isa`
//! functions run those of a given level, for tests and benchmarks.

use std::mem::MaybeUninit;

pub(crate) use super::as_uninit;
pub use super::Isa;
use super::{
    portable, shuffle_kernel, shuffle_rows_kernel, unshuffle_kernel, unshuffle_rows_kernel,
};

/// Shuffles `src` into `dst` (same length) for items of `typesize` bytes.
///
/// # Panics
/// If `src` and `dst` have different lengths.
pub fn shuffle(typesize: usize, src: &[u8], dst: &mut [u8]) {
    shuffle_isa(Isa::best(), typesize, src, dst)
}

/// Reverses [`shuffle`].
///
/// # Panics
/// If `src` and `dst` have different lengths.
pub fn unshuffle(typesize: usize, src: &[u8], dst: &mut [u8]) {
    unshuffle_isa(Isa::best(), typesize, src, dst)
}

pub_for_benches! {
    /// [`shuffle`] with the kernels of `isa` (for tests and benchmarks).
    ///
    /// # Panics
    /// If `src` and `dst` have different lengths or `isa` is not available on this CPU.
    fn shuffle_isa(isa: Isa, typesize: usize, src: &[u8], dst: &mut [u8]) {
        assert_eq!(src.len(), dst.len(), "shuffle needs equal lengths");
        isa.check();
        shuffle_kernel(isa, typesize, src, dst)
    }
}

pub_for_benches! {
    /// [`unshuffle`] with the kernels of `isa` (for tests and benchmarks).
    ///
    /// # Panics
    /// If `src` and `dst` have different lengths or `isa` is not available on this CPU.
    fn unshuffle_isa(isa: Isa, typesize: usize, src: &[u8], dst: &mut [u8]) {
        // SAFETY: the unshuffle kernels write only initialised bytes through the view.
        unshuffle_isa_uninit(isa, typesize, src, unsafe { as_uninit(dst) })
    }
}

/// [`unshuffle`] into a destination that may be uninitialised (every byte gets written), so
/// that a decoder can unshuffle straight into fresh output memory.
pub(crate) fn unshuffle_uninit(typesize: usize, src: &[u8], dst: &mut [MaybeUninit<u8>]) {
    unshuffle_isa_uninit(Isa::best(), typesize, src, dst)
}

/// Unshuffles `typesize` separate byte planes (`rows[j]` holds byte `j` of every item, all of
/// `dst.len() / typesize` bytes) into `dst`, which may be uninitialised. A decoder passes the
/// stored (uncompressed) streams of a block straight from the chunk, saving their copy. Returns
/// `false`, writing nothing, when no fused kernel exists for this typesize on this CPU.
pub(crate) fn unshuffle_rows(rows: &[&[u8]], dst: &mut [MaybeUninit<u8>]) -> bool {
    let ts = rows.len();
    if ts == 0 || !dst.len().is_multiple_of(ts) || rows.iter().any(|r| r.len() != dst.len() / ts) {
        return false;
    }
    unshuffle_rows_kernel(rows, dst)
}

/// Shuffles the whole items of `src` into `rows.len()` (the typesize) separate byte planes:
/// `rows[j]` (each `src.len() / typesize` bytes) receives byte `j` of every item. The encoder
/// shuffles pieces of a block in parallel with it, each straight into its slice of the block's
/// planes. Returns `false`, writing nothing, when no kernel exists for this typesize on this CPU
/// (see [`has_shuffle_rows`]).
pub(crate) fn shuffle_rows(src: &[u8], rows: &mut [&mut [u8]]) -> bool {
    let ts = rows.len();
    if !has_shuffle_rows(ts)
        || !src.len().is_multiple_of(ts)
        || rows.iter().any(|r| r.len() != src.len() / ts)
    {
        return false;
    }
    shuffle_rows_kernel(src, rows)
}

/// Whether [`shuffle_rows`] has a kernel for `typesize` on this CPU.
pub(crate) fn has_shuffle_rows(typesize: usize) -> bool {
    cfg!(any(target_arch = "x86", target_arch = "x86_64"))
        && Isa::best() >= Isa::Avx512
        && matches!(typesize, 2 | 4 | 8 | 16)
}

/// Whether [`unshuffle_rows`] has a kernel for `typesize` on this CPU.
pub(crate) fn has_unshuffle_rows(typesize: usize) -> bool {
    cfg!(any(target_arch = "x86", target_arch = "x86_64"))
        && Isa::best() >= Isa::Avx2
        && matches!(typesize, 2 | 4 | 8 | 16)
}

fn unshuffle_isa_uninit(isa: Isa, typesize: usize, src: &[u8], dst: &mut [MaybeUninit<u8>]) {
    assert_eq!(src.len(), dst.len(), "unshuffle needs equal lengths");
    isa.check();
    unshuffle_kernel(isa, typesize, src, dst)
}

pub_for_benches! {
    /// The portable reference implementation of [`shuffle`].
    fn shuffle_portable(typesize: usize, src: &[u8], dst: &mut [u8]) {
        portable::shuffle(typesize, src, dst)
    }
}

pub_for_benches! {
    /// The portable reference implementation of [`unshuffle`].
    fn unshuffle_portable(typesize: usize, src: &[u8], dst: &mut [u8]) {
        // SAFETY: the portable unshuffle writes only initialised bytes through the view.
        portable::unshuffle_uninit(typesize, src, unsafe { as_uninit(dst) })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn layout_and_round_trip() {
        let src: Vec<u8> = (0..11).collect();
        let mut dst = vec![0; 11];
        shuffle(4, &src, &mut dst);
        assert_eq!(dst, vec![0, 4, 1, 5, 2, 6, 3, 7, 8, 9, 10]);
        let mut back = vec![0; 11];
        unshuffle(4, &dst, &mut back);
        assert_eq!(back, src);
    }

    /// 100,000 pseudo-random bytes: a multiplicative hash of the index shifted right by `shift`.
    fn sample(shift: u32) -> Vec<u8> {
        (0..100_000usize)
            .map(|i| (i.wrapping_mul(2_654_435_761) >> shift) as u8)
            .collect()
    }

    #[test]
    fn unshuffle_rows_matches_unshuffle() {
        let data = sample(13);
        for ts in [2usize, 4, 8, 16, 3] {
            for nitems in [0usize, 1, 31, 32, 33, 1000, 4099] {
                let src = &data[..nitems * ts];
                let mut shuffled = vec![0u8; src.len()];
                shuffle_portable(ts, src, &mut shuffled);
                // Each plane in its own buffer, as stored streams sit in a chunk.
                let planes: Vec<Vec<u8>> =
                    shuffled.chunks(nitems.max(1)).map(<[u8]>::to_vec).collect();
                let rows: Vec<&[u8]> = (0..ts)
                    .map(|j| planes.get(j).map_or(&[][..], |p| &p[..]))
                    .collect();
                let mut out = vec![MaybeUninit::new(0xAAu8); src.len()];
                if unshuffle_rows(&rows, &mut out) {
                    assert!(has_unshuffle_rows(ts));
                    // SAFETY: `out` was initialised (0xAA) and overwritten with bytes.
                    let got: Vec<u8> = out.iter().map(|b| unsafe { b.assume_init() }).collect();
                    assert_eq!(got, src, "ts {ts} nitems {nitems}");
                } else {
                    assert!(!has_unshuffle_rows(ts) || nitems == 0, "ts {ts}");
                }
            }
        }
    }

    #[test]
    fn shuffle_rows_matches_shuffle() {
        let data = sample(11);
        for ts in [2usize, 4, 8, 16, 3] {
            for nitems in [0usize, 1, 63, 64, 65, 1000, 4099] {
                let src = &data[..nitems * ts];
                let mut want = vec![0u8; src.len()];
                shuffle_portable(ts, src, &mut want);
                // Each plane in its own buffer, poisoned.
                let mut planes = vec![vec![0xAAu8; nitems]; ts];
                let mut rows: Vec<&mut [u8]> = planes.iter_mut().map(|p| &mut p[..]).collect();
                if shuffle_rows(src, &mut rows) {
                    assert!(has_shuffle_rows(ts));
                    assert_eq!(planes.concat(), want, "ts {ts} nitems {nitems}");
                } else {
                    assert!(!has_shuffle_rows(ts), "ts {ts}");
                    assert!(planes.iter().flatten().all(|&b| b == 0xAA), "wrote nothing");
                }
            }
        }
    }

    /// Item counts around the AVX-512 group (64 items) and the AVX2 group (32), and byte tails of
    /// 0, 1 and `typesize - 1` bytes, so that every kernel's last group and the scalar
    /// remainder meet at each possible place.
    #[test]
    fn every_isa_matches_portable_at_group_edges() {
        let data: Vec<u8> = (0..40_000usize)
            .map(|i| (i.wrapping_mul(2_246_822_519) >> 15) as u8)
            .collect();
        for isa in Isa::available() {
            for ts in [2usize, 3, 4, 5, 7, 8, 12, 16, 17, 24] {
                for items in [31usize, 32, 33, 63, 64, 65, 95, 127, 128, 129, 200, 1023] {
                    for extra in [0, 1, ts - 1] {
                        let len = items * ts + extra;
                        let src = &data[7..7 + len];
                        let mut want = vec![0u8; len];
                        let mut got = vec![0x3Cu8; len];
                        shuffle_portable(ts, src, &mut want);
                        shuffle_isa(isa, ts, src, &mut got);
                        assert_eq!(got, want, "shuffle {isa:?} ts {ts} len {len}");
                        let mut back = vec![0xC3u8; len];
                        unshuffle_isa(isa, ts, &want, &mut back);
                        assert_eq!(back, src, "unshuffle {isa:?} ts {ts} len {len}");
                    }
                }
            }
        }
    }

    #[test]
    fn every_isa_matches_portable() {
        let data: Vec<u8> = (0..(1usize << 20) + 123)
            .map(|i| (i.wrapping_mul(2_654_435_761) >> 13) as u8)
            .collect();
        let lens = [
            0usize, 1, 2, 3, 15, 16, 17, 31, 63, 64, 65, 100, 255, 256, 257, 1000, 4096, 4099,
            65_536, 100_003,
        ];
        for isa in Isa::available() {
            for ts in [
                1usize, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16, 17, 24, 32, 33, 64, 255,
            ] {
                for &len in &lens {
                    // An odd start makes the slices unaligned.
                    let src = &data[3..3 + len];
                    let mut want = vec![0u8; len];
                    let mut got = vec![0xAAu8; len];
                    shuffle_portable(ts, src, &mut want);
                    shuffle_isa(isa, ts, src, &mut got);
                    assert_eq!(got, want, "shuffle {isa:?} ts {ts} len {len}");
                    let mut back = vec![0x55u8; len];
                    unshuffle_isa(isa, ts, &want, &mut back);
                    assert_eq!(back, src, "unshuffle {isa:?} ts {ts} len {len}");
                }
                let big = &data[1..];
                let mut want = vec![0u8; big.len()];
                let mut got = vec![0u8; big.len()];
                shuffle_portable(ts, big, &mut want);
                shuffle_isa(isa, ts, big, &mut got);
                assert!(got == want, "shuffle {isa:?} ts {ts} 1 MB");
                unshuffle_isa(isa, ts, &want, &mut got);
                assert!(got == big, "unshuffle {isa:?} ts {ts} 1 MB");
            }
        }
    }
}
