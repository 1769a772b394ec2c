"""The stored JSON form of a record and its content hash.

Two forms of one validated record:

- the *stored* form keeps what the source said: an instant keeps the offset it was written with
  (`2026-03-07T21:00:00-08:00` stays that, so the source zone is not lost; `+00:00` is written
  `Z`), dates are `YYYY-MM-DD`, null fields are left out (absent and null mean the same thing in
  the contract);
- the *canonical* form, used only for the hash, is the stored form with every instant in UTC and
  whole floats written as integers, serialised with sorted keys; so the same facts exported with
  another offset or key order hash the same and a re-import is a no-op.

The stored form is the input itself when the record type allows it and the input shows it
(`_pass_through`), and pydantic's JSON dump otherwise. Only the few instant and number fields of the
record's type are touched again for the canonical form.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import re
import types
from functools import cache
from typing import Annotated, Any, Literal, Union, get_args, get_origin

import orjson
from pydantic import BaseModel, PlainSerializer, PlainValidator, Strict

from engine.json_codec import has_float
from engine.records.fields import base_type, format_instant, parse_number

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


#: Texts that are their own JSON form once read as an instant (format_instant writes UTC as `Z`, so
#: `+00:00` is not one) or as a date: ASCII digits, no fractions, `T` between date and time.
_INSTANT_AS_WRITTEN = re.compile(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(?:Z|[+-](?!00:00)\d\d:\d\d)", re.ASCII)
_DATE_AS_WRITTEN = re.compile(r"\d{4}-\d\d-\d\d", re.ASCII)
_FORMS: dict[Any, re.Pattern[str]] = {format_instant: _INSTANT_AS_WRITTEN, dt.date.isoformat: _DATE_AS_WRITTEN}
_SCALARS = frozenset({str, int, bool, float})


@cache
def _pass_through(model: type[BaseModel]) -> tuple[tuple[str, ...], tuple[tuple[str, re.Pattern[str]], ...]] | None:
    """(fields in order, (field, form) of each instant and date) when `model`'s JSON dump of a valid
    input is that input without its nulls, provided each instant's and date's text has its form;
    None when some field's JSON form may differ from what was read (lists, maps, lax types, defaults).

    Why: the dump (with an `isoformat()` per instant) was a tenth of an import's CPU, for access
    events whose every field is already in its JSON form.
    """
    names: list[str] = []
    forms: list[tuple[str, re.Pattern[str]]] = []
    for name, info in model.model_fields.items():
        if info.default is not None and not info.is_required():
            return None  # a default would be dumped though absent from the input
        form = _json_form(info.annotation, list(info.metadata))
        if form is False:
            return None
        names.append(name)
        if isinstance(form, re.Pattern):
            forms.append((name, form))
    return tuple(names), tuple(forms)


def _json_form(annotation: Any, metadata: list[Any]) -> re.Pattern[str] | bool:
    """True when a field's JSON form is the value read, the form of the texts that are (instants and
    dates), False when its JSON form may differ from the input."""
    if get_origin(annotation) in (Union, types.UnionType):
        members = [a for a in get_args(annotation) if a is not type(None)]
        if len(members) != 1:
            return False
        annotation = members[0]
    if get_origin(annotation) is Annotated:
        metadata = metadata + list(annotation.__metadata__)
        annotation = get_args(annotation)[0]
    validators = [m.func for m in metadata if isinstance(m, PlainValidator)]
    serializers = [m.func for m in metadata if isinstance(m, PlainSerializer)]
    if annotation in (dt.datetime, dt.date):  # its JSON form is its serializer's text
        return _FORMS.get(serializers[0], False) if len(serializers) == 1 and validators else False
    if serializers:
        return False
    if validators:
        return validators == [parse_number]  # which returns its input
    if get_origin(annotation) is Literal:
        return all(type(a) is str for a in get_args(annotation))
    if annotation in (str, int, bool):
        return any(isinstance(m, Strict) and m.strict for m in metadata)
    return False


def _stored(model: BaseModel, raw: Any) -> dict[str, Any]:
    """The stored JSON dict of a validated record: pydantic's JSON dump (nulls left out), or `raw`
    without its nulls when that is provably the same dict (see `_pass_through`; every value must
    also be a plain JSON scalar, as read from JSON, not a subclass or an object a caller validated)."""
    plan = _pass_through(type(model)) if type(raw) is dict else None
    if plan is not None:
        names, forms = plan
        for name, form in forms:
            text = raw.get(name)
            if text is not None and (type(text) is not str or form.fullmatch(text) is None):
                break
        else:
            if _SCALARS.issuperset(map(type, raw.values())):  # no None among them: `type(None)` is not one
                if tuple(raw) == names:  # every field, in the dump's order (the usual export)
                    return dict(raw)
                return {name: raw[name] for name in names if name in raw}
            stored = {name: value for name in names if (value := raw.get(name)) is not None}
            if _SCALARS.issuperset(map(type, stored.values())):
                return stored
    return model.model_dump(mode="json", exclude_none=True)


def stored_and_canonical(model: BaseModel, raw: Any = None) -> tuple[dict[str, Any], dict[str, Any]]:
    """The stored JSON dict and the canonical dict of a validated record (`raw`: the input it was
    validated from, when the caller has it: see `_stored`).

    The canonical dict is the stored dict itself (same object) when no field needs a change: an
    instant already written in UTC (`Z`) reads the same in both forms, so most records are
    encoded once, for hash and storage alike (see `stored_form`).
    """
    stored = _stored(model, raw)
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


def changed_fields(model: type[BaseModel], old: dict[str, Any], new: dict[str, Any]) -> list[str]:
    """The fields whose canonical values differ between two stored forms of one record, sorted.

    Why canonical: the stored form keeps each instant's offset, so `21:00:00-08:00` and
    `05:00:00Z` differ as text though the hash (and so the import) takes them for the same instant;
    comparing the stored texts named such a field as changed when only its offset was written
    differently."""
    before, after = _canonical_stored(model, old), _canonical_stored(model, new)
    return sorted(k for k in before.keys() | after.keys() if before.get(k) != after.get(k))


def _canonical_stored(model: type[BaseModel], data: dict[str, Any]) -> dict[str, Any]:
    """A stored form with its instants in UTC, as the canonical form has them (whole floats need no
    change: Python compares 2.0 and 2 equal). Read from what was stored, not validated again."""
    instants, instant_maps, _ = _special_fields(model)
    out = dict(data)
    for name in instants:
        if name in out:
            out[name] = _utc_text(out[name])
    for name in instant_maps:
        mapping = out.get(name)
        if isinstance(mapping, dict):
            out[name] = {k: _utc_text(v) for k, v in mapping.items()}
    return out


def _utc_text(value: Any) -> Any:
    if not isinstance(value, str):
        return value
    try:
        return format_instant(dt.datetime.fromisoformat(value).astimezone(UTC))
    except ValueError:
        return value


def stored_hash(model: type[BaseModel], data: dict[str, Any]) -> str:
    """The content hash of a stored form, recomputed from it as `stored_and_canonical` made it at the
    import (instants in UTC, whole floats of number fields as integers), without validating it
    again: what `vigil audit verify` compares with the hash stored beside it."""
    canonical = _canonical_stored(model, data)
    for name in _special_fields(model)[2]:
        number = canonical.get(name)
        if isinstance(number, float) and number.is_integer():
            canonical[name] = int(number)
    return text_hash(canonical_text(canonical, may_hold_floats=not _float_free(model)))


def canonical_fields(model: type[BaseModel]) -> dict[str, list[str]]:
    """The fields of a record type that its canonical form rewrites (`stored_hash`): instants and maps
    of instants (to UTC) and numbers (a whole float to an integer). A packet's records.json names
    them per type, so an auditor's own script recomputes content hashes without Vigil."""
    instants, instant_maps, numbers = _special_fields(model)
    return {"instants": list(instants), "instant_maps": list(instant_maps), "numbers": list(numbers)}


@cache
def _float_free(model: type[BaseModel]) -> bool:
    """Whether no valid record of `model` can hold a float: every field a strict string, integer,
    boolean, literal, instant or date (`_pass_through`), none a number."""
    return _pass_through(model) is not None and not _special_fields(model)[2]


def canonical_text(canonical: dict[str, Any], *, may_hold_floats: bool = True) -> str:
    """The canonical JSON text: sorted keys, no spaces, non-ASCII kept as is.

    The text every stored hash was computed from is the standard library's. orjson writes the
    same bytes for every string (each code point tested), key order, integer, boolean and null,
    ten times faster, but not for floats (`1e-05` is `1e-5` there) nor integers beyond 64 bits (it
    refuses them): a record holding either is encoded by the standard library.
    """
    if not may_hold_floats or not has_float(canonical):
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


def stored_form(model: BaseModel, raw: Any = None) -> tuple[dict[str, Any], str, str]:
    """(stored dict, its JSON text for storage, content hash) of a validated record (`raw` as in
    `stored_and_canonical`).

    The text is written as is into the store's JSON column. When the stored and canonical forms
    are the same (the usual case) the one canonical encoding serves both the hash and storage;
    otherwise the stored form is encoded on its own (same settings), keeping its offsets.
    """
    stored, canonical = stored_and_canonical(model, raw)
    floats = not _float_free(type(model))  # no need to look for them (an access event: 0.6 of 4.4 us)
    text = canonical_text(canonical, may_hold_floats=floats)
    return stored, (text if canonical is stored else canonical_text(stored, may_hold_floats=floats)), text_hash(text)


class VersionsDigest:
    """A running SHA-256 over the record versions one import wrote, in the order it wrote them:
    one line per version, the compact JSON array `[type, id, version, content_hash]` and a newline.

    Why: the import's audit entry records it (`versions_sha256`, beside `created` and `updated`),
    and the entry is in the hash chain; `vigil audit verify` digests the stored versions of that
    import again (`engine.records.integrity`). A version deleted, or rewritten together with its
    content hash by someone who dropped the table's triggers, no longer matches the entry, where
    each version's own hash check cannot see it. JSON, not a separator, because an id may hold a
    tab or a newline; orjson writes the standard library's compact, non-ASCII-kept text for these
    values, so `json.dumps(line, separators=(",", ":"), ensure_ascii=False)` gives the same bytes.
    """

    __slots__ = ("_sha", "count")

    def __init__(self) -> None:
        self._sha = hashlib.sha256()
        self.count = 0

    def add(self, record_type: str, record_id: str, version: int, content_hash: str) -> None:
        """Take the next version written."""
        self._sha.update(orjson.dumps([record_type, record_id, version, content_hash]) + b"\n")
        self.count += 1

    def hexdigest(self) -> str:
        return self._sha.hexdigest()
