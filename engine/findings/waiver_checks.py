"""What a waiver must say before it is granted: everything it names exists, and its period can apply.

A waiver covers (rule x subject) or (rule x establishment) for a period. One naming a rule, a
subject type, a subject or an establishment that does not exist would be stored, listed and shown in
packets, and never waive anything; so would one whose period is over. Each is refused, every
problem at once, with the field it is about:

- `rule_id`: a rule of some ruleset version (or one that findings of the org carry);
- `subject_type`: the type the rule reports its subjects as (its subject alias's fact type), and
  given with `subject_id` (a subject id alone could be of any type);
- `subject_id`: a record of that type in the org, or the subject of a finding of that rule (derived
  subjects such as `P-0019/MON/LEIE` exist only as findings);
- `establishment_id`: an establishment record of the org; a subject or an establishment, not both
  (with both, the establishment was silently ignored);
- `reason` (3 characters or more) and `approver`, not counting surrounding spaces;
- `starts_at`, `ends_at`: instants with an offset; the waiver ends after it starts and after now.
  It may not start before it is granted (5 minutes' grace for clocks): a waiver is an exception
  approved now, and a back-dated one would make a re-run of a past instant, and the packets that
  show its `starts_at` as "valid from", say the exception held before anyone approved it.
- a waiver is time-boxed (PRODUCT): it runs at most `MAX_DAYS` (366) days from its start, a year
  with a leap day in it; the refusal names the latest end allowed. One to 9999-12-30 was an
  exception for good.

Ends are said as the waive form takes them (`end_text`): a UTC midnight is the end of the day
before, "through 2027-01-31 (UTC)"; any other instant exactly, "until 2027-02-01T12:00:00+00:00".
The form's "until 2027-01-31" had come back as "2027-02-01T00:00:00+00:00 is already past" and in
the finding's history as "until 2027-02-01T00:00:00+00:00", a day later than the card showed.

Waiving through a finding (`finding_id`) takes the rule and subject from the finding; a subject
given must be the finding's, and an establishment must be the finding's own (one elsewhere would
not waive this finding at all).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from engine import clock
from engine.errors import ErrorDetail, InputError
from engine.findings import known
from engine.findings.schemas import WaiverIn
from engine.findings.tables import FindingRow

BACKDATE_GRACE = dt.timedelta(minutes=5)
#: the longest a waiver may run, from its start
MAX_DAYS = 366


def last_day(ends: dt.datetime) -> dt.date | None:
    """The day a waiver ending at `ends` runs through, when `ends` is a UTC midnight (the waive
    form's "until 2027-01-31" ends at 2027-02-01T00:00Z); None for any other instant."""
    end = clock.ensure_utc(ends)
    return (end - dt.timedelta(days=1)).date() if end.time() == dt.time(0, 0) and end.date() > dt.date.min else None


def end_text(ends: dt.datetime) -> str:
    """How a waiver's end reads in messages and histories: "through 2027-01-31 (UTC)" for a UTC
    midnight (as the form took it and the finding's page shows it), else "until <the instant>"."""
    day = last_day(ends)
    return f"through {day.isoformat()} (UTC)" if day is not None else f"until {clock.ensure_utc(ends).isoformat()}"


def start_text(starts: dt.datetime) -> str:
    """How a waiver's start reads in histories: the day for a UTC midnight ("2027-01-01"), as a
    start date from the form is stored, else the instant (a waiver granted now starts at once)."""
    start = clock.ensure_utc(starts)
    return start.date().isoformat() if start.time() == dt.time(0) else start.isoformat()


def latest_end(starts: dt.datetime) -> dt.datetime:
    """The latest a waiver starting at `starts` may end (`MAX_DAYS` later; the calendar's end at most)."""
    start = clock.ensure_utc(starts)
    try:
        return start + dt.timedelta(days=MAX_DAYS)
    except OverflowError:
        return dt.datetime.max.replace(tzinfo=dt.UTC)


def latest_last_day(starts: dt.datetime) -> dt.date:
    """The last day a waiver starting at `starts` can run through when it ends at a midnight (UTC),
    as the waive form's "until" asks: the day before the one `latest_end` falls on."""
    return latest_end(starts).date() - dt.timedelta(days=1)


@dataclass(frozen=True)
class CheckedWaiver:
    rule_id: str
    subject_type: str | None
    subject_id: str | None
    establishment_id: str | None
    starts_at: dt.datetime
    ends_at: dt.datetime
    reason: str
    approver: str


def check(session: Session, *, org_id: str, data: WaiverIn, finding: FindingRow | None,
          now: dt.datetime) -> CheckedWaiver:
    """The waiver `data` asks for, normalised (text stripped, instants in UTC); InputError naming
    every problem otherwise."""
    problems: list[ErrorDetail] = []
    text: dict[str, str | None] = {}
    for name in ("rule_id", "subject_type", "subject_id", "establishment_id"):
        value = getattr(data, name)
        if value is not None and not value.strip():
            problems.append(ErrorDetail(reason="blank: give a value or leave the field out", field=name))
        text[name] = value.strip() if value is not None and value.strip() else None
    reason, approver = data.reason.strip(), data.approver.strip()
    if len(reason) < 3:
        problems.append(ErrorDetail(reason="a waiver needs a reason of 3 characters or more (spaces do not count)",
                                    field="reason"))
    if not approver:
        problems.append(ErrorDetail(reason="say who approved the waiver", field="approver"))
    if finding is not None:
        _through_finding(finding, text, problems)
    else:
        _standalone(session, org_id, text, problems)
    starts, ends = _period(data, now, problems)
    if problems:
        raise InputError("the waiver cannot be granted", problems, code="input.waiver")
    assert text["rule_id"] is not None and starts is not None and ends is not None
    return CheckedWaiver(rule_id=text["rule_id"], subject_type=text["subject_type"], subject_id=text["subject_id"],
                         establishment_id=text["establishment_id"], starts_at=starts, ends_at=ends, reason=reason,
                         approver=approver)


def _through_finding(row: FindingRow, text: dict[str, str | None], problems: list[ErrorDetail]) -> None:
    if text["rule_id"] not in (None, row.rule_id):
        problems.append(ErrorDetail(reason=f"finding {row.id} is of rule {row.rule_id}", field="rule_id"))
    text["rule_id"] = row.rule_id
    for name, own in (("subject_type", row.subject_type), ("subject_id", row.subject_id)):
        if text[name] not in (None, own):
            problems.append(ErrorDetail(
                reason=f"a waiver of finding {row.id} is for its subject ({row.subject_type} {row.subject_id}), "
                       f"not {text[name]!r}; waive another subject with a waiver of its own", field=name))
    establishment = text["establishment_id"]
    if establishment is None:
        text["subject_type"], text["subject_id"] = row.subject_type, row.subject_id
        return
    if text["subject_type"] or text["subject_id"]:
        problems.append(ErrorDetail(reason="give a subject or an establishment, not both", field="establishment_id"))
    if row.establishment_id is None:
        problems.append(ErrorDetail(reason=f"finding {row.id} belongs to no establishment; waive it for its subject",
                                    field="establishment_id"))
    elif establishment != row.establishment_id:
        problems.append(ErrorDetail(
            reason=f"finding {row.id} is at {row.establishment_id}, not {establishment!r}: a waiver there would not "
                   f"waive it", field="establishment_id"))
    text["subject_type"], text["subject_id"] = None, None


def _standalone(session: Session, org_id: str, text: dict[str, str | None], problems: list[ErrorDetail]) -> None:
    rule, stype, sid, est = text["rule_id"], text["subject_type"], text["subject_id"], text["establishment_id"]
    if rule is None:
        problems.append(ErrorDetail(reason="a waiver names the rule it sets aside", field="rule_id"))
    if sid and est:
        problems.append(ErrorDetail(reason="give a subject or an establishment, not both", field="establishment_id"))
    elif not (sid or est or stype):
        problems.append(ErrorDetail(reason="give subject_type and subject_id, or establishment_id", field="subject_id"))
    if sid and not stype:
        problems.append(ErrorDetail(reason=f"say what {sid!r} is: subject_type is required with subject_id",
                                    field="subject_type"))
    if stype and not sid:
        problems.append(ErrorDetail(reason="subject_id is required with subject_type", field="subject_id"))
    if rule is None:
        return
    index = known.ruleset_index()
    on_findings = set(session.scalars(select(FindingRow.subject_type).where(
        FindingRow.org_id == org_id, FindingRow.rule_id == rule).distinct()))
    if rule not in index.rules and not on_findings:
        problems.append(ErrorDetail(reason=f"no ruleset version has a rule {rule!r}{known.close(rule, index.rules)}",
                                    field="rule_id"))
        return
    types = set(index.rules[rule].subject_types if rule in index.rules else ()) | on_findings
    if stype and stype not in types:
        problems.append(ErrorDetail(reason=f"rule {rule} reports its subjects as {', '.join(sorted(types))}, "
                                           f"never as {stype!r}", field="subject_type"))
    elif stype and sid and not _subject_exists(session, org_id, rule, stype, sid):
        problems.append(ErrorDetail(reason=f"no {stype} {sid!r} in this organization (no such record, and no finding "
                                           f"of rule {rule} is about it)", field="subject_id"))
    if est and not (known.existing_records(session, org_id=org_id, record_type="establishment", ids=[est])
                    or session.scalar(select(FindingRow.id).where(FindingRow.org_id == org_id,
                                                                  FindingRow.establishment_id == est).limit(1))):
        problems.append(ErrorDetail(reason=f"{est!r} is not an establishment of this organization",
                                    field="establishment_id"))


def _subject_exists(session: Session, org_id: str, rule: str, stype: str, sid: str) -> bool:
    from engine.records.schemas import RECORD_MODELS

    if stype in RECORD_MODELS and known.existing_records(session, org_id=org_id, record_type=stype, ids=[sid]):
        return True
    return session.scalar(select(FindingRow.id).where(
        FindingRow.org_id == org_id, FindingRow.rule_id == rule, FindingRow.subject_type == stype,
        FindingRow.subject_id == sid).limit(1)) is not None


def _period(data: WaiverIn, now: dt.datetime,
            problems: list[ErrorDetail]) -> tuple[dt.datetime | None, dt.datetime | None]:
    def instant(value: dt.datetime | None, name: str) -> dt.datetime | None:
        if value is None:
            return None
        try:
            return clock.checked_utc(value, field=name)
        except InputError as exc:
            problems.extend(exc.details)
            return None

    ends = instant(data.ends_at, "ends_at")
    starts = instant(data.starts_at, "starts_at") if data.starts_at is not None else now
    if data.starts_at is not None and starts is not None and starts < now - BACKDATE_GRACE:
        problems.append(ErrorDetail(
            reason=f"{starts.isoformat()} is before the waiver is granted ({now.isoformat(timespec='seconds')}): a "
                   f"waiver applies from when it is approved and recorded, and cannot be back-dated",
            field="starts_at"))
    if ends is not None and ends <= now:
        problems.append(ErrorDetail(reason=f"a waiver {end_text(ends)} would be over already: it could never "
                                           f"apply", field="ends_at"))
    elif ends is not None and starts is not None and ends <= starts:
        problems.append(ErrorDetail(reason="a waiver must end after it starts (ends_at <= starts_at)", field="ends_at"))
    elif ends is not None and starts is not None and ends > latest_end(starts):
        latest = latest_end(starts)
        problems.append(ErrorDetail(
            reason=f"a waiver is time-boxed: it runs at most {MAX_DAYS} days from its start "
                   f"({starts.isoformat(timespec='seconds')}), so it can end at {latest.isoformat(timespec='seconds')} "
                   f"at the latest (to the end of a day: through {latest_last_day(starts).isoformat()} (UTC)), not "
                   f"{end_text(ends).removeprefix('until ')}; grant a new waiver when this one ends",
            field="ends_at"))
    return starts, ends
