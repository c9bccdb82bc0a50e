"""Regenerates the golden BloscLZ chunks of `crates/ndpack/tests/blosc_kernels.rs`.

Run from this folder: `python3 generate.py`. Needs numpy, numcodecs (c-blosc 1.x) and blosc2
(c-blosc2). Writes, for each sample array, `<name>.raw` (the input bytes) and one chunk per
(library, clevel, filter) that is not memcpyed: `<name>.<lib>-<filter>-<clevel>.chunk`, where lib is `c1` (numcodecs
Blosc, Blosc1 chunks) or `c2` (blosc2.compress2, Blosc2 chunks).
"""

import importlib.metadata as md

_version = md.version
md.version = lambda name: "1.0.1" if name == "zfpy" else _version(name)  # numcodecs/zfpy quirk

import blosc2  # noqa: E402
import numcodecs  # noqa: E402
import numpy as np  # noqa: E402

numcodecs.blosc.set_nthreads(1)
blosc2.set_nthreads(1)

NBYTES = 64 * 1024


def arrays():
    # The same families as bench/_common.py's sample_arrays, smaller.
    rng = np.random.default_rng(0)
    n32 = NBYTES // 4
    side = int(np.sqrt(n32))
    y, x = np.mgrid[0:side, 0:side].astype(np.float32)
    smooth = (np.sin(x / 50.0) * np.cos(y / 70.0) * 100.0).astype(np.float32).ravel()
    noisy = rng.standard_normal(n32).astype(np.float32)
    ramp = np.arange(NBYTES // 8, dtype=np.int64)
    # Odd typesize and a length that is not a multiple of it: exercises leftovers.
    odd = np.frombuffer((np.arange(NBYTES // 3 * 3 + 2) // 97 % 256).astype(np.uint8).tobytes(), dtype=np.uint8)
    return {"smooth-f4": (smooth, 4), "noisy-f4": (noisy, 4), "ramp-i8": (ramp, 8), "odd-u1x3": (odd, 3)}


FILTERS1 = {"noshuffle": numcodecs.Blosc.NOSHUFFLE, "shuffle": numcodecs.Blosc.SHUFFLE, "bitshuffle": numcodecs.Blosc.BITSHUFFLE}
FILTERS2 = {"noshuffle": blosc2.Filter.NOFILTER, "shuffle": blosc2.Filter.SHUFFLE, "bitshuffle": blosc2.Filter.BITSHUFFLE}

for name, (arr, ts) in arrays().items():
    raw = arr.tobytes()
    open(f"{name}.raw", "wb").write(raw)
    for fname in FILTERS1:
        for clevel in (1, 5, 9):
            c1 = numcodecs.Blosc(cname="blosclz", clevel=clevel, shuffle=FILTERS1[fname], typesize=ts).encode(raw)
            assert numcodecs.Blosc().decode(c1) == raw
            if not c1[2] & 0x02:  # memcpyed chunks hold no BloscLZ stream
                open(f"{name}.c1-{fname}-{clevel}.chunk", "wb").write(c1)
            c2 = blosc2.compress2(raw, codec=blosc2.Codec.BLOSCLZ, clevel=clevel, typesize=ts,
                                  filters=[FILTERS2[fname]], filters_meta=[0])
            assert blosc2.decompress2(c2) == raw
            if not c2[2] & 0x02:
                open(f"{name}.c2-{fname}-{clevel}.chunk", "wb").write(c2)
