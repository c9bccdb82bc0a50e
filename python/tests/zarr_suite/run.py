#!/usr/bin/env python3
"""Runs zarr-python's own test suite (the ``tests/`` folder of the installed zarr's sdist) twice:
with zarr's default codec pipeline and with ``ndpack.zarr.CodecPipeline`` forced through
``ZARR_CODEC_PIPELINE__PATH``; the contract is that no test that passes with zarr's pipeline
fails with ndpack's.

    python3 python/tests/zarr_suite/run.py [--all] [PYTEST ARGS...]

Without ``--all`` it runs the parts about arrays, indexing, codecs and sharding
(``RELEVANT``); with it, the whole suite. Fetches the zarr sdist with pip once (cached under
``target/zarr-suite/``). Needs pytest-asyncio (zarr's tests are async). Prints the counts of
both runs and the tests that fail only with ndpack; exits non-zero when there are any.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from importlib.metadata import version
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))
from _suite_fetch import fetch_sdist  # noqa: E402

REPO = HERE.parents[2]
CACHE = Path(os.environ.get("NDPACK_ZARR_SUITE", REPO / "target" / "zarr-suite"))
TIMEOUT_S = int(os.environ.get("NDPACK_ZARR_SUITE_TIMEOUT", "1800"))
#: Tests that fail only with ndpack's pipeline by design, with the reason: reported, not errors.
EXPECTED = {
    "tests/test_array.py::test_create_array_with_data_num_gets": (
        "counts the store's get requests: zarr reads each shard before writing it whole, ndpack "
        "writes whole shards without reading them (fewer gets than the test asserts)"
    ),
    "tests/test_config.py::test_config_codec_pipeline_class": (
        "asserts that the configured pipeline is zarr's default, which the forced "
        "ZARR_CODEC_PIPELINE__PATH changes"
    ),
}
#: The test files about arrays, indexing, codecs and sharding.
RELEVANT = ["tests/test_array.py", "tests/test_indexing.py", "tests/test_codecs", "tests/test_v2.py"]


def fetch(ver: str) -> Path:
    """The extracted sdist root of zarr ``ver`` (downloading it on the first call)."""
    return fetch_sdist("zarr", ver, CACHE, ("tests/", "pyproject.toml"))
    CACHE.mkdir(parents=True, exist_ok=True)
    sdist = CACHE / f"zarr-{ver}.tar.gz"
    if not sdist.exists():
        subprocess.run(
            [sys.executable, "-m", "pip", "download", f"zarr=={ver}", "--no-binary", "zarr",
             "--no-deps", "-q", "-d", str(CACHE)],
            check=True,
        )
    prefix = f"zarr-{ver}/"
    wanted = (prefix + "tests/", prefix + "pyproject.toml")
    with tarfile.open(sdist) as tar:
        members = [m for m in tar.getmembers() if m.name.startswith(wanted)]
        tar.extractall(CACHE, members=members, filter="data")
    done.touch()
    return root


def run(root: Path, targets: list[str], extra: list[str], pipeline: str | None) -> tuple[dict[str, int], set[str]]:
    env = dict(os.environ)
    if pipeline:
        env["ZARR_CODEC_PIPELINE__PATH"] = pipeline
    cmd = [
        sys.executable, "-m", "pytest", "-c", str(root / "pyproject.toml"), "--rootdir", str(root),
        "-o", "addopts=", "-p", "no:cacheprovider", "-q", "-rfE", "--continue-on-collection-errors",
        *targets, *extra,
    ]
    proc = subprocess.run(cmd, cwd=root, env=env, capture_output=True, text=True, timeout=TIMEOUT_S)
    out = proc.stdout
    failed = set(re.findall(r"^(?:FAILED|ERROR) (\S+)", out, re.M))
    counts = {k: int(v) for v, k in re.findall(r"(\d+) (passed|failed|skipped|xfailed|xpassed|errors?|deselected)", out.splitlines()[-1] if out else "")}
    if not counts:
        print(out[-3000:], proc.stderr[-3000:])
    return counts, failed


def main(argv: list[str]) -> int:
    whole = "--all" in argv
    extra = [a for a in argv if a != "--all"]
    root = fetch(version("zarr"))
    targets = ["tests"] if whole else RELEVANT
    base_counts, base_failed = run(root, targets, extra, None)
    print(f"zarr's pipeline:   {base_counts}")
    ours_counts, ours_failed = run(root, targets, extra, "ndpack.zarr.CodecPipeline")
    print(f"ndpack's pipeline: {ours_counts}")
    only_ours = sorted(ours_failed - base_failed)
    unexpected = []
    for t in only_ours:
        why = EXPECTED.get(t.split("[")[0])
        if why:
            print("fails only with ndpack, by design:", t, "-", why)
        else:
            print("fails only with ndpack:", t)
            unexpected.append(t)
    for t in sorted(base_failed - ours_failed):
        print("fails only with zarr's pipeline:", t)
    return 1 if unexpected or not ours_counts else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
