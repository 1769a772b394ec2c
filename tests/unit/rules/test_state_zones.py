"""An establishment without `tz` takes its state's zone (C7), the same one everywhere."""

from __future__ import annotations

from zoneinfo import ZoneInfo

from engine.rules.facts import Zones
from engine.rules.state_zones import STATE_ZONES, establishment_tz


def test_every_state_zone_is_a_zone() -> None:
    assert all(ZoneInfo(zone) for zone in STATE_ZONES.values())
    assert len(STATE_ZONES) == 56  # the 50 states, DC and five territories


def test_a_named_zone_wins_then_the_state_then_nothing() -> None:
    assert establishment_tz({"tz": "America/Chicago", "state": "HI"}) == "America/Chicago"
    assert establishment_tz({"state": "hi"}) == "Pacific/Honolulu"
    assert establishment_tz({"state": "ZZ"}) is None and establishment_tz({}) is None


def test_a_site_without_tz_is_not_judged_in_another_site_s_zone() -> None:
    zones = Zones.of({"E-A": {"id": "E-A", "tz": "America/New_York"}, "E-X": {"id": "E-X", "state": "AZ"}}, [])
    assert zones.tz_at("E-X") == "America/Phoenix" and zones.tz_at("E-A") == "America/New_York"
    first_without = Zones.of({"E-0": {"id": "E-0", "state": "HI"}, "E-1": {"id": "E-1", "tz": "America/Denver"}}, [])
    assert first_without.default_tz == "Pacific/Honolulu"  # org-wide records: the first site's zone, inferred too
