"""The array helpers the codec classes share, with numcodecs' ``compat`` semantics
(``ensure_ndarray``, ``ndarray_copy``) and the checks before memory goes to Rust.
"""

from __future__ import annotations

import array
from typing import Any, Optional, Tuple

import numpy as np

from .errors import ObjectArrayError

__all__ = ["ensure_ndarray", "ndarray_copy", "check_buffer_size", "contiguous", "raw_view", "ObjectArrayError"]


def ensure_ndarray(buf: Any) -> np.ndarray:
    """A NumPy array over ``buf``'s memory without copying (numcodecs' ``ensure_ndarray``)."""
    if isinstance(buf, np.ndarray):
        return buf
    if isinstance(buf, array.array) and buf.typecode == "u":
        raise TypeError("array.array with char or unicode type is not supported")
    if isinstance(buf, (bytes, bytearray, memoryview)):
        return np.asarray(memoryview(buf))
    if hasattr(buf, "__array_interface__") or hasattr(buf, "__array__"):
        return np.asarray(buf)
    return np.asarray(memoryview(buf))


def check_buffer_size(buf: Any, max_buffer_size: Optional[int]) -> None:
    """Raises ``ValueError`` (numcodecs' message) when ``buf`` holds more than
    ``max_buffer_size`` bytes (``None``: no limit)."""
    if max_buffer_size is None:
        return
    nbytes = len(buf) if isinstance(buf, (bytes, bytearray)) else ensure_ndarray(buf).nbytes
    if nbytes > max_buffer_size:
        raise ValueError(f"Codec does not support buffers of > {max_buffer_size} bytes")


def contiguous(arr: np.ndarray) -> Tuple[np.ndarray, str]:
    """``(arr, order)`` for handing an array's memory to Rust: ``arr`` itself and ``"C"`` or
    ``"F"`` when it is contiguous in that order, else a C-order copy and ``"C"``. Object arrays
    are an :class:`ObjectArrayError` (a ``TypeError`` and ``ValueError``)."""
    if arr.dtype.hasobject:
        raise ObjectArrayError("object arrays are not supported")
    if arr.flags.c_contiguous:
        return arr, "C"
    if arr.flags.f_contiguous:
        return arr, "F"
    return np.ascontiguousarray(arr), "C"


def raw_view(arr: np.ndarray) -> Any:
    """The bytes of a contiguous array, as a 1-d ``uint8`` view (no copy); ``b""`` when empty."""
    if arr.nbytes == 0:
        return b""
    return arr.reshape(-1, order="A").view(np.uint8)


def ndarray_copy(src: Any, dst: Any) -> Any:
    """Copies ``src``'s items into ``dst`` (viewed with ``dst``'s dtype and shape) and returns
    ``dst`` as an array, as numcodecs does for ``decode(buf, out=dst)``."""
    if dst is None:
        return src
    src = ensure_ndarray(src)
    dst = ensure_ndarray(dst)
    src = src.reshape(-1, order="A")
    if dst.dtype != object:
        src = src.view(dst.dtype)
    if src.shape != dst.shape:
        order = "F" if dst.flags.f_contiguous and not dst.flags.c_contiguous else "C"
        src = src.reshape(dst.shape, order=order)
    np.copyto(dst, src)
    return dst
