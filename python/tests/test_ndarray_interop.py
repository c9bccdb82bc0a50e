"""N-d arrays crossing between ndpack and the reference libraries, both ways.

- python-blosc2 4.15 writes ``.b2nd`` arrays (contiguous files and sparse directories; every codec
  and filter; 0-d to 4-d; edge chunks; chunks that are not multiples of the blocks; ``zeros`` /
  ``full`` / ``empty`` special chunks; fixed metalayers and vlmeta; structured, datetime,
  timedelta, complex, bool, byte-string, unicode and big-endian dtypes); ndpack opens them with
  the same values, dtype, shapes, compression parameters and metadata.
- caterva 0.7.3 writes arrays (contiguous and sparse); ndpack opens them with the same bytes, as
  byte strings ``|S<itemsize>`` (what caterva returns), writes and resizes them.
- ndpack writes arrays; python-blosc2 opens them with the same values, dtype, shapes and metadata,
  and, with the ``caterva`` metalayer, caterva 0.7.3 opens them with the same bytes.
- In-memory frames (``to_cframe``) cross both ways.
"""

from __future__ import annotations

import blosc2
import caterva
import numpy as np
import pytest

import ndpack

CODECS = ["BLOSCLZ", "LZ4", "LZ4HC", "ZLIB", "ZSTD"]
#: (filters, filters_meta, dtype) in python-blosc2's names.
FILTERS = [
    (["NOFILTER"], [0], "<i4"),
    (["SHUFFLE"], [0], "<i4"),
    (["BITSHUFFLE"], [0], "<i8"),
    (["DELTA", "SHUFFLE"], [0, 0], "<u2"),
    (["TRUNC_PREC", "SHUFFLE"], [12, 0], "<f4"),
    (["SHUFFLE", "BYTEDELTA"], [0, 4], "<f4"),
]
#: (shape, chunks, blocks): 0-d to 4-d, edge chunks, chunks not multiples of blocks.
GEOMETRIES = [
    ((), (), ()),
    ((17,), (5,), (2,)),
    ((13, 11), (6, 4), (4, 3)),
    ((7, 6, 5), (4, 4, 3), (3, 2, 2)),
    ((3, 4, 5, 6), (2, 3, 3, 4), (1, 2, 2, 3)),
]
DTYPES = [
    np.dtype([("a", "<i4"), ("b", "<f8")]),
    np.dtype("<M8[ms]"),
    np.dtype("<m8[s]"),
    np.dtype("<c16"),
    np.dtype("?"),
    np.dtype("S5"),
    np.dtype("<U3"),
    np.dtype(">f8"),
    np.dtype("|i1"),
]


def values(shape, dtype, seed=0):
    """Deterministic, compressible but not constant items of any dtype."""
    dtype = np.dtype(dtype)
    rng = np.random.default_rng(seed)
    n = int(np.prod(shape, dtype=np.int64))
    if dtype.names:
        out = np.zeros(n, dtype)
        for k, name in enumerate(dtype.names):
            out[name] = values((n,), dtype.fields[name][0], seed + k + 1)
        return out.reshape(shape)
    kind = dtype.kind
    if kind == "b":
        flat = rng.integers(0, 2, n).astype(bool)
    elif kind in "iu":
        info = np.iinfo(dtype)
        flat = (np.arange(n) * 7 + rng.integers(0, 5, n)) % min(info.max, 1000)
    elif kind == "f":
        flat = np.cumsum(rng.normal(size=n))
    elif kind == "c":
        flat = np.cumsum(rng.normal(size=n)) + 1j * rng.normal(size=n)
    elif kind in "Mm":
        flat = (np.arange(n) * 1000 + rng.integers(0, 999, n)).astype(np.int64)
        return flat.astype(dtype).reshape(shape)
    elif kind == "S":
        flat = np.array([b"x%d" % (i % 97) for i in range(n)], dtype=dtype)
    elif kind == "U":
        flat = np.array(["\u00e9%d" % (i % 9) for i in range(n)], dtype=dtype)
    else:
        raise AssertionError(dtype)
    return np.asarray(flat).astype(dtype).reshape(shape)


def v(e):
    """The value of an enum member of either library."""
    return getattr(e, "value", e)


def b2_cparams(codec, clevel, filters, filters_meta):
    return blosc2.CParams(
        codec=getattr(blosc2.Codec, codec),
        clevel=clevel,
        filters=[getattr(blosc2.Filter, f) for f in filters],
        filters_meta=list(filters_meta),
        nthreads=2,
    )


def nd_cparams(codec, clevel, filters, filters_meta):
    return {
        "codec": getattr(ndpack.blosc2.Codec, codec),
        "clevel": clevel,
        "filters": [getattr(ndpack.blosc2.Filter, f) for f in filters],
        "filters_meta": list(filters_meta),
    }


def active_filters(cparams):
    """The (filter value, meta) pairs of a pipeline, no-filter slots left out."""
    return [(v(f), m) for f, m in zip(cparams.filters, cparams.filters_meta) if v(f) != 0]


def same_array(nd, ref):
    """ndpack's array `nd` and python-blosc2's `ref` describe and hold the same array."""
    assert nd.shape == ref.shape
    assert nd.dtype == ref.dtype
    assert nd.chunks == ref.chunks
    assert nd.blocks == ref.blocks
    assert nd.nbytes == ref.nbytes
    got, want = nd[...], ref[...]
    assert got.dtype == want.dtype
    np.testing.assert_array_equal(got, want)


# -- python-blosc2 writes, ndpack reads ---------------------------------------------------------


@pytest.mark.parametrize("codec", CODECS)
@pytest.mark.parametrize("k", range(len(FILTERS)))
def test_blosc2_codecs_and_filters_open_in_ndpack(tmp_path, codec, k):
    filters, meta, dtype = FILTERS[k]
    contiguous = (CODECS.index(codec) + k) % 2 == 0
    shape, chunks, blocks = GEOMETRIES[1 + (CODECS.index(codec) + k) % (len(GEOMETRIES) - 1)]
    data = values(shape, dtype, seed=k)
    path = str(tmp_path / ("a.b2nd" if contiguous else "a.b2nd.d"))
    ref = blosc2.asarray(
        data, chunks=chunks, blocks=blocks, urlpath=path, contiguous=contiguous, mode="w",
        cparams=b2_cparams(codec, 5, filters, meta),
    )
    a = ndpack.open(path)
    assert isinstance(a, ndpack.NDArray)
    same_array(a, ref)
    assert a.contiguous == contiguous
    assert v(a.cparams.codec) == v(ref.cparams.codec)
    assert a.cparams.clevel == ref.cparams.clevel
    assert active_filters(a.cparams) == active_filters(ref.cparams)
    if "TRUNC_PREC" not in filters:  # lossy: ndpack reads what python-blosc2 reads
        np.testing.assert_array_equal(a[...], data)


@pytest.mark.parametrize("g", range(len(GEOMETRIES)))
@pytest.mark.parametrize("contiguous", [True, False])
def test_blosc2_geometries_open_in_ndpack(tmp_path, g, contiguous):
    shape, chunks, blocks = GEOMETRIES[g]
    data = values(shape, "<f8", seed=g)
    path = str(tmp_path / "g.b2nd")
    ref = blosc2.asarray(data, chunks=chunks, blocks=blocks, urlpath=path, contiguous=contiguous, mode="w")
    a = ndpack.open(path)
    same_array(a, ref)
    assert a.ext_shape == ref.ext_shape
    if shape:
        # Regions with steps, negative too, and integers, as NumPy gives them.
        keys = [tuple(slice(None, None, -2) for _ in shape), (0,) * len(shape),
                tuple(slice(1, None, 3) for _ in shape)]
        for key in keys:
            np.testing.assert_array_equal(a[key], data[key])


@pytest.mark.parametrize("dtype", DTYPES, ids=str)
def test_blosc2_dtypes_open_in_ndpack(tmp_path, dtype):
    data = values((9, 7), dtype, seed=3)
    path = str(tmp_path / "d.b2nd")
    ref = blosc2.asarray(data, chunks=(4, 5), blocks=(2, 2), urlpath=path, mode="w")
    a = ndpack.open(path)
    same_array(a, ref)
    np.testing.assert_array_equal(a[...], data)


def test_blosc2_specials_meta_and_vlmeta_open_in_ndpack(tmp_path):
    z = blosc2.zeros((30, 20), dtype="<f4", chunks=(8, 8), blocks=(4, 4),
                     urlpath=str(tmp_path / "z.b2nd"), mode="w", meta={"units": "m", "ids": [1, 2, 3]})
    f = blosc2.full((30, 20), 7, dtype="<i2", chunks=(8, 8), blocks=(4, 4),
                    urlpath=str(tmp_path / "f.b2nd.d"), contiguous=False, mode="w")
    e = blosc2.empty((30, 20), dtype="<f8", chunks=(8, 8), blocks=(4, 4),
                     urlpath=str(tmp_path / "e.b2nd"), mode="w")
    # A written region among special chunks.
    f[3:10, 5:9] = np.arange(28, dtype="<i2").reshape(7, 4)
    z.vlmeta["attrs"] = {"title": "zeros", "scale": 0.5, "tags": ["a", "b"]}
    z.vlmeta["n"] = 42
    for ref in (z, f, e):
        a = ndpack.open(ref.urlpath)
        assert a.shape == ref.shape and a.dtype == ref.dtype
        assert a.chunks == ref.chunks and a.blocks == ref.blocks
        np.testing.assert_array_equal(a[...], ref[...])
        specials = [c.special for c in a.iterchunks_info()]
        ref_specials = [c.special for c in ref.iterchunks_info()]
        assert [v(s) != 0 for s in specials] == [v(s) != 0 for s in ref_specials]
        assert any(v(s) != 0 for s in specials)
    a = ndpack.open(z.urlpath)
    assert a.meta["units"] == "m" and list(a.meta["ids"]) == [1, 2, 3]
    assert a.vlmeta["attrs"] == {"title": "zeros", "scale": 0.5, "tags": ["a", "b"]}
    assert a.vlmeta["n"] == 42
    assert sorted(a.vlmeta.keys()) == sorted(z.vlmeta.keys())


# -- caterva writes, ndpack reads ------------------------------------------------------------


@pytest.mark.parametrize("contiguous", [True, False])
@pytest.mark.parametrize("g", [1, 2, 4])
def test_caterva_files_open_in_ndpack(tmp_path, contiguous, g):
    shape, chunks, blocks = GEOMETRIES[g]
    data = values(shape, "<i4", seed=g)
    path = str(tmp_path / "c.cat")
    c = caterva.asarray(data, chunks=chunks, blocks=blocks, urlpath=path, contiguous=contiguous,
                        codec=caterva.Codec.LZ4, clevel=5, filters=[caterva.Filter.SHUFFLE])
    del c
    a = ndpack.open(path)
    assert a.shape == shape and a.chunks == chunks and a.blocks == blocks
    assert a.itemsize == 4 and "caterva" in a.meta
    np.testing.assert_array_equal(np.asarray(a[...]).view("<i4"), data)
    back = caterva.open(path)
    assert a[...].tobytes() == back[...].tobytes()


@pytest.mark.parametrize("contiguous", [True, False])
@pytest.mark.parametrize("itemsize", [1, 3, 4, 8])
def test_caterva_itemsize_arrays_are_byte_strings(tmp_path, contiguous, itemsize):
    """caterva 0.7.3 stores no dtype (arrays are made with ``itemsize=n``) and its
    ``__getitem__`` returns ``|S<n>``: ndpack opens such a file with that dtype and the same
    bytes. python-blosc2 4.15 reads only the ``b2nd`` metalayer, so it opens the file as a plain
    SChunk. Writes and a resize by ndpack reach caterva."""
    shape = (7, 5)
    raw = np.random.default_rng(itemsize).integers(0, 256, size=35 * itemsize, dtype=np.uint8)
    raw[::2] = 0  # NUL bytes, trailing ones too
    path = str(tmp_path / "c.cat")
    c = caterva.from_buffer(raw.tobytes(), shape, itemsize, chunks=(4, 3), blocks=(2, 2), urlpath=path,
                            contiguous=contiguous)
    want = c[...]
    assert want.dtype == np.dtype(f"S{itemsize}")
    del c
    a = ndpack.open(path, mode="a")
    assert a.dtype == want.dtype and a.itemsize == itemsize
    got = a[...]
    assert got.dtype == want.dtype and got.tobytes() == want.tobytes()
    np.testing.assert_array_equal(a[1:6:2, ::-1], want[1:6:2, ::-1])
    assert a[2, 3] == want[2, 3] and isinstance(a[2, 3], bytes)
    ref = blosc2.open(path)
    assert isinstance(ref, blosc2.SChunk) and not isinstance(ref, blosc2.NDArray)
    assert list(ref.meta.keys()) == ["caterva"]
    value = bytes(range(1, itemsize + 1))
    a[0, 0:2] = value
    a.resize((9, 5))
    assert a.meta.keys() == ["caterva"]
    del a
    back = caterva.open(path)
    assert tuple(back.shape) == (9, 5)
    x = np.zeros((9, 5), want.dtype)
    x[:7] = want
    x[0, 0:2] = value
    assert back[...].tobytes() == x.tobytes()
    assert ndpack.open(path)[...].tobytes() == x.tobytes()
    copy = ndpack.open(path).copy(urlpath=str(tmp_path / "copy.b2nd"), mode="w", caterva=True)
    both = blosc2.open(copy.urlpath)
    assert both.dtype == want.dtype and both[...].tobytes() == x.tobytes()
    assert caterva.open(copy.urlpath)[...].tobytes() == x.tobytes()


def test_ndpack_itemsize_arrays_are_byte_strings_everywhere(tmp_path):
    """ndpack's caterva forms (``itemsize=n``) store ``|S<n>``: caterva and python-blosc2 read
    the same byte strings."""
    path = str(tmp_path / "i.b2nd")
    a = ndpack.zeros((6, 4), itemsize=3, chunks=(4, 4), blocks=(2, 2), urlpath=path, mode="w")
    a[1:5, 1] = b"ab\x00"
    a[0] = b"xyz"
    assert a.dtype == np.dtype("S3")
    del a
    want = np.zeros((6, 4), "S3")
    want[1:5, 1] = b"ab"
    want[0] = b"xyz"
    for got in (caterva.open(path)[...], blosc2.open(path)[...], ndpack.open(path)[...]):
        assert got.dtype == np.dtype("S3") and got.tobytes() == want.tobytes()


# -- ndpack writes, python-blosc2 and caterva read ------------------------------------------


@pytest.mark.parametrize("codec", CODECS)
@pytest.mark.parametrize("k", range(len(FILTERS)))
def test_ndpack_codecs_and_filters_open_in_blosc2(tmp_path, codec, k):
    filters, meta, dtype = FILTERS[k]
    contiguous = (CODECS.index(codec) + k) % 2 == 1
    shape, chunks, blocks = GEOMETRIES[1 + (CODECS.index(codec) + 2 * k) % (len(GEOMETRIES) - 1)]
    data = values(shape, dtype, seed=k)
    path = str(tmp_path / "n.b2nd")
    a = ndpack.asarray(data, chunks=chunks, blocks=blocks, urlpath=path, contiguous=contiguous, mode="w",
                       cparams=nd_cparams(codec, 5, filters, meta))
    ref = blosc2.open(path)
    same_array(a, ref)
    if "TRUNC_PREC" not in filters:  # lossy: python-blosc2 reads what ndpack reads
        np.testing.assert_array_equal(ref[...], data)
    assert v(ref.cparams.codec) == v(a.cparams.codec)
    assert active_filters(ref.cparams) == active_filters(a.cparams)


@pytest.mark.parametrize("g", range(len(GEOMETRIES)))
def test_ndpack_geometries_open_in_blosc2_and_caterva(tmp_path, g):
    shape, chunks, blocks = GEOMETRIES[g]
    data = values(shape, "<f4", seed=10 + g)
    for contiguous in (True, False):
        path = str(tmp_path / f"n{int(contiguous)}.b2nd")
        a = ndpack.asarray(data, chunks=chunks, blocks=blocks, urlpath=path, contiguous=contiguous,
                           mode="w", caterva=True, codec=ndpack.blosc2.Codec.LZ4)
        ref = blosc2.open(path)
        same_array(a, ref)
        np.testing.assert_array_equal(ref[...], data)
        if shape:  # caterva 0.7.3 has no 0-d arrays
            c = caterva.open(path)
            assert tuple(c.shape) == shape and tuple(c.chunks) == chunks and tuple(c.blocks) == blocks
            assert c.itemsize == 4
            assert np.asarray(c[...]).tobytes() == data.tobytes()


@pytest.mark.parametrize("dtype", DTYPES, ids=str)
def test_ndpack_dtypes_open_in_blosc2(tmp_path, dtype):
    data = values((9, 7), dtype, seed=5)
    path = str(tmp_path / "d.b2nd")
    a = ndpack.asarray(data, chunks=(4, 5), blocks=(2, 2), urlpath=path, mode="w")
    ref = blosc2.open(path)
    same_array(a, ref)
    np.testing.assert_array_equal(ref[...], data)


def test_ndpack_specials_meta_and_vlmeta_open_in_blosc2(tmp_path):
    z = ndpack.zeros((30, 20), dtype="<f4", chunks=(8, 8), blocks=(4, 4),
                     urlpath=str(tmp_path / "z.b2nd"), mode="w", meta={"units": "m"})
    f = ndpack.full((30, 20), 7, dtype="<i2", chunks=(8, 8), blocks=(4, 4),
                    urlpath=str(tmp_path / "f.b2nd"), contiguous=False, mode="w", caterva=True)
    f[3:10, 5:9] = np.arange(28, dtype="<i2").reshape(7, 4)
    z.vlmeta["attrs"] = {"title": "zeros", "tags": ["a", "b"]}
    for a in (z, f):
        ref = blosc2.open(a.urlpath)
        same_array(a, ref)
        ref_specials = [v(c.special) != 0 for c in ref.iterchunks_info()]
        assert ref_specials == [v(c.special) != 0 for c in a.iterchunks_info()]
        assert any(ref_specials)
    ref = blosc2.open(z.urlpath)
    assert ref.meta["units"] == "m"
    assert ref.vlmeta["attrs"] == {"title": "zeros", "tags": ["a", "b"]}
    c = caterva.open(f.urlpath)
    assert np.asarray(c[...]).view("<i2").tolist() == f[...].tolist()


# -- in-memory frames --------------------------------------------------------------------------


def test_cframes_cross_both_ways():
    data = values((40, 30), "<f8", seed=7)
    ref = blosc2.asarray(data, chunks=(16, 16), blocks=(8, 4))
    a = ndpack.ndarray_from_cframe(ref.to_cframe())
    same_array(a, ref)
    a2 = ndpack.asarray(data, chunks=(16, 16), blocks=(8, 4), codec=ndpack.blosc2.Codec.ZSTD)
    ref2 = blosc2.ndarray_from_cframe(a2.to_cframe())
    same_array(a2, ref2)
    np.testing.assert_array_equal(ref2[::-3, 1::4], data[::-3, 1::4])
