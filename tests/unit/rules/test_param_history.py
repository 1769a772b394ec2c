"""A parameter the practice changed over time: each obligation is judged by the value in force on the
day it arose (engine.rules.param_history), not by the value of the evaluation's day.

Found in session 43's new-practice pass: `params set hipaa access_revoke_hours 4` from today made an
October departure, disabled after 10 h under the 24 h then in force, a violation in today's run."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest
import yaml

from engine.errors import RulesetValidationError
from engine.rules.catalog import compile_in_force, load_all, rulesets_dir
from engine.rules.derive import DeriveContext, RecordView
from engine.rules.param_history import NO_HISTORY, ParamHistory, history_of, merged

FIXTURES = Path(__file__).resolve().parents[2] / "fixtures" / "rulesets"
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
    assert "a value of params.hipaa in force from 2026-01-01 does not fit hipaa@2026.1.0" in caught.value.message
    assert caught.value.details[0].field == "hipaa.access_revoke_hours"
    assert caught.value.details[0].reason.endswith("(the value in force from 2026-01-01)")


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
    assert ctx.param_at("access_revoke_hours", view, dt.datetime(2026, 12, 7, 5, 30, tzinfo=dt.UTC), 24) == 24
    assert ctx.param_at("access_revoke_hours", view, dt.datetime(2026, 12, 7, 6, 30, tzinfo=dt.UTC), 24) == 4
    assert ctx.param_at("baa_exit_days", view, dt.date(2020, 1, 1), 30) == 30


@pytest.mark.parametrize(("entries", "field", "reason"), [
    ([{"value": 2, "form": "2026-12-09"}], "hipaa.access_revoke_hours[0].form",
     "unknown key 'form' (did you mean from?); an entry has value, from, to, approved_by, reason"),
    ([{"value": 2, "from": "2026-12-09"}, {"value": 3, "from": "2026-12-09"}], "hipaa.access_revoke_hours[1]",
     "entries 0 and 1 both start on 2026-12-09: keep one"),
    ([{"value": 2, "from": "2026-12-09", "to": "2026-12-09"}], "hipaa.access_revoke_hours[0].to",
     "to 2026-12-09 is not after from 2026-12-09"),
    ([{"value": 2, "from": "2026-12-09"}, {"from": "2026-12-10"}], "hipaa.access_revoke_hours[1]",
     "each entry of a dated value reads {value: V, from: YYYY-MM-DD} (to, approved_by and reason may follow)"),
])
def test_a_dated_entry_the_engine_would_misread_is_refused(tmp_path: Path, entries: list[dict[str, object]],
                                                           field: str, reason: str) -> None:
    """A misspelt `from` had dropped the date, so the value applied on every day, past ones included."""
    from engine.rules.catalog import load_practice_params

    path = tmp_path / "practice.yaml"
    path.write_text(yaml.safe_dump({"params": {"hipaa": {"access_revoke_hours": entries}}}))
    with pytest.raises(RulesetValidationError) as caught:
        load_practice_params(path)
    assert [(d.field, d.reason) for d in caught.value.details] == [(field, reason)]


def test_a_version_published_with_a_new_default_changes_the_value_from_its_own_day() -> None:
    """As a dated practice value does: `params list` shows such a default as a scheduled change."""
    from engine.rules.catalog import load_all

    versions = [i for i in load_all(FIXTURES) if i.spec.framework == "demo"]
    newest = max(versions, key=lambda v: v.spec.effective_from).spec
    history = history_of(newest, {}, "practice.yaml", versions=versions)
    # demo 1.0.0 (default 30) from 2026-01-01, demo 2.0.0 (default 10) from 2026-07-01
    assert history.steps == {"new_hire_days": ((dt.date.min, 30), (dt.date(2026, 7, 1), 10))}
    dated = history_of(newest, {"new_hire_days": [{"value": 3, "from": dt.date(2026, 8, 1)}]}, "practice.yaml",
                       versions=versions)
    assert dated.steps["new_hire_days"] == ((dt.date.min, 30), (dt.date(2026, 7, 1), 10), (dt.date(2026, 8, 1), 3))
    assert history_of(newest, {}, "practice.yaml") is NO_HISTORY  # one version, nothing dated


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


def _judged(framework: str, records: list[dict[str, object]], as_of: str, given: dict[str, object],
            rule_id: str) -> list[object]:
    """The violations of `rule_id`, as both backends find them (they must agree byte for byte)."""
    from engine.rules.catalog import compile_for, in_force, params_in_force
    from engine.rules.runner import ListSource, evaluate_rules
    from engine.rules.scenarios import _records

    instant = dt.datetime.fromisoformat(as_of)
    loaded = [i for i in load_all(rulesets_dir()) if i.spec.framework == framework]
    chosen = in_force(loaded, instant.date(), [framework])[0]
    history = history_of(chosen.spec, given, "test", versions=loaded)
    compiled = compile_for(chosen, params_in_force({framework: given}, framework, instant.date(), "test"), "test",
                           on=instant.date(), history=history)
    views = _records(list(records), Path("test"))
    found = {b: [v for v in evaluate_rules(ListSource(views), [compiled], instant, backend=b).violations
                 if v.rule_id == rule_id] for b in ("python", "durable")}
    assert [v.model_dump() for v in found["python"]] == [v.model_dump() for v in found["durable"]]
    return found["python"]


def test_a_message_that_prints_a_parameter_prints_the_value_its_due_was_counted_with() -> None:
    """CRED-NCQA-RECRED-007 prints `params.recred_months`: it had said "12 months after" beside a due
    counted 36 months from the start, the value in force then."""
    records = [
        {"type": "establishment", "id": "E1", "tz": "America/New_York", "state": "NY"},
        {"type": "employment_episode", "id": "EP1", "person_id": "P1", "establishment_id": "E1",
         "role": "physician", "start_at": "2023-04-03T08:00:00-04:00", "licensed_clinician": True},
        {"type": "credential", "id": "L1", "person_id": "P1", "kind": "STATE_LICENSE", "jurisdiction": "NY",
         "issued_at": "2020-01-01T09:00:00-05:00", "expires_at": "2030-12-31T12:00:00-05:00",
         "expiry_rule": "exact", "status": "active"},
    ]
    given = {"recred_months": [{"value": 36}, {"value": 12, "from": dt.date(2026, 1, 1)}]}
    [found] = _judged("credentialing", records, "2026-03-01T17:00:00+00:00", given, "CRED-NCQA-RECRED-007")
    assert (found.state, found.due) == ("due_soon", "2026-04-03")
    assert "36 months after" in found.message and "12 months" not in found.message, found.message
    assert found.facts["params_used"] == {"recred_months": 36}


def test_a_rule_window_read_from_a_parameter_records_the_value_it_used() -> None:
    records = [
        {"type": "establishment", "id": "E-REQ", "naics": "621999", "tz": "America/Chicago",
         "max_concurrent_employees": {"2025": 40}},
        {"type": "osha_case", "id": "OC-2", "establishment_id": "E-REQ", "person_id": "P-2",
         "incident_at": "2026-04-09T22:30:00-05:00", "learned_at": "2026-04-09T23:00:00-05:00", "sharps": True},
    ]
    given = {"sil_entry_days": [{"value": 7}, {"value": 3, "from": dt.date(2026, 4, 10)}]}
    [found] = _judged("osha", records, "2026-04-15T17:00:00+00:00", given, "OSHA-BBP-SIL-011")
    assert (found.state, found.due) == ("due_soon", "2026-04-16")
    assert found.facts["params_used"] == {"sil_entry_days": 7}
    plain = _judged("osha", records, "2026-04-15T17:00:00+00:00", {"sil_entry_days": 3}, "OSHA-BBP-SIL-011")
    assert [(v.state, v.due) for v in plain] == [("overdue", "2026-04-12")]
    assert "params_used" not in plain[0].facts  # nothing to say when the value is today's
