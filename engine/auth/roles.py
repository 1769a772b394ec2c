"""Roles and permissions, as data. Every route declares one permission; denied by default.

An auditor's grant further narrows what they see (one framework, one audit window, optionally
some establishments) and is applied inside the services, not only at the routes.
"""

from __future__ import annotations

from enum import StrEnum


class Permission(StrEnum):
    RECORDS_READ = "records.read"
    RECORDS_WRITE = "records.write"
    EVALUATIONS_READ = "evaluations.read"
    EVALUATIONS_RUN = "evaluations.run"
    FINDINGS_READ = "findings.read"
    FINDINGS_UPDATE = "findings.update"
    FINDINGS_WAIVE = "findings.waive"
    TASKS_READ = "tasks.read"
    TASKS_UPDATE = "tasks.update"
    TASKS_MANAGE = "tasks.manage"
    RULESETS_READ = "rulesets.read"
    RULESETS_WRITE = "rulesets.write"
    RULESETS_PUBLISH = "rulesets.publish"
    PACKETS_READ = "packets.read"
    PACKETS_BUILD = "packets.build"
    AUDIT_READ = "audit.read"
    AUDIT_ENTRIES = "audit.entries"
    USERS_MANAGE = "users.manage"
    SELF = "self"


#: What each permission allows, in a sentence: docs/api.md's role table and the OpenAPI document
#: (`engine.api.openapi`) print it beside the routes that ask for it.
PERMISSION_NOTES: dict[Permission, str] = {
    Permission.RECORDS_READ: "read records and their history",
    Permission.RECORDS_WRITE: "import records",
    Permission.EVALUATIONS_READ: "read evaluation runs",
    Permission.EVALUATIONS_RUN: "run an evaluation",
    Permission.FINDINGS_READ: "read findings, the records they cite, and waivers",
    Permission.FINDINGS_UPDATE: "acknowledge, assign, comment, mark false positive, close, reopen",
    Permission.FINDINGS_WAIVE: "grant and revoke waivers",
    Permission.TASKS_READ: "read tasks and their evidence (staff: their own tasks only)",
    Permission.TASKS_UPDATE: "complete, tick steps, add notes, attach evidence (staff: their own)",
    Permission.TASKS_MANAGE: "every task: reassign, run escalations",
    Permission.RULESETS_READ: "read ruleset versions and diffs",
    Permission.RULESETS_WRITE: "validate drafts, preview their impact, run a framework's checks",
    Permission.RULESETS_PUBLISH: "publish or withdraw a version, change a practice parameter",
    Permission.PACKETS_READ: "list, download and verify evidence packets; the regulators' reports",
    Permission.PACKETS_BUILD: "build an evidence packet",
    Permission.AUDIT_READ: "verify the audit trail's hash chain (whole or broken, and its length)",
    Permission.AUDIT_ENTRIES: "read the raw audit trail: every framework's changes, so not an auditor's",
    Permission.USERS_MANAGE: "manage user accounts, their tokens and auditor grants",
    Permission.SELF: "any signed-in user: who am I, my password, my tokens, sign out",
}


ROLES = ("admin", "officer", "liaison", "auditor", "staff")

_ALL = frozenset(Permission)
ROLE_PERMISSIONS: dict[str, frozenset[Permission]] = {
    "admin": _ALL,
    "officer": _ALL - {Permission.USERS_MANAGE},
    "liaison": frozenset({
        Permission.SELF, Permission.RULESETS_READ, Permission.RULESETS_WRITE, Permission.RULESETS_PUBLISH,
        Permission.FINDINGS_READ,
        Permission.EVALUATIONS_READ, Permission.EVALUATIONS_RUN, Permission.RECORDS_READ,
    }),
    "auditor": frozenset({
        Permission.SELF, Permission.FINDINGS_READ, Permission.PACKETS_READ, Permission.RULESETS_READ,
        Permission.EVALUATIONS_READ, Permission.AUDIT_READ,
    }),
    "staff": frozenset({Permission.SELF, Permission.TASKS_READ, Permission.TASKS_UPDATE}),
}


def allowed(role: str, permission: Permission) -> bool:
    return permission in ROLE_PERMISSIONS.get(role, frozenset())
