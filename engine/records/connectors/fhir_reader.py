"""The `fhir` import format: FHIR R4 AuditEvent resources -> `access_event` records.

Two shapes, told apart by the extension:

- `.ndjson` / `.jsonl`: one resource per line (FHIR bulk data), read line by line so memory stays
  flat at any size, as the NDJSON format does; positions are 1-based lines.
- anything else: one JSON document, a Bundle (its `entry[].resource`; entries a search added as
  `include` or `outcome` are skipped, as are a history Bundle's deletions; a Patient, Practitioner,
  Device... entry is what the AuditEvents' `urn:uuid:` references name; an AuditEvent without an id
  takes the one its `fullUrl` gives) or a single AuditEvent; positions are 0-based entry indexes.
  A Bundle is streamed entry by entry (`fhir_bundle`), in flat memory too; a single AuditEvent, and
  a document the stream leaves to the standard library (bad JSON, a key given twice...), is read
  whole, so a refusal says what it always said.

A resource that cannot be mapped (`fhir_auditevent.map_audit_event`) is reported through `problem`,
one detail per reason, naming the resource (`AuditEvent <id>`), its line or entry and the element;
the import then writes nothing, as for any bad record. Mapped records are validated against the
contract like every other import.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path
from typing import IO, TYPE_CHECKING, Any

from engine import json_codec
from engine.errors import ErrorDetail
from engine.records.connectors import fhir_bundle
from engine.records.connectors.fhir_auditevent import map_audit_event, reference_id, resource_label
from engine.records.validation import Position

if TYPE_CHECKING:  # the registry imports this module (importers/__init__), so not the other way at run time
    from engine.records.importers import AdvanceFn, ProblemFn

STREAMED = frozenset({".ndjson", ".jsonl"})
_SKIPPED_SEARCH_MODES = frozenset({"include", "outcome"})
#: Resources a Bundle may carry for its AuditEvents' references to name (a Patient at `urn:uuid:...`):
#: read as context, not refused as "not an AuditEvent".
REFERENCED_TYPES = frozenset({"Patient", "Practitioner", "PractitionerRole", "Device", "Organization",
                              "RelatedPerson"})


def read_fhir(
    path: Path, *, record_type: str | None, problem: ProblemFn, advance: AdvanceFn
) -> Iterator[tuple[Position, Any]]:
    """Yield the access event of each AuditEvent of a Bundle, a resource or an NDJSON file."""
    if record_type not in (None, "access_event"):
        advance(path.stat().st_size)
        problem(ErrorDetail(reason=f"FHIR AuditEvents become access_event records, not {record_type}: "
                                   "leave out --type", file=str(path)))
        return
    if path.suffix.lower() in STREAMED:
        yield from _read_lines(path, problem, advance)
    else:
        yield from _read_document(path, problem, advance)


def _mapped(
    resource: Any, position: Position, problem: ProblemFn, *,
    bundle: dict[str, dict[str, Any]] | None = None, fallback_id: str | None = None,
) -> dict[str, Any] | None:
    record, problems = map_audit_event(resource, bundle=bundle, fallback_id=fallback_id)
    if record is not None:
        return record
    kind, rid = resource_label(resource)
    for found in problems:
        problem(position.detail(found.reason, record_type=kind, record_id=rid, field=found.field))
    return None


def _read_lines(path: Path, problem: ProblemFn, advance: AdvanceFn) -> Iterator[tuple[Position, Any]]:
    from engine.records.importers.ndjson_format import json_lines  # the registry imports this module

    for position, resource in json_lines(path, problem=problem, advance=advance):
        record = _mapped(resource, position, problem)
        if record is not None:
            yield position, record


def _read_document(path: Path, problem: ProblemFn, advance: AdvanceFn) -> Iterator[tuple[Position, Any]]:
    """A Bundle streamed entry by entry (`fhir_bundle`); any other document, or one the stream cannot
    read exactly as the standard library would, read whole (`_read_whole`)."""
    progress = _Halves(advance, path.stat().st_size)

    def opener() -> IO[bytes]:
        return path.open("rb")

    found = fhir_bundle.outline(opener, progress.first)
    if found is None or found.resource_type != "Bundle":
        yield from _read_whole(path, problem, progress.finish)
        return
    name = str(path)
    if found.entry == "other":
        progress.finish()
        problem(ErrorDetail(reason="the Bundle's entry is not an array", file=name, field="entry"))
        return
    yield from _bundle_records(name, fhir_bundle.entries(opener, progress.second), found.referenced, problem)
    progress.finish()


def _read_whole(path: Path, problem: ProblemFn, finish: Callable[[], None]) -> Iterator[tuple[Position, Any]]:
    """The document read and parsed whole: a single AuditEvent, or what the stream leaves to the
    standard library's parser, whose words (line, column, the key given twice) a refusal keeps."""
    name = str(path)
    blob = path.read_bytes()
    finish()
    try:
        doc = json_codec.loads_input(blob)
    except json.JSONDecodeError as exc:
        from engine.records.importers import json_problem  # the registry imports this module

        hint = " (one resource per line? name the file .ndjson)" if exc.msg == "Extra data" else ""
        problem(json_problem(exc, name, hint=hint))
        return
    except UnicodeDecodeError as exc:
        from engine.records.importers import not_utf8

        problem(not_utf8(exc, name))
        return
    if not isinstance(doc, dict) or doc.get("resourceType") not in ("Bundle", "AuditEvent"):
        problem(ErrorDetail(reason="expected a FHIR Bundle of AuditEvent resources or one AuditEvent "
                                   "(an object with resourceType), or an .ndjson file of them", file=name))
        return
    if doc["resourceType"] == "AuditEvent":
        position = Position(file=name, index=0)
        record = _mapped(doc, position, problem)
        if record is not None:
            yield position, record
        return
    entries = doc.get("entry", [])
    if not isinstance(entries, list):
        problem(ErrorDetail(reason="the Bundle's entry is not an array", file=name, field="entry"))
        return
    bundle = {e["fullUrl"]: e["resource"] for e in entries
              if isinstance(e, dict) and isinstance(e.get("fullUrl"), str) and isinstance(e.get("resource"), dict)}
    yield from _bundle_records(name, entries, bundle, problem)


def _bundle_records(name: str, entries: Iterable[Any], bundle: dict[str, dict[str, Any]],
                    problem: ProblemFn) -> Iterator[tuple[Position, Any]]:
    """The access events of a Bundle's entries; `bundle` holds its entries by `fullUrl`, for the
    references that name them."""
    context = total = 0
    for index, entry in enumerate(entries):
        total += 1
        position = Position(file=name, index=index)
        if isinstance(entry, dict) and entry.get("resource") is None and _deleted(entry):
            continue  # a history Bundle's deletion: no resource, nothing that happened to import
        if not isinstance(entry, dict) or not isinstance(entry.get("resource"), dict):
            problem(position.detail("a Bundle entry without a resource", field=f"entry[{index}].resource"))
            continue
        search = entry.get("search")
        if isinstance(search, dict) and search.get("mode") in _SKIPPED_SEARCH_MODES:
            continue
        resource = entry["resource"]
        if resource.get("resourceType") in REFERENCED_TYPES:
            context += 1  # what the AuditEvents' references name (urn:uuid:...), read through `bundle`
            continue
        full_url = entry.get("fullUrl")
        fallback = _entry_id(full_url) if isinstance(full_url, str) else None
        record = _mapped(resource, position, problem, bundle=bundle, fallback_id=fallback)
        if record is not None:
            yield position, record
    if context and context == total:
        problem(ErrorDetail(reason="the Bundle holds no AuditEvent, only resources AuditEvents refer to "
                                   "(Patient, Practitioner, ...): export the AuditEvents", file=name, field="entry"))


class _Halves:
    """Byte progress over a document read twice: each pass reports half of what it reads, and
    `finish` whatever is left (a pass given up on, or a whole read instead)."""

    def __init__(self, advance: AdvanceFn, size: int) -> None:
        self._advance = advance
        self._size = size
        self._read = [0, 0]
        self._reported = 0

    def first(self, nbytes: int) -> None:
        self._step(0, nbytes)

    def second(self, nbytes: int) -> None:
        self._step(1, nbytes)

    def _step(self, which: int, nbytes: int) -> None:
        self._read[which] += nbytes
        due = min(self._size, self._read[0] // 2 + (self._read[1] - self._read[1] // 2))
        if due > self._reported:
            self._advance(due - self._reported)
            self._reported = due

    def finish(self) -> None:
        if self._reported < self._size:
            self._advance(self._size - self._reported)
            self._reported = self._size


def _deleted(entry: dict[str, Any]) -> bool:
    request = entry.get("request")
    return isinstance(request, dict) and request.get("method") == "DELETE"


def _entry_id(full_url: str) -> str | None:
    """The id a Bundle entry's `fullUrl` gives its resource: `urn:uuid:<u>` -> `<u>`,
    `https://ehr/fhir/AuditEvent/ae-1` -> `ae-1`."""
    for prefix in ("urn:uuid:", "urn:oid:"):
        if full_url.startswith(prefix):
            return full_url[len(prefix):] or None
    kind, rid = reference_id(full_url)
    return rid if kind == "AuditEvent" else None
