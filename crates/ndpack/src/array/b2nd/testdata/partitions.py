"""Writes partitions.txt: python-blosc2 4.15's default chunks and blocks
(`blosc2.core.compute_chunks_blocks`) for a table of shapes, item sizes, given chunks/blocks and
cache configurations, with `blosc2.cpu_info` and `platform` patched to each configuration.

Line format: `<machine> <system> <l1d> <l2> <l3> | <shape> | <chunks> | <blocks> | <itemsize>
=> <chunks> | <blocks>` (dimensions comma-separated, `-` for none/empty, `N` for None, `E` for
an error). Run: python3 partitions.py > partitions.txt
"""
import platform

import blosc2
import blosc2.core as core
import numpy as np

CACHES = [
    ("x86_64", "Linux", 49152, 2097152, 503316480),
    ("x86_64", "Linux", 32768, 1048576, 33554432),
    ("x86_64", "Linux", 32768, 262144, None),
    ("arm64", "Darwin", 65536, 4194304, None),
    ("aarch64", "Linux", 65536, 1048576, 8388608),
    ("aarch64", "Linux", None, None, None),
]
SHAPES = [
    (), (1,), (10,), (1000,), (100000,), (10**7,), (1000, 1000), (7, 13), (480, 512, 512),
    (3, 1, 20000), (1, 1, 1, 1), (100, 100, 100, 100), (2**20, 3), (97, 89, 83), (0, 5),
    (250000, 3),
]
ITEMSIZES = [1, 2, 4, 8, 12, 16, 40000]
GIVEN = [(None, None), ("chunks", None), (None, "blocks")]


def fmt(t):
    if t is None:
        return "N"
    return ",".join(map(str, t)) or "-"


real_machine, real_system = platform.machine, platform.system
for machine, system, l1, l2, l3 in CACHES:
    info = {"count": 2}
    if l1 is not None:
        info["l1_data_cache_size"] = l1
    if l2 is not None:
        info["l2_cache_size"] = l2
    if l3 is not None:
        info["l3_cache_size"] = l3
    blosc2.cpu_info = info
    platform.machine = lambda m=machine: m
    platform.system = lambda s=system: s
    for shape in SHAPES:
        for itemsize in ITEMSIZES:
            for gc, gb in GIVEN:
                chunks = tuple(max(1, (d + 2) // 3) for d in shape) if gc else None
                blocks = tuple(max(1, (d + 6) // 7) for d in shape) if gb else None
                try:
                    c, b = core.compute_chunks_blocks(shape, chunks, blocks, np.dtype(f"V{itemsize}"))
                    res = f"{fmt(tuple(c))} | {fmt(tuple(b))}"
                except ValueError:
                    res = "E"
                head = f"{machine} {system} {l1 or 'N'} {l2 or 'N'} {l3 or 'N'}"
                print(f"{head} | {fmt(shape)} | {fmt(chunks)} | {fmt(blocks)} | {itemsize} => {res}")
platform.machine, platform.system = real_machine, real_system
