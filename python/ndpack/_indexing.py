"""NumPy indexing for :class:`ndpack.NDArray`: keys turned into one bounding region of the array.

A key (ints, slices with any step, ``...``, ``None``, boolean and integer arrays) is expanded
against the array's shape into a :class:`Selection`: the region to read, one
``(start, stop, step)`` per dimension, normalised as ``slice.indices`` does, and, for keys with
arrays, the key that NumPy then applies to what was read (``fancy``). Basic keys (no arrays)
need nothing more: the region's items, reshaped, are NumPy's result. Orthogonal (``oindex``) and
point (``vindex``) selections group their indices by chunk (:func:`chunk_groups`,
:func:`point_groups`) so that each read covers one chunk's part of the selection.
"""

from __future__ import annotations

import itertools
import operator
from typing import Any, Iterator, List, Optional, Sequence, Tuple

import numpy as np

Triple = Tuple[int, int, int]

_BAD_INDEX = (
    "only integers, slices (`:`), ellipsis (`...`), numpy.newaxis (`None`) and integer or boolean "
    "arrays are valid indices"
)


class Selection:
    """A key against a shape: ``region`` (one ``(start, stop, step)`` per dimension of the array),
    ``region_shape`` (its shape), ``out_shape`` (the shape of a basic key's result), ``dropped``
    (dimensions an integer removed), ``fancy`` (for keys with arrays: the key NumPy applies to the
    region's items; ``None`` for basic keys) and ``scalar`` (NumPy returns a scalar, not a 0-d
    array)."""

    __slots__ = ("region", "region_shape", "out_shape", "dropped", "fancy", "scalar")

    def __init__(self) -> None:
        self.region: List[Triple] = []
        self.region_shape: List[int] = []
        self.out_shape: List[int] = []
        self.dropped: List[bool] = []
        self.fancy: Optional[tuple] = None
        self.scalar = False

    @property
    def empty(self) -> bool:
        """Whether the region holds no item."""
        return any(n == 0 for n in self.region_shape)


def _slice_len(start: int, stop: int, step: int) -> int:
    return len(range(start, stop, step))


def _as_index_item(k: Any) -> Any:
    """One key item as an int, a slice, ``None``, ``Ellipsis`` or a NumPy array (bool or intp)."""
    if k is None or k is Ellipsis or isinstance(k, slice):
        return k
    if isinstance(k, (bool, np.bool_)):
        return np.asarray(k)
    if isinstance(k, (int, np.integer)):
        return int(k)
    if hasattr(k, "__index__") and not hasattr(k, "__array__") and not isinstance(k, (list, tuple)):
        return operator.index(k)
    if hasattr(k, "shape") and hasattr(k, "dtype") and not isinstance(k, np.ndarray):
        k = k[...] if hasattr(k, "__getitem__") else np.asarray(k)
    arr = np.asarray(k)
    if arr.dtype == np.bool_:
        return arr
    if arr.dtype.kind in "iu":
        if arr.ndim == 0:
            return int(arr)
        return arr.astype(np.intp, copy=False)
    if arr.size == 0 and arr.dtype.kind == "f" and isinstance(k, (list, tuple)):
        return arr.astype(np.intp)
    raise IndexError(_BAD_INDEX)


def expand_key(key: Any, ndim: int) -> Tuple[list, bool]:
    """The key's items with ``...`` replaced by full slices (and added at the end when absent),
    and whether it had an ``...``."""
    if not isinstance(key, tuple):
        key = (key,)
    items = [_as_index_item(k) for k in key]
    consumed = 0
    ellipses = 0
    for k in items:
        if k is Ellipsis:
            ellipses += 1
        elif k is None:
            continue
        elif isinstance(k, np.ndarray) and k.dtype == np.bool_:
            consumed += k.ndim
        else:
            consumed += 1
    if ellipses > 1:
        raise IndexError("an index can only have a single ellipsis ('...')")
    if consumed > ndim:
        raise IndexError(f"too many indices for array: array is {ndim}-dimensional, but {consumed} were indexed")
    fill = [slice(None)] * (ndim - consumed)
    if ellipses:
        at = next(i for i, k in enumerate(items) if k is Ellipsis)
        items[at : at + 1] = fill
    else:
        items.extend(fill)
    return items, bool(ellipses)


def _check_int(i: int, n: int, axis: int) -> int:
    if not -n <= i < n:
        raise IndexError(f"index {i} is out of bounds for axis {axis} with size {n}")
    return i + n if i < 0 else i


def _check_ints(idx: np.ndarray, n: int, axis: int) -> np.ndarray:
    if idx.size == 0:
        return idx
    lo, hi = int(idx.min()), int(idx.max())
    if lo < -n or hi >= n:
        bad = lo if lo < -n else hi
        raise IndexError(f"index {bad} is out of bounds for axis {axis} with size {n}")
    if lo < 0:
        idx = np.where(idx < 0, idx + n, idx)
    return idx


def select(key: Any, shape: Sequence[int]) -> Selection:
    """The :class:`Selection` of ``key`` (NumPy's indexing rules) in an array of ``shape``."""
    ndim = len(shape)
    items, had_ellipsis = expand_key(key, ndim)
    sel = Selection()
    fancy: list = []
    is_fancy = False
    only_ints = True
    d = 0
    for k in items:
        if k is None:
            sel.out_shape.append(1)
            fancy.append(None)
            continue
        if isinstance(k, int):
            i = _check_int(k, shape[d], d)
            sel.region.append((i, i + 1, 1))
            sel.region_shape.append(1)
            sel.dropped.append(True)
            fancy.append(0)
            d += 1
            continue
        only_ints = False
        if isinstance(k, slice):
            start, stop, step = k.indices(shape[d])
            n = _slice_len(start, stop, step)
            sel.region.append((start, stop, step))
            sel.region_shape.append(n)
            sel.out_shape.append(n)
            sel.dropped.append(False)
            fancy.append(slice(None))
            d += 1
            continue
        is_fancy = True
        if k.dtype == np.bool_:
            if k.ndim == 0:
                fancy.append(k)
                continue
            for j in range(k.ndim):
                if k.shape[j] != shape[d + j]:
                    raise IndexError(
                        f"boolean index did not match indexed array along axis {d + j}; size of axis is "
                        f"{shape[d + j]} but size of corresponding boolean axis is {k.shape[j]}"
                    )
            parts = k.nonzero()
        else:
            parts = (k,)
        for idx in parts:
            idx = _check_ints(idx.astype(np.intp, copy=False), shape[d], d)
            if idx.size == 0:
                sel.region.append((0, 0, 1))
                sel.region_shape.append(0)
                fancy.append(idx)
            else:
                lo, hi = int(idx.min()), int(idx.max()) + 1
                sel.region.append((lo, hi, 1))
                sel.region_shape.append(hi - lo)
                fancy.append(idx - lo if lo else idx)
            sel.dropped.append(False)
            d += 1
    if is_fancy:
        sel.fancy = tuple(fancy)
    sel.scalar = only_ints and not had_ellipsis and not is_fancy
    return sel


def broadcast_value(value: np.ndarray, shape: Sequence[int]) -> np.ndarray:
    """``value`` broadcast to ``shape`` as NumPy's assignment does (leading length-1 dimensions of
    the value may be dropped)."""
    shape = tuple(shape)
    while value.ndim > len(shape) and value.shape[0] == 1:
        value = value[0]
    try:
        return np.broadcast_to(value, shape)
    except ValueError:
        raise ValueError(
            f"could not broadcast input array from shape {value.shape} into shape {shape}"
        ) from None


# -- orthogonal and point selections ---------------------------------------------------------------


class OrthoDim:
    """One dimension of an orthogonal selection: a slice (``triple``), an integer (``triple``
    of length 1, dropped) or sorted unique indices ``unique`` with ``inverse`` (the key's indices
    as positions in ``unique``)."""

    __slots__ = ("triple", "dropped", "unique", "inverse", "length")

    def __init__(self) -> None:
        self.triple: Optional[Triple] = None
        self.dropped = False
        self.unique: Optional[np.ndarray] = None
        self.inverse: Optional[np.ndarray] = None
        self.length = 0


def ortho_dims(key: Any, shape: Sequence[int]) -> List[OrthoDim]:
    """The dimensions of an orthogonal selection (zarr's ``oindex``): each key item an int, a
    slice, or a 1-d integer or boolean array, applied to its dimension independently."""
    items, _ = expand_key(key, len(shape))
    if any(k is None for k in items):
        raise IndexError("oindex does not take None (newaxis)")
    dims = []
    for d, k in enumerate(items):
        od = OrthoDim()
        n = shape[d]
        if isinstance(k, int):
            i = _check_int(k, n, d)
            od.triple = (i, i + 1, 1)
            od.dropped = True
            od.length = 1
        elif isinstance(k, slice):
            od.triple = k.indices(n)
            od.length = _slice_len(*od.triple)
        else:
            if k.ndim != 1:
                raise IndexError(f"oindex takes 1-d arrays; got {k.ndim} dimensions for axis {d}")
            if k.dtype == np.bool_:
                if k.shape[0] != n:
                    raise IndexError(
                        f"boolean index did not match indexed array along axis {d}; size of axis is {n} but "
                        f"size of corresponding boolean axis is {k.shape[0]}"
                    )
                k = k.nonzero()[0]
            idx = _check_ints(k.astype(np.intp, copy=False), n, d)
            od.unique, od.inverse = np.unique(idx, return_inverse=True)
            od.inverse = od.inverse.reshape(-1)
            od.length = len(od.unique)
        dims.append(od)
    return dims


def chunk_groups(od: OrthoDim, chunk: int) -> List[Tuple[Triple, Any, Any]]:
    """The reads of one orthogonal dimension: ``(triple, positions, local)`` per chunk it touches
    (an array dimension), or one read (a slice or an int). ``positions`` place the read's items in
    the dimension's unique positions; ``local`` takes them from the read (``None``: all)."""
    if od.unique is None:
        return [(od.triple, slice(None), None)]
    if od.length == 0:
        return []
    ids = od.unique // max(chunk, 1)
    cuts = np.flatnonzero(np.diff(ids)) + 1
    groups = []
    for lo_pos, hi_pos in zip(np.r_[0, cuts], np.r_[cuts, od.length]):
        u = od.unique[lo_pos:hi_pos]
        lo, hi = int(u[0]), int(u[-1]) + 1
        groups.append(((lo, hi, 1), slice(int(lo_pos), int(hi_pos)), u - lo))
    return groups


def point_groups(coords: Sequence[np.ndarray], chunks: Sequence[int]) -> Iterator[Tuple[np.ndarray, list]]:
    """Points (one flat index array per dimension) grouped by the chunk holding them: for each
    chunk, the positions of its points in the input (in input order) and its bounding region."""
    npoints = coords[0].size if coords else 0
    if npoints == 0:
        return
    grid = [np.asarray(c) // max(int(k), 1) for c, k in zip(coords, chunks)]
    ids = np.zeros(npoints, dtype=np.int64)
    for g, c in zip(grid, chunks):
        ids = ids * (int(g.max()) + 1) + g
    order = np.argsort(ids, kind="stable")
    sorted_ids = ids[order]
    cuts = np.flatnonzero(np.diff(sorted_ids)) + 1
    for lo, hi in zip(np.r_[0, cuts], np.r_[cuts, npoints]):
        pos = order[lo:hi]
        region = []
        for c in coords:
            pts = c[pos]
            region.append((int(pts.min()), int(pts.max()) + 1, 1))
        yield pos, region


def strided_box(out: np.ndarray) -> Optional[Tuple[np.ndarray, List[Triple]]]:
    """``(base, key)`` when ``out`` is ``base[key]``: a writable view with steps (negative too)
    of a C-contiguous array ``base`` of the same dtype and number of dimensions, ``key`` one
    ``(start, stop, step)`` per dimension; ``None`` otherwise."""
    base = out
    while isinstance(base.base, np.ndarray):
        base = base.base
    if (base is out or not base.flags.c_contiguous or not out.flags.writeable or base.dtype != out.dtype
            or base.ndim != out.ndim or out.size == 0):
        return None
    its = out.itemsize
    offset = out.__array_interface__["data"][0] - base.__array_interface__["data"][0]
    if offset % its:
        return None
    offset //= its
    key = []
    for d in range(out.ndim):
        bstride = base.strides[d] // its
        if base.strides[d] % its or bstride <= 0 and base.shape[d] > 1:
            return None
        start = offset // bstride if bstride > 0 else 0
        offset -= start * bstride
        n = out.shape[d]
        if n == 1:
            step = 1
        else:
            if out.strides[d] % its or bstride == 0 or (out.strides[d] // its) % bstride:
                return None
            step = (out.strides[d] // its) // bstride
        if step == 0 or not 0 <= start < base.shape[d] or not 0 <= start + step * (n - 1) < base.shape[d]:
            return None
        key.append((start, start + step * n, step))
    if offset != 0:
        return None
    return base, key


def flat_view(arr: np.ndarray) -> np.ndarray:
    """The bytes of a C-contiguous array as a 1-d ``uint8`` view (0-d arrays and some dtypes,
    datetime64 among them, export no buffer of their own)."""
    return arr.reshape(-1).view(np.uint8)


class OIndex:
    """``a.oindex[key]``: zarr's orthogonal selection, read chunk group by chunk group."""

    __slots__ = ("_a",)

    def __init__(self, a: Any) -> None:
        self._a = a

    def __getitem__(self, key: Any) -> np.ndarray:
        a = self._a
        dims = ortho_dims(key, a.shape)
        if all(d.unique is None for d in dims):
            sub = a._read_region([d.triple for d in dims], [d.length for d in dims])
            return sub.reshape([d.length for d in dims if not d.dropped])
        full_shape = [d.length for d in dims]
        out = np.empty(full_shape, dtype=a.dtype)
        if out.size:
            groups = [chunk_groups(d, c) for d, c in zip(dims, a.chunks)]
            for combo in itertools.product(*groups):
                region = [g[0] for g in combo]
                shape = [len(range(*t)) for t in region]
                sub = a._read_region(region, shape)
                for ax, g in enumerate(combo):
                    if g[2] is not None:
                        sub = np.take(sub, g[2], axis=ax)
                out[tuple(g[1] for g in combo)] = sub
        for ax, d in enumerate(dims):
            if d.unique is not None and not (len(d.inverse) == d.length and np.array_equal(d.inverse, np.arange(d.length))):
                out = np.take(out, d.inverse, axis=ax)
        drop = tuple(ax for ax, d in enumerate(dims) if d.dropped)
        return out.reshape([n for ax, n in enumerate(out.shape) if ax not in drop]) if drop else out

    def __setitem__(self, key: Any, value: Any) -> None:
        a = self._a
        a._check_writable()
        dims = ortho_dims(key, a.shape)
        value = a._value(value)
        lengths = [len(d.inverse) if d.unique is not None else d.length for d in dims]
        data = broadcast_value(value, [n for n, d in zip(lengths, dims) if not d.dropped])
        if data.size == 0 or any(d.length == 0 for d in dims):
            return
        data = data.reshape([1 if d.dropped else n for n, d in zip(lengths, dims)])
        for ax, d in enumerate(dims):
            if d.unique is not None:
                # Each unique index takes the value of its last occurrence, as in NumPy.
                last = np.empty(d.length, dtype=np.intp)
                last[d.inverse] = np.arange(len(d.inverse))
                data = np.take(data, last, axis=ax)
        groups = [chunk_groups(d, c) for d, c in zip(dims, a.chunks)]
        for combo in itertools.product(*groups):
            region = [g[0] for g in combo]
            shape = [len(range(*t)) for t in region]
            part = data[tuple(g[1] for g in combo)]
            if all(g[2] is None or len(g[2]) == n for g, n in zip(combo, shape)):
                sub = np.ascontiguousarray(part)
            else:
                sub = a._read_region(region, shape)
                sub[np.ix_(*[np.arange(n) if g[2] is None else g[2] for g, n in zip(combo, shape)])] = part
            a._core.set_region(region, flat_view(sub), False)


def single_array(key: Any, shape: Sequence[int]) -> Optional[Tuple[int, tuple, np.ndarray]]:
    """``(axis, ortho_key, indices)`` when ``key`` holds slices (and ``...``) and exactly one
    integer array (any shape) or 1-d boolean array, nothing else: then NumPy's ``x[key]`` is the
    orthogonal selection with the flat indices at ``axis``, reshaped to put the indices' shape
    there. ``None`` for any other key."""
    items, _ = expand_key(key, len(shape))
    pos = [i for i, k in enumerate(items) if isinstance(k, np.ndarray)]
    if len(pos) != 1 or any(k is None or isinstance(k, int) for k in items):
        return None
    axis = pos[0]
    idx = items[axis]
    if idx.dtype == np.bool_:
        if idx.ndim != 1:
            return None
        if idx.shape[0] != shape[axis]:
            return None
        idx = idx.nonzero()[0]
    ortho = list(items)
    ortho[axis] = idx.reshape(-1)
    return axis, tuple(ortho), idx


class VIndex:
    """``a.vindex[key]``: zarr's point selection, read and written chunk by chunk."""

    __slots__ = ("_a",)

    def __init__(self, a: Any) -> None:
        self._a = a

    def _coords(self, key: Any) -> Tuple[list, Tuple[int, ...]]:
        a = self._a
        if not isinstance(key, tuple):
            key = (key,)
        items = [_as_index_item(k) for k in key]
        if len(items) == 1 and isinstance(items[0], np.ndarray) and items[0].dtype == np.bool_:
            mask = items[0]
            if mask.shape != a.shape:
                raise IndexError(f"a vindex mask must have the array's shape {a.shape}; got {mask.shape}")
            coords = list(mask.nonzero())
            return coords, (len(coords[0]) if coords else int(mask.any()),)
        if len(items) != a.ndim:
            raise IndexError(f"vindex takes one integer array per dimension ({a.ndim}); got {len(items)} items")
        arrays = []
        for ax, k in enumerate(items):
            if isinstance(k, int):
                k = np.asarray(k, dtype=np.intp)
            elif not isinstance(k, np.ndarray) or k.dtype == np.bool_:
                raise IndexError("vindex takes integer arrays (or one boolean mask of the array's shape)")
            arrays.append(k)
        try:
            arrays = np.broadcast_arrays(*arrays)
        except ValueError:
            raise IndexError(
                "shape mismatch: indexing arrays could not be broadcast together with shapes "
                + " ".join(str(x.shape) for x in arrays)
            ) from None
        shape = arrays[0].shape if arrays else ()
        coords = [_check_ints(np.asarray(x, dtype=np.intp).reshape(-1), n, ax)
                  for ax, (x, n) in enumerate(zip(arrays, a.shape))]
        return coords, shape

    def __getitem__(self, key: Any) -> np.ndarray:
        a = self._a
        coords, shape = self._coords(key)
        if a.ndim == 0:
            return np.full(shape, a[...], dtype=a.dtype)
        out = np.empty(coords[0].size, dtype=a.dtype)
        for pos, region in point_groups(coords, a.chunks):
            sub = a._read_region(region, [t[1] - t[0] for t in region])
            out[pos] = sub[tuple(c[pos] - t[0] for c, t in zip(coords, region))]
        return out.reshape(shape)

    def __setitem__(self, key: Any, value: Any) -> None:
        a = self._a
        a._check_writable()
        coords, shape = self._coords(key)
        data = broadcast_value(a._value(value), shape).reshape(-1)
        if a.ndim == 0:
            if data.size:
                a[()] = data[-1]
            return
        for pos, region in point_groups(coords, a.chunks):
            sub = a._read_region(region, [t[1] - t[0] for t in region])
            sub[tuple(c[pos] - t[0] for c, t in zip(coords, region))] = data[pos]
            a._core.set_region(region, flat_view(sub), False)
