"""Recurring obligations: SOPs with `recurrence` open a task each period, with or without a finding.

A series is (org, SOP, establishment) -- or (org, SOP, "*") for `scope: org` SOPs and for orgs with
no establishment records -- anchored on a local date: the SOP's `recurrence.start`, else the day
the series was first scheduled (kept in `task_series`, changeable with `set_anchor`). Period n
starts on `anchor + n * every unit`, always counted from the anchor (C5 via the calendar service),
so a series anchored on 31 January runs 29 February (leap year), 31 March, 30 April, ... and
never drifts to the 28th. The task of a period opens on the period's first local day and is due
`default_due_days` later. Only the current period is opened: a period that passed while nothing
ran is over, and its obligation is a matter for the rules, not a task to do now. Likewise a period
whose due day had already passed when its series was first scheduled is not opened: a yearly duty
tied to the calendar (`start`: post the 300A by 1 February) found in November would otherwise open
as ten months overdue on the day Vigil is installed. The task key names the period, so a period's
task is created once however often the check runs.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from engine import clock
from engine.db import utc
from engine.rules import calendar
from engine.tasks import store, templates
from engine.tasks.applicability import Applicability
from engine.tasks.errors import PolicyError
from engine.tasks.opening import OpenSpec, SopCache, open_task
from engine.tasks.policy import policies_dir, staffed_roles
from engine.tasks.schemas import Recurrence, Sop
from engine.tasks.tables import TaskSeriesRow


def period_start(anchor: dt.date, n: int, rec: Recurrence) -> dt.date:
    """The first day of period n (n = 0 is the anchor)."""
    if rec.unit == "months":
        return calendar.add_months(anchor, n * rec.every)
    if rec.unit == "years":
        return calendar.add_years(anchor, n * rec.every)
    days = n * rec.every * (7 if rec.unit == "weeks" else 1)
    return calendar.add_days(anchor, days)


def current_period(anchor: dt.date, rec: Recurrence, today: dt.date) -> tuple[int, dt.date] | None:
    """The period `today` falls in (index, first day), or None before the anchor."""
    if today < anchor:
        return None
    if rec.unit in ("months", "years"):
        months = calendar.months_between(anchor, today)
        n = months // (rec.every * (12 if rec.unit == "years" else 1))
    else:
        n = (today - anchor).days // (rec.every * (7 if rec.unit == "weeks" else 1))
    while period_start(anchor, n + 1, rec) <= today:  # guard against any rounding at month ends
        n += 1
    while n > 0 and period_start(anchor, n, rec) > today:
        n -= 1
    return n, period_start(anchor, n, rec)


def recurring_sops(directory: Path | str | None = None) -> tuple[list[Sop], list[str]]:
    """SOPs with a recurrence; broken files are reported, not fatal to the others."""
    found: list[Sop] = []
    problems: list[str] = []
    for path in sorted((policies_dir(directory) / "sops").glob("SOP-*.md")):
        try:
            sop = templates.load_sop(path.stem, directory)
        except PolicyError as exc:
            problems.append(str(exc))
            continue
        if sop.recurrence is not None:
            found.append(sop)
    return found, problems


def run_recurrence(session: Session, *, org_id: str, as_of: dt.datetime, actor: str = "system:recurrence",
                   policies: Path | str | None = None) -> dict[str, int]:
    """Open the current period's task of every recurring series that has none yet."""
    as_of = clock.ensure_utc(as_of)
    store.hold(session, org_id)  # the series as the other writers left them
    sops, problems = recurring_sops(policies)
    roles = staffed_roles(session, org_id=org_id, as_of=as_of, directory=policies)
    cache = SopCache(policies)
    zones = store.establishment_zones(session, org_id=org_id)
    where = Applicability(session, org_id, as_of)
    counts = {"created": 0, "series": 0, "sop_problems": len(problems)}
    for sop in sops:
        rec = sop.recurrence
        assert rec is not None
        scopes: list[tuple[str, str | None]] = (
            [("*", None)] if rec.scope == "org" or not zones else [(est, est) for est in sorted(zones)])
        for scope_id, est in scopes:
            tz = store.zone_of(zones, est)
            today = calendar.local_date(as_of, tz)
            series = _series(session, org_id=org_id, sop=sop, scope_id=scope_id, today=today)
            counts["series"] += 1
            period = current_period(series.anchor, rec, today)
            if period is None:
                continue
            n, start = period
            if not where.applies(rec.only_where, est, start):
                continue  # e.g. no 300A to post at a partially exempt site
            due = calendar.add_days(start, sop.default_due_days)
            if due < calendar.local_date(utc(series.created_at), tz):
                continue  # due before the series existed: not a task to do now (see the module's docstring)
            spec = OpenSpec(org_id=org_id, key=f"recur:{sop.id}:{scope_id}:{start.isoformat()}", kind="recurring",
                            sop_id=sop.id, context=period_context(sop, scope_id, est, start, n, due),
                            establishment_id=est, tz=tz, due=due, due_at=store.end_of_day(due, tz),
                            period_start=start, fallback_title=sop.title)
            if open_task(session, spec, sops=cache, roles=roles, actor=actor) is not None:
                counts["created"] += 1
    return counts


def _series(session: Session, *, org_id: str, sop: Sop, scope_id: str, today: dt.date) -> TaskSeriesRow:
    row = session.scalars(select(TaskSeriesRow).where(TaskSeriesRow.org_id == org_id, TaskSeriesRow.sop == sop.id,
                                                      TaskSeriesRow.scope_id == scope_id)).first()
    if row is not None:
        return row
    assert sop.recurrence is not None
    start = sop.recurrence.start
    row = TaskSeriesRow(org_id=org_id, sop=sop.id, scope_id=scope_id, anchor=start or today,
                        anchor_source="sop" if start else "first_scheduled", created_at=clock.now())
    if not store.insert_once(session, row):
        row = session.scalars(select(TaskSeriesRow).where(TaskSeriesRow.org_id == org_id, TaskSeriesRow.sop == sop.id,
                                                          TaskSeriesRow.scope_id == scope_id)).one()
    return row


def set_anchor(session: Session, *, org_id: str, sop_id: str, scope_id: str, anchor: dt.date, actor: str) -> None:
    """Set (or move) a series' anchor: the day its periods are counted from."""
    templates.load_sop(sop_id)
    row = session.scalars(select(TaskSeriesRow).where(TaskSeriesRow.org_id == org_id, TaskSeriesRow.sop == sop_id,
                                                      TaskSeriesRow.scope_id == scope_id)).first()
    before = row.anchor.isoformat() if row is not None else None
    if row is None:
        row = TaskSeriesRow(org_id=org_id, sop=sop_id, scope_id=scope_id, anchor=anchor,
                            anchor_source=f"set:{actor}"[:40], created_at=clock.now())
        session.add(row)
    else:
        row.anchor, row.anchor_source = anchor, f"set:{actor}"[:40]
    session.flush()
    store.audit(session, org_id=org_id, actor=actor, action="task.series.anchor", entity_type="task_series",
                entity_id=f"{sop_id}:{scope_id}", payload={"from": before, "to": anchor.isoformat()})


def period_context(sop: Sop, scope_id: str, est: str | None, start: dt.date, n: int, due: dt.date) -> dict[str, Any]:
    """What the SOP's template sees for the task of one period (`sop_checks` renders it so too)."""
    subject = {"type": "establishment", "id": est} if est else {"type": "org", "id": scope_id}
    finding = {"id": None, "rule_id": None, "subject": subject, "establishment_id": est, "due": due.isoformat(),
               "message": f"Periodic obligation: {sop.title} (period starting {start.isoformat()}).",
               "title": sop.title, "citation": sop.citation, "severity": None, "facts": {}}
    return {"finding": finding, "period": {"start": start.isoformat(), "index": n}}
