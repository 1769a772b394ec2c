"""Accounts against the audit trail: the part of `vigil audit verify` that catches a user, an
auditor grant or an API token changed in the database without the change that explains it.

Why: the auditor pass of 7 December widened a grant's window and expiry, made an auditor an admin
and un-revoked a revoked token with plain SQL on a copy of the database, and verify said intact:
these tables are not chained. Each of their rows was written with an entry of the chain that says
what it held (`user.create`, `grant.create`, `token.issue`), and each later change Vigil makes to
what the chain records has an entry of its own (`user.deactivate`, `grant.revoke`, `token.revoke`...).
So the fields the chain records must read as its last word about them:

- a user: `username` and `role` (`user.create`), `active` (`user.activate`, `user.deactivate`);
- a grant: its user, `framework`, `window_from`, `window_to`, `establishments`, `expires_at` and
  `phi` (`grant.create`), and revoked once a `grant.revoke` names it;
- an API token: its user and `expires_at` (`token.issue`), its kind (an API token: sessions have no
  entry), and revoked once a `token.revoke` names it or a change that ends every token of its user
  came after its issue (a user switched off, a password changed or reset, a grant given, the last
  grant revoked with tokens to end).

A row with no entry at all was written by hand. What the chain does not record is not compared:
a password hash, a session's last use, failed logins and lockouts, a display name, a person link,
and a revocation the chain does not hold (Vigil ends web sessions and the tokens of a switched-off
user without an entry per token; a revocation takes access away, it never gives it).
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any, Literal

from sqlalchemy import select
from sqlalchemy.orm import Session

from engine.audit import service as audit
from engine.audit.schemas import AuditEntry, ChainBreak
from engine.auth.tables import GrantRow, TokenRow, UserRow
from engine.db import utc

AccountKind = Literal["user", "grant", "token"]
#: the grant's terms `grant.create` records (its payload is the GrantIn given)
GRANT_TERMS = ("framework", "window_from", "window_to", "establishments", "expires_at", "phi")
#: changes that end every API token their user holds then (`_end_access`, `_set_password`, `set_active`)
ENDS_ALL_TOKENS = ("user.deactivate", "user.password_reset", "user.password_change")
#: every action whose entry says something of a user, grant or token this check compares
ACTIONS = ("user.create", "user.activate", "user.deactivate", "user.password_reset", "user.password_change",
           "grant.create", "grant.revoke", "token.issue", "token.revoke")


@dataclass
class _Said:
    """What the chain last said of one row: field -> (value, the entry that said it)."""

    fields: dict[str, tuple[Any, AuditEntry]] = field(default_factory=dict)

    def take(self, entry: AuditEntry, values: dict[str, Any]) -> None:
        for name, value in values.items():
            self.fields[name] = (value, entry)


def check_accounts(session: Session, *, org_id: str | None, limit: int = 100) -> tuple[int, list[ChainBreak]]:
    """How many users, grants and API tokens were checked, and a break for each field (at most
    `limit`) that does not read as the audit trail last said, or each row it holds no entry for."""
    query = select(UserRow).order_by(UserRow.id)
    users = {row.id: row for row in session.scalars(query if org_id is None else query.where(UserRow.org_id == org_id))}
    entries = _entries(session, org_id)
    broken: list[ChainBreak] = []
    checked = 0
    for check in (_user_breaks(users.values(), entries), _grant_breaks(session, users, entries),
                  _token_breaks(session, users, entries)):
        for count, breaks in check:
            checked += count
            broken += breaks[:max(0, limit - len(broken))]
    return checked, broken


@dataclass
class _Entries:
    """The account entries of the chain, by what they are about."""

    #: (org, entity id) -> every entry about it, in chain order
    about: dict[tuple[str, str], list[AuditEntry]] = field(default_factory=lambda: defaultdict(list))
    #: (org, lower-case username) -> the grant entries naming that user, in chain order
    grants_of: dict[tuple[str, str], list[AuditEntry]] = field(default_factory=lambda: defaultdict(list))


def _entries(session: Session, org_id: str | None) -> _Entries:
    out = _Entries()
    for entry in audit.entries_of_action(session, org_id=org_id, action=ACTIONS):
        out.about[(entry.org_id, entry.entity_id)].append(entry)
        username = entry.payload.get("username")
        if entry.action.startswith("grant.") and isinstance(username, str):
            out.grants_of[(entry.org_id, username.lower())].append(entry)
    return out


# -- users ---------------------------------------------------------------------------------------


def _user_breaks(users: Iterable[UserRow], entries: _Entries) -> Iterable[tuple[int, list[ChainBreak]]]:
    for row in users:
        said = _Said()
        for entry in entries.about.get((row.org_id, row.id), []):
            said.take(entry, _said_of_user(entry))
        if "username" not in said.fields:
            yield 1, [_break(row.org_id, "user", row.id, f"user {row.username} has no user.create entry: the account "
                                                         "was written into the database without being created")]
            continue
        table = {"username": row.username, "role": row.role, "active": bool(row.active)}
        yield 1, [_differs(row.org_id, "user", row.id, f"user {row.username}", name, table[name], *said.fields[name])
                  for name in table if said.fields.get(name, (table[name],))[0] != table[name]]


def _said_of_user(entry: AuditEntry) -> dict[str, Any]:
    """The user's fields an entry sets (a role change, when Vigil has one, is added here)."""
    if entry.action == "user.create":
        return {"username": entry.payload.get("username"), "role": entry.payload.get("role"), "active": True}
    if entry.action in ("user.activate", "user.deactivate"):
        return {"active": entry.action == "user.activate"}
    return {}


# -- grants --------------------------------------------------------------------------------------


def _grant_breaks(session: Session, users: dict[str, UserRow],
                  entries: _Entries) -> Iterable[tuple[int, list[ChainBreak]]]:
    query = select(GrantRow).where(GrantRow.user_id.in_(list(users))).order_by(GrantRow.id)
    for row in session.scalars(query) if users else ():
        user = users[row.user_id]
        about = entries.about.get((user.org_id, row.id), [])
        created = next((e for e in about if e.action == "grant.create"), None)
        name = f"grant {row.id} of {user.username}"
        if created is None:
            yield 1, [_break(user.org_id, "grant", row.id, f"{name} has no grant.create entry: the grant was "
                                                           "written into the database without being given")]
            continue
        table = _grant_terms(row) | {"username": user.username.lower()}
        said = {term: _term(term, created.payload.get(term)) for term in GRANT_TERMS}
        said |= {"username": str(created.payload.get("username", "")).lower()}
        if row.revoked_at is not None and said["phi"] != table["phi"]:
            # a downgrade below revision 0010 revoked the pseudonymised grants and an upgrade after
            # reads them `full`; a revoked grant shows nothing either way
            said["phi"] = table["phi"]
        breaks = [_differs(user.org_id, "grant", row.id, name, term, table[term], said[term], created)
                  for term in table if said[term] != table[term]]
        revoked = next((e for e in about if e.action == "grant.revoke"), None)
        if revoked is not None and row.revoked_at is None:
            breaks.append(_unrevoked(user.org_id, "grant", row.id, name, revoked))
        yield 1, breaks


def _grant_terms(row: GrantRow) -> dict[str, Any]:
    return {"framework": row.framework, "window_from": row.window_from.isoformat(),
            "window_to": row.window_to.isoformat(), "establishments": row.establishments,
            "expires_at": utc(row.expires_at), "phi": row.phi or "full"}


def _term(term: str, value: Any) -> Any:
    """A grant term as `grant.create` wrote it, in the form `_grant_terms` reads the row (a grant
    given before revision 0010 had no `phi`: it was `full`)."""
    if term == "expires_at":
        return _instant(value)
    if term == "phi":
        return value or "full"
    return value


# -- tokens --------------------------------------------------------------------------------------


def _token_breaks(session: Session, users: dict[str, UserRow],
                  entries: _Entries) -> Iterable[tuple[int, list[ChainBreak]]]:
    query = select(TokenRow).where(TokenRow.user_id.in_(list(users))).order_by(TokenRow.id)
    for row in session.scalars(query) if users else ():
        user = users[row.user_id]
        about = entries.about.get((user.org_id, row.id), [])
        issued = next((e for e in about if e.action == "token.issue"), None)
        name = f"{'API token' if row.kind == 'api' else 'web session'} {row.id} of {user.username}"
        if issued is None:
            if row.kind == "api":
                yield 1, [_break(user.org_id, "token", row.id, f"{name} has no token.issue entry: the token was "
                                                               "written into the database without being issued")]
            continue  # a web session: the chain holds its sign-in, not the session
        table = {"kind": row.kind, "user": user.username, "expires_at": utc(row.expires_at)}
        said = {"kind": "api", "user": issued.payload.get("user"),
                "expires_at": _instant(issued.payload.get("expires_at"))}
        breaks = [_differs(user.org_id, "token", row.id, name, key, table[key], said[key], issued)
                  for key in table if said[key] != table[key]]
        ended = _ending(issued, about, user, entries)
        if ended is not None and row.revoked_at is None:
            breaks.append(_unrevoked(user.org_id, "token", row.id, name, ended))
        yield 1, breaks


def _ending(issued: AuditEntry, about: list[AuditEntry], user: UserRow, entries: _Entries) -> AuditEntry | None:
    """The first entry after the token's issue that revoked it: its own `token.revoke`, or a change
    that ended every token its user held (None when the chain holds none)."""
    own = [e for e in about if e.action == "token.revoke"]
    of_user = [e for e in entries.about.get((user.org_id, user.id), []) if e.action in ENDS_ALL_TOKENS]
    grants = [e for e in entries.grants_of.get((user.org_id, user.username.lower()), []) if _ends_access(e)]
    later = [e for e in own + of_user + grants if e.org_seq > issued.org_seq]
    return min(later, key=lambda e: e.org_seq, default=None)


def _ends_access(entry: AuditEntry) -> bool:
    """A grant entry that ended its auditor's tokens: every new grant does, a revocation when it left
    no grant in force (it then counts what it ended; superseded grants' revocations do not)."""
    if entry.action == "grant.create":
        return True
    counts = [entry.payload.get("tokens_revoked"), entry.payload.get("sessions_ended")]
    return any(isinstance(n, int) and n > 0 for n in counts)


# -- reporting -----------------------------------------------------------------------------------


def _break(org_id: str, kind: AccountKind, record_id: str, reason: str) -> ChainBreak:
    return ChainBreak(seq=None, org_id=org_id, org_seq=None, reason=reason, kind=kind, record_type=kind,
                      record_id=record_id)


def _differs(org_id: str, kind: AccountKind, record_id: str, name: str, column: str, table: Any, said: Any,
             entry: AuditEntry) -> ChainBreak:
    return _break(org_id, kind, record_id, f"{name}: {column} reads {_shown(table)} in the database, but the audit "
                                           f"trail says {_shown(said)} ({entry.action}, entry #{entry.org_seq}): "
                                           "changed in the database")


def _unrevoked(org_id: str, kind: AccountKind, record_id: str, name: str, entry: AuditEntry) -> ChainBreak:
    return _break(org_id, kind, record_id, f"{name}: reads as not revoked in the database, but the audit trail "
                                           f"revoked it ({entry.action}, entry #{entry.org_seq}): its revocation "
                                           "was undone in the database")


def _shown(value: Any) -> str:
    if isinstance(value, dt.datetime):
        return value.isoformat()
    if value is None:
        return "nothing"
    return str(value)


def _instant(value: Any) -> dt.datetime | None:
    """An entry's ISO instant, in UTC (None for anything else)."""
    try:
        return utc(dt.datetime.fromisoformat(value)) if isinstance(value, str) else None
    except ValueError:
        return None
