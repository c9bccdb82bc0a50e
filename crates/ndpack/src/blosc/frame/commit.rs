//! Frames of an [`SChunk`] as a whole: the header of the current state, a whole frame written
//! in one pass (`to_cframe`, compaction), the commits of the contiguous and sparse storages,
//! `compact` and `reload`.

use std::path::PathBuf;

use super::header::FrameHeader;
use super::offsets;
use super::schunk::Store;
use super::trailer;
use super::{Entry, Mode, OpenOptions, SChunk};
use crate::blosc::v2::Filter;
use crate::buffer::try_reserve_total;
use crate::error::Result;
use crate::threads;

/// Dead bytes above this (and above the live chunk bytes) make a commit compact the file.
const AUTO_COMPACT_MIN: u64 = 1 << 20;

impl SChunk {
    // ---- frames ----

    /// The header of the current state (`cbytes`, `frame_len` and `header_len` to be set).
    pub(crate) fn frame_header(&self, sparse: bool) -> FrameHeader {
        let nthreads = threads::get_num_threads().min(i16::MAX as usize) as i16;
        let dthreads = if self.dparams.nthreads == 0 {
            nthreads
        } else {
            self.dparams.nthreads.min(i16::MAX as usize) as i16
        };
        FrameHeader {
            header_len: 0,
            frame_len: 0,
            version: if self.variable { 3 } else { 2 },
            variable: self.variable,
            vl_blocks: self.vl_blocks,
            sparse,
            compcode: self.cparams.codec.code(),
            clevel: self.cparams.clevel,
            other_flags: (self.cparams.splitmode.value() - 1) as u8,
            nbytes: self.nbytes,
            cbytes: 0,
            typesize: self.cparams.typesize,
            blocksize: self.cparams.blocksize,
            chunksize: if self.variable { 0 } else { self.chunksize },
            nthreads_c: nthreads,
            nthreads_d: dthreads,
            has_vlmeta: !self.vlmeta.is_empty(),
            filters: self.cparams.filters.map(Filter::code),
            filters_meta: self.cparams.filters_meta,
            compcode_meta: self.compcode_meta,
            use_dict: self.use_dict,
            meta: self.meta.clone(),
        }
    }

    /// Writes the whole frame, chunks in order and without holes, through `sink(position,
    /// bytes)`; returns the entries as they lie in it and the frame length.
    pub(crate) fn write_frame(
        &self,
        sink: &mut dyn FnMut(u64, &[u8]) -> Result<()>,
    ) -> Result<(Vec<Entry>, u64, FrameHeader)> {
        let mut h = self.frame_header(false);
        let hl = h.built_len() as u64;
        let mut pos = hl;
        let mut entries = Vec::new();
        try_reserve_total(&mut entries, self.entries.len(), "frame index")?;
        for e in &self.entries {
            if e.is_special() {
                entries.push(*e);
                continue;
            }
            let chunk = self.read_stored(e, false)?;
            let cb = i32::from_le_bytes(chunk[12..16].try_into().expect("4 bytes")) as usize;
            let chunk = &chunk[..cb.min(chunk.len())];
            sink(pos, chunk)?;
            entries.push(Entry {
                off: (pos - hl) as i64,
                cbytes: chunk.len() as u64,
                nbytes: e.nbytes,
                exact: true,
            });
            pos += chunk.len() as u64;
        }
        h.cbytes = pos - hl;
        if !entries.is_empty() {
            let offs: Vec<i64> = entries.iter().map(|e| e.off).collect();
            let ochunk = offsets::encode(&offs)?;
            sink(pos, &ochunk)?;
            pos += ochunk.len() as u64;
        }
        let t = trailer::build(&self.vlmeta)?;
        sink(pos, &t)?;
        pos += t.len() as u64;
        h.frame_len = pos;
        let hb = h.build()?;
        sink(0, &hb)?;
        Ok((entries, pos, h))
    }

    /// The whole frame as bytes (chunks in order, no holes), readable by c-blosc2.
    pub fn to_cframe(&self) -> Result<Vec<u8>> {
        let mut out: Vec<u8> = Vec::new();
        self.write_frame(&mut |pos, bytes| {
            let end = pos as usize + bytes.len();
            if out.len() < end {
                try_reserve_total(&mut out, end, "a frame")?;
                out.resize(end, 0);
            }
            out[pos as usize..end].copy_from_slice(bytes);
            Ok(())
        })?;
        Ok(out)
    }

    /// Commits the writes made since the last commit (inside a batch: marks them for the end of
    /// the batch).
    pub(crate) fn commit(&mut self) -> Result<()> {
        if self.batch > 0 {
            self.dirty = true;
            return Ok(());
        }
        self.dirty = false;
        match &self.store {
            Store::Memory(_) => Ok(()),
            Store::Sparse(_) => self.commit_sparse(),
            Store::Contiguous(c) => {
                if self.entries.is_empty() || self.frame_header(false).built_len() != c.header_len()
                {
                    return self.rewrite();
                }
                self.commit_contiguous()?;
                let live = self.cbytes;
                let dead = match &self.store {
                    Store::Contiguous(c) => c.dead(),
                    _ => 0,
                };
                if dead > AUTO_COMPACT_MIN && dead > live {
                    self.rewrite()?;
                }
                Ok(())
            }
        }
    }

    pub(super) fn commit_contiguous(&mut self) -> Result<()> {
        let offs: Vec<i64> = self.entries.iter().map(|e| e.off).collect();
        let ochunk = offsets::encode(&offs)?;
        let t = trailer::build(&self.vlmeta)?;
        let mut h = self.frame_header(false);
        let whole = self.meta_dirty;
        let Store::Contiguous(c) = &mut self.store else {
            unreachable!("commit_contiguous on a contiguous store")
        };
        c.commit(&mut h, &ochunk, &t, whole)?;
        self.meta_dirty = false;
        Ok(())
    }

    pub(super) fn commit_sparse(&mut self) -> Result<()> {
        let mut h = self.frame_header(true);
        h.cbytes = self.cbytes;
        let offs: Vec<i64> = self.entries.iter().map(|e| e.off).collect();
        let ochunk = if offs.is_empty() {
            Vec::new()
        } else {
            offsets::encode(&offs)?
        };
        let t = trailer::build(&self.vlmeta)?;
        let Store::Sparse(d) = &mut self.store else {
            unreachable!("commit_sparse on a sparse store")
        };
        d.commit(&mut h, &ochunk, &t)?;
        self.meta_dirty = false;
        Ok(())
    }

    /// Writes the whole frame to a new file renamed over the old one (contiguous storage).
    pub(crate) fn rewrite(&mut self) -> Result<()> {
        let Store::Contiguous(c) = &self.store else {
            return Ok(());
        };
        let (tmp, file) = c.temp_file()?;
        let written = self.write_frame(&mut |pos, bytes| {
            use crate::io::WriteAt;
            file.write_all_at(bytes, pos)
        });
        let (entries, frame_len, h) = match written {
            Ok(w) => w,
            Err(e) => {
                let _ = std::fs::remove_file(&tmp);
                return Err(e);
            }
        };
        let Store::Contiguous(c) = &mut self.store else {
            unreachable!("checked above")
        };
        c.replace_with(tmp, file, &h, frame_len)?;
        self.entries = entries;
        self.cbytes = self.entries.iter().map(|e| e.cbytes).sum();
        self.meta_dirty = false;
        Ok(())
    }

    /// Drops the space freed by updates and deletes: a contiguous frame is rewritten to a new
    /// file renamed over the old one; a sparse frame commits its index and removes chunk files
    /// no longer referenced.
    pub fn compact(&mut self) -> Result<()> {
        self.check_writable_or_memory()?;
        match self.store {
            Store::Memory(_) => Ok(()),
            Store::Contiguous(_) => self.rewrite(),
            Store::Sparse(_) => {
                self.commit_sparse()?;
                if let Store::Sparse(d) = &self.store {
                    d.remove_orphans(&self.entries)?;
                }
                Ok(())
            }
        }
    }

    pub(super) fn check_writable_or_memory(&self) -> Result<()> {
        match self.store {
            Store::Memory(_) => Ok(()),
            _ => self.check_writable(),
        }
    }

    /// Re-reads the committed state of the frame on disk (written by another handle or
    /// process); `true` when it changed. Uncommitted writes of this handle are dropped. In
    /// memory: `false`.
    pub fn reload(&mut self) -> Result<bool> {
        // Parse read-only, so that bytes past frame_len (another handle's write in progress)
        // are not cut off; a writer gets its write handle back afterwards.
        let opts = match &self.store {
            Store::Memory(_) => return Ok(false),
            Store::Contiguous(c) => c.reopen_options(Mode::Read),
            Store::Sparse(d) => OpenOptions {
                mode: Mode::Read,
                sync: d.sync(),
                ..OpenOptions::default()
            },
        };
        let path: PathBuf = self.urlpath().expect("a file store").to_path_buf();
        let mut fresh = Self::open_with_options(&path, &opts)?;
        if self.mode != Mode::Read {
            if let Store::Contiguous(c) = &mut fresh.store {
                c.make_writable()?;
            }
        }
        fresh.mode = self.mode;
        let same = fresh.nbytes == self.nbytes
            && fresh
                .entries
                .iter()
                .map(|e| e.off)
                .eq(self.entries.iter().map(|e| e.off))
            && fresh.vlmeta == self.vlmeta
            && fresh.meta == self.meta
            && fresh.cparams == self.cparams
            && fresh.chunksize == self.chunksize
            && !self.dirty;
        let dparams = self.dparams;
        self.batch = 0;
        self.dirty = false;
        *self = fresh;
        self.dparams = dparams;
        Ok(!same)
    }
}
