"""A scenario case's `as_of` as its file has it: YAML reads an unquoted 2026-04-02 as a date, which
the error had shown as "as_of datetime.date(2026, 4, 2)", and an unquoted time without an offset as
a naive datetime, which had been taken for UTC. Each is refused naming what was written, with a full
instant to write instead (`engine.clock.instant_problem`, as the CLI and the API say it)."""

from __future__ import annotations

from pathlib import Path

import pytest

from engine.errors import RulesetValidationError
from engine.rules.scenarios import run_scenario


def _reason(tmp_path: Path, as_of: str) -> str:
    path = tmp_path / "s.yaml"
    path.write_text(f"name: s\nframework: ai_use\nrecords: []\ncases:\n  - as_of: {as_of}\n    expect: []\n",
                    encoding="utf-8")
    with pytest.raises(RulesetValidationError) as exc:
        list(run_scenario(path, backends=("python",)))
    (detail,) = exc.value.details
    # at its line, as the docs promise for each problem (it had none)
    assert (detail.field, detail.file, detail.line) == ("cases[0].as_of", str(path), 5)
    return detail.reason


@pytest.mark.parametrize("as_of, said", [
    ("2026-04-02", "as_of: 2026-04-02 is a date, not an instant: write 2026-04-02T00:00:00Z or with the "
                   "establishment's offset, e.g. 2026-04-02T00:00:00-05:00"),
    ("'2026-04-02'", "as_of: 2026-04-02 is a date, not an instant"),
    ("2026-04-02T09:00:00", "as_of: instant without an offset: 2026-04-02T09:00:00"),
    ("'2026-04-02Z'", "as_of: 2026-04-02Z is a date with an offset but no time"),
    ("yesterday", "as_of 'yesterday' is not an ISO 8601 instant"),
    ("", "as_of is missing"),
])
def test_an_as_of_that_is_no_instant_is_refused_as_written(tmp_path: Path, as_of: str, said: str) -> None:
    reason = _reason(tmp_path, as_of)
    assert reason.startswith(said) and "datetime" not in reason


def test_an_unquoted_instant_with_an_offset_still_runs(tmp_path: Path) -> None:
    path = tmp_path / "s.yaml"
    path.write_text("name: s\nframework: ai_use\nrecords: []\ncases:\n  - as_of: 2026-06-01T00:00:00Z\n"
                    "    expect: []\n", encoding="utf-8")
    (result,) = run_scenario(path, backends=("python",))
    assert result.ok and result.as_of == "2026-06-01T00:00:00+00:00"
