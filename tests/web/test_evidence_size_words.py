"""An upload over the size limit is refused in the units a person uses, with how big the file was and
what to do: it said "the attachment is over the size limit (more than 26214400 bytes)" to front-desk
staff holding a 27 MB scan (black-box report D5). The words come from `engine.tasks.evidence`, the
one place every face (web, API, CLI) gets them from."""

from __future__ import annotations

import io
from collections.abc import Callable
from typing import Any

import pytest
from fastapi.testclient import TestClient

from engine.tasks import evidence
from engine.tasks.errors import EvidenceTooLarge
from tests.web.conftest import csrf_of
from tests.web.test_task_steps import _staff_task

MB = 1024 * 1024


class _Pipe(io.RawIOBase):
    """A stream that cannot tell its length (a pipe): the refusal says only that it is over."""

    def __init__(self, size: int) -> None:
        self.left = size

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: Any) -> int:
        n = min(len(buffer), self.left)
        buffer[:n] = b"%" * n
        self.left -= n
        return n


def test_sizes_read_as_a_person_reads_them() -> None:
    assert [evidence.size_text(n) for n in (0, 1, 900, 2048, 25 * MB, 28_626_124, 20_971_567)] == [
        "0 bytes", "1 byte", "900 bytes", "2 KB", "25 MB", "27.3 MB", "20 MB"]


def test_the_refusal_names_the_limit_the_size_and_what_to_do(tmp_path: Any) -> None:
    with pytest.raises(EvidenceTooLarge) as refused:
        evidence.put(io.BytesIO(b"%PDF" + b"0" * (3 * MB)), root=tmp_path, limit=2 * MB)
    assert refused.value.message == "the file is too large to keep as evidence: at most 2 MB"
    (detail,) = refused.value.details
    assert detail.field == "file"
    assert detail.reason == ("it is 3 MB; make it smaller (save or scan it at a lower resolution, compress the "
                             "PDF) or split it into parts of at most 2 MB each")
    with pytest.raises(EvidenceTooLarge) as piped:
        evidence.put(io.BufferedReader(_Pipe(3 * MB)), root=tmp_path, limit=2 * MB)
    assert piped.value.details[0].reason.startswith("it is over 2 MB; make it smaller")
    assert not list((tmp_path / "incoming").iterdir())


def test_the_task_page_says_it_in_megabytes(web: dict[str, Any], web_client: Callable[[str], TestClient],
                                            monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("VIGIL_EVIDENCE_MAX_BYTES", str(MB))
    task = _staff_task(web)
    c = web_client("staff")
    page = f"/ui/tasks/{task.id}"
    r = c.post(f"{page}/evidence", data={"csrf_token": csrf_of(c.get(page).text), "note": ""},
               files={"file": ("scan.pdf", b"%PDF-1.4\n" + b"0" * (MB + MB // 2), "application/pdf")},
               headers={"referer": f"http://testserver{page}"}, follow_redirects=False)
    assert r.status_code == 303
    html = c.get(page).text
    assert ("the file is too large to keep as evidence: at most 1 MB (it is 1.5 MB; make it smaller (save or scan "
            "it at a lower resolution, compress the PDF) or split it into parts of at most 1 MB each)") in html
    assert "bytes)" not in html
    ok = c.post(f"{page}/evidence", data={"csrf_token": csrf_of(html), "note": ""},
                files={"file": ("sheet.pdf", b"%PDF-1.4\n" + b"0" * 3000, "application/pdf")},
                headers={"referer": f"http://testserver{page}"}, follow_redirects=False)
    assert ok.status_code == 303
    shown = c.get(page).text
    assert "Attached sheet.pdf (2.9 KB)." in shown and '<span title="3009 bytes">2.9 KB</span>' in shown
