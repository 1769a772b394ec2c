"""Translate a caller into the scope the services apply (auditor grants), and apply it to what the
services do not scope themselves.

An auditor's grant names one framework, an audit window and optionally some establishments
(`engine.auth.roles`). Everything an auditor can read answers within it, the way the findings do
(`FindingScope`): an object outside the grant does not exist for them (`NotFoundError`, 404, as in
the web UI) and lists leave it out. `finding_scope` is the one translation of a grant; every helper
below starts from it, so the API and the web UI (which imports this module) cannot drift apart.
Callers without a grant (every other role) get everything, unchanged.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from collections.abc import Iterable
from typing import Any

from sqlalchemy.orm import Session

from engine.audit import service as audit_service
from engine.audit.schemas import AuditEntry
from engine.auth.schemas import Principal
from engine.errors import ErrorDetail, NotFoundError, PermissionDeniedError, VigilError
from engine.findings import known, run_counts
from engine.findings import service as findings_service
from engine.findings.schemas import EvaluationRun, FindingFilter, FindingScope, Waiver
from engine.rules.catalog import require_frameworks
from engine.rules.versions import RulesetVersion


def finding_scope(principal: Principal) -> FindingScope | None:
    """The grant of an auditor as the scope the services apply; None for everyone else."""
    if principal.role != "auditor" or principal.grant is None:
        return None
    g = principal.grant
    return FindingScope(framework=g.framework, window_from=g.window_from, window_to=g.window_to,
                        establishments=g.establishments)


# -- rulesets --------------------------------------------------------------------------------------


def require_framework(principal: Principal, framework: str) -> None:
    """Raise NotFoundError for a framework outside the caller's grant: other frameworks do not
    exist for an auditor (their versions, YAML and diffs are "not found", as in the web UI)."""
    scope = finding_scope(principal)
    if scope is not None and framework != scope.framework:
        raise NotFoundError(f"no ruleset {framework}", [ErrorDetail(reason="unknown framework", field="framework")])


def visible_rulesets(principal: Principal, items: Iterable[RulesetVersion]) -> list[RulesetVersion]:
    """The ruleset versions of the caller's granted framework (all of them without a grant)."""
    scope = finding_scope(principal)
    return [v for v in items if scope is None or v.framework == scope.framework]


# -- evidence packets ------------------------------------------------------------------------------


def packet_filter(principal: Principal, *, framework: str | None = None) -> dict[str, Any]:
    """The keyword arguments that narrow `packets.service.list_packets`/`packet_file` to a grant:
    its framework, packets whose period lies inside the window (one reaching beyond it would show
    findings of days outside the grant), (for a grant naming establishments)
    only packets of those establishments; an org-wide packet (establishment null) covers every
    establishment, so it is outside such a grant; and (for a pseudonymised grant) only packets built
    with PHI redacted, since any other would show the patients the grant hides.

    `framework` is the caller's own filter (`GET /packets?framework=`), refused as the findings'
    filter is when it can never match: a framework with no ruleset (422, a typo had read as "no
    packets"), or for an auditor one other than the grant's (403, naming the grant's only)."""
    scope = finding_scope(principal)
    if framework is not None:
        if scope is not None and framework != scope.framework:
            raise PermissionDeniedError(
                "the filter asks for packets outside your grant",
                [ErrorDetail(reason=f"framework {framework!r} is outside your grant ({scope.framework})",
                             field="framework")], code="permission_denied.outside_grant")
        require_frameworks([framework])
    if scope is None:
        return {"framework": framework} if framework is not None else {}
    assert principal.grant is not None
    return {"framework": scope.framework, "window": (scope.window_from, scope.window_to),
            "establishments": scope.establishments, "redacted_only": principal.grant.phi == "pseudonymised"}


# -- evaluation runs -------------------------------------------------------------------------------


#: The most runs a scoped list reads back through (newest first) looking for runs in the grant.
SCOPED_RUNS_READ = 10_000


def _run_in_scope(scope: FindingScope, run: EvaluationRun) -> bool:
    """A run evaluated the granted framework as of an instant inside the window (the runs a packet
    of that framework and period lists in its runs.json)."""
    return scope.framework in run.frameworks and scope.window_from <= run.as_of.date() <= scope.window_to


def _narrowed_run(scope: FindingScope, run: EvaluationRun) -> EvaluationRun:
    """A run as a scoped reader sees it (`EvaluationRun.narrowed`): hiding each run that also covers
    a framework outside the grant would hide nearly all of them, and with them what an auditor needs
    to trace a finding (`opened_by_run`) to the ruleset versions and the parameters in force. A grant
    limited to some establishments also loses the totals (`_counted` says so)."""
    return run.narrowed(scope.framework, whole=scope.establishments is None)


#: completes "no audit entry of the run listing its findings ..." for the API (`run_counts.scope_run`)
_NO_ENTRY = "is in the audit trail (a stream run that opened nothing writes none)"


def _counted(session: Session, principal: Principal, scope: FindingScope,
             runs: list[EvaluationRun]) -> list[EvaluationRun]:
    """The runs narrowed to the grant, each whose totals it lost recounted or marked withheld.

    `narrowed` leaves `counts` and `diff` as `{}`, which an auditor read as "this run found
    nothing". As a packet's runs.json does (`run_counts.scope_run`), the diff counts are recounted
    from the run's `evaluation.run` audit entry (it lists the findings opened, reopened, resolved
    and waived) as those the grant shows (`FindingScope.admits`), and what cannot be split (`counts`,
    the findings seen again) is named in `withheld` with the reason. One read of the page's runs'
    entries and one of the findings they list, for the whole page; none when no run needs a recount."""
    shown = [(r, _narrowed_run(scope, r)) for r in runs]
    wanted = {r.id for r, n in shown if n is not r and not r.diff.get("held")}  # a held run changed nothing
    entries: dict[str, list[AuditEntry]] = defaultdict(list)
    if wanted:
        for e in audit_service.entries_of_action(session, org_id=principal.org_id, action="evaluation.run",
                                                 entity_ids=wanted):
            entries[e.entity_id].append(e)
    listed = run_counts.listed_ids(e for es in entries.values() for e in es)
    held = {f.id for f in findings_service.get_findings(session, org_id=principal.org_id, finding_ids=listed)
            if scope.admits(f)} if listed else set()
    out = []
    for run, narrowed in shown:
        if narrowed is run:
            out.append(run)
            continue
        said = run_counts.scope_run(
            {"frameworks": narrowed.frameworks, "counts": narrowed.counts, "diff": narrowed.diff},
            framework=scope.framework, establishments=scope.establishments, held=held,
            entries=entries.get(run.id, []), shared=run.frameworks != [scope.framework],
            holder="the findings your grant shows", no_entry=_NO_ENTRY)
        out.append(narrowed.model_copy(update={k: said.get(k) for k in ("counts", "diff", "withheld", "diff_counted")}))
    return out


def in_scope_runs(principal: Principal, runs: Iterable[EvaluationRun]) -> list[EvaluationRun]:
    """The runs a caller may see, as stored (`shown_runs` narrows them): with a grant, those of its
    framework as of an instant in its window."""
    scope = finding_scope(principal)
    return list(runs) if scope is None else [r for r in runs if _run_in_scope(scope, r)]


def shown_runs(session: Session, principal: Principal, runs: Iterable[EvaluationRun]) -> list[EvaluationRun]:
    """The runs a caller may see (`in_scope_runs`), each narrowed to the grant with its totals
    recounted or withheld for it (see `_narrowed_run`, `_counted`); unchanged without a grant."""
    scope = finding_scope(principal)
    if scope is None:
        return list(runs)
    return _counted(session, principal, scope, in_scope_runs(principal, runs))


def list_runs(session: Session, principal: Principal, *, limit: int = 50) -> list[EvaluationRun]:
    """The caller's `limit` latest runs (`findings.service.list_runs`), narrowed to a grant.

    The runs service knows no grant, so a scoped list reads further back (more runs each time) until
    it has `limit` runs in the grant, the store runs out, or `SCOPED_RUNS_READ` runs were read: an
    audit window long past is still listed, and the cost stays bounded."""
    if finding_scope(principal) is None:
        return findings_service.list_runs(session, org_id=principal.org_id, limit=limit)
    wanted = max(limit * 5, 250)
    while True:
        runs = findings_service.list_runs(session, org_id=principal.org_id, limit=wanted)
        kept = in_scope_runs(principal, runs)
        if len(kept) >= limit or len(runs) < wanted or wanted >= SCOPED_RUNS_READ:
            return shown_runs(session, principal, kept[:limit])
        wanted = min(wanted * 5, SCOPED_RUNS_READ)


def get_run(session: Session, principal: Principal, *, run_id: str) -> EvaluationRun:
    """One run narrowed to the caller's grant; outside it the run does not exist (NotFoundError)."""
    run = findings_service.get_run(session, org_id=principal.org_id, run_id=run_id)
    scope = finding_scope(principal)
    if scope is None:
        return run
    if not _run_in_scope(scope, run):
        raise NotFoundError(f"no evaluation run {run_id}")
    return _counted(session, principal, scope, [run])[0]


# -- waivers ---------------------------------------------------------------------------------------


def _in_force_during_window(scope: FindingScope, w: Waiver) -> bool:
    """The waiver's period (up to its revocation) meets the audit window (whole UTC days)."""
    start = dt.datetime.combine(scope.window_from, dt.time(), tzinfo=dt.UTC)
    end = dt.datetime.combine(scope.window_to, dt.time(), tzinfo=dt.UTC) + dt.timedelta(days=1)
    until = min(w.ends_at, w.revoked_at) if w.revoked_at is not None else w.ends_at
    return w.starts_at < end and until > start


def _shows_finding(session: Session, principal: Principal, scope: FindingScope, *, rule_id: str,
                   subject_id: str | None = None) -> bool:
    """Does the caller see some finding of `rule_id` (about `subject_id`, if given)?"""
    try:
        page = findings_service.list_findings(session, org_id=principal.org_id, limit=1, scope=scope,
                                              filters=FindingFilter(rule_id=rule_id, subject_id=subject_id))
    except VigilError:  # a rule no ruleset has and no finding carries: nothing of it is visible
        return False
    return page.total > 0


def list_waivers(session: Session, principal: Principal) -> list[Waiver]:
    """The org's waivers (`findings.service.list_waivers`) the caller may see (`visible_waivers`)."""
    return visible_waivers(session, principal, findings_service.list_waivers(session, org_id=principal.org_id))


def visible_waivers(session: Session, principal: Principal, waivers: Iterable[Waiver]) -> list[Waiver]:
    """The waivers a caller may see.

    For a grant, a waiver is shown when
    - its rule is of the granted framework (a rule that no ruleset version has any more counts
      when the caller sees a finding of it);
    - it was in force at some time in the audit window (up to its end or revocation);
    - for a grant naming establishments: an establishment waiver names one of them; a subject
      waiver carries no establishment, so it is shown only when the caller sees a finding of its
      rule about its subject (findings carry the establishment; a subject waiver that waived
      nothing the auditor can see stays out, rather than guessing the subject's site).
    """
    scope = finding_scope(principal)
    if scope is None:
        return list(waivers)
    index = known.ruleset_index()
    out = []
    for w in waivers:
        info = index.rules.get(w.rule_id)
        if info is not None and scope.framework not in info.frameworks:
            continue
        if info is None and not _shows_finding(session, principal, scope, rule_id=w.rule_id):
            continue
        if not _in_force_during_window(scope, w):
            continue
        if scope.establishments is not None:
            if w.subject_id is None:
                if w.establishment_id not in scope.establishments:
                    continue
            elif not _shows_finding(session, principal, scope, rule_id=w.rule_id, subject_id=w.subject_id):
                continue
        out.append(w)
    return out
