"""A practice parameter file's keys are checked (sweep A6): a misspelt top-level key (`parms:`) or
framework (`params: {hippa: ...}`) would leave the override unapplied while every evaluation looked
normal, so each is refused naming the file and the key and listing what is allowed."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest

from engine.errors import RulesetValidationError
from engine.rules import catalog

FIXTURE_RULESETS = Path(__file__).resolve().parents[2] / "fixtures" / "rulesets"
AS_OF = dt.datetime(2026, 3, 10, tzinfo=dt.UTC)


def _practice(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "practice.yaml"
    path.write_text(text, encoding="utf-8")
    return path


@pytest.fixture(autouse=True)
def _fixture_rulesets(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("VIGIL_RULESETS_DIR", str(FIXTURE_RULESETS))


def test_a_misspelt_top_level_key_is_refused(tmp_path: Path) -> None:
    path = _practice(tmp_path, "parms:\n  demo: {new_hire_days: 5}\n")
    with pytest.raises(RulesetValidationError) as exc:
        catalog.compile_in_force(AS_OF, params_path=path)
    (detail,) = exc.value.details
    assert (detail.file, detail.field) == (str(path), "parms")
    assert "did you mean params?" in detail.reason and "allowed top-level keys are: params" in detail.reason


def test_a_misspelt_framework_is_refused(tmp_path: Path) -> None:
    path = _practice(tmp_path, "params:\n  dmeo: {new_hire_days: 5}\n  hippa: {ra_max_age_days: 5}\n")
    with pytest.raises(RulesetValidationError) as exc:
        catalog.compile_in_force(AS_OF, params_path=path)
    assert [(d.file, d.field) for d in exc.value.details] == [(str(path), "params.dmeo"), (str(path), "params.hippa")]
    assert "did you mean demo?" in exc.value.details[0].reason
    assert "did you mean hipaa?" in exc.value.details[1].reason  # the shipped rulesets' frameworks count too
    assert "the frameworks are: " in exc.value.details[0].reason
    assert exc.value.code == "ruleset.params.unknown_framework"


def test_a_correct_file_applies_its_override(tmp_path: Path) -> None:
    path = _practice(tmp_path, "params:\n  demo: {new_hire_days: 5}\n  hipaa: {}\n")
    (compiled,) = catalog.compile_in_force(AS_OF, params_path=path)
    assert compiled.framework == "demo" and compiled.params["new_hire_days"] == 5


def test_the_shipped_practice_file_loads_over_the_fixture_rulesets() -> None:
    """policies/practice.yaml names the shipped frameworks; tests evaluate the fixture rulesets with it."""
    assert set(catalog.load_practice_params()) >= {"hipaa", "osha"}


def test_an_unknown_parameter_of_a_known_framework_is_still_refused(tmp_path: Path) -> None:
    path = _practice(tmp_path, "params:\n  demo: {new_hire_dayz: 5}\n")
    with pytest.raises(RulesetValidationError, match="new_hire_dayz"):
        catalog.compile_in_force(AS_OF, params_path=path)


def test_a_value_outside_a_parameters_allowed_values_is_refused_naming_the_key(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A course code misspelt in hipaa_training_courses would match no training record: everyone
    would owe a course nobody can complete."""
    monkeypatch.setenv("VIGIL_RULESETS_DIR", str(catalog.RULESETS_DIR))
    path = _practice(tmp_path, "params:\n  hipaa: {hipaa_training_courses: [HIPAA_PRIVACY, HIPAA]}\n")
    with pytest.raises(RulesetValidationError) as exc:
        catalog.compile_in_force(AS_OF, frameworks=["hipaa"], params_path=path)
    (detail,) = exc.value.details
    assert detail.file == str(path) and "hipaa_training_courses" in (detail.field or "")
    assert "'HIPAA' is not among the values allowed: HIPAA_PRIVACY, HIPAA_SECURITY" in detail.reason


def test_the_views_check_names_every_frameworks_problems_not_only_the_firsts(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """`vigil params list`, GET /params and the parameters page refuse what `vigil evaluate` refuses,
    and name every problem at once: the evaluation's check stops at the first framework that fails."""
    monkeypatch.setenv("VIGIL_RULESETS_DIR", str(catalog.RULESETS_DIR))
    path = _practice(tmp_path, "params:\n  hipaa: {access_revoke_hours: -4}\n"
                               "  osha: {ecp_change_days: seven, bogus_param: 3}\n")
    day = dt.date(2026, 11, 30)
    with pytest.raises(RulesetValidationError) as exc:
        catalog.check_practice_params(day, params_path=path)
    assert [(d.file, d.field) for d in exc.value.details] == [
        (str(path), "hipaa.access_revoke_hours"), (str(path), "osha.bogus_param"), (str(path), "osha.ecp_change_days")]
    assert exc.value.code == "ruleset.params.invalid"
    with pytest.raises(RulesetValidationError) as only:
        catalog.check_practice_params(day, frameworks=["osha"], params_path=path)
    assert [d.field for d in only.value.details] == ["osha.bogus_param", "osha.ecp_change_days"]
    catalog.check_practice_params(day, frameworks=["cms"], params_path=path)  # another framework's are not its own
    catalog.check_practice_params(day, params_path=_practice(tmp_path, "params:\n  hipaa: {access_revoke_hours: 1}\n"))


def test_a_parameter_given_twice_in_the_practice_file_is_refused_naming_the_line(tmp_path: Path) -> None:
    """The second value won without a word."""
    from engine.errors import RulesetSyntaxError

    path = _practice(tmp_path, "params:\n  demo:\n    new_hire_days: 5\n    new_hire_days: 50\n")
    with pytest.raises(RulesetSyntaxError) as exc:
        catalog.compile_in_force(AS_OF, params_path=path)
    (detail,) = exc.value.details
    assert (detail.file, detail.line) == (str(path), 4) and "found the key 'new_hire_days' twice" in detail.reason


def test_the_practice_file_lives_in_the_policies_directory_in_use(tmp_path: Path,
                                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    """A server pointed at its own policies had still read, and written, the repository's file."""
    monkeypatch.delenv("VIGIL_PRACTICE_PARAMS", raising=False)
    monkeypatch.setenv("VIGIL_POLICIES_DIR", str(tmp_path))
    assert catalog.practice_params_path() == tmp_path / "practice.yaml"
    monkeypatch.setenv("VIGIL_PRACTICE_PARAMS", str(tmp_path / "elsewhere.yaml"))
    assert catalog.practice_params_path() == tmp_path / "elsewhere.yaml"
    monkeypatch.delenv("VIGIL_PRACTICE_PARAMS")
    monkeypatch.delenv("VIGIL_POLICIES_DIR")
    assert catalog.practice_params_path() == catalog.REPO / "policies" / "practice.yaml"


@pytest.mark.parametrize("value", ["last spring", "2026-02-30", "2026-2-1", "20260201"])
def test_a_date_parameter_takes_only_a_date(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, value: str) -> None:
    """npp_version_date: "last spring" passed every check, then crashed every evaluation from its day."""
    monkeypatch.setenv("VIGIL_RULESETS_DIR", str(catalog.RULESETS_DIR))
    path = _practice(tmp_path, f'params:\n  hipaa: {{npp_version_date: "{value}"}}\n')
    with pytest.raises(RulesetValidationError) as exc:
        catalog.compile_in_force(AS_OF, frameworks=["hipaa"], params_path=path)
    (detail,) = exc.value.details
    assert "npp_version_date" in (detail.field or "") and "is not a date: write YYYY-MM-DD" in detail.reason
    fine = _practice(tmp_path, 'params:\n  hipaa: {npp_version_date: "2026-02-01", npp_posted_date: ""}\n')
    assert catalog.compile_in_force(AS_OF, frameworks=["hipaa"], params_path=fine)


# -- every problem of the file at once (the regulatory-liaison pass, 7 December 2026) ------------------

SHIPPED = Path(__file__).resolve().parents[3] / "rulesets"
EVERY_MISTAKE = """\
params:
  gdpr: {x: 1}
  hipaa:
    ra_max_age_days: thirty
    hipaa_new_hire_days: -5
    hipaa_refresher_months:
      - {value: 6, form: 2026-01-01}
  osha:
    nonexistent_param: 3
"""
SAID = ("params.gdpr", "hipaa.hipaa_refresher_months[0].form", "hipaa.hipaa_new_hire_days", "hipaa.ra_max_age_days",
        "osha.nonexistent_param")


def test_an_unknown_framework_or_a_misread_entry_no_longer_hides_the_values_problems(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """`gdpr:` had been the only problem `rules validate`, `params list` and `vigil evaluate` named of
    five; a dated entry's `form:` hid the value errors; and the value errors of one framework
    (hipaa's) hid another's (`osha.nonexistent_param`) from `vigil evaluate`."""
    from engine.rules.validate import validate_paths

    monkeypatch.setenv("VIGIL_RULESETS_DIR", str(SHIPPED))
    path = _practice(tmp_path, EVERY_MISTAKE)
    report = validate_paths([SHIPPED / "hipaa", SHIPPED / "osha"], params_path=path)
    assert sorted(d.field for d in report.problems) == sorted(SAID), report.problems
    with pytest.raises(RulesetValidationError) as listed:  # `vigil params list`, GET /params, `vigil evaluate`
        catalog.check_practice_params(AS_OF.date(), params_path=path)
    assert sorted(d.field for d in listed.value.details) == sorted(SAID)
    with pytest.raises(RulesetValidationError) as strict:  # what reads the file for its values alone
        catalog.load_practice_params(path)
    assert strict.value.code == "ruleset.params.unknown_framework"
    assert [d.field for d in strict.value.details] == ["params.gdpr", "hipaa.hipaa_refresher_months[0].form"]


def test_vigil_evaluate_names_every_frameworks_problems(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from typer.testing import CliRunner

    from engine.cli.main import app

    monkeypatch.setenv("VIGIL_RULESETS_DIR", str(SHIPPED))
    monkeypatch.setenv("VIGIL_PRACTICE_PARAMS", str(_practice(tmp_path, EVERY_MISTAKE)))
    records = tmp_path / "r.ndjson"
    records.write_text('{"type": "establishment", "id": "E1", "tz": "America/Chicago"}\n', encoding="utf-8")
    out = CliRunner().invoke(app, ["evaluate", "--records", str(records), "--as-of", "2026-03-10T00:00:00Z"])
    assert out.exit_code == 2
    said = " ".join(out.output.split())
    assert all(field in said for field in SAID), said
