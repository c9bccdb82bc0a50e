//! One write of a selection: each chunk's part of the value merged into the chunk (decoded
//! first where only part of it is written; for a shard, only the inner chunks the part
//! touches, the others' encoded bytes kept), encoded in parallel, and returned or written to
//! its file.

use std::path::PathBuf;

use rayon::prelude::*;

use super::files::{remove_file, write_file};
use super::ChunkWrite;
use crate::buffer::ArrayRef;
use crate::codec::zarr3::{CodecChain, EncodeOptions};
use crate::error::{Error, Result};
use crate::region::{copy_pick, fill_pick, Layout, Order};

/// How many chunks are merged and encoded at a time: bounds the memory of a write to a few
/// chunks per thread.
fn group_len() -> usize {
    crate::threads::get_num_threads().max(1) * 4
}

/// Writes `item`'s part of `value` into `chunk` (C order): a 0-d `value` is one item put in
/// every picked place.
fn apply(value: &ArrayRef<'_>, item: &ChunkWrite<'_>, chunk: &mut [u8]) -> Result<()> {
    let itemsize = value.dtype.itemsize();
    let layout = Layout::c(&item.chunk_shape, itemsize);
    if value.shape.is_empty() {
        fill_pick(chunk, layout, &item.chunk_sel, value.data)
    } else {
        copy_pick(
            value.data,
            Layout::new(&value.shape, itemsize, value.order),
            &item.value_sel,
            chunk,
            layout,
            &item.chunk_sel,
        )
    }
}

/// The encoded chunk of `item` after the write (`None`: not to be stored).
fn encode_item(
    chain: &CodecChain,
    item: &ChunkWrite<'_>,
    value: &ArrayRef<'_>,
    opts: &EncodeOptions,
) -> Result<Option<Vec<u8>>> {
    let itemsize = value.dtype.itemsize();
    let items = crate::region::checked_num_items(&item.chunk_shape)?;
    let whole = item.chunk_sel.is_full(&item.chunk_shape)
        || matches!(&item.chunk_sel, crate::region::Pick::Region(r) if r.num_items()? == items);
    if let (Some(sharding), Some(existing), false) = (chain.sharding_alone(), item.existing, whole)
    {
        let touched = item
            .chunk_sel
            .touched_blocks(&item.chunk_shape, &sharding.chunk_shape)?;
        return sharding.encode_partial(
            existing,
            &item.chunk_shape,
            &value.dtype,
            &touched,
            &mut |buf: &mut [u8]| apply(value, item, buf),
            opts,
        );
    }
    let mut chunk = match item.existing {
        Some(bytes) if !whole => {
            chain.decode(bytes, &value.dtype, &item.chunk_shape, &opts.fill)?
        }
        _ if whole => vec![0u8; items * itemsize],
        _ => opts.fill.repeat(items),
    };
    apply(value, item, &mut chunk)?;
    let arr = ArrayRef::new(
        &chunk,
        value.dtype.clone(),
        item.chunk_shape.clone(),
        Order::C,
    )?;
    chain.encode(arr, opts)
}

/// Merges and encodes the chunks of one group in parallel.
fn encode_group(
    chain: &CodecChain,
    group: &[ChunkWrite<'_>],
    value: &ArrayRef<'_>,
    opts: &EncodeOptions,
) -> Result<Vec<Option<Vec<u8>>>> {
    if opts.fill.len() != value.dtype.itemsize() {
        return Err(Error::invalid_argument(format!(
            "fill value of {} bytes for {}",
            opts.fill.len(),
            value.dtype
        )));
    }
    crate::threads::install(|| {
        group
            .par_iter()
            .map(|item| encode_item(chain, item, value, opts))
            .collect()
    })
}

/// Writes a selection: each chunk's `value_sel` items of `value` go to its `chunk_sel` items
/// (a 0-d `value` is one item put in every picked place), and the chunks are encoded in
/// parallel. Returns each chunk's new bytes, `None` for a chunk not to be stored (every item
/// the fill value without `write_empty_chunks`, or a shard with no inner chunk left).
pub fn write_chunks(
    chain: &CodecChain,
    items: &[ChunkWrite<'_>],
    value: ArrayRef<'_>,
    opts: &EncodeOptions,
) -> Result<Vec<Option<Vec<u8>>>> {
    let mut out = Vec::with_capacity(items.len());
    for group in items.chunks(group_len()) {
        out.extend(encode_group(chain, group, &value, opts)?);
    }
    Ok(out)
}

/// [`write_chunks`] into files: chunk `i` is written to `paths[i]` (through a temporary file
/// in the same folder renamed over it, folders made as needed: a write killed half way leaves
/// the old chunk) or its file removed when it is not to be stored. Chunks are encoded and
/// written a few per thread at a time, so the memory of the call stays small.
pub fn write_chunk_files(
    chain: &CodecChain,
    items: &[ChunkWrite<'_>],
    value: ArrayRef<'_>,
    opts: &EncodeOptions,
    paths: &[PathBuf],
) -> Result<()> {
    if paths.len() != items.len() {
        return Err(Error::invalid_argument(format!(
            "{} paths for {} chunks",
            paths.len(),
            items.len()
        )));
    }
    for (group, group_paths) in items.chunks(group_len()).zip(paths.chunks(group_len())) {
        let encoded = encode_group(chain, group, &value, opts)?;
        crate::threads::install(|| {
            encoded
                .par_iter()
                .zip(group_paths)
                .try_for_each(|(data, path)| match data {
                    Some(d) => write_file(path, d),
                    None => remove_file(path),
                })
        })?;
    }
    Ok(())
}
