"""HEAD /health answers as GET does, without the body: the operations guide checks a server with
`curl -skI https://HOST/health`, which had been answered 405."""

from __future__ import annotations

from typing import Any


def test_head_health_answers_like_get_without_a_body(api: dict[str, Any]) -> None:
    c = api["client"]
    got, head = c.get("/health"), c.head("/health")
    assert head.status_code == got.status_code == 200
    assert head.content == b""
    assert head.headers["content-type"] == got.headers["content-type"]
    assert head.headers["content-length"] == got.headers["content-length"]
    assert "head" not in c.get("/openapi.json").json()["paths"]["/health"]
