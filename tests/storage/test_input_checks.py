"""The services refuse what can never match or apply, on SQLite and PostgreSQL, whatever face calls
them: waivers, finding and task filters, assignments, grants, users, tokens, evidence, evaluation
and packet instants (sweep A1-A3, A5, A7). Each refusal is an InputError naming the field."""

from __future__ import annotations

import datetime as dt
import io
from pathlib import Path
from typing import Any, cast

import pytest
from sqlalchemy import Engine, Table, insert
from sqlalchemy.orm import Session

from engine import clock, pipeline
from engine.auth import service as auth
from engine.auth.schemas import GrantIn, UserIn
from engine.db import unit_of_work
from engine.errors import InputError, PermissionDeniedError, VigilError
from engine.findings import lifecycle, run_checks
from engine.findings import service as findings
from engine.findings.schemas import FindingFilter, FindingScope, WaiverIn
from engine.findings.tables import FindingRow
from engine.packets import service as packets
from engine.tasks import service as tasks
from engine.tasks.errors import EvidenceEmpty
from engine.tasks.schemas import TaskFilter
from tests import factories as f

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures"
ORG = "clinic-a"
AS_OF = dt.datetime(2026, 3, 10, tzinfo=dt.UTC)
NOW = dt.datetime(2026, 3, 11, 12, tzinfo=dt.UTC)
LATER = NOW + dt.timedelta(days=60)


@pytest.fixture
def db(engine: Engine, monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Engine:
    """Records recorded on 1 March (establishment E1, person P1 on episode EP1), evaluated on 10 March:
    one finding (DEMO-TRN-001, EP1) and its task; plus a finding whose subject is no stored record
    (subject type cred_monitoring: as the credentialing rules opened them before their findings named
    the person, and as a derived fact with no record to name still is)."""
    monkeypatch.setenv("VIGIL_RULESETS_DIR", str(FIXTURES / "rulesets"))
    monkeypatch.setenv("VIGIL_POLICIES_DIR", str(FIXTURES / "policies"))
    monkeypatch.setenv("VIGIL_EVIDENCE_DIR", str(tmp_path / "evidence"))
    monkeypatch.delenv("VIGIL_WEBHOOK_URL", raising=False)
    with clock.frozen(dt.datetime(2026, 3, 1, tzinfo=dt.UTC)), unit_of_work(engine) as s:
        pipeline.ingest_records(s, org_id=ORG, actor="test", source="test", stream=False, records=[
            f.establishment(), f.episode("EP1", "P1", "2026-02-01T09:00:00-06:00"),
            {"type": "person", "id": "P1", "first_name": "Ana", "last_name": "Diaz"}])
    with clock.frozen(AS_OF), unit_of_work(engine) as s:
        pipeline.evaluate(s, org_id=ORG, as_of=AS_OF, actor="test")
        s.connection().execute(insert(cast(Table, FindingRow.__table__)), [dict(
            id="F-derived", org_id=ORG, rule_id="DEMO-TRN-001", framework="demo", ruleset_version="1.0.0", title="t",
            citation="c", severity="low", advisory=False, kind="state", subject_type="cred_monitoring",
            subject_id="P1/MON/LEIE", occurrence_key="", establishment_id="E1", status="violation", due=None,
            message="m", evidence=[], facts={}, sop="SOP-DEMO", state="resolved", assignee=None, opened_at=AS_OF,
            opened_by_run=None, resolved_at=AS_OF, resolved_by_run=None, last_seen_run=None, updated_at=AS_OF,
            waiver_id=None)])
        auth.create_user(s, org_id=ORG, actor="test", data=UserIn(username="auditor", password="auditor-password",
                                                                  role="auditor"))
    return engine


def _fields(exc: pytest.ExceptionInfo[Any]) -> list[str | None]:
    assert isinstance(exc.value, VigilError)
    return [d.field for d in exc.value.details]


def _finding(s: Session) -> Any:
    (item,) = findings.list_findings(s, org_id=ORG, filters=FindingFilter(subject_id="EP1")).items
    return item


def _waive(engine: Engine, finding_id: str | None = None, **kw: Any) -> Any:
    data = {"ends_at": LATER, "reason": "on leave", "approver": "CMO", **kw}
    with clock.frozen(NOW), unit_of_work(engine) as s:
        return lifecycle.waive(s, org_id=ORG, actor="officer", finding_id=finding_id, data=WaiverIn(**data))


# -- waivers -----------------------------------------------------------------------------------------------


@pytest.mark.parametrize("kw, fields", [
    ({"rule_id": "NOPE-1", "subject_type": "employment_episode", "subject_id": "EP1"}, ["rule_id"]),
    ({"rule_id": "DEMO-TRN-001", "subject_type": "person", "subject_id": "P1"}, ["subject_type"]),
    ({"rule_id": "DEMO-TRN-001", "subject_type": "employment_episode", "subject_id": "EP9"}, ["subject_id"]),
    ({"rule_id": "DEMO-TRN-001", "subject_type": "cred_monitoring", "subject_id": "P9/MON/LEIE"}, ["subject_id"]),
    ({"rule_id": "DEMO-TRN-001", "establishment_id": "E9"}, ["establishment_id"]),
    ({"rule_id": "DEMO-TRN-001", "subject_id": "EP1"}, ["subject_type"]),
    ({"rule_id": "DEMO-TRN-001", "subject_type": "employment_episode"}, ["subject_id"]),
    ({"rule_id": "   ", "subject_type": "employment_episode", "subject_id": "EP1"}, ["rule_id", "rule_id"]),
    ({"rule_id": "DEMO-TRN-001", "subject_type": "employment_episode", "subject_id": "EP1",
      "reason": "  a  ", "approver": " "}, ["reason", "approver"]),
    ({"rule_id": "DEMO-TRN-001", "subject_type": "employment_episode", "subject_id": "EP1",
      "starts_at": NOW - dt.timedelta(hours=1)}, ["starts_at"]),
    ({"rule_id": "DEMO-TRN-001", "subject_type": "employment_episode", "subject_id": "EP1",
      "ends_at": NOW - dt.timedelta(seconds=1)}, ["ends_at"]),
    ({"rule_id": "DEMO-TRN-001", "subject_type": "employment_episode", "subject_id": "EP1",
      "ends_at": dt.datetime(2027, 1, 1)}, ["ends_at"]),
])
def test_a_waiver_that_could_never_apply_is_refused(db: Engine, kw: dict[str, Any], fields: list[str]) -> None:
    with pytest.raises(InputError) as exc:
        _waive(db, **kw)
    assert _fields(exc) == fields
    with unit_of_work(db) as s:
        assert findings.list_waivers(s, org_id=ORG) == []


def test_a_waiver_for_a_derived_subject_is_known_from_its_findings(db: Engine) -> None:
    waiver = _waive(db, rule_id="DEMO-TRN-001", subject_type="cred_monitoring", subject_id="P1/MON/LEIE",
                    starts_at=NOW - dt.timedelta(minutes=4))  # within the grace for clocks
    assert (waiver.subject_type, waiver.subject_id) == ("cred_monitoring", "P1/MON/LEIE")


def test_a_waiver_through_a_finding_is_for_that_finding(db: Engine) -> None:
    with unit_of_work(db) as s:
        fid = _finding(s).id
    for kw, field in (({"subject_id": "EP9"}, "subject_id"), ({"rule_id": "DEMO-EXPORT-002"}, "rule_id"),
                      ({"establishment_id": "E2"}, "establishment_id")):
        with pytest.raises(InputError) as exc:
            _waive(db, fid, **kw)
        assert _fields(exc) == [field]
    waiver = _waive(db, fid, reason="  on leave ", approver=" CMO ")
    assert (waiver.rule_id, waiver.subject_id, waiver.reason, waiver.approver) == ("DEMO-TRN-001", "EP1",
                                                                                   "on leave", "CMO")


# -- filters -----------------------------------------------------------------------------------------------


def test_finding_filters_naming_nothing_are_refused_together(db: Engine) -> None:
    bad = FindingFilter(framework="dmeo", rule_id="DEMO-TRN-01", establishment_id="E9", severity="urgent")
    with pytest.raises(InputError) as exc, unit_of_work(db) as s:
        findings.list_findings(s, org_id=ORG, filters=bad)
    assert sorted(_fields(exc)) == ["establishment", "framework", "rule", "severity"]
    assert "did you mean demo" in str(exc.value) and "did you mean DEMO-TRN-001" in str(exc.value)
    with unit_of_work(db) as s:  # a value some finding carries always matches, record or not
        page = findings.list_findings(s, org_id=ORG, filters=FindingFilter(framework="demo", establishment_id="E1",
                                                                            rule_id="DEMO-TRN-001"))
    assert page.total == 2


def test_a_scoped_reader_asking_beyond_the_scope_is_denied(db: Engine) -> None:
    scope = FindingScope(framework="other", window_from=dt.date(2026, 1, 1), window_to=dt.date(2026, 12, 31),
                         establishments=["E2"])
    with pytest.raises(PermissionDeniedError) as exc, unit_of_work(db) as s:
        findings.list_findings(s, org_id=ORG, scope=scope,
                               filters=FindingFilter(framework="demo", establishment_id="E1", rule_id="DEMO-TRN-001"))
    assert sorted(_fields(exc)) == ["establishment", "framework", "rule"]


def test_task_filters_naming_nothing_are_refused(db: Engine) -> None:
    bad = TaskFilter(state="opened", kind="adhoc", owner="P-NOBODY", sop="SOP-NOPE", finding_id="F-nope",
                     establishment_id="E9")
    with pytest.raises(InputError) as exc, unit_of_work(db) as s:
        tasks.list_tasks(s, org_id=ORG, filters=bad)
    assert sorted(_fields(exc)) == ["establishment", "finding", "kind", "owner", "sop", "state"]
    with unit_of_work(db) as s:
        (task,) = tasks.list_tasks(s, org_id=ORG).items
        good = TaskFilter(state="open", kind="finding", owner=task.owner, sop=task.sop, finding_id=task.finding_id,
                          establishment_id="E1")
        assert tasks.list_tasks(s, org_id=ORG, filters=good).total == 1
        # people who own nothing yet are fine filters: a person record, a user, a person roles.yaml names
        assert tasks.list_tasks(s, org_id=ORG, filters=TaskFilter(owner="P1,auditor,P-MGR")).total == 0
        with pytest.raises(InputError):
            tasks.list_tasks(s, org_id=ORG, filters=TaskFilter(sop="../../etc/passwd"))


# -- people ------------------------------------------------------------------------------------------------


def test_assignees_and_owners_must_be_somebody(db: Engine) -> None:
    with unit_of_work(db) as s:
        fid, tid = _finding(s).id, tasks.list_tasks(s, org_id=ORG).items[0].id
    with pytest.raises(InputError) as exc, unit_of_work(db) as s:
        lifecycle.assign(s, org_id=ORG, finding_id=fid, actor="o", assignee="nobody-at-all")
    assert _fields(exc) == ["assignee"]
    with pytest.raises(InputError) as exc, unit_of_work(db) as s:
        tasks.reassign_task(s, org_id=ORG, task_id=tid, owner="hr_manager", actor="o")
    assert _fields(exc) == ["owner"] and "P-HR1" in str(exc.value)
    with unit_of_work(db) as s:
        assert lifecycle.assign(s, org_id=ORG, finding_id=fid, actor="o", assignee="safety_lead").assignee == \
            "safety_lead"
        assert tasks.reassign_task(s, org_id=ORG, task_id=tid, owner="P1", actor="o").owner == "P1"
    with pytest.raises(InputError) as exc, unit_of_work(db) as s:  # a user, but one who only reads
        tasks.reassign_task(s, org_id=ORG, task_id=tid, owner="auditor", actor="o")
    assert _fields(exc) == ["owner"] and "read-only" in str(exc.value)


def test_users_grants_and_tokens_refuse_what_names_nothing(db: Engine) -> None:
    with pytest.raises(InputError) as exc, unit_of_work(db) as s:
        auth.create_user(s, org_id=ORG, actor="t", data=UserIn(username="n1", password="long-enough-pw",
                                                                role="staff", person_id="P" * 300))
    assert _fields(exc) == ["person_id"]
    grant = {"framework": "demo", "window_from": dt.date(2026, 1, 1), "window_to": dt.date(2026, 12, 31),
             "expires_at": LATER}
    for kw, fields in (({"framework": "hippa"}, ["framework"]), ({"establishments": ["E1", "E9"]},
                                                               ["establishments[1]"]),
                       ({"expires_at": NOW - dt.timedelta(days=1)}, ["expires_at"]),
                       ({"expires_at": dt.datetime(2027, 1, 1)}, ["expires_at"])):
        with pytest.raises(InputError) as exc, clock.frozen(NOW), unit_of_work(db) as s:
            auth.grant_auditor(s, username="auditor", actor="t", data=GrantIn(**{**grant, **kw}))
        assert _fields(exc) == fields
    with pytest.raises(VigilError), unit_of_work(db) as s:  # another org's admin does not see this user
        auth.grant_auditor(s, username="auditor", actor="t", data=GrantIn(**grant), org_id="clinic-b")
    with clock.frozen(NOW), unit_of_work(db) as s:
        made = auth.grant_auditor(s, username="auditor", actor="t",
                                  data=GrantIn(**{**grant, "framework": " demo ", "establishments": ["E1"]}))
        assert (made.framework, made.establishments) == ("demo", ["E1"])
        user_id = auth.get_user(s, username="auditor").id
    with pytest.raises(InputError) as exc, unit_of_work(db) as s:
        auth.issue_token(s, user_id=user_id, name=" \t ", ttl=dt.timedelta(days=1), actor="t")
    assert _fields(exc) == ["name"]


# -- evidence, evaluations, packets ------------------------------------------------------------------------


def test_empty_evidence_is_refused(db: Engine) -> None:
    with unit_of_work(db) as s:
        tid = tasks.list_tasks(s, org_id=ORG).items[0].id
    with pytest.raises(EvidenceEmpty) as exc, unit_of_work(db) as s:
        tasks.attach_evidence(s, org_id=ORG, task_id=tid, actor="u", stream=io.BytesIO(b""), filename="e.pdf")
    assert _fields(exc) == ["file"]
    with unit_of_work(db) as s:
        assert tasks.get_task(s, org_id=ORG, task_id=tid).attachments == []


@pytest.mark.parametrize("filename, note", [("nul\x00.txt", None), ("e.pdf", "half \ud800 a character")])
def test_evidence_whose_name_or_note_cannot_be_stored_is_refused(db: Engine, filename: str, note: str | None) -> None:
    """A multipart file name is not a JSON or form field, so the API's request check does not see it."""
    with unit_of_work(db) as s:
        tid = tasks.list_tasks(s, org_id=ORG).items[0].id
    with pytest.raises(InputError) as exc, unit_of_work(db) as s:
        tasks.attach_evidence(s, org_id=ORG, task_id=tid, actor="u", stream=io.BytesIO(b"%PDF-1.4 x"),
                              filename=filename, note=note)
    assert _fields(exc) == (["file"] if note is None else ["note"]) and exc.value.code == "input.unstorable_text"
    with unit_of_work(db) as s:
        assert tasks.get_task(s, org_id=ORG, task_id=tid).attachments == []


def test_an_evaluation_that_could_only_be_empty_is_refused(db: Engine) -> None:
    with unit_of_work(db) as s:
        cases = [({"known_at": dt.datetime(2026, 2, 28, tzinfo=dt.UTC)}, "input.before_first_record"),
                 ({"as_of": dt.datetime(2025, 6, 1, tzinfo=dt.UTC)}, "input.nothing_in_force"),
                 ({"as_of": dt.datetime(2025, 6, 1, tzinfo=dt.UTC), "frameworks": ["demo"]}, "input.nothing_in_force"),
                 ({"as_of": dt.datetime(9950, 1, 1, tzinfo=dt.UTC)}, "input.instant"),
                 ({"known_at": clock.now() + dt.timedelta(hours=1)}, "input.instant"),
                 ({"frameworks": []}, "input.invalid")]
        for kw, code in cases:
            with pytest.raises(InputError) as exc:
                run_checks.check_evaluation(s, org_id=ORG, **{"as_of": AS_OF, **kw})
            assert exc.value.code == code and _fields(exc) in (["as_of"], ["known_at"], ["frameworks"])
        run_checks.check_evaluation(s, org_id=ORG, as_of=AS_OF, known_at=clock.now() + dt.timedelta(minutes=1))
        run_checks.check_evaluation(s, org_id=ORG, as_of=AS_OF, known_at=dt.datetime(2026, 3, 1, tzinfo=dt.UTC),
                                    frameworks=["demo"])


def test_a_packet_scope_that_holds_nothing_is_refused(db: Engine) -> None:
    for kw, fields in (({"establishment": "E9"}, ["establishment"]), ({"establishment": " "}, ["establishment"]),
                       ({"as_of": dt.datetime(2026, 2, 1, tzinfo=dt.UTC)}, ["as_of"]),
                       ({"as_of": dt.datetime(2026, 3, 1, 12)}, ["as_of"]),
                       ({"as_of": NOW + dt.timedelta(days=1)}, ["as_of"])):
        with pytest.raises(InputError) as exc, clock.frozen(NOW), unit_of_work(db) as s:
            packets.check_scope(s, org_id=ORG, **{"establishment": None, "as_of": None, **kw})
        assert _fields(exc) == fields
    with clock.frozen(NOW), unit_of_work(db) as s:
        assert packets.check_scope(s, org_id=ORG, establishment="E1", as_of=None) is None
        with pytest.raises(InputError):  # an org with no records at all
            packets.check_scope(s, org_id="clinic-empty", establishment=None, as_of=None)
