"""What `rules validate` and `rules publish` say when they refuse, from a black-box pass:

- a publication refused for a scenario names the scenario's real file, not the deleted staging copy;
- a problem is said once: a practice value two versions cannot take names both versions, and a
  message that does not parse is not printed twice;
- an SOP reference written as a path is refused by the task engine's own SOP-id rule (it had passed,
  and the task engine then opened the rule's tasks with generic steps);
- a version with no rules is refused (it had published, and evaluations found nothing after it);
- a date that is not one names its field and what was written.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest

from engine import clock
from engine.errors import ErrorDetail, RulesetError, VigilError
from engine.rules import publish
from engine.rules.loader import load_ruleset_bytes
from engine.rules.validate import validate_bytes, validate_paths
from engine.tasks import templates
from engine.tasks.errors import PolicyError
from tests.ruleset_texts import PUB_RULESET, PUB_SCENARIO, pub_folder

TODAY = dt.datetime(2026, 6, 1, 12, tzinfo=dt.UTC)

V1 = PUB_RULESET

SCENARIO = PUB_SCENARIO


def version(number: str, text: str = V1) -> str:
    return text.replace("version: 1.0.0", f"version: {number}")


@pytest.fixture
def root(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    with clock.frozen(TODAY):
        yield pub_folder(tmp_path, monkeypatch)


def refusal(draft: str) -> VigilError:
    with pytest.raises(VigilError) as exc:
        publish.plan_publication(draft.encode(), name="draft.yaml", effective_from=dt.date(2026, 7, 1))
    return exc.value


def everything_said(exc: VigilError) -> str:
    return " | ".join([exc.message, *(str(d) for d in exc.details)])


# -- a refusal names the real file ------------------------------------------------------------------------


def test_a_publication_refused_for_a_scenarios_records_names_the_scenario_where_it_is(root: Path) -> None:
    """It had said /tmp/vigil-publish-_lu8f9b5/pub/tests/bad.yaml, deleted by the time it was read."""
    bad = root / "pub" / "tests" / "bad.yaml"
    bad.write_text(SCENARIO.replace('start_at: "2026-05-04T09:00:00-05:00"', 'start_at: "not a time"'))
    exc = refusal(version("1.1.0"))
    assert exc.code == "ruleset.publish.invalid"
    assert [d.file for d in exc.details] == [str(bad)], exc.details
    assert "vigil-publish-" not in everything_said(exc)


def test_a_publication_refused_running_a_scenario_names_the_scenario_where_it_is(root: Path) -> None:
    """A scenario's params the draft cannot take are met only when it runs."""
    bad = root / "pub" / "tests" / "bad.yaml"
    bad.write_text(SCENARIO.replace("records:", "params: {train_days: thirty}\nrecords:"))
    exc = refusal(version("1.1.0"))
    assert isinstance(exc, RulesetError) and "vigil-publish-" not in everything_said(exc), everything_said(exc)
    assert str(bad) in everything_said(exc)


# -- each problem once ----------------------------------------------------------------------------------


def test_a_practice_value_no_version_can_take_is_said_once_naming_the_versions(root: Path, tmp_path: Path) -> None:
    (root / "pub" / "pub-1.1.0.yaml").write_text(version("1.1.0").replace("2026-01-01", "2026-07-01"))
    (tmp_path / "practice.yaml").write_text("params:\n  pub: {train_days: thirty}\n", encoding="utf-8")
    for target in (root, root / "pub"):
        report = validate_paths([target])
        (problem,) = report.problems
        assert problem.file == str(tmp_path / "practice.yaml")  # the file in use, not "policies/practice.yaml"
        assert problem.field == "pub.train_days" and "'thirty'" in problem.reason
        assert "(checking pub@1.0.0 and pub@1.1.0)" in problem.reason


def test_a_message_that_does_not_parse_is_said_once(root: Path) -> None:
    broken = V1.replace("message: Train {{ episode.person_id }} by {{ due }}.", 'message: "{% if %} Train"')
    report = validate_bytes(version("1.1.0", broken).encode(), "draft.yaml")
    messages = [d for d in report.problems if d.field == "message"]
    assert len(messages) == 1 and len(report.problems) == 1, report.problems
    assert messages[0].rule_id == "PUB-TRN-001"


# -- an SOP reference is an SOP id, by the task engine's rule ----------------------------------------------


def sop_problems(sop: str) -> list[ErrorDetail]:
    report = validate_bytes(version("1.1.0", V1.replace("sop: SOP-T", f"sop: {sop}")).encode(), "draft.yaml")
    return [d for d in report.problems if d.field == "sop"]


@pytest.mark.parametrize("sop", ["../sops/SOP-T", "../../../../work/main/README", "sops/SOP-T", "SOP..T"])
def test_an_sop_written_as_a_path_is_refused_naming_the_rule(root: Path, sop: str) -> None:
    """`../sops/SOP-T` found the template and passed; the task engine then refused it ("not an SOP id")."""
    (problem,) = sop_problems(sop)
    assert (problem.rule_id, problem.file, problem.line) == ("PUB-TRN-001", "draft.yaml", 22)
    assert f"not an SOP id: {sop!r}" in problem.reason and "generic steps" in problem.reason
    exc = refusal(version("1.1.0", V1.replace("sop: SOP-T", f"sop: {sop}")))
    assert exc.code == "ruleset.publish.invalid" and "not an SOP id" in everything_said(exc)


@pytest.mark.parametrize("sop", ["SOP-T", "SOP-T.v2", "../sops/SOP-T", "a/b", "SOP T", "SOP..T", "SOP-MISSING"])
def test_validation_takes_an_sop_id_exactly_when_the_task_engine_does(root: Path, sop: str) -> None:
    try:
        templates.sop_path(sop)
        engine_takes = True
    except PolicyError:
        engine_takes = False
    said = " ".join(d.reason for d in sop_problems(sop))
    assert ("not an SOP id" not in said) == engine_takes, said


# -- the SOP a rule names passes `vigil tasks sops`' checks ------------------------------------------------

SOP_T = (
    "---\nid: SOP-T\ntitle: Train new hires\nowner_role: compliance_officer\ndefault_due_days: 7\n---\n"
    "## Steps\n1. Train {{ finding.subject.id }}{% if finding.due %} by {{ finding.due }}{% endif %}.\n")


@pytest.mark.parametrize("template, reason", [
    (SOP_T.replace("{% if finding.due %}", "{% if finding.due %"), "template syntax error"),
    (SOP_T.replace("id: SOP-T", "id: SOP-TRAIN"), "front matter id SOP-TRAIN does not match the file name"),
    (SOP_T.replace("default_due_days: 7", "default_due_days: seven"), "valid integer"),
    (SOP_T.split("---\n", 2)[2], "an SOP starts with YAML front matter"),
    (SOP_T.replace("owner_role: compliance_officer", "owner_role: chief_wizard"),
     "owner_role 'chief_wizard' is no role of roles.yaml"),
    (SOP_T + "{{ finding.mesage }}\n", "finding has no field 'mesage' (did you mean message?)"),
    (SOP_T + "{{ ''.__class__.__mro__ }}\n", "starting with an underscore are not allowed"),
    (SOP_T + "{% for i in range(10**9) %}{% for j in range(10**9) %}x{% endfor %}{% endfor %}\n",
     "the template fails when rendered for a sample finding's task: a range longer than 1000"),
])
def test_the_sop_a_rule_names_is_checked_as_tasks_sops_checks_it(root: Path, tmp_path: Path, template: str,
                                                                  reason: str) -> None:
    """The regulatory-liaison pass (7 December 2026): `rules validate` had said 0 problems of a rule
    whose SOP `vigil tasks sops` refused, and nothing caught the last four; the rule's tasks then
    opened with generic steps, or printed nothing where the finding's message was meant."""
    sop = tmp_path / "policies" / "sops" / "SOP-T.md"
    sop.write_text(template, encoding="utf-8")
    (tmp_path / "policies" / "roles.yaml").write_text("roles:\n  compliance_officer: {'*': P-1}\n", encoding="utf-8")
    for report in (validate_paths([root]), validate_bytes(version("1.1.0").encode(), "draft.yaml")):
        [problem] = report.problems
        assert problem.file == str(sop) and reason in problem.reason, problem
        assert "(used by PUB-TRN-001)" in problem.reason
    exc = refusal(version("1.1.0"))
    assert exc.code == "ruleset.publish.invalid" and reason in everything_said(exc)
    assert not (root / "pub" / "pub-1.1.0.yaml").exists()


def test_an_sop_is_checked_once_however_many_rules_and_versions_name_it(root: Path, tmp_path: Path) -> None:
    (root / "pub" / "pub-1.1.0.yaml").write_text(version("1.1.0").replace("2026-01-01", "2026-07-01"))
    (tmp_path / "policies" / "sops" / "SOP-T.md").write_text(SOP_T + "{{ finding.mesage }}\n", encoding="utf-8")
    [problem] = validate_paths([root]).problems
    assert "(checking pub@1.0.0 and pub@1.1.0)" in problem.reason


# -- a version with no rules -----------------------------------------------------------------------------


def test_a_version_with_no_rules_is_refused(root: Path) -> None:
    """`rules: []` had published ("(0 rules)"), and every evaluation after it found nothing."""
    empty = version("1.1.0", V1[:V1.index("rules:")] + "rules: []\n")
    (problem,) = validate_bytes(empty.encode(), "draft.yaml").problems
    assert (problem.field, problem.line) == ("rules", 8)
    assert "pub@1.1.0 has no rules" in problem.reason and "judge nothing" in problem.reason
    assert "withdraw" in problem.reason and "docs/rulesets.md" in problem.reason
    exc = refusal(empty)
    assert exc.code == "ruleset.publish.invalid" and "has no rules" in everything_said(exc)
    assert not (root / "pub" / "pub-1.1.0.yaml").exists()


# -- a date that is not one -------------------------------------------------------------------------------


@pytest.mark.parametrize("key, written, said", [
    ("effective_from", "next spring", "effective_from 'next spring' is not a date (invalid character in year)"),
    ("effective_from", "2026/07/01", "effective_from '2026/07/01' is not a date"),
    ("effective_to", "soon", "effective_to 'soon' is not a date"),
    ("effective_from", "true", "effective_from true is not a date"),
])
def test_a_date_that_is_not_one_names_the_field_and_what_was_written(key: str, written: str, said: str) -> None:
    text = V1.replace("effective_from: 2026-01-01", "effective_from: 2026-01-01\neffective_to: 2027-01-01")
    text = text.replace(f"{key}: 20{'26' if key == 'effective_from' else '27'}-01-01", f"{key}: {written}")
    with pytest.raises(RulesetError) as exc:
        load_ruleset_bytes(text.encode(), "draft.yaml")
    (detail,) = exc.value.details
    assert detail.field == key and detail.reason.startswith(said) and "YYYY-MM-DD" in detail.reason, detail


def test_a_rules_own_date_that_is_not_one_names_it_too() -> None:
    text = V1.replace("    sop: SOP-T\n", "    sop: SOP-T\n    effective_from: when the law passes\n")
    with pytest.raises(RulesetError) as exc:
        load_ruleset_bytes(text.encode(), "draft.yaml")
    (detail,) = exc.value.details
    assert detail.field == "rules[0].effective_from"
    assert detail.reason.startswith("effective_from 'when the law passes' is not a date"), detail
