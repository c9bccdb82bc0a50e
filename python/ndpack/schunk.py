"""Blosc2 super-chunks with python-blosc2's names: :class:`SChunk`, :func:`schunk_from_cframe` and
:func:`open`, plus the parameter classes :class:`CParams` and :class:`DParams` and the
:class:`SpecialValue` enum. Re-exported by :mod:`ndpack.blosc2` and at the top level::

    import ndpack
    s = ndpack.SChunk(chunksize=4 << 20, urlpath="data.b2frame", mode="w",
                      cparams={"codec": ndpack.blosc2.Codec.LZ4, "typesize": 4})
    s.append_data(np.arange(1 << 20, dtype=np.float32))
    s.vlmeta["units"] = "m/s"
    ndpack.open("data.b2frame")[10:20]          # items 10..19 as bytes

A super-chunk holds a sequence of Blosc2 chunks of one nominal size (the last may be shorter), fixed
metalayers (:attr:`SChunk.meta`) and variable-length metalayers (:attr:`SChunk.vlmeta`), in memory,
in one contiguous frame file, or in a sparse frame directory (one file per chunk). Files are
read and written by python-blosc2 4.x and, with a ``caterva`` metalayer, by caterva 0.7.3.

Writes never overwrite live bytes before they commit: a crash or a full disk leaves the previous
frame readable (see ``docs/schunk.md``). ``sync=True`` adds an fsync at each commit. Reads from many
threads of one handle run at once, without the GIL.
"""

from __future__ import annotations

import dataclasses
import enum
import os
from collections import namedtuple
from collections.abc import Mapping, MutableMapping
from typing import Any, Iterator, List, Optional, Union

import numpy as np

from . import _msgpack
from . import _ndpack as _ext

__all__ = ["CParams", "DParams", "SpecialValue", "SChunk", "ChunkInfo", "schunk_from_cframe", "open"]

_MAX_FILTERS = 6


class SpecialValue(enum.IntEnum):
    """Chunks stored without payload, with python-blosc2's ``SpecialValue`` values."""

    NOT_SPECIAL = 0
    ZERO = 1
    NAN = 2
    VALUE = 3
    UNINIT = 4


def _default_filters() -> list:
    from .blosc2 import Filter

    return [Filter.NOFILTER] * (_MAX_FILTERS - 1) + [Filter.SHUFFLE]


def _default_codec():
    from .blosc2 import Codec

    return Codec.ZSTD


def _default_splitmode():
    from .blosc2 import SplitMode

    return SplitMode.AUTO_SPLIT


@dataclasses.dataclass
class CParams:
    """Compression parameters, with python-blosc2's ``CParams`` fields and defaults (zstd, clevel 5,
    typesize 8, SHUFFLE in the last filter slot, automatic blocks, AUTO split). ``nthreads`` is
    recorded; the work runs on ndpack's pool (:func:`ndpack.set_nthreads`). ``codec_meta``,
    ``use_dict`` and ``tuner`` take their defaults only."""

    codec: Any = dataclasses.field(default_factory=_default_codec)
    codec_meta: int = 0
    clevel: int = 5
    use_dict: bool = False
    typesize: int = 8
    nthreads: int = dataclasses.field(default_factory=lambda: _ext.get_nthreads())
    blocksize: int = 0
    splitmode: Any = dataclasses.field(default_factory=_default_splitmode)
    filters: List[Any] = dataclasses.field(default_factory=_default_filters)
    filters_meta: List[int] = dataclasses.field(default_factory=lambda: [0] * _MAX_FILTERS)
    tuner: int = 0


@dataclasses.dataclass
class DParams:
    """Decompression parameters (python-blosc2's ``DParams``): ``nthreads``, recorded; the work runs
    on ndpack's pool."""

    nthreads: int = dataclasses.field(default_factory=lambda: _ext.get_nthreads())


#: What :meth:`SChunk.iterchunks_info` yields (python-blosc2's fields).
ChunkInfo = namedtuple("ChunkInfo", ["nchunk", "cratio", "special", "repeated_value", "lazychunk"])


def _as_dict(params: Any, what: str) -> dict:
    if params is None:
        return {}
    if isinstance(params, dict):
        return dict(params)
    if dataclasses.is_dataclass(params):
        return {f.name: getattr(params, f.name) for f in dataclasses.fields(params)}
    raise TypeError(f"{what} must be a dict or a {what[0].upper()}{what[1:]} instance, got {type(params).__name__}")


def _code(value: Any, enum_name: str, what: str) -> int:
    from . import blosc2

    return blosc2._enum_value(value, getattr(blosc2, enum_name), what)


def _cparams_args(cparams: CParams) -> tuple:
    """The arguments the extension takes for ``cparams``."""
    if cparams.codec_meta:
        raise ValueError("codec_meta is not supported")
    if cparams.use_dict:
        raise ValueError("dictionary compression is not supported")
    filters = [_code(f, "Filter", "filter") for f in cparams.filters]
    if len(filters) > _MAX_FILTERS:
        raise ValueError(f"at most {_MAX_FILTERS} filters are supported")
    meta = [int(m) for m in cparams.filters_meta]
    if len(meta) > _MAX_FILTERS:
        raise ValueError(f"at most {_MAX_FILTERS} filters_meta are supported")
    filters += [0] * (_MAX_FILTERS - len(filters))
    meta = [m & 0xFF for m in meta] + [0] * (_MAX_FILTERS - len(meta))
    clevel = int(cparams.clevel)
    if not 0 <= clevel <= 9:
        raise ValueError("clevel must be between 0 and 9")
    typesize = int(cparams.typesize)
    if typesize < 1:
        raise ValueError("typesize must be at least 1")
    blocksize = int(cparams.blocksize)
    if blocksize < 0:
        raise ValueError("blocksize must be >= 0")
    return (
        _code(cparams.codec, "Codec", "codec"),
        clevel,
        typesize,
        blocksize,
        _code(cparams.splitmode, "SplitMode", "split mode"),
        filters,
        meta,
    )


def _make_cparams(params: dict) -> CParams:
    unknown = set(params) - {f.name for f in dataclasses.fields(CParams)}
    if unknown:
        raise TypeError(f"unknown cparams {sorted(unknown)}")
    return CParams(**params)


def _cparams_from_ext(raw: tuple, nthreads: int) -> CParams:
    from .blosc2 import Codec, Filter, SplitMode

    codec, clevel, typesize, blocksize, splitmode, filters, filters_meta = raw

    def as_enum(enum_type, value):
        try:
            return enum_type(value)
        except ValueError:
            return value

    return CParams(
        codec=as_enum(Codec, codec),
        clevel=clevel,
        typesize=typesize,
        nthreads=nthreads,
        blocksize=blocksize,
        splitmode=as_enum(SplitMode, splitmode),
        filters=[as_enum(Filter, f) for f in filters],
        filters_meta=[m - 256 if m > 127 else m for m in filters_meta],
    )


def _itemsize(data: Any) -> int:
    return int(getattr(data, "itemsize", 1) or 1)


def _buffer(data: Any) -> Any:
    """``data`` as an object with C-contiguous memory (NumPy arrays that are not are copied)."""
    if isinstance(data, np.ndarray) and not data.flags.c_contiguous:
        return np.ascontiguousarray(data)
    return data


def _nbytes(data: Any) -> int:
    return memoryview(data).nbytes if not isinstance(data, np.ndarray) else data.nbytes


class Meta(Mapping):
    """The fixed metalayers of an :class:`SChunk` or an NDArray (python-blosc2's ``Meta``):
    values are msgpack'd objects; an existing one may be replaced by a value whose packed bytes
    have the same length."""

    def __init__(self, schunk: "SChunk") -> None:
        self._schunk = schunk

    def __contains__(self, key: object) -> bool:
        return isinstance(key, str) and self._schunk._core.meta_get(key) is not None

    def __getitem__(self, key: Union[str, slice]) -> Any:
        if isinstance(key, slice):
            if key.start is None and key.stop is None and key.step is None:
                return self.getall()
            raise NotImplementedError("Slicing is not supported, unless [:]")
        raw = self._schunk._core.meta_get(key)
        if raw is None:
            raise KeyError(f"{key} not found")
        return _msgpack.unpackb(raw)

    def __setitem__(self, key: str, value: Any) -> None:
        """Replaces metalayer ``key`` with ``value``; the packed length cannot change."""
        self._schunk._check_writable()
        old = self._schunk._core.meta_get(key)
        if old is None:
            raise KeyError(f"{key} not found")
        content = _msgpack.packb(value)
        if len(content) != len(old):
            raise ValueError("The length of the content in a metalayer cannot change.")
        self._schunk._core.meta_update(key, content)

    def __delitem__(self, key: str) -> None:
        raise NotImplementedError("Cannot remove a metalayer")

    def add_raw(self, key: str, content: Any) -> None:
        """Adds metalayer ``key`` holding ``content`` as it is (not msgpack'd), while the
        super-chunk has no chunks: how array layers write their ``b2nd`` or ``caterva`` layer.
        ndpack's own method."""
        self._schunk._check_writable()
        self._schunk._core.meta_add(key, bytes(content))

    def get_raw(self, key: str) -> bytes:
        """The stored bytes of metalayer ``key`` (not unpacked; caterva's and b2nd's layers are
        fixed-width msgpack read as raw bytes)."""
        raw = self._schunk._core.meta_get(key)
        if raw is None:
            raise KeyError(f"{key} not found")
        return raw

    def keys(self) -> List[str]:  # type: ignore[override]
        return list(self._schunk._core.meta_names())

    def __iter__(self) -> Iterator[str]:
        return iter(self.keys())

    def __len__(self) -> int:
        return len(self._schunk._core.meta_names())

    def getall(self) -> dict:
        """Every metalayer as a dict."""
        return {k: self[k] for k in self.keys()}

    def __repr__(self) -> str:
        return repr(self.getall())


class VLMeta(MutableMapping):
    """The variable-length metalayers of an :class:`SChunk` or an NDArray (python-blosc2's
    ``vlmeta``): msgpack'd values stored as Blosc2 chunks in the frame's trailer; added,
    replaced and deleted freely."""

    def __init__(self, schunk: "SChunk") -> None:
        self._schunk = schunk

    def __setitem__(self, name: Union[str, slice], content: Any) -> None:
        self._schunk._check_writable()
        if isinstance(name, slice):
            if name.start is None and name.stop is None and name.step is None:
                for k, v in content.items():
                    self[k] = v
                return
            raise NotImplementedError("Slicing is not supported, unless [:]")
        self._schunk._core.vlmeta_set(name, _msgpack.packb(content))

    def __getitem__(self, name: Union[str, slice]) -> Any:
        if isinstance(name, slice):
            if name.start is None and name.stop is None and name.step is None:
                return self.getall()
            raise NotImplementedError("Slicing is not supported, unless [:]")
        raw = self._schunk._core.vlmeta_get(name) if isinstance(name, str) else None
        if raw is None:
            raise KeyError(name)
        return _msgpack.unpackb(raw)

    def __delitem__(self, name: str) -> None:
        self._schunk._check_writable()
        if not self._schunk._core.vlmeta_delete(name):
            raise KeyError(name)

    def __contains__(self, name: object) -> bool:
        return isinstance(name, str) and name in self._schunk._core.vlmeta_names()

    def __len__(self) -> int:
        return len(self._schunk._core.vlmeta_names())

    def __iter__(self) -> Iterator[str]:
        return iter(list(self._schunk._core.vlmeta_names()))

    def getall(self) -> dict:
        """Every variable-length metalayer as a dict."""
        return {name: self[name] for name in self}

    def __repr__(self) -> str:
        return repr(self.getall())


class _Info:
    """What :attr:`SChunk.info` shows (printed as a table, like python-blosc2's)."""

    def __init__(self, items: list) -> None:
        self.items = items

    def __repr__(self) -> str:
        width = max(len(k) for k, _ in self.items)
        return "\n".join(f"{k:<{width}} : {v}" for k, v in self.items) + "\n"


def _fmt_nbytes(n: int) -> str:
    for unit, size in (("GiB", 1 << 30), ("MiB", 1 << 20), ("KiB", 1 << 10)):
        if n >= size:
            return f"{n} ({n / size:.2f} {unit})"
    return f"{n} ({n} B)"


class _FrameAttrs:
    """The attributes that :class:`SChunk` and :class:`ndpack.NDArray` share over their frame:
    ``cparams``, ``dparams``, ``meta``, ``vlmeta`` (alias ``attrs``). The class provides
    ``_core`` (the binding object), ``_nthreads`` and ``_dnthreads`` (the thread counts
    recorded in the parameters) and ``_check_writable()``."""

    __slots__ = ()

    @property
    def cparams(self) -> CParams:
        """The compression parameters (a :class:`ndpack.blosc2.CParams`)."""
        return _cparams_from_ext(self._core.cparams(), self._nthreads)

    @property
    def dparams(self) -> DParams:
        """The decompression parameters (a :class:`ndpack.blosc2.DParams`)."""
        return DParams(nthreads=self._dnthreads)

    @property
    def meta(self) -> Meta:
        """The fixed metalayers (msgpack values; an array's ``b2nd`` and ``caterva`` layers are
        its own)."""
        return Meta(self)

    @property
    def vlmeta(self) -> VLMeta:
        """The variable-length metalayers (msgpack values, added and removed freely)."""
        return VLMeta(self)

    attrs = vlmeta


class SChunk(_FrameAttrs):
    """A Blosc2 super-chunk, with python-blosc2's ``SChunk`` constructor, methods and attributes.

    ``SChunk(chunksize=None, data=None, **kwargs)``: ``chunksize`` is the size of every chunk in
    bytes (the last may be shorter; default: the size of ``data``, else 16 MiB, at most 256 MiB);
    ``data`` (any bytes-like object) is split into chunks and appended. Keyword arguments:

    - ``urlpath``: a file (contiguous frame) or directory (sparse frame); ``None``: in memory.
    - ``contiguous``: one file (default when ``urlpath`` is given) or a directory.
    - ``mode``: ``"w"`` replaces what is at ``urlpath``, ``"a"`` (default) opens it if it exists
      and creates it otherwise, ``"r"`` opens it read-only.
    - ``cparams``: a dict or :class:`CParams` (python-blosc2's ``CParams`` works too); ``typesize``
      defaults to ``data.itemsize`` (else 1) as in python-blosc2.
    - ``dparams``: a dict or :class:`DParams`.
    - ``meta``: ``{name: value}`` fixed metalayers, msgpack'd as python-blosc2 does (at most 16,
      names up to 31 bytes); they can be added only at creation.
    - ``sync``: fsync at each commit (default False). ndpack's own keyword.
    - ``storage``: a dict or python-blosc2 ``Storage`` holding the storage keywords.
    """

    def __init__(self, chunksize: Optional[int] = None, data: Any = None, **kwargs: Any) -> None:
        allowed = {"urlpath", "contiguous", "cparams", "dparams", "meta", "mode", "storage", "sync", "_core"}
        for key in kwargs:
            if key not in allowed:
                raise ValueError(f"{key} is not supported as keyword argument")
        core = kwargs.pop("_core", None)
        if core is not None:
            self._core = core
            self._nthreads = self._dnthreads = _ext.get_nthreads()
            self._memory_contiguous = None
            return
        storage = kwargs.pop("storage", None)
        if storage is not None:
            storage = _as_dict(storage, "storage")
            overlap = set(storage) & {"urlpath", "contiguous", "mode", "meta"} & set(kwargs)
            if overlap:
                raise AttributeError("Cannot pass both `storage` and other kwargs already included in Storage")
            for key in ("mmap_mode", "initial_mapping_size", "locking"):
                if storage.pop(key, None) not in (None, False, 1 << 30):
                    raise ValueError(f"storage option {key!r} is not supported")
            kwargs.update(storage)
        urlpath = kwargs.get("urlpath")
        if urlpath is not None:
            urlpath = os.fspath(urlpath)
        mode = kwargs.get("mode", "a") or "a"
        if mode not in ("r", "a", "w"):
            raise ValueError(f"mode must be 'r', 'a' or 'w', got {mode!r}")
        sync = bool(kwargs.get("sync", False))
        cparams = _as_dict(kwargs.get("cparams"), "cparams")
        cparams.setdefault("typesize", _itemsize(data) if data is not None else 1)
        cp = _make_cparams(cparams)
        dp = DParams(**_as_dict(kwargs.get("dparams"), "dparams"))
        self._nthreads = int(cp.nthreads)
        self._dnthreads = int(dp.nthreads)
        self._memory_contiguous = None
        if urlpath is not None and mode in ("r", "a") and os.path.exists(urlpath):
            self._core = _ext.SChunk.open(urlpath, mode, 0, sync)
            if data is not None:
                self._append_all(data, self.chunksize)
            return
        if mode == "r":
            if urlpath is None:
                raise ValueError(
                    "Cannot open the SChunk in reading mode (mode 'r') because you did not specify a urlpath "
                    "pointing to an existing file on-disk"
                )
            raise ValueError(f"Cannot open the SChunk in reading mode (mode 'r') because {urlpath} does not exist")
        contiguous = kwargs.get("contiguous")
        if contiguous is None:
            contiguous = urlpath is not None
        if urlpath is None:
            # In memory the layout is ndpack's own; report what was asked, as python-blosc2 does.
            self._memory_contiguous = bool(contiguous)
        if chunksize is None:
            chunksize = 1 << 24
            if data is not None:
                chunksize = _nbytes(data) // _itemsize(data) * _itemsize(data)
            chunksize = min(chunksize, 1 << 28)
        chunksize = int(chunksize)
        if chunksize > 2**31 - 1:
            raise ValueError("Maximum chunksize allowed is 2^31 - 1")
        if chunksize < 0:
            raise ValueError("chunksize must be >= 0")
        meta = kwargs.get("meta") or {}
        meta_items = [(str(name), _msgpack.packb(value)) for name, value in meta.items()]
        self._core = _ext.SChunk.new(
            chunksize, *_cparams_args(cp), int(dp.nthreads), urlpath, bool(contiguous), mode, sync, meta_items
        )
        if data is not None:
            self._append_all(data, chunksize)

    def _append_all(self, data: Any, chunksize: int) -> None:
        buf = memoryview(_buffer(data)).cast("B")
        if chunksize <= 0:
            if len(buf):
                raise ValueError("cannot split data into chunks of size 0")
            return
        self._core.begin_updates()
        try:
            for start in range(0, len(buf), chunksize):
                self._core.append_buffer(buf[start : start + chunksize])
        finally:
            self._core.end_updates()

    # -- context manager -------------------------------------------------------------------------

    def __enter__(self) -> "SChunk":
        return self

    def __exit__(self, *exc: Any) -> bool:
        return False

    # -- attributes ------------------------------------------------------------------------------

    @property
    def nchunks(self) -> int:
        """The number of chunks."""
        return self._core.nchunks

    @property
    def chunksize(self) -> int:
        """The size of each chunk in bytes (0 for a frame with variable chunk sizes)."""
        return self._core.chunksize

    @property
    def chunkshape(self) -> int:
        """The number of items per chunk."""
        return self.chunksize // self.typesize

    @property
    def blocksize(self) -> int:
        """The block size in bytes (0: automatic)."""
        return self._core.blocksize

    @property
    def typesize(self) -> int:
        """The item size in bytes."""
        return self._core.typesize

    @property
    def nbytes(self) -> int:
        """The size of the data, uncompressed."""
        return self._core.nbytes

    @property
    def cbytes(self) -> int:
        """The compressed size (chunks and their headers), as python-blosc2 reports it."""
        return self._core.cbytes

    @property
    def cratio(self) -> float:
        """``nbytes / cbytes`` (0.0 when empty)."""
        cbytes = self.cbytes
        return self.nbytes / cbytes if cbytes else 0.0

    @property
    def urlpath(self) -> Optional[str]:
        """The file or directory, or ``None`` in memory."""
        return self._core.urlpath

    @property
    def contiguous(self) -> bool:
        """Whether the frame is one file (or one buffer) rather than a directory (in memory: what
        was asked for, default False, as in python-blosc2)."""
        if self._memory_contiguous is not None:
            return self._memory_contiguous
        return self._core.contiguous

    @property
    def mode(self) -> str:
        """``"r"``, ``"a"`` or ``"w"``."""
        return self._core.mode

    @_FrameAttrs.cparams.setter
    def cparams(self, value: Any) -> None:
        """Assigning compression parameters changes them for the chunks written next."""
        cp = _make_cparams(_as_dict(value, "cparams"))
        self._core.set_cparams(*_cparams_args(cp))
        self._nthreads = int(cp.nthreads)

    @_FrameAttrs.dparams.setter
    def dparams(self, value: Any) -> None:
        dp = DParams(**_as_dict(value, "dparams"))
        self._core.set_dparams(int(dp.nthreads))
        self._dnthreads = int(dp.nthreads)

    @property
    def info_items(self) -> list:
        """``(name, value)`` pairs describing this super-chunk."""
        return [
            ("type", type(self).__name__),
            ("chunksize", self.chunksize),
            ("blocksize", self.blocksize),
            ("typesize", self.typesize),
            ("nbytes", _fmt_nbytes(self.nbytes)),
            ("cbytes", _fmt_nbytes(self.cbytes)),
            ("cratio", f"{self.cratio:.2f}x"),
            ("cparams", self.cparams),
            ("dparams", self.dparams),
            ("urlpath", self.urlpath),
            ("contiguous", self.contiguous),
            ("nchunks", self.nchunks),
        ]

    @property
    def info(self) -> _Info:
        """A printable summary."""
        return _Info(self.info_items)

    def __len__(self) -> int:
        """The number of items."""
        return self.nbytes // self.typesize

    def __repr__(self) -> str:
        where = self.urlpath or "memory"
        return f"<ndpack.SChunk {self.nchunks} chunks, {self.nbytes} bytes, {where}>"

    # -- chunks ----------------------------------------------------------------------------------

    def _check_writable(self) -> None:
        if self.mode == "r":
            raise ValueError("Cannot do this action with reading mode")

    def _chunk_index(self, nchunk: int, end_ok: bool = False) -> int:
        n = self.nchunks
        nchunk = int(nchunk)
        if not 0 <= nchunk < n + (1 if end_ok else 0):
            raise IndexError(f"nchunk {nchunk} out of range for {n} chunks")
        return nchunk

    def append_data(self, data: Any) -> int:
        """Compresses ``data`` (at most ``chunksize`` bytes) and appends it as a chunk; returns the
        number of chunks."""
        self._check_writable()
        return self._core.append_buffer(_buffer(data))

    def append_chunk(self, chunk: Any) -> int:
        """Appends a compressed Blosc2 chunk (checked first); returns the number of chunks."""
        self._check_writable()
        return self._core.append_chunk(chunk)

    def insert_chunk(self, nchunk: int, chunk: Any) -> int:
        """Inserts a compressed chunk at position ``nchunk``; returns the number of chunks."""
        self._check_writable()
        return self._core.insert_chunk(self._chunk_index(nchunk, end_ok=True), chunk)

    def insert_data(self, nchunk: int, data: Any, copy: bool = False) -> int:
        """Compresses ``data`` and inserts it at ``nchunk`` (``copy`` is accepted and ignored, as in
        python-blosc2); returns the number of chunks."""
        self._check_writable()
        return self._core.insert_buffer(self._chunk_index(nchunk, end_ok=True), _buffer(data))

    def update_chunk(self, nchunk: int, chunk: Any) -> int:
        """Replaces chunk ``nchunk`` with a compressed chunk; returns the number of chunks."""
        self._check_writable()
        return self._core.update_chunk(self._chunk_index(nchunk), chunk)

    def update_data(self, nchunk: int, data: Any, copy: bool = False) -> int:
        """Replaces chunk ``nchunk`` with ``data``, compressed; returns the number of chunks (with no
        chunks, nothing is done, as in python-blosc2)."""
        self._check_writable()
        if self.nchunks == 0:
            return 0
        return self._core.update_buffer(self._chunk_index(nchunk), _buffer(data))

    def delete_chunk(self, nchunk: int) -> int:
        """Removes chunk ``nchunk``; returns the number of chunks."""
        self._check_writable()
        return self._core.delete_chunk(self._chunk_index(nchunk))

    def get_chunk(self, nchunk: int) -> bytes:
        """The compressed chunk ``nchunk`` (a special chunk as its header, as c-blosc2 gives it)."""
        return self._core.get_chunk(self._chunk_index(nchunk))

    def decompress_chunk(self, nchunk: int, dst: Any = None) -> Optional[bytes]:
        """Chunk ``nchunk`` decompressed: new ``bytes``, or ``None`` after filling ``dst`` (a writable
        buffer at least as large as the chunk)."""
        nchunk = self._chunk_index(nchunk)
        if dst is None:
            return self._core.decompress_chunk(nchunk)
        if memoryview(dst).nbytes == 0:
            raise ValueError("The dst length must be greater than 0")
        self._core.decompress_chunk_into(nchunk, dst)
        return None

    def fill_special(self, nitems: int, special_value: Any, value: Any = None) -> int:
        """Appends ``nitems`` items of a special value to an empty super-chunk, as chunks without
        payload (``ZERO``, ``NAN``, ``UNINIT``) or repeated-value chunks (``VALUE`` with ``value``, a
        number or ``typesize`` bytes); returns the number of chunks."""
        self._check_writable()
        # ndpack's SpecialValue or python-blosc2's (same values).
        is_special = isinstance(special_value, enum.Enum) and type(special_value).__name__ == "SpecialValue"
        code = int(special_value.value) if is_special else 0
        if code not in (SpecialValue.ZERO, SpecialValue.NAN, SpecialValue.VALUE, SpecialValue.UNINIT):
            raise TypeError("special_value must be a SpecialValue instance other than NOT_SPECIAL")
        raw = None
        if code == SpecialValue.VALUE:
            if value is None:
                raise ValueError("value cannot be None when special_value is VALUE")
            raw = self._repeated_value(value)
        if self.nbytes > 0:
            raise ValueError("Filling with special values only works on empty SChunks")
        if nitems == 0:
            return self.nchunks
        return self._core.fill_special(int(nitems), code, raw)

    def _repeated_value(self, value: Any) -> bytes:
        ts = self.typesize
        if isinstance(value, (bytes, bytearray, memoryview)):
            raw = bytes(value)
        else:
            arr = np.array([value])
            if arr.dtype.itemsize != ts:
                if isinstance(value, (bool, np.bool_)):
                    raise ValueError("value size in bytes must match with typesize")
                if isinstance(value, int):
                    arr = np.array([value], dtype=f"i{ts}")
                elif isinstance(value, float):
                    arr = np.array([value], dtype=f"f{ts}")
                else:
                    raise ValueError("value size in bytes must match with typesize")
            raw = arr.tobytes()
        if len(raw) != ts:
            raise ValueError("value size in bytes must match with typesize")
        return raw

    # -- items -----------------------------------------------------------------------------------

    def get_slice(self, start: Optional[int] = 0, stop: Optional[int] = None, out: Any = None) -> Optional[bytes]:
        """Items ``start`` to ``stop`` (Python slice rules, step 1) across chunks: new ``bytes``, or
        ``None`` after filling ``out``."""
        nitems = len(self)
        start, stop, _ = slice(start, stop, 1).indices(nitems)
        if start >= stop:
            return b""
        if out is None:
            return self._core.get_slice(start, stop)
        nbytes = (stop - start) * self.typesize
        if memoryview(out).nbytes < nbytes:
            raise ValueError("Not enough space for writing the slice in out")
        self._core.get_slice_into(start, stop, out)
        return None

    def __getitem__(self, item: Union[int, slice]) -> bytes:
        """Items as bytes: ``s[i]`` (item ``i``; ``s[-1]`` the last), ``s[a:b]`` (step 1)."""
        if isinstance(item, slice):
            if item.step is not None and item.step != 1:
                raise IndexError("`step` must be 1")
            return self.get_slice(item.start, item.stop)
        item = int(item)
        if item == -1:
            return self.get_slice(item)
        return self.get_slice(item, item + 1)

    def __setitem__(self, key: Union[int, slice], value: Any) -> None:
        """Writes items ``key`` (a slice with step 1, or one index) from ``value`` (bytes-like); a
        slice past the end grows the super-chunk."""
        if isinstance(key, slice):
            if key.step is not None and key.step != 1:
                raise IndexError("`step` must be 1")
            start, stop = key.start, key.stop
        else:
            start, stop = int(key), int(key) + 1
        self._check_writable()
        nitems = len(self)
        if stop is None:
            stop = nitems
        elif stop < 0:
            stop += nitems
        if start is None:
            start = 0
        elif start < 0:
            start += nitems
        if stop - start <= 0:
            raise ValueError("`stop` mut be greater than `start`")
        if start > nitems:
            raise ValueError("`start` cannot be greater than the SChunk nitems")
        view = memoryview(_buffer(value)).cast("B")
        nbytes = (stop - start) * self.typesize
        if len(view) < nbytes:
            raise ValueError("Not enough data for writing the slice")
        self._core.set_slice(start, view[:nbytes])

    def iterchunks(self, dtype: Any) -> Iterator[np.ndarray]:
        """Each chunk decompressed into a NumPy array of ``dtype`` (one array reused between
        chunks, as in python-blosc2; the last chunk's is cut to its length)."""
        chunkshape = self.chunkshape
        out = np.empty(chunkshape, dtype)
        n = len(self)
        for i in range(0, n, chunkshape):
            stop = min(i + chunkshape, n)
            self.get_slice(i, stop, out)
            yield out if stop - i == chunkshape else out[: stop - i]

    def iterchunks_info(self) -> Iterator[ChunkInfo]:
        """``ChunkInfo(nchunk, cratio, special, repeated_value, lazychunk)`` for each chunk, read from
        its header without decompressing (``lazychunk`` is the header, plus the value of a
        repeated-value chunk)."""
        for nchunk in range(self.nchunks):
            code, repeated = self._core.chunk_special(nchunk)
            chunk = self._core.get_chunk(nchunk)
            header = chunk[: 32 + (self.typesize if code == SpecialValue.VALUE else 0)]
            nbytes = int.from_bytes(chunk[4:8], "little")
            cbytes = int.from_bytes(chunk[12:16], "little")
            yield ChunkInfo(
                nchunk,
                nbytes / cbytes if cbytes else 0.0,
                SpecialValue(code),
                repeated if code == SpecialValue.VALUE else None,
                header,
            )

    # -- frames ----------------------------------------------------------------------------------

    def to_cframe(self) -> bytes:
        """The super-chunk as one contiguous frame (what python-blosc2's ``schunk_from_cframe``
        reads)."""
        return self._core.to_cframe()

    def compact(self) -> None:
        """Drops the space freed by updates and deletes (a file is rewritten and renamed over)."""
        self._check_writable()
        self._core.compact()

    def reload(self) -> bool:
        """Re-reads the committed state written by another handle; True when it changed."""
        return self._core.reload()

    refresh = reload


def schunk_from_cframe(cframe: Any, copy: bool = False) -> SChunk:
    """The super-chunk held in a contiguous frame (bytes-like). ``copy=False`` reads the chunks in
    place and keeps ``cframe`` alive for as long as the super-chunk lives; writes then go to new
    memory and never change ``cframe``."""
    return SChunk(_core=_ext.SChunk.from_cframe(cframe, bool(copy)))


def open(urlpath: Any, mode: str = "r", offset: int = 0, **kwargs: Any) -> SChunk:
    """Opens a contiguous frame file (or the frame at ``offset`` in it) or a sparse frame
    directory, as python-blosc2's ``blosc2.open`` does for super-chunks. ``mode``: ``"r"``
    (default), ``"a"`` or ``"w"`` (which opens an existing frame like ``"a"``). Keywords:
    ``mmap_mode="r"`` (read a contiguous frame through a read-only memory map; chunks are then
    views of the map), ``sync`` (fsync at each commit), ``dparams``."""
    sync = bool(kwargs.pop("sync", False))
    dparams = kwargs.pop("dparams", None)
    mmap_mode = kwargs.pop("mmap_mode", None)
    if mmap_mode not in (None, "r"):
        raise ValueError(f"mmap_mode {mmap_mode!r} is not supported (only 'r')")
    if mmap_mode == "r":
        if mode != "r":
            raise ValueError("mmap_mode='r' opens for reading only (mode 'r')")
    if kwargs:
        raise TypeError(f"open() got unexpected keyword arguments {sorted(kwargs)}")
    if mode not in ("r", "a", "w"):
        raise ValueError(f"mode must be 'r', 'a' or 'w', got {mode!r}")
    path = os.fspath(urlpath)
    if not os.path.exists(path):
        raise FileNotFoundError(f"No such file or directory: {path!r}")
    offset = int(offset)
    if offset < 0:
        raise ValueError("offset must be >= 0")
    schunk = SChunk(_core=_ext.SChunk.open(path, mode, offset, sync, mmap_mode == "r"))
    if dparams is not None:
        schunk.dparams = dparams
    return schunk

