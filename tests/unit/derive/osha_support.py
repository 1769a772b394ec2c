"""Helpers for the osha derivation tests: records as RecordViews and a DeriveContext by hand."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Mapping
from typing import Any

from engine.rules.derive import DeriveContext, DerivedFact, RecordView
from engine.rules.param_history import NO_HISTORY, ParamHistory

DEFAULT_TZ = "America/Denver"


def rec(record_type: str, record_id: str, **data: Any) -> RecordView:
    return RecordView(record_type, record_id, 1, {"type": record_type, "id": record_id, **data})


def est(record_id: str, *, tz: str = DEFAULT_TZ, naics: str | None = "621999", peak: Mapping[str, int] | None = None,
        **data: Any) -> RecordView:
    fields: dict[str, Any] = {"tz": tz, **data}
    if naics is not None:
        fields["naics"] = naics
    if peak is not None:
        fields["max_concurrent_employees"] = dict(peak)
    return rec("establishment", record_id, **fields)


def instant(text: str) -> dt.datetime:
    return dt.datetime.fromisoformat(text.replace("Z", "+00:00"))


def context(as_of: str, establishments: Iterable[RecordView], params: Mapping[str, Any] | None = None,
            history: ParamHistory = NO_HISTORY) -> DeriveContext:
    ests = {e.id: e for e in establishments}

    def tz_of(view: RecordView) -> str:
        est_id = view.data.get("establishment_id") or (view.id if view.type == "establishment" else None)
        if est_id in ests:
            return str(ests[est_id].data.get("tz") or DEFAULT_TZ)
        return DEFAULT_TZ

    return DeriveContext(as_of=instant(as_of), params=dict(params or {}), tz_of=tz_of, establishments=ests,
                         history=history)


def by_id(facts: Iterable[DerivedFact]) -> dict[str, DerivedFact]:
    out: dict[str, DerivedFact] = {}
    for f in facts:
        assert f.id not in out, f"duplicate derived fact {f.id}"
        out[f.id] = f
    return out
