"""Crash test of ndpack's SChunk writer, checked with python-blosc2 4.15 (the twin of
``crates/ndpack/tests/frames_crash.rs``).

A child process (this file run as a script) opens a contiguous frame file or a sparse frame
directory with ``ndpack.blosc2.SChunk(urlpath=..., mode="a")`` and appends, inserts, updates
(to chunks of other sizes and to zero chunks) and deletes chunks, sets and deletes vlmeta entries
and compacts, printing ``begin i`` / ``done i`` around each operation. The parent kills it with
SIGKILL after a seeded random delay. Both sides draw the operations from the same seed, so after
each kill the parent knows the state after the last ``done`` and, when the next operation had
begun, the state after it; the frame must hold exactly one of the two, read through

- ``blosc2.open(path, mode="r")`` (python-blosc2 4.15, c-blosc2 3.6.1) **directly**, before
  ndpack touches the file: ndpack writes new bytes past the live frame and commits with one
  header write, so a killed write leaves a valid frame (plus, in a file, bytes past
  ``frame_len``, which c-blosc2 ignores: it reads ``frame_len`` from the header and only checks
  that the file is at least that long; in a directory, at most a chunk file that no index names);
- ``ndpack.open(path, mode="r")``, and ``mode="a"``, which cuts the bytes past ``frame_len``.

So no repair is needed for python-blosc2 to read a killed file; the test asserts that.
"""

import random
import signal
import subprocess
import sys
import time

import pytest

ITEMS = 1000
CHUNK = 4 * ITEMS
MOST_CHUNKS = 16
VL_NAMES = ["alpha", "beta", "gamma"]
RUNS = 40


def content(cid):
    """The 4000 bytes of chunk content ``cid``: a ramp, a ramp with a noisy low byte, noise, runs,
    or zeros (a special chunk)."""
    import numpy as np

    if cid % 11 == 0:
        return bytes(CHUNK)
    rng = np.random.default_rng(cid)
    k = np.arange(ITEMS, dtype=np.uint32)
    kind = cid % 4
    if kind == 0:
        v = k * np.uint32(cid % 1000 | 1)
    elif kind == 1:
        v = k ^ rng.integers(0, 256, ITEMS, dtype=np.uint32)
    elif kind == 2:
        v = rng.integers(0, 2**32, ITEMS, dtype=np.uint32)
    else:
        v = (k // 100) ^ np.uint32(cid % 2**32)
    return v.astype("<u4").tobytes()


def plan(rng, run, i, nchunks, vlnames):
    """Operation ``i`` of run ``run`` on a frame of ``nchunks`` chunks and vlmeta ``vlnames``."""
    cid = run * 100_000 + i + 1
    r = rng.randrange(100)
    if nchunks >= MOST_CHUNKS and r < 50:
        return ("delete", rng.randrange(nchunks))
    if r < 25:
        return ("append", cid)
    if r < 55 and nchunks > 0:
        return ("update", rng.randrange(nchunks), cid)
    if r < 65:
        return ("insert", rng.randrange(nchunks + 1), cid)
    if r < 80 and nchunks > 1:
        return ("delete", rng.randrange(nchunks))
    if r < 92:
        return ("vlset", VL_NAMES[rng.randrange(len(VL_NAMES))], cid)
    if r < 97 and vlnames:
        return ("vldel", sorted(vlnames)[rng.randrange(len(vlnames))])
    if r < 100:
        return ("compact",)
    return ("append", cid)


def apply_state(state, op):
    chunks, vl = state
    kind = op[0]
    if kind == "append":
        chunks.append(op[1])
    elif kind == "insert":
        chunks.insert(op[1], op[2])
    elif kind == "update":
        chunks[op[1]] = op[2]
    elif kind == "delete":
        del chunks[op[1]]
    elif kind == "vlset":
        vl[op[1]] = op[2]
    elif kind == "vldel":
        del vl[op[1]]


def apply_frame(s, op, nb2):
    kind = op[0]
    cp = dict(typesize=4, codec=nb2.Codec.LZ4, clevel=5)
    if kind == "append":
        s.append_data(content(op[1]))
    elif kind == "insert":
        s.insert_chunk(op[1], nb2.compress2(content(op[2]), **cp))
    elif kind == "update":
        s.update_chunk(op[1], nb2.compress2(content(op[2]), **cp))
    elif kind == "delete":
        s.delete_chunk(op[1])
    elif kind == "vlset":
        s.vlmeta[op[1]] = f"v{op[2]}"
    elif kind == "vldel":
        del s.vlmeta[op[1]]
    elif kind == "compact":
        s.compact()


def child(path, seed, run):
    import ndpack.blosc2 as nb2

    s = nb2.SChunk(urlpath=path, mode="a")
    nchunks, vlnames = s.nchunks, list(s.vlmeta.keys())
    print("ready", flush=True)
    rng = random.Random(seed)
    state = ([0] * nchunks, dict.fromkeys(vlnames, 0))
    for i in range(20_000):
        op = plan(rng, run, i, len(state[0]), list(state[1]))
        print(f"begin {i} {op}", flush=True)
        apply_frame(s, op, nb2)
        print(f"done {i}", flush=True)
        apply_state(state, op)


def holds(frame, state):
    """None when ``frame`` (an SChunk of python-blosc2 or ndpack) holds ``state``, else why not."""
    chunks, vl = state
    if frame.nchunks != len(chunks):
        return f"{frame.nchunks} chunks, expected {len(chunks)}"
    for i, cid in enumerate(chunks):
        if bytes(frame.decompress_chunk(i)) != content(cid):
            return f"chunk {i} is not content {cid}"
    names = sorted(frame.vlmeta.keys())
    if names != sorted(vl):
        return f"vlmeta {names}, expected {sorted(vl)}"
    for name, cid in vl.items():
        if frame.vlmeta[name] != f"v{cid}":
            return f"vlmeta {name} is {frame.vlmeta[name]!r}, not v{cid}"
    return None


def journal(text):
    done, begun = 0, False
    for line in text.splitlines():
        if line.startswith("done "):
            done, begun = int(line.split()[1]) + 1, False
        elif line.startswith("begin "):
            begun = True
    return done, begun


@pytest.mark.parametrize("contiguous", [True, False], ids=["contiguous", "sparse"])
def test_killed_writer_leaves_a_frame_python_blosc2_reads(tmp_path, contiguous):
    import blosc2

    import ndpack
    import ndpack.blosc2 as nb2

    assert blosc2.__version__ == "4.15.0"
    path = str(tmp_path / ("f.b2frame" if contiguous else "f.sframe"))
    state = ([1, 2, 3, 4], {"alpha": 5})
    s = nb2.SChunk(chunksize=CHUNK, urlpath=path, contiguous=contiguous, mode="w",
                   cparams=dict(typesize=4, codec=nb2.Codec.LZ4, clevel=5))
    for cid in state[0]:
        s.append_data(content(cid))
    s.vlmeta["alpha"] = "v5"
    del s
    rng = random.Random(7 if contiguous else 8)
    total = 0
    for run in range(1, RUNS + 1):
        seed = rng.randrange(2**32)
        proc = subprocess.Popen([sys.executable, __file__, path, str(seed), str(run)],
                                stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        first = proc.stdout.readline()
        assert first.strip() == "ready", (first, proc.stderr.read())
        time.sleep(rng.uniform(0, 0.05))
        proc.send_signal(signal.SIGKILL)
        proc.wait()
        # (Read through the same buffered reader as the first line: communicate() would skip
        # what it has buffered.)
        out, err = proc.stdout.read(), proc.stderr.read()
        proc.stdout.close()
        proc.stderr.close()
        assert proc.returncode == -signal.SIGKILL, err
        done, begun = journal(out)
        total += done
        prng = random.Random(seed)
        before = (list(state[0]), dict(state[1]))
        for i in range(done):
            op = plan(prng, run, i, len(before[0]), list(before[1]))
            apply_state(before, op)
        after = (list(before[0]), dict(before[1]))
        apply_state(after, plan(prng, run, done, len(after[0]), list(after[1])))
        # python-blosc2, directly on what the kill left.
        theirs = blosc2.open(path, mode="r")
        why = holds(theirs, before)
        if why is None:
            state = before
        else:
            assert begun, f"run {run}: after {done} ops: {why}"
            why2 = holds(theirs, after)
            assert why2 is None, f"run {run}: killed in op {done}: neither old ({why}) nor new ({why2})"
            state = after
        del theirs
        assert holds(ndpack.open(path, mode="r"), state) is None, run
        if run % 2 == 0:
            # Every other run, ndpack's mode "a" cuts what the crash left first.
            assert holds(nb2.SChunk(urlpath=path, mode="a"), state) is None, run
            assert holds(blosc2.open(path, mode="r"), state) is None, run
    assert total > RUNS


if __name__ == "__main__":
    child(sys.argv[1], int(sys.argv[2]), int(sys.argv[3]))
