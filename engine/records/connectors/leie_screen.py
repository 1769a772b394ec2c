"""Screen the organization's workforce against OIG LEIE files: one `screening` record per person.

The use case behind `vigil import FILE... --format leie [--checked-at INSTANT]`. The workforce is
every `person` of the org with at least one `employment_episode` (the people CMS-EXCL-LEIE-015
judges), as the store knows them now. The files are read once, streamed (`leie.read_rows`), and
every person gets a result, `clear` unless a row matched (`leie.Screener`); several files given
together (UPDATED.csv and a supplement) are one screening.

OIG's monthly supplements (`YYMMEXCL.csv`, `YYMMREIN.csv`) list only the month's changes: imported
alone (every file so named, or `supplement=True`, the CLI's `--leie-supplement`) they are no screening
of the whole workforce, and had recorded everyone `clear`, ending a live exclusion. Read as
supplements, an exclusion row writes `excluded` or `possible_match` for the people it names, a
reinstatement writes `clear` for the people it names whose latest LEIE screening (before this check)
says `excluded` (OIG drops a reinstated person from UPDATED.csv, so the REIN file is the only
word of it between two full screenings), and nobody else gets a screening: their latest one stands.

Each screening is `{type: screening, id: LEIE-<checked_at in UTC>-<person id>, person_id,
source: LEIE, checked_at, result}`, `checked_at` written with the offset it was given with (the
CLI's `--checked-at 2026-12-01T09:00:00-06:00` stays `-06:00`). The id is the check's instant in UTC
and the person, so re-importing the same file with the same check time, in any offset, is a no-op
(every screening unchanged; the content hash reads instants in UTC too), a correction of the
same check (a person's date of birth fixed) is a new version of it, and a later check is a record of
its own, as the monthly-screening rule needs. `checked_at` is `--checked-at`, else the file's
modification time (when it was downloaded; the newest of several files), never later than
`engine.clock.now()` (a later file date is taken as now; a later `--checked-at` is refused).

File problems (a header that is not LEIE's, a row of the wrong width, an unreadable date on a row
whose name matches) are collected by the import loop's `Ingest` and raised as one
`ImportFormatError` before anything is written; the screenings themselves are written by
`service.import_records`, so they are validated, versioned and audited as any import.
"""

from __future__ import annotations

import datetime as dt
import hashlib
from collections.abc import Sequence
from pathlib import Path

from sqlalchemy.orm import Session

from engine import clock
from engine.errors import ErrorDetail, InputError
from engine.records import service
from engine.records.connectors.leie import RANK, Result, Screener, WorkforcePerson, is_supplement, read_rows
from engine.records.fields import format_instant, stored_instant
from engine.records.ingest import Ingest
from engine.records.schemas import ImportReport, RowWarning

SOURCE = "LEIE"
_MAX_ID = 255
#: How many rows to review (an unknown EXCLTYPE) the report lists; `row_warnings_total` counts them all.
WARNINGS_SHOWN = 100

__all__ = ["screen_files", "screening_id", "workforce"]


def screen_files(
    session: Session,
    *,
    org_id: str,
    paths: Sequence[str | Path],
    actor: str,
    checked_at: dt.datetime | None = None,
    checked_at_name: str = "--checked-at",
    supplement: bool = False,
    names: Sequence[str] | None = None,
    progress: service.ProgressFn | None = None,
) -> ImportReport:
    """Screen the workforce against the LEIE files and import one screening per person screened.

    A `checked_at` later than now is refused (InputError naming `checked_at_name`, the caller's word
    for it: the CLI's `--checked-at`, the API's `checked_at`): a screening not yet done would stand in
    the store as done, and satisfy the monthly check until that instant came. The files are read as
    monthly supplements when `supplement` is set or every one is named as OIG names them (module
    docstring); one full list among them makes the whole a screening of everyone. The screenings'
    `source` names the files as `names` does (`service.source_names`)."""
    files = service.readable_files(paths)
    when = _checked_at(files, checked_at, checked_at_name)
    advance = service.byte_progress(files, progress)

    people = workforce(session, org_id=org_id)
    if not people:  # it had said "no records in UPDATED.csv", of a file of 80,000 rows
        raise InputError("nobody to screen: the organization holds no person with an employment episode and a "
                         "first and last name; nothing was imported", [ErrorDetail(
                             reason="import the workforce first (persons, and their employment episodes: an HR roster "
                                    "with `--format roster` gives both), then screen it against the LEIE file",
                             file=str(files[0]) if files else None)], code="input.no_workforce")
    as_supplement = supplement or all(is_supplement(p) for p in files)
    # the check date is the instant's UTC date, so the same instant in another offset screens alike
    screener = Screener(people, checked_on=clock.ensure_utc(when).date(), supplement=as_supplement)
    reading = Ingest(session=session, org_id=org_id, actor=actor)
    warnings: list[ErrorDetail] = []
    for path in files:
        for position, cells in read_rows(path, reading.problem, advance, warnings.append):
            screener.row(cells, position, reading.problem)
    if reading.problem_count:
        reading.finish()  # raises ImportFormatError with every problem, as any import does
    results = dict(screener.results)
    if as_supplement:
        results.update(_reinstatements(session, org_id=org_id, screener=screener, when=when))
    stamp = format_instant(when)
    screenings = [
        {"type": "screening", "id": screening_id(person_id, when), "person_id": person_id, "source": SOURCE,
         "checked_at": stamp, "result": result}
        for person_id, result in sorted(results.items())
    ]
    report = service.import_records(session, org_id=org_id, records=screenings, actor=actor,
                                    source=" + ".join(service.source_names(paths, names).values()))
    # the records alone said "14 screenings created", and who matched had to be looked up by export
    report.screened = {result: sum(1 for r in results.values() if r == result)
                       for result in ("clear", "possible_match", "excluded")}
    report.leie_supplement = as_supplement
    report.unscreened = len(people) - len(results)
    report.row_warnings = [RowWarning(file=w.file or "", line=w.line, field=w.field, reason=w.reason)
                           for w in warnings[:WARNINGS_SHOWN]]
    report.row_warnings_total = len(warnings)
    return report


def _reinstatements(session: Session, *, org_id: str, screener: Screener, when: dt.datetime) -> dict[str, Result]:
    """`clear` for each person a supplement's reinstatement names whose latest LEIE screening before
    `when` is `excluded`, unless an exclusion row of the same import names them too (the graver
    result stands). A person listed as reinstated but not excluded on record (never screened, clear, a
    possible match) gets nothing: the REIN file says an exclusion ended, not that one is in the store."""
    named = {pid for pid in screener.reinstated if pid not in screener.results}
    if not named:
        return {}
    latest = latest_results(session, org_id=org_id, person_ids=named, before=when)
    return {pid: "clear" for pid in sorted(named) if latest.get(pid) == "excluded"}


def latest_results(session: Session, *, org_id: str, person_ids: set[str], before: dt.datetime) -> dict[str, Result]:
    """Each named person's latest LEIE result checked before `before` (the graver of two at one
    instant), by person id; a person with none is absent. Strictly before: a screening at the check's
    own instant is the one this check writes again, so the same file imported twice is unchanged."""
    latest: dict[str, tuple[dt.datetime, int, Result]] = {}
    bound = clock.ensure_utc(before)
    for _, _, data in service.iter_record_data(session, org_id=org_id, record_type="screening"):
        person_id, result = data.get("person_id"), data.get("result")
        checked = stored_instant(data.get("checked_at"))
        if (data.get("source") != SOURCE or person_id not in person_ids or result not in RANK or checked is None
                or clock.ensure_utc(checked) >= bound):
            continue
        key = (clock.ensure_utc(checked), RANK[result], result)
        if person_id not in latest or key[:2] > latest[person_id][:2]:
            latest[person_id] = key
    return {pid: found[2] for pid, found in latest.items()}


def supplement_line(report: ImportReport) -> str | None:
    """What reading the files as supplements meant, or None for the full list: "read as OIG's monthly
    supplement, which lists only the month's changes: 5 people were left unscreened (their latest
    screening stands)"."""
    if not report.leie_supplement:
        return None
    n = report.unscreened or 0
    return (f"read as OIG's monthly supplement, which lists only the month's changes: {n} "
            f"{'person was' if n == 1 else 'people were'} left unscreened (their latest screening stands)")


def warning_lines(report: ImportReport, *, shown: int, listed_in: str = "--json") -> list[str]:
    """The rows to review, one line each ("UPDATED.csv:3: EXCLTYPE '9999zz' is no ..."), the first
    `shown`, then how many more `listed_in` lists."""
    found = report.row_warnings or []
    lines = [f"{w.file}:{w.line}: {w.reason}" if w.line is not None else f"{w.file}: {w.reason}"
             for w in found[:shown]]
    more = (report.row_warnings_total or 0) - len(lines)
    if more > 0:
        listed = min(len(found), WARNINGS_SHOWN) - len(lines)
        lines.append(f"and {more} more row{'s' if more != 1 else ''} to review"
                     + (f" ({listed} more listed in {listed_in})" if listed > 0 else ""))
    return lines


def screened_line(screened: dict[str, int]) -> str:
    """"12 people screened: 10 clear, 1 possible match (...), 1 excluded": who matched, at once."""
    total = sum(screened.values())
    parts = [f"{screened.get('clear', 0)} clear"]
    if screened.get("possible_match"):
        n = screened["possible_match"]
        parts.append(f"{n} possible match{'es' if n != 1 else ''} (the same name with no date of birth to tell "
                     f"them apart: confirm {'each' if n != 1 else 'it'})")
    parts.append(f"{screened.get('excluded', 0)} excluded")
    return f"{total} {'person' if total == 1 else 'people'} screened: {', '.join(parts)}"


def workforce(session: Session, *, org_id: str) -> list[WorkforcePerson]:
    """The persons of the org with an employment episode and a first and last name, by id."""
    employed = {str(data["person_id"]) for _, _, data in service.iter_record_data(
        session, org_id=org_id, record_type="employment_episode") if data.get("person_id")}
    people = (WorkforcePerson.of(pid, data) for pid, _, data in service.iter_record_data_by_ids(
        session, org_id=org_id, record_type="person", ids=sorted(employed)))
    return [p for p in people if p is not None]


def screening_id(person_id: str, checked_at: dt.datetime) -> str:
    """`LEIE-<UTC instant, basic form>-<person id>`; a person id too long for that is hashed."""
    prefix = f"{SOURCE}-{clock.ensure_utc(checked_at):%Y%m%dT%H%M%SZ}-"
    if len(prefix) + len(person_id) <= _MAX_ID:
        return prefix + person_id
    return prefix + hashlib.sha256(person_id.encode("utf-8")).hexdigest()


def _checked_at(files: list[Path], given: dt.datetime | None, name: str) -> dt.datetime:
    if given is not None:
        now = clock.now()
        if clock.checked_utc(given, field=name) > now:
            raise InputError(f"{name} is in the future", [ErrorDetail(
                reason=f"{format_instant(given)} is later than now ({format_instant(now)}): a screening is recorded "
                       "once it has been done; give the instant it was checked", field=name)], code="input.instant")
        return given
    newest = max(dt.datetime.fromtimestamp(p.stat().st_mtime, tz=dt.UTC) for p in files)
    return min(newest, clock.now()).replace(microsecond=0)
