"""The durable_rules host's own guards, on durable_rules in this process: what it asserts, what it
retries (trap 4) and what it leaves behind (trap 9). It talks to durable_rules' C core without the
package's `Host.assert_fact` wrapper, so these tests hold it to that wrapper's behaviour."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from engine.errors import EngineFailure
from engine.rules.backends import Match, durable_host

NAME = "test_host_guards_v1"
#: One rule over two facts of one person (a join), so a fact is held until its partner comes, and
#: its action records the bindings.
DEFINITION = {
    "R|v": {
        "all": [
            {"a": {"t": "left"}},
            {"b": {"$and": [{"t": "right"}, {"person": {"a": "person"}}]}},
        ],
        "run": "R|v",
    }
}


@pytest.fixture(scope="module", autouse=True)
def registered() -> None:
    durable_host.register(NAME, DEFINITION, {"R|v": ("a", "b")})


def fact(fid: str, t: str, person: str) -> dict[str, Any]:
    return {"id": fid, "t": t, "person": person}


def evaluate(facts: list[dict[str, Any]]) -> list[Match]:
    return durable_host.evaluate(NAME, frozenset({"R"}), "bundle", facts, [])


def held_facts() -> list[Any]:
    return list(durable_host.host().get_facts(NAME, durable_host.SESSION) or [])


class _Observing:
    """durable_rules' C module, except that it answers "already observed" (a false hash
    collision, trap 4) to the first `times` asserts of any message whose id is `victim`."""

    def __init__(self, real: Any, victim: str, times: int) -> None:
        self.real, self.victim, self.times = real, victim, times
        self.refused: list[str] = []

    def assert_fact(self, handle: Any, text: str) -> Any:
        if f'"id": "{self.victim}"' in text and len(self.refused) < self.times:
            self.refused.append(text)
            return (2, 0)
        return self.real.assert_fact(handle, text)

    def __getattr__(self, name: str) -> Any:
        return getattr(self.real, name)


@pytest.fixture
def observing(monkeypatch: pytest.MonkeyPatch) -> Iterator[Any]:
    def plant(victim: str, times: int) -> _Observing:
        fake = _Observing(durable_host.durable_rules_engine, victim, times)
        monkeypatch.setattr(durable_host, "durable_rules_engine", fake)
        return fake

    yield plant


def test_a_join_matches_and_the_session_is_left_empty() -> None:
    found = evaluate([fact("L1", "left", "P1"), fact("X", "other", "P1"), fact("R1", "right", "P1"),
                      fact("R2", "right", "P2")])
    assert found == [Match("R", "v", (("a", "L1"), ("b", "R1")))]
    assert held_facts() == []
    assert evaluate([fact("R3", "right", "P1")]) == []  # nothing of the last bundle joins this one


def test_a_false_already_observed_is_retried_with_a_salt_not_dropped(observing: Any) -> None:
    planted = observing("m1", 2)  # the second fact's short id
    found = evaluate([fact("L1", "left", "P1"), fact("R1", "right", "P1")])
    assert found == [Match("R", "v", (("a", "L1"), ("b", "R1")))]
    assert len(planted.refused) == 2 and all('"salt"' not in t for t in planted.refused[:1])
    assert '"salt": 1' in planted.refused[1]
    assert held_facts() == []  # the salted fact was retracted as it was sent


def test_a_message_refused_every_time_fails_the_run_loudly(observing: Any) -> None:
    observing("m0", durable_host.MAX_SALT_RETRIES + 1)
    with pytest.raises(EngineFailure) as exc:
        evaluate([fact("L1", "left", "P1"), fact("R1", "right", "P1")])
    assert "already observed, even with a salt" in exc.value.message
    assert "message m0" in exc.value.details[0].reason
    assert held_facts() == []
    assert evaluate([fact("L2", "left", "P1"), fact("R2", "right", "P1")]) == [
        Match("R", "v", (("a", "L2"), ("b", "R2")))]


def test_an_action_error_fails_the_bundle_and_is_not_kept_for_the_next() -> None:
    durable_host.plant("R|")
    try:
        with pytest.raises(EngineFailure) as exc:
            evaluate([fact("L1", "left", "P1"), fact("R1", "right", "P1")])
        assert "planted failure in R|v" in str(exc.value)
    finally:
        durable_host.plant(None)
    assert held_facts() == []
    assert evaluate([fact("L1", "left", "P1"), fact("R1", "right", "P1")]) == [
        Match("R", "v", (("a", "L1"), ("b", "R1")))]
