"""zarr 3 codec classes run by ndpack: ``Zstd``, ``Blosc``, ``Gzip``, ``Crc32c`` and ``Bytes``.

Each subclasses zarr's own codec class (same name in ``zarr.json``, same configuration, same
bytes) and replaces its work with ndpack's Rust codecs, run with the GIL released. They are
registered as alternative implementations of zarr's ``zstd``, ``blosc``, ``gzip``, ``crc32c`` and
``bytes`` codecs; select them with zarr's config::

    zarr.config.set({"codecs.zstd": "ndpack.zarr.codecs.Zstd"})

or all at once with :func:`ndpack.zarr.use_codecs`. They implement zarr's sync codec methods
(``_decode_sync`` / ``_encode_sync``), so any zarr codec pipeline gets their speed.
"""

from __future__ import annotations

import asyncio
import json
import sys
from functools import cached_property
from typing import Any

import numpy as np
from zarr.codecs import BloscCodec, BytesCodec, Crc32cCodec, GzipCodec, ZstdCodec
from zarr.registry import register_codec

from .. import _ndpack

__all__ = ["Blosc", "Bytes", "Crc32c", "Gzip", "Zstd", "CODECS"]

_SHUFFLE = {"noshuffle": 0, "shuffle": 1, "bitshuffle": 2}


def _host(buf: Any) -> Any:
    """The host memory of a zarr ``Buffer``: its NumPy array (no copy for CPU buffers)."""
    return buf.as_numpy_array()


class _RustBytesCodec:
    """The shared body of the bytes-to-bytes codecs: a ``_ndpack.Codec`` built from a numcodecs
    config (``_numcodecs_config``), cached per instance and dropped from pickles."""

    def _numcodecs_config(self) -> dict[str, Any]:  # pragma: no cover - each class has one
        raise NotImplementedError

    @cached_property
    def _rust(self) -> Any:
        return _ndpack.Codec(json.dumps(self._numcodecs_config()))

    def __getstate__(self) -> dict[str, Any]:
        state = dict(self.__dict__)
        state.pop("_rust", None)
        return state

    def __setstate__(self, state: dict[str, Any]) -> None:
        self.__dict__.update(state)

    def _decode_sync(self, chunk_bytes: Any, chunk_spec: Any) -> Any:
        data, *_ = self._rust.decode(_host(chunk_bytes), result="array")
        return chunk_spec.prototype.buffer.from_array_like(data)

    def _encode_sync(self, chunk_bytes: Any, chunk_spec: Any) -> Any:
        data, *_ = self._rust.encode(_host(chunk_bytes), result="array")
        return chunk_spec.prototype.buffer.from_array_like(data)

    async def _decode_single(self, chunk_bytes: Any, chunk_spec: Any) -> Any:
        return await asyncio.to_thread(self._decode_sync, chunk_bytes, chunk_spec)

    async def _encode_single(self, chunk_bytes: Any, chunk_spec: Any) -> Any:
        return await asyncio.to_thread(self._encode_sync, chunk_bytes, chunk_spec)


class Zstd(_RustBytesCodec, ZstdCodec):
    """zarr's ``zstd`` codec (``level``, ``checksum``), run by ndpack."""

    def _numcodecs_config(self) -> dict[str, Any]:
        return {"id": "zstd", "level": self.level, "checksum": self.checksum}


class Gzip(_RustBytesCodec, GzipCodec):
    """zarr's ``gzip`` codec (``level``), run by ndpack."""

    def _numcodecs_config(self) -> dict[str, Any]:
        return {"id": "gzip", "level": self.level}


class Blosc(_RustBytesCodec, BloscCodec):
    """zarr's ``blosc`` codec (``cname``, ``clevel``, ``shuffle``, ``typesize``,
    ``blocksize``), run by ndpack's native Blosc."""

    def _numcodecs_config(self) -> dict[str, Any]:
        return {
            "id": "blosc",
            "cname": self.cname.value,
            "clevel": self.clevel,
            "shuffle": _SHUFFLE[self.shuffle.value],
            "blocksize": self.blocksize,
            "typesize": self.typesize,
        }


class Crc32c(_RustBytesCodec, Crc32cCodec):
    """zarr's ``crc32c`` codec, run by ndpack: decoding checks the checksum and returns a view
    of the data without copying it."""

    def _numcodecs_config(self) -> dict[str, Any]:
        return {"id": "crc32c"}

    def _decode_sync(self, chunk_bytes: Any, chunk_spec: Any) -> Any:
        data = _host(chunk_bytes)
        try:
            start, stop = self._rust.decode_range(data)
        except Exception as e:
            # zarr's own codec raises ValueError for a checksum that does not match.
            raise ValueError(str(e)) from e
        return chunk_spec.prototype.buffer.from_array_like(data[start:stop])


class Bytes(BytesCodec):
    """zarr's ``bytes`` codec, run by ndpack where it does work: encoding chunks that need
    byte swapping or are not C-contiguous is one Rust pass; decoding is a view, as zarr's."""

    @cached_property
    def _rust(self) -> Any:
        endian = None if self.endian is None else self.endian.value
        config = {"name": "bytes", "configuration": {"endian": endian}} if endian else {"name": "bytes"}
        # The item size only matters for configs without "endian" (one-byte items).
        return _ndpack.ZarrCodecChain(json.dumps([config]), 1 if endian is None else 2)

    def __getstate__(self) -> dict[str, Any]:
        state = dict(self.__dict__)
        state.pop("_rust", None)
        return state

    def __setstate__(self, state: dict[str, Any]) -> None:
        self.__dict__.update(state)

    def _encode_sync(self, chunk_array: Any, chunk_spec: Any) -> Any:
        arr = chunk_array.as_ndarray_like()
        if isinstance(arr, np.ndarray) and not arr.dtype.hasobject and arr.dtype.fields is None:
            endian = None if self.endian is None else self.endian.value
            swap = (
                endian is not None
                and arr.dtype.itemsize > 1
                and arr.dtype.byteorder in "<>="
                and _order_of(arr.dtype) != endian
            )
            f_only = arr.flags.f_contiguous and not arr.flags.c_contiguous
            if (swap and (arr.flags.c_contiguous or f_only)) or f_only:
                order = "C" if arr.flags.c_contiguous else "F"
                fill = bytes(arr.dtype.itemsize)
                (data,) = self._rust.encode([arr], arr.dtype.str, list(arr.shape), order, fill, True)
                return chunk_spec.prototype.buffer.from_bytes(data)
        return super()._encode_sync(chunk_array, chunk_spec)


def _order_of(dtype: np.dtype) -> str:
    """``"little"`` or ``"big"``: the byte order of a multi-byte dtype."""
    if dtype.byteorder == "=":
        return sys.byteorder
    return "little" if dtype.byteorder == "<" else "big"


#: zarr codec key -> ndpack class.
CODECS = {"zstd": Zstd, "blosc": Blosc, "gzip": Gzip, "crc32c": Crc32c, "bytes": Bytes}

for _key, _cls in CODECS.items():
    register_codec(_key, _cls)
