"""numcodecs-compatible codec classes: ``Zlib``, ``Zstd``, ``Blosc``, ... (same names and arguments)."""

from ._base import Codec

__all__ = ["Codec"]
