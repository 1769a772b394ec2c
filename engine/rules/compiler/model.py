"""The compiled form of a ruleset: immutable plain data that both backends consume.

An obligation rule is expanded here, once, into variants (overdue, due_soon, late) that are
ordinary pattern lists, so the two backends never interpret obligations themselves and cannot
disagree about them.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from engine.rules.compiler.messages import MessageTemplate
from engine.rules.lang import nodes as n
from engine.rules.lang.evaluate import Fn
from engine.rules.param_history import NO_HISTORY, ParamHistory
from engine.rules.spec import RuleSpec

TRIGGER = "__trigger"
DEADLINE = "__deadline"
TRIG_ALIAS = "trig__"
DL_ALIAS = "dl__"
MET_ALIAS = "met__"
MET2_ALIAS = "met2__"
INTERNAL_ALIASES = frozenset({TRIG_ALIAS, DL_ALIAS, MET_ALIAS, MET2_ALIAS})

VARIANT_ORDER = {"overdue": 0, "violation": 1, "late": 2, "due_soon": 3}


@dataclass(frozen=True)
class Pattern:
    """One pattern of a rule: bind `alias` to a fact of `fact_type` satisfying every condition
    (or, when `negated`, require that no such fact exists)."""

    alias: str
    fact_type: str
    negated: bool
    conds: tuple[n.Node, ...]


@dataclass(frozen=True)
class Variant:
    """One way a rule is violated; `state` is the finding state it yields."""

    name: str  # overdue | due_soon | late | violation
    state: str  # overdue | due_soon | violation
    patterns: tuple[Pattern, ...]


@dataclass(frozen=True)
class DeadlineSpec:
    """How the derive step computes a rule's deadline for each anchor fact."""

    rule_id: str
    anchor_type: str
    anchor_field: str
    unit: str
    amount: float
    convention: str
    roll_forward: bool
    holiday_calendar: str | None
    warn_unit: str | None
    warn_amount: float | None
    on: str | None = None
    cutoff: str | None = None
    tz: str | None = None
    met_field: str | None = None  # set when the anchor record itself says when it was met
    #: the parameter `amount` was read from (`params.NAME`): the derive step counts the window with
    #: the value in force on the anchor's day when the practice changed it (engine.rules.param_history)
    amount_param: str | None = None


@dataclass(frozen=True)
class Flag:
    """A comparison between two fields of one fact, precomputed into a boolean field because
    durable_rules cannot compare two fields of the same message (measured: it matches wrongly)."""

    fact_type: str
    name: str
    node: n.Node  # refs use alias "self"
    fn: Fn


@dataclass(frozen=True)
class CompiledRule:
    spec: RuleSpec
    framework: str
    ruleset_version: str
    family: str
    variants: tuple[Variant, ...]
    base_severity: dict[str, str]  # variant -> severity
    severity_when: tuple[tuple[str, Fn], ...]
    occurrence: Fn | None
    establishment: Fn | None
    message: MessageTemplate
    used_refs: tuple[n.Ref, ...]
    deadline: DeadlineSpec | None

    @property
    def id(self) -> str:
        return self.spec.id

    @property
    def event(self) -> bool:
        return self.spec.kind == "event"


@dataclass(frozen=True)
class CompiledRuleset:
    """A checked ruleset ready to evaluate many times: hashed, named `hipaa@2026.1.0`."""

    framework: str
    version: str
    title: str
    sha256: str
    path: str
    params: dict[str, Any]
    rules: tuple[CompiledRule, ...]
    durable_name: str
    durable_definition: dict[str, Any]
    field_needs: dict[str, frozenset[str]]
    flags: tuple[Flag, ...]
    deadlines: tuple[DeadlineSpec, ...]
    effective_from: Any = None
    effective_to: Any = None
    content: bytes = field(default=b"", repr=False)
    #: the practice's dated parameters over time (set by `catalog.compile_for`)
    history: ParamHistory = field(default=NO_HISTORY, repr=False)

    @property
    def name(self) -> str:
        return f"{self.framework}@{self.version}"

    def rule(self, rule_id: str) -> CompiledRule:
        for r in self.rules:
            if r.id == rule_id:
                return r
        raise KeyError(rule_id)
