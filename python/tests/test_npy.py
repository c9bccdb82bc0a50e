"""NPY/NPZ: ndpack against numpy (both directions) and spdl, zero-copy, real fixtures."""

import gc
import io
import mmap
import warnings
import zipfile

import numpy as np
import pytest

import ndpack

DTYPES = [
    "|b1", "|i1", "|u1", "<i2", ">i2", "<u2", ">u2", "<i4", ">i4", "<u4", ">u4", "<i8", ">i8",
    "<u8", ">u8", "<f2", ">f2", "<f4", ">f4", "<f8", ">f8", "<c8", ">c8", "<c16", ">c16",
    "|S5", "<U3", ">U3", "|V4", "<M8[ns]", ">M8[D]", "<m8[s]",
]

RECORD = np.dtype([("a", "<i4"), ("b", ">f8", (2,)), ("c", [("x", "u1"), ("y", "<U2")])])
PADDED = np.dtype({"names": ["a", "b"], "formats": ["u1", "<i4"], "offsets": [0, 4], "itemsize": 12})
TITLED = np.dtype([(("Title A", "a"), "<i2"), ("b", "<f4")])


def np_save(a) -> bytes:
    b = io.BytesIO()
    np.save(b, a)
    return b.getvalue()


def sample(dtype, shape, rng):
    dt = np.dtype(dtype)
    n = int(np.prod(shape))
    raw = rng.integers(0, 256, size=n * dt.itemsize, dtype=np.uint8).tobytes()
    if dt.kind in "SUV" or dt.names:
        a = np.zeros(shape, dtype=dt)
        if dt.kind == "U":
            a[...] = "xyz"
        elif dt.names is None:
            a = np.frombuffer(raw, dtype=dt).reshape(shape)
        else:
            a = np.frombuffer(raw, dtype=np.uint8).view(dt).reshape(shape).copy()
            if "y" in dt["c"].names if "c" in dt.names else False:
                a["c"]["y"] = "ok"
        return a
    if dt.kind == "f" or dt.kind == "c":
        return (rng.standard_normal(n) * 100).astype(dt).reshape(shape)
    if dt.kind == "b":
        return (rng.integers(0, 2, n) == 1).reshape(shape)
    return np.frombuffer(raw, dtype=dt).reshape(shape).copy()


def assert_same(a, b):
    assert a.dtype == b.dtype
    assert a.shape == b.shape
    assert a.tobytes(order="A") == b.tobytes(order="A") or np.array_equal(a, b)
    np.testing.assert_array_equal(a, b)


@pytest.mark.parametrize("dtype", DTYPES + [RECORD, PADDED, TITLED])
@pytest.mark.parametrize("shape", [(), (0,), (7,), (3, 4), (2, 0, 3), (2, 3, 4)])
@pytest.mark.parametrize("order", ["C", "F"])
def test_numpy_to_ndpack_and_back(dtype, shape, order, rng):
    a = np.asarray(sample(dtype, shape, rng), order=order)
    data = np_save(a)
    got = ndpack.load_npy(data)
    assert_same(got, a)
    assert got.flags.f_contiguous == a.flags.f_contiguous
    assert got.flags.c_contiguous == a.flags.c_contiguous
    # ndpack writes numpy's bytes exactly.
    ours = ndpack.save_npy(a)
    assert ours == data
    assert_same(np.load(io.BytesIO(ours)), a)


def test_header_versions_two_and_three():
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        wide = np.zeros(2, dtype=[(f"f{i:05d}", "u1") for i in range(5000)])
        uni = np.zeros(3, dtype=[("é", "<i2"), ("名", "<f4")])
        uni["名"] = [1.5, 2.5, 3.5]
        for a, version in [(wide, 2), (uni, 3)]:
            data = np_save(a)
            assert data[6] == version
            assert_same(ndpack.load_npy(data), a)
            ours = ndpack.save_npy(a)
            assert ours[6] == version
            assert ours == data
    b = io.BytesIO()
    np.lib.format.write_array(b, np.arange(5.0), version=(2, 0))
    assert_same(ndpack.load_npy(b.getvalue()), np.arange(5.0))


def test_zero_copy_read_only_for_bytes():
    a = np.arange(1000, dtype="<f8").reshape(10, 100)
    data = np_save(a)
    got = ndpack.load_npy(data)
    assert np.shares_memory(got, np.frombuffer(data, np.uint8))
    assert not got.flags.writeable
    with pytest.raises(ValueError):
        got[0, 0] = 1
    assert got.base is data


def test_zero_copy_writable_for_bytearray_and_keeps_alive():
    a = np.arange(64, dtype=">i4")
    buf = bytearray(np_save(a))
    got = ndpack.load_npy(buf)
    assert got.flags.writeable
    assert np.shares_memory(got, np.frombuffer(buf, np.uint8))
    got[0] = 12345
    assert ndpack.load_npy(bytes(buf))[0] == 12345
    with pytest.raises(BufferError):
        buf.extend(b"xx")  # exported: cannot resize under the array
    del buf
    gc.collect()
    assert got[0] == 12345 and got[-1] == 63


def test_other_buffer_sources():
    a = np.arange(12, dtype="<u2").reshape(3, 4)
    data = np_save(a)
    for src in [memoryview(data), np.frombuffer(data, np.uint8), memoryview(bytearray(data))]:
        got = ndpack.load_npy(src)
        assert_same(got, a)
    arr = np.frombuffer(bytearray(data), np.uint8)
    got = ndpack.load_npy(arr)
    assert np.shares_memory(got, arr) and got.flags.writeable
    m = mmap.mmap(-1, len(data))
    m.write(data)
    got = ndpack.load_npy(m)
    assert_same(got, a)
    with pytest.raises(ValueError):
        ndpack.load_npy(memoryview(data)[::2])


def test_copy_owns_memory():
    a = np.asfortranarray(np.arange(20.0).reshape(4, 5))
    data = np_save(a)
    got = ndpack.load_npy(data, copy=True)
    assert got.flags.owndata and got.flags.writeable and got.flags.f_contiguous
    assert not np.shares_memory(got, np.frombuffer(data, np.uint8))
    assert_same(got, a)


def test_alignment_of_data():
    got = ndpack.load_npy(np_save(np.arange(16, dtype="<f8")))
    assert got.flags.aligned


@pytest.mark.parametrize(
    "data,exc",
    [
        (b"not an npy file", ValueError),
        (b"\x93NUMPY\x01\x00\x40", ValueError),
        (np_save(np.arange(10))[:-1], ValueError),
        (np_save(np.arange(10)) + b"\x00", ValueError),
        (np_save(np.array([1, None], dtype=object)), ValueError),
        (np_save(np.arange(3)).replace(b"'<i8'", b"'<i9'"), TypeError),
        (np_save(np.arange(3)).replace(b"'descr': '<i8'", b"'descr': open(0)"), ValueError),
    ],
)
def test_bad_npy(data, exc):
    with pytest.raises(exc):
        ndpack.load_npy(data)


def np_savez(compressed, *args, **kwds) -> bytes:
    b = io.BytesIO()
    (np.savez_compressed if compressed else np.savez)(b, *args, **kwds)
    return b.getvalue()


@pytest.mark.parametrize("compressed", [False, True])
def test_npz_from_numpy(compressed, rng):
    arrays = {
        "f": sample("<f4", (30, 20), rng),
        "fo": np.asfortranarray(sample(">i8", (5, 6), rng)),
        "rec": sample(RECORD, (4,), rng),
        "scalar": np.array(3.25),
        "empty": np.zeros((0, 2), dtype="<u2"),
    }
    data = np_savez(compressed, np.arange(5), **arrays)
    z = ndpack.load_npz(data)
    ref = np.load(io.BytesIO(data))
    assert z.files == ref.files == [*arrays, "arr_0"]
    assert len(z) == 6 and list(z) == z.files and list(z.keys()) == z.files
    assert "f" in z and "f.npy" in z and "nope" not in z
    for k in ref.files:
        assert_same(z[k], ref[k])
        assert_same(z[k + ".npy"], ref[k])
        if not compressed:
            assert np.shares_memory(z[k], np.frombuffer(data, np.uint8)) or z[k].size == 0
            assert not z[k].flags.writeable
        else:
            assert z[k].flags.writeable
    assert z["fo"].flags.f_contiguous
    everything = z.load_all()
    assert list(everything) == ref.files
    for k, v in everything.items():
        assert_same(v, ref[k])
    with pytest.raises(KeyError):
        z["missing"]
    assert dict(z).keys() == dict(ref).keys()
    assert repr(z) == "NpzFile object with 6 entries."


def test_npz_keeps_data_alive():
    data = np_savez(False, x=np.arange(100))
    z = ndpack.load_npz(bytearray(data))
    x = z["x"]
    assert x.flags.writeable
    del z
    gc.collect()
    assert x.sum() == 4950


def test_npz_zip64_many_members_from_numpy():
    # zipfile writes ZIP64 end records for more than 65535 members.
    arrays = {f"m{i}": np.array([i], dtype="<i4") for i in range(65537)}
    data = np_savez(False, **arrays)
    assert b"PK\x06\x06" in data[-200:]
    z = ndpack.load_npz(data)
    assert len(z) == 65537
    assert z["m65536"][0] == 65536
    # ndpack writes them too, and numpy reads ours.
    ours = ndpack.save_npz(arrays)
    assert b"PK\x06\x06" in ours[-200:]
    ref = np.load(io.BytesIO(ours))
    assert ref["m65536"][0] == 65536 and len(ref.files) == 65537


def test_npz_forced_zip64_members():
    b = io.BytesIO()
    with zipfile.ZipFile(b, "w", compression=zipfile.ZIP_DEFLATED) as zf:
        for name, a in [("a.npy", np.arange(7)), ("b.npy", np.eye(3))]:
            with zf.open(name, "w", force_zip64=True) as f:
                np.lib.format.write_array(f, a)
        zf.writestr("notes.txt", b"hello")
    z = ndpack.load_npz(b.getvalue())
    assert_same(z["a"], np.arange(7))
    assert_same(z["b"], np.eye(3))
    assert z["notes.txt"] == b"hello"  # non-NPY members are bytes, as in numpy


@pytest.mark.parametrize("compressed", [False, True])
def test_ndpack_npz_read_by_numpy(compressed, rng):
    arrays = {
        "a": sample("<f8", (100, 7), rng),
        "b": np.asfortranarray(sample("<i2", (9, 11), rng)),
        "c": sample(RECORD, (5,), rng),
        "d": np.array(7, dtype=">u4"),
        "e": sample("|S5", (3,), rng),
        "f": np.arange(24)[::2],  # not contiguous
    }
    data = ndpack.save_npz(arrays, compressed=compressed)
    with zipfile.ZipFile(io.BytesIO(data)) as zf:
        assert zf.testzip() is None
        expect = zipfile.ZIP_DEFLATED if compressed else zipfile.ZIP_STORED
        assert all(i.compress_type == expect for i in zf.infolist())
    ref = np.load(io.BytesIO(data))
    assert ref.files == list(arrays)
    for k, v in arrays.items():
        assert_same(ref[k], v)
        assert_same(ndpack.load_npz(data)[k], v)
    # Positional arrays are named arr_0, arr_1, ... as in np.savez.
    pos = ndpack.save_npz([np.arange(3), np.ones(2)], extra=np.zeros(1))
    assert np.load(io.BytesIO(pos)).files == ["extra", "arr_0", "arr_1"]
    with pytest.raises(ValueError):
        ndpack.save_npz([np.arange(3)], arr_0=np.ones(1))
    with pytest.raises(ValueError):
        ndpack.save_npz({"o": np.array([None], dtype=object)})


def test_bad_npz():
    good = np_savez(True, a=np.arange(1000), b=np.arange(10))
    with pytest.raises(ValueError):
        ndpack.load_npz(b"PK\x05\x06" + b"\x00" * 10)
    with pytest.raises(ValueError):
        ndpack.load_npz(good[: len(good) // 2])
    # Corrupt a data byte of the first member: CRC (or deflate) error on access.
    zf = zipfile.ZipFile(io.BytesIO(good))
    info = zf.infolist()[0]
    start = info.header_offset + 30 + len(info.filename) + len(info.extra) + 40
    bad = bytearray(good)
    bad[start] ^= 0xFF
    z = ndpack.load_npz(bytes(bad))
    with pytest.raises(ValueError):
        z["a"]
    assert z["b"][9] == 9
    with pytest.raises(ValueError):
        ndpack.load_npz(good, max_uncompressed_bytes=100)


def test_load_path_uses_mmap(tmp_path):
    a = np.asfortranarray(np.arange(30.0).reshape(5, 6))
    np.save(tmp_path / "a.npy", a)
    np.savez(tmp_path / "z.npz", a=a, b=np.arange(3))
    got = ndpack.load(tmp_path / "a.npy")
    assert_same(got, a)
    assert not got.flags.writeable and isinstance(got.base, object)
    z = ndpack.load(str(tmp_path / "z.npz"))
    assert isinstance(z, ndpack.NpzFile)
    assert_same(z["a"], a)
    assert ndpack.load(tmp_path / "a.npy", copy=True).flags.writeable
    (tmp_path / "empty").write_bytes(b"")
    with pytest.raises(ValueError):
        ndpack.load(tmp_path / "empty")
    (tmp_path / "junk").write_bytes(b"junk data")
    with pytest.raises(ValueError):
        ndpack.load(tmp_path / "junk")


def test_fixtures(fixtures):
    for path in sorted((fixtures / "npz").glob("*.np[yz]")):
        data = path.read_bytes()
        ref = np.load(path)
        ours = ndpack.load(path)
        if path.suffix == ".npy":
            assert_same(ndpack.load_npy(data), ref)
            assert_same(ours, ref)
        else:
            z = ndpack.load_npz(data)
            assert z.files == ref.files
            for k in ref.files:
                assert_same(z[k], ref[k])
                assert_same(ours[k], ref[k])
    goog = ndpack.load(fixtures / "npz" / "goog.npz")["price_data"]
    assert goog.dtype.names and goog.dtype.itemsize == 56
    n = 0
    for path in sorted((fixtures / "numcodecs").glob("*/array.*.npy")):
        ref = np.load(path, allow_pickle=True)
        if ref.dtype.hasobject:
            with pytest.raises(ValueError):
                ndpack.load(path)
            continue
        assert_same(ndpack.load(path), ref)
        n += 1
    assert n > 50



def test_against_spdl(rng):
    import spdl.io

    for dtype in ["<f4", "<i8", "|u1", "<c16", "|b1"]:
        for order in "CF":
            a = np.asarray(sample(dtype, (6, 5), rng), order=order)
            data = np_save(a)
            ours, theirs = ndpack.load_npy(data), spdl.io.load_npy(data)
            assert_same(ours, theirs)
            assert ours.flags.writeable == theirs.flags.writeable
            assert ours.strides == theirs.strides
            ours_c = ndpack.load_npy(bytearray(data), copy=True)
            assert_same(ours_c, spdl.io.load_npy(bytearray(data), copy=True))
    for compressed in [False, True]:
        data = np_savez(compressed, x=np.arange(50), y=np.ones((4, 4), "<f4"))
        ours, theirs = ndpack.load_npz(data), spdl.io.load_npz(data)
        assert ours.files == theirs.files
        assert ("x" in ours) == ("x" in theirs) and ("x.npy" in ours) == ("x.npy" in theirs)
        for k in theirs.files:
            assert_same(ours[k], theirs[k])
        # SPDL's argument name and meaning.
        with pytest.raises(ValueError):
            spdl.io.load_npz(data, max_uncompressed_bytes=10) if compressed else (_ for _ in ()).throw(ValueError())
        with pytest.raises(ValueError):
            ndpack.load_npz(data, max_uncompressed_bytes=10) if compressed else (_ for _ in ()).throw(ValueError())
    # What SPDL cannot do, ndpack can: structured arrays.
    rec = sample(RECORD, (3,), rng)
    assert_same(ndpack.load_npy(np_save(rec)), rec)


def test_gil_released_threads_agree():
    from concurrent.futures import ThreadPoolExecutor

    data = np_savez(True, **{f"a{i}": np.arange(100_000) * i for i in range(8)})
    z = ndpack.load_npz(data)
    with ThreadPoolExecutor(4) as ex:
        results = list(ex.map(lambda k: z[k].sum(), z.files))
    assert results == [np.arange(100_000).sum() * i for i in range(8)]


MAPPING_DTYPES = DTYPES + [RECORD, PADDED, TITLED]


def assert_same_bytes(a, b):
    """Same dtype, shape, memory order and bytes of every field (records of random bytes may
    hold NaNs; NumPy does not keep the padding bytes of records)."""
    assert a.dtype == b.dtype and a.shape == b.shape
    assert a.flags.f_contiguous == b.flags.f_contiguous
    if a.dtype.names:
        for name in a.dtype.names:
            assert_same_bytes(a[name], b[name])
    else:
        assert a.tobytes(order="A") == b.tobytes(order="A")


@pytest.mark.parametrize("compressed", [False, True])
@pytest.mark.parametrize("nthreads", [1, 2, 4])
def test_npz_mapping_every_member_in_any_order(compressed, nthreads, rng):
    # Members of many dtypes, shapes and sizes (some large enough to be decoded without the GIL),
    # read one by one in directory order, reversed and shuffled, each from a fresh archive.
    arrays = {}
    for i, dt in enumerate(MAPPING_DTYPES):
        shape = [(), (0,), (7,), (3, 4), (40, 50), (300, 70)][i % 6]
        a = sample(dt, shape, rng)
        arrays[f"m{i}"] = np.asfortranarray(a) if i % 4 == 1 else a
    arrays["bytes.bin"] = np.arange(3)  # saved as bytes.bin.npy
    data = np_savez(compressed, np.arange(1000), **arrays)
    ref = np.load(io.BytesIO(data))
    previous = ndpack.get_nthreads()
    ndpack.set_nthreads(nthreads)
    try:
        keys = list(ref.files)
        orders = [keys, keys[::-1], [keys[(k * 7 + 3) % len(keys)] for k in range(len(keys))]]
        for order in orders:
            z = ndpack.load_npz(data)
            got = {k: z[k] for k in order}
            for k in order:
                assert_same_bytes(got[k], ref[k])
                assert got[k].flags.writeable == compressed or got[k].size == 0
            # Every member again: same values, fresh memory for deflated members.
            for k in order:
                again = z[k]
                assert_same_bytes(again, ref[k])
                if compressed and again.size:
                    assert not np.shares_memory(again, got[k])
    finally:
        ndpack.set_nthreads(previous)


def test_npz_mapping_arrays_are_independent():
    data = np_savez(True, **{f"a{i}": np.arange(20_000) + i for i in range(6)})
    z = ndpack.load_npz(data)
    first = [z[f"a{i}"] for i in range(6)]
    for a in first:
        a[:] = -1
    for i in range(6):
        np.testing.assert_array_equal(z[f"a{i}"], np.arange(20_000) + i)
        np.testing.assert_array_equal(z.load_all()[f"a{i}"], np.arange(20_000) + i)


def test_npz_mapping_after_close_and_with_block(rng):
    arrays = {f"a{i}": sample("<f8", (100, 30), rng) for i in range(10)}
    data = np_savez(True, **arrays)
    z = ndpack.load_npz(data)
    x = z["a0"]  # decodes members ahead
    z.close()
    # Arrays returned before close keep their memory; members can still be read.
    assert_same(x, arrays["a0"])
    for k, v in arrays.items():
        assert_same(z[k], v)
    z.close()
    with ndpack.load_npz(data) as w:
        y = w["a3"]
    assert_same(y, arrays["a3"])
    assert_same(w["a4"], arrays["a4"])


def test_npz_mapping_bad_member_fails_only_when_read():
    # The third member's data is corrupted (stored, so its CRC-32 no longer matches).
    data = bytearray(np_savez(False, **{f"a{i}": np.arange(1000) + i for i in range(5)}))
    with zipfile.ZipFile(io.BytesIO(bytes(data))) as zf:
        info = zf.getinfo("a2.npy")
    end = info.header_offset + 30 + len(info.filename) + len(info.extra) + info.compress_size
    data[end - 1] ^= 0xFF
    z = ndpack.load_npz(bytes(data))
    np.testing.assert_array_equal(z["a0"], np.arange(1000))
    for _ in range(2):
        with pytest.raises(ValueError, match="CRC"):
            z["a2"]
    for i in (1, 3, 4):
        np.testing.assert_array_equal(z[f"a{i}"], np.arange(1000) + i)


def test_npz_mapping_threads_agree_in_turn():
    from concurrent.futures import ThreadPoolExecutor

    data = np_savez(True, **{f"a{i}": np.arange(50_000) * i for i in range(32)})
    z = ndpack.load_npz(data)
    keys = z.files * 3
    with ThreadPoolExecutor(4) as ex:
        results = list(ex.map(lambda k: int(z[k].sum()), keys))
    assert results == [int(np.arange(50_000).sum()) * int(k[1:]) for k in keys]


def test_npz_mapping_releases_the_gil():
    # With a huge switch interval the main thread never hands the GIL over by force; the ticker
    # thread gives it up at every step. So the ticker counts during an access only if the access
    # released the GIL.
    import sys
    import threading
    import time

    arrays = {f"a{i}": np.random.default_rng(i).standard_normal(1 << 19) for i in range(4)}
    data = ndpack.save_npz(arrays, compressed=True)
    count = [0]
    stop = threading.Event()

    def tick():
        while not stop.is_set():
            count[0] += 1
            time.sleep(0)

    interval = sys.getswitchinterval()
    sys.setswitchinterval(100.0)
    t = threading.Thread(target=tick)
    try:
        t.start()
        while count[0] == 0:
            time.sleep(0.001)
        z = ndpack.load_npz(data)
        counts = []
        for k in z.files:
            before = count[0]
            got = z[k]
            counts.append(count[0] - before)
            assert_same(got, arrays[k])
    finally:
        stop.set()
        t.join()
        sys.setswitchinterval(interval)
    assert counts[0] > 0, counts
