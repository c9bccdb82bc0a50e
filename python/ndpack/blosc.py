"""Native Blosc: numcodecs' ``blosc`` module and python-blosc2's chunk functions.

Blosc1 (what numcodecs' ``Blosc`` writes; byte-compatible with c-blosc 1.x)::

    from ndpack import blosc
    chunk = blosc.compress(array, b"zstd", 5, blosc.SHUFFLE)
    array2 = numpy.frombuffer(blosc.decompress(chunk), dtype=array.dtype)
    blosc.decompress_partial(chunk, start=10, nitems=5)   # decodes only the blocks needed

Blosc2 (what ``blosc2.compress2`` writes; chunk format version 5)::

    chunk = blosc.compress2(array, typesize=4, codec="lz4", filters=["delta", "shuffle"])
    blosc.decompress2(chunk)
    blosc.getitem(chunk, 10, 5)

The decoders read both formats, every c-blosc 1.x chunk (Snappy included) and reject truncated
or corrupt chunks with ``ValueError`` instead of returning wrong data. Work runs on ndpack's
thread pool (``set_nthreads``) without holding the GIL.
"""

from __future__ import annotations

import enum
from typing import Any, Dict, Iterable, Optional, Sequence, Tuple, Union

import numpy as np

from . import _ndpack as _ext
from ._base import Codec as _BaseCodec
from ._base import ObjectArrayError, check_buffer_size

__all__ = [
    "NOSHUFFLE",
    "SHUFFLE",
    "BITSHUFFLE",
    "AUTOSHUFFLE",
    "AUTOBLOCKS",
    "MAX_OVERHEAD",
    "MAX_BUFFERSIZE",
    "MAX_TYPESIZE",
    "Blosc",
    "Codec",
    "Filter",
    "SplitMode",
    "compress",
    "decompress",
    "decompress_partial",
    "cbuffer_sizes",
    "cbuffer_complib",
    "cbuffer_metainfo",
    "list_compressors",
    "set_nthreads",
    "get_nthreads",
    "compress2",
    "decompress2",
    "getitem",
]

NOSHUFFLE = 0
SHUFFLE = 1
BITSHUFFLE = 2
AUTOSHUFFLE = -1
AUTOBLOCKS = 0
MAX_OVERHEAD = 16
MAX_BUFFERSIZE = 2**31 - 1 - MAX_OVERHEAD
MAX_TYPESIZE = 255

_SHUFFLE_REPR = {AUTOSHUFFLE: "AUTOSHUFFLE", NOSHUFFLE: "NOSHUFFLE", SHUFFLE: "SHUFFLE", BITSHUFFLE: "BITSHUFFLE"}


class Codec(enum.IntEnum):
    """Compressors, with python-blosc2's ``Codec`` values."""

    BLOSCLZ = 0
    LZ4 = 1
    LZ4HC = 2
    ZLIB = 4
    ZSTD = 5


class Filter(enum.IntEnum):
    """Blosc2 filters, with python-blosc2's ``Filter`` values."""

    NOFILTER = 0
    SHUFFLE = 1
    BITSHUFFLE = 2
    DELTA = 3
    TRUNC_PREC = 4


class SplitMode(enum.IntEnum):
    """When blocks are split into one stream per byte of the item (python-blosc2's values)."""

    ALWAYS_SPLIT = 1
    NEVER_SPLIT = 2
    AUTO_SPLIT = 3
    FORWARD_COMPAT_SPLIT = 4


def _flat(buf: Any) -> np.ndarray:
    """A 1-d contiguous array over ``buf``'s memory (numcodecs' ``ensure_contiguous_ndarray``)."""
    if isinstance(buf, np.ndarray):
        arr = buf
    else:
        arr = np.asarray(memoryview(buf))
    if arr.dtype == object:
        raise ObjectArrayError("object arrays are not supported")
    if arr.flags.c_contiguous or arr.flags.f_contiguous:
        return arr.reshape(-1, order="A")
    raise ValueError("an array with contiguous memory is required")


def _bytes_view(buf: Any) -> np.ndarray:
    return _flat(buf).view(np.uint8)


def _name(value: Any) -> str:
    if isinstance(value, bytes):
        return value.decode("ascii")
    return str(value)


def list_compressors() -> list:
    """The compressors ndpack writes: ``['blosclz', 'lz4', 'lz4hc', 'zlib', 'zstd']``."""
    return list(_ext.blosc_list_compressors())


def set_nthreads(nthreads: int) -> int:
    """Sets the number of threads of ndpack's pool; returns the previous number."""
    return _ext.set_nthreads(nthreads)


def get_nthreads() -> int:
    """The number of threads of ndpack's pool."""
    return _ext.get_nthreads()


def compress(
    source: Any,
    cname: Union[bytes, str] = b"lz4",
    clevel: int = 5,
    shuffle: int = SHUFFLE,
    blocksize: int = AUTOBLOCKS,
    typesize: Optional[int] = None,
) -> bytes:
    """Compresses ``source`` into a Blosc1 chunk (numcodecs' ``blosc.compress``).

    ``typesize`` defaults to the item size of ``source``; ``shuffle=AUTOSHUFFLE`` means bit-shuffle
    for 1-byte items and byte-shuffle otherwise.
    """
    arr = _flat(source)
    if typesize is None:
        typesize = arr.dtype.itemsize
    cname = _name(cname)
    if cname not in list_compressors():
        raise ValueError(
            f"bad compressor or compressor not supported: {cname!r}; expected one of {list_compressors()}"
        )
    if shuffle not in (AUTOSHUFFLE, NOSHUFFLE, SHUFFLE, BITSHUFFLE):
        raise ValueError(f"invalid shuffle argument; expected -1, 0, 1 or 2, found {shuffle}")
    if arr.nbytes > MAX_BUFFERSIZE:
        raise ValueError(f"input too large: {arr.nbytes} bytes (at most {MAX_BUFFERSIZE})")
    return _ext.blosc_compress(arr.view(np.uint8), cname, int(clevel), int(shuffle), int(blocksize), int(typesize))


def decompress(source: Any, dest: Any = None) -> Any:
    """Decompresses a Blosc chunk (Blosc1 or Blosc2) into new ``bytes``, or into ``dest``
    (any writable buffer of at least the decoded size), which is returned."""
    src = _bytes_view(source)
    if dest is None:
        return _ext.blosc_decompress(src)
    out = _flat(dest)
    if not out.flags.writeable:
        raise ValueError("destination buffer is read-only")
    nbytes = cbuffer_sizes(src)[0]
    if out.nbytes < nbytes:
        raise ValueError(f"destination buffer too small; expected at least {nbytes}, got {out.nbytes}")
    _ext.blosc_decompress_into(src, out.view(np.uint8))
    return dest


def decompress_partial(source: Any, start: int, nitems: int, dest: Any = None) -> Any:
    """Decodes ``nitems`` items (of the chunk's typesize) from item ``start``, decoding only the
    blocks that hold them (numcodecs' ``decompress_partial``)."""
    if start < 0 or nitems < 0:
        raise ValueError("start and nitems must be non-negative")
    data = _ext.blosc_getitem(_bytes_view(source), int(start), int(nitems))
    if dest is None:
        return data
    out = _flat(dest)
    if out.nbytes < len(data):
        raise ValueError(f"destination buffer too small; expected at least {len(data)}, got {out.nbytes}")
    out.view(np.uint8)[: len(data)] = np.frombuffer(data, dtype=np.uint8)
    return dest


def cbuffer_sizes(source: Any) -> Tuple[int, int, int]:
    """``(nbytes, cbytes, blocksize)`` of a chunk."""
    return _ext.blosc_cbuffer_sizes(_bytes_view(source))


def cbuffer_complib(source: Any) -> str:
    """The compression library of a chunk: ``'BloscLZ'``, ``'LZ4'``, ``'Snappy'``, ``'Zlib'`` or
    ``'Zstd'``."""
    return _ext.blosc_cbuffer_complib(_bytes_view(source))


def cbuffer_metainfo(source: Any) -> Tuple[int, int, bool]:
    """``(typesize, shuffle, memcpyed)`` of a chunk."""
    return _ext.blosc_cbuffer_metainfo(_bytes_view(source))


# numcodecs >= 0.13 names
_cbuffer_sizes = cbuffer_sizes
_cbuffer_metainfo = cbuffer_metainfo


def _enum_value(value: Any, enum_type: type, what: str) -> int:
    if isinstance(value, (bytes, str)):
        key = _name(value).upper()
        try:
            return int(enum_type[key])
        except KeyError:
            raise ValueError(f"unknown Blosc2 {what} {value!r}; expected one of {[e.name.lower() for e in enum_type]}") from None
    if hasattr(value, "value") and not isinstance(value, int):
        value = value.value
    return int(value)


def _cparams(kwargs: Dict[str, Any]) -> Dict[str, Any]:
    cparams = kwargs.pop("cparams", None)
    if cparams is not None:
        if kwargs:
            raise AttributeError("Cannot pass both cparams and other kwargs already included in CParams")
        if not isinstance(cparams, dict):
            cparams = {k: getattr(cparams, k) for k in vars(cparams)}
        kwargs = dict(cparams)
    return kwargs


def compress2(
    src: Any,
    *,
    typesize: int = 8,
    clevel: int = 5,
    codec: Any = Codec.ZSTD,
    filters: Optional[Sequence[Any]] = None,
    filters_meta: Optional[Sequence[int]] = None,
    blocksize: int = 0,
    splitmode: Any = SplitMode.AUTO_SPLIT,
    **kwargs: Any,
) -> bytes:
    """Compresses ``src`` into a Blosc2 chunk, as ``blosc2.compress2`` does (same defaults:
    zstd, clevel 5, typesize 8, SHUFFLE in the last filter slot, automatic blocks, AUTO split).

    ``codec`` and ``filters`` accept names (``"lz4"``, ``"bitshuffle"``), ints, or the enum
    constants of this module or of python-blosc2. A ``cparams`` dict or ``blosc2.CParams`` may be
    passed instead of the keywords; its ``nthreads`` and ``tuner`` are ignored (ndpack's pool is
    used).
    """
    if "cparams" in kwargs:
        params = _cparams(dict(kwargs))
        return compress2(src, **params)
    for key in ("nthreads", "tuner"):
        kwargs.pop(key, None)
    if kwargs.pop("codec_meta", 0):
        raise ValueError("codec_meta is not supported")
    if kwargs.pop("use_dict", False):
        raise ValueError("dictionary compression is not supported")
    if kwargs:
        raise TypeError(f"compress2() got unexpected keyword arguments {sorted(kwargs)}")
    if filters is None:
        filters = [Filter.NOFILTER] * 5 + [Filter.SHUFFLE]
    filters = [_enum_value(f, Filter, "filter") for f in filters]
    if len(filters) > 6:
        raise ValueError("at most 6 filters are supported")
    if filters_meta is None:
        filters_meta = [0] * len(filters)
    filters_meta = [int(m) for m in filters_meta]
    if len(filters) > len(filters_meta):
        raise ValueError("Number of filters cannot exceed number of filters meta")
    filters_meta = filters_meta[: len(filters)]
    arr = _flat(src)
    return _ext.blosc2_compress(
        arr.view(np.uint8),
        _enum_value(codec, Codec, "codec"),
        int(clevel),
        int(typesize),
        int(blocksize),
        _enum_value(splitmode, SplitMode, "split mode"),
        filters,
        filters_meta,
    )


def decompress2(src: Any, dst: Any = None, **kwargs: Any) -> Optional[bytes]:
    """Decompresses a Blosc2 (or Blosc1) chunk, as ``blosc2.decompress2`` does: new ``bytes``,
    or ``None`` after filling ``dst`` (a writable buffer of at least the decoded size)."""
    kwargs.pop("nthreads", None)
    kwargs.pop("dparams", None)
    if kwargs:
        raise TypeError(f"decompress2() got unexpected keyword arguments {sorted(kwargs)}")
    if dst is None:
        return decompress(src)
    decompress(src, dst)
    return None


def getitem(src: Any, start: int, nitems: int) -> bytes:
    """``nitems`` items (of the chunk's typesize) from item ``start`` of a Blosc2 or Blosc1
    chunk, decoding only the blocks that hold them (c-blosc2's ``blosc2_getitem``)."""
    return decompress_partial(src, start, nitems)


def chunk_info(src: Any) -> Dict[str, Any]:
    """What a chunk's header says: version, sizes, typesize, codec, filters, special type."""
    (version, nbytes, cbytes, blocksize, typesize, codec, filters, meta, memcpyed, special) = _ext.blosc2_chunk_info(
        _bytes_view(src)
    )
    return {
        "version": version,
        "nbytes": nbytes,
        "cbytes": cbytes,
        "blocksize": blocksize,
        "typesize": typesize,
        "codec": Codec(codec) if codec in Codec._value2member_map_ else codec,
        "filters": list(filters),
        "filters_meta": list(meta),
        "memcpyed": memcpyed,
        "special": special,
    }


class Blosc(_BaseCodec):
    """numcodecs' ``Blosc`` codec, natively: ``Blosc(cname='lz4', clevel=5, shuffle=SHUFFLE,
    blocksize=0, typesize=None)``.

    The typesize is the item size of the array given to ``encode`` unless ``typesize`` is set;
    like numcodecs, ``typesize`` is not part of the config.
    """

    codec_id = "blosc"
    NOSHUFFLE = NOSHUFFLE
    SHUFFLE = SHUFFLE
    BITSHUFFLE = BITSHUFFLE
    AUTOSHUFFLE = AUTOSHUFFLE
    AUTOBLOCKS = AUTOBLOCKS
    #: The largest input, in bytes, of ``encode`` and ``decode`` (numcodecs' limit; larger ones
    #: are a ``ValueError``). May be changed on the class or on an instance.
    max_buffer_size = 2**31 - 1

    def __init__(
        self,
        cname: str = "lz4",
        clevel: int = 5,
        shuffle: int = SHUFFLE,
        blocksize: int = AUTOBLOCKS,
        typesize: Optional[int] = None,
    ) -> None:
        cname = _name(cname)
        if cname not in list_compressors() and cname != "snappy":  # snappy: decode only
            raise ValueError(
                f"bad compressor or compressor not supported: {cname!r}; expected one of {list_compressors()}"
            )
        if not 0 <= int(clevel) <= 9:
            raise ValueError("`clevel` parameter must be between 0 and 9!")
        if shuffle not in (AUTOSHUFFLE, NOSHUFFLE, SHUFFLE, BITSHUFFLE):
            raise ValueError(f"invalid shuffle argument; expected -1, 0, 1 or 2, found {shuffle}")
        if int(blocksize) < 0:
            raise ValueError("blocksize must be >= 0")
        if typesize is not None and typesize < 1:
            raise ValueError(f"Cannot use typesize {typesize} less than 1.")
        self.cname = cname
        self.clevel = int(clevel)
        self.shuffle = int(shuffle)
        self.blocksize = int(blocksize)
        self._typesize = typesize

    @property
    def typesize(self) -> Optional[int]:
        """The item size used instead of the input's, if set."""
        return self._typesize

    def encode(self, buf: Any) -> bytes:
        check_buffer_size(buf, self.max_buffer_size)
        if self._typesize is not None and self._typesize < 1:
            raise ValueError(f"Cannot use typesize {self._typesize} less than 1.")
        return compress(buf, self.cname, self.clevel, self.shuffle, self.blocksize, self._typesize)

    def decode(self, buf: Any, out: Any = None) -> Any:
        check_buffer_size(buf, self.max_buffer_size)
        return decompress(buf, out)

    def decode_partial(self, buf: Any, start: int, nitems: int, out: Any = None) -> Any:
        """Decodes ``nitems`` items from item ``start``, decoding only the blocks needed."""
        return decompress_partial(buf, start, nitems, out)

    def get_config(self) -> Dict[str, Any]:
        return {
            "id": self.codec_id,
            "cname": self.cname,
            "clevel": self.clevel,
            "shuffle": self.shuffle,
            "blocksize": self.blocksize,
        }

    def __repr__(self) -> str:
        return (
            f"Blosc(cname={self.cname!r}, clevel={self.clevel}, "
            f"shuffle={_SHUFFLE_REPR.get(self.shuffle, self.shuffle)}, blocksize={self.blocksize})"
        )
