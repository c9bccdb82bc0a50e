"""ndpack.NDArray: every constructor and attribute, dtypes, 0-d to 5-d arrays, NumPy indexing
(hypothesis: reads and writes equal NumPy's result exactly), oindex/vindex, slice, resize,
pickling (file-backed lazy, in-memory), bad input.

Interop with python-blosc2 and caterva files is tested in test_ndarray_interop.py; threads in
test_ndarray_threads.py."""

import os
import pickle
import subprocess
import sys
from unittest import mock

import numpy as np
import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

import ndpack
import ndpack.blosc2 as nb2

DTYPES = [
    "|i1", "<i2", "<i4", "<i8", "|u1", "<u2", "<u4", "<u8", "<f2", "<f4", "<f8", "<c8", "<c16", "|b1",
    ">i4", ">f8", "<M8[ns]", "<M8[D]", "<m8[s]", "<m8[us]", "|S5", "<U3", "|V3",
    [("a", "<i4"), ("b", "<f8")],
    [("x", "|u1"), ("y", "<f4", (2,)), ("z", "|S2")],
]


def sample(dtype, shape, seed=0):
    """Deterministic sample data of any dtype (an array, 0-d too)."""
    return np.asarray(_sample(dtype, tuple(shape), seed))


def _sample(dtype, shape, seed):
    dt = np.dtype(dtype)
    rng = np.random.default_rng(seed)
    raw = rng.integers(0, 256, size=int(np.prod(shape, dtype=np.int64)) * dt.itemsize, dtype=np.uint8)
    if dt.kind in "fc":
        return rng.standard_normal(shape).astype(dt) if dt.kind == "f" else (
            rng.standard_normal(shape) + 1j * rng.standard_normal(shape)
        ).astype(dt)
    if dt.kind == "b":
        return rng.integers(0, 2, size=shape).astype(bool)
    if dt.kind == "U":
        return np.array(["".join(chr(97 + (i + j) % 26) for j in range(i % 4)) for i in range(raw.size // dt.itemsize)],
                        dtype=dt).reshape(shape)
    if dt.fields is not None:
        out = np.zeros(shape, dt)
        for name in dt.names:
            sub = dt.fields[name][0]
            base = sub.base
            full = shape + sub.shape
            out[name] = sample(base, full, seed + 1) if base.kind != "S" else b"ab"
        return out
    return raw.view(dt).reshape(shape)


def equal(a, b):
    a, b = np.asarray(a), np.asarray(b)
    assert a.shape == b.shape and a.dtype == b.dtype
    assert a.tobytes() == b.tobytes()


# -- constructors and attributes -------------------------------------------------------------------


def test_constructors_and_attributes(tmp_path):
    a = ndpack.zeros((10, 12), dtype="i4", chunks=(4, 5), blocks=(2, 5))
    assert a.shape == (10, 12) and a.dtype == np.dtype("i4") and a.ndim == 2 and a.size == 120
    assert a.itemsize == 4 and a.chunks == (4, 5) and a.blocks == (2, 5) and a.ext_shape == (12, 15)
    assert a.ext_chunks == (4, 5) and a.nbytes == 480 and a.cbytes >= 0 and a.cratio > 1
    assert a.urlpath is None and a.mode in ("a", "w") and len(a) == 10
    assert a.chunksize == 80 and a.blocksize == 40
    assert a.cparams.codec == nb2.Codec.ZSTD and a.cparams.clevel == 5 and a.cparams.typesize == 4
    assert a.dparams.nthreads >= 1
    equal(a[...], np.zeros((10, 12), "i4"))
    assert all(i.special == nb2.SpecialValue.ZERO for i in a.iterchunks_info())
    equal(ndpack.empty((3, 4), "f4")[...], np.zeros((3, 4), "f4"))
    equal(ndpack.uninit((3,), "u2")[...], np.zeros(3, "u2"))
    equal(ndpack.ones((3, 4))[...], np.ones((3, 4)))
    assert ndpack.ones((2,)).dtype == np.float64
    f = ndpack.full((5, 6), 3.5, dtype="f4", chunks=(2, 2), blocks=(1, 2))
    equal(f[...], np.full((5, 6), 3.5, "f4"))
    info = list(f.iterchunks_info())
    assert len(info) == 9 and info[0].special == nb2.SpecialValue.VALUE
    assert np.frombuffer(info[0].repeated_value, "f4")[0] == 3.5 and info[4].coords == (1, 1)
    assert ndpack.full((3,), 7).dtype == np.asarray(7).dtype
    equal(ndpack.full((2,), b"ab")[...], np.array([b"ab", b"ab"]))
    n = ndpack.nans((4,), "f4")
    assert np.isnan(n[...]).all() and n.dtype == np.float32
    with pytest.raises(ValueError):
        ndpack.nans((4,), "i4")
    equal(ndpack.arange(10)[...], np.arange(10))
    equal(ndpack.arange(2, 20, 3, dtype="f4")[...], np.arange(2, 20, 3, dtype="f4"))
    equal(nb2.arange(0, 12, shape=(3, 4))[...], np.arange(12).reshape(3, 4))
    equal(nb2.arange(0, 12, shape=(3, 4), c_order=False)[...], np.arange(12).reshape((3, 4), order="F"))
    equal(ndpack.linspace(0, 1, 11)[...], np.linspace(0, 1, 11))
    equal(nb2.linspace(0, 1, shape=(2, 5))[...], np.linspace(0, 1, 10).reshape(2, 5))
    x = sample("<i8", (6, 7))
    equal(ndpack.frombuffer(x.tobytes(), (6, 7), "<i8")[...], x)
    equal(ndpack.frombuffer(bytearray(x.tobytes()), (6, 7), dtype="<i8", chunks=(3, 3))[...], x)
    b = ndpack.asarray(x, chunks=(3, 3), blocks=(2, 2))
    equal(b[...], x)
    assert ndpack.asarray(b) is b
    assert ndpack.asarray(b, copy=True) is not b
    c = ndpack.copy(b, chunks=(6, 7), blocks=(3, 7), codec=nb2.Codec.LZ4, clevel=9)
    assert c.chunks == (6, 7) and c.cparams.codec == nb2.Codec.LZ4 and c.cparams.clevel == 9
    equal(c[...], x)
    equal(b.copy(dtype="f8")[...], x.astype("f8"))
    equal(ndpack.copy(x)[...], x)
    for like in (x, b):
        e = ndpack.empty_like(like)
        assert e.shape == x.shape and e.dtype == x.dtype
        equal(ndpack.zeros_like(like)[...], np.zeros_like(x))
        equal(ndpack.full_like(like, 9)[...], np.full_like(x, 9))
    assert ndpack.zeros_like(b).chunks == b.chunks
    assert "shape" in repr(b) and "memory" in repr(b)


def test_info_table():
    a = ndpack.asarray(np.arange(100.0).reshape(10, 10), chunks=(5, 5), blocks=(5, 5), meta={"m": 1})
    a.vlmeta["units"] = "m"
    text = repr(a.info)
    for word in ("type", "NDArray", "shape", "(10, 10)", "chunks", "blocks", "dtype", "float64", "nbytes",
                 "cbytes", "cratio", "cparams", "ZSTD", "SHUFFLE", "metalayers", "b2nd", "vlmeta", "units"):
        assert word in text, word
    keys = [line.split(":")[0].strip() for line in text.splitlines() if line.split(":")[0].strip()]
    assert keys[:4] == ["type", "shape", "chunks", "blocks"]


def test_cparams_keywords():
    x = sample("<f4", (40, 30))
    for kw in (
        {"cparams": {"codec": nb2.Codec.LZ4, "clevel": 1, "filters": [nb2.Filter.BITSHUFFLE]}},
        {"cparams": nb2.CParams(codec=nb2.Codec.ZLIB, clevel=3)},
        {"codec": "blosclz", "clevel": 2, "filters": ["delta", "shuffle"], "filters_meta": [0, 0]},
        {"codec": nb2.Codec.LZ4HC, "filtersmeta": [0], "filters": [nb2.Filter.SHUFFLE]},
    ):
        a = ndpack.asarray(x, chunks=(16, 16), blocks=(8, 8), **kw)
        equal(a[...], x)
    assert ndpack.asarray(x, codec="lz4").cparams.codec == nb2.Codec.LZ4
    with pytest.raises(AttributeError):
        ndpack.asarray(x, cparams={"clevel": 1}, clevel=2)
    with pytest.raises(ValueError):
        ndpack.asarray(x, clevel=12)
    with pytest.raises(ValueError):
        ndpack.asarray(x, codec="nope")
    with pytest.raises(ValueError):
        ndpack.asarray(x, bogus=1)
    blosc2 = pytest.importorskip("blosc2")
    a = ndpack.asarray(x, cparams=blosc2.CParams(codec=blosc2.Codec.LZ4, clevel=3), dparams=blosc2.DParams(nthreads=1))
    assert a.cparams.codec == nb2.Codec.LZ4 and a.dparams.nthreads == 1


def test_meta_and_vlmeta(tmp_path):
    path = str(tmp_path / "m.b2nd")
    a = ndpack.zeros((4, 4), "u1", urlpath=path, mode="w", meta={"tag": [1, 2], "name": "abc"})
    assert list(a.meta.keys()) == ["b2nd", "tag", "name"]
    assert a.meta["tag"] == [1, 2] and "name" in a.meta and a.meta["b2nd"][2] == [4, 4]
    a.meta["name"] = "xyz"
    with pytest.raises(ValueError):
        a.meta["name"] = "longer"
    with pytest.raises(ValueError):
        a.meta["b2nd"] = a.meta["b2nd"]
    a.vlmeta["k"] = {"a": 1}
    a.attrs["z"] = [1.5]
    assert a.vlmeta["k"] == {"a": 1} and set(a.vlmeta) == {"k", "z"}
    del a.vlmeta["z"]
    del a
    b = ndpack.open(path)
    assert b.meta["name"] == "xyz" and b.vlmeta.getall() == {"k": {"a": 1}}
    with pytest.raises(ValueError):
        b.vlmeta["x"] = 1
    s = b.schunk
    assert isinstance(s, ndpack.SChunk) and s.nchunks == 1 and "b2nd" in s.meta
    assert b.get_chunk(0) == s.get_chunk(0)
    with pytest.raises(IndexError):
        b.get_chunk(1)
    m = ndpack.asarray(np.arange(10))
    assert m.schunk.nchunks == len(list(m.iterchunks_info()))


@pytest.mark.parametrize("dtype", DTYPES, ids=str)
def test_dtypes_roundtrip(dtype, tmp_path):
    x = sample(dtype, (5, 7), seed=1)
    for kw in ({}, {"urlpath": str(tmp_path / "d.b2nd"), "mode": "w"},
               {"urlpath": str(tmp_path / "d.b2dir"), "mode": "w", "contiguous": False}):
        a = ndpack.asarray(x, chunks=(2, 3), blocks=(1, 2), **kw)
        assert a.dtype == x.dtype
        equal(a[...], x)
        if kw:
            b = ndpack.open(kw["urlpath"])
            assert b.dtype == x.dtype and b.contiguous == kw.get("contiguous", True)
            equal(b[1:4, ::-2], x[1:4, ::-2])
        a[1:3, 2:6] = x[3:5, 0:4]
        y = x.copy()
        y[1:3, 2:6] = x[3:5, 0:4]
        equal(a[...], y)
        a[0] = x[4, 0]
        y[0] = x[4, 0]
        equal(a[...], y)
    if np.dtype(dtype).fields is not None:
        name = np.dtype(dtype).names[0]
        equal(a[name], y[name])


@pytest.mark.parametrize("ndim", [0, 1, 2, 3, 4, 5])
def test_dimensions(ndim):
    shape = (5, 4, 3, 3, 2)[:ndim]
    chunks = (3, 2, 2, 2, 1)[:ndim]
    blocks = (2, 1, 2, 1, 1)[:ndim]
    x = sample("<f8", shape, seed=ndim)
    a = ndpack.asarray(x, chunks=chunks, blocks=blocks)
    assert a.shape == shape and a.ndim == ndim
    equal(a[...], x)
    equal(np.asarray(a), x)
    if ndim == 0:
        assert a[()] == x[()] and type(a[()]) is type(x[()])
        a[()] = 2.5
        assert a[()] == 2.5
        with pytest.raises(TypeError):
            len(a)
    else:
        assert len(a) == shape[0]
        equal(a[-1], x[-1])
        a[...] = 1
        equal(a[...], np.ones(shape))


def test_zero_sized():
    for shape in [(0,), (3, 0), (0, 4, 2)]:
        a = ndpack.zeros(shape, "i4")
        equal(a[...], np.zeros(shape, "i4"))
        b = ndpack.asarray(np.zeros(shape, "f4"))
        equal(b[...], np.zeros(shape, "f4"))
        b[...] = 3
    a = ndpack.asarray(np.arange(10), chunks=(4,), blocks=(2,))
    equal(a[5:2], np.arange(10)[5:2])
    a[5:2] = 1
    equal(a[...], np.arange(10))


# -- indexing against NumPy ------------------------------------------------------------------------


@st.composite
def arrays_and_layout(draw, max_dims=4):
    shape = draw(hnp.array_shapes(min_dims=0, max_dims=max_dims, min_side=0, max_side=7))
    chunks = tuple(draw(st.integers(1, max(n, 1))) for n in shape)
    blocks = tuple(draw(st.integers(1, c)) for c in chunks)
    dtype = draw(st.sampled_from(["<i4", "|u1", "<f8", ">i2", "<c8"]))
    return shape, chunks, blocks, dtype


def _fancy_key(draw, shape):
    """A key with one integer array or a boolean mask among ints and slices (NumPy's rules)."""
    nd = len(shape)
    if nd == 0:
        return draw(st.sampled_from([(), Ellipsis, None, np.True_]))
    kind = draw(st.sampled_from(["int_array", "bool_mask", "bool_axis", "two_arrays"]))
    if kind == "bool_mask":
        return draw(hnp.arrays(np.bool_, shape))
    basic = draw(hnp.basic_indices(shape, min_dims=nd, max_dims=nd, allow_newaxis=False, allow_ellipsis=False))
    key = list(basic) if isinstance(basic, tuple) else [basic]
    while len(key) < nd:
        key.append(slice(None))
    axis = draw(st.integers(0, nd - 1))
    if kind == "bool_axis":
        key[axis] = draw(hnp.arrays(np.bool_, (shape[axis],)))
        return tuple(key)
    n = shape[axis]
    if n == 0:
        key[axis] = np.array([], dtype=np.intp)
        return tuple(key)
    idx = draw(hnp.arrays(np.intp, draw(hnp.array_shapes(min_dims=1, max_dims=2, min_side=0, max_side=4)),
                          elements=st.integers(-n, n - 1)))
    key[axis] = idx
    if kind == "two_arrays" and nd > 1:
        other = (axis + draw(st.integers(1, nd - 1))) % nd
        m = shape[other]
        if m:
            key[other] = draw(hnp.arrays(np.intp, idx.shape, elements=st.integers(-m, m - 1)))
    return tuple(key)


@st.composite
def indexing_case(draw):
    shape, chunks, blocks, dtype = draw(arrays_and_layout())
    if draw(st.booleans()):
        key = draw(hnp.basic_indices(shape, allow_newaxis=True, allow_ellipsis=True))
    else:
        key = _fancy_key(draw, shape)
    return shape, chunks, blocks, dtype, key


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(indexing_case(), st.integers(0, 2**31))
def test_random_reads_match_numpy(case, seed):
    shape, chunks, blocks, dtype, key = case
    x = sample(dtype, shape, seed % 1000)
    a = ndpack.asarray(x, chunks=chunks, blocks=blocks)
    try:
        expected = x[key]
    except IndexError:
        with pytest.raises(IndexError):
            a[key]
        return
    got = a[key]
    assert type(got) is type(expected)
    equal(got, expected)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(indexing_case(), st.integers(0, 2**31), st.sampled_from(["array", "scalar", "broadcast"]))
def test_random_writes_match_numpy(case, seed, how):
    shape, chunks, blocks, dtype, key = case
    x = sample(dtype, shape, seed % 1000)
    a = ndpack.asarray(x, chunks=chunks, blocks=blocks)
    try:
        target = np.asarray(x[key])
    except IndexError:
        with pytest.raises(IndexError):
            a[key] = 0
        return
    if how == "scalar":
        value = sample(dtype, (), seed % 997 + 1)[()]
    elif how == "broadcast" and target.ndim:
        value = sample(dtype, (1,) + target.shape[1:], seed % 997 + 2)
    else:
        value = sample(dtype, target.shape, seed % 997 + 3)
    x[key] = value
    a[key] = value
    equal(a[...], x)


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(indexing_case(), st.integers(0, 2**31))
def test_one_index_array_through_oindex_matches_numpy(case, seed):
    """Keys with one index array take the chunk-grouped path when their bounding region is large;
    forced here on small arrays."""
    shape, chunks, blocks, dtype, key = case
    x = sample(dtype, shape, seed % 1000)
    a = ndpack.asarray(x, chunks=chunks, blocks=blocks)
    with mock.patch.object(ndpack.NDArray, "_sparse", lambda self, sel: True):
        try:
            expected = x[key]
        except IndexError:
            with pytest.raises(IndexError):
                a[key]
            return
        equal(a[key], expected)
        value = sample(dtype, np.shape(expected), seed % 991 + 1)
        x[key] = value
        a[key] = value
        equal(a[...], x)


def test_sparse_index_arrays_on_a_large_array():
    x = np.arange(2048 * 1024, dtype="f4").reshape(2048, 1024)
    a = ndpack.asarray(x, chunks=(256, 256), blocks=(64, 64))
    for key in [([0, 2047, 5, 5],), (slice(None), [1000, 3, 3]), (np.array([[0, 2000], [1, 3]]), slice(10, 1000)),
                (slice(None, None, -1), np.array([1023, 0])), (np.isin(np.arange(2048), [0, 7, 2047]),)]:
        assert a._sparse(ndpack.ndarray._indexing.select(key, a.shape))
        assert _indexing_single(key, a.shape)
        equal(a[key], x[key])
        v = -np.arange(np.asarray(x[key]).size, dtype="f4").reshape(np.shape(x[key]))
        x[key] = v
        a[key] = v
    equal(a[...], x)


def _indexing_single(key, shape):
    return ndpack.ndarray._indexing.single_array(key, shape) is not None


def test_fancy_examples():
    x = sample("<i4", (6, 7, 5))
    a = ndpack.asarray(x, chunks=(4, 3, 2), blocks=(2, 2, 1))
    keys = [
        ([0, 5, 5, 1],), (slice(None), [6, 0, 3]), ([1, 2], slice(None), [0, 4]),
        (0, slice(None), [1, 2]), (x[..., 0] > 0,), (x > 0,), (Ellipsis, [4, -1]),
        (None, [1, 2], None, 3), (np.array([[0, 1], [2, 3]]), 2), ([True, False, True, False, False, True],),
        (slice(5, None, -2), [[1], [2]], [0, 1]),
    ]
    for k in keys:
        equal(a[k], x[k])
        y = x.copy()
        v = sample("<i4", np.asarray(x[k]).shape, 9)
        y[k] = v
        b = ndpack.asarray(x, chunks=(4, 3, 2), blocks=(2, 2, 1))
        b[k] = v
        equal(b[...], y)
    nd = ndpack.asarray(np.array([0, 2, 5]))
    equal(a[nd], x[[0, 2, 5]])
    a[...] = ndpack.asarray(np.ones(x.shape, "i4"))
    equal(a[...], np.ones(x.shape, "i4"))


def test_index_errors():
    a = ndpack.asarray(np.arange(12).reshape(3, 4))
    for bad in [(3,), (0, 4), (0, 0, 0), ([0, 3],), (..., ...), (np.ones(4, bool),), ("x",), (1.5,)]:
        with pytest.raises(IndexError):
            a[bad]
    with pytest.raises(ValueError):
        a[0] = np.arange(5)
    with pytest.raises(ValueError):
        a[:, 1:3] = np.ones((3, 3))
    with pytest.raises(ValueError):
        a[0] = "text"


# -- oindex and vindex -----------------------------------------------------------------------------


@settings(max_examples=150, deadline=None)
@given(arrays_and_layout(max_dims=3), st.data())
def test_oindex_vindex_match_numpy(layout, data):
    shape, chunks, blocks, dtype = layout
    assume(shape and 0 not in shape)
    x = sample(dtype, shape, 4)
    a = ndpack.asarray(x, chunks=chunks, blocks=blocks)
    okey, npkey = [], []
    for n in shape:
        kind = data.draw(st.sampled_from(["int", "slice", "array", "bool"]))
        if kind == "int":
            i = data.draw(st.integers(-n, n - 1))
            okey.append(i)
            npkey.append(np.array([i]))
        elif kind == "slice":
            s = data.draw(st.slices(n))
            okey.append(s)
            npkey.append(np.arange(n)[s])
        elif kind == "array":
            idx = np.array(data.draw(st.lists(st.integers(-n, n - 1), max_size=6)), dtype=np.intp)
            okey.append(idx)
            npkey.append(idx)
        else:
            m = np.array(data.draw(st.lists(st.booleans(), min_size=n, max_size=n)))
            okey.append(m)
            npkey.append(np.nonzero(m)[0])
    expected = x[np.ix_(*npkey)]
    drop = tuple(i for i, k in enumerate(okey) if isinstance(k, int))
    expected = expected.reshape([s for i, s in enumerate(expected.shape) if i not in drop])
    equal(a.oindex[tuple(okey)], expected)
    value = sample(dtype, expected.shape, 5)
    y = x.copy()
    view = y[np.ix_(*npkey)]
    view[...] = value.reshape(view.shape)
    y[np.ix_(*npkey)] = view
    a.oindex[tuple(okey)] = value
    equal(a[...], y)
    # points
    npts = data.draw(st.integers(0, 8))
    coords = tuple(np.array(data.draw(st.lists(st.integers(-n, n - 1), min_size=npts, max_size=npts)), dtype=np.intp)
                   for n in shape)
    b = ndpack.asarray(x, chunks=chunks, blocks=blocks)
    equal(b.vindex[coords], x[coords])
    v = sample(dtype, (npts,), 6)
    z = x.copy()
    z[coords] = v
    b.vindex[coords] = v
    equal(b[...], z)


def test_vindex_mask_and_broadcast():
    x = sample("<f4", (9, 8))
    a = ndpack.asarray(x, chunks=(4, 4), blocks=(2, 2))
    mask = x > 0
    equal(a.vindex[mask], x[mask])
    rows = np.array([[0], [8]])
    cols = np.array([1, 2, 7])
    equal(a.vindex[rows, cols], x[rows, cols])
    equal(a.vindex[3, cols], x[3, cols])
    a.vindex[mask] = 0
    y = x.copy()
    y[mask] = 0
    equal(a[...], y)
    with pytest.raises(IndexError):
        a.vindex[[0, 1]]
    with pytest.raises(IndexError):
        a.vindex[[0, 1], [0, 1, 2]]
    with pytest.raises(IndexError):
        a.vindex[[0, 9], [0, 1]]
    with pytest.raises(IndexError):
        a.oindex[[[0]], 1]


# -- read_into, slice, resize, frames --------------------------------------------------------------


def test_read_into():
    x = sample("<i4", (10, 9))
    a = ndpack.asarray(x, chunks=(4, 4), blocks=(2, 2))
    out = np.zeros((10, 9), "i4")
    assert a.read_into(out) is out
    equal(out, x)
    out = np.zeros((3, 9), "i4")
    a.read_into(out, (slice(7, 1, -2),))
    equal(out, x[7:1:-2])
    f = np.zeros((9, 10), "i4").T
    assert f.flags.f_contiguous and not f.flags.c_contiguous
    a.read_into(f)
    equal(f, x)
    wide = np.zeros((10, 9), "i8")
    a.read_into(wide)
    equal(wide, x.astype("i8"))
    base = np.full((12, 20), -1, "i4")
    strided = base[1:11, 1:19:2]
    assert ndpack.ndarray._indexing.strided_box(strided) is not None
    assert a.read_into(strided) is strided
    equal(strided, x)
    outside = np.ones(base.shape, bool)
    outside[1:11, 1:19:2] = False
    assert (base[outside] == -1).all()
    for view, key in [
        (np.zeros((7, 30), "i4")[5:2:-1, 27:0:-3], (slice(1, 4), slice(0, 9))),
        (np.zeros((4, 9), "i4")[::-1, ::-1], (slice(6, 10), slice(None))),
        (np.zeros((3, 2, 9), "i4")[:, 1, :], (slice(0, 3), slice(None))),
        (np.zeros((20, 9), "i4")[::2], ()),
    ]:
        assert (ndpack.ndarray._indexing.strided_box(view) is None) == (view.base.ndim != view.ndim)
        a.read_into(view, key)
        equal(view, x[key])
    t = np.zeros((9, 10), "i4").T[::2]
    a.read_into(t, (slice(None, None, 2),))
    equal(t, x[::2])
    with pytest.raises(ValueError):
        a.read_into(np.zeros((3, 3), "i4"))
    with pytest.raises(TypeError):
        a.read_into(np.zeros((10, 9), "f4"), casting="safe")


def test_slice(tmp_path):
    x = sample("<f4", (20, 18, 5))
    a = ndpack.asarray(x, chunks=(5, 6, 5), blocks=(5, 3, 5))
    aligned = a.slice((slice(5, 20), slice(6, 18)))
    assert aligned.chunks == a.chunks and aligned.shape == (15, 12, 5)
    assert aligned.get_chunk(0) == a.get_chunk(1 * 3 + 1)
    equal(aligned[...], x[5:20, 6:18])
    for key in [(3,), (slice(2, 17, 3), -1), (slice(None, None, -1), 4, slice(1, 4)), (Ellipsis, 2), ()]:
        s = a.slice(key)
        equal(s[...], x[key])
    s = a.slice((slice(0, 10), slice(3, 9)), chunks=(4, 4, 5), blocks=(2, 2, 5), urlpath=str(tmp_path / "s.b2nd"),
                mode="w")
    assert s.chunks == (4, 4, 5) and s.urlpath.endswith("s.b2nd")
    equal(ndpack.open(s.urlpath)[...], x[0:10, 3:9])
    with pytest.raises(IndexError):
        a.slice(([0, 1],))


def test_resize(tmp_path):
    x = sample("<i2", (7, 5))
    for kw in ({}, {"urlpath": str(tmp_path / "r.b2nd"), "mode": "w"}):
        a = ndpack.asarray(x, chunks=(3, 2), blocks=(2, 1), **kw)
        a.resize((10, 3))
        y = np.zeros((10, 3), "i2")
        y[:7] = x[:, :3]
        equal(a[...], y)
        a.resize((2, 8))
        z = np.zeros((2, 8), "i2")
        z[:, :3] = y[:2]
        equal(a[...], z)
        with pytest.raises(ValueError):
            a.resize((3,))
    b = ndpack.open(str(tmp_path / "r.b2nd"))
    equal(b[...], z)
    with pytest.raises(ValueError):
        b.resize((4, 4))


def test_cframe_roundtrip():
    x = sample("<u4", (6, 6))
    a = ndpack.asarray(x, chunks=(4, 4), blocks=(2, 2))
    frame = a.to_cframe()
    b = ndpack.ndarray_from_cframe(frame)
    equal(b[...], x)
    c = nb2.ndarray_from_cframe(bytearray(frame), copy=True)
    c[0] = 1
    equal(b[...], x)
    with pytest.raises(ValueError):
        ndpack.ndarray_from_cframe(frame[: len(frame) // 2])
    s = ndpack.SChunk(chunksize=16, data=b"x" * 64)
    with pytest.raises(ValueError):
        ndpack.ndarray_from_cframe(s.to_cframe())


def test_save_load_remove(tmp_path):
    x = sample("<f8", (4, 5))
    path = str(tmp_path / "s.b2nd")
    nb2.save(x, path, chunks=(2, 5))
    equal(nb2.load(path), x)
    a = ndpack.open(path, mode="a")
    a.save(str(tmp_path / "t.b2nd"))
    equal(nb2.load(str(tmp_path / "t.b2nd")), x)
    nb2.save(a, path, contiguous=False)
    assert os.path.isdir(path)
    equal(nb2.load(path), x)
    ndpack.remove_urlpath(path)
    assert not os.path.exists(path)
    ndpack.remove_urlpath(path)
    with pytest.raises(FileNotFoundError):
        nb2.load(path)


def test_open_modes_and_schunk_fallback(tmp_path):
    path = str(tmp_path / "o.b2nd")
    ndpack.asarray(np.arange(10), urlpath=path, mode="w")
    with pytest.raises(ValueError):
        ndpack.asarray(np.arange(10), urlpath=path)
    r = ndpack.open(path)
    assert r.mode == "r"
    with pytest.raises(ValueError):
        r[0] = 5
    w = ndpack.open(path, mode="a")
    w[0] = 5
    assert ndpack.open(path)[0] == 5
    m = ndpack.open(path, mmap_mode="r")
    equal(m[...], np.r_[5, np.arange(1, 10)])
    sp = str(tmp_path / "plain.b2frame")
    ndpack.SChunk(chunksize=8, data=b"abcdefgh" * 2, urlpath=sp, mode="w")
    assert isinstance(ndpack.open(sp), ndpack.SChunk)
    assert isinstance(nb2.open(path), ndpack.NDArray)
    with pytest.raises(FileNotFoundError):
        ndpack.open(str(tmp_path / "missing.b2nd"))
    with pytest.raises(ValueError):
        ndpack.open(path, mode="x")


# -- caterva's forms ---------------------------------------------------------------------------------


def test_caterva_forms(tmp_path):
    x = sample("<i4", (6, 5))
    raw = x.tobytes()
    a = nb2.from_buffer(raw, (6, 5), itemsize=4, chunks=(3, 3), blocks=(2, 2))
    assert a.dtype == np.dtype("S4") and "caterva" in a.meta
    equal(a[...].view("<i4"), x)
    path = str(tmp_path / "c.cat")
    z = ndpack.zeros((4, 4), itemsize=2, chunks=(2, 2), blocks=(2, 2), filename=path)
    assert os.path.isdir(path) and z.itemsize == 2 and "caterva" in z.meta
    e = ndpack.empty((3,), itemsize=8, chunks=(2,), blocks=(1,))
    assert e.dtype.itemsize == 8
    f = ndpack.full((3,), b"\x01\x02", itemsize=2, chunks=(2,), blocks=(2,))
    assert f[0] == b"\x01\x02"
    nb2.remove(path) if hasattr(nb2, "remove") else ndpack.ndarray.remove(path)
    assert not os.path.exists(path)
    with pytest.raises(ValueError):
        ndpack.zeros((3,), dtype="i4", itemsize=4)
    big = ndpack.zeros((1,) * 9, "u1")
    assert "caterva" not in big.meta
    c = ndpack.zeros((2, 2), "u1", caterva=True)
    assert "caterva" in c.meta


# -- pickling ----------------------------------------------------------------------------------------


def test_pickle_in_memory():
    x = sample("<f4", (9, 7))
    a = ndpack.asarray(x, chunks=(4, 4), blocks=(2, 2), codec="lz4")
    a.vlmeta["v"] = 1
    b = pickle.loads(pickle.dumps(a))
    equal(b[...], x)
    assert b.chunks == a.chunks and b.cparams.codec == nb2.Codec.LZ4 and b.vlmeta["v"] == 1
    b[0] = 0
    equal(a[...], x)


def test_pickle_file_backed_is_lazy(tmp_path):
    path = str(tmp_path / "p.b2nd")
    x = sample("<i8", (8, 8))
    a = ndpack.asarray(x, chunks=(4, 4), blocks=(2, 2), urlpath=path, mode="w")
    payload = pickle.dumps(a)
    assert len(payload) < 1000
    b = pickle.loads(payload)
    assert b._c is None
    assert b.shape == (8, 8) and b.dtype == x.dtype and b.chunks == (4, 4) and b.blocks == (2, 2)
    assert b.urlpath == os.path.abspath(path) and b.mode == "a"
    assert b._c is None
    equal(b[2:5], x[2:5])
    assert b._c is not None
    b[0] = 7
    equal(ndpack.open(path)[0], np.full(8, 7))
    r = pickle.loads(pickle.dumps(ndpack.open(path)))
    assert r.mode == "r"
    with pytest.raises(ValueError):
        r[0] = 1
    # unpickling does no I/O: the file may be missing until first use
    moved = pickle.loads(pickle.dumps(ndpack.open(path)))
    os.rename(path, path + ".gone")
    with pytest.raises(FileNotFoundError):
        moved[0]
    os.rename(path + ".gone", path)
    equal(moved[0], np.full(8, 7))


def test_pickle_keeps_the_offset(tmp_path):
    x = sample("<f8", (5, 5))
    frame = ndpack.asarray(x, chunks=(2, 2), blocks=(1, 2)).to_cframe()
    path = tmp_path / "inside.bin"
    path.write_bytes(b"HEAD" * 8 + frame)
    a = ndpack.open(str(path), offset=32)
    equal(a[...], x)
    b = pickle.loads(pickle.dumps(a))
    assert b._c is None
    equal(b[...], x)
    assert b.schunk.nchunks == 9


def test_pickle_across_processes(tmp_path):
    path = str(tmp_path / "x.b2nd")
    x = np.arange(30, dtype="<i2").reshape(5, 6)
    a = ndpack.asarray(x, urlpath=path, mode="w")
    blob = tmp_path / "a.pkl"
    blob.write_bytes(pickle.dumps(a))
    code = (
        "import pickle, sys; a = pickle.loads(open(sys.argv[1], 'rb').read()); "
        "assert a._c is None; print(int(a[4, 5]), a.shape)"
    )
    out = subprocess.run([sys.executable, "-c", code, str(blob)], capture_output=True, text=True, check=True)
    assert out.stdout.split()[0] == "29"


# -- bad input ---------------------------------------------------------------------------------------


def test_bad_arguments():
    with pytest.raises(ValueError):
        ndpack.zeros((3, -1))
    with pytest.raises(ValueError):
        ndpack.zeros((3,), chunks=(0,))
    with pytest.raises(ValueError):
        ndpack.zeros((4,), chunks=(2,), blocks=(3,))
    with pytest.raises(ValueError):
        ndpack.zeros((4, 4), chunks=(2,))
    with pytest.raises(ValueError):
        ndpack.zeros((1,) * 17)
    with pytest.raises(TypeError):
        ndpack.zeros((3,), dtype=object)
    with pytest.raises(TypeError):
        ndpack.zeros((3,), dtype="S0")
    with pytest.raises(ValueError):
        ndpack.frombuffer(b"abc", (2,), "i4")
    with pytest.raises(ValueError):
        ndpack.zeros((3,), mode="r")
    with pytest.raises(ValueError):
        ndpack.zeros((3,), mode="q")
    with pytest.raises(TypeError):
        ndpack.ndarray.NDArray()


def test_bad_files(tmp_path):
    garbage = tmp_path / "g.b2nd"
    garbage.write_bytes(b"\x00" * 200)
    with pytest.raises(ValueError):
        ndpack.open(str(garbage))
    path = str(tmp_path / "t.b2nd")
    ndpack.asarray(np.arange(1000.0), chunks=(100,), blocks=(10,), urlpath=path, mode="w")
    data = open(path, "rb").read()
    for cut in (10, len(data) // 2, len(data) - 5):
        p = tmp_path / f"cut{cut}.b2nd"
        p.write_bytes(data[:cut])
        with pytest.raises((ValueError, OSError)):
            ndpack.open(str(p))[...]
    # a b2nd metalayer saying ndim 17 / a shape that does not match the chunks
    frame = ndpack.asarray(np.arange(12, dtype="i4").reshape(3, 4), chunks=(2, 2), blocks=(1, 2)).to_cframe()
    meta = ndpack.ndarray_from_cframe(frame).meta.get_raw("b2nd")
    at = frame.find(meta)
    assert at > 0
    bad_ndim = bytearray(frame)
    bad_ndim[at + 2] = 17
    bad_shape = bytearray(frame)
    bad_shape[at + 4 + 8] = 9  # shape[0] = 9: the frame has too few chunks
    bad_chunk = bytearray(frame)
    bad_chunk[at + 4 + 2 * 9 + 1 + 4] = 0  # chunks[0] = 0
    bad_dtype = bytearray(frame)
    tail = frame.find(b"<i4", at)
    bad_dtype[tail : tail + 3] = b"?x!"
    for bad in (bad_ndim, bad_shape, bad_chunk, bad_dtype):
        with pytest.raises((ValueError, TypeError)):
            ndpack.ndarray_from_cframe(bytes(bad))[...]


def test_numpy_conversion():
    x = sample("<i2", (3, 4))
    a = ndpack.asarray(x)
    equal(np.asarray(a), x)
    equal(np.array(a, dtype="f8"), x.astype("f8"))
    with pytest.raises(ValueError):
        np.asarray(a, copy=False)
    equal(np.stack(list(a)), x)
    assert a.tobytes() == x.tobytes()
