"""ZFP: ndpack.zfpy vs zfpy 1.0.1 (serial) on 3-D fields of 64 MiB, in the four modes.

Fields: float32 256^3 smooth (sin(3x)+sin(5y)+sin(7z)) and noise (standard normal), float64
256x256x128 smooth. Modes: tolerance=1e-3, rate=8, precision=16, reversible. ndpack runs with
2 threads. Throughput is MB/s of raw array bytes (10^6 B/s); ratios are ndpack/zfpy (> 1: ndpack
faster). The streams are checked to be byte-identical.
"""

from __future__ import annotations

import numpy as np

from _common import best_time, print_table

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


def run() -> None:
    try:
        import zfpy
    except ImportError:
        print("(zfp section: zfpy not installed)")
        return
    import ndpack
    import ndpack.zfpy as nz

    ndpack.set_nthreads(2)
    rows = []
    for name, a in fields().items():
        mb = a.nbytes / 1e6
        for mode, kw in MODES:
            ref = zfpy.compress_numpy(a, **kw)
            ours = nz.compress_numpy(a, **kw)
            assert ours == ref, f"{name} {mode}: streams differ"
            assert np.array_equal(nz.decompress_numpy(ref).view(np.uint8),
                                  zfpy.decompress_numpy(ref).view(np.uint8))
            tc_z = best_time(lambda: zfpy.compress_numpy(a, **kw), repeat=3, min_time=0.0)
            tc_n = best_time(lambda: nz.compress_numpy(a, **kw), repeat=3, min_time=0.0)
            td_z = best_time(lambda: zfpy.decompress_numpy(ref), repeat=3, min_time=0.0)
            td_n = best_time(lambda: nz.decompress_numpy(ref), repeat=3, min_time=0.0)
            rows.append([name, mode, round(a.nbytes / len(ref), 2),
                         f"{mb / tc_z:.0f}", f"{mb / tc_n:.0f}", tc_z / tc_n,
                         f"{mb / td_z:.0f}", f"{mb / td_n:.0f}", td_z / td_n])
    print_table(
        "ZFP: ndpack (2 threads) vs zfpy 1.0.1 (serial), MB/s and ratio ndpack/zfpy",
        ["field", "mode", "comp. ratio", "zfpy comp", "ndpack comp", "comp ×",
         "zfpy decomp", "ndpack decomp", "decomp ×"],
        rows,
    )


if __name__ == "__main__":
    run()
