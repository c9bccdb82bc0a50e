//! Batched chunk work for zarr v3 arrays: one call reads the chunks of a selection (from memory
//! or from files), decodes them in parallel with a [`CodecChain`] and copies each chunk's picked
//! items into the output array (or the fill value where a chunk is missing); one call encodes
//! many chunks in parallel; one call writes a selection: each chunk's part of the value merged
//! into the chunk (decoded first where only part of it is written), encoded in parallel and
//! returned or written to its file. Selections are [`Pick`]s: regions of slices, orthogonal
//! index lists and points, so every indexing mode of zarr-python runs here. zarr-python's codec
//! pipeline in `ndpack.zarr` is built on these.

use std::path::Path;

use rayon::prelude::*;

use crate::buffer::ArrayRef;
use crate::codec::zarr3::{BytesChain, CodecChain, EncodeOptions};
use crate::dtype::DataType;
use crate::error::Result;
use crate::region::Pick;

mod files;
mod read;
mod write;

pub use files::read_files;
pub use read::read_chunks_into;
pub use write::{write_chunk_files, write_chunks};

/// Where a chunk of a read is stored.
#[derive(Debug, Clone, Copy)]
pub enum ChunkSource<'a> {
    /// Not stored: read as the fill value.
    Missing,
    /// The encoded chunk in memory.
    Bytes(&'a [u8]),
    /// A file holding the encoded chunk (a missing file is a missing chunk). Parts of shards
    /// are read with positional reads of the index and the inner chunks they need; parts of
    /// uncompressed chunks (a chain of `bytes` alone) with positional reads of their items.
    File(&'a Path),
}

/// One chunk of a read: where it is stored, its shape, the items of it that are read and where
/// they go in the output (paired in C order of the two picks, whose shapes are equal).
#[derive(Debug, Clone)]
pub struct ChunkRead<'a> {
    /// The stored chunk.
    pub source: ChunkSource<'a>,
    /// The chunk's shape.
    pub chunk_shape: Vec<usize>,
    /// The items of the chunk that are read.
    pub chunk_sel: Pick,
    /// Where they go in the output.
    pub out_sel: Pick,
}

/// One chunk of a write: its stored bytes where part of it is kept (`None`: a missing chunk,
/// or one written whole), its shape, the items of it that are written and where they come
/// from in the value (paired in C order of the two picks).
#[derive(Debug, Clone)]
pub struct ChunkWrite<'a> {
    /// The stored chunk whose other items are kept, `None` when there is none (the fill value).
    pub existing: Option<&'a [u8]>,
    /// The chunk's shape.
    pub chunk_shape: Vec<usize>,
    /// The items of the chunk that are written.
    pub chunk_sel: Pick,
    /// Where they are in the value (unused for a 0-d value).
    pub value_sel: Pick,
}

/// Decodes whole chunks in parallel into new C-order buffers; `None` where `data` is `None`.
pub fn decode_chunks(
    chain: &CodecChain,
    data: &[Option<&[u8]>],
    dtype: &DataType,
    shape: &[usize],
    fill: &[u8],
) -> Result<Vec<Option<Vec<u8>>>> {
    crate::threads::install(|| {
        data.par_iter()
            .map(|d| match d {
                None => Ok(None),
                Some(bytes) => chain.decode(bytes, dtype, shape, fill).map(Some),
            })
            .collect()
    })
}

/// Encodes whole chunks in parallel: `None` for a chunk not to be stored (see
/// [`CodecChain::encode`]).
pub fn encode_chunks(
    chain: &CodecChain,
    arrays: &[ArrayRef<'_>],
    opts: &EncodeOptions,
) -> Result<Vec<Option<Vec<u8>>>> {
    crate::threads::install(|| {
        arrays
            .par_iter()
            .map(|a| chain.encode(a.clone(), opts))
            .collect()
    })
}

/// Decodes encoded chunks with a bytes-to-bytes chain in parallel; `None` stays `None`.
pub fn decode_bytes_chunks(
    chain: &BytesChain,
    data: &[Option<&[u8]>],
) -> Result<Vec<Option<Vec<u8>>>> {
    crate::threads::install(|| {
        data.par_iter()
            .map(|d| d.map(|bytes| chain.decode(bytes)).transpose())
            .collect()
    })
}

/// Encodes byte strings with a bytes-to-bytes chain in parallel; `None` stays `None`.
pub fn encode_bytes_chunks(
    chain: &BytesChain,
    data: &[Option<&[u8]>],
) -> Result<Vec<Option<Vec<u8>>>> {
    crate::threads::install(|| {
        data.par_iter()
            .map(|d| d.map(|bytes| chain.encode(bytes)).transpose())
            .collect()
    })
}

#[cfg(test)]
mod tests;
