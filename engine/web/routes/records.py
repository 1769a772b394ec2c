"""A record's history: every stored version, what changed in each, and which version a finding
used (evidence links land here with ?version=N); and the records the rules pass over (data gaps)."""

from __future__ import annotations

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import Response
from pydantic import BaseModel
from sqlalchemy.orm import Session

from engine.auth.roles import Permission
from engine.auth.schemas import Principal
from engine.errors import ErrorDetail, NotFoundError
from engine.records import service as records_service
from engine.records import undated
from engine.records.schemas import StoredRecord
from engine.web.deps import page, web_session
from engine.web.render import page as render

router = APIRouter()


class VersionView(BaseModel):
    record: StoredRecord
    changed: list[str]
    removed: list[str]


def version_views(history: list[StoredRecord]) -> list[VersionView]:
    out: list[VersionView] = []
    for rec, differ in zip(history, records_service.version_changes(history), strict=True):
        changed = [k for k in rec.data if k in differ]  # the record's field order, for the page
        out.append(VersionView(record=rec, changed=changed, removed=[k for k in differ if k not in rec.data]))
    return out


@router.get("/records/gaps")
def record_gaps(request: Request, type: str | None = Query(None),
                principal: Principal = Depends(page(Permission.RECORDS_READ)),
                session: Session = Depends(web_session, scope="function")) -> Response:
    """The records the rules pass over (engine/records/undated.py), which raise no finding and so show
    nowhere else: the import's warnings, kept in view; `?type=` narrows them to one record type."""
    chosen = type or None
    found = records_service.passed_over(session, org_id=principal.org_id, types=[chosen] if chosen else None)
    return render(request, "records/gaps.html", principal=principal, title="Data gaps", active="gaps", found=found,
                  types=undated.CHECKED_TYPES, chosen=chosen)


@router.get("/records/{record_type}/{record_id:path}")  # ids may hold "/"
def record_history(request: Request, record_type: str, record_id: str, version: int | None = Query(None, ge=1),
                   principal: Principal = Depends(page(Permission.RECORDS_READ)),
                   session: Session = Depends(web_session, scope="function")) -> Response:
    history = records_service.record_history(session, org_id=principal.org_id, record_type=record_type,
                                             record_id=record_id)
    versions = [rec.version for rec in history]
    if version is not None and version not in versions:
        # a link naming a version the record never had must not show the others as if they were it
        has = f"version{'s' if len(versions) > 1 else ''} {', '.join(str(v) for v in versions)}"
        raise NotFoundError(f"{record_type} {record_id} has no version {version}; it has {has}",
                            [ErrorDetail(reason="not a version of this record", field="version")])
    views = version_views(history)
    latest = views[-1].record
    fields = sorted({k for v in views for k in v.record.data} - {"type", "id"},
                    key=lambda k: list(latest.data).index(k) if k in latest.data else 999)
    return render(request, "records/history.html", principal=principal, title=f"{record_type} {record_id}",
                  record_type=record_type, record_id=record_id, views=views, latest=latest, fields=fields,
                  highlight=version)
