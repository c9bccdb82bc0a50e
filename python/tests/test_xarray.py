"""xarray's engine="ndpack": datasets written by ndpack.xarray.to_ndpack and by xarray-blosc2 1.7.1
(the fixture made by data/make_xarray_blosc2_fixture.py) open lazily with the storage chunks as
Dask chunks and compute on a 2-process cluster; to_ndpack(compute=False) then dask.compute; what
ndpack writes opens in xarray-blosc2 too."""

from __future__ import annotations

import os
import sys

import numpy as np
import pytest

import dask_helpers

xr = pytest.importorskip("xarray")
dask = pytest.importorskip("dask")
pytest.importorskip("distributed")
Delayed = pytest.importorskip("dask.delayed").Delayed

import ndpack.xarray as ndx  # noqa: E402

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "data"))
import make_xarray_blosc2_fixture as fixture  # noqa: E402

FIXTURE = fixture.OUT


@pytest.fixture(scope="module")
def client():
    with dask_helpers.local_cluster() as c:
        yield c


def dataset(chunked=True):
    ds = fixture.expected()
    return ds.chunk({"time": 2, "lat": 5, "lon": 6}) if chunked else ds


def test_the_engine_is_registered():
    assert "ndpack" in xr.backends.list_engines()
    assert ndx.NDPackBackendEntrypoint().guess_can_open(FIXTURE)


def test_open_the_xarray_blosc2_fixture_lazily_and_compute_on_the_cluster(client):
    want = fixture.expected()
    ds = xr.open_dataset(FIXTURE, engine="ndpack", chunks={})
    assert set(ds.data_vars) == {"temp", "pres"}
    assert ds["temp"].chunks == ((2, 2), (5, 5), (6, 6))
    assert ds["temp"].encoding["preferred_chunks"] == {"time": 2, "lat": 5, "lon": 6}
    assert ds["temp"].attrs["units"] == "K" and ds["temp"].attrs["long_name"] == "air temperature"
    assert ds["pres"].attrs["note"] == "synthetic"
    assert list(ds["month"].values) == ["jan", "feb", "mar", "apr"]
    assert ds.attrs["title"] == "ndpack fixture"
    np.testing.assert_array_equal(ds["lat"].values, want["lat"].values)
    np.testing.assert_array_equal(ds["time"].values, want["time"].values)
    got = (ds["temp"].sum() + ds["pres"].mean(dim="time").sum()).compute()
    exp = want["temp"].sum() + want["pres"].mean(dim="time").sum()
    np.testing.assert_allclose(float(got), float(exp), rtol=1e-6)
    np.testing.assert_array_equal(ds["pres"].isel(lat=slice(2, 7), lon=3).values,
                                  want["pres"].isel(lat=slice(2, 7), lon=3).values)
    # The same as xarray-blosc2 reads it.
    ref = xr.open_dataset(FIXTURE, engine="blosc2")
    for name in ("temp", "pres"):
        np.testing.assert_array_equal(ds[name].values, ref[name].values)


def test_to_ndpack_opens_in_ndpack_and_xarray_blosc2(client, tmp_path):
    path = tmp_path / "out"
    ds = dataset()
    assert ndx.to_ndpack(ds, path) == str(path)
    back = xr.open_dataset(path, engine="ndpack", chunks={})
    assert back["temp"].chunks == ds["temp"].chunks
    xr.testing.assert_equal(back[["temp", "pres"]].compute().drop_vars("month"),
                            ds[["temp", "pres"]].compute().drop_vars("month"))
    assert back["temp"].attrs == ds["temp"].attrs
    assert list(back["month"].values) == list(ds["month"].values)
    ref = xr.open_dataset(path, engine="blosc2")
    np.testing.assert_array_equal(ref["temp"].values, ds["temp"].values)
    np.testing.assert_array_equal(ref["pres"].values, ds["pres"].values)
    np.testing.assert_array_equal(ref["lon"].values, ds["lon"].values)
    with pytest.raises(FileExistsError):
        ndx.to_ndpack(ds, path)
    # Numpy-backed variables, replacing the directory.
    ndx.to_ndpack(dataset(chunked=False), path, mode="w", encoding={"temp": {"chunks": (1, 10, 12)}})
    back = xr.open_dataset(path, engine="ndpack", chunks={})
    assert back["temp"].chunks == ((1, 1, 1, 1), (10,), (12,))
    np.testing.assert_array_equal(back["temp"].values, ds["temp"].values)


def test_to_ndpack_compute_false_then_dask_compute(client, tmp_path):
    path = tmp_path / "lazy"
    ds = dataset()
    d = ndx.to_ndpack(ds, path, compute=False)
    assert isinstance(d, Delayed)
    dask.compute(d)
    back = xr.open_dataset(path, engine="ndpack", chunks={})
    np.testing.assert_array_equal(back["temp"].values, ds["temp"].values)
    np.testing.assert_allclose(float(back["pres"].sum().compute()), float(ds["pres"].sum().compute()))
