"""The ruleset file format as pydantic models (what a liaison writes in rulesets/<framework>/*.yaml).

The JSON Schema in docs/schema/ruleset.schema.json is generated from these models
(`python -m engine.rules.schema_export`).
"""

from __future__ import annotations

import datetime as dt
import difflib
import json
import math
import re
from dataclasses import dataclass
from typing import Any, Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError, available_timezones

from pydantic import BaseModel, ConfigDict, Field, ValidationInfo, field_serializer, field_validator, model_validator
from pydantic.json_schema import SkipJsonSchema

from engine.records.fields import US_STATES

Severity = Literal["critical", "high", "medium", "low"]
SEVERITY_ORDER = {"low": 0, "medium": 1, "high": 2, "critical": 3}
SEMVER = re.compile(r"^\d{1,9}\.\d{1,9}\.\d{1,9}$")  # bounded: the version names a file
FRAMEWORK_ID = re.compile(r"^[a-z][a-z0-9_]{0,39}$")
RULE_ID = re.compile(r"^[A-Z][A-Z0-9]*(-[A-Z0-9]+)+$")
DURATION_UNITS = ("days", "hours", "working_days", "months", "years", "year_end_days")
#: The one window unit that measures elapsed time (C3) and so takes a fraction: {hours: 1.5} is 90
#: minutes. The others count whole calendar units (days, working days, months, years).
ELAPSED_UNITS = ("hours",)
#: The `unit` of a list parameter whose items are state-law deadlines, "ST:N:UNIT" (e.g.
#: access_state_overrides: ["TX:15:business_days"]): each item is checked where every value is.
STATE_DEADLINES = "state deadlines"
#: What a state deadline counts in: calendar days (C1), or business days on the establishment's
#: holiday calendar (C4); `working_days` is the catalog's other name for business days.
STATE_DEADLINE_UNITS = ("days", "business_days", "working_days")
#: The longest state deadline: one longer than a year could never be sooner than HIPAA's own (and a
#: count of millions of days is past the calendar's end).
MAX_STATE_DEADLINE = 365
_STATE_DEADLINE_FORM = ("Write STATE:N:UNIT, e.g. TX:15:business_days: STATE a two-letter USPS code, N a whole "
                        f"number from 1 to {MAX_STATE_DEADLINE}, UNIT days (calendar days) or business_days (on the "
                        "establishment's holiday calendar)")


#: The largest magnitude of a number parameter: past it a float no longer holds every whole number
#: (the compiler refuses such literals in conditions for the same reason).
MAX_NUMBER = 2**53
#: The longest period a parameter in these units may give when its ruleset declares no maximum: a
#: century. Past it a date computed from the value leaves the calendar (year 9999), and every
#: evaluation from the day the value took effect had crashed ("1e999 hours" had been stored).
IMPLICIT_MAXIMUM = {"days": 36_525, "working days": 26_100, "business days": 26_100, "hours": 876_600,
                    "months": 1_200, "years": 100}


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


def _after_start(value: dt.date | None, info: ValidationInfo) -> dt.date | None:
    """An `effective_to` after its `effective_from`, refused at the `effective_to` key (as a check of
    the whole model it had pointed at the file's first line, naming no key)."""
    start = info.data.get("effective_from")
    if value is not None and isinstance(start, dt.date) and value <= start:
        raise ValueError(f"effective_to must be after effective_from ({value} is not after {start}): a rule or "
                         "ruleset is in force from effective_from up to the day before effective_to")
    return value


class ParamSpec(_Strict):
    """A practice-tunable value with a default (catalog: 'Param')."""

    # the schema refuses a bound on a parameter that is not a number, as `_bounds_of_numbers` does
    model_config = ConfigDict(json_schema_extra={"allOf": [{
        "if": {"properties": {"type": {"enum": ["bool", "string", "list"]}}, "required": ["type"]},
        "then": {"properties": {"minimum": {"type": "null"}, "maximum": {"type": "null"}}}}]})

    type: Literal["int", "number", "bool", "string", "list"]
    default: Any
    unit: str | None = None
    description: str
    minimum: float | None = Field(default=None, description="the smallest value allowed (int and number); with a "
                                  "unit and no minimum, 0: a negative number of days, hours or cases means nothing")
    maximum: float | None = Field(default=None, description="the largest value allowed (int and number)")
    allowed: list[str] | None = Field(default=None, description="the values a string may take, or a list's items "
                                      "(a course code, a category): a misspelt value in practice.yaml is refused "
                                      "rather than matching nothing")

    @model_validator(mode="before")
    @classmethod
    def _date_default_as_text(cls, data: Any) -> Any:
        if isinstance(data, dict) and data.get("type") == "string" and type(data.get("default")) is dt.date:
            return {**data, "default": data["default"].isoformat()}  # see check_param_value
        return data

    @field_validator("minimum", "maximum", mode="before")
    @classmethod
    def _bound_is_a_number(cls, value: Any, info: ValidationInfo) -> Any:
        """A bound is a number as written: `minimum: '3'` had been read as 3 here while the JSON Schema
        refused it, so an editor and `rules validate` disagreed."""
        if value is not None and (isinstance(value, bool) or not isinstance(value, int | float)):
            shown = str(value).lower() if isinstance(value, bool) else repr(value)
            raise ValueError(f"{info.field_name} {shown} is not a number: write it unquoted, e.g. "
                             f"{info.field_name}: 3")
        return value

    @field_serializer("minimum", "maximum")
    def _bound_as_written(self, value: float | None) -> float | int | None:
        """A whole bound is shown whole: `vigil rules diff --json` (and every dump of a parameter) had
        said `minimum: 1.0, maximum: 90.0` for a bound written 1 and 90, as the field holds a float."""
        return int(value) if value is not None and float(value).is_integer() else value

    @model_validator(mode="after")
    def _bounds_of_numbers(self) -> ParamSpec:
        """`minimum`/`maximum` bound an int or a number; on any other type they had been accepted and
        meant nothing."""
        given = [k for k in ("minimum", "maximum") if getattr(self, k) is not None]
        if given and self.type not in ("int", "number"):
            raise ValueError(f"{' and '.join(given)} bound an int or a number, not a {self.type} parameter: remove "
                             + ("them" if len(given) > 1 else "it")
                             + ("" if self.type == "bool" else " (`allowed` lists the values a string or a list's "
                                "items may take)"))
        return self

    @model_validator(mode="after")
    def _default_matches_type(self) -> ParamSpec:
        check_param_value(self, self.default)
        return self


#: what a parameter of each type holds, in the words of the people who set it (the liaison's form, the
#: CLI, a practice file's check): "expected number, got str 'twelve'" named Python's types
_TYPE_WORDS = {"int": "a whole number", "number": "a number", "bool": "true or false", "string": "text",
               "list": "a list, e.g. [a, b]"}


def _wrong_type(wanted: str, value: Any) -> str:
    """Why `value` does not fit a parameter of type `wanted`, in words.

    YAML 1.1 (PyYAML) reads `1e9` and `2E3` as text: an exponent is a number only with a point and a
    signed exponent (`1.0e+9`). A liaison who typed 1e9 into a number field was told "got str '1e9'"."""
    shown = (str(value).lower() if isinstance(value, bool) else repr(value) if isinstance(value, str)
             else json.dumps(value, default=str) if isinstance(value, list | dict) else str(value))
    if wanted in ("int", "number") and isinstance(value, str) and _NUMBER_TEXT.fullmatch(value.strip()):
        number = float(value)
        full = f", {_number_text(number)}" if math.isfinite(number) and abs(number) < 1e16 else ""
        return (f"{shown} was read as text, not a number (a number with an exponent needs a point and a sign, "
                f"as in 1.0e+9): write it in full{full}")
    return f"{shown} is not {_TYPE_WORDS[wanted]}"


#: a number written with an exponent and no point or sign (`1e9`), which YAML 1.1 leaves as text
_NUMBER_TEXT = re.compile(r"[-+]?(\d+\.?\d*|\.\d+)[eE][-+]?\d+")


def _number_text(value: float) -> str:
    """A bound as a person writes it: 48, 2.5, 9007199254740992 (not 48.0 or 9.0072e+15)."""
    return str(int(value)) if float(value).is_integer() else f"{value:g}"


def check_param_value(spec: ParamSpec, value: Any) -> Any:
    """The value as the parameter holds it; ValueError when it does not fit the declared type.

    A date given to a string parameter is held as its ISO text: YAML reads an unquoted
    `npp_version_date: 2026-02-01` as a date, and the liaison meant the text."""
    if spec.type == "string" and type(value) is dt.date:
        value = value.isoformat()
    if spec.type == "int" and isinstance(value, float) and value.is_integer():
        value = int(value)  # 30.0 is 30, as a window's amount reads it (docs/rulesets.md)
    ok = {
        "int": isinstance(value, int) and not isinstance(value, bool),
        "number": isinstance(value, int | float) and not isinstance(value, bool),
        "bool": isinstance(value, bool),
        "string": isinstance(value, str),
        "list": isinstance(value, list),
    }[spec.type]
    if not ok:
        raise ValueError(_wrong_type(spec.type, value))
    if spec.type == "string" and spec.unit == "date" and value != "":
        # a date kept as text (empty = not recorded): "last spring" had passed every check, then
        # crashed every evaluation from the day it took effect
        try:
            if len(value) != 10:
                raise ValueError
            dt.date.fromisoformat(value)
        except ValueError:
            raise ValueError(f"{value!r} is not a date: write YYYY-MM-DD, or \"\" for not recorded") from None
    if spec.type == "list" and spec.unit == STATE_DEADLINES:
        _check_state_deadlines(value)
    if spec.allowed is not None and spec.type in ("string", "list"):
        wrong = [v for v in (value if spec.type == "list" else [value]) if v not in spec.allowed]
        if wrong:
            raise ValueError(f"{', '.join(repr(v) for v in wrong)} {'is' if len(wrong) == 1 else 'are'} not among "
                             f"the values allowed: {', '.join(spec.allowed)}")
    if spec.type in ("int", "number"):
        if isinstance(value, float) and not math.isfinite(value):
            raise ValueError(f"{value!r} is not a number a deadline or count can use: give a finite value")
        high = spec.maximum if spec.maximum is not None else IMPLICIT_MAXIMUM.get(spec.unit or "", MAX_NUMBER)
        if value > high:
            raise ValueError(f"{value!r} is above the largest value allowed, {_number_text(high)}"
                             + (f" ({spec.unit})" if spec.unit else "")
                             + ("" if spec.maximum is not None else
                                ": longer than a century" if spec.unit in IMPLICIT_MAXIMUM else ""))
        low = spec.minimum if spec.minimum is not None else (0 if spec.unit else -MAX_NUMBER)
        if value < low:
            raise ValueError(f"{value!r} is below the smallest value allowed, {_number_text(low)}"
                             + (f" ({spec.unit})" if spec.unit else ""))
    return value


@dataclass(frozen=True, slots=True)
class StateDeadline:
    """One state law's deadline, parsed from "ST:N:UNIT" (catalog HIPAA-PRV-ACC-014: "Texas 15
    business days"). `unit` is "days" or "business_days" (`working_days` is read as the latter)."""

    state: str
    count: int
    unit: str

    @property
    def words(self) -> str:
        """The deadline as a finding's message says it: "TX law: 15 business days"."""
        return f"{self.state} law: {self.count} {self.unit.replace('_', ' ')}"


def parse_state_deadline(entry: Any) -> StateDeadline:
    """A state deadline from its text "ST:N:UNIT"; ValueError naming the entry and what is wrong.

    Every part is checked, because each mistake had been silent: an unknown unit counted calendar
    days, a misspelt state or a missing part matched no establishment, a negative count gave a due
    date before the request, and a count in words crashed every evaluation."""
    parts = str(entry).split(":") if isinstance(entry, str) else []
    if len(parts) != 3:
        raise ValueError(f"{entry!r} is not STATE:N:UNIT (three parts separated by colons)")
    state, count, unit = (p.strip() for p in parts)
    if state.upper() not in US_STATES:
        raise ValueError(f"{entry!r}: {state!r} is not a US state or territory code (use the USPS code, e.g. TX)")
    if not (count.isascii() and count.isdigit()) or not 1 <= int(count) <= MAX_STATE_DEADLINE:
        raise ValueError(f"{entry!r}: the count {count!r} is not a whole number from 1 to {MAX_STATE_DEADLINE}")
    if unit not in STATE_DEADLINE_UNITS:
        raise ValueError(f"{entry!r}: unknown unit {unit!r} (days or business_days)")
    return StateDeadline(state.upper(), int(count), "days" if unit == "days" else "business_days")


def _check_state_deadlines(value: list[Any]) -> None:
    """Every bad item of a `state deadlines` list, said at once with the form to write."""
    wrong = []
    for entry in value:
        try:
            parse_state_deadline(entry)
        except ValueError as exc:
            wrong.append(str(exc))
    if wrong:
        raise ValueError(f"{'; '.join(wrong)}. {_STATE_DEADLINE_FORM}")


def _window_as_written(schema: dict[str, Any]) -> None:
    """The schema of a window as a liaison writes it ({days: 30}), not as it is held (unit, amount)."""
    amount = {"anyOf": [{"type": "number"},
                        {"type": "string", "pattern": r"^params\.[a-z_][a-z0-9_]*$", "description": "params.NAME"}]}
    description = schema.get("description")
    schema.clear()
    schema.update({"type": "object", "description": description, "minProperties": 1, "maxProperties": 1,
                   "additionalProperties": False, "properties": {unit: amount for unit in DURATION_UNITS}})


#: How an error names what a window of each unit counts.
_UNIT_WORDS = {"days": "days", "working_days": "working days", "months": "months", "years": "years",
               "year_end_days": "days after the year end", "hours": "hours"}


def window_amount(unit: str, amount: int | float, *, hours_hint: bool = True) -> int | float:
    """The amount a window of `unit` counts, or ValueError saying what to write instead.

    Hours are elapsed time (C3) and keep their fraction exactly: 0.5 is thirty minutes. Every other
    unit counts whole days, months or years, so a fraction has no meaning there: it is refused, never
    cut off (the deadline code had read {hours: 1.5} as one hour and a 0.5-hour parameter as none).
    A whole float (30.0) is read as the whole number it is. `hours_hint` suggests the window in
    hours instead (for the liaison writing the rule, not for a practice setting a parameter)."""
    words = _UNIT_WORDS.get(unit, unit)
    if not math.isfinite(amount) or amount < 0:
        raise ValueError(f"{amount!r} is not a number of {words} a window can count: write a number of 0 or more")
    if unit in ELAPSED_UNITS or amount == int(amount):
        return amount if unit in ELAPSED_UNITS else int(amount)
    hint = hours_hint and unit == "days"
    instead = f", or count elapsed time in hours ({{hours: {amount * 24:g}}})" if hint else ""
    raise ValueError(f"{amount:g} is not a whole number of {words}, and {words} are counted whole (a fraction "
                     f"is refused, not cut off): write a whole number, e.g. {math.floor(amount)} or "
                     f"{math.ceil(amount)}" + instead)


def window_params(rules: list[RuleSpec]) -> list[tuple[str, str, str, str]]:
    """(parameter, rule id, key, unit) for each obligation window whose amount is params.NAME in a
    unit counted whole: the values such a parameter may take depend on how the rules count it."""
    uses = []
    for rule in rules:
        ob = rule.obligation
        for key, win in (("within", ob.within if ob else None), ("warn", ob.warn if ob else None)):
            if win is not None and isinstance(win.amount, str) and win.unit not in ELAPSED_UNITS:
                uses.append((win.amount.removeprefix("params."), rule.id, key, win.unit))
    return uses


def check_window_param(rules: list[RuleSpec], name: str, value: Any) -> list[str]:
    """Why `value` cannot be parameter `name`, one reason per window that counts it in whole units."""
    if isinstance(value, bool) or not isinstance(value, int | float):
        return []  # not a number: the compiler says so where the window reads it
    problems = []
    for param, rule_id, key, unit in window_params(rules):
        if param != name:
            continue
        try:
            window_amount(unit, value, hours_hint=False)
        except ValueError as exc:
            problems.append(f"rule {rule_id} counts it in {_UNIT_WORDS.get(unit, unit)} "
                            f"({key}: {{{unit}: params.{name}}}): {exc}")
    return problems


class Window(_Strict):
    """An amount of one unit: {days: 30}, {hours: params.access_revoke_hours}, {working_days: 10}."""

    model_config = ConfigDict(json_schema_extra=lambda schema, _: _window_as_written(schema))

    unit: str
    amount: float | int | str  # a number or "params.name"

    @classmethod
    def from_mapping(cls, raw: Any) -> Window:
        if isinstance(raw, Window):
            return raw
        if not isinstance(raw, dict) or len(raw) != 1:
            raise ValueError("a window is one unit and an amount, e.g. {days: 30}")
        ((unit, amount),) = raw.items()
        if unit not in DURATION_UNITS:
            raise ValueError(f"unknown unit {unit!r} (allowed: {', '.join(DURATION_UNITS)})")
        if isinstance(amount, bool) or not isinstance(amount, int | float | str):
            raise ValueError("amount must be a number or params.NAME")
        if isinstance(amount, str) and not amount.startswith("params."):
            raise ValueError("amount must be a number or params.NAME")
        if not isinstance(amount, str):
            amount = window_amount(unit, amount)  # {days: 1.5} is refused here, before anything runs
        return cls(unit=unit, amount=amount)


#: How an obligation's `cutoff`, `on` and `tz` are written (the JSON Schema says the same).
CUTOFF = re.compile(r"^([01][0-9]|2[0-3]):[0-5][0-9]$")
MONTH_DAY = re.compile(r"^(0[1-9]|1[0-2])-(0[1-9]|[12][0-9]|3[01])$")
ZONE_NAME = re.compile(r"^[A-Za-z][A-Za-z0-9_+-]*(/[A-Za-z0-9_+-]+)*$")


def _check_cutoff(value: Any) -> Any:
    """A cut-off is HH:MM on the 24-hour clock. An unquoted 20:00 is the number 1200 to YAML (base
    60), so that mistake is named with the text to write."""
    if isinstance(value, int) and not isinstance(value, bool) and 0 <= value < 24 * 60:
        raise ValueError(f"cutoff {value} is a number: YAML reads an unquoted time as minutes; quote it, "
                         f"cutoff: \"{value // 60:02d}:{value % 60:02d}\"")
    if not isinstance(value, str) or not CUTOFF.match(value):
        raise ValueError(f"cutoff {value!r} is not a time of day: write HH:MM on the 24-hour clock, quoted, "
                         "e.g. cutoff: \"20:00\" (8 p.m.)")
    return value


def _check_month_day(value: Any) -> Any:
    """`on` is a day of the year as MM-DD that every year has (02-29 is clamped in common years)."""
    if isinstance(value, str) and MONTH_DAY.match(value):
        try:
            dt.date(2024, int(value[:2]), int(value[3:]))  # a leap year, as the calendar service reads it
            return value
        except ValueError:
            pass
    raise ValueError(f"on {value!r} is not a month and day: write MM-DD, quoted, e.g. \"on\": \"03-02\" (2 March)")


def _check_zone(value: Any) -> Any:
    """`tz` is an IANA zone name, with the close names when it is not one."""
    try:
        if isinstance(value, str) and ZONE_NAME.match(value):
            ZoneInfo(value)
            return value
    except (ZoneInfoNotFoundError, ValueError, OSError):  # OSError: 'America' names tzdata's folder
        pass
    close = difflib.get_close_matches(str(value), sorted(available_timezones()), n=3)
    hint = f" (did you mean {', '.join(close)}?)" if close else ""
    raise ValueError(f"tz {value!r} is not an IANA time zone{hint}: write the zone the deadline is kept in, "
                     "e.g. America/New_York")


class ObligationSpec(_Strict):
    """Something must happen within a window after an anchor (see ARCHITECTURE decision 3)."""

    anchor: str = Field(description="alias.field the clock starts from")
    within: Window
    convention: str | None = Field(default=None, description="calendar convention; derived from the unit")
    roll_forward: bool = False
    holiday_calendar: str | None = Field(
        default=None, description="the holiday calendar working days and roll_forward skip: US-FEDERAL, NONE, or "
        "an org calendar of the policies' holidays.yaml (checked by `vigil rules validate`)",
        json_schema_extra={"examples": ["US-FEDERAL", "NONE"]})
    on: str | None = Field(default=None, description="MM-DD for fixed_date deadlines (e.g. 03-02)",
                           json_schema_extra={"pattern": MONTH_DAY.pattern})
    cutoff: str | None = Field(default=None, description="local closing time HH:MM on the due day",
                               json_schema_extra={"pattern": CUTOFF.pattern})
    tz: str | None = Field(default=None, description="IANA zone of the deadline when not the establishment's "
                           "(e.g. America/New_York)", json_schema_extra={"pattern": ZONE_NAME.pattern})
    met_by: str | None = Field(default=None, description="pattern of the record that meets the obligation")
    met_at: str | None = Field(default=None, description="field of the met_by record that says when")
    warn: Window | None = None
    late: bool = Field(default=False, description="a completion after the due date is itself a finding")
    severity: dict[Literal["overdue", "due_soon", "late"], Severity] = Field(default_factory=dict)

    @field_validator("within", "warn", mode="before")
    @classmethod
    def _window(cls, raw: Any) -> Any:
        return None if raw is None else Window.from_mapping(raw)

    @field_validator("cutoff", "on", "tz", mode="before")
    @classmethod
    def _written_form(cls, value: Any, info: ValidationInfo) -> Any:
        """Each in its form, refused here: a cut-off of 25:00, a zone Mars/Base or an `on` of 13-45
        had validated and published, then stopped every evaluation with a message naming no rule."""
        if value is None:
            return None
        return {"cutoff": _check_cutoff, "on": _check_month_day, "tz": _check_zone}[str(info.field_name)](value)

    @model_validator(mode="after")
    def _met_pair(self) -> ObligationSpec:
        if self.met_by is not None and self.met_at is None:
            raise ValueError("met_by needs met_at (the field that says when it was met)")
        if self.met_by is None and self.met_at is not None and "." not in self.met_at:
            raise ValueError("without met_by, met_at is alias.field of a matched record")
        if self.late and self.met_at is None:
            raise ValueError("late needs met_at")
        return self


class SeverityWhen(_Strict):
    severity: Severity
    when: str


class RuleSpec(_Strict):
    """One rule: what it matches, when it is violated, what it says and which SOP it assigns."""

    id: str = Field(json_schema_extra={"pattern": RULE_ID.pattern})
    title: str
    citation: str
    severity: Severity
    kind: Literal["state", "event"] = "state"
    advisory: bool = False
    tag: Literal["V", "S", "K", "U"] | None = None
    description: str | None = None
    match: dict[str, str]
    when: str | None = None
    subject: str
    occurrence: str | None = None
    establishment: str | None = None
    obligation: ObligationSpec | None = None
    severity_when: list[SeverityWhen] = Field(default_factory=list)
    message: str
    sop: str
    effective_from: dt.date | None = Field(
        default=None, description="the rule applies from this date, when its law starts later than the ruleset")
    effective_to: dt.date | None = Field(
        default=None, description="the rule applies until this date (exclusive), when its law ends sooner")
    line: SkipJsonSchema[int | None] = Field(default=None, exclude=True)  # where the loader found it
    #: the line of each of the rule's keys (`when`, `message`, `match.<alias>`), from the loader
    lines: SkipJsonSchema[dict[str, int]] = Field(default_factory=dict, exclude=True)

    @field_validator("id")
    @classmethod
    def _rule_id(cls, value: str) -> str:
        if not RULE_ID.match(value):
            raise ValueError(f"rule id {value!r} must look like HIPAA-SEC-TERM-004")
        return value

    @model_validator(mode="after")
    def _subject_bound(self) -> RuleSpec:
        if not self.match:
            raise ValueError("match needs at least one pattern")
        if self.subject not in self.match:
            raise ValueError(f"subject {self.subject!r} is not one of the match aliases {list(self.match)}")
        if self.tag == "U" and not self.advisory:
            raise ValueError("rules tagged [U] ship as advisory: set advisory: true")
        return self

    @field_validator("effective_to")
    @classmethod
    def _ends_after_start(cls, value: dt.date | None, info: ValidationInfo) -> dt.date | None:
        return _after_start(value, info)

    def in_force(self, day: dt.date) -> bool:
        """Whether the rule's own dates admit `day` (the ruleset's dates are checked apart)."""
        return (self.effective_from is None or self.effective_from <= day) and (
            self.effective_to is None or day < self.effective_to)


class RulesetSpec(_Strict):
    """A versioned, effective-dated set of rules for one framework."""

    framework: str = Field(description="the framework's id, which is also its folder under rulesets/: lower-case "
                           "letters, digits and underscores, starting with a letter",
                           json_schema_extra={"pattern": FRAMEWORK_ID.pattern})
    version: str = Field(json_schema_extra={"pattern": SEMVER.pattern})
    title: str
    effective_from: dt.date
    effective_to: dt.date | None = None
    authority: str
    params: dict[str, ParamSpec] = Field(default_factory=dict)
    rules: list[RuleSpec]

    @field_validator("framework")
    @classmethod
    def _framework_id(cls, value: str) -> str:
        # it names a folder: "../x" or "/tmp/x" would put a published file outside rulesets/
        if not FRAMEWORK_ID.match(str(value)):
            raise ValueError(f"framework {value!r} must be an id: lower-case letters, digits and underscores, "
                             "starting with a letter, at most 40 characters (it is the folder's name)")
        return str(value)

    @field_validator("version")
    @classmethod
    def _semver(cls, value: str) -> str:
        if not SEMVER.match(str(value)):
            raise ValueError(f"version {value!r} must be semantic (MAJOR.MINOR.PATCH, each at most 9 digits)")
        return str(value)

    @field_validator("effective_to")
    @classmethod
    def _ends_after_start(cls, value: dt.date | None, info: ValidationInfo) -> dt.date | None:
        return _after_start(value, info)

    @model_validator(mode="after")
    def _consistent(self) -> RulesetSpec:
        seen: set[str] = set()
        for rule in self.rules:
            if rule.id in seen:
                raise ValueError(f"rule id {rule.id} appears twice")
            seen.add(rule.id)
        for rule in self.rules:
            first = max(self.effective_from, rule.effective_from or self.effective_from)  # of the overlap
            if not (self.in_force(first) and rule.in_force(first)):
                # the rule ends by the ruleset's start, or starts once it has ended (each date is after
                # its own start, so there is no other way); the loader points at the key named
                if rule.effective_to is not None and rule.effective_to <= self.effective_from:
                    why = (f"its effective_to {rule.effective_to} is not after the ruleset's effective_from "
                           f"{self.effective_from}")
                else:
                    why = (f"its effective_from {rule.effective_from} is not before the ruleset's effective_to "
                           f"{self.effective_to}")
                raise ValueError(f"rule {rule.id} is never in force: {why}; a rule's dates must overlap its "
                                 "ruleset's")
        return self

    def window_default_problems(self) -> list[tuple[str, str, str]]:
        """(parameter, rule id, reason) for each window a parameter's default does not fit (a fraction
        of a day is refused): one per rule, so the loader says each at the parameter's line (three
        rules' reasons had been joined into one problem at the file's first line)."""
        return [(name, rule.id, f"params.{name} defaults to {self.params[name].default!r}: {reason}")
                for rule in self.rules
                for name in sorted({use[0] for use in window_params([rule])} & set(self.params))
                for reason in check_window_param([rule], name, self.params[name].default)]

    @property
    def name(self) -> str:
        return f"{self.framework}@{self.version}"

    def in_force(self, day: dt.date) -> bool:
        return self.effective_from <= day and (self.effective_to is None or day < self.effective_to)
