"""The value types record fields are built from (instant, date, state code, count, ...).

Why a module of its own: the contract's value rules (an instant must carry its offset, a date is
`YYYY-MM-DD`, a boolean is a JSON boolean, a state is a USPS code) are enforced here once, with
messages written for the person who exported the file, and every record model reuses them. Each
type also carries its JSON Schema so that `docs/schema/records.schema.json` says the same thing.

Parsing is deliberately strict: no unix timestamps for instants, no "yes" for booleans, no numbers
for ids. A lax parser guesses, and a guessed compliance fact is worse than a rejected file.
"""

from __future__ import annotations

import datetime as dt
import math
import re
import types
from functools import lru_cache
from typing import Annotated, Any, Union, get_args, get_origin
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import AfterValidator, Field, PlainSerializer, PlainValidator, Strict, WithJsonSchema
from pydantic_core import PydanticCustomError

from engine.json_codec import LongInteger
from engine.storable_text import CONTROL_CLASS

US_STATES: tuple[str, ...] = (
    "AK", "AL", "AR", "AS", "AZ", "CA", "CO", "CT", "DC", "DE", "FL", "GA", "GU", "HI", "IA", "ID",
    "IL", "IN", "KS", "KY", "LA", "MA", "MD", "ME", "MI", "MN", "MO", "MP", "MS", "MT", "NC", "ND",
    "NE", "NH", "NJ", "NM", "NV", "NY", "OH", "OK", "OR", "PA", "PR", "RI", "SC", "SD", "TN", "TX",
    "UT", "VA", "VI", "VT", "WA", "WI", "WV", "WY",
)  # fmt: skip
_STATE_SET = frozenset(US_STATES)
#: Digits here and in the patterns below are ASCII only: Python's `\d` and pydantic's (Rust) regex
#: also take other scripts' digits (`٢٠٢٦`, full-width `２０２６`), which were stored as given.
_DATE_RE = re.compile(r"^\d{4}-\d{2}-\d{2}$", re.ASCII)
#: Instants and dates before this year are refused. Exports write 0001-01-01 for "no date" (the
#: smallest date .NET and others hold), and a time that early broke the sweep: the snooping alerts'
#: relationship window, 30 days before it, is before the calendar begins (every evaluation of the
#: practice failed with an OverflowError). 9999-12-31, written for "never" (expiry), is kept.
MIN_YEAR = 1800
_INSTANT_HINT = "write it in ISO 8601 with Z or an offset, e.g. 2026-03-07T21:00:00-08:00"


def parse_instant(value: Any) -> dt.datetime:
    """An ISO 8601 instant with an offset (or Z); naive and date-only values are refused."""
    parsed: dt.datetime | None = None
    if type(value) is str and len(value) > 10:  # the usual case first (a date alone is 10 characters)
        if value[-1] == "z":  # RFC 3339 allows a lower-case z (and t, which fromisoformat takes)
            value = value[:-1] + "Z"
        if value[4] == "-" and value[10] not in "Tt ":  # fromisoformat takes any character: 2026-01-05x09:00Z
            if value[8:9] in ("T", "t"):  # 2025-062T10:00:00Z, an ordinal date
                raise PydanticCustomError("instant_format", "not read: '{value}' gives the day of the year "
                                          "(YYYY-DDD); write the calendar date instead, e.g. 2026-03-07T21:00:00-08:00",
                                          {"value": _printable(value)})
            raise PydanticCustomError("instant_format", "not an ISO 8601 instant: '{value}': the date and the time "
                                      "are separated by T; " + _INSTANT_HINT, {"value": _printable(value)})
        seconds_offset = value[-9] in "+-" and value[-6] == ":"  # +05:30:15
        if seconds_offset or value[-7] == " ":  # or 10:00:00 -08:00: not ISO 8601, read all the same
            raise PydanticCustomError("instant_format", "not an ISO 8601 instant: '{value}': " + (
                "an offset is hours and minutes (+05:30)" if seconds_offset else "nothing comes between the time "
                "and its offset") + "; " + _INSTANT_HINT, {"value": _printable(value)})
        try:
            parsed = dt.datetime.fromisoformat(value)
        except ValueError:
            pass  # said by _instant_or_error, in the words for its kind of mistake
    if parsed is None:
        parsed = _instant_or_error(value)
    if parsed.tzinfo is None or parsed.utcoffset() is None:
        raise PydanticCustomError(
            "instant_without_offset",
            "instant without an offset: '{value}' does not say which time zone it is in; " + _INSTANT_HINT,
            {"value": _shown(value)},
        )
    if parsed.year < MIN_YEAR:
        raise _too_early(_shown(value))
    if parsed.year == 9999:  # the calendar's last day: with an offset it may not exist in UTC
        try:
            parsed.astimezone(dt.UTC)
        except OverflowError:
            raise PydanticCustomError(
                "instant_range", "'{value}' is after the year 9999 once in UTC", {"value": _shown(value)},
            ) from None
    return parsed


def _shown(value: str | dt.datetime) -> str:
    """An instant as the message quotes it: the text given, or a datetime's ISO form."""
    return _printable(value) if isinstance(value, str) else value.isoformat()


def _printable(value: Any) -> Any:
    """Text as an error message may quote it: an unpaired surrogate (which JSON's \\ud83c escape
    can carry) has no UTF-8 form, and pydantic fails to render a message holding one, so it is
    written as its escape instead."""
    if isinstance(value, str):
        return value.encode("utf-8", "backslashreplace").decode("utf-8")
    return value


def _too_early(value: str) -> PydanticCustomError:
    return PydanticCustomError(
        "time_range",
        "'{value}' is before " + str(MIN_YEAR) + ": taken for a placeholder (such as 0001-01-01 for 'no date'), "
        "which is refused; leave the field out when there is no date",
        {"value": _printable(value)},
    )


def stored_instant(value: Any) -> dt.datetime | None:
    """An instant field of a stored record as written (its own offset), or None when absent.

    For readers of records already validated by `parse_instant` on import: no second check, only
    the parse (Python 3.11 reads the `Z`).
    """
    if value is None or value == "":
        return None
    if isinstance(value, dt.datetime):
        return value
    return dt.datetime.fromisoformat(str(value))


def _instant_or_error(value: Any) -> dt.datetime:
    if isinstance(value, dt.datetime):
        return value
    if not isinstance(value, str):
        raise PydanticCustomError(
            "instant_type",
            "expected an instant as an ISO 8601 string, got {kind}; " + _INSTANT_HINT,
            {"kind": json_kind(value)},
        )
    if _DATE_RE.match(value):
        raise PydanticCustomError(
            "instant_without_offset",
            "instant without an offset: '{value}' is a date, an instant needs a time and an "
            "offset, e.g. {value}T00:00:00-05:00",
            {"value": _printable(value)},
        )
    if value.isdigit() and len(value) > 8:  # ISO's basic form YYYYMMDD is 8 digits at most without a time
        raise PydanticCustomError(
            "instant_type",
            "'{value}' looks like a Unix timestamp (seconds or milliseconds since 1970), not an ISO 8601 "
            "instant; " + _INSTANT_HINT, {"value": _printable(value)})
    try:
        return dt.datetime.fromisoformat(value)
    except ValueError as exc:
        if "out of range" in str(exc) or "must be in" in str(exc):  # 2026-02-30, month 13, hour 25
            raise PydanticCustomError("instant_no_such_time", "no such date or time: '{value}' ({why})",
                                      {"value": _printable(value), "why": str(exc)}) from None
        raise PydanticCustomError(
            "instant_format", "not an ISO 8601 instant: '{value}'; " + _INSTANT_HINT, {"value": _printable(value)}
        ) from None


def format_instant(value: dt.datetime) -> str:
    """ISO 8601 with the instant's own offset; UTC is written `Z`."""
    text = value.isoformat()
    return text[:-6] + "Z" if text.endswith("+00:00") else text


def parse_date(value: Any) -> dt.date:
    """A calendar date written `YYYY-MM-DD` (an instant is refused: it would need a zone to be a date)."""
    if isinstance(value, dt.date) and not isinstance(value, dt.datetime):
        return value
    if isinstance(value, str) and _DATE_RE.match(value):
        try:
            parsed = dt.date.fromisoformat(value)
        except ValueError:
            raise PydanticCustomError("date_value", "no such date: '{value}'", {"value": _printable(value)}) from None
        if parsed.year < MIN_YEAR:
            raise _too_early(value)
        return parsed
    raise PydanticCustomError(
        "date_format", "expected a date written YYYY-MM-DD, got {kind}", {"kind": json_kind(value)}
    )


#: The largest number a record may hold: a signed 64-bit integer. Larger ones are refused rather
#: than stored: the sweep reads stored JSON with orjson, which reads a whole number past 64 bits as
#: a float (the digits past the 17th lost), PostgreSQL's JSONB writes a large decimal back as all
#: its digits, and `1e999`, read as infinity, would be stored as `Infinity`, which is not JSON at all
#: (every later read of the record would fail on it).
MAX_NUMBER = 2**63 - 1


def parse_number(value: Any) -> int | float:
    """A non-negative JSON number (integer or decimal) up to `MAX_NUMBER`; booleans and numeric
    strings are refused."""
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise PydanticCustomError("number_type", "expected a number, got {kind}", {"kind": json_kind(value)})
    if value < 0 or value != value:
        raise PydanticCustomError("number_range", "must be a number of at least 0, got {value}", {"value": value})
    if value == math.inf:
        raise PydanticCustomError("number_range", "must be a finite number; this one is too large to store",
                                  {"value": _printable(value)})
    if value > MAX_NUMBER:
        raise PydanticCustomError("number_range", "must be at most {le}, got {value}",
                                  {"le": MAX_NUMBER, "value": value})
    return value


def json_kind(value: Any) -> str:
    """How a JSON reader would name the value's type, for messages."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return f"the boolean {str(value).lower()}"
    if isinstance(value, LongInteger):  # "a number of 5,000 digits": its digits were never read
        return str(value)
    if isinstance(value, int | float):
        return f"the number {value}"
    if isinstance(value, str):
        return f"the string '{_printable(value)}'"
    if isinstance(value, list):
        return "a list"
    if isinstance(value, dict):
        return "an object"
    return type(value).__name__


def check_state(value: str) -> str:
    """A two-letter USPS state or territory code."""
    if value not in _STATE_SET:
        raise PydanticCustomError(
            "state_code",
            "'{value}' is not a US state or territory code (use the two-letter USPS code, e.g. CA)",
            {"value": _printable(value)},
        )
    return value


@lru_cache(maxsize=1024)
def _zone_exists(name: str) -> bool:
    try:
        ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError, OSError):  # OSError: 'America' names tzdata's folder
        return False
    return True


#: tzdata's old names with no place in them, and the place each is meant for. `EST` is UTC-5 all
#: year: a practice that wrote it for New York had every hour deadline an hour late all summer.
#: (`MST` and `HST` keep their standard time all year, as Phoenix and Honolulu do: named by place,
#: they say so.)
_LEGACY_ZONES = {"EST": "America/New_York", "EST5EDT": "America/New_York", "CST6CDT": "America/Chicago",
                 "MST": "America/Phoenix", "MST7MDT": "America/Denver", "PST8PDT": "America/Los_Angeles",
                 "HST": "Pacific/Honolulu"}


def check_zone(value: str) -> str:
    """An IANA time zone name such as America/Los_Angeles."""
    if not _zone_exists(value):
        raise PydanticCustomError(
            "time_zone", "'{value}' is not an IANA time zone (e.g. America/New_York)", {"value": _printable(value)}
        )
    if value.upper() in _LEGACY_ZONES:
        raise PydanticCustomError(
            "time_zone", "'{value}' is an old zone name with no place in it; name the place's zone, e.g. "
                         "{place} (its clock changes are then the place's)",
            {"value": value, "place": _LEGACY_ZONES[value.upper()]})
    return value


Instant = Annotated[
    dt.datetime,
    PlainValidator(parse_instant),
    PlainSerializer(format_instant, return_type=str, when_used="json"),
    WithJsonSchema(
        {
            "type": "string",
            "format": "date-time",
            "description": "ISO 8601 instant with an offset or Z, e.g. 2026-03-07T21:00:00-08:00",
        }
    ),
]
Date = Annotated[
    dt.date,
    PlainValidator(parse_date),
    PlainSerializer(dt.date.isoformat, return_type=str, when_used="json"),
    WithJsonSchema({"type": "string", "format": "date", "description": "calendar date YYYY-MM-DD"}),
]
#: Text without control characters (`storable_text.CONTROL_CLASS`): checked as a pattern, in
#: pydantic's Rust core, for the reason the id pattern below is.
TEXT_PATTERN = f"^[^{CONTROL_CLASS}]*$"
Text = Annotated[str, Strict(), Field(pattern=TEXT_PATTERN,
                                      description="text (no control characters but tab and line breaks)")]
#: An id neither blank nor padded with spaces, nor holding a control character: ids are compared
#: exactly, so a spreadsheet's ` P-1 ` made a second record beside `P-1`. A pattern (checked in
#: pydantic's Rust core) rather than a Python validator: an access event holds three ids, and the
#: import of events is benchmarked. ECMA-262 too, for the JSON Schema's readers (no inline flags).
#: Nor may it begin with `'` or `=`: Excel's ways of keeping a cell as text (`'002`, `="001"`), which
#: exports carry into the file and which had made person `'002` beside person `002`.
ID_PATTERN = f"^[^\\s'={CONTROL_CLASS}]([^{CONTROL_CLASS}]*[^\\s{CONTROL_CLASS}])?$"
RecordId = Annotated[str, Strict(), Field(min_length=1, max_length=255, pattern=ID_PATTERN,
                                          description="record id (no spaces at either end)")]
Flag = Annotated[bool, Strict()]
Count = Annotated[int, Strict(), Field(ge=0, le=MAX_NUMBER)]
Year = Annotated[int, Strict(), Field(ge=1900, le=2999)]
Number = Annotated[
    int | float,
    PlainValidator(parse_number),
    WithJsonSchema({"type": "number", "minimum": 0, "maximum": MAX_NUMBER}),
]
YearKey = Annotated[str, Field(pattern=r"^[0-9]{4}$", description="a calendar or performance year, e.g. 2026")]
StateCode = Annotated[
    str,
    Strict(),
    AfterValidator(check_state),
    WithJsonSchema({"type": "string", "enum": list(US_STATES), "description": "USPS state code"}),
]
Zone = Annotated[
    str,
    Strict(),
    AfterValidator(check_zone),
    WithJsonSchema({"type": "string", "description": "IANA time zone, e.g. America/Los_Angeles"}),
]
Naics = Annotated[str, Strict(), Field(pattern=r"^[0-9]{6}$", description="6-digit NAICS code")]


def base_type(annotation: Any) -> Any:
    """The value type under `Annotated[...]` and `| None` (`Instant | None` -> datetime)."""
    while True:
        origin = get_origin(annotation)
        if origin is Annotated:
            annotation = get_args(annotation)[0]
        elif origin in (Union, types.UnionType):
            members = [a for a in get_args(annotation) if a is not type(None)]
            if len(members) != 1:
                return annotation
            annotation = members[0]
        else:
            return annotation
