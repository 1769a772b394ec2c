"""Generate the rules catalog pages (docs/rules/<framework>.md) from the rulesets themselves.

The pages describe the rulesets folder in use (VIGIL_RULESETS_DIR, else the installation's
rulesets/) and its SOP titles come from the policies in use (VIGIL_POLICIES_DIR): `vigil rules docs`
had documented the installation's rulesets while every other `rules` command, evaluation and
publishing read the folder set, so a liaison's catalog left out the versions they had published.

The catalog is built as data first (`catalog`, what `vigil rules docs --json` prints) and the pages
are written from that data, so the two never say different things.
"""

from __future__ import annotations

import datetime as dt
import re
from pathlib import Path
from typing import Any

import yaml

from engine.rules import versions
from engine.rules.catalog import load_all, policies_dir, rulesets_dir
from engine.rules.loader import LoadedRuleset
from engine.rules.spec import RuleSpec

#: a Jinja2 expression, statement or comment in an SOP title
_PRINTED = re.compile(r"\{\{(.*?)\}\}", re.S)
_TAG = re.compile(r"\{%.*?%\}|\{#.*?#\}", re.S)
_DOTTED = re.compile(r"[A-Za-z_][A-Za-z0-9_]*(?:\.[A-Za-z_][A-Za-z0-9_]*)*")
#: the names an SOP template is rendered with, which say nothing to a reader of the title
_CONTEXT = {"finding", "task", "sop", "facts"}


def title_shown(template: str) -> str:
    """An SOP title as a reader of the catalog should see it: each printed value named in angle
    quotes ("First audit log review of {{ finding.subject.id }}" is "First audit log review of
    ‹subject id›"), tags and comments dropped. The catalog had printed the template as written."""
    def named(match: re.Match[str]) -> str:
        expr = match.group(1).split("|")[0].strip()
        path = expr if _DOTTED.fullmatch(expr) else ""
        parts = [p for p in path.split(".") if p] if path else []
        while len(parts) > 1 and parts[0] in _CONTEXT:
            parts = parts[1:]
        words = " ".join(parts[-2:]).replace("_", " ").strip()
        return f"‹{words or 'value'}›"

    return " ".join(_PRINTED.sub(named, _TAG.sub("", template)).split())


def _sop_title(sop: str, policies: Path) -> str:
    path = policies / "sops" / f"{sop}.md"
    if not path.exists():
        return "(missing template)"
    text = path.read_text()
    if text.startswith("---"):
        try:
            front = yaml.safe_load(text.split("---", 2)[1]) or {}
            return str(front.get("title", ""))
        except yaml.YAMLError:
            return ""
    return ""


def _obligation(rule: RuleSpec) -> str | None:
    ob = rule.obligation
    if not ob:
        return None
    window = f"{ob.within.amount} {ob.within.unit}"
    met = f"; met by {ob.met_by} ({ob.met_at})" if ob.met_by else (f"; met at `{ob.met_at}`" if ob.met_at else "")
    conv = f", convention {ob.convention}" if ob.convention else ""
    return (f"within {window} of `{ob.anchor}`{conv}{met}"
            + (f"; warning {ob.warn.amount} {ob.warn.unit} before" if ob.warn else "")
            + ("; late completion is a finding" if ob.late else ""))


def _never(item: LoadedRuleset) -> bool:
    """Withdrawn on or before its first day: the version never takes effect."""
    return item.withdrawn_on is not None and item.withdrawn_on <= item.spec.effective_from


def _spans(item: LoadedRuleset, items: list[LoadedRuleset]) -> list[tuple[dt.date, dt.date | None]]:
    """The stretches of days `item` is the version in force, as (first day, first day after or None),
    withdrawals and later versions applied."""
    changes = versions.in_force_from(items, item.spec.framework, dt.date.min)
    ends = [*(d for d, _ in changes[1:]), None]
    return [(start, end) for (start, chosen), end in zip(changes, ends, strict=True) if chosen is item]


def _window(item: LoadedRuleset, items: list[LoadedRuleset],
            spans: list[tuple[dt.date, dt.date | None]]) -> str:
    """When `item` is in force, in words: its first day to its last, and what ends it. 2026.1.0 had
    read "2013-09-23 to open" though 2026.2.0 takes over from 2027-01-01."""
    s = item.spec
    if _never(item):
        return f"never: withdrawn before {s.effective_from}, its first day"
    if not spans:
        return "never: a later version takes over on its first day"
    said = [f"{a} to {b - dt.timedelta(days=1)}" if b else f"{a} to open" if i == 0 else f"from {a}"
            for i, (a, b) in enumerate(spans)]
    out = said[0] + "".join(f", again {x}" for x in said[1:])
    end = spans[-1][1]
    successor = next((i for i in items if end is not None and i is not item and i.spec.effective_from == end
                      and i.in_force(end)), None)
    if successor is not None and item.withdrawn_on != end:
        out += f" (then {successor.spec.version})"
    if item.withdrawn_on is not None:
        out += f", withdrawn from {item.withdrawn_on}"
    return out


def framework_data(items: list[LoadedRuleset], policies: Path | None = None) -> dict[str, Any]:
    """One framework's catalog: its versions (when each is in force), and the newest version's
    parameters and rules."""
    policies = policies or policies_dir()
    items = sorted(items, key=lambda x: x.spec.effective_from)
    # the newest version that takes effect: one withdrawn from its first day never does (its
    # parameters and rules had been documented as the framework's)
    newest = next((i for i in reversed(items) if not _never(i)), items[-1]).spec
    listed = []
    for it in items:
        spans = [] if _never(it) else _spans(it, items)
        listed.append({
            "version": it.spec.version, "file": Path(it.path).name, "sha256": it.sha256,
            "effective_from": it.spec.effective_from.isoformat(), "effective_to": _iso(it.spec.effective_to),
            "withdrawn_on": _iso(it.withdrawn_on),
            "in_force": [{"from": a.isoformat(), "to": _iso(b - dt.timedelta(days=1) if b else None)}
                         for a, b in spans],
            "in_force_said": _window(it, items, spans),
        })
    rules = []
    for r in newest.rules:
        template = _sop_title(r.sop, policies)
        rules.append({
            "id": r.id, "title": r.title, "citation": r.citation, "severity": r.severity, "kind": r.kind,
            "tag": r.tag, "advisory": r.advisory,
            "effective_from": _iso(r.effective_from), "effective_to": _iso(r.effective_to),
            "description": " ".join(r.description.split()) if r.description else None,
            "match": {alias: str(pattern) for alias, pattern in r.match.items()}, "when": r.when,
            "obligation": _obligation(r),
            "sop": {"id": r.sop, "title": title_shown(template), "title_template": template},
        })
    return {
        "framework": newest.framework, "title": newest.title, "authority": newest.authority,
        "documented_version": newest.version, "versions": listed,
        "params": [{"name": name, "type": p.type, "unit": p.unit, "default": p.default, "description": p.description}
                   for name, p in sorted(newest.params.items())],
        "rules": rules,
    }


def render_framework(items: list[LoadedRuleset], policies: Path | None = None) -> str:
    """One framework's page: its versions, and the newest version's parameters and rules."""
    return _page(framework_data(items, policies))


def _page(data: dict[str, Any]) -> str:
    out = [
        f"# {data['title']}",
        "",
        f"Framework `{data['framework']}`. Generated by `vigil rules docs` from the rulesets; do not edit by hand.",
        "",
        "| version | in force | file | sha256 |",
        "|---|---|---|---|",
    ]
    for v in data["versions"]:
        out.append(f"| {v['version']} | {v['in_force_said']} | `{v['file']}` | `{v['sha256'][:16]}` |")
    out += [
        "",
        f"Authority: {data['authority']}",
        "",
        "## Parameters",
        "",
        "| name | type | unit | default | meaning |",
        "|---|---|---|---|---|",
    ]
    for p in data["params"]:
        out.append(f"| `{p['name']}` | {p['type']} | {p['unit'] or ''} | `{p['default']}` | {p['description']} |")
    out += ["", f"## Rules ({len(data['rules'])})", ""]
    for r in data["rules"]:
        flags = ", ".join(x for x in [r["kind"], f"tag {r['tag']}" if r["tag"] else "",
                                      "advisory" if r["advisory"] else ""] if x)
        out += [f"### {r['id']} · {r['title']}", "", f"- citation: {r['citation']}",
                f"- severity: {r['severity']} ({flags})"]
        if r["effective_from"] or r["effective_to"]:
            first = r["effective_from"] or next(v["effective_from"] for v in data["versions"]
                                                if v["version"] == data["documented_version"])
            out.append(f"- in force: {first} to {r['effective_to'] or 'open'} (the rule's own dates, inside its "
                       "ruleset's)")
        if r["description"]:
            out.append(f"- what it checks: {r['description']}")
        out += [f"- `{alias}`: {pattern}" for alias, pattern in r["match"].items()]
        if r["when"]:
            out.append(f"- when: `{r['when']}`")
        if r["obligation"]:
            out.append(f"- obligation: {r['obligation']}")
        out.append(f"- SOP: `{r['sop']['id']}` {r['sop']['title']}")
        out.append("")
    return "\n".join(out).rstrip() + "\n"


def catalog(root: Path | None = None, policies: Path | None = None) -> list[dict[str, Any]]:
    """Every framework's catalog data of `root` (default: the rulesets folder in use), by framework."""
    policies = policies or policies_dir()
    by_framework: dict[str, list[LoadedRuleset]] = {}
    for item in load_all(root or rulesets_dir()):
        by_framework.setdefault(item.spec.framework, []).append(item)
    return [framework_data(items, policies) for _, items in sorted(by_framework.items())]


def render_all(root: Path | None = None, policies: Path | None = None) -> dict[str, str]:
    """Every page, by file name: one per framework of `root` (default: the rulesets folder in use,
    `rulesets_dir`) and the README index."""
    return render_pages(catalog(root, policies))


def render_pages(frameworks: list[dict[str, Any]]) -> dict[str, str]:
    """The pages of `catalog`'s data: one per framework and the README index."""
    pages = {f"{fw['framework']}.md": _page(fw) for fw in frameworks}
    index = [
        "# Rules catalog",
        "",
        "Generated by `vigil rules docs`.",
        "",
        "| framework | rules | page |",
        "|---|---|---|",
    ]
    for fw in frameworks:
        index.append(f"| {fw['title']} | {len(fw['rules'])} | [{fw['framework']}.md]({fw['framework']}.md) |")
    pages["README.md"] = "\n".join(index) + "\n"
    return pages


def _iso(day: dt.date | None) -> str | None:
    return day.isoformat() if day is not None else None
