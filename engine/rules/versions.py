"""Ruleset versions for the liaison: list (with where each stands today), read and diff two versions,
and which version is in force on each day from a day on (`in_force_from`).

Publishing and withdrawing are `engine.rules.publish`; a draft's impact is `pipeline.preview_draft`."""

from __future__ import annotations

import datetime as dt
import difflib
import json
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from pydantic import BaseModel, Field

from engine import clock
from engine.errors import NotFoundError
from engine.rules.catalog import in_force, load_all, rulesets_dir, version_key
from engine.rules.loader import LoadedRuleset

#: Where a version stands on a day: the one in force, one that starts later, one a later version
#: replaced, one past its effective_to, one withdrawn by a liaison (`withdrawn_on` says from when).
STATUSES = ("in force", "scheduled", "superseded", "ended", "withdrawn")


class RulesetVersion(BaseModel):
    framework: str
    version: str
    title: str
    effective_from: dt.date
    effective_to: dt.date | None
    sha256: str
    rules: int
    path: str  # relative to the rulesets folder (the server's own paths are not the caller's business)
    status: str = "in force"
    withdrawn_on: dt.date | None = None
    withdrawal_reason: str | None = None
    #: the later version that takes over, and its first day: this one is in force until the day before
    superseded_by: str | None = None
    superseded_on: dt.date | None = None
    #: the days it is the version in force, when they are not simply its window up to its successor (a
    #: later version withdrawn puts it back in force; one withdrawn before its first day never was):
    #: "2013-09-23 to 2027-06-30, again from 2027-07-15"; None when the window says it
    in_force_days: str | None = None


class RulesetDiff(BaseModel):
    framework: str
    from_version: str
    to_version: str
    added: list[str]
    removed: list[str]
    changed: list[str]
    params_changed: dict[str, dict[str, Any]]
    changed_fields: dict[str, list[str]] = Field(
        default_factory=dict, description="per changed rule, the keys that differ (message, match, severity...)")
    header_changed: dict[str, dict[str, Any]] = Field(
        default_factory=dict, description="top-level fields that differ (title, effective dates, authority)")
    unified: str


def status_on(item: LoadedRuleset, live: set[tuple[str, str]], day: dt.date) -> str:
    """One of STATUSES for `item` on `day`, `live` being the (framework, version) pairs in force then."""
    s = item.spec
    if (s.framework, s.version) in live:
        return "in force"
    # withdrawn from its first day or before it: it never takes effect, so not "scheduled" (the list
    # had said "scheduled (withdrawn from 2027-01-01)", and `rules show` showed its rules by default)
    if item.withdrawn_on is not None and (item.withdrawn_on <= day or item.withdrawn_on <= s.effective_from):
        return "withdrawn"
    if s.effective_from > day:
        return "scheduled"
    return "ended" if item.ends is not None and item.ends <= day else "superseded"


def _summary(item: LoadedRuleset, live: set[tuple[str, str]], day: dt.date,
             successor: LoadedRuleset | None = None, loaded: list[LoadedRuleset] | None = None) -> RulesetVersion:
    s = item.spec
    return RulesetVersion(framework=s.framework, version=s.version, title=s.title, effective_from=s.effective_from,
                          effective_to=s.effective_to, sha256=item.sha256, rules=len(s.rules),
                          path=_relative(item.path), status=status_on(item, live, day), withdrawn_on=item.withdrawn_on,
                          withdrawal_reason=item.withdrawal.reason if item.withdrawal else None,
                          superseded_by=successor.spec.version if successor else None,
                          superseded_on=successor.spec.effective_from if successor else None,
                          in_force_days=_days_said(item, loaded or [item], successor))


def list_versions(day: dt.date | None = None, *, loaded: list[LoadedRuleset] | None = None) -> list[RulesetVersion]:
    """Every version of every ruleset, oldest first per framework, with its status on `day` (today).

    `loaded`: the versions already read from the rulesets folder in use (default: read them), so a
    caller that holds them (`vigil rules list`) reads the folder once and shows the same statuses."""
    day = day or clock.now().date()
    loaded = load_all(rulesets_dir()) if loaded is None else loaded
    live = {(i.spec.framework, i.spec.version) for i in in_force(loaded, day)}
    return sorted((_summary(i, live, day, _successor(i, loaded), loaded) for i in loaded),
                  key=lambda v: (v.framework, v.effective_from, version_key(v.version)))


def change_days(loaded: Iterable[LoadedRuleset], framework: str, day: dt.date) -> list[dt.date]:
    """`day` and every later day on which the version of `framework` in force may change (a version's
    first day, or the first day after its end or withdrawal), in order. Between two of them the same
    version is in force (or none is), so a question about every day from `day` on is answered by
    asking it of these days."""
    later = {d for i in loaded if i.spec.framework == framework
             for d in (i.spec.effective_from, i.ends) if d is not None and d > day}
    return sorted({day} | later)


def in_force_from(loaded: Iterable[LoadedRuleset], framework: str,
                  day: dt.date) -> list[tuple[dt.date, LoadedRuleset | None]]:
    """The versions of `framework` in force from `day` on, as (first day, version or None when no
    version is in force) at each day that changes, oldest first. What `in_force` chooses day by day,
    so a later version supersedes an earlier one and a withdrawal puts the one before back in force:
    a version scheduled later, or one in force before `day` and superseded since, is not said to be
    in force because its own dates cover a day."""
    mine = [i for i in loaded if i.spec.framework == framework]
    out: list[tuple[dt.date, LoadedRuleset | None]] = []
    for d in change_days(mine, framework, day):
        chosen = next(iter(in_force(mine, d, [framework])), None)
        if not out or out[-1][1] is not chosen:
            out.append((d, chosen))
    return out


def spans_in_force(loaded: Iterable[LoadedRuleset], framework: str) -> list[tuple[dt.date, dt.date | None]]:
    """The stretches of days on which some version of `framework` is in force, as (first day, first
    day after, None when open-ended), oldest first: the framework's real time in force, withdrawals
    and supersession applied (a version withdrawn before its start adds nothing)."""
    spans: list[tuple[dt.date, dt.date | None]] = []
    for start, item in in_force_from(loaded, framework, dt.date.min):
        if item is not None and (not spans or spans[-1][1] is not None):
            spans.append((start, None))
        elif item is None and spans and spans[-1][1] is None:
            spans[-1] = (spans[-1][0], start)
    return spans


def said_in_force(spans: list[tuple[dt.date, dt.date | None]]) -> str:
    """`spans_in_force` for a person, each stretch from its first day to its last: "has versions in
    force from 2013-09-23 to 2026-12-31, and from 2027-03-01"."""
    if not spans:
        return "has no version in force on any day (each was withdrawn before it took effect)"
    said = [f"from {start.isoformat()}" + (f" to {(end - dt.timedelta(days=1)).isoformat()}" if end else "")
            for start, end in spans]
    return "has versions in force " + ", and ".join(said)


def _successor(item: LoadedRuleset, loaded: list[LoadedRuleset]) -> LoadedRuleset | None:
    """The version that takes over from `item` before it ends: the first later one of its framework
    that comes into force (a version withdrawn from its first day never does). Without it a version
    superseded next January read "effective 2026-01-01 to -", as if it ran on."""
    s = item.spec
    mine = (s.effective_from, version_key(s.version))
    later = sorted((i for i in loaded if i.spec.framework == s.framework and i is not item
                    and (i.spec.effective_from, version_key(i.spec.version)) > mine
                    and i.in_force(i.spec.effective_from)),
                   key=lambda i: (i.spec.effective_from, version_key(i.spec.version)))
    nxt = next(iter(later), None)
    if nxt is None or (item.ends is not None and item.ends <= nxt.spec.effective_from):
        return None
    return nxt


def _days_said(item: LoadedRuleset, loaded: list[LoadedRuleset], successor: LoadedRuleset | None) -> str | None:
    """The stretches of days `item` is the version in force, in words, when its window up to its
    successor does not say them. The rulesets page had shown 2026.1.0 "2013-09-23 - 2027-07-01 (then
    2026.2.0)" after 2026.2.0 was withdrawn from 2027-07-15, when 2026.1.0 is in force again then."""
    spans: list[tuple[dt.date, dt.date | None]] = []
    changes = in_force_from(loaded, item.spec.framework, dt.date.min)
    for (start, chosen), after in zip(changes, [*(d for d, _ in changes[1:]), None], strict=True):
        if chosen is item:
            spans.append((start, after))
    declared_end = item.spec.effective_to or (successor.spec.effective_from if successor else None)
    if item.withdrawn_on is not None and (declared_end is None or item.withdrawn_on < declared_end):
        declared_end = item.withdrawn_on
    if spans == [(item.spec.effective_from, declared_end)]:
        return None
    if not spans:
        return "never: withdrawn before its first day" if item.withdrawn_on is not None else "never"
    said = [f"{a} to {b - dt.timedelta(days=1)}" if b is not None else f"from {a}" for a, b in spans]
    return said[0] + "".join(f", again {stretch}" for stretch in said[1:])


def param_change_text(before: dict[str, Any] | None, after: dict[str, Any] | None) -> str:
    """One parameter's change between two versions, in words, as the CLI and the diff page say it:
    "added: int, default 14 days", "removed (was: int, default 30 days)", "default 30 -> 10". The CLI
    had printed the declaration as JSON (`"minimum": null, "maximum": null, ...`), and the page
    "default null -> 14" for an added one."""
    if before is None and after is None:
        return "-"
    if before is None:
        return f"added: {_declared(after or {})}"
    if after is None:
        return f"removed (was: {_declared(before)})"
    keys = [k for k in sorted(set(before) | set(after)) if before.get(k) != after.get(k)]
    return "; ".join(f"{k} {_said(before.get(k))} -> {_said(after.get(k))}" for k in keys) or "unchanged"


def _declared(spec: dict[str, Any]) -> str:
    unit = f" {spec['unit']}" if spec.get("unit") else ""
    return f"{spec.get('type', '?')}, default {_said(spec.get('default'))}{unit}"


def _said(value: Any) -> str:
    if value is None:
        return "none"
    if isinstance(value, str):
        return repr(value)
    return json.dumps(value) if isinstance(value, list | dict | bool) else str(value)


def _relative(path: str) -> str:
    """`framework/file.yaml` for a file under the rulesets folder, else the file's name."""
    p = Path(path)
    return f"{p.parent.name}/{p.name}"


def get_version(framework: str, version: str) -> LoadedRuleset:
    for item in load_all(rulesets_dir()):
        if item.spec.framework == framework and item.spec.version == version:
            return item
    raise NotFoundError(f"no ruleset {framework}@{version}")


def diff_versions(framework: str, from_version: str, to_version: str) -> RulesetDiff:
    return diff_loaded(get_version(framework, from_version), get_version(framework, to_version))


def diff_loaded(a: LoadedRuleset, b: LoadedRuleset) -> RulesetDiff:
    """What changed from `a` to `b` (two versions, or a version and a draft file not yet published)."""
    framework, from_version, to_version = a.spec.framework, a.spec.version, b.spec.version
    ra = {r.id: r.model_dump(mode="json", exclude={"line"}) for r in a.spec.rules}
    rb = {r.id: r.model_dump(mode="json", exclude={"line"}) for r in b.spec.rules}
    pa = {k: v.model_dump(mode="json") for k, v in a.spec.params.items()}
    pb = {k: v.model_dump(mode="json") for k, v in b.spec.params.items()}
    params = {k: {"from": pa.get(k), "to": pb.get(k)} for k in sorted(set(pa) | set(pb)) if pa.get(k) != pb.get(k)}
    unified = "".join(difflib.unified_diff(a.content.decode().splitlines(keepends=True),
                                           b.content.decode().splitlines(keepends=True),
                                           fromfile=f"{framework}@{from_version}", tofile=f"{framework}@{to_version}"))
    ha = a.spec.model_dump(mode="json", exclude={"version", "params", "rules"})
    hb = b.spec.model_dump(mode="json", exclude={"version", "params", "rules"})
    header = {k: {"from": ha.get(k), "to": hb.get(k)} for k in sorted(set(ha) | set(hb)) if ha.get(k) != hb.get(k)}
    return RulesetDiff(framework=framework, from_version=from_version, to_version=to_version,
                       added=sorted(set(rb) - set(ra)), removed=sorted(set(ra) - set(rb)),
                       changed=sorted(k for k in set(ra) & set(rb) if ra[k] != rb[k]), params_changed=params,
                       changed_fields={k: sorted(f for f in set(ra[k]) | set(rb[k]) if ra[k].get(f) != rb[k].get(f))
                                       for k in sorted(set(ra) & set(rb)) if ra[k] != rb[k]},
                       header_changed=header, unified=unified)
