"""ndpack.codecs beside numcodecs: encode and decode throughput of every compressor, checksum and
filter on ``sample_arrays()``, through the Python classes, in one process.

Run: ``python bench/compare.py codecs`` (build the extension with ``maturin develop --release``).
Ratios are ndpack / numcodecs throughput: > 1 means ndpack is faster. Each side decodes its own
encoding ("dec ratio"); "dec ratio, same bytes" has ndpack decode numcodecs' bytes (they differ
for zlib/gzip, whose zlib-rs back end writes other, at level 1 larger, streams). Timings alternate
between the two libraries round by round (best of the rounds).
"""

from __future__ import annotations

import lzma
from typing import Any, Callable, List, Optional, Tuple

import numpy as np
from _common import MB, interleaved_times, print_table, sample_arrays

import ndpack
from ndpack import codecs as nc

# (label, ndpack factory, numcodecs factory, repeat); a factory takes the array to encode and
# returns None when the codec does not apply to it.
Factory = Callable[[np.ndarray], Any]


def _cases() -> List[Tuple[str, Factory, Factory, int]]:
    import numcodecs
    import numcodecs.checksum32 as c32

    def both(label, make, repeat=3, applies=lambda a: True):
        return (
            label,
            lambda a: make(nc, a) if applies(a) else None,
            lambda a: make(_NumcodecsNames(numcodecs, c32), a) if applies(a) else None,
            repeat,
        )

    is_float = lambda a: a.dtype.kind == "f"  # noqa: E731
    return [
        both("zlib(1)", lambda m, a: m.Zlib(1)),
        both("zlib(6)", lambda m, a: m.Zlib(6), repeat=1),
        both("gzip(1)", lambda m, a: m.GZip(1)),
        both("bz2(1)", lambda m, a: m.BZ2(1), repeat=1),
        both("lzma(preset=1)", lambda m, a: m.LZMA(preset=1), repeat=1),
        both("lzma(raw, delta+lzma2)", lambda m, a: m.LZMA(format=lzma.FORMAT_RAW, filters=[
            {"id": lzma.FILTER_DELTA, "dist": a.dtype.itemsize},
            {"id": lzma.FILTER_LZMA2, "preset": 1},
        ]), repeat=1),  # fmt: skip
        both("zstd(0)", lambda m, a: m.Zstd()),
        both("zstd(1, checksum)", lambda m, a: m.Zstd(1, checksum=True)),
        both("lz4(1)", lambda m, a: m.LZ4()),
        both("crc32", lambda m, a: m.CRC32()),
        both("adler32", lambda m, a: m.Adler32()),
        both("crc32c", lambda m, a: m.CRC32C()),
        both("fletcher32", lambda m, a: m.Fletcher32()),
        both("jenkins_lookup3", lambda m, a: m.JenkinsLookup3()),
        both("pcodec(8)", lambda m, a: m.PCodec(), repeat=1),
        both("pcodec(3, classic)", lambda m, a: m.PCodec(3, mode_spec="classic"), repeat=1),
        both("delta", lambda m, a: m.Delta(a.dtype)),
        both(
            "fixedscaleoffset(->i4)",
            lambda m, a: m.FixedScaleOffset(0, 100, a.dtype, astype="<i4"),
            applies=is_float,
        ),
        both("quantize(3)", lambda m, a: m.Quantize(3, a.dtype), applies=is_float),
        both("bitround(10)", lambda m, a: m.BitRound(10), applies=is_float),
        both("astype(->f4)", lambda m, a: m.AsType("<f4", a.dtype), applies=is_float),
        both("astype(->i4)", lambda m, a: m.AsType("<i4", a.dtype), applies=lambda a: a.dtype.kind == "i"),
        both("shuffle", lambda m, a: m.Shuffle(a.dtype.itemsize)),
    ]


class _NumcodecsNames:
    """numcodecs' classes under ndpack.codecs' names."""

    def __init__(self, numcodecs, c32):
        self._mods = (numcodecs, c32)

    def __getattr__(self, name):
        for m in self._mods:
            if hasattr(m, name):
                return getattr(m, name)
        raise AttributeError(name)


def _special_inputs() -> List[Tuple[str, str, np.ndarray]]:
    """PackBits and Categorize need bool and string data (16 MB of bool, 4 MB of U4)."""
    rng = np.random.default_rng(1)
    bools = rng.random(16 * MB) < 0.2
    labels = ["alpha", "beta", "gamma", "delta"]
    cats = np.array(labels)[rng.integers(0, 4, MB)].astype("<U5")
    return [("packbits", "bool", bools), ("categorize", "U5", cats)]


def _time_pair(ours, theirs, arr: np.ndarray, repeat: int):
    enc_o = ours.encode(arr)
    enc_t = theirs.encode(arr)
    t_enc_o, t_enc_t, t_dec_o, t_dec_t, t_dec_same = interleaved_times(
        [
            lambda: ours.encode(arr),
            lambda: theirs.encode(arr),
            lambda: ours.decode(enc_o),
            lambda: theirs.decode(enc_t),
            lambda: ours.decode(enc_t),  # ndpack decoding numcodecs' bytes
        ],
        repeat=max(repeat, 2),
        min_time=0.1,
    )
    size = np.asarray(enc_o).nbytes if not isinstance(enc_o, bytes) else len(enc_o)
    return t_enc_o, t_enc_t, t_dec_o, t_dec_t, t_dec_same, size


def _row(label: str, data: str, arr: np.ndarray, times) -> list:
    t_enc_o, t_enc_t, t_dec_o, t_dec_t, t_dec_same, size = times
    mb = arr.nbytes / MB
    return [
        label,
        data,
        mb / t_enc_o,
        mb / t_enc_t,
        t_enc_t / t_enc_o,
        mb / t_dec_o,
        mb / t_dec_t,
        t_dec_t / t_dec_o,
        t_dec_t / t_dec_same,
        arr.nbytes / max(size, 1),
    ]


def run(names: Optional[List[str]] = None) -> None:
    import numcodecs

    ndpack.set_nthreads(2)
    available = set(nc.available_ids())
    header = [
        "codec",
        "data",
        "ndpack enc MB/s",
        "numcodecs enc MB/s",
        "enc ratio",
        "ndpack dec MB/s",
        "numcodecs dec MB/s",
        "dec ratio",
        "dec ratio, same bytes",
        "size ratio",
    ]
    rows: list = []
    skipped = set()
    arrays = sample_arrays()
    for label, make_ours, make_theirs, repeat in _cases():
        if names and not any(n == label or n == label.split("(")[0] for n in names):
            continue
        for data, arr in arrays.items():
            try:
                ours = make_ours(arr)
            except KeyError:  # UnknownCodecError: the Rust codec is not in this build
                skipped.add(label.split("(")[0])
                break
            if ours is None:
                continue
            if ours.codec_id not in available:
                skipped.add(ours.codec_id)
                break
            row = _row(label, data, arr, _time_pair(ours, make_theirs(arr), arr, repeat))
            rows.append(row)
            print("  " + " | ".join(f"{c:.2f}" if isinstance(c, float) else str(c) for c in row), flush=True)
    for codec_id, data, arr in _special_inputs():
        if names and codec_id not in names:
            continue
        if codec_id not in available:
            skipped.add(codec_id)
            continue
        if codec_id == "packbits":
            pair = (nc.PackBits(), numcodecs.PackBits())
        else:
            labels = ["alpha", "beta", "gamma", "delta"]
            pair = (nc.Categorize(labels, "<U5"), numcodecs.Categorize(labels, "<U5"))
        rows.append(_row(codec_id, data, arr, _time_pair(*pair, arr, 3)))
    print_table("ndpack.codecs vs numcodecs (Python classes, 2 threads)", header, rows)
    if skipped:
        print(f"\n(not in this build: {', '.join(sorted(skipped))})")
    if not names or "zstd-levels" in names:
        run_zstd_levels()


def run_zstd_levels(levels=(1, 3, 5, 9)) -> None:
    """Zstd at several levels on the 16 MB arrays (and an int64 ramp of repeated values): the
    size ratio ndpack / numcodecs (1.0000: numcodecs' bytes) beside the encode and decode speed
    ratios."""
    import numcodecs

    ndpack.set_nthreads(2)
    arrays = dict(sample_arrays())
    arrays["ramp-i8 // 5"] = np.arange(16 * MB // 8, dtype=np.int64) // 5
    header = ["level", "data", "ndpack bytes", "numcodecs bytes", "size ratio", "enc ratio", "dec ratio"]
    rows: list = []
    for level in levels:
        for data, arr in arrays.items():
            t_enc_o, t_enc_t, t_dec_o, t_dec_t, _, size = _time_pair(nc.Zstd(level), numcodecs.Zstd(level), arr, 2)
            theirs = len(numcodecs.Zstd(level).encode(arr))
            row = [f"zstd({level})", data, size, theirs, f"{size / theirs:.4f}", t_enc_t / t_enc_o, t_dec_t / t_dec_o]
            rows.append(row)
            print("  " + " | ".join(f"{c:.3f}" if isinstance(c, float) else str(c) for c in row), flush=True)
    print_table("Zstd levels: ndpack vs numcodecs (sizes and speed ratios, 2 threads)", header, rows)


if __name__ == "__main__":
    import sys

    run(sys.argv[1:] or None)
