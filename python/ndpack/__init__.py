"""ndpack: compress, store and load N-dimensional arrays.

Codecs byte-compatible with numcodecs (``ndpack.codecs``), zfpy-compatible ZFP (``ndpack.zfpy``),
native Blosc (``ndpack.blosc``), and zero-copy NPY/NPZ loading.
"""

from ._ndpack import __version__, get_nthreads, set_nthreads
from . import codecs
from . import zfpy

__all__ = ["__version__", "codecs", "zfpy", "get_nthreads", "set_nthreads"]
