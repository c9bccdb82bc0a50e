//! Native Blosc: shuffle and bitshuffle kernels ([`shuffle`], [`bitshuffle`]; SIMD with one
//! run-time dispatch point), BloscLZ, the Blosc1 ([`v1`]) and Blosc2 ([`v2`])
//! chunk formats, and the compressors Blosc runs per stream ([`Compressor`]).
//!
//! Both formats are byte-compatible with the C libraries: [`v1`] writes what numcodecs' `Blosc`
//! (c-blosc 1.x) writes and reads every c-blosc 1.x chunk (Snappy included); [`v2`] reads and
//! writes what python-blosc2's `compress2`/`decompress2` (c-blosc2) do. Blocks are compressed and
//! decompressed in parallel on ndpack's thread pool ([`crate::threads`]).

pub mod blosclz;
mod chunk;
pub mod compressor;
pub mod frame;
mod simd;
pub mod v1;
pub mod v2;

pub use compressor::{list_compressors, Compressor};
pub use simd::{bitshuffle, shuffle};

/// `(nbytes, cbytes, blocksize)` of a Blosc1 or Blosc2 chunk, from its header.
pub use v1::cbuffer_sizes;

/// The block engine on chunks written by both formats.
#[cfg(test)]
mod tests {
    use super::chunk::test_data::{samples, BLOCK};
    use super::chunk::{Chunk, MAX_STREAMS};
    use super::shuffle::as_uninit;
    use super::{v1, v2, Compressor};

    #[test]
    fn blocks_decode_alike_with_their_streams_in_parallel() {
        let mut zeros_tail = samples()[0].clone();
        zeros_tail[8 * BLOCK..].fill(0);
        let mut chunks = Vec::new();
        for src in samples().into_iter().chain([zeros_tail]) {
            // 33: more streams than any fused kernel (Blosc2 splits every typesize).
            for typesize in [4, 8, 33] {
                // Byte shuffle (the fused unshuffle), no filter, bit shuffle; Blosc1, and Blosc2
                // with its zero and run streams.
                for (shuffle, filter) in [
                    (v1::Shuffle::Shuffle, v2::Filter::Shuffle),
                    (v1::Shuffle::NoShuffle, v2::Filter::NoFilter),
                    (v1::Shuffle::BitShuffle, v2::Filter::BitShuffle),
                ] {
                    // Blosc2 splits only blocks that the typesize divides.
                    let blocksize = BLOCK / typesize * typesize;
                    let opts = v1::Options {
                        compressor: Compressor::Lz4,
                        clevel: 5,
                        shuffle,
                        typesize,
                        blocksize,
                    };
                    chunks.push((v1::compress(&src, &opts).unwrap(), src.clone()));
                    let mut params = v2::CParams {
                        codec: Compressor::Lz4,
                        typesize,
                        blocksize,
                        splitmode: v2::SplitMode::Always,
                        ..Default::default()
                    };
                    params.filters[5] = filter;
                    chunks.push((v2::compress(&src, &params).unwrap(), src.clone()));
                }
            }
        }
        let mut tmp = Vec::new();
        let (mut tested, mut split, mut many) = (0, 0, 0);
        for (k, (chunk, src)) in chunks.iter().enumerate() {
            let c = Chunk::open(chunk).unwrap();
            if c.header.memcpyed() {
                // Noise without a shuffle does not compress: stored whole, without blocks.
                continue;
            }
            tested += 1;
            assert!(c.nblocks() > 1, "chunk {k}: {:?}", c.header);
            for i in 0..c.nblocks() {
                let g = c.geom(i);
                split += usize::from(g.nstreams > 1);
                many += usize::from(g.nstreams > MAX_STREAMS);
                let at = i * c.header.blocksize;
                let want = &src[at..at + g.bsize];
                for par in [false, true] {
                    let mut out = vec![0x5Au8; g.bsize];
                    // SAFETY: `out` is initialised and the decoder writes only bytes.
                    let view = unsafe { as_uninit(&mut out) };
                    c.decode_block(i, view, None, &mut tmp, par).unwrap();
                    assert!(out == want, "chunk {k} block {i} par {par}");
                }
            }
        }
        assert!(
            tested >= chunks.len() / 3,
            "{tested} of {} chunks",
            chunks.len()
        );
        assert!(
            split > 100 && many > 10,
            "{split} split blocks, {many} of 33 streams"
        );
    }
}
