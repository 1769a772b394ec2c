"""Records: batch import, file upload, as-of reads and history (the import path the CLI uses)."""

from __future__ import annotations

import datetime as dt
from typing import Any

from fastapi import APIRouter, Depends, File, Query, UploadFile
from pydantic import BaseModel, Field
from sqlalchemy.orm import Session

from engine import clock, pipeline
from engine.api import uploads
from engine.api.deps import get_session, require
from engine.auth.roles import Permission
from engine.auth.schemas import Principal
from engine.findings.schemas import InstantIn
from engine.records import service as records_service
from engine.records.schemas import ImportReport, StoredRecord

router = APIRouter(tags=["records"])
MAX_UPLOAD_BYTES = 200 * 1024 * 1024


class RecordsIn(BaseModel):
    records: list[dict[str, Any]] = Field(
        description="records in the contract's format (type, id and fields)",
        examples=[[{"type": "training_record", "id": "T-1", "person_id": "P-0001", "course": "HIPAA_PRIVACY",
                    "completed_at": "2026-03-07T21:00:00-08:00"}]])


@router.post("/records", response_model=ImportReport)
def import_batch(body: RecordsIn, principal: Principal = Depends(require(Permission.RECORDS_WRITE)),
                 session: Session = Depends(get_session, scope="function")) -> ImportReport:
    """Import a batch: all or nothing; every bad record is named (index, field, reason)."""
    report: ImportReport = pipeline.ingest_records(session, org_id=principal.org_id, records=body.records,
                                                   actor=principal.actor, source="api")
    return report


class ImportResult(ImportReport):
    """An import's report, with what the caller should know about it (an empty file imports nothing)."""

    warnings: list[str] = Field(default_factory=list)


@router.post("/records/import", response_model=ImportResult)
def import_file(file: UploadFile = File(..., description="a JSON, NDJSON or CSV file (<type>.csv)"),
                format: str | None = Query(None, pattern="^(json|ndjson|csv)$"),
                type: str | None = Query(None, description="record type of a CSV file"),
                principal: Principal = Depends(require(Permission.RECORDS_WRITE)),
                session: Session = Depends(get_session, scope="function")) -> ImportResult:
    """Upload one file; streamed to disk, then imported like `vigil import`. A file that holds no
    records imports nothing and says so in `warnings`."""
    with uploads.spooled(file, default="upload.json", limit=MAX_UPLOAD_BYTES) as (target, name):
        report: ImportReport = pipeline.ingest_files(session, org_id=principal.org_id, paths=[target],
                                                     actor=principal.actor, fmt=format, record_type=type)
        sources = uploads.shown_sources(report.sources, target, name)
    warnings = [f"{name} holds no records: nothing was imported"] if report.total == 0 else []
    return ImportResult(**report.model_dump(exclude={"sources"}), sources=sources, warnings=warnings)


@router.get("/records/{record_type}/{record_id}", response_model=StoredRecord)
def get_record(record_type: str, record_id: str,
               as_of: InstantIn | None = Query(None, description="what the database knew at this instant"),
               principal: Principal = Depends(require(Permission.RECORDS_READ)),
               session: Session = Depends(get_session, scope="function")) -> StoredRecord:
    return records_service.get_record(session, org_id=principal.org_id, record_type=record_type,
                                      record_id=record_id, known_at=_aware(as_of))


@router.get("/records/{record_type}/{record_id}/history", response_model=list[StoredRecord])
def history(record_type: str, record_id: str, principal: Principal = Depends(require(Permission.RECORDS_READ)),
            session: Session = Depends(get_session, scope="function")) -> list[StoredRecord]:
    return records_service.record_history(session, org_id=principal.org_id, record_type=record_type,
                                          record_id=record_id)


def _aware(value: dt.datetime | None) -> dt.datetime | None:
    return clock.checked_utc(value, field="as_of") if value is not None else None
