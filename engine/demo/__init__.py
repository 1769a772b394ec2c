"""Synthetic practice generator (`vigil demo-data`): deterministic NDJSON with planted problems."""

from engine.demo.generator import Result, generate, write_practice

__all__ = ["Result", "generate", "write_practice"]
