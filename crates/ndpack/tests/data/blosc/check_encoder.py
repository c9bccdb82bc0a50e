"""Decodes the Blosc1 chunks made by ndpack's BloscLZ encoder with the C libraries.

    NDPACK_BLOSC_DUMP=/tmp/ndpack-blosc cargo test -p ndpack --test blosc_kernels chunks_from
    python3 crates/ndpack/tests/data/blosc/check_encoder.py /tmp/ndpack-blosc

Each `<name>.<...>.blosc1` must decode to `<name>.raw` (in this folder) with numcodecs' Blosc
(c-blosc 1.x) and with blosc2.decompress (c-blosc2).
"""

import importlib.metadata as md
import pathlib
import sys

_version = md.version
md.version = lambda name: "1.0.1" if name == "zfpy" else _version(name)  # numcodecs/zfpy quirk

import blosc2  # noqa: E402
import numcodecs  # noqa: E402

here = pathlib.Path(__file__).parent
dump = pathlib.Path(sys.argv[1])
files = sorted(dump.glob("*.blosc1"))
assert files, f"no chunks in {dump}"
for f in files:
    name = f.name.split(".")[0]
    raw = (here / f"{name}.raw").read_bytes()
    chunk = f.read_bytes()
    assert numcodecs.Blosc().decode(chunk) == raw, f"numcodecs: {f.name}"
    assert blosc2.decompress(chunk) == raw, f"blosc2: {f.name}"
print(f"{len(files)} chunks decode with numcodecs {numcodecs.__version__} and blosc2 {blosc2.__version__}")
