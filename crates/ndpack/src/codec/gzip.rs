//! The `gzip` codec: gzip members (RFC 1952), as numcodecs' `GZip(level=1)` (Python's `gzip`
//! module).
//!
//! Config: `{"id": "gzip", "level": 1}`; `level` is 0-9 (-1 is zlib's default, 6).
//!
//! Encoding writes one member with Python's header (no file name, `XFL` 4 at level 1 and 2 at
//! level 9, OS 255) except that the modification time is 0 ("not available") so that output is
//! deterministic; Python writes the current time. Decoding accepts what Python's `GzipFile` reads:
//! any header flags, several members one after the other, zero padding after a member, and
//! checks each member's CRC-32 and length.
//!
//! Inputs over 1 MiB are compressed as independent 1 MiB segments in parallel (one member; the
//! CRC-32 is combined from the segments'), and large members are decoded in parallel where their
//! producer left segment boundaries (see `backend::deflate`).

use serde_json::{json, Map, Value};

use super::{
    check_level, check_out_len, read_level, ArrayMut, ArrayRef, Codec, GrowBuf, NDBuffer,
    MAX_DECODED_SIZE,
};
use crate::backend::deflate::{
    deflate_append, inflate_append, inflate_grow, inflate_slice, parallel, shrink_reserve, Check,
    Tuning, DEFLATE_MAX_RATIO, SEGMENT,
};
use crate::error::{Error, ErrorKind, Result};

/// The numcodecs `gzip` codec.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Gzip {
    level: i32,
}

impl Default for Gzip {
    fn default() -> Self {
        Gzip { level: 1 }
    }
}

impl Gzip {
    /// A codec with compression `level` (0-9, or -1 for zlib's default).
    pub fn new(level: i32) -> Result<Self> {
        check_level("gzip", level.into(), -1, 9)?;
        Ok(Gzip { level })
    }

    /// Builds the codec from its numcodecs config.
    pub fn from_config(config: &Map<String, Value>) -> Result<Self> {
        let level = read_level("gzip", config, -1, 9)?;
        Ok(Gzip {
            level: level as i32,
        })
    }
}

const MAGIC: [u8; 2] = [0x1f, 0x8b];
const FHCRC: u8 = 0x02;
const FEXTRA: u8 = 0x04;
const FNAME: u8 = 0x08;
const FCOMMENT: u8 = 0x10;

/// Writes one gzip member holding `data`.
fn encode_member(data: &[u8], level: i32) -> Result<Vec<u8>> {
    encode_member_with(data, level, SEGMENT)
}

/// [`encode_member`] with segments of `segment` bytes (one deflate stream up to that size).
fn encode_member_with(data: &[u8], level: i32, segment: usize) -> Result<Vec<u8>> {
    let xfl = match level {
        9 => 2,
        1 => 4,
        _ => 0,
    };
    let mut out = Vec::with_capacity(data.len() + (data.len() >> 12) + (data.len() >> 14) + 96);
    out.extend_from_slice(&[MAGIC[0], MAGIC[1], 8, 0, 0, 0, 0, 0, xfl, 255]);
    let crc = if data.len() <= segment {
        deflate_append(data, level, false, &mut out)?;
        crc32fast::hash(data)
    } else {
        parallel::deflate_segments(data, level, segment, Check::Crc32, &mut out)?
    };
    out.extend_from_slice(&crc.to_le_bytes());
    out.extend_from_slice(&(data.len() as u32).to_le_bytes());
    Ok(out)
}

fn truncated() -> Error {
    Error::truncated("gzip: compressed data ended before the end-of-stream marker was reached")
}

/// Parses a member header at the start of `data`; returns its length.
fn header_len(data: &[u8]) -> Result<usize> {
    if data.len() < 10 {
        return if MAGIC.starts_with(&data[..data.len().min(2)]) {
            Err(truncated())
        } else {
            Err(Error::corrupt(
                "gzip: not a gzipped stream (bad magic bytes)",
            ))
        };
    }
    if data[..2] != MAGIC {
        return Err(Error::corrupt(
            "gzip: not a gzipped stream (bad magic bytes)",
        ));
    }
    if data[2] != 8 {
        return Err(Error::corrupt(format!(
            "gzip: unknown compression method {}",
            data[2]
        )));
    }
    let flags = data[3];
    let mut pos = 10;
    if flags & FEXTRA != 0 {
        let n = data.get(pos..pos + 2).ok_or_else(truncated)?;
        pos += 2 + usize::from(u16::from_le_bytes([n[0], n[1]]));
    }
    for flag in [FNAME, FCOMMENT] {
        if flags & flag != 0 {
            let rest = data.get(pos..).ok_or_else(truncated)?;
            let end = rest.iter().position(|&b| b == 0).ok_or_else(truncated)?;
            pos += end + 1;
        }
    }
    if flags & FHCRC != 0 {
        pos += 2;
    }
    if pos > data.len() {
        return Err(truncated());
    }
    Ok(pos)
}

/// Checks a member's trailer (CRC-32 and length mod 2^32) against its decoded bytes.
fn check_trailer(trailer: &[u8], decoded: &[u8]) -> Result<()> {
    check_trailer_sum(trailer, crc32fast::hash(decoded), decoded.len())
}

/// Checks a member's trailer against the CRC-32 and length of its decoded bytes.
fn check_trailer_sum(trailer: &[u8], computed: u32, len: usize) -> Result<()> {
    let trailer = trailer.get(..8).ok_or_else(truncated)?;
    let stored = u32::from_le_bytes(trailer[..4].try_into().expect("4 bytes"));
    if stored != computed {
        return Err(Error::new(
            ErrorKind::ChecksumMismatch,
            format!("gzip: CRC check failed: stored 0x{stored:08x}, computed 0x{computed:08x}"),
        ));
    }
    let size = u32::from_le_bytes(trailer[4..].try_into().expect("4 bytes"));
    if size != len as u32 {
        return Err(Error::corrupt(format!(
            "gzip: incorrect length of data produced: trailer says {size}, decoded {}",
            len as u32
        )));
    }
    Ok(())
}

/// Skips the zero padding Python allows after a member.
fn skip_zeros(data: &[u8], pos: usize) -> usize {
    pos + data[pos..].iter().take_while(|&&b| b == 0).count()
}

/// The size of the decoded `data` as the last member's trailer gives it (mod 2^32): for the usual
/// single member, the whole output, which saves regrowing it. Untrusted, so bounded by what
/// deflate can expand to and by `limit`; 0 for data too short to hold a member.
fn size_hint(data: &[u8], limit: usize) -> usize {
    if data.len() < 18 {
        return 0;
    }
    let hint = u32::from_le_bytes(data[data.len() - 4..].try_into().expect("4 bytes"));
    let most = data.len().saturating_mul(DEFLATE_MAX_RATIO).min(limit);
    (hint as usize).min(most)
}

/// Decodes every member of `data`.
fn decode_members(data: &[u8], limit: usize) -> Result<Vec<u8>> {
    let mut out = Vec::new();
    // Only a hint: without the memory, the output grows as it is decoded.
    let _ = out.try_reserve_exact(size_hint(data, limit));
    let mut pos = 0;
    while pos < data.len() {
        pos += header_len(&data[pos..])?;
        let start = out.len();
        if let Some(d) =
            parallel::inflate_append(&data[pos..], &mut out, limit, Check::Crc32, Tuning::DEFAULT)
        {
            pos += d.consumed;
            check_trailer_sum(&data[pos..], d.check, d.end - start)?;
        } else {
            pos += inflate_append(&data[pos..], false, &mut out, limit)?;
            check_trailer(&data[pos..], &out[start..])?;
        }
        pos = skip_zeros(data, pos + 8);
    }
    shrink_reserve(&mut out);
    Ok(out)
}

/// Decodes every member of `data` into `out`, growing it; returns the decoded length.
fn decode_members_grow(data: &[u8], out: &mut dyn GrowBuf, limit: usize) -> Result<usize> {
    let hint = size_hint(data, limit);
    if hint > 0 && out.buf().is_empty() {
        out.grow(hint)?;
    }
    let mut pos = 0;
    let mut written = 0;
    while pos < data.len() {
        pos += header_len(&data[pos..])?;
        let start = written;
        if let Some(d) = parallel::inflate_grow(
            &data[pos..],
            out,
            written,
            limit,
            Check::Crc32,
            Tuning::DEFAULT,
        ) {
            pos += d.consumed;
            written = d.end;
            check_trailer_sum(&data[pos..], d.check, written - start)?;
        } else {
            let (used, n) = inflate_grow(&data[pos..], false, out, written, limit)?;
            pos += used;
            written = n;
            check_trailer(&data[pos..], &out.buf()[start..written])?;
        }
        pos = skip_zeros(data, pos + 8);
    }
    Ok(written)
}

/// Decodes every member of `data` into exactly `out.len()` bytes.
fn decode_members_into(data: &[u8], out: &mut [u8]) -> Result<()> {
    let mut pos = 0;
    let mut written = 0;
    while pos < data.len() {
        pos += header_len(&data[pos..])?;
        if let Some(d) = parallel::inflate_slice(
            &data[pos..],
            &mut out[written..],
            Check::Crc32,
            Tuning::DEFAULT,
        ) {
            pos += d.consumed;
            check_trailer_sum(&data[pos..], d.check, d.end)?;
            written += d.end;
        } else {
            let (used, n) = inflate_slice(&data[pos..], false, &mut out[written..])?;
            pos += used;
            check_trailer(&data[pos..], &out[written..written + n])?;
            written += n;
        }
        pos = skip_zeros(data, pos + 8);
    }
    check_out_len(out.len(), written)
}

impl Codec for Gzip {
    fn id(&self) -> &'static str {
        "gzip"
    }

    fn config(&self) -> Value {
        json!({"id": "gzip", "level": self.level})
    }

    fn encode(&self, input: ArrayRef<'_>) -> Result<NDBuffer> {
        Ok(NDBuffer::from_bytes(encode_member(input.data, self.level)?))
    }

    fn decode(&self, input: ArrayRef<'_>) -> Result<NDBuffer> {
        Ok(NDBuffer::from_bytes(decode_members(
            input.data,
            MAX_DECODED_SIZE,
        )?))
    }

    fn decode_into(&self, input: &[u8], out: ArrayMut<'_>) -> Result<()> {
        decode_members_into(input, out.data)
    }

    fn decode_grow(&self, encoded: &[u8], out: &mut dyn GrowBuf) -> Option<Result<usize>> {
        Some(decode_members_grow(encoded, out, MAX_DECODED_SIZE))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::codec::test_util::{assert_out_size_checked, round_trip};

    #[test]
    fn decode_grow_equals_decode() {
        let c = Gzip::new(1).unwrap();
        let d = sample(300_000);
        let one = c.encode(ArrayRef::bytes(&d)).unwrap().bytes().to_vec();
        // Two members with zero padding between them; a wrong size in the last trailer.
        let mut two = one.clone();
        two.extend([0, 0, 0]);
        two.extend(c.encode(ArrayRef::bytes(&d[..1000])).unwrap().bytes());
        let mut lying = one.clone();
        let n = lying.len();
        lying[n - 4..].copy_from_slice(&7u32.to_le_bytes());
        for enc in [one.clone(), two, Vec::new()] {
            let want = c.decode(ArrayRef::bytes(&enc)).unwrap();
            let mut out = Vec::new();
            let n = c.decode_grow(&enc, &mut out).unwrap().unwrap();
            assert_eq!(&out[..n], want.bytes());
        }
        // The trailer's size is checked: a member whose trailer lies is an error in both.
        assert!(c.decode(ArrayRef::bytes(&lying)).is_err());
        assert!(c.decode_grow(&lying, &mut Vec::new()).unwrap().is_err());
        assert!(c
            .decode_grow(&one[..500], &mut Vec::new())
            .unwrap()
            .is_err());
    }

    fn sample(n: usize) -> Vec<u8> {
        (0..n).map(|i| ((i / 13) ^ (i % 7)) as u8).collect()
    }

    #[test]
    fn segmented_members_round_trip_around_segment_sizes() {
        let s = 1000;
        for n in [0, 1, s - 1, s, s + 1, 3 * s + 7, 17 * s] {
            let d = sample(n);
            let one = encode_member_with(&d, 1, s).unwrap();
            if n <= s {
                assert_eq!(one, encode_member(&d, 1).unwrap());
            }
            // zlib-rs's gzip reader (not ours) checks the CRC-32 and the length.
            let mut r = flate2::Decompress::new_gzip(15);
            let mut back = Vec::with_capacity(n + 16);
            let st = r
                .decompress_vec(&one, &mut back, flate2::FlushDecompress::Finish)
                .unwrap();
            assert_eq!(st, flate2::Status::StreamEnd);
            assert_eq!(back, d);
            assert_eq!(
                Gzip::default()
                    .decode(ArrayRef::bytes(&one))
                    .unwrap()
                    .bytes(),
                &d[..]
            );
        }
    }

    #[test]
    fn large_members_decode_in_parallel_like_serially() {
        if crate::threads::get_num_threads() < 2 {
            crate::threads::set_num_threads(2).unwrap();
        }
        let c = Gzip::default();
        let n = (3 << 20) + 333;
        let d = parallel::noisy_test_bytes(n);
        let enc = c.encode(ArrayRef::bytes(&d)).unwrap().bytes().to_vec();
        assert!(enc.len() > 1 << 20);
        // A single-stream member (as Python writes) and two segmented members in a row.
        let mut single = vec![0x1f, 0x8b, 8, 0, 0, 0, 0, 0, 4, 255];
        deflate_append(&d, 1, false, &mut single).unwrap();
        single.extend_from_slice(&crc32fast::hash(&d).to_le_bytes());
        single.extend_from_slice(&(n as u32).to_le_bytes());
        let mut two = enc.clone();
        two.extend_from_slice(&[0, 0]);
        two.extend_from_slice(&enc);
        let dd = [&d[..], &d[..]].concat();
        for (stream, want) in [(&enc, &d), (&single, &d), (&two, &dd)] {
            assert_eq!(
                c.decode(ArrayRef::bytes(stream)).unwrap().bytes(),
                &want[..]
            );
            let mut out = vec![0u8; want.len()];
            c.decode_into(stream, ArrayMut::bytes(&mut out)).unwrap();
            assert_eq!(&out, want);
            let mut grown = Vec::new();
            let got = c.decode_grow(stream, &mut grown).unwrap().unwrap();
            assert_eq!(&grown[..got], &want[..]);
            // A bad CRC-32 or size, a cut member: the serial path's errors.
            let len = stream.len();
            for (at, kind) in [
                (len - 6, ErrorKind::ChecksumMismatch),
                (len - 2, ErrorKind::Corrupt),
            ] {
                let mut bad = stream.to_vec();
                bad[at] ^= 1;
                assert_eq!(c.decode(ArrayRef::bytes(&bad)).unwrap_err().kind(), kind);
                let e = c.decode_grow(&bad, &mut Vec::new()).unwrap().unwrap_err();
                assert_eq!(e.kind(), kind);
                let e = c.decode_into(&bad, ArrayMut::bytes(&mut out)).unwrap_err();
                assert_eq!(e.kind(), kind);
            }
            let e = c.decode(ArrayRef::bytes(&stream[..len - 20])).unwrap_err();
            assert_eq!(e.kind(), ErrorKind::Truncated);
            for wrong in [want.len() - 1, want.len() + 1, 2 * want.len()] {
                let mut out = vec![0u8; wrong];
                let e = c
                    .decode_into(stream, ArrayMut::bytes(&mut out))
                    .unwrap_err();
                assert_eq!(e.kind(), ErrorKind::InvalidArgument, "{wrong}");
            }
        }
    }

    /// numcodecs.GZip(level=1).encode(b"abc") (mtime 0x6b026341 as Python wrote it).
    const PY_ABC: [u8; 23] = [
        0x1f, 0x8b, 0x08, 0x00, 0x41, 0x63, 0x02, 0x6b, 0x04, 0xff, 0x4b, 0x4c, 0x4a, 0x06, 0x00,
        0xc2, 0x41, 0x24, 0x35, 0x03, 0x00, 0x00, 0x00,
    ];

    #[test]
    fn decodes_python_gzip_members_and_padding() {
        let c = Gzip::default();
        assert_eq!(c.decode(ArrayRef::bytes(&PY_ABC)).unwrap().bytes(), b"abc");
        let mut two = PY_ABC.to_vec();
        two.extend_from_slice(&PY_ABC);
        two.extend_from_slice(&[0, 0]);
        assert_eq!(c.decode(ArrayRef::bytes(&two)).unwrap().bytes(), b"abcabc");
        let mut out = [0u8; 6];
        c.decode_into(&two, ArrayMut::bytes(&mut out)).unwrap();
        assert_eq!(&out, b"abcabc");
        // Python's gzip decodes empty input to nothing.
        assert!(c.decode(ArrayRef::bytes(b"")).unwrap().bytes().is_empty());
    }

    #[test]
    fn header_fields_are_skipped() {
        // FEXTRA + FNAME + FCOMMENT + FHCRC around the same deflate data.
        let mut m = vec![
            0x1f,
            0x8b,
            8,
            FEXTRA | FNAME | FCOMMENT | FHCRC,
            0,
            0,
            0,
            0,
            0,
            3,
        ];
        m.extend_from_slice(&[3, 0, 1, 2, 3]);
        m.extend_from_slice(b"name\0comment\0");
        m.extend_from_slice(&[0xaa, 0xbb]);
        m.extend_from_slice(&PY_ABC[10..]);
        assert_eq!(
            Gzip::default().decode(ArrayRef::bytes(&m)).unwrap().bytes(),
            b"abc"
        );
    }

    #[test]
    fn encodes_python_header_and_round_trips() {
        for level in -1..=9 {
            let c = Gzip::new(level).unwrap();
            for n in [0usize, 1, 1001, 3 << 20] {
                let d = sample(n);
                let enc = round_trip(&c, &d, &format!("level {level}, {n} bytes"));
                let xfl = match level {
                    1 => 4,
                    9 => 2,
                    _ => 0,
                };
                assert_eq!(&enc[..10], &[0x1f, 0x8b, 8, 0, 0, 0, 0, 0, xfl, 255]);
            }
        }
        assert_eq!(Gzip::default().config(), json!({"id": "gzip", "level": 1}));
        assert!(Gzip::new(10).is_err());
        let e =
            Gzip::from_config(json!({"id": "gzip", "lvl": 1}).as_object().unwrap()).unwrap_err();
        assert!(e.message().contains("lvl"));
    }

    #[test]
    fn bad_input_is_an_error() {
        let c = Gzip::default();
        let enc = c.encode(ArrayRef::bytes(&sample(100_000))).unwrap();
        let enc = enc.bytes();
        for cut in [1, 5, 12, enc.len() / 2, enc.len() - 3] {
            let e = c.decode(ArrayRef::bytes(&enc[..cut])).unwrap_err();
            assert_eq!(e.kind(), ErrorKind::Truncated, "cut {cut}: {e}");
        }
        let mut bad = enc.to_vec();
        let n = bad.len();
        bad[n - 6] ^= 1; // CRC
        assert_eq!(
            c.decode(ArrayRef::bytes(&bad)).unwrap_err().kind(),
            ErrorKind::ChecksumMismatch
        );
        let mut bad = enc.to_vec();
        bad[n - 2] ^= 1; // ISIZE
        assert_eq!(
            c.decode(ArrayRef::bytes(&bad)).unwrap_err().kind(),
            ErrorKind::Corrupt
        );
        let mut bad = enc.to_vec();
        bad[0] = b'x';
        assert_eq!(
            c.decode(ArrayRef::bytes(&bad)).unwrap_err().kind(),
            ErrorKind::Corrupt
        );
        let mut bad = enc.to_vec();
        bad.extend_from_slice(b"junk!");
        assert_eq!(
            c.decode(ArrayRef::bytes(&bad)).unwrap_err().kind(),
            ErrorKind::Corrupt
        );
        assert_out_size_checked(&c, enc, 100_000);
    }
}
