"""Reading audit rows that someone may have tampered with, for `verify`.

The columns' own types turn stored text into a payload and an instant. On SQLite nothing stops a
direct UPDATE from writing `{not json` or `yesterday` there, and the type's reader then raised in
the middle of the walk: a traceback (or a 500) instead of the entry named as altered. Here each
value is read as its column type reads it, and one that does not read becomes `Unreadable`, which
`verify` reports against its entry. (PostgreSQL's column types refuse such values on write.)
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import String
from sqlalchemy.engine import Dialect
from sqlalchemy.sql.type_api import TypeEngine
from sqlalchemy.types import TypeDecorator

__all__ = ["Lenient", "Unreadable", "unreadable_fields"]


@dataclass(frozen=True, slots=True)
class Unreadable:
    """A stored value its column type cannot read, with why."""

    raw: str
    why: str


class Lenient(TypeDecorator[Any]):
    """Read like `inner`, but a value `inner` cannot read comes back as `Unreadable`."""

    impl = String
    cache_ok = True

    def __init__(self, inner: TypeEngine[Any]) -> None:
        super().__init__()
        self.inner = inner

    def process_result_value(self, value: Any, dialect: Dialect) -> Any:
        if not isinstance(value, str):  # the driver has read it already (PostgreSQL json, timestamptz)
            return value
        read = self.inner.dialect_impl(dialect).result_processor(dialect, None)
        if read is None:
            return value
        try:
            return read(value)
        except (ValueError, TypeError) as exc:
            return Unreadable(value[:60], str(exc)[:120] or type(exc).__name__)


def unreadable_fields(entry: dict[str, Any]) -> list[str]:
    """What in a row read with `Lenient` columns cannot be checked: which field, and why."""
    out = [f"{name} {value.raw!r} does not read ({value.why})"
           for name, value in entry.items() if isinstance(value, Unreadable)]
    for name in ("seq", "org_seq"):
        value = entry.get(name)
        if value is not None and (isinstance(value, bool) or not isinstance(value, int)):
            out.append(f"{name} {value!r} is not a whole number")
    return out
