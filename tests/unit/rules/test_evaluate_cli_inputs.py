"""`vigil evaluate` refuses what would otherwise give an empty, clean-looking result, and says
when an option changes nothing."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from engine.cli.main import app

INCIDENT = [
    {"type": "establishment", "id": "E1", "tz": "America/New_York", "state": "NY"},
    {"type": "incident", "id": "I-1", "establishment_id": "E1", "discovered_at": "2026-03-03T09:30:00-05:00",
     "phi_involved": True, "unsecured": True, "determination": "breach",
     "determination_at": "2026-03-10T10:00:00-04:00", "four_factor_documented": True, "affected_total": 12},
]


@pytest.fixture
def records(tmp_path: Path) -> Path:
    path = tmp_path / "records.json"
    path.write_text(json.dumps(INCIDENT), encoding="utf-8")
    return path


def evaluate(*args: str) -> tuple[int, dict | None, str]:
    result = CliRunner().invoke(app, ["evaluate", *args, "--as-of", "2026-06-01T00:00:00Z", "--json"])
    body = json.loads(result.stdout) if result.exit_code == 0 else None
    return result.exit_code, body, " ".join(result.stderr.split())  # as read, not as wrapped


@pytest.mark.parametrize("names", [["--framework", "hipa"], ["--framework", "hipaa,bogus"]])
def test_an_unknown_framework_is_bad_input_not_an_empty_result(records: Path, names: list[str]) -> None:
    code, body, err = evaluate("--records", str(records), *names)
    assert code == 2 and body is None
    assert "no ruleset for" in err and "the frameworks are: ai_use, cms, credentialing, hipaa, osha" in err


def test_frameworks_may_be_listed_with_commas_and_in_capitals(records: Path) -> None:
    code, body, _ = evaluate("--records", str(records), "--framework", "HIPAA,osha")
    assert code == 0 and body is not None
    assert [r["id"] for r in body["rulesets"]] == ["hipaa", "osha"]
    assert "HIPAA-BRN-IND-011" in {f["rule_id"] for f in body["findings"]}


def test_records_given_on_the_command_line_are_all_known_whatever_known_at_says(records: Path) -> None:
    code, plain, _ = evaluate("--records", str(records), "--framework", "hipaa")
    code_k, known, err = evaluate("--records", str(records), "--framework", "hipaa",
                                  "--known-at", "2020-01-01T00:00:00Z")
    assert code == code_k == 0 and plain is not None and plain["findings"]
    assert known == plain
    assert "--known-at picks a database's state" in err


def test_a_json_wrapper_with_keys_beside_records_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "wrapped.json"
    path.write_text(json.dumps({"records": INCIDENT, "meta": {"exported": "today"}}), encoding="utf-8")
    code, body, err = evaluate("--records", str(path))
    assert code == 2 and body is None and "unknown top-level key 'meta'" in err


@pytest.mark.parametrize("written", ["now", "NOW", " now "])
def test_as_of_now_is_the_clocks_instant(records: Path, written: str) -> None:
    import datetime as dt

    from engine import clock

    at = dt.datetime(2026, 6, 1, 0, 0, tzinfo=dt.UTC)
    with clock.frozen(at):
        result = CliRunner().invoke(app, ["evaluate", "--records", str(records), "--as-of", written, "--json"])
        fixed = CliRunner().invoke(app, ["evaluate", "--records", str(records), "--as-of", "2026-06-01T00:00:00Z",
                                         "--json"])
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout)["as_of"] == "2026-06-01T00:00:00Z"
    assert json.loads(result.stdout)["findings"] == json.loads(fixed.stdout)["findings"]
