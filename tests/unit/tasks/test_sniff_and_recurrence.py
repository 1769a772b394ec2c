"""Media types from magic bytes; recurrence periods counted from the anchor (C5 clamping)."""

from __future__ import annotations

import datetime as dt
import io
import zipfile

import pytest

from engine.tasks import notify, sniff
from engine.tasks.recurrence import current_period, period_start
from engine.tasks.schemas import EscalationPolicy, Recurrence

D = dt.date.fromisoformat


def _docx() -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as zf:
        zf.writestr("[Content_Types].xml", "<Types/>")
        zf.writestr("word/document.xml", "<w:document/>")
    return buf.getvalue()


@pytest.mark.parametrize("content, media_type", [
    (b"%PDF-1.7\n", "application/pdf"),
    (b"\x89PNG\r\n\x1a\n....", "image/png"),
    (b"\xff\xd8\xff\xe0\x00\x10JFIF", "image/jpeg"),
    (b"GIF89a..", "image/gif"),
    (b"RIFF\x00\x00\x00\x00WEBPVP8 ", "image/webp"),
    (b"\x00\x00\x00\x18ftypheic", "image/heic"),
    (b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1", "application/x-ole-storage"),
    (b"MZ\x90\x00", "application/x-msdownload"),
    (b"\x7fELF\x02", "application/x-executable"),
    (b"name,date\nA,2026-01-01\n", "text/plain"),
    (b'{"a": 1}', "application/json"),
    (b"<?xml version='1.0'?><a/>", "application/xml"),
    (b"<!DOCTYPE html><html>", "text/html"),
    (b"\x00\x01\x02binary", "application/octet-stream"),
    (b"", "text/plain"),
    # the staff pass of session 46: text in the encodings Windows writes, and text that begins with
    # a short signature's letters
    ("name,course\r\nZoë Müller,BBP\r\n".encode("cp1252"), "text/plain; charset=windows-1252"),
    ("Training roster Zoë\r\n".encode("utf-16"), "text/plain; charset=utf-16"),
    (b"BMI readings for staff wellness review 2026\n", "text/plain"),
    (b"MZ-4 autoclave log\n", "text/plain"),
    (b"ID3 tags are not evidence\n", "text/plain"),
    (b"BM" + (70).to_bytes(4, "little") + b"\x00" * 4 + (54).to_bytes(4, "little") + (40).to_bytes(4, "little"),
     "image/bmp"),
    (b"ID3\x04\x00\x00\x00\x00\x01\x00", "audio/mpeg"),
    (b"MZ\x01\x02\x03\x1b\x1b", "application/x-msdownload"),  # no zero, but not text either
    (b"\xff\xfe" + "a\x01b".encode("utf-16-le"), "application/octet-stream"),
    (b"abc\x81def", "application/octet-stream"),  # a byte Windows-1252 leaves undefined
    (b"abc\xe9\x1b[0m", "application/octet-stream"),  # not UTF-8, and a control character
])
def test_sniff_reads_content_not_names(content: bytes, media_type: str) -> None:
    assert sniff.sniff(content[: sniff.HEAD_BYTES], content) == media_type


def test_every_kind_kept_as_evidence_is_a_declared_document_type() -> None:
    """The OpenAPI document declares an attachment download's types from DOCUMENT_TYPES (it had said
    `*/*`): every kind `sniff` names, executables and unknown binary aside, must be there."""
    named = {t for _, _, t in sniff._SIGNATURES} | set(sniff._OOXML.values()) | {
        sniff.sniff(content[: sniff.HEAD_BYTES], content).split(";")[0]
        for content in (b"RIFF\x00\x00\x00\x00WEBPVP8 ", b"\x00\x00\x00\x18ftypheic", b"\x00\x00\x00\x18ftypisom",
                        b"PK\x03\x04", b"<?xml?>", b"<html>", b"{}", b"text", b"ID3\x04\x00\x00\x00\x00\x01\x00",
                        b"BM" + (70).to_bytes(4, "little") + b"\x00" * 4 + (54).to_bytes(4, "little")
                        + (40).to_bytes(4, "little"), "Zoë".encode("utf-16"), "Zoë".encode("cp1252"))}
    assert named - sniff.EXECUTABLE_TYPES - {sniff.OCTET} == set(sniff.DOCUMENT_TYPES)


def test_office_documents_are_told_apart_from_zips() -> None:
    docx = _docx()
    assert sniff.sniff(docx[:8192], docx).endswith("wordprocessingml.document")
    assert sniff.sniff(docx[:8192], None) == "application/zip"


MONTHLY = Recurrence(every=1, unit="months")


@pytest.mark.parametrize("anchor, n, rec, want", [
    ("2028-01-31", 1, MONTHLY, "2028-02-29"),
    ("2027-01-31", 1, MONTHLY, "2027-02-28"),
    ("2028-01-31", 2, MONTHLY, "2028-03-31"),  # from the anchor, not from 29 February
    ("2028-02-29", 1, Recurrence(every=1, unit="years"), "2029-02-28"),
    ("2028-02-29", 4, Recurrence(every=1, unit="years"), "2032-02-29"),
    ("2028-11-30", 1, Recurrence(every=3, unit="months"), "2029-02-28"),
    ("2028-12-31", 1, Recurrence(every=2, unit="weeks"), "2029-01-14"),
])
def test_period_starts(anchor: str, n: int, rec: Recurrence, want: str) -> None:
    assert period_start(D(anchor), n, rec) == D(want)


@pytest.mark.parametrize("today, want", [
    ("2028-01-30", None), ("2028-01-31", (0, "2028-01-31")), ("2028-02-28", (0, "2028-01-31")),
    ("2028-02-29", (1, "2028-02-29")), ("2028-03-30", (1, "2028-02-29")), ("2028-03-31", (2, "2028-03-31")),
    ("2029-01-31", (12, "2029-01-31")),
])
def test_current_period(today: str, want: tuple[int, str] | None) -> None:
    got = current_period(D("2028-01-31"), MONTHLY, D(today))
    assert got == (None if want is None else (want[0], D(want[1])))


def test_backoff_doubles_up_to_the_cap_and_signatures_verify() -> None:
    policy = EscalationPolicy(backoff_base_seconds=30, backoff_max_seconds=200)
    assert [int(notify.backoff(policy, n).total_seconds()) for n in range(1, 6)] == [30, 60, 120, 200, 200]
    body = notify.canonical({"b": 1, "a": [1, 2]})
    assert body == b'{"a":[1,2],"b":1}'
    sig = notify.sign(body, b"k")
    assert notify.verify_signature(body, b"k", sig) and not notify.verify_signature(body + b" ", b"k", sig)
    assert not notify.verify_signature(body, b"other", sig) and not notify.verify_signature(body, b"k", None)


def test_a_completed_task_says_what_comes_next_by_its_kind() -> None:
    """Session 46's staff pass: a recurring task, which no finding confirms, had been told "the next
    evaluation confirms it" on completion, and nothing ever did."""
    from engine.tasks.schemas import Task
    from engine.tasks.service import after_completion

    recurring = Task.model_construct(finding_id=None, period_start=D("2026-12-01"))
    of_a_finding = Task.model_construct(finding_id="F-1", period_start=None)
    assert after_completion(recurring) == ("done for its period (from 2026-12-01); the next period's task opens "
                                           "when that period begins")
    assert after_completion(of_a_finding) == ("the next evaluation confirms it, or reopens it if the finding is "
                                              "still there")
