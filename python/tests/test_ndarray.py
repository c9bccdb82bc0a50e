"""ndpack.NDArray: constructors, attributes, NumPy indexing, pickling, threads, bad input."""

import pickle

import numpy as np
import pytest

import ndpack


def test_basic_roundtrip(tmp_path):
    x = np.arange(7 * 9 * 5, dtype="f4").reshape(7, 9, 5)
    a = ndpack.asarray(x, chunks=(3, 4, 5), blocks=(2, 2, 5))
    assert a.shape == x.shape and a.dtype == x.dtype and a.chunks == (3, 4, 5) and a.blocks == (2, 2, 5)
    np.testing.assert_array_equal(a[...], x)
    np.testing.assert_array_equal(a[1:6:2, ::-3, 4], x[1:6:2, ::-3, 4])
    a[2:5, ::-2] = 7
    x[2:5, ::-2] = 7
    np.testing.assert_array_equal(np.asarray(a), x)
    b = pickle.loads(pickle.dumps(a))
    np.testing.assert_array_equal(b[...], x)
    path = str(tmp_path / "a.b2nd")
    c = ndpack.zeros((10, 10), "i2", urlpath=path, mode="w")
    c[3] = np.arange(10)
    d = pickle.loads(pickle.dumps(c))
    np.testing.assert_array_equal(d[3], np.arange(10))
    o = ndpack.open(path)
    assert isinstance(o, ndpack.NDArray) and o.mode == "r"
