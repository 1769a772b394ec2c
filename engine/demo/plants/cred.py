"""Credentialing (catalog section 4): licenses, DEA/CSR, board certification, CAQH, malpractice, CLIA, BLS."""

from __future__ import annotations

import datetime as dt
from typing import Any

from engine.demo.model import rec
from engine.demo.timeutil import add_months, end_of_month, iso, local
from engine.demo.world import EST_BY_ID, Worker, World


def _latest(wk: Worker, kind: str, jurisdiction: str | None = None) -> dict[str, Any]:
    creds = [c for c in wk.credentials
             if c["kind"] == kind and (jurisdiction is None or c["jurisdiction"] == jurisdiction)]
    return max(creds, key=lambda c: c["issued_at"])


def encounter(w: World, n: int, *, patient: str, clinician: Worker, at: dt.datetime, patient_state: str,
              modality: str = "in_person", ambient: bool = False, started: dt.datetime | None = None,
              consent: dt.datetime | None = None) -> str:
    eid = f"ENC-P-{n:04d}"
    est = clinician.est
    w.add(rec("encounter", eid, patient_id=patient, clinician_person_id=clinician.pid, establishment_id=est,
              at=iso(at), modality=modality, clinician_state=EST_BY_ID[est].state, patient_state=patient_state,
              ambient_recording=ambient, recording_started_at=iso(started), recording_consent_at=iso(consent)))
    w.add(rec("care_link", f"CL-{eid}", patient_id=patient, person_id=clinician.pid, kind="encounter",
              date=at.date().isoformat()))
    return eid


def licenses(w: World) -> None:
    rule = "CRED-LIC-001"
    doc = w.pick(roles=["physician"], est="EST-SAN", min_tenure_days=200)
    if "WA" in doc.lic_states:  # keep the story simple: this physician holds no Washington license
        doc.lic_states = tuple(s for s in doc.lic_states if s != "WA")
        doc.credentials = [c for c in doc.credentials
                           if not (c["kind"] == "STATE_LICENSE" and c["jurisdiction"] == "WA")]
    pt = w.special_patient(state="WA")
    eid = encounter(w, 2, patient=pt, clinician=doc, at=w.at(12, 14, tz=doc.ep.tz), patient_state="WA",
                    modality="telehealth")
    w.plant(rule, "encounter", eid, f"Telehealth visit on {w.day(12)} by {doc.pid} (licensed in "
            f"{', '.join(doc.lic_states)}) with a patient located in WA: no WA license (critical).")

    ny = w.pick(roles=["physician"], est="EST-NYC", min_tenure_days=300)
    lic = _latest(ny, "STATE_LICENSE", "NY")
    lic["expires_at"] = iso(w.at(-20, 23, 59, ny.ep.tz))
    lic["renewal_submitted_at"] = None
    w.plant(rule, "credential", lic["id"], f"NY license expires {w.day(-20)} (within 30 days) with no renewal "
            f"submitted (high).")
    il = w.pick(roles=["physician", "nurse_practitioner"], est="EST-CHI", min_tenure_days=300)
    lic = _latest(il, "STATE_LICENSE", "IL")
    lic["expires_at"] = iso(w.at(-20, 23, 59, il.ep.tz))
    lic["renewal_submitted_at"] = iso(w.at(15, 10, tz=il.ep.tz))
    w.near(rule, "credential", lic["id"], f"IL license expires {w.day(-20)}; renewal submitted {w.day(15)} "
           f"(clean).")


def controlled_substances(w: World) -> None:
    doc = w.pick(roles=["physician"], est="EST-DEN", min_tenure_days=300)
    dea = _latest(doc, "DEA")
    dea["expires_at"] = iso(w.at(10, 23, 59, doc.ep.tz))
    dea["status"] = "expired"
    dea["renewal_submitted_at"] = None
    w.plant("CRED-DEA-002", "credential", dea["id"], f"DEA registration of active prescriber {doc.pid} expired "
            f"{w.day(10)} with no renewal filed: no authority to prescribe controlled substances (critical "
            f"for any prescription after that date).")
    np_ = w.pick(roles=["nurse_practitioner", "physician_assistant", "physician"], est="EST-NYC", min_tenure_days=300)
    dea = _latest(np_, "DEA")
    dea["expires_at"] = iso(w.at(5, 23, 59, np_.ep.tz))
    dea["renewal_submitted_at"] = iso(w.at(40, 10, tz=np_.ep.tz))
    w.near("CRED-DEA-002", "credential", dea["id"], f"DEA expired {w.day(5)} but the renewal was filed "
           f"{w.day(40)}, before expiry: may keep operating until DEA acts (clean).")
    il = w.pick(roles=["nurse_practitioner", "physician"], est="EST-CHI", min_tenure_days=300)
    csr = _latest(il, "STATE_CSR", "IL")
    csr["expires_at"] = iso(w.at(15, 23, 59, il.ep.tz))
    csr["status"] = "expired"
    w.plant("CRED-CSR-003", "credential", csr["id"], f"Illinois controlled-substance license of active "
            f"prescriber {il.pid} expired {w.day(15)}, no renewal (critical for any prescription).")


def board(w: World) -> Worker:
    a = w.pick(roles=["physician"], est="EST-NYC", min_tenure_days=300)
    bc = _latest(a, "BOARD_CERT")
    bc["expires_at"] = iso(w.at(40, 23, 59, a.ep.tz))
    bc["status"] = "expired"
    w.plant("CRED-BOARD-004", "credential", bc["id"], f"Board certification expired {w.day(40)} (high).")
    b = w.pick(roles=["physician"], est="EST-SAN", min_tenure_days=100)
    bc = _latest(b, "BOARD_CERT")
    bc["verified_at"] = None
    bc["source"] = "self-reported on application"
    w.plant("CRED-BOARD-004", "credential", bc["id"], "Claimed board certification never primary-source "
            "verified (high).")
    return b


def caqh(w: World) -> None:
    def set_att(wk: Worker, days_ago: int) -> dict[str, Any]:
        c = _latest(wk, "CAQH_ATTESTATION")
        cyc = 180 if c["jurisdiction"] == "IL" else 120
        c["issued_at"] = iso(w.at(days_ago, 10, tz=wk.ep.tz))
        c["expires_at"] = iso(w.at(days_ago - cyc, 23, 59, wk.ep.tz))
        return c

    a = w.pick(roles=["physician", "nurse_practitioner", "physician_assistant"], est="EST-SAN", min_tenure_days=200)
    c = set_att(a, 130)
    w.plant("CRED-CAQH-006", "credential", c["id"], f"CA practitioner last attested {w.day(130)}: 120-day "
            f"re-attestation was due {w.day(10)} (high; profile expired).")
    b = w.pick(roles=["physician", "nurse_practitioner", "licensed_therapist"], est="EST-CHI", min_tenure_days=200)
    c = set_att(b, 150)
    w.near("CRED-CAQH-006", "credential", c["id"], f"Illinois practitioner attested {w.day(150)}: IL allows 180 "
           f"days, due {w.day(-30)} (clean; 120 days would be overdue).")
    d = w.pick(roles=["physician", "nurse_practitioner", "physician_assistant"], est="EST-NYC", min_tenure_days=200)
    c = set_att(d, 110)
    w.plant("CRED-CAQH-006", "credential", c["id"], f"Attested {w.day(110)}: due {w.day(-10)}, within 15 days "
            f"(medium warning).")


def malpractice(w: World) -> None:
    np_ = w.pick(roles=["nurse_practitioner", "physician_assistant"], est="EST-DEN", min_tenure_days=400)
    terms = sorted((c for c in np_.credentials if c["kind"] == "MALPRACTICE"), key=lambda c: c["issued_at"])
    lapse = w.at(25, 0, 1, np_.ep.tz)
    keep = [c for c in terms if dt.datetime.fromisoformat(c["issued_at"]) < lapse]
    for c in terms:
        if c not in keep:
            np_.credentials.remove(c)
    keep[-1]["expires_at"] = iso(lapse)
    keep[-1]["status"] = "expired"
    np_.no_bg_activity = True
    pt = w.special_patient(state="CO")
    eid = encounter(w, 3, patient=pt, clinician=np_, at=w.at(5, 10, tz=np_.ep.tz), patient_state="CO")
    w.plant("CRED-MAL-010", "encounter", eid, f"{np_.pid}'s malpractice policy ended {w.day(25)} and was not "
            f"renewed; this encounter on {w.day(5)} is not covered (critical).")


def clia(w: World) -> None:
    hnl = [x for x in w.workers if x.active and x.role == "physician" and x.est == "EST-HNL"]
    den = [x for x in w.workers if x.active and x.role == "physician" and x.est == "EST-DEN"]
    director = hnl[0] if hnl else w.medical_director
    c = w.cred(director, "CLIA", "HI", "12D0987654", w.at(2 * 365 - 45, 9, tz="Pacific/Honolulu"),
               w.at(-45, 23, 59, "Pacific/Honolulu"), verified=w.at(30, 9, tz="Pacific/Honolulu"),
               source="CMS CLIA certificate (compliance)")
    w.plant("CRED-CLIA-011", "credential", c["id"], f"Honolulu laboratory's CLIA certificate of compliance "
            f"expires {w.day(-45)} (within 90 days) with no renewal (high).")
    lab_dir = den[0] if den else w.medical_director
    c = w.cred(lab_dir, "CLIA", "CO", "06D2345678", w.at(300, 9, tz="America/Denver"),
               w.at(-430, 23, 59, "America/Denver"), verified=w.at(30, 9, tz="America/Denver"),
               source="CMS CLIA certificate of waiver")
    w.near("CRED-CLIA-011", "credential", c["id"], "Denver certificate of waiver valid for another 14 months "
           "(clean).")


def life_support(w: World) -> None:
    ma = w.pick(roles=["medical_assistant", "registered_nurse"], est="EST-CHI", min_tenure_days=800)
    cards = sorted((c for c in ma.credentials if c["kind"] == "BLS"), key=lambda c: c["issued_at"])
    issue = add_months(w.anchor, -25).replace(day=10)
    expires = end_of_month(add_months(issue, 24))
    keep = [c for c in cards if dt.date.fromisoformat(c["issued_at"][:10]) < issue]
    for c in cards:
        if c not in keep:
            ma.credentials.remove(c)
    tz = ma.ep.tz
    card = w.cred(ma, "BLS", None, "BLS-PLANTED-0001", local(issue, 12, 0, tz), local(expires, 23, 59, tz),
                  rule="end_of_month", source="AHA eCard", verified=local(issue + dt.timedelta(days=3), 12, 0, tz))
    w.plant("CRED-BLS-012", "credential", card["id"], f"BLS card issued {issue} lapsed at the end of {expires:%B %Y}; "
            f"{ma.pid} is still working in a BLS-required role (high).")
    rn = w.pick(roles=["registered_nurse", "medical_assistant"], est="EST-DEN", min_tenure_days=800)
    cards = sorted((c for c in rn.credentials if c["kind"] == "BLS"), key=lambda c: c["issued_at"])
    issue = add_months(w.anchor, -24).replace(day=3)
    expires = end_of_month(add_months(issue, 24))
    for c in cards:
        if dt.date.fromisoformat(c["issued_at"][:10]) >= issue:
            rn.credentials.remove(c)
    tz = rn.ep.tz
    card = w.cred(rn, "BLS", None, "BLS-PLANTED-0002", local(issue, 12, 0, tz), local(expires, 23, 59, tz),
                  rule="end_of_month", source="AHA eCard", verified=local(issue + dt.timedelta(days=3), 12, 0, tz))
    w.near("CRED-BLS-012", "credential", card["id"], f"Issued {issue}: valid through {expires} under the "
           f"end-of-month rule (an exact issue + 24 months would lapse {add_months(issue, 24)}); not expired, "
           f"at most the 30-day warning.")


def recredentialing(w: World, unverified_board: Worker) -> None:
    """RECRED-007, PSV-008 and NPDB-005 through the evidence a credentialing decision leaves behind."""
    a = w.pick(roles=["physician", "nurse_practitioner"], est="EST-NYC", min_tenure_days=1200)
    old = add_months(w.anchor, -37)
    for c in a.credentials:
        if c["kind"] == "STATE_LICENSE":
            c["verified_at"] = iso(local(old, 10, 0, a.ep.tz))
    w.plant("CRED-NCQA-RECRED-007", "person", a.pid,
            f"State license(s) last primary-source verified {old}: no recredentialing within 36 months "
            f"(due {add_months(old, 36)}) (high).")
    w.plant("CRED-MON-009", "person", a.pid,
            f"Licensing boards ({', '.join(a.lic_states)}) not checked since {old}: the monthly license "
            f"monitoring lapsed (high).")

    limit_from = dt.date(2025, 7, 1)
    for est, days, near in (("EST-SAN", 150, False), ("EST-CHI", 160, True)):
        start = w.day(days)
        limit = 120 if start >= limit_from else 180
        age = limit if near else limit + 30
        b = w.hire(est, "physician", start)
        b.tainted = True
        board_cert = _latest(b, "BOARD_CERT")
        board_cert["verified_at"] = iso(local(start - dt.timedelta(days=age), 11, 0, b.ep.tz))
        if near:
            w.near("CRED-NCQA-PSV-008", "person", b.pid,
                   f"Credentialed at hire {start}; board certification verified {age} days before: exactly the "
                   f"{limit}-day limit (clean).")
        else:
            w.plant("CRED-NCQA-PSV-008", "person", b.pid,
                    f"Credentialed at hire {start}; board certification verified {age} days before that "
                    f"decision (> {limit} days: high).")
    if add_months(unverified_board.ep.start.date(), 36) >= w.anchor:
        w.plant("CRED-NCQA-PSV-008", "person", unverified_board.pid,
                f"Credentialed at hire {unverified_board.ep.start.date()} with a claimed board certification "
                f"that was never primary-source verified (high).")

    n = w.pick(roles=["physician"], est="EST-NYC", min_tenure_days=1300)
    lo, hi = add_months(w.anchor, -37), add_months(w.anchor, -25)
    terms = [c for c in n.credentials if c["kind"] == "MALPRACTICE"
             and lo <= dt.date.fromisoformat(c["verified_at"][:10]) <= hi]
    term = terms[-1]
    term["source"] = "certificate of insurance (carrier); claims history via NPDB query"
    queried = dt.date.fromisoformat(term["verified_at"][:10])
    w.plant("CRED-NPDB-005", "person", n.pid,
            f"Last NPDB query {queried} ({term['id']}); the next was due {add_months(queried, 24)} "
            f"(24-month interval) (high).")
