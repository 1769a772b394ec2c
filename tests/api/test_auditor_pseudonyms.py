"""An auditor given a pseudonymised grant reads no patient identifier (HIPAA's minimum necessary).

A late access request's finding names its patient in the message ("The access request AR-1 of
PT-4711 ..."), and the encounter rules cite the patient's record as evidence. An auditor with
`phi: pseudonymised` reads the same findings, records and waivers with every patient identifier
replaced by one pseudonym stable for the grant, and lists and downloads only PHI-redacted packets;
an auditor with `phi: full` (the default, what every grant given before showed) and an officer read
them as stored. API and web UI alike, on SQLite and PostgreSQL.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine

from engine import clock
from engine.api.app import create_app
from engine.auth import service as auth
from engine.auth.schemas import GrantIn, UserIn
from engine.db import unit_of_work
from tests import factories as f
from tests.web.conftest import login

ORG = "clinic-a"
NOW = dt.datetime(2026, 4, 10, 15, 0, tzinfo=dt.UTC)
PATIENT = "PT-4711"
PATIENT_NAME = "Quenby"
PSEUDONYM = re.compile(r"PSN-[0-9a-f]{12}")


@pytest.fixture
def app(engine: Engine, monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Iterator[dict[str, Any]]:
    """One late access request (AR-1 of PT-4711) evaluated under the shipped HIPAA ruleset, a waiver
    naming the patient in its reason, a packet built in the clear and one redacted; read by an
    officer, a full-PHI auditor and a pseudonymised one (and the second pseudonymised auditor
    `other`, to compare pseudonyms across grants)."""
    monkeypatch.setenv("VIGIL_PACKET_DIR", str(tmp_path / "packets"))
    monkeypatch.setenv("VIGIL_KEY_DIR", str(tmp_path / "keys"))
    tokens: dict[str, dict[str, str]] = {}
    with clock.frozen(NOW):
        c = TestClient(create_app(engine))
        for name, role, phi in (("officer", "officer", None), ("full", "auditor", "full"),
                                ("pseudo", "auditor", "pseudonymised"), ("other", "auditor", "pseudonymised")):
            with unit_of_work(engine) as s:
                user = auth.create_user(s, org_id=ORG, actor="test",
                                        data=UserIn(username=name, password=f"{name}-password", role=role))
                if phi is not None:
                    auth.grant_auditor(s, username=name, actor="test", data=GrantIn(
                        framework="hipaa", window_from=dt.date(2026, 1, 1), window_to=dt.date(2026, 12, 31),
                        expires_at=f.grant_expiry(), phi=phi))
                token = auth.issue_token(s, user_id=user.id, name="t", ttl=dt.timedelta(days=1), actor="t").token
                tokens[name] = {"Authorization": f"Bearer {token}"}
        officer = tokens["officer"]
        records = [f.establishment("NYC", tz="America/New_York", state="NY"),
                   {"type": "patient", "id": PATIENT, "first_name": PATIENT_NAME, "last_name": "Marchetti",
                    "dob": "1961-02-03"},
                   {"type": "access_request", "id": "AR-1", "patient_id": PATIENT, "establishment_id": "NYC",
                    "kind": "access", "received_at": "2026-03-02T10:00:00-05:00"}]
        assert c.post("/records", headers=officer, json={"records": records}).status_code == 200
        run = c.post("/evaluations", headers=officer, json={"as_of": NOW.isoformat(), "frameworks": ["hipaa"]})
        assert run.status_code == 201, run.text
        late = _late_request(c.get("/findings", headers=officer, params={"rule": "HIPAA-PRV-ACC-014"}).json())
        waived = c.post(f"/findings/{late['id']}/waive", headers=officer, json={
            "reason": f"{PATIENT} withdrew the request by phone", "approver": "privacy officer",
            "ends_at": "2026-06-30T00:00:00Z"})
        assert waived.status_code == 201, waived.text
        packets = {}
        for redact in (False, True):
            built = c.post("/packets", headers=officer, json={"framework": "hipaa", "from": "2026-01-01",
                                                               "to": "2026-12-31", "redact_phi": redact})
            assert built.status_code == 201, built.text
            packets[redact] = built.json()["id"]
        yield {"client": c, "tokens": tokens, "finding": late["id"], "packets": packets}


def _late_request(page: dict[str, Any]) -> dict[str, Any]:
    (late,) = [item for item in page["items"] if item["subject_id"] == "AR-1"]
    return late


def _get(app: dict[str, Any], who: str, path: str, **params: str) -> Any:
    with clock.frozen(NOW):
        r = app["client"].get(path, headers=app["tokens"][who], params=params)
    assert r.status_code == 200, r.text
    return r.json()


def test_the_finding_names_the_patient_to_the_officer_and_a_full_phi_auditor(app: dict[str, Any]) -> None:
    for who in ("officer", "full"):
        finding = _get(app, who, f"/findings/{app['finding']}")
        assert PATIENT in finding["message"]
        (waiver,) = _get(app, who, "/waivers")
        assert PATIENT in waiver["reason"]


def test_a_pseudonymised_auditor_reads_one_stable_pseudonym_wherever_the_patient_is_named(
        app: dict[str, Any]) -> None:
    listed = _late_request(_get(app, "pseudo", "/findings", rule="HIPAA-PRV-ACC-014"))
    detail = _get(app, "pseudo", f"/findings/{app['finding']}")
    (waiver,) = _get(app, "pseudo", "/waivers")
    for shown in (listed, detail, waiver):
        assert PATIENT not in str(shown)
    (pseudonym,) = set(PSEUDONYM.findall(detail["message"]))
    assert pseudonym in listed["message"] and pseudonym in waiver["reason"]
    # the rest of the finding is as stored: the auditor can still trace it
    assert detail["subject_id"] == "AR-1" and detail["rule_id"] == "HIPAA-PRV-ACC-014"
    assert detail["message"].replace(pseudonym, PATIENT) == _get(app, "full", f"/findings/{app['finding']}")["message"]
    # another grant's pseudonym of the same patient differs: two engagements cannot be joined
    other = _get(app, "other", f"/findings/{app['finding']}")
    assert PSEUDONYM.findall(other["message"]) and pseudonym not in other["message"]


def test_the_cited_records_are_pseudonymised_with_the_same_pseudonym(app: dict[str, Any]) -> None:
    full = _get(app, "full", f"/findings/{app['finding']}/records")
    assert any(r["data"].get("patient_id") == PATIENT for r in full)
    shown = _get(app, "pseudo", f"/findings/{app['finding']}/records")
    assert shown and PATIENT not in str(shown)
    (pseudonym,) = set(PSEUDONYM.findall(_get(app, "pseudo", f"/findings/{app['finding']}")["message"]))
    (request,) = [r for r in shown if r["type"] == "access_request"]
    assert request["data"]["patient_id"] == pseudonym and request["id"] == "AR-1"


def test_a_pseudonymised_auditor_lists_and_downloads_only_redacted_packets(app: dict[str, Any]) -> None:
    clear, redacted = app["packets"][False], app["packets"][True]
    assert {p["id"] for p in _get(app, "full", "/packets")} == {clear, redacted}
    assert {p["id"] for p in _get(app, "pseudo", "/packets")} == {redacted}
    with clock.frozen(NOW):
        c, h = app["client"], app["tokens"]["pseudo"]
        assert c.get(f"/packets/{redacted}/download", headers=h).status_code == 200
        assert c.get(f"/packets/{clear}/download", headers=h).status_code == 404


def test_the_web_pages_show_a_pseudonymised_auditor_no_patient(app: dict[str, Any]) -> None:
    pages = ["/ui/findings?rule=HIPAA-PRV-ACC-014", f"/ui/findings/{app['finding']}", "/ui/audit"]
    for who, clear in (("full", True), ("pseudo", False)):
        with clock.frozen(NOW):
            c = login(app["client"].app, who)
            html = {page: c.get(page).text for page in pages}
        assert (PATIENT in html[pages[1]]) is clear
        assert (app["packets"][False] in html["/ui/audit"]) is clear
        assert ("shown by pseudonyms" in html["/ui/audit"]) is not clear
        if not clear:
            assert all(PATIENT not in text and PATIENT_NAME not in text for text in html.values())
            assert PSEUDONYM.search(html[pages[1]])  # the list shows no message, the detail does


def test_a_grant_says_what_it_shows_of_patients_and_refuses_any_other_value(app: dict[str, Any]) -> None:
    with clock.frozen(NOW):
        c = app["client"]
        with unit_of_work(c.app.state.engine) as s:
            auth.create_user(s, org_id=ORG, actor="test", data=UserIn(username="admin", password="admin-password",
                                                                     role="admin"))
            user = auth.find_user(s, "admin")
            assert user is not None
            h = {"Authorization": "Bearer " + auth.issue_token(s, user_id=user.id, name="t",
                                                              ttl=dt.timedelta(days=1), actor="t").token}
        listed = c.get("/users/pseudo/grants", headers=h)
        assert listed.status_code == 200 and listed.json()[0]["phi"] == "pseudonymised"
        assert "pseudonym_key" not in listed.text
        refused = c.post("/users/full/grants", headers=h, json={
            "framework": "hipaa", "window_from": "2026-01-01", "window_to": "2026-12-31",
            "expires_at": f.grant_expiry().isoformat(), "phi": "anonymous"})
        assert refused.status_code == 422 and "phi" in refused.text


def test_a_short_named_patient_record_is_pseudonymised_for_the_auditor(engine: Engine) -> None:
    """Auditor pass, 7 December: a cited patient record named "Li" (first name "Wu") reached a
    pseudonymised auditor with both names; its id, date of birth and address were replaced. An AI
    scribe's recording without consent in California cites the encounter and its patient's record."""
    with clock.frozen(NOW):
        c = TestClient(create_app(engine))
        with unit_of_work(engine) as s:
            officer = auth.create_user(s, org_id=ORG, actor="test", data=UserIn(
                username="officer", password="officer-password", role="officer"))
            auditor = auth.create_user(s, org_id=ORG, actor="test", data=UserIn(
                username="pseudo", password="pseudo-password", role="auditor"))
            auth.grant_auditor(s, username="pseudo", actor="test", data=GrantIn(
                framework="ai_use", window_from=dt.date(2026, 1, 1), window_to=dt.date(2026, 12, 31),
                expires_at=f.grant_expiry(), phi="pseudonymised"))
            headers = {user.username: {"Authorization": "Bearer " + auth.issue_token(
                s, user_id=user.id, name="t", ttl=dt.timedelta(days=1), actor="t").token}
                for user in (officer, auditor)}
        records = [f.establishment("LA", tz="America/Los_Angeles", state="CA"),
                   {"type": "patient", "id": "PT-88", "first_name": "Wu", "last_name": "Li", "dob": "1971-05-06",
                    "address": "9 Far Rd, Troy, NY 12180", "state": "CA"},
                   {"type": "encounter", "id": "ENC-1", "patient_id": "PT-88", "establishment_id": "LA",
                    "at": "2026-03-02T10:00:00-08:00", "ambient_recording": True}]
        assert c.post("/records", headers=headers["officer"], json={"records": records}).status_code == 200
        run = c.post("/evaluations", headers=headers["officer"], json={"as_of": NOW.isoformat(),
                                                                        "frameworks": ["ai_use"]})
        assert run.status_code == 201, run.text
        (scribe,) = c.get("/findings", headers=headers["officer"], params={"rule": "AI-SCRIBE-010"}).json()["items"]
        shown = c.get(f"/findings/{scribe['id']}/records", headers=headers["pseudo"])
    assert shown.status_code == 200, shown.text
    (patient,) = [r for r in shown.json() if r["type"] == "patient"]
    for field in ("first_name", "last_name", "dob", "address"):
        assert PSEUDONYM.fullmatch(patient["data"][field]), (field, patient["data"])
    assert patient["data"]["state"] == "CA" and PSEUDONYM.fullmatch(patient["id"])
