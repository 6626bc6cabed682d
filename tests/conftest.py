"""Fixtures shared by the test modules."""

from __future__ import annotations

import os
import tempfile

import pytest

from tests.helpers import torch_threads

# The adapters' contraction planner: the cost model (timing picks by the clock, so the floating-point order
# of a layer's sums could change between runs), and a cache of timed choices that is this run's own. The
# tests of the timed planner turn timing on themselves.
os.environ["METALORA_CONTRACTION_TIMING"] = "0"
os.environ["METALORA_CACHE_DIR"] = tempfile.mkdtemp(prefix="metalora-cache-")


@pytest.fixture
def one_torch_thread():
    """Tiny models gain nothing from threads, and a busy 2-core machine makes them spin: use one.

    A module opts in with ``pytestmark = pytest.mark.usefixtures("one_torch_thread")``.
    """
    with torch_threads(1):
        yield
