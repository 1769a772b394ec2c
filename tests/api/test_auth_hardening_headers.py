"""Every API response says `Cache-Control: no-store` and `nosniff` unless it sets its own caching
(records with names and birth dates, a login's answer, the one-time token, downloads), HTTPS gets
Strict-Transport-Security, and /docs and /redoc load nothing from outside Vigil, under a CSP."""

from __future__ import annotations

import re
from typing import Any

import pytest
from fastapi.testclient import TestClient

from tests import factories as f
from tests.api.conftest import headers


def _no_store(r: Any) -> None:
    assert r.headers.get("cache-control") == "no-store", (r.request.url, r.headers.get("cache-control"))
    assert r.headers.get("x-content-type-options") == "nosniff", r.request.url


def test_api_answers_are_not_stored_nor_sniffed(api: dict[str, Any]) -> None:
    c, h = api["client"], headers(api, "officer")
    assert c.post("/records", headers=h, json={"records": [f.establishment()]}).status_code == 200
    login = c.post("/auth/login", json={"username": "officer", "password": "officer-password"})
    token = c.post("/tokens", json={"name": "script"}, cookies=login.cookies)
    assert token.status_code == 201 and token.json()["token"].startswith("vgl_")
    key = c.get("/packets/public-key", headers=h)  # a download
    for r in (c.get("/records", headers=h), c.get("/me", headers=h), login, token, key,
              c.get("/findings/nothing", headers=h), c.get("/me"), c.get("/openapi.json"), c.get("/health")):
        _no_store(r)


def test_a_response_that_sets_its_own_caching_keeps_it(api: dict[str, Any]) -> None:
    css = api["client"].get("/ui/static/vigil.css")
    assert css.status_code == 200 and css.headers["cache-control"] == "public, max-age=3600"
    assert css.headers["x-content-type-options"] == "nosniff"


@pytest.mark.parametrize("base, hsts", [("https://vigil.example", True), ("http://vigil.example", False)])
def test_https_answers_say_strict_transport_security(api: dict[str, Any], base: str, hsts: bool) -> None:
    r = TestClient(api["app"], base_url=base).get("/health")
    assert ("strict-transport-security" in r.headers) is hsts
    if hsts:
        assert r.headers["strict-transport-security"].startswith("max-age=")


@pytest.mark.parametrize("path", ["/docs", "/redoc"])
def test_the_api_docs_load_only_from_vigil(api: dict[str, Any], path: str) -> None:
    c = api["client"]
    page = c.get(path)
    assert page.status_code == 200
    assert not re.search(r"""(src|href)=["']?(https?:)?//""", page.text), "an asset from another site"
    csp = page.headers["content-security-policy"]
    assert "default-src 'self'" in csp and "script-src 'self'" in csp
    assert ("'sha256-" in csp) is (path == "/docs")  # Swagger UI's one inline script, by its hash
    assert "http" not in csp and "frame-ancestors 'none'" in csp
    assets = re.findall(r"""(?:src|href)="(/docs/assets/[^"]+)\"""", page.text)
    assert assets
    for url in assets:
        r = c.get(url)
        assert r.status_code == 200 and len(r.content) > 10_000, url
        assert r.headers["content-type"].startswith(("text/javascript", "text/css"))


def test_only_the_docs_own_files_are_served(api: dict[str, Any]) -> None:
    for name in ("favicon.png", "..%2F..%2Fengine%2Fdb.py", "core.py"):
        assert api["client"].get(f"/docs/assets/{name}").status_code == 404
