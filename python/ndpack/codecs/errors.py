"""The exceptions of ndpack's codecs (numcodecs' ``errors`` module and ndpack's own kinds).

The Rust errors map to ``UnknownCodecError`` (a ``ValueError`` and a ``KeyError``),
``CodecConfigError`` (a ``ValueError`` and a ``TypeError``), ``ChecksumError`` and
``CorruptInputError`` (``ValueError``\\ s).
"""

from __future__ import annotations

from .. import _ndpack

__all__ = [
    "UnknownCodecError",
    "CodecConfigError",
    "ChecksumError",
    "CorruptInputError",
    "ObjectArrayError",
    "UnsafeDecodeError",
]

UnknownCodecError = _ndpack.UnknownCodecError
CodecConfigError = _ndpack.CodecConfigError
ChecksumError = _ndpack.ChecksumError
CorruptInputError = _ndpack.CorruptInputError


class ObjectArrayError(TypeError, ValueError):
    """An object-dtype array given to a codec that works on raw memory (compressors and
    checksums), to encode or to decode into. numcodecs raises ``TypeError`` here; this is also a
    ``ValueError``."""


ObjectArrayError.__module__ = "ndpack"

try:  # numcodecs' own exception, so that code catching it keeps working
    from numcodecs.errors import UnsafeDecodeError
except ImportError:  # pragma: no cover - without numcodecs

    class UnsafeDecodeError(RuntimeError):  # type: ignore[no-redef]
        """A codec refused to decode data because decoding could run arbitrary code."""
