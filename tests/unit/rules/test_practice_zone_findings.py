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
    # a tie of one site each goes west: completed on Honolulu's 15 January, so due a year on from
    # that date (never later than at either site; it had been New York's 16 January)
    assert seen[0] == seen[1] == [("overdue", "2027-01-15", "high")]


@pytest.mark.parametrize("backend", ["python", "durable"])
def test_a_new_years_eve_breach_at_no_site_is_not_put_off_a_year(tmp_path: Path, backend: str) -> None:
    """Session 48's deadline pass: a breach discovered at 22:00 on 31 December in Los Angeles, naming
    no site, in a practice with one Los Angeles and one New York site. The tie had gone east, to New
    York's 1 January: the 60-day notice fell a day late and the annual HHS report (under 500) a year."""
    lines = [
        {"type": "establishment", "id": "E-LA", "tz": "America/Los_Angeles", "state": "CA"},
        {"type": "establishment", "id": "E-NY", "tz": "America/New_York", "state": "NY"},
        {"type": "incident", "id": "I1", "discovered_at": "2025-12-31T22:00:00-08:00", "phi_involved": True,
         "unsecured": True, "determination": "breach", "determination_at": "2026-01-05T10:00:00-08:00",
         "four_factor_documented": True, "affected_total": 40},
    ]
    path = tmp_path / "breach.ndjson"
    path.write_text("".join(json.dumps(line) + "\n" for line in lines))
    result = CliRunner().invoke(app, [
        "evaluate", "--records", str(path), "--as-of", "2026-03-02T12:00:00Z", "--framework", "hipaa",
        "--backend", backend, "--json"])
    assert result.exit_code == 0, result.output
    due = {f["rule_id"]: (f["state"], f["due"]) for f in json.loads(result.output)["findings"]}
    assert due["HIPAA-BRN-IND-011"] == ("overdue", "2026-03-01")
    assert due["HIPAA-BRN-HHS-012"] == ("overdue", "2026-03-01")
