"""Unit tests for the credentialing derivations (engine/rules/derive/credentialing/).

Each derivation is called directly with a DeriveContext, so the date math (local dates, end of
month, card validity, CAQH cycles, month clamping), the as-of semantics and the facts' evidence
and bundle keys are checked without the matcher.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import pytest
import yaml

from engine.rules.derive import DERIVATIONS, PARAMS_USED, DeriveContext, DerivedFact, RecordView, load_families
from engine.rules.derive import credentialing as cred
from engine.rules.param_history import NO_HISTORY, ParamHistory

REPO = Path(__file__).resolve().parents[3]
RULESET = REPO / "rulesets" / "credentialing" / "credentialing-2026.1.0.yaml"

ESTABLISHMENTS = {
    "E1": {"id": "E1", "tz": "America/Denver", "state": "CO"},
    "E2": {"id": "E2", "tz": "America/New_York", "state": "NY"},
    "E4": {"id": "E4", "tz": "America/Chicago", "state": "IL"},
    "E5": {"id": "E5", "tz": "Pacific/Honolulu", "state": "HI"},
}


def utc(text: str) -> dt.datetime:
    return dt.datetime.fromisoformat(text.replace("Z", "+00:00"))


def rec(rtype: str, rid: str, **data: Any) -> RecordView:
    return RecordView(rtype, rid, 1, dict(data, id=rid))


def make_ctx(as_of: str, records: Iterable[RecordView], history: ParamHistory = NO_HISTORY,
             **params: Any) -> DeriveContext:
    """A context whose zones follow the engine's rule: the record's establishment, else its person's."""
    person_est: dict[str, str] = {}
    for r in sorted((r for r in records if r.type == "employment_episode"), key=lambda r: str(r.data["start_at"])):
        person_est[str(r.data["person_id"])] = str(r.data["establishment_id"])

    def tz_of(view: RecordView) -> str:
        est = view.data.get("establishment_id") or person_est.get(str(view.data.get("person_id") or ""))
        return str(ESTABLISHMENTS.get(str(est), {}).get("tz") or "America/New_York")

    return DeriveContext(as_of=utc(as_of), params=dict(cred.DEFAULTS, **params), tz_of=tz_of,
                         establishments={k: RecordView("establishment", k, 1, v) for k, v in ESTABLISHMENTS.items()},
                         history=history)


def run(name: str, as_of: str, records: list[RecordView], history: ParamHistory = NO_HISTORY,
        **params: Any) -> dict[str, DerivedFact]:
    load_families()
    derivation = DERIVATIONS.get(name)
    inputs = {t: [r for r in records if r.type == t] for t in derivation.inputs}
    facts = list(derivation.fn(make_ctx(as_of, records, history, **params), inputs))
    for f in facts:
        assert f.type == derivation.output
        # every field declared; params_used is the one key any fact may add (engine.rules.derive.PARAMS_USED)
        assert set(f.data) - {PARAMS_USED} <= set(derivation.fields), set(f.data) - set(derivation.fields)
        assert f.sources, f"{f.id} has no evidence"
    return {f.id: f for f in facts}


def episode(pid: str, est: str, start: str, *, role: str = "physician", licensed: bool = True,
            end: str | None = None, eid: str | None = None) -> RecordView:
    return rec("employment_episode", eid or f"EP-{pid}", person_id=pid, establishment_id=est, role=role,
               start_at=start, end_at=end, licensed_clinician=licensed)


def credential(cid: str, pid: str, kind: str, **data: Any) -> RecordView:
    data.setdefault("status", "active")
    data.setdefault("expiry_rule", "exact")
    return rec("credential", cid, person_id=pid, kind=kind, **data)


def encounter(eid: str, pid: str, at: str, *, state: str | None = "CO", est: str = "E1",
              modality: str = "in_person") -> RecordView:
    return rec("encounter", eid, clinician_person_id=pid, establishment_id=est, at=at, modality=modality,
               patient_state=state, patient_id=f"PT-{eid}")


# ---- registration and parameters ------------------------------------------------------------------


def test_every_derivation_is_registered_with_its_family() -> None:
    load_families()
    outputs = {d.output: d for _, d in DERIVATIONS if d.output.startswith("cred_")}
    assert set(outputs) == {
        "cred_license_standing", "cred_dea_standing", "cred_csr_standing", "cred_board_standing",
        "cred_npdb_standing", "cred_caqh_standing", "cred_recred_standing", "cred_psv_item", "cred_monitoring",
        "cred_malpractice_standing", "cred_clia_standing", "cred_card_standing",
    }
    assert {d.family for d in outputs.values()} == {"person", "establishment"}
    assert outputs["cred_clia_standing"].family == "establishment"
    assert not any(d.reference or d.event for d in outputs.values())


def test_defaults_match_the_ruleset() -> None:
    declared = yaml.safe_load(RULESET.read_text())["params"]
    for name, value in cred.DEFAULTS.items():
        assert name in declared, name
        assert declared[name]["default"] == value, name


# ---- shared helpers: as-of semantics and validity ---------------------------------------------------


def test_credentials_as_of_the_run() -> None:
    records = [
        episode("P1", "E1", "2024-01-08T08:00:00-07:00"),
        credential("L1", "P1", "STATE_LICENSE", jurisdiction="co", issued_at="2026-01-01T09:00:00-07:00",
                   expires_at="2026-02-10T12:00:00-07:00", expiry_rule="end_of_month",
                   renewal_submitted_at="2026-02-20T10:00:00-07:00", verified_at="2026-01-02T10:00:00-07:00"),
        credential("L2", "P1", "STATE_LICENSE", jurisdiction="CO", issued_at="2026-03-01T09:00:00-07:00",
                   expires_at="2028-02-29T12:00:00-07:00"),
    ]
    ctx = make_ctx("2026-02-15T12:00:00Z", records)
    creds = cred.load_credentials(ctx, [r for r in records if r.type == "credential"])["P1"]
    assert [c.id for c in creds] == ["L1"]  # L2 is issued after the run
    (c,) = creds
    assert c.jurisdiction == "CO"
    assert c.valid_through == dt.date(2026, 2, 28)  # end_of_month
    assert c.renewal_on is None  # filed after the run
    assert c.verified_on == dt.date(2026, 1, 2)


def test_in_force_with_an_inactive_status_counts_from_its_verification() -> None:
    records = [credential("L1", "P1", "STATE_LICENSE", jurisdiction="CO", issued_at="2024-01-01T09:00:00-07:00",
                          expires_at="2027-01-01T09:00:00-07:00", status="Suspended",
                          verified_at="2026-03-10T09:00:00-06:00")]
    ctx = make_ctx("2026-04-01T12:00:00Z", records)
    (c,) = cred.load_credentials(ctx, records)["P1"]
    inactive = frozenset(cred.DEFAULTS["credential_inactive_statuses"])
    assert c.in_force(dt.date(2026, 3, 9), inactive)
    assert not c.in_force(dt.date(2026, 3, 10), inactive)
    assert not c.in_force(dt.date(2023, 12, 31), inactive)  # before issue


def test_timely_renewal_is_on_or_before_the_last_valid_day_and_not_denied() -> None:
    base = {"jurisdiction": "CO", "issued_at": "2024-01-01T09:00:00-07:00", "expires_at": "2026-09-30T12:00:00-06:00"}
    records = [
        episode("P1", "E1", "2024-01-08T08:00:00-07:00"),
        episode("P2", "E1", "2024-01-08T08:00:00-07:00"),
        episode("P3", "E1", "2024-01-08T08:00:00-07:00"),
        credential("A", "P1", "DEA", renewal_submitted_at="2026-09-30T23:30:00-06:00", **base),
        credential("B", "P2", "DEA", renewal_submitted_at="2026-10-01T00:30:00-06:00", **base),
        credential("C", "P3", "DEA", renewal_submitted_at="2026-09-01T10:00:00-06:00", **dict(base, status="denied")),
    ]
    views = [r for r in records if r.type == "credential"]
    creds = cred.load_credentials(make_ctx("2026-10-05T12:00:00Z", records), views)
    assert creds["P1"][0].timely_renewal() == dt.date(2026, 9, 30)
    assert creds["P2"][0].timely_renewal() is None
    assert creds["P3"][0].timely_renewal() is None


# ---- CRED-LIC-001 ----------------------------------------------------------------------------------


def lic_records() -> list[RecordView]:
    return [
        episode("P1", "E1", "2024-01-08T08:00:00-07:00"),
        credential("L1", "P1", "STATE_LICENSE", jurisdiction="CO", issued_at="2024-04-01T09:00:00-06:00",
                   expires_at="2026-03-31T17:00:00-06:00"),
        encounter("ENC1", "P1", "2026-03-31T23:30:00-06:00"),  # last valid local day: covered
        encounter("ENC2", "P1", "2026-04-01T00:10:00-06:00"),  # next local day: not covered
        encounter("ENC3", "P1", "2026-04-02T09:00:00-06:00", state="UT", modality="telehealth"),
        encounter("ENC4", "P1", "2026-04-03T09:00:00-06:00", state=None, modality="telehealth"),  # cannot be placed
        encounter("ENC5", "P1", "2026-05-01T09:00:00-06:00"),  # after the run
    ]


def test_license_standing_groups_uncovered_encounters_by_state() -> None:
    facts = run("cred_license_standing", "2026-04-10T12:00:00Z", lic_records())
    assert set(facts) == {"P1/CO", "P1/UT"}
    co, ut = facts["P1/CO"], facts["P1/UT"]
    assert co.bundle_key == "person:P1"
    assert co.data["uncovered_count"] == 1 and co.data["encounter_ids"] == ["ENC2"]
    assert co.data["due_at"] == "2026-03-31"  # the lapsed license's last day
    assert co.data["renewed_at"] is None
    assert ("encounter", "ENC2", 1) in co.sources and ("credential", "L1", 1) in co.sources
    assert ut.data["due_at"] == "2026-04-02"  # never licensed: the first uncovered visit
    assert ut.data["first_uncovered_on"] == ut.data["last_uncovered_on"] == "2026-04-02"
    assert ut.data["credential_id"] is None



def test_a_telehealth_visit_without_patient_state_is_placed_by_the_patient_record() -> None:
    """A telehealth encounter with no patient_state is in the state of the patient record, which is
    cited; with neither it cannot be placed. An in-person one is at the establishment."""
    visits = [episode("P1", "E2", "2023-01-02T09:00:00-05:00"),
              credential("L1", "P1", "STATE_LICENSE", jurisdiction="NY", issued_at="2022-01-01T00:00:00-05:00",
                         expires_at="2028-06-15T00:00:00-04:00"),
              rec("patient", "PT-NJ", last_name="X", first_name="Y", state="NJ"),
              rec("patient", "PT-NONE", last_name="X", first_name="Z"),
              encounter("TEL1", "P1", "2026-05-20T10:00:00-04:00", state=None, est="E2", modality="telehealth"),
              encounter("TEL2", "P1", "2026-05-21T10:00:00-04:00", state=None, est="E2", modality="telehealth"),
              encounter("VIS1", "P1", "2026-05-22T10:00:00-04:00", state=None, est="E2")]
    visits[4].data["patient_id"], visits[5].data["patient_id"] = "PT-NJ", "PT-NONE"
    facts = run("cred_license_standing", "2026-06-01T12:00:00Z", visits)
    assert set(facts) == {"P1/NJ", "P1/NY"}
    nj = facts["P1/NJ"]
    assert (nj.data["uncovered_count"], nj.data["encounter_ids"], nj.data["due_at"]) == (1, ["TEL1"], "2026-05-20")
    assert ("patient", "PT-NJ", 1) in nj.sources and ("encounter", "TEL1", 1) in nj.sources
    assert facts["P1/NY"].data["uncovered_count"] == 0  # the in-person visit is in New York, licensed


def test_a_license_said_expired_with_no_expiry_date_covers_no_day_after_it_was_seen() -> None:
    """`expired` is left to the expiry date when there is one (an export made later says it of a license
    valid then); with none, the status decides, from the day it was verified (or throughout)."""
    visits = [episode("P1", "E2", "2023-01-02T09:00:00-05:00"),
              credential("L1", "P1", "STATE_LICENSE", jurisdiction="NY", issued_at="2022-01-01T00:00:00-05:00",
                         status="expired", verified_at="2026-05-21T09:00:00-04:00"),
              encounter("V1", "P1", "2026-05-20T10:00:00-04:00", state="NY", est="E2"),
              encounter("V2", "P1", "2026-05-22T10:00:00-04:00", state="NY", est="E2")]
    lic = run("cred_license_standing", "2026-06-01T12:00:00Z", visits)["P1/NY"].data
    assert (lic["uncovered_count"], lic["encounter_ids"]) == (1, ["V2"])
    dated = [*visits[:1], credential("L1", "P1", "STATE_LICENSE", jurisdiction="NY", status="expired",
                                     issued_at="2022-01-01T00:00:00-05:00", expires_at="2027-01-31T00:00:00-05:00",
                                     verified_at="2026-05-21T09:00:00-04:00"), *visits[2:]]
    assert run("cred_license_standing", "2026-06-01T12:00:00Z", dated)["P1/NY"].data["uncovered_count"] == 0


def test_a_license_naming_its_state_in_words_covers_no_state() -> None:
    """What an import's `incomplete_records` warning says of a STATE_LICENSE whose jurisdiction is no
    USPS code (engine/records/undated.py VOCABULARIES): "co" is CO, "Colorado" is no state."""
    lower = [r if r.id != "L1" else credential("L1", "P1", "STATE_LICENSE", jurisdiction=" co ",
                                                   issued_at="2024-04-01T09:00:00-06:00",
                                                   expires_at="2026-03-31T17:00:00-06:00") for r in lic_records()]
    assert run("cred_license_standing", "2026-04-10T12:00:00Z", lower)["P1/CO"].data["encounter_ids"] == ["ENC2"]
    words = [r if r.id != "L1" else credential("L1", "P1", "STATE_LICENSE", jurisdiction="Colorado",
                                                   issued_at="2024-04-01T09:00:00-06:00",
                                                   expires_at="2026-03-31T17:00:00-06:00") for r in lic_records()]
    facts = run("cred_license_standing", "2026-04-10T12:00:00Z", words)
    assert facts["P1/CO"].data["encounter_ids"] == ["ENC1", "ENC2"]  # the covered visit reads as unlicensed too
    assert facts["P1/CO"].data["credential_id"] is None

def test_license_standing_expiry_clock_and_days_left() -> None:
    records = [r for r in lic_records() if r.type != "encounter"]
    facts = run("cred_license_standing", "2026-03-01T07:00:00Z", records)  # 00:00 MST 1 March
    (fact,) = facts.values()
    assert fact.data["due_at"] == "2026-03-31" and fact.data["uncovered_count"] == 0
    assert fact.data["days_left"] == 30


def test_compact_privileges_cover_listed_states_only() -> None:
    facts = run("cred_license_standing", "2026-03-15T12:00:00Z", [
        episode("P1", "E1", "2024-01-08T08:00:00-07:00"),
        credential("L1", "P1", "STATE_LICENSE", jurisdiction="CO", issued_at="2024-04-01T09:00:00-06:00",
                   expires_at="2027-03-31T17:00:00-06:00"),
        encounter("ENC1", "P1", "2026-03-02T09:00:00-07:00", state="UT", modality="telehealth"),
        encounter("ENC2", "P1", "2026-03-02T10:00:00-07:00", state="NE", modality="telehealth"),
    ], compact_privileges_allowed=["CO", "UT"])
    assert "P1/UT" not in facts and facts["P1/NE"].data["uncovered_count"] == 1


def test_license_standing_ignores_former_clinicians_without_uncovered_visits() -> None:
    records = [episode("P1", "E1", "2024-01-08T08:00:00-07:00", end="2026-01-31T17:00:00-07:00"),
               credential("L1", "P1", "STATE_LICENSE", jurisdiction="CO", issued_at="2024-04-01T09:00:00-06:00",
                          expires_at="2026-03-31T17:00:00-06:00")]
    assert run("cred_license_standing", "2026-03-15T12:00:00Z", records) == {}


def test_an_ended_episode_counts_through_the_next_local_day_of_its_own_zone() -> None:
    # Honolulu: ends 17:00 HST on 1 March; 2 March HST ends at 10:00Z on 3 March, when it is
    # already 3 March in Denver and New York: the grace day is Honolulu's
    records = [episode("P1", "E5", "2024-01-08T08:00:00-10:00", end="2026-03-01T17:00:00-10:00"),
               credential("L1", "P1", "STATE_LICENSE", jurisdiction="HI", issued_at="2024-04-01T09:00:00-10:00",
                          expires_at="2026-04-30T17:00:00-10:00")]
    gap = run("cred_license_standing", "2026-03-02T12:00:00Z", records)  # 02:00 HST on 2 March
    assert gap["P1/HI"].data["active_clinician"] is True and gap["P1/HI"].data["establishment_id"] == "E5"
    assert "P1/HI" in run("cred_license_standing", "2026-03-03T09:59:00Z", records)
    assert run("cred_license_standing", "2026-03-03T10:00:00Z", records) == {}


def test_an_episode_that_starts_after_as_of_is_not_used_in_the_gap() -> None:
    # the night between two sites: the next episode does not exist yet, so the finding still cites
    # the site just left (and its first day of engagement is unchanged)
    role = "medical_assistant"
    records = [episode("P1", "E1", "2025-06-02T08:00:00-06:00", end="2026-03-01T17:00:00-07:00", role=role,
                       licensed=False, eid="EP-A"),
               episode("P1", "E2", "2026-03-02T08:00:00-05:00", role=role, licensed=False, eid="EP-B")]
    gap = run("cred_card_standing", "2026-03-02T09:00:00Z", records)["P1/BLS"]
    assert (gap.data["due_at"], gap.data["establishment_id"]) == ("2025-06-02", "E1")
    assert ("employment_episode", "EP-B", 1) not in gap.sources
    after = run("cred_card_standing", "2026-03-02T16:00:00Z", records)["P1/BLS"]
    assert (after.data["due_at"], after.data["establishment_id"]) == ("2025-06-02", "E2")


# ---- CRED-DEA-002 / CRED-CSR-003 -------------------------------------------------------------------


def test_dea_standing_checks() -> None:
    records = [
        episode("P1", "E1", "2024-01-08T08:00:00-07:00"),
        episode("P1", "E5", "2026-03-02T08:00:00-10:00", eid="EP-P1-HI"),
        credential("D1", "P1", "DEA", jurisdiction="CO", issued_at="2025-06-01T09:00:00-06:00",
                   expires_at="2028-05-31T12:00:00-06:00"),
        credential("L1", "P1", "STATE_LICENSE", jurisdiction="CO", issued_at="2024-06-01T09:00:00-06:00",
                   expires_at="2026-05-31T12:00:00-06:00"),
    ]
    before = run("cred_dea_standing", "2026-05-31T12:00:00Z", records)
    assert before["P1/DEA/CO"].data["check"] == "expiry"
    assert before["P1/DEA/HI"].data["check"] == "no_registration"
    assert before["P1/DEA/HI"].data["due_at"] == "2026-03-02"
    # P1's latest episode is in Honolulu, so the person's local dates are Hawaiian (C7)
    assert run("cred_dea_standing", "2026-06-01T09:59:00Z", records)["P1/DEA/CO"].data["check"] == "expiry"
    after = run("cred_dea_standing", "2026-06-01T10:00:00Z", records)
    assert after["P1/DEA/CO"].data["check"] == "no_state_license"
    assert after["P1/DEA/CO"].data["due_at"] == "2026-05-31"


def test_csr_standing_missing_and_expiry() -> None:
    records = [
        episode("P1", "E4", "2025-03-02T08:00:00-06:00"),
        credential("D1", "P1", "DEA", jurisdiction="IL", issued_at="2025-03-10T09:00:00-05:00",
                   expires_at="2028-03-31T12:00:00-05:00"),
        episode("P2", "E4", "2025-03-02T08:00:00-06:00"),
        credential("D2", "P2", "DEA", jurisdiction="IL", issued_at="2025-03-10T09:00:00-05:00",
                   expires_at="2028-03-31T12:00:00-05:00"),
        credential("C2", "P2", "STATE_CSR", jurisdiction="IL", issued_at="2023-08-01T09:00:00-05:00",
                   expires_at="2026-07-31T12:00:00-05:00"),
        episode("P3", "E1", "2025-03-02T08:00:00-07:00"),
        credential("D3", "P3", "DEA", jurisdiction="CO", issued_at="2025-03-10T09:00:00-06:00",
                   expires_at="2028-03-31T12:00:00-06:00"),
    ]
    facts = run("cred_csr_standing", "2026-05-02T05:00:00Z", records)
    assert set(facts) == {"P1/CSR/IL", "P2/CSR/IL"}  # Colorado is not on the default list
    assert facts["P1/CSR/IL"].data["check"] == "missing" and facts["P1/CSR/IL"].data["due_at"] == "2025-03-10"
    assert facts["P2/CSR/IL"].data["due_at"] == "2026-07-31" and facts["P2/CSR/IL"].data["days_left"] == 90


# ---- CRED-BOARD-004 --------------------------------------------------------------------------------


def test_board_standing_eligibility_window_clamps_a_leap_day() -> None:
    facts = run("cred_board_standing", "2026-03-01T12:00:00Z", [
        episode("P1", "E1", "2024-02-29T08:00:00-07:00"),
        episode("P2", "E1", "2024-02-29T08:00:00-07:00", role="nurse_practitioner"),
    ])
    assert set(facts) == {"P1/BOARD/not_certified"}
    assert facts["P1/BOARD/not_certified"].data["due_at"] == "2029-02-28"


def test_board_standing_unverified_and_expiry() -> None:
    facts = run("cred_board_standing", "2026-03-01T12:00:00Z", [
        episode("P1", "E1", "2026-02-02T08:00:00-07:00"),
        credential("B1", "P1", "BOARD_CERT", issued_at="2019-06-01T09:00:00-06:00",
                   expires_at="2029-12-31T12:00:00-07:00"),
    ])
    assert facts["P1/BOARD/unverified"].data["due_at"] == "2026-02-02"
    assert facts["P1/BOARD/expiry"].data["due_at"] == "2029-12-31"


# ---- CRED-CAQH-006, RECRED-007, PSV-008, NPDB-005 ---------------------------------------------------


def test_caqh_cycle_is_180_days_in_illinois_from_the_local_date() -> None:
    facts = run("cred_caqh_standing", "2026-02-01T12:00:00Z", [
        episode("P1", "E4", "2024-01-08T08:00:00-06:00"),
        credential("Q1", "P1", "CAQH_ATTESTATION", jurisdiction="IL", issued_at="2026-01-10T23:30:00-06:00"),
        episode("P2", "E2", "2024-01-08T08:00:00-05:00"),
        credential("Q2A", "P2", "CAQH_ATTESTATION", jurisdiction="NY", issued_at="2025-09-10T10:00:00-04:00"),
        credential("Q2B", "P2", "CAQH_ATTESTATION", jurisdiction="NY", issued_at="2026-01-10T10:00:00-05:00"),
    ])
    assert (facts["P1/CAQH"].data["attested_on"], facts["P1/CAQH"].data["due_at"]) == ("2026-01-10", "2026-07-09")
    assert (facts["P2/CAQH"].data["credential_id"], facts["P2/CAQH"].data["due_at"]) == ("Q2B", "2026-05-10")


def test_caqh_attestation_with_no_issue_date_runs_from_its_verification() -> None:
    """An export that gives only the day the attestation was seen current: the clock runs from it
    (a record with neither date is named by the import and judged for no one)."""
    facts = run("cred_caqh_standing", "2026-06-01T12:00:00Z", [
        episode("P1", "E2", "2024-01-08T08:00:00-05:00"),
        credential("Q1", "P1", "CAQH_ATTESTATION", verified_at="2026-01-31T10:00:00-05:00"),
        episode("P2", "E2", "2024-01-08T08:00:00-05:00"),
        credential("Q2", "P2", "CAQH_ATTESTATION"),
    ])
    assert (facts["P1/CAQH"].data["attested_on"], facts["P1/CAQH"].data["due_at"]) == ("2026-01-31", "2026-05-31")
    assert "P2/CAQH" not in facts


@pytest.mark.parametrize(("to_month", "due"), [(False, "2026-03-15"), (True, "2026-03-31")])
def test_recred_counts_36_months_to_the_day_or_month(to_month: bool, due: str) -> None:
    facts = run("cred_recred_standing", "2026-01-15T12:00:00Z", [
        episode("P1", "E2", "2022-01-10T08:00:00-05:00"),
        credential("L1", "P1", "STATE_LICENSE", jurisdiction="NY", issued_at="2021-01-01T09:00:00-05:00",
                   expires_at="2028-12-31T12:00:00-05:00", verified_at="2023-03-15T11:00:00-04:00"),
    ], recred_count_to_month=to_month)
    assert facts["P1/RECRED"].data["basis"] == "license_verification"
    assert facts["P1/RECRED"].data["due_at"] == due


def test_psv_items_age_at_the_decision() -> None:
    facts = run("cred_psv_item", "2026-02-10T12:00:00Z", [
        episode("P1", "E2", "2026-02-02T08:00:00-05:00"),
        credential("L1", "P1", "STATE_LICENSE", jurisdiction="NY", issued_at="2020-01-01T09:00:00-05:00",
                   expires_at="2027-12-31T12:00:00-05:00", verified_at="2025-10-05T11:00:00-04:00"),
        credential("D1", "P1", "DEA", jurisdiction="NY", issued_at="2024-01-01T09:00:00-05:00",
                   expires_at="2027-12-31T12:00:00-05:00", verified_at="2026-02-05T11:00:00-05:00"),
        rec("screening", "S1", person_id="P1", source="LEIE", checked_at="2026-01-20T10:00:00-05:00", result="clear"),
        rec("screening", "S2", person_id="P1", source="SAM", checked_at="2026-02-03T10:00:00-05:00", result="clear"),
    ])
    assert facts["P1/PSV/license"].data["age_days"] == 120
    assert "P1/PSV/dea" not in facts  # re-verified after the decision: not judged
    assert facts["P1/PSV/leie"].data["age_days"] == 13
    assert facts["P1/PSV/sam"].data["verified_on"] is None  # only checked after the decision


@pytest.mark.parametrize(("mode", "due"), [("AT_EACH_CREDENTIALING", "2026-02-28"), ("CONTINUOUS", "2025-02-28")])
def test_npdb_interval_by_mode(mode: str, due: str) -> None:
    facts = run("cred_npdb_standing", "2026-01-15T12:00:00Z", [
        episode("P1", "E2", "2022-01-10T08:00:00-05:00"),
        credential("M1", "P1", "MALPRACTICE", jurisdiction="NY", issued_at="2025-07-01T00:01:00-04:00",
                   expires_at="2026-07-01T00:01:00-04:00", source="NPDB query",
                   verified_at="2024-02-29T11:00:00-05:00"),
        episode("P2", "E2", "2022-01-10T08:00:00-05:00"),
        credential("L2", "P2", "STATE_LICENSE", jurisdiction="NY", issued_at="2021-01-01T09:00:00-05:00",
                   source="state board", verified_at="2025-05-15T11:00:00-04:00"),
    ], npdb_mode=mode)
    assert set(facts) == {"P1/NPDB"}
    assert facts["P1/NPDB"].data["due_at"] == due


# ---- CRED-MON-009 ----------------------------------------------------------------------------------


def test_monitoring_monthly_exclusion_restriction_and_missing() -> None:
    facts = run("cred_monitoring", "2026-04-25T12:00:00Z", [
        episode("P1", "E4", "2024-01-08T08:00:00-06:00"),
        credential("L1", "P1", "STATE_LICENSE", jurisdiction="IL", issued_at="2020-01-01T09:00:00-06:00",
                   expires_at="2027-12-31T12:00:00-06:00", status="probation", verified_at="2026-04-20T10:00:00-05:00"),
        rec("screening", "S1", person_id="P1", source="LEIE", checked_at="2026-03-31T23:30:00-05:00", result="clear"),
        rec("screening", "S2", person_id="P1", source="SAM", checked_at="2026-04-10T10:00:00-05:00",
            result="excluded"),
        rec("screening", "S3", person_id="P1", source="SAM", checked_at="2026-05-10T10:00:00-05:00", result="clear"),
        episode("P9", "E4", "2024-01-08T08:00:00-06:00", role="front_desk", licensed=False),
    ])
    lists = {"P1/MON/LEIE", "P1/MON/SAM", "P1/MON/STATE_MEDICAID", "P1/MON/BOARD:IL"}
    duties = {"P1/MON/LEIE/monthly:S1", "P1/MON/SAM/exclusion:S2", "P1/MON/STATE_MEDICAID/monthly:EP-P1",
              "P1/MON/BOARD:IL/restriction:L1"}
    # hired in 2024, first checked against LEIE and SAM in 2026: each first cycle (due by the end of
    # the rule's first month) was made up late, and stays reported as such
    late = {"P1/MON/LEIE/monthly:EP-P1", "P1/MON/SAM/monthly:EP-P1"}
    assert set(facts) == lists | duties | late
    assert {(facts[k].data["check"], facts[k].data["due_at"], facts[k].data["checked_late_on"]) for k in late} == {
        ("missed_month", "2025-07-31", "2026-03-31"), ("missed_month", "2025-07-31", "2026-04-10")}
    # one `list` fact per list or board (the rule's subject), and each duty names it
    assert {k for k, f in facts.items() if f.data["check"] == "list"} == lists
    assert all(facts[d].data["list_id"] == d.rsplit("/", 1)[0] for d in duties)
    leie = facts["P1/MON/LEIE/monthly:S1"].data
    assert (leie["check"], leie["key"], leie["due_at"]) == ("monthly", "monthly:S1", "2026-04-30")
    sam = facts["P1/MON/SAM/exclusion:S2"].data
    assert (sam["check"], sam["due_at"], sam["review_by"]) == ("exclusion", "2026-04-10", "2026-05-10")
    # never checked: due after the start month, but never before the rule's first month (July 2025)
    medicaid = facts["P1/MON/STATE_MEDICAID/monthly:EP-P1"].data
    assert (medicaid["check"], medicaid["due_at"], medicaid["last_checked_on"]) == ("monthly", "2025-07-31", None)
    board = facts["P1/MON/BOARD:IL/restriction:L1"].data
    assert (board["check"], board["due_at"]) == ("restriction", "2026-04-20")


# ---- CRED-MAL-010, CRED-CLIA-011, CRED-BLS-012 -----------------------------------------------------


def test_malpractice_uncovered_and_expiry() -> None:
    records = [
        episode("P1", "E1", "2024-01-08T08:00:00-07:00"),
        credential("M1", "P1", "MALPRACTICE", jurisdiction="CO", issued_at="2025-07-01T00:01:00-06:00",
                   expires_at="2026-07-01T00:01:00-06:00"),
        encounter("ENC1", "P1", "2026-07-01T16:00:00-06:00"),
        encounter("ENC2", "P1", "2026-07-02T10:00:00-06:00"),
    ]
    assert run("cred_malpractice_standing", "2026-07-01T23:00:00Z", records)["P1/MAL"].data["check"] == "expiry"
    fact = run("cred_malpractice_standing", "2026-07-03T12:00:00Z", records)["P1/MAL"]
    assert (fact.data["check"], fact.data["due_at"]) == ("uncovered", "2026-07-01")
    assert fact.data["encounter_ids"] == ["ENC2"]


def test_clia_location_from_jurisdiction_or_director() -> None:
    facts = run("cred_clia_standing", "2026-06-02T10:00:00Z", [
        episode("P1", "E5", "2022-01-10T08:00:00-10:00"),
        credential("CL1", "P1", "CLIA", jurisdiction="E5", number="12D3456789", issued_at="2024-09-01T09:00:00-10:00",
                   expires_at="2026-08-31T12:00:00-10:00"),
        episode("P2", "E1", "2022-01-10T08:00:00-07:00"),
        credential("CL2", "P2", "CLIA", jurisdiction="CO", issued_at="2024-09-01T09:00:00-06:00",
                   expires_at="2026-08-31T12:00:00-06:00", renewal_submitted_at="2026-05-15T10:00:00-06:00"),
    ])
    assert facts["CLIA/E5"].bundle_key == "establishment:E5"
    assert facts["CLIA/E1"].data["renewed_at"] == "2026-05-15"


def test_a_revoked_clia_certificate_leaves_its_location_uncovered() -> None:
    """Revoked (an inactive status) before its printed expiry: in force through the day before the
    revocation was verified, so the location has no certificate from then on, as after a lapse."""
    revoked = [episode("P1", "E5", "2022-01-10T08:00:00-10:00"),
               credential("CL1", "P1", "CLIA", jurisdiction="E5", issued_at="2024-09-01T09:00:00-10:00",
                          expires_at="2026-12-31T12:00:00-10:00", status="revoked",
                          verified_at="2026-05-01T10:00:00-10:00")]
    data = run("cred_clia_standing", "2026-06-02T10:00:00Z", revoked)["CLIA/E5"].data
    assert (data["due_at"], data["renewed_at"], data["status"]) == ("2026-04-30", None, "revoked")
    # before the revocation was verified it was not yet known: the certificate's own dates decide
    before = run("cred_clia_standing", "2026-04-20T10:00:00Z", revoked)["CLIA/E5"].data
    assert before["due_at"] == "2026-12-31"
    # lapsed first, revoked later: uncovered since its last printed day
    lapsed = [revoked[0], credential("CL1", "P1", "CLIA", jurisdiction="E5", issued_at="2024-09-01T09:00:00-10:00",
                                     expires_at="2026-03-31T12:00:00-10:00", status="suspended",
                                     verified_at="2026-05-01T10:00:00-10:00")]
    assert run("cred_clia_standing", "2026-06-02T10:00:00Z", lapsed)["CLIA/E5"].data["due_at"] == "2026-03-31"


def test_card_validity_end_of_month_plus_24_and_printed_expiry() -> None:
    leap = cred.Cred(view=rec("credential", "C", kind="BLS"), kind="BLS", person_id="P", jurisdiction="", status="",
                     tz="UTC", issued_on=dt.date(2024, 2, 29), valid_through=None, renewal_on=None, verified_on=None)
    assert cred.card_through(leap, 24) == dt.date(2026, 2, 28)
    facts = run("cred_card_standing", "2026-01-06T07:00:00Z", [
        episode("P1", "E1", "2023-05-01T08:00:00-06:00", role="medical_assistant", licensed=False),
        credential("C1", "P1", "BLS", issued_at="2024-03-15T12:00:00-06:00"),
        episode("P2", "E1", "2023-05-01T08:00:00-06:00", role="phlebotomist", licensed=False),
        credential("C2", "P2", "BLS", issued_at="2025-01-10T12:00:00-07:00", expires_at="2026-01-10T12:00:00-07:00"),
        episode("P3", "E1", "2026-01-05T08:00:00-07:00", role="registered_nurse"),
        episode("P4", "E1", "2023-05-01T08:00:00-06:00", role="front_desk", licensed=False),
    ])
    assert facts["P1/BLS"].data["due_at"] == "2026-03-31"
    assert facts["P2/BLS"].data["due_at"] == "2026-01-10"
    assert (facts["P3/BLS"].data["check"], facts["P3/BLS"].data["due_at"]) == ("missing", "2026-01-05")
    assert "P4/BLS" not in facts and not any(k.endswith("/ACLS") for k in facts)


def test_derivations_are_deterministic() -> None:
    first = run("cred_license_standing", "2026-04-10T12:00:00Z", lic_records())
    second = run("cred_license_standing", "2026-04-10T12:00:00Z", list(reversed(lic_records())))
    assert {k: (v.data, v.sources) for k, v in first.items()} == {k: (v.data, v.sources) for k, v in second.items()}


def test_monitoring_reports_a_skipped_month_made_up_later() -> None:
    def checks(*days: str) -> list[RecordView]:
        return [rec("screening", f"S{i}", person_id="P1", source="LEIE", checked_at=f"{d}T10:00:00-05:00",
                    result="clear") for i, d in enumerate(days)]

    def leie(facts: dict[str, DerivedFact]) -> dict[str, dict[str, Any]]:
        return {k.removeprefix("P1/MON/LEIE/"): f.data for k, f in facts.items() if k.startswith("P1/MON/LEIE/")}

    base = [episode("P1", "E4", "2026-01-12T08:00:00-06:00")]
    current = leie(run("cred_monitoring", "2026-05-20T12:00:00Z",
                       base + checks("2026-02-03", "2026-03-31", "2026-04-01", "2026-05-02"), mon_sources=["LEIE"]))
    assert set(current) == {"monthly:S3"}
    assert (current["monthly:S3"]["check"], current["monthly:S3"]["due_at"]) == ("monthly", "2026-06-30")
    skipped = leie(run("cred_monitoring", "2026-05-20T12:00:00Z", base + checks("2026-02-03", "2026-03-15",
                                                                                 "2026-05-05")))
    assert set(skipped) == {"monthly:S1", "monthly:S2"}  # the late cycle (opened by S1) and the open one
    late = skipped["monthly:S1"]
    assert (late["check"], late["due_at"], late["checked_late_on"], late["record_id"]) == (
        "missed_month", "2026-04-30", "2026-05-05", "S2")
    assert (skipped["monthly:S2"]["check"], skipped["monthly:S2"]["due_at"]) == ("monthly", "2026-06-30")
    # two skipped months, then a lapse now: each is its own duty (the first cycle is keyed by the episode)
    gaps = leie(run("cred_monitoring", "2026-07-02T12:00:00Z", base + checks("2026-03-02", "2026-05-04")))
    assert {k: (d["check"], d["due_at"], d["checked_late_on"]) for k, d in gaps.items()} == {
        "monthly:EP-P1": ("missed_month", "2026-02-28", "2026-03-02"),
        "monthly:S0": ("missed_month", "2026-04-30", "2026-05-04"),
        "monthly:S1": ("monthly", "2026-06-30", None),
    }
    # a gap due more than mon_lookback_months ago is no longer reported
    base = [episode("P1", "E4", "2025-06-10T08:00:00-05:00")]
    old = leie(run("cred_monitoring", "2026-05-20T12:00:00Z", base + checks("2025-07-05", "2025-09-05", "2025-10-02",
                                                                             "2025-11-03", "2025-12-01", "2026-01-05",
                                                                             "2026-02-02", "2026-03-02", "2026-04-01",
                                                                             "2026-05-01"), mon_lookback_months=6))
    assert {d["check"] for d in old.values()} == {"monthly"}
    kept = leie(run("cred_monitoring", "2026-02-27T12:00:00Z", base + checks("2025-07-05", "2025-09-05"),
                    mon_lookback_months=6))
    assert kept["monthly:S0"]["due_at"] == "2025-08-31"  # 31 Aug is not before 27 Aug (6 months back)


# ---- windows counted from an anchor keep the value in force on its day --------------------------------


def changed(name: str, old: Any, new: Any, on: str) -> ParamHistory:
    """A history in which `name` went from `old` to `new` on the local date `on`."""
    return ParamHistory({name: ((dt.date.min, old), (dt.date.fromisoformat(on), new))})


def test_param_on_reads_the_history_with_the_credentialing_default() -> None:
    ctx = make_ctx("2026-03-01T12:00:00Z", [], history=changed("recred_months", 36, 24, "2025-01-01"))
    assert (cred.param_on(ctx, "recred_months", dt.date(2024, 12, 31)),
            cred.param_on(ctx, "recred_months", dt.date(2025, 1, 1))) == (36, 24)
    bare = make_ctx("2026-03-01T12:00:00Z", [])
    assert cred.param_on(bare, "caqh_reattest_days", dt.date(2024, 1, 1)) == 120  # no history: today's value


def test_board_eligibility_window_is_the_one_in_force_when_the_role_began() -> None:
    facts = run("cred_board_standing", "2026-03-01T12:00:00Z", [
        episode("P1", "E1", "2024-02-29T08:00:00-07:00"),
        episode("P2", "E1", "2025-03-03T08:00:00-07:00"),
    ], history=changed("board_eligibility_years", 5, 3, "2025-01-01"), board_eligibility_years=3)
    assert facts["P1/BOARD/not_certified"].data["due_at"] == "2029-02-28"  # 5 years, in force in 2024
    assert facts["P2/BOARD/not_certified"].data["due_at"] == "2028-03-03"  # 3 years, in force since
    # the message prints params.board_eligibility_years: P1's fact carries the 5 its due used
    assert facts["P1/BOARD/not_certified"].data["params_used"] == {"board_eligibility_years": 5}
    assert "params_used" not in facts["P2/BOARD/not_certified"].data


def test_caqh_cycle_is_the_one_in_force_on_the_attestation_date() -> None:
    history = ParamHistory({"caqh_reattest_days": ((dt.date.min, 120), (dt.date(2026, 1, 15), 90)),
                            "caqh_reattest_days_long": ((dt.date.min, 180), (dt.date(2026, 1, 15), 150))})
    facts = run("cred_caqh_standing", "2026-02-01T12:00:00Z", [
        episode("P1", "E4", "2024-01-08T08:00:00-06:00"),
        credential("Q1", "P1", "CAQH_ATTESTATION", jurisdiction="IL", issued_at="2026-01-10T23:30:00-06:00"),
        episode("P2", "E2", "2024-01-08T08:00:00-05:00"),
        credential("Q2", "P2", "CAQH_ATTESTATION", jurisdiction="NY", issued_at="2026-01-10T10:00:00-05:00"),
        episode("P3", "E2", "2024-01-08T08:00:00-05:00"),
        credential("Q3", "P3", "CAQH_ATTESTATION", jurisdiction="NY", issued_at="2026-01-15T10:00:00-05:00"),
        episode("P4", "E4", "2024-01-08T08:00:00-06:00"),
        credential("Q4", "P4", "CAQH_ATTESTATION", jurisdiction="IL", issued_at="2026-01-20T10:00:00-06:00"),
    ], history=history, caqh_reattest_days=90, caqh_reattest_days_long=150)
    got = {pid: (facts[f"{pid}/CAQH"].data["cycle_days"], facts[f"{pid}/CAQH"].data["due_at"])
           for pid in ("P1", "P2", "P3", "P4")}
    assert got == {"P1": (180, "2026-07-09"), "P2": (120, "2026-05-10"),
                   "P3": (90, "2026-04-15"), "P4": (150, "2026-06-19")}


def test_recred_cycle_is_the_one_in_force_on_the_last_decision() -> None:
    facts = run("cred_recred_standing", "2026-01-15T12:00:00Z", [
        episode("P1", "E2", "2022-01-10T08:00:00-05:00"),
        credential("L1", "P1", "STATE_LICENSE", jurisdiction="NY", issued_at="2021-01-01T09:00:00-05:00",
                   expires_at="2028-12-31T12:00:00-05:00", verified_at="2023-03-15T11:00:00-04:00"),
        episode("P2", "E2", "2022-01-10T08:00:00-05:00"),
        credential("L2", "P2", "STATE_LICENSE", jurisdiction="NY", issued_at="2021-01-01T09:00:00-05:00",
                   expires_at="2028-12-31T12:00:00-05:00", verified_at="2024-05-15T11:00:00-04:00"),
    ], history=changed("recred_months", 36, 24, "2024-01-01"), recred_months=24)
    assert facts["P1/RECRED"].data["due_at"] == "2026-03-15"  # 36 months from 2023
    assert facts["P2/RECRED"].data["due_at"] == "2026-05-15"  # 24 months from 2024


def test_psv_looks_at_a_decision_inside_the_cycle_it_started() -> None:
    facts = run("cred_psv_item", "2026-03-01T12:00:00Z", [
        episode("P1", "E2", "2023-06-05T08:00:00-04:00"),  # + 36 months: 2026-06-05, still current
        episode("P2", "E2", "2024-02-05T08:00:00-05:00"),  # + 24 months: 2026-02-05, over
    ], history=changed("recred_months", 36, 24, "2024-01-01"), recred_months=24)
    assert {k.split("/")[0] for k in facts} == {"P1"}
    assert facts["P1/PSV/leie"].data["decision_on"] == "2023-06-05"


def test_npdb_interval_is_the_one_in_force_on_the_last_query() -> None:
    facts = run("cred_npdb_standing", "2026-01-15T12:00:00Z", [
        episode("P1", "E2", "2022-01-10T08:00:00-05:00"),
        credential("M1", "P1", "MALPRACTICE", jurisdiction="NY", source="NPDB query",
                   issued_at="2023-07-01T00:01:00-04:00", verified_at="2024-02-29T11:00:00-05:00"),
        episode("P2", "E2", "2022-01-10T08:00:00-05:00"),
        credential("M2", "P2", "MALPRACTICE", jurisdiction="NY", source="NPDB query",
                   issued_at="2023-07-01T00:01:00-04:00", verified_at="2025-05-15T11:00:00-04:00"),
    ], history=changed("npdb_interval_months", 24, 12, "2025-01-01"), npdb_interval_months=12)
    assert (facts["P1/NPDB"].data["interval_months"], facts["P1/NPDB"].data["due_at"]) == (24, "2026-02-28")
    assert (facts["P2/NPDB"].data["interval_months"], facts["P2/NPDB"].data["due_at"]) == (12, "2026-05-15")


def test_monitoring_cycles_keep_the_interval_in_force_when_they_opened() -> None:
    def leie(pid: str, day: str, i: int) -> RecordView:
        return rec("screening", f"S{i}", person_id=pid, source="LEIE", checked_at=f"{day}T10:00:00-05:00",
                   result="clear")

    records = [episode("P1", "E4", "2026-01-12T08:00:00-06:00"), leie("P1", "2026-02-03", 0),
               leie("P1", "2026-04-10", 1),
               episode("P2", "E4", "2024-01-08T08:00:00-06:00"),
               credential("L2", "P2", "STATE_LICENSE", jurisdiction="IL", issued_at="2020-01-01T09:00:00-06:00",
                          expires_at="2027-12-31T12:00:00-06:00", verified_at="2026-02-10T10:00:00-06:00"),
               episode("P3", "E4", "2024-01-08T08:00:00-06:00"),
               credential("L3", "P3", "STATE_LICENSE", jurisdiction="IL", issued_at="2020-01-01T09:00:00-06:00",
                          expires_at="2027-12-31T12:00:00-06:00", verified_at="2026-03-20T10:00:00-05:00")]
    facts = run("cred_monitoring", "2026-05-20T12:00:00Z", records, mon_sources=["LEIE"], mon_interval_months=2,
                history=changed("mon_interval_months", 1, 2, "2026-03-01"))
    p1 = {k.removeprefix("P1/MON/LEIE/"): (f.data["check"], f.data["due_at"], f.data["checked_late_on"])
          for k, f in facts.items() if k.startswith("P1/MON/LEIE/")}
    # opened on 3 February under 1 month: due 31 March, missed; opened on 10 April under 2: due 30 June
    assert p1 == {"monthly:S0": ("missed_month", "2026-03-31", "2026-04-10"),
                  "monthly:S1": ("monthly", "2026-06-30", None)}
    assert facts["P2/MON/BOARD:IL/monthly:L2:2026-02-10"].data["due_at"] == "2026-03-31"
    assert facts["P3/MON/BOARD:IL/monthly:L3:2026-03-20"].data["due_at"] == "2026-05-31"


def test_monitoring_review_by_is_the_window_in_force_when_the_result_was_seen() -> None:
    records = [episode("P1", "E4", "2024-01-08T08:00:00-06:00"),
               rec("screening", "S1", person_id="P1", source="SAM", checked_at="2026-04-10T10:00:00-05:00",
                   result="excluded"),
               rec("screening", "S2", person_id="P1", source="LEIE", checked_at="2026-04-15T10:00:00-05:00",
                   result="possible_match"),
               credential("L1", "P1", "STATE_LICENSE", jurisdiction="IL", issued_at="2020-01-01T09:00:00-06:00",
                          expires_at="2027-12-31T12:00:00-06:00", status="probation",
                          verified_at="2026-04-20T10:00:00-05:00")]
    facts = run("cred_monitoring", "2026-04-25T12:00:00Z", records, mon_sources=["LEIE", "SAM"],
                adverse_review_days=10, history=changed("adverse_review_days", 30, 10, "2026-04-15"))
    assert facts["P1/MON/SAM/exclusion:S1"].data["review_by"] == "2026-05-10"  # 30 days, in force on 10 April
    assert facts["P1/MON/LEIE/possible_match:S2"].data["review_by"] == "2026-04-25"  # 10 from 15 April
    assert facts["P1/MON/BOARD:IL/restriction:L1"].data["review_by"] == "2026-04-30"


def test_a_card_keeps_the_validity_it_was_issued_with() -> None:
    facts = run("cred_card_standing", "2026-01-06T07:00:00Z", [
        episode("P1", "E1", "2023-05-01T08:00:00-06:00", role="medical_assistant", licensed=False),
        credential("C1", "P1", "BLS", issued_at="2024-03-15T12:00:00-06:00"),
        episode("P2", "E1", "2023-05-01T08:00:00-06:00", role="medical_assistant", licensed=False),
        credential("C2", "P2", "BLS", issued_at="2025-02-10T12:00:00-07:00"),
    ], history=changed("card_valid_months", 24, 12, "2025-01-01"), card_valid_months=12)
    assert facts["P1/BLS"].data["due_at"] == "2026-03-31"  # end of March 2024 + 24 months
    assert facts["P2/BLS"].data["due_at"] == "2026-02-28"  # end of February 2025 + 12 months
