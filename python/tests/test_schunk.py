"""ndpack.SChunk against python-blosc2 4.15's SChunk: every method on the same data, in memory, in
a contiguous frame file and in a sparse frame directory, plus what ndpack adds (reads from many
threads of one handle, zero-copy frames, compact, sync) and the errors bad calls and bad bytes give.

Frames crossing between the two libraries are in ``test_schunk_interop.py``.
"""

from __future__ import annotations

import dataclasses
import os
import threading

import blosc2
import numpy as np
import pytest

import ndpack
import ndpack.blosc2 as nb2
from conftest import ndpack_threads, varied

STORAGES = ["memory", "file", "dir"]
CHUNKSIZE = 4000  # bytes: 1000 int32 items


def v(e):
    """The value of an enum member of either library (python-blosc2's are plain Enums)."""
    return getattr(e, "value", e)


def storage_kwargs(kind: str, tmp_path, name: str = "s") -> dict:
    if kind == "memory":
        return {}
    if kind == "file":
        return {"urlpath": str(tmp_path / f"{name}.b2frame"), "contiguous": True, "mode": "w"}
    return {"urlpath": str(tmp_path / f"{name}.b2dir"), "contiguous": False, "mode": "w"}


def pair(kind: str, tmp_path, data=None, chunksize=CHUNKSIZE, **kw):
    """The same super-chunk made by python-blosc2 and by ndpack."""
    cparams = kw.pop("cparams", {"typesize": 4, "codec": blosc2.Codec.LZ4, "clevel": 5})
    theirs = blosc2.SChunk(
        chunksize=chunksize, data=data, cparams=dict(cparams), **storage_kwargs(kind, tmp_path, "b"), **kw
    )
    ours = ndpack.SChunk(
        chunksize=chunksize, data=data, cparams=dict(cparams), **storage_kwargs(kind, tmp_path, "n"), **kw
    )
    return theirs, ours


def ints(n: int, seed: int = 0) -> np.ndarray:
    return np.frombuffer(varied(4 * n, seed), dtype=np.int32).copy()


def assert_same_items(theirs, ours) -> None:
    assert ours.nchunks == theirs.nchunks
    assert ours.nbytes == theirs.nbytes
    assert len(ours) == len(theirs)
    for i in range(theirs.nchunks):
        assert ours.decompress_chunk(i) == theirs.decompress_chunk(i), f"chunk {i}"
    assert ours[:] == theirs[:]


# -- construction and attributes ------------------------------------------------------------------


@pytest.mark.parametrize("kind", STORAGES)
def test_construct_with_data_like_blosc2(kind, tmp_path):
    data = ints(10_500)
    theirs, ours = pair(kind, tmp_path, data)
    assert_same_items(theirs, ours)
    for name in ["nchunks", "chunksize", "chunkshape", "typesize", "nbytes", "contiguous"]:
        assert getattr(ours, name) == getattr(theirs, name), name
    if kind == "memory":
        assert ours.urlpath is None and theirs.urlpath is None
    else:
        assert os.path.basename(ours.urlpath).startswith("n.")
    assert ours.cratio == pytest.approx(ours.nbytes / ours.cbytes)
    for i in range(ours.nchunks):
        # ndpack's chunks are Blosc2 chunks python-blosc2 decodes.
        assert blosc2.decompress2(ours.get_chunk(i)) == theirs.decompress_chunk(i)


def test_defaults_like_blosc2():
    theirs, ours = blosc2.SChunk(), ndpack.SChunk()
    assert (ours.chunksize, ours.typesize, ours.nchunks, ours.contiguous, ours.urlpath) == (
        theirs.chunksize,
        theirs.typesize,
        0,
        theirs.contiguous,
        None,
    )
    cp, tcp = ours.cparams, theirs.cparams
    assert (v(cp.codec), cp.clevel, cp.typesize, cp.blocksize, v(cp.splitmode)) == (
        v(tcp.codec),
        tcp.clevel,
        tcp.typesize,
        tcp.blocksize,
        v(tcp.splitmode),
    )
    assert [v(f) for f in cp.filters] == [v(f) for f in tcp.filters]
    # typesize from the data's itemsize, chunksize from its size, as in python-blosc2
    data = np.arange(100, dtype=np.float64)
    theirs, ours = blosc2.SChunk(data=data), ndpack.SChunk(data=data)
    assert (ours.typesize, ours.chunksize, ours.nchunks) == (theirs.typesize, theirs.chunksize, theirs.nchunks)
    assert ours[:] == theirs[:] == data.tobytes()


def test_cparams_forms_and_setter():
    cp = nb2.CParams(codec=nb2.Codec.ZSTD, clevel=3, typesize=4, filters=[nb2.Filter.BITSHUFFLE], filters_meta=[0])
    a = ndpack.SChunk(chunksize=4000, cparams=cp)
    b = ndpack.SChunk(chunksize=4000, cparams=blosc2.CParams(codec=blosc2.Codec.ZSTD, clevel=3, typesize=4, filters=[blosc2.Filter.BITSHUFFLE], filters_meta=[0]))
    c = ndpack.SChunk(chunksize=4000, cparams={"codec": "zstd", "clevel": 3, "typesize": 4, "filters": ["bitshuffle"]})
    for s in (a, b, c):
        got = s.cparams
        assert isinstance(got, nb2.CParams)
        assert (got.codec, got.clevel, got.typesize) == (nb2.Codec.ZSTD, 3, 4)
        assert got.filters[0] == nb2.Filter.BITSHUFFLE and set(got.filters[1:]) == {nb2.Filter.NOFILTER}
    a.append_data(ints(1000))
    a.cparams = dataclasses.replace(a.cparams, codec=nb2.Codec.LZ4, clevel=9)
    a.append_data(ints(1000, 1))
    assert nb2.chunk_info(a.get_chunk(0))["codec"] == nb2.Codec.ZSTD
    assert nb2.chunk_info(a.get_chunk(1))["codec"] == nb2.Codec.LZ4
    assert a.cparams.clevel == 9
    a.dparams = {"nthreads": 1}
    assert a.dparams.nthreads == 1
    assert a[:] == ints(1000).tobytes() + ints(1000, 1).tobytes()
    with pytest.raises(ValueError):
        ndpack.SChunk(cparams={"clevel": 10})
    with pytest.raises(TypeError):
        ndpack.SChunk(cparams={"nonsense": 1})
    with pytest.raises(ValueError):
        ndpack.SChunk(bogus=1)


def test_info_and_context_manager():
    with ndpack.SChunk(chunksize=4000, data=ints(2500), cparams={"typesize": 4}) as s:
        text = repr(s.info)
        for key in ["chunksize", "typesize", "nbytes", "cbytes", "cratio", "cparams", "dparams"]:
            assert key in text
        assert dict(s.info_items)["chunksize"] == 4000


# -- chunks ---------------------------------------------------------------------------------------


@pytest.mark.parametrize("kind", STORAGES)
def test_chunk_operations_like_blosc2(kind, tmp_path):
    theirs, ours = pair(kind, tmp_path)
    for i in range(5):
        assert ours.append_data(ints(1000, i)) == theirs.append_data(ints(1000, i)) == i + 1
    steps = [
        ("insert_data", 2, ints(1000, 10)),
        ("update_data", 0, ints(1000, 11)),
        ("delete_chunk", 3, None),
        ("insert_chunk", 0, blosc2.compress2(ints(1000, 12), typesize=4)),
        ("update_chunk", 4, nb2.compress2(ints(1000, 13), typesize=4, codec=nb2.Codec.ZLIB)),
        ("insert_data", 6, ints(1000, 14)),  # at the end
        ("delete_chunk", 0, None),
        ("update_data", 5, ints(1000, 15)),
    ]
    for name, n, arg in steps:
        args = (n,) if arg is None else (n, arg) if name.endswith("chunk") else (n, arg, False)
        assert getattr(ours, name)(*args) == getattr(theirs, name)(*args), name
        assert_same_items(theirs, ours)
    # append_chunk with a chunk of either library
    assert ours.append_chunk(theirs.get_chunk(1)) == theirs.append_chunk(theirs.get_chunk(1))
    assert_same_items(theirs, ours)
    if kind != "memory":
        reopened = ndpack.open(ours.urlpath)
        assert [reopened.decompress_chunk(i) for i in range(reopened.nchunks)] == [
            theirs.decompress_chunk(i) for i in range(theirs.nchunks)
        ]


def test_same_chunks_same_sizes(tmp_path):
    """Built from python-blosc2's compressed chunks, every size attribute agrees."""
    theirs = blosc2.SChunk(chunksize=CHUNKSIZE, data=ints(4500), cparams={"typesize": 4})
    ours = ndpack.SChunk(chunksize=CHUNKSIZE, cparams={"typesize": 4})
    for i in range(theirs.nchunks):
        ours.append_chunk(theirs.get_chunk(i))
    for name in ["nchunks", "chunksize", "typesize", "nbytes", "cbytes", "cratio"]:
        assert getattr(ours, name) == pytest.approx(getattr(theirs, name)), name
    for i in range(theirs.nchunks):
        assert ours.get_chunk(i) == theirs.get_chunk(i)
    for a, b in zip(ours.iterchunks_info(), theirs.iterchunks_info()):
        assert (a.nchunk, a.special, a.repeated_value, a.lazychunk) == (
            b.nchunk,
            v(b.special),
            b.repeated_value,
            b.lazychunk,
        )
        assert a.cratio == pytest.approx(b.cratio)


def test_decompress_chunk_into_dst():
    theirs, ours = pair("memory", None, ints(2500))
    for dst_t, dst_o in [
        (bytearray(4000), bytearray(4000)),
        (np.empty(1000, np.int32), np.empty(1000, np.int32)),
        (bytearray(5000), bytearray(5000)),
    ]:
        assert ours.decompress_chunk(1, dst_o) is None
        theirs.decompress_chunk(1, dst_t)
        assert bytes(dst_o)[:4000] == bytes(dst_t)[:4000]
    last = bytearray(2000)
    ours.decompress_chunk(2, last)
    assert bytes(last) == theirs.decompress_chunk(2)
    with pytest.raises(ValueError):
        ours.decompress_chunk(0, bytearray(0))
    with pytest.raises(ValueError):
        ours.decompress_chunk(0, bytearray(100))  # too small (python-blosc2: RuntimeError)
    with pytest.raises((TypeError, ValueError, BufferError)):
        ours.decompress_chunk(0, b"x" * 4000)  # read-only
    with pytest.raises(IndexError):
        ours.decompress_chunk(3)
    with pytest.raises(IndexError):
        ours.get_chunk(-1)


def test_append_errors_and_read_mode(tmp_path):
    s = ndpack.SChunk(chunksize=CHUNKSIZE, cparams={"typesize": 4}, urlpath=str(tmp_path / "x.b2frame"), mode="w")
    with pytest.raises(ValueError):
        s.append_data(b"x" * (CHUNKSIZE + 1))  # larger than chunksize
    s.append_data(ints(1000))
    del s
    r = ndpack.open(tmp_path / "x.b2frame")
    assert r.mode == "r"
    for call in [
        lambda: r.append_data(ints(1000)),
        lambda: r.update_data(0, ints(1000), False),
        lambda: r.delete_chunk(0),
        lambda: r.vlmeta.__setitem__("a", 1),
        lambda: r.__setitem__(slice(0, 1), ints(1)),
    ]:
        with pytest.raises(ValueError, match="reading mode"):
            call()
    with pytest.raises(ValueError):
        ndpack.SChunk(urlpath=str(tmp_path / "missing.b2frame"), mode="r")
    with pytest.raises(FileNotFoundError):
        ndpack.open(tmp_path / "missing.b2frame")
    (tmp_path / "empty.b2dir").mkdir()
    with pytest.raises(FileNotFoundError):  # OSError with the errno: no chunks.b2frame inside
        ndpack.open(tmp_path / "empty.b2dir")


def test_chunk_sizes_stay_fixed():
    """Every chunk but the last holds chunksize bytes (python-blosc2 would switch the frame to
    variable chunk sizes, which c-blosc2 2.x and caterva cannot read)."""
    s = ndpack.SChunk(chunksize=CHUNKSIZE, data=ints(2500), cparams={"typesize": 4})
    for call in [
        lambda: s.append_data(ints(1000)),  # after a short last chunk
        lambda: s.insert_data(0, ints(100), False),
        lambda: s.update_data(0, ints(100), False),
    ]:
        with pytest.raises(ValueError, match="chunksize"):
            call()
    assert s.update_data(2, ints(1000, 1), False) == 3  # the last chunk may grow to chunksize
    assert s.append_data(ints(10, 2)) == 4
    assert s[:] == ints(2000).tobytes() + ints(1000, 1).tobytes() + ints(10, 2).tobytes()


# -- items ----------------------------------------------------------------------------------------

SLICES = [(0, None), (10, 20), (990, 1010), (-5, None), (None, -2500), (100, 50), (2400, 9999), (3000, 4000), (-9999, 3)]


@pytest.mark.parametrize("kind", ["memory", "file"])
def test_get_slice_and_getitem_like_blosc2(kind, tmp_path):
    theirs, ours = pair(kind, tmp_path, ints(2500))
    for start, stop in SLICES:
        assert ours.get_slice(start, stop) == theirs.get_slice(start, stop), (start, stop)
        assert ours[start:stop] == theirs[start:stop], (start, stop)
        n = len(theirs.get_slice(start, stop))
        out_t, out_o = bytearray(n + 8), bytearray(n + 8)
        if n:
            assert ours.get_slice(start, stop, out_o) is None
            theirs.get_slice(start, stop, out_t)
            assert out_o == out_t
    for i in [0, 1, 999, 1000, 2499, -1, -2]:
        assert ours[i] == theirs[i], i
    assert ours.get_slice() == theirs.get_slice()
    with pytest.raises(IndexError):
        ours[0:10:2]
    with pytest.raises(ValueError):
        ours.get_slice(0, 10, bytearray(39))


@pytest.mark.parametrize("kind", ["memory", "file", "dir"])
def test_setitem_like_blosc2(kind, tmp_path):
    theirs, ours = pair(kind, tmp_path, ints(2500))
    model = ints(2500)
    writes = [
        (slice(3, 5), ints(2, 1)),
        (slice(990, 1010), ints(20, 2)),
        (slice(2500, 2600), ints(100, 3)),  # from the end: the short last chunk fills, then grows
        (slice(2600, 5000), ints(2400, 4)),
        (slice(-10, None), ints(10, 5)),
        (slice(None, 7), ints(7, 6)),
    ]
    for key, value in writes:
        theirs[key] = value
        ours[key] = value
        start, stop, _ = key.indices(max(len(model), key.stop or 0))
        model = np.concatenate([model, np.zeros(max(0, stop - len(model)), np.int32)])
        model[start:stop] = value
        assert_same_items(theirs, ours)
        assert ours[:] == model.tobytes()
    ours[5] = ints(1, 7)  # one index (python-blosc2 takes slices only)
    assert ours[5] == ints(1, 7).tobytes()
    with pytest.raises(ValueError):
        ours[len(ours) + 1 : len(ours) + 5] = ints(4)
    with pytest.raises(ValueError):
        ours[0:10] = ints(9)
    with pytest.raises(ValueError):
        ours[5:5] = ints(1)
    with pytest.raises(IndexError):
        ours[0:10:2] = ints(5)


@pytest.mark.parametrize("kind", ["memory", "file", "dir"])
def test_setitem_across_a_short_last_chunk(kind, tmp_path):
    """Items written from inside a short last chunk to past the end (python-blosc2 4.15 aborts the
    process here: 'malloc(): invalid size')."""
    s = ndpack.SChunk(chunksize=CHUNKSIZE, data=ints(2500), cparams={"typesize": 4}, **storage_kwargs(kind, tmp_path))
    s[2490:2600] = ints(110, 1)
    s[2590:4100] = ints(1510, 2)
    model = np.concatenate([ints(2500)[:2490], ints(110, 1)])
    model = np.concatenate([model[:2590], ints(1510, 2)])
    assert s[:] == model.tobytes()
    assert [s.decompress_chunk(i) for i in range(s.nchunks)] == [model[i : i + 1000].tobytes() for i in range(0, 4100, 1000)]


def test_iterchunks_like_blosc2():
    theirs, ours = pair("memory", None, ints(3000))
    got = [a.copy() for a in ours.iterchunks(np.int32)]
    want = [a.copy() for a in theirs.iterchunks(np.int32)]
    assert len(got) == len(want) == 3
    for g, w in zip(got, want):
        np.testing.assert_array_equal(g, w)
    short = ndpack.SChunk(chunksize=CHUNKSIZE, data=ints(2500), cparams={"typesize": 4})
    parts = [a.copy() for a in short.iterchunks(np.int32)]
    assert [len(p) for p in parts] == [1000, 1000, 500]  # the last one cut to its length
    np.testing.assert_array_equal(np.concatenate(parts), ints(2500))


# -- special values -------------------------------------------------------------------------------

SPECIALS = [
    (blosc2.SpecialValue.ZERO, None, "<f4"),
    (blosc2.SpecialValue.NAN, None, "<f4"),
    (blosc2.SpecialValue.VALUE, 7, "<i4"),
    (blosc2.SpecialValue.VALUE, 2.5, "<f4"),
    (blosc2.SpecialValue.VALUE, b"\x01\x02\x03\x04", "<i4"),
    (blosc2.SpecialValue.UNINIT, None, "<f4"),
]


@pytest.mark.parametrize("kind", ["memory", "file", "dir"])
@pytest.mark.parametrize("special,value,dtype", SPECIALS)
def test_fill_special_like_blosc2(kind, tmp_path, special, value, dtype):
    theirs, ours = pair(kind, tmp_path)
    ours_special = nb2.SpecialValue[special.name]
    assert ours.fill_special(2500, ours_special, value) == theirs.fill_special(2500, special, value) == 3
    assert (ours.nchunks, ours.nbytes, len(ours)) == (theirs.nchunks, theirs.nbytes, len(theirs))
    if special != blosc2.SpecialValue.UNINIT:
        np.testing.assert_array_equal(np.frombuffer(ours[:], dtype), np.frombuffer(theirs[:], dtype))
    infos = list(ours.iterchunks_info())
    for a, b in zip(infos, theirs.iterchunks_info()):
        assert (a.nchunk, a.special, a.repeated_value) == (b.nchunk, v(b.special), b.repeated_value)
        assert a.special == v(special)
    if kind != "memory" and special != blosc2.SpecialValue.VALUE:
        assert ours.cbytes == theirs.cbytes == 0  # no payload in frames
    ours.update_data(1, ints(1000), False)
    assert ours.decompress_chunk(1) == ints(1000).tobytes()
    assert list(ours.iterchunks_info())[1].special == nb2.SpecialValue.NOT_SPECIAL


def test_fill_special_errors():
    s = ndpack.SChunk(chunksize=CHUNKSIZE, cparams={"typesize": 4})
    with pytest.raises(TypeError):
        s.fill_special(10, 1)
    with pytest.raises(TypeError):
        s.fill_special(10, nb2.SpecialValue.NOT_SPECIAL)
    with pytest.raises(ValueError):
        s.fill_special(10, nb2.SpecialValue.VALUE)
    with pytest.raises(ValueError):
        s.fill_special(10, nb2.SpecialValue.VALUE, b"\x01\x02")  # not typesize bytes
    assert s.fill_special(10, blosc2.SpecialValue.ZERO) == 1  # python-blosc2's enum works too
    with pytest.raises(ValueError):
        s.fill_special(10, nb2.SpecialValue.ZERO)  # not empty


# -- metalayers -----------------------------------------------------------------------------------

META = {"m1": 5, "m2": [1, 2, "three"], "m3": {"a": 1.5, "b": None}, "m4": b"raw", "m5": (1, 2)}
VLMETA = {
    "int": 42,
    "str": "world",
    "bytes": b"\x00\x01",
    "list": [1, [2, 3], {"k": "v"}],
    "tuple": (1, "a"),
    "dict": {"nested": {"x": [1.5, None, True]}},
    "float": 1e-300,
    "complex": 1 + 2j,
    "set": {1, 2, 3},
    "array": np.arange(6, dtype=">i2").reshape(2, 3),
}


def assert_meta_equal(a, b):
    assert set(a) == set(b)
    for k in a:
        if isinstance(a[k], np.ndarray):
            np.testing.assert_array_equal(a[k], b[k])
            assert a[k].dtype == b[k].dtype
        else:
            assert a[k] == b[k], k


@pytest.mark.parametrize("kind", STORAGES)
def test_meta_like_blosc2(kind, tmp_path):
    theirs, ours = pair(kind, tmp_path, meta=META)
    assert ours.meta.keys() == theirs.meta.keys() == list(META)
    assert len(ours.meta) == len(theirs.meta) == 5
    assert ours.meta.getall() == theirs.meta.getall() == {**META}
    assert ours.meta[:] == theirs.meta[:]
    assert "m1" in ours.meta and "zz" not in ours.meta
    assert ours.meta.get("zz", 3) == 3 and ours.meta["m5"] == (1, 2)
    ours.meta["m1"] = 6
    theirs.meta["m1"] = 6
    assert ours.meta["m1"] == theirs.meta["m1"] == 6
    with pytest.raises(ValueError):
        ours.meta["m1"] = 1000  # packed length changes
    with pytest.raises(KeyError):
        ours.meta["zz"]
    with pytest.raises(KeyError):
        ours.meta["zz"] = 1
    with pytest.raises(NotImplementedError):
        del ours.meta["m1"]
    ours.append_data(ints(1000))
    with pytest.raises(ValueError):
        ours.meta.add_raw("late", b"x")  # only before data
    if kind != "memory":
        reopened = ndpack.open(ours.urlpath)
        assert reopened.meta.getall() == {**META, "m1": 6}


@pytest.mark.parametrize("kind", STORAGES)
def test_vlmeta_like_blosc2(kind, tmp_path):
    theirs, ours = pair(kind, tmp_path, ints(1500))
    for k, v in VLMETA.items():
        ours.vlmeta[k] = v
        theirs.vlmeta[k] = v
    assert len(ours.vlmeta) == len(theirs.vlmeta) == len(VLMETA)
    assert list(ours.vlmeta) == list(theirs.vlmeta)
    assert_meta_equal(ours.vlmeta.getall(), theirs.vlmeta.getall())
    assert_meta_equal(ours.vlmeta[:], VLMETA)
    ours.vlmeta["int"] = "longer value now"
    del ours.vlmeta["str"]
    assert "str" not in ours.vlmeta and ours.vlmeta["int"] == "longer value now"
    with pytest.raises(KeyError):
        ours.vlmeta["str"]
    with pytest.raises(KeyError):
        del ours.vlmeta["str"]
    ours.vlmeta[:] = {"p": 1, "q": 2}
    assert ours.vlmeta["p"] == 1 and ours.vlmeta["q"] == 2
    assert ours[:] == theirs[:]  # vlmeta does not touch the data
    if kind != "memory":
        reopened = ndpack.open(ours.urlpath)
        assert reopened.vlmeta["q"] == 2 and "str" not in reopened.vlmeta


# -- frames, storage ------------------------------------------------------------------------------


def test_cframe_round_trip_and_zero_copy():
    s = ndpack.SChunk(chunksize=CHUNKSIZE, data=ints(3000), cparams={"typesize": 4}, meta={"m": 1})
    s.vlmeta["v"] = "x"
    frame = s.to_cframe()
    assert isinstance(frame, bytes)
    for source in [frame, bytearray(frame), np.frombuffer(frame, np.uint8), memoryview(frame)]:
        for copy in (False, True):
            t = ndpack.schunk_from_cframe(source, copy=copy)
            assert t[:] == ints(3000).tobytes()
            assert t.meta["m"] == 1 and t.vlmeta["v"] == "x"
    # copy=False keeps the buffer alive and never writes to it
    buf = bytearray(frame)
    t = ndpack.schunk_from_cframe(buf)
    del buf
    t.append_data(ints(1000, 3))
    t.update_data(0, ints(1000, 4), False)
    t.vlmeta["w"] = 2
    assert t[:1000] == ints(1000, 4).tobytes() and t.nchunks == 4
    orig = bytearray(frame)
    u = ndpack.schunk_from_cframe(orig)
    u.update_data(0, ints(1000, 5), False)
    assert orig == frame


@pytest.mark.parametrize("bad", [b"", b"garbage" * 20, None])
def test_bad_frames_raise(bad, tmp_path):
    frame = ndpack.SChunk(chunksize=CHUNKSIZE, data=ints(2500), cparams={"typesize": 4}).to_cframe()
    if bad is None:
        bad = frame[: len(frame) // 2]
    with pytest.raises(ValueError):
        ndpack.schunk_from_cframe(bad)
    path = tmp_path / "bad.b2frame"
    path.write_bytes(bad)
    with pytest.raises(ValueError):
        ndpack.open(path)


def test_modes(tmp_path):
    path = str(tmp_path / "m.b2frame")
    s = ndpack.SChunk(chunksize=CHUNKSIZE, data=ints(2000), cparams={"typesize": 4}, urlpath=path, mode="w")
    assert s.contiguous and s.nchunks == 2
    del s
    a = ndpack.SChunk(urlpath=path, mode="a")  # opens what is there
    assert a.nchunks == 2 and a.chunksize == CHUNKSIZE
    a.append_data(ints(1000, 1))
    del a
    assert ndpack.open(path, mode="a").nchunks == 3
    assert ndpack.open(path).mode == "r"
    w = ndpack.SChunk(chunksize=CHUNKSIZE, cparams={"typesize": 4}, urlpath=path, mode="w")
    assert w.nchunks == 0
    del w
    assert ndpack.open(path).nchunks == 0
    with pytest.raises(ValueError):
        ndpack.open(path, mode="x")


@pytest.mark.parametrize("contiguous", [True, False])
def test_compact_and_sync(tmp_path, contiguous):
    path = str(tmp_path / ("c.b2frame" if contiguous else "c.b2dir"))
    s = ndpack.SChunk(
        chunksize=CHUNKSIZE, data=ints(10_000), cparams={"typesize": 4}, urlpath=path, contiguous=contiguous, mode="w", sync=True
    )
    for i in range(0, 10, 2):
        s.update_data(i, ints(1000, 100 + i), False)
    s.delete_chunk(9)
    want = [s.decompress_chunk(i) for i in range(s.nchunks)]
    size_before = os.path.getsize(path) if contiguous else None
    s.compact()
    assert [s.decompress_chunk(i) for i in range(s.nchunks)] == want
    if contiguous:
        assert os.path.getsize(path) <= size_before
    again = ndpack.open(path)
    assert [again.decompress_chunk(i) for i in range(again.nchunks)] == want
    theirs = blosc2.open(path)
    assert [theirs.decompress_chunk(i) for i in range(theirs.nchunks)] == want


def test_cbytes_after_updates_reopen_and_compact(tmp_path):
    # A reopened file reports its header's cbytes (holes of updated chunks included), as
    # python-blosc2 does; the live handle counts only live chunks; after compact() all agree.
    path = str(tmp_path / "g.b2frame")
    s = ndpack.SChunk(chunksize=CHUNKSIZE, data=ints(5000), cparams={"typesize": 4}, urlpath=path, contiguous=True, mode="w")
    s.update_data(2, np.arange(1000, dtype=np.int32), False)
    live = s.cbytes
    del s
    reopened = ndpack.open(path)
    assert reopened.cbytes == blosc2.open(path).cbytes
    assert reopened.cbytes > live
    del reopened
    s = ndpack.open(path, mode="a")
    s.compact()
    assert s.cbytes == live
    del s
    assert ndpack.open(path).cbytes == live == blosc2.open(path).cbytes


def test_open_with_mmap(tmp_path):
    path = str(tmp_path / "m.b2frame")
    s = ndpack.SChunk(chunksize=CHUNKSIZE, data=ints(5500), cparams={"typesize": 4}, urlpath=path, mode="w")
    s.vlmeta["k"] = [1, 2]
    del s
    m = ndpack.open(path, mmap_mode="r")
    assert m[:] == ints(5500).tobytes() and m.vlmeta["k"] == [1, 2]
    assert m.get_chunk(1) == ndpack.open(path).get_chunk(1)
    with pytest.raises(ValueError):
        m.append_data(ints(1000))
    with pytest.raises(ValueError):
        ndpack.open(path, mode="a", mmap_mode="r")
    with pytest.raises(ValueError):
        ndpack.open(path, mmap_mode="r+")


@pytest.mark.parametrize("kind", ["memory", "file", "mmap"])
def test_reads_from_8_threads(kind, tmp_path):
    data = ints(64 * 1000)
    s = ndpack.SChunk(
        chunksize=CHUNKSIZE, data=data, cparams={"typesize": 4}, **storage_kwargs("memory" if kind == "memory" else "file", tmp_path)
    )
    if kind != "memory":
        s = ndpack.open(s.urlpath, mmap_mode="r" if kind == "mmap" else None)
    raw = data.tobytes()
    errors = []
    barrier = threading.Barrier(8)

    def reader(seed: int) -> None:
        rng = np.random.default_rng(seed)
        barrier.wait()
        try:
            for _ in range(60):
                i = int(rng.integers(0, 64))
                if s.decompress_chunk(i) != raw[i * CHUNKSIZE : (i + 1) * CHUNKSIZE]:
                    errors.append(("chunk", i))
                a = int(rng.integers(0, 64_000 - 3000))
                if s[a : a + 3000] != raw[4 * a : 4 * (a + 3000)]:
                    errors.append(("slice", a))
                out = np.empty(1000, np.int32)
                s.decompress_chunk(i, out)
                if out.tobytes() != raw[i * CHUNKSIZE : (i + 1) * CHUNKSIZE]:
                    errors.append(("into", i))
        except Exception as e:  # pragma: no cover - reported below
            errors.append(e)

    with ndpack_threads(2):
        threads = [threading.Thread(target=reader, args=(k,)) for k in range(8)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
    assert errors == []


def test_writer_and_readers_in_threads():
    """Reads of one handle while another thread appends see whole chunks only."""
    s = ndpack.SChunk(chunksize=CHUNKSIZE, cparams={"typesize": 4})
    chunks = [ints(1000, i).tobytes() for i in range(40)]
    s.append_data(chunks[0])
    errors = []
    done = threading.Event()

    def reader():
        while not done.is_set():
            n = s.nchunks
            i = n - 1
            if s.decompress_chunk(i) != chunks[i]:
                errors.append(i)

    readers = [threading.Thread(target=reader) for _ in range(3)]
    for t in readers:
        t.start()
    for c in chunks[1:]:
        s.append_data(c)
    done.set()
    for t in readers:
        t.join()
    assert errors == [] and s.nchunks == 40


def test_top_level_names():
    assert ndpack.SChunk is nb2.SChunk
    assert ndpack.schunk_from_cframe is nb2.schunk_from_cframe
    assert ndpack.open is nb2.open
    assert [v.name for v in nb2.SpecialValue] == [v.name for v in blosc2.SpecialValue]
    assert [f.name for f in dataclasses.fields(nb2.CParams)] == [f.name for f in dataclasses.fields(blosc2.CParams)]
