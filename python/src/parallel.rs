//! Python bindings: writing one sparse b2nd array from many processes at once
//! (`ndpack::array::b2nd::parallel`) as `ndpack._ndpack.SparseArrayWriter` plus the functions
//! `parallel_create`, `parallel_commit`, `parallel_resize` and `parallel_pack`. The Python front is
//! `ndpack/dask.py`; this file converts and dispatches, with the GIL released around the work.

use std::path::PathBuf;

use ndpack::array::b2nd::parallel::{
    commit_parallel, create_parallel, resize_parallel, ParallelWriter,
};
use ndpack::array::b2nd::{ArrayOptions, Dtype, NDArray};
use ndpack::blosc::frame::{Mode, Storage};
use ndpack::buffer::ArrayRef;
use ndpack::region::{Order, Region, Slice};
use ndpack::Error;
use pyo3::exceptions::PyValueError;
use pyo3::prelude::*;

use crate::errors::to_py;
use crate::memory::PyMemory;
use crate::schunk::cparams_from;

/// The box `starts .. starts + shape`, checked to lie in `array_shape`.
fn region_of(starts: &[usize], shape: &[usize], array_shape: &[usize]) -> PyResult<Region> {
    if starts.len() != array_shape.len() || shape.len() != array_shape.len() {
        return Err(PyValueError::new_err(format!(
            "a region of {} dimensions (start {starts:?}, shape {shape:?}) for an array of {}",
            starts.len().max(shape.len()),
            array_shape.len()
        )));
    }
    let mut slices = Vec::with_capacity(starts.len());
    for ((&s, &n), &dim) in starts.iter().zip(shape).zip(array_shape) {
        let e = s.checked_add(n).filter(|&e| e <= dim).ok_or_else(|| {
            PyValueError::new_err(format!(
                "region start {starts:?} shape {shape:?} lies outside the array {array_shape:?}"
            ))
        })?;
        slices.push(Slice::new(s as isize, e as isize, 1).map_err(to_py)?);
    }
    Ok(Region::new(slices))
}

/// Writes regions of a sparse b2nd array without touching its index; many handles in many
/// processes write one array at once (whole chunks lock-free, partial chunks under a per-chunk
/// file lock). The index is made exact by `parallel_commit`.
#[pyclass(name = "SparseArrayWriter", module = "ndpack._ndpack", frozen)]
pub struct PySparseArrayWriter {
    inner: ParallelWriter,
}

#[pymethods]
impl PySparseArrayWriter {
    /// Opens the sparse array in directory `path` for parallel writes.
    #[new]
    fn new(py: Python<'_>, path: PathBuf) -> PyResult<Self> {
        py.detach(|| ParallelWriter::open(&path))
            .map(|inner| PySparseArrayWriter { inner })
            .map_err(to_py)
    }

    /// The array's shape.
    #[getter]
    fn shape(&self) -> Vec<usize> {
        self.inner.meta().shape().to_vec()
    }

    /// The chunk shape.
    #[getter]
    fn chunks(&self) -> Vec<usize> {
        self.inner.meta().chunks().to_vec()
    }

    /// The NumPy dtype string.
    #[getter]
    fn dtype(&self) -> String {
        self.inner.meta().dtype().as_str().to_string()
    }

    /// Whether the box `starts .. starts + shape` covers only whole chunks (edge chunks cut by
    /// the array's end count as whole): such writes take no lock.
    fn is_aligned(&self, starts: Vec<usize>, shape: Vec<usize>) -> PyResult<bool> {
        let r = region_of(&starts, &shape, self.inner.meta().shape())?;
        self.inner.is_aligned(&r).map_err(to_py)
    }

    /// Writes `data` (C-contiguous, `shape` items of the array's size) at `starts`.
    fn write(
        &self,
        py: Python<'_>,
        starts: Vec<usize>,
        shape: Vec<usize>,
        data: &Bound<'_, PyAny>,
    ) -> PyResult<()> {
        let r = region_of(&starts, &shape, self.inner.meta().shape())?;
        let src = PyMemory::c_contiguous(data, "data must be C-contiguous")?;
        let dtype = self.inner.meta().dtype().data_type();
        let bytes = src.as_slice();
        py.detach(|| {
            let a = ArrayRef::new(bytes, dtype, shape, Order::C)?;
            self.inner.set_region(&r, &a)
        })
        .map_err(to_py)
    }
}

/// Creates (replacing) the sparse array at `path` for parallel writes: every chunk zero.
#[pyfunction]
#[allow(clippy::too_many_arguments)]
#[pyo3(signature = (path, shape, dtype, chunks, blocks, codec, clevel, splitmode, filters,
    filters_meta))]
fn parallel_create(
    py: Python<'_>,
    path: PathBuf,
    shape: Vec<usize>,
    dtype: &str,
    chunks: Option<Vec<usize>>,
    blocks: Option<Vec<usize>>,
    codec: u8,
    clevel: i64,
    splitmode: i64,
    filters: Vec<i64>,
    filters_meta: Vec<i64>,
) -> PyResult<(Vec<usize>, Vec<usize>)> {
    let dtype: Dtype = dtype.parse().map_err(to_py)?;
    let cparams = cparams_from(
        codec,
        clevel,
        dtype.itemsize().max(1),
        0,
        splitmode,
        &filters,
        &filters_meta,
    )?;
    let opts = ArrayOptions {
        chunks,
        blocks,
        cparams: Some(cparams),
        ..Default::default()
    };
    let a = py
        .detach(|| create_parallel(&path, &shape, dtype, &opts))
        .map_err(to_py)?;
    Ok((a.chunks().to_vec(), a.blocks().to_vec()))
}

/// Makes the index of a sparse array written in parallel exact; returns `(nchunks, stored,
/// special, cbytes, removed)`.
#[pyfunction]
#[pyo3(signature = (path, sync=false))]
fn parallel_commit(
    py: Python<'_>,
    path: PathBuf,
    sync: bool,
) -> PyResult<(usize, usize, usize, u64, usize)> {
    let s = py.detach(|| commit_parallel(&path, sync)).map_err(to_py)?;
    Ok((s.nchunks, s.stored, s.special, s.cbytes, s.removed))
}

/// Changes the shape of the parallel sparse array at `path` (new items zero), keeping every
/// stored chunk in the file of its position so that parallel writers can write it again.
#[pyfunction]
fn parallel_resize(py: Python<'_>, path: PathBuf, shape: Vec<usize>) -> PyResult<()> {
    py.detach(|| resize_parallel(&path, &shape)).map_err(to_py)
}

/// Copies the array at `src` into a new contiguous frame file `dst` (replacing it), its
/// compressed chunks as they are, in one pass.
#[pyfunction]
fn parallel_pack(py: Python<'_>, src: PathBuf, dst: PathBuf) -> PyResult<()> {
    py.detach(|| {
        if src == dst {
            return Err(Error::invalid_argument("packing an array onto itself"));
        }
        let a = NDArray::open(&src, Mode::Read)?;
        let opts = ArrayOptions {
            storage: Storage {
                urlpath: Some(dst.clone()),
                contiguous: true,
                mode: Mode::Write,
                sync: false,
                meta: a
                    .schunk()
                    .meta_names()
                    .into_iter()
                    .filter(|n| n != "b2nd" && n != "caterva")
                    .filter_map(|n| a.schunk().meta_get(&n).map(|c| (n, c.to_vec())))
                    .collect(),
            },
            caterva: a.schunk().meta_get("caterva").is_some(),
            ..Default::default()
        };
        let mut out = a.copy(&opts)?;
        let s = out.schunk_mut();
        for name in a.schunk().vlmeta_names() {
            if let Some(v) = a.schunk().vlmeta_get(&name)? {
                s.vlmeta_set(&name, &v)?;
            }
        }
        Ok(())
    })
    .map_err(to_py)
}

/// Registers the class and functions.
pub fn register(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add_class::<PySparseArrayWriter>()?;
    m.add_function(wrap_pyfunction!(parallel_create, m)?)?;
    m.add_function(wrap_pyfunction!(parallel_commit, m)?)?;
    m.add_function(wrap_pyfunction!(parallel_resize, m)?)?;
    m.add_function(wrap_pyfunction!(parallel_pack, m)?)?;
    Ok(())
}
