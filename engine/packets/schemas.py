"""What a packet is built from (`PacketInput`) and what building or verifying one reports.

The builder renders exactly this input and reads nothing else, so a packet is reproducible from
its input alone: the same PacketInput and signing key give the same zip, byte for byte.
`collect.collect_input` assembles it from the database; `vigil packet build --input FILE.json`
reads a serialized one (bytes are base64 in JSON).
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
from collections.abc import Callable
from pathlib import Path
from typing import Any, BinaryIO

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, ValidationError, model_validator

from engine.audit.schemas import AuditExcerpt
from engine.errors import ErrorDetail, InputError, PacketVerificationFailed

SHA256_HEX = r"^[0-9a-f]{64}$"


class EvidenceRef(BaseModel):
    """A file attached to a task, by reference: the bytes are streamed (and re-hashed) at build.

    Give `path`, or `opener` (for a content-addressed store: a callable returning a binary
    stream; not serialised). `sha256` and `size` are what was recorded when the file was
    attached; a file that no longer matches them stops the build. `contains_phi` files are
    withheld (listed with their hash) from a PHI-redacted packet. `attachment_id` is the task
    attachment's id in the store (`GET /tasks/{id}`, the `task.attach` audit entry): two
    attachments of the same bytes share one file in the bag, so tasks.json names each by it.
    """

    model_config = ConfigDict(arbitrary_types_allowed=True)

    name: str = Field(min_length=1)
    sha256: str = Field(pattern=SHA256_HEX)
    size: int = Field(ge=0)
    media_type: str = "application/octet-stream"
    path: Path | None = None
    opener: Callable[[], BinaryIO] | None = Field(default=None, exclude=True)
    contains_phi: bool = False
    attached_at: AwareDatetime | None = None
    attachment_id: int | None = None
    attached_by: str | None = None

    @model_validator(mode="after")
    def _has_a_source(self) -> EvidenceRef:
        if self.path is None and self.opener is None:
            raise ValueError(f"evidence {self.name!r} needs a path or an opener")
        return self

    def open(self) -> BinaryIO:
        if self.opener is not None:
            return self.opener()
        assert self.path is not None
        return self.path.open("rb")


class PacketTask(BaseModel):
    """An SOP task with its evidence; fields beyond these are kept as given."""

    model_config = ConfigDict(extra="allow")

    id: str
    title: str
    state: str
    finding_ids: list[str] = Field(default_factory=list)
    assignee: str | None = None
    due: str | None = None
    completed_at: AwareDatetime | None = None
    sop: str | None = None
    evidence: list[EvidenceRef] = Field(default_factory=list)


class PacketWaiver(BaseModel):
    """A waiver (accepted risk) with its reason; fields beyond these are kept as given."""

    model_config = ConfigDict(extra="allow")

    id: str
    finding_id: str | None = None
    rule_id: str | None = None
    reason: str
    granted_by: str  # who recorded the waiver
    granted_at: AwareDatetime
    valid_from: dt.date | None = None
    valid_until: dt.date | None = None  # the last UTC day in force (ends_at is exclusive)
    approved_by: str | None = None
    starts_at: AwareDatetime | None = None
    ends_at: AwareDatetime | None = None  # exclusive


class FindingTransition(BaseModel):
    """One state change of a finding (the finding-history rows of the period)."""

    finding_id: str
    at: AwareDatetime
    actor: str
    from_state: str | None = None
    to_state: str
    reason: str | None = None


class FindingRevision(BaseModel):
    """A finding's content (status, due, message, evidence, facts, ...) as it read until `replaced_at`."""

    finding_id: str
    replaced_at: AwareDatetime
    content: dict[str, Any]


class RulesetFile(BaseModel):
    """The exact bytes of a ruleset file in force during the period, with their hash."""

    name: str = Field(min_length=1, description="relative path inside rulesets/, e.g. hipaa/ruleset.yaml")
    ruleset_id: str | None = None
    version: str | None = None
    content: bytes
    sha256: str = Field(pattern=SHA256_HEX)

    @model_validator(mode="after")
    def _hash_matches(self) -> RulesetFile:
        if hashlib.sha256(self.content).hexdigest() != self.sha256:
            raise ValueError(f"ruleset file {self.name!r}: content does not match its sha256")
        if self.name.startswith("/") or ".." in Path(self.name).parts:
            raise ValueError(f"ruleset file name {self.name!r} must be a relative path")
        return self


class Requirement(BaseModel):
    """The requirement text shown for a citation in the index (from the ruleset)."""

    citation: str
    title: str
    text: str = ""
    rule_ids: list[str] = Field(default_factory=list)


class PacketInput(BaseModel):
    """Everything one packet holds, already selected for the framework, period and as-of."""

    model_config = ConfigDict(ser_json_bytes="base64", val_json_bytes="base64", arbitrary_types_allowed=True)

    org_id: str
    org_name: str | None = None
    framework: str = Field(pattern=r"^[A-Za-z][A-Za-z0-9_.-]*$")
    period_from: dt.date
    period_to: dt.date
    as_of: AwareDatetime
    establishment: str | None = None
    #: establishment id -> IANA zone as known at `as_of`: a date-only deadline ends at the end of
    #: that local day, as the finding's task does
    zones: dict[str, str] = Field(default_factory=dict)
    findings: list[dict[str, Any]] = Field(default_factory=list)
    finding_transitions: list[FindingTransition] = Field(default_factory=list)
    waivers: list[PacketWaiver] = Field(default_factory=list)
    tasks: list[PacketTask] = Field(default_factory=list)
    rulesets: list[RulesetFile] = Field(default_factory=list)
    runs: list[dict[str, Any]] = Field(default_factory=list)
    requirements: list[Requirement] = Field(default_factory=list)
    audit: AuditExcerpt | None = None
    audit_withheld: dict[int, list[str]] = Field(
        default_factory=dict,
        description="audit entries (by seq) about other frameworks only, with those frameworks: the packet "
        "keeps their place in the chain (hash, prev_hash) and withholds their payload",
    )
    audit_out_of_scope: list[int] = Field(
        default_factory=list,
        description="audit entries (by seq) about this framework's findings, tasks or waivers outside the "
        "packet's establishments: kept in the chain like audit_withheld, payload withheld",
    )
    audit_accounts: list[int] = Field(
        default_factory=list,
        description="audit entries (by seq) about Vigil's own users and access (accounts, tokens, other "
        "frameworks' auditor grants): kept in the chain like audit_withheld, payload withheld",
    )
    records: list[dict[str, Any]] = Field(
        default_factory=list,
        description="the record versions the findings cite, as stored (type, id, version, content_hash, "
        "recorded_at, source, data): written to records.json",
    )
    redact_phi: bool = False
    phi_identifiers: list[str] = Field(
        default_factory=list,
        description="patient identifiers held by the records the findings cite (subjects, evidence): a message "
        "may name them although no packet document has them as a field; a redacted packet pseudonymises them "
        "too, and no packet writes this list out",
    )

    @model_validator(mode="after")
    def _consistent(self) -> PacketInput:
        if self.period_from > self.period_to:
            raise ValueError("period_from is after period_to")
        if self.audit is not None and self.audit.org_id != self.org_id:
            raise ValueError("the audit excerpt belongs to another organisation")
        for i, finding in enumerate(self.findings):
            if not isinstance(finding.get("id"), str) or not isinstance(finding.get("rule_id"), str):
                raise ValueError(f"finding #{i} needs string 'id' and 'rule_id'")
        return self

    def packet_id(self) -> str:
        """A stable name for this packet: same scope and as-of, same id (and bag directory)."""
        scope = {
            "org": self.org_id,
            "framework": self.framework,
            "from": self.period_from.isoformat(),
            "to": self.period_to.isoformat(),
            "establishment": self.establishment,
            "as_of": self.as_of.astimezone(dt.UTC).isoformat(),
            "redact_phi": self.redact_phi,
        }
        digest = hashlib.sha256(json.dumps(scope, sort_keys=True).encode()).hexdigest()[:10]
        return f"{self.framework.lower()}-{self.period_from:%Y%m%d}-{self.period_to:%Y%m%d}-{digest}"

    def content_digest(self) -> str:
        """sha256 of the whole input, evidence by hash only: where the files sit on disk is not content."""
        local = {"tasks": {"__all__": {"evidence": {"__all__": {"path"}}}}}
        return hashlib.sha256(self.model_dump_json(exclude=local).encode()).hexdigest()


def load_input(path: Path) -> PacketInput:
    """Read a serialized PacketInput, turning pydantic's errors into located InputErrors."""
    try:
        return PacketInput.model_validate_json(path.read_bytes())
    except ValidationError as exc:
        details = [
            ErrorDetail(reason=e["msg"], file=str(path), field=".".join(str(p) for p in e["loc"]) or None)
            for e in exc.errors()
        ]
        raise InputError(f"{path}: not a valid packet input", details=details, code="packet.input") from None
    except OSError as exc:
        raise InputError(f"cannot read {path}: {exc.strerror}", code="packet.input") from None


class PacketBuildReport(BaseModel):
    """What was written: where, under which id, and how to recognise it."""

    path: Path
    packet_id: str
    sha256: str
    size: int
    payload_files: int
    payload_bytes: int
    fingerprint: str
    redacted: bool
    kept: str | None = Field(default=None, description="where the packet of this id already stored stays, when "
                                                       "one was: a rebuild neither moves nor replaces it")


class PacketProblem(BaseModel):
    """One thing that failed verification, named by its path inside the zip."""

    file: str
    reason: str


class PacketVerifyReport(BaseModel):
    """Outcome of `verify_packet`: every check, and each failure by file name."""

    ok: bool
    packet_id: str | None = None
    #: whose packet it says it is, from its signed packet.json: every organization of a deployment
    #: signs with the deployment's key, so the auditor checks these too (docs/packets.md)
    org_id: str | None = None
    org_name: str | None = None
    framework: str | None = None
    period: str | None = None
    fingerprint: str | None = None
    key_source: str | None = None
    files_checked: int = 0
    audit_entries_checked: int = 0
    problems: list[PacketProblem] = Field(default_factory=list)

    def raise_if_failed(self) -> None:
        if self.problems:
            raise PacketVerificationFailed(
                f"packet verification failed: {len(self.problems)} problem(s)",
                details=[ErrorDetail(reason=p.reason, file=p.file) for p in self.problems],
            )
