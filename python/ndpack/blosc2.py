"""python-blosc2's names: the Blosc2 chunk functions ``compress2``, ``decompress2`` and
``getitem``, and the enums ``Codec``, ``Filter`` and ``SplitMode`` with python-blosc2's values, so
that ``import ndpack.blosc2 as blosc2`` reads like python-blosc2::

    import ndpack.blosc2 as blosc2
    chunk = blosc2.compress2(array, typesize=4, codec=blosc2.Codec.LZ4, filters=["delta", "shuffle"])
    blosc2.decompress2(chunk)
    blosc2.getitem(chunk, 10, 5)       # decodes only the blocks needed
    blosc2.chunk_info(chunk)           # what the chunk's header says

Super-chunks and frames (``SChunk``, ``schunk_from_cframe``, with ``CParams``, ``DParams`` and
``SpecialValue``) come from :mod:`ndpack.schunk`; N-d arrays (``NDArray``, ``zeros``, ``asarray``,
``open``, ``save``, ``load``, ...) from :mod:`ndpack.ndarray`. ``open`` gives an ``NDArray`` for a
frame with a ``b2nd`` or ``caterva`` metalayer and an ``SChunk`` otherwise.

``compress2`` writes chunk format version 5, as ``blosc2.compress2`` does; the decoders read
Blosc2 and every Blosc1 chunk and reject truncated or corrupt chunks with ``ValueError``. Work runs
on ndpack's thread pool (``ndpack.set_nthreads``) without holding the GIL. numcodecs' Blosc1
functions and the ``Blosc`` codec are in :mod:`ndpack.blosc`.
"""

from __future__ import annotations

import enum
from typing import Any, Dict, Optional, Sequence

import numpy as np

from . import _ndpack as _ext
from .blosc import _bytes_view, _flat, _name, decompress, decompress_partial

__all__ = [
    "Codec",
    "Filter",
    "SplitMode",
    "compress2",
    "decompress2",
    "getitem",
    "chunk_info",
    "CParams",
    "DParams",
    "SpecialValue",
    "SChunk",
    "schunk_from_cframe",
    "open",
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
    "save",
    "load",
    "remove_urlpath",
    "remove",
    "ndarray_from_cframe",
]


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
    BYTEDELTA = 35


class SplitMode(enum.IntEnum):
    """When blocks are split into one stream per byte of the item (python-blosc2's values)."""

    ALWAYS_SPLIT = 1
    NEVER_SPLIT = 2
    AUTO_SPLIT = 3
    FORWARD_COMPAT_SPLIT = 4


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
    for i, f in enumerate(filters):
        if f != Filter.BYTEDELTA:
            continue
        if typesize == 1:
            # As python-blosc2: BYTEDELTA does nothing useful on single bytes and is dropped.
            filters[i] = int(Filter.NOFILTER)
        elif filters_meta[i] == 0:
            # As python-blosc2: its meta (the number of byte planes) defaults to the typesize.
            if not 0 < typesize <= 255:
                raise OverflowError(f"BYTEDELTA needs a typesize of 1-255 for its meta, got {typesize}")
            filters_meta[i] = int(typesize)
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


# Super-chunks and frames (defined in ndpack/schunk.py, which reads the enums above).
from .schunk import CParams, DParams, SChunk, SpecialValue, schunk_from_cframe  # noqa: E402

# N-d arrays (defined in ndpack/ndarray.py).
from .ndarray import (  # noqa: E402
    ChunkInfoNDArray,
    NDArray,
    arange,
    asarray,
    copy,
    empty,
    empty_like,
    from_buffer,
    frombuffer,
    full,
    full_like,
    linspace,
    load,
    nans,
    ndarray_from_cframe,
    ones,
    open,
    remove,
    remove_urlpath,
    save,
    uninit,
    zeros,
    zeros_like,
)
