"""A window counts a parameter in the unit the parameter is declared in: `{days:
params.pep_eval_start_hours}` had validated clean, making a 4-hour window 4 days (the liaison probe)."""

from __future__ import annotations

from pathlib import Path

import pytest

from engine.rules.validate import validate_paths

FIXTURES = Path(__file__).resolve().parents[2] / "fixtures"
DEMO = (FIXTURES / "rulesets" / "demo" / "demo-1.0.0.yaml").read_text()
DECLARED = "new_hire_days: {type: int, unit: days,"


def _validate(tmp_path: Path, text: str) -> list[str]:
    draft = tmp_path / "draft.yaml"
    draft.write_text(text)
    report = validate_paths([draft], rulesets=FIXTURES / "rulesets", policies=FIXTURES / "policies")
    return [f"{p.field}: {p.reason}" for p in report.problems]


@pytest.mark.parametrize("unit", ["days", "Days", "calendar days", "day"])
def test_a_parameter_counted_in_its_own_unit_validates(tmp_path: Path, unit: str) -> None:
    assert DECLARED in DEMO
    assert _validate(tmp_path, DEMO.replace(DECLARED, f"new_hire_days: {{type: int, unit: {unit},")) == []


def test_a_parameter_declared_in_hours_counted_in_days_is_refused(tmp_path: Path) -> None:
    problems = _validate(tmp_path, DEMO.replace(DECLARED, "new_hire_days: {type: int, unit: hours,"))
    assert problems == ["obligation.within: rule DEMO-TRN-001 counts params.new_hire_days in days (within: "
                        "{days: params.new_hire_days}), but new_hire_days is declared in hours: write "
                        "{hours: params.new_hire_days}, or declare the parameter in days"], problems


def test_a_unit_that_is_no_duration_is_left_to_the_description(tmp_path: Path) -> None:
    assert _validate(tmp_path, DEMO.replace(DECLARED, "new_hire_days: {type: int, unit: trainings,")) == []
