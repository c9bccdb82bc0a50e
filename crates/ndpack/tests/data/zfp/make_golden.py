"""Writes golden.jsonl: small zfpy 1.0.1 streams for tests/zfp_golden.rs (run once with zfpy).

Each line: dtype, NumPy shape, zfpy keyword arguments, input bytes, zfpy's stream with and
without header, and zfpy's decoded bytes (all hex).
"""

import json
from pathlib import Path

import numpy as np
import zfpy

rng = np.random.default_rng(20261122)
SHAPES = [(13,), (1,), (5, 7), (1, 9), (3, 5, 6), (2, 3, 5, 6)]
MODES = [{}, {"tolerance": 1e-3}, {"tolerance": 0.0}, {"rate": 8.0}, {"rate": 3.5},
         {"rate": 40.0}, {"precision": 16}, {"precision": 5}, {"precision": 0}]


def data(dtype, shape, kind):
    n = int(np.prod(shape))
    if dtype.kind == "i":
        if kind == "extreme":
            info = np.iinfo(dtype)
            return rng.integers(info.min, info.max, shape, dtype=dtype, endpoint=True)
        return rng.integers(-5000, 5000, shape).astype(dtype)
    if kind == "smooth":
        return (np.sin(np.arange(n) * 0.37) * 100).reshape(shape).astype(dtype)
    if kind == "noise":
        return rng.standard_normal(shape).astype(dtype)
    a = rng.standard_normal(n)
    specials = [np.nan, np.inf, -np.inf, -0.0, 0.0, 1e-310, 5e-324, 1e-40, 1e-35]
    for i in range(0, n, 3):
        a[i] = specials[(i // 3) % len(specials)]
    if kind == "tiny":
        a = rng.standard_normal(n) * (1e-32 if dtype == np.float32 else 1e-300)
    return a.reshape(shape).astype(dtype)


out = []
turn = 0
for dt in ["<f4", "<f8", "<i4", "<i8"]:
    dtype = np.dtype(dt)
    kinds = ["extreme", "ramp"] if dtype.kind == "i" else ["smooth", "noise", "special", "tiny"]
    for shape in SHAPES:
        for kind in kinds:
            a = data(dtype, shape, kind)
            turn += 1
            for kw in (MODES[turn % len(MODES)], MODES[(turn + 4) % len(MODES)]):
                if "rate" in kw:
                    bits = np.floor(4 ** len(shape) * kw["rate"] + 0.5)
                    if bits < {"f": 9 if dtype.itemsize == 4 else 12, "i": 1}[dtype.kind]:
                        continue
                stream = zfpy.compress_numpy(a, **kw)
                bare = zfpy.compress_numpy(a, write_header=False, **kw)
                dec = zfpy.decompress_numpy(stream)
                out.append({
                    "dtype": dt, "shape": list(shape), "kind": kind, "kwargs": kw,
                    "input": a.tobytes().hex(), "stream": stream.hex(), "headerless": bare.hex(),
                    "decoded": dec.tobytes().hex(),
                })
Path(__file__).with_name("golden.jsonl").write_text("\n".join(json.dumps(o) for o in out) + "\n")
print(len(out), "cases")
