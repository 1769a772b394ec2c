"""HIPAA (catalog section 1): systems, risk analysis, workforce access, devices, vendors, breaches."""

from __future__ import annotations

import datetime as dt

from engine.demo import names
from engine.demo.model import rec
from engine.demo.timeutil import iso, last_dst_change, local, plus, previous_working_day
from engine.demo.world import EST_BY_ID, HQ_TZ, Worker, World

REQUIRED_CLAUSES = (
    "PERMITTED_USES", "SAFEGUARDS", "BREACH_REPORTING", "SUBCONTRACTORS", "INDIVIDUAL_RIGHTS",
    "HHS_ACCESS", "RETURN_DESTROY",
)  # fmt: skip
# AI-specific clause codes, as the ai_use ruleset's default ai_baa_required_clauses names them
AI_CLAUSES = ("ai_no_training", "data_retention_deletion")


def systems(w: World) -> None:
    """System inventory; runs before the workforce (accounts need it)."""
    h = local(w.horizon, 9, 0, HQ_TZ)

    def system(code: str, ephi: bool, audit: bool, review: dt.datetime | None, retention: int | None,
               added: dt.datetime) -> None:
        from engine.demo.world import SYSTEM_NAMES

        w.add(rec("system", f"SYS-{code}", name=SYSTEM_NAMES[code], stores_ephi=ephi, audit_logging_enabled=audit,
                  last_audit_review_at=iso(review), log_retention_days=retention, added_at=iso(added)))

    system("EHR", True, True, w.at(12, 10), 2555, h)
    system("PM", True, True, w.at(45, 10), 2555, h)
    system("LIS", True, True, w.at(8, 10), 365, h)
    system("M365", True, True, w.at(30, 10), 2190, h)
    system("VPN", False, True, w.at(20, 10), 400, h)
    system("HR", False, False, None, 90, h)
    system("FAX", True, False, None, None, plus(h, days=200))
    system("PACS", True, True, w.at(10, 10), 2555, w.pacs_added)
    w.plant("HIPAA-SEC-AUD-006", "system", "SYS-FAX",
            "ePHI system with audit logging disabled (high).")
    w.plant("HIPAA-SEC-AUD-006", "system", "SYS-PM",
            f"ePHI system: last audit review {w.day(45)} is 45 days before the anchor (> 30 days, medium).")
    w.plant("HIPAA-SEC-AUD-006", "system", "SYS-LIS",
            "ePHI system keeps logs 365 days, below audit_log_retention_days=2190 (medium).")
    w.near("HIPAA-SEC-AUD-006", "system", "SYS-M365",
           f"Last audit review {w.day(30)}: exactly 30 days before the anchor, not more (clean).")
    w.near("HIPAA-SEC-AUD-006", "system", "SYS-HR",
           "Audit logging disabled but stores_ephi=false: out of scope (clean).")


def risk(w: World) -> None:
    scope = ["SYS-EHR", "SYS-FAX", "SYS-LIS", "SYS-M365", "SYS-PM"]
    approver = f"{w.ceo.first} {w.ceo.last}, Chief Executive Officer ({w.ceo.pid})"
    y3 = local(dt.date(w.Y - 3, 12, 10), 16, 0, HQ_TZ)
    y2 = local(dt.date(w.Y - 2, 12, 15), 16, 0, HQ_TZ)
    w.add(rec("risk_analysis", f"RA-{w.Y - 3}", completed_at=iso(y3), scope_system_ids=scope, approved_by=approver))
    ra = w.add(rec("risk_analysis", f"RA-{w.Y - 2}", completed_at=iso(y2), scope_system_ids=scope,
                   approved_by=approver))
    owner = w.security_officer.pid

    def item(n: int, rating: str, due: dt.datetime, status: str) -> str:
        rid = f"RI-{n:03d}"
        w.add(rec("risk_item", rid, risk_analysis_id=ra["id"], rating=rating, owner_person_id=owner,
                  due_at=iso(due), status=status))
        return rid

    item(1, "critical", w.at(40, 17), "open")
    item(2, "high", w.at(-20, 17), "open")
    item(3, "medium", w.at(100, 17), "open")
    item(4, "high", w.at(200, 17), "closed")
    item(5, "low", w.at(300, 17), "open")
    w.plant("HIPAA-SEC-RA-001", "risk_analysis", ra["id"],
            f"Latest SRA completed {y2.date()} (> 365 days before the anchor: high). Its scope lacks "
            f"SYS-PACS, so under the literal logic no analysis covers every ePHI system (critical).")
    w.plant("HIPAA-SEC-RA-001", "system", "SYS-PACS",
            f"ePHI system added {w.pacs_added.date()}, after the latest SRA and more than 90 days ago (medium).")
    w.plant("HIPAA-SEC-RA-001", "organization", "ORG-1",
            f"MIPS participant for PY {w.Y - 1} but no risk analysis completed in {w.Y - 1} (high at 31 Dec).")
    w.plant("HIPAA-SEC-RA-001", "risk_item", "RI-001",
            f"Critical-rated risk item open past its due date {w.day(40)} (high).")
    w.near("HIPAA-SEC-RA-001", "risk_item", "RI-002", "High-rated item open but due in 20 days (clean).")
    w.near("HIPAA-SEC-RA-001", "risk_item", "RI-003", "Medium-rated item open past due: below HIGH (clean).")
    w.near("HIPAA-SEC-RA-001", "risk_item", "RI-004", "High-rated item past due but closed (clean).")


# ---- workforce --------------------------------------------------------------------------------


def _set_hipaa(wk: Worker, at: dt.datetime) -> None:
    wk.drop_trainings(["HIPAA_PRIVACY", "HIPAA_SECURITY"], after=wk.ep.start)
    from engine.demo.world import Training

    for course, minutes in (("HIPAA_PRIVACY", 0), ("HIPAA_SECURITY", 45)):
        t = plus(at, minutes=minutes)
        wk.trainings.append(Training(course, t, f"{course}-{t.year}.{1 if t.month <= 6 else 2}",
                                     names.TRAINERS[2]))
    wk.trainings.sort(key=lambda t: t.at)


def training(w: World) -> None:
    a = w.hire("EST-NYC", "front_desk", w.day(45))
    a.tainted = True
    a.drop_trainings(["HIPAA_PRIVACY", "HIPAA_SECURITY"])
    w.plant("HIPAA-ADM-TRN-002", "employment_episode", a.ep.id,
            f"Front-desk hire {w.day(45)} with PHI access and no HIPAA training 45 days later (> 30: high).")

    b = w.new_person("IL")
    w.add_episode(b, "EST-CHI", "medical_assistant", w.day(900), w.day(300))
    w.add_episode(b, "EST-CHI", "medical_assistant", w.day(60))
    w.derive(b)
    b.tainted = True
    b.drop_trainings(["HIPAA_PRIVACY", "HIPAA_SECURITY"], after=b.ep.start)
    last = max(t.at for t in b.trainings_of("HIPAA_PRIVACY"))
    w.plant("HIPAA-ADM-TRN-002", "employment_episode", b.ep.id,
            f"Rehire on {w.day(60)} (first episode {b.episodes[0].id} ended {w.day(300)}); last HIPAA "
            f"training {last.date()} was in the first episode; rehire counts as a new member (high).")

    c = w.pick(roles=["medical_assistant", "registered_nurse", "front_desk", "billing_specialist"],
               min_tenure_days=800)
    c.drop_trainings(["HIPAA_PRIVACY", "HIPAA_SECURITY"], after=w.at(425, 0))
    last = max(t.at for t in c.trainings_of("HIPAA_PRIVACY"))
    w.plant("HIPAA-ADM-TRN-002", "employment_episode", c.ep.id,
            f"Active since {c.ep.start.date()}; last HIPAA refresher {last.date()} is more than 12 months "
            f"before the anchor (medium).")

    d = w.hire("EST-NYC", "medical_assistant", w.day(25))
    d.tainted = True
    _set_hipaa(d, w.at(12, 14, tz=d.ep.tz))
    pt = w.special_patient(state="NY")
    w.add(rec("care_link", "CL-P-0001", patient_id=pt, person_id=d.pid, kind="task", date=str(w.day(18))))
    e1 = event(w, w.at(18, 10, 15, d.ep.tz), "SYS-EHR", d.user_id, pt, "view")
    event(w, w.at(18, 10, 40, d.ep.tz), "SYS-EHR", d.user_id, pt, "edit")
    w.plant("HIPAA-ADM-TRN-002", "access_event", e1,
            f"{d.pid} (hired {w.day(25)}) accessed charts on {w.day(18)}, before HIPAA training on "
            f"{w.day(12)} (medium: training_before_phi_access).")

    w.traps.append(
        "HIPAA-ADM-TRN-002 'first access_event(e) < t.completed_at': read t as the FIRST training completed in "
        "the episode. Read literally (t = latest training) every long-serving employee would be flagged, "
        "because each annual refresher postdates their first chart access."
    )
    e = w.hire("EST-NYC", "billing_specialist", w.day(30))
    e.tainted = True
    e.drop_trainings(["HIPAA_PRIVACY", "HIPAA_SECURITY"])
    w.near("HIPAA-ADM-TRN-002", "employment_episode", e.ep.id,
           f"Hired {w.day(30)}, not yet trained: exactly 30 days, due today, not overdue (may be due_soon).")


def event(w: World, at: dt.datetime, system: str, user: str, patient: str, action: str,
          break_glass: bool = False) -> str:
    eid = f"AE-P-{len(w.extra_events) + 1:04d}"
    w.extra_events.append((at, eid, system, user, patient, action, break_glass))
    return eid


def sanctions(w: World, confirmed_subject: Worker) -> None:
    def inv(n: int, subject: Worker, opened: int, closed: int | None, outcome: str | None) -> str:
        iid = f"INV-{n:04d}"
        w.add(rec("investigation", iid, subject_person_id=subject.pid, opened_at=iso(w.at(opened, 9)),
                  closed_at=iso(w.at(closed, 16)) if closed is not None else None, outcome=outcome))
        return iid

    def sanction(n: int, iid: str, subject: Worker, decided: dt.datetime, level: str) -> None:
        w.add(rec("sanction_record", f"SAN-{n:04d}", investigation_id=iid, person_id=subject.pid, level=level,
                  decided_at=iso(decided), acknowledged_at=iso(plus(decided, days=2))))

    i1 = inv(1, confirmed_subject, 60, 45, "VIOLATION_CONFIRMED")
    w.plant("HIPAA-ADM-SAN-003", "investigation", i1,
            f"Confirmed violation (same-surname snooping), closed {w.day(45)}; no sanction record 45 days "
            f"later (> 30: medium).")
    s2 = w.pick(roles=["front_desk", "medical_assistant", "billing_specialist"], min_tenure_days=500)
    i2 = inv(2, s2, 115, 100, "VIOLATION_CONFIRMED")
    sanction(1, i2, s2, w.at(70, 11), "written_warning")
    w.near("HIPAA-ADM-SAN-003", "investigation", i2,
           f"Closed {w.day(100)}; sanction decided {w.day(70)}, exactly 30 days later (clean).")
    s3 = w.pick(roles=["front_desk", "medical_assistant", "billing_specialist"], min_tenure_days=500)
    i3 = inv(3, s3, 95, 80, "VIOLATION_CONFIRMED")
    sanction(2, i3, s3, w.at(49, 11), "written_warning")
    w.plant("HIPAA-ADM-SAN-003", "investigation", i3,
            f"Closed {w.day(80)}; sanction decided {w.day(49)}, 31 days later (late by one day: medium).")
    s4 = w.pick(roles=["front_desk", "billing_specialist", "him_specialist"], min_tenure_days=400)
    i4 = inv(4, s4, 220, 200, "UNFOUNDED")
    w.near("HIPAA-ADM-SAN-003", "investigation", i4, "Unfounded: no sanction required (clean).")
    inv(5, s4, 10, None, None)
    s6 = w.pick(roles=["medical_assistant", "front_desk", "registered_nurse"], min_tenure_days=500)
    i6 = inv(6, s6, 320, 300, "VIOLATION_CONFIRMED")
    sanction(3, i6, s6, w.at(292, 11), "verbal_warning")
    i7 = inv(7, s6, 100, 90, "VIOLATION_CONFIRMED")
    sanction(4, i7, s6, w.at(84, 11), "verbal_warning")
    w.plant("HIPAA-ADM-SAN-003", "person", s6.pid,
            f"Two confirmed violations within 12 months ({i6}, {i7}), both verbal warnings: no escalation "
            f"(low, advisory).")


def termination(w: World) -> None:
    rule = "HIPAA-SEC-TERM-004"
    a = w.hire("EST-NYC", "front_desk", w.day(700), end=w.day(10))
    a.tainted = True
    for acc in a.accounts:
        acc["disabled_at"] = None
        w.plant(rule, "account", acc["id"], f"{a.pid} left {w.day(10)} 17:00 local; this {acc['system_id']} "
                f"account is still enabled 10 days later (high).")

    b = w.hire("EST-CHI", "billing_specialist", w.day(900), end=w.day(40))
    b.tainted = True
    assert b.ep.end is not None
    for acc in b.accounts:
        acc["disabled_at"] = iso(plus(b.ep.end, hours=65))
        w.plant(rule, "account", acc["id"], f"{b.pid} left {w.day(40)}; {acc['system_id']} account disabled 65 "
                f"hours later (> 24 h: medium, historical).")

    c = w.hire("EST-SAN", "medical_assistant", w.day(800), end=w.day(20))
    c.tainted = True
    assert c.ep.end is not None
    for acc in c.accounts:
        acc["disabled_at"] = iso(w.at(17, 9, tz=c.ep.tz))
        w.plant(rule, "account", acc["id"], f"{c.pid} left {w.day(20)} 17:00; {acc['system_id']} account "
                f"disabled {w.day(17)} 09:00 (> 24 h: medium).")
    pt = w.special_patient(state="CA")
    ev = event(w, w.at(18, 19, 40, c.ep.tz), "SYS-EHR", c.user_id, pt, "view")
    event(w, w.at(18, 19, 44, c.ep.tz), "SYS-EHR", c.user_id, pt, "view")
    w.plant("HIPAA-SEC-TERM-004", "access_event", ev,
            f"{c.pid} left {w.day(20)} 17:00; account still enabled and used on {w.day(18)} (critical; "
            f"account disabled {w.day(17)}, also > 24 h late: medium).")
    w.plant("HIPAA-PRV-SNOOP-007", "access_event", ev,
            "Former employee viewing a chart with no care relationship (NO_RELATIONSHIP: medium).")

    spring = last_dst_change("America/Denver", w.day(3), spring=True)
    fall = last_dst_change("America/Denver", w.day(3), spring=False)
    if spring is not None:
        d = w.hire("EST-DEN", "front_desk", spring - dt.timedelta(days=600), end=spring - dt.timedelta(days=1))
        d.tainted = True
        for acc in d.accounts:
            acc["disabled_at"] = iso(local(spring, 17, 30, "America/Denver"))
        ehr = next(x for x in d.accounts if x["system_id"] == "SYS-EHR")
        w.near("HIPAA-SEC-TERM-004", "account", ehr["id"],
               f"Ended {spring - dt.timedelta(days=1)} 17:00 MST, disabled {spring} 17:30 MDT: 24.5 h on the "
               f"wall clock but 23.5 h elapsed across the spring-forward change (clean; C3).")
    if fall is not None:
        f = w.hire("EST-DEN", "front_desk", fall - dt.timedelta(days=500), end=fall - dt.timedelta(days=1))
        f.tainted = True
        for acc in f.accounts:
            acc["disabled_at"] = iso(local(fall, 16, 30, "America/Denver"))
            w.plant(rule, "account", acc["id"],
                    f"Ended {fall - dt.timedelta(days=1)} 17:00 MDT, {acc['system_id']} account disabled {fall} "
                    f"16:30 MST: 23.5 h on the wall clock but 24.5 h elapsed across the fall-back change (late: "
                    f"medium; C3).")


def unique_ids(w: World) -> None:
    acc = w.account(None, "SYS-EHR", None, w.at(400, 8), None, user_id="frontdesk", generic=True, mfa=False)
    w.plant("HIPAA-SEC-UID-005", "account", acc["id"],
            "Shared interactive 'frontdesk' log-in on the EHR: generic, no person (high).")

    first = w.hire("EST-NYC", "medical_assistant", w.day(1100), end=w.day(500), first="Jose", last="Garcia")
    first.tainted = True
    second = w.new_person("NY", first="Julia", last="Garcia")
    w.user_ids.discard(second.user_id)
    second.user_id = first.user_id
    w.add_episode(second, "EST-NYC", "medical_assistant", w.day(300))
    w.derive(second)
    second.tainted = True
    for acc2 in second.accounts:
        w.plant("HIPAA-SEC-UID-005", "account", acc2["id"],
                f"user_id '{first.user_id}' re-assigned on {acc2['system_id']}: it belonged to {first.pid} (left "
                f"{w.day(500)}) and was given to {second.pid} on {w.day(300)} (high).")
    w.traps.append(
        f"Access events by user_id '{first.user_id}' after {w.day(300)} are {second.pid}'s, not the departed "
        f"{first.pid}'s: HIPAA-SEC-TERM-004 must not treat them as post-termination access."
    )

    svc = w.account(None, "SYS-EHR", None, w.at(700, 9), None, user_id="svc-hl7-interface", interactive=False,
                    mfa=None)
    pts = [w.special_patient(state="NY") for _ in range(3)]
    first_ev = ""
    for i, pt in enumerate(pts):
        ev = event(w, w.at(6, 14, 5 + i * 3), "SYS-EHR", "svc-hl7-interface", pt, "view")
        first_ev = first_ev or ev
    w.plant("HIPAA-SEC-UID-005", "account", svc["id"],
            f"Non-interactive service account with interactive chart views on {w.day(6)} ({first_ev} and 2 "
            f"more; medium). These events have no person and may also raise snooping alerts.")

    m = w.pick(roles=["billing_specialist"], min_tenure_days=400)
    acc = next(x for x in m.accounts if x["system_id"] == "SYS-EHR")
    acc["mfa_remote"] = False
    w.plant("HIPAA-SEC-UID-005", "account", acc["id"],
            f"{m.pid} works remotely (VPN account) and this EHR account has no MFA for remote access (medium).")
    w.traps.append(
        "Rehired people keep their user_id with a second account record (ACC-...-2) for the new episode: "
        "same user, same person. Access in the new episode is not post-termination access."
    )


def snooping(w: World) -> Worker:
    """Planted inappropriate-access patterns; returns the same-surname snooper (for the sanction plant)."""
    rule = "HIPAA-PRV-SNOOP-007"

    x = w.pick(roles=["medical_assistant", "registered_nurse"], est="EST-NYC", min_tenure_days=400)
    own = w.special_patient(state="NY", workforce=x)
    ev = event(w, w.at(9, 12, 40, x.ep.tz), "SYS-EHR", x.user_id, own, "view")
    w.plant(rule, "access_event", ev, f"{x.pid} opened their own chart {own} with a workforce account "
            f"(SELF + NO_RELATIONSHIP: high).")

    rare = names.RARE_SURNAMES[0]
    s = w.hire("EST-CHI", "front_desk", w.day(700), last=rare)
    s.tainted = True
    pt = w.special_patient(state="IL", last=rare)
    ev = event(w, w.at(14, 15, 22, s.ep.tz), "SYS-EHR", s.user_id, pt, "view")
    event(w, w.at(14, 15, 27, s.ep.tz), "SYS-EHR", s.user_id, pt, "view")
    w.plant(rule, "access_event", ev, f"{s.pid} ({rare}) viewed {pt} ({rare}, different address), no care "
            f"relationship (SAME_SURNAME + NO_RELATIONSHIP: high).")

    y = w.pick(roles=["billing_specialist", "medical_assistant", "front_desk"], est="EST-SAN",
               min_tenure_days=400)
    pt = w.special_patient(state="CA", last=names.RARE_SURNAMES[1], address=y.address)
    ev = event(w, w.at(21, 11, 5, y.ep.tz), "SYS-EHR", y.user_id, pt, "view")
    w.plant(rule, "access_event", ev, f"{y.pid} viewed {pt}, who lives at the same address, no care "
            f"relationship (SAME_ADDRESS + NO_RELATIONSHIP: high).")

    t = w.pick(roles=["registered_nurse", "medical_assistant", "billing_specialist", "front_desk"],
               est="EST-NYC", min_tenure_days=300)
    coworker_pt = w.special_patient(state="NY", workforce=t)
    z = w.pick(roles=["front_desk", "billing_specialist"], est="EST-NYC", min_tenure_days=400)
    ev = event(w, w.at(5, 16, 48, z.ep.tz), "SYS-EHR", z.user_id, coworker_pt, "view")
    w.plant(rule, "access_event", ev, f"{z.pid} viewed coworker {t.pid}'s chart {coworker_pt} "
            f"(COWORKER + NO_RELATIONSHIP: high).")

    vip = w.special_patient(state="NY", vip=True, first="Valentina", last=names.RARE_SURNAMES[2])
    v = w.pick(roles=["medical_assistant", "front_desk"], est="EST-NYC", min_tenure_days=400)
    ev = event(w, w.at(11, 13, 2, v.ep.tz), "SYS-EHR", v.user_id, vip, "view")
    w.plant(rule, "access_event", ev, f"{v.pid} viewed VIP patient {vip} with no care relationship "
            f"(VIP + NO_RELATIONSHIP: high).")

    doc = w.pick(roles=["physician"], est="EST-NYC", min_tenure_days=400)
    at = w.at(30, 10, 30, doc.ep.tz)
    w.add(rec("encounter", "ENC-P-0001", patient_id=vip, clinician_person_id=doc.pid, establishment_id="EST-NYC",
              at=iso(at), modality="in_person", clinician_state="NY", patient_state="NY",
              ambient_recording=False))
    w.add(rec("care_link", "CL-P-0002", patient_id=vip, person_id=doc.pid, kind="encounter", date=str(w.day(30))))
    ev = event(w, plus(at, minutes=-5), "SYS-EHR", doc.user_id, vip, "view")
    event(w, plus(at, minutes=20), "SYS-EHR", doc.user_id, vip, "edit")
    w.plant(rule, "access_event", ev, f"Treating physician {doc.pid} opened VIP {vip} during an encounter: "
            f"care link exists, but the VIP flag alone alerts (medium).")

    restricted = w.special_patient(state="CO", restricted=True)
    rn = w.pick(roles=["registered_nurse", "medical_assistant"], est="EST-DEN", min_tenure_days=400)
    ev = event(w, w.at(16, 10, 30, rn.ep.tz), "SYS-EHR", rn.user_id, restricted, "view")
    w.plant(rule, "access_event", ev, f"{rn.pid} viewed restricted record {restricted} with no care "
            f"relationship (VIP/restricted + NO_RELATIONSHIP: high).")

    plain = w.special_patient(state="HI")
    b = w.pick(roles=["billing_specialist"], min_tenure_days=400)
    ev = event(w, w.at(7, 10, 12, b.ep.tz), "SYS-EHR", b.user_id, plain, "view")
    w.plant(rule, "access_event", ev, f"{b.pid} viewed {plain} with no care link or billing item between "
            f"them (NO_RELATIONSHIP only: medium).")
    for n in range(3):
        w.special_patient(state=("NY", "CA", "IL")[n], vip=True)
    for n in range(2):
        w.special_patient(state=("CO", "HI")[n], restricted=True)

    bulk = w.pick(roles=["billing_specialist", "him_specialist"], est="EST-NYC", min_tenure_days=400)
    pts = [w.special_patient(state="NY") for _ in range(40)]
    first_ev = ""
    start = w.at(3, 23, 5, bulk.ep.tz)
    for i, p in enumerate(pts):
        ev = event(w, plus(start, minutes=i), "SYS-EHR", bulk.user_id, p, "export")
        first_ev = first_ev or ev
    w.plant(rule, "access_event", first_ev, f"{bulk.pid} exported 40 charts of 40 distinct patients between "
            f"23:05 and 23:44 local on {w.day(3)} ({first_ev} and the next 39 events): export outside shift, "
            f"> N patients/hour, no relationships (high).")

    pr = w.pick(roles=["medical_assistant", "registered_nurse"], est="EST-DEN", min_tenure_days=400)
    linked = w.special_patient(state="CO")
    w.add(rec("care_link", "CL-P-0003", patient_id=linked, person_id=pr.pid, kind="task", date=str(w.day(5))))
    ev = event(w, w.at(4, 2, 14, pr.ep.tz), "SYS-EHR", pr.user_id, linked, "print")
    w.plant(rule, "access_event", ev, f"{pr.pid} printed a chart at 02:14 local (care link exists): print "
            f"outside shift (BULK/EXPORT only: medium).")

    him = w.pick(roles=["him_specialist", "billing_specialist"], est="EST-NYC", min_tenure_days=400)
    roi = w.special_patient(state="NY")
    workday = previous_working_day(w.day(8))
    w.add(rec("care_link", "CL-P-0004", patient_id=roi, person_id=him.pid, kind="task", date=str(workday)))
    ev = event(w, local(workday, 11, 20, him.ep.tz), "SYS-EHR", him.user_id, roi, "export")
    w.near(rule, "access_event", ev, f"{him.pid} exported one chart at 11:20 local on a working day with a task "
           f"care link (release of information in business hours: clean).")
    return s


def devices(w: World) -> None:
    r = w.rng("devices")

    def device(n: int, kind: str, ephi: bool, status: str | None, checked: dt.datetime | None,
               disposed: dt.datetime | None = None, sanitized: dt.datetime | None = None) -> str:
        did = f"DEV-{n:04d}"
        w.add(rec("device", did, kind=kind, stores_ephi=ephi, encryption_status=status,
                  encryption_checked_at=iso(checked), disposed_at=iso(disposed), sanitized_at=iso(sanitized)))
        return did

    rule = "HIPAA-SEC-ENC-008"
    w.plant(rule, "device", device(1, "laptop", True, "unverified", None), "ePHI laptop, encryption unverified (high).")
    w.plant(rule, "device", device(2, "phone", True, "none", w.at(3, 9)), "ePHI phone with no encryption (high).")
    w.plant(rule, "device", device(3, "laptop", True, "verified", w.at(45, 9)),
            f"Encryption last verified {w.day(45)} (> 30 days: high).")
    w.plant(rule, "device", device(4, "tablet", True, "verified", w.at(70, 9), w.at(60, 15)),
            f"Disposed {w.day(60)} with no sanitization record (high).")
    w.plant(rule, "device", device(5, "laptop", True, "verified", w.at(100, 9), w.at(90, 15), w.at(85, 11)),
            f"Disposed {w.day(90)}, sanitization dated {w.day(85)}, after disposal (high).")
    w.near(rule, "device", device(6, "laptop", True, "verified", w.at(30, 9)),
           f"Encryption verified {w.day(30)}: exactly 30 days (clean).")
    w.near(rule, "device", device(7, "workstation", True, "alternative_documented", w.at(200, 9)),
           "Documented equivalent alternative (pass with note).")
    w.near(rule, "device", device(8, "usb_drive", False, "none", None), "No ePHI stored: out of scope (clean).")
    w.plant(rule, "device", device(9, "laptop", True, "none", w.at(120, 9)),
            "ePHI laptop with no encryption; it is the laptop stolen in incident I-0001 (high).")
    w.near(rule, "device", device(10, "laptop", True, "verified", w.at(30, 9)),
           "Encrypted, verified laptop lost in incident I-0009 (clean; the incident is not a breach).")
    n_bg = max(20, len(w.workers) // 3)
    kinds = ("laptop", "laptop", "laptop", "tablet", "phone", "workstation", "workstation")
    for n in range(11, 11 + n_bg):
        kind = r.choice(kinds)
        ephi = kind != "workstation" or r.random() < 0.3
        if r.random() < 0.08:
            disposed = w.at(r.randint(40, 700), 15)
            device(n, kind, ephi, "verified", plus(disposed, days=-r.randint(5, 25)), disposed,
                   plus(disposed, days=-r.randint(1, 4)))
        else:
            device(n, kind, ephi, "verified" if ephi else r.choice(["verified", "none"]),
                   w.at(r.randint(1, 25), r.randint(8, 17)))


def vendors(w: World) -> None:
    h = local(w.horizon, 9, 0, HQ_TZ)
    req = list(REQUIRED_CLAUSES)

    def vendor(vid: str, name: str, phi: bool, rel: str, ai: bool = False) -> str:
        w.add(rec("vendor", vid, name=name, handles_phi=phi, relationship_type=rel, is_ai=ai))
        return vid

    def baa(vid: str, signed: dt.datetime | None, effective: dt.datetime | None, clauses: list[str],
            terminated: dt.datetime | None = None, returned: dt.datetime | None = None) -> str:
        bid = f"BAA-{vid.removeprefix('V-')}-1"
        w.add(rec("baa", bid, vendor_id=vid, signed_at=iso(signed), effective_at=iso(effective),
                  terminated_at=iso(terminated), clauses=clauses, return_or_destroy_attested_at=iso(returned)))
        return bid

    def flow(vid: str, first: dt.datetime) -> None:
        w.add(rec("phi_flow", f"FLOW-{vid.removeprefix('V-')}-1", vendor_id=vid, first_at=iso(first)))

    rule = "HIPAA-BA-BAA-009"
    v = vendor("V-MERIDIAN", "Meridian Health Software (EHR/PM hosting)", True, "business_associate")
    b = baa(v, plus(h, days=-20), h, req)
    flow(v, h)
    w.near(rule, "baa", b, "BAA effective at the same instant PHI first flowed (clean).")
    v = vendor("V-CLEARBILL", "ClearBill Revenue Cycle Services", True, "business_associate")
    baa(v, plus(h, days=-30), plus(h, days=-30), req)
    flow(v, plus(h, days=5))
    v = vendor("V-SHREDCO", "ShredCo Secure Document Destruction", True, "business_associate")
    baa(v, plus(h, days=10), plus(h, days=10), req)
    flow(v, plus(h, days=30))
    v = vendor("V-CLOUDFAX", "CloudFax Inc.", True, "business_associate")
    baa(v, w.at(152, 10), w.at(150, 0), req)
    flow(v, w.at(200, 9))
    w.plant(rule, "vendor", v, f"PHI first sent {w.day(200)}; BAA effective only {w.day(150)} (critical).")
    v = vendor("V-ANSWERLINE", "AnswerLine After-Hours Answering Service", True, "business_associate")
    flow(v, w.at(400, 18))
    w.plant(rule, "vendor", v, f"PHI flowing since {w.day(400)} with no BAA at all (critical).")
    v = vendor("V-TRANSCRIBE", "TranscribeRight Medical Transcription", True, "business_associate")
    b = baa(v, plus(h, days=40), plus(h, days=40), [c for c in req if c != "SUBCONTRACTORS"])
    flow(v, plus(h, days=45))
    w.plant(rule, "baa", b, "BAA lacks the subcontractor flow-down clause (SUBCONTRACTORS) (medium).")
    v = vendor("V-OLDIT", "Legacy IT Managed Services (former MSP)", True, "business_associate")
    b = baa(v, h, h, req, terminated=w.at(90, 17))
    flow(v, plus(h, days=1))
    w.plant(rule, "baa", b, f"BAA terminated {w.day(90)}; no return-or-destroy attestation within 30 days "
            f"(medium).")
    v = vendor("V-NEWIT", "Harbor IT Managed Services (current MSP)", True, "business_associate")
    b = baa(v, w.at(130, 10), w.at(120, 0), req)
    flow(v, w.at(119, 9))
    v = vendor("V-OLDSCAN", "DocuScan Archive Services (ended)", True, "business_associate")
    b = baa(v, h, h, req, terminated=w.at(150, 17), returned=w.at(120, 17))
    flow(v, plus(h, days=2))
    w.near(rule, "baa", b, f"BAA terminated {w.day(150)}, return/destroy attested {w.day(120)}: day 30 (clean).")
    v = vendor("V-PORTAL", "BrightPath Patient Engagement Portal", True, "business_associate")
    baa(v, None, None, req)
    flow(v, w.at(-14, 9))
    w.plant(rule, "vendor", v, f"Go-live scheduled {w.day(-14)} (future phi_flow) and the BAA is not signed "
            f"(signed_at/effective_at null) (high).")
    v = vendor("V-REFLAB", "Pacific Reference Laboratories", True, "treatment_provider")
    flow(v, plus(h, days=3))
    w.near(rule, "vendor", v, "Treatment provider receiving PHI without a BAA: exempt (clean).")
    v = vendor("V-TELCO", "MetroFiber Internet (ISP)", True, "conduit")
    flow(v, h)
    w.near(rule, "vendor", v, "Mere conduit: no BAA needed (clean).")

    # AI vendors
    rule_ai = "AI-BAA-002"
    full_ai = req + list(AI_CLAUSES)
    v = vendor("V-SCRIBEAI", "Scribewell AI (ambient documentation)", True, "business_associate", True)
    baa(v, w.at(440, 10), w.at(430, 0), full_ai)
    flow(v, w.at(420, 9))
    v = vendor("V-GENAI", "DraftWise GenAI messaging", True, "business_associate", True)
    b = baa(v, w.at(520, 10), w.at(510, 0), req + ["data_retention_deletion"])
    flow(v, w.at(500, 9))
    w.plant(rule_ai, "baa", b, "AI vendor BAA has no prohibition on using PHI to train or improve vendor "
            "models (ai_no_training missing: medium).")
    v = vendor("V-MHBOT", "MindBridge Companion (CBT chatbot)", True, "business_associate", True)
    b = baa(v, w.at(380, 10), w.at(370, 0), req + ["ai_no_training"])
    flow(v, w.at(365, 9))
    w.plant(rule_ai, "baa", b, "AI vendor BAA lacks data-retention/deletion terms (data_retention_deletion "
            "missing: medium).")
    v = vendor("V-PRIORAUTH", "AuthPilot AI (prior authorization)", True, "business_associate", True)
    baa(v, w.at(62, 10), w.at(60, 0), full_ai)
    flow(v, w.at(100, 9))
    w.plant(rule_ai, "vendor", v, f"PHI reached the AI vendor on {w.day(100)}, before its BAA took effect "
            f"{w.day(60)} (critical).")
    w.plant(rule, "vendor", v, f"PHI first sent {w.day(100)}; BAA effective {w.day(60)} (critical).")
    v = vendor("V-CONSUMERAI", "ChatGPT consumer accounts (no enterprise agreement)", True, "other", True)
    flow(v, w.at(75, 13))
    w.plant(rule_ai, "vendor", v, f"Staff pasting PHI into a consumer AI tool since {w.day(75)}; no BAA "
            f"(critical).")
    w.plant(rule, "vendor", v, f"PHI flowing to a non-exempt vendor since {w.day(75)} with no BAA (critical).")
    v = vendor("V-PREDICTA", "Predicta Clinical Models (DSI)", True, "business_associate", True)
    baa(v, w.at(830, 10), w.at(820, 0), full_ai)
    flow(v, w.at(800, 9))
    v = vendor("V-CALC", "MedCalc Cloud (clinical calculators)", True, "business_associate", True)
    baa(v, w.at(920, 10), w.at(910, 0), full_ai)
    flow(v, w.at(900, 9))
    v = vendor("V-AVA", "AvaCare Virtual Assistant", True, "business_associate", True)
    baa(v, w.at(215, 10), w.at(210, 0), full_ai)
    flow(v, w.at(200, 9))


# ---- incidents and requests ---------------------------------------------------------------------


def hhs_annual_due(discovered: dt.date) -> dt.date:
    """C2: 60 days after 31 Dec of the discovery year (1 Mar, or 29 Feb in a leap year)."""
    return dt.date(discovered.year, 12, 31) + dt.timedelta(days=60)


def incidents(w: World) -> None:
    def incident(n: int, est: str, discovered: dt.datetime, **kw: object) -> str:
        iid = f"I-{n:04d}"
        fields: dict[str, object] = dict(establishment_id=est, discovered_at=iso(discovered),
                                         discovered_by="covered_entity", phi_involved=True, unsecured=True,
                                         four_factor_documented=False, bad_contact_count=0)
        fields.update(kw)
        w.add(rec("incident", iid, **fields))
        return iid

    def tz(est: str) -> str:
        return EST_BY_ID[est].tz

    def small_hhs(discovered: dt.datetime) -> str | None:
        due = hhs_annual_due(discovered.date())
        if due < w.anchor:
            return iso(local(due - dt.timedelta(days=12), 11, 0, HQ_TZ))
        return None

    d = w.at(75, 9, 30, tz("EST-SAN"))
    i = incident(1, "EST-SAN", d, determination="breach", determination_at=iso(w.at(65, 15, tz=tz("EST-SAN"))),
                 four_factor_documented=True, affected_total=1623,
                 affected_by_state={"CA": 812, "FL": 310, "WA": 501}, bad_contact_count=14)
    w.plant("HIPAA-BRN-IND-011", "incident", i,
            f"Unencrypted laptop (DEV-0009) stolen; discovered {w.day(75)}, 1,623 affected, no individual "
            f"notice by the day-60 due date {w.day(15)} (critical). 14 bad addresses (>= 10): substitute "
            f"notice required, none recordable.")
    w.plant("HIPAA-BRN-HHS-012", "incident", i,
            f"1,623 affected (>= 500): HHS notice due with individual notice by {w.day(15)}; none (critical).")
    w.plant("HIPAA-BRN-MEDIA-013", "incident", i,
            f"CA 812 and WA 501 residents (> 500 each): no media notice in either state by {w.day(15)} "
            f"(critical, two states; FL 310 needs none).")

    d = w.at(70, 10, tz=tz("EST-CHI"))
    i = incident(2, "EST-CHI", d, determination="breach", determination_at=iso(w.at(62, 15, tz=tz("EST-CHI"))),
                 four_factor_documented=True, affected_total=500, affected_by_state={"TX": 500},
                 individual_notice_at=iso(w.at(30, 10, tz=tz("EST-CHI"))))
    w.plant("HIPAA-BRN-HHS-012", "incident", i,
            f"Exactly 500 affected (all TX): the 500+ route applies, HHS notice due {w.day(10)} with the "
            f"individual notices; not filed (critical).")
    w.near("HIPAA-BRN-MEDIA-013", "incident", i, "Exactly 500 residents of one state: not more than 500, no "
           "media duty (clean).")
    w.near("HIPAA-BRN-IND-011", "incident", i, f"Individuals notified {w.day(30)}, day 40 (clean).")

    i = incident(3, "EST-NYC", w.at(21, 14), discovered_by="business_associate", ba_vendor_id="V-CLEARBILL",
                 ba_is_agent=True, ba_discovered_at=iso(w.at(68, 9)), ba_notified_ce_at=iso(w.at(21, 14)),
                 determination="breach", determination_at=iso(w.at(14, 16)), four_factor_documented=True,
                 affected_total=212, affected_by_state={"NY": 212})
    w.plant("HIPAA-BRN-IND-011", "incident", i,
            f"Billing company acting as agent discovered it {w.day(68)}: that is the practice's discovery, so "
            f"individual notice was due {w.day(8)} (critical; counting from the practice's own discovery "
            f"{w.day(21)} would wrongly give {w.day(-39)}). The BA told the practice 47 days after its "
            f"discovery (> 10-day contract term: medium).")
    hhs_due = hhs_annual_due(w.day(68))
    if hhs_due < w.anchor:
        w.plant("HIPAA-BRN-HHS-012", "incident", i,
                f"212 affected, discovered (through the agent) in {w.day(68).year}: the annual HHS report was due "
                f"{hhs_due} and is missing (critical).")

    i = incident(4, "EST-DEN", w.at(95, 11, tz=tz("EST-DEN")), determination="breach",
                 determination_at=iso(w.at(85, 15, tz=tz("EST-DEN"))), four_factor_documented=True,
                 affected_total=48, affected_by_state={"CO": 48}, le_delay_kind="oral",
                 le_delay_start=iso(w.at(75, 10, tz=tz("EST-DEN"))), le_delay_until=iso(w.at(15, 10, tz=tz("EST-DEN"))),
                 hhs_notice_at=small_hhs(w.at(95, 11, tz=tz("EST-DEN"))))
    w.plant("HIPAA-BRN-IND-011", "incident", i,
            f"Discovered {w.day(95)}; ORAL law-enforcement delay from {w.day(75)} 'until' {w.day(15)} counts "
            f"for at most 30 days, so notice was due {w.day(5)} (critical). [U] tolling reading; taking the "
            f"oral 'until' at face value would wrongly give {w.day(-25)}.")

    d = w.at(80, 10)
    i = incident(5, "EST-NYC", d, determination="breach", determination_at=iso(w.at(70, 15)),
                 four_factor_documented=True, affected_total=31, affected_by_state={"NY": 31},
                 le_delay_kind="written", le_delay_start=iso(w.at(50, 10)), le_delay_until=iso(w.at(-40, 10)),
                 hhs_notice_at=small_hhs(d))
    w.near("HIPAA-BRN-IND-011", "incident", i,
           f"Written law-enforcement delay {w.day(50)} to {w.day(-40)}: the 60-day clock is extended past the "
           f"anchor (clean).")

    i = incident(6, "EST-HNL", w.at(45, 10, tz=tz("EST-HNL")), affected_total=3, affected_by_state={"HI": 3})
    w.plant("HIPAA-BRN-DET-010", "incident", i,
            f"PHI incident discovered {w.day(45)}, no breach determination after 45 days (> 30: high).")
    i = incident(7, "EST-CHI", w.at(50, 10, tz=tz("EST-CHI")), determination="not_breach",
                 determination_at=iso(w.at(40, 10, tz=tz("EST-CHI"))), affected_total=1,
                 affected_by_state={"IL": 1})
    w.plant("HIPAA-BRN-DET-010", "incident", i,
            "Determined 'not a breach' with no four-factor assessment, no exception code and unsecured PHI "
            "(high).")
    i = incident(8, "EST-NYC", w.at(120, 10), determination="not_breach", determination_at=iso(w.at(110, 10)),
                 four_factor_documented=True, affected_total=1, affected_by_state={"NY": 1})
    w.near("HIPAA-BRN-DET-010", "incident", i, "Not a breach, four-factor assessment documented (clean).")
    i = incident(9, "EST-SAN", w.at(35, 10, tz=tz("EST-SAN")), unsecured=False, determination="not_breach",
                 determination_at=iso(w.at(33, 10, tz=tz("EST-SAN"))), affected_total=0)
    w.near("HIPAA-BRN-DET-010", "incident", i, "Encrypted laptop DEV-0010 lost: PHI secured (clean).")
    i = incident(10, "EST-DEN", w.at(150, 10, tz=tz("EST-DEN")), determination="not_breach",
                 determination_at=iso(w.at(145, 10, tz=tz("EST-DEN"))), exception_code="UNINTENTIONAL_WORKFORCE_ACCESS",
                 affected_total=1, affected_by_state={"CO": 1})
    w.near("HIPAA-BRN-DET-010", "incident", i, "Not a breach under an exception (exception_code) (clean).")

    d = local(dt.date(w.Y - 2, 6, 10), 10, 0, HQ_TZ)
    i = incident(11, "EST-NYC", d, determination="breach", determination_at=iso(plus(d, days=9)),
                 four_factor_documented=True, affected_total=37, affected_by_state={"NY": 37},
                 individual_notice_at=iso(plus(d, days=35)))
    w.plant("HIPAA-BRN-HHS-012", "incident", i,
            f"37 affected, discovered {d.date()}: annual HHS log report due {hhs_annual_due(d.date())}; never "
            f"filed (critical).")
    d = local(dt.date(w.Y - 1, 9, 15), 10, 0, HQ_TZ)
    i = incident(12, "EST-NYC", d, determination="breach", determination_at=iso(plus(d, days=7)),
                 four_factor_documented=True, affected_total=12, affected_by_state={"NY": 12},
                 individual_notice_at=iso(plus(d, days=30)), hhs_notice_at=small_hhs(d))
    w.near("HIPAA-BRN-HHS-012", "incident", i,
           f"12 affected in {w.Y - 1}: annual report due {hhs_annual_due(d.date())} "
           + ("and filed before it (clean)." if small_hhs(d) else "(not yet due: clean)."))
    i = incident(13, "EST-CHI", w.at(75, 10, tz=tz("EST-CHI")), discovered_by="business_associate",
                 ba_vendor_id="V-SHREDCO", ba_is_agent=False, ba_discovered_at=iso(w.at(80, 10, tz=tz("EST-CHI"))),
                 ba_notified_ce_at=iso(w.at(75, 10, tz=tz("EST-CHI"))), determination="breach",
                 determination_at=iso(w.at(70, 10, tz=tz("EST-CHI"))), four_factor_documented=True,
                 affected_total=9, affected_by_state={"IL": 9},
                 individual_notice_at=iso(w.at(18, 10, tz=tz("EST-CHI"))),
                 hhs_notice_at=small_hhs(w.at(75, 10, tz=tz("EST-CHI"))))
    w.near("HIPAA-BRN-IND-011", "incident", i,
           f"BA that is NOT an agent found it {w.day(80)} and told the practice {w.day(75)}; the clock starts "
           f"at the practice's discovery, notice {w.day(18)} is on time (clean; from the BA's date it would "
           f"be late).")
    r = w.rng("incidents")
    for n in range(14, 14 + max(4, len(w.workers) // 25)):
        est = r.choice(["EST-NYC", "EST-CHI", "EST-DEN", "EST-SAN", "EST-HNL"])
        days = r.randint(60, 700)
        incident(n, est, w.at(days, 10, tz=tz(est)), determination="not_breach",
                 determination_at=iso(w.at(days - r.randint(2, 20), 15, tz=tz(est))), four_factor_documented=True,
                 affected_total=1, affected_by_state={EST_BY_ID[est].state: 1})


def access_requests(w: World) -> None:
    rule = "HIPAA-PRV-ACC-014"

    def req(n: int, est: str, kind: str, received: dt.datetime, **kw: object) -> str:
        rid = f"AR-{n:04d}"
        pt = w.special_patient(state=EST_BY_ID[est].state)
        w.add(rec("access_request", rid, patient_id=pt, establishment_id=est, kind=kind, received_at=iso(received),
                  **kw))  # type: ignore[arg-type]
        return rid

    tz = EST_BY_ID
    i = req(1, "EST-NYC", "access", w.at(40, 10))
    w.plant(rule, "access_request", i, f"Access request received {w.day(40)}, nothing done by day 30 "
            f"({w.day(10)}) (critical).")
    recv = w.at(50, 10, tz=tz["EST-SAN"].tz)
    i = req(2, "EST-SAN", "access", recv, extension_notice_at=iso(w.at(17, 10, tz=tz["EST-SAN"].tz)))
    w.plant(rule, "access_request", i, f"Received {w.day(50)}; extension notice sent {w.day(17)}, after day 30 "
            f"({w.day(20)}): extension void (high) and the request is overdue since {w.day(20)} (critical).")
    i = req(3, "EST-HNL", "access", local(w.day(31), 20, 0, "Pacific/Honolulu"))
    w.plant(rule, "access_request", i, f"Received {w.day(31)} 20:00 HST (already {w.day(30)} in UTC): the "
            f"local date makes it due {w.day(1)}, overdue (critical; a UTC-date rule would wrongly say due "
            f"today).")
    i = req(4, "EST-CHI", "amendment", w.at(75, 10, tz=tz["EST-CHI"].tz),
            extension_notice_at=iso(w.at(25, 10, tz=tz["EST-CHI"].tz)))
    w.near(rule, "access_request", i, f"Amendment received {w.day(75)}, valid extension on day 50: due "
           f"{w.day(-15)} (clean).")
    i = req(5, "EST-DEN", "accounting", w.at(65, 10, tz=tz["EST-DEN"].tz))
    w.plant(rule, "access_request", i, f"Accounting of disclosures received {w.day(65)}, no response by day 60 "
            f"({w.day(5)}) (critical).")
    i = req(6, "EST-NYC", "access", w.at(45, 10), completed_at=iso(w.at(15, 16)))
    w.near(rule, "access_request", i, f"Received {w.day(45)}, completed {w.day(15)}: day 30 exactly (clean).")
    i = req(7, "EST-NYC", "access", w.at(30, 9))
    w.near(rule, "access_request", i, f"Received {w.day(30)}, still open: due today, not overdue (clean; may "
           f"be due_soon).")
    r = w.rng("requests")
    for n in range(8, 8 + max(8, len(w.workers) // 10)):
        est = r.choice(["EST-NYC", "EST-CHI", "EST-DEN", "EST-SAN", "EST-HNL"])
        days = r.randint(40, 600)
        kind = r.choice(["access", "access", "access", "amendment", "accounting"])
        done = w.at(days - r.randint(1, 25), 15, tz=tz[est].tz)
        if r.random() < 0.1:
            req(n, est, kind, w.at(days, 10, tz=tz[est].tz), denied_at=iso(done))
        else:
            req(n, est, kind, w.at(days, 10, tz=tz[est].tz), completed_at=iso(done))
