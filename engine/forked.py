"""What a forked helper process (the stream process, the derive process) does first: make sure it
cannot outlive the process that forked it.

Why: a fork inherits every open file of its parent, among them the parent's end of their pipe and
the parent's database connection. When the parent was killed (`kill -9` of an import, a job
runner's timeout), the child still held the parent's pipe end, so it never read end-of-file and
waited for ever; and it still held the connection's socket, so PostgreSQL never saw the client go
and kept its transaction open, with its locks: every later import of the same records hung behind
it. Measured on this machine by the operations probe before this guard.
"""

from __future__ import annotations

import ctypes
import os
import signal
import sys
from multiprocessing.connection import Connection

_PR_SET_PDEATHSIG = 1


def guard(parent_pid: int, parent_end: Connection | None) -> None:
    """Close the parent's pipe end inherited by the fork (so the parent's death is end-of-file here)
    and ask Linux to kill this process when its parent dies; exit at once if it already has."""
    if parent_end is not None:
        parent_end.close()
    if sys.platform.startswith("linux"):
        try:
            libc = ctypes.CDLL(None, use_errno=True)
            libc.prctl(_PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0)
        except (OSError, AttributeError):  # no prctl: end-of-file on the pipe still ends this process
            pass
    if os.getppid() != parent_pid:  # the parent died before the request above was made
        os._exit(1)
