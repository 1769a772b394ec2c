"""A shipped ruleset version names one file for ever: evaluation runs record its SHA-256 and
packets ship its bytes, so a Vigil that ships other bytes under the same version makes the
practice's packets unbuildable for runs made before the upgrade, and quietly changes what the same
version finds (the upgrade probe, session 29: 29 rules' findings resolved and reopened under new
ids, their waivers and acknowledgements left behind). `rulesets/RELEASED.sha256` lists every
shipped version's bytes (`cd rulesets && sha256sum -c RELEASED.sha256`); a change of content is a
new version file, listed there when it ships."""

from __future__ import annotations

import hashlib
from pathlib import Path

from engine.rules.catalog import ruleset_files

RULESETS = Path(__file__).resolve().parents[2] / "rulesets"
RELEASED = RULESETS / "RELEASED.sha256"


def _released() -> dict[str, str]:
    listed: dict[str, str] = {}
    for line in RELEASED.read_text(encoding="utf-8").splitlines():
        if line.strip():
            digest, name = line.split(maxsplit=1)
            listed[name.strip()] = digest
    return listed


def test_no_released_ruleset_version_has_changed() -> None:
    changed = []
    for name, digest in _released().items():
        path = RULESETS / name
        assert path.is_file(), f"rulesets/{name} is listed as released but is gone: a released version is never removed"
        now = hashlib.sha256(path.read_bytes()).hexdigest()
        if now != digest:
            changed.append(f"rulesets/{name}: released as {digest[:12]}, now {now[:12]}")
    assert not changed, ("released ruleset versions changed under the same version; put the change in a new "
                         "version file (its own version number and effective_from) and list it in "
                         "rulesets/RELEASED.sha256:\n" + "\n".join(changed))


def test_every_shipped_ruleset_version_is_listed_as_released() -> None:
    shipped = {p.relative_to(RULESETS).as_posix() for p in ruleset_files(RULESETS)}
    unlisted = sorted(shipped - set(_released()))
    assert not unlisted, f"add these to rulesets/RELEASED.sha256 (sha256sum format): {unlisted}"
