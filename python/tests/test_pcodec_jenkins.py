"""ndpack's ``PCodec`` and ``JenkinsLookup3`` against numcodecs 0.16.6 (with pcodec 1.1.0): the
same bytes both ways, the same configs, reprs and equality, and errors where numcodecs fails."""

import pickle

import numcodecs
import numpy as np
import pytest
from conftest import sample
from hypothesis import given, settings
from hypothesis import strategies as st
from numcodecs.checksum32 import JenkinsLookup3 as NcJenkins
from numcodecs.pcodec import PCodec as NcPCodec

from ndpack import codecs as nc

PCO_DTYPES = ["<u2", "<u4", "<u8", "<i2", "<i4", "<i8", "<f2", "<f4", "<f8"]


def _data(dtype: str, shape, kind: str, seed: int = 0) -> np.ndarray:
    """Arrays pco treats differently: smooth, random, constant, multiples of 0.1, few values."""
    n = int(np.prod(shape))
    rng = np.random.default_rng(seed)
    dt = np.dtype(dtype)
    if kind == "sample":
        return sample(dtype, shape, seed)
    if kind == "random":
        if dt.kind == "f":
            return rng.standard_normal(n).astype(dt).reshape(shape)
        info = np.iinfo(dt)
        return rng.integers(info.min, info.max, n, dtype=dt, endpoint=True).reshape(shape)
    if kind == "constant":
        return np.full(shape, 7, dtype=dt)
    if kind == "decimal":
        if dt.kind == "f":
            return (np.round(rng.uniform(-100, 100, n), 1)).astype(dt).reshape(shape)
        return (rng.integers(0, 1000, n) * 10).astype(dt).reshape(shape)
    if kind == "few":
        return rng.choice(np.array([3, 17, 250, 1000], dtype=dt), n).reshape(shape)
    if kind == "cumsum":
        return np.cumsum(rng.integers(0, 5, n)).astype(dt).reshape(shape)
    raise ValueError(kind)


KINDS = ["sample", "random", "constant", "decimal", "few", "cumsum"]


def _check_both_ways(ours, theirs, arr):
    enc = ours.encode(arr)
    ref = theirs.encode(arr)
    assert isinstance(enc, bytes)
    assert enc == bytes(ref)
    dec = ours.decode(ref)
    exp = theirs.decode(enc)
    assert dec.dtype == exp.dtype == arr.dtype
    assert dec.shape == exp.shape == (arr.size,)
    assert dec.tobytes() == exp.tobytes() == arr.reshape(-1, order="A").tobytes()
    return enc


@pytest.mark.parametrize("dtype", PCO_DTYPES)
@pytest.mark.parametrize("kind", KINDS)
def test_pcodec_every_dtype_and_kind_both_ways(dtype, kind):
    arr = _data(dtype, (3001,), kind)
    _check_both_ways(nc.PCodec(), NcPCodec(), arr)


PCO_CONFIGS = [
    {},
    {"level": 0},
    {"level": 3},
    {"level": 12},
    {"mode_spec": "classic"},
    {"delta_spec": "try_lookback"},
    {"delta_spec": "try_consecutive", "delta_encoding_order": 0},
    {"delta_spec": "try_consecutive", "delta_encoding_order": 3},
    {"delta_spec": "try_consecutive", "delta_encoding_order": 7},
    {"delta_encoding_order": 2},
    {"equal_pages_up_to": 1000},
    {"equal_pages_up_to": 1, "level": 2},
    {"level": 10, "mode_spec": "classic", "delta_spec": "try_lookback", "equal_pages_up_to": 777},
]


@pytest.mark.parametrize("config", PCO_CONFIGS, ids=lambda c: str(c))
@pytest.mark.parametrize("dtype", ["<i4", "<u8", "<f4", "<f8", "<f2"])
def test_pcodec_configs_both_ways(config, dtype):
    n = 50 if config.get("equal_pages_up_to") == 1 else 5000
    for kind in ("sample", "decimal", "cumsum"):
        arr = _data(dtype, (n,), kind, seed=1)
        _check_both_ways(nc.PCodec(**config), NcPCodec(**config), arr)


@pytest.mark.parametrize(
    "shape", [(0,), (1,), (2,), (255,), (256,), (257,), (7, 13), (4, 5, 6), (2, 1, 3, 1)]
)
def test_pcodec_shapes_and_layouts(shape):
    arr = _data("<f8", shape, "sample", seed=2)
    for layout in (np.ascontiguousarray(arr), np.asfortranarray(arr)):
        enc = nc.PCodec().encode(layout)
        assert enc == NcPCodec().encode(layout)
        dec = nc.PCodec().decode(enc)
        ref = NcPCodec().decode(enc)
        if arr.size == 0:
            assert dec is None and ref is None
            continue
        assert dec.tobytes() == ref.tobytes() == layout.reshape(-1, order="A").tobytes()
        out = np.empty_like(layout)
        assert nc.PCodec().decode(enc, out=out) is out
        np.testing.assert_array_equal(out, layout)


def test_pcodec_large_multi_chunk():
    arr = _data("<i8", (600_000,), "cumsum", seed=3)
    enc = _check_both_ways(nc.PCodec(level=4), NcPCodec(level=4), arr)
    out = np.zeros(arr.size, "<i8")
    nc.PCodec().decode(enc, out=out)
    assert out.tobytes() == arr.tobytes()
    # A decode into an unaligned byte buffer.
    raw = np.zeros(arr.nbytes + 1, np.uint8)[1:]
    nc.PCodec().decode(enc, out=raw)
    assert raw.tobytes() == arr.tobytes()


def test_pcodec_decodes_numcodecs_input_kinds():
    arr = _data("<u4", (1000,), "sample")
    enc = NcPCodec().encode(arr)
    for buf in (enc, bytearray(enc), memoryview(enc), np.frombuffer(enc, np.uint8)):
        assert nc.PCodec().decode(buf).tobytes() == arr.tobytes()


def test_pcodec_delta_spec_none_is_pcos_no_op():
    # numcodecs 0.16.6 asks pcodec for DeltaSpec.none(), which pcodec 1.1.0 lacks; ndpack uses
    # pcodec's no-op spec, so the bytes are those of pcodec with DeltaSpec.no_op().
    import pcodec

    arr = _data("<i4", (4000,), "cumsum")
    config = pcodec.ChunkConfig(compression_level=8, delta_spec=pcodec.DeltaSpec.no_op())
    ref = pcodec.standalone.simple_compress(arr, config)
    enc = nc.PCodec(delta_spec="none").encode(arr)
    assert enc == ref
    assert enc != nc.PCodec().encode(arr)
    assert NcPCodec().decode(enc).tobytes() == arr.tobytes()
    with pytest.raises(AttributeError):
        NcPCodec(delta_spec="none").encode(arr)


@pytest.mark.parametrize("dtype", ["<M8[s]", "<m8[ns]", "<M8[D]"])
def test_pcodec_datetimes_as_int64(dtype):
    arr = (np.arange(1000) * 37).astype(dtype)
    enc = nc.PCodec().encode(arr)
    assert enc == NcPCodec().encode(arr)
    dec = nc.PCodec().decode(enc)
    assert dec.dtype == NcPCodec().decode(enc).dtype == np.int64
    assert dec.tobytes() == arr.tobytes()
    out = np.empty_like(arr)
    nc.PCodec().decode(enc, out=out)
    np.testing.assert_array_equal(out, arr)


@pytest.mark.parametrize("dtype", ["|u1", "|i1", ">i4", ">f8", "|b1", "<c8", "<U2", "|V8"])
def test_pcodec_rejects_what_numcodecs_rejects(dtype):
    arr = np.zeros(10, dtype=dtype)
    with pytest.raises((TypeError, RuntimeError)):
        NcPCodec().encode(arr)
    with pytest.raises((TypeError, ValueError)):
        nc.PCodec().encode(arr)


@pytest.mark.parametrize(
    "config",
    [
        {"level": 13},
        {"mode_spec": "try_dict"},
        {"delta_spec": "lookback"},
        {"paging_spec": "exact"},
        {"delta_spec": "none", "delta_encoding_order": 1},
        {"delta_spec": "try_consecutive"},
        {"delta_encoding_order": 8},
        {"equal_pages_up_to": 0},
    ],
    ids=str,
)
def test_pcodec_bad_configs_raise(config):
    arr = _data("<i4", (100,), "sample")
    # numcodecs fails on the first encode (equal_pages_up_to=0: a Rust panic inside pcodec, which
    # pyo3 raises as PanicException, a BaseException).
    with pytest.raises(BaseException):
        NcPCodec(**config).encode(arr)
    with pytest.raises(ValueError):
        nc.PCodec(**config)


def test_pcodec_corrupt_and_truncated_input_raise():
    arr = _data("<f8", (2000,), "sample")
    enc = NcPCodec().encode(arr)
    for cut in (0, 3, 8, 20, len(enc) // 2, len(enc) - 1):
        with pytest.raises(ValueError):
            nc.PCodec().decode(enc[:cut])
    with pytest.raises(ValueError):
        nc.PCodec().decode(b"definitely not pco")
    rng = np.random.default_rng(5)
    for _ in range(200):
        bad = bytearray(enc)
        bad[rng.integers(len(bad))] ^= 1 << int(rng.integers(8))
        try:
            nc.PCodec().decode(bytes(bad))
        except ValueError:
            pass
    # An output of the wrong dtype or size.
    with pytest.raises(ValueError):
        nc.PCodec().decode(enc, out=np.empty(2000, "<i8"))
    with pytest.raises(ValueError):
        nc.PCodec().decode(enc, out=np.empty(1999, "<f8"))


def test_pcodec_config_repr_eq_pickle():
    ours, theirs = nc.PCodec(), NcPCodec()
    assert ours.get_config() == theirs.get_config()
    assert repr(ours) == repr(theirs)
    for kwargs in PCO_CONFIGS:
        o, t = nc.PCodec(**kwargs), NcPCodec(**kwargs)
        assert o.get_config() == t.get_config()
        assert repr(o) == repr(t)
        assert nc.get_codec(t.get_config()) == o
        assert numcodecs.get_codec(o.get_config()) == t
        assert pickle.loads(pickle.dumps(o)) == o
    assert nc.PCodec(3) != nc.PCodec(4)
    assert nc.PCodec.codec_id == NcPCodec.codec_id == "pcodec"
    with pytest.raises(TypeError):
        nc.PCodec(8, "classic")  # keyword-only, as numcodecs
    c = nc.PCodec()
    c.level = 0
    arr = _data("<i4", (3000,), "random")
    assert c.encode(arr) == NcPCodec(0).encode(arr)


# --- jenkins_lookup3 -----------------------------------------------------------------------


JENKINS_CASES = [(0, None), (1, None), (0xDEADBEEF, None), (2**32 - 1, None), (0, b""), (7, b"HDF")]


@pytest.mark.parametrize("initval, prefix", JENKINS_CASES)
@pytest.mark.parametrize("n", [0, 1, 3, 4, 11, 12, 13, 24, 25, 100, 4096, 100_003])
def test_jenkins_bytes_both_ways(initval, prefix, n):
    data = np.random.default_rng(n).integers(0, 256, n, dtype=np.uint8).tobytes()
    ours = nc.JenkinsLookup3(initval, prefix)
    theirs = NcJenkins(initval, prefix)
    enc = ours.encode(data)
    assert isinstance(enc, bytes)
    assert enc == theirs.encode(data)
    dec = ours.decode(enc)
    assert isinstance(dec, memoryview)
    assert bytes(dec) == bytes(theirs.decode(enc)) == data


@pytest.mark.parametrize("dtype", ["<i4", "<f8", ">u2", "|b1", "<c16"])
@pytest.mark.parametrize("order", ["C", "F"])
def test_jenkins_arrays(dtype, order):
    arr = np.asarray(sample(dtype, (17, 5)), order=order)
    enc = nc.JenkinsLookup3(5, b"xy").encode(arr)
    assert enc == NcJenkins(5, b"xy").encode(arr)
    out = np.empty_like(arr)
    nc.JenkinsLookup3(5, b"xy").decode(enc, out=out)
    np.testing.assert_array_equal(out, arr)
    # numcodecs decodes into flat byte arrays only (an N-d `out` fails in its `view`).
    nc_out = np.empty(arr.nbytes, np.uint8)
    NcJenkins(5, b"xy").decode(enc, out=nc_out)
    assert nc_out.tobytes() == out.tobytes(order="A")
    raw = np.empty(arr.nbytes, np.uint8)
    nc.JenkinsLookup3(5, b"xy").decode(enc, out=raw)
    assert raw.tobytes() == nc_out.tobytes()


def test_jenkins_mismatch_and_short_input():
    enc = bytearray(NcJenkins().encode(b"hello world"))
    enc[0] ^= 1
    with pytest.raises(RuntimeError):
        NcJenkins().decode(bytes(enc))
    with pytest.raises(RuntimeError):
        nc.JenkinsLookup3().decode(bytes(enc))
    # The prefix and seed take part in the hash.
    good = NcJenkins(1, b"p").encode(b"data")
    for other in (nc.JenkinsLookup3(), nc.JenkinsLookup3(1), nc.JenkinsLookup3(0, b"p")):
        with pytest.raises(RuntimeError):
            other.decode(good)
    assert bytes(nc.JenkinsLookup3(1, b"p").decode(good)) == b"data"
    with pytest.raises(ValueError):
        nc.JenkinsLookup3().decode(b"abc")


def test_jenkins_config_repr_eq():
    for initval, prefix in JENKINS_CASES:
        o, t = nc.JenkinsLookup3(initval, prefix), NcJenkins(initval, prefix)
        oc, tc = o.get_config(), t.get_config()
        assert oc.keys() == tc.keys()
        assert oc["initval"] == tc["initval"]
        if prefix is None:
            assert oc["prefix"] is None and tc["prefix"] is None
        else:
            assert oc["prefix"].dtype == tc["prefix"].dtype == np.uint8
            assert oc["prefix"].tobytes() == tc["prefix"].tobytes()
        assert repr(o) == repr(t)
        assert nc.get_codec(tc) == o
        assert pickle.loads(pickle.dumps(o)) == o
        assert numcodecs.get_codec(oc).encode(b"abc") == o.encode(b"abc")
    # Multi-byte prefixes compare by value (numcodecs' comparison of arrays raises there).
    assert nc.JenkinsLookup3(0, b"ab") == nc.JenkinsLookup3(0, b"ab")
    assert nc.JenkinsLookup3(0, b"ab") != nc.JenkinsLookup3(0, b"ac")
    assert nc.JenkinsLookup3(0, [97, 98]) == nc.JenkinsLookup3(0, b"ab")
    assert nc.JenkinsLookup3(1) != nc.JenkinsLookup3(2)
    for bad in (-1, 2**32):
        with pytest.raises(OverflowError):
            NcJenkins(bad).encode(b"a")
        with pytest.raises(ValueError):
            nc.JenkinsLookup3(bad)


def test_both_ids_are_registered_and_listed():
    ids = nc.available_ids()
    assert "pcodec" in ids and "jenkins_lookup3" in ids
    assert nc.codec_registry["pcodec"] is nc.PCodec
    assert nc.codec_registry["jenkins_lookup3"] is nc.JenkinsLookup3


@settings(max_examples=60, deadline=None)
@given(
    data=st.lists(st.integers(-(2**31), 2**31 - 1), max_size=600),
    level=st.integers(0, 12),
    classic=st.booleans(),
    pages=st.integers(1, 700),
)
def test_pcodec_hypothesis_both_ways(data, level, classic, pages):
    arr = np.array(data, dtype="<i4")
    kwargs = dict(level=level, mode_spec="classic" if classic else "auto", equal_pages_up_to=pages)
    enc = nc.PCodec(**kwargs).encode(arr)
    assert enc == NcPCodec(**kwargs).encode(arr)
    dec = nc.PCodec().decode(enc)
    if arr.size == 0:
        assert dec is None
    else:
        assert dec.tobytes() == arr.tobytes()


@settings(max_examples=100, deadline=None)
@given(data=st.binary(max_size=300), initval=st.integers(0, 2**32 - 1), prefix=st.binary(max_size=20))
def test_jenkins_hypothesis_both_ways(data, initval, prefix):
    enc = nc.JenkinsLookup3(initval, prefix).encode(data)
    assert enc == NcJenkins(initval, prefix).encode(data)
    assert bytes(nc.JenkinsLookup3(initval, prefix).decode(enc)) == data
