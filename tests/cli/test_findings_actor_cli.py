"""`--actor` on the `vigil findings` commands that act, read as on `vigil tasks`: a user whose role may
do it is recorded `user:<name>` (so `vigil audit log --actor user:<name>` finds it), a `cli:` label
stands for the operator, and anyone else is refused. Found by a new-practice black-box pass: the
findings commands had no --actor, and VIGIL_ACTOR=priya was recorded as `priya`."""

from __future__ import annotations

import json

import pytest

from tests.cli.conftest import Practice, said, vigil


@pytest.fixture
def staffed(practice: Practice) -> Practice:
    for name, role, person in (("priya", "officer", None), ("sam", "staff", "P-HR1"), ("gone", "officer", None)):
        args = ["users", "add", name, "--role", role, "--password", f"{name}-password-1", *practice.args()]
        added = vigil(*args, *(["--person", person] if person else []))
        assert added.exit_code == 0, added.output
    assert vigil("users", "deactivate", "gone", *practice.args()).exit_code == 0
    return practice


def test_an_officer_named_by_actor_is_recorded_as_the_user(staffed: Practice) -> None:
    finding = staffed.findings[0]
    done = vigil("findings", "comment", finding, "HR confirms", "--actor", "priya", *staffed.args(), "--json")
    assert done.exit_code == 0, done.output
    assert json.loads(done.stdout)["history"][-1]["actor"] == "user:priya"
    acked = vigil("findings", "ack", finding, "--actor", "priya", *staffed.args(), "--json")
    assert acked.exit_code == 0 and json.loads(acked.stdout)["state"] == "acknowledged"
    log = json.loads(vigil("audit", "log", "--actor", "user:priya", *staffed.args(), "--json").stdout)
    assert {e["action"] for e in log} >= {"finding.comment", "finding.acknowledge"}, log


@pytest.mark.parametrize(("who", "why"), [
    ("nobody-at-all", "--actor 'nobody-at-all' is nobody in this organization"),
    ("sam", "sam's role (staff) does not allow findings.update"),
    ("P-HR1", "sam's role (staff) does not allow findings.update"),  # the person the staff account stands for
    ("gone", "gone is switched off and can no longer sign in"),  # an officer no more, as on the tasks commands
])
def test_an_actor_who_may_not_act_on_findings_is_refused_and_nothing_is_written(staffed: Practice, who: str,
                                                                                   why: str) -> None:
    finding = staffed.findings[0]
    refused = vigil("findings", "comment", finding, "x", "--actor", who, *staffed.args())
    assert refused.exit_code == 2 and why in said(refused.stderr), refused.output
    shown = json.loads(vigil("findings", "show", finding, *staffed.args(), "--json").stdout)
    assert not [h for h in shown["history"] if h["kind"] == "comment"]


def test_a_label_acts_for_the_operator_and_waiving_needs_the_waive_permission(staffed: Practice) -> None:
    finding = staffed.findings[0]
    waived = vigil("findings", "waive", finding, "--until", "2026-04-01T00:00:00Z", "--reason", "contractor",
                   "--approver", "Dr. Lee", "--actor", "cli:night-batch", *staffed.args(), "--json")
    assert waived.exit_code == 0, waived.output
    assert json.loads(waived.stdout)["created_by"] == "cli:night-batch"
    revoked = vigil("findings", "revoke-waiver", json.loads(waived.stdout)["id"], "--reason", "ended early",
                    "--actor", "sam", *staffed.args())
    assert revoked.exit_code == 2 and "does not allow findings.waive" in said(revoked.stderr)


@pytest.mark.parametrize("command", [["comment", "FINDING", "x"], ["false-positive", "FINDING", "--reason", "r"],
                                     ["close", "FINDING", "--reason", "r"], ["ack", "FINDING"]])
def test_an_error_is_json_on_stderr_with_json_on_every_acting_command(staffed: Practice, command: list[str]) -> None:
    """comment, false-positive and close check their text in a run of their own first, which had
    forgotten --json: their errors came out as plain text."""
    args = [part.replace("FINDING", "F-NOPE") for part in command]
    failed = vigil("findings", *args, "--actor", "nobody-at-all", *staffed.args(), "--json")
    assert failed.exit_code == 2 and json.loads(failed.stderr)["error"]["code"] == "input.actor", failed.stderr
