"""`generate()`: a deterministic synthetic multi-site medical group, as NDJSON, with planted problems.

Same (seed, anchor, size, scale) -> byte-identical files. Randomness comes only from named
`random.Random` streams (never the global generator) and time only from the anchor (never the
wall clock). Output in `out_dir`:

- `<type>.ndjson` for every contract record type (one record per line, contract field order);
- `planted.json`: sorted list of {rule_id, subject: {type, id}, note} - what a careful compliance
  officer would flag as of the anchor date (see `manifest.json` "as_of");
- `manifest.json`: arguments, counts and bytes per file, near-miss clean cases, rules that could
  not be planted (with the reason), rules planted only in part, traps, and the vocabularies used.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from engine.demo.activity import Activity, Sink
from engine.demo.model import RECORD_TYPES, rec
from engine.demo.plants import CATALOG_RULES, FRAMEWORK_OF, PARTIAL, UNPLANTABLE, ai, cms, cred, hipaa, osha
from engine.demo.world import (
    ESTABLISHMENTS,
    ORG_ID,
    ORG_NAME,
    ORG_STATES,
    ROLES,
    World,
)

GENERATOR_VERSION = "1"


@dataclass(frozen=True)
class Result:
    out_dir: Path
    counts: dict[str, int]
    bytes: dict[str, int]
    planted: int
    manifest: dict[str, Any]


def generate(out_dir: Path | str, *, size: str = "small", seed: int = 7, anchor: dt.date,
             scale: float = 1.0) -> Result:
    """Write the practice for `anchor` (the 'today' the data are built around) into `out_dir`."""
    if size not in ("small", "large"):
        raise ValueError(f"size must be small or large, not {size!r}")
    if scale <= 0:
        raise ValueError("scale must be positive")
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    w = World(seed=seed, size=size, anchor=anchor, scale=scale)

    # phase 1: inventory and workforce
    hipaa.systems(w)
    w.build_workforce()
    hipaa.vendors(w)
    ai.tools(w)
    hipaa.risk(w)

    # phase 2: planted problems (and their clean near misses)
    hipaa.training(w)
    snooper = hipaa.snooping(w)
    hipaa.sanctions(w, snooper)
    hipaa.termination(w)
    hipaa.unique_ids(w)
    hipaa.devices(w)
    hipaa.incidents(w)
    osha.scope(w)
    osha.exposure_control_plans(w)
    osha.cases(w)
    osha.summaries(w)
    osha.bloodborne(w)
    osha.other_programs(w)
    cms.submissions(w)
    cms.screening(w)
    cred.licenses(w)
    cred.controlled_substances(w)
    unverified = cred.board(w)
    cred.caqh(w)
    cred.malpractice(w)
    cred.clia(w)
    cred.life_support(w)
    cred.recredentialing(w, unverified)
    ai.outputs(w)
    ai.scribe_encounters(w)
    hipaa.access_requests(w)
    _workforce_patients(w)
    w.compute_access()

    # phase 3: write
    sink = Sink(out)
    try:
        for record in _org_records(w):
            sink.write(record)
        for wk in w.workers:
            for record in w.worker_records(wk):
                sink.write(record)
        for t in sorted(w.records):
            if t in ("encounter", "care_link", "ai_output"):
                continue
            for record in sorted(w.records[t], key=lambda r: r["id"]):
                sink.write(record)
        activity = Activity(w, sink)
        activity.write_patients()
        activity.run()
        for record in cms.measure_cases(w, activity.patient_id, w.n_patients):
            sink.write(record)
        for t in RECORD_TYPES:
            sink.touch(t)
    finally:
        sink.close()

    planted = sorted(w.planted, key=_entry_key)
    (out / "planted.json").write_text(json.dumps(planted, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    sizes = {t: (out / f"{t}.ndjson").stat().st_size for t in RECORD_TYPES}
    manifest = _manifest(w, sink.counts, sizes, planted)
    (out / "manifest.json").write_text(json.dumps(manifest, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    return Result(out, dict(sink.counts), sizes, len(planted), manifest)


def _entry_key(e: dict[str, Any]) -> tuple[str, str, str, str]:
    return (e["rule_id"], e["subject"]["type"], e["subject"]["id"], e["note"])


def _workforce_patients(w: World) -> None:
    """Some staff are also patients of the group (outside the background pools)."""
    r = w.rng("workforce-patients")
    for wk in w.workers:
        if wk.patient_id is None and wk.active and not wk.tainted and r.random() < 0.04:
            w.special_patient(state=wk.address.split(", ")[-1][:2], workforce=wk)


def _org_records(w: World) -> Iterator[dict[str, Any]]:
    active = [x for x in w.workers if x.active]
    fte = round(sum(0.8 if x.role in ("facilities", "front_desk") and x.idx % 3 == 0 else 1.0 for x in active), 1)
    yield rec("organization", ORG_ID, name=ORG_NAME, states=list(ORG_STATES), fte_count=fte,
              receives_federal_financial_assistance=True,
              mips_participant_by_py={str(y): True for y in (w.Y - 2, w.Y - 1, w.Y)})
    for e in ESTABLISHMENTS:
        any_time, concurrent = _headcounts(w, e.id)
        yield rec("establishment", e.id, org_id=ORG_ID, name=e.name, naics=e.naics, state=e.state, tz=e.tz,
                  osha_state_plan=e.osha_state_plan, max_concurrent_employees=concurrent,
                  employees_any_time=any_time, holiday_calendar="US-FEDERAL")


def _headcounts(w: World, est: str) -> tuple[dict[str, int], dict[str, int]]:
    """Per calendar year: everyone employed at some point, and the peak number employed at once."""
    any_time: dict[str, int] = {}
    concurrent: dict[str, int] = {}
    eps = [ep for x in w.workers for ep in x.episodes if ep.est == est]
    for year in range(w.horizon.year, w.Y + 1):
        lo = dt.date(year, 1, 1)
        hi = min(dt.date(year, 12, 31), w.anchor - dt.timedelta(days=1))
        inside = [ep for ep in eps if ep.start.date() <= hi and (ep.end is None or ep.end.date() >= lo)]
        any_time[str(year)] = len({ep.person_id for ep in inside})
        changes: dict[dt.date, int] = {}
        for ep in inside:
            s = max(ep.start.date(), lo)
            changes[s] = changes.get(s, 0) + 1
            if ep.end is not None and ep.end.date() < hi:
                d = ep.end.date() + dt.timedelta(days=1)
                changes[d] = changes.get(d, 0) - 1
        level = peak = 0
        for d in sorted(changes):
            level += changes[d]
            peak = max(peak, level)
        concurrent[str(year)] = peak
    for year in (w.horizon.year - 2, w.horizon.year - 1):  # pre-merger payroll records of the sites
        any_time[str(year)] = any_time[str(w.horizon.year)]
        concurrent[str(year)] = concurrent[str(w.horizon.year)]
    order = sorted(any_time)
    return {k: any_time[k] for k in order}, {k: concurrent[k] for k in order}


def _manifest(w: World, counts: dict[str, int], sizes: dict[str, int], planted: list[dict[str, Any]]) -> dict[str, Any]:
    planted_rules = {e["rule_id"] for e in planted}
    unplantable = dict(UNPLANTABLE)
    for rule, reason in w.unplantable.items():
        if rule not in planted_rules:
            unplantable.setdefault(rule, reason)
    status = {}
    for rule, _fw in CATALOG_RULES:
        if rule in planted_rules:
            status[rule] = "partial" if rule in PARTIAL else "planted"
        else:
            status[rule] = "unplantable"
    return {
        "generator": f"vigil demo-data v{GENERATOR_VERSION}",
        "seed": w.seed,
        "size": w.size,
        "scale": w.scale,
        "anchor": w.anchor.isoformat(),
        "as_of": w.as_of.isoformat(timespec="seconds").replace("+00:00", "Z"),
        "as_of_note": "Evaluate with --as-of at this instant (noon in New York on the anchor date): every "
                      "generated fact is dated before the anchor day in its own zone.",
        "organization": ORG_ID,
        "workforce": {"persons": len(w.workers), "active": sum(1 for x in w.workers if x.active),
                      "episodes": sum(len(x.episodes) for x in w.workers)},
        "files": {t: {"records": counts.get(t, 0), "bytes": sizes[t]} for t in RECORD_TYPES},
        "total_records": sum(counts.values()),
        "planted_count": len(planted),
        "planted_note": "planted.json has one entry per planted case and subject record. When a case spans "
                        "several records of the same kind (the 40 bulk-export events, a second view a minute "
                        "later) the first is the subject and the note names the rest. Background records are "
                        "meant to be clean: a finding on a subject not listed is either a rule false positive "
                        "or a generator bug worth reporting.",
        "rules": {rule: {"framework": FRAMEWORK_OF[rule], "status": status[rule],
                         "planted": sum(1 for e in planted if e["rule_id"] == rule)} for rule, _ in CATALOG_RULES},
        "unplantable": [{"rule_id": k, "reason": unplantable[k]} for k in sorted(unplantable)],
        "partial": [{"rule_id": k, "missing": PARTIAL[k]} for k in sorted(PARTIAL) if k in planted_rules],
        "near_misses": sorted(w.near_misses, key=_entry_key),
        "traps": sorted(w.traps),
        "vocabularies": {
            "roles": sorted(ROLES),
            "baa_clauses": list(hipaa.REQUIRED_CLAUSES) + list(hipaa.AI_CLAUSES),
            "investigation_outcome": ["VIOLATION_CONFIRMED", "UNFOUNDED", None],
            "sanction_level": ["verbal_warning", "written_warning", "suspension", "termination"],
            "credential_status": ["active", "expired", "attested"],
            "mips_category": list(cms.CATEGORIES),
            "measure_case_met": "null when not reported, excluded or exception; for inverse measure 001, "
                                "met=true means the numerator (poor control) was met",
            "after_hours": "business hours are 07:00-19:00 local at the user's establishment",
            "tins": {"MAIN": "84-7102935", "CHI": "36-4418207"},
        },
    }


def write_practice(*, out: Path | str, size: str = "small", seed: int = 7, anchor: dt.date | None = None,
                   scale: float = 1.0) -> Result:
    """`generate()` with keyword arguments only and the anchor defaulting to today in New York."""
    if anchor is None:
        from engine import clock

        anchor = clock.today_in("America/New_York")
    return generate(out, size=size, seed=seed, anchor=anchor, scale=scale)
