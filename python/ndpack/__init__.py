"""ndpack: compress, store and load N-dimensional arrays.

Codecs byte-compatible with numcodecs (``ndpack.codecs``), zfpy-compatible ZFP (``ndpack.zfpy``),
native Blosc (``ndpack.blosc``), zero-copy NPY/NPZ loading, and the buffer types
``ndpack.Buffer`` / ``ndpack.NDBuffer`` (buffer protocol, ``__array_interface__``, DLPack).
"""

from ._ndpack import __version__, get_nthreads, set_nthreads
from ._buffer import Buffer, NDBuffer
from . import codecs
from . import blosc
from .codecs import get_codec, register_codec, register_numcodecs

__all__ = [
    "__version__",
    "Buffer",
    "NDBuffer",
    "codecs",
    "get_codec",
    "get_nthreads",
    "register_codec",
    "register_numcodecs",
    "set_nthreads",
]
from .npy import NpzFile, load, load_npy, load_npz, save_npy, save_npz

__all__ = ["__version__", "codecs", "get_nthreads", "set_nthreads"]
__all__ += ["NpzFile", "load", "load_npy", "load_npz", "save_npy", "save_npz"]
from . import zfpy

__all__ = ["__version__", "codecs", "zfpy", "get_nthreads", "set_nthreads"]
