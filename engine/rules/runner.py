"""Evaluation runs: records as of an instant -> facts -> bundles -> backend -> violations.

The runner never reads YAML and never touches the database: it gets compiled rulesets and a
`RecordSource` (the pipeline adapts the record store to it), so the same run can be fed from
storage, from files, or from a scenario test.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import hashlib
import time
from collections import ChainMap
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any, Protocol

from engine import heap
from engine.clock import ensure_utc
from engine.errors import EngineFailure, ErrorDetail
from engine.rules import bundles
from engine.rules.backends import Backend, Match, get_backend
from engine.rules.compiler.model import DEADLINE, TRIGGER, CompiledRule, CompiledRuleset
from engine.rules.derive import DERIVATIONS, Derivation, DeriveContext, DerivedFact, RecordView, load_families
from engine.rules.facts import FactBuilder, FactInfo, Zones
from engine.rules.facttypes import all_fact_types, record_fact_types
from engine.rules.param_history import merged
from engine.rules.results import merge, violations_of
from engine.rules.schemas import RulesetRef, RunResult, Violation
from engine.rules.shared_scan import start_derivations


class RecordSource(Protocol):
    """Where a run reads records from: the latest known version of each, one type at a time."""

    def iter_type(self, record_type: str) -> Iterator[RecordView]: ...

    def iter_ids(self, record_type: str, ids: list[str]) -> Iterator[RecordView]:
        """The named records of one type (unknown ids skipped), by id."""
        ...


@dataclass
class ListSource:
    """Records held in memory (scenario tests, `vigil evaluate --records` without a database)."""

    records: list[RecordView]

    def iter_type(self, record_type: str) -> Iterator[RecordView]:
        return iter(sorted((r for r in self.records if r.type == record_type), key=lambda r: r.id))

    def iter_ids(self, record_type: str, ids: list[str]) -> Iterator[RecordView]:
        wanted = set(ids)
        return iter(sorted((r for r in self.records if r.type == record_type and r.id in wanted), key=lambda r: r.id))


@dataclass
class _HashingSource:
    inner: RecordSource
    seen: set[str] = field(default_factory=set)
    total: int = 0
    count: int = 0

    def iter_type(self, record_type: str) -> Iterator[RecordView]:
        if record_type in self.seen:
            yield from self.inner.iter_type(record_type)
            return
        self.seen.add(record_type)
        # reduced modulo 2**256 once, in `digest` (the sum grows a bit per doubling of the count):
        # reduced per record, with the lookups, this was a tenth of a 1x sweep's thread
        sha256, from_bytes = hashlib.sha256, int.from_bytes
        for view in self.inner.iter_type(record_type):
            self.total += from_bytes(sha256(f"{view.type}|{view.id}|{view.version}".encode()).digest(), "big")
            self.count += 1
            yield view

    def iter_ids(self, record_type: str, ids: list[str]) -> Iterator[RecordView]:
        """Only for a type already read whole (and so already in the input hash)."""
        assert record_type in self.seen, record_type
        return self.inner.iter_ids(record_type, ids)

    def digest(self) -> str:
        return f"{self.total % (1 << 256):064x}"


@dataclass
class _Bundles:
    facts: dict[str, list[dict[str, Any]]] = field(default_factory=dict)
    reference: list[dict[str, Any]] = field(default_factory=list)
    infos: dict[str, FactInfo] = field(default_factory=dict)
    #: family -> the reference facts its rules read (each bundle gets only those)
    by_family: dict[str, list[dict[str, Any]]] = field(default_factory=dict)
    #: event fact id -> derived facts that belong with that one event (evaluated in its chunk)
    attached: dict[str, list[dict[str, Any]]] = field(default_factory=dict)


Progress = Callable[[str, int], None]
#: Records held in memory (every type but events and the care links) from which the heavy
#: derivations (see `Derivation.heavy`) run in a forked process, on the other core, while this one
#: reads, runs the rest and builds facts. The large synthetic practice holds 580k: its sweep went
#: from 65 s and 1.8 GB to 41 s and 0.6 GB here plus 0.9 GB private in that process (bench/README.md).
#: The demo practice holds 18k; there a fork would cost more than it saves.
DERIVE_PROCESS_MIN_RECORDS = 100_000


def evaluate_rules(
    source: RecordSource,
    rulesets: list[CompiledRuleset],
    as_of: dt.datetime,
    *,
    backend: str = "python",
    known_at: dt.datetime | None = None,
    progress: Progress | None = None,
    derive_process: bool | None = None,
) -> RunResult:
    """Evaluate every ruleset against the records as of `as_of`; deterministic for the same input.

    `derive_process`: run the heavy derivations (`Derivation.heavy`) in a forked process (None:
    when the practice is large enough, see DERIVE_PROCESS_MIN_RECORDS). Same results either way.
    Cyclic garbage collection is paused meanwhile (see `engine.heap`: the sweep holds what it reads).
    """
    with heap.collector_paused(), contextlib.ExitStack() as cleanup:
        return _evaluate_rules(source, rulesets, as_of, backend=backend, known_at=known_at, progress=progress,
                               derive_process=derive_process, cleanup=cleanup)


def _evaluate_rules(
    source: RecordSource,
    rulesets: list[CompiledRuleset],
    as_of: dt.datetime,
    *,
    backend: str,
    known_at: dt.datetime | None,
    progress: Progress | None,
    derive_process: bool | None,
    cleanup: contextlib.ExitStack,
) -> RunResult:
    """`evaluate_rules` with the collector paused; `cleanup` ends the derive process however the run ends."""
    started = time.perf_counter()
    as_of = ensure_utc(as_of)
    load_families()
    engine_backend = get_backend(backend)
    types = all_fact_types()
    hashing = _HashingSource(source)
    reads = _Reads.of(rulesets)
    memory, fork = _hold_records(hashing, reads, derive_process)
    establishments, zones, ctx = derive_setup(memory, rulesets, as_of)
    builder = FactBuilder(rulesets, types, as_of, zones)

    nonevent = [d for d in reads.derivations if not d.event]
    derived = start_derivations(nonevent, ctx, memory, hashing.iter_type, fork=fork)
    cleanup.callback(derived.close)  # a sweep that fails before collecting it leaves no derive process behind
    store = _Bundles()
    _place_records(store, memory, reads.needed, builder, establishments)
    late, deferred = _deferred(nonevent, derived.in_child)
    local = derived.local()
    for i, d in enumerate(nonevent):
        if i not in deferred:
            _place_derived(store, builder, d, local[i])
    sweep = _Sweep(rulesets, as_of, reads, memory, ctx, hashing, builder, store, engine_backend, progress)

    if late is not None:
        # everything that does not wait for the derive process runs while it works: the bundles,
        # then the event logs and event derivations of the families it does not feed (a sweep's
        # order does not change its results: the violations are merged and sorted, the input hash
        # is a sum)
        sweep.run_bundles(lambda family: family not in late)
        sweep.run_event_types(lambda family: family not in late)
    produced = {**local, **derived.remote()}
    for i in deferred:
        d = nonevent[i]
        if late is not None and not d.attaches_to_event:
            _refuse_stray(d, produced[i], late)
        _place_derived(store, builder, d, produced[i])
    sweep.run_bundles(lambda family: late is None or family in late)
    sweep.run_event_types(lambda family: late is None or family in late)
    result, counts = sweep.close()
    return RunResult(
        as_of=as_of,
        known_at=known_at,
        backend=engine_backend.name,
        rulesets=[RulesetRef(id=rs.framework, version=rs.version, sha256=rs.sha256) for rs in rulesets],
        params={rs.framework: rs.params for rs in rulesets},
        param_history={rs.framework: rs.history.as_json() for rs in rulesets if rs.history},
        input_hash=hashing.digest(),
        counts=counts,
        duration_ms=int((time.perf_counter() - started) * 1000),
        violations=result,
    )


@dataclass(frozen=True)
class _Reads:
    """What a run reads: the fact types its rules match, the derivations that feed them, and the
    record types read for either (event logs are streamed; the rest are held in memory)."""

    needed: set[str]  # fact types the rules' patterns name
    derivations: list[Derivation]  # the derivations producing one of them, in registry order
    held: set[str]  # record types held in memory (but `heavy_only` when the derive process reads them)
    heavy_only: set[str]  # of those, the types read only by heavy derivations that are not event ones
    event_types: set[str]  # record types streamed as event logs

    @classmethod
    def of(cls, rulesets: list[CompiledRuleset]) -> _Reads:
        needed = _needed_types(rulesets)
        derivations = [d for _, d in DERIVATIONS if d.output in needed]
        record_types = record_fact_types()
        wanted_records = {t for t in needed if t in record_types}
        for d in derivations:
            wanted_records.update(d.inputs)
        wanted_records.update({"organization", "establishment", "employment_episode"})
        event_types = {t for t in wanted_records if record_types[t].event}
        heavy_only = {t for t in wanted_records - event_types - needed
                      if all(d.heavy and not d.event for d in derivations if t in d.inputs)}
        return cls(needed, derivations, wanted_records - event_types, heavy_only, event_types)


def _hold_records(hashing: _HashingSource, reads: _Reads,
                  derive_process: bool | None) -> tuple[dict[str, list[RecordView]], bool]:
    """The records held in memory, by type, and whether the heavy derivations run in a forked process.

    Types read only by heavy derivations (care links, by the snooping alerts) are not held here when
    those run in the derive process: it reads them from the spool instead.
    """
    memory: dict[str, list[RecordView]] = {}
    for t in sorted(reads.held - reads.heavy_only):
        memory[t] = list(hashing.iter_type(t))
    held = sum(len(views) for views in memory.values())
    fork = derive_process if derive_process is not None else held >= DERIVE_PROCESS_MIN_RECORDS
    if not fork:
        for t in sorted(reads.heavy_only):
            memory[t] = list(hashing.iter_type(t))
    return memory, fork


def _place_records(store: _Bundles, memory: Mapping[str, list[RecordView]], needed: set[str], builder: FactBuilder,
                   establishments: Iterable[str]) -> None:
    """The held records' facts into their bundles (an empty bundle for every establishment and the org)."""
    for est_id in establishments:
        store.facts.setdefault(f"establishment:{est_id}", [])
    store.facts.setdefault("org:*", [])
    for t in sorted(memory):
        if t not in needed:
            continue  # read only by derivations (e.g. care links): no rule matches it as a fact
        for view in memory[t]:
            key = bundles.bundle_key(t, view.id, view.data)
            _place(store, builder.record(view), t, key)


def _deferred(nonevent: list[Derivation], remote: set[int]) -> tuple[set[str] | None, list[int]]:
    """The families whose matching waits for the derive process's facts (None: every family), and the
    derivations (by index in `nonevent`) whose facts are placed only then.

    Bundles of families no fact of the derive process joins are matched while it still works; the
    rest once its facts are in. Facts are placed in derivation order either way, so every bundle
    holds the same facts in the same order as without the process.
    """
    late: set[str] | None = {nonevent[i].family for i in remote}
    if any(nonevent[i].reference for i in remote):
        late = None  # its facts go into every bundle: nothing can start early
    deferred = [i for i, d in enumerate(nonevent) if i in remote or (
        not d.reference and (late is None or d.family in late))]
    return late, deferred


def _refuse_stray(d: Derivation, produced: list[DerivedFact], late: set[str]) -> None:
    """Refuse facts of a deferred derivation for a family matched before they came: its bundles were
    matched already, and a missed match must not pass silently."""
    stray = sorted({df.bundle_key for df in produced if bundles.family_of_key(df.bundle_key) not in late})
    if stray:
        raise EngineFailure(f"derivation {d.name} (family {d.family}) produced facts for other families' "
                            "bundles", [ErrorDetail(reason=f"bundle {key}") for key in stray[:10]])


class _Sweep:
    """The matching half of a run: bundles and event logs sent to the backend family by family, as
    their facts become complete, with the run's counts."""

    def __init__(self, rulesets: list[CompiledRuleset], as_of: dt.datetime, reads: _Reads,
                 memory: Mapping[str, list[RecordView]], ctx: DeriveContext, hashing: _HashingSource,
                 builder: FactBuilder, store: _Bundles, backend: Backend, progress: Progress | None) -> None:
        self.as_of, self.memory, self.ctx = as_of, memory, ctx
        self.hashing, self.builder, self.store, self.progress = hashing, builder, store, progress
        self.event_types = reads.event_types
        self.event_derivations = [d for d in reads.derivations if d.event]
        #: family -> the outputs of its derivations whose facts travel with one event
        self.attached_outputs: dict[str, set[str]] = {}
        for d in reads.derivations:
            if d.attaches_to_event:
                self.attached_outputs.setdefault(d.family, set()).add(d.output)
        self.matcher = _Matcher(backend)
        self.counts = {"bundles": 0, "facts": 0, "events": 0, "matches": 0}
        self.by_family = _rules_by_family(rulesets)

    def run_bundles(self, families: Callable[[str], bool]) -> None:
        """Match the bundles of the families `families` admits."""
        store, by_family, counts = self.store, self.by_family, self.counts
        # the reference facts are complete here: every derivation that yields them has been placed
        store.by_family = {family: _reference_for(store.reference, groups) for family, groups in by_family.items()}
        for key in sorted(store.facts):
            family = bundles.family_of_key(key)
            if family not in by_family or not families(family):
                continue
            reference = store.by_family[family]
            if family == "establishment":
                own = f"establishment/{bundles.subject_of_key(key)}"
                reference = [f for f in reference if f["t"] != "establishment" or f["id"] == own]
            facts = reference + store.facts[key]
            counts["bundles"] += 1
            counts["facts"] += len(facts)
            _run_bundle(self.matcher, by_family[family], key, facts, self.builder, store.infos, self.as_of)
            if self.progress:
                self.progress("bundles", 1)

    def run_event_types(self, families: Callable[[str], bool]) -> None:
        """Match the event logs and event derivations of the families `families` admits."""
        store, by_family, hashing = self.store, self.by_family, self.hashing
        for t in sorted(self.event_types):
            family = bundles.family_of(t, {})
            if family not in by_family or not families(family):
                continue
            views = hashing.iter_type(t)
            if t in hashing.seen and _needs_attached(by_family[family], self.attached_outputs.get(family, set())):
                # every rule over these events also needs a fact attached to the event (e.g. a snooping
                # alert): only events with one can match, so only those are read back, not the whole log
                views = hashing.iter_ids(t, sorted({fid.split("/", 1)[1] for fid in store.attached if
                                                    fid.startswith(f"{t}/")}))
            _run_events(self.matcher, by_family[family], store.by_family[family], t, views, self.builder, store,
                        self.as_of, self.counts, self.progress)
        for d in self.event_derivations:
            if d.family not in by_family or not families(d.family):
                continue
            inputs = {t: (self.memory[t] if t in self.memory else hashing.iter_type(t)) for t in d.inputs}
            _run_derived_events(self.matcher, by_family[d.family], store.by_family[d.family], d.fn(self.ctx, inputs),
                                self.builder, store, self.as_of, self.counts, self.progress)

    def close(self) -> tuple[list[Violation], dict[str, int]]:
        """The run's violations, merged, and its counts (once every family is matched)."""
        result = merge(self.matcher.close())
        self.counts["matches"] = self.matcher.matches  # it had stayed 0 on every run
        self.counts["violations"] = len(result)
        self.counts["records"] = self.hashing.count
        return result, self.counts


def _needed_types(rulesets: Iterable[CompiledRuleset]) -> set[str]:
    out: set[str] = set()
    for rs in rulesets:
        for rule in rs.rules:
            for v in rule.variants:
                out.update(p.fact_type for p in v.patterns if p.fact_type not in (TRIGGER, DEADLINE))
    return out


def _place(store: _Bundles, built: list[tuple[dict[str, Any], FactInfo]], fact_type: str, key: str) -> None:
    for fact, info in built:
        store.infos[fact["id"]] = info
        if key == "reference" or fact_type in bundles.REFERENCE_TYPES:
            store.reference.append(fact)
            if fact_type == "establishment":
                store.facts.setdefault(f"establishment:{info.record_id}", [])
        else:
            store.facts.setdefault(key, []).append(fact)


def _place_derived(store: _Bundles, builder: FactBuilder, d: Derivation, produced: list[DerivedFact]) -> None:
    for df in produced:
        if d.attaches_to_event:
            _attach(store, builder.derived(df), df.bundle_key)
        else:
            _place(store, builder.derived(df), df.type, "reference" if d.reference else df.bundle_key)


def _attach(store: _Bundles, built: list[tuple[dict[str, Any], FactInfo]], event_fact_id: str) -> None:
    """Derived facts about one event (e.g. a snooping alert) travel in that event's chunk only."""
    for fact, info in built:
        store.infos[fact["id"]] = info
        store.attached.setdefault(event_fact_id, []).append(fact)


def _reference_for(
    reference: list[dict[str, Any]], groups: list[tuple[CompiledRuleset, list[CompiledRule]]]
) -> list[dict[str, Any]]:
    """The reference facts a family's rules can match: facts of the types its patterns name, and
    the deadlines of its own rules. Copying every reference fact into every bundle made a sweep's
    cost grow with bundles x reference facts."""
    types: set[str] = set()
    rule_ids: set[str] = set()
    for _, rules in groups:
        for rule in rules:
            rule_ids.add(rule.id)
            for v in rule.variants:
                types.update(p.fact_type for p in v.patterns)
    return [f for f in reference if f["t"] in types and (f["t"] != DEADLINE or f.get("rule") in rule_ids)]


def _needs_attached(groups: list[tuple[CompiledRuleset, list[CompiledRule]]], attached: set[str]) -> bool:
    """Does every variant of every rule match a (positive) fact attached to its event?"""
    if not attached:
        return False
    return all(
        any(p.fact_type in attached and not p.negated for p in v.patterns)
        for _, rules in groups for rule in rules for v in rule.variants
    )


def derive_setup(memory: Mapping[str, list[RecordView]], rulesets: Iterable[CompiledRuleset],
                 as_of: dt.datetime) -> tuple[dict[str, dict[str, Any]], Zones, DeriveContext]:
    """The establishments (id -> record data with its id), the time zones, and the derivations'
    context of a run over the records held in `memory` (establishments, episodes, organization)."""
    establishments = {v.id: dict(v.data, id=v.id) for v in memory.get("establishment", [])}
    zones = Zones.of(establishments, (ep.data for ep in memory.get("employment_episode", [])), as_of)
    rulesets = list(rulesets)
    params: dict[str, Any] = {}
    for rs in rulesets:
        params.update(rs.params)
    orgs = memory.get("organization", [])
    ctx = DeriveContext(
        as_of=as_of,
        params=params,
        tz_of=lambda v: zones.tz(v.type, v.data),
        establishments={k: RecordView("establishment", k, 0, v) for k, v in establishments.items()},
        organization=orgs[0] if orgs else None,
        history=merged(rs.history for rs in rulesets),
    )
    return establishments, zones, ctx


def _rules_by_family(rulesets: list[CompiledRuleset]) -> dict[str, list[tuple[CompiledRuleset, list[CompiledRule]]]]:
    out: dict[str, list[tuple[CompiledRuleset, list[CompiledRule]]]] = {}
    for rs in rulesets:
        fam: dict[str, list[CompiledRule]] = {}
        for rule in rs.rules:
            fam.setdefault(rule.family, []).append(rule)
        for family, rules in fam.items():
            out.setdefault(family, []).append((rs, rules))
    return out


def _run_bundle(
    matcher: _Matcher,
    groups: list[tuple[CompiledRuleset, list[CompiledRule]]],
    sid: str,
    facts: list[dict[str, Any]],
    builder: FactBuilder,
    infos: Mapping[str, FactInfo],
    as_of: dt.datetime,
) -> None:
    index = {f["id"]: f for f in facts}
    for rs, rules in groups:
        rule_ids = frozenset(r.id for r in rules)
        triggers = [builder.trigger(r.id) for r in rules if not r.event]
        for trig in triggers:
            index[trig["id"]] = trig

        def finish(matches: list[Match], rules: list[CompiledRule] = rules, params: Any = rs.params) -> list[Violation]:
            return violations_of(rules, matches, index, infos, params, as_of)

        matcher.add(rs, rule_ids, sid, facts, triggers, finish)


class _Matcher:
    """Sends bundles to the backend and turns their matches into violations.

    A backend that matches in another process (durable_rules' worker) gets bundles in batches of
    about BATCH_FACTS facts, one batch in flight: while the worker matches batch k this process
    builds the facts of batch k+1, so the sweep uses both cores. Other backends match at once.
    Violations come out in submission order either way.
    """

    BATCH_FACTS = 20_000

    def __init__(self, backend: Backend) -> None:
        self.backend = backend
        self.submit = getattr(backend, "submit", None)
        self.violations: list[Violation] = []
        self.batch: list[tuple[tuple[Any, ...], Callable[[list[Match]], list[Violation]]]] = []
        self.batch_facts = 0
        self.pending: tuple[Any, list[Callable[[list[Match]], list[Violation]]]] | None = None
        #: raw matches the backend returned (before one violation is kept per identity): the run's count
        self.matches = 0

    def add(self, rs: CompiledRuleset, rule_ids: frozenset[str], sid: str, facts: list[dict[str, Any]],
            triggers: list[dict[str, Any]], finish: Callable[[list[Match]], list[Violation]]) -> None:
        if self.submit is None:
            found = self.backend.evaluate(rs, rule_ids, sid, facts, triggers)
            self.matches += len(found)
            self.violations.extend(finish(found))
            return
        self.batch.append(((rs, rule_ids, sid, facts, triggers), finish))
        self.batch_facts += len(facts) + len(triggers)
        if self.batch_facts >= self.BATCH_FACTS:
            self._send()

    def _send(self) -> None:
        if not self.batch:
            return
        self._collect()
        assert self.submit is not None
        self.pending = (self.submit([b for b, _ in self.batch]), [f for _, f in self.batch])
        self.batch, self.batch_facts = [], 0

    def _collect(self) -> None:
        if self.pending is None:
            return
        pending, finishes = self.pending
        self.pending = None
        for matches, finish in zip(pending.result(), finishes, strict=True):
            self.matches += len(matches)
            self.violations.extend(finish(matches))

    def close(self) -> list[Violation]:
        self._send()
        self._collect()
        return self.violations


def _run_events(
    matcher: _Matcher,
    groups: list[tuple[CompiledRuleset, list[CompiledRule]]],
    reference: list[dict[str, Any]],
    fact_type: str,
    views: Iterator[RecordView],
    builder: FactBuilder,
    store: _Bundles,
    as_of: dt.datetime,
    counts: dict[str, int],
    progress: Progress | None,
) -> None:
    def built() -> Iterator[list[tuple[dict[str, Any], FactInfo]]]:
        for view in views:
            yield builder.record(view)

    _chunked(matcher, groups, reference, f"event:{fact_type}", built(), store, builder, as_of, counts, progress)


def _run_derived_events(
    matcher: _Matcher,
    groups: list[tuple[CompiledRuleset, list[CompiledRule]]],
    reference: list[dict[str, Any]],
    produced: Iterator[DerivedFact],
    builder: FactBuilder,
    store: _Bundles,
    as_of: dt.datetime,
    counts: dict[str, int],
    progress: Progress | None,
) -> None:
    def built() -> Iterator[list[tuple[dict[str, Any], FactInfo]]]:
        for df in produced:
            yield builder.derived(df)

    _chunked(matcher, groups, reference, "event:derived", built(), store, builder, as_of, counts, progress)


def _chunked(
    matcher: _Matcher,
    groups: list[tuple[CompiledRuleset, list[CompiledRule]]],
    reference: list[dict[str, Any]],
    prefix: str,
    items: Iterator[list[tuple[dict[str, Any], FactInfo]]],
    store: _Bundles,
    builder: FactBuilder,
    as_of: dt.datetime,
    counts: dict[str, int],
    progress: Progress | None,
) -> None:
    chunk: list[dict[str, Any]] = []
    chunk_infos: dict[str, FactInfo] = {}
    n_chunk = 0

    def flush() -> None:
        nonlocal chunk, chunk_infos, n_chunk
        if not chunk:
            return
        facts = reference + chunk
        counts["bundles"] += 1
        counts["facts"] += len(facts)
        # each chunk keeps its own infos until its matches are read (possibly after later chunks)
        _run_bundle(matcher, groups, f"{prefix}#{n_chunk}", facts, builder, ChainMap(chunk_infos, store.infos), as_of)
        if progress:
            progress("events", len(chunk))
        chunk, chunk_infos = [], {}
        n_chunk += 1

    for built in items:
        for fact, info in built:
            chunk_infos[fact["id"]] = info
            chunk.append(fact)
            chunk.extend(store.attached.get(fact["id"], ()))
            counts["events"] += 1
        if len(chunk) >= bundles.EVENT_CHUNK:
            flush()
    flush()
