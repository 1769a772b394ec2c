"""What of a run's stored totals a scoped reader may be told: recounted for the scope, or withheld.

A run's `counts` and `diff` counts are totals over every framework and establishment it evaluated.
A reader of one framework or of some establishments (an evidence packet, an auditor's grant) must
neither see them as stored (another site's numbers) nor get `{}` with nothing said (read as "this
run found nothing"). One judgement, shared by the packets' runs.json (`engine.packets.run_scope`)
and the API's narrowed runs (`engine.api.scope`), so the two cannot word or count it apart.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

from engine.audit.schemas import AuditEntry

#: the diff counts a run's audit entry lists the findings of (`findings_service._finish_run`)
ENTRY_DIFF = ("opened", "reopened", "resolved", "waived")

#: why a packet has no entry listing a run's findings (`scope_run`'s `no_entry`)
NOT_IN_EXCERPT = ("is in this packet's audit excerpt (one recorded after the period; a stream run that opened "
                  "nothing writes none)")


def listed_ids(entries: Iterable[AuditEntry]) -> set[str]:
    """The ids of the findings the runs' audit entries list as opened, reopened, resolved or waived
    (what a reader must know of to recount them for its scope)."""
    return {str(i) for e in entries if isinstance(e.payload.get("diff"), dict)
            for k in ENTRY_DIFF for i in e.payload["diff"].get(k) or []}


def where_of(framework: str, establishments: Sequence[str] | None) -> str:
    """The scope as the reasons name it: `establishment E1`, `establishments E1, E2`, `framework hipaa`."""
    if not establishments:
        return f"framework {framework}"
    return f"establishment{'s' if len(establishments) > 1 else ''} {', '.join(establishments)}"


def scope_run(run: dict[str, Any], *, framework: str, establishments: Sequence[str] | None, held: set[str],
              entries: list[AuditEntry], shared: bool | None = None, holder: str = "the findings of this packet",
              no_entry: str = NOT_IN_EXCERPT) -> dict[str, Any]:
    """A run (as JSON) with its counts for this scope, or each count marked withheld with the reason.

    Kept as stored only where the totals are the scope's: no establishment limit and a run of this
    framework alone (`shared` says whether it evaluated others too; by default read from the run:
    its `frameworks`, or a `withheld` its narrowing left). Otherwise the diff counts are recounted
    from the run's audit entries (`entries`), which list the ids it opened, reopened, resolved and
    waived, as the ids among them in `held` (the findings the reader may see; `holder` names them in
    `diff_counted`); the rest cannot be split after the fact and are withheld, each with its reason
    in `withheld`. `no_entry` completes "no audit entry of the run listing its findings ..." when
    there is none."""
    if shared is None:
        shared = run.get("frameworks") != [framework] or bool(run.get("withheld"))
    if not establishments and not shared:
        return run
    where = where_of(framework, establishments)
    withheld = {k: v for k, v in (run.get("withheld") or {}).items() if k not in ("counts", "diff")}
    withheld["counts"] = (f"totals over every {'establishment and ' if establishments else ''}framework the run "
                          f"evaluated; not kept per {'establishment' if establishments else 'framework'}, so not "
                          f"given for {where}")
    diff: dict[str, Any] = {k: v for k, v in (run.get("diff") or {}).items() if k in ("held", "reason")}
    listing = [e for e in entries if isinstance(e.payload.get("diff"), dict)]
    if diff.get("held"):
        pass  # a held run changed no finding: its marker and reason say so for every scope
    elif listing:
        diff = {k: len({str(i) for e in listing for i in e.payload["diff"].get(k) or [] if str(i) in held})
                for k in ENTRY_DIFF}
        withheld["diff.persisted"] = ("the findings a run saw again are counted, not listed (its audit entry "
                                      "lists the others), so not given for " + where)
        run = run | {"diff_counted": f"{holder} among those the run's audit entry (org_seq "
                     + ", ".join(str(e.org_seq) for e in listing) + ") lists"}
    else:
        withheld["diff"] = ("totals over every framework and establishment; no audit entry of the run listing its "
                            f"findings {no_entry}, so they are not given for " + where)
    return run | {"counts": {}, "diff": diff, "withheld": dict(sorted(withheld.items()))}
