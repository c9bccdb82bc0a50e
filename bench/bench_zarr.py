"""zarr 3: ndpack's codec pipeline beside zarr-python's default pipeline and zarrs-python.

    python bench/compare.py zarr                 # or: python bench/bench_zarr.py [--side N]

zarrs-python is optional: ``pip install zarrs==0.2.3`` (it installs beside zarr 3.1.6); without
it its column is left out. Workloads are zarrs-python's published ones (zarr_benchmarks), scaled
down: a ``side``³ uint16 array (default 256; the issue's figure is 512) with 64³ chunks, in three
variants (uncompressed; zstd level 0; shards of (side/2)³ holding 64³ zstd chunks), each on a
``LocalStore`` (a temporary folder) and a ``MemoryStore``:

- read all: ``a[...]``;
- read chunk by chunk: every 64³ chunk (inner chunk of a shard) in turn, one call each;
- 200 random 16³ selections (most of them inside one chunk, some across chunk borders);
- write all: ``b[...] = a[...]`` into a new array of the same codecs on the same kind of store.

Times are the best of interleaved rounds (all three pipelines in each round, so load on a shared
machine hits them alike). The tables give seconds and the ratios peer/ndpack (> 1: ndpack faster).
Peak memory of "write all" is the rise of the peak resident set size of a fresh process doing
only the copy (Linux ``/proc/self/clear_refs``), per pipeline, in MB.

zarrs-python reads and writes from Rust only for ``LocalStore`` (and some remote stores); on a
``MemoryStore`` it runs zarr's default pipeline (zarrs-python#144), which its column then shows.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import tempfile
import warnings
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import interleaved_times, print_table  # noqa: E402

PIPELINES = {
    "zarr": "zarr.core.codec_pipeline.BatchedCodecPipeline",
    "zarrs": "zarrs.ZarrsCodecPipeline",
    "ndpack": "ndpack.zarr.CodecPipeline",
}
VARIANTS = ["uncompressed", "zstd", "sharded"]
CHUNK = 64


def _available() -> list[str]:
    names = ["zarr", "ndpack"]
    try:
        import zarrs  # noqa: F401

        names.insert(1, "zarrs")
    except ImportError:
        print("(zarrs-python not installed: pip install zarrs==0.2.3; its column is left out)")
    return names


def _data(side: int) -> np.ndarray:
    """A smooth field with noise (compresses a few times with zstd, like image volumes)."""
    rng = np.random.default_rng(0)
    z, y, x = np.ogrid[0:side, 0:side, 0:side]
    field = (1000 + 400 * np.sin(x / 17.0) + 300 * np.cos(y / 23.0) + 200 * np.sin(z / 29.0)).astype(np.uint16)
    return field + rng.integers(0, 64, size=(side, side, side), dtype=np.uint16)


def _kwargs(variant: str, side: int) -> dict:
    import zarr.codecs as zc

    kw = dict(shape=(side,) * 3, chunks=(CHUNK,) * 3, dtype="uint16", fill_value=0)
    if variant == "uncompressed":
        kw["compressors"] = None
    elif variant == "zstd":
        kw["compressors"] = [zc.ZstdCodec(level=0)]
    else:
        kw["shards"] = (max(side // 2, CHUNK),) * 3
        kw["compressors"] = [zc.ZstdCodec(level=0)]
    return kw


def _store(kind: str, root: Path, name: str):
    from zarr.storage import LocalStore, MemoryStore

    return LocalStore(root / name) if kind == "local" else MemoryStore()


def _open(store, pipeline: str):
    import zarr

    with zarr.config.set({"codec_pipeline.path": PIPELINES[pipeline]}):
        return zarr.open_array(store, mode="r+")


def _create(store, pipeline: str, kw: dict):
    import zarr

    with zarr.config.set({"codec_pipeline.path": PIPELINES[pipeline]}):
        return zarr.create_array(store, overwrite=True, **kw)


def _workloads(src, dst, side: int) -> dict:
    rng = np.random.default_rng(1)
    starts = rng.integers(0, side - 16, size=(200, 3))
    chunk_slices = [
        tuple(slice(c, c + CHUNK) for c in (i, j, k))
        for i in range(0, side, CHUNK)
        for j in range(0, side, CHUNK)
        for k in range(0, side, CHUNK)
    ]

    def read_all():
        return src[...]

    def read_chunks():
        for s in chunk_slices:
            src[s]

    def read_small():
        for a, b, c in starts:
            src[a:a + 16, b:b + 16, c:c + 16]

    def write_all():
        dst[...] = src[...]

    return {"read all": read_all, "read chunk by chunk": read_chunks, "200 random 16³ selections": read_small, "write all (copy)": write_all}


def _peak_child(args: list[str]) -> None:
    """In a fresh process: the rise of peak RSS (MB) while copying one array into a new one."""
    store_kind, variant, pipeline, side, root = args[0], args[1], args[2], int(args[3]), Path(args[4])
    import zarr
    from zarr.storage import LocalStore, MemoryStore

    if pipeline == "ndpack":
        import ndpack.zarr  # noqa: F401
    kw = _kwargs(variant, side)
    if store_kind == "local":
        src_store = LocalStore(root / f"{variant}-src")
        dst_store = LocalStore(root / f"{variant}-peak-{pipeline}")
    else:
        src_store, dst_store = MemoryStore(), MemoryStore()
        zarr.create_array(src_store, **kw)[...] = zarr.open_array(LocalStore(root / f"{variant}-src"))[...]
    src = _open(src_store, pipeline)
    dst = _create(dst_store, pipeline, kw)
    with open("/proc/self/clear_refs", "w") as f:
        f.write("5")  # resets the peak resident set size

    def rss(field: str) -> int:
        for line in open("/proc/self/status"):
            if line.startswith(field):
                return int(line.split()[1]) * 1024
        raise RuntimeError(field)

    base = rss("VmRSS:")
    dst[...] = src[...]
    print(json.dumps((rss("VmHWM:") - base) / 1e6))


def _peak(store_kind: str, variant: str, pipeline: str, side: int, root: Path) -> float | None:
    proc = subprocess.run(
        [sys.executable, __file__, "--peak", store_kind, variant, pipeline, str(side), str(root)],
        capture_output=True, text=True,
    )
    if proc.returncode != 0:
        print(f"(peak memory of {pipeline} {variant} {store_kind} failed: {proc.stderr.strip()[-300:]})")
        return None
    return json.loads(proc.stdout.strip().splitlines()[-1])


def run(side: int | None = None) -> None:
    import zarr

    import ndpack.zarr  # noqa: F401  (registers the pipeline)

    side = side or int(os.environ.get("NDPACK_BENCH_ZARR_SIDE", "256"))
    names = _available()
    warnings.simplefilter("ignore")  # zarrs-python's fallback warnings, zarr's unstable specs
    data = _data(side)
    root = Path(tempfile.mkdtemp(prefix="ndpack-bench-zarr-"))
    print(f"\n## zarr 3: {side}³ uint16, {CHUNK}³ chunks; zarr {zarr.__version__}" + (", zarrs " + __import__("zarrs").__version__ if "zarrs" in names else ""))
    try:
        for variant in VARIANTS:
            kw = _kwargs(variant, side)
            src_local = _store("local", root, f"{variant}-src")
            zarr.create_array(src_local, **kw)[...] = data
            for store_kind in ("local", "memory"):
                if store_kind == "local":
                    src_store = src_local
                else:
                    src_store = _store("memory", root, "")
                    zarr.create_array(src_store, **kw)[...] = data
                fns, labels = [], []
                per = {}
                for p in names:
                    src = _open(src_store, p)
                    dst = _create(_store(store_kind, root, f"{variant}-dst-{p}"), p, kw)
                    per[p] = _workloads(src, dst, side)
                    np.testing.assert_array_equal(src[...], data)
                workloads = list(per[names[0]])
                rows = []
                for w in workloads:
                    times = interleaved_times([per[p][w] for p in names], repeat=3, min_time=0.05)
                    t = dict(zip(names, times))
                    row = [w] + [f"{t[p]:.3f}" for p in names]
                    row += [f"{t[p] / t['ndpack']:.2f}x" for p in names if p != "ndpack"]
                    rows.append(row)
                    labels.append(w)
                peaks = {p: _peak(store_kind, variant, p, side, root) for p in names}
                rows.append(
                    ["peak MB of the copy"]
                    + [("-" if peaks[p] is None else f"{peaks[p]:.0f}") for p in names]
                    + [("-" if peaks[p] is None or not peaks["ndpack"] else f"{peaks[p] / peaks['ndpack']:.2f}x") for p in names if p != "ndpack"]
                )
                header = ["workload"] + [f"{p} s" for p in names] + [f"{p}/ndpack" for p in names if p != "ndpack"]
                print_table(f"{variant}, {store_kind} store", header, rows)
    finally:
        shutil.rmtree(root, ignore_errors=True)


if __name__ == "__main__":
    if sys.argv[1:2] == ["--peak"]:
        _peak_child(sys.argv[2:])
    else:
        side = int(sys.argv[sys.argv.index("--side") + 1]) if "--side" in sys.argv else None
        run(side)
