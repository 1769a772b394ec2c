"""A run shown to an auditor limited to some establishments says what of its totals it withholds.

A run's `counts` and `diff` are totals over every establishment it evaluated. Narrowed for a
one-site grant they had come back as `{}` with no word of why, which read as "this run found
nothing". Now the diff is recounted from the run's audit entry for the findings the grant shows,
and what cannot be split is named in `withheld` with the reason; an officer sees the run as stored.
On SQLite and PostgreSQL.
"""

from __future__ import annotations

import datetime as dt
import shutil
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

ORG = "clinic-a"
NOW = dt.datetime(2026, 3, 10, 15, 0, tzinfo=dt.UTC)


@pytest.fixture
def app(engine: Engine, monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Iterator[dict[str, Any]]:
    """Two establishments (E1: EP1, E2: EP2) evaluated twice for `demo`, read by an officer, an
    auditor of every establishment and one of E1 only."""
    shutil.copytree(Path(__file__).resolve().parents[1] / "fixtures" / "rulesets", tmp_path / "rulesets")
    monkeypatch.setenv("VIGIL_RULESETS_DIR", str(tmp_path / "rulesets"))
    monkeypatch.setenv("VIGIL_PRACTICE_PARAMS", str(tmp_path / "practice.yaml"))
    tokens: dict[str, dict[str, str]] = {}
    with clock.frozen(NOW):
        c = TestClient(create_app(engine))
        for name, role, establishments in (("officer", "officer", None), ("auditor", "auditor", None),
                                           ("auditor_e1", "auditor", ["E1"])):
            with unit_of_work(engine) as s:
                user = auth.create_user(s, org_id=ORG, actor="test",
                                        data=UserIn(username=name, password=f"{name}-password", role=role))
                if role == "auditor":  # the establishments first: a grant names known ones only
                    auth.grant_auditor(s, username=name, actor="test", data=GrantIn(
                        framework="demo", window_from=dt.date(2026, 1, 1), window_to=dt.date(2099, 12, 31),
                        establishments=establishments, expires_at=f.grant_expiry()))
                token = auth.issue_token(s, user_id=user.id, name="t", ttl=dt.timedelta(days=1), actor="t").token
                tokens[name] = {"Authorization": f"Bearer {token}"}
            if role == "officer":
                records = [f.establishment("E1"), f.establishment("E2"),
                           f.episode("EP1", "P1", "2026-02-01T09:00:00-06:00"),
                           f.episode("EP2", "P2", "2026-02-01T09:00:00-06:00", est="E2")]
                assert c.post("/records", headers=tokens["officer"], json={"records": records}).status_code == 200
        runs = []
        for as_of in ("2026-03-10T00:00:00Z", "2026-03-10T12:00:00Z"):
            r = c.post("/evaluations", headers=tokens["officer"], json={"as_of": as_of, "frameworks": ["demo"]})
            assert r.status_code == 201, r.text
            runs.append(r.json()["run"]["id"])
        yield {"client": c, "tokens": tokens, "runs": runs}


def _runs(app: dict[str, Any], who: str) -> dict[str, dict[str, Any]]:
    listed = app["client"].get("/evaluations", headers=app["tokens"][who])
    assert listed.status_code == 200, listed.text
    return {r["id"]: r for r in listed.json()}


def test_a_one_site_auditor_is_told_what_is_withheld_and_gets_the_sites_diff(app: dict[str, Any]) -> None:
    first, second = app["runs"]
    stored = _runs(app, "officer")
    assert stored[first]["diff"]["opened"] == 2 and stored[second]["diff"]["persisted"] == 2  # one per site

    seen = _runs(app, "auditor_e1")
    assert set(seen) == {first, second}
    for run_id in (first, second):
        run = seen[run_id]
        assert run["counts"] == {} and set(run["withheld"]) == {"counts", "diff.persisted"}, run
        assert all("establishment E1" in reason for reason in run["withheld"].values()), run["withheld"]
        assert "not kept per establishment" in run["withheld"]["counts"]
        assert "persisted" not in run["diff"] and "audit entry" in run["diff_counted"]
        one = app["client"].get(f"/evaluations/{run_id}", headers=app["tokens"]["auditor_e1"])
        assert one.status_code == 200 and one.json() == run
    # E1's finding, not the practice's two, and not a silent {} (read as "found nothing")
    assert seen[first]["diff"] == {"opened": 1, "reopened": 0, "resolved": 0, "waived": 0}
    assert seen[second]["diff"] == {"opened": 0, "reopened": 0, "resolved": 0, "waived": 0}


def test_an_officer_and_a_whole_practice_auditor_see_the_run_as_stored(app: dict[str, Any]) -> None:
    first, _ = app["runs"]
    stored = _runs(app, "officer")
    assert stored[first]["counts"]["violations"] == 2 and stored[first]["diff"] == {
        "opened": 2, "reopened": 0, "resolved": 0, "persisted": 0, "waived": 0}
    for run in stored.values():
        assert "withheld" not in run and "diff_counted" not in run  # absent, not null: as before
    assert app["client"].get(f"/evaluations/{first}", headers=app["tokens"]["officer"]).json() == stored[first]
    assert _runs(app, "auditor") == stored  # demo alone, every establishment: these are the grant's totals


def test_the_openapi_schema_describes_withheld(app: dict[str, Any]) -> None:
    schema = app["client"].get("/openapi.json").json()["components"]["schemas"]["EvaluationRun"]
    assert "withheld" in schema["properties"] and "withheld" not in schema.get("required", [])
    assert "not zero" in schema["properties"]["withheld"]["description"]
    assert "audit entry" in schema["properties"]["diff_counted"]["description"]
