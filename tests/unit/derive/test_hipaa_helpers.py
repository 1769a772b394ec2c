"""Shared builders for the hipaa derivation tests (imported by test_hipaa_*.py)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Mapping
from typing import Any

from engine.rules.catalog import RULESETS_DIR
from engine.rules.derive import DeriveContext, DerivedFact, RecordView
from engine.rules.facts import Zones
from engine.rules.loader import load_ruleset_file


def hipaa_defaults() -> dict[str, Any]:
    """The parameter defaults the hipaa ruleset declares (so tests use the shipped values)."""
    loaded = load_ruleset_file(sorted((RULESETS_DIR / "hipaa").glob("hipaa-*.yaml"))[-1])
    return {name: p.default for name, p in loaded.spec.params.items()}


def rec(record_type: str, record_id: str, **data: Any) -> RecordView:
    return RecordView(record_type, record_id, 1, {k: v for k, v in data.items() if v is not None})


def ctx(as_of: str, records: Iterable[RecordView] = (), **params: Any) -> DeriveContext:
    """A derive context like the runner's: zones from establishments and employment episodes."""
    views = list(records)
    establishments = {v.id: dict(v.data, id=v.id) for v in views if v.type == "establishment"}
    people: dict[str, str] = {}
    for v in sorted((v for v in views if v.type == "employment_episode"), key=lambda v: v.data.get("start_at", "")):
        if v.data.get("person_id") and v.data.get("establishment_id"):
            people[v.data["person_id"]] = v.data["establishment_id"]
    default = next(
        (establishments[k]["tz"] for k in sorted(establishments) if establishments[k].get("tz")), "America/New_York"
    )
    zones = Zones(establishments=establishments, person_establishment=people, default_tz=default)
    values = hipaa_defaults()
    values.update(params)
    orgs = [v for v in views if v.type == "organization"]
    return DeriveContext(
        as_of=dt.datetime.fromisoformat(as_of.replace("Z", "+00:00")),
        params=values,
        tz_of=lambda v: zones.tz(v.type, v.data),
        establishments={k: RecordView("establishment", k, 0, d) for k, d in establishments.items()},
        organization=orgs[0] if orgs else None,
    )


def inputs(types: Iterable[str], records: Iterable[RecordView]) -> dict[str, list[RecordView]]:
    views = list(records)
    return {t: [v for v in views if v.type == t] for t in types}


def run(fn: Any, types: Iterable[str], as_of: str, records: Iterable[RecordView], **params: Any) -> list[DerivedFact]:
    views = list(records)
    return list(fn(ctx(as_of, views, **params), inputs(types, views)))


def by_id(facts: Iterable[DerivedFact]) -> Mapping[str, DerivedFact]:
    return {f.id: f for f in facts}
