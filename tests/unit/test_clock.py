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
