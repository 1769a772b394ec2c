"""Fixtures for the synthetic practice generator: generated practices, loaded once per session."""

from __future__ import annotations

import pytest

from tests.unit.demo.support import ANCHORS, Practice, practice_for


@pytest.fixture(scope="session")
def small(tmp_path_factory: pytest.TempPathFactory) -> Practice:
    """The small practice at the main test anchor."""
    return practice_for(tmp_path_factory, ANCHORS[0])


@pytest.fixture(scope="session", params=ANCHORS, ids=[a.isoformat() for a in ANCHORS])
def practice(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Practice:
    """The small practice at several anchors (mid-year, early in the year, first week of January)."""
    return practice_for(tmp_path_factory, request.param)
