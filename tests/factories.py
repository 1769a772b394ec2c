"""Small builders for records used across tests."""

from __future__ import annotations

import datetime as dt
from typing import Any

from engine import clock


def establishment(id: str = "E1", tz: str = "America/Chicago", state: str = "IL", **kw: Any) -> dict[str, Any]:
    return {"type": "establishment", "id": id, "tz": tz, "state": state, "holiday_calendar": "US-FEDERAL", **kw}


def episode(id: str, person: str, start: str, end: str | None = None, est: str = "E1", **kw: Any) -> dict[str, Any]:
    rec = {"type": "employment_episode", "id": id, "person_id": person, "establishment_id": est, "start_at": start,
           "phi_access_required": True, **kw}
    if end:
        rec["end_at"] = end
    return rec


def training(id: str, person: str, completed: str, course: str = "HIPAA_PRIVACY") -> dict[str, Any]:
    return {"type": "training_record", "id": id, "person_id": person, "course": course, "completed_at": completed}


def access(id: str, user: str, patient: str, at: str, action: str = "view") -> dict[str, Any]:
    return {"type": "access_event", "id": id, "system_id": "EHR", "user_id": user, "patient_id": patient, "at": at,
            "action": action}


def grant_expiry(days: int = 300) -> dt.datetime:
    """An auditor grant's `expires_at`, `days` after the clock's now (a frozen clock's, under one):
    inside the 366 days a grant may run from when it is given (`engine.auth.service.GRANT_MAX`), and
    after every instant a test acts at in the months that follow."""
    return clock.now() + dt.timedelta(days=days)
