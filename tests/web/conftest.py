"""The web UI on a fresh SQLite database: one user per role (password `<role>-password`), the test
rulesets and policies, and a few findings (untrained new hires) with their SOP tasks.

`web_client(role)` returns a TestClient signed in through the login form, as a browser would be.
"""

from __future__ import annotations

import datetime as dt
import html
import re
import shutil
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine

from engine import clock, pipeline
from engine import db as dbmod
from engine.api.app import create_app
from engine.auth import service as auth
from engine.auth.schemas import GrantIn, UserIn
from engine.db import unit_of_work
from tests import factories as f

ROLES = ["admin", "officer", "liaison", "auditor", "staff"]
ORG = "clinic-a"
FIXTURES = Path(__file__).resolve().parents[1] / "fixtures"
AS_OF = dt.datetime(2026, 3, 10, 15, 0, tzinfo=dt.UTC)
CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')


def csrf_of(html: str) -> str:
    found = CSRF.search(html)
    assert found, "no CSRF token on the page"
    return found.group(1)


def flash_of(text: str) -> str:
    """The words of the message a page shows after an action (its flash), unescaped."""
    found = re.search(r'<div class="flash flash-\w+" role="\w+">(.*?)</div>', text, re.S)
    assert found, "no message on the page"
    return html.unescape(found.group(1))


def _environment(monkeypatch: pytest.MonkeyPatch, tmp: Path) -> None:
    """Every path the app writes to inside `tmp`; rulesets and practice parameters too, since the
    liaison's pages publish and withdraw versions and change parameters."""
    shutil.copytree(FIXTURES / "rulesets", tmp / "web-rulesets", dirs_exist_ok=True)
    monkeypatch.setenv("VIGIL_RULESETS_DIR", str(tmp / "web-rulesets"))
    monkeypatch.setenv("VIGIL_PRACTICE_PARAMS", str(tmp / "practice.yaml"))
    monkeypatch.setenv("VIGIL_POLICIES_DIR", str(FIXTURES / "policies"))
    monkeypatch.setenv("VIGIL_EVIDENCE_DIR", str(tmp / "evidence"))
    monkeypatch.setenv("VIGIL_PACKET_DIR", str(tmp / "packets"))
    monkeypatch.setenv("VIGIL_KEY_DIR", str(tmp / "keys"))
    monkeypatch.delenv("VIGIL_WEBHOOK_URL", raising=False)


def _prepare(engine: Engine) -> None:
    with unit_of_work(engine) as s:
        for role in ROLES:
            auth.create_user(s, org_id=ORG, actor="test", data=UserIn(
                username=role, password=f"{role}-password", role=role,
                person_id="P-HR1" if role == "staff" else None))
        auth.grant_auditor(s, username="auditor", actor="test", data=GrantIn(
            framework="demo", window_from=dt.date(2026, 1, 1), window_to=dt.date(2026, 12, 31),
            expires_at=f.grant_expiry()))
    records = [f.establishment("E1"), f.establishment("E2", tz="America/New_York", state="NY", name="East clinic"),
               f.episode("EP1", "P1", "2026-02-01T09:00:00-06:00"),
               f.episode("EP2", "P2", "2026-02-02T09:00:00-06:00"),
               f.episode("EP3", "P3", "2026-02-05T09:00:00-05:00", est="E2"),
               {"type": "person", "id": "P1", "first_name": "Ana", "last_name": "Diaz"},
               {"type": "credential", "id": "C1", "person_id": "P1", "kind": "BLS",
                "expires_at": "2026-04-01T00:00:00-05:00"},
               {"type": "credential", "id": "C2", "person_id": "P2", "kind": "ACLS",
                "expires_at": "2027-04-01T00:00:00-05:00"}]
    with clock.frozen(AS_OF), unit_of_work(engine) as s:
        pipeline.ingest_records(s, org_id=ORG, records=records, actor="test", source="test", stream=False)
    with clock.frozen(AS_OF), unit_of_work(engine) as s:
        pipeline.evaluate(s, org_id=ORG, as_of=AS_OF, actor="test")


@pytest.fixture(scope="session")
def web_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The prepared database, built once per session; each test works on its own copy."""
    tmp = tmp_path_factory.mktemp("web-template")
    with pytest.MonkeyPatch.context() as mp:
        _environment(mp, tmp)
        engine = dbmod.make_engine(f"sqlite:///{tmp / 'template.db'}")
        dbmod.init_db(engine)
        _prepare(engine)
        engine.dispose()
    return tmp / "template.db"


@pytest.fixture
def web(web_template: Path, monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Iterator[dict[str, Any]]:
    _environment(monkeypatch, tmp_path)
    target = tmp_path / "web.db"
    shutil.copyfile(web_template, target)
    engine = dbmod.make_engine(f"sqlite:///{target}")
    yield {"app": create_app(engine), "engine": engine, "tmp": tmp_path}
    engine.dispose()


def login(app: Any, role: str, password: str | None = None) -> TestClient:
    client = TestClient(app)
    page = client.get("/ui/login")
    assert page.status_code == 200
    r = client.post("/ui/login", data={"username": role, "password": password or f"{role}-password",
                                       "csrf_token": csrf_of(page.text), "next": "/ui/"}, follow_redirects=False)
    assert r.status_code == 303, r.text[:500]
    return client


@pytest.fixture
def web_client(web: dict[str, Any]) -> Callable[[str], TestClient]:
    return lambda role: login(web["app"], role)
