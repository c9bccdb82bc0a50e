"""Filters, as numcodecs' ``Delta``, ``FixedScaleOffset``, ``Quantize``, ``BitRound``,
``PackBits``, ``Categorize``, ``AsType`` and ``Shuffle``: ``encode`` and ``decode`` return NumPy
arrays of numcodecs' dtype and shape.
"""

from __future__ import annotations

from typing import Any, Dict

import numpy as np

from .. import _ndpack
from ._rust import _bytes_view, _count, _RustCodec
from .compat import ensure_ndarray, ndarray_copy
from .errors import CodecConfigError

__all__ = ["Delta", "FixedScaleOffset", "Quantize", "BitRound", "PackBits", "Categorize", "AsType", "Shuffle"]


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
        return self._config_of(dtypes=("dtype", "astype"))

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
        return self._config_of("scale", "offset", dtypes=("dtype", "astype"))

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
        return self._config_of("digits", dtypes=("dtype", "astype"))

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
        return self._config_of("keepbits")

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
        return self._config_of("labels", dtypes=("dtype", "astype"))

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
        return self._config_of(dtypes=("encode_dtype", "decode_dtype"))

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
        return self._config_of("elementsize")

    def encode(self, buf: Any) -> np.ndarray:
        return super().encode(_bytes_view(buf))

    def decode(self, buf: Any, out: Any = None) -> Any:
        return super().decode(_bytes_view(buf), out)

    def __repr__(self) -> str:
        return f"{type(self).__name__}(elementsize={self.elementsize})"

