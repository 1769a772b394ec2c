"""The policies the tasks domain reads: where they live, roles -> people, and escalation.

    <policies>/roles.yaml        role -> person per establishment ("*" = every one), fallback_role
    <policies>/escalation.yaml   the escalation chain and step interval, critical-finding recipients,
                                 notification channels (SMTP, signed webhook), retries, contacts
    <policies>/sops/SOP-*.md     SOP templates (see templates.py)

The directory is `VIGIL_POLICIES_DIR`, else the repository's policies/; every loader also takes an
explicit directory, so tests use their own fixture policies. Secrets never live in these files:
the webhook secret is read from the environment variable the policy names.
"""

from __future__ import annotations

import datetime as dt
import os
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import yaml
from pydantic import ValidationError
from sqlalchemy.orm import Session

from engine.errors import ErrorDetail
from engine.tasks.errors import PolicyError
from engine.tasks.schemas import EscalationPolicy

REPO = Path(__file__).resolve().parents[2]
FALLBACK_ROLE = "compliance_officer"


def policies_dir(override: Path | str | None = None) -> Path:
    """Where policies are read from: the argument, else the policies in use (`catalog.policies_dir`)."""
    from engine.rules.catalog import policies_dir as in_use

    return Path(override) if override is not None else in_use()


def read_yaml(path: Path) -> dict[str, Any]:
    """A policy file as a mapping; a missing file is an empty policy, bad YAML a located PolicyError."""
    if not path.exists():
        return {}
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        raise PolicyError(f"{path}: not valid YAML", [ErrorDetail(
            reason=str(getattr(exc, "problem", exc)), file=str(path),
            line=mark.line + 1 if mark else None, column=mark.column + 1 if mark else None)]) from None
    if data is None:
        return {}
    if not isinstance(data, dict):
        raise PolicyError(f"{path}: expected a mapping at the top",
                          [ErrorDetail(reason="not a mapping", file=str(path))])
    return data


@dataclass(frozen=True)
class Assignment:
    person: str | None
    via: str


@dataclass(frozen=True)
class RolePolicy:
    """roles.yaml: `roles: {role: {establishment_id | "*": person_id}}`, `fallback_role`; and, once
    `staffed` by the records, who of the people it names has left (`engine.tasks.workforce`)."""

    roles: dict[str, dict[str, str]]
    fallback_role: str = FALLBACK_ROLE
    departed: Mapping[str, dt.datetime] = field(default_factory=dict)

    def staffed(self, departed: Mapping[str, dt.datetime]) -> RolePolicy:
        """This policy, knowing who has left: their roles go to the fallback role's holder."""
        return replace(self, departed=dict(departed))

    def person_for(self, role: str, establishment_id: str | None) -> str | None:
        table = self.roles.get(role) or {}
        if establishment_id is not None and establishment_id in table:
            return table[establishment_id]
        return table.get("*")

    def gone(self, person: str | None) -> str | None:
        """"left on 2026-12-01" when `person` has left, else None."""
        from engine.tasks.workforce import left_on

        end = self.departed.get(person) if person else None
        return None if end is None else left_on(end)

    def resolve(self, role: str, establishment_id: str | None) -> Assignment:
        """The person holding `role` at the establishment, else the fallback role's holder; a holder
        who has left is passed over, and `via` says so."""
        where = establishment_id or "*"
        person = self.person_for(role, establishment_id)
        left = self.gone(person)
        if person and not left:
            return Assignment(person, f"{role}@{where}")
        why = f"{role} {person} {left}" if person else f"{role} unassigned"
        fallback = self.person_for(self.fallback_role, establishment_id)
        fallback_left = self.gone(fallback)
        if fallback and not fallback_left:
            return Assignment(fallback, f"fallback {self.fallback_role}@{where} ({why})")
        if not person and not fallback:
            return Assignment(None, f"unassigned ({role} and {self.fallback_role} have nobody at {where})")
        nobody = f"{self.fallback_role} {fallback} {fallback_left}" if fallback else \
            f"{self.fallback_role} has nobody at {where}"
        return Assignment(None, f"unassigned ({why}; {nobody})")


def load_roles(directory: Path | str | None = None) -> RolePolicy:
    path = policies_dir(directory) / "roles.yaml"
    data = read_yaml(path)
    raw = data.get("roles") or {}
    if not isinstance(raw, dict):
        raise PolicyError(f"{path}: roles must be a mapping", [ErrorDetail(reason="roles", file=str(path))])
    roles: dict[str, dict[str, str]] = {}
    for role, table in raw.items():
        if isinstance(table, str):  # shorthand: role: P-1 means every establishment
            table = {"*": table}
        if not isinstance(table, dict):
            raise PolicyError(f"{path}: role {role} must map establishments to people",
                              [ErrorDetail(reason=f"role {role}", file=str(path), field=str(role))])
        roles[str(role)] = {str(k): str(v) for k, v in table.items() if v is not None}
    return RolePolicy(roles=roles, fallback_role=str(data.get("fallback_role") or FALLBACK_ROLE))


def staffed_roles(session: Session, *, org_id: str, as_of: dt.datetime,
                  directory: Path | str | None = None) -> RolePolicy:
    """roles.yaml as it stands for the org at `as_of`: who has left is given nothing new. A holder
    named by username has left when the person their account stands for has: session 48's scheduler
    pass named `denlead` (P-0005's account) and every Denver safety task went to them after P-0005
    left, while `tasks roles` said they had."""
    from engine.auth import people
    from engine.tasks.workforce import departures

    gone = dict(departures(session, org_id=org_id, as_of=as_of))
    for user, person in people.linked_persons(session, org_id=org_id).items():
        if person in gone:
            gone.setdefault(user, gone[person])
    return load_roles(directory).staffed(gone)


def load_escalation(directory: Path | str | None = None) -> EscalationPolicy:
    """escalation.yaml, then the environment (VIGIL_SMTP_HOST/PORT/FROM, VIGIL_WEBHOOK_URL, VIGIL_APP_URL) on top."""
    path = policies_dir(directory) / "escalation.yaml"
    data = read_yaml(path)
    esc = data.get("escalation") or {}
    notif = data.get("notifications") or {}
    smtp = notif.get("smtp") or {}
    hook = notif.get("webhook") or {}
    retry = notif.get("retry") or {}
    flat: dict[str, Any] = {
        "chain": esc.get("chain"),
        "step_interval_days": (esc.get("step_interval") or {}).get("days"),
        "working_days": (esc.get("step_interval") or {}).get("working_days"),
        "calendar": esc.get("calendar"),
        "critical_notify": (data.get("critical") or {}).get("notify"),
        "digest_hour": (data.get("digest") or {}).get("hour"),
        "digest_channels": (data.get("digest") or {}).get("channels"),
        "channels": notif.get("channels"),
        "smtp_host": os.environ.get("VIGIL_SMTP_HOST") or smtp.get("host"),
        "smtp_port": os.environ.get("VIGIL_SMTP_PORT") or smtp.get("port"),
        "smtp_from": os.environ.get("VIGIL_SMTP_FROM") or smtp.get("from"),
        "smtp_starttls": smtp.get("starttls"),
        "webhook_url": os.environ.get("VIGIL_WEBHOOK_URL") or hook.get("url"),
        "webhook_secret_env": hook.get("secret_env"),
        "max_attempts": retry.get("max_attempts"),
        "backoff_base_seconds": retry.get("base_seconds"),
        "backoff_max_seconds": retry.get("max_seconds"),
        "contacts": data.get("contacts"),
        "app_url": os.environ.get("VIGIL_APP_URL") or notif.get("app_url"),
    }
    try:
        return EscalationPolicy.model_validate({k: v for k, v in flat.items() if v is not None})
    except ValidationError as exc:
        raise PolicyError(f"{path}: invalid escalation policy", [
            _policy_problem(e, path) for e in exc.errors()]) from None


#: The policy fields the environment sets over escalation.yaml.
_FROM_ENV = {"smtp_host": "VIGIL_SMTP_HOST", "smtp_port": "VIGIL_SMTP_PORT", "smtp_from": "VIGIL_SMTP_FROM",
             "webhook_url": "VIGIL_WEBHOOK_URL", "app_url": "VIGIL_APP_URL"}


def _policy_problem(error: Any, path: Path) -> ErrorDetail:
    """A bad value where it was written: the environment variable that set it (VIGIL_SMTP_PORT=abc
    had been blamed on escalation.yaml, which was fine), else the file's field."""
    field = ".".join(str(p) for p in error["loc"])
    variable = _FROM_ENV.get(field)
    if variable and os.environ.get(variable):
        return ErrorDetail(reason=f"{error['msg']} (the environment variable {variable} is "
                                  f"{os.environ[variable][:80]!r})", field=variable)
    return ErrorDetail(reason=error["msg"], file=str(path), field=field)


def webhook_secret(policy: EscalationPolicy) -> bytes | None:
    value = os.environ.get(policy.webhook_secret_env)
    return value.encode("utf-8") if value else None
