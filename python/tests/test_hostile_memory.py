"""Inputs that ask for more memory than there is: each decode runs in a child process limited to
3 GiB of address space and must raise ``MemoryError`` or ``ValueError`` (and the child exit
normally), never abort, crash or raise a ``PanicException``.

The hostile inputs are legitimate streams of a few MB that decode to 6 GiB (zstd RLE blocks
without a content size, bzip2 members of 64 MiB zeros, gzip and zlib streams of zeros), a
buffer of 8 TiB, and JSON/MsgPack headers that declare 2 GB items in 21 bytes.
"""

import bz2
import os
import resource
import struct
import subprocess
import sys
import textwrap
import zlib
from pathlib import Path

import numpy as np
import pytest

import ndpack
from ndpack import codecs

#: The address-space limit of every child.
LIMIT = 3 << 30
#: What the streams decode to: twice the limit.
HUGE = 6 << 30
#: The piece of zeros the streams are built from.
PIECE = 64 << 20

PYTHONPATH = str(Path(ndpack.__file__).resolve().parents[1])


def _limit_memory() -> None:
    resource.setrlimit(resource.RLIMIT_AS, (LIMIT, LIMIT))


def run_limited(body: str, path: Path = None) -> str:
    """Runs ``body`` (which sets ``exc`` to the exception it caught, or leaves it ``None``) in a
    child limited to ``LIMIT`` bytes; returns ``"MemoryError"``, ``"ValueError"`` (or a subclass of
    either) or ``"none"``, after checking that the child exited normally."""
    code = textwrap.dedent(
        """
        import sys
        import numpy as np
        import ndpack
        from ndpack import codecs
        data = open(sys.argv[1], "rb").read() if len(sys.argv) > 1 else None
        exc = None
        try:
        {body}
        except (MemoryError, ValueError) as e:
            exc = e
        kind = "none" if exc is None else "MemoryError" if isinstance(exc, MemoryError) else "ValueError"
        print("MARK", kind, type(exc).__name__, str(exc)[:200])
        """
    ).format(body=textwrap.indent(textwrap.dedent(body), "    "))
    env = dict(os.environ, PYTHONPATH=PYTHONPATH, NDPACK_NUM_THREADS="2")
    args = [sys.executable, "-c", code] + ([str(path)] if path is not None else [])
    r = subprocess.run(
        args,
        env=env,
        preexec_fn=_limit_memory,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert r.returncode == 0, f"child died (rc {r.returncode}):\n{r.stdout}\n{r.stderr[-3000:]}"
    marks = [line for line in r.stdout.splitlines() if line.startswith("MARK ")]
    assert len(marks) == 1, r.stdout + r.stderr
    assert "PanicException" not in r.stderr, r.stderr
    return marks[0].split(" ", 2)[1]


def assert_refused(body: str, path: Path = None, allowed=("MemoryError", "ValueError")) -> None:
    name = run_limited(body, path)
    assert name in allowed, f"expected one of {allowed}, got {name}"


def zstd_rle_frame(total: int) -> bytes:
    """A zstd frame of RLE blocks of 128 KiB zeros, ``total`` bytes in all, that declares no
    content size (4 bytes per block)."""
    block = 128 << 10
    n = total // block
    # Magic, frame header descriptor 0 (no content size, not single segment), window 128 KiB.
    head = b"\x28\xb5\x2f\xfd" + bytes([0x00, (17 - 10) << 3])
    rle = ((block << 3) | (1 << 1)).to_bytes(3, "little") + b"\x00"
    last = ((block << 3) | (1 << 1) | 1).to_bytes(3, "little") + b"\x00"
    return head + rle * (n - 1) + last


def raw_deflate_zeros(total: int) -> bytes:
    """Raw deflate data of ``total`` zero bytes: one piece of ``PIECE`` zeros compressed and
    ended by a full flush (byte-aligned, no reference to earlier data), repeated, then an empty
    final block."""
    c = zlib.compressobj(9, zlib.DEFLATED, -15)
    piece = c.compress(bytes(PIECE)) + c.flush(zlib.Z_FULL_FLUSH)
    return piece * (total // PIECE) + b"\x03\x00"


@pytest.fixture(scope="module")
def inputs(tmp_path_factory) -> dict:
    d = tmp_path_factory.mktemp("hostile")
    paths = {}

    def put(name: str, data: bytes) -> None:
        paths[name] = d / name
        paths[name].write_bytes(data)

    put("zstd", zstd_rle_frame(HUGE))
    put("bz2", bz2.compress(bytes(PIECE), 1) * (HUGE // PIECE))
    deflate = raw_deflate_zeros(HUGE)
    adler = ((HUGE % 65521) << 16) | 1
    put("zlib", b"\x78\xda" + deflate + struct.pack(">I", adler))
    crc = 0
    zeros = bytes(PIECE)
    for _ in range(HUGE // PIECE):
        crc = zlib.crc32(zeros, crc)
    trailer = struct.pack("<II", crc, HUGE % (1 << 32))
    put("gzip", b"\x1f\x8b\x08\x00\x00\x00\x00\x00\x02\xff" + deflate + trailer)
    return paths


def test_generated_streams_are_valid_and_small(inputs) -> None:
    # The same constructions at 8 MiB decode, with the reference libraries, to zeros.
    small = 8 << 20
    frame = zstd_rle_frame(small)
    assert len(frame) == 6 + 4 * (small >> 17)
    out = codecs.Zstd().decode(frame)
    assert len(out) == small and not any(np.frombuffer(out, np.uint8))
    adler = struct.pack(">I", ((PIECE % 65521) << 16) | 1)
    assert zlib.decompress(b"\x78\xda" + raw_deflate_zeros(PIECE) + adler) == bytes(PIECE)
    for name in ("zstd", "bz2", "zlib", "gzip"):
        assert inputs[name].stat().st_size < 8 << 20, name


@pytest.mark.parametrize(
    "name, codec",
    [
        ("zstd", "codecs.Zstd()"),
        ("bz2", "codecs.BZ2()"),
        ("zlib", "codecs.Zlib()"),
        ("gzip", "codecs.GZip()"),
    ],
)
def test_streams_of_6_gib_raise_memory_error(inputs, name, codec) -> None:
    assert_refused(f"{codec}.decode(data)", inputs[name], allowed=("MemoryError",))


def test_ndbuffer_of_8_tib_raises_memory_error() -> None:
    body = 'ndpack.NDBuffer.create(shape=[2**40], dtype="<f8")'
    assert_refused(body, allowed=("MemoryError",))


def test_ndbuffer_of_64_pib_raises_memory_error_without_a_limit() -> None:
    # No limit: 2**56 bytes are more than a process can map, whatever the overcommit policy.
    with pytest.raises(MemoryError):
        ndpack.NDBuffer.create(shape=[2**53], dtype="<f8")


JSON_HUGE_ITEM = b'[0,"S2000000000",[1]]'
#: msgpack of [0, "S2000000000", [1]].
MSGPACK_HUGE_ITEM = b"\x93\x00\xd9\x0bS2000000000\x91\x01"


@pytest.mark.parametrize(
    "codec, data",
    [("codecs.JSON()", JSON_HUGE_ITEM), ("codecs.MsgPack()", MSGPACK_HUGE_ITEM)],
)
def test_object_codecs_refuse_items_the_input_cannot_justify(codec, data, tmp_path) -> None:
    path = tmp_path / "in"
    path.write_bytes(data)
    assert_refused(f"{codec}.decode(data)", path, allowed=("ValueError",))
    with pytest.raises(ValueError, match="declared size too large"):
        eval(codec).decode(data)


def test_object_codecs_keep_decoding_wide_items_the_input_justifies() -> None:
    # 64 MiB of "S" items from a few bytes is within the limit of any input.
    assert codecs.JSON().decode(b'[0,"S67108864",[1]]').dtype == np.dtype("S67108864")
    a = np.array(["ab", "c", ""] * 100, dtype="U1000")
    for c in (codecs.JSON(), codecs.MsgPack()):
        back = c.decode(c.encode(a))
        assert back.dtype == a.dtype and (back == a).all()
    with pytest.raises(ValueError, match="declared size too large"):
        codecs.JSON().decode(b'[0,"S67108865",[1]]')
