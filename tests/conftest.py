"""Fixtures shared by the test modules."""

from __future__ import annotations

import pytest

from tests.helpers import torch_threads


@pytest.fixture
def one_torch_thread():
    """Tiny models gain nothing from threads, and a busy 2-core machine makes them spin: use one.

    A module opts in with ``pytestmark = pytest.mark.usefixtures("one_torch_thread")``.
    """
    with torch_threads(1):
        yield
