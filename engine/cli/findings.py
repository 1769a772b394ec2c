"""`vigil findings ...`: list, show, acknowledge, comment, mark false positive, close, waive, list and
revoke waivers (`vigil runs` is in `engine.cli.runs`)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, get_args

import typer

from engine import filter_values, timefmt
from engine.auth.roles import Permission
from engine.cli import tables
from engine.cli.app import app, console, emit_json, run
from engine.cli.common import (
    DbOpt,
    JsonOpt,
    OrgOpt,
    cli_actor,
    filter_value,
    iso_z,
    nonblank,
    open_org,
    out_file,
    parse_instant,
    write_lines,
)
from engine.cli.pages import paged_title, print_pages
from engine.errors import ErrorDetail, InputError

if TYPE_CHECKING:
    from engine.findings.schemas import Finding, FindingFilter, Waiver

findings_app = typer.Typer(help="Findings: review and act on them.", no_args_is_help=True)
app.add_typer(findings_app, name="findings")

LimitOpt = Annotated[int, typer.Option("--limit", min=1, max=1000, help="how many, newest first (1-1000)")]
IdArg = Annotated[str, typer.Argument(metavar="FINDING_ID", help="the finding's id (see `vigil findings list`), or "
                                                                  "its start if no other id starts so (F-3fa9c1)")]



def full_id(session: Any, org_id: str, given: str) -> str:
    """The finding id `given` names, or the one id it starts (`engine.cli.ids`)."""
    from engine.cli.ids import FINDING, whole_id

    return whole_id(session, org_id, given, FINDING, field="FINDING_ID")


FrameworkOpt = Annotated[str | None, typer.Option("--framework", help="only this framework, e.g. hipaa")]
SeverityOpt = Annotated[str | None, typer.Option("--severity", help="low, medium, high or critical (comma-separated)")]
StateOpt = Annotated[str | None, typer.Option(
    "--state", help="lifecycle states, comma-separated: open,acknowledged,resolved,waived,false_positive, or "
                    "all; default open,acknowledged (what needs attention, as the web list and the "
                    "dashboard count)")]
StatusOpt = Annotated[str | None, typer.Option(
    "--status", help="deadline statuses, comma-separated: due_soon,overdue,violation")]
EstablishmentOpt = Annotated[str | None, typer.Option("--establishment", help="only this establishment id")]
OrgWideOpt = Annotated[bool, typer.Option("--org-wide", help="only findings tied to no establishment "
                                                             "(practice-wide duties)")]
RuleOpt = Annotated[str | None, typer.Option("--rule", help="only this rule id, e.g. HIPAA-BRN-IND-011")]
AssigneeOpt = Annotated[str | None, typer.Option(
    "--assignee", help="assigned to these users, people or roles (comma-separated); none: to nobody")]
SortOpt = Annotated[str, typer.Option(
    "--sort", help="newest (first opened last), severity (critical first) or due (nearest due date first)")]


#: --actor on a command that acts: a user whose role may do it (recorded user:<name>), or a cli: label
ActorOpt = Annotated[str | None, typer.Option("--actor", help="who is acting, for the history and audit trail: a "
                                                            "username (or the person id their account stands for) "
                                                            "whose role may do it, recorded user:<name>, or a "
                                                            "cli:<label>; any other name is refused (default: "
                                                            "VIGIL_ACTOR, else cli:<login>)")]


@findings_app.command("list")
def list_findings(
    framework: FrameworkOpt = None,
    severity: SeverityOpt = None,
    state: StateOpt = None,
    status: StatusOpt = None,
    establishment: EstablishmentOpt = None,
    org_wide: OrgWideOpt = False,
    rule: RuleOpt = None,
    assignee: AssigneeOpt = None,
    sort: SortOpt = "newest",
    limit: LimitOpt = 100,
    cursor: Annotated[str | None, typer.Option(
        "--cursor", help="the next page: next_cursor (or prev_cursor) of the --json output before")] = None,
    org: OrgOpt = None,
    db: DbOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """List findings, newest first (or as --sort says): the open and acknowledged ones unless --state
    says otherwise (--state all for every state); more than --limit page on with --cursor."""
    from engine.db import unit_of_work
    from engine.findings import service

    def body():  # type: ignore[no-untyped-def]
        filters = _filters(framework=framework, severity=severity, state=state, status=status,
                           establishment=establishment, org_wide=org_wide, rule=rule, assignee=assignee)
        engine, org_id = open_org(db, org)
        with unit_of_work(engine) as s:
            found = service.list_findings(  # the service checks every value, as for the API's filters
                s, org_id=org_id, limit=limit, filters=filters, sort=sort, cursor=cursor)
            return found, tables.due_zones(s, org_id)

    page, zones = run(body)
    if as_json:
        emit_json(page.model_dump(mode="json"))
        return
    listing = tables.table(tables.keep("id\nrule"), tables.keep("severity\nstatus"), tables.keep("state\ndue"),
                           tables.squeeze("subject\ntitle"), title=paged_title(len(page.items), page.total, "finding"))
    for f in page.items:
        listing.add_row(tables.stacked(f.id, f.rule_id), tables.stacked(f.severity, f.status),
                        tables.stacked(f.state, tables.due_shown(f.due, zones, f.establishment_id)),
                        tables.Clamp(f.title, above=_subject(f)))
    console.print(listing)
    if state is None:
        console.print("open and acknowledged findings only; --state all lists every state", highlight=False,
                      markup=False)
    print_pages("vigil findings list", "the same filters and --sort", next_cursor=page.next_cursor,
                has_prev=page.has_prev, prev_cursor=page.prev_cursor)


#: What `vigil findings list` lists without --state: what needs attention, as the web list and the
#: dashboard count it (`engine.findings.service.OPEN_STATES`).
DEFAULT_STATES = "open,acknowledged"


def _states(state: str | None) -> str | None:
    """The --state filter for the service: the default open,acknowledged when not given, None (every
    state) for `all`, else the states as given (the service checks each)."""
    if state is None:
        return DEFAULT_STATES
    filter_value(state, "--state")
    words = [w.strip() for w in state.split(",")]
    if "all" in words:
        if len(words) > 1:
            raise InputError("--state all stands alone", [ErrorDetail(
                reason="all is every state: give it alone, or name the states", field="--state")],
                code="input.choice")
        return None
    return state


def _filters(*, framework: str | None, severity: str | None, state: str | None, status: str | None,
             establishment: str | None, org_wide: bool, rule: str | None, assignee: str | None) -> FindingFilter:
    """The options of `findings list` (and `findings export`) as the service's filter, after the
    checks only the command line needs (a blank value, --state all, a status given as a state); the
    service checks every value as for the API's filters."""
    from engine.findings.schemas import FindingFilter

    _no_status_as_state(state)
    states = _states(state)
    if framework is not None:
        nonblank(framework, "--framework")  # "" is no framework, not every framework
        filter_values.check_count("--framework", [framework])
    for value, option in ((severity, "--severity"), (status, "--status"), (establishment, "--establishment"),
                          (rule, "--rule"), (assignee, "--assignee")):
        filter_value(value, option)
    return FindingFilter(framework=framework, severity=severity, state=states, status=status,
                         establishment_id=establishment, org_wide=org_wide, rule_id=rule, assignee=assignee)


@findings_app.command("export")
def export(
    framework: FrameworkOpt = None,
    severity: SeverityOpt = None,
    state: StateOpt = None,
    status: StatusOpt = None,
    establishment: EstablishmentOpt = None,
    org_wide: OrgWideOpt = False,
    rule: RuleOpt = None,
    assignee: AssigneeOpt = None,
    sort: SortOpt = "newest",
    out: Annotated[Path | None, typer.Option("--out", help="write the CSV here (default: stdout)")] = None,
    org: OrgOpt = None,
    db: DbOpt = None,
) -> None:
    """Write every finding `vigil findings list` would list with the same options as CSV (UTF-8, a
    header row; columns in docs/api.md), however many there are: to --out, or to stdout."""
    from engine.db import unit_of_work
    from engine.findings import export as findings_export

    def body() -> None:
        filters = _filters(framework=framework, severity=severity, state=state, status=status,
                           establishment=establishment, org_wide=org_wide, rule=rule, assignee=assignee)
        target = out_file(out) if out is not None else None
        engine, org_id = open_org(db, org)
        with unit_of_work(engine) as s:
            lines = findings_export.findings_csv(s, org_id=org_id, filters=filters, sort=sort)  # checks the filters
            write_lines(lines, target)

    run(body)


def _subject(f: Finding) -> str:
    """The record a finding is about, and which of its findings of that rule (a clinician's
    license in one state: `person/P1 · NV`)."""
    return f"{f.subject_type}/{f.subject_id}" + (f" · {f.occurrence_key}" if f.occurrence_key else "")


def _no_status_as_state(state: str | None) -> None:
    """`--state due_soon` mixes up the two axes: a finding's state is its lifecycle, its status the
    deadline's (due_soon, overdue, violation); say which option takes the value."""
    from engine.findings.schemas import LifecycleState
    from engine.rules.schemas import DeadlineStatus

    statuses = get_args(DeadlineStatus)
    misplaced = [value.strip() for value in (state or "").split(",") if value.strip() in statuses]
    if misplaced:
        raise InputError(
            "; ".join(f"--state: {value!r} is a finding's status, not a state; use --status {value}"
                      for value in misplaced),
            [ErrorDetail(reason=f"states: {', '.join(get_args(LifecycleState))}; "
                                f"statuses (--status): {', '.join(statuses)}", field="--state")],
            code="input.choice",
        )


@findings_app.command("show")
def show(finding_id: IdArg, org: OrgOpt = None, db: DbOpt = None, as_json: JsonOpt = False) -> None:
    """Show a finding: why it fired, its evidence, who it is assigned to, the waiver that sets it aside,
    its SOP tasks and its history."""
    from engine.db import unit_of_work
    from engine.findings import service
    from engine.tasks import service as tasks_service
    from engine.tasks.schemas import TaskFilter

    def body():  # type: ignore[no-untyped-def]
        engine, org_id = open_org(db, org)
        with unit_of_work(engine) as s:
            f = service.get_finding(s, org_id=org_id, finding_id=full_id(s, org_id, finding_id))
            if as_json:
                return f, None, [], {}
            waiver = next((w for w in service.list_waivers(s, org_id=org_id) if w.id == f.waiver_id), None) \
                if f.waiver_id else None
            tasks = tasks_service.list_tasks(s, org_id=org_id, filters=TaskFilter(finding_id=f.id), limit=20).items
            return f, waiver, tasks, tables.due_zones(s, org_id)

    f, waiver, tasks, zones = run(body)
    if as_json:
        emit_json(f.model_dump(mode="json"))
        return
    console.print(f"[bold]{f.rule_id}[/] {f.title}  ({f.citation})")
    due = tables.due_shown(f.due, zones, f.establishment_id)
    console.print(f"{f.severity} · {f.status} · {f.state} · due {due} · {_subject(f)}")
    if f.state == "resolved":
        console.print(_resolution(f), highlight=False, markup=False, soft_wrap=True)
    console.print(f"assigned to {f.assignee or '-'}", highlight=False, markup=False)
    console.print(f.message)
    deadline = f.facts.get("deadline") if isinstance(f.facts, dict) else None
    if deadline:
        console.print(f"deadline: {deadline.get('explanation')}")
    console.print("evidence: " + ", ".join(f"{e['type']}/{e['id']} v{e['version']}" for e in f.evidence))
    if waiver is not None:
        console.print(_waiver_line(waiver), highlight=False, markup=False, soft_wrap=True)
    elif f.waiver_id:
        console.print(f"waiver {f.waiver_id}", highlight=False, markup=False)
    for t in tasks:
        console.print(f"SOP task {t.id} ({t.sop}): {t.state}{' (overdue)' if t.overdue else ''}, due "
                      f"{timefmt.task_due_text(t.due, t.due_at, t.tz)}, owner {t.owner or '-'}: {t.title}",
                      highlight=False, markup=False, soft_wrap=True)
    if not tasks:
        console.print(f"SOP task: none ({f.sop or 'no SOP'})", highlight=False, markup=False)
    for h in f.history:
        console.print(f"  {_history_line(h)}", highlight=False, markup=False, soft_wrap=True)


def _history_line(h: Any) -> str:
    """One entry of a finding's history as people read it: "2026-12-07 06:03:56 UTC run: open -> resolved:
    why". It had printed the raw instant to the microsecond and "transition ->open" for a new finding."""
    if h.kind == "transition":
        what = f"{h.from_state} -> {h.to_state}" if h.from_state else f"new -> {h.to_state}"
    else:
        what = h.kind
    return f"{timefmt.utc_seconds(h.at)} {h.actor}: {what}" + (f": {h.reason}" if h.reason else "")


def _resolution(f: Finding) -> str:
    """Who resolved a finding: the run whose records cleared it, or the person who closed it (and why)."""
    if f.resolved_by_run:
        return f"resolved {iso_z(f.resolved_at.replace(microsecond=0)) if f.resolved_at else ''} by run " \
               f"{f.resolved_by_run}"
    closed = next((h for h in reversed(f.history) if h.to_state == "resolved"), None)
    if closed is None:
        return "resolved"
    return f"closed {iso_z(closed.at.replace(microsecond=0))} by {closed.actor}: {closed.reason or ''}".rstrip(": ")


def _waiver_line(w: Waiver) -> str:
    """The waiver a finding names, as its web page says it: in force through which day (a UTC
    midnight end reads as the day it runs through, `waiver_checks.end_text`, as the finding's
    history says it), or ended (the finding reopens at the next evaluation or waiver check)."""
    from engine import clock
    from engine.findings.waiver_checks import end_text

    said = f"approved by {w.approver}, granted by {w.created_by}: {w.reason}"
    if w.revoked_at is not None and w.revoked_at <= clock.now():
        return (f"waiver {w.id} revoked {iso_z(w.revoked_at.replace(microsecond=0))} ({said}); the finding reopens "
                "at the next evaluation or waiver check")
    if w.ends_at <= clock.now():
        return (f"waiver {w.id} ended: it ran {end_text(w.ends_at)} ({said}); the finding reopens at the next "
                "evaluation or waiver check")
    return f"waiver in force: {w.id} {end_text(w.ends_at)} ({said})"


def _act(finding_id: str, action: str, reason: str | None, actor: str | None, org: str | None, db: str | None,
         as_json: bool) -> None:
    from engine import pipeline

    _change(finding_id, lambda s, org_id, who, fid: pipeline.act_on_finding(
        s, org_id=org_id, finding_id=fid, action=action, actor=who, reason=reason), f"{action} done",
        actor, org, db, as_json)


def _who(session: Any, org_id: str, actor: str | None, permission: Permission) -> str:
    """The actor recorded: --actor as `engine.cli.actors.finding_actor` reads it, else VIGIL_ACTOR or
    the login (`cli_actor`)."""
    if actor is None:
        return cli_actor()
    from engine.cli.actors import finding_actor

    return finding_actor(session, org_id=org_id, who=nonblank(actor, "--actor").strip(), permission=permission)


def _change(finding_id: str, work: Callable[[Any, str, str, str], object], done: str, actor: str | None,
            org: str | None, db: str | None, as_json: bool) -> None:
    """Do one change to a finding in one transaction, as the actor, then print the finding as it is
    now (--json) or a line. `work` gets the session, org, actor and the finding's whole id."""
    from engine.db import unit_of_work
    from engine.findings import service

    def body():  # type: ignore[no-untyped-def]
        engine, org_id = open_org(db, org)
        with unit_of_work(engine) as s:
            fid = full_id(s, org_id, finding_id)
            work(s, org_id, _who(s, org_id, actor, Permission.FINDINGS_UPDATE), fid)
            return service.get_finding(s, org_id=org_id, finding_id=fid)

    f = run(body)
    if as_json:
        emit_json(f.model_dump(mode="json"))
        return
    console.print(f"{f.id}: {done} ({f.state}, {f.status})", highlight=False, markup=False)


@findings_app.command("ack")
def ack(finding_id: IdArg,
        reason: Annotated[str | None, typer.Option("--reason", help="why, or what happens next (kept in the "
                                                                    "finding's history)")] = None,
        actor: ActorOpt = None, org: OrgOpt = None, db: DbOpt = None, as_json: JsonOpt = False) -> None:
    """Acknowledge a finding (prints the finding as it is now with --json)."""
    _act(finding_id, "acknowledge", reason.strip() if reason and reason.strip() else None, actor, org, db, as_json)


@findings_app.command("false-positive")
def false_positive(
    finding_id: IdArg,
    reason: Annotated[str, typer.Option("--reason", help="why the finding is wrong (required, not blank)")],
    actor: ActorOpt = None,
    org: OrgOpt = None,
    db: DbOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Mark a finding as a false positive (a reason is required)."""
    run(lambda: nonblank(reason, "--reason"))
    _act(finding_id, "false_positive", reason.strip(), actor, org, db, as_json)


@findings_app.command("reopen")
def reopen(
    finding_id: IdArg,
    reason: Annotated[str | None, typer.Option("--reason", help="why the finding is open again")] = None,
    actor: ActorOpt = None,
    org: OrgOpt = None,
    db: DbOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Reopen an acknowledged, false-positive or closed finding (a waived one is reopened by revoking its
    waiver)."""
    _act(finding_id, "reopen", reason.strip() if reason else None, actor, org, db, as_json)


@findings_app.command("close")
def close(
    finding_id: IdArg,
    reason: Annotated[str, typer.Option("--reason", help="what was done about it (required, not blank; kept in the "
                                                        "finding's history)")],
    actor: ActorOpt = None,
    org: OrgOpt = None,
    db: DbOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Close a finding about something that has happened and cannot be undone (an event rule's finding,
    a deadline met late) once it has been dealt with: it stays resolved while the rule reports the
    same thing, and its SOP task closes (a done one is confirmed). Any other finding resolves by
    itself when its records show the obligation met."""
    run(lambda: nonblank(reason, "--reason"))
    _act(finding_id, "close", reason.strip(), actor, org, db, as_json)


@findings_app.command("assign")
def assign(
    finding_id: IdArg,
    assignee: Annotated[str, typer.Argument(help="a user, a person id or a role of policies/roles.yaml",
                                            show_default=False)],
    actor: ActorOpt = None,
    org: OrgOpt = None,
    db: DbOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Give a finding to someone; its open SOP tasks go with it (given to a role, to the role's holder at
    the finding's establishment per policies/roles.yaml; a role held by nobody there is refused)."""
    from engine import pipeline

    _change(finding_id, lambda s, org_id, who, fid: pipeline.assign_finding(
        s, org_id=org_id, finding_id=fid, actor=who, assignee=assignee),
        f"assigned to {assignee.strip()}", actor, org, db, as_json)


@findings_app.command("comment")
def comment(
    finding_id: IdArg,
    text: Annotated[str, typer.Argument(help="the comment (not blank)", show_default=False)],
    actor: ActorOpt = None,
    org: OrgOpt = None,
    db: DbOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Add a comment to a finding's history."""
    from engine.findings import lifecycle

    run(lambda: nonblank(text, "TEXT"))
    _change(finding_id, lambda s, org_id, who, fid: lifecycle.comment(
        s, org_id=org_id, finding_id=fid, actor=who, text=text.strip()), "comment added", actor, org, db,
        as_json)


@findings_app.command("waive")
def waive(
    finding_id: IdArg,
    until: Annotated[str, typer.Option("--until", help="when the waiver ends: ISO 8601 instant with an offset, "
                                                      "e.g. 2027-01-01T00:00:00Z")],
    reason: Annotated[str, typer.Option("--reason", help="why the rule may be set aside (at least 3 characters)")],
    approver: Annotated[str, typer.Option("--approver", "--approved-by",
                                          help="who approved the waiver (not blank; --approved-by as `params set` "
                                               "says it)")],
    establishment: Annotated[str | None, typer.Option("--establishment",
                                                      help="waive for a whole establishment")] = None,
    actor: ActorOpt = None,
    org: OrgOpt = None,
    db: DbOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Waive a finding's rule for its subject (or an establishment) until an instant."""
    from engine import pipeline
    from engine.db import unit_of_work
    from engine.findings.schemas import WaiverIn

    def body():  # type: ignore[no-untyped-def]
        problems: list[ErrorDetail] = []  # every bad option at once, not one per attempt
        ends = None
        for check in (lambda: parse_instant(until, "--until"), lambda: nonblank(approver, "--approver")):
            try:
                value = check()
                ends = value if isinstance(value, dt.datetime) else ends
            except InputError as exc:
                said = "; ".join(d.reason for d in exc.details)
                problems.append(ErrorDetail(reason=f"{exc.message}{': ' + said if said else ''}"))
        if len(reason.strip()) < 3:
            problems.append(ErrorDetail(reason="--reason: String should have at least 3 characters: why may the rule "
                                               "be set aside?"))
        if problems:
            raise InputError(f"{len(problems)} problem{'s' if len(problems) > 1 else ''} with the waiver", problems,
                             code="input.waiver")
        assert ends is not None
        data = WaiverIn(ends_at=ends, reason=reason.strip(), approver=approver.strip(), establishment_id=establishment)
        engine, org_id = open_org(db, org)
        with unit_of_work(engine) as s:
            fid = full_id(s, org_id, finding_id)
            return pipeline.waive(s, org_id=org_id, actor=_who(s, org_id, actor, Permission.FINDINGS_WAIVE),
                                  finding_id=fid, data=data)[0], fid

    w, fid = run(body)
    if as_json:
        emit_json(w.model_dump(mode="json"))
        return
    from engine.findings.lifecycle import reach
    from engine.findings.waiver_checks import end_text

    console.print(f"waiver {w.id} {end_text(w.ends_at)}: {reach(w, fid)}", highlight=False, markup=False)


@findings_app.command("waivers")
def waivers(org: OrgOpt = None, db: DbOpt = None, as_json: JsonOpt = False) -> None:
    """List waivers, oldest first: what each covers, until when, why, who approved, and any revocation."""
    from engine.db import unit_of_work
    from engine.findings import service

    def body():  # type: ignore[no-untyped-def]
        engine, org_id = open_org(db, org)
        with unit_of_work(engine) as s:
            return service.list_waivers(s, org_id=org_id)

    items = run(body)
    if as_json:
        emit_json([w.model_dump(mode="json") for w in items])
        return
    # the ids, the scope and the period stacked in two narrow columns, so the reason and the approver
    # keep the width that is left: four columns had left them none at 80 columns (or piped), and a
    # revocation's free text in the period column had cut the ids to "W-3"
    listing = tables.table(tables.keep("waiver\nrule\ncovers"), tables.keep("from\nuntil"),
                           tables.squeeze("reason (approved by)"),
                           title=tables.counted(len(items), len(items), "waiver"))
    from engine.findings.waiver_checks import end_text, last_day

    for w in items:
        # "through 2026-12-09 (UTC)", as the finding's history says it; another instant to the second
        until = end_text(w.ends_at) if last_day(w.ends_at) else f"until {iso_z(w.ends_at.replace(microsecond=0))}"
        said = f"{w.reason} (approved by {w.approver})"
        if w.revoked_at is not None:
            until = f"revoked {iso_z(w.revoked_at.replace(microsecond=0))}"
            said = f"REVOKED by {w.revoked_by}: {w.revoke_reason}. Granted: {said}"
        covers = [w.subject_type, w.subject_id] if w.subject_id else ["establishment", w.establishment_id]
        listing.add_row(tables.stacked(w.id, w.rule_id, *covers,
                                       f"waives {len(w.findings)} finding{'' if len(w.findings) == 1 else 's'}"),
                        tables.stacked(iso_z(w.starts_at.replace(microsecond=0)), until),
                        tables.Clamp(said, 4))
    console.print(listing)


@findings_app.command("revoke-waiver")
def revoke_waiver(
    waiver_id: Annotated[str, typer.Argument(metavar="WAIVER_ID",
                                             help="the waiver's id (see `vigil findings waivers`)")],
    reason: Annotated[str, typer.Option("--reason", help="why the waiver ends early (at least 3 characters)")],
    actor: ActorOpt = None,
    org: OrgOpt = None,
    db: DbOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """End a waiver now: the findings it waives reopen at once."""
    from engine import pipeline
    from engine.db import unit_of_work

    def body():  # type: ignore[no-untyped-def]
        engine, org_id = open_org(db, org)
        with unit_of_work(engine) as s:
            return pipeline.revoke_waiver(s, org_id=org_id, waiver_id=waiver_id,
                                          actor=_who(s, org_id, actor, Permission.FINDINGS_WAIVE), reason=reason)

    w = run(body)
    emit_json(w.model_dump(mode="json")) if as_json else console.print(f"waiver {w.id} revoked", highlight=False)
