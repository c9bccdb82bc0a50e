//! Decoding bzip2 data block by block in parallel (lbzip2's idea).
//!
//! A bzip2 stream is a 4-byte header (`BZh` and the level digit), then blocks, each starting
//! with the 48-bit magic `0x314159265359` and its 32-bit CRC at any bit offset, then the 48-bit
//! end-of-stream magic `0x177245385090`, the stream's combined CRC and padding to a byte. Blocks
//! share no state, so each one, cut out at the magics and rebuilt as a standalone one-block
//! stream (its bits shifted to byte alignment, an end-of-stream marker whose combined CRC is the
//! block's own), decodes on its own with libbz2.
//!
//! A stream is accepted only if the whole chain is consistent: every piece between two magics
//! decodes as exactly one complete block (libbz2 then checks the block's CRC and finds the
//! end-of-stream magic we appended exactly where the next magic started), and the combined CRC
//! of the block CRCs equals the stored one. A magic that appears by chance inside compressed data
//! splits a real block into pieces that do not decode, so the stream is rejected. Rejected and
//! unrecognized data is left to the serial decoder, which gives the same bytes and errors as
//! always: [`decode_prefix`] only returns streams that the serial decoder would decode to the same
//! bytes.

use bzip2::{Decompress, Status};
use rayon::prelude::*;

const BLOCK_MAGIC: u64 = 0x3141_5926_5359;
const EOS_MAGIC: u64 = 0x1772_4538_5090;
const MASK48: u64 = (1 << 48) - 1;

/// A magic found in the data: its first bit (counted from the start of the data, most
/// significant bit of each byte first) and whether it is the end-of-stream magic.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Mark {
    bit: u64,
    eos: bool,
}

/// A block of a stream: bits `start..end` of the data (magic, CRC and compressed data).
#[derive(Debug, Clone, Copy)]
struct Block {
    start: u64,
    end: u64,
    crc: u32,
}

/// A stream made of `blocks[first..first + count]`, ending at byte `end`.
#[derive(Debug, Clone, Copy)]
struct StreamPlan {
    level: u8,
    first: usize,
    count: usize,
    stored_crc: u32,
    end: usize,
}

/// `n` (at most 64) bits of `data` from bit `bit`, or `None` past the end of the data.
fn read_bits(data: &[u8], bit: u64, n: u32) -> Option<u64> {
    debug_assert!((1..=64).contains(&n));
    if bit.checked_add(u64::from(n))? > (data.len() as u64) * 8 {
        return None;
    }
    let first = (bit / 8) as usize;
    let mut window = [0u8; 16];
    let avail = (data.len() - first).min(16);
    window[..avail].copy_from_slice(&data[first..first + avail]);
    let w = u128::from_be_bytes(window);
    let shift = 128 - (bit % 8) as u32 - n;
    Some(((w >> shift) & ((1u128 << n) - 1)) as u64)
}

/// Every position of both magics in `data`, in order.
///
/// A magic starting at bit `s` (0-7) of byte `i` fixes bytes `i + 1` and `i + 2`: a bitmap of
/// those 16 byte pairs filters the positions, and only the few that pass are checked in full.
fn scan(data: &[u8]) -> Vec<Mark> {
    let mut table = vec![0u64; 1 << 10];
    for magic in [BLOCK_MAGIC, EOS_MAGIC] {
        for s in 0..8 {
            let pair = ((magic >> (24 + s)) & 0xffff) as usize;
            table[pair >> 6] |= 1 << (pair & 63);
        }
    }
    const CHUNK: usize = 1 << 20;
    let ranges: Vec<(usize, usize)> = (0..data.len().saturating_sub(2))
        .step_by(CHUNK)
        .map(|i| (i, (i + CHUNK).min(data.len().saturating_sub(2))))
        .collect();
    let found: Vec<Vec<Mark>> = ranges
        .par_iter()
        .map(|&(lo, hi)| {
            let mut marks = Vec::new();
            for i in lo..hi {
                let pair = usize::from(data[i + 1]) << 8 | usize::from(data[i + 2]);
                if table[pair >> 6] & (1 << (pair & 63)) == 0 {
                    continue;
                }
                let mut window = [0u8; 8];
                let avail = (data.len() - i).min(8);
                window[..avail].copy_from_slice(&data[i..i + avail]);
                let w = u64::from_be_bytes(window);
                for s in 0..8u64 {
                    let bit = i as u64 * 8 + s;
                    if bit + 48 > data.len() as u64 * 8 {
                        break;
                    }
                    let v = (w >> (16 - s)) & MASK48;
                    if v == BLOCK_MAGIC || v == EOS_MAGIC {
                        marks.push(Mark {
                            bit,
                            eos: v == EOS_MAGIC,
                        });
                    }
                }
            }
            marks
        })
        .collect();
    found.concat()
}

/// The streams at the start of `data` whose structure the magics describe (header, a block magic
/// right after it, blocks up to an end-of-stream magic followed by its CRC), and their blocks.
/// Stops at the first byte that does not start such a stream.
fn plan(data: &[u8], marks: &[Mark]) -> (Vec<StreamPlan>, Vec<Block>) {
    let mut streams = Vec::new();
    let mut blocks = Vec::new();
    let mut pos = 0usize;
    let mut m = 0usize;
    while data.len() - pos >= 4 && &data[pos..pos + 3] == b"BZh" {
        let level = data[pos + 3];
        if !(b'1'..=b'9').contains(&level) {
            break;
        }
        let mut bit = (pos as u64 + 4) * 8;
        while m < marks.len() && marks[m].bit < bit {
            m += 1;
        }
        let first = blocks.len();
        let end = loop {
            let Some(mark) = marks.get(m) else {
                break None;
            };
            if mark.bit != bit {
                break None;
            }
            let Some(crc) = read_bits(data, bit + 48, 32) else {
                break None;
            };
            if mark.eos {
                break Some((crc as u32, (bit + 80).div_ceil(8) as usize));
            }
            let Some(next) = marks.get(m + 1) else {
                break None;
            };
            if next.bit < bit + 80 {
                break None;
            }
            blocks.push(Block {
                start: bit,
                end: next.bit,
                crc: crc as u32,
            });
            bit = next.bit;
            m += 1;
        };
        let Some((stored_crc, end)) = end else {
            blocks.truncate(first);
            break;
        };
        streams.push(StreamPlan {
            level: level - b'0',
            first,
            count: blocks.len() - first,
            stored_crc,
            end,
        });
        pos = end;
    }
    (streams, blocks)
}

/// Block `b` of `data` as a standalone one-block stream of `level`.
fn standalone(data: &[u8], level: u8, b: &Block) -> Vec<u8> {
    let nbits = b.end - b.start;
    let full = (nbits / 8) as usize;
    let rem = (nbits % 8) as u32;
    let first = (b.start / 8) as usize;
    let s = (b.start % 8) as u32;
    let mut buf = Vec::with_capacity(full + 16);
    buf.extend_from_slice(&[b'B', b'Z', b'h', b'0' + level]);
    if s == 0 {
        buf.extend_from_slice(&data[first..first + full]);
    } else {
        // Bits start..start + 8 * full span bytes first..=first + full.
        buf.extend(
            data[first..=first + full]
                .windows(2)
                .map(|w| (w[0] << s) | (w[1] >> (8 - s))),
        );
    }
    let tail = if rem == 0 {
        0
    } else {
        read_bits(data, b.start + 8 * full as u64, rem).unwrap_or(0)
    };
    // The block's last bits, the end-of-stream magic, the combined CRC (the block's), padding.
    let bits = rem + 80;
    let pad = bits.div_ceil(8) * 8 - bits;
    let acc = ((u128::from(tail) << 80) | (u128::from(EOS_MAGIC) << 32) | u128::from(b.crc)) << pad;
    let nbytes = (bits + pad) / 8;
    buf.extend_from_slice(&acc.to_be_bytes()[16 - nbytes as usize..]);
    buf
}

/// Decodes block `b` alone; `None` unless it is exactly one complete, valid block that decodes
/// to at most `cap` bytes.
fn decode_block(data: &[u8], level: u8, b: &Block, cap: usize) -> Option<Vec<u8>> {
    let src = standalone(data, level, b);
    let mut d = Decompress::new(false);
    let mut out: Vec<u8> = Vec::new();
    out.try_reserve_exact((usize::from(level) * 100_000).min(cap))
        .ok()?;
    loop {
        let (in0, out0) = (d.total_in(), d.total_out());
        let status = d.decompress_vec(&src[in0 as usize..], &mut out).ok()?;
        if status == Status::StreamEnd {
            return (d.total_in() as usize == src.len()).then_some(out);
        }
        if out.len() == out.capacity() {
            if out.len() >= cap {
                return None;
            }
            let extra = out.len().max(1 << 16).min(cap - out.len());
            out.try_reserve_exact(extra).ok()?;
        } else if d.total_in() == in0 && d.total_out() == out0 {
            return None;
        }
    }
}

/// Decodes, in parallel, the streams at the start of `data` that form a consistent chain of
/// blocks. Returns the decoded blocks of the accepted streams (in order) and the byte where the
/// first stream not accepted starts; the serial decoder takes over from there.
///
/// `limit` bounds the decoded size: blocks are decoded in batches, and decoding stops (leaving
/// the rest to the serial decoder, which reports the error) once the output passes it.
pub(super) fn decode_prefix(data: &[u8], limit: usize) -> (Vec<Vec<u8>>, usize) {
    decode_with_marks(data, &scan(data), limit)
}

/// [`decode_prefix`] with the magics already found.
fn decode_with_marks(data: &[u8], marks: &[Mark], limit: usize) -> (Vec<Vec<u8>>, usize) {
    let (streams, blocks) = plan(data, marks);
    let batch = 4 * rayon::current_num_threads().max(1);
    let mut decoded: Vec<Option<Vec<u8>>> = Vec::with_capacity(blocks.len());
    let mut total = 0usize;
    let mut out = Vec::new();
    let mut pos = 0usize;
    let mut next_block = 0usize;
    for st in &streams {
        // Decode ahead, a batch at a time, until this stream's blocks are in.
        while decoded.len() < st.first + st.count {
            if total > limit {
                return (out, pos);
            }
            let lo = decoded.len();
            let hi = (lo + batch).min(blocks.len());
            let levels: Vec<u8> = (lo..hi)
                .map(|i| {
                    while streams[next_block].first + streams[next_block].count <= i {
                        next_block += 1;
                    }
                    streams[next_block].level
                })
                .collect();
            let cap = limit - total;
            let part: Vec<Option<Vec<u8>>> = blocks[lo..hi]
                .par_iter()
                .zip(levels.par_iter())
                .map(|(b, &level)| decode_block(data, level, b, cap))
                .collect();
            total = total.saturating_add(part.iter().flatten().map(Vec::len).sum());
            decoded.extend(part);
        }
        let mut combined = 0u32;
        let mut ok = true;
        for (b, d) in blocks[st.first..st.first + st.count]
            .iter()
            .zip(&decoded[st.first..st.first + st.count])
        {
            ok &= d.is_some();
            combined = combined.rotate_left(1) ^ b.crc;
        }
        let size: usize = decoded[st.first..st.first + st.count]
            .iter()
            .flatten()
            .map(Vec::len)
            .sum();
        let done: usize = out.iter().map(Vec::len).sum();
        if !ok || combined != st.stored_crc || done.saturating_add(size) > limit {
            break;
        }
        out.extend(
            decoded[st.first..st.first + st.count]
                .iter_mut()
                .map(|d| d.take().unwrap_or_default()),
        );
        pos = st.end;
    }
    (out, pos)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::backend::test_data::noise_and_runs;

    #[test]
    fn read_bits_and_scan_find_magics_at_every_offset() {
        for s in 0..8u64 {
            let mut data = vec![0xa5u8; 20];
            // Write the block magic at bit 8 + s and the end magic at bit 80 + s.
            for (magic, at) in [(BLOCK_MAGIC, 8 + s), (EOS_MAGIC, 80 + s)] {
                for k in 0..48 {
                    let bit = at + k;
                    let one = (magic >> (47 - k)) & 1 == 1;
                    let (byte, mask) = ((bit / 8) as usize, 0x80u8 >> (bit % 8));
                    if one {
                        data[byte] |= mask;
                    } else {
                        data[byte] &= !mask;
                    }
                }
                assert_eq!(read_bits(&data, at, 48), Some(magic));
            }
            assert_eq!(
                scan(&data),
                vec![
                    Mark {
                        bit: 8 + s,
                        eos: false
                    },
                    Mark {
                        bit: 80 + s,
                        eos: true
                    }
                ]
            );
        }
        assert_eq!(read_bits(&[0xff], 0, 8), Some(0xff));
        assert_eq!(read_bits(&[0xff], 1, 8), None);
    }

    fn stream(data: &[u8], level: u32) -> Vec<u8> {
        let mut c = bzip2::Compress::new(bzip2::Compression::new(level), 0);
        let mut out = Vec::with_capacity(data.len() + 1000);
        let status = c
            .compress_vec(data, &mut out, bzip2::Action::Finish)
            .unwrap();
        assert_eq!(status, Status::StreamEnd);
        out
    }

    fn sample(n: usize) -> Vec<u8> {
        let lcg = (1_103_515_245, 12345);
        noise_and_runs(n, 12345, lcg, 24, |i| i % 1000 < 300, |i| (i / 7) as u8)
    }

    #[test]
    fn multi_block_streams_decode_block_by_block() {
        let d = sample(450_000);
        for level in [1, 2] {
            let enc = stream(&d, level);
            let marks = scan(&enc);
            let (streams, blocks) = plan(&enc, &marks);
            assert_eq!(streams.len(), 1);
            assert!(
                blocks.len() >= 4 / level as usize,
                "{} blocks",
                blocks.len()
            );
            let (out, end) = decode_prefix(&enc, usize::MAX);
            assert_eq!(end, enc.len());
            assert_eq!(out.len(), blocks.len());
            assert_eq!(out.concat(), d);
            // Two streams, then junk: both streams, and the junk left to the serial decoder.
            let mut two = enc.clone();
            two.extend_from_slice(&stream(b"tail", 9));
            let both_end = two.len();
            two.extend_from_slice(b"BZh9 junk");
            let (out, end) = decode_prefix(&two, usize::MAX);
            assert_eq!(end, both_end);
            assert_eq!(out.concat(), [&d[..], b"tail"].concat());
        }
    }

    #[test]
    fn inconsistent_chains_are_rejected() {
        let d = sample(350_000);
        let enc = stream(&d, 1);
        let marks = scan(&enc);
        assert!(marks.len() >= 4, "{} magics", marks.len());
        // A false magic inside a block splits it into pieces that do not decode.
        for extra in [marks[1].bit - 1000, marks[2].bit + 200] {
            let mut fake = marks.clone();
            fake.push(Mark {
                bit: extra,
                eos: false,
            });
            fake.sort_by_key(|m| m.bit);
            assert_eq!(decode_with_marks(&enc, &fake, usize::MAX).1, 0);
        }
        // A missing magic glues two blocks together, which is not one block either.
        let mut fake = marks.clone();
        fake.remove(2);
        assert_eq!(decode_with_marks(&enc, &fake, usize::MAX).1, 0);
        // A wrong combined CRC is caught.
        let mut bad = enc.clone();
        let last = bad.len() - 1;
        bad[last - 1] ^= 0x10;
        assert_eq!(decode_prefix(&bad, usize::MAX).1, 0);
        // So is a block CRC that does not match its data.
        let mut bad = enc.clone();
        let at = ((marks[1].bit + 60) / 8) as usize;
        bad[at] ^= 0x01;
        assert_eq!(decode_prefix(&bad, usize::MAX).1, 0);
        // The decoded-size limit stops at the stream before it is passed.
        let (out, end) = decode_prefix(&enc, d.len() - 1);
        assert!(out.is_empty());
        assert_eq!(end, 0);
    }
}
