"""An unknown framework's checks are refused naming the frameworks there, not the server's path
(which the web checks page showed its caller)."""

from __future__ import annotations

from pathlib import Path

import pytest

from engine.errors import NotFoundError
from engine.rules import checks

FIXTURES = Path(__file__).resolve().parents[2] / "fixtures" / "rulesets"


def test_an_unknown_framework_names_the_known_ones_and_no_path(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("VIGIL_RULESETS_DIR", str(FIXTURES))
    with pytest.raises(NotFoundError) as refused:
        checks.framework_dir("nope")
    said = str(refused.value)
    assert "the frameworks are: demo" in said and str(FIXTURES) not in said
