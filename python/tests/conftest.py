"""Shared test helpers: where the fixtures are, seeded random data."""

import os
from pathlib import Path

import numpy as np
import pytest

REPO_ROOT = Path(__file__).resolve().parents[2]
FIXTURES = Path(os.environ.get("NDPACK_FIXTURES", REPO_ROOT.parent / "shared" / "fixtures"))


@pytest.fixture
def fixtures() -> Path:
    """The ../shared/fixtures folder beside the repository."""
    assert FIXTURES.is_dir(), f"fixtures not found at {FIXTURES}"
    return FIXTURES


@pytest.fixture
def rng() -> np.random.Generator:
    return np.random.default_rng(42)
