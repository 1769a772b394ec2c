"""The stored JSON form of a record and its content hash.

Two forms of one validated record:

- the *stored* form keeps what the source said: an instant keeps the offset it was written with
  (`2026-03-07T21:00:00-08:00` stays that, so the source zone is not lost; `+00:00` is written
  `Z`), dates are `YYYY-MM-DD`, null fields are left out (absent and null mean the same thing in
  the contract);
- the *canonical* form, used only for the hash, is the stored form with every instant in UTC and
  whole floats written as integers, serialised with sorted keys; so the same facts exported with
  another offset or key order hash the same and a re-import is a no-op.

The stored form comes from pydantic's own JSON dump (fast, in Rust); only the few instant and
number fields of the record's type are touched again for the canonical form.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
from functools import cache
from typing import Any, get_args, get_origin

import orjson
from pydantic import BaseModel

from engine.records.fields import base_type, format_instant
from engine.records.json_codec import has_float

UTC = dt.UTC
_CANONICAL = json.JSONEncoder(sort_keys=True, separators=(",", ":"), ensure_ascii=False)


@cache
def _special_fields(model: type[BaseModel]) -> tuple[tuple[str, ...], tuple[str, ...], tuple[str, ...]]:
    """(instant fields, maps of instants, number fields) of a record type."""
    instants, instant_maps, numbers = [], [], []
    for name, info in model.model_fields.items():
        tp = base_type(info.annotation)
        if tp is dt.datetime:
            instants.append(name)
        elif get_origin(tp) is dict and base_type(get_args(tp)[1]) is dt.datetime:
            instant_maps.append(name)
        elif float in get_args(tp):
            numbers.append(name)
    return tuple(instants), tuple(instant_maps), tuple(numbers)


def stored_and_canonical(model: BaseModel) -> tuple[dict[str, Any], dict[str, Any]]:
    """The stored JSON dict and the canonical dict of a validated record.

    The canonical dict is the stored dict itself (same object) when no field needs a change: an
    instant already written in UTC (`Z`) reads the same in both forms, so most records are
    encoded once, for hash and storage alike (see `stored_form`).
    """
    stored = model.model_dump(mode="json", exclude_none=True)
    instants, instant_maps, numbers = _special_fields(type(model))
    changes: dict[str, Any] = {}
    for name in instants:
        text = stored.get(name)
        if text is not None and not text.endswith("Z"):  # format_instant writes UTC as Z, any other offset as is
            changes[name] = format_instant(getattr(model, name).astimezone(UTC))
    for name in instant_maps:
        mapping = getattr(model, name)
        if mapping is not None:
            utc = {k: format_instant(v.astimezone(UTC)) for k, v in mapping.items()}
            if utc != stored[name]:
                changes[name] = utc
    for name in numbers:
        number = stored.get(name)
        if isinstance(number, float) and number.is_integer():
            changes[name] = int(number)
    return stored, ({**stored, **changes} if changes else stored)


def canonical_text(canonical: dict[str, Any]) -> str:
    """The canonical JSON text: sorted keys, no spaces, non-ASCII kept as is.

    The text every stored hash was computed from is the standard library's. orjson writes the
    same bytes for every string (each code point tested), key order, integer, boolean and null,
    ten times faster, but not for floats (`1e-05` is `1e-5` there) nor integers beyond 64 bits (it
    refuses them): a record holding either is encoded by the standard library.
    """
    if not has_float(canonical):
        try:
            return orjson.dumps(canonical, option=orjson.OPT_SORT_KEYS).decode()
        except TypeError:  # an integer beyond 64 bits, a lone surrogate
            pass
    return _CANONICAL.encode(canonical)


def content_hash(canonical: dict[str, Any]) -> str:
    """SHA-256 of the canonical JSON text (sorted keys, no spaces, UTF-8)."""
    return text_hash(canonical_text(canonical))


def text_hash(text: str) -> str:
    """SHA-256 of a canonical JSON text."""
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def stored_form(model: BaseModel) -> tuple[dict[str, Any], str, str]:
    """(stored dict, its JSON text for storage, content hash) of a validated record.

    The text is written as is into the store's JSON column. When the stored and canonical forms
    are the same (the usual case) the one canonical encoding serves both the hash and storage;
    otherwise the stored form is encoded on its own (same settings), keeping its offsets.
    """
    stored, canonical = stored_and_canonical(model)
    text = canonical_text(canonical)
    return stored, (text if canonical is stored else canonical_text(stored)), text_hash(text)
