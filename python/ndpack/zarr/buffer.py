"""zarr buffer classes over ndpack's memory: :class:`Buffer` (flat bytes) and :class:`NDBuffer`
(N-d arrays), subclasses of zarr's CPU buffers whose new memory is ndpack's 64-byte aligned
allocation. Select them with ``zarr.config.set({"buffer": "ndpack.zarr.Buffer", "ndbuffer":
"ndpack.zarr.NDBuffer"})`` or pass :func:`buffer_prototype` as ``prototype=``.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import numpy as np
from zarr.core.buffer import BufferPrototype
from zarr.core.buffer import cpu

from .. import _ndpack

__all__ = ["Buffer", "NDBuffer", "buffer_prototype"]


def _aligned(shape: Iterable[int], dtype: Any, order: str) -> np.ndarray:
    """A zeroed array in ndpack's aligned memory."""
    shape = tuple(int(s) for s in shape)
    dt = np.dtype(dtype)
    n = int(np.prod(shape, dtype=np.int64)) * dt.itemsize
    raw = _ndpack.aligned_zeros(n)
    if dt.hasobject:
        return np.zeros(shape, dtype=dt, order=order)  # type: ignore[call-overload]
    flat = raw.view(dt) if n else np.empty(0, dtype=dt)
    return flat.reshape(shape, order=order)  # type: ignore[call-overload]


class Buffer(cpu.Buffer):
    """zarr's flat byte buffer over host memory; ``from_buffer`` shares memory, ``combine``
    makes one allocation."""

    @classmethod
    def from_buffer(cls, buffer: Any) -> Buffer:
        if isinstance(buffer, cls):
            return buffer
        return cls(np.asarray(buffer.as_array_like()).view("B").reshape(-1))

    def combine(self, others: Iterable[Any]) -> Buffer:
        parts = [self.as_numpy_array(), *(np.asarray(o.as_array_like()) for o in others)]
        total = sum(p.nbytes for p in parts)
        out = _aligned((total,), "B", "C")
        pos = 0
        for p in parts:
            out[pos : pos + p.nbytes] = p.view("B").reshape(-1)
            pos += p.nbytes
        return self.__class__(out)


class NDBuffer(cpu.NDBuffer):
    """zarr's N-d buffer whose new arrays (``create``, ``empty``) are ndpack's aligned memory."""

    @classmethod
    def create(cls, *, shape: Iterable[int], dtype: Any, order: str = "C", fill_value: Any | None = None) -> NDBuffer:
        arr = _aligned(shape, dtype, order)
        if fill_value is not None and not (isinstance(fill_value, (int, float)) and fill_value == 0 and not np.isnan(fill_value)):
            arr[...] = fill_value
        return cls(arr)

    @classmethod
    def empty(cls, shape: tuple[int, ...], dtype: Any, order: str = "C") -> NDBuffer:
        return cls(_aligned(shape, dtype, order))


def buffer_prototype() -> BufferPrototype:
    """A zarr ``BufferPrototype`` of ndpack's buffer classes."""
    return BufferPrototype(buffer=Buffer, nd_buffer=NDBuffer)
