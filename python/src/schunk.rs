//! Python bindings: Blosc2 super-chunks and frames (`ndpack::blosc::frame::SChunk`) as the class
//! `ndpack._ndpack.SChunk`. The Python front is `ndpack/schunk.py` (python-blosc2's names,
//! msgpack of metalayers, argument checks); this file converts and dispatches.
//!
//! One handle is shared by Python threads: the super-chunk is [`Locked`], reads take it shared
//! (many at once) and writes exclusively, every lock taken with the GIL released. Inputs are read in place ([`PyMemory`]); outputs are new `bytes`
//! filled without the GIL ([`bytes_with`]) or a caller's writable buffer ([`PyMemoryMut`]).

use ndpack::blosc::frame::{DParams, Mode, OpenOptions, SChunk, Special, Storage};
use ndpack::blosc::v2::{self, CParams, Filter, SplitMode};
use ndpack::blosc::Compressor;
use ndpack::Error;
use pyo3::exceptions::PyValueError;
use pyo3::prelude::*;
use pyo3::types::PyBytes;

use crate::errors::to_py;
use crate::locked::Locked;
use crate::memory::{bytes_from_slice, bytes_with, write_only, PyMemory, PyMemoryMut};

/// The special-value codes of python-blosc2's `SpecialValue`.
const SPECIAL_ZERO: u8 = 1;
const SPECIAL_NAN: u8 = 2;
const SPECIAL_VALUE: u8 = 3;
const SPECIAL_UNINIT: u8 = 4;

/// `(codec, clevel, typesize, blocksize, splitmode, filters, filters_meta)` as Python passes and
/// gets them.
pub(crate) type CParamsTuple = (u8, u8, usize, usize, i64, Vec<u8>, Vec<u8>);

/// A borrowed, C-contiguous Python buffer.
fn c_bytes(obj: &Bound<'_, PyAny>) -> PyResult<PyMemory> {
    PyMemory::c_contiguous(obj, "buffer must be C-contiguous")
}

/// Compression parameters from their Python codes.
pub(crate) fn cparams_from(
    codec: u8,
    clevel: i64,
    typesize: usize,
    blocksize: usize,
    splitmode: i64,
    filters: &[i64],
    filters_meta: &[i64],
) -> PyResult<CParams> {
    if filters.len() > 6 || filters_meta.len() > 6 {
        return Err(PyValueError::new_err("at most 6 filters are supported"));
    }
    if !(0..=9).contains(&clevel) {
        return Err(PyValueError::new_err("clevel must be between 0 and 9"));
    }
    let mut params = CParams {
        codec: Compressor::from_code(codec).map_err(to_py)?,
        clevel: clevel as u8,
        typesize,
        blocksize,
        splitmode: SplitMode::from_value(splitmode).map_err(to_py)?,
        filters: [Filter::NoFilter; 6],
        filters_meta: [0; 6],
    };
    for (slot, &f) in filters.iter().enumerate() {
        params.filters[slot] = Filter::from_code(f).map_err(to_py)?;
    }
    for (slot, &m) in filters_meta.iter().enumerate() {
        if !(-128..=255).contains(&m) {
            return Err(PyValueError::new_err(format!(
                "filters_meta values must fit in a byte, got {m}"
            )));
        }
        params.filters_meta[slot] = m as u8;
    }
    Ok(params)
}

/// Compression parameters as Python gets them.
pub(crate) fn cparams_tuple(p: &CParams) -> CParamsTuple {
    (
        p.codec.code(),
        p.clevel,
        p.typesize,
        p.blocksize,
        p.splitmode.value(),
        p.filters.iter().map(|f| f.code()).collect(),
        p.filters_meta.to_vec(),
    )
}

/// The file or directory of a super-chunk as a Python string, `None` in memory.
pub(crate) fn urlpath_string(s: &SChunk) -> Option<String> {
    s.urlpath().map(|p| p.to_string_lossy().into_owned())
}

fn parse_mode(mode: &str) -> PyResult<Mode> {
    Mode::parse(mode).map_err(to_py)
}

fn special_from(code: u8, value: Option<Vec<u8>>) -> PyResult<Special> {
    match (code, value) {
        (SPECIAL_ZERO, _) => Ok(Special::Zeros),
        (SPECIAL_NAN, _) => Ok(Special::Nan),
        (SPECIAL_UNINIT, _) => Ok(Special::Uninit),
        (SPECIAL_VALUE, Some(v)) => Ok(Special::Value(v)),
        (SPECIAL_VALUE, None) => Err(PyValueError::new_err(
            "value cannot be None when special_value is VALUE",
        )),
        (c, _) => Err(PyValueError::new_err(format!("not a special value: {c}"))),
    }
}

/// A Blosc2 super-chunk, shared by Python threads (see the module doc).
#[pyclass(name = "SChunk", module = "ndpack._ndpack", frozen)]
pub struct PySChunk {
    inner: Locked<SChunk>,
}

impl PySChunk {
    fn wrap(s: SChunk) -> Self {
        PySChunk {
            inner: Locked::new(s, "this super-chunk"),
        }
    }

    /// Compresses `data` with the current parameters, without holding the lock.
    fn compress(&self, py: Python<'_>, data: &[u8]) -> PyResult<Vec<u8>> {
        let params = self.inner.peek(|s| s.cparams().clone())?;
        py.detach(|| v2::compress(data, &params)).map_err(to_py)
    }
}

#[pymethods]
impl PySChunk {
    /// A new super-chunk in memory, in a file (`contiguous`) or in a directory.
    #[staticmethod]
    #[allow(clippy::too_many_arguments)]
    #[pyo3(signature = (chunksize, codec, clevel, typesize, blocksize, splitmode, filters,
        filters_meta, dparams_nthreads, urlpath, contiguous, mode, sync, meta))]
    fn new(
        py: Python<'_>,
        chunksize: usize,
        codec: u8,
        clevel: i64,
        typesize: usize,
        blocksize: usize,
        splitmode: i64,
        filters: Vec<i64>,
        filters_meta: Vec<i64>,
        dparams_nthreads: usize,
        urlpath: Option<std::path::PathBuf>,
        contiguous: bool,
        mode: &str,
        sync: bool,
        meta: Vec<(String, Vec<u8>)>,
    ) -> PyResult<Self> {
        let cparams = cparams_from(
            codec,
            clevel,
            typesize,
            blocksize,
            splitmode,
            &filters,
            &filters_meta,
        )?;
        let storage = Storage {
            urlpath,
            contiguous,
            mode: parse_mode(mode)?,
            sync,
            meta,
        };
        let dparams = DParams {
            nthreads: dparams_nthreads,
        };
        py.detach(|| SChunk::new(chunksize, cparams, dparams, storage))
            .map(Self::wrap)
            .map_err(to_py)
    }

    /// Opens the frame at `offset` of a file, or a sparse frame directory; `mmap` reads a
    /// contiguous frame opened in mode "r" through a read-only memory map.
    #[staticmethod]
    #[pyo3(signature = (urlpath, mode = "r", offset = 0, sync = false, mmap = false))]
    fn open(
        py: Python<'_>,
        urlpath: std::path::PathBuf,
        mode: &str,
        offset: u64,
        sync: bool,
        mmap: bool,
    ) -> PyResult<Self> {
        let opts = OpenOptions {
            mode: parse_mode(mode)?,
            offset,
            sync,
            mmap,
        };
        py.detach(|| SChunk::open_with_options(&urlpath, &opts))
            .map(Self::wrap)
            .map_err(to_py)
    }

    /// The super-chunk held in a contiguous frame; `copy=False` reads it in place.
    #[staticmethod]
    #[pyo3(signature = (cframe, copy = false))]
    fn from_cframe(py: Python<'_>, cframe: &Bound<'_, PyAny>, copy: bool) -> PyResult<Self> {
        let buffer = c_bytes(cframe)?.into_buffer();
        py.detach(|| SChunk::from_cframe(buffer, copy))
            .map(Self::wrap)
            .map_err(to_py)
    }

    /// The number of chunks.
    #[getter]
    fn nchunks(&self) -> PyResult<usize> {
        self.inner.peek(SChunk::nchunks)
    }

    /// The nominal chunk size in bytes (0: variable).
    #[getter]
    fn chunksize(&self) -> PyResult<usize> {
        self.inner.peek(SChunk::chunksize)
    }

    /// The item size in bytes.
    #[getter]
    fn typesize(&self) -> PyResult<usize> {
        self.inner.peek(SChunk::typesize)
    }

    /// The block size in bytes (0: automatic).
    #[getter]
    fn blocksize(&self) -> PyResult<usize> {
        self.inner.peek(SChunk::blocksize)
    }

    /// The uncompressed size.
    #[getter]
    fn nbytes(&self) -> PyResult<u64> {
        self.inner.peek(SChunk::nbytes)
    }

    /// The compressed size.
    #[getter]
    fn cbytes(&self) -> PyResult<u64> {
        self.inner.peek(SChunk::cbytes)
    }

    /// `nbytes / cbytes`.
    #[getter]
    fn cratio(&self) -> PyResult<f64> {
        self.inner.peek(SChunk::cratio)
    }

    /// The file or directory, or `None` in memory.
    #[getter]
    fn urlpath(&self) -> PyResult<Option<String>> {
        self.inner.peek(urlpath_string)
    }

    /// Whether the frame is one file (or buffer) rather than a directory.
    #[getter]
    fn contiguous(&self) -> PyResult<bool> {
        self.inner.peek(SChunk::contiguous)
    }

    /// `"r"`, `"a"` or `"w"`.
    #[getter]
    fn mode(&self) -> PyResult<&'static str> {
        self.inner.peek(|s| s.mode().as_str())
    }

    /// `(codec, clevel, typesize, blocksize, splitmode, filters, filters_meta)`.
    fn cparams(&self) -> PyResult<CParamsTuple> {
        self.inner.peek(|s| cparams_tuple(s.cparams()))
    }

    /// Sets the compression parameters of the chunks written next.
    #[allow(clippy::too_many_arguments)]
    fn set_cparams(
        &self,
        py: Python<'_>,
        codec: u8,
        clevel: i64,
        typesize: usize,
        blocksize: usize,
        splitmode: i64,
        filters: Vec<i64>,
        filters_meta: Vec<i64>,
    ) -> PyResult<()> {
        let params = cparams_from(
            codec,
            clevel,
            typesize,
            blocksize,
            splitmode,
            &filters,
            &filters_meta,
        )?;
        self.inner.with_write(py, |s| s.set_cparams(params))
    }

    /// The decompression thread count.
    fn dparams_nthreads(&self) -> PyResult<usize> {
        self.inner.peek(|s| s.dparams().nthreads)
    }

    /// Sets the decompression thread count.
    fn set_dparams(&self, py: Python<'_>, nthreads: usize) -> PyResult<()> {
        self.inner.with_write(py, |s| {
            s.set_dparams(DParams { nthreads });
            Ok(())
        })
    }

    /// Compresses `data` and appends it; returns the number of chunks.
    fn append_buffer(&self, py: Python<'_>, data: &Bound<'_, PyAny>) -> PyResult<usize> {
        let src = c_bytes(data)?;
        let data = src.as_slice();
        self.inner.with_write(py, |s| s.append_buffer(data))
    }

    /// Appends a compressed chunk; returns the number of chunks.
    fn append_chunk(&self, py: Python<'_>, chunk: &Bound<'_, PyAny>) -> PyResult<usize> {
        let src = c_bytes(chunk)?;
        let chunk = src.as_slice();
        self.inner.with_write(py, |s| s.append_chunk(chunk))
    }

    /// Inserts a compressed chunk at `nchunk`; returns the number of chunks.
    fn insert_chunk(
        &self,
        py: Python<'_>,
        nchunk: usize,
        chunk: &Bound<'_, PyAny>,
    ) -> PyResult<usize> {
        let src = c_bytes(chunk)?;
        let chunk = src.as_slice();
        self.inner.with_write(py, |s| s.insert_chunk(nchunk, chunk))
    }

    /// Compresses `data` and inserts it at `nchunk`; returns the number of chunks.
    fn insert_buffer(
        &self,
        py: Python<'_>,
        nchunk: usize,
        data: &Bound<'_, PyAny>,
    ) -> PyResult<usize> {
        let src = c_bytes(data)?;
        let chunk = self.compress(py, src.as_slice())?;
        self.inner
            .with_write(py, |s| s.insert_chunk(nchunk, &chunk))
    }

    /// Replaces chunk `nchunk` with a compressed chunk; returns the number of chunks.
    fn update_chunk(
        &self,
        py: Python<'_>,
        nchunk: usize,
        chunk: &Bound<'_, PyAny>,
    ) -> PyResult<usize> {
        let src = c_bytes(chunk)?;
        let chunk = src.as_slice();
        self.inner.with_write(py, |s| s.update_chunk(nchunk, chunk))
    }

    /// Compresses `data` and replaces chunk `nchunk` with it; returns the number of chunks.
    fn update_buffer(
        &self,
        py: Python<'_>,
        nchunk: usize,
        data: &Bound<'_, PyAny>,
    ) -> PyResult<usize> {
        let src = c_bytes(data)?;
        let chunk = self.compress(py, src.as_slice())?;
        self.inner
            .with_write(py, |s| s.update_chunk(nchunk, &chunk))
    }

    /// Removes chunk `nchunk`; returns the number of chunks.
    fn delete_chunk(&self, py: Python<'_>, nchunk: usize) -> PyResult<usize> {
        self.inner.with_write(py, |s| s.delete_chunk(nchunk))
    }

    /// Appends `nitems` items of a special value (python-blosc2's `SpecialValue` code; `value`
    /// holds the item for VALUE); returns the number of chunks.
    #[pyo3(signature = (nitems, special, value = None))]
    fn fill_special(
        &self,
        py: Python<'_>,
        nitems: usize,
        special: u8,
        value: Option<Vec<u8>>,
    ) -> PyResult<usize> {
        let special = special_from(special, value)?;
        self.inner
            .with_write(py, |s| s.fill_special(nitems, special))
    }

    /// Starts a batch of writes committed once, by `end_updates`.
    fn begin_updates(&self, py: Python<'_>) -> PyResult<()> {
        self.inner.with_write(py, |s| {
            s.begin_updates();
            Ok(())
        })
    }

    /// Commits the writes since `begin_updates`.
    fn end_updates(&self, py: Python<'_>) -> PyResult<()> {
        self.inner.with_write(py, SChunk::end_updates)
    }

    /// The compressed bytes of chunk `nchunk`.
    fn get_chunk<'py>(&self, py: Python<'py>, nchunk: usize) -> PyResult<Bound<'py, PyBytes>> {
        let chunk = self.inner.with_read(py, |s| s.get_chunk(nchunk))?;
        bytes_from_slice(py, &chunk)
    }

    /// `(code, value)`: the special-value code of chunk `nchunk` (0: not special) and the
    /// repeated item of a VALUE chunk.
    fn chunk_special<'py>(
        &self,
        py: Python<'py>,
        nchunk: usize,
    ) -> PyResult<(u8, Option<Bound<'py, PyBytes>>)> {
        let special = self.inner.with_read(py, |s| s.chunk_special(nchunk))?;
        Ok(match special {
            None => (0, None),
            Some(Special::Zeros) => (SPECIAL_ZERO, None),
            Some(Special::Nan) => (SPECIAL_NAN, None),
            Some(Special::Uninit) => (SPECIAL_UNINIT, None),
            Some(Special::Value(v)) => (SPECIAL_VALUE, Some(PyBytes::new(py, &v))),
        })
    }

    /// The uncompressed size of chunk `nchunk`.
    fn chunk_nbytes(&self, py: Python<'_>, nchunk: usize) -> PyResult<usize> {
        self.inner.with_read(py, |s| s.chunk_nbytes(nchunk))
    }

    /// Chunk `nchunk`, decompressed into new bytes.
    fn decompress_chunk<'py>(
        &self,
        py: Python<'py>,
        nchunk: usize,
    ) -> PyResult<Bound<'py, PyBytes>> {
        let n = self.inner.with_read(py, |s| s.chunk_nbytes(nchunk))?;
        bytes_with(py, n, |out| {
            let s = self.inner.read()?;
            let out = write_only(out);
            if s.chunk_nbytes(nchunk)? != out.len() {
                return Err(Error::invalid_argument(
                    "the chunk changed while it was read",
                ));
            }
            s.decompress_chunk_into(nchunk, out)
        })
    }

    /// Decompresses chunk `nchunk` into a writable buffer; returns the bytes written.
    fn decompress_chunk_into(
        &self,
        py: Python<'_>,
        nchunk: usize,
        out: &Bound<'_, PyAny>,
    ) -> PyResult<usize> {
        let mut dst = PyMemoryMut::c_contiguous(
            out,
            "destination buffer is read-only",
            "buffer must be C-contiguous",
        )?;
        let out = dst.as_mut_slice();
        self.inner
            .with_read(py, |s| s.decompress_chunk_into(nchunk, out))
    }

    /// Items `start..stop` across chunks, as new bytes.
    fn get_slice<'py>(
        &self,
        py: Python<'py>,
        start: usize,
        stop: usize,
    ) -> PyResult<Bound<'py, PyBytes>> {
        if stop < start {
            return Err(PyValueError::new_err("stop must be >= start"));
        }
        let typesize = self.inner.peek(SChunk::typesize)?;
        let n = (stop - start)
            .checked_mul(typesize)
            .ok_or_else(|| PyValueError::new_err("slice too large"))?;
        bytes_with(py, n, |out| {
            let s = self.inner.read()?;
            if s.typesize() != typesize {
                return Err(Error::invalid_argument(
                    "the typesize changed while the slice was read",
                ));
            }
            s.get_slice(start, stop, write_only(out))?;
            Ok(n)
        })
    }

    /// Items `start..stop` into a writable buffer of at least their size.
    fn get_slice_into(
        &self,
        py: Python<'_>,
        start: usize,
        stop: usize,
        out: &Bound<'_, PyAny>,
    ) -> PyResult<()> {
        if stop < start {
            return Err(PyValueError::new_err("stop must be >= start"));
        }
        let mut dst = PyMemoryMut::contiguous(out)?;
        let out = dst.as_mut_slice();
        self.inner.with_read(py, |s| {
            let n = (stop - start)
                .checked_mul(s.typesize())
                .filter(|&n| n <= out.len())
                .ok_or_else(|| {
                    Error::invalid_argument("Not enough space for writing the slice in out")
                })?;
            s.get_slice(start, stop, &mut out[..n])
        })
    }

    /// Writes items from `start` (growing the super-chunk past its end).
    fn set_slice(&self, py: Python<'_>, start: usize, data: &Bound<'_, PyAny>) -> PyResult<()> {
        let src = PyMemory::contiguous(data)?;
        let data = src.as_slice();
        self.inner.with_write(py, |s| s.set_slice(start, data))
    }

    /// The names of the fixed metalayers, in order.
    fn meta_names(&self) -> PyResult<Vec<String>> {
        self.inner.peek(SChunk::meta_names)
    }

    /// The bytes of metalayer `name`, or `None`.
    fn meta_get<'py>(&self, py: Python<'py>, name: &str) -> PyResult<Option<Bound<'py, PyBytes>>> {
        self.inner
            .peek(|s| s.meta_get(name).map(|b| PyBytes::new(py, b)))
    }

    /// Adds a metalayer (only while there are no chunks).
    fn meta_add(&self, py: Python<'_>, name: &str, content: Vec<u8>) -> PyResult<()> {
        self.inner.with_write(py, |s| s.meta_add(name, &content))
    }

    /// Replaces metalayer `name` with content of the same length.
    fn meta_update(&self, py: Python<'_>, name: &str, content: Vec<u8>) -> PyResult<()> {
        self.inner.with_write(py, |s| s.meta_update(name, &content))
    }

    /// The names of the variable-length metalayers.
    fn vlmeta_names(&self) -> PyResult<Vec<String>> {
        self.inner.peek(SChunk::vlmeta_names)
    }

    /// The (decompressed) content of vlmeta `name`, or `None`.
    fn vlmeta_get<'py>(
        &self,
        py: Python<'py>,
        name: &str,
    ) -> PyResult<Option<Bound<'py, PyBytes>>> {
        let content = self.inner.with_read(py, |s| s.vlmeta_get(name))?;
        Ok(content.map(|c| PyBytes::new(py, &c)))
    }

    /// Adds or replaces vlmeta `name`.
    fn vlmeta_set(&self, py: Python<'_>, name: &str, content: Vec<u8>) -> PyResult<()> {
        self.inner.with_write(py, |s| s.vlmeta_set(name, &content))
    }

    /// Deletes vlmeta `name`; False when there was none.
    fn vlmeta_delete(&self, py: Python<'_>, name: &str) -> PyResult<bool> {
        self.inner.with_write(py, |s| s.vlmeta_delete(name))
    }

    /// The whole super-chunk as one contiguous frame.
    fn to_cframe<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyBytes>> {
        let frame = self.inner.with_read(py, SChunk::to_cframe)?;
        bytes_from_slice(py, &frame)
    }

    /// Drops the space freed by updates and deletes.
    fn compact(&self, py: Python<'_>) -> PyResult<()> {
        self.inner.with_write(py, SChunk::compact)
    }

    /// Re-reads the committed state; True when it changed.
    fn reload(&self, py: Python<'_>) -> PyResult<bool> {
        self.inner.with_write(py, SChunk::reload)
    }
}

/// Adds this area's classes to the extension module.
pub fn register(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add_class::<PySChunk>()?;
    Ok(())
}
