"""Plain data of the findings domain (what faces and other domains see)."""

from __future__ import annotations

import datetime as dt
from typing import Any, Literal

from pydantic import BaseModel, Field, field_validator

from engine.clock import InstantIn
from engine.json_body import JsonBody

LifecycleState = Literal["open", "acknowledged", "resolved", "waived", "false_positive"]


def finished(kind: str, status: str, due: str | None) -> bool:
    """Whether a finding reports something that has happened and that no later record can undo: an
    event rule's finding (`kind: event`: a recording made without consent stays made) or a deadline
    met late (a `violation` with a due date: the late training stays late).

    The rule keeps reporting such a finding for as long as the records hold, so it never resolves by
    itself: a person closes it once it has been dealt with (`lifecycle.transition`, "close"), and
    completing its task confirms the task instead of reopening it (`engine.tasks.sync`)."""
    return kind == "event" or (status == "violation" and bool(due))


class FindingEvent(BaseModel):
    at: dt.datetime
    actor: str
    kind: str
    from_state: str | None = None
    to_state: str | None = None
    reason: str | None = None
    run_id: str | None = None


class FindingRevision(BaseModel):
    """A finding's content (`service.CONTENT_FIELDS`) as it read until a run replaced it."""

    finding_id: str
    replaced_at: dt.datetime
    replaced_by_run: str | None = None
    content: dict[str, Any]


class Finding(BaseModel):
    id: str
    org_id: str
    rule_id: str
    framework: str
    ruleset_version: str
    title: str
    citation: str
    severity: str
    advisory: bool
    kind: str
    subject_type: str
    subject_id: str
    occurrence_key: str
    establishment_id: str | None
    status: str  # due_soon | overdue | violation
    due: str | None
    message: str
    evidence: list[dict[str, Any]]
    facts: dict[str, Any]
    sop: str
    state: LifecycleState
    assignee: str | None = None
    opened_at: dt.datetime
    opened_by_run: str | None
    resolved_at: dt.datetime | None
    resolved_by_run: str | None
    last_seen_run: str | None
    updated_at: dt.datetime
    waiver_id: str | None = None
    history: list[FindingEvent] = Field(default_factory=list, description=(
        "who changed the finding's state, when and why: given by GET /findings/{id} (and `vigil findings show`); "
        "a list leaves it empty, which does not mean the finding has none"))


class FindingPage(BaseModel):
    items: list[Finding]
    next_cursor: str | None = None
    total: int
    has_prev: bool = Field(default=False, description="a page before this one exists")
    prev_cursor: str | None = Field(default=None, description="the cursor of the page before this one; null with "
                                    "has_prev true when that page is the first: ask again without a cursor")


class FindingFilter(BaseModel):
    framework: str | None = None
    severity: str | None = None
    state: str | None = None
    status: str | None = None
    establishment_id: str | None = None
    #: only the findings tied to no establishment (practice-wide duties: the risk analysis, a
    #: policy), which no establishment filter can select
    org_wide: bool = False
    rule_id: str | None = None
    subject_id: str | None = None

    @field_validator("rule_id")
    @classmethod
    def _rule_ids_are_upper_case(cls, value: str | None) -> str | None:
        """Rule ids are upper case (`spec.RULE_ID`): `vigil findings list --rule hipaa-sec-term-004`
        and `?rule=` matched nothing where the web's filter, which upper-cased it, matched."""
        return value.strip().upper() if value else value

    #: who the findings are assigned to (usernames, person ids or roles, comma-separated; `none`:
    #: assigned to nobody); a user and the person their account stands for are one assignee
    assignee: str | None = None
    establishments: list[str] | None = None  # scope restriction (auditor grants)


class FindingScope(BaseModel):
    """What a scoped reader (an auditor's grant) may see: one framework, a window, establishments."""

    framework: str
    window_from: dt.date
    window_to: dt.date
    establishments: list[str] | None = None

    def admits(self, f: Finding) -> bool:
        if f.framework != self.framework:
            return False
        if self.establishments is not None and f.establishment_id not in self.establishments:
            return False
        if f.opened_at.date() > self.window_to:
            return False
        return f.resolved_at is None or f.resolved_at.date() >= self.window_from


class Waiver(BaseModel):
    id: str
    org_id: str
    rule_id: str
    subject_type: str | None
    subject_id: str | None
    establishment_id: str | None
    starts_at: dt.datetime
    ends_at: dt.datetime
    reason: str
    approver: str
    created_by: str
    created_at: dt.datetime
    revoked_at: dt.datetime | None = None
    revoked_by: str | None = None
    revoke_reason: str | None = None
    findings: list[str] = Field(
        default_factory=list,
        description="the findings this waiver waives now, by id: every open finding of its rule for its subject "
        "(or at its establishment) in its period, not only the one it was asked from; empty once revoked or ended")


class WaiverRevokeIn(JsonBody):
    """Why a waiver ends before its time (a mistake, the condition fixed, the approval withdrawn)."""

    reason: str = Field(min_length=3, max_length=4000, examples=["approval withdrawn by the CMO"])


class WaiverIn(JsonBody):
    """A waiver asked for; `engine.findings.waiver_checks` says what it must name and when it may run."""

    rule_id: str | None = Field(default=None, max_length=60, examples=["HIPAA-SEC-TERM-004"])
    # an example that can be granted as sent: HIPAA-SEC-TERM-004 reports accounts (it had named
    # employment_episode, which the waiver checks refuse for that rule)
    subject_type: str | None = Field(default=None, max_length=60, examples=["account"],
                                     description="the type the rule reports its subjects as; with subject_id")
    subject_id: str | None = Field(default=None, max_length=200, examples=["ACC-EHR-jdoe-1"])
    establishment_id: str | None = Field(default=None, max_length=100, description="instead of a subject")
    ends_at: InstantIn = Field(description="with an offset; after now", examples=["2027-01-01T00:00:00Z"])
    starts_at: InstantIn | None = Field(default=None, description="default now; never back-dated")
    reason: str = Field(min_length=3, max_length=4000)
    approver: str = Field(min_length=1, max_length=200)


class EvaluationRun(BaseModel):
    id: str
    org_id: str
    as_of: dt.datetime
    known_at: dt.datetime | None
    backend: str
    frameworks: list[str]
    rulesets: list[dict[str, Any]]
    params: dict[str, Any]
    #: Absent, not null, when the practice dated no parameter (and on every run before revision 0011),
    #: so such a run reads (and runs.json hashes) as before.
    param_history: dict[str, Any] | None = Field(
        default=None, exclude_if=lambda v: v is None,
        description="framework -> parameter -> [[first day, value], ...]: the values of each parameter the "
                    "practice dated, the first from the earliest day. A window counted from an anchor (an "
                    "employment's end, an injury learned of) used the value in force on the anchor's local "
                    "day; `params` holds the values of the run's as_of day")
    input_hash: str
    counts: dict[str, Any]
    diff: dict[str, Any]
    started_at: dt.datetime
    duration_ms: int
    actor: str
    trigger: str
    #: Set only on a run narrowed for a scoped reader (`engine.api.scope`, `run_counts.scope_run`);
    #: absent, not null, everywhere else, so a run reads (and runs.json hashes) as before.
    withheld: dict[str, str] | None = Field(
        default=None, exclude_if=lambda v: v is None,
        description="only for a reader limited to one framework or to some establishments (an auditor's grant): "
                    "each part of the run's totals left out for that scope (`counts`, `diff`, `diff.persisted`), "
                    "with why. The run's `counts` and `diff` are totals over every framework and establishment "
                    "it evaluated and are not kept per framework or establishment; `{}` or a missing count "
                    "named here means withheld, not zero")
    diff_counted: str | None = Field(
        default=None, exclude_if=lambda v: v is None,
        description="when `diff` was recounted for a scoped reader: which findings it counts (those the reader "
                    "may see among the ones the run's `evaluation.run` audit entry lists)")

    def narrowed(self, framework: str, *, whole: bool = True) -> EvaluationRun:
        """The run as a reader of one framework sees it (an auditor's grant, a packet of that framework).

        One run usually evaluates every framework (the scheduled sweep, `vigil demo`), so such a run
        is kept but stripped to `framework`: `frameworks`, `rulesets` and `params` keep only its
        entries. `counts` and the `diff` counts are totals over every framework (and establishment)
        that cannot be split after the fact, so they are left out; a held run keeps its marker and
        reason (it says the run changed no finding). A run of that framework alone is returned as
        stored when `whole` (no establishment limit). `input_hash` stays: it reveals nothing."""
        if self.frameworks == [framework] and whole:
            return self
        held = {k: v for k, v in self.diff.items() if k in ("held", "reason")} if self.diff.get("held") else {}
        return self.model_copy(update={
            "frameworks": [framework],
            "rulesets": [r for r in self.rulesets if r.get("id") == framework],
            "params": {k: v for k, v in self.params.items() if k == framework},
            "param_history": {k: v for k, v in self.param_history.items() if k == framework} or None
                             if self.param_history else None,
            "counts": {},
            "diff": held,
        })


class RunDiff(BaseModel):
    opened: list[str] = Field(default_factory=list)
    reopened: list[str] = Field(default_factory=list)
    resolved: list[str] = Field(default_factory=list)
    persisted: list[str] = Field(default_factory=list)
    waived: list[str] = Field(default_factory=list)


class ImpactItem(BaseModel):
    """One finding a draft ruleset would open (with its state, due date and message) or close."""

    rule_id: str
    subject_type: str
    subject_id: str
    occurrence_key: str = ""
    status: str | None = None
    due: str | None = None
    message: str | None = None
    finding_id: str | None = None
    changes: list[str] = Field(default_factory=list, description="for a finding that stays: what would change, "
                               "e.g. 'severity medium -> critical', 'due 2026-12-01 -> 2026-11-20'")


class DraftEffect(BaseModel):
    """The draft's own effect: its violations against those of the version(s) in force at the same
    instant, judged on the same records. At a later day the comparison with the findings store
    also holds what time alone would change (deadlines passing, new records due); this does not
    (the liaison probe: a no-op draft previewed at its effective day "would open 16")."""

    against: list[str] = Field(description="the versions in force at the instant, compared with")
    opens: list[ImpactItem] = Field(default_factory=list)
    closes: list[ImpactItem] = Field(default_factory=list)
    changes: list[ImpactItem] = Field(default_factory=list)


class DraftImpact(BaseModel):
    """What publishing a draft would do to the findings store today (PRODUCT: the liaison sees
    "which findings would open or close" before publishing). Nothing is stored."""

    framework: str
    version: str
    as_of: dt.datetime
    in_force_now: list[str]
    rules: int
    would_open: list[ImpactItem]
    would_close: list[ImpactItem]
    would_change: list[ImpactItem] = Field(default_factory=list, description="findings that stay open with another "
                                           "status, due date, severity or message")
    unchanged: int = Field(description="findings that would stay exactly as they are")
    draft_effect: DraftEffect | None = Field(default=None, description="what the draft itself changes at the "
                                             "instant, against the version in force then (time passing left out)")
    takes_effect: dt.date | None = Field(default=None, description="the draft's first day as previewed: the "
                                         "effective date given, or its own, never before publishing takes one")
    notes: list[str] = Field(default_factory=list, description="what the preview changed of the draft to judge it "
                                                               "as publishing would (a first day in the past)")
