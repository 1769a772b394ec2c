"""Derivations for the osha rulesets (registered explicitly; see engine.rules.derive)."""

from __future__ import annotations
