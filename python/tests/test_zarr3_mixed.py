"""Per-codec fallback of ``ndpack.zarr.CodecPipeline``: a codec ndpack does not run (here custom
codecs registered with zarr, in the middle of chains) runs through its own Python
implementation, once per batch of chunks, while the rest of the chain runs in Rust; the arrays and
stored bytes are zarr's own pipeline's; ``codec_pipeline.strict`` raises instead."""

from __future__ import annotations

import warnings
from dataclasses import dataclass, replace

import numpy as np
import pytest

zarr = pytest.importorskip("zarr")

from zarr.abc.codec import ArrayArrayCodec, BytesBytesCodec  # noqa: E402
from zarr.codecs import BytesCodec, Crc32cCodec, ShardingCodec, TransposeCodec, ZstdCodec  # noqa: E402
from zarr.core.common import parse_named_configuration  # noqa: E402
from zarr.registry import register_codec  # noqa: E402
from zarr.storage import LocalStore, MemoryStore  # noqa: E402

import ndpack.zarr as nz  # noqa: E402

PIPELINE = {"codec_pipeline.path": "ndpack.zarr.CodecPipeline"}

#: How often each custom codec's batch methods ran: (class name, "decode"/"encode") -> calls.
CALLS: dict[tuple[str, str], int] = {}


def _count(codec: object, what: str) -> None:
    key = (type(codec).__name__, what)
    CALLS[key] = CALLS.get(key, 0) + 1


@dataclass(frozen=True)
class XorCodec(BytesBytesCodec):
    """Bytes to bytes: every byte XOR ``key`` (not a size-preserving no-op: the bytes change)."""

    is_fixed_size = True
    key: int = 0x5A

    @classmethod
    def from_dict(cls, data):
        _, conf = parse_named_configuration(data, "test.xor")
        return cls(**(conf or {}))

    def to_dict(self):
        return {"name": "test.xor", "configuration": {"key": self.key}}

    async def decode(self, chunks_and_specs):
        _count(self, "decode")
        return await super().decode(chunks_and_specs)

    async def encode(self, chunks_and_specs):
        _count(self, "encode")
        return await super().encode(chunks_and_specs)

    async def _decode_single(self, chunk, spec):
        return spec.prototype.buffer.from_array_like(chunk.as_numpy_array() ^ np.uint8(self.key))

    async def _encode_single(self, chunk, spec):
        return spec.prototype.buffer.from_array_like(chunk.as_numpy_array() ^ np.uint8(self.key))

    def compute_encoded_size(self, input_byte_length, chunk_spec):
        return input_byte_length


@dataclass(frozen=True)
class AddCodec(ArrayArrayCodec):
    """Array to array: adds ``delta`` to every item on encoding."""

    is_fixed_size = True
    delta: int = 7

    @classmethod
    def from_dict(cls, data):
        _, conf = parse_named_configuration(data, "test.add")
        return cls(**(conf or {}))

    def to_dict(self):
        return {"name": "test.add", "configuration": {"delta": self.delta}}

    def resolve_metadata(self, chunk_spec):
        return chunk_spec

    async def decode(self, chunks_and_specs):
        _count(self, "decode")
        return await super().decode(chunks_and_specs)

    async def encode(self, chunks_and_specs):
        _count(self, "encode")
        return await super().encode(chunks_and_specs)

    async def _decode_single(self, chunk, spec):
        a = chunk.as_ndarray_like()
        return spec.prototype.nd_buffer.from_ndarray_like(a - a.dtype.type(self.delta))

    async def _encode_single(self, chunk, spec):
        a = chunk.as_ndarray_like()
        return spec.prototype.nd_buffer.from_ndarray_like(a + a.dtype.type(self.delta))

    def compute_encoded_size(self, input_byte_length, chunk_spec):
        return input_byte_length


class MyBytes(BytesCodec):
    """A subclass of zarr's ``bytes`` codec: ndpack cannot know what it overrides, so it runs
    in Python (an array-to-bytes codec)."""

    def to_dict(self):
        return {"name": "test.bytes", "configuration": {"endian": "little"}}

    @classmethod
    def from_dict(cls, data):
        return cls(endian="little")

    async def decode(self, chunks_and_specs):
        _count(self, "decode")
        return await super().decode(chunks_and_specs)


register_codec("test.xor", XorCodec)
register_codec("test.add", AddCodec)
register_codec("test.bytes", MyBytes)

CHAINS = {
    "xor-between-compressors": dict(serializer=BytesCodec(), compressors=[ZstdCodec(level=3), XorCodec(), Crc32cCodec()]),
    "add-between-transposes": dict(
        filters=[TransposeCodec(order=(1, 0)), AddCodec(), TransposeCodec(order=(1, 0))],
        serializer=BytesCodec(endian="big"),
        compressors=[ZstdCodec(level=1)],
    ),
    "add-first": dict(filters=[AddCodec()], compressors=[ZstdCodec(level=1), XorCodec()]),
    "python-serializer": dict(filters=[TransposeCodec(order=(1, 0))], serializer=MyBytes(endian="little"), compressors=[ZstdCodec(), Crc32cCodec()]),
}


def _chunks(store: MemoryStore) -> dict[str, bytes]:
    return {k: v.to_bytes() for k, v in store._store_dict.items() if not k.endswith("zarr.json")}


def _plan(z):
    """The mixed chain the pipeline used for the array's chunks."""
    plans = [p for p in z._async_array.codec_pipeline._plans.values() if not isinstance(p, str)]
    assert plans, "no codec ran in Python"
    return plans[0]


@pytest.mark.parametrize("name", list(CHAINS))
def test_custom_codec_mid_chain_matches_zarr(name: str) -> None:
    data = np.arange(23 * 19, dtype="<i4").reshape(23, 19) % 1000
    kw = dict(shape=data.shape, chunks=(6, 5), dtype=data.dtype, fill_value=-1, **CHAINS[name])
    ref, ours = MemoryStore(), MemoryStore()
    a = zarr.create_array(ref, **kw)
    with zarr.config.set(PIPELINE):
        b = zarr.create_array(ours, **kw)
    CALLS.clear()
    a[...] = data
    b[...] = data
    # One batch call per write for the Python codec, not one pipeline run per chunk.
    assert _chunks(ref) == _chunks(ours)
    plan = _plan(b)
    assert plan.python_codecs == [type(c).__name__ for c in b.metadata.codecs if type(c).__module__ == __name__]
    assert any(s.kind != "py" for s in plan.segments)  # the rest runs in Rust
    CALLS.clear()
    np.testing.assert_array_equal(b[...], data)
    decode_calls = {cls: v for (cls, what), v in CALLS.items() if what == "decode"}
    assert decode_calls == {c: 1 for c in plan.python_codecs}  # every chunk of the read in one batch
    np.testing.assert_array_equal(b[2:17:3, 4:], data[2:17:3, 4:])
    # Partial chunk writes: read-modify-write through the mixed chain.
    b[3:9, 2:11] = -5
    a[3:9, 2:11] = -5
    assert _chunks(ref) == _chunks(ours)
    # zarr's pipeline reads what ndpack's wrote, and the other way round.
    np.testing.assert_array_equal(zarr.open_array(ours)[...], a[...])
    with zarr.config.set(PIPELINE):
        np.testing.assert_array_equal(zarr.open_array(ref)[...], a[...])


def test_orthogonal_and_point_reads_and_missing_chunks(tmp_path) -> None:
    data = (np.arange(40 * 30, dtype="<u2").reshape(40, 30) * 3) % 5000
    kw = dict(shape=data.shape, chunks=(7, 8), dtype=data.dtype, fill_value=9, **CHAINS["xor-between-compressors"])
    with zarr.config.set(PIPELINE):
        z = zarr.create_array(LocalStore(tmp_path / "a.zarr"), **kw)
        z[:14] = data[:14]  # the other chunks are missing
        want = np.full(data.shape, 9, dtype=data.dtype)
        want[:14] = data[:14]
        np.testing.assert_array_equal(z[...], want)
        rows, cols = np.array([1, 5, 20, 39]), np.array([0, 3, 29])
        np.testing.assert_array_equal(z.oindex[rows, cols], want[np.ix_(rows, cols)])
        np.testing.assert_array_equal(z.vindex[rows, [0, 3, 29, 1]], want[rows, [0, 3, 29, 1]])
        np.testing.assert_array_equal(z[want > 100], want[want > 100])


def test_write_empty_chunks_with_python_codec_first() -> None:
    kw = dict(shape=(20, 10), chunks=(5, 5), dtype="<i4", fill_value=0, **CHAINS["add-first"])
    for write_empty in (False, True):
        ref, ours = MemoryStore(), MemoryStore()
        conf = {"array.write_empty_chunks": write_empty}
        with zarr.config.set(conf):
            a = zarr.create_array(ref, **kw)
        with zarr.config.set({**PIPELINE, **conf}):
            b = zarr.create_array(ours, **kw)
        value = np.zeros((20, 10), "<i4")
        value[0, 0] = 4
        a[...] = value
        b[...] = value
        assert _chunks(ref) == _chunks(ours)
        assert len(_chunks(ours)) == (8 if write_empty else 1)


def test_python_codec_inside_shards() -> None:
    data = np.arange(24 * 20, dtype="<i8").reshape(24, 20)
    inner = [BytesCodec(), ZstdCodec(level=2), XorCodec(key=3)]
    kw = dict(shape=data.shape, chunks=(12, 10), dtype=data.dtype, fill_value=0,
              serializer=ShardingCodec(chunk_shape=(4, 5), codecs=inner), compressors=None)
    ref, ours = MemoryStore(), MemoryStore()
    a = zarr.create_array(ref, **kw)
    with zarr.config.set(PIPELINE):
        b = zarr.create_array(ours, **kw)
        a[...] = data
        b[...] = data
        assert _chunks(ref) == _chunks(ours)
        np.testing.assert_array_equal(b[...], data)
        np.testing.assert_array_equal(b[5:7, 3:19], data[5:7, 3:19])


def test_strict_raises_and_warning_names_the_codec() -> None:
    kw = dict(shape=(10, 10), chunks=(5, 5), dtype="<i4", **CHAINS["xor-between-compressors"])
    with zarr.config.set({**PIPELINE, "codec_pipeline.strict": True}):
        z = zarr.create_array(MemoryStore(), **kw)
        with pytest.raises(NotImplementedError, match="XorCodec"):
            z[...] = 1
    with zarr.config.set({**PIPELINE, "codec_pipeline.warn_fallback": True}):
        z = zarr.create_array(MemoryStore(), **kw)
        with pytest.warns(nz.NdpackFallbackWarning, match=r"\['XorCodec'\] through their Python"):
            z[...] = 1
        with warnings.catch_warnings():
            warnings.simplefilter("error", nz.NdpackFallbackWarning)  # once per pipeline
            np.testing.assert_array_equal(z[...], 1)


def test_batch_decode_encode_and_pickle() -> None:
    import pickle

    from zarr.core.array_spec import ArrayConfig, ArraySpec
    from zarr.core.buffer import default_buffer_prototype
    from zarr.core.dtype import parse_dtype

    codecs = [BytesCodec(), XorCodec(key=1), ZstdCodec(level=1)]
    spec = ArraySpec((3, 4), parse_dtype("<u2", zarr_format=3), 0, ArrayConfig.from_dict({}), default_buffer_prototype())
    p = nz.CodecPipeline.from_codecs(codecs)
    p = pickle.loads(pickle.dumps(p))
    z = zarr.core.codec_pipeline.BatchedCodecPipeline.from_codecs(codecs)
    arrs = [np.arange(12, dtype="<u2").reshape(3, 4) + i for i in range(3)]
    nd = [(spec.prototype.nd_buffer.from_ndarray_like(a), spec) for a in arrs]
    import asyncio

    ours = asyncio.run(p.encode(nd + [(None, spec)]))
    theirs = asyncio.run(z.encode(nd + [(None, spec)]))
    assert [None if b is None else b.to_bytes() for b in ours] == [None if b is None else b.to_bytes() for b in theirs]
    back = asyncio.run(p.decode([(b, spec) for b in ours]))
    assert back[-1] is None
    for got, want in zip(back[:-1], arrs):
        np.testing.assert_array_equal(got.as_ndarray_like(), want)
    assert replace(XorCodec(), key=2).key == 2
