"""Writes the b2nd fixtures: small arrays written by python-blosc2 4.15 and python-caterva 0.7.3
(contiguous files and sparse directories, 0-d to 4-d, edge chunks, chunks that are not multiples
of their blocks, several codecs and filters, zeros and full special chunks, structured, datetime
and string dtypes), each with its expected items as `<name>.npy` and a line in `cases.txt`:

    <name> <file> <metalayer> <shape> <chunks> <blocks> <dtype str>

(dimensions comma-separated, `-` for a 0-d array). Run from this folder:
    python3 make_b2nd.py
"""
import os
import shutil

import blosc2
import caterva
import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
lines = []


def dims(t):
    return ",".join(map(str, t)) or "-"


def remove(path):
    if os.path.isdir(path):
        shutil.rmtree(path)
    elif os.path.exists(path):
        os.remove(path)


def b2(name, arr, contiguous=True, ctor=None, **kw):
    path = os.path.join(HERE, name + (".b2nd" if contiguous else ".b2nd.d"))
    remove(path)
    if ctor is None:
        a = blosc2.asarray(arr, urlpath=path, contiguous=contiguous, mode="w", **kw)
    else:
        a = ctor(urlpath=path, contiguous=contiguous, mode="w", **kw)
        arr = a[()] if a.ndim == 0 else a[...]
    np.save(os.path.join(HERE, name + ".npy"), arr)
    dt = str(a.dtype) if a.dtype.kind == "V" else a.dtype.str
    lines.append(f"{name} {os.path.basename(path)} b2nd {dims(a.shape)} {dims(a.chunks)} "
                 f"{dims(a.blocks)} {dt}")


def cat(name, arr, contiguous=True, **kw):
    path = os.path.join(HERE, name + (".caterva" if contiguous else ".caterva.d"))
    remove(path)
    a = caterva.asarray(arr, urlpath=path, contiguous=contiguous, **kw)
    np.save(os.path.join(HERE, name + ".npy"), arr)
    lines.append(f"{name} {os.path.basename(path)} caterva {dims(a.shape)} {dims(a.chunks)} "
                 f"{dims(a.blocks)} {a[...].dtype.str}")  # caterva gives |S<itemsize>


rng = np.random.default_rng(5)
b2("i4_2d", np.arange(1200, dtype=np.int32).reshape(30, 40), chunks=(16, 16), blocks=(8, 8))
b2("f8_3d_sparse", rng.normal(size=(5, 7, 9)).round(2), contiguous=False,
   chunks=(4, 4, 4), blocks=(3, 2, 4),
   cparams=blosc2.CParams(codec=blosc2.Codec.LZ4, filters=[blosc2.Filter.BITSHUFFLE]))
b2("f4_0d", np.array(2.5, dtype=np.float32))
b2("u2_delta", (np.arange(1000, dtype=np.uint16) * 3) % 1000, chunks=(300,), blocks=(64,),
   cparams=blosc2.CParams(codec=blosc2.Codec.BLOSCLZ, clevel=9,
                          filters=[blosc2.Filter.DELTA, blosc2.Filter.SHUFFLE]))
b2("i1_4d", rng.integers(-5, 5, size=(2, 3, 4, 5), dtype=np.int8),
   chunks=(1, 2, 3, 4), blocks=(1, 1, 2, 2),
   cparams=blosc2.CParams(codec=blosc2.Codec.ZLIB, clevel=3))
b2("zeros", None, ctor=lambda **k: blosc2.zeros((20, 20), dtype=np.float64, chunks=(8, 8),
                                               blocks=(4, 4), **k))
b2("full", None, ctor=lambda **k: blosc2.full((10, 10), 7, dtype=np.int16, chunks=(4, 6),
                                             blocks=(2, 3), **k))
b2("record", np.array([(i, i / 4) for i in range(10)], dtype=[("a", "<i4"), ("b", "<f8")]),
   chunks=(4,), blocks=(2,))
b2("datetime", (np.arange(30) * 1000).astype("M8[ms]").reshape(6, 5), chunks=(4, 4),
   blocks=(2, 2))
b2("unicode", np.array(["a", "bc", "def", "", "xyz"], dtype="<U3"), chunks=(2,), blocks=(1,))
b2("big_endian", np.arange(50, dtype=">f8").reshape(5, 10), contiguous=False, chunks=(5, 5),
   blocks=(5, 5))
cat("caterva_2d", np.arange(600, dtype=np.int32).reshape(20, 30), chunks=(8, 16),
    blocks=(4, 8))
cat("caterva_3d_sparse", rng.integers(0, 9, size=(6, 5, 4), dtype=np.uint16), contiguous=False,
    chunks=(4, 3, 4), blocks=(2, 3, 2))

with open(os.path.join(HERE, "cases.txt"), "w") as f:
    f.write("\n".join(lines) + "\n")
