"""Constants and shared helpers of the cms derivations: the QPP zone, calendar and window, value
parsing, measure and category names, performance years in view, and checked reading of the
practice's register parameters."""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Iterable, Mapping
from typing import Any
from zoneinfo import ZoneInfo

from engine.errors import ErrorDetail, RulesetValidationError
from engine.records.vocab import mips_category as normalize_category
from engine.rules import calendar as cal
from engine.rules.derive import DeriveContext, RecordView

# ---- Constants of the law and of CMS's published process ----------------------------------------

QPP_TZ = "America/New_York"
"""The QPP submission window closes at 8 p.m. Eastern; PY-level dates are judged in this zone."""
QPP_CALENDAR = "US-FEDERAL"
QPP_CLOSE = dt.time(20, 0)

CATEGORY_LABELS = {
    "quality": "Quality",
    "promoting_interoperability": "Promoting Interoperability",
    "improvement_activities": "Improvement Activities",
    "cost": "Cost",
}

ECQM_TO_QUALITY_ID = {"CMS122": "001", "CMS165": "236", "CMS138": "226", "CMS2": "134", "CMS68": "130"}
"""eCQM identifiers (any version) of the catalog's measures -> MIPS Quality ID."""


# ---- Small helpers -------------------------------------------------------------------------------


def _instant(value: Any) -> dt.datetime | None:
    if value is None or value == "":
        return None
    if isinstance(value, dt.datetime):
        return value
    return dt.datetime.fromisoformat(str(value).replace("Z", "+00:00"))


def _day(value: Any) -> dt.date | None:
    """A date from a parameter entry (YAML gives dates, JSON gives strings)."""
    if value is None or value == "":
        return None
    if isinstance(value, dt.datetime):
        raise ValueError(f"expected a date (YYYY-MM-DD), got the instant {value.isoformat()}")
    if isinstance(value, dt.date):
        return value
    return dt.date.fromisoformat(str(value))


def _iso(value: dt.date | dt.datetime | None) -> str | None:
    if value is None:
        return None
    if isinstance(value, dt.datetime):
        return cal.iso_instant(value)
    return value.isoformat()


def _src(view: RecordView) -> tuple[str, str, int]:
    return (view.type, view.id, view.version)


def _happened(value: Any, as_of: dt.datetime) -> dt.datetime | None:
    """The instant if it is not after `as_of`, else None (it has not happened yet)."""
    at = _instant(value)
    return at if at is not None and at <= as_of else None


def _flag(value: Any) -> bool:
    return value is True


def _org(inputs: Mapping[str, Iterable[RecordView]]) -> RecordView | None:
    orgs = sorted(inputs.get("organization", ()), key=lambda v: v.id)
    return orgs[0] if orgs else None


def normalize_measure(raw: Any) -> str:
    """A MIPS Quality ID as three digits ("1", "Q001", "QID 1", "CMS122v14" -> "001")."""
    text = str(raw or "").strip().upper()
    ecqm = re.match(r"^(CMS\d+)(V\d+)?$", text.replace(" ", ""))
    if ecqm and ecqm.group(1) in ECQM_TO_QUALITY_ID:
        return ECQM_TO_QUALITY_ID[ecqm.group(1)]
    qid = re.match(r"^(?:QUALITY|QID|Q)?[\s_#-]*(\d{1,3})$", text)
    if qid:
        return f"{int(qid.group(1)):03d}"
    return text


TIN_FORMS = re.compile(r"[0-9]{9}|[0-9]{2}-[0-9]{7}|[0-9]{3}-[0-9]{2}-[0-9]{4}")
"""A TIN as practices write it: nine digits, an EIN (84-7102935) or an SSN (123-45-6789)."""


def tin_key(raw: Any) -> str | None:
    """The reporting entity a TIN names: its nine digits when written any usual way, so a registry's
    11-1111111 and a submission's 111111111 are one entity as QPP reads them; other text as written
    (trimmed), None when there is none. Findings name the entity by `tin_names`."""
    text = str(raw).strip() if raw is not None else ""
    if not text:
        return None
    return text.replace("-", "") if TIN_FORMS.fullmatch(text) else text


def tin_names(views: Iterable[RecordView]) -> dict[str, str]:
    """Each TIN's entity key (`tin_key`) -> the form the entity is named by: the records' own
    (trimmed) writing, the first in sort order when they write it more than one way. A practice that
    writes its TIN one way keeps the occurrence keys of its findings as they were before forms were
    merged (11-1111111 stays 11-1111111, not 111111111), so no finding resolves and reopens anew."""
    names: dict[str, str] = {}
    for v in views:
        key = tin_key(v.data.get("tin"))
        if key is not None:
            text = str(v.data["tin"]).strip()
            names[key] = min(names.get(key, text), text)
    return names


def submission_close(py: int) -> dt.datetime:
    """When the QPP window for a PY closes: 31 March of PY+1 at 20:00 Eastern, moved to the next
    working day when 31 March is a weekend (CMS kept PY2023 open to Monday 1 April 2024)."""
    deadline = cal.compute_deadline(dt.date(py, 1, 1), 1, "years", "fixed_date", QPP_TZ,
                                    holiday_calendar=QPP_CALENDAR, roll_forward=True, on="03-31", cutoff=QPP_CLOSE)
    return deadline.overdue_after


def qpp_local_text(instant: dt.datetime) -> str:
    """A QPP instant as people in the practice read it: "31 March 2026 8:00 p.m. ET" (the window's own
    zone, whatever the establishment's), for messages that also give the UTC instant as `due`."""
    local = instant.astimezone(ZoneInfo(QPP_TZ))
    hour = local.hour % 12 or 12
    half = "a.m." if local.hour < 12 else "p.m."
    return f"{local.day} {local:%B %Y} {hour}:{local.minute:02d} {half} ET"


def qpp_today(ctx: DeriveContext) -> dt.date:
    """Today in Eastern time: performance years and the QPP window are Eastern-time notions."""
    return cal.local_date(ctx.as_of, QPP_TZ)


def org_today(ctx: DeriveContext, org: RecordView | None) -> dt.date:
    """Today in the zone the engine judges the practice's own date-based deadlines in (C7), so a
    flag computed here changes on the same local midnight as the rule's deadline state."""
    return cal.local_date(ctx.as_of, ctx.tz_of(org) if org is not None else QPP_TZ)


def _status_by_py(org: RecordView | None) -> dict[int, bool]:
    raw = (org.data.get("mips_participant_by_py") if org else None) or {}
    out: dict[int, bool] = {}
    for key, value in raw.items():
        try:
            out[int(key)] = value is True
        except (TypeError, ValueError):
            continue
    return out


def pys_in_view(ctx: DeriveContext, org: RecordView | None, seen: Iterable[int] = ()) -> list[int]:
    """Performance years the rules look at: the current one and the `mips_lookback_years` before it
    (a PY's payment adjustment applies two years later, so PY2024 still matters in 2026), limited to
    years with a recorded status or MIPS data, plus the current year and, while its QPP window is
    open, the year just ended: from January to 31 March its data is due, so a status not recorded
    for it is a gap to flag then, not a reason for its checks to go quiet."""
    today = qpp_today(ctx)
    lookback = int(ctx.param("mips_lookback_years", 2))
    first = today.year - lookback
    years = {today.year} | set(_status_by_py(org)) | {int(y) for y in seen}
    if ctx.as_of <= submission_close(today.year - 1):
        years.add(today.year - 1)
    return sorted(y for y in years if first <= y <= today.year)


def _required_categories(ctx: DeriveContext) -> list[str]:
    cats = ctx.param("mips_required_categories", list(CATEGORY_LABELS)[:3])
    out: list[str] = []
    for c in cats:
        name = normalize_category(c)
        if name not in out:
            out.append(name)
    return out


def _param_error(name: str, index: int, reason: str) -> RulesetValidationError:
    return RulesetValidationError(
        f"practice parameter cms.{name}[{index}] is invalid: {reason}",
        [ErrorDetail(reason=reason, field=f"cms.{name}[{index}]", file="policies/practice.yaml")],
        code="ruleset.params.invalid",
    )


def _entries(ctx: DeriveContext, name: str, required: tuple[str, ...]) -> list[tuple[int, dict[str, Any]]]:
    """The entries of a register parameter (a list of mappings), each checked for its required keys."""
    out = []
    for i, entry in enumerate(ctx.param(name, []) or []):
        if not isinstance(entry, Mapping):
            raise _param_error(name, i, f"expected a mapping with {', '.join(required)}, got {entry!r}")
        missing = [k for k in required if entry.get(k) in (None, "")]
        if missing:
            raise _param_error(name, i, f"missing {', '.join(missing)}")
        out.append((i, dict(entry)))
    return out


def _entry_day(name: str, index: int, entry: Mapping[str, Any], key: str) -> dt.date | None:
    try:
        return _day(entry.get(key))
    except ValueError as exc:
        raise _param_error(name, index, f"{key}: {exc}") from None
