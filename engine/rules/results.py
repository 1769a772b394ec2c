"""From raw matches to violations: identity, deduplication, severity, message, evidence.

Shared by both backends, so the only thing a backend decides is *what matched*.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from typing import Any

from engine.rules.backends import Match
from engine.rules.calendars.arithmetic import iso_instant
from engine.rules.compiler import local_days
from engine.rules.compiler.messages import MessageContext, render_message
from engine.rules.compiler.model import (
    DL_ALIAS,
    INTERNAL_ALIASES,
    MET_ALIAS,
    VARIANT_ORDER,
    CompiledRule,
)
from engine.rules.derive import PARAMS_USED
from engine.rules.facts import FactInfo
from engine.rules.schemas import EvidenceRef, SubjectRef, Violation
from engine.rules.spec import SEVERITY_ORDER


def _json_value(value: Any) -> Any:
    if isinstance(value, dt.datetime | dt.date):
        return value.isoformat()
    return value


def violations_of(
    rules: list[CompiledRule],
    matches: list[Match],
    index: Mapping[str, dict[str, Any]],
    infos: Mapping[str, FactInfo],
    params: Mapping[str, Any],
    as_of: dt.datetime,
) -> list[Violation]:
    """The violations of one bundle's matches for a group of rules (sweep and live stream alike)."""
    by_rule: dict[str, list[Match]] = {}
    for m in matches:
        by_rule.setdefault(m.rule_id, []).append(m)
    out: list[Violation] = []
    for rule in rules:
        if rule.id in by_rule:
            out.extend(build_violations(rule, by_rule[rule.id], index, infos, params, as_of))
    return out


def build_violations(
    rule: CompiledRule,
    matches: list[Match],
    facts: Mapping[str, dict[str, Any]],
    infos: Mapping[str, FactInfo],
    params: Mapping[str, Any],
    as_of: dt.datetime,
) -> list[Violation]:
    """Turn one rule's matches in one bundle into violations, one per identity."""
    best: dict[tuple[str, str, str, str], tuple[tuple[Any, ...], Violation]] = {}
    for match in matches:
        env = {alias: facts[fid] for alias, fid in match.bindings}
        subject_info = infos[env[rule.spec.subject]["id"]]
        occurrence = subject_info.occurrence
        if rule.occurrence is not None:
            value = rule.occurrence(env)
            if value is not None:
                occurrence = f"{occurrence}/{value}" if occurrence else str(value)
        violation = _violation(rule, match, env, infos, params, as_of, subject_info, occurrence)
        rank = (
            VARIANT_ORDER.get(match.variant, 9),
            tuple((e.type, e.id, e.version) for e in violation.evidence),
            violation.message,
        )
        key = violation.identity
        if key not in best or rank < best[key][0]:
            best[key] = (rank, violation)
    return [v for _, v in best.values()]


def _violation(
    rule: CompiledRule,
    match: Match,
    env: dict[str, dict[str, Any]],
    infos: Mapping[str, FactInfo],
    params: Mapping[str, Any],
    as_of: dt.datetime,
    subject: FactInfo,
    occurrence: str,
) -> Violation:
    variant = next(v for v in rule.variants if v.name == match.variant)
    standing = _standing_condition(rule, env, infos)
    # a standing condition's finding is judged as an unmet obligation (overdue), whichever side of its
    # first day the instant falls
    judged_as = "overdue" if standing and match.variant == "due_soon" else match.variant
    severity = rule.base_severity[judged_as]
    for sev, test in rule.severity_when:
        if test(env) is True:
            severity = sev
            break
    deadline = infos[env[DL_ALIAS]["id"]].deadline if DL_ALIAS in env else None
    due = deadline.due_text if deadline else None
    user_aliases = [a for a in rule.spec.match if a in env]
    params_used = _params_used(env, infos)  # read once: the message and the finding's facts both say it
    given: MessageContext = {
        "due": due,
        "params": dict(params, **params_used),
        "state": "overdue" if judged_as == "overdue" else variant.state,
        "variant": match.variant,
        "now": as_of.isoformat(),
        "rule": {"id": rule.id, "title": rule.spec.title, "citation": rule.spec.citation},
    }
    if MET_ALIAS in env:
        given["met"] = dict(infos[env[MET_ALIAS]["id"]].raw)
    context: dict[str, Any] = {a: {k: _json_value(v) for k, v in infos[env[a]["id"]].raw.items()} for a in user_aliases}
    context.update(given)
    message = render_message(
        rule.message,
        context,
        rule_id=rule.id,
        ruleset=f"{rule.framework}@{rule.ruleset_version}",
        subject=(subject.subject_type, subject.subject_id),
        tz=deadline.tz if deadline else subject.tz,
    )
    evidence: dict[tuple[str, str, int], None] = {}
    for alias in user_aliases + ([MET_ALIAS] if MET_ALIAS in env else []):
        info = infos[env[alias]["id"]]
        if info.version is not None:
            evidence[(info.type, info.record_id, info.version)] = None
        for src in info.sources:
            evidence[src] = None
    facts_used: dict[str, Any] = {}
    for ref in rule.used_refs:
        if ref.alias in INTERNAL_ALIASES or ref.alias not in env or ref.field.startswith(local_days.PREFIX):
            continue  # a local day a condition compared with (date('...')) is the rule's, not a field of the record
        field = "id" if ref.field == "rid" else ref.field
        raw = infos[env[ref.alias]["id"]].raw
        facts_used.setdefault(
            ref.alias, {"type": infos[env[ref.alias]["id"]].type, "id": infos[env[ref.alias]["id"]].record_id}
        )[field] = _json_value(raw.get(field))
    if deadline is not None and not standing:
        facts_used["deadline"] = {
            "due": deadline.due_text,
            # the instant the due day (or instant) has passed, in UTC: what orders a list by deadline,
            # since `due` is a local date for some rules and an instant for others
            "overdue_after": iso_instant(deadline.overdue_after),
            "explanation": deadline.explanation,
            "convention": deadline.convention,
        }
    if params_used:
        facts_used[PARAMS_USED] = params_used  # the values not of the evaluation's day its due was counted with
    facts_used["as_of"] = as_of.isoformat()
    establishment = None
    if rule.establishment is not None:
        value = rule.establishment(env)
        establishment = None if value is None or not isinstance(value, str) else value
    if establishment is None:
        establishment = subject.raw.get("establishment_id") or (
            subject.record_id if subject.type == "establishment" else None
        ) or subject.establishment
    return Violation(
        rule_id=rule.id,
        framework=rule.framework,
        ruleset_version=rule.ruleset_version,
        title=rule.spec.title,
        citation=rule.spec.citation,
        severity=severity,  # type: ignore[arg-type]
        advisory=rule.spec.advisory or _advisory_fact(env, user_aliases, infos),
        kind=rule.spec.kind,
        state="violation" if standing else variant.state,  # type: ignore[arg-type]
        variant=match.variant,
        due=None if standing else due,
        subject=SubjectRef(type=subject.subject_type, id=subject.subject_id),
        occurrence_key=occurrence,
        message=message,
        evidence=[EvidenceRef(type=t, id=i, version=v) for t, i, v in sorted(evidence)],
        facts=facts_used,
        establishment_id=establishment,
        sop=rule.spec.sop,
    )


def _standing_condition(rule: CompiledRule, env: dict[str, dict[str, Any]], infos: Mapping[str, FactInfo]) -> bool:
    """Whether the fact an obligation's clock runs from says it is a standing condition, with no
    deadline (`no_deadline`): an unencrypted laptop, a confirmed exclusion, visits by an unlicensed
    clinician. Such a duty shares its rule with real deadlines (a re-verification, a monthly check),
    so the derivation, which knows which is which, says so per fact; the finding is then a
    `violation` with no `due` (CONTRACT: a condition with no deadline), while its message still reads
    the day the condition began as `due`."""
    obligation = rule.spec.obligation
    if obligation is None:
        return False
    alias = obligation.anchor.split(".", 1)[0]
    return alias in env and infos[env[alias]["id"]].raw.get("no_deadline") is True


def _advisory_fact(env: dict[str, dict[str, Any]], aliases: list[str], infos: Mapping[str, FactInfo]) -> bool:
    """Whether a fact the match used says its finding is advisory (`advisory`): a rule the catalog
    holds binding in one case and advisory in another (OSHA-BBP-SIL-011: a sharps log where Part 1904
    records are required, "else low advisory") has the derivation, which knows the case, say so."""
    return any(infos[env[a]["id"]].raw.get("advisory") is True for a in aliases)


def merge(violations: list[Violation]) -> list[Violation]:
    """Deduplicate across bundles (a reference-only rule may match in more than one) and sort."""
    best: dict[tuple[str, str, str, str], Violation] = {}
    for v in violations:
        key = v.identity
        cur = best.get(key)
        if cur is None or (VARIANT_ORDER.get(v.variant, 9), -SEVERITY_ORDER[v.severity]) < (
            VARIANT_ORDER.get(cur.variant, 9),
            -SEVERITY_ORDER[cur.severity],
        ):
            best[key] = v
    return [best[k] for k in sorted(best)]


def _params_used(env: Mapping[str, Mapping[str, Any]], infos: Mapping[str, FactInfo]) -> dict[str, Any]:
    """The parameter values the match's facts say they used instead of the evaluation day's (a window
    counted from an anchor before a change, `engine.rules.param_history`), by name."""
    out: dict[str, Any] = {}
    for alias in sorted(env):
        info = infos.get(env[alias]["id"])
        used = info.raw.get(PARAMS_USED) if info is not None else None
        if isinstance(used, dict):
            out.update(used)
    return out
