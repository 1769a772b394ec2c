"""`vigil report ita-300a` and `vigil report qpp`: the file on stdout or --out, gaps on stderr, exit 2
on bad input."""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path

import pytest

from engine import clock
from engine import db as dbmod
from engine.db import unit_of_work
from engine.records import service as records_service
from tests.cli.conftest import said, vigil
from tests.storage.test_reports import DETAILS, NOW, ORG, RECORDS, TIN


@pytest.fixture
def url(cli_env: Path) -> str:
    url = f"sqlite:///{cli_env / 'reports.db'}"
    eng = dbmod.make_engine(url)
    dbmod.init_db(eng)
    with clock.frozen(NOW), unit_of_work(eng) as s:
        records_service.import_records(s, org_id=ORG, records=RECORDS, actor="test", source="test")
    eng.dispose()
    return url


def test_ita_300a_csv_on_stdout_gaps_on_stderr(url: str) -> None:
    r = vigil("report", "ita-300a", "--year", "2025", "--db", url, at=NOW)
    assert r.exit_code == 0, r.output
    rows = list(csv.DictReader(io.StringIO(r.stdout)))
    assert [row["establishment_name"] for row in rows] == ["Clinic E1", "Clinic E2"]
    assert "ein: no field in the record contract" in said(r.stderr) and "NOT READY TO FILE" in r.stderr
    assert "the 2025 case data from Forms 300 and 301 is owed too, by 2 March 2026" in said(r.stderr)


def test_ita_300a_with_details_to_a_file_and_json(url: str, tmp_path: Path) -> None:
    details = tmp_path / "details.json"
    details.write_text(json.dumps(DETAILS))
    out = tmp_path / "out" / "300a.csv"
    r = vigil("report", "ita-300a", "--year", "2025", "--establishment", "E1", "--details", str(details),
              "--out", str(out), "--json", "--db", url, at=NOW)
    assert r.exit_code == 0, r.output
    payload = json.loads(r.stdout)
    assert payload["ready"] is True and payload["problems"] == [] and payload["establishment_ids"] == ["E1"]
    assert out.read_text() == payload["csv"] and out.read_text().count("\n") == 2


@pytest.mark.parametrize("args, said_text", [
    (["--year", "2025", "--establishment", "NOPE"], "no establishment 'NOPE'"),
    (["--year", "2025", "--establishment", "E3"], "nothing to file for 2025"),
    (["--year", "2030"], "year 2030 has not begun"),
])
def test_ita_300a_bad_input_exits_2(url: str, args: list[str], said_text: str) -> None:
    r = vigil("report", "ita-300a", *args, "--db", url, at=NOW)
    assert r.exit_code == 2 and said_text in said(r.stderr), r.output


def test_ita_300a_bad_details_file_exits_2(url: str, tmp_path: Path) -> None:
    details = tmp_path / "d.yaml"
    details.write_text("establishments:\n  E1:\n    ein: 12-3456789\n    size: 3\n")
    r = vigil("report", "ita-300a", "--year", "2025", "--details", str(details), "--db", url, at=NOW)
    assert r.exit_code == 2 and "establishments.E1.ein" in said(r.stderr) and "establishments.E1.size" in r.stderr
    assert "an EIN is 9 digits with no hyphen" in said(r.stderr) and "should match pattern" not in said(r.stderr)


def test_qpp_submission_json(url: str) -> None:
    r = vigil("report", "qpp", "--year", "2025", "--tin", TIN, "--db", url, at=NOW)
    assert r.exit_code == 0, r.output
    sub = json.loads(r.stdout)
    assert sub["performanceYear"] == 2025 and {m["measureId"] for m in sub["measurementSets"][0]["measurements"]} == {
        "134", "236"}
    assert "226" in said(r.stderr)
    r = vigil("report", "qpp", "--year", "2025", "--tin", TIN, "--json", "--db", url, at=NOW)
    assert json.loads(r.stdout)["ready"] is True


@pytest.mark.parametrize("args, said_text", [
    (["--year", "2025", "--tin", "12-3"], "9 digits"),
    (["--year", "2024", "--tin", TIN], "no measure_case records for performance year 2024"),
    (["--year", "2016", "--tin", TIN], "performance year 2016 is before MIPS, which began with PY2017"),
])
def test_qpp_bad_input_exits_2(url: str, args: list[str], said_text: str) -> None:
    r = vigil("report", "qpp", *args, "--db", url, at=NOW)
    assert r.exit_code == 2 and said_text in said(r.stderr), r.output


def test_a_full_disk_names_the_file_being_written_and_is_not_bad_input(url: str) -> None:
    """A write failing under way (ENOSPC) names no file: the CLI said "file system error: No space
    left on device" and exit 2, as if the user had typed something wrong."""
    r = vigil("report", "ita-300a", "--year", "2025", "--out", "/dev/full", "--db", url, at=NOW)
    assert r.exit_code == 1, r.output
    assert "cannot write /dev/full: No space left on device" in said(r.stderr)
