"""A forked helper process ends when the process that forked it is killed (the operations probe: a
`kill -9` of an import left its stream process holding the import's PostgreSQL transaction open,
and every later import of the same records waited on it for ever)."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
import time

import pytest

PARENT = textwrap.dedent("""
    import multiprocessing, os, sys, time
    from engine import forked

    def child(conn, parent_pid, parent_end, guarded):
        if guarded:
            forked.guard(parent_pid, parent_end)
        try:
            conn.recv_bytes()  # blocks until the parent sends or its end closes
        except EOFError:
            pass

    if __name__ == "__main__":
        mp = multiprocessing.get_context("fork")
        parent_end, child_end = mp.Pipe(duplex=True)
        process = mp.Process(target=child, args=(child_end, os.getpid(), parent_end, sys.argv[1] == "guarded"),
                             daemon=True)
        process.start()
        child_end.close()
        print(process.pid, flush=True)
        time.sleep(60)
""")


def _alive(pid: int) -> bool:
    try:
        with open(f"/proc/{pid}/stat") as stat:
            return stat.read().split(")")[-1].split()[0] != "Z"
    except FileNotFoundError:
        return False


def _child_after_parent_killed(tmp_path: object, mode: str, wait_s: float) -> tuple[int, bool]:
    parent = subprocess.Popen([sys.executable, "-c", PARENT, mode], stdout=subprocess.PIPE, text=True,
                              cwd=os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))))
    assert parent.stdout is not None
    child = int(parent.stdout.readline())
    parent.kill()
    parent.wait()
    deadline = time.monotonic() + wait_s
    while _alive(child) and time.monotonic() < deadline:
        time.sleep(0.05)
    return child, _alive(child)


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="reads /proc")
def test_a_guarded_child_ends_with_its_killed_parent(tmp_path: object) -> None:
    _, alive = _child_after_parent_killed(tmp_path, "guarded", wait_s=10)
    assert not alive


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="reads /proc")
def test_without_the_guard_the_child_outlives_its_parent(tmp_path: object) -> None:
    """The failure the guard exists for, so the test above cannot pass for another reason."""
    child, alive = _child_after_parent_killed(tmp_path, "unguarded", wait_s=2)
    try:
        assert alive
    finally:
        os.kill(child, 9)
