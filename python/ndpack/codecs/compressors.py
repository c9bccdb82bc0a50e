"""Compressors, as numcodecs' ``Zlib``, ``GZip``, ``BZ2``, ``LZMA``, ``Zstd``, ``LZ4`` and ``PCodec``:
``encode`` returns ``bytes``, ``decode`` ``bytes`` (``PCodec``: a 1-d array) or fills ``out``.

``Blosc`` is in :mod:`ndpack.blosc`, as numcodecs' is in ``numcodecs.blosc``; ``ZFPY`` in
:mod:`ndpack.zfpy`.
"""

from __future__ import annotations

from typing import Any, Dict, List, Optional

import numpy as np

from .. import _ndpack
from ._rust import _bytes_view, _RustCodec
from .compat import ObjectArrayError, check_buffer_size, ensure_ndarray

__all__ = ["Zlib", "GZip", "BZ2", "LZMA", "Zstd", "LZ4", "PCodec"]


class Zlib(_RustCodec):
    """zlib compression (RFC 1950), as ``numcodecs.Zlib``.

    Parameters
    ----------
    level : int
        Compression level, 0-9 (-1: zlib's default).
    """

    codec_id = "zlib"

    def __init__(self, level: int = 1):
        self.level = level
        self._codec()

    def get_config(self) -> Dict[str, Any]:
        return self._config_of("level")

    def __repr__(self) -> str:
        return self._repr_of("level")


class GZip(Zlib):
    """gzip compression (RFC 1952), as ``numcodecs.GZip``.

    Parameters
    ----------
    level : int
        Compression level, 0-9.
    """

    codec_id = "gzip"

    def decode(self, buf: Any, out: Any = None) -> Any:
        """Decodes into new ``bytes``, or into ``out``, which may be larger than the data (as
        numcodecs, its first bytes are filled then; ``ValueError`` when the data does not fit)."""
        if out is None:
            return super().decode(buf, out)
        target = ensure_ndarray(out)
        if target.dtype.hasobject:
            raise ObjectArrayError("object arrays are not supported")
        data = _bytes_view(buf)
        # The trailer's ISIZE is the size of the (last) member modulo 2**32; when it equals the
        # size of `out`, decode straight into it (the Rust codec checks the real size).
        size = int.from_bytes(bytes(memoryview(data)[-4:]), "little") if len(data) >= 18 else None
        if size == target.nbytes % 2**32 or not (target.flags.c_contiguous or target.flags.f_contiguous):
            return super().decode(buf, out)
        dec = super().decode(buf)
        if len(dec) > target.nbytes:
            raise ValueError("Unable to fit data into `out`")
        target.reshape(-1, order="A").view(np.uint8)[: len(dec)] = np.frombuffer(dec, dtype=np.uint8)
        return target


class BZ2(Zlib):
    """bzip2 compression, as ``numcodecs.BZ2``.

    Parameters
    ----------
    level : int
        Compression level, 1-9.
    """

    codec_id = "bz2"


class LZMA(_RustCodec):
    """LZMA/XZ compression, as ``numcodecs.LZMA`` (Python's ``lzma`` module parameters).

    Parameters
    ----------
    format : int
        ``lzma.FORMAT_XZ`` (1), ``FORMAT_ALONE`` (2) or ``FORMAT_RAW`` (3).
    check : int
        Integrity check of the XZ container (``lzma.CHECK_*``; -1: the format's default).
    preset : int or None
        Compression preset 0-9, optionally or-ed with ``lzma.PRESET_EXTREME``.
    filters : list of dict or None
        A custom filter chain, each filter a dict with ``id`` and its options.
    """

    codec_id = "lzma"

    def __init__(
        self,
        format: int = 1,
        check: int = -1,
        preset: Optional[int] = None,
        filters: Optional[List[Dict[str, Any]]] = None,
    ):
        self.format = format
        self.check = check
        self.preset = preset
        self.filters = filters
        self._codec()

    def get_config(self) -> Dict[str, Any]:
        return self._config_of("format", "check", "preset", "filters")

    def __repr__(self) -> str:
        return self._repr_of("format", "check", "preset", "filters")


class Zstd(_RustCodec):
    """Zstandard compression, as ``numcodecs.Zstd``.

    Parameters
    ----------
    level : int
        Compression level (0: zstd's default, 3; negative levels are faster).
    checksum : bool
        Whether frames carry a content checksum.
    """

    codec_id = "zstd"
    DEFAULT_LEVEL = 0

    def __init__(self, level: int = DEFAULT_LEVEL, checksum: bool = False):
        self.level = level
        self.checksum = checksum
        self._codec()

    def get_config(self) -> Dict[str, Any]:
        return self._config_of("level", "checksum")

    @classmethod
    def default_level(cls) -> int:
        """The default compression level of the zstd library (3), what level 0 stands for."""
        return _ndpack.zstd_levels()[0]

    @classmethod
    def min_level(cls) -> int:
        """The lowest (fastest) compression level of the zstd library (-131072)."""
        return _ndpack.zstd_levels()[1]

    @classmethod
    def max_level(cls) -> int:
        """The highest compression level of the zstd library (22)."""
        return _ndpack.zstd_levels()[2]

    def __repr__(self) -> str:
        return self._repr_of("level")


class LZ4(_RustCodec):
    """LZ4 block compression with numcodecs' 4-byte size header, as ``numcodecs.LZ4``.

    Parameters
    ----------
    acceleration : int
        Acceleration factor (higher: faster, less compression).
    """

    codec_id = "lz4"
    DEFAULT_ACCELERATION = 1
    #: The largest input, in bytes, of ``encode`` and ``decode`` (numcodecs' limit; larger ones
    #: are a ``ValueError``). May be changed on the class or on an instance.
    max_buffer_size = 0x7E000000

    def __init__(self, acceleration: int = DEFAULT_ACCELERATION):
        self.acceleration = acceleration
        self._codec()

    def encode(self, buf: Any) -> Any:
        check_buffer_size(buf, self.max_buffer_size)
        return super().encode(buf)

    def decode(self, buf: Any, out: Any = None) -> Any:
        check_buffer_size(buf, self.max_buffer_size)
        return super().decode(buf, out)

    def get_config(self) -> Dict[str, Any]:
        return self._config_of("acceleration")

    def __repr__(self) -> str:
        return self._repr_of("acceleration")



class PCodec(_RustCodec):
    """Pcodec (pco) compression of numerical arrays, as ``numcodecs.PCodec`` (built in: no
    ``pcodec`` package needed; the bytes are those of ``pcodec`` 1.1.0).

    Takes native-order ``uint16``/``32``/``64``, ``int16``/``32``/``64`` and
    ``float16``/``32``/``64`` arrays (items in memory order). ``decode`` returns a 1-d array of
    the stored dtype (``None`` for an empty array, whose data records no dtype, as numcodecs).

    Parameters
    ----------
    level : int
        Compression level 0-12 (12: smallest, slowest).
    mode_spec : {"auto", "classic"}
        Whether pco looks for a better mode of the numbers or takes them as they are.
    delta_spec : {"auto", "none", "no_op", "try_consecutive", "try_lookback"}
        Delta encoding strategy (``"none"`` and ``"no_op"``: no delta encoding).
    paging_spec : {"equal_pages_up_to"}
        Paging strategy (the only one).
    delta_encoding_order : int or None
        Consecutive delta order 0-7, with ``delta_spec`` ``"try_consecutive"`` (or ``"auto"``).
    equal_pages_up_to : int
        The most numbers per chunk.
    """

    codec_id = "pcodec"
    _encode_result = "bytes"
    _decode_result = "array"

    def __init__(
        self,
        level: int = 8,
        *,
        mode_spec: str = "auto",
        delta_spec: str = "auto",
        paging_spec: str = "equal_pages_up_to",
        delta_encoding_order: Optional[int] = None,
        equal_pages_up_to: int = 262144,
    ):
        self.level = level
        self.mode_spec = mode_spec
        self.delta_spec = delta_spec
        self.paging_spec = paging_spec
        self.delta_encoding_order = delta_encoding_order
        self.equal_pages_up_to = equal_pages_up_to
        self._codec()

    def get_config(self) -> Dict[str, Any]:
        return self._config_of(
            "level",
            "mode_spec",
            "delta_spec",
            "paging_spec",
            "delta_encoding_order",
            "equal_pages_up_to",
        )

    def decode(self, buf: Any, out: Any = None) -> Any:
        dec = super().decode(buf, out)
        if out is None and dec.size == 0 and dec.dtype == np.uint8:
            return None
        return dec

