"""Records: batch import, file upload, as-of reads and history (the import path the CLI uses)."""

from __future__ import annotations

import contextlib
import datetime as dt
from typing import Annotated, Any

from fastapi import APIRouter, Body, Depends, File, Query, Request, UploadFile
from pydantic import ConfigDict, Field, WithJsonSchema, model_validator
from pydantic_core import PydanticCustomError
from sqlalchemy.orm import Session

from engine import clock, json_codec, pipeline
from engine.api import uploads
from engine.api.deps import get_session, require, signed_in_first
from engine.auth.roles import Permission
from engine.auth.schemas import Principal
from engine.errors import ErrorDetail, InputError, RecordValidationError
from engine.findings.schemas import InstantIn
from engine.json_body import JsonBody
from engine.records import service as records_service
from engine.records import undated
from engine.records.connectors import hr_roster_import, leie_screen
from engine.records.importers import detect_format
from engine.records.schemas import ImportReport, PassedOver, StoredRecord

router = APIRouter(tags=["records"])
MAX_UPLOAD_BYTES = 200 * 1024 * 1024
MAX_MAP_BYTES = 1024 * 1024


#: What a batch is, in the words the 422 for any other body uses (CONTRACT.md, "Envelope and file formats").
RECORDS_BODY = 'send a JSON array of records, or an object {"records": [...]} (each record an object with type and id)'
EXAMPLE = [{"type": "training_record", "id": "T-1", "person_id": "P-0001", "course": "HIPAA_PRIVACY",
            "completed_at": "2026-03-07T21:00:00-08:00"}]


def _both_shapes(schema: dict[str, Any]) -> None:
    """The documented body: either shape the validator takes (the model alone would show only the object)."""
    as_object = {key: schema.pop(key) for key in ("type", "properties", "required") if key in schema}
    as_array = {**as_object["properties"]["records"], "title": "an array of records", "examples": [EXAMPLE]}
    schema["anyOf"] = [as_array, {**as_object, "title": 'an object {"records": [...]}'}]


class RecordsIn(JsonBody):
    """A batch of records: a JSON array of them, or an object {"records": [...]}, as a JSON file may be."""

    model_config = ConfigDict(json_schema_extra=_both_shapes, extra="forbid")  # a misspelt field is a 422

    #: Any items, documented as objects: an item that is not an object is refused by the import with
    #: every other record's problems ("a record must be a JSON object", at its index). Checked here,
    #: a null item was the 422's only problem and the records after it went unchecked.
    records: list[Annotated[Any, WithJsonSchema({"type": "object", "additionalProperties": True})]] = Field(
        description="records in the contract's format (type, id and fields)", examples=[EXAMPLE])

    @model_validator(mode="before")
    @classmethod
    def _either_shape(cls, data: Any) -> Any:
        """A bare array is the batch itself; an object must carry `records`; anything else says what to send."""
        if isinstance(data, list):
            return {"records": data}
        if isinstance(data, dict) and "records" in data:
            return data
        raise PydanticCustomError("records_body", RECORDS_BODY)


async def _each_key_once(request: Request) -> list[ErrorDetail]:
    """The records naming a field twice, at their index, refused with the batch's other problems as
    the file import refuses them (`import_batch`): the JSON parser would keep the last value and drop
    the first without a word (`json_codec.loads_input`)."""
    signed_in_first(request)  # runs before the route's `require(...)`
    problems = []
    for path, key in json_codec.repeated_keys(await request.body()):
        index = next((p for p in path[:2] if isinstance(p, int)), None)
        inside = ".".join(str(p) for p in path[1 if path[:1] != ("records",) else 2:])
        problems.append(ErrorDetail(
            reason=f"the key {key!r} is given twice in one object; send each field once", index=index,
            field=f"{inside}.{key}" if inside else key))
    outside = [d for d in problems if d.index is None]  # the body's own keys: no batch to judge
    if outside:
        raise InputError(f"{len(outside)} repeated key{'' if len(outside) == 1 else 's'} in the body; nothing was "
                         "imported", outside)
    return problems


_each_key_once.names_repeated_keys = True  # type: ignore[attr-defined]  # engine.api.deps.reject_repeated_keys


@router.post("/records", response_model=ImportReport)
def import_batch(body: RecordsIn = Body(description=RECORDS_BODY),
                 repeated: list[ErrorDetail] = Depends(_each_key_once),
                 principal: Principal = Depends(require(Permission.RECORDS_WRITE)),
                 session: Session = Depends(get_session, scope="function")) -> ImportReport:
    """Import a batch, a JSON array of records or {"records": [...]}: all or nothing; every bad record is
    named (index, field, reason)."""
    if not repeated:
        report: ImportReport = pipeline.ingest_records(session, org_id=principal.org_id, records=body.records,
                                                       actor=principal.actor, source="api")
        return report
    # the rest of the batch is still judged, so every problem is said at once (a key given twice had
    # hidden a date of birth that does not exist two records before it); nothing is kept, and no
    # event reaches the live stream
    found = list(repeated)
    try:
        pipeline.ingest_records(session, org_id=principal.org_id, records=body.records, actor=principal.actor,
                                source="api", stream=False)
    except RecordValidationError as exc:
        found += exc.details
    session.rollback()
    found.sort(key=lambda d: (d.index if d.index is not None else -1))
    raise RecordValidationError(f"{len(found)} problem{'' if len(found) == 1 else 's'} in the batch; nothing was "
                                "imported", found)


class ImportResult(ImportReport):
    """An import's report, with what the caller should know about it (an empty file imports nothing)."""

    warnings: list[str] = Field(default_factory=list)


#: How many undated records (engine/records/undated.py) `warnings` names; `undated_records` lists up to 100.
#: The same number of incomplete records follows them (`incomplete_records`).
UNDATED_WARNINGS = 20

#: How an upload names its format when the extension does not tell it (the CLI says `--format`).
FORMAT_HINT = "give the format query parameter (format=json, ndjson or csv; fhir, leie or roster for a connector)"


@router.post("/records/import", response_model=ImportResult)
def import_file(file: list[UploadFile] = File(..., description="a JSON, NDJSON or CSV file (<type>.csv), FHIR "
                                                                   "AuditEvents (format=fhir), an OIG LEIE list "
                                                                   "(format=leie) or an HR roster CSV (format=roster); "
                                                                   "repeat the part for several files, imported "
                                                                   "together (all or nothing) as `vigil import A B` "
                                                                   "does (a roster is one file)"),
                roster_map: UploadFile | None = File(None, alias="map", description="format=roster: a YAML or JSON "
                                                     "map of your columns, job titles and sites (docs/records.md)"),
                format: str | None = Query(None, pattern="^(json|ndjson|csv|fhir|leie|roster)$"),
                type: str | None = Query(None, description="record type of a CSV file"),
                checked_at: InstantIn | None = Query(None, description="format=leie: when the screening was done "
                                                                       "(default: the upload's UTC day at 00:00, so "
                                                                       "the same file sent again that day is the same "
                                                                       "screening; never later than now)"),
                leie_supplement: bool = Query(False, description="format=leie: the files are OIG's monthly "
                                              "supplements (new exclusions, reinstatements) whatever their names "
                                              "(YYMMEXCL.csv and YYMMREIN.csv are read so anyway): only the people "
                                              "they name are screened (docs/records.md)"),
                principal: Principal = Depends(require(Permission.RECORDS_WRITE)),
                _single: None = Depends(uploads.single_parts(  # after the sign-in check
                    "map", known=("file", "map"), queried=("format", "type", "checked_at", "leie_supplement"))),
                session: Session = Depends(get_session, scope="function")) -> ImportResult:
    """Upload one file or several (`file` parts); streamed to disk, then imported together like
    `vigil import A B`: all or nothing, and several LEIE files are one screening. A file that holds no
    records imports nothing and says so in `warnings`, which also names (the first 20) records imported
    with no date their deadlines count from, such as an incident with no discovered_at, as the rules
    pass them over without a finding (`undated_records`), then (the first 20) records missing another
    field a rule needs, such as an OSHA case with no establishment_id (`incomplete_records`).
    `format=leie` screens the workforce against the list and imports one screening per person;
    `format=roster` imports an HR roster's persons and employment episodes, with an optional `map`
    part (docs/records.md, Connectors)."""
    if checked_at is not None and format != "leie":
        raise InputError("checked_at applies only to format=leie", [ErrorDetail(reason="not a LEIE upload",
                                                                                  field="checked_at")])
    if leie_supplement and format != "leie":
        raise InputError("leie_supplement applies only to format=leie", [ErrorDetail(reason="not a LEIE upload",
                                                                                       field="leie_supplement")])
    if roster_map is not None and format != "roster":
        raise InputError("map applies only to format=roster", [ErrorDetail(reason="not a roster upload", field="map")])
    if type is not None and format == "roster":
        raise InputError("type does not apply to format=roster", [ErrorDetail(
            reason="a roster writes persons and employment episodes", field="type")])
    if type is not None and format == "leie":  # as `vigil import --format leie --type` is refused
        raise InputError("type does not apply to format=leie", [ErrorDetail(
            reason="a LEIE file is the exclusion list: it writes one screening per person", field="type")])
    if format == "roster" and len(file) > 1:
        raise InputError("a roster is one file", [ErrorDetail(
            reason=f"{len(file)} file parts were sent: send the roster alone", field="file")])
    with contextlib.ExitStack() as stack:
        spooled = [stack.enter_context(uploads.spooled(part, default="upload.json", limit=MAX_UPLOAD_BYTES))
                   for part in file]
        targets = [target for target, _ in spooled]
        # no file date comes with an upload: without checked_at a LEIE check is dated the upload's
        # UTC day (00:00), so the same file sent again that day is the same screening (dated to the
        # microsecond, every upload had written the whole workforce's screenings again); a checked_at
        # given is checked in UTC and stored with the offset it was sent with
        screened = (checked_at if checked_at and clock.checked_utc(checked_at, field="checked_at")
                    else clock.now().replace(hour=0, minute=0, second=0, microsecond=0))
        if format not in ("leie", "roster"):
            for target in targets:
                detect_format(target, format, option=FORMAT_HINT)  # the API's words for a file it cannot place
        mapping = (stack.enter_context(uploads.spooled(roster_map, default="roster-map.yaml", limit=MAX_MAP_BYTES))[0]
                   if roster_map is not None else None)
        report: ImportReport = pipeline.import_files(
            session, org_id=principal.org_id, paths=targets, actor=principal.actor, fmt=format, record_type=type,
            checked_at=screened if format == "leie" else None, checked_at_name="checked_at",
            leie_supplement=leie_supplement, mapping=mapping, names=[name for _, name in spooled])
        uploaded = {str(target): name for target, name in spooled}
        for warning in report.row_warnings or []:  # named as sent, not by the server's temporary path
            warning.file = uploaded.get(warning.file, warning.file)
    names = ", ".join(name for _, name in spooled)
    # a supplement naming nobody of the workforce writes nothing, and says so in its own line
    supplement = leie_screen.supplement_line(report)
    warnings = [f"{names} {'holds' if len(spooled) == 1 else 'hold'} no records: nothing was imported"] \
        if report.total == 0 and supplement is None else []
    warnings += [supplement] if supplement else []
    warnings += undated.warning_lines(report, shown=UNDATED_WARNINGS)
    warnings += leie_screen.warning_lines(report, shown=UNDATED_WARNINGS, listed_in="row_warnings")
    roster = hr_roster_import.not_listed_line(report)
    warnings += [roster] if roster else []
    return ImportResult(**report.model_dump(), warnings=warnings)


class RecordVersion(StoredRecord):
    """One version of a record in its history, with the fields it changed (as `vigil records history
    --json` gives them): none for the first version."""

    changed: list[str] = Field(default_factory=list, description="the fields whose values differ from the "
                                                                  "version before, sorted (empty for version 1)")


@router.get("/records/gaps", response_model=PassedOver)
def gaps(type: list[str] | None = Query(None, description="only these record types (comma-separated or "
                                                          "repeated), e.g. credential,screening"),
         principal: Principal = Depends(require(Permission.RECORDS_READ)),
         session: Session = Depends(get_session, scope="function")) -> PassedOver:
    """The records held now that the rules pass over, or count for no one: an id naming no record held
    (`unknown_references`), a null date a deadline counts from (`undated_records`), or a null or
    unknown field some rule needs (`incomplete_records`), up to 100 of each with the totals, each
    message saying what is lost and what to give. The same messages an import warns with; a record
    leaves the list when a later version gives the field or the named record is imported."""
    return records_service.passed_over(session, org_id=principal.org_id, types=type)


@router.get("/records/{record_type}/{record_id:path}/history", response_model=list[RecordVersion])
def history(record_type: str, record_id: str, principal: Principal = Depends(require(Permission.RECORDS_READ)),
            session: Session = Depends(get_session, scope="function")) -> list[RecordVersion]:
    """Every version of one record, oldest first, each with the fields it changed. Routed before the
    record itself: an id may hold `/` (the contract's ids are any string), so both take the rest of
    the path, and `.../history` at the end asks for the history."""
    versions = records_service.record_history(session, org_id=principal.org_id, record_type=record_type,
                                              record_id=record_id)
    return [RecordVersion(**v.model_dump(), changed=changed)
            for v, changed in zip(versions, records_service.version_changes(versions), strict=True)]


@router.get("/records/{record_type}/{record_id:path}", response_model=StoredRecord)
def get_record(record_type: str, record_id: str,
               as_of: InstantIn | None = Query(None, description="what the database knew at this instant"),
               principal: Principal = Depends(require(Permission.RECORDS_READ)),
               session: Session = Depends(get_session, scope="function")) -> StoredRecord:
    return records_service.get_record(session, org_id=principal.org_id, record_type=record_type,
                                      record_id=record_id, known_at=_aware(as_of))


def _aware(value: dt.datetime | None) -> dt.datetime | None:
    return clock.checked_utc(value, field="as_of") if value is not None else None
