"""Packets over REST: build from the database, list, download, verify; auditors see their grant only."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from tests import factories as f
from tests.api.conftest import headers


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

