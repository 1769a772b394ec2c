"""The liaison publishes a version with an effective date, withdraws one (a rollback) and changes a
practice parameter from a day on: every check refuses before a byte is written, past days keep the
rules and values they had, and a withdrawn version's bytes stay for the runs and packets that used it."""

from __future__ import annotations

import datetime as dt
import hashlib
from pathlib import Path

import pytest

from engine import clock
from engine.errors import ConflictError, InputError, NotFoundError, RefusedChange, RulesetError
from engine.packet_sources import DatabaseSources
from engine.rules import publish, tuning, versions
from engine.rules.catalog import (
    compile_in_force,
    in_force,
    load_all,
    load_practice_params,
    params_in_force,
    rulesets_dir,
)
from engine.rules.derive import RecordView
from engine.rules.runner import ListSource, evaluate_rules
from tests import factories as f
from tests.ruleset_texts import PUB_RULESET, PUB_SCENARIO, pub_folder

TODAY = dt.datetime(2026, 6, 1, 12, 0, tzinfo=dt.UTC)

V1 = "# the first version (this comment is kept byte for byte)\n" + PUB_RULESET

SCENARIO = PUB_SCENARIO


def draft(version: str, *, effective_from: str = "2026-01-01", days: str = "params.train_days",
          message: str = "Train {{ episode.person_id }} by {{ due }}.") -> bytes:
    text = V1.replace("version: 1.0.0", f"version: {version}").replace(
        "effective_from: 2026-01-01", f"effective_from: {effective_from}")
    return text.replace("within: {days: params.train_days}", f"within: {{days: {days}}}").replace(
        "message: Train {{ episode.person_id }} by {{ due }}.", f"message: {message}").encode()


@pytest.fixture
def root(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    with clock.frozen(TODAY):
        yield pub_folder(tmp_path, monkeypatch, V1)


def files(root: Path) -> dict[str, bytes]:
    return {str(p.relative_to(root)): p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file()}


def versions_in_force(day: str) -> list[str]:
    return [i.spec.version for i in in_force(load_all(rulesets_dir()), dt.date.fromisoformat(day), ["pub"])]


# -- publish ---------------------------------------------------------------------------------------


def test_a_version_published_for_a_later_day_leaves_today_on_the_old_one(root: Path) -> None:
    pub = publish.publish(draft("1.1.0", days="14"), name="d.yaml", effective_from=dt.date(2026, 7, 1))
    assert (pub.framework, pub.version, pub.effective_from, pub.replaces) == ("pub", "1.1.0", dt.date(2026, 7, 1),
                                                                               "1.0.0")
    assert pub.scenarios_passed == 1
    written = root / "pub" / "pub-1.1.0.yaml"
    assert pub.path == "pub/pub-1.1.0.yaml" and b"effective_from: 2026-07-01\n" in written.read_bytes()
    assert written.read_bytes().startswith(b"# the first version (this comment is kept byte for byte)\n")
    assert versions_in_force("2026-06-01") == ["1.0.0"] and versions_in_force("2026-07-01") == ["1.1.0"]
    status = {v.version: v.status for v in versions.list_versions()}
    assert status == {"1.0.0": "in force", "1.1.0": "scheduled"}
    # and evaluations pick them so: 30 days today, 14 days from July
    records = [RecordView(r["type"], r["id"], 1, r)
               for r in (f.establishment(), f.episode("EP9", "P9", "2026-05-01T09:00:00-05:00"))]
    for as_of, due in (("2026-06-30T12:00:00+00:00", "2026-05-31"), ("2026-07-01T12:00:00+00:00", "2026-05-15")):
        instant = dt.datetime.fromisoformat(as_of)
        found = evaluate_rules(ListSource(records), compile_in_force(instant), instant, backend="python").violations
        assert [v.due for v in found] == [due]


def test_a_draft_sent_with_crlf_lines_is_written_with_lf_and_readable_by_all(root: Path) -> None:
    """Web pass: a browser sends a text box's lines ending in CRLF; the version was written so (its
    hash depending on the browser, `diff` marking every line) and readable by its owner alone."""
    sent = draft("1.1.0", days="14").replace(b"\n", b"\r\n")
    pub = publish.publish(sent, name="d.yaml", effective_from=dt.date(2026, 7, 1))
    written = root / "pub" / "pub-1.1.0.yaml"
    assert b"\r" not in written.read_bytes()
    assert written.read_bytes() == draft("1.1.0", days="14").replace(b"effective_from: 2026-01-01",
                                                                     b"effective_from: 2026-07-01")
    assert pub.sha256 == hashlib.sha256(written.read_bytes()).hexdigest()
    assert written.stat().st_mode & 0o777 == 0o644


@pytest.mark.parametrize("changes, effective, reason", [
    ({"version": "1.0.0"}, None, "is not above pub 1.0.0"),
    ({"version": "0.9.0"}, None, "is not above pub 1.0.0"),
    ({"version": "1.1.0"}, dt.date(2026, 5, 31), "is before today (2026-06-01)"),
    ({"version": "1.1.0", "days": "params.no_such_param"}, None, "unknown parameter"),
    ({"version": "1.1.0", "days": "__import__('os')"}, None, "PUB-TRN-001"),
    ({"version": "1.1.0", "message": "'{{ episode.__class__ }}'"}, None, "underscore"),
])
def test_a_draft_that_fails_a_check_writes_nothing(root: Path, changes: dict[str, str], effective: dt.date | None,
                                                   reason: str) -> None:
    before = files(root)
    version = changes.pop("version")
    with pytest.raises((InputError, RulesetError)) as caught:
        publish.publish(draft(version, **changes), name="d.yaml", effective_from=effective or dt.date(2026, 7, 1))
    assert reason in str(caught.value)
    assert caught.value.exit_code == 2 and caught.value.http_status == 422
    assert files(root) == before


@pytest.mark.parametrize("framework", ["../../evil", "/tmp/evil", "pub/../x", "Pub", "9x", "a b", "a" * 41])
def test_a_framework_that_is_no_folder_id_is_refused_and_nothing_is_written_anywhere(
        root: Path, tmp_path: Path, framework: str) -> None:
    """Probe 16 #1: `framework: ../../evil` published /evil-2027.1.0.yaml, and a refused publish left folders."""
    before = {p for p in tmp_path.parent.rglob("*")}
    text = draft("1.1.0").replace(b"framework: pub", f"framework: '{framework}'".encode())
    with pytest.raises(RulesetError, match="must be an id"):
        publish.publish(text, name="d.yaml", effective_from=dt.date(2026, 7, 1))
    assert {p for p in tmp_path.parent.rglob("*")} == before
    for outside in (Path("/evil"), Path("/tmp/evil"), root.parent / "evil"):
        assert not outside.exists()


def test_a_draft_that_breaks_a_scenario_is_refused_naming_the_case(root: Path) -> None:
    before = files(root)
    with pytest.raises(RulesetError) as caught:  # 14 days, in force on the scenario's as_of (10 June)
        publish.publish(draft("1.1.0", days="14"), name="d.yaml", effective_from=dt.date(2026, 6, 1))
    assert caught.value.code == "ruleset.publish.scenarios"
    assert caught.value.details[0].file == "pub/tests/train.yaml"
    assert "case 0" in caught.value.details[0].reason
    assert files(root) == before
    # the same draft from a day after the scenario's as_of leaves the scenario to 1.0.0, and passes
    assert publish.publish(draft("1.1.0", days="14"), name="d.yaml", effective_from=dt.date(2026, 6, 11)).version


def test_a_draft_the_two_backends_judge_differently_is_refused(root: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The live stream matches on durable_rules and the sweeps may run on Python: a draft is
    published only when its scenarios give the same findings on both."""
    from engine.rules import scenarios

    real = scenarios.evaluate_rules

    def durable_loses_its_findings(*args: object, backend: str, **kwargs: object) -> object:
        run = real(*args, backend=backend, **kwargs)  # type: ignore[arg-type]
        if backend == "durable":
            run.violations.clear()
        return run

    monkeypatch.setattr(scenarios, "evaluate_rules", durable_loses_its_findings)
    before = files(root)
    with pytest.raises(RulesetError) as caught:
        publish.publish(draft("1.1.0"), name="d.yaml", effective_from=dt.date(2026, 6, 1))
    assert caught.value.code == "ruleset.publish.scenarios"
    assert "backends disagree: only python: ['PUB-TRN-001 employment_episode/EP1 overdue']; only durable: []" in (
        caught.value.details[0].reason)
    assert files(root) == before


def test_a_version_cannot_start_before_one_already_scheduled(root: Path) -> None:
    publish.publish(draft("1.1.0"), name="d.yaml", effective_from=dt.date(2026, 9, 1))
    with pytest.raises(InputError, match="withdraw 1.1.0 first"):
        publish.publish(draft("1.2.0"), name="d.yaml", effective_from=dt.date(2026, 8, 1))
    publish.withdraw("pub", "1.1.0", reason="superseded before it started", by="liaison")
    assert publish.publish(draft("1.2.0"), name="d.yaml", effective_from=dt.date(2026, 8, 1)).replaces == "1.0.0"


def test_effective_from_is_set_on_the_drafts_own_line() -> None:
    assert publish.with_effective_from(b"a: 1\neffective_from: 2020-01-01  # old\nb: 2\n", dt.date(2027, 1, 1),
                                       "d") == b"a: 1\neffective_from: 2027-01-01\nb: 2\n"
    with pytest.raises(RulesetError, match="cannot set effective_from"):
        publish.with_effective_from(b"a: 1\n", dt.date(2027, 1, 1), "d")


# -- withdraw / rollback ---------------------------------------------------------------------------


def test_withdrawing_the_version_in_force_restores_the_one_before(root: Path) -> None:
    with clock.frozen(dt.datetime(2026, 5, 1, tzinfo=dt.UTC)):
        publish.publish(draft("1.1.0", message="Train {{ episode.person_id }} now."), name="d.yaml",
                        effective_from=dt.date(2026, 5, 2))
    bytes_before = (root / "pub" / "pub-1.1.0.yaml").read_bytes()
    assert versions_in_force("2026-06-01") == ["1.1.0"]
    result = publish.withdraw("pub", publish.in_force_version("pub", TODAY.date()), reason="miscounts", by="liaison")
    assert (result.version, result.on, result.restores, result.never_in_force) == ("1.1.0", TODAY.date(), "1.0.0",
                                                                                   False)
    assert versions_in_force("2026-05-31") == ["1.1.0"]  # the days it was in force keep it
    assert versions_in_force("2026-06-01") == ["1.0.0"]
    assert (root / "pub" / "pub-1.1.0.yaml").read_bytes() == bytes_before
    listed = {v.version: v for v in versions.list_versions()}
    assert listed["1.1.0"].status == "withdrawn" and listed["1.1.0"].withdrawal_reason == "miscounts"
    assert listed["1.0.0"].status == "in force"
    # a packet for May still ships 1.1.0's bytes; one for June onwards does not
    sources = DatabaseSources()
    may = sources.rulesets(None, framework="pub", date_from=dt.date(2026, 5, 1), date_to=dt.date(2026, 5, 31),  # type: ignore[arg-type]
                           known_at=TODAY)
    june = sources.rulesets(None, framework="pub", date_from=dt.date(2026, 6, 1), date_to=dt.date(2026, 6, 30),  # type: ignore[arg-type]
                            known_at=TODAY)
    assert [r.version for r in may] == ["1.0.0", "1.1.0"] and [r.version for r in june] == ["1.0.0"]


def test_withdrawing_a_scheduled_version_means_it_never_takes_effect(root: Path) -> None:
    publish.publish(draft("1.1.0").replace(b"default: 30", b"default: 5"), name="d.yaml",
                    effective_from=dt.date(2026, 7, 1))
    result = publish.withdraw("pub", "1.1.0", reason="not needed", by="liaison", on=dt.date(2026, 6, 15))
    assert result.never_in_force and result.restores == "1.0.0"
    assert versions_in_force("2026-07-01") == ["1.0.0"]
    # withdrawn, not "scheduled (withdrawn from ...)", before its first day comes (the newcomer pass);
    # `rules docs` documents the version that takes effect, and says the other never does
    assert {v.version: v.status for v in versions.list_versions()}["1.1.0"] == "withdrawn"
    from engine.rules.docs import render_all

    page = render_all()["pub.md"]
    assert "| 1.1.0 | never: withdrawn before 2026-07-01, its first day |" in page
    assert "| `train_days` | int | days | `30` |" in page


def test_a_withdrawal_from_a_later_day_leaves_the_version_in_force_until_then(root: Path) -> None:
    with clock.frozen(dt.datetime(2026, 5, 1, tzinfo=dt.UTC)):
        publish.publish(draft("1.1.0"), name="d.yaml", effective_from=dt.date(2026, 5, 2))
    publish.withdraw("pub", "1.1.0", reason="replaced by the state's rule", by="liaison", on=dt.date(2026, 6, 20))
    assert versions_in_force("2026-06-19") == ["1.1.0"] and versions_in_force("2026-06-20") == ["1.0.0"]


@pytest.mark.parametrize("version, on, error, text", [
    ("1.0.0", None, ConflictError, "would leave no pub ruleset in force"),
    ("9.9.9", None, NotFoundError, "no ruleset pub@9.9.9"),
    ("1.0.0", dt.date(2026, 5, 1), InputError, "before today"),
])
def test_a_withdrawal_that_cannot_be_is_refused_and_writes_nothing(root: Path, version: str, on: dt.date | None,
                                                                  error: type[Exception], text: str) -> None:
    before = files(root)
    with pytest.raises(error, match=text):
        publish.withdraw("pub", version, reason="r", by="liaison", on=on)
    assert files(root) == before


def test_a_refused_withdrawal_names_the_day_it_could_be_made_from_withdrawals_applied(root: Path) -> None:
    """1.1.0 scheduled from July and itself withdrawn from August: the hint had said "or withdraw
    from 2026-07-01 when pub's next version takes over", and a liaison who followed it was refused
    naming 2026-08-01. With no day that works, the hint says only to publish a replacement."""
    publish.publish(draft("1.1.0"), name="d.yaml", effective_from=dt.date(2026, 7, 1))
    with pytest.raises(RefusedChange) as before:
        publish.withdraw("pub", "1.0.0", reason="r", by="liaison")
    assert before.value.details[0].reason.endswith("or withdraw from 2026-07-01 when pub 1.1.0 takes over")
    publish.withdraw("pub", "1.1.0", reason="postponed", by="liaison", on=dt.date(2026, 8, 1))
    with pytest.raises(RefusedChange) as refused:
        publish.withdraw("pub", "1.0.0", reason="r", by="liaison")
    said = refused.value.details[0].reason
    assert said == "no other version of pub is in force on 2026-06-01: publish a replacement first", said
    publish.publish(draft("1.2.0"), name="d.yaml", effective_from=dt.date(2026, 9, 1))
    with pytest.raises(RefusedChange) as later:
        publish.withdraw("pub", "1.0.0", reason="r", by="liaison")
    assert later.value.details[0].reason.endswith("or withdraw from 2026-09-01 when pub 1.2.0 takes over")
    assert publish.withdraw("pub", "1.0.0", reason="r", by="liaison", on=dt.date(2026, 9, 1)).restores is None


def test_a_refused_withdrawal_is_bad_input_on_the_command_line_and_a_conflict_over_http() -> None:
    assert (RefusedChange.exit_code, RefusedChange.http_status) == (2, 409)
    assert issubclass(RefusedChange, ConflictError) and ConflictError.exit_code == 1


def test_a_version_is_withdrawn_once(root: Path) -> None:
    publish.publish(draft("1.1.0"), name="d.yaml", effective_from=dt.date(2026, 7, 1))
    publish.withdraw("pub", "1.1.0", reason="r", by="liaison")
    with pytest.raises(ConflictError, match="already withdrawn"):
        publish.withdraw("pub", "1.1.0", reason="again", by="liaison")
    with pytest.raises(InputError, match="is not above"):  # and its number is not reused
        publish.publish(draft("1.1.0"), name="d.yaml", effective_from=dt.date(2026, 7, 1))


def test_a_withdrawal_still_to_come_is_moved_by_withdrawing_again(root: Path) -> None:
    """Withdrawn "from 2099" for 2029 by mistake, a version had stayed in force until a new one was
    published: withdrawn again before the day, the withdrawal moves, and the file keeps both."""
    publish.publish(draft("1.1.0"), name="d.yaml", effective_from=dt.date(2026, 7, 1))
    first = publish.withdraw("pub", "1.1.0", reason="typed the year wrong", by="liaison", on=dt.date(2099, 1, 1))
    assert first.moved_from is None and versions_in_force("2030-06-01") == ["1.1.0"]
    earlier = publish.withdraw("pub", "1.1.0", reason="the state delayed it to 2029", by="liaison",
                               on=dt.date(2029, 1, 1))
    assert (earlier.on, earlier.moved_from, earlier.restores) == (dt.date(2029, 1, 1), dt.date(2099, 1, 1), "1.0.0")
    assert versions_in_force("2028-12-31") == ["1.1.0"] and versions_in_force("2029-01-01") == ["1.0.0"]
    later = publish.withdraw("pub", "1.1.0", reason="postponed again", by="liaison", on=dt.date(2030, 1, 1))
    assert later.moved_from == dt.date(2029, 1, 1) and versions_in_force("2029-06-01") == ["1.1.0"]
    from engine.rules import withdrawals

    kept = withdrawals.history(root / "pub")
    assert [(w.on.isoformat(), w.reason) for w in kept] == [
        ("2099-01-01", "typed the year wrong"), ("2029-01-01", "the state delayed it to 2029"),
        ("2030-01-01", "postponed again")]
    with pytest.raises(ConflictError, match="already withdrawn from 2030-01-01"):  # the same day is no move
        publish.withdraw("pub", "1.1.0", reason="again", by="liaison", on=dt.date(2030, 1, 1))


def test_a_withdrawal_in_effect_is_not_moved(root: Path) -> None:
    publish.publish(draft("1.1.0"), name="d.yaml", effective_from=dt.date(2026, 7, 1))
    publish.withdraw("pub", "1.1.0", reason="r", by="liaison", on=dt.date(2026, 8, 1))
    with clock.frozen(dt.datetime(2026, 8, 1, 0, 0, tzinfo=dt.UTC)):
        before = files(root)
        with pytest.raises(ConflictError, match="a withdrawal in effect is not moved"):
            publish.withdraw("pub", "1.1.0", reason="later, please", by="liaison", on=dt.date(2026, 9, 1))
        assert files(root) == before


def test_a_move_that_would_leave_no_version_in_force_is_refused(root: Path) -> None:
    """Moving 1.0.0's withdrawal earlier than 1.1.0's start leaves days with no version."""
    publish.publish(draft("1.1.0"), name="d.yaml", effective_from=dt.date(2026, 9, 1))
    publish.withdraw("pub", "1.0.0", reason="replaced", by="liaison", on=dt.date(2026, 9, 1))
    before = files(root)
    with pytest.raises(ConflictError, match="would leave no pub ruleset in force"):
        publish.withdraw("pub", "1.0.0", reason="sooner", by="liaison", on=dt.date(2026, 8, 1))
    assert files(root) == before


def test_two_moves_of_one_withdrawal_at_once_leave_one_and_a_readable_file(
        root: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Both had read the file, both appended, and the second entry, recorded after the first had taken
    effect, made the file unreadable: every evaluation of the framework stopped."""
    import threading
    import time

    from engine.rules import withdrawals

    publish.publish(draft("1.1.0"), name="d.yaml", effective_from=dt.date(2026, 7, 1))
    publish.withdraw("pub", "1.1.0", reason="typo", by="liaison", on=dt.date(2099, 1, 1))
    plans = [publish.plan_withdrawal("pub", "1.1.0", reason=r, by="liaison", on=d)
             for r, d in (("today", dt.date(2026, 6, 1)), ("spring", dt.date(2027, 3, 1)))]
    real = withdrawals.append

    def slow_append(folder: Path, item: withdrawals.Withdrawal) -> None:
        time.sleep(0.2)  # the window in which the other writer had read the file too
        real(folder, item)

    monkeypatch.setattr(withdrawals, "append", slow_append)
    outcomes: list[str] = []

    def write(plan: publish.PlannedWithdrawal) -> None:
        try:
            publish.write_withdrawal(plan)
            outcomes.append("written")
        except ConflictError:
            outcomes.append("refused")

    threads = [threading.Thread(target=write, args=(plan,)) for plan in plans]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(outcomes) == ["refused", "written"]
    assert len(withdrawals.history(root / "pub")) == 2  # the first withdrawal and one move
    assert versions_in_force("2026-06-15") in (["1.0.0"], ["1.1.0"])  # readable


def test_two_withdrawals_that_together_leave_no_version_are_not_both_written(
        root: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Each alone leaves a version in force from 1 September; at once, each had been checked against
    the files before the other was written, and both were: no version of the framework from then."""
    import threading
    import time

    from engine.rules import withdrawals

    publish.publish(draft("1.1.0"), name="d.yaml", effective_from=dt.date(2026, 9, 1))
    real = withdrawals.append

    def slow_append(folder: Path, item: withdrawals.Withdrawal) -> None:
        time.sleep(0.2)
        real(folder, item)

    monkeypatch.setattr(withdrawals, "append", slow_append)
    outcomes: list[str] = []

    def withdraw(version: str) -> None:
        try:
            with clock.frozen(TODAY):
                publish.withdraw("pub", version, reason="r", by="liaison", on=dt.date(2026, 9, 1))
            outcomes.append("written")
        except ConflictError as exc:
            outcomes.append(exc.code or "")

    threads = [threading.Thread(target=withdraw, args=(v,)) for v in ("1.0.0", "1.1.0")]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(outcomes) == ["ruleset.withdraw.last", "written"]
    assert len(versions_in_force("2026-09-01")) == 1


def test_a_withdrawal_before_a_versions_first_day_moves_until_that_day(root: Path) -> None:
    """Withdrawn from today before its first day, a scheduled version has judged nothing yet."""
    publish.publish(draft("1.1.0"), name="d.yaml", effective_from=dt.date(2026, 7, 1))
    publish.withdraw("pub", "1.1.0", reason="not yet", by="liaison")  # from today, 2026-06-01
    moved = publish.withdraw("pub", "1.1.0", reason="after all, from August", by="liaison", on=dt.date(2026, 8, 1))
    assert moved.moved_from == dt.date(2026, 6, 1)
    assert versions_in_force("2026-07-15") == ["1.1.0"] and versions_in_force("2026-08-01") == ["1.0.0"]


def test_a_withdrawal_recorded_without_an_offset_reads_as_utc(root: Path) -> None:
    from engine.rules import withdrawals

    (root / "pub" / "withdrawals.yaml").write_text(
        "withdrawals:\n"
        "- {version: 1.0.0, 'on': 2026-09-01, reason: a, by: l, at: '2026-06-01T00:00:00'}\n"
        "- {version: 1.0.0, 'on': 2026-08-01, reason: b, by: l, at: '2026-06-02T00:00:00Z'}\n")
    assert withdrawals.read(root / "pub")["1.0.0"].on == dt.date(2026, 8, 1)


def test_the_withdrawals_file_is_not_a_ruleset(root: Path) -> None:
    publish.publish(draft("1.1.0"), name="d.yaml", effective_from=dt.date(2026, 7, 1))
    publish.withdraw("pub", "1.1.0", reason="r", by="liaison")
    from engine.rules.validate import validate_paths

    assert sorted(Path(i.path).name for i in load_all(rulesets_dir())) == ["pub-1.0.0.yaml", "pub-1.1.0.yaml"]
    report = validate_paths([root / "pub"])
    assert report.ok, report.problems
    assert sorted(Path(p).name for p in report.files) == ["pub-1.0.0.yaml", "pub-1.1.0.yaml"]


# -- practice parameters ---------------------------------------------------------------------------


def test_a_parameter_changes_from_a_day_on_and_earlier_days_keep_their_value(root: Path, tmp_path: Path) -> None:
    path = tmp_path / "practice.yaml"
    path.write_text("# our practice\nparams:\n  pub: {}\n", encoding="utf-8")
    change = tuning.set_param("pub", "train_days", 14, approved_by="CO", reason="stricter",
                              effective_from=dt.date(2026, 6, 10))
    assert (change.before, change.value, change.effective_from) == (30, 14, dt.date(2026, 6, 10))
    raw = load_practice_params(path)
    assert params_in_force(raw, "pub", dt.date(2026, 6, 9), "p") == {}
    assert params_in_force(raw, "pub", dt.date(2026, 6, 10), "p") == {"train_days": 14}
    assert path.read_text(encoding="utf-8").startswith("# our practice\n")
    tuning.set_param("pub", "train_days", 7, approved_by="CO", reason="stricter still",
                     effective_from=dt.date(2026, 7, 1))
    rows = {r.name: r for r in tuning.params_table(dt.date(2026, 6, 20))}
    row = rows["train_days"]
    assert (row.value, row.source, row.since, row.approved_by) == (14, "practice", dt.date(2026, 6, 10), "CO")
    assert [(s.value, s.starts) for s in row.scheduled] == [(7, dt.date(2026, 7, 1))]
    assert tuning.params_table()[0].source == "default"  # today, 1 June


def test_a_plain_value_is_kept_for_the_days_before_the_change(root: Path, tmp_path: Path) -> None:
    path = tmp_path / "practice.yaml"
    path.write_text("params:\n  pub:\n    train_days: 20\n", encoding="utf-8")
    tuning.set_param("pub", "train_days", 10, approved_by="CO", reason="r", effective_from=dt.date(2026, 6, 5))
    raw = load_practice_params(path)
    assert params_in_force(raw, "pub", dt.date(2026, 6, 4), "p") == {"train_days": 20}
    assert params_in_force(raw, "pub", dt.date(2026, 6, 5), "p") == {"train_days": 10}


@pytest.mark.parametrize("framework, name, value, kwargs, error, text", [
    ("pub", "train_days", "ten", {}, InputError, "'ten' is not a whole number"),
    ("pub", "train_days", True, {}, InputError, "true is not a whole number"),
    ("pub", "train_days", -3, {}, InputError, "-3 is below the smallest value allowed, 0 .days."),
    ("pub", "train_dayz", 10, {}, NotFoundError, "declares no parameter 'train_dayz'"),
    ("nope", "train_days", 10, {}, NotFoundError, "no ruleset for framework 'nope'"),
    ("pub", "train_days", 10, {"effective_from": dt.date(2026, 5, 1)}, InputError, "before today"),
    ("pub", "train_days", 10, {"approved_by": " "}, InputError, "approved_by is required"),
])
def test_a_bad_parameter_change_is_refused_and_writes_nothing(root: Path, tmp_path: Path, framework: str, name: str,
                                                             value: object, kwargs: dict[str, object],
                                                             error: type[Exception], text: str) -> None:
    path = tmp_path / "practice.yaml"
    path.write_text("params:\n  pub: {}\n", encoding="utf-8")
    args: dict[str, object] = {"approved_by": "CO", "reason": "r"} | kwargs
    with pytest.raises(error, match=text):
        tuning.set_param(framework, name, value, **args)  # type: ignore[arg-type]
    assert path.read_text(encoding="utf-8") == "params:\n  pub: {}\n"


def test_a_parameter_declares_its_range_and_a_default_outside_it_is_refused(root: Path) -> None:
    text = draft("1.1.0").replace(
        b"train_days: {type: int, unit: days, default: 30, description: Days to train a new hire}",
        b"train_days: {type: int, unit: days, default: 30, minimum: 1, maximum: 20, description: Days to train}")
    with pytest.raises(RulesetError, match="30 is above the largest value allowed, 20"):
        publish.publish(text, name="d.yaml", effective_from=dt.date(2026, 7, 1))


def test_a_second_change_from_the_same_day_corrects_the_first_and_says_so(root: Path, tmp_path: Path) -> None:
    """Probe 16: a second PUT for the same day silently replaced the scheduled entry."""
    path = tmp_path / "practice.yaml"
    path.write_text("params:\n  pub: {}\n", encoding="utf-8")
    first = tuning.set_param("pub", "train_days", 10, approved_by="CO", reason="r", effective_from=dt.date(2026, 6, 5))
    assert first.replaces is None
    second = tuning.set_param("pub", "train_days", 12, approved_by="CMO", reason="typo",
                              effective_from=dt.date(2026, 6, 5))
    assert second.replaces is not None and (second.replaces["value"], second.replaces["approved_by"]) == (10, "CO")
    assert params_in_force(load_practice_params(path), "pub", dt.date(2026, 6, 5), "p") == {"train_days": 12}


def test_a_rollback_that_would_leave_a_practice_value_no_version_takes_is_refused(root: Path, tmp_path: Path) -> None:
    """Session 46's liaison pass: 1.1.0 declares a parameter, the practice set it from 1.1.0's first
    day, and a rollback of 1.1.0 was accepted; every evaluation from then on was refused ("unknown
    parameter") while `rules validate` said 0 problems."""
    from engine.rules.validate import validate_paths

    declared = draft("1.1.0").replace(
        b"  train_days: {type: int",
        b"  onboard_days: {type: int, default: 14, description: d}\n  train_days: {type: int")
    publish.publish(declared, name="d.yaml", effective_from=dt.date(2026, 7, 1))
    tuning.set_param("pub", "onboard_days", 21, approved_by="CO", reason="policy", effective_from=dt.date(2026, 7, 1))
    before = files(root)
    with pytest.raises(ConflictError) as refused:
        publish.withdraw("pub", "1.1.0", reason="miscounts", by="liaison", on=dt.date(2026, 7, 15))
    assert refused.value.code == "ruleset.withdraw.params"
    (detail,) = refused.value.details
    assert "onboard_days" in detail.reason and "from 2026-07-15, when pub 1.0.0 is in force" in detail.reason
    assert files(root) == before  # nothing withdrawn
    # ended before the withdrawal day, the value no longer stands in the way
    path = tmp_path / "practice.yaml"
    ended = "params:\n  pub:\n    onboard_days:\n    - {value: 21, from: 2026-07-01, to: 2026-07-15, approved_by: CO}\n"
    path.write_text(ended, encoding="utf-8")
    assert validate_paths([root]).problems == []
    publish.withdraw("pub", "1.1.0", reason="miscounts", by="liaison", on=dt.date(2026, 7, 15))
    # a value written by hand after the withdrawal is what validate names, with the day and version
    path.write_text(ended.replace(", to: 2026-07-15", ""), encoding="utf-8")
    (problem,) = validate_paths([root]).problems
    assert "onboard_days" in problem.reason and "from 2026-07-15, when pub 1.0.0 is in force" in problem.reason


def test_a_rollback_that_brings_a_practice_values_refusal_sooner_is_refused(root: Path, tmp_path: Path) -> None:
    """Session 46's adversarial pass: a value 2.0.0 would refuse from 2027 was a problem "either
    way", so withdrawing 1.1.0 (which took it) from August was accepted, and the version put back
    refused every evaluation from August."""
    declared = draft("1.1.0").replace(
        b"  train_days: {type: int",
        b"  onboard_days: {type: int, default: 14, description: d}\n  train_days: {type: int")
    publish.publish(declared, name="d.yaml", effective_from=dt.date(2026, 7, 1))
    publish.publish(draft("2.0.0"), name="e.yaml", effective_from=dt.date(2027, 1, 1))
    (tmp_path / "practice.yaml").write_text(
        "params:\n  pub:\n    onboard_days:\n    - {value: 21, from: 2026-07-01, approved_by: CO}\n", encoding="utf-8")
    with pytest.raises(ConflictError) as refused:
        publish.withdraw("pub", "1.1.0", reason="miscounts", by="liaison", on=dt.date(2026, 8, 1))
    (detail,) = refused.value.details
    assert "onboard_days" in detail.reason and "from 2026-08-01, when pub 1.0.0 is in force" in detail.reason


def test_a_version_withdrawn_from_its_first_day_is_not_held_to_the_practices_values(root: Path,
                                                                                    tmp_path: Path) -> None:
    """Session 46's adversarial pass: 1.1.0 narrowed train_days to at most 20 and was withdrawn
    before its first day; the practice then set 25, which 1.0.0 (in force for good) takes, and
    `rules validate` named the value against 1.1.0, a version that never takes effect."""
    from engine.rules.validate import validate_paths

    narrowed = draft("1.1.0").replace(b"train_days: {type: int, unit: days, default: 30,",
                                      b"train_days: {type: int, unit: days, default: 15, maximum: 20,")
    publish.publish(narrowed, name="d.yaml", effective_from=dt.date(2026, 7, 1))
    publish.withdraw("pub", "1.1.0", reason="too narrow", by="liaison", on=dt.date(2026, 7, 1))
    (tmp_path / "practice.yaml").write_text("params:\n  pub:\n    train_days: 25\n", encoding="utf-8")
    assert validate_paths([root]).problems == []
    # its own mistakes are still its own: a message reading a field the record lacks is named
    (published,) = (p for p in (root / "pub").glob("*.yaml") if b"\nversion: 1.1.0" in p.read_bytes())
    published.write_bytes(published.read_bytes().replace(b"Train {{ episode.person_id }}",
                                                          b"Train {{ episode.middle_name }}"))
    reasons = [d.reason for d in validate_paths([root]).problems]
    assert any("middle_name" in r for r in reasons) and not any("train_days" in r for r in reasons), reasons


def test_a_practice_value_a_version_refuses_does_not_hide_the_rulesets_own_mistakes(root: Path,
                                                                                     tmp_path: Path) -> None:
    from engine.rules.validate import validate_paths

    (tmp_path / "practice.yaml").write_text("params:\n  pub:\n    no_such_param: 3\n", encoding="utf-8")
    bad = tmp_path / "bad.yaml"
    bad.write_bytes(draft("1.1.0", message="Train {{ episode.middle_name }}."))
    reasons = [d.reason for d in validate_paths([bad]).problems]
    assert any("no_such_param" in r for r in reasons), reasons
    assert any("has no field 'middle_name'" in r for r in reasons), reasons


def test_a_refused_version_number_heads_the_refusal_when_a_scenario_also_fails(
        root: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Session 46's liaison pass: a version below the highest, whose draft could not run a scenario
    (its params), was refused under "tests/x.yaml: invalid practice parameters", the version number
    only in the details."""
    from engine.errors import ErrorDetail, RulesetValidationError

    def cannot_run(*_: object, **__: object) -> list[object]:
        raise RulesetValidationError("pub/tests/train.yaml: invalid practice parameters", [ErrorDetail(
            reason="unknown parameter 'onboard_days' for ruleset pub", file="pub/tests/train.yaml")],
            code="ruleset.params.invalid")

    monkeypatch.setattr(publish, "run_scenario", cannot_run)
    with pytest.raises(InputError) as refused:
        publish.publish(draft("0.9.0"), name="d.yaml", effective_from=dt.date(2026, 7, 1))
    assert refused.value.code == "ruleset.publish.refused" and "cannot publish pub 0.9.0" in refused.value.message
    reasons = [d.reason for d in refused.value.details]
    assert reasons[0].startswith("version 0.9.0 is not above pub 1.0.0") and "onboard_days" in reasons[1], reasons
    with pytest.raises(RulesetValidationError) as alone:  # the scenario's problem alone keeps its own words
        publish.publish(draft("1.1.0"), name="d.yaml", effective_from=dt.date(2026, 7, 1))
    assert alone.value.code == "ruleset.params.invalid"


def test_a_parameter_set_too_early_or_misspelt_is_told_what_to_type(root: Path) -> None:
    """Session 46's liaison pass: a misspelt name listed all forty names, with no "did you mean", and
    a parameter only a scheduled version declares, set for today, said "1.0.0 does not compile with
    the new value" rather than the day it can be set from."""
    with pytest.raises(NotFoundError) as misspelt:
        tuning.set_param("pub", "train_dayz", 10, approved_by="CO", reason="r")
    assert misspelt.value.details[0].reason.startswith("did you mean train_days?")
    declared = draft("1.1.0").replace(
        b"  train_days: {type: int",
        b"  onboard_days: {type: int, default: 14, description: d}\n  train_days: {type: int")
    publish.publish(declared, name="d.yaml", effective_from=dt.date(2026, 7, 1))
    with pytest.raises(InputError) as early:
        tuning.set_param("pub", "onboard_days", 21, approved_by="CO", reason="r")
    assert early.value.code == "params.not_yet"
    assert "can be set from 2026-07-01, when pub 1.1.0 declares it" in early.value.message
    assert "--from 2026-07-01" in early.value.details[0].reason
    assert tuning.set_param("pub", "onboard_days", 21, approved_by="CO", reason="r",
                            effective_from=dt.date(2026, 7, 1)).value == 21


def test_the_days_a_version_is_in_force_are_said_when_its_window_does_not_say_them(root: Path) -> None:
    """Session 46's liaison pass: after 1.1.0 was withdrawn from 2026-07-15, 1.0.0 still read
    "2026-01-01 - 2026-07-01 (then 1.1.0)", though it is in force again from the 15th."""
    publish.publish(draft("1.1.0"), name="d.yaml", effective_from=dt.date(2026, 7, 1))
    listed = {v.version: v for v in versions.list_versions()}
    assert listed["1.0.0"].in_force_days is None and listed["1.1.0"].in_force_days is None  # the window says it
    publish.withdraw("pub", "1.1.0", reason="miscounts", by="liaison", on=dt.date(2026, 7, 15))
    listed = {v.version: v for v in versions.list_versions()}
    assert listed["1.0.0"].in_force_days == "2026-01-01 to 2026-06-30, again from 2026-07-15"
    assert listed["1.1.0"].in_force_days is None  # 2026-07-01 to the withdrawal: its window, as withdrawn
    publish.publish(draft("1.2.0"), name="d.yaml", effective_from=dt.date(2026, 8, 1))
    publish.withdraw("pub", "1.2.0", reason="not needed", by="liaison", on=dt.date(2026, 7, 20))
    assert {v.version: v for v in versions.list_versions()}["1.2.0"].in_force_days == (
        "never: withdrawn before its first day")


def test_a_parameters_change_between_versions_reads_as_words() -> None:
    """Session 46's liaison pass: an added parameter printed as JSON (`"minimum": null, ...`) in
    `rules diff`, and as "default null -> 14" on the diff page."""
    added = {"type": "int", "unit": "days", "default": 14, "description": "d", "minimum": None}
    assert versions.param_change_text(None, added) == "added: int, default 14 days"
    assert versions.param_change_text(added, None) == "removed (was: int, default 14 days)"
    assert versions.param_change_text(added, {**added, "default": 10}) == "default 14 -> 10"
    assert versions.param_change_text({"type": "string", "default": ""}, {"type": "string", "default": "x"}) == (
        "default '' -> 'x'")
