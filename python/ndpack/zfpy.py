"""zfpy-compatible ZFP: ``compress_numpy``, ``decompress_numpy``, ``_decompress`` and the numcodecs
``ZFPY`` codec, producing the same bytes as zfpy 1.0.1 and numcodecs' ``ZFPY``.

Compression and decompression run on ndpack's thread pool (``ndpack.set_nthreads``) with the GIL
released. Unlike zfpy, empty arrays and rates too low for a block's header raise ``ValueError``
instead of crashing the process, and a stream too short for the blocks of the shape it declares
(or is given) raises ``ValueError`` before any array is allocated, instead of decoding to zeros.
"""

from __future__ import annotations

from typing import Any, Optional, Sequence

import numpy as np

from . import _ndpack
from .codecs.abc import Codec

__all__ = [
    "ZFPY",
    "compress_numpy",
    "decompress_numpy",
    "_decompress",
    "dtype_to_ztype",
    "ztype_to_dtype",
    "type_int32",
    "type_int64",
    "type_float",
    "type_double",
    "type_none",
    "mode_null",
    "mode_expert",
    "mode_fixed_rate",
    "mode_fixed_precision",
    "mode_fixed_accuracy",
]

type_none = 0
type_int32 = 1
type_int64 = 2
type_float = 3
type_double = 4

mode_null = 0
mode_expert = 1
mode_fixed_rate = 2
mode_fixed_precision = 3
mode_fixed_accuracy = 4

_ZTYPES = {
    np.dtype(np.int32): type_int32,
    np.dtype(np.int64): type_int64,
    np.dtype(np.float32): type_float,
    np.dtype(np.float64): type_double,
}
_DTYPES = {v: k for k, v in _ZTYPES.items()}


def dtype_to_ztype(dtype: Any) -> int:
    """The zfp type number of a NumPy dtype (int32, int64, float32, float64, native order)."""
    dtype = np.dtype(dtype)
    try:
        return _ZTYPES[dtype]
    except KeyError:
        raise TypeError(f"Unknown dtype: {dtype}") from None


def ztype_to_dtype(ztype: int) -> np.dtype:
    """The NumPy dtype of a zfp type number."""
    try:
        return _DTYPES[int(ztype)]
    except KeyError:
        raise ValueError(f"Unsupported zfp type: {ztype}") from None


def _as_bytes_view(arr: np.ndarray) -> np.ndarray:
    return arr.reshape(-1).view(np.uint8)


def compress_numpy(
    arr: np.ndarray,
    tolerance: float = -1,
    rate: float = -1,
    precision: int = -1,
    write_header: bool = True,
) -> bytes:
    """Compresses ``arr`` as zfpy does: fixed accuracy (``tolerance >= 0``), fixed rate
    (``rate >= 0``), fixed precision (``precision >= 0``) or, with none set, reversible."""
    if not isinstance(arr, np.ndarray):
        raise TypeError(
            f"Argument 'arr' has incorrect type (expected numpy.ndarray, got {type(arr).__name__})"
        )
    ztype = dtype_to_ztype(arr.dtype)
    if arr.ndim > 4:
        raise RuntimeError("Greater than 4 dimensions not supported")
    if arr.ndim == 0:
        raise TypeError("zfp cannot compress a 0-d array")
    if arr.size == 0:
        raise ValueError(f"zfp cannot compress an empty array (shape {arr.shape})")
    tolerance, rate, precision = float(tolerance), float(rate), int(precision)
    strides = None
    if arr.flags.c_contiguous:
        data = _as_bytes_view(arr)
    elif arr.flags.f_contiguous:
        data = _as_bytes_view(arr.T)
        strides = [s // arr.itemsize for s in arr.strides]
    else:
        data = _as_bytes_view(np.ascontiguousarray(arr))
    return _ndpack.zfp_compress(
        data, ztype, list(arr.shape), strides, tolerance, rate, precision, bool(write_header)
    )


def _input(buffer: Any) -> Any:
    if isinstance(buffer, (bytes, bytearray)):
        return buffer
    return np.ascontiguousarray(np.frombuffer(memoryview(buffer).cast("B"), dtype=np.uint8))


def decompress_numpy(buffer: Any) -> np.ndarray:
    """Decompresses a stream with a zfp header into a new array of its dtype and shape.

    A header that declares more values than the stream can hold raises ``ValueError`` before
    anything is allocated; an array the stream can hold but memory cannot raises
    ``MemoryError``."""
    data = _input(buffer)
    # Checks the header against the stream's length before the array is allocated.
    ztype, shape = _ndpack.zfp_header(data)
    out = np.empty(shape, dtype=_DTYPES[ztype])
    _ndpack.zfp_decompress_into(data, _as_bytes_view(out))
    return out


def _decompress(
    compressed_data: Any,
    ztype: int,
    shape: Sequence[int],
    out: Any = None,
    tolerance: float = -1,
    rate: float = -1,
    precision: int = -1,
) -> np.ndarray:
    """Decompresses a headerless stream (``write_header=False``) given its type, shape and
    mode parameters. ``out`` (an ndarray of that dtype and shape, or a writable buffer such as
    ``ndarray.data``) receives the values."""
    dtype = ztype_to_dtype(ztype)
    shape = [int(s) for s in shape]
    if any(not 0 <= s < 2**63 for s in shape):
        raise ValueError(f"zfp: shape {tuple(shape)} has a negative or too large dimension")
    data = _input(compressed_data)
    args = (float(tolerance), float(rate), int(precision))
    if out is None:
        # Checks the shape against the stream's length before the array is allocated.
        _ndpack.zfp_headerless_size(data, int(ztype), shape, *args)
        result = np.empty(shape, dtype=dtype)
        _ndpack.zfp_decompress_headerless_into(data, int(ztype), shape, _as_bytes_view(result), *args)
        return result
    if isinstance(out, np.ndarray):
        if out.dtype != dtype:
            raise ValueError(
                f"Out ndarray has dtype {out.dtype} but decompression is using {dtype.type}. "
                "Use out=ndarray.data to avoid this check."
            )
        if list(out.shape) != shape:
            raise ValueError(
                f"Out ndarray has shape {out.shape} but decompression is using {shape}.  "
                "Use out=ndarray.data to avoid this check."
            )
        if not out.flags.c_contiguous:
            raise ValueError("zfp: out must be C-contiguous")
        _ndpack.zfp_decompress_headerless_into(data, int(ztype), shape, _as_bytes_view(out), *args)
        return out
    view = memoryview(out).cast("B")
    _ndpack.zfp_decompress_headerless_into(data, int(ztype), shape, view, *args)
    return np.frombuffer(view, dtype=dtype).reshape(shape)


class ZFPY(Codec):
    """numcodecs' ``ZFPY`` codec: zfp streams with a header, same arguments, config and bytes.

    ``mode`` is zfpy's mode number: ``mode_fixed_accuracy`` (4, default) uses ``tolerance``,
    ``mode_fixed_rate`` (2) ``rate``, ``mode_fixed_precision`` (3) ``precision``; a negative
    value of that parameter means reversible (lossless) compression.
    """

    codec_id = "zfpy"

    def __init__(
        self,
        mode: int = mode_fixed_accuracy,
        tolerance: float = -1,
        rate: float = -1,
        precision: int = -1,
        compression_kwargs: Optional[dict] = None,
    ) -> None:
        self.mode = mode
        if mode == mode_fixed_accuracy:
            self.compression_kwargs = {"tolerance": tolerance}
        elif mode == mode_fixed_rate:
            self.compression_kwargs = {"rate": rate}
        elif mode == mode_fixed_precision:
            self.compression_kwargs = {"precision": precision}
        self.tolerance = tolerance
        self.rate = rate
        self.precision = precision

    def encode(self, buf: Any) -> bytes:
        if not isinstance(buf, np.ndarray):
            raise TypeError(
                "The zfp codec does not support none numpy arrays."
                f" Your buffers were {type(buf)}."
            )
        if not buf.flags.c_contiguous:
            raise ValueError(
                "The zfp codec does not support F order arrays. "
                f"Your arrays flags were {buf.flags}."
            )
        kwargs = getattr(self, "compression_kwargs", None)
        if kwargs is None:
            raise ValueError(
                f"zfpy mode {self.mode} cannot encode; use mode 2, 3 or 4"
            )
        return compress_numpy(buf, write_header=True, **kwargs)

    def decode(self, buf: Any, out: Any = None) -> Any:
        data = _input(buf)
        if out is None:
            return decompress_numpy(data)
        if isinstance(out, np.ndarray) and out.flags.c_contiguous:
            ztype, shape = _ndpack.zfp_header(data)
            if out.nbytes == int(np.prod(shape)) * _DTYPES[ztype].itemsize:
                _ndpack.zfp_decompress_into(data, _as_bytes_view(out))
                return out
        dec = decompress_numpy(data)
        # numcodecs' rule: a contiguous `out` (C or Fortran) receives the items in memory order.
        out_array = np.asarray(out)
        flat = out_array.reshape(-1, order="A")
        if not np.shares_memory(flat, out_array) and out_array.size > 1:
            raise ValueError("out must be a contiguous array")
        target = flat.view(np.uint8)
        if target.nbytes != dec.nbytes:
            raise ValueError(f"out has {target.nbytes} bytes, decoded data has {dec.nbytes}")
        target[...] = dec.reshape(-1).view(np.uint8)
        return out

    def __repr__(self) -> str:
        return (
            f"{type(self).__name__}(mode={self.mode!r}, "
            f"tolerance={self.tolerance}, rate={self.rate}, "
            f"precision={self.precision})"
        )
