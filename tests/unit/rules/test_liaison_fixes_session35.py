"""What a liaison writes is checked where it is written (a liaison black-box pass).

An obligation's `cutoff`, `tz`, `on` and `holiday_calendar`, a message's fields and parameters, and a
scenario's parameters and expected rule ids had validated clean and failed later (every evaluation,
or `rules test`); several refusals named the wrong line, no key, or a hint that was itself refused.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import jsonschema
import pytest
import yaml
from typer.testing import CliRunner

from engine.cli.main import app
from engine.errors import ErrorDetail, RulesetValidationError
from engine.rules import schema_export
from engine.rules.compiler.compile import compile_ruleset
from engine.rules.derive import RecordView
from engine.rules.loader import _LineLoader, _strip_lines, load_ruleset_bytes
from engine.rules.runner import ListSource, evaluate_rules
from engine.rules.scenarios import CaseResult, Expectation, _compare
from engine.rules.validate import validate_bytes, validate_paths
from tests import factories as f
from tests.ruleset_texts import SOP_T
from tests.unit.rules.test_message_templates import AS_OF
from tests.unit.rules.test_message_templates import ruleset as message_ruleset

REPO = Path(__file__).resolve().parents[3]

RULESET = """\
framework: pub
version: 1.0.0
title: Some rules
effective_from: 2026-01-01
effective_to: null
authority: t
params:
  grace_days: {type: int, unit: days, default: 3, description: days}
  remind: {type: bool, default: true, description: remind}
rules:
  - id: PUB-TRN-001
    title: New hires are trained
    citation: c 1
    severity: high
    match:
      episode: employment_episode where end_at == null
    subject: episode
    obligation: OBLIGATION
    message: Train {{ episode.person_id }}.
    sop: SOP-T
  - id: PUB-TRN-002
    title: New hires are trained again
    citation: c 2
    severity: high
    match:
      episode: employment_episode where end_at == null
    subject: episode
    obligation: {anchor: episode.start_at, within: {days: params.grace_days}}
    message: Train {{ episode.person_id }} again.
    sop: SOP-T
"""
OBLIGATION = "{anchor: episode.start_at, within: {days: params.grace_days}}"


def ruleset(obligation: str = OBLIGATION) -> str:
    return RULESET.replace("OBLIGATION", obligation)


def line_of(text: str, needle: str) -> int:
    return text[: text.index(needle)].count("\n") + 1


@pytest.fixture
def root(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """The rulesets folder in use, with framework `pub`, and policies with SOP-T and an org calendar."""
    rules = tmp_path / "rulesets"
    (rules / "pub").mkdir(parents=True)
    (rules / "pub" / "pub-1.0.0.yaml").write_text(ruleset())
    (tmp_path / "policies" / "sops").mkdir(parents=True)
    (tmp_path / "policies" / "sops" / "SOP-T.md").write_text(SOP_T)
    (tmp_path / "policies" / "holidays.yaml").write_text(
        "version: 1\ncalendars:\n  CLINIC:\n    extends: US-FEDERAL\n    dates: [{date: 2026-12-24, name: Eve}]\n")
    monkeypatch.setenv("VIGIL_RULESETS_DIR", str(rules))
    monkeypatch.setenv("VIGIL_POLICIES_DIR", str(tmp_path / "policies"))
    monkeypatch.setenv("VIGIL_PRACTICE_PARAMS", str(tmp_path / "practice.yaml"))
    return rules


def problems_of(text: str) -> list[ErrorDetail]:
    return validate_bytes(text.encode(), "draft.yaml").problems


# -- 1. an obligation's cutoff, tz, on and holiday_calendar ----------------------------------------


@pytest.mark.parametrize("obligation, field, said", [
    ("{anchor: episode.start_at, within: {days: 3}, cutoff: '25:00'}", "rules[0].obligation.cutoff",
     "cutoff '25:00' is not a time of day: write HH:MM"),
    ("{anchor: episode.start_at, within: {days: 3}, cutoff: 20:00}", "rules[0].obligation.cutoff",
     'quote it, cutoff: "20:00"'),
    ("{anchor: episode.start_at, within: {days: 3}, tz: Mars/Base}", "rules[0].obligation.tz",
     "tz 'Mars/Base' is not an IANA time zone"),
    ("{anchor: episode.start_at, within: {days: 3}, tz: America}", "rules[0].obligation.tz",
     "tz 'America' is not an IANA time zone"),
    ("{anchor: episode.start_at, within: {days: 3}, tz: America/New_Yrok}", "rules[0].obligation.tz",
     "did you mean America/New_York"),
    ("{anchor: episode.start_at, within: {years: 1}, convention: fixed_date, 'on': '13-45'}",
     "rules[0].obligation.on", "on '13-45' is not a month and day: write MM-DD"),
    ("{anchor: episode.start_at, within: {years: 1}, convention: fixed_date, 'on': '02-30'}",
     "rules[0].obligation.on", "not a month and day"),
    ("{anchor: episode.start_at, within: {days: 3}, 'on': '03-02'}", "obligation.on",
     "read only by convention fixed_date"),
    ("{anchor: episode.start_at, within: {hours: 3}, cutoff: '17:00'}", "obligation.cutoff",
     "an hour window counts elapsed time and takes no cutoff"),
    ("{anchor: episode.start_at, within: {working_days: 3}, holiday_calendar: US-FEDRAL}",
     "obligation.holiday_calendar", "unknown holiday calendar 'US-FEDRAL'; did you mean US-FEDERAL?"),
])
def test_an_obligation_key_no_evaluation_can_read_is_refused_naming_the_rule_and_key(
        root: Path, obligation: str, field: str, said: str) -> None:
    text = ruleset(obligation)
    (problem,) = problems_of(text)
    assert (problem.rule_id, problem.field, problem.line) == ("PUB-TRN-001", field, line_of(text, "obligation: {"))
    assert said in problem.reason, problem.reason
    if "holiday_calendar" in field:  # the calendars there are, and where org calendars are defined
        assert "known: CLINIC, NONE, US-FEDERAL" in problem.reason and "holidays.yaml" in problem.reason


@pytest.mark.parametrize("obligation", [
    "{anchor: episode.start_at, within: {days: 3}, cutoff: '17:30', tz: America/Chicago}",
    "{anchor: episode.start_at, within: {years: 1}, convention: fixed_date, 'on': '02-29'}",
    "{anchor: episode.start_at, within: {working_days: 3}, holiday_calendar: us_federal, roll_forward: true}",
    "{anchor: episode.start_at, within: {working_days: 3}, holiday_calendar: CLINIC}",  # holidays.yaml's
])
def test_an_obligation_written_as_the_calendar_reads_it_validates_and_evaluates(root: Path, obligation: str) -> None:
    text = ruleset(obligation)
    assert problems_of(text) == []
    compiled = compile_ruleset(load_ruleset_bytes(text.encode(), "t.yaml"))
    source = ListSource([RecordView(r["type"], r["id"], 1, r)
                         for r in (f.establishment(), f.episode("EP1", "P1", "2026-01-05T09:00:00-06:00"))])
    found = {v.rule_id for v in evaluate_rules(source, [compiled], AS_OF).violations}
    assert found == ({"PUB-TRN-002"} if "fixed_date" in obligation else {"PUB-TRN-001", "PUB-TRN-002"})


@pytest.fixture(scope="module")
def schema() -> Any:
    body = json.loads(schema_export.SCHEMA_PATH.read_text(encoding="utf-8"))
    return jsonschema.validators.validator_for(body)(body)


def _as_json(text: str) -> Any:
    raw = _strip_lines(yaml.load(text, Loader=_LineLoader))  # noqa: S506 - the loader's SafeLoader subclass
    return json.loads(json.dumps(raw, default=str))


@pytest.mark.parametrize("text", [
    ruleset("{anchor: episode.start_at, within: {days: 3}, cutoff: '25:00'}"),
    ruleset("{anchor: episode.start_at, within: {days: 3}, tz: 'Mars Base'}"),
    ruleset("{anchor: episode.start_at, within: {years: 1}, convention: fixed_date, 'on': '13-45'}"),
    RULESET.replace("OBLIGATION", OBLIGATION).replace("default: 3,", "default: 3, minimum: '3',"),
    RULESET.replace("OBLIGATION", OBLIGATION).replace("{type: bool,", "{type: bool, maximum: 1,"),
])
def test_the_schema_and_the_loader_refuse_the_same(text: str, schema: Any) -> None:
    assert not schema.is_valid(_as_json(text))
    with pytest.raises(RulesetValidationError):
        load_ruleset_bytes(text.encode(), "t.yaml")


def test_the_schema_accepts_a_well_written_obligation_and_bound(schema: Any) -> None:
    text = ruleset("{anchor: episode.start_at, within: {days: 3}, cutoff: '20:00', tz: America/New_York}")
    text = text.replace("default: 3,", "default: 3, minimum: 1, maximum: 30,")
    assert schema.is_valid(_as_json(text))
    load_ruleset_bytes(text.encode(), "t.yaml")


# -- 2. a message's fields and parameters ------------------------------------------------------------


@pytest.mark.parametrize("message, said", [
    ("(user {{ episode.persn_id }})", "employment_episode has no field 'persn_id' (did you mean person_id?) "
                                      "in `{{ episode.persn_id }}`"),
    ("{{ episode['persn_id'] }}", "employment_episode has no field 'persn_id'"),
    ("limit {{ params.nn }}", "unknown parameter params.nn: the ruleset declares no parameter 'nn' "
                              "(did you mean params.n?) in `{{ params.nn }}`"),
    ("{% if met %}{{ met.completd_at }}{% endif %}", "training_record has no field 'completd_at' "
                                                      "(did you mean completed_at"),
    ("{{ rule.titel }}", "rule has no field 'titel' (did you mean title?)"),
])
def test_a_misspelt_field_or_parameter_in_a_message_is_refused_with_the_close_names(message: str, said: str) -> None:
    with pytest.raises(RulesetValidationError) as exc:
        compile_ruleset(load_ruleset_bytes(message_ruleset(message).encode(), "t.yaml"))
    (detail,) = exc.value.details
    assert (detail.rule_id, detail.field) == ("T-MSG-001", "message")
    assert said in detail.reason, detail.reason


def test_names_the_template_assigns_and_fields_that_exist_are_accepted() -> None:
    message = ("{% for episode in [params] %}{{ episode.anything }}{% endfor %}{% set x = episode %}{{ x.nope }} "
               "{{ episode.id }} {{ episode.person_id }} {{ params.n }} {{ rule.citation }} {{ episode.role.upper() }}")
    compile_ruleset(load_ruleset_bytes(message_ruleset(message).encode(), "t.yaml"))


def test_a_field_the_record_leaves_empty_reads_not_recorded() -> None:
    compiled = compile_ruleset(load_ruleset_bytes(
        message_ruleset("ended {{ episode.end_at }}, person {{ episode.person_id }}").encode(), "t.yaml"))
    source = ListSource([RecordView(r["type"], r["id"], 1, r)
                         for r in (f.establishment(), f.episode("EP1", "P1", "2026-01-01T09:00:00-06:00"))])
    (violation,) = evaluate_rules(source, [compiled], AS_OF).violations
    assert violation.message == "ended not recorded, person P1"  # it had read "ended , person P1"


# -- 3. a scenario's parameters and expected rule ids ----------------------------------------------

SCENARIO = """\
name: new hires
framework: pub
rules: [PUB-TRN-001]
params: {grace_day: 2}
records:
  - {type: establishment, id: E1, tz: America/Chicago, state: IL}
  - {type: employment_episode, id: EP1, person_id: P1, establishment_id: E1, start_at: "2026-01-05T09:00:00-06:00"}
cases:
  - as_of: "2026-02-01T00:00:00Z"
    params: {grace_days: -3, remind: 2.5}
    expect:
      - {rule_id: PUB-TRN-00X, subject: employment_episode/EP1}
      - {rule_id: PUB-TRN-002, subject: employment_episode/EP1}
"""


def test_validate_refuses_a_scenarios_bad_params_and_rule_ids_where_they_are_written(root: Path) -> None:
    path = root / "pub" / "tests" / "new-hires.yaml"
    path.parent.mkdir()
    path.write_text(SCENARIO)
    report = validate_paths([path], rulesets=root)
    found = {(d.field, d.line): d.reason for d in report.problems}
    assert set(found) == {("params.grace_day", 4), ("cases[0].params.grace_days", 10),
                          ("cases[0].params.remind", 10), ("cases[0].expect[0].rule_id", 12),
                          ("cases[0].expect[1].rule_id", 13)}, found
    assert "unknown parameter 'grace_day' for ruleset pub (did you mean grace_days?)" in found["params.grace_day", 4]
    assert "below the smallest value allowed, 0 (days)" in found["cases[0].params.grace_days", 10]
    assert "2.5 is not true or false" in found["cases[0].params.remind", 10]
    unknown = found["cases[0].expect[0].rule_id", 12]
    assert "rule PUB-TRN-00X, which no pub ruleset has (did you mean PUB-TRN-" in unknown
    assert "not among the scenario's rules (PUB-TRN-001)" in found["cases[0].expect[1].rule_id", 13]


def test_a_missing_finding_says_the_state_expected_only_when_one_is() -> None:
    result = CaseResult(scenario="s", case=0, as_of="x", ok=True)
    _compare(result, {"python": []}, [Expectation(rule_id="R-A-001", subject="account/A1"),
                                      Expectation(rule_id="R-A-001", subject="account/A2", state="overdue")])
    assert result.problems == ["missing finding R-A-001 on account/A1",  # not "(expected None)"
                               "missing finding R-A-001 on account/A2 (expected overdue)"]


# -- 4. docs/rulesets.md's worked example, and the hint for a path-like sop -----------------------------


def test_the_worked_example_in_the_docs_validates(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("VIGIL_PRACTICE_PARAMS", str(tmp_path / "practice.yaml"))  # the defaults
    blocks = re.findall(r"```yaml\n(.*?)```", (REPO / "docs" / "rulesets.md").read_text(), re.S)
    header = next(b for b in blocks if b.startswith("framework:"))
    rule = next(b for b in blocks if b.startswith("- id:"))
    assert "rules: [...]\n" in header
    draft = tmp_path / "example.yaml"
    draft.write_text(header.replace("rules: [...]\n", "rules:\n" + "".join(f"  {line}\n" for line in
                                                                          rule.splitlines())))
    report = validate_paths([draft], policies=REPO / "policies", rulesets=REPO / "rulesets")
    assert report.problems == [] and report.rules == 1


def test_a_path_for_an_sop_is_refused_naming_the_id_to_write(root: Path, tmp_path: Path) -> None:
    (tmp_path / "policies" / "sops" / "SOP-HIPAA-ACCESS-REVOKE.md").write_text("# SOP\n")
    text = RULESET.replace("OBLIGATION", OBLIGATION).replace("sop: SOP-T\n  - id: PUB-TRN-002",
                                                             "sop: ../sops/SOP-T.md\n  - id: PUB-TRN-002")
    (problem,) = problems_of(text)
    assert problem.field == "sop" and "(sop: SOP-T, whose template is policies/sops/SOP-T.md)" in problem.reason
    (problem,) = problems_of(text.replace("../sops/SOP-T.md", "../nowhere/x"))
    assert "e.g. sop: SOP-HIPAA-ACCESS-REVOKE" in problem.reason and "SOP-ACCESS-REVOKE" not in problem.reason.replace(
        "SOP-HIPAA-ACCESS-REVOKE", "")


# -- 5. a version YAML reads as a number ---------------------------------------------------------------


@pytest.mark.parametrize("written, meant", [("2027", "2027.0.0"), ("2027.1", "2027.1.0")])
def test_the_version_hint_is_a_version_the_loader_accepts(written: str, meant: str) -> None:
    text = ruleset().replace("version: 1.0.0", f"version: {written}")
    with pytest.raises(RulesetValidationError) as exc:
        load_ruleset_bytes(text.encode(), "t.yaml")
    (detail,) = exc.value.details
    assert f'quote it ("{meant}")' in detail.reason
    load_ruleset_bytes(text.replace(f"version: {written}", f'version: "{meant}"').encode(), "t.yaml")


# -- 6. each refusal at the key and line it is about ------------------------------------------------------


def refused(text: str) -> list[ErrorDetail]:
    with pytest.raises(RulesetValidationError) as exc:
        load_ruleset_bytes(text.encode(), "t.yaml")
    return exc.value.details


def test_a_ruleset_that_ends_before_it_starts_is_refused_at_effective_to() -> None:
    text = ruleset().replace("effective_to: null", "effective_to: 2025-01-01")
    (detail,) = refused(text)
    assert (detail.field, detail.line) == ("effective_to", line_of(text, "effective_to:"))
    assert "effective_to must be after effective_from (2025-01-01 is not after 2026-01-01)" in detail.reason


def test_a_rule_outside_its_ruleset_is_refused_at_its_own_date() -> None:
    text = ruleset().replace("    sop: SOP-T\n  - id: PUB-TRN-002", "    sop: SOP-T\n    effective_to: 2025-06-01\n"
                                                                    "  - id: PUB-TRN-002")
    (detail,) = refused(text)
    assert (detail.rule_id, detail.field, detail.line) == ("PUB-TRN-001", "rules[0].effective_to",
                                                           line_of(text, "    effective_to: 2025"))
    assert "its effective_to 2025-06-01 is not after the ruleset's effective_from 2026-01-01" in detail.reason
    assert "None" not in detail.reason


def test_a_fractional_default_is_refused_once_per_rule_at_the_parameter() -> None:
    text = ruleset().replace("{type: int, unit: days, default: 3,", "{type: number, unit: days, default: 7.5,")
    details = refused(text)
    assert [(d.rule_id, d.field, d.line) for d in details] == [
        (rule_id, "params.grace_days.default", line_of(text, "  grace_days:")) for rule_id in ("PUB-TRN-001",
                                                                                            "PUB-TRN-002")]
    assert all(";" not in d.reason and "7.5 is not a whole number of days" in d.reason for d in details)


@pytest.mark.parametrize("change, field, said", [
    (("    sop: SOP-T\n  - id: PUB-TRN-002", "    sopp: SOP-T\n  - id: PUB-TRN-002"), "rules[0].sopp",
     "unknown key 'sopp' in a rule: did you mean 'sop'?"),
    (("within: {days: params.grace_days}}\n    message: Train {{ episode.person_id }}.",
      "within: {days: params.grace_days}, cuttoff: '17:00'}\n    message: Train {{ episode.person_id }}."),
     "rules[0].obligation.cuttoff", "unknown key 'cuttoff' in an obligation: did you mean 'cutoff'?"),
    (("{type: bool, default: true,", "{type: bool, defualt: true,"), "params.remind.defualt",
     "unknown key 'defualt' in a parameter: did you mean 'default'?"),
    (("title: Some rules", "titel: Some rules"), "titel", "unknown key 'titel' in a ruleset: did you mean 'title'?"),
])
def test_an_unknown_key_says_the_key_meant_and_not_that_it_is_missing(change: tuple[str, str], field: str,
                                                                      said: str) -> None:
    text = ruleset().replace(*change)
    (detail,) = refused(text)  # not also "Field required" for the key meant
    assert detail.field == field and said in detail.reason, detail
    assert "Extra inputs" not in detail.reason


@pytest.mark.parametrize("change, field, said", [
    (("citation: c 1\n    severity: high", "citation: c 1\n    severity: urgent"), "rules[0].severity",
     "severity 'urgent' is not one of critical, high, medium, low"),
    (("    sop: SOP-T\n  - id: PUB-TRN-002", "    sop: SOP-T\n    advisory: maybe\n  - id: PUB-TRN-002"),
     "rules[0].advisory", "advisory 'maybe' is not true or false"),
    (("title: Some rules", "title: [Some, rules]"), "title", "title a list is not text"),
])
def test_a_value_of_the_wrong_kind_is_refused_in_the_rulesets_words(change: tuple[str, str], field: str,
                                                                   said: str) -> None:
    """pydantic's "Input should be 'critical', 'high', 'medium' or 'low'" at `rules.0.severity` named
    neither the key nor what was written."""
    text = ruleset().replace(*change)
    assert text != ruleset()
    (detail,) = refused(text)
    assert (detail.field, detail.reason) == (field, said)
    assert detail.line is not None and "Input should" not in detail.reason


def test_a_missing_key_is_named_in_the_rulesets_words() -> None:
    (detail,) = refused(ruleset().replace("    sop: SOP-T\n  - id: PUB-TRN-002", "  - id: PUB-TRN-002"))
    assert (detail.rule_id, detail.field, detail.reason) == ("PUB-TRN-001", "rules[0].sop", "a rule needs 'sop'")


def test_a_join_inside_or_is_refused_at_its_key_in_the_rules_words(root: Path) -> None:
    text = ruleset().replace(
        "      episode: employment_episode where end_at == null\n    subject: episode\n    obligation: {anchor",
        "      episode: employment_episode where end_at == null\n"
        "      acct: account where person_id == episode.person_id and (generic == true or episode.phi_access_required "
        "== true)\n    subject: episode\n    obligation: {anchor", 1)
    (problem,) = problems_of(text)
    assert (problem.rule_id, problem.field, problem.line) == ("PUB-TRN-001", "match.acct", line_of(text, "acct:"))
    assert "`episode.phi_access_required == true`" in problem.reason  # not Python's True


def test_rules_diff_says_a_draft_file_is_not_there(root: Path) -> None:
    result = CliRunner().invoke(app, ["rules", "diff", "pub", "1.0.0", "drafts/nonexist.yaml"])
    assert result.exit_code == 2
    assert "drafts/nonexist.yaml: file not found" in result.output and "has no version" not in result.output


# -- 7. a parameter's bounds ---------------------------------------------------------------------------------


@pytest.mark.parametrize("change, said", [
    (("default: 3,", "default: 3, minimum: '3',"), "minimum '3' is not a number: write it unquoted"),
    (("{type: bool,", "{type: bool, maximum: 1,"), "maximum bound an int or a number, not a bool parameter"),
    (("{type: bool, default: true,", "{type: string, default: a, minimum: 0, maximum: 1,"),
     "minimum and maximum bound an int or a number, not a string parameter: remove them"),
])
def test_a_bound_that_is_text_or_bounds_no_number_is_refused(change: tuple[str, str], said: str) -> None:
    (detail,) = refused(ruleset().replace(*change))
    assert said in detail.reason and (detail.field or "").startswith("params."), detail
