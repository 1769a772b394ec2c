"""FHIR R4 AuditEvent (IHE BALP shape) -> one `access_event` record: the mapping, pure.

Why a module of its own: the mapping is the part a privacy officer asks about ("which agent is the
user? what counts as an export?"), so it is written once here, with its choices spelled out, and the
reader (`fhir_reader.py`) only walks files. Every element is judged, and every reason a resource
cannot become an access event is collected, so one pass names every problem of a resource:

| access_event | from the AuditEvent |
|---|---|
| `id` | `id` (so re-importing the same export is a no-op) |
| `at` | `period.start` when given, else `recorded` (an instant with an offset, kept as given): |
|  | `period` is when the access happened, `recorded` when it was written down, which an EHR |
|  | that batches its audit writes does minutes or hours later |
| `user_id` | the agent with `requestor: true`: `who.identifier.value`, else what `who.reference` names |
| `patient_id` | the entities with role `1` (object-role Patient) or no role and `what` = `Patient/<id>`, |
|  | else one whose `what` is otherwise a Patient (another role, `what.type`, a resolved reference): |
|  | its `what.identifier.value` beside a `#ref`, else what `what.reference` names, else the identifier |
| `action` | `subtype` codes, then `type` DICOM 110106, then `action` (table `SUBTYPE_ACTIONS`, `ACTION_CODES`) |
| `system_id` | `source.observer`: `identifier.value`, else what `reference` names, else `display` |
| `break_glass` | `BTG` among the requestor's `purposeOfUse` or the event's `purposeOfEvent` codes |

What a reference names (`Resolver`): `Patient/p1` (any base, any `_history`) names `p1`; `#p1`, a
resource contained in this AuditEvent, names that resource's first identifier (its local id means
nothing outside the event, and two events' `#p1` are different people); a reference to another
entry of the same Bundle (`urn:uuid:...` = that entry's `fullUrl`) names that resource's id; any
other reference is its own id.

Refused (each a problem naming the element): a resource that is not an AuditEvent, no `id`, no or
a naive `recorded` (required in FHIR R4 even when `period` is given), a `period` that is not an
object, a naive `period.start` or `period.end` or one that ends before it starts, no requestor or
two requestors naming different users, no patient or several, an action that cannot be told, an
`outcome` other than `0` (a failed attempt is not an access that happened), no `source.observer`,
a contained reference that names nothing, and any `modifierExtension` (FHIR forbids acting on an
element whose modifier extension the reader does not know: it may say "this access did not happen").
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Mapping
from typing import Any, NamedTuple

import orjson
from pydantic_core import PydanticCustomError

from engine.records.fields import parse_instant

OBJECT_ROLE = "http://terminology.hl7.org/CodeSystem/object-role"
DICOM = "http://dicom.nema.org/resources/ontology/DCM"

#: subtype code (any system; BALP uses http://hl7.org/fhir/restful-interaction) -> action. Reads and
#: searches are views; every change (create, update, patch, delete) is an edit; `print` and
#: `export`/`$export` (the bulk-data operation) have no standard code, so these spellings are taken.
SUBTYPE_ACTIONS: dict[str, str] = {
    "read": "view", "vread": "view", "search": "view", "search-type": "view", "search-system": "view",
    "history": "view", "history-instance": "view", "history-type": "view", "history-system": "view",
    "create": "edit", "update": "edit", "patch": "edit", "delete": "edit",
    "print": "print",
    "export": "export", "$export": "export",
}  # fmt: skip
#: DICOM audit event types (AuditEvent.type) that say the action by themselves.
TYPE_ACTIONS: dict[tuple[str, str], str] = {(DICOM, "110106"): "export"}
#: AuditEvent.action (C|R|U|D|E), used when neither subtype nor type says more. E (execute) says nothing.
ACTION_CODES: dict[str, str] = {"R": "view", "C": "edit", "U": "edit", "D": "edit"}
#: When several codes say different things, the most telling one wins: an export or a print is also a read.
PRIORITY = ("export", "print", "edit", "view")
OUTCOMES = {"4": "minor failure", "8": "serious failure", "12": "major failure"}
BREAK_GLASS = "BTG"


class Problem(NamedTuple):
    """Why one element of a resource cannot be mapped: the element's path and the reason."""

    field: str | None
    reason: str


def resource_label(resource: Any) -> tuple[str, str | None]:
    """(resourceType, id) of a resource as error details name it."""
    if not isinstance(resource, dict):
        return "resource", None
    kind = resource.get("resourceType")
    rid = resource.get("id")
    return (kind if isinstance(kind, str) and kind else "resource"), (rid if isinstance(rid, str) and rid else None)


class Resolver:
    """What the references of one AuditEvent name: its contained resources and its Bundle's entries.

    Why not just the text after the last slash: `#p1` is local to one resource (two events' `#p1`
    are different people), and `urn:uuid:...` is a Bundle-local name of another entry; taken
    literally, both would merge strangers into one user or patient."""

    def __init__(self, resource: dict[str, Any], bundle: Mapping[str, dict[str, Any]] | None = None) -> None:
        contained = resource.get("contained")
        self._contained = {c["id"]: c for c in (contained if isinstance(contained, list) else [])
                           if isinstance(c, dict) and isinstance(c.get("id"), str)}
        self._bundle = bundle or {}

    def names(self, ref: str) -> tuple[str | None, str | None]:
        """(id, None) for what `ref` names, or (None, why it names nothing)."""
        if ref.startswith("#"):
            target = self._contained.get(ref[1:])
            if target is None:
                return None, f"reference {ref!r} points to a contained resource this AuditEvent does not hold"
            ident = _first_identifier(target)
            if ident is None:
                return None, (f"reference {ref!r} points to a contained {target.get('resourceType', 'resource')} "
                              "without an identifier, and a contained resource's own id means nothing outside "
                              "this AuditEvent")
            return ident, None
        entry = self._bundle.get(ref)
        if entry is not None:
            rid = entry.get("id")
            if isinstance(rid, str) and rid:
                return rid, None
            ident = _first_identifier(entry)
            if ident is not None:
                return ident, None
            return None, f"reference {ref!r} points to a Bundle entry with neither an id nor an identifier"
        return reference_id(ref)[1], None

    def kind(self, ref: str) -> str | None:
        """The resource type `ref` points to, when it can be told."""
        target = self._contained.get(ref[1:]) if ref.startswith("#") else self._bundle.get(ref)
        if target is not None:
            kind = target.get("resourceType")
            return kind if isinstance(kind, str) else None
        return reference_id(ref)[0]


def map_audit_event(
    resource: Any, *, bundle: Mapping[str, dict[str, Any]] | None = None, fallback_id: str | None = None
) -> tuple[dict[str, Any] | None, list[Problem]]:
    """The `access_event` a FHIR R4 AuditEvent stands for, or None and every reason it cannot be one.

    `bundle` holds the other resources of the AuditEvent's Bundle by `fullUrl` (what a `urn:uuid:`
    reference names); `fallback_id` is the id a Bundle entry's `fullUrl` gives an AuditEvent posted
    without one (a transaction Bundle's entries have none)."""
    if not isinstance(resource, dict):
        return None, [Problem(None, f"expected a FHIR resource (a JSON object), got {_kind(resource)}")]
    kind = resource.get("resourceType")
    if kind != "AuditEvent":
        shown = f"a {kind} resource" if isinstance(kind, str) and kind else "a resource without resourceType"
        return None, [Problem("resourceType", f"{shown}, not an AuditEvent: only AuditEvent resources "
                                              "become access events")]
    problems: list[Problem] = []
    record: dict[str, Any] = {"type": "access_event"}
    rid = resource.get("id")
    if isinstance(rid, str) and rid:
        record["id"] = rid
    elif fallback_id:
        record["id"] = fallback_id
    else:
        problems.append(Problem("id", "missing: the resource id becomes the access_event id (so that "
                                      "re-importing the same export is a no-op)"))
    resolver = Resolver(resource, bundle)
    if _holds_modifier(resource):  # the quick look first: naming the paths costs 4x the whole mapping
        _modifiers(resource, "", problems)
    _at(resource, record, problems)
    requestors = _user(resource, resolver, record, problems)
    _patient(resource, resolver, record, problems)
    _action(resource, record, problems)
    _outcome(resource, problems)
    _system(resource, resolver, record, problems)
    purposes = [a.get("purposeOfUse") for a in requestors] + [resource.get("purposeOfEvent")]
    record["break_glass"] = any(BREAK_GLASS in _concept_codes(p) for p in purposes)
    return (None, problems) if problems else (record, [])


def reference_id(reference: str) -> tuple[str | None, str]:
    """(resource type, id) of a FHIR reference: `Patient/p1`, `https://ehr/fhir/Patient/p1/_history/2`
    -> ("Patient", "p1"); a reference of another form (`urn:uuid:...`, `#contained`) is its own id."""
    text = reference.split("/_history/", 1)[0].rstrip("/")
    parts = text.split("/")
    if len(parts) >= 2 and parts[-2][:1].isalpha() and parts[-2][:1].isupper() and parts[-1]:
        return parts[-2], parts[-1]
    return None, reference


def _at(resource: dict[str, Any], record: dict[str, Any], problems: list[Problem]) -> None:
    """`at` from `period.start`, else `recorded`. FHIR R4's `period` is "the period during which the
    activity occurred" and `recorded` the time the event was recorded: an EHR that batches its audit
    writes records them minutes or hours after the access, and the rules judge when the access
    happened. `recorded` is required (and checked) either way."""
    found: list[Problem] = []
    at = resource.get("recorded")
    if at is None:
        found.append(Problem("recorded", "missing: when the event was recorded (required in FHIR R4)"))
    else:
        _instant(at, "recorded", found)
    period = resource.get("period")
    if period is not None and not isinstance(period, dict):
        found.append(Problem("period", f"expected an object (start, end), got {_kind(period)}"))
    elif isinstance(period, dict):
        _period(period, found)
        if period.get("start") is not None:
            at = period["start"]
    problems.extend(found)
    if not found:
        record["at"] = at


#: A FHIR dateTime given to the year, month or day only (valid for a period's end, which `at` never reads).
_PARTIAL_DATE = re.compile(r"^[0-9]{4}(-[0-9]{2}(-[0-9]{2})?)?$")


def _a_calendar_date(text: str) -> bool:
    """Whether a year, year-month or date names a day that exists (2026-02-30 does not)."""
    try:
        dt.date.fromisoformat((text + "-01-01")[:10] if len(text) < 10 else text)
    except ValueError:
        return False
    return True


def _period(period: dict[str, Any], problems: list[Problem]) -> None:
    """Problems of a `period`: a start without an offset, an end that is neither an instant with an
    offset nor a date (FHIR's dateTime may stop at the day, month or year), or an end before the start
    (FHIR R4's invariant per-1: "if present, start SHALL have a lower value than end"). A period that
    ends before it starts was written wrong, and which of its two times the access happened at cannot
    be told. A partial end is compared at its own precision, with the start's date as written."""
    found: list[Problem] = []
    start, end = period.get("start"), period.get("end")
    if start is not None:
        _instant(start, "period.start", found)
    partial = isinstance(end, str) and _PARTIAL_DATE.match(end) is not None
    if partial and not _a_calendar_date(str(end)):
        found.append(Problem("period.end", f"no such date: {end!r}"))
    elif end is not None and not partial:
        _instant(end, "period.end", found)
    problems.extend(found)
    if found or start is None or end is None:
        return
    before = str(start)[:len(end)] > end if partial else parse_instant(end) < parse_instant(start)
    if before:
        problems.append(Problem("period.end", f"ends before it starts ({end} is before {start}): FHIR requires "
                                              "a period's start to come first"))


def _holds_modifier(resource: dict[str, Any]) -> bool:
    """Whether a `modifierExtension` may sit anywhere in the resource: its name in the resource's
    JSON text, written by orjson in a few microseconds (walking the elements in Python cost twice
    the rest of the mapping). A string value that merely mentions the word is then walked for."""
    try:
        return b'"modifierExtension"' in orjson.dumps(resource)
    except TypeError:  # not JSON data (never from a parsed file): walk it
        return True


def _modifiers(element: Any, path: str, problems: list[Problem]) -> None:
    """A problem for every `modifierExtension`, wherever it sits: FHIR R4 says a reader that does not
    know one must not process the element, since it may reverse its meaning (an access "not done")."""
    if isinstance(element, list):
        for i, item in enumerate(element):
            _modifiers(item, f"{path}[{i}]", problems)
        return
    if not isinstance(element, dict):
        return
    for key, value in element.items():
        where = f"{path}.{key}" if path else key
        if key == "modifierExtension" and value != []:  # an empty list holds no extension
            urls = [e.get("url") for e in value if isinstance(e, dict)] if isinstance(value, list) else []
            named = ", ".join(repr(u) for u in urls if isinstance(u, str)) or "without a url"
            problems.append(Problem(where, f"a modifier extension ({named}) may change what the element means, "
                                           "and FHIR forbids reading an element whose modifier extension is not "
                                           "understood: leave it out of the export, or the AuditEvent out"))
        else:
            _modifiers(value, where, problems)


def _instant(value: Any, field: str, problems: list[Problem]) -> None:
    """A problem naming `field` unless `value` is an instant with an offset."""
    try:
        parse_instant(value)
    except PydanticCustomError as exc:
        problems.append(Problem(field, exc.message()))


def _user(
    resource: dict[str, Any], resolver: Resolver, record: dict[str, Any], problems: list[Problem]
) -> list[dict[str, Any]]:
    """Set `user_id` from the requestor agent(s); returns them (for their purposeOfUse)."""
    agents = resource.get("agent")
    if not isinstance(agents, list) or not agents:
        problems.append(Problem("agent", "missing: the agents say who accessed the record (required in FHIR R4)"
                                if agents is None else "the agents array is empty: FHIR R4 requires at least one "
                                "agent, the one who accessed the record" if agents == []
                                else f"expected an array of agents, got {_kind(agents)}"))
        return []
    requestors = [(i, a) for i, a in enumerate(agents) if isinstance(a, dict) and a.get("requestor") is True]
    if not requestors:
        problems.append(Problem("agent", "no agent has requestor: true; the requestor is the user who accessed "
                                         "the record (BALP's user agent)"))
        return []
    users: dict[str, int] = {}
    for i, agent in requestors:
        user, why = _who_id(agent.get("who"), resolver)
        if user is None:
            problems.append(Problem(f"agent[{i}].who", f"{why or 'the requestor names no user'}: give "
                                                       "who.identifier.value or who.reference"))
            continue
        users.setdefault(user, i)
    if len(users) > 1:
        named = ", ".join(f"agent[{i}] {u!r}" for u, i in users.items())
        problems.append(Problem("agent", f"several requestors name different users ({named}); an access_event "
                                         "has one user"))
    elif users:
        record["user_id"] = next(iter(users))
    return [a for _, a in requestors]


def _patient(resource: dict[str, Any], resolver: Resolver, record: dict[str, Any], problems: list[Problem]) -> None:
    """`patient_id` from the patient entity. BALP marks it with role 1; an entity with no role whose
    `what` is `Patient/<id>` counts alongside (a second patient must not go unnoticed), as both did
    before references were resolved. Only when neither is there do the weaker signs count: `what`
    under another role pointing to a Patient (4, the data read, when the Patient resource itself was
    read: a PatientRead of a Patient names one patient, not two), `what.type` Patient, or a `#ref` or
    `urn:uuid:` that resolves to a Patient.

    The entity's own `what.identifier` wins over what a contained `#ref` resolves to, as it did
    before contained resources were read: a contained Patient listing an SSN first had turned an
    MRN-keyed patient into the SSN, and the same export into a changed record."""
    entities = resource.get("entity")
    if entities is not None and not isinstance(entities, list):
        problems.append(Problem("entity", f"expected an array of entities, got {_kind(entities)}"))
        return
    marked: list[tuple[int, dict[str, Any]]] = []
    weaker: list[tuple[int, dict[str, Any]]] = []
    for i, entity in enumerate(entities or []):
        if not isinstance(entity, dict):
            continue
        what = _obj(entity.get("what"))
        role = _obj(entity.get("role"))
        ref = what.get("reference")
        ref = ref if isinstance(ref, str) and ref else None
        if role.get("code") == "1" and role.get("system") in (None, OBJECT_ROLE):
            marked.append((i, what))
        elif not role and ref is not None and reference_id(ref)[0] == "Patient":
            marked.append((i, what))
        elif what.get("type") == "Patient" or (ref is not None and resolver.kind(ref) == "Patient"):
            weaker.append((i, what))
    patients: dict[str, int] = {}
    for i, what in marked or weaker:
        ref = what.get("reference")
        value = _obj(what.get("identifier")).get("value")
        value = value if isinstance(value, str) and value else None
        patient: str | None
        why: str | None
        if isinstance(ref, str) and ref.startswith("#") and value is not None:
            patient, why = value, None
        else:
            patient, why = resolver.names(ref) if isinstance(ref, str) and ref else (None, None)
            patient = patient or value
        if patient is None:
            problems.append(Problem(f"entity[{i}].what", f"{why or 'the patient entity names no patient'}: give "
                                                         "what.reference (Patient/<id>) or what.identifier.value"))
            continue
        patients.setdefault(patient, i)
    if not patients:
        if not any(p.field and p.field.startswith("entity[") for p in problems):
            problems.append(Problem("entity", "no entity names the patient (role 1 'Patient', or what = "
                                              "Patient/<id>); an access_event is an access to one patient's data"))
    elif len(patients) > 1:
        named = ", ".join(f"entity[{i}] {p!r}" for p, i in patients.items())
        problems.append(Problem("entity", f"several patients ({named}); an access_event is about one patient: "
                                          "export one AuditEvent per patient"))
    else:
        record["patient_id"] = next(iter(patients))


def _action(resource: dict[str, Any], record: dict[str, Any], problems: list[Problem]) -> None:
    subtypes = resource.get("subtype")
    found = {SUBTYPE_ACTIONS[c] for c in _coding_codes(subtypes) if c in SUBTYPE_ACTIONS}
    etype = resource.get("type")
    if isinstance(etype, dict):
        mapped = TYPE_ACTIONS.get((str(etype.get("system")), str(etype.get("code"))))
        if mapped:
            found.add(mapped)
    if found:
        record["action"] = next(a for a in PRIORITY if a in found)
        return
    code = resource.get("action")
    if isinstance(code, str) and code in ACTION_CODES:
        record["action"] = ACTION_CODES[code]
        return
    said = f"action is {code!r}" if code is not None else "there is no action"
    codes = sorted(_coding_codes(subtypes))
    problems.append(Problem("subtype" if codes else "action",
                            f"cannot tell view, print, export or edit: {said}, "
                            f"{'subtype codes ' + ', '.join(map(repr, codes)) if codes else 'no subtype'} "
                            f"(known: {', '.join(SUBTYPE_ACTIONS)}) and type is not DICOM 110106 (Export)"))


def _outcome(resource: dict[str, Any], problems: list[Problem]) -> None:
    outcome = resource.get("outcome")
    if outcome is None or outcome == "0":
        return
    if outcome not in OUTCOMES:  # a number 0, or no code at all: said so, not read as a failed access
        problems.append(Problem("outcome", f"outcome {outcome!r} is not a FHIR R4 outcome code: a string, one of "
                                           "'0' (success), '4', '8' or '12' (failures)"))
        return
    problems.append(Problem("outcome", f"outcome {outcome!r} ({OUTCOMES[outcome]}): the access failed, and an "
                                       "access_event records an access that happened; leave failed attempts out "
                                       "of the export"))


def _system(resource: dict[str, Any], resolver: Resolver, record: dict[str, Any], problems: list[Problem]) -> None:
    source = resource.get("source")
    observer = source.get("observer") if isinstance(source, dict) else None
    if not isinstance(observer, dict):
        field = "source.observer" if isinstance(source, dict) else "source"
        problems.append(Problem(field, "missing: the system that recorded the access (required in FHIR R4)"))
        return
    system, why = _who_id(observer, resolver)
    if system is None:
        display = observer.get("display")
        system = display if isinstance(display, str) and display.strip() else None
    if system is None:
        problems.append(Problem("source.observer", f"{why or 'names no system'}: give identifier.value, "
                                                   "reference or display"))
        return
    record["system_id"] = system


def _who_id(who: Any, resolver: Resolver) -> tuple[str | None, str | None]:
    """(id, None) for what a Reference names: its identifier's value, else what its reference names;
    or (None, why not) when the reference names nothing."""
    if not isinstance(who, dict):
        return None, None
    ident = who.get("identifier")
    if isinstance(ident, dict) and isinstance(ident.get("value"), str) and ident["value"]:
        return str(ident["value"]), None
    ref = who.get("reference")
    if isinstance(ref, str) and ref:
        return resolver.names(ref)
    return None, None


def _first_identifier(resource: dict[str, Any]) -> str | None:
    """The first identifier value of a resource (an NPI, an MRN, a device serial)."""
    idents = resource.get("identifier")
    for ident in idents if isinstance(idents, list) else [idents]:
        if isinstance(ident, dict) and isinstance(ident.get("value"), str) and ident["value"]:
            return str(ident["value"])
    return None


def _coding_codes(codings: Any) -> set[str]:
    """The codes of a list of Codings."""
    if not isinstance(codings, list):
        return set()
    return {c["code"] for c in codings if isinstance(c, dict) and isinstance(c.get("code"), str)}


def _concept_codes(concepts: Any) -> set[str]:
    """The codes of a list of CodeableConcepts."""
    if not isinstance(concepts, list):
        return set()
    return set().union(*(_coding_codes(c.get("coding")) for c in concepts if isinstance(c, dict)))


def _obj(value: Any) -> dict[str, Any]:
    """A JSON object, or an empty one for anything else (a malformed element names nothing)."""
    return value if isinstance(value, dict) else {}


def _kind(value: Any) -> str:
    return {dict: "an object", list: "an array", str: "a string", bool: "a boolean", type(None): "null"}.get(
        type(value), "a number")
