"""Child process of engine.rules.checks: run one framework's scenarios on both backends and print
one JSON line per case as it finishes (a crash here cannot take the web server down, and the cases
run before it are still reported).

A scenario file that cannot run (a key it does not know, a record an import would refuse, a ruleset
that does not compile) is reported as one failed line naming its problems, as `vigil rules test`
says them, and the other files still run: it had stopped the runner, and the checks page showed a
traceback under "the scenario runner stopped"."""

from __future__ import annotations

import json
import sys
from pathlib import Path

from engine.errors import VigilError
from engine.rules.catalog import rulesets_dir
from engine.rules.scenarios import run_scenario, scenario_file_problems, scenario_files


def _line(scenario: str, case: int, as_of: str, ok: bool, problems: list[str]) -> None:
    print(json.dumps({"scenario": scenario, "case": case, "as_of": as_of, "ok": ok, "problems": problems}),
          flush=True)


def _run_file(path: Path, root: Path) -> None:
    problems = scenario_file_problems(path)
    if problems:
        _line(str(path), 0, "", False, [str(d) for d in problems])
        return
    try:
        for r in run_scenario(path, root=root):
            _line(r.scenario, r.case, r.as_of, r.ok, r.problems)
    except VigilError as exc:
        _line(str(path), 0, "", False, [exc.message] + [str(d) for d in exc.details])


def main(framework: str) -> None:
    root = rulesets_dir()
    for path in scenario_files(root):
        if path.parent.parent.name == framework:
            _run_file(path, root)


if __name__ == "__main__":
    main(sys.argv[1])
