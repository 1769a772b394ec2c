"""JSON request bodies: each field takes its own JSON type (a quoted number or a word for a flag is a
422 on the field, not carried out as something else), and a body that is not JSON, or not UTF-8,
is a 422 on `body` that says what is wrong and where."""

from __future__ import annotations

import datetime as dt
import types
import typing
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from engine import clock
from tests import factories as f
from tests.api.conftest import headers
from tests.api.test_input_hardening import _body_models

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures"


def _signed_in(api: dict[str, Any], role: str = "officer") -> TestClient:
    """A client signed in with a session (POST /tokens takes a session, not a token)."""
    client = TestClient(api["app"])
    r = client.post("/auth/login", json={"username": role, "password": f"{role}-password"})
    assert r.status_code == 200, r.text
    return client


def _problem(r: Any) -> list[dict[str, Any]]:
    assert r.status_code == 422, r.text
    assert r.headers["content-type"].startswith("application/problem+json")
    errors: list[dict[str, Any]] = r.json()["errors"]
    return errors


@pytest.fixture
def task(api: dict[str, Any], monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> dict[str, Any]:
    """One finding's task (DEMO-TRN-001 for EP1, evaluated on 10 March 2026), with its checklist."""
    for name, value in (("VIGIL_POLICIES_DIR", FIXTURES / "policies"), ("VIGIL_EVIDENCE_DIR", tmp_path / "evidence")):
        monkeypatch.setenv(name, str(value))
    c, h = api["client"], headers(api, "officer")
    records = [f.establishment(), f.episode("EP1", "P1", "2026-02-01T09:00:00-06:00"),
               {"type": "person", "id": "P1", "first_name": "Ana", "last_name": "Diaz"}]
    assert c.post("/records", headers=h, json={"records": records}).status_code == 200
    assert c.post("/evaluations", headers=h, json={"as_of": "2026-03-10T00:00:00Z"}).status_code == 201
    (item,) = c.get("/tasks", headers=h).json()["items"]
    assert item["checklist"], "the fixture SOP has steps"
    return dict(item)


# -- wrong JSON types are refused, not coerced -----------------------------------------------------------


@pytest.mark.parametrize("days", [True, "30", 30.0, "1"])
def test_a_token_lifetime_must_be_a_json_integer(api: dict[str, Any], days: Any) -> None:
    """`"days": true` made a 1-day token and `"days": "30"` a 30-day one."""
    client = _signed_in(api)
    before = client.get("/tokens").json()
    errors = _problem(client.post("/tokens", json={"name": "script", "days": days}))
    assert [e["field"] for e in errors] == ["body.days"] and "integer" in errors[0]["reason"]
    assert client.get("/tokens").json() == before  # no token was made
    ok = client.post("/tokens", json={"name": "script", "days": 30})
    assert ok.status_code == 201, ok.text


@pytest.mark.parametrize("done", ["yes", "false", 0, 1, None])
def test_ticking_a_step_takes_a_json_boolean(api: dict[str, Any], task: dict[str, Any], done: Any) -> None:
    """`{"done": "yes"}` ticked the step and `{"done": 0}` unticked it."""
    c, h = api["client"], headers(api, "officer")
    errors = _problem(c.post(f"/tasks/{task['id']}/steps/1", headers=h, json={"done": done}))
    assert [e["field"] for e in errors] == ["body.done"] and "boolean" in errors[0]["reason"]
    assert c.get(f"/tasks/{task['id']}", headers=h).json()["checklist"][0]["done"] is False
    ticked = c.post(f"/tasks/{task['id']}/steps/1", headers=h, json={"done": True})
    assert ticked.status_code == 200 and ticked.json()["checklist"][0]["done"] is True


def test_redacting_a_packet_takes_a_json_boolean(api: dict[str, Any], tmp_path: Path,
                                                 monkeypatch: pytest.MonkeyPatch) -> None:
    """`"redact_phi": "yes"` built a redacted packet; the dates stay ISO text."""
    monkeypatch.setenv("VIGIL_PACKET_DIR", str(tmp_path / "packets"))
    monkeypatch.setenv("VIGIL_KEY_DIR", str(tmp_path / "keys"))
    c, h = api["client"], headers(api, "officer")
    assert c.post("/records", headers=h, json={"records": [f.establishment()]}).status_code == 200
    assert c.post("/evaluations", headers=h, json={"as_of": "2026-03-10T00:00:00Z"}).status_code == 201
    body = {"framework": "demo", "from": "2026-01-01", "to": "2026-12-31", "redact_phi": "yes"}
    errors = _problem(c.post("/packets", headers=h, json=body))
    assert [e["field"] for e in errors] == ["body.redact_phi"]
    assert not list((tmp_path / "packets").glob("*.zip"))
    now = clock.now().isoformat()  # an instant, as ISO text: the database as it is now
    built = c.post("/packets", headers=h, json={**body, "redact_phi": True, "as_of": now})
    assert built.status_code == 201 and built.json()["redacted"] is True, built.text


@pytest.mark.parametrize("path, body, field", [
    ("/auth/login", {"username": 1, "password": "x"}, "body.username"),
    ("/findings/F-1/comments", {"text": 5}, "body.text"),
    ("/evaluations", {"frameworks": ["demo", 1]}, "body.frameworks.1"),
    ("/users", {"username": "someone", "password": 1234567890123, "role": "staff"}, "body.password"),
    ("/users/auditor/grants", {"framework": "demo", "window_from": "2026-01-01", "window_to": "2026-12-31",
                               "establishments": [7], "expires_at": "2099-01-01T00:00:00Z"}, "body.establishments.0"),
])
def test_a_number_is_not_a_string(api: dict[str, Any], path: str, body: dict[str, Any], field: str) -> None:
    r = api["client"].post(path, headers=headers(api, "admin" if path.startswith("/users") else "officer"), json=body)
    assert field in [e["field"] for e in _problem(r)]


def test_instants_and_dates_are_still_read_from_iso_text(api: dict[str, Any]) -> None:
    body = {"framework": "demo", "window_from": "2026-01-01", "window_to": "2026-12-31",
            "expires_at": f"{f.grant_expiry():%Y-%m-%dT%H:%M:%S}Z"}
    r = api["client"].post("/users/auditor/grants", headers=headers(api, "admin"), json=body)
    assert r.status_code == 201, r.text
    assert r.json()["window_from"] == "2026-01-01"


def test_every_json_body_takes_json_types_only(api: dict[str, Any]) -> None:
    """Each route's JSON body is read into a `JsonBody`: a new body model that is not refuses nothing
    it should, as the first of them did."""
    from engine.json_body import JsonBody

    models = _body_models(api["app"])
    assert len(models) >= 15
    loose = [f"{route}: {model.__name__}" for route, model in models if not issubclass(model, JsonBody)]
    assert not loose, f"body models that coerce JSON types: {loose}"
    optional = [route for route, model in _optional_body_models(api["app"]) if not issubclass(model, JsonBody)]
    assert not optional, optional


def _optional_body_models(app: Any) -> list[tuple[str, type]]:
    """Bodies declared `Model | None` (a transition's reason), which `_body_models` leaves out."""
    from pydantic import BaseModel

    from engine.api.deps import api_routes

    out = []
    for prefix, route in api_routes(app):
        for param in route.dependant.body_params:
            annotation = getattr(param.field_info, "annotation", None)
            if typing.get_origin(annotation) in (typing.Union, types.UnionType):
                out += [(f"{prefix}{route.path}", a) for a in typing.get_args(annotation)
                        if isinstance(a, type) and issubclass(a, BaseModel)]
    return out


def test_the_cli_and_the_forms_build_the_same_models_from_typed_values() -> None:
    """What the faces other than the API pass (typed values, not JSON) goes through unchanged."""
    from engine.findings.schemas import WaiverIn

    ends = dt.datetime(2027, 1, 1, tzinfo=dt.UTC)
    waiver = WaiverIn(ends_at=ends, reason="on leave", approver="CMO", establishment_id=None)
    assert waiver.ends_at == ends
    assert WaiverIn.model_validate({"ends_at": "2027-01-01T00:00:00Z", "reason": "on leave",
                                    "approver": "CMO"}).ends_at == ends


# -- a body that is not JSON says what is wrong and where ------------------------------------------------


@pytest.mark.parametrize("raw, said", [
    (b'{"text": "abc', "not valid JSON: unterminated string starting at line 1 column 10"),
    (b"{'text':'x'}", "not valid JSON: expecting property name enclosed in double quotes at line 1 column 2"),
    (b'{\n  "text": "x"\n  "more": 1}', "not valid JSON: expecting ',' delimiter at line 3 column 3"),
    (b"", None),
])
def test_a_body_that_is_not_json_says_what_and_where(api: dict[str, Any], raw: bytes, said: str | None) -> None:
    """It was `{"field": "body.9", "reason": "JSON decode error"}`: a field named 9."""
    h = {**headers(api, "officer"), "Content-Type": "application/json"}
    r = api["client"].post("/findings/F-1/comments", headers=h, content=raw)
    errors = _problem(r)
    if said is None:  # no body at all: the body is missing, as before
        assert errors == [{"field": "body", "reason": "Field required"}]
        return
    assert errors == [{"field": "body", "reason": said}]


def test_a_body_that_is_not_utf8_is_a_422_naming_the_byte(api: dict[str, Any]) -> None:
    """It was `400 http.400 "There was an error parsing the body"` with no errors listed."""
    h = {**headers(api, "officer"), "Content-Type": "application/json"}
    r = api["client"].post("/findings/F-1/comments", headers=h, content=b'{"text": "caf\xe9 au lait"}')
    errors = _problem(r)
    assert r.json()["code"] == "input.request"
    assert errors == [{"field": "body", "reason": "not UTF-8 text at byte 13: send JSON as UTF-8"}]


def test_a_body_of_wrong_types_from_someone_not_signed_in_is_a_401_first(api: dict[str, Any]) -> None:
    """The sign-in check comes before the body's fields, as before: a 422 had described them to anyone."""
    r = api["client"].post("/findings/F-1/comments", headers={"Content-Type": "application/json"},
                           content=b'{"text": 5}')
    assert r.status_code == 401
