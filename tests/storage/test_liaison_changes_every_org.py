"""A liaison's change (a parameter, a ruleset published or withdrawn) applies to every organization
of the database, since rulesets and practice.yaml are one per deployment; so it is recorded in the
audit trail of each, not only of the organization it was made from (SQLite and PostgreSQL)."""

from __future__ import annotations

import datetime as dt
import shutil
from pathlib import Path

import pytest
from sqlalchemy import Engine

from engine import clock, db, pipeline
from engine.audit import service as audit
from engine.records import service as records
from tests import factories as f

TODAY = dt.datetime(2026, 11, 30, 15, tzinfo=dt.UTC)
FIXTURES = Path(__file__).resolve().parents[1] / "fixtures"


@pytest.fixture
def two_practices(engine: Engine, monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Path:
    root = tmp_path / "rulesets"
    shutil.copytree(FIXTURES / "rulesets", root)
    monkeypatch.setenv("VIGIL_RULESETS_DIR", str(root))
    monkeypatch.setenv("VIGIL_PRACTICE_PARAMS", str(tmp_path / "practice.yaml"))
    monkeypatch.setenv("VIGIL_POLICIES_DIR", str(FIXTURES / "policies"))  # SOP-DEMO's template
    with db.unit_of_work(engine) as session:
        for org in ("org-a", "org-b"):
            records.import_records(session, org_id=org, records=[f.establishment()], actor="t", source="t")
    return root


def actions(engine: Engine, org_id: str) -> list[tuple[str, str, str]]:
    with db.unit_of_work(engine) as session:
        return [(e.action, e.entity_id, e.payload.get("made_in_org", "")) for e in
                audit.list_entries(session, org_id=org_id, limit=100) if not e.action.startswith("records.")]


def test_each_change_lands_in_every_organizations_chain(engine: Engine, two_practices: Path) -> None:
    draft = (two_practices / "demo" / "demo-2.0.0.yaml").read_bytes().replace(b"version: 2.0.0", b"version: 3.0.0")
    with clock.frozen(TODAY), db.unit_of_work(engine) as session:
        pipeline.set_practice_param(session, org_id="org-a", actor="user:lee", framework="demo",
                                    name="new_hire_days", value=5, approved_by="Dr. Rivera", reason="policy 4.2",
                                    effective_from=dt.date(2026, 12, 15))
        pipeline.publish_ruleset(session, org_id="org-a", actor="user:lee", draft=draft, name="draft.yaml",
                                 effective_from=dt.date(2027, 1, 1))
        pipeline.withdraw_ruleset(session, org_id="org-a", actor="user:lee", framework="demo", version="3.0.0",
                                  reason="postponed")
    expected = [("parameter.changed", "demo.new_hire_days", "org-a"), ("ruleset.published", "demo@3.0.0", "org-a"),
                ("ruleset.withdrawn", "demo@3.0.0", "org-a")]
    assert actions(engine, "org-a") == expected
    assert actions(engine, "org-b") == expected
    with db.unit_of_work(engine) as session:
        (entry,) = audit.list_entries(session, org_id="org-b", limit=1, where=audit.AuditQuery(action="parameter"))
        assert entry.payload["recorded_for_orgs"] == ["org-a", "org-b"] and entry.actor == "user:lee"
        assert audit.verify(session).ok


def test_a_day_another_organization_judged_is_refused_without_naming_its_runs(engine: Engine,
                                                                             two_practices: Path) -> None:
    """Multi-org probe: the refusal listed another practice's run ids."""
    from engine.errors import InputError

    with clock.frozen(TODAY), db.unit_of_work(engine) as session:
        theirs = pipeline.evaluate(session, org_id="org-b", as_of=TODAY, actor="t").run
    assert theirs is not None
    with clock.frozen(TODAY), db.unit_of_work(engine) as session, pytest.raises(InputError) as refused:
        pipeline.set_practice_param(session, org_id="org-a", actor="user:lee", framework="demo",
                                    name="new_hire_days", value=5, approved_by="Dr. Rivera", reason="policy 4.2",
                                    effective_from=TODAY.date())  # named: with none, the first day unjudged
    reason = refused.value.details[0].reason
    assert "1 evaluation run(s) judged demo as of 2026-11-30 or later (1 of other organizations of this " \
           "deployment)" in reason and theirs.id not in reason
