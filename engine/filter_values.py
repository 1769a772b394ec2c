"""How many values one list filter may name: `GET /findings?subject=P1,P2,...` and the CLI's
`--state open,done` alike, one cap for both faces (`engine.api.deps`, `engine.cli.common`).

Why a cap at all: each value of a filter becomes part of one SQL statement (`subject` is an OR of
comparisons, one or two a value), and SQLite refuses a statement whose expression tree is more
than 1000 deep. A `subject` of 1000 values failed there with `OperationalError`, which the API
answers as a busy database (503, retry): a client retried for ever what could never work. 500
values stay well inside every database's limits (SQLite's depth and its 32766 bound variables,
PostgreSQL's 65535 parameters) and far beyond any filter a person types; a script with more asks
in several requests.
"""

from __future__ import annotations

from collections.abc import Iterable

from engine.errors import ErrorDetail, InputError

__all__ = ["MAX_FILTER_VALUES", "check_count", "count_values", "too_many"]

#: the most values one filter (query parameter or CLI option) takes, comma-separated or repeated
MAX_FILTER_VALUES = 500


def count_values(given: Iterable[str]) -> int:
    """How many values the texts name, each comma-separated (`a,b` and `c` are three)."""
    return sum(text.count(",") + 1 for text in given)


def too_many(name: str, given: Iterable[str]) -> ErrorDetail | None:
    """The problem with filter `name` when its texts name more than `MAX_FILTER_VALUES` values."""
    count = count_values(given)
    if count <= MAX_FILTER_VALUES:
        return None
    return ErrorDetail(reason=f"{count} values; a filter takes at most {MAX_FILTER_VALUES}: ask for the rest in "
                              "further requests", field=name)


def check_count(name: str, given: Iterable[str]) -> None:
    """Raise InputError (422, exit 2) when filter `name` names more than `MAX_FILTER_VALUES` values."""
    problem = too_many(name, given)
    if problem is not None:
        raise InputError(f"{name}: too many values (at most {MAX_FILTER_VALUES})", [problem],
                         code="input.too_many_values")
