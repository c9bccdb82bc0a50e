//! Default chunk and block shapes from the CPU's cache sizes, by python-blosc2 4.15's rule
//! (`blosc2.core.compute_chunks_blocks`, `get_chunksize`, `compute_partition` and the
//! extension's `nearest_divisor`), so that an array ndpack creates without explicit shapes is cut
//! as python-blosc2 would cut it on the same machine.
//!
//! The rule in short: a block of 32 KiB, raised to a cache-dependent floor (on x86-64 a quarter
//! of L2, or 4 × L1d when L2 ≥ 2 MiB; L1d on Apple silicon and elsewhere), a chunk of L3 / 4
//! (at least L2 / 4 and 4 MiB), each shape filled from the last dimension backwards with sizes
//! snapped to divisors of the dimension. As in python-blosc2, a block shape given without a
//! chunk shape only sets the block's size in bytes.

use std::sync::OnceLock;

use crate::blosc::v2::MAX_BUFFERSIZE;
use crate::error::{Error, Result};

/// The largest block python-blosc2 accepts (`blosc2.MAX_BLOCKSIZE`).
pub const MAX_BLOCKSIZE: usize = 536_866_816;

/// The kind of machine, as python-blosc2 tells them apart (`platform.machine()` and
/// `platform.system()`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Platform {
    /// `x86_64` (any system).
    X86_64,
    /// Apple silicon (`Darwin` on `arm*`).
    AppleArm,
    /// Anything else.
    Other,
}

impl Platform {
    /// The platform this code runs on.
    pub fn current() -> Platform {
        if cfg!(target_arch = "x86_64") {
            Platform::X86_64
        } else if cfg!(all(target_os = "macos", target_arch = "aarch64")) {
            Platform::AppleArm
        } else {
            Platform::Other
        }
    }
}

/// The cache sizes the rule looks at, in bytes (`None` where unknown).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct CacheInfo {
    /// The machine kind.
    pub platform: Platform,
    /// The level-1 data cache of one core.
    pub l1d: Option<usize>,
    /// The level-2 cache.
    pub l2: Option<usize>,
    /// The level-3 cache.
    pub l3: Option<usize>,
}

impl CacheInfo {
    /// This machine's caches: read once from `/sys/devices/system/cpu/cpu0/cache` on Linux
    /// (what py-cpuinfo reports there); unknown elsewhere.
    pub fn detect() -> CacheInfo {
        static INFO: OnceLock<CacheInfo> = OnceLock::new();
        *INFO.get_or_init(|| {
            let mut info = CacheInfo {
                platform: Platform::current(),
                l1d: None,
                l2: None,
                l3: None,
            };
            for i in 0..8 {
                let dir = format!("/sys/devices/system/cpu/cpu0/cache/index{i}");
                let read = |f: &str| std::fs::read_to_string(format!("{dir}/{f}")).ok();
                let (Some(level), Some(kind), Some(size)) =
                    (read("level"), read("type"), read("size"))
                else {
                    continue;
                };
                let Some(bytes) = parse_size(size.trim()) else {
                    continue;
                };
                match (level.trim(), kind.trim()) {
                    ("1", "Data") => info.l1d = Some(bytes),
                    ("2", "Unified" | "Data") => info.l2 = Some(bytes),
                    ("3", "Unified" | "Data") => info.l3 = Some(bytes),
                    _ => {}
                }
            }
            info
        })
    }
}

/// `"48K"`, `"2048K"`, `"32M"` or a plain number of bytes.
fn parse_size(s: &str) -> Option<usize> {
    let (digits, mult) = match s.as_bytes().last()? {
        b'K' => (&s[..s.len() - 1], 1 << 10),
        b'M' => (&s[..s.len() - 1], 1 << 20),
        b'G' => (&s[..s.len() - 1], 1 << 30),
        _ => (s, 1),
    };
    digits.parse::<usize>().ok()?.checked_mul(mult)
}

/// The chunk and block shapes python-blosc2 4.15 picks for an array of `shape` with
/// `itemsize`-byte items when `chunks` and/or `blocks` are not given, on a machine with
/// `cache`. Given shapes are checked as python-blosc2 checks them (same length as `shape`, no 0
/// where the dimension is not 0, blocks not larger than chunks).
///
/// ```
/// use ndpack::array::b2nd::{compute_chunks_blocks, CacheInfo, Platform};
/// let cache = CacheInfo { platform: Platform::X86_64, l1d: Some(48 << 10), l2: Some(2 << 20),
///                         l3: Some(480 << 20) };
/// let (chunks, blocks) = compute_chunks_blocks(&[1000, 1000], None, None, 8, &cache)?;
/// assert_eq!((chunks, blocks), (vec![1000, 1000], vec![20, 1000]));
/// # Ok::<(), ndpack::Error>(())
/// ```
pub fn compute_chunks_blocks(
    shape: &[usize],
    chunks: Option<&[usize]>,
    blocks: Option<&[usize]>,
    itemsize: usize,
    cache: &CacheInfo,
) -> Result<(Vec<usize>, Vec<usize>)> {
    if itemsize == 0 {
        return Err(Error::invalid_argument("items of 0 bytes cannot be stored"));
    }
    if shape.contains(&0) && chunks.is_none() && blocks.is_none() {
        return Ok((shape.to_vec(), shape.to_vec()));
    }
    for (given, what) in [(blocks, "blocks"), (chunks, "chunks")] {
        if let Some(g) = given {
            if g.len() != shape.len() {
                return Err(Error::invalid_argument(format!(
                    "{what} {g:?} should have the same length as shape {shape:?}"
                )));
            }
            if g.iter().zip(shape).any(|(&c, &n)| c == 0 && n != 0) {
                return Err(Error::invalid_argument(format!(
                    "{what} {g:?} cannot contain 0 where shape {shape:?} is not 0"
                )));
            }
        }
    }
    if let (Some(c), Some(b)) = (chunks, blocks) {
        if b.iter().zip(c).any(|(b, c)| b > c) {
            return Err(Error::invalid_argument(format!(
                "blocks {b:?} cannot be greater than chunks {c:?}"
            )));
        }
        return Ok((c.to_vec(), b.to_vec()));
    }
    let blocksize = match blocks {
        Some(b) => b
            .iter()
            .try_fold(itemsize, |a, &d| a.checked_mul(d))
            .unwrap_or(usize::MAX),
        None => {
            let mut blocksize = 32 << 10;
            let min_blocksize = match cache.platform {
                Platform::X86_64 => match (cache.l1d, cache.l2) {
                    (Some(l1), Some(l2)) if l2 >= 1 << 21 => l1 * 4,
                    (_, Some(l2)) => l2 / 4,
                    // py-cpuinfo always reports L2 on x86-64; without it the rule would fail.
                    _ => blocksize,
                },
                Platform::AppleArm | Platform::Other => cache.l1d.unwrap_or(blocksize),
            };
            blocksize = blocksize.max(min_blocksize);
            blocksize.max(itemsize)
        }
    };
    if blocksize > MAX_BLOCKSIZE {
        return Err(Error::invalid_argument(format!(
            "blocksize {blocksize} is too large: it cannot exceed MAX_BLOCKSIZE ({MAX_BLOCKSIZE})"
        )));
    }
    let maxshape = chunks.unwrap_or(shape);
    let blocks = compute_partition(blocksize / itemsize, maxshape, None)?;
    let chunks = match chunks {
        Some(c) => c.to_vec(),
        None => {
            let blocksize = blocks.iter().product::<usize>() * itemsize;
            let mut chunksize = get_chunksize(blocksize, 4, cache);
            if !chunksize.is_multiple_of(blocksize) {
                chunksize = chunksize / blocksize * blocksize;
            }
            let chunks = compute_partition(chunksize / itemsize, shape, Some(&blocks))?;
            chunks
                .iter()
                .zip(shape)
                .zip(&blocks)
                .map(|((&c, &s), &b)| s.min(c.div_ceil(b) * b))
                .collect()
        }
    };
    Ok((chunks, blocks))
}

/// python-blosc2's `get_chunksize(blocksize, reduc_factor=reduc)`.
fn get_chunksize(blocksize: usize, reduc: usize, cache: &CacheInfo) -> usize {
    const L3_MINIMUM: usize = 4 << 20;
    const L3_MAXIMUM: usize = 1 << 26;
    let mut chunksize = blocksize;
    if blocksize.saturating_mul(32) < L3_MAXIMUM {
        chunksize = blocksize * 32;
    }
    if let Some(l3) = cache.l3 {
        if l3 > 0 && cache.l2.is_some_and(|l2| l3 > l2) {
            chunksize = l3;
        }
        chunksize /= reduc;
    }
    if let Some(l2) = cache.l2 {
        if l2 > chunksize {
            chunksize = if cache.platform == Platform::AppleArm {
                l2
            } else {
                (l2 / reduc).max(chunksize)
            };
        }
    }
    chunksize = chunksize.clamp(L3_MINIMUM, MAX_BUFFERSIZE);
    chunksize.max(blocksize)
}

/// python-blosc2's `compute_partition(nitems, maxshape, minpart)`: a shape of about `nitems`
/// items inside `maxshape`, filled from the last dimension backwards.
fn compute_partition(
    nitems: usize,
    maxshape: &[usize],
    minpart: Option<&[usize]>,
) -> Result<Vec<usize>> {
    if maxshape.contains(&0) {
        return Err(Error::invalid_argument(
            "shapes with 0 dims are not supported",
        ));
    }
    if nitems == 0 {
        return Err(Error::invalid_argument(
            "zero-sized partitions are not supported",
        ));
    }
    let nd = maxshape.len();
    let mut max_items = nitems;
    let mut partition = vec![1; nd];
    for i in (0..nd).rev() {
        if max_items <= 1 {
            break;
        }
        let size = maxshape[i];
        let minsize = minpart.map_or(1, |m| m[i]);
        let mut rsize = size.max(minsize);
        if rsize <= max_items {
            if !size.is_multiple_of(rsize) {
                rsize = nearest_divisor(size, rsize, false);
            }
        } else {
            rsize = max_items.max(minsize);
            let new_rsize = if size.is_multiple_of(rsize) {
                rsize
            } else {
                nearest_divisor(size, rsize, true)
            };
            if rsize / 2 < new_rsize && new_rsize < rsize.saturating_mul(2) {
                rsize = new_rsize;
            }
        }
        partition[i] = rsize;
        max_items /= rsize;
    }
    Ok(partition)
}

/// The divisor of `a` closest to `b` (python-blosc2's `nearest_divisor`): for `a` above
/// 100 000 or `strict`, the largest divisor not above `b`; otherwise the closest either side
/// (the smaller on a tie).
fn nearest_divisor(a: usize, b: usize, strict: bool) -> usize {
    if a > 100_000 || strict {
        // Divisors of `a > 0` are at most `a`.
        let mut i = b.min(a);
        while i > 0 {
            if a.is_multiple_of(i) {
                return i;
            }
            i -= 1;
        }
        return 1;
    }
    let mut closest = 1;
    let mut min_diff = a;
    let mut found = false;
    let mut i = 1;
    while i * i <= a {
        if a.is_multiple_of(i) {
            for d in [i, a / i] {
                let diff = d.abs_diff(b);
                if diff < min_diff {
                    min_diff = diff;
                    closest = d;
                    found = true;
                }
            }
        }
        i += 1;
    }
    if found {
        closest
    } else {
        1
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn dims(s: &str) -> Option<Vec<usize>> {
        match s.trim() {
            "N" => None,
            "-" => Some(Vec::new()),
            t => Some(t.split(',').map(|d| d.parse().unwrap()).collect()),
        }
    }

    fn opt(s: &str) -> Option<usize> {
        (s != "N").then(|| s.parse().unwrap())
    }

    /// Every row of python-blosc2 4.15's table (`testdata/partitions.py`).
    #[test]
    fn matches_python_blosc2() {
        let text = include_str!("testdata/partitions.txt");
        let mut n = 0;
        for line in text.lines() {
            let (args, want) = line.split_once(" => ").unwrap();
            let f: Vec<&str> = args.split(" | ").collect();
            let c: Vec<&str> = f[0].split_whitespace().collect();
            let platform = match (c[0], c[1]) {
                ("x86_64", _) => Platform::X86_64,
                (m, "Darwin") if m.starts_with("arm") => Platform::AppleArm,
                _ => Platform::Other,
            };
            let cache = CacheInfo {
                platform,
                l1d: opt(c[2]),
                l2: opt(c[3]),
                l3: opt(c[4]),
            };
            let shape = dims(f[1]).unwrap();
            let (chunks, blocks) = (dims(f[2]), dims(f[3]));
            let itemsize: usize = f[4].trim().parse().unwrap();
            let got = compute_chunks_blocks(
                &shape,
                chunks.as_deref(),
                blocks.as_deref(),
                itemsize,
                &cache,
            );
            match want {
                "E" => assert!(got.is_err(), "{line}: {got:?}"),
                w => {
                    let (wc, wb) = w.split_once(" | ").unwrap();
                    let got = got.unwrap_or_else(|e| panic!("{line}: {e}"));
                    assert_eq!(got, (dims(wc).unwrap(), dims(wb).unwrap()), "{line}");
                }
            }
            n += 1;
        }
        assert_eq!(n, 2016);
    }

    #[test]
    fn nearest_divisors_and_sizes() {
        for (a, b, loose, strict) in [
            (10, 3, 2, 2),
            (100, 7, 5, 5),
            (30, 16, 15, 15),
            (7, 5, 7, 1),
            (12, 5, 6, 4),
        ] {
            assert_eq!(nearest_divisor(a, b, false), loose, "{a} {b}");
            assert_eq!(nearest_divisor(a, b, true), strict, "{a} {b}");
        }
        assert_eq!(parse_size("48K"), Some(48 << 10));
        assert_eq!(parse_size("2M"), Some(2 << 20));
        assert_eq!(parse_size("x"), None);
        let c = CacheInfo::detect();
        assert_eq!(c.platform, Platform::current());
    }
}
