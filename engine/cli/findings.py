"""`vigil findings ...`: list, show, acknowledge, comment, mark false positive, waive; `vigil runs`."""

from __future__ import annotations

import typer
from rich.table import Table

from engine.cli.app import app, console, emit_json, run
from engine.cli.common import open_database, org_or_default, parse_instant

findings_app = typer.Typer(help="Findings: review and act on them.", no_args_is_help=True)
app.add_typer(findings_app, name="findings")



@findings_app.command("list")
def list_findings(
    framework: str = typer.Option(None, "--framework"),
    severity: str = typer.Option(None, "--severity"),
    state: str = typer.Option(None, "--state", help="open,acknowledged,resolved,waived,false_positive"),
    establishment: str = typer.Option(None, "--establishment"),
    rule: str = typer.Option(None, "--rule"),
    limit: int = typer.Option(100, "--limit"),
    org: str = typer.Option(None, "--org"),
    db: str = typer.Option(None, "--db"),
    as_json: bool = typer.Option(False, "--json"),
) -> None:
    """List findings, newest first."""
    from engine.db import unit_of_work
    from engine.findings import service
    from engine.findings.schemas import FindingFilter

    def body():  # type: ignore[no-untyped-def]
        with unit_of_work(open_database(db)) as s:
            return service.list_findings(
                s,
                org_id=org_or_default(org),
                limit=limit,
                filters=FindingFilter(
                    framework=framework, severity=severity, state=state, establishment_id=establishment, rule_id=rule
                ),
            )

    page = run(body)
    if as_json:
        emit_json(page.model_dump(mode="json"))
        return
    table = Table("id", "rule", "severity", "status", "state", "due", "subject", title=f"{page.total} finding(s)")
    for f in page.items:
        table.add_row(f.id, f.rule_id, f.severity, f.status, f.state, f.due or "", f"{f.subject_type}/{f.subject_id}")
    console.print(table)


@findings_app.command("show")
def show(
    finding_id: str,
    org: str = typer.Option(None, "--org"),
    db: str = typer.Option(None, "--db"),
    as_json: bool = typer.Option(False, "--json"),
) -> None:
    """Show a finding: why it fired, its evidence and its history."""
    from engine.db import unit_of_work
    from engine.findings import service

    def body():  # type: ignore[no-untyped-def]
        with unit_of_work(open_database(db)) as s:
            return service.get_finding(s, org_id=org_or_default(org), finding_id=finding_id)

    f = run(body)
    if as_json:
        emit_json(f.model_dump(mode="json"))
        return
    console.print(f"[bold]{f.rule_id}[/] {f.title}  ({f.citation})")
    console.print(f"{f.severity} · {f.status} · {f.state} · due {f.due or '-'} · {f.subject_type}/{f.subject_id}")
    console.print(f.message)
    deadline = f.facts.get("deadline") if isinstance(f.facts, dict) else None
    if deadline:
        console.print(f"deadline: {deadline.get('explanation')}")
    console.print("evidence: " + ", ".join(f"{e['type']}/{e['id']} v{e['version']}" for e in f.evidence))
    for h in f.history:
        console.print(
            f"  {h.at.isoformat()} {h.actor}: {h.kind} {h.from_state or ''}->{h.to_state or ''} {h.reason or ''}"
        )


def _act(finding_id: str, action: str, reason: str | None, org: str | None, db: str | None) -> None:
    from engine.db import unit_of_work
    from engine.findings import lifecycle

    def body() -> None:
        with unit_of_work(open_database(db)) as s:
            lifecycle.transition(
                s, org_id=org_or_default(org), finding_id=finding_id, action=action, actor="cli", reason=reason
            )

    run(body)
    console.print(f"{finding_id}: {action} done")


@findings_app.command("ack")
def ack(finding_id: str, org: str = typer.Option(None, "--org"), db: str = typer.Option(None, "--db")) -> None:
    """Acknowledge a finding."""
    _act(finding_id, "acknowledge", None, org, db)


@findings_app.command("false-positive")
def false_positive(
    finding_id: str,
    reason: str = typer.Option(..., "--reason"),
    org: str = typer.Option(None, "--org"),
    db: str = typer.Option(None, "--db"),
) -> None:
    """Mark a finding as a false positive (a reason is required)."""
    _act(finding_id, "false_positive", reason, org, db)


@findings_app.command("waive")
def waive(
    finding_id: str,
    until: str = typer.Option(..., "--until", help="instant with offset"),
    reason: str = typer.Option(..., "--reason"),
    approver: str = typer.Option(..., "--approver"),
    establishment: str = typer.Option(None, "--establishment", help="waive for a whole establishment"),
    org: str = typer.Option(None, "--org"),
    db: str = typer.Option(None, "--db"),
    as_json: bool = typer.Option(False, "--json"),
) -> None:
    """Waive a finding's rule for its subject (or an establishment) until an instant."""
    from engine.db import unit_of_work
    from engine.findings import lifecycle
    from engine.findings.schemas import WaiverIn

    def body():  # type: ignore[no-untyped-def]
        ends = parse_instant(until, "--until")
        assert ends is not None
        with unit_of_work(open_database(db)) as s:
            return lifecycle.waive(
                s,
                org_id=org_or_default(org),
                actor="cli",
                finding_id=finding_id,
                data=WaiverIn(ends_at=ends, reason=reason, approver=approver, establishment_id=establishment),
            )

    w = run(body)
    emit_json(w.model_dump(mode="json")) if as_json else console.print(f"waiver {w.id} until {w.ends_at.isoformat()}")


@app.command("runs")
def runs(
    limit: int = typer.Option(20, "--limit"),
    org: str = typer.Option(None, "--org"),
    db: str = typer.Option(None, "--db"),
    as_json: bool = typer.Option(False, "--json"),
) -> None:
    """List evaluation runs with their ruleset versions, input hashes and counts."""
    from engine.db import unit_of_work
    from engine.findings import service

    def body():  # type: ignore[no-untyped-def]
        with unit_of_work(open_database(db)) as s:
            return service.list_runs(s, org_id=org_or_default(org), limit=limit)

    items = run(body)
    if as_json:
        emit_json([r.model_dump(mode="json") for r in items])
        return
    table = Table("run", "as of", "backend", "rulesets", "violations", "diff")
    for r in items:
        table.add_row(
            r.id,
            r.as_of.isoformat(),
            r.backend,
            ", ".join(f"{x['id']}@{x['version']}" for x in r.rulesets),
            str(r.counts.get("violations", "")),
            str(r.diff),
        )
    console.print(table)
