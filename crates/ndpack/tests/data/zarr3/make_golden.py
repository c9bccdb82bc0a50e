"""Writes the zarr v3 golden vectors of crates/ndpack/tests/zarr3.rs with zarr-python's own
codecs (zarr 3.1.6, numcodecs 0.16.6): for each case one chunk (or shard) is written through
zarr's default pipeline into a MemoryStore, and its stored bytes, the array data and the codec
metadata go to `<case>.chunk`, `<case>.data` and `manifest.json`.

Run from this directory: python3 make_golden.py
"""

import json
import os

import numpy as np
import zarr
from zarr.codecs import (
    BloscCodec,
    BytesCodec,
    Crc32cCodec,
    GzipCodec,
    ShardingCodec,
    TransposeCodec,
    ZstdCodec,
)
from zarr.storage import MemoryStore

HERE = os.path.dirname(os.path.abspath(__file__))


def data_for(dtype, shape, seed):
    rng = np.random.default_rng(seed)
    n = int(np.prod(shape))
    dt = np.dtype(dtype)
    if dt.kind == "f":
        a = (np.linspace(0, 50, n) + rng.normal(0, 0.01, n)).astype(dt)
    elif dt.kind == "c":
        a = (np.linspace(0, 5, n) + 1j * np.linspace(5, 0, n)).astype(dt)
    elif dt.kind == "b":
        a = rng.integers(0, 2, n).astype(bool)
    else:
        info = np.iinfo(dt)
        a = (np.arange(n) % 97 + rng.integers(0, 3, n)).clip(info.min, info.max).astype(dt)
    return a.reshape(shape)


# name, dtype, shape, chunks, shards, serializer, compressors, filters, fill, zero_region
CASES = [
    ("u2_zstd", "<u2", (16, 12), (16, 12), None, BytesCodec(), [ZstdCodec()], [], 0, None),
    ("f8_big_gzip", "<f8", (10, 7), (10, 7), None, BytesCodec(endian="big"), [GzipCodec(level=5)], [], 0.0, None),
    ("i4_transpose_crc", "<i4", (6, 5, 4), (6, 5, 4), None, BytesCodec(), [Crc32cCodec()],
     [TransposeCodec(order=(2, 0, 1))], 0, None),
    ("u1_blosc_default", "|u1", (40, 30), (40, 30), None, BytesCodec(endian=None), [BloscCodec()], [], 0, None),
    ("f4_blosc_lz4", "<f4", (32, 20), (32, 20), None, BytesCodec(),
     [BloscCodec(cname="lz4", clevel=7, shuffle="shuffle")], [], 0.0, None),
    ("i2_blosc_zstd_noshuffle", "<i2", (50,), (50,), None, BytesCodec(),
     [BloscCodec(cname="zstd", clevel=3, shuffle="noshuffle")], [], 0, None),
    ("c8_bytes", "<c8", (5, 6), (5, 6), None, BytesCodec(), [], [], 0, None),
    ("b1_zstd_checksum", "|b1", (33,), (33,), None, BytesCodec(endian=None),
     [ZstdCodec(level=3, checksum=True)], [], False, None),
    ("i2_shard_end", "<i2", (16, 12), (16, 12), (4, 6), BytesCodec(), [ZstdCodec()], [], 0, None),
    ("u4_shard_3d_skip", "<u4", (6, 8, 4), (6, 8, 4), (2, 2, 2), BytesCodec(), [ZstdCodec(level=1)], [],
     5, (slice(0, 2), slice(0, 4), slice(None))),
]


def main():
    manifest = []
    for name, dtype, shape, chunks, inner, serializer, compressors, filters, fill, fill_region in CASES:
        store = MemoryStore()
        kwargs = dict(shape=shape, dtype=dtype, fill_value=fill, serializer=serializer,
                      compressors=compressors, filters=filters, zarr_format=3)
        if inner is None:
            kwargs["chunks"] = chunks
        else:
            kwargs["shards"] = chunks
            kwargs["chunks"] = inner
        arr = zarr.create_array(store, **kwargs)
        data = data_for(dtype, shape, seed=len(manifest))
        if fill_region is not None:
            data[fill_region] = fill
        arr[...] = data
        key = "c/" + "/".join("0" for _ in shape)
        chunk = store._store_dict[key].to_bytes()
        codecs = arr.metadata.to_dict()["codecs"]
        with open(os.path.join(HERE, name + ".chunk"), "wb") as f:
            f.write(chunk)
        with open(os.path.join(HERE, name + ".data"), "wb") as f:
            f.write(np.ascontiguousarray(data).tobytes())
        manifest.append({
            "name": name,
            "dtype": np.dtype(dtype).str,
            "shape": list(shape),
            "fill": np.array(fill, dtype=dtype).tobytes().hex(),
            "codecs": codecs,
        })
    manifest_doc = {"zarr": zarr.__version__, "cases": manifest}
    with open(os.path.join(HERE, "manifest.json"), "w") as f:
        json.dump(manifest_doc, f, indent=1)
        f.write("\n")


if __name__ == "__main__":
    main()
