"""A run as a packet of one establishment or one framework shows it: recounted or withheld.

Apart from documents.py because it is one judgement (what of a run's totals a scoped packet may
say) that the packet's other documents do not share."""

from __future__ import annotations

from collections import defaultdict
from typing import Any

from engine.audit.chain import normalise_payload
from engine.audit.schemas import AuditEntry
from engine.packets.schemas import PacketInput


def scoped_runs(inp: PacketInput, *, held: set[str]) -> list[dict[str, Any]]:
    """The packet's runs in runs.json's order (as-of, id), each as `scope_run` shows it; `held` is the
    ids of the findings the packet holds."""
    run_entries: dict[str, list[AuditEntry]] = defaultdict(list)
    for e in inp.audit.entries if inp.audit else []:
        if e.action == "evaluation.run":
            run_entries[e.entity_id].append(e)
    return sorted((scope_run(normalise_payload(r), framework=inp.framework, establishment=inp.establishment,
                             held=held, entries=run_entries.get(str(r.get("id")), [])) for r in inp.runs),
                  key=lambda r: (str(r.get("as_of")), str(r.get("id"))))


#: the diff counts a run's audit entry lists the findings of (`findings_service._finish_run`)
_ENTRY_DIFF = ("opened", "reopened", "resolved", "waived")


def scope_run(run: dict[str, Any], *, framework: str, establishment: str | None, held: set[str],
              entries: list[AuditEntry]) -> dict[str, Any]:
    """A run as runs.json shows it: its counts for this packet's scope, or each count marked withheld.

    A run's `counts` (records, facts, matches, violations) and `diff` counts (findings opened,
    reopened, resolved, persisted, waived) are totals over every framework and establishment it
    evaluated. A packet of one establishment, or of a framework the run shared with others, had
    shown them (or, narrowed, `{}` with nothing said): another site's numbers, and counts that did
    not match the packet's findings. Kept as stored only where they are the packet's scope (the
    whole practice, a run of this framework alone). Otherwise the diff counts are recounted from the
    run's audit entry, which lists the ids it opened, reopened, resolved and waived, as the ids of
    findings this packet holds (what the narrowed entry in audit-trail.jsonl lists); the rest cannot
    be split after the fact and are withheld, each with its reason in `withheld`."""
    shared = run.get("frameworks") != [framework] or bool(run.get("withheld"))
    if establishment is None and not shared:
        return run
    where = f"establishment {establishment}" if establishment else f"framework {framework}"
    withheld = {k: v for k, v in (run.get("withheld") or {}).items() if k not in ("counts", "diff")}
    withheld["counts"] = (f"totals over every {'establishment and ' if establishment else ''}framework the run "
                          f"evaluated; not kept per {'establishment' if establishment else 'framework'}, so not "
                          f"given for {where}")
    diff: dict[str, Any] = {k: v for k, v in (run.get("diff") or {}).items() if k in ("held", "reason")}
    listing = [e for e in entries if isinstance(e.payload.get("diff"), dict)]
    if diff.get("held"):
        pass  # a held run changed no finding: its marker and reason say so for every scope
    elif listing:
        diff = {k: len({str(i) for e in listing for i in e.payload["diff"].get(k) or [] if str(i) in held})
                for k in _ENTRY_DIFF}
        withheld["diff.persisted"] = ("the findings a run saw again are counted, not listed (its audit entry "
                                      "lists the others), so not given for " + where)
        run = run | {"diff_counted": "the findings of this packet among those the run's audit entry (org_seq "
                     + ", ".join(str(e.org_seq) for e in listing) + ") lists"}
    else:
        withheld["diff"] = ("totals over every framework and establishment; no audit entry of the run listing its "
                            "findings is in this packet's audit excerpt (one recorded after the period; a stream "
                            "run that opened nothing writes none), so they are not given for " + where)
    return run | {"counts": {}, "diff": diff, "withheld": dict(sorted(withheld.items()))}
