"""ndpack arrays on Dask: :func:`to_dask` reads an :class:`ndpack.NDArray` as a ``dask.array``,
and :func:`from_dask` writes a Dask array into an ndpack array from many worker processes at once.

Reading (``NDArray.to_dask``) is ``dask.array.from_array`` over the array itself: it pickles as its
path and metadata (no data, no I/O at unpickling), each worker reopens it once, and reads release
the GIL, so no lock is needed. Dask chunks are multiples of the storage chunks.

Writing (``from_dask``) needs no global lock. The target is a sparse frame directory created on the
client with its final shape, chunks and compression parameters, every chunk zero. Each store task
writes the chunks its block covers: a whole chunk is compressed and written to a temporary file in
the directory, then renamed to the chunk's file (other writers and readers see the old chunk or
the new one); a chunk covered in part (blocks not aligned to the chunks, with ``align_chunks=False``)
is read, patched and rewritten under that chunk's file lock, so that writers of different parts of
one chunk from different processes keep each other's items. No task touches the index
(``chunks.b2frame``): after every task, one commit step writes it, with exact byte counts, so that
python-blosc2 and caterva open the result. A contiguous target (``contiguous=True``) is written
sparse beside it, then packed into one file in one pass.

If a worker dies during the writes, the target still opens (with what the last commit described);
rerunning the same write with ``mode="a"`` rewrites the chunks and commits: the result is exact.
Readers of the target during the writes see the last committed state.

Dask is imported on first use of these functions; ``import ndpack`` does not import it.
"""

from __future__ import annotations

import os
import shutil
import threading
import uuid
import weakref
from typing import Any, Optional, Sequence, Tuple

import numpy as np

from . import _ndpack as _ext
from . import _workers

__all__ = ["to_dask", "from_dask", "store", "commit", "tokenize_ndarray"]

_INDEX = "chunks.b2frame"

#: Tokens of arrays in memory (no path to name them by), one per object.
_MEMORY_TOKENS: "weakref.WeakKeyDictionary[Any, str]" = weakref.WeakKeyDictionary()


def tokenize_ndarray(array: Any) -> tuple:
    """What Dask's ``tokenize`` uses for an :class:`ndpack.NDArray`: its absolute path, the index
    file's modification time and size (a new generation after every commit), shape, dtype and
    chunks. An array in memory gets a random token, fixed for the life of the object."""
    shape = tuple(int(n) for n in array.shape)
    dtype = np.dtype(array.dtype).str
    chunks = tuple(int(n) for n in array.chunks)
    path = array.urlpath
    if path is None:
        token = _MEMORY_TOKENS.get(array)
        if token is None:
            token = _MEMORY_TOKENS.setdefault(array, uuid.uuid4().hex)
        return ("ndpack-memory", token, shape, dtype, chunks)
    path = os.path.abspath(os.fspath(path))
    index = os.path.join(path, _INDEX) if os.path.isdir(path) else path
    try:
        st = os.stat(index)
        generation = (st.st_mtime_ns, st.st_size, st.st_ino)
    except OSError:
        generation = None
    return ("ndpack", path, generation, shape, dtype, chunks)


def _check_multiples(chunks: Tuple[Tuple[int, ...], ...], storage: Sequence[int], what: str) -> None:
    for d, (dims, c) in enumerate(zip(chunks, storage)):
        for k, n in enumerate(dims[:-1]):
            if n % c:
                raise ValueError(
                    f"{what} {chunks} are not multiples of the storage chunks {tuple(storage)} "
                    f"(dimension {d}, block {k} has {n} items)"
                )


def _getter(a: Any, b: Any, asarray: bool = True, lock: Any = None) -> Any:
    """Dask's ``getter`` for ndpack arrays: sizes ndpack's pool for the worker (once per
    process), then reads ``a[b]`` (no lock: reads are thread-safe)."""
    from dask.array.core import getter

    _workers.configure()
    return getter(a, b, asarray=asarray, lock=lock)


def to_dask(array: Any, chunks: Any = None, inline_array: bool = False, name: Optional[str] = None) -> Any:
    """``array`` (an :class:`ndpack.NDArray`) as a ``dask.array.Array``.

    ``chunks``: the Dask chunks, multiples of the storage chunks (``None``: the storage chunks;
    ``"auto"``: multiples of them up to Dask's ``array.chunk-size``). Reads take no lock; each worker
    process reopens the array from its path once (an in-memory array is pickled whole)."""
    import dask.array as da
    from dask.base import tokenize

    _workers.configure()
    storage = tuple(int(n) for n in array.chunks)
    shape = tuple(int(n) for n in array.shape)
    dtype = np.dtype(array.dtype)
    if chunks is None:
        chunks = storage
    normal = da.core.normalize_chunks(chunks, shape, dtype=dtype, previous_chunks=storage)
    _check_multiples(normal, storage, "dask chunks")
    if name is None:
        name = "ndpack-" + tokenize(array, normal)
    return da.from_array(
        array,
        chunks=normal,
        name=name,
        lock=False,
        asarray=True,
        fancy=False,
        inline_array=inline_array,
        getitem=_getter,
        meta=np.empty((0,) * len(shape), dtype=dtype),
    )


#: The writers this process opened, by (path, job token), most recent last: the tasks of one
#: job unpickle a target each, and reuse the writer the first one opened.
_OPEN_WRITERS: "dict[Tuple[str, str], Any]" = {}
_OPEN_WRITERS_KEEP = 8
_OPEN_WRITERS_LOCK = threading.Lock()


class _Writer:
    """The target of ``da.store`` for :func:`from_dask`: pickles as its path, shape, dtype and
    a token of its job; each process opens the job's writer once, on first use."""

    def __init__(self, path: str, shape: Tuple[int, ...], dtype: Any, token: Optional[str] = None) -> None:
        self.path = path
        self.shape = tuple(shape)
        self.dtype = np.dtype(dtype)
        self.ndim = len(shape)
        self.token = token if token is not None else uuid.uuid4().hex
        self._w = None

    def __reduce__(self) -> tuple:
        return (_Writer, (self.path, self.shape, self.dtype.str, self.token))

    def _writer(self) -> Any:
        if self._w is None:
            key = (self.path, self.token)
            with _OPEN_WRITERS_LOCK:
                w = _OPEN_WRITERS.get(key)
            if w is None:
                _workers.configure()
                w = _ext.SparseArrayWriter(self.path)
                with _OPEN_WRITERS_LOCK:
                    w = _OPEN_WRITERS.setdefault(key, w)
                    while len(_OPEN_WRITERS) > _OPEN_WRITERS_KEEP:
                        del _OPEN_WRITERS[next(iter(_OPEN_WRITERS))]
            self._w = w
        return self._w

    def __setitem__(self, key: Any, value: Any) -> None:
        if not isinstance(key, tuple):
            key = (key,)
        starts, shape = [], []
        for k, n in zip(key, self.shape):
            s, e, step = k.indices(n)
            if step != 1:
                raise ValueError("from_dask writes boxes (slices of step 1)")
            starts.append(s)
            shape.append(max(e - s, 0))
        if not all(shape):
            return
        data = np.ascontiguousarray(np.broadcast_to(np.asarray(value, dtype=self.dtype), tuple(shape)))
        self._writer().write(starts, shape, data)


def _aligned_chunks(chunks: Tuple[Tuple[int, ...], ...], storage: Sequence[int]) -> Optional[tuple]:
    """Dask chunks that are multiples of ``storage`` near ``chunks``, or ``None`` when ``chunks``
    already are."""
    try:
        _check_multiples(chunks, storage, "chunks")
        return None
    except ValueError:
        pass
    out = []
    for dims, c in zip(chunks, storage):
        ok = all(n % c == 0 for n in dims[:-1])
        out.append(dims if ok else max(1, round(dims[0] / c)) * c)
    return tuple(out)


def _cparams_args(cparams: Any) -> tuple:
    from .schunk import CParams, _as_dict, _cparams_args as args

    p = _as_dict(cparams, "cparams")
    p.pop("typesize", None)
    p.pop("blocksize", None)
    codec, clevel, _ts, _bs, splitmode, filters, meta = args(CParams(**p))
    return codec, clevel, splitmode, filters, meta


def commit(urlpath: Any) -> dict:
    """Makes the index of a sparse array written in parallel exact (run it once every writer
    is done, in one process); removes what writers that died left. Returns counts."""
    n, stored, special, cbytes, removed = _ext.parallel_commit(os.fspath(urlpath))
    return {"nchunks": n, "stored": stored, "special": special, "cbytes": cbytes, "removed": removed}


def _finish(_stored: Any, sparse: str, urlpath: str, contiguous: bool) -> Any:
    from .ndarray import open as nd_open

    commit(sparse)
    if contiguous:
        _ext.parallel_pack(sparse, urlpath)
        shutil.rmtree(sparse)
    return nd_open(urlpath, mode="a")


def _finish_empty(sparse: str, urlpath: str, contiguous: bool) -> Any:
    from .ndarray import open as nd_open

    if contiguous:
        _ext.parallel_pack(sparse, urlpath)
        shutil.rmtree(sparse)
    return nd_open(urlpath, mode="a")


def _prepare(x: Any, urlpath: Any, chunks: Any, blocks: Any, cparams: Any, contiguous: bool,
             mode: str) -> Tuple[Any, str, str]:
    path = os.path.abspath(os.fspath(urlpath))
    if mode not in ("w", "w-", "a"):
        raise ValueError(f"mode must be 'w', 'w-' or 'a', got {mode!r}")
    if mode == "w-" and os.path.exists(path):
        raise FileExistsError(f"{path} exists (mode 'w-')")
    sparse = path + ".sparse-" + uuid.uuid4().hex[:8] if contiguous else path
    shape = tuple(int(n) for n in x.shape)
    dtype = np.dtype(x.dtype)
    if mode == "a" and os.path.isdir(sparse):
        w = _ext.SparseArrayWriter(sparse)
        if tuple(w.shape) != shape or np.dtype(w.dtype) != dtype:
            raise ValueError(f"{sparse} holds {w.dtype} of shape {tuple(w.shape)}, not {dtype} of shape {shape}")
        if chunks is not None and tuple(chunks) != tuple(w.chunks):
            raise ValueError(f"{sparse} has chunks {tuple(w.chunks)}, not {tuple(chunks)}")
        return tuple(w.chunks), sparse, path
    if chunks is None:
        chunks = tuple(max(1, int(c[0])) if c else 1 for c in x.chunks)
    if os.path.isfile(sparse) and not contiguous:
        os.remove(sparse)
    made, _blocks = _ext.parallel_create(
        sparse, list(shape), dtype.str, [int(c) for c in chunks],
        None if blocks is None else [int(b) for b in blocks], *_cparams_args(cparams))
    return tuple(made), sparse, path


def store(x: Any, urlpath: Any, align_chunks: bool = True, compute: bool = True, **kwargs: Any) -> Any:
    """Writes Dask array ``x`` into the parallel sparse array at ``urlpath`` (which must have
    ``x``'s shape and dtype) and commits; ``compute=False`` returns a ``Delayed``. What
    :func:`from_dask` with ``mode="a"`` does."""
    return from_dask(x, urlpath, mode="a", align_chunks=align_chunks, compute=compute, **kwargs)


def from_dask(x: Any, urlpath: Any, chunks: Any = None, blocks: Any = None, cparams: Any = None,
              compute: bool = True, contiguous: bool = False, mode: str = "w",
              align_chunks: bool = True) -> Any:
    """Writes Dask array ``x`` into a new ndpack array at ``urlpath`` from the workers at once,
    without a lock (see the module docs), and returns it as an :class:`ndpack.NDArray` (opened in
    mode ``"a"``), or with ``compute=False`` a ``dask.delayed.Delayed`` that does so.

    ``chunks``, ``blocks``: the storage shapes (``None``: the first Dask block's shape, and
    python-blosc2's default blocks). ``cparams``: python-blosc2's compression parameters (a dict
    or :class:`ndpack.blosc2.CParams`). ``contiguous``: one file (written sparse beside it, then
    packed), else a sparse frame directory. ``mode``: ``"w"`` replaces, ``"w-"`` refuses an
    existing path, ``"a"`` writes into the existing parallel sparse array at ``urlpath``
    (rerunning a write that failed). ``align_chunks``: rechunk ``x`` to multiples of the storage
    chunks first, so that every write is lock-free (else blocks that cut a chunk write it under
    the chunk's file lock)."""
    import dask
    import dask.array as da

    if not isinstance(x, da.Array):
        x = da.asarray(x)
    storage, sparse, path = _prepare(x, urlpath, chunks, blocks, cparams, contiguous, mode)
    if 0 in x.shape:
        # No chunk to write; the new array is already exact.
        result = dask.delayed(_finish_empty, pure=False)(sparse, path, contiguous)
        return result.compute() if compute else result
    if align_chunks:
        new = _aligned_chunks(x.chunks, storage)
        if new is not None:
            x = x.rechunk(new)
    target = _Writer(sparse, tuple(int(n) for n in x.shape), np.dtype(x.dtype))
    stored = da.store(x, target, lock=False, compute=False)
    result = dask.delayed(_finish, pure=False)(stored, sparse, path, contiguous)
    if compute:
        return result.compute()
    return result
