"""ZFP: ndpack.zfpy vs zfpy 1.0.1 (serial) on 3-D fields of 64 MiB, in the four modes.

Fields: float32 256^3 smooth (sin(3x)+sin(5y)+sin(7z)) and noise (standard normal), float64
256x256x128 smooth. Modes: tolerance=1e-3, rate=8, precision=16, reversible. ndpack runs with
2 threads. Throughput is MB/s of raw array bytes (10^6 B/s); ratios are ndpack/zfpy (> 1: ndpack
faster). The streams are checked to be byte-identical. ndpack and zfpy are timed in alternating
rounds (`interleaved_times`) so that load changes on a shared machine hit both alike.

A second table gives CPU time per thread (`/proc/self/task/*/schedstat`, Linux only, best of 5):
zfpy's (serial) thread against ndpack's busiest thread, which is what bounds ndpack's wall time
on a machine whose other cores are free. Set ZFP_BENCH_CPU=0 to skip it.
"""

from __future__ import annotations

import os
import time

import numpy as np

from _common import interleaved_times, print_table

MODES = [("tolerance=1e-3", {"tolerance": 1e-3}), ("rate=8", {"rate": 8}),
         ("precision=16", {"precision": 16}), ("reversible", {})]


def fields() -> dict:
    rng = np.random.default_rng(0)
    n = 256
    x = np.linspace(0, 2 * np.pi, n)
    smooth64 = (np.sin(3 * x)[:, None, None] + np.sin(5 * x)[None, :, None]
                + np.sin(7 * x)[None, None, :])
    return {
        "f32 smooth 256^3": smooth64.astype(np.float32),
        "f32 noise 256^3": rng.standard_normal((n, n, n), dtype=np.float32),
        "f64 smooth 256x256x128": np.ascontiguousarray(smooth64[:, :, ::2]),
    }


def _thread_cpu() -> dict:
    """CPU nanoseconds consumed so far by each thread of this process."""
    out = {}
    base = "/proc/self/task"
    for tid in os.listdir(base):
        try:
            with open(f"{base}/{tid}/schedstat") as f:
                out[tid] = int(f.read().split()[0])
        except (OSError, ValueError, IndexError):
            pass
    return out


def busiest_thread_cpu(fn, repeat: int = 5) -> float:
    """Seconds of CPU time of the busiest thread during one call of ``fn``, best of ``repeat``."""
    fn()
    best = float("inf")
    for _ in range(repeat):
        before = _thread_cpu()
        fn()
        after = _thread_cpu()
        busiest = max((after[t] - before.get(t, 0) for t in after), default=0)
        best = min(best, busiest / 1e9)
    return best


def run() -> None:
    try:
        import zfpy
    except ImportError:
        print("(zfp section: zfpy not installed)")
        return
    import ndpack
    import ndpack.zfpy as nz

    ndpack.set_nthreads(2)
    cpu = os.environ.get("ZFP_BENCH_CPU", "1") != "0" and os.path.isdir("/proc/self/task")
    cpu_rows: dict = {}
    rows = []
    for name, a in fields().items():
        mb = a.nbytes / 1e6
        for mode, kw in MODES:
            ref = zfpy.compress_numpy(a, **kw)
            ours = nz.compress_numpy(a, **kw)
            assert ours == ref, f"{name} {mode}: streams differ"
            assert np.array_equal(nz.decompress_numpy(ref).view(np.uint8),
                                  zfpy.decompress_numpy(ref).view(np.uint8))
            tc_z, tc_n = interleaved_times(
                [lambda: zfpy.compress_numpy(a, **kw), lambda: nz.compress_numpy(a, **kw)],
                repeat=3, min_time=0.0)
            td_z, td_n = interleaved_times(
                [lambda: zfpy.decompress_numpy(ref), lambda: nz.decompress_numpy(ref)],
                repeat=3, min_time=0.0)
            if cpu:
                cpu_rows.setdefault(name, [name])
                dz = busiest_thread_cpu(lambda: zfpy.decompress_numpy(ref))
                dn = busiest_thread_cpu(lambda: nz.decompress_numpy(ref))
                cz = busiest_thread_cpu(lambda: zfpy.compress_numpy(a, **kw))
                cn = busiest_thread_cpu(lambda: nz.compress_numpy(a, **kw))
                cpu_rows[name].append(f"{dz / dn:.2f} / {cz / cn:.2f}")
            rows.append([name, mode, round(a.nbytes / len(ref), 2),
                         f"{mb / tc_z:.0f}", f"{mb / tc_n:.0f}", tc_z / tc_n,
                         f"{mb / td_z:.0f}", f"{mb / td_n:.0f}", td_z / td_n])
    print_table(
        "ZFP: ndpack (2 threads) vs zfpy 1.0.1 (serial), MB/s and ratio ndpack/zfpy",
        ["field", "mode", "comp. ratio", "zfpy comp", "ndpack comp", "comp ×",
         "zfpy decomp", "ndpack decomp", "decomp ×"],
        rows,
    )
    if cpu:
        print_table(
            "ZFP: CPU time per thread, zfpy / ndpack's busiest thread "
            "(decompression / compression)",
            ["field"] + [mode for mode, _ in MODES],
            list(cpu_rows.values()),
        )
    print(f"load: {os.getloadavg()[0]:.2f} {os.getloadavg()[1]:.2f} {os.getloadavg()[2]:.2f}"
          f" at {time.strftime('%H:%M:%S')}")


if __name__ == "__main__":
    run()
