//! NPZ archives: the ZIP container NumPy's `savez`/`savez_compressed` write. Reads the central
//! directory (ZIP64 included) with the checks Python's `zipfile` makes (local headers, names,
//! overlapping members, CRC-32), stored members as zero-copy slices and deflated ones inflated in
//! parallel (libdeflate, whole member in one call into a buffer of the declared size); writes
//! stored or deflated archives that `numpy.load` reads.

use std::collections::HashMap;
use std::ops::Range;

use flate2::{Compress, Compression, FlushCompress, Status};

use crate::backend::deflate::oneshot::{inflate_into_spare, Format, Outcome};
use crate::backend::deflate::DEFLATE_MAX_RATIO;
use rayon::prelude::*;

use super::NpyArray;
use crate::buffer::Buffer;
use crate::error::MAX_DECODED_SIZE;
use crate::error::{Error, ErrorKind, Result};
use crate::threads;

const SIG_LOCAL: u32 = 0x0403_4b50;
const SIG_CENTRAL: u32 = 0x0201_4b50;
const SIG_EOCD: u32 = 0x0605_4b50;
const SIG_EOCD64: u32 = 0x0606_4b50;
const SIG_LOCATOR64: u32 = 0x0706_4b50;
const EOCD_LEN: usize = 22;
const EOCD64_LEN: usize = 56;
const LOCATOR64_LEN: usize = 20;
const CENTRAL_LEN: usize = 46;
const LOCAL_LEN: usize = 30;
const MAX_COMMENT: usize = 0xFFFF;

/// Deflate cannot expand data by more than about 1032:1; declared sizes beyond this bound (plus
/// a little slack for tiny members) are lies.
const MAX_DEFLATE_RATIO: u64 = DEFLATE_MAX_RATIO as u64;

/// Compression methods of ZIP members that ndpack reads.
const STORED: u16 = 0;
const DEFLATED: u16 = 8;

/// The upper half of code page 437, which ZIP uses for names without the UTF-8 flag.
const CP437_HIGH: &str = "ÇüéâäàåçêëèïîìÄÅÉæÆôöòûùÿÖÜ¢£¥₧ƒáíóúñÑªº¿⌐¬½¼¡«»░▒▓│┤╡╢╖╕╣║╗╝╜╛┐└┴┬├─┼╞╟╚╔╩╦╠═╬╧╨╤╥╙╘╒╓╫╪┘┌█▄▌▐▀αßΓπΣσµτΦΘΩδ∞φε∩≡±≥≤⌠⌡÷≈°∙·√ⁿ²■\u{a0}";

fn u16_at(b: &[u8], at: usize) -> u16 {
    u16::from_le_bytes([b[at], b[at + 1]])
}
fn u32_at(b: &[u8], at: usize) -> u32 {
    u32::from_le_bytes(b[at..at + 4].try_into().expect("4 bytes"))
}
fn u64_at(b: &[u8], at: usize) -> u64 {
    u64::from_le_bytes(b[at..at + 8].try_into().expect("8 bytes"))
}

fn bad_zip(msg: impl Into<String>) -> Error {
    Error::corrupt(format!("bad NPZ (ZIP) archive: {}", msg.into()))
}

/// Options of [`NpzReader::open_with`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NpzOptions {
    /// The most bytes the deflated members may declare together (`None`: no limit beyond what
    /// deflate can produce from the compressed bytes, and [`MAX_DECODED_SIZE`] per member).
    pub max_uncompressed_bytes: Option<u64>,
    /// Whether to check each member's CRC-32 when it is read, as `zipfile` does (default true).
    pub verify_crc: bool,
}

impl Default for NpzOptions {
    fn default() -> Self {
        NpzOptions {
            max_uncompressed_bytes: None,
            verify_crc: true,
        }
    }
}

/// One member of an NPZ archive, as its central directory entry describes it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Member {
    /// The name in the archive, e.g. `"arr_0.npy"`.
    pub name: String,
    /// The ZIP compression method (0: stored, 8: deflated).
    pub method: u16,
    /// The general-purpose flags (bit 0: encrypted).
    pub flags: u16,
    /// The CRC-32 of the uncompressed bytes.
    pub crc32: u32,
    /// The declared uncompressed size.
    pub uncompressed_size: u64,
    /// Where the (compressed) member data lies in the archive.
    pub data_range: Range<usize>,
}

impl Member {
    /// The name without a `.npy` suffix: the key NumPy's `NpzFile.files` lists.
    pub fn key(&self) -> &str {
        self.name.strip_suffix(".npy").unwrap_or(&self.name)
    }
}

/// What a member holds: an NPY array, or raw bytes for members that are not NPY files (NumPy's
/// `NpzFile` returns those as `bytes`).
#[derive(Debug, Clone)]
pub enum NpzEntry {
    /// An NPY array (zero-copy into the archive for stored members).
    Array(NpyArray),
    /// The bytes of a member that does not start with the NPY magic string.
    Bytes(Buffer),
}

/// A parsed NPZ archive over a [`Buffer`] (bytes in memory or a memory map).
///
/// ```
/// use ndpack::npy::{NpzReader, NpzWriter, NpzEntry};
/// use ndpack::{DataType, Order};
/// let data: Vec<u8> = [1.0f64, 2.0].iter().flat_map(|v| v.to_le_bytes()).collect();
/// let mut w = NpzWriter::new(true);
/// w.add_array("x", &"<f8".parse::<DataType>().unwrap().into(), &[2], Order::C, &data);
/// let zip = w.finish().unwrap();
/// let npz = NpzReader::open(zip.into()).unwrap();
/// assert_eq!(npz.files(), vec!["x"]);
/// let NpzEntry::Array(a) = npz.read("x").unwrap() else { panic!() };
/// assert_eq!(a.shape(), &[2]);
/// assert_eq!(&a.data()[..], &data[..]);
/// ```
#[derive(Debug, Clone)]
pub struct NpzReader {
    data: Buffer,
    members: Vec<Member>,
    index: HashMap<String, usize>,
    verify_crc: bool,
}

impl NpzReader {
    /// Parses the archive in `data` with default options.
    pub fn open(data: Buffer) -> Result<Self> {
        Self::open_with(data, &NpzOptions::default())
    }

    /// Parses the archive in `data`: finds the end record, reads the central directory and every
    /// local header, and checks that members lie inside the archive without overlapping.
    pub fn open_with(data: Buffer, options: &NpzOptions) -> Result<Self> {
        let members = parse_directory(&data, options)?;
        let mut index = HashMap::with_capacity(members.len());
        for (i, m) in members.iter().enumerate() {
            // Like zipfile, a repeated name refers to its last member.
            index.insert(m.name.clone(), i);
        }
        Ok(NpzReader {
            data,
            members,
            index,
            verify_crc: options.verify_crc,
        })
    }

    /// The members, in central directory order.
    pub fn members(&self) -> &[Member] {
        &self.members
    }

    /// The keys of the members (names without a `.npy` suffix), like `NpzFile.files`.
    pub fn files(&self) -> Vec<&str> {
        self.members.iter().map(Member::key).collect()
    }

    /// The index of the member named `key` or `key + ".npy"`.
    pub fn find(&self, key: &str) -> Option<usize> {
        if let Some(&i) = self.index.get(key) {
            return Some(i);
        }
        self.index.get(&format!("{key}.npy")).copied()
    }

    /// The uncompressed bytes of member `i`: a slice of the archive if stored, else inflated.
    /// Checks the CRC-32 unless the archive was opened without `verify_crc`.
    pub fn member_bytes(&self, i: usize) -> Result<Buffer> {
        let m = self.members.get(i).ok_or_else(|| {
            Error::invalid_argument(format!(
                "no member {i} in an archive of {}",
                self.members.len()
            ))
        })?;
        if m.flags & 1 != 0 {
            return Err(Error::new(
                ErrorKind::Unsupported,
                format!("NPZ member {:?} is encrypted", m.name),
            ));
        }
        let raw = self.data.slice(m.data_range.clone());
        let out = match m.method {
            STORED => raw,
            DEFLATED => inflate(&raw, m)?,
            other => {
                return Err(Error::new(
                    ErrorKind::Unsupported,
                    format!(
                        "NPZ member {:?} uses ZIP compression method {other} (only stored and deflated are supported)",
                        m.name
                    ),
                ))
            }
        };
        if self.verify_crc {
            let crc = crc32fast::hash(&out);
            if crc != m.crc32 {
                return Err(Error::new(
                    ErrorKind::ChecksumMismatch,
                    format!(
                        "NPZ member {:?}: CRC-32 {crc:#010x} does not match the stored {:#010x}",
                        m.name, m.crc32
                    ),
                ));
            }
        }
        Ok(out)
    }

    /// Reads member `i` as an NPY array (or raw bytes if it is not an NPY file).
    pub fn read_index(&self, i: usize) -> Result<NpzEntry> {
        let bytes = self.member_bytes(i)?;
        if bytes.starts_with(super::MAGIC) {
            NpyArray::from_buffer(bytes)
                .map(NpzEntry::Array)
                .map_err(|e| {
                    Error::new(
                        e.kind(),
                        format!("NPZ member {:?}: {}", self.members[i].name, e.message()),
                    )
                })
        } else {
            Ok(NpzEntry::Bytes(bytes))
        }
    }

    /// Reads the member named `key` (with or without `.npy`).
    pub fn read(&self, key: &str) -> Result<NpzEntry> {
        let i = self.find(key).ok_or_else(|| {
            Error::invalid_argument(format!("{key} is not a file in the archive"))
        })?;
        self.read_index(i)
    }

    /// Reads the members at `indices` in parallel on ndpack's pool.
    pub fn read_many(&self, indices: &[usize]) -> Result<Vec<NpzEntry>> {
        if indices.len() <= 1 {
            return indices.iter().map(|&i| self.read_index(i)).collect();
        }
        threads::install(|| {
            indices
                .par_iter()
                .with_max_len(1)
                .map(|&i| self.read_index(i))
                .collect()
        })
    }

    /// Reads every member in parallel; returns `(key, entry)` pairs in directory order.
    pub fn read_all(&self) -> Result<Vec<(String, NpzEntry)>> {
        let indices: Vec<usize> = (0..self.members.len()).collect();
        let entries = self.read_many(&indices)?;
        Ok(self
            .members
            .iter()
            .map(|m| m.key().to_owned())
            .zip(entries)
            .collect())
    }
}

fn decode_name(raw: &[u8], utf8: bool) -> Result<String> {
    if utf8 || raw.is_ascii() {
        return std::str::from_utf8(raw)
            .map(str::to_owned)
            .map_err(|_| bad_zip("member name is not valid UTF-8"));
    }
    let high: Vec<char> = CP437_HIGH.chars().collect();
    Ok(raw
        .iter()
        .map(|&b| {
            if b < 0x80 {
                b as char
            } else {
                high[b as usize - 0x80]
            }
        })
        .collect())
}

fn find_eocd(b: &[u8]) -> Result<usize> {
    if b.len() < EOCD_LEN {
        return Err(if b.is_empty() {
            bad_zip("the archive is empty")
        } else {
            Error::truncated("NPZ archive is shorter than a ZIP end record")
        });
    }
    let last = b.len() - EOCD_LEN;
    let first = last.saturating_sub(MAX_COMMENT);
    (first..=last)
        .rev()
        .find(|&p| u32_at(b, p) == SIG_EOCD && p + EOCD_LEN + u16_at(b, p + 20) as usize <= b.len())
        .ok_or_else(|| bad_zip("no end of central directory record (not a ZIP file?)"))
}

fn parse_directory(data: &[u8], options: &NpzOptions) -> Result<Vec<Member>> {
    let eocd = find_eocd(data)?;
    let e = &data[eocd..];
    let mut entries = u64::from(u16_at(e, 10));
    let mut cd_size = u64::from(u32_at(e, 12));
    let mut cd_offset = u64::from(u32_at(e, 16));
    if u16_at(e, 4) != 0 || u16_at(e, 6) != 0 {
        return Err(Error::new(
            ErrorKind::Unsupported,
            "multi-disk ZIP archives are not supported",
        ));
    }
    let mut cd_end = eocd;
    if eocd >= LOCATOR64_LEN && u32_at(data, eocd - LOCATOR64_LEN) == SIG_LOCATOR64 {
        let rec = eocd
            .checked_sub(LOCATOR64_LEN + EOCD64_LEN)
            .ok_or_else(|| Error::truncated("NPZ archive ends inside its ZIP64 end record"))?;
        let r = &data[rec..];
        if u32_at(r, 0) != SIG_EOCD64 {
            return Err(bad_zip(
                "ZIP64 end record signature not found where the locator says",
            ));
        }
        entries = u64_at(r, 32);
        cd_size = u64_at(r, 40);
        cd_offset = u64_at(r, 48);
        cd_end = rec;
    }
    // Like zipfile, allow bytes prepended to the archive: offsets are shifted by `concat`.
    let cd_start = (cd_end as u64)
        .checked_sub(cd_size)
        .ok_or_else(|| bad_zip("central directory size is larger than the archive"))?;
    let concat = cd_start
        .checked_sub(cd_offset)
        .ok_or_else(|| bad_zip("central directory offset is past its end"))?;
    let cd_start = cd_start as usize;
    let concat = concat as usize;
    let cd = &data[cd_start..cd_end];
    if entries > (cd.len() / CENTRAL_LEN) as u64 {
        return Err(bad_zip(format!(
            "{entries} members announced in a central directory of {} bytes",
            cd.len()
        )));
    }
    let mut members = Vec::with_capacity(entries as usize);
    let mut spans: Vec<(usize, usize)> = Vec::with_capacity(entries as usize);
    let mut total_deflated: u64 = 0;
    let mut pos = 0usize;
    while pos < cd.len() {
        if cd.len() - pos < CENTRAL_LEN {
            return Err(Error::truncated(
                "NPZ central directory ends inside an entry",
            ));
        }
        let h = &cd[pos..];
        if u32_at(h, 0) != SIG_CENTRAL {
            return Err(bad_zip("bad central directory entry signature"));
        }
        let flags = u16_at(h, 8);
        let method = u16_at(h, 10);
        let crc32 = u32_at(h, 16);
        let mut csize = u64::from(u32_at(h, 20));
        let mut usize_ = u64::from(u32_at(h, 24));
        let nlen = u16_at(h, 28) as usize;
        let elen = u16_at(h, 30) as usize;
        let clen = u16_at(h, 32) as usize;
        let mut offset = u64::from(u32_at(h, 42));
        let total = CENTRAL_LEN + nlen + elen + clen;
        if cd.len() - pos < total {
            return Err(Error::truncated(
                "NPZ central directory ends inside an entry",
            ));
        }
        let name = decode_name(&h[CENTRAL_LEN..CENTRAL_LEN + nlen], flags & 0x800 != 0)?;
        let mut extra = &h[CENTRAL_LEN + nlen..CENTRAL_LEN + nlen + elen];
        while extra.len() >= 4 {
            let id = u16_at(extra, 0);
            let len = u16_at(extra, 2) as usize;
            if extra.len() < 4 + len {
                return Err(bad_zip(format!("bad extra field of member {name:?}")));
            }
            if id == 1 {
                let mut f = &extra[4..4 + len];
                let mut take = |v: &mut u64, wide: bool| -> Result<()> {
                    if wide {
                        if f.len() < 8 {
                            return Err(bad_zip(format!(
                                "short ZIP64 extra field of member {name:?}"
                            )));
                        }
                        *v = u64_at(f, 0);
                        f = &f[8..];
                    }
                    Ok(())
                };
                let wide = (
                    usize_ == 0xFFFF_FFFF,
                    csize == 0xFFFF_FFFF,
                    offset == 0xFFFF_FFFF,
                );
                take(&mut usize_, wide.0)?;
                take(&mut csize, wide.1)?;
                take(&mut offset, wide.2)?;
            }
            extra = &extra[4 + len..];
        }
        // The local header, which zipfile also checks.
        let lh = usize::try_from(offset)
            .ok()
            .and_then(|o| o.checked_add(concat))
            .filter(|&o| o <= cd_start && cd_start - o >= LOCAL_LEN)
            .ok_or_else(|| {
                bad_zip(format!(
                    "member {name:?} has a local header offset out of range"
                ))
            })?;
        let l = &data[lh..];
        if u32_at(l, 0) != SIG_LOCAL {
            return Err(bad_zip(format!(
                "bad local header signature of member {name:?}"
            )));
        }
        let lnlen = u16_at(l, 26) as usize;
        let lelen = u16_at(l, 28) as usize;
        let start = lh + LOCAL_LEN + lnlen + lelen;
        if start > cd_start || l[LOCAL_LEN..LOCAL_LEN + lnlen] != h[CENTRAL_LEN..CENTRAL_LEN + nlen]
        {
            return Err(bad_zip(format!(
                "file name in directory {name:?} and local header differ"
            )));
        }
        let end = usize::try_from(csize)
            .ok()
            .and_then(|c| start.checked_add(c))
            .filter(|&e| e <= cd_start)
            .ok_or_else(|| {
                bad_zip(format!(
                    "member {name:?} extends past the central directory"
                ))
            })?;
        match method {
            STORED if csize != usize_ => {
                return Err(bad_zip(format!(
                    "stored member {name:?} has compressed size {csize} but size {usize_}"
                )))
            }
            DEFLATED => {
                let bound = csize.saturating_mul(MAX_DEFLATE_RATIO).saturating_add(1024);
                if usize_ > bound || usize_ > MAX_DECODED_SIZE as u64 {
                    return Err(Error::too_large(format!(
                        "NPZ member {name:?} claims {usize_} bytes from {csize} compressed bytes"
                    )));
                }
                total_deflated = total_deflated.saturating_add(usize_);
                if let Some(max) = options.max_uncompressed_bytes {
                    if total_deflated > max {
                        return Err(Error::too_large(format!(
                            "NPZ deflated members exceed max_uncompressed_bytes ({max})"
                        )));
                    }
                }
            }
            _ => {}
        }
        spans.push((lh, end));
        members.push(Member {
            name,
            method,
            flags,
            crc32,
            uncompressed_size: usize_,
            data_range: start..end,
        });
        pos += total;
    }
    spans.sort_unstable();
    if spans.windows(2).any(|w| w[1].0 < w[0].1) {
        return Err(bad_zip("overlapping members"));
    }
    Ok(members)
}

fn inflate(raw: &[u8], m: &Member) -> Result<Buffer> {
    let size = usize::try_from(m.uncompressed_size)
        .map_err(|_| Error::too_large(format!("NPZ member {:?} is too large", m.name)))?;
    // The declared size was already checked against the archive's length and the caller's limit
    // in `parse_directory`; allocate it fallibly all the same.
    let mut out: Vec<u8> = Vec::new();
    out.try_reserve_exact(size).map_err(|_| {
        Error::out_of_memory(format!(
            "NPZ member {:?}: cannot allocate {size} bytes",
            m.name
        ))
    })?;
    match inflate_into_spare(raw, Format::Raw, &mut out)? {
        Outcome::Done { written, .. } if written == size => Ok(Buffer::from_vec(out)),
        Outcome::Done { written, .. } if written < size => Err(Error::truncated(format!(
            "NPZ member {:?} inflates to {written} bytes, fewer than its declared {size}",
            m.name
        ))),
        Outcome::Done { .. } | Outcome::NoSpace => Err(Error::corrupt(format!(
            "NPZ member {:?} inflates to more than its declared {size} bytes",
            m.name
        ))),
        Outcome::BadData => Err(Error::corrupt(format!(
            "NPZ member {:?}: bad or truncated deflate data",
            m.name
        ))),
    }
}

/// A member waiting in an [`NpzWriter`]: its name and the NPY bytes in two parts.
struct Pending<'a> {
    name: String,
    header: Vec<u8>,
    data: &'a [u8],
}

/// Writes NPZ archives (ZIP, stored or deflated) that `numpy.load` reads, compressing members in
/// parallel on ndpack's pool. ZIP64 records are written when sizes, offsets or the member count
/// need them.
pub struct NpzWriter<'a> {
    compress: bool,
    level: u32,
    members: Vec<Pending<'a>>,
}

impl<'a> NpzWriter<'a> {
    /// A writer of stored (`compress == false`, like `np.savez`) or deflated members (like
    /// `np.savez_compressed`, zlib level 6).
    pub fn new(compress: bool) -> Self {
        NpzWriter {
            compress,
            level: 6,
            members: Vec::new(),
        }
    }

    /// Sets the deflate level (0-9).
    pub fn with_level(mut self, level: u32) -> Self {
        self.level = level.min(9);
        self
    }

    /// Adds an array under `name` (`.npy` is appended, as `np.savez` does).
    pub fn add_array(
        &mut self,
        name: &str,
        descr: &super::Descr,
        shape: &[usize],
        order: crate::Order,
        data: &'a [u8],
    ) {
        self.members.push(Pending {
            name: format!("{name}.npy"),
            header: super::write_header(descr, shape, order),
            data,
        });
    }

    /// Adds a member of raw bytes `header` followed by `data` under the exact `name`.
    pub fn add_raw(&mut self, name: &str, header: Vec<u8>, data: &'a [u8]) {
        self.members.push(Pending {
            name: name.to_owned(),
            header,
            data,
        });
    }

    /// Writes the archive.
    pub fn finish(self) -> Result<Vec<u8>> {
        let compress = self.compress;
        let level = self.level;
        let encode = |p: &Pending<'_>| -> Result<(u32, Option<Vec<u8>>)> {
            let mut h = crc32fast::Hasher::new();
            h.update(&p.header);
            h.update(p.data);
            let crc = h.finalize();
            if !compress {
                return Ok((crc, None));
            }
            Ok((crc, Some(deflate(&[&p.header, p.data], level)?)))
        };
        let encoded: Vec<(u32, Option<Vec<u8>>)> = if self.members.len() > 1
            || self.members.first().is_some_and(|p| p.data.len() > 1 << 20)
        {
            threads::install(|| {
                self.members
                    .par_iter()
                    .with_max_len(1)
                    .map(encode)
                    .collect::<Result<Vec<_>>>()
            })?
        } else {
            self.members.iter().map(encode).collect::<Result<_>>()?
        };
        let mut out = Vec::with_capacity(
            self.members
                .iter()
                .zip(&encoded)
                .map(|(p, (_, c))| {
                    120 + 2 * p.name.len()
                        + c.as_ref().map_or(p.header.len() + p.data.len(), Vec::len)
                })
                .sum::<usize>()
                + 100,
        );
        let mut central = Vec::new();
        for (p, (crc, comp)) in self.members.iter().zip(&encoded) {
            let usize_ = (p.header.len() + p.data.len()) as u64;
            let csize = comp.as_ref().map_or(usize_, |c| c.len() as u64);
            let offset = out.len() as u64;
            let big = usize_ >= 0xFFFF_FFFF || csize >= 0xFFFF_FFFF;
            let far = offset >= 0xFFFF_FFFF;
            let flags: u16 = if p.name.is_ascii() { 0 } else { 0x800 };
            let method = if comp.is_some() { DEFLATED } else { STORED };
            let version: u16 = if big || far { 45 } else { 20 };
            // Local header: ZIP64 sizes when they do not fit.
            let mut local_extra = Vec::new();
            if big {
                local_extra.extend_from_slice(&1u16.to_le_bytes());
                local_extra.extend_from_slice(&16u16.to_le_bytes());
                local_extra.extend_from_slice(&usize_.to_le_bytes());
                local_extra.extend_from_slice(&csize.to_le_bytes());
            }
            let clamp = |v: u64, wide: bool| if wide { 0xFFFF_FFFFu32 } else { v as u32 };
            out.extend_from_slice(&SIG_LOCAL.to_le_bytes());
            out.extend_from_slice(&version.to_le_bytes());
            out.extend_from_slice(&flags.to_le_bytes());
            out.extend_from_slice(&method.to_le_bytes());
            out.extend_from_slice(&0u16.to_le_bytes()); // time 00:00:00
            out.extend_from_slice(&0x21u16.to_le_bytes()); // date 1980-01-01
            out.extend_from_slice(&crc.to_le_bytes());
            out.extend_from_slice(&clamp(csize, big).to_le_bytes());
            out.extend_from_slice(&clamp(usize_, big).to_le_bytes());
            out.extend_from_slice(&(p.name.len() as u16).to_le_bytes());
            out.extend_from_slice(&(local_extra.len() as u16).to_le_bytes());
            out.extend_from_slice(p.name.as_bytes());
            out.extend_from_slice(&local_extra);
            match comp {
                Some(c) => out.extend_from_slice(c),
                None => {
                    out.extend_from_slice(&p.header);
                    out.extend_from_slice(p.data);
                }
            }
            // Central directory entry.
            let mut extra = Vec::new();
            if big || far {
                let mut fields = Vec::new();
                if big {
                    fields.extend_from_slice(&usize_.to_le_bytes());
                    fields.extend_from_slice(&csize.to_le_bytes());
                }
                if far {
                    fields.extend_from_slice(&offset.to_le_bytes());
                }
                extra.extend_from_slice(&1u16.to_le_bytes());
                extra.extend_from_slice(&(fields.len() as u16).to_le_bytes());
                extra.extend_from_slice(&fields);
            }
            central.extend_from_slice(&SIG_CENTRAL.to_le_bytes());
            central.extend_from_slice(&(version | 3 << 8).to_le_bytes()); // made by: Unix
            central.extend_from_slice(&version.to_le_bytes());
            central.extend_from_slice(&flags.to_le_bytes());
            central.extend_from_slice(&method.to_le_bytes());
            central.extend_from_slice(&0u16.to_le_bytes());
            central.extend_from_slice(&0x21u16.to_le_bytes());
            central.extend_from_slice(&crc.to_le_bytes());
            central.extend_from_slice(&clamp(csize, big).to_le_bytes());
            central.extend_from_slice(&clamp(usize_, big).to_le_bytes());
            central.extend_from_slice(&(p.name.len() as u16).to_le_bytes());
            central.extend_from_slice(&(extra.len() as u16).to_le_bytes());
            central.extend_from_slice(&0u16.to_le_bytes()); // comment
            central.extend_from_slice(&0u16.to_le_bytes()); // disk
            central.extend_from_slice(&0u16.to_le_bytes()); // internal attributes
            central.extend_from_slice(&(0o100644u32 << 16).to_le_bytes()); // -rw-r--r--
            central.extend_from_slice(&clamp(offset, far).to_le_bytes());
            central.extend_from_slice(p.name.as_bytes());
            central.extend_from_slice(&extra);
        }
        let cd_offset = out.len() as u64;
        let cd_size = central.len() as u64;
        let count = self.members.len() as u64;
        out.extend_from_slice(&central);
        let zip64 = count >= 0xFFFF || cd_offset >= 0xFFFF_FFFF || cd_size >= 0xFFFF_FFFF;
        if zip64 {
            let rec = out.len() as u64;
            out.extend_from_slice(&SIG_EOCD64.to_le_bytes());
            out.extend_from_slice(&44u64.to_le_bytes());
            out.extend_from_slice(&(45u16 | 3 << 8).to_le_bytes());
            out.extend_from_slice(&45u16.to_le_bytes());
            out.extend_from_slice(&0u32.to_le_bytes());
            out.extend_from_slice(&0u32.to_le_bytes());
            out.extend_from_slice(&count.to_le_bytes());
            out.extend_from_slice(&count.to_le_bytes());
            out.extend_from_slice(&cd_size.to_le_bytes());
            out.extend_from_slice(&cd_offset.to_le_bytes());
            out.extend_from_slice(&SIG_LOCATOR64.to_le_bytes());
            out.extend_from_slice(&0u32.to_le_bytes());
            out.extend_from_slice(&rec.to_le_bytes());
            out.extend_from_slice(&1u32.to_le_bytes());
        }
        let c16 = if zip64 { 0xFFFF } else { count as u16 };
        out.extend_from_slice(&SIG_EOCD.to_le_bytes());
        out.extend_from_slice(&0u16.to_le_bytes());
        out.extend_from_slice(&0u16.to_le_bytes());
        out.extend_from_slice(&c16.to_le_bytes());
        out.extend_from_slice(&c16.to_le_bytes());
        out.extend_from_slice(&(if zip64 { 0xFFFF_FFFF } else { cd_size as u32 }).to_le_bytes());
        out.extend_from_slice(&(if zip64 { 0xFFFF_FFFF } else { cd_offset as u32 }).to_le_bytes());
        out.extend_from_slice(&0u16.to_le_bytes());
        Ok(out)
    }
}

/// Raw deflate of the concatenation of `parts`.
fn deflate(parts: &[&[u8]], level: u32) -> Result<Vec<u8>> {
    let total: usize = parts.iter().map(|p| p.len()).sum();
    let mut c = Compress::new(Compression::new(level), false);
    let mut out = Vec::with_capacity(total / 2 + 1024);
    for (k, part) in parts.iter().enumerate() {
        let last = k + 1 == parts.len();
        let flush = if last {
            FlushCompress::Finish
        } else {
            FlushCompress::None
        };
        let start = c.total_in();
        loop {
            let consumed = (c.total_in() - start) as usize;
            if out.len() == out.capacity() {
                out.reserve(out.capacity() / 2 + 1024);
            }
            let status = c
                .compress_vec(&part[consumed..], &mut out, flush)
                .map_err(|e| Error::new(ErrorKind::Backend, format!("deflate failed: {e}")))?;
            let consumed = (c.total_in() - start) as usize;
            if last {
                if status == Status::StreamEnd {
                    break;
                }
            } else if consumed == part.len() {
                break;
            }
        }
    }
    Ok(out)
}
