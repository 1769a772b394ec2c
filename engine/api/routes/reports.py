"""Reports the regulators take: the OSHA ITA 300A summary and the MIPS/QPP submission body.

Both are evidence exports, read by whoever may read evidence packets (`packets.read`: admin,
officer, auditor). An auditor's grant applies as everywhere else (`engine.api.scope`): the report's
framework must be the granted one (osha, cms) and its year must meet the audit window, else the
request is refused as one outside the grant (403, as a findings or packets filter asking beyond it);
an establishment grant narrows the 300A to those establishments, and it excludes the QPP body,
which is TIN-wide (as an org-wide packet is outside such a grant).
"""

from __future__ import annotations

import datetime as dt
from typing import Literal

from fastapi import APIRouter, Depends, Query
from fastapi.responses import PlainTextResponse, Response
from sqlalchemy.orm import Session

from engine.api import scope
from engine.api.deps import get_session, require
from engine.auth.roles import Permission
from engine.auth.schemas import Principal
from engine.errors import ErrorDetail, PermissionDeniedError
from engine.reports import ita300a, qpp
from engine.reports.schemas import Ita300AReport, QppReport

router = APIRouter(tags=["reports"])

YEAR = Query(..., ge=1900, le=2199, description="calendar / performance year")


class Ita300AOut(Ita300AReport):
    """The report with its CSV text."""

    csv: str


def _granted(principal: Principal, framework: str, year: int, *, org_wide: bool) -> list[str] | None:
    """The establishments an auditor may see in a report of `framework` for `year` (None: all);
    PermissionDeniedError naming every way the grant does not cover it.

    Why 403 and not 404: the report is asked for by query, as the findings and packets lists are,
    and those refuse a filter beyond the grant with `permission_denied.outside_grant`; the 404 had
    said "outside the audit grant" in its errors anyway, so it hid nothing."""
    grant = scope.finding_scope(principal)
    if grant is None:
        return None
    outside = []
    if framework != grant.framework:  # the report has no framework parameter: nothing of the caller's is wrong
        outside.append(ErrorDetail(reason=f"the report is of {framework}, outside your grant ({grant.framework})"))
    if dt.date(year, 12, 31) < grant.window_from or dt.date(year, 1, 1) > grant.window_to:
        outside.append(ErrorDetail(reason=f"{year} is outside your audit window ({grant.window_from} to "
                                          f"{grant.window_to})", field="year"))
    if org_wide and grant.establishments is not None:
        outside.append(ErrorDetail(reason=f"the report covers every establishment, and your grant names "
                                          f"{', '.join(grant.establishments) or 'none'}"))
    if outside:
        raise PermissionDeniedError(f"the {framework} report for {year} is outside your grant", outside,
                                    code="permission_denied.outside_grant")
    return grant.establishments


#: an auditor's 403: the grant's framework, window or establishments do not cover the report
OUTSIDE_GRANT = "signed in, but the role does not allow this; or an auditor whose grant does not cover the report " \
                "(another framework, a year outside the audit window, establishments outside the grant: " \
                "`permission_denied.outside_grant`, naming each)"


@router.get("/reports/ita-300a", response_model=Ita300AOut,
            responses={200: {"content": {"text/csv": {"schema": {"type": "string"}}},
                             "description": "the report, or with format=csv the file itself (`text/csv`, a "
                                            "download named ita-300a-<year>.csv)"},
                       403: {"description": OUTSIDE_GRANT}})
def ita_300a(
    year: int = YEAR,
    establishment: str | None = Query(None, min_length=1, description="one establishment id only"),
    format: Literal["json", "csv"] = Query("json", description="json: the report with notes; csv: the file"),
    principal: Principal = Depends(require(Permission.PACKETS_READ)),
    session: Session = Depends(get_session, scope="function"),
) -> Ita300AOut | Response:
    """OSHA ITA Form 300A summary for a year: one row per establishment whose records were required,
    with notes naming every blank and why, and the checks it fails."""
    visible = _granted(principal, "osha", year, org_wide=False)
    report = ita300a.build_ita_300a(session, org_id=principal.org_id, year=year, establishment_id=establishment,
                                    visible=visible)
    text = ita300a.render_csv(report)
    if format == "csv":
        return PlainTextResponse(text, media_type="text/csv",
                                 headers={"Content-Disposition": f'attachment; filename="ita-300a-{year}.csv"'})
    return Ita300AOut(**report.model_dump(exclude={"ready"}), csv=text)


@router.get("/reports/qpp", response_model=QppReport, responses={403: {"description": OUTSIDE_GRANT}})
def qpp_submission(
    year: int = YEAR,
    tin: str = Query(..., description="the group's TIN: 9 digits, with or without the dash "
                                          "(847102935 or 84-7102935)"),
    npi: str | None = Query(None, description="one clinician (individual submission), 10 digits"),
    submission_method: Literal["registry", "electronicHealthRecord"] = Query("registry"),
    principal: Principal = Depends(require(Permission.PACKETS_READ)),
    session: Session = Depends(get_session, scope="function"),
) -> QppReport:
    """MIPS/QPP submission body (quality category) for a performance year and TIN, with the measure
    statistics it came from, notes and the checks it fails."""
    _granted(principal, "cms", year, org_wide=True)
    return qpp.build_qpp_submission(session, org_id=principal.org_id, year=year, tin=tin, npi=npi,
                                    submission_method=submission_method)
