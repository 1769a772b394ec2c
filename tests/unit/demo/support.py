"""Helpers for the generator tests: generate a small practice once per anchor and load it."""

from __future__ import annotations

import datetime as dt
import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from engine.demo import generate
from engine.demo.model import RECORD_TYPES

ANCHORS = (dt.date(2026, 7, 15), dt.date(2026, 3, 3), dt.date(2027, 1, 4))


@dataclass
class Practice:
    """A generated practice: its files, records by type, planted list and manifest."""

    dir: Path
    anchor: dt.date
    records: dict[str, list[dict[str, Any]]]
    planted: list[dict[str, Any]]
    manifest: dict[str, Any]
    _ids: dict[str, dict[str, dict[str, Any]]] = field(default_factory=dict)

    def ids(self, record_type: str) -> dict[str, dict[str, Any]]:
        if record_type not in self._ids:
            self._ids[record_type] = {r["id"]: r for r in self.records[record_type]}
        return self._ids[record_type]

    def planted_for(self, rule_id: str) -> set[tuple[str, str]]:
        return {(e["subject"]["type"], e["subject"]["id"]) for e in self.planted if e["rule_id"] == rule_id}

    @property
    def as_of(self) -> dt.datetime:
        return dt.datetime.fromisoformat(self.manifest["as_of"])


def load(path: Path, anchor: dt.date) -> Practice:
    records = {}
    for t in RECORD_TYPES:
        with open(path / f"{t}.ndjson", encoding="utf-8") as f:
            records[t] = [json.loads(line) for line in f]
    planted = json.loads((path / "planted.json").read_text(encoding="utf-8"))
    manifest = json.loads((path / "manifest.json").read_text(encoding="utf-8"))
    return Practice(path, anchor, records, planted, manifest)


_CACHE: dict[tuple[dt.date, int], Practice] = {}


def practice_for(tmp_path_factory: pytest.TempPathFactory, anchor: dt.date, seed: int = 7) -> Practice:
    key = (anchor, seed)
    if key not in _CACHE:
        out = tmp_path_factory.mktemp(f"demo-{anchor}-{seed}")
        generate(out, size="small", seed=seed, anchor=anchor)
        _CACHE[key] = load(out, anchor)
    return _CACHE[key]
