"""Unit tests for the cms derivations (engine/rules/derive/cms/): each derivation on hand-made
records, at the boundaries the catalog names (749/1000, the QPP close at 20:00 Eastern with
roll-forward, local dates in Honolulu, leap days)."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest

from engine.errors import RulesetValidationError
from engine.rules.derive import DeriveContext, DerivedFact, RecordView, cms
from engine.rules.derive.cms._common import tin_key

UTC = dt.UTC
TZ = {"E-NYC": "America/New_York", "E-HNL": "Pacific/Honolulu", "E-CHI": "America/Chicago"}


def rv(type_: str, id_: str, **data: Any) -> RecordView:
    return RecordView(type_, id_, 1, {"type": type_, "id": id_, **data})


def ctx(as_of: str, default_tz: str = "America/New_York", **params: Any) -> DeriveContext:
    def tz_of(view: RecordView) -> str:
        est = view.data.get("establishment_id")
        return TZ.get(str(est), default_tz) if est else default_tz

    return DeriveContext(as_of=dt.datetime.fromisoformat(as_of.replace("Z", "+00:00")), params=params, tz_of=tz_of,
                         establishments={})


def org(**status: bool) -> RecordView:
    return rv("organization", "ORG-1", name="Practice", mips_participant_by_py={k.removeprefix("y"): v
                                                                                 for k, v in status.items()})


def by_id(facts: list[DerivedFact]) -> dict[str, DerivedFact]:
    return {f.id: f for f in facts}


# ---- normalisation and constants -----------------------------------------------------------------


@pytest.mark.parametrize("raw,expected", [
    ("001", "001"), ("1", "001"), ("Q001", "001"), ("QID 1", "001"), ("CMS122v14", "001"), ("cms165v13", "236"),
    ("CMS2v15", "134"), ("CMS68", "130"), ("Q226", "226"), ("236", "236"), ("CMS999v1", "CMS999V1"),
])
def test_normalize_measure(raw: str, expected: str) -> None:
    assert cms.normalize_measure(raw) == expected


@pytest.mark.parametrize("raw,expected", [
    ("quality", "quality"), ("Quality", "quality"), ("PI", "promoting_interoperability"),
    ("Promoting Interoperability", "promoting_interoperability"), ("ia", "improvement_activities"),
    ("improvement-activities", "improvement_activities"), ("cost", "cost"),
])
def test_normalize_category(raw: str, expected: str) -> None:
    assert cms.normalize_category(raw) == expected


@pytest.mark.parametrize("py,closes", [
    (2023, "2024-04-02T00:00:00+00:00"),  # 31 Mar 2024 was a Sunday: Monday 1 April 20:00 EDT (catalog)
    (2024, "2025-04-01T00:00:00+00:00"),  # Monday 31 March 2025 20:00 EDT
    (2026, "2027-04-01T00:00:00+00:00"),  # Wednesday
    (2028, "2029-04-03T00:00:00+00:00"),  # 31 Mar 2029 is a Saturday: Monday 2 April
])
def test_submission_close_rolls_weekends_and_closes_at_8pm_eastern(py: int, closes: str) -> None:
    assert cms.submission_close(py) == dt.datetime.fromisoformat(closes)


@pytest.mark.parametrize("reported,eligible,threshold,ok", [
    (749, 1000, 75, False), (750, 1000, 75, True), (0, 0, 75, False), (3, 4, 75, True), (2, 3, 75, False),
    (151, 200, 75.5, True), (150, 200, 75.5, False), (7496, 10000, 75, False),
])
def test_dc_meets_is_exact(reported: int, eligible: int, threshold: float, ok: bool) -> None:
    assert cms.dc_meets(reported, eligible, threshold) is ok


# ---- performance years ---------------------------------------------------------------------------


def test_mips_years_around_the_eastern_new_year_and_the_close() -> None:
    inputs = {"organization": [org(y2024=True, y2025=False)], "measure_case": [], "mips_submission": []}
    before = by_id(list(cms.mips_years(ctx("2026-01-01T04:59:59Z"), inputs)))
    assert sorted(before) == ["2024", "2025"]  # 2023 has neither status nor data
    assert before["2025"].data == {"org_id": "ORG-1", "py": 2025, "status_recorded": True, "required": False,
                                   "in_period": True, "open": True, "final": False,
                                   "submission_closes": "2026-04-01T00:00:00Z"}
    after = by_id(list(cms.mips_years(ctx("2026-01-01T05:00:00Z"), inputs)))
    assert sorted(after) == ["2024", "2025", "2026"]
    assert after["2025"].data["final"] and not after["2025"].data["in_period"]
    assert after["2026"].data["status_recorded"] is False and after["2026"].data["required"] is False
    assert after["2024"].sources == [("organization", "ORG-1", 1)]
    assert after["2024"].bundle_key == "org:*"
    closing = by_id(list(cms.mips_years(ctx("2026-04-01T00:00:00Z"), inputs)))
    assert closing["2025"].data["open"] is True  # 8:00:00 p.m. Eastern is still inside the window
    assert by_id(list(cms.mips_years(ctx("2026-04-01T00:00:01Z"), inputs)))["2025"].data["open"] is False


def test_mips_years_need_an_organization() -> None:
    assert list(cms.mips_years(ctx("2026-06-01T00:00:00Z"), {"organization": []})) == []


def test_mips_categories_first_submission_per_tin_and_category() -> None:
    subs = [
        rv("mips_submission", "S2", py=2025, tin="11", category="quality", submitted_at="2026-03-02T10:00:00-05:00"),
        rv("mips_submission", "S1", py=2025, tin="11", category="Quality", submitted_at="2026-03-01T10:00:00-05:00"),
        rv("mips_submission", "S3", py=2025, tin=None, category="PI", submitted_at="2026-02-01T10:00:00-05:00"),
        rv("mips_submission", "S4", py=2025, tin="22", category="ia", submitted_at="2026-05-01T10:00:00-04:00"),
    ]
    cases = [rv("measure_case", "M1", py=2025, tin="22", measure_id="001", eligible=True)]
    inputs = {"organization": [org(y2025=True)], "measure_case": cases, "mips_submission": subs}
    facts = by_id(list(cms.mips_categories(ctx("2026-04-15T00:00:00Z"), inputs)))
    assert sorted(facts) == sorted(f"2025/{t}/{c}" for t in ("11", "22") for c in
                                   ("quality", "improvement_activities", "promoting_interoperability"))
    assert facts["2025/11/quality"].data["submission_id"] == "S1"
    assert facts["2025/11/quality"].data["py_start"] == "2025-01-01"
    # a submission without a TIN counts for every TIN; one after as_of has not happened yet
    assert facts["2025/22/promoting_interoperability"].data["submission_id"] == "S3"
    assert facts["2025/22/improvement_activities"].data["submitted_at"] is None
    assert facts["2025/22/quality"].data["submitted_at"] is None
    assert ("mips_submission", "S1", 1) in facts["2025/11/quality"].sources


def test_a_tin_written_with_or_without_its_dash_is_one_entity() -> None:
    """A registry's measure cases say 11-1111111 and the QPP submission 111111111: one TIN, submitted."""
    subs = [rv("mips_submission", "S1", py=2025, tin="111111111", category="quality",
               submitted_at="2026-03-01T10:00:00-05:00")]
    cases = [rv("measure_case", "M1", py=2025, tin=" 11-1111111", measure_id="001", eligible=True)]
    inputs = {"organization": [org(y2025=True)], "measure_case": cases, "mips_submission": subs}
    facts = by_id(list(cms.mips_categories(ctx("2026-04-15T00:00:00Z", mips_required_categories=["quality"]),
                                           inputs)))
    # named as the records write it (the first form in sort order when they differ), so a practice
    # that always writes 11-1111111 keeps its findings' occurrence keys
    assert list(facts) == ["2025/11-1111111/quality"]
    assert facts["2025/11-1111111/quality"].data["submission_id"] == "S1"
    assert facts["2025/11-1111111/quality"].data["entity"] == "TIN 11-1111111"
    mixed = _cases(2025, "001", "11-1111111", 3) + _cases(2025, "001", "111111111", 1, reported=False)
    (stats,) = cms.measure_stats(ctx("2026-02-01T00:00:00Z"), {"organization": [org()], "measure_case": mixed})
    assert (stats.id, stats.data["eligible_n"], stats.data["reported_n"]) == ("2025/11-1111111/001", 4, 3)
    (alone,) = cms.measure_stats(ctx("2026-02-01T00:00:00Z"),
                                 {"organization": [org()], "measure_case": _cases(2025, "001", "111111111", 1)})
    assert alone.id == "2025/111111111/001"


@pytest.mark.parametrize(("raw", "key"), [
    ("111111111", "111111111"), ("11-1111111", "111111111"), ("111-11-1111", "111111111"),
    (" 11-1111111 ", "111111111"), ("T", "T"), ("", None), (None, None), ("11-11", "11-11"),
])
def test_tin_key(raw: object, key: str | None) -> None:
    assert tin_key(raw) == key


def test_performance_rate_is_rounded_half_up() -> None:
    cases = _cases(2025, "226", "T", 2) + _cases(2025, "226", "T", 1, met=False)
    (fact,) = cms.measure_stats(ctx("2026-02-01T00:00:00Z"), {"organization": [org()], "measure_case": cases})
    assert fact.data["perf_rate_pct"] == 66.7


def test_mips_categories_only_for_required_years_and_chosen_categories() -> None:
    inputs = {"organization": [org(y2025=False, y2026=True)], "measure_case": [], "mips_submission": []}
    facts = list(cms.mips_categories(ctx("2026-06-01T00:00:00Z", mips_required_categories=["Quality"]), inputs))
    assert [f.id for f in facts] == ["2026/*/quality"]
    assert facts[0].data["entity"] == "the practice"


def test_a_submission_with_no_year_or_no_category_counts_for_none() -> None:
    """What an import's `incomplete_records` warning says of a mips_submission with no py or no
    category (engine/records/undated.py GAPS): SUB-002 reads the category as not submitted. Should
    this change, change the warning."""
    at = "2026-03-01T10:00:00-05:00"
    subs = [rv("mips_submission", "S1", py=None, tin="11", category="quality", submitted_at=at),
            rv("mips_submission", "S2", py=2025, tin="11", category=None, submitted_at=at)]
    inputs = {"organization": [org(y2025=True)], "measure_case": [], "mips_submission": subs}
    facts = by_id(list(cms.mips_categories(ctx("2026-03-15T00:00:00Z", mips_required_categories=["quality"]),
                                           inputs)))
    assert list(facts) == ["2025/11/quality"]
    assert facts["2025/11/quality"].data["submission_id"] is None


# ---- quality measures ----------------------------------------------------------------------------


def _cases(py: int | None, measure: str | None, tin: str, n: int, npi: str = "1", **fields: Any) -> list[RecordView]:
    base = {"py": py, "measure_id": measure, "tin": tin, "clinician_npi": npi, "eligible": True, "reported": True,
            "met": True}
    base.update(fields)
    return [rv("measure_case", f"{tin}-{measure}-{npi}-{fields}-{i}", **base) for i in range(n)]


def test_measure_stats_counts_and_exact_completeness() -> None:
    cases = (_cases(2025, "226", "T", 700) + _cases(2025, "226", "T", 40, met=False)
             + _cases(2025, "226", "T", 5, met=None, exception=True)
             + _cases(2025, "226", "T", 4, met=None, excluded=True)
             + _cases(2025, "226", "T", 251, met=None, reported=False)
             + _cases(2025, "226", "T", 3, eligible=False))
    inputs = {"organization": [org()], "measure_case": cases}
    facts = by_id(list(cms.measure_stats(ctx("2026-02-01T00:00:00Z"), inputs)))
    d = facts["2025/T/226"].data
    assert (d["eligible_n"], d["reported_n"], d["excluded_n"], d["exception_n"]) == (1000, 749, 4, 5)
    assert (d["case_n"], d["met_n"], d["not_met_n"], d["unknown_n"], d["perf_den"]) == (996, 700, 40, 251, 740)
    assert d["dc_pct"] == 74.9 and d["final"] is True and d["case_check_from"] == "2025-07-01"
    assert d["perf_rate_pct"] == 94.6  # 700/740 = 94.59...: rounded, as a rate is read
    assert len(facts["2025/T/226"].sources) == 1 + len(cases)


def test_dc_pct_is_cut_not_rounded() -> None:
    cases = _cases(2026, "001", "T", 7496) + _cases(2026, "001", "T", 2504, met=None, reported=False)
    (fact,) = cms.measure_stats(ctx("2026-06-01T00:00:00Z"), {"organization": [org()], "measure_case": cases})
    assert fact.data["dc_pct"] == 74.9  # 74.96% must not read as 75.0%
    assert fact.data["final"] is False and fact.data["outcome_or_hp"] is True


def test_measure_stats_individual_level_and_years_in_view() -> None:
    cases = (_cases(2026, "1", "T", 2, npi="A") + _cases(2026, "CMS122v14", "T", 1, npi="B")
             + _cases(2023, "001", "T", 1, npi="A"))
    inputs = {"organization": [org()], "measure_case": cases}
    group = by_id(list(cms.measure_stats(ctx("2026-06-01T00:00:00Z"), inputs)))
    assert sorted(group) == ["2026/T/001"] and group["2026/T/001"].data["eligible_n"] == 3
    indiv = by_id(list(cms.measure_stats(ctx("2026-06-01T00:00:00Z", mips_reporting_level="individual"), inputs)))
    assert sorted(indiv) == ["2026/T/A/001", "2026/T/B/001"]
    assert indiv["2026/T/A/001"].data["entity"] == "TIN T / NPI A"


def test_quality_set_counts_measures_meeting_completeness() -> None:
    cases = []
    for m in ("001", "236", "226", "134", "130"):
        cases += _cases(2025, m, "T", 3) + _cases(2025, m, "T", 1, met=None, reported=False)  # 75%: ok
    cases += _cases(2025, "110", "T", 2) + _cases(2025, "110", "T", 1, met=None, reported=False)  # 66.7%
    empty, fact = cms.quality_sets(ctx("2026-02-01T00:00:00Z"), {"organization": [org()], "measure_case": cases})
    # PY 2026 has no measure case yet: one empty set for the practice, which the count rule judges
    # only for a year the practice must report, from the end of its first quarter
    assert (empty.id, empty.data["measures_n"], empty.data["tin"], empty.data["check_from"]) == (
        "2026/-", 0, None, "2026-04-01")
    assert fact.data["measures_n"] == 6 and fact.data["dc_ok_n"] == 5
    assert fact.data["dc_ok_measures"] == "001, 130, 134, 226, 236" and fact.data["outcome_hp_ok"] is True
    assert fact.data["check_from"] == "2025-04-01"
    _, none_hp = cms.quality_sets(ctx("2026-02-01T00:00:00Z", mips_outcome_or_hp_measures=["047"]),
                                  {"organization": [org()], "measure_case": cases})
    assert none_hp.data["outcome_hp_ok"] is False



def test_a_case_of_no_measure_counts_for_no_measure_and_one_of_no_year_for_no_year() -> None:
    """A case whose measure_id is null is no measure's: counted, it made a nameless measure, a false
    credit towards the six Quality measures (Q-COUNT-003). A case with no py is in no year. Both are
    what an import's `incomplete_records` warning says of them (engine/records/undated.py GAPS)."""
    cases = _cases(2025, "001", "T", 3) + _cases(2025, None, "T", 4) + _cases(None, "236", "T", 2)
    inputs = {"organization": [org()], "measure_case": cases}
    stats = by_id(list(cms.measure_stats(ctx("2026-02-01T00:00:00Z"), inputs)))
    assert sorted(stats) == ["2025/T/001"] and stats["2025/T/001"].data["eligible_n"] == 3
    (fact,) = [f for f in cms.quality_sets(ctx("2026-02-01T00:00:00Z"), inputs) if f.id == "2025/T"]
    assert fact.data["measures_n"] == 1 and fact.data["measures"] == "001"


# ---- Promoting Interoperability and Improvement Activities --------------------------------------


def _pi(as_of: str, analyses: list[RecordView], subs: list[RecordView] | None = None, **params: Any
        ) -> dict[str, DerivedFact]:
    inputs = {"organization": [org(y2025=True, y2026=True)], "risk_analysis": analyses,
              "mips_submission": subs or []}
    return by_id(list(cms.pi_requirements(ctx(as_of, **params), inputs)))


def test_pi_sra_inside_after_or_missing() -> None:
    ra24 = rv("risk_analysis", "RA-24", completed_at="2024-12-15T16:00:00-05:00")
    ra26 = rv("risk_analysis", "RA-26", completed_at="2026-01-02T10:00:00-05:00")
    facts = _pi("2026-06-01T00:00:00Z", [ra24, ra26])
    sra25, sra26 = facts["2025/sra"].data, facts["2026/sra"].data
    assert (sra25["due_at"], sra25["met_on"], sra25["past_due"]) == ("2025-12-31", "2026-01-02", True)
    assert (sra26["due_at"], sra26["met_on"], sra26["past_due"]) == ("2026-12-31", "2026-01-02", False)
    assert ("risk_analysis", "RA-26", 1) in facts["2025/sra"].sources
    # before RA-26 existed, PY2025 had nothing: the evidence names the latest earlier analysis
    early = _pi("2026-01-01T12:00:00Z", [ra24, ra26])
    assert early["2025/sra"].data["met_on"] is None and "RA-24" in early["2025/sra"].data["detail"]


def test_pi_period_cehrt_and_safer_from_the_plan() -> None:
    plan = [{"py": 2026, "start": dt.date(2026, 7, 5), "end": dt.date(2026, 12, 31), "cehrt_id": "0015E8",
             "safer_assessed_on": "2026-03-10"}]
    facts = _pi("2026-08-01T00:00:00Z", [], mips_pi_periods=plan)
    assert facts["2026/period"].data["due_at"] == "2026-07-05"
    assert facts["2026/period"].data["met_on"] == "2026-07-05"
    assert facts["2026/safer"].data["met_on"] == "2026-03-10"
    short = [dict(plan[0], start="2026-07-06")]
    assert _pi("2026-08-01T00:00:00Z", [], mips_pi_periods=short)["2026/period"].data["met_on"] is None
    no_id = [dict(plan[0], cehrt_id="")]
    assert "CEHRT" in _pi("2026-08-01T00:00:00Z", [], mips_pi_periods=no_id)["2026/period"].data["detail"]
    # PY2025 has no plan entry but a PI submission on record: period and SAFER are not judged
    sub = rv("mips_submission", "S", py=2025, tin="T", category="PI", submitted_at="2026-03-01T10:00:00-05:00")
    facts = _pi("2026-08-01T00:00:00Z", [], [sub], mips_pi_periods=plan)
    assert "2025/period" not in facts and "2025/safer" not in facts and "2025/sra" in facts


def test_pi_plan_entries_are_checked() -> None:
    with pytest.raises(RulesetValidationError):
        _pi("2026-08-01T00:00:00Z", [], mips_pi_periods=[{"start": "2026-01-01"}])
    with pytest.raises(RulesetValidationError):
        _pi("2026-08-01T00:00:00Z", [], mips_pi_periods=[{"py": 2026, "start": "first of July"}])


def test_pi_not_derived_when_the_category_is_not_required() -> None:
    assert _pi("2026-08-01T00:00:00Z", [], mips_required_categories=["quality"]) == {}


def _ia(as_of: str, activities: list[dict[str, Any]], **params: Any) -> DerivedFact:
    inputs = {"organization": [org(y2026=True)], "mips_submission": []}
    (fact,) = cms.ia_status(ctx(as_of, mips_improvement_activities=activities, **params), inputs)
    return fact


def test_ia_ready_on_is_the_start_of_the_second_qualifying_activity() -> None:
    acts = [{"py": 2026, "activity_id": "A", "start": "2026-01-15", "end": "2026-06-30", "evidence": "x"},
            {"py": 2026, "activity_id": "B", "start": "2026-10-03", "end": "2026-12-31"},
            {"py": 2026, "activity_id": "C", "start": "2026-10-04"}]
    fact = _ia("2026-11-01T00:00:00Z", acts)
    assert (fact.data["due_at"], fact.data["ready_on"], fact.data["qualifying_n"]) == ("2026-10-03", "2026-10-03", 2)
    assert "C: start 2026-10-04" in fact.data["detail"]
    # after the year, B has no evidence on file: only A qualifies
    after = _ia("2027-01-05T00:00:00Z", acts)
    assert after.data["ready_on"] is None and after.data["qualifying_n"] == 1
    assert _ia("2027-01-05T00:00:00Z", acts, mips_ia_required=1).data["ready_on"] == "2026-01-15"


def test_ia_ninety_days_means_inclusive() -> None:
    fact = _ia("2026-11-01T00:00:00Z", [{"py": 2026, "activity_id": "A", "start": "2026-03-01", "end": "2026-05-29",
                                         "evidence": "x"},
                                        {"py": 2026, "activity_id": "B", "start": "2026-03-01", "end": "2026-05-28",
                                         "evidence": "x"}],
               mips_ia_required=1)
    assert fact.data["qualifying_n"] == 1  # 1 Mar - 29 May is 90 days, - 28 May is 89


def test_ia_begun_in_an_earlier_year_counts_from_the_first_of_january() -> None:
    """Session 48's catalog pass ("performed for >= 90 consecutive days in the PY"): an activity
    running from June 2025 through 2026 had been refused for 2026, its start not in the PY."""
    acts = [{"py": 2026, "activity_id": "LONG", "start": "2025-06-01", "end": "2026-12-31", "evidence": "x"},
            {"py": 2026, "activity_id": "SHORT", "start": "2025-06-01", "end": "2026-03-30", "evidence": "x"}]
    fact = _ia("2027-01-05T00:00:00Z", acts, mips_ia_required=1)
    assert (fact.data["qualifying_n"], fact.data["ready_on"], fact.data["activities"]) == (1, "2026-01-01", "LONG")
    assert "SHORT: 89 days in 2026 (2026-01-01 to 2026-03-30), fewer than 90" in fact.data["detail"]


# ---- enrollment ----------------------------------------------------------------------------------


def test_enrollment_due_dates_and_high_window() -> None:
    reg = [{"id": "I", "form": "855I", "last_revalidated_on": "2024-02-29"},
           {"id": "S", "form": "CMS-855S", "last_revalidated_on": "2023-06-15"},
           {"id": "B", "form": "855B", "revalidation_due": "2026-06-15", "submitted_on": "2026-07-01"}]
    facts = by_id(list(cms.enrollments(ctx("2026-05-16T04:00:00Z", cms_enrollments=reg), {"organization": [org()]})))
    assert facts["I"].data["due_at"] == "2029-02-28"  # leap day + 5 years clamps (C5)
    assert facts["S"].data["due_at"] == "2026-06-15" and facts["S"].data["high_window"] is True
    assert facts["B"].data["submitted_on"] is None  # submitted later than as_of
    early = by_id(list(cms.enrollments(ctx("2026-05-16T03:59:59Z", cms_enrollments=reg), {"organization": [org()]})))
    assert early["S"].data["high_window"] is False
    with pytest.raises(RulesetValidationError):
        list(cms.enrollments(ctx("2026-05-16T04:00:00Z", cms_enrollments=[{"id": "X"}]), {"organization": [org()]}))


def test_enrollment_changes_thirty_or_ninety_days() -> None:
    log = [{"id": "L", "kind": "practice location", "occurred_on": "2028-01-30"},
           {"id": "O", "kind": "AUTHORIZED_OFFICIAL", "occurred_on": "2028-01-30", "reported_on": "2028-04-29"},
           {"id": "F", "kind": "OWNERSHIP", "occurred_on": "2028-12-01"}]
    facts = by_id(list(cms.enrollment_changes(ctx("2028-03-01T12:00:00Z", cms_enrollment_changes=log),
                                              {"organization": [org()]})))
    assert facts["L"].data["due_at"] == "2028-02-29" and facts["L"].data["window_days"] == 30
    assert facts["O"].data["due_at"] == "2028-04-29" and facts["O"].data["reported_on"] is None
    assert "F" not in facts  # has not happened yet
