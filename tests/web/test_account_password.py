"""The page where a signed-in user changes their own password (the same service as POST /me/password)."""

from __future__ import annotations

from typing import Any

from fastapi.testclient import TestClient

from tests.web.conftest import csrf_of, login


def _post(client: TestClient, **fields: str) -> Any:
    page = client.get("/ui/account/password")
    assert page.status_code == 200
    return client.post("/ui/account/password", data={"csrf_token": csrf_of(page.text), **fields},
                       follow_redirects=False)


def test_a_user_changes_their_password_on_the_page(web: dict[str, Any]) -> None:
    client, other = login(web["app"], "staff"), login(web["app"], "staff")
    page = client.get("/ui/account/password")
    assert page.status_code == 200 and 'autocomplete="new-password"' in page.text
    r = _post(client, current_password="staff-password", new_password="a-new-passphrase",
              confirm_password="a-new-passphrase")
    assert r.status_code == 303, r.text[:500]
    assert client.get("/ui/tasks").status_code == 200  # still signed in
    assert other.get("/ui/tasks", follow_redirects=False).status_code == 303  # the other session ended
    login(web["app"], "staff", "a-new-passphrase")


def test_the_page_says_what_to_fix(web: dict[str, Any]) -> None:
    client = login(web["app"], "officer")
    for fields, said in (
            ({"current_password": "not-the-password", "new_password": "a-new-passphrase",
              "confirm_password": "a-new-passphrase"}, "Current password: not this account&#39;s password"),
            ({"current_password": "officer-password", "new_password": "a-new-passphrase",
              "confirm_password": "another-one-typed"}, "New password again: type the same new password twice"),
            ({"current_password": "officer-password", "new_password": " " * 12, "confirm_password": " " * 12},
             "New password: a password of spaces only is not a password")):
        r = _post(client, **fields)
        assert r.status_code == 422 and said in r.text, r.text[:3000]
        assert 'aria-invalid="true"' in r.text
    login(web["app"], "officer")  # unchanged


def test_the_page_needs_a_session_and_the_csrf_token(web: dict[str, Any]) -> None:
    anonymous = TestClient(web["app"])
    assert anonymous.get("/ui/account/password", follow_redirects=False).status_code == 303
    client = login(web["app"], "auditor")
    r = client.post("/ui/account/password", data={"current_password": "auditor-password",
                                                  "new_password": "a-new-passphrase",
                                                  "confirm_password": "a-new-passphrase"}, follow_redirects=False)
    assert r.status_code in (303, 403)
    login(web["app"], "auditor")  # unchanged


def test_every_role_finds_the_page_from_the_header(web: dict[str, Any]) -> None:
    for role in ("admin", "officer", "liaison", "auditor", "staff"):
        client = login(web["app"], role)
        home = client.get("/ui/", follow_redirects=True)
        assert 'href="/ui/account/password"' in home.text, role
