"""OSHA applicability (1904.1, 1904.2, 1904.41): the osha_scope derivation and its pure core."""

from __future__ import annotations

import pytest

from engine.rules.derive import DERIVATIONS, load_families
from engine.rules.derive.osha import certifier_allowed, determine_scope, osha_scope

from .osha_support import by_id, context, est


def test_registered_as_reference_fact() -> None:
    load_families()
    d = DERIVATIONS.get("osha_scope")
    assert d.reference and d.output == "osha_scope" and d.inputs == ("establishment",)
    assert d.fields["records_required"] == "bool" and d.fields["year_start"] == "date"


@pytest.mark.parametrize(("peak", "required"), [(10, False), (11, True)])
def test_ten_or_fewer_at_all_times_in_the_previous_year_is_partially_exempt(peak: int, required: bool) -> None:
    e = est("E-1", peak={"2025": peak})
    s = determine_scope(e, [e], 2026, {})
    assert s.records_required is required
    assert s.size_exempt is (not required)
    assert s.company_peak_prev_year == peak


def test_company_size_is_the_sum_of_every_establishment() -> None:
    a, b = est("E-A", peak={"2025": 6}), est("E-B", naics="621111", peak={"2025": 5})
    assert determine_scope(a, [a, b], 2026, {}).records_required is True
    assert determine_scope(b, [a, b], 2026, {}).records_required is False  # exempt industry


def test_a_summed_peak_is_stated_as_an_upper_bound_with_the_way_out() -> None:
    """Two sites of six each add up to twelve, which need not be twelve people at once."""
    a, b = est("E-A", naics="621910", peak={"2025": 6}), est("E-B", naics="621910", peak={"2025": 6})
    s = determine_scope(a, [a, b], 2026, {})
    assert s.records_required is True
    assert "the 2 establishments' peaks in 2025 add up to 12" in s.basis
    assert "at most that" in s.basis and "waive this for the site" in s.basis
    alone = determine_scope(a, [a], 2026, {})
    assert alone.records_required is False
    one = est("E-C", naics="621910", peak={"2025": 30})
    assert determine_scope(one, [one], 2026, {}).basis.endswith("the company peak in 2025 was 30")


def test_partially_exempt_industry_by_naics_prefix() -> None:
    for naics, exempt in [("621111", True), ("621210", True), ("621498", True), ("621511", True),
                          ("624410", True), ("621610", False), ("621999", False), ("622110", False)]:
        e = est("E-1", naics=naics, peak={"2025": 50})
        assert determine_scope(e, [e], 2026, {}).records_required is (not exempt), naics


def test_listed_establishment_or_year_keeps_records_despite_exemptions() -> None:
    e = est("E-1", naics="621111", peak={"2025": 3})
    assert determine_scope(e, [e], 2026, {"records_required_establishments": ["E-1:2026"]}).records_required is True
    assert determine_scope(e, [e], 2025, {"records_required_establishments": ["E-1:2026"]}).records_required is False
    assert determine_scope(e, [e], 2025, {"records_required_establishments": ["E-1"]}).records_required is True


def test_undeterminable_without_naics_or_headcount() -> None:
    no_naics = est("E-1", naics=None, peak={"2025": 40})
    s = determine_scope(no_naics, [no_naics], 2026, {})
    assert s.records_required is None and any("NAICS" in m for m in s.missing)
    no_count = est("E-2", peak={"2024": 40})
    s = determine_scope(no_count, [no_count], 2026, {})
    assert s.records_required is None and any("2025 peak headcount" in m for m in s.missing)
    # an exempt industry needs no headcount
    exempt = est("E-3", naics="621111")
    assert determine_scope(exempt, [exempt], 2026, {}).records_required is False
    # sites that do report are already above 10: the answer is known
    a, b = est("E-A", peak={"2025": 30}), est("E-B")
    assert determine_scope(b, [a, b], 2026, {}).records_required is True


@pytest.mark.parametrize(("naics", "size", "ita", "cases"), [
    ("621999", 19, False, False), ("621999", 20, True, False), ("621999", 99, True, False),
    ("621999", 100, True, True), ("621610", 249, False, False), ("621610", 250, True, False),
])
def test_ita_thresholds_use_the_year_covered(naics: str, size: int, ita: bool, cases: bool) -> None:
    e = est("E-1", naics=naics, peak={"2024": 30, "2025": size})
    s = determine_scope(e, [e], 2025, {})
    assert s.records_required is True
    assert (s.ita_required, s.ita_case_data_required, s.ita_employees) == (ita, cases, size)


def test_ita_size_basis_parameter() -> None:
    e = est("E-1", peak={"2024": 30, "2025": 15}, employees_any_time={"2025": 22})
    assert determine_scope(e, [e], 2025, {}).ita_required is False
    assert determine_scope(e, [e], 2025, {"ita_size_basis": "any_time"}).ita_required is True


def test_facts_per_year_with_local_age_and_evidence() -> None:
    den = est("E-DEN", peak={"2025": 30, "2026": 30})
    nyc = est("E-NYC", tz="America/New_York", naics="621111")
    # 23:59 on 31 Dec 2026 in Denver, already 1 Jan 2027 in New York
    facts = by_id(osha_scope(context("2027-01-01T06:59:00Z", [den, nyc]), {"establishment": [den, nyc]}))
    assert sorted(k for k in facts if k.startswith("E-DEN")) == [f"E-DEN:{y}" for y in range(2021, 2027)]
    assert sorted(k for k in facts if k.startswith("E-NYC")) == [f"E-NYC:{y}" for y in range(2022, 2028)]
    f = facts["E-DEN:2026"]
    assert f.data["age"] == 0 and f.data["year_start"] == "2026-01-01" and f.data["records_required"] is True
    assert f.sources == [("establishment", "E-DEN", 1)] and f.bundle_key == "org:*"
    assert facts["E-NYC:2027"].data["age"] == 0 and facts["E-NYC:2027"].data["records_required"] is False


def test_open_questions_for_missing_inputs_and_own_list_state_plans() -> None:
    wa = est("E-WA", tz="America/Los_Angeles", naics="621111", state="WA", osha_state_plan=True, peak={"2025": 20})
    ca = est("E-CA", tz="America/Los_Angeles", naics="621111", state="CA", osha_state_plan=True, peak={"2025": 20})
    den = est("E-DEN", peak={"2024": 30})  # no 2025 headcount for the 2025 ITA thresholds
    views = [wa, ca, den]
    facts = by_id(osha_scope(context("2026-06-01T12:00:00Z", views), {"establishment": views}))
    assert "WA state plan" in facts["E-WA:2026"].data["open_question"]
    assert facts["E-WA:2025"].data["open_question"] is None  # asked for the current year only
    assert facts["E-CA:2026"].data["open_question"] is None
    assert "2025 headcount" in facts["E-DEN:2025"].data["open_question"]
    confirmed = by_id(osha_scope(context("2026-06-01T12:00:00Z", views, {"state_plan_exemption_confirmed": ["E-WA"]}),
                                 {"establishment": views}))
    assert confirmed["E-WA:2026"].data["open_question"] is None


def test_certifier_titles_match_whole_or_with_a_qualifier_set_off() -> None:
    allowed = ["site administrator", "corporate officer", "ceo", "owner"]
    assert certifier_allowed("Site Administrator (highest-ranking official at the establishment)", allowed)
    assert certifier_allowed("CEO & President", allowed)
    assert not certifier_allowed("Safety Coordinator", allowed)
    assert not certifier_allowed("Safety Officer", allowed)
    assert not certifier_allowed("CEOs assistant", allowed)
    assert certifier_allowed("CEO, Acme Family Medicine", allowed)
    assert certifier_allowed("ceo", allowed)
    assert certifier_allowed("Owner / Physician", allowed)
    # a title that starts with an allowed one but names someone else
    assert not certifier_allowed("CEO Assistant", allowed)
    assert not certifier_allowed("Owner's assistant", allowed)
    assert not certifier_allowed("Site Administrator Deputy", allowed)
    assert not certifier_allowed(None, allowed)
