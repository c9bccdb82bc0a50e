"""The codec registry, as numcodecs' ``registry`` module: ``codec_registry`` (classes by codec id),
``get_codec(config)``, ``register_codec``, ``available_ids()`` and ``register_numcodecs()``, which
puts ndpack's classes into numcodecs' registry so that ``numcodecs.get_codec`` and zarr use them.
"""

from __future__ import annotations

from typing import Any, Dict, List, Optional, Type

from .. import _ndpack
from ..blosc import Blosc
from ..zfpy import ZFPY
from ._rust import _RustCodec
from .abc import Codec
from .checksums import CRC32, CRC32C, Adler32, Fletcher32, JenkinsLookup3
from .compressors import BZ2, LZ4, LZMA, GZip, PCodec, Zlib, Zstd
from .errors import UnknownCodecError
from .filters import AsType, BitRound, Categorize, Delta, FixedScaleOffset, PackBits, Quantize, Shuffle
from .objects import JSON, Base64, MsgPack, Pickle, VLenArray, VLenBytes, VLenUTF8

__all__ = ["codec_registry", "register_codec", "get_codec", "available_ids", "register_numcodecs"]

#: Every codec class ndpack has, in the order of :data:`codec_registry`.
_CLASSES: List[Type[Codec]] = [
    Zlib,
    GZip,
    BZ2,
    LZMA,
    Zstd,
    LZ4,
    CRC32,
    Adler32,
    CRC32C,
    Fletcher32,
    JenkinsLookup3,
    PCodec,
    Delta,
    FixedScaleOffset,
    Quantize,
    BitRound,
    PackBits,
    Categorize,
    AsType,
    Shuffle,
    VLenUTF8,
    VLenBytes,
    VLenArray,
    JSON,
    MsgPack,
    Pickle,
    Base64,
    ZFPY,
    Blosc,
]

#: Codec classes by codec id.
codec_registry: Dict[str, Type[Codec]] = {cls.codec_id: cls for cls in _CLASSES}


def register_codec(cls: Type[Codec], codec_id: Optional[str] = None) -> None:
    """Registers ``cls`` under ``codec_id`` (default: ``cls.codec_id``) for :func:`get_codec`,
    replacing any class registered under that id."""
    codec_registry[codec_id or cls.codec_id] = cls


def get_codec(config: Dict[str, Any]) -> Codec:
    """The codec of a numcodecs configuration, e.g. ``get_codec({"id": "zlib", "level": 1})``.

    Raises ``UnknownCodecError`` (a ``ValueError``, like numcodecs', and a ``KeyError``) for an
    unknown id, and ``CodecConfigError`` (a ``ValueError`` and a ``TypeError``) for an unknown key.
    """
    config = dict(config)
    codec_id = config.pop("id", None)
    cls = codec_registry.get(codec_id)  # type: ignore[arg-type]
    if cls is None:
        raise UnknownCodecError(f"codec not available: {codec_id!r}")
    return cls.from_config(config)


def available_ids() -> List[str]:
    """The ids of :data:`codec_registry` that work in this build (a class backed by a Rust codec
    counts when that Rust codec is compiled in)."""
    rust = set(_ndpack.codec_ids())
    return sorted(
        codec_id
        for codec_id, cls in codec_registry.items()
        if not issubclass(cls, _RustCodec) or codec_id in rust
    )


def register_numcodecs(ids: Optional[List[str]] = None) -> List[str]:
    """Puts ndpack's codec classes into numcodecs' registry under their standard ids (every id of
    :func:`available_ids`, or those in ``ids``), so that ``numcodecs.get_codec`` and zarr use
    ndpack.

    Returns the ids registered. Requires numcodecs.
    """
    import numcodecs

    chosen = available_ids() if ids is None else list(ids)
    for codec_id in chosen:
        numcodecs.register_codec(codec_registry[codec_id], codec_id=codec_id)
    return chosen
