"""Child process of engine.rules.checks: run one framework's scenarios on both backends and print
one JSON line per case as it finishes (a crash here cannot take the web server down, and the cases
run before it are still reported)."""

from __future__ import annotations

import json
import sys

from engine.rules.catalog import rulesets_dir
from engine.rules.scenarios import run_scenario, scenario_files


def main(framework: str) -> None:
    root = rulesets_dir()
    for path in scenario_files(root):
        if path.parent.parent.name != framework:
            continue
        for r in run_scenario(path, root=root):
            print(json.dumps({"scenario": r.scenario, "case": r.case, "as_of": r.as_of, "ok": r.ok,
                              "problems": r.problems}), flush=True)


if __name__ == "__main__":
    main(sys.argv[1])
