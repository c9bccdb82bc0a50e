"""Chunked, blocked, compressed N-d arrays with python-blosc2's names: :class:`NDArray` and its
constructors. Re-exported by :mod:`ndpack.blosc2` and at the top level::

    import ndpack
    a = ndpack.asarray(np.arange(1_000_000, dtype="f4").reshape(1000, 1000),
                       chunks=(250, 250), blocks=(50, 50), urlpath="a.b2nd", mode="w")
    a[10:20, ::-3]                    # a NumPy array; only the blocks touched are decoded
    a[a.shape[0] - 1] = 0             # writes special (constant) chunks where it can
    b = ndpack.open("a.b2nd")         # NDArray (SChunk for frames without an array metalayer)

An array is a Blosc2 super-chunk whose chunks are the array's chunks (C order over the chunk grid),
each cut into blocks, with the shapes and the NumPy dtype in the ``b2nd`` metalayer (and, with
``caterva=True``, the ``caterva`` one): python-blosc2 4.x and caterva 0.7.3 read the files and
ndpack reads theirs. Indexing follows NumPy (ints, slices with any step, ``...``, ``None``,
boolean and integer arrays, broadcasting on write) plus zarr's ``oindex`` and ``vindex``. Reads run
without the GIL, many threads at once; file-backed arrays pickle as their path and reopen lazily.
"""

from __future__ import annotations

import ast
import dataclasses
import os
import shutil
import threading
from collections import namedtuple
from typing import Any, Iterator, Optional, Sequence, Tuple

import numpy as np

from . import _indexing, _msgpack
from . import _ndpack as _ext
from .schunk import (
    DParams,
    SChunk,
    SpecialValue,
    _FrameAttrs,
    _as_dict,
    _cparams_args,
    _fmt_nbytes,
    _make_cparams,
)

__all__ = [
    "NDArray",
    "ChunkInfoNDArray",
    "empty",
    "uninit",
    "zeros",
    "ones",
    "full",
    "nans",
    "arange",
    "linspace",
    "frombuffer",
    "from_buffer",
    "asarray",
    "copy",
    "empty_like",
    "zeros_like",
    "full_like",
    "open",
    "save",
    "load",
    "remove_urlpath",
    "remove",
    "ndarray_from_cframe",
]

#: What :meth:`NDArray.iterchunks_info` yields (python-blosc2's fields).
ChunkInfoNDArray = namedtuple(
    "ChunkInfoNDArray", ["nchunk", "coords", "cratio", "special", "repeated_value", "lazychunk"]
)

_CPARAM_KEYS = {"codec", "clevel", "filters", "filters_meta", "splitmode", "use_dict", "nthreads", "typesize",
                "blocksize", "codec_meta", "tuner"}
_ALIASES = {"filtersmeta": "filters_meta", "usedict": "use_dict"}
_STORAGE_KEYS = {"urlpath", "contiguous", "mode", "meta", "mmap_mode", "initial_mapping_size", "locking"}


# -- dtypes ----------------------------------------------------------------------------------------


def _np_dtype(dtype: Any) -> np.dtype:
    dt = np.dtype(dtype)
    if dt.hasobject:
        raise TypeError(f"dtype {dt} holds Python objects, which b2nd arrays cannot store")
    if dt.itemsize == 0:
        raise TypeError(f"dtype {dt} has items of 0 bytes; give a size (for example 'S4' or 'U8')")
    return dt


def _dtype_str(dt: np.dtype) -> str:
    """The dtype string python-blosc2 writes in the ``b2nd`` metalayer."""
    if dt.fields is not None:
        return str(dt)
    return dt.str


def _parse_dtype(text: str) -> np.dtype:
    """The NumPy dtype of a ``b2nd`` metalayer string."""
    t = text.strip()
    if t.startswith("[") or t.startswith("{"):
        return np.dtype(ast.literal_eval(t))
    return np.dtype(t)


# -- keyword arguments -----------------------------------------------------------------------------


class _Kw:
    """The keywords of a constructor, checked: chunks, blocks, cparams, dparams, storage."""

    def __init__(self, kwargs: dict, *, creating: bool = True, caterva_form: bool = False) -> None:
        kwargs = dict(kwargs)
        for old, new in _ALIASES.items():
            if old in kwargs:
                kwargs[new] = kwargs.pop(old)
        if "filename" in kwargs:
            if kwargs.get("urlpath") is not None:
                raise ValueError("give urlpath or filename, not both")
            kwargs["urlpath"] = kwargs.pop("filename")
        kwargs.pop("memframe", None)
        storage = kwargs.pop("storage", None)
        if storage is not None:
            storage = _as_dict(storage, "storage")
            if set(storage) & set(kwargs) & _STORAGE_KEYS:
                raise AttributeError("Cannot pass both `storage` and other kwargs already included in Storage")
            kwargs.update(storage)
        for key in ("mmap_mode", "initial_mapping_size", "locking"):
            if kwargs.pop(key, None) not in (None, False, 1 << 30):
                raise ValueError(f"storage option {key!r} is not supported when creating an array")
        self.chunks = self._shape_arg(kwargs.pop("chunks", None), "chunks")
        self.blocks = self._shape_arg(kwargs.pop("blocks", None), "blocks")
        urlpath = kwargs.pop("urlpath", None)
        self.urlpath = os.fspath(urlpath) if urlpath is not None else None
        contiguous = kwargs.pop("contiguous", None)
        if contiguous is None:
            contiguous = self.urlpath is not None and not caterva_form
        self.contiguous = bool(contiguous)
        self.mode = kwargs.pop("mode", "a") or "a"
        if self.mode not in ("r", "a", "w"):
            raise ValueError(f"mode must be 'r', 'a' or 'w', got {self.mode!r}")
        if creating and self.mode == "r":
            raise ValueError("cannot create an array in mode 'r'")
        meta = kwargs.pop("meta", None) or {}
        self.meta = [(str(k), _msgpack.packb(v)) for k, v in dict(meta).items()]
        self.caterva = bool(kwargs.pop("caterva", caterva_form))
        self.explicit_caterva = caterva_form
        cparams = kwargs.pop("cparams", None)
        flat = {k: kwargs.pop(k) for k in list(kwargs) if k in _CPARAM_KEYS}
        if cparams is not None and flat:
            raise AttributeError("Cannot pass both cparams and other kwargs already included in CParams")
        self.cparams_given = cparams is not None or bool(flat)
        cp = _as_dict(cparams, "cparams") if cparams is not None else flat
        if "filters" in cp:
            filters = list(cp["filters"])
            if "filters_meta" not in cp:
                cp["filters_meta"] = [0] * len(filters)
            cp["filters"] = filters
        self.cp = _make_cparams(cp)
        self.dp = DParams(**_as_dict(kwargs.pop("dparams", None), "dparams"))
        if kwargs:
            raise ValueError(f"{sorted(kwargs)[0]} is not supported as keyword argument")
        if self.urlpath is not None and self.mode == "w" and creating:
            remove_urlpath(self.urlpath)

    @staticmethod
    def _shape_arg(value: Any, what: str) -> Optional[list]:
        if value is None:
            return None
        if isinstance(value, (int, np.integer)):
            value = (value,)
        out = [int(v) for v in value]
        if any(v < 0 for v in out):
            raise ValueError(f"{what} cannot have negative values: {tuple(out)}")
        return out

    def cparams_args(self, itemsize: int, *, explicit: bool = True) -> Optional[tuple]:
        if not explicit and not self.cparams_given:
            return None
        cp = dataclasses.replace(self.cp, typesize=itemsize)
        return _cparams_args(cp)

    def args(self, itemsize: int, *, explicit: bool = True) -> tuple:
        """``chunks, blocks, cparams, dparams_nthreads, urlpath, contiguous, mode, meta, caterva``."""
        return (
            self.chunks,
            self.blocks,
            self.cparams_args(itemsize, explicit=explicit),
            int(self.dp.nthreads),
            self.urlpath,
            self.contiguous,
            self.mode,
            self.meta,
            self.caterva,
        )


def _shape(shape: Any) -> Tuple[int, ...]:
    if isinstance(shape, (int, np.integer)):
        shape = (shape,)
    out = tuple(int(s) for s in shape)
    if any(s < 0 for s in out):
        raise ValueError(f"negative dimensions are not allowed: {out}")
    return out


def _caterva_ok(kw: _Kw, ndim: int) -> None:
    if kw.caterva and ndim > 8 and kw.explicit_caterva:
        kw.caterva = False


def _create(kind: str, shape: Any, dtype: np.dtype, kw: _Kw, data: Any = None, value: Any = None) -> "NDArray":
    shape = _shape(shape)
    _caterva_ok(kw, len(shape))
    core = _ext.NDArrayCore.create(
        kind, list(shape), _dtype_str(dtype), *kw.args(dtype.itemsize), data=data, value=value
    )
    return NDArray._wrap(core, dtype, kw.cp.nthreads, kw.dp.nthreads)


def _item_bytes(value: Any, dtype: np.dtype) -> bytes:
    """One item of ``dtype`` holding ``value`` (cast as NumPy's assignment casts)."""
    arr = np.empty((), dtype=dtype)
    arr[()] = value
    return arr.tobytes()


# -- the array -------------------------------------------------------------------------------------


class _Info:
    """What :attr:`NDArray.info` shows, printed as python-blosc2 prints it (a two-column table,
    long values wrapped)."""

    def __init__(self, items: list) -> None:
        self.items = items

    def __repr__(self) -> str:
        import textwrap

        width = max(len(k) for k, _ in self.items)
        lines = []
        for k, v in self.items:
            wrapped = textwrap.wrap(str(v), width=88 - width) or [""]
            lines.append(f"{k:<{width}} : {wrapped[0]}")
            lines.extend(f"{'':<{width}} : {w}" for w in wrapped[1:])
        return "\n".join(lines) + "\n"


class NDArray(_FrameAttrs):
    """A chunked, blocked, compressed N-d array (python-blosc2's ``NDArray``).

    Made by the constructors (:func:`zeros`, :func:`asarray`, :func:`open`, ...), never directly.
    ``a[key]`` reads a NumPy array (NumPy's indexing rules); ``a[key] = value`` writes;
    ``a.oindex[...]`` and ``a.vindex[...]`` are zarr's orthogonal and point selections.
    ``np.asarray(a)`` reads everything. Pickling keeps a file-backed array as its path and mode
    (reopened lazily, on first use, by the receiving process) and an in-memory one as its frame.
    """

    __slots__ = ("_c", "_lazy", "_open_lock", "_dtype", "_nthreads", "_dnthreads", "_offset", "__weakref__")

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        raise TypeError("NDArray objects are made by ndpack.zeros, ndpack.asarray, ndpack.open and the other constructors")

    @classmethod
    def _wrap(cls, core: Any, dtype: Optional[np.dtype] = None, nthreads: Optional[int] = None,
              dnthreads: Optional[int] = None) -> "NDArray":
        self = object.__new__(cls)
        self._c = core
        self._lazy = None
        self._open_lock = None
        self._offset = 0
        self._dtype = dtype if dtype is not None else _parse_dtype(core.dtype)
        self._nthreads = int(nthreads) if nthreads is not None else _ext.get_nthreads()
        self._dnthreads = int(dnthreads) if dnthreads is not None else core.dparams_nthreads()
        return self

    @classmethod
    def _lazy_open(cls, state: dict) -> "NDArray":
        self = object.__new__(cls)
        self._c = None
        self._lazy = dict(state)
        self._open_lock = threading.Lock()
        self._offset = int(state.get("offset", 0))
        self._dtype = _parse_dtype(state["dtype"])
        self._nthreads = self._dnthreads = _ext.get_nthreads()
        return self

    @property
    def _core(self) -> Any:
        core = self._c
        if core is None:
            with self._open_lock:
                core = self._c
                if core is None:
                    st = self._lazy
                    core = _ext.NDArrayCore.open(st["urlpath"], st["mode"], st.get("offset", 0), False)
                    if _dtype_str(_parse_dtype(core.dtype)) != _dtype_str(self._dtype):
                        raise ValueError(
                            f"{st['urlpath']} changed since it was pickled: dtype {core.dtype}, "
                            f"was {st['dtype']}"
                        )
                    self._c = core
        return core

    # -- attributes ------------------------------------------------------------------------------

    def _cheap(self, name: str) -> Any:
        if self._c is None and self._lazy is not None and name in self._lazy:
            return self._lazy[name]
        return getattr(self._core, name)

    @property
    def shape(self) -> Tuple[int, ...]:
        """The shape."""
        return tuple(self._cheap("shape"))

    @property
    def dtype(self) -> np.dtype:
        """The NumPy dtype (``|S<n>`` for an array written by caterva, which stores no dtype, as
        caterva returns its items)."""
        return self._dtype

    @property
    def ndim(self) -> int:
        """The number of dimensions."""
        return len(self.shape)

    @property
    def size(self) -> int:
        """The number of items."""
        return int(np.prod(self.shape, dtype=np.int64))

    @property
    def itemsize(self) -> int:
        """Bytes per item."""
        return self._dtype.itemsize

    @property
    def chunks(self) -> Tuple[int, ...]:
        """The chunk shape."""
        return tuple(self._cheap("chunks"))

    @property
    def blocks(self) -> Tuple[int, ...]:
        """The block shape."""
        return tuple(self._cheap("blocks"))

    @property
    def ext_shape(self) -> Tuple[int, ...]:
        """The shape padded to whole chunks."""
        return tuple(self._core.ext_shape)

    @property
    def ext_chunks(self) -> Tuple[int, ...]:
        """The chunk shape padded to whole blocks."""
        return tuple(self._core.ext_chunks)

    @property
    def chunksize(self) -> int:
        """Bytes of one (padded) chunk."""
        return self._core.chunksize

    @property
    def blocksize(self) -> int:
        """Bytes of one block."""
        return self._core.blocksize

    @property
    def nbytes(self) -> int:
        """The items' bytes, uncompressed."""
        return self.size * self.itemsize

    @property
    def cbytes(self) -> int:
        """The compressed bytes of the chunks."""
        return self._core.cbytes

    @property
    def cratio(self) -> float:
        """``nbytes / cbytes``."""
        cbytes = self.cbytes
        return self.nbytes / cbytes if cbytes else float("inf")

    @property
    def urlpath(self) -> Optional[str]:
        """The file or directory, or ``None`` in memory."""
        if self._c is None and self._lazy is not None:
            return self._lazy["urlpath"]
        return self._core.urlpath

    @property
    def mode(self) -> str:
        """``"r"``, ``"a"`` or ``"w"``."""
        if self._c is None and self._lazy is not None:
            return self._lazy["mode"]
        return self._core.mode

    @property
    def contiguous(self) -> bool:
        """Whether the frame is one file (or buffer) rather than a directory."""
        return self._core.contiguous

    @property
    def schunk(self) -> SChunk:
        """The super-chunk underneath, as an :class:`ndpack.SChunk`: a second handle on the same
        file (it sees this array's writes after ``reload()``), or for an in-memory array a
        read-only snapshot of its frame."""
        urlpath = self.urlpath
        if urlpath is not None:
            mode = "r" if self.mode == "r" else "a"
            return SChunk(_core=_ext.SChunk.open(urlpath, mode, self._offset, False, False))
        return SChunk(_core=_ext.SChunk.from_cframe(self.to_cframe(), False))

    @property
    def info_items(self) -> list:
        """``(name, value)`` pairs describing this array."""
        items = [
            ("type", type(self).__name__),
            ("shape", self.shape),
            ("chunks", self.chunks),
            ("blocks", self.blocks),
            ("dtype", self.dtype),
            ("nbytes", _fmt_nbytes(self.nbytes)),
            ("cbytes", _fmt_nbytes(self.cbytes)),
            ("cratio", f"{self.cratio:.2f}x"),
            ("cparams", self.cparams),
            ("dparams", self.dparams),
        ]
        if self.urlpath is not None:
            items.append(("urlpath", self.urlpath))
            items.append(("contiguous", self.contiguous))
        metas = [m for m in self._core.meta_names()]
        items.append(("metalayers", metas))
        vl = list(self._core.vlmeta_names())
        if vl:
            items.append(("vlmeta", vl))
        return items

    @property
    def info(self) -> _Info:
        """A printable table: shape, chunks, blocks, dtype, sizes, ratio, codec and filters
        (``cparams``), metalayers."""
        return _Info(self.info_items)

    def __len__(self) -> int:
        shape = self.shape
        if not shape:
            raise TypeError("len() of unsized object")
        return shape[0]

    def __repr__(self) -> str:
        where = self.urlpath or "memory"
        return f"<ndpack.NDArray shape={self.shape} dtype={self.dtype} chunks={self.chunks} blocks={self.blocks} {where}>"

    def _check_writable(self) -> None:
        if self.mode == "r":
            raise ValueError("the array is open read-only (mode 'r')")

    # -- reading ---------------------------------------------------------------------------------

    def _read_region(self, region: list, shape: Sequence[int]) -> np.ndarray:
        out = np.empty(tuple(shape), dtype=self._dtype)
        if out.size:
            self._core.get_region(region, _indexing.flat_view(out), False)
        return out

    def __getitem__(self, key: Any) -> Any:
        """NumPy's ``a[key]``: ints, slices with any step, ``...``, ``None``, boolean masks and
        integer arrays. Basic keys decode straight into the result; keys with arrays read the
        smallest region holding the selection, then NumPy picks the items from it."""
        basic = type(key)
        if basic is tuple or basic is slice or basic is int:
            # Ints and slices: the result made and filled in one call.
            res = self._core.get_basic(key if basic is tuple else (key,), self._dtype)
            if res is not None:
                return res[()] if res.ndim == 0 else res
        if isinstance(key, str):
            if self._dtype.fields is not None and key in self._dtype.fields:
                return self[...][key]
            raise IndexError(f"no field {key!r} in dtype {self._dtype}")
        sel = _indexing.select(key, self.shape)
        if sel.fancy is not None and self._sparse(sel):
            one = _indexing.single_array(key, self.shape)
            if one is not None:
                axis, ortho, idx = one
                res = self.oindex[ortho]
                return res.reshape(res.shape[:axis] + idx.shape + res.shape[axis + 1 :])
        sub = self._read_region(sel.region, sel.region_shape)
        if sel.fancy is not None:
            return sub[sel.fancy]
        res = sub.reshape(sel.out_shape)
        return res[()] if sel.scalar else res

    def __setitem__(self, key: Any, value: Any) -> None:
        """NumPy's ``a[key] = value``: the value broadcast to the selection and cast to the
        array's dtype. A single value is written as a constant (special chunks where it covers
        whole chunks); keys with arrays read, patch and write back the smallest region holding
        the selection."""
        self._check_writable()
        sel = _indexing.select(key, self.shape)
        value = self._value(value)
        if sel.fancy is not None and self._sparse(sel):
            one = _indexing.single_array(key, self.shape)
            if one is not None:
                axis, ortho, idx = one
                dims = [len(range(*t)) for t in sel.region]
                shape = dims[:axis] + list(idx.shape) + dims[axis + 1 :]
                data = _indexing.broadcast_value(value, shape)
                self.oindex[ortho] = data.reshape(dims[:axis] + [idx.size] + dims[axis + 1 :])
                return
        if sel.fancy is not None:
            if sel.empty:
                np.empty(sel.region_shape, self._dtype)[sel.fancy] = value
                return
            sub = self._read_region(sel.region, sel.region_shape)
            sub[sel.fancy] = value
            self._core.set_region(sel.region, _indexing.flat_view(sub), False)
            return
        data = _indexing.broadcast_value(value, sel.out_shape)
        if sel.empty:
            return
        if value.size == 1:
            self._core.fill_region(sel.region, value.reshape(()).tobytes())
            return
        data = data if data.flags.c_contiguous else data.copy(order="C")
        self._core.set_region(sel.region, _indexing.flat_view(data), False)

    def _sparse(self, sel: "_indexing.Selection") -> bool:
        """Whether the region bounding a selection with arrays is large (over 4 MiB): then a
        key with one index array goes through the chunk-grouped orthogonal selection."""
        return int(np.prod(sel.region_shape, dtype=np.int64)) * self.itemsize > (4 << 20)

    def _value(self, value: Any) -> np.ndarray:
        if isinstance(value, NDArray):
            value = value[...]
        try:
            return np.asarray(value, dtype=self._dtype)
        except (TypeError, ValueError) as e:
            raise ValueError(f"cannot write {type(value).__name__} into an array of dtype {self._dtype}: {e}") from e

    def __array__(self, dtype: Any = None, copy: Any = None) -> np.ndarray:
        """Everything, as a new NumPy array (``copy=False`` raises: the items are compressed)."""
        if copy is False:
            raise ValueError("an NDArray cannot be viewed as a NumPy array without a copy")
        out = self[...]
        if dtype is not None and np.dtype(dtype) != out.dtype:
            out = out.astype(dtype)
        return out

    def __iter__(self) -> Iterator[Any]:
        for i in range(len(self)):
            yield self[i]

    def read_into(self, out: np.ndarray, key: Any = None, casting: str = "same_kind") -> np.ndarray:
        """Reads ``self[key]`` (default: everything) into ``out``, an array of the result's
        shape: straight into its memory when it has the array's dtype and is contiguous, or a
        strided view (steps, negative too) of a C-contiguous array (then only for keys of
        slices); through a temporary otherwise (cast with ``casting``). Returns ``out``."""
        if not isinstance(out, np.ndarray):
            raise TypeError("out must be a NumPy array")
        if key is None:
            key = ()
        sel = _indexing.select(key, self.shape)
        if sel.fancy is None:
            if tuple(out.shape) != tuple(sel.out_shape):
                raise ValueError(f"out has shape {out.shape}; the selection has shape {tuple(sel.out_shape)}")
            if out.dtype == self._dtype and out.flags.writeable and out.flags.c_contiguous:
                if not sel.empty:
                    self._core.get_region(sel.region, _indexing.flat_view(out), False)
                return out
            if out.dtype == self._dtype and out.flags.writeable and out.flags.f_contiguous:
                if not sel.empty:
                    self._core.get_region(sel.region, out.reshape(-1, order="F").view(np.uint8), True)
                return out
            box = _indexing.strided_box(out) if out.dtype == self._dtype else None
            if box is not None and len(sel.out_shape) == len(sel.region) and not any(sel.dropped):
                base, out_key = box
                if not sel.empty:
                    self._core.get_region_into(sel.region, base.reshape(-1).view(np.uint8), list(base.shape), out_key)
                return out
        res = self[key]
        np.copyto(out, res, casting=casting)
        return out

    def get_chunk(self, nchunk: int) -> bytes:
        """The compressed chunk ``nchunk`` (a special chunk as its header)."""
        n = self._core.nchunks
        nchunk = int(nchunk)
        if not 0 <= nchunk < n:
            raise IndexError(f"nchunk {nchunk} out of range for {n} chunks")
        return self._core.get_chunk(nchunk)

    def iterchunks_info(self) -> Iterator[ChunkInfoNDArray]:
        """``ChunkInfoNDArray(nchunk, coords, cratio, special, repeated_value, lazychunk)`` for
        each chunk, from its header (``lazychunk``: the header, plus the value of a
        repeated-value chunk)."""
        for nchunk, coords, nbytes, cbytes, cratio, code, value in self._core.chunks_info():
            chunk = self._core.get_chunk(nchunk)
            header = chunk[: 32 + (self.itemsize if code == SpecialValue.VALUE else 0)]
            stored = int.from_bytes(chunk[12:16], "little") if len(chunk) >= 16 else 0
            yield ChunkInfoNDArray(
                nchunk,
                tuple(coords),
                nbytes / stored if stored else 0.0,
                SpecialValue(code),
                value if code == SpecialValue.VALUE else None,
                header,
            )

    # -- orthogonal and point selections ---------------------------------------------------------

    @property
    def oindex(self) -> "_indexing.OIndex":
        """Orthogonal selection (zarr's ``oindex``): each key item (int, slice, 1-d integer or
        boolean array) applies to its own dimension, ``a.oindex[[0, 2], [1, 3]]`` being the 2×2
        block of rows 0, 2 and columns 1, 3. Reads are grouped by chunk."""
        return _indexing.OIndex(self)

    @property
    def vindex(self) -> "_indexing.VIndex":
        """Point selection (zarr's ``vindex``): integer arrays (broadcast together, one per
        dimension) or one boolean mask of the array's shape. Points are read chunk by chunk."""
        return _indexing.VIndex(self)

    # -- shape and copies ------------------------------------------------------------------------

    def resize(self, newshape: Any) -> None:
        """Changes the shape (same number of dimensions); new items are zero. Only the chunks
        that appear, disappear or change edge are written."""
        self._check_writable()
        shape = _shape(newshape)
        if len(shape) != self.ndim:
            raise ValueError(f"resize keeps the number of dimensions ({self.ndim}); got {shape}")
        self._core.resize(list(shape))

    def copy(self, dtype: Any = None, **kwargs: Any) -> "NDArray":
        """A new array with the same items (cast to ``dtype`` when given) and the keywords'
        chunks, blocks, cparams and storage (those not given: this array's). With the same
        parameters the compressed chunks are copied as they are."""
        if dtype is not None and np.dtype(dtype) != self._dtype:
            kwargs.setdefault("chunks", self.chunks)
            kwargs.setdefault("blocks", self.blocks)
            return asarray(self[...].astype(dtype), **kwargs)
        kw = _Kw(kwargs)
        _caterva_ok(kw, self.ndim)
        core = self._core.copy(*kw.args(self.itemsize, explicit=False))
        return NDArray._wrap(core, self._dtype, kw.cp.nthreads, kw.dp.nthreads)

    def slice(self, key: Any, **kwargs: Any) -> "NDArray":
        """``self[key]`` as a new NDArray (python-blosc2's ``slice``; ints drop their dimension,
        slices may have steps). Parts starting and ending on chunk boundaries are copied
        compressed; the rest is read and compressed chunk by chunk, never all at once."""
        sel = _indexing.select(key, self.shape)
        if sel.fancy is not None or len(sel.out_shape) != len(sel.region) - sum(sel.dropped):
            raise IndexError("slice takes ints and slices only")
        kw = _Kw(kwargs)
        _caterva_ok(kw, len(sel.out_shape))
        core = self._core.slice(sel.region, sel.dropped, *kw.args(self.itemsize, explicit=False))
        return NDArray._wrap(core, self._dtype, kw.cp.nthreads, kw.dp.nthreads)

    def to_cframe(self) -> bytes:
        """The array as one contiguous frame (what :func:`ndarray_from_cframe` and python-blosc2's
        ``ndarray_from_cframe`` read)."""
        return self._core.to_cframe()

    def save(self, urlpath: Any, contiguous: bool = True, **kwargs: Any) -> None:
        """Writes a copy to ``urlpath`` (replacing what is there)."""
        save(self, urlpath, contiguous=contiguous, **kwargs)

    def tobytes(self) -> bytes:
        """The items in C order."""
        return self[...].tobytes()

    to_buffer = tobytes

    # -- Dask ------------------------------------------------------------------------------------

    def to_dask(self, chunks: Any = None, **kwargs: Any) -> Any:
        """This array as a ``dask.array.Array`` (see :func:`ndpack.dask.to_dask`)."""
        from .dask import to_dask

        return to_dask(self, chunks, **kwargs)

    def __dask_tokenize__(self) -> tuple:
        from .dask import tokenize_ndarray

        return tokenize_ndarray(self)

    # -- pickling --------------------------------------------------------------------------------

    def __reduce__(self) -> tuple:
        urlpath = self.urlpath
        if urlpath is not None:
            state = {
                "urlpath": os.path.abspath(urlpath),
                "mode": "r" if self.mode == "r" else "a",
                "shape": list(self.shape),
                "chunks": list(self.chunks),
                "blocks": list(self.blocks),
                "dtype": _dtype_str(self._dtype),
                "offset": self._offset,
            }
            return (_unpickle_file, (state,))
        return (_unpickle_cframe, (self.to_cframe(),))


def _unpickle_file(state: dict) -> NDArray:
    return NDArray._lazy_open(state)


def _unpickle_cframe(cframe: bytes) -> NDArray:
    return ndarray_from_cframe(cframe)


# -- constructors ----------------------------------------------------------------------------------


def _dtype_or_itemsize(dtype: Any, kwargs: dict, default: Any = np.float64) -> Tuple[np.dtype, bool]:
    itemsize = kwargs.pop("itemsize", None)
    if itemsize is not None:
        if dtype is not None:
            raise ValueError("give dtype or itemsize, not both")
        itemsize = int(itemsize)
        if itemsize < 1:
            raise ValueError(f"itemsize must be at least 1, got {itemsize}")
        return np.dtype(f"S{itemsize}"), True
    return _np_dtype(default if dtype is None else dtype), False


def empty(shape: Any, dtype: Any = None, **kwargs: Any) -> NDArray:
    """A new array whose items are not set (here: zero, stored as special chunks). ``itemsize=n``
    instead of ``dtype`` makes caterva's byte items (``S<n>``) and writes the ``caterva``
    metalayer too."""
    dt, caterva_form = _dtype_or_itemsize(dtype, kwargs)
    return _create("zeros", shape, dt, _Kw(kwargs, caterva_form=caterva_form))


uninit = empty


def zeros(shape: Any, dtype: Any = None, **kwargs: Any) -> NDArray:
    """A new array of zeros (zero special chunks, no payload)."""
    return empty(shape, dtype, **kwargs)


def full(shape: Any, fill_value: Any, dtype: Any = None, **kwargs: Any) -> NDArray:
    """A new array holding ``fill_value`` everywhere (repeated-value special chunks). ``dtype``
    defaults to the value's; caterva's form ``full(shape, fill_value_bytes, itemsize=...)`` too."""
    if dtype is None and "itemsize" not in kwargs:
        dtype = np.asarray(fill_value).dtype
        if isinstance(fill_value, bytes):
            dtype = np.dtype(f"S{max(len(fill_value), 1)}")
    dt, caterva_form = _dtype_or_itemsize(dtype, kwargs)
    kw = _Kw(kwargs, caterva_form=caterva_form)
    return _create("full", shape, dt, kw, value=_item_bytes(fill_value, dt))


def ones(shape: Any, dtype: Any = None, **kwargs: Any) -> NDArray:
    """A new array of ones."""
    return full(shape, 1, np.float64 if dtype is None else dtype, **kwargs)


def nans(shape: Any, dtype: Any = np.float64, **kwargs: Any) -> NDArray:
    """A new floating-point array of NaNs."""
    dt = _np_dtype(dtype)
    if dt.kind not in "fc":
        raise ValueError(f"nans needs a floating-point dtype, got {dt}")
    return full(shape, np.nan, dt, **kwargs)


def asarray(array: Any, copy: Optional[bool] = None, **kwargs: Any) -> NDArray:
    """``array`` (anything NumPy can read, or an NDArray) as a new NDArray; chunks are
    compressed in parallel. An NDArray with no keywords is returned as it is unless ``copy``."""
    if isinstance(array, NDArray):
        if not kwargs and not copy:
            return array
        return array.copy(**kwargs)
    arr = np.asarray(array)
    dt = _np_dtype(arr.dtype)
    if not arr.flags.c_contiguous:
        arr = arr.copy(order="C")
    kw = _Kw(kwargs)
    return _create("buffer", arr.shape, dt, kw, data=arr.reshape(-1).view(np.uint8) if arr.size else b"")


def frombuffer(buffer: Any, shape: Any, dtype: Any = np.uint8, **kwargs: Any) -> NDArray:
    """A new array of ``shape`` and ``dtype`` holding the bytes of ``buffer`` (C order)."""
    dt, caterva_form = _dtype_or_itemsize(None if "itemsize" in kwargs else dtype, kwargs)
    kw = _Kw(kwargs, caterva_form=caterva_form)
    view = memoryview(buffer).cast("B")
    return _create("buffer", shape, dt, kw, data=view)


def from_buffer(buffer: Any, shape: Any, itemsize: Optional[int] = None, dtype: Any = None, **kwargs: Any) -> NDArray:
    """caterva's ``from_buffer(buffer, shape, itemsize, **kwargs)``: byte items, both metalayers."""
    if itemsize is not None:
        kwargs["itemsize"] = itemsize
        return frombuffer(buffer, shape, **kwargs)
    return frombuffer(buffer, shape, np.uint8 if dtype is None else dtype, **kwargs)


def arange(start: Any, stop: Any = None, step: Any = 1, dtype: Any = None, shape: Any = None,
           c_order: bool = True, **kwargs: Any) -> NDArray:
    """``np.arange(start, stop, step)`` reshaped to ``shape`` (default: 1-d) as an NDArray."""
    if stop is None:
        start, stop = 0, start
    arr = np.arange(start, stop, step, dtype=dtype)
    if shape is not None:
        arr = arr.reshape(_shape(shape), order="C" if c_order else "F")
    return asarray(arr, **kwargs)


def linspace(start: Any, stop: Any, num: Optional[int] = None, dtype: Any = None, endpoint: bool = True,
             shape: Any = None, c_order: bool = True, **kwargs: Any) -> NDArray:
    """``np.linspace(start, stop, num)`` reshaped to ``shape`` as an NDArray (``num`` defaults
    to the size of ``shape``)."""
    if num is None:
        if shape is None:
            raise ValueError("linspace needs num or shape")
        num = int(np.prod(_shape(shape), dtype=np.int64))
    arr = np.linspace(start, stop, int(num), endpoint=endpoint, dtype=dtype)
    if shape is not None:
        arr = arr.reshape(_shape(shape), order="C" if c_order else "F")
    return asarray(arr, **kwargs)


def copy(array: Any, dtype: Any = None, **kwargs: Any) -> NDArray:
    """A copy of ``array`` (an NDArray or anything NumPy reads) with the keywords' parameters."""
    if isinstance(array, NDArray):
        return array.copy(dtype=dtype, **kwargs)
    arr = np.asarray(array)
    return asarray(arr if dtype is None else arr.astype(dtype), **kwargs)


def _like_kwargs(x: Any, kwargs: dict) -> dict:
    if isinstance(x, NDArray):
        kwargs.setdefault("chunks", x.chunks)
        kwargs.setdefault("blocks", x.blocks)
    return kwargs


def empty_like(x: Any, dtype: Any = None, **kwargs: Any) -> NDArray:
    """An empty array of ``x``'s shape and dtype (and chunks and blocks for an NDArray)."""
    return empty(x.shape, x.dtype if dtype is None else dtype, **_like_kwargs(x, kwargs))


def zeros_like(x: Any, dtype: Any = None, **kwargs: Any) -> NDArray:
    """A zero array of ``x``'s shape and dtype."""
    return zeros(x.shape, x.dtype if dtype is None else dtype, **_like_kwargs(x, kwargs))


def full_like(x: Any, fill_value: Any, dtype: Any = None, **kwargs: Any) -> NDArray:
    """An array of ``x``'s shape and dtype holding ``fill_value``."""
    return full(x.shape, fill_value, x.dtype if dtype is None else dtype, **_like_kwargs(x, kwargs))


def ndarray_from_cframe(cframe: Any, copy: bool = False) -> NDArray:
    """The array held in a contiguous frame (bytes-like); ``copy=False`` reads it in place."""
    return NDArray._wrap(_ext.NDArrayCore.from_cframe(cframe, bool(copy)))


def _has_array_meta(schunk_core: Any) -> bool:
    names = schunk_core.meta_names()
    return "b2nd" in names or "caterva" in names


def open(urlpath: Any, mode: str = "r", offset: int = 0, **kwargs: Any) -> Any:
    """Opens a frame file (or the frame at ``offset`` in it) or a sparse frame directory: an
    :class:`NDArray` when it has a ``b2nd`` (or ``caterva``) metalayer, an :class:`ndpack.SChunk`
    otherwise (python-blosc2's ``blosc2.open``). ``mode``: ``"r"`` (default), ``"a"`` or ``"w"``
    (opens like ``"a"``). Keywords: ``mmap_mode="r"`` (a read-only memory map), ``dparams``,
    ``sync`` (SChunk only)."""
    from . import schunk as _schunk

    mmap_mode = kwargs.get("mmap_mode")
    if mmap_mode not in (None, "r"):
        raise ValueError(f"mmap_mode {mmap_mode!r} is not supported (only 'r')")
    if mode not in ("r", "a", "w"):
        raise ValueError(f"mode must be 'r', 'a' or 'w', got {mode!r}")
    path = os.fspath(urlpath)
    if not os.path.exists(path):
        raise FileNotFoundError(f"No such file or directory: {path!r}")
    offset = int(offset)
    if offset < 0:
        raise ValueError("offset must be >= 0")
    probe = _ext.SChunk.open(path, "r", offset, False, False)
    if not _has_array_meta(probe):
        del probe
        return _schunk.open(path, mode, offset, **kwargs)
    del probe
    dparams = kwargs.pop("dparams", None)
    kwargs.pop("mmap_mode", None)
    kwargs.pop("sync", None)
    if kwargs:
        raise TypeError(f"open() got unexpected keyword arguments {sorted(kwargs)}")
    core = _ext.NDArrayCore.open(path, "a" if mode == "w" else mode, offset, mmap_mode == "r")
    dn = DParams(**_as_dict(dparams, "dparams")).nthreads if dparams is not None else None
    arr = NDArray._wrap(core, dnthreads=dn)
    arr._offset = offset
    return arr


def save(array: Any, urlpath: Any, contiguous: bool = True, **kwargs: Any) -> None:
    """Writes ``array`` (an NDArray or anything NumPy reads) to ``urlpath``, replacing what is
    there."""
    kwargs["urlpath"] = urlpath
    kwargs["contiguous"] = contiguous
    kwargs["mode"] = "w"
    if isinstance(array, NDArray):
        array.copy(**kwargs)
    else:
        asarray(array, **kwargs)


def load(urlpath: Any, offset: int = 0, **kwargs: Any) -> np.ndarray:
    """The array stored at ``urlpath`` as a NumPy array."""
    a = open(urlpath, "r", offset, **kwargs)
    if not isinstance(a, NDArray):
        raise ValueError(f"{os.fspath(urlpath)} holds a super-chunk, not an N-d array")
    return a[...]


def remove_urlpath(path: Any) -> None:
    """Removes a frame file or a sparse frame directory (nothing when absent)."""
    if path is None:
        return
    path = os.fspath(path)
    if os.path.isdir(path):
        shutil.rmtree(path)
    elif os.path.exists(path):
        os.remove(path)


def remove(urlpath: Any) -> None:
    """caterva's ``remove``: :func:`remove_urlpath`."""
    remove_urlpath(urlpath)
