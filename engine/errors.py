"""Vigil's exception tree. Every face maps these the same way (HTTP status, CLI exit code).

    VigilError
    ├── InputError                      422 / exit 2   bad records or files from outside
    │   ├── RecordValidationError
    │   └── ImportFormatError
    ├── RulesetError                    422 / exit 2   a ruleset or policy file is wrong
    │   ├── RulesetSyntaxError
    │   ├── ExpressionError
    │   └── RulesetValidationError
    ├── NotFoundError                   404 / exit 2   an id that names nothing (bad input on the CLI)
    ├── ConflictError                   409 / exit 1
    │   ├── InvalidTransition
    │   └── RefusedChange               409 / exit 2   what the command asks cannot be done as things stand
    ├── PermissionDeniedError           403 / exit 1
    ├── AuthenticationError             401 / exit 1
    ├── IntegrityError                  409 / exit 1   tampering detected
    │   ├── AuditChainBroken
    │   └── PacketVerificationFailed
    ├── UnavailableError                503 / exit 1   a moment's condition: retry (Retry-After)
    ├── DatabaseSchemaError             500 / exit 1   a schema from a newer Vigil, or a failed upgrade
    ├── EngineFailure                   500 / exit 1   a rule action failed: the run is void
    ├── SigningKeyError (packets.sign)  500 / exit 1   the packet signing key is unusable
    └── UnknownNameError (registry)     422 / exit 2   a name no registry entry has (format, function)

Each error has a stable dotted `code`, a human `message` and `details`, a list of
`ErrorDetail` naming where (file/line/column or record/field) and why.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any


@dataclass(frozen=True)
class ErrorDetail:
    """One located problem: where it is and why it is wrong."""

    reason: str
    file: str | None = None
    line: int | None = None
    column: int | None = None
    record_type: str | None = None
    record_id: str | None = None
    field: str | None = None
    index: int | None = None
    rule_id: str | None = None

    def __post_init__(self) -> None:
        # Text quoted from bad input may hold an unpaired surrogate (JSON's "\ud83c" escape), which
        # no UTF-8 terminal, response body or log can carry: the detail keeps its escape instead.
        for name in ("reason", "file", "record_type", "record_id", "field"):
            value = getattr(self, name)
            if isinstance(value, str) and not value.isascii():
                object.__setattr__(self, name, value.encode("utf-8", "backslashreplace").decode("utf-8"))

    def to_dict(self) -> dict[str, Any]:
        return {k: v for k, v in asdict(self).items() if v is not None}

    def location(self) -> str:
        parts: list[str] = []
        if self.file:
            where = self.file
            if self.line is not None:
                where += f":{self.line}"
                if self.column is not None:
                    where += f":{self.column}"
            parts.append(where)
        if self.index is not None and self.line is None:
            parts.append(f"record #{self.index}")
        elif self.index is not None:  # a JSON file's record, at the line it starts on: counted from 1 there
            parts.append(f"record {self.index + 1}")
        if self.record_type or self.record_id:  # either alone is named as it is, without a placeholder
            parts.append(" ".join(p for p in (self.record_type, self.record_id) if p))
        if self.rule_id:
            parts.append(f"rule {self.rule_id}")
        if self.field:
            parts.append(f"field {self.field}")
        return ", ".join(parts)

    def __str__(self) -> str:
        loc = self.location()
        return f"{loc}: {self.reason}" if loc else self.reason


class VigilError(Exception):
    """Base of every error Vigil raises on purpose."""

    code = "vigil.error"
    http_status = 500
    exit_code = 1

    def __init__(self, message: str, details: list[ErrorDetail] | None = None, code: str | None = None):
        super().__init__(message)
        self.message = message
        self.details: list[ErrorDetail] = list(details or [])
        if code:
            self.code = code

    def to_dict(self) -> dict[str, Any]:
        return {"code": self.code, "message": self.message, "details": [d.to_dict() for d in self.details]}

    def __str__(self) -> str:
        if not self.details:
            return self.message
        lines = [self.message] + [f"  - {d}" for d in self.details]
        return "\n".join(lines)


class InputError(VigilError):
    code = "input.invalid"
    http_status = 422
    exit_code = 2


class RecordValidationError(InputError):
    code = "input.record_invalid"


class ImportFormatError(InputError):
    code = "input.format"


class RulesetError(VigilError):
    code = "ruleset.invalid"
    http_status = 422
    exit_code = 2


class RulesetSyntaxError(RulesetError):
    code = "ruleset.syntax"


class ExpressionError(RulesetError):
    code = "ruleset.expression"


class RulesetValidationError(RulesetError):
    code = "ruleset.validation"


class NotFoundError(VigilError):
    """An id that names nothing: 404 over HTTP; on the command line a mistyped id is bad input (exit 2)."""

    code = "not_found"
    http_status = 404
    exit_code = 2


class ConflictError(VigilError):
    code = "conflict"
    http_status = 409


class InvalidTransition(ConflictError):
    code = "conflict.invalid_transition"


class RefusedChange(ConflictError):
    """A change refused for what it asks, given what is there (withdrawing the last version in force,
    or a version already withdrawn): a conflict over HTTP (409), and on the command line bad input
    (exit 2), as a backdated withdrawal or an unknown version is; the command as typed will never
    succeed, so a script must not retry it. A conflict a retry may resolve (another writer got there
    first) stays a plain ConflictError, exit 1."""

    code = "conflict.refused"
    exit_code = 2


class PermissionDeniedError(VigilError):
    code = "permission_denied"
    http_status = 403


class AuthenticationError(VigilError):
    code = "unauthenticated"
    http_status = 401


class IntegrityError(VigilError):
    code = "integrity"
    http_status = 409


class AuditChainBroken(IntegrityError):
    code = "integrity.audit_chain"


class PacketVerificationFailed(IntegrityError):
    code = "integrity.packet"


class UnavailableError(VigilError):
    """The server cannot take this now (too many sign-ins at once): nothing was changed, retry in a
    moment; the API sends Retry-After."""

    code = "unavailable"
    http_status = 503


class DatabaseSchemaError(VigilError):
    """The database's schema cannot be brought to this Vigil's: it was written by a newer Vigil
    (`database.schema_unknown`), or a step of the upgrade failed (`database.upgrade_failed`; each
    step is its own transaction, so the database stays whole at the last step that completed)."""

    code = "database.schema"


class EngineFailure(VigilError):
    code = "engine.failure"


@dataclass
class ErrorCollector:
    """Gathers located problems up to a limit, so one pass reports every bad record at once."""

    limit: int = 1000
    details: list[ErrorDetail] = field(default_factory=list)
    truncated: bool = False

    def add(self, detail: ErrorDetail) -> None:
        if len(self.details) < self.limit:
            self.details.append(detail)
        else:
            self.truncated = True

    def __bool__(self) -> bool:
        return bool(self.details)


def invalid_cursor() -> InputError:
    """A page cursor that no list gave out (edited, truncated, or from another list): one message
    for every paged list, saying what to pass instead of the decoder's own words ("Incorrect padding")."""
    return InputError("invalid cursor", [ErrorDetail(
        reason="not a cursor this list gave out: pass next_cursor or prev_cursor as it came, or start again "
               "without it", field="cursor")])
