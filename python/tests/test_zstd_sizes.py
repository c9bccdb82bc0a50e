"""ndpack's Zstd writes numcodecs' exact bytes at every level, for 16 MB inputs as for tiny ones,
whatever ndpack's thread count (one single-threaded frame; bytes only, speed is measured by
``bench/compare.py codecs``).
"""

import numpy as np
import numcodecs
import pytest

import ndpack
from ndpack import codecs as nc

MB = 1 << 20


def arrays():
    """16 MB each: a smooth float32 field, noisy float32, an int64 ramp of repeated values, and
    the 14 MB ramp of 1,769,472 values."""
    rng = np.random.default_rng(0)
    n32 = 16 * MB // 4
    side = int(np.sqrt(n32))
    y, x = np.mgrid[0:side, 0:side].astype(np.float32)
    return {
        "smooth-f4": (np.sin(x / 50.0) * np.cos(y / 70.0) * 100.0).astype(np.float32).ravel(),
        "noisy-f4": rng.standard_normal(n32).astype(np.float32),
        "ramp-i8": np.arange(16 * MB // 8, dtype=np.int64) // 5,
        "ramp-i8-14MB": np.arange(1_769_472, dtype=np.int64) // 5,
    }


@pytest.fixture(scope="module")
def data():
    return arrays()


@pytest.mark.parametrize("level", [-5, 0, 1, 3, 5, 9])
@pytest.mark.parametrize("name", ["smooth-f4", "noisy-f4", "ramp-i8", "ramp-i8-14MB"])
def test_zstd_large_inputs_are_numcodecs_bytes(data, name, level):
    arr = data[name]
    theirs = numcodecs.Zstd(level).encode(arr)
    before = ndpack.get_nthreads()
    try:
        for threads in (1, 2):
            ndpack.set_nthreads(threads)
            ours = nc.Zstd(level).encode(arr)
            assert ours == theirs, (name, level, threads, len(ours), len(theirs))
    finally:
        ndpack.set_nthreads(before)
    assert numcodecs.Zstd().decode(ours) == arr.tobytes()
    assert nc.Zstd().decode(theirs) == arr.tobytes()


@pytest.mark.parametrize("checksum", [False, True])
@pytest.mark.parametrize("level", [-5, -1, 0, 1, 3, 9, 22])
def test_zstd_tiny_inputs_are_numcodecs_bytes(level, checksum):
    """Inputs of 0 to 300 bytes (zeros, noise, short repeats): numcodecs' exact frames, and
    each decodes the other's (numcodecs itself cannot decode the frame of an empty input, which
    ndpack can)."""
    rng = np.random.default_rng(level + 100)
    theirs_codec, ours_codec = numcodecs.Zstd(level=level, checksum=checksum), nc.Zstd(level=level, checksum=checksum)
    for n in list(range(0, 70)) + [100, 255, 256, 300]:
        for data in (bytes(n), rng.integers(0, 256, n, dtype=np.uint8).tobytes(), bytes(i % 7 for i in range(n))):
            ours, theirs = bytes(ours_codec.encode(data)), bytes(theirs_codec.encode(data))
            assert ours == theirs, (n, level, checksum)
            assert bytes(ours_codec.decode(theirs)) == data
            if n:
                assert bytes(theirs_codec.decode(ours)) == data
