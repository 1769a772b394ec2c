"""The live stream's fact filter: it holds back only facts no pattern could bind."""

from __future__ import annotations

from typing import Any

import pytest

from engine.rules.backends.python import PythonBackend
from engine.rules.compiler.model import CompiledRule, Pattern, Variant
from engine.rules.lang import nodes as n
from engine.rules.prefilter import FactFilter, own_conditions
from engine.rules.scenarios import run_scenario, scenario_files


def _rule(*patterns: Pattern) -> CompiledRule:
    """A rule stand-in: the filter reads only its variants' patterns."""
    return CompiledRule(spec=None, framework="t", ruleset_version="1", family="f",  # type: ignore[arg-type]
                        variants=(Variant("violation", "violation", patterns),), base_severity={},
                        severity_when=(), occurrence=None, establishment=None, message=None,  # type: ignore[arg-type]
                        used_refs=(), deadline=None)


def _eq(alias: str, field: str, value: Any) -> n.Cmp:
    return n.Cmp("==", n.Ref(alias, field), n.Lit(value))


def _fact(t: str, **fields: Any) -> dict[str, Any]:
    return {"id": f"{t}/x", "t": t, **fields}


EXPORT = Pattern("a", "access_event", False, (_eq("a", "action", "export"),))
PRINT_BREAK_GLASS = Pattern("a", "access_event", False, (_eq("a", "action", "print"), n.Ref("a", "break_glass")))
OF_FEW_USERS = Pattern("b", "access_event", False,
                       (n.In(n.Ref("b", "user_id"), n.ListLit(("u1", "u2"))), n.Cmp(">", n.Ref("b", "n"), n.Lit(3))))


@pytest.mark.parametrize(("fact", "admitted"), [
    (_fact("access_event", action="export"), True),
    (_fact("access_event", action="view"), False),
    (_fact("access_event", action="print", break_glass=True), True),
    (_fact("access_event", action="print", break_glass=False), False),
    (_fact("access_event", action="print"), False),  # a missing field is false, as in both backends
    (_fact("access_event", action="view", user_id="u2", n=4), True),
    (_fact("access_event", action="view", user_id="u2", n=3), False),
    (_fact("access_event", action="view", user_id="u9", n=4), False),
    (_fact("access_event", action=["export"]), False),  # a list equals no string
    (_fact("access_event", user_id=["u1"], n=5), False),  # nor is it in a list of strings
    (_fact("training_record", action="export"), False),  # a type no pattern takes
])
def test_a_fact_is_admitted_when_some_pattern_s_own_conditions_hold(fact: dict[str, Any], admitted: bool) -> None:
    fact_filter = FactFilter([_rule(EXPORT), _rule(PRINT_BREAK_GLASS), _rule(OF_FEW_USERS)])
    assert fact_filter.admits(fact) is admitted


def test_equal_values_of_other_types_find_their_pattern_as_python_equality_does() -> None:
    fact_filter = FactFilter([_rule(Pattern("s", "system", False, (_eq("s", "tier", 1),)))])
    assert fact_filter.admits(_fact("system", tier=1.0)) and fact_filter.admits(_fact("system", tier=True))
    assert not fact_filter.admits(_fact("system", tier=2))


def test_a_field_alone_is_a_condition_that_it_is_true() -> None:
    fact_filter = FactFilter([_rule(Pattern("c", "access_event", False, (n.Ref("c", "break_glass"),)))])
    assert fact_filter.admits(_fact("access_event", break_glass=True))
    assert not fact_filter.admits(_fact("access_event", break_glass=False))
    assert not fact_filter.admits(_fact("access_event", break_glass=1))  # kept as the backends keep it: `is True`


def test_conditions_on_other_facts_are_left_to_the_matcher() -> None:
    joined = Pattern("e", "employment_episode", False,
                     (n.Cmp("==", n.Ref("e", "person_id"), n.Ref("a", "person_id")), _eq("e", "active", True)))
    fact_filter = FactFilter([_rule(EXPORT, joined)])
    assert own_conditions(joined) == (_eq("e", "active", True),)
    assert fact_filter.admits(_fact("employment_episode", active=True, person_id="P9"))
    assert not fact_filter.admits(_fact("employment_episode", active=False, person_id="P9"))


def test_a_fact_an_absence_could_see_is_admitted() -> None:
    absent = Pattern("t", "training_record", True, (n.Cmp("==", n.Ref("t", "person_id"), n.Ref("a", "user_id")),))
    fact_filter = FactFilter([_rule(EXPORT, absent)])
    assert fact_filter.reads("training_record")
    assert fact_filter.admits(_fact("training_record", person_id="P1"))  # no condition on itself: every one


def test_a_pattern_without_conditions_of_its_own_admits_every_fact_of_its_type() -> None:
    fact_filter = FactFilter([_rule(EXPORT), _rule(Pattern("a", "access_event", False, ()))])
    assert fact_filter.admits(_fact("access_event", action="view"))


def test_holding_back_what_the_filter_refuses_changes_no_event_rule_match_in_any_scenario(
        monkeypatch: pytest.MonkeyPatch) -> None:
    """Every shipped scenario's bundles, matched again with only the facts the filter of the event
    rules admits: the event rules' matches (their bindings and absences alike) are the same."""
    real = PythonBackend.evaluate
    held_back: list[int] = []
    bundles: list[int] = []

    def checked(self: PythonBackend, ruleset: Any, rule_ids: frozenset[str], sid: str,
                facts: list[dict[str, Any]], triggers: list[dict[str, Any]]) -> Any:
        found = real(self, ruleset, rule_ids, sid, facts, triggers)
        events = frozenset(r.id for r in ruleset.rules if r.event and r.id in rule_ids)
        if events:
            fact_filter = FactFilter(r for r in ruleset.rules if r.id in events)
            kept = [f for f in facts if fact_filter.admits(f)]
            expected = sorted((m.rule_id, m.variant, m.bindings) for m in found if m.rule_id in events)
            again = real(self, ruleset, events, sid, kept, triggers)
            assert sorted((m.rule_id, m.variant, m.bindings) for m in again) == expected, sid
            held_back.append(len(facts) - len(kept))
            bundles.append(len(facts))
        return found

    monkeypatch.setattr(PythonBackend, "evaluate", checked)
    for path in scenario_files():
        for result in run_scenario(path, backends=("python",)):
            assert result.ok, result.problems
    assert bundles and sum(held_back) > 0  # the event rules' bundles were seen, and facts held back
