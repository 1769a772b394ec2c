"""`date('YYYY-MM-DD')` in a condition: the start of that day where the record is, not in UTC.

A law's start date is a local date: "discovered before 1 January 2027" in Los Angeles means before
local midnight there, eight hours after UTC's. Folded to one constant (UTC midnight), an incident
discovered at 20:00 on 31 December in Los Angeles (04:00 on 1 January in UTC) did not match
`discovered_at < date('2027-01-01')`, on either backend, though the docs said a date is the start
of that local day.

The day cannot be one constant for every record, as zones differ; so the compiler rewrites
`date('2027-01-01')` into a field of the record the condition's pattern matches (`ld_20270101`),
and the fact builder gives each fact that field: the first instant of that day in the fact's zone
(C7: its establishment's, else its person's site's, else the practice's), as it does for a date
field. Both backends then compare plain numbers of one fact, as they compare any two of its
fields (durable_rules through a precomputed flag, `lower.Lowerer.flag`). A rule's `severity_when`,
`occurrence` and `establishment` read the day in the zone of the rule's subject.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from typing import Any

from engine.rules.lang import nodes as n

#: The fact fields that hold the start of a local day; no record or derived field starts so.
PREFIX = "ld_"


def field_for(day: dt.date) -> str:
    """The fact field holding the first instant of `day` in the fact's zone: `ld_20270101`."""
    return f"{PREFIX}{day:%Y%m%d}"


def day_of(field: str) -> dt.date | None:
    """The day a local-day field stands for, or None for any other field."""
    if not field.startswith(PREFIX):
        return None
    try:
        return dt.datetime.strptime(field[len(PREFIX):], "%Y%m%d").date()
    except ValueError:
        return None


def localize(node: n.Node, alias: str, params: Mapping[str, Any]) -> n.Node:
    """`node` with each `date(...)` call made the local-day field of `alias`'s record.

    An argument that is not a constant text (or names an unknown parameter, or is no date) is left
    as written, for folding to refuse with its usual words."""
    if isinstance(node, n.Call) and node.name == "date" and len(node.args) == 1:
        text = _constant_text(node.args[0], params)
        if text is not None:
            try:
                return n.Ref(alias, field_for(dt.date.fromisoformat(text)))
            except ValueError:
                return node
    return n.with_children(node, lambda child: localize(child, alias, params))


def _constant_text(arg: n.Node, params: Mapping[str, Any]) -> str | None:
    if isinstance(arg, n.Lit) and isinstance(arg.value, str):
        return arg.value
    if isinstance(arg, n.Param) and isinstance(params.get(arg.name), str):
        return str(params[arg.name])
    return None
