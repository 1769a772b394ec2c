"""`vigil audit verify` after the session 35 black-box pass: entries whose `seq` were swapped are
named (every hash and link still held, while `audit log` listed them out of order), and the stored
record versions are checked too, from the command line as from the service."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

from sqlalchemy import Engine, text
from typer.testing import CliRunner

from engine import clock, db
from engine.audit import service as audit
from engine.cli.main import app

T0 = dt.datetime(2026, 2, 1, 12, 0, tzinfo=dt.UTC)


def _entries(engine: Engine, n: int) -> None:
    with clock.frozen(T0), db.unit_of_work(engine) as s:
        for i in range(n):
            audit.append(s, org_id="org-1", actor="user:ann", action="finding.ack", entity_type="finding",
                         entity_id=f"F-{i}", payload={})
            audit.append(s, org_id="org-2", actor="user:bob", action="finding.ack", entity_type="finding",
                         entity_id=f"F-{i}", payload={})  # another chain's entries between them


def _swap_seq(engine: Engine, org_seq_a: int, org_seq_b: int) -> tuple[int, int]:
    """Swap the `seq` of two entries of org-1, leaving everything else (as an intruder with the
    triggers off would); returns their seq before."""
    with engine.begin() as conn:
        if engine.dialect.name == "postgresql":
            conn.execute(text("SET LOCAL session_replication_role = replica"))
        else:
            conn.execute(text("DROP TRIGGER IF EXISTS audit_entries_no_update"))
        seq = {n: conn.execute(text("SELECT seq FROM audit_entries WHERE org_id = 'org-1' AND org_seq = :n"),
                               {"n": n}).scalar_one() for n in (org_seq_a, org_seq_b)}
        for n, value in ((org_seq_a, -1), (org_seq_b, seq[org_seq_a]), (org_seq_a, seq[org_seq_b])):
            conn.execute(text("UPDATE audit_entries SET seq = :v WHERE org_id = 'org-1' AND org_seq = :n"),
                         {"v": value, "n": n})
    return seq[org_seq_a], seq[org_seq_b]


def test_entries_whose_seq_were_swapped_are_named(engine: Engine) -> None:
    _entries(engine, 4)
    before, after = _swap_seq(engine, 2, 3)
    with db.unit_of_work(engine) as s:
        report = audit.verify(s)
        listed = [e.org_seq for e in audit.list_entries(s, org_id="org-1", limit=10)]
    assert listed == [1, 2, 3, 4]  # listed in chain order (it had read [1, 3, 2, 4] with verify saying "intact")
    assert not report.ok
    (swapped,) = report.broken
    assert (swapped.org_id, swapped.org_seq, swapped.seq) == ("org-1", 3, before)
    assert f"seq {before} is not above seq {after} of entry #2" in swapped.reason and "swapped" in swapped.reason


def test_an_intact_trail_stays_intact_with_chains_interleaved(engine: Engine) -> None:
    _entries(engine, 4)
    with db.unit_of_work(engine) as s:
        assert audit.verify(s).ok


def _vigil(*args: str) -> object:
    return CliRunner().invoke(app, list(args))


def test_the_command_checks_the_record_versions_and_names_one_altered(tmp_path: Path) -> None:
    """The reporter's steps: import one person, rewrite its last name in the database, verify."""
    url = f"sqlite:///{tmp_path / 'x.db'}"
    people = tmp_path / "p.json"
    people.write_text(json.dumps([{"type": "person", "id": "P-1", "first_name": "Ann", "last_name": "Lee"}]))
    assert _vigil("import", str(people), "--db", url).exit_code == 0  # type: ignore[attr-defined]
    intact = _vigil("audit", "verify", "--db", url)
    assert intact.exit_code == 0, intact.output  # type: ignore[attr-defined]
    assert "1 record versions match their content hashes" in " ".join(intact.stdout.split())  # type: ignore[attr-defined]
    engine = db.make_engine(url)
    with engine.begin() as conn:
        conn.execute(text("DROP TRIGGER record_version_no_update"))
        conn.execute(text("UPDATE record_version SET data = json_set(data, '$.last_name', 'Forged')"))
    engine.dispose()
    broken = _vigil("audit", "verify", "--db", url)
    said = " ".join(broken.stderr.split())  # type: ignore[attr-defined]
    assert broken.exit_code == 1, broken.output  # type: ignore[attr-defined]
    assert "stored record person P-1 version 1 (org default) does not match what was imported" in said, said
    assert "person P-1: version 1 (org default): its stored data does not match its content hash" in said
    as_json = json.loads(_vigil("audit", "verify", "--db", url, "--json").stdout)  # type: ignore[attr-defined]
    assert as_json["records_checked"] == 1 and as_json["first_broken"]["kind"] == "record"
