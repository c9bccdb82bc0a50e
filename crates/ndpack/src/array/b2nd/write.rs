//! Writing an [`NDArray`]: regions (whole chunks compressed in parallel, partial chunks decoded,
//! patched and recompressed), constants (special chunks), building a new array chunk by chunk,
//! resizing and copying with other parameters. Every operation is one commit of the
//! super-chunk. A region write also comes in two steps ([`PreparedWrite`]): the chunks made
//! with `&self`, beside reads, then stored by a short commit with `&mut self`.

use rayon::prelude::*;

use super::layout::ChunkLayout;
use super::{
    array_cparams, check_chunk_nbytes, special_for, ArrayOptions, Dtype, NDArray, B2ND_META,
    CATERVA_META,
};
use crate::blosc::frame::{SChunk, Special};
use crate::blosc::v2::{self, CParams};
use crate::buffer::{ArrayMut, ArrayRef};
use crate::error::{Error, Result};
use crate::region::{copy_region, ChunkSelection, Layout as ByteLayout, Order, Region, Slice};
use crate::threads;

/// The most uncompressed bytes held at once by the parallel compression of one write.
const BATCH_BYTES: usize = 256 << 20;

/// What a new chunk holds.
#[derive(Debug)]
enum NewChunk {
    /// Compressed bytes.
    Bytes(Vec<u8>),
    /// The operation's constant chunk (a header-only special chunk, built once).
    Constant,
}

/// A write made ready by [`NDArray::prepare_set_region`] or [`NDArray::prepare_fill_region`]:
/// the new bytes of every chunk it touches, decoded, patched and compressed from the chunks
/// the array held then. [`NDArray::commit_write`] stores them in one commit.
///
/// Preparing takes `&self`, so that it runs beside reads and beside other prepared writes; the
/// caller keeps every other write of the same chunks out between the two steps (a write of
/// another chunk may commit in between), as a per-chunk lock does
/// ([`NDArray::chunk_indices`] names the chunks).
#[derive(Debug)]
pub struct PreparedWrite {
    shape: Vec<usize>,
    chunks: Vec<(usize, NewChunk)>,
    constant: Option<Vec<u8>>,
}

impl PreparedWrite {
    /// The chunks the write replaces, in C order.
    pub fn chunk_indices(&self) -> impl Iterator<Item = usize> + '_ {
        self.chunks.iter().map(|(n, _)| *n)
    }
}

impl NDArray {
    /// Writes `data` (an array of the region's shape, either order, items of the array's size)
    /// into `region` (any steps; inside the array): NumPy's `a[region] = data`. The chunks are
    /// made and stored in batches of bounded memory, in one commit.
    pub fn set_region(&mut self, region: &Region, data: &ArrayRef<'_>) -> Result<()> {
        let src_layout = self.check_data(region, data)?;
        let parts: Vec<ChunkSelection> = self.layout.grid().chunks_for(region)?.collect();
        let cparams = self.cparams();
        let l = &self.layout;
        schunk_batches(
            &mut self.schunk,
            l.chunk_bytes(),
            &parts,
            None,
            |schunk, part| set_chunk(schunk, l, &cparams, part, data.data, src_layout),
        )
    }

    /// Writes one item's bytes `value` into every item of `region`. Chunks whose items the
    /// region covers become special chunks (zeros, or a repeated value); the others are
    /// decoded, patched and recompressed.
    pub fn fill_region(&mut self, region: &Region, value: &[u8]) -> Result<()> {
        self.check_value(value)?;
        region.check(self.shape())?;
        let parts: Vec<ChunkSelection> = self.layout.grid().chunks_for(region)?.collect();
        let cparams = self.cparams();
        let l = &self.layout;
        let constant = self.special_chunk(value)?;
        schunk_batches(
            &mut self.schunk,
            l.chunk_bytes(),
            &parts,
            Some(&constant),
            |schunk, part| fill_chunk(schunk, l, &cparams, part, value),
        )
    }

    /// The chunks that `region` (inside the array) touches, in C order: those a write of it
    /// replaces.
    pub fn chunk_indices(&self, region: &Region) -> Result<Vec<usize>> {
        Ok(self
            .layout
            .grid()
            .chunks_for(region)?
            .map(|p| p.index)
            .collect())
    }

    /// [`NDArray::set_region`] in two steps: the new chunks, made from the current ones
    /// (compressed in parallel), to be stored by [`NDArray::commit_write`]. They are held in
    /// memory, compressed, until then.
    pub fn prepare_set_region(
        &self,
        region: &Region,
        data: &ArrayRef<'_>,
    ) -> Result<PreparedWrite> {
        let src_layout = self.check_data(region, data)?;
        let parts: Vec<ChunkSelection> = self.layout.grid().chunks_for(region)?.collect();
        let cparams = self.cparams();
        let l = &self.layout;
        let chunks = make_all(&self.schunk, l.chunk_bytes(), &parts, |schunk, part| {
            set_chunk(schunk, l, &cparams, part, data.data, src_layout)
        })?;
        Ok(PreparedWrite {
            shape: self.shape().to_vec(),
            chunks,
            constant: None,
        })
    }

    /// [`NDArray::fill_region`] in two steps, as [`NDArray::prepare_set_region`].
    pub fn prepare_fill_region(&self, region: &Region, value: &[u8]) -> Result<PreparedWrite> {
        self.check_value(value)?;
        region.check(self.shape())?;
        let parts: Vec<ChunkSelection> = self.layout.grid().chunks_for(region)?.collect();
        let cparams = self.cparams();
        let l = &self.layout;
        let constant = self.special_chunk(value)?;
        let chunks = make_all(&self.schunk, l.chunk_bytes(), &parts, |schunk, part| {
            fill_chunk(schunk, l, &cparams, part, value)
        })?;
        Ok(PreparedWrite {
            shape: self.shape().to_vec(),
            chunks,
            constant: Some(constant),
        })
    }

    /// Stores a prepared write: its chunks replace the array's, in one commit of the
    /// super-chunk (for a file: the chunk bytes past the live data, the index, one header
    /// write). An error when the array changed shape since the write was prepared.
    pub fn commit_write(&mut self, write: PreparedWrite) -> Result<()> {
        if write.shape != self.shape() {
            return Err(Error::invalid_argument(format!(
                "a write prepared for shape {:?}; the array now has shape {:?}",
                write.shape,
                self.shape()
            )));
        }
        let s = &mut self.schunk;
        s.begin_updates();
        let result = write.chunks.iter().try_for_each(|(n, chunk)| {
            let bytes = match chunk {
                NewChunk::Bytes(c) => c.as_slice(),
                NewChunk::Constant => write.constant.as_deref().ok_or_else(|| {
                    Error::invalid_argument("a constant chunk without a constant")
                })?,
            };
            s.update_chunk(*n, bytes).map(|_| ())
        });
        let end = s.end_updates();
        result.and(end)
    }

    /// Checks `data` against `region` and the item size; its byte layout.
    fn check_data<'d>(&self, region: &Region, data: &'d ArrayRef<'_>) -> Result<ByteLayout<'d>> {
        check_write_data(self.itemsize(), region, data)
    }

    /// The header-only chunk that holds `value` in every item of a chunk.
    fn special_chunk(&self, value: &[u8]) -> Result<Vec<u8>> {
        let l = &self.layout;
        match special_for(value) {
            Special::Zeros => v2::zeros_chunk(l.chunk_bytes(), l.itemsize(), l.block_bytes()),
            Special::Value(v) => v2::repeat_chunk(l.chunk_bytes(), &v, l.block_bytes()),
            _ => Err(Error::invalid_argument("no constant chunk for this value")),
        }
    }

    /// The compression parameters of new chunks.
    pub(super) fn cparams(&self) -> CParams {
        array_cparams(self.schunk.cparams().clone(), &self.layout)
    }

    /// A new array holding the items of `data` (either order; items of `dtype`'s size), built
    /// chunk by chunk as [`NDArray::from_buffer`] does (in parallel, one commit).
    /// `progress(bytes)` is called as each chunk is compressed, with the bytes of the array
    /// that chunk holds, from the pool's threads.
    pub fn from_array(
        data: &ArrayRef<'_>,
        dtype: Dtype,
        opts: &ArrayOptions,
        progress: impl Fn(usize) + Sync,
    ) -> Result<NDArray> {
        let its = dtype.itemsize();
        if data.dtype.itemsize() != its {
            return Err(Error::invalid_argument(format!(
                "{}-byte items given for an array of {its}-byte items",
                data.dtype.itemsize()
            )));
        }
        let src_layout = ByteLayout::new(&data.shape, its, data.order);
        let want = src_layout.num_bytes()?;
        if data.data.len() != want {
            return Err(Error::invalid_argument(format!(
                "{} bytes do not hold shape {:?} of {its}-byte items ({want} bytes)",
                data.data.len(),
                data.shape
            )));
        }
        let mut a = NDArray::create_empty(&data.shape, dtype, opts)?;
        let l = a.layout.clone();
        a.append_chunks(|n, raw| {
            let valid = l.chunk_valid(n)?;
            let region = l.grid().chunk_region(n)?;
            l.write_chunk(raw, &valid, data.data, src_layout, &region)?;
            progress(region.shape().iter().product::<usize>() * its);
            Ok(())
        })?;
        Ok(a)
    }

    /// Appends the chunks of an array whose items `data` holds in C order (the array has no
    /// chunk yet).
    pub(super) fn append_from_c(&mut self, data: &[u8]) -> Result<()> {
        let shape = self.shape().to_vec();
        let src_layout = ByteLayout::c(&shape, self.itemsize());
        let l = self.layout.clone();
        self.append_chunks(|n, raw| {
            let valid = l.chunk_valid(n)?;
            let region = l.grid().chunk_region(n)?;
            l.write_chunk(raw, &valid, data, src_layout, &region)
        })
    }

    /// Appends every chunk of the (chunkless) array, `fill` writing each chunk's items into a
    /// zeroed chunk buffer; the chunks are compressed in parallel, in batches of bounded
    /// memory, and stored in one commit.
    pub(super) fn append_chunks(
        &mut self,
        fill: impl Fn(usize, &mut [u8]) -> Result<()> + Sync,
    ) -> Result<()> {
        let n = self.layout.nchunks();
        let cparams = self.cparams();
        let l = &self.layout;
        let per_batch = (BATCH_BYTES / l.chunk_bytes().max(1)).max(1);
        let make = |k: usize| -> Result<Vec<u8>> {
            let mut raw = zeroed(l.chunk_bytes())?;
            fill(k, &mut raw)?;
            v2::compress(&raw, &cparams)
        };
        let schunk = &mut self.schunk;
        schunk.begin_updates();
        let result = (|| {
            let mut start = 0;
            while start < n {
                let stop = n.min(start + per_batch);
                let made: Vec<Vec<u8>> = if stop - start > 1 {
                    threads::install(|| {
                        (start..stop)
                            .into_par_iter()
                            .map(make)
                            .collect::<Result<_>>()
                    })?
                } else {
                    (start..stop).map(make).collect::<Result<_>>()?
                };
                for c in made {
                    schunk.append_chunk(&c)?;
                }
                start = stop;
            }
            Ok(())
        })();
        let end = schunk.end_updates();
        result.and(end)
    }

    /// Changes the shape (same number of dimensions; python-blosc2's `resize`). Only the
    /// chunks that appear, disappear or change edge are written: new items are zero, and the
    /// padding of edge chunks stays zero. One commit.
    pub fn resize(&mut self, new_shape: &[usize]) -> Result<()> {
        let new_meta = self.meta.with_shape(new_shape.to_vec())?;
        let new_layout = ChunkLayout::new(&new_meta)?;
        let old = self.layout.clone();
        let (og, ng) = (
            old.grid().grid_shape().to_vec(),
            new_layout.grid().grid_shape().to_vec(),
        );
        let inside = |coords: &[usize], grid: &[usize]| coords.iter().zip(grid).all(|(c, g)| c < g);
        let cparams = self.cparams();
        // Kept chunks whose valid part changes: zero everything outside old ∩ new.
        let mut edges = Vec::new();
        for n in 0..old.nchunks() {
            let coords = old.grid().chunk_coords(n)?;
            if !inside(&coords, &ng) {
                continue;
            }
            let m = new_layout.grid().chunk_index(&coords)?;
            let (ov, nv) = (old.chunk_valid(n)?, new_layout.chunk_valid(m)?);
            if ov != nv {
                let keep: Vec<usize> = ov
                    .shape()
                    .iter()
                    .zip(nv.shape())
                    .map(|(a, b)| *a.min(&b))
                    .collect();
                edges.push((n, Region::full(&keep)?));
            }
        }
        let schunk = &self.schunk;
        let rezeroed: Vec<(usize, Vec<u8>)> = threads::install(|| {
            edges
                .par_iter()
                .filter_map(|(n, keep)| {
                    let r = (|| -> Result<Option<Vec<u8>>> {
                        if schunk.chunk_special(*n)? == Some(Special::Zeros) {
                            return Ok(None);
                        }
                        let mut raw = decode_chunk(schunk, *n, &old)?;
                        old.zero_outside(&mut raw, keep)?;
                        Ok(Some(v2::compress(&raw, &cparams)?))
                    })();
                    r.transpose().map(|c| c.map(|c| (*n, c)))
                })
                .collect::<Result<_>>()
        })?;
        let zero = v2::zeros_chunk(old.chunk_bytes(), old.itemsize(), old.block_bytes())?;
        let b2nd = if self.schunk.meta_get(B2ND_META).is_some() {
            Some(new_meta.to_b2nd())
        } else {
            None
        };
        let caterva = if self.schunk.meta_get(CATERVA_META).is_some() {
            Some(new_meta.to_caterva()?)
        } else {
            None
        };
        let s = &mut self.schunk;
        s.begin_updates();
        let result = (|| -> Result<()> {
            for (n, c) in &rezeroed {
                s.update_chunk(*n, c)?;
            }
            // Chunks past the new grid go, last first; the rest keep their C order.
            for n in (0..old.nchunks()).rev() {
                if !inside(&old.grid().chunk_coords(n)?, &ng) {
                    s.delete_chunk(n)?;
                }
            }
            // New chunks take their places in the new C order.
            for m in 0..new_layout.nchunks() {
                if !inside(&new_layout.grid().chunk_coords(m)?, &og) {
                    if m == s.nchunks() {
                        s.append_chunk(&zero)?;
                    } else {
                        s.insert_chunk(m, &zero)?;
                    }
                }
            }
            if let Some(b) = &b2nd {
                s.meta_update(B2ND_META, b)?;
            }
            if let Some(c) = &caterva {
                s.meta_update(CATERVA_META, c)?;
            }
            Ok(())
        })();
        let end = s.end_updates();
        result.and(end)?;
        self.meta = new_meta;
        self.layout = new_layout;
        Ok(())
    }

    /// A new array with the same items and `opts`' chunks, blocks, compression parameters and
    /// storage (python-blosc2's `copy`): shapes not given are this array's, `cparams` not given
    /// are this array's. With the same chunks, blocks and compression parameters the
    /// compressed chunks are copied as they are.
    pub fn copy(&self, opts: &ArrayOptions) -> Result<NDArray> {
        let mut opts = opts.clone();
        opts.chunks.get_or_insert_with(|| self.chunks().to_vec());
        opts.blocks.get_or_insert_with(|| self.blocks().to_vec());
        opts.cparams
            .get_or_insert_with(|| self.schunk.cparams().clone());
        let mut out = NDArray::create_empty(self.shape(), self.dtype().clone(), &opts)?;
        if out.layout == self.layout && out.cparams() == self.cparams() {
            let s = &mut out.schunk;
            s.begin_updates();
            let result = (0..self.layout.nchunks())
                .try_for_each(|n| s.append_chunk(&self.schunk.get_chunk(n)?).map(|_| ()));
            let end = s.end_updates();
            result.and(end)?;
            return Ok(out);
        }
        let its = self.itemsize();
        let dtype = self.dtype().data_type();
        let l = out.layout.clone();
        out.append_chunks(|n, raw| {
            let region = l.grid().chunk_region(n)?;
            let shape = region.shape();
            let mut tmp = zeroed(ByteLayout::c(&shape, its).num_bytes()?)?;
            self.get_region(
                &region,
                &mut ArrayMut {
                    data: &mut tmp,
                    dtype: dtype.clone(),
                    shape: shape.clone(),
                    order: Order::C,
                },
            )?;
            let full = Region::full(&shape)?;
            l.write_chunk(
                raw,
                &l.chunk_valid(n)?,
                &tmp,
                ByteLayout::c(&shape, its),
                &full,
            )
        })?;
        Ok(out)
    }
}

impl NDArray {
    /// A new array holding the items of `region` (any steps; inside the array), python-blosc2's
    /// `slice`: dimensions flagged in `drop` (each of length 1 in the region; `drop` may be
    /// empty) are left out of the result, as an integer key does. Chunks, blocks and compression
    /// parameters not given in `opts` are this array's (less the dropped dimensions). When the
    /// region starts on chunk boundaries, ends on chunk boundaries or at the array's end, has
    /// step 1 (dropped dimensions: chunks of 1) and the result keeps this array's chunks, blocks
    /// and compression parameters, the compressed chunks are copied as they are; otherwise each
    /// new chunk is read from this array (decoding only the blocks it needs) and compressed, in
    /// parallel.
    pub fn slice(&self, region: &Region, drop: &[bool], opts: &ArrayOptions) -> Result<NDArray> {
        region.check(self.shape())?;
        let nd = self.ndim();
        let dropped = |d: usize| drop.get(d).copied().unwrap_or(false);
        if drop.len() > nd || (0..nd).any(|d| dropped(d) && region.slices()[d].len() != 1) {
            return Err(Error::invalid_argument(format!(
                "only dimensions of length 1 in region {region} can be dropped"
            )));
        }
        let keep = |v: &[usize]| -> Vec<usize> {
            (0..nd).filter(|&d| !dropped(d)).map(|d| v[d]).collect()
        };
        let mut opts = opts.clone();
        opts.chunks.get_or_insert_with(|| keep(self.chunks()));
        opts.blocks.get_or_insert_with(|| keep(self.blocks()));
        opts.cparams
            .get_or_insert_with(|| self.schunk.cparams().clone());
        let shape = keep(&region.shape());
        let mut out = NDArray::create_empty(&shape, self.dtype().clone(), &opts)?;
        let aligned = region.slices().iter().enumerate().all(|(d, s)| {
            let c = self.chunks()[d];
            s.is_unit_step()
                && (!dropped(d) || c == 1)
                && (s.is_empty()
                    || s.bounds().start % c == 0
                        && (s.bounds().end % c == 0 || s.bounds().end == self.shape()[d]))
        });
        if aligned
            && region.num_items()? > 0
            && out.chunks() == keep(self.chunks())
            && out.blocks() == keep(self.blocks())
            && out.cparams() == self.cparams()
        {
            let first: Vec<usize> = region
                .slices()
                .iter()
                .zip(self.chunks())
                .map(|(s, c)| s.bounds().start / c)
                .collect();
            let (src, grid) = (self.layout.grid(), out.layout.grid().clone());
            let s = &mut out.schunk;
            s.begin_updates();
            let result = (0..grid.num_chunks()).try_for_each(|m| {
                let mut kept = grid.chunk_coords(m)?.into_iter();
                let coords: Vec<usize> = (0..nd)
                    .map(|d| {
                        first[d]
                            + if dropped(d) {
                                0
                            } else {
                                kept.next().unwrap_or(0)
                            }
                    })
                    .collect();
                let n = src.chunk_index(&coords)?;
                s.append_chunk(&self.schunk.get_chunk(n)?).map(|_| ())
            });
            let end = s.end_updates();
            result.and(end)?;
            return Ok(out);
        }
        let its = self.itemsize();
        let dtype = self.dtype().data_type();
        let l = out.layout.clone();
        out.append_chunks(|n, raw| {
            let positions = l.grid().chunk_region(n)?;
            let mut kept = positions.slices().iter();
            let src_positions: Region = (0..nd)
                .map(|d| {
                    if dropped(d) {
                        Slice::range(0, 1)
                    } else {
                        let p = kept.next().ok_or_else(|| {
                            Error::invalid_argument("chunk region of the wrong dimensions")
                        })?;
                        Slice::range(p.bounds().start, p.bounds().end)
                    }
                })
                .collect::<Result<_>>()?;
            let from = region.select(&src_positions)?;
            let shape = positions.shape();
            let mut tmp = zeroed(ByteLayout::c(&shape, its).num_bytes()?)?;
            self.get_region(
                &from,
                &mut ArrayMut {
                    data: &mut tmp,
                    dtype: dtype.clone(),
                    shape: from.shape(),
                    order: Order::C,
                },
            )?;
            let whole = Region::full(&shape)?;
            l.write_chunk(
                raw,
                &l.chunk_valid(n)?,
                &tmp,
                ByteLayout::c(&shape, its),
                &whole,
            )
        })?;
        Ok(out)
    }
}

/// The new bytes of chunk `part` for a write of `data` (laid out as `src_layout`): a chunk the
/// write covers is compressed from the data alone; one it covers in part has its touched
/// blocks patched when they are few, else it is decoded, patched and recompressed.
fn set_chunk(
    schunk: &SChunk,
    l: &ChunkLayout,
    cparams: &CParams,
    part: &ChunkSelection,
    data: &[u8],
    src_layout: ByteLayout<'_>,
) -> Result<NewChunk> {
    let valid = l.chunk_valid(part.index)?;
    let mut raw = if covers(&part.within, &valid) {
        zeroed(l.chunk_bytes())?
    } else {
        let old = schunk.get_chunk(part.index)?;
        if let Some(chunk) = patch_blocks(&old, part, l, data, src_layout, cparams)? {
            return Ok(NewChunk::Bytes(chunk));
        }
        decode_bytes(&old, part.index, l)?
    };
    l.write_chunk(&mut raw, &part.within, data, src_layout, &part.out)?;
    l.zero_outside(&mut raw, &valid)?;
    Ok(NewChunk::Bytes(v2::compress(&raw, cparams)?))
}

/// The new bytes of chunk `part` for a fill with `value`: the constant chunk where the fill
/// covers it, else the chunk decoded, patched and recompressed.
fn fill_chunk(
    schunk: &SChunk,
    l: &ChunkLayout,
    cparams: &CParams,
    part: &ChunkSelection,
    value: &[u8],
) -> Result<NewChunk> {
    let valid = l.chunk_valid(part.index)?;
    if covers(&part.within, &valid) {
        return Ok(NewChunk::Constant);
    }
    let mut raw = decode_chunk(schunk, part.index, l)?;
    let shape = part.within.shape();
    let n: usize = shape.iter().product();
    let src: Vec<u8> = value.repeat(n);
    let full = Region::full(&shape)?;
    l.write_chunk(
        &mut raw,
        &part.within,
        &src,
        ByteLayout::c(&shape, value.len()),
        &full,
    )?;
    l.zero_outside(&mut raw, &valid)?;
    Ok(NewChunk::Bytes(v2::compress(&raw, cparams)?))
}

/// The chunks of `batch`, made by `make` from the super-chunk, in parallel on the pool when
/// there are several.
fn make_batch(
    schunk: &SChunk,
    batch: &[ChunkSelection],
    make: &(impl Fn(&SChunk, &ChunkSelection) -> Result<NewChunk> + Sync),
) -> Result<Vec<NewChunk>> {
    if batch.len() > 1 {
        threads::install(|| {
            batch
                .par_iter()
                .map(|p| make(schunk, p))
                .collect::<Result<_>>()
        })
    } else {
        batch.iter().map(|p| make(schunk, p)).collect()
    }
}

/// Every chunk of `parts`, made by `make` in batches of bounded uncompressed memory, kept
/// compressed with its number.
fn make_all(
    schunk: &SChunk,
    chunk_bytes: usize,
    parts: &[ChunkSelection],
    make: impl Fn(&SChunk, &ChunkSelection) -> Result<NewChunk> + Sync,
) -> Result<Vec<(usize, NewChunk)>> {
    let per_batch = (BATCH_BYTES / chunk_bytes.max(1)).max(1);
    let mut out = Vec::with_capacity(parts.len());
    for batch in parts.chunks(per_batch) {
        let made = make_batch(schunk, batch, &make)?;
        out.extend(batch.iter().map(|p| p.index).zip(made));
    }
    Ok(out)
}

/// Produces the chunks of `parts` in parallel (`make` reads the super-chunk), in batches of
/// bounded memory, and stores them over the old ones in one commit; [`NewChunk::Constant`]
/// stores `constant`.
fn schunk_batches(
    schunk: &mut SChunk,
    chunk_bytes: usize,
    parts: &[ChunkSelection],
    constant: Option<&[u8]>,
    make: impl Fn(&SChunk, &ChunkSelection) -> Result<NewChunk> + Sync,
) -> Result<()> {
    let per_batch = (BATCH_BYTES / chunk_bytes.max(1)).max(1);
    schunk.begin_updates();
    let result = (|| {
        for batch in parts.chunks(per_batch) {
            let made = make_batch(schunk, batch, &make)?;
            for (part, chunk) in batch.iter().zip(made) {
                let c = match &chunk {
                    NewChunk::Bytes(c) => c,
                    NewChunk::Constant => constant.ok_or_else(|| {
                        Error::invalid_argument("a constant chunk without a constant")
                    })?,
                };
                schunk.update_chunk(part.index, c)?;
            }
        }
        Ok(())
    })();
    let end = schunk.end_updates();
    result.and(end)
}

/// Whether `within` (inside `valid`, a box from 0) selects every item of `valid`.
fn covers(within: &Region, valid: &Region) -> bool {
    within.shape() == valid.shape()
}

/// `n` zero bytes, or an out-of-memory error.
fn zeroed(n: usize) -> Result<Vec<u8>> {
    let mut v = Vec::new();
    v.try_reserve_exact(n)
        .map_err(|_| Error::alloc_failed("a chunk", n))?;
    v.resize(n, 0);
    Ok(v)
}

/// Chunk `n` decoded (checked against the layout's chunk size).
fn decode_chunk(schunk: &SChunk, n: usize, l: &ChunkLayout) -> Result<Vec<u8>> {
    decode_bytes(&schunk.get_chunk(n)?, n, l)
}

/// Chunk `part` of the array, whose encoded bytes are `old`, with the items of `part` written
/// from `src_region` of `src`, when they touch few of its blocks: those blocks alone are
/// decoded, patched and encoded again, the others keep their bytes (see
/// [`v2::replace_blocks`]). `None` when the whole chunk is to be decoded and compressed.
fn patch_blocks(
    old: &[u8],
    part: &ChunkSelection,
    l: &ChunkLayout,
    src: &[u8],
    src_layout: ByteLayout<'_>,
    cparams: &CParams,
) -> Result<Option<Vec<u8>>> {
    let out = Region::full(&part.within.shape())?;
    let blocks = l.block_parts(&part.within, &out)?;
    if blocks.len() * 2 > l.blocks_per_chunk() {
        return Ok(None);
    }
    let dec = v2::ChunkDecoder::open(old)?;
    if dec.special() != 0 || dec.blocksize() != l.block_bytes() {
        return Ok(None);
    }
    check_chunk_nbytes(part.index, dec.nbytes(), l)?;
    let block_layout = ByteLayout::c(l.blocks(), l.itemsize());
    let mut raws = Vec::with_capacity(blocks.len());
    for b in &blocks {
        let mut raw = zeroed(l.block_bytes())?;
        dec.decode_range(l.block_range(b.nblock).start, &mut raw)?;
        let from = part.out.select(&b.out)?;
        copy_region(src, src_layout, &from, &mut raw, block_layout, &b.within)?;
        raws.push((b.nblock, raw));
    }
    let pairs: Vec<(usize, &[u8])> = raws.iter().map(|(i, r)| (*i, r.as_slice())).collect();
    v2::replace_blocks(old, cparams, &pairs, threads::get_num_threads())
}

/// A chunk's encoded bytes `chunk` decoded (checked against the layout's chunk size).
fn decode_bytes(chunk: &[u8], n: usize, l: &ChunkLayout) -> Result<Vec<u8>> {
    let dec = v2::ChunkDecoder::open(chunk)?;
    check_chunk_nbytes(n, dec.nbytes(), l)?;
    let mut raw = zeroed(l.chunk_bytes())?;
    dec.decode_into(&mut raw)?;
    Ok(raw)
}

/// Checks `data`, written into `region` of an array of `itemsize`-byte items: its item size,
/// its shape (the region's) and its length; returns its byte layout.
pub(super) fn check_write_data<'d>(
    itemsize: usize,
    region: &Region,
    data: &'d ArrayRef<'_>,
) -> Result<ByteLayout<'d>> {
    if data.dtype.itemsize() != itemsize {
        return Err(Error::invalid_argument(format!(
            "cannot write {}-byte items into an array of {itemsize}-byte items",
            data.dtype.itemsize()
        )));
    }
    if data.shape != region.shape() {
        return Err(Error::invalid_argument(format!(
            "cannot write data of shape {:?} into region {region} of shape {:?}",
            data.shape,
            region.shape()
        )));
    }
    let layout = ByteLayout::new(&data.shape, itemsize, data.order);
    let want = layout.num_bytes()?;
    if data.data.len() != want {
        return Err(Error::invalid_argument(format!(
            "data of {} bytes does not hold shape {:?} ({want} bytes)",
            data.data.len(),
            data.shape
        )));
    }
    Ok(layout)
}
