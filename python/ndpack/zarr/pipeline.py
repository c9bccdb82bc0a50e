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
``codec_pipeline.strict``. Parts of shards selected by slices and integers are read by Rust (the
index, then the byte ranges of the inner chunks they touch, nearby ranges coalesced); parts
selected otherwise use zarr's sharding codec, whose inner chunks come back to this pipeline.
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


def _triples(selection: Any, shape: tuple[int, ...]) -> list[tuple[int, int, int]] | None:
    """``(start, stop, step)`` per axis for a selection of slices and integers over ``shape``,
    or ``None`` for any other selection (arrays, masks, newaxis)."""
    if not isinstance(selection, tuple):
        selection = (selection,)
    if len(selection) != len(shape):
        return None
    out = []
    for sel, n in zip(selection, shape):
        if isinstance(sel, slice):
            out.append(sel.indices(n))
        elif isinstance(sel, (int, np.integer)) and not isinstance(sel, bool):
            i = int(sel)
            if i < 0:
                i += n
            if not 0 <= i < n:
                return None
            out.append((i, i + 1, 1))
        else:
            return None
    return out


def _regions(batch: list[Any], shape: tuple[int, ...], drop_axes: tuple[int, ...]) -> Any:
    """For the one-call read and write paths: the shape of an array of ``shape`` with its
    dropped (integer-indexed) axes put back as length-1 axes, and per chunk of ``batch`` its
    shape, the ``(start, stop, step)`` triples of its selection and of the selection's place in
    that array. ``None`` when a selection is not made of slices and integers or the parts do not
    match in shape."""
    ndim = len(batch[0][1].shape)
    if len(shape) + len(drop_axes) != ndim:
        # zarr may drop integer-indexed axes without naming them in ``drop_axes``.
        sel = batch[0][2] if isinstance(batch[0][2], tuple) else (batch[0][2],)
        drop_axes = tuple(i for i, x in enumerate(sel) if isinstance(x, (int, np.integer)) and not isinstance(x, bool))
        if len(shape) + len(drop_axes) != ndim:
            return None
    full_shape = list(shape)
    for ax in sorted(drop_axes):
        full_shape.insert(ax, 1)
    chunk_shapes, chunk_regions, out_regions = [], [], []
    for _, s, chunk_sel, out_sel, _ in batch:
        cr = _triples(chunk_sel, tuple(s.shape))
        if cr is None:
            return None
        if not isinstance(out_sel, tuple):
            out_sel = (out_sel,)
        out_sel = list(out_sel) + [slice(None)] * (len(shape) - len(out_sel))
        for ax in sorted(drop_axes):
            out_sel.insert(ax, slice(0, 1))
        orr = _triples(tuple(out_sel), tuple(full_shape))
        if orr is None or [len(range(*t)) for t in cr] != [len(range(*t)) for t in orr]:
            return None
        chunk_shapes.append(list(s.shape))
        chunk_regions.append(cr)
        out_regions.append(orr)
    return full_shape, chunk_shapes, chunk_regions, out_regions


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
        return self._fallback.supports_partial_decode

    @property
    def supports_partial_encode(self) -> bool:
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
        if (
            mixed is None
            and "sharding_indexed" in chain.names
            and self._fallback.supports_partial_decode
            and _regions(batch, target.shape, drop_axes) is None
        ):
            # Parts of shards by orthogonal, point or mask selections: zarr's sharding codec
            # reads the index and the inner chunks' byte ranges; whole shards are read here.
            # (Parts by slices and integers are read by Rust: the index, then only the inner
            # chunks they touch.)
            partial = [b for b in batch if not b[4]]
            if partial:
                await self._fallback.read(partial, out, drop_axes)
            batch = [b for b in batch if b[4]]
            if not batch:
                return
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
        # Other selections: the chunks decode in parallel, a group per Rust call (bounded
        # memory), and NumPy copies their parts out.
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
        """The one-call path: every selection made of slices and integers, ``target`` writable,
        contiguous and of the chunks' dtype. Returns whether it ran."""
        if target.dtype != dtype or not target.flags.writeable:
            return False
        if target.flags.c_contiguous:
            order = "C"
        elif target.flags.f_contiguous:
            order = "F"
        else:
            return False
        regions = _regions(batch, target.shape, drop_axes)
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
        """The one-call write: selections of slices and integers, a contiguous value of the
        chunks' dtype and shape of the selection. Rust merges each chunk's part into the stored
        chunk where part of it is kept, encodes in parallel and writes the chunk files of a
        writable ``LocalStore`` itself; other stores get the bytes through zarr's store API.
        Returns whether it ran."""
        from zarr.storage import LocalStore

        if val.dtype.kind in "mM" and val.dtype.itemsize == dtype.itemsize:
            val = val.view(dtype)
        if val.dtype != dtype or val.ndim == 0:
            return False
        if val.flags.c_contiguous:
            order = "C"
        elif val.flags.f_contiguous:
            order = "F"
        else:
            val = np.ascontiguousarray(val)
            order = "C"
        regions = _regions(batch, val.shape, drop_axes)
        if regions is None:
            return False
        full_shape, chunk_shapes, chunk_regions, value_regions = regions
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
