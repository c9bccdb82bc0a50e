//! The Blosc1 chunk format, exactly as c-blosc 1.x and numcodecs' `Blosc` write it: the 16-byte
//! header, shuffle/bitshuffle flags, c-blosc's automatic blocksize and split rules, memcpyed
//! chunks, and the numcodecs module helpers (`getitem`, `cbuffer_sizes`,
//! `cbuffer_complib`, `cbuffer_metainfo`, `list_compressors`).
//!
//! ```
//! use ndpack::blosc::v1::{compress, decompress, Options, Shuffle};
//! use ndpack::blosc::Compressor;
//! let data: Vec<u8> = (0..100_000u32).flat_map(|i| i.to_le_bytes()).collect();
//! let opts = Options { compressor: Compressor::Lz4, clevel: 5, shuffle: Shuffle::Shuffle, typesize: 4, blocksize: 0 };
//! let chunk = compress(&data, &opts).unwrap();
//! assert!(chunk.len() < data.len() / 10);
//! assert_eq!(decompress(&chunk).unwrap(), data);
//! ```
//!
//! The decoders here read Blosc2 chunks too (the format versions are distinguished by the header).

use super::chunk::{
    check_compress_sizes, check_input_size, put, vec_with, write_header16, Chunk, EncodeSpec,
    Filter, Header, FLAG_BITSHUFFLE, FLAG_DONT_SPLIT, FLAG_MEMCPYED, FLAG_SHUFFLE, HEADER_LEN,
};
use super::compressor::Compressor;
use std::mem::MaybeUninit;

use crate::error::{Error, Result};

pub use super::compressor::list_compressors;

/// The Blosc1 format version written in byte 0.
pub const VERSION_FORMAT: u8 = 2;
/// The largest header overhead of a Blosc1 chunk (`BLOSC_MAX_OVERHEAD`).
pub const MAX_OVERHEAD: usize = HEADER_LEN;
/// Inputs smaller than this are always stored memcpyed (`BLOSC_MIN_BUFFERSIZE`).
pub const MIN_BUFFERSIZE: usize = 128;
/// The largest typesize a header can hold; larger items are compressed as bytes.
pub const MAX_TYPESIZE: usize = 255;
/// The largest blocksize c-blosc accepts.
pub const MAX_BLOCKSIZE: usize = (i32::MAX as usize - 255 * 4) / 3;
/// The largest input of a Blosc1 chunk.
pub const MAX_BUFFERSIZE: usize = i32::MAX as usize - MAX_OVERHEAD;

const L1: usize = 32 * 1024;

/// The shuffle mode of numcodecs' `Blosc` (`NOSHUFFLE` 0, `SHUFFLE` 1, `BITSHUFFLE` 2,
/// `AUTOSHUFFLE` -1).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Shuffle {
    /// No shuffle.
    NoShuffle,
    /// Byte shuffle.
    Shuffle,
    /// Bit shuffle.
    BitShuffle,
    /// Bit shuffle for 1-byte items, byte shuffle otherwise (resolved at compression).
    AutoShuffle,
}

impl Shuffle {
    /// numcodecs' integer value.
    pub fn value(self) -> i32 {
        match self {
            Shuffle::NoShuffle => 0,
            Shuffle::Shuffle => 1,
            Shuffle::BitShuffle => 2,
            Shuffle::AutoShuffle => -1,
        }
    }

    /// The mode of numcodecs' integer value.
    pub fn from_value(v: i64) -> Result<Self> {
        match v {
            0 => Ok(Shuffle::NoShuffle),
            1 => Ok(Shuffle::Shuffle),
            2 => Ok(Shuffle::BitShuffle),
            -1 => Ok(Shuffle::AutoShuffle),
            _ => Err(Error::invalid_argument(format!(
                "Blosc shuffle must be -1, 0, 1 or 2, got {v}"
            ))),
        }
    }

    /// AUTOSHUFFLE resolved for an item size, as numcodecs does.
    pub fn resolve(self, itemsize: usize) -> Shuffle {
        match self {
            Shuffle::AutoShuffle if itemsize == 1 => Shuffle::BitShuffle,
            Shuffle::AutoShuffle => Shuffle::Shuffle,
            s => s,
        }
    }
}

/// Compression parameters of a Blosc1 chunk.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Options {
    /// The compressor (not Snappy, which ndpack only decodes).
    pub compressor: Compressor,
    /// 0 (store memcpyed) to 9.
    pub clevel: u8,
    /// The shuffle mode (AUTOSHUFFLE is resolved with `typesize`).
    pub shuffle: Shuffle,
    /// The item size in bytes (sizes above 255 are compressed as 1-byte items, like c-blosc).
    pub typesize: usize,
    /// 0 for c-blosc's automatic blocksize, else the requested one.
    pub blocksize: usize,
}

impl Default for Options {
    /// numcodecs' defaults: lz4, clevel 5, SHUFFLE, typesize 1, automatic blocks.
    fn default() -> Self {
        Options {
            compressor: Compressor::Lz4,
            clevel: 5,
            shuffle: Shuffle::Shuffle,
            typesize: 1,
            blocksize: 0,
        }
    }
}

/// c-blosc 1.x's split rule (FORWARD_COMPAT mode): split full blocks into `typesize` streams.
pub fn split_block(compressor: Compressor, typesize: usize, blocksize: usize) -> bool {
    compressor != Compressor::Zstd && typesize <= 16 && blocksize / typesize >= MIN_BUFFERSIZE
}

/// c-blosc 1.x's `compute_blocksize`: the blocksize for `nbytes` of `typesize`-byte items, given
/// a requested blocksize (`forced`, 0 for automatic).
pub fn compute_blocksize(
    compressor: Compressor,
    clevel: u8,
    typesize: usize,
    nbytes: usize,
    forced: usize,
) -> usize {
    if nbytes < typesize {
        return 1;
    }
    let mut bs = nbytes;
    if forced != 0 {
        bs = forced.clamp(MIN_BUFFERSIZE, MAX_BLOCKSIZE);
    } else if nbytes >= L1 {
        bs = L1;
        if compressor.is_hcr() {
            bs *= 2;
        }
        match clevel {
            0 => bs /= 4,
            1 => bs /= 2,
            2 => {}
            3 => bs *= 2,
            4 | 5 => bs *= 4,
            6..=8 => bs *= 8,
            _ => {
                bs *= 8;
                if compressor.is_hcr() {
                    bs *= 2;
                }
            }
        }
    }
    if clevel > 0 && split_block(compressor, typesize, bs) {
        bs = bs.min(1 << 18) * typesize;
        bs = bs.clamp(1 << 16, 1 << 20);
    }
    bs = bs.min(nbytes);
    if bs > typesize {
        bs = bs / typesize * typesize;
    }
    bs
}

/// Compresses `src` into a Blosc1 chunk (what numcodecs' `blosc.compress` returns).
pub fn compress(src: &[u8], opts: &Options) -> Result<Vec<u8>> {
    check_input_size(src.len(), MAX_OVERHEAD)?;
    vec_with(src.len() + MAX_OVERHEAD, |dst| {
        compress_into_uninit(src, opts, dst)
    })
}

/// Compresses `src` into `dst`, which may be uninitialised and must hold at least
/// `src.len() + MAX_OVERHEAD` bytes (the largest chunk); returns the chunk size. The first
/// that many bytes of `dst` are then initialised. Blocks are written straight into `dst`.
pub fn compress_into_uninit(
    src: &[u8],
    opts: &Options,
    dst: &mut [MaybeUninit<u8>],
) -> Result<usize> {
    check_compress_sizes(src.len(), dst.len(), MAX_OVERHEAD)?;
    opts.compressor.check_available()?;
    if !opts.compressor.can_encode() {
        return Err(Error::invalid_argument(format!(
            "Blosc compressor {} can only be decoded",
            opts.compressor
        )));
    }
    if opts.clevel > 9 {
        return Err(Error::invalid_argument(format!(
            "Blosc clevel must be between 0 and 9, got {}",
            opts.clevel
        )));
    }
    let typesize = match opts.typesize {
        0 => return Err(Error::invalid_argument("Blosc typesize must be at least 1")),
        t if t > MAX_TYPESIZE => 1,
        t => t,
    };
    let shuffle = opts.shuffle.resolve(opts.typesize);
    let nbytes = src.len();
    let blocksize = compute_blocksize(
        opts.compressor,
        opts.clevel,
        typesize,
        nbytes,
        opts.blocksize,
    );
    let split = split_block(opts.compressor, typesize, blocksize);
    let mut flags = opts.compressor.format_code() << 5;
    let filter = match shuffle {
        Shuffle::Shuffle => {
            flags |= FLAG_SHUFFLE;
            Filter::Shuffle
        }
        Shuffle::BitShuffle => {
            flags |= FLAG_BITSHUFFLE;
            Filter::BitShuffle
        }
        _ => Filter::NoFilter,
    };
    if !split {
        flags |= FLAG_DONT_SPLIT;
    }
    let memcpyed = |flags: u8, dst: &mut [MaybeUninit<u8>]| {
        let mut head = [0u8; HEADER_LEN];
        write_header16(
            &mut head,
            VERSION_FORMAT,
            flags | FLAG_MEMCPYED,
            typesize,
            nbytes,
            blocksize,
            nbytes + HEADER_LEN,
        );
        put(dst, 0, &head);
        put(dst, HEADER_LEN, src);
        Ok(HEADER_LEN + nbytes)
    };
    if opts.clevel == 0 || nbytes < MIN_BUFFERSIZE {
        return memcpyed(flags, dst);
    }
    let spec = EncodeSpec {
        compressor: opts.compressor,
        clevel: opts.clevel,
        typesize,
        blocksize,
        split,
        filters: Filter::last_slot(filter),
        filters_meta: [0; 6],
        extended: false,
    };
    let mut head = [0u8; HEADER_LEN];
    write_header16(
        &mut head,
        VERSION_FORMAT,
        flags,
        typesize,
        nbytes,
        blocksize,
        0,
    );
    match spec.encode_chunk_into(src, &head, nbytes + MAX_OVERHEAD, dst)? {
        Some(chunk) => Ok(chunk.len),
        None => memcpyed(flags, dst),
    }
}

/// Decompresses a Blosc chunk (Blosc1, or Blosc2 with an extended header).
pub fn decompress(chunk: &[u8]) -> Result<Vec<u8>> {
    let c = Chunk::open(chunk)?;
    let n = c.header.nbytes;
    let mut out = Vec::new();
    out.try_reserve_exact(n)
        .map_err(|_| Error::alloc_failed("Blosc", n))?;
    c.decode_into_uninit(&mut out.spare_capacity_mut()[..n])?;
    // SAFETY: `decode_into_uninit` succeeded, so it initialised all `n` bytes.
    unsafe { out.set_len(n) };
    Ok(out)
}

/// Decompresses a Blosc chunk into `out`, which must hold at least the decoded size; returns the
/// number of bytes written.
pub fn decompress_into(chunk: &[u8], out: &mut [u8]) -> Result<usize> {
    let (c, n) = open_for(chunk, out.len())?;
    c.decode_into(&mut out[..n])?;
    Ok(n)
}

/// Opens a chunk to decode into a destination of `out_len` bytes; returns it and its decoded
/// size, or an error if the destination is too small.
fn open_for(chunk: &[u8], out_len: usize) -> Result<(Chunk<'_>, usize)> {
    let c = Chunk::open(chunk)?;
    let n = c.header.nbytes;
    if out_len < n {
        return Err(Error::invalid_argument(format!(
            "destination buffer has {out_len} bytes, the chunk holds {n}"
        )));
    }
    Ok((c, n))
}

/// Decompresses a chunk into `out`, which may be uninitialised (at least the decoded size);
/// returns the bytes written, which are then initialised.
pub fn decompress_into_uninit(chunk: &[u8], out: &mut [MaybeUninit<u8>]) -> Result<usize> {
    let (c, n) = open_for(chunk, out.len())?;
    c.decode_into_uninit(&mut out[..n])?;
    Ok(n)
}

/// Decodes `nitems` items of the chunk's typesize starting at item `start` (c-blosc's
/// `blosc_getitem`; numcodecs' `decompress_partial`), decoding only the blocks that hold them.
pub fn getitem(chunk: &[u8], start: usize, nitems: usize) -> Result<Vec<u8>> {
    let c = Chunk::open(chunk)?;
    let ts = c.header.typesize;
    let lo = start.checked_mul(ts);
    let len = nitems.checked_mul(ts);
    let (lo, len) = match (lo, len) {
        (Some(lo), Some(len)) if lo.checked_add(len).is_some_and(|e| e <= c.header.nbytes) => {
            (lo, len)
        }
        _ => {
            return Err(Error::invalid_argument(format!(
                "items {start}..{start}+{nitems} of {ts} bytes are outside the chunk's {} bytes",
                c.header.nbytes
            )))
        }
    };
    let mut out = vec![0u8; len];
    c.decode_range(lo, &mut out)?;
    Ok(out)
}

/// The decoded size of a chunk after checking its whole layout (header, block offsets, stream
/// sizes) as [`decompress`] does: the size to allocate before decoding into it.
pub fn decoded_size(chunk: &[u8]) -> Result<usize> {
    Ok(Chunk::open(chunk)?.header.nbytes)
}

/// `(nbytes, cbytes, blocksize)` of a chunk, from its header.
pub fn cbuffer_sizes(chunk: &[u8]) -> Result<(usize, usize, usize)> {
    let h = Header::parse(chunk)?;
    Ok((h.nbytes, h.cbytes, h.blocksize))
}

/// The compression library of a chunk: `"BloscLZ"`, `"LZ4"`, `"Snappy"`, `"Zlib"` or `"Zstd"`.
pub fn cbuffer_complib(chunk: &[u8]) -> Result<&'static str> {
    let h = Header::parse(chunk)?;
    if h.extended && h.format_code() == 6 {
        return Ok(Compressor::from_code(h.udcodec)?.library_name());
    }
    Ok(Compressor::from_format_code(h.format_code())?.library_name())
}

/// `(typesize, shuffle, memcpyed)` of a chunk, as numcodecs' `cbuffer_metainfo` reports them.
pub fn cbuffer_metainfo(chunk: &[u8]) -> Result<(usize, Shuffle, bool)> {
    let h = Header::parse(chunk)?;
    let shuffle = if h.extended {
        if h.filters.contains(&Filter::Shuffle.code()) {
            Shuffle::Shuffle
        } else if h.filters.contains(&Filter::BitShuffle.code()) {
            Shuffle::BitShuffle
        } else {
            Shuffle::NoShuffle
        }
    } else if h.flags & FLAG_SHUFFLE != 0 {
        Shuffle::Shuffle
    } else if h.flags & FLAG_BITSHUFFLE != 0 {
        Shuffle::BitShuffle
    } else {
        Shuffle::NoShuffle
    };
    Ok((h.typesize, shuffle, h.memcpyed()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::error::ErrorKind;

    fn ints(n: u32) -> Vec<u8> {
        (0..n).flat_map(|i| i.to_le_bytes()).collect()
    }

    #[test]
    fn blocksizes_match_c_blosc() {
        // Observed with numcodecs on 8 MiB of int64 and of uint8 (see specs/blosc.md §1.6).
        let n = 8 << 20;
        let lz4: Vec<usize> = (0..10)
            .map(|l| compute_blocksize(Compressor::Lz4, l, 8, n, 0))
            .collect();
        let k = 1024;
        assert_eq!(
            lz4,
            [
                8 * k,
                128 * k,
                256 * k,
                512 * k,
                1024 * k,
                1024 * k,
                1024 * k,
                1024 * k,
                1024 * k,
                1024 * k
            ]
        );
        let zstd: Vec<usize> = (0..10)
            .map(|l| compute_blocksize(Compressor::Zstd, l, 8, n, 0))
            .collect();
        assert_eq!(
            zstd,
            [
                16 * k,
                32 * k,
                64 * k,
                128 * k,
                256 * k,
                256 * k,
                512 * k,
                512 * k,
                512 * k,
                1024 * k
            ]
        );
        let u8s: Vec<usize> = (0..10)
            .map(|l| compute_blocksize(Compressor::Lz4, l, 1, n, 0))
            .collect();
        assert_eq!(
            u8s,
            [
                8 * k,
                64 * k,
                64 * k,
                64 * k,
                128 * k,
                128 * k,
                256 * k,
                256 * k,
                256 * k,
                256 * k
            ]
        );
        // Forced blocksizes: enlarged when splittable, clamped to 128 otherwise.
        assert_eq!(compute_blocksize(Compressor::Lz4, 5, 4, 40000, 1001), 40000);
        assert_eq!(compute_blocksize(Compressor::Lz4, 5, 4, 40000, 50), 128);
        assert_eq!(compute_blocksize(Compressor::Lz4, 5, 4, 3, 0), 1);
    }

    #[test]
    fn headers_match_numcodecs() {
        // numcodecs' Blosc() on int32 arange(100000): flags 0x21, one block of 400000 bytes.
        let data = ints(100_000);
        let opts = Options {
            typesize: 4,
            ..Options::default()
        };
        let c = compress(&data, &opts).unwrap();
        assert_eq!(&c[..4], &[2, 1, 0x21, 4]);
        assert_eq!(cbuffer_sizes(&c).unwrap(), (400_000, c.len(), 400_000));
        assert_eq!(decompress(&c).unwrap(), data);
        // clevel 0: memcpyed, 0x23.
        let c0 = compress(
            &data,
            &Options {
                clevel: 0,
                ..opts.clone()
            },
        )
        .unwrap();
        assert_eq!(c0[2], 0x23);
        assert_eq!(c0.len(), data.len() + 16);
        assert_eq!(cbuffer_metainfo(&c0).unwrap(), (4, Shuffle::Shuffle, true));
        // zstd: 0x91 (no split).
        let cz = compress(
            &data,
            &Options {
                compressor: Compressor::Zstd,
                ..opts.clone()
            },
        )
        .unwrap();
        assert_eq!(cz[2], 0x91);
        assert_eq!(cbuffer_complib(&cz).unwrap(), "Zstd");
        assert_eq!(decompress(&cz).unwrap(), data);
        // 40 bytes: 0x33; empty input: the exact numcodecs bytes.
        assert_eq!(compress(&data[..40], &opts).unwrap()[2], 0x33);
        assert_eq!(
            compress(&[], &opts).unwrap(),
            [2, 1, 0x33, 4, 0, 0, 0, 0, 1, 0, 0, 0, 16, 0, 0, 0]
        );
        assert_eq!(
            decompress(&compress(&[], &opts).unwrap()).unwrap(),
            Vec::<u8>::new()
        );
    }

    #[test]
    fn round_trips_and_partial_decodes() {
        let data: Vec<u8> = (0..300_001u32)
            .map(|i| ((i % 251) ^ (i / 1000)) as u8)
            .collect();
        for comp in [
            Compressor::Lz4,
            Compressor::Lz4hc,
            Compressor::Zlib,
            Compressor::Zstd,
        ] {
            for shuffle in [Shuffle::NoShuffle, Shuffle::Shuffle] {
                for ts in [1, 2, 3, 4, 8, 16, 33] {
                    for bs in [0, 1000, 65536] {
                        let opts = Options {
                            compressor: comp,
                            clevel: 3,
                            shuffle,
                            typesize: ts,
                            blocksize: bs,
                        };
                        let c = compress(&data, &opts).unwrap();
                        assert_eq!(decompress(&c).unwrap(), data, "{opts:?}");
                        let nitems = data.len() / ts;
                        let (s, n) = (nitems / 3, nitems / 4);
                        assert_eq!(
                            getitem(&c, s, n).unwrap(),
                            &data[s * ts..(s + n) * ts],
                            "{opts:?}"
                        );
                        assert!(getitem(&c, nitems, 1).is_err());
                    }
                }
            }
        }
    }

    #[test]
    fn truncated_and_corrupt_chunks_are_errors() {
        let data = ints(50_000);
        let opts = Options {
            typesize: 4,
            ..Options::default()
        };
        let c = compress(&data, &opts).unwrap();
        for cut in [0, 5, 15, 16, 20, c.len() - 5, c.len() - 1] {
            let e = decompress(&c[..cut]).unwrap_err();
            assert_eq!(e.kind(), ErrorKind::Truncated, "cut {cut}");
        }
        let mut bad = c.clone();
        bad[2] |= 0x08;
        assert_eq!(decompress(&bad).unwrap_err().kind(), ErrorKind::Corrupt);
        let mut bad = c.clone();
        bad[8..12].copy_from_slice(&0i32.to_le_bytes());
        assert!(decompress(&bad).is_err());
        // Every single-byte flip: an error or output of the declared size.
        for i in 0..c.len().min(400) {
            let mut f = c.clone();
            f[i] ^= 0x5A;
            if let Ok(out) = decompress(&f) {
                assert_eq!(out.len(), cbuffer_sizes(&f).unwrap().0);
            }
        }
    }

    #[test]
    fn uninit_buffers_round_trip() {
        let data = ints(300_000);
        for (compressor, clevel, shuffle) in [
            (Compressor::Lz4, 5, Shuffle::Shuffle),
            (Compressor::BloscLz, 5, Shuffle::Shuffle),
            (Compressor::Zstd, 5, Shuffle::BitShuffle),
            (Compressor::Lz4, 0, Shuffle::NoShuffle),
        ] {
            let opts = Options {
                compressor,
                clevel,
                shuffle,
                typesize: 4,
                blocksize: 0,
            };
            let want = compress(&data, &opts).unwrap();
            // Into a buffer of exactly the worst case: the same chunk.
            let mut buf = vec![MaybeUninit::new(0xAAu8); data.len() + MAX_OVERHEAD];
            let n = compress_into_uninit(&data, &opts, &mut buf).unwrap();
            // SAFETY: the buffer was fully initialised (0xAA) before.
            let got: Vec<u8> = buf[..n]
                .iter()
                .map(|b| unsafe { b.assume_init() })
                .collect();
            assert_eq!(got, want, "{compressor} clevel {clevel}");
            // One byte short of the worst case is refused, whatever the data.
            let mut small = vec![MaybeUninit::new(0u8); data.len() + MAX_OVERHEAD - 1];
            assert!(compress_into_uninit(&data, &opts, &mut small).is_err());
            // Decoding into uninitialised memory gives the data back, and stops at nbytes.
            let mut out = vec![MaybeUninit::new(0x55u8); data.len() + 10];
            assert_eq!(decompress_into_uninit(&want, &mut out).unwrap(), data.len());
            // SAFETY: as above.
            let back: Vec<u8> = out.iter().map(|b| unsafe { b.assume_init() }).collect();
            assert_eq!(&back[..data.len()], &data[..]);
            assert_eq!(&back[data.len()..], &[0x55u8; 10]);
            let mut short = vec![MaybeUninit::new(0u8); data.len() - 1];
            assert!(decompress_into_uninit(&want, &mut short).is_err());
        }
    }
}
