"""`vigil tasks list|show|check|complete|attach|note|sops` and `vigil scheduler run --once` through Typer's runner."""

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
from engine.auth import service as auth
from engine.auth.schemas import UserIn
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
    lines = [json.loads(x) for x in first.output.splitlines()]
    # the fixture policies' role holders are people this practice's records do not know: the sweep
    # names each on a warning line of its own (engine.tasks.holders)
    warned = [e for e in lines if e["event"] == "warning"]
    assert warned and all(e["job"] == "sweep" and "roles.yaml" in e["warning"] for e in warned)
    events = [e for e in lines if e["event"] != "warning"]
    assert [e["event"] for e in events] == ["leader", "job", "job", "job"]
    assert events[1]["summary"]["tasks"]["created"] == 1
    again = vigil("scheduler", "run", "--once", "--db", db_url, "--only", "sweep", "--json")
    assert again.exit_code == 0, again.output  # --json is taken, as by every command that shows data
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
    assert vigil("tasks", "attach", task["id"], str(evidence), "--db", db_url, "--actor", "hr1").exit_code == 2
    attached = vigil("tasks", "attach", task["id"], str(evidence), "--db", db_url, "--json", "--actor", "cli:hr1")
    assert attached.exit_code == 0, attached.output
    assert json.loads(attached.output)["media_type"] == "text/plain"
    assert vigil("tasks", "note", task["id"], "called HR", "--db", db_url).exit_code == 0
    done = vigil("tasks", "complete", task["id"], "--db", db_url, "--note", "trained")
    assert done.exit_code == 0 and "done" in done.output
    steps = len(json.loads(vigil("tasks", "show", task["id"], "--db", db_url, "--json").output)["checklist"])
    # nothing was ticked: the line says so, as the completion's history does
    assert f"of {steps} checklist steps not ticked: {', '.join(str(n) for n in range(1, steps + 1))})" in \
        " ".join(done.output.split()), done.output
    twice = vigil("tasks", "complete", task["id"], "--db", db_url)
    assert twice.exit_code == 1 and "conflict.task_transition" in twice.output

    shown = json.loads(vigil("tasks", "show", task["id"], "--db", db_url, "--json").output)
    assert shown["state"] == "done" and [n["text"] for n in shown["notes"]] == ["called HR", "trained"]
    # a list item is the summary: no empty notes, evidence, escalations or history standing for "none"
    (item,) = json.loads(vigil("tasks", "list", "--state", "done", "--db", db_url, "--json").output)["items"]
    assert item["id"] == task["id"] and not {"notes", "attachments", "escalations", "history"} & set(item)
    assert shown["history"] and shown["attachments"]
    # hr1 is no user here: a name that is nobody is refused (session 42), a cli: label is kept
    assert shown["attachments"][0]["attached_by"] == "cli:hr1" and shown["escalations"][0]["target"] == "owner"
    text = vigil("tasks", "show", task["id"], "--db", db_url).output
    assert "[ ] 1. Book the training" in text and "evidence cert.txt text/plain" in text
    # the local day and when it ends there, as the task page says it (a task-assignee pass, session 42)
    assert "due 2026-03-03 (late from 2026-03-04 00:00 CST)" in " ".join(text.split())
    assert "+00:00" not in text and " UTC " in text  # history and notes as the page says them, not ISO to the µs
    missing = vigil("tasks", "show", "T-nope", "--db", db_url)
    assert missing.exit_code == 2 and "not_found.task" in missing.output  # an unknown id is bad input


def test_sops_lists_the_templates_and_rejects_unknown_jobs(db_url: str) -> None:
    out = vigil("tasks", "sops", "--json")
    assert out.exit_code == 0 and "SOP-MONTHLY-CHECK" in [s["id"] for s in json.loads(out.output)]
    bad = vigil("scheduler", "run", "--once", "--db", db_url, "--only", "sweep,nope")
    assert bad.exit_code == 2 and "unknown jobs: nope" in bad.output
    for empty in ("", " , "):  # session 48: a script's empty $JOBS had run every job, the sweep included
        none = vigil("scheduler", "run", "--once", "--db", db_url, "--only", empty)
        assert none.exit_code == 2 and "--only names no job" in none.output, none.output


def _one_task_owned_by_hr1(db_url: str) -> str:
    """The sweep opens one task, owned by person P-HR1; user hr1 stands for that person."""
    assert vigil("scheduler", "run", "--once", "--db", db_url, "--only", "sweep").exit_code == 0
    engine = dbmod.make_engine(db_url)
    with dbmod.unit_of_work(engine) as s:
        auth.create_user(s, org_id=ORG, actor="t", data=UserIn(username="hr1", password="hr1-password!",
                                                              role="staff", person_id="P-HR1"))
    engine.dispose()
    return str(json.loads(vigil("tasks", "list", "--db", db_url, "--json").output)["items"][0]["id"])


def test_list_owner_takes_a_username_or_a_person_id(db_url: str) -> None:
    """Probe: `tasks list --owner staff` said total 0 although staff (person P-0001) owned 18 tasks."""
    task_id = _one_task_owned_by_hr1(db_url)
    for owner in ("hr1", "P-HR1"):
        page = json.loads(vigil("tasks", "list", "--owner", owner, "--db", db_url, "--json").output)
        assert [t["id"] for t in page["items"]] == [task_id] and page["total"] == 1, owner
    assert "only tasks owned by this person id or username" in vigil("tasks", "list", "--help").output


def test_check_ticks_and_unticks_a_step_numbered_from_1(db_url: str) -> None:
    """Probe: no command ticked a checklist step, and an error said `no checklist step 99 (0..4)`."""
    task_id = _one_task_owned_by_hr1(db_url)
    ticked = vigil("tasks", "check", task_id, "2", "--db", db_url, "--actor", "hr1", "--json")
    assert ticked.exit_code == 0, ticked.output
    task = json.loads(ticked.output)
    assert [(i["step"], i["done"]) for i in task["checklist"]] == [(1, False), (2, True), (3, False)]
    assert task["checklist"][1]["done_by"] == "user:hr1" and task["history"][-1]["reason"].startswith("step 2 done: ")
    assert "[x] 2. " in vigil("tasks", "show", task_id, "--db", db_url).output
    undone = vigil("tasks", "check", task_id, "2", "--undo", "--db", db_url)
    assert undone.exit_code == 0 and undone.output.startswith(f"{task_id}: step 2 not done: ")
    for wrong in ("0", "4", "99"):
        refused = vigil("tasks", "check", task_id, wrong, "--db", db_url)
        assert refused.exit_code == 2 and f"no checklist step {wrong}" in refused.output, refused.output
        assert "field step: the steps are 1..3" in refused.output and "0.." not in refused.output
    assert "1..N" in vigil("tasks", "check", "--help").output
    vigil("tasks", "complete", task_id, "--db", db_url)
    closed = vigil("tasks", "check", task_id, "1", "--db", db_url)
    assert closed.exit_code == 1 and "the checklist of a done task is closed" in closed.output


def test_attach_refuses_an_executable_naming_its_type_once(db_url: str, tmp_path: Path) -> None:
    """Probe: `executable content (application/x-msdownload) is not kept as evidence (application/x-msdownload)`."""
    task_id = _one_task_owned_by_hr1(db_url)
    program = tmp_path / "invoice.pdf"
    program.write_bytes(b"MZ\x90\x00" * 8)
    refused = vigil("tasks", "attach", task_id, str(program), "--db", db_url)
    assert refused.exit_code == 2 and "evidence.type_refused" in refused.output
    assert refused.output.count("application/x-msdownload") == 1, refused.output


def test_task_acts_name_who_did_them(db_url: str, monkeypatch: pytest.MonkeyPatch) -> None:
    """Without --actor a note is VIGIL_ACTOR's (as findings and users are), not a plain 'cli'."""
    task_id = _one_task_owned_by_hr1(db_url)
    monkeypatch.setenv("VIGIL_ACTOR", "user:alice")
    noted = vigil("tasks", "note", task_id, "called the vendor", "--db", db_url, "--json")
    assert noted.exit_code == 0, noted.output
    assert json.loads(noted.output)["notes"][-1]["actor"] == "user:alice"
    checked = json.loads(vigil("tasks", "check", task_id, "1", "--db", db_url, "--json").output)
    assert checked["checklist"][0]["done_by"] == "user:alice"


def test_list_shows_an_hour_deadline_with_its_hour(db_url: str) -> None:
    """Black-box pass: the table said "2026-11-28 overdue" for a task due at 16:00 EST that day, which
    read as the whole day; `tasks show`, the page and the CSV said 16:00. A day deadline keeps its date."""
    from sqlalchemy import update

    from engine.tasks.tables import TaskRow

    task_id = _one_task_owned_by_hr1(db_url)
    listed = vigil("tasks", "list", "--db", db_url)
    assert listed.exit_code == 0, listed.output
    due = json.loads(vigil("tasks", "show", task_id, "--db", db_url, "--json").output)["due"]
    assert f"{due}\n" in listed.output or f"{due} " in listed.output  # a day deadline: its date alone
    engine = dbmod.make_engine(db_url)
    with dbmod.unit_of_work(engine) as s:  # E1 is in Chicago: 23:00 UTC on 3 March is 17:00 CST
        s.execute(update(TaskRow).where(TaskRow.id == task_id).values(
            due=dt.date(2026, 3, 3), due_at=dt.datetime(2026, 3, 3, 23, tzinfo=dt.UTC)))
    engine.dispose()
    assert "2026-03-03 17:00 CST overdue" in vigil("tasks", "list", "--db", db_url).output


# -- SOP templates checked as a whole (the regulatory-liaison pass, 7 December 2026) ----------------------


def _policies_with(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, **sops: str) -> Path:
    """A copy of the fixture policies with these SOP templates written over (by id), in use."""
    import shutil

    policies = tmp_path / "policies"
    shutil.copytree(FIXTURES / "policies", policies)
    for sop_id, text in sops.items():
        (policies / "sops" / f"{sop_id.replace('_', '-')}.md").write_text(text, encoding="utf-8")
    monkeypatch.setenv("VIGIL_POLICIES_DIR", str(policies))
    return policies


SOP_DEMO = (FIXTURES / "policies" / "sops" / "SOP-DEMO.md").read_text(encoding="utf-8")
NESTED_RANGES = "{% for i in range(10**9) %}{% for j in range(10**9) %}x{% endfor %}{% endfor %}\n"


def test_sops_names_every_problem_of_every_template(db_url: str, tmp_path: Path,
                                                    monkeypatch: pytest.MonkeyPatch) -> None:
    """An unknown owner role, a misspelt field of `finding`, an underscore walk and nested huge ranges
    had each been listed "all valid"; a broken template had hidden every other one's problems."""
    policies = _policies_with(
        tmp_path, monkeypatch,
        SOP_DEMO=SOP_DEMO.replace("owner_role: hr_manager", "owner_role: chief_wizard")
        + "{{ finding.mesage }} {{ ''.__class__.__mro__ }}\n",
        SOP_CRIT=(FIXTURES / "policies" / "sops" / "SOP-CRIT.md").read_text(encoding="utf-8") + NESTED_RANGES,
        SOP_BAD="# no front matter\n")
    out = vigil("tasks", "sops")
    assert out.exit_code == 2, out.output
    said = " ".join(out.output.split())
    for reason in ("owner_role 'chief_wizard' is no role of roles.yaml", "finding has no field 'mesage' (did you "
                   "mean message?)", "starting with an underscore are not allowed: `__class__`",
                   "SOP-CRIT: the template fails when rendered", "a range longer than 1000",
                   "an SOP starts with YAML front matter"):
        assert reason in said, (reason, said)
    assert str(policies / "sops" / "SOP-DEMO.md") in said and str(policies / "sops" / "SOP-BAD.md") in said


def test_an_evaluation_says_which_sop_fell_back_to_generic_steps_and_why(db_url: str, tmp_path: Path,
                                                                          monkeypatch: pytest.MonkeyPatch) -> None:
    """A template failing to render had opened its tasks with three generic steps, said only in each
    task's history: `evaluate --json` and its stderr said nothing."""
    from engine.cli.main import app as vigil_app  # every command, evaluate's included

    _policies_with(tmp_path, monkeypatch, SOP_DEMO=SOP_DEMO + NESTED_RANGES)
    with clock.frozen(AT):
        out = CliRunner(env={"COLUMNS": "250"}).invoke(vigil_app, ["evaluate", "--db", db_url, "--as-of",
                                                                   "2026-03-05T12:00:00Z", "--json"])
    assert out.exit_code == 0, out.output
    payload = json.loads(out.stdout)
    [line] = payload["sop_fallbacks"]
    assert "1 task of SOP-DEMO" in line and "generic steps" in line and "a range longer than 1000" in line
    assert "SOP-DEMO" in out.stderr and "generic steps" in out.stderr


def test_sops_names_a_filter_of_no_such_name_instead_of_crashing(db_url: str, tmp_path: Path,
                                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    """A template that parses but never compiles (a filter of no such name) had stopped `vigil tasks
    sops` with a traceback; before the whole-template checks it had been listed fine, and its tasks
    opened with generic steps."""
    _policies_with(tmp_path, monkeypatch,
                   SOP_DEMO=SOP_DEMO.replace("## Steps", "{{ finding.subject.id | nosuchfilter }}\n## Steps", 1))
    out = vigil("tasks", "sops")
    assert out.exit_code == 2, out.output
    said = " ".join(out.output.split())
    assert "Traceback" not in said
    assert "SOP-DEMO: the template cannot be compiled: No filter named 'nosuchfilter'; every task" in said, said
