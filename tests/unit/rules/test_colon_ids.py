"""Record ids may hold colons (CONTRACT: an id is any string unique per type): every shipped
scenario, its ids rewritten to hold one, gives the same findings.

A bundle key is "family:id", and the sweep once took the family as everything before the last
colon: an establishment "E:1" fell into a family "establishment:E" that no rule reads, and its
OSHA 300A and ITA findings vanished without a word.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from engine.rules import bundles
from engine.rules.catalog import compile_for, framework_files, in_force, with_withdrawals
from engine.rules.loader import load_ruleset_file
from engine.rules.runner import ListSource, evaluate_rules
from engine.rules.scenarios import _instant, _records, load_scenario, scenario_files


def _without_params(path: Path) -> bool:
    """Scenarios whose parameters may name record ids are left out: those are not rewritten."""
    raw = load_scenario(path)
    return not raw.get("params") and not any(c.get("params") for c in raw["cases"])


FILES = [p for p in scenario_files() if _without_params(p)]


def _with_colons(value: Any, ids: set[str]) -> Any:
    if isinstance(value, str):
        return f"X:{value}" if value in ids else value
    if isinstance(value, list):
        return [_with_colons(v, ids) for v in value]
    if isinstance(value, dict):
        return {k: _with_colons(v, ids) for k, v in value.items()}
    return value


def _findings(path: Path, records: list[dict[str, Any]], case: dict[str, Any],
              raw: dict[str, Any]) -> list[tuple[str, ...]]:
    framework = raw.get("framework") or path.parent.parent.name
    folder = path.parent.parent
    as_of = _instant(case["as_of"])
    loaded = with_withdrawals([load_ruleset_file(f) for f in framework_files(folder)])
    chosen = in_force(loaded, as_of.date(), [framework])
    params = {**(raw.get("params") or {}), **(case.get("params") or {})}
    compiled = compile_for(chosen[0], params, str(path), on=as_of.date())
    run = evaluate_rules(ListSource(_records(records, path)), [compiled], as_of, backend="python")
    return sorted((v.rule_id, v.subject.type, v.subject.id.removeprefix("X:"), v.state, str(v.due), str(v.severity))
                  for v in run.violations)


def test_the_family_of_a_key_is_read_from_the_left() -> None:
    assert bundles.family_of_key("establishment:E:1") == "establishment"
    assert bundles.subject_of_key("establishment:E:1") == "E:1"
    assert bundles.family_of_key("event:access_event:AE:7") == "event:access_event"
    assert bundles.subject_of_key("event:access_event:AE:7") == "AE:7"
    assert bundles.family_of_key("own:incident:I-1") == "own:incident"
    assert bundles.family_of_key("org:*") == "org"


@pytest.mark.parametrize("path", FILES, ids=[f"{p.parent.parent.name}/{p.stem}" for p in FILES])
def test_ids_with_colons_give_the_same_findings(path: Path) -> None:
    raw = load_scenario(path)
    ids = {str(r["id"]) for r in raw["records"]} - {"default"}
    colons = [{**_with_colons(r, ids), "type": r["type"]} for r in raw["records"]]
    cases = raw["cases"] if len(raw["cases"]) <= 2 else [raw["cases"][0], raw["cases"][-1]]
    for case in cases:
        assert _findings(path, colons, case, raw) == _findings(path, raw["records"], case, raw), case["as_of"]
