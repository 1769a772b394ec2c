"""A list filter takes at most `MAX_FILTER_VALUES` values (comma-separated): more is a 422 naming the
parameter and the cap, never the 503 "database busy" that `subject` with 1000 values had answered
on SQLite (its expression tree too deep), which a client retried for ever."""

from __future__ import annotations

from typing import Any

import pytest

from engine.filter_values import MAX_FILTER_VALUES
from tests.api.conftest import headers

#: every list filter of the API (comma-separated values), by route
LIST_FILTERS = [("/findings", name) for name in ("framework", "severity", "state", "status", "establishment",
                                                 "rule", "subject")] + \
               [("/tasks", name) for name in ("state", "owner", "sop", "kind", "finding", "establishment")]


def _values(n: int) -> str:
    return ",".join(f"person/P-{i:05d}" for i in range(n))


@pytest.mark.parametrize("path, param", LIST_FILTERS)
def test_a_filter_of_too_many_values_is_a_422_naming_it_and_the_cap(api: dict[str, Any], path: str,
                                                                    param: str) -> None:
    r = api["client"].get(path, headers=headers(api, "officer"), params={param: _values(MAX_FILTER_VALUES + 1)})
    assert r.status_code == 422, r.text
    assert r.json()["code"] == "input.too_many_values" and "Retry-After" not in r.headers
    (error,) = r.json()["errors"]
    assert error["field"] == param
    assert f"{MAX_FILTER_VALUES + 1} values" in error["reason"] and f"at most {MAX_FILTER_VALUES}" in error["reason"]


def test_a_thousand_subjects_are_a_422_not_a_busy_database(api: dict[str, Any]) -> None:
    """The black-box pass: `GET /findings?subject=` with 1000 values was a 503 with Retry-After."""
    r = api["client"].get("/findings", headers=headers(api, "officer"), params={"subject": _values(1000)})
    assert r.status_code == 422, r.text
    assert r.json()["errors"][0]["field"] == "subject"


def test_as_many_subjects_as_the_cap_are_read(api: dict[str, Any]) -> None:
    r = api["client"].get("/findings", headers=headers(api, "officer"), params={"subject": _values(MAX_FILTER_VALUES)})
    assert r.status_code == 200, r.text
    assert r.json()["total"] == 0


def test_the_cap_is_documented() -> None:
    from pathlib import Path

    text = (Path(__file__).resolve().parents[2] / "docs" / "api.md").read_text(encoding="utf-8")
    assert f"at most {MAX_FILTER_VALUES} values" in " ".join(text.split())
