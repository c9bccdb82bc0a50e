//! One read of a selection: the chunks it touches are read (whole, or only the bytes the
//! selection needs), decoded in parallel and their picked items copied into the output.

use std::borrow::Cow;
use std::ops::Range;
use std::sync::Mutex;

use rayon::prelude::*;

use super::files::{open_ranges, read_file, FileRanges};
use super::{ChunkRead, ChunkSource};
use crate::buffer::ArrayMut;
use crate::codec::zarr3::{coalesce, CodecChain, RangeRead, Sharding};
use crate::dtype::DataType;
use crate::error::{Error, Result};
use crate::region::{copy_pick, copy_region_serial, fill_pick, Layout, Order, Pick, Region, Slice};

/// Byte ranges of an uncompressed chunk file closer than this are read as one (a page: a
/// positional read costs about as much as copying a few KiB more).
const FILE_MAX_GAP: u64 = 4 << 10;

/// A chunk's decoded data, for the copy into the output.
enum Decoded<'a> {
    /// Missing: the fill value.
    Fill,
    /// The items of a C-order array of `shape` and the pick of the wanted items in it.
    Items {
        data: Cow<'a, [u8]>,
        shape: Cow<'a, [usize]>,
        pick: Cow<'a, Pick>,
    },
}

impl<'a> Decoded<'a> {
    /// The whole chunk of `item`.
    fn whole(data: Cow<'a, [u8]>, item: &'a ChunkRead<'a>) -> Decoded<'a> {
        Decoded::Items {
            data,
            shape: Cow::Borrowed(&item.chunk_shape),
            pick: Cow::Borrowed(&item.chunk_sel),
        }
    }
}

/// Whether `item` reads every item of its chunk.
fn is_whole(item: &ChunkRead<'_>) -> Result<bool> {
    Ok(match &item.chunk_sel {
        Pick::Region(r) => r.num_items()? == crate::region::checked_num_items(&item.chunk_shape)?,
        other => other.is_full(&item.chunk_shape),
    })
}

/// Decodes the part of a shard that `item` needs: the index and the inner chunks it touches
/// (of uncompressed inner chunks, only the byte ranges of the picked items).
fn shard_part<'a>(
    sharding: &Sharding,
    src: &dyn RangeRead,
    item: &'a ChunkRead<'a>,
    dtype: &DataType,
    fill: &[u8],
) -> Result<Decoded<'a>> {
    if let Some(items) = sharding.read_plain_items(
        src,
        &item.chunk_shape,
        &item.chunk_sel,
        dtype,
        fill,
        FILE_MAX_GAP,
    )? {
        let shape = item.chunk_sel.shape();
        return Ok(Decoded::Items {
            data: Cow::Owned(items),
            pick: Cow::Owned(Pick::Region(Region::full(&shape)?)),
            shape: Cow::Owned(shape),
        });
    }
    match &item.chunk_sel {
        Pick::Region(r) if r.slices().iter().all(|s| s.step() > 0) => {
            let shape = r.shape();
            let data = sharding.decode_region(src, &item.chunk_shape, r, dtype, fill)?;
            Ok(Decoded::Items {
                data: Cow::Owned(data),
                pick: Cow::Owned(Pick::Region(Region::full(&shape)?)),
                shape: Cow::Owned(shape),
            })
        }
        pick => {
            let touched = pick.touched_blocks(&item.chunk_shape, &sharding.chunk_shape)?;
            let data = sharding.decode_touched(src, &item.chunk_shape, &touched, dtype, fill)?;
            Ok(Decoded::whole(Cow::Owned(data), item))
        }
    }
}

/// Reads the items `item` needs of an uncompressed chunk file (a chain of `bytes` alone) with
/// positional reads of their byte ranges, nearby ones together. `None` when that would read
/// more than half the file: then the whole file is read.
fn plain_part<'a>(
    chain: &CodecChain,
    file: &FileRanges,
    item: &'a ChunkRead<'a>,
    dtype: &DataType,
) -> Result<Option<Decoded<'a>>> {
    let itemsize = dtype.itemsize();
    let chunk_bytes = crate::region::checked_num_items(&item.chunk_shape)?
        .checked_mul(itemsize)
        .ok_or_else(|| {
            Error::too_large(format!("chunk shape {:?} is too large", item.chunk_shape))
        })? as u64;
    let size = file.size()?;
    if size != chunk_bytes {
        return Err(Error::corrupt(format!(
            "zarr chunk has {size} bytes, shape {:?} of {dtype} needs {chunk_bytes}",
            item.chunk_shape
        )));
    }
    let Some(compact) = item.chunk_sel.compact(&item.chunk_shape, itemsize)? else {
        return Ok(None);
    };
    let (reads, place) = coalesce(&compact.ranges, FILE_MAX_GAP, u64::MAX);
    let read_bytes: u64 = reads.iter().map(|r| r.end - r.start).sum();
    if read_bytes.saturating_mul(2) > chunk_bytes {
        return Ok(None);
    }
    let data = file.read_ranges(&reads)?;
    let mut buf = Vec::with_capacity(compact.num_bytes() as usize);
    for (r, &(read, at)) in compact.ranges.iter().zip(&place) {
        let at = at as usize;
        buf.extend_from_slice(&data[read][at..at + (r.end - r.start) as usize]);
    }
    chain.fix_byte_order(&mut buf, dtype);
    Ok(Some(Decoded::Items {
        data: Cow::Owned(buf),
        shape: Cow::Owned(compact.shape),
        pick: Cow::Owned(compact.pick),
    }))
}

/// Decodes a whole chunk held in `bytes` (owned: a file's bytes).
fn decode_owned<'a>(
    chain: &CodecChain,
    bytes: Vec<u8>,
    item: &'a ChunkRead<'a>,
    dtype: &DataType,
    fill: &[u8],
) -> Result<Decoded<'a>> {
    if let Some(view) = chain.decode_view(&bytes, dtype, &item.chunk_shape)? {
        if view.len() == bytes.len() {
            return Ok(Decoded::whole(Cow::Owned(bytes), item));
        }
    }
    let data = chain.decode(&bytes, dtype, &item.chunk_shape, fill)?;
    Ok(Decoded::whole(Cow::Owned(data), item))
}

/// Decodes what `item` needs of its chunk.
fn decode_item<'a>(
    chain: &CodecChain,
    item: &'a ChunkRead<'a>,
    dtype: &DataType,
    fill: &[u8],
) -> Result<Decoded<'a>> {
    let whole = is_whole(item)?;
    let part_of_shard = chain.sharding_alone().filter(|_| !whole);
    match item.source {
        ChunkSource::Missing => Ok(Decoded::Fill),
        ChunkSource::Bytes(bytes) => {
            if let Some(sharding) = part_of_shard {
                return shard_part(sharding, &bytes, item, dtype, fill);
            }
            if let Some(view) = chain.decode_view(bytes, dtype, &item.chunk_shape)? {
                return Ok(Decoded::whole(Cow::Borrowed(view), item));
            }
            let data = chain.decode(bytes, dtype, &item.chunk_shape, fill)?;
            Ok(Decoded::whole(Cow::Owned(data), item))
        }
        ChunkSource::File(path) => {
            if let Some(sharding) = part_of_shard {
                return match open_ranges(path)? {
                    None => Ok(Decoded::Fill),
                    Some(file) => shard_part(sharding, &file, item, dtype, fill),
                };
            }
            if chain.is_plain_bytes() && !whole {
                let Some(file) = open_ranges(path)? else {
                    return Ok(Decoded::Fill);
                };
                if let Some(part) = plain_part(chain, &file, item, dtype)? {
                    return Ok(part);
                }
                let size = file.size()?;
                if size > crate::error::MAX_DECODED_SIZE as u64 {
                    return Err(Error::too_large(format!(
                        "chunk file {} of {size} bytes is over the limit",
                        path.display()
                    )));
                }
                let whole = 0..size;
                let bytes = file
                    .read_ranges(std::slice::from_ref(&whole))?
                    .remove(0)
                    .into_owned();
                return decode_owned(chain, bytes, item, dtype, fill);
            }
            match read_file(path)? {
                None => Ok(Decoded::Fill),
                Some(bytes) => decode_owned(chain, bytes, item, dtype, fill),
            }
        }
    }
}

/// Reads one chunk into `out` (laid out as `layout`; `out_sel` is the item's place in it):
/// decodes what it needs, then copies under the lock.
#[allow(clippy::too_many_arguments)]
fn read_one(
    chain: &CodecChain,
    item: &ChunkRead<'_>,
    out_sel: &Pick,
    dtype: &DataType,
    fill: &[u8],
    out: &Mutex<&mut [u8]>,
    layout: Layout<'_>,
) -> Result<()> {
    out_sel.check(layout.shape())?;
    if item.chunk_sel.num_items()? == 0 {
        return Ok(());
    }
    let itemsize = dtype.itemsize();
    match decode_item(chain, item, dtype, fill)? {
        Decoded::Fill => {
            if let Pick::Region(r) = out_sel {
                let shape = r.shape();
                let src = fill.repeat(r.num_items()?);
                let mut guard = out.lock().map_err(|_| lock_error())?;
                copy_region_serial(
                    &src,
                    Layout::c(&shape, itemsize),
                    &Region::full(&shape)?,
                    &mut guard,
                    layout,
                    r,
                )
            } else {
                let mut guard = out.lock().map_err(|_| lock_error())?;
                fill_pick(&mut guard, layout, out_sel, fill)
            }
        }
        Decoded::Items { data, shape, pick } => {
            let mut guard = out.lock().map_err(|_| lock_error())?;
            copy_pick(
                &data,
                Layout::c(&shape, itemsize),
                &pick,
                &mut guard,
                layout,
                out_sel,
            )
        }
    }
}

/// A band of the output along its outermost axis (axis 0 in C order, the last in F order):
/// the items whose output regions lie in it, its index range on that axis.
struct Band {
    range: Range<usize>,
    items: Vec<usize>,
}

/// A band and its part of the output: the shape of that part and its memory.
struct BandOut<'b, 'o> {
    band: &'b Band,
    shape: Vec<usize>,
    out: Mutex<&'o mut [u8]>,
}

/// Splits the items into bands of the output that no two share (each item's output region
/// within one band), sorted along the outermost axis; `None` when some output selection is not
/// a region or two of them overlap on that axis without being the same range.
fn bands(items: &[ChunkRead<'_>], shape: &[usize], axis: usize) -> Option<Vec<Band>> {
    let mut ranges: Vec<(Range<usize>, usize)> = Vec::with_capacity(items.len());
    for (i, item) in items.iter().enumerate() {
        let Pick::Region(r) = &item.out_sel else {
            return None;
        };
        if r.ndim() != shape.len() || r.check(shape).is_err() {
            return None;
        }
        ranges.push((r.slices()[axis].bounds(), i));
    }
    ranges.sort_by_key(|(r, i)| (r.start, r.end, *i));
    let mut out: Vec<Band> = Vec::new();
    for (r, i) in ranges {
        match out.last_mut() {
            Some(b) if b.range == r => b.items.push(i),
            Some(b) if r.start < b.range.end => return None,
            _ => out.push(Band {
                range: r,
                items: vec![i],
            }),
        }
    }
    Some(out)
}

/// Reads the chunks of `items` into `out`: each stored chunk is read and decoded (in parallel
/// on ndpack's pool; only the inner chunks a part of a shard needs, only the bytes a part of
/// an uncompressed chunk file needs) and its `chunk_sel` items copied to the `out_sel` items
/// of `out`; a missing chunk puts `fill` (one item in `out`'s byte order) there.
///
/// Copies into one band of the output (the chunks of one row of the chunk grid, for the
/// regions zarr's basic indexing makes) follow one another under that band's lock while other
/// chunks decode; bands are copied into in parallel. Output selections of other forms share
/// one lock.
pub fn read_chunks_into(
    chain: &CodecChain,
    items: &[ChunkRead<'_>],
    out: ArrayMut<'_>,
    fill: &[u8],
) -> Result<()> {
    let ArrayMut {
        data: out_data,
        dtype,
        shape: out_shape,
        order: out_order,
    } = out;
    let itemsize = dtype.itemsize();
    if fill.len() != itemsize {
        return Err(Error::invalid_argument(format!(
            "fill value of {} bytes for {dtype}",
            fill.len()
        )));
    }
    let out_layout = Layout::new(&out_shape, itemsize, out_order);
    if out_data.len() != out_layout.num_bytes()? {
        return Err(Error::invalid_argument(format!(
            "output of {} bytes for shape {out_shape:?} of {dtype}",
            out_data.len()
        )));
    }
    let nd = out_shape.len();
    let axis = if out_order == Order::C {
        0
    } else {
        nd.saturating_sub(1)
    };
    let split = if nd == 0 {
        None
    } else {
        bands(items, &out_shape, axis).filter(|b| b.len() > 1)
    };
    let Some(bands) = split else {
        // One lock: copies follow one another while the other threads decode.
        let out = Mutex::new(out_data);
        return crate::threads::install(|| {
            items.par_iter().try_for_each(|item| {
                read_one(chain, item, &item.out_sel, &dtype, fill, &out, out_layout)
            })
        });
    };
    // The bytes of one index along the outermost axis: bands are disjoint byte ranges.
    let plane = out_data.len() / out_shape[axis].max(1);
    let mut parts: Vec<BandOut<'_, '_>> = Vec::with_capacity(bands.len());
    let mut rest: &mut [u8] = out_data;
    let mut at = 0usize;
    for band in &bands {
        let skip = (band.range.start - at) * plane;
        let (_, tail) = std::mem::take(&mut rest).split_at_mut(skip);
        let (mine, tail) = tail.split_at_mut(band.range.len() * plane);
        rest = tail;
        at = band.range.end;
        let mut shape = out_shape.clone();
        shape[axis] = band.range.len();
        parts.push(BandOut {
            band,
            shape,
            out: Mutex::new(mine),
        });
    }
    crate::threads::install(|| {
        parts
            .par_iter()
            .try_for_each(|BandOut { band, shape, out }| {
                let layout = Layout::new(shape, itemsize, out_order);
                band.items.par_iter().try_for_each(|&i| {
                    let item = &items[i];
                    let Pick::Region(r) = &item.out_sel else {
                        return Err(Error::invalid_argument("a band holds regions only"));
                    };
                    let mut slices = r.slices().to_vec();
                    let (a, b, step) = slices[axis].indices();
                    let off = band.range.start as isize;
                    slices[axis] = Slice::new(a - off, b - off, step)?;
                    let sel = Pick::Region(Region::new(slices));
                    read_one(chain, item, &sel, &dtype, fill, out, layout)
                })
            })
    })
}

fn lock_error() -> Error {
    Error::invalid_argument("a copy into the output failed")
}
