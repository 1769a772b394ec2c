"""A parameter the practice changed over time: each obligation is judged by the value in force on the
day it arose (engine.rules.param_history), not by the value of the evaluation's day.

Found in session 43's new-practice pass: `params set hipaa access_revoke_hours 4` from today made an
October departure, disabled after 10 h under the 24 h then in force, a violation in today's run."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest

from engine.errors import RulesetValidationError
from engine.rules.catalog import compile_in_force, load_all, rulesets_dir
from engine.rules.derive import DeriveContext, RecordView
from engine.rules.param_history import NO_HISTORY, ParamHistory, history_of, merged

HIPAA = next(i.spec for i in load_all(rulesets_dir()) if i.spec.framework == "hipaa")
DAY = dt.date(2026, 12, 7)


def test_a_dated_value_gives_one_step_per_change_the_first_from_the_default() -> None:
    history = history_of(HIPAA, {"access_revoke_hours": [{"value": 4, "from": DAY}]}, "practice.yaml")
    assert history.steps == {"access_revoke_hours": ((dt.date.min, 24), (DAY, 4))}
    assert history.value_on("access_revoke_hours", DAY - dt.timedelta(days=1), 4) == 24
    assert history.value_on("access_revoke_hours", DAY, 24) == 4
    assert history.value_on("access_revoke_hours", dt.date(2030, 1, 1), 24) == 4


def test_an_ended_value_returns_to_the_default_and_equal_neighbours_merge() -> None:
    entries = [{"value": 12, "from": "2026-03-01", "to": "2026-06-01"}, {"value": 24, "from": "2026-06-01"}]
    history = history_of(HIPAA, {"access_revoke_hours": entries}, "practice.yaml")
    # 24 (the default) before March, 12 to June, 24 again from June: the last step is the default's
    assert history.steps["access_revoke_hours"] == ((dt.date.min, 24), (dt.date(2026, 3, 1), 12),
                                                    (dt.date(2026, 6, 1), 24))
    assert history.value_on("access_revoke_hours", dt.date(2026, 5, 31), 24) == 12


def test_plain_values_undeclared_names_and_one_value_all_along_have_no_history() -> None:
    section = {"access_revoke_hours": 4, "no_such_parameter": [{"value": 1, "from": DAY}],
               "baa_exit_days": [{"value": 30, "from": DAY}]}  # 30 is the default: no change
    assert history_of(HIPAA, section, "practice.yaml") is NO_HISTORY
    assert not NO_HISTORY and NO_HISTORY.value_on("access_revoke_hours", DAY, 7) == 7


def test_a_past_value_the_version_cannot_take_is_refused_naming_its_day() -> None:
    entries = [{"value": "soon", "from": "2026-01-01"}, {"value": 4, "from": DAY}]
    with pytest.raises(RulesetValidationError) as caught:
        history_of(HIPAA, {"access_revoke_hours": entries}, "practice.yaml")
    assert "hipaa.access_revoke_hours in force from 2026-01-01" in caught.value.message
    assert caught.value.details[0].field == "hipaa.access_revoke_hours"


def test_compile_in_force_carries_the_history_and_keeps_one_compiled_object_per_history(tmp_path: Path) -> None:
    path = tmp_path / "practice.yaml"
    path.write_text("params:\n  hipaa:\n    access_revoke_hours:\n      - {value: 4, from: 2026-12-07}\n")
    first = compile_in_force(dt.datetime(2026, 12, 8, tzinfo=dt.UTC), frameworks=["hipaa"], params_path=path)
    again = compile_in_force(dt.datetime(2026, 12, 8, tzinfo=dt.UTC), frameworks=["hipaa"], params_path=path)
    assert first[0] is again[0]  # the Python backend keys its compiled steps by the object's identity
    assert first[0].params["access_revoke_hours"] == 4
    assert first[0].history.steps["access_revoke_hours"] == ((dt.date.min, 24), (DAY, 4))
    term = next(r for r in first[0].rules if r.id == "HIPAA-SEC-TERM-004")
    assert term.deadline is not None and term.deadline.amount_param is None  # its window is the derivation's
    before = compile_in_force(dt.datetime(2026, 12, 6, tzinfo=dt.UTC), frameworks=["hipaa"], params_path=path)
    assert before[0].params["access_revoke_hours"] == 24 and before[0].history == first[0].history


def test_the_derive_context_reads_the_value_of_a_day_and_says_when_it_is_not_todays() -> None:
    history = ParamHistory({"access_revoke_hours": ((dt.date.min, 24), (DAY, 4))})
    ctx = DeriveContext(as_of=dt.datetime(2026, 12, 8, tzinfo=dt.UTC), params={"access_revoke_hours": 4},
                        tz_of=lambda v: "America/Chicago", establishments={}, history=history)
    assert ctx.param_on("access_revoke_hours", dt.date(2026, 10, 14), 24) == 24
    assert ctx.param_on("access_revoke_hours", DAY, 24) == 4
    assert ctx.param_on("baa_exit_days", dt.date(2026, 10, 14), 30) == 30  # no history: today's value
    assert ctx.then_said("access_revoke_hours", 24, 24) == ", in force then; 4 since 2026-12-07"
    assert ctx.then_said("access_revoke_hours", 4, 24) == ""
    # 23:30 in Chicago on 6 December is 05:30Z on the 7th: the obligation arose on the 6th there
    view = RecordView("employment_episode", "EP1", 1, {})
    assert ctx.day_of(view, dt.datetime(2026, 12, 7, 5, 30, tzinfo=dt.UTC)) == dt.date(2026, 12, 6)
    assert ctx.day_of(view, dt.date(2026, 12, 7)) == DAY


def test_histories_of_several_frameworks_merge() -> None:
    a = ParamHistory({"access_revoke_hours": ((dt.date.min, 24), (DAY, 4))})
    b = ParamHistory({"sil_entry_days": ((dt.date.min, 7), (DAY, 3))})
    assert set(merged([a, NO_HISTORY, b]).steps) == {"access_revoke_hours", "sil_entry_days"}
    assert merged([NO_HISTORY]) is NO_HISTORY


def test_rules_validate_refuses_a_dated_scenario_value_naming_its_line_and_day(tmp_path: Path) -> None:
    from engine.rules.catalog import load_all
    from engine.rules.scenarios import scenario_problems

    folder = tmp_path / "hipaa" / "tests"
    folder.mkdir(parents=True)
    path = folder / "dated.yaml"
    path.write_text(
        "name: dated\nframework: hipaa\nrules: [HIPAA-SEC-TERM-004]\nparams:\n  access_revoke_hours:\n"
        "    - {value: soon, from: 2026-01-01}\n    - {value: 4, from: 2026-12-07}\nrecords: []\n"
        "cases:\n  - as_of: '2026-12-08T00:00:00Z'\n    expect: []\n")
    versions = {"hipaa": [i for i in load_all(rulesets_dir()) if i.spec.framework == "hipaa"]}
    problems = scenario_problems(path, versions)
    assert [(p.field, p.line) for p in problems] == [("params.access_revoke_hours", 5)], problems
    assert "(the value in force from 2026-01-01)" in problems[0].reason
