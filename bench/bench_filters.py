"""Filters section: ndpack's numcodecs filters beside numcodecs on the same 16 MiB arrays.

The arrays and configs are those of ``crates/ndpack/benches/filters.rs``. ndpack's side runs
through ``ndpack.codecs`` (classes named as numcodecs'); where a class is not there yet the table
shows numcodecs alone, to be compared with the criterion bench.
"""

from __future__ import annotations

import numcodecs
import numpy as np

from _common import MB, interleaved_times, print_table

N = 16 * MB


def arrays() -> dict:
    i = np.arange(N // 8, dtype=np.float64)
    f8 = np.sin(i / 1000.0) * 1000.0
    j = np.arange(N // 4, dtype=np.float64)
    f4 = (np.sin(j / 1000.0) * 1000.0).astype(np.float32)
    i8 = (np.arange(N // 8, dtype=np.int64) * 3) % 1_000_003
    k = np.arange(N, dtype=np.int64)
    bools = ((k * 7919) % 13) < 6
    words = np.array(["apple", "pear", "fig", "plum", "kiwi", "lime", "other"], dtype="<U6")
    strings = words[(np.arange(N // 24) * 31) % 7]
    return {"f8": f8, "f4": f4, "i8": i8, "bools": bools, "strings": strings}


CASES = [
    ("delta i8", "Delta", dict(dtype="<i8"), "i8"),
    ("delta i8->i4", "Delta", dict(dtype="<i8", astype="<i4"), "i8"),
    ("fixedscaleoffset f8->i4", "FixedScaleOffset", dict(offset=0, scale=1000, dtype="<f8", astype="<i4"), "f8"),
    ("quantize f8 digits=3", "Quantize", dict(digits=3, dtype="<f8"), "f8"),
    ("bitround f4 keepbits=10", "BitRound", dict(keepbits=10), "f4"),
    ("astype f8->f4", "AsType", dict(encode_dtype="<f4", decode_dtype="<f8"), "f8"),
    ("astype f8->i2", "AsType", dict(encode_dtype="<i2", decode_dtype="<f8"), "f8"),
    ("packbits", "PackBits", dict(), "bools"),
    ("categorize U6->u1", "Categorize", dict(labels=["apple", "pear", "fig", "plum", "kiwi", "lime"], dtype="<U6"), "strings"),
    ("shuffle 4", "Shuffle", dict(elementsize=4), "f4"),
    ("shuffle 8", "Shuffle", dict(elementsize=8), "f8"),
]


def run() -> None:
    try:
        import ndpack
        from ndpack import codecs as ndcodecs

        ndpack.set_nthreads(2)
    except ImportError:
        ndcodecs = None
    data = arrays()
    rows = []
    for name, cls, kwargs, key in CASES:
        x = data[key]
        ref = getattr(numcodecs, cls)(**kwargs)
        enc = ref.encode(x)
        mine = getattr(ndcodecs, cls, None) if ndcodecs is not None else None
        if mine is not None:
            c = mine(**kwargs)
            menc = c.encode(x)
            t_enc, t_dec, m_enc, m_dec = interleaved_times(
                [lambda: ref.encode(x), lambda: ref.decode(enc), lambda: c.encode(x), lambda: c.decode(menc)],
                repeat=3,
                min_time=0.2,
            )
            row = [name, x.nbytes / MB / t_enc, x.nbytes / MB / t_dec, t_enc / m_enc, t_dec / m_dec]
        else:
            t_enc, t_dec = interleaved_times([lambda: ref.encode(x), lambda: ref.decode(enc)], repeat=3)
            row = [name, x.nbytes / MB / t_enc, x.nbytes / MB / t_dec, "n/a", "n/a"]
        rows.append(row)
    print_table(
        "Filters (16 MiB arrays): numcodecs MB/s and ndpack/numcodecs ratios (> 1: ndpack faster)",
        ["filter", "numcodecs enc MB/s", "numcodecs dec MB/s", "enc ratio", "dec ratio"],
        rows,
    )


if __name__ == "__main__":
    run()
