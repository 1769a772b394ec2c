"""Which audit entries a packet withholds as the administration of Vigil itself."""

from __future__ import annotations

import datetime as dt
from typing import Any

from engine.audit.schemas import AuditEntry
from engine.packets.collect import account_entries


def _entry(seq: int, action: str, **payload: Any) -> AuditEntry:
    return AuditEntry(seq=seq, org_id="o", org_seq=seq, at=dt.datetime(2026, 3, 1, tzinfo=dt.UTC), actor="a",
                      action=action, entity_type=action.partition(".")[0], entity_id=f"X-{seq}", payload=payload,
                      prev_hash="0" * 64, hash="1" * 64)


def test_sign_ins_accounts_tokens_and_other_frameworks_grants_are_withheld() -> None:
    """A black-box pass found every user's sign-ins (`auth.login {"user": ...}`, failed ones, lock-outs)
    in a HIPAA packet, while account and token entries were withheld."""
    entries = [
        _entry(1, "auth.login", user="officer"), _entry(2, "auth.login_failed", user="u1x", failures=4),
        _entry(3, "auth.locked", user="u1x"), _entry(4, "auth.unlock", user="u1x"),
        _entry(5, "user.create", username="aud"), _entry(6, "token.issue", name="t"),
        _entry(7, "grant.create", framework="osha"), _entry(8, "grant.create", framework="hipaa"),
        _entry(9, "finding.comment", text="seen"), _entry(10, "records.import", records=3),
        _entry(11, "authority.note"),  # a family that only begins like one
    ]
    assert account_entries(entries, framework="hipaa") == [1, 2, 3, 4, 5, 6, 7]
