"""Blosc: ndpack.blosc and ndpack.blosc2 beside numcodecs' Blosc (c-blosc 1.21) and python-blosc2
(c-blosc2 3.3).

Both sides run 2 threads on the same data in one process. Rows: the benchmark arrays (smooth
float32, noisy float32, int64 ramp, a real elevation model tiled to 16 MB) compressed whole and in
1 MB chunks, for lz4+shuffle, zstd+bitshuffle and blosclz+shuffle at clevel 5. Ratios are
ndpack/peer: > 1 means ndpack is faster (or compresses better, for the size column). memcpy
bandwidth is printed as the ceiling, and ndpack's decode throughput as a fraction of it.

Usage: python bench/bench_blosc.py   (or python bench/compare.py blosc)
"""

from __future__ import annotations

import importlib.metadata as _md
import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import MB, best_time, interleaved_times, print_table, sample_arrays  # noqa: E402

_version = _md.version
_md.version = lambda name: "1.0.1" if name == "zfpy" else _version(name)  # numcodecs vs zfpy's version
import blosc2  # noqa: E402
import numcodecs.blosc as nb  # noqa: E402

_md.version = _version

import ndpack  # noqa: E402
from ndpack import blosc  # noqa: E402
from ndpack import blosc2 as nb2  # noqa: E402

THREADS = 2
CONFIGS = [
    ("lz4", blosc.SHUFFLE, nb2.Filter.SHUFFLE),
    ("zstd", blosc.BITSHUFFLE, nb2.Filter.BITSHUFFLE),
    ("blosclz", blosc.SHUFFLE, nb2.Filter.SHUFFLE),
]
CODEC2 = {"lz4": nb2.Codec.LZ4, "zstd": nb2.Codec.ZSTD, "blosclz": nb2.Codec.BLOSCLZ}
FIXTURES = Path(__file__).resolve().parents[1].parent / "shared" / "fixtures"


def datasets() -> dict:
    data = sample_arrays(16 * MB)
    dem = np.load(FIXTURES / "npz" / "jacksboro_fault_dem.npz")["elevation"]
    reps = -(-16 * MB // dem.nbytes)
    data["dem-i2"] = np.tile(dem.ravel(), reps)
    return data


def pieces(arr: np.ndarray, chunk: int) -> list:
    flat = arr.view(np.uint8).reshape(-1)
    n = chunk
    return [flat[i : i + n].view(arr.dtype) for i in range(0, flat.size, n)]


def gbps(nbytes: int, seconds: float) -> float:
    return nbytes / seconds / 1e9


def memcpy_bandwidth(nbytes: int = 16 * MB) -> float:
    src = np.random.default_rng(1).integers(0, 255, nbytes, dtype=np.uint8)
    dst = np.empty_like(src)
    return gbps(nbytes, best_time(lambda: np.copyto(dst, src), repeat=5, min_time=0.1))


def bench_pair(arrs, enc_a, dec_a, enc_b, dec_b):
    """Encode and decode every array of ``arrs`` with both sides; returns times and sizes."""
    ca = [enc_a(a) for a in arrs]
    cb = [enc_b(a) for a in arrs]
    for a, c in zip(arrs, ca):
        assert dec_b(c) == a.tobytes(), "peer cannot decode ndpack's chunk"
    for a, c in zip(arrs, cb):
        assert dec_a(c) == a.tobytes(), "ndpack cannot decode the peer's chunk"
    # Alternating rounds, best of five: on this shared VM single measurements move by +-30%,
    # and a load change then hits both sides alike.
    t_ea, t_eb, t_da, t_db = interleaved_times(
        [
            lambda: [enc_a(a) for a in arrs],
            lambda: [enc_b(a) for a in arrs],
            lambda: [dec_a(c) for c in ca],
            lambda: [dec_b(c) for c in cb],
        ],
        repeat=5,
        min_time=0.1,
    )
    return t_ea, t_eb, t_da, t_db, sum(map(len, ca)), sum(map(len, cb))


def run() -> None:
    ndpack.set_nthreads(THREADS)
    nb.set_nthreads(THREADS)
    nb.use_threads = True
    blosc2.set_nthreads(THREADS)
    mem = memcpy_bandwidth()
    print(f"\nmemcpy bandwidth (numpy copyto, 16 MB): {mem:.2f} GB/s")
    header = [
        "data",
        "codec",
        "chunks",
        "enc GB/s",
        "enc ×",
        "dec GB/s",
        "dec ×",
        "dec / memcpy",
        "ratio",
        "ratio ×",
    ]
    data = datasets()
    for peer in ["numcodecs", "blosc2"]:
        rows = []
        for cname, shuffle, filt in CONFIGS:
            for name, arr in data.items():
                for label, arrs in [("whole", [arr]), ("1 MB", pieces(arr, MB))]:
                    ts = arr.dtype.itemsize
                    nbytes = sum(a.nbytes for a in arrs)
                    if peer == "numcodecs":
                        enc_a = lambda a, c=cname, s=shuffle: blosc.compress(a, c, 5, s)
                        dec_a = blosc.decompress
                        enc_b = lambda a, c=cname, s=shuffle: nb.compress(a, c.encode(), 5, s)
                        dec_b = nb.decompress
                    else:
                        code = CODEC2[cname]
                        enc_a = lambda a, c=code, f=filt, t=ts: nb2.compress2(a, codec=c, clevel=5, typesize=t, filters=[f])
                        dec_a = nb2.decompress2
                        enc_b = lambda a, c=code, f=filt, t=ts: blosc2.compress2(
                            a, codec=blosc2.Codec(int(c)), clevel=5, typesize=t, filters=[blosc2.Filter(int(f))], nthreads=THREADS
                        )
                        dec_b = lambda c: blosc2.decompress2(c, nthreads=THREADS)
                    try:
                        t_ea, t_eb, t_da, t_db, sa, sb = bench_pair(arrs, enc_a, dec_a, enc_b, dec_b)
                    except ValueError as e:  # a kernel missing from this build
                        rows.append([name, cname, label, "n/a", "", "n/a", "", "", "", str(e)[:40]])
                        continue
                    dec = gbps(nbytes, t_da)
                    rows.append(
                        [
                            name,
                            cname,
                            label,
                            f"{gbps(nbytes, t_ea):.2f} / {gbps(nbytes, t_eb):.2f}",
                            t_eb / t_ea,
                            f"{dec:.2f} / {gbps(nbytes, t_db):.2f}",
                            t_db / t_da,
                            f"{dec / mem:.0%}",
                            f"{nbytes / sa:.2f} / {nbytes / sb:.2f}",
                            sb / sa,
                        ]
                    )
        print_table(f"Blosc: ndpack vs {peer} ({THREADS} threads; 'a / b' = ndpack / {peer})", header, rows)


if __name__ == "__main__":
    run()
