"""The audit portal: evidence packets (list, download, build) with the public key that verifies them.
An auditor sees only the packets of the granted framework whose period meets the granted window,
as GET /packets applies it; officers see every packet and build new ones here, as POST /packets does."""

from __future__ import annotations

import datetime as dt

from fastapi import APIRouter, Depends, Form, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import Response
from pydantic import ValidationError
from sqlalchemy.orm import Session

from engine import clock
from engine.api import scope
from engine.auth.roles import Permission
from engine.auth.schemas import Principal
from engine.packet_sources import DatabaseSources
from engine.packets import service as packet_service
from engine.packets.sign import load_or_create_signer
from engine.web import lookups
from engine.web.deps import action, page, web_session
from engine.web.render import page as render
from engine.web.render import redirect

router = APIRouter()


@router.get("/audit")
def portal(request: Request, principal: Principal = Depends(page(Permission.PACKETS_READ)),
           session: Session = Depends(web_session, scope="function")) -> Response:
    g = principal.grant
    packets = packet_service.list_packets(session, org_id=principal.org_id, **scope.packet_filter(principal))
    signer = load_or_create_signer()
    today = clock.now().date()
    return render(request, "audit/portal.html", principal=principal, title="Audit portal", active="audit",
                  packets=packets, fingerprint=signer.fingerprint(), pem=signer.public_key_pem().decode(), grant=g,
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
