"""`vigil packet build --input`, `verify` and `key`: exit codes and what they name."""

from __future__ import annotations

import json
import zipfile
from collections.abc import Callable
from pathlib import Path

import pytest
from typer.testing import CliRunner

from engine.cli.main import app
from engine.packets.schemas import PacketInput

runner = CliRunner()


@pytest.fixture(autouse=True)
def _no_database_around(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """No DATABASE_URL and no ./vigil.db: a missing key is made only if the database they name holds no
    packet, so a developer's own database must not decide whether these tests get a key."""
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("DATABASE_URL", raising=False)


def build(packet_input: PacketInput, tmp_path: Path, *extra: str) -> tuple[Path, Path]:
    source = tmp_path / "input.json"
    source.write_text(packet_input.model_dump_json())
    out = tmp_path / "packet.zip"
    keys = tmp_path / "keys"
    result = runner.invoke(
        app, ["packet", "build", "--input", str(source), "--out", str(out), "--key-dir", str(keys), *extra]
    )
    assert result.exit_code == 0, result.output
    return out, keys


def test_build_verify_and_key(packet_input: PacketInput, tmp_path: Path) -> None:
    out, keys = build(packet_input, tmp_path)
    key = runner.invoke(app, ["packet", "key", "--key-dir", str(keys), "--json"])
    assert key.exit_code == 0
    info = json.loads(key.output)
    assert info["public_key_pem"].startswith("-----BEGIN PUBLIC KEY-----")
    pem = tmp_path / "practice.pub.pem"
    plain = runner.invoke(app, ["packet", "key", "--key-dir", str(keys), "--out", str(pem)])
    assert info["fingerprint"] in plain.output and pem.read_text() == info["public_key_pem"]
    ok = runner.invoke(app, ["packet", "verify", str(out), "--public-key", str(pem)])
    assert ok.exit_code == 0, ok.output
    assert "verified" in ok.output and "given key" in ok.output
    said = " ".join(ok.output.split())
    assert "it says it is Example Family Practice (org-demo)'s packet for hipaa, 2026-01-01/2026-03-31" in said
    as_json = runner.invoke(app, ["packet", "verify", str(out), "--json"])
    assert as_json.exit_code == 0 and json.loads(as_json.output)["ok"] is True


def test_with_no_database_anywhere_key_makes_the_first_key(tmp_path: Path) -> None:
    keys = tmp_path / "keys"
    made = runner.invoke(app, ["packet", "key", "--key-dir", str(keys)])
    assert made.exit_code == 0, made.output
    assert (keys / "packet-signing.key").is_file() and "fingerprint: sha256:" in made.stdout


def test_a_named_database_that_cannot_be_opened_makes_no_key(packet_input: PacketInput, tmp_path: Path,
                                                              monkeypatch: pytest.MonkeyPatch) -> None:
    """Making a key without asking the database is what handed auditors a key no packet was signed with."""
    keys, gone = tmp_path / "keys", f"sqlite:///{tmp_path / 'gone.db'}"
    source = tmp_path / "input.json"
    source.write_text(packet_input.model_dump_json())
    key = runner.invoke(app, ["packet", "key", "--key-dir", str(keys), "--db", gone])
    monkeypatch.setenv("DATABASE_URL", gone)
    offline = runner.invoke(app, ["packet", "build", "--input", str(source), "--out", str(tmp_path / "p.zip"),
                                  "--key-dir", str(keys)])
    for result in (key, offline):
        assert result.exit_code == 2, result.output
        assert "cannot open database" in result.stderr and "gone.db" in result.stderr
    assert not (keys / "packet-signing.key").exists() and not (tmp_path / "p.zip").exists()


def test_verify_failure_exits_1_naming_the_file(
    packet_input: PacketInput, tmp_path: Path, rezip: Callable[[Path, Path, Callable[[Path], None]], Path]
) -> None:
    out, _ = build(packet_input, tmp_path)

    def tamper(tree: Path) -> None:
        (target,) = tree.glob("*/data/runs.json")
        target.write_text(target.read_text().replace("durable", "python_"))

    bad = rezip(out, tmp_path / "bad.zip", tamper)
    result = runner.invoke(app, ["packet", "verify", str(bad)])
    assert result.exit_code == 1
    assert "data/runs.json" in result.output
    as_json = runner.invoke(app, ["packet", "verify", str(bad), "--json"])
    assert as_json.exit_code == 1
    assert any(p["file"].endswith("data/runs.json") for p in json.loads(as_json.output)["problems"])


def test_a_download_cut_short_exits_2_as_docs_packets_says(packet_input: PacketInput, tmp_path: Path) -> None:
    """Black-box pass: docs/packets.md said "exit 0 ok, 1 naming each failure", and a truncated
    download exits 2 (no zip to check: bad input, as POST /packets/verify answers 422)."""
    out, _ = build(packet_input, tmp_path)
    cut = tmp_path / "cut.zip"
    cut.write_bytes(out.read_bytes()[: out.stat().st_size // 2])
    result = runner.invoke(app, ["packet", "verify", str(cut)])
    assert result.exit_code == 2 and "not a readable zip file" in result.stderr
    docs = (Path(__file__).resolve().parents[3] / "docs" / "packets.md").read_text()
    assert "# exit 0 ok, 1 naming each failure, 2 no zip" in docs and "download it again" in docs


def test_redact_flag_applies_to_an_input_file(packet_input: PacketInput, tmp_path: Path) -> None:
    out, _ = build(packet_input, tmp_path, "--redact-phi", "--json")
    with zipfile.ZipFile(out) as zf:
        findings = next(n for n in zf.namelist() if n.endswith("data/findings.json"))
        assert b"P-20077" not in zf.read(findings)


def test_bad_input_file_exits_2(tmp_path: Path) -> None:
    source = tmp_path / "input.json"
    source.write_text('{"org_id": "o", "framework": "hipaa"}')
    result = runner.invoke(
        app, ["packet", "build", "--input", str(source), "--out", str(tmp_path / "p.zip"), "--key-dir", str(tmp_path)]
    )
    assert result.exit_code == 2 and "period_from" in result.output


def test_building_from_the_demo_practice_database(tmp_path: Path) -> None:
    """End to end: the synthetic practice, imported and evaluated, packed from the database."""
    import datetime as dt

    import bagit

    from engine import clock, db, pipeline
    from engine.demo.generator import write_practice

    data = tmp_path / "data"
    write_practice(out=data, size="small", seed=1, anchor=dt.date(2026, 11, 30))
    url = f"sqlite:///{tmp_path / 'demo.db'}"
    engine = db.make_engine(url)
    db.init_db(engine)
    as_of = dt.datetime(2026, 11, 30, 17, tzinfo=dt.UTC)
    with clock.frozen(as_of):
        with db.unit_of_work(engine) as s:
            pipeline.ingest_files(s, org_id="demo", paths=sorted(data.glob("*.ndjson")), actor="t", stream=False)
        with db.unit_of_work(engine) as s:
            pipeline.evaluate(s, org_id="demo", as_of=as_of, actor="t", frameworks=["hipaa"])
    out = tmp_path / "hipaa.zip"
    with clock.frozen(dt.datetime(2026, 11, 30, 19, tzinfo=dt.UTC)):  # after the --as-of below: not the wall clock
        result = runner.invoke(
            app,
            [
                "packet",
                "build",
                "--framework",
                "hipaa",
                "--from",
                "2026-01-01",
                "--to",
                "2026-12-31",
                "--org",
                "demo",
                "--db",
                url,
                "--out",
                str(out),
                "--key-dir",
                str(tmp_path / "k"),
                "--as-of",
                "2026-11-30T18:00:00Z",
                "--json",
            ],
            env={"VIGIL_ACTOR": "audit-prep"},
        )
    assert result.exit_code == 0, result.output
    listed = runner.invoke(app, ["packet", "list", "--org", "demo", "--db", url, "--json"])
    assert [p["built_by"] for p in json.loads(listed.stdout)] == ["audit-prep"], listed.output  # not the login
    verified = runner.invoke(app, ["packet", "verify", str(out), "--json"])
    assert verified.exit_code == 0, verified.output
    with zipfile.ZipFile(out) as zf:
        zf.extractall(tmp_path / "x")
        findings = json.loads(zf.read(next(n for n in zf.namelist() if n.endswith("data/findings.json"))))
    bag_dir = next(p for p in (tmp_path / "x").iterdir() if (p / "bagit.txt").exists())
    bagit.Bag(str(bag_dir)).validate(fast=False)
    items = findings["findings"]
    assert len(items) >= 10 and all(f["rule_id"].startswith("HIPAA-") for f in items)


def test_a_packet_of_nothing_is_refused_with_exit_2(tmp_path: Path) -> None:
    common = ["packet", "build", "--org", "demo", "--db", f"sqlite:///{tmp_path / 'v.db'}", "--out",
              str(tmp_path / "p.zip"), "--key-dir", str(tmp_path / "k")]
    misspelt = runner.invoke(app, [*common, "--framework", "hipa", "--from", "2025-01-01", "--to", "2025-12-31"])
    backwards = runner.invoke(app, [*common, "--framework", "hipaa", "--from", "2025-12-31", "--to", "2025-01-01"])
    assert (misspelt.exit_code, backwards.exit_code) == (2, 2)
    assert "no ruleset for 'hipa'" in " ".join(misspelt.stderr.split())
    assert "the period ends (2025-01-01) before it starts" in " ".join(backwards.stderr.split())
    assert not (tmp_path / "p.zip").exists()


def test_verify_with_the_embedded_key_says_it_proves_integrity_not_the_signer(
    packet_input: PacketInput, tmp_path: Path
) -> None:
    out, keys = build(packet_input, tmp_path)
    plain = runner.invoke(app, ["packet", "verify", str(out)])
    assert plain.exit_code == 0, plain.output
    assert "embedded key" in plain.output and "intact, not who signed it" in plain.output
    assert "--public-key practice.pub.pem" in plain.output
    pem = tmp_path / "practice.pub.pem"
    assert runner.invoke(app, ["packet", "key", "--key-dir", str(keys), "--out", str(pem)]).exit_code == 0
    pinned = runner.invoke(app, ["packet", "verify", str(out), "--public-key", str(pem)])
    assert pinned.exit_code == 0 and "not who signed it" not in pinned.output


def test_verify_of_a_renamed_packet_folder_exits_1_naming_the_signed_id(
    packet_input: PacketInput, tmp_path: Path, rezip: Callable[[Path, Path, Callable[[Path], None]], Path]
) -> None:
    out, _ = build(packet_input, tmp_path)
    signed_id = packet_input.packet_id()

    def rename(tree: Path) -> None:
        (tree / signed_id).rename(tree / "hipaa-20250101-20251231-0000000000")

    result = runner.invoke(app, ["packet", "verify", str(rezip(out, tmp_path / "renamed.zip", rename))])
    assert result.exit_code == 1, result.output
    assert "verified" not in result.output
    assert "hipaa-20250101-20251231-0000000000" in result.output and signed_id in result.output
