"""CMS (catalog section 3): MIPS submissions and quality measures, exclusion screening."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterator
from typing import Any

from engine.demo.model import rec
from engine.demo.timeutil import add_months, iso, local
from engine.demo.world import TIN_CHI, TIN_MAIN, World

ET = "America/New_York"
CATEGORIES = ("quality", "pi", "ia")


def submission_due(py: int) -> dt.datetime:
    """31 March after the PY at 20:00 Eastern, rolled to Monday when it falls on a weekend (roll_forward)."""
    day = dt.date(py + 1, 3, 31)
    while day.weekday() >= 5:
        day += dt.timedelta(days=1)
    return local(day, 20, 0, ET)


def submissions(w: World) -> None:
    def sub(py: int, tag: str, tin: str, category: str, at: dt.datetime) -> str:
        sid = f"MIPS-{py}-{tag}-{category}"
        w.add(rec("mips_submission", sid, py=py, tin=tin, submitted_at=iso(at), category=category))
        return sid

    py = w.Y - 2
    due = submission_due(py)
    sub(py, "MAIN", TIN_MAIN, "quality", local(dt.date(py + 1, 3, 20), 10, 0, ET))
    late = local(due.date(), 15, 0, "Pacific/Honolulu")
    i = sub(py, "MAIN", TIN_MAIN, "ia", late)
    w.plant("CMS-MIPS-SUB-002", "mips_submission", i,
            f"PY {py} improvement activities uploaded {due.date()} 15:00 HST = 21:00 Eastern, after the "
            f"20:00 ET close (critical: compare instants).")
    w.plant("CMS-MIPS-SUB-002", "organization", "ORG-1",
            f"PY {py}, TIN {TIN_MAIN}: no Promoting Interoperability submission at all; window closed "
            f"{due.date()} 20:00 ET (critical).")
    for cat in CATEGORIES:
        at = local(dt.date(py + 1, 3, 10), 11, 0, ET) if cat != "quality" else due.replace(hour=19, minute=55)
        i = sub(py, "CHI", TIN_CHI, cat, at)
        if cat == "quality":
            w.near("CMS-MIPS-SUB-002", "mips_submission", i,
                   f"Submitted {due.date()} 19:55 ET, five minutes before the close (clean).")
    py = w.Y - 1
    at = local(dt.date(py + 1, 3, 25), 11, 0, ET)
    if not w.past(at):
        at = local(w.anchor - dt.timedelta(days=2), 11, 0, ET)
    if at.date() >= dt.date(py + 1, 1, 3) and w.past(at):
        for tag, tin in (("MAIN", TIN_MAIN), ("CHI", TIN_CHI)):
            for cat in CATEGORIES:
                sub(py, tag, tin, cat, at)
    w.plant("CMS-MIPS-PI-006", "organization", "ORG-1",
            f"No security risk analysis performed or reviewed in PY {w.Y - 1} (latest {w.Y - 2}-12-15): "
            f"PI_PPHI_1 cannot be attested and the PI category would score 0 (critical).")


def measure_cases(w: World, patient_id: Callable[[int], str], n_patients: int) -> Iterator[dict[str, Any]]:
    """Quality-measure cases for the last complete performance year (streamed)."""
    r = w.rng("measures")
    py = w.Y - 1
    main_npis = [x.npi for x in w.workers if x.npi and x.role in ("physician", "nurse_practitioner",
                                                                     "physician_assistant") and x.est != "EST-CHI"]
    chi_npis = [x.npi for x in w.workers if x.npi and x.role in ("physician", "nurse_practitioner")
                and x.est == "EST-CHI"]

    def case(measure: str, tag: str, tin: str, k: int, npis: list[Any], *, excluded: bool, reported: bool,
             met: bool | None, exception: bool = False) -> dict[str, Any]:
        return rec("measure_case", f"MC-{py}-{measure}-{tag}-{k:05d}", py=py, measure_id=measure,
                   clinician_npi=r.choice(npis), tin=tin, patient_id=patient_id(r.randrange(n_patients)),
                   eligible=True, excluded=excluded, exception=exception, met=met, reported=reported)

    n = w.measure_n
    plan: list[tuple[str, int, float, float, float]] = [
        # measure, count, excluded share, reported share, met share (of reported, non-exception)
        ("001", n, 0.05, 0.93, 0.17),
        ("236", n, 0.06, 0.92, 0.68),
        ("226", 1000, 0.0, 0.749, 0.80),
        ("134", 1000, 0.0, 0.750, 0.74),
        ("130", int(n * 1.5), 0.0, 0.95, 0.90),
    ]
    gaps = {
        "001": ("CMS-QM-001-008", "Inverse measure: met=true is a hit (last HbA1c > 9% or none) - a care gap."),
        "236": ("CMS-QM-236-009", "Blood pressure not controlled (met=false) - a care gap."),
        "226": ("CMS-QM-226-010", "Tobacco user without cessation intervention (met=false) - a care gap."),
        "134": ("CMS-QM-134-011", "Positive depression screen without a follow-up plan (met=false) - a care gap."),
        "130": ("CMS-QM-130-012", "Current medications not documented at the visit (met=false) - a care gap."),
    }
    for measure, count, excl, rep, met_share in plan:
        n_reported = round(count * rep) if measure in ("226", "134") else None
        gap_planted = False
        for k in range(1, count + 1):
            is_excl = r.random() < excl
            if n_reported is not None:
                reported = k <= n_reported
            else:
                reported = is_excl or r.random() < rep
            exception = reported and not is_excl and r.random() < 0.02
            met: bool | None
            if not reported or is_excl or exception:
                met = None
            else:
                met = r.random() < met_share
            c = case(measure, "MAIN", TIN_MAIN, k, main_npis, excluded=is_excl, reported=reported, met=met,
                     exception=exception)
            bad = met is True if measure == "001" else met is False
            if bad and not gap_planted:
                rule, note = gaps[measure]
                w.plant(rule, "measure_case", c["id"], f"PY {py}: {note}")
                gap_planted = True
            yield c
    w.plant("CMS-MIPS-Q-DC-004", "organization", "ORG-1",
            f"PY {py}, TIN {TIN_MAIN}, measure 226: 749 of 1000 eligible cases reported = 74.9% < 75% "
            f"(fails; no rounding).")
    w.near("CMS-MIPS-Q-DC-004", "organization", "ORG-1",
           f"PY {py}, TIN {TIN_MAIN}, measure 134: 750 of 1000 = exactly 75% (passes).")
    w.plant("CMS-MIPS-Q-COUNT-003", "organization", "ORG-1",
            f"PY {py}, TIN {TIN_MAIN}: only 5 quality measures (001, 236, 226, 134, 130) and one of them "
            f"(226) fails data completeness: fewer than 6 (high).")
    for k in range(1, 15):
        yield case("134", "CHI", TIN_CHI, k, chi_npis or main_npis, excluded=False, reported=True,
                   met=r.random() < 0.8)
    w.plant("CMS-MIPS-Q-CASE-005", "organization", "ORG-1",
            f"PY {py}, TIN {TIN_CHI} (Chicago): measure 134 has only 14 eligible cases (< 20 case minimum: "
            f"medium).")
    w.plant("CMS-MIPS-Q-COUNT-003", "organization", "ORG-1",
            f"PY {py}, TIN {TIN_CHI}: a single quality measure (134) (high).")


def screening(w: World) -> None:
    last_month = add_months(w.anchor.replace(day=1), -1)
    lm = last_month.strftime("%Y-%m")
    this_month = w.anchor.replace(day=1).strftime("%Y-%m")

    x = w.pick(roles=["nurse_practitioner", "physician_assistant"], est="EST-NYC", min_tenure_days=400)
    x.screen_skip |= {("LEIE", lm), ("LEIE", this_month)}
    day = last_month + dt.timedelta(days=11)
    sid = f"SCR-{x.pid}-LEIE-{day.isoformat()}"
    x.screen_extra.append(rec("screening", sid, person_id=x.pid, source="LEIE", checked_at=iso(local(day, 6, 30, ET)),
                              result="excluded"))
    w.plant("CMS-EXCL-LEIE-015", "screening", sid,
            f"Monthly LEIE check on {day} matched {x.pid} (NPI and DOB): excluded, still employed and "
            f"seeing patients (critical).")
    w.plant("CRED-MON-009", "person", x.pid,
            f"New OIG exclusion found by the monthly sweep on {day} for an active credentialed practitioner "
            f"(critical).")

    start = add_months(w.anchor.replace(day=1), -2).replace(day=3)
    y = w.hire("EST-SAN", "front_desk", start)
    y.tainted = True
    y.prehire_days = -10
    w.plant("CMS-EXCL-LEIE-015", "employment_episode", y.ep.id,
            f"Hired {start}; first LEIE/SAM check only on {start + dt.timedelta(days=10)} (no check before "
            f"start: high).")

    z = w.pick(roles=["billing_specialist", "front_desk"], est="EST-CHI", min_tenure_days=300)
    z.screen_skip |= {("LEIE", lm), ("SAM", lm)}
    w.plant("CMS-EXCL-LEIE-015", "person", z.pid,
            f"No LEIE or SAM check at all in {lm} for an active employee (month ended without a check: high).")

    v = w.pick(roles=["physician"], est="EST-DEN", min_tenure_days=300)
    v.screen_skip |= {("STATE_MEDICAID", lm)}
    w.plant("CRED-MON-009", "person", v.pid,
            f"Credentialed physician missed the monthly state Medicaid exclusion check in {lm} (high).")

    u = w.pick(roles=["medical_assistant", "registered_nurse"], est="EST-NYC", min_tenure_days=300)
    pm = last_month + dt.timedelta(days=19)
    u.screen_extra.append(rec("screening", f"SCR-{u.pid}-SAM-{pm.isoformat()}", person_id=u.pid, source="SAM",
                              checked_at=iso(local(pm, 9, 0, ET)), result="possible_match"))
    cleared = pm + dt.timedelta(days=1)
    u.screen_extra.append(rec("screening", f"SCR-{u.pid}-SAM-{cleared.isoformat()}", person_id=u.pid, source="SAM",
                              checked_at=iso(local(cleared, 9, 0, ET)), result="clear"))
    w.near("CMS-EXCL-LEIE-015", "person", u.pid,
           f"SAM possible match on {pm} (same name, different DOB) cleared by human review on {cleared} (clean).")
