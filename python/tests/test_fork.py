"""Every parallel path works in a child made by ``fork`` after the parent used it, as in
``multiprocessing`` pools, PyTorch DataLoader workers and Dask's process scheduler on Linux: the
child starts its own thread pool instead of waiting for threads that do not exist there, and
keeps using the zstd contexts of the thread that forked. Each path runs in the parent first,
then in ``fork`` children (also forked while other parent threads keep the pool busy); every
wait has a timeout, so a regression fails instead of hanging.
"""

import hashlib
import lzma
import multiprocessing
import threading

import numcodecs
import numpy as np
import pytest
import zfpy

import ndpack
from conftest import ndpack_threads, varied
from ndpack import blosc
from ndpack import blosc2 as nb2
from ndpack import codecs as nc

#: Seconds a child may take for one path (every path takes well under a second or two).
TIMEOUT = 60

def smooth(shape, seed: int = 0) -> np.ndarray:
    """A smooth float64 field with some noise (for ZFP)."""
    rng = np.random.default_rng(seed)
    grids = np.meshgrid(*[np.linspace(0, 3, n) for n in shape], indexing="ij")
    return sum(np.sin(g * (i + 1)) for i, g in enumerate(grids)) + 1e-3 * rng.standard_normal(shape)


def digest(data) -> str:
    return hashlib.sha256(memoryview(data).cast("B")).hexdigest()


def roundtrip(codec, data: bytes) -> str:
    """Encodes `data`, checks that decoding gives it back, returns the digest of the encoding."""
    enc = codec.encode(data)
    assert bytes(codec.decode(enc)) == data
    return digest(enc)


# Each path: a function of no arguments that runs it (encode and decode of inputs large enough to
# take the parallel code) and returns what must be equal in parent and child.


def path_blosc_codec() -> str:
    data = varied(24 << 20, seed=1)
    return "".join(
        roundtrip(blosc.Blosc(cname=cname, clevel=5, shuffle=shuffle), data)
        for cname, shuffle in [("lz4", blosc.SHUFFLE), ("zstd", blosc.BITSHUFFLE), ("blosclz", blosc.SHUFFLE)]
    )


def path_blosc_functions() -> str:
    data = varied(16 << 20, seed=2)
    one = blosc.compress(data, typesize=4, clevel=5, shuffle=blosc.SHUFFLE, cname="lz4")
    assert bytes(blosc.decompress(one)) == data
    two = nb2.compress2(data, typesize=4, clevel=3, codec=nb2.Codec.ZSTD)
    assert bytes(nb2.decompress2(two)) == data
    return digest(one) + digest(two)


def path_zstd() -> str:
    # At least 8 MiB, compressed with the calling thread's zstd context (kept across calls, and
    # copied into the child by fork) and decoded with its decompression context.
    data = varied(9 << 20, seed=3)
    return roundtrip(nc.Zstd(level=1), data) + roundtrip(nc.Zstd(level=3, checksum=True), data[: 4 << 20])


def path_zlib() -> str:
    data = varied(6 << 20, seed=4)
    return roundtrip(nc.Zlib(level=1), data)


def path_gzip() -> str:
    data = varied(6 << 20, seed=5)
    enc = nc.GZip(level=1).encode(data)
    assert bytes(nc.GZip().decode(enc)) == data
    # The gzip header carries no time, so the bytes are the same in every process.
    return digest(enc)


def path_bz2() -> str:
    data = varied(3 << 20, seed=6)
    return roundtrip(nc.BZ2(level=1), data)


def path_lzma_xz() -> str:
    # More than one 8 MiB xz block: liblzma's multithreaded encoder and decoder.
    data = varied(9 << 20, seed=7)
    return roundtrip(nc.LZMA(preset=0), data)


def path_lzma_raw() -> str:
    data = varied(9 << 20, seed=8)
    filters = [{"id": lzma.FILTER_LZMA2, "preset": 0}]
    return roundtrip(nc.LZMA(format=lzma.FORMAT_RAW, filters=filters), data)


def path_filters() -> str:
    a = np.frombuffer(varied(8 << 20, seed=9), dtype="<i4")
    out = []
    for codec in [nc.Delta(dtype="<i4"), nc.Fletcher32(), nc.AsType(encode_dtype="<i8", decode_dtype="<i4")]:
        enc = codec.encode(a)
        assert np.array_equal(np.asarray(codec.decode(enc)).view("<i4").reshape(-1), a)
        out.append(digest(np.ascontiguousarray(enc)))
    bits = (a & 1).astype(bool)
    enc = nc.PackBits().encode(bits)
    assert np.array_equal(nc.PackBits().decode(enc), bits)
    out.append(digest(np.ascontiguousarray(enc)))
    return "".join(out)


def path_zfpy() -> str:
    a = smooth((128, 128, 96), seed=10)
    enc = ndpack.zfpy.compress_numpy(a, tolerance=1e-4)
    dec = ndpack.zfpy.decompress_numpy(enc)
    assert np.array_equal(dec, zfpy.decompress_numpy(bytes(enc)))
    rate = ndpack.zfpy.compress_numpy(a, rate=12)
    assert np.array_equal(ndpack.zfpy.decompress_numpy(rate), zfpy.decompress_numpy(bytes(rate)))
    return digest(enc) + digest(rate) + digest(np.ascontiguousarray(dec))


def _arrays():
    rng = np.random.default_rng(11)
    return {
        f"m{i}": np.frombuffer(varied((1 << 20) + 4096 * i, seed=20 + i), dtype="<i4").reshape(-1, 4)
        for i in range(6)
    } | {"f": rng.standard_normal((300, 200)), "small": np.arange(7, dtype="<u2")}


def path_npz() -> str:
    arrays = _arrays()
    packed = ndpack.save_npz(arrays, compressed=True)
    every = ndpack.load_npz(packed).load_all()
    mapping = dict(ndpack.load_npz(packed))
    with ndpack.load_npz(packed) as f:
        one = f["m3"]
    for loaded in (every, mapping):
        assert loaded.keys() == arrays.keys()
        for k, v in arrays.items():
            assert np.array_equal(np.asarray(loaded[k]), v)
    assert np.array_equal(one, arrays["m3"])
    return digest(packed)


def path_ndbuffer() -> str:
    # Large blocks come from (and go back to) the cache of mapped blocks.
    a = np.frombuffer(varied(12 << 20, seed=12), dtype="<i4").reshape(-1, 64)
    total = []
    for _ in range(3):
        nd = ndpack.NDBuffer.from_numpy_array(a).copy()
        b = nd.as_numpy_array()
        assert np.array_equal(b, a)
        total.append(digest(np.ascontiguousarray(b[::3])))
        del nd, b
    assert len(set(total)) == 1
    return total[0]


PATHS = {
    f.__name__[len("path_") :]: f
    for f in [
        path_blosc_codec,
        path_blosc_functions,
        path_zstd,
        path_zlib,
        path_gzip,
        path_bz2,
        path_lzma_xz,
        path_lzma_raw,
        path_filters,
        path_zfpy,
        path_npz,
        path_ndbuffer,
    ]
}


def run_path(name: str) -> str:
    return PATHS[name]()


@pytest.fixture
def four_threads():
    with ndpack_threads(4):
        yield


def in_children(name: str, children: int = 2) -> list:
    """Runs path `name` in each of `children` processes forked now."""
    with multiprocessing.get_context("fork").Pool(children) as pool:
        return pool.map_async(run_path, [name] * children, chunksize=1).get(timeout=TIMEOUT)


@pytest.mark.parametrize("name", sorted(PATHS))
def test_path_works_in_a_child_forked_after_use(name, four_threads):
    expected = run_path(name)
    assert in_children(name) == [expected, expected]
    # The parent's pool and caches still work after the fork.
    assert run_path(name) == expected


def test_every_path_in_one_child_after_all_were_used(four_threads):
    expected = {name: run_path(name) for name in PATHS}
    with multiprocessing.get_context("fork").Pool(1) as pool:
        got = {name: pool.apply_async(run_path, (name,)).get(timeout=TIMEOUT) for name in PATHS}
    assert got == expected


def _child_then_grandchild(queue, expected: str) -> None:
    assert run_path("blosc_functions") == expected
    queue.put(in_children("blosc_functions", children=1)[0])


def test_grandchild_forked_from_a_child():
    expected = run_path("blosc_functions")
    # A Pool needs a non-daemonic parent: fork a plain Process, which forks a Pool.
    ctx = multiprocessing.get_context("fork")
    queue = ctx.Queue()
    proc = ctx.Process(target=_child_then_grandchild, args=(queue, expected))
    proc.start()
    try:
        assert queue.get(timeout=TIMEOUT) == expected
    finally:
        proc.join(TIMEOUT)
        if proc.is_alive():
            proc.kill()
    assert proc.exitcode == 0


def _threads_then_work(n: int):
    kept = ndpack.get_nthreads()
    ndpack.set_nthreads(n)
    return kept, ndpack.get_nthreads(), run_path("blosc_functions")


def test_set_nthreads_is_kept_in_the_child_and_can_be_changed_there():
    before = ndpack.get_nthreads()
    try:
        ndpack.set_nthreads(3)
        run_path("blosc_functions")
        with multiprocessing.get_context("fork").Pool(2) as pool:
            got = pool.map_async(_threads_then_work, [1, 5], chunksize=1).get(timeout=TIMEOUT)
        expected = run_path("blosc_functions")
        assert got == [(3, 1, expected), (3, 5, expected)]
        assert ndpack.get_nthreads() == 3
    finally:
        ndpack.set_nthreads(before)


def test_fork_while_other_threads_keep_the_pool_busy(four_threads):
    """Children forked while parent threads are inside Blosc, zstd, NPZ and ZFP calls (holding
    the pool's workers, their zstd contexts and the staging locks) still run every path."""
    expected = {name: run_path(name) for name in ("blosc_functions", "zstd", "npz", "zfpy", "ndbuffer")}
    stop = threading.Event()
    errors = []

    def busy(name):
        try:
            while not stop.is_set():
                assert run_path(name) == expected[name]
        except BaseException as e:  # reported by the test below
            errors.append(e)

    threads = [threading.Thread(target=busy, args=(n,)) for n in expected]
    for t in threads:
        t.start()
    try:
        for _ in range(2):
            with multiprocessing.get_context("fork").Pool(2) as pool:
                jobs = [pool.apply_async(run_path, (n,)) for n in expected for _ in range(2)]
                got = [j.get(timeout=TIMEOUT) for j in jobs]
            assert got == [expected[n] for n in expected for _ in range(2)]
    finally:
        stop.set()
        for t in threads:
            t.join(TIMEOUT)
    assert not errors
    assert not any(t.is_alive() for t in threads)


def _encode_chunk(chunk: np.ndarray) -> bytes:
    return blosc.Blosc(cname="lz4", clevel=5, shuffle=blosc.SHUFFLE).encode(chunk)


def _decode_chunk(enc: bytes) -> np.ndarray:
    return np.frombuffer(blosc.Blosc().decode(enc), dtype="i8")


@pytest.mark.parametrize("compressor", ["ndpack", "numcodecs"])
def test_numcodecs_multiprocessing_style_pool(compressor, four_threads):
    """As numcodecs' test_blosc.py::test_multiprocessing: after use in the parent, a Pool(5)
    encodes chunks of an array; the bytes equal the parent's, and numcodecs decodes them."""
    rng = np.random.default_rng(13)
    data = np.cumsum(rng.integers(-5, 6, size=4_000_000)).astype("i8")
    chunks = np.array_split(data, 20)
    reference = [_encode_chunk(c) for c in chunks]
    with multiprocessing.get_context("fork").Pool(5) as pool:
        got = pool.map_async(_encode_chunk, chunks).get(timeout=TIMEOUT)
        if compressor == "ndpack":
            decoded = pool.map_async(_decode_chunk, got).get(timeout=TIMEOUT)
        else:
            codec = numcodecs.Blosc()
            decoded = [np.frombuffer(codec.decode(e), dtype="i8") for e in got]
    assert got == reference
    assert np.array_equal(np.concatenate(decoded), data)
