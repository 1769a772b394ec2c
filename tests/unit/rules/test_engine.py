"""Engine behaviour: safe expressions, precise errors, versions in force, failing actions."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest
import yaml

from engine.errors import EngineFailure, ExpressionError, RulesetError, RulesetValidationError
from engine.rules.backends import durable as durable_backend
from engine.rules.catalog import compile_in_force
from engine.rules.compiler.compile import compile_ruleset
from engine.rules.derive import RecordView
from engine.rules.lang.parse import Scope, parse_expr
from engine.rules.loader import load_ruleset_bytes
from engine.rules.runner import ListSource, evaluate_rules
from tests import factories as f

FIXTURES = Path(__file__).resolve().parents[2] / "fixtures" / "rulesets"
T = dt.datetime.fromisoformat


def views(*records: dict) -> ListSource:
    return ListSource([RecordView(r["type"], r["id"], 1, r) for r in records])


@pytest.mark.parametrize(
    "text, reason",
    [
        ("__import__('os').system('x')", "only registered functions"),
        ("x.a.b == 1", "no attribute walking"),
        ("open('f')", "unknown function"),
        ("(lambda: 1)()", "only registered functions"),
        ("lambda: 1", "not allowed"),
        ("[a for a in x.items]", "not allowed"),
        ("x.items[0] == 1", "not allowed"),
        ("x._secret == 1", "underscore"),
        ("y.a == 1", "unknown alias"),
        ("days(x.n) > 1", "constants or parameters"),
    ],
)
def test_unsafe_expressions_are_rejected_with_rule_text_and_reason(text: str, reason: str) -> None:
    with pytest.raises(ExpressionError) as exc:
        parse_expr(text, Scope(frozenset({"x"}), None, rule_id="HIPAA-X-001", file="r.yaml", line=7))
    detail = exc.value.details[0]
    assert detail.rule_id == "HIPAA-X-001" and detail.line == 7
    assert reason in detail.reason and "`" in detail.reason


RULESET = """
framework: t
version: 1.0.0
title: t
effective_from: 2026-01-01
authority: t
params:
  n: {type: int, default: 3, description: n}
rules:
  - id: T-ONE-001
    title: t
    citation: c
    severity: low
    match:
      ep: employment_episode where {cond}
    subject: ep
    message: m
    sop: SOP-T
"""


@pytest.mark.parametrize(
    "cond, code_part, text",
    [
        ("end_at > params.nope", "unknown_parameter", "params.nope"),
        ("ended_at != null", "validation", "no field 'ended_at' (did you mean end_at"),
        ("ep.person_id.x == 1", "validation", "no attribute walking"),
    ],
)
def test_compile_errors_name_rule_and_cause(cond: str, code_part: str, text: str) -> None:
    loaded = load_ruleset_bytes(RULESET.replace("{cond}", cond).encode(), "t.yaml")
    with pytest.raises(RulesetValidationError) as exc:
        compile_ruleset(loaded)
    assert any(text in d.reason and d.rule_id == "T-ONE-001" and d.file == "t.yaml" for d in exc.value.details), (
        exc.value.details
    )


def test_the_loader_locates_yaml_mistakes_and_remembers_each_rules_line() -> None:
    from engine.errors import RulesetSyntaxError

    good = load_ruleset_bytes(RULESET.replace("{cond}", "end_at != null").encode(), "t.yaml")
    (rule,) = good.spec.rules
    assert rule.line == RULESET.splitlines().index("  - id: T-ONE-001") + 1
    broken = RULESET.replace("{cond}", "end_at != null").replace("    title: t", "    title: [t", 1)
    with pytest.raises(RulesetSyntaxError) as exc:
        load_ruleset_bytes(broken.encode(), "t.yaml")
    (detail,) = exc.value.details
    assert detail.file == "t.yaml" and detail.line is not None and detail.line > rule.line and detail.column


def test_a_key_written_twice_is_refused_where_the_second_stands_but_a_merge_may_override() -> None:
    """The last of two `title:` keys used to win without a word."""
    from engine.errors import RulesetSyntaxError
    from engine.rules.loader import StrictSafeLoader

    text = RULESET.replace("{cond}", "end_at != null")
    twice = text.replace("    title: t", "    title: t\n    title: u", 1)
    with pytest.raises(RulesetSyntaxError) as exc:
        load_ruleset_bytes(twice.encode(), "t.yaml")
    (detail,) = exc.value.details
    second = twice.splitlines().index("    title: u") + 1
    assert (detail.file, detail.line) == ("t.yaml", second)
    assert f"found the key 'title' twice (first on line {second - 1})" in detail.reason
    merged = yaml.load("base: &b {a: 1, b: 2}\nover: {<<: *b, b: 3}\n", Loader=StrictSafeLoader)  # noqa: S506
    assert merged["over"] == {"a": 1, "b": 3}
    with pytest.raises(yaml.YAMLError, match="found the key 'met' twice"):
        yaml.load("- {id: C1, met: true, met: false}\n", Loader=StrictSafeLoader)  # noqa: S506


def test_a_join_inside_or_is_refused_at_validation() -> None:
    text = RULESET.replace("{cond}", "end_at != null").replace(
        "      ep: employment_episode where end_at != null",
        "      ep: employment_episode where end_at != null\n"
        "      acct: account where person_id == 'x' or person_id == ep.person_id",
    )
    with pytest.raises(RulesetValidationError) as exc:
        compile_ruleset(load_ruleset_bytes(text.encode(), "t.yaml"))
    assert any("inside `or`" in d.reason and d.rule_id == "T-ONE-001" for d in exc.value.details), exc.value.details


def test_practice_parameter_errors_name_file_and_key() -> None:
    loaded = load_ruleset_bytes(RULESET.replace("{cond}", "end_at != null").encode(), "t.yaml")
    with pytest.raises(RulesetValidationError) as exc:
        compile_ruleset(loaded, {"m": 1, "n": "three"}, overrides_source="policies/practice.yaml")
    reasons = [(d.file, d.field, d.reason) for d in exc.value.details]
    assert ("policies/practice.yaml", "t.m", "unknown parameter 'm' for ruleset t") in reasons
    assert any(field == "t.n" and "'three' is not a whole number" in reason for _, field, reason in reasons)


def test_an_unquoted_yaml_date_is_the_text_of_a_string_parameter() -> None:
    """Probe 17: `npp_version_date: 2026-02-01` in a practice file was refused with "expected string,
    got date datetime.date(2026, 2, 1)"; YAML reads it as a date, the liaison meant the text."""
    text = RULESET.replace("{cond}", "end_at != null").replace(
        "  n: {type: int, default: 3, description: n}",
        "  n: {type: int, default: 3, description: n}\n  since: {type: string, default: 2024-02-16, description: s}")
    loaded = load_ruleset_bytes(text.encode(), "t.yaml")
    assert loaded.spec.params["since"].default == "2024-02-16"
    compiled = compile_ruleset(loaded, {"since": dt.date(2026, 2, 1)}, overrides_source="policies/practice.yaml")
    assert compiled.params["since"] == "2026-02-01"
    with pytest.raises(RulesetValidationError, match="invalid practice parameters"):  # a date is no int
        compile_ruleset(loaded, {"n": dt.date(2026, 2, 1)}, overrides_source="policies/practice.yaml")


def test_future_version_is_not_used_before_its_effective_date(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("VIGIL_RULESETS_DIR", str(FIXTURES))
    before = compile_in_force(T("2026-06-30T23:00:00+00:00"), frameworks=["demo"])
    after = compile_in_force(T("2026-07-01T12:00:00+00:00"), frameworks=["demo"])
    assert [r.version for r in before] == ["1.0.0"] and [r.version for r in after] == ["2.0.0"]
    assert before[0].params["new_hire_days"] == 30 and after[0].params["new_hire_days"] == 10


@pytest.mark.parametrize("backend", ["python", "durable"])
def test_due_soon_then_overdue_around_the_deadline(backend: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("VIGIL_RULESETS_DIR", str(FIXTURES))
    source = views(f.establishment(), f.episode("EP1", "P1", "2026-02-01T09:00:00-06:00"))
    rs = compile_in_force(T("2026-03-01T00:00:00+00:00"), frameworks=["demo"])

    def state(as_of: str) -> tuple[str, str | None] | None:
        run = evaluate_rules(source, rs, T(as_of), backend=backend)
        found = [v for v in run.violations if v.rule_id == "DEMO-TRN-001"]
        return (found[0].state, found[0].due) if found else None

    # start 2026-02-01 local + 30 days = 2026-03-03 (C1); warn 7 days before from local midnight
    assert state("2026-02-23T05:00:00+00:00") is None  # 2026-02-22 23:00 in Chicago: not yet in the window
    assert state("2026-02-24T06:00:00+00:00") == ("due_soon", "2026-03-03")
    assert state("2026-03-04T05:59:00+00:00") == ("due_soon", "2026-03-03")  # 23:59 on the due day, local
    assert state("2026-03-04T06:00:00+00:00") == ("overdue", "2026-03-03")  # local midnight after the due day


def test_a_failing_durable_action_fails_the_run(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("VIGIL_RULESETS_DIR", str(FIXTURES))
    source = views(f.establishment(), f.episode("EP1", "P1", "2026-01-01T09:00:00-06:00"))
    rs = compile_in_force(T("2026-03-01T00:00:00+00:00"), frameworks=["demo"])
    durable_backend.plant_failure("DEMO-TRN-001|overdue")
    try:
        with pytest.raises(EngineFailure) as exc:
            evaluate_rules(source, rs, T("2026-03-01T00:00:00+00:00"), backend="durable")
        assert "planted failure in DEMO-TRN-001|overdue" in str(exc.value)
    finally:
        durable_backend.plant_failure(None)
    ok = evaluate_rules(source, rs, T("2026-03-01T00:00:00+00:00"), backend="durable")
    assert [v.rule_id for v in ok.violations] == ["DEMO-TRN-001"]


def test_durable_actions_run_on_the_workers_one_thread(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("VIGIL_RULESETS_DIR", str(FIXTURES))
    rs = compile_in_force(T("2026-03-01T00:00:00+00:00"), frameworks=["demo"])
    evaluate_rules(
        views(f.establishment(), f.episode("EP1", "P1", "2026-01-01T09:00:00-06:00")),
        rs,
        T("2026-03-01T00:00:00+00:00"),
        backend="durable",
    )
    main, seen = durable_backend.action_threads()
    assert seen and set(seen) == {main}


@pytest.mark.parametrize("crashing_workers, outcome", [(1, "retried"), (durable_backend.MAX_ATTEMPTS, "fails")])
def test_a_crashed_durable_worker_is_replaced(
    crashing_workers: int, outcome: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("VIGIL_RULESETS_DIR", str(FIXTURES))
    rs = compile_in_force(T("2026-03-01T00:00:00+00:00"), frameworks=["demo"])
    source = views(f.establishment(), f.episode("EP1", "P1", "2026-01-01T09:00:00-06:00"))
    before = durable_backend.CRASHES["count"]
    durable_backend.plant_crash("DEMO-TRN-001|overdue", crashing_workers)
    try:
        if outcome == "retried":
            run = evaluate_rules(source, rs, T("2026-03-01T00:00:00+00:00"), backend="durable")
            assert [v.rule_id for v in run.violations] == ["DEMO-TRN-001"]
            assert durable_backend.CRASHES["count"] == before + 1
        else:
            with pytest.raises(EngineFailure) as exc:
                evaluate_rules(source, rs, T("2026-03-01T00:00:00+00:00"), backend="durable")
            assert "every time" in str(exc.value)
            assert durable_backend.CRASHES["count"] == before + durable_backend.MAX_ATTEMPTS
    finally:
        durable_backend.plant_crash("", 0)


def test_the_same_input_gives_the_same_bytes_on_both_backends(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("VIGIL_RULESETS_DIR", str(FIXTURES))
    source = views(
        f.establishment(),
        f.episode("EP1", "P1", "2026-01-01T09:00:00-06:00"),
        f.episode("EP2", "P2", "2026-02-20T09:00:00-06:00"),
        f.training("T1", "P2", "2026-02-21T09:00:00-06:00"),
        f.access("AE1", "u1", "PT1", "2026-02-02T10:00:00-06:00", "export"),
        f.access("AE2", "u1", "PT1", "2026-02-02T10:01:00-06:00"),
    )
    rs = compile_in_force(T("2026-03-01T00:00:00+00:00"), frameworks=["demo"])
    a = evaluate_rules(source, rs, T("2026-03-01T00:00:00+00:00"), backend="python")
    b = evaluate_rules(source, rs, T("2026-03-01T00:00:00+00:00"), backend="durable")
    dump = lambda r: [v.model_dump_json() for v in r.violations]  # noqa: E731
    assert dump(a) == dump(b)
    assert sorted((v.rule_id, v.subject.id) for v in a.violations) == [
        ("DEMO-EXPORT-002", "AE1"),
        ("DEMO-TRN-001", "EP1"),
    ]
    assert a.input_hash == b.input_hash


def test_validation_names_a_missing_sop(tmp_path: Path) -> None:
    from engine.rules.validate import validate_paths

    folder = tmp_path / "rulesets" / "t"
    folder.mkdir(parents=True)
    (folder / "t-1.0.0.yaml").write_text(RULESET.replace("{cond}", "end_at != null"))
    (tmp_path / "policies" / "sops").mkdir(parents=True)
    report = validate_paths([folder], policies=tmp_path / "policies")
    assert not report.ok
    assert any(d.rule_id == "T-ONE-001" and "SOP-T has no template" in d.reason for d in report.problems)
    (tmp_path / "policies" / "sops" / "SOP-T.md").write_text(
        "---\nid: SOP-T\ntitle: t\nowner_role: compliance_officer\ndefault_due_days: 7\n---\n## Steps\n1. do\n")
    assert validate_paths([folder], policies=tmp_path / "policies").ok


def test_the_input_hash_is_the_sum_of_each_records_sha256_modulo_2_to_the_256() -> None:
    """Runs store it: the definition must not drift (order-free; each record counted once)."""
    import hashlib

    from engine.rules.runner import _HashingSource

    records = [f.access(f"AE-{i}", "u1", "PT1", "2026-03-01T10:00:00Z", "view") for i in range(300)]
    source = _HashingSource(views(*records))
    assert len(list(source.iter_type("access_event"))) == 300
    list(source.iter_type("access_event"))  # a second read adds nothing
    expected = sum(int.from_bytes(hashlib.sha256(f"access_event|{r['id']}|1".encode()).digest(), "big")
                   for r in records) % (1 << 256)
    assert source.digest() == f"{expected:064x}" and source.count == 300


def test_a_broken_message_template_is_refused_every_time_it_is_compiled() -> None:
    """Templates are compiled once per text and kept; a broken one must still be refused each time."""
    text = RULESET.replace("{cond}", "end_at != null").replace("    message: m", "    message: '{{ ep.id'")
    for _ in range(2):
        with pytest.raises(RulesetValidationError) as exc:
            compile_ruleset(load_ruleset_bytes(text.encode(), "t.yaml"))
        assert any("message is not a valid template" in d.reason and d.rule_id == "T-ONE-001"
                   for d in exc.value.details), exc.value.details


def test_validate_reports_every_problem_of_a_rule_at_the_line_and_key_it_is_on(tmp_path: Path) -> None:
    """An unsafe expression hid the same rule's broken message and missing SOP: fixing one mistake
    revealed the next. Each is reported at once, on its own line, naming the key."""
    from engine.rules.validate import validate_bytes

    (tmp_path / "sops").mkdir()
    text = (RULESET.replace("{cond}", "__import__('os') == 1").replace("    message: m", "    message: '{% if %}'")
            .replace("sop: SOP-T", "sop: SOP-NONE"))
    report = validate_bytes(text.encode(), "t.yaml", policies=tmp_path)
    by_field = {d.field: d for d in report.problems}
    assert set(by_field) == {"match.ep", "message", "sop"}, report.problems
    lines = text.splitlines()
    assert by_field["match.ep"].line == lines.index("      ep: employment_episode where __import__('os') == 1") + 1
    assert by_field["message"].line == lines.index("    message: '{% if %}'") + 1
    assert by_field["sop"].line == lines.index("    sop: SOP-NONE") + 1
    assert all(d.rule_id == "T-ONE-001" and d.file == "t.yaml" for d in report.problems)


def test_a_rule_id_given_twice_is_refused_at_the_second_rule() -> None:
    text = RULESET.replace("{cond}", "end_at != null")
    rule = text[text.index("  - id: T-ONE-001"):]
    with pytest.raises(RulesetValidationError) as exc:
        load_ruleset_bytes((text + rule).encode(), "t.yaml")
    (detail,) = exc.value.details
    assert (detail.rule_id, detail.reason) == ("T-ONE-001", "rule id T-ONE-001 appears twice")
    assert detail.line == (text + rule).splitlines().index("  - id: T-ONE-001", len(text.splitlines()) - 1) + 1


def test_an_unquoted_version_says_to_quote_it() -> None:
    with pytest.raises(RulesetValidationError) as exc:
        load_ruleset_bytes(RULESET.replace("{cond}", "end_at != null").replace("version: 1.0.0", "version: 1.2")
                           .encode(), "t.yaml")
    (detail,) = exc.value.details
    assert detail.field == "version" and 'quote it ("1.2.0")' in detail.reason and detail.line == 3


@pytest.mark.parametrize("cond, said", [
    ("end_at == null and 1/0 == 1", "`(1 / 0)` cannot be computed: division by zero"),
    ("start_at > date('2025-13-45')", "cannot be computed: month must be in 1..12"),
    ("start_at > instant('2025-01-01T00:00:00')", "cannot be computed: instant without an offset"),
    ("not " * 990 + "end_at == null", "nested too deeply to read"),
    ("-".join(["1"] * 3000) + " == n", "longer than 4000 characters"),
])
def test_a_condition_python_cannot_compute_or_read_is_refused_not_a_traceback(tmp_path: Path, cond: str,
                                                                                said: str) -> None:
    """Each of these stopped validation with a Python traceback and exit 1 (probe 25)."""
    from engine.rules.validate import validate_bytes

    (tmp_path / "sops").mkdir()
    (tmp_path / "sops" / "SOP-T.md").write_text("---\nid: SOP-T\ntitle: t\nowner_role: officer\ndefault_due_days: 1\n"
                                                 "---\nbody\n")
    report = validate_bytes(RULESET.replace("{cond}", cond).encode(), "t.yaml", policies=tmp_path)
    assert any(said in d.reason and d.rule_id == "T-ONE-001" for d in report.problems), report.problems


def test_a_date_yaml_cannot_hold_is_refused_at_its_line() -> None:
    with pytest.raises(RulesetError) as exc:
        load_ruleset_bytes(RULESET.replace("{cond}", "end_at == null").replace("2026-01-01", "2025-02-30").encode(),
                           "t.yaml")
    assert "'2025-02-30' is not a real date" in str(exc.value.details[0].reason)
    assert exc.value.details[0].line == 5


def test_a_scenario_case_without_an_offset_is_refused_naming_the_case(tmp_path: Path) -> None:
    from engine.rules.scenarios import run_scenario

    path = tmp_path / "s.yaml"
    path.write_text("name: s\nframework: ai_use\nrecords: []\n"
                    "cases:\n  - as_of: '2026-06-01T00:00:00'\n    expect: []\n")
    with pytest.raises(RulesetValidationError) as exc:
        list(run_scenario(path))
    assert exc.value.details[0].field == "cases[0].as_of" and "with an offset" in exc.value.details[0].reason


def test_a_ruleset_file_not_where_its_content_belongs_is_refused(tmp_path: Path) -> None:
    """A file in another framework's folder silently replaced that framework's rules, and a second
    file of one version was used at random (probe 25)."""
    from engine.rules import catalog
    from engine.rules.validate import validate_paths

    text = RULESET.replace("{cond}", "end_at == null")
    (tmp_path / "t").mkdir()
    (tmp_path / "t" / "t-1.0.0.yaml").write_text(text)
    assert [i.spec.version for i in catalog.load_all(tmp_path)] == ["1.0.0"]
    (tmp_path / "t" / "t-2.0.0.yaml").write_text(text)  # still says 1.0.0
    (tmp_path / "probe").mkdir()
    (tmp_path / "probe" / "probe-9.0.0.yaml").write_text(text)  # says framework t
    with pytest.raises(RulesetValidationError) as exc:
        catalog.load_all(tmp_path)
    reasons = " | ".join(d.reason for d in exc.value.details)
    assert "name the file t-1.0.0.yaml" in reasons and "lies in the folder 'probe'" in reasons
    assert "t 1.0.0 is also in" in reasons
    report = validate_paths([tmp_path], policies=tmp_path)
    assert {d.field for d in report.problems if d.field in ("framework", "version")} == {"framework", "version"}


@pytest.mark.parametrize("cond, said", [
    ("role > 5", "orders number against string"),
    ("-phi_access_required < 0", "does arithmetic on bool"),
    ("licensed_clinician >= true", "orders a bool"),
])
def test_a_comparison_the_two_backends_would_judge_differently_is_refused(cond: str, said: str) -> None:
    """`dev.kind > 5` validated and was published; durable_rules then matched what Python did not."""
    with pytest.raises(RulesetValidationError) as exc:
        compile_ruleset(load_ruleset_bytes(RULESET.replace("{cond}", cond).encode(), "t.yaml"))
    assert any(said in d.reason for d in exc.value.details), exc.value.details


def test_like_with_like_still_compiles() -> None:
    for cond in ("start_at < now - days(30)", "role == 'nurse'", "start_at >= instant('2025-01-01T00:00:00Z')"):
        compile_ruleset(load_ruleset_bytes(RULESET.replace("{cond}", cond).encode(), "t.yaml"))


def test_a_scenario_scoped_to_a_rule_the_ruleset_lacks_fails(tmp_path: Path) -> None:
    """`rules: [PROBE-002]` (no such rule) with `expect: []` passed (probe 25)."""
    from engine.rules.scenarios import run_scenario

    path = tmp_path / "s.yaml"
    path.write_text("name: s\nframework: ai_use\nrules: [AI-NOPE-999]\nrecords: []\n"
                    "cases:\n  - as_of: '2026-06-01T00:00:00Z'\n    expect: []\n")
    (result,) = run_scenario(path, backends=("python",))
    assert not result.ok and "AI-NOPE-999" in result.problems[0]
