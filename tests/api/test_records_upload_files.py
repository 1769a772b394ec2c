"""POST /records/import takes several `file` parts and imports them together, as `vigil import A B`
does; a repeated part had been bound to the last file alone and the others dropped without a word."""

from __future__ import annotations

import json
from typing import Any

from tests.api.conftest import headers


def _ndjson(*records: dict[str, Any]) -> bytes:
    return "".join(json.dumps(r) + "\n" for r in records).encode()


def test_several_files_are_imported_together(api: dict[str, Any]) -> None:
    c = api["client"]
    one = _ndjson({"type": "person", "id": "MF-1", "last_name": "One"})
    two = _ndjson({"type": "person", "id": "MF-2", "last_name": "Two"})
    done = c.post("/records/import", headers=headers(api, "officer"),
                  files=[("file", ("mf1.ndjson", one, "application/x-ndjson")),
                         ("file", ("mf2.ndjson", two, "application/x-ndjson"))])
    assert done.status_code == 200, done.text
    assert sorted(done.json()["sources"]) == ["mf1.ndjson", "mf2.ndjson"]
    for rid in ("MF-1", "MF-2"):
        assert c.get(f"/records/person/{rid}", headers=headers(api, "officer")).status_code == 200


def test_a_bad_second_file_imports_nothing_and_is_named(api: dict[str, Any]) -> None:
    c = api["client"]
    good = _ndjson({"type": "person", "id": "MF-3", "last_name": "Three"})
    bad = b'{"type": "person", "id": "MF-4", "dob": "not a date"}\n'
    refused = c.post("/records/import", headers=headers(api, "officer"),
                     files=[("file", ("good.ndjson", good, "application/x-ndjson")),
                            ("file", ("bad.ndjson", bad, "application/x-ndjson"))])
    assert refused.status_code == 422, refused.text
    assert any(e.get("file") == "bad.ndjson" for e in refused.json()["errors"]), refused.json()
    assert "/tmp" not in refused.text
    assert c.get("/records/person/MF-3", headers=headers(api, "officer")).status_code == 404


def test_a_roster_is_one_file(api: dict[str, Any]) -> None:
    c = api["client"]
    refused = c.post("/records/import", headers=headers(api, "officer"), params={"format": "roster"},
                     files=[("file", ("a.csv", b"x\n", "text/csv")), ("file", ("b.csv", b"x\n", "text/csv"))])
    assert refused.status_code == 422 and "one file" in refused.json()["detail"]


def test_a_record_whose_id_holds_a_slash_is_read_with_its_history(api: dict[str, Any]) -> None:
    """Ids are any string (CONTRACT.md); "2026/P-1" had been imported but answered 404 by URL. The
    history route is matched first, so an id's own ".../history" asks for its history."""
    c = api["client"]
    done = c.post("/records/import", headers=headers(api, "officer"),
                  files=[("file", ("p.ndjson", _ndjson({"type": "person", "id": "2026/P-1", "last_name": "Slash"}),
                                   "application/x-ndjson"))])
    assert done.status_code == 200, done.text
    record = c.get("/records/person/2026/P-1", headers=headers(api, "officer"))
    assert record.status_code == 200 and record.json()["id"] == "2026/P-1"
    history = c.get("/records/person/2026/P-1/history", headers=headers(api, "officer"))
    assert history.status_code == 200 and [v["id"] for v in history.json()] == ["2026/P-1"]
    assert c.get("/records/person/2026", headers=headers(api, "officer")).status_code == 404


def test_an_unknown_type_names_the_type_field_and_the_nearest_type(api: dict[str, Any]) -> None:
    """`?type=persn` had been a 422 with `errors: []`: no field, no hint."""
    c = api["client"]
    refused = c.post("/records/import?type=persn", headers=headers(api, "officer"),
                     files=[("file", ("p.ndjson", b'{"id": "MF-9", "last_name": "Nine"}\n', "application/x-ndjson"))])
    assert refused.status_code == 422, refused.text
    (error,) = refused.json()["errors"]
    assert error["field"] == "type" and error["reason"].startswith("did you mean person?"), error


def test_a_record_given_twice_with_other_content_is_refused_naming_both_lines(api: dict[str, Any]) -> None:
    c = api["client"]
    twice = _ndjson({"type": "person", "id": "MF-8", "last_name": "Bob"}, {"type": "person", "id": "MF-8",
                                                                             "last_name": "Rob"})
    refused = c.post("/records/import", headers=headers(api, "officer"),
                     files=[("file", ("twice.ndjson", twice, "application/x-ndjson"))])
    assert refused.status_code == 422, refused.text
    (error,) = refused.json()["errors"]
    assert (error["line"], error["record_id"]) == (2, "MF-8")
    assert "given twice in this import with different content (first at twice.ndjson line 1)" in error["reason"]
    assert c.get("/records/person/MF-8", headers=headers(api, "officer")).status_code == 404


def test_a_record_given_twice_in_a_body_names_the_first_as_the_api_numbers_records(api: dict[str, Any]) -> None:
    c = api["client"]
    body = [{"type": "person", "id": "MF-7", "last_name": "A"}, {"type": "person", "id": "MF-6", "last_name": "B"},
            {"type": "person", "id": "MF-7", "last_name": "C"}]
    refused = c.post("/records", headers=headers(api, "officer"), json=body)
    assert refused.status_code == 422, refused.text
    (error,) = refused.json()["errors"]
    assert error["index"] == 2 and "(first at records[0]); changed: last_name; give it once" in error["reason"], error


#: a whole number of more digits than Python turns into an int (its int-string limit, 4,300)
LONG = "1" * 5000


def test_a_number_past_pythons_digit_limit_is_a_422_naming_the_line_and_field(api: dict[str, Any]) -> None:
    """The black-box pass: int() refusing 5,000 digits was a 500 in every format, where a 20-digit
    number is told "must be at most 9223372036854775807" by record and field."""
    c = api["client"]
    good = json.dumps({"type": "person", "id": "LN-1", "last_name": "Long"})
    files = [("file", ("o.ndjson", f'{good}\n{{"type": "organization", "id": "O", "fte_count": {LONG}}}\n'.encode(),
                       "application/x-ndjson")),
             ("file", ("o.json", f'[{{"type": "organization", "id": "O2", "fte_count": -{LONG}}}]'.encode(),
                       "application/json")),
             ("file", ("organization.csv", f"id,fte_count\nO3,{LONG}\n".encode(), "text/csv"))]
    refused = c.post("/records/import", headers=headers(api, "officer"), files=files)
    assert refused.status_code == 422 and refused.json()["code"] == "input.record_invalid", refused.text
    assert [(e["file"], e["line"], e["record_id"], e["field"], e["reason"]) for e in refused.json()["errors"]] == [
        ("o.ndjson", 2, "O", "fte_count", "must be at most 9223372036854775807, got a number of 5,000 digits"),
        ("o.json", 1, "O2", "fte_count", "must be a number of at least 0, got a negative number of 5,000 digits"),
        ("organization.csv", 2, "O3", "fte_count", "must be at most 9223372036854775807, got a number of 5,000 "
                                                   "digits")]
    assert c.get("/records/person/LN-1", headers=headers(api, "officer")).status_code == 404


def test_an_upload_is_recorded_under_its_own_name_not_the_servers_temporary_path(api: dict[str, Any]) -> None:
    """The black-box pass: the answer said `"sources": ["good.ndjson"]` while each version's `source`
    and the `records.import` audit entry held "/tmp/tmp6s6si56i/good.ndjson" (docs/records.md: the
    file path, or what the caller names)."""
    c, h = api["client"], headers(api, "officer")
    done = c.post("/records/import", headers=h,
                  files=[("file", ("good.ndjson", _ndjson({"type": "person", "id": "SN-1", "last_name": "Name"}),
                                   "application/x-ndjson")),
                         ("file", ("person.csv", b"id,last_name\nSN-2,Other\n", "text/csv"))])
    assert done.status_code == 200 and done.json()["sources"] == ["good.ndjson", "person.csv"], done.text
    for rid, name in (("SN-1", "good.ndjson"), ("SN-2", "person.csv")):
        (version,) = c.get(f"/records/person/{rid}/history", headers=h).json()
        assert version["source"] == name
    (entry,) = c.get("/audit/entries", headers=h, params={"action": "records.import", "limit": 1}).json()
    assert entry["payload"]["sources"] == ["good.ndjson", "person.csv"]
