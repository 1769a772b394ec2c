"""The liaison's writes in the web UI: a draft (validate, preview its impact on today's records,
publish it with an effective date), withdrawing a version, and scheduling a parameter change.

The draft page keeps the YAML the liaison typed through every refusal: its problems are shown above
the text, not flashed on a redirect that would lose it. The other two forms are short, and follow
the UI's usual Post/Redirect/Get with the message flashed."""

from __future__ import annotations

import datetime as dt
import re
import urllib.parse

import yaml
from fastapi import APIRouter, Depends, Form, Query, Request
from fastapi.responses import Response
from sqlalchemy.orm import Session

from engine import clock, pipeline, yaml_numbers
from engine.api import scope
from engine.auth.roles import Permission, allowed
from engine.auth.schemas import Principal
from engine.errors import ErrorDetail, InputError, PermissionDeniedError, VigilError
from engine.rules import versions
from engine.rules.catalog import version_key
from engine.web import lookups
from engine.web.deps import action, page, web_session
from engine.web.render import page as render
from engine.web.render import redirect

router = APIRouter()
MAX_DRAFT = 400_000


def _starting_text(session: Session, start: str | None) -> str:
    """The YAML of `framework/version` to start a new version from ('' for a blank draft), its
    version already the next minor after the framework's newest (2026.1.0 -> 2026.2.0): the draft is
    a new version, and publishing one with the number it started from is refused. Its window starts
    on the first day publishing takes (today, or the day after the last an evaluation judged) and
    has no end: kept from the version it copies (2026-01-01 to 2026-07-01), the preview counted
    findings for a draft that publishing then refused as dated in the past, and "today" was refused
    once the day's sweep had run."""
    if not start or "/" not in start:
        return ""
    framework, version = start.split("/", 1)
    text = lookups.ruleset(framework, version).content.decode()
    newest = max((v.version for v in versions.list_versions() if v.framework == framework), key=version_key,
                 default=version)
    major, minor = (version_key(newest) + (0, 0))[:2]
    first = pipeline.first_unjudged_day(session, framework=framework, day=clock.now().date())
    text = re.sub(r"(?m)^version:.*$", f"version: {major}.{minor + 1}.0", text, count=1)
    text = re.sub(r"(?m)^effective_from:.*$", f"effective_from: {first.isoformat()}", text, count=1)
    return re.sub(r"(?m)^effective_to:.*\n", "", text, count=1)


@router.get("/rulesets/draft")
def draft_page(request: Request, start: str | None = Query(None, alias="from", max_length=100),
               principal: Principal = Depends(page(Permission.RULESETS_WRITE)),
               session: Session = Depends(web_session, scope="function")) -> Response:
    return _draft(request, principal, text=_starting_text(session, start), effective_from="", status=200)


def _draft(request: Request, principal: Principal, *, text: str, effective_from: str, status: int,
           problems: list[ErrorDetail] | None = None, message: str | None = None, impact: object = None) -> Response:
    return render(request, "rulesets/draft.html", principal=principal, title="Draft a ruleset version",
                  active="rulesets", text=text, effective_from=effective_from, problems=problems or [],
                  message=message, impact=impact, can_publish=allowed(principal.role, Permission.RULESETS_PUBLISH),
                  status=status)


@router.post("/rulesets/draft")
def draft_action(request: Request, text: str = Form(..., max_length=MAX_DRAFT), effective_from: str = Form(""),
                 do: str = Form("preview", pattern="^(preview|publish)$"),
                 principal: Principal = Depends(action(Permission.RULESETS_WRITE)),
                 session: Session = Depends(web_session, scope="function")) -> Response:
    """Preview the draft's impact, or publish it; a refusal re-renders the page with the text kept."""
    day = None
    try:
        if effective_from.strip():
            try:
                day = dt.date.fromisoformat(effective_from.strip())
            except ValueError:
                raise InputError("the effective date is not a date", [ErrorDetail(
                    reason=f"{effective_from!r} is not YYYY-MM-DD", field="effective_from")]) from None
        if do == "publish":
            if not allowed(principal.role, Permission.RULESETS_PUBLISH):
                raise PermissionDeniedError(f"role {principal.role} may not {Permission.RULESETS_PUBLISH.value}")
            pub = pipeline.publish_ruleset(session, org_id=principal.org_id, actor=principal.actor,
                                           draft=text.encode(), name="draft.yaml", effective_from=day)
            then = f", replacing {pub.replaces} from that day" if pub.replaces else ""
            return redirect(f"/ui/rulesets/{pub.framework}/{urllib.parse.quote(pub.version)}",
                            flash=f"Published {pub.framework} {pub.version}, in force from {pub.effective_from}{then}; "
                                  f"{pub.scenarios_said()}.")
        # the effective date typed in is the day the draft would start judging: preview it then (it had
        # previewed today whatever the form said: the liaison probe)
        when = dt.datetime.combine(day, dt.time(), tzinfo=dt.UTC) if day is not None else None
        impact = pipeline.preview_draft(session, org_id=principal.org_id, draft=text.encode(), name="draft.yaml",
                                        as_of=when if when is not None and when > clock.now() else None,
                                        effective_from=day)
        return _draft(request, principal, text=text, effective_from=effective_from, status=200, impact=impact)
    except PermissionDeniedError:
        raise
    except VigilError as exc:
        session.rollback()
        return _draft(request, principal, text=text, effective_from=effective_from, status=exc.http_status,
                      problems=exc.details, message=exc.message)


@router.post("/rulesets/{framework}/{version}/withdraw")
def withdraw(framework: str, version: str, reason: str = Form(..., max_length=4000), on: str = Form(""),
             principal: Principal = Depends(action(Permission.RULESETS_PUBLISH)),
             session: Session = Depends(web_session, scope="function")) -> Response:
    day = _day(on, "on")
    w = pipeline.withdraw_ruleset(session, org_id=principal.org_id, actor=principal.actor, framework=framework,
                                  version=version, reason=reason, on=day)
    then = (f"{version} never takes effect." if w.never_in_force else
            f"{w.restores} is in force from that day." if w.restores else "")
    did = (f"Moved the withdrawal of {framework} {version} from {w.moved_from} to {w.on}." if w.moved_from
           else f"Withdrew {framework} {version} from {w.on}.")
    return redirect(f"/ui/rulesets/{framework}/{urllib.parse.quote(version)}", flash=f"{did} {then}".strip())


@router.post("/params")
def set_param(framework: str = Form(..., max_length=40), name: str = Form(..., max_length=100),
              value: str = Form(..., max_length=4000), effective_from: str = Form(""),
              approved_by: str = Form(..., max_length=200), reason: str = Form(..., max_length=4000),
              principal: Principal = Depends(action(Permission.RULESETS_PUBLISH)),
              session: Session = Depends(web_session, scope="function")) -> Response:
    """Schedule a parameter change; the value is read as YAML (12, 0.5, true, [a, b], text). A refusal
    comes back to the form with its reason said once, by the form's labels (see `_refusal`).

    A refusal goes to the page's top, not to the framework's section (`#pp-hipaa`): the browser's
    jump to the section left the message 5,800 px above the window. The page's script moves it
    beside the field it names (the form's fields are named to it) and focuses that field; without
    the script, the message at the top is what the person sees first."""
    scope.require_framework(principal, framework)
    day = _day(effective_from, "effective_from")  # refused as any form's field is (engine.web.errors)
    try:
        try:
            parsed = yaml_numbers.safe_load(value)
        except yaml.YAMLError:
            raise InputError("the value is not a YAML value",
                             [ErrorDetail(reason=f"{value[:100]!r} cannot be read: write 12, 0.5, true, [a, b] or "
                                                 "text", field="value")]) from None
        change = pipeline.set_practice_param(session, org_id=principal.org_id, actor=principal.actor,
                                             framework=framework, name=name, value=parsed, approved_by=approved_by,
                                             reason=reason, effective_from=day)
    except VigilError as exc:
        if exc.http_status not in (409, 422):
            raise
        session.rollback()
        return redirect("/ui/params", flash=_refusal(exc, name), kind="error",
                        fields=[d.field for d in exc.details if d.field])
    return redirect(f"/ui/params#pp-{framework}",
                    flash=f"{framework}.{name}: {change.before!r} -> {change.value!r} from {change.effective_from}.")


#: The liaison's forms' fields by their labels on the page (the services' details name them by code):
#: the change form's, and withdraw's `on`, which is labelled "From" as the change's `effective_from` is.
_LABELS = {"value": "New value", "effective_from": "From", "on": "From", "approved_by": "Approved by",
           "reason": "Reason", "name": "Parameter"}


def _refusal(exc: VigilError, name: str) -> str:
    """A refused change in one sentence, each field by its label: "access_revoke_hours was not
    changed: New value: 'twelve' is not a number (...)". The services' words name the fields by
    code ("hipaa.access_revoke_hours: expected number", "effective_from is not a date"), which the
    page's script could not match to a field either. A refusal about no field keeps its message."""
    parts = [f"{_LABELS.get(d.field, d.field)}: {_plain(d.reason, d.field)}"
             for d in exc.details if d.field and d.reason]
    if not parts:
        reasons = [d.reason for d in exc.details if d.reason and d.reason not in exc.message]
        return exc.message + (": " + "; ".join(reasons) if reasons else "")
    return f"{name} was not changed: " + "; ".join(parts)


def _plain(reason: str, field: str) -> str:
    """A service's reason about `field` without the code names: "effective_from 2026-01-01 is before
    today" is "2026-01-01 is before today", the CLI's "set it with --from 2027-01-01" is "From"."""
    reason = re.sub(rf"^{re.escape(field)}\s+(is\s+)?", "", reason)
    return re.sub(r"set it with --from (\S+) or later", r"set From to \1 or later", reason)


def _day(text: str, field: str) -> dt.date | None:
    """A form's date field ("From"), refused by its label as the page shows it (it said "on is not a
    date" and "effective_from is not a date")."""
    if not text.strip():
        return None
    try:
        return dt.date.fromisoformat(text.strip())
    except ValueError:
        label = _LABELS.get(field, field)
        raise InputError(f"{label}: {text.strip()!r} is not a date", [ErrorDetail(
            reason="write it as YYYY-MM-DD", field=field)]) from None

