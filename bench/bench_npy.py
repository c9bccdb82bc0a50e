"""NPY/NPZ loading and writing: ndpack beside numpy.load(BytesIO) and spdl.io.load_npy/load_npz.

Cases: (a) a 400-byte NPY, per call; (b) a 16 MiB NPY; (c) an NPZ of 64 members of
64 KiB, stored and compressed; (d) an NPZ of 8 members of 8 MiB, compressed; plus writing.
ndpack runs on 2 threads. Ratios are peer time / ndpack time (> 1: ndpack faster).
Targets: (a) ndpack <= 0.25x SPDL's time (ratio >= 4); (b) zero-copy, ratio >= 1;
(c), (d) ratio >= 2 against SPDL.
"""

from __future__ import annotations

import io

import numpy as np

import ndpack

from _common import MB, best_time, interleaved_times, print_table

try:
    import spdl.io as spdl_io
except ImportError:  # pragma: no cover
    spdl_io = None


def _npy(a: np.ndarray) -> bytes:
    b = io.BytesIO()
    np.save(b, a)
    return b.getvalue()


def _npz(arrays: dict, compressed: bool) -> bytes:
    b = io.BytesIO()
    (np.savez_compressed if compressed else np.savez)(b, **arrays)
    return b.getvalue()


def _members(n: int, nbytes: int) -> dict:
    """``n`` float32 members of ``nbytes`` each: smooth signals with noise (compress ~2-3x)."""
    rng = np.random.default_rng(0)
    count = nbytes // 4
    t = np.linspace(0, 20, count, dtype=np.float32)
    out = {}
    for i in range(n):
        noise = rng.standard_normal(count).astype(np.float32) * 0.01
        out[f"m{i}"] = (np.sin(t * (i + 1)) * 100).round(1).astype(np.float32) + noise.round(2)
    return out


def _load_all_numpy(data: bytes) -> dict:
    with np.load(io.BytesIO(data)) as z:
        return {k: z[k] for k in z.files}


def _load_all_spdl(data: bytes) -> dict:
    z = spdl_io.load_npz(data, max_uncompressed_bytes=1 << 34)
    return {k: z[k] for k in z.files}


def _load_all_ndpack(data: bytes) -> dict:
    return ndpack.load_npz(data).load_all()


def run() -> None:
    ndpack.set_nthreads(2)
    rows = []
    header = ["case", "ndpack", "numpy.load", "spdl", "x numpy", "x spdl", "target (x spdl)"]

    def row(name, ours, numpy_fn, spdl_fn, target, unit="us", scale=1e6):
        t_ours = best_time(ours)
        t_np = best_time(numpy_fn)
        t_sp = best_time(spdl_fn) if spdl_fn is not None and spdl_io is not None else float("nan")
        fmt = lambda t: f"{t * scale:.1f} {unit}"  # noqa: E731
        rows.append(
            [name, fmt(t_ours), fmt(t_np), fmt(t_sp) if t_sp == t_sp else "-",
             t_np / t_ours, t_sp / t_ours if t_sp == t_sp else "-", target]
        )

    # (a) a 400-byte NPY, per call.
    small = _npy(np.arange(34, dtype=np.float64))
    assert len(small) == 400
    row("(a) NPY 400 B, per call", lambda: ndpack.load_npy(small),
        lambda: np.load(io.BytesIO(small)), lambda: spdl_io.load_npy(small), ">= 4")

    # (b) a 16 MiB NPY (zero-copy).
    big = _npy(np.arange(16 * MB // 4, dtype=np.float32).reshape(-1, 1024))
    got = ndpack.load_npy(big)
    assert np.shares_memory(got, np.frombuffer(big, np.uint8))
    row("(b) NPY 16 MiB (zero-copy)", lambda: ndpack.load_npy(big),
        lambda: np.load(io.BytesIO(big)), lambda: spdl_io.load_npy(big), ">= 1")

    # (c) NPZ of 64 members of 64 KiB, stored and compressed.
    m64 = _members(64, 64 * 1024)
    for compressed in (False, True):
        data = _npz(m64, compressed)
        ref = _load_all_numpy(data)
        ours = _load_all_ndpack(data)
        assert all(np.array_equal(ours[k], ref[k]) for k in ref)
        kind = "deflated" if compressed else "stored"
        row(f"(c) NPZ 64 x 64 KiB, {kind}, all members", lambda: _load_all_ndpack(data),
            lambda: _load_all_numpy(data), lambda: _load_all_spdl(data), ">= 2", "ms", 1e3)

    # (d) NPZ of 8 members of 8 MiB, compressed.
    m8 = _members(8, 8 * MB)
    data_d = _npz(m8, True)
    ref = _load_all_numpy(data_d)
    ours = _load_all_ndpack(data_d)
    assert all(np.array_equal(ours[k], ref[k]) for k in ref)
    row("(d) NPZ 8 x 8 MiB, deflated, all members", lambda: _load_all_ndpack(data_d),
        lambda: _load_all_numpy(data_d), lambda: _load_all_spdl(data_d), ">= 2", "ms", 1e3)

    print_table("NPY/NPZ loading (2 threads; ratios: peer time / ndpack time)", header, rows)

    # Writing (SPDL cannot write): ndpack.save_npy / save_npz beside np.save / np.savez.
    wrows = []
    whead = ["case", "ndpack", "numpy", "x numpy"]

    def wrow(name, ours, theirs, unit="ms", scale=1e3):
        t_ours, t_np = best_time(ours), best_time(theirs)
        wrows.append([name, f"{t_ours * scale:.2f} {unit}", f"{t_np * scale:.2f} {unit}", t_np / t_ours])

    small_a = np.arange(34, dtype=np.float64)
    wrow("save_npy 400 B", lambda: ndpack.save_npy(small_a), lambda: _npy(small_a), "us", 1e6)
    big_a = np.frombuffer(big[128:], dtype=np.float32)
    wrow("save_npy 16 MiB", lambda: ndpack.save_npy(big_a), lambda: _npy(big_a))
    wrow("save_npz 64 x 64 KiB stored", lambda: ndpack.save_npz(m64), lambda: _npz(m64, False))
    wrow("save_npz 8 x 8 MiB compressed", lambda: ndpack.save_npz(m8, compressed=True),
         lambda: _npz(m8, True))
    print_table("NPY/NPZ writing (2 threads; ratio: numpy time / ndpack time)", whead, wrows)


def _mapping_ndpack(data: bytes) -> dict:
    z = ndpack.load_npz(data)
    return {k: z[k] for k in z.files}


def _first_member_ndpack(data: bytes) -> object:
    return ndpack.load_npz(data)["m0"]


def _first_member_spdl(data: bytes) -> object:
    return spdl_io.load_npz(data, max_uncompressed_bytes=1 << 34)["m0"]


def _first_member_numpy(data: bytes) -> object:
    with np.load(io.BytesIO(data)) as z:
        return z["m0"]


def _noise_members(n: int, nbytes: int) -> dict:
    """``n`` members of ``nbytes`` of random normal float32 (deflate saves ~10%)."""
    rng = np.random.default_rng(0)
    return {f"m{i}": rng.standard_normal(nbytes // 4).astype(np.float32) for i in range(n)}


def run_npz() -> None:
    """Section ``npz``: the ``NpzFile`` mapping read member by member (``{k: z[k] for k in
    z.files}`` on a fresh ``load_npz``) beside ``load_all()``, SPDL's and NumPy's ``NpzFile``.
    Target: mapping >= 2x SPDL on 64 x 64 KiB deflated members."""
    ndpack.set_nthreads(2)
    header = ["case", "ndpack mapping", "ndpack load_all", "spdl", "numpy NpzFile",
              "mapping x spdl", "load_all x spdl", "mapping x numpy", "target (mapping x spdl)"]
    rows = []
    cases = [
        ("64 x 64 KiB deflated, every member", _noise_members(64, 64 * 1024), True, ">= 2"),
        ("64 x 64 KiB stored, every member", _noise_members(64, 64 * 1024), False, "-"),
        ("8 x 8 MiB deflated, every member", _noise_members(8, 8 * MB), True, "-"),
    ]
    for name, members, compressed, target in cases:
        data = _npz(members, compressed)
        ref = _load_all_numpy(data)
        for got in (_mapping_ndpack(data), _load_all_ndpack(data)):
            assert all(np.array_equal(got[k], ref[k]) for k in ref)
        fns = [lambda: _mapping_ndpack(data), lambda: _load_all_ndpack(data),
               lambda: _load_all_spdl(data), lambda: _load_all_numpy(data)]
        if spdl_io is None:  # pragma: no cover
            fns[2] = lambda: None
        t_map, t_all, t_sp, t_np = interleaved_times(fns, repeat=5)
        rows.append([name, f"{t_map * 1e3:.2f} ms", f"{t_all * 1e3:.2f} ms",
                     f"{t_sp * 1e3:.2f} ms" if spdl_io else "-", f"{t_np * 1e3:.2f} ms",
                     t_sp / t_map if spdl_io else "-", t_sp / t_all if spdl_io else "-",
                     t_np / t_map, target])
    # One member of a fresh archive: what decoding ahead costs a reader of a single member.
    data = _npz(_noise_members(64, 64 * 1024), True)
    t_one, t_sp, t_np = interleaved_times(
        [lambda: _first_member_ndpack(data), lambda: _first_member_spdl(data),
         lambda: _first_member_numpy(data)], repeat=5)
    rows.append(["64 x 64 KiB deflated, one member", f"{t_one * 1e3:.2f} ms", "-",
                 f"{t_sp * 1e3:.2f} ms", f"{t_np * 1e3:.2f} ms", t_sp / t_one, "-",
                 t_np / t_one, "-"])
    print_table("NPZ read through the mapping (2 threads; ratios: peer time / ndpack time)",
                header, rows)


if __name__ == "__main__":
    run()
    run_npz()
