"""ndpack: compress, store and load N-dimensional arrays.

Codecs byte-compatible with numcodecs (``ndpack.codecs``), zfpy-compatible ZFP (``ndpack.zfpy``),
native Blosc with numcodecs' ``blosc`` module (``ndpack.blosc``) and python-blosc2's chunk functions
(``ndpack.blosc2``), zero-copy NPY/NPZ loading and writing (``load_npy``,
``load_npz``, ``save_npy``, ``save_npz``, ``load``), and the buffer types ``ndpack.Buffer`` /
``ndpack.NDBuffer`` (buffer protocol, ``__array_interface__``, DLPack).
"""

from ._ndpack import __version__, get_nthreads, set_nthreads
from ._buffer import Buffer, NDBuffer
from . import blosc, blosc2, codecs, zfpy
from .codecs import get_codec, register_codec, register_numcodecs
from .npy import NpzFile, load, load_npy, load_npz, save_npy, save_npz

__all__ = [
    "__version__",
    "Buffer",
    "NDBuffer",
    "NpzFile",
    "blosc",
    "blosc2",
    "codecs",
    "get_codec",
    "get_nthreads",
    "load",
    "load_npy",
    "load_npz",
    "register_codec",
    "register_numcodecs",
    "save_npy",
    "save_npz",
    "set_nthreads",
    "zfpy",
]
