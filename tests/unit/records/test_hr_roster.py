"""The HR roster connector, pure parts: dates as local days, roles, episode ids, the map, the header."""

from __future__ import annotations

import datetime as dt
import re
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
import yaml

from engine.demo.world import ROLES as DEMO_ROLES
from engine.errors import ErrorDetail, ImportFormatError
from engine.records.connectors.hr_roster import (
    FIELDS,
    KNOWN_ROLES,
    RosterMap,
    episode_id,
    fold,
    header_of,
    load_map,
    local_day_start,
    parse_day,
    parse_flag,
    read_rows,
    resolve_role,
    to_instant,
)

REPO = Path(__file__).resolve().parents[3]
DENVER, NEW_YORK = ZoneInfo("America/Denver"), ZoneInfo("America/New_York")
LOS_ANGELES = ZoneInfo("America/Los_Angeles")


def hours(start: dt.datetime, end: dt.datetime) -> float:
    """Elapsed hours (in UTC: Python subtracts two times of one zone object by their wall clocks)."""
    return (end.astimezone(dt.UTC) - start.astimezone(dt.UTC)).total_seconds() / 3600


def test_a_hire_date_starts_the_local_day_and_a_termination_ends_it_across_dst() -> None:
    """2026-03-08 and 2026-11-01 are the US daylight-saving changes: 23- and 25-hour days."""
    spring = to_instant("2026-03-08", LOS_ANGELES)
    assert spring is not None and spring[0].isoformat() == "2026-03-08T00:00:00-08:00"
    spring_end = to_instant("2026-03-08", LOS_ANGELES, end=True)
    assert spring_end is not None and spring_end[0].isoformat() == "2026-03-09T00:00:00-07:00"
    assert hours(spring[0], spring_end[0]) == 23 and spring_end[1] == dt.date(2026, 3, 8)
    autumn, autumn_end = to_instant("11/01/2026", NEW_YORK), to_instant("11/01/2026", NEW_YORK, end=True)
    assert autumn is not None and autumn_end is not None
    assert (autumn[0].isoformat(), autumn_end[0].isoformat()) == ("2026-11-01T00:00:00-04:00",
                                                                   "2026-11-02T00:00:00-05:00")
    assert hours(autumn[0], autumn_end[0]) == 25


def test_the_same_date_is_a_different_instant_in_two_zones() -> None:
    denver, new_york = to_instant("2026-07-01", DENVER), to_instant("2026-07-01", NEW_YORK)
    assert denver is not None and new_york is not None
    assert denver[0].astimezone(dt.UTC).isoformat() == "2026-07-01T06:00:00+00:00"
    assert new_york[0].astimezone(dt.UTC).isoformat() == "2026-07-01T04:00:00+00:00"


def test_where_midnight_does_not_exist_the_day_starts_when_the_clocks_jump() -> None:
    """America/Santiago skips from 00:00 to 01:00 on 2026-09-06: the day's first instant is 01:00 -03:00."""
    santiago = ZoneInfo("America/Santiago")
    assert local_day_start(dt.date(2026, 9, 6), santiago).isoformat() == "2026-09-06T01:00:00-03:00"
    assert local_day_start(dt.date(2026, 9, 5), santiago).isoformat() == "2026-09-05T00:00:00-04:00"


def test_instants_are_taken_as_is_and_midnight_times_are_dates() -> None:
    given = to_instant("2026-03-08T08:30:00-06:00", NEW_YORK)
    assert given is not None and given[0].isoformat() == "2026-03-08T08:30:00-06:00"
    assert given[1] == dt.date(2026, 3, 8)  # the day in the establishment's zone names the episode
    late = to_instant("2026-03-08T23:30:00-08:00", NEW_YORK)
    assert late is not None and late[1] == dt.date(2026, 3, 9)
    for spreadsheet in ("2026-03-08 00:00:00", "3/8/2026 0:00", "2026-03-08T00:00"):
        found = to_instant(spreadsheet, DENVER)
        assert found is not None and found[0].isoformat() == "2026-03-08T00:00:00-07:00", spreadsheet
    assert to_instant("9999-12-31", DENVER, end=True) is None, "exports write 9999-12-31 for no termination"


@pytest.mark.parametrize("text, says", [
    ("2026-03-08T09:00:00", "has a time but no offset"), ("2026-02-30", "no such date"),
    ("13/01/2026", "no such date"), ("08.03.2026", "is not a date"), ("26-03-08", "is not a date"),
    ("0001-01-01", "is before 1800"), ("soon", "is not a date"), ("2026-03-08Tnoon", "neither a date"),
])
def test_cells_that_are_no_date_say_why(text: str, says: str) -> None:
    with pytest.raises(ValueError, match=says):
        to_instant(text, DENVER)


def test_a_date_at_an_establishment_without_a_zone_is_refused_but_an_instant_is_not() -> None:
    with pytest.raises(ValueError, match="establishment 'EST-X' has no tz"):
        to_instant("2026-03-08", None, site="EST-X")
    found = to_instant("2026-03-08T09:00:00Z", None, site="EST-X")
    assert found is not None and found[1] == dt.date(2026, 3, 8)


def test_dates_flags_and_folding() -> None:
    assert parse_day("2026-03-08") == parse_day("03/08/2026") == parse_day("3/8/2026") == dt.date(2026, 3, 8)
    # a date of birth as Excel writes every date column (session 46's records pass: refused)
    assert parse_day("3/9/1978 0:00") == parse_day("1978-03-09 00:00:00") == dt.date(1978, 3, 9)
    with pytest.raises(ValueError, match="is not a date"):
        parse_day("3/9/1978 9:30")
    for other_digits in ("\u0662\u0660\u0662\u0666-03-08", "03/08/\uff12\uff10\uff12\uff16"):
        with pytest.raises(ValueError, match="is not a date"):
            parse_day(other_digits)
    assert [parse_flag(t) for t in ("Yes", "y", "TRUE", "1", "no", "N", "false", "0")] == [True] * 4 + [False] * 4
    with pytest.raises(ValueError, match="not yes or no"):
        parse_flag("maybe")
    assert fold(" Hire  Date ") == fold("HIRE-DATE") == fold("hire_date") == fold("\ufeffHire Date") == "hire_date"


def test_roles_are_known_roles_abbreviations_or_mapped() -> None:
    plain = RosterMap()
    assert resolve_role("Registered Nurse", plain) == resolve_role("RN", plain) == "registered_nurse"
    assert resolve_role("PA-C", plain) == "physician_assistant" and resolve_role("md", plain) == "physician"
    mapped = RosterMap(roles={fold("Staff RN II"): "registered_nurse", fold("Hygienist"): "dental_hygienist"})
    assert resolve_role("staff rn ii", mapped) == "registered_nurse"
    assert resolve_role("Dental Hygienist", mapped) == "dental_hygienist", "a map's roles are known roles"
    with pytest.raises(ValueError, match=r"'Phlebotomy' is not a role the rulesets know \(did you mean "
                                         r"phlebotomist\?\)"):
        resolve_role("Phlebotomy", plain)
    # an import pass (session 42): every unknown title's example had mapped it to registered_nurse
    with pytest.raises(ValueError) as janitor:
        resolve_role("Janitor", plain)
    assert "e.g. 'Janitor: janitor'" in str(janitor.value) and "registered_nurse'" not in str(janitor.value)


def _ruleset_roles() -> set[str]:
    """Every role the shipped rulesets name: role-list parameter defaults and scenario records."""
    found: set[str] = set()
    for path in sorted((REPO / "rulesets").glob("*/*.yaml")):
        for name, param in (yaml.safe_load(path.read_text(encoding="utf-8")).get("params") or {}).items():
            if name.endswith("_roles") and isinstance(param, dict):
                found |= {r for r in param.get("default") or [] if isinstance(r, str)}
    for path in sorted((REPO / "rulesets").glob("*/tests/*.yaml")):
        found |= set(re.findall(r"\brole: *([a-z_]+)", path.read_text(encoding="utf-8")))
    return found


def test_the_known_roles_cover_the_rulesets_and_the_demo_practice() -> None:
    roles = _ruleset_roles()
    assert {"physician", "registered_nurse", "licensed_practical_nurse", "medical_assistant"} <= roles
    assert roles - KNOWN_ROLES == set()
    assert set(DEMO_ROLES) - KNOWN_ROLES == set()


def test_episode_ids_are_readable_and_never_collide() -> None:
    day = dt.date(2024, 5, 1)
    assert episode_id("E-1003", "EST-NYC", day) == "E-1003@EST-NYC:2024-05-01"
    assert episode_id("ann@clinic.org", "EST-NYC", day) == "ann@clinic.org@EST-NYC:2024-05-01"
    # an establishment id with '@' would make 'a@b' + 'c' and 'a' + 'b@c' the same text: hashed instead
    one, other = episode_id("a@b", "c@d", day), episode_id("a", "b@c@d", day)
    assert one.startswith("HR-") and other.startswith("HR-") and one != other
    assert episode_id("E" * 250, "EST-NYC", day).startswith("HR-") and len(episode_id("E" * 250, "X", day)) <= 255
    assert episode_id("E-1", "EST-NYC", day) != episode_id("E-1", "EST-NYC", dt.date(2026, 1, 5)), "a rehire"


def test_default_header_names_belong_to_one_field_each() -> None:
    names = [n for synonyms in FIELDS.values() for n in synonyms]
    assert len(names) == len(set(names))
    assert all(fold(n) == n for n in names)


def _header(line: str, roster_map: RosterMap | None = None) -> tuple[Any, list[ErrorDetail]]:
    problems: list[ErrorDetail] = []
    return header_of(line.split(","), roster_map or RosterMap(), "r.csv", problems.append), problems


def test_the_header_is_read_by_synonym_or_by_the_map() -> None:
    header, problems = _header("Emp ID,Location,Job Title,Date of Hire,Department,Term Date")
    assert problems == [] and header is not None
    assert header.at == {"employee_id": 0, "establishment_id": 1, "role": 2, "hire_date": 3, "termination_date": 5}
    mapped = RosterMap(columns={"employee_id": "Badge #", "hire_date": "Start"})
    header, problems = _header("Badge #,Site,Role,Start,Employee ID", mapped)
    assert problems == [] and header is not None
    assert header.at["employee_id"] == 0 and header.at["hire_date"] == 3, "the map's column wins over a synonym"


def test_a_header_without_a_required_column_or_with_two_candidates_is_refused() -> None:
    header, problems = _header("Employee ID,Site,Job,Job Title")
    assert header is None
    assert [(p.line, p.column, p.field) for p in problems] == [(1, 4, "Job Title"), (1, None, None)]
    assert "'Job' and 'Job Title' both read as role" in problems[0].reason
    assert "no hire_date column" in problems[1].reason
    header, problems = _header("Employee ID,Site,Role,Hire Date", RosterMap(columns={"hire_date": "Start"}))
    assert header is None and "names the column 'Start' for hire_date" in problems[0].reason


def test_rows_are_read_with_their_lines_and_every_byte_counted(tmp_path: Path) -> None:
    path = tmp_path / "roster.csv"
    path.write_bytes("Employee ID,Site,Role,Hire Date\r\nE-1,S,RN,2026-01-05\r\n\r\n\"E-2\",S,\"Nurse,\nRN\",x\r\n"
                     "E-3,S\r\nE-4,S,MA,2026-01-05\r\nJos\xe9,S,MA,2026-01-05\r\n".encode("latin-1"))
    problems: list[ErrorDetail] = []
    advanced: list[int] = []
    rows = list(read_rows(path, RosterMap(), problems.append, advanced.append))
    assert [(r.line, r.get("employee_id")) for r in rows] == [(2, "E-1"), (4, "E-2"), (7, "E-4"), (8, "José")]
    assert [(p.line, p.reason) for p in problems] == [(6, "the row has 2 cells but the header has 4 columns")]
    assert sum(advanced) == path.stat().st_size


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "map.yaml"
    path.write_text(text, encoding="utf-8")
    return path


def test_a_map_is_read_from_yaml_or_json(tmp_path: Path) -> None:
    found = load_map(write(tmp_path, "columns: {employee_id: 'Badge #'}\nroles: {Staff RN II: registered_nurse}\n"
                                     "establishments: {Downtown Clinic: EST-DEN}\n"))
    assert found == RosterMap(columns={"employee_id": "Badge #"}, roles={"staff_rn_ii": "registered_nurse"},
                              establishments={"downtown_clinic": "EST-DEN"})
    assert load_map(write(tmp_path, '{"roles": {"RN": "registered_nurse"}}')).roles == {"rn": "registered_nurse"}
    assert load_map(write(tmp_path, "")) == RosterMap()


@pytest.mark.parametrize("text, field, says", [
    ("column: {}\n", "column", "unknown key; a roster map has columns, roles, establishments"),
    ("columns: {hire_dat: Start}\n", "columns.hire_dat", "did you mean hire_date?"),
    ("roles: {Nurse: Registered Nurse}\n", "roles.Nurse", "is not a role name"),
    ("roles: {Nurse: yes}\n", "roles.Nurse", "is not a pair of names"),
    ("establishments: [EST-DEN]\n", "establishments", "expected a mapping"),
    ("- columns\n", "(top)", "the map is a mapping"),
])
def test_a_bad_map_is_refused_naming_the_key(tmp_path: Path, text: str, field: str, says: str) -> None:
    path = write(tmp_path, text)
    with pytest.raises(ImportFormatError) as info:
        load_map(path)
    (detail,) = info.value.details
    assert (detail.file, detail.field) == (str(path), field) and says in detail.reason


def test_a_map_that_is_not_yaml_names_the_line(tmp_path: Path) -> None:
    with pytest.raises(ImportFormatError) as info:
        load_map(write(tmp_path, "columns:\n  employee_id: [Badge\n"))
    (detail,) = info.value.details
    assert detail.line == 3 and detail.column is not None
    with pytest.raises(ImportFormatError, match="cannot read the roster map"):
        load_map(tmp_path / "missing.yaml")
