"""Ruleset compiler: spec -> checked, folded, expanded rules -> durable_rules JSON + Python closures."""
