//! One read of a selection: the chunks it touches are read (whole, or only the bytes the
//! selection needs), decoded in parallel and their picked items copied into the output.

use std::borrow::Cow;
use std::sync::Mutex;

use rayon::prelude::*;

use super::files::{open_ranges, read_file, FileRanges};
use super::{ChunkRead, ChunkSource};
use crate::buffer::ArrayMut;
use crate::codec::zarr3::{coalesce, CodecChain, RangeRead, Sharding};
use crate::dtype::DataType;
use crate::error::{Error, Result};
use crate::region::{copy_pick, copy_region_serial, fill_pick, Layout, Pick, Region};

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

/// Reads the chunks of `items` into `out`: each stored chunk is read and decoded (in parallel
/// on ndpack's pool; only the inner chunks a part of a shard needs, only the bytes a part of
/// an uncompressed chunk file needs) and its `chunk_sel` items copied to the `out_sel` items
/// of `out`; a missing chunk puts `fill` (one item in `out`'s byte order) there.
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
    // Each task decodes its chunk, then copies it out under the lock: copies follow one
    // another while the other threads decode, and a few decoded chunks are alive at a time.
    let out = Mutex::new(out_data);
    crate::threads::install(|| {
        items.par_iter().try_for_each(|item| {
            item.out_sel.check(&out_shape)?;
            if item.chunk_sel.num_items()? == 0 {
                return Ok(());
            }
            let chunk = decode_item(chain, item, &dtype, fill)?;
            match chunk {
                Decoded::Fill => {
                    if let Pick::Region(r) = &item.out_sel {
                        let shape = r.shape();
                        let src = fill.repeat(r.num_items()?);
                        let mut guard = out.lock().map_err(|_| lock_error())?;
                        copy_region_serial(
                            &src,
                            Layout::c(&shape, itemsize),
                            &Region::full(&shape)?,
                            &mut guard,
                            out_layout,
                            r,
                        )
                    } else {
                        let mut guard = out.lock().map_err(|_| lock_error())?;
                        fill_pick(&mut guard, out_layout, &item.out_sel, fill)
                    }
                }
                Decoded::Items { data, shape, pick } => {
                    let mut guard = out.lock().map_err(|_| lock_error())?;
                    copy_pick(
                        &data,
                        Layout::c(&shape, itemsize),
                        &pick,
                        &mut guard,
                        out_layout,
                        &item.out_sel,
                    )
                }
            }
        })
    })
}

fn lock_error() -> Error {
    Error::invalid_argument("a copy into the output failed")
}
