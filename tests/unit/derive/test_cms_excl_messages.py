"""The texts of CMS-EXCL-LEIE-015's findings (rulesets/cms): every kind and state of the exclusion-
screening duty says which list(s) were missed and when each was last and next checked, and nothing
untrue. The scenario format (rulesets/cms/tests) cannot assert a message, so these tests evaluate
records through the shipped ruleset, on both backends, and compare the texts; P1 and P2 are the
people of rulesets/cms/tests/excl-015-per-source.yaml.
"""

from __future__ import annotations

import datetime as dt
import re
from typing import Any

import pytest

from engine.records.validation import Position, validate_record
from engine.rules.catalog import RULESETS_DIR, compile_for, in_force
from engine.rules.derive import RecordView
from engine.rules.loader import load_ruleset_file
from engine.rules.runner import ListSource, evaluate_rules

RULE = "CMS-EXCL-LEIE-015"
LOADED = [load_ruleset_file(p) for p in sorted((RULESETS_DIR / "cms").glob("*.yaml"))]

BASE: list[dict[str, Any]] = [
    {"type": "organization", "id": "ORG-1", "name": "Vigil Health Partners"},
    {"type": "establishment", "id": "E-LAX", "org_id": "ORG-1", "state": "CA", "tz": "America/Los_Angeles",
     "holiday_calendar": "US-FEDERAL"},
]


def person(pid: str, first: str, last: str) -> dict[str, Any]:
    return {"type": "person", "id": pid, "first_name": first, "last_name": last}


def episode(eid: str, pid: str, start: str, end: str | None = None) -> dict[str, Any]:
    return {"type": "employment_episode", "id": eid, "person_id": pid, "establishment_id": "E-LAX",
            "role": "medical_assistant", "start_at": start, "end_at": end}


def check(pid: str, source: str, at: str, result: str = "clear") -> dict[str, Any]:
    return {"type": "screening", "id": f"S-{pid}-{source}-{at[:10]}-{result}", "person_id": pid, "source": source,
            "checked_at": at, "result": result}


def monthly(pid: str, days: list[str], sources: tuple[str, ...] = ("LEIE", "SAM")) -> list[dict[str, Any]]:
    return [check(pid, s, f"{d}T10:00:00-07:00") for d in days for s in sources]


# P1: hired 5 January 2026 with no check at all; LEIE first checked on 15 May, SAM only on 5 June.
# P2: hired 11 May 2026; LEIE last checked 1 March (too early), SAM first on 20 May, LEIE again on 8 June.
PER_SOURCE = [
    person("P1", "Ann", "Smith"), episode("EP1", "P1", "2026-01-05T08:00:00-08:00"),
    check("P1", "LEIE", "2026-05-15T10:00:00-07:00"), check("P1", "SAM", "2026-06-05T10:00:00-07:00"),
    person("P2", "Bo", "Reyes"), episode("EP2", "P2", "2026-05-11T08:00:00-07:00"),
    check("P2", "LEIE", "2026-03-01T10:00:00-08:00"), check("P2", "SAM", "2026-05-20T10:00:00-07:00"),
    check("P2", "LEIE", "2026-06-08T10:00:00-07:00"),
]
# P3: employed since 2025, both lists checked in March and April 2026; judged over two months of
# history before the current one (LOOKBACK), so earlier months are out of view
STEADY = [person("P3", "Cy", "Tran"), episode("EP3", "P3", "2025-01-06T08:00:00-08:00")]
STEADY += monthly("P3", ["2026-03-03", "2026-04-03"])
LOOKBACK = {"excl_lookback_months": 2}


def run(records: list[dict[str, Any]], as_of: str, **params: Any) -> dict[str, tuple[str, str]]:
    """{"<person>/<occurrence>": (state, message)} of the rule's findings (each is about a person, its
    occurrence naming the duty: pre_hire/EP1, monthly/2026-02); both backends must agree on every text."""
    at = dt.datetime.fromisoformat(as_of.replace("Z", "+00:00"))
    views = []
    for i, raw in enumerate(BASE + records):
        model, data = validate_record({k: v for k, v in raw.items() if v is not None},
                                      position=Position(file="test", index=i))
        views.append(RecordView(model.type, model.id, 1, data))
    compiled = compile_for(in_force(LOADED, at.date(), ["cms"])[0], params, "test", on=at.date())
    out: dict[str, dict[str, tuple[str, str]]] = {}
    for backend in ("python", "durable"):
        result = evaluate_rules(ListSource(views), [compiled], at, backend=backend)
        out[backend] = {f"{v.subject.id}/{v.occurrence_key}": (v.state, v.message)
                        for v in result.violations if v.rule_id == RULE}
    assert out["python"] == out["durable"]
    for _, message in out["python"].values():
        assert_clean(message)
    return out["python"]


def assert_clean(message: str) -> None:
    """A finished sentence: no unrendered or missing value, no stray whitespace before punctuation."""
    assert message == " ".join(message.split()), message
    assert message.endswith("."), message
    for bad in ("None", "null", "{{", "{%", " .", " ,", " ;", " :", ".."):
        assert bad not in message, (bad, message)
    assert not re.search(r"\d{4}-\d\d-\d\dT", message), f"an instant where a local date belongs: {message}"
    assert not re.search(r"\ba (LEIE|SAM)\b", message), message


def test_the_reported_case_names_each_list_with_its_own_dates() -> None:
    """One LEIE check (15 May), no SAM check: only SAM is missing now, and LEIE's date is given."""
    found = run(PER_SOURCE, "2026-06-01T00:00:00Z")
    assert found["P1/monthly/2026-01"] == (
        "overdue",
        "No LEIE or SAM exclusion check for Ann Smith (P1) in 2026-01 to 2026-04: LEIE was first checked on "
        "2026-05-15; SAM has never been checked.")
    assert found["P1/monthly/2026-05"] == (
        "due_soon",
        "No SAM exclusion check for Ann Smith (P1) in 2026-05 so far (the month ends 2026-05-31): SAM has never "
        "been checked.")
    assert found["P1/pre_hire/EP1"] == (
        "overdue",
        "Ann Smith (P1, episode EP1) started on 2026-01-05 with no LEIE or SAM exclusion check in the 30 days "
        "before starting: LEIE was first checked on 2026-05-15; SAM has never been checked.")
    # P2's hire month: SAM was checked after the start (20 May), LEIE not until 8 June
    assert found["P2/monthly/2026-05"] == (
        "due_soon",
        "No LEIE exclusion check for Bo Reyes (P2) in 2026-05 so far (the month ends 2026-05-31): LEIE has not "
        "been checked since 2026-03-01.")
    for _, message in found.values():
        assert "not checked since." not in message and "still not been checked" not in message


def test_pre_hire_due_soon_overdue_and_late() -> None:
    start_day = run(PER_SOURCE, "2026-05-11T12:00:00-07:00")
    assert start_day["P2/pre_hire/EP2"] == (
        "due_soon",
        "Bo Reyes (P2, episode EP2) started on 2026-05-11 with no LEIE or SAM exclusion check in the 30 days "
        "before starting: LEIE has not been checked since 2026-03-01; SAM has never been checked.")
    one_checked = run(PER_SOURCE, "2026-06-01T00:00:00Z")
    assert one_checked["P2/pre_hire/EP2"] == (
        "overdue",
        "Bo Reyes (P2, episode EP2) started on 2026-05-11 with no LEIE or SAM exclusion check in the 30 days "
        "before starting: LEIE has not been checked since 2026-03-01; SAM was first checked on 2026-05-20.")
    late = run(PER_SOURCE, "2026-06-10T12:00:00-07:00")
    assert late["P2/pre_hire/EP2"] == (
        "violation",
        "Bo Reyes (P2, episode EP2) started on 2026-05-11 with no LEIE or SAM exclusion check in the 30 days "
        "before starting: LEIE was checked on 2026-03-01 and not again until 2026-06-08; SAM was first checked "
        "on 2026-05-20.")
    assert late["P1/pre_hire/EP1"] == (
        "violation",
        "Ann Smith (P1, episode EP1) started on 2026-01-05 with no LEIE or SAM exclusion check in the 30 days "
        "before starting: LEIE was first checked on 2026-05-15; SAM was first checked on 2026-06-05.")


def test_pre_hire_without_a_person_record_names_the_id_once() -> None:
    found = run([episode("EP9", "P9", "2026-05-11T08:00:00-07:00")], "2026-05-13T12:00:00-07:00")
    assert found == {"P9/pre_hire/EP9": (
        "overdue",
        "P9 (episode EP9) started on 2026-05-11 with no LEIE or SAM exclusion check in the 30 days before "
        "starting: LEIE has never been checked; SAM has never been checked.")}


def test_monthly_due_soon_overdue_and_late_per_list() -> None:
    due_soon = run(STEADY, "2026-05-28T12:00:00-07:00", **LOOKBACK)
    assert due_soon == {"P3/monthly/2026-05": (
        "due_soon",
        "No LEIE or SAM exclusion check for Cy Tran (P3) in 2026-05 so far (the month ends 2026-05-31): LEIE has "
        "not been checked since 2026-04-03; SAM has not been checked since 2026-04-03.")}
    overdue = run(STEADY, "2026-06-01T12:00:00-07:00", **LOOKBACK)
    assert overdue == {"P3/monthly/2026-05": (
        "overdue",
        "No LEIE or SAM exclusion check for Cy Tran (P3) in 2026-05 to 2026-06 so far: LEIE has not been checked "
        "since 2026-04-03; SAM has not been checked since 2026-04-03.")}
    made_up = STEADY + [check("P3", "LEIE", "2026-06-02T10:00:00-07:00"),
                        check("P3", "SAM", "2026-06-09T10:00:00-07:00")]
    half = run(made_up, "2026-06-05T12:00:00-07:00", **LOOKBACK)
    # LEIE checked on 2 June, SAM not yet: the May duty stays open and says so list by list
    assert half == {"P3/monthly/2026-05": (
        "overdue",
        "No LEIE or SAM exclusion check for Cy Tran (P3) in 2026-05: LEIE was checked on 2026-04-03 and not again "
        "until 2026-06-02; SAM has not been checked since 2026-04-03.")}
    late = run(made_up, "2026-06-15T12:00:00-07:00", **LOOKBACK)
    assert late == {"P3/monthly/2026-05": (
        "violation",
        "No LEIE or SAM exclusion check for Cy Tran (P3) in 2026-05: LEIE was checked on 2026-04-03 and not again "
        "until 2026-06-02; SAM was checked on 2026-04-03 and not again until 2026-06-09.")}


def test_monthly_with_a_state_medicaid_list() -> None:
    found = run(STEADY, "2026-05-28T12:00:00-07:00", **LOOKBACK, excl_screen_sources=["LEIE", "SAM", "STATE_MEDICAID"])
    assert found["P3/monthly/2026-03"] == (
        "overdue",
        "No STATE_MEDICAID exclusion check for Cy Tran (P3) in 2026-03 to 2026-04: STATE_MEDICAID has never been "
        "checked.")
    assert found["P3/monthly/2026-05"][1].startswith(
        "No LEIE, SAM or STATE_MEDICAID exclusion check for Cy Tran (P3) in 2026-05 so far (the month ends "
        "2026-05-31): LEIE has not been checked since 2026-04-03; SAM has not been checked since 2026-04-03; "
        "STATE_MEDICAID has never been checked.")


def test_every_30_days_due_soon_overdue_and_late() -> None:
    records = [person("P4", "Di", "Okafor"), episode("EP4", "P4", "2026-05-01T08:00:00-07:00"),
               check("P4", "LEIE", "2026-04-28T07:00:00-07:00"), check("P4", "SAM", "2026-04-28T07:00:00-07:00")]
    params = {"excl_screen_frequency": "EVERY_30_DAYS"}
    assert run(records, "2026-05-25T12:00:00-07:00", **params)["P4/interval/LEIE/2026-05-28"] == (
        "due_soon",
        "The next LEIE exclusion check for Di Okafor (P4) is due by 2026-05-28, 30 days after the last one on "
        "2026-04-28.")
    assert run(records, "2026-05-29T12:00:00-07:00", **params)["P4/interval/SAM/2026-05-28"] == (
        "overdue",
        "Di Okafor (P4) has had no SAM exclusion check since 2026-04-28; one was due by 2026-05-28.")
    later = records + [check("P4", "LEIE", "2026-05-30T07:00:00-07:00"),
                       check("P4", "SAM", "2026-05-28T07:00:00-07:00")]
    assert run(later, "2026-06-01T12:00:00-07:00", **params) == {"P4/interval/LEIE/2026-05-28": (
        "violation",
        "Di Okafor (P4) had no LEIE exclusion check within 30 days of the one on 2026-04-28 (due 2026-05-28); the "
        "next was on 2026-05-30.")}


def test_possible_match_due_soon_overdue_and_late() -> None:
    records = STEADY + monthly("P3", ["2026-05-03"]) + [check("P3", "SAM", "2026-05-10T10:00:00-07:00",
                                                              "possible_match")]
    sid = "S-P3-SAM-2026-05-10-possible_match"
    assert run(records, "2026-05-11T12:00:00-07:00", **LOOKBACK)[f"P3/possible_match/{sid}"] == (
        "due_soon",
        f"SAM possible match on 2026-05-10 for Cy Tran (P3, check {sid}) must be resolved by human review by "
        "2026-05-13.")
    assert run(records, "2026-05-15T12:00:00-07:00", **LOOKBACK)[f"P3/possible_match/{sid}"] == (
        "overdue",
        f"SAM possible match on 2026-05-10 for Cy Tran (P3, check {sid}) was not resolved by the review deadline "
        "2026-05-13: resolve it by human review now.")
    resolved = records + [check("P3", "SAM", "2026-05-16T10:00:00-07:00")]
    assert run(resolved, "2026-05-20T12:00:00-07:00", **LOOKBACK)[f"P3/possible_match/{sid}"] == (
        "violation",
        f"SAM possible match on 2026-05-10 for Cy Tran (P3, check {sid}) was resolved on 2026-05-16, after the "
        "review deadline 2026-05-13.")


def test_excluded_open_left_and_cleared() -> None:
    records = STEADY + monthly("P3", ["2026-05-03"]) + [check("P3", "LEIE", "2026-05-10T10:00:00-07:00", "excluded")]
    sid = "S-P3-LEIE-2026-05-10-excluded"
    assert run(records, "2026-05-10T12:00:00-07:00", **LOOKBACK)[f"P3/excluded/{sid}"] == (
        "violation",
        f"LEIE match on 2026-05-10: Cy Tran (P3, check {sid}) is excluded, with no clear LEIE result since. Still "
        "employed: remove from all federally reimbursed work now, quantify claims since the exclusion and have "
        "counsel decide on OIG self-disclosure.")
    left = [r if r["type"] != "employment_episode" else episode("EP3", "P3", r["start_at"], "2026-05-12T17:00:00-07:00")
            for r in records]
    assert run(left, "2026-05-20T12:00:00-07:00", **LOOKBACK)[f"P3/excluded/{sid}"] == (
        "violation",
        f"LEIE match on 2026-05-10: Cy Tran (P3, check {sid}) is excluded, with no clear LEIE result since. No "
        "longer employed: quantify claims since the exclusion and have counsel decide on OIG self-disclosure.")
    cleared = records + [check("P3", "LEIE", "2026-05-14T10:00:00-07:00")]
    assert run(cleared, "2026-05-20T12:00:00-07:00", **LOOKBACK)[f"P3/excluded/{sid}"] == (
        "violation",
        f"LEIE match on 2026-05-10: Cy Tran (P3, check {sid}) was reported excluded until a clear LEIE result on "
        "2026-05-14 (a reinstatement or a corrected match). Unless the match was wrong, quantify claims for that "
        "period and have counsel decide on OIG self-disclosure.")


def test_the_night_after_an_episode_ends_the_person_is_still_employed() -> None:
    """The night between a transfer's two episodes (ended 17:00, the next starts 08:00 the day after)
    is no departure, as for the credentialing rules (engagements.engaged_on): the advice stays "remove
    from work now" through the next local day, and is "no longer employed" the day after that."""
    records = STEADY + monthly("P3", ["2026-05-03"]) + [check("P3", "LEIE", "2026-05-10T10:00:00-07:00", "excluded")]
    left = [r if r["type"] != "employment_episode" else episode("EP3", "P3", r["start_at"], "2026-05-12T17:00:00-07:00")
            for r in records]
    key = "P3/excluded/S-P3-LEIE-2026-05-10-excluded"
    assert "Still employed: remove" in run(left, "2026-05-13T02:00:00-07:00", **LOOKBACK)[key][1]
    assert "Still employed: remove" in run(left, "2026-05-13T23:59:00-07:00", **LOOKBACK)[key][1]
    assert "No longer employed" in run(left, "2026-05-14T00:00:00-07:00", **LOOKBACK)[key][1]


@pytest.mark.parametrize("as_of", ["2026-05-11T12:00:00-07:00", "2026-06-01T00:00:00Z", "2026-06-02T12:00:00-07:00",
                                   "2026-06-10T12:00:00-07:00"])
def test_the_scenario_people_get_clean_texts_at_every_step(as_of: str) -> None:
    assert run(PER_SOURCE, as_of)  # run() checks every text and that both backends agree


def test_every_30_days_from_the_start_for_a_list_not_checked_just_before_it() -> None:
    """A new hire with LEIE last checked long before and SAM never: the 30 days run from the start."""
    records = [person("P5", "Eli", "Park"), episode("EP5", "P5", "2026-05-04T08:00:00-07:00"),
               check("P5", "LEIE", "2026-03-01T10:00:00-08:00")]
    params = {"excl_screen_frequency": "EVERY_30_DAYS"}
    assert run(records, "2026-05-28T12:00:00-07:00", **params)["P5/interval/SAM/2026-06-03"] == (
        "due_soon",
        "The first SAM exclusion check for Eli Park (P5) since starting on 2026-05-04 is due by 2026-06-03, 30 days "
        "after the start: SAM has never been checked.")
    later = run(records + [check("P5", "LEIE", "2026-06-05T10:00:00-07:00")], "2026-06-10T12:00:00-07:00", **params)
    assert later["P5/interval/SAM/2026-06-03"] == (
        "overdue",
        "Eli Park (P5) has had no SAM exclusion check since starting on 2026-05-04; one was due by 2026-06-03: SAM "
        "has never been checked.")
    assert later["P5/interval/LEIE/2026-06-03"] == (
        "violation",
        "Eli Park (P5) had no LEIE exclusion check within 30 days of starting on 2026-05-04 (due 2026-06-03): LEIE "
        "was checked on 2026-03-01 and not again until 2026-06-05.")


def test_every_30_days_a_list_never_checked_since_a_start_before_the_lookback() -> None:
    found = run(STEADY, "2026-05-20T12:00:00-07:00", **LOOKBACK, excl_screen_frequency="EVERY_30_DAYS",
                excl_screen_sources=["STATE_MEDICAID"])
    assert found == {"P3/interval/STATE_MEDICAID/2025-02-05": (
        "overdue",
        "Cy Tran (P3) has had no STATE_MEDICAID exclusion check since starting on 2025-01-06; one was due by "
        "2025-02-05: STATE_MEDICAID has never been checked.")}


def test_an_exclusion_older_than_the_lookback_is_reported_until_cleared() -> None:
    records = STEADY[:2] + monthly("P3", ["2026-02-03", "2026-03-03", "2026-04-03"], ("SAM",))
    records += [check("P3", "LEIE", "2025-04-10T10:00:00-07:00", "excluded")]
    sid = "S-P3-LEIE-2025-04-10-excluded"
    found = run(records, "2026-04-20T12:00:00-07:00", **LOOKBACK)  # window from 1 February 2026
    assert found == {f"P3/excluded/{sid}": (
        "violation",
        f"LEIE match on 2025-04-10: Cy Tran (P3, check {sid}) is excluded, with no clear LEIE result since. Still "
        "employed: remove from all federally reimbursed work now, quantify claims since the exclusion and have "
        "counsel decide on OIG self-disclosure.")}
    cleared = run(records + [check("P3", "LEIE", "2026-03-03T10:00:00-08:00")], "2026-04-20T12:00:00-07:00",
                  **LOOKBACK)
    assert cleared[f"P3/excluded/{sid}"] == (
        "violation",
        f"LEIE match on 2025-04-10: Cy Tran (P3, check {sid}) was reported excluded until a clear LEIE result on "
        "2026-03-03 (a reinstatement or a corrected match). Unless the match was wrong, quantify claims for that "
        "period and have counsel decide on OIG self-disclosure.")


def test_a_gap_older_than_the_lookback_is_named_and_dated_by_its_first_month() -> None:
    """SAM last checked on 3 December 2025, LEIE every month: the same finding month after month (its id
    does not follow the window), and its text gives the true months of the gap, not the window's."""
    records = [person("P6", "Fay", "Lund"), episode("EP6", "P6", "2025-11-03T08:00:00-08:00")]
    records += monthly("P6", ["2025-10-27", "2025-11-04", "2025-12-03"])
    records += monthly("P6", ["2026-01-05", "2026-02-03", "2026-03-03", "2026-04-03", "2026-05-04", "2026-06-02"],
                       ("LEIE",))
    may = run(records, "2026-05-20T12:00:00-07:00", **LOOKBACK)  # window from 1 March
    assert may == {"P6/monthly/2026-01": (
        "overdue",
        "No SAM exclusion check for Fay Lund (P6) in 2026-01 to 2026-05 so far: SAM has not been checked since "
        "2025-12-03.")}
    june = run(records, "2026-06-20T12:00:00-07:00", **LOOKBACK)  # window from 1 April
    assert june == {"P6/monthly/2026-01": (
        "overdue",
        "No SAM exclusion check for Fay Lund (P6) in 2026-01 to 2026-06 so far: SAM has not been checked since "
        "2025-12-03.")}
    made_up = run(records + [check("P6", "SAM", "2026-06-25T10:00:00-07:00")], "2026-07-20T12:00:00-07:00",
                  **LOOKBACK)
    assert made_up["P6/monthly/2026-01"] == (
        "violation",
        "No SAM exclusion check for Fay Lund (P6) in 2026-01 to 2026-05: SAM was checked on 2025-12-03 and not "
        "again until 2026-06-25.")


def test_an_exclusion_cleared_before_the_hire_is_no_finding() -> None:
    records = [person("P7", "Gus", "Grant"), episode("EP7", "P7", "2026-04-20T08:00:00-07:00"),
               check("P7", "LEIE", "2026-03-02T10:00:00-08:00", "excluded"),
               check("P7", "LEIE", "2026-04-06T10:00:00-07:00"), check("P7", "SAM", "2026-04-06T10:00:00-07:00")]
    records += monthly("P7", ["2026-05-04"])
    assert run(records, "2026-05-20T12:00:00-07:00") == {}
