"""ndpack.NDArray shared by Python threads: reads at once, writes of different chunks at once
(exactly NumPy's result), writes of one chunk at once (each write whole, none lost), readers
during writes (each chunk old or new, never a mix), in memory, in a contiguous file and in a
sparse directory; python-blosc2 reads the files afterwards. No timing is asserted."""

import pickle
import threading

import blosc2
import numpy as np
import pytest

import ndpack

STORAGES = ["memory", "contiguous", "sparse"]


def storage_kw(kind, tmp_path):
    if kind == "memory":
        return {}
    return {"urlpath": str(tmp_path / f"{kind}.b2nd"), "contiguous": kind == "contiguous", "mode": "w"}


def run_threads(target, args_list):
    """Runs `target(*args)` in one thread per args, started together; re-raises the first error."""
    barrier = threading.Barrier(len(args_list))
    errors = []

    def body(*args):
        barrier.wait()
        try:
            target(*args)
        except BaseException as e:  # pragma: no cover - reported below
            errors.append(e)

    threads = [threading.Thread(target=body, args=args) for args in args_list]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    if errors:
        raise errors[0]


def check_files(a, x, kw):
    """The array, reopened by ndpack and by python-blosc2, holds `x`."""
    np.testing.assert_array_equal(a[...], x)
    if kw:
        np.testing.assert_array_equal(ndpack.open(kw["urlpath"])[...], x)
        np.testing.assert_array_equal(blosc2.open(kw["urlpath"], mode="r")[...], x)


@pytest.mark.parametrize("kind", STORAGES)
def test_threads_read_at_once(tmp_path, kind):
    x = np.random.default_rng(3).standard_normal((256, 256)).astype("<f4")
    a = ndpack.asarray(x, chunks=(64, 64), blocks=(16, 16), **storage_kw(kind, tmp_path))

    def reader(seed):
        rng = np.random.default_rng(seed)
        for _ in range(60):
            i, j = rng.integers(0, 200, 2)
            np.testing.assert_array_equal(a[i : i + 50, j : j + 50], x[i : i + 50, j : j + 50])

    run_threads(reader, [(s,) for s in range(4)])


def test_threads_first_use_of_lazy_array(tmp_path):
    path = str(tmp_path / "l.b2nd")
    x = np.arange(64 * 64, dtype="<i4").reshape(64, 64)
    ndpack.asarray(x, chunks=(16, 16), blocks=(8, 8), urlpath=path, mode="w")
    b = pickle.loads(pickle.dumps(ndpack.open(path)))
    results = []
    run_threads(lambda: results.append(b[...].sum()), [()] * 6)
    assert results == [x.sum()] * 6


@pytest.mark.parametrize("kind", STORAGES)
def test_threads_write_different_chunks(tmp_path, kind):
    """Six threads, each writing only its own two chunks (whole chunks, parts with steps,
    constants), all at once: the result is NumPy's."""
    kw = storage_kw(kind, tmp_path)
    a = ndpack.zeros((64, 96), "<i4", chunks=(16, 32), blocks=(8, 16), **kw)
    x = np.zeros((64, 96), "<i4")

    def writer(t):
        rng = np.random.default_rng(t)
        for _ in range(25):
            n = 2 * t + int(rng.integers(0, 2))
            r0, c0 = 16 * (n // 3), 32 * (n % 3)
            op = int(rng.integers(0, 4))
            if op == 0:
                key = (slice(r0, r0 + 16), slice(c0, c0 + 32))
            else:
                i, j = sorted(rng.integers(0, 17, 2))
                k, m = sorted(rng.integers(0, 33, 2))
                step = int(rng.choice([1, 2, -1, -3]))
                if step > 0:
                    rows = slice(r0 + i, r0 + j, step)
                elif j > i:
                    rows = slice(r0 + j - 1, r0 + i - 1 if r0 + i > 0 else None, step)
                else:
                    rows = slice(r0, r0)
                key = (rows, slice(c0 + k, c0 + m, abs(step)))
            shape = x[key].shape
            if op == 3:
                value = int(rng.integers(-100, 100))
            else:
                value = rng.integers(-(2**31), 2**31, size=shape, dtype="<i4")
            a[key] = value
            x[key] = value
            np.testing.assert_array_equal(a[r0 : r0 + 16, c0 : c0 + 32], x[r0 : r0 + 16, c0 : c0 + 32])

    run_threads(writer, [(t,) for t in range(6)])
    check_files(a, x, kw)


@pytest.mark.parametrize("kind", STORAGES)
def test_threads_write_one_chunk(tmp_path, kind):
    """Threads writing different items of the same chunks lose none of them; threads writing
    the same region leave exactly one write's values (the last to commit), in every chunk it
    touches."""
    kw = storage_kw(kind, tmp_path)
    # Chunks large enough that making one takes a while: a write that lost another's items
    # would show.
    a = ndpack.zeros((32, 8192), "<i4", chunks=(16, 4096), blocks=(4, 512), codec=ndpack.blosc2.Codec.ZSTD,
                     clevel=6, **kw)
    x = np.zeros((32, 8192), "<i4")

    def own_row(t):
        rng = np.random.default_rng(t)
        for k in range(8):
            a[t, 5:8000] = rng.integers(0, 1000, 7995, dtype="<i4") + 1000 * t + k

    run_threads(own_row, [(t,) for t in range(12)])
    for t in range(12):
        rng = np.random.default_rng(t)
        for k in range(8):
            x[t, 5:8000] = rng.integers(0, 1000, 7995, dtype="<i4") + 1000 * t + k
    np.testing.assert_array_equal(a[...], x)

    base = np.arange(20 * 6000, dtype="<i4").reshape(20, 6000)

    def same_region(t):
        for k in range(20):
            if k % 5 == 4:
                a[6:26, 100:6100] = 1000000 * t + k
            else:
                a[6:26, 100:6100] = base + 1000000 * t + k

    run_threads(same_region, [(t,) for t in range(4)])
    got = a[6:26, 100:6100]
    last = [base + 1000000 * t + 18 for t in range(4)] + [np.full_like(base, 1000000 * t + 19) for t in range(4)]
    assert any(np.array_equal(got, v) for v in last)
    x[6:26, 100:6100] = got
    check_files(a, x, kw)


@pytest.mark.parametrize("kind", STORAGES)
def test_readers_during_writes_see_old_or_new_chunks(tmp_path, kind):
    """While writers replace chunk 0 whole and part of chunk 3 (and fill chunk 2 with
    constants), readers always find each of them as one write left it."""
    kw = storage_kw(kind, tmp_path)
    a = ndpack.zeros((32, 64), "<i8", chunks=(16, 32), blocks=(8, 8), **kw)
    base0 = np.arange(16 * 32, dtype="<i8").reshape(16, 32)
    base3 = np.arange(16 * 8, dtype="<i8").reshape(16, 8) * 7
    rounds = 40
    done = threading.Event()
    seen = []

    def writer(which):
        for k in range(1, rounds + 1):
            if which == 0:
                a[0:16, 0:32] = base0 + 1000 * k
            elif which == 1:
                a[16:32, 32:40] = base3 + 1000 * k
            else:
                a[16:32, 0:32] = k
        done.set()

    def reader(_):
        n = 0
        while not done.is_set() or n < 5:
            n += 1
            whole = a[...]
            if whole[0:16, 0:32].any():
                d0 = whole[0:16, 0:32] - base0
                assert (d0 == d0[0, 0]).all() and d0[0, 0] % 1000 == 0 and 1 <= d0[0, 0] // 1000 <= rounds
            part = a[16:32, 32:64]
            if part[:, :8].any():
                d3 = part[:, :8] - base3
                assert (d3 == d3[0, 0]).all() and 1 <= d3[0, 0] // 1000 <= rounds
            assert not part[:, 8:].any()
            c2 = whole[16:32, 0:32]
            assert (c2 == c2[0, 0]).all() and 0 <= c2[0, 0] <= rounds
        seen.append(n)

    run_threads(lambda role, arg: writer(arg) if role == "w" else reader(arg),
                [("w", 0), ("w", 1), ("w", 2), ("r", 0), ("r", 1)])
    x = np.zeros((32, 64), "<i8")
    x[0:16, 0:32] = base0 + 1000 * rounds
    x[16:32, 32:40] = base3 + 1000 * rounds
    x[16:32, 0:32] = rounds
    assert len(seen) == 2
    check_files(a, x, kw)


@pytest.mark.parametrize("kind", STORAGES)
def test_resize_while_writing(tmp_path, kind):
    """A resize waits for the writes in progress and they for it: every write lands whole in
    the array as it is when the write takes its chunks."""
    kw = storage_kw(kind, tmp_path)
    a = ndpack.zeros((16, 16), "<i2", chunks=(4, 4), blocks=(2, 2), **kw)

    def writer(t):
        for k in range(30):
            a[t, 0:16] = np.full(16, t * 100 + k, "<i2")

    def resizer(_):
        for k in range(10):
            a.resize((16, 16 + 4 * ((k + 1) % 2)))

    run_threads(lambda role, arg: writer(arg) if role == "w" else resizer(arg),
                [("w", t) for t in range(4)] + [("r", 0)])
    assert a.shape == (16, 16)
    x = np.zeros((16, 16), "<i2")
    for t in range(4):
        x[t] = t * 100 + 29
    check_files(a, x, kw)
