"""A YAML whole number longer than Python reads (4,300 digits) is a YAML error at its place, in
every reader of YAML a person writes: PyYAML's `int()` had raised a ValueError that no handler
caught (a 500 from POST /rulesets/validate, preview and publish; a traceback from the CLI)."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from engine import yaml_numbers
from engine.errors import ImportFormatError, RulesetSyntaxError
from engine.records.connectors.hr_roster import load_map
from engine.rules.loader import StrictSafeLoader, load_ruleset_bytes

LONG = "1" * 5000
SAID = "a number of 5,000 digits: too long to read (at most 4,300 digits)"


def test_a_long_number_is_a_marked_yaml_error() -> None:
    with pytest.raises(yaml.MarkedYAMLError) as refused:
        yaml_numbers.safe_load(f"a: 1\nb: [{LONG}]\n")
    assert SAID in str(refused.value.problem)
    assert (refused.value.problem_mark.line, refused.value.problem_mark.column) == (1, 4)  # type: ignore[union-attr]
    assert yaml_numbers.safe_load("a: -42\nb: 0x1F\n") == {"a": -42, "b": 31}


def test_a_ruleset_with_a_long_number_is_refused_at_its_line() -> None:
    with pytest.raises(RulesetSyntaxError) as refused:
        load_ruleset_bytes(f"framework: t\nversion: 1.0.0\na: {LONG}\n".encode(), "draft.yaml")
    (detail,) = refused.value.details
    assert SAID in detail.reason and (detail.line, detail.column) == (3, 4)


def test_a_scenario_with_a_long_number_is_a_yaml_error() -> None:
    with pytest.raises(yaml.YAMLError, match="5,000 digits"):
        yaml.load(f"records: [{{type: organization, id: O, fte_count: {LONG}}}]\n", Loader=StrictSafeLoader)  # noqa: S506


def test_a_roster_map_with_a_long_number_is_refused_naming_its_line(tmp_path: Path) -> None:
    path = tmp_path / "map.yaml"
    path.write_text(f"columns:\n  id: {LONG}\n", encoding="utf-8")
    with pytest.raises(ImportFormatError) as refused:
        load_map(path)
    (detail,) = refused.value.details
    assert SAID in detail.reason and detail.line == 2
