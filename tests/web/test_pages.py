"""Every UI page per role: the role table decides 200 or 403 (as for the API); anonymous visitors
are sent to the login form; the login form; security headers; static files."""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

import pytest
from fastapi.testclient import TestClient

from engine.auth.roles import ROLE_PERMISSIONS, Permission
from engine.db import unit_of_work
from engine.findings import service as findings_service
from engine.findings.schemas import FindingFilter
from engine.tasks import service as tasks_service
from engine.tasks.schemas import TaskFilter
from tests.web.conftest import ORG, ROLES, csrf_of

PAGES = [
    ("/ui/dashboard", Permission.FINDINGS_READ),
    ("/ui/findings", Permission.FINDINGS_READ),
    ("/ui/findings?state=&framework=demo&limit=1", Permission.FINDINGS_READ),
    ("/ui/findings/{finding}", Permission.FINDINGS_READ),
    ("/ui/records/employment_episode/EP1?version=1", Permission.RECORDS_READ),
    ("/ui/tasks", Permission.TASKS_READ),
    ("/ui/tasks?view=overdue", Permission.TASKS_READ),
    ("/ui/tasks?view=open", Permission.TASKS_READ),
    ("/ui/tasks/{task}", Permission.TASKS_READ),
    ("/ui/rulesets", Permission.RULESETS_READ),
    ("/ui/rulesets/demo/1.0.0", Permission.RULESETS_READ),
    ("/ui/rulesets/demo/2.0.0/rules/DEMO-TRN-001", Permission.RULESETS_READ),
    ("/ui/rulesets/demo/diff?from=1.0.0&to=2.0.0", Permission.RULESETS_READ),
    ("/ui/rulesets/demo/checks", Permission.RULESETS_WRITE),
    ("/ui/params", Permission.RULESETS_READ),
    ("/ui/audit", Permission.PACKETS_READ),
    ("/ui/audit/trail", Permission.AUDIT_READ),
    ("/ui/audit/trail?verify=1&action=finding", Permission.AUDIT_READ),
]


def ids(web: dict[str, Any]) -> dict[str, str]:
    with unit_of_work(web["engine"]) as s:
        finding = findings_service.list_findings(s, org_id=ORG, filters=FindingFilter(subject_id="EP1")).items[0]
        task = tasks_service.list_tasks(s, org_id=ORG, filters=TaskFilter(finding_id=finding.id)).items[0]
    return {"finding": finding.id, "task": task.id}


@pytest.mark.parametrize("role", ROLES)
def test_each_page_answers_per_the_role_table(web: dict[str, Any], web_client: Callable[[str], TestClient],
                                              role: str) -> None:
    client = web_client(role)
    known = ids(web)
    failures = []
    for template, permission in PAGES:
        path = template.format(**known)
        r = client.get(path)
        expected = 200 if permission in ROLE_PERMISSIONS[role] else 403
        if r.status_code != expected:
            failures.append(f"{role} GET {path}: {r.status_code}, expected {expected}")
        elif expected == 200:
            assert r.headers["content-type"].startswith("text/html")
            assert "<main" in r.text
        else:
            assert "Not allowed" in r.text and "permission_denied" in r.text
    assert not failures, "\n".join(failures)


def test_each_role_lands_on_its_start_page(web_client: Callable[[str], TestClient]) -> None:
    landing = {"admin": "/ui/dashboard", "officer": "/ui/dashboard", "liaison": "/ui/rulesets",
               "auditor": "/ui/audit", "staff": "/ui/tasks"}
    for role, target in landing.items():
        r = web_client(role).get("/ui/", follow_redirects=False)
        assert r.status_code == 303 and r.headers["location"] == target


def nav_links(html: str) -> list[str]:
    nav = html[html.index('<nav aria-label="Main">'):]
    return re.findall(r'href="([^"]+)"', nav[:nav.index("</nav>")])


def test_the_nav_shows_only_what_the_role_may_open(web_client: Callable[[str], TestClient]) -> None:
    assert nav_links(web_client("staff").get("/ui/tasks").text) == ["/ui/tasks"]
    client = web_client("auditor")
    auditor = client.get("/ui/audit").text
    # the dashboard, rulesets and parameters open scoped to the grant: linked, not found by address only
    assert nav_links(auditor) == ["/ui/dashboard", "/ui/findings", "/ui/rulesets", "/ui/params", "/ui/audit",
                                  "/ui/audit/trail"]
    assert all(client.get(link).status_code == 200 for link in nav_links(auditor))
    assert "Read-only audit access" in auditor
    assert nav_links(web_client("liaison").get("/ui/rulesets").text) == [
        "/ui/dashboard", "/ui/findings", "/ui/rulesets", "/ui/params", "/ui/records/gaps"]


def test_anonymous_visitors_go_to_the_login_form_and_come_back(web: dict[str, Any]) -> None:
    client = TestClient(web["app"])
    r = client.get("/ui/findings?framework=demo", follow_redirects=False)
    assert r.status_code == 303
    assert r.headers["location"] == "/ui/login?next=%2Fui%2Ffindings%3Fframework%3Ddemo"
    page = client.get(r.headers["location"])
    assert page.status_code == 200 and 'name="next" value="/ui/findings?framework=demo"' in page.text
    done = client.post("/ui/login", data={"username": "officer", "password": "officer-password",
                                          "csrf_token": csrf_of(page.text), "next": "/ui/findings?framework=demo"},
                       follow_redirects=False)
    assert done.status_code == 303 and done.headers["location"] == "/ui/findings?framework=demo"
    assert client.get("/", follow_redirects=False).headers["location"] == "/ui/"


def test_a_wrong_password_shows_the_form_again(web: dict[str, Any]) -> None:
    client = TestClient(web["app"])
    page = client.get("/ui/login")
    r = client.post("/ui/login", data={"username": "officer", "password": "wrong", "csrf_token": csrf_of(page.text)})
    assert r.status_code == 401
    assert "wrong username or password" in r.text and 'value="officer"' in r.text and 'aria-invalid="true"' in r.text
    assert "vigil_session" not in client.cookies


def test_login_never_redirects_off_site(web: dict[str, Any]) -> None:
    client = TestClient(web["app"])
    page = client.get("/ui/login?next=https://evil.example/x")
    assert 'name="next" value="/ui/"' in page.text
    for target in ("https://evil.example/", "//evil.example/ui/", "/ui/\\evil", "/api"):
        r = client.post("/ui/login", data={"username": "officer", "password": "officer-password",
                                           "csrf_token": csrf_of(page.text), "next": target}, follow_redirects=False)
        assert r.headers["location"] == "/ui/", target


def test_logout_ends_the_browser_session(web_client: Callable[[str], TestClient]) -> None:
    client = web_client("officer")
    page = client.get("/ui/findings")
    r = client.post("/ui/logout", data={"csrf_token": csrf_of(page.text)}, follow_redirects=False)
    assert r.status_code == 303 and r.headers["location"] == "/ui/login"
    assert client.get("/ui/findings", follow_redirects=False).status_code == 303


def test_pages_carry_security_headers(web_client: Callable[[str], TestClient]) -> None:
    r = web_client("officer").get("/ui/dashboard")
    assert "default-src 'self'" in r.headers["content-security-policy"]
    assert r.headers["x-frame-options"] == "DENY" and r.headers["cache-control"] == "no-store"


def test_unknown_pages_and_static_files(web: dict[str, Any], web_client: Callable[[str], TestClient]) -> None:
    anon = TestClient(web["app"])
    css = anon.get("/ui/static/vigil.css")
    assert css.status_code == 200 and css.headers["content-type"].startswith("text/css")
    assert anon.get("/ui/static/vigil.js").status_code == 200
    assert anon.get("/ui/static/..%2Fapp.py").status_code == 404
    assert anon.get("/ui/static/nope.css").status_code == 404
    officer = web_client("officer")
    r = officer.get("/ui/no-such-page")
    assert r.status_code == 404 and "There is no such page" in r.text
    r = officer.get("/ui/findings/F-nope")
    assert r.status_code == 404 and "no finding F-nope" in r.text
    r = officer.get("/ui/findings?limit=9999")
    assert r.status_code == 422 and "invalid parameters" in r.text


def test_the_trend_counts_open_findings_as_the_headline_does(web: dict[str, Any],
                                                              web_client: Callable[[str], TestClient]) -> None:
    """A waived or false-positive finding is still a violation, but no longer open: the trend drops
    with the headline. A held look back changed nothing, so it adds no point."""
    import datetime as dt

    from engine import clock, pipeline
    from engine.findings import lifecycle
    from engine.findings.schemas import WaiverIn
    from engine.web import dashboard
    from tests.web.conftest import AS_OF

    engine = web["engine"]
    with unit_of_work(engine) as s:
        found = findings_service.list_findings(s, org_id=ORG, filters=FindingFilter(state="open")).items
    assert len(found) >= 3, "the fixture should open a few findings"
    hour = dt.timedelta(hours=1)
    with clock.frozen(AS_OF + hour), unit_of_work(engine) as s:
        lifecycle.waive(s, org_id=ORG, actor="test", finding_id=found[0].id, data=WaiverIn(
            ends_at=AS_OF + dt.timedelta(days=300), reason="on leave", approver="CMO"))
        lifecycle.transition(s, org_id=ORG, finding_id=found[1].id, action="false_positive", actor="test",
                             reason="trained elsewhere")
        lifecycle.transition(s, org_id=ORG, finding_id=found[2].id, action="acknowledge", actor="test")
    with clock.frozen(AS_OF + 2 * hour), unit_of_work(engine) as s:
        second = pipeline.evaluate(s, org_id=ORG, as_of=AS_OF + 2 * hour, actor="test")
    with clock.frozen(AS_OF + 3 * hour), unit_of_work(engine) as s:
        pipeline.evaluate(s, org_id=ORG, as_of=AS_OF - dt.timedelta(days=3), actor="test")  # a look back: held
    assert second.run is not None and second.run.counts["violations"] == len(found)  # still violations
    with unit_of_work(engine) as s:
        chart = dashboard._trend(s, ORG)
    assert [p.value for p in chart.points] == [len(found), len(found) - 2]  # acknowledged is still open
    assert [p.label[:10] for p in chart.points] == [AS_OF.date().isoformat()] * 2
    page = web_client("officer").get("/ui/dashboard").text
    assert f"{len(found)} open findings at the first, {len(found) - 2} at the latest" in page


def test_an_unknown_username_costs_the_same_password_check_as_a_known_one(
        web: dict[str, Any], monkeypatch: pytest.MonkeyPatch) -> None:
    """Answering an unknown name at once told anyone timing the login which usernames exist."""
    from engine.auth import login

    checked: list[str] = []
    real = login.HASHER

    class Counting:
        def verify(self, stored: str, password: str) -> bool:
            checked.append(stored)
            return real.verify(stored, password)

        def hash(self, password: str) -> str:
            return real.hash(password)

    monkeypatch.setattr(login, "HASHER", Counting())
    client = TestClient(web["app"])
    for username in ("officer", "nobody-at-all"):
        page = client.get("/ui/login")
        r = client.post("/ui/login", data={"username": username, "password": "wrong-password",
                                           "csrf_token": csrf_of(page.text), "next": "/ui/"})
        assert r.status_code == 401 and "wrong username or password" in r.text
    assert len(checked) == 2 and all(h.startswith("$argon2") for h in checked)


def test_sop_code_spans_render_as_code_and_everything_else_is_escaped() -> None:
    from engine.web.render import ENV

    out = ENV.from_string("{{ t | code }}").render(t="Record (`course: FIRE_EXT`) <b>now</b> `a<b`")
    assert out == "Record (<code>course: FIRE_EXT</code>) &lt;b&gt;now&lt;/b&gt; <code>a&lt;b</code>"


def test_a_ruleset_version_page_links_its_oscal_catalog_and_profile(web_client: Callable[[str], TestClient]) -> None:
    """Session 48: the OSCAL export (GET /rulesets/{framework}/{version}/oscal/...) is a download from
    the version's page, with the browser's session, for whoever may read the version."""
    browser = web_client("liaison")
    page = browser.get("/ui/rulesets/demo/1.0.0")
    assert page.status_code == 200
    for document in ("catalog", "profile"):
        link = f'href="/rulesets/demo/1.0.0/oscal/{document}" download="demo-1.0.0.{document}.json"'
        assert link in page.text
        got = browser.get(f"/rulesets/demo/1.0.0/oscal/{document}")
        assert got.status_code == 200 and document in got.json(), got.text
