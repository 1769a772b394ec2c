"""What a finding filter or a waiver may name: frameworks, rule ids, the types a rule reports its
subjects as, and an org's establishments, subjects and records.

A filter or a waiver naming something that does not exist can never match or apply: a misspelt
framework answers "no findings", a waiver for rule NOPE-1 waives nothing. The services check the
values they are given against what is here and refuse the ones that can never mean anything.

The rulesets are read once per change of their files (path, size and mtime), not per call: the
dashboard asks a count per framework and severity, each through `list_findings`.
"""

from __future__ import annotations

import datetime as dt
import difflib
import threading
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

from sqlalchemy.orm import Session

from engine.rules.catalog import load_all, ruleset_files, rulesets_dir
from engine.rules.compiler.patterns import PATTERN_RE


@dataclass(frozen=True)
class RuleInfo:
    """A rule id across every version that has it."""

    frameworks: frozenset[str]
    subject_types: frozenset[str]  # the fact type of the rule's subject alias, in any version


@dataclass(frozen=True)
class RulesetIndex:
    """The frameworks and rule ids of every ruleset version, with what each rule reports on."""

    frameworks: frozenset[str] = frozenset()
    rules: dict[str, RuleInfo] = field(default_factory=dict)

    def rule_frameworks(self, rule_ids: Iterable[str]) -> set[str]:
        return {fw for r in rule_ids if r in self.rules for fw in self.rules[r].frameworks}


_LOCK = threading.Lock()
_CACHE: dict[str, tuple[tuple[tuple[str, int, int], ...], RulesetIndex]] = {}


def ruleset_index(root: Path | None = None) -> RulesetIndex:
    """The index of the rulesets under `root` (default: the rulesets in use, VIGIL_RULESETS_DIR)."""
    root = root or rulesets_dir()
    files = ruleset_files(root)
    signature = tuple((str(p), p.stat().st_mtime_ns, p.stat().st_size) for p in files)
    with _LOCK:
        cached = _CACHE.get(str(root))
        if cached is not None and cached[0] == signature:
            return cached[1]
    frameworks: set[str] = set()
    rules: dict[str, tuple[set[str], set[str]]] = {}
    for item in load_all(root):
        frameworks.add(item.spec.framework)
        for rule in item.spec.rules:
            fws, types = rules.setdefault(rule.id, (set(), set()))
            fws.add(item.spec.framework)
            m = PATTERN_RE.match(str(rule.match.get(rule.subject, "")))
            if m:
                types.add(m.group("type"))
    index = RulesetIndex(frozenset(frameworks),
                         {r: RuleInfo(frozenset(f), frozenset(t)) for r, (f, t) in sorted(rules.items())})
    with _LOCK:
        _CACHE[str(root)] = (signature, index)
    return index


def close(value: str, choices: Iterable[str]) -> str:
    """' (did you mean X?)' when something close exists, else ''."""
    near = difflib.get_close_matches(value, sorted(choices), n=3, cutoff=0.6)
    return f" (did you mean {', '.join(near)}?)" if near else ""


def existing_records(session: Session, *, org_id: str, record_type: str, ids: Iterable[str],
                     known_at: dt.datetime | None = None) -> set[str]:
    """Which of `ids` are records of `record_type` in the org (as known at `known_at`, default now)."""
    from engine.records import service as records_service

    wanted = sorted({i for i in ids if i})
    if not wanted:
        return set()
    return {rid for rid, _v, _d in records_service.iter_record_data_by_ids(
        session, org_id=org_id, record_type=record_type, ids=wanted, known_at=known_at)}


def any_record_known(session: Session, *, org_id: str, known_at: dt.datetime) -> bool:
    """Whether the org held any record at `known_at` (what an evaluation or packet of then would see)."""
    from engine.records import service as records_service

    return next(iter(records_service.iter_records(session, org_id=org_id, known_at=known_at, batch_size=1)),
                None) is not None
