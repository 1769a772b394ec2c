"""Every route declares a permission, and every role gets exactly what the role table allows.

The expected outcome comes from one table (engine.auth.roles.ROLE_PERMISSIONS): a role without the
route's permission gets 403; a role with it never gets 401/403. A new route without `require(...)`
or `public()` fails the first test.
"""

from __future__ import annotations

import datetime as dt
import os
import re
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi.routing import APIRoute

from engine import clock
from engine.api.deps import api_routes, route_permission
from engine.auth import service as auth
from engine.auth.roles import ROLE_PERMISSIONS, Permission
from engine.auth.schemas import GrantIn, UserIn
from engine.db import unit_of_work
from tests import factories as f
from tests.api.conftest import ORG, ROLES, headers

OPEN_PATHS = {"/openapi.json", "/docs", "/docs/oauth2-redirect", "/redoc"}


def _routes(app: Any) -> list[tuple[str, APIRoute]]:
    return api_routes(app)


def test_every_route_declares_a_permission(api: dict[str, Any]) -> None:
    routes = _routes(api["app"])
    assert len(routes) >= 25
    missing = [f"{sorted(r.methods)} {p}{r.path}" for p, r in routes if route_permission(r) is None]
    assert not missing, f"routes without require(...) or public(): {missing}"


def _cases(app: Any) -> list[tuple[str, str, str]]:
    out = []
    for prefix, r in _routes(app):
        perm = route_permission(r)
        if perm == "public":
            continue
        for method in sorted(r.methods - {"HEAD", "OPTIONS"}):
            out.append((method, prefix + r.path, str(perm)))
    return out


def test_role_by_route_matrix(api: dict[str, Any]) -> None:
    client, app = api["client"], api["app"]
    failures = []
    cases = _cases(app)
    assert len(cases) >= 20
    for method, path, perm in cases:
        url = re.sub(r"\{[^}]+\}", "x-probe", path)
        for role in ROLES:
            may = Permission(perm) in ROLE_PERMISSIONS[role]
            resp = client.request(method, url, headers=headers(api, role), json={})
            if may and resp.status_code in (401, 403) and not _refuses_tokens(resp):
                failures.append(f"{role} {method} {path}: {resp.status_code} but the table allows {perm}")
            if not may and resp.status_code != 403:
                failures.append(f"{role} {method} {path}: {resp.status_code}, expected 403 ({perm} not granted)")
            if resp.status_code >= 500:
                failures.append(f"{role} {method} {path}: server error {resp.status_code}")
    assert not failures, "\n".join(failures)


def _refuses_tokens(resp: Any) -> bool:
    """A 403 about the credential, not the role: a route that takes the web session alone (signing
    out, issuing a token, changing the password: `auth.token_*`), probed here with an API token."""
    return resp.status_code == 403 and str(resp.json().get("code", "")).startswith("auth.token_")


@pytest.mark.parametrize("method, path", [("GET", "/findings"), ("POST", "/evaluations"), ("GET", "/me")])
def test_anonymous_callers_are_refused(api: dict[str, Any], method: str, path: str) -> None:
    resp = api["client"].request(method, path, json={})
    assert resp.status_code == 401 and resp.json()["code"] == "auth.required"


# -- an auditor's grant on every route they can read ---------------------------------------------
#
# The role table says which routes an auditor may call; the grant says what those routes show:
# one framework, an audit window and (optionally) some establishments. Outside it an object is
# "not found" and lists leave it out, on every route, as in the web UI (engine.api.scope).

#: Every non-public route an auditor may call, with how the grant applies to it. A new route an
#: auditor can reach fails `test_every_route_an_auditor_reads_is_scoped` until it is listed here
#: (and scoped).
AUDITOR_ROUTES = {
    "GET /evaluations": "runs of the framework as of an instant in the window, stripped to the grant",
    "GET /evaluations/{run_id}": "404 outside the grant; stripped to it",
    "GET /findings": "FindingScope",
    "GET /findings/{finding_id}": "FindingScope (404 outside)",
    "GET /findings/export.csv": "FindingScope, patient ids pseudonymised per the grant (tests/api/test_exports.py)",
    "GET /waivers": "rule of the framework, in force in the window, at the granted establishments",
    "GET /rulesets": "the granted framework's versions",
    "GET /rulesets/{framework}/diff": "404 for another framework",
    "GET /rulesets/{framework}/{version}": "404 for another framework",
    "GET /rulesets/{framework}/{version}/oscal/{document}": "404 for another framework "
                                                             "(tests/api/test_rulesets_oscal_api.py)",
    "GET /packets": "framework, period inside the window, the granted establishments",
    "GET /packets/{packet_id}/download": "404 outside the grant",
    "GET /packets/public-key": "nothing of the practice's data",
    "POST /packets/verify": "checks an uploaded file; reads nothing stored",
    "GET /ui/dashboard": "FindingScope (engine.web)",
    "GET /ui/findings": "FindingScope (engine.web)",
    "GET /ui/findings/{finding_id}": "FindingScope (engine.web)",
    "GET /ui/findings/export.csv": "FindingScope, as GET /findings/export.csv (engine.web)",
    "GET /ui/rulesets": "the granted framework (engine.web)",
    "GET /ui/rulesets/{framework}/diff": "404 for another framework (engine.web)",
    "GET /ui/rulesets/{framework}/{version}": "404 for another framework (engine.web)",
    "GET /ui/rulesets/{framework}/{version}/rules/{rule_id}": "404 for another framework (engine.web)",
    "GET /ui/params": "the granted framework (engine.web)",
    "GET /params": "the granted framework's parameters; 404 for another framework (tests/api/test_liaison_api.py)",
    "GET /ui/audit": "packets of the framework and window (engine.web)",
    "GET /reports/ita-300a": "403 unless osha and the year meets the window; the granted establishments only",
    "GET /reports/qpp": "403 unless cms and the year meets the window; 403 for an establishment grant (TIN-wide)",
    "GET /audit/verify": "whether the chain is whole and its length: no entry's content",
    "GET /ui/audit/trail": "the chain's length, head and check, as GET /audit/verify; no entry (engine.web)",
    "GET /findings/{finding_id}/records": "the cited versions of a finding in the grant; 404 otherwise",
}


def test_every_route_an_auditor_reads_is_scoped(api: dict[str, Any]) -> None:
    reachable = {f"{m} {p}{r.path}" for p, r in _routes(api["app"]) for m in r.methods - {"HEAD", "OPTIONS"}
                 if route_permission(r) not in ("public", Permission.SELF.value, None)
                 and Permission(str(route_permission(r))) in ROLE_PERMISSIONS["auditor"]}
    unlisted, gone = sorted(reachable - set(AUDITOR_ROUTES)), sorted(set(AUDITOR_ROUTES) - reachable)
    assert not unlisted and not gone, f"auditor routes not listed (scope, then list them): {unlisted}; gone: {gone}"


SCOPED_NOW = dt.datetime(2026, 3, 10, 15, 0, tzinfo=dt.UTC)
PERIOD = {"from": "2026-01-01", "to": "2026-12-31"}


def _two_frameworks(root: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The fixture rulesets (framework demo, 1.0.0 and 2.0.0) and a copy named `other` whose rules
    are OTH-*, so a rule id says which framework it is of."""
    shutil.copytree(os.environ["VIGIL_RULESETS_DIR"], root)
    (root / "other").mkdir()
    for path in sorted((root / "demo").glob("demo-*.yaml")):
        text = path.read_text(encoding="utf-8").replace("framework: demo", "framework: other", 1)
        (root / "other" / path.name.replace("demo-", "other-")).write_text(text.replace("DEMO-", "OTH-"),
                                                                            encoding="utf-8")
    monkeypatch.setenv("VIGIL_RULESETS_DIR", str(root))


@pytest.fixture
def scoped(api: dict[str, Any], tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[dict[str, Any]]:
    """Two frameworks (demo, other) at two establishments (E1: EP1, E2: EP2), five runs, six waivers and
    four packets, read by `auditor` (demo, 2026 on, every establishment) and `auditor_e1` (demo, from
    April 2026, E1 only). The clock stands at SCOPED_NOW throughout."""
    monkeypatch.setenv("VIGIL_PACKET_DIR", str(tmp_path / "packets"))
    monkeypatch.setenv("VIGIL_KEY_DIR", str(tmp_path / "keys"))
    _two_frameworks(tmp_path / "rulesets", monkeypatch)
    with clock.frozen(SCOPED_NOW):
        with unit_of_work(api["engine"]) as s:
            user = auth.create_user(s, org_id=ORG, actor="test", data=UserIn(
                username="auditor_e1", password="auditor_e1-password", role="auditor"))
        c, h = api["client"], headers(api, "officer")
        records = [f.establishment("E1"), f.establishment("E2"), f.episode("EP1", "P1", "2026-02-01T09:00:00-06:00"),
                   f.episode("EP2", "P2", "2026-02-01T09:00:00-06:00", est="E2")]
        assert c.post("/records", headers=h, json={"records": records}).status_code == 200
        with unit_of_work(api["engine"]) as s:
            auth.grant_auditor(s, username="auditor_e1", actor="test", data=GrantIn(
                framework="demo", window_from=dt.date(2026, 4, 1), window_to=dt.date(2099, 12, 31),
                establishments=["E1"], expires_at=f.grant_expiry()))
            api["tokens"]["auditor_e1"] = auth.issue_token(  # type: ignore[index]  # after: a grant ends older tokens
                s, user_id=user.id, name="t", ttl=dt.timedelta(days=1), actor="t").token
        runs = {}
        for name, as_of, frameworks in (("D", "2026-02-10T00:00:00Z", None), ("A", "2026-03-10T00:00:00Z", None),
                                        ("B", "2026-03-10T06:00:00Z", ["other"]),
                                        ("C", "2026-03-10T12:00:00Z", ["demo"]),
                                        ("E", "2026-04-05T00:00:00Z", ["demo"])):
            r = c.post("/evaluations", headers=h, json={"as_of": as_of, "frameworks": frameworks})
            assert r.status_code == 201, r.text
            runs[name] = c.get(f"/evaluations/{r.json()['run']['id']}", headers=h).json()  # with its diff
        assert runs["A"]["frameworks"] == ["demo", "other"] and runs["A"]["counts"] and runs["A"]["diff"]["opened"]
        waivers = {}
        # a waiver runs at most 366 days; two of one scope may not overlap, so the site's later one
        # starts when its March one ends
        december, march = "2026-12-01T00:00:00Z", "2026-03-20T00:00:00Z"
        for name, rule, target, ends, starts in (
                ("subject E1", "DEMO-TRN-001", {"subject_type": "employment_episode", "subject_id": "EP1"}, december,
                 None),
                ("subject E2", "DEMO-TRN-001", {"subject_type": "employment_episode", "subject_id": "EP2"}, december,
                 None),
                ("other", "OTH-TRN-001", {"subject_type": "employment_episode", "subject_id": "EP1"}, december, None),
                ("site E1", "DEMO-TRN-001", {"establishment_id": "E1"}, december, march),
                ("site E2", "DEMO-TRN-001", {"establishment_id": "E2"}, december, None),
                ("site E1 in March", "DEMO-TRN-001", {"establishment_id": "E1"}, march, None)):
            r = c.post("/waivers", headers=h, json={"rule_id": rule, **target, "ends_at": ends, "reason": "test",
                                                     "approver": "CMO", **({"starts_at": starts} if starts else {})})
            assert r.status_code == 201, r.text
            waivers[name] = r.json()["id"]
        packets = {}
        for name, body in (("org-wide", {"framework": "demo"}), ("E1", {"framework": "demo", "establishment": "E1"}),
                           ("E2", {"framework": "demo", "establishment": "E2"}), ("other", {"framework": "other"})):
            r = c.post("/packets", headers=h, json={**body, **PERIOD})
            assert r.status_code == 201, r.text
            packets[name] = r.json()["id"]
        yield {"client": c, "runs": runs, "waivers": waivers, "packets": packets, "officer": h}


def test_an_auditor_reads_the_rulesets_of_the_granted_framework_only(scoped: dict[str, Any],
                                                                     api: dict[str, Any]) -> None:
    c, auditor, officer = scoped["client"], headers(api, "auditor"), headers(api, "officer")
    assert {v["framework"] for v in c.get("/rulesets", headers=auditor).json()} == {"demo"}
    assert c.get("/rulesets/demo/1.0.0", headers=auditor).status_code == 200
    assert c.get("/rulesets/demo/diff", headers=auditor, params={"from": "1.0.0", "to": "2.0.0"}).status_code == 200
    for path, params in (("/rulesets/other/1.0.0", {}), ("/rulesets/other/diff", {"from": "1.0.0", "to": "2.0.0"})):
        assert c.get(path, headers=officer, params=params).status_code == 200
        r = c.get(path, headers=auditor, params=params)
        assert r.status_code == 404 and "OTH-" not in r.text, r.text
        assert r.text == c.get(path.replace("other", "nope"), headers=auditor, params=params).text.replace(
            "nope", "other")  # the same answer as a framework that does not exist


def test_an_auditor_lists_the_runs_of_the_grant_stripped_to_it(scoped: dict[str, Any], api: dict[str, Any]) -> None:
    c, runs = scoped["client"], scoped["runs"]
    every = c.get("/evaluations", headers=headers(api, "officer")).json()
    assert {r["id"] for r in every} == {r["id"] for r in runs.values()}
    assert next(r for r in every if r["id"] == runs["A"]["id"]) == runs["A"]  # unchanged for the officer

    seen = {r["id"]: r for r in c.get("/evaluations", headers=headers(api, "auditor")).json()}
    assert set(seen) == {runs[n]["id"] for n in "DACE"}  # B evaluated `other` only
    for name in "DA":  # every framework: stripped to demo, without the totals of the others
        r = seen[runs[name]["id"]]
        assert r["frameworks"] == ["demo"] and [x["id"] for x in r["rulesets"]] == ["demo"]
        assert set(r["params"]) == {"demo"} and r["counts"] == {} and set(r["withheld"]) == {"counts", "diff.persisted"}
        assert r["input_hash"] == runs[name]["input_hash"] and r["as_of"] == runs[name]["as_of"]
    # A opened 4 findings, 2 of demo: its diff recounted for the grant from its audit entry
    assert seen[runs["A"]["id"]]["diff"] == {"opened": 2, "reopened": 0, "resolved": 0, "waived": 0}
    for name in "CE":  # demo only, and the grant covers every establishment: as stored
        assert seen[runs[name]["id"]] == runs[name]
    assert c.get(f"/evaluations/{runs['A']['id']}", headers=headers(api, "auditor")).json() == seen[runs["A"]["id"]]
    assert c.get(f"/evaluations/{runs['B']['id']}", headers=headers(api, "auditor")).status_code == 404

    e1 = headers(api, "auditor_e1")  # window from April, E1 only
    seen = {r["id"]: r for r in c.get("/evaluations", headers=e1).json()}
    assert set(seen) == {runs["E"]["id"]}
    assert seen[runs["E"]["id"]]["counts"] == {} and seen[runs["E"]["id"]]["params"] == runs["E"]["params"]
    assert "establishment E1" in seen[runs["E"]["id"]]["withheld"]["counts"]  # said, not a silent {}
    assert seen[runs["E"]["id"]]["diff"] == {k: v for k, v in runs["E"]["diff"].items() if k in ("held", "reason")}
    for name in "DABC":
        assert c.get(f"/evaluations/{runs[name]['id']}", headers=e1).status_code == 404


def test_an_auditor_lists_the_waivers_of_the_grant_only(scoped: dict[str, Any], api: dict[str, Any]) -> None:
    c, w = scoped["client"], scoped["waivers"]
    assert {x["id"] for x in c.get("/waivers", headers=headers(api, "officer")).json()} == set(w.values())
    ids = {x["id"] for x in c.get("/waivers", headers=headers(api, "auditor")).json()}
    assert ids == {w[n] for n in ("subject E1", "subject E2", "site E1", "site E2", "site E1 in March")}
    ids = {x["id"] for x in c.get("/waivers", headers=headers(api, "auditor_e1")).json()}
    assert ids == {w["subject E1"], w["site E1"]}  # E1 only; the March one ended before the window


def test_an_establishment_auditor_gets_only_that_establishments_packets(scoped: dict[str, Any],
                                                                        api: dict[str, Any]) -> None:
    c, p = scoped["client"], scoped["packets"]
    listed = {x["id"] for x in c.get("/packets", headers=headers(api, "auditor")).json()}
    assert listed == {p["org-wide"], p["E1"], p["E2"]}
    e1 = headers(api, "auditor_e1")  # demo, from April 2026, E1
    assert c.get("/packets", headers=e1).json() == []  # E1's packet reaches back to January: outside the window
    with clock.frozen(dt.datetime(2026, 4, 10, tzinfo=dt.UTC)):
        r = c.post("/packets", headers=headers(api, "officer"),
                   json={"framework": "demo", "establishment": "E1", "from": "2026-04-01", "to": "2026-12-31"})
        assert r.status_code == 201, r.text
    april = r.json()["id"]
    assert [x["id"] for x in c.get("/packets", headers=e1).json()] == [april]
    assert c.get(f"/packets/{april}/download", headers=e1).status_code == 200
    for name in ("E1", "org-wide", "E2", "other"):  # an org-wide packet holds E2's findings too
        assert c.get(f"/packets/{p[name]}/download", headers=e1).status_code == 404
    findings = c.get("/findings", headers=e1).json()["items"]
    assert findings and {x["establishment_id"] for x in findings} == {"E1"}


def test_an_auditor_reads_the_records_a_finding_in_the_grant_cites(scoped: dict[str, Any],
                                                                   api: dict[str, Any]) -> None:
    """PRODUCT: trace every finding to the records that produced it, without records.read."""
    c = scoped["client"]
    with clock.frozen(SCOPED_NOW):
        mine = next(x for x in c.get("/findings", headers=headers(api, "auditor_e1")).json()["items"]
                    if x["rule_id"] == "DEMO-TRN-001")
        assert c.get("/records/employment_episode/EP1", headers=headers(api, "auditor_e1")).status_code == 403
        cited = c.get(f"/findings/{mine['id']}/records", headers=headers(api, "auditor_e1"))
        assert cited.status_code == 200, cited.text
        finding = c.get(f"/findings/{mine['id']}", headers=headers(api, "auditor_e1")).json()
        assert {(r["type"], r["id"], r["version"]) for r in cited.json()} == {
            (e["type"], e["id"], e["version"]) for e in finding["evidence"]}
        episode = next(r for r in cited.json() if r["id"] == "EP1")
        assert episode["data"]["start_at"] == "2026-02-01T09:00:00-06:00"
        e2 = next(x for x in c.get("/findings", headers=headers(api, "officer")).json()["items"]
                  if x["establishment_id"] == "E2" and x["rule_id"] == "DEMO-TRN-001")
        assert c.get(f"/findings/{e2['id']}/records", headers=headers(api, "auditor_e1")).status_code == 404
        page = c.get(f"/findings/{e2['id']}/records", headers=headers(api, "officer"))
        assert page.status_code == 200 and page.json()


def test_the_web_audit_portal_lists_an_establishment_auditor_only_that_establishments_packets(
        scoped: dict[str, Any]) -> None:
    """The portal lists what the API lists (it showed org-wide and other sites' packets; downloads were 404)."""
    from fastapi.testclient import TestClient

    p = scoped["packets"]
    with clock.frozen(dt.datetime(2026, 4, 10, tzinfo=dt.UTC)):
        april = scoped["client"].post("/packets", headers=scoped["officer"], json={
            "framework": "demo", "establishment": "E1", "from": "2026-04-01", "to": "2026-12-31"}).json()["id"]
    with TestClient(scoped["client"].app) as browser:
        assert browser.post("/auth/login", json={"username": "auditor_e1",
                                                 "password": "auditor_e1-password"}).status_code == 200
        with clock.frozen(SCOPED_NOW):
            page = browser.get("/ui/audit").text
    assert april in page
    for name in ("E1", "org-wide", "E2", "other"):  # E1's packet reaches back before the window
        assert p[name] not in page, name


def test_the_audit_trail_over_rest(api: dict[str, Any]) -> None:
    """PRODUCT 7 and 8: the hash-chained trail is verified and read through the API, as `vigil audit` does."""
    c = api["client"]
    assert c.post("/records", headers=headers(api, "officer"), json=[f.establishment("E1")]).status_code == 200
    report = c.get("/audit/verify", headers=headers(api, "officer")).json()
    assert report["ok"] is True and report["entries_checked"] >= 1 and report["broken"] == []
    entries = c.get("/audit/entries", headers=headers(api, "officer"), params={"limit": 5}).json()
    assert entries and entries[-1]["org_seq"] == report["chains"][0]["entries"]
    assert c.get("/audit/verify", headers=headers(api, "auditor")).json()["ok"] is True
    assert c.get("/audit/entries", headers=headers(api, "auditor")).status_code == 403
    assert c.get("/audit/entries", headers=headers(api, "staff")).status_code == 403
    assert c.get("/audit/entries", headers=headers(api, "officer"), params={"limit": 0}).status_code == 422
    older = c.get("/audit/entries", headers=headers(api, "officer"),
                  params={"before": entries[-1]["seq"], "action": "records", "limit": 5}).json()
    assert all(e["seq"] < entries[-1]["seq"] and e["action"].startswith("records.") for e in older)
    mine = c.get("/audit/entries", headers=headers(api, "officer"),
                 params={"entity": "record_import/nothing-such"}).json()
    assert mine == []  # a kind the trail has, no entry about this one
    unknown = c.get("/audit/entries", headers=headers(api, "officer"), params={"entity": "nothing/such"})
    assert unknown.status_code == 422 and unknown.json()["errors"][0]["field"] == "entity"  # a kind it never had


def test_a_packets_audit_excerpt_withholds_what_other_frameworks_did(scoped: dict[str, Any], tmp_path: Path) -> None:
    """A demo packet goes to a demo auditor: the other framework's waiver and its run keep their
    place in the chain (so it still verifies from anchor to head) but not their payload."""
    import json
    import zipfile

    from engine.packets.verify import verify_packet

    c, w, runs = scoped["client"], scoped["waivers"], scoped["runs"]
    r = c.get(f"/packets/{scoped['packets']['org-wide']}/download", headers=scoped["officer"])
    assert r.status_code == 200
    (tmp_path / "p.zip").write_bytes(r.content)
    assert verify_packet(tmp_path / "p.zip").ok
    with zipfile.ZipFile(tmp_path / "p.zip") as z:
        name = next(n for n in z.namelist() if n.endswith("data/audit-trail.jsonl"))
        header, *entries = [json.loads(line) for line in z.read(name).decode().splitlines() if line.strip()]
    by_entity = {(e["action"], e["entity_id"]): e for e in entries}
    other = by_entity["waiver.create", w["other"]]
    assert other["payload"] == {} and other["redacted"] is True and "about other" in other["withheld"]
    assert by_entity["evaluation.run", runs["B"]["id"]]["payload"] == {}  # it evaluated "other" only
    for name in ("subject E1", "site E2"):
        assert by_entity["waiver.create", w[name]]["payload"]["reason"] == "test"
    assert by_entity["evaluation.run", runs["A"]["id"]]["payload"]["rulesets"]  # demo and other: kept
    assert header["withheld_entries"] == sum(1 for e in entries if e.get("withheld")) >= 2
    imports = [e for e in entries if e["action"] == "records.import"]
    assert imports and all(e["payload"] for e in imports)  # practice-wide: whole


def test_a_packets_audit_excerpt_withholds_vigils_own_users_tokens_and_other_frameworks_grants(
        scoped: dict[str, Any], tmp_path: Path) -> None:
    """Security probe 19: a packet for one framework's auditor listed every user, role and token and
    the other auditors' grants. They keep their place in the chain; the grant of the packet's own
    framework stays whole (who was given the audit's access)."""
    import json
    import zipfile

    from engine.packets.verify import verify_packet

    c = scoped["client"]

    def excerpt(packet: str) -> dict[str, dict[str, Any]]:
        r = c.get(f"/packets/{scoped['packets'][packet]}/download", headers=scoped["officer"])
        (tmp_path / f"{packet}.zip").write_bytes(r.content)
        assert verify_packet(tmp_path / f"{packet}.zip").ok
        with zipfile.ZipFile(tmp_path / f"{packet}.zip") as z:
            name = next(n for n in z.namelist() if n.endswith("data/audit-trail.jsonl"))
            _, *entries = [json.loads(line) for line in z.read(name).decode().splitlines() if line.strip()]
        return {e["action"]: e for e in entries}

    demo, other = excerpt("org-wide"), excerpt("other")
    for action in ("user.create", "token.issue"):
        assert demo[action]["payload"] == {} and "Vigil's own users" in demo[action]["withheld"], action
    assert demo["grant.create"]["payload"]["framework"] == "demo" and "withheld" not in demo["grant.create"]
    assert other["grant.create"]["payload"] == {} and "Vigil's own users" in other["grant.create"]["withheld"]


def test_a_packet_of_one_establishment_withholds_the_other_sites_findings_in_its_excerpt(
        scoped: dict[str, Any], tmp_path: Path) -> None:
    """The E1 packet goes to an auditor of E1: the chain's entries about E2's findings, their tasks
    (owner, due, SOP) and E2's waivers keep their place but not their payload; E1's stay whole."""
    import json
    import zipfile

    from engine.packets.verify import verify_packet

    c, w = scoped["client"], scoped["waivers"]
    r = c.get(f"/packets/{scoped['packets']['E1']}/download", headers=scoped["officer"])
    assert r.status_code == 200
    (tmp_path / "e1.zip").write_bytes(r.content)
    assert verify_packet(tmp_path / "e1.zip").ok
    with zipfile.ZipFile(tmp_path / "e1.zip") as z:
        data = {n.rsplit("/", 1)[-1]: z.read(n) for n in z.namelist() if "/data/" in n}
    header, *entries = [json.loads(line) for line in data["audit-trail.jsonl"].decode().splitlines() if line.strip()]
    held = {f["id"] for f in json.loads(data["findings.json"])["findings"]}
    tasks = {t["id"] for t in json.loads(data["tasks.json"])["tasks"]}
    by_entity = {(e["action"], e["entity_id"]): e for e in entries}
    for name in ("subject E2", "site E2"):
        e2 = by_entity["waiver.create", w[name]]
        assert e2["payload"] == {} and "outside this packet's scope (establishment E1)" in e2["withheld"]
    assert by_entity["waiver.create", w["subject E1"]]["payload"]["reason"] == "test"
    about = [e for e in entries if e["entity_type"] in ("finding", "task") and not e["action"].startswith("waiver.")]
    outside = [e for e in about if e["entity_id"] not in held | tasks]
    assert outside and all(e["payload"] == {} and e.get("withheld") for e in outside)
    assert all(e["payload"] for e in about if e["entity_id"] in held | tasks and not e.get("withheld"))
    assert header["withheld_entries"] == sum(1 for e in entries if e.get("withheld"))


def test_a_packet_carries_every_record_version_its_findings_cite(scoped: dict[str, Any], tmp_path: Path) -> None:
    """PRODUCT (auditor): trace every finding to the records that produced it, offline: records.json
    holds each cited version as stored, and its content hash can be recomputed from its data."""
    import json
    import zipfile

    from engine.packets.verify import verify_packet
    from engine.records.hashing import content_hash, stored_and_canonical
    from engine.records.schemas import RECORD_MODELS

    c = scoped["client"]
    r = c.get(f"/packets/{scoped['packets']['E1']}/download", headers=scoped["officer"])
    (tmp_path / "e1.zip").write_bytes(r.content)
    assert verify_packet(tmp_path / "e1.zip").ok
    with zipfile.ZipFile(tmp_path / "e1.zip") as z:
        data = {n.rsplit("/data/", 1)[-1]: z.read(n) for n in z.namelist() if "/data/" in n}
    findings = json.loads(data["findings.json"])["findings"]
    records = {(x["type"], x["id"], x["version"]): x for x in json.loads(data["records.json"])["records"]}
    assert findings and records
    for finding in findings:
        for ev in finding["evidence"]:
            assert (ev["type"], ev["id"], ev["version"]) in records, ev
        assert any(t == finding["subject_type"] and i == finding["subject_id"] for t, i, _ in records)
    for record in records.values():
        assert "/" not in record["source"] and not record.get("redacted")
        model = RECORD_MODELS[record["type"]].model_validate(record["data"])
        assert content_hash(stored_and_canonical(model)[1]) == record["content_hash"], record
    assert json.loads(data["packet.json"])["summary"]["records"] == len(records)


def test_org_wide_lists_the_findings_of_no_establishment_and_an_establishment_grant_may_not_ask(
        scoped: dict[str, Any], api: dict[str, Any]) -> None:
    c, officer = scoped["client"], scoped["officer"]
    with clock.frozen(SCOPED_NOW):
        contractor = {"type": "employment_episode", "id": "EP9", "person_id": "P9",
                      "start_at": "2026-02-01T09:00:00-06:00", "phi_access_required": True}  # names no site
        assert c.post("/records", headers=officer, json={"records": [contractor]}).status_code == 200
        assert c.post("/evaluations", headers=officer, json={"as_of": "2026-03-10T15:00:00Z"}).status_code == 201
        everywhere = c.get("/findings", headers=officer, params={"limit": 1000}).json()["items"]
        org_wide = c.get("/findings", headers=officer, params={"org_wide": "true", "limit": 1000}).json()["items"]
        both = c.get("/findings", headers=officer, params={"org_wide": "true", "establishment": "E1"})
        e1 = c.get("/findings", headers=headers(api, "auditor_e1"), params={"org_wide": "true"})
    assert org_wide, [(f["subject_id"], f["establishment_id"], f["rule_id"]) for f in everywhere]
    assert {f["id"] for f in org_wide} == {f["id"] for f in everywhere if f["establishment_id"] is None}
    assert {f["subject_id"] for f in org_wide} == {"EP9"}
    assert both.status_code == 422 and both.json()["errors"][0]["field"] == "org_wide"
    assert e1.status_code == 403 and e1.json()["errors"][0]["field"] == "org_wide"
