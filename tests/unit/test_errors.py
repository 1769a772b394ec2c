"""Where an error detail says a problem is, and the exit code of an unknown id."""

from __future__ import annotations

import pytest

from engine.errors import ErrorDetail, NotFoundError


@pytest.mark.parametrize(("detail", "shown"), [
    (ErrorDetail(reason="unknown finding", record_id="F-NOPE"), "F-NOPE: unknown finding"),
    (ErrorDetail(reason="bad", record_type="person"), "person: bad"),
    (ErrorDetail(reason="bad", record_type="person", record_id="P1", field="dob"), "person P1, field dob: bad"),
    (ErrorDetail(reason="bad", file="a.csv", line=3), "a.csv:3: bad"),
])
def test_a_location_names_what_is_known_and_no_placeholder(detail: ErrorDetail, shown: str) -> None:
    assert str(detail) == shown


def test_an_unknown_id_is_bad_input_on_the_command_line_and_404_over_http() -> None:
    assert (NotFoundError.exit_code, NotFoundError.http_status) == (2, 404)
