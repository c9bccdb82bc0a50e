"""N-d arrays: ndpack.NDArray beside python-blosc2 4.15's NDArray and caterva 0.7.3's NDArray.

All three run in one process with 2 threads and the same codec, clevel, filters, chunks and
blocks (lz4, clevel 5, SHUFFLE; override the codec with NDPACK_BENCH_CODEC=zstd). Arrays:

- 2048² float32 (a smooth field plus noise), chunks 512², blocks 64²;
- 256³ float32 (the same kind of field), chunks 64³, blocks 16³;

each in memory and in a contiguous file. Rows:

- create: ``asarray`` from a NumPy array (files: a new file each round);
- full read: ``a[...]``;
- 200 random 100×100 (2-d) or 100³ (3-d) slices;
- one row: ``a[k, :]`` (2-d) or ``a[k, j, :]`` (3-d);
- a 100×100 write: ``a[r:r+100, c:c+100] = block`` (3-d: a 1×100×100 plane);
- random 100×100 (100³) slices read from 2 Python threads at once against 1 thread: the speed-up
  of the second thread for each library (python-blosc2 serialises reads of one handle).

Ratios are peer time / ndpack time: > 1 means ndpack is faster. Every result is checked against
NumPy before it is timed.

Usage: python bench/bench_arrays.py   (or python bench/compare.py arrays)
"""

from __future__ import annotations

import os
import shutil
import sys
import tempfile
import threading
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import MB, interleaved_times, print_table  # noqa: E402

import blosc2  # noqa: E402

import ndpack  # noqa: E402
from ndpack import blosc2 as nb2  # noqa: E402

try:
    import caterva  # noqa: E402
except ImportError:  # pragma: no cover - caterva is optional
    caterva = None

THREADS = 2
CODEC = os.environ.get("NDPACK_BENCH_CODEC", "lz4").upper()
CLEVEL = 5
NSLICES = 200
#: name, shape, chunks, blocks, slice edge
CASES = [
    ("2048² f4", (2048, 2048), (512, 512), (64, 64), 100),
    ("256³ f4", (256, 256, 256), (64, 64, 64), (16, 16, 16), 100),
]


def field(shape) -> np.ndarray:
    """A smooth field plus a little noise, float32."""
    rng = np.random.default_rng(0)
    grids = np.meshgrid(*[np.arange(n, dtype=np.float32) for n in shape], indexing="ij", sparse=True)
    out = np.zeros(shape, np.float32)
    for k, g in enumerate(grids):
        out += np.sin(g / (40.0 + 10 * k)) * 100.0
    out += rng.standard_normal(shape, dtype=np.float32) * 0.01
    return out


class Side:
    """One library's way to build, read and write an array."""

    def __init__(self, name: str) -> None:
        self.name = name

    def create(self, data, chunks, blocks, path=None):
        if path is not None and os.path.exists(path):
            shutil.rmtree(path) if os.path.isdir(path) else os.remove(path)
        store = {} if path is None else {"urlpath": str(path), "contiguous": True}
        if self.name == "ndpack":
            cp = {"codec": nb2.Codec[CODEC], "clevel": CLEVEL, "filters": [nb2.Filter.SHUFFLE], "nthreads": THREADS}
            if path is not None:
                store["mode"] = "w"
            return ndpack.asarray(data, chunks=chunks, blocks=blocks, cparams=cp, dparams={"nthreads": THREADS}, **store)
        if self.name == "blosc2":
            cp = blosc2.CParams(codec=blosc2.Codec[CODEC], clevel=CLEVEL, filters=[blosc2.Filter.SHUFFLE], nthreads=THREADS)
            if path is not None:
                store["mode"] = "w"
            return blosc2.asarray(data, chunks=chunks, blocks=blocks, cparams=cp, dparams=blosc2.DParams(nthreads=THREADS), **store)
        return caterva.asarray(
            data, chunks=chunks, blocks=blocks, codec=caterva.Codec[CODEC], clevel=CLEVEL,
            filters=[caterva.Filter.SHUFFLE], nthreads=THREADS, **store,
        )

    def open(self, path):
        if self.name == "ndpack":
            return ndpack.open(str(path), mode="a")
        if self.name == "blosc2":
            return blosc2.open(str(path), mode="a", dparams=blosc2.DParams(nthreads=THREADS))
        return caterva.open(str(path))

    def get(self, a, key) -> np.ndarray:
        out = a[key]
        return out.view(np.float32) if self.name == "caterva" else out


def fmt_t(seconds: float) -> str:
    if seconds >= 0.1:
        return f"{seconds:.2f} s"
    if seconds >= 1e-3:
        return f"{seconds * 1e3:.1f} ms"
    return f"{seconds * 1e6:.0f} µs"


def run() -> None:
    ndpack.set_nthreads(THREADS)
    blosc2.set_nthreads(THREADS)
    sides = [Side("ndpack"), Side("blosc2")] + ([Side("caterva")] if caterva is not None else [])
    names = [s.name for s in sides]
    tmp = Path(tempfile.mkdtemp(prefix="bench-arrays-"))
    rows = []
    threads_rows = []

    def add(op, case, where, times, unit="time", nbytes=0):
        """A row: each side's figure and the peers' time / ndpack's time."""
        if unit == "GB/s":
            cells = " / ".join(f"{nbytes / t / 1e9:.2f}" for t in times)
        else:
            cells = " / ".join(fmt_t(t) for t in times)
        ratios = [times[k] / times[0] for k in range(1, len(times))]
        rows.append([op, case, where, cells] + ratios)

    try:
        for case, shape, chunks, blocks, edge in CASES:
            data = field(shape)
            nbytes = data.nbytes
            rng = np.random.default_rng(1)
            starts = [tuple(int(rng.integers(0, n - edge)) for n in shape) for _ in range(NSLICES)]
            keys = [tuple(slice(s, s + edge) for s in st) for st in starts]
            row_key = (shape[0] // 3,) if len(shape) == 2 else (shape[0] // 3, shape[1] // 2)
            wkey = (slice(700, 800), slice(900, 1000)) if len(shape) == 2 else (100, slice(50, 150), slice(120, 220))
            block = (np.arange(100 * 100, dtype=np.float32).reshape(100, 100) * 0.5)
            for where in ["memory", "file"]:
                paths = [None if where == "memory" else tmp / f"{s.name}-{len(shape)}d.b2nd" for s in sides]

                # create
                t = interleaved_times(
                    [lambda s=s, p=p: s.create(data, chunks, blocks, p) for s, p in zip(sides, paths)],
                    repeat=3, min_time=0,
                )
                add("create (asarray)", case, where, t, "GB/s", nbytes)

                arrays = [s.create(data, chunks, blocks, p) for s, p in zip(sides, paths)]
                if where == "file":
                    del arrays
                    arrays = [s.open(p) for s, p in zip(sides, paths)]
                for s, a in zip(sides, arrays):
                    np.testing.assert_array_equal(s.get(a, keys[0]), data[keys[0]])
                    np.testing.assert_array_equal(s.get(a, row_key), data[row_key])

                # full read
                for s, a in zip(sides, arrays):
                    assert np.array_equal(s.get(a, ...), data), s.name
                t = interleaved_times([lambda s=s, a=a: s.get(a, ...) for s, a in zip(sides, arrays)], repeat=3, min_time=0)
                add("full read", case, where, t, "GB/s", nbytes)

                # random slices
                def slices(s, a, ks=keys):
                    for k in ks:
                        s.get(a, k)

                t = interleaved_times([lambda s=s, a=a: slices(s, a) for s, a in zip(sides, arrays)], repeat=3, min_time=0)
                sl = "100×100" if len(shape) == 2 else "100³"
                add(f"{NSLICES} random {sl} slices (per slice)", case, where, [x / NSLICES for x in t])

                # one row
                t = interleaved_times([lambda s=s, a=a: s.get(a, row_key) for s, a in zip(sides, arrays)], repeat=5, min_time=0.05)
                add("one row", case, where, t)

                # a 100×100 write
                wdata = block if len(shape) == 2 else block
                for s, a in zip(sides, arrays):
                    a[wkey] = wdata
                    np.testing.assert_array_equal(s.get(a, wkey), wdata)

                def write(a):
                    a[wkey] = wdata

                t = interleaved_times([lambda a=a: write(a) for a in arrays], repeat=3, min_time=0.05)
                add("100×100 write", case, where, t)

                # 2 Python threads vs 1
                def threaded(s, a, n):
                    parts = [keys[k::n] for k in range(n)]
                    ts = [threading.Thread(target=slices, args=(s, a, part)) for part in parts]
                    for th in ts:
                        th.start()
                    for th in ts:
                        th.join()

                fns = []
                for s, a in zip(sides, arrays):
                    fns.append(lambda s=s, a=a: threaded(s, a, 1))
                    fns.append(lambda s=s, a=a: threaded(s, a, 2))
                t = interleaved_times(fns, repeat=3, min_time=0)
                cells = [f"{fmt_t(t[2 * k] / NSLICES)} / {fmt_t(t[2 * k + 1] / NSLICES)}" for k in range(len(sides))]
                speedups = [t[2 * k] / t[2 * k + 1] for k in range(len(sides))]
                threads_rows.append([f"{NSLICES} random {sl} slices", case, where] + cells + speedups)
                del arrays
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    peers = names[1:]
    versions = f"python-blosc2 {blosc2.__version__}" + (f", caterva {caterva.__version__}" if caterva is not None else "")
    print_table(
        f"N-d arrays: ndpack vs {versions} ({THREADS} threads, {CODEC.lower()} clevel {CLEVEL} + shuffle, "
        f"same chunks and blocks; '{' / '.join(names)}', GB/s or time per call)",
        ["operation", "array", "storage", " / ".join(names)] + [f"× vs {p}" for p in peers],
        rows,
    )
    print_table(
        "N-d arrays: random slices from 1 and 2 Python threads on one array (time per slice, "
        "1 thread / 2 threads; speed-up = throughput of 2 threads / 1 thread)",
        ["operation", "array", "storage"] + [f"{n} 1 / 2 threads" for n in names] + [f"{n} speed-up" for n in names],
        threads_rows,
    )


if __name__ == "__main__":
    run()
