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
    FINDINGS_UPDATE = "findings.update"  # acknowledge, assign, comment, false positive, reopen
    FINDINGS_WAIVE = "findings.waive"
    TASKS_READ = "tasks.read"  # staff: their own tasks only
    TASKS_UPDATE = "tasks.update"  # complete, attach evidence (staff: their own)
    TASKS_MANAGE = "tasks.manage"  # every task, reassign, run escalations
    RULESETS_READ = "rulesets.read"
    RULESETS_WRITE = "rulesets.write"  # validate drafts, preview impact
    RULESETS_PUBLISH = "rulesets.publish"  # publish or withdraw a version, change a practice parameter
    PACKETS_READ = "packets.read"
    PACKETS_BUILD = "packets.build"
    AUDIT_READ = "audit.read"  # verify the hash chain (whole or broken, and its length)
    AUDIT_ENTRIES = "audit.entries"  # read the raw trail: every framework's changes, so not an auditor's
    USERS_MANAGE = "users.manage"
    SELF = "self"  # any signed-in user: who am I, my tokens


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
