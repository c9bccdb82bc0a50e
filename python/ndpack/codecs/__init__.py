"""numcodecs-compatible codec classes run by ndpack's Rust codecs.

The classes have numcodecs' names, constructor arguments, defaults, ``codec_id``, ``get_config``,
``from_config``, ``__eq__`` and ``__repr__``; ``encode`` and ``decode`` return what numcodecs
returns (``bytes`` from compressors, NumPy arrays of numcodecs' dtype and shape from filters and
checksums), and ``decode(buf, out=arr)`` writes into ``arr``. The work runs in Rust with the GIL
released; inputs are read without copying (bytes, bytearray, memoryview, NumPy arrays of any
dtype including non-contiguous ones, which are made contiguous first, ``ndpack.Buffer`` and
``ndpack.NDBuffer``).

``register_numcodecs()`` puts these classes into numcodecs' registry under the standard ids, so
that ``numcodecs.get_codec`` and zarr use them.

The modules follow numcodecs': :mod:`~ndpack.codecs.abc` (the base class ``Codec``),
:mod:`~ndpack.codecs.registry`, :mod:`~ndpack.codecs.compressors`,
:mod:`~ndpack.codecs.checksums`, :mod:`~ndpack.codecs.filters`, :mod:`~ndpack.codecs.objects`
(the object codecs), :mod:`~ndpack.codecs.compat` (array helpers) and
:mod:`~ndpack.codecs.errors`. Every class is also here, in ``ndpack.codecs``; ``Blosc`` is
:class:`ndpack.blosc.Blosc` and ``ZFPY`` :class:`ndpack.zfpy.ZFPY`.

>>> from ndpack.codecs import Zlib
>>> codec = Zlib(level=5)
>>> codec.decode(codec.encode(b"hello" * 100)) == b"hello" * 100
True
"""

from __future__ import annotations

# Every class and function of the submodules, and the bases and array helpers that codec classes
# written outside ndpack build on.
from ._rust import _RustCodec
from .abc import Codec
from .compat import check_buffer_size, contiguous, ensure_ndarray, ndarray_copy, raw_view
from .errors import ChecksumError, CodecConfigError, CorruptInputError, ObjectArrayError, UnknownCodecError
from .compressors import BZ2, LZ4, LZMA, GZip, PCodec, Zlib, Zstd
from .checksums import _Checksum32, CRC32, CRC32C, Adler32, Fletcher32, JenkinsLookup3
from .filters import (
    _Filter,
    _ItemFilter,
    AsType,
    BitRound,
    Categorize,
    Delta,
    FixedScaleOffset,
    PackBits,
    Quantize,
    Shuffle,
)
from .objects import JSON, Base64, MsgPack, Pickle, VLenArray, VLenBytes, VLenUTF8
from .registry import _CLASSES, available_ids, codec_registry, get_codec, register_codec, register_numcodecs
from ..blosc import Blosc
from ..zfpy import ZFPY

__all__ = [
    "Codec",
    "UnknownCodecError",
    "CodecConfigError",
    "ChecksumError",
    "CorruptInputError",
    "ObjectArrayError",
    "codec_registry",
    "get_codec",
    "register_codec",
    "register_numcodecs",
    "available_ids",
] + [cls.__name__ for cls in _CLASSES]
