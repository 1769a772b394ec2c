"""The pydantic models match CONTRACT.md: every record type, field name and enum value, exactly.

The contract's names are binding (practices' exports and acceptance suites use them), so this test
reads the contract text itself rather than a copy: renaming or dropping a field in the models, or
adding one to the contract without a model field, fails here.
"""

from __future__ import annotations

import datetime as dt
import re
from pathlib import Path
from typing import Literal, get_args, get_origin

import pytest

from engine.records.fields import base_type
from engine.records.schemas import EVENT_TYPES, RECORD_MODELS

CONTRACT = Path(__file__).resolve().parents[3].parent / "shared" / "spec" / "CONTRACT.md"


def _split_top(text: str) -> list[str]:
    """Split on commas that are not inside braces or parentheses."""
    parts, depth, current = [], 0, ""
    for ch in text:
        if ch in "{(":
            depth += 1
        elif ch in "})":
            depth -= 1
        if ch == "," and depth == 0:
            parts.append(current.strip())
            current = ""
        else:
            current += ch
    if current.strip():
        parts.append(current.strip())
    return parts


def contract_types() -> dict[str, dict[str, dict[str, object]]]:
    """type -> field -> {"list": bool, "map": bool, "enum": set | None} as the contract writes them."""
    text = CONTRACT.read_text(encoding="utf-8")
    section = text.split("## Record types", 1)[1].split("\n## ", 1)[0]
    found: dict[str, dict[str, dict[str, object]]] = {}
    for match in re.finditer(r"`([a-z_]+)` \{", section):
        start = match.end()
        depth, end = 1, start
        while depth:
            depth += {"{": 1, "}": -1}.get(section[end], 0)
            end += 1
        fields: dict[str, dict[str, object]] = {}
        for part in _split_top(section[start : end - 1]):
            name = re.match(r"[a-z0-9_]+", part)
            assert name, part
            enum = re.search(r"\(([^)]*\|[^)]*)\)", part)
            fields[name.group(0)] = {
                "list": part.endswith("[]"),
                "map": "{" in part,
                "enum": {v.strip() for v in enum.group(1).split("|")} - {"null"} if enum else None,
            }
        found[match.group(1)] = fields
    return found


CONTRACT_TYPES = contract_types()


def test_contract_is_parsed() -> None:
    assert len(CONTRACT_TYPES) >= 31
    assert CONTRACT_TYPES["access_event"]["action"]["enum"] == {"view", "print", "export", "edit"}
    assert CONTRACT_TYPES["organization"]["mips_participant_by_py"]["map"] is True


def test_every_contract_type_has_a_model() -> None:
    assert set(CONTRACT_TYPES) <= set(RECORD_MODELS), set(CONTRACT_TYPES) - set(RECORD_MODELS)


def test_event_types_are_the_contracts() -> None:
    assert EVENT_TYPES == {"access_event", "ai_output", "encounter"}


@pytest.mark.parametrize("record_type", sorted(CONTRACT_TYPES))
def test_fields_match_the_contract(record_type: str) -> None:
    model = RECORD_MODELS[record_type]
    names = [n for n in model.model_fields if n not in ("type", "id")]
    assert names[:2] != ["type", "id"]
    assert set(CONTRACT_TYPES[record_type]) <= set(names), set(CONTRACT_TYPES[record_type]) - set(names)
    # Extra model fields are allowed by the contract, but none exist today: a stray one is a typo.
    assert set(names) == set(CONTRACT_TYPES[record_type])
    assert list(model.model_fields)[:2] == ["type", "id"]


@pytest.mark.parametrize("record_type", sorted(CONTRACT_TYPES))
def test_field_shapes_and_enums(record_type: str) -> None:
    model = RECORD_MODELS[record_type]
    for name, spec in CONTRACT_TYPES[record_type].items():
        tp = base_type(model.model_fields[name].annotation)
        assert (get_origin(tp) is list) == spec["list"], f"{record_type}.{name} list-ness"
        assert (get_origin(tp) is dict) == spec["map"], f"{record_type}.{name} map-ness"
        if spec["enum"] is not None:
            assert get_origin(tp) is Literal, f"{record_type}.{name} should be an enum"
            assert set(get_args(tp)) == spec["enum"], f"{record_type}.{name} enum values"
        if name.endswith("_at") and not spec["map"]:
            assert tp is dt.datetime, f"{record_type}.{name} is an instant"


def test_only_type_and_id_are_required() -> None:
    for record_type, model in RECORD_MODELS.items():
        required = {n for n, f in model.model_fields.items() if f.is_required()}
        assert required == {"type", "id"}, record_type


def test_unknown_fields_are_forbidden_everywhere() -> None:
    for model in RECORD_MODELS.values():
        assert model.model_config.get("extra") == "forbid"
