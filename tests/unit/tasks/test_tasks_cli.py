"""`vigil tasks list|show|complete|attach|note|sops` and `vigil scheduler run --once` through Typer's runner."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import pytest
from typer.testing import CliRunner, Result

import engine.cli.scheduler  # noqa: F401  (registers the commands)
import engine.cli.tasks  # noqa: F401
from engine import clock, pipeline
from engine import db as dbmod
from engine.cli.app import app
from tests import factories as f

FIXTURES = Path(__file__).resolve().parents[2] / "fixtures"
ORG = "clinic-cli"
AT = dt.datetime(2026, 3, 5, 12, tzinfo=dt.UTC)


@pytest.fixture
def db_url(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> str:
    monkeypatch.setenv("VIGIL_RULESETS_DIR", str(FIXTURES / "rulesets"))
    monkeypatch.setenv("VIGIL_POLICIES_DIR", str(FIXTURES / "policies"))
    monkeypatch.setenv("VIGIL_EVIDENCE_DIR", str(tmp_path / "evidence"))
    monkeypatch.setenv("VIGIL_ORG", ORG)
    url = f"sqlite:///{tmp_path / 'cli.db'}"
    engine = dbmod.make_engine(url)
    dbmod.init_db(engine)
    with dbmod.unit_of_work(engine) as s:
        pipeline.ingest_records(s, org_id=ORG, records=[f.establishment(), f.episode("EP1", "P1",
                                "2026-02-01T09:00:00-06:00")], actor="t", source="t", stream=False)
    engine.dispose()
    return url


def vigil(*args: str, at: dt.datetime = AT) -> Result:
    with clock.frozen(at):
        return CliRunner(env={"COLUMNS": "250"}).invoke(app, list(args))


def test_scheduler_once_then_tasks_list_show_attach_complete(db_url: str, tmp_path: Path) -> None:
    first = vigil("scheduler", "run", "--once", "--db", db_url, "--only", "sweep,recurrence,escalation")
    assert first.exit_code == 0, first.output
    events = [json.loads(x) for x in first.output.splitlines()]
    assert [e["event"] for e in events] == ["leader", "job", "job", "job"]
    assert events[1]["summary"]["tasks"]["created"] == 1
    again = vigil("scheduler", "run", "--once", "--db", db_url, "--only", "sweep")
    assert json.loads(again.output.splitlines()[1])["reason"] == "done"

    listed = vigil("tasks", "list", "--db", db_url, "--json")
    page = json.loads(listed.output)
    assert page["total"] == 1
    task = page["items"][0]
    assert {k: task[k] for k in ("owner", "due", "state")} == {"owner": "P-HR1", "due": "2026-03-03", "state": "open"}
    assert task["finding_id"] and task["title"] == "Train the new hire on episode EP1"
    assert "Train the new hire" in vigil("tasks", "list", "--db", db_url, "--overdue").output

    evidence = tmp_path / "cert.txt"
    evidence.write_text("certificate of completion\n")
    attached = vigil("tasks", "attach", task["id"], str(evidence), "--db", db_url, "--json", "--actor", "hr1")
    assert attached.exit_code == 0, attached.output
    assert json.loads(attached.output)["media_type"] == "text/plain"
    assert vigil("tasks", "note", task["id"], "called HR", "--db", db_url).exit_code == 0
    done = vigil("tasks", "complete", task["id"], "--db", db_url, "--note", "trained")
    assert done.exit_code == 0 and "done" in done.output
    twice = vigil("tasks", "complete", task["id"], "--db", db_url)
    assert twice.exit_code == 1 and "conflict.task_transition" in twice.output

    shown = json.loads(vigil("tasks", "show", task["id"], "--db", db_url, "--json").output)
    assert shown["state"] == "done" and [n["text"] for n in shown["notes"]] == ["called HR", "trained"]
    assert shown["attachments"][0]["attached_by"] == "hr1" and shown["escalations"][0]["target"] == "owner"
    text = vigil("tasks", "show", task["id"], "--db", db_url).output
    assert "[ ] 1. Book the training" in text and "evidence cert.txt text/plain" in text
    missing = vigil("tasks", "show", "T-nope", "--db", db_url)
    assert missing.exit_code == 2 and "not_found.task" in missing.output  # an unknown id is bad input


def test_sops_lists_the_templates_and_rejects_unknown_jobs(db_url: str) -> None:
    out = vigil("tasks", "sops", "--json")
    assert out.exit_code == 0 and "SOP-MONTHLY-CHECK" in [s["id"] for s in json.loads(out.output)]
    bad = vigil("scheduler", "run", "--once", "--db", db_url, "--only", "sweep,nope")
    assert bad.exit_code == 2 and "unknown jobs: nope" in bad.output
