"""Writes the BYTEDELTA golden chunks of `crates/ndpack/tests/blosc_compat.rs`
(`bytedelta_chunks_match_python_blosc2`).

Run by hand from this folder: `python3 make_bytedelta.py`. Pinned: python-blosc2 4.15.0
(c-blosc2 3.6.1, whose BYTEDELTA, filter 35, copies a block tail shorter than the typesize, the
fix of c-blosc2 3.3.3). Writes `<case>.raw` (the input) and `<case>.chunk` (what
`blosc2.compress2` made of it) for each case, `<case>.out` (what it decodes to) for the lossy
TRUNC_PREC case, and `manifest.txt`: one line per case with
`name codec clevel typesize blocksize splitmode filters filters_meta` (lists comma-separated,
filter ids and metas as python-blosc2 was given them; python-blosc2 turns BYTEDELTA into no filter
at typesize 1 before c-blosc2 sees it).
"""

import blosc2
import numpy as np

assert blosc2.__version__ == "4.15.0", blosc2.__version__
assert blosc2.blosclib_version.startswith("3.6.1"), blosc2.blosclib_version
blosc2.set_nthreads(1)

F = blosc2.Filter
CODECS = {"lz4": blosc2.Codec.LZ4, "zstd": blosc2.Codec.ZSTD, "blosclz": blosc2.Codec.BLOSCLZ}


def data(n, ts, seed):
    """A ramp of `ts`-byte little-endian integers with sparse noise, cut to `n` bytes."""
    rng = np.random.default_rng(seed)
    nitems = n // ts + 1
    base = np.arange(nitems, dtype=np.int64) * 3 + 1000
    hit = rng.random(nitems) < 0.02
    base[hit] += rng.integers(-50, 50, int(hit.sum()))
    words = np.zeros((nitems, ts), dtype=np.uint8)
    for b in range(ts):
        words[:, b] = (base >> (8 * (b % 8))) & 0xFF
        if b >= 8:
            words[:, b] = (b * 7) & 0xFF
    return words.tobytes()[:n]


def floats(n, seed):
    rng = np.random.default_rng(seed)
    x = np.sin(np.arange(n // 4 + 1) / 40.0).astype(np.float32) + rng.normal(0, 1e-3, n // 4 + 1).astype(np.float32)
    return x.tobytes()[:n]


cases = []
# (name, raw, codec, clevel, typesize, blocksize, splitmode, filters, metas)
for ts in (1, 2, 3, 4, 7, 8, 16):
    for n, bs in ((3000, 0), (6007, 2048), (3 * 512 + ts + 1, 512)):
        raw = data(n, ts, ts * 1000 + n)
        cases.append((f"sb-t{ts}-n{n}-b{bs}", raw, "lz4", 5, ts, bs, blosc2.SplitMode.AUTO_SPLIT, [F.SHUFFLE, F.BYTEDELTA], [0, ts]))
    raw = data(4001, ts, ts)
    cases.append((f"b-t{ts}-zstd", raw, "zstd", 5, ts, 2048, blosc2.SplitMode.NEVER_SPLIT, [F.BYTEDELTA], [ts]))
# A BYTEDELTA meta that is not the typesize, and other neighbours in the pipeline.
cases.append(("b-t2-m1", data(5001, 2, 4), "zstd", 5, 2, 1024, blosc2.SplitMode.NEVER_SPLIT, [F.BYTEDELTA], [1]))
cases.append(("b-t4-m3", data(7001, 4, 5), "lz4", 5, 4, 2000, blosc2.SplitMode.AUTO_SPLIT, [F.SHUFFLE, F.BYTEDELTA], [0, 3]))
cases.append(("bits-b-t8", data(6000, 8, 6), "zstd", 3, 8, 4096, blosc2.SplitMode.AUTO_SPLIT, [F.BITSHUFFLE, F.BYTEDELTA], [0, 8]))
cases.append(("d-s-b-t4", data(6000, 4, 7), "lz4", 5, 4, 4096, blosc2.SplitMode.AUTO_SPLIT, [F.DELTA, F.SHUFFLE, F.BYTEDELTA], [0, 0, 4]))
cases.append(("tp-s-b-f4", floats(8000, 8), "zstd", 5, 4, 0, blosc2.SplitMode.AUTO_SPLIT, [F.TRUNC_PREC, F.SHUFFLE, F.BYTEDELTA], [10, 0, 4]))
cases.append(("sb-f4-blosclz", floats(12000, 9), "blosclz", 5, 4, 0, blosc2.SplitMode.ALWAYS_SPLIT, [F.SHUFFLE, F.BYTEDELTA], [0, 4]))
cases.append(("sb-t4-split", data(12288, 4, 10), "lz4", 9, 4, 4096, blosc2.SplitMode.ALWAYS_SPLIT, [F.SHUFFLE, F.BYTEDELTA], [0, 4]))

with open("manifest.txt", "w") as manifest:
    for name, raw, codec, clevel, ts, bs, split, filters, metas in cases:
        chunk = blosc2.compress2(raw, codec=CODECS[codec], clevel=clevel, typesize=ts, blocksize=bs,
                                 splitmode=split, filters=filters, filters_meta=metas)
        out = blosc2.decompress2(chunk)
        if F.TRUNC_PREC in filters:
            open(f"{name}.out", "wb").write(out)  # lossy: what the chunk decodes to
        else:
            assert out == raw, name
        assert chunk[2] & 0x02 == 0, f"{name} is memcpyed"
        open(f"{name}.raw", "wb").write(raw)
        open(f"{name}.chunk", "wb").write(chunk)
        fl = ",".join(str(f.value) for f in filters)
        ml = ",".join(str(m) for m in metas)
        manifest.write(f"{name} {codec} {clevel} {ts} {bs} {split.value} {fl} {ml}\n")
