"""The audit portal: evidence packets (list and download) with the public key that verifies them.
An auditor sees only the packets of the granted framework whose period meets the granted window,
as GET /packets applies it; officers see every packet."""

from __future__ import annotations

from fastapi import APIRouter, Depends, Request
from fastapi.responses import Response
from sqlalchemy.orm import Session

from engine.auth.roles import Permission
from engine.auth.schemas import Principal
from engine.packets import service as packet_service
from engine.packets.sign import load_or_create_signer
from engine.web.deps import page, web_session
from engine.web.render import page as render

router = APIRouter()


@router.get("/audit")
def portal(request: Request, principal: Principal = Depends(page(Permission.PACKETS_READ)),
           session: Session = Depends(web_session, scope="function")) -> Response:
    g = principal.grant
    packets = packet_service.list_packets(session, org_id=principal.org_id, framework=g.framework if g else None,
                                          window=(g.window_from, g.window_to) if g else None)
    signer = load_or_create_signer()
    return render(request, "audit/portal.html", principal=principal, title="Audit portal", active="audit",
                  packets=packets, fingerprint=signer.fingerprint(), pem=signer.public_key_pem().decode(), grant=g)
