"""Keeping and reading the ruleset bytes runs used (`ruleset_blob`), by SHA-256."""

from __future__ import annotations

from collections.abc import Collection, Iterable
from pathlib import Path

from sqlalchemy import select
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.orm import Session

from engine import clock
from engine.rules.tables import RulesetBlobRow


def keep(session: Session, used: Iterable[tuple[str, str, str]]) -> None:
    """Store the bytes of each (framework, version, sha256) a run used, once.

    The run has just compiled them from the rulesets folder, so the file with that hash is there
    now; one that is not (changed between the compile and this call) is left out, and a packet
    that needs it says so when it is built."""
    wanted = {sha: (framework, version) for framework, version, sha in used}
    if not wanted:
        return
    held = set(session.scalars(select(RulesetBlobRow.sha256).where(RulesetBlobRow.sha256.in_(wanted))))
    missing = {sha: fv for sha, fv in wanted.items() if sha not in held}
    if not missing:
        return
    from engine.rules.catalog import load_all, rulesets_dir

    now = clock.now()
    rows = []
    for item in load_all(rulesets_dir()):
        if item.sha256 in missing:
            framework, version = missing.pop(item.sha256)
            rows.append({"sha256": item.sha256, "framework": framework, "version": version,
                         "name": Path(item.path).name, "content": item.content, "stored_at": now})
    if rows:  # another organization's run may keep the same bytes at the same moment: one row, no error
        insert = pg_insert if session.get_bind().dialect.name == "postgresql" else sqlite_insert
        session.execute(insert(RulesetBlobRow).values(rows).on_conflict_do_nothing(index_elements=["sha256"]))


def fetch(session: Session, sha256s: Iterable[str]) -> dict[str, RulesetBlobRow]:
    """The kept bytes of these hashes (those never kept are absent)."""
    wanted = sorted(set(sha256s))
    if not wanted:
        return {}
    return {row.sha256: row for row in session.scalars(select(RulesetBlobRow).where(RulesetBlobRow.sha256.in_(wanted)))}


def kept_shas(session: Session, versions: Collection[tuple[str, str]]) -> dict[tuple[str, str], list[str]]:
    """The SHA-256 of the bytes runs kept for each (framework, version) asked for, the first kept
    first: what a version placed by hand is held to once a run has used it (`engine.ruleset_integrity`)."""
    frameworks = sorted({framework for framework, _ in versions})
    if not frameworks:
        return {}
    rows = session.execute(select(RulesetBlobRow.framework, RulesetBlobRow.version, RulesetBlobRow.sha256)
                           .where(RulesetBlobRow.framework.in_(frameworks))
                           .order_by(RulesetBlobRow.stored_at, RulesetBlobRow.sha256))
    out: dict[tuple[str, str], list[str]] = {}
    for framework, version, sha in rows:
        if (framework, version) in versions:
            out.setdefault((framework, version), []).append(sha)
    return out
