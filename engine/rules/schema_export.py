"""Export the ruleset file format as JSON Schema (docs/schema/ruleset.schema.json).

`python -m engine.rules.schema_export` rewrites it from the pydantic models in `engine.rules.spec`,
which the loader validates every ruleset with; `--check` exits 1 when the file is stale, and a test
does the same, so the schema a liaison's editor completes against cannot drift from what
`vigil rules validate` enforces. The schema checks the shape of a file (names, types, units); the
meaning (expressions, parameters, SOPs) is `vigil rules validate`'s.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

from engine.rules.spec import RulesetSpec

REPO = Path(__file__).resolve().parents[2]
SCHEMA_PATH = REPO / "docs" / "schema" / "ruleset.schema.json"


def build_schema() -> dict[str, Any]:
    body = RulesetSpec.model_json_schema()
    return {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "$id": "https://vigil.example/schema/ruleset.schema.json",
        **body,
        "title": "Vigil ruleset",
        "description": (
            "One version of a framework's rules, as written in rulesets/<framework>/<framework>-<version>.yaml "
            "(docs/rulesets.md). Generated from engine/rules/spec.py; do not edit by hand. Conditions, "
            "messages and SOP references are checked by `vigil rules validate`, not by this schema."
        ),
    }


def schema_text() -> str:
    return json.dumps(build_schema(), indent=2, ensure_ascii=False) + "\n"


def main(argv: list[str]) -> int:
    text = schema_text()
    stale = not SCHEMA_PATH.exists() or SCHEMA_PATH.read_text(encoding="utf-8") != text
    if "--check" in argv:
        if stale:
            print(f"stale: {SCHEMA_PATH.relative_to(REPO)} (run python -m engine.rules.schema_export)")
        return 1 if stale else 0
    if stale:
        SCHEMA_PATH.parent.mkdir(parents=True, exist_ok=True)
        SCHEMA_PATH.write_text(text, encoding="utf-8")
        print(f"wrote {SCHEMA_PATH.relative_to(REPO)}")
    return 0


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main(sys.argv[1:]))
