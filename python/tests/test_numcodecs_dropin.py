"""The parts of numcodecs' interface that its own test suite checks and that code written for
numcodecs relies on, against numcodecs itself: exception classes (corrupt input, object arrays),
``max_buffer_size``, ``Zstd``'s level functions, incremental ``checksum``, ``GZip.decode`` into a
larger ``out``, ``Blosc``'s typesize message and numcodecs' pickle opt-in.
"""

import zlib

import numcodecs
import numcodecs.blosc
import numcodecs.checksum32
import numcodecs.gzip
import numcodecs.lz4
import numcodecs.pickles
import numcodecs.zstd
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ndpack import _object_codecs
from ndpack import codecs as nc
from ndpack.blosc import Blosc

# Compressors and checksums: (ndpack class, numcodecs class, constructor arguments).
RAW_CODECS = [
    (nc.Zlib, numcodecs.Zlib, {}),
    (nc.GZip, numcodecs.GZip, {}),
    (nc.BZ2, numcodecs.BZ2, {}),
    (nc.LZMA, numcodecs.LZMA, {}),
    (nc.Zstd, numcodecs.Zstd, {}),
    (nc.LZ4, numcodecs.LZ4, {}),
    (Blosc, numcodecs.Blosc, {}),
    (Blosc, numcodecs.Blosc, {"cname": "zstd", "shuffle": 2}),
    (nc.Base64, numcodecs.Base64, {}),
    (nc.CRC32, numcodecs.CRC32, {}),
    (nc.CRC32, numcodecs.CRC32, {"location": "end"}),
    (nc.Adler32, numcodecs.Adler32, {}),
    (nc.CRC32C, numcodecs.CRC32C, {}),
    (nc.CRC32C, numcodecs.CRC32C, {"location": "start"}),
    (nc.Fletcher32, numcodecs.Fletcher32, {}),
]


def _ids(cases):
    return [f"{ours.__name__}{kw or ''}" for ours, _, kw in cases]


def _raised(fn):
    """The exception ``fn()`` raises (the test fails if it raises none)."""
    with pytest.raises(Exception) as info:
        fn()
    return info.value


# --- exception classes -----------------------------------------------------------------------


def test_error_classes_derive_from_both_libraries_classes():
    assert issubclass(nc.CorruptInputError, ValueError)
    assert issubclass(nc.CorruptInputError, RuntimeError)
    assert issubclass(nc.ObjectArrayError, TypeError)
    assert issubclass(nc.ObjectArrayError, ValueError)
    assert nc.CorruptInputError("x").args == ("x",)
    assert str(nc.ObjectArrayError("object arrays are not supported")) == "object arrays are not supported"


GARBAGE = [b"", b"\x00" * 8, b"\x01\x02\x03\x04\x05\x06\x07\x08" * 3, bytes(range(40))]

# Codecs whose numcodecs classes raise RuntimeError (or ValueError) for corrupt input.
CORRUPT_CASES = [
    (nc.Zstd, numcodecs.Zstd, {}),
    (nc.LZ4, numcodecs.LZ4, {}),
    (Blosc, numcodecs.Blosc, {}),
    (nc.CRC32, numcodecs.CRC32, {}),
    (nc.Adler32, numcodecs.Adler32, {}),
    (nc.CRC32C, numcodecs.CRC32C, {}),
]


@pytest.mark.parametrize("data", GARBAGE, ids=lambda d: f"{len(d)}B")
@pytest.mark.parametrize("ours, theirs, kw", CORRUPT_CASES, ids=_ids(CORRUPT_CASES))
def test_corrupt_input_raises_what_numcodecs_raises_and_a_value_error(ours, theirs, kw, data):
    expected = type(_raised(lambda: theirs(**kw).decode(data)))
    got = _raised(lambda: ours(**kw).decode(data))
    assert isinstance(got, expected), (got, expected)
    assert isinstance(got, ValueError), got


@pytest.mark.parametrize("ours, theirs, kw", CORRUPT_CASES[:3], ids=_ids(CORRUPT_CASES[:3]))
def test_flipped_bytes_raise_corrupt_input_error(ours, theirs, kw):
    data = np.arange(5000, dtype="<i4")
    enc = bytearray(theirs(**kw).encode(data))
    enc[len(enc) // 2 :] = bytes(len(enc) - len(enc) // 2)
    expected = type(_raised(lambda: theirs(**kw).decode(bytes(enc))))
    got = _raised(lambda: ours(**kw).decode(bytes(enc)))
    assert isinstance(got, expected) and isinstance(got, ValueError), (got, expected)


def test_zstd_invalid_input_message_is_numcodecs():
    for data in (b"\x00" * 8, b""):
        with pytest.raises(RuntimeError, match="Zstd decompression error: invalid input data"):
            numcodecs.Zstd().decode(data)
        with pytest.raises(nc.CorruptInputError, match="Zstd decompression error: invalid input data"):
            nc.Zstd().decode(data)


@pytest.mark.parametrize("ours, theirs, kw", RAW_CODECS, ids=_ids(RAW_CODECS))
def test_decode_into_object_out_is_a_type_error(ours, theirs, kw):
    arr = np.arange(10)
    enc = theirs(**kw).encode(arr)
    with pytest.raises(TypeError):
        theirs(**kw).decode(enc, out=np.empty(10, dtype=object))
    with pytest.raises(nc.ObjectArrayError, match="object arrays are not supported"):
        ours(**kw).decode(enc, out=np.empty(10, dtype=object))
    # A usable out still works, and equals numcodecs'.
    out = np.empty(10, dtype=arr.dtype)
    assert ours(**kw).decode(enc, out=out) is out
    np.testing.assert_array_equal(out, arr)


@pytest.mark.parametrize("ours, theirs, kw", RAW_CODECS, ids=_ids(RAW_CODECS))
def test_encode_object_array_is_a_type_error(ours, theirs, kw):
    arr = np.array(["foo", "bar", "baz"], dtype=object)
    with pytest.raises(TypeError):
        theirs(**kw).encode(arr)
    with pytest.raises(TypeError):
        ours(**kw).encode(arr)


def test_shuffle_refuses_object_out_as_numcodecs():
    enc = numcodecs.Shuffle(4).encode(np.arange(10, dtype="i4"))
    with pytest.raises(TypeError):
        numcodecs.Shuffle(4).decode(enc, out=np.empty(10, dtype=object))
    with pytest.raises(nc.ObjectArrayError):
        nc.Shuffle(4).decode(enc, out=np.empty(10, dtype=object))


def test_item_filters_copy_into_object_out_as_numcodecs():
    arr = np.arange(10, dtype="i4")
    cases = [
        (nc.Delta("i4"), numcodecs.Delta("i4")),
        (nc.FixedScaleOffset(0, 1, "i4"), numcodecs.FixedScaleOffset(0, 1, "i4")),
    ]
    for ours, theirs in cases:
        enc = theirs.encode(arr)
        want = theirs.decode(enc, out=np.empty(10, dtype=object))
        got = ours.decode(enc, out=np.empty(10, dtype=object))
        assert got.dtype == want.dtype == object
        assert list(got) == list(want)


# --- max_buffer_size -------------------------------------------------------------------------

LIMITED = [(nc.LZ4, numcodecs.LZ4, {}), (Blosc, numcodecs.Blosc, {}), (Blosc, numcodecs.Blosc, {"shuffle": 0})]


@pytest.mark.parametrize("ours, theirs, kw", LIMITED, ids=_ids(LIMITED))
def test_max_buffer_size_is_numcodecs(ours, theirs, kw):
    assert ours.max_buffer_size == theirs.max_buffer_size
    assert ours(**kw).max_buffer_size == theirs(**kw).max_buffer_size


@pytest.mark.parametrize("limit", [4, 64, 1024])
@pytest.mark.parametrize("ours, theirs, kw", LIMITED, ids=_ids(LIMITED))
def test_max_buffer_size_limits_encode_and_decode(ours, theirs, kw, limit):
    a, b = ours(**kw), theirs(**kw)
    a.max_buffer_size = b.max_buffer_size = limit
    encoded = []
    for n in (limit - 1, limit):
        data = np.arange(n, dtype=np.int8)
        encoded.append((data, a.encode(data), b.encode(data)))
    for buf in (b"x" * (limit + 1), np.zeros(limit + 1, np.int8), np.zeros(limit, np.int32)):
        for codec in (a, b):
            with pytest.raises(ValueError, match=f"Codec does not support buffers of > {limit} bytes"):
                codec.encode(buf)
            with pytest.raises(ValueError, match=f"Codec does not support buffers of > {limit} bytes"):
                codec.decode(buf)
    # The class's limit is untouched.
    assert ours.max_buffer_size == theirs.max_buffer_size
    assert ours(**kw).max_buffer_size != limit
    for data, enc_a, enc_b in encoded:
        assert ours(**kw).decode(enc_a) == theirs(**kw).decode(enc_a) == bytes(data)
        assert ours(**kw).decode(enc_b) == bytes(data)


# --- Zstd levels, checksums ------------------------------------------------------------------


def test_zstd_levels_are_numcodecs():
    for name in ("default_level", "min_level", "max_level"):
        assert getattr(nc.Zstd, name)() == getattr(numcodecs.Zstd, name)()
        assert getattr(nc.Zstd(level=5), name)() == getattr(numcodecs.Zstd, name)()
    assert (nc.Zstd.default_level(), nc.Zstd.min_level(), nc.Zstd.max_level()) == (3, -131072, 22)


CHECKSUMS = [
    (nc.CRC32, numcodecs.CRC32),
    (nc.Adler32, numcodecs.Adler32),
    (nc.CRC32C, numcodecs.CRC32C),
]


@pytest.mark.parametrize("ours, theirs", CHECKSUMS, ids=[c[0].__name__ for c in CHECKSUMS])
@settings(max_examples=60, deadline=None)
@given(data=st.binary(max_size=3000), cut=st.integers(0, 3000), value=st.integers(0, 2**32 - 1))
def test_checksum_is_numcodecs_and_incremental(ours, theirs, data, cut, value):
    cut = min(cut, len(data))
    assert ours.checksum(data) == theirs.checksum(data)
    assert ours.checksum(data, value) == theirs.checksum(data, value)
    first = ours.checksum(data[:cut])
    assert ours.checksum(data[cut:], first) == ours.checksum(data)
    # Any bytes-like input: bytearray, memoryview, NumPy arrays of any dtype.
    arr = np.frombuffer(data[: len(data) // 4 * 4], dtype="<u4")
    assert ours.checksum(arr) == theirs.checksum(arr)
    assert ours.checksum(bytearray(data)) == ours.checksum(memoryview(data)) == ours.checksum(data)


def test_crc32c_checksum_examples():
    assert nc.CRC32C.checksum(b"hello world") == 0xC99465AA
    assert nc.CRC32C.checksum(b" world", nc.CRC32C.checksum(b"hello")) == 0xC99465AA
    assert nc.CRC32C.checksum(b"") == 0
    assert nc.CRC32.checksum(b"abc") == zlib.crc32(b"abc")
    assert nc.Adler32.checksum(b"abc") == zlib.adler32(b"abc")


# --- GZip.decode(buf, out) -------------------------------------------------------------------


@pytest.mark.parametrize("extra", [0, 1, 3, 400])
@pytest.mark.parametrize("level", [1, 9])
def test_gzip_decode_into_larger_out_fills_its_start(level, extra):
    arr = np.arange(100, dtype="<i4")
    enc = numcodecs.GZip(level).encode(arr)
    want = np.full(100 + extra, -7, dtype="<i4")
    got = np.full(100 + extra, -7, dtype="<i4")
    assert numcodecs.GZip(level).decode(enc, want) is want
    assert nc.GZip(level).decode(enc, got) is got
    np.testing.assert_array_equal(got, want)
    np.testing.assert_array_equal(got[:100], arr)
    assert (got[100:] == -7).all()
    # ndpack's own bytes too, and a 2-d out.
    out2 = np.zeros((11, 10), dtype="<i4")
    nc.GZip(level).decode(nc.GZip(level).encode(arr), out2)
    np.testing.assert_array_equal(out2.reshape(-1)[:100], arr)


def test_gzip_decode_into_smaller_out_is_a_value_error():
    arr = np.arange(100, dtype="<i4")
    enc = numcodecs.GZip().encode(arr)
    with pytest.raises(ValueError):
        numcodecs.GZip().decode(enc, np.empty(99, dtype="<i4"))
    with pytest.raises(ValueError):
        nc.GZip().decode(enc, np.empty(99, dtype="<i4"))


def test_gzip_decode_into_larger_out_with_two_members():
    arr = np.arange(50, dtype="<u2")
    enc = numcodecs.GZip().encode(arr[:20]) + numcodecs.GZip().encode(arr[20:])
    out = np.zeros(60, dtype="<u2")
    nc.GZip().decode(enc, out)
    np.testing.assert_array_equal(out[:50], arr)
    assert not out[50:].any()


# --- Blosc typesize --------------------------------------------------------------------------


@pytest.mark.parametrize("typesize", [0, -1])
def test_blosc_typesize_message_is_numcodecs(typesize):
    want = str(_raised(lambda: numcodecs.Blosc(typesize=typesize)))
    got = _raised(lambda: Blosc(typesize=typesize))
    assert isinstance(got, ValueError) and str(got) == want
    ours, theirs = Blosc(), numcodecs.Blosc()
    ours._typesize = theirs._typesize = typesize
    want = str(_raised(lambda: theirs.encode(b"abcd")))
    got = _raised(lambda: ours.encode(b"abcd"))
    assert isinstance(got, ValueError) and str(got) == want


# --- Pickle opt-in ---------------------------------------------------------------------------


def test_pickle_decode_follows_numcodecs_opt_in(monkeypatch):
    arr = np.array(["a", 1, None], dtype=object)
    enc = numcodecs.Pickle().encode(arr)
    monkeypatch.setattr(_object_codecs, "ALLOW_UNSAFE_PICKLE_DECODE", False)
    monkeypatch.setattr(numcodecs.pickles, "ALLOW_UNSAFE_PICKLE_DECODE", False)
    with pytest.raises(numcodecs.errors.UnsafeDecodeError, match="ALLOW_UNSAFE_PICKLE_DECODE"):
        nc.Pickle().decode(enc)
    monkeypatch.setattr(numcodecs.pickles, "ALLOW_UNSAFE_PICKLE_DECODE", True)
    assert list(nc.Pickle().decode(enc)) == list(arr)
    monkeypatch.setattr(numcodecs.pickles, "ALLOW_UNSAFE_PICKLE_DECODE", False)
    monkeypatch.setattr(_object_codecs, "ALLOW_UNSAFE_PICKLE_DECODE", True)
    assert list(nc.Pickle().decode(enc)) == list(arr)
