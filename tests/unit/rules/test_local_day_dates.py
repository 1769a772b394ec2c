"""`date('YYYY-MM-DD')` in a condition is the start of that local day where the record is.

Found by a regulatory-liaison pass: `incident where discovered_at < date('2027-01-01')` did not
match an incident discovered at 20:00 on 31 December in Los Angeles (04:00 on 1 January in UTC), on
either backend: the day had been folded to UTC midnight, though docs/rulesets.md says a date is the
start of that local day (and a law's start date is a local date).
"""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest

from engine.rules.compiler.compile import compile_ruleset
from engine.rules.derive import RecordView
from engine.rules.loader import load_ruleset_bytes
from engine.rules.runner import ListSource, evaluate_rules

RULESET = """
framework: t
version: 1.0.0
title: t
effective_from: 2026-01-01
authority: t
params:
  start: {{type: string, unit: date, default: '2027-01-01', description: d}}
rules:
  - id: T-DAY-001
    title: t
    citation: c
    severity: low
    match:
      inc: incident where {cond}
    {extra}
    subject: inc
    message: m
    sop: SOP-T
"""

SITES = [
    {"type": "establishment", "id": "E-LA", "tz": "America/Los_Angeles", "state": "CA"},
    {"type": "establishment", "id": "E-NY", "tz": "America/New_York", "state": "NY"},
]


def _found(cond: str, incidents: list[dict[str, Any]], as_of: str, backend: str, extra: str = "",
           sites: list[dict[str, Any]] | None = None) -> list[tuple[str, str]]:
    rs = compile_ruleset(load_ruleset_bytes(RULESET.format(cond=cond, extra=extra).encode(), "t-1.0.0.yaml"))
    records = [*(SITES if sites is None else sites), *({"type": "incident", **i} for i in incidents)]
    source = ListSource([RecordView(r["type"], r["id"], 1, r) for r in records])
    run = evaluate_rules(source, [rs], dt.datetime.fromisoformat(as_of), backend=backend)
    return sorted((v.subject.id, v.severity) for v in run.violations)


@pytest.mark.parametrize("backend", ["python", "durable"])
def test_a_date_is_the_start_of_the_local_day_of_the_records_establishment(backend: str) -> None:
    incidents = [
        # 31 December local in Los Angeles (1 January in UTC): before the day
        {"id": "LA-EVE", "establishment_id": "E-LA", "discovered_at": "2026-12-31T20:00:00-08:00"},
        # half an hour into 1 January in Los Angeles: on the day, not before it
        {"id": "LA-DAY", "establishment_id": "E-LA", "discovered_at": "2027-01-01T00:30:00-08:00"},
        # 23:30 on 31 December in New York
        {"id": "NY-EVE", "establishment_id": "E-NY", "discovered_at": "2026-12-31T23:30:00-05:00"},
    ]
    for cond in ("discovered_at < date('2027-01-01')", "discovered_at < date(params.start)"):
        assert _found(cond, incidents, "2027-01-05T00:00:00Z", backend) == [("LA-EVE", "low"), ("NY-EVE", "low")]
    assert _found("discovered_at >= date('2027-01-01')", incidents, "2027-01-05T00:00:00Z", backend) == [
        ("LA-DAY", "low")]


@pytest.mark.parametrize("backend", ["python", "durable"])
def test_a_record_of_no_site_takes_the_practices_zone(backend: str) -> None:
    la_only = SITES[:1]
    incidents = [{"id": "I1", "discovered_at": "2026-12-31T20:00:00-08:00"}]
    assert _found("discovered_at < date('2027-01-01')", incidents, "2027-01-05T00:00:00Z", backend,
                  sites=la_only) == [("I1", "low")]


@pytest.mark.parametrize("backend", ["python", "durable"])
def test_now_against_a_date_turns_at_each_sites_own_midnight(backend: str) -> None:
    incidents = [
        {"id": "LA", "establishment_id": "E-LA", "discovered_at": "2026-12-01T10:00:00-08:00"},
        {"id": "NY", "establishment_id": "E-NY", "discovered_at": "2026-12-01T10:00:00-05:00"},
    ]
    # 00:30 on 1 January in New York, still 21:30 on 31 December in Los Angeles
    assert _found("discovered_at != null", incidents, "2027-01-01T05:30:00Z", backend,
                  extra="when: now >= date('2027-01-01')") == [("NY", "low")]


@pytest.mark.parametrize("backend", ["python", "durable"])
def test_severity_when_reads_the_day_in_the_subjects_zone(backend: str) -> None:
    incidents = [{"id": "LA", "establishment_id": "E-LA", "discovered_at": "2026-12-31T20:00:00-08:00"}]
    assert _found("discovered_at != null", incidents, "2027-01-05T00:00:00Z", backend,
                  extra="severity_when: [{severity: high, when: \"inc.discovered_at < date('2027-01-01')\"}]") == [
        ("LA", "high")]


def test_the_local_day_is_no_field_of_the_findings_facts() -> None:
    rs = compile_ruleset(load_ruleset_bytes(RULESET.format(cond="discovered_at < date('2027-01-01')", extra="")
                                            .encode(), "t-1.0.0.yaml"))
    records = [*SITES, {"type": "incident", "id": "I1", "establishment_id": "E-LA",
                        "discovered_at": "2026-12-31T20:00:00-08:00"}]
    run = evaluate_rules(ListSource([RecordView(r["type"], r["id"], 1, r) for r in records]), [rs],
                         dt.datetime(2027, 1, 5, tzinfo=dt.UTC))
    assert set(run.violations[0].facts["inc"]) == {"type", "id", "discovered_at"}
