"""ndpack.zfpy on hostile streams: a header is checked against the stream's length before any
array is allocated, an array the stream can hold but memory cannot raises MemoryError, and a
stream cut short raises ValueError instead of decoding to other values."""

import subprocess
import sys
import textwrap
import tracemalloc

import numpy as np
import pytest

import ndpack.zfpy as nz

zfpy = pytest.importorskip("zfpy")

REVERSIBLE = 2176


def header(ztype, dims_minus_1, mode=REVERSIBLE):
    """A 12-byte zfp header: type number, sizes - 1 with zfp's x first, short mode."""
    ndim = len(dims_minus_1)
    width = [48, 24, 16, 12][ndim - 1]
    meta = (ztype - 1) | ((ndim - 1) << 2)
    for i, d in enumerate(dims_minus_1):
        meta |= d << (4 + width * i)
    return b"zfp\x05" + (meta | (mode << 52)).to_bytes(8, "little")


#: 16 bytes that declare a 2 PiB array (4-D doubles, 4096 per axis).
HUGE = header(nz.type_double, [4095] * 4) + bytes(4)
#: 16 bytes that declare a 2 GiB array (1-D doubles, 2^28 values): within the size limit, but
#: 2^26 blocks take at least 2^26 bits.
BIG = header(nz.type_double, [2**28 - 1]) + bytes(4)


def peak_allocation(fn):
    """Runs fn and returns the peak of memory traced (NumPy traces its arrays' data)."""
    tracemalloc.start()
    try:
        fn()
    finally:
        peak = tracemalloc.get_traced_memory()[1]
        tracemalloc.stop()
    return peak


def raises_without_allocating(fn, exc=ValueError):
    def run():
        with pytest.raises(exc):
            fn()

    assert peak_allocation(run) < 1 << 20


@pytest.mark.parametrize("stream", [HUGE, BIG], ids=["2PiB", "2GiB"])
def test_headers_the_stream_cannot_hold_raise_before_allocating(stream):
    raises_without_allocating(lambda: nz.decompress_numpy(stream))
    raises_without_allocating(lambda: nz.ZFPY().decode(stream))
    raises_without_allocating(lambda: nz.ZFPY().decode(stream, out=np.empty(4)))
    raises_without_allocating(lambda: nz.ZFPY().decode(stream, out=bytearray(32)))


def test_headerless_shapes_the_stream_cannot_hold_raise_before_allocating():
    for shape in ([2**40], [2**28], [4096, 4096, 4096, 4096], [2**63 - 1, 2]):
        raises_without_allocating(lambda: nz._decompress(bytes(16), nz.type_double, shape))
    for shape in ([-1], [2**64], [3, -2]):
        raises_without_allocating(lambda: nz._decompress(bytes(16), nz.type_float, shape))
    # 16 bytes hold 128 one-bit (all zero) reversible blocks: 512 values in 1-D.
    assert not nz._decompress(bytes(16), nz.type_float, [512]).any()
    raises_without_allocating(lambda: nz._decompress(bytes(16), nz.type_float, [516]))
    # Fixed rate is exact: 16 bytes hold 8 blocks of 16 bits.
    assert nz._decompress(bytes(16), nz.type_float, [32], rate=4).shape == (32,)
    raises_without_allocating(lambda: nz._decompress(bytes(16), nz.type_float, [36], rate=4))


def test_a_header_alone_is_an_error_not_zeros():
    # zfpy decodes a 12-byte header of 8 x 8 floats to zeros; the blocks' bits are missing.
    h = header(nz.type_float, [7, 7])
    with pytest.raises(ValueError, match="cannot hold"):
        nz.decompress_numpy(h)
    assert not nz.decompress_numpy(h + bytes(4)).any()


@pytest.mark.parametrize("kw", [{}, {"rate": 8}, {"precision": 14}, {"tolerance": 1e-3}])
@pytest.mark.parametrize("dtype", ["f4", "f8", "i4", "i8"])
def test_every_cut_of_a_stream_decodes_alike_or_raises(kw, dtype):
    rng = np.random.default_rng(3)
    a = (np.sin(np.arange(9 * 11 * 6) * 0.3) * 100 + rng.standard_normal(9 * 11 * 6))
    a = a.reshape(9, 11, 6).astype(dtype)
    s = zfpy.compress_numpy(a, **kw)
    full = zfpy.decompress_numpy(s)
    decoded = []
    for cut in range(len(s) + 1):
        try:
            r = nz.decompress_numpy(s[:cut])
        except ValueError:
            continue
        assert r.tobytes() == full.tobytes(), f"cut {cut} decodes to other values"
        decoded.append(cut)
    # Only cuts into the last word's zero padding decode.
    assert decoded and min(decoded) > len(s) - 8
    assert decoded == list(range(min(decoded), len(s) + 1))
    bare = zfpy.compress_numpy(a, write_header=False, **kw)
    args = dict(kw)
    for cut in range(len(bare) - 16, len(bare) + 1):
        try:
            r = nz._decompress(bare[:cut], nz.dtype_to_ztype(a.dtype), a.shape, **args)
        except ValueError:
            assert cut < len(bare)
            continue
        assert r.tobytes() == full.tobytes(), f"headerless cut {cut} decodes to other values"
        assert cut > len(bare) - 8


CHILD = textwrap.dedent(
    """
    import resource, sys
    import numpy as np
    import ndpack.zfpy as nz

    resource.setrlimit(resource.RLIMIT_AS, (3 << 30, 3 << 30))
    huge, big, legit = (bytes.fromhex(h) for h in sys.argv[1:4])
    legit += bytes(2**21 // 8)
    for stream in (huge, big):
        for call in (
            lambda: nz.decompress_numpy(stream),
            lambda: nz.ZFPY().decode(stream),
            lambda: nz.ZFPY().decode(stream, out=np.empty(4)),
        ):
            try:
                call()
                raise SystemExit("no error")
            except ValueError:
                pass
    try:
        nz._decompress(bytes(16), nz.type_double, [2**50])
        raise SystemExit("no error")
    except ValueError:
        pass
    # A 4 GiB array of zeros that the stream does hold: memory, not the input, is short.
    for call in (
        lambda: nz.decompress_numpy(legit),
        lambda: nz.ZFPY().decode(legit),
        lambda: nz._decompress(legit[12:], nz.type_double, [32, 64, 64, 4096]),
    ):
        try:
            call()
            raise SystemExit("no error")
        except MemoryError:
            pass
    # The process lives on and still decodes.
    a = np.arange(100.0)
    assert (nz.decompress_numpy(nz.compress_numpy(a)) == a).all()
    print("survived")
    """
)


def test_hostile_headers_under_a_memory_limit():
    # 4-D doubles of shape (32, 64, 64, 4096): 2^21 reversible blocks of one (zero) bit each.
    legit = header(nz.type_double, [4095, 63, 63, 31])
    r = subprocess.run(
        [sys.executable, "-c", CHILD, HUGE.hex(), BIG.hex(), legit.hex()],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert r.returncode == 0, r.stderr
    assert "survived" in r.stdout
