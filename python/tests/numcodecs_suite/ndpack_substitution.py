"""pytest plugin that puts ndpack's codec classes and ``blosc`` functions in place of numcodecs'
before numcodecs' own test modules import them.

Loaded with ``-p ndpack_substitution`` by ``run.py``. Every numcodecs codec class whose name
``ndpack.codecs`` also defines is replaced, in its numcodecs module, in the ``numcodecs`` package
namespace and in numcodecs' codec registry; codec classes ndpack does not have stay numcodecs'.
The functions and constants of ``numcodecs.blosc`` that ``ndpack.blosc`` also defines are
replaced too. The report header lists what was substituted.

The tests that ndpack fails on purpose (:data:`DIFFERENCES`, see
docs/differences-from-numcodecs.md) and those that fail with numcodecs itself
(:data:`FAILS_IN_NUMCODECS`) are marked as strict xfails, with their reasons: the run fails if one
of them passes, so the lists stay exact. With ``NDPACK_SUITE_SUBSTITUTE=0`` nothing is substituted
and only :data:`FAILS_IN_NUMCODECS` is marked (``run.py --numcodecs``), which checks that list
against numcodecs itself.
"""

from __future__ import annotations

import importlib
import inspect
import os
from typing import Dict, List, Tuple

import pytest

import numcodecs
import numcodecs.abc
import numcodecs.registry

import ndpack.blosc
import ndpack.codecs

#: numcodecs modules that define codec classes (imported here when their dependencies are there).
CODEC_MODULES = [
    "astype",
    "base64",
    "bitround",
    "blosc",
    "bz2",
    "categorize",
    "checksum32",
    "delta",
    "fixedscaleoffset",
    "fletcher32",
    "gzip",
    "jenkins",
    "json",
    "lz4",
    "lzma",
    "msgpacks",
    "packbits",
    "pcodec",
    "pickles",
    "quantize",
    "shuffle",
    "vlen",
    "zfpy",
    "zlib",
    "zstd",
]

#: Module-level functions of numcodecs modules, replaced where ndpack.codecs has one by that name.
FUNCTIONS = {"jenkins": ["jenkins_lookup3"]}

_NON_CONTIGUOUS = (
    "ndpack encodes non-contiguous arrays (copying them in C order first) where numcodecs raises "
    "ValueError('an array with contiguous memory is required')"
)

_EAGER_PCODEC = (
    "ndpack's PCodec checks its parameters when it is built and raises CodecConfigError (a "
    "ValueError) there; numcodecs' PCodec accepts them and raises ValueError at the first encode"
)

#: Tests that ndpack fails on purpose: ``(test id without parameters, reason)``.
DIFFERENCES: List[Tuple[str, str]] = [
    ("numcodecs/tests/test_checksum32.py::test_err_encode_non_contiguous", _NON_CONTIGUOUS),
    ("numcodecs/tests/test_gzip.py::test_err_encode_non_contiguous", _NON_CONTIGUOUS),
    ("numcodecs/tests/test_lzma.py::test_err_encode_non_contiguous", _NON_CONTIGUOUS),
    ("numcodecs/tests/test_zlib.py::test_err_encode_non_contiguous", _NON_CONTIGUOUS),
    ("numcodecs/tests/test_pcodec.py::test_invalid_config_error", _EAGER_PCODEC),
    ("numcodecs/tests/test_pcodec.py::test_invalid_delta_encoding_combo", _EAGER_PCODEC),
]

#: Tests that fail with numcodecs itself: ``(test id, numcodecs class they test, reason)``. They
#: are marked only while that numcodecs class is in use (not replaced by an ndpack class).
FAILS_IN_NUMCODECS: List[Tuple[str, str, str]] = [
    (
        f"numcodecs/tests/test_pcodec.py::test_encode_decode[codec8-arr{i}]",
        "numcodecs.pcodec.PCodec",
        "fails in numcodecs itself: numcodecs 0.16.6's PCodec(delta_spec='none') calls "
        "pcodec.DeltaSpec.none(), which pcodec 1.1.0 does not have (AttributeError)",
    )
    for i in range(10)
]

#: Whether ndpack is put in place of numcodecs (``NDPACK_SUITE_SUBSTITUTE=0``: not).
ENABLED = os.environ.get("NDPACK_SUITE_SUBSTITUTE", "1") != "0"

#: What was substituted: ``"numcodecs.zstd.Zstd"`` etc.
SUBSTITUTED: List[str] = []
#: Codec classes of numcodecs that ndpack does not have (left as they are).
KEPT: List[str] = []


def _modules() -> Dict[str, object]:
    mods = {}
    for name in CODEC_MODULES:
        try:
            mods[name] = importlib.import_module(f"numcodecs.{name}")
        except ImportError:  # an optional dependency of numcodecs is missing
            continue
    return mods


def substitute() -> None:
    """Replaces numcodecs' classes and functions by ndpack's where ndpack has them."""
    replaced = {}
    for modname, mod in _modules().items():
        for attr, value in list(vars(mod).items()):
            if attr.startswith("_") or not inspect.isclass(value):
                continue
            if not issubclass(value, numcodecs.abc.Codec) or value is numcodecs.abc.Codec:
                continue
            if value.__module__ != mod.__name__:
                continue  # imported from another module; replaced there
            if getattr(value, "codec_id", None) is None:
                continue  # an abstract base class
            ours = getattr(ndpack.codecs, attr, None)
            if ours is None:
                KEPT.append(f"numcodecs.{modname}.{attr}")
                continue
            replaced[value] = ours
        for attr in FUNCTIONS.get(modname, []):
            ours = getattr(ndpack.codecs, attr, None)
            if ours is not None and hasattr(mod, attr):
                replaced[getattr(mod, attr)] = ours
    # Every reference to a replaced object in numcodecs' namespaces (the defining module, modules
    # that import it, the package itself).
    for modname in ["", *_modules()]:
        mod = numcodecs if not modname else importlib.import_module(f"numcodecs.{modname}")
        for attr, value in list(vars(mod).items()):
            try:
                ours = replaced.get(value)
            except TypeError:  # unhashable
                continue
            if ours is not None:
                setattr(mod, attr, ours)
                SUBSTITUTED.append(f"{mod.__name__}.{attr}")
    for codec_id, cls in list(numcodecs.registry.codec_registry.items()):
        if cls in replaced:
            numcodecs.registry.codec_registry[codec_id] = replaced[cls]
            SUBSTITUTED.append(f"codec_registry[{codec_id!r}]")
    # numcodecs.blosc's functions and constants.
    nb = importlib.import_module("numcodecs.blosc")
    for attr in list(vars(nb)):
        if attr in {"Blosc", "Codec"} or attr.startswith("__"):
            continue
        ours = getattr(ndpack.blosc, attr, None)
        if ours is not None and (callable(ours) or isinstance(ours, int)):
            setattr(nb, attr, ours)
            SUBSTITUTED.append(f"numcodecs.blosc.{attr}")


if ENABLED:
    substitute()


def _numcodecs_class_in_use(qualname: str) -> bool:
    modname, _, attr = qualname.rpartition(".")
    try:
        mod = importlib.import_module(modname)
    except ImportError:
        return False
    value = getattr(mod, attr, None)
    return value is not None and getattr(value, "__module__", "") == modname


def _expected_failures() -> Dict[str, str]:
    """Test id (with or without parameters) -> reason."""
    marks = {}
    for test_id, cls, reason in FAILS_IN_NUMCODECS:
        if _numcodecs_class_in_use(cls):
            marks[test_id] = reason
    if ENABLED:
        for test_id, reason in DIFFERENCES:
            marks[test_id] = "deliberate difference of ndpack: " + reason
    return marks


def _header() -> List[str]:
    lines = []
    if ENABLED:
        lines += [
            f"ndpack {ndpack.__version__} ({ndpack.__file__}) in place of numcodecs "
            f"{numcodecs.__version__}:",
            "  " + ", ".join(SUBSTITUTED),
            "numcodecs' own (no ndpack class): " + (", ".join(KEPT) or "none"),
        ]
    else:
        lines.append(f"numcodecs {numcodecs.__version__} itself (nothing substituted)")
    lines.append("expected to fail (strict xfail):")
    lines += [f"  {test_id}: {reason}" for test_id, reason in _expected_failures().items()]
    return lines


def pytest_sessionstart(session):  # noqa: D103 - pytest hook
    # Written even with -q (which hides the report header).
    reporter = session.config.pluginmanager.get_plugin("terminalreporter")
    if reporter is not None:
        for line in _header():
            reporter.write_line(line)


def pytest_collection_modifyitems(config, items):  # noqa: D103 - pytest hook
    marks = _expected_failures()
    for item in items:
        reason = marks.get(item.nodeid) or marks.get(item.nodeid.split("[")[0])
        if reason is not None:
            item.add_marker(pytest.mark.xfail(reason=reason, strict=True))
