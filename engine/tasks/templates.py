"""SOP templates: parse `policies/sops/SOP-*.md` and render one into a task's title, body and checklist.

A template is YAML front matter between `---` lines (id, title, owner_role, default_due_days,
recurrence: null | {every, unit[, start, scope]}, citation, evidence) and a Markdown body that is a
Jinja2 template over `finding` (rendered in `engine.sandbox`'s bounded sandbox: a template is content a
liaison edits, not code). The checklist is the numbered items of the `## Steps` section (every numbered
item of the body when there is no such section), each with its continuation lines.
"""

from __future__ import annotations

import re
from functools import lru_cache
from pathlib import Path
from typing import Any

import jinja2
import yaml
from pydantic import ValidationError

from engine.errors import ErrorDetail
from engine.sandbox import BoundedSandbox, render_bounded
from engine.tasks.errors import PolicyError
from engine.tasks.policy import policies_dir
from engine.tasks.schemas import RenderedSop, Sop

_ENV = BoundedSandbox(undefined=jinja2.ChainableUndefined, autoescape=False, keep_trailing_newline=True)
_ITEM = re.compile(r"^\s{0,3}(\d+)[.)]\s+(.*)$")
_HEADING = re.compile(r"^#{1,6}\s+(.*)$")


def environment() -> BoundedSandbox:
    """The sandbox SOP templates render in (`engine.tasks.sop_checks` parses them with it)."""
    return _ENV


def sop_path(sop_id: str, directory: Path | str | None = None) -> Path:
    if len(sop_id) > 120 or not re.fullmatch(r"[A-Za-z0-9_.-]+", sop_id) or ".." in sop_id:  # past 120: no file name
        raise PolicyError(f"not an SOP id: {sop_id!r}", [ErrorDetail(reason="bad SOP id", field="sop")])
    return policies_dir(directory) / "sops" / f"{sop_id}.md"


def parse_sop(text: str, path: str) -> Sop:
    """Split front matter from body and validate the front matter (located errors)."""
    if not text.startswith("---"):
        raise PolicyError(f"{path}: an SOP starts with YAML front matter between '---' lines",
                          [ErrorDetail(reason="no front matter", file=path, line=1)])
    parts = text.split("\n---", 1)
    if len(parts) != 2:
        raise PolicyError(f"{path}: front matter is not closed by '---'", [ErrorDetail(reason="unclosed", file=path)])
    head = parts[0][3:]
    body = parts[1].split("\n", 1)[1] if "\n" in parts[1] else ""
    try:
        meta = yaml.safe_load(head) or {}
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        raise PolicyError(f"{path}: front matter is not valid YAML", [ErrorDetail(
            reason=str(getattr(exc, "problem", exc)), file=path,
            line=mark.line + 2 if mark else None, column=mark.column + 1 if mark else None)]) from None
    if not isinstance(meta, dict):
        raise PolicyError(f"{path}: front matter must be a mapping", [ErrorDetail(reason="not a mapping", file=path)])
    try:
        sop = Sop.model_validate({**meta, "body": body, "path": path})
    except ValidationError as exc:
        raise PolicyError(f"{path}: invalid SOP front matter", [
            ErrorDetail(reason=e["msg"], file=path, field=".".join(str(p) for p in e["loc"])) for e in exc.errors()
        ]) from None
    try:
        _ENV.parse(body)
    except RecursionError:
        raise PolicyError(f"{path}: the template nests too deeply", [ErrorDetail(
            reason="brackets or tags nested too deeply inside each other; write it flatter", file=path)]) from None
    except jinja2.TemplateSyntaxError as exc:
        line = (exc.lineno or 0) + text[: len(text) - len(body)].count("\n")
        raise PolicyError(f"{path}: template syntax error", [ErrorDetail(reason=exc.message or "syntax", file=path,
                                                                         line=line)]) from None
    return sop


def load_sop(sop_id: str, directory: Path | str | None = None) -> Sop:
    """One SOP by id; NotFound is a PolicyError naming the path (cached by path and mtime)."""
    path = sop_path(sop_id, directory)
    if not path.exists():
        raise PolicyError(f"SOP {sop_id} has no template at {path}", [ErrorDetail(reason="missing", file=str(path))],
                          code="policy.sop_missing")
    sop = _load_cached(str(path), path.stat().st_mtime_ns)
    if sop.id != sop_id:
        raise PolicyError(f"{path}: front matter id {sop.id} does not match the file name",
                          [ErrorDetail(reason="id mismatch", file=str(path), field="id")])
    return sop


@lru_cache(maxsize=512)
def _load_cached(path: str, _mtime: int) -> Sop:
    return parse_sop(Path(path).read_text(encoding="utf-8"), path)


def list_sops(directory: Path | str | None = None) -> list[Sop]:
    """Every SOP template in the directory, sorted by id (raises on the first broken one)."""
    root = policies_dir(directory) / "sops"
    return [load_sop(p.stem, directory) for p in sorted(root.glob("SOP-*.md"))]


def render_sop(sop: Sop, context: dict[str, Any]) -> RenderedSop:
    """Render the body over `context` (finding, task, sop) and extract the checklist."""
    try:
        body = render_bounded(_ENV.from_string(sop.body), **context, sop=sop.model_dump(exclude={"body"}))
        title = render_bounded(_ENV.from_string(sop.title), **context)
    except Exception as exc:  # a template is content: whatever it does wrong (SecurityError, huge ranges ...)
        raise PolicyError(f"{sop.path}: cannot render: {type(exc).__name__}: {exc}",
                          [ErrorDetail(reason=str(exc), file=sop.path)]) from None
    return RenderedSop(title=title.strip(), body=body.strip() + "\n", checklist=checklist(body))


def checklist(markdown: str) -> list[str]:
    """The numbered items of the `Steps` section (or of the whole body), continuation lines joined."""
    lines = markdown.splitlines()
    section: list[str] | None = None
    for i, line in enumerate(lines):
        head = _HEADING.match(line)
        if head and head.group(1).strip().lower().startswith("steps"):
            rest = lines[i + 1:]
            end = next((j for j, x in enumerate(rest) if _HEADING.match(x)), len(rest))
            section = rest[:end]
            break
    items: list[str] = []
    for line in section if section is not None else lines:
        m = _ITEM.match(line)
        if m:
            items.append(m.group(2).strip())
        elif items and line.strip() and line.startswith((" ", "\t")) and not _HEADING.match(line):
            items[-1] += " " + line.strip()
        elif items and not line.strip():
            continue
    return items
