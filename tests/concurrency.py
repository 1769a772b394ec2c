"""Two transactions of one organization at once, in a set order (for the storage tests)."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from typing import Any

from sqlalchemy import Engine, text

from engine.db import unit_of_work


class Pause:
    """Holds the thread named `who` after `call` returns (the first time only), until `go()`."""

    def __init__(self, who: str) -> None:
        self.who, self.reached, self._go, self._done = who, threading.Event(), threading.Event(), False

    def around(self, call: Callable[..., Any]) -> Callable[..., Any]:
        def paused(*args: Any, **kw: Any) -> Any:
            out = call(*args, **kw)
            if threading.current_thread().name == self.who and not self._done:
                self._done = True
                self.reached.set()
                self._go.wait(20)
            return out

        return paused

    def go(self) -> None:
        self._go.set()


def in_thread(engine: Engine, name: str, job: Callable[[Any], Any], errors: list[BaseException],
              out: dict[str, Any] | None = None) -> threading.Thread:
    """`job(session)` in a unit of work of its own, in a started thread; what it raises goes to
    `errors`, what it returns to `out[name]`."""
    def run() -> None:
        try:
            with unit_of_work(engine) as s:
                value = job(s)
            if out is not None:
                out[name] = value
        except BaseException as exc:  # noqa: BLE001 - the test reports it
            errors.append(exc)

    thread = threading.Thread(name=name, target=run)
    thread.start()
    return thread


def until_waiting(engine: Engine, thread: threading.Thread) -> None:
    """Until a session waits on a lock (PostgreSQL: pg_locks); SQLite's write lock cannot be seen
    from outside, so a second."""
    if engine.dialect.name != "postgresql":
        thread.join(1.0)
        return
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline and thread.is_alive():
        with engine.connect() as c:
            if c.scalar(text("SELECT count(*) FROM pg_locks WHERE NOT granted")):
                return
        time.sleep(0.05)
    raise AssertionError(f"{thread.name} never waited on a lock")
