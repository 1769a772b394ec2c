"""`vigil import`, `vigil export` and `vigil records show|history` through Typer's test runner."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner, Result

import engine.cli.records  # noqa: F401  (registers the commands)
from engine import clock
from engine.cli.app import app

T1 = dt.datetime(2026, 3, 1, 9, 0, tzinfo=dt.UTC)
T2 = dt.datetime(2026, 3, 2, 9, 0, tzinfo=dt.UTC)
ORG = {"type": "organization", "id": "ORG-1", "name": "Sunrise Family Medicine", "states": ["CA"]}
EVENT = {"type": "access_event", "id": "AE-1", "at": "2026-03-07T21:00:00-08:00", "action": "view"}


@pytest.fixture
def db_url(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> str:
    monkeypatch.delenv("VIGIL_ORG", raising=False)
    monkeypatch.delenv("DATABASE_URL", raising=False)
    return f"sqlite:///{tmp_path / 'cli.db'}"


def vigil(*args: str, env: dict[str, str] | None = None, at: dt.datetime = T1) -> Result:
    with clock.frozen(at):
        return CliRunner(env={"COLUMNS": "250", **(env or {})}).invoke(app, list(args))


def ndjson(path: Path, *records: dict[str, Any]) -> str:
    path.write_text("".join(json.dumps(r) + "\n" for r in records), encoding="utf-8")
    return str(path)


def test_import_prints_a_summary_and_exits_0(db_url: str, tmp_path: Path) -> None:
    result = vigil("import", ndjson(tmp_path / "a.ndjson", ORG, EVENT), "--db", db_url)
    assert result.exit_code == 0, result.stderr
    assert "organization" in result.stdout and "access_event" in result.stdout
    assert "2 records in" in result.stdout


def test_import_json_report(db_url: str, tmp_path: Path) -> None:
    path = ndjson(tmp_path / "a.ndjson", ORG, EVENT)
    vigil("import", path, "--db", db_url)
    result = vigil("import", path, "--db", db_url, "--json", "--actor", "user:ann", at=T2)
    assert result.exit_code == 0, result.stderr
    report = json.loads(result.stdout)
    assert (report["total"], report["unchanged"], report["created"]) == (2, 2, 0)
    assert report["counts"]["organization"] == {"created": 0, "updated": 0, "unchanged": 1}
    assert report["recorded_at"] == "2026-03-02T09:00:00Z" and report["sources"] == [path]


def test_bad_input_exits_2_with_every_problem_and_imports_nothing(db_url: str, tmp_path: Path) -> None:
    path = ndjson(
        tmp_path / "bad.ndjson",
        ORG,
        {**EVENT, "at": "2026-03-07T21:00:00"},
        {**EVENT, "id": "AE-2", "action": "peek"},
    )
    result = vigil("import", path, "--db", db_url)
    assert result.exit_code == 2
    assert result.stdout == ""
    assert f"{path}:2, access_event AE-1, field at: instant without an offset" in result.stderr
    assert f"{path}:3, access_event AE-2, field action: 'peek' is not allowed here" in result.stderr
    assert "nothing was imported" in result.stderr
    after = vigil("records", "show", "organization", "ORG-1", "--db", db_url)  # nothing there, not even the org
    assert after.exit_code == 2 and "holds no organization" in " ".join(after.stderr.split())


def test_a_failed_import_writes_one_line_a_problem_when_stderr_is_not_a_terminal(db_url: str,
                                                                                 tmp_path: Path) -> None:
    """Redirected, the problems were hard-wrapped at 80 columns (`field \nreceives_...`)."""
    long_id = "AE-" + "9" * 90
    path = ndjson(tmp_path / "bad.ndjson", ORG, {**EVENT, "id": long_id, "at": "2026-03-07T21:00:00"})
    result = CliRunner().invoke(app, ["import", path, "--db", db_url])  # 80 columns, not a terminal
    assert result.exit_code == 2
    assert f"{path}:2, access_event {long_id}, field at: instant without an offset" in result.stderr.splitlines()[1]
    # asked for JSON, a script gets the same problems as JSON on stderr (session 42), and nothing on stdout
    scripted = CliRunner().invoke(app, ["import", path, "--db", db_url, "--json"])
    assert scripted.exit_code == 2 and scripted.stdout == ""
    (problem,) = json.loads(scripted.stderr)["error"]["details"]
    assert (problem["file"], problem["line"], problem["record_id"], problem["field"]) == (path, 2, long_id, "at")


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--format", "xml"], "unknown import format 'xml'"),
        (["--type", "people"], "unknown record type 'people'"),
    ],
)
def test_bad_options_exit_2(db_url: str, tmp_path: Path, args: list[str], message: str) -> None:
    result = vigil("import", ndjson(tmp_path / "a.ndjson", ORG), "--db", db_url, *args)
    assert result.exit_code == 2 and message in result.stderr


def test_export_then_reimport_is_unchanged(db_url: str, tmp_path: Path) -> None:
    vigil("import", ndjson(tmp_path / "a.ndjson", ORG, EVENT), "--db", db_url)
    out = tmp_path / "out"
    result = vigil("export", "--out", str(out), "--db", db_url, "--json")
    assert result.exit_code == 0, result.stderr
    assert json.loads(result.stdout)["counts"] == {"access_event": 1, "organization": 1}
    again = vigil("import", *sorted(str(p) for p in out.glob("*.ndjson")), "--db", db_url, "--json", at=T2)
    assert json.loads(again.stdout)["unchanged"] == 2


def test_export_removes_the_type_files_of_an_earlier_export_and_says_which(db_url: str, tmp_path: Path) -> None:
    """Probe: an export into a directory holding an earlier export (of another database) left that
    one's <type>.ndjson files there, and `vigil import DIR/*.ndjson` brought the foreign data in."""
    other = f"sqlite:///{tmp_path / 'other.db'}"
    vigil("import", ndjson(tmp_path / "o.ndjson", ORG, {"type": "person", "id": "FOREIGN"}), "--db", other)
    out = tmp_path / "out"
    assert vigil("export", "--out", str(out), "--db", other).exit_code == 0
    (out / "notes.txt").write_text("mine")
    (out / "person.csv").write_text("id\nP-9\n")
    vigil("import", ndjson(tmp_path / "a.ndjson", ORG, EVENT), "--db", db_url)
    result = vigil("export", "--out", str(out), "--db", db_url)
    assert result.exit_code == 0, result.stderr
    assert f"{out / 'person.ndjson'}: removed" in result.stdout
    assert sorted(p.name for p in out.iterdir()) == [".vigil-export.json", "access_event.ndjson", "notes.txt",
                                                     "organization.ndjson", "person.csv"]
    again = vigil("export", "--out", str(out), "--db", db_url, "--json")
    assert json.loads(again.stdout)["removed"] == []


def test_export_refuses_a_folder_holding_record_files_no_export_wrote(db_url: str, tmp_path: Path) -> None:
    """Session 46's operations pass: an export into a copy of the demo's record files replaced
    person.ndjson and removed thirty others as "left by an earlier export"."""
    vigil("import", ndjson(tmp_path / "a.ndjson", ORG, EVENT), "--db", db_url)
    mine = tmp_path / "mine"
    mine.mkdir()
    (mine / "person.ndjson").write_text('{"type":"person","id":"P-MINE"}\n')
    (mine / "access_event.ndjson").write_text("")
    result = vigil("export", "--out", str(mine), "--db", db_url, "--json")
    assert result.exit_code == 2, result.output
    error = json.loads(result.stderr)["error"]
    assert error["code"] == "input.export_folder" and "no export wrote (access_event.ndjson, person.ndjson)" in (
        error["message"])
    assert sorted(p.name for p in mine.iterdir()) == ["access_event.ndjson", "person.ndjson"]  # untouched
    assert (mine / "person.ndjson").read_text() == '{"type":"person","id":"P-MINE"}\n'
    # a file put into an export's folder afterwards is the user's too
    out = tmp_path / "out"
    assert vigil("export", "--out", str(out), "--db", db_url).exit_code == 0
    (out / "person.ndjson").write_text("")
    assert vigil("export", "--out", str(out), "--db", db_url).exit_code == 2


def test_export_as_of(db_url: str, tmp_path: Path) -> None:
    vigil("import", ndjson(tmp_path / "a.ndjson", ORG), "--db", db_url, at=T1)
    vigil("import", ndjson(tmp_path / "b.ndjson", {**ORG, "name": "Renamed"}), "--db", db_url, at=T2)
    result = vigil("export", "--out", str(tmp_path / "old"), "--as-of", "2026-03-01T12:00:00Z", "--db", db_url, at=T2)
    assert result.exit_code == 0, result.stderr
    assert json.loads((tmp_path / "old" / "organization.ndjson").read_text())["name"] == "Sunrise Family Medicine"
    # the docs probe: the README's --as-of, before the demo's first import, exported nothing with exit 0
    empty = vigil("export", "--out", str(tmp_path / "none"), "--as-of", "2026-02-01T00:00:00Z", "--db", db_url, at=T2)
    assert empty.exit_code == 2 and "nothing was recorded" in empty.stderr and "--as-of" in empty.stderr
    assert not (tmp_path / "none").exists() or not any((tmp_path / "none").iterdir())


def test_records_show_and_as_of(db_url: str, tmp_path: Path) -> None:
    vigil("import", ndjson(tmp_path / "a.ndjson", ORG), "--db", db_url, at=T1)
    vigil("import", ndjson(tmp_path / "b.ndjson", {**ORG, "name": "Renamed"}), "--db", db_url, at=T2)
    latest = vigil("records", "show", "organization", "ORG-1", "--db", db_url, "--json")
    assert latest.exit_code == 0, latest.stderr
    assert json.loads(latest.stdout)["version"] == 2 and json.loads(latest.stdout)["data"]["name"] == "Renamed"
    old = vigil("records", "show", "organization", "ORG-1", "--as-of", "2026-03-01T18:00:00-08:00", "--db", db_url)
    assert old.exit_code == 0 and "version 1" in old.stdout and "Sunrise Family Medicine" in old.stdout
    before = vigil("records", "show", "organization", "ORG-1", "--known-at", "2026-02-01T00:00:00Z", "--db", db_url)
    assert before.exit_code == 2 and "no organization 'ORG-1'" in before.stderr
    naive = vigil("records", "show", "organization", "ORG-1", "--as-of", "2026-03-01", "--db", db_url)
    assert naive.exit_code == 2 and "is a date, not an instant" in naive.stderr


def test_records_history(db_url: str, tmp_path: Path) -> None:
    vigil("import", ndjson(tmp_path / "a.ndjson", ORG), "--db", db_url, at=T1)
    vigil("import", ndjson(tmp_path / "b.ndjson", {**ORG, "fte_count": 7}), "--db", db_url, "--actor", "hr", at=T2)
    result = vigil("records", "history", "organization", "ORG-1", "--db", db_url, "--json")
    versions = json.loads(result.stdout)
    assert [(v["version"], v["actor"], v["recorded_at"]) for v in versions] == [
        (1, versions[0]["actor"], "2026-03-01T09:00:00Z"),
        (2, "hr", "2026-03-02T09:00:00Z"),
    ]
    table = vigil("records", "history", "organization", "ORG-1", "--db", db_url)
    assert table.exit_code == 0 and "fte_count" in table.stdout and "(new)" in table.stdout
    missing = vigil("records", "history", "organization", "nope", "--db", db_url)
    assert missing.exit_code == 2  # an unknown record is bad input


def test_records_history_names_only_fields_whose_values_changed(db_url: str, tmp_path: Path) -> None:
    baa = {"type": "baa", "id": "B-1", "effective_at": "2026-03-07T21:00:00-08:00", "clauses": ["a"]}
    vigil("import", ndjson(tmp_path / "a.ndjson", baa), "--db", db_url, at=T1)
    vigil("import", ndjson(tmp_path / "b.ndjson", {**baa, "effective_at": "2026-03-08T05:00:00Z", "clauses": ["b"]}),
          "--db", db_url, at=T2)
    table = vigil("records", "history", "baa", "B-1", "--db", db_url)
    assert table.exit_code == 0, table.output
    assert table.stdout.splitlines()[-2].split("│")[-2].strip() == "clauses", table.stdout


def test_records_history_json_gives_each_versions_changed_fields(db_url: str, tmp_path: Path) -> None:
    """Probe: the table's changed column was left out of --json."""
    vigil("import", ndjson(tmp_path / "a.ndjson", ORG), "--db", db_url, at=T1)
    vigil("import", ndjson(tmp_path / "b.ndjson", {**ORG, "fte_count": 7, "name": "Renamed"}), "--db", db_url, at=T2)
    vigil("import", ndjson(tmp_path / "c.ndjson", {**ORG, "fte_count": 7}), "--db", db_url, at=T2)
    result = vigil("records", "history", "organization", "ORG-1", "--db", db_url, "--json")
    assert result.exit_code == 0, result.output
    assert [(v["version"], v["changed"]) for v in json.loads(result.stdout)] == [
        (1, []), (2, ["fte_count", "name"]), (3, ["name"])]


def test_org_from_option_then_environment(db_url: str, tmp_path: Path) -> None:
    path = ndjson(tmp_path / "a.ndjson", ORG)
    assert vigil("import", path, "--db", db_url, "--org", "clinic-a").exit_code == 0
    shown = vigil("records", "show", "organization", "ORG-1", "--db", db_url, env={"VIGIL_ORG": "clinic-a"})
    assert shown.exit_code == 0
    only = vigil("records", "show", "organization", "ORG-1", "--db", db_url)  # no org given: the only one there
    assert only.exit_code == 0, only.output
    assert vigil("records", "show", "organization", "ORG-1", "--db", db_url, "--org", "clinic-b").exit_code == 2
    assert vigil("import", path, "--db", db_url, "--org", "clinic-b").exit_code == 0
    several = vigil("records", "show", "organization", "ORG-1", "--db", db_url)  # org "default": nothing there
    assert several.exit_code == 2
    assert "organizations in this database: clinic-a, clinic-b" in " ".join(several.stderr.split())


def test_an_import_without_org_goes_to_the_only_organization_there(db_url: str, tmp_path: Path) -> None:
    first = vigil("import", ndjson(tmp_path / "a.ndjson", ORG), "--db", db_url, "--org", "clinic-a")
    assert first.exit_code == 0 and first.stderr == ""
    more = vigil("import", ndjson(tmp_path / "b.ndjson", EVENT), "--db", db_url, "--json")
    assert more.exit_code == 0, more.output
    assert json.loads(more.stdout)["created"] == 1
    assert "using organization 'clinic-a'" in " ".join(more.stderr.split())
    shown = vigil("records", "show", "access_event", "AE-1", "--db", db_url, "--org", "clinic-a")
    assert shown.exit_code == 0, shown.output


def test_database_from_environment(db_url: str, tmp_path: Path) -> None:
    path = ndjson(tmp_path / "a.ndjson", ORG)
    assert vigil("import", path, env={"DATABASE_URL": db_url}).exit_code == 0
    assert vigil("records", "show", "organization", "ORG-1", "--db", db_url).exit_code == 0


@pytest.mark.parametrize(("name", "text", "fmt"), [
    ("person.ndjson", '{"type": "person", "id": "P-1"}\n', []),
    ("person.json", '[{"type": "person", "id": "P-1"}]', []),
    ("person.csv", "id,first_name\nP-1,A\n", []),
    ("roster.csv", "employee_id,first_name,last_name,hire_date\nE1,A,B,2020-01-01\n", ["--format", "roster"]),
    ("UPDATED.csv", "LASTNAME,FIRSTNAME\nDOE,JANE\n", ["--format", "leie"]),
])
@pytest.mark.parametrize("encoding", ["utf-16", "utf-32"])
def test_a_file_saved_as_utf16_or_utf32_is_named_as_such_in_every_format(
        db_url: str, tmp_path: Path, name: str, text: str, fmt: list[str], encoding: str) -> None:
    """Each format had given another wrong reason (a header "with no employee_id column", "not an
    LEIE file", "truncated data"), and a .json file had been read."""
    if "leie" in fmt:  # screening needs a workforce to screen
        fixtures = Path(__file__).parents[1] / "fixtures" / "roster"
        assert vigil("import", str(fixtures / "establishments.ndjson"), "--db", db_url).exit_code == 0
        assert vigil("import", str(fixtures / "roster.csv"), "--format", "roster", "--db", db_url).exit_code == 0
    path = tmp_path / name
    path.write_bytes(text.encode(encoding))
    result = vigil("import", str(path), *fmt, "--db", db_url)
    assert result.exit_code == 2, result.output
    said = " ".join(result.stderr.split())
    assert f"the file is {encoding.upper()} text: save it as UTF-8" in said and said.count(" - ") == 1, said


CUT = '{"type": "person", "id": "P-5", "first_name": "Bob"'


@pytest.mark.parametrize(("name", "content", "line", "column", "reason"), [
    ("tab.json", '[{"type": "person", "id": "P-1", "first_name": "A\tB"}]', 1, 50,
     'a tab (U+0009) inside a string: write it escaped ("\\t"), or remove it'),
    ("tab.ndjson", '{"type": "person", "id": "P-1", "first_name": "A\tB"}\r\n', 1, 49,
     "a tab (U+0009) inside a string"),
    ("cut.ndjson", '{"type": "person", "id": "P-4"}\n' + CUT + "\n", 2, len(CUT) + 1,
     "it ends before the record is closed (expecting ',' delimiter): a missing } or ]?"),
    ("cut.json", '[\n{"type": "person", "id": "P-4"},\n' + CUT + "\n\n", 3, len(CUT) + 1,
     "it ends before the record is closed (expecting ',' delimiter): a missing } or ]?"),
    ("cut.fhir.json", '{"resourceType": "Bundle",\n"entry": [\n', 2, 11,
     "it ends before the record is closed (expecting value): a missing } or ]?"),
])
def test_json_that_does_not_parse_says_why_in_words_and_where(db_url: str, tmp_path: Path, name: str, content: str,
                                                             line: int, column: int, reason: str) -> None:
    """The parser's own words had been cut ("Invalid control character at"), and an NDJSON record
    missing its `}` was "Expecting ',' delimiter" at column 1 of the next line, and a `.json` file
    cut short was placed on the line after its end (FHIR's gave the parser's words)."""
    path = tmp_path / name
    path.write_text(content, encoding="utf-8", newline="")
    fmt = ("--format", "fhir") if ".fhir." in name else ()
    result = vigil("import", str(path), *fmt, "--db", db_url, "--json")
    assert result.exit_code == 2, result.output
    (detail,) = json.loads(result.stderr)["error"]["details"]
    assert (detail["line"], detail["column"]) == (line, column) and reason in detail["reason"], detail


def test_two_files_holding_two_states_of_a_record_say_to_import_them_one_at_a_time(db_url: str,
                                                                                    tmp_path: Path) -> None:
    monday = ndjson(tmp_path / "monday.ndjson", {**ORG, "name": "Sunrise"})
    tuesday = ndjson(tmp_path / "tuesday.ndjson", {**ORG, "name": "Sunrise Health"})
    both = vigil("import", monday, tuesday, "--db", db_url)
    assert both.exit_code == 2
    assert "import the files one at a time, oldest first" in " ".join(both.stderr.split())
    assert vigil("import", monday, "--db", db_url).exit_code == 0
    assert vigil("import", tuesday, "--db", db_url, at=T2).exit_code == 0
    shown = json.loads(vigil("records", "history", "organization", "ORG-1", "--db", db_url, "--json").stdout)
    assert [v["data"]["name"] for v in shown] == ["Sunrise", "Sunrise Health"]


@pytest.mark.parametrize(("name", "encoding"), [("person.csv", "utf-16-le"), ("person.ndjson", "utf-16-be")])
def test_utf16_with_no_byte_order_mark_is_named_too(db_url: str, tmp_path: Path, name: str, encoding: str) -> None:
    """Read as UTF-8, its CSV header had come out as " i d , f i r s t _ n a m e ": every column missing."""
    text = "id,first_name\nP-1,A\n" if name.endswith(".csv") else '{"type": "person", "id": "P-1"}\n'
    path = tmp_path / name
    path.write_bytes(text.encode(encoding))
    result = vigil("import", str(path), "--db", db_url)
    assert result.exit_code == 2, result.output
    assert "the file is UTF-16 text, with no byte-order mark: save it as UTF-8" in " ".join(result.stderr.split())
    utf8 = tmp_path / "utf8" / name  # UTF-8 text, accented letters and all, is not taken for it
    utf8.parent.mkdir()
    utf8.write_text(text.replace("A", "Zoë Ånström"), encoding="utf-8")
    assert vigil("import", str(utf8), "--db", db_url).exit_code == 0


def test_a_number_past_pythons_digit_limit_exits_2_naming_the_line_and_field(db_url: str, tmp_path: Path) -> None:
    """int() refuses more than 4,300 digits: the import had ended with a ValueError's traceback, exit 1."""
    path = tmp_path / "org.ndjson"
    path.write_text(json.dumps(ORG) + "\n" + '{"type": "organization", "id": "O-2", "fte_count": ' + "1" * 5000
                    + "}\n", encoding="utf-8")
    result = vigil("import", str(path), "--db", db_url)
    assert result.exit_code == 2 and isinstance(result.exception, SystemExit), result.stderr
    said = " ".join(result.stderr.split())
    assert f"{path}:2, organization O-2, field fte_count: must be at most 9223372036854775807, got a number of " \
           "5,000 digits" in said
    assert "nothing was imported" in said
