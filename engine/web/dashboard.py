"""The officer's dashboard as one schema, built from the services: open findings by framework x
severity and by establishment, overdue and due-soon work, the trend of open findings over the
evaluation runs, and credentials about to expire. `establishment` focuses it on one site (a site
manager's morning view): every panel but the trend counts that site only, and the by-establishment
table still shows every site to compare with.

Counts come from `list_findings(...).total` (one COUNT per cell, on indexed columns), so the cost
does not grow with the number of findings the way loading them would. Credential expiries are
kept for five minutes (see `expiries`); the panel shows the soonest EXPIRY_ROWS of them with the
count of all, and the page lists all of them on request. Each panel is shown only to
roles holding the permission its data needs, and an auditor's grant scopes the findings panels.
"""

from __future__ import annotations

import datetime as dt
import threading
import urllib.parse

from pydantic import BaseModel
from sqlalchemy.orm import Session

from engine import clock
from engine.api.scope import finding_scope
from engine.auth.roles import Permission, allowed
from engine.auth.schemas import Principal
from engine.errors import ErrorDetail, InputError
from engine.findings import currency
from engine.findings import service as findings_service
from engine.findings.schemas import FindingFilter, FindingScope
from engine.records import service as records_service
from engine.rules.derive import RecordView
from engine.rules.derive.credentialing import _common as credentialing
from engine.rules.runner import derive_setup
from engine.tasks import jobs
from engine.tasks import service as tasks_service
from engine.tasks.schemas import TaskFilter, TaskSummary
from engine.web import lookups, taskviews
from engine.web.charts import LineChart, trend

DUE_SOON_DAYS = 14
EXPIRY_DAYS = 90
EXPIRY_ROWS = 12
#: the scheduler escalates every 15 minutes (`engine.scheduler`): an hour without it is not running
ESCALATION_IDLE = dt.timedelta(hours=1)
TREND_RUNS = 60
TREND_TITLE = "Open findings (open or acknowledged) after each evaluation run"
#: Organization -> (what the list was read for: the hour, the window, the org's record versions; the list)
_expiry_lock = threading.Lock()
_expiry_cache: dict[str, tuple[tuple[str, int, int], list[Expiry]]] = {}


class HeatCell(BaseModel):
    severity: str
    count: int
    level: int
    href: str


class HeatRow(BaseModel):
    framework: str
    label: str
    cells: list[HeatCell]
    total: int
    href: str


class EstablishmentRow(BaseModel):
    id: str | None
    name: str
    open: int
    overdue: int
    #: the open findings of the site (of no site, for the organization-wide row)
    href: str
    #: the overdue ones among them: every number of the table links to its list (docs/ui.md)
    overdue_href: str = ""
    #: the dashboard focused on this site (None for the organization-wide row)
    focus: str | None = None


class Expiry(BaseModel):
    """A credential about to lapse: the latest of its chain (holder, kind, jurisdiction), with its
    last valid local day as the credentialing rules count it (C5 expiry rule, C7 zone)."""

    credential_id: str
    kind: str
    person_id: str | None
    person_name: str
    jurisdiction: str | None
    valid_through: dt.date
    days_left: int
    #: the site the holder works at (their latest employment episode), as the rules place them
    establishment_id: str | None = None


class ExpiryList(BaseModel):
    """The credentials shown and how many expire in all: a list cut at EXPIRY_ROWS without its total
    read as if nothing else were expiring."""

    total: int
    items: list[Expiry]


class WorkList(BaseModel):
    total: int
    items: list[TaskSummary]


class DashboardView(BaseModel):
    severities: list[str]
    heat: list[HeatRow]
    column_totals: list[int]
    #: the list each "All" count (per severity, then the grand total) links to
    column_hrefs: list[str] = []
    total_href: str = ""
    total_open: int
    overdue: int
    due_soon: int
    by_establishment: list[EstablishmentRow]
    trend: LineChart | None
    overdue_tasks: WorkList | None
    due_soon_tasks: WorkList | None
    #: the days `due_soon_tasks` looks ahead, for the heading to name the horizon the count used
    due_soon_days: int = DUE_SOON_DAYS
    expiries: ExpiryList | None
    all_expiries: bool
    scoped: bool
    #: when the scheduler last escalated this org's overdue tasks (None: never), and whether that is
    #: too long ago to be running: without `vigil scheduler run` nothing escalates, and no page said so
    escalated_at: dt.datetime | None = None
    escalation_idle: bool = False
    #: the site the dashboard is focused on (id, name), and the sites it can be focused on
    establishment: tuple[str, str] | None = None
    sites: list[tuple[str, str]] = []


def _href(**params: str | None) -> str:
    return "/ui/findings?" + urllib.parse.urlencode({k: v for k, v in params.items() if v})


def _level(count: int, peak: int) -> int:
    if count <= 0:
        return 0
    return max(1, min(5, round(5 * count / max(peak, 1) + 0.49)))


def _count(session: Session, org_id: str, scope: FindingScope | None, *, framework: str | None = None,
           severity: str | None = None, establishment_id: str | None = None, status: str | None = None) -> int:
    f = FindingFilter(state=lookups.OPEN_STATES, framework=framework, severity=severity,
                      establishment_id=establishment_id, status=status)
    return findings_service.list_findings(session, org_id=org_id, filters=f, limit=1, scope=scope).total


def _heat(session: Session, org_id: str, scope: FindingScope | None,
          site: str | None) -> tuple[list[HeatRow], list[int]]:
    frameworks = [scope.framework] if scope is not None else lookups.frameworks()
    grid = {(fw, sev): _count(session, org_id, scope, framework=fw, severity=sev, establishment_id=site)
            for fw in frameworks for sev in lookups.SEVERITIES}
    peak = max(grid.values(), default=0)
    rows = []
    for fw in frameworks:
        cells = [HeatCell(severity=sev, count=grid[(fw, sev)], level=_level(grid[(fw, sev)], peak),
                          href=_href(framework=fw, severity=sev, state=lookups.OPEN_STATES, establishment=site))
                 for sev in lookups.SEVERITIES]
        rows.append(HeatRow(framework=fw, label=lookups.framework_label(fw), cells=cells,
                            total=sum(c.count for c in cells),
                            href=_href(framework=fw, state=lookups.OPEN_STATES, establishment=site)))
    totals = [sum(grid[(fw, sev)] for fw in frameworks) for sev in lookups.SEVERITIES]
    return rows, totals


def _sites(session: Session, org_id: str, scope: FindingScope | None) -> list[tuple[str, str]]:
    """The establishments this viewer may see (an auditor's grant may name some), as (id, name)."""
    known = lookups.establishments(session, org_id=org_id)
    return [(e.id, e.name) for e in known if scope is None or scope.establishments is None
            or e.id in scope.establishments]


def _establishments(session: Session, org_id: str, scope: FindingScope | None, sites: list[tuple[str, str]],
                    total_open: int, total_overdue: int) -> list[EstablishmentRow]:
    rows = []
    for est_id, name in sites:
        rows.append(EstablishmentRow(
            id=est_id, name=name, open=_count(session, org_id, scope, establishment_id=est_id),
            overdue=_count(session, org_id, scope, establishment_id=est_id, status="overdue"),
            href=_href(establishment=est_id, state=lookups.OPEN_STATES),
            overdue_href=_href(establishment=est_id, state=lookups.OPEN_STATES, status="overdue"),
            focus="/ui/dashboard?" + urllib.parse.urlencode({"establishment": est_id})))
    rows.sort(key=lambda r: (-r.open, r.name))
    if scope is None or scope.establishments is None:
        rows.append(EstablishmentRow(id=None, name="Organization-wide (no establishment)",
                                     open=max(0, total_open - sum(r.open for r in rows)),
                                     overdue=max(0, total_overdue - sum(r.overdue for r in rows)),
                                     href=_href(org_wide="1", state=lookups.OPEN_STATES),
                                     overdue_href=_href(org_wide="1", state=lookups.OPEN_STATES, status="overdue")))
    return rows


def _trend(session: Session, org_id: str) -> LineChart:
    """Open findings (the headline's states: open, acknowledged) in the store as each run left it
    (`findings_service.open_after_runs`); held runs (look backs, forecasts) changed nothing and have
    no point."""
    runs = [r for r in findings_service.list_runs(session, org_id=org_id, limit=TREND_RUNS)
            if r.trigger != "stream" and not currency.is_held(r)]
    series = findings_service.open_after_runs(session, org_id=org_id, runs=runs,
                                              open_states=tuple(lookups.OPEN_STATES.split(",")))
    return trend(series, title=TREND_TITLE)


def _tasks(session: Session, principal: Principal, site: str | None) -> tuple[WorkList, WorkList]:
    """The overdue tasks and those due in the next DUE_SOON_DAYS, each the first ten with the count of
    all. The tasks service counts the due-soon ones, each in its own zone (`list_due_soon`): counted
    here from a page of 50 by UTC's date, 120 such tasks read as 50, and every evening in the
    Americas one day too many was counted."""
    viewer = taskviews.viewer(principal)
    overdue = tasks_service.list_tasks(session, org_id=principal.org_id,
                                       filters=TaskFilter(overdue=True, establishment_id=site), viewer=viewer, limit=10)
    soon = tasks_service.list_due_soon(session, org_id=principal.org_id, within_days=DUE_SOON_DAYS,
                                       establishment_id=site, viewer=viewer, limit=10)
    return WorkList(total=overdue.total, items=overdue.items), WorkList(total=soon.total, items=soon.items)


def expiries(session: Session, *, org_id: str, within_days: int = EXPIRY_DAYS,
             limit: int | None = EXPIRY_ROWS, establishment: str | None = None) -> ExpiryList:
    """Credentials expiring in the next `within_days`, soonest first, with the holder's name: the
    first `limit` (None: all) and how many there are.

    Reading every credential's latest version takes a few hundred milliseconds on a large practice,
    and the answer is day-grained, so the whole list is kept per organization until the hour turns
    (a holder's local day starts on some hour of UTC's) or the organization's records change (their
    version count: a renewal imported now is off the list at the next view, where a five-minute
    timer had kept it there, "expiring", after the import). `limit` and `establishment` only cut
    what is shown, so neither costs a second read."""
    key = (clock.now().strftime("%Y-%m-%dT%H"), within_days, records_service.count_versions(session, org_id=org_id))
    with _expiry_lock:
        hit = _expiry_cache.get(org_id)
    if hit is not None and hit[0] == key:
        found = hit[1]
    else:
        found = _expiries(session, org_id=org_id, within_days=within_days)
        with _expiry_lock:
            _expiry_cache[org_id] = (key, found)
    if establishment is not None:
        found = [e for e in found if e.establishment_id == establishment]
    return ExpiryList(total=len(found), items=found if limit is None else found[:limit])


def _expiries(session: Session, *, org_id: str, within_days: int) -> list[Expiry]:
    """Why not every credential whose `expires_at` is near: an early renewal leaves the old record
    expiring beside its successor (noise on the officer's front page), a renewal without an end
    date never lapses, an `end_of_month` card printed 1 December is valid to the 31st, and "days
    left" is counted in the holder's local days, not in 24-hour spans from this instant. All of that
    is the credentialing rules' to say: `credentialing.expiring` picks each chain's credential with
    their loader and `latest`, in the context the runner builds (`derive_setup`: the same zones), so
    the panel never lists a credential the rules see replaced. Holders' names are read in one query
    per 500 people: the full list can run to hundreds of credentials on a large practice."""
    now = clock.now()
    # the sweep's lean read (id, version, data): through `iter_records` (a validated StoredRecord a
    # row) a cold dashboard took 0.6-0.9 s on the large practice's 7,988 credentials
    memory = {t: [RecordView(t, rid, version, data)
                  for rid, version, data in records_service.iter_record_data(session, org_id=org_id, record_type=t)]
              for t in ("establishment", "employment_episode")}
    _, zones, ctx = derive_setup(memory, [], now)
    views = (RecordView("credential", rid, version, data) for rid, version, data
             in records_service.iter_record_data(session, org_id=org_id, record_type="credential", batch_size=10000))
    found = credentialing.expiring(ctx, views, within_days=within_days)
    holders = {c.person_id for c, _ in found if c.person_id}
    names = {pid: " ".join(str(data.get(k)) for k in ("first_name", "last_name") if data.get(k)) or pid
             for pid, _, data in records_service.iter_record_data_by_ids(session, org_id=org_id, record_type="person",
                                                                        ids=holders)}
    out = []
    for cred, days_left in found:
        data = cred.view.data
        person_id = data.get("person_id")
        assert cred.valid_through is not None  # `expiring` lists only credentials that lapse
        # a dangling person reference still lists the credential, under the id it names
        name = names.get(str(person_id), str(person_id)) if person_id else "—"
        out.append(Expiry(credential_id=cred.id, kind=str(data.get("kind") or "credential"), person_id=person_id,
                          person_name=name, jurisdiction=data.get("jurisdiction"), valid_through=cred.valid_through,
                          days_left=days_left, establishment_id=zones.establishment_of("credential", data)))
    return out


def build(session: Session, principal: Principal, *, all_expiries: bool = False,
          establishment: str | None = None) -> DashboardView:
    """`all_expiries` lists every credential expiring in EXPIRY_DAYS instead of the soonest EXPIRY_ROWS;
    `establishment` focuses the counts, the work and the expiries on one site the viewer may see (any
    other is refused: a focus that silently showed nothing would read as "all is well there")."""
    org = principal.org_id
    scope = finding_scope(principal)
    sites = _sites(session, org, scope)
    focus = None
    if establishment is not None:
        focus = next((site for site in sites if site[0] == establishment), None)
        if focus is None:
            raise InputError(f"{establishment!r} is not an establishment you can see here",
                             [ErrorDetail(reason="choose one of: " + (", ".join(i for i, _ in sites) or "none"),
                                          field="establishment")])
    heat, totals = _heat(session, org, scope, establishment)
    total_open = sum(totals)
    overdue = _count(session, org, scope, status="overdue", establishment_id=establishment)
    due_soon = _count(session, org, scope, status="due_soon", establishment_id=establishment)
    overdue_tasks = due_tasks = None
    escalated_at, escalation_idle = None, False
    if allowed(principal.role, Permission.TASKS_MANAGE):
        overdue_tasks, due_tasks = _tasks(session, principal, establishment)
        escalated_at = jobs.last_finished(session, job="escalation", org_id=org)
        escalation_idle = bool(overdue_tasks.total) and (
            escalated_at is None or clock.now() - escalated_at > ESCALATION_IDLE)
    everywhere_open = total_open if establishment is None else _count(session, org, scope)
    everywhere_overdue = overdue if establishment is None else _count(session, org, scope, status="overdue")
    return DashboardView(
        severities=list(lookups.SEVERITIES), heat=heat, column_totals=totals, total_open=total_open, overdue=overdue,
        column_hrefs=[_href(severity=sev, state=lookups.OPEN_STATES, establishment=establishment)
                      for sev in lookups.SEVERITIES],
        total_href=_href(state=lookups.OPEN_STATES, establishment=establishment),
        due_soon=due_soon,
        by_establishment=_establishments(session, org, scope, sites, everywhere_open, everywhere_overdue),
        trend=_trend(session, org) if scope is None and allowed(principal.role, Permission.EVALUATIONS_READ) else None,
        overdue_tasks=overdue_tasks, due_soon_tasks=due_tasks, due_soon_days=DUE_SOON_DAYS,
        expiries=expiries(session, org_id=org, limit=None if all_expiries else EXPIRY_ROWS, establishment=establishment)
        if allowed(principal.role, Permission.RECORDS_READ) else None,
        all_expiries=all_expiries, scoped=scope is not None, establishment=focus, sites=sites,
        escalated_at=escalated_at, escalation_idle=escalation_idle)
