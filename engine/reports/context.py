"""What both reports need before counting: the records as known at `known_at`, and the derivation
context the rules use (the same `derive_setup`, zones and ruleset parameters in force), so a report
counts exactly what the rules judged and never classifies a record a second way."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterable, Mapping
from typing import Any

from sqlalchemy.orm import Session

from engine import clock
from engine.errors import InputError
from engine.records import service as records_service
from engine.reports.schemas import ReportNote
from engine.rules.catalog import compile_in_force
from engine.rules.derive import DeriveContext, RecordView
from engine.rules.runner import derive_setup


def read(session: Session, *, org_id: str, record_type: str, known_at: dt.datetime | None,
         keep: Callable[[Mapping[str, Any]], bool] | None = None) -> list[RecordView]:
    """The newest version of each record of one type known at `known_at` (streamed; only those
    `keep` accepts are held)."""
    out: list[RecordView] = []
    for record_id, version, data in records_service.iter_record_data(
            session, org_id=org_id, record_type=record_type, known_at=known_at):
        if keep is None or keep(data):
            out.append(RecordView(record_type, record_id, version, data))
    return out


def instants(known_at: dt.datetime | None) -> tuple[dt.datetime, dt.datetime | None]:
    """(as_of, known_at): a report is as the database knew it at `known_at` (default now), and
    judges "has it happened yet" at the same instant."""
    known = clock.ensure_utc(known_at) if known_at is not None else None
    return (known or clock.now()), known


def ruleset_params(framework: str, as_of: dt.datetime, notes: list[ReportNote]) -> dict[str, Any]:
    """The parameters of `framework`'s ruleset in force at `as_of` (practice overrides applied), so
    scope, size basis and reporting level match the rules; the derivations' defaults (noted) when
    no ruleset of that framework is installed."""
    try:
        rulesets = compile_in_force(as_of, frameworks=[framework])
    except InputError:
        rulesets = []
    params: dict[str, Any] = {}
    for rs in rulesets:
        params.update(rs.params)
    if not rulesets:
        notes.append(ReportNote(reason=f"no {framework} ruleset in force at {as_of.date().isoformat()}: "
                                       "the derivations' default parameters were used"))
    return params


def derive_context(memory: Mapping[str, Iterable[RecordView]], as_of: dt.datetime,
                   params: Mapping[str, Any]) -> DeriveContext:
    """The derivations' context over `memory`, built by the runner's own `derive_setup`."""
    held = {k: list(v) for k, v in memory.items()}
    _, _, ctx = derive_setup(held, [], as_of)
    ctx.params = dict(params)
    return ctx
