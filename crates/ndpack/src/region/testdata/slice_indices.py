"""Writes slice_indices.txt: CPython's slice(start, stop, step).indices(len) over a grid of
values, the reference for `Slice::normalize`. Run: python3 slice_indices.py > slice_indices.txt
"""

MIN, MAX = -(2**63), 2**63 - 1
NAMES = {None: "N", MIN: "min", MAX: "max", -MAX: "-max"}
BOUNDS = [None, MIN, -7, -5, -1, 0, 1, 4, 5, 7, MAX]
STEPS = [None, MIN, -MAX, -3, -2, -1, 1, 2, 3, MAX]
LENS = [0, 1, 5]


def name(v):
    return NAMES.get(v, str(v))


print("# start stop step len -> start stop step  (slice(start, stop, step).indices(len))")
for n in LENS:
    for a in BOUNDS:
        for b in BOUNDS:
            for c in STEPS:
                r = slice(a, b, c).indices(n)
                print(name(a), name(b), name(c), n, "->", *(name(v) for v in r))
