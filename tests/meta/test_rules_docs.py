"""The generated rules catalog in docs/rules is current (regenerate with `vigil rules docs`)."""

from __future__ import annotations

from engine.rules.catalog import REPO
from engine.rules.docs import render_all


def test_rules_docs_are_current() -> None:
    pages = render_all()
    stale = [n for n, text in pages.items() if not (REPO / "docs" / "rules" / n).exists()
             or (REPO / "docs" / "rules" / n).read_text() != text]
    assert not stale, f"run `vigil rules docs`: stale pages {stale}"
