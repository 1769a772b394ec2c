"""One ruleset version as an OSCAL 1.2.1 catalog (its rules as controls) and profile (the practice's values).

Why: a packet's assessment results judge findings against controls (`engine.packets.oscal`), but
the controls were defined nowhere an OSCAL tool could read; an auditor had a control id and a
citation, and the ruleset's YAML. The catalog is that definition, joined to the results by the
same control ids: `oscal_ids.control_id`, the first provision a rule cites (`hipaa-164.404-a-2`).

Rules citing the same first provision get the same control id from the packets. Such a control
stands for the provision, and each of its rules is a control inside it (`<provision>.<rule id>`),
so every rule has a control of its own and every control id the results name is a control here.

A parameter whose name one rule's text alone gives is declared in that rule's control; one named by
several rules or by none (a derivation reads it) is declared at catalog level, where any control
may use it. Each control lists the parameters it names by OSCAL insertion, so a resolved profile
shows the values in force.

Everything here is deterministic and pure: no clock (timestamps come from the ruleset's
effective_from), v5 UUIDs from the ruleset's hash, rules and parameters in file order. Message
templates are never rendered: the prose comes from a rule's title, description and obligation.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from engine.packets.oscal import OSCAL_VERSION, as_markup, compact, one_line, plain_line, props_of
from engine.packets.oscal_ids import control_id, first_provision, oscal_uuid
from engine.rules.compiler.obligations import CONVENTIONS
from engine.rules.loader import LoadedRuleset
from engine.rules.spec import ObligationSpec, ParamSpec, RulesetSpec, RuleSpec, Window

#: A parameter's name as a whole word of a rule's text: `params.NAME` in an expression, a window or a
#: template, or the bare name in the description a liaison wrote.
_NAME = r"(?<![A-Za-z0-9_]){}(?![A-Za-z0-9_])"


@dataclass(frozen=True)
class ParamSetting:
    """A parameter's value for the profile: the practice's (`source` "practice", with the day its
    dated entry took effect and who approved it) or the ruleset's default."""

    name: str
    value: Any
    source: str
    since: dt.date | None = None
    approved_by: str | None = None


def param_id(framework: str, name: str) -> str:
    """`hipaa.ra_max_age_days`: a token (a framework id and a parameter name are), and never a control
    id, which has `-` after the framework."""
    return f"{framework}.{name}"


def rule_params(spec: RulesetSpec) -> dict[str, list[str]]:
    """Per rule id, the declared parameters its text names, in declaration order."""
    out: dict[str, list[str]] = {}
    for rule in spec.rules:
        text = "\n".join(_texts(rule))
        out[rule.id] = [name for name in spec.params if re.search(_NAME.format(re.escape(name)), text)]
    return out


def _texts(rule: RuleSpec) -> list[str]:
    ob = rule.obligation
    windows = [str(w.amount) for w in (ob.within, ob.warn) if w is not None] if ob else []
    return [rule.title, rule.description or "", rule.when or "", rule.message, *rule.match.values(),
            *(s.when for s in rule.severity_when), *windows]


def _instant(day: dt.date) -> str:
    return f"{day.isoformat()}T00:00:00Z"


def _value_text(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str):
        return plain_line(value)
    if isinstance(value, int | float):
        return json.dumps(value)
    return json.dumps(value, sort_keys=True, default=str)


def param_values(value: Any) -> list[str]:
    """A value as OSCAL parameter values (non-empty one-line strings): a list's items one each, a
    boolean `true`/`false`. An empty list or text has none (the `empty-value` prop says so)."""
    items = value if isinstance(value, list) else [value]
    return [text for item in items if (text := _value_text(item))]


def _empty(value: Any) -> list[dict[str, str]]:
    return props_of(("empty-value", "true")) if not param_values(value) else []


def _number(value: float | None) -> str | None:
    return None if value is None else json.dumps(int(value) if float(value).is_integer() else value)


def _param(framework: str, name: str, spec: ParamSpec) -> dict[str, Any]:
    """A declared parameter: its default as the values, its type, unit and bounds as props."""
    return compact({
        "id": param_id(framework, name),
        "props": props_of(("name", name), ("type", spec.type), ("unit", spec.unit), ("minimum", _number(spec.minimum)),
                        ("maximum", _number(spec.maximum)),
                        ("allowed", ", ".join(spec.allowed) if spec.allowed is not None else None))
        + _empty(spec.default),
        "label": one_line(name),
        "usage": as_markup(" ".join(spec.description.split())),
        "values": param_values(spec.default),
    })


def _insert(framework: str, name: str) -> str:
    return f"{{{{ insert: param, {param_id(framework, name)} }}}}"


def _window_words(framework: str, window: Window, params: Sequence[str]) -> str:
    """`30 days`, or the parameter inserted: `{{ insert: param, hipaa.baa_exit_days }} days`."""
    unit = window.unit.replace("_", " ")
    if isinstance(window.amount, str):
        name = window.amount.removeprefix("params.")
        amount = _insert(framework, name) if name in params else as_markup(window.amount)
    else:
        amount = as_markup(json.dumps(window.amount))
    return f"{amount} {as_markup(unit)}"


def _deadline(framework: str, part_id: str, ob: ObligationSpec, params: Sequence[str]) -> dict[str, Any]:
    """The obligation as a statement item: its prose, and each setting as a prop."""
    convention = ob.convention or CONVENTIONS.get(ob.within.unit)
    due = (f"Due by {as_markup(ob.anchor)}" if ob.within.amount == 0  # a date a derivation worked out
           else f"Due within {_window_words(framework, ob.within, params)} of {as_markup(ob.anchor)}")
    said = [due + (f" (convention {as_markup(convention)})" if convention else "") + "."]
    if ob.on:
        said.append(f"Fixed due day {as_markup(ob.on)} (month-day).")
    if ob.cutoff:
        said.append(f"Due by {as_markup(ob.cutoff)} on the due day" + (f", {as_markup(ob.tz)} time." if ob.tz else "."))
    elif ob.tz:
        said.append(f"Days are counted in {as_markup(ob.tz)}.")
    calendar = as_markup(ob.holiday_calendar) if ob.holiday_calendar else None
    if ob.roll_forward:
        said.append("A due day that is not a working day rolls forward"
                    + (f" (holiday calendar {calendar})." if calendar else "."))
    elif calendar:
        said.append(f"Working days skip the holidays of calendar {calendar}.")
    if ob.met_by:
        said.append(f"Met by {as_markup(ob.met_by)}, when its {as_markup(ob.met_at or '')} is recorded.")
    elif ob.met_at:
        said.append(f"Met when {as_markup(ob.met_at)} is recorded.")
    if ob.warn:
        said.append(f"Reported as due soon {_window_words(framework, ob.warn, params)} before it is due.")
    if ob.late:
        said.append("A completion after the due day is itself a finding.")
    warn = ob.warn
    return compact({
        "id": part_id,
        "name": "item",
        "title": "Deadline",
        "props": props_of(
            ("deadline-anchor", ob.anchor), ("deadline-within", f"{ob.within.amount} {ob.within.unit}"),
            ("convention", convention), ("deadline-on", ob.on), ("deadline-cutoff", ob.cutoff), ("deadline-tz", ob.tz),
            ("roll-forward", "true" if ob.roll_forward else None), ("holiday-calendar", ob.holiday_calendar),
            ("met-by", ob.met_by), ("met-at", ob.met_at),
            ("deadline-warn", f"{warn.amount} {warn.unit}" if warn else None),
            ("late-is-finding", "true" if ob.late else None),
            *((f"severity-{state.replace('_', '-')}", level) for state, level in sorted(ob.severity.items()))),
        "prose": " ".join(said),
    })


def _statement(framework: str, cid: str, rule: RuleSpec, params: Sequence[str]) -> dict[str, Any]:
    """What the rule requires, in prose: its description (else its title), its deadline and the
    parameters it names (inserted, so a resolved profile shows their values)."""
    items = []
    if rule.obligation is not None:
        items.append(_deadline(framework, f"{cid}_smt.deadline", rule.obligation, params))
    if params:
        items.append({"id": f"{cid}_smt.params", "name": "item", "title": "Parameters",
                      "prose": "\n".join(f"- {as_markup(name)}: {_insert(framework, name)}" for name in params)})
    return compact({"id": f"{cid}_smt", "name": "statement",
                     "prose": as_markup(" ".join((rule.description or rule.title).split())), "parts": items})


def _assessment(cid: str, rule: RuleSpec) -> dict[str, Any]:
    """How Vigil tests the rule: the records it matches and the condition that makes it violated."""
    said = [f"Evaluated automatically by Vigil from the practice's records ({rule.kind} rule). Records matched: "
            + "; ".join(f"{as_markup(alias)}: {as_markup(pattern)}" for alias, pattern in rule.match.items())
            + f". Subject: {as_markup(rule.subject)}."]
    if rule.when:
        said.append(f"Violated when: {as_markup(' '.join(rule.when.split()))}.")
    return {"id": f"{cid}_asm", "name": "assessment-method", "props": [{"name": "method", "value": "TEST"}],
            "prose": " ".join(said)}


def _rule_control(spec: RulesetSpec, cid: str, rule: RuleSpec, uses: list[str], owned: dict[str, str]
                  ) -> dict[str, Any]:
    fw = spec.framework
    return compact({
        "id": cid,
        "class": "rule",
        "title": one_line(rule.title),
        "params": [_param(fw, name, spec.params[name]) for name in uses if owned.get(name) == rule.id],
        "props": props_of(("label", rule.citation), ns=None) + props_of(
            ("rule-id", rule.id), ("severity", rule.severity), ("advisory", "true" if rule.advisory else "false"),
            ("kind", rule.kind), ("tag", rule.tag), ("sop", rule.sop),
            *(("severity-when", f"{s.severity}: {s.when}") for s in rule.severity_when),
            ("effective-from", rule.effective_from), ("effective-to", rule.effective_to)),
        "parts": [_statement(fw, cid, rule, uses), _assessment(cid, rule)],
    })


def _provision_control(spec: RulesetSpec, cid: str, rules: list[RuleSpec], uses: dict[str, list[str]],
                       owned: dict[str, str]) -> dict[str, Any]:
    """The control of a provision several rules cite first, each rule a control inside it."""
    provision = first_provision(rules[0].citation).strip() or rules[0].citation
    children = [_rule_control(spec, f"{cid}.{rule.id.lower()}", rule, uses[rule.id], owned) for rule in rules]
    listed = "; ".join(f"{rule.id} ({rule.title})" for rule in rules)
    return {
        "id": cid,
        "class": "provision",
        "title": one_line(f"Rules citing {provision}"),
        "props": props_of(("label", provision), ns=None) + props_of(*(("rule-id", rule.id) for rule in rules)),
        "parts": [{"id": f"{cid}_smt", "name": "statement",
                   "prose": as_markup(f"Each rule of this control cites {provision} first: {listed}.")}],
        "controls": children,
    }


def _controls(spec: RulesetSpec) -> tuple[list[dict[str, Any]], list[str]]:
    """The controls in file order, and the parameters declared at catalog level."""
    uses = rule_params(spec)
    users: dict[str, list[str]] = {name: [] for name in spec.params}
    for rule_id, names in uses.items():
        for name in names:
            users[name].append(rule_id)
    owned = {name: ids[0] for name, ids in users.items() if len(ids) == 1}
    by_control: dict[str, list[RuleSpec]] = {}
    for rule in spec.rules:
        by_control.setdefault(control_id(spec.framework, rule.citation, rule.id), []).append(rule)
    controls = [_rule_control(spec, cid, rules[0], uses[rules[0].id], owned) if len(rules) == 1
                else _provision_control(spec, cid, rules, uses, owned) for cid, rules in by_control.items()]
    return controls, [name for name in spec.params if name not in owned]


def _ruleset_props(loaded: LoadedRuleset) -> list[dict[str, str]]:
    spec = loaded.spec
    return props_of(("framework", spec.framework), ("ruleset-version", spec.version), ("ruleset-sha256", loaded.sha256),
                  ("effective-from", spec.effective_from), ("effective-to", spec.effective_to))


def ruleset_resource(loaded: LoadedRuleset, href: str) -> dict[str, Any]:
    """The back-matter resource of the ruleset file: its bytes named by SHA-256."""
    spec = loaded.spec
    return {
        "uuid": oscal_uuid("ruleset", spec.framework, spec.version, loaded.sha256),
        "title": one_line(f"Ruleset {spec.framework} {spec.version}"),
        "description": as_markup(f"The ruleset file the controls are written from ({spec.authority})."),
        "rlinks": [{"href": href, "media-type": "application/yaml",
                    "hashes": [{"algorithm": "SHA-256", "value": loaded.sha256}]}],
    }


def catalog(loaded: LoadedRuleset, *, href: str) -> dict[str, Any]:
    """The catalog of one ruleset version; `href` is where its file is (the back-matter link)."""
    spec = loaded.spec
    controls, shared = _controls(spec)
    resource = ruleset_resource(loaded, href)
    document = compact({
        "uuid": oscal_uuid("ruleset-catalog", spec.framework, spec.version, loaded.sha256),
        "metadata": {
            "title": one_line(f"{spec.title}: Vigil ruleset {spec.framework} {spec.version}"),
            "last-modified": _instant(spec.effective_from),
            "version": spec.version,
            "oscal-version": OSCAL_VERSION,
            "props": _ruleset_props(loaded) + props_of(("authority", spec.authority)),
            "links": [{"href": f"#{resource['uuid']}", "rel": "source"}],
        },
        "params": [_param(spec.framework, name, spec.params[name]) for name in shared],
        "groups": [compact({"id": spec.framework, "class": "framework", "title": one_line(spec.title),
                             "props": props_of(("authority", spec.authority)), "controls": controls})],
        "back-matter": {"resources": [resource]},
    })
    return {"catalog": document}


def settings_digest(settings: Sequence[ParamSetting]) -> str:
    """The SHA-256 of the values (and where each comes from): what names one profile of a version."""
    canonical = [[s.name, s.value, s.source, s.since.isoformat() if s.since else None, s.approved_by]
                 for s in settings]
    return hashlib.sha256(json.dumps(canonical, sort_keys=True, default=str).encode()).hexdigest()


def _set_parameter(framework: str, setting: ParamSetting) -> dict[str, Any]:
    return compact({
        "param-id": param_id(framework, setting.name),
        "props": props_of(("source", setting.source), ("effective-from", setting.since),
                        ("approved-by", setting.approved_by)) + _empty(setting.value),
        "values": param_values(setting.value),
    })


def profile(loaded: LoadedRuleset, settings: Sequence[ParamSetting], *, catalog_href: str) -> dict[str, Any]:
    """The practice's profile of the catalog: every control, with the parameter values the rules use
    (each marked `practice` or `default`). Its last-modified is the later of the ruleset's first day
    and the day the newest practice value took effect."""
    spec = loaded.spec
    digest = settings_digest(settings)
    last = max([spec.effective_from, *(s.since for s in settings if s.since is not None)])
    document = compact({
        "uuid": oscal_uuid("ruleset-profile", spec.framework, spec.version, loaded.sha256, digest),
        "metadata": {
            "title": one_line(f"Practice profile: {spec.title} ({spec.framework} {spec.version})"),
            "last-modified": _instant(last),
            "version": spec.version,
            "oscal-version": OSCAL_VERSION,
            "props": _ruleset_props(loaded) + props_of(("parameters-sha256", digest)),
        },
        "imports": [{"href": catalog_href, "include-all": {}}],
        "merge": {"as-is": True},
        "modify": compact({"set-parameters": [_set_parameter(spec.framework, s) for s in settings]}),
    })
    return {"profile": document}
