"""Writes python/tests/data/xarray_blosc2_1.7.1/ with xarray-blosc2 1.7.1 (pinned in
requirements-test.txt): the dataset ``expected()`` returns, saved by ``xarray_blosc2.save_dataset``
in chunks (2, 5, 6) and blocks (1, 5, 6). test_xarray.py opens it with engine="ndpack".

Run from the repository root:  python python/tests/data/make_xarray_blosc2_fixture.py
"""

from __future__ import annotations

import os
import shutil

import numpy as np
import xarray as xr

HERE = os.path.dirname(os.path.abspath(__file__))
OUT = os.path.join(HERE, "xarray_blosc2_1.7.1")


def expected() -> xr.Dataset:
    """The dataset the fixture holds."""
    t, ny, nx = 4, 10, 12
    temp = (np.arange(t * ny * nx, dtype=np.float32).reshape(t, ny, nx) / 7).astype(np.float32)
    pres = 1000.0 + np.sin(np.arange(t * ny * nx, dtype=np.float64)).reshape(t, ny, nx)
    return xr.Dataset(
        {
            "temp": (("time", "lat", "lon"), temp, {"units": "K", "long_name": "air temperature"}),
            "pres": (("time", "lat", "lon"), pres, {"units": "hPa", "note": "synthetic"}),
        },
        coords={
            "time": ("time", np.arange(t, dtype=np.int64) * 6),
            "lat": ("lat", np.linspace(-45.0, 45.0, ny)),
            "lon": ("lon", np.linspace(0.0, 330.0, nx)),
            "month": ("time", ["jan", "feb", "mar", "apr"]),
        },
        attrs={"title": "ndpack fixture", "source": "make_xarray_blosc2_fixture.py"},
    )


def main() -> None:
    from importlib.metadata import version

    import xarray_blosc2

    # The distribution's version (the module's __version__ string of 1.7.1 still reads "1.7.0").
    assert version("xarray-blosc2") == "1.7.1", version("xarray-blosc2")
    if os.path.exists(OUT):
        shutil.rmtree(OUT)
    xarray_blosc2.save_dataset(expected(), OUT, chunks=(2, 5, 6), blocks=(1, 5, 6),
                               history=["made by make_xarray_blosc2_fixture.py"])
    print("wrote", OUT, sorted(os.listdir(OUT)))


if __name__ == "__main__":
    main()
