"""Loads org holiday calendars from `holidays.yaml` in the policies directory (VIGIL_POLICIES_DIR,
else the repository's policies/) into `ExtendedHolidays` lists.

The file is data a practice edits, so every problem is reported at once, each with file, line and
column (a YAML mark becomes `HolidayPolicySyntaxError`, a bad entry a `HolidayPolicyError` detail).
Shape, with every key but `extends` optional:

    calendars:
      US-FEDERAL+DAY-AFTER-THANKSGIVING:
        extends: US-FEDERAL                  # a built-in or another calendar in this file
        description: Federal holidays plus the Friday after Thanksgiving
        recurring:
          - {name: Day after Thanksgiving, month: 11, nth: 4, weekday: thursday, offset_days: 1}
          - {name: Christmas Eve, month: 12, day: 24}
        dates:
          - {date: 2026-12-31, name: Year-end inventory}
"""

from __future__ import annotations

import datetime as dt
import difflib
import os
from collections.abc import Mapping
from functools import lru_cache
from pathlib import Path
from typing import Any

import yaml

from engine.errors import ErrorCollector, ErrorDetail
from engine.rules.calendars.errors import HolidayPolicyError, HolidayPolicySyntaxError
from engine.rules.calendars.workdays import (
    NO_HOLIDAYS,
    US_FEDERAL,
    CalendarService,
    ExtendedHolidays,
    FixedDay,
    HolidayList,
    NoHolidays,
    NthWeekday,
    UsFederalHolidays,
)

REPO_ROOT = Path(__file__).resolve().parents[3]
DEFAULT_POLICY_PATH = REPO_ROOT / "policies" / "holidays.yaml"

WEEKDAYS = ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")
_BUILT_INS: dict[str, HolidayList] = {US_FEDERAL: UsFederalHolidays(), NO_HOLIDAYS: NoHolidays()}
_Path = tuple[str | int, ...]
_NTH_KEYS = frozenset({"name", "month", "nth", "weekday"})


class _PolicyLoader(yaml.SafeLoader):
    """SafeLoader that leaves dates as text, so 2026-02-30 becomes a located error, not a crash."""


def _timestamp_as_text(loader: _PolicyLoader, node: yaml.Node) -> str:
    assert isinstance(node, yaml.ScalarNode)
    return str(loader.construct_scalar(node))


_PolicyLoader.add_constructor("tag:yaml.org,2002:timestamp", _timestamp_as_text)


def policy_path() -> Path:
    """The holiday policy in use: holidays.yaml in the policies directory, found as practice.yaml is
    (`engine.rules.catalog.policies_dir`: VIGIL_POLICIES_DIR, else the repository's policies/). The
    repository's file had been read whatever that said, so a practice's own calendar was unknown."""
    from engine.rules.catalog import policies_dir  # here: the catalog imports the compiler, which imports us

    return policies_dir() / DEFAULT_POLICY_PATH.name


def calendar_service(path: Path | str | None = None) -> CalendarService:
    """A calendar service with the built-ins and the org calendars of one policy file.

    With no path, the policy in use (`policy_path`) is read if it exists (a policies directory
    without one has the built-in calendars only); a path that is given explicitly must exist.
    """
    if path is None:
        path = policy_path()
        return CalendarService(load_holiday_policy(path) if path.exists() else [], source=str(path))
    return CalendarService(load_holiday_policy(path), source=str(path))


def default_calendar() -> CalendarService:
    """The process-wide calendar service of the policy in use, read once per policies directory.

    Keyed by VIGIL_POLICIES_DIR as it is now rather than read once for the process, so a server or a
    test pointed at another directory gets that directory's calendars; an environment read is the
    whole cost per call (resolving the path each time cost as much as a deadline)."""
    return _service_for(os.environ.get("VIGIL_POLICIES_DIR") or None)


@lru_cache(maxsize=8)
def _service_for(policies_dir: str | None) -> CalendarService:
    """The service for one value of VIGIL_POLICIES_DIR (`cache_clear()` after editing holidays.yaml)."""
    return calendar_service()


def load_holiday_policy(path: Path | str) -> list[ExtendedHolidays]:
    """Read one holidays policy file; raises with every problem found, or returns the org calendars."""
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise HolidayPolicyError(
            f"cannot read the holiday policy {path}", [ErrorDetail(reason=str(exc), file=str(path))]
        ) from None
    return parse_holiday_policy(text, source=str(path))


def parse_holiday_policy(text: str, source: str = "<holidays>") -> list[ExtendedHolidays]:
    """Parse policy text (see the module docstring for the shape) into org calendars."""
    try:
        node = yaml.compose(text, Loader=_PolicyLoader)
        data = yaml.load(text, Loader=_PolicyLoader)  # a SafeLoader subclass: no arbitrary objects
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark
        detail = ErrorDetail(
            reason=str(exc.problem or exc),
            file=source,
            line=mark.line + 1 if mark else None,
            column=mark.column + 1 if mark else None,
        )
        raise HolidayPolicySyntaxError(f"{source} is not valid YAML", [detail]) from None
    marks: dict[_Path, tuple[int, int]] = {}
    if node is not None:
        _collect_marks(node, (), marks)
    errors = ErrorCollector()

    def bad(where: _Path, reason: str) -> None:
        line, column = _nearest_mark(marks, where)
        field = ".".join(str(p) for p in where) or None
        errors.add(ErrorDetail(reason=reason, file=source, line=line, column=column, field=field))

    specs = _calendar_specs(data, bad)
    calendars = _build(specs, bad)
    if errors:
        count = len(errors.details)
        raise HolidayPolicyError(f"{source}: {count} problem(s) in the holiday policy", errors.details)
    return calendars


def _calendar_specs(data: Any, bad: Any) -> dict[str, dict[str, Any]]:
    if data is None:
        return {}
    if not isinstance(data, dict) or set(data) - {"calendars", "version"}:
        bad((), "expected a mapping with a 'calendars' key (and optionally 'version')")
        return {}
    raw = data.get("calendars") or {}
    if not isinstance(raw, dict):
        bad(("calendars",), "'calendars' must map calendar names to definitions")
        return {}
    specs: dict[str, dict[str, Any]] = {}
    for name, body in raw.items():
        where: _Path = ("calendars", str(name))
        if not isinstance(name, str) or not name.strip():
            bad(where, "a calendar name must be a non-empty string")
        elif name in _BUILT_INS:
            bad(where, f"{name!r} is built in and cannot be redefined; extend it under another name")
        elif not isinstance(body, dict):
            bad(where, "a calendar definition must be a mapping")
        elif unknown := set(body) - {"extends", "description", "recurring", "dates"}:
            bad(where, f"unknown key(s) {', '.join(sorted(map(str, unknown)))}")
        elif not isinstance(body.get("extends"), str):
            bad(where, "'extends' is required and names the base calendar (e.g. US-FEDERAL)")
        else:
            specs[name] = body
    return specs


def _build(specs: Mapping[str, dict[str, Any]], bad: Any) -> list[ExtendedHolidays]:
    built: dict[str, HolidayList] = dict(_BUILT_INS)
    out: list[ExtendedHolidays] = []

    failed: set[str] = set()

    def resolve(name: str, chain: tuple[str, ...]) -> HolidayList | None:
        if name in built:
            return built[name]
        if name in failed:
            return None
        where: _Path = ("calendars", chain[-1], "extends") if chain else ("calendars", name)
        if name in chain:
            bad(where, f"calendar {name!r} extends itself through {' -> '.join((*chain, name))}")
            failed.update(chain)
            return None
        if name not in specs:
            close = difflib.get_close_matches(name, [*built, *specs], n=3)
            hint = f"; did you mean {', '.join(close)}?" if close else ""
            bad(where, f"extends unknown calendar {name!r}{hint}")
            return None
        body = specs[name]
        base = resolve(body["extends"], (*chain, name))
        if name in failed:
            return None
        recurring = _recurring(name, body.get("recurring"), bad)
        dates = _dates(name, body.get("dates"), bad)
        if base is None:
            failed.add(name)
            return None
        cal = ExtendedHolidays(
            name=name,
            base=base,
            description=str(body.get("description") or ""),
            recurring=recurring,
            dates=dates,
        )
        built[name] = cal
        out.append(cal)
        return cal

    for name in specs:
        resolve(name, ())
    return sorted(out, key=lambda c: c.name)


def _recurring(name: str, raw: Any, bad: Any) -> tuple[NthWeekday | FixedDay, ...]:
    rules: list[NthWeekday | FixedDay] = []
    for i, item in enumerate(_as_list(raw, ("calendars", name, "recurring"), bad)):
        where: _Path = ("calendars", name, "recurring", i)
        if not isinstance(item, dict) or not isinstance(item.get("name"), str) or "month" not in item:
            bad(where, "a recurring closure needs 'name' and 'month', plus 'day' or 'nth' and 'weekday'")
            continue
        month = item["month"]
        if not _is_int(month) or not 1 <= month <= 12:
            bad((*where, "month"), f"month must be 1-12, got {month!r}")
            continue
        if set(item) == {"name", "month", "day"}:
            day = item["day"]
            if not _is_int(day) or day < 1 or _no_such_day(month, day):
                bad((*where, "day"), f"month {month} has no day {day!r}")
                continue
            rules.append(FixedDay(label=item["name"], month=month, day=day))
        elif _NTH_KEYS <= set(item) <= {*_NTH_KEYS, "offset_days"}:
            nth, weekday, offset = item["nth"], str(item["weekday"]).lower(), item.get("offset_days", 0)
            if not _is_int(nth) or nth not in (-1, 1, 2, 3, 4):
                bad((*where, "nth"), f"nth must be 1-4 or -1 (last), got {nth!r}")
            elif weekday not in WEEKDAYS:
                bad((*where, "weekday"), f"weekday must be one of {', '.join(WEEKDAYS)}, got {weekday!r}")
            elif not _is_int(offset) or abs(offset) > 31:
                bad((*where, "offset_days"), f"offset_days must be an integer within +-31, got {offset!r}")
            else:
                rules.append(NthWeekday(item["name"], month, WEEKDAYS.index(weekday), nth, offset))
        else:
            bad(where, "use either {name, month, day} or {name, month, nth, weekday[, offset_days]}")
    return tuple(rules)


def _dates(name: str, raw: Any, bad: Any) -> dict[dt.date, str]:
    dates: dict[dt.date, str] = {}
    for i, item in enumerate(_as_list(raw, ("calendars", name, "dates"), bad)):
        where: _Path = ("calendars", name, "dates", i)
        if not isinstance(item, dict) or set(item) != {"date", "name"} or not isinstance(item["name"], str):
            bad(where, "a one-off closure is {date: YYYY-MM-DD, name: text}")
            continue
        value = item["date"]
        if isinstance(value, str):
            try:
                value = dt.date.fromisoformat(value)
            except ValueError:
                pass
        if isinstance(value, dt.datetime) or not isinstance(value, dt.date):
            bad((*where, "date"), f"not a calendar date: {item['date']!r}")
            continue
        if value in dates:
            bad((*where, "date"), f"{value} is listed twice")
            continue
        dates[value] = item["name"]
    return dates


def _as_list(raw: Any, where: _Path, bad: Any) -> list[Any]:
    if raw is None:
        return []
    if not isinstance(raw, list):
        bad(where, "must be a list")
        return []
    return raw


def _is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _no_such_day(month: int, day: int) -> bool:
    return day > (29 if month == 2 else 30 if month in (4, 6, 9, 11) else 31)


def _collect_marks(node: yaml.Node, path: _Path, marks: dict[_Path, tuple[int, int]]) -> None:
    """Record the line and column of every mapping value and list item, keyed by its path."""
    marks[path] = (node.start_mark.line + 1, node.start_mark.column + 1)
    if isinstance(node, yaml.MappingNode):
        for key, value in node.value:
            _collect_marks(value, (*path, str(key.value)), marks)
            # An error about an entry points at its key, which is where a person looks for it.
            marks[(*path, str(key.value))] = (key.start_mark.line + 1, key.start_mark.column + 1)
    elif isinstance(node, yaml.SequenceNode):
        for i, item in enumerate(node.value):
            _collect_marks(item, (*path, i), marks)


def _nearest_mark(marks: Mapping[_Path, tuple[int, int]], where: _Path) -> tuple[int | None, int | None]:
    for cut in range(len(where), -1, -1):
        if where[:cut] in marks:
            return marks[where[:cut]]
    return None, None
