"""The planted problems are real and the background is clean.

Each check below is a small, independent reading of one catalog rule (not the engine's rules):
run over the generated practice, it must flag exactly the planted subjects of that rule (or, for
rules whose subjects come in groups, the planted persons), never a background record, and none of
the near-miss cases. This keeps `planted.json` an honest answer key for the rule authors.
"""

from __future__ import annotations

import bisect
import datetime as dt
from collections import defaultdict
from typing import Any
from zoneinfo import ZoneInfo

from engine.demo.timeutil import add_months, add_working_days, is_working_day
from tests.unit.demo.support import Practice

Rec = dict[str, Any]


def ts(value: str | None) -> dt.datetime | None:
    return dt.datetime.fromisoformat(value) if value else None


def local_date(instant: dt.datetime, tz: str) -> dt.date:
    return instant.astimezone(ZoneInfo(tz)).date()


class Facts:
    """Indexes over one generated practice, with 'as of' applied to the things the checks read."""

    def __init__(self, p: Practice) -> None:
        self.p = p
        self.now = p.as_of
        self.today = p.anchor
        self.est_tz = {e["id"]: e["tz"] for e in p.records["establishment"]}
        self.est_state = {e["id"]: e["state"] for e in p.records["establishment"]}
        self.persons = p.ids("person")
        self.patients = p.ids("patient")
        self.episodes: dict[str, list[Rec]] = defaultdict(list)
        for e in p.records["employment_episode"]:
            self.episodes[e["person_id"]].append(e)
        for eps in self.episodes.values():
            eps.sort(key=lambda e: e["start_at"])
        self.accounts: dict[tuple[str, str], list[Rec]] = defaultdict(list)
        self.accounts_of: dict[str, list[Rec]] = defaultdict(list)
        for a in p.records["account"]:
            self.accounts[(a["system_id"], a["user_id"])].append(a)
            if a["person_id"]:
                self.accounts_of[a["person_id"]].append(a)
        self.trainings: dict[str, list[Rec]] = defaultdict(list)
        for t in p.records["training_record"]:
            self.trainings[t["person_id"]].append(t)
        self.creds: dict[str, list[Rec]] = defaultdict(list)
        for c in p.records["credential"]:
            self.creds[c["person_id"]].append(c)
        self.links: dict[tuple[str, str], list[dt.date]] = defaultdict(list)
        for cl in p.records["care_link"]:
            if cl["person_id"]:
                self.links[(cl["patient_id"], cl["person_id"])].append(dt.date.fromisoformat(cl["date"]))
        for v in self.links.values():
            v.sort()
        self.events_by_user: dict[tuple[str, str], list[Rec]] = defaultdict(list)
        for ev in p.records["access_event"]:
            self.events_by_user[(ev["system_id"], ev["user_id"])].append(ev)

    def account_at(self, system: str, user: str, at: dt.datetime) -> Rec | None:
        best = None
        for a in self.accounts.get((system, user), []):
            enabled, disabled = ts(a["enabled_at"]), ts(a["disabled_at"])
            if enabled and enabled <= at and (disabled is None or at < disabled):
                return a
            if enabled and enabled <= at and (best is None or enabled > ts(best["enabled_at"])):  # type: ignore[operator]
                best = a
        return best

    def episode_at(self, person: str, at: dt.datetime) -> Rec | None:
        last = None
        for e in self.episodes.get(person, []):
            if ts(e["start_at"]) <= at:  # type: ignore[operator]
                last = e
        return last

    def active_episodes(self) -> list[Rec]:
        return [e for eps in self.episodes.values() for e in eps
                if ts(e["start_at"]) <= self.now and (e["end_at"] is None or ts(e["end_at"]) > self.now)]  # type: ignore[operator]


def planted(p: Practice, rule: str) -> set[tuple[str, str]]:
    return p.planted_for(rule)


def near(p: Practice, rule: str) -> set[tuple[str, str]]:
    return {(e["subject"]["type"], e["subject"]["id"]) for e in p.manifest["near_misses"] if e["rule_id"] == rule}


def check(p: Practice, rule: str, flagged: set[tuple[str, str]], *, types: set[str] | None = None) -> None:
    expected = {s for s in planted(p, rule) if types is None or s[0] in types}
    extra, missed = sorted(flagged - expected)[:10], sorted(expected - flagged)
    assert flagged == expected, f"{rule}: unexpected {extra}, missed {missed}"
    assert not flagged & near(p, rule)


# ---- HIPAA -------------------------------------------------------------------------------------


def snooping_flags(f: Facts, ev: Rec) -> set[str]:
    at = ts(ev["at"])
    assert at is not None
    acct = f.account_at(ev["system_id"], ev["user_id"], at)
    person_id = acct["person_id"] if acct else None
    pt = f.patients[ev["patient_id"]]
    flags = set()
    if person_id is None:
        return {"NO_PERSON"}
    person = f.persons[person_id]
    if pt["is_workforce_person_id"] == person_id:
        flags.add("SELF")
    elif pt["is_workforce_person_id"]:
        flags.add("COWORKER")
    if person["last_name"].lower() == pt["last_name"].lower():
        flags.add("SAME_SURNAME")
    if person["address"] == pt["address"]:
        flags.add("SAME_ADDRESS")
    if pt["vip"] or pt["record_restricted"]:
        flags.add("VIP")
    ep = f.episode_at(person_id, at)
    tz = f.est_tz[ep["establishment_id"]] if ep else "America/New_York"
    day = local_date(at, tz)
    dates = f.links.get((ev["patient_id"], person_id), [])
    i = bisect.bisect_left(dates, day - dt.timedelta(days=30))
    if not (i < len(dates) and dates[i] <= day + dt.timedelta(days=7)):
        flags.add("NO_RELATIONSHIP")
    hour = at.astimezone(ZoneInfo(tz)).hour
    if ev["action"] in ("print", "export") and (not 7 <= hour < 19 or not is_working_day(day)):
        flags.add("AFTER_HOURS")
    return flags


def test_snooping_only_on_planted_events(practice: Practice) -> None:
    f = Facts(practice)
    flagged = {ev["id"] for ev in practice.records["access_event"] if snooping_flags(f, ev)}
    background = sorted(i for i in flagged if not i.startswith("AE-P-"))
    assert not background, background[:10]
    subjects = {i for t, i in planted(practice, "HIPAA-PRV-SNOOP-007")}
    assert subjects <= flagged
    assert not {i for t, i in near(practice, "HIPAA-PRV-SNOOP-007")} & flagged
    per_hour: dict[tuple[str, str], set[str]] = defaultdict(set)
    for ev in practice.records["access_event"]:
        if not ev["id"].startswith("AE-P-"):
            per_hour[(ev["user_id"], ev["at"][:13])].add(ev["patient_id"])
    assert max(len(v) for v in per_hour.values()) < 20


def test_hipaa_training(practice: Practice) -> None:
    f = Facts(practice)
    flagged = set()
    for e in f.active_episodes():
        if not e["phi_access_required"]:
            continue
        start = ts(e["start_at"])
        assert start is not None
        done = sorted(ts(t["completed_at"]) for t in f.trainings[e["person_id"]]  # type: ignore[type-var]
                      if t["course"] in ("HIPAA_PRIVACY", "HIPAA_SECURITY") and ts(t["completed_at"]) >= start)
        tz = f.est_tz[e["establishment_id"]]
        if not done:
            if (f.today - local_date(start, tz)).days > 30:
                flagged.add(("employment_episode", e["id"]))
            continue
        if add_months(local_date(done[-1], tz), 12) < f.today:
            flagged.add(("employment_episode", e["id"]))
        user = f.persons[e["person_id"]]
        acct = [a for a in f.accounts_of[user["id"]] if a["system_id"] == "SYS-EHR"]
        if acct:
            evs = [ev for ev in f.events_by_user[("SYS-EHR", acct[0]["user_id"])]
                   if ts(ev["at"]) >= start]  # type: ignore[operator]
            if evs:
                first = min(evs, key=lambda ev: ev["at"])
                if ts(first["at"]) < done[0]:  # type: ignore[operator]
                    flagged.add(("access_event", first["id"]))
    check(practice, "HIPAA-ADM-TRN-002", flagged)


def test_termination(practice: Practice) -> None:
    f = Facts(practice)
    late_persons, events = set(), set()
    for person, eps in f.episodes.items():
        for k, e in enumerate(eps):
            end = ts(e["end_at"])
            if end is None or end > f.now:
                continue
            nxt = ts(eps[k + 1]["start_at"]) if k + 1 < len(eps) else None
            for a in f.accounts_of[person]:
                enabled, disabled = ts(a["enabled_at"]), ts(a["disabled_at"])
                if enabled is None or enabled >= end or (disabled is not None and disabled <= ts(e["start_at"])):  # type: ignore[operator]
                    continue
                if disabled is None:
                    if (f.now - end).total_seconds() > 24 * 3600:
                        late_persons.add(person)
                elif (disabled - end).total_seconds() > 24 * 3600:
                    late_persons.add(person)
                for ev in f.events_by_user[(a["system_id"], a["user_id"])]:
                    at = ts(ev["at"])
                    assert at is not None
                    if at > end and (nxt is None or at < nxt):
                        owner = f.account_at(ev["system_id"], ev["user_id"], at)
                        if owner and owner["person_id"] == person:
                            events.add(("access_event", ev["id"]))
    planted_persons = set()
    for t, i in planted(practice, "HIPAA-SEC-TERM-004"):
        if t == "account":
            planted_persons.add(practice.ids("account")[i]["person_id"])
    near_persons = {practice.ids("account")[i]["person_id"] for t, i in near(practice, "HIPAA-SEC-TERM-004")}
    ev_persons = {f.account_at("SYS-EHR", practice.ids("access_event")[i]["user_id"],
                               ts(practice.ids("access_event")[i]["at"]))["person_id"]  # type: ignore[arg-type,index]
                  for _, i in events}
    assert late_persons == planted_persons | ev_persons
    assert not late_persons & near_persons
    planted_events = {s for s in planted(practice, "HIPAA-SEC-TERM-004") if s[0] == "access_event"}
    assert planted_events <= events and all(i.startswith("AE-P-") for _, i in events)


def test_unique_ids(practice: Practice) -> None:
    flagged = set()
    owners: dict[tuple[str, str], set[str]] = defaultdict(set)
    for a in practice.records["account"]:
        owners[(a["system_id"], a["user_id"])].add(a["person_id"])
    events = {(e["system_id"], e["user_id"]) for e in practice.records["access_event"]}
    for a in practice.records["account"]:
        if a["interactive"] and (a["generic"] or a["person_id"] is None):
            flagged.add(("account", a["id"]))
        if len(owners[(a["system_id"], a["user_id"])]) > 1 and not a["id"].endswith("-1"):
            flagged.add(("account", a["id"]))
        if not a["interactive"] and (a["system_id"], a["user_id"]) in events:
            flagged.add(("account", a["id"]))
        if a["interactive"] and a["mfa_remote"] is False and a["person_id"]:
            flagged.add(("account", a["id"]))
    check(practice, "HIPAA-SEC-UID-005", flagged)


def test_audit_controls(practice: Practice) -> None:
    f = Facts(practice)
    flagged = set()
    for s in practice.records["system"]:
        if not s["stores_ephi"]:
            continue
        review = ts(s["last_audit_review_at"])
        if not s["audit_logging_enabled"]:
            flagged.add(("system", s["id"]))
        elif review is None or (f.today - local_date(review, "America/New_York")).days > 30:
            flagged.add(("system", s["id"]))
        if (s["log_retention_days"] or 0) < 2190 and s["audit_logging_enabled"]:
            flagged.add(("system", s["id"]))
    check(practice, "HIPAA-SEC-AUD-006", flagged)


def test_devices(practice: Practice) -> None:
    f = Facts(practice)
    flagged = set()
    for d in practice.records["device"]:
        if not d["stores_ephi"]:
            continue
        disposed, sanitized = ts(d["disposed_at"]), ts(d["sanitized_at"])
        if disposed is not None:
            if sanitized is None or sanitized > disposed:
                flagged.add(("device", d["id"]))
            continue
        checked = ts(d["encryption_checked_at"])
        if d["encryption_status"] == "alternative_documented":
            continue
        if d["encryption_status"] != "verified" or checked is None or (f.now - checked).days > 30:
            flagged.add(("device", d["id"]))
    check(practice, "HIPAA-SEC-ENC-008", flagged)


def test_business_associates(practice: Practice) -> None:
    f = Facts(practice)
    baas: dict[str, list[Rec]] = defaultdict(list)
    for b in practice.records["baa"]:
        baas[b["vendor_id"]].append(b)
    flows: dict[str, list[dt.datetime]] = defaultdict(list)
    for fl in practice.records["phi_flow"]:
        flows[fl["vendor_id"]].append(ts(fl["first_at"]))  # type: ignore[arg-type]
    required = set(practice.manifest["vocabularies"]["baa_clauses"][:7])
    flagged = set()
    for v in practice.records["vendor"]:
        if not v["handles_phi"] or v["relationship_type"] in ("treatment_provider", "conduit"):
            continue
        first = min(flows[v["id"]]) if flows[v["id"]] else None
        signed = [b for b in baas[v["id"]] if b["signed_at"] and b["effective_at"]]
        if first is not None and first <= f.now:
            if not signed or min(ts(b["effective_at"]) for b in signed) > first:  # type: ignore[type-var]
                flagged.add(("vendor", v["id"]))
        elif first is not None and not signed:
            flagged.add(("vendor", v["id"]))
        for b in baas[v["id"]]:
            if required - set(b["clauses"]):
                flagged.add(("baa", b["id"]))
            term = ts(b["terminated_at"])
            back = ts(b["return_or_destroy_attested_at"])
            if term and (back is None or (back - term).days > 30):
                flagged.add(("baa", b["id"]))
    check(practice, "HIPAA-BA-BAA-009", flagged)


def notice_due(f: Facts, i: Rec) -> dt.date:
    tz = f.est_tz[i["establishment_id"]]
    agent = i["discovered_by"] == "business_associate" and i["ba_is_agent"]
    d = local_date(ts(i["ba_discovered_at"] if agent else i["discovered_at"]), tz)  # type: ignore[arg-type]
    due = d + dt.timedelta(days=60)
    if i["le_delay_kind"]:
        days = (ts(i["le_delay_until"]) - ts(i["le_delay_start"])).days  # type: ignore[operator]
        due += dt.timedelta(days=min(days, 30) if i["le_delay_kind"] == "oral" else days)
    return due


def test_breach_rules(practice: Practice) -> None:
    f = Facts(practice)
    det, ind, hhs, media = set(), set(), set(), set()
    for i in practice.records["incident"]:
        if not i["phi_involved"]:
            continue
        subject = ("incident", i["id"])
        tz = f.est_tz[i["establishment_id"]]
        discovered = local_date(ts(i["discovered_at"]), tz)  # type: ignore[arg-type]
        if i["determination"] is None and (f.today - discovered).days > 30:
            det.add(subject)
        if i["determination"] == "not_breach" and not (
            i["four_factor_documented"] or i["exception_code"] or i["unsecured"] is False
        ):
            det.add(subject)
        if i["determination"] != "breach":
            continue
        due = notice_due(f, i)
        if i["individual_notice_at"] is None and f.today > due:
            ind.add(subject)
        if i["ba_notified_ce_at"] and (ts(i["ba_notified_ce_at"]) - ts(i["ba_discovered_at"])).days > 10:  # type: ignore[operator]
            ind.add(subject)
        n = i["affected_total"] or 0
        agent = i["discovered_by"] == "business_associate" and i["ba_is_agent"]
        year = local_date(ts(i["ba_discovered_at"]), tz).year if agent else discovered.year  # type: ignore[arg-type]
        hhs_due = due if n >= 500 else dt.date(year, 12, 31) + dt.timedelta(days=60)
        if i["hhs_notice_at"] is None and f.today > hhs_due:
            hhs.add(subject)
        for state, count in (i["affected_by_state"] or {}).items():
            if count > 500 and state not in (i["media_notice_at"] or {}) and f.today > due:
                media.add(subject)
    check(practice, "HIPAA-BRN-DET-010", det)
    check(practice, "HIPAA-BRN-IND-011", ind)
    check(practice, "HIPAA-BRN-HHS-012", hhs)
    check(practice, "HIPAA-BRN-MEDIA-013", media)


def test_access_requests(practice: Practice) -> None:
    f = Facts(practice)
    flagged = set()
    for r in practice.records["access_request"]:
        tz = f.est_tz[r["establishment_id"]]
        received = local_date(ts(r["received_at"]), tz)  # type: ignore[arg-type]
        d1 = received + dt.timedelta(days=30 if r["kind"] == "access" else 60)
        ext = ts(r["extension_notice_at"])
        due = d1 + dt.timedelta(days=30) if ext and local_date(ext, tz) <= d1 else d1
        if ext and local_date(ext, tz) > d1:
            flagged.add(("access_request", r["id"]))
        if r["completed_at"] is None and r["denied_at"] is None and f.today > due:
            flagged.add(("access_request", r["id"]))
    check(practice, "HIPAA-PRV-ACC-014", flagged)


# ---- OSHA --------------------------------------------------------------------------------------


def test_osha_log_and_sharps(practice: Practice) -> None:
    f = Facts(practice)
    log, sil, severe, pep = set(), set(), set(), set()
    hepb_by = {h["person_id"]: h for h in practice.records["hepb_vaccination"]}
    for c in practice.records["osha_case"]:
        tz = f.est_tz[c["establishment_id"]]
        learned = ts(c["learned_at"])
        incident = ts(c["incident_at"])
        assert learned is not None and incident is not None
        due = local_date(learned, tz) + dt.timedelta(days=7)
        if c["establishment_id"] == "EST-DEN" and c["recordable"]:
            logged = ts(c["logged_at"])
            if (logged is None and f.today > due) or (logged is not None and local_date(logged, tz) > due):
                log.add(("osha_case", c["id"]))
            if c["sharps"] and not c["privacy_case"]:
                log.add(("osha_case", c["id"]))
            if c["sharps"]:
                entry = ts(c["sharps_log_at"])
                if (entry is None and f.today > due) or not (c["device_type"] and c["device_brand"] and c["work_area"]):
                    sil.add(("osha_case", c["id"]))
        if c["sharps"]:
            h = hepb_by.get(c["person_id"])
            protected = h and (h["series_completed_at"] or h["antibody_immune"] or h["contraindicated"])
            offered = ts(h["offered_at"]) if h else None
            if not protected and (offered is None or offered < incident):
                pep.add(("osha_case", c["id"]))
        hours = None
        admit = ts(c["inpatient_admit_at"])
        if c["died_at"]:
            hours = 8
        elif (admit and (admit - incident).total_seconds() <= 24 * 3600) or c["amputation"] or c["eye_loss"]:
            hours = 24
        if hours is not None:
            due_at = learned + dt.timedelta(hours=hours)  # aware + timedelta in UTC terms: compare UTC
            due_at = learned.astimezone(dt.UTC) + dt.timedelta(hours=hours)
            reported = ts(c["reported_to_osha_at"])
            if (reported is None and f.now > due_at) or (reported is not None and reported > due_at):
                severe.add(("osha_case", c["id"]))
    check(practice, "OSHA-REC-LOG-002", log)
    check(practice, "OSHA-BBP-SIL-011", sil)
    check(practice, "OSHA-REP-SEVERE-006", severe)
    check(practice, "OSHA-BBP-PEP-010", pep)


def test_bloodborne_pathogens(practice: Practice) -> None:
    f = Facts(practice)
    hepb_by = {h["person_id"]: h for h in practice.records["hepb_vaccination"]}
    hepb, trn = set(), set()
    for e in f.active_episodes():
        if not e["occupational_exposure"]:
            continue
        tz = f.est_tz[e["establishment_id"]]
        start = ts(e["start_at"])
        bbp = sorted(ts(t["completed_at"]) for t in f.trainings[e["person_id"]] if t["course"] == "BBP")  # type: ignore[type-var]
        in_ep = [t for t in bbp if t >= start]  # type: ignore[operator]
        exposure = ts(e["exposure_assignment_at"])
        if exposure and (not in_ep or exposure < in_ep[0]):
            trn.add(("employment_episode", e["id"]))
        if in_ep and add_months(local_date(in_ep[-1], tz), 12) < f.today:
            trn.add(("employment_episode", e["id"]))
        h = hepb_by.get(e["person_id"])
        if exposure is None:
            continue
        due = add_working_days(local_date(exposure, tz), 10)
        exempt = h and (h["series_completed_at"] or h["antibody_immune"] or h["contraindicated"])
        if not exempt and (h is None or (h["offered_at"] is None and h["declined_at"] is None)) and f.today > due:
            hepb.add(("employment_episode", e["id"]))
        if h and h["offered_at"] and not any(t <= ts(h["offered_at"]) for t in bbp):  # type: ignore[operator]
            hepb.add(("hepb_vaccination", h["id"]))
    for t in practice.records["training_record"]:
        if t["course"] == "BBP" and not (t["trainer"] and t["content_version"]):
            trn.add(("training_record", t["id"]))
    check(practice, "OSHA-BBP-HEPB-008", hepb)
    check(practice, "OSHA-BBP-TRN-009", trn)


def test_exposure_control_plans(practice: Practice) -> None:
    f = Facts(practice)
    flagged = set()
    latest: dict[str, Rec] = {}
    for p in practice.records["exposure_control_plan"]:
        if p["establishment_id"] not in latest or p["reviewed_at"] > latest[p["establishment_id"]]["reviewed_at"]:
            latest[p["establishment_id"]] = p
    exposed = {e["establishment_id"] for e in f.active_episodes() if e["occupational_exposure"]}
    for est in exposed:
        p = latest.get(est)
        if p is None:
            flagged.add(("establishment", est))
            continue
        if add_months(local_date(ts(p["reviewed_at"]), f.est_tz[est]), 12) < f.today:  # type: ignore[arg-type]
            flagged.add(("exposure_control_plan", p["id"]))
        if not (p["safer_devices_reviewed"] and p["frontline_input_documented"]):
            flagged.add(("exposure_control_plan", p["id"]))
    check(practice, "OSHA-BBP-ECP-007", flagged)


def test_osha_summaries(practice: Practice) -> None:
    f = Facts(practice)
    flagged, ita = set(), set()
    allowed = ("Site Administrator", "Owner", "Chief", "President")
    for s in practice.records["osha_summary"]:
        y = s["year"]
        feb1, apr30, mar2 = dt.date(y + 1, 2, 1), dt.date(y + 1, 4, 30), dt.date(y + 1, 3, 2)
        tz = f.est_tz[s["establishment_id"]]
        cert = ts(s["certified_at"])
        subject = ("establishment", s["establishment_id"])  # the rule's subject; the year is its occurrence
        if f.today > feb1 and (cert is None or local_date(cert, tz) > feb1):
            flagged.add(subject)
        if s["posted_from"] and dt.date.fromisoformat(s["posted_from"]) > feb1:
            flagged.add(subject)
        if s["posted_until"] and dt.date.fromisoformat(s["posted_until"]) < apr30:
            flagged.add(subject)
        if s["certifier_title"] and not s["certifier_title"].startswith(allowed):
            flagged.add(subject)
        sub = ts(s["ita_submitted_at"])
        if f.today > mar2 and (sub is None or local_date(sub, tz) > mar2):
            ita.add(("osha_summary", s["id"]))
    filed = {(s["establishment_id"], s["year"]) for s in practice.records["osha_summary"]}
    for y in range(practice.anchor.year - 5, practice.anchor.year):  # Denver keeps records; a year with no 300A
        if ("EST-DEN", y) not in filed and f.today > dt.date(y + 1, 2, 1):
            flagged.add(("establishment", "EST-DEN"))
    check(practice, "OSHA-REC-300A-003", flagged)
    check(practice, "OSHA-REC-ITA-005", ita)
    den = practice.ids("establishment")["EST-DEN"]
    year = str(practice.anchor.year - 2)
    assert 20 <= den["max_concurrent_employees"][year] <= 249


# ---- CMS ---------------------------------------------------------------------------------------


def test_exclusion_screening(practice: Practice) -> None:
    f = Facts(practice)
    flagged = set()
    checks: dict[str, dict[str, list[dt.date]]] = defaultdict(lambda: defaultdict(list))
    for s in practice.records["screening"]:
        checks[s["person_id"]][s["source"]].append(local_date(ts(s["checked_at"]), "America/New_York"))  # type: ignore[arg-type]
        if s["result"] == "excluded":
            flagged.add(("screening", s["id"]))
    last_full = f.today.replace(day=1) - dt.timedelta(days=1)
    for person, eps in f.episodes.items():
        for e in eps:
            tz = f.est_tz[e["establishment_id"]]
            start = local_date(ts(e["start_at"]), tz)  # type: ignore[arg-type]
            end = local_date(ts(e["end_at"]), tz) if e["end_at"] else None  # type: ignore[arg-type]
            for src in ("LEIE", "SAM"):
                if not any(d <= start for d in checks[person][src]):
                    flagged.add(("employment_episode", e["id"]))
            month = start.replace(day=1)
            stop = min(end or last_full, last_full)
            while month <= stop:
                nxt = add_months(month, 1)
                for src in ("LEIE", "SAM"):
                    if not any(month <= d < nxt for d in checks[person][src]):
                        flagged.add(("person", person))
                month = nxt
    check(practice, "CMS-EXCL-LEIE-015", flagged)


def test_measure_completeness(practice: Practice) -> None:
    counts: dict[tuple[str, str], list[int]] = defaultdict(lambda: [0, 0])
    for c in practice.records["measure_case"]:
        if c["eligible"] and not c["excluded"]:
            counts[(c["tin"], c["measure_id"])][0] += 1
            counts[(c["tin"], c["measure_id"])][1] += 1 if c["reported"] else 0
    main = practice.manifest["vocabularies"]["tins"]["MAIN"]
    assert counts[(main, "226")] == [1000, 749]
    assert counts[(main, "134")] == [1000, 750]
    failing = {m for (tin, m), (n, r) in counts.items() if tin == main and r / n < 0.75}
    assert failing == {"226"}
    small = {m for (tin, m), (n, _r) in counts.items() if n < 20}
    assert small == {"134"}


# ---- credentialing -----------------------------------------------------------------------------


def covering(creds: list[Rec], kind: str, at: dt.datetime, jurisdiction: str | None = None) -> bool:
    for c in creds:
        if c["kind"] != kind or (jurisdiction and c["jurisdiction"] != jurisdiction):
            continue
        if ts(c["issued_at"]) <= at <= ts(c["expires_at"]):  # type: ignore[operator]
            return True
    return False


def test_encounters_are_licensed_and_insured(practice: Practice) -> None:
    f = Facts(practice)
    lic, mal = set(), set()
    for e in practice.records["encounter"]:
        at = ts(e["at"])
        assert at is not None
        creds = f.creds[e["clinician_person_id"]]
        if not covering(creds, "STATE_LICENSE", at, e["patient_state"]):
            lic.add(("encounter", e["id"]))
        if not covering(creds, "MALPRACTICE", at):
            mal.add(("encounter", e["id"]))
    for c in practice.records["credential"]:
        if c["kind"] == "STATE_LICENSE" and c["renewal_submitted_at"] is None:
            days = (ts(c["expires_at"]) - f.now).days  # type: ignore[operator]
            if 0 <= days <= 30:
                lic.add(("credential", c["id"]))
    check(practice, "CRED-LIC-001", lic)
    check(practice, "CRED-MAL-010", mal)


def test_cards_and_attestations(practice: Practice) -> None:
    f = Facts(practice)
    bls, caqh = set(), set()
    bls_roles = {"physician", "nurse_practitioner", "physician_assistant", "registered_nurse",
                 "medical_assistant", "phlebotomist"}
    for e in f.active_episodes():
        creds = f.creds[e["person_id"]]
        if e["role"] in bls_roles:
            cards = [c for c in creds if c["kind"] == "BLS"]
            last = max(cards, key=lambda c: c["expires_at"])
            if ts(last["expires_at"]) < f.now:  # type: ignore[operator]
                bls.add(("credential", last["id"]))
        for c in creds:
            if c["kind"] == "CAQH_ATTESTATION":
                cycle = 180 if c["jurisdiction"] == "IL" else 120
                due = local_date(ts(c["issued_at"]), f.est_tz[e["establishment_id"]]) + dt.timedelta(days=cycle)  # type: ignore[arg-type]
                if f.today > due or (due - f.today).days <= 15:
                    caqh.add(("credential", c["id"]))
    check(practice, "CRED-BLS-012", bls)
    check(practice, "CRED-CAQH-006", caqh)
    for c in practice.records["credential"]:
        if c["expiry_rule"] == "end_of_month":
            day = dt.date.fromisoformat(c["expires_at"][:10])
            assert (day + dt.timedelta(days=1)).day == 1, c["id"]


# ---- AI ----------------------------------------------------------------------------------------


def test_ai_outputs_and_scribes(practice: Practice) -> None:
    f = Facts(practice)
    hitl, ca = set(), set()
    for o in practice.records["ai_output"]:
        created, reviewed, sent = ts(o["created_at"]), ts(o["reviewed_at"]), ts(o["sent_at"])
        assert created is not None
        if o["kind"] == "NOTE_DRAFT":
            limit = created + dt.timedelta(hours=72)
            if (reviewed is None and f.now > limit) or (reviewed is not None and reviewed > limit):
                hitl.add(("ai_output", o["id"]))
        if o["kind"] == "PATIENT_MESSAGE" and o["clinical_content"] and o["establishment_id"] == "EST-SAN":
            exempt = reviewed is not None and sent is not None and reviewed < sent
            if not exempt and not o["disclaimer_present"]:
                ca.add(("ai_output", o["id"]))
    check(practice, "AI-HITL-011", hitl)
    if "AI-CA-3030-006" in {e["rule_id"] for e in practice.planted}:
        check(practice, "AI-CA-3030-006", ca)
    scribe = set()
    for e in practice.records["encounter"]:
        if e["ambient_recording"]:
            started, consent = ts(e["recording_started_at"]), ts(e["recording_consent_at"])
            if consent is None or started is None or consent > started:
                scribe.add(("encounter", e["id"]))
    check(practice, "AI-SCRIBE-010", scribe)
    tx = {("encounter", e["id"]) for e in practice.records["encounter"]
          if e["patient_state"] == "TX" and e["ambient_recording"]}
    if "AI-TX-008" in {e["rule_id"] for e in practice.planted}:
        check(practice, "AI-TX-008", tx)


def test_ai_inventory(practice: Practice) -> None:
    f = Facts(practice)
    first_use: dict[str, dt.datetime] = {}
    for o in practice.records["ai_output"]:
        created = ts(o["created_at"])
        assert created is not None
        if o["tool_id"] not in first_use or created < first_use[o["tool_id"]]:
            first_use[o["tool_id"]] = created
    gov, mon = set(), set()
    for t in practice.records["ai_tool"]:
        approved = ts(t["approved_at"])
        used = first_use.get(t["id"])
        if used and (approved is None or used < approved):
            gov.add(("ai_tool", t["id"]))
        review = ts(t["last_perf_review_at"]) or approved or used
        interval = 180 if t["category"] in ("PREDICTIVE_DSI", "PCDST", "MH_CHATBOT") else 365
        if t["category"] != "ADMIN" and review is not None and (f.now - review).days > interval:
            mon.add(("ai_tool", t["id"]))
    check(practice, "AI-GOV-INV-001", gov)
    check(practice, "AI-MON-012", mon)
