"""Every dependency is pinned, and the constraints file pins the same versions (the Makefile
installs with both): a pin changed in one place and not the other would install what neither says."""

from __future__ import annotations

import re
import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def _name(requirement: str) -> str:
    return re.split(r"[\[=<>!~ ]", requirement, maxsplit=1)[0].lower().replace("_", "-")


def _constraints() -> dict[str, str]:
    pins = {}
    for line in (ROOT / "constraints.txt").read_text(encoding="utf-8").splitlines():
        if line.strip() and not line.startswith("#"):
            name, _, version = line.partition("==")
            assert version, f"constraints.txt: {line!r} is not name==version"
            pins[_name(name)] = version.strip()
    return pins


def test_each_dependency_is_pinned_and_the_constraints_agree() -> None:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]
    constraints = _constraints()
    requirements = [*project["dependencies"], *project["optional-dependencies"]["dev"]]
    for requirement in requirements:
        name = _name(requirement)
        assert name in constraints, f"{name} is not in constraints.txt"
        if "==" in requirement:
            assert requirement.split("==", 1)[1] == constraints[name], (
                f"{name}: pyproject.toml pins {requirement.split('==', 1)[1]}, constraints.txt {constraints[name]}")
