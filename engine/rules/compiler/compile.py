"""Compile a loaded ruleset: resolve parameters, parse and check every expression, expand
obligations into variants, lower to durable_rules JSON and check its limits.

The stages collect every error (file, line, rule) before failing, so a liaison sees all problems
of a ruleset at once.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import difflib
import hashlib
import json
import re
from collections.abc import Mapping
from typing import Any

from engine.errors import ErrorDetail, RulesetValidationError, VigilError
from engine.rules import bundles
from engine.rules.compiler import limits
from engine.rules.compiler.checks import (
    check_fields,
    check_names,
    check_written,
    located,
    require_time_field,
)
from engine.rules.compiler.checks import rule_error as _err
from engine.rules.compiler.kinds import ParamInfo, check_condition, check_kinds
from engine.rules.compiler.lower import Lowerer, check_lowerable, rename_alias, require_join_fields
from engine.rules.compiler.messages import RESERVED_NAMES, RULE_FIELDS, MessageTemplate, Shape, compile_message
from engine.rules.compiler.model import (
    DEADLINE,
    DL_ALIAS,
    MET2_ALIAS,
    MET_ALIAS,
    TRIG_ALIAS,
    TRIGGER,
    CompiledRule,
    CompiledRuleset,
    DeadlineSpec,
    Flag,
    Pattern,
    Variant,
)
from engine.rules.compiler.params import resolve_params
from engine.rules.facttypes import BUILTIN_FIELDS, FactType, all_fact_types
from engine.rules.lang import nodes as n
from engine.rules.lang.evaluate import Fn, compile_expr
from engine.rules.lang.fold import fold
from engine.rules.lang.parse import Scope, parse_expr
from engine.rules.loader import LoadedRuleset
from engine.rules.spec import RuleSpec, Window, window_amount

PATTERN_RE = re.compile(r"^\s*(?P<no>no\s+)?(?P<type>[a-z_][a-z0-9_]*)(?:\s+where\s+(?P<cond>.+))?\s*$", re.S)
ALIAS_RE = re.compile(r"^[a-z][a-z0-9_]*$")
CONVENTIONS = {
    "days": "calendar_days",
    "hours": "elapsed_hours",
    "working_days": "working_days",
    "months": "months",
    "years": "months",
    "year_end_days": "year_end",
}


def compile_ruleset(
    loaded: LoadedRuleset,
    overrides: Mapping[str, Any] | None = None,
    *,
    overrides_source: str = "policies/practice.yaml",
    on: dt.date | None = None,
) -> CompiledRuleset:
    """Compile one ruleset with practice parameter overrides; raise RulesetError listing every problem.

    With `on`, only the rules whose own dates admit that day are compiled (a rule whose law starts
    later than its ruleset is not judged before it starts); without it, every rule, as validation
    needs. The durable_rules name then says which rules were left out, so two days with different
    rules never share a registered ruleset.
    """
    spec = loaded.spec
    left_out = sorted(r.id for r in spec.rules if on is not None and not r.in_force(on))
    params = resolve_params(spec, overrides or {}, source=overrides_source)
    declared = {name: ParamInfo(p.type, params.get(name, p.default), p.unit) for name, p in spec.params.items()}
    types = all_fact_types()
    from engine.rules.derive import DERIVATIONS

    derived_families = {d.output: ("reference" if d.reference else d.family) for _, d in DERIVATIONS}
    errors: list[ErrorDetail] = []
    rules: list[CompiledRule] = []
    flags: list[Flag] = []
    definition: dict[str, Any] = {}
    for rule in spec.rules:
        if rule.id in left_out:
            continue
        try:
            compiled, lowered, rule_flags = _compile_rule(
                rule, spec.framework, spec.version, params, types, derived_families, loaded.path, declared
            )
        except VigilError as exc:
            for d in exc.details or [ErrorDetail(reason=exc.message)]:
                errors.append(
                    ErrorDetail(
                        reason=d.reason, file=loaded.path, line=d.line or rule.line, column=d.column, rule_id=rule.id,
                        field=d.field,
                    )
                )
            continue
        rules.append(compiled)
        definition.update(lowered)
        for f in rule_flags:
            if not any(x.name == f.name and x.fact_type == f.fact_type for x in flags):
                flags.append(f)
    if errors:
        errors.sort(key=lambda d: (d.line or 0, d.rule_id or ""))
        raise RulesetValidationError(f"{loaded.path}: {len(errors)} problem(s) in ruleset {spec.name}", errors)
    needs = _field_needs(rules, flags)
    limits.check(spec.name, loaded.path, definition, rules, needs)
    param_hash = hashlib.sha256(json.dumps(params, sort_keys=True, default=str).encode()).hexdigest()[:8]
    subset = "-" + hashlib.sha256(" ".join(left_out).encode()).hexdigest()[:8] if left_out else ""
    return CompiledRuleset(
        framework=spec.framework,
        version=spec.version,
        title=spec.title,
        sha256=loaded.sha256,
        path=loaded.path,
        params=params,
        rules=tuple(rules),
        durable_name=f"{spec.name}~{loaded.sha256[:8]}{param_hash}{subset}",
        durable_definition=definition,
        field_needs=needs,
        flags=tuple(flags),
        deadlines=tuple(r.deadline for r in rules if r.deadline),
        effective_from=spec.effective_from,
        effective_to=spec.effective_to,
        content=loaded.content,
    )


def _compile_rule(
    rule: RuleSpec,
    framework: str,
    version: str,
    params: dict[str, Any],
    types: dict[str, FactType],
    derived_families: dict[str, str],
    path: str,
    declared: Mapping[str, ParamInfo] | None = None,
) -> tuple[CompiledRule, dict[str, Any], list[Flag]]:
    """One rule compiled: checked, expanded into variants, lowered to durable_rules JSON (by variant
    name), with the flags its lowering asks facts to carry."""
    is_event = rule.kind == "event"
    positive, type_of, patterns, template = _compile_written(rule, path, params, types, declared, is_event)
    obligation: _Obligation | None = None
    if rule.obligation:
        obligation = _compile_obligation(rule, positive, type_of, params, types, path, declared)
    type_of[TRIG_ALIAS] = TRIGGER
    type_of[DL_ALIAS] = DEADLINE
    variants = _variants(rule, patterns, obligation, is_event)
    if obligation is not None and obligation.met is not None:
        type_of[MET2_ALIAS] = obligation.met.fact_type
    variants = [_prepare_variant(v, params, rule, is_event, types, type_of, declared) for v in variants]

    family = _family(rule, variants, derived_families, types)
    lowerer = Lowerer(rule.id, type_of)
    lowered = {f"{rule.id}|{v.name}": lowerer.variant(v, f"{rule.id}|{v.name}") for v in variants}

    ob_severity: dict[str, str] = (
        {str(k): str(v) for k, v in rule.obligation.severity.items()} if rule.obligation else {}
    )
    severity = {v.name: ob_severity.get(v.name) or rule.severity for v in variants}
    full_scope = Scope(frozenset(positive), None, rule.id, path, rule.line)
    sev_when, occurrence, establishment, extra_refs = _rule_expressions(rule, full_scope, params, types, type_of,
                                                                        is_event, declared)
    # fields read by conditions, and by severity_when / occurrence / establishment: facts must carry them
    used = tuple(
        sorted(
            {r for v in variants for p in v.patterns for c in p.conds for r in n.refs(c)} | extra_refs,
            key=lambda r: (r.alias, r.field),
        )
    )
    compiled = CompiledRule(
        spec=rule,
        framework=framework,
        ruleset_version=version,
        family=family,
        variants=tuple(variants),
        base_severity=severity,
        severity_when=sev_when,
        occurrence=occurrence,
        establishment=establishment,
        message=template,
        used_refs=used,
        deadline=obligation.deadline if obligation is not None else None,
    )
    return compiled, lowered, lowerer.flags


def _compile_written(
    rule: RuleSpec,
    path: str,
    params: dict[str, Any],
    types: dict[str, FactType],
    declared: Mapping[str, ParamInfo] | None,
    is_event: bool,
) -> tuple[list[str], dict[str, str], list[Pattern], MessageTemplate]:
    """The rule's patterns (`when` distributed into them), its positive aliases, alias -> fact type,
    and its message template; raise RulesetValidationError listing every problem of them.

    Each pattern, `when` and the message are checked apart, so a liaison sees every one of their
    problems in one validation (the first had hidden the rest until it was fixed).
    """
    positive: list[str] = []
    type_of: dict[str, str] = {}
    patterns: list[Pattern] = []
    found: list[ErrorDetail] = []
    for alias, text in rule.match.items():
        try:
            _match_pattern(rule, alias, str(text), path, types, type_of, positive, patterns, params, declared)
        except VigilError as exc:
            found.extend(exc.details or [ErrorDetail(reason=exc.message, rule_id=rule.id)])
    if not found and rule.subject not in positive:
        found += _err(rule, f"subject {rule.subject!r} must be a positive (not 'no') pattern", "subject").details
    written_when: list[n.Node] = []
    if rule.when and not found:
        try:
            when = parse_expr(rule.when, Scope(frozenset(positive), None, rule.id, path,
                                               rule.lines.get("when", rule.line), "when"))
            check_written(n.conjuncts(when), rule, "when", params, types, type_of, declared)
            written_when = n.conjuncts(when)
            patterns = _distribute(patterns, written_when, rule)
        except VigilError as exc:
            found.extend(exc.details or [ErrorDetail(reason=exc.message, rule_id=rule.id)])
    if not found:
        found.extend(_unlowerable(rule, patterns, written_when, params, is_event))
    try:
        template = compile_message(rule, positive, _message_shapes(rule, positive, type_of, types, params))
    except VigilError as exc:
        found.extend(exc.details or [ErrorDetail(reason=exc.message, rule_id=rule.id)])
    if found:
        raise RulesetValidationError(f"{len(found)} problem(s) in rule {rule.id}", found)
    return positive, type_of, patterns, template


@dataclasses.dataclass(frozen=True)
class _Obligation:
    """A rule's obligation compiled: its deadline, the anchor record's id, and what meets it."""

    deadline: DeadlineSpec
    anchor_ref: n.Ref
    met: Pattern | None = None  # met_by: the record that meets it
    met_field: str | None = None  # met_by's met_at: the field of `met` that says when
    same_record: tuple[str, str] | None = None  # met_at on a positive pattern: (alias, field)


def _compile_obligation(
    rule: RuleSpec,
    positive: list[str],
    type_of: dict[str, str],
    params: dict[str, Any],
    types: dict[str, FactType],
    path: str,
    declared: Mapping[str, ParamInfo] | None,
) -> _Obligation:
    """The rule's obligation: its deadline spec and what meets it, either a met_by record (whose
    alias it adds to `type_of`) or met_at on one of the rule's own positive patterns."""
    ob = rule.obligation
    assert ob is not None
    anchor_alias, _, anchor_field = ob.anchor.partition(".")
    if anchor_alias not in positive or not anchor_field:
        raise _err(rule, f"obligation anchor {ob.anchor!r} must be alias.field of a positive pattern",
                   "obligation.anchor")
    require_time_field(rule, f"obligation anchor {ob.anchor!r}", types[type_of[anchor_alias]], anchor_field,
                        "obligation.anchor")
    deadline = _deadline_spec(rule, type_of[anchor_alias], anchor_field, params)
    met: Pattern | None = None
    met_field: str | None = None
    same_record: tuple[str, str] | None = None
    if ob.met_by:
        met, met_field = _met_by(rule, positive, type_of, params, types, path, declared)
    elif ob.met_at:
        alias, _, fld = str(ob.met_at).partition(".")
        if alias not in positive or not fld:
            raise _err(rule, f"met_at {ob.met_at!r} must be alias.field of a positive pattern (or give met_by)",
                       "obligation.met_at")
        require_time_field(rule, f"met_at {ob.met_at!r}", types[type_of[alias]], fld, "obligation.met_at")
        same_record = (alias, fld)
        if alias == anchor_alias:
            deadline = dataclasses.replace(deadline, met_field=fld)
    if ob.late and met is None and same_record is None:
        raise _err(rule, "late needs met_at")
    return _Obligation(deadline, n.Ref(anchor_alias, "rid"), met, met_field, same_record)


def _deadline_spec(rule: RuleSpec, anchor_type: str, anchor_field: str, params: dict[str, Any]) -> DeadlineSpec:
    """The obligation's deadline, counted from `anchor_field` of the anchor's fact type, checked
    against the calendar service's conventions."""
    ob = rule.obligation
    assert ob is not None
    amount = _amount(ob.within, params, rule)
    warn_unit = warn_amount = None
    if ob.warn:
        warn_unit, warn_amount = ob.warn.unit, _amount(ob.warn, params, rule)
    deadline = DeadlineSpec(
        rule_id=rule.id,
        anchor_type=anchor_type,
        anchor_field=anchor_field,
        unit=ob.within.unit,
        amount=amount,
        convention=ob.convention or CONVENTIONS[ob.within.unit],
        roll_forward=ob.roll_forward,
        holiday_calendar=ob.holiday_calendar,
        warn_unit=warn_unit,
        warn_amount=warn_amount,
        on=ob.on,
        cutoff=ob.cutoff,
        tz=ob.tz,
        amount_param=ob.within.amount.removeprefix("params.") if isinstance(ob.within.amount, str) else None,
    )
    _check_deadline(deadline, rule)
    return deadline


def _met_by(
    rule: RuleSpec,
    positive: list[str],
    type_of: dict[str, str],
    params: dict[str, Any],
    types: dict[str, FactType],
    path: str,
    declared: Mapping[str, ParamInfo] | None,
) -> tuple[Pattern, str]:
    """The pattern of the record that meets the obligation (`met_by: <type> [where <condition>]`)
    and its field that says when (`met_at`); adds its alias to `type_of`."""
    ob = rule.obligation
    assert ob is not None and ob.met_by
    m = PATTERN_RE.match(ob.met_by)
    if not m or m.group("no"):
        raise _err(rule, f"met_by must read '<type> [where <condition>]': {ob.met_by!r}")
    met_type = m.group("type")
    if met_type not in types:
        raise _err(rule, f"unknown fact type {met_type!r} in met_by")
    scope = Scope(frozenset(positive + [MET_ALIAS]), MET_ALIAS, rule.id, path,
                  rule.lines.get("obligation.met_by", rule.line), "obligation.met_by")
    conds = tuple(n.conjuncts(parse_expr(m.group("cond"), scope))) if m.group("cond") else ()
    met_field = str(ob.met_at)
    require_time_field(rule, f"met_at {met_field!r}", types[met_type], met_field, "obligation.met_at")
    met = Pattern(MET_ALIAS, met_type, False, conds)
    type_of[MET_ALIAS] = met_type
    check_written(conds, rule, "obligation.met_by", params, types, type_of, declared)
    return met, met_field


def _variants(rule: RuleSpec, patterns: list[Pattern], obligation: _Obligation | None, is_event: bool) -> list[Variant]:
    """The rule's pattern lists before they are prepared: one `violation` variant, or its obligation's
    overdue / due_soon / late; each starts with the rule's trigger unless it is an event rule."""
    base: list[Pattern] = []
    if not is_event:
        base.append(Pattern(TRIG_ALIAS, TRIGGER, False, (n.Cmp("==", n.Ref(TRIG_ALIAS, "rule"), n.Lit(rule.id)),)))
    base.extend(patterns)
    if obligation is None:
        return [Variant("violation", "violation", tuple(base))]
    return _obligation_variants(
        rule, base, obligation.anchor_ref, obligation.met, obligation.met_field, obligation.same_record,
        precomputed_late=obligation.deadline.met_field is not None,
    )


def _rule_expressions(
    rule: RuleSpec,
    scope: Scope,
    params: dict[str, Any],
    types: dict[str, FactType],
    type_of: dict[str, str],
    is_event: bool,
    declared: Mapping[str, ParamInfo] | None,
) -> tuple[tuple[tuple[str, Fn], ...], Fn | None, Fn | None, set[n.Ref]]:
    """The rule's severity_when, occurrence and establishment compiled, and the fields they read."""
    extra_refs: set[n.Ref] = set()

    def expr(text: str, key: str) -> Fn:
        with located(rule, key):
            fn, node = _expr_fn(text, scope, params, rule, types, type_of, is_event, declared)
        extra_refs.update(n.refs(node))
        return fn

    sev_when = tuple((s.severity, expr(s.when, "severity_when")) for s in rule.severity_when)
    occurrence = expr(rule.occurrence, "occurrence") if rule.occurrence else None
    establishment = expr(rule.establishment, "establishment") if rule.establishment else None
    return sev_when, occurrence, establishment, extra_refs


def _unlowerable(rule: RuleSpec, patterns: list[Pattern], written_when: list[n.Node], params: dict[str, Any],
                 is_event: bool) -> list[ErrorDetail]:
    """Each written condition durable_rules cannot test (a join inside `or`, a condition mixing
    records), at the key it is written under (`when`, or the pattern's `match.<alias>`)."""
    aliases = ([] if is_event else [TRIG_ALIAS]) + [p.alias for p in patterns]
    found: list[ErrorDetail] = []
    for pattern in patterns:
        for cond in pattern.conds:
            key = "when" if any(cond is w for w in written_when) else f"match.{pattern.alias}"
            try:
                with located(rule, key):
                    check_lowerable(rule.id, _special_fields(fold(cond, params, rule_id=rule.id)), pattern, aliases)
            except VigilError as exc:
                found.extend(exc.details)
    return found


def _message_shapes(rule: RuleSpec, positive: list[str], type_of: dict[str, str], types: dict[str, FactType],
                    params: Mapping[str, Any]) -> dict[str, Shape]:
    """The fields of each name a message reads: a positive alias's record (and `met`, the record
    `met_by` matches) as its fact type declares them, the ruleset's parameters, and `rule`."""
    shapes = {"params": Shape("params", frozenset(params), params=True), "rule": Shape("rule", RULE_FIELDS)}
    record_types = {alias: type_of[alias] for alias in positive if alias in type_of}
    met = PATTERN_RE.match(rule.obligation.met_by) if rule.obligation and rule.obligation.met_by else None
    if met is not None:
        record_types["met"] = met.group("type")
    for alias, name in record_types.items():
        if name in types:
            shapes[alias] = Shape(name, frozenset(types[name].fields) | frozenset(BUILTIN_FIELDS))
    return shapes


def _match_pattern(rule: RuleSpec, alias: str, text: str, path: str, types: dict[str, FactType],
                   type_of: dict[str, str], positive: list[str], patterns: list[Pattern], params: dict[str, Any],
                   declared: Mapping[str, ParamInfo] | None) -> None:
    """Check and add one `match` pattern. The alias is bound before its condition is checked, so a
    later pattern that joins on it is checked too when this one's condition has a problem."""
    if not ALIAS_RE.match(alias) or alias.endswith("__") or alias in RESERVED_NAMES:
        raise _err(rule, f"alias {alias!r} must be lower_snake_case (not {'/'.join(sorted(RESERVED_NAMES))})",
                   f"match.{alias}")
    m = PATTERN_RE.match(text)
    if not m:
        raise _err(rule, f"pattern for {alias!r} must read '[no] <type> [where <condition>]': {text!r}",
                   f"match.{alias}")
    fact_type = m.group("type")
    negated = bool(m.group("no"))
    if not negated:
        positive.append(alias)
    if fact_type not in types:
        close = difflib.get_close_matches(fact_type, list(types), n=3)
        raise _err(
            rule, f"unknown fact type {fact_type!r}" + (f" (did you mean {', '.join(close)}?)" if close else ""),
            f"match.{alias}",
        )
    type_of[alias] = fact_type
    where = f"match.{alias}"
    scope = Scope(aliases=frozenset(positive + [alias]), current=alias, rule_id=rule.id, file=path,
                  line=rule.lines.get(where, rule.line), field=where)
    conds: tuple[n.Node, ...] = ()
    if m.group("cond"):
        conds = tuple(n.conjuncts(parse_expr(m.group("cond"), scope)))
    check_written(conds, rule, where, params, types, type_of, declared)
    patterns.append(Pattern(alias, fact_type, negated, conds))


def _obligation_variants(
    rule: RuleSpec,
    base: list[Pattern],
    anchor_ref: n.Ref,
    met: Pattern | None,
    met_field: str | None,
    same_record: tuple[str, str] | None,
    precomputed_late: bool = False,
) -> list[Variant]:
    """Expand an obligation into overdue / due_soon / late pattern lists (ARCHITECTURE decision 3).

    durable_rules never binds one fact to two patterns of a match (nor counts it in a later
    absence), and the Python backend follows the same rule; so "met on the same record" is a
    condition on that record's pattern, never a self-join.
    """
    ob = rule.obligation
    assert ob is not None
    now = n.Now()
    dl_key = (n.Cmp("==", n.Ref(DL_ALIAS, "rule"), n.Lit(rule.id)), n.Cmp("==", n.Ref(DL_ALIAS, "of"), anchor_ref))

    def with_cond(patterns: list[Pattern], alias: str, cond: n.Node) -> list[Pattern]:
        return [
            Pattern(p.alias, p.fact_type, p.negated, p.conds + (cond,)) if p.alias == alias else p for p in patterns
        ]

    unmet_base = list(base)
    absent: list[Pattern] = []
    if met is not None and met_field:
        absent = [
            Pattern(
                MET_ALIAS, met.fact_type, True, met.conds + (n.Cmp("!=", n.Ref(MET_ALIAS, met_field), n.Lit(None)),)
            )
        ]
    elif same_record is not None:
        unmet_base = with_cond(unmet_base, same_record[0], n.Cmp("==", n.Ref(*same_record), n.Lit(None)))
    out = [
        Variant(
            "overdue",
            "overdue",
            tuple(
                unmet_base
                + [Pattern(DL_ALIAS, DEADLINE, False, dl_key + (n.Cmp("<=", n.Ref(DL_ALIAS, "overdue_s"), now),))]
                + absent
            ),
        )
    ]
    if ob.warn:
        soon = Pattern(
            DL_ALIAS,
            DEADLINE,
            False,
            dl_key + (n.Cmp("<=", n.Ref(DL_ALIAS, "warn_s"), now), n.Cmp(">", n.Ref(DL_ALIAS, "overdue_s"), now)),
        )
        out.append(Variant("due_soon", "due_soon", tuple(unmet_base + [soon] + absent)))
    if ob.late:
        if met is not None and met_field:
            late_met = Pattern(
                MET_ALIAS,
                met.fact_type,
                False,
                met.conds + (n.Cmp(">=", n.Ref(MET_ALIAS, met_field), n.Ref(DL_ALIAS, "overdue_s")),),
            )
            on_time = Pattern(
                MET2_ALIAS,
                met.fact_type,
                True,
                tuple(rename_alias(c, MET_ALIAS, MET2_ALIAS) for c in met.conds)
                + (n.Cmp("<", n.Ref(MET2_ALIAS, met_field), n.Ref(DL_ALIAS, "overdue_s")),),
            )
            out.append(
                Variant(
                    "late", "violation", tuple(base + [Pattern(DL_ALIAS, DEADLINE, False, dl_key), late_met, on_time])
                )
            )
        elif same_record is not None:
            done = with_cond(list(base), same_record[0], n.Cmp("!=", n.Ref(*same_record), n.Lit(None)))
            # when the anchor record itself carries the completion, the derive step marks the deadline
            # `late` (durable_rules crashed, SIGSEGV, on the cross-record comparison in this shape)
            late_test: n.Node = (
                n.Cmp("==", n.Ref(DL_ALIAS, "late"), n.Lit(True))
                if precomputed_late
                else n.Cmp("<=", n.Ref(DL_ALIAS, "overdue_s"), n.Ref(*same_record))
            )
            late_dl = Pattern(DL_ALIAS, DEADLINE, False, dl_key + (late_test,))
            out.append(Variant("late", "violation", tuple(done + [late_dl])))
    return out


def _check_deadline(spec: DeadlineSpec, rule: RuleSpec) -> None:
    """Check the window against the calendar service's conventions before anything runs: what the
    deadline code would refuse had stopped every evaluation, with a message naming no rule."""
    from engine.rules.calendar import CONVENTION_UNITS

    unit = "days" if spec.unit == "year_end_days" else spec.unit
    if spec.convention not in CONVENTION_UNITS:
        raise _err(rule, f"unknown calendar convention {spec.convention!r} (known: {', '.join(CONVENTION_UNITS)})",
                   "obligation.convention")
    if unit not in CONVENTION_UNITS[spec.convention]:
        raise _err(rule, f"convention {spec.convention} does not take {spec.unit}", "obligation.within")
    if spec.warn_unit:
        family = "hours" if spec.convention == "elapsed_hours" else "days"
        if spec.warn_unit != family:
            raise _err(rule, f"warn must be given in {family} for convention {spec.convention}", "obligation.warn")
    if spec.convention == "fixed_date" and not spec.on:
        raise _err(rule, "convention fixed_date needs on: MM-DD", "obligation.convention")
    if spec.on and spec.convention != "fixed_date":
        raise _err(rule, f"on {spec.on!r} is read only by convention fixed_date (e.g. within: {{years: 1}}, "
                         "convention: fixed_date): add the convention, or remove on", "obligation.on")
    if spec.convention == "elapsed_hours":
        for key, given in (("cutoff", spec.cutoff), ("roll_forward", spec.roll_forward)):
            if given:
                raise _err(rule, f"an hour window counts elapsed time and takes no {key} (C3, C6): remove it, or "
                                 "count the window in days", f"obligation.{key}")
    if spec.holiday_calendar is not None:
        _check_holiday_calendar(spec.holiday_calendar, rule)


def _check_holiday_calendar(name: str, rule: RuleSpec) -> None:
    """An obligation's holiday calendar is one the calendar service knows: a built-in one, or an org
    calendar of the policies in use (`US-FEDRAL` had validated, then stopped every evaluation)."""
    from engine.rules.calendar import (
        CalendarService,
        HolidayPolicyError,
        HolidayPolicySyntaxError,
        UnknownCalendarError,
        default_calendar,
    )

    try:
        CalendarService().holiday_list(name)  # the built-ins, whatever holidays.yaml holds
        return
    except UnknownCalendarError:
        pass
    try:
        default_calendar().holiday_list(name)
    except UnknownCalendarError as exc:
        raise _err(rule, f"holiday_calendar: {exc.message}", "obligation.holiday_calendar") from None
    except (HolidayPolicyError, HolidayPolicySyntaxError) as exc:
        raise _err(rule, f"holiday_calendar {name!r} is not built in (US-FEDERAL, NONE), and the holiday policy "
                         f"that would define it cannot be read: {exc.message}", "obligation.holiday_calendar") from None


def _amount(window: Window, params: dict[str, Any], rule: RuleSpec) -> float:
    """The amount a window counts, its parameter resolved: exact in hours, whole in any other unit.

    The spec and the parameter checks refuse a fraction of a whole unit first; this is the last
    line, so that no path ever hands the deadline code an amount it would have to round."""
    raw = window.amount
    value: Any = raw
    said = f"{{{window.unit}: {raw}}}"
    if isinstance(raw, str):
        name = raw.removeprefix("params.")
        if name not in params:
            close = difflib.get_close_matches(name, list(params), n=3)
            hint = f" (did you mean {', '.join(f'params.{c}' for c in close)}?)" if close else ""
            raise _err(rule, f"unknown parameter params.{name}: the ruleset declares no parameter {name!r}{hint}")
        value, said = params[name], f"params.{name} = {params[name]!r}"
        if not isinstance(value, int | float) or isinstance(value, bool):
            raise _err(rule, f"params.{name} must be a number to be used as a window")
    try:
        return window_amount(window.unit, value)
    except ValueError as exc:
        raise _err(rule, f"{said}: {exc}") from None


def _distribute(patterns: list[Pattern], conjuncts: list[n.Node], rule: RuleSpec) -> list[Pattern]:
    """Attach each conjunct of a rule-level `when` to the earliest positive pattern that binds
    every alias it reads (conditions on `now` alone go to the first pattern)."""
    order = [p.alias for p in patterns]
    extra: dict[str, list[n.Node]] = {a: [] for a in order}
    positive = [p.alias for p in patterns if not p.negated]
    for c in conjuncts:
        used = n.aliases(c)
        if not used:
            extra[positive[0]].append(c)
            continue
        target = max(used, key=order.index)
        extra[target].append(c)
    return [Pattern(p.alias, p.fact_type, p.negated, p.conds + tuple(extra[p.alias])) for p in patterns]


def _special_fields(node: n.Node) -> n.Node:
    """Language `id` is the record id (fact field `rid`); internal `fid` is the fact's own id."""
    if isinstance(node, n.Ref):
        if node.field == "id":
            return n.Ref(node.alias, "rid")
        if node.field == "fid":
            return n.Ref(node.alias, "id")
        return node
    if isinstance(node, n.Now):
        return n.Ref(TRIG_ALIAS, "now")
    if isinstance(node, n.Cmp):
        return n.Cmp(node.op, _special_fields(node.left), _special_fields(node.right))
    if isinstance(node, n.Arith):
        return n.Arith(node.op, _special_fields(node.left), _special_fields(node.right))
    if isinstance(node, n.In):
        return n.In(_special_fields(node.item), _special_fields(node.container), node.negate)
    if isinstance(node, n.BoolOp):
        return n.BoolOp(node.op, tuple(_special_fields(v) for v in node.values))
    if isinstance(node, n.Not):
        return n.Not(_special_fields(node.value))
    return node


def _prepare_variant(
    variant: Variant,
    params: dict[str, Any],
    rule: RuleSpec,
    is_event: bool,
    types: dict[str, FactType],
    type_of: dict[str, str],
    declared: Mapping[str, ParamInfo] | None = None,
) -> Variant:
    out = []
    for p in variant.patterns:
        conds = []
        for c in p.conds:
            check_fields(c, rule, types, type_of, declared)
            check_condition(c, rule_id=rule.id, types=types, type_of=type_of, params=declared)
            if is_event and n.uses_now(c):
                raise _err(rule, "event rules are judged on the event alone and cannot read `now`")
            conds.append(_special_fields(fold(c, params, rule_id=rule.id)))
        out.append(Pattern(p.alias, p.fact_type, p.negated, tuple(conds)))
    # both backends judge the same patterns: durable_rules stops on a join reading a missing field
    return require_join_fields(Variant(variant.name, variant.state, tuple(out)))


def _expr_fn(
    text: str | None,
    scope: Scope,
    params: dict[str, Any],
    rule: RuleSpec,
    types: dict[str, FactType],
    type_of: dict[str, str],
    is_event: bool,
    declared: Mapping[str, ParamInfo] | None = None,
) -> tuple[Fn, n.Node]:
    node = parse_expr(str(text), scope)
    check_names(node, rule, types, type_of)
    folded = fold(node, params, rule_id=rule.id)  # unknown parameters and numbers no backend holds first
    check_kinds(node, rule_id=rule.id, types=types, type_of=type_of, params=declared)
    if is_event and n.uses_now(node):
        raise _err(rule, "event rules cannot read `now`")
    prepared = _special_fields(folded)
    return compile_expr(prepared), prepared


def _family(
    rule: RuleSpec, variants: list[Variant], derived_families: dict[str, str], types: dict[str, FactType]
) -> str:
    families = set()
    for p in variants[0].patterns:
        if p.fact_type in (TRIGGER, DEADLINE):
            continue
        fam = bundles.family_of(p.fact_type, derived_families)
        if fam != "reference":
            families.add(fam)
    for v in variants:
        for p in v.patterns:
            if p.fact_type in (TRIGGER, DEADLINE):
                continue
            fam = bundles.family_of(p.fact_type, derived_families)
            if fam != "reference":
                families.add(fam)
    if len(families) > 1:
        raise _err(
            rule,
            "a rule can only join records that are evaluated together; these patterns span "
            f"bundle families {sorted(families)}: use a derivation to bring them together",
        )
    family = families.pop() if families else "org"
    if rule.kind == "event":
        first = next(p for p in variants[0].patterns)
        if not (types[first.fact_type].event):
            raise _err(rule, f"an event rule's first pattern must be an event type, not {first.fact_type}")
    return family


def _field_needs(rules: list[CompiledRule], flags: list[Flag]) -> dict[str, frozenset[str]]:
    needs: dict[str, set[str]] = {}
    for rule in rules:
        for v in rule.variants:
            types = {p.alias: p.fact_type for p in v.patterns}
            for p in v.patterns:
                needs.setdefault(p.fact_type, set())
                for c in p.conds:
                    for ref in n.refs(c):
                        if ref.alias in types:
                            needs.setdefault(types[ref.alias], set()).add(ref.field)
        if rule.deadline:
            needs.setdefault(rule.deadline.anchor_type, set())
        aliases = {p.alias: p.fact_type for v in rule.variants for p in v.patterns}
        for ref in rule.used_refs:
            if ref.alias in aliases:
                needs.setdefault(aliases[ref.alias], set()).add(ref.field)
    for f in flags:
        needs.setdefault(f.fact_type, set()).add(f.name)
    return {k: frozenset(v) for k, v in needs.items()}
