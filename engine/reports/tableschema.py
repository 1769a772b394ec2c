"""A small checker for the Frictionless Table Schema subset the ITA 300A schema uses (field order,
string/integer types, required, pattern, maxLength, enum, minimum), read from the CSV text as a
filer's tool reads it. Frictionless itself is a large dependency for eight constraint kinds; this
applies the same meaning: an empty cell is a missing value, a pattern must match the whole cell.
"""

from __future__ import annotations

import csv
import io
import json
import re
from functools import cache
from pathlib import Path
from typing import Any

DATA = Path(__file__).resolve().parent / "data"
ITA_300A_SCHEMA = DATA / "ita-300A.tableschema.json"


@cache
def load(path: Path = ITA_300A_SCHEMA) -> dict[str, Any]:
    """A Table Schema (JSON)."""
    out: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))
    return out


def check_csv(text: str, schema: dict[str, Any]) -> list[str]:
    """Every way the CSV text breaks the schema, as "row N, field F: why" (rows count from 2, the
    header being row 1, as frictionless reports them)."""
    fields = schema["fields"]
    rows = list(csv.reader(io.StringIO(text)))
    if not rows:
        return ["no header row"]
    names = [f["name"] for f in fields]
    if rows[0] != names:
        return [f"header: expected {names}, got {rows[0]}"]
    out: list[str] = []
    for number, row in enumerate(rows[1:], start=2):
        if len(row) != len(fields):
            out.append(f"row {number}: {len(row)} cells, expected {len(fields)}")
            continue
        for field, cell in zip(fields, row, strict=True):
            reason = check_cell(cell, field)
            if reason:
                out.append(f"row {number}, field {field['name']}: {reason}")
    return out


def check_cell(cell: str, field: dict[str, Any]) -> str | None:
    """Why one cell breaks its field's type or constraints, or None."""
    constraints = field.get("constraints", {})
    if cell == "":
        return "required value missing" if constraints.get("required") else None
    value: str | int = cell
    if field.get("type") == "integer":
        if not re.fullmatch(r"[+-]?[0-9]+", cell):
            return f"{cell!r} is not an integer"
        value = int(cell)
    if "pattern" in constraints and not re.fullmatch(constraints["pattern"], cell):
        return f"{cell!r} does not match {constraints['pattern']}"
    if "maxLength" in constraints and len(cell) > constraints["maxLength"]:
        return f"longer than {constraints['maxLength']} characters"
    if "enum" in constraints and value not in constraints["enum"]:
        return f"{value!r} is not one of {constraints['enum']}"
    if "minimum" in constraints and isinstance(value, int) and value < constraints["minimum"]:
        return f"{value} is below {constraints['minimum']}"
    return None
