"""Helpers for test_dask.py and test_xarray.py that run in Dask worker processes (an importable
module: functions defined in a test module would be pickled by value)."""

from __future__ import annotations

import contextlib
import os
import pickle
import time

import numpy as np


@contextlib.contextmanager
def local_cluster():
    """A 2-process LocalCluster on loopback and its client; checks that the workers are separate
    processes (an in-process cluster would hide pickling bugs)."""
    import distributed

    with distributed.LocalCluster(
        n_workers=2,
        threads_per_worker=1,
        processes=True,
        host="127.0.0.1",
        dashboard_address=None,
        memory_limit="2GiB",
    ) as cluster, distributed.Client(cluster) as client:
        client.wait_for_workers(2, timeout=60)
        pids = set(client.run(os.getpid).values())
        assert len(pids) == 2 and os.getpid() not in pids, pids
        yield client


def worker_pid(_x=None) -> int:
    return os.getpid()


def pool_threads(_x=None) -> int:
    """ndpack's pool size in the process that runs this (after ndpack configured it)."""
    import ndpack

    return ndpack.get_nthreads()


def unpickle_and_read(blob: bytes, key):
    """Unpickles an NDArray in this process and reads ``key``."""
    a = pickle.loads(blob)
    return a[key]


def slow_block(block: np.ndarray, delay: float = 0.05) -> np.ndarray:
    """Returns ``block`` after ``delay`` seconds (keeps a store running while a test acts)."""
    time.sleep(delay)
    return block
