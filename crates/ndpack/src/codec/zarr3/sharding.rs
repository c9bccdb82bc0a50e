//! The zarr v3 `sharding_indexed` codec: a shard holds inner chunks, each encoded with its own
//! [`CodecChain`], stored back to back in zarr-python's (compressed Morton) order, and an index
//! of `(offset, nbytes)` pairs, `uint64` each, encoded with the index chain (by default
//! little-endian `bytes` and `crc32c`) at the start or the end of the shard. An inner chunk that
//! is not stored has `(2^64-1, 2^64-1)`.
//!
//! Inner chunks are decoded and encoded in parallel on ndpack's pool. A part of a shard is read
//! through [`RangeRead`]: the index, then only the inner chunks the part touches, with nearby
//! byte ranges coalesced as zarr-python does (gaps up to 1 MiB, reads up to 16 MiB).

use std::borrow::Cow;
use std::ops::Range;

use rayon::prelude::*;
use serde_json::{json, Map, Value};

use super::layout::morton_order;
use super::{CodecChain, EncodeOptions};
use crate::buffer::{ArrayMut, ArrayRef};
use crate::dtype::DataType;
use crate::error::{Error, Result};
use crate::region::{copy_region, Layout, Order, Pick, Region, Slice};

/// The marker of an inner chunk that is not stored.
pub const EMPTY: u64 = u64::MAX;

/// Byte ranges of a stored shard: memory, or a file read with positional reads.
pub trait RangeRead: Sync {
    /// The shard's size in bytes.
    fn size(&self) -> Result<u64>;
    /// The bytes of each range (each within `0..size()`).
    fn read_ranges(&self, ranges: &[Range<u64>]) -> Result<Vec<Cow<'_, [u8]>>>;
}

impl RangeRead for &[u8] {
    fn size(&self) -> Result<u64> {
        Ok(self.len() as u64)
    }

    fn read_ranges(&self, ranges: &[Range<u64>]) -> Result<Vec<Cow<'_, [u8]>>> {
        ranges
            .iter()
            .map(|r| {
                usize::try_from(r.start)
                    .ok()
                    .zip(usize::try_from(r.end).ok())
                    .filter(|&(a, b)| a <= b && b <= self.len())
                    .map(|(a, b)| Cow::Borrowed(&self[a..b]))
                    .ok_or_else(|| {
                        Error::corrupt(format!(
                            "byte range {r:?} outside a shard of {} bytes",
                            self.len()
                        ))
                    })
            })
            .collect()
    }
}

/// Byte ranges closer than this are read as one (zarr's `sharding_coalesce_max_gap_bytes`).
pub const COALESCE_MAX_GAP: u64 = 1 << 20;
/// A coalesced read is at most this long (zarr's `sharding_coalesce_max_bytes`).
pub const COALESCE_MAX_BYTES: u64 = 16 << 20;

/// Merges byte `ranges` (any order, overlaps allowed) into reads: ranges whose gap is at most
/// `max_gap` bytes are read as one, each read at most `max_bytes` long (a longer range is a read
/// of its own). Returns the reads and, for each range, its read and its offset in it.
pub fn coalesce(
    ranges: &[Range<u64>],
    max_gap: u64,
    max_bytes: u64,
) -> (Vec<Range<u64>>, Vec<(usize, u64)>) {
    let mut order: Vec<usize> = (0..ranges.len()).collect();
    order.sort_by_key(|&i| ranges[i].start);
    let mut reads: Vec<Range<u64>> = Vec::new();
    let mut place = vec![(0usize, 0u64); ranges.len()];
    for i in order {
        let r = &ranges[i];
        let n = reads.len();
        match reads.last_mut() {
            Some(last)
                if r.start <= last.end.saturating_add(max_gap)
                    && r.end.max(last.end) - last.start <= max_bytes =>
            {
                last.end = last.end.max(r.end);
                place[i] = (n - 1, r.start - last.start);
            }
            _ => {
                place[i] = (reads.len(), 0);
                reads.push(r.clone());
            }
        }
    }
    (reads, place)
}

/// [`coalesce`], for the unit tests.
#[cfg(test)]
pub(crate) fn coalesce_for_tests(ranges: &[Range<u64>]) -> (Vec<Range<u64>>, Vec<(usize, u64)>) {
    coalesce(ranges, COALESCE_MAX_GAP, COALESCE_MAX_BYTES)
}

/// The part of one axis of a shard's selection `(start, stop, step)` (step > 0) inside inner
/// chunk `i` of length `c`: the slice within the chunk and the range of output positions.
fn axis_part(sel: (usize, usize, usize), i: usize, c: usize) -> Option<(Slice, Range<usize>)> {
    let (start, stop, step) = sel;
    let lo = (i * c).max(start);
    let hi = ((i + 1) * c).min(stop);
    if lo >= hi {
        return None;
    }
    let k0 = (lo - start).div_ceil(step);
    let k1 = (hi - start).div_ceil(step);
    if k0 >= k1 {
        return None;
    }
    let first = start + k0 * step;
    let slice = Slice::new(
        (first - i * c) as isize,
        (hi - i * c) as isize,
        step as isize,
    )
    .ok()?;
    Some((slice, k0..k1))
}

/// Where the index lies in a shard.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum IndexLocation {
    /// Before the inner chunks.
    Start,
    /// After the inner chunks (zarr's default).
    End,
}

/// The `sharding_indexed` codec.
#[derive(Debug)]
pub struct Sharding {
    /// The shape of an inner chunk.
    pub chunk_shape: Vec<usize>,
    /// The chain of the inner chunks.
    pub codecs: CodecChain,
    /// The chain of the index (fixed-size codecs only).
    pub index_codecs: CodecChain,
    /// Where the index lies.
    pub index_location: IndexLocation,
}

impl Sharding {
    /// Builds the codec from its zarr v3 configuration, for items of `itemsize` bytes.
    pub fn from_config(config: &Map<String, Value>, itemsize: usize) -> Result<Sharding> {
        if let Some(k) = config.keys().find(|k| {
            !["chunk_shape", "codecs", "index_codecs", "index_location"].contains(&k.as_str())
        }) {
            return Err(Error::invalid_config(format!(
                "zarr codec sharding_indexed: unknown configuration key {k:?}"
            )));
        }
        let chunk_shape = config
            .get("chunk_shape")
            .and_then(Value::as_array)
            .and_then(|a| {
                a.iter()
                    .map(|v| v.as_u64().filter(|&u| u > 0).map(|u| u as usize))
                    .collect::<Option<Vec<usize>>>()
            })
            .ok_or_else(|| {
                Error::invalid_config(format!(
                    "zarr codec sharding_indexed: \"chunk_shape\" must be a list of positive \
                     integers, got {}",
                    config.get("chunk_shape").unwrap_or(&Value::Null)
                ))
            })?;
        let codecs = CodecChain::from_json(
            config
                .get("codecs")
                .unwrap_or(&json!([{"name": "bytes", "configuration": {"endian": "little"}}])),
            itemsize,
        )?;
        let index_codecs = CodecChain::from_json(
            config.get("index_codecs").unwrap_or(&json!([
                {"name": "bytes", "configuration": {"endian": "little"}},
                {"name": "crc32c"}
            ])),
            8,
        )?;
        let index_location = match config.get("index_location").map(Value::as_str) {
            None | Some(Some("end")) => IndexLocation::End,
            Some(Some("start")) => IndexLocation::Start,
            _ => {
                return Err(Error::invalid_config(format!(
                    "zarr codec sharding_indexed: \"index_location\" must be \"start\" or \
                     \"end\", got {}",
                    config["index_location"]
                )))
            }
        };
        Ok(Sharding {
            chunk_shape,
            codecs,
            index_codecs,
            index_location,
        })
    }

    /// The number of inner chunks along each axis of a shard of `shape`.
    pub fn chunks_per_shard(&self, shape: &[usize]) -> Result<Vec<usize>> {
        if shape.len() != self.chunk_shape.len()
            || shape.iter().zip(&self.chunk_shape).any(|(s, c)| s % c != 0)
        {
            return Err(Error::invalid_argument(format!(
                "shard shape {shape:?} is not a multiple of the inner chunk shape {:?}",
                self.chunk_shape
            )));
        }
        Ok(shape
            .iter()
            .zip(&self.chunk_shape)
            .map(|(s, c)| s / c)
            .collect())
    }

    /// The encoded size of the index of a shard of `chunks_per_shard` inner chunks.
    pub fn index_size(&self, chunks_per_shard: &[usize]) -> Result<usize> {
        let n: usize = chunks_per_shard.iter().product();
        let mut shape = chunks_per_shard.to_vec();
        shape.push(2);
        n.checked_mul(16)
            .and_then(|bytes| self.index_codecs.encoded_size(bytes, &shape))
            .ok_or_else(|| {
                Error::invalid_config(
                    "zarr codec sharding_indexed: index_codecs must have a fixed size \
                     (bytes, transpose, crc32c)",
                )
            })
    }

    /// The size of a shard of `shape` holding `byte_length` bytes of inner chunks.
    pub fn encoded_size(&self, byte_length: usize, shape: &[usize]) -> Option<usize> {
        let cps = self.chunks_per_shard(shape).ok()?;
        byte_length.checked_add(self.index_size(&cps).ok()?)
    }

    /// The region of the inner chunk at C-order position `k`.
    fn chunk_region(&self, cps: &[usize], mut k: usize) -> Result<Region> {
        let mut coords = vec![0; cps.len()];
        for d in (0..cps.len()).rev() {
            coords[d] = k % cps[d];
            k /= cps[d];
        }
        self.region_of(&coords)
    }

    fn region_of(&self, coords: &[usize]) -> Result<Region> {
        Ok(Region::new(
            coords
                .iter()
                .zip(&self.chunk_shape)
                .map(|(&i, &c)| Slice::range(i * c, (i + 1) * c))
                .collect::<Result<Vec<_>>>()?,
        ))
    }

    /// Reads the `(offset, nbytes)` pairs of a shard's index, in C order of the inner chunks.
    pub fn read_index(&self, shard: &[u8], cps: &[usize]) -> Result<Vec<(u64, u64)>> {
        let range = self.index_range(shard.len() as u64, cps)?;
        self.parse_index(&shard[range.start as usize..range.end as usize], cps)
    }

    /// Where the index lies in a shard of `size` bytes.
    fn index_range(&self, size: u64, cps: &[usize]) -> Result<Range<u64>> {
        let index_len = self.index_size(cps)? as u64;
        if size < index_len {
            return Err(Error::corrupt(format!(
                "zarr shard of {size} bytes is shorter than its index of {index_len} bytes"
            )));
        }
        Ok(match self.index_location {
            IndexLocation::Start => 0..index_len,
            IndexLocation::End => size - index_len..size,
        })
    }

    /// Decodes an encoded index.
    fn parse_index(&self, index_bytes: &[u8], cps: &[usize]) -> Result<Vec<(u64, u64)>> {
        let mut shape = cps.to_vec();
        shape.push(2);
        let u8le: DataType = "<u8".parse()?;
        let decoded = self
            .index_codecs
            .decode(index_bytes, &u8le, &shape, &EMPTY.to_le_bytes())?;
        Ok(decoded
            .chunks_exact(16)
            .map(|e| {
                let word = |b: &[u8]| u64::from_le_bytes(b.try_into().expect("8 bytes"));
                (word(&e[..8]), word(&e[8..]))
            })
            .collect())
    }

    /// Decodes a whole shard into `out`; inner chunks not stored are `fill`.
    pub fn decode_into(&self, shard: &[u8], out: ArrayMut<'_>, fill: &[u8]) -> Result<()> {
        let cps = self.chunks_per_shard(&out.shape)?;
        let index = self.read_index(shard, &cps)?;
        let itemsize = out.dtype.itemsize();
        let chunk_bytes = self.chunk_shape.iter().product::<usize>() * itemsize;
        if fill.len() != itemsize {
            return Err(Error::invalid_argument(format!(
                "fill value of {} bytes for {}",
                fill.len(),
                out.dtype
            )));
        }
        let dtype = out.dtype.clone();
        let decoded: Vec<Option<Vec<u8>>> = crate::threads::install(|| {
            index
                .par_iter()
                .map(|&(offset, nbytes)| -> Result<Option<Vec<u8>>> {
                    if (offset, nbytes) == (EMPTY, EMPTY) {
                        return Ok(None);
                    }
                    let range = usize::try_from(offset)
                        .ok()
                        .zip(usize::try_from(nbytes).ok())
                        .and_then(|(o, n)| Some(o..o.checked_add(n)?))
                        .filter(|r| r.end <= shard.len())
                        .ok_or_else(|| {
                            Error::corrupt(format!(
                                "zarr shard index entry ({offset}, {nbytes}) lies outside the \
                                 shard of {} bytes",
                                shard.len()
                            ))
                        })?;
                    self.codecs
                        .decode(&shard[range], &dtype, &self.chunk_shape, fill)
                        .map(Some)
                })
                .collect::<Result<Vec<_>>>()
        })?;
        let fill_chunk: Vec<u8> = fill.repeat(chunk_bytes / itemsize.max(1));
        let src_layout = Layout::c(&self.chunk_shape, itemsize);
        let src_full = Region::full(&self.chunk_shape)?;
        let dst_layout = Layout::new(&out.shape, itemsize, out.order);
        for (k, chunk) in decoded.iter().enumerate() {
            let src = chunk.as_deref().unwrap_or(&fill_chunk);
            copy_region(
                src,
                src_layout,
                &src_full,
                out.data,
                dst_layout,
                &self.chunk_region(&cps, k)?,
            )?;
        }
        Ok(())
    }

    /// Decodes the part `region` (steps > 0) of a shard of `shape` read through `src`: the
    /// index, then only the inner chunks the part touches (nearby byte ranges read together),
    /// decoded in parallel. Returns the part's items in C order; inner chunks not stored are
    /// `fill`.
    pub fn decode_region(
        &self,
        src: &dyn RangeRead,
        shape: &[usize],
        region: &Region,
        dtype: &DataType,
        fill: &[u8],
    ) -> Result<Vec<u8>> {
        let cps = self.chunks_per_shard(shape)?;
        region.check(shape)?;
        let itemsize = dtype.itemsize();
        if fill.len() != itemsize {
            return Err(Error::invalid_argument(format!(
                "fill value of {} bytes for {dtype}",
                fill.len()
            )));
        }
        let mut sels = Vec::with_capacity(shape.len());
        for s in region.slices() {
            let (a, b, step) = s.indices();
            if step <= 0 {
                return Err(Error::invalid_argument(
                    "zarr shard parts are read with positive steps",
                ));
            }
            sels.push((a.max(0) as usize, b.max(0) as usize, step as usize));
        }
        let out_shape = region.shape();
        let n_out = crate::region::checked_num_items(&out_shape)?;
        let mut out = fill.repeat(n_out);
        if n_out == 0 {
            return Ok(out);
        }
        // The inner chunks the part touches: per axis, each chunk's slice and output positions.
        let per_axis: Vec<Vec<(usize, Slice, Range<usize>)>> = sels
            .iter()
            .zip(&self.chunk_shape)
            .zip(&cps)
            .map(|((&sel, &c), &m)| {
                let first = sel.0 / c;
                let last = ((sel.1 - 1) / c).min(m - 1);
                (first..=last)
                    .filter_map(|i| axis_part(sel, i, c).map(|(s, r)| (i, s, r)))
                    .collect()
            })
            .collect();
        let (index, size) = self.read_index_from(src, &cps)?;
        let mut parts: Vec<(usize, Region, Region)> = Vec::new();
        let mut pos = vec![0usize; per_axis.len()];
        if per_axis.iter().all(|a| !a.is_empty()) {
            'outer: loop {
                let k = pos
                    .iter()
                    .zip(&per_axis)
                    .zip(&cps)
                    .fold(0, |acc, ((&p, a), &m)| acc * m + a[p].0);
                let inner = Region::new(pos.iter().zip(&per_axis).map(|(&p, a)| a[p].1).collect());
                let dst = Region::new(
                    pos.iter()
                        .zip(&per_axis)
                        .map(|(&p, a)| Slice::range(a[p].2.start, a[p].2.end))
                        .collect::<Result<Vec<_>>>()?,
                );
                parts.push((k, inner, dst));
                for d in (0..pos.len()).rev() {
                    pos[d] += 1;
                    if pos[d] < per_axis[d].len() {
                        continue 'outer;
                    }
                    pos[d] = 0;
                }
                break;
            }
        }
        let ks: Vec<usize> = parts.iter().map(|(k, _, _)| *k).collect();
        let decoded = self.fetch_inner(src, &index, size, &ks, dtype, fill)?;
        let src_layout = Layout::c(&self.chunk_shape, itemsize);
        let dst_layout = Layout::c(&out_shape, itemsize);
        for ((_, inner, dst), chunk) in parts.iter().zip(&decoded) {
            if let Some(chunk) = chunk {
                copy_region(chunk, src_layout, inner, &mut out, dst_layout, dst)?;
            }
        }
        Ok(out)
    }

    /// Encodes a whole shard; `None` when no inner chunk is stored.
    pub fn encode(&self, input: ArrayRef<'_>, opts: &EncodeOptions) -> Result<Option<Vec<u8>>> {
        let cps = self.chunks_per_shard(&input.shape)?;
        let n: usize = cps.iter().product();
        let encoded: Vec<Option<Vec<u8>>> = crate::threads::install(|| {
            (0..n)
                .into_par_iter()
                .map(|k| -> Result<Option<Vec<u8>>> {
                    let part = input.read_region(&self.chunk_region(&cps, k)?)?;
                    self.codecs.encode(part.as_array_ref(), opts)
                })
                .collect::<Result<Vec<_>>>()
        })?;
        let chunks: Vec<Option<Cow<'_, [u8]>>> =
            encoded.into_iter().map(|e| e.map(Cow::Owned)).collect();
        self.assemble(&cps, &chunks)
    }

    /// Reads and decodes a stored shard's index through `src`; returns it and the shard's size.
    fn read_index_from(
        &self,
        src: &dyn RangeRead,
        cps: &[usize],
    ) -> Result<(Vec<(u64, u64)>, u64)> {
        let size = src.size()?;
        let index_range = self.index_range(size, cps)?;
        let index_bytes = src.read_ranges(std::slice::from_ref(&index_range))?;
        Ok((self.parse_index(&index_bytes[0], cps)?, size))
    }

    /// The byte range of a stored inner chunk in a shard of `size` bytes.
    fn entry_range(entry: (u64, u64), size: u64) -> Result<Range<u64>> {
        let (offset, nbytes) = entry;
        offset
            .checked_add(nbytes)
            .filter(|&end| end <= size)
            .map(|end| offset..end)
            .ok_or_else(|| {
                Error::corrupt(format!(
                    "zarr shard index entry ({offset}, {nbytes}) lies outside the shard of \
                     {size} bytes"
                ))
            })
    }

    /// Reads (nearby byte ranges together) and decodes, in parallel, the inner chunks `ks` of a
    /// shard of `size` bytes with `index`; `None` for those not stored.
    fn fetch_inner(
        &self,
        src: &dyn RangeRead,
        index: &[(u64, u64)],
        size: u64,
        ks: &[usize],
        dtype: &DataType,
        fill: &[u8],
    ) -> Result<Vec<Option<Vec<u8>>>> {
        let mut stored: Vec<usize> = Vec::new();
        let mut ranges: Vec<Range<u64>> = Vec::new();
        for (j, &k) in ks.iter().enumerate() {
            let entry = *index.get(k).ok_or_else(|| {
                Error::invalid_argument(format!("inner chunk {k} of a shard of {}", index.len()))
            })?;
            if entry != (EMPTY, EMPTY) {
                stored.push(j);
                ranges.push(Self::entry_range(entry, size)?);
            }
        }
        let (reads, place) = coalesce(&ranges, COALESCE_MAX_GAP, COALESCE_MAX_BYTES);
        let data = src.read_ranges(&reads)?;
        let decoded: Vec<Vec<u8>> = crate::threads::install(|| {
            ranges
                .par_iter()
                .zip(&place)
                .map(|(r, &(read, at))| {
                    let at = at as usize;
                    let bytes = &data[read][at..at + (r.end - r.start) as usize];
                    self.codecs.decode(bytes, dtype, &self.chunk_shape, fill)
                })
                .collect::<Result<Vec<_>>>()
        })?;
        let mut out: Vec<Option<Vec<u8>>> = vec![None; ks.len()];
        for (j, d) in stored.into_iter().zip(decoded) {
            out[j] = Some(d);
        }
        Ok(out)
    }

    /// Decodes the inner chunks `touched` (C-order positions) of a shard of `shape` read
    /// through `src` (the index, then those inner chunks, nearby byte ranges together, decoded
    /// in parallel) into a new C-order buffer of the whole shard: the touched inner chunks hold
    /// their items (`fill` where not stored), the others zeros. The buffer's untouched pages are
    /// never written, so a large shard costs memory only where it is touched.
    pub fn decode_touched(
        &self,
        src: &dyn RangeRead,
        shape: &[usize],
        touched: &[usize],
        dtype: &DataType,
        fill: &[u8],
    ) -> Result<Vec<u8>> {
        let cps = self.chunks_per_shard(shape)?;
        let itemsize = dtype.itemsize();
        if fill.len() != itemsize {
            return Err(Error::invalid_argument(format!(
                "fill value of {} bytes for {dtype}",
                fill.len()
            )));
        }
        let total = crate::region::checked_num_items(shape)?
            .checked_mul(itemsize)
            .ok_or_else(|| Error::too_large(format!("shard shape {shape:?} is too large")))?;
        let mut out = vec![0u8; total];
        if touched.is_empty() {
            return Ok(out);
        }
        let (index, size) = self.read_index_from(src, &cps)?;
        let decoded = self.fetch_inner(src, &index, size, touched, dtype, fill)?;
        let fill_chunk = fill.repeat(crate::region::checked_num_items(&self.chunk_shape)?);
        let src_layout = Layout::c(&self.chunk_shape, itemsize);
        let src_full = Region::full(&self.chunk_shape)?;
        let dst_layout = Layout::c(shape, itemsize);
        for (&k, chunk) in touched.iter().zip(&decoded) {
            copy_region(
                chunk.as_deref().unwrap_or(&fill_chunk),
                src_layout,
                &src_full,
                &mut out,
                dst_layout,
                &self.chunk_region(&cps, k)?,
            )?;
        }
        Ok(out)
    }

    /// Reads the items `pick` of a shard of `shape` whose inner chunks are uncompressed (inner
    /// codecs of [plain bytes](CodecChain::is_plain_bytes)) through `src`: the index, then only
    /// the byte ranges of the picked items (ranges closer than `max_gap` bytes read together).
    /// Returns the items in C order of the pick (`fill` where an inner chunk is not stored), or
    /// `None` when the inner chunks are not plain bytes or the ranges would cover more than half
    /// of the inner chunks the pick touches (then decode those whole).
    pub fn read_plain_items(
        &self,
        src: &dyn RangeRead,
        shape: &[usize],
        pick: &Pick,
        dtype: &DataType,
        fill: &[u8],
        max_gap: u64,
    ) -> Result<Option<Vec<u8>>> {
        if !self.codecs.is_plain_bytes() {
            return Ok(None);
        }
        let cps = self.chunks_per_shard(shape)?;
        pick.check(shape)?;
        let itemsize = dtype.itemsize();
        if fill.len() != itemsize {
            return Err(Error::invalid_argument(format!(
                "fill value of {} bytes for {dtype}",
                fill.len()
            )));
        }
        let inner_bytes = crate::region::checked_num_items(&self.chunk_shape)?
            .checked_mul(itemsize)
            .ok_or_else(|| Error::too_large("inner chunk too large"))?;
        let n = pick.num_items()?;
        let touched = pick.touched_blocks(shape, &self.chunk_shape)?;
        if n.saturating_mul(itemsize).saturating_mul(2) > touched.len().saturating_mul(inner_bytes)
        {
            return Ok(None);
        }
        // Per picked item (C order of the pick): its inner chunk and its byte offset in it.
        let (ks, offs) = pick.block_offsets(shape, &self.chunk_shape, itemsize)?;
        let (index, size) = self.read_index_from(src, &cps)?;
        let mut out = vec![0u8; n * itemsize];
        // Runs of items stored one after another: (byte range in the shard, first item).
        let mut runs: Vec<(Range<u64>, usize)> = Vec::new();
        for (j, (&k, &off)) in ks.iter().zip(&offs).enumerate() {
            let entry = index[k];
            if entry == (EMPTY, EMPTY) {
                out[j * itemsize..(j + 1) * itemsize].copy_from_slice(fill);
                continue;
            }
            let r = Self::entry_range(entry, size)?;
            if r.end - r.start != inner_bytes as u64 {
                return Err(Error::corrupt(format!(
                    "zarr inner chunk has {} bytes, shape {:?} of {dtype} needs {inner_bytes}",
                    r.end - r.start,
                    self.chunk_shape
                )));
            }
            let at = r.start + off as u64;
            match runs.last_mut() {
                Some((last, first))
                    if last.end == at
                        && *first + ((last.end - last.start) as usize / itemsize) == j =>
                {
                    last.end += itemsize as u64
                }
                _ => runs.push((at..at + itemsize as u64, j)),
            }
        }
        let ranges: Vec<Range<u64>> = runs.iter().map(|(r, _)| r.clone()).collect();
        let (reads, place) = coalesce(&ranges, max_gap, COALESCE_MAX_BYTES);
        let data = src.read_ranges(&reads)?;
        for ((r, first), &(read, at)) in runs.iter().zip(&place) {
            let len = (r.end - r.start) as usize;
            let at = at as usize;
            out[first * itemsize..first * itemsize + len]
                .copy_from_slice(&data[read][at..at + len]);
        }
        // Fill items were written in `dtype`'s order already: swap only the stored ones.
        if self.codecs.needs_swap(dtype) {
            for (r, first) in &runs {
                let len = (r.end - r.start) as usize;
                self.codecs
                    .fix_byte_order(&mut out[first * itemsize..first * itemsize + len], dtype);
            }
        }
        Ok(Some(out))
    }

    /// Re-encodes a stored shard of `shape` after a write that changes only the inner chunks
    /// `touched` (C-order positions): those are decoded (or the fill value where not stored)
    /// into a buffer of the whole shard, `merge` writes the new items into it, and they are
    /// encoded again in parallel; every other inner chunk keeps its encoded bytes, copied. The
    /// result is the bytes a whole re-encoding would give with the same codecs; `None` when no
    /// inner chunk is left.
    pub fn encode_partial(
        &self,
        existing: &[u8],
        shape: &[usize],
        dtype: &DataType,
        touched: &[usize],
        merge: &mut dyn FnMut(&mut [u8]) -> Result<()>,
        opts: &EncodeOptions,
    ) -> Result<Option<Vec<u8>>> {
        let cps = self.chunks_per_shard(shape)?;
        let index = self.read_index(existing, &cps)?;
        let mut buf = self.decode_touched(&existing, shape, touched, dtype, &opts.fill)?;
        merge(&mut buf)?;
        let input = ArrayRef::new(&buf, dtype.clone(), shape.to_vec(), Order::C)?;
        let encoded: Vec<Option<Vec<u8>>> = crate::threads::install(|| {
            touched
                .par_iter()
                .map(|&k| -> Result<Option<Vec<u8>>> {
                    let part = input.read_region(&self.chunk_region(&cps, k)?)?;
                    self.codecs.encode(part.as_array_ref(), opts)
                })
                .collect::<Result<Vec<_>>>()
        })?;
        let size = existing.len() as u64;
        let mut chunks: Vec<Option<Cow<'_, [u8]>>> = Vec::with_capacity(index.len());
        for &entry in &index {
            chunks.push(if entry == (EMPTY, EMPTY) {
                None
            } else {
                let r = Self::entry_range(entry, size)?;
                Some(Cow::Borrowed(&existing[r.start as usize..r.end as usize]))
            });
        }
        for (&k, e) in touched.iter().zip(encoded) {
            let slot = chunks.get_mut(k).ok_or_else(|| {
                Error::invalid_argument(format!("inner chunk {k} of a shard of {}", index.len()))
            })?;
            *slot = e.map(Cow::Owned);
        }
        self.assemble(&cps, &chunks)
    }

    /// A shard of the encoded inner chunks `chunks` (C-order positions; `None`: not stored),
    /// stored in zarr's Morton order with the index; `None` when none is stored.
    fn assemble(&self, cps: &[usize], chunks: &[Option<Cow<'_, [u8]>>]) -> Result<Option<Vec<u8>>> {
        let n = chunks.len();
        let mut index = vec![(EMPTY, EMPTY); n];
        let total: usize = chunks.iter().flatten().map(|c| c.len()).sum();
        let mut body: Vec<u8> = Vec::with_capacity(total + self.index_size(cps)?);
        for coords in morton_order(cps) {
            let k = coords.iter().zip(cps).fold(0, |acc, (&c, &m)| acc * m + c);
            if let Some(bytes) = chunks[k].as_deref().filter(|b| !b.is_empty()) {
                index[k] = (body.len() as u64, bytes.len() as u64);
                body.extend_from_slice(bytes);
            }
        }
        if index.iter().all(|&e| e == (EMPTY, EMPTY)) {
            return Ok(None);
        }
        let index_len = self.index_size(cps)? as u64;
        if self.index_location == IndexLocation::Start {
            for e in index.iter_mut().filter(|e| e.0 != EMPTY) {
                e.0 += index_len;
            }
        }
        let index_bytes = self.encode_index(&index, cps)?;
        Ok(Some(match self.index_location {
            IndexLocation::Start => [index_bytes, body].concat(),
            IndexLocation::End => {
                body.extend_from_slice(&index_bytes);
                body
            }
        }))
    }

    fn encode_index(&self, index: &[(u64, u64)], cps: &[usize]) -> Result<Vec<u8>> {
        let raw: Vec<u8> = index
            .iter()
            .flat_map(|&(o, n)| o.to_le_bytes().into_iter().chain(n.to_le_bytes()))
            .collect();
        let mut shape = cps.to_vec();
        shape.push(2);
        let arr = ArrayRef::new(&raw, "<u8".parse()?, shape, Order::C)?;
        let opts = EncodeOptions {
            fill: EMPTY.to_le_bytes().to_vec(),
            write_empty_chunks: true,
        };
        self.index_codecs
            .encode(arr, &opts)?
            .ok_or_else(|| Error::invalid_config("zarr shard index encoded to nothing"))
    }
}
