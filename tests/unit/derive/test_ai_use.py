"""The ai_use derivations: state applicability, cross-family joins, tool clocks and aggregates."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Mapping
from typing import Any

import pytest

from engine.rules.catalog import RULESETS_DIR
from engine.rules.derive import DERIVATIONS, DeriveContext, DerivedFact, RecordView, ai_use, load_families
from engine.rules.facts import Zones
from engine.rules.loader import load_ruleset_file
from engine.rules.param_history import NO_HISTORY, ParamHistory


def at(text: str) -> dt.datetime:
    return dt.datetime.fromisoformat(text.replace("Z", "+00:00"))


def rv(type_: str, id_: str, **data: Any) -> RecordView:
    return RecordView(type_, id_, 1, data)


ESTABLISHMENTS = [
    rv("establishment", "E1", tz="America/Chicago", state="IL"),
    rv("establishment", "ECA", tz="America/Los_Angeles", state="CA"),
    rv("establishment", "ETX", tz="America/Chicago", state="TX"),
    rv("establishment", "EUT", tz="America/Denver", state="UT"),
]
OWNER = [rv("employment_episode", "EP1", person_id="P1", establishment_id="E1", start_at="2024-01-02T15:00:00Z",
            licensed_clinician=True)]


def make_ctx(as_of: str, records: Iterable[RecordView] = (), params: Mapping[str, Any] | None = None,
             organization: RecordView | None = None, history: ParamHistory = NO_HISTORY) -> DeriveContext:
    recs = list(records)
    ests: dict[str, Mapping[str, Any]] = {v.id: dict(v.data, id=v.id) for v in recs if v.type == "establishment"}
    people = {str(v.data["person_id"]): str(v.data["establishment_id"]) for v in recs
              if v.type == "employment_episode" and v.data.get("establishment_id")}
    zones = Zones(establishments=ests, person_establishment=people, default_tz="America/New_York")
    return DeriveContext(as_of=at(as_of), params=dict(params or {}), tz_of=lambda v: zones.tz(v.type, v.data),
                         establishments={k: RecordView("establishment", k, 0, v) for k, v in ests.items()},
                         organization=organization, history=history)


def run(fn: Any, ctx: DeriveContext, records: Iterable[RecordView]) -> list[DerivedFact]:
    by_type: dict[str, list[RecordView]] = {}
    for r in records:
        by_type.setdefault(r.type, []).append(r)
    return list(fn(ctx, by_type))


def duties(as_of: str, tools: list[RecordView], outputs: Iterable[RecordView] = (),
           params: Mapping[str, Any] | None = None, history: ParamHistory = NO_HISTORY) -> dict[str, dict[str, Any]]:
    recs = ESTABLISHMENTS + OWNER + tools + list(outputs)
    return {f.id: f.data for f in run(ai_use.tool_duties, make_ctx(as_of, recs, params, history=history), recs)}


def changed(on: dt.date, **steps: tuple[Any, Any]) -> ParamHistory:
    """A history in which each named parameter went from its first value to its second on `on`."""
    return ParamHistory({name: ((dt.date.min, old), (on, new)) for name, (old, new) in steps.items()})


# ---- registration ----------------------------------------------------------------------------------


def test_every_derivation_is_registered_with_declared_fields() -> None:
    load_families()
    names = {name for name, _ in DERIVATIONS}
    expected = {"ai_use_practice", "ai_use_tool", "ai_use_tool_duty", "ai_use_vendor", "ai_use_mh_chatbot",
                "ai_use_output", "ai_use_encounter"}
    assert expected <= names
    for name in expected:
        d = DERIVATIONS.get(name)
        assert d.output == name and d.fields and d.doc
    assert DERIVATIONS.get("ai_use_practice").reference
    assert DERIVATIONS.get("ai_use_output").event and DERIVATIONS.get("ai_use_encounter").event


def test_produced_fields_are_declared() -> None:
    load_families()
    tool = rv("ai_tool", "T1", vendor_id="V1", name="Dr. Ava", category="PCDST", approved_at="2024-03-01T15:00:00Z",
              owner_person_id="P1", uses_protected_characteristics=True)
    out = rv("ai_output", "O1", tool_id="T1", kind="NOTE_DRAFT", establishment_id="E1",
             created_at="2026-04-01T14:00:00Z")
    enc = rv("encounter", "ENC1", patient_id="PT1", establishment_id="ETX", at="2026-04-01T14:00:00Z",
             ambient_recording=True)
    vendor = rv("vendor", "V1", is_ai=True, handles_phi=True)
    bot = rv("ai_tool", "T2", vendor_id="V1", name="Calm", category="MH_CHATBOT", approved_at="2025-03-01T15:00:00Z")
    chat = rv("ai_output", "O2", tool_id="T2", kind="PATIENT_MESSAGE", establishment_id="E1", clinical_content=True,
              created_at="2026-04-01T14:00:00Z")
    recs = ESTABLISHMENTS + OWNER + [tool, out, enc, vendor, bot, chat, rv("organization", "ORG", states=["IL"])]
    ctx = make_ctx("2026-06-01T00:00:00Z", recs)
    for name, d in DERIVATIONS:
        if not name.startswith("ai_use"):
            continue
        facts = run(d.fn, ctx, recs)
        assert facts, name
        for f in facts:
            assert f.type == d.output
            assert set(f.data) <= set(d.fields), (name, set(f.data) - set(d.fields))
            assert f.sources, name


# ---- titles (AB 489) ---------------------------------------------------------------------------------


@pytest.mark.parametrize(("name", "found"), [
    ("Dr. Ava", "Dr."), ("dr ava", "Dr."), ("Nurse Nina", "Nurse"), ("Ask the therapist", "Therapist"),
    ("M.D. Answers", "M.D."), ("Care RN Helper", "RN"), ("Ava, PA", "PA"), ("Ava Assistant", None),
    ("Doctrine todo Paula draw", None), ("MDCalc", None), ("do it now", None), (None, None),
])
def test_licensed_title_in(name: str | None, found: str | None) -> None:
    assert ai_use.licensed_title_in(name, ai_use.DEFAULTS["ai_licensed_titles"]) == found


# ---- practice ------------------------------------------------------------------------------------------


def test_practice_states_are_the_union_of_org_and_establishment_states() -> None:
    org = rv("organization", "ORG", states=["CO", "IL"], fte_count=80, receives_federal_financial_assistance=True)
    (fact,) = run(ai_use.practice, make_ctx("2026-01-01T00:00:00Z"), [org] + ESTABLISHMENTS)
    assert fact.data["states"] == ["CA", "CO", "IL", "TX", "UT"]
    assert fact.data["establishment_states"] == ["CA", "IL", "TX", "UT"]
    assert fact.data["fte_count"] == 80 and fact.data["receives_federal_financial_assistance"] is True
    assert fact.bundle_key == "org:*"


def test_practice_without_an_organisation_record() -> None:
    (fact,) = run(ai_use.practice, make_ctx("2026-01-01T00:00:00Z"), ESTABLISHMENTS[:1])
    assert fact.data["states"] == ["IL"] and fact.data["receives_federal_financial_assistance"] is None


# ---- per tool -------------------------------------------------------------------------------------------


def test_tool_status_counts_use_before_approval_as_of_the_run() -> None:
    tool = rv("ai_tool", "T1", vendor_id="V1", name="Drafter", category="ADMIN", approved_at="2026-04-02T15:00:00Z")
    outs = [rv("ai_output", f"O{i}", tool_id="T1", establishment_id="E1", created_at=when)
            for i, when in enumerate(["2026-04-01T14:00:00Z", "2026-04-03T14:00:00Z", "2026-05-01T14:00:00Z"])]
    rogue = rv("ai_output", "OR", tool_id="ROGUE", establishment_id="ECA", created_at="2026-04-01T10:00:00Z")
    recs = [tool, rogue] + outs
    facts = {f.id: f for f in run(ai_use.tool_status, make_ctx("2026-04-10T00:00:00Z", recs), recs)}
    t1 = facts["T1"].data
    assert (t1["output_count"], t1["unapproved_output_count"]) == (2, 1)  # the May output has not happened yet
    assert t1["first_used_at"] == "2026-04-01T14:00:00Z" and t1["approved_at"] == "2026-04-02T15:00:00Z"
    assert facts["T1"].bundle_key == "vendor:V1"
    assert ("ai_output", "O0", 1) in facts["T1"].sources
    rogue_fact = facts["ROGUE"]
    assert rogue_fact.data["in_inventory"] is False and rogue_fact.data["establishment_id"] == "ECA"
    assert rogue_fact.bundle_key == "vendor:ai_tool/ROGUE" and rogue_fact.sources == [("ai_output", "OR", 1)]
    # before the approval instant the tool is not approved at all
    early = {f.id: f.data for f in run(ai_use.tool_status, make_ctx("2026-04-02T14:59:00Z", recs), recs)}
    assert early["T1"]["approved_at"] is None and early["T1"]["unapproved_output_count"] == 1


def test_approval_duty_is_due_on_the_local_day_of_first_use() -> None:
    # 03:30Z on 2 Apr is still 1 Apr in Chicago
    tool = rv("ai_tool", "T1", name="x", category="ADMIN", owner_person_id="P1", approved_at="2026-04-03T15:00:00Z")
    out = rv("ai_output", "O1", tool_id="T1", establishment_id="E1", created_at="2026-04-02T03:30:00Z")
    d = duties("2026-04-05T00:00:00Z", [tool], [out])
    assert d["T1/approval"]["due_at"] == "2026-04-01"
    assert d["T1/approval"]["met_at"] == "2026-04-03T15:00:00Z" and d["T1/approval"]["past_due"] is True
    # approved before first use: no approval duty
    tool2 = rv("ai_tool", "T2", name="y", category="ADMIN", owner_person_id="P1", approved_at="2026-03-01T15:00:00Z")
    out2 = rv("ai_output", "O2", tool_id="T2", establishment_id="E1", created_at="2026-04-01T15:00:00Z")
    assert "T2/approval" not in duties("2026-04-05T00:00:00Z", [tool2], [out2])


def test_nothing_is_due_for_a_tool_neither_approved_nor_used() -> None:
    tool = rv("ai_tool", "T1", name="x", category="PCDST")
    assert duties("2026-04-05T00:00:00Z", [tool]) == {}


def test_review_intervals_by_risk_and_leap_day() -> None:
    admin = rv("ai_tool", "TA", name="a", category="ADMIN", owner_person_id="P1", approved_at="2025-03-10T15:00:00Z")
    msg = rv("ai_tool", "TG", name="g", category="GENAI_PATIENT_COMMS", owner_person_id="P1",
             approved_at="2025-03-10T15:00:00Z")
    model = rv("ai_tool", "TM", name="m", category="PREDICTIVE_DSI", owner_person_id="P1",
               approved_at="2027-09-02T15:00:00Z", uses_protected_characteristics=False)
    d = duties("2028-01-01T00:00:00Z", [admin, msg, model])
    assert "TA/performance_review" not in d  # ADMIN is low risk
    assert d["TG/performance_review"]["due_at"] == "2026-03-10" and d["TG/performance_review"]["interval_days"] == 365
    assert d["TG/performance_review"]["high_risk"] is False and d["TG/performance_review"]["past_due"] is True
    assert d["TM/performance_review"]["due_at"] == "2028-02-29" and d["TM/performance_review"]["high_risk"] is True
    assert not any(k.endswith("/approval") or k.endswith("/owner") for k in d)
    d = duties("2028-01-01T00:00:00Z", [model], params={"ai_perf_review_high_risk_days": 365})
    assert d["TM/performance_review"]["due_at"] == "2028-09-01"


def test_performance_review_counts_from_the_last_review() -> None:
    tool = rv("ai_tool", "T1", name="x", category="GENAI_PATIENT_COMMS", owner_person_id="P1",
              approved_at="2025-06-01T15:00:00Z", last_perf_review_at="2026-02-10T15:00:00Z")
    d = duties("2026-03-01T00:00:00Z", [tool])
    assert d["T1/performance_review"]["due_at"] == "2027-02-10"
    assert d["T1/performance_review"]["basis_at"] == "2026-02-10T15:00:00Z"
    # a review recorded after the run has not happened yet: the clock runs from go-live
    d = duties("2026-02-01T00:00:00Z", [tool])
    assert d["T1/performance_review"]["due_at"] == "2026-06-01" and d["T1/performance_review"]["past_due"] is False


def test_review_windows_are_the_ones_in_force_when_the_clock_started() -> None:
    # from 1 January 2026: 180 days (was 365), 90 for high risk (was 180); today's values are the new ones
    history = changed(dt.date(2026, 1, 1), ai_perf_review_days=(365, 180), ai_perf_review_high_risk_days=(180, 90))
    params = {"ai_perf_review_days": 180, "ai_perf_review_high_risk_days": 90}
    live = rv("ai_tool", "TG", name="g", category="GENAI_PATIENT_COMMS", owner_person_id="P1",
              approved_at="2025-03-10T15:00:00Z")
    eve = rv("ai_tool", "TE", name="e", category="GENAI_PATIENT_COMMS", owner_person_id="P1",
             approved_at="2026-01-01T03:00:00Z")  # 21:00 on 31 December in Chicago, the tool's zone
    reviewed = rv("ai_tool", "TR", name="r", category="GENAI_PATIENT_COMMS", owner_person_id="P1",
                  approved_at="2025-03-10T15:00:00Z", last_perf_review_at="2026-02-10T15:00:00Z")
    model = rv("ai_tool", "TM", name="m", category="PREDICTIVE_DSI", owner_person_id="P1",
               approved_at="2025-12-31T15:00:00Z", uses_protected_characteristics=False)
    d = duties("2026-03-01T00:00:00Z", [live, eve, reviewed, model], params=params, history=history)
    got = {k: (v["interval_days"], v["due_at"]) for k, v in d.items() if k.endswith("/performance_review")}
    assert got == {"TG/performance_review": (365, "2026-03-10"), "TE/performance_review": (365, "2026-12-31"),
                   "TR/performance_review": (180, "2026-08-09"), "TM/performance_review": (180, "2026-06-29")}


def test_pcdst_windows_are_the_ones_in_force_on_go_live() -> None:
    # from 1 March 2026: 60 days to review inputs (was 30), 45 more to mitigate (was 30)
    history = changed(dt.date(2026, 3, 1), pcdst_review_days=(30, 60), pcdst_mitigation_days=(30, 45))
    params = {"pcdst_review_days": 60, "pcdst_mitigation_days": 45}
    before = rv("ai_tool", "T1", name="x", category="PCDST", owner_person_id="P1", approved_at="2026-01-15T15:00:00Z",
                uses_protected_characteristics=True)
    unknown = rv("ai_tool", "T2", name="y", category="PCDST", owner_person_id="P1", approved_at="2026-03-02T15:00:00Z")
    uses = rv("ai_tool", "T3", name="z", category="PREDICTIVE_DSI", owner_person_id="P1",
              approved_at="2026-03-02T15:00:00Z", uses_protected_characteristics=True)
    d = duties("2026-03-17T12:00:00Z", [before, unknown, uses], params=params, history=history)
    assert (d["T1/mitigation"]["interval_days"], d["T1/mitigation"]["due_at"]) == (60, "2026-03-16")
    assert (d["T2/input_review"]["interval_days"], d["T2/input_review"]["due_at"]) == (60, "2026-05-01")
    assert (d["T3/mitigation"]["interval_days"], d["T3/mitigation"]["due_at"]) == (105, "2026-06-15")


def test_input_review_never_due_before_the_1557_compliance_date() -> None:
    old = rv("ai_tool", "T1", name="x", category="PCDST", owner_person_id="P1", approved_at="2024-03-01T15:00:00Z")
    eve = rv("ai_tool", "T2", name="y", category="PCDST", owner_person_id="P1", approved_at="2025-04-30T15:00:00Z")
    new = rv("ai_tool", "T3", name="z", category="PREDICTIVE_DSI", owner_person_id="P1",
             approved_at="2026-03-02T15:00:00Z")
    done = rv("ai_tool", "T4", name="w", category="PCDST", owner_person_id="P1", approved_at="2024-03-01T15:00:00Z",
              uses_protected_characteristics=False)
    d = duties("2026-06-01T00:00:00Z", [old, eve, new, done])
    assert d["T1/input_review"]["due_at"] == "2025-05-01"
    assert d["T2/input_review"]["due_at"] == "2025-05-30"
    assert d["T3/input_review"]["due_at"] == "2026-04-01"
    assert "T4/input_review" not in d and "T4/mitigation" not in d


def test_mitigation_due_after_review_window_and_met_by_a_recorded_review() -> None:
    tool = rv("ai_tool", "T1", name="x", category="PCDST", owner_person_id="P1", approved_at="2026-01-15T15:00:00Z",
              uses_protected_characteristics=True, last_perf_review_at="2026-03-16T23:00:00Z")
    d = duties("2026-03-17T12:00:00Z", [tool])
    assert d["T1/mitigation"]["due_at"] == "2026-03-16" and d["T1/mitigation"]["interval_days"] == 60
    assert d["T1/mitigation"]["met_at"] == "2026-03-16T23:00:00Z"
    assert "T1/input_review" not in d
    d = duties("2026-03-17T12:00:00Z", [tool], params={"pcdst_mitigation_days": 10})
    assert d["T1/mitigation"]["due_at"] == "2026-02-24"


def test_colorado_impact_assessment_clock() -> None:
    never = rv("ai_tool", "T1", name="x", category="PCDST", owner_person_id="P1", approved_at="2025-01-10T15:00:00Z",
               uses_protected_characteristics=False)
    recent = rv("ai_tool", "T2", name="y", category="PREDICTIVE_DSI", owner_person_id="P1",
                approved_at="2025-01-10T15:00:00Z", last_perf_review_at="2026-02-28T18:00:00Z",
                uses_protected_characteristics=False)
    old = rv("ai_tool", "T3", name="z", category="MH_CHATBOT", owner_person_id="P1",
             approved_at="2025-01-10T15:00:00Z", last_perf_review_at="2025-01-31T18:00:00Z")
    low = rv("ai_tool", "T4", name="w", category="GENAI_PATIENT_COMMS", owner_person_id="P1",
             approved_at="2025-01-10T15:00:00Z")
    d = duties("2026-07-01T12:00:00Z", [never, recent, old, low])
    assert d["T1/impact_assessment"]["due_at"] == "2026-06-30"
    assert d["T2/impact_assessment"]["due_at"] == "2027-02-28"
    assert d["T3/impact_assessment"]["due_at"] == "2026-06-30"  # 31 Jan 2026 is before the effective date
    assert "T4/impact_assessment" not in d
    d = duties("2026-07-01T12:00:00Z", [never], params={"co_ai_act_effective_date": "2027-01-01"})
    assert d["T1/impact_assessment"]["due_at"] == "2027-01-01"


def test_inventory_duty_and_zone_of_a_tool_without_owner() -> None:
    # no owner: the default zone (New York) decides the local date; 03:30Z is still 31 Mar there
    tool = rv("ai_tool", "T1", name="x", category="ADMIN", approved_at="2026-04-01T03:30:00Z")
    d = duties("2026-04-05T00:00:00Z", [tool])
    assert d["T1/inventory"]["due_at"] == "2026-03-31"
    assert d["T1/inventory"]["missing_fields"] == ["vendor_id", "owner_person_id", "uses_phi"]
    # unknown names in the parameter are ignored; a complete record has no inventory duty
    d = duties("2026-04-05T00:00:00Z", [tool], params={"ai_inventory_required_fields": ["name", "purpose"]})
    assert "T1/inventory" not in d


# ---- per vendor ------------------------------------------------------------------------------------------


def vendor_facts(as_of: str, recs: list[RecordView], params: Mapping[str, Any] | None = None) -> dict[str, Any]:
    return {f.id: f.data for f in run(ai_use.ai_vendors, make_ctx(as_of, recs, params), recs)}


def test_vendor_baa_coverage() -> None:
    recs = [
        rv("vendor", "V1", is_ai=True, handles_phi=True),
        rv("phi_flow", "F1", vendor_id="V1", first_at="2026-01-15T12:00:00Z"),
        rv("baa", "B1", vendor_id="V1", signed_at="2026-02-01T12:00:00Z", effective_at="2026-02-01T12:00:00Z",
           clauses=["ai_no_training"]),
        rv("vendor", "V2"),
        rv("ai_tool", "T2", vendor_id="V2", uses_phi=True),
        rv("vendor", "V3", is_ai=False, handles_phi=True),
        rv("vendor", "V7", is_ai=True, relationship_type="conduit"),
        rv("phi_flow", "F7", vendor_id="V7", first_at="2026-01-10T12:00:00Z"),
        rv("baa", "B7", vendor_id="V7", signed_at="2026-01-20T12:00:00Z", effective_at="2026-01-01T00:00:00Z",
           terminated_at="2026-03-01T00:00:00Z", clauses=[]),
    ]
    v = vendor_facts("2026-02-15T00:00:00Z", recs)
    assert "V3" not in v  # not an AI vendor
    assert v["V1"]["phi"] and v["V1"]["baa_active"] and v["V1"]["phi_before_baa"]
    assert v["V1"]["missing_clauses"] == ["DATA_RETENTION_DELETION"] and v["V1"]["missing_clause_count"] == 1
    assert v["V2"]["phi"] and not v["V2"]["baa_active"] and not v["V2"]["phi_before_baa"]
    assert v["V2"]["missing_clauses"] == [] and v["V2"]["tool_ids"] == ["T2"]
    # signed after PHI flowed, although made effective earlier: not covered at the first flow
    assert v["V7"]["phi_before_baa"] and v["V7"]["baa_active"] and v["V7"]["baa_exempt"]
    v = vendor_facts("2026-03-01T00:00:00Z", recs)
    assert not v["V7"]["baa_active"]  # terminated at this instant
    v = vendor_facts("2026-01-31T00:00:00Z", recs)
    assert not v["V1"]["baa_active"] and v["V1"]["baa_id"] is None  # not signed yet
    v = vendor_facts("2026-02-15T00:00:00Z", recs, {"ai_baa_required_clauses": ["ai_no_training"]})
    assert v["V1"]["missing_clause_count"] == 0


def test_vendor_baa_clauses_match_whatever_their_case() -> None:
    def vendor(n: str, clauses: list[str]) -> list[RecordView]:
        return [rv("vendor", f"V{n}", is_ai=True, handles_phi=True),
                rv("baa", f"B{n}", vendor_id=f"V{n}", signed_at="2026-01-10T12:00:00Z", clauses=clauses)]

    recs = (vendor("1", ["PERMITTED_USES", "AI_NO_TRAINING", "DATA_RETENTION_DELETION"])
            + vendor("2", [" Ai_No_Training", "data_retention_deletion "])
            + vendor("3", ["AI_NO_TRAINING"]))
    v = vendor_facts("2026-06-01T00:00:00Z", recs)
    assert {k: d["missing_clauses"] for k, d in v.items()} == {"V1": [], "V2": [], "V3": ["DATA_RETENTION_DELETION"]}
    # a practice list in any case is read in the same spelling
    v = vendor_facts("2026-06-01T00:00:00Z", recs,
                     {"ai_baa_required_clauses": ["data_retention_deletion", "Permitted_Uses"]})
    assert {k: d["missing_clauses"] for k, d in v.items()} == {
        "V1": [], "V2": ["PERMITTED_USES"], "V3": ["DATA_RETENTION_DELETION", "PERMITTED_USES"]}


def test_defaults_match_the_ruleset() -> None:
    """The fallbacks in ai_use.DEFAULTS are the ruleset's declared defaults (clause codes in upper case,
    the spelling HIPAA-BA-BAA-009's baa_required_clauses uses)."""
    ruleset = sorted((RULESETS_DIR / "ai_use").glob("ai_use-*.yaml"))[-1]
    declared = load_ruleset_file(ruleset).spec.params
    for name, value in ai_use.DEFAULTS.items():
        assert name in declared, name
        assert declared[name].default == value, name
    assert all(c == c.upper() for c in ai_use.DEFAULTS["ai_baa_required_clauses"])


# ---- mental-health chatbots ---------------------------------------------------------------------------


def test_chatbot_use_by_state() -> None:
    recs = ESTABLISHMENTS + OWNER + [
        rv("ai_tool", "T1", category="MH_CHATBOT"),
        rv("ai_tool", "T9", category="GENAI_PATIENT_COMMS"),
        # Illinois: unreviewed therapy, reviewed before delivery, administrative, and one before the law
        rv("ai_output", "I1", tool_id="T1", establishment_id="E1", clinical_content=True,
           created_at="2026-04-01T14:00:00Z"),
        rv("ai_output", "I2", tool_id="T1", establishment_id="E1", clinical_content=True,
           created_at="2026-04-01T14:00:00Z", reviewed_by_person_id="P1", reviewed_at="2026-04-01T14:05:00Z",
           sent_at="2026-04-01T14:05:00Z"),
        rv("ai_output", "I3", tool_id="T1", establishment_id="E1", clinical_content=False,
           created_at="2026-04-01T14:00:00Z"),
        rv("ai_output", "I4", tool_id="T1", establishment_id="E1", clinical_content=True,
           created_at="2025-07-31T23:59:59-05:00"),
        rv("ai_output", "I5", tool_id="T9", establishment_id="E1", clinical_content=True,
           created_at="2026-04-01T14:00:00Z"),
        # content not said (null): clinical, as AI-CA-3030-006 reads it (session 48: it had passed unseen)
        rv("ai_output", "I6", tool_id="T1", establishment_id="E1", created_at="2026-04-02T14:00:00Z"),
        # Utah: disclosed start, continuing use 7 days later exactly, a new start 7 days + 1 s later
        rv("ai_output", "U1", tool_id="T1", establishment_id="EUT", created_at="2026-04-01T14:00:00Z",
           disclaimer_present=True),
        rv("ai_output", "U2", tool_id="T1", establishment_id="EUT", created_at="2026-04-08T14:00:00Z"),
        rv("ai_output", "U3", tool_id="T1", establishment_id="EUT", created_at="2026-04-15T14:00:01Z"),
        # California: neither law
        rv("ai_output", "C1", tool_id="T1", establishment_id="ECA", clinical_content=True,
           created_at="2026-04-01T14:00:00Z"),
    ]
    facts = {f.id: f for f in run(ai_use.mh_chatbot, make_ctx("2026-05-01T00:00:00Z", recs), recs)}
    assert set(facts) == {"T1/IL", "T1/UT"}
    il, ut = facts["T1/IL"].data, facts["T1/UT"].data
    assert il["therapeutic_count"] == 2 and il["output_count"] == 4
    assert ("ai_output", "I1", 1) in facts["T1/IL"].sources and ("ai_output", "I6", 1) in facts["T1/IL"].sources
    assert ut["undisclosed_start_count"] == 1 and ut["first_undisclosed_start_at"] == "2026-04-15T14:00:01Z"
    assert facts["T1/UT"].bundle_key == "vendor:ai_tool/T1"
    early = {f.id: f.data for f in run(ai_use.mh_chatbot, make_ctx("2026-04-15T14:00:00Z", recs), recs)}
    assert early["T1/UT"]["undisclosed_start_count"] == 0


# ---- outputs -------------------------------------------------------------------------------------------


def output_facts(as_of: str, outs: list[RecordView], params: Mapping[str, Any] | None = None,
                 history: ParamHistory = NO_HISTORY) -> dict[str, Any]:
    recs = ESTABLISHMENTS + OWNER + [
        rv("employment_episode", "EP2", person_id="P2", establishment_id="E1", start_at="2024-01-02T15:00:00Z",
           licensed_clinician=False),
        rv("ai_tool", "T1", category="AMBIENT_SCRIBE"),
    ] + outs
    return {f.id: f.data for f in run(ai_use.outputs, make_ctx(as_of, recs, params, history=history), recs)}


def test_note_signoff_due_is_72_elapsed_hours_across_dst() -> None:
    note = rv("ai_output", "N1", tool_id="T1", kind="NOTE_DRAFT", establishment_id="E1", clinical_content=True,
              created_at="2026-03-06T20:00:00Z")
    (n1,) = output_facts("2026-03-07T00:00:00Z", [note]).values()
    assert n1["due_at"] == "2026-03-09T20:00:00Z"  # 15:00 CDT, not the wall-clock 14:00
    assert n1["state"] == "IL" and n1["tool_category"] == "AMBIENT_SCRIBE" and n1["clinical"] is True
    assert n1["licensed_review_at"] is None and n1["filed"] is False
    (n1,) = output_facts("2026-03-07T00:00:00Z", [note], {"ai_note_signoff_hours": 24}).values()
    assert n1["due_at"] == "2026-03-07T20:00:00Z"


def test_note_signoff_window_is_the_one_in_force_on_the_local_day_of_creation() -> None:
    # 24 hours from 7 March 2026 (was 72); the notes are at an Illinois site
    def note(id_: str, created: str) -> RecordView:
        return rv("ai_output", id_, tool_id="T1", kind="NOTE_DRAFT", establishment_id="E1", created_at=created)

    notes = [note("N1", "2026-03-06T20:00:00Z"), note("N2", "2026-03-07T05:00:00Z"),  # 23:00 on 6 March in Chicago
             note("N3", "2026-03-07T12:00:00Z")]
    f = output_facts("2026-03-08T00:00:00Z", notes, {"ai_note_signoff_hours": 24},
                     history=changed(dt.date(2026, 3, 7), ai_note_signoff_hours=(72, 24)))
    assert {k: v["due_at"] for k, v in f.items()} == {"N1": "2026-03-09T20:00:00Z", "N2": "2026-03-10T05:00:00Z",
                                                      "N3": "2026-03-08T12:00:00Z"}


def test_note_filed_unsigned_is_due_at_filing() -> None:
    outs = [
        rv("ai_output", "N1", tool_id="T1", kind="NOTE_DRAFT", establishment_id="E1",
           created_at="2026-03-06T20:00:00Z", sent_at="2026-03-07T12:00:00Z"),
        rv("ai_output", "N2", tool_id="T1", kind="NOTE_DRAFT", establishment_id="E1",
           created_at="2026-03-06T20:00:00Z", reviewed_by_person_id="P1", reviewed_at="2026-03-07T11:00:00Z",
           sent_at="2026-03-07T12:00:00Z"),
        rv("ai_output", "N3", tool_id="T1", kind="NOTE_DRAFT", establishment_id="E1",
           created_at="2026-03-06T20:00:00Z", reviewed_by_person_id="P2", reviewed_at="2026-03-07T11:00:00Z"),
    ]
    f = output_facts("2026-03-08T00:00:00Z", outs)
    assert f["N1"]["due_at"] == "2026-03-07T12:00:00Z" and f["N1"]["filed"] is True
    assert f["N2"]["due_at"] == "2026-03-09T20:00:00Z" and f["N2"]["reviewed_before_send"] is True
    assert f["N3"]["reviewer_licensed"] is False and f["N3"]["licensed_review_at"] is None
    assert f["N3"]["reviewed_at"] == "2026-03-07T11:00:00Z"
    # before the filing instant, N1 is not filed yet
    f = output_facts("2026-03-07T11:59:00Z", outs)
    assert f["N1"]["due_at"] == "2026-03-09T20:00:00Z" and f["N1"]["sent_at"] is None


def test_output_state_and_future_outputs() -> None:
    outs = [
        rv("ai_output", "M1", tool_id="T1", kind="PATIENT_MESSAGE", establishment_id="ECA", clinical_content=True,
           created_at="2026-05-01T16:00:00Z", sent_at="2026-05-01T16:05:00Z", disclaimer_present=True),
        rv("ai_output", "M2", tool_id="TX", kind="PATIENT_MESSAGE", created_at="2026-05-01T16:00:00Z"),
        rv("ai_output", "M3", tool_id="T1", kind="PATIENT_MESSAGE", establishment_id="ECA",
           created_at="2026-06-01T16:00:00Z"),
    ]
    f = output_facts("2026-05-15T00:00:00Z", outs)
    assert set(f) == {"M1", "M2"}
    assert f["M1"]["state"] == "CA" and f["M1"]["disclaimed"] is True and f["M1"]["due_at"] is None
    assert f["M2"]["state"] is None and f["M2"]["tool_category"] is None
    only_ca = rv("organization", "ORG", states=["CA"])
    recs = [only_ca, outs[1]]
    (m2,) = run(ai_use.outputs, make_ctx("2026-05-15T00:00:00Z", recs, organization=only_ca), recs)
    assert m2.data["state"] == "CA"  # a single-state organisation answers for an output with no establishment


# ---- encounters ---------------------------------------------------------------------------------------


def test_encounter_states_consent_and_disclosure() -> None:
    recs = ESTABLISHMENTS + [
        rv("establishment", "EOK", tz="America/Chicago", state="OK"),
        rv("patient", "PT1", state="TX"),
        rv("patient", "PT2", state="CA"),
        # earlier visit with consent, later visit without
        rv("encounter", "A", patient_id="PT1", establishment_id="ETX", at="2026-03-01T15:00:00Z",
           ambient_recording=True, recording_consent_at="2026-03-01T14:55:00Z"),
        rv("encounter", "B", patient_id="PT1", establishment_id="EOK", at="2026-04-01T14:00:00Z",
           ambient_recording=True, modality="telehealth"),
        # consent at 00:30 CDT the next local day
        rv("encounter", "C", patient_id="PT2", establishment_id="ETX", clinician_state="TX", patient_state="CA",
           at="2026-04-01T15:00:00Z", ambient_recording=True, recording_started_at="2026-04-01T15:02:00Z",
           recording_consent_at="2026-04-02T05:30:00Z"),
        rv("encounter", "D", patient_id="PT2", establishment_id="ETX", at="2026-04-01T16:00:00Z",
           ambient_recording=False),
        rv("encounter", "E", patient_id="PT2", establishment_id="ETX", at="2026-07-01T16:00:00Z",
           ambient_recording=True),
    ]
    facts = {f.id: f for f in run(ai_use.encounters, make_ctx("2026-06-01T00:00:00Z", recs), recs)}
    assert set(facts) == {"A", "B", "C"}  # D has no scribe, E has not happened yet
    a, b, c = facts["A"].data, facts["B"].data, facts["C"].data
    assert a["states"] == ["TX"] and a["all_party_state_count"] == 0 and a["disclosed_by_service_date"] is True
    assert a["recording_started_at"] == "2026-03-01T15:00:00Z"  # the encounter start stands in
    assert b["states"] == ["OK", "TX"] and b["disclosure_at"] == "2026-03-01T14:55:00Z"
    assert b["disclosed_by_service_date"] is True
    assert ("patient", "PT1", 1) in facts["B"].sources
    assert c["states"] == ["CA", "TX"] and c["all_party_states"] == ["CA"]
    assert c["disclosed_by_service_date"] is False and c["recording_consent_at"] == "2026-04-02T05:30:00Z"
    narrow = {f.id: f.data for f in run(ai_use.encounters, make_ctx("2026-06-01T00:00:00Z", recs,
                                                                        {"all_party_states": ["FL"]}), recs)}
    assert narrow["C"]["all_party_state_count"] == 0
    # before the consent instant it is not documented yet
    early = {f.id: f.data for f in run(ai_use.encounters, make_ctx("2026-04-02T05:00:00Z", recs), recs)}
    assert early["C"]["recording_consent_at"] is None and early["C"]["disclosure_at"] is None
