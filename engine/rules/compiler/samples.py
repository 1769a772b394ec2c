"""Render each rule's message against sample records at validation, as an evaluation would render it.

Why: the static check (`messages.compile_message`) reads a template's text, and what only running
it shows had passed validation and publishing, then stopped every evaluation with
`ruleset.message.render_failed` (no findings for any framework): `{{ 10 ** 10 ** 10 }}`, a `range`
of a billion, `{{ sys.name.ljust(19000) }}`, `{{ sys.added_at | round(2) }}` (an instant is text),
a macro calling itself. A template that fails on a sample record of the right shape fails on every
finding of its rule, so validation says so, naming the rule, the field and the error.

The samples are built from the fact types the rule's patterns name (`facttypes`): every field
given a value of its kind (text, a number, an instant and a date as records write them, true, a
list), then again with each field left empty that a record may leave empty (a field the record
contract does not require; a derived fact's fields are its derivation's to fill) unless the rule's
conditions read it, as an empty field does not match them. Each variant the rule has (overdue, due
soon, late with its `met` record; or violation) is rendered, under the same sandbox and bounds as at
evaluation.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Mapping
from typing import Any

from engine.errors import ErrorDetail, RulesetError
from engine.rules.compiler.messages import MessageContext, MessageTemplate, render_message
from engine.rules.compiler.patterns import PATTERN_RE
from engine.rules.facttypes import FactType, FieldKind, all_fact_types
from engine.rules.spec import RuleSpec

#: A value of each kind of field, as a record's fields reach a message (dates and instants as text).
SAMPLE_VALUES: dict[FieldKind, Any] = {
    "instant": "2026-03-02T09:30:00+00:00", "date": "2026-03-02", "number": 3, "string": "sample", "bool": True,
    "list": ["sample"], "dict": {}, "any": "sample",
}
_NOW = "2026-03-09T12:00:00+00:00"


@functools.cache
def _required(record_type: str) -> frozenset[str]:
    """The fields the record contract requires of a record type (none for a derived fact type)."""
    from engine.records.schemas import RECORD_MODELS

    model = RECORD_MODELS.get(record_type)
    return frozenset(model.model_json_schema().get("required", ())) if model is not None else frozenset()


def _record(name: str, kind_of: FactType, read: frozenset[str], *, empty: bool) -> dict[str, Any]:
    """A sample record of fact type `name`: every field filled, or (with `empty`) those a record may
    leave empty set to None, but the fields the rule's conditions read (`read`)."""
    out: dict[str, Any] = {"id": f"{name.upper()}-1"}
    keep = _required(name) | read
    for field, kind in kind_of.fields.items():
        # a derived fact's fields are the derivation's to fill (a list of missing clauses is a list)
        left = empty and not kind_of.derived and field not in keep
        out[field] = None if left else SAMPLE_VALUES.get(kind, "sample")
    return out


def _aliases(rule: RuleSpec, types: Mapping[str, FactType]) -> dict[str, str] | None:
    """Each positive alias's fact type, as the patterns write it; None when one names no known type
    (the compiler refuses the pattern, and a sample would mean nothing)."""
    out: dict[str, str] = {}
    for alias, text in rule.match.items():
        m = PATTERN_RE.match(str(text))
        if m is None or m.group("type") not in types:
            return None
        if not m.group("no"):
            out[alias] = m.group("type")
    return out


def _read_fields(rule: RuleSpec, alias: str) -> frozenset[str]:
    """The fields of `alias` the rule's conditions name (in its own pattern, bare or `alias.x`, and
    `alias.x` in the others, in `when` and as the obligation's anchor): a record leaving one empty is
    mostly not matched (`x == null` is, and is read as filled: a failure missed, never one made up)."""
    # an obligation's anchor too: a record without one has no deadline, so no finding
    texts = [str(t) for t in rule.match.values()] + [rule.when or "", rule.obligation.anchor if rule.obligation else ""]
    found = {m.group(1) for t in texts for m in re.finditer(rf"(?<![\w.]){re.escape(alias)}\.(\w+)", t)}
    own = PATTERN_RE.match(str(rule.match.get(alias, "")))
    if own is not None and own.group("cond"):
        found |= set(re.findall(r"(?<![\w.])([a-z_]\w*)\b(?!\s*[.(])", own.group("cond")))
    return frozenset(found)


def _variants(rule: RuleSpec) -> list[tuple[str, str, str | None]]:
    """(variant, state, due) of each way the rule reports: an obligation's overdue, due_soon and
    late (a due date, or an instant for an hour window), else one violation with no due."""
    ob = rule.obligation
    if ob is None:
        return [("violation", "violation", None)]
    due = "2026-03-05T09:30:00+00:00" if ob.within.unit == "hours" or ob.cutoff else "2026-03-05"
    out: list[tuple[str, str, str | None]] = [("overdue", "overdue", due), ("due_soon", "due_soon", due)]
    if ob.late:
        out.append(("late", "violation", due))
    return out


def sample_problems(rule: RuleSpec, params: Mapping[str, Any], *, ruleset: str, file: str,
                    types: Mapping[str, FactType] | None = None) -> list[ErrorDetail]:
    """Why the rule's message fails on sample records of its patterns' types (at most one problem:
    the first failure, with the sample it failed on); empty when it renders."""
    types = types if types is not None else all_fact_types()
    aliases = _aliases(rule, types)
    if aliases is None:
        return []
    met_type = None
    if rule.obligation is not None and rule.obligation.met_by:
        m = PATTERN_RE.match(rule.obligation.met_by)
        met_type = m.group("type") if m is not None and m.group("type") in types else None
    template = MessageTemplate(rule.message)
    for empty in (False, True):
        records = {a: _record(t, types[t], _read_fields(rule, a), empty=empty) for a, t in aliases.items()}
        for variant, state, due in _variants(rule):
            given: MessageContext = {"due": due, "params": dict(params), "state": state, "variant": variant,
                                     "now": _NOW, "rule": {"id": rule.id, "title": rule.title,
                                                           "citation": rule.citation}}
            if variant == "late" and met_type is not None:
                given["met"] = _record(met_type, types[met_type], frozenset(), empty=empty)
            try:
                render_message(template, {**records, **given}, rule_id=rule.id, ruleset=ruleset,
                               subject=("sample", "1"))
            except RulesetError as exc:
                why = exc.details[0].reason.removeprefix("message could not be rendered") if exc.details else ""
                sample = "sample records with the fields a record may leave empty left empty" if empty else \
                    "sample records of its patterns' types"
                return [ErrorDetail(
                    reason=f"message fails when rendered ({variant}, with {sample}){why}: every finding of the rule "
                           "would stop the evaluation (ruleset.message.render_failed)",
                    file=file, line=rule.lines.get("message", rule.line), rule_id=rule.id, field="message")]
    return []
