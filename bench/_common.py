"""Shared helpers of the benchmark scripts: timing, sample arrays, table printing."""

from __future__ import annotations

import time
from typing import Callable, List, Sequence

import numpy as np

MB = 1 << 20


def best_time(fn: Callable[[], object], repeat: int = 5, min_time: float = 0.2) -> float:
    """Best wall time of one call of ``fn`` over ``repeat`` rounds of at least ``min_time`` s."""
    fn()  # warm up
    return min(_per_call(fn, min_time) for _ in range(repeat))


def _per_call(fn: Callable[[], object], min_time: float) -> float:
    """Wall time of one call of ``fn``, averaged over one round of at least ``min_time`` s."""
    n = 0
    start = time.perf_counter()
    while True:
        fn()
        n += 1
        elapsed = time.perf_counter() - start
        if elapsed >= min_time:
            return elapsed / n


def interleaved_times(fns: Sequence[Callable[[], object]], repeat: int = 3, min_time: float = 0.1) -> List[float]:
    """Best wall time of one call of each of ``fns``, measured in alternating rounds (each
    round runs every function for at least ``min_time`` s), so that load changes on a shared
    machine hit all of them alike."""
    for fn in fns:
        fn()  # warm up
    best = [float("inf")] * len(fns)
    for _ in range(repeat):
        for i, fn in enumerate(fns):
            best[i] = min(best[i], _per_call(fn, min_time))
    return best


def sample_arrays(nbytes: int = 16 * MB) -> dict:
    """The benchmark arrays: smooth float32 field, noisy float32, int64 ramp (each ``nbytes``)."""
    rng = np.random.default_rng(0)
    n32 = nbytes // 4
    side = int(np.sqrt(n32))
    y, x = np.mgrid[0:side, 0:side].astype(np.float32)
    smooth = (np.sin(x / 50.0) * np.cos(y / 70.0) * 100.0).astype(np.float32).ravel()
    noisy = rng.standard_normal(n32).astype(np.float32)
    ramp = np.arange(nbytes // 8, dtype=np.int64)
    return {"smooth-f4": smooth, "noisy-f4": noisy, "ramp-i8": ramp}


def print_table(title: str, header: Sequence[str], rows: List[Sequence[object]]) -> None:
    """Prints a Markdown table."""
    print(f"\n### {title}\n")
    print("| " + " | ".join(header) + " |")
    print("|" + "|".join("---" for _ in header) + "|")
    for row in rows:
        cells = [f"{c:.2f}" if isinstance(c, float) else str(c) for c in row]
        print("| " + " | ".join(cells) + " |")
