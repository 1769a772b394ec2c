"""`vigil evaluate` reads record files as `vigil import` does (--type, --format), and refuses a
combination that would leave the records it was given out of the evaluation."""

from __future__ import annotations

import json
from pathlib import Path

from tests.cli.conftest import said, vigil

AS_OF = "2026-03-05T12:00:00Z"
HEADER = "id,person_id,establishment_id,start_at,phi_access_required\n"


def _csv(tmp_path: Path) -> Path:
    path = tmp_path / "hires_export.csv"  # not named <type>.csv
    path.write_text(HEADER + "EP1,P1,E1,2026-02-01T09:00:00-06:00,true\n", encoding="utf-8")
    (tmp_path / "establishment.ndjson").write_text(json.dumps(
        {"type": "establishment", "id": "E1", "tz": "America/Chicago", "state": "IL"}) + "\n", encoding="utf-8")
    return path


def test_a_csv_not_named_for_its_type_is_evaluated_with_type(cli_env: Path) -> None:
    path = _csv(cli_env)
    refused = vigil("evaluate", "--records", str(path), "--as-of", AS_OF, "--json")
    assert refused.exit_code == 2 and "give the type (--type" in said(refused.stderr)
    done = vigil("evaluate", "--records", str(path), "--type", "employment_episode", "--as-of", AS_OF, "--json")
    assert done.exit_code == 0, done.stderr
    assert [f["rule_id"] for f in json.loads(done.stdout)["findings"]] == ["DEMO-TRN-001"]


def test_format_names_the_format_of_a_file_its_extension_does_not(cli_env: Path) -> None:
    path = cli_env / "export.txt"
    path.write_text(json.dumps({"type": "establishment", "id": "E1", "tz": "America/Chicago"}) + "\n",
                    encoding="utf-8")
    assert vigil("evaluate", "--records", str(path), "--as-of", AS_OF, "--json").exit_code == 2
    assert vigil("evaluate", "--records", str(path), "--format", "ndjson", "--as-of", AS_OF, "--json").exit_code == 0
    bad = vigil("evaluate", "--records", str(path), "--format", "xml", "--as-of", AS_OF)
    assert bad.exit_code == 2 and "--format: must be json, ndjson or csv, not 'xml'" in said(bad.stderr)


def test_known_at_with_records_into_a_database_is_refused_not_silently_left_out(cli_env: Path) -> None:
    """The records would be imported now, after --known-at, and so not seen: the probe found them stored
    but missing from the output."""
    path = cli_env / "establishment.ndjson"
    _csv(cli_env)
    result = vigil("evaluate", "--records", str(path), "--db", f"sqlite:///{cli_env / 'k.db'}",
                   "--known-at", "2026-03-01T00:00:00Z", "--as-of", AS_OF, "--json")
    assert result.exit_code == 2 and result.stdout == ""
    assert "--known-at: the records given with --records are imported now" in said(result.stderr)
    assert not (cli_env / "k.db").exists() or vigil(
        "records", "show", "establishment", "E1", "--db", f"sqlite:///{cli_env / 'k.db'}").exit_code != 0


def test_what_the_import_of_the_records_would_say_is_said_on_stderr(cli_env: Path) -> None:
    """An incident naming an establishment that was not given had been judged in the practice's zone
    without a word; `vigil import` of the same file warns of it."""
    path = cli_env / "incident.ndjson"
    path.write_text(json.dumps({"type": "incident", "id": "I-2", "establishment_id": "E-NOPE",
                                "discovered_at": "2026-01-10T17:00:00Z", "phi_involved": True}) + "\n",
                    encoding="utf-8")
    done = vigil("evaluate", "--records", str(path), "--as-of", AS_OF)
    assert done.exit_code == 0, done.stderr
    assert "warning: incident 'I-2' establishment_id: names establishment 'E-NOPE'" in said(done.stderr)
    # not with --json, whose readers may take stderr together with the one JSON object
    quiet = vigil("evaluate", "--records", str(path), "--as-of", AS_OF, "--json")
    assert quiet.exit_code == 0 and "E-NOPE" not in quiet.stderr
    json.loads(quiet.stdout)
