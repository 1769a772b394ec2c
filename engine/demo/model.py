"""Record construction in contract field order, checked against the contract models' field names."""

from __future__ import annotations

from typing import Any

from engine.records.schemas import RECORD_MODELS

FIELDS: dict[str, tuple[str, ...]] = {
    name: tuple(f for f in model.model_fields if f not in ("type", "id")) for name, model in RECORD_MODELS.items()
}
"""Record type -> its fields in contract order (without `type` and `id`)."""

RECORD_TYPES: tuple[str, ...] = tuple(RECORD_MODELS)


def rec(record_type: str, record_id: str, **fields: Any) -> dict[str, Any]:
    """A record dict: `type`, `id`, then every contract field in order (None where not given)."""
    names = FIELDS[record_type]
    unknown = set(fields) - set(names)
    if unknown:
        raise KeyError(f"{record_type} has no field(s) {sorted(unknown)}")
    out: dict[str, Any] = {"type": record_type, "id": record_id}
    for name in names:
        out[name] = fields.get(name)
    return out
