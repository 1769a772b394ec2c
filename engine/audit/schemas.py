"""Plain data the audit domain hands to other domains and faces (rows never leave service.py)."""

from __future__ import annotations

import datetime as dt
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from engine.errors import AuditChainBroken, ErrorDetail


class AuditEntry(BaseModel):
    """One link of an organisation's audit chain, exactly as stored and hashed.

    `seq` is the database-wide position (primary key); `org_seq` the 1-based position in the
    organisation's own chain, which the hash covers so a removed entry leaves a visible gap.
    """

    model_config = ConfigDict(frozen=True)

    seq: int
    org_id: str
    org_seq: int
    at: dt.datetime
    actor: str
    action: str
    entity_type: str
    entity_id: str
    payload: dict[str, Any] = Field(default_factory=dict)
    prev_hash: str
    hash: str


BreakKind = Literal["chain", "import", "record", "finding", "waiver", "run", "user", "grant", "token", "ruleset"]


class ChainBreak(BaseModel):
    """One place the trail stops matching what was written, by `kind`:

    - `chain`: an entry of the chain (`seq`, `org_seq`), or entries missing (both None);
    - `import`: a `records.import` entry (`seq`, `org_seq`) whose record versions no longer match it
      (deleted, added, or rewritten with their content hashes);
    - `record`: one stored record version (`record_type`, `record_id`, `version`) whose data no
      longer matches its content hash, or that no import wrote;
    - `finding`: a finding (`record_id`) whose state its history does not explain, or whose
      changes by a person the chain does not hold (`engine.findings.integrity`);
    - `waiver`: a waiver (`record_id`) that its `waiver.create` / `waiver.revoke` entries do not
      hold as it stands (forged, re-pointed, extended or un-revoked in the database);
    - `run`: an evaluation run (`record_id`) whose as-of, ruleset versions or input hash differ from
      its `evaluation.run` entry;
    - `user`, `grant`, `token`: an account, an auditor grant or an API token (`record_id`) with a field
      the chain records (role, active; window, expiry; owner, expiry, revocation) that does not read
      as the chain last said, or with no entry at all (`engine.auth.integrity`), one break a field.
    - `ruleset`: a ruleset version (`record_id`, `framework@version`) whose file is not what was
      released, published or used, or was placed by hand over days runs judged (`org_id` `*`: the
      rulesets are the deployment's).
    """

    seq: int | None
    org_id: str
    org_seq: int | None
    reason: str
    kind: BreakKind = "chain"
    record_type: str | None = None
    record_id: str | None = None
    version: int | None = None

    def detail(self) -> ErrorDetail:
        if self.kind == "ruleset":
            return ErrorDetail(reason=self.reason, record_type="ruleset", record_id=self.record_id)
        if self.kind in ("finding", "waiver", "run", "user", "grant", "token"):
            return ErrorDetail(reason=f"org {self.org_id}: {self.reason}", record_type=self.record_type or self.kind,
                               record_id=self.record_id)
        if self.kind == "record":
            return ErrorDetail(reason=f"version {self.version} (org {self.org_id}): {self.reason}",
                               record_type=self.record_type, record_id=self.record_id)
        where = f"entry #{self.org_seq}" if self.org_seq is not None else "chain"
        return ErrorDetail(
            reason=f"org {self.org_id} {where}: {self.reason}",
            record_type="audit_entry",
            record_id=str(self.seq) if self.seq is not None else None,
        )

    def headline(self) -> str:
        """The one line that says what is broken, for the error's message."""
        if self.kind == "finding":
            return f"finding {self.record_id} (org {self.org_id}) does not match its history and the audit trail"
        if self.kind == "waiver":
            return f"waiver {self.record_id} (org {self.org_id}) is not the waiver the audit trail granted"
        if self.kind == "run":
            return f"evaluation run {self.record_id} (org {self.org_id}) is not the run the audit trail recorded"
        if self.kind in ("user", "grant", "token"):
            return f"{self.reason.partition(':')[0]} (org {self.org_id}) is not what the audit trail last said of it"
        if self.kind == "ruleset":
            return (f"ruleset {self.record_id} in the rulesets folder is not what the release, the trail and the runs "
                    "record: the runs can no longer be reproduced from the files")
        if self.kind == "record":
            return (f"stored record {self.record_type} {self.record_id} version {self.version} (org {self.org_id}) "
                    "does not match what was imported")
        if self.kind == "import":
            return (f"the record versions of the import at audit entry seq {self.seq} (org {self.org_id}, "
                    f"#{self.org_seq}) do not match that entry")
        if self.seq is not None:
            return f"audit chain broken at entry seq {self.seq} (org {self.org_id}, #{self.org_seq})"
        return f"audit chain broken (org {self.org_id}): it is missing entries that other records name"


class ChainHead(BaseModel):
    """Where one organisation's chain ends: publish `head_hash` to anchor later checks."""

    org_id: str
    entries: int
    last_seq: int | None
    head_hash: str


class AuditVerifyReport(BaseModel):
    """Outcome of recomputing the chain; `first_broken` names the earliest bad entry.

    `records_checked` counts the stored record versions checked against their content hashes and
    their imports' entries, `findings_checked` the findings checked against their histories and the
    chain, `accounts_checked` the users, auditor grants and API tokens checked against their entries
    (`pipeline.verify_audit`); None when only the chain was checked."""

    ok: bool
    entries_checked: int
    chains: list[ChainHead]
    broken: list[ChainBreak]
    records_checked: int | None = None
    findings_checked: int | None = None
    accounts_checked: int | None = None

    def with_records(self, checked: int, broken: list[ChainBreak]) -> AuditVerifyReport:
        """This report with the record store's check added (its breaks after the chain's)."""
        return self.model_copy(update={"records_checked": checked, "broken": self.broken + broken,
                                       "ok": self.ok and not broken})

    def with_rulesets(self, broken: list[ChainBreak]) -> AuditVerifyReport:
        """This report with the rulesets folder's check added (its breaks last)."""
        return self.model_copy(update={"broken": self.broken + broken, "ok": self.ok and not broken})

    def with_findings(self, checked: int, broken: list[ChainBreak]) -> AuditVerifyReport:
        """This report with the findings' check added (their breaks last)."""
        return self.model_copy(update={"findings_checked": checked, "broken": self.broken + broken,
                                       "ok": self.ok and not broken})

    def with_accounts(self, checked: int, broken: list[ChainBreak]) -> AuditVerifyReport:
        """This report with the accounts' check added (their breaks last)."""
        return self.model_copy(update={"accounts_checked": checked, "broken": self.broken + broken,
                                       "ok": self.ok and not broken})

    @property
    def first_broken(self) -> ChainBreak | None:
        """The first break in chain order (`broken` is listed as the chain was walked). Not the
        lowest `seq`: an entry forged into the middle has a high seq, and the genuine entry it
        displaced was named instead."""
        return self.broken[0] if self.broken else None

    def raise_if_broken(self) -> None:
        """Raise `AuditChainBroken` naming the first bad entry (the CLI maps it to exit 1)."""
        first = self.first_broken
        if first is None:
            return
        raise AuditChainBroken(first.headline(), details=[b.detail() for b in self.broken])


class AuditExcerpt(BaseModel):
    """A contiguous slice of one organisation's chain plus the anchor needed to check it offline.

    `anchor` is the prev_hash of the first entry (GENESIS_HASH when the slice starts the chain);
    `head` is the hash of the last entry, which a later check can find again in the database.
    """

    org_id: str
    anchor: str
    head: str
    entries: list[AuditEntry]


class AuditQuery(BaseModel):
    """Which entries to read: those older than `before` (a `seq`, to page back), by one actor, of
    one action or family of actions (`finding` reads finding.ack, finding.waive, ...), about one
    entity type or one entity (`finding/F-...`), written with one API token (`TK-...`)."""

    model_config = ConfigDict(extra="forbid")

    before: int | None = Field(default=None, ge=1)
    actor: str | None = Field(default=None, max_length=200)
    action: str | None = Field(default=None, max_length=100)
    entity: str | None = Field(default=None, max_length=301)
    #: written with one API token (the `via_token` of the entry's payload, `TK-...`)
    token: str | None = Field(default=None, max_length=100)


class AuditPage(BaseModel):
    """Entries newest first; `older` is the `before` that reads the next older page (None: no more)."""

    items: list[AuditEntry]
    older: int | None = None
