"""`vigil params set` from today, then `vigil evaluate`: a departure before the change is judged by
the window in force when it happened, one after by the new window, on both backends."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import pytest

from engine.rules.catalog import RULESETS_DIR
from tests.cli.conftest import Practice, vigil

TODAY = dt.datetime(2026, 12, 7, 15, tzinfo=dt.UTC)
RECORDS = [
    {"type": "establishment", "id": "E1", "name": "Main", "tz": "America/Chicago", "state": "IL",
     "naics": "621111", "holiday_calendar": "US-FEDERAL"},
    # left 14 October, disabled 10 hours later: on time under the 24 hours then in force
    {"type": "employment_episode", "id": "EP1", "person_id": "P1", "establishment_id": "E1",
     "start_at": "2026-01-05T09:00:00-06:00", "end_at": "2026-10-14T17:00:00-05:00", "phi_access_required": True},
    {"type": "account", "id": "A1", "person_id": "P1", "system_id": "EHR", "user_id": "jdoe",
     "enabled_at": "2026-01-05T09:00:00-06:00", "disabled_at": "2026-10-15T08:00:00Z"},
    # left today at 12:00 CST, disabled 5 hours later: late under the 4 hours in force today
    {"type": "employment_episode", "id": "EP2", "person_id": "P2", "establishment_id": "E1",
     "start_at": "2026-01-05T09:00:00-06:00", "end_at": "2026-12-07T12:00:00-06:00", "phi_access_required": True},
    {"type": "account", "id": "A2", "person_id": "P2", "system_id": "EHR", "user_id": "asmith",
     "enabled_at": "2026-01-05T09:00:00-06:00", "disabled_at": "2026-12-07T23:00:00Z"},
]


@pytest.mark.parametrize("backend", ["python", "durable"])
def test_a_tightened_window_leaves_earlier_departures_as_they_were(
        practice: Practice, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, backend: str) -> None:
    monkeypatch.setenv("VIGIL_RULESETS_DIR", str(RULESETS_DIR))
    (tmp_path / "practice.yaml").write_text("params: {}\n")
    monkeypatch.setenv("VIGIL_PRACTICE_PARAMS", str(tmp_path / "practice.yaml"))
    records = tmp_path / "records.ndjson"
    records.write_text("".join(json.dumps(r) + "\n" for r in RECORDS))

    def term_findings() -> dict[str, dict[str, object]]:
        result = vigil("evaluate", "--records", str(records), "--as-of", "2026-12-08T02:00:00Z", "--framework",
                       "hipaa", "--backend", backend, "--json", at=TODAY)
        assert result.exit_code == 0, result.output
        findings = json.loads(result.stdout)["findings"]
        return {f"{f['subject']['type']}/{f['subject']['id']}": f for f in findings
                if f["rule_id"] == "HIPAA-SEC-TERM-004"}

    assert term_findings() == {}  # 10 and 5 hours: both within the default 24
    changed = vigil("params", "set", "hipaa", "access_revoke_hours", "4", "--approved-by", "Dr. Rivera",
                    "--reason", "policy 7.3: 4 hours from today", *practice.args(), at=TODAY)
    assert changed.exit_code == 0, changed.output
    found = term_findings()
    assert list(found) == ["account/A2"], found  # A1 left in October, under the 24 hours then in force
    assert found["account/A2"]["state"] == "violation"


def test_runs_show_names_the_dated_values_a_run_used(
        practice: Practice, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("VIGIL_RULESETS_DIR", str(RULESETS_DIR))
    (tmp_path / "practice.yaml").write_text("params: {}\n")
    monkeypatch.setenv("VIGIL_PRACTICE_PARAMS", str(tmp_path / "practice.yaml"))
    changed = vigil("params", "set", "hipaa", "access_revoke_hours", "4", "--approved-by", "Dr. Rivera",
                    "--reason", "policy 7.3", *practice.args(), at=TODAY)
    assert changed.exit_code == 0, changed.output
    records = tmp_path / "records.ndjson"
    records.write_text("".join(json.dumps(r) + "\n" for r in RECORDS))
    evaluated = vigil("evaluate", "--records", str(records), "--as-of", "2026-12-08T02:00:00Z", "--framework",
                      "hipaa", *practice.args(), "--json", at=TODAY)
    assert evaluated.exit_code == 0, evaluated.output
    runs = vigil("runs", *practice.args(), "--json", at=TODAY)
    assert runs.exit_code == 0, runs.output
    latest = json.loads(runs.stdout)[0]
    assert latest["param_history"] == {"hipaa": {"access_revoke_hours": [[None, 24], ["2026-12-07", 4]]}}
    shown = vigil("runs", "show", latest["id"], *practice.args(), at=TODAY)
    assert shown.exit_code == 0, shown.output
    assert "hipaa.access_revoke_hours 24, 4 from 2026-12-07" in " ".join(shown.stdout.split())
