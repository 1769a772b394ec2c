"""Streamed records: patients, visits (encounters, care links, AI outputs) and EHR access events.

Nothing here holds more than a few days of events in memory: visits are generated day by day,
their chart accesses go into per-day buckets, and a bucket is sorted and written once no later
visit can add to it. Background access is always backed by a care link inside the relationship
window, happens in business hours of the user's site, never touches a VIP, restricted, workforce
or otherwise special patient, and never pairs a user with a patient of the same surname: so the
snooping rule should stay quiet on it and fire on the planted events only.
"""

from __future__ import annotations

import datetime as dt
import json
from array import array
from typing import IO, Any

from engine.demo import names
from engine.demo.model import rec
from engine.demo.timeutil import add_working_days, is_working_day, iso, iso_date, local, plus, zone
from engine.demo.world import CLINICIAN_ROLES, EST_BY_ID, ESTABLISHMENTS, ORG_STATES, Episode, Worker, World

SURNAME_INDEX = {s: i for i, s in enumerate(names.SURNAMES)}
EVENT_LINE = (
    '{"type":"access_event","id":"%s","system_id":"%s","user_id":"%s","patient_id":"%s",'
    '"at":"%s","action":"%s","break_glass":%s}\n'
)
LINK_LINE = (
    '{"type":"care_link","id":"CL-%08d","patient_id":"%s","person_id":"%s","department_id":null,'
    '"kind":"%s","date":"%s"}\n'
)
EVENTS_PER_VISIT = 6.2


class Sink:
    """Per-type NDJSON files, opened lazily, with counts."""

    def __init__(self, out_dir: Any) -> None:
        self.out_dir = out_dir
        self.files: dict[str, IO[str]] = {}
        self.counts: dict[str, int] = {}

    def _file(self, record_type: str) -> IO[str]:
        f = self.files.get(record_type)
        if f is None:
            f = open(self.out_dir / f"{record_type}.ndjson", "w", encoding="utf-8", newline="\n",
                     buffering=1 << 20)
            self.files[record_type] = f
            self.counts[record_type] = 0
        return f

    def write(self, record: dict[str, Any]) -> None:
        t = record["type"]
        self._file(t).write(json.dumps(record, separators=(",", ":"), ensure_ascii=False) + "\n")
        self.counts[t] += 1

    def write_line(self, record_type: str, line: str) -> None:
        self._file(record_type).write(line)
        self.counts[record_type] += 1

    def touch(self, record_type: str) -> None:
        self._file(record_type)

    def close(self) -> None:
        for f in self.files.values():
            f.close()


class _LocalClock:
    """Fast local-time formatting for business hours: one zone lookup per site and day."""

    def __init__(self) -> None:
        self._cache: dict[tuple[str, dt.date], tuple[int, str, str]] = {}

    def day(self, tz: str, day: dt.date) -> tuple[int, str, str]:
        key = (tz, day)
        hit = self._cache.get(key)
        if hit is None:
            noon = local(day, 12, 0, tz)
            off = noon.utcoffset()
            assert off is not None
            secs = int(off.total_seconds())
            sign = "+" if secs >= 0 else "-"
            hh, mm = divmod(abs(secs) // 60, 60)
            midnight_utc = int(dt.datetime(day.year, day.month, day.day, tzinfo=dt.UTC).timestamp()) - secs
            hit = (midnight_utc, day.isoformat(), f"{sign}{hh:02d}:{mm:02d}")
            self._cache[key] = hit
        return hit

    def stamp(self, tz: str, day: dt.date, seconds: int) -> tuple[int, str]:
        """(UTC epoch, ISO text) of a local time given as seconds after local midnight (6:00-21:00 only)."""
        base, date_text, off = self.day(tz, day)
        h, rem = divmod(seconds, 3600)
        m, s = divmod(rem, 60)
        return base + seconds, f"{date_text}T{h:02d}:{m:02d}:{s:02d}{off}"


class Activity:
    """Writes patients, then visits and access events, then the planted activity records."""

    def __init__(self, world: World, sink: Sink) -> None:
        self.w = world
        self.sink = sink
        self.r = world.rng("activity")
        self.clock = _LocalClock()
        self.n_events = 0
        self.n_enc = 0
        self.n_links = 0
        self.n_ai = 0
        self.buckets: dict[int, list[tuple[int, int, str]]] = {}
        self.seq = 0
        self.patient_base = len(world.special_patients)

    # ---- patients ---------------------------------------------------------------------------

    def write_patients(self) -> None:
        w = self.w
        r = w.rng("patients")
        for p in w.special_patients:
            self.sink.write(p)
        ests = list(ESTABLISHMENTS)
        weights = [w.active_target[e.id] for e in ests]
        self.surname = array("H")
        self.pat_state: list[str] = []
        self.pool_inperson: dict[str, list[int]] = {e.id: [] for e in ests}
        self.pool_tele: dict[str, list[int]] = {s: [] for s in ORG_STATES}
        for i in range(w.n_patients):
            est = r.choices(ests, weights)[0]
            tele = r.random() < 0.08
            state = r.choice([s for s in ORG_STATES if s != est.state]) if tele else est.state
            s_idx = r.randrange(len(names.SURNAMES))
            self.surname.append(s_idx)
            self.pat_state.append(state)
            (self.pool_tele[state] if tele else self.pool_inperson[est.id]).append(i)
            pid = self.patient_id(i)
            self.sink.write(rec(
                "patient", pid, last_name=names.SURNAMES[s_idx], first_name=r.choice(names.FIRST_NAMES),
                dob=iso_date(w.anchor - dt.timedelta(days=r.randint(365, 95 * 365))),
                address=w.addresses.take(state), state=state, vip=False, record_restricted=False,
                is_workforce_person_id=None))

    def patient_id(self, i: int) -> str:
        return f"PT-{self.patient_base + i + 1:06d}"

    # ---- events -----------------------------------------------------------------------------

    def _event(self, epoch: int, line: str) -> None:
        self.seq += 1
        self.buckets.setdefault(epoch // 86400, []).append((epoch, self.seq, line))

    def access(self, epoch: int, at_text: str, system: str, user: str, patient: str, action: str) -> None:
        self._event(epoch, EVENT_LINE % ("%s", system, user, patient, at_text, action, "false"))

    def _flush(self, upto_day_index: int | None) -> None:
        keys = sorted(k for k in self.buckets if upto_day_index is None or k <= upto_day_index)
        for k in keys:
            for _epoch, _seq, line in sorted(self.buckets.pop(k)):
                if line.startswith("@"):  # a planted event carries its own id
                    self.sink.write_line("access_event", line[1:])
                    continue
                self.n_events += 1
                self.sink.write_line("access_event", line % f"AE-{self.n_events:08d}")

    def _planted_events(self) -> None:
        for at, eid, system, user, patient, action, bg in self.w.extra_events:
            epoch = int(at.timestamp())
            line = EVENT_LINE % (eid, system, user, patient, iso(at), action, "true" if bg else "false")
            self._event(epoch, "@" + line)

    # ---- staff availability -----------------------------------------------------------------

    def _staff_groups(self) -> dict[tuple[str, str], list[tuple[Worker, Episode]]]:
        groups: dict[tuple[str, str], list[tuple[Worker, Episode]]] = {}
        for wk in self.w.workers:
            if wk.no_bg_activity:
                continue
            for ep in wk.episodes:
                if ep.access_from is None:
                    continue
                role = ep.role
                if role in CLINICIAN_ROLES:
                    g = "clin"
                elif role in ("medical_assistant", "registered_nurse") or (
                    role == "phlebotomist" and ep.est != "EST-HNL"
                ):
                    g = "support"
                elif role == "front_desk":
                    g = "fd"
                elif role == "billing_specialist":
                    g, ep_est = "bill", "*"
                    groups.setdefault((ep_est, g), []).append((wk, ep))
                    continue
                elif role == "lab_technician":
                    g, ep_est = "lab", "*"
                    groups.setdefault((ep_est, g), []).append((wk, ep))
                    continue
                else:
                    continue
                groups.setdefault((ep.est, g), []).append((wk, ep))
        return groups

    @staticmethod
    def _available(members: list[tuple[Worker, Episode]], day: dt.date) -> list[tuple[Worker, Episode]]:
        lo = day - dt.timedelta(days=2)
        hi = day + dt.timedelta(days=5)
        return [
            (wk, ep) for wk, ep in members
            if ep.access_from is not None and ep.access_from.date() < lo
            and (ep.end is None or ep.end.date() > hi)
        ]

    # ---- visits -----------------------------------------------------------------------------

    def run(self) -> None:
        w = self.w
        r = self.r
        self._planted_events()
        groups = self._staff_groups()
        start = w.anchor - dt.timedelta(days=w.window_days)
        days = [start + dt.timedelta(days=i) for i in range(w.window_days)]
        working = [d for d in days if is_working_day(d)]
        per_day = w.event_target / (EVENTS_PER_VISIT * max(1, len(working)))
        total_weight = sum(w.active_target.values())
        tools = self._tool_dates()
        for day in days:
            if is_working_day(day):
                bill = self._available(groups.get(("*", "bill"), []), day)
                lab = self._available(groups.get(("*", "lab"), []), day)
                for e in ESTABLISHMENTS:
                    clin = self._available(groups.get((e.id, "clin"), []), day)
                    if not clin:
                        continue
                    support = self._available(groups.get((e.id, "support"), []), day)
                    fd = self._available(groups.get((e.id, "fd"), []), day)
                    mean = per_day * w.active_target[e.id] / total_weight
                    n = int(mean) + (1 if r.random() < mean - int(mean) else 0)
                    for _ in range(n):
                        self._visit(e.id, day, clin, support, fd, bill, lab, tools)
            self._flush(int(local(day, 0, 0, "Pacific/Honolulu").timestamp()) // 86400 - 3)
        self._flush(None)
        self._planted_records()

    def _tool_dates(self) -> dict[str, dt.datetime | None]:
        out: dict[str, dt.datetime | None] = {}
        for t in self.w.records.get("ai_tool", []):
            out[t["id"]] = dt.datetime.fromisoformat(t["approved_at"]) if t["approved_at"] else None
        return out

    def _pick_staff(self, members: list[tuple[Worker, Episode]], surname: int) -> tuple[Worker, Episode] | None:
        if not members:
            return None
        for _ in range(4):
            wk, ep = members[self.r.randrange(len(members))]
            if SURNAME_INDEX.get(wk.last, -1) != surname:
                return wk, ep
        return None

    def _visit(self, est_id: str, day: dt.date, clin: list[tuple[Worker, Episode]],
               support: list[tuple[Worker, Episode]], fd: list[tuple[Worker, Episode]],
               bill: list[tuple[Worker, Episode]], lab: list[tuple[Worker, Episode]],
               tools: dict[str, dt.datetime | None]) -> None:
        r = self.r
        w = self.w
        est = EST_BY_ID[est_id]
        tz = est.tz
        cw, cep = clin[r.randrange(len(clin))]
        modality = "in_person"
        pool = self.pool_inperson[est_id]
        if len(cw.lic_states) > 1 and r.random() < 0.18:
            st = cw.lic_states[1 + r.randrange(len(cw.lic_states) - 1)]
            if self.pool_tele.get(st):
                pool = self.pool_tele[st]
                modality = "telehealth"
        c_surname = SURNAME_INDEX.get(cw.last, -1)
        pi = pool[r.randrange(len(pool))]
        for _ in range(4):
            if self.surname[pi] != c_surname:
                break
            pi = pool[r.randrange(len(pool))]
        else:
            return
        p_surname = self.surname[pi]
        patient = self.patient_id(pi)
        p_state = self.pat_state[pi]
        secs = r.randint(8 * 3600, 16 * 3600 + 1800)
        epoch, at_text = self.clock.stamp(tz, day, secs)
        at = local(day, 8, 0, tz) + dt.timedelta(seconds=secs - 8 * 3600)  # same day, no DST at these hours

        # the encounter
        ambient = (cw.scribe and p_state != "TX" and tools.get("AIT-SCRIBE") is not None
                   and at > tools["AIT-SCRIBE"])  # type: ignore[operator]
        started = consent = None
        if ambient:
            started = plus(at, minutes=r.randint(1, 3))
            consent = plus(started, minutes=-r.randint(1, 4))
        self.n_enc += 1
        self.sink.write(rec(
            "encounter", f"ENC-{self.n_enc:07d}", patient_id=patient, clinician_person_id=cw.pid,
            establishment_id=est_id, at=at_text, modality=modality, clinician_state=est.state,
            patient_state=p_state, ambient_recording=ambient, recording_started_at=iso(started),
            recording_consent_at=iso(consent)))
        self._link(patient, cw.pid, "encounter", day)
        ehr = "SYS-EHR"
        self.access(epoch - r.randint(300, 1800), self.clock.stamp(tz, day, secs - 600)[1], ehr,
                    cw.user_id, patient, "view")
        t2 = secs + r.randint(600, 2400)
        self.access(*self.clock.stamp(tz, day, t2), ehr, cw.user_id, patient, "edit")
        if r.random() < 0.5:
            t3 = min(t2 + r.randint(1800, 10800), 18 * 3600)
            self.access(*self.clock.stamp(tz, day, t3), ehr, cw.user_id, patient, "view")

        # front desk books and checks in
        f = self._pick_staff(fd, p_surname)
        if f is not None:
            self._link(patient, f[0].pid, "appointment", day)
            before = day - dt.timedelta(days=1)
            fday = before if r.random() < 0.4 and is_working_day(before) else day
            self.access(*self.clock.stamp(tz, fday, r.randint(8 * 3600, secs if fday == day else 17 * 3600)),
                        ehr, f[0].user_id, patient, "view")
        # rooming / nursing
        s = self._pick_staff(support, p_surname) if r.random() < 0.9 else None
        if s is not None:
            self._link(patient, s[0].pid, "task", day)
            self.access(*self.clock.stamp(tz, day, max(7 * 3600, secs - r.randint(60, 900))), ehr,
                        s[0].user_id, patient, "view")
            self.access(*self.clock.stamp(tz, day, secs + r.randint(300, 1500)), ehr, s[0].user_id,
                        patient, "edit")
        # billing, next working day, at the biller's own site
        if r.random() < 0.6:
            b = self._pick_staff(bill, p_surname)
            if b is not None:
                bday = add_working_days(day, 1)
                if bday < w.anchor:
                    btz = b[1].tz
                    self._link(patient, b[0].pid, "billing_item", bday)
                    bt = r.randint(9 * 3600, 16 * 3600)
                    self.access(*self.clock.stamp(btz, bday, bt), ehr, b[0].user_id, patient, "view")
                    if r.random() < 0.3:
                        self.access(*self.clock.stamp(btz, bday, bt + r.randint(120, 900)), ehr, b[0].user_id,
                                    patient, "print" if r.random() < 0.15 else "view")
        # lab results routed to the reference lab in Honolulu
        if r.random() < 0.2:
            lb = self._pick_staff(lab, p_surname)
            if lb is not None:
                lday = add_working_days(day, 1)
                if lday < w.anchor:
                    self._link(patient, lb[0].pid, "result_routing", lday)
                    lt = r.randint(8 * 3600, 15 * 3600)
                    self.access(*self.clock.stamp("Pacific/Honolulu", lday, lt), "SYS-LIS", lb[0].user_id,
                                patient, "view")
                    self.access(*self.clock.stamp("Pacific/Honolulu", lday, lt + r.randint(300, 3600)),
                                "SYS-LIS", lb[0].user_id, patient, "edit")
        self._ai(est_id, cw, at, ambient, tools)

    def _link(self, patient: str, person: str, kind: str, day: dt.date) -> None:
        self.n_links += 1
        self.sink.write_line("care_link", LINK_LINE % (self.n_links, patient, person, kind, day.isoformat()))

    def _ai_out(self, tool: str, kind: str, est: str, clinical: bool, created: dt.datetime,
                reviewer: Worker | None, review_delay_h: float | None, send_delay_h: float | None,
                disclaimer: bool) -> None:
        w = self.w
        if not w.past(created):
            return
        reviewed = plus(created, hours=review_delay_h) if reviewer and review_delay_h is not None else None
        if reviewed is not None and not w.past(reviewed):
            reviewed = None
        sent = None
        if send_delay_h is not None:
            sent = plus(reviewed or created, hours=send_delay_h)
            if not w.past(sent):
                return
        self.n_ai += 1
        self.sink.write(rec(
            "ai_output", f"AIO-{self.n_ai:07d}", tool_id=tool, kind=kind, establishment_id=est,
            clinical_content=clinical, created_at=iso(created),
            reviewed_by_person_id=reviewer.pid if reviewed and reviewer else None, reviewed_at=iso(reviewed),
            sent_at=iso(sent), disclaimer_present=disclaimer))

    def _ai(self, est: str, cw: Worker, at: dt.datetime, ambient: bool,
            tools: dict[str, dt.datetime | None]) -> None:
        r = self.r

        def live(tool: str) -> bool:
            since = tools.get(tool)
            return since is not None and at > since

        if ambient:
            self._ai_out("AIT-SCRIBE", "NOTE_DRAFT", est, True, plus(at, minutes=40), cw,
                         r.uniform(0.5, 40.0), None, False)
        roll = r.random()
        if roll < 0.08 and live("AIT-MSG"):
            # reviewed-or-not, a GenAI clinical message always carries the AB 3030 disclaimer here
            reviewer = cw if r.random() < 0.5 else None
            self._ai_out("AIT-MSG", "PATIENT_MESSAGE", est, True, plus(at, hours=r.uniform(20, 30)), reviewer,
                         r.uniform(0.2, 4.0) if reviewer else None, r.uniform(0.05, 1.0), True)
        elif roll < 0.13 and live("AIT-EGFR"):
            self._ai_out("AIT-EGFR", "RECOMMENDATION", est, True, plus(at, minutes=8), cw, 0.05, None, False)
        elif roll < 0.18 and est == "EST-DEN" and live("AIT-SEPSIS"):
            self._ai_out("AIT-SEPSIS", "RECOMMENDATION", est, True, plus(at, minutes=30), cw, 0.3, None, False)
        elif roll < 0.22 and live("AIT-PRIORAUTH"):
            self._ai_out("AIT-PRIORAUTH", "RECOMMENDATION", est, False, plus(at, hours=2), None, None, None, False)
        elif roll < 0.24 and est == "EST-NYC" and live("AIT-MHBOT") and cw.role == "physician":
            self._ai_out("AIT-MHBOT", "PATIENT_MESSAGE", est, True, plus(at, hours=r.uniform(24, 72)), None,
                         None, 0.0, True)

    # ---- planted activity records -----------------------------------------------------------

    def _planted_records(self) -> None:
        for t in ("encounter", "care_link", "ai_output"):
            for record in self.w.records.get(t, []):
                self.sink.write(record)


def tz_of(est_id: str) -> str:
    return EST_BY_ID[est_id].tz


__all__ = ["Activity", "Sink", "zone"]
