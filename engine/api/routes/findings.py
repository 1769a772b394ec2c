"""Findings: list with filters and keyset pagination, detail with evidence and history,
transitions (acknowledge, false positive, close, reopen), comments, assignment and waivers."""

from __future__ import annotations

from pathlib import PurePath
from typing import Any
from urllib.parse import quote

from fastapi import APIRouter, Depends, Query, Request, Response
from fastapi.responses import StreamingResponse
from pydantic import Field
from sqlalchemy.orm import Session

from engine import pipeline
from engine.api import downloads, scope
from engine.api.deps import get_session, require
from engine.api.pseudonyms import PatientPseudonyms
from engine.api.scope import finding_scope
from engine.auth.roles import Permission
from engine.auth.schemas import Principal
from engine.findings import export as findings_export
from engine.findings import lifecycle
from engine.findings import service as findings_service
from engine.findings.order import SortName
from engine.findings.schemas import Finding, FindingFilter, FindingPage, Waiver, WaiverIn, WaiverRevokeIn
from engine.json_body import JsonBody
from engine.records.schemas import StoredRecord

router = APIRouter(tags=["findings"])


class ReasonIn(JsonBody):
    reason: str | None = Field(default=None, max_length=4000, examples=["contractor account, not workforce"])


class CommentIn(JsonBody):
    text: str = Field(min_length=1, max_length=4000, examples=["HR confirms the last day was 7 March"])


class AssignIn(JsonBody):
    assignee: str = Field(min_length=1, max_length=200, examples=["security_officer"])


def finding_filters(
        framework: str | None = None, severity: str | None = None, state: str | None = None,
        status: str | None = None, establishment: str | None = None,
        org_wide: bool = Query(False, description="only findings tied to no establishment "
                               "(practice-wide duties); not with `establishment`"),
        rule: str | None = None,
        subject: str | None = Query(None, description="subjects as findings name them (person/P1), or "
                                    "their ids alone (P1); comma-separated"),
        assignee: str | None = Query(None, description="assigned to these users, people or roles "
                                     "(comma-separated; `none`: to nobody)")) -> FindingFilter:
    """The findings list's filters, as `GET /findings` and its CSV export both take them."""
    if state is not None and state.strip() == "all":  # every state, as `vigil findings list --state all`
        state = None
    return FindingFilter(framework=framework, severity=severity, state=state, status=status,
                         establishment_id=establishment, org_wide=org_wide, rule_id=rule, subject_id=subject,
                         assignee=assignee)


def finding_order(sort: SortName = Query("newest", description="newest first (opened), the most severe first "
                                         "(then newest), or the nearest due date first (undated last)")) -> SortName:
    """The list's order, as `GET /findings` and its CSV export both take it."""
    return sort


def findings_page(limit: int = Query(50, ge=1, le=1000), cursor: str | None = None) -> tuple[int, str | None]:
    """Which page of the list (`limit`, `cursor`): `GET /findings` pages, its CSV export does not.

    The filters, the order and the page are dependencies, in this order, so that the OpenAPI document
    lists the query parameters as the list always has (a route's own parameters come first)."""
    return limit, cursor


@router.get("/findings", response_model=FindingPage)
def list_findings(filters: FindingFilter = Depends(finding_filters), sort: SortName = Depends(finding_order),
                  paging: tuple[int, str | None] = Depends(findings_page),
                  principal: Principal = Depends(require(Permission.FINDINGS_READ)),
                  session: Session = Depends(get_session, scope="function")) -> FindingPage:
    """Findings, newest first unless `sort` says otherwise. Filters take comma-separated values;
    `cursor` continues a page (in the order it was taken in)."""
    limit, cursor = paging
    page = findings_service.list_findings(session, org_id=principal.org_id, filters=filters, limit=limit,
                                          cursor=cursor, scope=finding_scope(principal), sort=sort)
    shield = PatientPseudonyms.for_principal(session, principal)
    return page if shield is None else page.model_copy(update={"items": shield.findings(page.items)})


@router.get("/findings/export.csv", response_class=StreamingResponse, responses=downloads.CSV_RESPONSE)
def export_findings(request: Request, filters: FindingFilter = Depends(finding_filters),
                    sort: SortName = Depends(finding_order),
                    principal: Principal = Depends(require(Permission.FINDINGS_READ))) -> StreamingResponse:
    """Every finding `GET /findings` would list with the same filters and `sort`, as one CSV download
    (`findings-<org>-<date>.csv`; columns in docs/api.md), read in batches however many there are. An
    auditor gets the grant's findings, with patient identifiers pseudonymised where the grant says so.
    A filter that can match nothing is a 422 before the download starts, as on the list."""
    return downloads.csv_download(
        request.app.state.engine, name=downloads.file_name("findings", principal.org_id),
        lines=lambda s: findings_export.findings_csv(s, org_id=principal.org_id, filters=filters,
                                                     scope=finding_scope(principal), sort=sort,
                                                     shown=_shown(s, principal)))


def _shown(session: Session, principal: Principal) -> findings_export.Shown | None:
    """What an auditor with a pseudonymised grant reads of each batch (None: the findings as they are)."""
    shield = PatientPseudonyms.for_principal(session, principal)
    return None if shield is None else shield.findings


@router.get("/findings/{finding_id}", response_model=Finding)
def get_finding(finding_id: str, principal: Principal = Depends(require(Permission.FINDINGS_READ)),
                session: Session = Depends(get_session, scope="function")) -> Finding:
    """A finding with why it fired (facts, deadline math), its evidence records and its history."""
    finding = findings_service.get_finding(session, org_id=principal.org_id, finding_id=finding_id,
                                           scope=finding_scope(principal))
    shield = PatientPseudonyms.for_principal(session, principal)
    return finding if shield is None else shield.findings([finding])[0]


@router.get("/findings/{finding_id}/records", response_model=list[StoredRecord])
def cited_records(response: Response, finding_id: str,
                  offset: int = Query(0, ge=0, le=10**7, description="the first citation to return (0-based)"),
                  limit: int = Query(pipeline.CITED_RECORDS_LIMIT, ge=1, le=1000,
                                     description="how many citations to return"),
                  principal: Principal = Depends(require(Permission.FINDINGS_READ)),
                  session: Session = Depends(get_session, scope="function")) -> list[StoredRecord]:
    """The record versions the finding cites as evidence, each as stored at that version: how an
    auditor (who may not read the practice's records at large) traces a finding to its facts. An
    auditor sees the name of the file a version came from, not where it lay on the practice's server.
    A measure finding cites every case of its year (thousands): `offset` and `limit` page through
    them, `X-Total-Count` says how many the finding cites and `Link: <...>; rel="next"` where the
    next page starts."""
    cited, total = pipeline.cited_records(session, org_id=principal.org_id, finding_id=finding_id,
                                          scope=finding_scope(principal), offset=offset, limit=limit)
    response.headers["X-Total-Count"] = str(total)
    if offset + limit < total:
        nxt = f"/findings/{quote(finding_id, safe='')}/records?offset={offset + limit}&limit={limit}"
        response.headers["Link"] = f'<{nxt}>; rel="next"'
    if principal.role != "auditor":
        return cited
    shown = [r.model_copy(update={"source": _file_name(r.source)}) for r in cited]
    shield = PatientPseudonyms.for_principal(session, principal)
    return shown if shield is None else shield.records(shown)


def _file_name(source: str) -> str:
    """"/srv/imports/2026/incident.ndjson" -> "incident.ndjson"; "api" stays "api"."""
    return PurePath(source).name or source if "/" in source or "\\" in source else source


def _transition(action: str):  # type: ignore[no-untyped-def]
    def endpoint(finding_id: str, body: ReasonIn | None = None,
                 principal: Principal = Depends(require(Permission.FINDINGS_UPDATE)),
                 session: Session = Depends(get_session, scope="function")) -> Finding:
        pipeline.act_on_finding(session, org_id=principal.org_id, finding_id=finding_id, action=action,
                                actor=principal.actor, reason=body.reason if body else None)
        return findings_service.get_finding(session, org_id=principal.org_id, finding_id=finding_id)

    endpoint.__name__ = f"{action}_finding"
    endpoint.__doc__ = (f"{action.replace('_', ' ').capitalize()} a finding (who, when and why are recorded)"
                        + ("; `reason` is required." if action in lifecycle.NEEDS_REASON else "."))
    return endpoint


router.add_api_route("/findings/{finding_id}/acknowledge", _transition("acknowledge"), methods=["POST"],
                     response_model=Finding)
router.add_api_route("/findings/{finding_id}/false-positive", _transition("false_positive"), methods=["POST"],
                     response_model=Finding)
router.add_api_route("/findings/{finding_id}/reopen", _transition("reopen"), methods=["POST"], response_model=Finding)
router.add_api_route("/findings/{finding_id}/close", _transition("close"), methods=["POST"], response_model=Finding,
                     description="Close a finding about something that has happened and cannot be undone (an "
                     "event rule's finding, a deadline met late) once it has been dealt with; `reason` is required. "
                     "It stays resolved while the rule reports the same thing, and its SOP task closes (a done one "
                     "is confirmed). Any other finding is refused (409): it resolves when its records show the "
                     "obligation met.")


@router.post("/findings/{finding_id}/comments", response_model=Finding)
def comment(finding_id: str, body: CommentIn, principal: Principal = Depends(require(Permission.FINDINGS_UPDATE)),
            session: Session = Depends(get_session, scope="function")) -> Finding:
    lifecycle.comment(session, org_id=principal.org_id, finding_id=finding_id, actor=principal.actor, text=body.text)
    return findings_service.get_finding(session, org_id=principal.org_id, finding_id=finding_id)


@router.post("/findings/{finding_id}/assign", response_model=Finding)
def assign(finding_id: str, body: AssignIn, principal: Principal = Depends(require(Permission.FINDINGS_UPDATE)),
           session: Session = Depends(get_session, scope="function")) -> Finding:
    pipeline.assign_finding(session, org_id=principal.org_id, finding_id=finding_id, actor=principal.actor,
                            assignee=body.assignee)
    return findings_service.get_finding(session, org_id=principal.org_id, finding_id=finding_id)


#: a waiver asked for again while it is in force is answered 200 with the waiver made before
_ASKED_AGAIN: dict[int | str, dict[str, Any]] = {
    200: {"model": Waiver, "description": "the same waiver asked again while it is in force: the one made before"}}


@router.post("/findings/{finding_id}/waive", response_model=Waiver, status_code=201,
             responses=_ASKED_AGAIN)
def waive(finding_id: str, body: WaiverIn, response: Response,
          principal: Principal = Depends(require(Permission.FINDINGS_WAIVE)),
          session: Session = Depends(get_session, scope="function")) -> Waiver:
    """Waive this finding's rule for its subject (or for an establishment) until `ends_at`; needs a reason
    and an approver; the finding reopens when the waiver expires. The same request again (a retry)
    answers 200 with the waiver already made, as `POST /waivers` does."""
    waiver, created = pipeline.waive(session, org_id=principal.org_id, data=body, actor=principal.actor,
                                     finding_id=finding_id)
    if not created:
        response.status_code = 200
    return waiver


@router.get("/waivers", response_model=list[Waiver])
def list_waivers(principal: Principal = Depends(require(Permission.FINDINGS_READ)),
                 session: Session = Depends(get_session, scope="function")) -> list[Waiver]:
    """Waivers, oldest first. An auditor sees those of the granted framework in force during the
    window (and at the granted establishments: `engine.api.scope.visible_waivers`)."""
    waivers = scope.list_waivers(session, principal)
    shield = PatientPseudonyms.for_principal(session, principal)
    return waivers if shield is None else shield.waivers(waivers)


@router.post("/waivers/{waiver_id}/revoke", response_model=Waiver)
def revoke_waiver(waiver_id: str, body: WaiverRevokeIn,
                  principal: Principal = Depends(require(Permission.FINDINGS_WAIVE)),
                  session: Session = Depends(get_session, scope="function")) -> Waiver:
    """End a waiver now, with a reason: the findings it waives reopen at once (409 when it has
    already ended or been revoked)."""
    return pipeline.revoke_waiver(session, org_id=principal.org_id, waiver_id=waiver_id, actor=principal.actor,
                                   reason=body.reason)


@router.post("/waivers", response_model=Waiver, status_code=201,
             responses=_ASKED_AGAIN)
def create_waiver(body: WaiverIn, response: Response,
                  principal: Principal = Depends(require(Permission.FINDINGS_WAIVE)),
                  session: Session = Depends(get_session, scope="function")) -> Waiver:
    """Waive a rule for a subject or an establishment for a period. The same request again (a retry)
    answers 200 with the waiver already made instead of stacking a second one."""
    waiver, created = pipeline.waive(session, org_id=principal.org_id, data=body, actor=principal.actor)
    if not created:
        response.status_code = 200
    return waiver
