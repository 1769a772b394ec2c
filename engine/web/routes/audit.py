"""The audit portal: evidence packets (list, download, build) with the public key that verifies them.
An auditor sees only the packets of the granted framework whose period meets the granted window,
as GET /packets applies it; officers see every packet and build new ones here, as POST /packets does.

And the audit trail itself (`/audit/trail`): admins and officers read the organization's entries,
newest first, by actor, action, entity or the API token that wrote them, as GET /audit/entries
gives them; anyone who may read the portal may have the chain recomputed (`?verify=1`, as GET
/audit/verify), which says only whether it is whole and how long it is, so an auditor can check
it without reading other frameworks' changes."""

from __future__ import annotations

import datetime as dt
import urllib.parse
from typing import Annotated

from fastapi import APIRouter, Depends, Form, Query, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import Response
from pydantic import ValidationError
from sqlalchemy.orm import Session

from engine import clock, pipeline
from engine.api import scope
from engine.audit import service as audit_service
from engine.audit.schemas import AuditPage, AuditQuery
from engine.auth.roles import Permission, allowed
from engine.auth.schemas import TOKEN_ID_MAX, Principal, check_token_id
from engine.errors import InputError
from engine.packet_sources import DatabaseSources
from engine.packets import service as packet_service
from engine.packets.sign import retired_fingerprints
from engine.web import lookups
from engine.web.deps import action, page, web_session
from engine.web.render import page as render
from engine.web.render import redirect

router = APIRouter()

#: Entries a page of the trail shows.
TRAIL_PAGE = 50


@router.get("/audit")
def portal(request: Request, principal: Principal = Depends(page(Permission.PACKETS_READ)),
           session: Session = Depends(web_session, scope="function")) -> Response:
    g = principal.grant
    packets = packet_service.list_packets(session, org_id=principal.org_id, **scope.packet_filter(principal))
    signer = packet_service.practice_signer(session)  # never a silent new key once packets were signed
    today = clock.now().date()
    return render(request, "audit/portal.html", principal=principal, title="Audit portal", active="audit",
                  packets=packets, fingerprint=signer.fingerprint(), pem=signer.public_key_pem().decode(), grant=g,
                  retired=retired_fingerprints(),
                  frameworks=lookups.frameworks(),
                  establishments=lookups.establishments(session, org_id=principal.org_id) if g is None else [],
                  default_from=dt.date(today.year, 1, 1), default_to=today)


@router.post("/audit/packets")
def build_packet(framework: str = Form(..., max_length=40), date_from: str = Form(..., alias="from"),
                 date_to: str = Form(..., alias="to"), establishment: str = Form(""), as_of: str = Form(""),
                 redact_phi: bool = Form(False),
                 principal: Principal = Depends(action(Permission.PACKETS_BUILD)),
                 session: Session = Depends(web_session, scope="function")) -> Response:
    """Build a packet from the portal's form (the same service as POST /packets)."""
    try:
        wanted = packet_service.PacketRequest.model_validate({
            "framework": framework, "from": date_from, "to": date_to, "establishment": establishment or None,
            "as_of": _utc(as_of) if as_of else None, "redact_phi": redact_phi})
    except ValidationError as exc:  # shown like any other refused form field (engine.web.errors)
        problems = [{**e, "loc": ("body", *e["loc"])} for e in exc.errors(include_url=False)]
        raise RequestValidationError(problems) from None
    info = packet_service.build_stored(session, org_id=principal.org_id, request=wanted, actor=principal.actor,
                                       sources=DatabaseSources())
    return redirect("/ui/audit", flash=f"Packet {info.id} built ({info.size:,} bytes, SHA-256 {info.sha256[:16]}…).")


def _utc(text: str) -> str:
    """The form's date-and-time field has no zone: the label says UTC, so it is read as UTC."""
    try:
        value = dt.datetime.fromisoformat(text)
    except ValueError:
        return text  # validation names the field
    return (value if value.tzinfo else value.replace(tzinfo=dt.UTC)).isoformat()


@router.get("/audit/trail")
def trail(request: Request, actor: str = Query("", max_length=200), action_name: str = Query("", alias="action",
          max_length=100), entity: str = Query("", max_length=301),
          token: Annotated[str, Query(max_length=TOKEN_ID_MAX)] = "",
          before: int | None = Query(None, ge=1),
          verify: bool = Query(False),
          principal: Principal = Depends(page(Permission.AUDIT_READ)),
          session: Session = Depends(web_session, scope="function")) -> Response:
    """The organization's audit trail: where its chain ends, the recomputed check on request, and
    (for those who may read entries) the entries newest first, filtered and paged back by `before`.
    An auditor reads no entry whatever the filters say: `token` narrows what is read, never who reads."""
    head = audit_service.chain_head(session, org_id=principal.org_id)
    report = pipeline.verify_audit(session, org_id=principal.org_id) if verify else None
    readable = allowed(principal.role, Permission.AUDIT_ENTRIES)
    where = AuditQuery(before=before, actor=actor or None, action=action_name or None, entity=entity or None,
                       token=token or None)
    problems: list[str] = []
    status = 200  # a filter naming nothing recorded is said in place, as the findings page says its own
    try:
        check_token_id(token)  # here, not as the query is read: said in place with the form kept, not a bare error
    except ValueError as exc:
        # refused (422), and the value not echoed: it may be a secret pasted for an id
        problems, status = [f"API token: {exc}"], 422
    found = AuditPage(items=[], older=None) if readable else None
    if readable and not problems:
        try:
            found = audit_service.entries_page(session, org_id=principal.org_id, limit=TRAIL_PAGE, where=where)
        except InputError as exc:  # a filter naming what was never recorded: said above the list, as findings do
            if exc.code != audit_service.UNRECORDED:
                raise
            problems = [d.reason for d in exc.details] or [exc.message]
    filters = {k: v for k, v in (("actor", actor), ("action", action_name), ("entity", entity), ("token", token))
               if v}
    older = None if found is None or found.older is None else \
        "/ui/audit/trail?" + urllib.parse.urlencode(filters | {"before": found.older})
    return render(request, "audit/trail.html", principal=principal, title="Audit trail", active="trail",
                  head=head, report=report, page=found, filters=filters, older=older, paged=before is not None,
                  problems=problems, status=status,
                  filter_query=urllib.parse.urlencode(filters))
