"""Frames crossing between ndpack and the reference libraries, both ways.

- python-blosc2 4.15 writes (contiguous file, sparse directory, in-memory cframe; every codec and
  filter ndpack reads, special chunks, metalayers, vlmeta, variable chunk sizes, frame versions 2
  and 3); ndpack opens them and finds the same chunk bytes, sizes and metadata.
- ndpack writes (memory -> to_cframe, contiguous file, sparse directory; after appends, updates,
  deletes and inserts; metalayers; vlmeta); python-blosc2 opens them (``blosc2.open``,
  ``blosc2.schunk_from_cframe``) and reads the same data and metadata.
- ndpack writes a frame with a ``caterva`` metalayer; caterva 0.7.3 (c-blosc2 2.4.3, which reads
  frame version 2 and chunk version 5 only) opens it as the array it describes. caterva's own files
  open in ndpack with the same metalayer bytes and chunks.
"""

from __future__ import annotations

import struct

import blosc2
import caterva
import numpy as np
import pytest

import ndpack
import ndpack.blosc2 as nb2
from conftest import sample, varied

CODECS = ["BLOSCLZ", "LZ4", "LZ4HC", "ZLIB", "ZSTD"]
#: (filters, filters_meta, dtype) python-blosc2 writes and ndpack reads.
FILTERS = [
    (["NOFILTER"], [0], "<i4"),
    (["SHUFFLE"], [0], "<i4"),
    (["BITSHUFFLE"], [0], "<i8"),
    (["DELTA", "SHUFFLE"], [0, 0], "<i4"),
    (["TRUNC_PREC", "SHUFFLE"], [12, 0], "<f4"),
    (["TRUNC_PREC", "BITSHUFFLE"], [20, 0], "<f8"),
]
if hasattr(nb2.Filter, "BYTEDELTA"):  # ndpack reads BYTEDELTA once its filter is built
    FILTERS.append((["SHUFFLE", "BYTEDELTA"], [0, 4], "<f4"))

STORAGES = ["file", "dir", "cframe"]


def v(e):
    """The value of an enum member of either library (python-blosc2's are plain Enums)."""
    return getattr(e, "value", e)


def frame_version(path_or_bytes) -> int:
    """The frame format version (low nibble of the general flags, byte 25 of the header)."""
    if isinstance(path_or_bytes, (bytes, bytearray)):
        head = bytes(path_or_bytes[:26])
    else:
        import os

        p = path_or_bytes
        if os.path.isdir(p):
            p = os.path.join(p, "chunks.b2frame")
        with open(p, "rb") as f:
            head = f.read(26)
    return head[25] & 0x0F


def blosc2_written(kind, tmp_path, make):
    """``make(**storage)`` builds a python-blosc2 SChunk; returns it and ndpack's view of the same
    frame."""
    if kind == "cframe":
        frame = make().to_cframe()
        # python-blosc2 reads its frame back (its in-memory super-chunk counts special chunks in
        # cbytes, a frame does not; so does a copy=True one)
        return blosc2.schunk_from_cframe(frame), ndpack.schunk_from_cframe(frame), frame
    path = str(tmp_path / ("b.b2frame" if kind == "file" else "b.b2dir"))
    theirs = make(urlpath=path, contiguous=kind == "file", mode="w")
    return theirs, ndpack.open(path), path


def assert_same_frame(theirs, ours) -> None:
    for name in ["nchunks", "chunksize", "typesize", "nbytes", "cbytes"]:
        assert getattr(ours, name) == getattr(theirs, name), name
    assert len(ours) == len(theirs)
    for i in range(theirs.nchunks):
        info = list(theirs.iterchunks_info())[i] if i < 3 else None
        if info is None or info.special == blosc2.SpecialValue.NOT_SPECIAL:
            assert ours.get_chunk(i) == theirs.get_chunk(i), f"chunk {i} bytes"
        assert ours.decompress_chunk(i) == theirs.decompress_chunk(i), f"chunk {i}"
    assert ours.meta.keys() == theirs.meta.keys()
    for k in theirs.meta.keys():
        assert ours.meta[k] == theirs.meta[k]
    assert list(ours.vlmeta) == list(theirs.vlmeta)
    for k in theirs.vlmeta:
        a, b = ours.vlmeta[k], theirs.vlmeta[k]
        if isinstance(b, np.ndarray):
            np.testing.assert_array_equal(a, b)
        else:
            assert a == b, k


# -- python-blosc2 writes, ndpack reads -----------------------------------------------------------


@pytest.mark.parametrize("kind", STORAGES)
@pytest.mark.parametrize("codec", CODECS)
@pytest.mark.parametrize("filters,filters_meta,dtype", FILTERS)
def test_blosc2_frames_open_in_ndpack(kind, codec, filters, filters_meta, dtype, tmp_path):
    data = sample(dtype, (3 * 2048 + 100,), seed=len(filters) + CODECS.index(codec))
    cparams = blosc2.CParams(
        codec=blosc2.Codec[codec],
        clevel=5,
        typesize=np.dtype(dtype).itemsize,
        filters=[blosc2.Filter[f] for f in filters],
        filters_meta=filters_meta,
    )
    chunksize = 2048 * np.dtype(dtype).itemsize

    def make(**storage):
        return blosc2.SChunk(chunksize=chunksize, data=data, cparams=cparams, **storage)

    theirs, ours, where = blosc2_written(kind, tmp_path, make)
    assert_same_frame(theirs, ours)
    got = ours.cparams
    assert v(got.codec) == v(blosc2.Codec[codec]) and got.clevel == 5
    assert [v(f) for f in got.filters[: len(filters)]] == [v(blosc2.Filter[f]) for f in filters]
    assert frame_version(where) == 2


@pytest.mark.parametrize("kind", STORAGES)
def test_blosc2_specials_meta_vlmeta_open_in_ndpack(kind, tmp_path):
    meta = {"m": [1, 2, 3], "name": "x" * 20}
    vl = {"a": 1, "b": "text", "c": [1.5, (2, 3)], "d": b"\x00\xff", "e": {"k": None}}

    def make(**storage):
        s = blosc2.SChunk(chunksize=4000, cparams={"typesize": 4}, meta=meta, **storage)
        s.fill_special(3000, blosc2.SpecialValue.ZERO)
        s.update_data(1, np.frombuffer(varied(4000), np.int32), False)
        s.insert_chunk(0, s._special_chunk(4000, v(blosc2.SpecialValue.NAN)))
        s.insert_chunk(1, s._special_chunk(4000, v(blosc2.SpecialValue.VALUE), 7))
        s.append_data(np.frombuffer(varied(2000, 1), np.int32))  # a short last chunk
        for key, value in vl.items():
            s.vlmeta[key] = value
        return s

    theirs, ours, _ = blosc2_written(kind, tmp_path, make)
    assert_same_frame(theirs, ours)
    specials = [i.special for i in ours.iterchunks_info()]
    assert specials == [v(i.special) for i in theirs.iterchunks_info()]
    assert set(specials) >= {nb2.SpecialValue.ZERO, nb2.SpecialValue.NAN, nb2.SpecialValue.VALUE}
    assert ours.meta.getall() == meta
    assert ours.vlmeta.getall() == vl


@pytest.mark.parametrize("kind", ["file", "cframe"])
def test_blosc2_variable_chunks_open_in_ndpack(kind, tmp_path):
    """python-blosc2 switches a frame to variable chunk sizes (version 3, chunksize 0) when a chunk
    of another size is appended or inserted."""

    def make(**storage):
        s = blosc2.SChunk(chunksize=4000, cparams={"typesize": 4}, **storage)
        s.append_data(np.frombuffer(varied(4000, 1), np.int32))
        s.append_data(np.frombuffer(varied(1200, 2), np.int32))
        s.append_data(np.frombuffer(varied(4000, 3), np.int32))
        s.insert_data(0, np.frombuffer(varied(800, 4), np.int32), False)
        return s

    theirs, ours, where = blosc2_written(kind, tmp_path, make)
    assert theirs.chunksize == 0 and frame_version(where) == 3
    assert (ours.chunksize, ours.nchunks, ours.nbytes) == (0, 4, 10000)
    for i in range(4):
        assert ours.get_chunk(i) == theirs.get_chunk(i)
        assert ours.decompress_chunk(i) == theirs.decompress_chunk(i)
    assert ours[:] == varied(800, 4) + varied(4000, 1) + varied(1200, 2) + varied(4000, 3)


# -- ndpack writes, python-blosc2 reads -----------------------------------------------------------


def ndpack_written(kind, tmp_path, **kw):
    if kind == "memory":
        return ndpack.SChunk(**kw), None
    path = str(tmp_path / ("n.b2frame" if kind == "file" else "n.b2dir"))
    return ndpack.SChunk(urlpath=path, contiguous=kind == "file", mode="w", **kw), path


def blosc2_view(ours, path):
    if path is None:
        return blosc2.schunk_from_cframe(ours.to_cframe())
    return blosc2.open(path)


def assert_blosc2_reads(ours, path, model) -> None:
    theirs = blosc2_view(ours, path)
    assert theirs.nchunks == len(model)
    assert theirs.nbytes == sum(len(c) for c in model)
    assert theirs.typesize == ours.typesize and theirs.chunksize == ours.chunksize
    for i, chunk in enumerate(model):
        assert theirs.decompress_chunk(i) == chunk, f"chunk {i}"
    assert theirs[:] == b"".join(model)
    assert theirs.meta.keys() == ours.meta.keys()
    for k in ours.meta.keys():
        assert theirs.meta[k] == ours.meta[k]
    assert dict(theirs.vlmeta.getall()) == ours.vlmeta.getall()
    if path is not None:  # the cframe of a file-backed super-chunk reads the same
        again = blosc2.schunk_from_cframe(ours.to_cframe())
        assert again[:] == b"".join(model)


@pytest.mark.parametrize("kind", ["memory", "file", "dir"])
@pytest.mark.parametrize("codec,filters", [("LZ4", ["SHUFFLE"]), ("ZSTD", ["DELTA", "BITSHUFFLE"]), ("BLOSCLZ", ["NOFILTER"]), ("ZLIB", ["SHUFFLE"])])
def test_ndpack_frames_open_in_blosc2(kind, codec, filters, tmp_path):
    meta = {"dims": [3, 4], "label": "abc"}
    ours, path = ndpack_written(
        kind,
        tmp_path,
        chunksize=4000,
        cparams={"typesize": 4, "codec": nb2.Codec[codec], "filters": [nb2.Filter[f] for f in filters]},
        meta=meta,
    )
    model = []
    chunk = lambda seed: varied(4000, seed)  # noqa: E731
    for i in range(6):
        ours.append_data(chunk(i))
        model.append(chunk(i))
    assert_blosc2_reads(ours, path, model)
    # updates (to another compressed size), inserts, deletes, specials, a repeated value
    ours.update_data(2, chunk(20), False)
    model[2] = chunk(20)
    ours.update_data(0, bytes(4000), False)
    model[0] = bytes(4000)
    ours.insert_data(3, chunk(21), False)
    model.insert(3, chunk(21))
    ours.delete_chunk(1)
    del model[1]
    ours.insert_chunk(0, blosc2.compress2(chunk(22), typesize=4))
    model.insert(0, chunk(22))
    zeros = ndpack.SChunk(chunksize=4000, cparams={"typesize": 4})
    zeros.fill_special(1000, nb2.SpecialValue.ZERO)
    ours.update_chunk(4, zeros.get_chunk(0))
    model[4] = bytes(4000)
    ours.vlmeta["v1"] = {"a": [1, 2]}
    ours.vlmeta["v2"] = "gone soon"
    del ours.vlmeta["v2"]
    ours.meta["label"] = "xyz"
    ours[990:1010] = bytes(80)  # items across chunks 0 and 1
    flat = bytearray(b"".join(model))
    flat[990 * 4 : 1010 * 4] = bytes(80)
    model = [bytes(flat[i : i + 4000]) for i in range(0, len(flat), 4000)]
    ours.append_data(chunk(23)[:1000])  # a short last chunk
    model.append(chunk(23)[:1000])
    assert_blosc2_reads(ours, path, model)
    if path is not None:
        ours.compact()
        assert_blosc2_reads(ours, path, model)
        assert ndpack.open(path)[:] == b"".join(model)


def test_ndpack_specials_open_in_blosc2(tmp_path):
    for kind in ["memory", "file", "dir"]:
        for special, value, fill in [
            (nb2.SpecialValue.ZERO, None, b"\x00" * 4),
            (nb2.SpecialValue.NAN, None, np.float32("nan").tobytes()),
            (nb2.SpecialValue.VALUE, 3.25, np.float32(3.25).tobytes()),
        ]:
            where = tmp_path / f"{kind}{v(special)}"
            where.mkdir()
            ours, path = ndpack_written(kind, where, chunksize=4000, cparams={"typesize": 4})
            ours.fill_special(2500, special, value)
            model = [fill * 1000, fill * 1000, fill * 500]
            theirs = blosc2_view(ours, path)
            assert [v(i.special) for i in theirs.iterchunks_info()] == [v(special)] * 3
            assert [theirs.decompress_chunk(i) for i in range(3)] == model


def test_ndpack_frame_version_and_chunk_version(tmp_path):
    ours, path = ndpack_written("file", tmp_path, chunksize=4000, cparams={"typesize": 4})
    ours.append_data(varied(4000))
    assert frame_version(path) == 2
    assert frame_version(ours.to_cframe()) == 2
    assert ours.get_chunk(0)[0] == 5  # chunk format version 5 (what c-blosc2 2.4.3 reads)


def test_vlmeta_values_cross_both_ways():
    values = {"i": -5, "f": 0.1, "s": "\u00e9t\u00e9", "b": b"\x00", "l": [1, [2]], "t": (1, (2, 3)), "d": {"x": {"y": 1}}, "c": 2j, "set": {4, 5}}
    ours = ndpack.SChunk(chunksize=16, cparams={"typesize": 4})
    for k, val in values.items():
        ours.vlmeta[k] = val
    theirs = blosc2.schunk_from_cframe(ours.to_cframe())
    assert theirs.vlmeta.getall() == values
    back = blosc2.SChunk(chunksize=16)
    for k, val in values.items():
        back.vlmeta[k] = val
    assert ndpack.schunk_from_cframe(back.to_cframe()).vlmeta.getall() == values
    arr = np.arange(12, dtype="<f8").reshape(3, 4)
    ours.vlmeta["arr"] = arr
    theirs = blosc2.schunk_from_cframe(ours.to_cframe())
    got = theirs.vlmeta["arr"]
    np.testing.assert_array_equal(got, arr)
    assert got.dtype == arr.dtype


# -- caterva 0.7.3 --------------------------------------------------------------------------------


def caterva_meta(shape, chunks, blocks) -> bytes:
    """The ``caterva`` metalayer: fixarray 5, version 0, ndim, then shape (i64), chunkshape and
    blockshape (i32), each as a fixarray of fixed-width big-endian msgpack ints."""
    nd = len(shape)
    out = bytearray([0x95, 0x00, nd, 0x90 | nd])
    for s in shape:
        out += b"\xd3" + struct.pack(">q", s)
    out.append(0x90 | nd)
    for c in chunks:
        out += b"\xd2" + struct.pack(">i", c)
    out.append(0x90 | nd)
    for b in blocks:
        out += b"\xd2" + struct.pack(">i", b)
    return bytes(out)


def caterva_chunks(arr: np.ndarray, chunks, blocks):
    """The chunks of ``arr`` in caterva's layout: C-order chunk grid, each chunk padded to whole
    blocks with zeros and stored block after block (C order over the block grid)."""
    ext_chunk = [-(-c // b) * b for c, b in zip(chunks, blocks)]
    grid = [-(-s // c) for s, c in zip(arr.shape, chunks)]
    out = []
    for idx in np.ndindex(*grid):
        piece = np.zeros(ext_chunk, arr.dtype)
        sl = tuple(slice(i * c, min((i + 1) * c, s)) for i, c, s in zip(idx, chunks, arr.shape))
        part = arr[sl]
        piece[tuple(slice(0, n) for n in part.shape)] = part
        nb = [e // b for e, b in zip(ext_chunk, blocks)]
        shape = [x for pair in zip(nb, blocks) for x in pair]
        order = list(range(0, 2 * arr.ndim, 2)) + list(range(1, 2 * arr.ndim, 2))
        out.append(piece.reshape(shape).transpose(order).tobytes())
    return out


def test_caterva_meta_bytes_match_caterva(tmp_path):
    path = str(tmp_path / "c.cat")
    arr = np.arange(30 * 40, dtype=np.int32).reshape(30, 40)
    caterva.asarray(arr, chunks=(16, 16), blocks=(8, 8), urlpath=path, contiguous=True)
    theirs = ndpack.schunk.open(path)
    assert theirs.meta.get_raw("caterva") == caterva_meta((30, 40), (16, 16), (8, 8))
    assert [theirs.decompress_chunk(i) for i in range(theirs.nchunks)] == caterva_chunks(arr, (16, 16), (8, 8))


@pytest.mark.parametrize("contiguous", [True, False])
@pytest.mark.parametrize(
    "shape,chunks,blocks,dtype",
    [((1000,), (256,), (64,), "<f4"), ((30, 40), (16, 16), (8, 8), "<i4"), ((7, 9, 11), (4, 5, 6), (2, 5, 3), "<i2")],
)
def test_ndpack_frames_open_in_caterva(tmp_path, contiguous, shape, chunks, blocks, dtype):
    arr = sample(dtype, shape, seed=3)
    itemsize = arr.dtype.itemsize
    pieces = caterva_chunks(arr, chunks, blocks)
    path = str(tmp_path / ("a.cat" if contiguous else "a.catdir"))
    ours = ndpack.SChunk(
        chunksize=len(pieces[0]),
        urlpath=path,
        contiguous=contiguous,
        mode="w",
        cparams={"typesize": itemsize, "codec": nb2.Codec.LZ4, "blocksize": int(np.prod(blocks)) * itemsize},
    )
    ours.meta.add_raw("caterva", caterva_meta(shape, chunks, blocks))
    for p in pieces:
        ours.append_data(p)
    del ours
    c = caterva.open(path)
    assert c.shape == shape and c.itemsize == itemsize
    got = np.frombuffer(c[tuple(slice(0, s) for s in shape)], dtype=dtype).reshape(shape)
    np.testing.assert_array_equal(got, arr)
    # and after an update through ndpack (written past the live data, then committed)
    s = ndpack.schunk.open(path, mode="a")
    new = arr.copy()
    new[tuple(slice(0, c) for c in chunks)] = 0
    s.update_data(0, caterva_chunks(new, chunks, blocks)[0], False)
    del s
    got = np.frombuffer(caterva.open(path)[tuple(slice(0, n) for n in shape)], dtype=dtype).reshape(shape)
    np.testing.assert_array_equal(got, new)
