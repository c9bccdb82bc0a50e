//! Python bindings: b2nd arrays (`ndpack::array::b2nd::NDArray`) as the class
//! `ndpack._ndpack.NDArrayCore`. The Python front is `ndpack/ndarray.py` (python-blosc2's names,
//! NumPy indexing, pickling); this file converts regions and dispatches.
//!
//! A region crosses as one `(start, stop, step)` triple per dimension, already normalised by
//! Python (`slice.indices`). Reads go straight into a caller's writable NumPy array
//! ([`PyMemoryMut`]); writes read the caller's array in place ([`PyMemory`]).
//!
//! # Threads
//!
//! One handle is shared by Python threads. The array is [`Locked`] (a read-write lock) and has
//! a table of per-chunk locks ([`ChunkLocks`]):
//! - a read takes the read-write lock shared (many at once, each decoding in parallel on
//!   ndpack's pool) and no chunk lock;
//! - a region write locks the chunks it touches, then makes their new bytes with the array
//!   shared ([`NDArray::prepare_set_region`]: decode, patch, compress, beside reads and beside
//!   writes of other chunks), then takes the array exclusively only for the commit
//!   ([`NDArray::commit_write`]: the index update, the chunk bytes past the live data, the
//!   header write). Writes of different chunks run in parallel; writes of the same chunk run one
//!   after the other, each on the chunk the previous one committed;
//! - a change of structure (resize) takes every chunk lock and the array exclusively; metalayer
//!   changes take the array exclusively.
//!
//! Every lock is taken with the GIL released and let go before the GIL is taken again; chunk
//! locks are taken in increasing order and always before the read-write lock.

use ndpack::array::b2nd::{ArrayOptions, Dtype, NDArray, PreparedWrite};
use ndpack::blosc::frame::{DParams, Mode, OpenOptions, Special, Storage};
use ndpack::buffer::{ArrayMut, ArrayRef};
use ndpack::region::{Region, Slice};
use ndpack::{Error, Order, Result};
use numpy::{PyArrayDescr, PyArrayDescrMethods};
use pyo3::exceptions::PyValueError;
use pyo3::prelude::*;
use pyo3::types::{PyBytes, PyInt, PySlice, PySliceMethods, PyTuple};
use std::path::PathBuf;

use crate::errors::to_py;
use crate::locked::{ChunkLocks, Locked};
use crate::memory::{bytes_from_slice, empty_array, PyMemory, PyMemoryMut};
use crate::schunk::{cparams_from, cparams_tuple, urlpath_string, CParamsTuple};

/// `(codec, clevel, typesize, blocksize, splitmode, filters, filters_meta)` as Python passes them.
type CParamsArgs = (u8, i64, usize, usize, i64, Vec<i64>, Vec<i64>);

/// One chunk's `(nchunk, coords, nbytes, cbytes, cratio, special code, repeated value)`.
type ChunkInfoTuple = (usize, Vec<usize>, usize, usize, f64, u8, Option<Vec<u8>>);

/// A region from its `(start, stop, step)` triples.
fn region_from(key: &[(isize, isize, isize)]) -> PyResult<Region> {
    key.iter()
        .map(|&(start, stop, step)| Slice::new(start, stop, step))
        .collect::<Result<Region>>()
        .map_err(to_py)
}

fn order_of(fortran: bool) -> Order {
    if fortran {
        Order::F
    } else {
        Order::C
    }
}

/// How to create an array, from the keywords Python passes.
#[allow(clippy::too_many_arguments)]
fn options(
    chunks: Option<Vec<usize>>,
    blocks: Option<Vec<usize>>,
    cparams: Option<CParamsArgs>,
    dparams_nthreads: usize,
    urlpath: Option<PathBuf>,
    contiguous: bool,
    mode: &str,
    meta: Vec<(String, Vec<u8>)>,
    caterva: bool,
) -> PyResult<ArrayOptions> {
    let cparams = match cparams {
        Some((codec, clevel, typesize, blocksize, splitmode, filters, filters_meta)) => {
            Some(cparams_from(
                codec,
                clevel,
                typesize,
                blocksize,
                splitmode,
                &filters,
                &filters_meta,
            )?)
        }
        None => None,
    };
    Ok(ArrayOptions {
        chunks,
        blocks,
        cparams,
        dparams: DParams {
            nthreads: dparams_nthreads,
        },
        storage: Storage {
            urlpath,
            contiguous,
            mode: Mode::parse(mode).map_err(to_py)?,
            sync: false,
            meta,
        },
        caterva,
    })
}

/// The memory of a new NumPy array, filled with the GIL released.
struct OutPtr(*mut u8);

// SAFETY: the pointer is the memory of an array that only the thread holding `OutPtr` writes.
unsafe impl Send for OutPtr {}

/// A b2nd array, shared by Python threads (see the module doc).
#[pyclass(name = "NDArrayCore", module = "ndpack._ndpack", frozen)]
pub struct PyNDArray {
    inner: Locked<NDArray>,
    chunk_locks: ChunkLocks,
}

impl PyNDArray {
    fn wrap(a: NDArray) -> Self {
        PyNDArray {
            inner: Locked::new(a, "this array"),
            chunk_locks: ChunkLocks::new(),
        }
    }

    /// A write of `region`, with the GIL released: the chunks it touches locked, `prepare`
    /// run with the array shared, the result committed with the array exclusive.
    fn write_region(
        &self,
        py: Python<'_>,
        region: &Region,
        prepare: impl Fn(&NDArray) -> Result<PreparedWrite> + Send + Sync,
    ) -> PyResult<()> {
        py.detach(|| loop {
            let (shape, chunks) = {
                let a = self.inner.read()?;
                (a.shape().to_vec(), a.chunk_indices(region)?)
            };
            let _held = self.chunk_locks.lock(chunks);
            let prepared = {
                let a = self.inner.read()?;
                if a.shape() != shape {
                    // Resized before the locks were taken: other chunks now.
                    continue;
                }
                prepare(&a)?
            };
            return self.inner.write()?.commit_write(prepared);
        })
        .map_err(to_py)
    }
}

#[pymethods]
impl PyNDArray {
    /// A new array: `kind` "zeros" (every chunk a zero special chunk), "full" (`value`, one
    /// item's bytes) or "buffer" (`data`, the items in C order).
    #[staticmethod]
    #[allow(clippy::too_many_arguments)]
    #[pyo3(signature = (kind, shape, dtype, chunks, blocks, cparams, dparams_nthreads, urlpath,
        contiguous, mode, meta, caterva, data = None, value = None))]
    fn create(
        py: Python<'_>,
        kind: &str,
        shape: Vec<usize>,
        dtype: &str,
        chunks: Option<Vec<usize>>,
        blocks: Option<Vec<usize>>,
        cparams: Option<CParamsArgs>,
        dparams_nthreads: usize,
        urlpath: Option<PathBuf>,
        contiguous: bool,
        mode: &str,
        meta: Vec<(String, Vec<u8>)>,
        caterva: bool,
        data: Option<&Bound<'_, PyAny>>,
        value: Option<Vec<u8>>,
    ) -> PyResult<Self> {
        let dtype: Dtype = dtype.parse().map_err(to_py)?;
        let opts = options(
            chunks,
            blocks,
            cparams,
            dparams_nthreads,
            urlpath,
            contiguous,
            mode,
            meta,
            caterva,
        )?;
        let a = match (kind, data, value) {
            ("zeros", _, _) => py.detach(|| NDArray::zeros(&shape, dtype, &opts)),
            ("full", _, Some(v)) => py.detach(|| NDArray::full(&shape, dtype, &v, &opts)),
            ("buffer", Some(d), _) => {
                let src = PyMemory::c_contiguous(d, "data must be C-contiguous")?;
                let bytes = src.as_slice();
                py.detach(|| NDArray::from_buffer(bytes, &shape, dtype, &opts))
            }
            _ => return Err(PyValueError::new_err(format!("cannot create {kind:?}"))),
        };
        a.map(Self::wrap).map_err(to_py)
    }

    /// Opens the array in a frame file (at `offset`) or a sparse directory; `mmap` reads a
    /// contiguous frame opened in mode "r" through a read-only memory map.
    #[staticmethod]
    #[pyo3(signature = (urlpath, mode = "r", offset = 0, mmap = false))]
    fn open(
        py: Python<'_>,
        urlpath: PathBuf,
        mode: &str,
        offset: u64,
        mmap: bool,
    ) -> PyResult<Self> {
        let opts = OpenOptions {
            mode: Mode::parse(mode).map_err(to_py)?,
            offset,
            sync: false,
            mmap,
        };
        py.detach(|| NDArray::open_with_options(&urlpath, &opts))
            .map(Self::wrap)
            .map_err(to_py)
    }

    /// The array held in a contiguous frame; `copy=False` reads it in place.
    #[staticmethod]
    #[pyo3(signature = (cframe, copy = false))]
    fn from_cframe(py: Python<'_>, cframe: &Bound<'_, PyAny>, copy: bool) -> PyResult<Self> {
        let buffer = PyMemory::c_contiguous(cframe, "cframe must be C-contiguous")?.into_buffer();
        py.detach(|| NDArray::from_cframe(buffer, copy))
            .map(Self::wrap)
            .map_err(to_py)
    }

    /// The shape.
    #[getter]
    fn shape(&self) -> PyResult<Vec<usize>> {
        self.inner.peek(|a| a.shape().to_vec())
    }

    /// The chunk shape.
    #[getter]
    fn chunks(&self) -> PyResult<Vec<usize>> {
        self.inner.peek(|a| a.chunks().to_vec())
    }

    /// The block shape.
    #[getter]
    fn blocks(&self) -> PyResult<Vec<usize>> {
        self.inner.peek(|a| a.blocks().to_vec())
    }

    /// The shape padded to whole chunks.
    #[getter]
    fn ext_shape(&self) -> PyResult<Vec<usize>> {
        self.inner.peek(NDArray::ext_shape)
    }

    /// The chunk shape padded to whole blocks.
    #[getter]
    fn ext_chunks(&self) -> PyResult<Vec<usize>> {
        self.inner.peek(|a| a.ext_chunks().to_vec())
    }

    /// The dtype string of the metalayer (`|S<n>` for a caterva array, which names none).
    #[getter]
    fn dtype(&self) -> PyResult<String> {
        self.inner.peek(|a| a.dtype().as_str().to_string())
    }

    /// Bytes per item.
    #[getter]
    fn itemsize(&self) -> PyResult<usize> {
        self.inner.peek(NDArray::itemsize)
    }

    /// The uncompressed bytes of the items.
    #[getter]
    fn nbytes(&self) -> PyResult<usize> {
        self.inner.peek(NDArray::nbytes)
    }

    /// The compressed bytes of the chunks.
    #[getter]
    fn cbytes(&self) -> PyResult<u64> {
        self.inner.peek(NDArray::cbytes)
    }

    /// The number of chunks.
    #[getter]
    fn nchunks(&self) -> PyResult<usize> {
        self.inner.peek(|a| a.schunk().nchunks())
    }

    /// The bytes of one chunk, padded to whole blocks.
    #[getter]
    fn chunksize(&self) -> PyResult<usize> {
        self.inner.peek(|a| a.layout().chunk_bytes())
    }

    /// The bytes of one block.
    #[getter]
    fn blocksize(&self) -> PyResult<usize> {
        self.inner.peek(|a| a.layout().block_bytes())
    }

    /// The file or directory, or `None` in memory.
    #[getter]
    fn urlpath(&self) -> PyResult<Option<String>> {
        self.inner.peek(|a| urlpath_string(a.schunk()))
    }

    /// Whether the frame is one file (or buffer) rather than a directory.
    #[getter]
    fn contiguous(&self) -> PyResult<bool> {
        self.inner.peek(|a| a.schunk().contiguous())
    }

    /// `"r"`, `"a"` or `"w"`.
    #[getter]
    fn mode(&self) -> PyResult<&'static str> {
        self.inner.peek(|a| a.schunk().mode().as_str())
    }

    /// `(codec, clevel, typesize, blocksize, splitmode, filters, filters_meta)`.
    fn cparams(&self) -> PyResult<CParamsTuple> {
        self.inner.peek(|a| cparams_tuple(a.schunk().cparams()))
    }

    /// The decompression thread count.
    fn dparams_nthreads(&self) -> PyResult<usize> {
        self.inner.peek(|a| a.schunk().dparams().nthreads)
    }

    /// Reads `key` into `out`, a writable array of the region's shape (C order, or Fortran
    /// order with `fortran`) and of the array's item size.
    #[pyo3(signature = (key, out, fortran = false))]
    fn get_region(
        &self,
        py: Python<'_>,
        key: Vec<(isize, isize, isize)>,
        out: &Bound<'_, PyAny>,
        fortran: bool,
    ) -> PyResult<()> {
        let region = region_from(&key)?;
        let mut dst = PyMemoryMut::contiguous(out)?;
        let data = dst.as_mut_slice();
        self.inner.with_read(py, |a| {
            let shape = region.shape();
            let want = ndpack::region::Layout::c(&shape, a.itemsize()).num_bytes()?;
            if data.len() != want {
                return Err(Error::invalid_argument(format!(
                    "an output of {} bytes for a region of shape {shape:?} ({want} bytes)",
                    data.len()
                )));
            }
            a.get_region(
                &region,
                &mut ArrayMut {
                    data,
                    dtype: a.dtype().data_type(),
                    shape,
                    order: order_of(fortran),
                },
            )
        })
    }

    /// NumPy's `a[key]` for a basic key, `key` a tuple of ints and slices (any steps), at most one
    /// per dimension (missing ones take everything): the items read into a new C-order array of
    /// `dtype` (of the array's item size) and of the result's shape, 0-d for one int per
    /// dimension. `None` for any other key (`...`, `None`, arrays, NumPy integers, ints out of
    /// bounds): Python's indexing then handles it and raises NumPy's errors.
    fn get_basic<'py>(
        &self,
        py: Python<'py>,
        key: &Bound<'py, PyTuple>,
        dtype: &Bound<'py, PyArrayDescr>,
    ) -> PyResult<Option<Bound<'py, PyAny>>> {
        let (shape, itemsize) = self.inner.peek(|a| (a.shape().to_vec(), a.itemsize()))?;
        if key.len() > shape.len() || dtype.itemsize() != itemsize || dtype.has_object() {
            return Ok(None);
        }
        let mut slices = Vec::with_capacity(shape.len());
        let mut out_shape = Vec::with_capacity(shape.len());
        for (k, &n) in key.iter().zip(&shape) {
            let len =
                isize::try_from(n).map_err(|_| PyValueError::new_err("dimension too long"))?;
            if let Ok(s) = k.cast::<PySlice>() {
                let ind = s.indices(len)?;
                slices.push(Slice::new(ind.start, ind.stop, ind.step).map_err(to_py)?);
                out_shape.push(ind.slicelength);
            } else if k.is_exact_instance_of::<PyInt>() {
                let Ok(i) = k.extract::<isize>() else {
                    return Ok(None);
                };
                if i < -len || i >= len {
                    return Ok(None);
                }
                let i = (if i < 0 { i + len } else { i }) as usize;
                slices.push(Slice::range(i, i + 1).map_err(to_py)?);
            } else {
                return Ok(None);
            }
        }
        for &n in &shape[key.len()..] {
            slices.push(Slice::range(0, n).map_err(to_py)?);
            out_shape.push(n);
        }
        let region = Region::new(slices);
        let (arr, data) = empty_array(py, dtype, &out_shape)?;
        let nbytes = out_shape.iter().product::<usize>() * itemsize;
        if nbytes > 0 {
            let at = OutPtr(data);
            self.inner.with_read(py, |a| {
                let at = at;
                // SAFETY: `data` is the memory of `arr`, a new C-contiguous array of `nbytes`
                // bytes that nothing else references while the GIL is released.
                let data = unsafe { std::slice::from_raw_parts_mut(at.0, nbytes) };
                a.get_region(
                    &region,
                    &mut ArrayMut {
                        data,
                        dtype: a.dtype().data_type(),
                        shape: region.shape(),
                        order: Order::C,
                    },
                )
            })?;
        }
        Ok(Some(arr))
    }

    /// Reads `key` into `out_key` of `out`, a writable C-contiguous array of shape `out_shape`
    /// and of the array's item size (a strided output: NumPy's `out[out_key] = a[key]`).
    fn get_region_into(
        &self,
        py: Python<'_>,
        key: Vec<(isize, isize, isize)>,
        out: &Bound<'_, PyAny>,
        out_shape: Vec<usize>,
        out_key: Vec<(isize, isize, isize)>,
    ) -> PyResult<()> {
        let region = region_from(&key)?;
        let out_region = region_from(&out_key)?;
        let mut dst = PyMemoryMut::c_contiguous(
            out,
            "the output buffer is read-only",
            "the output buffer must be C-contiguous",
        )?;
        let data = dst.as_mut_slice();
        self.inner.with_read(py, |a| {
            let want = ndpack::region::Layout::c(&out_shape, a.itemsize()).num_bytes()?;
            if data.len() != want {
                return Err(Error::invalid_argument(format!(
                    "an output of {} bytes for shape {out_shape:?} ({want} bytes)",
                    data.len()
                )));
            }
            a.get_region_into(
                &region,
                &mut ArrayMut {
                    data,
                    dtype: a.dtype().data_type(),
                    shape: out_shape,
                    order: Order::C,
                },
                &out_region,
            )
        })
    }

    /// Writes `data` (an array of the region's shape, C order or Fortran order with `fortran`,
    /// items of the array's size) into `key`.
    #[pyo3(signature = (key, data, fortran = false))]
    fn set_region(
        &self,
        py: Python<'_>,
        key: Vec<(isize, isize, isize)>,
        data: &Bound<'_, PyAny>,
        fortran: bool,
    ) -> PyResult<()> {
        let region = region_from(&key)?;
        let src = PyMemory::contiguous(data)?;
        let bytes = src.as_slice();
        self.write_region(py, &region, |a| {
            let view = ArrayRef {
                data: bytes,
                dtype: a.dtype().data_type(),
                shape: region.shape(),
                order: order_of(fortran),
            };
            a.prepare_set_region(&region, &view)
        })
    }

    /// Writes one item's bytes `value` into every item of `key`.
    fn fill_region(
        &self,
        py: Python<'_>,
        key: Vec<(isize, isize, isize)>,
        value: Vec<u8>,
    ) -> PyResult<()> {
        let region = region_from(&key)?;
        self.write_region(py, &region, |a| a.prepare_fill_region(&region, &value))
    }

    /// Changes the shape (same number of dimensions); new items are zero.
    fn resize(&self, py: Python<'_>, shape: Vec<usize>) -> PyResult<()> {
        py.detach(|| {
            let _all = self.chunk_locks.lock_all();
            self.inner.write()?.resize(&shape)
        })
        .map_err(to_py)
    }

    /// A new array with the same items and other parameters (`None`: this array's).
    #[allow(clippy::too_many_arguments)]
    #[pyo3(signature = (chunks, blocks, cparams, dparams_nthreads, urlpath, contiguous, mode,
        meta, caterva))]
    fn copy(
        &self,
        py: Python<'_>,
        chunks: Option<Vec<usize>>,
        blocks: Option<Vec<usize>>,
        cparams: Option<CParamsArgs>,
        dparams_nthreads: usize,
        urlpath: Option<PathBuf>,
        contiguous: bool,
        mode: &str,
        meta: Vec<(String, Vec<u8>)>,
        caterva: bool,
    ) -> PyResult<Self> {
        let opts = options(
            chunks,
            blocks,
            cparams,
            dparams_nthreads,
            urlpath,
            contiguous,
            mode,
            meta,
            caterva,
        )?;
        self.inner.with_read(py, |a| a.copy(&opts)).map(Self::wrap)
    }

    /// A new array holding the items of `key` (steps allowed; chunk-aligned parts copied
    /// compressed) less the dimensions flagged in `drop`, with other parameters (`None`: this
    /// array's).
    #[allow(clippy::too_many_arguments)]
    #[pyo3(signature = (key, drop, chunks, blocks, cparams, dparams_nthreads, urlpath,
        contiguous, mode, meta, caterva))]
    fn slice(
        &self,
        py: Python<'_>,
        key: Vec<(isize, isize, isize)>,
        drop: Vec<bool>,
        chunks: Option<Vec<usize>>,
        blocks: Option<Vec<usize>>,
        cparams: Option<CParamsArgs>,
        dparams_nthreads: usize,
        urlpath: Option<PathBuf>,
        contiguous: bool,
        mode: &str,
        meta: Vec<(String, Vec<u8>)>,
        caterva: bool,
    ) -> PyResult<Self> {
        let region = region_from(&key)?;
        let opts = options(
            chunks,
            blocks,
            cparams,
            dparams_nthreads,
            urlpath,
            contiguous,
            mode,
            meta,
            caterva,
        )?;
        self.inner
            .with_read(py, |a| a.slice(&region, &drop, &opts))
            .map(Self::wrap)
    }

    /// What each chunk holds: `(nchunk, coords, nbytes, cbytes, cratio, special, value)` with
    /// python-blosc2's special-value codes (0: not special).
    fn chunks_info(&self, py: Python<'_>) -> PyResult<Vec<ChunkInfoTuple>> {
        self.inner.with_read(py, |a| {
            a.chunks_info()
                .map(|info| {
                    let info = info?;
                    let (code, value) = match info.special {
                        None => (0, None),
                        Some(Special::Zeros) => (1, None),
                        Some(Special::Nan) => (2, None),
                        Some(Special::Value(v)) => (3, Some(v)),
                        Some(Special::Uninit) => (4, None),
                    };
                    Ok((
                        info.nchunk,
                        info.coords,
                        info.nbytes,
                        info.cbytes,
                        info.cratio,
                        code,
                        value,
                    ))
                })
                .collect()
        })
    }

    /// The compressed bytes of chunk `nchunk`.
    fn get_chunk<'py>(&self, py: Python<'py>, nchunk: usize) -> PyResult<Bound<'py, PyBytes>> {
        let chunk = self.inner.with_read(py, |a| a.schunk().get_chunk(nchunk))?;
        bytes_from_slice(py, &chunk)
    }

    /// The array as one contiguous frame.
    fn to_cframe<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyBytes>> {
        let frame = self.inner.with_read(py, NDArray::to_cframe)?;
        bytes_from_slice(py, &frame)
    }

    /// The names of the fixed metalayers, in order.
    fn meta_names(&self) -> PyResult<Vec<String>> {
        self.inner.peek(|a| a.schunk().meta_names())
    }

    /// The bytes of metalayer `name`, or `None`.
    fn meta_get<'py>(&self, py: Python<'py>, name: &str) -> PyResult<Option<Bound<'py, PyBytes>>> {
        self.inner
            .peek(|a| a.schunk().meta_get(name).map(|b| PyBytes::new(py, b)))
    }

    /// Replaces metalayer `name` (not the array's own) with content of the same length.
    fn meta_update(&self, py: Python<'_>, name: &str, content: Vec<u8>) -> PyResult<()> {
        if name == ndpack::array::b2nd::B2ND_META || name == ndpack::array::b2nd::CATERVA_META {
            return Err(PyValueError::new_err(format!(
                "the metalayer {name:?} is the array's own"
            )));
        }
        self.inner
            .with_write(py, |a| a.schunk_mut().meta_update(name, &content))
    }

    /// The names of the variable-length metalayers.
    fn vlmeta_names(&self) -> PyResult<Vec<String>> {
        self.inner.peek(|a| a.schunk().vlmeta_names())
    }

    /// The (decompressed) content of vlmeta `name`, or `None`.
    fn vlmeta_get<'py>(
        &self,
        py: Python<'py>,
        name: &str,
    ) -> PyResult<Option<Bound<'py, PyBytes>>> {
        let content = self.inner.with_read(py, |a| a.schunk().vlmeta_get(name))?;
        Ok(content.map(|c| PyBytes::new(py, &c)))
    }

    /// Adds or replaces vlmeta `name`.
    fn vlmeta_set(&self, py: Python<'_>, name: &str, content: Vec<u8>) -> PyResult<()> {
        self.inner
            .with_write(py, |a| a.schunk_mut().vlmeta_set(name, &content))
    }

    /// Deletes vlmeta `name`; False when there was none.
    fn vlmeta_delete(&self, py: Python<'_>, name: &str) -> PyResult<bool> {
        self.inner
            .with_write(py, |a| a.schunk_mut().vlmeta_delete(name))
    }
}

/// Adds this area's classes to the extension module.
pub fn register(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add_class::<PyNDArray>()?;
    Ok(())
}
