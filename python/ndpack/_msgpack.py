"""msgpack packing of metalayer and vlmeta values, as python-blosc2 writes them.

python-blosc2 packs with ``use_bin_type=True`` and ``strict_types=True``, writes a tuple as the list
``["__tuple__", *items]`` and reads such a list back as a tuple, and uses extension types for complex
numbers (44), sets (45) and NumPy arrays (46). The same bytes come out of :func:`packb` here, so
that a value set by either library reads the same in the other. Values that python-blosc2 packs as
Blosc2 objects (extension codes 42 and 43) are kept as ``msgpack.ExtType`` when read.
"""

from __future__ import annotations

import struct
from typing import Any

import numpy as np

_COMPLEX_EXT = 44
_SET_EXT = 45
_NDARRAY_EXT = 46


def _msgpack():
    try:
        import msgpack
    except ModuleNotFoundError as e:  # pragma: no cover - msgpack is a dependency
        raise ModuleNotFoundError("metalayers and vlmeta need the msgpack package") from e
    return msgpack


def _dtype_value(dtype: np.dtype) -> dict:
    return {"descr": dtype.descr} if dtype.fields is not None else {"str": dtype.str}


def _dtype_from_value(value: dict) -> np.dtype:
    if "str" in value:
        return np.dtype(value["str"])
    fields = []
    for field in value["descr"]:
        name, spec, *shape = field
        if isinstance(name, list):
            name = tuple(name)
        if isinstance(spec, list):
            spec = [tuple(f) if isinstance(f, list) else f for f in spec]
        fields.append((name, spec, *[tuple(s) if isinstance(s, list) else s for s in shape]))
    return np.dtype(fields)


def _default(obj: Any) -> Any:
    msgpack = _msgpack()
    if isinstance(obj, tuple):
        return ["__tuple__", *obj]
    if isinstance(obj, np.ndarray):
        if obj.dtype.hasobject:
            payload = {"values": obj.ravel().tolist(), "shape": list(obj.shape)}
        else:
            payload = {"dtype": _dtype_value(obj.dtype), "shape": list(obj.shape), "data": obj.tobytes()}
        return msgpack.ExtType(_NDARRAY_EXT, packb(payload))
    if isinstance(obj, (complex, np.complexfloating)):
        return msgpack.ExtType(_COMPLEX_EXT, struct.pack(">dd", float(obj.real), float(obj.imag)))
    if isinstance(obj, (set, frozenset)):
        return msgpack.ExtType(_SET_EXT, packb(list(obj)))
    if isinstance(obj, np.integer):
        return int(obj)
    if isinstance(obj, np.floating):
        return float(obj)
    if isinstance(obj, np.bool_):
        return bool(obj)
    if isinstance(obj, np.bytes_):
        return bytes(obj)
    if isinstance(obj, np.str_):
        return str(obj)
    raise TypeError(f"cannot serialize {type(obj).__name__!r} object with msgpack")


def packb(value: Any) -> bytes:
    """``value`` packed as python-blosc2 packs metalayer and vlmeta values."""
    return _msgpack().packb(value, default=_default, strict_types=True, use_bin_type=True)


def _list_hook(obj: list) -> Any:
    if obj and isinstance(obj[0], str) and obj[0] == "__tuple__":
        return tuple(obj[1:])
    return obj


def _ext_hook(code: int, data: bytes) -> Any:
    if code == _COMPLEX_EXT:
        real, imag = struct.unpack(">dd", data)
        return complex(real, imag)
    if code == _SET_EXT:
        return set(unpackb(data))
    if code == _NDARRAY_EXT:
        value = unpackb(data)
        shape = value.get("shape") if isinstance(value, dict) else None
        if not isinstance(shape, list) or any(isinstance(s, bool) or not isinstance(s, int) or s < 0 for s in shape):
            raise ValueError("invalid NumPy array in msgpack payload")
        count = int(np.prod(shape, dtype=np.int64)) if shape else 1
        if "values" in value:
            if not isinstance(value["values"], list) or len(value["values"]) != count:
                raise ValueError("invalid object array in msgpack payload")
            out = np.empty(shape, dtype=object)
            out.reshape(-1)[:] = value["values"]
            return out
        dtype = _dtype_from_value(value["dtype"])
        raw = value["data"]
        if dtype.hasobject or not isinstance(raw, bytes) or len(raw) != count * dtype.itemsize:
            raise ValueError("invalid NumPy array in msgpack payload")
        return np.frombuffer(raw, dtype=dtype).reshape(shape)
    return _msgpack().ExtType(code, data)


def unpackb(payload: Any) -> Any:
    """A metalayer or vlmeta value read back (tuples, complex numbers, sets and arrays included)."""
    return _msgpack().unpackb(bytes(payload), list_hook=_list_hook, ext_hook=_ext_hook)
