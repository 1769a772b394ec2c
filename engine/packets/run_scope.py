"""A run as a packet of one establishment or one framework shows it: recounted or withheld.

Apart from documents.py because it is one judgement (what of a run's totals a scoped packet may
say) that the packet's other documents do not share; the judgement itself (`scope_run`) is
`engine.findings.run_counts`, which the API's narrowed runs share."""

from __future__ import annotations

from collections import defaultdict
from typing import Any

from engine.audit.chain import normalise_payload
from engine.audit.schemas import AuditEntry
from engine.findings.run_counts import scope_run
from engine.packets.schemas import PacketInput


def scoped_runs(inp: PacketInput, *, held: set[str]) -> list[dict[str, Any]]:
    """The packet's runs in runs.json's order (as-of, id), each as `scope_run` shows it; `held` is the
    ids of the findings the packet holds."""
    run_entries: dict[str, list[AuditEntry]] = defaultdict(list)
    for e in inp.audit.entries if inp.audit else []:
        if e.action == "evaluation.run":
            run_entries[e.entity_id].append(e)
    establishments = [inp.establishment] if inp.establishment else None
    return sorted((scope_run(normalise_payload(r), framework=inp.framework, establishments=establishments,
                             held=held, entries=run_entries.get(str(r.get("id")), [])) for r in inp.runs),
                  key=lambda r: (str(r.get("as_of")), str(r.get("id"))))
