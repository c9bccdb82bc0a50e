"""The base class of every ndpack codec, shaped like ``numcodecs.abc.Codec``, and the array
helpers the codec classes share (numcodecs' ``ensure_ndarray`` / ``ndarray_copy`` semantics).

When numcodecs is installed, :class:`Codec` subclasses ``numcodecs.abc.Codec``, so zarr accepts
ndpack codecs as compressors and filters. Subclasses set ``codec_id`` and implement ``encode`` and
``decode``; ``get_config`` returns ``{"id": codec_id}`` plus the public instance attributes (as
numcodecs does) unless a subclass overrides it.
"""

from __future__ import annotations

import array
from typing import Any, Dict, Optional, Tuple

import numpy as np

try:  # exercised when numcodecs is installed
    from numcodecs.abc import Codec as _NumcodecsCodec
except ImportError:  # pragma: no cover - numcodecs is optional
    _NumcodecsCodec = object

from . import _ndpack

__all__ = ["Codec", "ObjectArrayError", "ensure_ndarray", "ndarray_copy"]


class ObjectArrayError(TypeError, ValueError):
    """An object-dtype array given to a codec that works on raw memory (compressors and
    checksums), to encode or to decode into. numcodecs raises ``TypeError`` here; this is also a
    ``ValueError``."""


ObjectArrayError.__module__ = "ndpack"


class Codec(_NumcodecsCodec):  # type: ignore[misc, valid-type]
    """A numcodecs-compatible codec implemented by ndpack."""

    codec_id: Optional[str] = None

    def encode(self, buf: Any) -> Any:  # pragma: no cover - abstract
        raise NotImplementedError

    def decode(self, buf: Any, out: Any = None) -> Any:  # pragma: no cover - abstract
        raise NotImplementedError

    def get_config(self) -> Dict[str, Any]:
        """The numcodecs configuration: ``{"id": codec_id, **parameters}``."""
        config: Dict[str, Any] = {"id": self.codec_id}
        config.update((k, v) for k, v in self.__dict__.items() if not k.startswith("_"))
        return config

    @classmethod
    def from_config(cls, config: Dict[str, Any]) -> "Codec":
        """Builds the codec from a configuration as ``get_config`` returns it (``id`` optional)."""
        config = dict(config)
        config.pop("id", None)
        try:
            return cls(**config)
        except TypeError as e:
            msg = str(e)
            if "unexpected keyword argument" in msg or "required positional argument" in msg:
                raise _ndpack.CodecConfigError(f"codec {cls.codec_id}: {msg}") from None
            raise

    def __eq__(self, other: object) -> bool:
        try:
            return self.get_config() == other.get_config()  # type: ignore[attr-defined]
        except AttributeError:
            return NotImplemented

    def __hash__(self) -> int:
        return hash(repr(sorted(self.get_config().items(), key=lambda kv: kv[0])))

    def __repr__(self) -> str:
        params = ", ".join(f"{k}={v!r}" for k, v in sorted(self.get_config().items()) if k != "id")
        return f"{type(self).__name__}({params})"


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
