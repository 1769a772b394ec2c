"""`vigil tasks roles`: who roles.yaml gives each role to, and which holders the practice's records
and users do not know (their tasks would reach no one); `vigil evaluate --db` warns of the same.
Found by a new-practice black-box pass (the shipped roles.yaml names the demo's people)."""

from __future__ import annotations

import datetime as dt
import json

from tests.cli.conftest import Practice, said, vigil

# the practice holds P1's episode only; tests/fixtures/policies/roles.yaml names P-CO, P-MGR, P-HR1,
# P-HR2 and P-SAFE, none of whom its records or users know


def test_roles_lists_every_holder_with_their_standing(practice: Practice) -> None:
    listed = vigil("tasks", "roles", *practice.args(), "--json")
    assert listed.exit_code == 0, listed.output
    rows = json.loads(listed.stdout)
    assert [(r["role"], r["establishment"], r["holder"], r["standing"]) for r in rows] == [
        ("compliance_officer", "*", "P-CO", "not on file"),
        ("hr_manager", "E1", "P-HR1", "not on file"),
        ("hr_manager", "E2", "P-HR2", "not on file"),
        ("practice_manager", "*", "P-MGR", "not on file"),
        ("safety_lead", "E1", "P-SAFE", "not on file"),
    ]
    table = vigil("tasks", "roles", *practice.args())
    assert table.exit_code == 0, table.output
    assert "compliance_officer" in table.stdout and "not on file" in table.stdout
    warned = said(table.stderr)
    assert warned.count("warning: ") == 6  # the five holders, and the site E2 the practice does not have
    assert "names the site E2, which is no establishment of clinic-cli" in warned
    assert "gives compliance_officer to P-CO, whom clinic-cli's records and users do not know" in warned


def test_a_holder_becomes_present_once_the_records_name_them(practice: Practice, tmp_path) -> None:
    person = tmp_path / "person.json"
    person.write_text(json.dumps([{"type": "person", "id": "P-CO", "first_name": "Ana", "last_name": "Lee"}]))
    assert vigil("import", str(person), *practice.args()).exit_code == 0
    rows = json.loads(vigil("tasks", "roles", *practice.args(), "--json").stdout)
    assert (rows[0]["holder"], rows[0]["standing"], rows[0]["name"]) == ("P-CO", "present", "Ana Lee")


def test_evaluate_warns_of_each_holder_not_on_file(practice: Practice) -> None:
    ran = vigil("evaluate", *practice.args(), "--as-of", "2026-03-05T12:00:00Z", "--json")
    assert ran.exit_code == 0, ran.output
    json.loads(ran.stdout)  # stdout stays the contract's JSON
    warned = said(ran.stderr)
    assert "gives safety_lead at E1 to P-SAFE" in warned and "vigil tasks roles" in warned


def test_the_nightly_sweep_names_holders_not_on_file_in_warning_lines(practice: Practice) -> None:
    """The operator reads the scheduler's lines, not an evaluation's stderr: the sweep says it too."""
    next_day = dt.datetime(2026, 3, 6, 12, tzinfo=dt.UTC)  # the practice's own sweep ran on the 5th
    swept = vigil("scheduler", "run", "--once", "--only", "sweep", *practice.args(), at=next_day)
    assert swept.exit_code == 0, swept.output
    lines = [json.loads(line) for line in swept.stdout.splitlines() if line.startswith("{")]
    warned = [e["warning"] for e in lines if e.get("event") == "warning" and e.get("job") == "sweep"]
    assert len(warned) == 6 and any("gives safety_lead at E1 to P-SAFE" in w for w in warned), swept.stdout
