"""The QPP submission for a practice whose records write the TIN with a dash (84-7102935, as the demo
practice does): the request may give either form, every case with the same 9 digits counts, and the
body carries the 9 digits QPP requires. On the service (SQLite and PostgreSQL), the CLI and REST."""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine

from engine import clock
from engine.db import unit_of_work
from engine.errors import InputError
from engine.records import service as records_service
from engine.reports import qpp
from tests.cli.conftest import ENV_CLEARED, said, vigil
from tests.clients import bearer_client
from tests.conftest import REPO

ORG = "clinic-tin"
NOW = dt.datetime(2026, 2, 10, 15, tzinfo=dt.UTC)
DASHED, DIGITS = "84-7102935", "847102935"


def _mcase(i: int, measure: str, tin: str = DASHED, **kw: Any) -> dict[str, Any]:
    return {"type": "measure_case", "id": f"MC{measure}-{i}", "py": 2025, "measure_id": measure, "tin": tin,
            "clinician_npi": "9876543213", "patient_id": f"P{i}", "eligible": True, "excluded": False,
            "exception": False, "met": i % 2 == 0, "reported": True} | kw


RECORDS: list[dict[str, Any]] = [
    {"type": "organization", "id": "ORG", "name": "Example Health Partners LLC"},
    *[_mcase(i, "236") for i in range(6)],
    _mcase(6, "236", tin=DIGITS),  # the same TIN written without the dash: the same reporting entity
    *[_mcase(i, "134", tin="36-4418207") for i in range(4)],  # another TIN
]


@pytest.fixture(autouse=True)
def _shipped_rulesets(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """The shipped rulesets (the cms parameters in force), nothing from the shell."""
    for name in ENV_CLEARED:
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("VIGIL_RULESETS_DIR", str(REPO / "rulesets"))
    monkeypatch.setenv("VIGIL_POLICIES_DIR", str(REPO / "policies"))
    monkeypatch.setenv("VIGIL_PRACTICE_PARAMS", str(tmp_path / "practice.yaml"))


def _load(engine: Engine) -> Engine:
    with clock.frozen(NOW), unit_of_work(engine) as s:
        records_service.import_records(s, org_id=ORG, records=RECORDS, actor="test", source="test")
    return engine


@pytest.fixture
def db(engine: Engine) -> Engine:
    return _load(engine)


def _qpp(engine: Engine, **kw: Any) -> Any:
    with clock.frozen(NOW), unit_of_work(engine) as s:
        return qpp.build_qpp_submission(s, org_id=ORG, year=2025, **kw)


@pytest.mark.parametrize(("value", "digits"), [
    ("847102935", "847102935"), ("84-7102935", "847102935"), (" 84-7102935 ", "847102935"),
    ("847-10-2935", "847102935"), (847102935, "847102935"),
    ("84-71029", None), ("8471029350", None), ("84 7102935", None), ("847-102935", None), ("", None), (None, None),
])
def test_normalize_tin(value: object, digits: str | None) -> None:
    assert qpp.normalize_tin(value) == digits


@pytest.mark.parametrize("asked", [DASHED, DIGITS])
def test_a_dashed_tin_in_the_records_is_found_in_either_form(db: Engine, asked: str) -> None:
    report = _qpp(db, tin=asked)
    sub = report.submission
    assert sub["taxpayerIdentificationNumber"] == DIGITS and report.tin == DIGITS
    assert qpp.check_submission(sub) == [] and report.ready
    (measurement,) = sub["measurementSets"][0]["measurements"]
    assert measurement["measureId"] == "236"
    assert measurement["value"]["eligiblePopulation"] == 7  # six dashed cases and one written without the dash
    assert (measurement["value"]["performanceMet"], measurement["value"]["performanceNotMet"]) == (4, 3)
    assert [m["tin"] for m in report.measures] == [DIGITS]
    assert any(DASHED in n.reason and "9 digits" in n.reason for n in report.notes)


def test_the_other_tin_and_bad_tins(db: Engine) -> None:
    report = _qpp(db, tin="364418207")
    assert report.submission["taxpayerIdentificationNumber"] == "364418207"
    assert [m["measure"] for m in report.measures] == ["134"]
    for bad in ("84-71029", "84_7102935", "TIN847102935"):
        with pytest.raises(InputError) as exc:
            _qpp(db, tin=bad)
        assert exc.value.code == "report.input" and "9 digits" in exc.value.message, bad
    with pytest.raises(InputError) as exc:
        _qpp(db, tin="11-1111111")
    assert exc.value.code == "report.no_data" and "TIN 111111111" in exc.value.message


@pytest.mark.parametrize("asked", [DASHED, DIGITS])
def test_cli_report_qpp_with_a_dashed_tin(sqlite_engine: Engine, tmp_path: Path, asked: str) -> None:
    _load(sqlite_engine)
    url = str(sqlite_engine.url)
    out = tmp_path / "qpp.json"
    r = vigil("report", "qpp", "--year", "2025", "--tin", asked, "--out", str(out), "--db", url, "--org", ORG, at=NOW)
    assert r.exit_code == 0, r.output
    sub = json.loads(out.read_text())
    assert sub["taxpayerIdentificationNumber"] == DIGITS
    assert sub["measurementSets"][0]["measurements"][0]["value"]["eligiblePopulation"] == 7
    assert f"records write TIN {DIGITS} as {DASHED}" in said(r.stderr) and "NOT READY" not in r.stderr
    r = vigil("report", "qpp", "--year", "2025", "--tin", "84-71029", "--db", url, "--org", ORG, at=NOW)
    assert r.exit_code == 2 and "with or without the dash" in said(r.stderr), r.output


@pytest.fixture
def client(sqlite_engine: Engine) -> Iterator[tuple[TestClient, dict[str, str]]]:
    _load(sqlite_engine)
    yield bearer_client(sqlite_engine, org_id=ORG)


@pytest.mark.parametrize("asked", [DASHED, DIGITS])
def test_rest_reports_qpp_with_a_dashed_tin(client: tuple[TestClient, dict[str, str]], asked: str) -> None:
    app, headers = client
    with clock.frozen(NOW):
        r = app.get("/reports/qpp", headers=headers, params={"year": 2025, "tin": asked})
        assert r.status_code == 200, r.text
        body = r.json()
        assert body["tin"] == DIGITS and body["submission"]["taxpayerIdentificationNumber"] == DIGITS
        assert body["ready"] is True and body["measures"][0]["eligible_n"] == 7
        bad = app.get("/reports/qpp", headers=headers, params={"year": 2025, "tin": "84-71029"})
        assert bad.status_code == 422, bad.text
