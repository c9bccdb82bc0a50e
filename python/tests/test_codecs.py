"""ndpack.codecs against numcodecs, in both directions: ours encode -> numcodecs decode,
numcodecs encode -> ours decode, byte-identical filters and checksums, configs, reprs, errors.

Every compressor, checksum and filter id is here; a test of an id whose Rust codec is not in this
build fails (it is not skipped).
"""

import lzma
import pickle

import numcodecs
import numcodecs.checksum32
import numpy as np
import pytest
from conftest import ALL_DTYPES, layouts, sample
from hypothesis import given, settings
from hypothesis import strategies as st

import ndpack
from ndpack import codecs as nc

class lazy:
    """A codec built when a test first uses it, so that a codec missing from this build fails
    its own tests only. Behaves like the codec (attribute access is forwarded)."""

    def __init__(self, cls, *args, **kwargs):
        self.cls, self.args, self.kwargs = cls, args, kwargs
        self._codec = None

    def get(self):
        if self._codec is None:
            self._codec = self.cls(*self.args, **self.kwargs)
        return self._codec

    def __repr__(self):
        params = [repr(a) for a in self.args] + [f"{k}={v!r}" for k, v in self.kwargs.items()]
        return f"{self.cls.__name__}({', '.join(params)})"


def built(case):
    """The codecs of a test case, built."""
    return tuple(c.get() if isinstance(c, lazy) else c for c in case)


# (ndpack codec, numcodecs codec) pairs with the same configuration.
COMPRESSORS = [
    (lazy(nc.Zlib), lazy(numcodecs.Zlib)),
    (lazy(nc.Zlib, level=0), lazy(numcodecs.Zlib, level=0)),
    (lazy(nc.Zlib, level=9), lazy(numcodecs.Zlib, level=9)),
    (lazy(nc.Zlib, level=-1), lazy(numcodecs.Zlib, level=-1)),
    (lazy(nc.GZip), lazy(numcodecs.GZip)),
    (lazy(nc.GZip, level=0), lazy(numcodecs.GZip, level=0)),
    (lazy(nc.GZip, level=9), lazy(numcodecs.GZip, level=9)),
    (lazy(nc.BZ2), lazy(numcodecs.BZ2)),
    (lazy(nc.BZ2, level=9), lazy(numcodecs.BZ2, level=9)),
    (lazy(nc.LZMA), lazy(numcodecs.LZMA)),
    (lazy(nc.LZMA, preset=1), lazy(numcodecs.LZMA, preset=1)),
    (lazy(nc.LZMA, preset=6 | lzma.PRESET_EXTREME), lazy(numcodecs.LZMA, preset=6 | lzma.PRESET_EXTREME)),
    (lazy(nc.LZMA, check=lzma.CHECK_NONE), lazy(numcodecs.LZMA, check=lzma.CHECK_NONE)),
    (lazy(nc.LZMA, check=lzma.CHECK_CRC32), lazy(numcodecs.LZMA, check=lzma.CHECK_CRC32)),
    (lazy(nc.LZMA, check=lzma.CHECK_SHA256), lazy(numcodecs.LZMA, check=lzma.CHECK_SHA256)),
    (lazy(nc.LZMA, format=lzma.FORMAT_ALONE), lazy(numcodecs.LZMA, format=lzma.FORMAT_ALONE)),
    (
        lazy(nc.LZMA, format=lzma.FORMAT_RAW, filters=[{"id": lzma.FILTER_LZMA2, "preset": 1}]),
        lazy(numcodecs.LZMA, format=lzma.FORMAT_RAW, filters=[{"id": lzma.FILTER_LZMA2, "preset": 1}]),
    ),
    (
        # (numcodecs cannot decode filter chains in FORMAT_XZ: it passes them to the decompressor)
        lazy(
            nc.LZMA,
            format=lzma.FORMAT_RAW,
            filters=[
                {"id": lzma.FILTER_DELTA, "dist": 4},
                {"id": lzma.FILTER_LZMA2, "preset": 1},
            ],
        ),
        lazy(
            numcodecs.LZMA,
            format=lzma.FORMAT_RAW,
            filters=[
                {"id": lzma.FILTER_DELTA, "dist": 4},
                {"id": lzma.FILTER_LZMA2, "preset": 1},
            ],
        ),
    ),
    (lazy(nc.Zstd), lazy(numcodecs.Zstd)),
    (lazy(nc.Zstd, level=-3), lazy(numcodecs.Zstd, level=-3)),
    (lazy(nc.Zstd, level=1), lazy(numcodecs.Zstd, level=1)),
    (lazy(nc.Zstd, level=9, checksum=True), lazy(numcodecs.Zstd, level=9, checksum=True)),
    (lazy(nc.LZ4), lazy(numcodecs.LZ4)),
    (lazy(nc.LZ4, acceleration=10), lazy(numcodecs.LZ4, acceleration=10)),
]

CHECKSUMS = [
    (lazy(nc.CRC32), lazy(numcodecs.checksum32.CRC32)),
    (lazy(nc.CRC32, location="end"), lazy(numcodecs.checksum32.CRC32, location="end")),
    (lazy(nc.Adler32), lazy(numcodecs.checksum32.Adler32)),
    (lazy(nc.Adler32, location="end"), lazy(numcodecs.checksum32.Adler32, location="end")),
    (lazy(nc.CRC32C), lazy(numcodecs.checksum32.CRC32C)),
    (lazy(nc.CRC32C, location="start"), lazy(numcodecs.checksum32.CRC32C, location="start")),
    (lazy(nc.Fletcher32), lazy(numcodecs.Fletcher32)),
]

BYTE_CODECS = COMPRESSORS + CHECKSUMS


def _id(pair):
    return repr(pair[1])


def raw_bytes(arr: np.ndarray) -> bytes:
    """The bytes numcodecs compresses for ``arr``: memory order, contiguous copy if strided."""
    if arr.flags.c_contiguous or arr.flags.f_contiguous:
        return arr.tobytes(order="A")
    return np.ascontiguousarray(arr).tobytes()


def as_bytes(x) -> bytes:
    return numcodecs.compat.ensure_bytes(x) if not isinstance(x, bytes) else x


def check_numcodecs_decodes(ours, theirs, enc, expect: bytes):
    """numcodecs decodes ``enc`` (ndpack's encoding) to ``expect``. Where numcodecs cannot decode
    even its own encoding (empty input for LZ4, Zstd and Fletcher32 in numcodecs 0.16), the two
    encodings must be byte-identical instead, and ndpack must decode numcodecs' encoding."""
    try:
        got = theirs.decode(enc)
    except Exception:
        try:
            ref = theirs.encode(expect)
        except Exception:  # numcodecs cannot even encode it (Fletcher32 of empty input)
            assert as_bytes(ours.decode(enc)) == expect
            return
        try:
            theirs.decode(ref)
        except Exception:
            assert as_bytes(enc) == as_bytes(ref)
            assert as_bytes(ours.decode(ref)) == expect
            return
        raise
    assert as_bytes(got) == expect


def contiguous(arr: np.ndarray) -> np.ndarray:
    return arr if arr.flags.c_contiguous or arr.flags.f_contiguous else np.ascontiguousarray(arr)


# --- byte codecs: compressors and checksums --------------------------------------------------


@pytest.mark.parametrize("pair", BYTE_CODECS, ids=_id)
def test_byte_codecs_every_dtype_and_layout_both_ways(pair):
    ours, theirs = built(pair)
    for dtype in ALL_DTYPES:
        arr = sample(dtype, (7, 13), seed=len(dtype))
        for layout, a in layouts(arr):
            where = (dtype, layout)
            expect = raw_bytes(a)
            enc = ours.encode(a)
            # ours -> numcodecs
            assert as_bytes(theirs.decode(enc)) == expect, where
            # numcodecs -> ours
            enc_theirs = theirs.encode(contiguous(a))
            assert as_bytes(ours.decode(enc_theirs)) == expect, where
            assert as_bytes(ours.decode(enc)) == expect, where


@pytest.mark.parametrize("pair", BYTE_CODECS, ids=_id)
def test_byte_codecs_shapes(pair):
    ours, theirs = built(pair)
    for shape in [(0,), (1,), (3, 0, 2), (), (1001,), (17, 3, 5), (100_003,)]:
        arr = sample("<f8", shape, seed=3)
        enc = ours.encode(arr)
        check_numcodecs_decodes(ours, theirs, enc, arr.tobytes())
        assert as_bytes(ours.decode(enc)) == arr.tobytes(), shape
        if arr.size == 0 and isinstance(ours, nc.Fletcher32):
            continue  # numcodecs' Fletcher32 cannot encode empty input
        assert as_bytes(ours.decode(theirs.encode(arr))) == arr.tobytes(), shape


@pytest.mark.parametrize("pair", BYTE_CODECS, ids=_id)
def test_byte_codecs_input_kinds(pair):
    ours, theirs = built(pair)
    arr = sample("<i4", (2000,), seed=5)
    payload = arr.tobytes()
    inputs = [
        payload,
        bytearray(payload),
        memoryview(payload),
        memoryview(arr),
        arr,
        arr.view("u1"),
        ndpack.Buffer.from_bytes(payload),
        ndpack.Buffer.from_array_like(arr),
        ndpack.NDBuffer.from_ndarray_like(arr.reshape(40, 50)),
    ]
    expected_enc = ours.encode(payload)
    for x in inputs:
        enc = ours.encode(x)
        assert as_bytes(theirs.decode(enc)) == payload, type(x)
        assert as_bytes(enc) == as_bytes(expected_enc), type(x)
        # every input kind decodes too
        for y in (as_bytes(enc), bytearray(as_bytes(enc)), np.frombuffer(as_bytes(enc), "u1")):
            assert as_bytes(ours.decode(y)) == payload


@pytest.mark.parametrize("pair", COMPRESSORS, ids=_id)
def test_compressors_return_bytes_like_numcodecs(pair):
    ours, theirs = built(pair)
    data = sample("<f4", (500,)).tobytes()
    enc = ours.encode(data)
    assert type(enc) is type(theirs.encode(data)) is bytes
    assert type(ours.decode(enc)) is type(theirs.decode(enc)) is bytes


@pytest.mark.parametrize("pair", CHECKSUMS, ids=_id)
def test_checksums_byte_identical(pair):
    ours, theirs = built(pair)
    for dtype in ["|u1", "<f8", ">i2", "<M8[ns]", "|S5", "<U3"]:
        for shape in [(0,), (1,), (3,), (1000,), (7, 9)]:
            arr = sample(dtype, shape, seed=11)
            enc = ours.encode(arr)
            if arr.size == 0 and isinstance(ours, nc.Fletcher32):
                # numcodecs' Fletcher32 fails on empty input; ndpack round-trips it
                assert as_bytes(ours.decode(enc)) == b""
                continue
            ref = theirs.encode(arr)
            assert as_bytes(enc) == as_bytes(ref), (dtype, shape)
            assert type(enc) is type(ref)
            if isinstance(ref, np.ndarray):
                assert enc.dtype == ref.dtype and enc.shape == ref.shape
            assert as_bytes(ours.decode(ref)) == as_bytes(theirs.decode(ref)) == arr.tobytes()


@pytest.mark.parametrize("pair", CHECKSUMS, ids=_id)
def test_checksum_mismatch_is_value_and_runtime_error(pair):
    ours, theirs = built(pair)
    enc = bytearray(as_bytes(theirs.encode(np.arange(100, dtype="<i4"))))
    enc[len(enc) // 2] ^= 0x40
    with pytest.raises(RuntimeError):
        theirs.decode(bytes(enc))
    with pytest.raises(ValueError) as info:
        ours.decode(bytes(enc))
    assert isinstance(info.value, RuntimeError)
    assert isinstance(info.value, nc.ChecksumError)
    with pytest.raises(ValueError):
        ours.decode(b"\x01\x02")


@pytest.mark.parametrize("pair", BYTE_CODECS, ids=_id)
def test_decode_into_out(pair):
    ours, theirs = built(pair)
    arr = sample("<f8", (20, 30), seed=2)
    enc = theirs.encode(arr)
    for out in (np.empty_like(arr), np.empty(arr.nbytes, "u1"), np.empty_like(arr, order="F")):
        res = ours.decode(enc, out=out)
        assert res is out
        expect = theirs.decode(enc, out=np.empty_like(out))
        # numcodecs returns a flattened view of out; compare the memory
        assert out.tobytes(order="A") == np.asarray(expect).tobytes(order="A") == arr.tobytes()
    out = bytearray(arr.nbytes)
    res = ours.decode(enc, out=out)
    assert bytes(out) == arr.tobytes()
    assert np.shares_memory(res, np.frombuffer(out, "u1"))
    # A strided out is filled like numcodecs' ndarray_copy would.
    big = np.zeros((20, 60))
    res = ours.decode(enc, out=big[:, ::2])
    assert np.array_equal(big[:, ::2], arr) and np.all(big[:, 1::2] == 0)
    # Wrong size or read-only out: ValueError, out untouched. GZip, as numcodecs', fills the
    # start of a larger out.
    for bad in (np.zeros(arr.nbytes + 8, "u1"), np.zeros(arr.nbytes - 8, "u1")):
        if bad.nbytes > arr.nbytes and ours.codec_id == "gzip":
            expect = theirs.decode(enc, out=np.zeros_like(bad))
            assert ours.decode(enc, out=bad) is bad
            assert bad.tobytes() == np.asarray(expect).tobytes() == arr.tobytes() + bytes(8)
            continue
        with pytest.raises(ValueError):
            ours.decode(enc, out=bad)
    ro = np.zeros_like(arr)
    ro.flags.writeable = False
    with pytest.raises(ValueError):
        ours.decode(enc, out=ro)


@pytest.mark.parametrize("pair", COMPRESSORS, ids=_id)
def test_corrupt_and_truncated_input_is_value_error(pair):
    ours, theirs = built(pair)
    arr = sample("<i8", (5000,), seed=9)
    enc = as_bytes(theirs.encode(arr))
    bad_inputs = [enc[: len(enc) // 2], enc[: len(enc) - 1]]
    if theirs.get_config().get("format") != lzma.FORMAT_RAW:  # raw LZMA2 has no header to check
        bad_inputs += [b"\xff" * 64, bytes(range(1, 256)) * 4]
    for bad in bad_inputs:
        with pytest.raises(ValueError):
            ours.decode(bad)
    # the same bytes still decode after the failures
    assert ours.decode(enc) == arr.tobytes()


@pytest.mark.parametrize("name", ["Zlib", "GZip", "Zstd", "LZ4", "BZ2"])
@settings(max_examples=30, deadline=None)
@given(data=st.binary(max_size=3000), level=st.integers(1, 9))
def test_hypothesis_round_trips_both_ways(name, data, level):
    if name == "LZ4":
        ours, theirs = nc.LZ4(level), numcodecs.LZ4(level)
    else:
        ours, theirs = getattr(nc, name)(level), getattr(numcodecs, name)(level)
    check_numcodecs_decodes(ours, theirs, ours.encode(data), data)
    assert ours.decode(theirs.encode(data)) == data
    assert ours.decode(ours.encode(data)) == data


@pytest.mark.parametrize("level", [-3, 0, 1, 3, 9, 19])
@pytest.mark.parametrize("checksum", [False, True])
def test_zstd_large_inputs_byte_identical(level, checksum):
    # Several zstd blocks (128 KiB each) of float and integer data: libzstd's block splitting
    # must match numcodecs' build, not only the single-block frames of the golden tests.
    rng = np.random.default_rng(level + 100)
    arrays = [
        np.sin(np.linspace(0, 300, 400_000)).astype("<f4"),
        rng.standard_normal(200_000),
        np.arange(300_000, dtype="<i8"),
    ]
    for arr in arrays:
        ours = nc.Zstd(level, checksum=checksum).encode(arr)
        assert ours == numcodecs.Zstd(level, checksum=checksum).encode(arr)
        assert nc.Zstd().decode(ours) == arr.tobytes()


@pytest.mark.parametrize("level", [-2, 0, 1, 3, 5])
def test_zstd_large_inputs_are_numcodecs_bytes_for_any_thread_count(level):
    # Inputs of 8 MiB and more (many blocks, several windows at the low levels): one
    # single-threaded frame, numcodecs' exact bytes, whatever ndpack's thread count.
    rng = np.random.default_rng(level + 7)
    n = 9 << 20
    arrays = [
        np.sin(np.linspace(0, 3000, n // 4)).astype("<f4"),
        (rng.standard_normal(n // 8) * 100).astype("<f8"),
        np.arange(n // 8, dtype="<i8"),
    ]
    before = ndpack.get_nthreads()
    try:
        for arr in arrays:
            theirs = numcodecs.Zstd(level, checksum=True).encode(arr)
            for threads in (1, 2, 3):
                ndpack.set_nthreads(threads)
                ours = nc.Zstd(level, checksum=True).encode(arr)
                assert ours == theirs, (level, arr.dtype, threads, len(ours), len(theirs))
            assert nc.Zstd().decode(theirs) == arr.tobytes()
    finally:
        ndpack.set_nthreads(before)


@pytest.mark.parametrize("level", [1, 2, 6])
def test_zlib_sizes_match_c_zlib(level):
    # zlib-rs writes other bytes than C zlib; its streams must not be markedly larger (its own
    # level 1 expanded float data, which is why level 1 maps to its level 2).
    rng = np.random.default_rng(level)
    for arr in [
        np.sin(np.linspace(0, 300, 400_000)).astype("<f4"),
        rng.standard_normal(200_000).astype("<f4"),
        np.arange(300_000, dtype="<i8"),
    ]:
        ours = nc.Zlib(level).encode(arr)
        theirs = numcodecs.Zlib(level).encode(arr)
        assert len(ours) <= 1.02 * len(theirs), (arr.dtype, len(ours), len(theirs))
        assert numcodecs.Zlib().decode(ours) == arr.tobytes()


def _large_samples():
    # Sample-like arrays of several MB: over the 1 MiB segment size, and (the noisy ones) over
    # 1 MiB compressed, where ndpack decodes in parallel.
    rng = np.random.default_rng(7)
    n = 1_000_000
    return [
        np.sin(np.linspace(0, 3000, n)).astype("<f4"),
        rng.standard_normal(n).astype("<f4"),
        rng.standard_normal(n // 2),
        np.arange(n, dtype="<i8"),
        rng.integers(-1000, 1000, n, dtype="<i4"),
        (rng.standard_normal(2 * n) * 300).astype("<i2"),
        rng.integers(0, 255, 3 * n, dtype="|u1"),
    ]


@pytest.mark.parametrize("name", ["Zlib", "GZip"])
@pytest.mark.parametrize("level", [0, 1, 6])
def test_multi_segment_streams_decode_everywhere(name, level):
    import gzip
    import zlib

    ours_codec, theirs_codec = getattr(nc, name)(level), getattr(numcodecs, name)(level)
    for arr in _large_samples():
        raw = arr.tobytes()
        ours = bytes(ours_codec.encode(arr))
        # Independent 1 MiB segments, each but the last ended by a full flush.
        assert ours.count(b"\x00\x00\xff\xff") >= len(raw) // (1 << 20), arr.dtype
        # numcodecs and Python's own modules read it, in one call and streaming.
        assert bytes(theirs_codec.decode(ours)) == raw
        if name == "Zlib":
            assert zlib.decompress(ours) == raw
            d = zlib.decompressobj()
            assert b"".join(d.decompress(ours[i : i + 65536]) for i in range(0, len(ours), 65536)) + d.flush() == raw
            assert d.eof and not d.unused_data
        else:
            assert gzip.decompress(ours) == raw
            d = zlib.decompressobj(31)
            assert d.decompress(ours) + d.flush() == raw and d.eof
        # ndpack reads its own and numcodecs' large streams, into new and into given memory.
        theirs = theirs_codec.encode(arr)
        for enc in (ours, theirs):
            assert bytes(ours_codec.decode(enc)) == raw
            out = np.empty_like(arr)
            ours_codec.decode(enc, out=out)
            assert out.tobytes() == raw


@pytest.mark.parametrize("name", ["Zlib", "GZip"])
def test_parallel_decode_around_segment_multiples(name):
    # Incompressible bytes, so that every size over one segment is over 1 MiB compressed too and
    # decoded in parallel (straight into place for ndpack's own streams), with 1 and 2 threads.
    seg = 1 << 20
    rng = np.random.default_rng(11)
    ours_codec, theirs_codec = getattr(nc, name)(1), getattr(numcodecs, name)(1)
    before = ndpack.get_nthreads()
    try:
        for n in (seg - 1, seg, seg + 1, 2 * seg, 5 * seg + 7):
            arr = rng.integers(0, 256, n, dtype="|u1")
            raw = arr.tobytes()
            ours = bytes(ours_codec.encode(arr))
            theirs = bytes(theirs_codec.encode(arr))
            assert bytes(theirs_codec.decode(ours)) == raw
            for threads in (1, 2):
                ndpack.set_nthreads(threads)
                for enc in (ours, theirs):
                    assert bytes(ours_codec.decode(enc)) == raw
                    out = np.empty_like(arr)
                    ours_codec.decode(enc, out=out)
                    assert out.tobytes() == raw
                    with pytest.raises(ValueError):
                        ours_codec.decode(enc, out=np.empty(n - 1, dtype="|u1"))
                    larger = np.ones(n + 1, dtype="|u1")
                    if name == "GZip":  # numcodecs' GZip fills the start of a larger out
                        ours_codec.decode(enc, out=larger)
                        assert larger.tobytes() == raw + b"\x01"
                    else:
                        with pytest.raises(ValueError):
                            ours_codec.decode(enc, out=larger)
                    with pytest.raises(Exception):
                        ours_codec.decode(enc[: len(enc) - 9])
    finally:
        ndpack.set_nthreads(before)


@pytest.mark.parametrize("name", ["Zlib", "GZip"])
def test_damaged_multi_segment_streams_raise(name):
    import zlib

    codec = getattr(nc, name)(1)
    arr = np.random.default_rng(3).standard_normal(600_000)
    ours = bytearray(codec.encode(arr))
    for cut in (len(ours) // 2, len(ours) - 3):
        with pytest.raises(Exception):
            codec.decode(bytes(ours[:cut]))
    # A flipped bit in the checksum, or in the data: an error, as from zlib itself.
    for at in (len(ours) - 6, len(ours) // 3):
        bad = bytearray(ours)
        bad[at] ^= 0x10
        with pytest.raises(Exception):
            codec.decode(bytes(bad))
        with pytest.raises(Exception):
            zlib.decompress(bytes(bad), 15 if name == "Zlib" else 31)


# --- filters ---------------------------------------------------------------------------------

INT_DTYPES = ["|i1", "|u1", "<i2", "<u2", "<i4", "<u4", "<i8", "<u8", ">i2", ">u4", ">i8"]
FLOAT_DTYPES = ["<f2", "<f4", "<f8", ">f4", ">f8"]


def _filter_cases():
    cases = []
    for dt in INT_DTYPES + FLOAT_DTYPES:
        cases.append((lazy(nc.Delta, dtype=dt), lazy(numcodecs.Delta, dtype=dt), dt))
    cases += [
        (lazy(nc.Delta, "<i8", astype="<i2"), lazy(numcodecs.Delta, "<i8", astype="<i2"), "<i8"),
        (lazy(nc.Delta, "<u2", astype="<i4"), lazy(numcodecs.Delta, "<u2", astype="<i4"), "<u2"),
        (lazy(nc.Delta, "<f8", astype="<f4"), lazy(numcodecs.Delta, "<f8", astype="<f4"), "<f8"),
    ]
    for dt, astype in [("<f8", "<u1"), ("<f8", "<i4"), ("<f4", "<u2"), (">f8", ">i8"), ("<f8", "<f8")]:
        for offset, scale in [(0, 1), (1000, 10), (-3.5, 0.1), (0.25, 4)]:
            cases.append(
                (
                    lazy(nc.FixedScaleOffset, offset=offset, scale=scale, dtype=dt, astype=astype),
                    lazy(numcodecs.FixedScaleOffset, offset=offset, scale=scale, dtype=dt, astype=astype),
                    dt,
                )
            )
    for dt in ["<f2", "<f4", "<f8", ">f8"]:
        for digits in (0, 1, 3, 6):
            cases.append((lazy(nc.Quantize, digits, dt), lazy(numcodecs.Quantize, digits, dt), dt))
    cases.append((lazy(nc.Quantize, 2, "<f8", astype="<f4"), lazy(numcodecs.Quantize, 2, "<f8", astype="<f4"), "<f8"))
    cases.append((lazy(nc.Quantize, 2, "<f4", astype="<f2"), lazy(numcodecs.Quantize, 2, "<f4", astype="<f2"), "<f4"))
    for dt, bits in [("<f2", 10), ("<f4", 23), ("<f8", 52)]:
        for keep in sorted({0, 1, 3, 7, bits // 2, bits - 1, bits}):
            cases.append((lazy(nc.BitRound, keep), lazy(numcodecs.BitRound, keep), dt))
    for enc_dt, dec_dt in [
        ("<f4", "<f8"),
        ("<f2", "<f4"),
        ("<i2", "<i8"),
        ("<u1", "<i4"),
        ("<i4", "<f8"),
        ("<f8", "<i4"),
        ("<i8", "<u2"),
        (">f4", "<f8"),
        ("<u2", ">u2"),
    ]:
        cases.append((lazy(nc.AsType, enc_dt, dec_dt), lazy(numcodecs.AsType, enc_dt, dec_dt), dec_dt))
    for size in (1, 2, 3, 4, 8, 16):
        for dt in ("<f8", "<i2", "|u1", "<c16"):
            cases.append((lazy(nc.Shuffle, size), lazy(numcodecs.Shuffle, size), dt))
    cases.append((lazy(nc.PackBits), lazy(numcodecs.PackBits), "|b1"))
    return cases


FILTERS = _filter_cases()


def filter_input(dtype: str, shape, seed: int) -> np.ndarray:
    dt = np.dtype(dtype)
    rng = np.random.default_rng(seed)
    n = int(np.prod(shape))
    if dt.kind == "f":
        vals = rng.standard_normal(n) * 50
        # rounding edge cases: exact halves, negative halves, zeros, huge, tiny
        edge = np.array([0.5, 1.5, 2.5, -0.5, -1.5, -2.5, 0.0, -0.0, 1e-30, 123.45, -7.25, 0.125])
        vals[: min(n, edge.size)] = edge[: min(n, edge.size)]
        return vals.astype(dt).reshape(shape)
    return sample(dtype, shape, seed)


def _fid(case):
    return repr(case[1]) + "-" + case[2]


def assert_same_array(a, b, where=None):
    a = np.asarray(a)
    b = np.asarray(b)
    assert a.dtype == b.dtype, (a.dtype, b.dtype, where)
    assert a.shape == b.shape, (a.shape, b.shape, where)
    assert np.ascontiguousarray(a).tobytes() == np.ascontiguousarray(b).tobytes(), where


@pytest.mark.parametrize("case", FILTERS, ids=_fid)
def test_filters_match_numcodecs_both_ways(case):
    ours, theirs, dtype = built(case)
    for shape in [(0,), (1,), (37,), (6, 7), (2, 3, 5)]:
        check_filter(ours, theirs, dtype, shape)


def check_filter(ours, theirs, dtype, shape):
    if isinstance(theirs, numcodecs.FixedScaleOffset) and np.dtype(theirs.astype).kind in "iu":
        # keep values inside the target integer range, as numcodecs users must
        info = np.iinfo(theirs.astype)
        vals = filter_input(dtype, shape, seed=1).astype("f8")
        lo = (info.min / theirs.scale) + theirs.offset
        hi = (info.max / theirs.scale) + theirs.offset
        arr = np.clip(vals, min(lo, hi) + 1, max(lo, hi) - 1).astype(dtype)
    elif isinstance(theirs, numcodecs.AsType) and np.dtype(theirs.encode_dtype).kind in "iu":
        arr = np.clip(filter_input(dtype, shape, seed=1), 0, 100).astype(dtype)
    else:
        arr = filter_input(dtype, shape, seed=1)
    for layout, a in layouts(arr):
        try:
            ref = theirs.encode(contiguous(a))
        except Exception as e:
            # numcodecs refuses this input (e.g. Shuffle of a size that is not a multiple of
            # elementsize) or fails on it (Delta of an empty array): ndpack refuses it the same
            # way or round-trips it exactly.
            try:
                enc = ours.encode(a)
            except type(e):
                continue
            dec = np.ascontiguousarray(ours.decode(enc))
            assert dec.view(np.uint8).tobytes() == raw_bytes(a), (shape, layout, e)
            continue
        enc = ours.encode(a)
        assert_same_array(enc, ref, (shape, layout))
        # numcodecs -> ours, ours -> numcodecs
        assert_same_array(ours.decode(ref), theirs.decode(ref), (shape, layout))
        assert_same_array(theirs.decode(enc), ours.decode(enc), (shape, layout))


@pytest.mark.parametrize("case", [c for c in FILTERS if c[0].cls is not nc.BitRound], ids=_fid)
def test_filters_decode_from_bytes_and_out(case):
    ours, theirs, dtype = built(case)
    # 96 items: a whole number of elements for every Shuffle elementsize here
    arr = np.clip(filter_input(dtype, (4, 24), seed=4), 0, 100).astype(dtype)
    ref = theirs.encode(arr)
    expect = theirs.decode(ref)
    # numcodecs filters view raw bytes with their own dtype
    assert_same_array(ours.decode(ref.tobytes()), theirs.decode(ref.tobytes()))
    out = np.empty_like(np.asarray(expect))
    res = ours.decode(ref, out=out)
    assert res is out
    assert_same_array(out, expect)


def test_packbits_every_length():
    ours, theirs = nc.PackBits(), numcodecs.PackBits()
    rng = np.random.default_rng(0)
    for n in range(0, 35):
        arr = rng.random(n) < 0.5
        ref = theirs.encode(arr)
        assert_same_array(ours.encode(arr), ref)
        assert_same_array(ours.decode(ref), theirs.decode(ref))
    # Large enough for the blocks on the pool, decoded straight into a new bool array.
    big = rng.random(3_000_003) < 0.3
    ref = theirs.encode(big)
    assert_same_array(ours.decode(ref), theirs.decode(ref))
    with pytest.raises(ValueError):
        ours.decode(np.array([9, 0], "u1"))  # more than 7 padding bits
    with pytest.raises(ValueError):
        ours.decode(np.array([3], "u1"))  # padding bits but no data byte
    with pytest.raises(ValueError):
        ours.decode(b"")  # no header byte


CATEGORIES = ["foo", "bar", "baz", "qux\u00e9"]


@pytest.mark.parametrize("astype", ["|u1", "<u2", "<u4"])
@pytest.mark.parametrize("dtype", ["<U4", "<U6", "|O"])
def test_categorize_matches_numcodecs(dtype, astype):
    ours = nc.Categorize(CATEGORIES, dtype, astype=astype)
    theirs = numcodecs.Categorize(CATEGORIES, dtype, astype=astype)
    values = np.array(["foo", "bar", "baz", "qux\u00e9", "other", "", "foo"] * 5)
    arr = values.astype(dtype).reshape(5, 7)
    ref = theirs.encode(arr)
    assert_same_array(ours.encode(arr), ref)
    dec_ref = theirs.decode(ref)
    dec = ours.decode(ref)
    assert dec.dtype == dec_ref.dtype and dec.shape == dec_ref.shape
    assert list(dec) == list(dec_ref)
    assert ours.get_config() == theirs.get_config()
    assert repr(ours) == repr(theirs)


def test_bitround_returns_numcodecs_types():
    arr = filter_input("<f4", (10, 10), seed=0)
    for keep in (3, 23):
        ours, theirs = nc.BitRound(keep), numcodecs.BitRound(keep)
        assert_same_array(ours.encode(arr), theirs.encode(arr))
    with pytest.raises(ValueError):
        nc.BitRound(24).encode(arr)
    with pytest.raises(TypeError):
        nc.BitRound(3).encode(np.arange(4))
    with pytest.raises(ValueError):
        nc.BitRound(-1)


def test_filters_reject_what_numcodecs_rejects():
    with pytest.raises(ValueError):
        nc.Quantize(2, "<i4")
    with pytest.raises(ValueError):
        nc.Delta(object)
    with pytest.raises(ValueError):
        nc.FixedScaleOffset(0, 1, "<f8", astype=object)
    with pytest.raises(TypeError):
        nc.Categorize(["a"], "<i4")
    with pytest.raises(ValueError):
        nc.CRC32(location="middle")
    with pytest.raises(TypeError):
        nc.Zlib().encode(np.array(["a", None], dtype=object))


# --- configs, equality, repr, registry -------------------------------------------------------

ALL_PAIRS = BYTE_CODECS + [(o, t) for o, t, _ in FILTERS] + [
    (lazy(nc.Categorize, CATEGORIES, "<U4"), lazy(numcodecs.Categorize, CATEGORIES, "<U4")),
    (
        lazy(nc.Categorize, ["a", "b"], object, astype="u2"),
        lazy(numcodecs.Categorize, ["a", "b"], object, astype="u2"),
    ),
]


@pytest.mark.parametrize("pair", ALL_PAIRS, ids=_id)
def test_configs_equal_numcodecs_and_round_trip(pair):
    ours, theirs = built(pair)
    assert ours.get_config() == theirs.get_config()
    assert ours.codec_id == theirs.codec_id
    assert repr(ours) == repr(theirs)
    assert ours == theirs and theirs == ours
    again = nc.get_codec(ours.get_config())
    assert type(again) is type(ours) and again == ours
    assert type(ours).from_config(theirs.get_config()) == ours
    assert numcodecs.get_codec(ours.get_config()) == theirs
    assert pickle.loads(pickle.dumps(ours)) == ours
    assert isinstance(ours, numcodecs.abc.Codec)


def test_changing_a_parameter_rebuilds_the_codec():
    c = nc.Zlib(level=1)
    data = bytes(range(256)) * 200
    c.level = 9
    assert c.get_config() == {"id": "zlib", "level": 9}
    assert c.encode(data) == nc.Zlib(level=9).encode(data)
    assert c.encode(data) != nc.Zlib(level=1).encode(data)


def test_unknown_id_is_numcodecs_error_type():
    with pytest.raises(ValueError) as ours:
        nc.get_codec({"id": "no-such-codec"})
    with pytest.raises(ValueError) as theirs:
        numcodecs.get_codec({"id": "no-such-codec"})
    assert isinstance(ours.value, KeyError)
    assert "no-such-codec" in str(ours.value) and "no-such-codec" in str(theirs.value)
    with pytest.raises(KeyError):
        nc.get_codec({"level": 1})


def test_bad_config_names_the_key():
    with pytest.raises(ValueError, match="lvl"):
        nc.get_codec({"id": "zlib", "lvl": 3})
    with pytest.raises(TypeError, match="lvl"):  # what numcodecs raises
        nc.get_codec({"id": "zlib", "lvl": 3})
    with pytest.raises(ValueError, match="level"):
        nc.Zlib(level=42)
    with pytest.raises(ValueError, match="level"):
        nc.Zlib(level="high")
    with pytest.raises(ValueError, match="level"):
        nc.Zstd(level="x")
    with pytest.raises(ValueError, match="acceleration"):
        nc.LZ4(acceleration="x")
    with pytest.raises(ValueError, match="format"):
        nc.LZMA(format=77)
    with pytest.raises(ValueError, match="keepbits"):
        nc.BitRound(keepbits="x")


def test_register_codec_and_get_codec():
    class MyZlib(nc.Zlib):
        codec_id = "my-zlib"

        def get_config(self):
            return {"id": self.codec_id, "level": self.level}

        def _rust_config(self):
            return {"id": "zlib", "level": self.level}

    nc.register_codec(MyZlib)
    try:
        c = nc.get_codec({"id": "my-zlib", "level": 3})
        assert isinstance(c, MyZlib)
        assert numcodecs.Zlib().decode(c.encode(b"abc" * 10)) == b"abc" * 10
    finally:
        del nc.codec_registry["my-zlib"]


@pytest.fixture
def numcodecs_registry():
    saved = dict(numcodecs.registry.codec_registry)
    yield
    numcodecs.registry.codec_registry.clear()
    numcodecs.registry.codec_registry.update(saved)


def test_register_numcodecs(numcodecs_registry):
    ids = ndpack.register_numcodecs()
    assert {"zlib", "gzip", "bz2", "lzma", "zstd", "lz4", "delta", "shuffle"} <= set(ids)
    for codec_id in ids:
        assert numcodecs.registry.codec_registry[codec_id] is nc.codec_registry[codec_id]
    c = numcodecs.get_codec({"id": "zlib", "level": 4})
    assert isinstance(c, nc.Zlib) and c.level == 4


def test_codec_list_is_complete():
    expected = {
        "zlib", "gzip", "bz2", "lzma", "zstd", "lz4", "crc32", "adler32", "crc32c",
        "fletcher32", "delta", "fixedscaleoffset", "quantize", "bitround", "packbits",
        "categorize", "astype", "shuffle",
    }  # fmt: skip
    assert expected <= set(nc.codec_registry)
    for codec_id in expected:
        cls = nc.codec_registry[codec_id]
        assert cls.__name__ in nc.__all__
        config = {"id": codec_id, **_required_args(codec_id)}
        assert nc.get_codec(config) == numcodecs.get_codec(config)
    # every class is backed by a Rust codec of the same id
    assert expected <= set(ndpack._ndpack.codec_ids())


def _required_args(codec_id):
    return {
        "delta": {"dtype": "<i4"},
        "fixedscaleoffset": {"offset": 0, "scale": 1, "dtype": "<f8"},
        "quantize": {"digits": 1, "dtype": "<f8"},
        "bitround": {"keepbits": 3},
        "categorize": {"labels": ["a"], "dtype": "<U1"},
        "astype": {"encode_dtype": "<f4", "decode_dtype": "<f8"},
    }.get(codec_id, {})


def test_one_codec_shared_by_threads():
    # The GIL is released around the Rust work: two threads share one codec object.
    import threading

    data = sample("<f8", (200_000,), seed=1).tobytes()
    codec = nc.Zlib(level=6)
    results = [None, None]

    def work(i):
        results[i] = codec.decode(codec.encode(data))

    threads = [threading.Thread(target=work, args=(i,)) for i in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert results == [data, data]


def test_generic_binding_of_the_rust_registry():
    import json

    from ndpack import _ndpack

    codec = _ndpack.Codec('{"id": "zlib", "level": 4}')
    assert codec.codec_id == "zlib"
    assert json.loads(codec.config()) == {"id": "zlib", "level": 4}
    data = bytes(range(100)) * 100
    enc, dtype, shape, order = codec.encode(data)
    assert type(enc) is bytes and dtype == "|u1" and shape == (len(enc),) and order == "C"
    buf, _, _, _ = codec.decode(enc, result="buffer")
    assert isinstance(buf, _ndpack.Buffer) and buf.to_bytes() == data
    arr, _, _, _ = codec.decode(enc, result="array")
    assert arr.dtype == np.uint8 and arr.flags.writeable and arr.tobytes() == data
    out = bytearray(len(data))
    assert codec.decode_into(enc, out) is None and bytes(out) == data
    with pytest.raises(ValueError, match="result"):
        codec.decode(enc, result="list")
    with pytest.raises(ValueError, match="JSON"):
        _ndpack.Codec("{not json")
    with pytest.raises(KeyError):
        _ndpack.Codec('{"id": "nope"}')
    with pytest.raises(ValueError, match="hold"):
        codec.encode(data, dtype="<f8", shape=[3])
    with pytest.raises(TypeError):
        codec.encode(12345)
    assert "zlib" in _ndpack.codec_ids()
