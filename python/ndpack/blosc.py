"""Native Blosc, as numcodecs' ``blosc`` module: ``compress``, ``decompress``,
``decompress_partial``, ``cbuffer_sizes``, ``cbuffer_complib``, ``cbuffer_metainfo``,
``list_compressors``, ``get_nthreads``/``set_nthreads``, the shuffle constants and the ``Blosc``
codec. python-blosc2's chunk functions and enums (``compress2``, ``decompress2``, ``getitem``,
``Codec``, ``Filter``, ``SplitMode``) are in :mod:`ndpack.blosc2`.

Blosc1 (what numcodecs' ``Blosc`` writes; byte-compatible with c-blosc 1.x)::

    from ndpack import blosc
    chunk = blosc.compress(array, b"zstd", 5, blosc.SHUFFLE)
    array2 = numpy.frombuffer(blosc.decompress(chunk), dtype=array.dtype)
    blosc.decompress_partial(chunk, start=10, nitems=5)   # decodes only the blocks needed

The decoders read both formats, every c-blosc 1.x chunk (Snappy included) and reject truncated
or corrupt chunks with ``ValueError`` instead of returning wrong data. Work runs on ndpack's
thread pool (``set_nthreads``) without holding the GIL.
"""

from __future__ import annotations

import warnings
from typing import Any, Dict, Optional, Tuple, Union

import numpy as np

from . import _ndpack as _ext
from .codecs.abc import Codec as _BaseCodec
from .codecs.compat import ObjectArrayError, check_buffer_size

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
    "compress",
    "decompress",
    "decompress_partial",
    "cbuffer_sizes",
    "cbuffer_complib",
    "cbuffer_metainfo",
    "list_compressors",
    "set_nthreads",
    "get_nthreads",
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

#: python-blosc2's names, which live in :mod:`ndpack.blosc2`; reading them here still works, with
#: a ``DeprecationWarning`` (``ndpack.blosc.Codec`` would otherwise stand beside
#: ``ndpack.codecs.Codec``, the codecs' base class).
_BLOSC2_NAMES = frozenset(["Codec", "Filter", "SplitMode", "compress2", "decompress2", "getitem", "chunk_info"])


def __getattr__(name: str) -> Any:
    if name in _BLOSC2_NAMES:
        warnings.warn(
            f"ndpack.blosc.{name} is ndpack.blosc2.{name}; import it from ndpack.blosc2",
            DeprecationWarning,
            stacklevel=2,
        )
        from . import blosc2

        return getattr(blosc2, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


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
        return self._config_of("cname", "clevel", "shuffle", "blocksize")

    def __repr__(self) -> str:
        return (
            f"Blosc(cname={self.cname!r}, clevel={self.clevel}, "
            f"shuffle={_SHUFFLE_REPR.get(self.shuffle, self.shuffle)}, blocksize={self.blocksize})"
        )
