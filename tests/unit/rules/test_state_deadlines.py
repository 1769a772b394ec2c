"""State-law deadlines ("ST:N:UNIT", hipaa access_state_overrides) are checked wherever a parameter
value is: the ruleset's default, practice.yaml, `vigil params set` and a scenario's params. Each
mistake had been silent or fatal: an unknown unit counted calendar days, a misspelt state or a
missing part matched nothing, a negative count gave a due date before the request, and a count in
words crashed every evaluation with a traceback."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest

from engine import clock
from engine.errors import InputError, RulesetValidationError
from engine.rules import tuning
from engine.rules.catalog import RULESETS_DIR, compile_for, load_practice_params
from engine.rules.loader import load_ruleset_file
from engine.rules.scenarios import run_scenario
from engine.rules.spec import ParamSpec, StateDeadline, check_param_value, parse_state_deadline

HIPAA = load_ruleset_file(sorted((RULESETS_DIR / "hipaa").glob("hipaa-*.yaml"))[-1])
FORM = "Write STATE:N:UNIT, e.g. TX:15:business_days"

BAD = [
    ("TX:15:hours", "unknown unit 'hours'"),
    ("TX:15:business_dayz", "unknown unit 'business_dayz'"),
    ("TX:fifteen:days", "the count 'fifteen' is not a whole number"),
    ("TX:-5:days", "the count '-5' is not a whole number from 1 to 365"),
    ("TX:0:days", "the count '0' is not a whole number from 1 to 365"),
    ("TX:99999999:days", "from 1 to 365"),
    ("Texas:15:working_days", "'Texas' is not a US state or territory code"),
    ("TX:15", "'TX:15' is not STATE:N:UNIT"),
    ("TX:15:days:x", "is not STATE:N:UNIT"),
]


def _spec() -> ParamSpec:
    return HIPAA.spec.params["access_state_overrides"]


@pytest.mark.parametrize("entry, said", BAD)
def test_a_bad_entry_is_refused_naming_it_and_the_form_to_write(entry: str, said: str) -> None:
    with pytest.raises(ValueError) as exc:
        check_param_value(_spec(), [entry])
    assert repr(entry) in str(exc.value) and said in str(exc.value) and FORM in str(exc.value)


def test_every_bad_entry_is_named_at_once_and_a_good_one_is_not() -> None:
    with pytest.raises(ValueError) as exc:
        check_param_value(_spec(), ["TX:15:business_days", "TX:15:hours", "CA:x:days"])
    text = str(exc.value)
    assert "'TX:15:hours'" in text and "'CA:x:days'" in text and "'TX:15:business_days'" not in text


@pytest.mark.parametrize("entry, parsed", [
    ("TX:15:days", StateDeadline("TX", 15, "days")),
    ("TX:15:business_days", StateDeadline("TX", 15, "business_days")),
    ("tx:10:working_days", StateDeadline("TX", 10, "business_days")),  # the catalog's other name (C4)
])
def test_the_accepted_forms(entry: str, parsed: StateDeadline) -> None:
    assert parse_state_deadline(entry) == parsed
    assert check_param_value(_spec(), [entry]) == [entry]


def test_the_message_says_the_unit_counted() -> None:
    assert parse_state_deadline("TX:15:business_days").words == "TX law: 15 business days"


def test_practice_parameters_with_a_bad_entry_are_refused_naming_the_file_and_the_parameter() -> None:
    with pytest.raises(RulesetValidationError) as exc:
        compile_for(HIPAA, {"access_state_overrides": ["TX:fifteen:days"]}, "policies/practice.yaml")
    (detail,) = exc.value.details
    assert (detail.file, detail.field) == ("policies/practice.yaml", "hipaa.access_state_overrides")
    assert "'TX:fifteen:days'" in detail.reason and FORM in detail.reason


def test_params_set_refuses_a_bad_entry_and_writes_nothing(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = tmp_path / "practice.yaml"
    path.write_text("params:\n  hipaa: {}\n", encoding="utf-8")
    monkeypatch.setenv("VIGIL_PRACTICE_PARAMS", str(path))
    with clock.frozen(dt.datetime(2026, 6, 1, tzinfo=dt.UTC)), pytest.raises(InputError) as exc:
        tuning.set_param("hipaa", "access_state_overrides", ["TX:15:hours"], approved_by="CO", reason="r")
    assert "unknown unit 'hours'" in exc.value.details[0].reason and FORM in exc.value.details[0].reason
    assert load_practice_params(path) == {"hipaa": {}}


def test_a_scenario_with_a_bad_entry_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "s.yaml"
    path.write_text("name: s\nframework: hipaa\nparams: {access_state_overrides: ['TX:15']}\nrecords: []\n"
                    "cases:\n  - as_of: '2026-06-01T00:00:00Z'\n    expect: []\n", encoding="utf-8")
    with pytest.raises(RulesetValidationError) as exc:
        list(run_scenario(path, backends=("python",)))
    assert "'TX:15' is not STATE:N:UNIT" in exc.value.details[0].reason


def test_a_default_with_a_bad_entry_is_refused_by_the_ruleset() -> None:
    with pytest.raises(ValueError, match="unknown unit 'hours'"):
        ParamSpec(type="list", unit="state deadlines", default=["TX:15:hours"], description="d")
