"""The machinery behind the codec classes that ndpack's Rust codecs run: ``_RustCodec`` builds the
Rust codec from the class's numcodecs config, hands it the input's memory without copying and
shapes the result as numcodecs does.
"""

from __future__ import annotations

import json
from typing import Any, Dict, Optional

import numpy as np

from .. import _ndpack
from .abc import Codec
from .compat import ObjectArrayError, contiguous, ensure_ndarray, ndarray_copy, raw_view


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


def _bytes_view(buf: Any) -> Any:
    """``buf`` as plain bytes (checksums and byte codecs look at bytes only)."""
    if isinstance(buf, (bytes, bytearray, _ndpack.Buffer)):
        return buf
    arr, _ = contiguous(ensure_ndarray(buf))
    return raw_view(arr)

