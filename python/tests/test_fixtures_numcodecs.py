"""Decodes every file of ../shared/fixtures/numcodecs (written by numcodecs releases over the years)
with ndpack's codec classes and compares with the stored arrays.

Which ids are checked derives from ``ndpack.codecs.codec_registry``: an id with no ndpack class
would be listed by ``test_ids_without_an_ndpack_class`` with the reason, not silently dropped.
The object codecs' fixtures (Python object arrays) are decoded and compared item by item in
``test_object_codecs.py::test_fixtures`` instead (see ``CHECKED_ELSEWHERE``).
"""

import json
from pathlib import Path

import numcodecs
import numpy as np
import pytest
from conftest import FIXTURES

from ndpack import codecs as nc

ROOT = FIXTURES / "numcodecs"

#: Lossy codecs: decoded arrays are compared with numcodecs' decoding of the same file (exactly)
#: rather than with the original array.
LOSSY = {"quantize", "fixedscaleoffset", "bitround", "zfpy", "astype"}

#: The compressor, checksum and filter ids: each must have an ndpack class.
NUMERIC_CODEC_IDS = {
    "zlib", "gzip", "bz2", "lzma", "zstd", "lz4", "crc32", "adler32", "crc32c", "fletcher32",
    "delta", "fixedscaleoffset", "quantize", "bitround", "packbits", "categorize", "astype",
    "shuffle",
}  # fmt: skip


def _groups(codec_dir: Path):
    """Folders holding ``array.NN.npy`` and ``codec.MM/`` (the id folder or its variants)."""
    if any(codec_dir.glob("codec.*")):
        yield codec_dir
    for sub in sorted(p for p in codec_dir.iterdir() if p.is_dir() and not p.name.startswith("codec.")):
        yield from _groups(sub)


#: Ids whose fixtures another test file decodes, with where.
CHECKED_ELSEWHERE = {
    i: "test_object_codecs.py::test_fixtures (object arrays, item by item)"
    for i in ("vlen-utf8", "vlen-bytes", "vlen-array", "json2", "msgpack2", "pickle")
}


def _cases():
    cases = []
    if not ROOT.is_dir():
        return cases
    for codec_dir in sorted(p for p in ROOT.iterdir() if p.is_dir()):
        if codec_dir.name not in nc.codec_registry or codec_dir.name in CHECKED_ELSEWHERE:
            continue
        for group in _groups(codec_dir):
            for cdir in sorted(group.glob("codec.*")):
                cases.append(pytest.param(codec_dir.name, group, cdir, id=str(cdir.relative_to(ROOT))))
    return cases


def _load(path: Path) -> np.ndarray:
    return np.load(path, allow_pickle=True)


def _view_like(dec, arr: np.ndarray) -> np.ndarray:
    """numcodecs' fixture check: the decoded items viewed with the array's dtype, shape, order."""
    order = "F" if arr.flags.f_contiguous and not arr.flags.c_contiguous else "C"
    if isinstance(dec, np.ndarray) and dec.dtype == object:
        return dec.reshape(arr.shape, order=order)
    d = numcodecs.compat.ensure_ndarray(dec).reshape(-1, order="A")
    return d.view(arr.dtype).reshape(arr.shape, order=order)


def _same(a: np.ndarray, b: np.ndarray) -> bool:
    if a.dtype == object or b.dtype == object:
        return a.shape == b.shape and list(a.reshape(-1, order="A")) == list(b.reshape(-1, order="A"))
    return a.dtype == b.dtype and a.shape == b.shape and a.tobytes() == b.tobytes()


def test_fixtures_are_there(fixtures):
    assert (fixtures / "numcodecs").is_dir()
    assert len(_cases()) > 40


#: Why an id may have no class here (none lacks one).
REASONS: dict = {}


def test_ids_without_an_ndpack_class(fixtures):
    ids = sorted(p.name for p in (fixtures / "numcodecs").iterdir() if p.is_dir())
    missing = {
        i: REASONS.get(i, "no ndpack codec class in this build")
        for i in ids
        if i not in nc.codec_registry
    }
    for codec_id, reason in missing.items():
        print(f"numcodecs fixture id not checked: {codec_id} ({reason})")
    for codec_id, where in CHECKED_ELSEWHERE.items():
        print(f"numcodecs fixture id checked in {where}: {codec_id}")
    # Only the ids with a stated reason lack a class.
    assert set(missing) <= set(REASONS), sorted(set(missing) - set(REASONS))
    # Every compressor, checksum and filter id is checked.
    assert not (NUMERIC_CODEC_IDS & set(missing)), sorted(NUMERIC_CODEC_IDS & set(missing))
    # numcodecs ships no fixtures for these two
    assert NUMERIC_CODEC_IDS - {"bitround", "fletcher32"} <= set(ids)
    # pcodec's fixtures are decoded by test_decode_fixture.
    assert "pcodec" in ids and "pcodec" not in missing


@pytest.mark.parametrize("codec_id, group, cdir", _cases())
def test_decode_fixture(codec_id, group, cdir):
    config = json.loads((cdir / "config.json").read_text())
    ours = nc.get_codec(config)
    assert ours.get_config() == numcodecs.get_codec(config).get_config()
    checked = 0
    for enc_path in sorted(cdir.glob("encoded.*.dat")):
        n = enc_path.name.split(".")[1]
        arr = _load(group / f"array.{n}.npy")
        enc = enc_path.read_bytes()
        dec = _view_like(ours.decode(enc), arr)
        if codec_id in LOSSY:
            ref = _view_like(numcodecs.get_codec(config).decode(enc), arr)
            assert _same(dec, ref), enc_path
        else:
            assert _same(dec, arr), enc_path
        # Decoding into a caller's array gives the same items.
        if arr.dtype != object and codec_id not in ("categorize",):
            out = np.empty_like(arr, order="A")
            ours.decode(enc, out=out)
            assert out.tobytes() == dec.tobytes(), enc_path
        checked += 1
    assert checked > 0
