"""A REST client over an engine the test set up itself, signed in as one user of a role."""

from __future__ import annotations

import datetime as dt

from fastapi.testclient import TestClient
from sqlalchemy import Engine

from engine import db
from engine.api.app import create_app
from engine.auth import service as auth
from engine.auth.schemas import UserIn


def bearer_client(engine: Engine, *, org_id: str, role: str = "officer") -> tuple[TestClient, dict[str, str]]:
    """The app over `engine` and the Authorization header of a new `role` user of `org_id`."""
    with db.unit_of_work(engine) as s:
        user = auth.create_user(s, org_id=org_id, actor="test",
                                data=UserIn(username=role, password=f"{role}-password", role=role))
        token = auth.issue_token(s, user_id=user.id, name="t", ttl=dt.timedelta(days=1), actor="t").token
    return TestClient(create_app(engine)), {"Authorization": f"Bearer {token}"}
