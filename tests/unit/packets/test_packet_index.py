"""The index: the PDF renders to a non-blank page showing the findings; the HTML escapes record text."""

from __future__ import annotations

import datetime as dt
import json
import shutil
import subprocess
import zipfile
from pathlib import Path
from typing import Any

import pytest
from PIL import Image, ImageStat

from engine.packets.build import build_packet
from engine.packets.schemas import PacketInput
from engine.packets.sign import Ed25519Signer


def extracted(packet_input: PacketInput, signer: Ed25519Signer, tmp_path: Path) -> Path:
    report = build_packet(packet_input, tmp_path / "p.zip", signer=signer)
    with zipfile.ZipFile(report.path) as zf:
        zf.extractall(tmp_path / "x")
    return tmp_path / "x" / report.packet_id / "data"


def poppler(tool: str) -> str:
    path = shutil.which(tool)
    if path is None:  # CI installs poppler-utils; a missing tool is a broken environment, not a skip
        pytest.fail(f"{tool} not found: install poppler-utils (apt-get install poppler-utils)")
    return path


def test_pdf_renders_to_a_page_that_is_not_blank(
    packet_input: PacketInput, signer: Ed25519Signer, tmp_path: Path
) -> None:
    data = extracted(packet_input, signer, tmp_path)
    subprocess.run(
        [
            poppler("pdftoppm"),
            "-png",
            "-r",
            "60",
            "-f",
            "1",
            "-l",
            "1",
            str(data / "index.pdf"),
            str(tmp_path / "page"),
        ],
        check=True,
    )
    (png,) = tmp_path.glob("page*.png")
    image = Image.open(png).convert("L")
    assert image.size[0] > 400 and image.size[1] > 500
    stat = ImageStat.Stat(image)
    dark = sum(image.histogram()[:128]) / (image.size[0] * image.size[1])
    assert stat.stddev[0] > 10 and 0.002 < dark < 0.5  # ink on paper, not an empty or black page


def test_pdf_text_shows_the_findings_and_the_key(
    packet_input: PacketInput, signer: Ed25519Signer, tmp_path: Path
) -> None:
    data = extracted(packet_input, signer, tmp_path)
    text = subprocess.run(
        [poppler("pdftotext"), "-layout", str(data / "index.pdf"), "-"], check=True, capture_output=True, text=True
    ).stdout
    for expected in ("45 CFR 164.404(b)", "HIPAA-BRN-IND-011", "F-2", "Send breach notice letters", "W-1"):
        assert expected in text
    assert signer.fingerprint() in text.replace("\n", "")


def test_html_groups_by_citation_and_escapes_record_text(
    packet_input: PacketInput, signer: Ed25519Signer, tmp_path: Path
) -> None:
    findings = [dict(f) for f in packet_input.findings]
    findings[0]["message"] = "<script>alert('x')</script> overdue"
    data = extracted(packet_input.model_copy(update={"findings": findings}), signer, tmp_path)
    html = (data / "index.html").read_text()
    assert "<script>alert" not in html and "&lt;script&gt;alert" in html
    assert html.index("45 CFR 164.308(a)(1)(ii)(D)") < html.index("45 CFR 164.404(b)")
    assert "Notification to individuals: timeliness" in html  # the requirement text for the citation
    assert "letters being prepared" in html  # a transition's reason in the state history
    assert "Covering physician" in html  # the waiver's reason
    assert 'href="evidence/T-2/' in html
    assert signer.fingerprint() in html
    assert "PHI redacted" not in html


def _texts(data: Path) -> dict[str, str]:
    command = [poppler("pdftotext"), str(data / "index.pdf"), "-"]
    pdf = subprocess.run(command, check=True, capture_output=True, text=True)
    return {"html": (data / "index.html").read_text(), "pdf": " ".join(pdf.stdout.split())}


HELD_RUN = {
    "id": "R-back", "org_id": "org-demo", "as_of": "2026-02-15T12:00:00Z", "input_hash": "cd" * 32,
    "counts": {"violations": 60}, "diff": {"held": True, "reason": "a look back is recorded and returned, not applied"},
}  # fmt: skip


@pytest.mark.parametrize(
    ("runs", "status", "says"),
    [([], "not_evaluated", "No evaluation run at all"), ([HELD_RUN], "held_only", "held, not applied")],
)
def test_an_unevaluated_period_is_not_presented_as_clean(
    packet_input: PacketInput, signer: Ed25519Signer, tmp_path: Path, runs: list[dict[str, Any]], status: str,
    says: str,
) -> None:
    """Probe 15 #2: a period no applied run covered printed "No findings in this period"."""
    empty = packet_input.model_copy(update={"findings": [], "finding_transitions": [], "waivers": [], "tasks": [],
                                            "runs": runs})  # fmt: skip
    data = extracted(empty, signer, tmp_path)
    meta = json.loads((data / "packet.json").read_text())
    assert meta["summary"]["evaluation"]["status"] == status
    assert says in meta["summary"]["evaluation"]["note"]
    for name, text in _texts(data).items():
        assert "No findings in this period" not in text, name
        assert "no applied evaluation run covered this period" in text, name
        assert "not evidence of compliance" in text, name
        assert says in text, name
    poam = json.loads((data / "oscal" / "poam.json").read_text())["plan-of-action-and-milestones"]
    assert "No applied evaluation run covered this period" in poam["poam-items"][0]["description"]


def test_findings_of_a_period_no_run_fell_in_are_said_to_come_from_before_it(
    packet_input: PacketInput, signer: Ed25519Signer, tmp_path: Path
) -> None:
    """Findings raised before the period and open in it are shown; the notice said "the absence of
    findings is not evidence" beside them, as though there were none."""
    data = extracted(packet_input.model_copy(update={"runs": []}), signer, tmp_path)
    meta = json.loads((data / "packet.json").read_text())
    shown = meta["summary"]["findings"]
    assert shown > 0 and meta["summary"]["evaluation"]["status"] == "not_evaluated"
    said = (f"The {shown} finding(s) shown were raised by evaluation runs before the period and were open during "
            "it; nothing judged the period itself")
    for name, text in _texts(data).items():
        assert said in text, name
        assert "The absence of findings in this packet" not in text, name


def test_an_evaluated_period_says_from_when(packet_input: PacketInput, signer: Ed25519Signer, tmp_path: Path) -> None:
    data = extracted(packet_input, signer, tmp_path)
    evaluation = json.loads((data / "packet.json").read_text())["summary"]["evaluation"]
    assert evaluation["status"] == "evaluated" and evaluation["applied_runs"] == 1
    assert "Nothing evaluated the period before 2026-03-02" in evaluation["note"]
    texts = _texts(data)
    assert "no applied evaluation run covered" not in texts["html"] + texts["pdf"]
    assert "Nothing evaluated the period before 2026-03-02" in texts["pdf"]


def test_a_packet_made_before_its_period_ended_says_it_shows_the_period_up_to_then(
    packet_input: PacketInput, signer: Ed25519Signer, tmp_path: Path
) -> None:
    early = packet_input.model_copy(update={"as_of": dt.datetime(2026, 3, 20, 12, tzinfo=dt.UTC)})
    evaluation = json.loads((extracted(early, signer, tmp_path) / "packet.json").read_text())["summary"]["evaluation"]
    assert evaluation["period_ended"] is False
    assert "The period had not ended when this packet was made" in evaluation["note"]
    assert "2026-01-01 to 2026-03-20 only" in evaluation["note"]
    assert "Nothing evaluated the period after" not in evaluation["note"]  # it was not over: that is the reason


def test_a_finished_period_whose_runs_stopped_early_says_after_when_nothing_evaluated_it(
    packet_input: PacketInput, signer: Ed25519Signer, tmp_path: Path
) -> None:
    evaluation = json.loads((extracted(packet_input, signer, tmp_path) / "packet.json").read_text())["summary"][
        "evaluation"]
    assert evaluation["period_ended"] is True and "had not ended" not in evaluation["note"]
    assert "Nothing evaluated the period after 2026-03-02" in evaluation["note"]


def test_a_pdf_line_that_fits_stays_whole_and_a_long_one_wraps_within_the_page(tmp_path: Path) -> None:
    """A line that fits is written as one cell (`multi_cell` for every line was two thirds of a
    large packet's build); one that does not still wraps, and no text leaves the page."""
    from engine.packets.index import _pdf_class

    class Docs:
        packet_id = "P-test"

    pdf = _pdf_class()(Docs())
    pdf.add_page()
    short = "F-000001 HIPAA-SEC-TERM-004 high open"
    long = " ".join(f"word{i}" for i in range(80))
    pdf.line_text(short, indent=4)
    pdf.line_text(long, indent=4)
    pdf.line_text("first line\nsecond line", indent=4)
    (tmp_path / "t.pdf").write_bytes(bytes(pdf.output()))
    text = subprocess.run([poppler("pdftotext"), "-layout", str(tmp_path / "t.pdf"), "-"], check=True,
                          capture_output=True, text=True).stdout
    lines = [line.strip() for line in text.splitlines() if line.strip()]
    assert lines[0] == short
    wrapped = [line for line in lines if line.startswith("word") or " word" in line]
    assert len(wrapped) >= 3 and " ".join(wrapped).split() == long.split()  # every word, in order, on 3+ lines
    assert "first line" in lines and "second line" in lines
    width = subprocess.run([poppler("pdftotext"), "-bbox", str(tmp_path / "t.pdf"), "-"], check=True,
                           capture_output=True, text=True).stdout
    right_edges = [float(part.split('"')[1]) for part in width.split("xMax=")[1:]]
    assert max(right_edges) <= (pdf.w - pdf.r_margin) * 72 / 25.4 + 1  # nothing past the right margin (pt)


def test_lines_break_at_spaces_cut_only_a_word_wider_than_the_line_and_keep_empty_ones() -> None:
    from engine.packets.index import _lines

    def width(text: str) -> float:
        return float(len(text))  # one unit a character

    assert _lines("aa bb cc dd", width, 5) == ["aa bb", "cc dd"]
    assert _lines("abcdefghij", width, 4) == ["abcd", "efgh", "ij"]
    assert _lines("a\n\nb", width, 4) == ["a", "", "b"]
    assert _lines("", width, 4) == [""]
    assert all(width(line) <= 7 for line in _lines("the quick brown fox jumps over the lazy dog", width, 7))


def test_history_entries_say_their_kind_and_a_missing_due_date_is_a_dash(
    packet_input: PacketInput, signer: Ed25519Signer, tmp_path: Path
) -> None:
    """A comment, an assignment and a run's update read `acknowledged → None (...)` in the report, a
    move to a state called None, and a finding with no due date showed `None` in the Due column."""
    findings = [dict(f) for f in packet_input.findings]
    findings[0]["history"] = [*findings[0]["history"],
        {"at": "2026-03-04T10:00:00Z", "actor": "user:po", "kind": "comment", "from_state": "acknowledged",
         "to_state": None, "reason": "Called the patient's daughter"},
        {"at": "2026-03-04T11:00:00Z", "actor": "user:po", "kind": "assign", "from_state": "acknowledged",
         "to_state": None, "reason": "assigned to P-0002"},
        {"at": "2026-03-09T06:00:00Z", "actor": "scheduler", "kind": "update", "from_state": None, "to_state": None,
         "reason": "run R-3: severity high -> critical; due 2026-02-28 -> 2026-03-01", "run_id": "R-3"}]  # fmt: skip
    assert any(f.get("due") is None for f in findings)
    texts = _texts(extracted(packet_input.model_copy(update={"findings": findings}), signer, tmp_path))
    html, pdf = texts["html"], texts["pdf"]
    assert "None" not in html and "None" not in pdf
    for said in ("user:po: comment: Called the patient", "user:po: assigned to P-0002",
                 "scheduler: updated by run R-3: severity high -> critical; due 2026-02-28 -> 2026-03-01"):
        assert said in pdf, said
        assert said.replace("'", "&#39;").replace(">", "&gt;") in html, said
    assert "user:privacy-officer: open \u2192 acknowledged (letters being prepared)" in html
    assert "user:privacy-officer: open -> acknowledged (letters being prepared)" in pdf
    assert "<td>\u2014</td>" in html  # F-2's Due
