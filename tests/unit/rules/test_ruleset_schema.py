"""docs/schema/ruleset.schema.json is current, accepts every shipped ruleset and refuses the shapes
the loader refuses."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import jsonschema
import pytest
import yaml

from engine.errors import RulesetValidationError
from engine.rules import schema_export
from engine.rules.catalog import ruleset_files
from engine.rules.loader import _LineLoader, _strip_lines, load_ruleset_bytes


def test_published_schema_is_current() -> None:
    assert schema_export.main(["--check"]) == 0, "run: python -m engine.rules.schema_export"
    assert json.loads(schema_export.SCHEMA_PATH.read_text(encoding="utf-8")) == schema_export.build_schema()


def test_check_fails_on_a_stale_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    stale = tmp_path / "ruleset.schema.json"
    stale.write_text("{}\n", encoding="utf-8")
    monkeypatch.setattr(schema_export, "SCHEMA_PATH", stale)
    monkeypatch.setattr(schema_export, "REPO", tmp_path.parent)
    assert schema_export.main(["--check"]) == 1
    assert schema_export.main([]) == 0
    assert schema_export.main(["--check"]) == 0


@pytest.fixture(scope="module")
def validator() -> Any:
    schema = json.loads(schema_export.SCHEMA_PATH.read_text(encoding="utf-8"))
    cls = jsonschema.validators.validator_for(schema)
    cls.check_schema(schema)
    return cls(schema, format_checker=cls.FORMAT_CHECKER)


def _as_json(text: str) -> Any:
    """The YAML as an editor's schema checker sees it: plain JSON values (dates as text)."""
    raw = _strip_lines(yaml.load(text, Loader=_LineLoader))  # noqa: S506 - the loader's SafeLoader subclass
    return json.loads(json.dumps(raw, default=str))


@pytest.mark.parametrize("path", ruleset_files(), ids=lambda p: p.name)
def test_every_shipped_ruleset_matches_the_schema(path: Path, validator: Any) -> None:
    errors = sorted(validator.iter_errors(_as_json(path.read_text(encoding="utf-8"))), key=str)
    assert not errors, [f"{list(e.absolute_path)}: {e.message}" for e in errors]


SMALL = """
framework: t
version: 1.0.0
title: t
effective_from: 2026-01-01
authority: t
rules:
  - id: T-ONE-001
    title: t
    citation: c
    severity: low
    match: {ep: employment_episode where end_at != null}
    subject: ep
    obligation: {anchor: ep.end_at, within: WINDOW, met_at: ep.end_at}
    message: m
    sop: SOP-T
"""


@pytest.mark.parametrize(
    "window, good",
    [
        ("{days: 30}", True),
        ("{hours: params.access_revoke_hours}", True),
        ("{days: 30, hours: 2}", False),   # one unit
        ("{weeks: 2}", False),             # no such unit
        ("{days: lots}", False),           # a number or params.NAME
    ],
)
def test_schema_and_loader_agree_on_windows(window: str, good: bool, validator: Any) -> None:
    text = SMALL.replace("WINDOW", window)
    assert validator.is_valid(_as_json(text)) is good
    if good:
        load_ruleset_bytes(text.encode(), "t.yaml")
    else:
        with pytest.raises(RulesetValidationError):
            load_ruleset_bytes(text.encode(), "t.yaml")


@pytest.mark.parametrize("change", [("severity: low", "severity: urgent"), ("id: T-ONE-001", "id: t-one"),
                                    ("version: 1.0.0", "version: one"), ("sop: SOP-T", "sop: SOP-T\n    colour: red")])
def test_schema_refuses_what_the_loader_refuses(change: tuple[str, str], validator: Any) -> None:
    text = SMALL.replace("WINDOW", "{days: 1}").replace(*change)
    assert not validator.is_valid(_as_json(text))
    with pytest.raises(RulesetValidationError):
        load_ruleset_bytes(text.encode(), "t.yaml")
