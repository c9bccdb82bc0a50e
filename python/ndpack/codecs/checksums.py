"""Checksums, as numcodecs' ``CRC32``, ``Adler32``, ``CRC32C`` (``numcodecs.checksum32``),
``Fletcher32`` and ``JenkinsLookup3``: ``encode`` stores the checksum with the data, ``decode``
checks it (``ChecksumError`` when it does not match) and returns the data without a copy.
"""

from __future__ import annotations

import json
import zlib as _zlib
from typing import Any, Dict, Optional

import numpy as np

from .. import _ndpack
from ._rust import _bytes_view, _RustCodec

__all__ = ["CRC32", "Adler32", "CRC32C", "Fletcher32", "JenkinsLookup3"]


class _Checksum32(_RustCodec):
    """A 32-bit checksum stored with the data (``location``: ``"start"`` or ``"end"``)."""

    _encode_result = "array"
    # numcodecs returns a view of the payload inside the input; so does ndpack.
    _decode_result = "view"

    def __init__(self, location: Optional[str] = None):
        if location is not None:
            self.location = location
        loc = self.__dict__.get("location", "start")
        if loc not in ("start", "end"):
            raise ValueError(f"Invalid checksum location: {loc}")
        self._codec()

    def get_config(self) -> Dict[str, Any]:
        config: Dict[str, Any] = {"id": self.codec_id}
        if "location" in self.__dict__:
            config["location"] = self.__dict__["location"]
        return config

    def _encode_view(self):
        return None

    def encode(self, buf: Any) -> np.ndarray:
        return super().encode(_bytes_view(buf))

    def decode(self, buf: Any, out: Any = None) -> Any:
        return super().decode(_bytes_view(buf), out)

    def __repr__(self) -> str:
        params = "".join(
            f"location={self.__dict__['location']!r}" if "location" in self.__dict__ else ""
        )
        return f"{type(self).__name__}({params})"



class CRC32(_Checksum32):
    """CRC-32 (zlib's) of the data, as ``numcodecs.CRC32``; 4 little-endian bytes at
    ``location`` (default ``"start"``)."""

    codec_id = "crc32"

    @staticmethod
    def checksum(data: Any, value: int = 0) -> int:
        """The CRC-32 of ``data`` (bytes-like) continuing from ``value`` (``zlib.crc32``)."""
        return _zlib.crc32(data, value)


class Adler32(_Checksum32):
    """Adler-32 of the data, as ``numcodecs.Adler32``."""

    codec_id = "adler32"

    @staticmethod
    def checksum(data: Any, value: int = 1) -> int:
        """The Adler-32 of ``data`` (bytes-like) continuing from ``value`` (``zlib.adler32``)."""
        return _zlib.adler32(data, value)


class CRC32C(_Checksum32):
    """CRC-32C (Castagnoli) of the data, as ``numcodecs.CRC32C`` (default location ``"end"``)."""

    codec_id = "crc32c"

    @staticmethod
    def checksum(data: Any, value: int = 0) -> int:
        """The CRC-32C of ``data`` (bytes-like) continuing from ``value``, the CRC-32C of the bytes
        before it: ``checksum(b, checksum(a)) == checksum(a + b)``."""
        return _ndpack.crc32c(_bytes_view(data), value)


class Fletcher32(_RustCodec):
    """Fletcher-32 checksum appended to the data (HDF5's layout), as ``numcodecs.Fletcher32``.

    ``encode`` returns ``bytes``; ``decode`` returns the payload as a ``uint8`` array.
    """

    codec_id = "fletcher32"
    _encode_result = "bytes"
    _decode_result = "view"

    def __init__(self):
        self._codec()

    def get_config(self) -> Dict[str, Any]:
        return {"id": self.codec_id}

    def encode(self, buf: Any) -> bytes:
        return super().encode(_bytes_view(buf))

    def decode(self, buf: Any, out: Any = None) -> Any:
        return super().decode(_bytes_view(buf), out)

    def __repr__(self) -> str:
        return f"{type(self).__name__}()"


class JenkinsLookup3(_RustCodec):
    """Bob Jenkins' lookup3 hash (HDF5's 32-bit checksum) appended to the data, as
    ``numcodecs.JenkinsLookup3``.

    ``encode`` returns ``bytes``; ``decode`` checks the hash and returns the data as a
    ``memoryview`` of bytes (numcodecs' result).

    Parameters
    ----------
    initval : int
        Seed of the hash, 0 to 2**32 - 1.
    prefix : bytes-like or list of int, optional
        Bytes hashed before the data (not stored); kept as a ``uint8`` array.
    """

    codec_id = "jenkins_lookup3"
    _encode_result = "bytes"
    _decode_result = "view"

    def __init__(self, initval: int = 0, prefix: Any = None):
        self.initval = initval
        if prefix is None:
            self.prefix = None
        elif isinstance(prefix, (list, tuple)):
            self.prefix = np.asarray(prefix, dtype="uint8")
        else:
            self.prefix = np.frombuffer(prefix, dtype="uint8")
        self._codec()

    def get_config(self) -> Dict[str, Any]:
        return {"id": self.codec_id, "initval": self.initval, "prefix": self.prefix}

    def _rust_config(self) -> Dict[str, Any]:
        prefix = None if self.prefix is None else np.asarray(self.prefix, dtype="uint8").tolist()
        return {"id": self.codec_id, "initval": self.initval, "prefix": prefix}

    def encode(self, buf: Any) -> bytes:
        return super().encode(_bytes_view(buf))

    def decode(self, buf: Any, out: Any = None) -> Any:
        dec = super().decode(_bytes_view(buf), out)
        return dec if out is not None else memoryview(dec)

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, JenkinsLookup3):
            return super().__eq__(other)
        mine, theirs = self._rust_config(), other._rust_config()
        return mine == theirs

    def __hash__(self) -> int:
        return hash(json.dumps(self._rust_config()))

