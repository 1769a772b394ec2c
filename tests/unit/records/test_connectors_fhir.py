"""The FHIR R4 AuditEvent connector: the BALP mapping to access_event, and the `fhir` reader's shapes."""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

import pytest

from engine.errors import ErrorDetail
from engine.records.connectors.fhir_auditevent import map_audit_event, reference_id
from engine.records.importers import FORMATS, reader_for
from engine.records.validation import Position, validate_record
from tests.conftest import SHARED

EXAMPLE_PATH = SHARED / "formats" / "fhir" / "auditevent-r4-balp-patientread-example.json"
EXAMPLE: dict[str, Any] = json.loads(EXAMPLE_PATH.read_text(encoding="utf-8"))


def example(**changes: Any) -> dict[str, Any]:
    resource = copy.deepcopy(EXAMPLE)
    for key, value in changes.items():
        if value is None:
            resource.pop(key, None)
        else:
            resource[key] = value
    return resource


def mapped(resource: dict[str, Any]) -> dict[str, Any]:
    record, problems = map_audit_event(resource)
    assert problems == [] and record is not None
    validate_record(record)  # every mapped record is a valid access_event
    return record


def problems_of(resource: Any) -> dict[str | None, str]:
    record, problems = map_audit_event(resource)
    assert record is None
    return {p.field: p.reason for p in problems}


def user_agent(resource: dict[str, Any]) -> dict[str, Any]:
    return next(a for a in resource["agent"] if a.get("requestor"))


# ---- the mapping --------------------------------------------------------------------------------


def test_the_balp_patient_read_example_is_a_view_by_its_user_of_its_patient() -> None:
    assert mapped(EXAMPLE) == {
        "type": "access_event", "id": "ehr-view-98765", "at": "2026-01-14T22:41:07-05:00", "user_id": "u123",
        "patient_id": "p456", "action": "view", "system_id": "EHR production audit subsystem", "break_glass": False,
    }


@pytest.mark.parametrize(("code", "action"), [
    ("read", "view"), ("vread", "view"), ("search-type", "view"), ("create", "edit"), ("update", "edit"),
    ("patch", "edit"), ("delete", "edit"), ("print", "print"), ("export", "export"), ("$export", "export"),
])  # fmt: skip
def test_subtype_codes_say_the_action(code: str, action: str) -> None:
    resource = example(subtype=[{"system": "http://hl7.org/fhir/restful-interaction", "code": code}])
    assert mapped(resource)["action"] == action


@pytest.mark.parametrize(("code", "action"), [("R", "view"), ("C", "edit"), ("U", "edit"), ("D", "edit")])
def test_without_a_known_subtype_the_action_code_says_it(code: str, action: str) -> None:
    assert mapped(example(subtype=None, action=code))["action"] == action


def test_dicom_export_type_and_the_most_telling_of_several_codes_win() -> None:
    export_type = {"system": "http://dicom.nema.org/resources/ontology/DCM", "code": "110106", "display": "Export"}
    assert mapped(example(type=export_type, subtype=None, action="R"))["action"] == "export"
    both = [{"code": "read"}, {"code": "print"}]
    assert mapped(example(subtype=both))["action"] == "print"


def test_an_action_nothing_says_is_an_error_naming_the_codes() -> None:
    found = problems_of(example(subtype=[{"code": "transmit"}], action="E"))
    assert "cannot tell view, print, export or edit: action is 'E', subtype codes 'transmit'" in found["subtype"]


def test_break_glass_from_the_requestors_purpose_of_use_or_the_events_purpose() -> None:
    btg = [{"coding": [{"system": "http://terminology.hl7.org/CodeSystem/v3-ActReason", "code": "BTG"}]}]
    resource = example()
    user_agent(resource)["purposeOfUse"] = btg
    assert mapped(resource)["break_glass"] is True
    assert mapped(example(purposeOfEvent=btg))["break_glass"] is True
    # a BTG on an agent that is not the requestor (the workstation) is not the user's purpose
    resource = example()
    resource["agent"][0]["purposeOfUse"] = btg
    assert mapped(resource)["break_glass"] is False


def test_references_give_their_id_and_identifiers_win_over_references() -> None:
    resource = example()
    user_agent(resource)["who"] = {"reference": "Practitioner/pr-7"}
    resource["entity"][0]["what"] = {"reference": "https://ehr.example/fhir/Patient/p9/_history/3"}
    resource["source"]["observer"] = {"reference": "Device/ehr-prod", "identifier": {"value": "EHR"}}
    record = mapped(resource)
    assert (record["user_id"], record["patient_id"], record["system_id"]) == ("pr-7", "p9", "EHR")
    assert reference_id("urn:uuid:1234") == (None, "urn:uuid:1234")


def test_patient_found_by_reference_without_the_object_role() -> None:
    resource = example()
    resource["entity"] = [{"what": {"reference": "Patient/p1"}}, resource["entity"][1]]
    assert mapped(resource)["patient_id"] == "p1"
    resource["entity"] = [{"role": {"code": "1"}, "what": {"identifier": {"value": "MRN-55"}}}]
    assert mapped(resource)["patient_id"] == "MRN-55"


def test_every_problem_of_a_resource_is_named_with_its_element() -> None:
    resource = example(id=None, recorded="2026-01-14T22:41:07", outcome="8", entity=[])
    resource["source"] = {"site": "Main St"}
    for agent in resource["agent"]:
        agent["requestor"] = False
    found = problems_of(resource)
    assert set(found) == {"id", "recorded", "agent", "entity", "outcome", "source.observer"}
    assert found["recorded"].startswith("instant without an offset: '2026-01-14T22:41:07'")
    assert "no agent has requestor: true" in found["agent"]
    assert "no entity names the patient" in found["entity"]
    assert found["outcome"].startswith("outcome '8' (serious failure): the access failed")


def test_an_outcome_that_is_no_code_is_named_as_such_not_as_a_failed_access() -> None:
    """Interop pass: `"outcome": 0` (a number) was refused as "the access failed"."""
    for outcome in (0, "5", 8):
        said = problems_of(example(outcome=outcome))["outcome"]
        assert said.startswith(f"outcome {outcome!r} is not a FHIR R4 outcome code: a string, one of '0'"), said
        assert "failed" not in said.split(":")[0]
    assert map_audit_event(example(outcome="0"))[0] is not None  # success: imported


def test_an_empty_agent_array_is_named_as_empty() -> None:
    """The docs probe: `"agent": []` was "expected an array of agents, got an array"."""
    assert problems_of(example(agent=[]))["agent"].startswith("the agents array is empty")


def test_missing_recorded_two_users_and_two_patients_are_errors() -> None:
    resource = example(recorded=None)
    resource["agent"][0]["requestor"] = True  # the workstation also claims to be the requestor
    resource["entity"].append({"what": {"reference": "Patient/p999"}})
    found = problems_of(resource)
    assert found["recorded"].startswith("missing")
    assert "several requestors name different users (agent[0] 'WS-FRONTDESK-02', agent[2] 'u123')" in found["agent"]
    assert "several patients (entity[0] 'p456', entity[2] 'p999')" in found["entity"]


def test_at_is_when_the_access_happened_period_start_not_when_it_was_recorded() -> None:
    """An EHR that batches its audit writes records an access hours after it; `at` had been `recorded`."""
    resource = example(period={"start": "2026-01-14T19:02:55-05:00", "end": "2026-01-14T19:03:10-05:00"})
    assert mapped(resource)["at"] == "2026-01-14T19:02:55-05:00"


def test_a_period_without_a_start_falls_back_to_recorded() -> None:
    assert mapped(example(period={"end": "2026-01-14T19:03:10-05:00"}))["at"] == EXAMPLE["recorded"]


def test_a_bad_period_start_is_a_problem_naming_it_and_recorded_stays_required() -> None:
    found = problems_of(example(period={"start": "2026-01-14T19:02:55"}))
    assert set(found) == {"period.start"}
    assert found["period.start"].startswith("instant without an offset: '2026-01-14T19:02:55'")
    assert problems_of(example(period="2026-01-14"))["period"] == "expected an object (start, end), got a string"
    missing = problems_of(example(recorded=None, period={"start": "2026-01-14T19:02:55-05:00"}))
    assert set(missing) == {"recorded"} and missing["recorded"].startswith("missing")


def test_a_period_ending_before_it_starts_or_with_a_naive_end_is_refused() -> None:
    """FHIR's per-1: a period's start comes first; one written backwards cannot say when the access was."""
    backwards = problems_of(example(period={"start": "2026-01-14T19:03:10-05:00", "end": "2026-01-14T19:02:55-05:00"}))
    assert set(backwards) == {"period.end"} and backwards["period.end"].startswith("ends before it starts")
    # the same instant written in two offsets is not backwards
    same = example(period={"start": "2026-01-15T00:03:10Z", "end": "2026-01-14T19:03:10-05:00"})
    assert mapped(same)["at"] == "2026-01-15T00:03:10Z"
    naive = problems_of(example(period={"start": "2026-01-14T19:02:55-05:00", "end": "2026-01-14T19:03:10"}))
    assert set(naive) == {"period.end"} and naive["period.end"].startswith("instant without an offset")
    # FHIR's dateTime may stop at the day, month or year: compared at that precision
    for end in ("2026-01-14", "2026-01", "2026", "2026-02-01"):
        assert mapped(example(period={"start": "2026-01-14T19:02:55-05:00", "end": end}))["at"] == (
            "2026-01-14T19:02:55-05:00")
    early = problems_of(example(period={"start": "2026-01-14T19:02:55-05:00", "end": "2026-01-13"}))
    assert set(early) == {"period.end"} and early["period.end"].startswith("ends before it starts")
    for nonsense in ("2026-02-30", "2026-13", "2026-99-99"):
        wrong = problems_of(example(period={"start": "2026-01-14T19:02:55-05:00", "end": nonsense}))
        assert wrong == {"period.end": f"no such date: {nonsense!r}"}, nonsense


def test_a_requestor_without_a_user_names_its_agent() -> None:
    resource = example()
    user_agent(resource)["who"] = {"display": "Jane Roe"}
    assert "names no user" in problems_of(resource)["agent[2].who"]


def test_other_resources_are_not_audit_events() -> None:
    found = problems_of({"resourceType": "Patient", "id": "p1"})
    assert "a Patient resource, not an AuditEvent" in found["resourceType"]
    assert problems_of([1]) == {None: "expected a FHIR resource (a JSON object), got an array"}


# ---- the reader ---------------------------------------------------------------------------------


def read(path: Path, record_type: str | None = None) -> tuple[list[tuple[Position, Any]], list[ErrorDetail]]:
    problems: list[ErrorDetail] = []
    advanced: list[int] = []
    records = list(reader_for("fhir")(path, record_type=record_type, problem=problems.append, advance=advanced.append))
    assert sum(advanced) == path.stat().st_size, "progress must account for every byte"
    return records, problems


def test_fhir_is_a_registered_import_format() -> None:
    assert "fhir" in FORMATS and "leie" in FORMATS


def test_a_single_resource_and_a_bundle(tmp_path: Path) -> None:
    records, problems = read(EXAMPLE_PATH)
    assert problems == [] and [r["id"] for _, r in records] == ["ehr-view-98765"]
    second = example(id="ehr-view-2")
    bundle = {"resourceType": "Bundle", "type": "searchset", "entry": [
        {"resource": EXAMPLE, "search": {"mode": "match"}},
        {"resource": {"resourceType": "Patient", "id": "p456"}, "search": {"mode": "include"}},
        {"resource": second},
    ]}  # fmt: skip
    path = tmp_path / "bundle.json"
    path.write_text(json.dumps(bundle), encoding="utf-8")
    records, problems = read(path)
    assert problems == []
    assert [(p.index, r["id"]) for p, r in records] == [(0, "ehr-view-98765"), (2, "ehr-view-2")]


def test_a_bad_entry_is_named_by_index_resource_and_element(tmp_path: Path) -> None:
    bundle = {"resourceType": "Bundle", "entry": [{"resource": EXAMPLE}, {"resource": example(recorded="2026-01-14")}]}
    path = tmp_path / "bundle.json"
    path.write_text(json.dumps(bundle), encoding="utf-8")
    records, problems = read(path)
    assert len(records) == 1
    (detail,) = problems
    assert (detail.index, detail.record_type, detail.record_id, detail.field) == (1, "AuditEvent", "ehr-view-98765",
                                                                                  "recorded")
    assert detail.location() == f"{path}, record #1, AuditEvent ehr-view-98765, field recorded"


def test_ndjson_is_read_line_by_line_with_line_numbers(tmp_path: Path) -> None:
    lines = [json.dumps(example(id="a")), "", "{not json", json.dumps(example(id="b", action="X", subtype=None))]
    path = tmp_path / "AuditEvent.ndjson"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    records, problems = read(path)
    assert [(p.line, r["id"]) for p, r in records] == [(1, "a")]
    assert [(d.line, d.record_id, d.field) for d in problems] == [(3, None, None), (4, "b", "action")]


def test_ndjson_in_a_json_file_gets_a_hint_and_type_must_be_access_event(tmp_path: Path) -> None:
    path = tmp_path / "events.json"
    path.write_text(json.dumps(EXAMPLE) + "\n" + json.dumps(EXAMPLE) + "\n", encoding="utf-8")
    _, problems = read(path)
    assert "name the file .ndjson" in problems[0].reason
    _, problems = read(EXAMPLE_PATH, record_type="person")
    assert "become access_event records, not person" in problems[0].reason
    assert read(EXAMPLE_PATH, record_type="access_event")[1] == []


def test_a_contained_patient_reference_is_no_patient_id() -> None:
    """Session 46's records pass: `what.reference` "#contained-1" had been stored as the patient id."""
    resource = example()
    resource["entity"][0]["what"] = {"reference": "#contained-1"}
    said = problems_of(resource)
    assert "points to a contained resource this AuditEvent does not hold" in said["entity[0].what"], said
    resource["entity"][0]["what"] = {"reference": "#contained-1", "identifier": {"value": "PT-0007"}}
    assert mapped(resource)["patient_id"] == "PT-0007"
    resource["entity"][0]["what"] = {"reference": "#contained-1"}
    resource["contained"] = [{"resourceType": "Patient", "id": "contained-1",
                              "identifier": [{"system": "urn:mrn", "value": "MRN-31"}]}]
    assert mapped(resource)["patient_id"] == "MRN-31"  # the contained Patient's identifier


def test_contained_agents_are_told_apart_by_their_identifiers() -> None:
    """Session 48's interop pass: two AuditEvents, each with its own contained Practitioner `p1`
    (Alice, Bob), had both been stored as user "#p1", one made-up user for two people."""
    users = []
    for npi in ("1111111111", "2222222222"):
        resource = example(contained=[{"resourceType": "Practitioner", "id": "p1",
                                       "identifier": [{"system": "http://hl7.org/fhir/sid/us-npi", "value": npi}]}])
        user_agent(resource)["who"] = {"reference": "#p1"}
        users.append(mapped(resource)["user_id"])
    assert users == ["1111111111", "2222222222"]
    resource = example(contained=[{"resourceType": "Practitioner", "id": "p1", "name": [{"family": "Roe"}]}])
    user_agent(resource)["who"] = {"reference": "#p1"}
    agent_at = resource["agent"].index(user_agent(resource))
    assert "contained Practitioner without an identifier" in problems_of(resource)[f"agent[{agent_at}].who"]
    resource = example(contained=[{"resourceType": "Device", "id": "d1", "identifier": [{"value": "EHR-PROD"}]}])
    resource["source"]["observer"] = {"reference": "#d1"}
    assert mapped(resource)["system_id"] == "EHR-PROD"
    resource["source"]["observer"] = {"reference": "#gone"}
    assert "does not hold" in problems_of(resource)["source.observer"]


def test_a_modifier_extension_anywhere_refuses_the_event() -> None:
    """FHIR R4: a reader must not process an element whose modifier extension it does not know."""
    ext = [{"url": "http://example.org/not-really-happened", "valueBoolean": True}]
    said = problems_of(example(modifierExtension=ext))
    assert "'http://example.org/not-really-happened'" in said["modifierExtension"], said
    resource = example()
    resource["agent"][0]["modifierExtension"] = ext
    assert "agent[0].modifierExtension" in problems_of(resource)
    assert mapped(example(extension=ext))["id"] == "ehr-view-98765"  # a plain extension is ignored


def test_the_patient_is_the_role_1_entity_or_what_points_to_a_patient() -> None:
    """A PatientRead of the Patient resource itself: role 1 names the patient by MRN and the data
    entity is `Patient/p456`; that had been refused as two patients. `what.type` Patient counts."""
    resource = example()
    resource["entity"] = [
        {"what": {"identifier": {"value": "MRN-456"}},
         "role": {"system": "http://terminology.hl7.org/CodeSystem/object-role", "code": "1"}},
        {"what": {"reference": "Patient/p456"},
         "role": {"system": "http://terminology.hl7.org/CodeSystem/object-role", "code": "4"}},
    ]
    assert mapped(resource)["patient_id"] == "MRN-456"
    resource["entity"] = [{"what": {"type": "Patient", "identifier": {"value": "MRN-9"}}}]
    assert mapped(resource)["patient_id"] == "MRN-9"
    resource["entity"] = [{"what": {"reference": "Patient/a"}}, {"what": {"reference": "Patient/b"}}]
    assert "several patients" in problems_of(resource)["entity"]  # no role 1: both point to a patient


def test_bundle_shapes_transaction_history_and_urn_references(tmp_path: Path) -> None:
    """A transaction Bundle's AuditEvent without an id takes its fullUrl's; a history Bundle's
    deletion is skipped; a `urn:uuid:` reference names the Bundle's Patient entry."""
    no_id = example(id=None)
    urn_patient = example(id="ae-urn")
    urn_patient["entity"][0]["what"] = {"reference": "urn:uuid:2222"}
    bundle = {"resourceType": "Bundle", "type": "transaction", "entry": [
        {"fullUrl": "urn:uuid:1111", "resource": no_id, "request": {"method": "POST", "url": "AuditEvent"}},
        {"fullUrl": "http://ehr/fhir/AuditEvent/ae-0", "request": {"method": "DELETE", "url": "AuditEvent/ae-0"}},
        {"fullUrl": "urn:uuid:2222", "resource": {"resourceType": "Patient", "id": "pt-7"}},
        {"fullUrl": "urn:uuid:3333", "resource": urn_patient},
    ]}  # fmt: skip
    path = tmp_path / "bundle.json"
    path.write_text(json.dumps(bundle), encoding="utf-8")
    records, problems = read(path)
    assert problems == []
    assert [(r["id"], r["patient_id"]) for _, r in records] == [("1111", "p456"), ("ae-urn", "pt-7")]
    path.write_text(json.dumps({"resourceType": "Bundle", "entry": [bundle["entry"][2]]}), encoding="utf-8")
    assert "holds no AuditEvent" in read(path)[1][0].reason
    bundle["entry"][1]["request"]["method"] = "GET"  # an entry without a resource that is no deletion
    path.write_text(json.dumps(bundle), encoding="utf-8")
    assert [p.field for p in read(path)[1]] == ["entry[1].resource"]


def test_what_imported_before_references_were_resolved_maps_as_it_did() -> None:
    """Session 48's review of its own FHIR change: an entity's own `what.identifier` beside a `#ref`
    had become the contained Patient's first identifier (an SSN), and a role-1 patient with a second,
    role-less entity typed Patient had become "several patients"; both imported before."""
    resource = example(contained=[{"resourceType": "Patient", "id": "p1", "identifier": [
        {"system": "http://hl7.org/fhir/sid/us-ssn", "value": "123-45-6789"}, {"value": "MRN-1"}]}])
    resource["entity"][0]["what"] = {"reference": "#p1", "identifier": {"value": "MRN-1"}}
    assert mapped(resource)["patient_id"] == "MRN-1"
    resource = example()
    resource["entity"].append({"what": {"type": "Patient", "identifier": {"value": "MRN-1"}}})
    assert mapped(resource)["patient_id"] == "p456"
    resource = example(modifierExtension=[])  # an empty list holds no extension
    assert mapped(resource)["id"] == "ehr-view-98765"
