"""json_codec.loads reads every text exactly as the standard library does (values and errors), and
json_codec.dumps writes JSON columns that read back as the standard library's."""

from __future__ import annotations

import datetime as dt
import json
import math
from typing import Any

import pytest

from engine import json_codec

SAME = [
    b'{"type": "access_event", "id": "AE-1", "at": "2026-11-01T00:00:00Z", "break_glass": false}',
    b'{"a": 1, "a": 2}',
    b'{"n": -0.0, "m": 1.0, "e": 1e-05}',
    b'{"deep": {"list": [1, 2, {"x": 0.5}]}}',
    b'{"big": 123456789012345678901234567890}',
    b'{"big": [18446744073709551616]}',
    b'{"small": -9223372036854775808, "large": 18446744073709551615}',
    b'{"s": "\\ud800"}',
    b'{"s": "\\u00e9 \xc3\xa9 \xf0\x9f\x98\x80"}',
    b'\xef\xbb\xbf{"bom": true}',
    b"1.5",
    b"[]",
    "{\"str\": \"\u00e9\"}",
]


def _same(a: Any, b: Any) -> bool:
    if isinstance(a, float) and isinstance(b, float):
        return (math.isnan(a) and math.isnan(b)) or (a == b and math.copysign(1, a) == math.copysign(1, b))
    if isinstance(a, dict) and isinstance(b, dict):
        return list(a) == list(b) and all(_same(a[k], b[k]) for k in a)
    if isinstance(a, list) and isinstance(b, list):
        return len(a) == len(b) and all(_same(x, y) for x, y in zip(a, b, strict=True))
    return type(a) is type(b) and a == b


@pytest.mark.parametrize("text", SAME + [b'{"a": NaN, "b": Infinity}', b'{"a": 1e400}'])
def test_loads_gives_the_standard_library_value(text: bytes | str) -> None:
    try:
        expected = json.loads(text)
    except ValueError as exc:
        with pytest.raises(type(exc)):
            json_codec.loads(text)
        return
    assert _same(json_codec.loads(text), expected)


def test_big_integers_keep_every_digit() -> None:
    assert json_codec.loads(b'{"n": 123456789012345678901234567890}') == {"n": 123456789012345678901234567890}


@pytest.mark.parametrize("text", [b"[1,]", b'{"a" 1}', b"\xff\xfe{}", b"", b'{"a": 1}\x00', b'{"a": tru}'])
def test_bad_json_raises_the_standard_library_error(text: bytes) -> None:
    with pytest.raises((json.JSONDecodeError, UnicodeDecodeError)) as expected:
        json.loads(text)
    with pytest.raises(type(expected.value)) as got:
        json_codec.loads(text)
    assert str(got.value) == str(expected.value)


@pytest.mark.parametrize(
    ("value", "found"),
    [({}, False), ({"a": 1, "b": [1, "x"]}, False), ({"a": [{"b": 0.5}]}, True), ([1.0], True), ({"t": True}, False)],
)
def test_has_float(value: Any, found: bool) -> None:
    assert json_codec.has_float(value) is found


@pytest.mark.parametrize("value", [
    {"evidence": [{"type": "access_event", "id": "AE-1", "version": 1}], "n": 3, "ok": True, "none": None},
    {"nested": {"deep": [1, 2, {"x": "é \u2028 \U0001f600 \\ \" \t"}]}},
    {"float": 1e-05}, {"nan": float("nan")}, {"inf": [float("inf")]}, 2.5, [0.1, 0.2],
    {"big": 2**70}, {1: "int key"}, {"bool": False, "s": "\u0000"}, [], {}, "text", 7, None,
])
def test_a_json_column_reads_back_as_the_standard_library_wrote_it(value: Any) -> None:
    back, expected = json.loads(json_codec.dumps(value)), json.loads(json.dumps(value))
    assert repr(back) == repr(expected)  # repr: NaN equals nothing, and 1 == 1.0 == True


@pytest.mark.parametrize("value", [{"at": dt.datetime(2026, 1, 1, tzinfo=dt.UTC)}, [dt.date(2026, 1, 1)],
                                   {"x": object()}])
def test_a_json_column_refuses_what_the_standard_library_refuses(value: Any) -> None:
    with pytest.raises(TypeError):
        json.dumps(value)
    with pytest.raises(TypeError):
        json_codec.dumps(value)


#: a whole number of more digits than Python turns into an int (4,300): int() raises ValueError
LONG = "1" * 5000


@pytest.mark.parametrize("text", [f'{{"n": {LONG}}}', f'{{"n": [1.5, -{LONG}]}}', f'[{LONG}]'])
def test_an_integer_past_pythons_digit_limit_is_read_as_a_long_integer_not_a_crash(text: str) -> None:
    """`json.loads` raises a plain ValueError ("Exceeds the limit (4300 digits)"), which no import
    handled: a 500 from the API, a traceback from the CLI."""
    value = json_codec.loads_input(text)
    (long,) = [v for v in _leaves(value) if isinstance(v, json_codec.LongInteger)]
    assert long.digits == 5000 and abs(long) > 2**63 - 1  # past every bound a record takes
    assert str(long) in ("a number of 5,000 digits", "a negative number of 5,000 digits")
    assert f"got {long}" == f"got {long!s}"  # a message's formatting says it, never the stand-in's digits
    assert json_codec.repeated_keys(text) == []


def test_a_long_integer_given_twice_in_an_object_is_still_a_repeated_key() -> None:
    with pytest.raises(json.JSONDecodeError, match="the key 'n' is given twice"):
        json_codec.loads_input(f'{{"n": {LONG}, "n": 1}}')


def test_read_int_reads_a_cells_digits_or_a_long_integer() -> None:
    assert json_codec.read_int("-42") == -42
    assert str(json_codec.read_int("-" + LONG)) == "a negative number of 5,000 digits"


def _leaves(value: Any) -> list[Any]:
    if isinstance(value, dict):
        return [leaf for v in value.values() for leaf in _leaves(v)]
    if isinstance(value, list):
        return [leaf for v in value for leaf in _leaves(v)]
    return [value]
