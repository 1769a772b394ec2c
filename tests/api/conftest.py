"""An app on a fresh database with one user per role; clients authenticated by bearer token."""

from __future__ import annotations

import datetime as dt
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine

from engine.api.app import create_app
from engine.auth import service as auth
from engine.auth.schemas import GrantIn, UserIn
from engine.db import unit_of_work
from tests.factories import grant_expiry

ROLES = ["admin", "officer", "liaison", "auditor", "staff"]
ORG = "clinic-a"


@pytest.fixture
def api(sqlite_engine: Engine, monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Iterator[dict[str, object]]:
    # copies: the liaison's routes publish and withdraw versions and change parameters
    shutil.copytree(Path(__file__).resolve().parents[1] / "fixtures" / "rulesets", tmp_path / "api-rulesets")
    monkeypatch.setenv("VIGIL_RULESETS_DIR", str(tmp_path / "api-rulesets"))
    monkeypatch.setenv("VIGIL_PRACTICE_PARAMS", str(tmp_path / "practice.yaml"))
    tokens: dict[str, str] = {}
    with unit_of_work(sqlite_engine) as s:
        users = {role: auth.create_user(s, org_id=ORG, actor="test",
                                        data=UserIn(username=role, password=f"{role}-password", role=role))
                 for role in ROLES}
        # the grant first: giving one ends the auditor's tokens made before it
        auth.grant_auditor(s, username="auditor", actor="test", data=GrantIn(
            framework="demo", window_from=dt.date(2026, 1, 1), window_to=dt.date(2099, 12, 31),  # findings open "now"
            expires_at=grant_expiry()))
        for role, user in users.items():
            tokens[role] = auth.issue_token(s, user_id=user.id, name="t", ttl=dt.timedelta(days=1), actor="t").token
    app = create_app(sqlite_engine)
    yield {"client": TestClient(app), "tokens": tokens, "engine": sqlite_engine, "app": app}


def headers(api: dict[str, object], role: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {api['tokens'][role]}"}  # type: ignore[index]
