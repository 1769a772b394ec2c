"""roles.yaml is checked against the practice's own people: a holder it has no `person` record or
user of is named by the evaluation and by `role_holders`.

Found by a new-practice black-box pass: the shipped roles.yaml holds the demo practice's ids, and a
new practice's first evaluation gave every task to P-0002 and P-0003, people it does not have,
without a word.
"""

from __future__ import annotations

import pytest
from sqlalchemy import Engine

from engine.auth import service as auth
from engine.auth.schemas import UserIn
from engine.db import unit_of_work
from engine.tasks import holders
from tests import factories as f
from tests.storage.test_tasks import ORG, START, T, _evaluate, _import

# tests/fixtures/policies/roles.yaml: compliance_officer P-CO, practice_manager P-MGR,
# hr_manager P-HR1 at E1 and P-HR2 at E2, safety_lead P-SAFE at E1

pytestmark = pytest.mark.usefixtures("fixture_rules_and_policies")


def _people(engine: Engine) -> None:
    """P-CO a person record, P-HR1 an episode's person who has left (no person record: the records know them
    all the same), P-MGR the person a user stands for, P-HR2 and P-SAFE nobody."""
    _import(engine, [f.establishment(), {"type": "person", "id": "P-CO", "first_name": "Ana", "last_name": "Lee"},
                     f.episode("EP1", "P1", START),
                     f.episode("EP-HR1", "P-HR1", "2024-01-02T09:00:00-06:00", "2026-01-31T17:00:00-06:00")])
    with unit_of_work(engine) as s:
        auth.create_user(s, org_id=ORG, actor="test", data=UserIn(
            username="mgr", password="manager-password", role="officer", person_id="P-MGR"))


def test_each_holder_is_present_gone_or_not_on_file(engine: Engine) -> None:
    _people(engine)
    with unit_of_work(engine) as s:
        found = holders.role_holders(s, org_id=ORG, as_of=T("2026-02-25T12:00:00+00:00"))
    standing = {(h.role, h.establishment): (h.holder, h.standing, h.name) for h in found}
    assert standing == {
        ("compliance_officer", "*"): ("P-CO", "present", "Ana Lee"),
        ("practice_manager", "*"): ("P-MGR", "present", None),
        ("hr_manager", "E1"): ("P-HR1", "left on 2026-01-31", None),
        ("hr_manager", "E2"): ("P-HR2", "not on file", None),
        ("safety_lead", "E1"): ("P-SAFE", "not on file", None),
    }
    assert found[0].role == "compliance_officer"  # the fallback role first: the one everything ends at


def test_an_evaluation_names_each_holder_not_on_file_once_with_their_roles(engine: Engine) -> None:
    _people(engine)
    outcome = _evaluate(engine, "2026-02-25T12:00:00+00:00")
    assert len(outcome.warnings) == 3
    hr2, safe, site = outcome.warnings
    assert "names the site E2, which is no establishment of clinic-a: its lines are never used" in site
    assert "gives hr_manager at E2 to P-HR2, whom clinic-a's records and users do not know" in hr2
    assert "gives safety_lead at E1 to P-SAFE" in safe and "tasks of that role go to no one here" in safe
    assert "roles.yaml" in safe and "vigil tasks roles" in safe


def test_a_fallback_role_held_by_nobody_is_named(engine: Engine, tmp_path, monkeypatch: pytest.MonkeyPatch) -> None:
    (tmp_path / "pol").mkdir()
    (tmp_path / "pol" / "roles.yaml").write_text("fallback_role: compliance_officer\n"
                                                  "roles:\n  hr_manager: {'*': P-CO}\n")
    monkeypatch.setenv("VIGIL_POLICIES_DIR", str(tmp_path / "pol"))
    _import(engine, [f.establishment(), {"type": "person", "id": "P-CO", "first_name": "Ana", "last_name": "Lee"}])
    with unit_of_work(engine) as s:
        found = holders.role_holders(s, org_id=ORG)
    assert [(h.role, h.standing) for h in found] == [("hr_manager", "present")]
    (line,) = holders.not_on_file_lines(found, org_id=ORG)
    assert "gives the fallback role compliance_officer" in line and "to nobody" in line
