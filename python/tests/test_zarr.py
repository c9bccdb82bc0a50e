"""zarr (format 2, zarr 3.1 API) arrays written with numcodecs' codecs read back through
ndpack's after ``register_numcodecs()``, and arrays written with ndpack's codecs read back by
plain numcodecs."""

import numcodecs
import numpy as np
import pytest
import zarr
from conftest import sample

import ndpack
from ndpack import codecs as nc

# (dtype, compressor id+kwargs, filters as (id, kwargs) list)
PIPELINES = [
    ("<f8", ("zlib", {"level": 3}), []),
    ("<f8", ("zlib", {}), [("delta", {"dtype": "<f8"})]),
    ("<i4", ("gzip", {"level": 5}), [("delta", {"dtype": "<i4", "astype": "<i8"})]),
    ("<f4", ("zstd", {"level": 3}), [("shuffle", {"elementsize": 4})]),
    ("<f8", ("zstd", {"level": 1, "checksum": True}), [("quantize", {"digits": 3, "dtype": "<f8"})]),
    ("<f8", ("lz4", {}), [("fixedscaleoffset", {"offset": 10, "scale": 100, "dtype": "<f8", "astype": "<i4"})]),
    ("<f8", ("bz2", {"level": 9}), [("astype", {"encode_dtype": "<f4", "decode_dtype": "<f8"})]),
    ("<f4", ("lzma", {"preset": 1}), [("bitround", {"keepbits": 10})]),
    ("|b1", ("zlib", {}), [("packbits", {})]),
    ("<u2", ("crc32", {}), []),
    (">i8", ("adler32", {"location": "end"}), [("delta", {"dtype": ">i8"})]),
    ("<u1", ("fletcher32", {}), []),
    ("<f8", ("zstd", {}), [("crc32c", {})]),
]


def _ids(p):
    dtype, (cid, _), filters = p
    return "-".join([dtype, cid] + [f for f, _ in filters])


@pytest.fixture
def numcodecs_registry():
    """Restores numcodecs' registry after the test."""
    saved = dict(numcodecs.registry.codec_registry)
    yield
    numcodecs.registry.codec_registry.clear()
    numcodecs.registry.codec_registry.update(saved)


def _data(dtype):
    arr = sample(dtype, (45, 38), seed=7)
    if np.dtype(dtype).kind == "f":
        arr = (np.linspace(0, 30, arr.size).reshape(arr.shape) + arr / 100).astype(dtype)
    return arr


def _codec(lib, cid, kwargs):
    if lib == "numcodecs":
        return numcodecs.get_codec({"id": cid, **kwargs})
    return nc.get_codec({"id": cid, **kwargs})


def _write(store, arr, lib, compressor, filters):
    z = zarr.create_array(
        store=store,
        shape=arr.shape,
        chunks=(16, 16),
        dtype=arr.dtype,
        zarr_format=2,
        compressors=_codec(lib, *compressor),
        filters=[_codec(lib, *f) for f in filters] or None,
    )
    z[:] = arr
    z[3:9, 30:] = arr[3:9, 30:]  # a partial chunk rewrite (read, merge, write)
    return z


@pytest.mark.parametrize("pipeline", PIPELINES, ids=_ids)
def test_numcodecs_written_ndpack_reads(pipeline, numcodecs_registry, tmp_path):
    dtype, compressor, filters = pipeline
    arr = _data(dtype)
    store = zarr.storage.LocalStore(tmp_path / "a.zarr")
    ref = _write(store, arr, "numcodecs", compressor, filters)
    expect = ref[:]

    ndpack.register_numcodecs()
    z = zarr.open_array(store=store, mode="r")
    assert isinstance(z.metadata.compressor, nc.Codec)
    assert all(isinstance(f, nc.Codec) for f in (z.metadata.filters or ()))
    got = z[:]
    assert got.dtype == expect.dtype and np.array_equal(got, expect)
    assert np.array_equal(z[5:40:3, 2:37], expect[5:40:3, 2:37])


@pytest.mark.parametrize("pipeline", PIPELINES, ids=_ids)
def test_ndpack_written_numcodecs_reads(pipeline, numcodecs_registry, tmp_path):
    dtype, compressor, filters = pipeline
    arr = _data(dtype)
    store = zarr.storage.LocalStore(tmp_path / "b.zarr")
    ours = _write(store, arr, "ndpack", compressor, filters)
    assert isinstance(ours.metadata.compressor, nc.Codec)
    # plain numcodecs (no registration) reads what ndpack wrote
    z = zarr.open_array(store=store, mode="r")
    assert not isinstance(z.metadata.compressor, nc.Codec)
    ref_store = zarr.storage.MemoryStore()
    ref = _write(ref_store, arr, "numcodecs", compressor, filters)
    assert np.array_equal(z[:], ref[:])
    # and ndpack reads it back too
    ndpack.register_numcodecs()
    assert np.array_equal(zarr.open_array(store=store, mode="r")[:], ref[:])
