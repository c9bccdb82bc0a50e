"""The ``"ndpack"`` engine of xarray and :func:`to_ndpack`.

``xr.open_dataset(path, engine="ndpack", chunks={})`` opens a dataset directory lazily: one b2nd
array per data variable (``<name>.b2nd``: a frame file or a sparse frame directory) and per
coordinate (``_coord_<name>.b2nd``), their dimensions and attributes in each array's vlmeta
(``dims``, ``var``/``coord_name``, ``units``, ``long_name``, ``attrs`` as JSON), the dataset's in
``dataset.json``. That is xarray-blosc2 1.7's layout: datasets written by either tool open in
both. Variables are lazy :class:`NDPackBackendArray` objects over :class:`ndpack.NDArray` (pickled
by path, read without a lock), with ``encoding["preferred_chunks"]`` set to the storage chunks, so
``chunks={}`` gives Dask chunks equal to them; the dataset computes on a multi-process Dask
cluster. A single ``.b2nd`` array opens as a dataset of one variable.

:func:`to_ndpack` writes a dataset in the same layout, like ``to_zarr``: coordinates first (small,
written by the client), then every data variable at once with one ``dask.array.store`` of all of
them into parallel sparse arrays (lock-free, see :mod:`ndpack.dask`), then one commit;
``compute=False`` returns a ``Delayed`` that writes and commits.

xarray and Dask are imported when this module is.
"""

from __future__ import annotations

import json
import os
import shutil
from typing import Any, Iterable, Optional

import numpy as np
import xarray as xr
from xarray.backends import BackendArray, BackendEntrypoint
from xarray.core import indexing

from .. import ndarray as _nd

__all__ = ["NDPackBackendArray", "NDPackBackendEntrypoint", "open_dataset", "to_ndpack"]

_MANIFEST = "dataset.json"
_INDEX = "chunks.b2frame"


def _is_array_path(path: str) -> bool:
    return os.path.isfile(path) or os.path.isfile(os.path.join(path, _INDEX))


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


class NDPackBackendArray(BackendArray):
    """A lazy xarray array over an :class:`ndpack.NDArray`: basic indexing decoded by ndpack with
    the GIL released, thread-safe without a lock, pickled by the array's path."""

    def __init__(self, array: Any) -> None:
        self.array = array
        self.shape = tuple(array.shape)
        self.dtype = np.dtype(array.dtype)

    def __getitem__(self, key: indexing.ExplicitIndexer) -> np.ndarray:
        return indexing.explicit_indexing_adapter(key, self.shape, indexing.IndexingSupport.BASIC, self._raw)

    def _raw(self, key: tuple) -> np.ndarray:
        return np.asarray(self.array[key])


def _vlmeta(a: Any) -> dict:
    try:
        return dict(a.vlmeta.getall())
    except Exception:
        return {}


def _first_item(a: Any) -> Any:
    """The first item of an array (a scalar coordinate, stored 0-d or as one item)."""
    if a.ndim:
        return np.asarray(a[(0,) * a.ndim])[()]
    raw = a.schunk.decompress_chunk(0)
    return np.frombuffer(raw, dtype=a.dtype, count=1)[0]


def _variable(a: Any, vm: dict, extra_attrs: dict) -> tuple:
    """``(name, is_coord, xr.Variable)`` of an array and its vlmeta."""
    dims = tuple(vm.get("dims") or [f"dim_{i}" for i in range(a.ndim)])
    is_coord = vm.get("is_coord", False) in (True, 1, "1", "true", "True")
    attrs: dict = {}
    for key in ("units", "long_name"):
        if key in vm:
            attrs[key] = vm[key]
    if isinstance(vm.get("attrs"), str):
        try:
            attrs.update(json.loads(vm["attrs"]))
        except ValueError:
            pass
    attrs.update(extra_attrs)
    if is_coord and vm.get("dtype") == "string":
        return is_coord, xr.Variable(dims, np.array(vm.get("labels", [])), attrs=attrs)
    if dims == ("_scalar",):
        return is_coord, xr.Variable((), _first_item(a), attrs=attrs)
    if len(dims) != a.ndim:
        raise ValueError(f"{a.urlpath}: vlmeta dims {list(dims)} for an array of {a.ndim} dimensions")
    data = indexing.LazilyIndexedArray(NDPackBackendArray(a))
    chunks = tuple(int(c) for c in a.chunks)
    encoding = {"preferred_chunks": dict(zip(dims, chunks)), "chunks": chunks}
    return is_coord, xr.Variable(dims, data, attrs=attrs, encoding=encoding)


def open_dataset(path: Any, drop_variables: Optional[Iterable[str]] = None) -> xr.Dataset:
    """The dataset in directory ``path`` (or the one array at ``path``), lazily, without CF
    decoding (``xr.open_dataset(path, engine="ndpack")`` adds it)."""
    path = os.fspath(path)
    drop = set(drop_variables or ())
    if _is_array_path(path):
        a = _nd.open(path)
        vm = _vlmeta(a)
        name = vm.get("var") or vm.get("coord_name") or os.path.splitext(os.path.basename(path.rstrip("/")))[0]
        _, var = _variable(a, vm, {})
        return xr.Dataset({} if name in drop else {name: var})
    if not os.path.isdir(path):
        raise FileNotFoundError(f"No such file or directory: {path!r}")
    manifest: dict = {}
    mpath = os.path.join(path, _MANIFEST)
    if os.path.isfile(mpath):
        with open(mpath, encoding="utf-8") as f:
            manifest = json.load(f)
    var_attrs = manifest.get("variable_attrs", {})
    ds_attrs = dict(manifest.get("attrs", {}))
    lineage = manifest.get("lineage")
    if lineage:
        ds_attrs["lineage"] = lineage if isinstance(lineage, str) else json.dumps(lineage)
    data_vars: dict = {}
    coords: dict = {}
    for entry in sorted(os.listdir(path)):
        if not entry.endswith(".b2nd"):
            continue
        stem = entry[: -len(".b2nd")]
        if stem.startswith("_") and not stem.startswith("_coord_"):
            continue
        a = _nd.open(os.path.join(path, entry))
        vm = _vlmeta(a)
        name = vm.get("coord_name") or vm.get("var") or (stem[len("_coord_"):] if stem.startswith("_coord_") else stem)
        if name in drop:
            continue
        is_coord, var = _variable(a, vm, var_attrs.get(name, {}))
        if is_coord or stem.startswith("_coord_"):
            coords[name] = var
        else:
            data_vars[name] = var
    return xr.Dataset(data_vars, coords=coords, attrs=ds_attrs)


class NDPackBackendEntrypoint(BackendEntrypoint):
    """xarray's ``engine="ndpack"``: ndpack and xarray-blosc2 dataset directories and single b2nd
    arrays (see the module docs)."""

    description = "ndpack: b2nd dataset directories (ndpack, xarray-blosc2 1.7 layout)"
    url = "https://github.com/ndpack/ndpack"
    open_dataset_parameters = ("filename_or_obj", "drop_variables", "mask_and_scale", "decode_times")

    def open_dataset(self, filename_or_obj: Any, *, drop_variables: Any = None, mask_and_scale: bool = True,
                     decode_times: bool = True) -> xr.Dataset:
        ds = open_dataset(filename_or_obj, drop_variables=drop_variables)
        return xr.decode_cf(ds, mask_and_scale=mask_and_scale, decode_times=decode_times)

    def guess_can_open(self, filename_or_obj: Any) -> bool:
        try:
            p = os.fspath(filename_or_obj)
        except TypeError:
            return False
        if not isinstance(p, str):
            return False
        if p.endswith(".b2nd") or _is_array_path(p) and p.endswith((".b2frame", ".b2nd")):
            return True
        return os.path.isfile(os.path.join(p, _MANIFEST))


# ---- writing ------------------------------------------------------------------------------------


def _check_target(path: str, mode: str) -> None:
    if mode not in ("w", "w-"):
        raise ValueError(f"mode must be 'w' or 'w-', got {mode!r}")
    if not os.path.exists(path):
        return
    if mode == "w-":
        raise FileExistsError(f"{path} exists (mode 'w-')")
    ours = os.path.isfile(os.path.join(path, _MANIFEST)) or any(e.endswith(".b2nd") for e in os.listdir(path))
    if not os.path.isdir(path) or not ours:
        raise ValueError(f"{path} is not a dataset directory; not replacing it")
    shutil.rmtree(path)


def _write_coord(path: str, name: str, var: xr.Variable, cparams: Any) -> None:
    vals = np.asarray(var.values)
    scalar = vals.ndim == 0
    if scalar:
        vals = np.atleast_1d(vals)
    fname = os.path.join(path, f"_coord_{name}.b2nd")
    kw = {} if cparams is None else {"cparams": cparams}
    if vals.dtype.kind in ("U", "O", "S"):
        labels = [str(v) for v in vals]
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


def _write_attrs(a: Any, attrs: dict) -> None:
    for key in ("units", "long_name"):
        if key in attrs:
            a.vlmeta[key] = _json_safe(attrs[key])
    other = {k: _json_safe(v) for k, v in attrs.items() if k not in ("units", "long_name")}
    if other:
        a.vlmeta["attrs"] = json.dumps(other)


def _commit_all(_stored: Any, paths: list) -> None:
    from ..dask import commit

    for p in paths:
        commit(p)


def to_ndpack(ds: xr.Dataset, path: Any, mode: str = "w-", compute: bool = True, encoding: Optional[dict] = None,
              cparams: Any = None, align_chunks: bool = True) -> Any:
    """Writes ``ds`` into dataset directory ``path`` (the layout of the module docs, which
    xarray-blosc2 reads too). ``mode``: ``"w-"`` refuses an existing path, ``"w"`` replaces a
    dataset directory. ``encoding``: per variable, ``{"chunks": ..., "blocks": ...}`` (default:
    the variable's first Dask block, else ndpack's default chunks). ``cparams``:
    python-blosc2's compression parameters for every array. Data variables are written by one
    lock-free ``dask.array.store`` from the workers and committed; ``compute=False`` returns a
    ``Delayed`` that does it (coordinates and metadata are written at once). Returns ``path``."""
    import dask
    import dask.array as da

    from .. import dask as nd_dask

    path = os.path.abspath(os.fspath(path))
    _check_target(path, mode)
    os.makedirs(path)
    encoding = dict(encoding or {})
    for name, coord in ds.coords.items():
        _write_coord(path, str(name), coord.variable, cparams)
    sources, targets, paths, var_attrs = [], [], [], {}
    for name, var in ds.data_vars.items():
        name = str(name)
        v = var.variable
        enc = dict(encoding.get(name, {}))
        x = v.data if isinstance(v.data, da.Array) else da.from_array(np.asarray(v.values), chunks="auto")
        if x.ndim == 0:
            x = x.reshape((1,))
        vpath = os.path.join(path, f"{name}.b2nd")
        storage, sparse, _ = nd_dask._prepare(x, vpath, enc.get("chunks"), enc.get("blocks"), cparams, False, "w")
        a = _nd.open(sparse, mode="a")
        a.vlmeta["dims"] = list(v.dims) if v.ndim else ["_scalar"]
        a.vlmeta["var"] = name
        _write_attrs(a, v.attrs)
        del a
        if align_chunks:
            new = nd_dask._aligned_chunks(x.chunks, storage)
            if new is not None:
                x = x.rechunk(new)
        sources.append(x)
        targets.append(nd_dask._Writer(sparse, tuple(int(n) for n in x.shape), np.dtype(x.dtype)))
        paths.append(sparse)
        if v.attrs:
            var_attrs[name] = {k: _json_safe(val) for k, val in v.attrs.items()}
    for name, coord in ds.coords.items():
        if coord.attrs:
            var_attrs[str(name)] = {k: _json_safe(val) for k, val in coord.attrs.items()}
    manifest = {
        "data_vars": [str(n) for n in ds.data_vars],
        "coords": [str(n) for n in ds.coords],
        "dims": {str(k): int(n) for k, n in ds.sizes.items()},
        "attrs": {str(k): _json_safe(v) for k, v in ds.attrs.items()},
        "writer": "ndpack",
    }
    if var_attrs:
        manifest["variable_attrs"] = var_attrs
    with open(os.path.join(path, _MANIFEST), "w", encoding="utf-8") as f:
        json.dump(manifest, f, indent=2, default=str)
    stored = da.store(sources, targets, lock=False, compute=False) if sources else None
    done = dask.delayed(_commit_all, pure=False)(stored, paths)
    if compute:
        done.compute()
        return path
    return done
