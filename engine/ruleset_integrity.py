"""Whether the rulesets folder still holds the versions that were shipped, published and used.

A composition module, at the level of `engine.pipeline`: what a version's bytes should be is said
by three records of three domains, and the pipeline (evaluations), `vigil rules validate --db` and
`vigil audit verify` read them here.

A version number names one file for ever: runs record its SHA-256, packets ship its bytes, and
publishing checks a draft (its scenarios pass; it takes effect after every day a run has judged)
before a byte is written. A file edited or placed by hand had bypassed all of it (the regulatory
liaison's pass): `sed -i` on a released version's rule title validated clean, and the next
evaluation recorded `hipaa 2026.1.0` with another SHA-256 than the runs before it; a version
published with `vigil rules publish` and edited afterwards was not flagged, though its
`ruleset.published` entry holds its hash; and a `hipaa-2026.6.0.yaml` put in the folder with
`effective_from: 2020-01-01` judged days that runs had already judged by 2026.1.0. `vigil audit
verify` said the trail was intact throughout.

What a version's bytes should be, the first record that has it:
1. `rulesets/RELEASED.sha256`, for a version Vigil ships (`engine.rules.released`). It wins over the
   runs: builds before 2026-12-03 edited the shipped files, and runs made with them keep their own
   bytes (packets ship those beside the file);
2. its `ruleset.published` audit entry, for a version published through Vigil;
3. the bytes the first run that used it kept (`ruleset_blob`), for a version placed by hand.
A version none of them has was placed by hand and never used: it must start after the last day an
applied run (of any organization) judged its framework, as publishing requires.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Collection, Iterable
from dataclasses import dataclass

from sqlalchemy.orm import Session

from engine import clock, db
from engine.audit import service as audit_service
from engine.audit.schemas import ChainBreak
from engine.errors import ErrorDetail, RulesetValidationError, VigilError
from engine.findings import service as findings_service
from engine.rules import blobs
from engine.rules.catalog import in_force, load_all, rulesets_dir
from engine.rules.loader import LoadedRuleset
from engine.rules.released import released_problems, released_sha

#: The audit action a publication is recorded under (`pipeline.publish_ruleset`).
PUBLISHED = "ruleset.published"


@dataclass(frozen=True)
class Drift:
    """A version file that is not what a record says it is (`kind`: released, published, used), or a
    version placed by hand over days runs have judged (`placed`)."""

    framework: str
    version: str
    path: str
    kind: str
    detail: ErrorDetail

    @property
    def name(self) -> str:
        return f"{self.framework} {self.version}"


def drifts(session: Session, *, org_id: str | None, frameworks: Collection[str] | None = None,
           loaded: Iterable[LoadedRuleset] | None = None) -> list[Drift]:
    """Each version of the rulesets in use (of `frameworks`, default every one) that is not what was
    released, published or used, or was placed by hand over days already judged. The publications
    read are `org_id`'s (each is recorded for every organization of the database), or every
    organization's when None."""
    items = [i for i in (load_all(rulesets_dir()) if loaded is None else loaded)
             if frameworks is None or i.spec.framework in frameworks]
    if not items:
        return []
    by_framework: dict[str, list[LoadedRuleset]] = {}
    for i in items:
        by_framework.setdefault(i.spec.framework, []).append(i)
    kept = blobs.kept_shas(session, {(i.spec.framework, i.spec.version) for i in items})
    published = _published(session, org_id, items)
    out: list[Drift] = []
    for item in items:
        key = (item.spec.framework, item.spec.version)
        if released_sha(item) is not None:
            out.extend(Drift(*key, item.path, "released", d) for d in released_problems([item]))
        elif key in published:
            if published[key][0] != item.sha256:
                sha, at = published[key]
                out.append(_drift(item, "published", f"its {PUBLISHED} entry ({at:%Y-%m-%d}) records SHA-256 {sha}"))
        elif key in kept:
            first = kept[key][0]
            if first != item.sha256:
                out.append(_drift(item, "used", f"the runs that used it kept SHA-256 {first}"))
        else:
            placed = _placed_over_judged_days(session, item, by_framework[item.spec.framework])
            if placed is not None:
                out.append(Drift(*key, item.path, placed[0], placed[1]))
    return out


def refuse_drift(session: Session, *, org_id: str, frameworks: Collection[str] | None = None) -> None:
    """Refuse an evaluation to be kept while a version of its frameworks has drifted: its run would
    record one version under two hashes, or a version that changes what runs already found."""
    found = drifts(session, org_id=org_id, frameworks=frameworks)
    if not found:
        return
    names = ", ".join(sorted({d.name for d in found}))
    if all(d.kind == "placed" for d in found):
        code, what = "ruleset.integrity.placed", f"{names}, placed in the rulesets folder by hand, would change what " \
                                                 "runs already found"
    else:
        code, what = "ruleset.integrity.changed", f"the rulesets folder no longer holds what was released, " \
                                                  f"published or used for {names}"
    raise RulesetValidationError(
        f"{what}: nothing was evaluated (restore the file, or put the change in a new version with `vigil rules "
        "publish`; `vigil rules validate --db` names every such file)", [d.detail for d in found], code=code)


def breaks(session: Session, *, org_id: str | None) -> list[ChainBreak]:
    """Each drift as `vigil audit verify` reports it (`kind: ruleset`): the runs the trail records
    could no longer be reproduced from the files, and verify had said the trail was intact. A
    folder that does not load is said by `vigil rules validate`, not here."""
    try:
        found = drifts(session, org_id=org_id)
    except VigilError:
        return []
    return [ChainBreak(seq=None, org_id=org_id or "*", org_seq=None, kind="ruleset", record_type="ruleset",
                       record_id=f"{d.framework}@{d.version}", reason=d.detail.reason) for d in found]


def _drift(item: LoadedRuleset, kind: str, recorded: str) -> Drift:
    return Drift(item.spec.framework, item.spec.version, item.path, kind, ErrorDetail(
        reason=f"{item.spec.framework} {item.spec.version} has changed under its version: {recorded}, the file's "
               f"is {item.sha256}. Runs record a version's hash and packets ship its bytes, so a version never "
               "changes: restore the file, and put the change in a new version published with `vigil rules "
               "publish`", file=item.path, field="sha256"))


def _published(session: Session, org_id: str | None, items: list[LoadedRuleset]
               ) -> dict[tuple[str, str], tuple[str, dt.datetime]]:
    """The SHA-256 and day of each version's publication, from the audit trail (the latest, should a
    trail hold two)."""
    wanted = {f"{i.spec.framework}@{i.spec.version}": (i.spec.framework, i.spec.version) for i in items}
    orgs = [org_id] if org_id is not None else sorted(db.org_ids(session.connection()))
    out: dict[tuple[str, str], tuple[str, dt.datetime]] = {}
    for org in orgs:
        for entry in audit_service.entries_of_action(session, org_id=org, action=PUBLISHED, entity_ids=list(wanted)):
            sha = entry.payload.get("sha256")
            if entry.entity_id in wanted and isinstance(sha, str):
                out[wanted[entry.entity_id]] = (sha, entry.at)
    return out


def _placed_over_judged_days(session: Session, item: LoadedRuleset, versions: list[LoadedRuleset]
                              ) -> tuple[str, ErrorDetail] | None:
    """Why a version neither released, published nor kept by a run may not be in the folder: an
    applied run judged its framework as of a day on which it would now be in force, by another
    version (publishing refuses such a version, `pipeline._refuse_if_judged`; placing it by hand had
    bypassed that), or the runs that used it recorded other bytes (their bytes were never kept, on
    a database from before revision 0006). `versions` are the framework's, withdrawals applied."""
    spec = item.spec
    runs = findings_service.applied_runs_from(session, framework=spec.framework, day=spec.effective_from)
    judged_by_others = []
    for run in runs:
        chosen = in_force(versions, clock.ensure_utc(run.as_of).date(), [spec.framework])
        if not chosen or chosen[0] is not item:
            continue
        used = next((r for r in run.rulesets if r.get("id") == spec.framework), None)
        if used is None or used.get("version") != spec.version:
            judged_by_others.append(run)
        elif used.get("sha256") != item.sha256:
            return "used", _drift(item, "used", f"run {run.id} used it with SHA-256 {used.get('sha256')}").detail
    if not judged_by_others:
        return None
    last = max(r.as_of for r in judged_by_others).date()
    first_free = max(last + dt.timedelta(days=1), clock.now().date())
    return "placed", ErrorDetail(
        reason=f"{spec.framework} {spec.version} was neither released nor published (no {PUBLISHED} entry), and "
               f"from its effective_from {spec.effective_from} it would be in force on days {len(judged_by_others)} "
               f"applied run(s) judged by other versions (the last as of {last}): it would change what they found. "
               f"Remove the file, and publish the version with `vigil rules publish` from {first_free} or later",
        file=item.path, field="effective_from")
