//! The write operations of [`SChunk`]: chunks (append, insert, update, delete, specials,
//! item ranges), batches, metalayers and vlmeta. Each checks the chunk-size rules, stores the
//! bytes through the storage and commits (or leaves the commit to the end of a batch).

use std::borrow::Cow;

use super::header::check_name;
use super::offsets::{MAX_CHUNKS, SPECIAL_NAN, SPECIAL_UNINIT, SPECIAL_ZERO};
use super::schunk::{check_meta, Store};
use super::trailer::{self, MAX_VLMETALAYERS};
use super::{Entry, Mode, SChunk, Special};
use crate::blosc::v2::{self, CParams};
use crate::buffer::Buffer;
use crate::error::{Error, ErrorKind, Result};

impl SChunk {
    // ---- writing ----

    pub(super) fn check_writable(&self) -> Result<()> {
        if self.mode == Mode::Read {
            return Err(Error::invalid_argument(
                "the super-chunk was opened read-only (mode 'r')",
            ));
        }
        if let Store::Contiguous(c) = &self.store {
            c.check_writable()?;
        }
        Ok(())
    }

    /// Checks the decoded size of a chunk written at `pos` by `op` against the chunk-size rules
    /// (every chunk but the last holds `chunksize` bytes, the last at most that); the first
    /// chunk of a super-chunk created with chunksize 0 sets it.
    pub(super) fn check_size(&mut self, pos: usize, nbytes: usize, op: &str) -> Result<()> {
        if nbytes == 0 {
            return Err(Error::invalid_argument(
                "a chunk must hold at least one byte",
            ));
        }
        if self.variable {
            return Ok(());
        }
        let n = self.entries.len();
        if self.chunksize == 0 && n == 0 {
            self.chunksize = nbytes;
            return Ok(());
        }
        let cs = self.chunksize;
        let last = match op {
            "append" => true,
            "insert" => pos == n,
            _ => pos + 1 == n,
        };
        let prev_full = match op {
            "append" => n == 0 || self.entries[n - 1].nbytes as usize == cs,
            "insert" if pos == n => n == 0 || self.entries[n - 1].nbytes as usize == cs,
            _ => true,
        };
        let ok = prev_full && if last { nbytes <= cs } else { nbytes == cs };
        if ok {
            Ok(())
        } else {
            Err(Error::invalid_argument(format!(
                "cannot {op} a chunk of {nbytes} bytes at position {pos}: every chunk but the \
                 last must hold chunksize ({cs}) bytes and the last at most that"
            )))
        }
    }

    pub(super) fn check_chunk<'a>(&self, chunk: &'a [u8]) -> Result<(&'a [u8], v2::ChunkInfo)> {
        let info = v2::chunk_info(chunk)?;
        if info.version < 3 {
            return Err(Error::invalid_argument(format!(
                "a super-chunk holds Blosc2 chunks, this one has format version {}",
                info.version
            )));
        }
        if info.nbytes > u32::MAX as usize / 2 {
            return Err(Error::too_large(format!(
                "a chunk of {} bytes",
                info.nbytes
            )));
        }
        Ok((&chunk[..info.cbytes], info))
    }

    /// Stores chunk bytes (or records a special chunk); `reuse` is the entry replaced, whose
    /// file id a sparse frame keeps when the decoded size stays the same (so that the file is,
    /// at every moment, a chunk that the committed index describes; a size change takes a new
    /// id and removes the old file after the commit).
    pub(super) fn store_chunk(
        &mut self,
        chunk: Cow<'_, [u8]>,
        info: &v2::ChunkInfo,
        reuse: Option<&Entry>,
    ) -> Result<Entry> {
        if matches!(info.special, SPECIAL_ZERO | SPECIAL_NAN | SPECIAL_UNINIT) {
            return Ok(Entry::special(info.special, info.nbytes));
        }
        let cbytes = chunk.len() as u64;
        let off = match &mut self.store {
            Store::Memory(m) => m.put(Buffer::from_vec(chunk.into_owned())),
            Store::Contiguous(c) => c.put(&chunk)?,
            Store::Sparse(d) => d.put(
                &chunk,
                reuse
                    .filter(|e| !e.is_special() && e.nbytes as usize == info.nbytes)
                    .map(|e| e.off),
            )?,
        };
        Ok(Entry {
            off,
            cbytes,
            nbytes: info.nbytes as u32,
            exact: true,
        })
    }

    /// Frees the bytes of a replaced or deleted entry (`kept_id`: a sparse update renamed the
    /// new chunk over it).
    pub(super) fn release(&mut self, e: &Entry, kept_id: bool) {
        self.cbytes = self.cbytes.saturating_sub(e.cbytes);
        if e.is_special() {
            return;
        }
        match &mut self.store {
            Store::Memory(m) => m.release(e.off),
            Store::Contiguous(c) => c.release(e),
            Store::Sparse(d) => {
                if !kept_id {
                    d.release(e.off)
                }
            }
        }
    }

    pub(super) fn check_room(&self, more: usize) -> Result<()> {
        if self.entries.len() + more > MAX_CHUNKS {
            return Err(Error::too_large(format!(
                "a super-chunk of more than {MAX_CHUNKS} chunks"
            )));
        }
        Ok(())
    }

    pub(super) fn push_entry(&mut self, pos: usize, e: Entry) {
        self.nbytes += u64::from(e.nbytes);
        self.cbytes += e.cbytes;
        self.entries.insert(pos, e);
    }

    /// Compresses `data` with the compression parameters and appends it as a chunk; returns the
    /// number of chunks.
    pub fn append_buffer(&mut self, data: &[u8]) -> Result<usize> {
        self.check_writable()?;
        self.check_room(1)?;
        let n = self.entries.len();
        self.check_size(n, data.len(), "append")?;
        let cparams = self.cparams.clone();
        let e = v2::compress_with(data, &cparams, |chunk| {
            let info = v2::chunk_info(chunk)?;
            self.store_chunk(Cow::Borrowed(chunk), &info, None)
        })?;
        self.push_entry(n, e);
        self.commit()?;
        Ok(self.entries.len())
    }

    /// Appends a compressed Blosc2 chunk (checked); returns the number of chunks.
    pub fn append_chunk(&mut self, chunk: &[u8]) -> Result<usize> {
        let n = self.entries.len();
        self.insert_chunk_as(n, chunk, "append")
    }

    /// Inserts a compressed chunk before position `nchunk`; returns the number of chunks.
    pub fn insert_chunk(&mut self, nchunk: usize, chunk: &[u8]) -> Result<usize> {
        self.insert_chunk_as(nchunk, chunk, "insert")
    }

    pub(super) fn insert_chunk_as(&mut self, pos: usize, chunk: &[u8], op: &str) -> Result<usize> {
        self.check_writable()?;
        self.check_room(1)?;
        if pos > self.entries.len() {
            return Err(Error::invalid_argument(format!(
                "cannot insert at {pos}: {} chunks",
                self.entries.len()
            )));
        }
        let (chunk, info) = self.check_chunk(chunk)?;
        self.check_size(pos, info.nbytes, op)?;
        let e = self.store_chunk(Cow::Borrowed(chunk), &info, None)?;
        self.push_entry(pos, e);
        self.commit()?;
        Ok(self.entries.len())
    }

    /// Replaces chunk `nchunk` with a compressed chunk; returns the number of chunks.
    pub fn update_chunk(&mut self, nchunk: usize, chunk: &[u8]) -> Result<usize> {
        self.check_writable()?;
        let old = self.entry(nchunk)?;
        let (chunk, info) = self.check_chunk(chunk)?;
        self.check_size(nchunk, info.nbytes, "update")?;
        self.replace(nchunk, old, Cow::Borrowed(chunk), &info)?;
        self.commit()?;
        Ok(self.entries.len())
    }

    pub(super) fn replace(
        &mut self,
        pos: usize,
        old: Entry,
        chunk: Cow<'_, [u8]>,
        info: &v2::ChunkInfo,
    ) -> Result<()> {
        let e = self.store_chunk(chunk, info, Some(&old))?;
        let kept = matches!(self.store, Store::Sparse(_)) && !old.is_special() && e.off == old.off;
        self.release(&old, kept);
        self.nbytes = self.nbytes - u64::from(old.nbytes) + u64::from(e.nbytes);
        self.cbytes += e.cbytes;
        self.entries[pos] = e;
        Ok(())
    }

    /// Deletes chunk `nchunk`; returns the number of chunks.
    pub fn delete_chunk(&mut self, nchunk: usize) -> Result<usize> {
        self.check_writable()?;
        let old = self.entry(nchunk)?;
        self.entries.remove(nchunk);
        self.nbytes -= u64::from(old.nbytes);
        self.release(&old, false);
        self.commit()?;
        Ok(self.entries.len())
    }

    /// Appends `nitems` items of a special value as special chunks of `chunksize` bytes (the
    /// last one shorter); zeros, NaNs and uninitialized chunks have no payload. Returns the
    /// number of chunks.
    pub fn fill_special(&mut self, nitems: usize, special: Special) -> Result<usize> {
        self.check_writable()?;
        let ts = self.typesize();
        let total = nitems
            .checked_mul(ts)
            .ok_or_else(|| Error::too_large(format!("{nitems} items of {ts} bytes")))?;
        if self.variable {
            return Err(Error::new(
                ErrorKind::Unsupported,
                "special chunks in a frame of variable chunk sizes",
            ));
        }
        let cs = self.chunksize;
        if cs == 0 {
            return Err(Error::invalid_argument(
                "fill_special needs a chunksize (create the super-chunk with one)",
            ));
        }
        if let Some(last) = self.entries.last() {
            if last.nbytes as usize != cs {
                return Err(Error::invalid_argument(
                    "fill_special needs the last chunk to be full",
                ));
            }
        }
        match &special {
            Special::Nan if ts != 4 && ts != 8 => {
                return Err(Error::invalid_argument(format!(
                    "NaN chunks need typesize 4 or 8, not {ts}"
                )))
            }
            Special::Value(v) if v.len() != ts => {
                return Err(Error::invalid_argument(format!(
                    "a repeated value must have typesize ({ts}) bytes, not {}",
                    v.len()
                )))
            }
            _ => {}
        }
        self.check_room(total.div_ceil(cs))?;
        self.begin_updates();
        // Special chunks without payload store nothing, so mark the batch for its commit here.
        let r = self
            .fill_special_chunks(total, cs, &special)
            .and_then(|()| self.commit());
        let end = self.end_updates();
        r.and(end)?;
        Ok(self.entries.len())
    }

    pub(super) fn fill_special_chunks(
        &mut self,
        total: usize,
        cs: usize,
        special: &Special,
    ) -> Result<()> {
        let mut left = total;
        let mut value_chunk: Option<(usize, Vec<u8>)> = None;
        while left > 0 {
            let nb = left.min(cs);
            let n = self.entries.len();
            let e = match special {
                Special::Zeros => Entry::special(SPECIAL_ZERO, nb),
                Special::Nan => Entry::special(SPECIAL_NAN, nb),
                Special::Uninit => Entry::special(SPECIAL_UNINIT, nb),
                Special::Value(v) => {
                    if value_chunk.as_ref().map(|(len, _)| *len) != Some(nb) {
                        let bs = if self.cparams.blocksize == 0 {
                            nb
                        } else {
                            self.cparams.blocksize
                        };
                        value_chunk = Some((nb, v2::repeat_chunk(nb, v, bs)?));
                    }
                    let chunk = value_chunk.as_ref().expect("set above").1.clone();
                    let info = v2::chunk_info(&chunk)?;
                    self.store_chunk(Cow::Owned(chunk), &info, None)?
                }
            };
            self.push_entry(n, e);
            left -= nb;
        }
        Ok(())
    }

    /// Writes items from item `start` (growing the super-chunk by appending when the data runs
    /// past its end): chunks partly covered are decompressed, patched and recompressed.
    pub fn set_slice(&mut self, start: usize, data: &[u8]) -> Result<()> {
        self.check_writable()?;
        let ts = self.typesize();
        if !data.len().is_multiple_of(ts) {
            return Err(Error::invalid_argument(format!(
                "{} bytes are not a whole number of {ts}-byte items",
                data.len()
            )));
        }
        let nitems = (self.nbytes / ts as u64) as usize;
        if start > nitems {
            return Err(Error::invalid_argument(format!(
                "item {start} is past the end ({nitems} items)"
            )));
        }
        if self.variable {
            return Err(Error::new(
                ErrorKind::Unsupported,
                "set_slice on a frame of variable chunk sizes",
            ));
        }
        if self.chunksize == 0 {
            return Err(Error::invalid_argument(
                "set_slice needs a chunksize (create the super-chunk with one)",
            ));
        }
        self.begin_updates();
        let r = self.set_slice_chunks(start * ts, data);
        let end = self.end_updates();
        r.and(end)
    }

    pub(super) fn set_slice_chunks(&mut self, at: usize, data: &[u8]) -> Result<()> {
        let cs = self.chunksize;
        let end = at + data.len();
        let mut pos = at;
        while pos < end {
            let ci = pos / cs;
            let within = pos % cs;
            let take = (end - pos).min(cs - within);
            let src = &data[pos - at..pos - at + take];
            if ci == self.entries.len() {
                self.append_buffer(src)?;
            } else {
                let old = self.entries[ci];
                let cn = old.nbytes as usize;
                let new_len = cn.max(within + take);
                let buf = if within == 0 && take >= cn {
                    src.to_vec()
                } else {
                    let mut buf = self.decompress_chunk(ci)?;
                    buf.resize(new_len, 0);
                    buf[within..within + take].copy_from_slice(src);
                    buf
                };
                self.check_size(ci, new_len, "update")?;
                let cparams = self.cparams.clone();
                v2::compress_with(&buf, &cparams, |chunk| {
                    let info = v2::chunk_info(chunk)?;
                    self.replace(ci, old, Cow::Borrowed(chunk), &info)
                })?;
                self.commit()?;
            }
            pos += take;
        }
        Ok(())
    }

    /// Starts a batch: writes until the matching [`SChunk::end_updates`] commit once, at its
    /// end. Batches nest.
    pub fn begin_updates(&mut self) {
        self.batch += 1;
    }

    /// Ends a batch, committing the writes made in it (when this is the outermost one).
    pub fn end_updates(&mut self) -> Result<()> {
        self.batch = self.batch.saturating_sub(1);
        if self.batch == 0 && self.dirty {
            self.commit()
        } else {
            Ok(())
        }
    }

    // ---- metalayers ----

    /// The names of the fixed metalayers, in order.
    pub fn meta_names(&self) -> Vec<String> {
        self.meta.iter().map(|(n, _)| n.clone()).collect()
    }

    /// The content of metalayer `name`.
    pub fn meta_get(&self, name: &str) -> Option<&[u8]> {
        self.meta
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, c)| c.as_slice())
    }

    /// Adds a metalayer (only while the super-chunk has no chunks).
    pub fn meta_add(&mut self, name: &str, content: &[u8]) -> Result<()> {
        self.check_writable()?;
        if !self.entries.is_empty() {
            return Err(Error::invalid_argument(
                "metalayers can only be added before any chunk",
            ));
        }
        if self.meta_get(name).is_some() {
            return Err(Error::invalid_argument(format!(
                "metalayer {name:?} already exists"
            )));
        }
        let mut meta = self.meta.clone();
        meta.push((name.to_string(), content.to_vec()));
        check_meta(&meta)?;
        self.meta = meta;
        match self.store {
            Store::Contiguous(_) => self.rewrite(),
            _ => self.commit(),
        }
    }

    /// Replaces the content of metalayer `name` with content of the same length.
    pub fn meta_update(&mut self, name: &str, content: &[u8]) -> Result<()> {
        self.check_writable()?;
        let slot = self
            .meta
            .iter_mut()
            .find(|(n, _)| n == name)
            .ok_or_else(|| Error::invalid_argument(format!("no metalayer {name:?}")))?;
        if slot.1.len() != content.len() {
            return Err(Error::invalid_argument(format!(
                "metalayer {name:?} holds {} bytes; an update must keep the length, got {}",
                slot.1.len(),
                content.len()
            )));
        }
        slot.1.copy_from_slice(content);
        self.meta_dirty = true;
        self.commit()
    }

    // ---- vlmeta ----

    /// The names of the variable-length metalayers, in order.
    pub fn vlmeta_names(&self) -> Vec<String> {
        self.vlmeta.iter().map(|(n, _)| n.clone()).collect()
    }

    /// The decompressed content of vlmetalayer `name` (msgpack, as python-blosc2 writes it).
    pub fn vlmeta_get(&self, name: &str) -> Result<Option<Vec<u8>>> {
        match self.vlmeta.iter().find(|(n, _)| n == name) {
            None => Ok(None),
            Some((_, chunk)) => v2::decompress(chunk)
                .map(Some)
                .map_err(|e| Error::new(e.kind(), format!("vlmeta {name:?}: {}", e.message()))),
        }
    }

    /// Adds or replaces vlmetalayer `name`, compressed with the codec and clevel of the
    /// compression parameters (typesize 1, as python-blosc2 stores it).
    pub fn vlmeta_set(&mut self, name: &str, content: &[u8]) -> Result<()> {
        self.check_writable()?;
        check_name(name)?;
        let params = CParams {
            codec: self.cparams.codec,
            clevel: self.cparams.clevel,
            typesize: 1,
            ..CParams::default()
        };
        let chunk = v2::compress(content, &params)?;
        match self.vlmeta.iter_mut().find(|(n, _)| n == name) {
            Some(slot) => slot.1 = chunk,
            None => {
                if self.vlmeta.len() >= MAX_VLMETALAYERS {
                    return Err(Error::invalid_argument(format!(
                        "at most {MAX_VLMETALAYERS} vlmetalayers"
                    )));
                }
                self.vlmeta.push((name.to_string(), chunk));
            }
        }
        trailer::build(&self.vlmeta)?;
        self.commit()
    }

    /// Deletes vlmetalayer `name`; `false` when there is none.
    pub fn vlmeta_delete(&mut self, name: &str) -> Result<bool> {
        self.check_writable()?;
        let Some(i) = self.vlmeta.iter().position(|(n, _)| n == name) else {
            return Ok(false);
        };
        self.vlmeta.remove(i);
        self.commit()?;
        Ok(true)
    }
}
