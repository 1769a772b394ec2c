"""Unit tests for the exclusion-screening duties (engine/rules/derive/cms/exclusion.py, CMS-EXCL-LEIE-015)
on hand-made records: local dates per establishment (C7), calendar days (C1), months, the 30-day
interval, and matches that stay in view however old while unresolved."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest

from engine.errors import RulesetValidationError
from engine.rules.derive import DERIVATIONS, DeriveContext, DerivedFact, RecordView, load_families
from engine.rules.derive.cms import exclusion as cms_exclusion
from engine.rules.param_history import NO_HISTORY, ParamHistory

TZ = {"E-NYC": "America/New_York", "E-HNL": "Pacific/Honolulu", "E-LAX": "America/Los_Angeles"}


def rv(type_: str, id_: str, **data: Any) -> RecordView:
    return RecordView(type_, id_, 1, {"type": type_, "id": id_, **data})


def ctx(as_of: str, default_tz: str = "America/New_York", history: ParamHistory = NO_HISTORY,
        **params: Any) -> DeriveContext:
    def tz_of(view: RecordView) -> str:
        est = view.data.get("establishment_id")
        return TZ.get(str(est), default_tz) if est else default_tz

    return DeriveContext(as_of=dt.datetime.fromisoformat(as_of.replace("Z", "+00:00")), params=params, tz_of=tz_of,
                         establishments={}, history=history)


def by_id(facts: list[DerivedFact]) -> dict[str, DerivedFact]:
    return {f.id: f for f in facts}


def test_registered_with_the_cms_family_under_its_name() -> None:
    load_families()
    (found,) = [d for name, d in DERIVATIONS if name == "cms_excl_duty"]
    assert found.fn is cms_exclusion.exclusion_duties and found.heavy and found.family == "person"


def ep(id_: str, pid: str, est: str, start: str, end: str | None = None) -> RecordView:
    return rv("employment_episode", id_, person_id=pid, establishment_id=est, start_at=start, end_at=end)


def scr(pid: str, day: str, source: str, result: str = "clear", time: str = "06:30:00-04:00") -> RecordView:
    return rv("screening", f"{pid}-{source}-{day}-{result}", person_id=pid, source=source,
              checked_at=f"{day}T{time}", result=result)


def duties(as_of: str, episodes: list[RecordView], screenings: list[RecordView],
           history: ParamHistory = NO_HISTORY, **params: Any) -> dict[str, DerivedFact]:
    params.setdefault("excl_lookback_months", 2)
    people = [rv("person", p, first_name="Pat", last_name=p) for p in {e.data["person_id"] for e in episodes}]
    inputs = {"person": people, "employment_episode": episodes, "screening": screenings}
    return by_id(list(cms_exclusion.exclusion_duties(ctx(as_of, history=history, **params), inputs)))


def monthly(pid: str, days: list[str], sources: tuple[str, ...] = ("LEIE", "SAM"), time: str = "06:30:00-04:00"
            ) -> list[RecordView]:
    return [scr(pid, d, s, time=time) for d in days for s in sources]


def test_month_without_a_check_and_the_make_up_check() -> None:
    eps = [ep("E1", "P1", "E-NYC", "2025-01-06T08:00:00-05:00")]
    checks = monthly("P1", ["2026-06-02", "2026-08-03"]) + [scr("P1", "2026-07-02", "SAM")]
    facts = duties("2026-08-10T12:00:00Z", eps, checks)
    assert sorted(facts) == ["P1/monthly/2026-07"]
    d = facts["P1/monthly/2026-07"]
    assert (d.data["sources"], d.data["due_at"], d.data["period"]) == ("LEIE", "2026-07-31", "2026-07")
    assert d.data["cleared_at"] == "2026-08-03T10:30:00Z" and d.data["establishment_id"] == "E-NYC"
    assert d.bundle_key == "person:P1"
    assert ("screening", "P1-LEIE-2026-08-03-clear", 1) in d.sources


def test_consecutive_missing_months_are_one_duty_and_the_current_month_is_pending() -> None:
    eps = [ep("E1", "P1", "E-NYC", "2025-01-06T08:00:00-05:00")]
    facts = duties("2026-08-10T12:00:00Z", eps, monthly("P1", ["2026-06-02"]))
    assert sorted(facts) == ["P1/monthly/2026-07"]
    assert facts["P1/monthly/2026-07"].data["period"] == "2026-07 to 2026-08"
    assert facts["P1/monthly/2026-07"].data["cleared_at"] is None


def test_months_use_the_establishment_local_date() -> None:
    """23:30 on 30 June in Honolulu is 1 July in UTC: June is covered, not July."""
    eps = [ep("E1", "P1", "E-HNL", "2025-01-06T08:00:00-10:00")]
    june = monthly("P1", ["2026-06-30"], time="23:30:00-10:00")
    facts = duties("2026-08-15T12:00:00Z", eps, june + monthly("P1", ["2026-08-03"], time="08:00:00-10:00"))
    assert sorted(facts) == ["P1/monthly/2026-07"]


def test_pre_hire_check_missing_and_the_hire_month_left_to_it() -> None:
    eps = [ep("E1", "P1", "E-NYC", "2026-07-20T08:00:00-04:00")]
    facts = duties("2026-08-15T12:00:00Z", eps, monthly("P1", ["2026-07-25", "2026-08-03"]))
    assert sorted(facts) == ["P1/pre_hire/E1"]
    d = facts["P1/pre_hire/E1"].data
    assert (d["due_at"], d["sources"], d["cleared_at"]) == ("2026-07-20", "LEIE or SAM", "2026-07-25T10:30:00Z")
    # a check 30 days before the start still counts, 31 days does not
    ok = duties("2026-08-15T12:00:00Z", eps, monthly("P1", ["2026-06-20", "2026-07-25", "2026-08-03"],
                                                           time="08:00:00-04:00"))
    assert ok == {}
    late = duties("2026-08-15T12:00:00Z", eps, monthly("P1", ["2026-06-19", "2026-07-25", "2026-08-03"],
                                                             time="08:00:00-04:00"))
    assert sorted(late) == ["P1/pre_hire/E1"]


def test_a_transfer_is_not_a_new_hire_and_a_leaver_needs_no_more_checks() -> None:
    eps = [ep("E1", "P1", "E-NYC", "2025-01-06T08:00:00-05:00", "2026-07-31T17:00:00-04:00"),
           ep("E2", "P1", "E-HNL", "2026-08-01T08:00:00-10:00"),
           ep("E3", "P2", "E-NYC", "2025-01-06T08:00:00-05:00", "2026-06-20T17:00:00-04:00")]
    checks = (monthly("P1", ["2026-06-02", "2026-07-01"]) + monthly("P1", ["2026-08-05"], time="08:00:00-10:00")
              + monthly("P2", ["2026-06-02"]))
    assert duties("2026-08-20T12:00:00Z", eps, checks) == {}


def test_future_episodes_and_checks_have_not_happened() -> None:
    eps = [ep("E1", "P1", "E-NYC", "2026-09-01T08:00:00-04:00")]
    assert duties("2026-08-20T12:00:00Z", eps, []) == {}


def test_possible_match_review_window() -> None:
    eps = [ep("E1", "P1", "E-NYC", "2025-01-06T08:00:00-05:00")]
    base = monthly("P1", ["2026-06-02", "2026-07-02", "2026-08-03"])
    pm = scr("P1", "2026-07-10", "SAM", "possible_match")
    facts = duties("2026-08-10T12:00:00Z", eps, base + [pm, scr("P1", "2026-07-14", "SAM", "clear")])
    d = facts["P1/possible_match/P1-SAM-2026-07-10-possible_match"].data
    assert (d["due_at"], d["cleared_at"], d["screening_id"]) == ("2026-07-13", "2026-07-14T10:30:00Z",
                                                                  "P1-SAM-2026-07-10-possible_match")
    open_ = duties("2026-07-11T12:00:00Z", eps, base[:4] + [pm])
    assert open_["P1/possible_match/P1-SAM-2026-07-10-possible_match"].data["cleared_at"] is None


def test_a_possible_match_keeps_the_review_window_in_force_on_its_local_date() -> None:
    # 3 days until 12 July 2026, 10 from then on (today's value): a match found before the change
    # keeps its 3 days, one found on the day of the change has 10
    history = ParamHistory({"excl_match_review_days": ((dt.date.min, 3), (dt.date(2026, 7, 12), 10))})
    eps = [ep("E1", "P1", "E-NYC", "2025-01-06T08:00:00-05:00")]
    base = monthly("P1", ["2026-06-02", "2026-07-02", "2026-08-03"])
    before = scr("P1", "2026-07-10", "SAM", "possible_match")
    late_evening = scr("P1", "2026-07-11", "LEIE", "possible_match", time="21:30:00-04:00")  # 12 July in UTC
    after = scr("P1", "2026-07-12", "SAM", "possible_match")
    facts = duties("2026-08-10T12:00:00Z", eps, base + [before, late_evening, after], history=history,
                   excl_match_review_days=10)
    due = {k.rsplit("/", 1)[1]: f.data["due_at"] for k, f in facts.items() if "/possible_match/" in k}
    assert due == {"P1-SAM-2026-07-10-possible_match": "2026-07-13",
                   "P1-LEIE-2026-07-11-possible_match": "2026-07-14",
                   "P1-SAM-2026-07-12-possible_match": "2026-07-22"}
    # with no history every match has today's value
    plain = duties("2026-08-10T12:00:00Z", eps, base + [before], excl_match_review_days=10)
    assert plain["P1/possible_match/P1-SAM-2026-07-10-possible_match"].data["due_at"] == "2026-07-20"


def test_exclusion_is_one_duty_until_cleared_and_suppresses_monthly_gaps() -> None:
    eps = [ep("E1", "P1", "E-NYC", "2024-05-06T08:00:00-04:00")]
    checks = (monthly("P1", ["2026-06-02", "2026-07-02"]) + monthly("P1", ["2026-08-03", "2026-09-01"], ("SAM",))
              + [scr("P1", "2026-08-12", "LEIE", "excluded")])
    facts = duties("2026-10-05T12:00:00Z", eps, checks)
    # September has no LEIE check, but the LEIE exclusion is open: not a gap; October (running) lacks SAM so far
    assert sorted(facts) == ["P1/excluded/P1-LEIE-2026-08-12-excluded", "P1/monthly/2026-10"]
    assert facts["P1/monthly/2026-10"].data["sources"] == "SAM"
    d = facts["P1/excluded/P1-LEIE-2026-08-12-excluded"].data
    assert (d["due_at"], d["cleared_at"], d["still_employed"]) == ("2026-08-12", None, True)
    # a clear result from that list (reinstatement or corrected match) closes it; monthly checks resume
    cleared = duties("2026-10-05T12:00:00Z", eps, checks + [scr("P1", "2026-09-20", "LEIE")])
    assert cleared["P1/excluded/P1-LEIE-2026-08-12-excluded"].data["cleared_at"] == "2026-09-20T10:30:00Z"
    assert cleared["P1/monthly/2026-10"].data["sources"] == "LEIE or SAM"  # running month, due 31 October
    gap = duties("2026-11-02T12:00:00Z", eps, checks + [scr("P1", "2026-09-20", "LEIE")]
                 + monthly("P1", ["2026-10-02"], ("SAM",)))
    assert "P1/monthly/2026-10" in gap and gap["P1/monthly/2026-10"].data["sources"] == "LEIE"


def test_a_check_of_no_person_is_nobody_s_and_its_exclusion_is_raised_against_no_one() -> None:
    """What an import's `incomplete_records` warning says of a screening with no person_id
    (engine/records/undated.py GAPS): the exclusion it found raises nothing, and the month it would
    have covered reads as unchecked."""
    eps = [ep("E1", "P1", "E-NYC", "2024-05-06T08:00:00-04:00")]
    checks = monthly("P1", ["2026-06-02", "2026-07-02"]) + [scr("P1", "2026-08-12", "LEIE", "excluded")]
    with_person = duties("2026-09-05T12:00:00Z", eps, checks)
    assert "P1/excluded/P1-LEIE-2026-08-12-excluded" in with_person
    nameless = rv("screening", "S-X", person_id=None, source="LEIE", checked_at="2026-08-12T06:30:00-04:00",
                  result="excluded")
    facts = duties("2026-09-05T12:00:00Z", eps, checks[:-1] + [nameless])
    assert sorted(facts) == ["P1/monthly/2026-08"]

def test_excluded_at_pre_hire_and_hired_anyway() -> None:
    eps = [ep("E1", "P1", "E-NYC", "2026-08-10T08:00:00-04:00")]
    checks = [scr("P1", "2026-08-01", "LEIE", "excluded"), scr("P1", "2026-08-01", "SAM")]
    facts = duties("2026-08-20T12:00:00Z", eps, checks)
    assert sorted(facts) == ["P1/excluded/P1-LEIE-2026-08-01-excluded"]
    # not hired: nothing to do
    assert duties("2026-08-20T12:00:00Z", [ep("E1", "P1", "E-NYC", "2026-09-10T08:00:00-04:00")], checks) == {}


def test_every_30_days() -> None:
    eps = [ep("E1", "P1", "E-NYC", "2026-05-01T08:00:00-04:00")]
    checks = monthly("P1", ["2026-04-28", "2026-05-28", "2026-06-27", "2026-07-28"])
    facts = duties("2026-08-20T12:00:00Z", eps, checks, excl_screen_frequency="EVERY_30_DAYS")
    # 27 June + 30 = 27 July, checked on 28 July (late); the running interval is due 27 August
    assert sorted(facts) == ["P1/interval/LEIE/2026-07-27", "P1/interval/LEIE/2026-08-27",
                             "P1/interval/SAM/2026-07-27", "P1/interval/SAM/2026-08-27"]
    assert facts["P1/interval/LEIE/2026-07-27"].data["cleared_at"] == "2026-07-28T10:30:00Z"
    assert facts["P1/interval/LEIE/2026-08-27"].data["cleared_at"] is None
    on_time = duties("2026-08-20T12:00:00Z", eps, checks[:6] + monthly("P1", ["2026-07-27"]),
                     excl_screen_frequency="EVERY_30_DAYS")
    assert sorted(on_time) == ["P1/interval/LEIE/2026-08-26", "P1/interval/SAM/2026-08-26"]
    with pytest.raises(RulesetValidationError):
        duties("2026-08-20T12:00:00Z", eps, checks, excl_screen_frequency="WEEKLY")


def test_sources_and_lookback_are_parameters() -> None:
    eps = [ep("E1", "P1", "E-NYC", "2025-01-06T08:00:00-05:00")]
    checks = monthly("P1", ["2026-05-04", "2026-06-02", "2026-07-02", "2026-08-03"])
    assert duties("2026-08-10T12:00:00Z", eps, checks) == {}
    medicaid = duties("2026-08-10T12:00:00Z", eps, checks, excl_screen_sources=["LEIE", "SAM", "STATE_MEDICAID"])
    # May (before the window, from 1 June) to August (pending) all miss STATE_MEDICAID: the gap reaches
    # into the window and is named by its first month; April missed every list, a different gap
    assert sorted(medicaid) == ["P1/monthly/2026-05"]
    assert medicaid["P1/monthly/2026-05"].data["period"] == "2026-05 to 2026-08"
    shorter = duties("2026-08-10T12:00:00Z", eps, checks, excl_screen_sources=["STATE_MEDICAID"],
                     excl_lookback_months=0)
    assert sorted(shorter) == ["P1/monthly/2025-01"]  # never checked: from the hire month


# ---- an unresolved match stays in view; the lookback bounds gaps in checking only -----------------


def test_an_open_exclusion_older_than_the_lookback_stays_a_finding() -> None:
    eps = [ep("E1", "P1", "E-NYC", "2024-01-08T08:00:00-05:00")]
    sam = monthly("P1", [f"2026-{m:02d}-02" for m in range(1, 7)], ("SAM",))
    excluded = scr("P1", "2025-04-10", "LEIE", "excluded")
    facts = duties("2026-06-20T12:00:00Z", eps, sam + [excluded])  # window from 1 April 2026
    # the open LEIE exclusion is the finding; LEIE re-checks add nothing while it stands (no LEIE gaps)
    assert sorted(facts) == ["P1/excluded/P1-LEIE-2025-04-10-excluded"]
    d = facts["P1/excluded/P1-LEIE-2025-04-10-excluded"].data
    assert (d["due_at"], d["cleared_at"], d["still_employed"]) == ("2025-04-10", None, True)
    # no longer employed: the duty to quantify claims stays too
    left = [ep("E1", "P1", "E-NYC", "2024-01-08T08:00:00-05:00", "2025-05-30T17:00:00-04:00")]
    gone = duties("2026-06-20T12:00:00Z", left, [excluded])
    assert sorted(gone) == ["P1/excluded/P1-LEIE-2025-04-10-excluded"]
    assert gone["P1/excluded/P1-LEIE-2025-04-10-excluded"].data["still_employed"] is False


def test_a_cleared_exclusion_is_in_view_while_its_clear_result_is() -> None:
    eps = [ep("E1", "P1", "E-NYC", "2024-01-08T08:00:00-05:00")]
    checks = [scr("P1", "2026-01-12", "LEIE", "excluded"), scr("P1", "2026-03-10", "LEIE")]
    checks += monthly("P1", ["2026-03-10", "2026-04-02", "2026-05-04", "2026-06-02"])
    # window from 1 March 2026: excluded in January, cleared on 10 March, inside the window
    facts = duties("2026-05-20T12:00:00Z", eps, checks)
    assert sorted(facts) == ["P1/excluded/P1-LEIE-2026-01-12-excluded"]
    assert facts["P1/excluded/P1-LEIE-2026-01-12-excluded"].data["cleared_at"] == "2026-03-10T10:30:00Z"
    # window from 1 April 2026: resolved before it, out of view
    assert duties("2026-06-20T12:00:00Z", eps, checks) == {}


def test_an_unreviewed_possible_match_older_than_the_lookback_stays_a_finding() -> None:
    eps = [ep("E1", "P1", "E-NYC", "2024-01-08T08:00:00-05:00")]
    pm = scr("P1", "2025-04-10", "SAM", "possible_match")
    leie = monthly("P1", [f"2026-{m:02d}-02" for m in range(1, 7)], ("LEIE",))
    facts = duties("2026-06-20T12:00:00Z", eps, [pm] + leie)
    key = "P1/possible_match/P1-SAM-2025-04-10-possible_match"
    # SAM unchecked since, and LEIE checked from January: one gap from January to June (running)
    assert sorted(facts) == ["P1/monthly/2026-01", key]
    assert (facts[key].data["due_at"], facts[key].data["cleared_at"]) == ("2025-04-13", None)
    # reviewed (clear) before the window: out of view; inside it: still there, resolved late
    before = duties("2026-06-20T12:00:00Z", eps, [pm, scr("P1", "2026-03-20", "SAM")] + leie)
    assert key not in before
    inside = duties("2026-06-20T12:00:00Z", eps, [pm, scr("P1", "2026-04-20", "SAM")] + leie)
    assert inside[key].data["cleared_at"] == "2026-04-20T10:30:00Z"


# ---- every 30 days: a list never checked, or not since before the lookback -------------------------


def test_every_30_days_runs_from_the_start_for_a_list_never_checked() -> None:
    eps = [ep("E1", "P1", "E-NYC", "2024-01-08T08:00:00-05:00")]
    leie = monthly("P1", ["2026-03-25", "2026-04-20", "2026-05-18", "2026-06-15"], ("LEIE",))
    facts = duties("2026-06-20T12:00:00Z", eps, leie, excl_screen_frequency="EVERY_30_DAYS")
    # window from 1 April: LEIE's gap before 25 March ended before it (its next check is due 15 July);
    # SAM was never checked
    assert sorted(facts) == ["P1/interval/LEIE/2026-07-15", "P1/interval/SAM/2024-02-07"]
    d = facts["P1/interval/SAM/2024-02-07"].data
    assert (d["started_on"], d["cleared_at"]) == ("2024-01-08", None)
    assert d["period"] == "30 days after the start on 2024-01-08"
    assert d["source_checks"] == [{"source": "SAM", "last_on": None, "next_on": None}]


def test_every_30_days_a_list_last_checked_before_the_lookback() -> None:
    eps = [ep("E1", "P1", "E-NYC", "2024-01-08T08:00:00-05:00")]
    checks = monthly("P1", ["2026-03-25", "2026-04-20", "2026-05-18", "2026-06-15"], ("LEIE",))
    checks += [scr("P1", "2023-12-20", "SAM"), scr("P1", "2025-11-03", "SAM")]
    facts = duties("2026-06-20T12:00:00Z", eps, checks, excl_screen_frequency="EVERY_30_DAYS")
    # the pre-hire SAM check covers the start, so the clock runs from it; the gap from 2024 ended
    # (3 November 2025) before the window; the one from 3 November reaches into it
    assert sorted(facts) == ["P1/interval/LEIE/2026-07-15", "P1/interval/SAM/2025-12-03"]
    assert facts["P1/interval/SAM/2025-12-03"].data["started_on"] is None


def test_every_30_days_a_new_hire_without_checks_and_a_leaver_out_of_view() -> None:
    new = [ep("E1", "P1", "E-NYC", "2026-05-04T08:00:00-04:00")]
    facts = duties("2026-06-20T12:00:00Z", new, [], excl_screen_frequency="EVERY_30_DAYS")
    assert sorted(facts) == ["P1/interval/LEIE/2026-06-03", "P1/interval/SAM/2026-06-03", "P1/pre_hire/E1"]
    # a transfer is not a new hire: the clock does not restart, and nothing is due twice
    moved = [ep("E1", "P1", "E-NYC", "2026-05-04T08:00:00-04:00", "2026-05-31T17:00:00-04:00"),
             ep("E2", "P1", "E-HNL", "2026-06-01T08:00:00-10:00")]
    assert sorted(duties("2026-06-20T12:00:00Z", moved, [], excl_screen_frequency="EVERY_30_DAYS")) == sorted(facts)
    # left on 10 March 2026, never checked: the gap ended before the window (1 April)
    left = [ep("E1", "P1", "E-NYC", "2024-01-08T08:00:00-05:00", "2026-03-10T17:00:00-05:00")]
    assert duties("2026-06-20T12:00:00Z", left, [], excl_screen_frequency="EVERY_30_DAYS") == {}
    assert sorted(duties("2026-04-20T12:00:00Z", left, [], excl_screen_frequency="EVERY_30_DAYS")) == [
        "P1/interval/LEIE/2024-02-07", "P1/interval/SAM/2024-02-07"]  # window from 1 February


# ---- the pre-hire window in local calendar days (C1, C7) ------------------------------------------


def test_pre_hire_window_counts_local_days_not_elapsed_hours() -> None:
    eps = [ep("E1", "P1", "E-NYC", "2026-07-20T08:00:00-04:00")]
    later = monthly("P1", ["2026-07-25", "2026-08-03"])
    # day 30 before the start, earlier in the day than the start time: counts
    assert duties("2026-08-15T12:00:00Z", eps, monthly("P1", ["2026-06-20"], time="07:00:00-04:00") + later) == {}
    # day 31, later in the day: does not
    late = duties("2026-08-15T12:00:00Z", eps, monthly("P1", ["2026-06-19"], time="23:59:00-04:00") + later)
    assert sorted(late) == ["P1/pre_hire/E1"]
    # across the spring change: 7 March 23:45 EST to 6 April 00:30 EDT is 29 days 23 h 45 min, but day 30
    # is 7 March (the window is 7 March to 6 April): counts; 6 March 23:45 does not
    spring = [ep("E1", "P1", "E-NYC", "2026-04-06T00:30:00-04:00")]
    april = monthly("P1", ["2026-04-10", "2026-05-04"])
    assert duties("2026-05-10T12:00:00Z", spring, monthly("P1", ["2026-03-07"], time="23:45:00-05:00") + april) == {}
    early = duties("2026-05-10T12:00:00Z", spring, monthly("P1", ["2026-03-06"], time="23:45:00-05:00") + april)
    assert sorted(early) == ["P1/pre_hire/E1"]
    # the local date is the establishment's: 20:00 on 19 June in Honolulu is 20 June in UTC, day 31 there
    hnl = [ep("E1", "P1", "E-HNL", "2026-07-20T08:00:00-10:00")]
    hnl_later = monthly("P1", ["2026-07-25", "2026-08-03"], time="08:00:00-10:00")
    assert sorted(duties("2026-08-15T12:00:00Z", hnl, monthly("P1", ["2026-06-19"], time="20:00:00-10:00")
                         + hnl_later)) == ["P1/pre_hire/E1"]


def test_each_episode_is_judged_in_its_own_zone_after_a_transfer() -> None:
    eps = [ep("E1", "P1", "E-HNL", "2025-01-06T08:00:00-10:00", "2026-06-30T17:00:00-10:00"),
           ep("E2", "P1", "E-NYC", "2026-07-01T08:00:00-04:00")]
    # 20:00 on 31 May in Honolulu is 1 June in New York: a May check for the Honolulu months, so June had none
    checks = (monthly("P1", ["2026-05-04", "2026-05-31"], time="20:00:00-10:00")
              + monthly("P1", ["2026-07-02"], time="08:00:00-04:00"))
    facts = duties("2026-07-20T16:00:00Z", eps, checks)
    assert sorted(facts) == ["P1/monthly/2026-06"]
    d = facts["P1/monthly/2026-06"].data
    assert (d["establishment_id"], d["episode_id"], d["due_at"]) == ("E-HNL", "E1", "2026-06-30")
    assert d["source_checks"][0] == {"source": "LEIE", "last_on": "2026-05-31", "next_on": "2026-07-02"}


def test_concurrent_episodes_are_one_engagement() -> None:
    eps = [ep("E1", "P1", "E-NYC", "2026-07-20T08:00:00-04:00"), ep("E2", "P1", "E-NYC", "2026-07-20T08:00:00-04:00"),
           ep("E3", "P1", "E-NYC", "2026-07-27T08:00:00-04:00")]
    facts = duties("2026-08-15T12:00:00Z", eps, monthly("P1", ["2026-07-25", "2026-08-03"]))
    assert sorted(facts) == ["P1/pre_hire/E1"]


# ---- a gap's id is its finding's identity: it does not move with the evaluation instant ------------


def test_an_ongoing_monthly_gap_keeps_its_id_and_dates_as_the_window_moves() -> None:
    """SAM last checked in December 2024, LEIE every month: evaluated monthly for a year and a half with
    a two-month lookback, the gap is one duty named and dated by January 2025 throughout (it was named
    by the window's first month, so every monthly evaluation resolved a finding and opened another)."""
    eps = [ep("E1", "P1", "E-NYC", "2024-06-03T08:00:00-04:00")]
    checks = monthly("P1", ["2024-05-28"] + [f"2024-{m:02d}-05" for m in range(6, 13)])
    checks += monthly("P1", [f"{y}-{m:02d}-05" for y in (2025, 2026) for m in range(1, 13)], ("LEIE",))
    seen = []
    for y, m in [(2025, m) for m in range(3, 13)] + [(2026, m) for m in range(1, 9)]:
        facts = duties(f"{y}-{m:02d}-20T16:00:00Z", eps, checks)
        assert sorted(facts) == ["P1/monthly/2025-01"], (y, m)
        d = facts["P1/monthly/2025-01"].data
        assert (d["due_at"], d["sources"], d["ongoing"]) == ("2025-01-31", "SAM", True)
        assert d["period"] == f"2025-01 to {y}-{m:02d}"
        assert d["source_checks"] == [{"source": "SAM", "last_on": "2024-12-05", "next_on": None}]
        seen.append(facts["P1/monthly/2025-01"].id)
    assert len(set(seen)) == 1
    # made up in September 2026: the same duty, cleared, still in view while it reaches into the lookback
    done = duties("2026-10-20T16:00:00Z", eps, checks + monthly("P1", ["2026-09-08", "2026-10-05"], ("SAM",)))
    assert sorted(done) == ["P1/monthly/2025-01"]
    assert (done["P1/monthly/2025-01"].data["period"], done["P1/monthly/2025-01"].data["cleared_at"]) == (
        "2025-01 to 2026-08", "2026-09-08T10:30:00Z")
    # once it ended before the lookback (from November 2026), it is out of view
    sam = monthly("P1", ["2026-09-08", "2026-10-05", "2026-11-05", "2026-12-05"], ("SAM",))
    assert duties("2027-01-20T16:00:00Z", eps, checks + sam + monthly("P1", ["2027-01-05"])) == {}


def test_two_gaps_are_two_duties_and_a_gap_is_followed_back_only_while_it_misses_the_same_lists() -> None:
    eps = [ep("E1", "P1", "E-NYC", "2025-01-06T08:00:00-05:00")]
    both = monthly("P1", ["2025-01-02", "2025-02-03", "2025-05-05", "2025-06-02", "2025-07-02", "2025-08-04"])
    leie = monthly("P1", ["2025-09-02", "2025-10-02", "2025-11-03"], ("LEIE",))
    facts = duties("2025-11-20T16:00:00Z", eps, both + leie, excl_lookback_months=1)  # window from October
    # March-April missed both lists (out of view); September to November (running) miss SAM only
    assert sorted(facts) == ["P1/monthly/2025-09"]
    wide = duties("2025-11-20T16:00:00Z", eps, both + leie, excl_lookback_months=12)
    assert sorted(wide) == ["P1/monthly/2025-03", "P1/monthly/2025-09"]
    assert wide["P1/monthly/2025-03"].data["period"] == "2025-03 to 2025-04"
    # one month missing both lists just before the SAM-only run is a gap of its own, not its start
    shifted = duties("2025-11-20T16:00:00Z", eps, both[:-2] + leie, excl_lookback_months=1)
    assert sorted(shifted) == ["P1/monthly/2025-09"]
    assert sorted(duties("2025-11-20T16:00:00Z", eps, both[:-2] + leie, excl_lookback_months=3)) == [
        "P1/monthly/2025-08", "P1/monthly/2025-09"]


def test_a_hire_month_that_ends_unchecked_is_a_gap_beside_the_pre_hire_duty() -> None:
    """Hired with no check at all: the start lacked its pre-hire check and the hire month ended with
    none (catalog: each is high), so the gap is named by the hire month, both before and after the
    hire leaves the lookback."""
    eps = [ep("E1", "P1", "E-NYC", "2025-06-09T08:00:00-04:00")]
    early = duties("2025-08-20T16:00:00Z", eps, [])  # window from June: the pre-hire duty is in view
    assert sorted(early) == ["P1/monthly/2025-06", "P1/pre_hire/E1"]
    assert early["P1/monthly/2025-06"].data["due_at"] == "2025-06-30"
    later = duties("2025-10-20T16:00:00Z", eps, [])  # window from August: it is not
    assert sorted(later) == ["P1/monthly/2025-06"]
    assert later["P1/monthly/2025-06"].data["period"] == "2025-06 to 2025-10"
    # a late pre-hire check inside the hire month leaves no gap: the month did not end unchecked
    late = [scr("P1", "2025-06-20", "LEIE"), scr("P1", "2025-06-20", "SAM")] + monthly(
        "P1", ["2025-07-07", "2025-08-04"])
    assert sorted(duties("2025-08-20T16:00:00Z", eps, late)) == ["P1/pre_hire/E1"]
    # a transfer before the window: the gap keeps the episode (and zone) of its first month
    moved = [ep("E1", "P1", "E-HNL", "2025-06-09T08:00:00-10:00", "2025-08-31T17:00:00-10:00"),
             ep("E2", "P1", "E-NYC", "2025-09-01T08:00:00-04:00")]
    d = duties("2025-11-20T16:00:00Z", moved, [])["P1/monthly/2025-06"].data
    assert (d["establishment_id"], d["episode_id"], d["due_at"]) == ("E-HNL", "E1", "2025-06-30")


def test_an_exclusion_cleared_before_the_person_was_employed_is_no_duty() -> None:
    hired = [ep("E1", "P1", "E-NYC", "2026-04-20T08:00:00-04:00")]
    pre = [scr("P1", "2026-04-06", "SAM"), scr("P1", "2026-05-04", "LEIE"), scr("P1", "2026-05-04", "SAM")]
    excluded = scr("P1", "2026-03-02", "LEIE", "excluded", time="09:00:00-05:00")
    # reinstated on 6 April, hired on 20 April: no claims were made while excluded
    assert duties("2026-05-20T16:00:00Z", hired, pre + [excluded, scr("P1", "2026-04-06", "LEIE")]) == {}
    # cleared at 07:00 on the first day, an hour before the start: still never employed while excluded
    same_day = [excluded, scr("P1", "2026-04-20", "LEIE", time="07:00:00-04:00")]
    assert duties("2026-05-20T16:00:00Z", hired, pre + same_day) == {}
    # cleared after the start: employed while excluded, the duty stands
    late = duties("2026-05-20T16:00:00Z", hired, pre + [excluded, scr("P1", "2026-04-06", "LEIE", "excluded"),
                                                        scr("P1", "2026-04-21", "LEIE")])
    assert sorted(late) == ["P1/excluded/P1-LEIE-2026-03-02-excluded"]
    assert late["P1/excluded/P1-LEIE-2026-03-02-excluded"].data["cleared_at"] == "2026-04-21T10:30:00Z"
    # between two engagements: left 27 February, excluded 9 March to 6 April, back on 4 May
    twice = [ep("E1", "P1", "E-NYC", "2025-01-06T08:00:00-05:00", "2026-02-27T17:00:00-05:00"),
             ep("E2", "P1", "E-NYC", "2026-05-04T08:00:00-04:00")]
    between = monthly("P1", ["2026-02-02", "2026-04-27", "2026-05-05"]) + [
        scr("P1", "2026-03-09", "LEIE", "excluded"), scr("P1", "2026-04-06", "LEIE")]
    assert duties("2026-05-20T16:00:00Z", twice, between) == {}
    # excluded on the last day of the first engagement: it stood while employed
    last_day = monthly("P1", ["2026-02-02", "2026-04-27", "2026-05-05"]) + [
        scr("P1", "2026-02-27", "LEIE", "excluded", time="09:00:00-05:00"), scr("P1", "2026-04-06", "LEIE")]
    assert sorted(duties("2026-05-20T16:00:00Z", twice, last_day)) == ["P1/excluded/P1-LEIE-2026-02-27-excluded"]


def test_the_pre_hire_look_back_is_the_one_in_force_on_the_start_day() -> None:
    """Shortened from 30 days to 10 on 1 August: a July hire checked 20 days before starting keeps the
    30 of its day; an August hire checked 20 days before is short of the 10, and its fact says so."""
    history = ParamHistory({"excl_prehire_lookback_days": ((dt.date.min, 30), (dt.date(2026, 8, 1), 10))})
    july = [ep("E1", "P1", "E-NYC", "2026-07-20T08:00:00-04:00")]
    kept = duties("2026-08-25T12:00:00Z", july, monthly("P1", ["2026-06-30", "2026-07-25", "2026-08-03"],
                                                              time="08:00:00-04:00"),
                  history=history, excl_prehire_lookback_days=10)
    assert kept == {}
    august = [ep("E2", "P2", "E-NYC", "2026-08-20T08:00:00-04:00")]
    short = duties("2026-08-25T12:00:00Z", august, monthly("P2", ["2026-07-31", "2026-08-21"],
                                                                 time="08:00:00-04:00"),
                   history=history, excl_prehire_lookback_days=10)
    assert sorted(short) == ["P2/pre_hire/E2"] and "params_used" not in short["P2/pre_hire/E2"].data
    old = duties("2026-08-25T12:00:00Z", july, monthly("P1", ["2026-06-19", "2026-07-25"], time="08:00:00-04:00"),
                 history=history, excl_prehire_lookback_days=10)
    assert old["P1/pre_hire/E1"].data["params_used"] == {"excl_prehire_lookback_days": 30}
