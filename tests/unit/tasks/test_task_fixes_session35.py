"""Session 35 task fixes, the pure parts: recurring SOP texts that read right without a finding,
attachment names (runnable endings behind trailing dots, path separators), the too-large refusal
that named the limit twice, and the CLI's --actor and re-ticked steps."""

from __future__ import annotations

import datetime as dt
import json
import re
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
from engine.tasks import evidence, filenames, recurrence, templates
from engine.tasks.schemas import Sop
from tests import factories as f

REPO_POLICIES = Path(__file__).resolve().parents[3] / "policies"
FIXTURES = Path(__file__).resolve().parents[2] / "fixtures"
SITE = "EST-XYZ"


def _recurring_sops() -> list[Sop]:
    sops, problems = recurrence.recurring_sops(REPO_POLICIES)
    assert not problems and sops
    return sops


def _as_recurring(sop: Sop) -> tuple[str, list[str]]:
    """The SOP rendered as the recurrence job renders it: at a site, or org-wide (`*`)."""
    assert sop.recurrence is not None
    est = None if sop.recurrence.scope == "org" else SITE
    start, due = dt.date(2027, 1, 18), dt.date(2027, 2, 1)
    context = recurrence.period_context(sop, est or "*", est, start, 1, due)
    rendered = templates.render_sop(sop, {**context, "task": {"due": due.isoformat()}})
    return rendered.body, rendered.checklist


@pytest.mark.parametrize("sop", _recurring_sops(), ids=lambda s: s.id)
def test_a_recurring_task_names_its_site_as_a_site_and_no_finding(sop: Sop) -> None:
    """Probe: `Complete the impact assessment for tool EST-DEN`, `For episode EST-NYC, keep the
    employee off exposure tasks`, `the workforce member named in the finding (establishment EST-HNL)`:
    the stand-in finding's subject is the site (or `*`), not a tool, a person or an episode."""
    body, steps = _as_recurring(sop)
    body, text = " ".join(body.split()), " ".join(steps)
    assert steps
    assert all(body[max(0, m.start() - 14):m.start()] == "establishment " for m in re.finditer(SITE, body)), body
    assert "`*`" not in body and " (*)" not in body and "finding" not in text.lower(), text
    assert not re.search(r"\s[.,;]", text), text  # nothing rendered empty before the punctuation ("duty .")
    assert "Finding:" not in body


@pytest.mark.parametrize("sop", [s for s in _recurring_sops() if "finding.subject.id" in s.body], ids=lambda s: s.id)
def test_a_task_from_a_finding_still_names_the_findings_subject(sop: Sop) -> None:
    finding = {"id": "F-1", "rule_id": "R-1", "subject": {"type": "ai_tool", "id": "SUBJ-9"}, "message": "It is late.",
               "due": "2027-02-01", "occurrence_key": "2026"}
    rendered = templates.render_sop(sop, {"finding": finding, "task": {"due": "2027-02-01"}})
    assert "SUBJ-9" in " ".join(rendered.checklist)


def test_the_colorado_assessment_opens_only_where_the_site_is_in_colorado() -> None:
    sop = templates.load_sop("SOP-AI-CO-IMPACT", REPO_POLICIES)
    assert sop.recurrence is not None and sop.recurrence.only_where == "in_colorado"


@pytest.mark.parametrize(("given", "kept", "runs"), [
    ("evil.bat.", "evil.bat", True), ("evil.bat ", "evil.bat", True), ("evil.cmd...", "evil.cmd", True),
    ("evil.BAT\u00a0", "evil.BAT", True), ("evil.url", "evil.url", True), ("link.lnk", "link.lnk", True),
    ("x.scf", "x.scf", True), ("x.hta", "x.hta", True), (".bat", ".bat", True), ("notes.bat\u200b", "notes.bat", True),
    ("<script>alert(1)</script>.txt", "<script>alert(1)<_script>.txt", False),
    ("..\\..\\scan.pdf", ".._.._scan.pdf", False), ("report.pdf", "report.pdf", False),
    ("a\x1bb.txt", "a_b.txt", False), ("...", "evidence", False), ("", "evidence", False),
    ("evidence.batch.txt", "evidence.batch.txt", False),
])
def test_an_attachment_name_is_cleaned_before_it_is_judged(given: str, kept: str, runs: bool) -> None:
    """Probe: `evil.bat.`, `evil.bat ` and `evil.cmd...` were taken (Windows saves them as .bat and
    .cmd), `.url` was not on the list, and `<script>alert(1)</script>.txt` was kept as `script>.txt`."""
    assert filenames.clean(given) == kept
    assert filenames.runnable(kept) is runs


def test_a_file_just_over_the_limit_is_not_said_to_be_the_limits_size() -> None:
    """Probe: `at most 25 MB` ... `it is 25 MB; make it smaller` for 26,214,401 bytes."""
    limit = 25 * 1024 * 1024
    refused = evidence.too_large(limit, limit + 1)
    reason = refused.details[0].reason
    assert "at most 25 MB" in str(refused) and "it is 25 MB" not in reason
    assert reason.startswith("it is 26,214,401 bytes, 1 byte over the limit of 26,214,400;")
    assert evidence.too_large(limit, 27 * 1024 * 1024).details[0].reason.startswith("it is 27 MB;")
    assert evidence.too_large(limit, None).details[0].reason.startswith("it is over 25 MB;")


# --- CLI ------------------------------------------------------------------------------------------

ORG = "clinic-cli35"
AT = dt.datetime(2026, 3, 5, 12, tzinfo=dt.UTC)


@pytest.fixture
def db_url(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> str:
    monkeypatch.setenv("VIGIL_RULESETS_DIR", str(FIXTURES / "rulesets"))
    monkeypatch.setenv("VIGIL_POLICIES_DIR", str(FIXTURES / "policies"))
    monkeypatch.setenv("VIGIL_EVIDENCE_DIR", str(tmp_path / "evidence"))
    monkeypatch.setenv("VIGIL_ORG", ORG)
    monkeypatch.delenv("VIGIL_ACTOR", raising=False)
    url = f"sqlite:///{tmp_path / 'cli.db'}"
    engine = dbmod.make_engine(url)
    dbmod.init_db(engine)
    with dbmod.unit_of_work(engine) as s:
        pipeline.ingest_records(s, org_id=ORG, records=[f.establishment(), f.episode("EP1", "P1",
                                "2026-02-01T09:00:00-06:00")], actor="t", source="t", stream=False)
        for name, role in (("hr1", "staff"), ("aud", "auditor")):
            person = "P-HR1" if role == "staff" else None
            auth.create_user(s, org_id=ORG, actor="t", data=UserIn(username=name, password=f"{name}-password!",
                                                                  role=role, person_id=person))
    engine.dispose()
    return url


def vigil(*args: str) -> Result:
    with clock.frozen(AT):
        return CliRunner(env={"COLUMNS": "250"}).invoke(app, list(args))


def _task(db_url: str) -> dict[str, object]:
    assert vigil("scheduler", "run", "--once", "--db", db_url, "--only", "sweep").exit_code == 0
    return dict(json.loads(vigil("tasks", "list", "--db", db_url, "--json").output)["items"][0])


def test_cli_actor_that_is_no_user_is_refused(db_url: str) -> None:
    """Probe: `vigil tasks check T 2 --actor nosuchuser` set done_by to nosuchuser, as if a user of
    that name had ticked the step; a later probe: recorded as cli:nosuchuser, a typo was taken
    (docs/tasks.md had said it is refused). A user is recorded as the API records them."""
    task_id = str(_task(db_url)["id"])
    unknown = vigil("tasks", "check", task_id, "2", "--actor", "nosuchuser", "--db", db_url, "--json")
    assert unknown.exit_code == 2 and "--actor 'nosuchuser' is nobody in this organization" in unknown.output
    assert "cli:nosuchuser" in unknown.output  # the way to name work done on someone's behalf
    auditor = vigil("tasks", "check", task_id, "3", "--actor", "aud", "--db", db_url)
    assert auditor.exit_code == 2 and "--actor 'aud' cannot act on tasks" in auditor.output
    assert "read-only" in auditor.output
    for who, kept in (("hr1", "user:hr1"), ("P-HR1", "user:hr1"), ("cli:night-batch", "cli:night-batch")):
        noted = vigil("tasks", "note", task_id, "seen", "--actor", who, "--db", db_url, "--json")
        assert noted.exit_code == 0 and json.loads(noted.output)["notes"][-1]["actor"] == kept, who
    shown = json.loads(vigil("tasks", "show", task_id, "--db", db_url, "--json").output)
    assert not shown["checklist"][2]["done"]


def test_cli_ticking_a_ticked_step_changes_nothing_and_says_so(db_url: str) -> None:
    task_id = str(_task(db_url)["id"])
    assert vigil("tasks", "check", task_id, "2", "--actor", "hr1", "--db", db_url).exit_code == 0
    again = vigil("tasks", "check", task_id, "2", "--db", db_url)
    assert again.exit_code == 0 and f"{task_id}: step 2 was already done by user:hr1 at " in again.output
    untick = vigil("tasks", "check", task_id, "3", "--undo", "--db", db_url)
    assert untick.exit_code == 0 and "step 3 was already not done, nothing changed" in untick.output
    shown = json.loads(vigil("tasks", "show", task_id, "--db", db_url, "--json").output)
    assert shown["checklist"][1]["done_by"] == "user:hr1"
    assert [h["reason"][:11] for h in shown["history"] if h["kind"] == "checked"] == ["step 2 done"]


def test_cli_actor_acts_with_their_own_access(db_url: str) -> None:
    """Probe (session 42): `vigil tasks note T ... --actor staff` noted a task the web and REST answer
    404 for, and a staff member could give tasks away."""
    task_id = str(_task(db_url)["id"])  # P-HR1's, whom the staff user hr1 stands for
    handed = vigil("tasks", "assign", task_id, "P-CO", "--actor", "hr1", "--db", db_url)
    assert handed.exit_code == 2 and "cannot give tasks to others" in handed.output
    assert vigil("tasks", "assign", task_id, "P-CO", "--db", db_url).exit_code == 0  # the operator may
    other = vigil("tasks", "note", task_id, "not mine", "--actor", "hr1", "--db", db_url)
    assert other.exit_code == 2 and "not_found.task" in other.output
    assert vigil("tasks", "note", task_id, "on P-CO's behalf", "--actor", "cli:desk", "--db", db_url).exit_code == 0
    shown = json.loads(vigil("tasks", "show", task_id, "--db", db_url, "--json").output)
    assert [n["actor"] for n in shown["notes"]] == ["cli:desk"]
