"""Super-chunks and frames: ndpack.SChunk beside python-blosc2 4.15's SChunk (c-blosc2 3.6).

Both sides run in one process with 2 threads, the same codec, clevel, filters and chunk size
(lz4, clevel 5, SHUFFLE, typesize 4; override with NDPACK_BENCH_CODEC=zstd etc.). Rows:

- append 200 chunks of 1 MiB float32 (smooth field, noisy values) in memory and to a contiguous
  frame file (a new file each round, no fsync on either side);
- decompress every chunk of those super-chunks (memory; file reopened with ``open``);
- update every chunk of a 1,000-chunk file one at a time with chunks that compress to another size
  (16 KiB chunks of a smooth field replaced by noisy ones, so the file grows chunk by chunk;
  c-blosc2 moves the tail of the file each time);
- read 1,000 random single chunks of the 200-chunk file from 2 Python threads sharing one handle.

Ratios are peer time / ndpack time: > 1 means ndpack is faster. Every result is checked against
the data before it is timed.

Usage: python bench/bench_schunk.py   (or python bench/compare.py schunk)
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
from _common import MB, interleaved_times, print_table, sample_arrays  # noqa: E402

import blosc2  # noqa: E402

import ndpack  # noqa: E402
from ndpack import blosc2 as nb2  # noqa: E402

THREADS = 2
NCHUNKS = 200
CODEC = os.environ.get("NDPACK_BENCH_CODEC", "lz4").upper()
CLEVEL = 5
UPDATE_NCHUNKS = 1000
UPDATE_CHUNK = 16 << 10
NREADS = 1000


def cparams_pair() -> tuple:
    ours = {"codec": nb2.Codec[CODEC], "clevel": CLEVEL, "typesize": 4, "filters": [nb2.Filter.SHUFFLE], "nthreads": THREADS}
    theirs = {"codec": blosc2.Codec[CODEC], "clevel": CLEVEL, "typesize": 4, "filters": [blosc2.Filter.SHUFFLE], "nthreads": THREADS}
    return ours, theirs


def chunk_views(arr: np.ndarray, chunk_bytes: int, n: int) -> list:
    """``n`` chunks of ``chunk_bytes`` taken in turn from ``arr`` (repeats are compressed anew)."""
    per = chunk_bytes // arr.itemsize
    k = arr.size // per
    return [arr[(i % k) * per : (i % k + 1) * per] for i in range(n)]


class Side:
    """One library's way to make, open and fill a super-chunk."""

    def __init__(self, name: str) -> None:
        self.name = name
        self.ours = name == "ndpack"
        cp_ours, cp_theirs = cparams_pair()
        self.cparams = cp_ours if self.ours else cp_theirs
        self.dparams = {"nthreads": THREADS}

    def new(self, chunksize: int, path=None):
        kw = {"chunksize": chunksize, "cparams": dict(self.cparams), "dparams": dict(self.dparams)}
        if path is not None:
            kw.update(urlpath=str(path), contiguous=True, mode="w")
        return (ndpack.SChunk if self.ours else blosc2.SChunk)(**kw)

    def open(self, path, mode="r"):
        if self.ours:
            return ndpack.open(path, mode=mode)
        return blosc2.open(str(path), mode=mode, dparams=blosc2.DParams(nthreads=THREADS))


def remove(path) -> None:
    if os.path.isdir(path):
        shutil.rmtree(path)
    elif os.path.exists(path):
        os.remove(path)


def fmt(seconds: float) -> str:
    return f"{seconds * 1e3:.0f} ms" if seconds >= 0.01 else f"{seconds * 1e3:.2f} ms"


def run() -> None:
    ndpack.set_nthreads(THREADS)
    blosc2.set_nthreads(THREADS)
    sides = [Side("ndpack"), Side("blosc2")]
    tmp = Path(tempfile.mkdtemp(prefix="bench-schunk-"))
    rows = []
    try:
        data = sample_arrays(16 * MB)
        for label in ["smooth-f4", "noisy-f4"]:
            chunks = chunk_views(data[label], MB, NCHUNKS)
            total = NCHUNKS * MB
            want = [c.tobytes() for c in chunks[:16]]

            def append(side, where):
                path = None if where == "memory" else tmp / f"{side.name}-{label}.b2frame"
                if path is not None:
                    remove(path)
                s = side.new(MB, path)
                for c in chunks:
                    s.append_data(c)
                return s

            for where in ["memory", "file"]:
                built = [append(side, where) for side in sides]
                for s in built:
                    assert s.nchunks == NCHUNKS and s.decompress_chunk(3) == want[3]
                del built
                t = interleaved_times([lambda sd=sd, w=where: append(sd, w) for sd in sides], repeat=3, min_time=0)
                rows.append([f"append {NCHUNKS} x 1 MiB", label, where, f"{total / t[0] / 1e9:.2f} / {total / t[1] / 1e9:.2f}", t[1] / t[0]])

            mem = [append(side, "memory") for side in sides]
            files = [side.open(tmp / f"{side.name}-{label}.b2frame") for side in sides]
            for group, where in [(mem, "memory"), (files, "file")]:
                bufs = [np.empty(MB, np.uint8) for _ in sides]
                for s in group:
                    assert all(s.decompress_chunk(i) == want[i % 16] for i in range(16))

                def decompress_all(s, buf):
                    for i in range(NCHUNKS):
                        s.decompress_chunk(i, buf)

                t = interleaved_times(
                    [lambda s=s, b=b: decompress_all(s, b) for s, b in zip(group, bufs)], repeat=3, min_time=0
                )
                rows.append([f"decompress {NCHUNKS} chunks", label, where, f"{total / t[0] / 1e9:.2f} / {total / t[1] / 1e9:.2f}", t[1] / t[0]])

            if label == "smooth-f4":
                # read 1,000 random chunks of the file from 2 threads sharing one handle
                order = np.random.default_rng(1).integers(0, NCHUNKS, NREADS)

                def threaded_reads(s):
                    def work(part):
                        buf = np.empty(MB, np.uint8)
                        for i in part:
                            s.decompress_chunk(int(i), buf)

                    ts = [threading.Thread(target=work, args=(order[k::2],)) for k in range(2)]
                    for th in ts:
                        th.start()
                    for th in ts:
                        th.join()

                t = interleaved_times([lambda s=s: threaded_reads(s) for s in files], repeat=3, min_time=0)
                rows.append([f"{NREADS} random chunks, 2 threads", label, "file", f"{NREADS * MB / t[0] / 1e9:.2f} / {NREADS * MB / t[1] / 1e9:.2f}", t[1] / t[0]])
            del mem, files

        # update every chunk of a 1,000-chunk file with chunks of another compressed size
        smooth = chunk_views(data["smooth-f4"], UPDATE_CHUNK, UPDATE_NCHUNKS)
        noisy = chunk_views(data["noisy-f4"], UPDATE_CHUNK, UPDATE_NCHUNKS)
        times = []
        for side in sides:
            path = tmp / f"{side.name}-update.b2frame"
            remove(path)
            s = side.new(UPDATE_CHUNK, path)
            for c in smooth:
                s.append_data(c)
            del s
            s = side.open(path, mode="a")
            start = time.perf_counter()
            for i, c in enumerate(noisy):
                s.update_data(i, c, False)
            times.append(time.perf_counter() - start)
            assert s.decompress_chunk(UPDATE_NCHUNKS - 1) == noisy[-1].tobytes()
            assert s.decompress_chunk(0) == noisy[0].tobytes()
            size = os.path.getsize(path)
            del s
            check = side.open(path)
            assert check.nchunks == UPDATE_NCHUNKS and check.decompress_chunk(500) == noisy[500].tobytes()
            times.append(size)
        total = UPDATE_NCHUNKS * UPDATE_CHUNK
        rows.append(
            [
                f"update {UPDATE_NCHUNKS} chunks of 16 KiB one by one",
                "smooth -> noisy",
                f"file ({times[1] >> 20} / {times[3] >> 20} MiB after)",
                f"{fmt(times[0])} / {fmt(times[2])}",
                times[2] / times[0],
            ]
        )
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    print_table(
        f"SChunk: ndpack vs python-blosc2 {blosc2.__version__} ({THREADS} threads, {CODEC.lower()} clevel {CLEVEL} + shuffle; "
        "'a / b' = ndpack / blosc2, GB/s unless stated)",
        ["operation", "data", "storage", "ndpack / blosc2", "speed-up ×"],
        rows,
    )


if __name__ == "__main__":
    run()
