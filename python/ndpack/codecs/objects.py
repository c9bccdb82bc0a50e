"""numcodecs' object codecs: ``VLenUTF8``, ``VLenBytes``, ``VLenArray``, ``JSON``, ``MsgPack``,
``Pickle`` and ``Base64``, with numcodecs' constructor arguments, defaults, configs and bytes.

The byte work of the variable-length codecs, JSON and MsgPack is done in Rust (``ndpack._ndpack``);
values Rust cannot represent exactly (integers beyond 64 bits, lone surrogates, dicts with
non-string JSON keys, objects of other types) go through Python's own ``json`` / ``msgpack``
modules, so the result, or the error, is exactly numcodecs'. ``Pickle`` and ``Base64`` are pure
Python, as in numcodecs.
"""

from __future__ import annotations

import base64 as _base64
import codecs as _codecs
import json as _json
import math
import os
import pickle as _pickle
import sys
import textwrap
from typing import Any, Dict, Optional

import numpy as np

from .. import _ndpack
from .abc import Codec
from .errors import ObjectArrayError, UnsafeDecodeError

__all__ = [
    "VLenUTF8",
    "VLenBytes",
    "VLenArray",
    "JSON",
    "MsgPack",
    "Pickle",
    "Base64",
    "ALLOW_UNSAFE_PICKLE_DECODE",
    "UnsafeDecodeError",
]

#: The largest array (in bytes) a JSON or MsgPack decode creates from a shape and dtype declared
#: in its input: 16 GiB, as ``ndpack::error::MAX_DECODED_SIZE`` in Rust.
MAX_DECODED_SIZE = 1 << 34

#: How many bytes a JSON or MsgPack decode may create per byte of its input (the declared items
#: times the dtype's item size), as ``ndpack::codec::object::MAX_BYTES_PER_INPUT_BYTE`` in Rust;
#: arrays of up to ``MIN_DECLARED_SIZE_LIMIT`` bytes (64 MiB) are accepted from any input.
MAX_BYTES_PER_INPUT_BYTE = 256
MIN_DECLARED_SIZE_LIMIT = 64 << 20

_PICKLE_ENV_VAR = "NUMCODECS_ALLOW_UNSAFE_PICKLE_DECODE"

#: Whether :meth:`Pickle.decode` may unpickle data (unpickling can run arbitrary code). ``False``
#: unless the ``NUMCODECS_ALLOW_UNSAFE_PICKLE_DECODE`` environment variable is ``1``, ``true`` or
#: ``yes`` when ndpack is imported, as in numcodecs 0.16.6. Set it to ``True`` to opt in.
ALLOW_UNSAFE_PICKLE_DECODE = os.environ.get(_PICKLE_ENV_VAR, "").strip().lower() in {
    "1",
    "true",
    "yes",
}

def _as_u8(buf: Any) -> np.ndarray:
    """A 1-d uint8 view of the bytes of ``buf`` (contiguous memory, never a copy)."""
    if isinstance(buf, np.ndarray):
        if buf.dtype == object:
            raise TypeError("object arrays are not supported")
        if not (buf.flags.c_contiguous or buf.flags.f_contiguous):
            raise ValueError("an array with contiguous memory is required")
        return buf.reshape(-1, order="A").view(np.uint8)
    mv = memoryview(buf)
    if not mv.contiguous:
        raise ValueError("a buffer with contiguous memory is required")
    if mv.ndim != 1 or mv.itemsize != 1:
        mv = mv.cast("B")
    return np.frombuffer(mv, dtype=np.uint8)


def _check_out_param(out: Any, n_items: int) -> np.ndarray:
    # numcodecs vlen.pyx's rules
    if not isinstance(out, np.ndarray):
        raise TypeError("out must be 1-dimensional array")
    if out.dtype != object:
        raise ValueError("out must be object array")
    out = out.reshape(-1, order="A")
    if out.shape[0] < n_items:
        raise ValueError("out is too small")
    return out


def _vlen_place(dec: np.ndarray, out: Any) -> np.ndarray:
    if out is None:
        return dec
    out = _check_out_param(out, len(dec))
    out[: len(dec)] = dec
    return out


def _core_decode(core: Any, data: Any, fill: Any) -> Optional[np.ndarray]:
    """Decodes ``data`` with a Rust ``JsonCore``/``MsgPackCore``: a bool/int/float array straight
    from its bytes, other arrays through ``fill(items, dtype, shape)``; ``None`` when the data
    needs the Python library."""
    num = core.decode_numeric(data)
    if num is not None:
        raw, dtype, shape = num
        _check_declared(shape, dtype, len(data))
        return np.frombuffer(raw, dtype=dtype).reshape(shape)
    r = core.decode(data)
    return None if r is None else fill(*r)


def _filled(items: Any, dtype: Any, shape: Any, input_len: int) -> np.ndarray:
    """A new array of ``shape`` and ``dtype`` holding ``items`` (checked against the input size
    first)."""
    _check_declared(shape, dtype, input_len)
    dec = np.empty(shape, dtype=dtype)
    dec[:] = items
    return dec


def _check_declared(shape: Any, dtype: Any, input_len: int) -> np.dtype:
    """Refuses shapes and dtypes that would allocate far more than the input justifies."""
    try:
        dims = [int(d) for d in shape]
    except (TypeError, ValueError):
        raise ValueError(f"corrupt input: bad shape {shape!r}") from None
    if any(d < 0 for d in dims):
        raise ValueError(f"corrupt input: bad shape {shape!r}")
    n = math.prod(dims)
    if n > max(input_len, 1):
        raise ValueError(
            f"corrupt input: shape {tuple(dims)} holds more items than {input_len} bytes of input can"
        )
    try:
        dt = np.dtype(dtype)
    except (TypeError, ValueError) as e:
        raise ValueError(f"corrupt input: bad dtype {dtype!r}: {e}") from None
    if n * dt.itemsize > MAX_DECODED_SIZE:
        raise ValueError(
            f"declared size too large: {n} items of {dt.str} exceed {MAX_DECODED_SIZE} bytes"
        )
    limit = min(max(input_len * MAX_BYTES_PER_INPUT_BYTE, MIN_DECLARED_SIZE_LIMIT), MAX_DECODED_SIZE)
    if n * dt.itemsize > limit:
        raise ValueError(
            f"declared size too large: {n} items of {dt.str} take more than the {limit} bytes "
            f"that {input_len} bytes of input allow"
        )
    return dt


class _VLenStrings(Codec):
    """A codec of variable-length strings: subclasses name the Rust functions that encode the
    flattened object array and decode to a 1-d object array."""

    _encode_items: Any
    _decode_items: Any

    def __init__(self) -> None:
        pass

    def encode(self, buf: Any) -> bytes:
        values = np.asarray(buf, dtype=object).reshape(-1, order="A")
        return self._encode_items(values)

    def decode(self, buf: Any, out: Any = None) -> np.ndarray:
        return _vlen_place(self._decode_items(_as_u8(buf)), out)


class VLenUTF8(_VLenStrings):
    """Variable-length unicode strings as UTF-8, as ``numcodecs.VLenUTF8``.

    ``None`` and ``0`` items encode as empty strings; decoding gives a 1-d object array of
    ``str`` (or fills ``out``, an object array with room for the items).
    """

    codec_id = "vlen-utf8"
    _encode_items = staticmethod(_ndpack.vlen_utf8_encode)
    _decode_items = staticmethod(_ndpack.vlen_utf8_decode)


class VLenBytes(_VLenStrings):
    """Variable-length byte strings, as ``numcodecs.VLenBytes``.

    ``None`` and ``0`` items encode as empty byte strings; decoding gives a 1-d object array of
    ``bytes`` (or fills ``out``).
    """

    codec_id = "vlen-bytes"
    _encode_items = staticmethod(_ndpack.vlen_bytes_encode)
    _decode_items = staticmethod(_ndpack.vlen_bytes_decode)


class VLenArray(Codec):
    """Variable-length 1-d arrays of one dtype, as ``numcodecs.VLenArray(dtype)``.

    Items are converted with ``np.ascontiguousarray(item, dtype)`` (``None`` is an empty
    array); decoding gives a 1-d object array of (writeable) 1-d arrays.
    """

    codec_id = "vlen-array"

    def __init__(self, dtype: Any) -> None:
        self.dtype = np.dtype(dtype)

    def get_config(self) -> Dict[str, Any]:
        return self._config_of(dtypes=("dtype",))

    def __repr__(self) -> str:
        return f"{type(self).__name__}(dtype={self.dtype.str!r})"

    def encode(self, buf: Any) -> bytes:
        values = np.asarray(buf, dtype=object).reshape(-1, order="A")
        parts = []
        for v in values:
            if v is None:
                v = np.array([], dtype=self.dtype)
            else:
                v = np.ascontiguousarray(v, self.dtype)
            if v.ndim != 1:
                raise ValueError("only 1-dimensional arrays are supported")
            parts.append(v.view(np.uint8))
        return _ndpack.vlen_array_encode(parts)

    def decode(self, buf: Any, out: Any = None) -> np.ndarray:
        data = _as_u8(buf)
        offsets = _ndpack.vlen_offsets(data, self.dtype.itemsize).reshape(-1, 2)
        dec = np.empty(len(offsets), dtype=object)
        dtype = self.dtype
        for i, (start, stop) in enumerate(offsets.tolist()):
            dec[i] = data[start:stop].view(dtype).copy()
        return _vlen_place(dec, out)


def _is_utf8(encoding: str) -> bool:
    try:
        return _codecs.lookup(encoding).name == "utf-8"
    except LookupError:
        return False


_NUMERIC_KINDS = "biuf"


def _numeric(buf: np.ndarray) -> bool:
    """Whether Rust formats this array's items exactly as ``tolist()`` + Python would."""
    return buf.dtype.kind in _NUMERIC_KINDS and buf.dtype.itemsize <= 8 and buf.dtype.fields is None


def _c_bytes(buf: np.ndarray) -> np.ndarray:
    data = buf if buf.flags.c_contiguous else np.ascontiguousarray(buf).reshape(buf.shape)
    return data.reshape(-1).view(np.uint8)


class JSON(Codec):
    """Arrays of Python objects as JSON, as ``numcodecs.JSON`` (codec id ``json2``).

    The encoded text is ``json.dumps`` of ``[*items, dtype.str, shape]`` with the codec's encoder
    settings, byte for byte.
    """

    codec_id = "json2"

    def __init__(
        self,
        encoding: str = "utf-8",
        skipkeys: bool = False,
        ensure_ascii: bool = True,
        check_circular: bool = True,
        allow_nan: bool = True,
        sort_keys: bool = True,
        indent: Any = None,
        separators: Any = None,
        strict: bool = True,
    ) -> None:
        self._text_encoding = encoding
        if separators is None:
            separators = (",", ":") if indent is None else (", ", ": ")
        separators = tuple(separators)
        self._encoder_config = {
            "skipkeys": skipkeys,
            "ensure_ascii": ensure_ascii,
            "check_circular": check_circular,
            "allow_nan": allow_nan,
            "indent": indent,
            "separators": separators,
            "sort_keys": sort_keys,
        }
        self._encoder = _json.JSONEncoder(**self._encoder_config)
        self._decoder_config = {"strict": strict}
        self._decoder = _json.JSONDecoder(**self._decoder_config)
        self._utf8 = _is_utf8(encoding)
        core_config = dict(self.get_config(), encoding="utf-8", separators=list(separators))
        try:
            self._core: Optional[Any] = _ndpack.JsonCore(_json.dumps(core_config))
        except (ValueError, TypeError):
            self._core = None  # settings Rust does not take (e.g. a float indent): Python only

    def _to_bytes(self, utf8: bytes) -> bytes:
        if self._utf8:
            return utf8
        return utf8.decode("utf-8").encode(self._text_encoding)

    def encode(self, buf: Any) -> bytes:
        try:
            buf = np.asarray(buf)
        except ValueError:  # pragma: no cover - ragged input
            buf = np.asarray(buf, dtype=object)
        if self._core is not None and _numeric(buf):
            return self._to_bytes(
                self._core.encode_numeric(_c_bytes(buf), buf.dtype.str, list(buf.shape))
            )
        items = np.atleast_1d(buf).tolist()
        items.append(buf.dtype.str)
        items.append(buf.shape)
        if self._core is not None:
            enc = self._core.encode(items)
            if enc is not None:
                return self._to_bytes(enc)
        return self._encoder.encode(items).encode(self._text_encoding)

    def decode(self, buf: Any, out: Any = None) -> Any:
        dec = None
        if self._core is not None and self._utf8 and not isinstance(buf, str):
            data = _as_u8(buf)
            dec = _core_decode(self._core, data, lambda *r: self._fill(*r, len(data)))
        if dec is None:
            text = buf if isinstance(buf, str) else _codecs.decode(_as_u8(buf), self._text_encoding)
            allitems = self._decoder.decode(text)
            dec = self._fill(allitems[:-2], allitems[-2], allitems[-1], len(text))
        if out is not None:
            np.copyto(out, dec)
            return out
        return dec

    @staticmethod
    def _fill(items: list, dtype: Any, shape: Any, input_len: int) -> np.ndarray:
        _check_declared(shape, dtype, input_len)
        dec = np.empty(shape, dtype=dtype)
        if not shape:
            dec[...] = items[0]
        elif dec.size:
            dec[:] = items
        # else: nothing to fill (numcodecs fails on nested empty lists such as shape (2, 0, 3))
        return dec

    def get_config(self) -> Dict[str, Any]:
        config = {"id": self.codec_id, "encoding": self._text_encoding}
        config.update(self._encoder_config)
        config.update(self._decoder_config)
        return config

    def __repr__(self) -> str:
        params = [f"encoding={self._text_encoding!r}"]
        for k, v in sorted(self._encoder_config.items()):
            params.append(f"{k}={v!r}")
        for k, v in sorted(self._decoder_config.items()):
            params.append(f"{k}={v!r}")
        classname = type(self).__name__
        text = ", ".join(params)
        return textwrap.fill(
            f"{classname}({text})", width=80, break_long_words=False, subsequent_indent="     "
        )


class MsgPack(Codec):
    """Arrays of Python objects as MessagePack, as ``numcodecs.MsgPack`` (codec id ``msgpack2``).

    The encoded bytes are ``msgpack.packb([*items, dtype.str, shape], ...)`` with the codec's
    settings, byte for byte. Values Rust does not pack exactly need the ``msgpack`` package.
    """

    codec_id = "msgpack2"

    def __init__(self, use_single_float: bool = False, use_bin_type: bool = True, raw: bool = False) -> None:
        self.use_single_float = use_single_float
        self.use_bin_type = use_bin_type
        self.raw = raw
        try:
            self._core: Optional[Any] = _ndpack.MsgPackCore(_json.dumps(self.get_config()))
        except (ValueError, TypeError):
            self._core = None

    def encode(self, buf: Any) -> bytes:
        try:
            buf = np.asarray(buf)
        except ValueError:
            buf = np.asarray(buf, dtype=object)
        if self._core is not None and buf.ndim > 0 and _numeric(buf):
            return self._core.encode_numeric(_c_bytes(buf), buf.dtype.str, list(buf.shape))
        items = buf.tolist()
        items.extend((buf.dtype.str, buf.shape))
        if self._core is not None:
            enc = self._core.encode(items)
            if enc is not None:
                return enc
        import msgpack

        return msgpack.packb(
            items, use_bin_type=self.use_bin_type, use_single_float=self.use_single_float
        )

    def decode(self, buf: Any, out: Any = None) -> Any:
        data = _as_u8(buf)
        dec = None
        if self._core is not None:
            dec = _core_decode(self._core, data, lambda *r: _filled(*r, len(data)))
        if dec is None:
            import msgpack

            items = msgpack.unpackb(data, raw=self.raw)
            dec = _filled(items[:-2], items[-2], items[-1], len(data))
        if out is not None:
            np.copyto(out, dec)
            return out
        return dec

    def get_config(self) -> Dict[str, Any]:
        return self._config_of("raw", "use_single_float", "use_bin_type")

    def __repr__(self) -> str:
        return (
            f"MsgPack(raw={self.raw!r}, use_bin_type={self.use_bin_type!r}, "
            f"use_single_float={self.use_single_float!r})"
        )


def _numcodecs_pickle_opt_in() -> bool:
    """Whether numcodecs (if imported) has been told to allow unpickling."""
    mod = sys.modules.get("numcodecs.pickles")
    return getattr(mod, "ALLOW_UNSAFE_PICKLE_DECODE", False) is True


class Pickle(Codec):
    """Arrays (of any objects) as pickles, as ``numcodecs.Pickle``.

    Decoding runs arbitrary code from the data, so it is refused (``UnsafeDecodeError``) unless
    ``ndpack.codecs.objects.ALLOW_UNSAFE_PICKLE_DECODE`` is ``True`` (or the environment variable
    ``NUMCODECS_ALLOW_UNSAFE_PICKLE_DECODE=1`` was set at import), as numcodecs 0.16.6 does.
    numcodecs' own switch, ``numcodecs.pickles.ALLOW_UNSAFE_PICKLE_DECODE = True``, opts in too
    (when numcodecs is imported), so code written for numcodecs keeps working.
    """

    codec_id = "pickle"

    def __init__(self, protocol: int = _pickle.HIGHEST_PROTOCOL) -> None:
        self.protocol = protocol

    def encode(self, buf: Any) -> bytes:
        return _pickle.dumps(buf, protocol=self.protocol)

    def decode(self, buf: Any, out: Any = None) -> Any:
        if not (ALLOW_UNSAFE_PICKLE_DECODE or _numcodecs_pickle_opt_in()):
            raise UnsafeDecodeError(
                "Pickle.decode is disabled because unpickling data can execute arbitrary "
                "code. If you trust the source of this data, enable it by setting "
                "ndpack._object_codecs.ALLOW_UNSAFE_PICKLE_DECODE = True, or by setting the "
                f"environment variable {_PICKLE_ENV_VAR}=1 before importing ndpack."
            )
        dec = _pickle.loads(_as_u8(buf))
        if out is not None:
            np.copyto(out, dec)
            return out
        return dec

    def get_config(self) -> Dict[str, Any]:
        return self._config_of("protocol")

    def __repr__(self) -> str:
        return f"Pickle(protocol={self.protocol})"


class Base64(Codec):
    """Base64 (standard alphabet) of the bytes, as ``numcodecs.Base64``."""

    codec_id = "base64"

    def encode(self, buf: Any) -> bytes:
        return _base64.standard_b64encode(_as_u8(buf))

    def decode(self, buf: Any, out: Any = None) -> Any:
        dec = _base64.standard_b64decode(_as_u8(buf))
        if out is None:
            return dec
        # numcodecs.compat.ndarray_copy
        src = np.frombuffer(dec, dtype=np.uint8)
        dst = out if isinstance(out, np.ndarray) else np.asarray(memoryview(out))
        if dst.dtype.hasobject:
            raise ObjectArrayError("object arrays are not supported")
        if dst.dtype != object:
            src = src.view(dst.dtype)
        if src.shape != dst.shape:
            src = src.reshape(dst.shape, order="F" if dst.flags.f_contiguous else "C")
        np.copyto(dst, src)
        return dst
