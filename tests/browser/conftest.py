"""A real server for the browser tests: the small synthetic practice, imported and evaluated twice
(two weeks apart, so the dashboard has a trend) under a frozen clock, the demo users, a second
HIPAA ruleset version in a temporary rulesets folder (for the liaison's diff), one evidence packet,
then `vigil serve` on a free port of 127.0.0.1 in a child process. Chromium is Debian's.

Screenshots of each main page go to tests/artifacts/ on every run (gitignored).
"""

from __future__ import annotations

import datetime as dt
import os
import re
import shutil
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import httpx
import pytest
from playwright.sync_api import expect, sync_playwright

from engine import clock, pipeline
from engine import db as dbmod
from engine.auth import service as auth_service
from engine.auth.schemas import GrantIn
from engine.demo.users import ensure_demo_users
from tests.factories import grant_expiry

REPO = Path(__file__).resolve().parents[2]
ARTIFACTS = REPO / "tests" / "artifacts"
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
                 "--disable-sync", "--no-first-run", "--disable-quic"]
ORG = "demo"
ANCHOR = dt.date(2026, 6, 15)
AS_OF = dt.datetime(2026, 6, 15, 16, 0, tzinfo=dt.UTC)
NEW_HIPAA = "2026.2.0"


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _second_hipaa_version(rulesets: Path) -> None:
    """hipaa 2026.2.0: effective next year, a shorter risk-analysis age, one retitled rule."""
    source = rulesets / "hipaa" / "hipaa-2026.1.0.yaml"
    text = source.read_text(encoding="utf-8")
    text = text.replace("version: 2026.1.0", f"version: {NEW_HIPAA}", 1)
    text, changed = re.subn(r"^effective_from: \d{4}-\d{2}-\d{2}$", "effective_from: 2027-01-01", text, count=1,
                            flags=re.M)
    assert changed == 1, "the hipaa ruleset's effective_from line was not found"
    text = re.sub(r"(ra_max_age_days: \{type: int, unit: days, default: )365", r"\g<1>180", text, count=1)
    text = text.replace("title: Security risk analysis is current and its findings are being worked",
                        "title: Security risk analysis is current (within 180 days) and its findings are worked", 1)
    (rulesets / "hipaa" / f"hipaa-{NEW_HIPAA}.yaml").write_text(text, encoding="utf-8")


def _prepare(tmp: Path, env: dict[str, str]) -> None:
    from engine.demo.generator import write_practice

    data = tmp / "data"
    write_practice(out=data, size="small", seed=1, anchor=ANCHOR)
    engine = dbmod.make_engine(env["DATABASE_URL"])
    dbmod.init_db(engine)
    with clock.frozen(AS_OF - dt.timedelta(days=14)), dbmod.unit_of_work(engine) as s:
        pipeline.ingest_files(s, org_id=ORG, paths=sorted(data.glob("*.ndjson")), actor="demo", stream=False)
    for when in (AS_OF - dt.timedelta(days=14), AS_OF):
        with clock.frozen(when), dbmod.unit_of_work(engine) as s:
            pipeline.evaluate(s, org_id=ORG, as_of=when, actor="demo", trigger="demo")
    with dbmod.unit_of_work(engine) as s:
        ensure_demo_users(s, org_id=ORG)
        auth_service.grant_auditor(s, username="auditor", actor="test", data=GrantIn(
            framework="hipaa", window_from=dt.date(2026, 1, 1), window_to=dt.date(2026, 6, 30),
            expires_at=grant_expiry()))
    engine.dispose()


def _wait(url: str, proc: subprocess.Popen[bytes], log: Path) -> None:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"the server exited with {proc.returncode}:\n{log.read_text()[-3000:]}")
        try:
            if httpx.get(url + "/health", timeout=1).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.2)
    raise RuntimeError(f"the server did not answer within 60 s:\n{log.read_text()[-3000:]}")


def _build_packet(base: str) -> dict[str, Any]:
    with httpx.Client(base_url=base, timeout=120) as c:
        assert c.post("/auth/login", json={"username": "officer", "password": "officer-demo-pass"}).status_code == 200
        r = c.post("/packets", json={"framework": "hipaa", "from": "2026-01-01", "to": ANCHOR.isoformat()})
        assert r.status_code == 201, r.text
        return dict(r.json())


@pytest.fixture(scope="session")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Any]]:
    if not Path(CHROMIUM).exists():
        if os.environ.get("CI") == "true":
            pytest.fail(f"{CHROMIUM} is missing in CI (apt-get install chromium)", pytrace=False)
        pytest.skip(f"{CHROMIUM} is not installed")
    tmp = tmp_path_factory.mktemp("browser")
    rulesets = tmp / "rulesets"
    shutil.copytree(REPO / "rulesets", rulesets)
    _second_hipaa_version(rulesets)
    # the server's settings are all this fixture's: a VIGIL_* variable left set in this process (a
    # fixture that failed before undoing its monkeypatch) had given it the test policies, and four
    # pages failed in CI for a reason far from them
    env = {k: v for k, v in os.environ.items() if not k.startswith("VIGIL_")}
    env.update(DATABASE_URL=f"sqlite:///{tmp / 'vigil.db'}", VIGIL_ORG=ORG, VIGIL_RULESETS_DIR=str(rulesets),
               VIGIL_POLICIES_DIR=str(REPO / "policies"), VIGIL_EVIDENCE_DIR=str(tmp / "evidence"),
               VIGIL_PACKET_DIR=str(tmp / "packets"), VIGIL_KEY_DIR=str(tmp / "keys"),
               VIGIL_PRACTICE_PARAMS=str(tmp / "practice.yaml"))  # the liaison's pages write there
    with pytest.MonkeyPatch.context() as mp:  # the set-up in this process reads the same settings
        for name in [k for k in os.environ if k.startswith("VIGIL_")]:
            mp.delenv(name)
        for name, value in env.items():
            if name.startswith("VIGIL_"):
                mp.setenv(name, value)
        _prepare(tmp, env)
    port = _free_port()
    base = f"http://127.0.0.1:{port}"
    log = tmp / "server.log"
    with log.open("wb") as out:
        proc = subprocess.Popen([sys.executable, "-m", "engine.cli.main", "serve", "--host", "127.0.0.1",
                                 "--port", str(port)], cwd=tmp, env=env, stdout=out, stderr=subprocess.STDOUT)
    try:
        _wait(base, proc, log)
        packet = _build_packet(base)
        ARTIFACTS.mkdir(parents=True, exist_ok=True)
        yield {"base": base, "packet": packet, "tmp": tmp, "log": log}
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


@pytest.fixture(scope="session")
def browser(server: dict[str, Any]) -> Iterator[Any]:

    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS)
        yield b
        b.close()


@contextmanager
def page_sized(browser: Any, server: dict[str, Any], width: int, height: int) -> Iterator[Any]:
    """A page in a fresh browser context (no cookies) with a screen of this size, closed after."""
    context = browser.new_context(viewport={"width": width, "height": height}, base_url=server["base"],
                                  accept_downloads=True)
    context.set_default_timeout(30_000)
    expect.set_options(timeout=30_000)
    try:
        yield context.new_page()
    finally:
        context.close()


@pytest.fixture
def new_page(browser: Any, server: dict[str, Any]) -> Iterator[Any]:
    """A fresh browser context (no cookies) at a laptop's screen size."""
    with page_sized(browser, server, 1366, 768) as page:
        yield from _watched(page)


def _watched(page: Any) -> Iterator[Any]:
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(f"script error: {exc}"))
    page.on("response", lambda r: errors.append(f"{r.status} for {r.url}")
            if r.status >= 400 and r.request.resource_type not in ("document",) else None)
    yield page
    assert not errors, f"script errors or failed stylesheets, scripts or images: {errors}"


def shot(page: Any, name: str) -> None:
    page.screenshot(path=str(ARTIFACTS / f"{name}.png"), full_page=True)
