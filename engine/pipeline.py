"""The one orchestration: ingest -> derive -> evaluate -> diff -> tasks.

Faces (CLI, REST, web UI, scheduler) call these functions; the domains never import this module.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from itertools import chain
from pathlib import Path
from typing import TYPE_CHECKING, Any

from sqlalchemy import Engine
from sqlalchemy.orm import Session

from engine import clock, ruleset_integrity
from engine.audit.schemas import AuditVerifyReport
from engine.errors import ErrorDetail, InputError, RulesetValidationError, VigilError
from engine.findings import currency, run_checks
from engine.findings import service as findings_service
from engine.findings.schemas import DraftEffect, DraftImpact, EvaluationRun, ImpactItem, RunDiff, Waiver, WaiverIn
from engine.records import service as records_service
from engine.records.schemas import ImportReport
from engine.rules.catalog import compile_in_force
from engine.rules.derive import RecordView
from engine.rules.reads import record_types_read
from engine.rules.runner import Progress, evaluate_rules
from engine.rules.schemas import RunResult, Violation

if TYPE_CHECKING:
    from engine.migrate import SchemaChange
    from engine.rules.loader import LoadedRuleset
    from engine.tasks.policy import RolePolicy

#: Sweeps run on the backend bench/ measures faster for them (plain Python: 41.5 s against 44.6 s
#: on the large practice, bench/README.md); the live event stream runs on durable_rules.
SWEEP_BACKEND = "python"


@dataclass
class StoreSource:
    """A RecordSource over the record store: latest versions known at `known_at`, streamed."""

    session: Session
    org_id: str
    known_at: dt.datetime | None = None

    def iter_type(self, record_type: str) -> Iterator[RecordView]:
        for record_id, version, data in records_service.iter_record_data(
            self.session, org_id=self.org_id, record_type=record_type, known_at=self.known_at
        ):
            yield RecordView(record_type, record_id, version, data)

    def iter_ids(self, record_type: str, ids: list[str]) -> Iterator[RecordView]:
        for record_id, version, data in records_service.iter_record_data_by_ids(
            self.session, org_id=self.org_id, record_type=record_type, ids=ids, known_at=self.known_at
        ):
            yield RecordView(record_type, record_id, version, data)


@dataclass
class Evaluation:
    run: EvaluationRun | None
    result: RunResult
    diff: RunDiff | None
    tasks: dict[str, Any] | None = None
    #: what the person who ran it should hear: roles.yaml giving work to someone the practice lacks
    warnings: list[str] = field(default_factory=list)
    #: of those, one line per SOP whose tasks were opened with generic steps (`tasks.sync.fallback_lines`)
    sop_fallbacks: list[str] = field(default_factory=list)


def evaluate(session: Session, *, org_id: str, as_of: dt.datetime, actor: str, frameworks: Sequence[str] | None = None,
             backend: str | None = None, known_at: dt.datetime | None = None, params_path: Path | None = None,
             persist: bool = True, trigger: str = "manual", progress: Progress | None = None) -> Evaluation:
    """Evaluate the rulesets in force at `as_of` against the records known at `known_at`.

    A `known_at` before the first record is refused: that run would see an empty practice and,
    persisted, resolve every open finding. A run to be kept is refused, too, when it could only come
    back empty (`run_checks.check_evaluation`: a framework asked for with no version in force, no
    ruleset at all, an instant past the calendar), here rather than in each face: the REST route and
    `vigil evaluate --db` had each called it, and the scheduler's sweep and the demo had not.
    A persisted run that looks back (as of an instant before the store's latest applied run, or at
    an earlier database state) is recorded and returned but held: its diff is not applied
    (`findings.currency`), so today's findings and tasks stay. A run to be kept is refused while a
    version of its frameworks is not the file that was released, published or used, or was placed
    by hand over days runs have judged (`ruleset_integrity.refuse_drift`)."""
    as_of = clock.ensure_utc(as_of)
    if persist:
        run_checks.check_evaluation(session, org_id=org_id, as_of=as_of,
                                    known_at=clock.ensure_utc(known_at) if known_at is not None else None,
                                    frameworks=list(frameworks) if frameworks is not None else None)
        # a version edited or placed by hand is refused before a run records it (engine.ruleset_integrity)
        ruleset_integrity.refuse_drift(session, org_id=org_id, frameworks=frameworks)
    elif known_at is not None:
        run_checks.check_known_at(session, org_id=org_id, known_at=clock.ensure_utc(known_at))
    rulesets = compile_in_force(as_of, frameworks=frameworks, params_path=params_path)

    def judge() -> RunResult:
        source = StoreSource(session, org_id, clock.ensure_utc(known_at) if known_at else None)
        return evaluate_rules(source, rulesets, as_of, backend=backend or SWEEP_BACKEND, known_at=known_at,
                              progress=progress)

    if not persist:
        return Evaluation(None, judge(), None)
    versions = records_service.count_versions(session, org_id=org_id)
    result = judge()
    findings_service.hold_writers(session, org_id=org_id)
    if records_service.count_versions(session, org_id=org_id) != versions:
        # an import committed while this run read the records, maybe with the findings of its own
        # evaluation: judged again, now that no writer can come between, on the records as they stand.
        # Diffed as read, the run resolved the findings of records it never saw (the concurrency probe)
        result = judge()
    run = findings_service.record_run(session, org_id=org_id, result=result,
                                      frameworks=[rs.framework for rs in rulesets], actor=actor, trigger=trigger)
    held = currency.why_held(session, org_id=org_id, run=run)
    if held is not None:  # a look back: recorded and returned, the store keeps the present
        return Evaluation(findings_service.hold_run(session, org_id=org_id, run=run, reason=held, actor=actor),
                          result, RunDiff())
    diff = findings_service.apply_run(session, org_id=org_id, run=run, violations=result.violations, actor=actor,
                                      read=record_types_read(rulesets))
    fell_back: list[str] = []  # an SOP that failed its tasks is said with the run, not only in each task's history
    tasks = _sync_tasks(session, org_id=org_id, actor=actor, as_of=as_of, fell_back=fell_back)
    warnings = _role_warnings(session, org_id=org_id, as_of=as_of) + fell_back
    return Evaluation(run, result, diff, tasks, warnings=warnings, sop_fallbacks=fell_back)


def _sync_tasks(session: Session, *, org_id: str, actor: str, as_of: dt.datetime,
                fell_back: list[str]) -> dict[str, Any]:
    """Open, close or confirm SOP tasks for the findings. Imported here, not at the top: the tasks
    domain's import chain is long, and most commands never evaluate."""
    from engine.tasks import service as tasks_service

    return dict(tasks_service.sync_from_findings(session, org_id=org_id, actor=actor, as_of=as_of,
                                                 fell_back=fell_back))


def _role_warnings(session: Session, *, org_id: str, as_of: dt.datetime) -> list[str]:
    """Role holders roles.yaml names whom the practice has no record or user of (`tasks.holders`)."""
    from engine.tasks import holders

    return holders.not_on_file_lines(holders.role_holders(session, org_id=org_id, as_of=as_of), org_id=org_id)


def preview_draft(session: Session, *, org_id: str, draft: bytes, name: str, as_of: dt.datetime | None = None,
                  params_path: Path | None = None, effective_from: dt.date | None = None) -> DraftImpact:
    """Which findings a draft ruleset would open and close if it were in force at `as_of` (default
    now, or the draft's first day if later), judged on the records as they are, against the findings
    store; nothing is stored.

    The draft's first day is `effective_from` (the day publishing is to write) or its own, and never
    before the first day publishing takes (`first_unjudged_day`): a copy of the version in force,
    dated January, had been previewed with its defaults applied to every obligation since January,
    which publishing (refusing the date) could never do. Such a day is moved, and `notes` says so.

    The draft is validated as `rules validate` does (a bad one raises with every problem), compiled
    with the practice parameters in force that day, and run on the plain-Python backend (the
    reference; both backends agree on every scenario). Rules of the draft not yet in force that day
    are left out, as an evaluation would leave them out."""
    from engine.rules.catalog import (
        compile_for,
        in_force,
        load_all,
        load_practice_params,
        params_in_force,
        practice_params_path,
        rulesets_dir,
    )
    from engine.rules.compiler.compile import compile_ruleset
    from engine.rules.loader import load_ruleset_bytes
    from engine.rules.param_history import history_of
    from engine.rules.publish import unix_lines
    from engine.rules.validate import validate_bytes

    draft = unix_lines(draft)  # as publishing writes it: the hash shown is the one it will have
    try:
        loaded: LoadedRuleset | None = load_ruleset_bytes(draft, name)
    except VigilError:
        loaded = None  # validation below names every problem
    notes: list[str] = []
    if loaded is not None:
        loaded, notes = _first_day_publishable(session, loaded, effective_from)
    # by default, judged now, or on the draft's first day if that is later, as the draft page does: a
    # draft in force from July had been judged as if it were in force today
    first = (dt.datetime.combine(loaded.spec.effective_from, dt.time(), tzinfo=dt.UTC) if loaded is not None
             else None)
    instant = (clock.ensure_utc(as_of) if as_of is not None
               else max(clock.now(), first) if first is not None else clock.now())
    day = instant.date()
    report = validate_bytes(draft, name, params_path=params_path, today=day)
    if not report.ok or loaded is None:
        raise RulesetValidationError(f"{name}: the draft does not validate", report.problems,
                                     code="ruleset.preview.invalid")
    framework = loaded.spec.framework
    source = str(params_path or practice_params_path())
    raw = load_practice_params(params_path, frameworks={framework})
    published = [i for i in load_all(rulesets_dir()) if i.spec.framework == framework]
    # each obligation judged by the values in force on the day it arose, as an evaluation would once
    # the draft is published (its defaults from its first day): a draft changing a default had been
    # previewed as changing the deadlines of obligations that arose long before
    history = history_of(loaded.spec, raw.get(framework) or {}, source, versions=[*published, loaded])
    compiled = compile_ruleset(loaded, params_in_force(raw, framework, day, source), overrides_source=source, on=day)
    compiled = dataclasses.replace(compiled, history=history) if history else compiled
    result = evaluate_rules(StoreSource(session, org_id), [compiled], instant, backend="python")
    stored = findings_service.open_identities(session, org_id=org_id, framework=framework)
    dismissed = findings_service.false_positive_identities(session, org_id=org_id, framework=framework)
    drafted = {v.identity: v for v in result.violations if v.identity not in dismissed}
    would_open = [_impact(v) for key, v in sorted(drafted.items()) if key not in stored]
    would_close = [ImpactItem(rule_id=r.rule_id, subject_type=r.subject_type, subject_id=r.subject_id,
                              occurrence_key=r.occurrence_key, status=r.status, due=r.due, message=r.message,
                              finding_id=r.id)
                   for key, r in sorted(stored.items()) if key not in drafted]
    would_change = []
    for key, v in sorted(drafted.items()):
        row = stored.get(key)
        if row is None:
            continue
        changes = _changes(row.status, row.due, row.severity, row.message, v)
        if changes:
            would_change.append(_impact(v, changes=changes).model_copy(update={"finding_id": row.id}))
    current = in_force(published, day, [framework])
    baseline = evaluate_rules(StoreSource(session, org_id), [
        compile_for(item, params_in_force(raw, framework, day, source), source, on=day,
                    history=history_of(item.spec, raw.get(framework) or {}, source, versions=published))
        for item in current], instant, backend="python") if current else None
    before = {v.identity: v for v in (baseline.violations if baseline else []) if v.identity not in dismissed}
    effect = DraftEffect(
        against=[i.spec.version for i in current],
        opens=[_impact(v) for key, v in sorted(drafted.items()) if key not in before],
        closes=[_impact(v) for key, v in sorted(before.items()) if key not in drafted],
        changes=[_impact(v, changes=c) for key, v in sorted(drafted.items())
                 if key in before and (c := _changes(before[key].state, before[key].due, before[key].severity,
                                                     before[key].message, v))])
    return DraftImpact(framework=framework, version=loaded.spec.version, as_of=instant,
                       in_force_now=[i.spec.version for i in current],
                       rules=len(compiled.rules), would_open=would_open, would_close=would_close,
                       would_change=would_change,
                       unchanged=len(result.violations) - len(would_open) - len(would_change), draft_effect=effect,
                       takes_effect=loaded.spec.effective_from, notes=notes)


def _first_day_publishable(session: Session, loaded: LoadedRuleset,
                           effective_from: dt.date | None) -> tuple[LoadedRuleset, list[str]]:
    """The draft as publishing would put it in force: from `effective_from` if given, and not before
    the first day publishing takes; with a note when its own date was moved."""
    spec = loaded.spec
    first = effective_from or spec.effective_from
    earliest = first_unjudged_day(session, framework=spec.framework, day=clock.now().date())
    notes = []
    if first < earliest:
        notes.append(f"effective_from {first} is before {earliest}, the first day a version can take effect "
                     f"(publishing refuses it): previewed as taking effect from {earliest}")
        first = earliest
    if first == spec.effective_from:
        return loaded, notes
    return dataclasses.replace(loaded, spec=spec.model_copy(update={"effective_from": first})), notes


def _impact(v: Violation, *, changes: list[str] | None = None) -> ImpactItem:
    """A violation as an item of a draft's impact."""
    return ImpactItem(rule_id=v.rule_id, subject_type=v.subject.type, subject_id=v.subject.id,
                      occurrence_key=v.occurrence_key, status=v.state, due=v.due, message=v.message,
                      changes=changes or [])


def _changes(status: str | None, due: str | None, severity: str | None, message: str | None,
             v: Violation) -> list[str]:
    """What differs between a finding (or a violation) as it is and violation `v`, in words."""
    return [f"{label} {old or '-'} -> {new or '-'}" for label, old, new in (
        ("status", status, v.state), ("due", due, v.due), ("severity", severity, v.severity))
        if old != new] + (["message"] if message != v.message else [])


def act_on_finding(session: Session, *, org_id: str, finding_id: str, action: str, actor: str,
                   reason: str | None = None) -> None:
    """Acknowledge, mark false positive or reopen a finding, and let its SOP task follow at once
    (`engine.tasks.sync.follow_findings`): a false positive's task closes now, not at the next sweep."""
    from engine.findings import lifecycle
    from engine.tasks import sync

    lifecycle.transition(session, org_id=org_id, finding_id=finding_id, action=action, actor=actor, reason=reason)
    sync.follow_findings(session, org_id=org_id, finding_ids=[finding_id], actor=actor)


def waive(session: Session, *, org_id: str, data: WaiverIn, actor: str,
          finding_id: str | None = None) -> tuple[Waiver, bool]:
    """Grant a waiver (`lifecycle.grant`: the waiver, and whether it is new) and close the open tasks
    of every finding it waives now."""
    from engine.findings import lifecycle
    from engine.tasks import sync

    waiver, created = lifecycle.grant(session, org_id=org_id, data=data, actor=actor, finding_id=finding_id)
    sync.follow_findings(session, org_id=org_id, actor=actor,
                         finding_ids=findings_service.ids_of_rule(session, org_id=org_id, rule_id=waiver.rule_id))
    return waiver, created


def expire_waivers(session: Session, *, org_id: str, at: dt.datetime, actor: str) -> list[str]:
    """Reopen the findings whose waiver has ended by `at`, and their closed tasks with them (the
    scheduler's quarter-hourly job; it had reopened the findings only, leaving their tasks closed
    until the night's sweep)."""
    from engine.findings import lifecycle
    from engine.tasks import sync

    reopened = lifecycle.expire_waivers(session, org_id=org_id, at=at, actor=actor)
    if reopened:
        sync.follow_findings(session, org_id=org_id, actor=actor, finding_ids=reopened)
    return reopened


def revoke_waiver(session: Session, *, org_id: str, waiver_id: str, actor: str, reason: str) -> Waiver:
    """End a waiver now; the findings it waived reopen, and their closed tasks with them."""
    return revoke_finding_waiver(session, org_id=org_id, waiver_id=waiver_id, actor=actor, reason=reason)[0]


def revoke_finding_waiver(session: Session, *, org_id: str, waiver_id: str, actor: str, reason: str,
                          finding_id: str | None = None) -> tuple[Waiver, list[str]]:
    """`revoke_waiver` and the findings it reopened (`lifecycle.revoke`). From a finding's page
    (`finding_id`), only while that finding is still under `waiver_id`: a form shown for one waiver
    must not revoke another granted since."""
    from engine.findings import lifecycle
    from engine.tasks import sync

    waiver, reopened = lifecycle.revoke(session, org_id=org_id, waiver_id=waiver_id, actor=actor, reason=reason,
                                        finding_id=finding_id)
    sync.follow_findings(session, org_id=org_id, actor=actor,
                         finding_ids=findings_service.ids_of_rule(session, org_id=org_id, rule_id=waiver.rule_id))
    return waiver, reopened


def assign_finding(session: Session, *, org_id: str, finding_id: str, actor: str, assignee: str) -> list[str]:
    """Give a finding to someone, and its open SOP tasks with it; returns the ids of the tasks moved.

    Why here: the finding's assignee and its task's owner are two domains' fields, and an assignee
    whose task list never shows the work (the task kept its role-picked owner) has not been given
    anything. A role cannot own a task (nobody would see it as theirs), so a finding given to a role
    hands each open task to the person policies/roles.yaml gives that role at the task's establishment
    (as a task opened for the role would be owned); a role with nobody there is refused rather than
    leaving the finding and its task with two owners. A task its owner already holds stays as it is."""
    from engine.auth import people
    from engine.findings import lifecycle
    from engine.tasks import service as tasks_service
    from engine.tasks.policy import staffed_roles
    from engine.tasks.schemas import TaskFilter

    row = lifecycle.assign(session, org_id=org_id, finding_id=finding_id, actor=actor, assignee=assignee)
    kind = people.kind_of(session, org_id=org_id, name=row.assignee or "")
    if kind not in ("person", "user", "role"):
        return []
    page = tasks_service.list_tasks(session, org_id=org_id, filters=TaskFilter(finding_id=finding_id, state="open"),
                                    limit=1000)
    roles = staffed_roles(session, org_id=org_id, as_of=clock.now()) if kind == "role" else None
    owners = {t.id: _owner_for(row.assignee or "", roles, t.establishment_id or row.establishment_id)
              for t in page.items}
    return [tasks_service.reassign_task(session, org_id=org_id, task_id=t.id, owner=owners[t.id], actor=actor).id
            for t in page.items if t.owner != owners[t.id]]


def _owner_for(assignee: str, roles: RolePolicy | None, establishment_id: str | None) -> str:
    """Who owns a task of a finding given to `assignee`: a person or user themself (`roles` None); a
    role's holder at the establishment, as roles.yaml picks a new task's owner (no fallback role: that
    would give the task to someone the finding was not given to). A role held by nobody there, or by
    someone who has left, is refused."""
    from engine.auth.people import ROLE_PREFIX

    if roles is None:
        return assignee
    role = assignee.removeprefix(ROLE_PREFIX)
    person = roles.person_for(role, establishment_id)
    left = roles.gone(person)
    if not person or left:
        where = f"establishment {establishment_id}" if establishment_id else "every establishment"
        holder = f"at {where} to {person}, who {left}" if left else f"to nobody at {where}"
        raise InputError(f"cannot assign the finding to {assignee!r}", [ErrorDetail(
            reason=f"policies/roles.yaml gives the role {role} {holder}, so its open task could not "
                   f"go along; assign a person or a user instead, or name who holds {role} there",
            field="assignee")], code="input.assignee")
    return person


def ingest_files(session: Session, *, org_id: str, paths: Sequence[str | Path], actor: str, fmt: str | None = None,
                 record_type: str | None = None, names: Sequence[str] | None = None,
                 progress: Callable[[int, int], None] | None = None, stream: bool = True) -> Any:
    """Import files; events are evaluated at once by the event rules in force (durable_rules)."""
    return _streamed(session, org_id=org_id, actor=actor, stream=stream, run_import=lambda on_batch, on_end: (
        records_service.import_files(session, org_id=org_id, paths=paths, fmt=fmt, record_type=record_type,
                                     actor=actor, names=names, progress=progress, on_batch=on_batch,
                                     on_end=on_end)))


def import_files(session: Session, *, org_id: str, paths: Sequence[str | Path], actor: str, fmt: str | None = None,
                 record_type: str | None = None, checked_at: dt.datetime | None = None,
                 checked_at_name: str = "--checked-at", leie_supplement: bool = False,
                 mapping: str | Path | None = None, names: Sequence[str] | None = None,
                 progress: Callable[[int, int], None] | None = None) -> ImportReport:
    """Import files of any format, the connectors' included: the one dispatch the CLI and the API
    share (each checks first, in its own words, that the options fit the format).

    `leie` screens the workforce in the store against the exclusion list (one screening a person; only
    the people they name when the files are OIG's monthly supplements, or `leie_supplement` says so);
    `roster` writes an HR roster's persons and employment episodes at the stored establishments;
    every other format is records, through `ingest_files`, so events are checked on arrival. `names`
    are what the caller calls the files, written as the records' `source` (an upload's own names:
    the server holds it at a temporary path); by default the paths."""
    from engine.records.connectors import hr_roster_import, leie_screen

    if fmt == "leie":
        return leie_screen.screen_files(session, org_id=org_id, paths=paths, actor=actor, checked_at=checked_at,
                                        checked_at_name=checked_at_name, supplement=leie_supplement,
                                        names=names, progress=progress)
    if fmt == "roster":
        return hr_roster_import.import_roster(session, org_id=org_id, paths=paths, actor=actor, mapping=mapping,
                                              names=names, progress=progress)
    report: ImportReport = ingest_files(session, org_id=org_id, paths=paths, actor=actor, fmt=fmt,
                                        record_type=record_type, names=names, progress=progress)
    return report


def ingest_records(session: Session, *, org_id: str, records: Sequence[dict[str, Any]], actor: str, source: str,
                   stream: bool = True) -> Any:
    """Import records given as dicts; events are evaluated at once, as `ingest_files` does."""
    return _streamed(session, org_id=org_id, actor=actor, stream=stream, run_import=lambda on_batch, on_end: (
        records_service.import_records(session, org_id=org_id, records=records, actor=actor, source=source,
                                       on_batch=on_batch, on_end=on_end)))


def _streamed(session: Session, *, org_id: str, actor: str, stream: bool,
              run_import: Callable[[Any, Any], Any]) -> Any:
    """Run an import with the live stream fed by it (when `stream`); a failed import leaves no
    stream process behind."""
    from engine.stream import EventStream

    if not stream:
        return run_import(None, None)
    streamer = EventStream(session, org_id=org_id, actor=actor)
    try:
        report = run_import(streamer.on_batch, streamer.drain)
        streamer.finish()
    finally:
        streamer.close()
    return report



def _refuse_if_judged(session: Session, *, org_id: str, framework: str, day: dt.date, field: str,
                      change: str) -> None:
    """Refuse a liaison's change in force from `day` when runs already judged the framework as of that
    day or later: rules and parameters are chosen by day, so those runs would no longer be
    reproducible (the same reason a back-dated change is refused). The rulesets and parameters are
    the deployment's, so every organization's runs count; the caller's are named, the others only
    counted (their ids are another practice's). Why here: the change is the rules domain's, the
    runs the findings domain's."""
    from engine.findings import service as findings_service

    runs = findings_service.applied_runs_from(session, framework=framework, day=day)
    if not runs:
        return
    last = max(r.as_of for r in runs).date()
    own = [r.id for r in runs if r.org_id == org_id]
    others = len(runs) - len(own)
    said = [", ".join(own[:3]) + (f" and {len(own) - 3} more" if len(own) > 3 else "")] if own else []
    if others:
        said.append(f"{others} of other organizations of this deployment")
    raise InputError(f"{change} would change what runs already made found", [ErrorDetail(
        reason=f"{len(runs)} evaluation run(s) judged {framework} as of {day} or later ({'; '.join(said)}); they would "
               f"no longer be reproducible: choose {last + dt.timedelta(days=1)} or later", field=field)],
        code="ruleset.change.judged")


def _append_everywhere(session: Session, *, org_id: str, actor: str, action: str, entity_type: str,
                       entity_id: str, payload: dict[str, Any]) -> None:
    """Record a liaison's change in the trail of every organization of the database, not only the
    one it was made from: rulesets and `policies/practice.yaml` are one per deployment, so the change
    applies to each, and each practice's auditor must find it in that practice's chain. Each entry
    names the organization the change was made from and all it was recorded for."""
    from engine.audit import service as audit
    from engine.db import org_ids

    orgs = sorted(set(org_ids(session.connection())) | {org_id})
    for org in [org_id] + [o for o in orgs if o != org_id]:
        audit.append(session, org_id=org, actor=actor, action=action, entity_type=entity_type, entity_id=entity_id,
                     payload={**payload, "made_in_org": org_id, "recorded_for_orgs": orgs})


def publish_ruleset(session: Session, *, org_id: str, actor: str, draft: bytes, name: str,
                    effective_from: dt.date | None = None) -> Any:
    """Publish a ruleset version (`engine.rules.publish`) and record it in the audit trail.

    Why here: the file is the rules domain's and the trail is the audit domain's. The entry is
    appended before the file is written, in the caller's transaction, so a failed write leaves no
    entry behind (the transaction rolls back) and a written file always has its entry."""
    from engine.rules import publish

    def judged(loaded: LoadedRuleset) -> None:  # named with the draft's other problems, not after them
        spec = loaded.spec
        _refuse_if_judged(session, org_id=org_id, framework=spec.framework, day=spec.effective_from,
                          field="effective_from", change=f"{spec.framework} {spec.version} in force from "
                                                         f"{spec.effective_from}")

    with publish.changes_locked():  # checked against the files as the other writers leave them
        plan = publish.plan_publication(draft, name=name, effective_from=effective_from, check=judged)
        pub = plan.publication
        _append_everywhere(session, org_id=org_id, actor=actor, action="ruleset.published", entity_type="ruleset",
                           entity_id=f"{pub.framework}@{pub.version}", payload=pub.model_dump(mode="json"))
        publish.write_publication(plan)
    return pub


def withdraw_ruleset(session: Session, *, org_id: str, actor: str, framework: str, version: str | None,
                     reason: str, on: dt.date | None = None) -> Any:
    """Withdraw a version from `on` (default today); with no version, the one in force that day (a
    rollback to the version before it). Recorded in the audit trail, as `publish_ruleset` is."""
    from engine.rules import publish

    with publish.changes_locked():  # checked against the files as the other writers leave them
        version = version or publish.in_force_version(framework, on or clock.now().date())
        plan = publish.plan_withdrawal(framework, version, reason=reason, by=actor, on=on)
        moving = f" (moving its withdrawal from {plan.result.moved_from})" if plan.result.moved_from else ""
        _refuse_if_judged(session, org_id=org_id, framework=framework, day=plan.first_day,
                          field="on", change=f"withdrawing {framework} {version} from {plan.result.on}{moving}")
        _append_everywhere(session, org_id=org_id, actor=actor, action="ruleset.withdrawn", entity_type="ruleset",
                           entity_id=f"{framework}@{version}", payload=plan.result.model_dump(mode="json"))
        publish.write_withdrawal(plan)
    return plan.result


def first_unjudged_day(session: Session, *, framework: str, day: dt.date) -> dt.date:
    """`day`, or the day after the last an applied run judged `framework` as of, if later: the first
    day a change can take effect without making a run irreproducible (`_refuse_if_judged`). With a
    sweep every few hours, "from today" was refused nearly always, naming the day to type instead."""
    from engine.findings import service as findings_service

    runs = findings_service.applied_runs_from(session, framework=framework, day=day)
    return max([day] + [clock.ensure_utc(r.as_of).date() + dt.timedelta(days=1) for r in runs])


def set_practice_param(session: Session, *, org_id: str, actor: str, framework: str, name: str, value: Any,
                       approved_by: str, reason: str, effective_from: dt.date | None = None) -> Any:
    """Change a practice parameter from a day on (`engine.rules.tuning`), recorded in the audit trail."""
    from engine.rules import calendar as cal
    from engine.rules import tuning
    from engine.tasks import store

    # the practice's day, not UTC's: at 19:30 in Chicago it is still the day the officer means by today
    today = cal.local_date(clock.now(), store.default_zone(store.establishment_zones(session, org_id=org_id)))
    if effective_from is None:  # today, unless a run has judged it: then the first day none has
        effective_from = first_unjudged_day(session, framework=framework, day=today)
    plan = tuning.plan_change(framework, name, value, approved_by=approved_by, reason=reason,
                              effective_from=effective_from, today=today)
    _refuse_if_judged(session, org_id=org_id, framework=framework, day=plan.change.effective_from,
                      field="effective_from",
                      change=f"{framework}.{name} = {value!r} from {plan.change.effective_from}")
    _append_everywhere(session, org_id=org_id, actor=actor, action="parameter.changed", entity_type="parameter",
                       entity_id=f"{framework}.{name}", payload=plan.change.model_dump(mode="json"))
    tuning.write_change(plan)
    return plan.change


#: The most cited records a finding's page or GET /findings/{id}/records returns.
CITED_RECORDS_LIMIT = 200


def verify_audit(session: Session, *, org_id: str | None,
                 progress: Callable[[int, int], None] | None = None) -> AuditVerifyReport:
    """The audit chain recomputed (one org's, or every one), and every packet and evaluation run
    checked for the entry written with it: a chain whose newest entries were deleted still links
    up, but those rows still name them (docs/audit.md). Then every stored record version against
    its content hash and its import's entry (`progress(versions_done, versions_total)`), every
    finding, waiver and run against its history and the chain (`engine.findings.integrity`), and
    every user, auditor grant and API token against its entries (`engine.auth.integrity`), and every
    ruleset version against what was released, published and used (`ruleset_integrity`)."""
    from engine.audit import service as audit_service
    from engine.auth import integrity as accounts_integrity
    from engine.findings import integrity as findings_integrity
    from engine.packets import service as packets_service

    anchored = chain(findings_service.audit_anchors(session, org_id=org_id),
                     packets_service.audit_anchors(session, org_id=org_id))
    report = audit_service.verify(session, org_id=org_id, anchored=anchored)
    checked, altered = records_service.verify_versions(session, org_id=org_id, progress=progress,
                                                       limit=max(0, 100 - len(report.broken)))
    report = report.with_records(checked, altered)
    findings_checked, unexplained = findings_integrity.check_findings(session, org_id=org_id,
                                                                      limit=max(0, 100 - len(report.broken)))
    for check in (findings_integrity.check_waivers, findings_integrity.check_runs):
        _, more = check(session, org_id=org_id, limit=max(0, 100 - len(report.broken) - len(unexplained)))
        unexplained += more
    report = report.with_findings(findings_checked, unexplained)
    accounts_checked, altered_accounts = accounts_integrity.check_accounts(session, org_id=org_id,
                                                                           limit=max(0, 100 - len(report.broken)))
    report = report.with_accounts(accounts_checked, altered_accounts)
    return report.with_rulesets(ruleset_integrity.breaks(session, org_id=org_id))


def upgrade_database(engine: Engine) -> SchemaChange | None:
    """Bring the database's schema to this Vigil's and, when an existing database moved, record it in
    the trail of every organization in it: an auditor reading a practice's chain sees from which
    entry on a newer Vigil wrote it (the upgrade is the deployment's, like a published ruleset)."""
    from engine import __version__, db
    from engine.audit import service as audit_service

    change = db.init_db(engine)
    if change is None:
        return None
    with db.unit_of_work(engine) as session:
        for org in db.org_ids(session.connection()):
            audit_service.append(session, org_id=org, actor="system:upgrade", action="database.upgraded",
                                 entity_type="database", entity_id=change.after,
                                 payload={"from_revision": change.before, "to_revision": change.after,
                                          "vigil_version": __version__})
    return change


def cited_records(session: Session, *, org_id: str, finding_id: str, scope: Any = None, offset: int = 0,
                  limit: int = CITED_RECORDS_LIMIT, finding: Any = None) -> tuple[list[Any], int]:
    """The record versions a finding cites as its evidence, each as it was stored at that version,
    from the `offset`-th citation, at most `limit` of them; and how many the finding cites.

    Why here: the finding is the findings domain's, the versions the records domain's. An auditor
    holds no `records.read` (they would see every record of the practice), yet must be able to read
    the exact records a finding in their grant was raised on; `scope` keeps findings outside the
    grant not found. The versions are read per record type in batches: one statement per record
    had made a measure finding's page 210 queries, and its list had stopped at 200 without a word."""
    if finding is None:
        finding = findings_service.get_finding(session, org_id=org_id, finding_id=finding_id, scope=scope)
    cited = [(str(c.get("type")), str(c.get("id")), c.get("version")) for c in finding.evidence[offset:offset + limit]
             if c.get("type") and c.get("id")]
    histories: dict[tuple[str, str], list[Any]] = {}
    for record_type in sorted({t for t, _i, _v in cited}):
        try:
            found = records_service.record_histories(session, org_id=org_id, record_type=record_type,
                                                     record_ids=sorted({i for t, i, _v in cited if t == record_type}))
        except VigilError:  # a record type no longer known: the citations stay, without content
            continue
        histories.update({(record_type, rid): versions for rid, versions in found.items()})
    out = []
    for record_type, record_id, version in cited:
        versions = histories.get((record_type, record_id), [])
        chosen = next((v for v in versions if v.version == version), versions[-1] if version is None and versions
                      else None)
        if chosen is not None:
            out.append(chosen)
    return out, len(finding.evidence)
