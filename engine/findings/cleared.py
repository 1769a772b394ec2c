"""What a resolution names as what most likely cleared a finding (PRODUCT, capability 4: "with the
evidence that cleared it"), besides the cited records that changed: the records recorded between the
run that last saw it and the run that resolved it, and those dated in between.

Recorded since (`recorded_since`): what the database *learned of* in between. Dated since
(`dated_since`): most findings clear otherwise: the record was on file before it took effect, and what
cleared the finding is that its date came. A BLS card issued on the 22nd and imported the week
before, an employment episode whose end was entered in advance, a training booked as completed on a
day between two sweeps. Their history said only "it cleared through other records or the passage of
time"; now it names the record and the date that came.

For both, only records of the types the rule could have read are candidates: the types its patterns match
(expanded to the record types behind derived facts), the types the finding cited and the inputs of
the derivations behind its facts. Read by the ids they name alone, a clinician's
credential finding named every care link of that clinician dated in the week.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from collections.abc import Iterable, Mapping
from functools import cache
from typing import Any

from sqlalchemy.orm import Session

from engine import timefmt
from engine.db import utc
from engine.findings.tables import EvaluationRunRow, FindingRow
from engine.records import service as records_service
from engine.records.fields import base_type, stored_instant
from engine.records.schemas import EVENT_TYPES, RECORD_MODELS
from engine.rules import reads

#: At most this many records are named in one history line.
SHOWN = 3

#: (type, id, version) of a record, and the (field, value as written) of its dates inside the window.
Dated = tuple[tuple[str, str, int], list[tuple[str, str]]]


def cited_records(session: Session, *, org_id: str, rows: Iterable[FindingRow],
                  known_at: dt.datetime | None) -> dict[tuple[str, str], tuple[int, dict[str, Any]]]:
    """The records the given findings cite as the resolving run reads them (known at `known_at`):
    (type, id) -> (version, data). Read once for both uses: which cited records changed, and which
    people they name (`about`)."""
    wanted: dict[str, set[str]] = defaultdict(set)
    for row in rows:
        for ref in row.evidence or []:
            wanted[str(ref.get("type"))].add(str(ref.get("id")))
    found: dict[tuple[str, str], tuple[int, dict[str, Any]]] = {}
    for record_type, ids in sorted(wanted.items()):
        if record_type not in RECORD_MODELS:  # a derived fact's own id, not a stored record
            continue
        for rid, version, data in records_service.iter_record_data_by_ids(session, org_id=org_id,
                                                                          record_type=record_type, ids=ids,
                                                                          known_at=known_at):
            found[record_type, rid] = (version, data)
    return found


def about(rows: Iterable[FindingRow], cited: Mapping[tuple[str, str], tuple[int, dict[str, Any]]]
          ) -> dict[str, set[str]]:
    """Finding id -> the ids it is about (`names_of`), with the people its cited records (not
    events; `cited`, see `cited_records`) name in a `*person_id` field.

    A finding about an employment episode is about its person: the next training of that person
    names the person, not the episode. Only people: the establishment an episode names would bring
    in every record of that site."""
    out = {}
    for row in rows:
        names = names_of(row)
        for ref in row.evidence or []:
            key = _ref(ref)
            if key in cited and key[0] not in EVENT_TYPES:
                names |= {v for k, v in cited[key][1].items() if k.endswith("person_id") and isinstance(v, str)}
        out[row.id] = names
    return out


def names_of(row: FindingRow) -> set[str]:
    """The ids a finding is about: its subject, the records it cited, the people and places its
    facts name (every `*_id` value)."""
    names = {row.subject_id} | {str(ref.get("id")) for ref in row.evidence or []}
    for fact in (row.facts or {}).values():
        if isinstance(fact, dict):
            names |= {str(v) for k, v in fact.items() if k.endswith("_id") and isinstance(v, str)}
    return names


def relevant_types(row: FindingRow, read: frozenset[str]) -> frozenset[str]:
    """The record types (not events) whose records could have decided the finding: those its rule
    reads (`read`, see `engine.rules.reads`), those it cited, and those its facts were derived from."""
    types = set(read) | {str(ref.get("type")) for ref in row.evidence or []}
    for fact in (row.facts or {}).values():
        if isinstance(fact, dict) and isinstance(fact.get("type"), str):
            types |= reads.inputs_of(fact["type"])
    return frozenset(t for t in types if t in RECORD_MODELS and t not in EVENT_TYPES)


@cache
def _dated_fields(record_type: str) -> tuple[tuple[str, bool], ...]:
    """(field, whether it is a date rather than an instant) of each field of a record type holding
    one instant or one date."""
    model = RECORD_MODELS[record_type]
    kinds = ((name, base_type(info.annotation)) for name, info in model.model_fields.items())
    return tuple((name, kind is dt.date) for name, kind in kinds if kind in (dt.datetime, dt.date))


def _within(value: Any, is_date: bool, after: dt.datetime, until: dt.datetime) -> bool:
    """Whether a stored instant lies in (after, until], or a stored date in the UTC days after
    `after`'s through `until`'s (stored values were validated on import)."""
    if is_date:
        return after.date() < dt.date.fromisoformat(str(value)) <= until.date()
    instant = stored_instant(value)
    return instant is not None and after < instant <= until


def last_seen(session: Session, rows: Iterable[FindingRow]) -> dict[str, EvaluationRunRow]:
    """Run id -> the run that last saw each of `rows` (read once for both kinds of records named)."""
    runs = {}
    for run_id in {row.last_seen_run for row in rows if row.last_seen_run}:
        last = session.get(EvaluationRunRow, run_id)
        if last is not None:
            runs[str(run_id)] = last
    return runs


def types_read(rows: Iterable[FindingRow], read: Mapping[str, frozenset[str]]) -> dict[str, frozenset[str]]:
    """Finding id -> `relevant_types` (`read`: rule id -> the record types the rule reads)."""
    return {row.id: relevant_types(row, read.get(row.rule_id, frozenset())) for row in rows}


def recorded_since(session: Session, *, org_id: str, known_at: dt.datetime | None, rows: Iterable[FindingRow],
                   runs: Mapping[str, EvaluationRunRow], types: Mapping[str, frozenset[str]],
                   names: Mapping[str, set[str]]) -> dict[str, list[tuple[str, str, int]]]:
    """Finding id -> the record versions (not events) recorded since the run that last saw it
    (`runs`, see `last_seen`) started, of the types its rule could have read (`types`, see
    `types_read`), naming what it was about (`names`, see `about`; in an `*_id` field), not among
    those it cited; by type, id and version.

    The versions recorded since the earliest of those runs are read once and indexed by the ids
    they name: matched finding by finding, a large-practice sweep resolving 511 findings after its
    897,478 records (not events) were recorded again took 667.6 s, 45.6 s indexed."""
    seen = {run_id: utc(run.started_at) for run_id, run in runs.items()}
    if not seen:
        return {}
    by_name: dict[str, list[tuple[str, str, int, dt.datetime]]] = defaultdict(list)
    for t, i, v, data, at in records_service.recorded_between(session, org_id=org_id, after=min(seen.values()),
                                                               until=known_at):
        for name in {val for k, val in data.items() if k.endswith("_id") and isinstance(val, str)}:
            by_name[name].append((t, i, v, utc(at)))
    out: dict[str, list[tuple[str, str, int]]] = {}
    for row in rows:
        since = seen.get(str(row.last_seen_run))
        if since is None:
            continue
        wanted = types.get(row.id, frozenset())
        cited = {_ref(ref) for ref in row.evidence or []}
        hits = {(t, i, v) for name in names.get(row.id, ()) for t, i, v, at in by_name.get(name, ())
                if at > since and t in wanted and (t, i) not in cited}
        if hits:
            out[row.id] = sorted(hits)
    return out


def dated_since(session: Session, *, org_id: str, as_of: dt.datetime, known_at: dt.datetime | None,
                rows: Iterable[FindingRow], runs: Mapping[str, EvaluationRunRow],
                types: Mapping[str, frozenset[str]], names: Mapping[str, set[str]]
                ) -> dict[str, tuple[dt.datetime, list[Dated]]]:
    """Finding id -> (the as-of instant of the run that last saw it, the records (not events)
    naming what the finding was about (`names`, see `about`) with a date after that and by
    `as_of`, by type and id).

    Reads the newest version (as known at `known_at`) of every record of the types the findings
    could have read (`types`), once, keeping only those that name one of the findings'
    ids: called for the findings a run resolves, which a sweep with nothing resolved skips."""
    seen = {run_id: utc(run.as_of) for run_id, run in runs.items() if utc(run.as_of) < as_of}
    rows = [row for row in rows if row.last_seen_run in seen]
    if not rows:
        return {}
    wanted = {row.id: names.get(row.id, set()) for row in rows}
    every = set().union(*wanted.values())
    by_name: dict[str, list[tuple[tuple[str, str, int], Mapping[tuple[str, bool], Any]]]] = defaultdict(list)
    for record_type in sorted(set().union(*(types.get(row.id, frozenset()) for row in rows))):
        fields = _dated_fields(record_type)
        if not fields:
            continue
        for rid, version, data in records_service.iter_record_data(session, org_id=org_id, record_type=record_type,
                                                                   known_at=known_at):
            named = {v for k, v in data.items() if k.endswith("_id") and isinstance(v, str) and v in every}
            if rid in every:
                named.add(rid)
            dates = {(f, is_date): data[f] for f, is_date in fields if data.get(f)}
            for name in named if dates else ():
                by_name[name].append(((record_type, rid, version), dates))
    out: dict[str, tuple[dt.datetime, list[Dated]]] = {}
    for row in rows:
        after = seen[str(row.last_seen_run)]
        found: dict[tuple[str, str, int], list[tuple[str, str]]] = {}
        for name in wanted[row.id]:
            for key, held in by_name.get(name, ()):
                if key[0] not in types.get(row.id, frozenset()):
                    continue
                inside = [(f, str(value)) for (f, is_date), value in held.items()
                          if _within(value, is_date, after, as_of)]
                if inside:
                    found[key] = inside
        if found:
            out[row.id] = (after, sorted(found.items()))
    return out


def _ref(ref: Mapping[str, Any]) -> tuple[str, str]:
    return str(ref.get("type")), str(ref.get("id"))


def describe_recorded(hits: list[tuple[str, str, int]]) -> str:
    """The history's words for what `recorded_since` found for one finding, or "" for none."""
    if not hits:
        return ""
    more = f" and {len(hits) - SHOWN} more" if len(hits) > SHOWN else ""
    return f"; recorded since it was last seen: {', '.join(f'{t} {i} v{v}' for t, i, v in hits[:SHOWN])}{more}"


def describe(found: tuple[dt.datetime, list[Dated]] | None, skip: set[tuple[str, str, int]]) -> str:
    """The history's words for what `dated_since` found for one finding (records in `skip` already
    named), or "" for none."""
    if found is None:
        return ""
    after, dated = found
    shown = [(key, fields) for key, fields in dated if key not in skip]
    if not shown:
        return ""
    parts = [f"{t} {i} v{v} ({', '.join(f'{f} {text}' for f, text in fields)})" for (t, i, v), fields in shown[:SHOWN]]
    more = f" and {len(shown) - SHOWN} more" if len(shown) > SHOWN else ""
    return f"; dated since it was last seen (as of {timefmt.utc_seconds(after)}): {', '.join(parts)}{more}"
