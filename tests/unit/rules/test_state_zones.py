"""An establishment without `tz` takes its state's zone (C7), the same one everywhere."""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

from engine.rules.facts import Zones
from engine.rules.state_zones import DEFAULT_ZONE, STATE_ZONES, establishment_tz, practice_zone

AS_OF = dt.datetime(2026, 3, 10, 15, tzinfo=dt.UTC)
SITES = {"E-CHI": {"id": "E-CHI", "tz": "America/Chicago"}, "E-NY": {"id": "E-NY", "tz": "America/New_York"}}


def test_every_state_zone_is_a_zone() -> None:
    assert all(ZoneInfo(zone) for zone in STATE_ZONES.values())
    assert len(STATE_ZONES) == 56  # the 50 states, DC and five territories


def test_a_named_zone_wins_then_the_state_then_nothing() -> None:
    assert establishment_tz({"tz": "America/Chicago", "state": "HI"}) == "America/Chicago"
    assert establishment_tz({"state": "hi"}) == "Pacific/Honolulu"
    assert establishment_tz({"state": "ZZ"}) is None and establishment_tz({}) is None


def test_a_site_without_tz_is_not_judged_in_another_site_s_zone() -> None:
    zones = Zones.of({"E-A": {"id": "E-A", "tz": "America/New_York"}, "E-X": {"id": "E-X", "state": "AZ"}}, [], AS_OF)
    assert zones.tz_at("E-X") == "America/Phoenix" and zones.tz_at("E-A") == "America/New_York"
    sites = {"E-0": {"id": "E-0", "state": "HI"}, "E-1": {"id": "E-1", "tz": "America/Denver"}}
    first_without = Zones.of(sites, [], AS_OF)
    assert first_without.default_tz == "Pacific/Honolulu"  # org-wide: a tie goes west; an inferred zone counts too
    three = {**sites, "E-2": {"id": "E-2", "tz": "America/Denver"}}
    assert Zones.of(three, [], AS_OF).default_tz == "America/Denver"  # where most of the sites are


def test_a_transfer_booked_for_later_does_not_move_today_s_zone() -> None:
    episodes = [{"person_id": "P1", "establishment_id": "E-CHI", "start_at": "2024-01-02T14:00:00Z"},
                {"person_id": "P1", "establishment_id": "E-NY", "start_at": "2026-04-01T13:00:00Z"}]
    assert Zones.of(SITES, episodes, AS_OF).person_establishment == {"P1": "E-CHI"}
    later = dt.datetime(2026, 4, 1, 13, tzinfo=dt.UTC)  # the transfer's own instant: it has begun
    assert Zones.of(SITES, episodes, later).tz("credential", {"person_id": "P1"}) == "America/New_York"
    assert Zones.of(SITES, episodes[1:], AS_OF).person_establishment == {}  # not yet hired anywhere


def test_episode_starts_are_compared_as_instants_not_text() -> None:
    # 08:00 in Chicago (14:00Z) is later than 08:30 in New York (13:30Z), though "08:30" sorts after "08:00"
    episodes = [{"person_id": "P1", "establishment_id": "E-CHI", "start_at": "2026-01-05T08:00:00-06:00"},
                {"person_id": "P1", "establishment_id": "E-NY", "start_at": "2026-01-05T08:30:00-05:00"}]
    assert Zones.of(SITES, episodes, AS_OF).person_establishment == {"P1": "E-CHI"}
    assert Zones.of(SITES, episodes[::-1], AS_OF).person_establishment == {"P1": "E-CHI"}


def test_the_practice_zone_follows_where_its_sites_are_not_what_they_are_called() -> None:
    assert practice_zone([]) == practice_zone([None]) == DEFAULT_ZONE
    # a tie goes west: Honolulu's date of an instant is never later than New York's
    assert practice_zone(["Pacific/Honolulu", "America/New_York"]) == "Pacific/Honolulu"
    assert practice_zone(["America/New_York", "America/Los_Angeles"]) == "America/Los_Angeles"
    assert practice_zone(["America/Los_Angeles"] * 3 + ["America/New_York"]) == "America/Los_Angeles"
    # Phoenix and Denver share an offset in January, but Denver is an hour ahead all summer: the tie
    # goes to Phoenix, whose date is never later (session 48's review: by name, it had gone to Denver)
    assert practice_zone(["America/Phoenix", "America/Denver"]) == "America/Phoenix"
    assert practice_zone(["America/Adak", "Pacific/Honolulu"]) == "Pacific/Honolulu"
    for names in (("E-HNL", "E-NYC"), ("Z-HNL", "E-NYC")):
        sites = {names[0]: {"id": names[0], "tz": "Pacific/Honolulu"}, names[1]: {"id": names[1], "state": "NY"}}
        assert Zones.of(sites, [], AS_OF).default_tz == "Pacific/Honolulu", names
