"""Per-case OSHA duties (the osha_case family): 300/301 log entry, severe-injury reports, sharps
injury log, HBV follow-up after an exposure, adverse actions after an injury report."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Iterator, Mapping

from engine.rules import calendar as cal
from engine.rules.derive import DeriveContext, DerivedFact, RecordView, derivation
from engine.rules.derive.osha._common import (
    RETENTION_YEARS,
    _by_id,
    _establishments,
    _flag,
    _group,
    _hbv_contraindicated,
    _hbv_protected,
    _hbv_said_by,
    _instant,
    _iso,
    _Now,
    _sources,
    _tz,
)
from engine.rules.derive.osha.scope import _ScopeCache

# ---- osha_case family ---------------------------------------------------------------------------


def _case_year(case: RecordView, tz: str) -> int | None:
    incident = _instant(case.data.get("incident_at"))
    return None if incident is None else cal.local_date(incident, tz).year


def _live_cases(ctx: DeriveContext, cases: Iterable[RecordView], now: _Now) -> Iterator[tuple[RecordView, str]]:
    """Cases whose incident has happened by as_of, with their establishment's zone."""
    for case in _by_id(cases):
        if now.at(case.data.get("incident_at")) is None:
            continue
        yield case, _tz(ctx, case, case.data.get("establishment_id"))


@derivation(
    name="osha_log_duty", inputs=("osha_case", "establishment"), output="osha_log_duty", family="osha_case",
    fields={"case_id": "string", "establishment_id": "string", "part": "string", "key": "string",
            "log_year": "number", "records_required": "bool", "done_at": "instant", "missing": "string"},
    example="osha_log_duty where case_id == case.id",
)
def osha_log_duty(ctx: DeriveContext, inputs: Mapping[str, Iterable[RecordView]]) -> Iterator[DerivedFact]:
    """OSHA 300 log / 301 report duties of one recordable case, where records are required for the
    year of the incident (1904.29(b)(3); the case goes on that year's log even when entered later).

    part `entry`: `done_at` is when both the 300 entry and the 301 report exist (the later of
    `logged_at` and `f301_at`). part `privacy`: a needlestick/sharps case already on the log but
    not marked as a privacy case (1904.29(b)(7)(v)); it only exists while that is so.
    A sharps case is treated as recordable whatever its `recordable` flag says (1904.8).
    """
    now = _Now(ctx.as_of)
    scopes = _ScopeCache(ctx, _establishments(ctx, inputs))
    for case, tz in _live_cases(ctx, inputs.get("osha_case", ()), now):
        if not (_flag(case, "recordable") or _flag(case, "sharps")):
            continue
        year = _case_year(case, tz)
        scope = scopes.get(case.data.get("establishment_id"), year) if year else None
        if scope is None or scope.records_required is not True or year is None:
            continue
        if now.today(tz).year - year > RETENTION_YEARS:
            continue
        est = scopes.ests.get(str(case.data.get("establishment_id")))
        logged, f301 = now.at(case.data.get("logged_at")), now.at(case.data.get("f301_at"))
        parts = (("OSHA 300 log entry", logged), ("OSHA 301 incident report", f301))
        missing = [name for name, v in parts if v is None]
        done = max(logged, f301) if logged and f301 else None
        base = {"case_id": case.id, "establishment_id": case.data.get("establishment_id"), "log_year": year,
                "records_required": True}
        yield DerivedFact("osha_log_duty", f"{case.id}:entry",
                          dict(base, part="entry", key=f"{year}:entry", done_at=_iso(done),
                               missing=", ".join(missing) or None),
                          _sources(case, est), f"osha_case:{case.id}")
        if _flag(case, "sharps") and logged is not None and case.data.get("privacy_case") is not True:
            yield DerivedFact("osha_log_duty", f"{case.id}:privacy",
                              dict(base, part="privacy", key=f"{year}:privacy", done_at=None,
                                   missing="privacy-case marking"),
                              _sources(case, est), f"osha_case:{case.id}")


@derivation(
    name="osha_severe_report", inputs=("osha_case", "establishment"), output="osha_severe_report", family="osha_case",
    fields={"case_id": "string", "establishment_id": "string", "event": "string", "window_hours": "number",
            "clock_start": "instant", "due_at": "instant", "done_at": "instant"},
    example="osha_severe_report where case_id == case.id",
)
def osha_severe_report(ctx: DeriveContext, inputs: Mapping[str, Iterable[RecordView]]) -> Iterator[DerivedFact]:
    """Severe-injury reports owed to OSHA for one case (1904.39; every employer, exempt or not).

    event `fatality`: death within 30 days of the incident; due 8 elapsed hours after the employer
    knew of the death (the later of `learned_at` and `died_at`); only a report made at or after the
    death meets it. event `hospitalization/amputation/eye loss`: an in-patient admission within
    24 h of the incident, an amputation or the loss of an eye; due 24 elapsed hours after the
    employer knew (the earliest qualifying knowledge). All arithmetic is elapsed UTC time (C3).
    A case whose employer has not learned of it yet (`learned_at` after as_of) has no clock.
    """
    now = _Now(ctx.as_of)
    for case, _tz_name in _live_cases(ctx, inputs.get("osha_case", ()), now):
        incident = _instant(case.data["incident_at"])
        learned = now.at(case.data.get("learned_at"))
        if incident is None or learned is None:
            continue
        reported = now.at(case.data.get("reported_to_osha_at"))
        base = {"case_id": case.id, "establishment_id": case.data.get("establishment_id")}
        died = now.at(case.data.get("died_at"))
        if died is not None and 0 <= cal.hours_between(incident, died) <= 30 * 24:
            start = max(learned, died)
            yield DerivedFact("osha_severe_report", f"{case.id}:fatality", dict(
                base, event="fatality", window_hours=8, clock_start=_iso(start),
                due_at=_iso(cal.add_hours(start, 8)),
                done_at=_iso(reported if reported is not None and reported >= died else None),
            ), _sources(case), f"osha_case:{case.id}")
        starts: list[dt.datetime] = []
        events: list[str] = []
        admit = now.at(case.data.get("inpatient_admit_at"))
        if admit is not None and 0 <= cal.hours_between(incident, admit) <= 24:
            starts.append(max(learned, admit))
            events.append("in-patient hospitalization")
        if _flag(case, "amputation"):
            starts.append(learned)
            events.append("amputation")
        if _flag(case, "eye_loss"):
            starts.append(learned)
            events.append("loss of an eye")
        if starts:
            start = min(starts)
            yield DerivedFact("osha_severe_report", f"{case.id}:24h", dict(
                base, event=", ".join(events), window_hours=24, clock_start=_iso(start),
                due_at=_iso(cal.add_hours(start, 24)),
                done_at=_iso(reported if reported is not None and reported >= incident else None),
            ), _sources(case), f"osha_case:{case.id}")


@derivation(
    name="osha_sharps_duty", inputs=("osha_case", "establishment"), output="osha_sharps_duty", family="osha_case",
    fields={"case_id": "string", "establishment_id": "string", "issue": "string", "records_required": "bool",
            "done_at": "instant", "missing": "string", "advisory": "bool"},
    example="osha_sharps_duty where case_id == case.id",
)
def osha_sharps_duty(ctx: DeriveContext, inputs: Mapping[str, Iterable[RecordView]]) -> Iterator[DerivedFact]:
    """Sharps injury log duties of one contaminated-sharps case (1910.1030(h)(5)).

    Where Part 1904 records are required for the incident's year: issue `entry` (`done_at` =
    `sharps_log_at`) and, once entered, issue `fields` while device type, brand or work area is
    missing. Elsewhere the log is only encouraged: issue `entry` exists only while there is no
    entry at all, with `records_required` false (the rule reports it at low severity) and `advisory`
    (the catalog's "else low advisory": the finding is flagged advisory).
    """
    now = _Now(ctx.as_of)
    scopes = _ScopeCache(ctx, _establishments(ctx, inputs))
    for case, tz in _live_cases(ctx, inputs.get("osha_case", ()), now):
        if not _flag(case, "sharps"):
            continue
        year = _case_year(case, tz)
        if year is None or now.today(tz).year - year > RETENTION_YEARS:
            continue
        scope = scopes.get(case.data.get("establishment_id"), year)
        required = scope is not None and scope.records_required is True
        logged = now.at(case.data.get("sharps_log_at"))
        base = {"case_id": case.id, "establishment_id": case.data.get("establishment_id"),
                "records_required": required, "advisory": not required}
        if required or logged is None:
            yield DerivedFact("osha_sharps_duty", f"{case.id}:entry",
                              dict(base, issue="entry", done_at=_iso(logged), missing=None),
                              _sources(case), f"osha_case:{case.id}")
        if required and logged is not None:
            missing = [label for name, label in (("device_type", "device type"), ("device_brand", "brand"),
                                                 ("work_area", "department or work area"))
                       if not case.data.get(name)]
            if missing:
                yield DerivedFact("osha_sharps_duty", f"{case.id}:fields",
                                  dict(base, issue="fields", done_at=None, missing=", ".join(missing)),
                                  _sources(case), f"osha_case:{case.id}")


@derivation(
    name="osha_exposure_followup", inputs=("osha_case", "hepb_vaccination"), output="osha_exposure_followup",
    family="osha_case",
    fields={"case_id": "string", "person_id": "string", "establishment_id": "string", "hbv_status": "string",
            "declined_at": "instant", "followup_at": "instant"},
    example="osha_exposure_followup where case_id == case.id",
)
def osha_exposure_followup(ctx: DeriveContext, inputs: Mapping[str, Iterable[RecordView]]) -> Iterator[DerivedFact]:
    """Exposure incidents (contaminated sharps) of employees with no documented hepatitis B
    protection, for whom USPHS post-exposure prophylaxis is medically indicated (1910.1030(f)(3)(iv)).

    Produced when the exposed person has no hepb_vaccination record, or only a declination: no
    completed series, no antibody immunity, not contraindicated, and no offer still open (an offer
    without a declination is a series in progress, which the evaluating provider handles).
    `hbv_status` says which, so the message can say whether the vaccine is offered again:
    `declined` (offered before the incident and declined, or a declination dated before it;
    `declined_at` is the latest such declination), `no_record` (no hepatitis B record at all) or
    `not_offered` (records, but none shows an offer or a declination before the incident).
    `followup_at` is the first hepatitis B offer recorded at or after the incident (the vaccine
    made available after the exposure), or null.
    """
    now = _Now(ctx.as_of)
    hepb = _group(inputs.get("hepb_vaccination", ()), "person_id")
    for case, _tz_name in _live_cases(ctx, inputs.get("osha_case", ()), now):
        person = case.data.get("person_id")
        if not _flag(case, "sharps") or not person:
            continue
        incident = _instant(case.data["incident_at"])
        assert incident is not None
        # a record all of whose dates are still to come says nothing yet: it is neither "a record"
        # (not_offered against no_record) nor evidence of the finding
        records = [h for h in hepb.get(str(person), []) if _hbv_said_by(h, now)]
        if _hbv_protected(records, now) or _hbv_contraindicated(records, now):
            continue
        offered_before = [h for h in records if (t := now.at(h.data.get("offered_at"))) is not None and t < incident]
        if any(now.at(h.data.get("declined_at")) is None for h in offered_before):
            continue  # offered earlier and not declined: a series in progress
        earlier = {h.id for h in offered_before}
        declines = sorted(d for h in records if (d := now.at(h.data.get("declined_at"))) is not None
                          and (d < incident or h.id in earlier))
        status = "declined" if declines else "not_offered" if records else "no_record"
        after = sorted(t for h in records if (t := now.at(h.data.get("offered_at"))) is not None and t >= incident)
        yield DerivedFact("osha_exposure_followup", f"{case.id}:hbv", {
            "case_id": case.id, "person_id": str(person), "establishment_id": case.data.get("establishment_id"),
            "hbv_status": status, "declined_at": _iso(declines[-1] if declines else None),
            "followup_at": _iso(after[0] if after else None),
        }, _sources(case, *records), f"osha_case:{case.id}")


@derivation(
    name="osha_post_report_action", inputs=("osha_case", "sanction_record", "employment_episode"),
    output="osha_post_report_action", family="osha_case",
    fields={"case_id": "string", "person_id": "string", "establishment_id": "string", "action": "string",
            "action_id": "string", "action_at": "instant", "report_at": "instant", "days_after": "number"},
    example="osha_post_report_action where case_id == case.id",
)
def osha_post_report_action(ctx: DeriveContext, inputs: Mapping[str, Iterable[RecordView]]) -> Iterator[DerivedFact]:
    """Adverse actions (a sanction decided, or the employment ending) against the person who
    reported an injury or illness, within `retaliation_review_days` calendar days after the report
    (C1 on local dates; the report is `learned_at`, else `incident_at`; the window is the one in
    force on the report's local day, so a later change neither widens nor narrows a past report's).
    An advisory flag for HR to confirm the action is unrelated to the report (1904.35(b)(1)(iv),
    1904.36, OSH Act 11(c)).
    """
    now = _Now(ctx.as_of)
    sanctions = _group(inputs.get("sanction_record", ()), "person_id")
    episodes = _group(inputs.get("employment_episode", ()), "person_id")
    for case, tz in _live_cases(ctx, inputs.get("osha_case", ()), now):
        person = case.data.get("person_id")
        report = now.at(case.data.get("learned_at")) or now.at(case.data.get("incident_at"))
        if not person or report is None:
            continue
        reported_on = cal.local_date(report, tz)
        last_day = cal.add_days(reported_on, int(ctx.param_on("retaliation_review_days", reported_on, 30)))
        actions: list[tuple[str, RecordView, dt.datetime]] = []
        for s in sanctions.get(str(person), []):
            at = now.at(s.data.get("decided_at"))
            if at is not None:
                actions.append(("sanction", s, at))
        for ep in episodes.get(str(person), []):
            at = now.at(ep.data.get("end_at"))
            if at is not None:
                actions.append(("employment ended", ep, at))
        for kind, view, at in actions:
            if at < report or cal.local_date(at, tz) > last_day:
                continue
            days = (cal.local_date(at, tz) - reported_on).days
            yield DerivedFact("osha_post_report_action", f"{case.id}:{view.type}:{view.id}", {
                "case_id": case.id, "person_id": str(person), "establishment_id": case.data.get("establishment_id"),
                "action": kind, "action_id": view.id, "action_at": _iso(at), "report_at": _iso(report),
                "days_after": days,
            }, _sources(case, view), f"osha_case:{case.id}")
