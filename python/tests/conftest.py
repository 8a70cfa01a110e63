"""Shared fixtures. ctest sets SHERRY_CAPI_LIBRARY, SHERRY_PACK and
PYTHONPATH; run by hand, the package and tools are looked up in the source
tree's build directories."""

import glob
import os
import sys

import numpy as np
import pytest

TESTS = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(TESTS))
sys.path.insert(0, os.path.join(ROOT, "python"))
sys.path.insert(0, TESTS)


def _find_sherry_pack():
    env = os.environ.get("SHERRY_PACK")
    if env:
        return env
    for build in sorted(glob.glob(os.path.join(ROOT, "build*"))):
        path = os.path.join(build, "bin", "sherry-pack")
        if os.path.exists(path):
            return path
    return None


@pytest.fixture(scope="session")
def sherry_pack():
    path = _find_sherry_pack()
    if path is None:
        pytest.fail("sherry-pack not found; build it or set SHERRY_PACK")
    return path


@pytest.fixture
def rng():
    return np.random.default_rng(2601)
