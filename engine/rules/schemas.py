"""Plain data that leaves the rules stage: violations and run summaries."""

from __future__ import annotations

import datetime as dt
from typing import Any, Literal

from pydantic import BaseModel, Field


class SubjectRef(BaseModel):
    type: str
    id: str


class EvidenceRef(BaseModel):
    type: str
    id: str
    version: int


#: Where a finding stands against its deadline (CONTRACT.md: `state`; the findings store calls it `status`).
DeadlineStatus = Literal["due_soon", "overdue", "violation"]


class Violation(BaseModel):
    """One current violation (or warning) found by a run; the findings store diffs these."""

    rule_id: str
    framework: str
    ruleset_version: str
    title: str
    citation: str
    severity: Literal["critical", "high", "medium", "low"]
    advisory: bool = False
    kind: Literal["state", "event"] = "state"
    state: DeadlineStatus
    variant: str
    due: str | None = None
    subject: SubjectRef
    occurrence_key: str = ""
    message: str
    evidence: list[EvidenceRef]
    facts: dict[str, Any] = Field(default_factory=dict)
    establishment_id: str | None = None
    sop: str

    @property
    def identity(self) -> tuple[str, str, str, str]:
        return (self.rule_id, self.subject.type, self.subject.id, self.occurrence_key)


class RulesetRef(BaseModel):
    id: str
    version: str
    sha256: str


class RunResult(BaseModel):
    """Everything a run found, with what it needs to be reproduced (C9)."""

    as_of: dt.datetime
    known_at: dt.datetime | None = None
    backend: str
    rulesets: list[RulesetRef]
    params: dict[str, dict[str, Any]]
    #: framework -> parameter -> [[first day, value], ...] for the parameters the practice dated
    #: (`ParamHistory.as_json`): windows counted from an anchor used the value of the anchor's day
    param_history: dict[str, dict[str, list[list[Any]]]] = {}
    input_hash: str
    counts: dict[str, int]
    duration_ms: int
    violations: list[Violation]
