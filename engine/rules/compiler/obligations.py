"""The obligation stage of the compiler: a rule's `obligation` read into its deadline and what meets
it, then expanded into the overdue / due_soon / late variants both backends judge.

It is the one stage that knows deadlines: the window's amount and calendar convention are checked
against the calendar service here, at load time, so a deadline the calendar code would refuse is a
ruleset problem naming its rule rather than an evaluation that stops. The expansion into ordinary
pattern lists (ARCHITECTURE decision 3) is why neither backend interprets obligations itself.
"""

from __future__ import annotations

import dataclasses
import difflib
from collections.abc import Mapping
from typing import Any

from engine.rules.compiler.checks import check_written, require_time_field
from engine.rules.compiler.checks import rule_error as _err
from engine.rules.compiler.kinds import ParamInfo
from engine.rules.compiler.lower import rename_alias
from engine.rules.compiler.model import DEADLINE, DL_ALIAS, MET2_ALIAS, MET_ALIAS, DeadlineSpec, Pattern, Variant
from engine.rules.compiler.patterns import PATTERN_RE
from engine.rules.facttypes import FactType
from engine.rules.lang import nodes as n
from engine.rules.lang.parse import Scope, parse_expr
from engine.rules.spec import RuleSpec, Window, window_amount

# the calendar convention a window counts in when its obligation names none, by the window's unit
CONVENTIONS = {
    "days": "calendar_days",
    "hours": "elapsed_hours",
    "working_days": "working_days",
    "months": "months",
    "years": "months",
    "year_end_days": "year_end",
}


@dataclasses.dataclass(frozen=True)
class Obligation:
    """A rule's obligation compiled: its deadline, the anchor record's id, and what meets it."""

    deadline: DeadlineSpec
    anchor_ref: n.Ref
    met: Pattern | None = None  # met_by: the record that meets it
    met_field: str | None = None  # met_by's met_at: the field of `met` that says when
    same_record: tuple[str, str] | None = None  # met_at on a positive pattern: (alias, field)


def compile_obligation(
    rule: RuleSpec,
    positive: list[str],
    type_of: dict[str, str],
    params: dict[str, Any],
    types: dict[str, FactType],
    path: str,
    declared: Mapping[str, ParamInfo] | None,
) -> Obligation:
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
    return Obligation(deadline, n.Ref(anchor_alias, "rid"), met, met_field, same_record)


def obligation_variants(
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
