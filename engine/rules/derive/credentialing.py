"""Derivations for the credentialing rulesets (registered explicitly; see engine.rules.derive)."""

from __future__ import annotations
