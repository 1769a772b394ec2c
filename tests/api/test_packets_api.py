"""Packets over REST: build from the database, list, download, verify; auditors see their grant only."""

from __future__ import annotations

import datetime as dt
import hashlib
import io
import os
import stat
import urllib.parse
import zipfile
from pathlib import Path
from typing import Any

import pytest

from tests import factories as f
from tests.api.conftest import ORG, headers


def _with_a_second_framework(root: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The fixture rulesets (framework demo) and a copy named `other`, for a packet outside the grant."""
    import os
    import shutil

    shutil.copytree(os.environ["VIGIL_RULESETS_DIR"], root)
    (root / "other").mkdir()
    text = (root / "demo" / "demo-1.0.0.yaml").read_text(encoding="utf-8")
    (root / "other" / "other-1.0.0.yaml").write_text(text.replace("framework: demo", "framework: other", 1),
                                                     encoding="utf-8")
    monkeypatch.setenv("VIGIL_RULESETS_DIR", str(root))


def test_build_list_download_and_verify(api: dict[str, Any], tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("VIGIL_PACKET_DIR", str(tmp_path / "packets"))
    monkeypatch.setenv("VIGIL_KEY_DIR", str(tmp_path / "keys"))
    _with_a_second_framework(tmp_path / "rulesets", monkeypatch)
    c, h = api["client"], headers(api, "officer")
    assert (
        c.post(
            "/records",
            headers=h,
            json={"records": [f.establishment(), f.episode("EP1", "P1", "2026-02-01T09:00:00-06:00")]},
        ).status_code
        == 200
    )
    assert c.post("/evaluations", headers=h, json={"as_of": "2026-03-10T00:00:00Z"}).status_code == 201
    built = c.post("/packets", headers=h, json={"framework": "demo", "from": "2026-01-01", "to": "2026-12-31"})
    assert built.status_code == 201, built.text
    pid = built.json()["id"]
    other = c.post("/packets", headers=h, json={"framework": "other", "from": "2026-01-01", "to": "2026-12-31"})
    assert other.status_code == 201
    auditor = headers(api, "auditor")
    listed = c.get("/packets", headers=auditor).json()
    assert [p["id"] for p in listed] == [pid]  # the grant is for framework demo only
    zip_bytes = c.get(f"/packets/{pid}/download", headers=auditor)
    assert zip_bytes.status_code == 200 and zip_bytes.content[:2] == b"PK"
    assert c.get(f"/packets/{other.json()['id']}/download", headers=auditor).status_code == 404
    report = c.post("/packets/verify", headers=auditor, files={"file": ("p.zip", zip_bytes.content, "application/zip")})
    assert report.status_code == 200 and report.json()["ok"] is True
    tampered = bytearray(zip_bytes.content)
    tampered[len(tampered) // 2] ^= 0x01
    bad = c.post("/packets/verify", headers=auditor, files={"file": ("p.zip", bytes(tampered), "application/zip")})
    assert bad.status_code in (200, 409) and (bad.status_code == 409 or bad.json()["ok"] is False)
    assert c.get("/packets/public-key", headers=auditor).json()["fingerprint"].startswith("sha256:")


@pytest.mark.parametrize("body, field", [({"framework": "dmeo", "from": "2026-01-01", "to": "2026-12-31"}, "framework"),
                                         ({"framework": "demo", "from": "2026-12-31", "to": "2026-01-01"}, "to")])
def test_a_packet_of_nothing_is_refused(api: dict[str, Any], tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                        body: dict[str, str], field: str) -> None:
    monkeypatch.setenv("VIGIL_PACKET_DIR", str(tmp_path / "packets"))
    monkeypatch.setenv("VIGIL_KEY_DIR", str(tmp_path / "keys"))
    r = api["client"].post("/packets", headers=headers(api, "officer"), json=body)
    assert r.status_code == 422, r.text
    assert r.json()["errors"][0]["field"] == field
    assert not list((tmp_path / "packets").glob("*.zip"))



def _evaluated(api: dict[str, Any], tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> dict[str, str]:
    """Packets and keys in tmp_path, one establishment's records evaluated; the officer's headers."""
    monkeypatch.setenv("VIGIL_PACKET_DIR", str(tmp_path / "packets"))
    monkeypatch.setenv("VIGIL_KEY_DIR", str(tmp_path / "keys"))
    c, h = api["client"], headers(api, "officer")
    records = [f.establishment(), f.episode("EP1", "P1", "2026-02-01T09:00:00-06:00")]
    assert c.post("/records", headers=h, json={"records": records}).status_code == 200
    assert c.post("/evaluations", headers=h, json={"as_of": "2026-03-10T00:00:00Z"}).status_code == 201
    return h


def test_the_server_verifies_against_the_practice_key_not_the_embedded_one(
    api: dict[str, Any], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A packet signed by another key carries that key; checked against it, a forgery would pass."""
    h = _evaluated(api, tmp_path, monkeypatch)
    c, auditor = api["client"], headers(api, "auditor")
    period = {"framework": "demo", "from": "2026-01-01", "to": "2026-12-31"}
    monkeypatch.setenv("VIGIL_KEY_DIR", str(tmp_path / "forger-keys"))  # a server with someone else's key
    forged = c.post("/packets", headers=h, json=period)
    assert forged.status_code == 201, forged.text
    forger_fingerprint = forged.json()["fingerprint"]
    zip_bytes = c.get(f"/packets/{forged.json()['id']}/download", headers=auditor).content
    # the forger's server is another deployment: its packet is not in the practice's database (were it,
    # a practice key other than the one that signed it would be refused, packet.signing_key.unexpected)
    from sqlalchemy import delete

    from engine.db import unit_of_work
    from engine.packets.tables import PacketRow

    with unit_of_work(api["engine"]) as s:
        s.execute(delete(PacketRow))
    monkeypatch.setenv("VIGIL_KEY_DIR", str(tmp_path / "keys"))  # the practice's own
    practice_fingerprint = c.get("/packets/public-key", headers=auditor).json()["fingerprint"]
    assert practice_fingerprint != forger_fingerprint

    r = c.post("/packets/verify", headers=auditor, files={"file": ("p.zip", zip_bytes, "application/zip")})
    assert r.status_code == 200, r.text
    report = r.json()
    assert report["ok"] is False and report["key_source"] == "given"
    assert report["fingerprint"] == practice_fingerprint
    mismatch = [p for p in report["problems"] if p["file"] == "signature/signer.pub.pem"]
    assert mismatch and forger_fingerprint in mismatch[0]["reason"] and practice_fingerprint in mismatch[0]["reason"]


def test_the_portal_tells_the_auditor_to_verify_against_the_practice_key(
    api: dict[str, Any], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("VIGIL_KEY_DIR", str(tmp_path / "keys"))
    c, auditor = api["client"], headers(api, "auditor")
    key = c.get("/packets/public-key", headers=auditor).json()
    page = c.get("/ui/audit", headers=auditor)
    assert page.status_code == 200
    html = page.text
    assert "vigil packet verify PACKET.zip --public-key practice.pub.pem" in html
    assert 'download="practice.pub.pem"' in html and 'id="public-key-download"' in html
    link = html.split('id="public-key-download" href="', 1)[1].split('"', 1)[0]
    assert urllib.parse.unquote(link.removeprefix("data:application/x-pem-file,")) == key["pem"]
    assert key["fingerprint"] in html


def test_a_ruleset_edited_under_its_version_after_the_runs_ships_what_the_runs_used(
    api: dict[str, Any], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The run kept the bytes it evaluated (ruleset_blob): a packet built after the file changed under
    the same version ships those, not the file on disk, and runs.json names their hash."""
    h = _evaluated(api, tmp_path, monkeypatch)
    ruleset = Path(os.environ["VIGIL_RULESETS_DIR"]) / "demo" / "demo-1.0.0.yaml"
    original = ruleset.read_bytes()
    ruleset.write_bytes(original + b"# edited after the run, version unchanged\n")

    r = api["client"].post("/packets", headers=h, json={"framework": "demo", "from": "2026-01-01", "to": "2026-12-31"})
    assert r.status_code == 201, r.text
    (zip_path,) = (tmp_path / "packets").glob("*.zip")
    with zipfile.ZipFile(zip_path) as zf:
        shipped = [n for n in zf.namelist() if n.endswith("rulesets/demo/demo-1.0.0.yaml")]
        assert len(shipped) == 1 and zf.read(shipped[0]) == original
        assert not any("@" in n for n in zf.namelist() if "/rulesets/" in n)


def test_a_ruleset_edited_after_runs_whose_bytes_were_never_kept_stops_the_build(
    api: dict[str, Any], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Runs made before the bytes were kept (an older database): the file on disk is not what they
    recorded, and shipping it would put other bytes under runs.json's hash. Nothing is built."""
    from sqlalchemy import delete

    from engine.db import unit_of_work
    from engine.rules.tables import RulesetBlobRow

    h = _evaluated(api, tmp_path, monkeypatch)
    with unit_of_work(api["engine"]) as s:
        s.execute(delete(RulesetBlobRow))
    ruleset = Path(os.environ["VIGIL_RULESETS_DIR"]) / "demo" / "demo-1.0.0.yaml"
    before = hashlib.sha256(ruleset.read_bytes()).hexdigest()
    ruleset.write_bytes(ruleset.read_bytes() + b"# edited after the run, version unchanged\n")
    after = hashlib.sha256(ruleset.read_bytes()).hexdigest()

    r = api["client"].post("/packets", headers=h, json={"framework": "demo", "from": "2026-01-01", "to": "2026-12-31"})
    assert r.status_code == 409, r.text
    body = r.json()
    assert body["code"] == "integrity.ruleset_changed"
    (detail,) = body["errors"]
    assert detail["file"] == "rulesets/demo/demo-1.0.0.yaml"
    assert "1.0.0" in detail["reason"] and before in detail["reason"] and after in detail["reason"]
    assert not list((tmp_path / "packets").glob("*.zip"))


def test_a_packet_file_replaced_or_moved_since_it_was_built_is_not_served(
    api: dict[str, Any], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A CLI build stays at its --out path: replaced, the portal had served whatever lay there;
    deleted, the download was a 500."""
    h = _evaluated(api, tmp_path, monkeypatch)
    built = api["client"].post("/packets", headers=h, json={"framework": "demo", "from": "2026-01-01",
                                                             "to": "2026-12-31"})
    assert built.status_code == 201, built.text
    pid = built.json()["id"]
    (zip_path,) = (tmp_path / "packets").glob("*.zip")
    original = zip_path.read_bytes()
    zip_path.write_bytes(b"hello")
    replaced = api["client"].get(f"/packets/{pid}/download", headers=h)
    assert replaced.status_code == 409 and replaced.json()["code"] == "integrity.packet_file", replaced.text
    assert str(tmp_path) not in replaced.text
    zip_path.write_bytes(original[:-1] + bytes([original[-1] ^ 1]))  # same size, one bit
    assert api["client"].get(f"/packets/{pid}/download", headers=h).status_code == 409
    zip_path.unlink()
    gone = api["client"].get(f"/packets/{pid}/download", headers=h)
    assert gone.status_code == 404 and gone.json()["code"] == "packet.file_missing", gone.text
    zip_path.write_bytes(original)
    assert api["client"].get(f"/packets/{pid}/download", headers=h).content == original


def test_a_packet_store_that_cannot_be_written_is_named_by_its_setting(
        api: dict[str, Any], tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Operations probe: a read-only or full packet folder was a 500 naming nothing."""
    blocker = tmp_path / "a-file"
    blocker.write_text("not a folder")
    monkeypatch.setenv("VIGIL_PACKET_DIR", str(blocker / "packets"))
    monkeypatch.setenv("VIGIL_KEY_DIR", str(tmp_path / "keys"))
    c, h = api["client"], headers(api, "officer")
    assert c.post("/records", headers=h, json={"records": [f.establishment(), f.episode(
        "EP1", "P1", "2026-02-01T09:00:00-06:00")]}).status_code == 200
    assert c.post("/evaluations", headers=h, json={"as_of": "2026-03-10T00:00:00Z"}).status_code == 201
    r = c.post("/packets", headers=h, json={"framework": "demo", "from": "2026-01-01", "to": "2026-12-31"})
    assert r.status_code == 500 and r.json()["code"] == "server.packet_store", r.text
    assert "VIGIL_PACKET_DIR" in r.json()["detail"] and str(tmp_path) not in r.text
    assert c.get("/packets", headers=h).json() == []  # nothing recorded


def test_the_list_takes_a_framework_as_the_cli_does_and_an_auditor_stays_in_the_grant(
        api: dict[str, Any], tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """`GET /packets?framework=` was refused ("it takes: none") while `vigil packet list --framework`
    filtered; an auditor's other framework must neither widen the list nor say what it holds."""
    _with_a_second_framework(tmp_path / "rulesets", monkeypatch)
    h = _evaluated(api, tmp_path, monkeypatch)
    c = api["client"]
    ids = {}
    for framework in ("demo", "other"):
        r = c.post("/packets", headers=h, json={"framework": framework, "from": "2026-01-01", "to": "2026-12-31"})
        assert r.status_code == 201, r.text
        ids[framework] = r.json()["id"]
    for framework, packet_id in ids.items():
        listed = c.get("/packets", headers=h, params={"framework": framework})
        assert listed.status_code == 200, listed.text
        assert [p["id"] for p in listed.json()] == [packet_id]
    assert {p["id"] for p in c.get("/packets", headers=h).json()} == set(ids.values())
    typo = c.get("/packets", headers=h, params={"framework": "dmeo"})
    assert typo.status_code == 422 and typo.json()["errors"][0]["field"] == "framework", typo.text

    auditor = headers(api, "auditor")  # the grant is for framework demo
    assert [p["id"] for p in c.get("/packets", headers=auditor, params={"framework": "demo"}).json()] == [ids["demo"]]
    outside = c.get("/packets", headers=auditor, params={"framework": "other"})
    assert outside.status_code == 403, outside.text
    assert outside.json()["code"] == "permission_denied.outside_grant" and ids["other"] not in outside.text
    unknown = c.get("/packets", headers=auditor, params={"framework": "dmeo"})
    assert unknown.status_code == 403 and "other" not in unknown.text  # no other framework is named to them


def test_two_packets_in_one_verify_request_are_a_422_on_file(
        api: dict[str, Any], tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Two `file` parts: the last had been checked alone and answered, the other passed over, so a
    tampered packet sent first went unchecked beside a genuine one."""
    monkeypatch.setenv("VIGIL_KEY_DIR", str(tmp_path / "keys"))
    c, auditor = api["client"], headers(api, "auditor")
    files = [("file", ("tampered.zip", b"PK\x05\x06" + b"\0" * 18, "application/zip")),
             ("file", ("genuine.zip", b"PK\x05\x06" + b"\0" * 18, "application/zip"))]
    r = c.post("/packets/verify", headers=auditor, files=files)
    assert r.status_code == 422, r.text
    assert [e["field"] for e in r.json()["errors"]] == ["file"], r.text



def _zip_of(entries: dict[str, bytes], *, link: str | None = None) -> bytes:
    """A zip of `entries`, and a symbolic link entry named `link` (to /etc/passwd) when given."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as zf:
        for name, data in entries.items():
            zf.writestr(name, data)
        if link is not None:
            info = zipfile.ZipInfo(link)
            info.create_system, info.external_attr = 3, (stat.S_IFLNK | 0o777) << 16
            zf.writestr(info, "/etc/passwd")
    return buffer.getvalue()


def test_an_upload_that_cannot_be_checked_lists_the_problem_in_errors(
        api: dict[str, Any], tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The problem had been in `detail` only, with `"errors": []`: every problem is listed in
    `errors` with where it is (the `file` part, by the name it was sent under)."""
    monkeypatch.setenv("VIGIL_KEY_DIR", str(tmp_path / "keys"))
    r = api["client"].post("/packets/verify", headers=headers(api, "auditor"),
                           files={"file": ("sent.zip", b"not a zip at all", "application/zip")})
    assert r.status_code == 422, r.text
    (error,) = r.json()["errors"]
    assert error["field"] == "file" and error["file"] == "sent.zip" and "not a readable zip file" in error["reason"]
    assert "/tmp" not in r.text and str(tmp_path) not in r.text


@pytest.mark.parametrize("upload, entry, said", [
    (_zip_of({"../../evil.txt": b"x"}), "../../evil.txt", "unsafe entry name"),
    (_zip_of({}, link="bag/data/index.html"), "bag/data/index.html", "symbolic link entry")],
    ids=["an entry outside", "a symbolic link"])
def test_a_packet_with_an_entry_no_packet_holds_fails_verification_naming_it(
        api: dict[str, Any], tmp_path: Path, monkeypatch: pytest.MonkeyPatch, upload: bytes, entry: str,
        said: str) -> None:
    """Session 46's operations pass: a zip with a `../escape.txt` entry exited 2, as a file that is no
    zip does; it is a tampered packet, whose failures are named (exit 1, `ok: false`), and the entry
    is not extracted."""
    monkeypatch.setenv("VIGIL_KEY_DIR", str(tmp_path / "keys"))
    r = api["client"].post("/packets/verify", headers=headers(api, "auditor"),
                           files={"file": ("sent.zip", upload, "application/zip")})
    assert r.status_code == 200, r.text
    report = r.json()
    assert report["ok"] is False
    assert any(p["file"] == entry and said in p["reason"] for p in report["problems"]), report["problems"]
    assert not (tmp_path / "evil.txt").exists() and "/tmp" not in r.text


def test_a_rebuild_of_a_stored_packet_leaves_the_stored_one_as_built(
    api: dict[str, Any], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Session 46's auditor pass: a reproducibility check from the command line (the same period and
    --as-of, written to a scratch file) had pointed the portal at the scratch file and named the
    checker as its builder; after a key rotation, the same build over REST replaced the signed
    bytes auditors held."""
    from engine import clock, db
    from engine.packet_sources import DatabaseSources
    from engine.packets import service as packet_service

    h = _evaluated(api, tmp_path, monkeypatch)
    c = api["client"]
    made = c.post("/packets", headers=h, json={"framework": "demo", "from": "2026-01-01", "to": "2026-12-31"})
    assert made.status_code == 201, made.text
    first = made.json()
    body = {"framework": "demo", "from": "2026-01-01", "to": "2026-12-31", "as_of": first["as_of"]}
    (stored,) = (tmp_path / "packets").glob("*.zip")
    signed = stored.read_bytes()
    with clock.frozen(clock.now() + dt.timedelta(hours=1)), db.unit_of_work(api["engine"]) as session:
        check = packet_service.build(session, org_id=ORG, framework="demo",
                                     date_from=dt.date(2026, 1, 1), date_to=dt.date(2026, 12, 31),
                                     as_of=dt.datetime.fromisoformat(first["as_of"]), out=tmp_path / "check.zip",
                                     signer=packet_service.practice_signer(session), actor="cli:checker",
                                     sources=DatabaseSources())
    assert check.packet_id == first["id"] and check.kept == str(stored)
    assert (tmp_path / "check.zip").read_bytes() == signed  # reproducible, byte for byte
    (tmp_path / "check.zip").unlink()
    (listed,) = c.get("/packets", headers=h).json()
    assert (listed["built_by"], listed["built_at"], listed["sha256"]) == (
        first["built_by"], first["built_at"], first["sha256"])
    assert c.get(f"/packets/{first['id']}/download", headers=h).content == signed
    # signed with another key now: the same request answers with the packet already stored, untouched
    with db.unit_of_work(api["engine"]) as session:
        packet_service.rotate_signing_key(session, actor="test")
    again = c.post("/packets", headers=h, json=body)
    assert again.status_code == 201, again.text
    assert again.json()["sha256"] == first["sha256"] and stored.read_bytes() == signed
    assert sorted(p.name for p in (tmp_path / "packets").iterdir()) == [stored.name]
