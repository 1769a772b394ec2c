"""A record tied to no establishment is judged in the practice's zone, whatever its sites are called.

Found by a time black-box pass: a risk analysis (which names no site) in a practice with a Honolulu
and a New York site was overdue (high) or due soon (medium) depending on whether the Honolulu
site's id sorted first; an incident naming no site moved its annual breach report a whole year.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from engine.cli.main import app


def _records(tmp_path: Path, honolulu_id: str) -> Path:
    lines = [
        {"type": "organization", "id": "default", "name": "Org", "states": ["NY", "HI"], "fte_count": 20},
        {"type": "establishment", "id": honolulu_id, "org_id": "default", "name": "HNL", "naics": "621111",
         "state": "HI", "tz": "Pacific/Honolulu"},
        {"type": "establishment", "id": "E-NYC", "org_id": "default", "name": "NY", "naics": "621111",
         "state": "NY", "tz": "America/New_York"},
        {"type": "system", "id": "EHR", "name": "EHR", "stores_ephi": True, "audit_logging_enabled": True,
         "last_audit_review_at": "2027-01-10T12:00:00Z", "log_retention_days": 3000,
         "added_at": "2025-01-01T12:00:00Z"},
        # 01:00 on 16 January in New York, still 15 January (20:00) in Honolulu
        {"type": "risk_analysis", "id": "RA1", "completed_at": "2026-01-16T06:00:00Z",
         "scope_system_ids": ["EHR"], "approved_by": "CISO"},
    ]
    path = tmp_path / f"{honolulu_id}.ndjson"
    path.write_text("".join(json.dumps(line) + "\n" for line in lines))
    return path


@pytest.mark.parametrize("backend", ["python", "durable"])
def test_the_risk_analysis_due_date_does_not_depend_on_site_ids(tmp_path: Path, backend: str) -> None:
    seen = []
    for honolulu_id in ("E-HNL", "Z-HNL"):
        result = CliRunner().invoke(app, [
            "evaluate", "--records", str(_records(tmp_path, honolulu_id)), "--as-of", "2027-01-16T12:00:00Z",
            "--framework", "hipaa", "--backend", backend, "--json"])
        assert result.exit_code == 0, result.output
        ra = [f for f in json.loads(result.output)["findings"] if f["rule_id"] == "HIPAA-SEC-RA-001"]
        seen.append([(f["state"], f["due"], f["severity"]) for f in ra])
    # a tie of one site each goes to the zone whose day ends first: New York's 16 January
    assert seen[0] == seen[1] == [("due_soon", "2027-01-16", "medium")]
