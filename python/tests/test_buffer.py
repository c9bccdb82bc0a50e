"""ndpack.Buffer and ndpack.NDBuffer: zero-copy with NumPy both ways, buffer protocol,
__array_interface__, DLPack, and zarr's method names."""

import ctypes
import gc
import sys
import weakref

import numpy as np
import pytest
from conftest import ALL_DTYPES, sample

import ndpack
from ndpack import Buffer, NDBuffer


# --- Buffer ----------------------------------------------------------------------------------


def test_buffer_from_bytes_shares_and_keeps_alive():
    data = bytes(range(256)) * 4
    before = sys.getrefcount(data)
    b = Buffer.from_bytes(data)
    assert sys.getrefcount(data) > before  # the buffer holds the bytes object
    assert len(b) == b.nbytes == 1024
    assert b.to_bytes() == data
    view = b.as_numpy_array()
    assert np.shares_memory(view, np.frombuffer(data, np.uint8))
    assert view.dtype == np.uint8 and view.shape == (1024,)
    assert not view.flags.writeable
    del b
    gc.collect()
    assert view.tobytes() == data  # the NumPy view keeps everything alive


def test_buffer_from_numpy_is_zero_copy_and_owner_lives():
    arr = np.arange(1000, dtype="<f8")
    ref = weakref.ref(arr) if hasattr(arr, "__weakref__") else None
    b = Buffer.from_array_like(arr)
    out = b.as_array_like()
    assert np.shares_memory(out, arr)
    assert np.shares_memory(np.asarray(memoryview(b)), arr)
    del arr
    gc.collect()
    if ref is not None:
        assert ref() is not None  # kept alive by the buffer
    assert np.array_equal(out.view("<f8"), np.arange(1000, dtype="<f8"))


def test_buffer_from_fortran_and_any_dtype():
    for dtype in ALL_DTYPES:
        arr = np.asfortranarray(sample(dtype, (4, 6), seed=1))
        b = Buffer.from_array_like(arr)
        assert b.to_bytes() == arr.tobytes(order="A")
        assert np.shares_memory(b.as_numpy_array(), arr.reshape(-1, order="A").view("u1"))
    with pytest.raises(ValueError):
        Buffer.from_array_like(np.arange(10)[::2])
    with pytest.raises(TypeError):
        Buffer.from_array_like(np.array([None]))
    with pytest.raises(TypeError):
        Buffer.from_bytes(12345)


def test_buffer_protocol_and_memoryview():
    b = Buffer.from_bytes(b"hello world")
    m = memoryview(b)
    assert m.readonly and m.format == "B" and m.shape == (11,) and m.tobytes() == b"hello world"
    assert bytes(b) == b"hello world"
    assert b.as_buffer_like().tobytes() == b"hello world"
    with pytest.raises(ValueError, match="read-only"):
        np.frombuffer(b, np.uint8)[0] = 1
    with pytest.raises(TypeError):  # a writable export is refused
        ctypes.c_char.from_buffer(b)
    m.release()


def test_buffer_array_interface():
    b = Buffer.from_bytes(b"abcdef")
    ai = b.__array_interface__
    assert ai["version"] == 3 and ai["typestr"] == "|u1" and ai["shape"] == (6,)
    assert ai["data"][1] is True  # read-only
    assert ai["data"][0] == np.frombuffer(b, np.uint8).ctypes.data


def test_buffer_dlpack():
    arr = np.arange(100, dtype=np.uint8)
    b = Buffer.from_array_like(arr)
    assert b.__dlpack_device__() == (1, 0)
    out = np.from_dlpack(b)
    assert np.shares_memory(out, arr) and np.array_equal(out, arr)
    legacy = np.from_dlpack(_LegacyOnly(b))
    assert np.array_equal(legacy, arr)
    del b
    gc.collect()
    assert np.array_equal(out, np.arange(100, dtype=np.uint8))


class _LegacyOnly:
    """Forces the DLPack 0.x capsule (no max_version)."""

    def __init__(self, obj):
        self.obj = obj

    def __dlpack__(self, stream=None, **kwargs):
        return self.obj.__dlpack__(stream=stream)

    def __dlpack_device__(self):
        return self.obj.__dlpack_device__()


def test_unconsumed_dlpack_capsules_are_freed():
    b = Buffer.from_bytes(bytes(1000))
    for _ in range(1000):
        b.__dlpack__()
        b.__dlpack__(max_version=(1, 0))
    gc.collect()
    assert len(b) == 1000


def test_buffer_zarr_methods():
    z = Buffer.create_zero_length()
    assert len(z) == 0 and z.to_bytes() == b"" and z.as_numpy_array().shape == (0,)
    a = Buffer.from_bytes(b"abc")
    c = a + Buffer.from_bytes(b"def")
    assert isinstance(c, Buffer) and c.to_bytes() == b"abcdef"
    assert (a + b"xy").to_bytes() == b"abcxy"
    assert c[1:4].to_bytes() == b"bcd"
    assert np.shares_memory(c[1:4].as_numpy_array(), c.as_numpy_array())
    assert c[4:100].to_bytes() == b"ef" and c[5:2].to_bytes() == b""
    assert Buffer.from_buffer(c) == c and c != a
    with pytest.raises(ValueError):
        c[::2]
    assert repr(a) == "Buffer(3 bytes)"


def test_codecs_take_buffers():
    data = bytes(range(200)) * 50
    b = Buffer.from_bytes(data)
    codec = ndpack.codecs.Zlib()
    enc = codec.encode(b)
    assert codec.decode(Buffer.from_bytes(enc)) == data


# --- NDBuffer --------------------------------------------------------------------------------


@pytest.mark.parametrize("dtype", ALL_DTYPES)
def test_ndbuffer_round_trips_every_dtype_without_copy(dtype):
    for order in "CF":
        arr = np.asarray(sample(dtype, (3, 4, 5), seed=2), order=order)
        nd = NDBuffer.from_ndarray_like(arr)
        assert nd.dtype == arr.dtype and nd.shape == arr.shape and nd.order == order
        back = nd.as_numpy_array()
        assert back.dtype == arr.dtype and back.shape == arr.shape
        assert np.array_equal(back, arr)
        assert np.shares_memory(back, arr)
        assert not back.flags.writeable
        assert back.flags.f_contiguous == (order == "F")
        assert nd.as_ndarray_like() is not None


def test_ndbuffer_non_contiguous_is_copied_in_c_order():
    arr = np.arange(60, dtype="<i4").reshape(6, 10)[:, ::3]
    nd = NDBuffer.from_ndarray_like(arr)
    assert nd.order == "C" and np.array_equal(nd.as_numpy_array(), arr)
    assert not np.shares_memory(nd.as_numpy_array(), arr)


def test_ndbuffer_buffer_protocol_formats():
    for dtype, fmt in [("<f4", "<f"), (">i8", ">q"), ("|b1", "?"), ("<c16", "<Zd"), ("|S3", "3s"), ("<U2", "<2w"), ("<f2", "<e")]:
        arr = sample(dtype, (2, 3), seed=0)
        nd = NDBuffer.from_ndarray_like(arr)
        m = memoryview(nd)
        assert m.format == fmt and m.shape == (2, 3) and m.readonly
        assert np.array_equal(np.asarray(m), arr)
    f = np.asfortranarray(np.arange(6, dtype="<i2").reshape(2, 3))
    m = memoryview(NDBuffer.from_ndarray_like(f))
    assert m.strides == (2, 4) and m.f_contiguous
    assert np.array_equal(np.asarray(m), f)
    # datetimes have no PEP 3118 code: NumPy falls back to __array_interface__
    t = np.arange(4).astype("<M8[s]")
    nd = NDBuffer.from_ndarray_like(t)
    with pytest.raises(BufferError):
        memoryview(nd)
    assert np.array_equal(nd.as_numpy_array(), t) and nd.as_numpy_array().dtype == t.dtype


def test_ndbuffer_array_interface():
    f = np.asfortranarray(np.arange(12, dtype=">f8").reshape(3, 4))
    ai = NDBuffer.from_ndarray_like(f).__array_interface__
    assert ai["typestr"] == ">f8" and ai["shape"] == (3, 4) and ai["strides"] == (8, 24)
    assert ai["data"] == (f.ctypes.data, True)
    c = NDBuffer.from_ndarray_like(np.zeros((2, 2), "<M8[ns]")).__array_interface__
    assert c["typestr"] == "<M8[ns]" and c["strides"] is None


def test_ndbuffer_dlpack():
    for dtype in ["<f4", "<i8", "|u1", "|b1", "<c16", "<f2"]:
        for order in "CF":
            arr = np.asarray(sample(dtype, (3, 5), seed=4), order=order)
            nd = NDBuffer.from_ndarray_like(arr)
            out = np.from_dlpack(nd)
            assert out.dtype == arr.dtype and np.array_equal(out, arr), (dtype, order)
            assert np.shares_memory(out, arr)
            assert np.array_equal(np.from_dlpack(_LegacyOnly(nd)), arr)
    for dtype in [">f8", "|S3", "<M8[s]"]:
        with pytest.raises(BufferError):
            NDBuffer.from_ndarray_like(sample(dtype, (3,))).__dlpack__()
    with pytest.raises(BufferError):
        NDBuffer.from_ndarray_like(np.zeros(3)).__dlpack__(dl_device=(2, 0))


def test_ndbuffer_create_and_empty():
    nd = NDBuffer.create(shape=(3, 4), dtype="<i4", fill_value=7)
    assert np.array_equal(nd.as_numpy_array(), np.full((3, 4), 7, "<i4"))
    assert nd.all_equal(7) and not nd.all_equal(8) and not nd.all_equal(7.5)
    assert not nd.all_equal(None)
    nd = NDBuffer.create(shape=(2, 5), dtype=">f8", order="F", fill_value=np.nan)
    assert nd.order == "F" and nd.as_numpy_array().flags.f_contiguous
    assert nd.all_equal(np.nan) and not nd.all_equal(np.nan, equal_nan=False)
    assert NDBuffer.create(shape=(4,), dtype="<f4", fill_value=-0.0).all_equal(0.0)
    e = NDBuffer.empty((0, 3), np.dtype("<c8"))
    assert e.shape == (0, 3) and e.as_numpy_array().shape == (0, 3)
    s = NDBuffer.create(shape=(2,), dtype="<U3", fill_value="ab")
    assert s.all_equal("ab") and list(s.as_numpy_array()) == ["ab", "ab"]
    t = NDBuffer.create(shape=(2,), dtype="<M8[D]", fill_value="2020-01-02")
    assert t.all_equal(np.datetime64("2020-01-02"))
    with pytest.raises(ValueError):
        NDBuffer.create(shape=(2,), dtype="<i4", order="X")


def test_ndbuffer_zarr_methods():
    arr = np.arange(24, dtype="<u2").reshape(2, 3, 4)
    nd = NDBuffer.from_numpy_array(arr)
    assert nd.shape == (2, 3, 4) and nd.dtype == np.dtype("<u2") and len(nd) == 2
    assert nd.byteorder == "<" and nd.ndim == 3 and nd.size == 24
    r = nd.reshape((6, -1))
    assert r.shape == (6, 4) and np.shares_memory(r.as_numpy_array(), arr)
    assert np.array_equal(r.as_numpy_array(), arr.reshape(6, 4))
    with pytest.raises(ValueError):
        nd.reshape((5, 5))
    c = nd.copy()
    assert np.array_equal(c.as_numpy_array(), arr) and not np.shares_memory(c.as_numpy_array(), arr)
    assert NDBuffer.from_ndarray_like(np.float32(2.5)).as_scalar() == np.float32(2.5)
    assert NDBuffer.from_ndarray_like(np.array([3], "<i8")).as_scalar() == 3
    with pytest.raises(ValueError):
        nd.as_scalar()
    sub = nd[1, :, 1:3]
    assert isinstance(sub, NDBuffer) and np.array_equal(sub.as_numpy_array(), arr[1, :, 1:3])
    assert "shape=[2, 3, 4]" in repr(nd) and "'<u2'" in repr(nd)


def test_codecs_take_ndbuffers():
    arr = sample("<f8", (10, 20), seed=3)
    nd = NDBuffer.from_ndarray_like(np.asfortranarray(arr))
    codec = ndpack.codecs.Zlib()
    enc = codec.encode(nd)
    assert codec.decode(enc) == np.asfortranarray(arr).tobytes(order="A")
