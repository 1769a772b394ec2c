"""OSHA (catalog section 2): applicability, logs, 300A/ITA, severe injuries, bloodborne pathogens."""

from __future__ import annotations

import datetime as dt

from engine.demo import names
from engine.demo.model import rec
from engine.demo.timeutil import (
    add_months,
    add_working_days,
    is_working_day,
    iso,
    last_dst_change,
    local,
    plus,
    previous_working_day,
)
from engine.demo.world import EST_BY_ID, Training, Worker, World

DEN = "EST-DEN"
DEN_TZ = EST_BY_ID[DEN].tz


def scope(w: World) -> None:
    w.plant("OSHA-REC-SCOPE-001", "establishment", DEN,
            "Info: NAICS 621999 (other ambulatory care) is not partially exempt and the company had more "
            "than 10 employees: Part 1904 records required at the Denver site (gates 002-005, 011).")
    w.near("OSHA-REC-SCOPE-001", "establishment", "EST-NYC",
           "NAICS 621111 offices of physicians: partially exempt, routine 1904 records not required.")
    w.near("OSHA-REC-SCOPE-001", "establishment", "EST-HNL",
           "NAICS 621511 medical laboratory: partially exempt (Hawaii state plan).")


def exposure_control_plans(w: World) -> None:
    rule = "OSHA-BBP-ECP-007"

    def ecp(est: str, reviewed: dt.datetime, safer: bool, frontline: bool) -> str:
        eid = f"ECP-{est.removeprefix('EST-')}-{reviewed.year}"
        w.add(rec("exposure_control_plan", eid, establishment_id=est, reviewed_at=iso(reviewed),
                  safer_devices_reviewed=safer, frontline_input_documented=frontline))
        return eid

    tz = {e: EST_BY_ID[e].tz for e in EST_BY_ID}
    twelve = add_months(w.anchor, -12)
    if add_months(twelve, 12) != w.anchor:  # 29 Feb anchor: clamping would make it overdue
        twelve = add_months(w.anchor, -11)
    ecp("EST-NYC", local(add_months(twelve, -12), 14, 0, tz["EST-NYC"]), True, True)
    i = ecp("EST-NYC", local(twelve, 14, 0, tz["EST-NYC"]), True, True)
    w.near(rule, "exposure_control_plan", i, f"Reviewed {twelve}: exactly 12 months before the anchor (clean).")
    i = ecp("EST-CHI", w.at(14 * 30 + 5, 14, tz=tz["EST-CHI"]), True, True)
    w.plant(rule, "exposure_control_plan", i, f"Chicago ECP last reviewed {w.day(425)} (> 12 months: high).")
    i = ecp("EST-HNL", w.at(150, 14, tz=tz["EST-HNL"]), False, True)
    w.plant(rule, "exposure_control_plan", i, "Latest review did not consider safer sharps devices (medium).")
    i = ecp(DEN, w.at(60, 14, tz=tz[DEN]), True, False)
    w.plant(rule, "exposure_control_plan", i, "Latest review has no documented front-line staff input (medium).")
    w.plant(rule, "establishment", "EST-SAN",
            "San Diego employs staff with occupational exposure and has no exposure control plan (high).")


def _case(w: World, n: int, person: Worker, est: str, incident: dt.datetime, learned: dt.datetime, **kw: object) -> str:
    cid = f"OC-{n:04d}"
    fields: dict[str, object] = dict(establishment_id=est, person_id=person.pid, incident_at=iso(incident),
                                     learned_at=iso(learned), recordable=True, privacy_case=False, sharps=False,
                                     amputation=False, eye_loss=False)
    fields.update(kw)
    w.add(rec("osha_case", cid, **fields))  # type: ignore[arg-type]
    return cid


def _protect(x: Worker) -> None:
    """Give a worker documented hepatitis B immunity (so an exposure needs no vaccine re-offer)."""
    h = x.hepb
    if h is None or not (h["series_completed_at"] or h["antibody_immune"] or h["contraindicated"]):
        offered = h["offered_at"] if h else None
        x.hepb = {"offered_at": offered, "declined_at": None, "series_completed_at": None,
                  "antibody_immune": True, "contraindicated": False}


def _unprotect(x: Worker) -> None:
    """A worker who signed the hepatitis B declination."""
    offered = x.hepb["offered_at"] if x.hepb and x.hepb["offered_at"] else plus(x.ep.start, days=3)
    x.hepb = {"offered_at": offered, "declined_at": plus(offered, minutes=20), "series_completed_at": None,
              "antibody_immune": False, "contraindicated": False}


def cases(w: World) -> None:
    log = "OSHA-REC-LOG-002"
    sil = "OSHA-BBP-SIL-011"
    sev = "OSHA-REP-SEVERE-006"
    rn = w.pick(roles=["registered_nurse"], est=DEN, min_tenure_days=300)
    i = _case(w, 1, rn, DEN, w.at(16, 14, tz=DEN_TZ), w.at(15, 9, tz=DEN_TZ), work_area="Infusion bay 3")
    w.plant(log, "osha_case", i, f"Recordable back strain learned {w.day(15)}; not on the 300 log by "
            f"{w.day(8)} (high).")
    ma = w.pick(roles=["medical_assistant", "registered_nurse"], est=DEN, min_tenure_days=300)
    inc = w.at(40, 11, tz=DEN_TZ)
    i = _case(w, 2, ma, DEN, inc, plus(inc, hours=1), sharps=True, logged_at=iso(w.at(38, 10, tz=DEN_TZ)),
              f301_at=iso(w.at(38, 11, tz=DEN_TZ)), sharps_log_at=iso(w.at(37, 10, tz=DEN_TZ)),
              device_type="hollow-bore needle (IV start)", work_area="Infusion bay 2")
    w.plant(log, "osha_case", i, "Needlestick logged on time but not marked as a privacy case (medium).")
    w.plant(sil, "osha_case", i, "Sharps injury log entry lacks the device brand (medium).")
    ph = w.pick(roles=["phlebotomist", "medical_assistant", "registered_nurse"], est=DEN, min_tenure_days=200)
    inc = w.at(20, 10, tz=DEN_TZ)
    i = _case(w, 3, ph, DEN, inc, plus(inc, minutes=30), sharps=True, privacy_case=True,
              logged_at=iso(w.at(17, 10, tz=DEN_TZ)), f301_at=iso(w.at(17, 11, tz=DEN_TZ)),
              device_type="butterfly needle", device_brand="SafeDraw 23G", work_area="Draw station 1")
    w.plant(sil, "osha_case", i, f"Sharps injury {w.day(20)} never entered in the sharps injury log "
            f"(due {w.day(13)}: medium).")
    for x in (ma, ph, rn):
        _protect(x)
    pep = "OSHA-BBP-PEP-010"
    d1 = w.pick(roles=["registered_nurse", "medical_assistant"], est=DEN, min_tenure_days=300)
    _unprotect(d1)
    inc = w.at(12, 15, tz=DEN_TZ)
    i = _case(w, 11, d1, DEN, inc, plus(inc, minutes=15), sharps=True, privacy_case=True,
              logged_at=iso(plus(inc, days=1)), f301_at=iso(plus(inc, days=1)), sharps_log_at=iso(plus(inc, days=1)),
              device_type="hollow-bore needle (port access)", device_brand="Huber SafeStep", work_area="Infusion bay 1")
    w.plant(pep, "osha_case", i, f"Needlestick {w.day(12)} of an employee who had declined hepatitis B "
            f"vaccination; no post-exposure vaccine offer recorded within 2 h of the report (critical; the "
            f"evaluation itself has no fields).")
    d2 = w.pick(roles=["registered_nurse", "medical_assistant", "phlebotomist"], est=DEN, min_tenure_days=300)
    _protect(d2)
    inc = w.at(25, 11, tz=DEN_TZ)
    i = _case(w, 12, d2, DEN, inc, plus(inc, minutes=10), sharps=True, privacy_case=True,
              logged_at=iso(plus(inc, days=2)), f301_at=iso(plus(inc, days=2)), sharps_log_at=iso(plus(inc, days=2)),
              device_type="lancet", device_brand="Unistik 3", work_area="Lab draw station")
    w.near(pep, "osha_case", i, f"Needlestick {w.day(25)} of an employee with documented hepatitis B immunity: "
           f"no post-exposure vaccine offer needed (clean; the evaluation itself is not representable).")
    rn2 = w.pick(roles=["registered_nurse", "medical_assistant"], est=DEN, min_tenure_days=300)
    i = _case(w, 4, rn2, DEN, w.at(70, 9, tz=DEN_TZ), w.at(70, 10, tz=DEN_TZ), logged_at=iso(w.at(60, 10, tz=DEN_TZ)),
              f301_at=iso(w.at(60, 11, tz=DEN_TZ)), work_area="Waiting room")
    w.plant(log, "osha_case", i, f"Slip-and-fall learned {w.day(70)}, logged {w.day(60)}: 10 days (late: medium).")

    # near misses
    yearend = local(dt.date(w.Y - 2, 12, 30), 15, 0, DEN_TZ)
    logged = local(dt.date(w.Y - 1, 1, 4), 9, 0, DEN_TZ)
    i = _case(w, 5, rn, DEN, yearend, plus(yearend, minutes=20), sharps=True, privacy_case=True,
              logged_at=iso(logged), f301_at=iso(logged), sharps_log_at=iso(logged),
              device_type="suture needle", device_brand="Ethilon", work_area="Procedure room")
    w.near(log, "osha_case", i, f"Occurred {yearend.date()}, logged {logged.date()} (5 days): on time, belongs "
           f"on the {w.Y - 2} log (clean).")
    learned = w.at(30, 16, tz=DEN_TZ)
    i = _case(w, 6, rn2, DEN, plus(learned, hours=-2), learned, logged_at=iso(w.at(23, 9, tz=DEN_TZ)),
              f301_at=iso(w.at(23, 9, tz=DEN_TZ)), work_area="Supply room")
    w.near(log, "osha_case", i, f"Learned {w.day(30)}, logged {w.day(23)}: day 7 exactly (clean).")

    nyc = w.pick(roles=["medical_assistant", "registered_nurse", "front_desk"], est="EST-NYC", min_tenure_days=300)
    inc = w.at(9, 10, tz="America/New_York")
    i = _case(w, 7, nyc, "EST-NYC", inc, plus(inc, hours=1), inpatient_admit_at=iso(plus(inc, hours=6)),
              work_area="Exam room 4")
    w.plant(sev, "osha_case", i, f"Fall with in-patient admission 6 h after the incident on {w.day(9)}; not "
            f"reported to OSHA within 24 h of learning (critical; applies to partially exempt sites too).")
    admit = w.at(48, 12, tz=DEN_TZ)
    i = _case(w, 10, rn, DEN, w.at(50, 10, tz=DEN_TZ), w.at(50, 10, 30, tz=DEN_TZ), inpatient_admit_at=iso(admit),
              logged_at=iso(w.at(47, 10, tz=DEN_TZ)), f301_at=iso(w.at(47, 10, tz=DEN_TZ)), work_area="Parking lot")
    w.near(sev, "osha_case", i, "Admission 50 h after the incident: not a reportable in-patient "
           "hospitalization (clean; still recordable and logged on time).")

    spring = last_dst_change(DEN_TZ, w.day(3), spring=True)
    fall = last_dst_change(DEN_TZ, w.day(3), spring=False)
    tech = w.pick(roles=["phlebotomist", "medical_assistant", "registered_nurse", "facilities"], est=DEN,
                  min_tenure_days=100)
    if spring is not None:
        learned = local(spring - dt.timedelta(days=1), 10, 0, DEN_TZ)
        i = _case(w, 8, tech, DEN, plus(learned, minutes=-30), learned, amputation=True,
                  reported_to_osha_at=iso(local(spring, 10, 30, DEN_TZ)), logged_at=iso(plus(learned, days=2)),
                  f301_at=iso(plus(learned, days=2)), work_area="Pharmacy compounding room")
        w.near(sev, "osha_case", i, f"Amputation learned {learned.date()} 10:00 MST, reported {spring} 10:30 "
               f"MDT: 24.5 h on the wall clock, 23.5 h elapsed (on time; C3).")
    if fall is not None:
        learned = local(fall - dt.timedelta(days=1), 10, 0, DEN_TZ)
        i = _case(w, 9, tech, DEN, plus(learned, minutes=-45), learned, eye_loss=True,
                  reported_to_osha_at=iso(local(fall, 9, 30, DEN_TZ)), logged_at=iso(plus(learned, days=2)),
                  f301_at=iso(plus(learned, days=2)), work_area="Pharmacy compounding room")
        w.plant(sev, "osha_case", i, f"Loss of an eye learned {learned.date()} 10:00 MDT, reported {fall} "
                f"09:30 MST: 23.5 h on the wall clock but 24.5 h elapsed (late: critical; C3).")


def summaries(w: World) -> None:
    """Form 300A summaries for the Denver site (the only one that must keep Part 1904 records)."""

    def summary(year: int, certified: dt.datetime | None, title: str | None, posted_from: dt.date | None,
                posted_until: dt.date | None, ita: dt.datetime | None) -> str:
        sid = f"OS-DEN-{year}"
        w.add(rec("osha_summary", sid, establishment_id=DEN, year=year, certified_at=iso(certified),
                  certifier_title=title, posted_from=posted_from.isoformat() if posted_from else None,
                  posted_until=posted_until.isoformat() if posted_until else None, ita_submitted_at=iso(ita)))
        return sid

    title = "Site Administrator (highest-ranking official at the establishment)"
    w.plant("OSHA-REC-300A-003", "establishment", DEN,
            f"Records were required at Denver in {w.Y - 5} (621999, company peak > 10 in {w.Y - 6}), but no "
            f"{w.Y - 5} Form 300A was ever certified (due 1 Feb {w.Y - 4}: high); it would be kept until "
            f"31 Dec {w.Y}.")
    y = w.Y - 4
    i = summary(y, local(dt.date(y + 1, 1, 27), 15, 0, DEN_TZ), title, dt.date(y + 1, 2, 1), dt.date(y + 1, 4, 30),
                local(dt.date(y + 1, 3, 2), 15, 0, DEN_TZ))
    w.near("OSHA-REC-ITA-005", "osha_summary", i, f"ITA submission on 2 March {y + 1}, the due date (clean).")
    y = w.Y - 3
    i = summary(y, local(dt.date(y + 1, 1, 28), 15, 0, DEN_TZ), "Safety Coordinator", dt.date(y + 1, 2, 3),
                dt.date(y + 1, 4, 15), local(dt.date(y + 1, 2, 20), 15, 0, DEN_TZ))
    w.plant("OSHA-REC-300A-003", "establishment", DEN,
            f"{i}: the {y} summary posted from 3 Feb (after 1 Feb: high), taken down 15 Apr (before 30 Apr: medium), "
            f"certified by a 'Safety Coordinator' (not an allowed certifier: medium).")
    y = w.Y - 2
    i = summary(y, local(dt.date(y + 1, 2, 6), 15, 0, DEN_TZ), title, dt.date(y + 1, 2, 7), dt.date(y + 1, 4, 30),
                None)
    w.plant("OSHA-REC-300A-003", "establishment", DEN,
            f"{i}: the {y} summary certified 6 Feb {y + 1} (not by 1 Feb: high) and posted from 7 Feb (high).")
    w.plant("OSHA-REC-ITA-005", "osha_summary", i,
            f"Denver (NAICS 6219, Appendix A, 20-249 employees) never submitted its {y} 300A to ITA; due "
            f"2 March {y + 1} (high).")
    y = w.Y - 1
    cert = local(dt.date(y + 1, 1, 27), 15, 0, DEN_TZ)
    pf = dt.date(y + 1, 2, 1)
    pu = dt.date(y + 1, 4, 30)
    ita = local(dt.date(y + 1, 2, 24), 15, 0, DEN_TZ)
    summary(y, cert if w.past(cert) else None, title if w.past(cert) else None, pf if pf < w.anchor else None,
            pu if pu < w.anchor else None, ita if w.past(ita) else None)


def bloodborne(w: World) -> None:
    hepb = "OSHA-BBP-HEPB-008"
    trn = "OSHA-BBP-TRN-009"

    a = w.hire("EST-SAN", "medical_assistant", w.day(30))
    a.tainted = True
    a.hepb = None
    assert a.ep.exposure_at is not None
    due = add_working_days(a.ep.exposure_at.date(), 10)
    w.plant(hepb, "employment_episode", a.ep.id,
            f"Exposure assignment {a.ep.exposure_at.date()}; hepatitis B vaccine never offered, due {due} "
            f"(10 working days) (high).")

    b = w.hire(DEN, "registered_nurse", w.day(200))
    b.tainted = True
    start = b.ep.start
    b.drop_trainings(["BBP"], after=plus(start, days=-1))
    bbp_at = plus(start, days=6, hours=2)
    b.trainings.append(Training("BBP", bbp_at, f"BBP-{bbp_at.year}.1", names.TRAINERS[4]))
    later = plus(bbp_at, days=330)
    if w.past(later):
        b.trainings.append(Training("BBP", later, f"BBP-{later.year}.1", names.TRAINERS[4]))
    b.trainings.sort(key=lambda t: t.at)
    b.ep.exposure_at = plus(start, days=7)
    b.hepb = {"offered_at": plus(start, days=2, hours=2), "declined_at": None, "series_completed_at": None,
              "antibody_immune": False, "contraindicated": False}
    w.plant(hepb, "hepb_vaccination", f"HEPB-{b.pid}",
            f"Vaccine offered {(start + dt.timedelta(days=2)).date()}, before the BBP training it must follow "
            f"({bbp_at.date()}) (medium).")

    holiday = None
    day = w.day(30)
    for _ in range(400):
        if day.weekday() < 5 and not is_working_day(day):
            holiday = day
            break
        day -= dt.timedelta(days=1)
    if holiday is not None:
        assign = previous_working_day(holiday - dt.timedelta(days=1))
        c = w.hire(DEN, "medical_assistant", assign)
        c.tainted = True
        c.ep.exposure_at = local(assign, 13, 0, DEN_TZ)
        offer_day = add_working_days(assign, 10)
        c.hepb = {"offered_at": local(offer_day, 15, 0, DEN_TZ), "declined_at": None, "series_completed_at": None,
                  "antibody_immune": False, "contraindicated": False}
        w.near(hepb, "hepb_vaccination", f"HEPB-{c.pid}",
               f"Assigned {assign} (before the {holiday} holiday), offered {offer_day}: the 10th working day, "
               f"{(offer_day - assign).days} calendar days (clean; C4).")

    d = w.pick(roles=["registered_nurse", "medical_assistant"], est=DEN, min_tenure_days=800)
    d.drop_trainings(["BBP"], after=w.at(395, 0))
    last = max(t.at for t in d.trainings_of("BBP"))
    w.plant(trn, "employment_episode", d.ep.id,
            f"Last BBP training {last.date()}: more than 12 months before the anchor (high).")

    e = w.hire("EST-HNL", "lab_technician", w.day(50))
    e.tainted = True
    e.drop_trainings(["BBP"])
    bbp_at = plus(e.ep.start, days=9, hours=3)
    e.trainings.append(Training("BBP", bbp_at, f"BBP-{bbp_at.year}.1", names.TRAINERS[4]))
    e.trainings.sort(key=lambda t: t.at)
    if e.hepb is not None:
        e.hepb["offered_at"] = plus(bbp_at, days=1)
    assert e.ep.exposure_at is not None
    w.plant(trn, "employment_episode", e.ep.id,
            f"Exposure tasks from {e.ep.exposure_at.date()}, BBP training only on {bbp_at.date()} (high).")

    f = w.pick(roles=["medical_assistant", "registered_nurse"], est="EST-CHI", min_tenure_days=400)
    latest = max(f.trainings_of("BBP"), key=lambda t: t.at)
    latest.trainer = None
    latest.version = None
    n = sum(1 for t in f.trainings if t.course == "BBP")
    w.plant(trn, "training_record", f"TR-{f.pid}-BBP-{n}",
            "Latest BBP training record has no trainer and no content version (medium).")

    g = w.pick(roles=["medical_assistant", "registered_nurse"], est="EST-SAN", min_tenure_days=500)
    g.drop_trainings(["BBP"], after=w.at(380, 0))
    twelve = add_months(w.anchor, -12)
    if add_months(twelve, 12) != w.anchor:
        twelve = add_months(w.anchor, -11)
    at = local(twelve, 10, 0, g.ep.tz)
    g.trainings.append(Training("BBP", at, f"BBP-{at.year}.1", names.TRAINERS[4]))
    g.trainings.sort(key=lambda t: t.at)
    n = sum(1 for t in g.trainings if t.course == "BBP")
    w.near(trn, "training_record", f"TR-{g.pid}-BBP-{n}",
           f"Last BBP training {twelve}: exactly 12 months before the anchor (clean).")


def other_programs(w: World) -> None:
    h = w.pick(roles=["lab_technician"], est="EST-HNL", min_tenure_days=200)
    h.drop_trainings(["HAZCOM"])
    w.plant("OSHA-HAZ-012", "employment_episode", h.ep.id,
            "Lab technician handling hazardous chemicals (occupational_exposure) with no HazCom training "
            "record (medium; proxy, see manifest).")
    e = w.hire("EST-NYC", "it_support", w.day(60))
    e.tainted = True
    e.drop_trainings(["EAP"])
    w.plant("OSHA-EAP-013", "employment_episode", e.ep.id,
            f"Hired {w.day(60)}; emergency action plan never reviewed with the employee at initial "
            f"assignment (no EAP training record) (medium; proxy).")
    f = w.pick(roles=["front_desk", "medical_assistant"], est="EST-SAN", min_tenure_days=800)
    f.drop_trainings(["FIRE_EXT"], after=w.at(430, 0))
    last = max(t.at for t in f.trainings_of("FIRE_EXT"))
    w.plant("OSHA-FIRE-014", "employment_episode", f.ep.id,
            f"Annual fire-extinguisher training last completed {last.date()} (> 12 months: medium; proxy).")
