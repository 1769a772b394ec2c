"""The registries a ruleset names entries of are closed once loaded: an entry added afterwards, by
a module imported by chance, would change what a run derives, parses or calls from one run to the
next."""

from __future__ import annotations

from typing import Any

import pytest

from engine.records.importers import FORMATS
from engine.rules.derive import DERIVATIONS, derivation, load_families
from engine.rules.lang.functions import FUNCTIONS


def test_no_derivation_can_be_registered_once_the_families_are_loaded() -> None:
    load_families()
    names = DERIVATIONS.names()
    with pytest.raises(RuntimeError, match="derivation registry is frozen; cannot add 'late.one'"):
        @derivation(name="late.one", inputs=("person",), output="late_fact", fields={}, family="org")
        def late(ctx: Any, inputs: Any) -> list[Any]:
            return []
    assert DERIVATIONS.names() == names and len(names) > 20


@pytest.mark.parametrize("registry", [FORMATS, FUNCTIONS], ids=["formats", "functions"])
def test_formats_and_functions_are_closed_at_import(registry: Any) -> None:
    with pytest.raises(RuntimeError, match="is frozen"):
        registry.add("late", object())
