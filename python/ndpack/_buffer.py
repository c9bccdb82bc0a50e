"""``ndpack.Buffer`` and ``ndpack.NDBuffer``: the Rust buffer types with zarr's method names.

Both are immutable and share memory without copying: made from a NumPy array, ``bytes`` or any
object with the buffer protocol, they keep that object alive and own no copy; NumPy reads them
without a copy through the buffer protocol, ``__array_interface__`` or DLPack
(``np.from_dlpack``). Arrays they give out are read-only views.
"""

from __future__ import annotations

import math
from typing import Any, Iterable, Optional, Sequence, Tuple, Union

import numpy as np

from . import _ndpack
from .codecs.compat import contiguous, raw_view

__all__ = ["Buffer", "NDBuffer"]


def _shape_tuple(shape: Union[int, Iterable[int]]) -> Tuple[int, ...]:
    if isinstance(shape, (int, np.integer)):
        return (int(shape),)
    return tuple(int(d) for d in shape)


class Buffer(_ndpack.Buffer):
    """An immutable, contiguous block of bytes (zarr's ``Buffer`` interface).

    ``Buffer(obj)`` wraps any object with the buffer protocol without copying it.
    """

    __slots__ = ()

    @classmethod
    def from_bytes(cls, bytes_like: Any) -> "Buffer":
        """A buffer over ``bytes_like`` (``bytes``, ``bytearray``, ``memoryview``, ...), no copy."""
        return cls(bytes_like)

    @classmethod
    def from_array_like(cls, array_like: Any) -> "Buffer":
        """A buffer over the bytes of a contiguous array (any dtype), no copy."""
        arr = np.asarray(array_like)
        if arr.dtype.hasobject:
            raise TypeError("object arrays have no bytes to share")
        if not (arr.flags.c_contiguous or arr.flags.f_contiguous):
            raise ValueError("an array with contiguous memory is required")
        return cls(raw_view(arr))

    @classmethod
    def from_buffer(cls, buffer: Any) -> "Buffer":
        """A buffer sharing the memory of another buffer."""
        return cls(buffer)

    @classmethod
    def create_zero_length(cls) -> "Buffer":
        """An empty buffer."""
        return cls()

    def to_bytes(self) -> bytes:
        """A copy of the bytes."""
        return super().to_bytes()

    def as_array_like(self) -> np.ndarray:
        """The bytes as a read-only 1-d ``uint8`` NumPy array (no copy)."""
        return np.asarray(self)

    def as_numpy_array(self) -> np.ndarray:
        """The bytes as a read-only 1-d ``uint8`` NumPy array (no copy)."""
        return np.asarray(self)

    def as_buffer_like(self) -> memoryview:
        """A read-only ``memoryview`` of the bytes (no copy)."""
        return memoryview(self)

    def __getitem__(self, key: slice) -> "Buffer":
        if not isinstance(key, slice):
            raise TypeError("Buffer supports slicing only; use as_numpy_array() for items")
        start, stop, step = key.indices(len(self))
        if step != 1:
            raise ValueError("Buffer slices must be contiguous (step 1)")
        return type(self)(self._slice(start, max(start, stop)))

    def __add__(self, other: Any) -> "Buffer":
        """A new buffer with this buffer's bytes followed by ``other``'s."""
        return type(self)(self._concat(other))

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, _ndpack.Buffer):
            return NotImplemented
        return self._bytes_equal(other)

    __hash__ = None  # type: ignore[assignment]


class NDBuffer(_ndpack.NDBuffer):
    """An immutable N-d array: dtype, shape and C/F order over shared bytes (zarr's ``NDBuffer``
    interface).

    ``NDBuffer(obj, dtype, shape, order="C")`` wraps the bytes of ``obj`` without copying.
    """

    __slots__ = ()

    @classmethod
    def create(
        cls,
        *,
        shape: Iterable[int],
        dtype: Any,
        order: str = "C",
        fill_value: Optional[Any] = None,
    ) -> "NDBuffer":
        """A new array of ``shape`` filled with ``fill_value`` (zeros when ``None``)."""
        dt = np.dtype(dtype)
        if dt.hasobject:
            raise TypeError("object arrays are not supported")
        fill = None if fill_value is None else np.array(fill_value, dtype=dt).tobytes()
        return cls._wrap(cls._create(list(_shape_tuple(shape)), dt.str, order, fill))

    @classmethod
    def empty(cls, shape: Iterable[int], dtype: Any, order: str = "C") -> "NDBuffer":
        """A new array of ``shape`` (its items are zero)."""
        return cls.create(shape=shape, dtype=dtype, order=order)

    @classmethod
    def _wrap(cls, nd: _ndpack.NDBuffer) -> "NDBuffer":
        if type(nd) is cls:
            return nd  # type: ignore[return-value]
        return cls(nd._buffer(), nd._dtype_str, nd.shape, nd.order)

    @classmethod
    def from_ndarray_like(cls, ndarray_like: Any) -> "NDBuffer":
        """An array over the memory of a NumPy-like array, no copy when it is contiguous (C or
        Fortran order); a non-contiguous array is copied in C order."""
        arr, order = contiguous(np.asarray(ndarray_like))
        return cls(raw_view(arr), arr.dtype.str, arr.shape, order)

    @classmethod
    def from_numpy_array(cls, array_like: Any) -> "NDBuffer":
        """Same as :meth:`from_ndarray_like`."""
        return cls.from_ndarray_like(array_like)

    @property
    def dtype(self) -> np.dtype:
        """The NumPy dtype of the items."""
        return np.dtype(self._dtype_str)

    @property
    def byteorder(self) -> str:
        """The byte order character of the dtype (``<``, ``>`` or ``|``)."""
        return self._dtype_str[0]

    @property
    def ndim(self) -> int:
        return len(self.shape)

    @property
    def size(self) -> int:
        return math.prod(self.shape)

    def as_ndarray_like(self) -> np.ndarray:
        """A read-only NumPy array over the memory (no copy)."""
        return self.as_numpy_array()

    def as_numpy_array(self) -> np.ndarray:
        """A read-only NumPy array over the memory (no copy)."""
        return np.asarray(self)

    def as_scalar(self) -> Any:
        """The one item, as a NumPy scalar."""
        if self.size != 1:
            raise ValueError("Buffer does not contain a single scalar value")
        return self.as_numpy_array().reshape(())[()]

    def all_equal(self, other: Any, equal_nan: bool = True) -> bool:
        """Whether every item equals ``other`` (NaNs equal when ``equal_nan`` and the dtype has
        NaNs)."""
        if other is None:
            return False
        dt = self.dtype
        if dt.kind in "biuSU" and np.ndim(other) == 0:
            try:
                item = np.array(other, dtype=dt)
            except (TypeError, ValueError, OverflowError):
                return False
            if item != other:
                return False
            return self._all_bytes_equal(item.tobytes())
        data = self.as_numpy_array()
        data, other = np.broadcast_arrays(data, other)
        return bool(np.array_equal(data, other, equal_nan=equal_nan and dt.kind in "fcmM"))

    def reshape(self, newshape: Union[int, Sequence[int]]) -> "NDBuffer":
        """The same items with another shape (no copy); one dimension may be -1."""
        shape = list(_shape_tuple(newshape))
        if shape.count(-1) > 1:
            raise ValueError("can only specify one unknown dimension")
        if -1 in shape:
            known = math.prod(d for d in shape if d != -1)
            if known == 0 or self.size % known:
                raise ValueError(f"cannot reshape array of size {self.size} into shape {tuple(shape)}")
            shape[shape.index(-1)] = self.size // known
        return type(self)._wrap(self._reshape(shape))

    def copy(self) -> "NDBuffer":
        """A copy with its own memory."""
        arr = self.as_numpy_array()
        return type(self).from_ndarray_like(arr.copy(order="K"))

    def __getitem__(self, key: Any) -> "NDBuffer":
        return type(self).from_ndarray_like(self.as_numpy_array()[key])
