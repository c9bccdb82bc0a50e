"""``ndpack.zarr.CodecPipeline``: zarr-python's codec pipeline with the chunk work in Rust.

One ``read`` or ``write`` of zarr (one user selection) is one Rust call over all its chunks:
chunk bytes are fetched in a batch (read straight from the files of a ``LocalStore`` by Rust,
taken without copies from a ``MemoryStore``, through zarr's store API for other stores), decoded
in parallel on ndpack's pool and copied into the output array; writes merge each chunk's part of
the value (read-modify-write where part of a chunk is kept), encode in parallel, write the chunk
files of a ``LocalStore`` from Rust and honour ``write_empty_chunks``.

Chains of codecs ndpack implements (``bytes``, ``transpose``, ``zstd``, ``blosc``, ``gzip``,
``crc32c``, ``sharding_indexed`` and the bytes-to-bytes ``numcodecs.*`` codecs) run in Rust. A
codec ndpack does not run goes through its own Python implementation, batched, with the rest of
the chain in Rust (:mod:`ndpack.zarr.mixed`). A chain of that one codec alone, a dtype holding
Python objects, or memory that is not a NumPy array, runs through zarr's own
``BatchedCodecPipeline``. Either is a debug line on the ``ndpack.zarr`` logger (an
``NdpackFallbackWarning`` with zarr's config ``codec_pipeline.warn_fallback``), or an error with
``codec_pipeline.strict``. Every selection zarr's indexers make (basic, orthogonal, points,
masks) is scattered into the output and gathered from the value by Rust; parts of shards read
the index and the inner chunks they touch (nearby byte ranges coalesced), parts of uncompressed
chunk files the byte ranges of their items, and writes to parts of shards encode only the inner
chunks they touch.
"""

from __future__ import annotations

import json
import logging
import os
import warnings
from collections.abc import Iterable
from typing import Any

import numpy as np
from zarr.abc.codec import Codec
from zarr.abc.codec import CodecPipeline as _ZarrCodecPipeline
from zarr.core.codec_pipeline import BatchedCodecPipeline, fill_value_or_default
from zarr.core.common import concurrent_map
from zarr.core.config import config as zarr_config
from zarr.core.indexing import is_scalar

from .. import _ndpack
from .mixed import MixedChain, foreign_codec

__all__ = ["CodecPipeline"]

_log = logging.getLogger("ndpack.zarr")


class NdpackFallbackWarning(UserWarning):
    """A chain or call that ndpack's pipeline hands to zarr's own pipeline."""


def _config(key: str, default: Any) -> Any:
    try:
        return zarr_config.get(key, default)
    except Exception:  # pragma: no cover - donfig without the key
        return default


def _is_int(x: Any) -> bool:
    return isinstance(x, (int, np.integer)) and not isinstance(x, (bool, np.bool_))


def _axis(sel: Any, n: int) -> Any:
    """One axis of a selection for Rust, over a length ``n``: a ``(start, stop, step)`` triple
    (slices and integers) or a 1-d ``int64`` array of indices (integer arrays, also in
    ``np.ix_`` form, and 1-d masks); ``None`` for anything else."""
    if isinstance(sel, slice):
        return sel.indices(n)
    if _is_int(sel):
        i = int(sel)
        if i < 0:
            i += n
        return (i, i + 1, 1) if 0 <= i < n else None
    if isinstance(sel, np.ndarray):
        if sel.dtype == np.bool_:
            if sel.ndim != 1 or sel.shape[0] != n:
                return None
            return np.flatnonzero(sel).astype(np.int64)
        if sel.dtype.kind in "iu":
            if sel.ndim > 1 and sum(d != 1 for d in sel.shape) > 1:
                return None
            a = np.ascontiguousarray(sel.reshape(-1), dtype=np.int64)
            if a.size and a.min() < 0:
                a = np.where(a < 0, a + n, a)
            return a
    return None


def _axis_len(axis: Any) -> int:
    return len(range(*axis)) if isinstance(axis, tuple) else len(axis)


def _selections(batch: list[Any], shape: tuple[int, ...] | None, drop_axes: tuple[int, ...]) -> Any:
    """The selections of a read or write for Rust, from zarr's per-chunk ``chunk_selection`` /
    ``out_selection`` (basic, orthogonal, point and mask indexers; ``shape`` is that of the
    output or value, ``None`` for a scalar value, whose selections are not needed). Returns
    the output's shape with the dropped (integer-indexed) axes put back as length 1, and per
    chunk its shape, the selection in it and the selection in the output: a list with per axis
    a ``(start, stop, step)`` triple or an ``int64`` array of indices, or for points a 2-d
    ``int64`` array of their coordinates (then the output is 1-d). ``None`` for selections
    of another form."""
    ndim = len(batch[0][1].shape)
    full_shape: list[int] | None = None
    chunk_shapes, chunk_sels, out_sels = [], [], []
    for _, s, chunk_sel, out_sel, _ in batch:
        cshape = tuple(s.shape)
        if not isinstance(chunk_sel, tuple):
            chunk_sel = (chunk_sel,)
        if len(chunk_sel) != ndim:
            return None
        if not isinstance(out_sel, tuple):
            # Points (coordinate and mask indexers): one 1-d integer array per chunk axis.
            if ndim == 0 or not all(isinstance(a, np.ndarray) and a.ndim == 1 and a.dtype.kind in "iu" for a in chunk_sel):
                return None
            k = len(chunk_sel[0])
            if any(len(a) != k for a in chunk_sel):
                return None
            if shape is None:
                out_axes: list[Any] = []
                full = []
            else:
                if len(shape) != 1:
                    return None
                o = _axis(out_sel, shape[0])
                if o is None or _axis_len(o) != k:
                    return None
                out_axes = [o]
                full = list(shape)
            chunk_shapes.append(list(cshape))
            chunk_sels.append(np.stack([np.asarray(a, dtype=np.int64) for a in chunk_sel]))
            out_sels.append(out_axes)
        else:
            caxes = [_axis(x, n) for x, n in zip(chunk_sel, cshape)]
            if any(a is None for a in caxes):
                return None
            if shape is None:
                out_axes = []
                full = []
            else:
                dropped = drop_axes
                if len(shape) + len(dropped) != ndim:
                    # zarr may drop integer-indexed axes without naming them in ``drop_axes``.
                    dropped = tuple(i for i, x in enumerate(chunk_sel) if _is_int(x))
                    if len(shape) + len(dropped) != ndim:
                        return None
                full = list(shape)
                for ax in sorted(dropped):
                    full.insert(ax, 1)
                out_sel = list(out_sel) + [slice(None)] * (len(shape) - len(out_sel))
                if len(out_sel) != len(shape):
                    return None
                out_axes = [_axis(x, n) for x, n in zip(out_sel, shape)]
                if any(a is None for a in out_axes):
                    return None
                for ax in sorted(dropped):
                    out_axes.insert(ax, (0, 1, 1))
                if [_axis_len(a) for a in caxes] != [_axis_len(a) for a in out_axes]:
                    return None
            chunk_shapes.append(list(cshape))
            chunk_sels.append(caxes)
            out_sels.append(out_axes)
        if full_shape is None:
            full_shape = full
        elif full_shape != full:
            return None
    return full_shape, chunk_shapes, chunk_sels, out_sels


def _rust_dtype(dtype: np.dtype) -> np.dtype:
    """``dtype``, or for datetimes and timedeltas the integer of the same size and byte order."""
    if dtype.kind in "mM":
        return np.dtype(f"i{dtype.itemsize}").newbyteorder(dtype.byteorder)
    return dtype


class CodecPipeline(_ZarrCodecPipeline):
    """zarr's codec pipeline, run by ndpack. Select it with::

        zarr.config.set({"codec_pipeline.path": "ndpack.zarr.CodecPipeline"})

    or the environment variable ``ZARR_CODEC_PIPELINE__PATH=ndpack.zarr.CodecPipeline``.
    ``codec_pipeline.strict`` (default False) makes codecs ndpack cannot run an error instead of
    running them in Python (per codec, or the whole call in zarr's pipeline);
    ``codec_pipeline.warn_fallback`` (default False) warns once per pipeline that does so.
    """

    def __init__(self, codecs: Iterable[Codec], *, batch_size: int | None = None, strict: bool | None = None):
        self.codecs = tuple(codecs)
        self.batch_size = batch_size
        self.strict = bool(_config("codec_pipeline.strict", False)) if strict is None else bool(strict)
        self._fallback = BatchedCodecPipeline.from_codecs(self.codecs, batch_size=batch_size)
        #: item size -> the Rust chain, or ``"mixed"`` when some codec runs in Python
        self._chains: dict[int, Any] = {}
        #: chunk spec facts -> the :class:`MixedChain`, or why there is none
        self._plans: dict[tuple[Any, ...], Any] = {}

    # -- construction --------------------------------------------------------------------

    @classmethod
    def from_codecs(cls, codecs: Iterable[Codec], *, batch_size: int | None = None) -> CodecPipeline:
        return cls(codecs, batch_size=batch_size)

    @classmethod
    def from_array_metadata_and_store(cls, array_metadata: Any, store: Any) -> CodecPipeline:
        from zarr.core.metadata import ArrayV2Metadata, ArrayV3Metadata

        if isinstance(array_metadata, ArrayV3Metadata):
            return cls.from_codecs(array_metadata.codecs)
        if isinstance(array_metadata, ArrayV2Metadata):
            from zarr.codecs._v2 import V2Codec

            return cls.from_codecs([V2Codec(filters=array_metadata.filters, compressor=array_metadata.compressor)])
        raise TypeError(f"unknown array metadata {type(array_metadata).__name__}")

    def evolve_from_array_spec(self, array_spec: Any) -> CodecPipeline:
        return type(self)(
            [c.evolve_from_array_spec(array_spec=array_spec) for c in self.codecs],
            batch_size=self.batch_size,
            strict=self.strict,
        )

    def __iter__(self):
        return iter(self.codecs)

    def __repr__(self) -> str:
        return f"ndpack.zarr.CodecPipeline({list(self.codecs)!r})"

    def __eq__(self, other: object) -> bool:
        return type(other) is type(self) and self.codecs == other.codecs  # type: ignore[attr-defined]

    def __hash__(self) -> int:
        return hash((type(self), self.codecs))

    def __getstate__(self) -> dict[str, Any]:
        return {"codecs": self.codecs, "batch_size": self.batch_size, "strict": self.strict}

    def __setstate__(self, state: dict[str, Any]) -> None:
        self.__init__(state["codecs"], batch_size=state["batch_size"], strict=state["strict"])  # type: ignore[misc]

    # -- properties zarr asks for ----------------------------------------------------------

    @property
    def supports_partial_decode(self) -> bool:
        """Whether parts of a chunk are read without reading the whole chunk: shards (the
        index, then the inner chunks a selection touches) and uncompressed chunks (a chain of
        ``bytes`` alone: the byte ranges of the selected items, on a ``LocalStore``)."""
        from zarr.codecs import BytesCodec

        if self._fallback.supports_partial_decode:
            return True
        return len(self.codecs) == 1 and type(self.codecs[0]) is BytesCodec


    @property
    def supports_partial_encode(self) -> bool:
        """Whether part of a chunk is written without encoding the whole chunk again: shards
        (only the inner chunks a write touches are encoded; the others' bytes are kept)."""
        return self._fallback.supports_partial_encode

    def validate(self, *, shape: tuple[int, ...], dtype: Any, chunk_grid: Any) -> None:
        self._fallback.validate(shape=shape, dtype=dtype, chunk_grid=chunk_grid)

    def compute_encoded_size(self, byte_length: int, array_spec: Any) -> int:
        chain = self._chain(array_spec)
        if chain is not None:
            n = chain.encoded_size(byte_length, list(array_spec.shape))
            if n is not None:
                return int(n)
        return self._fallback.compute_encoded_size(byte_length, array_spec)

    # -- the Rust chain --------------------------------------------------------------------

    def _chain(self, spec: Any) -> Any:
        """What runs chunks of ``spec``: the Rust chain, a :class:`MixedChain` when some codecs
        run in Python, or ``None`` when the whole chain runs in zarr's pipeline."""
        try:
            dtype = spec.dtype.to_native_dtype()
        except Exception:
            return self._unsupported("the dtype has no NumPy form")
        if dtype.hasobject or dtype.kind in "OT" or dtype.itemsize == 0:
            return self._unsupported(f"dtype {dtype} holds Python objects")
        key = dtype.itemsize
        if key not in self._chains:
            if foreign_codec(self.codecs) is not None:
                self._chains[key] = "mixed"
            else:
                try:
                    codecs = json.dumps([c.to_dict() for c in self.codecs])
                    self._chains[key] = _ndpack.ZarrCodecChain(codecs, dtype.itemsize)
                except Exception:
                    self._chains[key] = "mixed"
        chain = self._chains[key]
        if isinstance(chain, str):
            return self._mixed(spec, dtype)
        return chain

    def _mixed(self, spec: Any, dtype: np.dtype) -> Any:
        """The chain cut into Rust segments and codecs run in Python, for chunks of ``spec``;
        ``None`` when no codec runs in Rust (the one codec is zarr's business)."""
        key = (tuple(spec.shape), str(dtype), repr(spec.fill_value), bool(spec.config.write_empty_chunks), spec.config.order)
        plan = self._plans.get(key)
        if plan is None:
            try:
                plan = MixedChain(self.codecs, spec)
            except Exception as e:
                plan = str(e)
            if len(self._plans) < 64:
                self._plans[key] = plan
        if isinstance(plan, str):
            return self._unsupported(plan)
        if len(plan.segments) == 1:
            return self._unsupported("; ".join(plan.why))
        if self.strict:
            raise NotImplementedError(
                f"ndpack.zarr.CodecPipeline (strict) would run {plan.python_codecs} in Python: " + "; ".join(plan.why)
            )
        self._note(f"ndpack.zarr.CodecPipeline runs {plan.python_codecs} through their Python implementations, the rest of {[type(c).__name__ for c in self.codecs]} in Rust: " + "; ".join(plan.why))
        return plan

    def _unsupported(self, why: str) -> None:
        """Records that a chain runs through zarr's pipeline: an error with ``strict``, a debug
        log line otherwise, and an ``NdpackFallbackWarning`` once per pipeline when zarr's
        config ``codec_pipeline.warn_fallback`` is on."""
        msg = f"ndpack.zarr.CodecPipeline runs {[type(c).__name__ for c in self.codecs]} through zarr's own pipeline: {why}"
        if self.strict:
            raise NotImplementedError(msg)
        self._note(msg)
        return None

    def _note(self, msg: str) -> None:
        """A debug log line, and an ``NdpackFallbackWarning`` once per pipeline with zarr's
        config ``codec_pipeline.warn_fallback``."""
        _log.debug(msg)
        if _config("codec_pipeline.warn_fallback", False) and not getattr(self, "_warned", False):
            self._warned = True
            warnings.warn(msg, NdpackFallbackWarning, stacklevel=4)

    @staticmethod
    def _spec_facts(spec: Any) -> tuple[np.dtype, bytes]:
        """The dtype Rust sees (datetimes as integers of their size: NumPy does not export
        them through the buffer protocol) and the fill value's bytes."""
        dtype = spec.dtype.to_native_dtype()
        fill = np.asarray(fill_value_or_default(spec), dtype=dtype).reshape(()).tobytes()
        return _rust_dtype(dtype), fill

    # -- fetching and storing --------------------------------------------------------------

    @staticmethod
    async def _fetch(getters: list[Any], prototype: Any) -> list[Any]:
        """Chunk sources for the Rust calls: a path (``LocalStore``: Rust reads the file), the
        stored memory (``MemoryStore``), the bytes zarr's store API gives, or ``None``."""
        from zarr.storage import LocalStore, MemoryStore

        out: list[Any] = [None] * len(getters)
        rest = []
        for i, g in enumerate(getters):
            store = getattr(g, "store", None)
            path = getattr(g, "path", None)
            if g is None:
                continue
            if type(store) is LocalStore and isinstance(path, str):
                out[i] = os.path.join(str(store.root), path)
            elif type(store) is MemoryStore and isinstance(path, str):
                buf = store._store_dict.get(path)
                out[i] = None if buf is None else buf.as_numpy_array()
            else:
                rest.append(i)
        if rest:
            got = await concurrent_map(
                [(getters[i],) for i in rest],
                lambda g: g.get(prototype=prototype),
                _config("async.concurrency", 10),
            )
            for i, buf in zip(rest, got):
                out[i] = None if buf is None else buf.as_numpy_array()
        return out

    # -- batch decode and encode -----------------------------------------------------------

    async def decode(self, chunk_bytes_and_specs: Iterable[tuple[Any, Any]]) -> Iterable[Any]:
        items = list(chunk_bytes_and_specs)
        if not items:
            return []
        chain = self._chain(items[0][1])
        if chain is None or len({(s.shape, str(s.dtype)) for _, s in items}) != 1:
            return await self._fallback.decode(items)
        spec = items[0][1]
        dtype, fill = self._spec_facts(spec)
        chunks = [None if b is None else b.as_numpy_array() for b, _ in items]
        native = spec.dtype.to_native_dtype()
        if isinstance(chain, MixedChain):
            arrays = await chain.decode_arrays(chunks)
            return [None if a is None else s.prototype.nd_buffer.from_ndarray_like(a) for a, (_, s) in zip(arrays, items)]
        arrays = chain.decode(chunks, dtype.str, list(spec.shape), fill)
        return [
            None if a is None else s.prototype.nd_buffer.from_ndarray_like(a.view(native))
            for a, (_, s) in zip(arrays, items)
        ]

    async def encode(self, chunk_arrays_and_specs: Iterable[tuple[Any, Any]]) -> Iterable[Any]:
        items = list(chunk_arrays_and_specs)
        if not items:
            return []
        chain = self._chain(items[0][1])
        arrays = [None if a is None else a.as_ndarray_like() for a, _ in items]
        if (
            chain is None
            or len({(s.shape, str(s.dtype)) for _, s in items}) != 1
            or not all(a is None or isinstance(a, np.ndarray) for a in arrays)
        ):
            return await self._fallback.encode(items)
        spec = items[0][1]
        dtype, fill = self._spec_facts(spec)
        if isinstance(chain, MixedChain):
            encoded = await chain.encode(arrays, lambda c, a: self._encode_arrays(c, a, dtype, tuple(spec.shape), fill, True), True)
        else:
            encoded = self._encode_arrays(chain, arrays, dtype, tuple(spec.shape), fill, True)
        return [None if e is None else s.prototype.buffer.from_bytes(e) for e, (_, s) in zip(encoded, items)]

    @staticmethod
    def _encode_arrays(chain: Any, arrays: list[Any], dtype: np.dtype, shape: tuple[int, ...], fill: bytes, write_empty: bool) -> list[Any]:
        """Encodes arrays of ``shape`` in one Rust call per memory order; ``None`` stays ``None``."""
        out: list[Any] = [None] * len(arrays)
        groups: dict[str, list[int]] = {"C": [], "F": []}
        prepared: list[Any] = [None] * len(arrays)
        for i, a in enumerate(arrays):
            if a is None:
                continue
            a = np.asarray(a)
            a = a.view(dtype) if a.dtype.kind in "mM" and a.dtype.itemsize == dtype.itemsize else np.asarray(a, dtype=dtype)
            if a.shape != shape:
                a = a.reshape(shape)
            if a.flags.c_contiguous:
                groups["C"].append(i)
            elif a.flags.f_contiguous:
                groups["F"].append(i)
            else:
                a = np.ascontiguousarray(a)
                groups["C"].append(i)
            prepared[i] = a
        for order, idx in groups.items():
            if idx:
                enc = chain.encode([prepared[i] for i in idx], dtype.str, list(shape), order, fill, write_empty)
                for i, e in zip(idx, enc):
                    out[i] = e
        return out

    # -- read and write --------------------------------------------------------------------

    async def read(self, batch_info: Iterable[tuple[Any, ...]], out: Any, drop_axes: tuple[int, ...] = ()) -> None:
        batch = list(batch_info)
        if not batch:
            return
        spec = batch[0][1]
        chain = self._chain(spec)
        target = out.as_ndarray_like()
        if chain is None or not isinstance(target, np.ndarray):
            await self._fallback.read(batch, out, drop_axes)
            return
        mixed = chain if isinstance(chain, MixedChain) else None
        dtype, fill = self._spec_facts(spec)
        native = spec.dtype.to_native_dtype()
        if target.dtype.kind in "mM" and target.dtype == native:
            target = target.view(dtype)
        sources = await self._fetch([b[0] for b in batch], spec.prototype)
        if mixed is not None:
            # The codecs after the first Rust segment (Python ones among them) run first.
            sources = await mixed.decode_inner(sources)
            chain = mixed.outer
        if self._read_into(chain, batch, sources, target, dtype, fill, drop_axes):
            return
        # Selections of other forms (or memory Rust cannot write): the chunks decode in
        # parallel, a group per Rust call (bounded memory), and NumPy copies their parts out.
        group = 64
        for g in range(0, len(batch), group):
            part, srcs = batch[g:g + group], sources[g:g + group]
            shapes = {tuple(b[1].shape) for b, src in zip(part, srcs) if src is not None}
            if len(shapes) == 1:
                decoded = chain.decode(srcs, dtype.str, list(shapes.pop()), fill)
            else:
                decoded = [None if src is None else chain.decode([src], dtype.str, list(b[1].shape), fill)[0] for b, src in zip(part, srcs)]
            for (_, s, chunk_sel, out_sel, _), arr in zip(part, decoded):
                if arr is None:
                    out[out_sel] = fill_value_or_default(s)
                    continue
                tmp = arr.view(native)[chunk_sel]
                if drop_axes:
                    tmp = tmp.squeeze(axis=drop_axes)
                out[out_sel] = s.prototype.nd_buffer.from_ndarray_like(tmp)

    @staticmethod
    def _read_into(chain: Any, batch: list[Any], sources: list[Any], target: np.ndarray, dtype: np.dtype, fill: bytes, drop_axes: tuple[int, ...]) -> bool:
        """The one-call path: selections of any form zarr's indexers make (basic, orthogonal,
        points, masks), ``target`` writable, contiguous and of the chunks' dtype. Returns
        whether it ran."""
        if target.dtype != dtype or not target.flags.writeable:
            return False
        if target.flags.c_contiguous:
            order = "C"
        elif target.flags.f_contiguous:
            order = "F"
        else:
            return False
        regions = _selections(batch, target.shape, drop_axes)
        if regions is None:
            return False
        full_shape, chunk_shapes, chunk_regions, out_regions = regions
        flat = target.ravel(order="K")  # a view: the memory, for 0-d arrays too
        if not np.shares_memory(flat, target):
            return False
        chain.read_into(sources, flat, dtype.str, full_shape, order, chunk_shapes, chunk_regions, out_regions, fill)
        return True

    async def write(self, batch_info: Iterable[tuple[Any, ...]], value: Any, drop_axes: tuple[int, ...] = ()) -> None:
        batch = list(batch_info)
        if not batch:
            return
        spec = batch[0][1]
        chain = self._chain(spec)
        val = value.as_ndarray_like()
        if chain is None or not isinstance(val, np.ndarray) or len({tuple(b[1].shape) for b in batch}) != 1:
            await self._fallback.write(batch, value, drop_axes)
            return
        dtype, fill = self._spec_facts(spec)
        shape = tuple(spec.shape)
        # Existing chunks of partial writes.
        getters = [None if complete else setter for setter, _, _, _, complete in batch]
        sources = await self._fetch(getters, spec.prototype)
        native = spec.dtype.to_native_dtype()
        write_empty = bool(spec.config.write_empty_chunks)
        if not isinstance(chain, MixedChain) and await self._write_rust(chain, batch, sources, val, dtype, fill, drop_axes, write_empty):
            return
        if not any(s is not None for s in sources):
            existing = [None] * len(batch)
        elif isinstance(chain, MixedChain):
            existing = await chain.decode_arrays(sources)
        else:
            existing = chain.decode(sources, dtype.str, list(shape), fill)
        merged: list[Any] = []
        for (setter, s, chunk_sel, out_sel, complete), old in zip(batch, existing):
            old = None if old is None else old.view(native)
            merged.append(self._merge(old, val, s, chunk_sel, out_sel, complete, drop_axes, native))
        if isinstance(chain, MixedChain):
            encoded = await chain.encode(merged, lambda c, a: self._encode_arrays(c, a, dtype, shape, fill, write_empty), write_empty)
        else:
            encoded = self._encode_arrays(chain, merged, dtype, shape, fill, write_empty)
        await self._put(batch, encoded, spec.prototype)

    async def _write_rust(self, chain: Any, batch: list[Any], sources: list[Any], val: np.ndarray, dtype: np.dtype, fill: bytes, drop_axes: tuple[int, ...], write_empty: bool) -> bool:
        """The one-call write: selections of any form zarr's indexers make, a value of the
        chunks' dtype and of the selection's shape, or a scalar. Rust merges each chunk's part into the stored
        chunk where part of it is kept, encodes in parallel and writes the chunk files of a
        writable ``LocalStore`` itself; other stores get the bytes through zarr's store API.
        Returns whether it ran."""
        from zarr.storage import LocalStore

        if val.dtype.kind in "mM" and val.dtype.itemsize == dtype.itemsize:
            val = val.view(dtype)
        if val.dtype != dtype:
            return False
        scalar = val.ndim == 0
        if val.flags.c_contiguous:
            order = "C"
        elif val.flags.f_contiguous:
            order = "F"
        else:
            val = np.ascontiguousarray(val)
            order = "C"
        regions = _selections(batch, None if scalar else val.shape, drop_axes)
        if regions is None:
            return False
        full_shape, chunk_shapes, chunk_regions, value_regions = regions
        if not scalar and [n for n in full_shape if n != 1] != [n for n in val.shape if n != 1]:
            return False  # a value NumPy would broadcast
        flat = val.ravel(order="K")
        if not np.shares_memory(flat, val) and val.size:
            return False
        paths = []
        for setter, *_ in batch:
            store = getattr(setter, "store", None)
            path = getattr(setter, "path", None)
            if type(store) is not LocalStore or store.read_only or not isinstance(path, str):
                paths = None
                break
            paths.append(os.path.join(str(store.root), path))
        args = (sources, flat, dtype.str, full_shape, order, chunk_shapes, chunk_regions, value_regions, fill, write_empty)
        if paths is not None:
            chain.write(*args, paths=paths)
            return True
        encoded = chain.write(*args)
        await self._put(batch, encoded, batch[0][1].prototype)
        return True

    @staticmethod
    async def _put(batch: list[Any], encoded: list[Any], prototype: Any) -> None:
        """Stores each chunk's bytes through zarr's store API (deletes where ``None``)."""

        async def put(setter: Any, data: Any) -> None:
            if data is None:
                await setter.delete()
            else:
                await setter.set(prototype.buffer.from_bytes(data))

        await concurrent_map([(b[0], e) for b, e in zip(batch, encoded)], put, _config("async.concurrency", 10))

    @staticmethod
    def _merge(old: Any, value: np.ndarray, spec: Any, chunk_sel: Any, out_sel: Any, complete: bool, drop_axes: tuple[int, ...], dtype: np.dtype) -> np.ndarray:
        """The chunk after the write, as zarr's ``_merge_chunk_array`` makes it."""
        shape = tuple(spec.shape)
        if complete and value.shape == shape and value[out_sel].shape == shape:
            return value
        if old is None:
            chunk = np.full(shape, fill_value_or_default(spec), dtype=dtype, order=spec.order)
        else:
            chunk = old if old.flags.writeable else old.copy()
        if chunk_sel == () or is_scalar(value, dtype):
            part = value
        else:
            part = value[out_sel]
            if drop_axes:
                item = tuple(None if i in drop_axes else slice(None) for i in range(len(shape)))
                part = part[item]
        chunk[chunk_sel] = part
        return chunk
