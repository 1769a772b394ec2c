"""Compile a loaded ruleset: resolve parameters, parse and check every expression, expand
obligations into variants, lower to durable_rules JSON and check its limits.

The stages collect every error (file, line, rule) before failing, so a liaison sees all problems
of a ruleset at once. This module drives them; the obligation stage is `obligations.py` and the
grammar of a `match` pattern is `patterns.py`.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
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
)
from engine.rules.compiler.checks import rule_error as _err
from engine.rules.compiler.kinds import ParamInfo, check_condition, check_kinds
from engine.rules.compiler.local_days import localize
from engine.rules.compiler.lower import Lowerer, check_lowerable, require_join_fields
from engine.rules.compiler.messages import RULE_FIELDS, MessageTemplate, Shape, compile_message
from engine.rules.compiler.model import (
    DEADLINE,
    DL_ALIAS,
    MET2_ALIAS,
    TRIG_ALIAS,
    TRIGGER,
    CompiledRule,
    CompiledRuleset,
    Flag,
    Pattern,
    Variant,
)
from engine.rules.compiler.obligations import Obligation, compile_obligation, obligation_variants
from engine.rules.compiler.params import resolve_params
from engine.rules.compiler.patterns import PATTERN_RE, match_pattern
from engine.rules.facttypes import BUILTIN_FIELDS, FactType, all_fact_types
from engine.rules.lang import nodes as n
from engine.rules.lang.evaluate import Fn, compile_expr
from engine.rules.lang.fold import fold
from engine.rules.lang.parse import Scope, parse_expr
from engine.rules.loader import LoadedRuleset
from engine.rules.spec import RuleSpec


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
    obligation: Obligation | None = None
    if rule.obligation:
        obligation = compile_obligation(rule, positive, type_of, params, types, path, declared)
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
            match_pattern(rule, alias, str(text), path, types, type_of, positive, patterns, params, declared)
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


def _variants(rule: RuleSpec, patterns: list[Pattern], obligation: Obligation | None, is_event: bool) -> list[Variant]:
    """The rule's pattern lists before they are prepared: one `violation` variant, or its obligation's
    overdue / due_soon / late; each starts with the rule's trigger unless it is an event rule."""
    base: list[Pattern] = []
    if not is_event:
        base.append(Pattern(TRIG_ALIAS, TRIGGER, False, (n.Cmp("==", n.Ref(TRIG_ALIAS, "rule"), n.Lit(rule.id)),)))
    base.extend(patterns)
    if obligation is None:
        return [Variant("violation", "violation", tuple(base))]
    return obligation_variants(
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
                    local = localize(cond, pattern.alias, params)
                    check_lowerable(rule.id, _special_fields(fold(local, params, rule_id=rule.id)), pattern, aliases)
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
            # date('...') is the start of that day in the zone of the pattern's record (local_days)
            conds.append(_special_fields(fold(localize(c, p.alias, params), params, rule_id=rule.id)))
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
    fold(node, params, rule_id=rule.id)  # unknown parameters and numbers no backend holds first
    check_kinds(node, rule_id=rule.id, types=types, type_of=type_of, params=declared)
    if is_event and n.uses_now(node):
        raise _err(rule, "event rules cannot read `now`")
    # over the whole match, date('...') is the start of that day in the zone of the rule's subject
    prepared = _special_fields(fold(localize(node, rule.subject, params), params, rule_id=rule.id))
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
