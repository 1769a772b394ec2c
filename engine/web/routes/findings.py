"""Findings pages: the filtered, keyset-paged list (with saved views in the browser), the detail
that explains why a finding fired, and the officer's actions as CSRF-protected forms that call the
same lifecycle functions as the REST API and redirect back (Post/Redirect/Get)."""

from __future__ import annotations

import datetime as dt
import re
import urllib.parse
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Form, Query, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import Response
from pydantic import BaseModel
from sqlalchemy.orm import Session

from engine import clock, pipeline
from engine.api import downloads
from engine.api.pseudonyms import PatientPseudonyms
from engine.api.scope import finding_scope
from engine.auth.roles import Permission, allowed
from engine.auth.schemas import Principal
from engine.clock import DayIn
from engine.errors import ErrorDetail, InputError, InvalidTransition
from engine.findings import export as findings_export
from engine.findings import lifecycle, waiver_checks
from engine.findings import service as findings_service
from engine.findings.schemas import Finding, FindingEvent, FindingFilter, FindingPage, Waiver, WaiverIn, finished
from engine.records.schemas import RECORD_MODELS
from engine.web import errors as web_errors
from engine.web import lookups, taskviews
from engine.web.deps import action, page, web_session
from engine.web.render import page as render
from engine.web.render import redirect

router = APIRouter()
PAGE_SIZES = (25, 50, 100, 200)
HIDDEN_FACT_KEYS = {"deadline", "as_of"}
#: the last day a waiver from the form can ever run through: it ends at midnight after the day, and
#: the midnight after 9999-12-31 is no date
LAST_UNTIL = dt.date.max - dt.timedelta(days=1)


def last_until(now: dt.datetime) -> dt.date:
    """The last day a waiver granted at `now` can run through: a waiver is time-boxed
    (`waiver_checks.MAX_DAYS` from its start), and the form's end is the midnight after the day."""
    return min(waiver_checks.latest_last_day(now), LAST_UNTIL)


class FactRow(BaseModel):
    """One record the rule looked at, with the values it used (from the finding's stored facts)."""

    alias: str
    type: str | None
    id: str | None
    values: list[tuple[str, str]]
    version: int | None = None
    #: a stored record (it has a history page); derived facts (cms_mips_year, osha_log_duty, ...) have none
    is_record: bool = False


def _values(value: Any) -> list[tuple[str, str]]:
    if isinstance(value, dict):
        return [(str(k), _text(v)) for k, v in value.items() if k not in ("type", "id")]
    return [("value", _text(value))]


def _text(value: Any) -> str:
    if value is None:
        return "— (missing)"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (list, dict)):
        import json

        return json.dumps(value, sort_keys=True, default=str)
    return str(value)


def fact_rows(finding: Finding) -> list[FactRow]:
    versions = {(e.get("type"), e.get("id")): e.get("version") for e in finding.evidence}
    out = []
    for alias, value in finding.facts.items():
        if alias in HIDDEN_FACT_KEYS:
            continue
        rtype = value.get("type") if isinstance(value, dict) else None
        rid = value.get("id") if isinstance(value, dict) else None
        out.append(FactRow(alias=alias, type=rtype, id=rid, values=_values(value),
                           version=versions.get((rtype, rid)), is_record=rtype in RECORD_MODELS))
    return out


#: The orders of the list (`engine.findings.order`), as the page names them.
SORT_LABELS = {"newest": "newest first", "severity": "most severe first", "due": "nearest due date first"}


@dataclass(frozen=True)
class ListFilters:
    """The findings page's filters as the page was asked for them: what the list, its page links and
    its CSV download (`/ui/findings/export.csv`) all read, so the download is the list on screen."""

    framework: str | None
    severity: str | None
    #: "" (given empty) is every state; None (not given) the default, what needs attention
    state: str | None
    status: str | None
    establishment: str | None
    org_wide: bool
    rule: str | None
    subject: str | None
    assignee: str | None
    sort: str

    def filters(self) -> FindingFilter:
        return FindingFilter(framework=self.framework or None, severity=self.severity or None,
                             state=self.state or None, status=self.status or None,
                             establishment_id=self.establishment or None, org_wide=self.org_wide,
                             rule_id=self.rule or None, subject_id=self.subject or None,
                             assignee=(self.assignee or "").strip() or None)


def list_filters(request: Request, framework: str | None = Query(None, max_length=40),
                 severity: str | None = Query(None, max_length=40), state: str | None = Query(None, max_length=80),
                 status: str | None = Query(None, max_length=40),
                 establishment: str | None = Query(None, max_length=100), org_wide: bool = Query(False),
                 rule: str | None = Query(None, max_length=60),
                 subject: str | None = Query(None, max_length=200), assignee: str | None = Query(None, max_length=200),
                 sort: str = Query("newest", max_length=20)) -> ListFilters:
    """Without a `state` parameter the list shows what needs attention (open or acknowledged);
    `state=` (empty) shows every state, and so does `state=all`, as the API and the CLI read it."""
    if "state" not in request.query_params:
        state = lookups.OPEN_STATES
    elif state is not None and state.strip() == "all":
        state = ""
    rule = rule.strip().upper() if rule else rule  # rule ids are upper case; typed in lower case they matched nothing
    return ListFilters(framework=framework, severity=severity, state=state, status=status,
                       establishment=establishment, org_wide=org_wide, rule=rule, subject=subject, assignee=assignee,
                       sort=sort)


@router.get("/findings")
def list_findings(request: Request, q: ListFilters = Depends(list_filters),
                  limit: int = Query(50, ge=1, le=200),
                  cursor: str | None = Query(None, max_length=400), n: int = Query(0, ge=0, le=100000),
                  principal: Principal = Depends(page(Permission.FINDINGS_READ)),
                  session: Session = Depends(web_session, scope="function")) -> Response:
    """Findings newest first, or in the order `sort` names (filters: `list_filters`)."""
    problems: list[str] = []
    try:
        result = findings_service.list_findings(session, org_id=principal.org_id, filters=q.filters(), limit=limit,
                                                cursor=cursor or None, scope=finding_scope(principal),
                                                sort=q.sort or None)
    except InputError as exc:  # a filter that can never match: said above the list, the form kept as typed
        result = FindingPage(items=[], total=0)
        problems = web_errors.list_problems(exc)
    shield = PatientPseudonyms.for_principal(session, principal)
    if shield is not None:
        result = result.model_copy(update={"items": shield.findings(result.items)})
    params = {"framework": q.framework, "severity": q.severity, "state": q.state if q.state is not None else "",
              "status": q.status, "establishment": q.establishment, "org_wide": "1" if q.org_wide else None,
              "rule": q.rule, "subject": q.subject, "assignee": q.assignee,
              "sort": q.sort if q.sort != "newest" else None, "limit": limit if limit != 50 else None}
    view_query = urllib.parse.urlencode({k: v for k, v in params.items() if v not in (None, "")} |
                                        ({"state": ""} if q.state == "" else {}))
    # the download takes the list's filters and order, not its page size: it holds every finding
    export_query = "&".join(part for part in view_query.split("&") if part and not part.startswith("limit="))
    scope = finding_scope(principal)
    fws = [scope.framework] if scope is not None else lookups.frameworks()
    sites = lookups.establishments(session, org_id=principal.org_id)
    return render(request, "findings/list.html", principal=principal, title="Findings", active="findings",
                  page=result, params=params, problems=problems, view_query=view_query, cursor=cursor, n=n, limit=limit,
                  sort=q.sort or "newest", sorts=SORT_LABELS, export_url="/ui/findings/export.csv" + (
                      f"?{export_query}" if export_query else ""),
                  pages=_page_links(view_query, result, cursor=cursor, n=n),
                  frameworks=fws, severities=lookups.SEVERITIES, states=lookups.STATES, statuses=lookups.STATUSES,
                  establishments=[e for e in sites
                                  if scope is None or scope.establishments is None or e.id in scope.establishments],
                  zones=lookups.zones(sites),
                  rules=lookups.rules(scope.framework if scope is not None else None), page_sizes=PAGE_SIZES,
                  open_states=lookups.OPEN_STATES)


@router.get("/findings/export.csv")
def export_findings(request: Request, q: ListFilters = Depends(list_filters),
                    principal: Principal = Depends(page(Permission.FINDINGS_READ))) -> Response:
    """The list's "Download CSV": every finding the page's filters admit, in its order, as the REST
    API's `GET /findings/export.csv` writes it (the same function, scope and pseudonyms). A filter
    that can match nothing is the error page, as the list says it above the table."""
    scope = finding_scope(principal)

    def lines(session: Session) -> Iterator[str]:
        shield = PatientPseudonyms.for_principal(session, principal)
        return findings_export.findings_csv(session, org_id=principal.org_id, filters=q.filters(), scope=scope,
                                            sort=q.sort or None, shown=shield.findings if shield else None)

    return downloads.csv_download(request.app.state.engine, name=downloads.file_name("findings", principal.org_id),
                                  lines=lines, spreadsheet=True)


def _page_links(view_query: str, result: FindingPage, *, cursor: str | None, n: int) -> dict[str, str | None]:
    """The first, previous and next pages' addresses, each with every filter of this page.

    They extend `view_query` (the filters as given, `state=` for "any" included) rather than going
    through the templates' `query()`, which drops empty values: without `state=` the next page fell
    back to the default "needs attention" list while its cursor still walked the "any" list."""

    def at(**extra: str | int) -> str:
        more = urllib.parse.urlencode(extra)
        return "/ui/findings?" + "&".join(q for q in (view_query, more) if q)

    prev = None
    if result.has_prev:
        prev = at(cursor=result.prev_cursor, n=max(n - 1, 0)) if result.prev_cursor else at()
    return {"first": at() if cursor else None, "prev": prev,
            "next": at(cursor=result.next_cursor, n=n + 1) if result.next_cursor else None}


#: Evidence records a finding's page lists before "and N more" (as many as it shows in full).
EVIDENCE_SHOWN = pipeline.CITED_RECORDS_LIMIT
#: how many of the rule's other findings the waiver form names for each scope (the rest are counted)
ALSO_SHOWN = 10


@router.get("/findings/{finding_id}")
def finding_detail(request: Request, finding_id: str, evidence: str = Query("", pattern="^(all)?$"),
                   principal: Principal = Depends(page(Permission.FINDINGS_READ)),
                   session: Session = Depends(web_session, scope="function")) -> Response:
    """A finding in full. Its evidence list stops at EVIDENCE_SHOWN records unless `evidence=all`:
    a measure rule's finding cites every case of the year (12,501 on the large practice), and the
    page was 2.3 MB of HTML, half a second to render."""
    finding = findings_service.get_finding(session, org_id=principal.org_id, finding_id=finding_id,
                                           scope=finding_scope(principal))
    tasks = (taskviews.tasks_of_finding(session, principal=principal, finding_id=finding.id)
             if allowed(principal.role, Permission.TASKS_READ) else [])
    waiver = None
    if finding.waiver_id:
        waiver = next((w for w in findings_service.list_waivers(session, org_id=principal.org_id)
                       if w.id == finding.waiver_id), None)
    rule_version = (lookups.rule_version_of(finding.framework, finding.rule_id, finding.ruleset_version)
                    if allowed(principal.role, Permission.RULESETS_READ) else None)
    now = clock.now()
    today, latest = now.date(), last_until(now)
    default_until = min(max(finding.opened_at.date() + dt.timedelta(days=90), today), latest).isoformat()
    records, _cited = pipeline.cited_records(session, org_id=principal.org_id, finding_id=finding.id, finding=finding,
                                             limit=len(finding.evidence) if evidence == "all" else EVIDENCE_SHOWN)
    shield = PatientPseudonyms.for_principal(session, principal)
    if shield is not None:
        finding, records = shield.findings([finding])[0], shield.records(records)
        waiver = shield.waivers([waiver])[0] if waiver is not None else None
    cited = {(r.type, r.id, r.version): r for r in records}
    deadline = finding.facts.get("deadline") if isinstance(finding.facts.get("deadline"), dict) else None
    also = _also_waived(session, principal, finding) if allowed(principal.role, Permission.FINDINGS_WAIVE) else {}
    return render(request, "findings/detail.html", principal=principal, title=finding.title, active="findings",
                  f=finding, facts=fact_rows(finding), deadline=deadline, tasks=tasks, waiver=waiver,
                  evidence=finding.evidence if evidence == "all" else finding.evidence[:EVIDENCE_SHOWN],
                  rule_version=rule_version, default_until=default_until, cited=cited,
                  first_until=today.isoformat(), last_until=latest.isoformat(), max_days=waiver_checks.MAX_DAYS,
                  waiver_ended=_waiver_ended(waiver),
                  zone=lookups.zones(lookups.establishments(session, org_id=principal.org_id)).of(
                      finding.establishment_id),
                  closable=finished(finding.kind, finding.status, finding.due), closed=_closed_by(finding),
                  framework_label=lookups.framework_label(finding.framework),
                  subject_is_record=finding.subject_type in RECORD_MODELS, also=also)


def _also_waived(session: Session, principal: Principal, finding: Finding) -> dict[str, FindingPage]:
    """The rule's other open findings a waiver from this page would waive too, per scope the form
    offers ("subject", "establishment"): a waiver is the rule for the subject (or site) in its period,
    so waiving "logs kept 365 days" also waived that system's "audit logging disabled", high, and the
    officer learned it only from the answer."""
    if finding.state not in ("open", "acknowledged"):
        return {}
    scopes = {"subject": FindingFilter(rule_id=finding.rule_id, state="open,acknowledged",
                                       subject_id=f"{finding.subject_type}/{finding.subject_id}")}
    if finding.establishment_id:
        scopes["establishment"] = FindingFilter(rule_id=finding.rule_id, state="open,acknowledged",
                                                establishment_id=finding.establishment_id)
    found: dict[str, FindingPage] = {}
    for scope_name, filters in scopes.items():
        page = findings_service.list_findings(session, org_id=principal.org_id, filters=filters, limit=ALSO_SHOWN + 1)
        others = [f for f in page.items if f.id != finding.id][:ALSO_SHOWN]
        found[scope_name] = page.model_copy(update={"items": others, "total": page.total - 1})
    return found


def _closed_by(finding: Finding) -> FindingEvent | None:
    """The history entry of the person who closed a resolved finding (a run's resolution names its
    run instead), for the page's "Closed ... by ...: why"."""
    if finding.state != "resolved" or finding.resolved_by_run:
        return None
    return next((h for h in reversed(finding.history) if h.to_state == "resolved"), None)


def _waiver_ended(waiver: Waiver | None) -> dt.datetime | None:
    """When the waiver a finding still names stopped applying, if it has: the finding stays waived
    until the scheduler's waiver check or the next evaluation reopens it, and until then its page
    must not call the waiver in force. Only shown; a GET changes nothing."""
    if waiver is None:
        return None
    ended = min(waiver.ends_at, waiver.revoked_at) if waiver.revoked_at is not None else waiver.ends_at
    return ended if ended <= clock.now() else None


def _back(finding_id: str) -> str:
    return f"/ui/findings/{urllib.parse.quote(finding_id, safe='')}"


#: The lifecycle's refusals ("cannot false_positive a finding that is waived") in the page's words.
_REFUSED = re.compile(r"^cannot (?P<action>\w+) a finding that is (?P<state>\w+)$")
_STATE_WORDS = {"open": "open", "acknowledged": "acknowledged", "waived": "waived", "resolved": "resolved",
                "false_positive": "false-positive"}
_CANNOT = {"acknowledge": "cannot acknowledge {a} {state} finding", "reopen": "cannot reopen {a} {state} finding",
           "false_positive": "cannot mark {a} {state} finding as a false positive",
           "close": "cannot close {a} {state} finding"}
_DONE = {"acknowledge": "acknowledged", "reopen": "open", "false_positive": "marked as a false positive",
         "close": "closed"}
_CAN_BE = {"acknowledge": "acknowledged", "reopen": "reopened", "false_positive": "marked as a false positive",
           "close": "closed"}


def plain_refusal(exc: InvalidTransition, *, action_name: str) -> InvalidTransition:
    """`exc` reworded for the page: "cannot mark a waived finding as a false positive", "this finding
    is already acknowledged". The lifecycle's own words, which the API and CLI keep, name the action
    and the state by their codes. Any other refusal is returned as it is."""
    said = _REFUSED.match(exc.message)
    rule = lifecycle.ALLOWED.get(action_name)
    if said is None or said["action"] != action_name or action_name not in _CANNOT or rule is None:
        return exc
    state = said["state"]
    if state in rule["from"]:  # refused for another reason (a run's resolution, not a person's): its own words
        return exc
    if state in rule["to"]:
        return InvalidTransition(f"this finding is already {_DONE[action_name]}", code=exc.code)
    word = _STATE_WORDS.get(state, state.replace("_", " "))
    message = _CANNOT[action_name].format(a="an" if word[0] in "aeiou" else "a", state=word)
    allowed = " or ".join(_STATE_WORDS.get(s, s) for s in sorted(rule["from"]))
    return InvalidTransition(message, [ErrorDetail(reason=f"only {allowed} findings can be {_CAN_BE[action_name]}")],
                             code=exc.code)


#: the actions whose form needs a reason (the lifecycle refuses them without one)
_NEEDS_REASON = ("false_positive", "close")


def _transition(name: str, done: str):  # type: ignore[no-untyped-def]
    def endpoint(finding_id: str, reason: str = Form("", max_length=4000),
                 principal: Principal = Depends(action(Permission.FINDINGS_UPDATE)),
                 session: Session = Depends(web_session, scope="function")) -> Response:
        if name in _NEEDS_REASON and not reason.strip():
            # refused as every other form refuses a blank required field ("Please check the form: Reason:
            # required."), not in the lifecycle's own words, which name the API's field
            raise RequestValidationError([{"type": "missing", "loc": ("body", "reason"), "msg": "Field required",
                                           "input": reason}])
        try:
            pipeline.act_on_finding(session, org_id=principal.org_id, finding_id=finding_id, action=name,
                                    actor=principal.actor, reason=reason.strip() or None)
        except InvalidTransition as exc:
            raise plain_refusal(exc, action_name=name) from exc
        return redirect(_back(finding_id), flash=done)

    endpoint.__name__ = f"ui_{name}_finding"
    return endpoint


router.add_api_route("/findings/{finding_id}/acknowledge", _transition("acknowledge", "Finding acknowledged."),
                     methods=["POST"])
router.add_api_route("/findings/{finding_id}/false-positive",
                     _transition("false_positive", "Finding marked as a false positive."), methods=["POST"])
router.add_api_route("/findings/{finding_id}/reopen", _transition("reopen", "Finding reopened."), methods=["POST"])
router.add_api_route("/findings/{finding_id}/close",
                     _transition("close", "Finding closed; it stays closed while the rule reports the same thing."),
                     methods=["POST"])


@router.post("/findings/{finding_id}/comment")
def comment(finding_id: str, text: str = Form(..., max_length=4000),
            principal: Principal = Depends(action(Permission.FINDINGS_UPDATE)),
            session: Session = Depends(web_session, scope="function")) -> Response:
    lifecycle.comment(session, org_id=principal.org_id, finding_id=finding_id, actor=principal.actor, text=text)
    return redirect(_back(finding_id), flash="Comment added.")


@router.post("/findings/{finding_id}/assign")
def assign(finding_id: str, assignee: str = Form(..., max_length=200),
           principal: Principal = Depends(action(Permission.FINDINGS_UPDATE)),
           session: Session = Depends(web_session, scope="function")) -> Response:
    if not assignee.strip():
        raise InputError("say who the finding is assigned to", [ErrorDetail(reason="empty", field="assignee")])
    moved = pipeline.assign_finding(session, org_id=principal.org_id, finding_id=finding_id, actor=principal.actor,
                                    assignee=assignee.strip())
    tasks = f" and its task{'s' if len(moved) > 1 else ''} {', '.join(moved)}" if moved else ""
    return redirect(_back(finding_id), flash=f"Assigned to {assignee.strip()}{tasks}.")


@router.post("/findings/{finding_id}/waive")
def waive(finding_id: str, until: Annotated[DayIn, Form()],  # Annotated: `DayIn = Form(...)` lost DayIn's check
          reason: str = Form(..., max_length=4000), approver: str = Form(..., max_length=200),
          scope: str = Form("subject", pattern="^(subject|establishment)$"),
          principal: Principal = Depends(action(Permission.FINDINGS_WAIVE)),
          session: Session = Depends(web_session, scope="function")) -> Response:
    """Waive through the end of `until` (UTC); scoped to this subject or to its establishment. The
    message says how many findings the waiver waives: one for a subject or an establishment may
    reach more than the finding it was granted from."""
    latest = last_until(clock.now())
    if until > latest:  # said in days, as the form asks; `waiver_checks` refuses it for the API and CLI too
        raise InputError(f"a waiver cannot run through {until.isoformat()}", [ErrorDetail(
            reason=f"a waiver is time-boxed to {waiver_checks.MAX_DAYS} days: granted now, it can run through "
                   f"{latest.isoformat()} (UTC) at the latest", field="until")])
    ends_at = dt.datetime.combine(until + dt.timedelta(days=1), dt.time(), tzinfo=dt.UTC)
    finding = findings_service.get_finding(session, org_id=principal.org_id, finding_id=finding_id)
    establishment_id = None
    if scope == "establishment":
        if finding.establishment_id is None:
            raise InputError("this finding belongs to no establishment; waive it for its subject",
                             [ErrorDetail(reason="no establishment", field="scope")])
        establishment_id = finding.establishment_id
    if len(reason.strip()) < 3:
        raise InputError("a waiver needs a reason", [ErrorDetail(reason="at least 3 characters", field="reason")])
    if not approver.strip():
        raise InputError("a waiver needs an approver", [ErrorDetail(reason="empty", field="approver")])
    data = WaiverIn(reason=reason.strip(), approver=approver.strip(), ends_at=ends_at,
                    establishment_id=establishment_id)
    waiver, _ = pipeline.waive(session, org_id=principal.org_id, data=data, actor=principal.actor,
                               finding_id=finding_id)
    return redirect(_back(finding_id), flash=f"Waiver {waiver.id} granted through {until.isoformat()}: "
                                             f"{lifecycle.reach(waiver, finding_id)}.")


@router.post("/findings/{finding_id}/revoke-waiver")
def revoke_waiver(finding_id: str, reason: str = Form(..., max_length=4000),
                  waiver_id: str = Form(..., max_length=40),
                  principal: Principal = Depends(action(Permission.FINDINGS_WAIVE)),
                  session: Session = Depends(web_session, scope="function")) -> Response:
    """Revoke the waiver the page showed (`waiver_id`, carried by the form); it (and whatever else the
    waiver covers) reopens. A form from a page opened before that waiver was revoked and another
    granted is refused by the lifecycle, rather than revoking the new waiver, which nobody had read."""
    waiver, reopened = pipeline.revoke_finding_waiver(session, org_id=principal.org_id, waiver_id=waiver_id,
                                                      actor=principal.actor, reason=reason, finding_id=finding_id)
    return redirect(_back(finding_id), flash=f"Waiver {waiver.id} revoked; {reopened_words(reopened, finding_id)}.")


def reopened_words(reopened: list[str], finding_id: str) -> str:
    """What revoking a waiver from `finding_id`'s page reopened, in words: a waiver of a whole site
    waives every finding of its rule there, and the page said "the finding is open again" when two
    had reopened. A finding another waiver in force covers is waived by that one (not reopened)."""
    others = [f for f in reopened if f != finding_id]
    more = len(others) - ALSO_SHOWN
    listed = f": {', '.join(others[:ALSO_SHOWN])}{f' and {more} more' if more > 0 else ''}"
    if finding_id in reopened:
        if not others:
            return "the finding is open again"
        return f"this finding and {len(others)} more it waived are open again{listed}"
    stays = "this finding stays waived: another waiver in force covers it"
    if not others:
        return stays
    one = len(others) == 1
    return f"{len(others)} finding{'' if one else 's'} it waived {'is' if one else 'are'} open again{listed}; {stays}"
