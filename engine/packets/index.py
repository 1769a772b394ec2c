"""The human-readable index of a packet: index.html (Jinja2, sandboxed) and index.pdf (fpdf2).

Both are rendered from the same PacketDocs. The HTML template runs in a SandboxedEnvironment
with autoescaping because finding messages and task titles come from imported records and
must not become markup. The PDF uses the built-in Helvetica font so no system font can change
the bytes; text outside Latin-1 is transliterated or replaced. Its creation date is the packet's
as-of instant, which (with fpdf2's content-derived file id) makes the PDF reproducible.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import cache
from pathlib import Path
from typing import Any, cast

from jinja2 import FileSystemLoader
from jinja2.sandbox import SandboxedEnvironment

from engine.audit.chain import parse_instant
from engine.packets.documents import PacketDocs

TEMPLATES = Path(__file__).parent / "templates"
_env = SandboxedEnvironment(
    loader=FileSystemLoader(str(TEMPLATES)), autoescape=True, keep_trailing_newline=True
)
_LATIN1 = str.maketrans(
    {"\u2013": "-", "\u2014": "-", "\u2018": "'", "\u2019": "'", "\u201c": '"', "\u201d": '"', "\u2026": "...",
     "\u2192": "->", "\u2022": "*", "\u00a0": " "}
)  # fmt: skip


#: shown where a value is absent (a finding or task with no due date): Python's `None` had been printed
NONE_SHOWN = "\u2014"


def history_text(entry: dict[str, Any]) -> str:
    """One finding-history entry in words, the same in the HTML and the PDF.

    Only a transition moves the state: written as one (`acknowledged -> None`), a comment, an
    assignment or a run's update read as a move to a state called None. Each kind is said as what
    it is; findings.json keeps the entry as stored (`kind`, `to_state` null)."""
    kind, reason = entry.get("kind"), entry.get("reason")
    if entry.get("to_state"):  # a transition (those from FindingTransition carry no kind)
        said = f"{entry.get('from_state') or NONE_SHOWN} \u2192 {entry['to_state']}"
        said += f" ({reason})" if reason else ""
    elif kind == "comment":
        said = f"comment: {reason or ''}"
    elif kind == "assign":
        said = str(reason or "assigned")  # "assigned to P-0002"
    elif kind == "update":
        said = f"updated by {reason}" if str(reason or "").startswith("run ") else f"updated: {reason or ''}"
    else:
        said = f"{kind or 'entry'}" + (f": {reason}" if reason else "")
    return f"{entry.get('at')} {entry.get('actor')}: {said}"


def attachment_text(entry: dict[str, Any]) -> str:
    """Which attachment of its task an evidence entry is ("attachment 2 (id 5), by user:po at ..."):
    two attachments of the same bytes and name share one file, so the file alone does not say."""
    said = f"attachment {entry.get('attachment')}"
    said += f" (id {entry['attachment_id']})" if entry.get("attachment_id") is not None else ""
    said += f", by {entry['attached_by']}" if entry.get("attached_by") else ""
    return said + (f" at {entry['attached_at']}" if entry.get("attached_at") else "")


def run_changes(run: dict[str, Any]) -> str:
    """What a run changed among the findings, as runs.json gives it for this packet's scope
    (`run_counts.scope_run`): its non-zero diff counts, and each count withheld said as withheld,
    never the run's total over other sites or frameworks."""
    diff, withheld = run.get("diff") or {}, run.get("withheld") or {}
    if diff.get("held"):
        return "none: held look-back"
    if "diff" in withheld:
        return "withheld: " + str(withheld["diff"])
    said = ", ".join(f"{k} {v}" for k, v in diff.items() if v) or ("none" if diff else NONE_SHOWN)
    return said + "".join(f"; {k.removeprefix('diff.')} withheld" for k in withheld if k.startswith("diff."))


_env.filters["history_text"] = history_text
_env.filters["run_changes"] = run_changes
_env.filters["attachment_text"] = attachment_text


def render_html(docs: PacketDocs) -> bytes:
    """index.html as UTF-8 bytes."""
    template = _env.get_template("index.html")
    html = template.render(
        meta=docs.meta,
        summary=docs.summary,
        groups=docs.groups,
        rulesets=docs.rulesets,
        runs=docs.runs,
        audit=docs.audit_header,
    )
    return html.encode("utf-8")


def _latin1(text: Any) -> str:
    return str(text if text is not None else "").translate(_LATIN1).encode("latin-1", "replace").decode("latin-1")


def _lines(text: str, width_of: Callable[[str], float], room: float) -> list[str]:
    """`text` broken into lines no wider than `room`: at spaces, greedily, and inside a word only
    when the word alone is wider; each newline starts a line."""
    out: list[str] = []
    space = width_of(" ")
    for paragraph in text.split("\n"):
        line, used = "", 0.0
        for word in paragraph.split(" "):
            wide = width_of(word)
            if not line and used == 0.0 and wide <= room:
                line, used = word, wide
                continue
            if used + space + wide <= room:
                line, used = f"{line} {word}", used + space + wide
                continue
            if line or used:
                out.append(line)
            while wide > room and len(word) > 1:  # a word wider than the line: cut it where it fills one
                cut = len(word) - 1
                while cut > 1 and width_of(word[:cut]) > room:
                    cut -= 1
                out.append(word[:cut])
                word = word[cut:]
                wide = width_of(word)
            line, used = word, wide
        out.append(line)
    return out


@cache
def _pdf_class() -> type[Any]:
    """The PDF writer, made on first use: fpdf2 (with fontTools) takes half a second to import, which
    every CLI command paid at start-up though only a packet build writes a PDF."""
    from fpdf import FPDF
    from fpdf.enums import XPos, YPos

    class _Pdf(FPDF):
        def __init__(self, docs: PacketDocs) -> None:
            super().__init__(orientation="P", unit="mm", format="Letter")
            self.docs = docs
            self.set_auto_page_break(auto=True, margin=15)
            self.set_margins(15, 15, 15)

        def footer(self) -> None:
            self.set_y(-12)
            self.set_font("Helvetica", size=7)
            self.cell(0, 5, _latin1(f"{self.docs.packet_id}  -  page {self.page_no()}"), align="C")

        def line_text(self, text: Any, *, size: float = 9, style: str = "", indent: float = 0) -> None:
            """One paragraph, broken into lines here and written a `cell` each. fpdf2's `multi_cell`
            measures every fragment through its bidirectional-text machinery (about 1 ms a line),
            which was two thirds of building a credentialing packet of 1,500 findings (14-22 s);
            a core font's widths are a table, so a line is measured by summing it."""
            self.set_font("Helvetica", style=style, size=size)
            widths = cast("dict[str, int]", self.current_font.cw)  # type: ignore[union-attr]  # Helvetica: a core font
            scale = self.font_size_pt / 1000 / self.k

            def width_of(part: str) -> float:
                return sum(map(widths.__getitem__, part)) * scale

            for line in _lines(_latin1(text), width_of, self.epw - indent - 2 * self.c_margin):
                self.set_x(self.l_margin + indent)
                self.cell(0, size * 0.5, line, align="L", new_x=XPos.LMARGIN, new_y=YPos.NEXT)

        def heading(self, text: str, size: float = 13) -> None:
            self.ln(2)
            self.line_text(text, size=size, style="B")
            self.ln(1)

    return _Pdf


def render_pdf(docs: PacketDocs) -> bytes:
    """index.pdf: the same report as the HTML, laid out for print."""
    meta, summary = docs.meta, docs.summary
    pdf = _pdf_class()(docs)
    pdf.set_creation_date(parse_instant(meta["as_of"]))
    pdf.set_producer("Vigil")
    pdf.set_title(_latin1(f"Audit evidence packet {docs.packet_id}"))
    pdf.add_page()
    pdf.line_text(f"Audit evidence packet: {meta['framework']}", size=16, style="B")
    pdf.line_text(f"Organisation: {meta['org_name'] or meta['org_id']} ({meta['org_id']})")
    pdf.line_text(f"Period: {meta['period']['from']} to {meta['period']['to']}    As of: {meta['as_of']}")
    pdf.line_text(f"Establishment: {meta['establishment'] or 'all establishments'}    Packet id: {docs.packet_id}")
    pdf.line_text(f"Signing key fingerprint: {meta['signing_key_fingerprint']}", style="B")
    if meta["phi_redacted"]:
        pdf.line_text(
            "PHI redacted: patient identifiers are replaced with keyed pseudonyms (PSN-...) that are stable "
            "within this packet; evidence files that may contain PHI are withheld and listed by hash.",
            style="I",
        )
    evaluation = summary["evaluation"]
    if evaluation["status"] != "evaluated":
        pdf.heading("Not evaluated: no applied evaluation run covered this period")
        pdf.line_text(evaluation["note"], style="B")
    pdf.heading("Summary")
    pdf.line_text(f"Evaluation coverage: {evaluation['note']}")
    pdf.line_text(f"Findings: {summary['findings']} ({summary['findings_open']} open)")
    for label in ("by_state", "by_status", "by_severity"):
        pdf.line_text(f"{label.replace('_', ' ')}: " + ", ".join(f"{k} {v}" for k, v in summary[label].items()))
    pdf.line_text(
        f"Tasks: {summary['tasks']}   Waivers: {summary['waivers']}   Evidence files: {summary['evidence_files']}"
        f"   Rulesets: {summary['rulesets']}   Runs: {summary['runs']}   Audit entries: {summary['audit_entries']}"
    )
    for group in docs.groups:
        pdf.heading(f"{group.citation}: {group.title}", size=11)
        pdf.line_text(f"Control {group.control_id}", size=8)
        if group.text:
            pdf.line_text(group.text, size=8)
        for f in group.findings:
            pdf.line_text(
                f"[{f.get('state')}] {f['id']}  {f['rule_id']}  {f.get('subject_type')} {f.get('subject_id')}  "
                f"status {f.get('status')}  due {f.get('due') or NONE_SHOWN}  severity {f.get('severity')}",
                style="B",
                size=8.5,
            )
            pdf.line_text(f.get("message") or f.get("title") or "", size=8, indent=4)
            for h in f["history"]:
                pdf.line_text(history_text(h), size=7.5, indent=8)
        for w in group.waivers:
            approved = f", approved by {w['approved_by']}" if w.get("approved_by") else ""
            revoked = (f"; revoked {w['revoked_at']} by {w.get('revoked_by')}: {w.get('revoke_reason')}"
                       if w.get("revoked_at") else "")
            valid = f"{w.get('valid_from') or ''} to {w.get('valid_until') or ''}"
            pdf.line_text(f"Waiver {w['id']} by {w['granted_by']} at {w['granted_at']}{approved}, valid {valid}"
                          f"{revoked}: {w['reason']}", size=8)
        for t in group.tasks:
            pdf.line_text(f"Task {t['id']} [{t['state']}] {t['title']} due {t.get('due') or NONE_SHOWN}", size=8)
            for e in t["evidence"]:
                where = e.get("file") or "withheld"
                pdf.line_text(f"{attachment_text(e)}: {e['name']} ({e['size']} bytes) sha256 {e['sha256']} - {where}",
                              size=7, indent=6)
    if not docs.groups and evaluation["status"] == "evaluated":
        pdf.line_text("The applied evaluation runs raised no finding for this scope and period.")
    elif not docs.groups:
        pdf.line_text(
            "No findings, because no applied evaluation run covered this period: this is not a finding of compliance.",
            style="B",
        )
    pdf.heading("Rulesets in force")
    for r in docs.rulesets:
        pdf.line_text(f"{r['name']} {r['version'] or ''} sha256 {r['sha256']}", size=8)
    pdf.heading("Audit trail excerpt")
    audit = docs.audit_header
    pdf.line_text(f"{audit['entries']} entries; anchor {audit['anchor'] or '-'}; head {audit['head'] or '-'}", size=8)
    return bytes(pdf.output())
