"""Instants from outside (sweep A1): an instant without an offset, or one that is no instant once
read in UTC, is an InputError naming the field, never a ValueError or OverflowError escaping as a
500; a number is not read as seconds since 1970."""

from __future__ import annotations

import datetime as dt

import pytest
from pydantic import BaseModel, ValidationError

from engine import clock
from engine.errors import InputError
from engine.findings.schemas import InstantIn

PLUS_5 = dt.timezone(dt.timedelta(hours=5))
MINUS_12 = dt.timezone(dt.timedelta(hours=-12))


@pytest.mark.parametrize("instant, words", [
    (dt.datetime(2027, 1, 1), "no UTC offset"),
    (dt.datetime(9999, 12, 31, 23, 59, 59, tzinfo=MINUS_12), "outside years 1-9999"),
    (dt.datetime(1, 1, 1, tzinfo=PLUS_5), "outside years 1-9999"),
])
def test_checked_utc_names_the_field(instant: dt.datetime, words: str) -> None:
    with pytest.raises(InputError) as exc:
        clock.checked_utc(instant, field="ends_at")
    (detail,) = exc.value.details
    assert detail.field == "ends_at" and words in detail.reason and exc.value.code == "input.instant"


def test_checked_utc_reads_any_instant_there_is_in_utc() -> None:
    assert clock.checked_utc(dt.datetime(2026, 11, 30, 9, tzinfo=dt.timezone(dt.timedelta(hours=-8))),
                             field="x") == dt.datetime(2026, 11, 30, 17, tzinfo=dt.UTC)
    last = dt.datetime(9999, 12, 31, 23, 59, 59, tzinfo=dt.UTC)
    assert clock.checked_utc(last, field="x") == last


def test_ensure_utc_says_out_of_range_as_a_value_error() -> None:
    """Callers that turn a ValueError into an input error (the record store's reads) catch this too."""
    with pytest.raises(ValueError, match="outside years 1-9999"):
        clock.ensure_utc(dt.datetime(9999, 12, 31, 23, tzinfo=MINUS_12))


class _Body(BaseModel):
    at: InstantIn


@pytest.mark.parametrize("value", [12345, 12345.5, "12345", " -17 "])
def test_a_number_is_not_an_instant(value: object) -> None:
    with pytest.raises(ValidationError, match="seconds since 1970"):
        _Body(at=value)


def test_an_iso_instant_still_is() -> None:
    assert _Body(at="2026-11-30T17:00:00Z").at == dt.datetime(2026, 11, 30, 17, tzinfo=dt.UTC)
    assert _Body(at=dt.datetime(2026, 1, 1, tzinfo=dt.UTC)).at.year == 2026


# -- what is wrong with an instant as written, said alike by the CLI, the API and scenario files ----------

@pytest.mark.parametrize("text, what, advice", [
    ("2026-03-08", "2026-03-08 is a date, not an instant",
     "write 2026-03-08T00:00:00Z or with the establishment's offset, e.g. 2026-03-08T00:00:00-05:00"),
    ("2026-03-08Z", "2026-03-08Z is a date with an offset but no time", "e.g. 2026-03-08T00:00:00Z"),
    # Python reads this as 05:00 on the 8th, without an offset
    ("2026-03-08-05:00", "2026-03-08-05:00 is a date with an offset but no time", "e.g. 2026-03-08T00:00:00-05:00"),
    ("2026-03-08T10:00", "instant without an offset: 2026-03-08T10:00",
     "e.g. 2026-03-08T10:00Z (UTC) or 2026-03-08T10:00-05:00"),
    ("2026-03-08 10:00", "instant without an offset: 2026-03-08 10:00", "e.g. 2026-03-08T10:00Z"),
    ("2026-03-08x10:00Z", "2026-03-08x10:00Z is not an ISO 8601 instant", "separated by T, e.g. 2026-03-08T10:00Z"),
])
def test_instant_problem_names_what_was_written_and_a_full_instant_to_write(text: str, what: str, advice: str) -> None:
    problem = clock.instant_problem(text)
    assert problem is not None and problem.what.startswith(what) and advice in problem.advice
    assert "ZZ" not in str(problem)


@pytest.mark.parametrize("text", ["2026-03-08T10:00:00Z", "2026-03-08T10:00:00-05:00", "2026-03-08t10:00z",
                                  "yesterday", "2026-02-30"])
def test_instant_problem_leaves_instants_and_non_dates_to_the_caller(text: str) -> None:
    assert clock.instant_problem(text) is None


@pytest.mark.parametrize("value, said", [
    ("2026-12-03", "2026-12-03 is a date, not an instant: write 2026-12-03T00:00:00Z"),
    ("2026-12-03-05:00", "2026-12-03-05:00 is a date with an offset but no time"),
])
def test_a_date_is_not_read_as_a_midnight_nobody_wrote(value: str, said: str) -> None:
    """POST /evaluations {"as_of": "2026-12-03"} had said "2026-12-03T00:00:00 has no UTC offset"."""
    with pytest.raises(ValidationError) as exc:
        _Body(at=value)
    assert said in str(exc.value) and "T00:00:00 has no" not in str(exc.value)


def test_checked_utc_suggests_the_instant_given_with_an_offset() -> None:
    with pytest.raises(InputError) as exc:
        clock.checked_utc(dt.datetime(2027, 1, 1, 9, 30), field="as_of")
    assert "2027-01-01T09:30:00Z (UTC) or 2027-01-01T09:30:00-05:00" in exc.value.details[0].reason


@pytest.mark.parametrize("value, title, reason", [
    ("2026-03-08Z", "--as-of: 2026-03-08Z is a date with an offset but no time", "2026-03-08T00:00:00Z"),
    ("2026-03-08-05:00", "--as-of: 2026-03-08-05:00 is a date with an offset", "2026-03-08T00:00:00-05:00"),
    ("2026-03-08", "--as-of: 2026-03-08 is a date, not an instant", "2026-03-08T00:00:00Z or with the establishment"),
    ("2026-03-08T10:00", "--as-of: instant without an offset: 2026-03-08T10:00", "2026-03-08T10:00Z"),
    ("2026-03-08x10:00Z", "--as-of: 2026-03-08x10:00Z is not an ISO 8601 instant", "2026-03-08T10:00Z"),
])
def test_the_cli_says_what_was_written_and_what_to_write(value: str, title: str, reason: str) -> None:
    """--as-of 2026-03-08Z had been told to write 2026-03-08ZZ, 2026-03-08-05:00 to write
    2026-03-08-05:00Z (read as 05:00 UTC), and 2026-03-08x10:00Z was taken for 10:00 UTC."""
    from engine.cli.common import parse_instant

    with pytest.raises(InputError) as exc:
        parse_instant(value, "--as-of")
    assert exc.value.message.startswith(title) and reason in exc.value.details[0].reason
    assert "ZZ" not in exc.value.details[0].reason and "-05:00Z" not in exc.value.details[0].reason


def test_the_cli_still_reads_an_instant() -> None:
    from engine.cli.common import parse_instant

    assert parse_instant("2026-03-08T10:00:00-05:00", "--as-of") == dt.datetime(2026, 3, 8, 15, tzinfo=dt.UTC)
