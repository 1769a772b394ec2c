"""AI-use policy (catalog section 5): inventory, BAAs, Section 1557, state laws, scribes, human review."""

from __future__ import annotations

import datetime as dt

from engine.demo.model import rec
from engine.demo.plants.cred import encounter
from engine.demo.timeutil import add_months, iso, plus
from engine.demo.world import World

HIGH_RISK = ("PCDST", "PREDICTIVE_DSI", "MH_CHATBOT")  # the contract has no risk tier

# The dates from which the state/federal provisions behind each rule are in force (catalog section 5).
IN_FORCE: dict[str, tuple[dt.date, str]] = {
    "AI-1557-ID-003": (dt.date(2025, 5, 1), "45 CFR 92.210(b) compliance date 1 May 2025"),
    "AI-1557-MIT-004": (dt.date(2025, 5, 31), "45 CFR 92.210(c) from 1 May 2025, plus the 30-day mitigation window"),
    "AI-HTI1-DSI-005": (dt.date(2025, 1, 1), "170.315(b)(11) part of CEHRT from 1 Jan 2025"),
    "AI-CA-3030-006": (dt.date(2025, 1, 1), "Cal. Health & Safety Code 1339.75 (AB 3030) from 1 Jan 2025"),
    "AI-CA-489-007": (dt.date(2026, 1, 1), "Cal. Bus. & Prof. Code 4999.8-4999.9 (AB 489) from 1 Jan 2026"),
    "AI-TX-008": (dt.date(2025, 9, 1), "Tex. Health & Safety Code 183.005 (SB 1188) from 1 Sept 2025"),
    "AI-CO-009": (dt.date(2026, 6, 30), "Colorado AI Act (SB 24-205) effective 30 June 2026"),
    "AI-STATE-MH-013": (dt.date(2025, 8, 4), "Illinois Public Act 104-0054 (HB 1806) from 4 Aug 2025"),
}


def _plant(w: World, rule: str, subject_type: str, subject_id: str, note: str) -> None:
    since = IN_FORCE.get(rule)
    if since is not None and w.anchor - dt.timedelta(days=14) < since[0]:
        w.unplantable.setdefault(rule, f"Not in force at the anchor {w.anchor}: {since[1]}. The records are "
                                       f"generated anyway ({subject_type} {subject_id}).")
        return
    w.plant(rule, subject_type, subject_id, note)


def tools(w: World) -> None:
    """The AI inventory (runs before activity: background outputs start at approval)."""
    owner = w.medical_director.pid

    def tool(tid: str, vendor: str, name: str, category: str, phi: bool, protected: bool | None,
             approved: dt.datetime | None, perf: dt.datetime | None, owner_pid: str | None = owner) -> str:
        w.add(rec("ai_tool", tid, vendor_id=vendor, name=name, category=category, uses_phi=phi,
                  uses_protected_characteristics=protected, approved_at=iso(approved), owner_person_id=owner_pid,
                  last_perf_review_at=iso(perf)))
        return tid

    tool("AIT-SCRIBE", "V-SCRIBEAI", "Scribewell ambient clinical documentation", "AMBIENT_SCRIBE", True, False,
         w.at(420, 10), w.at(100, 10))
    tool("AIT-MSG", "V-GENAI", "DraftWise portal message drafting", "GENAI_PATIENT_COMMS", True, False,
         w.at(500, 10), w.at(364, 10))
    w.near("AI-MON-012", "ai_tool", "AIT-MSG", f"Performance review {w.day(364)}: inside the 365-day interval "
           f"(clean).")
    t = tool("AIT-EGFR", "V-CALC", "eGFR calculator (CKD-EPI 2009 with race coefficient)", "PCDST", True, True,
             w.at(900, 10), w.at(150, 10))
    w.near("AI-1557-MIT-004", "ai_tool", t, "Uses race, but a subgroup performance review is on record "
           f"({w.day(150)}): mitigation evidence under the ai_use ruleset's convention (clean).")
    t = tool("AIT-SPIRO", "V-CALC", "Spirometry interpretation (race-specific reference equations)", "PCDST", True,
             True, w.at(150, 10), None)
    _plant(w, "AI-1557-MIT-004", "ai_tool", t, "Decision-support tool whose inputs include race, live since "
           f"{w.day(150)} with no approved mitigation (no subgroup performance review, override or staff "
           "guidance on record) (high).")
    t = tool("AIT-ASCVD", "V-CALC", "ASCVD 10-year risk calculator (Pooled Cohort Equations)", "PCDST", True, None,
             w.at(300, 10), w.at(120, 10))
    _plant(w, "AI-1557-ID-003", "ai_tool", t, "Patient care decision support tool in use with no documented "
           "review of its inputs for protected characteristics (uses_protected_characteristics unknown) (high).")
    t = tool("AIT-SEPSIS", "V-PREDICTA", "Sepsis early-warning score (infusion)", "PREDICTIVE_DSI", True, False,
             w.at(250, 10), None)
    w.plant("AI-MON-012", "ai_tool", t, "High-risk predictive DSI live for 250 days with no performance or bias "
            "review at all (> 180 days: high).")
    t = tool("AIT-READMIT", "V-PREDICTA", "30-day readmission risk model", "PREDICTIVE_DSI", True, False,
             w.at(800, 10), w.at(400, 10))
    w.plant("AI-MON-012", "ai_tool", t, f"Last performance/bias review {w.day(400)} (> 365 days: medium; > 180 "
            f"for a high-risk category).")
    t = tool("AIT-DETERIORATION", "V-PREDICTA", "Clinical deterioration index", "PREDICTIVE_DSI", True, False,
             w.at(20, 10, tz="America/Denver"), None)
    _plant(w, "AI-HTI1-DSI-005", "ai_tool", t, f"Predictive DSI used at Denver from {w.day(40)}, before informatics "
           f"reviewed its source attributes (approval {w.day(20)}) (medium).")
    w.plant("AI-GOV-INV-001", "ai_tool", t, f"Used from {w.day(40)}, approved only {w.day(20)} (high).")
    tool("AIT-PRIORAUTH", "V-PRIORAUTH", "AuthPilot prior-authorization letter drafting", "ADMIN", True, False,
         w.at(60, 10), w.at(30, 10))
    tool("AIT-MHBOT", "V-MHBOT", "MindBridge between-visit CBT companion", "MH_CHATBOT", True, False,
         w.at(365, 10), w.at(90, 10))
    t = tool("AIT-AVA", "V-AVA", "Dr. Ava - your virtual care assistant", "GENAI_PATIENT_COMMS", True, False,
             w.at(200, 10), w.at(60, 10))
    _plant(w, "AI-CA-489-007", "ai_tool", t, "Patient-facing AI persona named 'Dr. Ava' used in California: a "
           "licensed title with no licensed human providing the service (high).")
    tool("AIT-CHATGPT", "V-CONSUMERAI", "ChatGPT (personal accounts, not enterprise)", "ADMIN", True, None, None,
         None, None)
    # Colorado: every high-risk tool needs an impact assessment before use and yearly (evidenced here by a
    # performance/bias review in the last 12 months), from the Act's effective date.
    for t_rec in w.records["ai_tool"]:
        if t_rec["category"] not in HIGH_RISK:
            continue
        review = t_rec["last_perf_review_at"]
        if review is None or add_months(dt.date.fromisoformat(review[:10]), 12) < w.anchor:
            _plant(w, "AI-CO-009", "ai_tool", t_rec["id"],
                   f"High-risk {t_rec['category']} tool used in care decisions for Colorado patients; no impact "
                   f"assessment on record (last performance/bias review: {review[:10] if review else 'none'}) "
                   "(high, advisory).")


def outputs(w: World) -> None:
    def out(tool: str, kind: str, est: str, clinical: bool, created: dt.datetime, *,
            reviewer: str | None = None, reviewed: dt.datetime | None = None, sent: dt.datetime | None = None,
            disclaimer: bool = False) -> str:
        oid = f"AIO-P-{len(w.records.get('ai_output', [])) + 1:04d}"
        w.add(rec("ai_output", oid, tool_id=tool, kind=kind, establishment_id=est, clinical_content=clinical,
                  created_at=iso(created), reviewed_by_person_id=reviewer, reviewed_at=iso(reviewed),
                  sent_at=iso(sent), disclaimer_present=disclaimer))
        return oid

    san = [x for x in w.workers if x.active and x.est == "EST-SAN" and x.role == "physician" and not x.no_bg_activity]
    doc = san[0]
    tz_sd = doc.ep.tz

    c = w.at(6, 10, tz=tz_sd)
    o = out("AIT-MSG", "PATIENT_MESSAGE", "EST-SAN", True, c, sent=plus(c, minutes=20))
    _plant(w, "AI-CA-3030-006", "ai_output", o, "GenAI message about clinical information sent to a California "
           "patient without the AI disclaimer and never reviewed by a clinician (high).")
    c = w.at(9, 9, tz=tz_sd)
    o = out("AIT-MSG", "PATIENT_MESSAGE", "EST-SAN", True, c, sent=plus(c, minutes=15), reviewer=doc.pid,
            reviewed=plus(c, hours=2))
    _plant(w, "AI-CA-3030-006", "ai_output", o, "Reviewed by a physician only after it was sent: not exempt, "
           "and no disclaimer (high).")
    c = w.at(10, 9, tz=tz_sd)
    o = out("AIT-MSG", "PATIENT_MESSAGE", "EST-SAN", True, c, reviewer=doc.pid, reviewed=plus(c, minutes=30),
            sent=plus(c, minutes=40))
    w.near("AI-CA-3030-006", "ai_output", o, "Reviewed by a licensed physician before sending: exempt, no "
           "disclaimer needed (clean).")
    c = w.at(10, 11, tz=tz_sd)
    o = out("AIT-MSG", "PATIENT_MESSAGE", "EST-SAN", False, c, sent=plus(c, minutes=5))
    w.near("AI-CA-3030-006", "ai_output", o, "Administrative content (appointment reminder): out of scope "
           "(clean).")
    for days in (20, 13):
        out("AIT-AVA", "PATIENT_MESSAGE", "EST-SAN", False, w.at(days, 15, tz=tz_sd),
            sent=w.at(days, 15, 1, tz=tz_sd), disclaimer=True)
    for days in (22, 15, 8):
        out("AIT-ASCVD", "RECOMMENDATION", "EST-SAN", True, w.at(days, 11, tz=tz_sd), reviewer=doc.pid,
            reviewed=w.at(days, 11, 5, tz=tz_sd))

    for days in (140, 60, 12):
        out("AIT-SPIRO", "RECOMMENDATION", "EST-SAN", True, w.at(days, 14, tz=tz_sd), reviewer=doc.pid,
            reviewed=w.at(days, 14, 6, tz=tz_sd))
    den = [x for x in w.workers if x.active and x.est == "EST-DEN" and x.role == "physician"]
    for days in (40, 33, 26, 12, 5):
        c = w.at(days, 9, tz="America/Denver")
        out("AIT-DETERIORATION", "RECOMMENDATION", "EST-DEN", True, c, reviewer=den[0].pid,
            reviewed=plus(c, minutes=10))

    nyc = [x for x in w.workers if x.active and x.est == "EST-NYC" and x.role == "physician" and x.scribe]
    nyc_doc = nyc[0] if nyc else w.medical_director
    c = w.at(5, 15)
    o = out("AIT-SCRIBE", "NOTE_DRAFT", "EST-NYC", True, c)
    w.plant("AI-HITL-011", "ai_output", o, f"AI-drafted note created {w.day(5)} 15:00 and still unreviewed/"
            f"unsigned (> 72 h: medium).")
    c = w.at(9, 16)
    o = out("AIT-SCRIBE", "NOTE_DRAFT", "EST-NYC", True, c, reviewer=nyc_doc.pid, reviewed=plus(c, hours=71))
    w.near("AI-HITL-011", "ai_output", o, "AI note reviewed and signed 71 h after drafting (clean).")

    c = w.at(8, 21, tz="America/Chicago")
    o = out("AIT-MHBOT", "PATIENT_MESSAGE", "EST-CHI", True, c, sent=c, disclaimer=True)
    _plant(w, "AI-STATE-MH-013", "ai_output", o, "Mental-health chatbot held a therapeutic conversation with an "
           "Illinois patient of the Chicago behavioral health center (critical).")

    first = None
    for days, hour in ((12, 11), (4, 15)):
        oid = out("AIT-CHATGPT", "RECOMMENDATION", "EST-NYC", False, w.at(days, hour))
        first = first or oid
    w.plant("AI-GOV-INV-001", "ai_tool", "AIT-CHATGPT", f"Consumer AI tool in use ({first} and one more output) "
            f"with no approval, owner or inventory review (high).")
    first = None
    for days in (100, 95, 90):
        oid = out("AIT-PRIORAUTH", "RECOMMENDATION", "EST-DEN", False, w.at(days, 14, tz="America/Denver"))
        first = first or oid
    w.plant("AI-GOV-INV-001", "ai_tool", "AIT-PRIORAUTH", f"Used from {w.day(100)} ({first} and 2 more), "
            f"approved only {w.day(60)} (high).")


def scribe_encounters(w: World) -> None:
    rule = "AI-SCRIBE-010"
    picks = {est: w.pick(roles=["physician"], est=est, min_tenure_days=200)
             for est in ("EST-SAN", "EST-CHI", "EST-NYC", "EST-DEN")}

    d = picks["EST-SAN"]
    at = w.at(4, 9, 30, d.ep.tz)
    pt = w.special_patient(state="CA")
    e = encounter(w, 4, patient=pt, clinician=d, at=at, patient_state="CA", ambient=True,
                  started=plus(at, minutes=2), consent=None)
    w.plant(rule, "encounter", e, "Ambient AI scribe recorded a California (all-party consent) visit with no "
            "consent on record (critical).")
    d = picks["EST-CHI"]
    at = w.at(6, 14, 0, d.ep.tz)
    pt = w.special_patient(state="IL")
    e = encounter(w, 5, patient=pt, clinician=d, at=at, patient_state="IL", ambient=True,
                  started=plus(at, minutes=1), consent=plus(at, minutes=6))
    w.plant(rule, "encounter", e, "Consent recorded 5 minutes after the scribe started recording (Illinois, "
            "all-party state) (critical).")
    d = picks["EST-NYC"]
    at = w.at(7, 11, 0, d.ep.tz)
    pt = w.special_patient(state="NY")
    e = encounter(w, 6, patient=pt, clinician=d, at=at, patient_state="NY", ambient=True,
                  started=plus(at, minutes=2), consent=plus(at, minutes=1))
    w.near(rule, "encounter", e, "Consent one minute before recording started (clean).")

    tx = [x for x in w.workers if x.active and x.role == "physician" and "TX" in x.lic_states and not x.tainted]
    if tx:
        doc = tx[0]
    else:
        doc = picks["EST-DEN"]
        st = "TX"
        w.cred(doc, "STATE_LICENSE", st, f"TX-MD-{700000 + doc.idx}", w.at(900, 9, tz=doc.ep.tz),
               w.at(-400, 23, 59, doc.ep.tz), verified=w.at(10, 9, tz=doc.ep.tz), source="state board (primary source)")
        doc.lic_states = doc.lic_states + (st,)
    at = w.at(3, 13, 0, doc.ep.tz)
    pt = w.special_patient(state="TX")
    e = encounter(w, 7, patient=pt, clinician=doc, at=at, patient_state="TX", modality="telehealth", ambient=True,
                  started=plus(at, minutes=2), consent=None)
    _plant(w, "AI-TX-008", "encounter", e, "First visit of a Texas patient (telehealth) documented by the ambient "
           "AI scribe; no AI-use disclosure (or scribe consent, which carries it) on or before the service date "
           "(high).")
    w.plant(rule, "encounter", e, "Ambient AI scribe recorded a telehealth visit with a Texas patient with no "
            "consent on record (critical under always_require_scribe_consent).")
