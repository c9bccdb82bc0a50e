"""Writes the frame fixtures of `crates/ndpack/tests/frames_fixtures.rs` (and the hostile-input
tests that start from them).

Run by hand from this folder, with the pinned libraries:

    python3 make_frames.py        # python-blosc2 4.15.0 (c-blosc2 3.6.1), python-caterva 0.7.3
                                  # (c-blosc2 2.4.3), numpy, msgpack

It deletes and rewrites everything here but itself. Each fixture is a contiguous frame file
(`*.b2frame`, `*.b2nd`, `*.caterva`) or a sparse frame directory (`*.sframe/`, holding
`chunks.b2frame` and `%08X.chunk` files), small on purpose (the folder stays well under 1 MiB).
`manifest.json` says what each holds, read back through the library that wrote it, so that the
tests need no Python:

    {"fixtures": [{
        "path": "c-zstd-shuffle.b2frame", "contiguous": true, "writer": "python-blosc2 4.15.0",
        "frame_version": 2,            # general_flags & 0x0f of the frame header
        "typesize": 4, "chunksize": 4000, "blocksize": 0, "nchunks": 3,
        "nbytes": 12000, "cbytes": 1234,   # as the library reports them
        "codec": 5, "clevel": 5, "filters": [0,0,0,0,0,1], "filters_meta": [0,0,0,0,0,0],
        "meta": {"name": "<hex of the metalayer bytes>"},
        "vlmeta": {"name": "<hex of the msgpack payload>"},
        "chunks": [{"nbytes": 4000,
                    "crc32": <CRC-32 of the decompressed bytes> | null (uninit),
                    "special": null | "zeros" | "nan" | "uninit" | "value",
                    "chunk_crc32": <CRC-32 of the stored compressed chunk> | null (special),
                    "chunk_len": <its length> | null}]
    }]}

python-caterva's files carry no vlmeta here and its library reports nbytes/cbytes; the chunk data
of every fixture is read back with python-blosc2 (which opens caterva's frames as SChunks).
"""

import json
import os
import shutil
import zlib

import blosc2
import caterva
import numpy as np

assert blosc2.__version__ == "4.15.0", blosc2.__version__
assert blosc2.blosclib_version.startswith("3.6.1"), blosc2.blosclib_version
assert caterva.__version__ == "0.7.3", caterva.__version__
blosc2.set_nthreads(1)

HERE = os.path.dirname(os.path.abspath(__file__))
F = blosc2.Filter
C = blosc2.Codec
SPECIAL = {0: None, 1: "zeros", 2: "nan", 3: "value", 4: "uninit"}
WRITER = f"python-blosc2 {blosc2.__version__}"


def data(nitems, seed, dtype=np.float32):
    """A smooth, noisy series: compressible, different for each seed."""
    rng = np.random.default_rng(seed)
    x = np.sin(np.arange(nitems) / 37.0 + seed) * 1000 + rng.normal(0, 0.5, nitems)
    return x.astype(dtype)


def clean():
    for name in os.listdir(HERE):
        if name in ("make_frames.py",):
            continue
        p = os.path.join(HERE, name)
        shutil.rmtree(p) if os.path.isdir(p) else os.remove(p)


def raw_vlmeta(schunk, name):
    # The stored msgpack payload, not the unpacked value.
    return super(type(schunk.vlmeta), schunk.vlmeta).get_vlmeta(name)


def describe(path, writer=WRITER):
    """Reads the fixture back through python-blosc2 and returns its manifest entry."""
    full = os.path.join(HERE, path)
    contiguous = os.path.isfile(full)
    header = open(full if contiguous else os.path.join(full, "chunks.b2frame"), "rb").read(100)
    s = blosc2.open(full, mode="r")
    if not isinstance(s, blosc2.SChunk):
        s = s.schunk
    cp = s.cparams
    chunks = []
    infos = list(s.iterchunks_info())
    for i in range(s.nchunks):
        raw = s.decompress_chunk(i)
        special = SPECIAL[infos[i].special.value]
        # An uninit chunk's bytes are unspecified (c-blosc2 leaves the output as it was).
        crc = None if special == "uninit" else zlib.crc32(raw)
        entry = {"nbytes": len(raw), "crc32": crc, "special": special, "chunk_crc32": None, "chunk_len": None}
        if special in (None, "value"):
            c = s.get_chunk(i)
            entry["chunk_crc32"] = zlib.crc32(c)
            entry["chunk_len"] = len(c)
        chunks.append(entry)
    meta = {k: blosc2.blosc2_ext.meta__getitem__(s, k).hex() for k in s.meta.keys()}
    vlmeta = {k: raw_vlmeta(s, k).hex() for k in s.vlmeta.getall()}
    filters = [getattr(f, "value", f) for f in cp.filters] + [0] * (6 - len(cp.filters))
    metas = [int(m) for m in cp.filters_meta] + [0] * (6 - len(cp.filters_meta))
    return {
        "path": path,
        "contiguous": contiguous,
        "writer": writer,
        "frame_version": header[25] & 0x0F,
        "typesize": s.typesize,
        "chunksize": s.chunksize,
        "blocksize": s.blocksize,
        "nchunks": s.nchunks,
        "nbytes": s.nbytes,
        "cbytes": s.cbytes,
        "codec": cp.codec.value,
        "clevel": int(cp.clevel),
        "filters": filters,
        "filters_meta": metas,
        "meta": meta,
        "vlmeta": vlmeta,
        "chunks": chunks,
    }


def schunk(path, contiguous=True, chunksize=4000, typesize=4, meta=None, **cparams):
    cparams.setdefault("typesize", typesize)
    full = os.path.join(HERE, path)
    return blosc2.SChunk(chunksize=chunksize, urlpath=full, contiguous=contiguous, mode="w", cparams=cparams, meta=meta)


def main():
    clean()
    made = []

    # Every codec, with the byte shuffle; then every filter.
    for name, codec in (("blosclz", C.BLOSCLZ), ("lz4", C.LZ4), ("lz4hc", C.LZ4HC), ("zlib", C.ZLIB), ("zstd", C.ZSTD)):
        path = f"c-{name}-shuffle.b2frame"
        s = schunk(path, codec=codec, clevel=5, filters=[F.SHUFFLE])
        for k in range(3):
            s.append_data(data(1000, k))
        made.append(path)
    for name, filters, metas, ts in (
        ("bitshuffle", [F.BITSHUFFLE], [0], 4),
        ("delta", [F.DELTA, F.SHUFFLE], [0, 0], 4),
        ("trunc_prec", [F.TRUNC_PREC, F.SHUFFLE], [12, 0], 4),
        ("bytedelta", [F.SHUFFLE, F.BYTEDELTA], [0, 4], 4),
        ("bytedelta-t8", [F.SHUFFLE, F.BYTEDELTA], [0, 0], 8),
        ("nofilter", [F.NOFILTER], [0], 4),
    ):
        path = f"c-lz4-{name}.b2frame"
        s = schunk(path, codec=C.LZ4, clevel=7, filters=filters, filters_meta=metas, typesize=ts, chunksize=1000 * ts)
        dt = np.float64 if ts == 8 else np.float32
        for k in range(3):
            s.append_data(data(1000, 10 + k, dt))
        # A last, shorter chunk.
        s.append_data(data(333, 20, dt))
        made.append(path)

    # clevel 0: memcpyed chunks; a ragged last chunk.
    path = "c-clevel0.b2frame"
    s = schunk(path, codec=C.ZSTD, clevel=0, chunksize=400)
    for k in range(2):
        s.append_data(data(100, 30 + k))
    s.append_data(data(37, 33))
    made.append(path)

    # Special chunks: zeros, NaN, uninit, a repeated value, between ordinary chunks. fill_special
    # works on an empty super-chunk only; the other specials are appended as the header-only
    # chunks that python-blosc2 hands out for them.
    def special_chunk(kind, value=None):
        t = blosc2.SChunk(chunksize=4000, cparams={"typesize": 4})
        t.fill_special(1000, kind, value=value)
        return t.get_chunk(0)

    for path, contiguous in (("c-specials.b2frame", True), ("s-specials.sframe", False)):
        s = schunk(path, contiguous=contiguous, codec=C.ZSTD, clevel=5, filters=[F.SHUFFLE])
        s.fill_special(2000, blosc2.SpecialValue.ZERO)
        s.append_data(data(1000, 40))
        s.append_chunk(special_chunk(blosc2.SpecialValue.NAN))
        s.append_chunk(special_chunk(blosc2.SpecialValue.UNINIT))
        s.append_chunk(special_chunk(blosc2.SpecialValue.VALUE, np.float32(2.5)))
        s.append_chunk(special_chunk(blosc2.SpecialValue.ZERO))
        s.append_data(data(1000, 41))
        made.append(path)
    for kind in ("NAN", "UNINIT", "VALUE"):
        path = f"c-fill-{kind.lower()}.b2frame"
        s = schunk(path, codec=C.LZ4, clevel=5)
        s.fill_special(2500, blosc2.SpecialValue[kind], value=np.float32(-7.25) if kind == "VALUE" else None)
        made.append(path)

    # Metalayers and vlmeta; one vlmeta entry deleted, one updated.
    for path, contiguous in (("c-meta-vlmeta.b2frame", True), ("s-meta-vlmeta.sframe", False)):
        meta = {"first": [1, 2, 3], "second": b"\x00\x01binary\xff", "third": {"a": 1.5}}
        s = schunk(path, contiguous=contiguous, codec=C.LZ4, clevel=5, meta=meta)
        s.meta["first"] = [3, 2, 1]  # same length: updated in place
        for k in range(2):
            s.append_data(data(1000, 50 + k))
        s.vlmeta["name"] = "a value"
        s.vlmeta["numbers"] = list(range(100))
        s.vlmeta["nested"] = {"x": [1, 2.5, None, True], "y": "z" * 300}
        s.vlmeta["bytes"] = b"\x00" * 50 + b"end"
        s.vlmeta["gone"] = 1
        del s.vlmeta["gone"]
        s.vlmeta["name"] = "a longer value than before"
        made.append(path)

    # Variable chunk sizes (frame version 3): chunks of other sizes appended as compressed chunks.
    path = "c-varlen.b2frame"
    s = schunk(path, codec=C.ZSTD, clevel=5, chunksize=4000)
    s.append_data(data(1000, 60))
    for k, n in enumerate((1500, 200, 1000, 7)):
        s.append_chunk(blosc2.compress2(data(n, 61 + k), typesize=4, codec=C.ZSTD, clevel=5))
    made.append(path)

    # Updates, deletes and inserts of chunks of other sizes, contiguous and sparse.
    for path, contiguous in (("c-edited.b2frame", True), ("s-edited.sframe", False)):
        s = schunk(path, contiguous=contiguous, codec=C.LZ4, clevel=5, chunksize=4000)
        for k in range(6):
            s.append_data(data(1000, 70 + k))
        cc = lambda seed, n=1000: blosc2.compress2(data(n, seed), typesize=4, codec=C.ZSTD, clevel=9)
        s.update_chunk(1, cc(80))
        s.update_chunk(3, blosc2.compress2(np.zeros(1000, np.float32), typesize=4))
        s.delete_chunk(0)
        s.insert_chunk(2, cc(81))
        s.update_chunk(4, cc(82))
        s.delete_chunk(5)
        made.append(path)

    # A sparse frame written in one go, and a cframe saved from memory.
    path = "s-zstd-shuffle.sframe"
    s = schunk(path, contiguous=False, codec=C.ZSTD, clevel=5)
    for k in range(3):
        s.append_data(data(1000, 90 + k))
    made.append(path)
    s = blosc2.SChunk(chunksize=2000, cparams={"typesize": 2, "codec": C.LZ4, "clevel": 5})
    for k in range(3):
        s.append_data(data(1000, 95 + k, np.float16))
    s.vlmeta["memory"] = "yes"
    path = "m-lz4-f2.cframe"
    open(os.path.join(HERE, path), "wb").write(s.to_cframe())
    made.append(path)

    # b2nd arrays (python-blosc2's NDArray): a b2nd metalayer, padded edge chunks.
    a = data(30 * 41, 100).reshape(30, 41)
    blosc2.asarray(a, chunks=(16, 16), blocks=(8, 8), urlpath=os.path.join(HERE, "nd-f4.b2nd"), mode="w")
    made.append("nd-f4.b2nd")
    blosc2.zeros((50, 20), dtype=np.int16, chunks=(20, 20), blocks=(10, 10), urlpath=os.path.join(HERE, "nd-zeros-i2.b2nd"), mode="w")
    made.append("nd-zeros-i2.b2nd")

    entries = [describe(p) for p in made]

    # python-caterva 0.7.3 (c-blosc2 2.4.3): frame version 2, chunk version 5, contiguous and sparse.
    cwriter = f"python-caterva {caterva.__version__}"
    b = data(25 * 33, 110).reshape(25, 33)
    caterva.asarray(b, chunks=(10, 16), blocks=(5, 8), urlpath=os.path.join(HERE, "cat-f4.caterva"), contiguous=True)
    caterva.asarray(b, chunks=(10, 16), blocks=(5, 8), urlpath=os.path.join(HERE, "cat-f4.sframe"), contiguous=False,
                    meta={"extra": b"caterva meta"})
    caterva.zeros((40,), itemsize=8, chunks=(16,), blocks=(8,), urlpath=os.path.join(HERE, "cat-zeros.caterva"), contiguous=True)
    for p in ("cat-f4.caterva", "cat-f4.sframe", "cat-zeros.caterva"):
        e = describe(p, cwriter)
        c = caterva.open(os.path.join(HERE, p))
        assert c.itemsize == e["typesize"], p
        entries.append(e)

    with open(os.path.join(HERE, "manifest.json"), "w") as f:
        json.dump({"blosc2": blosc2.__version__, "c_blosc2": blosc2.blosclib_version.split()[0],
                   "caterva": caterva.__version__, "fixtures": entries}, f, indent=1)
        f.write("\n")


if __name__ == "__main__":
    main()
