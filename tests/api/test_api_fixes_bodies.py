"""Request bodies the routes cannot read say what the route takes, and every problem has a title for
people: the YAML routes had told a client to send JSON, a raw upload heard only `body.file: Field
required`, a body nested 100000 deep was a bare 400, a key given twice was silently last-wins
outside /records, and titles were Python class names."""

from __future__ import annotations

from typing import Any

import pytest

from engine.api import app as app_module
from engine.api.deps import api_routes
from tests.api import test_request_bodies
from tests.api.conftest import headers

task = test_request_bodies.task  # the fixture: one finding's task

YAML_ROUTES = ["/rulesets/validate", "/rulesets/preview", "/rulesets/publish"]


def _errors(r: Any) -> list[dict[str, Any]]:
    assert r.status_code == 422, r.text
    assert r.headers["content-type"].startswith("application/problem+json")
    body = r.json()
    assert body["title"] == "Invalid request" and body["code"] == "input.request", body
    return list(body["errors"])


@pytest.mark.parametrize("path", YAML_ROUTES)
@pytest.mark.parametrize("media", ["text/plain", "text/yaml"])
def test_an_empty_yaml_body_is_told_to_send_yaml_text_not_json(api: dict[str, Any], path: str, media: str) -> None:
    r = api["client"].post(path, headers=headers(api, "liaison") | {"content-type": media}, content=b"")
    (error,) = _errors(r)
    assert error["field"] == "body" and error["reason"].startswith("the body is empty: send "), error
    assert "(YAML) as text (Content-Type: text/plain)" in error["reason"] and "JSON" not in error["reason"]


@pytest.mark.parametrize("path", YAML_ROUTES)
@pytest.mark.parametrize("content", [b"", b"framework: demo\n", b"{}", b'"s"', b"[]", b"1"])
def test_yaml_sent_as_json_is_told_to_send_text(api: dict[str, Any], path: str, content: bytes) -> None:
    """Following the old advice ("send the body as JSON") gave "not valid JSON"; and JSON that
    parsed to a string (`"s"`) was taken as the draft's text (200) while `{}` was refused."""
    r = api["client"].post(path, headers=headers(api, "liaison") | {"content-type": "application/json"},
                           content=content)
    (error,) = _errors(r)
    assert error["field"] == "body", error
    assert "as text with Content-Type: text/plain, not as JSON (this request said application/json)" in \
        error["reason"], error


@pytest.mark.parametrize(("content", "found"), [(b"- a\n- b\n", "a list"), (b"just text\n", "the text 'just text'")])
def test_a_draft_whose_top_level_is_no_mapping_is_told_what_it_must_be(api: dict[str, Any], content: bytes,
                                                                        found: str) -> None:
    """It had said `"reason": "top level"`."""
    r = api["client"].post("/rulesets/validate", headers=headers(api, "liaison") | {"content-type": "text/plain"},
                           content=content)
    assert r.status_code == 200 and r.json()["ok"] is False, r.text
    (problem,) = r.json()["problems"]
    assert problem["reason"] == f"the top level is {found}: it must be a mapping of the ruleset's fields (framework, " \
                                "version, title, effective_from, authority, rules, ...)"


def test_yaml_that_is_not_utf8_is_told_so_not_to_send_json(api: dict[str, Any]) -> None:
    r = api["client"].post("/rulesets/validate", headers=headers(api, "liaison") | {"content-type": "text/plain"},
                           content=b"title: Caf\xe9\n")
    assert _errors(r) == [{"field": "body", "reason": "not UTF-8 text: send a ruleset draft (YAML) as UTF-8 text "
                                                      "(Content-Type: text/plain)"}]


def test_yaml_text_under_text_yaml_is_read(api: dict[str, Any]) -> None:
    r = api["client"].post("/rulesets/validate", headers=headers(api, "liaison") | {"content-type": "text/yaml"},
                           content=b"framework: demo\n")
    assert r.status_code == 200 and r.json()["ok"] is False, r.text  # read and judged, not refused as a body


@pytest.mark.parametrize("media", ["application/x-ndjson", "application/json", None])
def test_a_raw_upload_is_told_to_send_multipart_with_a_file_part(api: dict[str, Any], task: dict[str, Any],
                                                                 media: str | None) -> None:
    h = headers(api, "officer") | ({"content-type": media} if media else {})
    for path in ("/records/import", f"/tasks/{task['id']}/attachments", "/packets/verify"):
        (error,) = _errors(api["client"].post(path, headers=h, content=b'{"type": "person", "id": "P1"}\n'))
        said = f"this request said {media}" if media else "this request gave no Content-Type"
        assert error == {"field": "body.file", "reason": "send the body as multipart/form-data with a part named "
                                                         f"file ({said})"}, (path, error)


def test_a_multipart_body_without_its_file_part_says_which_part(api: dict[str, Any]) -> None:
    r = api["client"].post("/records/import", headers=headers(api, "officer"), files={"other": ("a.json", b"[]")})
    assert _errors(r) == [{"field": "body.file", "reason": "a part named file is required in the "
                                                         "multipart/form-data body"}]


def test_a_json_body_nested_too_deeply_is_a_422_on_body_saying_so(api: dict[str, Any]) -> None:
    deep = b"[" * 100000 + b"]" * 100000
    r = api["client"].post("/records", headers=headers(api, "officer") | {"content-type": "application/json"},
                           content=deep)
    (error,) = _errors(r)
    assert error["field"] == "body" and error["reason"].startswith("not valid JSON: arrays and objects nested too "
                                                                   "deeply to read"), error
    assert "levels" in error["reason"] and r.json()["instance"] == "/records"


def test_every_json_body_holding_a_number_too_long_to_read_is_a_422_on_body_saying_so(api: dict[str, Any]) -> None:
    """5,000 digits (past Python's int-string limit) had been a bare `400 http.400` "There was an error
    parsing the body", with no errors, on every route that reads JSON."""
    c, checked = api["client"], 0
    for prefix, route in api_routes(api["app"]):
        field = route.body_field
        if field is None or field.field_info.media_type != "application/json":
            continue
        url = prefix + route.path_format.replace("{", "").replace("}", "")
        for method in route.methods:
            r = c.request(method, url, headers=headers(api, "admin") | {"content-type": "application/json"},
                          content=b'{"zz": ' + b"1" * 5000 + b"}")
            assert _errors(r) == [{"field": "body", "reason": "not valid JSON: a number of 5,000 digits, more than "
                                                              "can be read (at most 4,300 digits); no field takes a "
                                                              "number near that size"}], (method, url)
            checked += 1
    assert checked >= 20


# -- a key given twice ------------------------------------------------------------------------------


def test_a_comment_naming_its_text_twice_is_refused_naming_the_key(api: dict[str, Any], task: dict[str, Any]) -> None:
    c, h = api["client"], headers(api, "officer") | {"content-type": "application/json"}
    finding = task["finding_id"]
    before = c.get(f"/findings/{finding}", headers=h).json()["history"]
    r = c.post(f"/findings/{finding}/comments", headers=h, content=b'{"text": "a", "text": "b"}')
    assert r.status_code == 422 and r.json()["title"] == "Invalid input", r.text
    assert r.json()["errors"] == [{"reason": "the key 'text' is given twice in one object; send each field once",
                                   "field": "body.text"}]
    assert c.get(f"/findings/{finding}", headers=h).json()["history"] == before  # nothing was written
    r = c.post(f"/tasks/{task['id']}/notes", headers=h, content=b'{"text": "a", "text": "b"}')
    assert r.status_code == 422 and r.json()["errors"][0]["field"] == "body.text", r.text


def test_a_key_twice_in_a_nested_object_names_its_path(api: dict[str, Any]) -> None:
    r = api["client"].post("/packets", headers=headers(api, "officer") | {"content-type": "application/json"},
                           content=b'{"framework": "demo", "redaction": {"x": 1, "x": 2}, "from": "2026-01-01"}')
    assert r.status_code == 422 and r.json()["errors"][0]["field"] == "body.redaction.x", r.text


def test_every_json_body_route_refuses_a_repeated_key(api: dict[str, Any]) -> None:
    """One check for every route that reads a JSON body (an anonymous caller hears 401 first)."""
    c = api["client"]
    checked = 0
    for prefix, route in api_routes(api["app"]):
        field = route.body_field
        if field is None or field.field_info.media_type != "application/json":
            continue
        url = prefix + route.path_format.replace("{", "").replace("}", "")
        for method in route.methods:
            h = {"content-type": "application/json"}
            body = b'{"zz": 1, "zz": 2}'
            anonymous = c.request(method, url, headers=h, content=body)
            if url != "/auth/login":
                assert anonymous.status_code == 401, (url, anonymous.text)
            r = c.request(method, url, headers=h | headers(api, "admin"), content=body)
            assert r.status_code == 422 and r.json()["errors"][0]["field"].endswith("zz"), (method, url, r.text)
            checked += 1
    assert checked >= 20


def test_records_keep_naming_the_record_index_of_a_repeated_key(api: dict[str, Any]) -> None:
    r = api["client"].post("/records", headers=headers(api, "officer") | {"content-type": "application/json"},
                           content=b'[{"type": "person", "id": "P1", "id": "P2"}]')
    assert r.status_code == 422 and r.json()["errors"] == [
        {"reason": "the key 'id' is given twice in one object; send each field once", "field": "id", "index": 0}]


# -- titles and instance ----------------------------------------------------------------------------


def test_titles_summarise_the_kind_of_problem(api: dict[str, Any]) -> None:
    c = api["client"]
    said = {
        "not found": c.get("/findings/F-nope", headers=headers(api, "officer")),
        "forbidden": c.get("/users", headers=headers(api, "officer")),
        "anonymous": c.get("/findings"),
        "no route": c.get("/nowhere", headers=headers(api, "officer")),
        "method": c.put("/findings", headers=headers(api, "officer")),
        "query": c.get("/findings", headers=headers(api, "officer"), params={"nope": "1"}),
    }
    titles = {name: r.json()["title"] for name, r in said.items()}
    assert titles == {"not found": "Not found", "forbidden": "Forbidden", "anonymous": "Authentication required",
                      "no route": "Not Found", "method": "Method Not Allowed", "query": "Invalid input"}, titles
    assert said["forbidden"].json()["code"] == "permission_denied"  # the code is as it was


def test_a_body_over_the_limit_has_a_title_and_its_instance(api: dict[str, Any],
                                                            monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(app_module, "MAX_BODY_BYTES", 10)
    r = api["client"].post("/records", headers=headers(api, "officer"), json=[{"type": "person", "id": "P1"}])
    assert r.status_code == 413, r.text
    assert {k: r.json()[k] for k in ("title", "code", "instance")} == {
        "title": "Request body too large", "code": "input.too_large", "instance": "/records"}


def test_a_chunked_upload_over_the_limit_is_a_413_not_the_parsers_400(api: dict[str, Any], task: dict[str, Any],
                                                                       monkeypatch: pytest.MonkeyPatch) -> None:
    """With no Content-Length the bytes are counted as they come; the multipart parser caught the
    limit's stop and FastAPI answered its own `400 http.400` (a chunked JSON body was a 413)."""
    monkeypatch.setattr(app_module, "MAX_BODY_BYTES", 1000)
    boundary = "b0undary"
    part = (f'--{boundary}\r\nContent-Disposition: form-data; name="file"; filename="a.ndjson"\r\n'
            "Content-Type: application/x-ndjson\r\n\r\n").encode()

    def chunks() -> Any:
        yield part
        for _ in range(50):
            yield b'{"type": "person", "id": "P1"}\n' * 4
        yield f"\r\n--{boundary}--\r\n".encode()

    for path in ("/records/import", f"/tasks/{task['id']}/attachments"):
        r = api["client"].post(path, headers=headers(api, "officer") | {
            "content-type": f"multipart/form-data; boundary={boundary}"}, content=chunks())
        assert "content-length" not in r.request.headers
        assert r.status_code == 413 and r.json()["code"] == "input.too_large", (path, r.text)
        assert r.json()["instance"] == path


def test_a_small_route_takes_a_small_body_and_an_upload_route_a_large_one() -> None:
    """Security probe (session 42): an anonymous POST /auth/login of 40 MB of `{}` took the server
    from 0.5 GB to 2.7 GB before its 422, under the one 200 MB limit every route had."""
    from engine.api.body_limit import limit_for

    mb = 1024 * 1024
    assert limit_for("/auth/login", 200 * mb) == limit_for("/ui/login", 200 * mb) == mb
    assert limit_for("/tasks/T-1/notes", 200 * mb) == mb
    assert limit_for("/rulesets/validate", 200 * mb) == 16 * mb
    for path in ("/records", "/records/import", "/packets/verify", "/tasks/T-1/attachments", "/ui/tasks/T-1/evidence"):
        assert limit_for(path, 200 * mb) == 200 * mb, path
    assert limit_for("/auth/login", 10) == 10  # never above the upload limit


def test_an_anonymous_sign_in_over_a_megabyte_is_refused_unread(api: dict[str, Any]) -> None:
    body = b'{"username": "admin", "password": "x", "z": [' + b"{}," * 400_000 + b"{}]}"
    r = api["client"].post("/auth/login", content=body, headers={"Content-Type": "application/json"})
    assert r.status_code == 413 and r.json()["code"] == "input.too_large", r.text


def test_a_part_the_upload_does_not_read_is_named_not_dropped(api: dict[str, Any], task: dict[str, Any]) -> None:
    """API pass: `-F format=roster` beside the file was dropped without a word (the file imported as
    generic records), where `?format=xml` is a 422; an unknown part is named, with where it belongs."""
    h = headers(api, "officer")
    r = api["client"].post("/records/import", headers=h, data={"format": "roster"},
                           files={"file": ("a.ndjson", b'{"type": "person", "id": "P-NEW-9"}\n')})
    assert r.status_code == 422 and [(e["field"], e["reason"]) for e in r.json()["errors"]] == [
        ("format", "not a part of this upload (it reads file, map); format, type, checked_at, leie_supplement go "
                   "in the query string")], r.text
    assert api["client"].get("/records/person/P-NEW-9", headers=h).status_code == 404  # nothing imported
    for path in (f"/tasks/{task['id']}/attachments", "/packets/verify"):
        extra = api["client"].post(path, headers=h, data={"bogus": "1"}, files={"file": ("a.txt", b"x")})
        assert extra.status_code == 422 and [e["field"] for e in extra.json()["errors"]] == ["bogus"], extra.text


def test_a_file_part_sent_as_a_text_field_is_told_to_send_a_file(api: dict[str, Any], task: dict[str, Any]) -> None:
    """Session 46's staff pass: `curl -F 'file=hello world'` had answered "Expected UploadFile,
    received: <class 'str'>"."""
    for path in ("/records/import", f"/tasks/{task['id']}/attachments", "/packets/verify"):
        r = api["client"].post(path, headers=headers(api, "officer"), files={"file": (None, "hello world")})
        assert r.status_code == 422, r.text
        (error,) = _errors(r)
        assert error["field"] in ("body.file", "body.file.0") and error["reason"] == (
            "the part named file must be a file, sent with a filename (curl -F 'file=@FILE'), not a text field")


def test_a_multipart_body_the_parser_cannot_read_says_why(api: dict[str, Any], task: dict[str, Any]) -> None:
    """Session 48's REST pass: a file name of 5,000 characters had answered a bare 400 "Invalid
    multipart data." with no errors; the parser's reason is there to be said."""
    for path in ("/records/import", f"/tasks/{task['id']}/attachments", "/packets/verify"):
        r = api["client"].post(path, headers=headers(api, "officer"), files={"file": ("a" * 5000 + ".txt", b"x")})
        assert r.status_code == 422, r.text
        (error,) = _errors(r)
        assert error["field"] == "body" and "Maximum header size exceeded" in error["reason"], r.text
        assert "shorten the file name" in error["reason"]


@pytest.mark.parametrize(("content_type", "said"), [
    ("multipart/form-data", "the multipart/form-data body could not be read: Missing boundary in multipart."),
    ("multipart/form-data; boundary=b", "the multipart/form-data body could not be read: "),
])
def test_every_multipart_body_the_parser_refuses_is_a_422_on_body_never_a_400(
        api: dict[str, Any], task: dict[str, Any], content_type: str, said: str) -> None:
    """API pass: Starlette's own refusals ("Missing boundary in multipart.") were a `400 http.400`,
    a status the OpenAPI document declares nowhere; every body that cannot be read is a 422 on body."""
    for path in ("/records/import", f"/tasks/{task['id']}/attachments", "/packets/verify"):
        r = api["client"].post(path, headers=headers(api, "officer") | {"content-type": content_type},
                               content=b"--b\r\nContent-Disposition: form-data\r\n\r\nx\r\n--b--\r\n")
        (error,) = _errors(r)
        assert error["field"] == "body" and error["reason"].startswith(said), (path, error)


def test_a_repeated_key_does_not_hide_the_batchs_other_problems(api: dict[str, Any]) -> None:
    """Session 46's records pass: a key given twice in record 1 was the only problem named; record
    0's date of birth that does not exist went unsaid, as the file import would have said it."""
    r = api["client"].post("/records", headers=headers(api, "officer") | {"content-type": "application/json"},
                           content=b'{"records": [{"type": "person", "id": "API-2", "dob": "1990-02-30"}, '
                                   b'{"type": "person", "id": "API-3", "id": "API-4"}]}')
    assert r.status_code == 422, r.text
    said = [(e.get("index"), e.get("field")) for e in r.json()["errors"]]
    assert said == [(0, "dob"), (1, "id")], r.text
    people = api["client"].get("/records/person/API-2", headers=headers(api, "officer"))
    assert people.status_code == 404  # nothing was imported


@pytest.mark.parametrize("path", YAML_ROUTES)
def test_a_draft_with_a_number_too_long_to_read_is_refused_as_a_yaml_bomb_is(api: dict[str, Any], path: str) -> None:
    """`a: 111...` of 5,000 digits (past Python's int-string limit) had answered a 500 on all three."""
    h = headers(api, "liaison") | {"content-type": "text/plain"}
    r = api["client"].post(path, headers=h, content=("framework: demo\na: " + "1" * 5000 + "\n").encode())
    problems = r.json()["problems"] if path == "/rulesets/validate" else r.json()["errors"]
    assert r.status_code == (200 if path == "/rulesets/validate" else 422), r.text
    (problem,) = problems
    assert problem["reason"].startswith("a number of 5,000 digits: too long to read") and problem["line"] == 2
