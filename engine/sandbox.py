"""The Jinja2 sandbox every template a person writes renders in: rule messages and SOP templates.

Jinja2's sandbox stops attribute walking, not mutation or work. A liaison's message had
- changed the practice's parameters (`{{ params.things.append('x') }}`: the run then recorded values
  that were never in force, and the next finding read them);
- built 655 million characters from 412 (`{% set a1 = a0 ~ a0 %}` sixteen times), or 100 million
  from `(['A' * 9999] * 9999) | join`, per finding.

So the environment here is Jinja2's immutable sandbox (no `append`, `update`, `pop` on what it is
given), with a bounded cost: every text it builds (by `~`, `+`, `*`, a filter, a captured block, a
macro's output, the whole render) is at most `MAX_TEXT` characters and refused before it is built
where its size can be known first; every render has `MAX_STEPS` steps (attribute reads, calls,
operators, filters: a recursive macro or a macro looping inside a loop runs out); filters are the
ones a sentence needs (`random` would make two evaluations of the same records differ). A template
that breaks a bound fails with `SecurityError`, which the callers turn into an error naming the
rule or the SOP.
"""

from __future__ import annotations

import contextvars
from collections.abc import Callable, Iterable, Iterator
from typing import Any

from jinja2 import Environment, Template, nodes
from jinja2.compiler import CodeGenerator, Frame
from jinja2.exceptions import SecurityError
from jinja2.nodes import EvalContext
from jinja2.runtime import Context
from jinja2.sandbox import ImmutableSandboxedEnvironment

#: The longest text a template may build, its whole output included. The longest message of the demo
#: practice is about 500 characters; a message is a sentence or a short list.
MAX_TEXT = 20_000
#: Steps one render may take (each attribute read, call, operator and filter). A message takes tens.
MAX_STEPS = 50_000
#: The longest text a `*` may repeat into, the largest exponent of `**`, the longest `range`, and
#: the largest number a filter is given (a width, a length).
MAX_REPEAT = 10_000
MAX_EXPONENT = 64
MAX_RANGE = 1_000
MAX_NUMBER = 100_000

#: Filters a template may use: those that shape a sentence or a short list. Left out: `random`
#: (two renders of the same finding would differ), `pprint` and `xmlattr` (no use in a sentence),
#: `attr` (attribute walking by a string), `format`, `center`, `indent`, `wordwrap` and `urlize`
#: (text made to a width or by printf codes, whose size the arguments hide).
ALLOWED_FILTERS = frozenset({
    "abs", "batch", "capitalize", "count", "d", "default", "dictsort", "e", "escape", "filesizeformat", "first",
    "float", "forceescape", "groupby", "int", "items", "join", "last", "length", "list", "lower", "map", "max",
    "min", "reject", "rejectattr", "replace", "reverse", "round", "safe", "select", "selectattr", "slice", "sort",
    "string", "striptags", "sum", "title", "tojson", "trim", "truncate", "unique", "upper", "urlencode",
    "wordcount",
})

#: Steps left in the render under way (None outside one: templates parsed or compiled, not run).
_STEPS: contextvars.ContextVar[list[int] | None] = contextvars.ContextVar("template_steps", default=None)


def _step() -> None:
    left = _STEPS.get()
    if left is None:
        return
    left[0] -= 1
    if left[0] < 0:
        raise SecurityError(f"the template took more than {MAX_STEPS} steps (a loop or a macro calling itself?)")


def _sized(value: Any) -> Any:
    """`value`, if it is no text or list longer than MAX_TEXT."""
    if isinstance(value, str | list | tuple) and len(value) > MAX_TEXT:
        raise SecurityError(f"a text or list longer than {MAX_TEXT} in a template")
    return value


def bounded_concat(pieces: Iterable[Any]) -> str:
    """Join output pieces (a block, a macro, `~`, the whole render), refusing past MAX_TEXT before
    the next piece is added: the render's own pieces arrive one by one, so memory stays bounded."""
    out: list[str] = []
    size = 0
    for piece in pieces:
        text = str(piece)
        size += len(text)
        if size > MAX_TEXT:
            raise SecurityError(f"a text longer than {MAX_TEXT} characters in a template")
        out.append(text)
    return "".join(out)


def _check_join(value: Any, d: str = "", attribute: Any = None) -> None:
    if attribute is None and isinstance(value, list | tuple):
        size = sum(len(str(item)) for item in value) + len(str(d)) * max(len(value) - 1, 0)
        if size > MAX_TEXT:
            raise SecurityError(f"a join longer than {MAX_TEXT} characters in a template")


def _check_replace(value: Any, old: Any = "", new: Any = "", count: Any = None) -> None:
    text, old, new = str(value), str(old), str(new)
    times = text.count(old) if count is None else min(text.count(old), int(count))
    if len(text) + times * (len(new) - len(old)) > MAX_TEXT:
        raise SecurityError(f"a replace longer than {MAX_TEXT} characters in a template")


_BEFORE: dict[str, Callable[..., None]] = {"join": _check_join, "replace": _check_replace}


def _bounded_filter(name: str, apply: Callable[..., Any]) -> Callable[..., Any]:
    """`apply` with the bounds: a step, no number above MAX_NUMBER as an argument, the size a filter
    would build checked before it is built where that can be known, and its result's size after."""
    check = _BEFORE.get(name)

    def bounded(*args: Any, **kwargs: Any) -> Any:
        _step()
        for arg in (*args, *kwargs.values()):
            if isinstance(arg, int | float) and not isinstance(arg, bool) and abs(arg) > MAX_NUMBER:
                raise SecurityError(f"the number {arg!r} given to the filter {name} (at most {MAX_NUMBER})")
        if check is not None:
            # the filters that take the environment or context first are given them by Jinja2: skip them
            check(*[a for a in args if not _is_jinja_context(a)][:4], **kwargs)
        return _sized(apply(*args, **kwargs))

    for attribute in ("jinja_pass_arg",):  # pass_environment / pass_context / pass_eval_context, as declared
        if hasattr(apply, attribute):
            setattr(bounded, attribute, getattr(apply, attribute))
    return bounded


def _is_jinja_context(value: Any) -> bool:
    return isinstance(value, Environment | Context | EvalContext)


class _BoundedCode(CodeGenerator):
    """`~` through the environment's bounded join (Jinja2 compiles it to a plain `str.join`), and
    every `for` over the environment's counted iteration: a loop of constant text calls no hook, and
    a macro looping inside a loop had run a million times within the other bounds."""

    def visit_Concat(self, node: nodes.Concat, frame: Frame) -> None:
        self.write("environment.concat_checked((")
        for arg in node.nodes:
            self.visit(arg, frame)
            self.write(", ")
        self.write("))")

    def visit_For(self, node: nodes.For, frame: Frame) -> None:
        node.iter = nodes.Call(nodes.EnvironmentAttribute("counted"), [node.iter], [], None, None,
                               lineno=node.iter.lineno)
        super().visit_For(node, frame)


class BoundedSandbox(ImmutableSandboxedEnvironment):
    """The immutable sandbox with the bounds of this module (see its docstring)."""

    code_generator_class = _BoundedCode
    intercepted_binops = frozenset({"*", "**", "+", "%"})
    concat = staticmethod(bounded_concat)  # blocks, macros and the render itself

    def __init__(self, **options: Any) -> None:
        finalize = options.pop("finalize", None)
        super().__init__(finalize=_stepping(finalize), **options)
        self.filters = {name: _bounded_filter(name, f) for name, f in self.filters.items() if name in ALLOWED_FILTERS}
        self.globals["range"] = _short_range

    @staticmethod
    def counted(items: Iterable[Any]) -> Iterator[Any]:
        """A loop's items, a step each."""
        for item in items:
            _step()
            yield item

    def add_filter(self, name: str, apply: Callable[..., Any]) -> None:
        """A filter of our own, with the same bounds as Jinja2's."""
        self.filters[name] = _bounded_filter(name, apply)

    @staticmethod
    def concat_checked(pieces: Iterable[Any]) -> str:
        _step()
        return bounded_concat(pieces)

    def call_binop(self, context: Any, operator: str, left: Any, right: Any) -> Any:
        _step()
        if operator == "**" and isinstance(right, int | float) and abs(right) > MAX_EXPONENT:
            raise SecurityError(f"an exponent above {MAX_EXPONENT} in a template")
        if operator == "*":
            for seq, times in ((left, right), (right, left)):
                if isinstance(seq, str | list | tuple) and isinstance(times, int) and len(seq) * times > MAX_REPEAT:
                    raise SecurityError(f"a repetition longer than {MAX_REPEAT} in a template")
        if operator == "+" and isinstance(left, str | list | tuple) and isinstance(right, str | list | tuple) \
                and len(left) + len(right) > MAX_TEXT:
            raise SecurityError(f"a text or list longer than {MAX_TEXT} in a template")
        if operator == "%" and isinstance(left, str):
            raise SecurityError("`%` formatting is not allowed in a template; join texts with `~`")
        return _sized(super().call_binop(context, operator, left, right))

    def call(self, context: Any, obj: Any, /, *args: Any, **kwargs: Any) -> Any:
        _step()
        return _sized(super().call(context, obj, *args, **kwargs))

    def getattr(self, obj: Any, attribute: str) -> Any:
        _step()
        return super().getattr(obj, attribute)

    def getitem(self, obj: Any, argument: Any) -> Any:
        _step()
        return super().getitem(obj, argument)


def _stepping(finalize: Callable[[Any], Any] | None) -> Callable[[Any], Any]:
    """Every `{{ ... }}` printed is a step (then `finalize`, if the template has one)."""

    def printed(value: Any) -> Any:
        _step()
        return finalize(value) if finalize is not None else value

    return printed


def _short_range(*args: int) -> range:
    found = range(*args)
    if len(found) > MAX_RANGE:
        raise SecurityError(f"a range longer than {MAX_RANGE} in a template")
    return found


def render_bounded(template: Template, *args: Any, **kwargs: Any) -> str:
    """Render `template` with a fresh step budget (the one place a person's template runs)."""
    token = _STEPS.set([MAX_STEPS])
    try:
        return template.render(*args, **kwargs)
    finally:
        _STEPS.reset(token)
