"""The audit trail over REST: verify the organization's hash chain, and read its newest entries.

Why an auditor may verify but not read entries: the chain holds every change by anyone (users,
tokens, every framework's waivers and findings), while an auditor's grant names one framework and
one window. Verifying reveals only whether the chain is whole and how long it is; the entries that
concern the granted framework reach the auditor as the excerpt inside an evidence packet.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Query
from pydantic import AfterValidator
from sqlalchemy.orm import Session

from engine import pipeline
from engine.api.deps import get_session, require
from engine.audit import service as audit_service
from engine.audit.schemas import AuditEntry, AuditQuery, AuditVerifyReport
from engine.auth.roles import Permission
from engine.auth.schemas import TOKEN_ID_MAX, Principal, check_token_id

router = APIRouter(tags=["audit"])


@router.get("/audit/verify", response_model=AuditVerifyReport)
def verify(principal: Principal = Depends(require(Permission.AUDIT_READ)),
           session: Session = Depends(get_session, scope="function")) -> AuditVerifyReport:
    """Recompute the organization's chain and name where it stops matching (`vigil audit verify`)."""
    return pipeline.verify_audit(session, org_id=principal.org_id)


@router.get("/audit/entries", response_model=list[AuditEntry])
def entries(limit: int = Query(20, ge=1, le=1000, description="how many of the newest entries, oldest first"),
            before: int | None = Query(None, ge=1, le=audit_service.MAX_SEQ,
                                       description="only entries older than this `seq` (to page back: the `seq` "
                                       "of the oldest entry you have)"),
            actor: str | None = Query(None, max_length=200, description="only this actor's entries"),
            action: str | None = Query(None, max_length=100, description="one action (finding.waive) or a family "
                                       "of them (finding)"),
            entity: str | None = Query(None, max_length=301, description="one entity type (finding) or one entity "
                                       "(finding/F-...)"),
            token: Annotated[str | None, Query(
                max_length=TOKEN_ID_MAX, description="only the entries written by requests signed with this API "
                "token (its id, TK-..., from GET /users/{username}/tokens: the `via_token` of their payload)"),
                AfterValidator(check_token_id)] = None,
            principal: Principal = Depends(require(Permission.AUDIT_ENTRIES)),
            session: Session = Depends(get_session, scope="function")) -> list[AuditEntry]:
    """The newest entries of the organization's chain that the filters admit (`vigil audit log`):
    admins and officers; an auditor verifies the chain and reads the excerpt inside an evidence
    packet. `token` lists what one API token did (after it leaked, say): an auditor holds no
    `audit.entries`, so it widens nothing for them."""
    where = AuditQuery(before=before, actor=actor or None, action=action or None, entity=entity or None,
                       token=token or None)
    return audit_service.list_entries(session, org_id=principal.org_id, limit=limit, where=where)
