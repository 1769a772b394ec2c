"""The IANA zone an establishment's local dates use when its record names none (C7).

Why: the contract lists `tz` among an establishment's fields without requiring it. An establishment
without one used to take the zone of the first establishment by id (or New York), so a Honolulu
site could be judged on Anchorage dates, and a breach discovered on 31 December local time counted
in the next year, depending on what other sites the practice had. Its `state` says far more: the
zone that covers most of the state's people. States split between zones (Texas, Florida, Indiana,
Kentucky, Tennessee, the Dakotas, ...) take their most populous zone; a site in the other part of
such a state must name its `tz` (docs/records.md says so).
"""

from __future__ import annotations

import datetime as dt
from collections import Counter
from collections.abc import Iterable, Mapping
from typing import Any
from zoneinfo import ZoneInfo

#: The zone of a practice none of whose establishments names a zone or a state (the US's most
#: populous): one constant, read by the rules, the tasks and the reports alike.
DEFAULT_ZONE = "America/New_York"

STATE_ZONES: dict[str, str] = {
    "AL": "America/Chicago", "AK": "America/Anchorage", "AZ": "America/Phoenix", "AR": "America/Chicago",
    "CA": "America/Los_Angeles", "CO": "America/Denver", "CT": "America/New_York", "DE": "America/New_York",
    "DC": "America/New_York", "FL": "America/New_York", "GA": "America/New_York", "HI": "Pacific/Honolulu",
    "ID": "America/Boise", "IL": "America/Chicago", "IN": "America/Indiana/Indianapolis", "IA": "America/Chicago",
    "KS": "America/Chicago", "KY": "America/New_York", "LA": "America/Chicago", "ME": "America/New_York",
    "MD": "America/New_York", "MA": "America/New_York", "MI": "America/Detroit", "MN": "America/Chicago",
    "MS": "America/Chicago", "MO": "America/Chicago", "MT": "America/Denver", "NE": "America/Chicago",
    "NV": "America/Los_Angeles", "NH": "America/New_York", "NJ": "America/New_York", "NM": "America/Denver",
    "NY": "America/New_York", "NC": "America/New_York", "ND": "America/Chicago", "OH": "America/New_York",
    "OK": "America/Chicago", "OR": "America/Los_Angeles", "PA": "America/New_York", "RI": "America/New_York",
    "SC": "America/New_York", "SD": "America/Chicago", "TN": "America/Chicago", "TX": "America/Chicago",
    "UT": "America/Denver", "VT": "America/New_York", "VA": "America/New_York", "WA": "America/Los_Angeles",
    "WV": "America/New_York", "WI": "America/Chicago", "WY": "America/Denver",
    "PR": "America/Puerto_Rico", "VI": "America/St_Thomas", "GU": "Pacific/Guam", "MP": "Pacific/Saipan",
    "AS": "Pacific/Pago_Pago",
}


def establishment_tz(data: Mapping[str, Any]) -> str | None:
    """The zone an establishment's record names, else its state's (`STATE_ZONES`), else None."""
    tz = data.get("tz")
    if tz:
        return str(tz)
    state = data.get("state")
    return STATE_ZONES.get(str(state).upper()) if state else None


#: The instants at which zones are compared east to west: a winter and a summer day, so the choice
#: does not change with the season and a zone that keeps standard time all year (Phoenix) ranks west
#: of one sharing its winter offset but not its summer one (Denver).
_COMPARED_AT = (dt.datetime(2026, 1, 15, 12, tzinfo=dt.UTC), dt.datetime(2026, 7, 15, 12, tzinfo=dt.UTC))


def practice_zone(zones: Iterable[str | None]) -> str:
    """The zone of what belongs to no establishment (a risk analysis, an incident or an access request
    naming no site), given each establishment's zone: the zone most of them are in, a tie going to
    the westernmost (the one behind the others, compared in January and July), whose local date of
    any instant is never later than at any of the tied sites, so neither is a due date counted from
    it: Phoenix before Denver, which shares its winter offset and is an hour ahead all summer. None
    named: America/New_York.

    Why not the easternmost, as before, "whose day ends first": a breach discovered at 22:00 on 31
    December in Los Angeles is 1 January in New York, and a tie taken east had moved its 60-day
    notice a day later and its annual HHS report a whole year (session 48's deadline pass). Taken
    west, a due date can end a few hours after the eastern site's same day ends; it is never a day
    or a year late.

    Why not the first establishment by id, as before: renaming a Honolulu site from E-HNL to Z-HNL
    moved a practice's risk-analysis due date by a day and an incident's annual breach report by a
    year. The practice's zone must follow from where its sites are, not from what they are called."""
    counts = Counter(z for z in zones if z)
    if not counts:
        return DEFAULT_ZONE

    def rank(zone: str) -> tuple[int, float, str]:
        offsets = (at.astimezone(ZoneInfo(zone)).utcoffset() or dt.timedelta(0) for at in _COMPARED_AT)
        return (-counts[zone], sum(o.total_seconds() for o in offsets), zone)

    return min(counts, key=rank)
