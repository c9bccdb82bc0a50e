"""Writes layout_chunks.txt: the decoded chunks of small python-blosc2 4.15 arrays.

Each case is a line `case <dtype> <shape> <chunks> <blocks>` (comma-separated dimensions) with
items `arange(size)` cast to the dtype, then one line of hex per chunk: the chunk's bytes as
`a.schunk.decompress_chunk(i)` returns them (blocks in C order, padding zero).
Run: python3 layout_chunks.py > layout_chunks.txt
"""
import blosc2
import numpy as np

CASES = [
    ("<u2", (7, 10), (4, 6), (3, 4)),
    ("|u1", (5, 4, 6), (3, 4, 5), (2, 3, 2)),
    ("<i4", (9,), (4,), (3,)),
    ("<f8", (), (), ()),
    ("|u1", (3, 1, 2, 5), (2, 1, 2, 3), (1, 1, 2, 2)),
]

for dtype, shape, chunks, blocks in CASES:
    n = int(np.prod(shape))
    arr = (np.arange(n) % 251 + 1).astype(dtype).reshape(shape)
    a = blosc2.asarray(arr, chunks=chunks, blocks=blocks)
    dims = lambda t: ",".join(map(str, t)) or "-"
    print("case", dtype, dims(shape), dims(chunks), dims(blocks))
    for i in range(a.schunk.nchunks):
        print(a.schunk.decompress_chunk(i).hex())
