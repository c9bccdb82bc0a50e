"""ndpack's thread pool inside Dask workers.

A Dask worker runs ``nthreads`` tasks at once; each task that calls ndpack would otherwise start
work on a pool of all cores, so that ``nthreads x cores`` threads compete for the cores. Inside a
worker, ndpack's pool therefore defaults to the worker's number of threads (one pool thread per
worker thread). The environment variable ``NDPACK_NUM_THREADS`` (a positive integer) overrides
this, as it overrides the default everywhere; :func:`ndpack.set_nthreads` changes it at any time.

Nothing here imports Dask: a worker is recognised from the ``distributed`` modules that the
worker process has already imported.
"""

from __future__ import annotations

import os
import sys
from typing import Optional

from . import _ndpack as _ext

#: The process id for which the pool was sized for its worker (0: not yet).
_configured_pid = 0


def worker_nthreads() -> Optional[int]:
    """The number of threads of the Dask worker running in this process, or ``None`` outside a
    worker (or with several workers in this process)."""
    dist = sys.modules.get("distributed")
    if dist is None:
        return None
    worker = None
    try:
        worker = dist.get_worker()
    except Exception:
        mod = sys.modules.get("distributed.worker")
        cls = getattr(mod, "Worker", None)
        instances = list(getattr(cls, "_instances", ()) or ())
        if len(instances) == 1:
            worker = instances[0]
    if worker is None:
        return None
    state = getattr(worker, "state", None)
    n = getattr(state, "nthreads", None) or getattr(worker, "nthreads", None)
    try:
        n = int(n)
    except (TypeError, ValueError):
        return None
    return n if n > 0 else None


def configure() -> None:
    """Sizes ndpack's pool for the Dask worker of this process, once per process: the worker's
    number of threads, unless ``NDPACK_NUM_THREADS`` is set. Cheap when already done or when
    not in a worker."""
    global _configured_pid
    pid = os.getpid()
    if _configured_pid == pid:
        return
    if os.environ.get("NDPACK_NUM_THREADS", "").strip():
        _configured_pid = pid
        return
    n = worker_nthreads()
    if n is not None:
        _ext.set_nthreads(n)
        _configured_pid = pid
