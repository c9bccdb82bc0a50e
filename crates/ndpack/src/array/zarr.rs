//! Batched chunk work for zarr v3 arrays: one call reads the chunks of a selection from files,
//! decodes them in parallel with a [`CodecChain`] and copies each chunk's part into the output
//! array (or the fill value where a chunk is missing); one call encodes many chunks in parallel;
//! one call writes a selection: each chunk's part of the value merged into the chunk (decoded
//! first where only part of it is written), encoded in parallel and returned or written to its
//! file. zarr-python's codec pipeline in `ndpack.zarr` is built on these.

use std::borrow::Cow;
use std::ops::Range;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Mutex;

use rayon::prelude::*;

use crate::buffer::{ArrayMut, ArrayRef};
use crate::codec::zarr3::{BytesChain, CodecChain, EncodeOptions, RangeRead};
use crate::dtype::DataType;
use crate::error::{Error, Result};
use crate::region::{copy_region, copy_region_serial, Layout, Region};

/// Where a chunk of a read is stored.
#[derive(Debug, Clone, Copy)]
pub enum ChunkSource<'a> {
    /// Not stored: read as the fill value.
    Missing,
    /// The encoded chunk in memory.
    Bytes(&'a [u8]),
    /// A file holding the encoded chunk (a missing file is a missing chunk). Parts of shards
    /// are read with positional reads of the index and the inner chunks they need.
    File(&'a Path),
}

/// One chunk of a read: where it is stored, its shape, the part of it that is read and where
/// that part goes in the output.
#[derive(Debug, Clone)]
pub struct ChunkRead<'a> {
    /// The stored chunk.
    pub source: ChunkSource<'a>,
    /// The chunk's shape.
    pub chunk_shape: Vec<usize>,
    /// The part of the chunk that is read.
    pub chunk_region: Region,
    /// Where it goes in the output.
    pub out_region: Region,
}

/// How many chunks are decoded before their parts are copied out: bounds the memory of a read
/// to a few chunks per thread.
fn group_len() -> usize {
    crate::threads::get_num_threads().max(1) * 4
}

/// A chunk file read with positional reads.
struct FileRanges {
    file: std::fs::File,
    size: u64,
}

impl RangeRead for FileRanges {
    fn size(&self) -> Result<u64> {
        Ok(self.size)
    }

    fn read_ranges(&self, ranges: &[Range<u64>]) -> Result<Vec<Cow<'_, [u8]>>> {
        use std::os::unix::fs::FileExt;
        ranges
            .iter()
            .map(|r| {
                if r.start > r.end || r.end > self.size {
                    return Err(Error::corrupt(format!(
                        "byte range {r:?} outside a file of {} bytes",
                        self.size
                    )));
                }
                let mut buf = vec![0u8; (r.end - r.start) as usize];
                self.file.read_exact_at(&mut buf, r.start)?;
                Ok(Cow::Owned(buf))
            })
            .collect()
    }
}

/// Opens a chunk file for positional reads; `None` when it does not exist.
fn open_ranges(path: &Path) -> Result<Option<FileRanges>> {
    match std::fs::File::open(path) {
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
        Err(e) => Err(Error::from(e)),
        Ok(file) => {
            let size = file.metadata()?.len();
            Ok(Some(FileRanges { file, size }))
        }
    }
}

/// A chunk's decoded data, for the copy into the output.
enum Decoded<'a> {
    /// Missing: the fill value.
    Fill,
    /// The whole chunk, viewed in its source.
    View(&'a [u8]),
    /// The whole chunk.
    Whole(Vec<u8>),
    /// Only the chunk's region, in C order.
    Part(Vec<u8>),
}

/// Decodes what `item` needs of its chunk.
fn decode_item<'a>(
    chain: &CodecChain,
    item: &ChunkRead<'a>,
    dtype: &DataType,
    fill: &[u8],
) -> Result<Decoded<'a>> {
    let whole =
        item.chunk_region.num_items()? == crate::region::checked_num_items(&item.chunk_shape)?;
    let part_of_shard = chain
        .sharding_alone()
        .filter(|_| !whole && item.chunk_region.slices().iter().all(|s| s.step() > 0));
    match item.source {
        ChunkSource::Missing => Ok(Decoded::Fill),
        ChunkSource::Bytes(bytes) => {
            if let Some(sharding) = part_of_shard {
                return sharding
                    .decode_region(&bytes, &item.chunk_shape, &item.chunk_region, dtype, fill)
                    .map(Decoded::Part);
            }
            if let Some(view) = chain.decode_view(bytes, dtype, &item.chunk_shape)? {
                return Ok(Decoded::View(view));
            }
            chain
                .decode(bytes, dtype, &item.chunk_shape, fill)
                .map(Decoded::Whole)
        }
        ChunkSource::File(path) => {
            if let Some(sharding) = part_of_shard {
                return match open_ranges(path)? {
                    None => Ok(Decoded::Fill),
                    Some(file) => sharding
                        .decode_region(&file, &item.chunk_shape, &item.chunk_region, dtype, fill)
                        .map(Decoded::Part),
                };
            }
            let Some(bytes) = read_file(path)? else {
                return Ok(Decoded::Fill);
            };
            if let Some(view) = chain.decode_view(&bytes, dtype, &item.chunk_shape)? {
                if view.len() == bytes.len() {
                    return Ok(Decoded::Whole(bytes));
                }
            }
            chain
                .decode(&bytes, dtype, &item.chunk_shape, fill)
                .map(Decoded::Whole)
        }
    }
}

/// Reads the chunks of `items` into `out`: each stored chunk is read and decoded (in parallel
/// on ndpack's pool; only the inner chunks a part of a shard needs) and `chunk_region` of it
/// copied into `out_region` of `out`; a missing chunk puts `fill` (one item in `out`'s byte
/// order) there.
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
            let chunk = decode_item(chain, item, &dtype, fill)?;
            let part_shape = item.chunk_region.shape();
            let (src, layout, region): (Cow<'_, [u8]>, Layout<'_>, Cow<'_, Region>) = match chunk {
                Decoded::Fill => (
                    Cow::Owned(fill.repeat(item.chunk_region.num_items()?)),
                    Layout::c(&part_shape, itemsize),
                    Cow::Owned(Region::full(&part_shape)?),
                ),
                Decoded::Part(v) => (
                    Cow::Owned(v),
                    Layout::c(&part_shape, itemsize),
                    Cow::Owned(Region::full(&part_shape)?),
                ),
                Decoded::View(v) => (
                    Cow::Borrowed(v),
                    Layout::c(&item.chunk_shape, itemsize),
                    Cow::Borrowed(&item.chunk_region),
                ),
                Decoded::Whole(v) => (
                    Cow::Owned(v),
                    Layout::c(&item.chunk_shape, itemsize),
                    Cow::Borrowed(&item.chunk_region),
                ),
            };
            let mut guard = out
                .lock()
                .map_err(|_| Error::invalid_argument("a copy into the output failed"))?;
            copy_region_serial(
                &src,
                layout,
                &region,
                &mut guard,
                out_layout,
                &item.out_region,
            )
        })
    })
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

/// One chunk of a write: its stored bytes where part of it is kept (`None`: a missing chunk,
/// or one written whole), its shape, the part of it that is written and where that part comes
/// from in the value.
#[derive(Debug, Clone)]
pub struct ChunkWrite<'a> {
    /// The stored chunk whose other items are kept, `None` when there is none (the fill value).
    pub existing: Option<&'a [u8]>,
    /// The chunk's shape.
    pub chunk_shape: Vec<usize>,
    /// The part of the chunk that is written.
    pub chunk_region: Region,
    /// Where that part is in the value.
    pub value_region: Region,
}

/// The chunk of `item` after the write, in C order.
fn merged_chunk(
    chain: &CodecChain,
    item: &ChunkWrite<'_>,
    value: &ArrayRef<'_>,
    fill: &[u8],
) -> Result<Vec<u8>> {
    let itemsize = value.dtype.itemsize();
    let items = crate::region::checked_num_items(&item.chunk_shape)?;
    let whole = item.chunk_region.num_items()? == items;
    let mut chunk = match item.existing {
        Some(bytes) if !whole => chain.decode(bytes, &value.dtype, &item.chunk_shape, fill)?,
        _ if whole => vec![0u8; items * itemsize],
        _ => fill.repeat(items),
    };
    copy_region(
        value.data,
        Layout::new(&value.shape, itemsize, value.order),
        &item.value_region,
        &mut chunk,
        Layout::c(&item.chunk_shape, itemsize),
        &item.chunk_region,
    )?;
    Ok(chunk)
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
            .map(|item| {
                let chunk = merged_chunk(chain, item, value, &opts.fill)?;
                let arr = ArrayRef::new(
                    &chunk,
                    value.dtype.clone(),
                    item.chunk_shape.clone(),
                    crate::region::Order::C,
                )?;
                chain.encode(arr, opts)
            })
            .collect()
    })
}

/// Writes a selection: each chunk's `value_region` of `value` goes into its `chunk_region`,
/// and the chunks are encoded in parallel. Returns each chunk's new bytes, `None` for a chunk
/// not to be stored (every item the fill value without `write_empty_chunks`).
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
/// in the same folder renamed over it, folders made as needed) or its file removed when it is
/// not to be stored. Chunks are encoded and written a few per thread at a time, so the memory
/// of the call stays small.
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

/// Writes `data` to `path` atomically: a temporary file beside it, renamed over it.
fn write_file(path: &Path, data: &[u8]) -> Result<()> {
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    let name = path.file_name().ok_or_else(|| {
        Error::invalid_argument(format!("chunk path {} has no file name", path.display()))
    })?;
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir)?;
    }
    let mut tmp_name = name.to_os_string();
    tmp_name.push(format!(
        ".{}-{}.partial",
        std::process::id(),
        COUNTER.fetch_add(1, Ordering::Relaxed)
    ));
    let tmp = path.with_file_name(tmp_name);
    let written = std::fs::write(&tmp, data).and_then(|()| std::fs::rename(&tmp, path));
    if let Err(e) = written {
        let _ = std::fs::remove_file(&tmp);
        return Err(Error::from(e));
    }
    Ok(())
}

/// Removes a chunk file; one that does not exist is fine.
fn remove_file(path: &Path) -> Result<()> {
    match std::fs::remove_file(path) {
        Err(e) if e.kind() != std::io::ErrorKind::NotFound => Err(Error::from(e)),
        _ => Ok(()),
    }
}

/// Reads a whole chunk file: `None` when it does not exist; one over the decode-size limit is
/// [`crate::ErrorKind::TooLarge`].
fn read_file(p: &Path) -> Result<Option<Vec<u8>>> {
    match std::fs::metadata(p) {
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
        Err(e) => Err(Error::from(e)),
        Ok(meta) if meta.len() > crate::error::MAX_DECODED_SIZE as u64 => {
            Err(Error::too_large(format!(
                "chunk file {} of {} bytes is over the limit",
                p.display(),
                meta.len()
            )))
        }
        Ok(_) => match std::fs::read(p) {
            Ok(v) => Ok(Some(v)),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
            Err(e) => Err(Error::from(e)),
        },
    }
}

/// Reads whole files in parallel: `None` for a file that does not exist, an error for any
/// other failure. Files over the decode-size limit are [`crate::ErrorKind::TooLarge`].
pub fn read_files(paths: &[PathBuf]) -> Result<Vec<Option<Vec<u8>>>> {
    crate::threads::install(|| paths.par_iter().map(|p| read_file(p)).collect())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::region::{Order, Slice};
    use serde_json::json;

    #[test]
    fn reads_parts_of_chunks_and_fills_missing_ones() {
        let chain = CodecChain::from_json(&json!(["bytes", {"name": "zstd"}]), 1).unwrap();
        let opts = EncodeOptions {
            fill: vec![9],
            write_empty_chunks: true,
        };
        // A (4, 4) array of (2, 4) chunks: chunk 0 stored, chunk 1 missing.
        let c0: Vec<u8> = (0..8).collect();
        let enc = encode_chunks(
            &chain,
            &[ArrayRef::new(&c0, DataType::u8(), vec![2, 4], Order::C).unwrap()],
            &opts,
        )
        .unwrap();
        let enc0 = enc[0].clone().unwrap();
        let full = |r: [usize; 4]| {
            Region::new(vec![
                Slice::range(r[0], r[1]).unwrap(),
                Slice::range(r[2], r[3]).unwrap(),
            ])
        };
        let items = [
            ChunkRead {
                source: ChunkSource::Bytes(&enc0),
                chunk_shape: vec![2, 4],
                chunk_region: full([0, 2, 1, 4]),
                out_region: full([0, 2, 0, 3]),
            },
            ChunkRead {
                source: ChunkSource::Missing,
                chunk_shape: vec![2, 4],
                chunk_region: full([0, 2, 1, 4]),
                out_region: full([2, 4, 0, 3]),
            },
        ];
        let mut out = vec![0u8; 12];
        read_chunks_into(
            &chain,
            &items,
            ArrayMut {
                data: &mut out,
                dtype: DataType::u8(),
                shape: vec![4, 3],
                order: Order::C,
            },
            &[9],
        )
        .unwrap();
        assert_eq!(out, [1, 2, 3, 5, 6, 7, 9, 9, 9, 9, 9, 9]);
        let dec =
            decode_chunks(&chain, &[Some(&enc0), None], &DataType::u8(), &[2, 4], &[9]).unwrap();
        assert_eq!(dec, [Some(c0), None]);
    }

    #[test]
    fn bytes_chains_round_trip_in_batches() {
        let chain =
            BytesChain::from_json(&json!([{"name": "zstd"}, {"name": "crc32c"}]), 2).unwrap();
        assert_eq!(chain.names(), ["zstd", "crc32c"]);
        let a: Vec<u8> = (0..200u8).collect();
        let enc = encode_bytes_chunks(&chain, &[Some(&a), None]).unwrap();
        assert!(enc[1].is_none());
        let e0 = enc[0].clone().unwrap();
        let dec = decode_bytes_chunks(&chain, &[Some(&e0), None]).unwrap();
        assert_eq!(dec, [Some(a), None]);
        let mut bad = e0.clone();
        *bad.last_mut().unwrap() ^= 1;
        assert!(decode_bytes_chunks(&chain, &[Some(&bad)]).is_err());
        assert!(BytesChain::from_json(&json!(["bytes"]), 1).is_err());
        let unknown = BytesChain::from_json(&json!([{"name": "mine"}]), 1).unwrap_err();
        assert_eq!(unknown.kind(), crate::ErrorKind::UnknownCodec);
    }

    #[test]
    fn writes_merge_parts_into_stored_chunks_and_files() {
        let chain = CodecChain::from_json(&json!(["bytes", {"name": "zstd"}]), 1).unwrap();
        let opts = EncodeOptions {
            fill: vec![0],
            write_empty_chunks: false,
        };
        let r = |a: usize, b: usize| Region::new(vec![Slice::range(a, b).unwrap()]);
        // A (8,) array of (4,) chunks: chunk 0 stored as 1 2 3 4; write value [7, 8, 0, 0, 0, 0]
        // to items 2..8.
        let old = encode_chunks(
            &chain,
            &[ArrayRef::new(&[1, 2, 3, 4], DataType::u8(), vec![4], Order::C).unwrap()],
            &opts,
        )
        .unwrap()[0]
            .clone()
            .unwrap();
        let value = [7u8, 8, 0, 0, 0, 0];
        let items = [
            ChunkWrite {
                existing: Some(&old),
                chunk_shape: vec![4],
                chunk_region: r(2, 4),
                value_region: r(0, 2),
            },
            ChunkWrite {
                existing: None,
                chunk_shape: vec![4],
                chunk_region: r(0, 4),
                value_region: r(2, 6),
            },
        ];
        let v = ArrayRef::new(&value, DataType::u8(), vec![6], Order::C).unwrap();
        let enc = write_chunks(&chain, &items, v.clone(), &opts).unwrap();
        assert!(enc[1].is_none(), "an all-fill chunk is not stored");
        let dec = chain
            .decode(enc[0].as_ref().unwrap(), &DataType::u8(), &[4], &[0])
            .unwrap();
        assert_eq!(dec, [1, 2, 7, 8]);
        let dir = std::env::temp_dir().join(format!("ndpack-zarr-w-{}", std::process::id()));
        let paths = [dir.join("c/0"), dir.join("c/1")];
        std::fs::create_dir_all(dir.join("c")).unwrap();
        std::fs::write(&paths[1], b"stale").unwrap();
        write_chunk_files(&chain, &items, v.clone(), &opts, &paths).unwrap();
        assert_eq!(std::fs::read(&paths[0]).unwrap(), enc[0].clone().unwrap());
        assert!(!paths[1].exists(), "the all-fill chunk's file is removed");
        assert_eq!(std::fs::read_dir(dir.join("c")).unwrap().count(), 1);
        assert!(write_chunk_files(&chain, &items, v, &opts, &paths[..1]).is_err());
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn missing_files_are_none() {
        let dir = std::env::temp_dir().join(format!("ndpack-zarr-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let there = dir.join("a");
        std::fs::write(&there, b"abc").unwrap();
        let got = read_files(&[there.clone(), dir.join("missing")]).unwrap();
        assert_eq!(got, [Some(b"abc".to_vec()), None]);
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
