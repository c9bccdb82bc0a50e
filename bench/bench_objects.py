"""Object codecs: ndpack beside numcodecs (VLenUTF8, VLenBytes, VLenArray, JSON, MsgPack)."""

from __future__ import annotations

import numpy as np

from _common import best_time, print_table

N = 200_000


def _data() -> dict:
    rng = np.random.default_rng(0)
    words = np.array(["foo", "¡Hola mundo!", "Servus Woid!", "", "😀 non-BMP", "x" * 40], dtype=object)
    strings = words[rng.integers(0, len(words), N)]
    byts = np.array([s.encode() for s in strings], dtype=object)
    arrays = np.empty(N // 4, dtype=object)
    for i in range(len(arrays)):
        arrays[i] = np.arange(i % 17, dtype="<i4")
    mixed = np.empty(N // 4, dtype=object)
    choices = ["text", 1.5, 42, None, [1, 2.5, "x"], {"a": 1, "b": [True]}]
    for i in range(len(mixed)):
        mixed[i] = choices[i % len(choices)]
    floats = rng.standard_normal(N).reshape(-1, 100)
    ints = rng.integers(-(10**6), 10**6, N).astype("<i4")
    return {
        "strings": strings,
        "bytes": byts,
        "int32 arrays": arrays,
        "mixed objects": mixed,
        "float64 array": floats,
        "int32 array": ints,
    }


def run() -> None:
    import numcodecs

    import ndpack
    from ndpack.codecs import objects as oc

    ndpack.set_nthreads(2)
    d = _data()
    cases = [
        ("vlen-utf8", oc.VLenUTF8(), numcodecs.VLenUTF8(), "strings"),
        ("vlen-bytes", oc.VLenBytes(), numcodecs.VLenBytes(), "bytes"),
        ("vlen-array <i4", oc.VLenArray("<i4"), numcodecs.VLenArray("<i4"), "int32 arrays"),
        ("json2", oc.JSON(), numcodecs.JSON(), "strings"),
        ("json2", oc.JSON(), numcodecs.JSON(), "mixed objects"),
        ("json2", oc.JSON(), numcodecs.JSON(), "float64 array"),
        ("json2", oc.JSON(), numcodecs.JSON(), "int32 array"),
        ("msgpack2", oc.MsgPack(), numcodecs.MsgPack(), "strings"),
        ("msgpack2", oc.MsgPack(), numcodecs.MsgPack(), "mixed objects"),
        ("msgpack2", oc.MsgPack(), numcodecs.MsgPack(), "float64 array"),
        ("msgpack2", oc.MsgPack(), numcodecs.MsgPack(), "int32 array"),
    ]
    rows = []
    for cid, ours, theirs, name in cases:
        arr = d[name]
        enc = ours.encode(arr)
        assert enc == bytes(theirs.encode(arr)), (cid, name)
        mb = len(enc) / 1e6
        te_o = best_time(lambda: ours.encode(arr), repeat=3, min_time=0.1)
        te_t = best_time(lambda: theirs.encode(arr), repeat=3, min_time=0.1)
        td_o = best_time(lambda: ours.decode(enc), repeat=3, min_time=0.1)
        td_t = best_time(lambda: theirs.decode(enc), repeat=3, min_time=0.1)
        rows.append([cid, f"{name} ({arr.size} items)", mb / te_o, te_t / te_o, mb / td_o, td_t / td_o])
    print_table(
        "Object codecs: ndpack vs numcodecs (MB/s of encoded bytes; ratio > 1: ndpack faster)",
        ["codec", "data", "encode MB/s", "encode ratio", "decode MB/s", "decode ratio"],
        rows,
    )


if __name__ == "__main__":
    run()
