"""Generates the golden Blosc chunks `v1-*.blosc`, `v2-*.blosc2` of this folder (run once; the outputs are committed).

Blosc1 chunks come from numcodecs 0.16.6 (c-blosc 1.21), Blosc2 chunks from python-blosc2 4.14.1
(c-blosc2 3.3.5). The input of every chunk is `input.bin`: 20000 little-endian int32 values
`(i * i) % 5003 + i // 7`. `manifest.txt` lists `file kind typesize` per chunk.
"""
import importlib.metadata as _md

_v = _md.version
_md.version = lambda n: "1.0.1" if n == "zfpy" else _v(n)  # numcodecs trips on zfpy's version

import blosc2
import numpy as np
from numcodecs import blosc as nb

i = np.arange(20000, dtype=np.int64)
data = ((i * i) % 5003 + i // 7).astype("<i4")
raw = data.tobytes()
open("input.bin", "wb").write(raw)
lines = []
for cname, shuffle, clevel in [("lz4", 1, 5), ("lz4hc", 1, 9), ("zlib", 0, 1), ("zstd", 1, 5),
                               ("blosclz", 1, 5), ("lz4", 2, 5), ("zstd", 2, 3)]:
    name = f"v1-{cname}-s{shuffle}-c{clevel}.blosc"
    open(name, "wb").write(nb.compress(raw, cname.encode(), clevel, shuffle, 0, 4))
    lines.append(f"{name} v1 4")
F = blosc2.Filter
for codec, filters, meta, ts in [
    (blosc2.Codec.ZSTD, [F.SHUFFLE], [0], 4),
    (blosc2.Codec.LZ4, [F.DELTA, F.SHUFFLE], [0, 0], 4),
    (blosc2.Codec.ZLIB, [F.NOFILTER], [0], 4),
    (blosc2.Codec.LZ4HC, [F.SHUFFLE], [0], 8),
    (blosc2.Codec.BLOSCLZ, [F.SHUFFLE], [0], 4),
    (blosc2.Codec.LZ4, [F.BITSHUFFLE], [0], 4),
]:
    fname = "-".join(f.name.lower() for f in filters)
    name = f"v2-{codec.name.lower()}-{fname}-t{ts}.blosc2"
    c = blosc2.compress2(raw, codec=codec, clevel=5, typesize=ts, filters=filters, filters_meta=meta)
    open(name, "wb").write(c)
    lines.append(f"{name} v2 {ts}")
open("manifest.txt", "w").write("\n".join(lines) + "\n")
