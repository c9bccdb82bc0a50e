"""Shared test helpers: where the fixtures are, seeded random data, sample arrays."""

import contextlib
import os
from pathlib import Path

import numpy as np
import pytest

import ndpack

REPO_ROOT = Path(__file__).resolve().parents[2]
FIXTURES = Path(os.environ.get("NDPACK_FIXTURES", REPO_ROOT.parent / "shared" / "fixtures"))


@pytest.fixture
def fixtures() -> Path:
    """The ../shared/fixtures folder beside the repository."""
    assert FIXTURES.is_dir(), f"fixtures not found at {FIXTURES}"
    return FIXTURES


@pytest.fixture
def rng() -> np.random.Generator:
    return np.random.default_rng(42)


#: Every dtype the byte codecs are checked with (numcodecs accepts all of them).
ALL_DTYPES = [
    "|b1",
    "|i1",
    "|u1",
    "<i2",
    "<u2",
    "<i4",
    "<u4",
    "<i8",
    "<u8",
    ">i2",
    ">u4",
    ">i8",
    "<f2",
    "<f4",
    "<f8",
    ">f4",
    ">f8",
    "<c8",
    "<c16",
    ">c16",
    "<M8[ns]",
    "<M8[D]",
    "<m8[s]",
    ">m8[ms]",
    "|S5",
    "<U3",
    ">U2",
]


@contextlib.contextmanager
def ndpack_threads(n: int):
    """Runs the body with ndpack's pool at ``n`` threads, then restores the count."""
    before = ndpack.get_nthreads()
    ndpack.set_nthreads(n)
    try:
        yield
    finally:
        ndpack.set_nthreads(before)


def varied(nbytes: int, seed: int = 0) -> bytes:
    """``nbytes`` compressible but not trivial bytes: a ramp of int32 with noisy stretches (a
    length that is not a multiple of 4 ends in zero bytes)."""
    rng = np.random.default_rng(seed)
    a = np.arange(nbytes // 4, dtype=np.int32)
    noisy = rng.integers(0, 1 << 31, size=a.size, dtype=np.int32)
    mask = (np.arange(a.size) // 4096) % 3 == 0
    a[mask] = noisy[mask]
    return a.tobytes() + bytes(nbytes % 4)


def sample(dtype: str, shape, seed: int = 0) -> np.ndarray:
    """A seeded, mildly compressible array of ``dtype`` and ``shape``."""
    rng = np.random.default_rng(seed)
    dt = np.dtype(dtype)
    n = int(np.prod(shape))
    if dt.kind == "b":
        flat = rng.random(n) < 0.3
    elif dt.kind in "iu":
        info = np.iinfo(dt)
        flat = rng.integers(max(info.min, -1000), min(info.max, 1000), n, endpoint=True)
    elif dt.kind == "f":
        flat = np.round(rng.standard_normal(n) * 100, 2)
    elif dt.kind == "c":
        flat = np.round(rng.standard_normal(n) * 10, 3) + 1j * np.arange(n)
    elif dt.kind in "Mm":
        flat = rng.integers(0, 10**6, n)
        return flat.astype(dt.newbyteorder("=")).astype(dt).reshape(shape)
    elif dt.kind == "S":
        flat = np.array([b"ab%d" % (i % 37) for i in range(n)], dtype="S%d" % dt.itemsize)
    elif dt.kind == "U":
        flat = np.array(["x\u00e9%d" % (i % 11) for i in range(n)], dtype="U%d" % (dt.itemsize // 4))
    else:  # pragma: no cover - every kind above
        raise AssertionError(dt)
    return np.asarray(flat).astype(dt).reshape(shape)


def layouts(arr: np.ndarray):
    """``arr`` in C order, in Fortran order, and as a non-contiguous view of a bigger array."""
    yield "C", np.ascontiguousarray(arr)
    if arr.ndim > 1:
        yield "F", np.asfortranarray(arr)
    big = np.repeat(arr[..., np.newaxis], 2, axis=-1)
    view = big[..., 0]
    if arr.size > 1:
        assert not view.flags.c_contiguous and not view.flags.f_contiguous
    yield "strided", view


def zarr_sample(dtype, shape, seed=0):
    """Deterministic values of `dtype` and `shape` for zarr arrays (rounded floats, small ints,
    short strings, datetimes in seconds)."""
    rng = np.random.default_rng(seed)
    dt = np.dtype(dtype)
    n = int(np.prod(shape))
    if dt.kind == "f":
        a = np.round(rng.normal(0, 100, n), 1)
    elif dt.kind == "c":
        a = rng.normal(0, 1, n) + 1j * rng.normal(0, 1, n)
    elif dt.kind == "b":
        a = rng.integers(0, 2, n)
    elif dt.kind in "SU":
        a = np.array([str(i % 97) for i in range(n)])
    elif dt.kind == "M":
        a = rng.integers(0, 10**6, n).astype("M8[s]")
    else:
        a = rng.integers(0, 100, n)
    return a.astype(dt).reshape(shape)
