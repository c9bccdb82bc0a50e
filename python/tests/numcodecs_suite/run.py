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
unexpected failure or unexpected pass.
"""

from __future__ import annotations

import os
import subprocess
import sys
import tarfile
from importlib.metadata import version
from pathlib import Path

HERE = Path(__file__).resolve().parent
REPO = HERE.parents[2]
CACHE = Path(os.environ.get("NDPACK_NUMCODECS_SUITE", REPO / "target" / "numcodecs-suite"))


def fetch(ver: str) -> Path:
    """The extracted sdist root of numcodecs ``ver`` (downloading it on the first call)."""
    root = CACHE / f"numcodecs-{ver}"
    done = root / ".extracted"
    if done.exists():
        return root
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
    ]
    cmd += ["-p", "ndpack_substitution"]
    if against_numcodecs:
        env["NDPACK_SUITE_SUBSTITUTE"] = "0"
    cmd += argv or ["numcodecs/tests"]
    print("==", " ".join(cmd), f"(in {root})", flush=True)
    return subprocess.call(cmd, cwd=root, env=env)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
