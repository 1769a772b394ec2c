"""Validation and scenario-test results of a framework's rulesets, for the liaison (the web
UI's checks page and `GET`/`POST /rulesets/{framework}/checks` show them).

Validation (format, expressions, parameters, SOP references, scenario files load) runs in the web
process and is cached until a file under the framework's folder changes. Scenario tests run every
case on both backends; they take seconds to minutes and drive the durable_rules engine, so they
run in a child process (`python -m engine.rules.checks_worker FRAMEWORK`) on request, and the result
is kept, with the fingerprint of the files it ran on, until those files change.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import os
import subprocess
import sys
import threading
import time
from pathlib import Path

from pydantic import BaseModel

from engine import clock
from engine.errors import ErrorDetail, NotFoundError
from engine.rules.catalog import frameworks_said, rulesets_dir
from engine.rules.validate import validate_paths

SCENARIO_TIMEOUT_S = 900


class Problem(BaseModel):
    where: str
    reason: str


class ValidationView(BaseModel):
    ok: bool
    rules: int
    files: list[str]
    problems: list[Problem]


class ScenarioCase(BaseModel):
    scenario: str
    case: int
    as_of: str
    ok: bool
    problems: list[str]


class ScenarioRun(BaseModel):
    framework: str
    fingerprint: str
    ran_at: dt.datetime
    seconds: float
    passed: int
    failed: int
    cases: list[ScenarioCase]
    error: str | None = None


_lock = threading.Lock()
_validations: dict[tuple[str, str], ValidationView] = {}
_scenarios: dict[str, ScenarioRun] = {}


def framework_dir(framework: str) -> Path:
    root = rulesets_dir()
    path = root / framework
    # the name's shape first: a name longer than a file name may be had made `is_dir` raise (a 500)
    if len(framework) > 64 or not framework.replace("_", "").isalnum() or not path.is_dir():
        known = sorted(p.name for p in root.iterdir() if p.is_dir() and not p.name.startswith((".", "_"))) \
            if root.is_dir() else []
        # the frameworks there, not the server's path (a web page and the API show this to their callers)
        raise NotFoundError(f"no ruleset folder for {framework[:40]!r}",
                            [ErrorDetail(reason=f"the frameworks are: {frameworks_said(known)}",
                                         field="framework")])
    return path


def fingerprint(framework: str) -> str:
    """A hash of every file under the framework's folder (rulesets and scenarios): names, sizes, bytes."""
    digest = hashlib.sha256()
    for p in sorted(framework_dir(framework).rglob("*.yaml")):
        digest.update(str(p.relative_to(rulesets_dir())).encode() + b"\0" + p.read_bytes() + b"\0")
    return digest.hexdigest()


def _where(d: ErrorDetail) -> str:
    return d.location() if hasattr(d, "location") else (d.file or "")


def validation(framework: str) -> ValidationView:
    key = (framework, fingerprint(framework))
    with _lock:
        cached = _validations.get(key)
    if cached is not None:
        return cached
    report = validate_paths([framework_dir(framework)])
    root = str(rulesets_dir()) + os.sep
    view = ValidationView(ok=report.ok, rules=report.rules, files=[f.replace(root, "") for f in report.files],
                          problems=[Problem(where=_where(p).replace(root, ""), reason=p.reason)
                                    for p in report.problems])
    with _lock:
        _validations[key] = view
    return view


def scenario_results(framework: str) -> ScenarioRun | None:
    """The last scenario run for the framework's current files, if any."""
    current = fingerprint(framework)
    with _lock:
        run = _scenarios.get(framework)
    return run if run is not None and run.fingerprint == current else None


def run_scenarios(framework: str) -> ScenarioRun:
    """Run the framework's scenarios in a child process and keep the result."""
    framework_dir(framework)
    current = fingerprint(framework)
    started = time.perf_counter()
    ran_at = clock.now()
    error = None
    cases: list[ScenarioCase] = []
    try:
        done = subprocess.run([sys.executable, "-m", "engine.rules.checks_worker", framework], capture_output=True,
                              text=True, timeout=SCENARIO_TIMEOUT_S, check=False, env=dict(os.environ))
        cases = [ScenarioCase.model_validate(json.loads(line)) for line in done.stdout.splitlines()
                 if line.startswith("{")]
        if done.returncode != 0:
            error = (f"the scenario runner stopped with exit code {done.returncode} after {len(cases)} cases"
                     f"{': ' + done.stderr.strip()[-500:] if done.stderr.strip() else ''}")
    except subprocess.TimeoutExpired:
        error = f"the scenarios did not finish within {SCENARIO_TIMEOUT_S} s"
    root = str(rulesets_dir()) + os.sep
    for c in cases:  # the folder below the rulesets root, not the server's path
        c.scenario = c.scenario.replace(root, "")
        c.problems = [text.replace(root, "") for text in c.problems]
    run = ScenarioRun(framework=framework, fingerprint=current, ran_at=ran_at,
                      seconds=round(time.perf_counter() - started, 1), passed=sum(c.ok for c in cases),
                      failed=sum(not c.ok for c in cases), cases=cases, error=error)
    with _lock:
        _scenarios[framework] = run
    return run
