"""An employment episode naming no person raises no credential findings.

Session 48's contract pass: a licensed clinician's episode without `person_id` had been filed under
nobody by the credentialing derivations, raising findings whose subject was a derived fact with no
id (`{"type": "cred_card_standing", "id": "/BLS"}`) and whose messages read "(registered_nurse) has
no BLS card". No record could ever resolve them; the import names the episode instead.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from engine.cli.main import app

SITE = {"type": "establishment", "id": "EST-1", "state": "NY", "tz": "America/New_York", "naics": "621111"}
EPISODE = {"type": "employment_episode", "id": "E-1", "establishment_id": "EST-1", "role": "registered_nurse",
           "start_at": "2025-01-02T08:00:00-05:00", "licensed_clinician": True}


def _cred_findings(tmp_path: Path, backend: str, episode: dict[str, object]) -> list[tuple[str, dict[str, str]]]:
    path = tmp_path / "records.ndjson"
    path.write_text("".join(json.dumps(r) + "\n" for r in (SITE, episode)))
    result = CliRunner().invoke(app, ["evaluate", "--records", str(path), "--as-of", "2025-03-01T00:00:00Z",
                                      "--framework", "credentialing", "--backend", backend, "--json"])
    assert result.exit_code == 0, result.output
    return [(f["rule_id"], f["subject"]) for f in json.loads(result.output)["findings"]]


@pytest.mark.parametrize("backend", ["python", "durable"])
def test_an_episode_of_no_one_raises_no_credential_finding(tmp_path: Path, backend: str) -> None:
    assert _cred_findings(tmp_path, backend, EPISODE) == []
    # the same episode of a person: the credential duties are judged, each about that person
    found = _cred_findings(tmp_path, backend, {**EPISODE, "person_id": "P-1"})
    assert found and all(subject == {"type": "person", "id": "P-1"} for _, subject in found), found
