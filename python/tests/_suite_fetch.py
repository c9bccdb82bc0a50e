"""Fetching the test suites of other projects for the suite runners (``numcodecs_suite/run.py``,
``zarr_suite/run.py``): the sdist of one exact version, downloaded with pip once, and the parts
the runner needs extracted into a cache folder."""

from __future__ import annotations

import subprocess
import sys
import tarfile
from pathlib import Path


def fetch_sdist(name: str, ver: str, cache: Path, parts: tuple[str, ...]) -> Path:
    """The root of the extracted sdist of ``name==ver`` under ``cache``, holding ``parts``
    (paths inside the sdist, a trailing ``/`` for a folder). Downloads the sdist the first time
    (only this package from source: ``--no-binary :all:`` would also build its build
    dependencies from source) and extracts only ``parts``; later calls reuse the folder."""
    root = cache / f"{name}-{ver}"
    done = root / ".extracted"
    if done.exists():
        return root
    cache.mkdir(parents=True, exist_ok=True)
    sdist = cache / f"{name}-{ver}.tar.gz"
    if not sdist.exists():
        subprocess.run(
            [sys.executable, "-m", "pip", "download", f"{name}=={ver}", "--no-binary", name,
             "--no-deps", "-q", "-d", str(cache)],
            check=True,
        )
    prefix = f"{name}-{ver}/"
    wanted = tuple(prefix + p for p in parts)
    with tarfile.open(sdist) as tar:
        members = [m for m in tar.getmembers() if m.name.startswith(wanted)]
        tar.extractall(cache, members=members, filter="data")
    done.touch()
    return root
