"""A rule id begins with its framework's prefix: `HIPAA-`, `OSHA-`, `CMS-`, `CRED-`, `AI-`.

Every id in the catalog (spec/regulatory-catalog.md) and in the shipped rulesets begins with the
prefix of its framework, and a person reads the framework from the id: a finding, a waiver or a
packet names the rule by its id alone. A HIPAA rule written `OSHA-300-LOG-001` had validated and
published, and its findings then read as OSHA's. So an id whose first part is the prefix of another
framework's ids is refused, naming that framework and the prefix its own rules use. The prefixes
are learnt from the ids there are (those checked and those in use), not listed here: a new
framework picks its own, and one whose published rules already use a prefix keeps it.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable

from engine.errors import ErrorDetail
from engine.rules.loader import LoadedRuleset


def prefix(rule_id: str) -> str | None:
    """The part of a rule id before its first `-` (`HIPAA` of `HIPAA-SEC-RA-001`); None without one."""
    head, dash, _ = rule_id.partition("-")
    return head.upper() if dash and head else None


def prefix_clashes(checked: list[LoadedRuleset], others: Iterable[LoadedRuleset]) -> list[ErrorDetail]:
    """Each rule of `checked` whose id begins with another framework's prefix.

    A framework's prefixes are those its rules in use (`others`) begin with; for a framework with
    none in use (a new one, or a rulesets folder checked as a whole), the prefix most of its checked
    rules begin with, unless a framework in use has it or another's rules begin with it more often.
    So HIPAA's sixteenth rule written `OSHA-...` is refused whichever files are checked, and OSHA's
    own rules are not."""
    others = list(others)
    published: dict[str, set[str]] = {}
    for item in others:
        for rule in item.spec.rules:
            if (p := prefix(rule.id)) is not None:
                published.setdefault(item.spec.framework, set()).add(p)
    # an id that is itself another framework's rule is said so by `validate.rule_id_clashes`, once
    holders_of: dict[str, set[str]] = {}
    for item in [*checked, *others]:
        for rule in item.spec.rules:
            holders_of.setdefault(rule.id, set()).add(item.spec.framework)
    taken = {p for prefixes in published.values() for p in prefixes}
    counts: dict[str, Counter[str]] = {}
    for item in checked:
        counts.setdefault(item.spec.framework, Counter()).update(
            p for rule in item.spec.rules if (p := prefix(rule.id)) is not None)
    own = dict(published)
    for framework, counted in counts.items():
        if framework not in own and counted:
            # its commonest prefix, unless another framework's rules begin with it more often (one of
            # oth's two rules written PUB- does not make PUB- oth's)
            top = max(counted.values())
            own[framework] = {p for p, n in counted.items() if n == top and p not in taken
                              and not any(c[p] > n for fw, c in counts.items() if fw != framework)}
    problems = []
    for item in checked:
        framework = item.spec.framework
        mine = own.get(framework, set())
        for rule in item.spec.rules:
            p = prefix(rule.id)
            holders = sorted(fw for fw, prefixes in own.items() if fw != framework and p in prefixes)
            if p is None or p in mine or not holders or holders_of[rule.id] - {framework}:
                continue
            hint = (f"give it an id beginning {' or '.join(f'{x}-' for x in sorted(mine))}, as the {framework} rules "
                    "do" if mine else f"give it an id beginning with a prefix of {framework}'s own")
            problems.append(ErrorDetail(
                reason=f"rule id {rule.id} begins {p}-, the prefix of {' and '.join(holders)}'s rule ids, but it is "
                       f"a rule of {framework}: a rule id names its framework (findings, waivers and packets know a "
                       f"rule by its id alone); {hint}",
                file=item.path, line=rule.lines.get("id", rule.line), rule_id=rule.id, field="id"))
    return problems
