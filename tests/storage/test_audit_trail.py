"""The audit trail on SQLite and PostgreSQL: appends chain, the guard refuses edits, tampering is named."""

from __future__ import annotations

import datetime as dt
import json
import threading
from collections.abc import Iterator

import pytest
from sqlalchemy import Engine, exc, text
from typer.testing import CliRunner

from engine import clock, db
from engine.audit import service as audit
from engine.audit.chain import GENESIS_HASH
from engine.audit.schemas import AuditQuery
from engine.audit.tables import install_append_only_guard
from engine.errors import AuditChainBroken, InputError

T0 = dt.datetime(2026, 2, 1, 12, 0, tzinfo=dt.UTC)


def add(session: object, n: int, org: str = "org-1", **kw: object) -> None:
    for i in range(n):
        audit.append(
            session,  # type: ignore[arg-type]
            org_id=org,
            actor=str(kw.get("actor", "user:ann")),
            action="finding.transition",
            entity_type="finding",
            entity_id=f"F-{i}",
            payload={"to": "acknowledged", "i": i, "at": T0},
        )


@pytest.fixture
def filled(engine: Engine) -> Iterator[Engine]:
    """Five entries for org-1 (three in one transaction) and two for org-2, interleaved."""
    with clock.frozen(T0) as c:
        with db.unit_of_work(engine) as s:
            add(s, 3)
            add(s, 1, org="org-2")
        c.advance(dt.timedelta(hours=1))
        with db.unit_of_work(engine) as s:
            add(s, 2)
            add(s, 1, org="org-2")
    yield engine


def seq_of(engine: Engine, org: str, org_seq: int) -> int:
    with engine.connect() as conn:
        return int(
            conn.execute(
                text("SELECT seq FROM audit_entries WHERE org_id = :o AND org_seq = :n"),
                {"o": org, "n": org_seq},
            ).scalar_one()
        )


def tamper(engine: Engine, sql: str, **params: object) -> None:
    """Change rows behind the application's back, the way an intruder with DB access would."""
    with engine.begin() as conn:
        if engine.dialect.name == "postgresql":
            conn.execute(text("SET LOCAL session_replication_role = replica"))  # superuser: triggers off
        else:
            conn.execute(text("DROP TRIGGER IF EXISTS audit_entries_no_update"))
            conn.execute(text("DROP TRIGGER IF EXISTS audit_entries_no_delete"))
        conn.execute(text(sql), params)


def test_appends_form_one_chain_per_org(filled: Engine) -> None:
    with db.unit_of_work(filled) as s:
        report = audit.verify(s)
        entries = audit.list_entries(s, org_id="org-1", limit=100)
    assert report.ok and report.entries_checked == 7
    assert {h.org_id: h.entries for h in report.chains} == {"org-1": 5, "org-2": 2}
    assert [e.org_seq for e in entries] == [1, 2, 3, 4, 5]
    assert entries[0].prev_hash == GENESIS_HASH
    assert all(b.prev_hash == a.hash for a, b in zip(entries, entries[1:], strict=False))
    assert entries[0].at == T0 and entries[-1].at == T0 + dt.timedelta(hours=1)
    assert entries[0].payload["at"] == "2026-02-01T12:00:00.000000Z"


def test_entries_are_read_by_actor_action_family_and_entity_and_paged_back(engine: Engine) -> None:
    with db.unit_of_work(engine) as s:
        add(s, 3)
        add(s, 2, actor="user:bob")
        audit.append(s, org_id="org-1", actor="user:bob", action="findings_export.run", entity_type="report",
                     entity_id="R_1%", payload={})  # an action that only starts like the family's name
        add(s, 1, org="org-2")
    with db.unit_of_work(engine) as s:
        page = audit.entries_page(s, org_id="org-1", limit=4)
        assert [e.org_seq for e in page.items] == [6, 5, 4, 3] and page.older is not None
        rest = audit.entries_page(s, org_id="org-1", limit=4, where=AuditQuery(before=page.older))
        assert [e.org_seq for e in rest.items] == [2, 1] and rest.older is None
        bob = audit.entries_page(s, org_id="org-1", where=AuditQuery(actor="user:bob", action="finding"))
        assert [e.entity_id for e in bob.items] == ["F-1", "F-0"]  # finding.*, not findings_export.run
        # a bare username finds the user's entries (the web page's hint says "e.g. officer")
        assert [e.entity_id for e in audit.entries_page(
            s, org_id="org-1", where=AuditQuery(actor="bob", action="finding")).items] == ["F-1", "F-0"]
        assert audit.entries_page(s, org_id="org-1", where=AuditQuery(actor="user:bo")).items == []
        exact = audit.entries_page(s, org_id="org-1", where=AuditQuery(action="finding.transition"))
        assert len(exact.items) == 5
        # the same on SQLite and PostgreSQL whatever the case typed (a PostgreSQL parity pass, session 42)
        assert len(audit.entries_page(s, org_id="org-1", where=AuditQuery(action="FINDING.Transition")).items) == 5
        assert [e.entity_id for e in audit.entries_page(
            s, org_id="org-1", where=AuditQuery(actor="user:bob", action="FINDING")).items] == ["F-1", "F-0"]
        one = audit.entries_page(s, org_id="org-1", where=AuditQuery(entity="finding/F-2"))
        assert [(e.actor, e.entity_id) for e in one.items] == [("user:ann", "F-2")]
        assert len(audit.entries_page(s, org_id="org-1", where=AuditQuery(entity="report/R_1%")).items) == 1
        assert audit.chain_head(s, org_id="org-1").entries == 6
        assert audit.chain_head(s, org_id="org-1").head_hash == page.items[0].hash
        assert audit.chain_head(s, org_id="nobody").head_hash == GENESIS_HASH


def test_rolled_back_transaction_leaves_no_entry(engine: Engine) -> None:
    with pytest.raises(RuntimeError), db.unit_of_work(engine) as s:
        add(s, 2)
        raise RuntimeError("the change failed")
    with db.unit_of_work(engine) as s:
        assert audit.verify(s).entries_checked == 0


def test_bad_field_is_refused(engine: Engine) -> None:
    with pytest.raises(InputError), db.unit_of_work(engine) as s:
        audit.append(s, org_id="o", actor="", action="a", entity_type="t", entity_id="1", payload={})


@pytest.mark.parametrize("statement", ["UPDATE audit_entries SET actor = 'x'", "DELETE FROM audit_entries"])
def test_database_refuses_update_and_delete(filled: Engine, statement: str) -> None:
    with pytest.raises(exc.DBAPIError, match="append-only"), filled.begin() as conn:
        conn.execute(text(statement))


def test_postgres_refuses_truncate(filled: Engine) -> None:
    if filled.dialect.name != "postgresql":
        return  # SQLite has no TRUNCATE statement
    with pytest.raises(exc.DBAPIError, match="append-only"), filled.begin() as conn:
        conn.execute(text("TRUNCATE audit_entries"))


def test_edited_row_is_named(filled: Engine) -> None:
    target = seq_of(filled, "org-1", 3)
    tamper(filled, "UPDATE audit_entries SET payload = :p WHERE seq = :s", p='{"to": "waived"}', s=target)
    with db.unit_of_work(filled) as s:
        report = audit.verify(s)
    assert not report.ok
    assert report.first_broken is not None and report.first_broken.seq == target
    assert "altered" in report.first_broken.reason
    assert [b.seq for b in report.broken] == [target]  # org-2's chain and later entries are fine
    with pytest.raises(AuditChainBroken, match=f"seq {target}"):
        report.raise_if_broken()


def test_deleted_row_is_named_by_its_successor(filled: Engine) -> None:
    tamper(filled, "DELETE FROM audit_entries WHERE seq = :s", s=seq_of(filled, "org-1", 2))
    successor = seq_of(filled, "org-1", 3)
    with db.unit_of_work(filled) as s:
        report = audit.verify(s, org_id="org-1")
    assert report.first_broken is not None and report.first_broken.seq == successor
    assert "removed" in report.first_broken.reason


def test_cli_verify_exit_codes(sqlite_engine: Engine) -> None:
    from engine.cli.main import app

    url = sqlite_engine.url.render_as_string()
    with clock.frozen(T0), db.unit_of_work(sqlite_engine) as s:
        add(s, 3)
    runner = CliRunner()
    ok = runner.invoke(app, ["audit", "verify", "--db", url])
    assert ok.exit_code == 0, ok.output
    assert "intact: 3 entries" in ok.output
    log = runner.invoke(app, ["audit", "log", "--db", url, "--limit", "2", "--json"])
    assert log.exit_code == 0 and '"org_seq": 3' in log.output
    older = runner.invoke(app, ["audit", "log", "--db", url, "--entity", "finding/F-1", "--action", "finding",
                                "--actor", "user:ann", "--json"])
    assert older.exit_code == 0 and [e["org_seq"] for e in json.loads(older.output)] == [2], older.output
    assert runner.invoke(app, ["audit", "log", "--db", url, "--before", "0"]).exit_code == 2
    target = seq_of(sqlite_engine, "org-1", 2)
    tamper(sqlite_engine, "UPDATE audit_entries SET actor = 'user:mallory' WHERE seq = :s", s=target)
    bad = runner.invoke(app, ["audit", "verify", "--db", url])
    assert bad.exit_code == 1
    assert f"seq {target}" in bad.output
    as_json = runner.invoke(app, ["audit", "verify", "--db", url, "--json"])
    assert as_json.exit_code == 1 and f'"seq": {target}' in as_json.output


def test_cli_verify_on_a_database_without_the_table(tmp_path: object) -> None:
    import sqlite3

    from engine.cli.main import app

    sqlite3.connect(f"{tmp_path}/empty.db").close()  # a database that exists but holds no trail
    result = CliRunner().invoke(app, ["audit", "verify", "--db", f"sqlite:///{tmp_path}/empty.db"])
    assert result.exit_code == 2 and "no audit trail" in result.output  # not found: the --db names no trail
    missing = CliRunner().invoke(app, ["audit", "verify", "--db", f"sqlite:///{tmp_path}/typo.db"])
    assert missing.exit_code == 2 and "typo.db" in missing.stderr  # a mistyped path is not an empty trail


def test_concurrent_appends_never_fork_the_chain(engine: Engine) -> None:
    """Two writers on one org: the database serialises them (lock on PostgreSQL, write lock on SQLite)."""
    errors: list[BaseException] = []

    def writer(name: str) -> None:
        done = 0
        while done < 15:
            try:
                with db.unit_of_work(engine) as s:
                    s.execute(text("SELECT 1"))  # start the transaction before reading the tail
                    add(s, 1, actor=name)
                done += 1
            except exc.OperationalError:  # SQLite: stale snapshot or busy, the transaction is void
                continue
            except BaseException as e:  # pragma: no cover - reported below
                errors.append(e)
                return

    threads = [threading.Thread(target=writer, args=(f"user:{n}",)) for n in ("a", "b")]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    with db.unit_of_work(engine) as s:
        report = audit.verify(s)
    assert report.ok and report.entries_checked == 30


def test_guard_can_be_installed_by_a_migration(filled: Engine) -> None:
    """A migration that recreates the table calls the same helper; running it twice is harmless."""
    engine = filled
    with engine.begin() as conn:
        if engine.dialect.name == "postgresql":
            conn.execute(text("DROP TRIGGER audit_entries_append_only ON audit_entries"))
            conn.execute(text("DROP TRIGGER audit_entries_no_truncate ON audit_entries"))
        else:
            conn.execute(text("DROP TRIGGER IF EXISTS audit_entries_no_update"))
            conn.execute(text("DROP TRIGGER IF EXISTS audit_entries_no_delete"))
        install_append_only_guard(conn)
        install_append_only_guard(conn)
    with pytest.raises(exc.DBAPIError, match="append-only"), engine.begin() as conn:
        conn.execute(text("DELETE FROM audit_entries"))


def test_excerpt_is_contiguous_and_anchored(filled: Engine) -> None:
    with db.unit_of_work(filled) as s:
        later = audit.excerpt(
            s, org_id="org-1", start=T0 + dt.timedelta(minutes=30), end=T0 + dt.timedelta(days=1)
        )
        full = audit.excerpt(s, org_id="org-1", start=T0, end=T0 + dt.timedelta(days=1))
        as_of = audit.excerpt(s, org_id="org-1", start=T0, end=T0 + dt.timedelta(days=1), known_at=T0)
        empty = audit.excerpt(
            s, org_id="org-1", start=T0 + dt.timedelta(days=2), end=T0 + dt.timedelta(days=3)
        )
    assert [e.org_seq for e in later.entries] == [4, 5]
    assert later.anchor == full.entries[2].hash and later.head == full.head
    assert full.anchor == GENESIS_HASH
    assert [e.org_seq for e in as_of.entries] == [1, 2, 3]
    assert empty.entries == [] and empty.anchor == empty.head == full.head


@pytest.mark.parametrize(("column", "value"), [("payload", "{not json"), ("at", "yesterday"), ("org_seq", "x")])
def test_a_value_its_column_cannot_read_is_named_as_altered(sqlite_engine: Engine, column: str, value: str) -> None:
    """SQLite stores what a direct UPDATE writes; verify had raised (a traceback, a 500, or exit 2
    'invalid value for field org_seq') instead of naming the entry."""
    with clock.frozen(T0), db.unit_of_work(sqlite_engine) as s:
        add(s, 4)
    target = seq_of(sqlite_engine, "org-1", 2)
    tamper(sqlite_engine, f"UPDATE audit_entries SET {column} = :v WHERE seq = :s", v=value, s=target)
    with db.unit_of_work(sqlite_engine) as s:
        report = audit.verify(s)
    assert not report.ok and report.first_broken is not None
    named = next(b for b in report.broken if b.seq == target)
    assert "altered" in named.reason and repr(value)[:10] in named.reason
    if column != "org_seq":  # text sorts after numbers, so that row is walked last
        assert report.first_broken.seq == target, report.broken
    from engine.cli.main import app

    result = CliRunner().invoke(app, ["audit", "verify", "--db", sqlite_engine.url.render_as_string()])
    assert result.exit_code == 1, result.output
    assert f"audit_entry {target}: " in result.output


def test_an_entry_forged_into_the_middle_is_named_first(engine: Engine) -> None:
    """The forged row has the highest seq; the genuine entry it displaced (lower seq) had been
    named first. The first break is the first in chain order."""
    with clock.frozen(T0), db.unit_of_work(engine) as s:
        add(s, 5)
    tamper(engine, "UPDATE audit_entries SET org_seq = org_seq + 100 WHERE org_id = 'org-1' AND org_seq >= 3")
    tamper(engine, "UPDATE audit_entries SET org_seq = org_seq - 99 WHERE org_id = 'org-1' AND org_seq >= 103")
    with engine.begin() as conn:
        row = conn.execute(text("SELECT * FROM audit_entries WHERE org_id = 'org-1' AND org_seq = 2")).mappings().one()
        forged = {k: v for k, v in row.items() if k != "seq"} | {"org_seq": 3, "actor": "user:mallory",
                                                                  "hash": "f" * 64}
        if engine.dialect.name == "postgresql":
            forged["payload"] = json.dumps(forged["payload"]) if not isinstance(forged["payload"], str) \
                else forged["payload"]
        cols = ", ".join(forged)
        conn.execute(text(f"INSERT INTO audit_entries ({cols}) VALUES ({', '.join(':' + k for k in forged)})"),
                     forged)
    forged_seq = seq_of(engine, "org-1", 3)
    with db.unit_of_work(engine) as s:
        report = audit.verify(s, org_id="org-1")
    assert report.first_broken is not None and report.first_broken.seq == forged_seq, report.broken


def test_a_chain_cut_short_is_named_by_the_run_it_no_longer_records(engine: Engine,
                                                                    monkeypatch: pytest.MonkeyPatch) -> None:
    """The newest entries deleted, a chain still links up from its first entry to its new last one,
    and verify said "intact" (the security probe: a packet.build entry gone, its packet still listed).
    Runs and packets are written with their entries; one whose entry is gone names the cut."""
    from pathlib import Path

    from engine import pipeline
    from tests import factories as f

    fixtures = Path(__file__).resolve().parents[1] / "fixtures"
    monkeypatch.setenv("VIGIL_RULESETS_DIR", str(fixtures / "rulesets"))
    monkeypatch.setenv("VIGIL_POLICIES_DIR", str(fixtures / "policies"))
    with clock.frozen(T0), db.unit_of_work(engine) as s:
        pipeline.ingest_records(s, org_id="org-1", actor="t", source="t", stream=False, records=[
            f.establishment(), f.episode("EP1", "P1", "2026-01-05T09:00:00-06:00")])
        run = pipeline.evaluate(s, org_id="org-1", as_of=T0, actor="t").run
    with db.unit_of_work(engine) as s:
        assert pipeline.verify_audit(s, org_id="org-1").ok
    with engine.connect() as conn:
        cut = conn.execute(text("SELECT org_seq FROM audit_entries WHERE action = 'evaluation.run'")).scalar_one()
    tamper(engine, "DELETE FROM audit_entries WHERE org_id = 'org-1' AND org_seq >= :n", n=cut)
    with db.unit_of_work(engine) as s:
        assert audit.verify(s, org_id="org-1").ok  # the chain alone still links up
        report = pipeline.verify_audit(s, org_id="org-1")
    assert not report.ok and [b.org_seq for b in report.broken] == [None]
    assert f"evaluation run {run.id}" in report.broken[0].reason and "removed" in report.broken[0].reason
    with pytest.raises(AuditChainBroken, match="missing entries that other records name"):
        report.raise_if_broken()


def _two_findings(engine: Engine, monkeypatch: pytest.MonkeyPatch) -> None:
    """org-1 with the test rulesets, two new hires and one evaluation: a finding about each."""
    from pathlib import Path

    from engine import pipeline
    from tests import factories as f

    fixtures = Path(__file__).resolve().parents[1] / "fixtures"
    monkeypatch.setenv("VIGIL_RULESETS_DIR", str(fixtures / "rulesets"))
    monkeypatch.setenv("VIGIL_POLICIES_DIR", str(fixtures / "policies"))
    with clock.frozen(T0), db.unit_of_work(engine) as s:
        pipeline.ingest_records(s, org_id="org-1", actor="t", source="t", stream=False, records=[
            f.establishment(), f.episode("EP1", "P1", "2025-11-05T09:00:00-06:00"),
            f.episode("EP2", "P2", "2025-11-05T09:00:00-06:00")])
        pipeline.evaluate(s, org_id="org-1", as_of=T0, actor="t")


def test_a_findings_state_changed_behind_the_applications_back_is_named(engine: Engine,
                                                                        monkeypatch: pytest.MonkeyPatch) -> None:
    """Session 46's operations pass: `UPDATE finding SET state = 'false_positive'` on a critical
    finding kept it suppressed for good (the next evaluation kept the state and closed its task) and
    verify said intact. A state its history does not explain, or a history change by a person the
    chain does not hold, is named."""
    from engine import pipeline

    _two_findings(engine, monkeypatch)
    with engine.connect() as conn:
        first, second = conn.execute(text("SELECT id FROM finding ORDER BY subject_id")).scalars().all()
    with clock.frozen(T0), db.unit_of_work(engine) as s:  # a person's change, with its entry: fine
        pipeline.act_on_finding(s, org_id="org-1", finding_id=first, action="acknowledge", actor="user:ann")
    with db.unit_of_work(engine) as s:
        report = pipeline.verify_audit(s, org_id="org-1")
    assert report.ok and report.findings_checked == 2, report.broken
    tamper(engine, "UPDATE finding SET state = 'false_positive' WHERE id = :id", id=second)
    with db.unit_of_work(engine) as s:
        report = pipeline.verify_audit(s, org_id="org-1")
    (broken,) = report.broken
    assert (broken.kind, broken.record_id) == ("finding", second)
    assert "its state is false_positive but its history's last change moved it to open" in broken.reason
    with pytest.raises(AuditChainBroken, match=f"finding {second} .* does not match its history"):
        report.raise_if_broken()
    # the history forged too, as a person's change: the chain holds no entry for it
    tamper(engine, "INSERT INTO finding_event (finding_id, at, actor, kind, from_state, to_state, reason) "
                   "VALUES (:id, :at, 'user:ann', 'transition', 'open', 'false_positive', 'dup')", id=second, at=T0)
    with db.unit_of_work(engine) as s:
        (broken,) = pipeline.verify_audit(s, org_id="org-1").broken
    assert broken.record_id == second and "without its audit entry" in broken.reason
    # a person's change rewritten: acknowledged (with its entry) made false_positive, state and history
    tamper(engine, "UPDATE finding_event SET to_state = 'false_positive' WHERE finding_id = :id "
                   "AND to_state = 'acknowledged'", id=first)
    tamper(engine, "UPDATE finding SET state = 'false_positive' WHERE id = :id", id=first)
    with db.unit_of_work(engine) as s:
        rewritten = {b.record_id: b.reason for b in pipeline.verify_audit(s, org_id="org-1").broken}
    assert "went to false_positive, and the audit trail's to acknowledged" in rewritten[first], rewritten
    if engine.dialect.name == "sqlite":  # the PostgreSQL engine's schema is the fixture's, not the URL's
        from engine.cli.main import app

        result = CliRunner().invoke(app, ["audit", "verify", "--db", engine.url.render_as_string(hide_password=False),
                                          "--org", "org-1"])
        assert result.exit_code == 1 and second in result.output, result.output


def test_a_waiver_or_run_changed_behind_the_applications_back_is_named(engine: Engine,
                                                                       monkeypatch: pytest.MonkeyPatch) -> None:
    """Session 48's history pass: a waiver inserted by hand waived a critical finding at the next
    evaluation, a genuine waiver was re-pointed or extended, and a run's as-of and input hash were
    rewritten, all with verify saying intact. Each is now named against the entry written with it."""
    import datetime as dt

    from engine import pipeline
    from engine.findings.schemas import WaiverIn

    _two_findings(engine, monkeypatch)
    with engine.connect() as conn:
        rule, subject_type, subject = conn.execute(text(
            "SELECT rule_id, subject_type, subject_id FROM finding ORDER BY subject_id")).first()
    with clock.frozen(T0), db.unit_of_work(engine) as s:
        waiver, _ = pipeline.waive(s, org_id="org-1", actor="user:ann", data=WaiverIn(
            rule_id=rule, subject_type=subject_type, subject_id=subject, ends_at=T0 + dt.timedelta(days=30),
            reason="on leave", approver="CMO"))
    with db.unit_of_work(engine) as s:
        report = pipeline.verify_audit(s, org_id="org-1")
    assert report.ok, report.broken
    tamper(engine, "UPDATE waiver SET ends_at = :end, approver = 'nobody' WHERE id = :id",
           id=waiver.id, end=T0 + dt.timedelta(days=900))
    tamper(engine, "INSERT INTO waiver (id, org_id, rule_id, subject_type, subject_id, starts_at, ends_at, reason, "
                   "approver, created_by, created_at) VALUES ('W-forged', 'org-1', :rule, :st, 'P2', :at, :end, "
                   "'ok', 'CEO', 'cli:root', :at)", rule=rule, st=subject_type, at=T0,
           end=T0 + dt.timedelta(days=900))
    tamper(engine, "UPDATE evaluation_run SET input_hash = 'forged'")
    with db.unit_of_work(engine) as s:
        broken = {(b.kind, b.record_id): b.reason for b in pipeline.verify_audit(s, org_id="org-1").broken}
    assert "its approver, ends_at differ from what its waiver.create entry granted" in broken["waiver", waiver.id]
    assert "no waiver.create entry grants it" in broken["waiver", "W-forged"]
    runs = [reason for (kind, _), reason in broken.items() if kind == "run"]
    assert runs and all("its input_hash differ from its evaluation.run entry" in r for r in runs), broken
