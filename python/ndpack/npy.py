"""NPY and NPZ: zero-copy loading from bytes, and writing.

Same names and behaviour as SPDL's ``spdl.io.load_npy`` / ``load_npz`` where SPDL has them, plus
Fortran-ordered and structured arrays, writers and file loading through ``mmap``:

- :func:`load_npy` ``(data, *, copy=False)``: an array sharing memory with ``data``.
- :func:`load_npz` ``(data, *, copy=False, max_uncompressed_bytes=None)``: an :class:`NpzFile`.
- :func:`save_npy` ``(array) -> bytes`` and :func:`save_npz` ``(arrays, *, compressed=False)``.
- :func:`load` ``(path)``: a memory-mapped ``.npy`` or ``.npz`` file.
"""

from __future__ import annotations

import mmap
import os
from collections.abc import Iterator, Mapping
from typing import Any, Dict, List, Optional, Union

import numpy as np

from . import _ndpack
from ._ndpack import load_npy

__all__ = ["NpzFile", "load", "load_npy", "load_npz", "save_npy", "save_npz"]

_dtype_to_descr = np.lib.format.dtype_to_descr


class NpzFile(Mapping):
    """The arrays of an NPZ archive held in memory, a read-only mapping like NumPy's ``NpzFile``.

    ``files`` lists the member names without their ``.npy`` suffix; keys work with or without it.
    Stored members are zero-copy views into the archive; deflated members are inflated (checked
    against their CRC-32) when accessed, or all at once in parallel by :meth:`load_all`.
    Members that are not NPY files are returned as ``bytes``, as NumPy does.

    Accessing a member also decodes members after it in parallel, without the GIL, and keeps them
    for their first access, so that reading every member in turn is as fast as :meth:`load_all`.
    The first access decodes one more member per extra ndpack thread; the amount doubles while the
    members decoded ahead are all being read, up to 64 MiB held at most. Each access returns its
    own array, as NumPy does; :meth:`close` drops what is held.
    """

    def __init__(
        self,
        data: Any,
        *,
        copy: bool = False,
        max_uncompressed_bytes: Optional[int] = None,
        verify_crc: bool = True,
    ) -> None:
        if max_uncompressed_bytes is not None and max_uncompressed_bytes < 0:
            raise ValueError("max_uncompressed_bytes must be non-negative.")
        self._archive = _ndpack._NpzArchive(
            data, max_uncompressed_bytes=max_uncompressed_bytes, verify_crc=verify_crc
        )
        self._copy = copy
        self.files: List[str] = self._archive.files()
        self._files: List[str] = self._archive.names()

    def __getitem__(self, key: str) -> Any:
        if not isinstance(key, str):
            raise KeyError(key)
        return self._archive.get(key, self._copy)

    def __contains__(self, key: object) -> bool:
        return isinstance(key, str) and self._archive.contains(key)

    def __iter__(self) -> Iterator[str]:
        return iter(self.files)

    def __len__(self) -> int:
        return len(self.files)

    def load_all(self) -> Dict[str, Any]:
        """Every member, decoded in parallel on ndpack's threads without the GIL."""
        return dict(self._archive.load_all(self._copy))

    def close(self) -> None:
        """Drops the members decoded ahead of access; arrays already returned keep their memory
        alive, and members can still be read afterwards."""
        self._archive.release()

    def __enter__(self) -> "NpzFile":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def __repr__(self) -> str:
        return f"NpzFile object with {len(self)} entries."


def load_npz(
    data: Any,
    *,
    copy: bool = False,
    max_uncompressed_bytes: Optional[int] = None,
) -> NpzFile:
    """Opens an NPZ archive held in memory (``bytes``, ``bytearray``, ``memoryview``, ``mmap``).

    ``max_uncompressed_bytes`` bounds the declared size of all deflated members together (SPDL's
    argument; ``None``: only the bound of what deflate can produce from the compressed bytes).
    """
    return NpzFile(data, copy=copy, max_uncompressed_bytes=max_uncompressed_bytes)


def _descr(dtype: np.dtype) -> str:
    if dtype.hasobject:
        raise ValueError("object arrays cannot be saved without pickle")
    if dtype.names is None and dtype.subdtype is None:
        return dtype.str
    return repr(_dtype_to_descr(dtype))


def _contiguous(array: Any) -> np.ndarray:
    a = np.asanyarray(array)
    if not (a.flags.c_contiguous or a.flags.f_contiguous):
        a = np.ascontiguousarray(a)
    return a


def save_npy(array: Any) -> bytes:
    """The bytes ``np.save`` writes for ``array`` (same header, Fortran order kept)."""
    a = _contiguous(array)
    return _ndpack._save_npy(a, _descr(a.dtype))


def save_npz(
    arrays: Union[Mapping, List[Any], tuple, None] = None,
    *args: Any,
    compressed: bool = False,
    **kwds: Any,
) -> bytes:
    """The bytes of an NPZ archive that ``numpy.load`` reads.

    ``arrays`` is a mapping of names to arrays, or a sequence of arrays named ``arr_0``,
    ``arr_1``, ...; further positional and keyword arrays are added as ``np.savez`` does (named
    arrays first, then ``arr_<i>``).
    ``compressed=True`` deflates the members (like ``np.savez_compressed``), in parallel.
    """
    named: Dict[str, Any] = {}
    positional: List[Any] = []
    if isinstance(arrays, Mapping):
        named.update(arrays)
    elif isinstance(arrays, (list, tuple)):
        positional.extend(arrays)
    elif arrays is not None:
        positional.append(arrays)
    positional.extend(args)
    for k, v in kwds.items():
        if k in named:
            raise ValueError(f"duplicate array name {k!r}")
        named[k] = v
    # Like np.savez: named arrays first, then the positional ones as arr_0, arr_1, ...
    for i, a in enumerate(positional):
        key = f"arr_{i}"
        if key in named:
            raise ValueError(f"Cannot use un-named variables and keyword {key}")
        named[key] = a
    items = []
    for name, value in named.items():
        a = _contiguous(value)
        items.append((str(name), a, _descr(a.dtype)))
    return _ndpack._save_npz(items, compressed)


def load(path: Union[str, "os.PathLike[str]"], *, copy: bool = False) -> Any:
    """Loads a ``.npy`` file (an array) or ``.npz`` file (an :class:`NpzFile`) through ``mmap``.

    Without ``copy`` the arrays are read-only views of the mapped file.
    """
    with open(path, "rb") as f:
        size = os.fstat(f.fileno()).st_size
        if size == 0:
            raise ValueError(f"{os.fspath(path)!r} is empty")
        data: Any = mmap.mmap(f.fileno(), 0, access=mmap.ACCESS_READ)
    head = data[:6]
    if head == b"\x93NUMPY":
        return load_npy(data, copy=copy)
    if head[:2] == b"PK":
        return load_npz(data, copy=copy)
    raise ValueError(f"{os.fspath(path)!r} is neither an NPY nor an NPZ file")
