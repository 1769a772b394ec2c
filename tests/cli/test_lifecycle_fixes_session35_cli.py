"""The CLI after a lifecycle black-box pass: `vigil findings close` for a finding about an event,
a waiver's end said as the day it runs through in every command, and an hour deadline shown in
its establishment's local time in `findings list` and the evaluate table (`--json` unchanged)."""

from __future__ import annotations

import datetime as dt
import json
import shutil
from pathlib import Path

import pytest

from tests.cli.conftest import AT, FIXTURES, Practice, crashed, said, vigil


def _ids(practice: Practice, rule: str) -> list[str]:
    listed = json.loads(vigil("findings", "list", "--rule", rule, "--json", *practice.args()).stdout)
    return [f["id"] for f in listed["items"]]


def test_a_rule_filter_typed_in_lower_case_matches(practice: Practice) -> None:
    """Rule ids are upper case; `--rule demo-export-002` had matched nothing (the web's filter matched)."""
    assert _ids(practice, " demo-export-002") == _ids(practice, "DEMO-EXPORT-002") != []


def test_findings_close_closes_an_event_finding_which_the_next_evaluation_leaves_closed(practice: Practice) -> None:
    fid = _ids(practice, "DEMO-EXPORT-002")[0]
    closed = vigil("findings", "close", fid, "--reason", "export recalled, user retrained", *practice.args())
    assert closed.exit_code == 0, closed.output
    assert f"{fid}: close done (resolved, violation)" in closed.stdout
    later = AT + dt.timedelta(hours=2)
    evaluated = vigil("evaluate", "--as-of", later.isoformat(), *practice.args(), at=later)
    assert evaluated.exit_code == 0, evaluated.output
    shown = said(vigil("findings", "show", fid, *practice.args(), at=later).stdout)
    assert "· resolved ·" in shown and "by cli:" in shown and ": export recalled, user retrained" in shown
    task = json.loads(vigil("tasks", "list", "--finding", fid, "--json", *practice.args()).stdout)["items"][0]
    assert task["state"] == "closed"


def test_findings_close_refuses_a_condition_that_still_holds_and_a_blank_reason(practice: Practice) -> None:
    (deadline,) = _ids(practice, "DEMO-TRN-001")
    refused = vigil("findings", "close", deadline, "--reason", "trained", *practice.args())
    assert refused.exit_code == 1 and not crashed(refused)
    assert "reports a condition that still holds" in said(refused.stderr)
    event = _ids(practice, "DEMO-EXPORT-002")[0]
    blank = vigil("findings", "close", event, "--reason", " ", *practice.args())
    assert blank.exit_code == 2 and "--reason must not be blank" in said(blank.stderr)


def test_a_waivers_end_reads_as_the_day_it_runs_through_in_waive_show_and_waivers(practice: Practice) -> None:
    (fid,) = _ids(practice, "DEMO-TRN-001")
    granted = vigil("findings", "waive", fid, "--until", "2026-12-10T00:00:00Z", "--reason", "on leave",
                    "--approver", "CMO", *practice.args())
    assert granted.exit_code == 0, granted.output
    assert " through 2026-12-09 (UTC): it waives this finding" in said(granted.stdout)
    assert "through 2026-12-09 (UTC)" in said(vigil("findings", "show", fid, *practice.args()).stdout)
    table = vigil("findings", "waivers", *practice.args())
    assert "through 2026-12-09 (UTC)" in table.stdout and "2026-12-10T00:00:00" not in table.stdout
    listed = json.loads(vigil("findings", "waivers", "--json", *practice.args()).stdout)
    assert listed[0]["ends_at"] == "2026-12-10T00:00:00Z"  # --json keeps the instant


#: A rule with an hour deadline (24 h after a departure), for the due column.
HOURS_RULESET = """\
framework: hrs
version: 1.0.0
title: Hour deadline test ruleset
effective_from: 2026-01-01
authority: test
rules:
  - id: HRS-OFF-001
    title: Leavers are debriefed within 24 hours
    citation: test 3(c)
    severity: high
    match:
      episode: employment_episode where end_at != null
    subject: episode
    obligation:
      anchor: episode.end_at
      within: {hours: 24}
      met_by: training_record where person_id == episode.person_id and completed_at >= episode.end_at
      met_at: completed_at
    message: Debrief {{ episode.person_id }} by {{ due }}.
    sop: SOP-DEMO
"""
RECORDS = [
    {"type": "establishment", "id": "E1", "tz": "America/Chicago", "state": "IL", "holiday_calendar": "US-FEDERAL"},
    {"type": "employment_episode", "id": "EP9", "person_id": "P9", "establishment_id": "E1",
     "start_at": "2026-01-05T09:00:00-06:00", "end_at": "2026-11-26T15:00:00-06:00", "phi_access_required": True},
]


def test_an_hour_deadline_reads_in_its_establishments_local_time(cli_env: Path,
                                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    rulesets = cli_env / "rulesets"
    shutil.copytree(FIXTURES / "rulesets", rulesets)
    (rulesets / "hrs").mkdir()
    (rulesets / "hrs" / "hrs-1.0.0.yaml").write_text(HOURS_RULESET)
    monkeypatch.setenv("VIGIL_RULESETS_DIR", str(rulesets))
    records = cli_env / "records.ndjson"
    records.write_text("".join(json.dumps(r) + "\n" for r in RECORDS))
    at = dt.datetime(2026, 11, 28, 12, tzinfo=dt.UTC)
    args = ["--records", str(records), "--as-of", "2026-11-28T12:00:00Z", "--framework", "hrs"]
    table = vigil("evaluate", *args, at=at)
    assert table.exit_code == 0, table.output
    assert "2026-11-27 15:00 CST" in table.stdout and "2026-11-27T21:00:00Z" not in table.stdout
    as_json = json.loads(vigil("evaluate", *args, "--json", at=at).stdout)
    assert as_json["findings"][0]["due"] == "2026-11-27T21:00:00Z"

    db = ["--db", f"sqlite:///{cli_env / 'hours.db'}"]
    assert vigil("evaluate", *args, *db, at=at).exit_code == 0
    listed = vigil("findings", "list", "--sort", "due", *db, at=at)
    assert listed.exit_code == 0, listed.output
    assert "2026-11-27 15:00 CST" in listed.stdout and "2026-11-27T21:00:00Z" not in listed.stdout
    assert json.loads(vigil("findings", "list", "--json", *db, at=at).stdout)["items"][0]["due"] == \
        "2026-11-27T21:00:00Z"
