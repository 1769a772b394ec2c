"""The role table, written out here by hand from spec/PRODUCT.md's people and their jobs.

tests/api/test_route_matrix.py reads its expected answers from ROLE_PERMISSIONS, the table the code
enforces, so it cannot notice a role gaining a permission. This literal copy can: changing what a
role may do means changing both, on purpose.
"""

from __future__ import annotations

from engine.auth.roles import ROLE_PERMISSIONS, ROLES, Permission, allowed

P = Permission

#: Compliance officer: every job of the practice's compliance (findings, waivers, tasks,
#: escalations, packets, rulesets, the audit trail), but not managing user accounts.
OFFICER = {
    P.RECORDS_READ, P.RECORDS_WRITE, P.EVALUATIONS_READ, P.EVALUATIONS_RUN,
    P.FINDINGS_READ, P.FINDINGS_UPDATE, P.FINDINGS_WAIVE,
    P.TASKS_READ, P.TASKS_UPDATE, P.TASKS_MANAGE,
    P.RULESETS_READ, P.RULESETS_WRITE, P.RULESETS_PUBLISH,
    P.PACKETS_READ, P.PACKETS_BUILD, P.AUDIT_READ, P.AUDIT_ENTRIES, P.SELF,
}

EXPECTED: dict[str, set[Permission]] = {
    "admin": OFFICER | {P.USERS_MANAGE},
    "officer": OFFICER,
    # Regulatory liaison: write, validate, preview and publish rulesets, tune parameters; sees the
    # findings and records a draft would change. Never waives, updates findings or handles tasks.
    "liaison": {
        P.SELF, P.RULESETS_READ, P.RULESETS_WRITE, P.RULESETS_PUBLISH, P.FINDINGS_READ,
        P.EVALUATIONS_READ, P.EVALUATIONS_RUN, P.RECORDS_READ,
    },
    # Auditor: read-only (scoped by a grant), downloads packets, verifies the chain; not the raw trail.
    "auditor": {P.SELF, P.FINDINGS_READ, P.PACKETS_READ, P.RULESETS_READ, P.EVALUATIONS_READ, P.AUDIT_READ},
    # Workforce member: their own tasks only; sees and completes them, attaches evidence.
    "staff": {P.SELF, P.TASKS_READ, P.TASKS_UPDATE},
}


def test_the_roles_are_the_products_people() -> None:
    assert set(ROLES) == set(EXPECTED) == set(ROLE_PERMISSIONS)


def test_each_role_has_exactly_the_permissions_written_out_here() -> None:
    for role, expected in EXPECTED.items():
        got = set(ROLE_PERMISSIONS[role])
        assert got == expected, (role, "gained", sorted(got - expected), "lost", sorted(expected - got))


def test_the_liaison_may_not_waive_nor_touch_findings_or_tasks() -> None:
    for permission in (P.FINDINGS_WAIVE, P.FINDINGS_UPDATE, P.TASKS_READ, P.TASKS_UPDATE, P.TASKS_MANAGE,
                       P.PACKETS_BUILD, P.USERS_MANAGE):
        assert not allowed("liaison", permission), permission


def test_staff_may_not_manage_tasks_nor_read_beyond_their_own() -> None:
    for permission in (P.TASKS_MANAGE, P.FINDINGS_READ, P.FINDINGS_WAIVE, P.RECORDS_READ, P.RULESETS_READ,
                       P.USERS_MANAGE):
        assert not allowed("staff", permission), permission


def test_the_auditor_is_read_only() -> None:
    writes = {P.RECORDS_WRITE, P.EVALUATIONS_RUN, P.FINDINGS_UPDATE, P.FINDINGS_WAIVE, P.TASKS_UPDATE,
              P.TASKS_MANAGE, P.RULESETS_WRITE, P.RULESETS_PUBLISH, P.PACKETS_BUILD, P.USERS_MANAGE}
    assert not ROLE_PERMISSIONS["auditor"] & writes


def test_an_unknown_role_may_do_nothing() -> None:
    assert not any(allowed("manager", p) for p in Permission)
