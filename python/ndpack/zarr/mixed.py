"""Codec chains with codecs that ndpack does not run: the per-codec fallback of
``ndpack.zarr.CodecPipeline``.

A chain is cut into segments in encoding order: runs of codecs that ndpack runs in Rust, and
each other codec alone (a third-party codec, a subclass of a zarr codec, a zarr codec ndpack
lacks). Rust segments are a full chain (array-to-array codecs, the array-to-bytes codec and
bytes-to-bytes codecs: ``ZarrCodecChain``), array-to-array codecs alone (``ZarrCodecChain`` of
them and a ``bytes`` codec that stores the items as they are) or bytes-to-bytes codecs alone
(``ZarrBytesChain``). A Python codec runs through its own batch ``decode`` / ``encode`` with the
chunk specs zarr would give it, once per batch of chunks; the other segments run in Rust.

Reads decode every segment but the first (the outermost in decoding order is the last); the
first segment's input then goes to the pipeline's one-call read, which scatters into the output.
"""

from __future__ import annotations

import json
from typing import Any

import numpy as np
from zarr.abc.codec import ArrayArrayCodec, ArrayBytesCodec, BytesBytesCodec, Codec
from zarr.core.codec_pipeline import fill_value_or_default

from .. import _ndpack

__all__ = ["MixedChain", "build_segments", "foreign_codec"]

#: The chain that stores items as they are: decodes C-order bytes into an output array.
_IDENTITY = '["bytes"]'


def foreign_codec(codecs: Any) -> str | None:
    """The name of the first codec whose class is neither zarr's nor ndpack's own (a subclass
    may override what the codec does, so only these classes run in Rust), or ``None``."""
    for c in codecs:
        module = type(c).__module__
        if not (module.startswith("zarr.codecs") or module == "ndpack.zarr.codecs"):
            return type(c).__name__
        for group in (getattr(c, "codecs", None), getattr(c, "index_codecs", None)):
            if group is not None:
                found = foreign_codec(group)
                if found:
                    return found
    return None


def _kind(codec: Codec) -> str:
    if isinstance(codec, ArrayArrayCodec):
        return "aa"
    if isinstance(codec, ArrayBytesCodec):
        return "ab"
    if isinstance(codec, BytesBytesCodec):
        return "bb"
    return "?"


def _rust_accepts(codec: Codec, kind: str, itemsize: int) -> str | None:
    """``None`` when ndpack runs ``codec`` in Rust, else why not."""
    found = foreign_codec([codec])
    if found is not None:
        return f"{found} is not a codec class of zarr or ndpack"
    try:
        spec = codec.to_dict()
        if kind == "aa":
            _ndpack.ZarrCodecChain(json.dumps([spec, "bytes"]), itemsize)
        elif kind == "ab":
            _ndpack.ZarrCodecChain(json.dumps([spec]), itemsize)
        elif kind == "bb":
            _ndpack.ZarrBytesChain(json.dumps([spec]), itemsize)
        else:
            return f"{type(codec).__name__} is of no zarr codec kind"
    except Exception as e:
        return str(e)
    return None


class _Segment:
    """Codecs ``start:stop`` of a chain: run in Rust (``rust`` is a chain) or by the one Python
    codec ``codec``. ``kind`` is ``"chain"`` (ends in bytes, starts from an array), ``"aa"``
    (array-to-array codecs alone, run as a chain ending in ``bytes``), ``"bb"`` (bytes to bytes)
    or ``"py"``."""

    def __init__(self, kind: str, start: int, stop: int, rust: Any = None, codec: Any = None):
        self.kind, self.start, self.stop, self.rust, self.codec = kind, start, stop, rust, codec

    @property
    def takes_array(self) -> bool:
        """Whether the segment encodes an array (else bytes)."""
        if self.kind == "py":
            return _kind(self.codec) in ("aa", "ab")
        return self.kind in ("chain", "aa")

    @property
    def gives_array(self) -> bool:
        """Whether the segment's encoded output is an array (else bytes)."""
        if self.kind == "py":
            return _kind(self.codec) == "aa"
        return self.kind == "aa"


def build_segments(codecs: tuple[Codec, ...], itemsizes: list[int]) -> tuple[list[_Segment], list[str]]:
    """The segments of ``codecs`` (``itemsizes[i]``: the item size codec ``i`` sees) and, for
    each codec run in Python, why."""
    reasons: list[str | None] = []
    for i, c in enumerate(codecs):
        reasons.append(_rust_accepts(c, _kind(c), itemsizes[i]))
    segments: list[_Segment] = []
    why: list[str] = []
    i = 0
    while i < len(codecs):
        if reasons[i] is not None:
            segments.append(_Segment("py", i, i + 1, codec=codecs[i]))
            why.append(f"{type(codecs[i]).__name__}: {reasons[i]}")
            i += 1
            continue
        j = i
        while j < len(codecs) and reasons[j] is None:
            j += 1
        kinds = [_kind(c) for c in codecs[i:j]]
        dicts = [c.to_dict() for c in codecs[i:j]]
        if "ab" in kinds:
            segments.append(_Segment("chain", i, j, rust=_ndpack.ZarrCodecChain(json.dumps(dicts), itemsizes[i])))
        elif kinds[0] == "aa":
            segments.append(_Segment("aa", i, j, rust=_ndpack.ZarrCodecChain(json.dumps([*dicts, "bytes"]), itemsizes[i])))
        else:
            segments.append(_Segment("bb", i, j, rust=_ndpack.ZarrBytesChain(json.dumps(dicts), itemsizes[i])))
        i = j
    return segments, why


def _rust_dtype(dtype: np.dtype) -> np.dtype:
    if dtype.kind in "mM":
        return np.dtype(f"i{dtype.itemsize}").newbyteorder(dtype.byteorder)
    return dtype


def _fill(spec: Any, native: np.dtype) -> bytes:
    """The fill value of ``spec`` as the bytes of one item of ``native``."""
    return np.asarray(fill_value_or_default(spec), dtype=native).reshape(()).tobytes()


def _as_bytes(a: Any) -> np.ndarray:
    """The C-order bytes of an array, as a 1-d ``uint8`` array (a view where it can be)."""
    a = np.ascontiguousarray(a)
    return a.reshape(-1).view(np.uint8) if a.size else np.zeros(0, np.uint8)


class MixedChain:
    """A codec chain run partly in Rust and partly by Python codecs, for chunks of one spec.

    ``outer`` is the Rust chain of the first segment (encoding order) for the pipeline's
    one-call read and write, or the identity chain when the first codec runs in Python.
    """

    def __init__(self, codecs: tuple[Codec, ...], spec: Any):
        self.codecs = codecs
        specs = [spec]
        for c in codecs:
            specs.append(c.resolve_metadata(specs[-1]))
        #: ``specs[i]``: the spec codec ``i`` gets on encoding
        self.specs = specs
        itemsizes = [_itemsize(s) for s in specs[:-1]]
        self.segments, self.why = build_segments(codecs, itemsizes)
        first = self.segments[0]
        if first.kind == "py":
            self.outer = _ndpack.ZarrCodecChain(_IDENTITY, itemsizes[0])
            self.inner = self.segments
        else:
            self.outer = first.rust
            self.inner = self.segments[1:]

    @property
    def python_codecs(self) -> list[str]:
        """The class names of the codecs that run in Python."""
        return [type(s.codec).__name__ for s in self.segments if s.kind == "py"]

    # -- decoding --------------------------------------------------------------------------

    async def decode_inner(self, chunks: list[Any]) -> list[Any]:
        """Runs every segment but the first backwards over stored ``chunks`` (each ``None`` or
        bytes-like): the input of ``outer``, each ``None`` or a 1-d ``uint8`` array."""
        vals = list(chunks)
        for seg in reversed(self.inner):
            vals = await self._decode_segment(seg, vals)
        return [None if v is None else _bytes_like(v) for v in vals]

    async def _decode_segment(self, seg: _Segment, vals: list[Any]) -> list[Any]:
        spec = self.specs[seg.start]
        # Rust reads file paths itself.
        srcs = [v if v is None or isinstance(v, str) else _bytes_like(v) for v in vals]
        if seg.kind == "bb":
            return list(seg.rust.decode(srcs))
        if seg.kind in ("chain", "aa"):
            native = spec.dtype.to_native_dtype()
            dtype = _rust_dtype(native)
            out = seg.rust.decode(srcs, dtype.str, list(spec.shape), _fill(spec, native))
            return [None if a is None else a.view(native) for a in out]
        # A Python codec.
        proto = spec.prototype
        if _kind(seg.codec) == "aa":
            inputs = [None if v is None else proto.nd_buffer.from_ndarray_like(self._array(v, seg.stop)) for v in vals]
        else:
            inputs = [None if v is None else proto.buffer.from_bytes(_bytes_like(v)) for v in vals]
        out = await seg.codec.decode([(x, spec) for x in inputs])
        if _kind(seg.codec) == "bb":
            return [None if b is None else b.as_numpy_array() for b in out]
        return [None if a is None else a.as_ndarray_like() for a in out]

    def _array(self, v: Any, at: int) -> Any:
        """``v`` as an array of the spec ``specs[at]`` (bytes are its C-order items)."""
        spec = self.specs[at]
        if hasattr(v, "shape") and tuple(v.shape) == tuple(spec.shape) and not (isinstance(v, np.ndarray) and v.dtype == np.uint8 and v.ndim == 1 and len(spec.shape) != 1):
            return v
        native = spec.dtype.to_native_dtype()
        return np.frombuffer(_bytes_like(v), dtype=native).reshape(spec.shape)

    async def decode_arrays(self, chunks: list[Any]) -> list[Any]:
        """Decodes stored chunks fully: arrays of the chain's spec (``None`` stays ``None``)."""
        spec = self.specs[0]
        native = spec.dtype.to_native_dtype()
        dtype = _rust_dtype(native)
        inner = await self.decode_inner(chunks)
        out = self.outer.decode(inner, dtype.str, list(spec.shape), _fill(spec, native))
        return [None if a is None else a.view(native) for a in out]

    # -- encoding --------------------------------------------------------------------------

    async def encode(self, arrays: list[Any], encode_outer: Any, write_empty: bool) -> list[Any]:
        """Encodes chunk ``arrays`` (each ``None`` or an array of the chain's spec).
        ``encode_outer(chain, arrays)`` runs the first Rust segment (it applies
        ``write_empty``); when the first codec runs in Python, chunks whose every item is the
        fill value are dropped here unless ``write_empty``."""
        spec = self.specs[0]
        if self.segments[0].kind == "py":
            if not write_empty:
                fill = fill_value_or_default(spec)
                arrays = [None if a is None or _all_fill(a, fill) else a for a in arrays]
            vals = arrays
            segments = self.segments
        else:
            vals = encode_outer(self.outer, arrays)
            segments = self.segments[1:]
        for seg in segments:
            vals = await self._encode_segment(seg, vals)
        return [None if v is None else _bytes_like(v) for v in vals]

    async def _encode_segment(self, seg: _Segment, vals: list[Any]) -> list[Any]:
        spec = self.specs[seg.start]
        if seg.kind == "bb":
            return list(seg.rust.encode([None if v is None else _bytes_like(v) for v in vals]))
        if seg.kind in ("chain", "aa"):
            native = spec.dtype.to_native_dtype()
            dtype = _rust_dtype(native)
            idx = [i for i, v in enumerate(vals) if v is not None]
            arrays = [np.ascontiguousarray(self._array(vals[i], seg.start)).view(dtype) for i in idx]
            enc = seg.rust.encode(arrays, dtype.str, list(spec.shape), "C", _fill(spec, native), True)
            out: list[Any] = [None] * len(vals)
            for i, e in zip(idx, enc):
                out[i] = e
            return out
        proto = spec.prototype
        if _kind(seg.codec) in ("aa", "ab"):
            inputs = [None if v is None else proto.nd_buffer.from_ndarray_like(self._array(v, seg.start)) for v in vals]
        else:
            inputs = [None if v is None else proto.buffer.from_bytes(_bytes_like(v)) for v in vals]
        out = await seg.codec.encode([(x, spec) for x in inputs])
        if _kind(seg.codec) == "aa":
            return [None if a is None else a.as_ndarray_like() for a in out]
        return [None if b is None else b.as_numpy_array() for b in out]


def _itemsize(spec: Any) -> int:
    try:
        return int(spec.dtype.to_native_dtype().itemsize) or 1
    except Exception:
        return 1


def _bytes_like(v: Any) -> Any:
    if isinstance(v, (bytes, bytearray, memoryview)):
        return v
    return _as_bytes(np.asarray(v))


def _all_fill(a: Any, fill: Any) -> bool:
    a = np.asarray(a)
    if a.dtype.kind in "fc":
        return bool(np.all((a == fill) | (np.isnan(a) & np.isnan(fill))))
    return bool(np.all(a == fill))
