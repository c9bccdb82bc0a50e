"""ndpack: compress, store and load N-dimensional arrays.

Codecs byte-compatible with numcodecs (``ndpack.codecs``), zfpy-compatible ZFP (``ndpack.zfpy``),
native Blosc with numcodecs' ``blosc`` module (``ndpack.blosc``) and python-blosc2's chunk functions
(``ndpack.blosc2``), zero-copy NPY/NPZ loading and writing (``load_npy``,
``load_npz``, ``save_npy``, ``save_npz``, ``load``), Blosc2 super-chunks and frames in memory, in a
file or in a directory (``SChunk``, ``open``, ``schunk_from_cframe``), and the buffer types ``ndpack.Buffer`` /
``ndpack.NDBuffer`` (buffer protocol, ``__array_interface__``, DLPack), and chunked, blocked,
compressed N-d arrays with python-blosc2's names (``NDArray``, ``zeros``, ``asarray``, ``open``, ...)
that python-blosc2 and caterva read.
"""

from ._ndpack import __version__, get_nthreads, set_nthreads
from ._buffer import Buffer, NDBuffer
from . import blosc, blosc2, codecs, zfpy
from .codecs import get_codec, register_codec, register_numcodecs
from .npy import NpzFile, load, load_npy, load_npz, save_npy, save_npz
from .schunk import SChunk, schunk_from_cframe
from .ndarray import (
    NDArray,
    arange,
    asarray,
    copy,
    empty,
    empty_like,
    frombuffer,
    full,
    full_like,
    linspace,
    nans,
    ndarray_from_cframe,
    ones,
    open,
    remove_urlpath,
    save,
    uninit,
    zeros,
    zeros_like,
)
from . import _workers


def from_dask(*args, **kwargs):
    """Writes a Dask array into a new ndpack array from many workers at once
    (:func:`ndpack.dask.from_dask`; Dask is imported on this call)."""
    from .dask import from_dask as _from_dask

    return _from_dask(*args, **kwargs)


_workers.configure()

__all__ = [
    "__version__",
    "Buffer",
    "NDBuffer",
    "NDArray",
    "NpzFile",
    "SChunk",
    "arange",
    "asarray",
    "blosc",
    "blosc2",
    "codecs",
    "copy",
    "empty",
    "empty_like",
    "from_dask",
    "frombuffer",
    "full",
    "full_like",
    "get_codec",
    "get_nthreads",
    "load",
    "load_npy",
    "load_npz",
    "linspace",
    "nans",
    "ndarray_from_cframe",
    "ones",
    "open",
    "register_codec",
    "register_numcodecs",
    "remove_urlpath",
    "save",
    "save_npy",
    "save_npz",
    "schunk_from_cframe",
    "set_nthreads",
    "uninit",
    "zeros",
    "zeros_like",
    "zfpy",
]
