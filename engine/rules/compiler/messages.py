"""Rule messages: the sandboxed Jinja2 environment, what a message is rendered with, the static check
that runs at validation, and the one place a message is rendered.

A message is content a liaison writes, so it gets the same treatment as a condition: anything the
renderer cannot honour (a name it does not pass, an attribute or key starting with an underscore, a
filter that does not exist, an include) is refused when the ruleset is validated, with the rule id,
the offending text and why. The check reads the names from `MessageContext` and the rule's own
patterns, the very things `render_message` is given, so the two cannot drift apart. Whatever still
fails at render time (a field a record lacks, a filter given the wrong type) becomes a
`RulesetError` naming the rule and the subject, never a Jinja2 traceback.
"""

from __future__ import annotations

import contextvars
import datetime as dt
import difflib
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from functools import lru_cache
from typing import Any, TypedDict
from zoneinfo import ZoneInfo

from jinja2 import Template, TemplateSyntaxError, Undefined, nodes
from jinja2.defaults import DEFAULT_FILTERS

from engine.errors import ErrorDetail, RulesetError, RulesetValidationError
from engine.records.fields import format_instant
from engine.rules.compiler.template_costs import TEXT_ONLY_METHODS, TOO_BIG, arity_problem, constant
from engine.rules.spec import RuleSpec
from engine.sandbox import (
    MAX_BITS,
    MAX_EXPONENT,
    MAX_NUMBER,
    MAX_RANGE,
    MAX_REPEAT,
    TEXT_METHODS,
    BoundedSandbox,
    render_bounded,
)

#: An instant as records, derivations and Python write them: with `Z` or an offset.
_INSTANT = re.compile(r"\d{4}-\d\d-\d\dT\d\d:\d\d(?::\d\d(?:\.\d+)?)?(?:Z|[+-]\d\d:\d\d)(?![\d:])")
#: The zone the message being rendered writes its instants in (None: UTC).
_ZONE: contextvars.ContextVar[str | None] = contextvars.ContextVar("message_zone", default=None)


def _in_zone(match: re.Match[str]) -> str:
    written = match.group(0)
    try:
        when = dt.datetime.fromisoformat(written)
    except ValueError:
        return written
    zone = _ZONE.get()
    if zone is None or zone == "UTC":
        return written[:-6] + "Z" if written.endswith("+00:00") else (
            written if written.endswith("Z") else format_instant(when.astimezone(dt.UTC)))
    return when.astimezone(ZoneInfo(zone)).isoformat()


def _finalize(value: Any) -> Any:
    """Every `{{ ... }}` of a message: an instant reads in the zone of the finding's site, with its
    offset (in UTC, `...Z`, where no zone is known), whichever way the value was written (alone
    or inside a derived text). Why: the deadlines are local dates (C7), so an instant written in
    UTC named another day than the due date beside it (trained `2027-03-01T09:00:00Z`, due a
    year after `2027-02-28`); the same instant read differently in two files written with other
    offsets; and one message said `16:00:00+00:00` of one instant and `18:00:00Z` of the next.

    A missing value reads "not recorded": a field left empty in the records had printed as Python's
    `None` ("issued None") wherever a template did not guard it, and one the record leaves out (a
    record keeps no empty field) as nothing at all ("(user , ...)"). Validation refuses a field the
    record's type does not have (`compile_message`), so what is undefined here is a field left empty.
    An inline `x if cond` whose condition is false is undefined too, with no name: it prints nothing,
    as its writer meant."""
    if value is None or (isinstance(value, Undefined) and value._undefined_name is not None):
        return "not recorded"
    if type(value) is str and ":" in value:
        return _INSTANT.sub(_in_zone, value)
    return value


#: A number written in a message may be at most this (the other bounds: `engine.sandbox`).
MAX_CONSTANT = MAX_NUMBER

TEMPLATES = BoundedSandbox(autoescape=False, trim_blocks=True, lstrip_blocks=True, finalize=_finalize)


def _local_filter(value: Any) -> Any:
    """`{{ x.at | local }}`: the value as every printed instant reads, in the zone of the finding's
    site with its offset (`_finalize` does it to every value; the filter says so where it is used).
    An empty field stays empty, so it reads "not recorded" (the filter had printed nothing)."""
    if value is None or isinstance(value, Undefined):
        return value
    return _finalize(str(value))


def _local_date_filter(value: Any) -> Any:
    """`{{ x.at | local_date }}`: the day an instant falls on in the zone of the finding's site
    (`2026-12-01`), the day a deadline's `due` counts from; a date is left as it is, and so is text
    that is neither. Without it a message could print an instant only whole, in that zone's offset
    (`2026-12-01T04:00:00-10:00` for an access entered as 09:00 at -05:00), and `x.at[:10]` is the
    day in the offset the record was written with, which may be another day."""
    if value is None or isinstance(value, Undefined):
        return value
    text = str(value)
    if not _INSTANT.fullmatch(text):
        return text
    try:
        when = dt.datetime.fromisoformat(text)
    except ValueError:
        return text
    zone = _ZONE.get()
    return when.astimezone(ZoneInfo(zone) if zone else dt.UTC).date().isoformat()


#: Our own filters, as written (the environment holds them wrapped in the sandbox's bounds): the
#: checker reads their signatures, as it reads Jinja2's own.
OWN_FILTERS: dict[str, Any] = {"local": _local_filter, "local_date": _local_date_filter}
for _name, _apply in OWN_FILTERS.items():
    TEMPLATES.add_filter(_name, _apply)


class _EveryMessage(TypedDict):
    due: str | None
    params: dict[str, Any]
    state: str
    variant: str
    now: str
    rule: dict[str, str]


class MessageContext(_EveryMessage, total=False):
    """What a message is rendered with besides its positive patterns' records (one per alias).

    `met` is the record that met an obligation (`met_by`); only a `late` finding binds one.
    """

    met: dict[str, Any]


#: Names a pattern alias may not take: the message would read the context's value, not the record.
RESERVED_NAMES = frozenset(MessageContext.__required_keys__ | MessageContext.__optional_keys__ | {"self"})


def context_names(rule: RuleSpec, aliases: Iterable[str]) -> frozenset[str]:
    """Every name a message of `rule` can read: its positive aliases (`no` patterns bind nothing),
    the `MessageContext` keys the renderer passes for it, and the environment's globals."""
    names = set(aliases) | MessageContext.__required_keys__ | TEMPLATES.globals.keys()
    if rule.obligation is not None and rule.obligation.met_by is not None:
        names |= {"met"}
    return frozenset(names)


@lru_cache(maxsize=4096)
def _template(source: str) -> Template:
    """A message template, compiled once per text: a ruleset is compiled again for every new set of
    parameter values (each scenario of `rules test`), and Jinja2's compile was a third of that."""
    return TEMPLATES.from_string(source)


@dataclass(frozen=True)
class MessageTemplate:
    """A rule's checked message, compiled by Jinja2 the first time a finding of the rule is rendered.

    Why not at once: compiling every message was half of compiling the rulesets, and a `vigil
    evaluate` of a few records renders a handful of them (1.2 s of its 2.2 s went to compiling the
    five rulesets). The checks that read the template run when the ruleset is compiled
    (`compile_message`); `vigil rules validate` and publishing also compile it (`check_compiles`).
    """

    source: str

    def render(self, context: Mapping[str, Any]) -> str:
        return render_bounded(_template(self.source), context)


#: The fields of what a message reads that is no record: `rule`, as `results` passes it.
RULE_FIELDS = frozenset({"id", "title", "citation"})


@dataclass(frozen=True)
class Shape:
    """What a name a message reads holds: the fields of its record (as its fact type declares them,
    `label` naming the type) or of a parameter table (`params`), so `{{ account.usr_id }}` or
    `{{ params.require_mfa_remot }}` is refused when the ruleset is validated, rather than print
    nothing in every finding."""

    label: str
    fields: frozenset[str]
    params: bool = False


def compile_message(rule: RuleSpec, aliases: Iterable[str],
                    shapes: Mapping[str, Shape] | None = None) -> MessageTemplate:
    """The rule's checked message template; raise RulesetValidationError listing every problem.

    `shapes` gives the fields of the names whose fields are known (an alias's fact type, `met`,
    `params`, `rule`); a field or parameter they lack is a problem, with the close names."""
    bound = frozenset(aliases)
    reasons = _problems(rule.message, context_names(rule, bound), bound,
                        tuple(sorted((shapes or {}).items(), key=lambda kv: kv[0])))
    if not reasons:
        return MessageTemplate(rule.message)
    raise _invalid(rule, reasons)


def check_compiles(rule: RuleSpec) -> None:
    """Compile the rule's message now: what only Jinja2's compiler notices is a validation problem,
    not a failure of the first evaluation that renders it."""
    try:
        _template(rule.message)
    except TemplateSyntaxError as exc:
        raise _invalid(rule, (_syntax_reason(exc),)) from None
    except RecursionError:
        raise _invalid(rule, (_TOO_DEEP,)) from None


def _invalid(rule: RuleSpec, reasons: Iterable[str]) -> RulesetValidationError:
    reasons = tuple(reasons)
    return RulesetValidationError(
        f"rule {rule.id}: {len(reasons)} problem(s) in its message",
        [ErrorDetail(reason=r, rule_id=rule.id, line=rule.lines.get("message", rule.line), field="message")
         for r in reasons],
    )


def render_message(
    template: MessageTemplate | Template, context: Mapping[str, Any], *, rule_id: str, ruleset: str,
    subject: tuple[str, str], tz: str | None = None
) -> str:
    """The rendered message, whitespace collapsed; a failure is a RulesetError naming the rule.

    Every exception is caught here on purpose: this is the boundary where a liaison's template
    runs, and whatever it raises (Jinja2's UndefinedError or SecurityError, a filter's TypeError)
    is a fault of the ruleset, not of Vigil.
    """
    zone = _ZONE.set(tz)
    try:
        text = template.render(context) if isinstance(template, MessageTemplate) else render_bounded(template, context)
    except Exception as exc:  # translated at the boundary (see above)
        line = _template_line(exc)
        where = f" (line {line} of the message)" if line is not None else ""
        reason = f"message could not be rendered{where}: {type(exc).__name__}: {exc}"
        raise RulesetError(
            f"{ruleset}: the message of rule {rule_id} failed for {subject[0]} {subject[1]}; fix the rule (the "
            "other frameworks can be evaluated alone meanwhile)",
            [ErrorDetail(reason=reason, rule_id=rule_id, field="message", record_type=subject[0],
                         record_id=subject[1])],
            code="ruleset.message.render_failed",
        ) from None
    finally:
        _ZONE.reset(zone)
    return " ".join(text.split())


def _template_line(exc: BaseException) -> int | None:
    """The line of the template where rendering failed (Jinja2 rewrites its frames to say so)."""
    line = None
    tb = exc.__traceback__
    while tb is not None:
        if tb.tb_frame.f_code.co_filename == "<template>":
            line = tb.tb_lineno
        tb = tb.tb_next
    return line


def _syntax_reason(exc: TemplateSyntaxError) -> str:
    return f"message is not a valid template: {exc.message} (line {exc.lineno} of the message)"


@lru_cache(maxsize=4096)
def _problems(source: str, known: frozenset[str], aliases: frozenset[str],
              shapes: tuple[tuple[str, Shape], ...] = ()) -> tuple[str, ...]:
    """Why a message cannot be rendered safely, each reason once (cached: see `_template`)."""
    try:
        tree = TEMPLATES.parse(source)
        checker = _Checker(source, known, aliases, dict(shapes))
        checker.check(tree)
    except TemplateSyntaxError as exc:
        return (_syntax_reason(exc),)
    except RecursionError:  # Jinja2's parser and the checker recurse once per level of nesting
        return (_TOO_DEEP,)
    return tuple(dict.fromkeys(checker.reasons))


#: Why a message nested past what Python's stack takes is refused (it had been a traceback, and a 500
#: on the draft page).
_TOO_DEEP = "the message nests too deeply (brackets or tags inside each other); write it flatter"


_TAG = re.compile(r"\{\{.*?\}\}|\{%.*?%\}", re.S)
_TARGET = r"\b(?:for|set|with)\s+(?:\w+\s*,\s*)*{}"  # a name a tag assigns (`{% for a, b in ...`)
#: Filters that read attributes named by a string argument (the position of that argument).
_ATTRIBUTE_ARGS = {"attr": 0, "selectattr": 0, "rejectattr": 0, "groupby": 0}
_INCLUDES: dict[type[nodes.Node], str] = {
    nodes.Extends: "extends", nodes.Include: "include", nodes.Import: "import", nodes.FromImport: "from"}


class _Scope:
    """Names a template assigns, with the scope they are visible from (loops and macros nest)."""

    def __init__(self, parent: _Scope | None = None, names: Iterable[str] = ()) -> None:
        self.parent = parent
        self.names = set(names)

    def knows(self, name: str) -> bool:
        return name in self.names or (self.parent is not None and self.parent.knows(name))


class _Checker:
    """Walks a message's syntax tree in order, the way Jinja2 scopes names.

    `{% set %}` is visible after it (also after the `if` it sits in: the renderer then reads the
    context, and a rule reads nothing there it was not given); a `for` binds its targets and `loop`
    for its body only; a macro's or call block's body sees its arguments, `caller`, `varargs`,
    `kwargs` and whatever its template assigns, and is checked last, as it runs when called.
    """

    def __init__(self, source: str, known: frozenset[str], aliases: frozenset[str],
                 shapes: Mapping[str, Shape] | None = None) -> None:
        self.source = source
        self.known = known
        self.aliases = aliases
        self.shapes = shapes or {}
        self.reasons: list[str] = []
        self.deferred: list[tuple[list[nodes.Node], _Scope]] = []
        self.loops = 0  # how many `for` bodies the node being visited is inside

    def check(self, tree: nodes.Template) -> None:
        self.body(tree.body, _Scope())
        while self.deferred:
            body, scope = self.deferred.pop(0)
            self.body(body, scope)

    def body(self, stmts: Iterable[nodes.Node], scope: _Scope) -> None:
        for stmt in stmts:
            self.visit(stmt, scope)

    def fail(self, reason: str, node: nodes.Node, pattern: str, *, read: bool = True) -> None:
        text = self._tag(node.lineno, pattern, read)
        self.reasons.append(f"{reason} in `{text}`" if text else reason)

    def _tag(self, lineno: int, pattern: str, read: bool) -> str | None:
        """The `{{ ... }}` or `{% ... %}` that holds the offence, on its line if possible (with
        `read`, not a tag that only assigns the name, as `{% for a in ... %}` does `a`)."""
        found = None
        for m in _TAG.finditer(self.source):
            assigned = len(re.findall(_TARGET.format(pattern), m.group())) if read else 0
            if len(re.findall(pattern, m.group())) <= assigned:
                continue  # not there, or only where the tag assigns it
            first = self.source.count("\n", 0, m.start()) + 1
            if first <= lineno <= first + m.group().count("\n"):
                return " ".join(m.group().split())
            found = found or " ".join(m.group().split())
        return found

    def bind(self, target: nodes.Node, scope: _Scope) -> None:
        names = [target] if isinstance(target, nodes.Name) else list(target.find_all(nodes.Name))
        scope.names.update(name.name for name in names if isinstance(name, nodes.Name))

    def visit(self, node: nodes.Node, scope: _Scope) -> None:
        if isinstance(node, nodes.Pow | nodes.Mul):
            self._cost(node)
        if isinstance(node, nodes.Call):
            self._call(node)
        if isinstance(node, nodes.Mod) and isinstance(node.left, nodes.Const) and isinstance(node.left.value, str):
            # the renderer refuses it whatever the values; said here, it is not a failed evaluation
            self.fail("`%` formatting of a text is not allowed in a message: join with `~` (`'n=' ~ params.n`), "
                      "and round with the `round` filter", node, r"(?<!\{)%(?!\})")
        if isinstance(node, nodes.Const) and isinstance(node.value, int | float) and not isinstance(node.value, bool) \
                and abs(node.value) > MAX_CONSTANT:
            self.fail(f"the number {node.value!r} is larger than a message needs (at most {MAX_CONSTANT})", node,
                      re.escape(str(node.value)))
        elif isinstance(node, nodes.Name):
            if node.ctx == "load" and node.name not in self.known and not scope.knows(node.name):
                self._unknown(node.name, node, rf"(?<![\w.]){re.escape(node.name)}\b")
        elif isinstance(node, nodes.Assign):
            self.visit(node.node, scope)
            if isinstance(node.target, nodes.NSRef):  # {% set ns.attr = ... %} assigns nothing new
                self.visit(node.target, scope)
            else:
                self.bind(node.target, scope)
        elif isinstance(node, nodes.AssignBlock):
            if node.filter is not None:
                self.visit(node.filter, scope)
            self.body(node.body, scope)
            self.bind(node.target, scope)
        elif isinstance(node, nodes.For):
            if self.loops:
                self.fail("a loop inside a loop is not allowed: a message loops once at most (its cost would "
                          "grow with the square of the records)", node, r"\{%-?\s*for\b")
            self.visit(node.iter, scope)
            inner = _Scope(scope, ["loop"])
            self.bind(node.target, inner)
            if node.test is not None:
                self.visit(node.test, inner)
            self.loops += 1
            self.body(node.body, inner)
            self.loops -= 1
            self.body(node.else_, _Scope(scope))
        elif isinstance(node, nodes.If):
            branches: list[_Scope] = []
            for test, body in [(node.test, node.body)] + [(e.test, e.body) for e in node.elif_] + [(None, node.else_)]:
                if test is not None:
                    self.visit(test, scope)
                branches.append(_Scope(scope))
                self.body(body, branches[-1])
            for branch in branches:
                scope.names |= branch.names
        elif isinstance(node, nodes.Macro | nodes.CallBlock):
            for default in node.defaults:
                self.visit(default, scope)
            if isinstance(node, nodes.Macro):
                scope.names.add(node.name)
            else:
                self.visit(node.call, scope)
            inner = _Scope(scope, ["caller", "varargs", "kwargs"] + [a.name for a in node.args])
            self.deferred.append((node.body, inner))
        elif isinstance(node, nodes.With):
            for value in node.values:
                self.visit(value, scope)
            inner = _Scope(scope)
            for target in node.targets:
                self.bind(target, inner)
            self.body(node.body, inner)
        elif isinstance(node, nodes.Getattr | nodes.Getitem):
            self._access(node, scope)
        elif isinstance(node, nodes.NSRef):
            if not scope.knows(node.name) and node.name not in self.known:
                self._unknown(node.name, node, rf"(?<![\w.]){re.escape(node.name)}\s*\.", read=False)
            self._key(node.attr, node)
        elif isinstance(node, nodes.Filter | nodes.Test):
            self._filter_or_test(node, scope)
        elif isinstance(node, nodes.Extends | nodes.Include | nodes.Import | nodes.FromImport):
            word = _INCLUDES[type(node)]
            self.fail(f"`{{% {word} %}}` is not allowed: a message is one template", node, rf"\b{word}\b")
            if isinstance(node, nodes.Import):
                scope.names.add(node.target)
            elif isinstance(node, nodes.FromImport):
                scope.names.update(n if isinstance(n, str) else n[1] for n in node.names)
        elif isinstance(node, nodes.Block | nodes.Scope | nodes.ScopedEvalContextModifier):
            self.body(node.body, _Scope(scope))
        else:
            for child in node.iter_child_nodes():
                self.visit(child, scope)

    def _cost(self, node: nodes.Pow | nodes.Mul) -> None:
        """Refuse what the renderer would refuse anyway (`engine.sandbox.BoundedSandbox`), where the text
        shows it: constants are worked out first, so `10 ** 10 ** 10` (an exponent of 10**10) is refused
        here, not by every evaluation that renders it."""
        left, right = (n.value if isinstance(n, nodes.Const) else constant(n) for n in (node.left, node.right))
        if isinstance(node, nodes.Pow) and isinstance(right, int | float) and abs(right) > MAX_EXPONENT:
            self.fail(f"an exponent above {MAX_EXPONENT} is not allowed in a message", node, r"\*\*")
        elif isinstance(node, nodes.Pow | nodes.Mul) and constant(node) is TOO_BIG:
            self.fail(f"a number past {MAX_BITS} bits is not allowed in a message", node,
                      r"\*\*" if isinstance(node, nodes.Pow) else r"\*")
        for seq, times in ((left, right), (right, left)):
            if isinstance(node, nodes.Mul) and isinstance(seq, str) and isinstance(times, int) \
                    and len(seq) * times > MAX_REPEAT:
                self.fail(f"a repetition longer than {MAX_REPEAT} characters is not allowed in a message", node,
                          r"\*")

    def _call(self, node: nodes.Call) -> None:
        """Refuse a call the renderer refuses whatever the records hold: a text method that can grow
        the text (`{{ sys.name.ljust(19000) }}`; the docs say `ljust` is not there) and a `range`
        longer than MAX_RANGE (`range(10**9)`). Its arguments are visited as any node's are."""
        if isinstance(node.node, nodes.Getattr) and node.node.attr in TEXT_ONLY_METHODS:
            self.fail(f"the text method `{node.node.attr}` is not available in a message (only those that cannot "
                      f"grow a text are: {', '.join(sorted(TEXT_METHODS))})", node, rf"\.\s*{node.node.attr}\b")
        if isinstance(node.node, nodes.Name) and node.node.name == "range" and node.args and not node.kwargs:
            bounds = [constant(a) for a in node.args]
            if all(isinstance(b, int) and not isinstance(b, bool) for b in bounds):
                try:
                    length = len(range(*bounds))
                except (TypeError, ValueError):
                    length = 0
                if length > MAX_RANGE:
                    self.fail(f"a range longer than {MAX_RANGE} is not allowed in a message", node, r"\brange\b")
            elif TOO_BIG in bounds:
                self.fail(f"a number past {MAX_BITS} bits is not allowed in a message", node, r"\brange\b")

    def _unknown(self, name: str, node: nodes.Node, pattern: str, *, read: bool = True) -> None:
        close = difflib.get_close_matches(name, sorted(self.known), n=1)
        hint = f"did you mean {close[0]}? " if close else ""
        shown = sorted(self.aliases | MessageContext.__required_keys__ | (self.known & {"met"}))
        self.fail(
            f"unknown name `{name}` ({hint}the message is rendered with: {', '.join(shown)})", node, pattern, read=read)

    def _key(self, key: object, node: nodes.Node) -> bool:
        if isinstance(key, str) and any(part.startswith("_") for part in key.split(".")):
            self.fail(f"attributes and keys starting with an underscore are not allowed: `{key}`", node,
                      re.escape(key))
            return True
        if key in ("format", "format_map"):  # the renderer refuses it (engine.sandbox); said where it is written
            self.fail(f"`{key}` is not allowed in a message: join texts with `~` (`'n=' ~ params.n`)", node,
                      rf"\b{key}\b")
            return True
        return False

    def _access(self, node: nodes.Getattr | nodes.Getitem, scope: _Scope) -> None:
        """`a.b['c'].d`: the innermost forbidden step is the one reported."""
        chain: list[nodes.Getattr | nodes.Getitem] = []
        base: nodes.Node = node
        while isinstance(base, nodes.Getattr | nodes.Getitem):
            chain.append(base)
            base = base.node
        self.visit(base, scope)
        # the first step from a name the context gives (not one the template assigns) reads a field
        shape = (self.shapes.get(base.name) if isinstance(base, nodes.Name) and not scope.knows(base.name)
                 else None)
        for link in reversed(chain):
            if isinstance(link, nodes.Getattr):
                key: object = link.attr
            else:
                key = link.arg.value if isinstance(link.arg, nodes.Const) else None
                self.visit(link.arg, scope)
            if self._key(key, link):
                return
            if shape is not None and isinstance(base, nodes.Name) and isinstance(key, str):
                self._field(base.name, shape, key, link)
            shape = None

    def _field(self, name: str, shape: Shape, key: str, node: nodes.Node) -> None:
        """A field `name` does not have, worded as a condition's unknown field or parameter is."""
        if key in shape.fields:
            return
        close = difflib.get_close_matches(key, sorted(shape.fields), n=3)
        where = rf"(?<![\w.]){re.escape(name)}\s*(?:\.\s*{re.escape(key)}\b|\[\s*['\"]{re.escape(key)}['\"])"
        if shape.params:
            hint = f" (did you mean {', '.join(f'params.{c}' for c in close)}?)" if close else ""
            self.fail(f"unknown parameter params.{key}: the ruleset declares no parameter {key!r}{hint}", node, where)
        else:
            hint = f" (did you mean {', '.join(close)}?)" if close else ""
            self.fail(f"{shape.label} has no field {key!r}{hint}", node, where)

    def _filter_or_test(self, node: nodes.Filter | nodes.Test, scope: _Scope) -> None:
        kind, table = ("filter", TEMPLATES.filters) if isinstance(node, nodes.Filter) else ("test", TEMPLATES.tests)
        if node.name not in table and kind == "filter" and node.name in DEFAULT_FILTERS:
            self.fail(f"the filter `{node.name}` is not allowed in a message (allowed: {', '.join(sorted(table))})",
                      node, rf"\b{re.escape(node.name)}\b")
        elif node.name not in table:
            close = difflib.get_close_matches(node.name, sorted(table), n=1)
            hint = f" (did you mean {close[0]}?)" if close else ""
            self.fail(f"unknown {kind} `{node.name}`{hint}", node, rf"\b{re.escape(node.name)}\b")
        else:
            arity = arity_problem(node.name, node, OWN_FILTERS.get(node.name) or DEFAULT_FILTERS.get(node.name))
            if arity is not None:
                self.fail(arity, node, rf"\b{re.escape(node.name)}\b")
        position = _ATTRIBUTE_ARGS.get(node.name) if isinstance(node, nodes.Filter) else None
        named = [node.args[position]] if position is not None and len(node.args) > position else []
        named += [kw.value for kw in node.kwargs if kw.key == "attribute"]
        for arg in named:
            if isinstance(arg, nodes.Const):
                self._key(arg.value, node)
        for child in node.iter_child_nodes():
            self.visit(child, scope)
