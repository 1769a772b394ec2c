"""Obligation windows: hours are elapsed time and keep their fraction exactly; days, working days,
months and years are counted whole, so a fraction is refused where it is written (the ruleset, its
default, the practice's value), never cut off. The deadline code had read `{hours: 1.5}` and a
1.5-hour parameter as one hour, and a 0.5-hour parameter as none."""

from __future__ import annotations

import datetime as dt

import pytest

from engine.errors import RulesetError, RulesetValidationError
from engine.rules import calendar as cal
from engine.rules.compiler.compile import compile_ruleset
from engine.rules.derive import RecordView
from engine.rules.loader import load_ruleset_bytes
from engine.rules.runner import ListSource, evaluate_rules
from engine.rules.spec import window_amount
from tests import factories as f

RULESET = """
framework: t
version: 1.0.0
title: t
effective_from: 2026-01-01
authority: t
params:
  h: {type: number, unit: hours, default: 24, description: h}
  d: {type: number, unit: days, default: DAYS, description: d}
rules:
  - id: T-WIN-001
    title: t
    citation: c
    severity: low
    match:
      episode: employment_episode where end_at == null
      nothing: no training_record where person_id == episode.person_id
    subject: episode
    obligation:
      anchor: episode.start_at
      within: WINDOW
      met_by: training_record where person_id == episode.person_id
      met_at: completed_at
    message: m
    sop: SOP-T
"""
AS_OF = dt.datetime(2026, 3, 1, tzinfo=dt.UTC)
START = "2026-01-05T09:00:00-06:00"  # 15:00 UTC


def _text(window: str, days: str = "2") -> bytes:
    return RULESET.replace("WINDOW", window).replace("DAYS", days).encode()


def _due(window: str, params: dict[str, float] | None = None, backend: str = "python") -> str | None:
    compiled = compile_ruleset(load_ruleset_bytes(_text(window), "t.yaml"), params)
    records = (f.establishment(), f.episode("EP1", "P1", START))
    source = ListSource([RecordView(r["type"], r["id"], 1, r) for r in records])
    (violation,) = evaluate_rules(source, [compiled], AS_OF, backend=backend).violations
    return violation.due


@pytest.mark.parametrize("backend", ["python", "durable"])
@pytest.mark.parametrize("window, params, due", [
    ("{hours: 1.5}", None, "2026-01-05T16:30:00Z"),
    ("{hours: params.h}", {"h": 0.5}, "2026-01-05T15:30:00Z"),
    ("{hours: params.h}", {"h": 1.5}, "2026-01-05T16:30:00Z"),
    ("{hours: params.h}", {"h": 24}, "2026-01-06T15:00:00Z"),
    ("{days: 2.0}", None, "2026-01-07"),  # a whole float is the whole number it is
])
def test_hours_keep_their_fraction(window: str, params: dict[str, float] | None, due: str, backend: str) -> None:
    assert _due(window, params, backend) == due


def test_a_fraction_of_a_day_written_in_the_rule_is_refused_with_what_to_write() -> None:
    with pytest.raises(RulesetError) as exc:
        load_ruleset_bytes(_text("{days: 1.5}"), "t.yaml")
    reason = " ".join(d.reason for d in exc.value.details)
    assert "1.5 is not a whole number of days" in reason and "e.g. 1 or 2" in reason and "{hours: 36}" in reason


@pytest.mark.parametrize("window", ["{working_days: 2.5}", "{months: 0.5}", "{years: 1.25}", "{hours: -1}"])
def test_other_fractions_and_negative_windows_are_refused(window: str) -> None:
    with pytest.raises(RulesetError):
        load_ruleset_bytes(_text(window), "t.yaml")


def test_a_default_that_is_a_fraction_of_a_day_is_refused_naming_the_parameter_and_the_rule() -> None:
    with pytest.raises(RulesetError) as exc:
        load_ruleset_bytes(_text("{days: params.d}", days="2.5"), "t.yaml")
    reason = " ".join(d.reason for d in exc.value.details)
    assert "params.d defaults to 2.5" in reason and "T-WIN-001" in reason and "e.g. 2 or 3" in reason


def test_a_practice_value_that_is_a_fraction_of_a_day_is_refused_naming_the_file() -> None:
    loaded = load_ruleset_bytes(_text("{days: params.d}"), "t.yaml")
    with pytest.raises(RulesetValidationError) as exc:
        compile_ruleset(loaded, {"d": 1.5}, overrides_source="policies/practice.yaml")
    (detail,) = exc.value.details
    assert (detail.file, detail.field) == ("policies/practice.yaml", "t.d")
    assert "parameter d = 1.5: rule T-WIN-001 counts it in days" in detail.reason
    assert "{hours:" not in detail.reason  # the practice cannot rewrite the rule
    assert compile_ruleset(loaded, {"d": 3}).deadlines[0].amount == 3


def test_window_amount() -> None:
    assert window_amount("hours", 0.5) == 0.5
    assert window_amount("days", 30.0) == 30 and isinstance(window_amount("days", 30.0), int)
    with pytest.raises(ValueError, match="not a whole number of working days"):
        window_amount("working_days", 1.5)


def test_the_calendar_service_takes_fractional_hours_and_refuses_fractional_days() -> None:
    anchor = dt.datetime(2026, 3, 8, 6, 30, tzinfo=dt.UTC)  # across the US daylight-saving change
    deadline = cal.compute_deadline(anchor, 1.5, "hours", "elapsed_hours", "America/Chicago", warn=0.25)
    assert deadline.due == dt.datetime(2026, 3, 8, 8, 0, tzinfo=dt.UTC)
    assert deadline.warn_from == dt.datetime(2026, 3, 8, 7, 45, tzinfo=dt.UTC)
    assert "+ 1.5 elapsed hours" in deadline.explanation
    with pytest.raises(cal.DeadlineSpecError, match="whole number"):
        cal.compute_deadline(anchor, 1.5, "days", "calendar_days", "America/Chicago")


def test_the_compiler_refuses_a_fraction_of_a_day_however_the_window_was_built() -> None:
    """The last line before the deadline code: a Window made in code skips the YAML checks."""
    from engine.rules.compiler.obligations import _amount
    from engine.rules.spec import Window

    rule = load_ruleset_bytes(_text("{days: 2}"), "t.yaml").spec.rules[0]
    with pytest.raises(RulesetError, match=r"\{days: 1.5\}: 1.5 is not a whole number of days"):
        _amount(Window(unit="days", amount=1.5), {}, rule)
    assert _amount(Window(unit="hours", amount=1.5), {}, rule) == 1.5
