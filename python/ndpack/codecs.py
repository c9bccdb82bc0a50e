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

>>> from ndpack.codecs import Zlib
>>> codec = Zlib(level=5)
>>> codec.decode(codec.encode(b"hello" * 100)) == b"hello" * 100
True
"""

from __future__ import annotations

import json
import zlib as _zlib
from typing import Any, Dict, List, Optional, Type

import numpy as np

from . import _ndpack
from ._base import (
    Codec,
    ObjectArrayError,
    check_buffer_size,
    contiguous,
    ensure_ndarray,
    ndarray_copy,
    raw_view,
)

UnknownCodecError = _ndpack.UnknownCodecError
CodecConfigError = _ndpack.CodecConfigError
ChecksumError = _ndpack.ChecksumError
CorruptInputError = _ndpack.CorruptInputError


def _prepare(buf: Any, view: Optional[np.dtype] = None):
    """``(data, dtype_str, shape, order)`` for the Rust codec: ``data`` shares ``buf``'s memory
    unless ``buf`` is not contiguous, in which case it is copied in C order first."""
    if view is None and isinstance(buf, (bytes, bytearray, _ndpack.Buffer)):
        return buf, None, None, None
    if view is None and isinstance(buf, _ndpack.NDBuffer):
        return buf, None, None, None
    arr = ensure_ndarray(buf)
    if view is not None and arr.dtype != view:
        arr = arr.view(view)
    arr, order = contiguous(arr)
    return raw_view(arr), arr.dtype.str, arr.shape, order


def _count(shape) -> int:
    """The number of items of ``shape``."""
    n = 1
    for s in shape:
        n *= s
    return n


def _to_array(result, flat: bool = False) -> np.ndarray:
    """A NumPy array from a Rust result ``(data, dtype_str, shape, order)``."""
    data, dtype, shape, order = result
    arr = data if isinstance(data, np.ndarray) else np.frombuffer(data, dtype=np.uint8)
    dt = np.dtype(dtype)
    if dt.itemsize == 0:
        return np.empty(0 if flat else shape, dtype=dt)
    if dt != arr.dtype:
        arr = arr.view(dt)
    if flat:
        return arr
    return arr.reshape(shape, order=order)


class _RustCodec(Codec):
    """A codec run by the Rust registry. Subclasses define ``codec_id``, their parameters and
    ``get_config``; the Rust codec is built from ``get_config()`` and rebuilt when a public
    attribute changes."""

    #: What ``encode`` returns: ``"bytes"`` or ``"array"`` (a NumPy array).
    _encode_result = "bytes"
    #: What ``decode`` returns: ``"bytes"``, ``"array"`` or ``"view"`` (a ``uint8`` view of the
    #: payload inside the input, for codecs that give its range; else a read-only ``uint8`` array
    #: over the Rust result; no copy either way).
    _decode_result = "bytes"
    #: Whether array results are 1-d (numcodecs flattens) rather than in the input's shape.
    _flat = True
    #: Whether ``decode(buf, out)`` copies into an object-dtype ``out`` (filters, as numcodecs'
    #: ``ndarray_copy``) rather than raising :class:`ObjectArrayError` (compressors, checksums).
    _object_out = False

    def __setattr__(self, name: str, value: Any) -> None:
        object.__setattr__(self, name, value)
        if not name.startswith("_"):
            self.__dict__.pop("_rust_codec", None)

    def _codec(self):
        codec = self.__dict__.get("_rust_codec")
        if codec is None:
            codec = _ndpack.Codec(json.dumps(self._rust_config()))
            self.__dict__["_rust_codec"] = codec
        return codec

    def _rust_config(self) -> Dict[str, Any]:
        return self.get_config()

    def _encode_view(self) -> Optional[np.dtype]:
        """The dtype numcodecs views the input as before encoding (``None``: as given)."""
        return None

    def _decode_view(self, buf: Any) -> Optional[np.dtype]:
        """The dtype numcodecs views the encoded input as before decoding."""
        return None

    def _encode_layout(self, dtype: Any, shape: Any, order: Any):
        """``(dtype, shape)`` of the array ``encode`` returns for a prepared input, for filters
        that the Rust codec writes straight into a new NumPy array (``None``: others)."""
        return None

    def _decode_layout(self, data: Any, dtype: Any, shape: Any, order: Any):
        """``(dtype, shape)`` of the array ``decode`` returns for a prepared input, for filters
        that the Rust codec decodes straight into a new NumPy array (``None``: others)."""
        return None

    def encode(self, buf: Any) -> Any:
        data, dtype, shape, order = _prepare(buf, self._encode_view())
        if dtype is not None:
            layout = self._encode_layout(dtype, shape, order)
            if layout is not None:
                # Straight into NumPy's memory: no zeroing, no copy.
                out = np.empty(layout[1], dtype=layout[0], order=order)
                raw = out.reshape(-1, order="A").view(np.uint8) if out.nbytes else out
                self._codec().encode_into(data, raw, dtype, shape, order)
                return out
        kind = "bytes" if self._encode_result == "bytes" else "array"
        result = self._codec().encode(data, dtype, shape, order, kind)
        if kind == "bytes":
            return result[0]
        return _to_array(result, self._flat)

    def decode(self, buf: Any, out: Any = None) -> Any:
        data, dtype, shape, order = _prepare(buf, self._decode_view(buf))
        if out is None and dtype is not None:
            layout = self._decode_layout(data, dtype, shape, order)
            if layout is not None:
                out = np.empty(layout[1], dtype=layout[0], order=order)
        if out is not None:
            target = ensure_ndarray(out)
            if target.dtype.hasobject and not self._object_out:
                raise ObjectArrayError("object arrays are not supported")
            if (
                target.flags.writeable
                and (target.flags.c_contiguous or target.flags.f_contiguous)
                and not target.dtype.hasobject
            ):
                raw = target.reshape(-1, order="A").view(np.uint8) if target.nbytes else target
                self._codec().decode_into(
                    data,
                    raw,
                    target.dtype.str,
                    target.shape,
                    "F" if target.flags.f_contiguous and not target.flags.c_contiguous else "C",
                )
                return target
            return ndarray_copy(self.decode(buf), target)
        if self._decode_result == "view":
            # The payload is a part of the input: check it and view it, without a copy.
            span = self._codec().decode_range(data)
            if span is not None:
                arr = data if isinstance(data, np.ndarray) else np.frombuffer(data, dtype=np.uint8)
                return arr[span[0] : span[1]]
        kind = {"bytes": "bytes", "array": "array", "view": "buffer"}[self._decode_result]
        result = self._codec().decode(data, dtype, shape, order, kind)
        if kind == "bytes":
            return result[0]
        if kind == "buffer":
            return np.frombuffer(result[0], dtype=np.uint8)
        return _to_array(result, self._flat)

    def __getstate__(self) -> Dict[str, Any]:
        return {k: v for k, v in self.__dict__.items() if k != "_rust_codec"}

    def __setstate__(self, state: Dict[str, Any]) -> None:
        self.__dict__.update(state)


# --- compressors -----------------------------------------------------------------------------


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
        return {"id": self.codec_id, "level": self.level}

    def __repr__(self) -> str:
        return f"{type(self).__name__}(level={self.level!r})"


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
        return {
            "id": self.codec_id,
            "format": self.format,
            "check": self.check,
            "preset": self.preset,
            "filters": self.filters,
        }

    def __repr__(self) -> str:
        return (
            f"{type(self).__name__}(format={self.format!r}, check={self.check!r}, "
            f"preset={self.preset!r}, filters={self.filters!r})"
        )


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
        return {"id": self.codec_id, "level": self.level, "checksum": self.checksum}

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
        return f"{type(self).__name__}(level={self.level!r})"


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
        return {"id": self.codec_id, "acceleration": self.acceleration}

    def __repr__(self) -> str:
        return f"{type(self).__name__}(acceleration={self.acceleration!r})"


# --- checksums -------------------------------------------------------------------------------


class _Checksum32(_RustCodec):
    """A 32-bit checksum stored with the data (``location``: ``"start"`` or ``"end"``)."""

    _encode_result = "array"
    # numcodecs returns a view of the payload inside the input; so does ndpack.
    _decode_result = "view"

    def __init__(self, location: Optional[str] = None):
        if location is not None:
            self.location = location
        loc = self.__dict__.get("location", "start")
        if loc not in ("start", "end"):
            raise ValueError(f"Invalid checksum location: {loc}")
        self._codec()

    def get_config(self) -> Dict[str, Any]:
        config: Dict[str, Any] = {"id": self.codec_id}
        if "location" in self.__dict__:
            config["location"] = self.__dict__["location"]
        return config

    def _encode_view(self):
        return None

    def encode(self, buf: Any) -> np.ndarray:
        return super().encode(_bytes_view(buf))

    def decode(self, buf: Any, out: Any = None) -> Any:
        return super().decode(_bytes_view(buf), out)

    def __repr__(self) -> str:
        params = "".join(
            f"location={self.__dict__['location']!r}" if "location" in self.__dict__ else ""
        )
        return f"{type(self).__name__}({params})"


def _bytes_view(buf: Any) -> Any:
    """``buf`` as plain bytes (checksums and byte codecs look at bytes only)."""
    if isinstance(buf, (bytes, bytearray, _ndpack.Buffer)):
        return buf
    arr, _ = contiguous(ensure_ndarray(buf))
    return raw_view(arr)


class CRC32(_Checksum32):
    """CRC-32 (zlib's) of the data, as ``numcodecs.CRC32``; 4 little-endian bytes at
    ``location`` (default ``"start"``)."""

    codec_id = "crc32"

    @staticmethod
    def checksum(data: Any, value: int = 0) -> int:
        """The CRC-32 of ``data`` (bytes-like) continuing from ``value`` (``zlib.crc32``)."""
        return _zlib.crc32(data, value)


class Adler32(_Checksum32):
    """Adler-32 of the data, as ``numcodecs.Adler32``."""

    codec_id = "adler32"

    @staticmethod
    def checksum(data: Any, value: int = 1) -> int:
        """The Adler-32 of ``data`` (bytes-like) continuing from ``value`` (``zlib.adler32``)."""
        return _zlib.adler32(data, value)


class CRC32C(_Checksum32):
    """CRC-32C (Castagnoli) of the data, as ``numcodecs.CRC32C`` (default location ``"end"``)."""

    codec_id = "crc32c"

    @staticmethod
    def checksum(data: Any, value: int = 0) -> int:
        """The CRC-32C of ``data`` (bytes-like) continuing from ``value``, the CRC-32C of the bytes
        before it: ``checksum(b, checksum(a)) == checksum(a + b)``."""
        return _ndpack.crc32c(_bytes_view(data), value)


class Fletcher32(_RustCodec):
    """Fletcher-32 checksum appended to the data (HDF5's layout), as ``numcodecs.Fletcher32``.

    ``encode`` returns ``bytes``; ``decode`` returns the payload as a ``uint8`` array.
    """

    codec_id = "fletcher32"
    _encode_result = "bytes"
    _decode_result = "view"

    def __init__(self):
        self._codec()

    def get_config(self) -> Dict[str, Any]:
        return {"id": self.codec_id}

    def encode(self, buf: Any) -> bytes:
        return super().encode(_bytes_view(buf))

    def decode(self, buf: Any, out: Any = None) -> Any:
        return super().decode(_bytes_view(buf), out)

    def __repr__(self) -> str:
        return f"{type(self).__name__}()"


class JenkinsLookup3(_RustCodec):
    """Bob Jenkins' lookup3 hash (HDF5's 32-bit checksum) appended to the data, as
    ``numcodecs.JenkinsLookup3``.

    ``encode`` returns ``bytes``; ``decode`` checks the hash and returns the data as a
    ``memoryview`` of bytes (numcodecs' result).

    Parameters
    ----------
    initval : int
        Seed of the hash, 0 to 2**32 - 1.
    prefix : bytes-like or list of int, optional
        Bytes hashed before the data (not stored); kept as a ``uint8`` array.
    """

    codec_id = "jenkins_lookup3"
    _encode_result = "bytes"
    _decode_result = "view"

    def __init__(self, initval: int = 0, prefix: Any = None):
        self.initval = initval
        if prefix is None:
            self.prefix = None
        elif isinstance(prefix, (list, tuple)):
            self.prefix = np.asarray(prefix, dtype="uint8")
        else:
            self.prefix = np.frombuffer(prefix, dtype="uint8")
        self._codec()

    def get_config(self) -> Dict[str, Any]:
        return {"id": self.codec_id, "initval": self.initval, "prefix": self.prefix}

    def _rust_config(self) -> Dict[str, Any]:
        prefix = None if self.prefix is None else np.asarray(self.prefix, dtype="uint8").tolist()
        return {"id": self.codec_id, "initval": self.initval, "prefix": prefix}

    def encode(self, buf: Any) -> bytes:
        return super().encode(_bytes_view(buf))

    def decode(self, buf: Any, out: Any = None) -> Any:
        dec = super().decode(_bytes_view(buf), out)
        return dec if out is not None else memoryview(dec)

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, JenkinsLookup3):
            return super().__eq__(other)
        mine, theirs = self._rust_config(), other._rust_config()
        return mine == theirs

    def __hash__(self) -> int:
        return hash(json.dumps(self._rust_config()))


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
        return {
            "id": self.codec_id,
            "level": self.level,
            "mode_spec": self.mode_spec,
            "delta_spec": self.delta_spec,
            "paging_spec": self.paging_spec,
            "delta_encoding_order": self.delta_encoding_order,
            "equal_pages_up_to": self.equal_pages_up_to,
        }

    def decode(self, buf: Any, out: Any = None) -> Any:
        dec = super().decode(buf, out)
        if out is None and dec.size == 0 and dec.dtype == np.uint8:
            return None
        return dec


# --- filters ---------------------------------------------------------------------------------


def _no_object(*dtypes: np.dtype) -> None:
    if any(d == np.dtype(object) for d in dtypes):
        raise ValueError("object arrays are not supported")


class _Filter(_RustCodec):
    _encode_result = "array"
    _decode_result = "array"
    _object_out = True


class _ItemFilter(_Filter):
    """A filter writing one ``astype`` item for each ``dtype`` item: numcodecs views the input as
    ``dtype`` to encode and as ``astype`` to decode, and the result holds as many items, 1-d
    (``_flat``) or in the input's shape."""

    def _set_types(self, dtype: Any, astype: Any) -> None:
        self.dtype = np.dtype(dtype)
        self.astype = self.dtype if astype is None else np.dtype(astype)

    def _encode_view(self):
        return self.dtype

    def _decode_view(self, buf):
        return self.astype

    def _encode_layout(self, dtype, shape, order):
        return self.astype, (_count(shape),) if self._flat else shape

    def _decode_layout(self, data, dtype, shape, order):
        return self.dtype, (_count(shape),) if self._flat else shape

    def _astype_repr(self) -> str:
        """``", astype=..."`` for ``__repr__`` when ``astype`` is not ``dtype``, else ``""``."""
        return f", astype={self.astype.str!r}" if self.astype != self.dtype else ""


class Delta(_ItemFilter):
    """Differences between consecutive items, as ``numcodecs.Delta`` (the first item kept).

    Parameters
    ----------
    dtype : dtype
        Data type of the input.
    astype : dtype, optional
        Data type of the encoded items (default: ``dtype``).
    """

    codec_id = "delta"

    def __init__(self, dtype: Any, astype: Any = None):
        self._set_types(dtype, astype)
        _no_object(self.dtype, self.astype)
        self._codec()

    def get_config(self) -> Dict[str, Any]:
        return {"id": self.codec_id, "dtype": self.dtype.str, "astype": self.astype.str}

    def __repr__(self) -> str:
        return f"{type(self).__name__}(dtype={self.dtype.str!r}{self._astype_repr()})"


class FixedScaleOffset(_ItemFilter):
    """``round((x - offset) * scale)`` stored as ``astype``, as ``numcodecs.FixedScaleOffset``.

    Parameters
    ----------
    offset : float
        Value subtracted from the data.
    scale : float
        Value the data is multiplied by.
    dtype : dtype
        Data type of the input.
    astype : dtype, optional
        Data type of the encoded items (default: ``dtype``).
    """

    codec_id = "fixedscaleoffset"

    def __init__(self, offset: Any, scale: Any, dtype: Any, astype: Any = None):
        self.offset = offset
        self.scale = scale
        self._set_types(dtype, astype)
        _no_object(self.dtype, self.astype)
        self._codec()

    def get_config(self) -> Dict[str, Any]:
        return {
            "id": self.codec_id,
            "scale": self.scale,
            "offset": self.offset,
            "dtype": self.dtype.str,
            "astype": self.astype.str,
        }

    def __repr__(self) -> str:
        return (
            f"{type(self).__name__}(scale={self.scale}, offset={self.offset}, "
            f"dtype={self.dtype.str!r}{self._astype_repr()})"
        )


class Quantize(_ItemFilter):
    """Keeps ``digits`` decimal digits of precision, as ``numcodecs.Quantize`` (lossy).

    Parameters
    ----------
    digits : int
        Number of decimal digits to keep.
    dtype : dtype
        Floating-point data type of the input.
    astype : dtype, optional
        Floating-point data type of the encoded items (default: ``dtype``).
    """

    codec_id = "quantize"
    _flat = False

    def __init__(self, digits: int, dtype: Any, astype: Any = None):
        self.digits = digits
        self._set_types(dtype, astype)
        if self.dtype.kind != "f" or self.astype.kind != "f":
            raise ValueError("only floating point data types are supported")
        self._codec()

    def get_config(self) -> Dict[str, Any]:
        return {
            "id": self.codec_id,
            "digits": self.digits,
            "dtype": self.dtype.str,
            "astype": self.astype.str,
        }

    def decode(self, buf: Any, out: Any = None) -> Any:
        # Lossy filter: decoding casts back to ``dtype``; with ``astype == dtype`` that is a view
        # of the input (numcodecs' ``astype(copy=False)``), no copy.
        if self.astype == self.dtype and not isinstance(buf, _ndpack.NDBuffer):
            arr = ensure_ndarray(buf)
            if not arr.dtype.hasobject and arr.nbytes % self.dtype.itemsize == 0:
                return ndarray_copy(arr.view(self.dtype), out)
        return super().decode(buf, out)

    def __repr__(self) -> str:
        return (
            f"{type(self).__name__}(digits={self.digits}, dtype={self.dtype.str!r}"
            f"{self._astype_repr()})"
        )


_MAX_BITS = {"float16": 10, "float32": 23, "float64": 52}


class BitRound(_Filter):
    """Rounds the mantissa of floats to ``keepbits`` bits, as ``numcodecs.BitRound`` (lossy).

    ``encode`` returns the rounded values viewed as integers of the same width (numcodecs'
    result), or the input unchanged when ``keepbits`` is the full mantissa.

    Parameters
    ----------
    keepbits : int
        Number of mantissa bits to keep.
    """

    codec_id = "bitround"
    _flat = False

    def __init__(self, keepbits: int):
        if not isinstance(keepbits, (int, np.integer)) or isinstance(keepbits, bool):
            raise CodecConfigError(f"codec bitround: key \"keepbits\" must be an integer, got {keepbits!r}")
        if keepbits < 0:
            raise ValueError("keepbits must be zero or positive")
        self.keepbits = keepbits
        self._codec()

    def get_config(self) -> Dict[str, Any]:
        return {"id": self.codec_id, "keepbits": self.keepbits}

    def encode(self, buf: Any) -> np.ndarray:
        a = ensure_ndarray(buf)
        if a.dtype.kind != "f" or a.dtype.itemsize > 8:
            raise TypeError("Only float arrays (16-64bit) can be bit-rounded")
        bits = _MAX_BITS[str(a.dtype.newbyteorder("="))]
        if self.keepbits == bits:
            return a
        if self.keepbits > bits:
            raise ValueError("Keepbits too large for given dtype")
        enc = super().encode(a)
        return enc.view(np.dtype(a.dtype.str.replace("f", "i")))

    def _decode_view(self, buf):
        a = ensure_ndarray(buf)
        return np.dtype(a.dtype.str.replace("i", "f"))

    def decode(self, buf: Any, out: Any = None) -> Any:
        a = ensure_ndarray(buf)
        data = a.view(np.dtype(a.dtype.str.replace("i", "f")))
        return ndarray_copy(data, out)

    def __repr__(self) -> str:
        return f"{type(self).__name__}(keepbits={self.keepbits})"


class PackBits(_Filter):
    """Packs booleans 8 to a byte after a byte counting the padding bits, as
    ``numcodecs.PackBits``."""

    codec_id = "packbits"

    def __init__(self):
        self._codec()

    def get_config(self) -> Dict[str, Any]:
        return {"id": self.codec_id}

    def _encode_view(self):
        return np.dtype(bool)

    def _decode_view(self, buf):
        return np.dtype("u1")

    def _encode_layout(self, dtype, shape, order):
        return np.dtype("u1"), ((_count(shape) + 7) // 8 + 1,)

    def _decode_layout(self, data, dtype, shape, order):
        # A padding byte (0-7), then the bits; anything else is left to the Rust decoder's error.
        n = len(data)
        if n == 0 or data[0] > 7 or (data[0] > 0 and n == 1):
            return None
        return np.dtype(bool), ((n - 1) * 8 - int(data[0]),)

    def __repr__(self) -> str:
        return f"{type(self).__name__}()"


class Categorize(_Filter):
    """Replaces strings by their index in ``labels`` (0: not a label), as
    ``numcodecs.Categorize``.

    Parameters
    ----------
    labels : list of str
        The category labels; label ``i`` is stored as ``i + 1``.
    dtype : dtype
        Data type of the input: unicode (``U``) or object (strings).
    astype : dtype
        Unsigned integer data type of the encoded items (default ``u1``).
    """

    codec_id = "categorize"

    def __init__(self, labels: Any, dtype: Any, astype: Any = "u1"):
        self.dtype = np.dtype(dtype)
        if self.dtype.kind not in "UO":
            raise TypeError("only unicode ('U') and object ('O') dtypes are supported")
        self.labels = [str(label) for label in labels]
        self.astype = np.dtype(astype)
        if self.astype == np.dtype(object):
            raise TypeError("encoding as object array not supported")
        self._codec()

    def get_config(self) -> Dict[str, Any]:
        return {
            "id": self.codec_id,
            "labels": self.labels,
            "dtype": self.dtype.str,
            "astype": self.astype.str,
        }

    def encode(self, buf: Any) -> np.ndarray:
        arr = ensure_ndarray(buf)
        if self.dtype.kind == "O":
            labels = set(self.labels)
            flat = arr.reshape(-1, order="A")
            width = max([len(label) for label in self.labels] + [1])
            arr = np.array(
                [v if isinstance(v, str) and v in labels else "" for v in flat],
                dtype=f"<U{width}",
            )
            # An empty string that is not a label must still encode as 0.
            if "" in labels:
                miss = np.array([not (isinstance(v, str) and v in labels) for v in flat])
                enc = super().encode(arr)
                enc[miss] = 0
                return enc
            return super().encode(arr)
        return super().encode(arr.view(self.dtype) if arr.dtype != self.dtype else arr)

    def _decode_view(self, buf):
        return self.astype

    def decode(self, buf: Any, out: Any = None) -> Any:
        if self.dtype.kind == "O":
            dec = super().decode(buf).astype(object)
            return ndarray_copy(dec, out)
        return super().decode(buf, out)

    def __repr__(self) -> str:
        labels = repr(self.labels[:3])
        if len(self.labels) > 3:
            labels = labels[:-1] + ", ...]"
        return (
            f"{type(self).__name__}(dtype={self.dtype.str!r}, astype={self.astype.str!r}, "
            f"labels={labels})"
        )


class AsType(_Filter):
    """Converts items to ``encode_dtype`` (NumPy's casting), back to ``decode_dtype``, as
    ``numcodecs.AsType``.

    Parameters
    ----------
    encode_dtype : dtype
        Data type of the encoded items.
    decode_dtype : dtype
        Data type of the input and of the decoded items.
    """

    codec_id = "astype"
    _flat = False

    def __init__(self, encode_dtype: Any, decode_dtype: Any):
        self.encode_dtype = np.dtype(encode_dtype)
        self.decode_dtype = np.dtype(decode_dtype)
        self._codec()

    def get_config(self) -> Dict[str, Any]:
        return {
            "id": self.codec_id,
            "encode_dtype": self.encode_dtype.str,
            "decode_dtype": self.decode_dtype.str,
        }

    def _encode_view(self):
        return self.decode_dtype

    def _decode_view(self, buf):
        return self.encode_dtype

    def _encode_layout(self, dtype, shape, order):
        return self.encode_dtype, shape

    def _decode_layout(self, data, dtype, shape, order):
        return self.decode_dtype, shape

    def __repr__(self) -> str:
        return (
            f"{type(self).__name__}(encode_dtype={self.encode_dtype.str!r}, "
            f"decode_dtype={self.decode_dtype.str!r})"
        )


class Shuffle(_Filter):
    """Byte shuffle: byte ``i`` of every element together, as ``numcodecs.Shuffle``.

    Parameters
    ----------
    elementsize : int
        Size of the elements in bytes.
    """

    codec_id = "shuffle"
    # Works on raw bytes: an object-dtype `out` is refused, as numcodecs does.
    _object_out = False

    def __init__(self, elementsize: int = 4):
        self.elementsize = elementsize
        self._codec()

    def get_config(self) -> Dict[str, Any]:
        return {"id": self.codec_id, "elementsize": self.elementsize}

    def encode(self, buf: Any) -> np.ndarray:
        return super().encode(_bytes_view(buf))

    def decode(self, buf: Any, out: Any = None) -> Any:
        return super().decode(_bytes_view(buf), out)

    def __repr__(self) -> str:
        return f"{type(self).__name__}(elementsize={self.elementsize})"


# --- registry --------------------------------------------------------------------------------

_CLASSES: List[Type[Codec]] = [
    Zlib,
    GZip,
    BZ2,
    LZMA,
    Zstd,
    LZ4,
    CRC32,
    Adler32,
    CRC32C,
    Fletcher32,
    JenkinsLookup3,
    PCodec,
    Delta,
    FixedScaleOffset,
    Quantize,
    BitRound,
    PackBits,
    Categorize,
    AsType,
    Shuffle,
]

# Codecs written in their own modules, re-exported here under numcodecs' names.
from ._object_codecs import JSON, Base64, MsgPack, Pickle, VLenArray, VLenBytes, VLenUTF8  # noqa: E402
from .blosc import Blosc  # noqa: E402
from .zfpy import ZFPY  # noqa: E402

_CLASSES += [VLenUTF8, VLenBytes, VLenArray, JSON, MsgPack, Pickle, Base64, ZFPY, Blosc]

#: Codec classes by codec id.
codec_registry: Dict[str, Type[Codec]] = {cls.codec_id: cls for cls in _CLASSES}


def register_codec(cls: Type[Codec], codec_id: Optional[str] = None) -> None:
    """Registers ``cls`` under ``codec_id`` (default: ``cls.codec_id``) for :func:`get_codec`,
    replacing any class registered under that id."""
    codec_registry[codec_id or cls.codec_id] = cls


def get_codec(config: Dict[str, Any]) -> Codec:
    """The codec of a numcodecs configuration, e.g. ``get_codec({"id": "zlib", "level": 1})``.

    Raises ``UnknownCodecError`` (a ``ValueError``, like numcodecs', and a ``KeyError``) for an
    unknown id, and ``CodecConfigError`` (a ``ValueError`` and a ``TypeError``) for an unknown key.
    """
    config = dict(config)
    codec_id = config.pop("id", None)
    cls = codec_registry.get(codec_id)  # type: ignore[arg-type]
    if cls is None:
        raise UnknownCodecError(f"codec not available: {codec_id!r}")
    return cls.from_config(config)


def available_ids() -> List[str]:
    """The ids of :data:`codec_registry` that work in this build (a class backed by a Rust codec
    counts when that Rust codec is compiled in)."""
    rust = set(_ndpack.codec_ids())
    return sorted(
        codec_id
        for codec_id, cls in codec_registry.items()
        if not issubclass(cls, _RustCodec) or codec_id in rust
    )


def register_numcodecs(ids: Optional[List[str]] = None) -> List[str]:
    """Puts ndpack's codec classes into numcodecs' registry under their standard ids (every id of
    :func:`available_ids`, or those in ``ids``), so that ``numcodecs.get_codec`` and zarr use
    ndpack.

    Returns the ids registered. Requires numcodecs.
    """
    import numcodecs

    chosen = available_ids() if ids is None else list(ids)
    for codec_id in chosen:
        numcodecs.register_codec(codec_registry[codec_id], codec_id=codec_id)
    return chosen


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
