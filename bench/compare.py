"""ndpack beside numcodecs, blosc2, zfpy, numpy and spdl, on the same data in one process.

Usage: python bench/compare.py [codecs|npy|zfp|blosc ...]   (default: all sections)

Each section prints Markdown tables with throughputs and the ratio ndpack/peer (> 1: ndpack faster).
"""

from __future__ import annotations

import importlib
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

SECTIONS = ["codecs", "filters", "objects", "npy", "zfp", "blosc"]


def main(argv: list) -> None:
    wanted = argv or SECTIONS
    for name in wanted:
        try:
            module = importlib.import_module(f"bench_{name}")
        except ModuleNotFoundError as e:
            print(f"(section {name} unavailable: {e})")
            continue
        module.run()


if __name__ == "__main__":
    main(sys.argv[1:])
