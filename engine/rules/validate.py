"""`vigil rules validate`: every check a ruleset must pass before it can be published.

Schema and expressions (by compiling), parameters (defaults and the practice's overrides), SOP
references (policies/sops/<SOP>.md must exist) and scenario files (they must load).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from pathlib import Path

from engine.errors import ErrorDetail, VigilError
from engine.rules import withdrawals
from engine.rules.catalog import (
    POLICIES_DIR,
    compile_for,
    framework_files,
    load_practice_params,
    params_in_force,
    policies_dir,
)
from engine.rules.loader import load_ruleset_file
from engine.rules.scenarios import load_scenario


@dataclass
class ValidationReport:
    files: list[str] = field(default_factory=list)
    rules: int = 0
    problems: list[ErrorDetail] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.problems


def sop_path(sop: str, policies: Path = POLICIES_DIR) -> Path:
    return policies / "sops" / f"{sop}.md"


def validate_paths(
    paths: list[Path], *, policies: Path | None = None, params_path: Path | None = None, today: dt.date | None = None
) -> ValidationReport:
    """Validate ruleset files (and folders of them, with their scenarios); SOP references are looked
    up in `policies`, default the policies in use (VIGIL_POLICIES_DIR, else the repository's)."""
    policies = policies or policies_dir()
    report = ValidationReport()
    files: list[Path] = []
    scenarios: list[Path] = []
    for p in paths:
        if p.is_dir():
            files.extend(framework_files(p))
            files.extend(sorted(x for x in p.glob("*/*.yaml")
                                if x.parent.name != "tests" and x.name != withdrawals.FILE_NAME))
            scenarios.extend(sorted(p.glob("tests/*.yaml")) + sorted(p.glob("*/tests/*.yaml")))
        elif p.parent.name == "tests":
            scenarios.append(p)
        else:
            files.append(p)
    try:
        practice = load_practice_params(params_path)
    except VigilError as exc:
        report.problems.extend(exc.details)
        practice = {}
    for path in files:
        report.files.append(str(path))
        try:
            loaded = load_ruleset_file(path)
            day = today or loaded.spec.effective_from
            overrides = params_in_force(
                practice, loaded.spec.framework, day, str(params_path or "policies/practice.yaml")
            )
            compiled = compile_for(loaded, overrides, str(params_path or "policies/practice.yaml"))
        except VigilError as exc:
            report.problems.extend(exc.details or [ErrorDetail(reason=exc.message, file=str(path))])
            continue
        report.rules += len(compiled.rules)
        for rule in compiled.rules:
            if not sop_path(rule.spec.sop, policies).exists():
                report.problems.append(
                    ErrorDetail(
                        reason=f"SOP {rule.spec.sop} has no template at {sop_path(rule.spec.sop, policies)}",
                        file=str(path),
                        line=rule.spec.line,
                        rule_id=rule.id,
                    )
                )
    for path in scenarios:
        try:
            load_scenario(path)
        except VigilError as exc:
            report.problems.extend(exc.details)
    return report
