"""SOP templates (front matter, sandboxed rendering, checklist) and the roles/escalation policies."""

from __future__ import annotations

from pathlib import Path

import pytest

from engine.tasks import policy, templates
from engine.tasks.errors import PolicyError

FIXTURES = Path(__file__).resolve().parents[2] / "fixtures" / "policies"


def test_fixture_sops_load_and_render_a_checklist_from_the_steps_section() -> None:
    sop = templates.load_sop("SOP-DEMO", FIXTURES)
    assert (sop.owner_role, sop.default_due_days, sop.recurrence) == ("hr_manager", 5, None)
    out = templates.render_sop(sop, {"finding": {"subject": {"id": "EP7"}, "message": "Late.", "due": "2026-03-03"}})
    assert out.title == "Train the new hire on episode EP7"
    assert out.checklist == ["Book the training for the person on episode EP7 before 2026-03-03.",
                             "Record the training (`course`, `completed_at`) in the training system.",
                             "Attach the certificate."]
    assert "Late." in out.body
    monthly = templates.load_sop("SOP-MONTHLY-CHECK", FIXTURES)
    assert monthly.recurrence is not None and (monthly.recurrence.every, monthly.recurrence.unit) == (1, "months")
    assert [s.id for s in templates.list_sops(FIXTURES)] == sorted(p.stem for p in (FIXTURES / "sops").glob("*.md"))


def _sop(body: str) -> object:
    return templates.parse_sop(f"---\nid: SOP-X\ntitle: t\nowner_role: r\ndefault_due_days: 1\n---\n{body}", "x.md")


def test_the_body_is_rendered_in_a_sandbox() -> None:
    out = templates.render_sop(_sop("1. [{{ ''.__class__.__mro__ }}]\n"), {"finding": {}})  # type: ignore[arg-type]
    assert out.checklist == ["[]"]  # unsafe attributes are not reachable
    with pytest.raises(PolicyError):
        templates.render_sop(_sop("{{ ''.__class__.__mro__[1].__subclasses__() }}"), {})  # type: ignore[arg-type]
    with pytest.raises(PolicyError):
        templates.render_sop(_sop("{% for i in range(10**9) %}{% endfor %}"), {})  # type: ignore[arg-type]


@pytest.mark.parametrize("text, where", [
    ("no front matter", "front matter"),
    ("---\nid: SOP-X\ntitle: [unclosed\n---\nbody", "YAML"),
    ("---\nid: SOP-X\ntitle: t\nowner_role: r\n---\nbody", "default_due_days"),
    ("---\nid: SOP-X\ntitle: t\nowner_role: r\ndefault_due_days: 1\nrecurrence: {every: 0, unit: months}\n---\n",
     "every"),
    ("---\nid: SOP-X\ntitle: t\nowner_role: r\ndefault_due_days: 1\n---\n{% if %}", "syntax"),
])
def test_broken_sops_are_located_policy_errors(text: str, where: str) -> None:
    with pytest.raises(PolicyError) as info:
        templates.parse_sop(text, "SOP-X.md")
    assert where in str(info.value) and all(d.file == "SOP-X.md" for d in info.value.details)


def test_an_sop_id_cannot_escape_the_directory() -> None:
    with pytest.raises(PolicyError):
        templates.sop_path("../../etc/passwd", FIXTURES)


def test_roles_resolve_per_establishment_with_the_fallback() -> None:
    roles = policy.load_roles(FIXTURES)
    assert roles.resolve("hr_manager", "E2") == policy.Assignment("P-HR2", "hr_manager@E2")
    assert roles.resolve("hr_manager", "E3").person == "P-CO"
    assert roles.resolve("nobody_role", None).via.startswith("fallback compliance_officer@*")
    empty = policy.RolePolicy(roles={})
    assert empty.resolve("x", "E1").person is None


def test_escalation_policy_and_environment_overrides(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("VIGIL_SMTP_PORT", "2525")
    monkeypatch.setenv("VIGIL_WEBHOOK_URL", "http://127.0.0.1:1/h")
    esc = policy.load_escalation(FIXTURES)
    assert esc.chain == ["owner", "practice_manager", "compliance_officer"] and esc.step_interval_days == 2
    assert (esc.smtp_port, esc.webhook_url, esc.max_attempts) == (2525, "http://127.0.0.1:1/h", 4)
    repo = policy.load_escalation(policy.REPO / "policies")
    assert repo.chain[0] == "owner" and repo.chain[-1] == "compliance_officer"


def test_a_broken_policy_file_is_a_located_error(tmp_path: Path) -> None:
    (tmp_path / "escalation.yaml").write_text("escalation:\n  chain: [owner\n")
    with pytest.raises(PolicyError) as info:
        policy.load_escalation(tmp_path)
    assert info.value.details[0].line is not None
    (tmp_path / "escalation.yaml").write_text("escalation:\n  step_interval: {days: -1}\n")
    with pytest.raises(PolicyError):
        policy.load_escalation(tmp_path)


REPO_POLICIES = Path(__file__).resolve().parents[3] / "policies"


@pytest.mark.parametrize("sop_id", sorted(p.stem for p in (REPO_POLICIES / "sops").glob("SOP-*.md")))
def test_a_shipped_sop_never_prints_none_for_a_finding_with_no_due_date(sop_id: str) -> None:
    """A standing violation has no `due`: eleven credentialing SOPs had printed "(due None)" in a
    license task's first step. Every value a finding may lack is None here, as the task's context gives it."""
    import datetime as dt

    from engine.findings.schemas import Finding
    from engine.tasks.sync import finding_context

    at = dt.datetime(2026, 12, 7, 12, tzinfo=dt.UTC)
    finding = Finding(
        id="F-1", org_id="ORG", rule_id="CRED-LIC-001", framework="credentialing", ruleset_version="2026.1.0",
        title="License", citation="State law", severity="critical", advisory=False, kind="standing",
        subject_type="person", subject_id="P-1", occurrence_key="P-1", establishment_id=None, status="violation",
        due=None, message="P-1 saw patients with no active license.", evidence=[], facts={}, sop=sop_id,
        state="open", opened_at=at, opened_by_run=None, resolved_at=None, resolved_by_run=None,
        last_seen_run=None, updated_at=at)
    sop = templates.load_sop(sop_id, REPO_POLICIES)
    out = templates.render_sop(sop, finding_context(finding))
    assert "None" not in out.title and "None" not in out.body, out.body
