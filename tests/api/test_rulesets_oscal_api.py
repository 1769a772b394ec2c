"""GET /rulesets/{framework}/{version}/oscal/{catalog|profile}: a version as OSCAL, to whoever may read
the version (an auditor: the granted framework only); an unknown framework, version or document is
not found."""

from __future__ import annotations

import os
import shutil
from pathlib import Path
from typing import Any

import pytest

from engine.rules.oscal_export import export_ruleset
from tests.api.conftest import headers
from tests.unit.packets.test_packet_oscal import schema_errors
from tests.unit.rules.test_oscal_export import SCHEMAS

BASE = "/rulesets/demo/1.0.0/oscal"


@pytest.fixture
def other(api: dict[str, Any], tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> dict[str, Any]:
    """The fixture rulesets and a copy named `other`, outside the auditor's demo grant."""
    root = tmp_path / "two"
    shutil.copytree(os.environ["VIGIL_RULESETS_DIR"], root)
    (root / "other").mkdir()
    text = (root / "demo" / "demo-1.0.0.yaml").read_text().replace("framework: demo", "framework: other", 1)
    (root / "other" / "other-1.0.0.yaml").write_text(text.replace("DEMO-", "OTH-"))
    monkeypatch.setenv("VIGIL_RULESETS_DIR", str(root))
    return api


@pytest.mark.parametrize("document", ["catalog", "profile"])
def test_a_reader_gets_each_document_valid_and_as_the_cli_writes_it(api: dict[str, Any], document: str) -> None:
    r = api["client"].get(f"{BASE}/{document}", headers=headers(api, "liaison"))
    assert r.status_code == 200, r.text
    body = r.json()
    assert schema_errors(body, SCHEMAS[document]) == []
    assert body == export_ruleset("demo", "1.0.0").document(document)
    assert list(body) == [document]


def test_the_control_ids_are_the_packets(api: dict[str, Any]) -> None:
    catalog = api["client"].get(f"{BASE}/catalog", headers=headers(api, "officer")).json()["catalog"]
    assert [c["id"] for c in catalog["groups"][0]["controls"]] == ["demo-test-1", "demo-test-2"]


def test_an_auditor_reads_the_granted_framework_only(other: dict[str, Any]) -> None:
    c, h = other["client"], headers(other, "auditor")
    assert c.get(f"{BASE}/catalog", headers=h).status_code == 200
    assert c.get(f"{BASE}/profile", headers=h).status_code == 200
    r = c.get("/rulesets/other/1.0.0/oscal/catalog", headers=h)
    assert r.status_code == 404 and r.json()["detail"] == "no ruleset other"
    assert c.get("/rulesets/other/1.0.0/oscal/catalog", headers=headers(other, "officer")).status_code == 200


def test_staff_may_not_read_it(api: dict[str, Any]) -> None:
    assert api["client"].get(f"{BASE}/catalog", headers=headers(api, "staff")).status_code == 403


@pytest.mark.parametrize(("path", "detail"), [
    ("/rulesets/dmo/1.0.0/oscal/catalog", "no ruleset for framework 'dmo'"),
    ("/rulesets/demo/9.9.9/oscal/profile", "no ruleset demo@9.9.9"),
    ("/rulesets/demo/1.0.0/oscal/ssp", "no OSCAL document 'ssp'"),
])
def test_an_unknown_framework_version_or_document_is_not_found(api: dict[str, Any], path: str, detail: str) -> None:
    r = api["client"].get(path, headers=headers(api, "officer"))
    assert r.status_code == 404 and r.json()["detail"] == detail, r.text
