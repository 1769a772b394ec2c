"""Expression syntax the language refuses, each with a rule-level error (rule id, text, reason),
never a traceback: operators outside the allowed set, unary plus and bit inversion, list items that
are not literals, literals of types no fact holds, and function calls with the wrong arguments."""

from __future__ import annotations

from pathlib import Path

import pytest

from engine.errors import ErrorDetail, ExpressionError, RulesetValidationError
from engine.rules.compiler.compile import compile_ruleset
from engine.rules.lang.parse import Scope, parse_expr
from engine.rules.loader import load_ruleset_bytes
from tests.unit.rules.test_engine import RULESET

REFUSED = [
    ("x.n ** 2 > 3", "arithmetic operator Pow is not allowed"),
    ("x.n % 2 == 0", "arithmetic operator Mod is not allowed"),
    ("+x.n > 1", "operator UAdd is not allowed"),
    ("~x.n > 1", "operator Invert is not allowed"),
    ("x.s in [x.a]", "list items must be literals"),
    ("x.n == b'a'", "literal of type bytes is not allowed"),
    ("x.n == 1j", "literal of type complex is not allowed"),
    ("x.n > days()", "days() takes 1 argument(s), got 0"),
    ("x.n > days(2, 3)", "days() takes 1 argument(s), got 2"),
    ("x.n > days('a')", "days() takes a number"),
    ("x.n > days(now)", "days() takes constants or parameters"),
    ("x.n > days(now + 1)", "days() takes constants or parameters"),
    ("x.n > days([1])", "days() takes constants or parameters"),
    ("x.n > days(1, n=2)", "keyword arguments are not allowed"),
]


@pytest.mark.parametrize("text, reason", REFUSED, ids=[t for t, _ in REFUSED])
def test_a_refused_expression_names_the_rule_the_text_and_the_reason(text: str, reason: str) -> None:
    with pytest.raises(ExpressionError) as exc:
        parse_expr(text, Scope(frozenset({"x"}), None, rule_id="T-REF-001", file="r.yaml", line=9))
    assert exc.value.code == "ruleset.expression.invalid"
    (detail,) = exc.value.details
    assert detail.rule_id == "T-REF-001" and detail.file == "r.yaml" and detail.line == 9
    assert reason in detail.reason, detail.reason
    assert f"`{text}`" in detail.reason, detail.reason


@pytest.mark.parametrize("text, reason", REFUSED, ids=[t for t, _ in REFUSED])
def test_a_ruleset_with_a_refused_expression_is_refused_at_its_rule(text: str, reason: str) -> None:
    cond = text.replace("x.", "ep.")
    loaded = load_ruleset_bytes(RULESET.replace("{cond}", cond).encode(), "t.yaml")
    with pytest.raises(RulesetValidationError) as exc:
        compile_ruleset(loaded)
    assert any(reason in d.reason and d.rule_id == "T-ONE-001" and d.file == "t.yaml"
               for d in exc.value.details), exc.value.details


# -- kinds that cannot be compared ----------------------------------------------------------------
# The liaison's pass: `stores_ephi == 'true'` validated, then durable_rules found two AUD-006
# findings and the Python backend none; `x.name in params.<an int>` validated and never fired.

KIND_RULESET = """
framework: t
version: 1.0.0
title: t
effective_from: 2026-01-01
authority: t
params:
  n: {type: int, unit: days, default: 3, description: n}
  s: {type: string, default: a, description: s}
  codes: {type: list, default: [A, B], description: codes}
  flag: {type: bool, default: true, description: flag}
rules:
  - id: T-KIND-001
    title: t
    citation: c
    severity: low
    match:
      ep: employment_episode where {cond}
      tr: training_record where person_id == ep.person_id and {join}
    subject: ep
    when: "{when}"
    severity_when:
      - {severity: high, when: "{sev}"}
    message: m
    sop: SOP-T
"""

OK = {"cond": "end_at == null", "join": "course != null", "when": "ep.role != null", "sev": "ep.role == 'x'"}


def _kind_ruleset(**parts: str) -> bytes:
    text = KIND_RULESET
    for key, value in {**OK, **parts}.items():
        text = text.replace("{" + key + "}", value)
    return text.encode()


def _problems(**parts: str) -> list[ErrorDetail]:
    with pytest.raises(RulesetValidationError) as exc:
        compile_ruleset(load_ruleset_bytes(_kind_ruleset(**parts), "t.yaml"))
    return exc.value.details


REFUSED_KINDS = [
    # equality and ordering of kinds that cannot be compared
    ({"cond": "phi_access_required == 'true'"}, "match.ep",
     ["ep.phi_access_required is a boolean", "'true' is text", "write `ep.phi_access_required == true`"]),
    ({"cond": "phi_access_required != 1"}, "match.ep", ["compares bool with number"]),
    ({"cond": "role == 5"}, "match.ep", ["compares number with string", "ep.role is text"]),
    ({"cond": "role != params.n"}, "match.ep", ["params.n is a number"]),
    ({"cond": "start_at > params.n"}, "match.ep",
     ["orders instant against number", "ep.start_at is an instant", "params.n is a number", "not a count"]),
    ({"cond": "start_at <= end_at + params.n"}, "match.ep",
     ["adds a number to an instant", "params.n is a number of days", "write `(ep.end_at + days(params.n))`"]),
    ({"cond": "start_at > now - ep.start_at"}, "match.ep", ["orders duration against instant"]),
    ({"cond": "start_at == 'yesterday'"}, "match.ep", ["compares instant with string", "'yesterday' is text"]),
    ({"cond": "start_at == '2026-01-01'"}, "match.ep", ["write `ep.start_at == date('2026-01-01')`"]),
    ({"cond": "start_at >= params.s"}, "match.ep", ["orders instant against string"]),
    # a number written against an instant is seconds after 1970, not the days or moment the liaison meant
    ({"cond": "start_at > 30"}, "match.ep", ["orders instant against number", "30 is a number", "not a count"]),
    ({"cond": "30 * 86400 <= end_at"}, "match.ep", ["orders instant against number", "(30 * 86400) is a number"]),
    ({"cond": "now - start_at > params.n"}, "match.ep",
     ["compares a duration with a number", "params.n is a number of days",
      "write `(now - ep.start_at) > days(params.n)`"]),
    ({"cond": "start_at + end_at > now"}, "match.ep", ["adds two instants"]),
    ({"cond": "role == ['a']"}, "match.ep", ["compares list with string"]),
    # `in` / `not in`: a list is needed, and its members must be of the item's kind
    ({"cond": "role in params.n"}, "match.ep",
     ["params.n is declared int (= 3), not a list", "`in` needs a list literal", "never fires"]),
    ({"cond": "role not in params.n"}, "match.ep", ["params.n is declared int (= 3), not a list", "`not in`"]),
    ({"cond": "role in params.s"}, "match.ep", ["params.s is declared string (= 'a'), not a list"]),
    ({"cond": "role in params.flag"}, "match.ep", ["params.flag is declared bool (= True), not a list"]),
    ({"cond": "role in 'nurse'"}, "match.ep", ["'nurse' is text, not a list"]),
    ({"cond": "role in ep.start_at"}, "match.ep", ["ep.start_at is an instant, not a list"]),
    ({"cond": "phi_access_required in ['true', 'false']"}, "match.ep",
     ["ep.phi_access_required is a boolean", "the list holds 'true' (text), 'false' (text)",
      "write `ep.phi_access_required in [true, false]`"]),
    ({"cond": "start_at not in [1, 'x']"}, "match.ep", ["the list holds 1 (a number), 'x' (text):"]),
    ({"cond": "start_at in params.codes"}, "match.ep", ["ep.start_at is an instant, but params.codes holds 'A'"]),
    # the same in a join, in `when` and in severity_when
    ({"join": "completed_at == ep.role"}, "match.tr", ["compares instant with string across records"]),
    ({"join": "completed_at > ep.licensed_clinician"}, "match.tr", ["orders bool against instant across records"]),
    ({"when": "tr.completed_at < ep.end_at and tr.course in params.n"}, "when", ["params.n is declared int"]),
    ({"when": "tr.course == ep.start_at"}, "when", ["compares instant with string across records"]),
    ({"sev": "ep.licensed_clinician == 'yes'"}, "severity_when", ["compares bool with string"]),
]


@pytest.mark.parametrize("parts, key, said", REFUSED_KINDS, ids=[next(iter(p.values())) for p, _, _ in REFUSED_KINDS])
def test_kinds_that_cannot_be_compared_are_refused_naming_the_rule_the_text_and_why(
        parts: dict[str, str], key: str, said: list[str]) -> None:
    text = _kind_ruleset(**parts).decode()
    (problem,) = _problems(**parts)
    assert problem.rule_id == "T-KIND-001" and problem.file == "t.yaml" and problem.field == key, problem
    assert problem.line == 1 + next(i for i, line in enumerate(text.splitlines())
                                    if line.strip().startswith(key.removeprefix("match.") + ":")
                                    or line.strip().startswith("- {severity: high, when: ")
                                    and key == "severity_when"), problem
    assert problem.reason.startswith("`"), problem.reason  # the offending text first
    for part in said:
        assert part in problem.reason, problem.reason


ACCEPTED_KINDS = [
    {"cond": "role == 'nurse' and role != 'x' and role in ['a', 'b'] and role not in params.codes"},
    {"cond": "phi_access_required == true and licensed_clinician != false and params.flag == true"},
    {"cond": "start_at < now - days(params.n) and now - start_at > hours(params.n) and end_at - start_at > 0"},
    {"cond": "start_at >= date('2025-01-01') and end_at > instant('2025-01-01T00:00:00Z') and end_at == null"},
    {"cond": "end_at - start_at < 9007199254740992 and start_at != null and role != null"},
    {"join": "completed_at >= ep.start_at and completed_at < ep.start_at + days(params.n) and course in params.codes"},
    {"when": "tr.completed_at > ep.start_at - hours(1) and 'A' != tr.course"},
]


@pytest.mark.parametrize("parts", ACCEPTED_KINDS, ids=[next(iter(p.values())) for p in ACCEPTED_KINDS])
def test_like_kinds_still_compile(parts: dict[str, str]) -> None:
    compile_ruleset(load_ruleset_bytes(_kind_ruleset(**parts), "t.yaml"))


# -- the liaison's edits of HIPAA-SEC-AUD-006, in a copy of the shipped ruleset --------------------

HIPAA = Path(__file__).resolve().parents[3] / "rulesets" / "hipaa" / "hipaa-2026.1.0.yaml"
AUD_MATCH = "      sys: system where stores_ephi == true\n      duty: hipaa_audit_duty where system_id == sys.id\n"
AUD_OBLIGATION = "      anchor: duty.due_at\n      within: {days: 0}\n      severity: {overdue: medium}\n"


def _aud_006(old: str, new: str) -> list[ErrorDetail]:
    text = HIPAA.read_text()
    assert text.count(old) == 1
    with pytest.raises(RulesetValidationError) as exc:
        compile_ruleset(load_ruleset_bytes(text.replace(old, new).encode(), "hipaa.yaml"))
    assert all(d.rule_id == "HIPAA-SEC-AUD-006" for d in exc.value.details), exc.value.details
    return exc.value.details


@pytest.mark.parametrize("cond, said", [
    ("stores_ephi == 'true'", "write `sys.stores_ephi == true`"),
    ("log_retention_days in ['30', '10']", "write `sys.log_retention_days in [30, 10]`"),
    ("stores_ephi == true and sys.added_at > params.audit_review_interval_days",
     "params.audit_review_interval_days is a number"),
    ("stores_ephi == true and sys.added_at == 'yesterday'", "'yesterday' is text"),
    ("stores_ephi == true and sys.log_retention_days != 'abc'", "'abc' is text"),
    ("stores_ephi == true and sys.name in params.audit_review_interval_days",
     "params.audit_review_interval_days is declared int (= 30), not a list"),
    ("stores_ephi == true and sys.name not in params.audit_review_interval_days",
     "params.audit_review_interval_days is declared int (= 30), not a list"),
])
def test_the_liaisons_aud_006_conditions_are_refused(cond: str, said: str) -> None:
    (problem,) = _aud_006(AUD_MATCH, AUD_MATCH.replace("stores_ephi == true", cond))
    assert problem.field == "match.sys" and said in problem.reason, problem


def test_an_unknown_parameter_names_it_and_the_close_declared_ones() -> None:
    (problem,) = _aud_006(AUD_MATCH, AUD_MATCH + "    when: \"sys.name in params.audit_review_interval_dayz\"\n")
    assert problem.field == "when", problem
    assert problem.reason == ("unknown parameter params.audit_review_interval_dayz: the ruleset declares no "
                              "parameter 'audit_review_interval_dayz' (did you mean "
                              "params.audit_review_interval_days?)"), problem.reason


def test_an_unknown_window_parameter_names_the_close_declared_ones() -> None:
    wrong = AUD_OBLIGATION.replace("{days: 0}", "{days: params.audit_log_retention_dayz}")
    (problem,) = _aud_006(AUD_OBLIGATION, wrong)
    assert "did you mean params.audit_log_retention_days" in problem.reason, problem.reason


def test_an_obligation_anchor_typo_names_the_missing_field_and_the_close_ones() -> None:
    (problem,) = _aud_006(AUD_OBLIGATION, AUD_OBLIGATION.replace("duty.due_at", "sys.added_att"))
    assert problem.reason == ("obligation anchor 'sys.added_att': system has no field 'added_att' "
                              "(did you mean 'added_at'?)"), problem.reason
    assert problem.field == "obligation.anchor"


def test_an_obligation_anchor_of_another_kind_names_its_kind() -> None:
    (problem,) = _aud_006(AUD_OBLIGATION, AUD_OBLIGATION.replace("duty.due_at", "duty.kind"))
    assert "hipaa_audit_duty.kind is text" in problem.reason, problem.reason


def test_a_met_at_typo_names_the_missing_field() -> None:
    (problem,) = _aud_006(AUD_OBLIGATION, AUD_OBLIGATION + "      met_at: sys.reviewed_att\n")
    assert problem.reason.startswith("met_at 'sys.reviewed_att': system has no field 'reviewed_att' ("), problem
    assert "last_audit_review_at" in problem.reason and problem.field == "obligation.met_at"


def test_every_pattern_and_the_message_of_a_rule_are_checked_in_one_validation() -> None:
    """The first problem of a rule had hidden the rest: a liaison fixed `ep`'s condition, validated, and
    only then learnt of `tr`'s and of the message's."""
    text = _kind_ruleset(cond="role == 5", join="completed_at == ep.role").replace(b"message: m",
                                                                                   b"message: '{{ nobody.name }}'")
    with pytest.raises(RulesetValidationError) as exc:
        compile_ruleset(load_ruleset_bytes(text, "t.yaml"))
    assert [d.field for d in exc.value.details] == ["match.ep", "match.tr", "message"], exc.value.details
    assert "nobody" in exc.value.details[2].reason
