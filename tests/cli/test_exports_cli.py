"""`vigil findings export` and `vigil tasks export`: the list's options, its rows as CSV on stdout
or in --out, and the list's refusals word for word (exit 2); `vigil tasks list --severity`."""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path

import pytest

from engine.findings import export as findings_export
from engine.tasks import export as tasks_export
from tests.cli.conftest import Practice, said, vigil


def _rows(text: str) -> list[dict[str, str]]:
    return list(csv.DictReader(io.StringIO(text, newline="")))


def _listed(practice: Practice, group: str, *options: str) -> list[str]:
    result = vigil(group, "list", *practice.args(), "--json", "--limit", "1000", *options)
    assert result.exit_code == 0, result.output
    return [x["id"] for x in json.loads(result.stdout)["items"]]


@pytest.mark.parametrize("options", [(), ("--state", "all", "--sort", "severity"), ("--severity", "medium"),
                                     ("--state", "open", "--sort", "due", "--org-wide")])
def test_findings_export_writes_the_lists_findings_as_csv(practice: Practice, options: tuple[str, ...]) -> None:
    result = vigil("findings", "export", *practice.args(), *options)
    assert result.exit_code == 0, result.output
    text = result.stdout_bytes.decode("utf-8")  # `stdout` turns CRLF into LF
    assert text.startswith(",".join(findings_export.COLUMNS) + "\r\n")
    expected = _listed(practice, "findings", *options)
    assert expected and [r["id"] for r in _rows(text)] == expected


def test_findings_export_to_a_file_leaves_stdout_alone(practice: Practice, tmp_path: Path) -> None:
    out = tmp_path / "reports" / "findings.csv"
    result = vigil("findings", "export", *practice.args(), "--state", "all", "--out", str(out))
    assert result.exit_code == 0, result.output
    assert result.stdout == ""
    assert out.read_bytes().startswith(b"id,rule_id,") and b"\r\n" in out.read_bytes()
    assert [r["id"] for r in _rows(out.read_text(encoding="utf-8"))] == _listed(practice, "findings", "--state", "all")


@pytest.mark.parametrize("options", [("--severity", "urgent"), ("--state", "due_soon"), ("--state", "all,open"),
                                     ("--framework", ""), ("--establishment", ","), ("--sort", "oldest"),
                                     ("--rule", "NOPE-1", "--status", "late")])
def test_findings_export_refuses_what_the_list_refuses_in_the_same_words(practice: Practice, tmp_path: Path,
                                                                         options: tuple[str, ...]) -> None:
    out = tmp_path / "not-written.csv"
    listed = vigil("findings", "list", *practice.args(), *options)
    exported = vigil("findings", "export", *practice.args(), *options, "--out", str(out))
    assert listed.exit_code == exported.exit_code == 2, exported.output
    assert said(exported.stderr) == said(listed.stderr) and exported.stdout == ""
    assert not out.exists()


def test_tasks_export_writes_the_lists_tasks_as_csv(practice: Practice, tmp_path: Path) -> None:
    result = vigil("tasks", "export", *practice.args())
    assert result.exit_code == 0, result.output
    text = result.stdout_bytes.decode("utf-8")  # `stdout` turns CRLF into LF
    assert text.startswith(",".join(tasks_export.COLUMNS) + "\r\n")
    rows = _rows(text)
    assert [r["id"] for r in rows] == _listed(practice, "tasks") and practice.task in {r["id"] for r in rows}
    shown = vigil("tasks", "show", practice.task, *practice.args())
    task = next(r for r in rows if r["id"] == practice.task)
    assert f"(late from {task['late_from']})" in said(shown.stdout)  # the instant `tasks show` names
    severity = task["severity"]
    assert severity and _listed(practice, "tasks", "--severity", severity) == [
        r["id"] for r in rows if r["severity"] == severity]
    out = tmp_path / "tasks.csv"
    assert vigil("tasks", "export", *practice.args(), "--severity", severity, "--out", str(out)).exit_code == 0
    assert [r["id"] for r in _rows(out.read_text(encoding="utf-8"))] == _listed(practice, "tasks", "--severity",
                                                                                 severity)


@pytest.mark.parametrize("options", [("--severity", "urgent"), ("--severity", "high,"), ("--state", "late"),
                                     ("--owner", "nobody-here")])
def test_tasks_export_refuses_what_the_list_refuses_in_the_same_words(practice: Practice,
                                                                      options: tuple[str, ...]) -> None:
    listed = vigil("tasks", "list", *practice.args(), *options)
    exported = vigil("tasks", "export", *practice.args(), *options)
    assert listed.exit_code == exported.exit_code == 2, exported.output
    assert said(exported.stderr) == said(listed.stderr) and exported.stdout == ""



def test_an_export_whose_reader_leaves_ends_quietly(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Black-box pass: `vigil findings export | head` said 'file system error: Broken pipe' and
    exited 2. The reader leaving is the end of the export, as for any Unix filter."""
    import sys

    from engine.cli.common import write_lines

    class Left:  # the pipe `head` closed after its first line
        def __init__(self, fd: int) -> None:
            self.fd, self.written = fd, 0

        def write(self, data: bytes) -> int:
            if self.written:
                raise BrokenPipeError(32, "Broken pipe")
            self.written += len(data)
            return len(data)

        def flush(self) -> None:
            pass

    class Stdout:
        def __init__(self, fd: int) -> None:
            self.buffer, self._fd = Left(fd), fd

        def flush(self) -> None:
            pass

        def fileno(self) -> int:
            return self._fd

    with (tmp_path / "out").open("wb") as target:
        fake = Stdout(target.fileno())
        monkeypatch.setattr(sys, "stdout", fake)
        write_lines(iter(["a\r\n", "b\r\n", "c\r\n"]), None)  # no BrokenPipeError escapes
        assert fake.buffer.written == 3


def test_tasks_list_and_export_narrow_to_an_establishment(practice: Practice) -> None:
    """REST and the web narrowed tasks to a site; the CLI's list and export had no --establishment."""
    every = json.loads(vigil("tasks", "list", *practice.args(), "--json").stdout)["items"]
    at_e1 = json.loads(vigil("tasks", "list", "--establishment", "E1", *practice.args(), "--json").stdout)["items"]
    assert at_e1 and [t["id"] for t in at_e1] == [t["id"] for t in every if t["establishment_id"] == "E1"]
    exported = vigil("tasks", "export", "--establishment", "E1", *practice.args())
    assert exported.exit_code == 0, exported.output
    assert [r["id"] for r in csv.DictReader(io.StringIO(exported.stdout))] == [t["id"] for t in at_e1]
    refused = vigil("tasks", "export", "--establishment", "E-NOPE", *practice.args())
    assert refused.exit_code == 2 and "'E-NOPE' is not an establishment of this organization" in said(refused.stderr)
