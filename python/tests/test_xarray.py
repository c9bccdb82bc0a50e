"""xarray's engine="ndpack": datasets written by ndpack.xarray.to_ndpack and by xarray-blosc2 1.7.1
(the fixture made by data/make_xarray_blosc2_fixture.py) open lazily with the storage chunks as
Dask chunks and compute on a 2-process cluster; to_ndpack(compute=False) then dask.compute; what
ndpack writes opens in xarray-blosc2 too."""

from __future__ import annotations

import os
import shutil
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


# ---- to_ndpack's to_zarr arguments: append_dim, region, group, modes -------------------------------


def assert_same(path, want, group=None, engine="ndpack"):
    """The dataset at ``path`` equals ``want`` (values, dims, coordinates, string labels)."""
    back = xr.open_dataset(path, engine=engine, group=group) if engine == "ndpack" else xr.open_dataset(
        path, engine=engine)
    want = want.compute()
    for name in want.variables:
        np.testing.assert_array_equal(np.asarray(back[name].values), np.asarray(want[name].values), err_msg=name)
        assert back[name].dims == want[name].dims, name
    assert set(back.data_vars) == set(want.data_vars)
    return back


def check_blosc2_chunks(path):
    """python-blosc2 reads every chunk of every array in dataset directory ``path``."""
    blosc2 = pytest.importorskip("blosc2")
    for entry in sorted(os.listdir(path)):
        if entry.endswith(".b2nd"):
            s = blosc2.open(os.path.join(path, entry)).schunk
            for i in range(s.nchunks):
                assert len(s.get_lazychunk(i)) >= 32
                assert len(s.decompress_chunk(i)) == s.chunksize


def test_append_in_two_steps_equals_the_concatenation(client, tmp_path):
    ds = dataset()
    # Along the outer dimension, the storage chunks (3 steps) cut by the first part (2 steps):
    # the append's first block writes part of a stored chunk (under its lock).
    path = tmp_path / "time"
    enc = {"temp": {"chunks": (3, 5, 6)}}
    ndx.to_ndpack(ds.isel(time=slice(0, 2)), path, encoding=enc)
    assert ndx.to_ndpack(ds.isel(time=slice(2, 4)), path, append_dim="time") == str(path)
    back = assert_same(path, ds)
    assert list(back["month"].values) == ["jan", "feb", "mar", "apr"]
    assert back["temp"].attrs == ds["temp"].attrs and back.attrs["title"] == "ndpack fixture"
    assert_same(path, ds, engine="blosc2")
    check_blosc2_chunks(path)
    # Along an inner dimension (stored chunks move to new positions), lazily.
    path = tmp_path / "lon"
    ndx.to_ndpack(ds.isel(lon=slice(0, 6)), path)
    d = ndx.to_ndpack(ds.isel(lon=slice(6, 12)), path, append_dim="lon", compute=False)
    assert isinstance(d, Delayed)
    assert xr.open_dataset(path, engine="ndpack").sizes["lon"] == 12   # resized at once, as to_zarr
    dask.compute(d)
    assert_same(path, ds)
    assert_same(path, ds, engine="blosc2")
    check_blosc2_chunks(path)
    # mode="a-" leaves the variables without the append dimension alone.
    path = tmp_path / "aminus"
    ndx.to_ndpack(ds.isel(time=slice(0, 3)), path)
    rest = ds.isel(time=slice(3, 4)).assign_coords(lat=ds["lat"] + 1.0)
    ndx.to_ndpack(rest, path, mode="a-", append_dim="time")
    assert_same(path, ds)


def test_append_to_an_xarray_blosc2_dataset(client, tmp_path):
    path = tmp_path / "xb2"
    shutil.copytree(FIXTURE, path)
    more = fixture.expected().isel(time=slice(1, 3)).assign_coords(time=[24, 30], month=("time", ["may", "jun"]))
    ndx.to_ndpack(more.chunk({"time": 1}), path, append_dim="time")
    want = xr.concat([fixture.expected(), more], dim="time")
    assert_same(path, want)
    back = assert_same(path, want, engine="blosc2")
    assert list(back["month"].values) == ["jan", "feb", "mar", "apr", "may", "jun"]


def test_region_writes_from_the_workers_equal_numpy(client, tmp_path):
    ds = dataset()
    path = tmp_path / "region"
    # The template: arrays of the final shape, values never computed (to_zarr's idiom).
    template = xr.zeros_like(ds).assign_coords(month=ds["month"])
    ndx.to_ndpack(template, path, compute=False)
    want = {n: np.zeros(ds[n].shape, ds[n].dtype) for n in ("temp", "pres")}
    rng = np.random.default_rng(5)
    writes = [
        {"time": slice(0, 4), "lat": slice(0, 5)},              # whole chunks: lock-free
        {"time": slice(1, 3), "lat": slice(3, 9), "lon": slice(2, 12)},   # cuts chunks: locked
        {"lon": slice(6, 12)},
    ]
    for k, reg in enumerate(writes):
        part = ds.isel(reg).copy(deep=True)
        # As with to_zarr: variables without a region dimension are dropped by the caller.
        part = part.drop_vars([k for k, v in part.variables.items() if not set(reg) & set(v.dims)])
        for n in ("temp", "pres"):
            vals = rng.standard_normal(part[n].shape).astype(part[n].dtype)
            part[n] = part[n].copy(data=vals)
            idx = tuple(reg.get(d, slice(None)) for d in ds[n].dims)
            want[n][idx] = vals
        part = part.chunk({"time": 1, "lat": 2, "lon": 3})
        ndx.to_ndpack(part, path, region=reg)
    back = xr.open_dataset(path, engine="ndpack", chunks={})
    for n in ("temp", "pres"):
        np.testing.assert_array_equal(back[n].values, want[n])
    np.testing.assert_array_equal(back["lat"].values, ds["lat"].values)   # index coords not written
    check_blosc2_chunks(path)
    # region="auto" finds the place from the coordinate values.
    part = (ds.isel(time=slice(2, 4), lon=slice(3, 9)) * 2).compute()
    ndx.to_ndpack(part.chunk({"time": 1}), path, region="auto")
    for n in ("temp", "pres"):
        want[n][2:4, :, 3:9] = part[n].values
    back = xr.open_dataset(path, engine="ndpack")
    for n in ("temp", "pres"):
        np.testing.assert_array_equal(back[n].values, want[n])
    ref = xr.open_dataset(path, engine="blosc2")
    np.testing.assert_array_equal(ref["temp"].values, want["temp"])
    # Blocks smaller than the storage chunks and not rechunked: several blocks, from both
    # workers, patch each chunk; the chunk locks serialise them and every item lands.
    part = ds.isel(time=slice(0, 4), lat=slice(1, 10)).drop_vars(["lon"]).copy(deep=True)
    for n in ("temp", "pres"):
        vals = rng.standard_normal(part[n].shape).astype(part[n].dtype)
        part[n] = part[n].copy(data=vals)
        want[n][:, 1:10, :] = vals
    part = part.chunk({"time": 1, "lat": 1, "lon": 4})
    ndx.to_ndpack(part, path, region={"time": slice(0, 4), "lat": slice(1, 10)}, align_chunks=False)
    back = xr.open_dataset(path, engine="ndpack")
    for n in ("temp", "pres"):
        np.testing.assert_array_equal(back[n].values, want[n])
    # A non-index coordinate along the region is written too (string labels).
    part = ds.isel(time=slice(1, 2)).assign_coords(month=("time", ["FEB"])).drop_vars(["lat", "lon"])
    ndx.to_ndpack(part, path, region={"time": slice(1, 2)})
    assert list(xr.open_dataset(path, engine="ndpack")["month"].values) == ["jan", "FEB", "mar", "apr"]


def test_groups_round_trip(client, tmp_path):
    ds = dataset()
    path = tmp_path / "grouped"
    ndx.to_ndpack(ds, path)
    ndx.to_ndpack(ds[["temp"]] * 2, path, group="g1")
    ndx.to_ndpack(ds[["pres"]].isel(time=slice(0, 2)), path, group="a/b")
    assert_same(path, ds)
    assert_same(path, ds[["temp"]] * 2, group="g1")
    assert_same(path, ds[["pres"]].isel(time=slice(0, 2)), group="/a/b/")
    ndx.to_ndpack(ds[["pres"]].isel(time=slice(2, 4)), path, group="a/b", append_dim="time")
    assert_same(path, ds[["pres"]], group="a/b")
    assert_same(str(path / "g1"), ds[["temp"]] * 2, engine="blosc2")
    # mode="w" on a group replaces only that group; on the root, everything.
    ndx.to_ndpack(ds[["temp"]], path, group="g1", mode="w")
    assert_same(path, ds[["temp"]], group="g1")
    assert_same(path, ds)
    only_groups = tmp_path / "only_groups"
    ndx.to_ndpack(ds, only_groups, group="g")
    ndx.to_ndpack(ds[["pres"]], only_groups, mode="w")
    assert_same(only_groups, ds[["pres"]])
    assert not (only_groups / "g").exists()
    with pytest.raises(FileExistsError):
        ndx.to_ndpack(ds, path, group="g1")
    with pytest.raises(FileNotFoundError):
        xr.open_dataset(path, engine="ndpack", group="nope")
    for bad in ("../up", "a/../b", "_x", "v.b2nd"):
        with pytest.raises(ValueError, match="invalid group"):
            ndx.to_ndpack(ds, path, group=bad)


def test_to_ndpack_refuses_bad_arguments_and_changes_nothing(client, tmp_path):
    ds = dataset()
    path = tmp_path / "err"
    ndx.to_ndpack(ds, path)
    snapshot = {e: os.path.getmtime(path / e) for e in os.listdir(path)}
    later = ds.isel(time=slice(0, 1)).assign_coords(time=[99])
    at_time = later.drop_vars(["lat", "lon"])   # for regions along time only
    cases = [
        (later, dict(append_dim="time", mode="w"), ValueError, "cannot set append_dim"),
        (later, dict(region={"time": slice(0, 1)}, mode="w"), ValueError, "cannot set region"),
        (later, dict(mode="x"), ValueError, "supported options for mode"),
        (later, dict(append_dim="depth"), ValueError, "does not match any existing dataset dimensions"),
        (later, dict(region={"time": slice(0, 1)}), ValueError, "drop_vars\\(\\['lat', 'lon'\\]\\)"),
        (at_time, dict(region={"time": slice(0, 1)}, append_dim="time"), ValueError, "both ``append_dim``"),
        (at_time, dict(region={"depth": slice(0, 1)}), ValueError, "not in Dataset dimensions"),
        (at_time, dict(region={"time": slice(0, 1, 2)}), ValueError, "step on all slices"),
        (at_time, dict(region={"time": 3}), TypeError, "must be slice objects"),
        (at_time, dict(region=["time"]), TypeError, "must be a dict"),
        (at_time, dict(region={"time": slice(0, 2)}), ValueError, "different dimension sizes"),
        (at_time, dict(region="auto"), KeyError, "Not all values of coordinate 'time'"),
        (at_time, dict(region="auto", mode="a-"), ValueError, "must be 'r\\+' or 'a'"),
    ]
    for data, kwargs, exc, match in cases:
        with pytest.raises(exc, match=match):
            ndx.to_ndpack(data, path, **kwargs)
    with pytest.raises(ValueError, match="different dimension sizes"):
        ndx.to_ndpack(later.isel(lat=slice(0, 4)), path, append_dim="time")
    with pytest.raises(ValueError, match="Mismatched dtypes"):
        ndx.to_ndpack(later.assign(temp=later["temp"].astype("f8")), path, append_dim="time")
    with pytest.raises(ValueError, match="different dimension names"):
        ndx.to_ndpack(later.rename({"lon": "x"}).drop_vars("x"), path, append_dim="time")
    with pytest.raises(ValueError, match="already exists, but encoding was provided"):
        ndx.to_ndpack(later, path, append_dim="time", encoding={"temp": {"chunks": (1, 5, 6)}})
    with pytest.raises(ValueError, match="is new but has the append dimension"):
        ndx.to_ndpack(later.assign(extra=later["temp"]), path, append_dim="time")
    with pytest.raises(ValueError, match="drop_vars\\(\\['mask'\\]\\)"):
        ndx.to_ndpack(ds.assign(mask=ds["temp"].isel(time=0)).drop_vars(["lat", "lon"]), path,
                      region={"time": slice(0, 4)})
    with pytest.raises(ValueError, match="non-pre-existing variables"):
        ndx.to_ndpack(ds[["temp"]].assign(extra=ds["temp"]), path, mode="r+")
    with pytest.raises(ValueError, match="different dimension sizes"):
        ndx.to_ndpack(ds.isel(lat=slice(0, 3)), path, mode="r+")
    with pytest.raises(FileNotFoundError):
        ndx.to_ndpack(ds, tmp_path / "missing", mode="r+")
    with pytest.raises(ValueError, match="does not match any existing dataset dimensions"):
        ndx.to_ndpack(ds, tmp_path / "missing", append_dim="time")
    assert not (tmp_path / "missing").exists()
    (tmp_path / "other").mkdir()
    (tmp_path / "other" / "notes.txt").write_text("not a dataset")
    with pytest.raises(ValueError, match="not a dataset directory"):
        ndx.to_ndpack(ds, tmp_path / "other", mode="w")
    assert (tmp_path / "other" / "notes.txt").exists()
    assert {e: os.path.getmtime(path / e) for e in os.listdir(path)} == snapshot
    assert_same(path, ds)
    # mode="a" without append_dim overwrites existing variables and adds new ones; "r+" writes values.
    ndx.to_ndpack(ds.assign(temp=ds["temp"] + 1, extra=ds["pres"] * 2), path, mode="a")
    ndx.to_ndpack(ds[["pres"]] - 1, path, mode="r+")
    assert_same(path, ds.assign(temp=ds["temp"] + 1, extra=ds["pres"] * 2, pres=ds["pres"] - 1))


def test_region_blocks_are_rechunked_onto_storage_chunk_boundaries():
    from ndpack.xarray._write import _region_chunks

    rng = np.random.default_rng(11)
    for _ in range(300):
        ndim = int(rng.integers(1, 4))
        storage = tuple(int(c) for c in rng.integers(1, 9, ndim))
        starts = tuple(int(s) for s in rng.integers(0, 30, ndim))
        chunks = tuple(tuple(int(n) for n in rng.integers(1, 12, int(rng.integers(1, 6)))) for _ in range(ndim))
        new = _region_chunks(chunks, storage, starts)
        out = chunks if new is None else new
        for dims, old, c, s in zip(out, chunks, storage, starts):
            assert sum(dims) == sum(old) and all(n > 0 for n in dims)
            assert all((s + b) % c == 0 for b in np.cumsum(dims)[:-1]), (chunks, storage, starts, out)
        if new is None:
            assert all(all((s + b) % c == 0 for b in np.cumsum(d)[:-1]) for d, c, s in zip(chunks, storage, starts))
