"""The liaison's preview: which findings a draft ruleset would open and close on today's records,
against the findings store, with nothing stored (PRODUCT: "see the impact of a draft on today's
records before publishing")."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import pytest
from sqlalchemy import Engine, func, select
from typer.testing import CliRunner

from engine import clock, pipeline
from engine import db as dbmod
from engine.cli.main import app
from engine.db import unit_of_work
from engine.errors import RulesetError
from engine.findings.tables import EvaluationRunRow, FindingRow
from tests import factories as f

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "rulesets"
DEMO = (FIXTURES / "demo" / "demo-1.0.0.yaml").read_text()
T = dt.datetime.fromisoformat
ORG = "clinic-a"
NOW = T("2026-03-05T18:00:00+00:00")


@pytest.fixture(autouse=True)
def _rulesets(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("VIGIL_RULESETS_DIR", str(FIXTURES))
    monkeypatch.setenv("VIGIL_POLICIES_DIR", str(FIXTURES.parent / "policies"))  # SOP-DEMO's template


def _draft(days: int) -> bytes:
    """1.1.0 with the window in the rule itself: a new default would judge only the obligations that
    arise once the draft is in force (the last test), a rule's own window every one."""
    text = DEMO.replace("version: 1.0.0", "version: 1.1.0").replace("within: {days: params.new_hire_days}",
                                                                    f"within: {{days: {days}}}")
    assert text != DEMO
    return text.encode()


def _practice(engine: Engine) -> None:
    """EP1 started 1 Feb (overdue on 5 March under the 30 days of 1.0.0), EP2 on 1 March."""
    with clock.frozen(NOW), unit_of_work(engine) as s:
        pipeline.ingest_records(s, org_id=ORG, records=[
            f.establishment(), f.episode("EP1", "P1", "2026-02-01T09:00:00-06:00"),
            f.episode("EP2", "P2", "2026-03-01T09:00:00-06:00")], actor="test", source="test", stream=False)
        pipeline.evaluate(s, org_id=ORG, as_of=NOW, actor="test")


def _counts(engine: Engine) -> tuple[int, int]:
    with unit_of_work(engine) as s:
        return (s.scalar(select(func.count()).select_from(FindingRow)) or 0,
                s.scalar(select(func.count()).select_from(EvaluationRunRow)) or 0)


def test_a_shorter_window_would_open_a_finding_and_nothing_is_stored(engine: Engine) -> None:
    _practice(engine)
    before = _counts(engine)
    with clock.frozen(NOW), unit_of_work(engine) as s:
        impact = pipeline.preview_draft(s, org_id=ORG, draft=_draft(10), name="draft.yaml")
    assert (impact.framework, impact.version, impact.in_force_now) == ("demo", "1.1.0", ["1.0.0"])
    # 10 days from 1 March: due 11 March, inside the 7-day warning on 5 March
    assert [(i.rule_id, i.subject_id, i.status, i.due) for i in impact.would_open] == [
        ("DEMO-TRN-001", "EP2", "due_soon", "2026-03-11")]
    assert impact.would_close == [] and impact.unchanged == 0
    # EP1 is overdue either way, but due earlier: a change, not "unchanged" (probe 16 #12)
    assert [(i.subject_id, i.status, i.changes) for i in impact.would_change] == [
        ("EP1", "overdue", ["due 2026-03-03 -> 2026-02-11", "message"])]
    with clock.frozen(NOW), unit_of_work(engine) as s:
        same = pipeline.preview_draft(s, org_id=ORG, draft=_draft(30), name="draft.yaml")
    assert (same.would_change, same.unchanged) == ([], 1)
    assert _counts(engine) == before


def test_a_longer_window_would_close_the_finding_it_no_longer_raises(engine: Engine) -> None:
    _practice(engine)
    with clock.frozen(NOW), unit_of_work(engine) as s:
        impact = pipeline.preview_draft(s, org_id=ORG, draft=_draft(60), name="draft.yaml")
        stored = s.scalars(select(FindingRow.id).where(FindingRow.subject_id == "EP1")).one()
    assert impact.would_open == [] and impact.unchanged == 0
    assert [(i.subject_id, i.finding_id, i.status) for i in impact.would_close] == [("EP1", stored, "overdue")]


def test_a_draft_that_does_not_validate_is_refused_with_its_problems(engine: Engine) -> None:
    _practice(engine)
    bad = DEMO.replace("Training for {{ episode.person_id }}", "Training for {{ episode.__class__ }}").encode()
    with clock.frozen(NOW), unit_of_work(engine) as s, pytest.raises(RulesetError) as err:
        pipeline.preview_draft(s, org_id=ORG, draft=bad, name="draft.yaml")
    assert "DEMO-TRN-001" in str(err.value)


def test_the_cli_previews_a_draft(tmp_path: Path) -> None:
    """The face is thin; the service is tested on both databases above."""
    engine = dbmod.make_engine(f"sqlite:///{tmp_path / 'v.db'}")
    dbmod.init_db(engine)
    _practice(engine)
    draft = tmp_path / "demo-1.1.0.yaml"
    draft.write_bytes(_draft(10))
    with clock.frozen(NOW):
        result = CliRunner().invoke(app, ["rules", "preview", str(draft), "--db", str(engine.url), "--org", ORG,
                                          "--json"])
    assert result.exit_code == 0, result.output
    assert [i["subject_id"] for i in json.loads(result.stdout)["would_open"]] == ["EP2"]
    with clock.frozen(NOW):
        table = CliRunner().invoke(app, ["rules", "preview", str(draft), "--db", str(engine.url), "--org", ORG])
    assert table.exit_code == 0 and "would change: 1" in table.stdout and "due 2026-03-03 -> 2026-02-11" in table.stdout
    said = " ".join(table.stdout.split())
    assert "the draft's own effect, against 1.0.0 at the same instant" in said
    assert "1 would open, 0 would close, 1 would change" in said and "opens DEMO-TRN-001 employment_episode/EP2" in said
    missing = CliRunner().invoke(app, ["rules", "preview", str(tmp_path / "nope.yaml"), "--db", str(engine.url),
                                       "--org", ORG])
    assert missing.exit_code == 2 and "DRAFT: cannot read" in missing.output


def test_a_finding_marked_false_positive_is_not_one_the_draft_would_open(engine: Engine) -> None:
    """An evaluation keeps a false positive as it is when raised again; the preview had listed it as
    opening (probe 25)."""
    from engine.findings import lifecycle

    _practice(engine)
    with clock.frozen(NOW), unit_of_work(engine) as s:
        ep1 = s.scalars(select(FindingRow.id).where(FindingRow.subject_id == "EP1")).one()
        lifecycle.transition(s, org_id=ORG, finding_id=ep1, action="false_positive", actor="officer",
                             reason="P1 trained elsewhere; the record is in the LMS import backlog")
    with clock.frozen(NOW), unit_of_work(engine) as s:
        impact = pipeline.preview_draft(s, org_id=ORG, draft=_draft(30), name="draft.yaml")
    assert (impact.would_open, impact.would_close, impact.would_change, impact.unchanged) == ([], [], [], 1)


def test_a_later_instant_tells_the_drafts_own_effect_from_time_passing(engine: Engine) -> None:
    """The liaison probe: previewed at its effective day, a draft identical to the version in force
    "would open 16" (deadlines passed since the store's last run); its own effect is nothing."""
    _practice(engine)
    later = T("2026-04-20T18:00:00+00:00")  # EP2's 30 days ran out on 31 March
    with clock.frozen(NOW), unit_of_work(engine) as s:
        same = pipeline.preview_draft(s, org_id=ORG, draft=_draft(30), name="draft.yaml", as_of=later)
        shorter = pipeline.preview_draft(s, org_id=ORG, draft=_draft(10), name="draft.yaml", as_of=later)
    assert [(i.subject_id, i.status) for i in same.would_open] == [("EP2", "overdue")]  # the store's view: time
    assert same.draft_effect is not None and same.draft_effect.against == ["1.0.0"]
    assert (same.draft_effect.opens, same.draft_effect.closes, same.draft_effect.changes) == ([], [], [])
    assert shorter.draft_effect is not None and shorter.draft_effect.opens == shorter.draft_effect.closes == []
    # both overdue either way; 10 days instead of 30 moves each due date 20 days earlier
    assert [(i.subject_id, i.changes[0]) for i in shorter.draft_effect.changes] == [
        ("EP1", "due 2026-03-03 -> 2026-02-11"), ("EP2", "due 2026-03-31 -> 2026-03-11")]


def test_a_changed_default_judges_only_the_obligations_that_arise_once_the_draft_is_in_force(
        engine: Engine) -> None:
    """Session 46's liaison pass: a draft changing a default from its first day was previewed as
    moving the deadlines of obligations that arose long before (14 changes), where the published
    version keeps the value in force on the day each arose. And with no instant given, the preview
    judges the draft's first day, as the draft page does, not today."""
    _practice(engine)
    with clock.frozen(NOW), unit_of_work(engine) as s:
        pipeline.ingest_records(s, org_id=ORG, records=[f.episode("EP3", "P3", "2026-04-05T09:00:00-05:00")],
                                actor="test", source="test", stream=False)
    draft = DEMO.replace("version: 1.0.0", "version: 1.1.0").replace("default: 30,", "default: 10,").replace(
        "effective_from: 2026-01-01", "effective_from: 2026-04-01").encode()
    with clock.frozen(NOW), unit_of_work(engine) as s:
        first_day = pipeline.preview_draft(s, org_id=ORG, draft=draft, name="draft.yaml")
        later = pipeline.preview_draft(s, org_id=ORG, draft=draft, name="draft.yaml",
                                       as_of=T("2026-04-20T18:00:00+00:00"))
    assert first_day.as_of == T("2026-04-01T00:00:00+00:00")
    effect = later.draft_effect
    assert effect is not None and effect.closes == []
    # EP1 (1 Feb) and EP2 (1 Mar) keep their 30 days; EP3 (5 April) has the draft's 10: due 15 April
    moved = {i.subject_id: i for i in [*effect.opens, *effect.changes]}
    assert set(moved) == {"EP3"}, moved
    assert moved["EP3"].due == "2026-04-15"


def test_a_draft_dated_before_publishing_could_date_it_is_previewed_from_the_first_day_it_could_take(
        engine: Engine, tmp_path: Path) -> None:
    """Session 46's adversarial pass: a copy of the version in force, dated January, with a new
    default was previewed as if its default had applied since January (publishing refuses that
    date, so no evaluation could ever judge so). It is previewed from the first day publishing takes
    (the day after the last run), and the preview says so."""
    _practice(engine)  # a run as of 5 March: the first day a version can take effect is 6 March
    dated_january = DEMO.replace("version: 1.0.0", "version: 1.1.0").replace("default: 30,", "default: 10,").encode()
    with clock.frozen(NOW), unit_of_work(engine) as s:
        impact = pipeline.preview_draft(s, org_id=ORG, draft=dated_january, name="draft.yaml")
        chosen = pipeline.preview_draft(s, org_id=ORG, draft=dated_january, name="draft.yaml",
                                        effective_from=dt.date(2026, 4, 1))
    assert impact.takes_effect == dt.date(2026, 3, 6) and impact.as_of == T("2026-03-06T00:00:00+00:00")
    assert impact.notes == ["effective_from 2026-01-01 is before 2026-03-06, the first day a version can take "
                            "effect (publishing refuses it): previewed as taking effect from 2026-03-06"]
    # EP1 and EP2 arose before 6 March: the new default is not theirs
    assert impact.would_change == [] and impact.draft_effect is not None and impact.draft_effect.changes == []
    assert (chosen.takes_effect, chosen.notes, chosen.as_of) == (dt.date(2026, 4, 1), [],
                                                                 T("2026-04-01T00:00:00+00:00"))
    if engine.dialect.name == "sqlite":
        draft = tmp_path / "demo-1.1.0.yaml"
        draft.write_bytes(dated_january)
        with clock.frozen(NOW):
            said = CliRunner().invoke(app, ["rules", "preview", str(draft), "--db", str(engine.url), "--org", ORG])
        assert said.exit_code == 0 and "note: effective_from 2026-01-01 is before 2026-03-06" in " ".join(
            said.stdout.split()), said.output
