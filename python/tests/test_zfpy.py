"""ndpack.zfpy against zfpy 1.0.1 and numcodecs' ZFPY: byte-identical streams and bit-identical
decoded arrays in both directions, fixtures, layouts, errors."""

import json
import subprocess
import sys

import numpy as np
import pytest

import ndpack
import ndpack.zfpy as nz

zfpy = pytest.importorskip("zfpy")
from numcodecs.zfpy import ZFPY as NumcodecsZFPY  # noqa: E402

DTYPES = ["f4", "f8", "i4", "i8"]
HEADER_BITS = {"f4": 9, "f8": 12, "i4": 1, "i8": 1}


def rate_ok(dtype, ndim, rate):
    """zfpy writes past its buffer when a block gets fewer bits than its header: skip those."""
    return np.floor(4**ndim * rate + 0.5) >= HEADER_BITS[np.dtype(dtype).str[1:]]


def make(rng, dtype, shape, kind):
    dtype = np.dtype(dtype)
    if dtype.kind == "i":
        if kind == "full":
            info = np.iinfo(dtype)
            return rng.integers(info.min, info.max, shape, dtype=dtype, endpoint=True)
        return rng.integers(-1000, 1000, shape).astype(dtype)
    n = int(np.prod(shape))
    if kind == "smooth":
        grids = np.meshgrid(*[np.linspace(0, 3, s) for s in shape], indexing="ij")
        return sum(np.sin((i + 2) * g) for i, g in enumerate(grids)).astype(dtype)
    if kind == "noise":
        return rng.standard_normal(shape).astype(dtype)
    if kind == "special":
        a = rng.standard_normal(n)
        pool = np.array([np.nan, np.inf, -np.inf, -0.0, 0.0, 1e-310, 5e-324, 1e-40, 3e-39, 1e-31])
        mask = rng.random(n) < 0.3
        a[mask] = rng.choice(pool, mask.sum())
        return a.reshape(shape).astype(dtype)
    if kind == "tiny":  # libzfp's overflowing scale factor (blocks below 2^-98 / 2^-962)
        return (rng.standard_normal(shape) * (1e-31 if dtype.itemsize == 4 else 1e-295)).astype(dtype)
    raise AssertionError(kind)


def random_cases(seed, count):
    rng = np.random.default_rng(seed)
    out = []
    while len(out) < count:
        ndim = int(rng.integers(1, 5))
        shape = tuple(int(s) for s in rng.choice([1, 2, 3, 4, 5, 6, 7, 9, 13, 17], ndim))
        if np.prod(shape) > 6000:
            continue
        dtype = DTYPES[int(rng.integers(0, 4))]
        kinds = ["small", "full"] if dtype[0] == "i" else ["smooth", "noise", "special", "tiny"]
        kind = kinds[int(rng.integers(0, len(kinds)))]
        m = int(rng.integers(0, 4))
        if m == 0:
            kw = {}
        elif m == 1:
            kw = {"tolerance": float(rng.choice([0.0, 1e-6, 1e-3, 0.1, 1.0, 1e3, 1e-300]))}
        elif m == 2:
            kw = {"rate": float(rng.choice([0.5, 1.0, 2.5, 3.5, 8.0, 12.0, 16.0, 31.5, 64.0]))}
            if not rate_ok(dtype, ndim, kw["rate"]):
                continue
        else:
            kw = {"precision": int(rng.choice([0, 1, 5, 16, 31, 32, 40, 64, 100]))}
        out.append((dtype, shape, kind, kw, int(rng.integers(0, 2**31))))
    return out


@pytest.mark.parametrize("dtype,shape,kind,kw,seed", random_cases(2026, 400))
def test_streams_and_values_match_zfpy(dtype, shape, kind, kw, seed):
    a = make(np.random.default_rng(seed), dtype, shape, kind)
    ref = zfpy.compress_numpy(a, **kw)
    ours = nz.compress_numpy(a, **kw)
    assert ours == ref
    # zfpy's stream through ndpack, and ndpack's through zfpy
    d_ours = nz.decompress_numpy(ref)
    d_ref = zfpy.decompress_numpy(ours)
    assert d_ours.dtype == d_ref.dtype == a.dtype
    assert d_ours.shape == d_ref.shape == a.shape
    assert d_ours.tobytes() == d_ref.tobytes()
    if not kw:
        assert d_ours.tobytes() == a.tobytes()
    # headerless streams and _decompress, both ways
    bare = nz.compress_numpy(a, write_header=False, **kw)
    assert bare == zfpy.compress_numpy(a, write_header=False, **kw)
    ztype = nz.dtype_to_ztype(a.dtype)
    got = nz._decompress(bare, ztype, list(a.shape), **kw)
    assert got.tobytes() == zfpy._decompress(bare, ztype, list(a.shape), **kw).tobytes()
    assert got.tobytes() == d_ref.tobytes()


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("kw", [{}, {"tolerance": 1e-3}, {"rate": 8}, {"precision": 16}])
def test_layouts_give_the_contiguous_stream(dtype, kw):
    a = make(np.random.default_rng(1), dtype, (9, 14, 11), "noise" if dtype[0] == "f" else "small")
    ref = zfpy.compress_numpy(np.ascontiguousarray(a), **kw)
    for view in [np.asfortranarray(a), a[::-1, :, ::-1], a[::2, 1:, ::3], a.T, a[:, 3, :], a[..., ::-2]]:
        want = zfpy.compress_numpy(view, **kw)
        assert nz.compress_numpy(view, **kw) == want
        assert nz.compress_numpy(np.ascontiguousarray(view), **kw) == want
    assert nz.compress_numpy(np.asfortranarray(a), **kw) == ref


def test_spec_worked_examples():
    a = np.array([1, 2, 3, 4], dtype=np.float32)
    assert nz.compress_numpy(a, precision=16).hex() == "7a667005320000000000f08005310b000000000000000000"
    assert nz.compress_numpy(a, rate=8).hex() == "7a667005320000000000f00105310b00"
    assert nz.compress_numpy(a).hex() == "7a66700532000000000000880912bc01"


@pytest.mark.parametrize("kw", [{"tolerance": 0.0}, {"precision": 0}, {"precision": 64}, {"rate": 70.0},
                                {"tolerance": 1e300}, {"rate": 600.0}, {"rate": 1100.0},
                                {"rate": 2047.9}])
def test_long_mode_headers_match(kw):
    a = make(np.random.default_rng(3), "f8", (5, 6), "noise")
    ref = zfpy.compress_numpy(a, **kw)
    assert nz.compress_numpy(a, **kw) == ref
    assert nz.decompress_numpy(ref).tobytes() == zfpy.decompress_numpy(ref).tobytes()


def test_rates_the_header_cannot_record_are_errors():
    # 2-D rate 2100 is 33600 bits a block, over the header's 15-bit field: zfpy writes a stream
    # that decodes to other values; ndpack refuses.
    a = make(np.random.default_rng(3), "f8", (5, 6), "noise")
    with pytest.raises(ValueError, match="header"):
        nz.compress_numpy(a, rate=2100.0)


def test_large_field_uses_threads_and_matches():
    a = make(np.random.default_rng(5), "f4", (64, 80, 96), "smooth")
    before = ndpack.get_nthreads()
    try:
        for kw in [{}, {"tolerance": 1e-4}, {"rate": 6.5}, {"precision": 20}]:
            ref = zfpy.compress_numpy(a, **kw)
            for threads in (1, 2, 3):
                ndpack.set_nthreads(threads)
                assert nz.compress_numpy(a, **kw) == ref
                assert nz.decompress_numpy(ref).tobytes() == zfpy.decompress_numpy(ref).tobytes()
    finally:
        ndpack.set_nthreads(before)


@pytest.mark.parametrize("dtype,shape,kind", [("f8", (40, 48, 56), "noise"),
                                               ("f4", (28, 32, 36, 12), "smooth"),
                                               ("i8", (300, 301), "small")])
def test_variable_length_streams_decode_in_parallel_like_zfpy(dtype, shape, kind):
    """Streams of many blocks in tolerance, precision and reversible mode are decoded in
    parallel by speculative splitting; the values must still be zfpy's, and truncated streams
    must still be errors, with any number of threads."""
    a = make(np.random.default_rng(11), dtype, shape, kind)
    before = ndpack.get_nthreads()
    try:
        ints = np.dtype(dtype).kind == "i"
        for kw in [{}, {"precision": 64}] if ints else [{}, {"tolerance": 1e-4}, {"precision": 24}]:
            ref = zfpy.compress_numpy(a, **kw)
            assert len(ref) > (1 << 17)
            want = zfpy.decompress_numpy(ref).tobytes()
            bare = zfpy.compress_numpy(a, write_header=False, **kw)
            ztype = nz.dtype_to_ztype(a.dtype)
            for threads in (1, 2, 5):
                ndpack.set_nthreads(threads)
                assert nz.decompress_numpy(ref).tobytes() == want
                out = np.empty_like(a)
                nz._decompress(bare, ztype, a.shape, out=out, **kw)
                assert out.tobytes() == want
                with pytest.raises(ValueError):
                    nz.decompress_numpy(ref[: len(ref) - 40])
    finally:
        ndpack.set_nthreads(before)


def test_decompress_into_out():
    a = make(np.random.default_rng(7), "f8", (6, 7), "noise")
    bare = zfpy.compress_numpy(a, rate=12, write_header=False)
    out = np.zeros((6, 7))
    r = nz._decompress(bare, nz.type_double, [6, 7], out=out, rate=12)
    assert r is out
    assert out.tobytes() == zfpy._decompress(bare, zfpy.type_double, [6, 7], rate=12).tobytes()
    raw = np.zeros(42)
    nz._decompress(bare, nz.type_double, [6, 7], out=raw.data, rate=12)
    assert raw.tobytes() == out.tobytes()
    with pytest.raises(ValueError, match="shape"):
        nz._decompress(bare, nz.type_double, [6, 7], out=np.zeros((6, 6)), rate=12)
    with pytest.raises(ValueError, match="dtype"):
        nz._decompress(bare, nz.type_double, [6, 7], out=np.zeros((6, 7), np.float32), rate=12)
    with pytest.raises(ValueError):
        nz._decompress(bare, nz.type_double, [6, 7], out=np.zeros(40).data, rate=12)


def test_decompress_clamps_low_float_rates_like_zfpy():
    # _decompress passes the real type to set_rate, which raises a float block to 9 bits.
    a = np.linspace(0, 1, 64, dtype=np.float32)
    bare = zfpy.compress_numpy(a, rate=2.25, write_header=False)
    assert nz.compress_numpy(a, rate=2.25, write_header=False) == bare
    assert (nz._decompress(bare, nz.type_float, [64], rate=2.25).tobytes()
            == zfpy._decompress(bare, zfpy.type_float, [64], rate=2.25).tobytes())
    # With rate 1 zfpy compresses at 4 bits a block (and corrupts its heap); _decompress reads 9.
    # ndpack refuses to compress it.
    with pytest.raises(ValueError, match="rate"):
        nz.compress_numpy(a, rate=1.0)


def test_constants_and_dtype_mapping():
    assert (nz.type_int32, nz.type_int64, nz.type_float, nz.type_double) == (
        zfpy.type_int32, zfpy.type_int64, zfpy.type_float, zfpy.type_double)
    for d in ["f4", "f8", "i4", "i8"]:
        assert nz.dtype_to_ztype(np.dtype(d)) == zfpy.dtype_to_ztype(np.dtype(d))
    for d in ["u4", ">f4", "f2", "i2"]:
        with pytest.raises(TypeError, match="Unknown dtype"):
            nz.dtype_to_ztype(np.dtype(d))
    assert (nz.mode_fixed_rate, nz.mode_fixed_precision, nz.mode_fixed_accuracy) == (
        zfpy.mode_fixed_rate, zfpy.mode_fixed_precision, zfpy.mode_fixed_accuracy)


# --- numcodecs -------------------------------------------------------------------------------

CODEC_ARGS = [dict(), dict(mode=4, tolerance=1e-3), dict(mode=2, rate=8), dict(mode=3, precision=16),
              dict(mode=2, rate=-1), dict(mode=3, precision=-1)]


@pytest.mark.parametrize("args", CODEC_ARGS)
@pytest.mark.parametrize("dtype", DTYPES)
def test_numcodecs_codec_both_ways(args, dtype):
    a = make(np.random.default_rng(11), dtype, (7, 9, 5), "smooth" if dtype[0] == "f" else "small")
    theirs, ours = NumcodecsZFPY(**args), nz.ZFPY(**args)
    assert ours.get_config() == theirs.get_config()
    assert repr(ours) == repr(theirs)
    enc = ours.encode(a)
    assert enc == theirs.encode(a)
    assert ours.decode(enc).tobytes() == theirs.decode(enc).tobytes()
    out = np.empty_like(a)
    assert ours.decode(enc, out=out) is out
    assert out.tobytes() == theirs.decode(enc).tobytes()
    assert nz.ZFPY.from_config(theirs.get_config()) == ours
    import numcodecs.abc

    assert isinstance(ours, numcodecs.abc.Codec)


def test_numcodecs_rejects_fortran_like_ours():
    a = np.asfortranarray(np.ones((4, 5)))
    with pytest.raises(ValueError):
        NumcodecsZFPY().encode(a)
    with pytest.raises(ValueError):
        nz.ZFPY().encode(a)


def test_numcodecs_fixtures(fixtures):
    folder = fixtures / "numcodecs" / "zfpy"
    checked = 0
    for codec_dir in sorted(folder.glob("codec.*")):
        config = json.loads((codec_dir / "config.json").read_text())
        ours = nz.ZFPY.from_config(config)
        theirs = NumcodecsZFPY.from_config({k: v for k, v in config.items() if k != "id"})
        for enc_path in sorted(codec_dir.glob("encoded.*.dat")):
            arr = np.load(folder / enc_path.name.replace("encoded", "array").replace(".dat", ".npy"))
            enc = enc_path.read_bytes()
            dec = ours.decode(enc)
            ref = zfpy.decompress_numpy(enc)
            assert dec.tobytes() == ref.tobytes()
            assert dec.dtype == ref.dtype and dec.shape == ref.shape
            want = arr.reshape(dec.shape, order="A") if arr.flags.f_contiguous and not arr.flags.c_contiguous else arr
            if config["mode"] == 4 and config["tolerance"] == -1 or config["mode"] != 4 and max(
                    config["rate"], config["precision"]) == -1:
                assert np.array_equal(dec.ravel(order="K"), np.asarray(want).ravel(order="K"), equal_nan=True)
            # re-encoding gives the fixture's bytes wherever the current zfpy does
            if arr.flags.c_contiguous:
                assert ours.encode(arr) == theirs.encode(arr)
            checked += 1
    assert checked >= 20


# --- errors ----------------------------------------------------------------------------------

def test_empty_arrays_are_errors_not_crashes():
    for shape in [(0,), (3, 0), (0, 2, 2), (1, 1, 1, 0)]:
        with pytest.raises(ValueError, match="empty"):
            nz.compress_numpy(np.zeros(shape, np.float32))
    with pytest.raises(ValueError, match="empty"):
        nz.ZFPY().encode(np.zeros((0,)))


@pytest.mark.parametrize("dtype,rate,ndim", [("f4", 1.0, 1), ("f8", 2.0, 1), ("f4", 0.5, 2),
                                              ("f4", 0.0, 3), ("i4", 0.0, 1), ("f8", 0.01, 3)])
def test_tiny_rates_are_errors(dtype, rate, ndim):
    a = np.ones((20,) * ndim, dtype=dtype)
    with pytest.raises(ValueError, match="rate"):
        nz.compress_numpy(a, rate=rate)


def test_zfpy_crashes_on_what_we_reject():
    """Documents why: zfpy aborts (or corrupts its heap) on these; run it in a subprocess."""
    code = "import numpy as np, zfpy; zfpy.compress_numpy(np.zeros((0,), np.float32))"
    r = subprocess.run([sys.executable, "-c", code], capture_output=True, timeout=60)
    assert r.returncode != 0


def test_argument_errors():
    a = np.ones(8, np.float32)
    with pytest.raises(ValueError, match="Only one"):
        nz.compress_numpy(a, tolerance=1e-3, rate=8)
    with pytest.raises(TypeError, match="Unknown dtype"):
        nz.compress_numpy(a.astype(np.uint16))
    with pytest.raises(TypeError):
        nz.compress_numpy([1.0, 2.0])
    with pytest.raises(RuntimeError, match="4 dimensions"):
        nz.compress_numpy(np.ones((1, 1, 1, 1, 2), np.float32))
    with pytest.raises(ValueError, match="header"):
        nz.compress_numpy(np.ones((1, 1, 65537), np.float32), rate=4)
    assert nz.compress_numpy(np.ones((1, 1, 65536), np.float32), rate=4) == zfpy.compress_numpy(
        np.ones((1, 1, 65536), np.float32), rate=4)
    with pytest.raises(ValueError, match="mode"):
        nz.ZFPY(mode=1).encode(a)


def test_bad_streams_are_errors():
    a = make(np.random.default_rng(9), "f4", (30, 40), "smooth")
    for kw in [{}, {"rate": 8}, {"precision": 14}, {"tolerance": 1e-3}]:
        s = zfpy.compress_numpy(a, **kw)
        for cut in [0, 3, 8, 12, len(s) // 2, len(s) - 8]:
            with pytest.raises(ValueError):
                nz.decompress_numpy(s[:cut])
        rng = np.random.default_rng(0)
        for _ in range(100):
            t = bytearray(s)
            t[int(rng.integers(0, len(t)))] ^= 1 << int(rng.integers(0, 8))
            try:
                r = nz.decompress_numpy(bytes(t))
                assert r.size < 1 << 24
            except ValueError:
                pass
    with pytest.raises(ValueError, match="not a zfp stream"):
        nz.decompress_numpy(b"abcdefghijklmnop")
    with pytest.raises(ValueError):
        nz.ZFPY().decode(b"zfp\x05")
