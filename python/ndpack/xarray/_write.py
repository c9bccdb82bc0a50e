"""Writing datasets: :func:`to_ndpack`, xarray's ``to_zarr`` for ndpack dataset directories.

The modes, ``append_dim``, ``region`` and ``group`` follow ``to_zarr``:

- ``mode``: ``"w-"`` creates and refuses an existing dataset; ``"w"`` replaces it; ``"a"``
  overwrites the variables that exist (same dimensions and sizes) and adds the others;
  ``"a-"``, with ``append_dim``, also leaves the existing variables without ``append_dim``
  alone; ``"r+"`` only writes values into existing variables (no new variable, no size or
  metadata change). The default is ``"w-"``, ``"a"`` with ``append_dim``, ``"r+"`` with
  ``region``.
- ``append_dim``: every existing variable with that dimension (coordinates too) grows along it
  by the dataset's size there, and the new part is written; the other dimensions must have the
  stored sizes and the dtypes must cast safely to the stored ones.
- ``region``: ``{dim: slice}`` or ``"auto"`` (per dimension or for all), found from the stored
  coordinate values: the dataset's values are written into that part of existing variables.
  As in ``to_zarr``, index coordinates are dropped first, and every other variable must have one
  of the region's dimensions.
- ``group``: the dataset is the sub-directory ``path/group`` (``"a/b"`` nests), opened by
  ``xr.open_dataset(path, engine="ndpack", group=group)``.

Data variables are sparse b2nd arrays written by one ``dask.array.store`` from the workers,
without a lock where a Dask block covers whole storage chunks (``align_chunks=True`` rechunks
the Dask arrays so that only the chunks at a region's two ends are covered in part); a chunk
covered in part is read, patched and rewritten under that chunk's file lock, so blocks of
different processes that share a chunk are serialised and keep each other's items (ndpack does
not refuse such writes, unlike ``to_zarr(safe_chunks=True)``). Then one commit per array makes
its index exact. Coordinates are written by the client; a variable stored in a frame file (as
xarray-blosc2 writes them) is written whole by one task. The Dask graph of one call writes
each array from many processes at once; separate calls that write one array must not run at
the same time (each ends with a commit of the arrays it wrote).

Growing and shrinking is done by the client before the writes, as ``to_zarr`` does:
``compute=False`` returns a ``Delayed`` that writes the values and commits, the arrays already
having their new shapes.
"""

from __future__ import annotations

import json
import os
import shutil
from typing import Any, Dict, Hashable, Mapping, Optional, Tuple, Union

import numpy as np
import xarray as xr

from .. import _ndpack as _ext
from .. import ndarray as _nd

__all__ = ["to_ndpack", "group_path"]

_MANIFEST = "dataset.json"
_INDEX = "chunks.b2frame"
_MODES = ("w", "w-", "a", "a-", "r+")


def _json_safe(v: Any) -> Any:
    if isinstance(v, np.generic):
        return v.item()
    if isinstance(v, np.ndarray):
        return v.tolist()
    if isinstance(v, (list, tuple)):
        return [_json_safe(x) for x in v]
    if isinstance(v, dict):
        return {str(k): _json_safe(x) for k, x in v.items()}
    return v


def group_path(path: str, group: Optional[str]) -> str:
    """The directory of ``group`` (``"a/b"``: nested) in dataset directory ``path``."""
    if group is None:
        return path
    if not isinstance(group, str):
        raise TypeError(f"group must be a string, got {type(group).__name__}")
    parts = [p for p in group.strip("/").split("/") if p]
    if not parts:
        return path
    for p in parts:
        if p in (".", "..") or p.endswith(".b2nd") or p.startswith("_") or os.sep in p:
            raise ValueError(f"invalid group name {group!r} (part {p!r})")
    return os.path.join(path, *parts)


def _choose_mode(mode: Optional[str], append_dim: Any, region: Any) -> str:
    """``to_zarr``'s default mode and checks."""
    if mode is None:
        mode = "a" if append_dim is not None else "r+" if region is not None else "w-"
    if mode not in _MODES:
        raise ValueError(f"The only supported options for mode are 'w', 'w-', 'a', 'a-' and 'r+', but mode={mode!r}")
    if append_dim is not None and mode not in ("a", "a-"):
        raise ValueError("cannot set append_dim unless mode='a', mode='a-' or mode=None")
    if region is not None and mode not in ("a", "a-", "r+"):
        raise ValueError("cannot set region unless mode='a', mode='a-', mode='r+' or mode=None")
    return mode


# ---- the stored dataset -------------------------------------------------------------------------


class _Stored:
    """One stored variable: its array file or directory, vlmeta, dims and shape as xarray sees
    them (a scalar stored as one item has no dims)."""

    def __init__(self, path: str, vm: dict, array: Any) -> None:
        self.path = path
        self.vm = vm
        dims = tuple(vm.get("dims") or [f"dim_{i}" for i in range(array.ndim)])
        self.scalar = dims == ("_scalar",)
        self.strings = vm.get("dtype") == "string"
        self.dims = () if self.scalar else dims
        self.shape = () if self.scalar else tuple(int(n) for n in array.shape)
        if self.strings:
            self.dtype = np.array(vm.get("labels", [])).dtype
        else:
            self.dtype = np.dtype(array.dtype)
        self.is_coord = vm.get("is_coord", False) in (True, 1, "1", "true", "True")
        self.sizes = dict(zip(self.dims, self.shape))
        self.parallel = False
        if os.path.isdir(path) and not self.strings and not self.scalar:
            try:
                _ext.SparseArrayWriter(path)
                self.parallel = True
            except Exception:
                self.parallel = False


def _scan(gpath: str) -> Dict[str, _Stored]:
    """The variables stored in dataset directory ``gpath`` by name."""
    from . import _vlmeta

    out: Dict[str, _Stored] = {}
    if not os.path.isdir(gpath):
        return out
    for entry in sorted(os.listdir(gpath)):
        if not entry.endswith(".b2nd"):
            continue
        stem = entry[: -len(".b2nd")]
        if stem.startswith("_") and not stem.startswith("_coord_"):
            continue
        p = os.path.join(gpath, entry)
        a = _nd.open(p)
        vm = _vlmeta(a)
        name = vm.get("coord_name") or vm.get("var") or (stem[len("_coord_"):] if stem.startswith("_coord_") else stem)
        s = _Stored(p, vm, a)
        if stem.startswith("_coord_"):
            s.is_coord = True
        out[name] = s
    return out


def _stored_sizes(stored: Dict[str, _Stored]) -> Dict[Hashable, int]:
    sizes: Dict[Hashable, int] = {}
    for s in stored.values():
        sizes.update(s.sizes)
    return sizes


def _is_dataset_dir(p: str, depth: int = 0) -> bool:
    """Whether ``p`` holds a dataset, or groups of datasets."""
    entries = os.listdir(p)
    if _MANIFEST in entries or any(e.endswith(".b2nd") for e in entries):
        return True
    return depth < 8 and any(os.path.isdir(os.path.join(p, e)) and _is_dataset_dir(os.path.join(p, e), depth + 1)
                             for e in entries)


def _check_dir(gpath: str, mode: str) -> None:
    """Refuses a dataset directory that ``mode`` cannot write (nothing is changed)."""
    exists = os.path.exists(gpath)
    if exists and not os.path.isdir(gpath):
        raise ValueError(f"{gpath} is not a dataset directory")
    if mode == "w-" and exists and os.listdir(gpath):
        raise FileExistsError(f"{gpath} exists (mode 'w-')")
    if mode == "w" and exists and os.listdir(gpath) and not _is_dataset_dir(gpath):
        raise ValueError(f"{gpath} is not a dataset directory; not replacing it")
    if mode == "r+" and (not exists or not _is_dataset_dir(gpath)):
        raise FileNotFoundError(f"no dataset directory at {gpath} (mode 'r+' writes into an existing one)")


def _make_dir(gpath: str, mode: str) -> None:
    """Creates the dataset directory (``"w"``: empties it first)."""
    if mode == "w" and os.path.isdir(gpath) and os.listdir(gpath):
        shutil.rmtree(gpath)
    os.makedirs(gpath, exist_ok=True)


# ---- regions ------------------------------------------------------------------------------------


def _auto_region(ds: xr.Dataset, region: dict, gpath: str) -> dict:
    """Replaces ``"auto"`` in ``region`` by the slice where the dataset's coordinate values sit
    among the stored ones (``to_zarr``'s rule)."""
    import pandas as pd

    from . import NDPackBackendEntrypoint

    stored = None
    for dim, val in list(region.items()):
        if not (isinstance(val, str) and val == "auto"):
            continue
        if dim not in ds._variables:
            region[dim] = slice(0, ds.sizes[dim])
            continue
        if stored is None:
            stored = NDPackBackendEntrypoint().open_dataset(gpath)
        if dim not in stored.variables:
            raise KeyError(f"region={{{dim!r}: 'auto'}}: the store has no coordinate {dim!r} to find the region in")
        index = pd.Index(np.asarray(stored[dim].values))
        idxs = index.get_indexer(np.asarray(ds[dim].values))
        if (idxs == -1).any():
            raise KeyError(
                f"Not all values of coordinate '{dim}' in the new array were found in the original store. "
                "Writing to a region requires that no dimensions or metadata are changed by the write."
            )
        if len(idxs) > 1 and (np.diff(idxs) != 1).any():
            raise ValueError(
                f"The auto-detected region of coordinate '{dim}' for writing new data to the original store had "
                "non-contiguous indices. Writing to a region requires that the new data constitute a contiguous "
                "subset of the original store."
            )
        region[dim] = slice(int(idxs[0]), int(idxs[-1]) + 1) if len(idxs) else slice(0, 0)
    return region


def _validate_region(ds: xr.Dataset, region: Any, mode: str, append_dim: Any, gpath: str) -> Tuple[xr.Dataset, dict]:
    """``to_zarr``'s checks of ``region``, ``"auto"`` resolved; index coordinates dropped."""
    if isinstance(region, str) and region == "auto":
        region = dict.fromkeys(ds.dims, "auto")
    if not isinstance(region, dict):
        raise TypeError(f"``region`` must be a dict, got {type(region)}")
    region = dict(region)
    if any(isinstance(v, str) and v == "auto" for v in region.values()):
        if mode not in ("r+", "a"):
            raise ValueError(f"``mode`` must be 'r+' or 'a' when using ``region='auto'``, got {mode!r}")
        region = _auto_region(ds, region, gpath)
    for k, v in region.items():
        if k not in ds.dims:
            raise ValueError(
                f"all keys in ``region`` are not in Dataset dimensions, got {list(region)} and {list(ds.dims)}"
            )
        if not isinstance(v, slice):
            raise TypeError(f"all values in ``region`` must be slice objects, got region={region}")
        if v.step not in (1, None):
            raise ValueError(f"step on all slices in ``region`` must be 1 or None, got region={region}")
    non_matching = [k for k, v in ds.variables.items() if not set(region).intersection(v.dims)]
    if region and non_matching:
        raise ValueError(
            "when setting `region` explicitly in to_ndpack(), all variables in the dataset to write must have "
            f"at least one dimension in common with the region's dimensions {list(region)}, but that is not the "
            "case for some variables here. To drop these variables from this dataset before writing, write: "
            f".drop_vars({non_matching!r})"
        )
    if append_dim is not None and append_dim in region:
        raise ValueError(
            "cannot list the same dimension in both ``append_dim`` and ``region`` with to_ndpack(), "
            f"got {append_dim} in both"
        )
    return ds.drop_vars(list(ds.indexes)), region


# ---- checks against stored variables ------------------------------------------------------------


def _check_dtype(name: str, stored: _Stored, var: xr.Variable) -> None:
    new, old = np.dtype(var.dtype), stored.dtype
    if stored.strings:
        if new.kind not in ("U", "S", "O"):
            raise ValueError(
                f"Mismatched dtypes for variable {name} between the ndpack store on disk and the dataset to "
                f"write. Store has strings but the dataset has dtype {new}."
            )
        return
    if new == old:
        return
    if new.kind in ("U", "S", "O") or not np.can_cast(new, old, casting="safe"):
        raise ValueError(
            f"Mismatched dtypes for variable {name} between the ndpack store on disk and the dataset to write. "
            f"Store has dtype {old} but the dataset to write has dtype {new}, which does not cast safely to it."
        )


def _check_dims(name: str, stored: _Stored, var: xr.Variable, region: dict, append_dim: Any) -> xr.Variable:
    """``var`` in the stored order of dims, its sizes checked (``to_zarr``'s rule)."""
    if var.dims != stored.dims:
        if set(var.dims) == set(stored.dims):
            var = var.transpose(*stored.dims)
        else:
            raise ValueError(
                f"variable {name!r} already exists with different dimension names {stored.dims} != {var.dims}, "
                "but changing variable dimensions is not supported by to_ndpack()."
            )
    existing = {}
    for dim, size in stored.sizes.items():
        if dim in region:
            start, stop, _ = region[dim].indices(size)
            size = max(stop - start, 0)
        if dim != append_dim:
            existing[dim] = size
    new = {dim: size for dim, size in var.sizes.items() if dim != append_dim}
    if existing != new:
        raise ValueError(
            f"variable {name!r} already exists with different dimension sizes: {existing} != {new}. "
            "to_ndpack() only supports changing dimension sizes when explicitly appending, but "
            f"append_dim={append_dim!r}. If you are attempting to write to a subset of the existing store "
            "without changing dimension sizes, consider using the region argument in to_ndpack()."
        )
    return var


# ---- writers ------------------------------------------------------------------------------------


def _write_attrs(a: Any, attrs: dict) -> None:
    for key in ("units", "long_name"):
        if key in attrs:
            a.vlmeta[key] = _json_safe(attrs[key])
    other = {k: _json_safe(v) for k, v in attrs.items() if k not in ("units", "long_name")}
    if other:
        a.vlmeta["attrs"] = json.dumps(other)


def _new_coord(gpath: str, name: str, var: xr.Variable, cparams: Any) -> None:
    """Writes a coordinate (by the client) as xarray-blosc2 does: strings as labels in vlmeta."""
    vals = np.asarray(var.values)
    scalar = vals.ndim == 0
    if scalar:
        vals = np.atleast_1d(vals)
    fname = os.path.join(gpath, f"_coord_{name}.b2nd")
    kw = {} if cparams is None else {"cparams": cparams}
    if vals.dtype.kind in ("U", "O", "S"):
        labels = [str(v) for v in vals.ravel()]
        a = _nd.asarray(np.arange(len(labels), dtype=np.int32), urlpath=fname, mode="w", **kw)
        a.vlmeta["dims"] = list(var.dims)
        a.vlmeta["is_coord"] = True
        a.vlmeta["coord_name"] = name
        a.vlmeta["dtype"] = "string"
        a.vlmeta["labels"] = labels
        return
    a = _nd.asarray(vals, urlpath=fname, mode="w", **kw)
    a.vlmeta["dims"] = ["_scalar"] if scalar else list(var.dims)
    a.vlmeta["is_coord"] = True
    a.vlmeta["coord_name"] = name
    _write_attrs(a, var.attrs)


def _key(region: Tuple[slice, ...], shape: Tuple[int, ...]) -> Tuple[slice, ...]:
    return tuple(slice(*r.indices(n)[:2]) for r, n in zip(region, shape))


def _write_strings(path: str, region: Tuple[slice, ...], new_len: int, values: Any) -> None:
    """Writes string labels into ``region`` of a string coordinate (labels in vlmeta, the array
    their positions), growing it to ``new_len`` items first."""
    a = _nd.open(path, mode="a")
    labels = list(a.vlmeta["labels"])
    labels += [""] * (new_len - len(labels))
    s, e = region[0].indices(new_len)[:2] if region else (0, new_len)
    labels[s:e] = [str(v) for v in np.asarray(values).ravel()]
    if a.shape[0] != new_len:
        a.resize((new_len,))
        a[...] = np.arange(new_len, dtype=a.dtype)
    a.vlmeta["labels"] = labels


def _write_whole(path: str, region: Tuple[slice, ...], values: Any, scalar: bool = False) -> None:
    """Writes ``values`` into ``region`` of the array at ``path`` in one process (a frame file,
    or a sparse array that parallel writers cannot write)."""
    a = _nd.open(path, mode="a")
    v = np.asarray(values)
    if scalar:
        a[0:1] = v.reshape((1,)).astype(a.dtype)
        return
    key = _key(region, tuple(a.shape))
    if all(k.stop > k.start for k in key):
        a[key] = v.astype(a.dtype, copy=False)


def _resize(stored: _Stored, new_shape: Tuple[int, ...]) -> None:
    if stored.parallel:
        _ext.parallel_resize(stored.path, [int(n) for n in new_shape])
    else:
        a = _nd.open(stored.path, mode="a")
        a.resize(tuple(new_shape))


def _region_chunks(chunks: Tuple[Tuple[int, ...], ...], storage: Tuple[int, ...],
                   starts: Tuple[int, ...]) -> Optional[tuple]:
    """Dask chunks whose inner boundaries fall on storage chunk boundaries of a block written at
    ``starts``, near ``chunks``; ``None`` when ``chunks`` already have them."""
    out, changed = [], False
    for dims, c, s in zip(chunks, storage, starts):
        bounds = np.cumsum(dims)[:-1] + s
        if all(b % c == 0 for b in bounds):
            out.append(dims)
            continue
        changed = True
        n = int(sum(dims))
        step = max(1, round(dims[0] / c)) * c if dims else c
        cuts = [b - s for b in range((s // step + 1) * step, s + n, step)]
        edges = [0] + cuts + [n]
        out.append(tuple(int(b - a) for a, b in zip(edges[:-1], edges[1:]) if b > a) or (n,))
    return tuple(out) if changed else None


class _Plan:
    """What one call writes: parallel stores, single-process writes, arrays to commit."""

    def __init__(self) -> None:
        self.sources: list = []
        self.targets: list = []
        self.regions: list = []
        self.commits: list = []
        self.whole: list = []

    def parallel(self, x: Any, path: str, shape: Tuple[int, ...], region: Tuple[slice, ...],
                 storage: Tuple[int, ...], align: bool) -> None:
        from .. import dask as nd_dask

        if 0 in x.shape:
            return
        key = _key(region, shape)
        if align:
            new = _region_chunks(x.chunks, storage, tuple(k.start for k in key))
            if new is not None:
                x = x.rechunk(new)
        self.sources.append(x)
        self.targets.append(nd_dask._Writer(path, tuple(shape), np.dtype(x.dtype)))
        self.regions.append(key)
        if path not in self.commits:
            self.commits.append(path)


def _as_dask(v: xr.Variable, dtype: Any) -> Any:
    import dask.array as da

    x = v.data if isinstance(v.data, da.Array) else da.from_array(np.asarray(v.values), chunks="auto")
    if np.dtype(x.dtype) != np.dtype(dtype):
        x = x.astype(dtype)
    return x


def _commit_all(_done: Any, paths: list) -> None:
    from ..dask import commit

    for p in paths:
        commit(p)


def _run_whole(path: str, region: Tuple[slice, ...], values: Any, scalar: bool) -> None:
    _write_whole(path, region, values, scalar)


def to_ndpack(ds: xr.Dataset, path: Any, mode: Optional[str] = None, group: Optional[str] = None,
              encoding: Optional[Mapping] = None, *, compute: bool = True, append_dim: Optional[Hashable] = None,
              region: Union[Mapping[str, Any], str, None] = None, cparams: Any = None,
              align_chunks: bool = True) -> Any:
    """Writes ``ds`` into dataset directory ``path`` like ``to_zarr`` (see the module docs for
    ``mode``, ``append_dim``, ``region`` and ``group``), in the layout xarray-blosc2 reads too.

    ``encoding``: per new variable, ``{"chunks": ..., "blocks": ...}`` (default: the variable's
    first Dask block, else ndpack's default chunks); an error for variables that exist.
    ``cparams``: python-blosc2's compression parameters for every new array. ``align_chunks``:
    rechunk the Dask arrays so that their blocks cover whole storage chunks. ``compute=False``
    returns a ``Delayed`` that writes the data variables and commits (coordinates, metadata and
    new shapes are written at once). Returns ``path``."""
    import dask

    from .. import dask as nd_dask

    root = os.path.abspath(os.fspath(path))
    mode = _choose_mode(mode, append_dim, region)
    gpath = group_path(root, group)
    for name in ds.variables:
        if not isinstance(name, str) or not name or "/" in name or name.startswith("_") or name.endswith(".b2nd"):
            raise ValueError(f"invalid variable name {name!r} for an ndpack dataset")
    _check_dir(gpath, mode)
    encoding = dict(encoding or {})
    stored = {} if mode == "w" else _scan(gpath)
    if mode in ("a", "a-", "r+"):
        for name in encoding:
            if name in stored:
                raise ValueError(f"variable {name!r} already exists, but encoding was provided")
    if append_dim is not None and append_dim not in _stored_sizes(stored):
        raise ValueError(
            f"append_dim={append_dim!r} does not match any existing dataset dimensions {_stored_sizes(stored)}"
        )
    write_region: dict = {}
    if region is not None:
        ds, write_region = _validate_region(ds, region, mode, append_dim, gpath)
    if mode == "r+":
        new_names = [str(k) for k in ds.variables if k not in stored]
        if new_names:
            raise ValueError(
                f"dataset contains non-pre-existing variables {new_names!r}, which is not allowed in "
                "to_ndpack() with mode='r+'. To allow writing new variables, set mode='a'."
            )
    if write_region:
        missing = [str(k) for k in ds.variables if k not in stored]
        if missing:
            raise ValueError(f"region writes need existing variables; {missing!r} are not in {gpath}")

    # Checks of every existing variable first: a refused write changes nothing.
    checked: Dict[str, xr.Variable] = {}
    for name, var in ds.variables.items():
        s = stored.get(name)
        if s is None:
            continue
        _check_dtype(name, s, var)
        checked[name] = _check_dims(name, s, var, write_region, append_dim)
    sizes = _stored_sizes(stored)
    after = dict(sizes)
    if append_dim is not None and append_dim in ds.dims:
        after[append_dim] = sizes[append_dim] + ds.sizes[append_dim]
    for name, var in ds.variables.items():
        if name in stored:
            continue
        if append_dim is not None and append_dim in var.dims:
            raise ValueError(
                f"variable {name!r} is new but has the append dimension {append_dim!r}: its size there "
                f"({var.sizes[append_dim]}) would not be the dataset's ({after[append_dim]}); write it "
                "without append_dim first"
            )
        for dim, n in var.sizes.items():
            if dim in after and after[dim] != n:
                raise ValueError(
                    f"variable {name!r} has size {n} along {dim!r}, but the stored dataset has {after[dim]}"
                )

    _make_dir(gpath, mode)
    plan = _Plan()
    var_attrs: dict = {}
    for name, var in ds.variables.items():
        name = str(name)
        v = var
        is_coord = name in ds.coords
        s = stored.get(name)
        if s is None:
            if is_coord:
                _new_coord(gpath, name, v, cparams)
            else:
                enc = dict(encoding.get(name, {}))
                x = _as_dask(v, v.dtype)
                if x.ndim == 0:
                    x = x.reshape((1,))
                vpath = os.path.join(gpath, f"{name}.b2nd")
                storage, sparse, _ = nd_dask._prepare(x, vpath, enc.get("chunks"), enc.get("blocks"), cparams,
                                                      False, "w")
                a = _nd.open(sparse, mode="a")
                a.vlmeta["dims"] = list(v.dims) if v.ndim else ["_scalar"]
                a.vlmeta["var"] = name
                _write_attrs(a, v.attrs)
                del a
                shape = tuple(int(n) for n in x.shape)
                plan.parallel(x, sparse, shape, tuple(slice(None) for _ in shape), storage, align_chunks)
            if v.attrs:
                var_attrs[name] = {k: _json_safe(val) for k, val in v.attrs.items()}
            continue
        v = checked[name]
        appending = append_dim is not None and append_dim in v.dims
        if mode == "a-" and append_dim is not None and not appending:
            continue
        shape = s.shape
        reg = tuple(write_region.get(d, slice(None)) for d in s.dims)
        if appending:
            axis = s.dims.index(append_dim)
            shape = shape[:axis] + (shape[axis] + v.shape[axis],) + shape[axis + 1:]
            reg = reg[:axis] + (slice(s.shape[axis], shape[axis]),) + reg[axis + 1:]
            if not s.strings:
                _resize(s, shape)
        if s.strings:
            _write_strings(s.path, reg, shape[0] if shape else 0, v.values)
        elif s.parallel:
            storage = tuple(int(n) for n in _ext.SparseArrayWriter(s.path).chunks)
            plan.parallel(_as_dask(v, s.dtype), s.path, shape, reg, storage, align_chunks)
        elif is_coord:
            _write_whole(s.path, reg, v.values, s.scalar)
        else:
            plan.whole.append(dask.delayed(_run_whole, pure=False)(s.path, reg, _as_dask(v, s.dtype), s.scalar))

    if mode != "r+":
        _write_manifest(gpath, ds, stored, after, var_attrs, replace=mode in ("w", "w-") or not stored)
    stored_done = None
    if plan.sources:
        import dask.array as da

        stored_done = da.store(plan.sources, plan.targets, regions=plan.regions, lock=False, compute=False)
    done = dask.delayed(_commit_all, pure=False)([stored_done, plan.whole], plan.commits)
    if compute:
        done.compute()
        return root
    return done


def _write_manifest(gpath: str, ds: xr.Dataset, stored: Dict[str, _Stored], sizes: dict, var_attrs: dict,
                    replace: bool) -> None:
    """Writes (or, appending, updates) ``dataset.json``: variable lists, dims, attrs."""
    mpath = os.path.join(gpath, _MANIFEST)
    old: dict = {}
    if not replace and os.path.isfile(mpath):
        with open(mpath, encoding="utf-8") as f:
            old = json.load(f)
    data_vars = list(old.get("data_vars", [n for n, s in stored.items() if not s.is_coord]))
    coords = list(old.get("coords", [n for n, s in stored.items() if s.is_coord]))
    for n in ds.data_vars:
        if str(n) not in data_vars:
            data_vars.append(str(n))
    for n in ds.coords:
        if str(n) not in coords and str(n) not in data_vars:
            coords.append(str(n))
    dims = {str(k): int(n) for k, n in sizes.items()}
    dims.update({str(k): int(n) for k, n in ds.sizes.items() if str(k) not in dims})
    merged_attrs = dict(old.get("variable_attrs", {}))
    merged_attrs.update(var_attrs)
    manifest = dict(old)
    manifest.update({
        "data_vars": data_vars,
        "coords": coords,
        "dims": dims,
        "attrs": {str(k): _json_safe(v) for k, v in ds.attrs.items()},
        "writer": "ndpack",
    })
    if merged_attrs:
        manifest["variable_attrs"] = merged_attrs
    tmp = mpath + ".tmp"
    with open(tmp, "w", encoding="utf-8") as f:
        json.dump(manifest, f, indent=2, default=str)
    os.replace(tmp, mpath)
