"""Live evaluation of imported events on durable_rules (ARCHITECTURE: the live stream).

As the import writes each batch, the events in it are matched at once by the event rules in
force, in a durable_rules session that holds the practice's slim reference facts plus the batch
(one writer: the host lock), and findings are written idempotently (same identity, same finding).
Event findings are never auto-resolved; the nightly sweep remains the reference.

Two parts with one job each:

- `StreamMatcher` turns batches of events into violations: facts, event derivations, matching,
  violations. Only the facts some event rule's own conditions admit reach the matcher
  (`engine.rules.prefilter`): most events are read by no rule, and asserting them was half the
  stream's matching time. It needs the session only to read the practice's reference records when it is made.
  Pipelined: durable_rules runs in a worker process, so a batch is submitted to it and the matcher
  returns at once; the matches of batch k are collected (and turned into violations) when batch k+1
  is submitted, and those of the last batch by `drain()`.
- `EventStream` is what the import calls: it hands each batch's events to the matcher and writes
  the violations as findings, in the import's own transaction.

On an import of full batches (`PROCESS_MIN_EVENTS`) the matcher runs in a forked stream process
(`engine.stream_process`) on the other core, so the import parses, validates and stores the next
batch while that process builds facts, matches them on durable_rules and renders violations; only the
stored JSON texts of the events go to it and only violations come back. A small import stays in
this process (a fork costs more than it saves there). Either way every finding is written before
the import writes its own audit entry, and a failure in any batch (a worker error, a run declared
void, a stream process that died and whose replacement died too) fails the import, whose unit of
work rolls every batch back.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import time
from typing import TYPE_CHECKING, Any, Protocol, cast

from sqlalchemy.orm import Session

from engine import clock
from engine.findings import service as findings_service
from engine.findings.schemas import EvaluationRun
from engine.records import service as records_service
from engine.records.ingest import WrittenVersion
from engine.records.schemas import EVENT_TYPES
from engine.rules.backends import Backend, Match, get_backend
from engine.rules.catalog import compile_in_force
from engine.rules.compiler.model import CompiledRule, CompiledRuleset
from engine.rules.derive import DERIVATIONS, DeriveContext, RecordView, load_families
from engine.rules.derive_process import can_fork
from engine.rules.facts import FactBuilder, FactInfo, Zones
from engine.rules.facttypes import all_fact_types
from engine.rules.param_history import merged
from engine.rules.prefilter import FactFilter
from engine.rules.results import merge, violations_of
from engine.rules.schemas import RulesetRef, RunResult, Violation

if TYPE_CHECKING:
    from engine.stream_process import StreamProcess

REFERENCE_TYPES = ("organization", "establishment", "system", "employment_episode")
#: Violations are written once this many have been found (and at the end of the import): the
#: fixed cost of a findings write (queries, the run's diff, an audit entry) is then paid rarely.
WRITE_EVERY = 1000
#: An import whose first batch of events is at least this large matches in a stream process.
PROCESS_MIN_EVENTS = 1000
Bundle = tuple[CompiledRuleset, frozenset[str], str, list[dict[str, Any]], list[dict[str, Any]]]


class _Pending(Protocol):
    def result(self) -> list[list[Match]]: ...


class _Submitter(Protocol):
    def submit(self, bundles: list[Bundle]) -> _Pending: ...


class StreamMatcher:
    """The event rules in force at `as_of` and the practice's reference facts, matching batches."""

    def __init__(self, session: Session, *, org_id: str, as_of: dt.datetime, backend: str, pipelined: bool) -> None:
        self.org_id = org_id
        self.as_of = as_of
        self.backend = get_backend(backend)
        submit = getattr(self.backend, "submit", None) if pipelined else None
        self._submitter = cast(_Submitter, self.backend) if submit is not None else None
        self._inflight: tuple[_Pending, list[dict[str, Any]], dict[str, FactInfo]] | None = None
        self.batches = 0
        load_families()
        self.rulesets = compile_in_force(as_of)
        self.groups: list[tuple[CompiledRuleset, list[CompiledRule]]] = []
        for rs in self.rulesets:
            rules = [r for r in rs.rules if r.event]
            if rules:
                self.groups.append((rs, rules))
        self.filter = FactFilter(r for _, rules in self.groups for r in rules)
        self.held_back = 0  # facts of batches no pattern could bind, not sent to the matcher
        memory: dict[str, list[RecordView]] = {t: [] for t in REFERENCE_TYPES}
        for rec in records_service.iter_records(session, org_id=org_id, types=list(REFERENCE_TYPES)):
            memory[rec.type].append(RecordView(rec.type, rec.id, rec.version, rec.data))
        establishments = {v.id: dict(v.data, id=v.id) for v in memory["establishment"]}
        self.zones = Zones.of(establishments, (v.data for v in memory["employment_episode"]), as_of)
        self.builder = FactBuilder(self.rulesets, all_fact_types(), as_of, self.zones)
        self.reference: list[dict[str, Any]] = []
        self.infos: dict[str, FactInfo] = {}
        for t in ("organization", "establishment", "system"):
            for view in memory[t]:
                for fact, info in self.builder.record(view):
                    self.reference.append(fact)
                    self.infos[fact["id"]] = info
        self.event_derivations = [d for _, d in DERIVATIONS if d.event and any(
            d.output == p.fact_type for _, rules in self.groups for r in rules for v in r.variants for p in v.patterns)]
        self.derived_inputs: dict[str, list[RecordView]] = {}
        for d in self.event_derivations:
            for t in d.inputs:
                if t not in EVENT_TYPES and t not in self.derived_inputs:
                    self.derived_inputs[t] = [RecordView(r.type, r.id, r.version, r.data) for r in
                                              records_service.iter_records(session, org_id=org_id, types=[t])]

    def match_here(self, backend: Backend) -> None:
        """Match every later batch synchronously on `backend` (the stream process's own durable_rules)."""
        assert self._inflight is None, "a batch is still being matched"
        self.backend = backend
        self._submitter = None

    def match(self, views: list[RecordView]) -> list[list[Violation]]:
        """Match one batch of events; returns the violations of each batch finished by now (merged,
        in order: with pipelining, the previous batch's)."""
        facts: list[dict[str, Any]] = []
        batch_infos: dict[str, FactInfo] = {}
        admits = self.filter.admits
        for view in views:
            for fact, info in self.builder.record(view):
                if admits(fact):
                    facts.append(fact)
                    batch_infos[fact["id"]] = info
                else:
                    self.held_back += 1
        if self.event_derivations:
            ctx = DeriveContext(as_of=self.as_of, params={k: v for rs in self.rulesets for k, v in rs.params.items()},
                                tz_of=lambda v: self.zones.tz(v.type, v.data),
                                establishments={k: RecordView("establishment", k, 0, v)
                                                for k, v in self.zones.establishments.items()},
                                history=merged(rs.history for rs in self.rulesets))
            for d in self.event_derivations:
                inputs = {t: ([v for v in views if v.type == t] if t in EVENT_TYPES else self.derived_inputs.get(t, []))
                          for t in d.inputs}
                for df in d.fn(ctx, inputs):
                    for fact, info in self.builder.derived(df):
                        if admits(fact):
                            facts.append(fact)
                            batch_infos[fact["id"]] = info
                        else:
                            self.held_back += 1
        self.batches += 1
        sid = f"stream:{self.org_id}:{self.batches}"
        bundle = self.reference + facts
        bundles: list[Bundle] = [(rs, frozenset(r.id for r in rules), sid, bundle, []) for rs, rules in self.groups]
        if self._submitter is None:  # synchronous: match now
            return self._violations([self.backend.evaluate(*b) for b in bundles], bundle, batch_infos)
        previous = self._collect()  # the worker is free once the previous batch is read back
        self._inflight = (self._submitter.submit(bundles), bundle, batch_infos)
        # ... and matches this batch while the previous one's violations are rendered
        return [] if previous is None else self._violations(*previous)

    def drain(self) -> list[list[Violation]]:
        """The violations of the batch still in the worker, if any."""
        previous = self._collect()
        return [] if previous is None else self._violations(*previous)

    def _collect(self) -> tuple[list[list[Match]], list[dict[str, Any]], dict[str, FactInfo]] | None:
        if self._inflight is None:
            return None
        (pending, bundle, batch_infos), self._inflight = self._inflight, None
        return pending.result(), bundle, batch_infos

    def _violations(self, matches: list[list[Match]], bundle: list[dict[str, Any]],
                    batch_infos: dict[str, FactInfo]) -> list[list[Violation]]:
        """One batch's matches (one list per ruleset group) as its merged violations."""
        if not any(matches):
            return []
        index = {f["id"]: f for f in bundle}
        infos = self.infos | batch_infos  # one dict: a ChainMap's lookups were a tenth of this
        found: list[Violation] = []
        for (rs, rules), group_matches in zip(self.groups, matches, strict=True):
            found.extend(violations_of(rules, group_matches, index, infos, rs.params, self.as_of))
        return [merge(found)] if found else []


class EventStream:
    """Evaluates each imported batch's events by the event rules in force now and writes findings.

    `process`: match in a forked stream process (True), in this process (False), or decide by the
    size of the first batch and whether this platform can fork (None).
    """

    def __init__(self, session: Session, *, org_id: str, actor: str, backend: str = "durable",
                 pipelined: bool = True, process: bool | None = None) -> None:
        self.session = session
        self.org_id = org_id
        self.actor = actor
        self.backend_name = backend
        self.pipelined = pipelined
        self.use_process = process
        self.as_of = clock.now()
        self.matcher: StreamMatcher | None = None
        self.process: StreamProcess | None = None  # when the matcher runs in a stream process
        self.batches = 0
        self.events = 0
        self.violations: list[Violation] = []
        self.run: EvaluationRun | None = None
        self._unwritten: list[list[Violation]] = []  # one list per batch, each merged
        # the run's input: every event judged, in import order (one hash update a batch)
        self._input = hashlib.sha256()
        self._started = time.perf_counter()

    def on_batch(self, records: list[WrittenVersion]) -> None:
        events = [r for r in records if r.type in EVENT_TYPES]
        if not events:
            return
        matcher = self.matcher or self._start(len(events))
        if not matcher.groups:
            return
        self.batches += 1
        self.events += len(events)
        self._input.update("\n".join(f"{r.type}|{r.id}|{r.version}" for r in events).encode() + b"\n")
        if self.process is not None:
            done = self.process.exchange([(r.type, r.id, r.version, r.text) for r in events])
        else:
            done = matcher.match([RecordView(r.type, r.id, r.version, r.data) for r in events])
        self._take(done)

    def _start(self, first_batch: int) -> StreamMatcher:
        matcher = self.matcher = StreamMatcher(self.session, org_id=self.org_id, as_of=self.as_of,
                                               backend=self.backend_name, pipelined=self.pipelined)
        use = self.use_process
        if use is None:
            use = first_batch >= PROCESS_MIN_EVENTS and can_fork()
        if use and matcher.groups:
            from engine.stream_process import StreamProcess

            self.process = StreamProcess.start(matcher)
        return matcher

    def _take(self, batches: list[list[Violation]]) -> None:
        self._unwritten.extend(batches)
        if sum(len(b) for b in self._unwritten) >= WRITE_EVERY:
            self._write()

    def _write(self) -> None:
        """Write the findings of the batches matched so far, as applying them batch by batch would.

        Usually one write for them all; when one identity was found in more than one of these
        batches, batch by batch, so the later batch refreshes the finding the earlier one opened.
        """
        batches, self._unwritten = self._unwritten, []
        identities = [v.identity for b in batches for v in b]
        if len(set(identities)) == len(identities):
            batches = [merge([v for b in batches for v in b])] if batches else []
        for violations in batches:
            self._persist(violations)

    def _persist(self, violations: list[Violation]) -> None:
        assert self.matcher is not None
        groups = self.matcher.groups
        if self.run is None:
            result = RunResult(as_of=self.as_of, backend=self.matcher.backend.name,
                               rulesets=[RulesetRef(id=rs.framework, version=rs.version, sha256=rs.sha256)
                                         for rs, _ in groups],
                               params={rs.framework: rs.params for rs, _ in groups},
                               param_history={rs.framework: rs.history.as_json() for rs, _ in groups if rs.history},
                               input_hash="stream",
                               counts={}, duration_ms=0, violations=[])
            self.run = findings_service.record_run(self.session, org_id=self.org_id, result=result,
                                                   frameworks=[rs.framework for rs, _ in groups], actor=self.actor,
                                                   trigger="stream")
        findings_service.apply_run(self.session, org_id=self.org_id, run=self.run, violations=violations,
                                   actor=self.actor, stream=True)
        self.violations.extend(violations)

    def drain(self) -> None:
        """Collect the batches still being matched and write their findings (the import's last step)."""
        if self.process is not None:
            process, self.process = self.process, None
            try:
                self._take(process.finish())
            finally:
                process.stop()
        elif self.matcher is not None:
            self._take(self.matcher.drain())
        self._write()

    def close(self) -> None:
        """Stop the stream process, if one still runs (an import that failed never drains)."""
        if self.process is not None:
            process, self.process = self.process, None
            process.stop()

    def finish(self) -> dict[str, int]:
        try:
            self.drain()
        finally:
            self.close()
        counts = {"batches": self.batches, "events": self.events, "findings": len(self.violations)}
        if self.run is not None:  # recorded at its first findings: now say what it judged, and how long it took
            findings_service.complete_stream_run(
                self.session, run_id=self.run.id, input_hash=self._input.hexdigest(),
                counts=counts,
                duration_ms=round((time.perf_counter() - self._started) * 1000))
        return counts
