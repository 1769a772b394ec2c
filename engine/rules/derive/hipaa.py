"""Derivations for the hipaa rulesets (registered explicitly; see engine.rules.derive)."""

from __future__ import annotations
