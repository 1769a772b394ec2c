"""Read ruleset YAML into a validated `RulesetSpec`, translating YAML and pydantic errors into
`RulesetError`s that name the file, the line and the key."""

from __future__ import annotations

import datetime as dt
import difflib
import functools
import hashlib
import re
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import yaml
from pydantic import BaseModel, ValidationError
from pydantic_core import ErrorDetails

from engine import yaml_numbers
from engine.errors import ErrorDetail, RulesetSyntaxError, RulesetValidationError
from engine.rules.spec import ObligationSpec, ParamSpec, RulesetSpec, RuleSpec, SeverityWhen
from engine.rules.withdrawals import Withdrawal

#: The most nodes a YAML document may stand for once its aliases are expanded. A ruleset is a few
#: thousand; a 1 KB "billion laughs" (ten levels of anchors, each aliasing the one before ten times)
#: stands for 10**10, and its level 7 alone took 6 s and 175 MB to validate.
MAX_EXPANDED_NODES = 1_000_000


def expanded_size(root: yaml.Node, limit: int = MAX_EXPANDED_NODES) -> int:
    """How many nodes `root` stands for with every alias expanded (counted once per node, so in
    linear time), stopping past `limit`; an alias inside itself counts as past the limit."""
    sizes: dict[int, int] = {}
    visiting: set[int] = set()
    stack: list[tuple[yaml.Node, bool]] = [(root, False)]
    while stack:
        node, ready = stack.pop()
        if id(node) in sizes:
            continue
        children: list[yaml.Node] = (
            list(node.value) if isinstance(node, yaml.SequenceNode)
            else [n for pair in node.value for n in pair] if isinstance(node, yaml.MappingNode) else [])
        if ready:
            visiting.discard(id(node))
            sizes[id(node)] = min(limit + 1, 1 + sum(sizes[id(c)] for c in children))
            continue
        if id(node) in visiting:
            return limit + 1
        visiting.add(id(node))
        stack.append((node, True))
        stack.extend((c, False) for c in children if id(c) not in sizes)
    return sizes[id(root)]


class _Bounded:
    """A loader refusing a document whose aliases expand past `MAX_EXPANDED_NODES`, before anything
    is built from it."""

    def construct_document(self, node: yaml.Node) -> Any:
        if expanded_size(node) > MAX_EXPANDED_NODES:
            raise yaml.constructor.ConstructorError(
                None, None, f"the document's anchors and aliases expand to more than {MAX_EXPANDED_NODES:,} "
                "values; write it out without aliases nested in aliases", node.start_mark)
        return super().construct_document(node)  # type: ignore[misc]


class _LineLoader(_Bounded, yaml.CSafeLoader):
    """The safe loader, on libyaml's parser, that remembers the line of every mapping (as key
    `__line__`). libyaml: every evaluation and import reads the rulesets, and the pure-Python parser
    took 0.35 s of each for the five shipped ones."""


def refuse_duplicate_keys(loader: yaml.constructor.SafeConstructor, node: yaml.MappingNode) -> None:
    """A key written twice in one mapping is an error, not "the last one wins": a parameter declared
    twice or a rule with two `message:` keys kept one of them without a word. Keys brought in by a
    merge (`<<: *anchor`) may be overridden; that is what a merge is for."""
    seen: dict[Any, int] = {}
    for key_node, _ in node.value:
        if key_node.tag == "tag:yaml.org,2002:merge":
            continue
        key = loader.construct_object(key_node, deep=True)
        try:
            first = seen.get(key)
        except TypeError:  # an unhashable key: the constructor reports it
            continue
        if first is not None:
            raise yaml.constructor.ConstructorError(
                "while reading a mapping", node.start_mark,
                f"found the key {key!r} twice (first on line {first}); keep one", key_node.start_mark)
        seen[key] = key_node.start_mark.line + 1


class StrictSafeLoader(_Bounded, yaml.CSafeLoader):
    """The safe loader, on libyaml, refusing a key written twice in one mapping (scenario files)."""


def _construct_strict(loader: StrictSafeLoader, node: yaml.MappingNode) -> dict[Any, Any]:
    refuse_duplicate_keys(loader, node)
    return dict(loader.construct_mapping(node, deep=True))


StrictSafeLoader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, _construct_strict)  # type: ignore[arg-type]


def _construct_mapping(loader: _LineLoader, node: yaml.MappingNode) -> dict[Any, Any]:
    refuse_duplicate_keys(loader, node)
    mapping: dict[Any, Any] = dict(loader.construct_mapping(node, deep=True))
    mapping["__line__"] = node.start_mark.line + 1
    mapping["__keys__"] = {k.value: k.start_mark.line + 1 for k, _ in node.value if isinstance(k, yaml.ScalarNode)}
    return mapping


_LineLoader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, _construct_mapping)  # type: ignore[arg-type]

def _construct_date(loader: yaml.CSafeLoader, node: yaml.ScalarNode) -> Any:
    """A YAML date or timestamp, or a marked error naming the line: `effective_from: 2025-02-30`
    matches YAML's date pattern, and PyYAML's own ValueError ("day is out of range for month") had
    escaped every handler as a traceback."""
    try:
        return yaml.constructor.SafeConstructor.construct_yaml_timestamp(loader, node)
    except ValueError as exc:
        raise yaml.constructor.ConstructorError(
            None, None, f"{node.value!r} is not a real date ({exc}): write YYYY-MM-DD", node.start_mark) from None


for _loader in (StrictSafeLoader, _LineLoader):
    _loader.add_constructor("tag:yaml.org,2002:timestamp", _construct_date)  # type: ignore[arg-type]
    _loader.add_constructor(yaml_numbers.INT_TAG, yaml_numbers.construct_int)  # type: ignore[arg-type]

# YAML 1.2 booleans only: `on:` / `yes` / `no` are words in a ruleset (e.g. `on: "03-02"`), not true/false.
_LineLoader.yaml_implicit_resolvers = {k: [(tag, rx) for tag, rx in v if tag != "tag:yaml.org,2002:bool"]
                                       for k, v in yaml.SafeLoader.yaml_implicit_resolvers.items()}
_LineLoader.add_implicit_resolver("tag:yaml.org,2002:bool", re.compile(r"^(?:true|True|TRUE|false|False|FALSE)$"),
                                  list("tTfF"))


@dataclass(frozen=True)
class LoadedRuleset:
    """A parsed ruleset with the exact bytes it came from (packets ship the bytes, runs record the hash).

    `withdrawal` is a liaison's withdrawal of this version (`engine.rules.publish`): from its day it
    ends the version's time in force without touching its bytes, so runs and packets made while it
    was in force still name, hash and ship exactly what they used."""

    spec: RulesetSpec
    path: str
    content: bytes
    withdrawal: Withdrawal | None = None

    @property
    def withdrawn_on(self) -> dt.date | None:
        return self.withdrawal.on if self.withdrawal is not None else None

    @property
    def sha256(self) -> str:
        return hashlib.sha256(self.content).hexdigest()

    @property
    def ends(self) -> dt.date | None:
        """The first day this version is no longer in force (its effective_to or its withdrawal)."""
        ends = [d for d in (self.spec.effective_to, self.withdrawn_on) if d is not None]
        return min(ends) if ends else None

    def in_force(self, day: dt.date) -> bool:
        return self.spec.effective_from <= day and (self.ends is None or day < self.ends)

    def overlaps(self, first: dt.date, last: dt.date) -> bool:
        """Whether the version was in force on any day of first..last (inclusive)."""
        return self.spec.effective_from <= last and (self.ends is None or self.ends > first)

    def withdrawn(self, withdrawal: Withdrawal) -> LoadedRuleset:
        return replace(self, withdrawal=withdrawal)


def load_ruleset_file(path: Path) -> LoadedRuleset:
    content = path.read_bytes()
    return load_ruleset_bytes(content, str(path))


def load_ruleset_bytes(content: bytes, path: str) -> LoadedRuleset:
    """The ruleset a file's bytes hold, read once per (content, path) in this process.

    Why cached: every evaluation and every streamed import reads each ruleset version again (and
    the practice parameters' check reads them a second time) to learn what is in force; parsing the
    YAML was two fifths of starting a live stream. What is returned is immutable (frozen models, a
    frozen dataclass), so sharing it is safe; a file that changes is new content, read anew; a file
    that fails is not remembered and fails again, with the same message.
    """
    return _load_ruleset_bytes(content, path)


@functools.lru_cache(maxsize=256)
def _load_ruleset_bytes(content: bytes, path: str) -> LoadedRuleset:
    try:
        raw = yaml.load(content.decode("utf-8"), Loader=_LineLoader)  # noqa: S506 - SafeLoader subclass
    except UnicodeDecodeError as exc:
        raise RulesetSyntaxError(f"{path}: not UTF-8 text", [ErrorDetail(reason=str(exc), file=path)]) from None
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark
        raise RulesetSyntaxError(
            f"{path}: not valid YAML",
            [ErrorDetail(reason=str(exc.problem), file=path, line=mark.line + 1 if mark else None,
                         column=mark.column + 1 if mark else None)],
        ) from None
    except yaml.YAMLError as exc:  # reader errors (control characters) carry no mark
        raise RulesetSyntaxError(f"{path}: not valid YAML", [ErrorDetail(reason=str(exc), file=path)]) from None
    if not isinstance(raw, dict):
        raise RulesetSyntaxError(f"{path}: a ruleset is a mapping",
                                 [ErrorDetail(reason=_not_a_mapping(raw), file=path)])
    lines, field_lines = _rule_lines(raw)
    clean = _strip_lines(raw)
    try:
        spec = RulesetSpec.model_validate(clean)
    except ValidationError as exc:
        raise RulesetValidationError(f"{path}: ruleset does not match the format", _details(exc, raw, path)) from None
    defaults = _window_default_details(spec, raw, path)
    if defaults:
        raise RulesetValidationError(f"{path}: ruleset does not match the format", defaults)
    rules = [r.model_copy(update={"line": lines.get(r.id), "lines": field_lines.get(r.id, {})}) for r in spec.rules]
    spec = spec.model_copy(update={"rules": rules})
    return LoadedRuleset(spec=spec, path=path, content=content)


#: What stands in for a rule's key the format refuses when the rest of the file is checked anyway
#: (`salvaged`): a value that changes no other check. A key with a default (`tag`, `advisory`, the
#: rule's own dates, `severity_when`) is left out instead.
_STAND_INS: dict[str, Any] = {"severity": "low", "title": "-", "citation": "-"}
_LEFT_OUT = frozenset({"tag", "advisory", "effective_from", "effective_to", "severity_when", "description"})


def salvaged(content: bytes, path: str) -> LoadedRuleset | None:
    """The ruleset of a file its format refuses, with what it refuses set aside, so the checks that
    do not depend on it still run (`rules validate`): `severity: urgent` had hidden an unknown field
    in a condition, a message naming what it is not given and an SOP with no template, each found
    only once the one before was mended.

    A rule's key that stands alone (its severity, title, tag, dates...) is replaced by a stand-in or
    its default; a rule refused for what the other checks read (its patterns, subject, obligation,
    message, SOP, id) is left out, and the other rules are checked. None when the file does not read
    as YAML, or what it refuses is the ruleset's own (its framework, version, dates...): the checks
    of its rules would mean nothing then."""
    try:
        raw = yaml.load(content.decode("utf-8"), Loader=_LineLoader)  # noqa: S506 - SafeLoader subclass
    except (UnicodeDecodeError, yaml.YAMLError):
        return None
    if not isinstance(raw, dict) or not isinstance(raw.get("rules"), list):
        return None
    kept = [r for r in (_salvaged_rule(rule) for rule in raw["rules"]) if r is not None]
    raw = {**raw, "rules": kept}
    lines, field_lines = _rule_lines(raw)
    try:
        spec = RulesetSpec.model_validate(_strip_lines(raw))
    except ValidationError:
        return None
    if _window_default_details(spec, raw, path):
        return None
    rules = [r.model_copy(update={"line": lines.get(r.id), "lines": field_lines.get(r.id, {})}) for r in spec.rules]
    return LoadedRuleset(spec=spec.model_copy(update={"rules": rules}), path=path, content=content)


def _salvaged_rule(rule: Any) -> dict[str, Any] | None:
    """`rule` as the format takes it, its refused stand-alone keys replaced (see `salvaged`), or None."""
    if not isinstance(rule, dict):
        return None
    patched = dict(rule)
    for _ in range(2):  # a stand-in may meet a check of the whole rule (`tag: U` needs advisory)
        try:
            RuleSpec.model_validate(_strip_lines(patched))
            return patched
        except ValidationError as exc:
            for err in exc.errors():
                key = str(err["loc"][0]) if err["loc"] else ""
                if key in _STAND_INS and err["type"] != "extra_forbidden":
                    patched[key] = _STAND_INS[key]
                elif key in _LEFT_OUT or (err["type"] == "extra_forbidden" and len(err["loc"]) == 1):
                    patched.pop(key, None)
                    if key == "tag":
                        patched.pop("advisory", None)
                else:
                    return None
    return None


def _not_a_mapping(raw: Any) -> str:
    """What to fix in a document whose top level is not a mapping (it had said only "top level")."""
    found = ("empty" if raw is None else "a list" if isinstance(raw, list)
             else f"the text {str(raw)[:40]!r}" if isinstance(raw, str) else f"the value {str(raw)[:40]}")
    fields = ", ".join(name for name, info in RulesetSpec.model_fields.items() if info.is_required())
    return f"the top level is {found}: it must be a mapping of the ruleset's fields ({fields}, ...)"


def _rule_lines(raw: dict[str, Any]) -> tuple[dict[str, int | None], dict[str, dict[str, int]]]:
    """Per rule id: the line of the rule, and the line of each of its keys (`message`, `when`, and
    `match.<alias>` for each pattern), so an error points at the line the mistake is on."""
    out: dict[str, int | None] = {}
    fields: dict[str, dict[str, int]] = {}
    for rule in raw.get("rules") or []:
        if isinstance(rule, dict) and "id" in rule:
            rule_id = str(rule["id"])
            out[rule_id] = rule.get("__line__")
            keys = dict(rule.get("__keys__") or {})
            for name in ("match", "obligation"):
                inner = rule.get(name)
                if isinstance(inner, dict):
                    keys.update({f"{name}.{k}": line for k, line in (inner.get("__keys__") or {}).items()})
            fields[rule_id] = keys
    return out, fields


def _strip_lines(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _strip_lines(v) for k, v in value.items() if k not in ("__line__", "__keys__")}
    if isinstance(value, list):
        return [_strip_lines(v) for v in value]
    return value


_TWICE = re.compile(r"rule id (\S+) appears twice")
_NEVER = re.compile(r"rule (\S+) is never in force: its (effective_from|effective_to)")
#: The models of a ruleset's nested keys: (holder, key) -> (model, whether a list index or a name follows).
_NESTED: dict[tuple[type[BaseModel], str], tuple[type[BaseModel], bool]] = {
    (RulesetSpec, "rules"): (RuleSpec, True), (RulesetSpec, "params"): (ParamSpec, True),
    (RuleSpec, "obligation"): (ObligationSpec, False), (RuleSpec, "severity_when"): (SeverityWhen, True)}
#: What each model is called in a message.
_PART_WORDS: dict[type[BaseModel], str] = {RulesetSpec: "a ruleset", RuleSpec: "a rule", ParamSpec: "a parameter",
                                           ObligationSpec: "an obligation", SeverityWhen: "a severity_when entry"}


def _details(exc: ValidationError, raw: dict[str, Any], path: str) -> list[ErrorDetail]:
    details = []
    errors = exc.errors()
    # `sopp:` is one mistake: the unknown key says "did you mean 'sop'?", so the missing `sop` is not
    # said a second time (as a scenario's keys are read)
    meant = {(err["loc"][:-1], _close_key(err["loc"])) for err in errors if err["type"] == "extra_forbidden"}
    for err in errors:
        if err["type"] == "missing" and (err["loc"][:-1], str(err["loc"][-1])) in meant:
            continue
        loc = [str(p) for p in err["loc"]]
        line, rule_id = _locate(raw, err["loc"])
        message = str(err["msg"]).removeprefix("Value error, ")
        twice = _TWICE.search(message)
        if twice:  # a whole-ruleset check: point at the second rule with that id
            rule_id = twice.group(1)
            same = [r for r in raw.get("rules") or [] if isinstance(r, dict) and str(r.get("id")) == rule_id]
            line = same[-1].get("__line__", line) if same else line
        never = _NEVER.search(message)
        if never:  # a whole-ruleset check about one rule: point at that rule's own dates
            rule_id, (line, loc) = never.group(1), _rule_dates(raw, never.group(1), never.group(2), line)
        if err["type"].startswith("date_") and loc:
            message = _not_a_date(loc[-1], err.get("input"), message)
        if loc == ["version"] and isinstance(err.get("input"), int | float):
            message = _version_hint(err["input"])
        if err["type"] in ("extra_forbidden", "missing"):
            message = _key_said(err["type"], err["loc"])
        elif message.startswith("Input should be"):
            message = _value_said(err, loc[-1] if loc else "the ruleset")
        field = _field(loc)
        details.append(ErrorDetail(reason=message, file=path, line=line, rule_id=rule_id, field=field))
    return details


def _field(loc: list[str]) -> str | None:
    """`rules[0].obligation.cutoff`, `params.remind.default`: an error's key as scenario problems name
    theirs (`cases[0].expect[1].subject`); pydantic's `rules.0.severity` had read as a key named 0."""
    out = ""
    for part in loc:
        out += f"[{part}]" if part.isdigit() else f"{'.' if out else ''}{part}"
    return out or None


#: What a value of the wrong type is not, by pydantic's error type.
_NOT_A: dict[str, str] = {
    "string_type": "is not text", "int_type": "is not a whole number", "int_parsing": "is not a whole number",
    "int_from_float": "is not a whole number", "float_type": "is not a number", "float_parsing": "is not a number",
    "bool_type": "is not true or false", "bool_parsing": "is not true or false", "list_type": "is not a list",
    "dict_type": "is not a mapping (key: value lines)", "model_type": "is not a mapping (key: value lines)",
    "model_attributes_type": "is not a mapping (key: value lines)",
}


def _value_said(err: ErrorDetails, key: str) -> str:
    """A value pydantic refuses, in the ruleset's words: `severity 'urgent' is not one of critical,
    high, medium, low` where it had said "Input should be 'critical', 'high', 'medium' or 'low'",
    naming neither the key nor what was written."""
    written = err.get("input")
    shown = (str(written).lower() if isinstance(written, bool)
             else repr(written) if isinstance(written, str | int | float) and not isinstance(written, bool)
             else "null" if written is None
             else "a list" if isinstance(written, list) else "a mapping" if isinstance(written, dict) else "the value")
    if err["type"] == "literal_error":
        allowed = re.findall(r"'([^']*)'", str((err.get("ctx") or {}).get("expected", "")))
        if allowed:
            return f"{key} {shown} is not one of {', '.join(allowed)}"
    said = _NOT_A.get(err["type"])
    if said is not None:
        return f"{key} {shown} {said}"
    return f"{key} {shown}: should be {str(err['msg']).removeprefix('Input should be ')}"


def _version_hint(written: float) -> str:
    """A version YAML read as a number (`version: 2027` or `2027.1`), and the version to write: the
    hint had suggested `2027.0`, which is refused in turn for having two numbers."""
    parts = (str(written).split(".") + ["0", "0"])[:3]
    meant = ".".join(parts)
    return (f"a semantic version is three numbers, MAJOR.MINOR.PATCH, written as text: YAML reads {written} as a "
            f"number; quote it (\"{meant}\")")


def _holder(loc: tuple[int | str, ...]) -> type[BaseModel] | None:
    """The model whose key the last part of an error's location is (None where it is no model's)."""
    model: type[BaseModel] = RulesetSpec
    i = 0
    while i < len(loc) - 1:
        nested = _NESTED.get((model, str(loc[i])))
        if nested is None:
            return None
        model, named = nested
        i += 2 if named else 1
    return model


def _keys(model: type[BaseModel]) -> list[str]:
    """The keys a liaison may write in `model` (not the lines the loader records)."""
    return [k for k in model.model_fields if k not in ("line", "lines")]


def _close_key(loc: tuple[int | str, ...]) -> str | None:
    holder = _holder(loc)
    close = difflib.get_close_matches(str(loc[-1]), _keys(holder), n=1) if holder else []
    return close[0] if close else None


def _key_said(kind: str, loc: tuple[int | str, ...]) -> str:
    """An unknown or missing key in the ruleset's words, with the key meant when it is close (pydantic's
    own "Extra inputs are not permitted" and "Field required" had named neither)."""
    holder = _holder(loc)
    key = str(loc[-1])
    if holder is None:
        return f"unknown key {key!r}" if kind == "extra_forbidden" else f"{key!r} is required"
    words = _PART_WORDS[holder]
    if kind == "missing":
        return f"{words} needs {key!r}"
    close = _close_key(loc)
    return (f"unknown key {key!r} in {words}" + (f": did you mean {close!r}?" if close else "")
            + f" (its keys are {', '.join(_keys(holder))})")


def _rule_dates(raw: dict[str, Any], rule_id: str, key: str, line: int | None) -> tuple[int | None, list[str]]:
    """The line and location of a rule's date `key` (the check of the whole ruleset had pointed at the
    file's first line)."""
    for i, rule in enumerate(raw.get("rules") or []):
        if isinstance(rule, dict) and str(rule.get("id")) == rule_id:
            return (rule.get("__keys__") or {}).get(key, rule.get("__line__", line)), ["rules", str(i), key]
    return line, []


def _window_default_details(spec: RulesetSpec, raw: dict[str, Any], path: str) -> list[ErrorDetail]:
    """Each parameter default a window cannot count, once per rule, at the parameter's `default`."""
    details = []
    for name, rule_id, reason in spec.window_default_problems():
        declared = (raw.get("params") or {}).get(name)
        line = ((declared.get("__keys__") or {}).get("default", declared.get("__line__"))
                if isinstance(declared, dict) else None)
        details.append(ErrorDetail(reason=reason, file=path, line=line or _locate(raw, ("params",))[0],
                                   rule_id=rule_id, field=f"params.{name}.default"))
    return details


def _not_a_date(key: str, written: Any, message: str) -> str:
    """A date field's refusal naming the key and what was written: pydantic's own ("Input should be a
    valid date or datetime, invalid character in year") had named neither."""
    why = message.removeprefix("Input should be a valid date or datetime, ").removeprefix("Input should be ")
    why = "" if why == message or why == "a valid date" else f" ({why})"
    shown = (str(written).lower() if isinstance(written, bool)  # as YAML writes it, not Python's True
             else f"{written!r}" if isinstance(written, str | int | float) else "the value")
    return f"{key} {shown} is not a date{why}: write YYYY-MM-DD, e.g. 2026-07-01"


def _locate(raw: Any, loc: tuple[Any, ...]) -> tuple[int | None, str | None]:
    line, rule_id, node = raw.get("__line__"), None, raw
    for part in loc:
        if isinstance(node, dict) and part in node:
            line = (node.get("__keys__") or {}).get(part, line)
            node = node[part]
        elif isinstance(node, list) and isinstance(part, int) and part < len(node):
            node = node[part]
        else:
            break
        if isinstance(node, dict):
            line = node.get("__line__", line)
            if "id" in node and isinstance(node.get("id"), str) and "match" in node:
                rule_id = node["id"]
    return line, rule_id
