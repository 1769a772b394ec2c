"""The stored JSON form of a record and its content hash.

Two forms from one walk over the validated model:

- the *stored* form keeps what the source said: an instant keeps the offset it was written with
  (`2026-03-07T21:00:00-08:00` stays that, so the source zone is not lost), dates are `YYYY-MM-DD`,
  null fields are left out (absent and null mean the same thing in the contract);
- the *canonical* form, used only for the hash, writes every instant in UTC (`...Z`), sorts keys
  and writes whole floats as integers, so the same facts exported with another offset or key order
  hash the same and a re-import is a no-op.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
from typing import Any

from pydantic import BaseModel

UTC = dt.UTC


def stored_and_canonical(model: BaseModel) -> tuple[dict[str, Any], dict[str, Any]]:
    """The stored JSON dict and the canonical dict of a validated record."""
    raw = model.model_dump(mode="python", exclude_none=True)
    stored: dict[str, Any] = {}
    canonical: dict[str, Any] = {}
    for key, value in raw.items():
        stored[key], canonical[key] = _convert(value)
    return stored, canonical


def _convert(value: Any) -> tuple[Any, Any]:
    if isinstance(value, dt.datetime):
        return format_instant(value), format_instant(value.astimezone(UTC))
    if isinstance(value, dt.date):
        text = value.isoformat()
        return text, text
    if isinstance(value, float) and value.is_integer():
        return value, int(value)
    if isinstance(value, dict):
        stored: dict[str, Any] = {}
        canonical: dict[str, Any] = {}
        for key, item in value.items():
            stored[key], canonical[key] = _convert(item)
        return stored, canonical
    if isinstance(value, list):
        pairs = [_convert(item) for item in value]
        return [p[0] for p in pairs], [p[1] for p in pairs]
    return value, value


def format_instant(value: dt.datetime) -> str:
    """ISO 8601 with the instant's own offset; UTC is written `Z`."""
    text = value.isoformat()
    if text.endswith("+00:00"):
        text = text[:-6] + "Z"
    return text


def content_hash(canonical: dict[str, Any]) -> str:
    """SHA-256 of the canonical JSON text (sorted keys, no spaces, UTF-8)."""
    text = json.dumps(canonical, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256(text.encode("utf-8")).hexdigest()
