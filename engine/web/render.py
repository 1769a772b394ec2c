"""Server-side rendering for the web UI: one Jinja2 environment (autoescaped), the page context every
template gets (who is signed in, the navigation their role allows, the CSRF token, a flash message),
and the small formatting filters the templates share.

Templates receive pydantic schemas and plain values, never ORM rows.
"""

from __future__ import annotations

import datetime as dt
import json
import re
import urllib.parse
from pathlib import Path
from typing import Any

from fastapi import Request
from fastapi.responses import HTMLResponse, RedirectResponse
from jinja2 import Environment, FileSystemLoader, StrictUndefined, select_autoescape
from markupsafe import Markup, escape
from pydantic import BaseModel

from engine import __version__, clock, timefmt
from engine.auth.roles import Permission, allowed
from engine.auth.schemas import Principal
from engine.findings import waiver_checks
from engine.rules import versions
from engine.tasks import evidence
from engine.web import csrf

TEMPLATES = Path(__file__).resolve().parent / "templates"
FLASH_COOKIE = "vigil_flash"
#: a refused form's field names carried to the next page (a form field's `name`: letters, digits, _)
_FIELD = re.compile(r"^[A-Za-z_][A-Za-z0-9_]{0,59}$")
MAX_FLASH_FIELDS = 10
PREFIX = "/ui"


class NavItem(BaseModel):
    label: str
    href: str
    key: str


# (key, label, href, permission, roles that see it; None = any role with the permission)
_NAV: list[tuple[str, str, str, Permission, tuple[str, ...] | None]] = [
    ("dashboard", "Dashboard", "/ui/dashboard", Permission.FINDINGS_READ, ("admin", "officer", "liaison", "auditor")),
    ("findings", "Findings", "/ui/findings", Permission.FINDINGS_READ, None),
    ("tasks", "Tasks", "/ui/tasks", Permission.TASKS_READ, None),
    ("rulesets", "Rulesets", "/ui/rulesets", Permission.RULESETS_READ, ("admin", "officer", "liaison", "auditor")),
    ("params", "Parameters", "/ui/params", Permission.RULESETS_READ, ("admin", "officer", "liaison", "auditor")),
    ("audit", "Audit portal", "/ui/audit", Permission.PACKETS_READ, None),
    ("trail", "Audit trail", "/ui/audit/trail", Permission.AUDIT_READ, None),
    ("gaps", "Data gaps", "/ui/records/gaps", Permission.RECORDS_READ, None),
]


def nav_for(principal: Principal | None) -> list[NavItem]:
    if principal is None:
        return []
    return [NavItem(key=k, label=label, href=href) for k, label, href, perm, roles in _NAV
            if allowed(principal.role, perm) and (roles is None or principal.role in roles)]


def can(principal: Principal | None, permission: str) -> bool:
    return principal is not None and allowed(principal.role, Permission(permission))


def _instant(value: dt.datetime | str | None) -> str:
    if value is None or value == "":
        return "—"
    if isinstance(value, str):
        try:
            when = dt.datetime.fromisoformat(value.replace("Z", "+00:00"))
        except ValueError:
            return value
    else:
        when = value
    if when.tzinfo is None:
        return when.strftime("%Y-%m-%d %H:%M")
    return clock.ensure_utc(when).strftime("%Y-%m-%d %H:%M UTC")


def _until(value: dt.datetime) -> str:
    """A period's exclusive end as the form took it: midnight UTC reads "the end of <the day
    before> (UTC)". The waive form asks for the last day and confirmed "through 2027-01-31" while
    the card said "Until 2027-02-01 00:00 UTC"."""
    day = waiver_checks.last_day(value)  # the same day the finding's history and the form's messages name
    return f"the end of {day.isoformat()} (UTC)" if day is not None else _instant(value)


def _day(value: dt.date | dt.datetime | str | None) -> str:
    if value is None or value == "":
        return "—"
    if isinstance(value, dt.datetime):
        return clock.ensure_utc(value).date().isoformat() if value.tzinfo else value.date().isoformat()
    if isinstance(value, dt.date):
        return value.isoformat()
    return str(value)[:10]


def _local_time(when: dt.datetime, tz: str | None) -> str:
    """An instant as its establishment reads it, "2026-11-15 17:00 PST"; in UTC without a zone."""
    return timefmt.local_time(when, tz)


def _due_text(value: str | None, tz: str | None = None) -> str:
    """A finding's `due`: a local date as written; an hour deadline's instant in the local time of
    `tz`, its establishment's zone, with the zone's abbreviation (`engine.timefmt`, which the CLI's
    tables use too). It had been cut to its UTC date (a day later than the local one in the
    Americas' evenings), then shown in UTC: a list sorted by due date read "2026-11-16 01:00 UTC,
    2026-11-15, 2026-11-15", in order by instant but not to the eye, among local dates."""
    return timefmt.due_text(value, tz)


def _due(value: str | None, tz: str | None = None) -> Markup:
    """`_due_text` in a <time> whose `datetime` keeps the stored value (a date, or the UTC instant)."""
    if not value:
        return Markup("—")
    return Markup('<time datetime="{}">{}</time>').format(str(value), _due_text(value, tz))


_SAME_DAY_TWICE = re.compile(r"\bdue on (\d{4}-\d{2}-\d{2}), \1 \(")


def _deadline_math(deadline: dict[str, Any]) -> str:
    """A finding's deadline arithmetic (`facts.deadline.explanation`) as the page shows it. A deadline
    on the very date the rule's facts name was explained "due on 2026-11-28, 2026-11-28
    (America/Denver): ..." (the due date, then the anchor it equals); said once here, for the findings
    already stored with it too: "due on 2026-11-28 (America/Denver): ..."."""
    text = deadline.get("explanation")
    if not text:
        return f"due {deadline.get('due')}"
    return _SAME_DAY_TWICE.sub(r"due on \1 (", str(text))


def _task_due(task: Any) -> str:
    """When a task falls due, as its establishment reads it: "2026-12-02 (end of day, America/Denver)"
    for a day deadline, "2026-12-02 17:00 PST (America/Los_Angeles)" for an hour one (whose task had
    said "end of day" while it went overdue at 17:00)."""
    if _by_day(task):
        return f"{task.due.isoformat()} (end of day, {task.tz})"
    return f"{_local_time(task.due_at, task.tz)} ({task.tz})"


def _by_day(task: Any) -> bool:
    return timefmt.falls_due_at_day_end(task.due, task.due_at, task.tz)


def _task_due_short(task: Any) -> Markup:
    """A task's due date in a list (the dashboard's work, the task lists): its local date, or for an
    hour deadline its local time, "2026-12-02 17:00 PST", as the findings list says it; the instant
    in the <time>'s `datetime`."""
    if _by_day(task):
        return Markup('<time datetime="{}">{}</time>').format(task.due.isoformat(), task.due.isoformat())
    return Markup('<time datetime="{}">{}</time>').format(
        clock.ensure_utc(task.due_at).isoformat().replace("+00:00", "Z"), _local_time(task.due_at, task.tz))


def _filesize(size: int) -> Markup:
    """An attachment's size as a person reads it, the exact bytes on hover."""
    return Markup('<span title="{} bytes">{}</span>').format(size, evidence.size_text(size))


def _label(value: str | None) -> str:
    return "—" if not value else str(value).replace("_", " ")


def _query(base: dict[str, Any], **changes: Any) -> str:
    """A query string from `base` with `changes` applied (None drops a key)."""
    merged = {k: v for k, v in base.items() if v not in (None, "")}
    for k, v in changes.items():
        if v in (None, ""):
            merged.pop(k, None)
        else:
            merged[k] = v
    return urllib.parse.urlencode(merged)


def _json(value: Any) -> str:
    """JSON shown as text (an audit entry's payload): plain characters, escaped by the page's autoescape
    like any other text. Jinja's `tojson` is for a <script>: it writes ' as \\u0027 and < as \\u003c,
    and a note read "patient\\u0027s"."""
    return json.dumps(value, indent=2, sort_keys=True, default=str, ensure_ascii=False)


def _scalar(value: Any) -> str:
    if isinstance(value, (dict, list)):
        return json.dumps(value, sort_keys=True, default=str)
    if value is None:
        return "null"
    return str(value)


def _options(values: list[str] | tuple[str, ...]) -> list[tuple[str, str]]:
    return [(v, _label(v)) for v in values]


def _fw_label(framework: str | None) -> str:
    from engine.web.lookups import framework_label

    return framework_label(framework) if framework else "—"


def _fw_options(values: list[str]) -> list[tuple[str, str]]:
    return [(v, _fw_label(v)) for v in values]


_CODE = re.compile(r"`([^`]+)`")


def _inline_code(text: Any) -> Markup:
    """SOP text with Markdown's `code` spans as <code> (everything else escaped): a checklist step
    read "Record the training (`course: FIRE_EXT`, ...)" with its backticks showing."""
    parts = _CODE.split(str(text))
    return Markup("").join(Markup("<code>{}</code>").format(part) if i % 2 else escape(part)
                           for i, part in enumerate(parts))


#: an instant with its offset as the services write it into a history's words (`isoformat()`:
#: "2026-12-07T15:08:36.984756+00:00"); a naive one names no zone and is left as written
#: A UTC instant as the services write one into their words (`isoformat()`): only these are shown as
#: the page shows instants. One with another offset is a local time a record or a person gave (a
#: due "2026-12-10T23:59:59-05:00"), and stays as written: shown in UTC it would name another day.
_ISO_INSTANT = re.compile(r"\b\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(?::\d{2}(?:\.\d{1,6})?)?(?:Z|\+00:00)")


def _instants_in(text: str | None) -> str:
    """A history entry's words with each instant in them as the page shows instants ("2026-12-07
    15:08 UTC"): a waiver's history said "from 2026-12-07T15:08:36.984756+00:00 through 2027-01-31
    (UTC)" beside entries stamped "2026-12-07 15:08 UTC". The stored words (audit trail, API) keep
    the exact instant; entries written before this read the same."""
    return _ISO_INSTANT.sub(lambda m: _instant(m.group(0)), str(text or ""))


def _name_breaks(name: str) -> Markup:
    """A code name ("access_revoke_hours") that may wrap after each underscore and nowhere else
    (a <wbr> after each): a narrow column had broken it inside its words ("acces/s_rev/oke_h/ours")."""
    return Markup("_<wbr>").join(escape(part) for part in str(name).split("_"))


def _segment(value: object) -> str:
    """A value as one segment of a link's path, every `/` and `.` in it encoded: Jinja's `urlencode`
    leaves `/` as it is, so a record id `../../x` made a history link that left /ui/records for
    another page of the site, and an id holding a `/` a link to no record."""
    return urllib.parse.quote(str(value), safe="").replace(".", "%2E")


def _build_env() -> Environment:
    env = Environment(loader=FileSystemLoader(str(TEMPLATES)), autoescape=select_autoescape(["html"]),
                      undefined=StrictUndefined, trim_blocks=True, lstrip_blocks=True)
    env.filters.update(instant=_instant, day=_day, label=_label, tojson_pretty=_json, scalar=_scalar, options=_options,
                       fw=_fw_label, fw_options=_fw_options, code=_inline_code,
                       until=_until, due=_due, task_due=_task_due,
                       task_due_short=_task_due_short, filesize=_filesize,
                       deadline_math=_deadline_math, instants_in=_instants_in,
                       name_breaks=_name_breaks, segment=_segment)
    env.globals.update(query=_query, vigil_version=__version__, param_change=versions.param_change_text)
    return env


ENV = _build_env()


def _flash(request: Request) -> dict[str, str] | None:
    raw = request.cookies.get(FLASH_COOKIE)
    if not raw:
        return None
    try:
        data = json.loads(urllib.parse.unquote(raw))
    except ValueError:
        return None
    if not isinstance(data, dict):
        return None
    fields = data.get("fields")
    named = [str(f) for f in fields if isinstance(f, str) and _FIELD.match(f)] if isinstance(fields, list) else []
    return {"kind": str(data.get("kind", "info"))[:20], "text": str(data.get("text", ""))[:500],
            "fields": " ".join(named[:MAX_FLASH_FIELDS])}


def page(request: Request, template: str, *, principal: Principal | None, status: int = 200, title: str,
         active: str | None = None, **context: Any) -> HTMLResponse:
    """Render a full page with the shared context; sets the CSRF cookie when the browser has none yet."""
    token, fresh = csrf.token_for(request)
    flash = _flash(request)
    html = ENV.get_template(template).render(
        request=request, principal=principal, nav=nav_for(principal), active=active, title=title,
        csrf_token=token, flash=flash, can=lambda perm: can(principal, perm), now=clock.now(), **context)
    response = HTMLResponse(html, status_code=status)
    response.headers["Cache-Control"] = "no-store"
    response.headers["X-Content-Type-Options"] = "nosniff"
    response.headers["Referrer-Policy"] = "same-origin"
    response.headers["X-Frame-Options"] = "DENY"
    response.headers["Content-Security-Policy"] = (
        "default-src 'self'; img-src 'self' data:; style-src 'self'; script-src 'self'; "
        "form-action 'self'; frame-ancestors 'none'; base-uri 'none'")
    if fresh:
        csrf.set_cookie(response, request, token)
    if flash is not None:
        response.delete_cookie(FLASH_COOKIE, path=PREFIX)
    return response


def redirect(url: str, *, flash: str | None = None, kind: str = "success",
             fields: list[str] | None = None) -> RedirectResponse:
    """303 See Other after a form POST (Post/Redirect/Get), optionally with a one-shot message and
    the form fields it refuses (their `name`s: the page marks them invalid and focuses the first)."""
    response = RedirectResponse(url, status_code=303)
    if flash:
        named = [f for f in dict.fromkeys(fields or []) if _FIELD.match(f)][:MAX_FLASH_FIELDS]
        value = urllib.parse.quote(json.dumps({"kind": kind, "text": flash[:500], "fields": named}))
        response.set_cookie(FLASH_COOKIE, value, path=PREFIX, httponly=True, samesite="lax", max_age=60)
    return response


def safe_next(value: str | None, default: str = "/ui/") -> str:
    """Only same-site paths under /ui are followed after login or an action (no open redirect)."""
    if not value or not value.startswith(PREFIX) or value.startswith("//") or "\\" in value:
        return default
    parsed = urllib.parse.urlsplit(value)
    if parsed.scheme or parsed.netloc:
        return default
    return value
