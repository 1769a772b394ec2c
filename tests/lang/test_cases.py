"""The expression language means the same on both backends (cases in tests/lang/cases/*.yaml).

Each case is compiled into a real ruleset (one rule matching `x`), evaluated on the Python
backend and on durable_rules, and compared with the expected matches. A case may declare the
kinds of the fields (`kinds` for `x`, `y_kinds` for `y`), which the compiler's kind checks then
read as they read a fact type's; `absent: true` makes `x` a `no` pattern (`want` then lists the `y`
that matched); `want_error: CODE` expects compilation to refuse the condition with that code.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml

from engine.errors import VigilError
from engine.rules.backends import get_backend
from engine.rules.compiler.kinds import check_condition
from engine.rules.compiler.lower import Lowerer, require_join_fields
from engine.rules.compiler.model import TRIGGER
from engine.rules.facttypes import FactType
from engine.rules.lang.evaluate import compile_expr
from engine.rules.lang.fold import fold
from engine.rules.lang.parse import Scope, parse_expr

CASES = [c for f in sorted((Path(__file__).parent / "cases").glob("*.yaml")) for c in yaml.safe_load(f.read_text())]


def _ruleset(cond: str, with_y: bool, case: dict[str, Any] | None = None) -> Any:
    """A minimal compiled ruleset around one condition, built with the real checks and lowering."""
    from engine.rules.compiler.model import CompiledRule, CompiledRuleset, Pattern, Variant
    from engine.rules.lang import nodes as n

    case = case or {}
    aliases = frozenset({"x", "y"} if with_y else {"x"})
    node = fold(parse_expr(cond, Scope(aliases, None, "T-LANG-1")), {})
    if "kinds" in case or "y_kinds" in case:
        types = {"tx": FactType("tx", dict(case.get("kinds", {}))), "ty": FactType("ty", dict(case.get("y_kinds", {})))}
        for c in n.conjuncts(node):
            check_condition(c, rule_id="T-LANG-1", types=types, type_of={"x": "tx", "y": "ty"})
    trig = Pattern("trig__", TRIGGER, False, (n.Cmp("==", n.Ref("trig__", "rule"), n.Lit("T-LANG-1")),))
    patterns = [trig]
    if with_y:
        patterns.append(Pattern("y", "ty", False, ()))
    patterns.append(Pattern("x", "tx", bool(case.get("absent")), tuple(n.conjuncts(node))))
    variant = require_join_fields(Variant("violation", "violation", tuple(patterns)))
    lowerer = Lowerer("T-LANG-1", {"x": "tx", "y": "ty"})
    definition = {"T-LANG-1|violation": lowerer.variant(variant, "T-LANG-1|violation")}
    from engine.rules.spec import RuleSpec

    spec = RuleSpec(id="T-LANG-1", title="t", citation="c", severity="low", match={"x": "tx"}, subject="x",
                    message="m", sop="SOP-T")
    rule = CompiledRule(spec=spec, framework="t", ruleset_version="1.0.0", family="org",  # type: ignore[arg-type]
                        variants=(variant,), base_severity={}, severity_when=(), occurrence=None,
                        establishment=None, message=None, used_refs=(), deadline=None)  # type: ignore[arg-type]
    import hashlib

    digest = hashlib.sha256(f"{cond}|{with_y}{'|absent' if case.get('absent') else ''}".encode()).hexdigest()[:12]
    rs = CompiledRuleset(framework="t", version="1.0.0", title="t", sha256=digest, path="-", params={},
                         rules=(rule,), durable_name=f"lang@{digest}", durable_definition=definition,
                         field_needs={}, flags=tuple(lowerer.flags), deadlines=())
    return rs, lowerer.flags


@pytest.mark.parametrize("case", CASES, ids=[c["name"] for c in CASES])
@pytest.mark.parametrize("backend", ["python", "durable"])
def test_expression_case(case: dict[str, Any], backend: str) -> None:
    with_y = "y" in case
    if "want_error" in case:
        with pytest.raises(VigilError) as exc:
            _ruleset(case["cond"], with_y, case)
        assert exc.value.code == case["want_error"], exc.value.details
        return
    rs, flags = _ruleset(case["cond"], with_y, case)
    facts = []
    for raw in case["facts"]:
        fact = {"id": f"tx/{raw['id']}", "rid": raw["id"], "t": "tx", **{k: v for k, v in raw.items() if k != "id"}}
        for flag in flags:
            fact[flag.name] = flag.fn({"self": fact}) is True
        facts.append(fact)
    if with_y:
        y = case["y"]
        facts.insert(0, {"id": f"ty/{y['id']}", "rid": y["id"], "t": "ty", **{k: v for k, v in y.items() if k != "id"}})
    trigger = {"id": f"{TRIGGER}/T-LANG-1", "t": TRIGGER, "rule": "T-LANG-1", "now": 0}
    matches = get_backend(backend).evaluate(rs, frozenset({"T-LANG-1"}), f"lang-{backend}", facts, [trigger])
    got = sorted({dict(m.bindings)["y" if case.get("absent") else "x"].split("/", 1)[1] for m in matches})
    assert got == sorted(case["want"])


#: the cases an expression alone decides: not those the compiler refuses, nor `no` patterns (judged
#: by the backends only, above)
DIRECT = [c for c in CASES if "want_error" not in c and not c.get("absent")]


@pytest.mark.parametrize("case", DIRECT, ids=[c["name"] for c in DIRECT])
def test_python_evaluator_direct(case: dict[str, Any]) -> None:
    aliases = frozenset({"x", "y"} if "y" in case else {"x"})
    fn = compile_expr(fold(parse_expr(case["cond"], Scope(aliases, None, "T")), {}))
    got = sorted(f["id"] for f in case["facts"] if fn({"x": f, "y": case.get("y", {})}) is True)
    assert got == sorted(case["want"])
