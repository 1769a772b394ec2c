"""What kinds of facts exist and what fields they carry, for the compiler's name and type checks.

Record facts come from the record contract (engine.records.schemas); derived facts are declared by
the derivations that produce them. A rule naming a fact type or field that nothing produces is
rejected when the ruleset is compiled, not discovered as a silent non-match at run time.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass
from typing import Any, Literal

FieldKind = Literal["instant", "date", "number", "string", "bool", "list", "dict", "any"]

#: Fields the engine adds to every fact: `id` (the record id), `fid` (unique fact id) and `t` (type).
BUILTIN_FIELDS: dict[str, FieldKind] = {"id": "string"}


@dataclass(frozen=True)
class FactType:
    """A fact type and the kind of each of its fields."""

    name: str
    fields: dict[str, FieldKind]
    derived: bool = False
    event: bool = False
    #: the record a finding about one of its facts names: (record type, field holding its id)
    about: tuple[str, str] | None = None

    def kind(self, field: str) -> FieldKind | None:
        if field in BUILTIN_FIELDS:
            return BUILTIN_FIELDS[field]
        return self.fields.get(field)


def _kind_of(prop: dict[str, Any]) -> FieldKind:
    options = prop.get("anyOf") or [prop]
    for opt in options:
        if opt.get("type") == "null":
            continue
        fmt, typ = opt.get("format"), opt.get("type")
        if fmt == "date-time":
            return "instant"
        if fmt == "date":
            return "date"
        if typ in ("integer", "number"):
            return "number"
        if typ == "boolean":
            return "bool"
        if typ == "array":
            return "list"
        if typ == "object":
            return "dict"
        if typ == "string":
            return "string"
    return "any"


@functools.cache
def record_fact_types() -> dict[str, FactType]:
    """One FactType per contract record type, read from the pydantic models' JSON Schema."""
    from engine.records.schemas import EVENT_TYPES, RECORD_MODELS

    out: dict[str, FactType] = {}
    for name, model in RECORD_MODELS.items():
        schema = model.model_json_schema()
        fields = {
            f: _kind_of(p) for f, p in schema.get("properties", {}).items() if f not in ("type", "id")
        }
        out[name] = FactType(name=name, fields=fields, event=name in EVENT_TYPES)
    return out


def all_fact_types() -> dict[str, FactType]:
    """Record fact types plus every derived fact type declared by a registered derivation."""
    from engine.rules.derive import DERIVATIONS, load_families

    load_families()
    types = dict(record_fact_types())
    for _, derivation in DERIVATIONS:
        types[derivation.output] = FactType(
            name=derivation.output, fields=dict(derivation.fields), derived=True, event=derivation.event,
            about=derivation.about,
        )
    return types
