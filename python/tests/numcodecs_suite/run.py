#!/usr/bin/env python3
"""Runs numcodecs' own test suite with ndpack's codec classes and ``blosc`` functions in place of
numcodecs' (see ``ndpack_substitution.py``), as the contract that ndpack is a drop-in
replacement.

    python3 python/tests/numcodecs_suite/run.py [--numcodecs] [PYTEST ARGS...]

ndpack is imported as usual: installed, or from a worktree with ``PYTHONPATH=<repo>/python``.

Fetches the numcodecs sdist of the installed numcodecs version with pip (once; cached under
``target/numcodecs-suite/``), extracts its ``numcodecs/tests`` and ``fixture/`` folders and runs
pytest on them from the sdist's root (the tests read ``fixture/`` relative to it), with
numcodecs' own pytest settings (warnings are errors, xfails are strict) except its coverage
options. The deliberate differences of ndpack and the tests that fail with numcodecs itself are
listed, with their reasons, in ``ndpack_substitution.py`` and marked as strict xfails; they are
printed before the run. ``--numcodecs`` runs the suite unsubstituted, against numcodecs itself
(checking the list of tests that fail there). Exits with pytest's status: non-zero on any
unexpected failure or unexpected pass, and when the run does not end within
``NDPACK_NUMCODECS_SUITE_TIMEOUT`` seconds (default 900).
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from importlib.metadata import version
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))
from _suite_fetch import fetch_sdist  # noqa: E402

REPO = HERE.parents[2]
CACHE = Path(os.environ.get("NDPACK_NUMCODECS_SUITE", REPO / "target" / "numcodecs-suite"))
#: Seconds the suite may run (it takes well under a minute on 2 cores) before it counts as hung.
TIMEOUT_S = int(os.environ.get("NDPACK_NUMCODECS_SUITE_TIMEOUT", "900"))


def fetch(ver: str) -> Path:
    """The extracted sdist root of numcodecs ``ver`` (downloading it on the first call)."""
    return fetch_sdist("numcodecs", ver, CACHE, ("numcodecs/tests/", "fixture/", "pyproject.toml"))
    CACHE.mkdir(parents=True, exist_ok=True)
    sdist = CACHE / f"numcodecs-{ver}.tar.gz"
    if not sdist.exists():
        # Only numcodecs itself from source: `--no-binary :all:` would also build its build
        # dependencies from source.
        subprocess.run(
            [sys.executable, "-m", "pip", "download", f"numcodecs=={ver}", "--no-binary",
             "numcodecs", "--no-deps", "-q", "-d", str(CACHE)],
            check=True,
        )
    prefix = f"numcodecs-{ver}/"
    wanted = (prefix + "numcodecs/tests/", prefix + "fixture/", prefix + "pyproject.toml")
    with tarfile.open(sdist) as tar:
        members = [m for m in tar.getmembers() if m.name.startswith(wanted)]
        tar.extractall(CACHE, members=members, filter="data")
    done.touch()
    return root


def main(argv: list[str]) -> int:
    against_numcodecs = "--numcodecs" in argv
    argv = [a for a in argv if a != "--numcodecs"]
    ver = version("numcodecs")
    root = fetch(ver)
    env = dict(os.environ)
    # The plugin's folder; ndpack itself is the one Python imports (installed, or on PYTHONPATH).
    paths = [str(HERE)]
    if env.get("PYTHONPATH"):
        paths.append(env["PYTHONPATH"])
    env["PYTHONPATH"] = os.pathsep.join(paths)
    cmd = [
        sys.executable, "-m", "pytest",
        "-c", str(root / "pyproject.toml"), "--rootdir", str(root),
        "-o", "addopts=-ra --strict-config --strict-markers",
        "-p", "no:cacheprovider", "-q",
        # numcodecs' tests have no async code; pytest-asyncio (installed for zarr's tests) warns
        # about its unset loop scope, which numcodecs' `filterwarnings = error` makes fatal.
        "-p", "no:asyncio",
    ]
    cmd += ["-p", "ndpack_substitution"]
    if against_numcodecs:
        env["NDPACK_SUITE_SUBSTITUTE"] = "0"
    cmd += argv or ["numcodecs/tests"]
    print("==", " ".join(cmd), f"(in {root})", flush=True)
    proc = subprocess.Popen(cmd, cwd=root, env=env, start_new_session=True)
    try:
        return proc.wait(timeout=TIMEOUT_S)
    except subprocess.TimeoutExpired:
        # A hang (e.g. a forked worker that never returns) fails the run instead of blocking CI.
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait()
        print(f"== numcodecs suite: no result after {TIMEOUT_S} s, stopped", flush=True)
        return 124


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
