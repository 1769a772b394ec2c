"""The base of every model a JSON request body is read into: its booleans, integers, numbers and
strings take only their own JSON type.

Why: pydantic's default (lax) mode converts, and over the REST API that meant `{"days": true}` made a
1-day token, `{"days": "30"}` a 30-day one, `{"done": "yes"}` ticked a checklist step and
`{"done": 0}` unticked it, `{"redact_phi": "yes"}` built a redacted packet: a script's mistake (a
value quoted, a flag sent as a word) was carried out as some other request instead of refused.

Why not `ConfigDict(strict=True)`: FastAPI validates a body after decoding it into Python values,
and in pydantic's strict Python mode a date or an instant must already be a `date`/`datetime`, so
`"2026-01-01"` and `"2027-01-01T00:00:00Z"` would be refused too. What JSON can only carry as a
string (dates, instants, times, durations) keeps being read from its ISO text; only the four
scalar types JSON itself has are strict, in every field and inside lists and dicts (`list[str]`
refuses `[1]`). A model nested in a body is strict when it derives from `JsonBody` too.

A model also built from the web UI's forms or the CLI's options works unchanged as long as those
faces pass it typed values (`bool`, `int`, `datetime`), which they do: they parse their text
themselves and name the field when it is wrong.
"""

from __future__ import annotations

import copy
from typing import Any

from pydantic import BaseModel, ConfigDict, GetCoreSchemaHandler
from pydantic_core import CoreSchema

__all__ = ["STRICT_TYPES", "JsonBody"]

#: the core schema types that take only their own JSON type (a float takes an integer too: JSON has
#: one kind of number)
STRICT_TYPES = frozenset({"bool", "int", "float", "str"})


def _strict_scalars(node: Any) -> None:
    """Mark every bool/int/float/str schema in `node` strict, unless it says otherwise."""
    if isinstance(node, dict):
        if node.get("type") in STRICT_TYPES:
            node.setdefault("strict", True)
        for value in node.values():
            _strict_scalars(value)
    elif isinstance(node, list):
        for value in node:
            _strict_scalars(value)


class JsonBody(BaseModel):
    """A request body: JSON's own scalar types only, and a misspelt field refused (422), not ignored."""

    model_config = ConfigDict(extra="forbid")

    @classmethod
    def __get_pydantic_core_schema__(cls, source: type[BaseModel], handler: GetCoreSchemaHandler, /) -> CoreSchema:
        # a copy: the schema may share parts with other models' (a nested model's), left as they are
        schema = copy.deepcopy(handler(source))
        _strict_scalars(schema)
        return schema
