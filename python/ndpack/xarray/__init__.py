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

:func:`to_ndpack` writes a dataset in the same layout, following ``to_zarr``: ``mode`` (``"w-"``,
``"w"``, ``"a"``, ``"a-"``, ``"r+"``), ``append_dim``, ``region`` and ``group`` (a sub-directory,
opened with ``group=``); data variables are written by one ``dask.array.store`` of all of them
into parallel sparse arrays (lock-free for whole chunks, see :mod:`ndpack.dask` and
:mod:`ndpack.xarray._write`), then one commit; ``compute=False`` returns a ``Delayed`` that
writes and commits.

xarray and Dask are imported when this module is.
"""

from __future__ import annotations

import json
import os
from typing import Any, Iterable, Optional

import numpy as np
import xarray as xr
from xarray.backends import BackendArray, BackendEntrypoint
from xarray.core import indexing

from .. import ndarray as _nd

__all__ = ["NDPackBackendArray", "NDPackBackendEntrypoint", "open_dataset", "to_ndpack", "group_path"]

_MANIFEST = "dataset.json"
_INDEX = "chunks.b2frame"


def _is_array_path(path: str) -> bool:
    return os.path.isfile(path) or os.path.isfile(os.path.join(path, _INDEX))


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


def open_dataset(path: Any, drop_variables: Optional[Iterable[str]] = None, group: Optional[str] = None) -> xr.Dataset:
    """The dataset in directory ``path`` (or the one array at ``path``), lazily, without CF
    decoding (``xr.open_dataset(path, engine="ndpack")`` adds it). ``group``: the dataset in
    sub-directory ``path/group`` (``"a/b"`` nests), as :func:`to_ndpack` writes it."""
    from ._write import group_path

    path = os.fspath(path)
    if group is not None:
        if _is_array_path(path):
            raise ValueError(f"{path} is one array; it has no group {group!r}")
        sub = group_path(path, group)
        if not os.path.isdir(sub):
            raise FileNotFoundError(f"no group {group!r} in {path}")
        path = sub
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
    open_dataset_parameters = ("filename_or_obj", "drop_variables", "mask_and_scale", "decode_times", "group")

    def open_dataset(self, filename_or_obj: Any, *, drop_variables: Any = None, mask_and_scale: bool = True,
                     decode_times: bool = True, group: Optional[str] = None) -> xr.Dataset:
        ds = open_dataset(filename_or_obj, drop_variables=drop_variables, group=group)
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


from ._write import group_path, to_ndpack  # noqa: E402
