"""The Python package's modules, shaped like the libraries they mirror: ``ndpack.blosc`` as
numcodecs' ``blosc`` module, ``ndpack.blosc2`` with python-blosc2's names, and ``ndpack.codecs``
as numcodecs' modules (``abc``, ``registry``, ``compat``, ``errors``, one per kind of codec). The
import paths of earlier releases keep working: every name of ``ndpack.codecs``, python-blosc2's
names read from ``ndpack.blosc`` (with a ``DeprecationWarning``) and ``ndpack._object_codecs``.
"""

from __future__ import annotations

import importlib
import warnings

import numpy as np
import pytest

import ndpack
import ndpack.blosc2 as blosc2
from ndpack import blosc, codecs

#: python-blosc2's names that ndpack.blosc2 has.
BLOSC2_NAMES = ["Codec", "Filter", "SplitMode", "compress2", "decompress2", "getitem"]

#: What ``from ndpack.codecs import X`` gives, with the module that defines it.
CODECS_HOMES = {
    "Codec": "abc",
    "get_codec": "registry",
    "register_codec": "registry",
    "register_numcodecs": "registry",
    "available_ids": "registry",
    "codec_registry": "registry",
    "UnknownCodecError": "errors",
    "CodecConfigError": "errors",
    "ChecksumError": "errors",
    "CorruptInputError": "errors",
    "ObjectArrayError": "errors",
    "ensure_ndarray": "compat",
    "ndarray_copy": "compat",
    **{n: "compressors" for n in ["Zlib", "GZip", "BZ2", "LZMA", "Zstd", "LZ4", "PCodec"]},
    **{n: "checksums" for n in ["CRC32", "Adler32", "CRC32C", "Fletcher32", "JenkinsLookup3"]},
    **{
        n: "filters"
        for n in ["Delta", "FixedScaleOffset", "Quantize", "BitRound", "PackBits", "Categorize", "AsType", "Shuffle"]
    },
    **{n: "objects" for n in ["VLenUTF8", "VLenBytes", "VLenArray", "JSON", "MsgPack", "Pickle", "Base64"]},
}


def test_blosc2_reads_like_python_blosc2() -> None:
    data = np.arange(10_000, dtype=np.int32).tobytes()
    chunk = blosc2.compress2(data, typesize=4, codec=blosc2.Codec.LZ4, filters=[blosc2.Filter.SHUFFLE])
    assert blosc2.decompress2(chunk) == data
    assert blosc2.getitem(chunk, 10, 5) == data[40:60]
    assert blosc2.chunk_info(chunk)["codec"] == blosc2.Codec.LZ4
    assert ndpack.blosc2 is blosc2
    assert set(BLOSC2_NAMES) <= set(blosc2.__all__)


def test_blosc_mirrors_numcodecs_blosc() -> None:
    numcodecs_blosc = pytest.importorskip("numcodecs.blosc")
    # numcodecs < 0.13's public names, which ndpack keeps (0.13 made the first two private, as
    # ndpack.blosc also has them, and dropped decompress_partial).
    for name in set(blosc.__all__) - {"cbuffer_sizes", "cbuffer_metainfo", "decompress_partial"}:
        assert hasattr(numcodecs_blosc, name), name
    for name in BLOSC2_NAMES + ["chunk_info"]:
        assert name not in blosc.__all__ and name not in dir(blosc)


@pytest.mark.parametrize("name", BLOSC2_NAMES + ["chunk_info"])
def test_blosc2_names_still_read_from_blosc(name: str) -> None:
    with pytest.warns(DeprecationWarning, match=f"ndpack.blosc2.{name}"):
        value = getattr(blosc, name)
    assert value is getattr(blosc2, name)


def test_blosc_unknown_name_is_an_attribute_error() -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert getattr(blosc, "VERSION_STRING", None) is None
        with pytest.raises(AttributeError):
            blosc.nope  # noqa: B018


def test_codec_base_class_and_enum_are_apart() -> None:
    from ndpack.codecs.abc import Codec

    assert Codec is codecs.Codec
    assert issubclass(codecs.Zlib, Codec) and issubclass(blosc.Blosc, Codec)
    assert blosc2.Codec is not Codec and blosc2.Codec.ZSTD == 5


@pytest.mark.parametrize("name,module", sorted(CODECS_HOMES.items()))
def test_codecs_names_in_their_modules(name: str, module: str) -> None:
    mod = importlib.import_module(f"ndpack.codecs.{module}")
    assert getattr(mod, name) is getattr(codecs, name)


def test_codecs_all_names_import() -> None:
    for name in codecs.__all__:
        exec(f"from ndpack.codecs import {name}", {})
    assert codecs.Blosc is blosc.Blosc and codecs.ZFPY is ndpack.zfpy.ZFPY


def test_object_codecs_old_path_is_the_module() -> None:
    import ndpack._object_codecs as old
    from ndpack.codecs import objects

    assert old is objects
    assert old.ALLOW_UNSAFE_PICKLE_DECODE is objects.ALLOW_UNSAFE_PICKLE_DECODE
