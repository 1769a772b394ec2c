"""Imports point one way (HOUSE-RULES): faces -> pipeline -> domains -> audit/core.

Domains never import the faces or the pipeline, audit imports no domain, and no domain reaches
into another domain's tables.
"""

from __future__ import annotations

import ast
from pathlib import Path

ENGINE = Path(__file__).resolve().parents[2] / "engine"
DOMAINS = ["records", "rules", "findings", "tasks", "packets", "auth", "audit"]
FACES = ["engine.api", "engine.web", "engine.cli", "engine.pipeline", "engine.stream", "engine.packet_sources",
         "engine.scheduler"]


def _imports(path: Path) -> set[str]:
    out: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            out.update(a.name for a in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module:
            out.add(node.module)
            out.update(f"{node.module}.{a.name}" for a in node.names)
    return out


def test_domains_do_not_import_faces_or_other_domains_tables() -> None:
    problems = []
    for domain in DOMAINS:
        for path in (ENGINE / domain).rglob("*.py"):
            for name in _imports(path):
                if any(name == f or name.startswith(f + ".") for f in FACES):
                    problems.append(f"{path.relative_to(ENGINE)} imports {name}")
                for other in DOMAINS:
                    if other != domain and name.startswith(f"engine.{other}.tables"):
                        problems.append(f"{path.relative_to(ENGINE)} imports {name}")
                if domain == "audit" and any(name.startswith(f"engine.{d}") for d in DOMAINS if d != "audit"):
                    problems.append(f"{path.relative_to(ENGINE)} (audit) imports {name}")
    assert not problems, "\n".join(sorted(problems))


def test_core_modules_import_no_domain() -> None:
    """The core every domain builds on (engine.db, JSON, text checks, errors, clock, collector)."""
    core = ["db", "json_codec", "storable_text", "cells", "heap", "clock", "errors", "bulk_insert", "registry"]
    problems = [f"engine/{name}.py imports {imported}" for name in core for imported in _imports(ENGINE / f"{name}.py")
                if any(imported.startswith(f"engine.{d}") for d in DOMAINS)]
    assert not problems, problems
