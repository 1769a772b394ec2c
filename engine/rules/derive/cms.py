"""Derivations for the cms rulesets (registered explicitly; see engine.rules.derive)."""

from __future__ import annotations
