"""Derivations for the ai_use rulesets (registered explicitly; see engine.rules.derive)."""

from __future__ import annotations
