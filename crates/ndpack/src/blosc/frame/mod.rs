//! Blosc2 super-chunks ([`SChunk`]) and their frames: a sequence of Blosc2 chunks with one
//! nominal chunk size, fixed metalayers and variable-length metalayers (vlmeta), kept in memory,
//! in one contiguous frame file (`.b2frame`, `.b2nd`) or in a sparse frame directory (one file
//! per chunk plus `chunks.b2frame`). The bytes are c-blosc2's (python-blosc2 4.15 and caterva
//! 0.7.3 read what ndpack writes, and ndpack reads theirs): see `header` (the fixed msgpack
//! header and metalayers), `offsets` (the offsets chunk and special chunks), `trailer` (vlmeta),
//! `parse` (reading an index with every size checked), and the three storages `memory`,
//! `contiguous` and `sparse`.
//!
//! # Writing: the commit protocol
//!
//! A contiguous frame is `header | chunk section | offsets chunk | trailer`, `frame_len` bytes.
//! ndpack never overwrites a live byte before the commit:
//!
//! 1. new chunk bytes go past the current `frame_len` (replaced chunks, the old offsets chunk
//!    and the old trailer stay where they are, as holes of the chunk section);
//! 2. the new offsets chunk and the new trailer follow them;
//! 3. the commit is one `pwrite` of the header's fixed fields (`frame_len`, flags, `nbytes`,
//!    `cbytes`, `chunksize`, the vlmeta flag: bytes 16-68, inside the first disk sector), or of
//!    the whole header when a metalayer changed in place (same length); with `sync`, `fsync`
//!    runs before and after it.
//!
//! A crash before step 3 leaves the old header, which describes the old frame, whose bytes are
//! all intact: the file opens with the old content. The bytes past `frame_len` are cut off when
//! ndpack opens the file in mode `a` or `w`, and ignored in mode `r`. python-blosc2 4.15
//! (c-blosc2 3.6.1) also reads such a file: it takes `frame_len` from the header and checks only
//! that the file is at least that long. Frames with holes are valid c-blosc2 frames (offsets
//! need not be increasing) and open in python-blosc2 and caterva 0.7.3.
//!
//! Holes are dropped by [`SChunk::compact`], which writes a whole new frame (chunks in order,
//! no holes) to `<path>.tmp-<pid>`, syncs it when `sync` is set, and renames it over the file
//! (opening in mode `a` or `w` removes such files left by a process that died mid-way);
//! it runs by itself after a commit when the dead bytes exceed both the live chunk bytes and
//! 1 MiB. A frame whose last chunk is deleted is also rewritten that way, because c-blosc2
//! expects the trailer of a frame without chunks right after the header.
//!
//! A sparse frame writes each chunk to a temporary file renamed to `%08X.chunk`, and commits by
//! writing `chunks.b2frame` (header, offsets chunk, trailer) to a temporary file renamed over the
//! old one. An update renames the new chunk over the old id when its decoded size is unchanged (the
//! file then holds the old or the new chunk, both of which the index describes), else it takes
//! a new id like an insert; the file of a deleted or replaced chunk is removed after the commit. [`SChunk::begin_updates`] and
//! [`SChunk::end_updates`] gather many writes into one commit.
//!
//! # Reading
//!
//! Reads take `&self` and run from many threads at once. A contiguous file is read with `pread`
//! on one handle kept open for the life of the [`SChunk`] (never reopened per chunk), or through
//! a read-only memory map ([`OpenOptions::mmap`]) whose chunks are zero-copy [`Buffer`] views.
//! The chunk size is not stored in a frame: ndpack reads the span up to the next chunk in one
//! read and trims it to the size in the chunk's own header. Every chunk is decompressed with a
//! fresh per-call decoder; [`SChunk::get_slice`] decodes the chunks it touches in parallel on
//! ndpack's pool straight into the caller's memory, only the blocks it needs at the ends.
//!
//! Frames written are frame version 2 with 64-bit offsets, a fixed chunk size and chunk
//! version 5 (what c-blosc2 2.4.3 and caterva 0.7.3 read); a frame of variable chunk sizes
//! (version 3) is read, and written back as version 3.

mod blocks;
mod commit;
mod contiguous;
mod header;
mod memory;
mod offsets;
mod parallel;
mod parse;
mod schunk;
mod sparse;
mod trailer;
mod write;

#[cfg(test)]
mod tests;

use std::path::PathBuf;

pub use crate::blosc::v2::{CParams, Filter, SplitMode};
pub use header::{MAX_METALAYERS, MAX_NAME_LEN};
pub use offsets::MAX_CHUNKS;
pub use parallel::{commit_sparse_writes, make_identity, ChunkLock, CommitSummary, SparseWriter};
pub use schunk::SChunk;
pub use trailer::MAX_VLMETALAYERS;

use crate::error::{Error, Result};

/// How a frame is opened (python-blosc2's `mode`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum Mode {
    /// `"r"`: read only.
    Read,
    /// `"a"`: read and write; [`SChunk::new`] creates the frame when it is missing and opens it
    /// when it exists.
    #[default]
    Append,
    /// `"w"`: read and write; [`SChunk::new`] replaces an existing frame.
    Write,
}

impl Mode {
    /// The mode named `"r"`, `"a"` or `"w"`.
    pub fn parse(s: &str) -> Result<Mode> {
        match s {
            "r" => Ok(Mode::Read),
            "a" => Ok(Mode::Append),
            "w" => Ok(Mode::Write),
            _ => Err(Error::invalid_argument(format!(
                "mode must be 'r', 'a' or 'w', got {s:?}"
            ))),
        }
    }

    /// `"r"`, `"a"` or `"w"`.
    pub fn as_str(self) -> &'static str {
        match self {
            Mode::Read => "r",
            Mode::Append => "a",
            Mode::Write => "w",
        }
    }
}

/// Where a new [`SChunk`] lives.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Storage {
    /// The file or directory; `None`: in memory.
    pub urlpath: Option<PathBuf>,
    /// One frame file, else a sparse directory.
    pub contiguous: bool,
    /// For [`SChunk::new`]: [`Mode::Write`] replaces, [`Mode::Append`] creates when missing.
    pub mode: Mode,
    /// `fsync` at each commit.
    pub sync: bool,
    /// Fixed metalayers, in order (at most 16, names of at most 31 bytes).
    pub meta: Vec<(String, Vec<u8>)>,
}

impl Default for Storage {
    fn default() -> Self {
        Storage {
            urlpath: None,
            contiguous: true,
            mode: Mode::Append,
            sync: false,
            meta: Vec::new(),
        }
    }
}

/// Decompression parameters (python-blosc2's `DParams`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct DParams {
    /// Threads for decompression; 0: the pool's ([`crate::threads`]). ndpack decodes on its one
    /// pool, so this is recorded in the frame header only.
    pub nthreads: usize,
}

/// A chunk whose items all hold one value, stored without a payload (except
/// [`Special::Value`], stored as a header plus the value).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Special {
    /// All bytes zero.
    Zeros,
    /// All items NaN (typesize 4 or 8).
    Nan,
    /// Unspecified content (ndpack reads zeros).
    Uninit,
    /// Every item equal to these bytes (one item).
    Value(Vec<u8>),
}

/// How [`SChunk::open_with_options`] opens a frame.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct OpenOptions {
    /// The mode ([`Mode::Write`] opens an existing frame like [`Mode::Append`]).
    pub mode: Mode,
    /// Where the frame starts in a contiguous file (a frame embedded in a larger file). Frames
    /// at an offset other than 0 open for reading only.
    pub offset: u64,
    /// `fsync` at each commit.
    pub sync: bool,
    /// Read a contiguous frame opened in [`Mode::Read`] through a read-only memory map (chunks
    /// are zero-copy views of the map), instead of `pread` on one open handle.
    pub mmap: bool,
}

/// One chunk of the index: its raw offset value (negative for specials; a memory slot, an
/// offset from the end of the header, or a file id), its compressed size (exact, or the span up
/// to the next chunk when read from a file and not yet known) and its decoded size.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Entry {
    pub off: i64,
    pub cbytes: u64,
    pub nbytes: u32,
    pub exact: bool,
}

impl Entry {
    fn special(kind: u8, nbytes: usize) -> Entry {
        Entry {
            off: offsets::special_offset(kind),
            cbytes: 0,
            nbytes: nbytes as u32,
            exact: true,
        }
    }

    fn is_special(&self) -> bool {
        self.off < 0
    }
}
