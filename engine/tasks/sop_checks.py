"""The checks an SOP template must pass, shared by `vigil tasks sops`, `vigil rules validate` and
publishing (which check the SOPs their rules name).

`templates.load_sop` reads the front matter and parses the body; the checks here are those only a
look at the whole policy shows:

- its `owner_role` is a role `roles.yaml` names (`role: {}` for one nobody holds yet) or the
  fallback role: `chief_wizard` had loaded, and every task of the SOP went to whoever holds the
  fallback role, with nothing saying why;
- the names its template reads are those a task is rendered with (`finding`, `task`, `sop`, and
  `period` for a recurring task), and a field of `finding`, `task`, `sop` or `period` it reads is
  one they have: `{{ finding.mesage }}` had rendered blank in every task (the template's undefined
  values are chainable, so nothing failed); nor may it read an attribute or key starting with an
  underscore (`{{ ''.__class__.__mro__ }}`, contained by the sandbox, and blank);
- it renders, in the same sandbox and bounds as a task, for a sample finding (and, for a recurring
  SOP, a sample period): nested `range(10**9)` loops had passed, and every task of the SOP was then
  opened with three generic steps.
"""

from __future__ import annotations

import datetime as dt
import difflib
import functools
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import jinja2
from jinja2 import meta, nodes

from engine.errors import ErrorDetail
from engine.tasks import templates
from engine.tasks.errors import PolicyError
from engine.tasks.policy import RolePolicy, load_roles, policies_dir
from engine.tasks.schemas import Sop


@functools.cache
def sample_finding() -> dict[str, Any]:
    """What an SOP template sees as `finding` for a task of a finding (`sync.finding_context`), with
    sample values: every key a real one has."""
    from engine.findings.schemas import Finding
    from engine.tasks.sync import finding_context

    at = dt.datetime(2026, 3, 2, 9, 30, tzinfo=dt.UTC)
    finding = Finding(
        id="F-SAMPLE", org_id="default", rule_id="SAMPLE-001", framework="sample", ruleset_version="1.0.0",
        title="A sample finding", citation="45 CFR 164.308", severity="high", advisory=False, kind="state",
        subject_type="person", subject_id="P-1", occurrence_key="", establishment_id="EST-1", status="overdue",
        due="2026-03-05", message="A sample finding's message.", evidence=[], facts={}, sop="SOP-SAMPLE",
        state="open", opened_at=at, opened_by_run="R-1", resolved_at=None, resolved_by_run=None, last_seen_run="R-1",
        updated_at=at)
    return finding_context(finding)["finding"]


def _contexts(sop: Sop) -> list[tuple[str, dict[str, Any]]]:
    """(what it is, the context) of each way a task renders the SOP: for a finding, and for a period
    of a recurring SOP (`recurrence._context`)."""
    out = [("a sample finding's task", {"finding": sample_finding(), "task": {"due": "2026-03-05"}})]
    if sop.recurrence is not None:
        from engine.tasks.recurrence import period_context

        context = period_context(sop, "default", "EST-1", dt.date(2026, 1, 1), 0, dt.date(2026, 3, 5))
        out.append(("a sample period's task", {**context, "task": {"due": "2026-03-05"}}))
    return out


def _fields(sop: Sop) -> dict[str, frozenset[str]]:
    """The fields of each name a task renders an SOP with."""
    return {"finding": frozenset(sample_finding()), "task": frozenset({"due"}),
            "sop": frozenset(k for k in Sop.model_fields if k != "body"), "period": frozenset({"start", "index"})}


def sop_problems(sop_id: str, directory: Path | str | None = None, *, roles: RolePolicy | None = None
                 ) -> list[ErrorDetail]:
    """Every problem of the SOP `sop_id` in the policies `directory` (default the policies in use),
    each naming the SOP's file: what `templates.load_sop` refuses (no front matter, a value of the
    wrong type, an id other than the file's name, a template that does not parse), else each check
    of this module. `roles` is the practice's roles.yaml (read from `directory` when not given)."""
    try:
        sop = templates.load_sop(sop_id, directory)
    except PolicyError as exc:
        return [_said(d, exc.message) for d in exc.details or [ErrorDetail(reason=exc.message)]]
    return sop_content_problems(sop, directory, roles=roles)


def sop_content_problems(sop: Sop, directory: Path | str | None = None, *, roles: RolePolicy | None = None
                         ) -> list[ErrorDetail]:
    """The problems of an SOP that loaded: its owner role, the names and fields its template reads,
    and its render for a sample task."""
    found = _role_problems(sop, directory, roles)
    text = Path(sop.path).read_text(encoding="utf-8") if Path(sop.path).is_file() else ""
    offset = text[: len(text) - len(sop.body)].count("\n") if text.endswith(sop.body) else 0
    try:
        found += [_at(sop, reason, line + offset if line else None) for reason, line in _template_problems(sop)]
    except RecursionError:  # said by load_sop, which parses it first
        return found
    except jinja2.TemplateError as exc:  # a filter or test of no such name: parsed, but never compiles
        line = getattr(exc, "lineno", None)
        why = (exc.message or type(exc).__name__).rstrip(".")
        return found + [_at(sop, f"the template cannot be compiled: {why}; every task of the SOP would be opened "
                                 "with generic steps", line + offset if line else None, field="template")]
    if found:
        return found  # rendered once the template is sound: a misspelt field is not also a failed render
    for what, context in _contexts(sop):
        try:
            templates.render_sop(sop, context)
        except PolicyError as exc:
            reason = exc.details[0].reason if exc.details else exc.message
            found.append(_at(sop, f"the template fails when rendered for {what}: {reason}; every task of the SOP "
                                  "would be opened with generic steps", None, field="template"))
            break
    return found


def check_all(directory: Path | str | None = None) -> tuple[list[Sop], list[ErrorDetail]]:
    """Every SOP template of the policies `directory` that loads, and every problem of them all (not
    only the first file's): `vigil tasks sops`."""
    root = policies_dir(directory) / "sops"
    roles = _roles(directory)
    loaded: list[Sop] = []
    problems: list[ErrorDetail] = []
    for path in sorted(root.glob("SOP-*.md")):
        problems.extend(sop_problems(path.stem, directory, roles=roles))
        try:
            loaded.append(templates.load_sop(path.stem, directory))
        except PolicyError:
            pass  # said above
    return loaded, problems


def _said(d: ErrorDetail, message: str) -> ErrorDetail:
    """A refusal of `load_sop` as one line: its detail's bare reason ("id mismatch", "unclosed") said
    with the message that explains it."""
    from dataclasses import replace

    headline = message.split(": ", 1)[1] if d.file and message.startswith(f"{d.file}: ") else message
    reason = headline if d.reason in headline or d.reason in _BARE else f"{headline}: {d.reason}"
    return replace(d, reason=reason)


#: The reasons `templates` gives beside a message that says it all.
_BARE = frozenset({"no front matter", "unclosed", "not a mapping", "id mismatch", "missing", "bad SOP id"})


def _roles(directory: Path | str | None) -> RolePolicy | None:
    """The practice's roles.yaml, or None where the policies have none (every task then goes to
    nobody, so no role is more known than another); one that does not read is its own problem."""
    if not (policies_dir(directory) / "roles.yaml").is_file():
        return None
    try:
        return load_roles(directory)
    except PolicyError:
        return None


def _role_problems(sop: Sop, directory: Path | str | None, roles: RolePolicy | None) -> list[ErrorDetail]:
    roles = roles if roles is not None else _roles(directory)
    if roles is None:
        return []
    known = sorted(set(roles.roles) | {roles.fallback_role})
    if sop.owner_role in known:
        return []
    close = difflib.get_close_matches(sop.owner_role, known, n=1)
    hint = f"did you mean {close[0]}? " if close else ""
    return [_at(sop, f"owner_role {sop.owner_role!r} is no role of roles.yaml ({hint}the roles are: "
                     f"{', '.join(known)}): every task of the SOP would go to the fallback role "
                     f"({roles.fallback_role}); name a role there, or add it to roles.yaml (`{sop.owner_role}: {{}}` "
                     "while nobody holds it)", _front_line(sop, "owner_role"), field="owner_role")]


def _template_problems(sop: Sop) -> list[tuple[str, int | None]]:
    """(reason, line in the body) of each name, field or underscore the template reads that a task
    does not give it."""
    env = templates.environment()
    tree = env.parse(sop.body)
    fields = _fields(sop)
    known = set(fields) | set(env.globals)
    out: list[tuple[str, int | None]] = []
    for name in sorted(meta.find_undeclared_variables(tree) - known):
        close = difflib.get_close_matches(name, sorted(fields), n=1)
        line = next((n.lineno for n in tree.find_all(nodes.Name) if n.name == name), None)
        out.append((f"unknown name `{name}` ({f'did you mean {close[0]}? ' if close else ''}an SOP is rendered with: "
                    f"{', '.join(sorted(fields))})", line))
    for node in _accesses(tree):
        key = _key(node)
        if isinstance(key, str) and key.startswith("_"):
            if not _walks_underscores(node.node):  # `''.__class__.__mro__` is one problem, said at its first step
                out.append((f"attributes and keys starting with an underscore are not allowed: `{key}`", node.lineno))
            continue
        base = node.node
        if isinstance(base, nodes.Name) and base.name in fields and isinstance(key, str) \
                and key not in fields[base.name] and not _assigned(tree, base.name):
            close = difflib.get_close_matches(key, sorted(fields[base.name]), n=3)
            hint = f" (did you mean {', '.join(close)}?)" if close else ""
            out.append((f"{base.name} has no field {key!r}{hint}: it would print nothing in every task",
                        node.lineno))
    return out


def _key(node: nodes.Getattr | nodes.Getitem) -> object:
    """The attribute or constant key a step reads (None for a computed key)."""
    return node.attr if isinstance(node, nodes.Getattr) else (node.arg.value if isinstance(node.arg, nodes.Const)
                                                              else None)


def _walks_underscores(node: nodes.Node) -> bool:
    """Whether an earlier step of the chain `node` ends reads an underscore name."""
    while isinstance(node, nodes.Getattr | nodes.Getitem):
        key = _key(node)
        if isinstance(key, str) and key.startswith("_"):
            return True
        node = node.node
    return False


def _accesses(tree: nodes.Template) -> Iterable[nodes.Getattr | nodes.Getitem]:
    yield from tree.find_all((nodes.Getattr, nodes.Getitem))  # type: ignore[misc]


def _assigned(tree: nodes.Template, name: str) -> bool:
    """Whether the template assigns `name` itself (a `set`, a loop's target): then it is not the task's."""
    return any(isinstance(n, nodes.Name) and n.name == name and n.ctx == "store" for n in tree.find_all(nodes.Name))


def _front_line(sop: Sop, key: str) -> int | None:
    """The line of a front-matter key in the SOP's file."""
    path = Path(sop.path)
    if not path.is_file():
        return None
    for i, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
        if line.startswith(f"{key}:"):
            return i
    return None


def _at(sop: Sop, reason: str, line: int | None, *, field: str = "template") -> ErrorDetail:
    return ErrorDetail(reason=f"{sop.id}: {reason}", file=sop.path, line=line, field=field)

