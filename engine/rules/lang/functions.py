"""The registered functions a rule expression may call: the whole capability list.

Each function takes constant arguments (literals or parameters) and is folded to a constant when
the ruleset is compiled, so neither backend ever calls code chosen by a ruleset at match time.
Durations and instants are numbers of seconds (instants since the Unix epoch, UTC).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from engine.registry import Registry


@dataclass(frozen=True)
class FunctionDecl:
    """Declaration of an allowed function: its argument kinds, result kind and meaning."""

    name: str
    args: tuple[str, ...]  # "number" | "string"
    returns: str  # "duration" | "time" | "number"
    doc: str
    impl: Callable[..., Any]
    example: str


FUNCTIONS: Registry[FunctionDecl] = Registry("expression function")


def _declare(name: str, args: tuple[str, ...], returns: str, doc: str, example: str) -> Callable[
    [Callable[..., Any]], Callable[..., Any]
]:
    def wrap(fn: Callable[..., Any]) -> Callable[..., Any]:
        FUNCTIONS.add(name, FunctionDecl(name, args, returns, doc, fn, example))
        return fn

    return wrap


@_declare("days", ("number",), "duration", "A duration of N days (N x 86,400 s).",
          "account.disabled_at - episode.end_at > days(params.grace_days)")
def _days(n: float) -> float:
    return n * 86400


@_declare("hours", ("number",), "duration", "A duration of N hours (elapsed time, C3).",
          "case.reported_to_osha_at - case.learned_at > hours(8)")
def _hours(n: float) -> float:
    return n * 3600


@_declare("minutes", ("number",), "duration", "A duration of N minutes.", "x.at - y.at < minutes(15)")
def _minutes(n: float) -> float:
    return n * 60


@_declare("date", ("string",), "time", "The start (00:00) of an ISO date where the record is: in the zone of the "
          "record the condition's pattern matches (its establishment's, else its person's site's, else the "
          "practice's: C7), as a date field is its local midnight there; in severity_when, occurrence and "
          "establishment, the zone of the rule's subject. So `discovered_at < date('2027-01-01')` holds for an "
          "incident at 20:00 on 31 December in Los Angeles (engine.rules.compiler.local_days).",
          "now >= date('2025-05-01')")
def _date(text: str) -> float:
    # the compiler makes each call a field of the fact (its local midnight); this value, midnight UTC,
    # is only what constant folding checks the text with
    d = dt.date.fromisoformat(text)
    return dt.datetime(d.year, d.month, d.day, tzinfo=dt.UTC).timestamp()


@_declare("instant", ("string",), "time", "An ISO 8601 instant with an offset.",
          "encounter.at >= instant('2026-01-01T00:00:00-06:00')")
def _instant(text: str) -> float:
    value = dt.datetime.fromisoformat(text.replace("Z", "+00:00"))
    if value.tzinfo is None:
        raise ValueError(f"instant without an offset: {text}")
    return value.timestamp()


FUNCTIONS.freeze()
