"""The Jinja2 sandbox every template a person writes renders in: rule messages and SOP templates.

Jinja2's sandbox stops attribute walking, not mutation or work. A liaison's message had
- changed the practice's parameters (`{{ params.things.append('x') }}`: the run then recorded values
  that were never in force, and the next finding read them);
- built 655 million characters from 412 (`{% set a1 = a0 ~ a0 %}` sixteen times), or 100 million
  from `(['A' * 9999] * 9999) | join`, per finding.

So the environment here is Jinja2's immutable sandbox (no `append`, `update`, `pop` on what it is
given), with a bounded cost: every text it builds (by `~`, `+`, `*`, a filter, a captured block, a
macro's output, the whole render) is at most `MAX_TEXT` characters and refused before it is built
where its size can be known first, and a render builds at most `MAX_BUILT` characters in all; every
render has `MAX_STEPS` steps (attribute reads, calls, operators, filters, loop passes: a recursive
macro or a macro looping inside a loop runs out); whole numbers stay within `MAX_BITS`; a text's
methods are those that cannot grow it (no `ljust`, `format`, `encode`); filters are the ones a
sentence needs (`random` would make two evaluations of the same records differ). A template
that breaks a bound fails with `SecurityError`, which the callers turn into an error naming the
rule or the SOP.
"""

from __future__ import annotations

import contextvars
import math
import types
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
#: The characters one render may build in all, its pieces counted as they are made: each text is at
#: most MAX_TEXT, but twenty thousand of them (`map('replace', ...) | list`) had held 370 MB.
MAX_BUILT = 1_000_000
#: The largest whole number a template's arithmetic may make, in bits: `(2**64)**64` squared in a loop
#: had run a preview for a minute and 1.8 GB.
MAX_BITS = 64
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

#: The methods of a text a template may call: none makes a text longer than the one it is called on.
#: Left out: `ljust`, `center`, `zfill`, `expandtabs`, `format`, `replace`, `join`, `encode` (a text of
#: 2**31 characters had been built before its size was checked, and bytes were never checked).
TEXT_METHODS = frozenset({
    "capitalize", "casefold", "count", "endswith", "find", "index", "isalnum", "isalpha", "isdecimal", "isdigit",
    "islower", "isnumeric", "isspace", "istitle", "isupper", "lower", "lstrip", "partition", "removeprefix",
    "removesuffix", "rfind", "rindex", "rpartition", "rsplit", "rstrip", "split", "splitlines", "startswith",
    "strip", "swapcase", "title", "upper",
})

#: What the render under way has left: [steps, characters] (None outside one: templates parsed or
#: compiled, not run).
_BUDGET: contextvars.ContextVar[list[int] | None] = contextvars.ContextVar("template_budget", default=None)


def _step() -> None:
    left = _BUDGET.get()
    if left is None:
        return
    left[0] -= 1
    if left[0] < 0:
        raise SecurityError(f"the template took more than {MAX_STEPS} steps (a loop or a macro calling itself?)")


def _built(chars: int) -> None:
    left = _BUDGET.get()
    if left is None:
        return
    left[1] -= chars
    if left[1] < 0:
        raise SecurityError(f"the template built more than {MAX_BUILT} characters in all")


def _sized(value: Any) -> Any:
    """`value`, if it is no text or list longer than MAX_TEXT; a text is counted as built."""
    if isinstance(value, str | list | tuple) and len(value) > MAX_TEXT:
        raise SecurityError(f"a text or list longer than {MAX_TEXT} in a template")
    if isinstance(value, str):
        _built(len(value))
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
    _built(size)
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


def _check_sum(value: Any, attribute: Any = None, start: Any = 0) -> None:
    """`sum` of lists or texts concatenates them, each step copying the whole (quadratic)."""
    if isinstance(start, str | list | tuple) or any(isinstance(v, str | list | tuple) for v in value or ()):
        if sum(len(v) if isinstance(v, str | list | tuple) else 1 for v in value or ()) > MAX_TEXT:
            raise SecurityError(f"a sum longer than {MAX_TEXT} in a template")


_BEFORE: dict[str, Callable[..., None]] = {"join": _check_join, "replace": _check_replace, "sum": _check_sum}


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
        self.globals.pop("lipsum", None)  # lipsum(100000) ran 11 s before its text was refused

    def wrap_str_format(self, value: Any) -> Callable[..., str] | None:
        """Refuse a text's `format` and `format_map`. Jinja2 hands back its own wrapper of them before
        `is_safe_attribute` is asked, so leaving them out of TEXT_METHODS had not kept them out:
        `'{0:>100000000}'.format('x')` built a 100-million-character text, a hundred times
        MAX_BUILT, before the message's length was checked."""
        if isinstance(value, types.MethodType | types.BuiltinMethodType) and value.__name__ in (
                "format", "format_map") and isinstance(getattr(value, "__self__", None), str):
            raise SecurityError("a text's `format` is not allowed in a template; join texts with `~`")
        return None

    def is_safe_attribute(self, obj: Any, attr: str, value: Any) -> bool:
        """Jinja2's rule, and of a text only the methods that cannot grow it; of bytes, none."""
        if isinstance(obj, bytes | bytearray) or (isinstance(obj, str) and attr not in TEXT_METHODS):
            return False
        return bool(super().is_safe_attribute(obj, attr, value))

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
        if _whole(left) and _whole(right) and (
                (operator == "*" and left.bit_length() + right.bit_length() > MAX_BITS + 1)
                or (operator == "**" and right > 0 and abs(left) > 1 and right * math.log2(abs(left)) > MAX_BITS)):
            raise SecurityError(f"a number past {MAX_BITS} bits in a template")
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


def _whole(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


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
    token = _BUDGET.set([MAX_STEPS, MAX_BUILT])
    try:
        return template.render(*args, **kwargs)
    finally:
        _BUDGET.reset(token)
