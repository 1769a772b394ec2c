"""A FHIR Bundle is read entry by entry (engine/records/connectors/fhir_bundle.py), as the whole-document
reader had read it: the same records and the same problems, in flat memory.

An interop pass (7 December 2026): a 100,000-entry collection Bundle (244 MB) peaked at 2.17 GB of
memory, where the same events as NDJSON stayed near 100 MB: the document was read and parsed whole."""

from __future__ import annotations

import copy
import io
import json
from collections.abc import Iterator
from pathlib import Path
from typing import IO, Any

import pytest

from engine import json_codec
from engine.errors import ErrorDetail
from engine.records.connectors import fhir_bundle, fhir_reader
from engine.records.importers import reader_for
from engine.records.validation import Position
from tests.conftest import SHARED

EXAMPLE: dict[str, Any] = json.loads(
    (SHARED / "formats" / "fhir" / "auditevent-r4-balp-patientread-example.json").read_text(encoding="utf-8"))


def event(i: int, **changes: Any) -> dict[str, Any]:
    resource = copy.deepcopy(EXAMPLE)
    resource["id"] = f"ae-{i}"
    resource.update(changes)
    return resource


def read(path: Path) -> tuple[list[tuple[Position, Any]], list[ErrorDetail]]:
    problems: list[ErrorDetail] = []
    advanced: list[int] = []
    records = list(reader_for("fhir")(path, record_type=None, problem=problems.append, advance=advanced.append))
    assert sum(advanced) == path.stat().st_size, "progress must account for every byte, once"
    return records, problems


def read_whole(path: Path) -> tuple[list[tuple[Position, Any]], list[ErrorDetail]]:
    """The reader as it was: the document parsed whole (kept for what the stream leaves to it)."""
    problems: list[ErrorDetail] = []
    return list(fhir_reader._read_whole(path, problems.append, lambda: None)), problems


class _Chunks(io.RawIOBase):
    """A stream whose bytes come from a generator, a chunk at a time, counting the chunks taken."""

    def __init__(self, chunks: Iterator[bytes]) -> None:
        self._chunks = chunks
        self._pending = b""
        self.taken = 0

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: Any) -> int:
        while not self._pending:
            try:
                self._pending = next(self._chunks)
            except StopIteration:
                return 0
            self.taken += 1
        size = min(len(buffer), len(self._pending))
        buffer[:size] = self._pending[:size]
        self._pending = self._pending[size:]
        return size


def bundle_chunks(n: int) -> Iterator[bytes]:
    yield b'{"resourceType": "Bundle", "type": "collection", "entry": ['
    for i in range(n):
        yield (b"," if i else b"") + json.dumps({"resource": event(i)}).encode()
    yield b"]}"


def test_the_entries_are_built_one_at_a_time_as_the_stream_is_read() -> None:
    streams: list[_Chunks] = []

    def opener() -> IO[bytes]:
        streams.append(_Chunks(bundle_chunks(2_000)))
        return io.BufferedReader(streams[-1])

    entries = fhir_bundle.entries(opener, lambda _n: None)
    first = next(entries)
    assert first["resource"]["id"] == "ae-0"
    assert streams[0].taken < 100, f"{streams[0].taken} of 2,002 chunks read for the first entry"
    assert sum(1 for _ in entries) == 1_999


def test_a_bundle_is_never_parsed_whole(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = tmp_path / "bundle.json"
    path.write_bytes(b"".join(bundle_chunks(50)))

    def whole(*_args: Any, **_kw: Any) -> Any:
        raise AssertionError("the Bundle was parsed whole")

    monkeypatch.setattr(json_codec, "loads_input", whole)
    monkeypatch.setattr(json, "load", whole)
    monkeypatch.setattr(json, "loads", whole)
    records, problems = read(path)
    assert problems == [] and [r["id"] for _, r in records] == [f"ae-{i}" for i in range(50)]


def _forward_reference() -> dict[str, Any]:
    """An AuditEvent naming a Patient entry that comes after it, by its fullUrl."""
    named = event(1)
    named["entity"][0]["what"] = {"reference": "urn:uuid:p-later"}
    agent = event(2)
    next(a for a in agent["agent"] if a.get("requestor"))["who"] = {"reference": "urn:uuid:pr-1"}
    return {"resourceType": "Bundle", "entry": [
        {"fullUrl": "urn:uuid:a-1", "resource": named},
        {"fullUrl": "urn:uuid:a-2", "resource": agent},
        {"fullUrl": "urn:uuid:p-later", "resource": {"resourceType": "Patient", "id": "pt-9"}},
        {"fullUrl": "urn:uuid:pr-1", "resource": {"resourceType": "Practitioner",
                                                  "identifier": [{"value": ""}, {"value": "NPI-5"}]}},
    ]}  # fmt: skip


STREAMED = [
    json.dumps(_forward_reference()),
    json.dumps({"resourceType": "Bundle", "entry": [{"resource": event(1)}, {"resource": event(2, recorded="x")},
                                                    "not an entry", {"request": {"method": "DELETE"}}]}),
    json.dumps({"resourceType": "Bundle", "entry": {"resource": event(1)}}),
    json.dumps({"resourceType": "Bundle"}),
    json.dumps({"entry": [{"resource": event(1)}], "resourceType": "Bundle"}),  # resourceType last
    json.dumps({"resourceType": "Bundle", "entry": [{"resource": {"resourceType": "Patient", "id": "p"}}]}),
    json.dumps({"resourceType": "Bundle", "entry": [{"resource": event(1, outcome=1.5)}]}),
]
#: What the stream leaves to the whole-document reader: no Bundle, a key twice (in an entry, at the top),
#: bad JSON, NaN, an integer past 64 bits, a lone surrogate, text that is not UTF-8, two documents.
WHOLE = [
    json.dumps(event(1)),
    json.dumps([event(1)]),
    '{"resourceType": "Bundle", "entry": [{"resource": {"resourceType": "AuditEvent", "id": "a", "id": "b"}}]}',
    '{"resourceType": "Bundle", "entry": [], "entry": []}',
    '{"resourceType": "Bundle", "entry": [{"resource": ',
    '{"resourceType": "Bundle", "entry": [{"resource": {"resourceType": "AuditEvent", "outcome": NaN}}]}',
    '{"resourceType": "Bundle", "entry": [{"resource": {"resourceType": "AuditEvent", "n": 123456789012345678901}}]}',
    '{"resourceType": "Bundle", "entry": [{"resource": {"resourceType": "AuditEvent", "id": "\\ud800"}}]}',
    '{"resourceType": "Bundle", "entry": [{"resource": {"resourceType": "AuditEvent", "id": "\xe9"}}]}',
    '{"resourceType": "Bundle", "entry": []}\n{"resourceType": "Bundle", "entry": []}',
]


@pytest.mark.parametrize(("text", "streamed"), [(t, True) for t in STREAMED] + [(t, False) for t in WHOLE])
def test_the_streamed_reader_says_what_the_whole_document_reader_said(tmp_path: Path, text: str,
                                                                     streamed: bool) -> None:
    path = tmp_path / "bundle.json"
    path.write_bytes(text.encode("latin-1" if "\xe9" in text else "utf-8"))
    found = fhir_bundle.outline(lambda: path.open("rb"), lambda _n: None)
    assert (found is not None and found.resource_type == "Bundle") is streamed
    assert read(path) == read_whole(path)


def test_a_reference_to_an_entry_further_on_names_it() -> None:
    path_text = json.dumps(_forward_reference())
    stream = fhir_bundle.outline(lambda: io.BytesIO(path_text.encode()), lambda _n: None)
    assert stream is not None and stream.referenced["urn:uuid:pr-1"]["identifier"] == [{"value": "NPI-5"}]


def test_a_forward_reference_maps_as_the_whole_reader_mapped_it(tmp_path: Path) -> None:
    path = tmp_path / "bundle.json"
    path.write_text(json.dumps(_forward_reference()), encoding="utf-8")
    records, problems = read(path)
    assert problems == []
    assert [(r["id"], r["patient_id"], r["user_id"]) for _, r in records] == [
        ("ae-1", "pt-9", "u123"), ("ae-2", "p456", "NPI-5")]
