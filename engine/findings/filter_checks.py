"""Checks on the filters of a findings list: a value that can never match is refused.

A filter that matches nothing answers "no findings", which a reader takes for a clean result; a
misspelt severity, framework or establishment would do exactly that. So closed filters (severity,
state, status) take only their values, and named ones (framework, rule, establishment) only what
exists; a scoped reader (an auditor's grant) asking beyond the grant is told so.
"""

from __future__ import annotations

from typing import Any, get_args

from sqlalchemy import select
from sqlalchemy.orm import Session

from engine.errors import ErrorDetail, InputError, PermissionDeniedError
from engine.findings import known
from engine.findings.schemas import FindingFilter, FindingScope, LifecycleState
from engine.findings.tables import FindingRow
from engine.rules.schemas import DeadlineStatus
from engine.rules.spec import SEVERITY_ORDER


def check(session: Session, *, org_id: str, f: FindingFilter, scope: FindingScope | None) -> None:
    """Raise InputError naming every value that can never match, then PermissionDeniedError for
    values outside `scope` (an auditor's grant) rather than an empty page."""
    frameworks, rules, establishments = _values(f.framework), _values(f.rule_id), _values(f.establishment_id)
    problems = [
        ErrorDetail(reason=f"{value!r} is not a {name}; the {name} values are: {', '.join(allowed)}", field=name)
        for name, allowed in _CLOSED_FILTERS.items() for value in _values(getattr(f, name)) if value not in allowed
    ]

    index = known.ruleset_index() if frameworks or rules else None
    if index is not None:
        unknown = _absent(session, org_id, FindingRow.framework, [x for x in frameworks if x not in index.frameworks])
        shown = [scope.framework] if scope is not None else sorted(index.frameworks)  # a grant sees its own only
        problems += [ErrorDetail(reason=f"{fw!r} has no ruleset in any version{known.close(fw, shown)}; "
                                        f"the frameworks are: {', '.join(shown)}", field="framework")
                     for fw in unknown]
        unknown = _absent(session, org_id, FindingRow.rule_id, [r for r in rules if r not in index.rules])
        problems += [ErrorDetail(reason=f"no ruleset version has a rule {r!r}{known.close(r, index.rules)}",
                                 field="rule") for r in unknown]
    if establishments:
        records = known.existing_records(session, org_id=org_id, record_type="establishment", ids=establishments)
        unknown = _absent(session, org_id, FindingRow.establishment_id, [e for e in establishments if e not in records])
        problems += [ErrorDetail(reason=f"{e!r} is not an establishment of this organization", field="establishment")
                     for e in unknown]
    assignees = [a for a in _values(f.assignee) if a != "none"]
    if assignees:
        from engine.auth import people

        unknown = _absent(session, org_id, FindingRow.assignee,
                          [a for a in assignees if people.kind_of(session, org_id=org_id, name=a) is None])
        problems += [ErrorDetail(reason=f"{a!r} is not a user, a person or a role of this organization (none: "
                                        "findings assigned to nobody)", field="assignee") for a in unknown]
    problems += _subject_problems(session, org_id, _values(f.subject_id))
    if f.org_wide and establishments:
        problems.append(ErrorDetail(reason="a finding is at an establishment or organization-wide, not both: "
                                           "drop one of the two filters", field="org_wide"))
    if problems:
        raise InputError(f"{len(problems)} problem{'s' if len(problems) > 1 else ''} with the filters", problems)
    if scope is None:
        return
    outside = [ErrorDetail(reason=f"framework {fw!r} is outside your grant ({scope.framework})", field="framework")
               for fw in frameworks if fw != scope.framework]
    if index is not None:
        outside += [ErrorDetail(reason=f"rule {r!r} is not of {scope.framework}, the framework of your grant",
                                field="rule")
                    for r in rules if r in index.rules and scope.framework not in index.rules[r].frameworks]
    if scope.establishments is not None:
        outside += [ErrorDetail(reason=f"establishment {e!r} is outside your grant "
                                       f"({', '.join(scope.establishments) or 'none'})", field="establishment")
                    for e in establishments if e not in scope.establishments]
        if f.org_wide:
            outside.append(ErrorDetail(reason="organization-wide findings are outside your grant, which names "
                                              "establishments", field="org_wide"))
    if outside:
        raise PermissionDeniedError("the filter asks for findings outside your grant", outside,
                                    code="permission_denied.outside_grant")


#: The filters whose values are a closed set: a misspelt one would match nothing and look like
#: "no findings", so it is refused with the values there are.
_CLOSED_FILTERS: dict[str, tuple[str, ...]] = {
    "severity": tuple(SEVERITY_ORDER), "state": get_args(LifecycleState), "status": get_args(DeadlineStatus),
}


#: How a subject filter is written, told with every subject refused
SUBJECT_FORM = "write a subject as type/id (person/P-0001) or its id alone (P-0001)"


def _subject_problems(session: Session, org_id: str, subjects: list[str]) -> list[ErrorDetail]:
    """The subject filter's values that can never match: `type/id` with an empty part (`person/`,
    `/X`) or a type nothing is reported as (`persn/P-0043`, `a/b/c`). Each had answered an empty
    page, read as "no findings" for a subject that was only misspelt.

    An id alone is taken as it is (a record's id may hold `/`: a finding about `2026/P-1` matches
    `subject=2026/P-1`), and so is a type with an id no record has yet: its findings may come."""
    written = [s for s in subjects if "/" in s]
    if not written:
        return []
    no_finding = set(_absent(session, org_id, FindingRow.subject_id, written))  # as ids alone, they match nothing
    types: set[str] | None = None
    problems = []
    for value in (s for s in written if s in no_finding):
        kind, _, record_id = value.partition("/")
        if not kind or not record_id:
            problems.append(ErrorDetail(reason=f"{value!r} names {'no type' if not kind else 'no id'}: "
                                               f"{SUBJECT_FORM}", field="subject"))
            continue
        if types is None:
            types = _subject_types(session, org_id)
        if kind not in types:
            problems.append(ErrorDetail(reason=f"{value!r}: {kind!r} is not a type of subject"
                                               f"{known.close(kind, types)}; {SUBJECT_FORM}", field="subject"))
    return problems


def _subject_types(session: Session, org_id: str) -> set[str]:
    """What a finding's subject may be: a record type, a type a rule reports its subjects as, or one
    a finding of the org carries (from a rule since changed)."""
    from engine.records.schemas import RECORD_MODELS

    index = known.ruleset_index()
    reported = {t for rule in index.rules.values() for t in rule.subject_types}
    carried = session.scalars(select(FindingRow.subject_type).where(FindingRow.org_id == org_id).distinct())
    return set(RECORD_MODELS) | reported | {str(t) for t in carried}


def _values(text: str | None) -> list[str]:
    return [v for v in (text or "").split(",") if v.strip()]


def _absent(session: Session, org_id: str, column: Any, values: list[str]) -> list[str]:
    """The `values` no finding of the org carries in `column`. One that some finding carries does
    match, whatever the rulesets and records say now (a rule since removed, an establishment id no
    record has), so it is never refused."""
    if not values:
        return []
    stmt = select(column).where(FindingRow.org_id == org_id, column.in_(sorted(set(values)))).distinct()
    present = {str(v) for v in session.scalars(stmt)}
    return [v for v in values if v not in present]
