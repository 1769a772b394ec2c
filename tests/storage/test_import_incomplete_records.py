"""An import accepts records the contract lets leave a field null, or hold free text, although some
rule then passes them over or counts them for no one, without a word: an OSHA case with no
`establishment_id` or person, a MIPS submission with no `py` or `category` (or a category that is no
MIPS category), an OSHA summary with no `establishment_id` or `year`, an exposure control plan with no
`establishment_id`, a training, vaccination, screening, credential or employment episode with no
person, a license or registration naming no state code, a sanction with no person or investigation,
and a measure case with no year or measure. It says so, by record and field, on SQLite and
PostgreSQL, through the service, the CLI and the API; the undated-record warnings
(test_import_undated_records.py) stay as they were."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from sqlalchemy import Engine
from typer.testing import CliRunner

import engine.cli.records  # noqa: F401  (registers the commands)
from engine import db
from engine.cli.app import app
from engine.records import service, undated
from engine.records.schemas import ImportReport
from tests.clients import bearer_client

ORG = "org-a"
EST = {"type": "establishment", "id": "E-1", "org_id": ORG, "name": "Main", "naics": "621111", "state": "CA",
       "tz": "America/Los_Angeles"}


def case(record_id: str, establishment_id: str | None = None, **flags: Any) -> dict[str, Any]:
    return {"type": "osha_case", "id": record_id, "establishment_id": establishment_id, "person_id": "P-1",
            "incident_at": "2026-01-05T15:00:00Z", "learned_at": "2026-01-05T16:00:00Z", **flags}


def submission(record_id: str, **fields: Any) -> dict[str, Any]:
    return {"type": "mips_submission", "id": record_id, "tin": "123456789", "submitted_at": "2026-03-01T15:00:00Z",
            **fields}


def imported(engine: Engine, records: list[dict[str, Any]]) -> ImportReport:
    with db.unit_of_work(engine) as session:
        return service.import_records(session, org_id=ORG, records=records, actor="user:ann", source="test")


def named(report: ImportReport) -> list[tuple[str, str, str]]:
    return [(w.record_type, w.record_id, w.field) for w in report.incomplete_records]


def test_a_recordable_osha_case_with_no_establishment_is_named(engine: Engine) -> None:
    report = imported(engine, [EST, case("C-7", recordable=True), case("C-8", "E-1", recordable=True)])
    assert report.created == 3
    (warning,) = report.incomplete_records
    assert (warning.record_type, warning.record_id, warning.field) == ("osha_case", "C-7", "establishment_id")
    assert warning.message == ("osha_case 'C-7' has no establishment_id: its OSHA 300 log duty (OSHA-REC-LOG-002) "
                               "cannot be judged until it is given; give establishment_id and import the "
                               "osha_case again")
    assert report.incomplete_records_total == 1
    assert report.undated_records == []


def test_a_sharps_case_also_says_its_sharps_log_is_judged_only_as_encouraged(engine: Engine) -> None:
    """A sharps case goes on the 300 log whatever its recordable flag (1904.8); with no establishment
    the sharps injury log rule takes records as not required."""
    report = imported(engine, [EST, case("C-9", sharps=True)])
    (warning,) = report.incomplete_records
    assert "OSHA-REC-LOG-002" in warning.message
    assert "sharps injury log (OSHA-BBP-SIL-011) is judged only as encouraged" in warning.message


def test_a_case_the_300_log_does_not_take_is_not_named(engine: Engine) -> None:
    """Not recordable and not a sharps injury: no rule needs its establishment (the severe-injury,
    exposure and post-report rules judge it without one)."""
    report = imported(engine, [EST, case("C-1", recordable=False), case("C-2")])
    assert report.incomplete_records == [] and report.incomplete_records_total == 0


def test_a_case_with_no_incident_date_nor_establishment_is_named_in_both_lists(engine: Engine) -> None:
    report = imported(engine, [EST, case("C-3", recordable=True, incident_at=None)])
    assert [(w.record_id, w.field) for w in report.undated_records] == [("C-3", "incident_at")]
    assert named(report) == [("osha_case", "C-3", "establishment_id")]


def test_an_osha_case_with_no_person_is_named(engine: Engine) -> None:
    """The exposure follow-up (sharps cases) and the post-report review look the person up."""
    report = imported(engine, [EST, case("C-4", "E-1", person_id=None), case("C-5", "E-1", person_id=None,
                                                                              sharps=True)])
    assert named(report) == [("osha_case", "C-4", "person_id"), ("osha_case", "C-5", "person_id")]
    assert "its post-report review (OSHA-POST-015) cannot be judged until" in report.incomplete_records[0].message
    assert "(OSHA-BBP-PEP-010 and POST-015)" in report.incomplete_records[1].message


def test_a_mips_submission_with_no_year_or_no_category_is_named(engine: Engine) -> None:
    report = imported(engine, [submission("S-1", category="quality"), submission("S-2", py=2025),
                               submission("S-3"), submission("S-4", py=2025, category="quality")])
    assert named(report) == [("mips_submission", "S-1", "py"), ("mips_submission", "S-2", "category"),
                             ("mips_submission", "S-3", "py"), ("mips_submission", "S-3", "category")]
    assert report.incomplete_records[0].message == (
        "mips_submission 'S-1' has no py: CMS-MIPS-SUB-002, PI-006 and IA-007 cannot count it as any performance "
        "year's submission until it is given; give py and import the mips_submission again")
    assert "any performance category's submission" in report.incomplete_records[1].message
    assert report.incomplete_records_total == 4


def test_an_osha_summary_or_exposure_control_plan_with_no_owner_is_named(engine: Engine) -> None:
    summary = {"type": "osha_summary", "establishment_id": "E-1", "year": 2025, "certified_at": "2026-01-20T15:00:00Z"}
    plan = {"type": "exposure_control_plan", "reviewed_at": "2026-01-05T15:00:00Z"}
    report = imported(engine, [EST, {**summary, "id": "SUM-1", "establishment_id": None},
                               {**summary, "id": "SUM-2", "year": None}, {**summary, "id": "SUM-3"},
                               {**plan, "id": "ECP-1", "establishment_id": None}, {**plan, "id": "ECP-2",
                                                                                  "establishment_id": "E-1"}])
    assert named(report) == [("exposure_control_plan", "ECP-1", "establishment_id"),
                             ("osha_summary", "SUM-1", "establishment_id"), ("osha_summary", "SUM-2", "year")]
    assert report.incomplete_records[0].message == (
        "exposure_control_plan 'ECP-1' has no establishment_id: OSHA-BBP-ECP-007 cannot count it as any "
        "establishment's plan until it is given; give establishment_id and import the exposure_control_plan again")
    assert "OSHA-REC-300A-003, ITA-005 and RET-004 cannot count it as any year's summary" in \
        report.incomplete_records[2].message



def test_a_training_with_no_person_is_named_by_the_rules_its_course_counts_for(engine: Engine) -> None:
    """S1557 and AI_USE trainings are read by no rule, so nothing is lost while they have no person."""
    def training(record_id: str, course: str, person: str | None = None) -> dict[str, Any]:
        return {"type": "training_record", "id": record_id, "person_id": person, "course": course,
                "completed_at": "2026-01-05T15:00:00Z"}

    report = imported(engine, [training("T-1", "BBP"), training("T-2", "HIPAA_SECURITY"), training("T-3", "FIRE_EXT"),
                               training("T-4", "S1557"), training("T-5", "AI_USE"), training("T-6", "BBP", "P-1")])
    assert named(report) == [("training_record", "T-1", "person_id"), ("training_record", "T-2", "person_id"),
                             ("training_record", "T-3", "person_id")]
    assert report.incomplete_records[0].message == (
        "training_record 'T-1' has no person_id: OSHA-BBP-TRN-009 and HEPB-008 cannot count it as any person's "
        "BBP training until it is given; give person_id and import the training_record again")
    assert "HIPAA-ADM-TRN-002 cannot count it as any person's HIPAA_SECURITY training" in \
        report.incomplete_records[1].message
    assert "OSHA-FIRE-014" in report.incomplete_records[2].message


def test_an_exclusion_found_for_no_person_says_it_is_raised_against_no_one(engine: Engine) -> None:
    def screening(record_id: str, result: str, person: str | None = None) -> dict[str, Any]:
        return {"type": "screening", "id": record_id, "person_id": person, "source": "LEIE",
                "checked_at": "2026-01-05T15:00:00Z", "result": result}

    report = imported(engine, [screening("X-1", "excluded"), screening("X-2", "clear"),
                               screening("X-3", "possible_match"), screening("X-4", "excluded", "P-1")])
    assert named(report) == [("screening", "X-1", "person_id"), ("screening", "X-2", "person_id"),
                             ("screening", "X-3", "person_id")]
    assert report.incomplete_records[0].message == (
        "screening 'X-1' has no person_id: the excluded it found is raised against no one, and CMS-EXCL-LEIE-015, "
        "CRED-NCQA-PSV-008 and CRED-MON-009 cannot count it as any person's exclusion check until it is given; "
        "give person_id and import the screening again")
    assert report.incomplete_records[1].message.startswith(
        "screening 'X-2' has no person_id: CMS-EXCL-LEIE-015, CRED-NCQA-PSV-008 and CRED-MON-009 cannot count")
    assert "the possible match it found is raised against no one" in report.incomplete_records[2].message


def test_a_vaccination_or_sanction_of_no_one_is_named(engine: Engine) -> None:
    sanction = {"type": "sanction_record", "level": "written_warning", "decided_at": "2026-01-05T15:00:00Z"}
    report = imported(engine, [
        {"type": "hepb_vaccination", "id": "V-1", "person_id": None, "offered_at": "2026-01-05T15:00:00Z"},
        {**sanction, "id": "SN-1", "investigation_id": None, "person_id": "P-1"},
        {**sanction, "id": "SN-2", "investigation_id": "INV-1", "person_id": None},
        {**sanction, "id": "SN-3", "investigation_id": "INV-1", "person_id": "P-1"},
    ])
    assert named(report) == [("hepb_vaccination", "V-1", "person_id"), ("sanction_record", "SN-1", "investigation_id"),
                             ("sanction_record", "SN-2", "person_id")]
    messages = [w.message for w in report.incomplete_records]
    assert "OSHA-BBP-HEPB-008 and PEP-010 cannot count it as any person's vaccination record" in messages[0]
    assert "HIPAA-ADM-SAN-003 cannot count it as any investigation's sanction" in messages[1]
    assert "OSHA-POST-015 cannot count it as any person's adverse action" in messages[2]



def test_a_credential_of_no_one_is_named_by_what_its_kind_meets(engine: Engine) -> None:
    """A CLIA certificate placed by its jurisdiction needs no holder."""
    def credential(record_id: str, kind: str, **fields: Any) -> dict[str, Any]:
        return {"type": "credential", "id": record_id, "person_id": None, "kind": kind,
                "expires_at": "2027-01-31T00:00:00Z", **fields}

    report = imported(engine, [credential("CR-1", "STATE_LICENSE", jurisdiction="CO"), credential("CR-2", "BLS"),
                               credential("CR-3", "CLIA", jurisdiction="E-1"), credential("CR-4", "CLIA"),
                               credential("CR-5", "DEA", person_id="P-1", jurisdiction="CO")])
    assert named(report) == [("credential", "CR-1", "person_id"), ("credential", "CR-2", "person_id"),
                             ("credential", "CR-4", "person_id")]
    messages = [w.message for w in report.incomplete_records]
    assert messages[0].startswith("credential 'CR-1' has no person_id: CRED-LIC-001 and DEA-002 cannot count it as "
                                  "its holder's license, so their encounters and DEA registration in that state "
                                  "read as unlicensed")
    assert "CRED-BLS-012 cannot count it as any person's life-support card" in messages[1]
    assert "its CLIA renewal (CRED-CLIA-011) is judged for no testing site" in messages[2]



def test_a_state_held_credential_naming_no_state_code_is_named(engine: Engine) -> None:
    """A license, DEA or state CSR registration is matched to encounters and sites by its state code;
    a CLIA certificate's jurisdiction names an establishment, and a board certificate needs none."""
    def credential(record_id: str, kind: str, jurisdiction: str | None) -> dict[str, Any]:
        return {"type": "credential", "id": record_id, "person_id": "P-1", "kind": kind, "jurisdiction": jurisdiction,
                "expires_at": "2027-01-31T00:00:00Z"}

    report = imported(engine, [credential("CR-1", "STATE_LICENSE", "Colorado"), credential("CR-2", "DEA", None),
                               credential("CR-3", "STATE_CSR", " co "), credential("CR-4", "STATE_LICENSE", "ny"),
                               credential("CR-5", "CLIA", "E-1"), credential("CR-6", "BOARD_CERT", None)])
    assert named(report) == [("credential", "CR-1", "jurisdiction"), ("credential", "CR-2", "jurisdiction")]
    assert report.incomplete_records[0].message == (
        "credential 'CR-1' has jurisdiction 'Colorado', which is none of the two-letter USPS state codes (CO, NY, "
        "...): CRED-LIC-001 and DEA-002 cannot count it as a license in any state, so the holder's encounters and "
        "DEA registration there read as unlicensed until it is corrected; correct jurisdiction and import the "
        "credential again")
    assert report.incomplete_records[1].message.startswith(
        "credential 'CR-2' has no jurisdiction: CRED-DEA-002 and CSR-003 cannot place it in any state")

def test_an_employment_episode_of_no_one_names_the_rules_its_flags_bring_in(engine: Engine) -> None:
    """Checked with scenarios on both backends: the derivations skip such an episode, and EAP-013
    (a current episode) reports a training duty no training can meet, since none joins a null person."""
    episode = {"type": "employment_episode", "person_id": None, "establishment_id": "E-1", "role": "front_desk",
               "start_at": "2026-01-05T15:00:00Z"}
    report = imported(engine, [EST, {**episode, "id": "EP-1"},
                               {**episode, "id": "EP-2", "end_at": "2026-06-30T23:00:00Z",
                                "occupational_exposure": True, "phi_access_required": True, "licensed_clinician": True},
                               {**episode, "id": "EP-3", "person_id": "P-1"}])
    assert named(report) == [("employment_episode", "EP-1", "person_id"), ("employment_episode", "EP-2", "person_id")]
    current, ended = (w.message for w in report.incomplete_records)
    assert current == (
        "employment_episode 'EP-1' has no person_id: it is nobody's employment, so its holder's duties under "
        "CMS-EXCL-LEIE-015 and OSHA-FIRE-014 cannot be judged, and OSHA-EAP-013 reports for it duties no record can "
        "meet until it is given; give person_id and import the employment_episode again")
    assert ("duties under CMS-EXCL-LEIE-015, HIPAA-ADM-TRN-002, HIPAA-SEC-TERM-004, OSHA-BBP-HEPB-008, "
            "OSHA-BBP-TRN-009, OSHA-HAZ-012 and the credential rules (CRED-*) cannot be judged; AI-CA-3030-006, "
            "AI-HITL-011 and AI-STATE-MH-013 do not read its holder's reviews as a licensed clinician's") in ended

def test_a_measure_case_with_no_year_or_measure_is_named(engine: Engine) -> None:
    case_ = {"type": "measure_case", "tin": "123456789", "eligible": True, "reported": True, "met": True}
    report = imported(engine, [{**case_, "id": "M-1", "py": None, "measure_id": "001"},
                               {**case_, "id": "M-2", "py": 2026, "measure_id": None},
                               {**case_, "id": "M-3", "py": 2026, "measure_id": "001"}])
    assert named(report) == [("measure_case", "M-1", "py"), ("measure_case", "M-2", "measure_id")]
    assert report.incomplete_records[1].message == (
        "measure_case 'M-2' has no measure_id: CMS-MIPS-Q-COUNT-003, Q-DC-004, Q-CASE-005 and CMS-QM-001-008 to "
        "QM-130-012 cannot count it as any measure's case until it is given; give measure_id and import the "
        "measure_case again")


def test_a_submission_of_no_mips_category_is_named_and_the_names_cms_uses_are_not(engine: Engine) -> None:
    """The categories are free text: the derivations read QPP's names and their usual short forms, and
    anything else counts for no category, as a null would."""
    names = ("quality", "Q", "PI", "ACI", "Promoting Interoperability", "improvement-activities", "IA", "Cost")
    report = imported(engine, [submission(f"S-{i}", py=2025, category=c) for i, c in enumerate(names)]
                      + [submission("S-9", py=2025, category="Quality Measures")])
    assert named(report) == [("mips_submission", "S-9", "category")]
    assert report.incomplete_records[0].message == (
        "mips_submission 'S-9' has category 'Quality Measures', which is none of quality (Q), "
        "promoting_interoperability (PI, ACI), improvement_activities (IA) or cost: CMS-MIPS-SUB-002, PI-006 and "
        "IA-007 cannot count it as any performance category's submission until it is corrected; correct category "
        "and import the mips_submission again")
    fixed = imported(engine, [submission("S-9", py=2025, category="quality")])
    assert fixed.incomplete_records == []

def test_named_again_unchanged_and_not_once_a_later_version_gives_the_field(engine: Engine) -> None:
    imported(engine, [EST, case("C-7", recordable=True)])
    again = imported(engine, [case("C-7", recordable=True)])
    assert again.unchanged == 1 and named(again) == [("osha_case", "C-7", "establishment_id")]
    fixed = imported(engine, [case("C-7", "E-1", recordable=True)])  # one import may give a record once
    assert fixed.incomplete_records == [] and fixed.incomplete_records_total == 0


def test_past_the_shown_number_the_rest_are_counted(engine: Engine) -> None:
    report = imported(engine, [submission(f"S-{i:03d}", category="quality") for i in range(undated.SHOWN + 5)])
    assert len(report.incomplete_records) == undated.SHOWN
    assert report.incomplete_records_total == undated.SHOWN + 5


def test_the_cli_says_so_on_stderr_and_in_json(tmp_path: Path) -> None:
    path = tmp_path / "c.ndjson"
    path.write_text("".join(json.dumps(r) + "\n" for r in (EST, case("C-7", recordable=True))), encoding="utf-8")
    url = f"sqlite:///{tmp_path / 'cli.db'}"
    shown = CliRunner().invoke(app, ["import", str(path), "--db", url, "--org", ORG])
    assert shown.exit_code == 0, shown.output
    assert ("warning: osha_case 'C-7' has no establishment_id: its OSHA 300 log duty (OSHA-REC-LOG-002) cannot be "
            "judged until it is given") in " ".join(shown.stderr.split())
    as_json = CliRunner().invoke(app, ["import", str(path), "--db", url, "--org", ORG, "--json"])
    assert as_json.exit_code == 0, as_json.output
    (warning,) = json.loads(as_json.stdout)["incomplete_records"]
    assert (warning["record_id"], warning["field"]) == ("C-7", "establishment_id")


def test_the_api_says_so_in_warnings_after_the_undated_ones(engine: Engine) -> None:
    client, bearer = bearer_client(engine, org_id=ORG)
    undated_incident = {"type": "incident", "id": "I-7", "establishment_id": "E-1", "discovered_at": None,
                        "phi_involved": True}
    records = (EST, undated_incident, case("C-7", recordable=True), submission("S-1", category="quality"))
    body = "".join(json.dumps(r) + "\n" for r in records)
    r = client.post("/records/import", headers=bearer, files={"file": ("c.ndjson", body.encode(), "text/plain")})
    assert r.status_code == 200, r.text
    warnings = r.json()["warnings"]
    assert len(warnings) == 3
    assert warnings[0].startswith("incident 'I-7' has no discovered_at")
    assert warnings[1].startswith("mips_submission 'S-1' has no py: CMS-MIPS-SUB-002")
    assert warnings[2].startswith("osha_case 'C-7' has no establishment_id: its OSHA 300 log duty")
    assert [w["record_id"] for w in r.json()["incomplete_records"]] == ["S-1", "C-7"]
    batch = client.post("/records", headers=bearer, json={"records": [case("C-9", sharps=True)]})
    assert batch.status_code == 200, batch.text
    assert [w["record_id"] for w in batch.json()["incomplete_records"]] == ["C-9"]


def test_the_api_lists_twenty_and_counts_the_rest(engine: Engine) -> None:
    client, bearer = bearer_client(engine, org_id=ORG)
    body = "".join(json.dumps(submission(f"S-{i:02d}", category="quality")) + "\n" for i in range(23))
    r = client.post("/records/import", headers=bearer, files={"file": ("s.ndjson", body.encode(), "text/plain")})
    assert r.status_code == 200, r.text
    warnings = r.json()["warnings"]
    assert len(warnings) == 21 and warnings[19].startswith("mips_submission 'S-19' has no py")
    assert warnings[-1] == ("... and 3 more records missing a field the rules need "
                            "(incomplete_records lists up to 23)")


def test_two_dates_of_a_record_in_the_wrong_order_are_named(engine: Engine) -> None:
    """Each date is valid alone, so an episode ending before it began, or a law-enforcement delay
    running backwards, had been imported and read as given without a word."""
    report = imported(engine, [
        EST,
        {"type": "employment_episode", "id": "EP-1", "person_id": "P-1", "establishment_id": "E-1",
         "start_at": "2026-02-01T09:00:00-08:00", "end_at": "2026-01-01T09:00:00-08:00"},
        {"type": "incident", "id": "I-1", "establishment_id": "E-1", "discovered_at": "2025-01-10T17:00:00Z",
         "le_delay_start": "2025-03-01T17:00:00Z", "le_delay_until": "2025-02-01T17:00:00Z"},
        {"type": "osha_summary", "id": "S-1", "establishment_id": "E-1", "year": 2025,
         "posted_from": "2026-02-01", "posted_until": "2026-02-01"},  # one day: in order
        # the same instant written in two offsets is not out of order
        {"type": "baa", "id": "B-1", "vendor_id": "V-1", "effective_at": "2026-01-01T00:00:00Z",
         "terminated_at": "2025-12-31T19:00:00-05:00"},
    ])
    assert named(report) == [("employment_episode", "EP-1", "end_at"), ("incident", "I-1", "le_delay_until")]
    episode, incident = report.incomplete_records
    assert episode.message == ("employment_episode 'EP-1' has end_at 2026-01-01T09:00:00-08:00, before its start_at "
                               "2026-02-01T09:00:00-08:00: the rules read an engagement held on no day; correct the "
                               "dates and import the employment_episode again")
    assert "the law-enforcement delay counts as no days" in incident.message
