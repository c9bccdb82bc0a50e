"""bz2 and lzma streams written and read in parallel, against Python's bz2/lzma modules, numcodecs
and the xz tool, on multi-MB inputs: ndpack's multi-stream bz2 and multi-block xz output decodes
with them, their output (multi-block bz2 streams, pbzip2-style concatenations, ``xz -T``
multi-block streams) decodes with ndpack, and ndpack's bytes do not depend on the thread count.
"""

import bz2
import lzma
import subprocess

import numcodecs
import numpy as np
import pytest

import ndpack
from conftest import ndpack_threads, varied
from ndpack import codecs as nc


@pytest.fixture
def two_threads():
    with ndpack_threads(2):
        yield


def count_streams(data: bytes, module) -> int:
    n = 0
    while data:
        d = module.BZ2Decompressor() if module is bz2 else module.LZMADecompressor()
        d.decompress(data)
        assert d.eof
        data = d.unused_data
        n += 1
    return n


@pytest.mark.parametrize("level", [1, 3])
def test_bz2_multi_stream_output_decodes_with_python_and_numcodecs(level, two_threads):
    piece = 9 * level * 100_000
    data = varied(2 * piece + 12345)
    enc = nc.BZ2(level).encode(data)
    assert count_streams(enc, bz2) == 3
    assert bz2.decompress(enc) == data
    assert bytes(numcodecs.BZ2(level).decode(enc)) == data
    # The pieces are ordinary streams: each one is what bz2.compress gives for that piece.
    assert enc == b"".join(bz2.compress(data[i : i + piece], level) for i in range(0, len(data), piece))
    ndpack.set_nthreads(1)
    assert nc.BZ2(level).encode(data) == enc
    # Up to one piece, one stream, as bz2.compress writes it.
    small = data[:piece]
    assert nc.BZ2(level).encode(small) == bz2.compress(small, level)


def test_bz2_decodes_python_multi_block_and_concatenated_streams(two_threads):
    data = varied(3_000_000, seed=1)
    for level in (1, 9):
        enc = bz2.compress(data, level)
        assert bytes(nc.BZ2(level).decode(enc)) == data
        out = np.empty(len(data), dtype=np.uint8)
        nc.BZ2(level).decode(enc, out=out)
        assert out.tobytes() == data
    # pbzip2-style: independent streams one after the other, then trailing garbage.
    parts = [bz2.compress(data[i : i + 700_000], 2) for i in range(0, len(data), 700_000)]
    enc = b"".join(parts)
    assert bytes(nc.BZ2().decode(enc)) == data
    assert bytes(nc.BZ2().decode(enc + b"not a stream")) == data
    # Damaged data fails as it does serially (truncated, then corrupt).
    with pytest.raises(ValueError, match="ended before"):
        bz2.decompress(enc[:-5])
    with pytest.raises(ValueError, match="ended before|invalid"):
        nc.BZ2().decode(enc[: len(parts[0]) - 5])
    bad = bytearray(enc)
    bad[len(parts[0]) // 2] ^= 0x20
    with pytest.raises(OSError):
        bz2.decompress(bytes(bad))
    with pytest.raises(ValueError, match="invalid"):
        nc.BZ2().decode(bytes(bad))
    # Damage in a later stream ends the data there, as bz2.decompress does.
    bad = bytearray(enc)
    bad[len(enc) - len(parts[-1]) // 2] ^= 0x20
    assert bytes(nc.BZ2().decode(bytes(bad))) == bz2.decompress(bytes(bad)) == data[: 700_000 * (len(parts) - 1)]


@pytest.mark.parametrize("preset", [1, 2])
def test_xz_multi_block_output_decodes_with_python_and_numcodecs(preset, two_threads):
    data = varied(17_000_000, seed=2)  # two 8 MiB blocks and a bit
    enc = nc.LZMA(preset=preset).encode(data)
    assert lzma.decompress(enc) == data
    assert bytes(numcodecs.LZMA(preset=preset).decode(enc)) == data
    assert bytes(nc.LZMA(preset=preset).decode(enc)) == data
    ndpack.set_nthreads(1)
    assert nc.LZMA(preset=preset).encode(data) == enc
    ndpack.set_nthreads(3)
    assert nc.LZMA(preset=preset).encode(data) == enc
    # Three blocks are slightly larger than Python's single block, not more.
    single = lzma.compress(data, preset=preset)
    assert len(single) < len(enc) < len(single) * 1.02
    # Filters and checks carry over to every block.
    c = nc.LZMA(check=lzma.CHECK_SHA256, filters=[
        {"id": lzma.FILTER_DELTA, "dist": 4},
        {"id": lzma.FILTER_LZMA2, "preset": 1, "dict_size": 1 << 18},
    ])  # fmt: skip
    enc = c.encode(data)
    assert lzma.decompress(enc) == data
    assert bytes(c.decode(enc)) == data


def test_xz_tool_multi_block_streams_decode(two_threads, tmp_path):
    data = varied(6_000_000, seed=3)
    path = tmp_path / "data"
    path.write_bytes(data)
    enc = subprocess.run(
        ["xz", "-T2", "--block-size=1MiB", "-1", "-c", str(path)], check=True, capture_output=True
    ).stdout
    assert bytes(nc.LZMA().decode(enc)) == data
    out = np.empty(len(data), dtype=np.uint8)
    nc.LZMA().decode(enc, out=out)
    assert out.tobytes() == data
    # Two streams one after the other decode to both.
    assert bytes(nc.LZMA().decode(enc + enc)) == data + data
    with pytest.raises(ValueError, match="ended before|invalid"):
        nc.LZMA().decode(enc[:-9])
    ours = nc.LZMA(preset=1).encode(data)
    assert subprocess.run(["xz", "-dc"], input=ours, check=True, capture_output=True).stdout == data


def raw_filters(dist, **lzma2):
    chain = [{"id": lzma.FILTER_LZMA2, "preset": 1, **lzma2}]
    return chain if dist is None else [{"id": lzma.FILTER_DELTA, "dist": dist}] + chain


def lzma2_chunks(stream: bytes):
    """The control bytes of a raw LZMA2 stream's chunks, walking their headers (xz's format)."""
    pos, controls = 0, []
    while True:
        control = stream[pos]
        controls.append(control)
        if control == 0:
            assert pos + 1 == len(stream)
            return controls
        if control >= 0x80:
            packed = (stream[pos + 3] << 8 | stream[pos + 4]) + 1
            pos += 5 + (control >= 0xC0) + packed
        else:
            assert control in (1, 2)
            pos += 3 + (stream[pos + 1] << 8 | stream[pos + 2]) + 1


@pytest.mark.parametrize("dist", [None, 1, 2, 8])
def test_raw_lzma2_pieces_decode_with_python_and_numcodecs(dist, two_threads):
    data = varied(17_000_000, seed=4)  # two 8 MiB pieces and a bit
    filters = raw_filters(dist)
    enc = nc.LZMA(format=lzma.FORMAT_RAW, filters=filters).encode(data)
    assert lzma.decompress(enc, format=lzma.FORMAT_RAW, filters=filters) == data
    assert bytes(numcodecs.LZMA(format=lzma.FORMAT_RAW, filters=filters).decode(enc)) == data
    assert bytes(nc.LZMA(format=lzma.FORMAT_RAW, filters=filters).decode(enc)) == data
    # Three pieces: three dictionary resets (an LZMA chunk with control byte 0xE0-0xFF or an
    # uncompressed one with 0x01), where Python writes one.
    resets = lambda s: sum(c >= 0xE0 or c == 1 for c in lzma2_chunks(s))  # noqa: E731
    single = lzma.compress(data, format=lzma.FORMAT_RAW, filters=filters)
    assert resets(enc) == 3 and resets(single) == 1
    # The pieces are Python's [lzma2] streams of the delta-ed input (numpy's delta), each less
    # its end byte, then one end byte.
    u8 = np.frombuffer(data, dtype=np.uint8)
    if dist is not None:
        u8 = u8 - np.concatenate([np.zeros(dist, np.uint8), u8[:-dist]])
    pieces = [u8[i : i + (8 << 20)].tobytes() for i in range(0, len(data), 8 << 20)]
    lzma2 = filters[-1:]
    expect = b"".join(lzma.compress(p, format=lzma.FORMAT_RAW, filters=lzma2)[:-1] for p in pieces)
    assert enc == expect + b"\0"
    first = lzma.compress(data[: 8 << 20], format=lzma.FORMAT_RAW, filters=filters)
    assert enc.startswith(first[:-1])
    ndpack.set_nthreads(1)
    assert nc.LZMA(format=lzma.FORMAT_RAW, filters=filters).encode(data) == enc
    ndpack.set_nthreads(3)
    assert nc.LZMA(format=lzma.FORMAT_RAW, filters=filters).encode(data) == enc
    # Up to one piece, Python's bytes.
    small = data[: 8 << 20]
    assert nc.LZMA(format=lzma.FORMAT_RAW, filters=filters).encode(small) == first


def test_raw_lzma2_options_apply_to_every_piece(two_threads):
    data = varied(9_000_000, seed=5)
    opts = {"dict_size": 1 << 18, "lc": 1, "lp": 1, "pb": 1, "mode": lzma.MODE_NORMAL,
            "nice_len": 48, "mf": lzma.MF_BT3, "depth": 16}  # fmt: skip
    for dist in (None, 4):
        filters = raw_filters(dist, **opts)
        enc = nc.LZMA(format=lzma.FORMAT_RAW, filters=filters).encode(data)
        assert lzma.decompress(enc, format=lzma.FORMAT_RAW, filters=filters) == data
        if dist is None:
            # Without delta, each piece is Python's stream of it alone.
            pieces = [data[i : i + (8 << 20)] for i in range(0, len(data), 8 << 20)]
            expect = b"".join(
                lzma.compress(p, format=lzma.FORMAT_RAW, filters=filters)[:-1] for p in pieces
            )
            assert enc == expect + b"\0"


def test_raw_lzma2_from_python_decodes(two_threads):
    data = varied(12_000_000, seed=6)
    for filters in (raw_filters(4), raw_filters(None), [{"id": lzma.FILTER_LZMA1, "preset": 1}]):
        enc = numcodecs.LZMA(format=lzma.FORMAT_RAW, filters=filters).encode(data)
        assert bytes(nc.LZMA(format=lzma.FORMAT_RAW, filters=filters).decode(enc)) == data
        out = np.empty(len(data), dtype=np.uint8)
        nc.LZMA(format=lzma.FORMAT_RAW, filters=filters).decode(enc, out=out)
        assert out.tobytes() == data
