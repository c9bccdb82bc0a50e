"""ndpack beside numcodecs, blosc2, zfpy, numpy and spdl, on the same data in one process.

Usage: python bench/compare.py [codecs|npy|npz|zfp|blosc|schunk|arrays|dask|zarr ...]   (default: all sections)

Each section prints Markdown tables with throughputs and the ratio ndpack/peer (> 1: ndpack faster).
"""

from __future__ import annotations

import importlib
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

SECTIONS = ["codecs", "filters", "objects", "npy", "npz", "zfp", "blosc", "schunk", "arrays", "dask", "zarr"]

# Sections run by a function other than `run` of their `bench_<name>` module.
ENTRY_POINTS = {"npz": ("bench_npy", "run_npz")}


def main(argv: list) -> None:
    wanted = argv or SECTIONS
    for name in wanted:
        module_name, function = ENTRY_POINTS.get(name, (f"bench_{name}", "run"))
        try:
            module = importlib.import_module(module_name)
        except ModuleNotFoundError as e:
            print(f"(section {name} unavailable: {e})")
            continue
        getattr(module, function)()


if __name__ == "__main__":
    main(sys.argv[1:])
