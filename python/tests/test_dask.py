"""ndpack on Dask: NDArray.to_dask read on a 2-process LocalCluster, ndpack.from_dask written from
both workers at once (lock-free whole chunks, locked partial chunks), read back by ndpack and by
python-blosc2, a worker killed mid-write, pickling into other processes, the pool inside workers,
and ``import ndpack`` not importing Dask."""

from __future__ import annotations

import multiprocessing
import os
import pickle
import signal
import subprocess
import sys
import time

import numpy as np
import pytest

import ndpack

import dask_helpers

da = pytest.importorskip("dask.array")
dask = pytest.importorskip("dask")
distributed = pytest.importorskip("distributed")
blosc2 = pytest.importorskip("blosc2")
Delayed = pytest.importorskip("dask.delayed").Delayed


@pytest.fixture(scope="module")
def client():
    with dask_helpers.local_cluster() as c:
        yield c


def data(shape, dtype, seed=0):
    rng = np.random.default_rng(seed)
    if np.dtype(dtype).kind == "f":
        return rng.standard_normal(shape).astype(dtype)
    if np.dtype(dtype).kind == "b":
        return rng.integers(0, 2, shape).astype(bool)
    return rng.integers(-1000, 1000, shape).astype(dtype)


def check_blosc2_reads(path, want):
    """python-blosc2 reads ``want`` from ``path``: the whole array, every chunk through
    ``get_lazychunk`` and ``decompress_chunk``."""
    b = blosc2.open(str(path))
    np.testing.assert_array_equal(b[...], want)
    s = b.schunk
    assert s.nbytes == int(np.prod(b.ext_shape)) * b.dtype.itemsize or s.nchunks > 0
    for i in range(s.nchunks):
        lazy = s.get_lazychunk(i)
        assert len(lazy) >= 32
        assert len(s.decompress_chunk(i)) == s.chunksize


# ---- import and threads -------------------------------------------------------------------------


def test_import_ndpack_does_not_import_dask_or_xarray():
    code = (
        "import sys, ndpack, ndpack.blosc2\n"
        "bad = [m for m in ('dask', 'distributed', 'xarray') if m in sys.modules]\n"
        "assert not bad, bad\n"
    )
    subprocess.run([sys.executable, "-c", code], check=True, timeout=120)


def test_ndpack_num_threads_sets_the_default_pool():
    code = "import ndpack; print(ndpack.get_nthreads())"
    env = dict(os.environ, NDPACK_NUM_THREADS="3")
    out = subprocess.run([sys.executable, "-c", code], check=True, timeout=120, env=env,
                         capture_output=True, text=True).stdout
    assert out.strip() == "3"


def test_the_pool_has_one_thread_per_worker_thread(client):
    sizes = client.run(dask_helpers.pool_threads)
    assert sorted(sizes.values()) == [1, 1]
    # In tasks too.
    futs = client.map(dask_helpers.pool_threads, range(4), pure=False)
    assert set(client.gather(futs)) == {1}


def test_configure_sizes_the_pool_from_the_worker_it_finds(monkeypatch):
    import types

    from ndpack import _workers

    fake = types.ModuleType("distributed")
    fake.get_worker = lambda: types.SimpleNamespace(state=types.SimpleNamespace(nthreads=3))
    before = ndpack.get_nthreads()
    monkeypatch.delenv("NDPACK_NUM_THREADS", raising=False)
    monkeypatch.setitem(sys.modules, "distributed", fake)
    monkeypatch.setattr(_workers, "_configured_pid", 0)
    try:
        _workers.configure()
        assert ndpack.get_nthreads() == 3
        # Once per process: a later call keeps what the user set.
        ndpack.set_nthreads(2)
        _workers.configure()
        assert ndpack.get_nthreads() == 2
        # NDPACK_NUM_THREADS wins over the worker's count.
        monkeypatch.setattr(_workers, "_configured_pid", 0)
        monkeypatch.setenv("NDPACK_NUM_THREADS", "1")
        _workers.configure()
        assert ndpack.get_nthreads() == 2
    finally:
        ndpack.set_nthreads(before)


# ---- reading --------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "shape,chunks,dtype,contiguous",
    [
        ((120, 90), (25, 40), "f4", True),
        ((300,), (64,), "i8", False),
        ((20, 30, 16), (8, 16, 16), "f8", False),
        ((77, 33), (20, 20), "u2", True),
    ],
)
def test_to_dask_reductions_equal_numpys(client, tmp_path, shape, chunks, dtype, contiguous):
    want = data(shape, dtype, seed=len(shape))
    path = tmp_path / ("a.b2nd" if contiguous else "a.dir")
    a = ndpack.asarray(want, chunks=chunks, urlpath=str(path), contiguous=contiguous, mode="w")
    x = a.to_dask()
    assert x.chunks == da.core.normalize_chunks(chunks, shape)
    # float32 sums in another order than NumPy's: compare with a tolerance of their size.
    tol = {"rtol": 1e-4, "atol": 1e-3} if dtype == "f4" else {"rtol": 1e-12, "atol": 0}
    np.testing.assert_allclose(x.sum().compute(), want.sum(dtype=x.sum().dtype), **tol)
    np.testing.assert_allclose(x.mean(axis=0).compute(), want.mean(axis=0), **tol)
    sl = tuple(slice(1, n - 1, 2) for n in shape)
    np.testing.assert_array_equal(x[sl].compute(), want[sl])
    # Chunks that are multiples of the storage chunks; others are refused.
    big = a.to_dask(chunks=tuple(2 * c for c in chunks))
    np.testing.assert_array_equal(big.compute(), want)
    with pytest.raises(ValueError, match="multiples"):
        a.to_dask(chunks=tuple(c + 1 for c in chunks))


def test_tokens_follow_path_generation_and_shape(tmp_path):
    from dask.base import tokenize

    path = tmp_path / "t.b2nd"
    a = ndpack.asarray(np.arange(100.0), chunks=(10,), urlpath=str(path), mode="w")
    t1 = tokenize(a)
    assert tokenize(ndpack.open(str(path))) == t1
    assert a.to_dask().name == ndpack.open(str(path)).to_dask().name
    time.sleep(0.01)
    a[3] = 7.0
    assert tokenize(a) != t1
    m1, m2 = ndpack.asarray(np.arange(10.0)), ndpack.asarray(np.arange(10.0))
    assert tokenize(m1) == tokenize(m1) != tokenize(m2)


def test_from_array_keeps_the_array_and_pickles_small(tmp_path):
    from dask.utils import is_arraylike

    path = tmp_path / "p.b2nd"
    want = data((200, 50), "f8")
    a = ndpack.asarray(want, chunks=(50, 50), urlpath=str(path), mode="w")
    # No __array_function__/__array_ufunc__ with .copy: dask does not swap in a copy.
    assert not (is_arraylike(a) and hasattr(a, "copy"))
    x = da.from_array(a, chunks=a.chunks)
    assert any(v is a for v in dict(x.__dask_graph__()).values())
    blob = pickle.dumps(a)
    assert len(blob) < 1024
    b = pickle.loads(blob)
    np.testing.assert_array_equal(b[10:20], want[10:20])
    ctx = multiprocessing.get_context("spawn")
    with ctx.Pool(1) as pool:
        got = pool.apply(dask_helpers.unpickle_and_read, (blob, (slice(5, 9), slice(None))))
    np.testing.assert_array_equal(got, want[5:9])


# ---- writing --------------------------------------------------------------------------------------


def source(shape=(790, 810), chunks=(50, 100), dtype="f8"):
    """A Dask array whose items are their C index, with one all-zero storage chunk."""
    n = int(np.prod(shape))
    x = da.arange(n, dtype=dtype, chunks=n).reshape(shape).rechunk(chunks)
    x = da.where((da.arange(shape[0])[:, None] // 50 == 2) & (da.arange(shape[1])[None, :] // 100 == 3), 0, x)
    want = np.arange(n, dtype=dtype).reshape(shape)
    want[100:150, 300:400] = 0
    return x, want


def test_from_dask_both_workers_write_one_sparse_array(client, tmp_path):
    x, want = source()
    for trial in range(5):
        path = tmp_path / f"w{trial}.b2nd"
        a = ndpack.from_dask(x, str(path), chunks=(50, 100), cparams={"codec": ndpack.blosc2.Codec.LZ4})
        assert isinstance(a, ndpack.NDArray)
        assert a.chunks == (50, 100) and a.shape == want.shape
        np.testing.assert_array_equal(a[...], want)
        # The all-zero chunk is a special chunk, without a file.
        infos = list(a.iterchunks_info())
        assert sum(1 for i in infos if i.special != 0) == 1
        names = os.listdir(path)
        assert not [n for n in names if ".tmp-" in n or n.endswith(".lock")]
        assert len([n for n in names if n.endswith(".chunk")]) == len(infos) - 1
        check_blosc2_reads(path, want)


def test_from_dask_partial_chunk_writes_are_serialised(client, tmp_path):
    x, want = source(shape=(230, 170), chunks=(30, 70))
    path = tmp_path / "partial.b2nd"
    a = ndpack.from_dask(x, str(path), chunks=(50, 50), align_chunks=False)
    np.testing.assert_array_equal(a[...], want)
    check_blosc2_reads(path, want)
    # The same into the existing array (mode "a"), with other values.
    a2 = ndpack.from_dask(x + 1, str(path), mode="a", align_chunks=False)
    np.testing.assert_array_equal(a2[...], want + 1)


def test_from_dask_compute_false_and_contiguous(client, tmp_path):
    x, want = source(shape=(300, 260), chunks=(60, 130), dtype="f4")
    path = tmp_path / "packed.b2nd"
    d = ndpack.from_dask(x, str(path), chunks=(60, 130), blocks=(30, 65), contiguous=True, compute=False)
    assert isinstance(d, Delayed)
    assert not path.exists()
    (a,) = dask.compute(d)
    assert path.is_file()
    assert a.blocks == (30, 65)
    np.testing.assert_array_equal(a[...], want)
    assert [p.name for p in tmp_path.iterdir()] == ["packed.b2nd"]
    check_blosc2_reads(path, want)
    with pytest.raises(FileExistsError):
        ndpack.from_dask(x, str(path), mode="w-")


def test_from_dask_of_an_empty_array(tmp_path):
    x = da.zeros((0, 5), dtype="i4", chunks=(4, 5))
    with dask.config.set(scheduler="threads"):
        a = ndpack.from_dask(x, str(tmp_path / "e.b2nd"))
        b = ndpack.from_dask(x, str(tmp_path / "e2.b2nd"), contiguous=True)
    assert a.shape == b.shape == (0, 5)
    assert a[...].shape == (0, 5)


def test_from_dask_with_the_threaded_scheduler(tmp_path):
    x, want = source(shape=(200, 300), chunks=(50, 100))
    with dask.config.set(scheduler="threads"):
        a = ndpack.from_dask(x, str(tmp_path / "t.b2nd"))
    np.testing.assert_array_equal(a[...], want)


def test_write_targets_of_one_job_share_their_process_writer(tmp_path):
    # Every task unpickles its own copy of the target; the copies of one job open the writer
    # once per process, and another job (another token) opens its own.
    from ndpack import dask as nd_dask

    x, want = source(shape=(40, 60), chunks=(20, 30))
    with dask.config.set(scheduler="threads"):
        a = ndpack.from_dask(x, str(tmp_path / "w.b2nd"), compute=False)
    target = nd_dask._Writer(str(tmp_path / "w.b2nd"), (40, 60), np.dtype(want.dtype))
    copies = [pickle.loads(pickle.dumps(target)) for _ in range(3)]
    assert len({c.token for c in copies}) == 1
    assert copies[0]._writer() is copies[1]._writer() is copies[2]._writer()
    other = nd_dask._Writer(str(tmp_path / "w.b2nd"), (40, 60), np.dtype(want.dtype))
    assert other.token != target.token and other._writer() is not copies[0]._writer()
    del a


def test_a_worker_killed_during_from_dask_then_a_rerun_is_exact(client, tmp_path):
    x, want = source(shape=(400, 400), chunks=(50, 50))
    slow = x.map_blocks(dask_helpers.slow_block, 0.15, dtype=x.dtype)
    path = tmp_path / "killed.b2nd"
    fut = client.compute(ndpack.from_dask(slow, str(path), chunks=(50, 50), compute=False))
    deadline = time.time() + 60
    while not [n for n in os.listdir(path) if n.endswith(".chunk")]:
        assert time.time() < deadline, "no chunk written"
        time.sleep(0.02)
    victim = sorted(client.run(os.getpid).values())[0]
    os.kill(victim, signal.SIGKILL)
    try:
        fut.result(timeout=120)
    except Exception:
        pass  # the scheduler may give up on the tasks of the dead worker
    client.wait_for_workers(2, timeout=60)
    # The target opens, in ndpack and in python-blosc2.
    assert ndpack.open(str(path)).shape == want.shape
    assert blosc2.open(str(path)).shape == want.shape
    a = ndpack.from_dask(x, str(path), mode="a")
    np.testing.assert_array_equal(a[...], want)
    check_blosc2_reads(path, want)
