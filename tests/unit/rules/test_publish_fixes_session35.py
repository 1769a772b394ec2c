"""Session 35's liaison probe: a withdrawal that left later days with no version in force, parameter
changes and the parameters table that took a superseded version for the one in force, a publish
refusal that named one problem at a time, and an evaluation refusal that described a withdrawn
version's days as the framework's."""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Iterator
from pathlib import Path

import pytest
from typer.testing import CliRunner

from engine import clock
from engine.cli.main import app
from engine.errors import ConflictError, ErrorDetail, InputError, RulesetError
from engine.findings import run_checks
from engine.rules import publish, tuning, versions
from engine.rules.catalog import load_all, rulesets_dir
from engine.rules.loader import LoadedRuleset
from tests.ruleset_texts import PUB_RULESET, pub_folder

TODAY = dt.datetime(2026, 6, 1, 12, 0, tzinfo=dt.UTC)
JULY, AUGUST = dt.date(2026, 7, 1), dt.date(2026, 8, 1)
GRACE = "  grace_days: {type: int, unit: days, default: 5, description: Days of grace}\n"


def draft(version: str, *, train_default: int = 30, extra_param: str = "", days: str = "params.train_days") -> bytes:
    text = PUB_RULESET.replace("version: 1.0.0", f"version: {version}").replace(
        "default: 30, description: Days to train", f"default: {train_default}, description: Days to train")
    text = text.replace("rules:\n", extra_param + "rules:\n", 1) if extra_param else text
    return text.replace("within: {days: params.train_days}", f"within: {{days: {days}}}").encode()


@pytest.fixture
def root(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    with clock.frozen(TODAY):
        yield pub_folder(tmp_path, monkeypatch)


def files(root: Path) -> dict[str, bytes]:
    return {str(p.relative_to(root)): p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file()}


# -- 1: a withdrawal must leave a version in force on every later day that had one -------------------


@pytest.mark.parametrize("on", [None, dt.date(2026, 7, 15)])
def test_withdrawing_the_version_that_outlives_the_one_before_it_is_refused(root: Path, on: dt.date | None) -> None:
    """1.0.0 withdrawn from August and 1.1.0 scheduled from July: withdrawing 1.1.0 as well had been
    accepted (1.0.0 still covered its first day), and from August nothing was in force."""
    publish.publish(draft("1.1.0"), name="d.yaml", effective_from=JULY)
    publish.withdraw("pub", "1.0.0", reason="old", by="liaison", on=AUGUST)
    before = files(root)
    with pytest.raises(ConflictError) as refused:
        publish.withdraw("pub", "1.1.0", reason="pulled", by="liaison", on=on)
    assert refused.value.code == "ruleset.withdraw.last"
    assert "no other version of pub is in force on 2026-08-01" in refused.value.details[0].reason
    assert files(root) == before


def test_a_withdrawal_that_leaves_every_day_covered_is_still_accepted(root: Path) -> None:
    publish.publish(draft("1.1.0"), name="d.yaml", effective_from=JULY)
    publish.withdraw("pub", "1.1.0", reason="pulled", by="liaison")  # 1.0.0 runs on, open-ended
    assert [d for d, item in versions.in_force_from(load_all(rulesets_dir()), "pub", TODAY.date())] == [TODAY.date()]


# -- 5: the days a framework is in force, as an evaluation refusal says them --------------------------


def test_an_evaluation_refusal_names_the_days_in_force_not_a_withdrawn_versions(root: Path) -> None:
    """A version scheduled and withdrawn before its start had been taken for the framework's last
    ("in force from 2026-01-01 until 2026-06-01", though 1.0.0 is open-ended)."""
    publish.publish(draft("1.1.0"), name="d.yaml", effective_from=JULY)
    publish.withdraw("pub", "1.1.0", reason="pulled", by="liaison")
    with pytest.raises(InputError) as refused:
        run_checks.check_evaluation(None, org_id="o", as_of=dt.datetime(2025, 1, 1, tzinfo=dt.UTC),  # type: ignore[arg-type]
                                    frameworks=["pub"])
    assert refused.value.code == "input.nothing_in_force"
    assert [d.reason for d in refused.value.details] == [
        "pub has versions in force from 2026-01-01; the evaluation would find nothing"]


def test_stretches_in_force_follow_supersession_and_ends(root: Path) -> None:
    ended = PUB_RULESET.replace("effective_from: 2026-01-01", "effective_from: 2026-01-01\neffective_to: 2026-03-01")
    (root / "pub" / "pub-1.0.0.yaml").write_text(ended)
    (root / "pub" / "pub-1.1.0.yaml").write_bytes(draft("1.1.0").replace(b"effective_from: 2026-01-01",
                                                                          b"effective_from: 2026-05-01"))
    spans = versions.spans_in_force(load_all(rulesets_dir()), "pub")
    assert spans == [(dt.date(2026, 1, 1), dt.date(2026, 3, 1)), (dt.date(2026, 5, 1), None)]
    assert versions.said_in_force(spans) == "has versions in force from 2026-01-01 to 2026-02-28, and from 2026-05-01"


# -- 2: a parameter change meets the versions in force from its day on, and says the value it replaces


def test_a_parameter_only_the_next_version_declares_can_be_set_from_a_day_it_is_in_force(root: Path) -> None:
    publish.publish(draft("1.1.0", extra_param=GRACE), name="d.yaml", effective_from=JULY)
    change = tuning.set_param("pub", "grace_days", 9, approved_by="CO", reason="r", effective_from=AUGUST)
    assert (change.before, change.value) == (5, 9)
    with pytest.raises(InputError) as refused:  # 1.0.0 is in force on 15 June and knows no grace_days
        tuning.set_param("pub", "grace_days", 9, approved_by="CO", reason="r", effective_from=dt.date(2026, 6, 15))
    # the day it can be set from is named (session 46; it had said "pub 1.0.0 does not compile")
    assert refused.value.code == "params.not_yet" and f"can be set from {JULY}, when pub 1.1.0" in refused.value.message


def test_a_version_in_force_again_after_a_withdrawal_is_compiled_with_the_new_value(root: Path) -> None:
    """1.1.0 withdrawn from September puts 1.0.0 back in force then: it meets the value too, and the
    refusal says which version declares the parameter on which days, the --from to give and the day
    the value must end by. It had said "pub 1.0.0 does not compile with the new value: unknown
    parameter 'grace_days' ... (did you mean ...?)", without --from for today and with it alike."""
    publish.publish(draft("1.1.0", extra_param=GRACE), name="d.yaml", effective_from=JULY)
    publish.withdraw("pub", "1.1.0", reason="pulled", by="liaison", on=dt.date(2026, 9, 1))
    for day in (None, AUGUST):
        with pytest.raises(InputError) as refused:
            tuning.set_param("pub", "grace_days", 9, approved_by="CO", reason="r", effective_from=day)
        assert refused.value.code == "params.not_declared"
        assert refused.value.message == (f"pub.grace_days is declared only by pub 1.1.0 (2026-07-01 to 2026-08-31): "
                                         f"it cannot be set from {day or TODAY.date()}")
        said = refused.value.details[0].reason
        assert ("set it with --from 2026-07-01; " if day is None else "a value from 2026-08-01 is in force") in said
        assert "pub 1.0.0, in force from 2026-09-01, does not declare it" in said and "`to: 2026-09-01`" in said


@pytest.mark.parametrize("effective_from, before", [(AUGUST, 14), (JULY, 14), (dt.date(2026, 6, 15), 30)])
def test_the_value_before_is_the_one_in_force_that_day(root: Path, effective_from: dt.date, before: int) -> None:
    """The answer and audit entry had said the first version's default (30) of a day 1.1.0's 14 is in force."""
    publish.publish(draft("1.1.0", train_default=14), name="d.yaml", effective_from=JULY)
    change = tuning.set_param("pub", "train_days", 20, approved_by="CO", reason="r", effective_from=effective_from)
    assert change.before == before
    assert tuning.params_table(effective_from - dt.timedelta(days=1))[0].value == (14 if effective_from > JULY else 30)


# -- 3: the parameters table shows a later version's new default as a scheduled change ---------------


def test_a_later_versions_new_default_is_a_scheduled_change(root: Path) -> None:
    publish.publish(draft("1.1.0", train_default=14), name="d.yaml", effective_from=JULY)
    (row,) = tuning.params_table()
    assert (row.version, row.value, row.source) == ("1.0.0", 30, "default")
    assert [s.model_dump() for s in row.scheduled] == [{"value": 14, "starts": JULY, "approved_by": None,
                                                        "reason": "the default of pub 1.1.0", "version": "1.1.0"}]
    tuning.set_param("pub", "train_days", 20, approved_by="CO", reason="r", effective_from=AUGUST)
    (row,) = tuning.params_table()
    assert [(s.value, s.starts, s.version) for s in row.scheduled] == [(14, JULY, "1.1.0"), (20, AUGUST, None)]


def test_a_new_default_the_practice_overrides_then_is_no_change(root: Path) -> None:
    tuning.set_param("pub", "train_days", 20, approved_by="CO", reason="r")  # from today, on through July
    publish.publish(draft("1.1.0", train_default=14), name="d.yaml", effective_from=JULY)
    (row,) = tuning.params_table()
    assert (row.value, row.scheduled) == (20, [])


def test_an_unchanged_default_is_no_change(root: Path) -> None:
    publish.publish(draft("1.1.0"), name="d.yaml", effective_from=JULY)
    assert tuning.params_table()[0].scheduled == []


# -- 4: a refused publication names every problem at once ---------------------------------------------


def judged(item: LoadedRuleset) -> None:
    """The pipeline's check, as a fake: runs already judged the draft's first day."""
    raise InputError("runs judged it", [ErrorDetail(reason=f"runs judged {item.spec.framework}: choose later",
                                                    field="effective_from")], code="ruleset.change.judged")


def test_a_draft_that_breaks_a_scenario_and_a_judged_day_is_refused_naming_both(root: Path) -> None:
    before = files(root)
    with pytest.raises(RulesetError) as refused:
        publish.publish(draft("1.1.0", days="14"), name="d.yaml", effective_from=TODAY.date(), check=judged)
    assert refused.value.code == "ruleset.publish.scenarios" and "and 1 other problem" in refused.value.message
    reasons = [d.reason for d in refused.value.details]
    assert reasons[0] == "runs judged pub: choose later" and "case 0" in reasons[1]
    assert files(root) == before


def test_a_draft_refused_for_its_date_also_names_the_scenario_it_breaks(root: Path) -> None:
    with pytest.raises(RulesetError) as refused:
        publish.publish(draft("1.1.0", days="14"), name="d.yaml", effective_from=dt.date(2026, 5, 31), check=judged)
    reasons = [d.reason for d in refused.value.details]
    assert "is before today" in reasons[0] and reasons[1] == "runs judged pub: choose later" and "case 0" in reasons[2]


def test_the_callers_refusal_alone_keeps_its_code(root: Path) -> None:
    with pytest.raises(InputError) as refused:
        publish.publish(draft("1.1.0"), name="d.yaml", effective_from=JULY, check=judged)
    assert refused.value.code == "ruleset.change.judged"
    assert not (root / "pub" / "pub-1.1.0.yaml").exists()


# -- 1 (also): an evaluation that leaves a framework out for want of a version in force says so --------


def test_an_evaluation_says_on_stderr_which_framework_it_left_out(tmp_path: Path,
                                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    """As of 2020 HIPAA is in force and OSHA (from 2024) is not: the result had listed HIPAA alone,
    with nothing said of OSHA. The JSON stays the contract's; the note goes to stderr."""
    for name in ("VIGIL_RULESETS_DIR", "VIGIL_POLICIES_DIR", "VIGIL_PRACTICE_PARAMS"):
        monkeypatch.delenv(name, raising=False)
    records = tmp_path / "r.json"
    records.write_text(json.dumps([{"type": "organization", "id": "O1", "name": "X", "states": ["CA"]}]))
    result = CliRunner().invoke(app, ["evaluate", "--records", str(records), "--as-of", "2020-06-01T00:00:00Z",
                                      "--framework", "hipaa,osha", "--json"])
    assert result.exit_code == 0, result.output
    assert [r["id"] for r in json.loads(result.stdout)["rulesets"]] == ["hipaa"]
    said = " ".join(result.stderr.split())
    assert ("warning: no osha ruleset is in force on 2020-06-01 (the UTC date of --as-of), so osha was not judged: "
            "osha has versions in force from 2024-01-01") in said
    assert "hipaa" not in said
