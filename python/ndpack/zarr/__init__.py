"""ndpack for zarr-python 3 (``pip install ndpack[zarr]``).

- :class:`CodecPipeline`: zarr's codec pipeline with the chunk work in Rust, selected with
  ``zarr.config.set({"codec_pipeline.path": "ndpack.zarr.CodecPipeline"})``.
- :mod:`ndpack.zarr.codecs`: zarr's ``zstd``, ``blosc``, ``gzip``, ``crc32c`` and ``bytes``
  codecs run by ndpack, for any pipeline (:func:`use_codecs` selects them all).
- :class:`Buffer` and :class:`NDBuffer`: zarr buffer classes over ndpack's aligned memory.

Importing this module registers them with zarr (they are also entry points of the package).
"""

from __future__ import annotations

from typing import Any

from zarr.registry import register_buffer, register_ndbuffer, register_pipeline

from . import codecs
from .buffer import Buffer, NDBuffer, buffer_prototype
from .pipeline import CodecPipeline, NdpackFallbackWarning

for _cls in (CodecPipeline, Buffer, NDBuffer, NdpackFallbackWarning):
    _cls.__module__ = __name__

register_pipeline(CodecPipeline)
register_buffer(Buffer)
register_ndbuffer(NDBuffer)

__all__ = [
    "Buffer",
    "CodecPipeline",
    "NDBuffer",
    "NdpackFallbackWarning",
    "buffer_prototype",
    "codecs",
    "config",
    "use_codecs",
]


def config(*, pipeline: bool = True, codecs: bool = True, buffers: bool = False) -> dict[str, Any]:
    """The zarr config entries that select ndpack's pipeline, codecs and buffers, for
    ``zarr.config.set(ndpack.zarr.config())``."""
    out: dict[str, Any] = {}
    if pipeline:
        out["codec_pipeline.path"] = "ndpack.zarr.CodecPipeline"
    if codecs:
        out.update(use_codecs())
    if buffers:
        out["buffer"] = "ndpack.zarr.Buffer"
        out["ndbuffer"] = "ndpack.zarr.NDBuffer"
    return out


def use_codecs() -> dict[str, str]:
    """The zarr config entries selecting ndpack's codec classes for each codec key."""
    return {f"codecs.{key}": f"ndpack.zarr.codecs.{cls.__name__}" for key, cls in codecs.CODECS.items()}
