"""Translate a caller into the scope the services apply (auditor grants)."""

from __future__ import annotations

from engine.auth.schemas import Principal
from engine.findings.schemas import FindingScope


def finding_scope(principal: Principal) -> FindingScope | None:
    if principal.role != "auditor" or principal.grant is None:
        return None
    g = principal.grant
    return FindingScope(framework=g.framework, window_from=g.window_from, window_to=g.window_to,
                        establishments=g.establishments)
